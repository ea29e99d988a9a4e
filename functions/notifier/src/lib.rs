//! Consumer of the `notify` queue: side effects the user should not wait for
//! (moderators hearing of a new intro, the member hearing the decision, …).
//! Retried by SQS; each delivery is recorded, so a redelivery sends nothing twice.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lodge::config::AppUrl;
use lodge::domain::{Email, MemberId};
use lodge::mail::{self, Letter, Mailer};
use lodge::queue::{self, MessageError, Notification, NOTIFY_VERSION};
use lodge::store::{Key, Store, StoreError};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    mailer: Mailer,
    app: AppUrl,
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
            // Not behind the API, so the template can pass the API's URL here.
            app: env.app_url()?.ok_or_else(|| ConfigError::new("LODGE_APP_URL", "is missing"))?,
            clock,
        })
    }
}

pub async fn handler(state: &State, event: SqsEvent) -> SqsBatchResponse {
    queue::consume(event, |msg| handle(state, msg)).await
}

async fn handle(state: &State, msg: SqsMessage) -> Result<(), MessageError> {
    match queue::parse::<Notification>(&msg, NOTIFY_VERSION)? {
        Notification::Email { id, to, letter } => send_once(state, &id, &to, &letter).await,
        Notification::IntroSubmitted { member_id, at } => intro_submitted(state, &member_id, at).await,
        Notification::Decided { member_id, at } => decided(state, &member_id, at).await,
    }
}

/// Sends unless a delivery with this id was recorded before.
async fn send_once(state: &State, id: &str, to: &Email, letter: &Letter) -> Result<(), MessageError> {
    let done = Key::done("notify", id);
    if state.store.get::<serde_json::Value>(&done).await.map_err(retry)?.is_some() {
        return Ok(());
    }
    state.mailer.send(to, letter).await.map_err(|e| MessageError::Retry(e.to_string()))?;
    let now = state.clock.now();
    state.store.put(&done, &serde_json::json!({"at": now, "expires_at": now + 7 * 86_400})).await.map_err(retry)
}

async fn intro_submitted(state: &State, member_id: &MemberId, at: i64) -> Result<(), MessageError> {
    let member = state.store.member(member_id).await.map_err(retry)?.ok_or_else(|| MessageError::Drop("member gone".into()))?;
    let review = state.app.join("/admin/moderation");
    let letter = mail::notice(
        &format!("New intro to review: {}", member.name()),
        &format!("{} wants to join", member.name()),
        &[
            member.about.clone().unwrap_or_default(),
            "Approve or reject it on the moderation page (or with the buttons in the Telegram admin chat).".into(),
        ],
        Some(("Open the moderation queue", &review)),
    );
    for staff in state.store.staff().await.map_err(retry)? {
        if staff.member_id != member.id {
            send_once(state, &format!("intro#{member_id}#{at}#{}", staff.member_id), &staff.email, &letter).await?;
        }
    }
    Ok(())
}

async fn decided(state: &State, member_id: &MemberId, at: i64) -> Result<(), MessageError> {
    let member = state.store.member(member_id).await.map_err(retry)?.ok_or_else(|| MessageError::Drop("member gone".into()))?;
    let Some(decision) = member.last_decision.clone().filter(|d| d.at == at) else {
        return Err(MessageError::Drop("a newer decision superseded this one".into()));
    };
    let letter = if decision.decision == "approved" {
        let home = state.app.join("/");
        mail::notice(
            "Welcome to Lodge",
            &format!("Welcome, {}!", member.name()),
            &["Your intro was approved: you are now a member. Come in and say hello.".to_string()],
            Some(("Open Lodge", &home)),
        )
    } else {
        let intro = state.app.join("/intro");
        mail::notice(
            "Your Lodge intro needs another look",
            "Your intro was not approved yet",
            &[
                format!("The moderators said: {}", decision.reason.clone().unwrap_or_default()),
                "You can edit your intro and send it again.".to_string(),
            ],
            Some(("Edit your intro", &intro)),
        )
    };
    send_once(state, &format!("decided#{member_id}#{at}"), &member.email, &letter).await
}

fn retry(e: StoreError) -> MessageError {
    MessageError::Retry(e.to_string())
}
