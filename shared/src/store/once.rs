//! Doing a thing once, when the attempt itself may fail or be killed midway.
//!
//! `once` takes a *lease* on `(scope, key)` with a condition: the first
//! caller goes ahead; the key then stays "running" until `done` (or until
//! the lease runs out, when an attempt that died — a Lambda timeout — can be
//! retried). `release` gives it back at once after a failure. A caller that
//! finds it done skips the work; one that finds a live lease retries later.
//!
//! The lease should be the timeout of the function holding it: after that
//! the holder is certainly gone.

use serde::{Deserialize, Serialize};

use super::{n, s, to_item, values, Key, Store, StoreError};

#[derive(Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Ours: do the work, then `done` (or `release` on failure).
    Go(Lease),
    /// Done before: skip.
    Done,
    /// Another attempt holds a live lease; it ends in this many seconds.
    Busy { retry_after_secs: i64 },
}

/// A claim on one `(scope, key)`, proven by its random token.
#[derive(Debug, PartialEq, Eq)]
pub struct Lease {
    key: Key,
    token: String,
    ttl_secs: i64,
}

#[derive(Serialize, Deserialize)]
struct Marker {
    #[serde(default)]
    state: State,
    #[serde(default)]
    token: String,
    #[serde(default)]
    lease_until: i64,
    at: i64,
    /// The table's TTL attribute; TTL deletion is lazy, so conditions check it too.
    expires_at: i64,
}

/// Markers written before leases existed carry no state: they were done.
#[derive(Serialize, Deserialize, Default, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum State {
    Running,
    #[default]
    Done,
}

impl Store {
    /// Takes `(scope, key)` for `lease_secs`, unless it is done (within
    /// `ttl_secs` of being taken) or another live lease holds it.
    pub async fn once(
        &self,
        scope: &str,
        key: &str,
        now: i64,
        lease_secs: i64,
        ttl_secs: i64,
    ) -> Result<Attempt, StoreError> {
        let key = Key::done(scope, key);
        let lease = Lease {
            key: key.clone(),
            token: crate::crypto::random_token(16),
            ttl_secs,
        };
        let marker = Marker {
            state: State::Running,
            token: lease.token.clone(),
            lease_until: now + lease_secs,
            at: now,
            expires_at: now + ttl_secs,
        };
        let taken = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(&key, &marker)?))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now OR (#st = :running AND lease_until <= :now)",
            )
            .expression_attribute_names("#st", "state")
            .set_expression_attribute_values(Some(values([(":now", n(now)), (":running", s("running"))])))
            .send()
            .await
            .map_err(StoreError::from_sdk);
        match taken {
            Ok(_) => Ok(Attempt::Go(lease)),
            Err(StoreError::Conflict) => match self.get::<Marker>(&key).await? {
                Some(m) if m.state == State::Done => Ok(Attempt::Done),
                Some(m) => Ok(Attempt::Busy {
                    retry_after_secs: (m.lease_until - now).max(1),
                }),
                // Released between our write and this read: try again soon.
                None => Ok(Attempt::Busy { retry_after_secs: 1 }),
            },
            Err(e) => Err(e),
        }
    }
}

impl Lease {
    /// The work is done: later attempts skip it (for the marker's lifetime).
    pub async fn done(self, store: &Store, now: i64) -> Result<(), StoreError> {
        let marker = Marker {
            state: State::Done,
            token: self.token,
            lease_until: now,
            at: now,
            expires_at: now + self.ttl_secs,
        };
        store.put(&self.key, &marker).await
    }

    /// The attempt failed: the next one may go at once. A no-op when the
    /// lease ran out and another attempt took the key meanwhile.
    pub async fn release(self, store: &Store) -> Result<(), StoreError> {
        let out = store
            .client()
            .delete_item()
            .table_name(store.table())
            .set_key(Some(self.key.to_item()))
            .condition_expression("#tk = :t AND #st = :running")
            .expression_attribute_names("#tk", "token")
            .expression_attribute_names("#st", "state")
            .set_expression_attribute_values(Some(values([(":t", s(&self.token)), (":running", s("running"))])))
            .send()
            .await;
        match out.map_err(StoreError::from_sdk) {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
