//! Long-polls a queue and hands batches to its consumer as real SQS events,
//! like Lambda's event source mapping: successes are deleted, reported
//! failures become visible again and, after `maxReceiveCount`, land in the DLQ.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use tokio::sync::watch;

use crate::functions::SqsFn;

pub struct QueuePoller {
    pub function: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: i32,
    /// Seconds before a failed message is visible again (AWS waits for the
    /// queue's visibility timeout; locally we shorten it to keep retries quick).
    pub retry_delay: i32,
}

/// Batches in flight per queue when the template sets no
/// `ScalingConfig.MaximumConcurrency` (Lambda starts with five pollers; two
/// keep a slow batch from stalling the queue without loading the stand-in).
pub const DEFAULT_CONCURRENCY: i32 = 2;
/// The stand-in is one process: more loops only queue up in it.
pub const MAX_LOCAL_CONCURRENCY: i32 = 8;

impl QueuePoller {
    /// Runs `concurrency` poll loops, like Lambda's concurrent invocations:
    /// a batch stuck on a slow call does not hold up the others. FIFO order
    /// still holds: SQS hands out no message of a group with one in flight.
    pub fn spawn(self, concurrency: i32, sqs: &aws_sdk_sqs::Client, handler: &SqsFn, stop: &watch::Receiver<bool>) {
        let me = Arc::new(self);
        for _ in 0..concurrency.clamp(1, MAX_LOCAL_CONCURRENCY) {
            tokio::spawn(me.clone().run(sqs.clone(), handler.clone(), stop.clone()));
        }
    }

    async fn run(self: Arc<Self>, sqs: aws_sdk_sqs::Client, handler: SqsFn, mut stop: watch::Receiver<bool>) {
        let me = self;
        // FIFO queues are short-polled: the stand-in's long poll spins at full
        // CPU while every visible message belongs to a blocked group.
        let fifo = me.queue_url.ends_with(".fifo");
        loop {
            let received = tokio::select! {
                _ = stop.changed() => return,
                r = sqs.receive_message()
                    .queue_url(&me.queue_url)
                    .max_number_of_messages(me.batch_size.clamp(1, 10))
                    .wait_time_seconds(if fifo { 0 } else { 1 })
                    .message_system_attribute_names(MessageSystemAttributeName::All)
                    .message_attribute_names("All")
                    .send() => r,
            };
            let messages = match received {
                Ok(out) => out.messages.unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(queue = %me.queue_url, error = ?e, "receive failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if messages.is_empty() {
                if fifo {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                continue;
            }
            me.deliver(&sqs, &handler, messages).await;
        }
    }

    async fn deliver(&self, sqs: &aws_sdk_sqs::Client, handler: &SqsFn, messages: Vec<aws_sdk_sqs::types::Message>) {
        let mut event = SqsEvent::default();
        let mut handles = HashMap::new();
        let mut groups: Vec<(String, String)> = Vec::new(); // (message id, FIFO group), in batch order
        for m in messages {
            let mut msg = SqsMessage::default();
            msg.message_id = m.message_id.clone();
            msg.receipt_handle = m.receipt_handle.clone();
            msg.body = m.body.clone();
            msg.md5_of_body = m.md5_of_body.clone();
            msg.attributes = m
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect();
            msg.event_source = Some("aws:sqs".into());
            msg.event_source_arn = Some(self.queue_arn.clone());
            msg.aws_region = Some(crate::REGION.into());
            if let Some(g) = msg.attributes.get("MessageGroupId") {
                groups.push((m.message_id.clone().unwrap_or_default(), g.clone()));
            }
            handles.insert(m.message_id.unwrap_or_default(), m.receipt_handle.unwrap_or_default());
            event.records.push(msg);
        }
        let response = match tokio::spawn(handler(event)).await {
            Ok(r) => r,
            Err(e) => {
                // A crashed invocation fails the whole batch, as on Lambda.
                tracing::error!(function = %self.function, error = %e, "consumer panicked");
                self.retry_later(sqs, handles.values()).await;
                return;
            }
        };
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        let to_delete: Vec<_> = handles
            .iter()
            .filter(|(id, _)| !failed.contains(id))
            .enumerate()
            .filter_map(|(i, (_, h))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .build()
                    .ok()
            })
            .collect();
        if !to_delete.is_empty() {
            if let Err(e) = sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(to_delete))
                .send()
                .await
            {
                tracing::warn!(error = ?e, "delete failed");
            }
        }
        // FIFO: only the first failed message of a group waits; the ones behind
        // it are released at once. The group stays blocked by its head either
        // way (as on AWS), but the stand-in would otherwise hand out a later
        // message of the group before the head once both are visible again.
        let mut heads = Vec::new();
        let mut followers = Vec::new();
        for id in &failed {
            match groups.iter().find(|(m, _)| m == id).map(|(_, g)| g) {
                Some(g) if heads.iter().any(|(_, hg): &(&String, &String)| *hg == g) => followers.push(id),
                Some(g) => heads.push((id, g)),
                None => heads.push((id, id)),
            }
        }
        for id in followers {
            if let Some(h) = handles.get(id) {
                let _ = sqs
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .receipt_handle(h)
                    .visibility_timeout(0)
                    .send()
                    .await;
            }
        }
        self.retry_later(sqs, heads.iter().filter_map(|(id, _)| handles.get(*id)))
            .await;
    }

    async fn retry_later<'a>(&self, sqs: &aws_sdk_sqs::Client, handles: impl Iterator<Item = &'a String>) {
        for h in handles {
            let _ = sqs
                .change_message_visibility()
                .queue_url(&self.queue_url)
                .receipt_handle(h)
                .visibility_timeout(self.retry_delay)
                .send()
                .await;
        }
    }
}
