//! Every function of the workspace, by the binary name `template.yaml` gives
//! it. Each entry builds the function's `State` from its own environment and
//! wraps its `handler` — the same calls Lambda makes through `main.rs`.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use futures::future::BoxFuture;
use lambda_http::{Body, Request, Response};
use lodge::{Env, SharedClock};

pub type HttpFn = Arc<dyn Fn(Request) -> BoxFuture<'static, Response<Body>> + Send + Sync>;
pub type SqsFn = Arc<dyn Fn(SqsEvent) -> BoxFuture<'static, SqsBatchResponse> + Send + Sync>;
pub type ScheduleFn = Arc<dyn Fn(serde_json::Value) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

#[derive(Clone)]
pub enum Invoker {
    Http(HttpFn),
    Sqs(SqsFn),
    Schedule(ScheduleFn),
}

macro_rules! http {
    ($state:expr, $handler:path) => {{
        let state = Arc::new($state);
        Invoker::Http(Arc::new(move |req| {
            let state = state.clone();
            Box::pin(async move { $handler(&state, req).await })
        }))
    }};
}

macro_rules! sqs {
    ($state:expr, $handler:path) => {{
        let state = Arc::new($state);
        Invoker::Sqs(Arc::new(move |event| {
            let state = state.clone();
            Box::pin(async move { $handler(&state, event).await })
        }))
    }};
}

/// Scheduled and SNS-triggered functions: a JSON event in, done or an error out.
macro_rules! event {
    ($state:expr, $handler:path) => {{
        let state = Arc::new($state);
        Invoker::Schedule(Arc::new(move |event| {
            let state = state.clone();
            Box::pin(async move { $handler(&state, event).await })
        }))
    }};
}

/// Binary names this runner can host; a template function outside this list
/// is an error at start-up (and in the runner's coverage test).
pub const KNOWN: &[&str] = &[
    "health",
    "auth-email",
    "invites",
    "members",
    "posts",
    "notifier",
    "telegram-webhook",
    "settings",
    "telegram-worker",
    "forwarder",
    "forward-rules",
    // notifications (issue 13)
    "fanout",
    "notify-mail",
    "outbox-sweeper",
    "notifications",
    "comments",
    "feed",
    "digests",
    "digest-planner",
    "digest-sender",
    "digest-daily",
    "mail-events",
];

pub fn build(binary: &str, env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Invoker, String> {
    let cfg = |e: lodge::ConfigError| format!("{binary}: {e}");
    Ok(match binary {
        "health" => http!(health::State::from_env(env, aws).map_err(cfg)?, health::handler),
        "auth-email" => http!(
            auth_email::State::from_env(env, aws, clock).map_err(cfg)?,
            auth_email::handler
        ),
        "invites" => http!(
            invites::State::from_env(env, aws, clock).map_err(cfg)?,
            invites::handler
        ),
        "members" => http!(
            members::State::from_env(env, aws, clock).map_err(cfg)?,
            members::handler
        ),
        "comments" => http!(
            comments::State::from_env(env, aws, clock).map_err(cfg)?,
            comments::handler
        ),
        "posts" => http!(posts::State::from_env(env, aws, clock).map_err(cfg)?, posts::handler),
        "telegram-webhook" => http!(
            telegram_webhook::State::from_env(env, aws, clock).map_err(cfg)?,
            telegram_webhook::handler
        ),
        "settings" => http!(
            settings::State::from_env(env, aws, clock).map_err(cfg)?,
            settings::handler
        ),
        "telegram-worker" => sqs!(
            telegram_worker::State::from_env(env, aws, clock).map_err(cfg)?,
            telegram_worker::handler
        ),
        "forwarder" => sqs!(
            forwarder::State::from_env(env, aws, clock).map_err(cfg)?,
            forwarder::handler
        ),
        "forward-rules" => http!(
            forward_rules::State::from_env(env, aws, clock).map_err(cfg)?,
            forward_rules::handler
        ),
        "feed" => http!(feed::State::from_env(env, aws, clock).map_err(cfg)?, feed::handler),
        "notifier" => sqs!(
            notifier::State::with_clock(env, aws, clock).map_err(cfg)?,
            notifier::handler
        ),
        // notifications (issue 13)
        "fanout" => sqs!(fanout::State::from_env(env, aws, clock).map_err(cfg)?, fanout::handler),
        "notify-mail" => event!(
            notify_mail::State::from_env(env, aws, clock).map_err(cfg)?,
            notify_mail::handler
        ),
        "outbox-sweeper" => event!(
            outbox_sweeper::State::from_env(env, aws, clock).map_err(cfg)?,
            outbox_sweeper::handler
        ),
        "notifications" => http!(
            notifications::State::from_env(env, aws, clock).map_err(cfg)?,
            notifications::handler
        ),
        "digests" => http!(
            digests::State::from_env(env, aws, clock).map_err(cfg)?,
            digests::handler
        ),
        "digest-planner" => event!(
            digest_planner::State::from_env(env, aws, clock).map_err(cfg)?,
            digest_planner::handler
        ),
        "digest-sender" => sqs!(
            digest_sender::State::from_env(env, aws, clock).map_err(cfg)?,
            digest_sender::handler
        ),
        "digest-daily" => event!(
            digest_daily::State::from_env(env, aws, clock).map_err(cfg)?,
            digest_daily::handler
        ),
        "mail-events" => event!(
            mail_events::State::from_env(env, aws, clock).map_err(cfg)?,
            mail_events::handler
        ),
        other => {
            return Err(format!(
                "no local handler for binary {other:?}: add it to infra/local/src/functions.rs"
            ))
        }
    })
}
