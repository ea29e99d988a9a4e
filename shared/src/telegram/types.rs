//! The slice of the Bot API's types that Lodge reads and writes. Unknown
//! fields are ignored, so newer Bot API versions do not break parsing.

use serde::{Deserialize, Serialize};

/// One incoming update (webhook body).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub edited_message: Option<Message>,
    #[serde(default)]
    pub channel_post: Option<Message>,
    #[serde(default)]
    pub callback_query: Option<CallbackQuery>,
    /// The bot's own membership changed: added to or removed from a chat.
    #[serde(default)]
    pub my_chat_member: Option<ChatMemberUpdated>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ChatMemberUpdated {
    pub chat: Chat,
    pub from: User,
    #[serde(default)]
    pub date: i64,
    pub new_chat_member: ChatMember,
}

/// The slice of `ChatMember` Lodge reads: the status, and for an
/// administrator of a channel whether it may post.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct ChatMember {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_post_messages: Option<bool>,
}

impl ChatMember {
    /// In the chat at all (`restricted` members may still be able to post).
    pub fn is_present(&self) -> bool {
        matches!(
            self.status.as_str(),
            "creator" | "administrator" | "member" | "restricted"
        )
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    #[serde(default)]
    pub first_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl User {
    /// `@username` if there is one, else the first name.
    pub fn handle(&self) -> String {
        match &self.username {
            Some(u) => format!("@{u}"),
            None => self.first_name.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

impl Chat {
    pub fn is_private(&self) -> bool {
        self.kind == "private"
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Message {
    pub message_id: i64,
    #[serde(default)]
    pub date: i64,
    pub chat: Chat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_message: Option<Box<Message>>,
    /// Bot API 7.0+: where a forwarded message came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_origin: Option<MessageOrigin>,
    /// Before Bot API 7.0 (still sent by some clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_from: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<MessageEntity>>,
    /// A channel post that Telegram (as user 777000) copied into the
    /// channel's linked discussion group (the helpdesk, docs/helpdesk.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_automatic_forward: bool,
}

impl Message {
    /// The author of the original message, when this one is a forward whose
    /// author did not hide their account.
    pub fn forwarded_from(&self) -> Option<&User> {
        match &self.forward_origin {
            Some(MessageOrigin::User { sender_user }) => Some(sender_user),
            _ => self.forward_from.as_ref(),
        }
    }

    pub fn is_forward(&self) -> bool {
        self.forward_origin.is_some() || self.forward_from.is_some()
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageOrigin {
    User {
        sender_user: User,
    },
    HiddenUser {
        sender_user_name: String,
    },
    Chat {
        sender_chat: Chat,
    },
    Channel {
        chat: Chat,
        /// The post's id in the channel (0 when an old client left it out).
        #[serde(default)]
        message_id: i64,
    },
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct MessageEntity {
    #[serde(rename = "type")]
    pub kind: String,
    pub offset: usize,
    pub length: usize,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

// ---------------------------------------------------------------- requests

/// `chat_id` accepts a numeric id or `@channelusername`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ChatId {
    Id(i64),
    Username(String),
}

impl From<i64> for ChatId {
    fn from(id: i64) -> Self {
        ChatId::Id(id)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReplyMarkup {
    Inline(InlineKeyboardMarkup),
    Keyboard(ReplyKeyboardMarkup),
    Remove(ReplyKeyboardRemove),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InlineKeyboardMarkup {
    pub inline_keyboard: Vec<Vec<InlineButton>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InlineButton {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyKeyboardMarkup {
    pub keyboard: Vec<Vec<KeyboardButton>>,
    pub resize_keyboard: bool,
    #[serde(default)]
    pub is_persistent: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyboardButton {
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyKeyboardRemove {
    pub remove_keyboard: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkPreviewOptions {
    pub is_disabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyParameters {
    pub message_id: i64,
    #[serde(default)]
    pub allow_sending_without_reply: bool,
}

/// `sendMessage`. Texts are HTML (`parse_mode = HTML`): escape user input with `html::escape`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendMessage {
    pub chat_id: ChatId,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<ReplyMarkup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_preview_options: Option<LinkPreviewOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_parameters: Option<ReplyParameters>,
}

impl SendMessage {
    /// An HTML message without link previews (links are the point, not their cards).
    pub fn html(chat_id: impl Into<ChatId>, text: impl Into<String>) -> Self {
        Self {
            chat_id: chat_id.into(),
            text: text.into(),
            parse_mode: Some("HTML".into()),
            reply_markup: None,
            link_preview_options: Some(LinkPreviewOptions { is_disabled: true }),
            reply_parameters: None,
        }
    }

    pub fn markup(mut self, markup: ReplyMarkup) -> Self {
        self.reply_markup = Some(markup);
        self
    }

    pub fn reply_to(mut self, message_id: i64) -> Self {
        self.reply_parameters = Some(ReplyParameters {
            message_id,
            allow_sending_without_reply: true,
        });
        self
    }
}

/// `editMessageText` of a message the bot sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditMessageText {
    pub chat_id: ChatId,
    pub message_id: i64,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// `None` removes the inline keyboard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<InlineKeyboardMarkup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_preview_options: Option<LinkPreviewOptions>,
}

impl EditMessageText {
    /// New HTML text without link previews (as `SendMessage::html`); no buttons.
    pub fn html(chat_id: impl Into<ChatId>, message_id: i64, text: impl Into<String>) -> Self {
        Self {
            chat_id: chat_id.into(),
            message_id,
            text: text.into(),
            parse_mode: Some("HTML".into()),
            reply_markup: None,
            link_preview_options: Some(LinkPreviewOptions { is_disabled: true }),
        }
    }

    /// Buttons under the new text; an empty keyboard removes them.
    pub fn markup(mut self, keyboard: InlineKeyboardMarkup) -> Self {
        self.reply_markup = (!keyboard.inline_keyboard.is_empty()).then_some(keyboard);
        self
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnswerCallbackQuery {
    pub callback_query_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default)]
    pub show_alert: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BotCommand {
    pub command: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetMyCommands {
    pub commands: Vec<BotCommand>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetWebhook {
    pub url: String,
    pub secret_token: String,
    pub allowed_updates: Vec<String>,
    #[serde(default)]
    pub drop_pending_updates: bool,
}

/// `forwardMessage` / `copyMessage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForwardMessage {
    pub chat_id: ChatId,
    pub from_chat_id: ChatId,
    pub message_id: i64,
    #[serde(default)]
    pub disable_notification: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MessageIdResult {
    pub message_id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_forwarded_reply_and_ignores_unknown_fields() {
        let u: Update = serde_json::from_value(serde_json::json!({
            "update_id": 7, "future_field": 1,
            "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                "from": {"id": 5, "is_bot": false, "first_name": "A"}, "text": "/whois",
                "forward_origin": {"type": "user", "date": 0, "sender_user": {"id": 9, "is_bot": false, "first_name": "B", "username": "bee"}}}
        }))
        .unwrap();
        let m = u.message.unwrap();
        assert_eq!(m.forwarded_from().unwrap().handle(), "@bee");
        assert!(m.chat.is_private());
    }

    #[test]
    fn requests_serialise_without_empty_fields() {
        let v = serde_json::to_value(SendMessage::html(5, "hi")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"chat_id": 5, "text": "hi", "parse_mode": "HTML", "link_preview_options": {"is_disabled": true}})
        );
    }
}
