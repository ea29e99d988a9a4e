//! Consumer of the `notify` queue: side effects the user should not wait for
//! (moderators hearing of a new intro, the member hearing the decision, …).
//!
//! One message fans out to several deliveries (an email per staff member,
//! the admin-chat post). Each is tried on its own and recorded by a marker
//! per (event, recipient, channel) (`Store::once`), so one bad recipient
//! stops no other. A rejection SES or Telegram will never accept is logged
//! and recorded as done; a transient failure fails the message, and its
//! redelivery skips the deliveries already made.

mod deliver;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lodge::config::AppUrl;
use lodge::domain::{DecisionSummary, Member, ReviewResult};
use lodge::domain::{Email, MemberId};
use lodge::mail::{self, Letter, Mailer};
use lodge::notify::ContentEvent;
use lodge::queue::{self, MessageError, Notification, QueueSender};
use lodge::store::once::{Attempt, Lease};
use lodge::store::telegram::IntroPost;
use lodge::store::{Store, StoreError};
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
    /// How long a delivery in progress holds its marker: the function's timeout.
    lease_secs: i64,
    /// This function's own queue, to make a delivery wait out a 429.
    notify: Option<QueueSender>,
    /// The fan-out's queue: a decision also becomes an inbox entry. Here,
    /// not in each place a moderator decides (web, Telegram buttons).
    content: Option<QueueSender>,
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
            lease_secs: env.function_timeout()?.as_secs() as i64,
            notify: env
                .optional("LODGE_NOTIFY_QUEUE_URL")
                .map(|url| QueueSender::new(lodge::aws::sqs(aws), url)),
            content: env
                .optional("LODGE_CONTENT_QUEUE_URL")
                .map(|url| QueueSender::new(lodge::aws::sqs(aws), url)),
        })
    }
}

pub async fn handler(state: &State, event: SqsEvent) -> SqsBatchResponse {
    queue::consume(event, |msg| handle(state, msg)).await
}

async fn handle(state: &State, msg: SqsMessage) -> Result<(), MessageError> {
    match queue::parse::<Notification>(&msg)? {
        Notification::Deliver { delivery } => deliver::run(state, msg.receipt_handle.as_deref(), delivery).await,
        Notification::Email { id, to, letter } => send_once(state, &id, &to, &letter).await,
        Notification::IntroSubmitted { member_id, at } => intro_submitted(state, &member_id, at).await,
        Notification::Decided { member_id, at } => decided(state, &member_id, at).await,
        Notification::Reported { target, reporter, at } => reported(state, &target, &reporter, at).await,
    }
}

/// A report on a post or comment: one message in the admin chat, when a bot
/// and a chat are configured (the web queue at `/admin/reports` has it anyway).
async fn reported(state: &State, target: &str, reporter: &MemberId, at: i64) -> Result<(), MessageError> {
    let Some(chat) = state.admin_chat else {
        return Ok(());
    };
    let target = lodge::store::reports::ReportTarget::try_from(target.to_string()).map_err(MessageError::Drop)?;
    let (reports, _) = state.store.reports().of(&target).await.map_err(retry)?;
    let Some(report) = reports.into_iter().find(|r| &r.reporter == reporter) else {
        return Err(MessageError::Drop(format!("report on {target} by {reporter} is gone")));
    };
    let link = match &target {
        lodge::store::reports::ReportTarget::Post(id) => state.app.join(&format!("/posts/{id}")),
        lodge::store::reports::ReportTarget::Comment(id) => state.app.join(&format!("/comments/{id}")),
    };
    let esc = lodge::telegram::client::escape;
    let text = format!(
        "🚩 <b>Report</b> on <a href=\"{}\">{}</a>\n{}\n— {}\n\nResolve it at {}",
        esc(&link),
        esc(&report.label),
        esc(&report.reason),
        esc(&report.reporter_name),
        esc(&state.app.join("/admin/reports")),
    );
    let id = format!("report-tg#{target}#{reporter}#{at}");
    telegram_once(state, &id, &SendMessage::html(chat, text), None)
        .await
        .map(|_| ())
}

/// Delivery markers: the scope, and how long a delivery is remembered.
const DELIVERIES: &str = "notify";
const MARKER_TTL_SECS: i64 = 7 * 86_400;

/// The lease on delivery `id`; `None` when it was made (or refused for
/// good) before. Another attempt in progress: the message comes back later.
pub(crate) async fn take(state: &State, id: &str) -> Result<Option<Lease>, MessageError> {
    let now = state.clock.now();
    match state
        .store
        .once(DELIVERIES, id, now, state.lease_secs, MARKER_TTL_SECS)
        .await
        .map_err(retry)?
    {
        Attempt::Go(lease) => Ok(Some(lease)),
        Attempt::Done => Ok(None),
        Attempt::Busy { retry_after_secs } => Err(MessageError::Retry(format!(
            "delivery {id} in progress elsewhere (retry in {retry_after_secs} s)"
        ))),
    }
}

pub(crate) async fn done(state: &State, lease: Lease) -> Result<(), MessageError> {
    lease.done(&state.store, state.clock.now()).await.map_err(retry)
}

/// Emails `letter` to `to` once per delivery `id`.
async fn send_once(state: &State, id: &str, to: &Email, letter: &Letter) -> Result<(), MessageError> {
    let Some(lease) = take(state, id).await? else {
        return Ok(());
    };
    match state.mailer.send(to, letter).await {
        Ok(_) => done(state, lease).await,
        Err(e) if e.is_permanent() => {
            // Retrying would fail the same way and hold up everyone else.
            tracing::error!(delivery = id, to = %to.fingerprint(), error = %e, "email rejected; not retried");
            done(state, lease).await
        }
        Err(e) => {
            let _ = lease.release(&state.store).await;
            Err(MessageError::Retry(format!("{id}: {e}")))
        }
    }
}

/// Every delivery was tried; the message fails if any of them must be retried.
fn all_of(results: Vec<Result<(), MessageError>>) -> Result<(), MessageError> {
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(Result::err)
        .map(|e| e.to_string())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(MessageError::Retry(failed.join("; ")))
    }
}

async fn intro_submitted(state: &State, member_id: &MemberId, at: i64) -> Result<(), MessageError> {
    let member = state
        .store
        .members()
        .get(member_id)
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
    let mut results = Vec::new();
    for staff in state.store.members().staff().await.map_err(retry)? {
        if staff.member_id != member.id {
            let id = format!("intro#{member_id}#{at}#{}", staff.member_id);
            results.push(send_once(state, &id, &staff.email, &letter).await);
        }
    }
    if let Some(chat) = state.admin_chat {
        let post = SendMessage::html(chat, intro::intro_text(&member, &state.app)).markup(
            lodge::telegram::types::ReplyMarkup::Inline(intro::moderation_keyboard(&member.id)),
        );
        let id = format!("intro-tg#{member_id}#{at}");
        results.push(telegram_once(state, &id, &post, Some(member_id)).await.map(|_| ()));
    }
    all_of(results)
}

/// Sends a Telegram message once per delivery `id`. 429/5xx/network come
/// back through SQS; a refusal (bot removed from the chat, user blocked it)
/// is final: logged, and recorded as done.
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
    let Some(lease) = take(state, id).await? else {
        return Ok(Delivery::Sent);
    };
    let now = state.clock.now();
    let delivery = match bot.send_message(msg).await {
        Ok(sent) => {
            if let Some(member) = intro_of {
                let post = IntroPost {
                    chat_id: sent.chat.id,
                    message_id: sent.message_id,
                    at: now,
                    expires_at: now + 90 * 86_400,
                };
                if let Err(e) = state.store.telegram().put_intro_post(member, &post).await {
                    let _ = lease.release(&state.store).await;
                    return Err(retry(e));
                }
            }
            Delivery::Sent
        }
        Err(e) if e.is_transient() => {
            let _ = lease.release(&state.store).await;
            return Err(MessageError::Retry(format!("{id}: {e}")));
        }
        Err(e @ BotError::Forbidden { .. }) => {
            tracing::warn!(delivery = id, error = %e, "telegram refused the message");
            Delivery::Blocked
        }
        Err(e) => {
            tracing::error!(delivery = id, error = %e, "telegram message not sent");
            Delivery::Failed
        }
    };
    done(state, lease).await?;
    Ok(delivery)
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
        .members()
        .get(member_id)
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
    let mut results = vec![send_once(state, &format!("decided#{member_id}#{at}"), &member.email, &letter).await];
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
        results.push(
            match telegram_once(state, &format!("decided-tg#{member_id}#{at}"), &msg, None).await {
                // Stop messaging them until they write to the bot again.
                Ok(Delivery::Blocked) => state
                    .store
                    .telegram()
                    .set_unreachable(&member.id, link.user_id, true)
                    .await
                    .map_err(retry),
                other => other.map(|_| ()),
            },
        );
    }
    results.push(show_decision_in_admin_chat(state, &member, &decision).await);
    if let Some(content) = &state.content {
        // Repeating it on a retry is harmless: the fan-out's inbox entry is
        // keyed by (member, decision time).
        let event = ContentEvent::IntroDecided {
            member: member.id.clone(),
            approved: decision.decision == ReviewResult::Approved,
            at_ms: at * 1000,
        };
        results.push(content.send(&event).await.map_err(MessageError::Retry));
    }
    all_of(results)
}

/// Edits the intro's admin-chat message to show the decision (however it was
/// made), removing its buttons. Repeating it changes nothing.
async fn show_decision_in_admin_chat(state: &State, member: &Member, d: &DecisionSummary) -> Result<(), MessageError> {
    let Some(bot) = &state.bot else { return Ok(()) };
    let Some(post) = state.store.telegram().intro_post(&member.id).await.map_err(retry)? else {
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

pub(crate) fn retry(e: StoreError) -> MessageError {
    MessageError::Retry(e.to_string())
}
