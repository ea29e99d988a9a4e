//! Telegram: the Bot API client, its types and keyboards, the Login Widget
//! check and the bot's settings.

pub mod chats;
pub mod client;
// The dialog tree is data (the store keeps it); its home is `domain`.
pub use crate::domain::dialog;
pub mod intro;
pub mod keyboards;
pub mod types;
pub mod widget;

pub use client::{escape, BotApi, BotError};

use crate::config::{ConfigError, Env, Secret};

/// The bot's settings as functions read them (`LODGE_TELEGRAM_*`).
#[derive(Clone, Debug)]
pub struct BotSettings {
    /// `@`-less username, for `https://t.me/<bot>?start=…` links.
    pub username: Option<String>,
    /// Where intros are posted for review (a group or channel id).
    pub admin_chat_id: Option<i64>,
}

impl BotSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let username = env
            .optional("LODGE_TELEGRAM_BOT_USERNAME")
            .map(|u| u.trim().trim_start_matches('@').to_string());
        if let Some(u) = &username {
            if !u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(ConfigError::new(
                    "LODGE_TELEGRAM_BOT_USERNAME",
                    "may contain only letters, digits and _",
                ));
            }
        }
        let admin_chat_id = env
            .optional("LODGE_TELEGRAM_ADMIN_CHAT_ID")
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|e| ConfigError::new("LODGE_TELEGRAM_ADMIN_CHAT_ID", format!("is not a chat id ({e})")))
            })
            .transpose()?;
        Ok(Self {
            username,
            admin_chat_id,
        })
    }

    /// The deep link that starts the bot with `payload`.
    pub fn start_link(&self, payload: &str) -> Option<String> {
        self.username
            .as_ref()
            .map(|u| format!("https://t.me/{u}?start={payload}"))
    }
}

/// `LODGE_TELEGRAM_WEBHOOK_SECRET`: Telegram echoes it in
/// `X-Telegram-Bot-Api-Secret-Token` (1–256 of `A-Za-z0-9_-`).
pub fn webhook_secret(env: &Env) -> Result<Secret, ConfigError> {
    let secret = env.secret("LODGE_TELEGRAM_WEBHOOK_SECRET", 16)?;
    let s = secret.expose();
    if s.len() > 256 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(ConfigError::new(
            "LODGE_TELEGRAM_WEBHOOK_SECRET",
            "must be at most 256 of A-Z a-z 0-9 _ -",
        ));
    }
    Ok(secret)
}

/// A stable pseudonym for a Telegram user in logs and exports: the raw id
/// never leaves the bot. Keyed (HMAC), so ids cannot be recovered by
/// hashing all candidate ids.
pub fn pseudonym(key: &Secret, user_id: i64) -> String {
    crate::crypto::hmac_hex(
        key.expose().as_bytes(),
        format!("lodge-telegram-user:{user_id}").as_bytes(),
    )[..16]
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn settings_parse_and_name_bad_values() {
        let s = BotSettings::from_env(&env(&[
            ("LODGE_TELEGRAM_BOT_USERNAME", "@lodge_bot"),
            ("LODGE_TELEGRAM_ADMIN_CHAT_ID", "-100123"),
        ]))
        .unwrap();
        assert_eq!(
            (s.username.as_deref(), s.admin_chat_id),
            (Some("lodge_bot"), Some(-100123))
        );
        assert_eq!(s.start_link("abc").as_deref(), Some("https://t.me/lodge_bot?start=abc"));
        let none = BotSettings::from_env(&env(&[("LODGE_TELEGRAM_ADMIN_CHAT_ID", "")])).unwrap();
        assert_eq!(
            (none.start_link("x"), none.username, none.admin_chat_id),
            (None, None, None)
        );
        let err = BotSettings::from_env(&env(&[("LODGE_TELEGRAM_ADMIN_CHAT_ID", "moderators")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("LODGE_TELEGRAM_ADMIN_CHAT_ID"), "{err}");
        assert!(BotSettings::from_env(&env(&[("LODGE_TELEGRAM_BOT_USERNAME", "a b")])).is_err());
    }

    #[test]
    fn webhook_secrets_must_be_what_telegram_accepts() {
        assert!(webhook_secret(&env(&[("LODGE_TELEGRAM_WEBHOOK_SECRET", "abcdefABCDEF0123_-xyz")])).is_ok());
        assert!(webhook_secret(&env(&[("LODGE_TELEGRAM_WEBHOOK_SECRET", "short")])).is_err());
        assert!(webhook_secret(&env(&[("LODGE_TELEGRAM_WEBHOOK_SECRET", "has spaces in it, not ok")])).is_err());
        assert!(webhook_secret(&env(&[]))
            .unwrap_err()
            .to_string()
            .contains("is missing"));
    }

    #[test]
    fn pseudonyms_are_stable_keyed_and_short() {
        let k = Secret::new("k".repeat(32));
        assert_eq!(pseudonym(&k, 42), pseudonym(&k, 42));
        assert_ne!(pseudonym(&k, 42), pseudonym(&k, 43));
        assert_ne!(pseudonym(&k, 42), pseudonym(&Secret::new("j".repeat(32)), 42));
        assert_eq!(pseudonym(&k, 42).len(), 16);
    }
}
