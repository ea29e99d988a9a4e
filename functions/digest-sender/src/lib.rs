//! Consumer of the `digest` queue: renders and sends one weekly issue to
//! each member of a batch, exactly once per (issue, member).
//!
//! - The ledger is `Store::once` on `digest/<issue>#<member>`: a lease is
//!   taken with a condition before the send and marked done after it. A
//!   redelivered or duplicated message, a re-run planner and a concurrent
//!   sender all find the member done (skip) or leased (skip: the holder's
//!   own message comes back if it dies, and retries once the lease ends).
//! - It reads 2 items per recipient: the profile and the week's tally, in
//!   one `BatchGetItem` per 50 members, plus the issue once per container.
//!   A member who unsubscribed, was banned or became undeliverable since
//!   planning is skipped.
//! - Sends stay under `LODGE_DIGEST_MAX_SEND_RATE` per second across every
//!   sender: a 1-second window counter in DynamoDB (`store.rate_limits().take_hits`, the
//!   forwarder's limiter), on the real clock because SES counts real seconds.
//! - A transient SES error releases the lease and fails the message (its
//!   redelivery skips who is done); a rejection marks the address
//!   undeliverable and is final. One member never stops the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lodge::config::AppUrl;
use lodge::digest::render;
use lodge::domain::digest::{IssueId, Recipient, Undeliverable, UndeliverableKind, WeekTally};
use lodge::mail::unsubscribe::UnsubscribeKey;
use lodge::mail::Mailer;
use lodge::queue::{self, DigestBatch, MessageError};
use lodge::store::digests::{IssueRecord, IssueStatus};
use lodge::store::once::Attempt;
use lodge::store::{Store, StoreError};
use lodge::{Clock, ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    mailer: Mailer,
    app: AppUrl,
    key: UnsubscribeKey,
    clock: SharedClock,
    max_rate: u32,
    /// The function's timeout: the ledger lease, and the send budget.
    timeout: Duration,
    issues: Mutex<HashMap<IssueId, Arc<IssueRecord>>>,
}

/// The ledger's scope, and how long it remembers (past any redelivery).
const LEDGER: &str = "digest";
const LEDGER_TTL_SECS: i64 = 400 * 86_400;

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let max_rate = env.parse_or("LODGE_DIGEST_MAX_SEND_RATE", 10u32)?;
        if max_rate == 0 {
            return Err(ConfigError::new("LODGE_DIGEST_MAX_SEND_RATE", "must be at least 1"));
        }
        Ok(Self {
            store: Store::from_env(env, aws)?,
            mailer: Mailer::from_env(env, aws)?,
            app: env
                .app_url()?
                .ok_or_else(|| ConfigError::new("LODGE_APP_URL", "is missing"))?,
            key: UnsubscribeKey::from_env(env)?,
            clock,
            max_rate,
            timeout: env.function_timeout()?,
            issues: Mutex::default(),
        })
    }
}

pub async fn handler(state: &State, event: SqsEvent) -> SqsBatchResponse {
    let started = Instant::now();
    queue::consume(event, |msg| handle(state, msg, started)).await
}

fn retry(e: StoreError) -> MessageError {
    MessageError::Retry(lodge::telemetry::chain(&e))
}

async fn issue(state: &State, id: &IssueId) -> Result<Arc<IssueRecord>, MessageError> {
    if let Some(i) = state.issues.lock().expect("issues lock").get(id) {
        return Ok(i.clone());
    }
    let record = state
        .store
        .digests()
        .issue(id)
        .await
        .map_err(retry)?
        .filter(|i| i.status == IssueStatus::Planned && i.content.is_some())
        .ok_or_else(|| MessageError::Drop(format!("no planned issue {id}")))?;
    let record = Arc::new(record);
    state
        .issues
        .lock()
        .expect("issues lock")
        .insert(id.clone(), record.clone());
    Ok(record)
}

async fn handle(state: &State, msg: SqsMessage, started: Instant) -> Result<(), MessageError> {
    let batch: DigestBatch = queue::parse(&msg)?;
    let issue = issue(state, &batch.issue).await?;
    let (profiles, tallies) = state
        .store
        .digests()
        .recipients_with_tallies(&batch.members, &issue.tally_week)
        .await
        .map_err(retry)?;
    let mut failed = Vec::new();
    for id in &batch.members {
        let Some(member) = profiles.get(id) else {
            continue;
        };
        if let Some(why) = member.weekly_blocked() {
            tracing::info!(issue = %issue.id, member = %id, why, "digest skipped");
            continue;
        }
        if let Err(e) = send_once(state, &issue, member, tallies.get(id).copied(), started).await {
            failed.push(format!("{id}: {e}"));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(MessageError::Retry(failed.join("; ")))
    }
}

async fn send_once(
    state: &State,
    issue: &IssueRecord,
    member: &Recipient,
    tally: Option<WeekTally>,
    started: Instant,
) -> Result<(), MessageError> {
    let key = format!("{}#{}", issue.id, member.id);
    let now = state.clock.now();
    let lease = match state
        .store
        .once(LEDGER, &key, now, state.timeout.as_secs() as i64, LEDGER_TTL_SECS)
        .await
        .map_err(retry)?
    {
        Attempt::Go(lease) => lease,
        Attempt::Done => return Ok(()),
        Attempt::Busy { .. } => {
            tracing::info!(delivery = %key, "digest held by another sender");
            return Ok(());
        }
    };
    if let Err(e) = wait_for_rate(state, started).await {
        let _ = lease.release(&state.store).await;
        return Err(e);
    }
    let content = issue.content.as_ref().expect("planned issues have content");
    let letter = render::personal_letter(&state.app, &state.key, &issue.id, content, member, tally);
    match state.mailer.send(&member.email, &letter).await {
        Ok(message_id) => {
            tracing::info!(delivery = %key, %message_id, "digest sent");
            lease.done(&state.store, state.clock.now()).await.map_err(retry)
        }
        Err(e) if e.is_permanent() => {
            tracing::warn!(delivery = %key, to = %member.email.fingerprint(), error = %e, "digest rejected: address marked undeliverable");
            let mark = Undeliverable {
                kind: UndeliverableKind::Rejected,
                at: state.clock.now(),
                detail: e.to_string(),
            };
            state
                .store
                .digests()
                .mark_undeliverable(&member.email, &mark)
                .await
                .map_err(retry)?;
            lease.done(&state.store, state.clock.now()).await.map_err(retry)
        }
        Err(e) => {
            let _ = lease.release(&state.store).await;
            Err(MessageError::Retry(e.to_string()))
        }
    }
}

/// Takes one send from this second's window, shared by every sender,
/// waiting for the next second while it is full. Gives up (the message
/// comes back) when the function's time is nearly out.
async fn wait_for_rate(state: &State, started: Instant) -> Result<(), MessageError> {
    loop {
        let now_ms = lodge::clock::SystemClock.now_ms();
        let second = now_ms.div_euclid(1000);
        if state
            .store
            .rate_limits()
            .take_hits("digest-ses", "all", second, 1, state.max_rate, second + 120)
            .await
            .map_err(retry)?
        {
            return Ok(());
        }
        if started.elapsed() + Duration::from_secs(5) > state.timeout {
            return Err(MessageError::Retry("send rate: out of time in this invocation".into()));
        }
        let wait = 1000 - now_ms.rem_euclid(1000) + (now_ms % 7);
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
}
