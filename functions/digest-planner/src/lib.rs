//! The weekly digest's planner, run by its schedule (Mondays 10:00 in
//! `DigestTimeZone`). It builds the issue's shared content once, O(posts in
//! the window), stores it under the week's id (`weekly-2026-W49`) and fans
//! the recipients out to the `digest` queue, 50 members per message and 10
//! messages per `SendMessageBatch`.
//!
//! Re-running is safe: the issue is created with a condition, and the
//! fan-out's progress (the last member enqueued) is stored after each page
//! with a condition on the previous progress, so a re-run continues where
//! the last one stopped and a finished issue enqueues nothing. (A run that
//! dies between a `SendMessageBatch` and its progress write re-sends that
//! page; the sender's ledger makes that harmless.) A week with no new posts
//! or members stores the issue as skipped, with the reason.

use lodge::digest::{self, build, MEMBERS_PER_MESSAGE, MESSAGES_PER_CALL, WEEK_SECS};
use lodge::domain::MemberId;
use lodge::queue::{DigestBatch, QueueSender};
use lodge::store::digests::{IssueRecord, IssueStatus};
use lodge::store::{Store, StoreError};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    queue: QueueSender,
    clock: SharedClock,
}

/// Members read per page of the fan-out: 10 messages' worth.
const PAGE: i32 = (MEMBERS_PER_MESSAGE * MESSAGES_PER_CALL) as i32;

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_env(env, aws)?,
            queue: QueueSender::new(lodge::aws::sqs(aws), env.required("LODGE_DIGEST_QUEUE_URL")?),
            clock,
        })
    }
}

/// What a run did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Skipped(String),
    Enqueued { messages: usize, members: usize },
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
                planned_at: now,
                tally_week: week,
                fanout_after: None,
                fanout_done: empty,
                batches: 0,
                recipients: 0,
            };
            if d.create_issue(&record).await? && !empty {
                if let Some(note) = &note {
                    d.take_note(note).await?;
                }
            }
            d.issue(&id)
                .await?
                .ok_or(StoreError::Corrupt("issue vanished".into()))?
        }
    };
    if issue.status == IssueStatus::Skipped {
        return Ok(Outcome::Skipped(issue.reason.unwrap_or_default()));
    }
    fan_out(state, issue).await
}

async fn fan_out(state: &State, mut issue: IssueRecord) -> Result<Outcome, PlanError> {
    let d = state.store.digests();
    let (mut messages, mut members) = (0, 0);
    while !issue.fanout_done {
        let page = d.approved_after(issue.fanout_after.as_deref(), PAGE).await?;
        let Some(last) = page.members.last().map(|(sk, _)| sk.clone()) else {
            d.finish_fanout(&issue.id).await?;
            break;
        };
        // Who can get it now; the sender checks again at send time.
        let ids: Vec<MemberId> = page
            .members
            .into_iter()
            .filter(|(_, r)| r.weekly_blocked().is_none())
            .map(|(_, r)| r.id)
            .collect();
        let batches: Vec<DigestBatch> = ids
            .chunks(MEMBERS_PER_MESSAGE)
            .map(|c| DigestBatch {
                issue: issue.id.clone(),
                members: c.to_vec(),
            })
            .collect();
        for call in batches.chunks(MESSAGES_PER_CALL) {
            state.queue.send_batch(call).await.map_err(PlanError::Queue)?;
        }
        match d
            .advance_fanout(
                &issue.id,
                issue.fanout_after.as_deref(),
                &last,
                batches.len() as i64,
                ids.len() as i64,
                !page.more,
            )
            .await
        {
            Ok(()) => {
                messages += batches.len();
                members += ids.len();
                issue.fanout_after = Some(last);
                issue.fanout_done = !page.more;
            }
            // Another run moved on meanwhile: continue from where it is.
            Err(StoreError::Conflict) => {
                let fresh = d
                    .issue(&issue.id)
                    .await?
                    .ok_or(StoreError::Corrupt("issue vanished".into()))?;
                if fresh.fanout_after == issue.fanout_after {
                    return Err(StoreError::Corrupt("the fan-out's progress is not where it was read".into()).into());
                }
                issue = fresh;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Outcome::Enqueued { messages, members })
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Queue(String),
}
