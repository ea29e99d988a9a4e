//! Fixed-window counters in DynamoDB, so limits hold across concurrent
//! Lambda instances. Each window is its own item and expires by TTL.

use super::{n, values, Key, Store, StoreError};

#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub max: u32,
    pub window_secs: i64,
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
    /// Counts one hit of `what` for `key`, unless the window is already full.
    pub async fn hit(&self, what: &str, key: &str, limit: Limit, now: i64) -> Result<RateDecision, StoreError> {
        let start = now - now.rem_euclid(limit.window_secs);
        let end = start + limit.window_secs;
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(Key::rate(what, key, start).to_item()))
            .update_expression("ADD hits :one SET expires_at = :exp")
            .condition_expression("attribute_not_exists(hits) OR hits < :max")
            .set_expression_attribute_values(Some(values([(":one", n(1)), (":max", n(limit.max)), (":exp", n(end))])))
            .send()
            .await;
        match out {
            Ok(_) => Ok(RateDecision::Allowed),
            Err(e) => match StoreError::from_sdk(e) {
                StoreError::Conflict => Ok(RateDecision::Limited {
                    retry_after_secs: (end - now).max(1),
                }),
                other => Err(other),
            },
        }
    }

    /// Gives back a hit, e.g. when the action it paid for failed.
    pub async fn refund(&self, what: &str, key: &str, limit: Limit, now: i64) -> Result<(), StoreError> {
        let start = now - now.rem_euclid(limit.window_secs);
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(Key::rate(what, key, start).to_item()))
            .update_expression("ADD hits :minus")
            .condition_expression("hits > :zero")
            .set_expression_attribute_values(Some(values([(":minus", n(-1)), (":zero", n(0))])))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| match StoreError::from_sdk(e) {
                StoreError::Conflict => Ok(()),
                other => Err(other),
            })
    }
}
