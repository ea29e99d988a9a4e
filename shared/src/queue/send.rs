//! Sending contract messages to a standard queue.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;

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

    /// Sends every message, ten per `SendMessageBatch`. An entry SQS refused
    /// is an error naming it (the caller's message is retried; its
    /// consumers are idempotent, so what did go out is not sent twice).
    pub async fn send_all<T: Contract>(&self, bodies: &[T]) -> Result<(), String> {
        for chunk in bodies.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(encode(body))
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
            if let Some(f) = out.failed.first() {
                return Err(format!(
                    "SQS refused {} of {} messages: {} {}",
                    out.failed.len(),
                    chunk.len(),
                    f.code,
                    f.message.clone().unwrap_or_default()
                ));
            }
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
