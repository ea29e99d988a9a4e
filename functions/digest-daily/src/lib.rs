//! The daily Telegram digest, run by its schedule (Monday to Saturday
//! 09:00 in `DigestTimeZone`): the last 24 hours (72 on Mondays) in one
//! message within Telegram's 4,096 characters, to each approved member who
//! chose it and has Telegram linked. One marker per (day, member)
//! (`Store::once`) makes a re-run send nothing twice; sends stay under the
//! bot's rate with the shared DynamoDB window counter.

use std::time::Duration;

use lodge::config::AppUrl;
use lodge::digest::{build, daily, EVENTS_AHEAD_SECS};
use lodge::domain::digest::{DigestChoice, Recipient};
use lodge::store::once::Attempt;
use lodge::store::{Store, StoreError};
use lodge::telegram::types::SendMessage;
use lodge::telegram::BotApi;
use lodge::{Clock, ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    bot: BotApi,
    app: AppUrl,
    clock: SharedClock,
    lease_secs: i64,
}

/// Bot messages per second for the digest, under Telegram's ~30/s for a bot.
const SENDS_PER_SECOND: u32 = 25;
const MARKER: &str = "digest-daily";
const MARKER_TTL_SECS: i64 = 30 * 86_400;

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_env(env, aws)?,
            bot: BotApi::from_env(env)?,
            app: env
                .app_url()?
                .ok_or_else(|| ConfigError::new("LODGE_APP_URL", "is missing"))?,
            lease_secs: env.function_timeout()?.as_secs() as i64,
            clock,
        })
    }
}

/// Who gets it: chose the daily digest, approved, Telegram linked and reachable.
pub fn wants_daily(r: &Recipient) -> Option<i64> {
    let tg = r.telegram.as_ref().filter(|t| !t.unreachable)?;
    (r.status == lodge::domain::MemberStatus::Approved && r.digest_choice() == DigestChoice::Daily)
        .then_some(tg.user_id)
}

pub async fn handler(state: &State, _event: serde_json::Value) -> Result<(), String> {
    use tracing::Instrument;
    let (sent, failed) = run(state)
        .instrument(tracing::info_span!("digest_daily"))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "daily digest failed");
            e.to_string()
        })?;
    tracing::info!(sent, failed, "daily digest done");
    if failed > 0 {
        // A re-run (the scheduler's retry) sends only what is missing.
        return Err(format!("{failed} daily digest message(s) failed"));
    }
    Ok(())
}

/// (sent, failed transiently).
pub async fn run(state: &State) -> Result<(usize, usize), StoreError> {
    let now = state.clock.now();
    let hours = daily::window_hours(now);
    let d = state.store.digests();
    let (posts, events) = tokio::try_join!(
        d.gsi1_window("ALL", (now - hours * 3600) * 1000, now * 1000),
        d.gsi1_window("EVENTS", now * 1000, (now + EVENTS_AHEAD_SECS) * 1000),
    )?;
    let posts = build::top(posts.iter().map(build::card).collect(), usize::MAX);
    let events: Vec<_> = events.iter().map(build::event).collect();
    let Some(text) = daily::daily_message(&state.app, hours, &posts, &events) else {
        tracing::info!(hours, "daily digest: nothing new, nothing sent");
        return Ok((0, 0));
    };
    let day = lodge::clock::rfc3339(now)[..10].to_string();
    let (mut sent, mut failed) = (0, 0);
    let mut after: Option<String> = None;
    loop {
        let page = d.approved_after(after.as_deref(), 500).await?;
        after = page.members.last().map(|(sk, _)| sk.clone());
        for (_, r) in &page.members {
            let Some(chat) = wants_daily(r) else {
                continue;
            };
            match send_once(state, &day, r, chat, &text).await? {
                Some(true) => sent += 1,
                Some(false) => failed += 1,
                None => {}
            }
        }
        if !page.more {
            return Ok((sent, failed));
        }
    }
}

/// `Some(true)` sent, `Some(false)` failed (retry later), `None` done before.
async fn send_once(state: &State, day: &str, r: &Recipient, chat: i64, text: &str) -> Result<Option<bool>, StoreError> {
    let key = format!("{day}#{}", r.id);
    let now = state.clock.now();
    let lease = match state
        .store
        .once(MARKER, &key, now, state.lease_secs, MARKER_TTL_SECS)
        .await?
    {
        Attempt::Go(lease) => lease,
        Attempt::Done | Attempt::Busy { .. } => return Ok(None),
    };
    loop {
        let now_ms = lodge::clock::SystemClock.now_ms();
        let second = now_ms.div_euclid(1000);
        if state
            .store
            .rate_limits()
            .take_hits("digest-tg", "all", second, 1, SENDS_PER_SECOND, second + 120)
            .await?
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis((1000 - now_ms.rem_euclid(1000)) as u64)).await;
    }
    match state.bot.send_message(&SendMessage::html(chat, text)).await {
        Ok(_) => {
            lease.done(&state.store, state.clock.now()).await?;
            Ok(Some(true))
        }
        Err(e) if e.is_transient() => {
            tracing::warn!(member = %r.id, error = %e, "daily digest: will retry");
            lease.release(&state.store).await?;
            Ok(Some(false))
        }
        Err(e) => {
            // Blocked the bot, chat gone: retrying cannot help.
            tracing::warn!(member = %r.id, error = %e, "daily digest refused");
            lease.done(&state.store, state.clock.now()).await?;
            Ok(None)
        }
    }
}
