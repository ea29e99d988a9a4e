//! Every five minutes: sends the content events still in the outbox
//! (`store::outbox`) five minutes after they were written, to the `content`
//! queue. An event is in the outbox from its write's own transaction until
//! `fanout` has fanned it out, so what this finds is an event whose send
//! failed after the commit (or whose writer died in between), or one a
//! backlog has not reached yet, which then fans out twice, harmlessly
//! (inbox entries and deliveries are keyed by event and member).
//!
//! Once sent, an entry is deleted: the queue and its DLQ hold the event
//! from there, so a poison event is not sent again every five minutes.

use lodge::queue::QueueSender;
use lodge::store::Store;
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    content: QueueSender,
    clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_env(env, aws)?,
            content: QueueSender::new(lodge::aws::sqs(aws), env.required("LODGE_CONTENT_QUEUE_URL")?),
            clock,
        })
    }
}

/// An event younger than this is left to its writer's own send.
const GRACE_MS: i64 = 5 * 60 * 1000;
/// Entries a page; a run goes on while pages come back full.
const PAGE: i32 = 100;
/// Pages a run at most: a backlog beyond them waits for the next run.
const MAX_PAGES: usize = 20;

/// One run. Fails (for the scheduler to log and retry) when a send or a
/// delete fails; what was sent before stays sent, and is not sent again.
pub async fn handler(state: &State, _event: serde_json::Value) -> Result<(), String> {
    let before = state.clock.now_ms() - GRACE_MS;
    let outbox = state.store.outbox();
    let mut swept = 0;
    for _ in 0..MAX_PAGES {
        let events = outbox.unsent(before, PAGE).await.map_err(|e| e.to_string())?;
        let full = events.len() == PAGE as usize;
        state.content.send_all(&events).await?;
        for event in &events {
            tracing::warn!(event = %event.key(), at_ms = event.at_ms(), "content event sent again from the outbox");
            outbox.done(event).await.map_err(|e| e.to_string())?;
        }
        swept += events.len();
        if !full {
            break;
        }
    }
    tracing::info!(swept, "outbox swept");
    Ok(())
}
