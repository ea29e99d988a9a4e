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
}
