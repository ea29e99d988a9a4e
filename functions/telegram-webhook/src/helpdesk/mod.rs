//! The helpdesk (issue 13, docs/helpdesk.md): `/ask` walks a member through
//! a question in a private chat (`ask`), the question becomes a `question`
//! post through the web's own create path, and, when a helpdesk channel is
//! configured, is posted there too (`channel`); replies to it in the
//! channel's discussion group become comments (`answers`).

mod answers;
mod ask;
mod buttons;
mod channel;
mod views;

use lodge::domain::{Member, MemberStatus};
use lodge::telegram::types::{Message, MessageOrigin, Update, User};
use lodge::web::WebError;
use lodge::{ConfigError, Env};

pub(crate) use ask::{back, cancel, command, input};
pub use buttons::AskButton;

use crate::Turn;

pub const CHANNEL_VAR: &str = "LODGE_TELEGRAM_HELPDESK_CHAT_ID";

/// What the helpdesk needs besides the bot's state.
pub(crate) struct Config {
    /// The helpdesk channel (`TelegramHelpdeskChatId`); `None`: questions stay on the site.
    pub channel: Option<i64>,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let channel = env
            .optional(CHANNEL_VAR)
            .map(|raw| {
                raw.trim()
                    .parse::<i64>()
                    .map_err(|_| ConfigError::new(CHANNEL_VAR, "must be a chat id such as -1001234567890"))
            })
            .transpose()?;
        Ok(Self { channel })
    }
}

/// Only approved members ask and answer (the same rule as the web's forms).
pub(crate) fn approved(member: Option<&Member>) -> Option<&Member> {
    member.filter(|m| m.status == MemberStatus::Approved)
}

/// An update that is the helpdesk's, read from the update alone (no I/O).
#[derive(Debug)]
pub enum Helpdesk<'a> {
    /// A press of an `/ask` button.
    Button(&'a lodge::telegram::types::CallbackQuery, AskButton),
    /// Telegram copied a helpdesk channel post into the discussion group.
    Forward { msg: &'a Message, channel_message: i64 },
    /// A person's text reply to such a copy.
    Answer {
        msg: &'a Message,
        from: &'a User,
        text: &'a str,
        root: &'a Message,
    },
}

/// The channel message a discussion-group message is the automatic copy of.
fn copy_of(msg: &Message, channel: i64) -> Option<i64> {
    match &msg.forward_origin {
        Some(MessageOrigin::Channel { chat, message_id }) if msg.is_automatic_forward && chat.id == channel => {
            (*message_id > 0).then_some(*message_id)
        }
        _ => None,
    }
}

/// `None`: the rest of the bot takes the update.
pub fn route(update: &Update, channel: Option<i64>) -> Option<Helpdesk<'_>> {
    if let Some(cb) = &update.callback_query {
        return cb
            .data
            .as_deref()
            .and_then(AskButton::parse)
            .map(|b| Helpdesk::Button(cb, b));
    }
    let channel = channel?;
    let msg = update.message.as_ref().filter(|m| !m.chat.is_private())?;
    if let Some(channel_message) = copy_of(msg, channel) {
        return Some(Helpdesk::Forward { msg, channel_message });
    }
    let root = msg.reply_to_message.as_deref()?;
    copy_of(root, channel)?;
    let from = msg.from.as_ref().filter(|u| !u.is_bot)?;
    let text = msg.text.as_deref()?;
    Some(Helpdesk::Answer { msg, from, text, root })
}

/// Handles what `route` found; true when it meant something.
pub(crate) async fn handle(turn: &Turn<'_>, seen: Helpdesk<'_>) -> Result<bool, WebError> {
    match seen {
        Helpdesk::Button(cb, pressed) => ask::press(turn, cb, pressed).await.map(|_| true),
        Helpdesk::Forward { msg, channel_message } => channel::forwarded(turn, msg, channel_message).await,
        Helpdesk::Answer { msg, from, text, root } => answers::reply(turn, msg, from, text, root).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CHANNEL: i64 = -1001234;
    const GROUP: i64 = -1005678;

    fn update(message: serde_json::Value) -> Update {
        serde_json::from_value(json!({"update_id": 1, "message": message})).unwrap()
    }

    fn copy(id: i64, channel: i64) -> serde_json::Value {
        json!({"message_id": id, "chat": {"id": GROUP, "type": "supergroup"},
            "from": {"id": 777000, "is_bot": false, "first_name": "Telegram"},
            "sender_chat": {"id": channel, "type": "channel"},
            "is_automatic_forward": true,
            "forward_origin": {"type": "channel", "chat": {"id": channel, "type": "channel"}, "message_id": 9, "date": 1},
            "text": "❓ A question"})
    }

    #[test]
    fn the_automatic_forward_and_replies_to_it_are_the_helpdesks() {
        let u = update(copy(40, CHANNEL));
        assert!(matches!(
            route(&u, Some(CHANNEL)),
            Some(Helpdesk::Forward { channel_message: 9, .. })
        ));
        assert!(route(&u, None).is_none(), "no channel configured");
        assert!(
            route(&update(copy(40, -1)), Some(CHANNEL)).is_none(),
            "another channel's post"
        );
        let reply = |from: serde_json::Value, text: Option<&str>, root: serde_json::Value| {
            let mut m = json!({"message_id": 41, "chat": {"id": GROUP, "type": "supergroup"}, "from": from,
                "reply_to_message": root});
            if let Some(t) = text {
                m["text"] = json!(t);
            }
            update(m)
        };
        let ada = json!({"id": 5, "is_bot": false, "first_name": "Ada"});
        let u = reply(ada.clone(), Some("Try the office."), copy(40, CHANNEL));
        match route(&u, Some(CHANNEL)) {
            Some(Helpdesk::Answer { text, root, from, .. }) => {
                assert_eq!((text, root.message_id, from.id), ("Try the office.", 40, 5))
            }
            other => panic!("{other:?}"),
        }
        let bot = json!({"id": 6, "is_bot": true, "first_name": "B"});
        assert!(route(&reply(bot, Some("x"), copy(40, CHANNEL)), Some(CHANNEL)).is_none());
        assert!(
            route(&reply(ada.clone(), None, copy(40, CHANNEL)), Some(CHANNEL)).is_none(),
            "media"
        );
        let chatter = json!({"message_id": 3, "chat": {"id": GROUP, "type": "supergroup"}, "text": "hi"});
        assert!(
            route(&reply(ada, Some("x"), chatter), Some(CHANNEL)).is_none(),
            "a reply to chatter"
        );
    }

    #[test]
    fn ask_buttons_are_routed_and_others_are_not() {
        let press = |data: &str| -> Update {
            serde_json::from_value(json!({"update_id": 2, "callback_query": {"id": "q",
                "from": {"id": 5, "is_bot": false, "first_name": "Ada"}, "data": data}}))
            .unwrap()
        };
        assert!(matches!(
            route(&press("hd:post"), None),
            Some(Helpdesk::Button(_, AskButton::Post))
        ));
        assert!(route(&press("fr:back"), None).is_none());
        assert!(route(&press("mod:x:approve"), None).is_none());
    }
}
