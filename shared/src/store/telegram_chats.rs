//! The chats the bot is in (`/rules` offers them as sources and
//! destinations, so admins tap a channel instead of looking up its id).

use super::keys::{self, Key};
use super::{Store, StoreError};
use crate::domain::BotChat;

impl Store {
    pub fn telegram_chats(&self) -> TelegramChats<'_> {
        TelegramChats { store: self }
    }
}

/// The chats the bot is in.
pub struct TelegramChats<'a> {
    store: &'a Store,
}

impl TelegramChats<'_> {
    /// Keeps the list of chats current: `listing` (see
    /// `telegram::chats::listing`) is added or refreshed, `None` removes the chat.
    pub async fn note(&self, chat_id: i64, listing: Option<&BotChat>) -> Result<(), StoreError> {
        let key = Key::telegram_chat(chat_id);
        match listing {
            Some(chat) => self.store.put(&key, chat).await,
            None => self.store.delete(&key).await,
        }
    }

    /// Every chat the bot is in, by id.
    pub async fn all(&self) -> Result<Vec<BotChat>, StoreError> {
        self.store.query_partition(keys::TELEGRAM_CHATS).await
    }
}
