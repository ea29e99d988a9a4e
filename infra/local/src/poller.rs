//! Lambda's SQS event source mapping, on loopback: long-polls a queue, hands
//! batches to its consumer as real SQS events, deletes what succeeded and
//! nothing else. The runner never changes a message's visibility: a message
//! reported failed (or in a batch that failed, crashed or timed out) comes
//! back when its *current* visibility timeout ends — the queue's, or whatever
//! the function set with `ChangeMessageVisibility` — and after
//! `maxReceiveCount` lands in the DLQ, exactly as on AWS. (One exception,
//! outside any delivery: a stopping stack hands back, visible at once, what
//! its last receives took after the stop; see `Loop::run`.)

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use tokio::sync::{watch, Notify};

use crate::functions::SqsFn;

pub struct QueuePoller {
    pub function: String,
    pub queue_url: String,
    pub queue_arn: String,
    /// `BatchSize`: records per invocation (more than 10 needs a batching window).
    pub batch_size: i32,
    /// `MaximumBatchingWindowInSeconds`.
    pub batching_window: Duration,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`: without it Lambda
    /// ignores the response and deletes the whole batch when the call returns.
    pub reports_failures: bool,
    /// The function's `Timeout`: past it the invocation is abandoned and the
    /// whole batch fails.
    pub timeout: Duration,
}

/// Batches in flight per queue when the template sets no
/// `ScalingConfig.MaximumConcurrency` (Lambda starts with five pollers; two
/// keep a slow batch from stalling the queue without loading the stand-in).
pub const DEFAULT_CONCURRENCY: i32 = 2;
/// The stand-in is one process: more loops only queue up in it.
pub const MAX_LOCAL_CONCURRENCY: i32 = 8;
/// Seconds one receive waits for a message. Lambda waits 20; a poll that a
/// stopped stack abandons stays open in the stand-in and would take (and
/// hide) a message meant for its successor, so keep it short.
pub const LONG_POLL_SECS: i32 = 1;

/// Receives in flight, stack-wide, so a stopping stack can wait until none
/// is left (`Stack::shut_down`) instead of guessing how long they take.
#[derive(Default)]
pub struct Receiving {
    count: AtomicUsize,
    ended: Notify,
}

impl Receiving {
    fn start(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    fn end(&self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
        self.ended.notify_waiters();
    }

    /// Returns once no receive is in flight. Loops check the stop signal
    /// before each receive, so after a stop this stays true.
    pub async fn none(&self) {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            ended.await;
        }
    }
}

/// What became of one invocation.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Delete these receipt handles; every other message stays in flight.
    Delete(Vec<String>),
    /// The invocation failed as a whole (error, crash, timeout): delete nothing.
    Failed(String),
}

impl QueuePoller {
    /// Runs `concurrency` poll loops, like Lambda's concurrent invocations.
    /// While the queue is idle only one polls (see `Loop::run`), so an idle
    /// stack costs one long poll per queue at a time.
    pub fn spawn(
        self,
        concurrency: i32,
        sqs: &aws_sdk_sqs::Client,
        handler: &SqsFn,
        stop: &watch::Receiver<bool>,
        receiving: &Arc<Receiving>,
    ) {
        let me = Arc::new(self);
        let busy = Arc::new(Notify::new());
        let polling = Arc::new(AtomicUsize::new(0));
        for i in 0..concurrency.clamp(1, MAX_LOCAL_CONCURRENCY) {
            let lp = Loop {
                poller: me.clone(),
                sqs: sqs.clone(),
                handler: handler.clone(),
                busy: busy.clone(),
                polling: polling.clone(),
                receiving: receiving.clone(),
                scout: i == 0,
            };
            tokio::spawn(lp.run(stop.clone()));
        }
    }

    async fn receive(&self, sqs: &aws_sdk_sqs::Client, max: i32, wait: i32) -> Result<Vec<Message>, String> {
        sqs.receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .map(|out| out.messages.unwrap_or_default())
            .map_err(|e| format!("{e:?}"))
    }

    /// One batch: a long poll, then (with a batching window) more receives
    /// until the batch is full or the window has passed.
    async fn batch(&self, sqs: &aws_sdk_sqs::Client) -> Result<Vec<Message>, String> {
        let mut messages = self.receive(sqs, self.batch_size, LONG_POLL_SECS).await?;
        let window_ends = Instant::now() + self.batching_window;
        while !messages.is_empty() && (messages.len() as i32) < self.batch_size && Instant::now() < window_ends {
            let wait = window_ends.saturating_duration_since(Instant::now()).as_secs() as i32;
            let more = self
                .receive(sqs, self.batch_size - messages.len() as i32, wait.min(LONG_POLL_SECS))
                .await?;
            messages.extend(more);
        }
        Ok(messages)
    }

    /// Makes messages received by a stopping stack visible again at once: it
    /// will not deliver them, and its successor must not wait out their
    /// visibility timeout. The one visibility change the runner makes.
    async fn hand_back(&self, sqs: &aws_sdk_sqs::Client, messages: &[Message]) {
        for receipt in messages.iter().filter_map(|m| m.receipt_handle.as_deref()) {
            let released = sqs
                .change_message_visibility()
                .queue_url(&self.queue_url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await;
            if let Err(e) = released {
                tracing::warn!(queue = %self.queue_url, error = %e, "could not hand back a message at stop");
            }
        }
    }

    /// Invokes the function on `messages` as Lambda would and deletes what it
    /// may delete.
    async fn deliver(&self, sqs: &aws_sdk_sqs::Client, handler: &SqsFn, messages: Vec<Message>) {
        let (event, handles) = self.event(messages);
        match self.outcome(self.invoke(handler, event).await, &handles) {
            Outcome::Delete(receipts) => self.delete(sqs, &receipts).await,
            Outcome::Failed(why) => {
                tracing::warn!(function = %self.function, reason = %why, batch = handles.len(), "batch failed: every message returns after its visibility timeout");
            }
        }
    }

    /// The event Lambda builds, and each record's (message id, receipt handle).
    fn event(&self, messages: Vec<Message>) -> (SqsEvent, Vec<(String, String)>) {
        let mut event = SqsEvent::default();
        let mut handles = Vec::new();
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
            handles.push((m.message_id.unwrap_or_default(), m.receipt_handle.unwrap_or_default()));
            event.records.push(msg);
        }
        (event, handles)
    }

    /// Runs the function within its timeout. A timed-out invocation is
    /// stopped, as Lambda stops the runtime.
    async fn invoke(&self, handler: &SqsFn, event: SqsEvent) -> Result<SqsBatchResponse, String> {
        let mut task = tokio::spawn(handler(event));
        match tokio::time::timeout(self.timeout, &mut task).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(format!("the function crashed: {e}")),
            Err(_) => {
                task.abort();
                let _ = task.await;
                Err(format!(
                    "Task timed out after {:.2} seconds",
                    self.timeout.as_secs_f64()
                ))
            }
        }
    }

    /// Lambda's reading of a response: no failures reported → delete all;
    /// reported ones stay; an identifier that is empty or not in the batch
    /// fails the whole batch.
    pub fn outcome(&self, result: Result<SqsBatchResponse, String>, handles: &[(String, String)]) -> Outcome {
        let response = match result {
            Ok(r) => r,
            Err(why) => return Outcome::Failed(why),
        };
        if !self.reports_failures {
            return Outcome::Delete(handles.iter().map(|(_, h)| h.clone()).collect());
        }
        let ids: HashSet<&str> = handles.iter().map(|(id, _)| id.as_str()).collect();
        let mut failed = HashSet::new();
        for f in &response.batch_item_failures {
            if !ids.contains(f.item_identifier.as_str()) {
                return Outcome::Failed(format!(
                    "batchItemFailures names {:?}, which is not in the batch",
                    f.item_identifier
                ));
            }
            failed.insert(f.item_identifier.as_str());
        }
        Outcome::Delete(
            handles
                .iter()
                .filter(|(id, _)| !failed.contains(id.as_str()))
                .map(|(_, h)| h.clone())
                .collect(),
        )
    }

    async fn delete(&self, sqs: &aws_sdk_sqs::Client, receipts: &[String]) {
        for chunk in receipts.chunks(10) {
            let entries: Vec<_> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(h)
                        .build()
                        .ok()
                })
                .collect();
            if let Err(e) = sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                tracing::warn!(queue = %self.queue_url, error = ?e, "delete failed");
            }
        }
    }
}

/// One of a queue's poll loops.
struct Loop {
    poller: Arc<QueuePoller>,
    sqs: aws_sdk_sqs::Client,
    handler: SqsFn,
    /// Wakes parked helpers when a loop leaves to deliver a batch.
    busy: Arc<Notify>,
    /// Loops inside a receive right now.
    polling: Arc<AtomicUsize>,
    /// Receives in flight across the stack (see `Receiving`).
    receiving: Arc<Receiving>,
    /// The loop that polls while the queue is idle; it never parks.
    scout: bool,
}

impl Loop {
    /// Polls and delivers. A helper parks after an empty receive while
    /// another loop is polling, and wakes when a loop leaves to deliver a
    /// batch, so someone always polls unless every loop is delivering.
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let me = &self.poller;
        let mut failures = 0u32;
        loop {
            if *stop.borrow() {
                return;
            }
            self.polling.fetch_add(1, Ordering::SeqCst);
            // Never abandoned on stop: an abandoned receive stays open in the
            // stand-in and could take a message meant for a successor stack.
            // It ends within LONG_POLL_SECS; what it took after the stop is
            // handed back undelivered.
            self.receiving.start();
            let received = me.batch(&self.sqs).await;
            if *stop.borrow() {
                if let Ok(messages) = &received {
                    me.hand_back(&self.sqs, messages).await;
                }
                self.receiving.end();
                return;
            }
            self.receiving.end();
            self.polling.fetch_sub(1, Ordering::SeqCst);
            match received {
                Ok(messages) if messages.is_empty() => {
                    failures = 0;
                    if self.scout {
                        continue;
                    }
                    let woken = self.busy.notified();
                    tokio::pin!(woken);
                    woken.as_mut().enable();
                    if self.polling.load(Ordering::SeqCst) > 0 {
                        tokio::select! {
                            _ = stop.changed() => return,
                            _ = woken => {}
                        }
                    }
                }
                Ok(messages) => {
                    failures = 0;
                    self.busy.notify_waiters();
                    me.deliver(&self.sqs, &self.handler, messages).await;
                }
                Err(e) => {
                    // Back off while the stand-in is unreachable (e.g. shutting down).
                    failures += 1;
                    tracing::warn!(queue = %me.queue_url, error = %e, "receive failed");
                    let pause = Duration::from_millis(250 << failures.min(4));
                    tokio::select! {
                        _ = stop.changed() => return,
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::BatchItemFailure;

    fn poller(reports_failures: bool) -> QueuePoller {
        QueuePoller {
            function: "F".into(),
            queue_url: "q".into(),
            queue_arn: "arn".into(),
            batch_size: 10,
            batching_window: Duration::ZERO,
            reports_failures,
            timeout: Duration::from_secs(1),
        }
    }

    fn failures(ids: &[&str]) -> SqsBatchResponse {
        let mut r = SqsBatchResponse::default();
        for id in ids {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id.to_string();
            r.batch_item_failures.push(f);
        }
        r
    }

    #[test]
    fn reads_a_response_as_lambda_does() {
        let handles: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|i| (i.to_string(), format!("h-{i}")))
            .collect();
        let p = poller(true);
        assert_eq!(
            p.outcome(Ok(failures(&["b"])), &handles),
            Outcome::Delete(vec!["h-a".into(), "h-c".into()])
        );
        assert!(matches!(p.outcome(Ok(failures(&["x"])), &handles), Outcome::Failed(_)));
        assert!(matches!(p.outcome(Ok(failures(&[""])), &handles), Outcome::Failed(_)));
        assert!(matches!(
            p.outcome(Err("timed out".into()), &handles),
            Outcome::Failed(_)
        ));
        // Without ReportBatchItemFailures the response is not read at all.
        assert_eq!(
            poller(false).outcome(Ok(failures(&["b"])), &handles),
            Outcome::Delete(vec!["h-a".into(), "h-b".into(), "h-c".into()])
        );
    }

    #[tokio::test]
    async fn an_invocation_past_its_timeout_fails_and_is_stopped() {
        struct Stopped(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Stopped {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stopped.clone();
        let never: SqsFn = Arc::new(move |_| {
            let guard = Stopped(flag.clone());
            Box::pin(async move {
                let _guard = guard;
                std::future::pending::<SqsBatchResponse>().await
            })
        });
        let mut p = poller(true);
        p.timeout = Duration::from_millis(50);
        let err = p.invoke(&never, SqsEvent::default()).await.unwrap_err();
        assert!(err.contains("Task timed out after 0.05 seconds"), "{err}");
        assert!(
            stopped.load(std::sync::atomic::Ordering::SeqCst),
            "the invocation still runs"
        );
    }
}
