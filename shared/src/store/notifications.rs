//! Notifications in the table (docs/notifications.md): the inbox with its
//! exact unread counter on the profile, the Telegram mapping of sent
//! notices, the coalesced-email lines and windows, follows, and the reads
//! the fan-out makes (recipients' profiles, followers, room subscribers,
//! the content's state).

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::keys::{self, Key};
use super::{from_item, n, s, values, Store, StoreError};
use crate::domain::digest::{DigestChoice, Undeliverable};
use crate::domain::notification::{EmailLine, Kind, Note, Prefs};
use crate::domain::{CommentId, Email, MemberId, MemberStatus, PostId, TelegramLink};

impl Store {
    pub fn notifications(&self) -> Notifications<'_> {
        Notifications { store: self }
    }
}

#[derive(Clone, Copy)]
pub struct Notifications<'a> {
    store: &'a Store,
}

/// What a recipient's profile says about reaching them.
#[derive(Clone, Debug, Deserialize)]
pub struct Recipient {
    pub id: MemberId,
    pub email: Email,
    pub status: MemberStatus,
    #[serde(default)]
    pub telegram: Option<TelegramLink>,
    /// Members whose actions they never hear of (docs/posts.md: a string set).
    #[serde(default)]
    pub muted_members: Vec<MemberId>,
    #[serde(default)]
    pub notification_prefs: Prefs,
    /// The mail state the digests keep (docs/digests.md): the epoch that
    /// signs unsubscribe links, the one-click stops, a bounced address.
    #[serde(default)]
    pub mail_epoch: u32,
    #[serde(default)]
    pub mail_off_notifications: bool,
    #[serde(default)]
    pub mail_off_all: bool,
    #[serde(default)]
    pub undeliverable: Option<Undeliverable>,
}

impl Recipient {
    /// Linked, and the bot was not blocked.
    pub fn telegram_chat(&self) -> Option<i64> {
        self.telegram.as_ref().filter(|t| !t.unreachable).map(|t| t.user_id)
    }

    /// Notification email may go to this member at all: not stopped by a
    /// one-click unsubscribe and not bounced (each kind's switch aside).
    pub fn email_allowed(&self) -> bool {
        !self.mail_off_notifications && !self.mail_off_all && self.undeliverable.is_none()
    }
}

/// The post (and comment) a notification is about, as it is now.
#[derive(Clone, Debug)]
pub struct Content {
    pub title: String,
    pub post_author: MemberId,
    pub post_author_name: String,
    /// Published and not hidden: only then does it notify anyone.
    pub post_visible: bool,
    pub excerpt: String,
    pub comment: Option<CommentNow>,
}

#[derive(Clone, Debug)]
pub struct CommentNow {
    pub author: MemberId,
    pub author_name: String,
    pub body: String,
    pub visible: bool,
}

impl Content {
    /// Nothing hidden, deleted or unpublished notifies anyone.
    pub fn visible(&self) -> bool {
        self.post_visible && self.comment.as_ref().is_none_or(|c| c.visible)
    }
}

#[derive(Deserialize)]
struct CardView {
    #[serde(default)]
    state: String,
    #[serde(default)]
    title: String,
    author_id: MemberId,
    #[serde(default)]
    author_name: String,
    #[serde(default)]
    excerpt: String,
}

#[derive(Deserialize)]
struct CommentView {
    author_id: MemberId,
    #[serde(default)]
    author_name: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    hidden: bool,
}

/// One entry of the inbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboxEntry {
    /// `<ms:013>.<event key>`: the sort key, and the id in URLs.
    pub id: String,
    pub kind: Kind,
    pub note: Note,
    pub read: bool,
    pub at_ms: i64,
}

/// A page of the inbox, newest first; `next` is the id to continue after.
pub struct InboxPage {
    pub entries: Vec<InboxEntry>,
    pub next: Option<String>,
}

/// A notification DM the bot sent, for replies and button presses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SentNote {
    pub recipient: MemberId,
    pub post: PostId,
    #[serde(default)]
    pub comment: Option<CommentId>,
    #[serde(default)]
    pub path: Option<String>,
    pub at: i64,
    /// TTL: 90 days after sending.
    pub expires_at: i64,
}

#[derive(Deserialize)]
struct Due {
    member_id: MemberId,
    due: i64,
}

#[derive(Deserialize)]
struct SortKey {
    sk: String,
}

/// What `/settings/notifications` shows and saves: the switches, whether
/// Telegram is linked (the email defaults follow it), the digest choice, and
/// why email is stopped whatever the switches say.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub prefs: Prefs,
    pub telegram_linked: bool,
    pub digest: DigestChoice,
    pub email_stopped: Option<&'static str>,
}

#[derive(Deserialize)]
struct SettingsView {
    #[serde(default)]
    notification_prefs: Prefs,
    #[serde(flatten)]
    mail: crate::domain::digest::Recipient,
}

/// Mark-all-read flips at most this many entries per transaction (plus the counter).
const MARK_CHUNK: usize = 99;
/// Tries of one inbox transaction that conflicts with another write of the profile.
const INBOX_TRIES: u32 = 4;

impl Notifications<'_> {
    /// The profiles of `ids` (missing members are left out), read in
    /// parallel chunks of 100 by `Store::batch_get`.
    pub async fn recipients(&self, ids: &[MemberId]) -> Result<Vec<Recipient>, StoreError> {
        let keys = ids.iter().map(Key::member).collect();
        self.store
            .batch_get(keys, true)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// The members following the whole thread of `post`.
    pub async fn followers(&self, post: &PostId) -> Result<Vec<MemberId>, StoreError> {
        self.members_under(&Key::post_item(post, "").pk, keys::FOLLOWER).await
    }

    async fn members_under(&self, pk: &str, prefix: &str) -> Result<Vec<MemberId>, StoreError> {
        let items: Vec<SortKey> = self.store.query_prefix(pk, Some(prefix)).await?;
        Ok(items
            .into_iter()
            .filter_map(|i| MemberId::parse(i.sk.strip_prefix(prefix)?).ok())
            .collect())
    }

    /// The post and, with a thread path, the comment, as they are now;
    /// `None` when the post does not exist.
    pub async fn content(&self, post: &PostId, comment_path: Option<&str>) -> Result<Option<Content>, StoreError> {
        let card_key = Key::post_item(post, "POST");
        let card = self.store.get::<CardView>(&card_key);
        let comment = async {
            match comment_path {
                Some(path) => self.store.get::<CommentView>(&Key::comment(post, path)).await,
                None => Ok(None),
            }
        };
        let (card, comment) = tokio::join!(card, comment);
        let Some(card) = card? else { return Ok(None) };
        let comment = match (comment_path, comment?) {
            (None, _) => None,
            (Some(_), Some(c)) => Some(CommentNow {
                author: c.author_id,
                author_name: c.author_name,
                body: c.body,
                visible: !c.deleted && !c.hidden,
            }),
            // A path naming no comment: treat it as deleted.
            (Some(_), None) => Some(CommentNow {
                author: card.author_id.clone(),
                author_name: String::new(),
                body: String::new(),
                visible: false,
            }),
        };
        Ok(Some(Content {
            title: card.title,
            post_author: card.author_id,
            post_author_name: card.author_name,
            post_visible: card.state == "published",
            excerpt: card.excerpt,
            comment,
        }))
    }

    /// Adds `entry` to `member`'s inbox, unread, and counts it on the profile,
    /// in one transaction. False when it was there already (a redelivery).
    pub async fn add_to_inbox(&self, member: &MemberId, entry: &InboxEntry) -> Result<bool, StoreError> {
        let key = Key::inbox_entry(member, &entry.id).with_gsi1(keys::unread_of(member), entry.id.clone());
        let put = self.store.tx_put(&key, entry, Some("attribute_not_exists(pk)"), None)?;
        let count = self.store.tx_update(
            &Key::member(member),
            "ADD unread_notifications :one",
            "attribute_exists(pk)",
            values([(":one", n(1))]),
        )?;
        // The profile is written by others too (sign-ins, settings, other
        // events' entries): a conflict is retried here, not by redoing the
        // whole slice of the fan-out.
        for attempt in 0.. {
            match self.store.transact(vec![put.clone(), count.clone()]).await {
                Ok(()) => return Ok(true),
                Err(e) if e.failed_at(0) => return Ok(false),
                Err(StoreError::Contended) if attempt < INBOX_TRIES => super::backoff(attempt).await,
                Err(e) => return Err(e),
            }
        }
        unreachable!("the loop returns")
    }

    /// One page of the inbox, newest first, after the entry `after`.
    pub async fn inbox(&self, member: &MemberId, after: Option<&str>, limit: i32) -> Result<InboxPage, StoreError> {
        let pk = keys::inbox_of(member);
        let start = after.map(|sk| values([("pk", s(&pk)), ("sk", s(sk))]));
        let page = self
            .store
            .client()
            .query()
            .table_name(self.store.table())
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(&pk))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let entries: Vec<InboxEntry> = page
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect::<Result<_, _>>()?;
        // The id of the last entry returned, not DynamoDB's key (which is the same here).
        let next = match page.last_evaluated_key {
            Some(k) if !k.is_empty() => entries.last().map(|e| e.id.clone()),
            _ => None,
        };
        Ok(InboxPage { entries, next })
    }

    pub async fn entry(&self, member: &MemberId, id: &str) -> Result<Option<InboxEntry>, StoreError> {
        self.store.get(&Key::inbox_entry(member, id)).await
    }

    /// Marks one entry read and takes it off the counter; false when it was
    /// read already or does not exist.
    pub async fn mark_read(&self, member: &MemberId, id: &str) -> Result<bool, StoreError> {
        match self.store.transact(self.mark_items(member, &[id.to_string()])?).await {
            Ok(()) => Ok(true),
            Err(StoreError::Cancelled { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Marks every unread entry read (from the `UNREAD#` index), in chunks
    /// that each move the counter by exactly what they flipped. Returns how
    /// many were flipped.
    pub async fn mark_all_read(&self, member: &MemberId) -> Result<usize, StoreError> {
        let unread: Vec<SortKey> = self.store.query_gsi1(&keys::unread_of(member), None, false).await?;
        let ids: Vec<String> = unread.into_iter().map(|k| k.sk).collect();
        let mut flipped = 0;
        for chunk in ids.chunks(MARK_CHUNK) {
            match self.store.transact(self.mark_items(member, chunk)?).await {
                Ok(()) => flipped += chunk.len(),
                // One was read meanwhile (or the index lagged): one by one.
                Err(StoreError::Cancelled { .. }) => {
                    for id in chunk {
                        flipped += usize::from(self.mark_read(member, id).await?);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(flipped)
    }

    fn mark_items(
        &self,
        member: &MemberId,
        ids: &[String],
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        let mut items = Vec::with_capacity(ids.len() + 1);
        for id in ids {
            items.push(self.store.tx_update_named(
                &Key::inbox_entry(member, id),
                "SET #r = :t REMOVE gsi1pk, gsi1sk",
                "#r = :f",
                &[("#r", "read")],
                values([(":t", AttributeValue::Bool(true)), (":f", AttributeValue::Bool(false))]),
            )?);
        }
        items.push(self.store.tx_update(
            &Key::member(member),
            "ADD unread_notifications :d",
            "attribute_exists(pk)",
            values([(":d", n(-(ids.len() as i64)))]),
        )?);
        Ok(items)
    }

    /// The member's settings as the page shows them.
    pub async fn settings(&self, member: &MemberId) -> Result<Settings, StoreError> {
        let view: Option<SettingsView> = self.store.get(&Key::member(member)).await?;
        Ok(view
            .map(|v| Settings {
                email_stopped: if v.mail.undeliverable.is_some() {
                    Some("Email to your address bounced: see /settings/email.")
                } else if v.mail.mail_off_all || v.mail.mail_off_notifications {
                    Some("You unsubscribed from notification emails by link; saving this page turns them back on as ticked.")
                } else {
                    None
                },
                digest: v.mail.digest_choice(),
                prefs: v.notification_prefs,
                telegram_linked: v.mail.telegram.is_some(),
            })
            .unwrap_or_default())
    }

    /// Saves the page in one update: the switches, the digest choice, and
    /// (the member having just said what they want) clears the one-click
    /// stops a link set. A bounced address stays stopped until
    /// `/settings/email` says it works.
    pub async fn save_settings(
        &self,
        member: &MemberId,
        prefs: &Prefs,
        digest: DigestChoice,
    ) -> Result<(), StoreError> {
        let value = serde_dynamo::to_attribute_value(prefs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store
            .update(
                &Key::member(member),
                "SET notification_prefs = :p, digest = :d REMOVE mail_off_notifications, mail_off_all",
                Some("attribute_exists(pk)"),
                &[],
                values([(":p", value), (":d", s(digest.as_str()))]),
                None,
            )
            .await
            .map(|_| ())
    }

    /// Follows a published post's whole thread; repeating it is a no-op.
    /// `Conflict` when the post is not published.
    pub async fn follow(&self, post: &PostId, member: &MemberId, now: i64) -> Result<(), StoreError> {
        let check = self.store.tx_check(
            &Key::post_item(post, "POST"),
            "#st = :published",
            &[("#st", "state")],
            values([(":published", s("published"))]),
        )?;
        let put = self.store.tx_put(
            &Key::post_follow(post, member),
            &Follow {
                member_id: member.clone(),
                at: now,
            },
            None,
            None,
        )?;
        match self.store.transact(vec![check, put]).await {
            Err(e) if e.failed_at(0) => Err(StoreError::Conflict),
            other => other,
        }
    }

    pub async fn unfollow(&self, post: &PostId, member: &MemberId) -> Result<(), StoreError> {
        self.store.delete(&Key::post_follow(post, member)).await
    }

    pub async fn follows(&self, post: &PostId, member: &MemberId) -> Result<bool, StoreError> {
        Ok(self
            .store
            .get::<serde::de::IgnoredAny>(&Key::post_follow(post, member))
            .await?
            .is_some())
    }

    pub async fn put_sent(&self, chat_id: i64, message_id: i64, note: &SentNote) -> Result<(), StoreError> {
        self.store.put(&Key::telegram_note(chat_id, message_id), note).await
    }

    /// The notice behind a bot message, unless its 90 days are over.
    pub async fn sent(&self, chat_id: i64, message_id: i64, now: i64) -> Result<Option<SentNote>, StoreError> {
        let note: Option<SentNote> = self.store.get(&Key::telegram_note(chat_id, message_id)).await?;
        Ok(note.filter(|n| n.expires_at > now))
    }

    /// Queues a line for the member's next email; the first line of a quiet
    /// period opens a window that is due `window_secs` later.
    pub async fn queue_email(&self, member: &MemberId, line: &EmailLine, window_secs: i64) -> Result<(), StoreError> {
        self.store.put(&Key::pending_email(member, &line.id), line).await?;
        self.open_window(member, line.at + window_secs).await
    }

    /// Schedules the member's email for `due`, unless one is scheduled.
    async fn open_window(&self, member: &MemberId, due: i64) -> Result<(), StoreError> {
        let opened = self
            .store
            .update(
                &Key::email_window(member),
                "SET due = :due, member_id = :m, gsi1pk = :g, gsi1sk = :gs",
                Some("attribute_not_exists(due)"),
                &[],
                values([
                    (":due", n(due)),
                    (":m", s(member.as_str())),
                    (":g", s(keys::EMAIL_DUE)),
                    (":gs", s(format!("{due:010}#{member}"))),
                ]),
                None,
            )
            .await;
        match opened {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The members whose email is due at `now`, with its due time.
    pub async fn due_emails(&self, now: i64) -> Result<Vec<(MemberId, i64)>, StoreError> {
        let q = self
            .store
            .client()
            .query()
            .table_name(self.store.table())
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :p AND gsi1sk <= :s")
            .expression_attribute_values(":p", s(keys::EMAIL_DUE))
            .expression_attribute_values(":s", s(format!("{now:010}#~")));
        let due: Vec<Due> = self.store.query_all(q).await?;
        Ok(due.into_iter().map(|d| (d.member_id, d.due)).collect())
    }

    /// The lines queued before `due`, oldest first.
    pub async fn pending_before(&self, member: &MemberId, due: i64) -> Result<Vec<EmailLine>, StoreError> {
        let lines: Vec<EmailLine> = self
            .store
            .query_prefix(&keys::mailbox_of(member), Some(keys::PENDING_EMAIL))
            .await?;
        Ok(lines.into_iter().filter(|l| l.at < due).collect())
    }

    /// After the email for `due` went out: deletes its lines and closes the
    /// window, then reopens it (for `window_secs`) if lines came in meanwhile.
    pub async fn finish_email(
        &self,
        member: &MemberId,
        due: i64,
        sent: &[EmailLine],
        now: i64,
        window_secs: i64,
    ) -> Result<(), StoreError> {
        for chunk in sent.chunks(99) {
            let deletes = chunk
                .iter()
                .map(|l| self.store.tx_delete(&Key::pending_email(member, &l.id), None, None))
                .collect::<Result<Vec<_>, _>>()?;
            self.store.transact(deletes).await?;
        }
        let closed = self
            .store
            .update(
                &Key::email_window(member),
                "SET last_sent = :now REMOVE due, gsi1pk, gsi1sk",
                Some("due = :due"),
                &[],
                values([(":now", n(now)), (":due", n(due))]),
                None,
            )
            .await;
        match closed {
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e),
        }
        let left: Vec<SortKey> = self
            .store
            .query_prefix(&keys::mailbox_of(member), Some(keys::PENDING_EMAIL))
            .await?;
        if !left.is_empty() {
            self.open_window(member, now + window_secs).await?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct Follow {
    member_id: MemberId,
    at: i64,
}
