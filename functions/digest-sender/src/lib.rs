//! Consumer of the `digest` queue: sends one issue to each member of a
//! batch, exactly once per (issue, member). The issue's id says which kind
//! (`IssueKind`): a weekly issue is rendered per member and emailed
//! through SES; a daily one is its one stored message, sent through the
//! Telegram bot (docs/digests.md, "One queue, two kinds").
//!
//! - The ledger is `Store::once` on `digest/<issue>#<member>`: a lease is
//!   taken with a condition before the send and marked done after it. A
//!   redelivered or duplicated message, a re-run planner and a concurrent
//!   sender all find the member done (skip) or leased (skip: the holder's
//!   own message comes back if it dies, and retries once the lease ends).
//! - A weekly batch reads 2 items per recipient (the profile and the
//!   week's tally), a daily one 1 (the profile), in one `BatchGetItem` per
//!   50 members, plus the issue once per container. A member who
//!   unsubscribed, was banned or became unreachable since planning is
//!   skipped.
//! - Sends stay under a per-second rate across every sender, a 1-second
//!   window counter in DynamoDB (`store.rate_limits().take_hits`, the
//!   forwarder's limiter) on the real clock: `LODGE_DIGEST_MAX_SEND_RATE`
//!   for SES, 25/s for the bot (Telegram allows about 30).
//! - A transient SES or Bot API error releases the lease and fails the
//!   message (its redelivery skips who is done); an SES rejection marks the
//!   address undeliverable, a bot blocked by the member marks the chat
//!   unreachable, and both are final. One member never stops the others.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lodge::config::AppUrl;
use lodge::digest::render;
use lodge::domain::digest::{IssueId, IssueKind, Recipient, Undeliverable, UndeliverableKind, WeekTally};
use lodge::mail::unsubscribe::UnsubscribeKey;
use lodge::mail::Mailer;
use lodge::queue::{self, DigestBatch, MessageError};
use lodge::store::digests::{IssueRecord, IssueStatus};
use lodge::store::once::Attempt;
use lodge::store::{Store, StoreError};
use lodge::telegram::types::SendMessage;
use lodge::telegram::{BotApi, BotError};
use lodge::{Clock, ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    mailer: Mailer,
    /// For daily issues.
    bot: BotApi,
    app: AppUrl,
    key: UnsubscribeKey,
    clock: SharedClock,
    max_rate: u32,
    /// The function's timeout: the ledger lease, and the send budget.
    timeout: Duration,
    issues: Mutex<HashMap<IssueId, Arc<IssueRecord>>>,
}

/// The ledger's scope, and how long it remembers an issue's sends (past
/// any redelivery or re-run of its planner).
const LEDGER: &str = "digest";
fn ledger_ttl_secs(kind: IssueKind) -> i64 {
    match kind {
        IssueKind::Weekly => 400 * 86_400,
        IssueKind::Daily => 30 * 86_400,
    }
}

/// A send-rate window shared by every sender.
#[derive(Clone, Copy)]
struct Rate {
    name: &'static str,
    per_second: u32,
}

/// Bot messages per second for the daily digest, under Telegram's ~30/s for a bot.
const TELEGRAM_RATE: Rate = Rate {
    name: "digest-tg",
    per_second: 25,
};

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let max_rate = env.parse_or("LODGE_DIGEST_MAX_SEND_RATE", 10u32)?;
        if max_rate == 0 {
            return Err(ConfigError::new("LODGE_DIGEST_MAX_SEND_RATE", "must be at least 1"));
        }
        Ok(Self {
            store: Store::from_env(env, aws)?,
            mailer: Mailer::from_env(env, aws)?,
            bot: BotApi::from_env(env)?,
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
        .filter(|i| {
            i.status == IssueStatus::Planned
                && match i.id.kind() {
                    IssueKind::Weekly => i.content.is_some(),
                    IssueKind::Daily => i.daily_text.is_some(),
                }
        })
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
    let d = state.store.digests();
    let kind = issue.id.kind();
    let (profiles, tallies) = match kind {
        IssueKind::Weekly => d.recipients_with_tallies(&batch.members, &issue.tally_week).await,
        IssueKind::Daily => d.recipients(&batch.members).await.map(|p| (p, HashMap::new())),
    }
    .map_err(retry)?;
    let mut failed = Vec::new();
    for id in &batch.members {
        let Some(member) = profiles.get(id) else {
            continue;
        };
        let sent = match kind {
            IssueKind::Weekly => match member.weekly_blocked() {
                Some(why) => Err(why),
                None => Ok(send_once(state, &issue, member, ses_rate(state), started, || {
                    send_email(state, &issue, member, tallies.get(id).copied())
                })
                .await),
            },
            IssueKind::Daily => match member.daily_chat() {
                Err(why) => Err(why),
                Ok(chat) => Ok(send_once(state, &issue, member, TELEGRAM_RATE, started, || {
                    send_telegram(state, &issue, member, chat)
                })
                .await),
            },
        };
        match sent {
            Err(why) => tracing::info!(issue = %issue.id, member = %id, why, "digest skipped"),
            Ok(Err(e)) => failed.push(format!("{id}: {e}")),
            Ok(Ok(())) => {}
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(MessageError::Retry(failed.join("; ")))
    }
}

fn ses_rate(state: &State) -> Rate {
    Rate {
        name: "digest-ses",
        per_second: state.max_rate,
    }
}

/// The ledger around one send: takes the (issue, member) lease, waits for
/// the rate, runs `send`, and marks it done, or releases it when `send`
/// fails (the message comes back for it).
async fn send_once<F, Fut>(
    state: &State,
    issue: &IssueRecord,
    member: &Recipient,
    rate: Rate,
    started: Instant,
    send: F,
) -> Result<(), MessageError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), MessageError>>,
{
    let key = format!("{}#{}", issue.id, member.id);
    let now = state.clock.now();
    let lease = match state
        .store
        .once(
            LEDGER,
            &key,
            now,
            state.timeout.as_secs() as i64,
            ledger_ttl_secs(issue.id.kind()),
        )
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
    let sent = match wait_for_rate(state, rate, started).await {
        Ok(()) => send().await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => lease.done(&state.store, state.clock.now()).await.map_err(retry),
        Err(e) => {
            let _ = lease.release(&state.store).await;
            Err(e)
        }
    }
}

/// The weekly email. A rejection marks the address undeliverable and is final.
async fn send_email(
    state: &State,
    issue: &IssueRecord,
    member: &Recipient,
    tally: Option<WeekTally>,
) -> Result<(), MessageError> {
    let content = issue.content.as_ref().expect("planned weekly issues have content");
    let letter = render::personal_letter(&state.app, &state.key, &issue.id, content, member, tally);
    match state.mailer.send(&member.email, &letter).await {
        Ok(message_id) => {
            tracing::info!(issue = %issue.id, member = %member.id, %message_id, "digest sent");
            Ok(())
        }
        Err(e) if e.is_permanent() => {
            tracing::warn!(issue = %issue.id, to = %member.email.fingerprint(), error = %e, "digest rejected: address marked undeliverable");
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
                .map(|_| ())
                .map_err(retry)
        }
        Err(e) => Err(MessageError::Retry(e.to_string())),
    }
}

/// The daily message. A member who blocked the bot is marked unreachable
/// (as every bot message does); other refusals cannot be fixed by a retry.
async fn send_telegram(state: &State, issue: &IssueRecord, member: &Recipient, chat: i64) -> Result<(), MessageError> {
    let text = issue
        .daily_text
        .as_deref()
        .expect("planned daily issues have their text");
    match state.bot.send_message(&SendMessage::html(chat, text)).await {
        Ok(_) => {
            tracing::info!(issue = %issue.id, member = %member.id, "daily digest sent");
            Ok(())
        }
        Err(e) if e.is_transient() => Err(MessageError::Retry(e.to_string())),
        Err(BotError::Forbidden { description }) => {
            tracing::warn!(issue = %issue.id, member = %member.id, %description, "daily digest: bot blocked, chat marked unreachable");
            state
                .store
                .telegram()
                .set_unreachable(&member.id, chat, true)
                .await
                .map_err(retry)
        }
        Err(e) => {
            tracing::warn!(issue = %issue.id, member = %member.id, error = %e, "daily digest refused");
            Ok(())
        }
    }
}

/// Takes one send from this second's window, shared by every sender,
/// waiting for the next second while it is full. Gives up (the message
/// comes back) when the function's time is nearly out.
async fn wait_for_rate(state: &State, rate: Rate, started: Instant) -> Result<(), MessageError> {
    loop {
        let now_ms = lodge::clock::SystemClock.now_ms();
        let second = now_ms.div_euclid(1000);
        if state
            .store
            .rate_limits()
            .take_hits(rate.name, "all", second, 1, rate.per_second, second + 120)
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
