//! Message contracts of every SQS queue, and the consumer helper that turns
//! per-message results into a partial batch failure report.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde::{Deserialize, Serialize};

use crate::domain::{Email, MemberId};
use crate::mail::Letter;

/// The `notify` queue: side effects that may be retried without the user waiting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notification {
    /// Deliver an already-rendered email. `id` makes redelivery idempotent.
    Email { id: String, to: Email, letter: Letter },
    /// A member sent their intro for review (at `at`): tell the moderators.
    IntroSubmitted { member_id: MemberId, at: i64 },
    /// A moderator decided on a member (at `at`): tell the member.
    Decided { member_id: MemberId, at: i64 },
}

/// Every message carries its contract version so consumers can evolve.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub v: u32,
    #[serde(flatten)]
    pub body: T,
}

pub const NOTIFY_VERSION: u32 = 1;

/// Why one message failed. `Retry` leaves it on the queue (it comes back,
/// then goes to the DLQ); `Drop` is logged and deleted (nothing will fix it).
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("retry: {0}")]
    Retry(String),
    #[error("dropped: {0}")]
    Drop(String),
}

/// Parses a message body into its contract, rejecting unknown versions.
pub fn parse<T: for<'de> Deserialize<'de>>(msg: &SqsMessage, version: u32) -> Result<T, MessageError> {
    let body = msg.body.as_deref().unwrap_or_default();
    let env: Envelope<T> =
        serde_json::from_str(body).map_err(|e| MessageError::Retry(format!("malformed message: {e}")))?;
    if env.v != version {
        return Err(MessageError::Retry(format!("unsupported message version {}", env.v)));
    }
    Ok(env.body)
}

pub fn encode<T: Serialize>(body: &T, version: u32) -> String {
    serde_json::to_string(&Envelope { v: version, body }).expect("message contracts serialise")
}

/// Runs `handle` on every message concurrently and reports the ones that
/// must come back. Never fails the whole batch.
pub async fn consume<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: std::future::Future<Output = Result<(), MessageError>>,
{
    let results = futures::future::join_all(event.records.into_iter().map(|msg| {
        let id = msg.message_id.clone().unwrap_or_default();
        let receive_count = msg
            .attributes
            .get("ApproximateReceiveCount")
            .cloned()
            .unwrap_or_default();
        let fut = handle(msg);
        async move { (id, receive_count, fut.await) }
    }))
    .await;
    let mut response = SqsBatchResponse::default();
    for (id, receive_count, result) in results {
        match result {
            Ok(()) => tracing::info!(message_id = %id, outcome = "ok", "message"),
            Err(MessageError::Drop(why)) => {
                tracing::warn!(message_id = %id, outcome = "dropped", reason = %why, "message")
            }
            Err(MessageError::Retry(why)) => {
                tracing::warn!(message_id = %id, outcome = "retry", receive_count = %receive_count, reason = %why, "message");
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    response
}

/// Sends contract messages to one queue.
#[derive(Clone)]
pub struct QueueSender {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl QueueSender {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub async fn send<T: Serialize>(&self, body: &T, version: u32) -> Result<(), String> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(encode(body, version))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("SQS send failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        m
    }

    #[tokio::test]
    async fn reports_only_retryable_failures() {
        let mut event = SqsEvent::default();
        event.records = vec![msg("a", "ok"), msg("b", "retry"), msg("c", "drop")];
        let out = consume(event, |m| async move {
            match m.body.as_deref() {
                Some("retry") => Err(MessageError::Retry("x".into())),
                Some("drop") => Err(MessageError::Drop("y".into())),
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

    #[test]
    fn contracts_round_trip_with_version() {
        let n = Notification::Email {
            id: "1".into(),
            to: Email::parse("a@b.org").unwrap(),
            letter: Letter {
                subject: "s".into(),
                text: "t".into(),
                html: "h".into(),
            },
        };
        let body = encode(&n, NOTIFY_VERSION);
        assert!(
            body.contains("\"v\":1") && body.contains("\"kind\":\"email\""),
            "{body}"
        );
        assert_eq!(parse::<Notification>(&msg("m", &body), NOTIFY_VERSION).unwrap(), n);
        assert!(parse::<Notification>(&msg("m", &body), 2).is_err());
        assert!(parse::<Notification>(&msg("m", "{"), 1).is_err());
    }
}
