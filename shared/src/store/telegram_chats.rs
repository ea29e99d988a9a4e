//! The chats the bot is in, learnt from `my_chat_member` updates (Telegram
//! has no "list my chats" method). `/rules` offers them as sources and
//! destinations, so admins tap a channel instead of looking up its id.

use serde::{Deserialize, Serialize};

use super::keys::{self, Key};
use super::{Store, StoreError};
use crate::telegram::types::{Chat, ChatMemberUpdated};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotChat {
    pub id: i64,
    /// The chat's title (or `@username`, or the id) as last seen.
    pub title: String,
    /// `channel`, `supergroup`, `group`.
    pub kind: String,
    /// The bot's status there: `administrator` or `member`.
    pub status: String,
    /// False for a channel where the bot is not an admin allowed to post:
    /// it can read posts there (when admin) but not deliver to it.
    pub can_post: bool,
    pub updated_at: i64,
}

impl BotChat {
    /// What the bot's membership change means for the list; `None` when the
    /// bot left or was removed, and for private chats (those are people).
    pub fn from_update(u: &ChatMemberUpdated, now: i64) -> Option<Self> {
        if u.chat.is_private() || !u.new_chat_member.is_present() {
            return None;
        }
        let member = &u.new_chat_member;
        let can_post = match u.chat.kind.as_str() {
            "channel" => {
                member.status == "creator"
                    || (member.status == "administrator" && member.can_post_messages != Some(false))
            }
            _ => true,
        };
        Some(Self {
            id: u.chat.id,
            title: title_of(&u.chat),
            kind: u.chat.kind.clone(),
            status: member.status.clone(),
            can_post,
            updated_at: now,
        })
    }
}

fn title_of(chat: &Chat) -> String {
    match (&chat.title, &chat.username) {
        (Some(t), _) if !t.trim().is_empty() => t.trim().to_string(),
        (_, Some(u)) => format!("@{u}"),
        _ => chat.id.to_string(),
    }
}

impl Store {
    /// Applies one `my_chat_member` update: the chat is added, refreshed or
    /// removed. Returns what the list now says about it.
    pub async fn note_bot_membership(&self, u: &ChatMemberUpdated, now: i64) -> Result<Option<BotChat>, StoreError> {
        let key = Key::telegram_chat(u.chat.id);
        match BotChat::from_update(u, now) {
            Some(chat) => self.put(&key, &chat).await.map(|_| Some(chat)),
            None => self.delete(&key).await.map(|_| None),
        }
    }

    /// Every chat the bot is in, by id.
    pub async fn bot_chats(&self) -> Result<Vec<BotChat>, StoreError> {
        self.query_partition(keys::TELEGRAM_CHATS).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telegram::types::ChatMember;

    fn update(kind: &str, status: &str, can_post: Option<bool>) -> ChatMemberUpdated {
        serde_json::from_value(serde_json::json!({
            "chat": {"id": -1001, "type": kind, "title": " News "},
            "from": {"id": 5, "first_name": "Ada"},
            "new_chat_member": ChatMember { status: status.into(), can_post_messages: can_post },
        }))
        .unwrap()
    }

    #[test]
    fn membership_changes_become_list_entries() {
        let admin = BotChat::from_update(&update("channel", "administrator", Some(true)), 7).unwrap();
        assert_eq!(
            (admin.title.as_str(), admin.can_post, admin.updated_at),
            ("News", true, 7)
        );
        assert!(
            !BotChat::from_update(&update("channel", "administrator", Some(false)), 7)
                .unwrap()
                .can_post
        );
        assert!(
            !BotChat::from_update(&update("channel", "member", None), 7)
                .unwrap()
                .can_post
        );
        assert!(
            BotChat::from_update(&update("supergroup", "member", None), 7)
                .unwrap()
                .can_post
        );
        for gone in ["left", "kicked"] {
            assert_eq!(BotChat::from_update(&update("channel", gone, None), 7), None);
        }
        assert_eq!(BotChat::from_update(&update("private", "member", None), 7), None);
    }
}
