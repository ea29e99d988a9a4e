//! Sliding-window rate limits: "rings" (docs/posts.md, "Rate limits").
//!
//! A ring item `RATE#<what>#<member>` / `RING` holds `n`, how many creations
//! were ever paid for, and `s0 … s{k−1}`, the times of the last `k`. Creation
//! `n + 1` takes slot `n mod k`, conditioned on `n = :n` and on that slot
//! being empty or older than the window, **in the same transaction** as what
//! it pays for. So the limit holds under any concurrency (two creations that
//! read the same `n` cannot both commit), and a refusal knows exactly when
//! the limit frees up: when the slot it wanted leaves the window.
//!
//! Use it in one of two ways:
//! - `Rings::transact_paid`: read, build, write, and on a lost race re-read
//!   and retry. The ring's item goes last, so the caller's indices in
//!   `StoreError::Cancelled` are unchanged.
//! - `Rings::read` in the first round trip (in parallel with other reads),
//!   then `Rings::take` for the item to include; a failure of that item
//!   means another creation won: read again.

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::backoff;
use super::reads::{Fetched, Reads, Slot};
use super::{n, values, Key, Store, StoreError};
use crate::domain::MemberId;

pub const DAY_MS: i64 = 86_400_000;

/// How many creations of one kind a member may make per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ring {
    /// The key's kind, e.g. `posts`: `RATE#posts#<member>`.
    pub what: &'static str,
    pub size: u32,
    pub window_ms: i64,
}

impl Ring {
    /// 3 new posts per 24 h (issue 12), counted at creation.
    pub const POSTS: Ring = Ring::new("posts", 3, DAY_MS);
    /// 100 comments per 24 h (issue 12).
    pub const COMMENTS: Ring = Ring::new("comments", 100, DAY_MS);
    /// 2 helpdesk questions (`/ask` in the bot) per 24 h (issue 13).
    pub const QUESTIONS: Ring = Ring::new("questions", 2, DAY_MS);

    pub const fn new(what: &'static str, size: u32, window_ms: i64) -> Self {
        Self { what, size, window_ms }
    }
}

/// The limit is reached. It frees up at `frees_at_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingFull {
    pub frees_at_ms: i64,
    /// Whole seconds until then, rounded up (at least 1): the `Retry-After`.
    pub retry_after_secs: i64,
}

/// A ring as read: `n` and the slot times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingState {
    pub ring: Ring,
    pub member: MemberId,
    pub n: u64,
    pub slots: Vec<Option<i64>>,
}

/// Where `Rings::read_in` put a ring.
pub(crate) struct RingSlot {
    ring: Ring,
    member: MemberId,
    slot: Slot<serde_json::Value>,
}

impl RingSlot {
    pub(crate) fn take(self, fetched: &mut Fetched) -> Result<RingState, StoreError> {
        let item = fetched.take(self.slot)?;
        Ok(RingState::of(self.ring, &self.member, item))
    }
}

impl RingState {
    /// An absent ring is empty.
    fn of(ring: Ring, member: &MemberId, item: Option<serde_json::Value>) -> Self {
        let item = item.unwrap_or_default();
        RingState {
            ring,
            member: member.clone(),
            n: item["n"].as_u64().unwrap_or(0),
            slots: (0..ring.size).map(|i| item[format!("s{i}")].as_i64()).collect(),
        }
    }

    fn slot(&self) -> usize {
        (self.n % u64::from(self.ring.size)) as usize
    }

    /// `Err` when slot `n mod k` is still inside the window at `now_ms`.
    pub fn check(&self, now_ms: i64) -> Result<(), RingFull> {
        match self.slots[self.slot()] {
            Some(at) if at > now_ms - self.ring.window_ms => {
                let frees_at_ms = at + self.ring.window_ms;
                Err(RingFull {
                    frees_at_ms,
                    retry_after_secs: ((frees_at_ms - now_ms + 999) / 1000).max(1),
                })
            }
            _ => Ok(()),
        }
    }

    /// How many creations the window still allows at `now_ms`.
    pub fn remaining(&self, now_ms: i64) -> u32 {
        let cut = now_ms - self.ring.window_ms;
        self.slots.iter().filter(|s| s.is_none_or(|at| at <= cut)).count() as u32
    }
}

/// What `transact_paid` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Paid {
    Done,
    Full(RingFull),
}

/// How often a creation retries after losing the ring to a concurrent one.
const ATTEMPTS: u32 = 8;

impl Store {
    pub fn rings(&self) -> Rings<'_> {
        Rings { store: self }
    }
}

pub struct Rings<'a> {
    store: &'a Store,
}

impl Rings<'_> {
    /// The ring of `member` (strongly consistent; an absent ring is empty).
    pub async fn read(&self, ring: Ring, member: &MemberId) -> Result<RingState, StoreError> {
        let item: Option<serde_json::Value> = self.store.get(&Key::ring(ring.what, member)).await?;
        Ok(RingState::of(ring, member, item))
    }

    /// The ring of `member`, read with a caller's other items.
    pub(crate) fn read_in(&self, reads: &mut Reads, ring: Ring, member: &MemberId) -> RingSlot {
        RingSlot {
            ring,
            member: member.clone(),
            slot: reads.add(Key::ring(ring.what, member)),
        }
    }

    /// The ring's write for one creation at `now_ms`, to include in the
    /// creation's transaction; `Err` when the window is full.
    pub fn take(&self, state: &RingState, now_ms: i64) -> Result<Result<TransactWriteItem, RingFull>, StoreError> {
        if let Err(full) = state.check(now_ms) {
            return Ok(Err(full));
        }
        let slot = format!("s{}", state.slot());
        let condition = if state.n == 0 {
            "attribute_not_exists(#n)"
        } else {
            "#n = :n AND (attribute_not_exists(#s) OR #s <= :cut)"
        };
        let mut vals = values([
            (":next", n(state.n + 1)),
            (":now", n(now_ms)),
            // TTL, seconds: an idle ring is empty anyway once its window has passed.
            (":exp", n((now_ms + state.ring.window_ms) / 1000 + 1)),
        ]);
        if state.n > 0 {
            vals.insert(":n".into(), n(state.n));
            vals.insert(":cut".into(), n(now_ms - state.ring.window_ms));
        }
        self.store
            .tx_update_named(
                &Key::ring(state.ring.what, &state.member),
                "SET #n = :next, #s = :now, expires_at = :exp",
                condition,
                &[("#n", "n"), ("#s", &slot)],
                vals,
            )
            .map(Ok)
    }

    /// Writes `items()` together with one creation on `member`'s ring, unless
    /// the ring is full. A race lost on the ring (or a transaction conflict)
    /// re-reads it and tries again, so concurrent creations can never pass
    /// the limit. `exempt` (moderators) skips the ring. The caller's own
    /// condition failures come back as `Cancelled` with their indices.
    pub async fn transact_paid<F>(
        &self,
        ring: Ring,
        member: &MemberId,
        exempt: bool,
        now_ms: i64,
        items: F,
    ) -> Result<Paid, StoreError>
    where
        F: FnMut() -> Result<Vec<TransactWriteItem>, StoreError>,
    {
        let rings: &[Ring] = if exempt { &[] } else { &[ring] };
        Ok(match self.transact_paid_all(rings, member, now_ms, items).await? {
            Ok(()) => Paid::Done,
            Err((_, full)) => Paid::Full(full),
        })
    }

    /// `transact_paid` with one slot of each of `rings` (none: a plain
    /// transaction), all in the same transaction. The first full ring is
    /// named in the refusal. The rings' items go last, in order.
    pub async fn transact_paid_all<F>(
        &self,
        rings: &[Ring],
        member: &MemberId,
        now_ms: i64,
        mut items: F,
    ) -> Result<Result<(), (Ring, RingFull)>, StoreError>
    where
        F: FnMut() -> Result<Vec<TransactWriteItem>, StoreError>,
    {
        if rings.is_empty() {
            return self.store.transact(items()?).await.map(Ok);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let states = futures::future::try_join_all(rings.iter().map(|r| self.read(*r, member))).await?;
            let mut paying = Vec::with_capacity(rings.len());
            for state in &states {
                match self.take(state, now_ms)? {
                    Ok(item) => paying.push(item),
                    Err(full) => return Ok(Err((state.ring, full))),
                }
            }
            let mut all = items()?;
            let ring_at = all.len();
            all.extend(paying);
            let lost_ring = |e: &StoreError| (ring_at..ring_at + rings.len()).any(|i| e.failed_at(i));
            match self.store.transact(all).await {
                Ok(()) => return Ok(Ok(())),
                Err(e) if attempt < ATTEMPTS && (lost_ring(&e) || matches!(e, StoreError::Contended)) => {
                    backoff(attempt).await;
                }
                Err(StoreError::Cancelled { mut failed }) => {
                    failed.truncate(ring_at);
                    if failed.iter().any(|f| *f) {
                        return Err(StoreError::Cancelled { failed });
                    }
                    return Err(StoreError::Contended);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    const T: i64 = 1_796_169_600_000;

    /// Each paid creation writes one marker item, so the test can count them.
    async fn create(store: &Store, ring: Ring, member: &MemberId, now_ms: i64) -> Result<Paid, StoreError> {
        let marker = Key::rate("ringtest", member.as_str(), rand::random::<u32>() as i64);
        store
            .rings()
            .transact_paid(ring, member, false, now_ms, || {
                Ok(vec![store.tx_put(
                    &marker,
                    &serde_json::json!({"at": now_ms}),
                    None,
                    None,
                )?])
            })
            .await
    }

    #[tokio::test]
    async fn the_third_is_allowed_the_fourth_told_when_it_frees_up() {
        let store = testing::store().await;
        let me = MemberId::generate();
        let ring = Ring::POSTS;
        assert_eq!(create(&store, ring, &me, T).await.unwrap(), Paid::Done);
        assert_eq!(create(&store, ring, &me, T + 60_000).await.unwrap(), Paid::Done);
        assert_eq!(create(&store, ring, &me, T + 120_000).await.unwrap(), Paid::Done);
        let state = store.rings().read(ring, &me).await.unwrap();
        assert_eq!((state.n, state.remaining(T + 120_000)), (3, 0));
        // The 4th, 1 h after the first: it frees up when the first leaves the window.
        let now = T + 3_600_000 + 500;
        let full = RingFull {
            frees_at_ms: T + DAY_MS,
            retry_after_secs: (DAY_MS - 3_600_000 - 500 + 999) / 1000,
        };
        assert_eq!(create(&store, ring, &me, now).await.unwrap(), Paid::Full(full));
        assert_eq!(full.retry_after_secs, 82_800);
        // 1 ms before it frees up: still refused, with Retry-After 1.
        match create(&store, ring, &me, T + DAY_MS - 1).await.unwrap() {
            Paid::Full(f) => assert_eq!((f.frees_at_ms, f.retry_after_secs), (T + DAY_MS, 1)),
            other => panic!("{other:?}"),
        }
        // At that instant the first slot is free; the second is not yet.
        assert_eq!(create(&store, ring, &me, T + DAY_MS).await.unwrap(), Paid::Done);
        match create(&store, ring, &me, T + DAY_MS + 1).await.unwrap() {
            Paid::Full(f) => assert_eq!(f.frees_at_ms, T + 60_000 + DAY_MS),
            other => panic!("{other:?}"),
        }
        assert_eq!(store.rings().read(ring, &me).await.unwrap().n, 4);
        // Another member has their own ring.
        assert_eq!(
            create(&store, ring, &MemberId::generate(), T).await.unwrap(),
            Paid::Done
        );
    }

    #[tokio::test]
    async fn several_rings_are_paid_together_and_a_full_one_charges_none() {
        let store = testing::store().await;
        let me = MemberId::generate();
        let (big, small) = (Ring::new("big", 3, DAY_MS), Ring::new("small", 1, DAY_MS));
        let marker = Key::rate("ringtest", me.as_str(), 1);
        let pay = |at: i64| {
            let (store, me, marker) = (store.clone(), me.clone(), marker.clone());
            async move {
                store
                    .rings()
                    .transact_paid_all(&[big, small], &me, at, || {
                        Ok(vec![store.tx_put(
                            &marker,
                            &serde_json::json!({"at": at}),
                            None,
                            None,
                        )?])
                    })
                    .await
                    .unwrap()
            }
        };
        assert_eq!(pay(T).await, Ok(()));
        match pay(T + 1000).await {
            Err((ring, full)) => assert_eq!((ring, full.frees_at_ms), (small, T + DAY_MS)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            store.rings().read(big, &me).await.unwrap().n,
            1,
            "the refusal cost nothing"
        );
        assert_eq!(pay(T + DAY_MS).await, Ok(()));
        let (b, s) = (
            store.rings().read(big, &me).await.unwrap(),
            store.rings().read(small, &me).await.unwrap(),
        );
        assert_eq!((b.n, s.n), (2, 2));
    }

    #[tokio::test]
    async fn concurrent_creations_cannot_pass_the_limit() {
        let store = testing::store().await;
        let me = MemberId::generate();
        let ring = Ring::new("race", 3, DAY_MS);
        let tries = (0..12).map(|i| {
            let (store, me) = (store.clone(), me.clone());
            tokio::spawn(async move { create(&store, ring, &me, T + i).await })
        });
        let mut done = 0;
        for t in tries {
            // A try may also give up after 8 lost races: never counted as done.
            if let Ok(Paid::Done) = t.await.unwrap() {
                done += 1;
            }
        }
        assert_eq!(done, 3);
        let markers: Vec<serde_json::Value> = store.query_partition(&format!("RATE#ringtest#{me}")).await.unwrap();
        assert_eq!(markers.len(), 3, "one creation per paid slot");
        assert_eq!(store.rings().read(ring, &me).await.unwrap().n, 3);
    }

    #[tokio::test]
    async fn the_callers_own_condition_failures_keep_their_index_and_cost_nothing() {
        let store = testing::store().await;
        let me = MemberId::generate();
        let key = Key::rate("ringtest", "exists", 0);
        store.put(&key, &serde_json::json!({})).await.unwrap();
        let out = store
            .rings()
            .transact_paid(Ring::POSTS, &me, false, T, || {
                Ok(vec![store.tx_put(
                    &key,
                    &serde_json::json!({}),
                    Some("attribute_not_exists(pk)"),
                    None,
                )?])
            })
            .await;
        assert!(matches!(&out, Err(e) if e.failed_at(0)), "{out:?}");
        assert_eq!(store.rings().read(Ring::POSTS, &me).await.unwrap().n, 0);
        // Exempt: no ring at all.
        for _ in 0..4 {
            let out = store
                .rings()
                .transact_paid(Ring::POSTS, &me, true, T, || {
                    Ok(vec![store.tx_put(&key, &serde_json::json!({}), None, None)?])
                })
                .await
                .unwrap();
            assert_eq!(out, Paid::Done);
        }
        assert_eq!(store.rings().read(Ring::POSTS, &me).await.unwrap().n, 0);
    }
}
