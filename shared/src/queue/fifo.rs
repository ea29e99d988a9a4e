//! Consuming a FIFO batch the way Lambda requires: messages of one group
//! (one destination) strictly in order, and once one fails, the rest of its
//! group is reported failed unprocessed — otherwise a later post could
//! overtake an earlier one. Different groups run concurrently.
//!
//! The rest of a failed group is released (`release`, visibility 0): left
//! in flight for the queue's whole visibility timeout, it would hold the
//! group long after the failed one's own wait. Order holds: SQS hands out
//! nothing of a group while its failed message is in flight.

use std::future::Future;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};

use super::consume::{batch_response, run_one};
use super::MessageError;

pub async fn consume_fifo<F, Fut, R, RFut>(event: SqsEvent, handle: F, release: R) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), MessageError>>,
    R: Fn(String) -> RFut,
    RFut: Future<Output = Result<(), String>>,
{
    // Groups in first-seen order; messages keep their batch order.
    let mut groups: Vec<(String, Vec<SqsMessage>)> = Vec::new();
    for msg in event.records {
        let group = msg
            .attributes
            .get("MessageGroupId")
            .cloned()
            .unwrap_or_else(|| msg.message_id.clone().unwrap_or_default());
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, list)) => list.push(msg),
            None => groups.push((group, vec![msg])),
        }
    }
    let (handle, release) = (&handle, &release);
    let failed = futures::future::join_all(groups.into_iter().map(|(group, msgs)| async move {
        let mut failed = Vec::new();
        let mut blocked = false;
        for msg in msgs {
            let id = msg.message_id.clone().unwrap_or_default();
            if blocked {
                if let Err(e) = release(msg.receipt_handle.clone().unwrap_or_default()).await {
                    tracing::warn!(message_id = %id, group = %group, error = %e, "release failed: returns after the visibility timeout");
                }
                failed.push(id);
                continue;
            }
            if run_one(msg, Some(&group), handle).await {
                failed.push(id);
                blocked = true;
            }
        }
        failed
    }))
    .await;
    batch_response(failed.into_iter().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn msg(id: &str, group: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.receipt_handle = Some(format!("r-{id}"));
        m.body = Some(id.into());
        m.attributes.insert("MessageGroupId".into(), group.into());
        m
    }

    #[tokio::test]
    async fn a_failure_blocks_the_rest_of_its_group_only() {
        let mut event = SqsEvent::default();
        event.records = vec![
            msg("a1", "a"),
            msg("b1", "b"),
            msg("a2", "a"),
            msg("a3", "a"),
            msg("b2", "b"),
        ];
        let seen = Mutex::new(Vec::new());
        let released = Mutex::new(Vec::new());
        let out = consume_fifo(
            event,
            |m| {
                let id = m.message_id.clone().unwrap();
                seen.lock().unwrap().push(id.clone());
                async move {
                    if id == "a2" {
                        Err(MessageError::Retry("429".into()))
                    } else {
                        Ok(())
                    }
                }
            },
            |receipt| {
                released.lock().unwrap().push(receipt);
                async { Ok(()) }
            },
        )
        .await;
        let failed: Vec<_> = out
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(failed, ["a2", "a3"]);
        assert!(
            !seen.lock().unwrap().contains(&"a3".to_string()),
            "a3 must not run after a2 failed"
        );
        // a3 waits behind a2 in SQS, not in flight: a2 (hidden) keeps the group shut.
        assert_eq!(*released.lock().unwrap(), ["r-a3"]);
    }
}
