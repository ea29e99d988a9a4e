//! Bulk writes of published posts, readers, pins and comments exactly as
//! docs/posts.md and `listing` describe them, for `make bench` (10,000 posts,
//! 100,000 comments) and for tests of the read side. `BatchWriteItem`, 25
//! items a call: no conditions, so never used by the request paths, which
//! write through their transactions.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use serde::Serialize;

use super::comments::{CommentRecord, CommentRef};
use super::keys::{self, Key};
use super::listing::{Listing, ListingAttrs};
use super::{to_item, Item, Store, StoreError};
use crate::domain::{CommentId, MemberId, PostId, PostKind, RoomSlug, Visibility};
use crate::feed::hot::{Activity, Hot};

impl Store {
    pub fn seed(&self) -> Seed<'_> {
        Seed { store: self }
    }
}

pub struct Seed<'a> {
    store: &'a Store,
}

/// A published post to write, with its counters.
#[derive(Clone, Debug)]
pub struct SeedPost {
    pub id: PostId,
    pub kind: PostKind,
    pub title: String,
    pub excerpt: String,
    pub author: MemberId,
    pub author_name: String,
    pub room: Option<RoomSlug>,
    pub visibility: Visibility,
    /// Publication, ms (also the id's time).
    pub published_at: i64,
    /// Last comment or publication, ms.
    pub activity: i64,
    pub upvotes: i64,
    pub comment_count: i64,
    pub comment_seq: i64,
    pub starts_at: Option<i64>,
}

impl SeedPost {
    pub fn new(author: MemberId, title: &str, published_at: i64) -> Self {
        Self {
            id: PostId::generate(published_at),
            kind: PostKind::Post,
            title: title.into(),
            excerpt: format!("{title}: the first lines of the post."),
            author,
            author_name: "Ann Member".into(),
            room: None,
            visibility: Visibility::Members,
            published_at,
            activity: published_at,
            upvotes: 0,
            comment_count: 0,
            comment_seq: 0,
            starts_at: None,
        }
    }

    /// The stored hot score: publication, then each upvote an hour later.
    fn hot(&self) -> Hot {
        let at = self.published_at.div_euclid(1000);
        (0..self.upvotes).fold(Hot::published(at), |h, _| h.apply(Activity::Upvote, at + 3600))
    }
}

/// The card's attributes, as the posts writer stores them.
#[derive(Serialize)]
struct CardItem<'a> {
    id: &'a PostId,
    kind: PostKind,
    title: &'a str,
    excerpt: &'a str,
    author_id: &'a MemberId,
    author_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<&'a RoomSlug>,
    visibility: Visibility,
    state: &'static str,
    comment_count: i64,
    comment_seq: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    starts_at: Option<i64>,
    created_at: i64,
    version: u64,
}

#[derive(Serialize)]
struct Reader {
    seen_seq: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    bookmarked_at: Option<i64>,
}

#[derive(Serialize)]
struct Pin {
    until: i64,
    /// TTL (seconds): DynamoDB drops the pin some time after it ends.
    expires_at: i64,
}

impl Seed<'_> {
    /// Every item of each post: its `POST` card (the `ALL` entry), the
    /// `LIST#…` copies, and for an event its calendar entry.
    pub async fn posts(&self, posts: &[SeedPost]) -> Result<(), StoreError> {
        let mut items = Vec::new();
        for p in posts {
            let card = CardItem {
                id: &p.id,
                kind: p.kind,
                title: &p.title,
                excerpt: &p.excerpt,
                author_id: &p.author,
                author_name: &p.author_name,
                room: p.room.as_ref(),
                visibility: p.visibility,
                state: "published",
                comment_count: p.comment_count,
                comment_seq: p.comment_seq,
                starts_at: p.starts_at,
                created_at: p.published_at,
                version: 1,
            };
            let hot = p.hot();
            for listing in Listing::of(p.kind, p.room.as_ref(), p.visibility, &p.author) {
                let attrs = ListingAttrs::new(&listing, &p.id, p.published_at, p.activity, hot, p.upvotes);
                let mut item = to_item(&Key::post_item(&p.id, listing.sort_key()), &card)?;
                item.extend(serde_dynamo::to_item::<_, Item>(&attrs).map_err(|e| StoreError::Corrupt(e.to_string()))?);
                items.push(item);
            }
            if let (PostKind::Event, Some(starts)) = (p.kind, p.starts_at) {
                let key = Key::post_item(&p.id, "LIST#EVENTS")
                    .with_gsi1(keys::EVENTS.into(), format!("{starts:013}#{}", p.id));
                items.push(to_item(&key, &card)?);
            }
        }
        self.write(items).await
    }

    /// A member's state on a post; bookmarked when `bookmarked_at` is set.
    pub async fn reader(
        &self,
        post: &PostId,
        member: &MemberId,
        seen_seq: i64,
        bookmarked_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let mut key = Key::post_reader(post, member);
        if let Some(at) = bookmarked_at {
            key = key.with_gsi1(keys::bookmarks_of(member), format!("{at:013}#{post}"));
        }
        self.write(vec![to_item(
            &key,
            &Reader {
                seen_seq,
                bookmarked_at,
            },
        )?])
        .await
    }

    /// Pins a post to the top of home until `until_ms`.
    pub async fn pin(&self, post: &PostId, until_ms: i64) -> Result<(), StoreError> {
        let pin = Pin {
            until: until_ms,
            expires_at: until_ms.div_euclid(1000) + 86_400,
        };
        self.write(vec![to_item(&Key::pinned(post), &pin)?]).await
    }

    /// `count` top-level comments and their locators on one post, a minute
    /// apart from `from_ms`, as the comment store writes them (its own types
    /// and keys, so the thread reads them back). (The post's counters are the
    /// caller's `SeedPost`.)
    pub async fn comments(&self, post: &PostId, count: usize, from_ms: i64) -> Result<(), StoreError> {
        let author = MemberId::generate();
        let body = "A comment of a few words, as most are.";
        let html = "<p>A comment of a few words, as most are.</p>";
        let mut items = Vec::with_capacity(count * 2);
        for i in 0..count {
            let at = from_ms + i as i64 * 60_000;
            let id = CommentId::generate(at);
            let path = id.to_string();
            let upvotes = (i % 7) as i64;
            let comment = CommentRecord {
                id: id.clone(),
                post_id: post.clone(),
                path: path.clone(),
                parent_id: None,
                reply_to: None,
                reply_to_name: None,
                parent_author: None,
                depth: 1,
                seq: i as i64 + 1,
                author_id: author.clone(),
                author_name: "Bob Member".into(),
                body: body.into(),
                html: html.into(),
                mentions: vec![],
                upvotes,
                pinned: false,
                deleted: false,
                deleted_by: None,
                hidden_reason: None,
                edited_at: None,
                created_at: at,
            };
            items.push(to_item(&Key::comment(post, &path), &comment)?);
            let locator = CommentRef {
                id: id.clone(),
                post_id: post.clone(),
                path,
                depth: 1,
                author_id: author.clone(),
                upvotes,
                created_at: at,
                deleted: false,
            };
            items.push(to_item(&Key::comment_ref(&id, at), &locator)?);
        }
        self.write(items).await
    }

    /// `BatchWriteItem` in chunks of 25, a few chunks at once, retrying
    /// unprocessed items.
    async fn write(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let chunks: Vec<Vec<Item>> = items.chunks(25).map(<[Item]>::to_vec).collect();
        for group in chunks.chunks(8) {
            futures::future::try_join_all(group.iter().cloned().map(|c| self.write_chunk(c))).await?;
        }
        Ok(())
    }

    async fn write_chunk(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let mut pending: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(|e| StoreError::Backend(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        for attempt in 0..10u32 {
            if pending.is_empty() {
                return Ok(());
            }
            if attempt > 0 {
                super::backoff(attempt).await;
            }
            let out = self
                .store
                .client()
                .batch_write_item()
                .request_items(self.store.table(), std::mem::take(&mut pending))
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            if let Some(mut left) = out.unprocessed_items {
                pending = left.remove(self.store.table()).unwrap_or_default();
            }
        }
        Err(StoreError::Backend("BatchWriteItem kept items unprocessed".into()))
    }
}
