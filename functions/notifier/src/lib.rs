//! Consumer of the `notify` queue: side effects the user should not wait for
//! (emails to moderators, welcome mail, …), retried by SQS, idempotent by id.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lodge::mail::Mailer;
use lodge::queue::{self, MessageError, Notification, NOTIFY_VERSION};
use lodge::store::{Store, StoreError};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    mailer: Mailer,
    clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig) -> Result<Self, ConfigError> {
        Self::with_clock(env, aws, lodge::clock::system())
    }

    pub fn with_clock(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::new(lodge::aws::dynamodb(aws), env.required("LODGE_TABLE")?),
            mailer: Mailer::new(lodge::aws::sesv2(aws), env.required("LODGE_MAIL_FROM")?),
            clock,
        })
    }
}

pub async fn handler(state: &State, event: SqsEvent) -> SqsBatchResponse {
    queue::consume(event, |msg| handle(state, msg)).await
}

async fn handle(state: &State, msg: SqsMessage) -> Result<(), MessageError> {
    match queue::parse::<Notification>(&msg, NOTIFY_VERSION)? {
        Notification::Email { id, to, letter } => {
            let done = lodge::store::Key::done("notify", &id);
            if state.store.get::<serde_json::Value>(&done).await.map_err(retry)?.is_some() {
                return Ok(()); // delivered before; this is a redelivery
            }
            state.mailer.send(&to, &letter).await.map_err(|e| MessageError::Retry(e.to_string()))?;
            let now = state.clock.now();
            state
                .store
                .put(&done, &serde_json::json!({"at": now, "expires_at": now + 7 * 86_400}))
                .await
                .map_err(retry)?;
            Ok(())
        }
    }
}

fn retry(e: StoreError) -> MessageError {
    MessageError::Retry(e.to_string())
}
