//! The chats the bot is in (`/rules` offers them as sources and
//! destinations, so admins tap a channel instead of looking up its id).

use super::keys::{self, Key};
use super::{Store, StoreError};
use crate::domain::BotChat;

impl Store {
    /// Keeps the list of chats current: `listing` (see
    /// `telegram::chats::listing`) is added or refreshed, `None` removes the chat.
    pub async fn note_bot_chat(&self, chat_id: i64, listing: Option<&BotChat>) -> Result<(), StoreError> {
        let key = Key::telegram_chat(chat_id);
        match listing {
            Some(chat) => self.put(&key, chat).await,
            None => self.delete(&key).await,
        }
    }

    /// Every chat the bot is in, by id.
    pub async fn bot_chats(&self) -> Result<Vec<BotChat>, StoreError> {
        self.query_partition(keys::TELEGRAM_CHATS).await
    }
}
