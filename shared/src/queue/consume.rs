//! Consuming an SQS batch: every message runs in a span with its id and
//! ends with one line (outcome, latency, AWS calls); only the messages that
//! must come back are reported failed (a partial batch response), so the
//! rest are never redone. `fifo::consume_fifo` does the same for FIFO queues.

use std::future::Future;
use std::time::Instant;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use tracing::Instrument;

/// Why one message failed. `Retry` leaves it on the queue (it comes back,
/// then goes to the DLQ); `Drop` is logged and deleted (nothing will fix it).
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("retry: {0}")]
    Retry(String),
    #[error("dropped: {0}")]
    Drop(String),
}

/// Runs `handle` on every message concurrently and reports the ones that
/// must come back. Never fails the whole batch.
pub async fn consume<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), MessageError>>,
{
    let handle = &handle;
    let results = futures::future::join_all(event.records.into_iter().map(|msg| async move {
        let id = msg.message_id.clone().unwrap_or_default();
        (id, run_one(msg, None, handle).await)
    }))
    .await;
    batch_response(results.into_iter().filter(|(_, retry)| *retry).map(|(id, _)| id))
}

/// Handles one message in its span and writes its one line. True when it
/// must come back (`Retry`).
pub(super) async fn run_one<F, Fut>(msg: SqsMessage, group: Option<&str>, handle: &F) -> bool
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = Result<(), MessageError>>,
{
    let id = msg.message_id.clone().unwrap_or_default();
    let receive_count = msg
        .attributes
        .get("ApproximateReceiveCount")
        .cloned()
        .unwrap_or_default();
    let span = tracing::info_span!("message", message_id = %id, group = group.unwrap_or_default());
    let started = Instant::now();
    let work = async {
        let (result, aws_calls) = crate::telemetry::counting_aws_calls(handle(msg)).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match &result {
            Ok(()) => tracing::info!(outcome = "ok", latency_ms, aws_calls, "message"),
            Err(MessageError::Drop(why)) => {
                tracing::warn!(outcome = "dropped", reason = %why, latency_ms, aws_calls, "message")
            }
            Err(MessageError::Retry(why)) => tracing::warn!(
                outcome = "retry", receive_count = %receive_count, reason = %why, latency_ms, aws_calls, "message"
            ),
        }
        matches!(result, Err(MessageError::Retry(_)))
    };
    work.instrument(span).await
}

/// The partial batch response naming the messages that must come back.
pub(super) fn batch_response(failed: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for id in failed {
        let mut f = BatchItemFailure::default();
        f.item_identifier = id;
        response.batch_item_failures.push(f);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m
    }

    /// Every line logged while a message is handled carries its id, and one
    /// line ends it with its outcome, latency and AWS calls.
    #[tokio::test(flavor = "current_thread")]
    async fn each_message_logs_in_its_span() {
        let mut event = SqsEvent::default();
        event.records = vec![msg("m-1"), msg("m-2")];
        let (_, lines) = crate::telemetry::capture(consume(event, |m| async move {
            tracing::info!(step = "inside", "working");
            match m.message_id.as_deref() {
                Some("m-2") => Err(MessageError::Retry("later".into())),
                _ => Ok(()),
            }
        }))
        .await;
        for line in &lines {
            println!("{line}");
        }
        assert_eq!(lines.len(), 4, "{lines:#?}");
        for line in &lines {
            let id = &line["spans"][0]["message_id"];
            assert!(id == "m-1" || id == "m-2", "a line without its message id: {line}");
        }
        let end = lines
            .iter()
            .find(|l| l["fields"]["message"] == "message" && l["spans"][0]["message_id"] == "m-2")
            .expect("the closing line");
        assert_eq!(end["fields"]["outcome"], "retry");
        assert_eq!(end["fields"]["aws_calls"], 0);
        assert!(end["fields"]["latency_ms"].is_number());
    }

    #[tokio::test]
    async fn reports_only_retryable_failures() {
        let mut event = SqsEvent::default();
        event.records = vec![msg("a"), msg("b"), msg("c")];
        let out = consume(event, |m| async move {
            match m.message_id.as_deref() {
                Some("b") => Err(MessageError::Retry("x".into())),
                Some("c") => Err(MessageError::Drop("y".into())),
                _ => Ok(()),
            }
        })
        .await;
        let ids: Vec<_> = out
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, ["b"]);
    }
}
