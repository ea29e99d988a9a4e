//! The feed's reads (docs/posts.md, "The orderings", "Cursors", "Feed"):
//! one page of cards for any ordering on any listing, the viewer's state on
//! them, bookmarks, pinned posts and upcoming events. Writers keep the
//! listing items; this only reads what `listing` says they carry.
//!
//! Round trips: a page is one round of `Query`s (1 to 13 in parallel), then
//! one `BatchGetItem` of the viewer's `READER#` items (home adds the pinned
//! cards to that batch, and its pinned and events queries to the first round).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize};

use super::keys::{self, Key};
use super::listing::Listing;
use super::{from_item, n, s, Item, Store, StoreError};
use crate::domain::{FieldError, MemberId, PostId, PostKind, RoomSlug, Visibility};
use crate::feed::hot::{era_of, Hot};
use crate::feed::order::{FeedOrder, TopPeriod};

/// Cards on one page.
pub const PAGE: usize = 30;

/// How far ahead home lists events.
pub const EVENTS_AHEAD_MS: i64 = 14 * 86_400_000;

impl Store {
    pub fn feed(&self) -> Feed<'_> {
        Feed { store: self }
    }
}

pub struct Feed<'a> {
    store: &'a Store,
}

/// A post as a listing item shows it (the `POST` card or a `LIST#…` copy).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Card {
    #[serde(rename = "pk", deserialize_with = "post_id_of_partition")]
    pub id: PostId,
    pub kind: PostKind,
    pub title: String,
    pub author_id: MemberId,
    #[serde(default)]
    pub author_name: String,
    #[serde(default)]
    pub room: Option<RoomSlug>,
    #[serde(default)]
    pub visibility: Visibility,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub upvotes: i64,
    #[serde(default)]
    pub comment_count: i64,
    #[serde(default)]
    pub comment_seq: i64,
    #[serde(default)]
    pub excerpt: Option<String>,
    #[serde(default)]
    pub link_url: Option<String>,
    #[serde(default)]
    pub link_host: Option<String>,
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub ends_at: Option<i64>,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub published_at: Option<i64>,
    #[serde(default)]
    pub activity: Option<i64>,
    #[serde(default)]
    pub hot: Option<f64>,
    #[serde(default)]
    pub hot_era: Option<i64>,
}

fn post_id_of_partition<'de, D: Deserializer<'de>>(d: D) -> Result<PostId, D::Error> {
    let pk = String::deserialize(d)?;
    pk.strip_prefix("POST#")
        .and_then(|id| PostId::parse(id).ok())
        .ok_or_else(|| serde::de::Error::custom(format!("{pk} is not a post's partition")))
}

impl Card {
    /// Only published posts are shown (a bookmark or a pin may outlive one).
    pub fn is_published(&self) -> bool {
        self.state.as_deref().is_none_or(|s| s == "published")
    }
}

/// One viewer's state on one post (`POST#<id>` / `READER#<viewer>`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ReaderState {
    #[serde(default)]
    pub seen_seq: i64,
    #[serde(default)]
    pub voted_at: Option<i64>,
    #[serde(default)]
    pub bookmarked_at: Option<i64>,
    #[serde(default)]
    pub last_visit: Option<i64>,
}

/// A card with what the viewer needs on it.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewerCard {
    pub card: Card,
    pub reader: ReaderState,
}

impl ViewerCard {
    /// Comments since the viewer last opened the post (all of them if never).
    pub fn new_comments(&self) -> i64 {
        (self.card.comment_seq - self.reader.seen_seq).max(0)
    }
}

/// What a viewer left out of their feed (from their profile).
#[derive(Clone, Debug, Default)]
pub struct Mutes {
    pub rooms: Vec<RoomSlug>,
    pub members: Vec<MemberId>,
}

impl Mutes {
    pub fn of(member: &crate::domain::Member) -> Self {
        Self {
            rooms: member.muted_rooms.iter().cloned().collect(),
            members: member.muted_members.iter().cloned().collect(),
        }
    }
    fn len(&self) -> usize {
        self.rooms.len() + self.members.len()
    }
    /// The same rule the filter expression applies, for lists read without it.
    pub fn hides(&self, card: &Card) -> bool {
        card.room.as_ref().is_some_and(|r| self.rooms.contains(r)) || self.members.contains(&card.author_id)
    }
}

/// One page of a listing.
#[derive(Clone, Debug)]
pub struct Page {
    pub cards: Vec<ViewerCard>,
    /// The opaque cursor of the next page; `None` at the end.
    pub next: Option<String>,
}

/// Home: the feed page with pinned posts and the next 14 days' events.
#[derive(Clone, Debug)]
pub struct Home {
    pub page: Page,
    pub pinned: Vec<ViewerCard>,
    pub events: Vec<ViewerCard>,
}

// ---------------------------------------------------------------- cursors

/// Where a query resumes: the table key and the index's range value of the
/// last item shown, as stored (numbers keep their exact text).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Position {
    pk: String,
    sk: String,
    r: String,
}

/// One partition of a merged ordering and how far it was read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Bucket {
    /// The index partition, e.g. `ALL#2026-W49`.
    p: String,
    /// `None`: from the top.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<Position>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    done: bool,
}

/// A decoded cursor: URL-safe base64 of this JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The listing's name.
    l: String,
    /// The ordering (`activity`, `new`, `hot`, `top-week`, …, `bookmarks`).
    o: String,
    b: Vec<Bucket>,
}

fn bad_cursor() -> FieldError {
    FieldError::new(
        "cursor",
        "is not a cursor of this feed (start again from the first page)",
    )
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("cursors serialise"))
    }

    /// A cursor from `?cursor=`, for this listing and ordering only. Its
    /// positions become a query's `ExclusiveStartKey`, so each must be a key
    /// DynamoDB accepts for `spec`'s index: a forged one is this 400, not a
    /// `ValidationException` from AWS.
    fn decode(raw: &str, lst: &str, order: &str, spec: IndexSpec) -> Result<Self, FieldError> {
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad_cursor())?;
        let c: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
        let prefix = format!("{lst}#");
        let partitions_fit = !c.b.is_empty()
            && c.b.len() <= 13
            && c.b.iter().all(|b| {
                (b.p == lst || b.p.starts_with(&prefix) || order == "bookmarks")
                    && b.at.as_ref().is_none_or(|at| at.is_key_of(spec))
            });
        if c.l != lst || c.o != order || !partitions_fit {
            return Err(bad_cursor());
        }
        Ok(c)
    }
}

/// DynamoDB's bounds on key attributes: a partition key of 1–2,048 bytes, a
/// sort key of 1–1,024.
const MAX_PARTITION_KEY: usize = 2048;
const MAX_SORT_KEY: usize = 1024;

impl Position {
    fn is_key_of(&self, spec: IndexSpec) -> bool {
        let range = if spec.numeric {
            is_plain_number(&self.r)
        } else {
            (1..=MAX_SORT_KEY).contains(&self.r.len())
        };
        (1..=MAX_PARTITION_KEY).contains(&self.pk.len()) && (1..=MAX_SORT_KEY).contains(&self.sk.len()) && range
    }
}

/// A number as Lodge writes them (`n()` of an integer or an `f64`): digits,
/// an optional fraction, at most 38 digits (the precision DynamoDB keeps).
fn is_plain_number(r: &str) -> bool {
    let unsigned = r.strip_prefix('-').unwrap_or(r);
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits) && int.trim_start_matches('0').len() + frac.map_or(0, str::len) <= 38
}

/// The fuzz target's body (`fuzz/fuzz_targets/post_form.rs`): any text as
/// `?cursor=` of any feed. A cursor that decodes holds only keys DynamoDB
/// accepts, and encodes back to one that decodes the same.
pub fn fuzz_cursor(raw: &str) {
    let check = |lst: &str, order: &str, spec: IndexSpec| {
        let Ok(c) = Cursor::decode(raw, lst, order, spec) else {
            return;
        };
        assert!(c.b.iter().flat_map(|b| &b.at).all(|at| at.is_key_of(spec)));
        assert_eq!(Cursor::decode(&c.encode(), lst, order, spec).as_ref(), Ok(&c));
    };
    let all = Listing::All.name();
    for order in [
        FeedOrder::Activity,
        FeedOrder::New,
        FeedOrder::Hot,
        FeedOrder::Top(TopPeriod::Week),
        FeedOrder::Top(TopPeriod::All),
    ] {
        check(&all, order_name(order), spec(order));
    }
    let member = MemberId::parse("0123456789abcdef0123456789abcdef").expect("a valid id");
    check(&keys::bookmarks_of(&member), "bookmarks", NEW);
}

// ---------------------------------------------------------------- orderings

/// The index an ordering reads, its key attributes and whether its range
/// is a number.
#[derive(Clone, Copy, Debug)]
struct IndexSpec {
    index: &'static str,
    hash: &'static str,
    range: &'static str,
    numeric: bool,
}

const NEW: IndexSpec = IndexSpec {
    index: "gsi1",
    hash: "gsi1pk",
    range: "gsi1sk",
    numeric: false,
};

fn spec(order: FeedOrder) -> IndexSpec {
    let (index, hash, range) = match order {
        FeedOrder::New => return NEW,
        FeedOrder::Activity => ("activity", "lst", "activity"),
        FeedOrder::Hot => ("hot", "hot_pk", "hot"),
        FeedOrder::Top(TopPeriod::All) => ("top", "lst", "upvotes"),
        FeedOrder::Top(TopPeriod::Week) => ("topweek", "top_w", "upvotes"),
        FeedOrder::Top(_) => ("topmonth", "top_m", "upvotes"),
    };
    IndexSpec {
        index,
        hash,
        range,
        numeric: true,
    }
}

/// The ordering's name inside cursors.
fn order_name(order: FeedOrder) -> &'static str {
    match order {
        FeedOrder::Activity => "activity",
        FeedOrder::New => "new",
        FeedOrder::Hot => "hot",
        FeedOrder::Top(TopPeriod::Week) => "top-week",
        FeedOrder::Top(TopPeriod::Month) => "top-month",
        FeedOrder::Top(TopPeriod::Year) => "top-year",
        FeedOrder::Top(TopPeriod::All) => "top-all",
    }
}

/// The partitions a first page reads, newest first.
fn partitions(lst: &str, order: FeedOrder, now_ms: i64) -> Vec<String> {
    let now_s = now_ms.div_euclid(1000);
    match order {
        FeedOrder::Hot => {
            let era = era_of(now_s);
            vec![
                super::listing::hot_partition(lst, era),
                super::listing::hot_partition(lst, era - 1),
            ]
        }
        FeedOrder::Top(period) if period != TopPeriod::All => period
            .buckets(now_s)
            .into_iter()
            .map(|b| format!("{lst}#{b}"))
            .collect(),
        _ => vec![lst.to_string()],
    }
}

/// What merged buckets are compared by: one number that orders the page.
fn rank(card: &Card, order: FeedOrder, era: i64) -> f64 {
    match order {
        FeedOrder::Hot => Hot {
            era: card.hot_era.unwrap_or(era),
            score: card.hot.unwrap_or(0.0),
        }
        .rank_at(era),
        _ => card.upvotes as f64,
    }
}

/// The filter every feed query carries: muted rooms and members, and for
/// rolling top periods the start of the window.
struct Filter {
    expression: Option<String>,
    names: HashMap<String, String>,
    values: Item,
    /// How many more items to ask for, so filtering rarely leaves a page short.
    extra: usize,
}

impl Filter {
    fn new(mutes: &Mutes, since_ms: Option<i64>) -> Self {
        let mut parts = Vec::new();
        let mut names = HashMap::new();
        let mut values = Item::new();
        if !mutes.rooms.is_empty() {
            let vals: Vec<String> = (0..mutes.rooms.len()).map(|i| format!(":mr{i}")).collect();
            for (v, room) in vals.iter().zip(&mutes.rooms) {
                values.insert(v.clone(), s(room.as_str()));
            }
            names.insert("#room".into(), "room".into());
            parts.push(format!("NOT (#room IN ({}))", vals.join(", ")));
        }
        if !mutes.members.is_empty() {
            let vals: Vec<String> = (0..mutes.members.len()).map(|i| format!(":mm{i}")).collect();
            for (v, m) in vals.iter().zip(&mutes.members) {
                values.insert(v.clone(), s(m.as_str()));
            }
            names.insert("#author".into(), "author_id".into());
            parts.push(format!("NOT (#author IN ({}))", vals.join(", ")));
        }
        if let Some(since) = since_ms {
            names.insert("#published".into(), "published_at".into());
            values.insert(":since".into(), n(since));
            parts.push("#published >= :since".into());
        }
        Self {
            expression: (!parts.is_empty()).then(|| parts.join(" AND ")),
            names,
            values,
            extra: mutes.len(),
        }
    }
}

/// What one bucket's query returned.
struct Read {
    items: Vec<(Item, Position)>,
    /// Where DynamoDB stopped, if it has more.
    last: Option<Position>,
}

fn attr_text(item: &Item, name: &str) -> Option<String> {
    match item.get(name)? {
        AttributeValue::S(v) | AttributeValue::N(v) => Some(v.clone()),
        _ => None,
    }
}

fn position_of(item: &Item, spec: IndexSpec) -> Result<Position, StoreError> {
    let get =
        |name: &str| attr_text(item, name).ok_or_else(|| StoreError::Corrupt(format!("listing item without {name}")));
    Ok(Position {
        pk: get("pk")?,
        sk: get("sk")?,
        r: get(spec.range)?,
    })
}

impl Feed<'_> {
    /// One `Query` of one index partition, newest (or highest) first.
    async fn read(
        &self,
        spec: IndexSpec,
        partition: &str,
        at: Option<&Position>,
        limit: usize,
        filter: &Filter,
    ) -> Result<Read, StoreError> {
        let mut names = filter.names.clone();
        names.insert("#h".into(), spec.hash.into());
        let mut values = filter.values.clone();
        values.insert(":h".into(), s(partition));
        let start = at.map(|p| {
            let range = if spec.numeric { n(&p.r) } else { s(&p.r) };
            Item::from([
                ("pk".to_string(), s(&p.pk)),
                ("sk".to_string(), s(&p.sk)),
                (spec.hash.to_string(), s(partition)),
                (spec.range.to_string(), range),
            ])
        });
        let out = self
            .store
            .client()
            .query()
            .table_name(self.store.table())
            .index_name(spec.index)
            .key_condition_expression("#h = :h")
            .set_filter_expression(filter.expression.clone())
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(false)
            .limit(limit as i32)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let last = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => Some(position_of(&k, spec)?),
            _ => None,
        };
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| position_of(&item, spec).map(|p| (item, p)))
            .collect::<Result<_, _>>()?;
        Ok(Read { items, last })
    }

    /// The cards of one page and the cursor after it, without the viewer's
    /// state: one round of parallel queries.
    async fn cards(
        &self,
        listing: &Listing,
        order: FeedOrder,
        mutes: &Mutes,
        cursor: Option<&str>,
        now_ms: i64,
    ) -> Result<Result<(Vec<Card>, Option<String>), FieldError>, StoreError> {
        let lst = listing.name();
        let name = order_name(order);
        let mut buckets = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            Some(raw) => match Cursor::decode(raw, &lst, name, spec(order)) {
                Ok(c) => c.b,
                Err(e) => return Ok(Err(e)),
            },
            None => partitions(&lst, order, now_ms)
                .into_iter()
                .map(|p| Bucket {
                    p,
                    at: None,
                    done: false,
                })
                .collect(),
        };
        let since = match order {
            FeedOrder::Top(period) => period.window().map(|w| now_ms - w * 1000),
            _ => None,
        };
        let filter = Filter::new(mutes, since);
        let spec = spec(order);
        let limit = PAGE + filter.extra;
        let filter = &filter;
        let reads = futures::future::try_join_all(buckets.iter().map(|b| async move {
            if b.done {
                return Ok(Read {
                    items: Vec::new(),
                    last: None,
                });
            }
            self.read(spec, &b.p, b.at.as_ref(), limit, filter).await
        }))
        .await?;
        let mut parsed: Vec<Vec<(Card, Position)>> = Vec::with_capacity(reads.len());
        for read in &reads {
            let mut cards = Vec::with_capacity(read.items.len());
            for (item, pos) in &read.items {
                cards.push((from_item::<Card>(item.clone())?, pos.clone()));
            }
            parsed.push(cards);
        }
        let era = era_of(now_ms.div_euclid(1000));
        // A k-way merge that keeps what it takes from each bucket a prefix of
        // that bucket's answer, so each bucket resumes after its last card.
        let mut taken = vec![0usize; parsed.len()];
        let mut page = Vec::new();
        while page.len() < PAGE {
            // A bucket that ran out of read cards but has more stored could
            // hold cards ranked above every other bucket's next one: stop.
            if parsed
                .iter()
                .zip(&reads)
                .enumerate()
                .any(|(i, (cards, read))| taken[i] == cards.len() && read.last.is_some())
                && parsed.len() > 1
            {
                break;
            }
            let best = (0..parsed.len())
                .filter(|&i| taken[i] < parsed[i].len())
                .max_by(|&a, &b| {
                    let (ra, rb) = (
                        rank(&parsed[a][taken[a]].0, order, era),
                        rank(&parsed[b][taken[b]].0, order, era),
                    );
                    // Ties go to the earlier (newer) bucket: max_by keeps the last maximum.
                    ra.total_cmp(&rb).then(b.cmp(&a))
                });
            let Some(i) = best else { break };
            page.push(parsed[i][taken[i]].0.clone());
            taken[i] += 1;
        }
        for (i, bucket) in buckets.iter_mut().enumerate() {
            if bucket.done {
                continue;
            }
            if taken[i] == parsed[i].len() {
                // Everything read is shown: resume where DynamoDB stopped
                // (past only filtered-out items), or the bucket is finished.
                match &reads[i].last {
                    Some(last) => bucket.at = Some(last.clone()),
                    None => bucket.done = true,
                }
            } else if taken[i] > 0 {
                bucket.at = Some(parsed[i][taken[i] - 1].1.clone());
            }
        }
        let next = buckets.iter().any(|b| !b.done).then(|| {
            Cursor {
                l: lst,
                o: name.into(),
                b: buckets,
            }
            .encode()
        });
        Ok(Ok((page, next)))
    }

    /// One page of `listing` in `order` for `viewer`, muted rooms and
    /// members left out; `Err(FieldError)` names a bad `cursor`.
    pub async fn page(
        &self,
        listing: &Listing,
        order: FeedOrder,
        viewer: Option<&MemberId>,
        mutes: &Mutes,
        cursor: Option<&str>,
        now_ms: i64,
    ) -> Result<Result<Page, FieldError>, StoreError> {
        let (cards, next) = match self.cards(listing, order, mutes, cursor, now_ms).await? {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let cards = self.with_readers(cards, viewer).await?;
        Ok(Ok(Page { cards, next }))
    }

    /// Home: the page, the pinned posts and the next 14 days' events. The
    /// three reads run together; the viewer's state on all of them and the
    /// pinned cards come in one `BatchGetItem` after.
    pub async fn home(
        &self,
        order: FeedOrder,
        viewer: &MemberId,
        mutes: &Mutes,
        cursor: Option<&str>,
        now_ms: i64,
    ) -> Result<Result<Home, FieldError>, StoreError> {
        let first_page = cursor.is_none_or(|c| c.trim().is_empty());
        let (found, pins, events) = tokio::join!(
            self.cards(&Listing::All, order, mutes, cursor, now_ms),
            async {
                if first_page {
                    self.pins(now_ms).await
                } else {
                    Ok(Vec::new())
                }
            },
            async {
                if first_page {
                    self.events(now_ms).await
                } else {
                    Ok(Vec::new())
                }
            },
        );
        let (cards, next) = match found? {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let pins = pins?;
        let events: Vec<Card> = events?.into_iter().filter(|c| !mutes.hides(c)).collect();
        let mut keys: Vec<Key> = pins.iter().map(|id| Key::post_item(id, "POST")).collect();
        let everything: Vec<&PostId> = cards.iter().chain(&events).map(|c| &c.id).chain(&pins).collect();
        keys.extend(everything.iter().map(|id| Key::post_reader(id, viewer)));
        let found = self.store.batch_get(keys, false).await?;
        let mut readers: HashMap<String, ReaderState> = HashMap::new();
        let mut pinned_cards: HashMap<String, Card> = HashMap::new();
        for item in found {
            let sk = attr_text(&item, "sk").unwrap_or_default();
            let pk = attr_text(&item, "pk").unwrap_or_default();
            if sk == "POST" {
                let card: Card = from_item(item)?;
                pinned_cards.insert(pk, card);
            } else {
                readers.insert(pk, from_item(item)?);
            }
        }
        let attach = |card: Card| {
            let reader = readers.get(&format!("POST#{}", card.id)).cloned().unwrap_or_default();
            ViewerCard { card, reader }
        };
        let pinned = pins
            .iter()
            .filter_map(|id| pinned_cards.remove(&format!("POST#{id}")))
            .filter(Card::is_published)
            .map(attach)
            .collect();
        Ok(Ok(Home {
            page: Page {
                cards: cards.into_iter().map(attach).collect(),
                next,
            },
            pinned,
            events: events.into_iter().map(attach).collect(),
        }))
    }

    /// Pinned posts whose `until` has not passed (the `PINNED` partition is
    /// small: moderators pin a few posts).
    async fn pins(&self, now_ms: i64) -> Result<Vec<PostId>, StoreError> {
        #[derive(Deserialize)]
        struct Pin {
            sk: String,
            #[serde(default)]
            until: Option<i64>,
        }
        let pins: Vec<Pin> = self.store.query_partition(keys::PINNED).await?;
        Ok(pins
            .into_iter()
            .filter(|p| p.until.is_none_or(|u| u > now_ms))
            .filter_map(|p| PostId::parse(&p.sk).ok())
            .collect())
    }

    /// Events starting between now and 14 days ahead, soonest first.
    async fn events(&self, now_ms: i64) -> Result<Vec<Card>, StoreError> {
        let out = self
            .store
            .client()
            .query()
            .table_name(self.store.table())
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :p AND gsi1sk BETWEEN :from AND :to")
            .expression_attribute_values(":p", s(keys::EVENTS))
            .expression_attribute_values(":from", s(format!("{now_ms:013}")))
            .expression_attribute_values(":to", s(format!("{:013}~", now_ms + EVENTS_AHEAD_MS)))
            .limit(PAGE as i32)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let mut cards = Vec::new();
        for item in out.items.unwrap_or_default() {
            let card: Card = from_item(item)?;
            if card.is_published() {
                cards.push(card);
            }
        }
        Ok(cards)
    }

    /// The viewer's `READER#` items on `cards`, in one `BatchGetItem`.
    async fn with_readers(&self, cards: Vec<Card>, viewer: Option<&MemberId>) -> Result<Vec<ViewerCard>, StoreError> {
        let Some(viewer) = viewer else {
            return Ok(cards
                .into_iter()
                .map(|card| ViewerCard {
                    card,
                    reader: ReaderState::default(),
                })
                .collect());
        };
        let keys = cards.iter().map(|c| Key::post_reader(&c.id, viewer)).collect();
        let mut readers: HashMap<String, ReaderState> = HashMap::new();
        for item in self.store.batch_get(keys, false).await? {
            let pk = attr_text(&item, "pk").unwrap_or_default();
            readers.insert(pk, from_item(item)?);
        }
        Ok(cards
            .into_iter()
            .map(|card| {
                let reader = readers.remove(&format!("POST#{}", card.id)).unwrap_or_default();
                ViewerCard { card, reader }
            })
            .collect())
    }

    /// A member's bookmarks, newest first, a page at a time: the `READER#`
    /// items by `gsi1`, then one `BatchGetItem` of their cards.
    pub async fn bookmarks(
        &self,
        member: &MemberId,
        cursor: Option<&str>,
    ) -> Result<Result<Page, FieldError>, StoreError> {
        let partition = keys::bookmarks_of(member);
        let mut bucket = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            Some(raw) => match Cursor::decode(raw, &partition, "bookmarks", NEW) {
                Ok(c) if c.b.len() == 1 && c.b[0].p == partition => c.b.into_iter().next().expect("one bucket"),
                _ => return Ok(Err(bad_cursor())),
            },
            None => Bucket {
                p: partition.clone(),
                at: None,
                done: false,
            },
        };
        if bucket.done {
            return Ok(Ok(Page {
                cards: Vec::new(),
                next: None,
            }));
        }
        let read = self
            .read(
                NEW,
                &partition,
                bucket.at.as_ref(),
                PAGE,
                &Filter::new(&Mutes::default(), None),
            )
            .await?;
        match (&read.last, read.items.last()) {
            (Some(_), Some((_, pos))) => bucket.at = Some(pos.clone()),
            (Some(last), None) => bucket.at = Some(last.clone()),
            (None, _) => bucket.done = true,
        }
        let mut readers = Vec::new();
        for (item, _) in read.items {
            let pk = attr_text(&item, "pk").unwrap_or_default();
            readers.push((pk, from_item::<ReaderState>(item)?));
        }
        let keys = readers
            .iter()
            .filter_map(|(pk, _)| pk.strip_prefix("POST#").and_then(|id| PostId::parse(id).ok()))
            .map(|id| Key::post_item(&id, "POST"))
            .collect();
        let mut cards: HashMap<String, Card> = HashMap::new();
        for item in self.store.batch_get(keys, false).await? {
            let card: Card = from_item(item)?;
            cards.insert(format!("POST#{}", card.id), card);
        }
        let cards = readers
            .into_iter()
            .filter_map(|(pk, reader)| {
                let card = cards.remove(&pk)?;
                card.is_published().then_some(ViewerCard { card, reader })
            })
            .collect();
        let next = (!bucket.done).then(|| {
            Cursor {
                l: partition,
                o: "bookmarks".into(),
                b: vec![bucket],
            }
            .encode()
        });
        Ok(Ok(Page { cards, next }))
    }

    /// Sets the member's private feed token (its SHA-256): the one before
    /// stops working at once.
    pub async fn set_token(&self, member: &MemberId, token_hash: &str, now: i64) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::member(member),
                "SET feed_token_hash = :h, feed_token_at = :now",
                Some("attribute_exists(pk)"),
                &[],
                super::values([(":h", s(token_hash)), (":now", n(now))]),
                None,
            )
            .await
            .map(|_| ())
    }

    pub async fn revoke_token(&self, member: &MemberId) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::member(member),
                "REMOVE feed_token_hash, feed_token_at",
                Some("attribute_exists(pk)"),
                &[],
                Item::new(),
                None,
            )
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::seed::SeedPost;
    use crate::store::testing;

    const HOUR: i64 = 3_600_000;
    // 2026-12-02T00:00:00Z, a Wednesday.
    const NOW: i64 = 1_796_169_600_000;

    fn post(at: i64) -> SeedPost {
        SeedPost::new(MemberId::generate(), "A post", at)
    }

    async fn all(feed: &Feed<'_>, listing: &Listing, order: FeedOrder, mutes: &Mutes, now: i64) -> Vec<Card> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..100 {
            let page = feed
                .page(listing, order, None, mutes, cursor.as_deref(), now)
                .await
                .unwrap()
                .unwrap();
            out.extend(page.cards.into_iter().map(|c| c.card));
            match page.next {
                Some(next) => cursor = Some(next),
                None => return out,
            }
        }
        panic!("paging did not end");
    }

    #[tokio::test]
    async fn every_ordering_pages_in_order_without_duplicates_or_gaps() {
        let store = testing::store().await;
        let mut posts = Vec::new();
        for i in 0..75i64 {
            let mut p = post(NOW - (i + 1) * 3 * HOUR);
            p.upvotes = (i * 7) % 11; // many equal counts: exact paging by table key
            p.activity = NOW - ((i * 13) % 75) * HOUR;
            posts.push(p);
        }
        store.seed().posts(&posts).await.unwrap();
        let feed = store.feed();
        let none = Mutes::default();
        for order in [
            FeedOrder::New,
            FeedOrder::Activity,
            FeedOrder::Hot,
            FeedOrder::Top(TopPeriod::All),
            FeedOrder::Top(TopPeriod::Year),
        ] {
            let cards = all(&feed, &Listing::All, order, &none, NOW).await;
            assert_eq!(cards.len(), 75, "{order:?}");
            let mut ids: Vec<_> = cards.iter().map(|c| c.id.clone()).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), 75, "{order:?} repeated a post");
            let key = |c: &Card| match order {
                FeedOrder::New => c.published_at.unwrap() as f64,
                FeedOrder::Activity => c.activity.unwrap() as f64,
                _ => rank(c, order, era_of(NOW / 1000)),
            };
            assert!(
                cards.windows(2).all(|w| key(&w[0]) >= key(&w[1])),
                "{order:?} out of order"
            );
        }
        // 75 posts over 9 days: the week holds those of the last 7 days.
        let week = all(&feed, &Listing::All, FeedOrder::Top(TopPeriod::Week), &none, NOW).await;
        assert_eq!(week.len(), 56);
        assert!(week.windows(2).all(|w| w[0].upvotes >= w[1].upvotes));
    }

    #[tokio::test]
    async fn mutes_filters_and_cursors() {
        let store = testing::store().await;
        let travel = RoomSlug::parse("travel").unwrap();
        let loud = MemberId::generate();
        let mut posts = Vec::new();
        for i in 0..40i64 {
            let mut p = post(NOW - i * HOUR);
            if i % 4 == 0 {
                p.room = Some(travel.clone());
            }
            if i % 5 == 0 {
                p.author = loud.clone();
            }
            if i % 3 == 0 {
                p.kind = PostKind::Question;
            }
            posts.push(p);
        }
        store.seed().posts(&posts).await.unwrap();
        let feed = store.feed();
        let mutes = Mutes {
            rooms: vec![travel.clone()],
            members: vec![loud.clone()],
        };
        let shown = all(&feed, &Listing::All, FeedOrder::Activity, &mutes, NOW).await;
        let expected = (0..40).filter(|i| i % 4 != 0 && i % 5 != 0).count();
        assert_eq!(shown.len(), expected);
        assert!(shown.iter().all(|c| !mutes.hides(c)));
        let room = all(&feed, &Listing::Room(travel), FeedOrder::New, &Mutes::default(), NOW).await;
        assert_eq!(room.len(), 10);
        let questions = all(
            &feed,
            &Listing::Type(PostKind::Question),
            FeedOrder::New,
            &Mutes::default(),
            NOW,
        )
        .await;
        assert_eq!(questions.len(), 14);
        assert!(questions.iter().all(|c| c.kind == PostKind::Question));

        // A cursor belongs to its listing and ordering.
        let first = feed
            .page(&Listing::All, FeedOrder::New, None, &Mutes::default(), None, NOW)
            .await
            .unwrap()
            .unwrap();
        let cursor = first.next.unwrap();
        for (listing, order, raw) in [
            (Listing::Public, FeedOrder::New, cursor.as_str()),
            (Listing::All, FeedOrder::Activity, cursor.as_str()),
            (Listing::All, FeedOrder::New, "not-a-cursor"),
            (Listing::All, FeedOrder::New, "e30"),
        ] {
            let e = feed
                .page(&listing, order, None, &Mutes::default(), Some(raw), NOW)
                .await
                .unwrap()
                .unwrap_err();
            assert_eq!(e.field, "cursor");
        }

        // Its positions become the query's ExclusiveStartKey: a forged one
        // DynamoDB would refuse is a bad cursor, not a failed query.
        let forged = |order: &str, pk: &str, r: &str| {
            Cursor {
                l: Listing::All.name(),
                o: order.into(),
                b: vec![Bucket {
                    p: Listing::All.name(),
                    at: Some(Position {
                        pk: pk.into(),
                        sk: "POST".into(),
                        r: r.into(),
                    }),
                    done: false,
                }],
            }
            .encode()
        };
        let long = "P".repeat(MAX_PARTITION_KEY + 1);
        for (order, raw) in [
            (FeedOrder::Activity, forged("activity", "POST#x", "not-a-number")),
            (FeedOrder::Activity, forged("activity", "POST#x", "1e400")),
            (FeedOrder::Activity, forged("activity", "POST#x", &"9".repeat(39))),
            (FeedOrder::New, forged("new", "", "2026")),
            (FeedOrder::New, forged("new", &long, "2026")),
            (FeedOrder::New, forged("new", "POST#x", "")),
        ] {
            let e = feed
                .page(&Listing::All, order, None, &Mutes::default(), Some(&raw), NOW)
                .await
                .unwrap()
                .unwrap_err();
            assert_eq!(e.field, "cursor", "{order:?}");
        }
        for (order, raw) in [
            (FeedOrder::Activity, forged("activity", "POST#x", "1796169600000")),
            (FeedOrder::Hot, forged("hot", "POST#x", "-12.5")),
            (FeedOrder::New, forged("new", "POST#x", "2026-12-01T00:00:00Z#x")),
        ] {
            feed.page(&Listing::All, order, None, &Mutes::default(), Some(&raw), NOW)
                .await
                .unwrap()
                .unwrap();
        }
    }

    #[test]
    fn plain_numbers_are_what_lodge_writes() {
        for ok in [
            "0",
            "-1",
            "1796169600000",
            "12.5",
            &f64::MAX.to_string()[..38],
            &(0.1f64 + 0.2).to_string(),
        ] {
            assert!(is_plain_number(ok), "{ok}");
        }
        for bad in [
            "",
            "-",
            ".5",
            "5.",
            "1e5",
            "inf",
            "NaN",
            "+1",
            " 1",
            "1,5",
            &"1".repeat(39),
        ] {
            assert!(!is_plain_number(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn viewer_state_bookmarks_pins_and_events() {
        let store = testing::store().await;
        let viewer = MemberId::generate();
        let mut posts: Vec<SeedPost> = (0..35i64).map(|i| post(NOW - (i + 1) * HOUR)).collect();
        posts[0].comment_seq = 5;
        posts[1].kind = PostKind::Event;
        posts[1].starts_at = Some(NOW + 3 * 24 * HOUR);
        posts[2].kind = PostKind::Event;
        posts[2].starts_at = Some(NOW + 20 * 24 * HOUR);
        store.seed().posts(&posts).await.unwrap();
        store.seed().reader(&posts[0].id, &viewer, 3, None).await.unwrap();
        for (i, p) in posts.iter().enumerate().skip(1) {
            store
                .seed()
                .reader(&p.id, &viewer, 0, Some(NOW - i as i64 * 1000))
                .await
                .unwrap();
        }
        store.seed().pin(&posts[20].id, NOW + HOUR).await.unwrap();
        store.seed().pin(&posts[21].id, NOW - HOUR).await.unwrap();

        let home = store
            .feed()
            .home(FeedOrder::New, &viewer, &Mutes::default(), None, NOW)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(home.page.cards.len(), PAGE);
        assert_eq!(home.page.cards[0].new_comments(), 2);
        assert_eq!(home.pinned.len(), 1, "an expired pin still shows");
        assert_eq!(home.pinned[0].card.id, posts[20].id);
        assert_eq!(home.events.len(), 1, "only the next 14 days");
        assert_eq!(home.events[0].card.id, posts[1].id);

        // Bookmarks: 34, newest first, by cursor.
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .feed()
                .bookmarks(&viewer, cursor.as_deref())
                .await
                .unwrap()
                .unwrap();
            seen.extend(page.cards.into_iter().map(|c| c.card.id));
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let expected: Vec<PostId> = posts.iter().skip(1).map(|p| p.id.clone()).collect();
        assert_eq!(seen, expected);
        // Another member's cursor is refused.
        let first = store.feed().bookmarks(&viewer, None).await.unwrap().unwrap();
        let theirs = first.next.expect("34 bookmarks take two pages");
        let e = store
            .feed()
            .bookmarks(&MemberId::generate(), Some(&theirs))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(e.field, "cursor");
    }
}
