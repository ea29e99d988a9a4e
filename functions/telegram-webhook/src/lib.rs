//! `POST /telegram/webhook`: the bot. Authenticates Telegram by the secret
//! token, takes each update once, and answers commands, account linking,
//! moderation buttons and the dialog tree.

mod commands;
mod dialog;
mod helpdesk;
mod link;
mod moderation;
mod notify_commands;
mod notify_reply;
mod reply;
mod rules;

pub use notify_reply::Press;
pub use rules::Button;

use lambda_http::http::StatusCode;
use lambda_http::Request;
use lodge::config::{AppUrl, Secret};
use lodge::crypto;
use lodge::domain::Member;
use lodge::forwarding::ingest::Ingest;
use lodge::invites::InviteLimits;
use lodge::queue::QueueSender;
use lodge::store::once::Attempt;
use lodge::store::Store;
use lodge::telegram::types::{CallbackQuery, ChatMemberUpdated, Message, Update, User};
use lodge::telegram::{BotApi, BotSettings};
use lodge::web::{self, Ctx, Reply, WebError};
use lodge::{ConfigError, Env, SharedClock};
use serde_json::json;
use tracing::Instrument;

/// Telegram's updates are small; 1 MB is generous and bounds the parse.
pub const BODY_LIMIT: usize = 1024 * 1024;
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

pub struct State {
    pub(crate) store: Store,
    pub(crate) bot: BotApi,
    pub(crate) settings: BotSettings,
    /// What Telegram must echo in `SECRET_HEADER`.
    pub(crate) webhook_secret: Secret,
    /// Keys the pseudonyms of Telegram users in the dialog log. The webhook
    /// secret's value, as from the start, so logged pseudonyms stay stable.
    pub(crate) pseudonym_key: Secret,
    pub(crate) app: Option<AppUrl>,
    /// The `telegram` queue (moderation work); required only for buttons.
    pub(crate) jobs: Option<QueueSender>,
    /// Comments written by replying to a notification, for the fan-out (`ContentEvent`).
    pub(crate) content: QueueSender,
    pub(crate) invite_limits: InviteLimits,
    pub(crate) clock: SharedClock,
    /// Channel forwarding: source posts → forward jobs.
    pub(crate) forwarding: Ingest,
    /// How long a claim on an update lasts: the function's timeout.
    pub(crate) lease_secs: i64,
    /// `/ask` and the helpdesk channel (docs/helpdesk.md).
    pub(crate) helpdesk: helpdesk::Config,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let store = Store::from_env(env, aws)?;
        Ok(Self {
            forwarding: Ingest::from_env(env, aws, store.clone(), clock.clone())?,
            store,
            bot: BotApi::from_env(env)?,
            settings: BotSettings::from_env(env)?,
            webhook_secret: lodge::telegram::webhook_secret(env)?,
            pseudonym_key: lodge::telegram::webhook_secret(env)?,
            app: env.app_url()?,
            jobs: env
                .optional("LODGE_TELEGRAM_QUEUE_URL")
                .map(|url| QueueSender::new(lodge::aws::sqs(aws), url)),
            content: QueueSender::new(lodge::aws::sqs(aws), env.required("LODGE_CONTENT_QUEUE_URL")?),
            invite_limits: InviteLimits::from_env(env)?,
            clock,
            lease_secs: env.function_timeout()?.as_secs() as i64,
            helpdesk: helpdesk::Config::from_env(env)?,
        })
    }
}

/// What one update needs besides the state.
pub(crate) struct Turn<'a> {
    pub state: &'a State,
    pub app: AppUrl,
    pub now: i64,
}

pub async fn handler(state: &State, req: Request) -> Reply {
    web::serve_with_limit(req, BODY_LIMIT, |ctx| async move {
        if ctx.route != "POST /telegram/webhook" {
            return Err(WebError::not_found());
        }
        webhook(state, &ctx).await
    })
    .await
}

async fn webhook(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    // Before anything else: an unauthenticated request has no side effect.
    let given = ctx.header(SECRET_HEADER).unwrap_or_default();
    if !crypto::constant_time_eq(given.as_bytes(), state.webhook_secret.expose().as_bytes()) {
        return Err(WebError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The secret token is missing or wrong.",
        ));
    }
    let update: Update = serde_json::from_slice(&ctx.body)
        .map_err(|e| WebError::bad_request(format!("The body is not a Telegram update: {e}.")))?;
    let span = tracing::info_span!("update", update_id = update.update_id);
    handle_update(state, ctx, update).instrument(span).await
}

/// One authenticated update, in its span (every line carries `update_id`).
async fn handle_update(state: &State, ctx: &Ctx, update: Update) -> Result<Reply, WebError> {
    let turn = Turn {
        state,
        app: ctx.app_url(&state.app)?,
        now: state.clock.now(),
    };
    // A lease, not a mark: an attempt killed by the function timeout holds
    // the update only until its lease (that timeout) runs out, so Telegram's
    // redelivery is then handled rather than dropped as a duplicate.
    let id = update.update_id.to_string();
    let lease = match state
        .store
        .once(UPDATES, &id, turn.now, state.lease_secs, UPDATE_MEMORY_SECS)
        .await?
    {
        Attempt::Go(lease) => lease,
        Attempt::Done => {
            tracing::info!(update_id = update.update_id, "duplicate update");
            return Ok(web::json(StatusCode::OK, &json!({"status": "duplicate"})));
        }
        Attempt::Busy { retry_after_secs } => {
            // Non-2xx: Telegram tries again later, when this one has ended.
            tracing::info!(update_id = update.update_id, retry_after_secs, "update in progress");
            return Err(WebError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "in_progress",
                "This update is being handled; send it again later.",
            ));
        }
    };
    // Forwarding first: if it fails the update is released and redelivered,
    // and ingestion is idempotent (deterministic job ids).
    let outcome = match forward(state, &ctx.body).await {
        Ok(()) => dispatch(&turn, &update).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(handled) => {
            if let Err(e) = lease.done(&state.store, state.clock.now()).await {
                // Handled all the same; a redelivery after the lease would repeat it.
                tracing::warn!(update_id = update.update_id, error = %e, "update not marked done");
            }
            tracing::info!(update_id = update.update_id, handled, "update");
            Ok(web::json(
                StatusCode::OK,
                &json!({"status": if handled { "handled" } else { "ignored" }}),
            ))
        }
        Err(e) => {
            // Give the update back: Telegram redelivers on non-2xx.
            let _ = lease.release(&state.store).await;
            Err(e)
        }
    }
}

/// The idempotency scope of webhook updates, and how long one is remembered
/// (Telegram gives up redelivering well within a day).
const UPDATES: &str = "tgupdate";
const UPDATE_MEMORY_SECS: i64 = 2 * 86_400;

/// Hands posts from forwarding sources to the forwarding ingestion.
async fn forward(state: &State, body: &[u8]) -> Result<(), WebError> {
    let raw: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| WebError::bad_request(format!("The body is not JSON: {e}.")))?;
    state
        .forwarding
        .update(&raw)
        .await
        .map(|_| ())
        .map_err(|e| WebError::unavailable("the forwarding queue", e))
}

/// What an update asks of the bot, read from the update alone (no I/O), so
/// the decision can be tested and fuzzed without a store.
#[derive(Debug)]
pub enum Route<'a> {
    /// A button press: one of `/rules`' buttons when its data parses, else moderation's.
    Button(&'a CallbackQuery, Option<Button>),
    /// 👍 or 🔕 under a notification DM.
    NotifyButton(&'a CallbackQuery, Press),
    /// The bot was added to or removed from a group or channel.
    BotMembership(&'a ChatMemberUpdated),
    /// A message from a person that may be for the bot.
    Message(Said<'a>),
    /// A person edited a text message of theirs in their private chat with
    /// the bot: perhaps a Reply that became a comment.
    Edited(&'a Message, &'a User),
    /// Nothing for the bot: other update kinds, bots, media, group chatter.
    Ignored,
}

#[derive(Debug)]
pub struct Said<'a> {
    pub msg: &'a Message,
    pub from: &'a User,
    pub private: bool,
    /// Forwards may be photos or files: any forward in private is a /whois.
    pub forwarded: bool,
    pub text: &'a str,
    pub command: Option<Command>,
}

/// `bot` is the bot's username, for `/cmd@bot` in groups.
pub fn route<'a>(update: &'a Update, bot: Option<&str>) -> Route<'a> {
    if let Some(cb) = &update.callback_query {
        if let Some(press) = cb.data.as_deref().and_then(Press::parse) {
            return Route::NotifyButton(cb, press);
        }
        return Route::Button(cb, cb.data.as_deref().and_then(Button::parse));
    }
    if let Some(change) = &update.my_chat_member {
        // Private chats (people blocking the bot) are not chats to forward to.
        return if change.chat.is_private() {
            Route::Ignored
        } else {
            Route::BotMembership(change)
        };
    }
    let Some(msg) = &update.message else {
        return edited(update);
    };
    let Some(from) = msg.from.as_ref().filter(|u| !u.is_bot) else {
        return Route::Ignored;
    };
    let private = msg.chat.is_private();
    let forwarded = private && msg.is_forward();
    let text = msg.text.as_deref().unwrap_or_default();
    let command = parse_command(text, bot);
    if !forwarded && (msg.text.is_none() || (!private && command.as_ref().is_none_or(|c| c.for_other_bot))) {
        return Route::Ignored; // media, group chatter: not for the bot, no lookup
    }
    Route::Message(Said {
        msg,
        from,
        private,
        forwarded,
        text,
        command,
    })
}

/// An edited text in a private chat; edits in groups are forwarding's, or
/// nothing the bot answers.
fn edited(update: &Update) -> Route<'_> {
    let Some(msg) = &update.edited_message else {
        return Route::Ignored;
    };
    match msg.from.as_ref().filter(|u| !u.is_bot) {
        Some(from) if msg.chat.is_private() && msg.text.is_some() => Route::Edited(msg, from),
        _ => Route::Ignored,
    }
}

/// True when the update meant something to the bot.
async fn dispatch(turn: &Turn<'_>, update: &Update) -> Result<bool, WebError> {
    if let Some(seen) = helpdesk::route(update, turn.state.helpdesk.channel) {
        return helpdesk::handle(turn, seen).await;
    }
    let said = match route(update, turn.state.settings.username.as_deref()) {
        Route::Button(cb, Some(pressed)) => return rules::button(turn, cb, pressed).await.map(|_| true),
        Route::NotifyButton(cb, press) => return notify_reply::button(turn, cb, press).await.map(|_| true),
        Route::Button(cb, None) => return moderation::button(turn, cb).await.map(|_| true),
        Route::BotMembership(change) => return bot_membership(turn, change).await,
        Route::Edited(msg, from) => return notify_reply::edited(turn, msg, from).await,
        Route::Ignored => return Ok(false),
        Route::Message(said) => said,
    };
    let Said {
        msg,
        from,
        private,
        forwarded,
        text,
        command,
    } = said;
    let member = turn.state.store.telegram().member(from.id).await?;
    if let Some((m, link)) = member.as_ref().and_then(|m| m.telegram.as_ref().map(|t| (m, t))) {
        if link.unreachable {
            // They write to us, so they no longer block the bot.
            turn.state
                .store
                .telegram()
                .set_unreachable(&m.id, from.id, false)
                .await?;
        }
        if link.username != from.username {
            turn.state
                .store
                .telegram()
                .refresh_username(&m.id, from.id, from.username.as_deref())
                .await?;
        }
    }
    // An admin's draft rule takes typed ids and forwarded posts first.
    let takes_input = private && (forwarded || command.is_none());
    if let Some(admin) = member.as_ref().filter(|m| takes_input && rules::is_admin(Some(m))) {
        if rules::input(turn, msg, admin).await? {
            return Ok(true);
        }
    }
    if takes_input && !forwarded && helpdesk::input(turn, msg, member.as_ref()).await? {
        return Ok(true);
    }
    if forwarded {
        return commands::whois(turn, msg, member.as_ref(), "").await.map(|_| true);
    }
    match command {
        Some(Command {
            name,
            arg: _,
            for_other_bot: true,
        }) => {
            tracing::debug!(command = %name, "command for another bot");
            Ok(false)
        }
        Some(cmd) => commands::run(turn, msg, member.as_ref(), &cmd).await,
        None if private => match msg.reply_to_message.as_deref() {
            // Telegram's Reply to a message of the bot's: a notification being answered.
            Some(replied) => notify_reply::reply(turn, msg, replied, member.as_ref())
                .await
                .map(|_| true),
            None => dialog::free_text(turn, msg, member.as_ref(), text).await.map(|_| true),
        },
        // Chatter in groups is not for the bot.
        None => Ok(false),
    }
}

/// The bot was added to, or removed from, a group or channel: keep the list `/rules` offers.
async fn bot_membership(turn: &Turn<'_>, change: &ChatMemberUpdated) -> Result<bool, WebError> {
    let listed = lodge::telegram::chats::listing(change, turn.now);
    turn.state
        .store
        .telegram_chats()
        .note(change.chat.id, listed.as_ref())
        .await?;
    tracing::info!(chat = change.chat.id, status = %change.new_chat_member.status, listed = listed.is_some(), "bot membership");
    Ok(true)
}

#[derive(Debug, PartialEq)]
pub struct Command {
    pub name: String,
    pub arg: String,
    /// `/cmd@otherbot` in a group: not ours.
    pub for_other_bot: bool,
}

/// `/name@bot arg…` → the lower-cased name and the rest.
pub fn parse_command(text: &str, bot: Option<&str>) -> Option<Command> {
    let text = text.trim();
    let rest = text.strip_prefix('/')?;
    let (head, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let (name, addressee) = head.split_once('@').map_or((head, None), |(n, b)| (n, Some(b)));
    if name.is_empty() {
        return None;
    }
    let for_other_bot = match (addressee, bot) {
        (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
        _ => false,
    };
    Some(Command {
        name: name.to_lowercase(),
        arg: arg.trim().to_string(),
        for_other_bot,
    })
}

/// The member's name for messages (escaped for HTML).
pub(crate) fn name_of(m: &Member) -> String {
    lodge::telegram::escape(m.name())
}

pub(crate) fn chat_of(msg: &Message) -> i64 {
    msg.chat.id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_text_edits_route_and_others_are_ignored() {
        let edit = |chat: serde_json::Value, text: Option<&str>, bot: bool| -> Update {
            let mut m = json!({"message_id": 7, "date": 1, "edit_date": 2, "chat": chat,
                "from": {"id": 42, "is_bot": bot, "first_name": "Ada"}});
            if let Some(t) = text {
                m["text"] = json!(t);
            }
            serde_json::from_value(json!({"update_id": 1, "edited_message": m})).unwrap()
        };
        let private = json!({"id": 42, "type": "private"});
        let u = edit(private.clone(), Some("fixed"), false);
        assert!(matches!(route(&u, None), Route::Edited(m, f) if m.message_id == 7 && f.id == 42));
        let group = json!({"id": -100, "type": "supergroup", "title": "g"});
        assert!(matches!(route(&edit(group, Some("x"), false), None), Route::Ignored));
        assert!(matches!(
            route(&edit(private.clone(), None, false), None),
            Route::Ignored
        ));
        assert!(matches!(route(&edit(private, Some("x"), true), None), Route::Ignored));
    }

    #[test]
    fn commands_parse_with_and_without_bot_names() {
        let c = parse_command("/start abc", Some("lodge_bot")).unwrap();
        assert_eq!(
            (c.name.as_str(), c.arg.as_str(), c.for_other_bot),
            ("start", "abc", false)
        );
        assert!(
            !parse_command("/WhoIs@Lodge_Bot @ada", Some("lodge_bot"))
                .unwrap()
                .for_other_bot
        );
        assert_eq!(
            parse_command("/whois@lodge_bot @ada", Some("lodge_bot")).unwrap().arg,
            "@ada"
        );
        assert!(
            parse_command("/help@other_bot", Some("lodge_bot"))
                .unwrap()
                .for_other_bot
        );
        assert_eq!(parse_command("hello", None), None);
        assert_eq!(parse_command("/", None), None);
    }
}
