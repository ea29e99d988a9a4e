//! Consumer of the `notify` queue: side effects the user should not wait for
//! (moderators hearing of a new intro, the member hearing the decision, …).
//! Retried by SQS; each delivery is recorded, so a redelivery sends nothing twice.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lodge::config::AppUrl;
use lodge::domain::{DecisionSummary, Member, ReviewResult};
use lodge::domain::{Email, MemberId};
use lodge::mail::{self, Letter, Mailer};
use lodge::queue::{self, MessageError, Notification};
use lodge::store::telegram::IntroPost;
use lodge::store::{Key, Store, StoreError};
use lodge::telegram::types::{EditMessageText, SendMessage};
use lodge::telegram::{intro, BotApi, BotError, BotSettings};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    store: Store,
    mailer: Mailer,
    app: AppUrl,
    clock: SharedClock,
    /// The bot, when configured; `admin_chat` is where intros are posted.
    bot: Option<BotApi>,
    admin_chat: Option<i64>,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig) -> Result<Self, ConfigError> {
        Self::with_clock(env, aws, lodge::clock::system())
    }

    pub fn with_clock(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_env(env, aws)?,
            mailer: Mailer::new(lodge::aws::sesv2(aws), env.required("LODGE_MAIL_FROM")?),
            // Not behind the API, so the template can pass the API's URL here.
            app: env
                .app_url()?
                .ok_or_else(|| ConfigError::new("LODGE_APP_URL", "is missing"))?,
            clock,
            bot: env
                .optional("LODGE_TELEGRAM_BOT_TOKEN")
                .map(|_| BotApi::from_env(env))
                .transpose()?,
            admin_chat: BotSettings::from_env(env)?.admin_chat_id,
        })
    }
}

pub async fn handler(state: &State, event: SqsEvent) -> SqsBatchResponse {
    queue::consume(event, |msg| handle(state, msg)).await
}

async fn handle(state: &State, msg: SqsMessage) -> Result<(), MessageError> {
    match queue::parse::<Notification>(&msg)? {
        Notification::Email { id, to, letter } => send_once(state, &id, &to, &letter).await,
        Notification::IntroSubmitted { member_id, at } => intro_submitted(state, &member_id, at).await,
        Notification::Decided { member_id, at } => decided(state, &member_id, at).await,
    }
}

/// Sends unless a delivery with this id was recorded before.
async fn send_once(state: &State, id: &str, to: &Email, letter: &Letter) -> Result<(), MessageError> {
    let done = Key::done("notify", id);
    if state
        .store
        .get::<serde_json::Value>(&done)
        .await
        .map_err(retry)?
        .is_some()
    {
        return Ok(());
    }
    state
        .mailer
        .send(to, letter)
        .await
        .map_err(|e| MessageError::Retry(e.to_string()))?;
    let now = state.clock.now();
    state
        .store
        .put(&done, &serde_json::json!({"at": now, "expires_at": now + 7 * 86_400}))
        .await
        .map_err(retry)
}

async fn intro_submitted(state: &State, member_id: &MemberId, at: i64) -> Result<(), MessageError> {
    let member = state
        .store
        .member(member_id)
        .await
        .map_err(retry)?
        .ok_or_else(|| MessageError::Drop("member gone".into()))?;
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
            send_once(
                state,
                &format!("intro#{member_id}#{at}#{}", staff.member_id),
                &staff.email,
                &letter,
            )
            .await?;
        }
    }
    if let Some(chat) = state.admin_chat {
        let post = SendMessage::html(chat, intro::intro_text(&member, &state.app)).markup(
            lodge::telegram::types::ReplyMarkup::Inline(intro::moderation_keyboard(&member.id)),
        );
        telegram_once(state, &format!("intro-tg#{member_id}#{at}"), &post, Some(member_id)).await?;
    }
    Ok(())
}

/// Sends a Telegram message unless one with this id was recorded before.
/// 429/5xx/network come back through SQS; a refusal (bot removed from the
/// chat, user blocked it) is final and only logged.
/// With `intro_of`, the sent message is recorded as that member's intro post.
async fn telegram_once(
    state: &State,
    id: &str,
    msg: &SendMessage,
    intro_of: Option<&MemberId>,
) -> Result<Delivery, MessageError> {
    let Some(bot) = &state.bot else {
        return Ok(Delivery::Off);
    };
    let done = Key::done("notify", id);
    if state
        .store
        .get::<serde_json::Value>(&done)
        .await
        .map_err(retry)?
        .is_some()
    {
        return Ok(Delivery::Sent);
    }
    let now = state.clock.now();
    match bot.send_message(msg).await {
        Ok(sent) => {
            if let Some(member) = intro_of {
                let post = IntroPost {
                    chat_id: sent.chat.id,
                    message_id: sent.message_id,
                    at: now,
                    expires_at: now + 90 * 86_400,
                };
                state.store.put_intro_post(member, &post).await.map_err(retry)?;
            }
        }
        Err(e) if e.is_transient() => return Err(MessageError::Retry(e.to_string())),
        Err(e @ BotError::Forbidden { .. }) => {
            tracing::warn!(error = %e, "telegram refused the message");
            return Ok(Delivery::Blocked);
        }
        Err(e) => {
            tracing::error!(error = %e, "telegram message not sent");
            return Ok(Delivery::Failed);
        }
    }
    state
        .store
        .put(&done, &serde_json::json!({"at": now, "expires_at": now + 7 * 86_400}))
        .await
        .map_err(retry)?;
    Ok(Delivery::Sent)
}

#[derive(PartialEq)]
enum Delivery {
    Sent,
    /// 403: the user blocked the bot, or the bot is not in the chat.
    Blocked,
    Failed,
    /// No bot configured.
    Off,
}

async fn decided(state: &State, member_id: &MemberId, at: i64) -> Result<(), MessageError> {
    let member = state
        .store
        .member(member_id)
        .await
        .map_err(retry)?
        .ok_or_else(|| MessageError::Drop("member gone".into()))?;
    let Some(decision) = member.last_decision.clone().filter(|d| d.at == at) else {
        return Err(MessageError::Drop("a newer decision superseded this one".into()));
    };
    let letter = if decision.decision == ReviewResult::Approved {
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
    send_once(state, &format!("decided#{member_id}#{at}"), &member.email, &letter).await?;
    if let Some(link) = member.telegram.as_ref().filter(|t| !t.unreachable) {
        let text = if decision.decision == ReviewResult::Approved {
            format!(
                "Welcome to Lodge, {}! Your intro was approved: {}",
                lodge::telegram::escape(member.name()),
                state.app.join("/")
            )
        } else {
            format!(
                "Your intro was not approved yet. The moderators said: {}\nYou can edit it and send it again: {}",
                lodge::telegram::escape(decision.reason.as_deref().unwrap_or_default()),
                state.app.join("/intro")
            )
        };
        let msg = SendMessage::html(link.user_id, text);
        if telegram_once(state, &format!("decided-tg#{member_id}#{at}"), &msg, None).await? == Delivery::Blocked {
            // Stop messaging them until they write to the bot again.
            state
                .store
                .set_telegram_unreachable(&member.id, link.user_id, true)
                .await
                .map_err(retry)?;
        }
    }
    show_decision_in_admin_chat(state, &member, &decision).await
}

/// Edits the intro's admin-chat message to show the decision (however it was
/// made), removing its buttons. Repeating it changes nothing.
async fn show_decision_in_admin_chat(state: &State, member: &Member, d: &DecisionSummary) -> Result<(), MessageError> {
    let Some(bot) = &state.bot else { return Ok(()) };
    let Some(post) = state.store.intro_post(&member.id).await.map_err(retry)? else {
        return Ok(());
    };
    let text = intro::decided_text(member, &state.app, d.decision, &d.by_name, d.at, d.reason.as_deref());
    let edit = EditMessageText::html(post.chat_id, post.message_id, text);
    match bot.edit_message_text(&edit).await {
        Ok(()) => Ok(()),
        Err(e) if e.is_transient() => Err(MessageError::Retry(e.to_string())),
        Err(e) => {
            tracing::warn!(error = %e, "intro message not updated");
            Ok(())
        }
    }
}

fn retry(e: StoreError) -> MessageError {
    MessageError::Retry(e.to_string())
}
