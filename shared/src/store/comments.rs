//! Comments and comment votes (docs/posts.md, "Comments"): the `C#<path>`
//! items in a post's partition, their `COMMENT#<id>/REF` locators, the
//! `CVOTE#…` markers and the counters on the post's `POST` and `LIST#…`
//! items. Every counter moves in the same transaction as the item that
//! justifies it, under conditions that re-check what was read; a failed
//! condition re-reads and tries again, so the answer is decided by fresh data.

use std::collections::HashSet;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::backoff;
use super::keys::{self, Key};
use super::listing::{hot_partition, Listing};
use super::reads::Reads;
use super::ring::Ring;
use super::{from_item, n, s, values, Store, StoreError};
use crate::domain::{CommentId, MemberId, PostId, PostKind, RoomSlug, TelegramMessage, Visibility};
use crate::feed::hot::{self, Activity, Hot};

/// How deep replies nest; a reply to a level-3 comment stays at level 3.
pub const MAX_DEPTH: u8 = 3;
/// The author may edit for this long (ms).
pub const EDIT_WINDOW_MS: i64 = 48 * 3600 * 1000;
/// How long a Telegram message's comment is remembered (s): its redeliveries
/// and its edits find it for 90 days, as replies find their notification.
pub const TELEGRAM_SOURCE_TTL_SECS: i64 = 90 * 86_400;
/// A vote may be retracted for this long (ms).
pub const RETRACT_WINDOW_MS: i64 = 24 * 3600 * 1000;
/// Attempts at a transaction whose conditions or locks lost to a concurrent write.
const ATTEMPTS: u32 = 8;
/// DynamoDB's bound on the items of one transaction.
const TX_MAX: usize = 100;

/// A comment as stored under `POST#<post>` / `C#<path>`. Times are ms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommentRecord {
    pub id: CommentId,
    pub post_id: PostId,
    /// `<c1>`, `<c1>#<c2>` or `<c1>#<c2>#<c3>`: this comment's id last.
    pub path: String,
    #[serde(default)]
    pub parent_id: Option<CommentId>,
    /// The level-3 comment a deeper reply answers (it is stored beside it).
    #[serde(default)]
    pub reply_to: Option<CommentId>,
    #[serde(default)]
    pub reply_to_name: Option<String>,
    /// Who wrote the comment this one answers (`parent_id`'s, or
    /// `reply_to`'s below level 3): they hear of the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_author: Option<MemberId>,
    pub depth: u8,
    /// The post's `comment_seq` this comment took: "new since your last visit" is `seq > seen_seq`.
    pub seq: i64,
    pub author_id: MemberId,
    pub author_name: String,
    pub body: String,
    pub html: String,
    #[serde(default)]
    pub mentions: Vec<MemberId>,
    #[serde(default)]
    pub upvotes: i64,
    #[serde(default)]
    pub pinned: bool,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub deleted_by: Option<MemberId>,
    /// Set when a moderator hid the comment by resolving its reports (it is
    /// then `deleted` too: the thread keeps its shape). Absent, not null,
    /// until then: the hide is conditioned on `attribute_not_exists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
    #[serde(default)]
    pub edited_at: Option<i64>,
    pub created_at: i64,
}

impl CommentRecord {
    /// What the notifications hear of this comment once it is stored.
    pub fn created_event(&self) -> crate::domain::notification::ContentEvent {
        crate::domain::notification::ContentEvent::CommentCreated {
            post: self.post_id.clone(),
            comment: self.id.clone(),
            path: self.path.clone(),
            author: self.author_id.clone(),
            parent_author: self.parent_author.clone(),
            mentions: self.mentions.clone(),
            at_ms: self.created_at,
        }
    }
}

/// `COMMENT#<id>` / `REF`: where a comment lives, and what the digest's
/// "best comments" query needs without reading the thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommentRef {
    pub id: CommentId,
    pub post_id: PostId,
    pub path: String,
    pub depth: u8,
    pub author_id: MemberId,
    #[serde(default)]
    pub upvotes: i64,
    pub created_at: i64,
    #[serde(default)]
    pub deleted: bool,
}

/// What the comment code reads from a post's `POST` item. The posts code
/// owns the item; these are the attributes docs/posts.md names.
#[derive(Clone, Debug, Deserialize)]
pub struct PostHead {
    pub kind: PostKind,
    #[serde(default)]
    pub room: Option<RoomSlug>,
    #[serde(default)]
    pub visibility: Visibility,
    pub author_id: MemberId,
    pub state: String,
    #[serde(default)]
    closed: Option<Closed>,
    #[serde(default)]
    pub comment_count: i64,
    #[serde(default)]
    pub comment_seq: i64,
    #[serde(default)]
    pub activity: Option<i64>,
    #[serde(default)]
    pub hot: Option<f64>,
    #[serde(default)]
    pub hot_era: Option<i64>,
    #[serde(default)]
    pub published_at: Option<i64>,
    #[serde(default)]
    pub version: Option<i64>,
}

/// `closed` as the posts code may store it: a flag or the time it was closed.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum Closed {
    Flag(bool),
    /// A time or a reason: closed.
    Other(serde::de::IgnoredAny),
}

pub const PUBLISHED: &str = "published";

impl PostHead {
    pub fn is_published(&self) -> bool {
        self.state == PUBLISHED
    }
    pub fn is_closed(&self) -> bool {
        !matches!(self.closed, None | Some(Closed::Flag(false)))
    }
    /// The listing items that carry this post's counters (none unless published).
    pub fn listings(&self) -> Vec<Listing> {
        if !self.is_published() {
            return vec![Listing::All];
        }
        Listing::of(self.kind, self.room.as_ref(), self.visibility, &self.author_id)
    }
}

/// Who acts, as the comment rules see them.
#[derive(Clone, Debug)]
pub struct Actor {
    pub id: MemberId,
    pub name: String,
    pub moderator: bool,
}

/// A new comment's content, rendered by the caller (`markdown::render`).
#[derive(Clone, Debug)]
pub struct NewComment {
    pub post: PostId,
    pub parent: Option<CommentId>,
    pub body: String,
    pub html: String,
    pub mentions: Vec<MemberId>,
    /// The member's Telegram message this comment is written from, if any
    /// (the web's form has none). Recorded in the comment's own transaction,
    /// under `attribute_not_exists`: the same message never writes twice.
    pub source: Option<TelegramMessage>,
}

/// `TGREPLY#<chat>#<message>`: the comment a member's Telegram message became.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TelegramSource {
    pub post_id: PostId,
    pub comment_id: CommentId,
    pub path: String,
    pub author_id: MemberId,
    pub created_at: i64,
    /// TTL (s).
    pub expires_at: i64,
}

/// Why a comment action was refused.
#[derive(Debug, thiserror::Error)]
pub enum CommentError {
    #[error("no such post")]
    NoPost,
    /// The request's Telegram message wrote this comment already (an
    /// update redelivered after its handling was cut short).
    #[error("this message was posted already")]
    AlreadyPosted(Box<CommentRecord>),
    #[error("no such comment")]
    NoComment,
    /// `parent_id` names no comment of this post.
    #[error("no such parent comment on this post")]
    NoParent,
    #[error("the comment was deleted")]
    Deleted,
    #[error("comments on this post are closed")]
    Closed,
    #[error("not your comment")]
    NotYours,
    /// The author's 48 hours are over; closed at this instant (ms).
    #[error("the edit window closed")]
    EditWindowClosed { closed_at: i64 },
    /// The vote is older than 24 hours; the retract window closed at (ms).
    #[error("the retract window closed")]
    RetractWindowClosed { closed_at: i64 },
    #[error("you cannot vote for your own comment")]
    OwnComment,
    #[error("only top-level comments can be pinned")]
    NotTopLevel,
    #[error("only the post's author can pin comments")]
    NotPostAuthor,
    /// A moderator already hid it (a report resolved twice).
    #[error("the comment is hidden already")]
    Hidden,
    /// The 100-per-24-hours ring is full until `retry_after_secs` from now.
    #[error("comment limit reached")]
    Limited { retry_after_secs: i64 },
    /// Lost to concurrent writers on every attempt.
    #[error("too much contention")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A vote's outcome, as the vote routes answer it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoteState {
    pub upvotes: i64,
    pub voted: bool,
    /// This call cast (or took back) the vote; false when it already was so.
    #[serde(skip)]
    pub changed: bool,
    /// The comment's post, for the redirect back to it.
    #[serde(skip)]
    pub post_id: PostId,
}

/// Everything a post page needs about its thread and its viewer, read in one
/// round trip of parallel requests.
#[derive(Clone, Debug)]
pub struct ThreadRead {
    pub head: Option<PostHead>,
    /// In sort-key order: each subtree follows its root, by time.
    pub comments: Vec<CommentRecord>,
    pub voted: HashSet<CommentId>,
    /// The `comment_seq` the viewer saw on their last visit; `None` before the first.
    pub seen_seq: Option<i64>,
    /// Members whose comments collapse for the viewer (`muted_members` on the profile).
    pub muted: HashSet<MemberId>,
}

impl Store {
    pub fn comments(&self) -> Comments<'_> {
        Comments { store: self }
    }
}

pub struct Comments<'a> {
    store: &'a Store,
}

/// One transaction's outcome, for the retry loops.
enum Attempt<T> {
    Done(T),
    /// A condition failed on something read: read again and decide afresh.
    Reread,
}

impl Comments<'_> {
    // ---- reads ----------------------------------------------------------

    pub async fn post_head(&self, post: &PostId) -> Result<Option<PostHead>, StoreError> {
        self.store.get(&Key::post_item(post, Listing::All.sort_key())).await
    }

    pub async fn locate(&self, id: &CommentId) -> Result<Option<CommentRef>, StoreError> {
        self.store.get(&Key::comment_ref(id, id.created_ms())).await
    }

    pub async fn get(&self, id: &CommentId) -> Result<Option<CommentRecord>, StoreError> {
        let Some(r) = self.locate(id).await? else {
            return Ok(None);
        };
        self.store.get(&Key::comment(&r.post_id, &r.path)).await
    }

    /// The comment a member's Telegram message became, if it became one.
    pub async fn telegram_source(&self, msg: TelegramMessage) -> Result<Option<TelegramSource>, StoreError> {
        self.store.get(&Key::telegram_reply(msg.chat, msg.message_id)).await
    }

    /// The comment a source names, as the refusal of a second attempt.
    async fn already_posted(&self, source: &TelegramSource) -> CommentError {
        match self.store.get(&Key::comment(&source.post_id, &source.path)).await {
            Ok(Some(record)) => CommentError::AlreadyPosted(Box::new(record)),
            // Written in one transaction with the source: absent only if the data was damaged.
            Ok(None) => {
                StoreError::Backend(format!("comment {} of a telegram source is missing", source.comment_id)).into()
            }
            Err(e) => e.into(),
        }
    }

    /// The whole thread of a post, in sort-key order (one paged Query).
    pub async fn of_post(&self, post: &PostId) -> Result<Vec<CommentRecord>, StoreError> {
        self.store
            .query_prefix(&format!("POST#{post}"), Some(keys::COMMENT_PREFIX))
            .await
    }

    /// The post page's thread with the viewer's state, all in parallel.
    pub async fn thread(&self, post: &PostId, viewer: &MemberId) -> Result<ThreadRead, StoreError> {
        let reader_key = Key::post_reader(post, viewer);
        let (head, reader, rest, muted) = tokio::join!(
            self.post_head(post),
            self.store.get::<ReaderSeen>(&reader_key),
            self.thread_without_head(post, viewer),
            self.muted_members(viewer),
        );
        Ok(ThreadRead {
            head: head?,
            seen_seq: reader?.and_then(|r| r.seen_seq),
            muted: muted?,
            ..rest?
        })
    }

    /// The thread and the viewer's votes in it, in parallel; `head`,
    /// `seen_seq` and `muted` left empty, for a caller that has the `POST`
    /// and `READER#` items and the viewer's profile from its own round (the
    /// post page).
    pub async fn thread_without_head(&self, post: &PostId, viewer: &MemberId) -> Result<ThreadRead, StoreError> {
        let votes_prefix = keys::comment_votes_of(viewer);
        let pk = format!("POST#{post}");
        let (comments, votes) = tokio::join!(
            self.of_post(post),
            self.store.query_prefix::<VoteMarker>(&pk, Some(&votes_prefix)),
        );
        Ok(ThreadRead {
            head: None,
            comments: comments?,
            voted: votes?.into_iter().map(|v| v.comment_id).collect(),
            seen_seq: None,
            muted: HashSet::new(),
        })
    }

    /// The viewer's `muted_members` (a string set on the profile, kept by
    /// the feed code); empty when the attribute is absent.
    async fn muted_members(&self, viewer: &MemberId) -> Result<HashSet<MemberId>, StoreError> {
        let out = self
            .store
            .client()
            .get_item()
            .table_name(self.store.table())
            .set_key(Some(Key::member(viewer).to_item()))
            .projection_expression("muted_members")
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let names = match out.item.as_ref().and_then(|i| i.get("muted_members")) {
            Some(AttributeValue::Ss(v)) => v.clone(),
            Some(AttributeValue::L(v)) => v.iter().filter_map(|a| a.as_s().ok().cloned()).collect(),
            _ => Vec::new(),
        };
        Ok(names.iter().filter_map(|n| MemberId::parse(n).ok()).collect())
    }

    /// Records that the viewer has seen the thread up to `seq`; never moves back.
    pub async fn mark_seen(&self, post: &PostId, viewer: &MemberId, seq: i64, now_ms: i64) -> Result<(), StoreError> {
        let out = self
            .store
            .update(
                &Key::post_reader(post, viewer),
                "SET seen_seq = :s, last_visit = :now",
                Some("attribute_not_exists(seen_seq) OR seen_seq < :s"),
                &[],
                values([(":s", n(seq)), (":now", n(now_ms))]),
                None,
            )
            .await;
        match out {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    // ---- create ---------------------------------------------------------

    /// A new comment or reply. Refused on a post that is not published or is
    /// closed (in the transaction's condition, not only in the read), over
    /// the ring's 100 per 24 hours (moderators exempt).
    pub async fn create(&self, actor: &Actor, new: &NewComment, now_ms: i64) -> Result<CommentRecord, CommentError> {
        retry(|| self.try_create(actor, new, now_ms)).await
    }

    async fn try_create(
        &self,
        actor: &Actor,
        new: &NewComment,
        now_ms: i64,
    ) -> Result<Attempt<CommentRecord>, CommentError> {
        // Every item the rules read, in one `BatchGetItem`.
        let mut reads = Reads::new();
        let head = reads.add::<PostHead>(Key::post_item(&new.post, Listing::All.sort_key()));
        let parent = new
            .parent
            .as_ref()
            .map(|p| reads.add::<CommentRef>(Key::comment_ref(p, p.created_ms())));
        let reader = reads.add::<ReaderCommented>(Key::post_reader(&new.post, &actor.id));
        let ring = (!actor.moderator).then(|| self.store.rings().read_in(&mut reads, Ring::COMMENTS, &actor.id));
        let source = new
            .source
            .map(|msg| reads.add::<TelegramSource>(Key::telegram_reply(msg.chat, msg.message_id)));
        let mut got = self.store.fetch(reads).await?;
        let source = source.map(|s| got.take(s)).transpose().map(Option::flatten);
        let head = got.take(head);
        let parent = parent.map(|p| got.take(p)).transpose().map(Option::flatten);
        let reader = got.take(reader);
        let ring = ring.map(|r| r.take(&mut got)).transpose();
        // Before every rule: a message that was posted stays posted, whatever changed since.
        if let Some(existing) = source? {
            return Err(self.already_posted(&existing).await);
        }
        let head = head?.filter(PostHead::is_published).ok_or(CommentError::NoPost)?;
        if head.is_closed() {
            return Err(CommentError::Closed);
        }
        let parent = match (&new.parent, parent?) {
            (None, _) => None,
            (Some(_), Some(p)) if p.post_id == new.post => Some(p),
            (Some(_), _) => return Err(CommentError::NoParent),
        };
        if parent.as_ref().is_some_and(|p| p.deleted) {
            return Err(CommentError::Deleted);
        }
        let ring = ring?;
        if let Some(Err(full)) = ring.as_ref().map(|r| r.check(now_ms)) {
            return Err(CommentError::Limited {
                retry_after_secs: full.retry_after_secs,
            });
        }

        let id = CommentId::generate(now_ms);
        let place = Placement::under(parent.as_ref(), &id);
        // The level-3 comment a deeper reply answers: its author's name for "→ @name".
        let reply_to_name = match &place.reply_to {
            Some(to) => self.get(to).await?.map(|c| c.author_name),
            None => None,
        };
        let first = reader?.and_then(|r| r.commented_at).is_none();
        let record = CommentRecord {
            id: id.clone(),
            post_id: new.post.clone(),
            path: place.path.clone(),
            parent_id: place.parent_id.clone(),
            reply_to: place.reply_to.clone(),
            reply_to_name,
            parent_author: parent.as_ref().map(|p| p.author_id.clone()),
            depth: place.depth,
            seq: head.comment_seq + 1,
            author_id: actor.id.clone(),
            author_name: actor.name.clone(),
            body: new.body.clone(),
            html: new.html.clone(),
            mentions: new.mentions.clone(),
            upvotes: 0,
            pinned: false,
            deleted: false,
            deleted_by: None,
            hidden_reason: None,
            edited_at: None,
            created_at: now_ms,
        };
        let locator = CommentRef {
            id: id.clone(),
            post_id: new.post.clone(),
            path: place.path.clone(),
            depth: place.depth,
            author_id: actor.id.clone(),
            upvotes: 0,
            created_at: now_ms,
            deleted: false,
        };

        let st = self.store;
        let mut tx = vec![
            st.tx_put(
                &Key::comment(&new.post, &record.path),
                &record,
                Some("attribute_not_exists(pk)"),
                None,
            )?,
            st.tx_put(
                &Key::comment_ref(&id, now_ms),
                &locator,
                Some("attribute_not_exists(pk)"),
                None,
            )?,
        ];
        // The post's author commenting on their own post adds no heat.
        let heat = (first && head.author_id != actor.id).then(|| HeatChange::of(&head, Activity::Commenter, now_ms));
        tx.extend(self.counter_updates(
            &new.post,
            &head,
            &CounterChange {
                comments: 1,
                new_seq: true,
                activity: Some((now_ms, None)),
                heat,
                open_only: true,
            },
        )?);
        if first {
            tx.push(st.tx_update(
                &Key::post_reader(&new.post, &actor.id),
                "SET commented_at = :now",
                "attribute_not_exists(commented_at)",
                values([(":now", n(now_ms))]),
            )?);
        }
        if let Some(ring) = &ring {
            match st.rings().take(ring, now_ms)? {
                Ok(item) => tx.push(item),
                Err(full) => {
                    return Err(CommentError::Limited {
                        retry_after_secs: full.retry_after_secs,
                    })
                }
            }
        }
        if let Some(p) = &parent {
            // The parent may have been deleted since it was read.
            tx.push(st.tx_check(
                &Key::comment(&new.post, &p.path),
                "attribute_exists(pk) AND (attribute_not_exists(deleted) OR deleted = :f)",
                &[],
                values([(":f", AttributeValue::Bool(false))]),
            )?);
            if p.author_id != actor.id {
                tx.push(tally(st, &p.author_id, now_ms, "replies", 1)?);
            }
        }
        let source_at = match new.source {
            Some(msg) => {
                let source = TelegramSource {
                    post_id: new.post.clone(),
                    comment_id: id.clone(),
                    path: record.path.clone(),
                    author_id: actor.id.clone(),
                    created_at: now_ms,
                    expires_at: now_ms.div_euclid(1000) + TELEGRAM_SOURCE_TTL_SECS,
                };
                tx.push(st.tx_put(
                    &Key::telegram_reply(msg.chat, msg.message_id),
                    &source,
                    Some("attribute_not_exists(pk)"),
                    None,
                )?);
                Some((tx.len() - 1, msg))
            }
            None => None,
        };
        // Last, so the failure indexes above stay as they are.
        tx.push(st.outbox().tx_put(&record.created_event())?);
        match st.transact(tx).await {
            Ok(()) => Ok(Attempt::Done(record)),
            Err(e) => match source_at {
                // A concurrent attempt with the same message committed first.
                Some((i, msg)) if e.failed_at(i) => match self.telegram_source(msg).await? {
                    Some(existing) => Err(self.already_posted(&existing).await),
                    None => Ok(Attempt::Reread),
                },
                _ => contended(e),
            },
        }
    }

    // ---- edit -----------------------------------------------------------

    /// The author within 48 hours of writing it, a moderator at any time;
    /// marks the comment edited.
    pub async fn edit(
        &self,
        actor: &Actor,
        id: &CommentId,
        body: &str,
        html: &str,
        mentions: &[MemberId],
        now_ms: i64,
    ) -> Result<CommentRecord, CommentError> {
        let r = self.locate(id).await?.ok_or(CommentError::NoComment)?;
        check_edit(&r, actor, now_ms)?;
        let mut vals = values([
            (":body", s(body)),
            (":html", s(html)),
            (":now", n(now_ms)),
            (":f", AttributeValue::Bool(false)),
            (
                ":mentions",
                AttributeValue::L(mentions.iter().map(|m| s(m.as_str())).collect()),
            ),
        ]);
        let mut condition = "attribute_exists(pk) AND (attribute_not_exists(deleted) OR deleted = :f)".to_string();
        if !actor.moderator {
            condition.push_str(" AND author_id = :me AND created_at > :cutoff");
            vals.insert(":me".into(), s(actor.id.as_str()));
            vals.insert(":cutoff".into(), n(now_ms - EDIT_WINDOW_MS));
        }
        let out = self
            .store
            .update(
                &Key::comment(&r.post_id, &r.path),
                "SET body = :body, html = :html, mentions = :mentions, edited_at = :now",
                Some(&condition),
                &[],
                vals,
                Some(ReturnValue::AllNew),
            )
            .await;
        match out {
            Ok(item) => Ok(from_item(item)?),
            Err(StoreError::Conflict) => {
                // Decide why from a fresh read (deleted meanwhile, most likely).
                let fresh = self.locate(id).await?.ok_or(CommentError::NoComment)?;
                check_edit(&fresh, actor, now_ms)?;
                Err(CommentError::Deleted)
            }
            Err(e) => Err(e.into()),
        }
    }

    // ---- delete ---------------------------------------------------------

    /// Soft delete by the author or a moderator: the comment stays in the
    /// thread as "deleted"; the count drops and, if it was the latest,
    /// activity goes back to the latest remaining comment (or publication).
    /// Deleting a deleted comment changes nothing.
    /// Returns the comment's post.
    pub async fn delete(&self, actor: &Actor, id: &CommentId, now_ms: i64) -> Result<PostId, CommentError> {
        retry(|| self.try_delete(actor, id, now_ms)).await
    }

    async fn try_delete(&self, actor: &Actor, id: &CommentId, now_ms: i64) -> Result<Attempt<PostId>, CommentError> {
        let r = self.locate(id).await?.ok_or(CommentError::NoComment)?;
        if r.author_id != actor.id && !actor.moderator {
            return Err(CommentError::NotYours);
        }
        if r.deleted {
            return Ok(Attempt::Done(r.post_id));
        }
        let tx = self.removal_items(&r, actor, None, now_ms).await?;
        match self.store.transact(tx).await {
            Ok(()) => Ok(Attempt::Done(r.post_id)),
            Err(e) => contended(e),
        }
    }

    /// One live comment's soft delete with the post's counters: the count
    /// drops and, if it was the latest, activity goes back to the latest
    /// remaining comment (or publication). `hidden`: a moderator's reason.
    async fn removal_items(
        &self,
        r: &CommentRef,
        actor: &Actor,
        hidden: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<TransactWriteItem>, CommentError> {
        let head = self.post_head(&r.post_id).await?.ok_or(CommentError::NoPost)?;
        let activity = match head.activity {
            Some(a) if a == r.created_at && head.is_published() => {
                let thread = self.of_post(&r.post_id).await?;
                let gone: HashSet<&CommentId> = [&r.id].into_iter().collect();
                Some((latest_activity(&head, &thread, &gone), Some(a)))
            }
            _ => None,
        };
        let mut tx = self.soft_delete_items(r, actor, hidden, now_ms)?;
        tx.extend(self.counter_updates(
            &r.post_id,
            &head,
            &CounterChange {
                comments: -1,
                new_seq: false,
                activity,
                heat: None,
                open_only: false,
            },
        )?);
        Ok(tx)
    }

    // ---- hide (resolving reports) ----------------------------------------

    /// The writes that hide a reported comment, for `Reports::resolve` to
    /// apply in the resolution's own transaction: a moderator's soft delete
    /// (the thread keeps its shape, the count and activity follow) that also
    /// records `hidden_reason`. A comment already deleted by its author is
    /// only marked hidden. Every write is conditioned on what was read, so a
    /// concurrent delete or comment cancels the whole resolution.
    pub async fn hide_items(
        &self,
        moderator: &Actor,
        id: &CommentId,
        reason: &str,
        now_ms: i64,
    ) -> Result<Vec<TransactWriteItem>, CommentError> {
        if !moderator.moderator {
            return Err(CommentError::NotYours);
        }
        let r = self.locate(id).await?.ok_or(CommentError::NoComment)?;
        let c: CommentRecord = self
            .store
            .get(&Key::comment(&r.post_id, &r.path))
            .await?
            .ok_or(CommentError::NoComment)?;
        if c.hidden_reason.is_some() {
            return Err(CommentError::Hidden);
        }
        if !c.deleted {
            return self.removal_items(&r, moderator, Some(reason), now_ms).await;
        }
        Ok(vec![self.store.tx_update(
            &Key::comment(&r.post_id, &r.path),
            "SET hidden_reason = :r, hidden_by = :by",
            "deleted = :t AND attribute_not_exists(hidden_reason)",
            values([
                (":r", s(reason)),
                (":by", s(moderator.id.as_str())),
                (":t", AttributeValue::Bool(true)),
            ]),
        )?])
    }

    /// A moderator deletes a comment and every reply under it, in chunks that
    /// each fit one transaction with the post's counters. Each chunk is
    /// atomic and the whole is re-runnable: deleted comments are skipped.
    /// Returns the post and how many comments this call deleted.
    pub async fn delete_subtree(
        &self,
        actor: &Actor,
        id: &CommentId,
        now_ms: i64,
    ) -> Result<(PostId, usize), CommentError> {
        if !actor.moderator {
            return Err(CommentError::NotYours);
        }
        let r = self.locate(id).await?.ok_or(CommentError::NoComment)?;
        let mut deleted = 0;
        for _ in 0..ATTEMPTS * 4 {
            let (head, thread) = tokio::join!(self.post_head(&r.post_id), self.of_post(&r.post_id));
            let (head, thread) = (head?.ok_or(CommentError::NoPost)?, thread?);
            let live: Vec<&CommentRecord> = thread
                .iter()
                .filter(|c| !c.deleted && in_subtree(&c.path, &r.path))
                .collect();
            if live.is_empty() {
                return Ok((r.post_id, deleted));
            }
            // Each comment writes its `C#` item and its locator; the rest of the
            // transaction is one counter update per listing item.
            let chunk = (TX_MAX - head.listings().len()) / 2;
            let batch: Vec<&CommentRecord> = live.into_iter().take(chunk).collect();
            let gone: HashSet<&CommentId> = batch.iter().map(|c| &c.id).collect();
            let activity = match head.activity {
                Some(a)
                    if head.is_published()
                        && gone
                            .iter()
                            .any(|g| thread.iter().any(|c| &c.id == *g && c.created_at == a)) =>
                {
                    Some((latest_activity(&head, &thread, &gone), Some(a)))
                }
                _ => None,
            };
            let mut tx = Vec::with_capacity(TX_MAX);
            for c in &batch {
                tx.extend(self.soft_delete_items(&ref_of(c), actor, None, now_ms)?);
            }
            tx.extend(self.counter_updates(
                &r.post_id,
                &head,
                &CounterChange {
                    comments: -(batch.len() as i64),
                    new_seq: false,
                    activity,
                    heat: None,
                    open_only: false,
                },
            )?);
            match self.store.transact(tx).await {
                Ok(()) => deleted += batch.len(),
                Err(e) => match contended::<()>(e) {
                    Ok(_) => backoff(0).await,
                    Err(CommentError::Busy) => backoff(1).await,
                    Err(e) => return Err(e),
                },
            }
        }
        Err(CommentError::Busy)
    }

    /// Marks the comment and its locator deleted (conditioned on neither being
    /// so); `hidden` also records a moderator's reason for hiding it.
    fn soft_delete_items(
        &self,
        r: &CommentRef,
        actor: &Actor,
        hidden: Option<&str>,
        now_ms: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut cond = "attribute_exists(pk) AND (attribute_not_exists(deleted) OR deleted = :f)".to_string();
        let mut vals = values([
            (":t", AttributeValue::Bool(true)),
            (":f", AttributeValue::Bool(false)),
            (":by", s(actor.id.as_str())),
            (":now", n(now_ms)),
        ]);
        if !actor.moderator {
            cond.push_str(" AND author_id = :me");
            vals.insert(":me".into(), s(actor.id.as_str()));
        }
        let mut update = "SET deleted = :t, deleted_by = :by, deleted_at = :now".to_string();
        if let Some(reason) = hidden {
            update.push_str(", hidden_reason = :why, hidden_by = :by");
            vals.insert(":why".into(), s(reason));
        }
        Ok(vec![
            self.store
                .tx_update(&Key::comment(&r.post_id, &r.path), &update, &cond, vals)?,
            self.store.tx_update(
                &Key::comment_ref(&r.id, r.created_at),
                "SET deleted = :t",
                "attribute_exists(pk)",
                values([(":t", AttributeValue::Bool(true))]),
            )?,
        ])
    }

    /// One update per listing item of the post (the `POST` card first),
    /// all conditioned on the card being as it was read.
    fn counter_updates(
        &self,
        post: &PostId,
        head: &PostHead,
        change: &CounterChange,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut out = Vec::new();
        for listing in head.listings() {
            let is_card = listing == Listing::All;
            let mut add = vec!["comment_count :dc"];
            let mut set = Vec::new();
            let mut cond = Vec::new();
            let mut vals = values([(":dc", n(change.comments))]);
            if change.new_seq {
                add.push("comment_seq :one");
                vals.insert(":one".into(), n(1));
            }
            if let Some((to, was)) = change.activity {
                set.push("activity = :act");
                vals.insert(":act".into(), n(to));
                if let Some(was) = was {
                    // A newer comment since the read wins: re-read and recompute.
                    cond.push("activity = :was_act");
                    vals.insert(":was_act".into(), n(was));
                }
            }
            match &change.heat {
                Some(HeatChange::Add { era, term }) => {
                    add.push("hot :term");
                    cond.push("hot_era = :era");
                    vals.insert(":term".into(), n(term));
                    vals.insert(":era".into(), n(era));
                }
                Some(HeatChange::Rebase { old, new }) => {
                    set.push("hot = :hot, hot_era = :era, hot_pk = :hot_pk");
                    cond.push("hot_era = :old_era AND hot = :old_hot");
                    vals.insert(":hot".into(), n(new.score));
                    vals.insert(":era".into(), n(new.era));
                    vals.insert(":hot_pk".into(), s(hot_partition(&listing.name(), new.era)));
                    vals.insert(":old_era".into(), n(old.era));
                    vals.insert(":old_hot".into(), n(old.score));
                }
                None => {}
            }
            if is_card {
                // The card is as read: same state (so the same listings), version
                // and sequence; and, for a new comment, published and open.
                cond.push("#st = :state");
                vals.insert(":state".into(), s(head.state.as_str()));
                match head.version {
                    Some(v) => {
                        cond.push("version = :v");
                        vals.insert(":v".into(), n(v));
                    }
                    None => cond.push("attribute_not_exists(version)"),
                }
                match head.comment_seq {
                    0 => cond.push("(attribute_not_exists(comment_seq) OR comment_seq = :zero)"),
                    seq => {
                        cond.push("comment_seq = :seq");
                        vals.insert(":seq".into(), n(seq));
                    }
                }
                if head.comment_seq == 0 {
                    vals.insert(":zero".into(), n(0));
                }
                if change.open_only {
                    cond.push("(attribute_not_exists(closed) OR closed = :f)");
                    vals.insert(":f".into(), AttributeValue::Bool(false));
                }
            } else {
                cond.push("attribute_exists(pk)");
            }
            let mut expr = format!("ADD {}", add.join(", "));
            if !set.is_empty() {
                expr.push_str(&format!(" SET {}", set.join(", ")));
            }
            let names: &[(&str, &str)] = if is_card { &[("#st", "state")] } else { &[] };
            out.push(self.store.tx_update_named(
                &Key::post_item(post, listing.sort_key()),
                &expr,
                &cond.join(" AND "),
                names,
                vals,
            )?);
        }
        Ok(out)
    }

    // ---- votes ----------------------------------------------------------

    /// One upvote per member per comment, by the `CVOTE#` key, in the same
    /// transaction as both copies of the counter and the author's totals.
    /// Voting again changes nothing.
    pub async fn vote(&self, voter: &MemberId, id: &CommentId, now_ms: i64) -> Result<VoteState, CommentError> {
        retry(|| self.try_vote(voter, id, now_ms)).await
    }

    async fn try_vote(
        &self,
        voter: &MemberId,
        id: &CommentId,
        now_ms: i64,
    ) -> Result<Attempt<VoteState>, CommentError> {
        let r = self.locate(id).await?.ok_or(CommentError::NoComment)?;
        if r.deleted {
            return Err(CommentError::Deleted);
        }
        if &r.author_id == voter {
            return Err(CommentError::OwnComment);
        }
        let st = self.store;
        let one = || values([(":one", n(1))]);
        let tx = vec![
            st.tx_put(
                &Key::comment_vote(&r.post_id, voter, id),
                &VoteMarker {
                    comment_id: id.clone(),
                    at: now_ms,
                },
                Some("attribute_not_exists(pk)"),
                None,
            )?,
            st.tx_update(
                &Key::comment(&r.post_id, &r.path),
                "ADD upvotes :one",
                "author_id <> :me AND (attribute_not_exists(deleted) OR deleted = :f)",
                values([
                    (":one", n(1)),
                    (":me", s(voter.as_str())),
                    (":f", AttributeValue::Bool(false)),
                ]),
            )?,
            st.tx_update(
                &Key::comment_ref(id, r.created_at),
                "ADD upvotes :one",
                "attribute_exists(pk)",
                one(),
            )?,
            st.tx_update(
                &Key::member(&r.author_id),
                "ADD received_upvotes :one",
                "attribute_exists(pk)",
                one(),
            )?,
            tally(st, &r.author_id, now_ms, "upvotes", 1)?,
        ];
        match st.transact(tx).await {
            Ok(()) => Ok(Attempt::Done(VoteState {
                upvotes: r.upvotes + 1,
                voted: true,
                changed: true,
                post_id: r.post_id,
            })),
            Err(e) if e.failed_at(0) => {
                let fresh = self.locate(id).await?.ok_or(CommentError::NoComment)?;
                Ok(Attempt::Done(VoteState {
                    upvotes: fresh.upvotes,
                    voted: true,
                    changed: false,
                    post_id: fresh.post_id,
                }))
            }
            Err(e) => contended(e),
        }
    }

    /// Takes a vote back, within 24 hours of casting it. Not voted: nothing changes.
    pub async fn unvote(&self, voter: &MemberId, id: &CommentId, now_ms: i64) -> Result<VoteState, CommentError> {
        retry(|| self.try_unvote(voter, id, now_ms)).await
    }

    async fn try_unvote(
        &self,
        voter: &MemberId,
        id: &CommentId,
        now_ms: i64,
    ) -> Result<Attempt<VoteState>, CommentError> {
        let r = self.locate(id).await?.ok_or(CommentError::NoComment)?;
        let marker_key = Key::comment_vote(&r.post_id, voter, id);
        let Some(marker) = self.store.get::<VoteMarker>(&marker_key).await? else {
            return Ok(Attempt::Done(VoteState {
                upvotes: r.upvotes,
                voted: false,
                changed: false,
                post_id: r.post_id,
            }));
        };
        let closed_at = marker.at + RETRACT_WINDOW_MS;
        if now_ms >= closed_at {
            return Err(CommentError::RetractWindowClosed { closed_at });
        }
        let st = self.store;
        let minus = || values([(":m", n(-1))]);
        let tx = vec![
            delete_vote(st, &marker_key, marker.at)?,
            st.tx_update(
                &Key::comment(&r.post_id, &r.path),
                "ADD upvotes :m",
                "attribute_exists(pk)",
                minus(),
            )?,
            st.tx_update(
                &Key::comment_ref(id, r.created_at),
                "ADD upvotes :m",
                "attribute_exists(pk)",
                minus(),
            )?,
            st.tx_update(
                &Key::member(&r.author_id),
                "ADD received_upvotes :m",
                "attribute_exists(pk)",
                minus(),
            )?,
            tally(st, &r.author_id, marker.at, "upvotes", -1)?,
        ];
        match st.transact(tx).await {
            Ok(()) => Ok(Attempt::Done(VoteState {
                upvotes: r.upvotes - 1,
                voted: false,
                changed: true,
                post_id: r.post_id,
            })),
            Err(e) => contended(e),
        }
    }

    // ---- pin ------------------------------------------------------------

    /// The post's author pins (or unpins) a top-level comment.
    /// Returns the comment's post.
    pub async fn pin(&self, actor: &MemberId, id: &CommentId, pinned: bool) -> Result<PostId, CommentError> {
        let r = self.locate(id).await?.ok_or(CommentError::NoComment)?;
        if r.depth != 1 {
            return Err(CommentError::NotTopLevel);
        }
        if r.deleted {
            return Err(CommentError::Deleted);
        }
        let head = self.post_head(&r.post_id).await?.ok_or(CommentError::NoPost)?;
        if &head.author_id != actor {
            return Err(CommentError::NotPostAuthor);
        }
        let st = self.store;
        let tx = vec![
            st.tx_update_named(
                &Key::comment(&r.post_id, &r.path),
                "SET pinned = :p",
                "#depth = :one AND (attribute_not_exists(deleted) OR deleted = :f)",
                &[("#depth", "depth")],
                values([
                    (":p", AttributeValue::Bool(pinned)),
                    (":one", n(1)),
                    (":f", AttributeValue::Bool(false)),
                ]),
            )?,
            st.tx_check(
                &Key::post_item(&r.post_id, Listing::All.sort_key()),
                "author_id = :me",
                &[],
                values([(":me", s(actor.as_str()))]),
            )?,
        ];
        match st.transact(tx).await {
            Ok(()) => Ok(r.post_id),
            Err(e) if e.failed_at(0) => Err(CommentError::Deleted),
            Err(e) if e.failed_at(1) => Err(CommentError::NotPostAuthor),
            Err(e) => Err(e.into()),
        }
    }
}

// ---- placement and pure rules ----------------------------------------------

/// Where a new comment goes in the thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub path: String,
    pub depth: u8,
    pub parent_id: Option<CommentId>,
    pub reply_to: Option<CommentId>,
}

impl Placement {
    /// Under `parent`; a reply to a level-3 comment goes beside it, under its
    /// parent, answering it through `reply_to`.
    pub fn under(parent: Option<&CommentRef>, id: &CommentId) -> Self {
        match parent {
            None => Self {
                path: id.to_string(),
                depth: 1,
                parent_id: None,
                reply_to: None,
            },
            Some(p) if p.depth < MAX_DEPTH => Self {
                path: format!("{}#{id}", p.path),
                depth: p.depth + 1,
                parent_id: Some(p.id.clone()),
                reply_to: None,
            },
            Some(p) => {
                let (grand_path, grand) = p
                    .path
                    .rsplit_once('#')
                    .map(|(g, _)| g)
                    .map_or((p.path.as_str(), None), |g| {
                        (g, g.rsplit('#').next().and_then(|i| CommentId::parse(i).ok()))
                    });
                Self {
                    path: format!("{grand_path}#{id}"),
                    depth: MAX_DEPTH,
                    parent_id: grand,
                    reply_to: Some(p.id.clone()),
                }
            }
        }
    }
}

/// Whether a comment at `path` is the one at `root` or under it.
pub fn in_subtree(path: &str, root: &str) -> bool {
    path == root || path.strip_prefix(root).is_some_and(|rest| rest.starts_with('#'))
}

fn check_edit(r: &CommentRef, actor: &Actor, now_ms: i64) -> Result<(), CommentError> {
    if r.deleted {
        return Err(CommentError::Deleted);
    }
    if actor.moderator {
        return Ok(());
    }
    if r.author_id != actor.id {
        return Err(CommentError::NotYours);
    }
    let closed_at = r.created_at + EDIT_WINDOW_MS;
    if now_ms >= closed_at {
        return Err(CommentError::EditWindowClosed { closed_at });
    }
    Ok(())
}

/// The post's last activity once the comments in `gone` are deleted: the
/// latest remaining comment, or the publication.
pub fn latest_activity(head: &PostHead, thread: &[CommentRecord], gone: &HashSet<&CommentId>) -> i64 {
    thread
        .iter()
        .filter(|c| !c.deleted && !gone.contains(&c.id))
        .map(|c| c.created_at)
        .chain(head.published_at)
        .max()
        .unwrap_or(0)
}

fn ref_of(c: &CommentRecord) -> CommentRef {
    CommentRef {
        id: c.id.clone(),
        post_id: c.post_id.clone(),
        path: c.path.clone(),
        depth: c.depth,
        author_id: c.author_id.clone(),
        upvotes: c.upvotes,
        created_at: c.created_at,
        deleted: c.deleted,
    }
}

fn week_of(ms: i64) -> String {
    crate::feed::order::iso_week(ms.div_euclid(1000))
}

/// What a comment changes on the post's listing items.
struct CounterChange {
    comments: i64,
    new_seq: bool,
    /// The new `activity`, and the value it must still have (a delete of the latest).
    activity: Option<(i64, Option<i64>)>,
    heat: Option<HeatChange>,
    /// Refuse unless the post is open for comments.
    open_only: bool,
}

enum HeatChange {
    /// The same era: an atomic add.
    Add { era: i64, term: f64 },
    /// The first event of a new era: the read score, rebased.
    Rebase { old: Hot, new: Hot },
}

impl HeatChange {
    fn of(head: &PostHead, activity: Activity, now_ms: i64) -> Self {
        let at = now_ms.div_euclid(1000);
        let (era, term) = hot::term(activity, at);
        match (head.hot, head.hot_era) {
            (Some(score), Some(stored)) if stored != era => {
                let old = Hot { era: stored, score };
                Self::Rebase {
                    old,
                    new: old.apply(activity, at),
                }
            }
            _ => Self::Add { era, term },
        }
    }
}

#[derive(Serialize, Deserialize)]
struct VoteMarker {
    comment_id: CommentId,
    at: i64,
}

#[derive(Deserialize)]
struct ReaderSeen {
    #[serde(default)]
    seen_seq: Option<i64>,
}

#[derive(Deserialize)]
struct ReaderCommented {
    #[serde(default)]
    commented_at: Option<i64>,
}

/// `ADD <what> :d` on the member's tally for the week of `at_ms` (created on first use).
fn tally(store: &Store, member: &MemberId, at_ms: i64, what: &str, d: i64) -> Result<TransactWriteItem, StoreError> {
    let update = aws_sdk_dynamodb::types::Update::builder()
        .table_name(store.table())
        .set_key(Some(Key::member_week(member, &week_of(at_ms)).to_item()))
        .update_expression("ADD #w :d")
        .expression_attribute_names("#w", what)
        .expression_attribute_values(":d", n(d))
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Deletes a vote marker, only if it is still the vote that was read.
fn delete_vote(store: &Store, key: &Key, at: i64) -> Result<TransactWriteItem, StoreError> {
    let delete = aws_sdk_dynamodb::types::Delete::builder()
        .table_name(store.table())
        .set_key(Some(key.to_item()))
        .condition_expression("#at = :at")
        .expression_attribute_names("#at", "at")
        .expression_attribute_values(":at", n(at))
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

// ---- retries -----------------------------------------------------------------

/// Sorts a failed transaction: a failed condition means "read again"; a
/// conflict with a concurrent transaction (or throttling) also retries, after
/// a backoff; anything else is an error.
fn contended<T>(e: StoreError) -> Result<Attempt<T>, CommentError> {
    match e {
        StoreError::Cancelled { .. } | StoreError::Conflict => Ok(Attempt::Reread),
        StoreError::Contended => Err(CommentError::Busy),
        StoreError::Backend(msg) if is_contention(&msg) => Err(CommentError::Busy),
        other => Err(other.into()),
    }
}

fn is_contention(msg: &str) -> bool {
    msg.contains("TransactionConflict")
        || msg.contains("transaction cancelled")
        || msg.contains("TransactionInProgress")
        || msg.contains("Throttl")
}

/// Runs `attempt` until it decides, up to `ATTEMPTS` times, with jittered
/// exponential backoff between contended tries.
async fn retry<T, F, Fut>(mut attempt: F) -> Result<T, CommentError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Attempt<T>, CommentError>>,
{
    for i in 0..ATTEMPTS {
        match attempt().await {
            Ok(Attempt::Done(v)) => return Ok(v),
            Ok(Attempt::Reread) => backoff(i.min(2)).await,
            Err(CommentError::Busy) => backoff(i).await,
            Err(e) => return Err(e),
        }
    }
    Err(CommentError::Busy)
}

#[cfg(test)]
mod tests;
