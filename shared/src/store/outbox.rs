//! The content events' outbox (docs/notifications.md, "When the send
//! fails"). A write that announces a `ContentEvent` (a comment, a post's
//! publication) puts the event here **in its own transaction**, then sends
//! it to the `content` queue as before. So an event is never lost between
//! the commit and the send: a send SQS refused, or a writer killed in
//! between, leaves its entry, and `outbox-sweeper` sends what is still here
//! a few minutes on. `fanout` deletes an entry once its event is fanned out
//! (or split into slices, which are then on the queue), so the sweeper
//! finds only the unsent, or those a backlog has not reached yet, which
//! fan out idempotently twice.
//!
//! One partition, `OUTBOX`, sorted by the event's time: at most one small
//! item per comment or post, far under a partition's 1,000 writes a second.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::{from_item, keys, s, Key, Store, StoreError};
use crate::domain::notification::ContentEvent;

/// An entry nobody swept (the sweeper off for two weeks) goes, like an SQS message.
const KEEP_SECS: i64 = 14 * 24 * 3600;

pub struct Outbox<'a> {
    store: &'a Store,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    event: ContentEvent,
    /// The table's TTL attribute.
    expires_at: i64,
}

impl Store {
    pub fn outbox(&self) -> Outbox<'_> {
        Outbox { store: self }
    }
}

fn key(event: &ContentEvent) -> Key {
    Key::outbox_entry(event.at_ms(), &event.key())
}

impl Outbox<'_> {
    /// The `Put` a write adds to its transaction. Unconditional: writing
    /// the same event again (a retried transaction) is the same entry.
    pub(crate) fn tx_put(&self, event: &ContentEvent) -> Result<TransactWriteItem, StoreError> {
        let entry = Entry {
            event: event.clone(),
            expires_at: event.at_ms() / 1000 + KEEP_SECS,
        };
        self.store.tx_put(&key(event), &entry, None, None)
    }

    /// `event` has been fanned out, or is safely on the queue again.
    pub async fn done(&self, event: &ContentEvent) -> Result<(), StoreError> {
        self.store.delete(&key(event)).await
    }

    /// Up to `limit` events written before `before_ms` and still here, oldest first.
    pub async fn unsent(&self, before_ms: i64, limit: i32) -> Result<Vec<ContentEvent>, StoreError> {
        let page = self
            .store
            .client()
            .query()
            .table_name(self.store.table())
            .key_condition_expression("pk = :p AND sk < :b")
            .expression_attribute_values(":p", s(keys::OUTBOX))
            .expression_attribute_values(":b", s(format!("{before_ms:013}")))
            .consistent_read(true)
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        page.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<Entry>(item).map(|e| e.event))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MemberId;

    #[test]
    fn entries_sort_by_the_events_time_and_name_the_event() {
        let event = ContentEvent::IntroDecided {
            member: MemberId::generate(),
            approved: true,
            at_ms: 1_795_255_200_000,
        };
        let k = key(&event);
        assert_eq!(k.pk, "OUTBOX");
        assert_eq!(k.sk, format!("1795255200000#{}", event.key()));
        // Before any event of a later millisecond, after any of an earlier one.
        assert!(k.sk.as_str() < "1795255200001" && k.sk.as_str() > "1795255200000");
    }
}
