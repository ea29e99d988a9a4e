//! The `forward` queue contract: one job per (source message or album,
//! destination). The queue is FIFO with `MessageGroupId` = destination chat,
//! so each destination sees its posts, albums and edits in source order, and
//! `MessageDeduplicationId` = job id, so a re-sent job is dropped by SQS too.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::{Deserialize, Serialize};

use super::post::Post;
use super::rule::{Destination, ForwardRule};
use crate::queue::{encode, Contract, Envelope};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "work", rename_all = "snake_case")]
pub enum Work {
    /// A single message; `text` is the filtered text when filters changed it.
    Post { post: Post, text: Option<String> },
    /// An album: its items are gathered from the table at `flush_at`.
    Album {
        media_group_id: String,
        first: Post,
        flush_at: i64,
    },
    /// The source message was edited: edit the copy.
    Edit { post: Post },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ForwardJob {
    pub id: String,
    /// The rule as it was when the post arrived.
    pub rule: ForwardRule,
    pub dest: Destination,
    #[serde(flatten)]
    pub work: Work,
    pub enqueued_at: i64,
}

impl Contract for ForwardJob {
    const VERSION: u32 = 1;
}

impl ForwardJob {
    pub fn new(rule: &ForwardRule, dest: Destination, work: Work, now: i64) -> Self {
        let (kind, source, message, edit) = match &work {
            Work::Post { post, .. } => ("post", post.chat_id, post.message_id.to_string(), 0),
            Work::Album {
                media_group_id, first, ..
            } => ("album", first.chat_id, media_group_id.clone(), 0),
            Work::Edit { post } => (
                "edit",
                post.chat_id,
                post.message_id.to_string(),
                post.edit_date.unwrap_or(now),
            ),
        };
        // Deterministic: the same update ingested twice yields the same job.
        let id = crate::crypto::sha256_hex(
            format!("{}|{}|{kind}|{source}|{message}|{edit}", rule.id, dest.key()).as_bytes(),
        )[..40]
            .to_string();
        Self {
            id,
            rule: rule.clone(),
            dest,
            work,
            enqueued_at: now,
        }
    }

    /// The source message this job is about (for an album, its first item).
    pub fn source(&self) -> &Post {
        match &self.work {
            Work::Post { post, .. } | Work::Edit { post } => post,
            Work::Album { first, .. } => first,
        }
    }

    pub fn group_id(&self) -> String {
        self.dest.chat_id.to_string()
    }
}

pub fn parse(body: &str) -> Result<ForwardJob, String> {
    let env: Envelope<ForwardJob> = serde_json::from_str(body).map_err(|e| format!("malformed forward job: {e}"))?;
    if env.v != ForwardJob::VERSION {
        return Err(format!("unsupported forward job version {}", env.v));
    }
    Ok(env.body)
}

/// Sends jobs to the FIFO queue, ten per request.
#[derive(Clone)]
pub struct JobQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl JobQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub async fn send(&self, jobs: &[ForwardJob]) -> Result<(), String> {
        for chunk in jobs.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, job)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(encode(job))
                        .message_group_id(job.group_id())
                        .message_deduplication_id(&job.id)
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
                .map_err(|e| format!("SQS send failed: {e}"))?;
            if let Some(f) = out.failed.first() {
                return Err(format!(
                    "SQS refused a forward job: {} {}",
                    f.code,
                    f.message.clone().unwrap_or_default()
                ));
            }
        }
        Ok(())
    }

    /// Dead-letters a job ourselves, with the reason, when its retries are
    /// spent (SQS's own redrive only catches crashes: see docs/forwarding.md, “Exactly once”).
    pub async fn dead_letter(&self, body: &str, group: &str, dedup: &str, reason: &str) -> Result<(), String> {
        let reason_attr = aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(reason.chars().take(1000).collect::<String>())
            .build()
            .map_err(|e| e.to_string())?;
        let wrapped = serde_json::json!({"reason": reason, "job": serde_json::from_str::<serde_json::Value>(body).unwrap_or(serde_json::Value::String(body.into()))});
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(wrapped.to_string())
            .message_group_id(group)
            .message_deduplication_id(crate::crypto::sha256_hex(format!("dlq|{dedup}").as_bytes()))
            .message_attributes("reason", reason_attr)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("SQS send to the DLQ failed: {e}"))
    }

    /// Makes an in-flight message visible again after `seconds` — how a job
    /// waits for `retry_after` or a rate window without a new message (which
    /// would lose its place in the FIFO group).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forwarding::rule::RuleId;
    use serde_json::json;

    #[test]
    fn jobs_round_trip_and_ids_are_deterministic() {
        let rule = ForwardRule::from_json(
            RuleId::parse("r").unwrap(),
            &json!({"source_chat_id": -1, "destinations": [{"chat_id": -2}], "mode": "copy"}),
        )
        .unwrap();
        let post = Post::from_message(&json!({"message_id": 3, "date": 1, "chat": {"id": -1}, "text": "hi"})).unwrap();
        let a = ForwardJob::new(
            &rule,
            rule.destinations[0],
            Work::Post {
                post: post.clone(),
                text: None,
            },
            100,
        );
        let b = ForwardJob::new(
            &rule,
            rule.destinations[0],
            Work::Post {
                post: post.clone(),
                text: None,
            },
            200,
        );
        assert_eq!(a.id, b.id);
        let e = ForwardJob::new(&rule, rule.destinations[0], Work::Edit { post }, 100);
        assert_ne!(a.id, e.id);
        let body = encode(&a);
        let back = parse(&body).unwrap();
        assert_eq!(back.id, a.id);
        assert!(matches!(back.work, Work::Post { .. }));
        assert_eq!(a.group_id(), "-2");
        assert!(parse("{\"v\":9}").is_err());
    }
}
