//! Consumer of the `telegram` queue (see `lodge::queue::TelegramJob`): bot work
//! that takes several Bot API calls. Transient Bot API failures (429, 5xx,
//! network) leave the message for SQS to retry; everything else is final.

mod moderate;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lodge::config::AppUrl;
use lodge::queue::TelegramJob;
use lodge::queue::{self, MessageError, QueueSender};
use lodge::store::Store;
use lodge::telegram::{BotApi, BotError};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    pub(crate) store: Store,
    pub(crate) bot: BotApi,
    pub(crate) app: AppUrl,
    /// The `notify` queue, to tell the applicant about the decision.
    pub(crate) notify: Option<QueueSender>,
    pub(crate) clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_env(env, aws)?,
            bot: BotApi::from_env(env)?,
            // Not behind the API, so the template can pass the API's URL here.
            app: env
                .app_url()?
                .ok_or_else(|| ConfigError::new("LODGE_APP_URL", "is missing"))?,
            notify: env
                .optional("LODGE_NOTIFY_QUEUE_URL")
                .map(|url| QueueSender::new(lodge::aws::sqs(aws), url)),
            clock,
        })
    }
}

pub async fn handler(state: &State, event: SqsEvent) -> SqsBatchResponse {
    queue::consume(event, |msg| handle(state, msg)).await
}

async fn handle(state: &State, msg: SqsMessage) -> Result<(), MessageError> {
    match queue::parse::<TelegramJob>(&msg)? {
        job @ TelegramJob::Moderate { .. } => moderate::run(state, job).await,
    }
}

/// Transient failures come back through SQS; the rest are logged and dropped.
pub(crate) fn bot_failure(what: &str, e: BotError) -> Result<(), MessageError> {
    if e.is_transient() {
        Err(MessageError::Retry(format!("{what}: {e}")))
    } else {
        tracing::warn!(error = %e, "{what} failed");
        Ok(())
    }
}

pub(crate) fn store_failure(e: lodge::store::StoreError) -> MessageError {
    MessageError::Retry(e.to_string())
}
