//! Sending contract messages to a standard queue.

use super::contracts::{encode, Contract};

/// Sends one contract's messages to one queue.
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

    pub async fn send<T: Contract>(&self, body: &T) -> Result<(), String> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(encode(body))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("SQS send failed: {e}"))
    }

    /// Sends a message about a write that has already committed: the write
    /// stands whatever happens here, so the caller answers success either
    /// way. What SQS still refuses after the SDK's retries is logged at
    /// error level with the whole message, to be replayed from the logs
    /// (docs/notifications.md, "When the send fails").
    pub async fn send_after_commit<T: Contract>(&self, body: &T) {
        if let Err(e) = self.send(body).await {
            tracing::error!(dependency = "SQS", queue = %self.url, message = %encode(body), error = %e, "message not sent after its write committed");
        }
    }

    /// Sends up to 10 messages in one `SendMessageBatch`, retrying the
    /// entries SQS reports failed (it may fail some and take the rest).
    pub async fn send_batch<T: Contract>(&self, bodies: &[T]) -> Result<(), String> {
        use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
        let mut pending: Vec<(String, String)> = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| (i.to_string(), encode(b)))
            .collect();
        for attempt in 0..4u32 {
            let entries = pending
                .iter()
                .map(|(id, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(id)
                        .message_body(body)
                        .build()
                        .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| format!("SQS batch send failed: {e}"))?;
            let failed: Vec<String> = out.failed.iter().map(|f| f.id.clone()).collect();
            if failed.is_empty() {
                return Ok(());
            }
            pending.retain(|(id, _)| failed.contains(id));
            tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
        }
        Err(format!("SQS refused {} message(s) of a batch", pending.len()))
    }

    /// Sends every message, ten per `SendMessageBatch`. An error means the
    /// caller's message is retried; its consumers are idempotent, so what
    /// did go out is not acted on twice.
    pub async fn send_all<T: Contract>(&self, bodies: &[T]) -> Result<(), String> {
        for chunk in bodies.chunks(10) {
            self.send_batch(chunk).await?;
        }
        Ok(())
    }

    /// Makes an in-flight message of this queue visible again after
    /// `seconds`: how a delivery waits out Telegram's `retry_after`.
    pub async fn wait(&self, receipt: &str, seconds: i64) -> Result<(), String> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds.clamp(0, 43_200) as i32)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("SQS visibility change failed: {e}"))
    }
}
