//! The daily Telegram digest's planner, run by its schedule (Monday to
//! Saturday 09:00 in `DigestTimeZone`): the last 24 hours (72 on Mondays)
//! in one message within Telegram's 4,096 characters, built once and
//! stored as the day's issue (`daily-2026-12-08`), then fanned out like the
//! weekly issue (`digest::fanout`): the approved members who chose it and
//! have Telegram linked, 50 per message on the `digest` queue.
//! `digest-sender` sends it, once per (issue, member) by the same ledger.
//! A day with nothing new stores the issue as skipped and sends nothing.

use lodge::config::AppUrl;
use lodge::digest::fanout::{self, Outcome, PlanError};
use lodge::digest::{build, daily, EVENTS_AHEAD_SECS};
use lodge::domain::digest::IssueId;
use lodge::queue::QueueSender;
use lodge::store::digests::{IssueRecord, IssueStatus};
use lodge::store::Store;
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    queue: QueueSender,
    app: AppUrl,
    clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_env(env, aws)?,
            queue: QueueSender::new(lodge::aws::sqs(aws), env.required("LODGE_DIGEST_QUEUE_URL")?),
            app: env
                .app_url()?
                .ok_or_else(|| ConfigError::new("LODGE_APP_URL", "is missing"))?,
            clock,
        })
    }
}

pub async fn handler(state: &State, _event: serde_json::Value) -> Result<(), String> {
    use tracing::Instrument;
    match plan(state).instrument(tracing::info_span!("digest_daily")).await {
        Ok(outcome) => {
            tracing::info!(?outcome, "daily digest planned");
            Ok(())
        }
        Err(e) => {
            // The scheduler's retry resumes the fan-out where it stopped.
            tracing::error!(error = %e, "daily digest planning failed");
            Err(e.to_string())
        }
    }
}

pub async fn plan(state: &State) -> Result<Outcome, PlanError> {
    let now = state.clock.now();
    let day = &lodge::clock::rfc3339(now)[..10];
    let id = IssueId::daily(day).expect("rfc3339 gives valid days");
    let d = state.store.digests();
    let issue = match d.issue(&id).await? {
        Some(issue) => issue,
        None => {
            let hours = daily::window_hours(now);
            let (posts, events) = tokio::try_join!(
                d.gsi1_window("ALL", (now - hours * 3600) * 1000, now * 1000),
                d.gsi1_window("EVENTS", now * 1000, (now + EVENTS_AHEAD_SECS) * 1000),
            )?;
            let posts = build::top(posts.iter().map(build::card).collect(), usize::MAX);
            let events: Vec<_> = events.iter().map(build::event).collect();
            let text = daily::daily_message(&state.app, hours, &posts, &events);
            let record = IssueRecord {
                id: id.clone(),
                status: if text.is_some() {
                    IssueStatus::Planned
                } else {
                    IssueStatus::Skipped
                },
                reason: text.is_none().then(|| {
                    format!(
                        "no new posts in the {hours} hours before {}",
                        lodge::clock::rfc3339(now)
                    )
                }),
                fanout_done: text.is_none(),
                content: None,
                daily_text: text,
                planned_at: now,
                tally_week: lodge::feed::order::iso_week(now),
                fanout_after: None,
                batches: 0,
                recipients: 0,
            };
            fanout::create(&state.store, &record).await?.0
        }
    };
    fanout::fan_out(&state.store, &state.queue, issue, |r| r.daily_chat().is_ok()).await
}
