//! Consumer of the `forward` FIFO queue: delivers each forward job to its
//! destination (see `deliver`). One message group per
//! destination chat keeps each destination in source order; failed jobs
//! hold their group until they succeed, wait out a 429, or are dead-lettered.

pub mod deliver;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use deliver::{Forwarder, Settings};
use lodge::forwarding::job::JobQueue;
use lodge::queue::consume_fifo;
use lodge::store::Store;
use lodge::telegram::BotApi;
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    forwarder: Forwarder,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let sqs = lodge::aws::sqs(aws);
        Ok(Self {
            forwarder: Forwarder {
                store: Store::from_env(env, aws)?,
                bot: BotApi::from_env(env)?,
                queue: JobQueue::new(sqs.clone(), env.required("LODGE_FORWARD_QUEUE_URL")?),
                dlq: JobQueue::new(sqs, env.required("LODGE_FORWARD_DLQ_URL")?),
                clock,
                settings: Settings::from_env(env)?,
            },
        })
    }
}

pub async fn handler(state: &State, event: SqsEvent) -> SqsBatchResponse {
    consume_fifo(
        event,
        |msg| async move { state.forwarder.process(&msg).await },
        |receipt| async move { state.forwarder.queue.wait(&receipt, 0).await },
    )
    .await
}
