//! Posts: the write side and the post page (docs/posts.md). Every rule is a
//! condition in the one transaction that applies it: the rate ring, the room
//! existing, one vote per member, exact counters on the card and every
//! listing copy, the author's `received_upvotes`, unpublishing only under 10
//! comments, edits against the version they were made on.
//!
//! A published post's listing items are named by `store::listing` only. A
//! draft, deleted or hidden post has none of the index *key* attributes, so
//! every feed index stays sparse; its counters and score stay on the card,
//! so a restore puts back exactly what was there.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::backoff;
use super::listing::{hot_partition, new_sort_key, Listing, ListingAttrs};
use super::packed;
use super::reads::{Fetched, Reads, Slot};
use super::ring::{Ring, RingFull};
use super::{n, s, to_item, values, Item, Key, Store, StoreError};
use crate::domain::notification::ContentEvent;
use crate::domain::{
    Member, MemberId, NewPost, PostBody, PostContent, PostId, PostKind, PostTitle, RoomSlug, Venue, Visibility,
};
use crate::feed::hot::{self, Activity, Hot};
use crate::feed::order::iso_week;
use crate::markdown::Rendered;

/// A post's life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostState {
    Draft,
    Published,
    Deleted,
    Hidden,
}

impl PostState {
    pub fn as_str(self) -> &'static str {
        match self {
            PostState::Draft => "draft",
            PostState::Published => "published",
            PostState::Deleted => "deleted",
            PostState::Hidden => "hidden",
        }
    }
}

/// The `POST` item: the card every listing copy repeats. Times are ms.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Card {
    pub id: PostId,
    pub kind: PostKind,
    pub title: String,
    pub author_id: MemberId,
    pub author_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomSlug>,
    pub visibility: Visibility,
    pub state: PostState,
    /// What a restore goes back to (set by delete and hide).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_to: Option<PostState>,
    /// A moderator's reason, shown to the author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
    #[serde(default)]
    pub closed: bool,
    #[serde(default)]
    pub upvotes: i64,
    #[serde(default)]
    pub comment_count: i64,
    #[serde(default)]
    pub comment_seq: i64,
    #[serde(default)]
    pub going: i64,
    #[serde(default)]
    pub excerpt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<i64>,
    /// A place, or the online link (`venue_online`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venue: Option<String>,
    #[serde(default)]
    pub venue_online: bool,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<i64>,
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_until: Option<i64>,
    /// The hot score and its era, and last activity: kept while unlisted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hot_era: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<i64>,
}

impl Card {
    /// What the notifications hear of this post's publication (`None`
    /// unless it is published): the room's subscribers and the mentioned.
    pub fn published_event(&self, mentions: Vec<MemberId>) -> Option<ContentEvent> {
        let at_ms = self.published_at.filter(|_| self.state == PostState::Published)?;
        Some(ContentEvent::PostPublished {
            post: self.id.clone(),
            author: self.author_id.clone(),
            room: self.room.clone(),
            mentions,
            at_ms,
        })
    }

    pub fn is_author(&self, member: &MemberId) -> bool {
        &self.author_id == member
    }

    fn score(&self, now_ms: i64) -> Hot {
        match (self.hot, self.hot_era) {
            (Some(score), Some(era)) => Hot { era, score },
            _ => Hot::published(self.published_at.unwrap_or(now_ms) / 1000),
        }
    }

    /// Every listing the post is in while published, `All` (the card) first.
    pub fn listings(&self) -> Vec<Listing> {
        Listing::of(self.kind, self.room.as_ref(), self.visibility, &self.author_id)
    }

    /// The card's copies while published: each listing but `All`, and for an
    /// event its calendar entry (`LIST#EVENTS`, no listing attributes).
    fn copies(&self) -> Vec<(Key, Option<Listing>)> {
        let mut out: Vec<(Key, Option<Listing>)> = self
            .listings()
            .into_iter()
            .skip(1)
            .map(|l| (Key::post_item(&self.id, l.sort_key()), Some(l)))
            .collect();
        if let Some(starts) = self.starts_at {
            let key = Key::post_item(&self.id, EVENTS_SK).with_gsi1(EVENTS.into(), format!("{starts:013}#{}", self.id));
            out.push((key, None));
        }
        out
    }
}

/// The calendar's `gsi1` partition, and an event's copy in it.
pub const EVENTS: &str = "EVENTS";
const EVENTS_SK: &str = "LIST#EVENTS";

/// A draft's `gsi1` partition (the author's drafts).
pub fn drafts_of(member: &MemberId) -> String {
    format!("DRAFTS#{member}")
}

/// A member's bookmarks (`READER` items) in `gsi1`.
pub fn bookmarks_of(member: &MemberId) -> String {
    format!("BOOKMARKS#{member}")
}

/// The listing attributes that are index keys: removing them takes an item
/// out of every feed index. The others (`upvotes`, `hot`, `activity`, …)
/// stay on the card, so the counters survive a delete and a restore.
const INDEX_KEYS: [&str; 6] = ["lst", "gsi1pk", "gsi1sk", "hot_pk", "top_w", "top_m"];

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Reader {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voted_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmarked_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_visit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsvp_at: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Body {
    #[serde(with = "super::packed")]
    pub body: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Html {
    #[serde(with = "super::packed")]
    pub html: String,
    #[serde(default)]
    pub mentions: Vec<MemberId>,
}

/// One earlier version of a post.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Revision {
    pub title: String,
    #[serde(with = "super::packed")]
    pub body: String,
    pub by: MemberId,
    pub by_name: String,
    pub at: i64,
    pub version: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rsvp {
    pub member_id: MemberId,
    pub name: String,
    pub at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pin {
    pub post_id: PostId,
    pub title: String,
    pub until: i64,
    /// TTL (seconds): DynamoDB drops the pin after `until`.
    pub expires_at: i64,
}

/// Where `page_reads` put the post page's items.
pub struct PageSlots {
    id: PostId,
    card: Slot<Card>,
    html: Slot<Html>,
    viewer: Option<(Slot<Reader>, Slot<serde::de::IgnoredAny>)>,
}

impl PageSlots {
    /// Leaves the viewer's state out (their session did not hold).
    pub fn signed_out(mut self) -> Self {
        self.viewer = None;
        self
    }
}

/// Everything the post page shows, read in one round trip (two for an event).
#[derive(Clone, Debug)]
pub struct PostPage {
    pub card: Card,
    pub html: Html,
    pub reader: Reader,
    /// Who is going, for events.
    pub going: Vec<Rsvp>,
    /// The viewer follows the whole thread (the bell, docs/notifications.md).
    pub following: bool,
}

/// Who acts: the member and whether they moderate.
#[derive(Clone, Copy, Debug)]
pub struct Actor<'a> {
    pub id: &'a MemberId,
    pub name: &'a str,
    pub moderator: bool,
}

impl<'a> Actor<'a> {
    pub fn of(member: &'a Member) -> Self {
        Self {
            id: &member.id,
            name: member.name(),
            moderator: member.role.can_moderate(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("no such post")]
    NotFound,
    #[error("not allowed")]
    NotAllowed,
    #[error("no such room")]
    NoRoom,
    #[error("rate limited")]
    Limited(RingFull),
    /// A ring the caller added (`Creation::also`) is full.
    #[error("rate limited")]
    LimitedBy(Ring, RingFull),
    /// A post with the id the caller fixed (`Creation::id`) exists already.
    #[error("the post exists already")]
    Exists,
    #[error("members cannot vote for their own posts")]
    OwnPost,
    #[error("not voted")]
    NotVoted,
    #[error("the 24 hours to retract a vote have passed")]
    RetractWindow,
    #[error("the post has {0} comments")]
    TooManyComments(i64),
    #[error("the post is not in a state that allows this ({0})")]
    WrongState(&'static str),
    #[error("the post changed meanwhile")]
    Changed,
    #[error("not an event")]
    NotEvent,
    #[error("the post is too large to store")]
    TooLarge,
    #[error("too many concurrent writes")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How `Posts::create_as` creates: with an id fixed beforehand (a draft's,
/// so that confirming twice makes one post), and paying more rings than the
/// posts' own.
#[derive(Clone, Debug, Default)]
pub struct Creation {
    pub id: Option<PostId>,
    pub also: Option<Ring>,
}

/// What a vote or unvote left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct VoteCount {
    pub upvotes: i64,
    pub voted: bool,
    /// This call cast (or took back) the vote; false when it already was so.
    #[serde(skip)]
    pub changed: bool,
}

/// Attempts of a counter write that loses races (TransactionConflict).
const ATTEMPTS: u32 = 8;
/// An item must stay under DynamoDB's 400 KB.
const MAX_ITEM_BYTES: usize = 390_000;
/// Unpublishing is allowed only while a post has fewer comments than this.
pub const UNPUBLISH_MAX_COMMENTS: i64 = 10;
/// A vote can be retracted within this long (ms).
pub const RETRACT_MS: i64 = 86_400_000;

impl Store {
    pub fn posts(&self) -> Posts<'_> {
        Posts { store: self }
    }
}

pub struct Posts<'a> {
    store: &'a Store,
}

/// The `SET` clause, names and values that write every attribute of `item`.
fn set_all(item: Item, prefix: &str) -> (Vec<String>, Vec<(String, String)>, Item) {
    let mut sets = Vec::new();
    let mut names = Vec::new();
    let mut vals = Item::new();
    for (i, (k, v)) in item.into_iter().enumerate() {
        sets.push(format!("#{prefix}{i} = :{prefix}{i}"));
        names.push((format!("#{prefix}{i}"), k));
        vals.insert(format!(":{prefix}{i}"), v);
    }
    (sets, names, vals)
}

fn attrs_item(attrs: &ListingAttrs) -> Result<Item, StoreError> {
    serde_dynamo::to_item(attrs).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl Posts<'_> {
    fn put_raw(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(self.store.table())
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn update(
        &self,
        key: &Key,
        update: &str,
        condition: &str,
        names: &[(&str, &str)],
        vals: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        self.store.tx_update_named(key, update, condition, names, vals)
    }

    /// A listing item: the card plus the listing's attributes.
    fn listed_item(&self, key: &Key, card: &Card, listing: Option<&Listing>, now_ms: i64) -> Result<Item, StoreError> {
        let mut item = to_item(key, card)?;
        if let Some(listing) = listing {
            item.extend(attrs_item(&self.attrs(card, listing, now_ms))?);
        }
        Ok(item)
    }

    fn attrs(&self, card: &Card, listing: &Listing, now_ms: i64) -> ListingAttrs {
        let published = card.published_at.unwrap_or(now_ms);
        ListingAttrs::new(
            listing,
            &card.id,
            published,
            card.activity.unwrap_or(published),
            card.score(now_ms),
            card.upvotes,
        )
    }

    /// Puts of the copies of a published `card` (not the card itself).
    fn put_copies(&self, card: &Card, now_ms: i64) -> Result<Vec<TransactWriteItem>, StoreError> {
        card.copies()
            .into_iter()
            .map(|(key, listing)| self.put_raw(self.listed_item(&key, card, listing.as_ref(), now_ms)?, None))
            .collect()
    }

    fn delete_copies(&self, card: &Card) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut out: Vec<TransactWriteItem> = card
            .copies()
            .into_iter()
            .map(|(key, _)| self.store.tx_delete(&key, None, None))
            .collect::<Result<_, _>>()?;
        out.push(self.store.tx_delete(&Key::pinned(&card.id), None, None)?);
        Ok(out)
    }

    /// The same `SET`/`ADD` on every copy of a published card.
    fn update_copies(
        &self,
        card: &Card,
        update: &str,
        names: &[(&str, &str)],
        vals: &Item,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        card.copies()
            .into_iter()
            .map(|(key, _)| self.update(&key, update, "attribute_exists(pk)", names, vals.clone()))
            .collect()
    }

    // ---------------------------------------------------------------- reads

    pub async fn card(&self, id: &PostId) -> Result<Option<Card>, StoreError> {
        self.store.get(&Key::post_item(id, "POST")).await
    }

    pub async fn body(&self, id: &PostId) -> Result<Option<Body>, StoreError> {
        self.store.get(&Key::post_item(id, "BODY")).await
    }

    /// The members the post's body mentions (recorded with its HTML).
    pub async fn mentions(&self, id: &PostId) -> Result<Vec<MemberId>, StoreError> {
        Ok(self
            .store
            .get::<Html>(&Key::post_item(id, "HTML"))
            .await?
            .map(|h| h.mentions)
            .unwrap_or_default())
    }

    pub async fn reader(&self, id: &PostId, member: &MemberId) -> Result<Reader, StoreError> {
        Ok(self.store.get(&Key::post_reader(id, member)).await?.unwrap_or_default())
    }

    /// The card and `member`'s state on the post, in one `BatchGetItem`.
    async fn card_and_reader(&self, id: &PostId, member: &MemberId) -> Result<(Option<Card>, Reader), StoreError> {
        let mut reads = Reads::new();
        let card = reads.add::<Card>(Key::post_item(id, "POST"));
        let reader = reads.add::<Reader>(Key::post_reader(id, member));
        let mut got = self.store.fetch(reads).await?;
        Ok((got.take(card)?, got.take(reader)?.unwrap_or_default()))
    }

    /// The post page's items: card, HTML and the viewer's state in one
    /// `BatchGetItem`, then, for an event, who is going.
    pub async fn page(&self, id: &PostId, viewer: Option<&MemberId>) -> Result<Option<PostPage>, StoreError> {
        let mut reads = Reads::new();
        let slots = self.page_reads(&mut reads, id, viewer);
        let mut fetched = self.store.fetch(reads).await?;
        self.page_from(slots, &mut fetched).await
    }

    /// Adds the post page's point reads to `reads` (a page's one round
    /// trip, shared with the viewer's session): the card, its HTML and, for
    /// `viewer`, their reader state and thread follow.
    pub fn page_reads(&self, reads: &mut Reads, id: &PostId, viewer: Option<&MemberId>) -> PageSlots {
        PageSlots {
            id: id.clone(),
            card: reads.add(Key::post_item(id, "POST")),
            html: reads.add(Key::post_item(id, "HTML")),
            viewer: viewer.map(|v| (reads.add(Key::post_reader(id, v)), reads.add(Key::post_follow(id, v)))),
        }
    }

    /// The page from `page_reads`' fetched items; an event's RSVPs are read
    /// then (one `Query`, only for events). A caller whose viewer's session
    /// did not hold passes `slots.signed_out()`.
    pub async fn page_from(&self, slots: PageSlots, fetched: &mut Fetched) -> Result<Option<PostPage>, StoreError> {
        let Some(card) = fetched.take(slots.card)? else {
            return Ok(None);
        };
        let html = fetched.take(slots.html)?.unwrap_or(Html {
            html: String::new(),
            mentions: Vec::new(),
        });
        let (reader, following) = match slots.viewer {
            Some((reader, follow)) => (fetched.take(reader)?.unwrap_or_default(), fetched.exists(follow)),
            None => (Reader::default(), false),
        };
        let going = match card.starts_at {
            Some(_) => {
                self.store
                    .query_prefix::<Rsvp>(&format!("POST#{}", slots.id), Some("RSVP#"))
                    .await?
            }
            None => Vec::new(),
        };
        Ok(Some(PostPage {
            card,
            html,
            reader,
            going,
            following,
        }))
    }

    /// Records the viewer's visit: what the "new comments" count starts from.
    pub async fn mark_seen(&self, id: &PostId, viewer: &MemberId, seq: i64, now_ms: i64) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::post_reader(id, viewer),
                "SET seen_seq = :seq, last_visit = :now",
                None,
                &[],
                values([(":seq", n(seq)), (":now", n(now_ms))]),
                None,
            )
            .await
            .map(|_| ())
    }

    /// The edit history, oldest first.
    pub async fn history(&self, id: &PostId) -> Result<Vec<Revision>, StoreError> {
        self.store.query_prefix(&format!("POST#{id}"), Some("REV#")).await
    }

    /// The author's drafts, newest first.
    pub async fn drafts(&self, author: &MemberId) -> Result<Vec<Card>, StoreError> {
        self.store.query_gsi1(&drafts_of(author), None, true).await
    }

    // --------------------------------------------------------------- create

    /// The items that create `card` (published or draft) with its body and
    /// HTML.
    fn create_items(
        &self,
        card: &Card,
        body: &str,
        html: &Html,
        now_ms: i64,
    ) -> Result<Vec<TransactWriteItem>, PostError> {
        if packed::stored_len(body) > MAX_ITEM_BYTES || packed::stored_len(&html.html) > MAX_ITEM_BYTES {
            return Err(PostError::TooLarge);
        }
        let mut items = Vec::new();
        let key = Key::post_item(&card.id, "POST");
        let item = match card.state {
            PostState::Published => self.listed_item(&key, card, Some(&Listing::All), now_ms)?,
            _ => to_item(
                &key.with_gsi1(drafts_of(&card.author_id), new_sort_key(now_ms, &card.id)),
                card,
            )?,
        };
        items.push(self.put_raw(item, Some("attribute_not_exists(pk)"))?);
        items.push(self.store.tx_put(
            &Key::post_item(&card.id, "BODY"),
            &Body { body: body.into() },
            None,
            None,
        )?);
        items.push(self.store.tx_put(&Key::post_item(&card.id, "HTML"), html, None, None)?);
        if card.state == PostState::Published {
            items.extend(self.put_copies(card, now_ms)?);
            items.push(self.follow_item(card, now_ms)?);
        }
        Ok(items)
    }

    fn follow_item(&self, card: &Card, now_ms: i64) -> Result<TransactWriteItem, StoreError> {
        self.store.tx_put(
            &Key::post_follow(&card.id, &card.author_id),
            &serde_json::json!({"at": now_ms}),
            None,
            None,
        )
    }

    /// A new card from what the author submitted.
    fn new_card(post: &NewPost, author: &Member, rendered: &Rendered, now_ms: i64) -> Card {
        let id = PostId::generate(now_ms);
        let published = !post.draft;
        let (mut link_url, mut link_host, mut starts_at, mut ends_at, mut venue, mut online) =
            (None, None, None, None, None, false);
        match &post.content {
            PostContent::Link(url) => {
                link_url = Some(url.as_str().to_string());
                link_host = Some(url.host());
            }
            PostContent::Event(w) => {
                starts_at = Some(w.starts_at() * 1000);
                ends_at = w.ends_at().map(|e| e * 1000);
                match w.venue() {
                    Venue::Place(p) => venue = Some(p.clone()),
                    Venue::Online(u) => {
                        venue = Some(u.as_str().to_string());
                        online = true;
                    }
                }
            }
            _ => {}
        }
        let hot = Hot::published(now_ms / 1000);
        Card {
            id,
            kind: post.kind(),
            title: post.title.as_str().to_string(),
            author_id: author.id.clone(),
            author_name: author.name().to_string(),
            room: post.room.clone(),
            visibility: post.visibility,
            state: if published {
                PostState::Published
            } else {
                PostState::Draft
            },
            restore_to: None,
            hidden_reason: None,
            closed: false,
            upvotes: 0,
            comment_count: 0,
            comment_seq: 0,
            going: 0,
            excerpt: rendered.excerpt.clone(),
            first_image: rendered.first_image.clone(),
            link_url,
            link_host,
            starts_at,
            ends_at,
            venue,
            venue_online: online,
            created_at: now_ms,
            published_at: published.then_some(now_ms),
            edited_at: None,
            version: 1,
            pinned_until: None,
            hot: published.then_some(hot.score),
            hot_era: published.then_some(hot.era),
            activity: published.then_some(now_ms),
        }
    }

    /// Creates a post (published, or a draft), paying with one slot of the
    /// author's 24-hour ring unless they moderate. All one transaction.
    pub async fn create(
        &self,
        post: &NewPost,
        author: &Member,
        rendered: &Rendered,
        now_ms: i64,
    ) -> Result<Card, PostError> {
        self.create_as(post, author, rendered, now_ms, &Creation::default())
            .await
    }

    /// `create`, with the post's id fixed by the caller (a retry then finds
    /// `Exists` instead of making a twin) and further rings to pay, in the
    /// same transaction (moderators pay those too).
    pub async fn create_as(
        &self,
        post: &NewPost,
        author: &Member,
        rendered: &Rendered,
        now_ms: i64,
        how: &Creation,
    ) -> Result<Card, PostError> {
        let mut card = Self::new_card(post, author, rendered, now_ms);
        if let Some(id) = &how.id {
            card.id = id.clone();
        }
        let html = Html {
            html: rendered.html.clone(),
            mentions: rendered.mentions.iter().map(|m| m.member.clone()).collect(),
        };
        // The room check first, so its failure is index 0. (Not in
        // `create_items`: an intro has no room, so the approval paths need no
        // `ConditionCheckItem` grant.)
        let mut items = Vec::new();
        if let Some(room) = &card.room {
            items.push(
                self.store
                    .tx_check(&Key::room(room), "attribute_exists(pk)", &[], Item::new())?,
            );
        }
        let card_at = items.len();
        items.extend(self.create_items(&card, post.body.as_str(), &html, now_ms)?);
        if let Some(event) = card.published_event(html.mentions.clone()) {
            items.push(self.store.outbox().tx_put(&event)?);
        }
        let mut rings = Vec::new();
        if !author.role.can_moderate() {
            rings.push(Ring::POSTS);
        }
        rings.extend(how.also);
        let paid = self
            .store
            .rings()
            .transact_paid_all(&rings, &author.id, now_ms, || Ok(items.clone()))
            .await;
        match paid {
            Ok(Ok(())) => Ok(card),
            Ok(Err((ring, full))) if ring == Ring::POSTS => Err(PostError::Limited(full)),
            Ok(Err((ring, full))) => Err(PostError::LimitedBy(ring, full)),
            Err(e) if card.room.is_some() && e.failed_at(0) => Err(PostError::NoRoom),
            Err(e) if how.id.is_some() && e.failed_at(card_at) => Err(PostError::Exists),
            Err(StoreError::Contended) => Err(PostError::Busy),
            Err(e) => Err(e.into()),
        }
    }

    /// The items that publish a newly approved member's intro as an `intro`
    /// post, for the approval's own transaction (so it happens exactly once).
    pub fn intro_items(&self, member: &Member, now_ms: i64) -> Result<Vec<TransactWriteItem>, PostError> {
        let name = member.name();
        let title = PostTitle::parse(&format!("Meet {name}"))
            .or_else(|_| PostTitle::parse(&format!("Meet {}", name.chars().take(100).collect::<String>())))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut body = member.about.clone().unwrap_or_default();
        if !member.links.is_empty() {
            body.push_str("\n\n");
            for link in &member.links {
                body.push_str(&format!("- <{link}>\n"));
            }
        }
        let body = PostBody::parse(&body).unwrap_or_default();
        let post = NewPost::intro(title, body);
        let rendered = crate::markdown::render(post.body.as_str(), &crate::markdown::NoMentions);
        let card = Self::new_card(&post, member, &rendered, now_ms);
        let html = Html {
            html: rendered.html,
            mentions: Vec::new(),
        };
        self.create_items(&card, post.body.as_str(), &html, now_ms)
    }

    // ----------------------------------------------------------------- edit

    /// Replaces title and body, keeping the previous version as a revision.
    /// The author, or a moderator; not on a deleted post.
    pub async fn edit(
        &self,
        id: &PostId,
        by: Actor<'_>,
        title: &PostTitle,
        body: &PostBody,
        rendered: &Rendered,
        now_ms: i64,
    ) -> Result<Card, PostError> {
        let (card, old) = tokio::join!(self.card(id), self.body(id));
        let mut card = card?.ok_or(PostError::NotFound)?;
        let old = old?.map(|b| b.body).unwrap_or_default();
        if card.state == PostState::Deleted {
            return Err(PostError::NotFound);
        }
        if !card.is_author(by.id) && !by.moderator {
            return Err(PostError::NotAllowed);
        }
        let html = Html {
            html: rendered.html.clone(),
            mentions: rendered.mentions.iter().map(|m| m.member.clone()).collect(),
        };
        if packed::stored_len(body.as_str()) > MAX_ITEM_BYTES || packed::stored_len(&html.html) > MAX_ITEM_BYTES {
            return Err(PostError::TooLarge);
        }
        let revision = Revision {
            title: card.title.clone(),
            body: old,
            by: by.id.clone(),
            by_name: by.name.to_string(),
            at: now_ms,
            version: card.version,
        };
        let next = card.version + 1;
        let image = rendered
            .first_image
            .clone()
            .map(s)
            .unwrap_or(AttributeValue::Null(true));
        let vals = values([
            (":t", s(title.as_str())),
            (":x", s(&rendered.excerpt)),
            (":i", image),
            (":e", n(now_ms)),
            (":v", n(next)),
        ]);
        let set = "SET title = :t, excerpt = :x, first_image = :i, edited_at = :e, version = :v";
        let mut post_vals = vals.clone();
        post_vals.insert(":old".into(), n(card.version));
        post_vals.insert(":s".into(), s(card.state.as_str()));
        let mut items = vec![
            self.update(
                &Key::post_item(id, "POST"),
                set,
                "version = :old AND #state = :s",
                &[("#state", "state")],
                post_vals,
            )?,
            self.store
                .tx_put(&Key::post_revision(id, now_ms, card.version), &revision, None, None)?,
            self.store.tx_put(
                &Key::post_item(id, "BODY"),
                &Body {
                    body: body.as_str().into(),
                },
                None,
                None,
            )?,
            self.store.tx_put(&Key::post_item(id, "HTML"), &html, None, None)?,
        ];
        if card.state == PostState::Published {
            items.extend(self.update_copies(&card, set, &[], &vals)?);
        }
        match self.store.transact(items).await {
            Ok(()) => {
                card.title = title.as_str().to_string();
                card.excerpt = rendered.excerpt.clone();
                card.first_image = rendered.first_image.clone();
                card.edited_at = Some(now_ms);
                card.version = next;
                Ok(card)
            }
            Err(e) if e.failed_at(0) => Err(PostError::Changed),
            Err(e) => Err(e.into()),
        }
    }

    // ------------------------------------------------ life cycle and moderation

    /// Takes a post out of every listing into `to` (deleted, hidden, draft).
    fn unlist_items(
        &self,
        card: &Card,
        to: PostState,
        extra_set: &[(&str, AttributeValue)],
        extra_condition: Option<(&str, Item)>,
        now_ms: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut sets = vec!["#state = :to".to_string()];
        let mut vals = values([(":to", s(to.as_str())), (":from", s(card.state.as_str()))]);
        for (i, (name, v)) in extra_set.iter().enumerate() {
            sets.push(format!("{name} = :x{i}"));
            vals.insert(format!(":x{i}"), v.clone());
        }
        let mut removes: Vec<&str> = INDEX_KEYS.to_vec();
        if to == PostState::Draft {
            // A draft is back in its author's drafts.
            removes.retain(|k| !k.starts_with("gsi1"));
            sets.push("gsi1pk = :dpk, gsi1sk = :dsk".into());
            vals.insert(":dpk".into(), s(drafts_of(&card.author_id)));
            vals.insert(":dsk".into(), s(new_sort_key(now_ms, &card.id)));
        }
        if to != PostState::Hidden {
            removes.push("hidden_reason");
        }
        let mut condition = "#state = :from".to_string();
        if let Some((extra, more)) = extra_condition {
            condition = format!("{condition} AND {extra}");
            vals.extend(more);
        }
        let update = format!("SET {} REMOVE {}", sets.join(", "), removes.join(", "));
        let mut items = vec![self.update(
            &Key::post_item(&card.id, "POST"),
            &update,
            &condition,
            &[("#state", "state")],
            vals,
        )?];
        if card.state == PostState::Published {
            items.extend(self.delete_copies(card)?);
        }
        Ok(items)
    }

    /// Puts an unlisted post back into every listing, as `card` says.
    fn list_items(
        &self,
        card: &Card,
        published_at: i64,
        condition: &str,
        mut vals: Item,
        now_ms: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut listed = card.clone();
        listed.state = PostState::Published;
        listed.published_at = Some(published_at);
        listed.restore_to = None;
        listed.hidden_reason = None;
        let attrs = attrs_item(&self.attrs(&listed, &Listing::All, now_ms))?;
        let (mut sets, names, more) = set_all(attrs, "a");
        sets.push("#state = :pub".into());
        vals.extend(more);
        vals.insert(":pub".into(), s("published"));
        let mut names: Vec<(String, String)> = names;
        names.push(("#state".into(), "state".into()));
        let name_refs: Vec<(&str, &str)> = names.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let update = format!("SET {} REMOVE restore_to, hidden_reason", sets.join(", "));
        let mut items = vec![self.update(&Key::post_item(&card.id, "POST"), &update, condition, &name_refs, vals)?];
        items.extend(self.put_copies(&listed, now_ms)?);
        items.push(self.follow_item(&listed, now_ms)?);
        Ok(items)
    }

    async fn write(&self, items: Vec<TransactWriteItem>) -> Result<(), PostError> {
        match self.store.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) if e.failed_at(0) => Err(PostError::Changed),
            Err(StoreError::Contended) => Err(PostError::Changed),
            Err(e) => Err(e.into()),
        }
    }

    /// Soft delete, by the author or a moderator. Repeating it is a no-op.
    pub async fn delete(&self, id: &PostId, by: Actor<'_>, now_ms: i64) -> Result<(), PostError> {
        let card = self.card(id).await?.ok_or(PostError::NotFound)?;
        if !card.is_author(by.id) && !by.moderator {
            return Err(PostError::NotAllowed);
        }
        if card.state == PostState::Deleted {
            return Ok(());
        }
        let items = self.unlist_items(
            &card,
            PostState::Deleted,
            &[("restore_to", s(card.state.as_str()))],
            None,
            now_ms,
        )?;
        self.write(items).await
    }

    /// A moderator hides a post (published or draft), with a reason the author sees.
    pub fn hide_items(&self, card: &Card, reason: &str, now_ms: i64) -> Result<Vec<TransactWriteItem>, PostError> {
        if !matches!(card.state, PostState::Published | PostState::Draft) {
            return Err(PostError::WrongState(card.state.as_str()));
        }
        Ok(self.unlist_items(
            card,
            PostState::Hidden,
            &[("restore_to", s(card.state.as_str())), ("hidden_reason", s(reason))],
            None,
            now_ms,
        )?)
    }

    pub async fn hide(&self, id: &PostId, by: Actor<'_>, reason: &str, now_ms: i64) -> Result<(), PostError> {
        if !by.moderator {
            return Err(PostError::NotAllowed);
        }
        let card = self.card(id).await?.ok_or(PostError::NotFound)?;
        if card.state == PostState::Hidden {
            return Ok(());
        }
        let items = self.hide_items(&card, reason, now_ms)?;
        self.write(items).await
    }

    /// A moderator restores a deleted or hidden post to what it was.
    pub async fn restore(&self, id: &PostId, by: Actor<'_>, now_ms: i64) -> Result<Card, PostError> {
        if !by.moderator {
            return Err(PostError::NotAllowed);
        }
        let mut card = self.card(id).await?.ok_or(PostError::NotFound)?;
        if !matches!(card.state, PostState::Deleted | PostState::Hidden) {
            return Ok(card);
        }
        let to = match card.restore_to {
            Some(PostState::Hidden) if card.state == PostState::Deleted => PostState::Hidden,
            Some(PostState::Draft) => PostState::Draft,
            _ => PostState::Published,
        };
        let cond = "#state = :from";
        let from = values([(":from", s(card.state.as_str()))]);
        let items = match to {
            PostState::Published => {
                let published = card.published_at.unwrap_or(now_ms);
                self.list_items(&card, published, cond, from, now_ms)?
            }
            _ => {
                let mut vals = from;
                vals.insert(":to".into(), s(to.as_str()));
                let mut update = "SET #state = :to REMOVE restore_to".to_string();
                if to == PostState::Draft {
                    update = "SET #state = :to, gsi1pk = :dpk, gsi1sk = :dsk REMOVE restore_to, hidden_reason".into();
                    vals.insert(":dpk".into(), s(drafts_of(&card.author_id)));
                    vals.insert(":dsk".into(), s(new_sort_key(now_ms, &card.id)));
                }
                vec![self.update(&Key::post_item(id, "POST"), &update, cond, &[("#state", "state")], vals)?]
            }
        };
        self.write(items).await?;
        card.state = to;
        Ok(card)
    }

    /// The author publishes their draft; returns the card and the event the
    /// notifications hear of (put in the outbox in the same transaction).
    /// Publishing a published post changes nothing and returns its event again.
    pub async fn publish(
        &self,
        id: &PostId,
        by: &MemberId,
        now_ms: i64,
    ) -> Result<(Card, Option<ContentEvent>), PostError> {
        let (card, mentions) = tokio::join!(self.card(id), self.mentions(id));
        let mut card = card?.ok_or(PostError::NotFound)?;
        let mentions = mentions?;
        if !card.is_author(by) {
            return Err(if card.state == PostState::Draft {
                PostError::NotFound
            } else {
                PostError::NotAllowed
            });
        }
        match card.state {
            PostState::Published => {
                let event = card.published_event(mentions);
                return Ok((card, event));
            }
            PostState::Draft => {}
            other => return Err(PostError::WrongState(other.as_str())),
        }
        // A fresh publication: its time and heat start now.
        card.published_at = Some(now_ms);
        card.activity = Some(now_ms);
        let hot = Hot::published(now_ms / 1000);
        card.hot = Some(hot.score);
        card.hot_era = Some(hot.era);
        let cond = "#state = :draft AND author_id = :me AND version = :v";
        let vals = values([(":draft", s("draft")), (":me", s(by.as_str())), (":v", n(card.version))]);
        let mut items = self.list_items(&card, now_ms, cond, vals, now_ms)?;
        card.state = PostState::Published;
        let event = card.published_event(mentions);
        if let Some(event) = &event {
            items.push(self.store.outbox().tx_put(event)?);
        }
        self.write(items).await?;
        Ok((card, event))
    }

    /// The author takes a post back to drafts, while it has fewer than 10 comments.
    pub async fn unpublish(&self, id: &PostId, by: &MemberId, now_ms: i64) -> Result<(), PostError> {
        let card = self.card(id).await?.ok_or(PostError::NotFound)?;
        if !card.is_author(by) {
            return Err(PostError::NotAllowed);
        }
        match card.state {
            PostState::Draft => return Ok(()),
            PostState::Published => {}
            other => return Err(PostError::WrongState(other.as_str())),
        }
        if card.comment_count >= UNPUBLISH_MAX_COMMENTS {
            return Err(PostError::TooManyComments(card.comment_count));
        }
        let items = self.unlist_items(
            &card,
            PostState::Draft,
            &[],
            Some((
                "comment_count < :ten AND author_id = :me",
                values([(":ten", n(UNPUBLISH_MAX_COMMENTS)), (":me", s(by.as_str()))]),
            )),
            now_ms,
        )?;
        match self.store.transact(items).await {
            Ok(()) => Ok(()),
            Err(e) if e.failed_at(0) => {
                // A comment may have arrived: say which rule stopped it.
                let now = self.card(id).await?.ok_or(PostError::NotFound)?;
                if now.comment_count >= UNPUBLISH_MAX_COMMENTS {
                    Err(PostError::TooManyComments(now.comment_count))
                } else {
                    Err(PostError::Changed)
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A moderator pins a published post to the top of home until `until_ms`.
    pub async fn pin(&self, id: &PostId, by: Actor<'_>, until_ms: i64) -> Result<(), PostError> {
        if !by.moderator {
            return Err(PostError::NotAllowed);
        }
        let card = self.card(id).await?.ok_or(PostError::NotFound)?;
        if card.state != PostState::Published {
            return Err(PostError::WrongState(card.state.as_str()));
        }
        let pin = Pin {
            post_id: id.clone(),
            title: card.title.clone(),
            until: until_ms,
            expires_at: until_ms / 1000,
        };
        let items = vec![
            self.update(
                &Key::post_item(id, "POST"),
                "SET pinned_until = :u",
                "#state = :pub",
                &[("#state", "state")],
                values([(":u", n(until_ms)), (":pub", s("published"))]),
            )?,
            self.store.tx_put(&Key::pinned(id), &pin, None, None)?,
        ];
        self.write(items).await
    }

    /// The pinned posts (home reads the whole small partition); the TTL may
    /// lag, so the ones past `until` are left out here.
    pub async fn pinned(&self, now_ms: i64) -> Result<Vec<Pin>, StoreError> {
        let all: Vec<Pin> = self.store.query_partition(super::keys::PINNED).await?;
        Ok(all.into_iter().filter(|p| p.until > now_ms).collect())
    }

    /// A moderator closes (or reopens) a post's comments.
    pub async fn close(&self, id: &PostId, by: Actor<'_>, closed: bool) -> Result<(), PostError> {
        if !by.moderator {
            return Err(PostError::NotAllowed);
        }
        let card = self.card(id).await?.ok_or(PostError::NotFound)?;
        let vals = values([(":c", AttributeValue::Bool(closed))]);
        let mut post_vals = vals.clone();
        post_vals.insert(":s".into(), s(card.state.as_str()));
        let mut items = vec![self.update(
            &Key::post_item(id, "POST"),
            "SET closed = :c",
            "#state = :s",
            &[("#state", "state")],
            post_vals,
        )?];
        if card.state == PostState::Published {
            items.extend(self.update_copies(&card, "SET closed = :c", &[], &vals)?);
        }
        self.write(items).await
    }

    // --------------------------------------------------------------- votes

    /// The hot-score part of a vote's update on one listing item: an atomic
    /// `ADD` in the card's era, or a rebase into the current one.
    fn hot_change(card: &Card, activity: Activity, now_ms: i64) -> (Hot, bool) {
        let now_s = now_ms / 1000;
        let (era, term) = hot::term(activity, now_s);
        let current = card.score(now_ms);
        if current.era == era {
            (Hot { era, score: term }, false)
        } else {
            (current.apply(activity, now_s), true)
        }
    }

    /// The counter writes of a vote (`delta` = 1) or unvote (−1) on the card
    /// and every copy, conditioned as the caller says on the card.
    fn counter_items(
        &self,
        card: &Card,
        delta: i64,
        activity: Activity,
        card_condition: &str,
        mut card_vals: Item,
        now_ms: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let (hot, rebase) = Self::hot_change(card, activity, now_ms);
        let old_era = card.score(now_ms).era;
        let per_item = |lst: Option<String>| -> (String, Item) {
            let mut vals = values([(":d", n(delta))]);
            let update = match (lst, rebase) {
                (None, _) => "ADD upvotes :d".to_string(),
                (Some(_), false) => {
                    vals.insert(":h".into(), n(hot.score));
                    "ADD upvotes :d, hot :h".to_string()
                }
                (Some(lst), true) => {
                    vals.insert(":h".into(), n(hot.score));
                    vals.insert(":era".into(), n(hot.era));
                    vals.insert(":hpk".into(), s(hot_partition(&lst, hot.era)));
                    "SET hot = :h, hot_era = :era, hot_pk = :hpk ADD upvotes :d".to_string()
                }
            };
            (update, vals)
        };
        let (update, vals) = per_item(Some(Listing::All.name()));
        card_vals.extend(vals);
        card_vals.insert(":old_era".into(), n(old_era));
        let condition = format!("{card_condition} AND (hot_era = :old_era OR attribute_not_exists(hot_era))");
        let mut items = vec![self.update(
            &Key::post_item(&card.id, "POST"),
            &update,
            &condition,
            &[("#state", "state")],
            card_vals,
        )?];
        for (key, listing) in card.copies() {
            let (update, vals) = per_item(listing.map(|l| l.name()));
            items.push(self.update(&key, &update, "attribute_exists(pk)", &[], vals)?);
        }
        Ok(items)
    }

    /// The author's received upvotes and weekly tally (for the digest).
    fn author_items(&self, card: &Card, delta: i64, week_of_ms: i64) -> Result<Vec<TransactWriteItem>, StoreError> {
        Ok(vec![
            self.update(
                &Key::member(&card.author_id),
                "ADD received_upvotes :d",
                "attribute_exists(pk)",
                &[],
                values([(":d", n(delta))]),
            )?,
            self.update(
                &Key::member_week(&card.author_id, &iso_week(week_of_ms / 1000)),
                "ADD upvotes :d",
                "attribute_not_exists(pk) OR attribute_exists(pk)",
                &[],
                values([(":d", n(delta))]),
            )?,
        ])
    }

    /// One upvote by `voter`: once per member (by key), never on their own
    /// post. Exact under concurrency; a repeat is a no-op.
    pub async fn vote(&self, id: &PostId, voter: &MemberId, now_ms: i64) -> Result<VoteCount, PostError> {
        for attempt in 1..=ATTEMPTS {
            let (card, reader) = self.card_and_reader(id, voter).await?;
            let card = card
                .filter(|c| c.state == PostState::Published)
                .ok_or(PostError::NotFound)?;
            if card.is_author(voter) {
                return Err(PostError::OwnPost);
            }
            if reader.voted_at.is_some() {
                return Ok(VoteCount {
                    upvotes: card.upvotes,
                    voted: true,
                    changed: false,
                });
            }
            let mut items = vec![self.update(
                &Key::post_reader(id, voter),
                "SET voted_at = :now",
                "attribute_not_exists(voted_at)",
                &[],
                values([(":now", n(now_ms))]),
            )?];
            items.extend(self.counter_items(
                &card,
                1,
                Activity::Upvote,
                "#state = :pub AND author_id <> :me",
                values([(":pub", s("published")), (":me", s(voter.as_str()))]),
                now_ms,
            )?);
            items.extend(self.author_items(&card, 1, now_ms)?);
            match self.store.transact(items).await {
                Ok(()) => {
                    return Ok(VoteCount {
                        upvotes: card.upvotes + 1,
                        voted: true,
                        changed: true,
                    })
                }
                // Voted meanwhile (a concurrent try by the same member won).
                Err(e) if e.failed_at(0) => continue,
                // The era moved, the post changed state, or a concurrent vote won the race.
                Err(StoreError::Contended | StoreError::Cancelled { .. }) => {
                    backoff(attempt).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(PostError::Busy)
    }

    /// Retracts `voter`'s upvote, within 24 hours of it.
    pub async fn unvote(&self, id: &PostId, voter: &MemberId, now_ms: i64) -> Result<VoteCount, PostError> {
        for attempt in 1..=ATTEMPTS {
            let (card, reader) = self.card_and_reader(id, voter).await?;
            let card = card
                .filter(|c| c.state == PostState::Published)
                .ok_or(PostError::NotFound)?;
            let Some(voted_at) = reader.voted_at else {
                return Ok(VoteCount {
                    upvotes: card.upvotes,
                    voted: false,
                    changed: false,
                });
            };
            if voted_at <= now_ms - RETRACT_MS {
                return Err(PostError::RetractWindow);
            }
            let mut items = vec![self.update(
                &Key::post_reader(id, voter),
                "REMOVE voted_at",
                "voted_at = :v",
                &[],
                values([(":v", n(voted_at))]),
            )?];
            items.extend(self.counter_items(
                &card,
                -1,
                Activity::RetractUpvote {
                    voted_at: voted_at / 1000,
                },
                "#state = :pub",
                values([(":pub", s("published"))]),
                now_ms,
            )?);
            items.extend(self.author_items(&card, -1, voted_at)?);
            match self.store.transact(items).await {
                Ok(()) => {
                    return Ok(VoteCount {
                        upvotes: card.upvotes - 1,
                        voted: false,
                        changed: true,
                    })
                }
                Err(e) if e.failed_at(0) => continue,
                Err(StoreError::Contended | StoreError::Cancelled { .. }) => {
                    backoff(attempt).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(PostError::Busy)
    }

    // ----------------------------------------------------- bookmarks, RSVP

    /// Bookmarks (or un-bookmarks) a published post; repeating is a no-op.
    pub async fn bookmark(&self, id: &PostId, member: &MemberId, on: bool, now_ms: i64) -> Result<(), PostError> {
        let check = self.store.tx_check(
            &Key::post_item(id, "POST"),
            "#state = :pub",
            &[("#state", "state")],
            values([(":pub", s("published"))]),
        )?;
        let reader = if on {
            self.update(
                &Key::post_reader(id, member),
                "SET bookmarked_at = if_not_exists(bookmarked_at, :now), gsi1pk = :g, \
                 gsi1sk = if_not_exists(gsi1sk, :gs), post_id = :id",
                "attribute_not_exists(pk) OR attribute_exists(pk)",
                &[],
                values([
                    (":now", n(now_ms)),
                    (":g", s(bookmarks_of(member))),
                    (":gs", s(new_sort_key(now_ms, id))),
                    (":id", s(id.as_str())),
                ]),
            )?
        } else {
            self.update(
                &Key::post_reader(id, member),
                "REMOVE bookmarked_at, gsi1pk, gsi1sk",
                "attribute_not_exists(pk) OR attribute_exists(pk)",
                &[],
                Item::new(),
            )?
        };
        match self.store.transact(vec![check, reader]).await {
            Ok(()) => Ok(()),
            Err(e) if e.failed_at(0) => Err(PostError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// "Going" (or no longer) to an event; repeating either is a no-op.
    pub async fn rsvp(&self, id: &PostId, member: &Member, going: bool, now_ms: i64) -> Result<i64, PostError> {
        let card = self
            .card(id)
            .await?
            .filter(|c| c.state == PostState::Published)
            .ok_or(PostError::NotFound)?;
        if card.kind != PostKind::Event {
            return Err(PostError::NotEvent);
        }
        let key = Key::post_rsvp(id, &member.id);
        let post_cond = "kind = :event AND #state = :pub";
        let post_vals = |d: i64| values([(":event", s("event")), (":pub", s("published")), (":d", n(d))]);
        let items = if going {
            let rsvp = Rsvp {
                member_id: member.id.clone(),
                name: member.name().to_string(),
                at: now_ms,
            };
            vec![
                self.store.tx_put(&key, &rsvp, Some("attribute_not_exists(pk)"), None)?,
                self.update(
                    &Key::post_item(id, "POST"),
                    "ADD going :d",
                    post_cond,
                    &[("#state", "state")],
                    post_vals(1),
                )?,
                self.update(
                    &Key::post_reader(id, &member.id),
                    "SET rsvp_at = :now",
                    "attribute_not_exists(pk) OR attribute_exists(pk)",
                    &[],
                    values([(":now", n(now_ms))]),
                )?,
            ]
        } else {
            vec![
                self.store.tx_delete(&key, Some("attribute_exists(pk)"), None)?,
                self.update(
                    &Key::post_item(id, "POST"),
                    "ADD going :d",
                    post_cond,
                    &[("#state", "state")],
                    post_vals(-1),
                )?,
                self.update(
                    &Key::post_reader(id, &member.id),
                    "REMOVE rsvp_at",
                    "attribute_not_exists(pk) OR attribute_exists(pk)",
                    &[],
                    Item::new(),
                )?,
            ]
        };
        match self.store.transact(items).await {
            Ok(()) => Ok(card.going + if going { 1 } else { -1 }),
            // Already as asked: a no-op.
            Err(e) if e.failed_at(0) => Ok(card.going),
            Err(e) if e.failed_at(1) => Err(PostError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// The cards of `ids` that exist, for the reports queue and the like.
    pub async fn cards(&self, ids: &[PostId]) -> Result<HashMap<PostId, Card>, StoreError> {
        let reads = ids.iter().map(|id| self.card(id));
        let mut out = HashMap::new();
        for card in futures::future::join_all(reads).await {
            if let Some(c) = card? {
                out.insert(c.id.clone(), c);
            }
        }
        Ok(out)
    }

    /// Sets a card's `comment_count` (tests and seeding only).
    #[doc(hidden)]
    pub async fn seed_comment_count(&self, id: &PostId, count: i64) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::post_item(id, "POST"),
                "SET comment_count = :c",
                Some("attribute_exists(pk)"),
                &[],
                values([(":c", n(count))]),
                None,
            )
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests;
