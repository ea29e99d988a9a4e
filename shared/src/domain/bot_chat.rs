//! A chat the bot is in, as `/rules` offers it.

use serde::{Deserialize, Serialize};

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
