//! Planning an issue once and fanning its recipients out to the `digest`
//! queue, 50 members per message (`DigestBatch`) and 10 messages per
//! `SendMessageBatch`: the weekly planner and the daily Telegram digest
//! both plan through here, and `digest-sender` sends both (docs/digests.md).
//!
//! Re-running is safe: the issue is created with a condition, and the
//! fan-out's progress (the last member enqueued) is stored after each page
//! with a condition on the previous progress, so a re-run continues where
//! the last one stopped and a finished issue enqueues nothing. (A run that
//! dies between a `SendMessageBatch` and its progress write re-sends that
//! page; the sender's ledger makes that harmless.)

use super::{MEMBERS_PER_MESSAGE, MESSAGES_PER_CALL};
use crate::domain::digest::Recipient;
use crate::domain::MemberId;
use crate::queue::{DigestBatch, QueueSender};
use crate::store::digests::{IssueRecord, IssueStatus};
use crate::store::{Store, StoreError};

/// Members read per page of the fan-out: 10 messages' worth.
const PAGE: i32 = (MEMBERS_PER_MESSAGE * MESSAGES_PER_CALL) as i32;

/// What a run did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Skipped(String),
    Enqueued { messages: usize, members: usize },
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Queue(String),
}

/// Stores `record` unless its issue exists (another run made it); returns
/// the issue as stored and whether this call created it.
pub async fn create(store: &Store, record: &IssueRecord) -> Result<(IssueRecord, bool), StoreError> {
    let d = store.digests();
    let created = d.create_issue(record).await?;
    let stored = d
        .issue(&record.id)
        .await?
        .ok_or(StoreError::Corrupt("issue vanished".into()))?;
    Ok((stored, created))
}

/// Enqueues the approved members for whom `eligible` holds (the sender
/// checks again at send time), from the issue's stored progress on.
pub async fn fan_out(
    store: &Store,
    queue: &QueueSender,
    mut issue: IssueRecord,
    eligible: impl Fn(&Recipient) -> bool,
) -> Result<Outcome, PlanError> {
    if issue.status == IssueStatus::Skipped {
        return Ok(Outcome::Skipped(issue.reason.unwrap_or_default()));
    }
    let d = store.digests();
    let (mut messages, mut members) = (0, 0);
    while !issue.fanout_done {
        let page = d.approved_after(issue.fanout_after.as_deref(), PAGE).await?;
        let Some(last) = page.members.last().map(|(sk, _)| sk.clone()) else {
            d.finish_fanout(&issue.id).await?;
            break;
        };
        let ids: Vec<MemberId> = page
            .members
            .into_iter()
            .filter(|(_, r)| eligible(r))
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
            queue.send_batch(call).await.map_err(PlanError::Queue)?;
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
