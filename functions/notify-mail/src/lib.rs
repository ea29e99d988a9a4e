//! The coalesced notification email (issue 13), every minute: each member
//! whose window is due (`MAILDUE` index) gets one email listing the lines
//! queued since the last one, so at most one email per member per 15
//! minutes (`notify::EMAIL_WINDOW_SECS`).
//!
//! Sending is done once per (member, window) by a `Store::once` marker; the
//! lines are deleted after, so a run that died midway sends nothing twice
//! and loses nothing. One member's failure does not hold up the others.

use futures::stream::{self, StreamExt};
use lodge::config::AppUrl;
use lodge::domain::{MemberId, MemberStatus};
use lodge::mail::unsubscribe::{self, Purpose, Token, UnsubscribeKey};
use lodge::mail::Mailer;
use lodge::notify::{render, EMAIL_WINDOW_SECS};
use lodge::store::once::Attempt;
use lodge::store::{Store, StoreError};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    mailer: Mailer,
    unsubscribe_key: UnsubscribeKey,
    app: AppUrl,
    clock: SharedClock,
    lease_secs: i64,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_env(env, aws)?,
            // The configuration set too: bounces and complaints of these
            // emails stop email like the digests' (docs/digests.md).
            mailer: Mailer::from_env(env, aws)?,
            unsubscribe_key: UnsubscribeKey::from_env(env)?,
            app: env
                .app_url()?
                .ok_or_else(|| ConfigError::new("LODGE_APP_URL", "is missing"))?,
            clock,
            lease_secs: env.function_timeout()?.as_secs() as i64,
        })
    }
}

/// Members' emails sent at once.
const CONCURRENCY: usize = 8;
const MARKERS: &str = "notify-mail";
const MARKER_TTL_SECS: i64 = 7 * 86_400;

/// One run: every due email. Fails (for the scheduler to log) when any
/// member's email must be tried again; the next run does.
pub async fn handler(state: &State, _event: serde_json::Value) -> Result<(), String> {
    let now = state.clock.now();
    let due = state
        .store
        .notifications()
        .due_emails(now)
        .await
        .map_err(|e| e.to_string())?;
    let failed: Vec<String> = stream::iter(due)
        .map(|(member, due)| async move { flush(state, &member, due).await.err() })
        .buffer_unordered(CONCURRENCY)
        .filter_map(|e| async move { e })
        .collect()
        .await;
    for e in &failed {
        tracing::warn!(error = %e, "notification email not sent; the next run retries");
    }
    match failed.len() {
        0 => Ok(()),
        n => Err(format!("{n} notification emails failed")),
    }
}

async fn flush(state: &State, member: &MemberId, due: i64) -> Result<(), String> {
    let now = state.clock.now();
    let notes = state.store.notifications();
    let lines = notes.pending_before(member, due).await.map_err(err)?;
    let recipient = notes.recipients(std::slice::from_ref(member)).await.map_err(err)?.pop();
    // Read now, not at fan-out: an unsubscribe or a bounce since then holds.
    let to = recipient.filter(|r| r.status == MemberStatus::Approved && r.email_allowed() && !lines.is_empty());
    if let Some(r) = to {
        match state
            .store
            .once(
                MARKERS,
                &format!("{member}#{due}"),
                now,
                state.lease_secs,
                MARKER_TTL_SECS,
            )
            .await
            .map_err(err)?
        {
            Attempt::Done => {}
            Attempt::Busy { .. } => return Err(format!("{member}: email in progress elsewhere")),
            Attempt::Go(lease) => {
                let token = Token::new(member.clone(), Purpose::Notifications, r.mail_epoch);
                let letter = render::activity_letter(
                    &lines,
                    &state.app.join("/settings/notifications"),
                    &unsubscribe::url(&state.app, &state.unsubscribe_key, &token),
                )
                .with_headers(unsubscribe::headers(&state.app, &state.unsubscribe_key, &token));
                match state.mailer.send(&r.email, &letter).await {
                    Ok(_) => lease.done(&state.store, now).await.map_err(err)?,
                    Err(e) if e.is_permanent() => {
                        tracing::error!(to = %r.email.fingerprint(), error = %e, "notification email rejected; not retried");
                        lease.done(&state.store, now).await.map_err(err)?;
                    }
                    Err(e) => {
                        let _ = lease.release(&state.store).await;
                        return Err(format!("{member}: {e}"));
                    }
                }
            }
        }
    }
    notes
        .finish_email(member, due, &lines, now, EMAIL_WINDOW_SECS)
        .await
        .map_err(err)?;
    Ok(())
}

fn err(e: StoreError) -> String {
    e.to_string()
}
