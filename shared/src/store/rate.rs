//! Fixed-window counters and next-free-slot markers in DynamoDB, so limits
//! hold across concurrent Lambda instances. Each window is its own item and
//! expires by TTL.

use aws_sdk_dynamodb::types::{ReturnValue, TransactWriteItem};

use super::{n, values, Key, Store, StoreError};

#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub max: u32,
    pub window_secs: i64,
}

impl Limit {
    /// The fixed window holding `now`: its start and its end.
    fn window_at(self, now: i64) -> (i64, i64) {
        let start = now - now.rem_euclid(self.window_secs);
        (start, start + self.window_secs)
    }
}

/// One hit, taken inside a caller's transaction (`RateLimits::hit_item`).
pub struct TxHit {
    pub(crate) item: TransactWriteItem,
    /// Until the window ends: the refusal's wait when it is full.
    pub retry_after_secs: i64,
}

/// What taking a spacing slot found.
#[derive(Debug, PartialEq, Eq)]
pub enum Slot {
    /// Taken; the slot's previous next-free instant, to give it back.
    Taken { previous: Option<i64> },
    /// Not free before `next_ms` (as far as a read after the refusal saw).
    Busy { next_ms: Option<i64> },
}

#[derive(Debug, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Over the limit; the window ends in this many seconds.
    Limited {
        retry_after_secs: i64,
    },
}

impl Store {
    pub fn rate_limits(&self) -> RateLimits<'_> {
        RateLimits { store: self }
    }
}

/// Fixed-window counters and next-free-slot markers.
pub struct RateLimits<'a> {
    store: &'a Store,
}

impl RateLimits<'_> {
    /// Counts one hit of `what` for `key`, unless the window is already full.
    pub async fn hit(&self, what: &str, key: &str, limit: Limit, now: i64) -> Result<RateDecision, StoreError> {
        let (start, end) = limit.window_at(now);
        Ok(match self.take_hits(what, key, start, 1, limit.max, end).await? {
            true => RateDecision::Allowed,
            false => RateDecision::Limited {
                retry_after_secs: (end - now).max(1),
            },
        })
    }

    /// Adds `take` hits to the window of `what`/`key` starting at
    /// `window_start`, only if they fit under `max`. `false` when they do not.
    pub async fn take_hits(
        &self,
        what: &str,
        key: &str,
        window_start: i64,
        take: u32,
        max: u32,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let out = self
            .store
            .update(
                &Key::rate(what, key, window_start),
                HIT,
                Some(FITS),
                &[],
                hit_values(take, max, expires_at),
                None,
            )
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives back `take` hits unconditionally (the send they paid for did not happen).
    pub async fn refund_hits(&self, what: &str, key: &str, window_start: i64, take: u32) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::rate(what, key, window_start),
                "ADD hits :minus",
                None,
                &[],
                values([(":minus", n(-i64::from(take)))]),
                None,
            )
            .await
            .map(|_| ())
    }

    /// Takes the next free instant of `what`/`key` if it is due at `now_ms`,
    /// moving it to `next_ms`.
    pub async fn take_slot(
        &self,
        what: &str,
        key: &str,
        now_ms: i64,
        next_ms: i64,
        expires_at: i64,
    ) -> Result<Slot, StoreError> {
        let slot = Key::rate(what, key, 0);
        let out = self
            .store
            .update(
                &slot,
                "SET next_ms = :next, expires_at = :exp",
                Some("attribute_not_exists(next_ms) OR next_ms <= :now"),
                &[],
                values([(":now", n(now_ms)), (":next", n(next_ms)), (":exp", n(expires_at))]),
                Some(ReturnValue::AllOld),
            )
            .await;
        match out {
            Ok(old) => Ok(Slot::Taken {
                previous: old
                    .get("next_ms")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok()),
            }),
            Err(StoreError::Conflict) => {
                let current: Option<serde_json::Value> = self.store.get(&slot).await?;
                Ok(Slot::Busy {
                    next_ms: current.and_then(|v| v["next_ms"].as_i64()),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Puts a slot back to `previous`, unless another send moved it since `mine`.
    pub async fn give_back_slot(
        &self,
        what: &str,
        key: &str,
        previous: Option<i64>,
        mine: i64,
    ) -> Result<(), StoreError> {
        let out = self
            .store
            .update(
                &Key::rate(what, key, 0),
                "SET next_ms = :prev",
                Some("next_ms = :mine"),
                &[],
                values([(":prev", n(previous.unwrap_or(0))), (":mine", n(mine))]),
                None,
            )
            .await;
        match out {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `hit` as an item of a caller's transaction, which it makes fail when
    /// the window is already full.
    pub fn hit_item(&self, what: &str, key: &str, limit: Limit, now: i64) -> Result<TxHit, StoreError> {
        let (start, end) = limit.window_at(now);
        Ok(TxHit {
            item: self
                .store
                .tx_update(&Key::rate(what, key, start), HIT, FITS, hit_values(1, limit.max, end))?,
            retry_after_secs: (end - now).max(1),
        })
    }

    /// `refund` as an item of a caller's transaction, which it makes fail
    /// when the window's counter holds no hit.
    pub(crate) fn refund_item(
        &self,
        what: &str,
        key: &str,
        limit: Limit,
        now: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let (start, _) = limit.window_at(now);
        self.store
            .tx_update(&Key::rate(what, key, start), REFUND, HELD, refund_values())
    }

    /// Gives back a hit, e.g. when the action it paid for failed.
    pub async fn refund(&self, what: &str, key: &str, limit: Limit, now: i64) -> Result<(), StoreError> {
        let (start, _) = limit.window_at(now);
        let out = self
            .store
            .update(
                &Key::rate(what, key, start),
                REFUND,
                Some(HELD),
                &[],
                refund_values(),
                None,
            )
            .await;
        match out {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(other) => Err(other),
        }
    }
}

/// A hit: `:take` more, only while they fit under the limit.
const HIT: &str = "ADD hits :take SET expires_at = :exp";
const FITS: &str = "attribute_not_exists(hits) OR hits <= :room";

fn hit_values(take: u32, max: u32, expires_at: i64) -> super::Item {
    values([
        (":take", n(take)),
        (":room", n(i64::from(max) - i64::from(take))),
        (":exp", n(expires_at)),
    ])
}

/// A refund: one hit back, only from a counter that holds one.
const REFUND: &str = "ADD hits :minus";
const HELD: &str = "hits > :zero";

fn refund_values() -> super::Item {
    values([(":minus", n(-1)), (":zero", n(0))])
}
