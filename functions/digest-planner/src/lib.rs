//! The weekly digest's planner, run by its schedule (Mondays 10:00 in
//! `DigestTimeZone`). It builds the issue's shared content once, O(posts in
//! the window), stores it under the week's id (`weekly-2026-W49`) and fans
//! the recipients out to the `digest` queue, 50 members per message and 10
//! messages per `SendMessageBatch`.
//!
//! Re-running is safe (`digest::fanout`): the issue is created with a
//! condition and the fan-out resumes from its stored progress, so a
//! finished issue enqueues nothing. A week with no new posts or members
//! stores the issue as skipped, with the reason.

use lodge::digest::fanout::{self, Outcome, PlanError};
use lodge::digest::{self, build, WEEK_SECS};
use lodge::queue::QueueSender;
use lodge::store::digests::{IssueRecord, IssueStatus};
use lodge::store::Store;
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    queue: QueueSender,
    clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_env(env, aws)?,
            queue: QueueSender::new(lodge::aws::sqs(aws), env.required("LODGE_DIGEST_QUEUE_URL")?),
            clock,
        })
    }
}

pub async fn handler(state: &State, _event: serde_json::Value) -> Result<(), String> {
    use tracing::Instrument;
    match plan(state).instrument(tracing::info_span!("digest_plan")).await {
        Ok(outcome) => {
            tracing::info!(?outcome, "digest planned");
            Ok(())
        }
        Err(e) => {
            tracing::error!(error = %e, "digest planning failed");
            Err(e.to_string())
        }
    }
}

pub async fn plan(state: &State) -> Result<Outcome, PlanError> {
    let now = state.clock.now();
    let (id, week) = digest::issue_for(now);
    let d = state.store.digests();
    let issue = match d.issue(&id).await? {
        Some(issue) => issue,
        None => {
            let note = d.note().await?;
            let content = build::build(&state.store, now, WEEK_SECS, note.as_ref().map(|n| n.text.as_str())).await?;
            let empty = content.is_empty();
            let record = IssueRecord {
                id: id.clone(),
                status: if empty {
                    IssueStatus::Skipped
                } else {
                    IssueStatus::Planned
                },
                reason: empty.then(|| {
                    format!(
                        "no new posts or members between {} and {}",
                        lodge::clock::rfc3339(content.from),
                        lodge::clock::rfc3339(content.to)
                    )
                }),
                content: (!empty).then_some(content),
                daily_text: None,
                planned_at: now,
                tally_week: week,
                fanout_after: None,
                fanout_done: empty,
                batches: 0,
                recipients: 0,
            };
            let (issue, created) = fanout::create(&state.store, &record).await?;
            if created && !empty {
                if let Some(note) = &note {
                    d.take_note(note).await?;
                }
            }
            issue
        }
    };
    // Who can get it now; the sender checks again at send time.
    fanout::fan_out(&state.store, &state.queue, issue, |r| r.weekly_blocked().is_none()).await
}
