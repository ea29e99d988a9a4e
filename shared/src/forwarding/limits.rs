//! Telegram's send limits, enforced across every concurrent forwarder with
//! DynamoDB counters in three fixed windows: the whole bot, the destination
//! per minute, the destination per second.

use crate::config::{ConfigError, Env};
use crate::store::rate::Limit;
use crate::store::{n, values, Key, Store, StoreError};

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// All sends of the bot (Telegram: about 30 messages/s).
    pub bot: Limit,
    /// Per destination chat, the long window (Telegram: 20 messages/min in a group).
    pub group: Limit,
    /// Per destination chat, the short window (Telegram: about 1 message/s).
    pub chat: Limit,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            bot: Limit { max: 30, window_secs: 1 },
            group: Limit { max: 20, window_secs: 60 },
            chat: Limit { max: 1, window_secs: 1 },
        }
    }
}

impl Limits {
    /// `LODGE_FORWARD_LIMIT_BOT`, `…_GROUP`, `…_CHAT` as `<max>/<window seconds>`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let d = Self::default();
        Ok(Self {
            bot: parse_limit(env, "LODGE_FORWARD_LIMIT_BOT", d.bot)?,
            group: parse_limit(env, "LODGE_FORWARD_LIMIT_GROUP", d.group)?,
            chat: parse_limit(env, "LODGE_FORWARD_LIMIT_CHAT", d.chat)?,
        })
    }
}

fn parse_limit(env: &Env, name: &str, default: Limit) -> Result<Limit, ConfigError> {
    let Some(raw) = env.optional(name) else { return Ok(default) };
    let bad = || ConfigError::new(name, format!("must be <max>/<window seconds> such as 20/60, not {raw:?}"));
    let (max, window) = raw.trim().split_once('/').ok_or_else(bad)?;
    let max: u32 = max.trim().parse().map_err(|_| bad())?;
    let window_secs: i64 = window.trim().parse().map_err(|_| bad())?;
    if max == 0 || window_secs <= 0 {
        return Err(bad());
    }
    Ok(Limit { max, window_secs })
}

#[derive(Debug, PartialEq, Eq)]
pub enum Permit {
    Granted,
    /// Try again in this many seconds (a window is full or the chat is paused).
    Wait(i64),
}

fn window(limit: Limit, now: i64) -> (i64, i64) {
    let start = now - now.rem_euclid(limit.window_secs);
    (start, start + limit.window_secs)
}

/// Takes `count` sends (an album counts each item) for `chat` at `now`.
///
/// Each window is one conditional `ADD` (`hits <= max - count`), so no
/// window ever holds more than its limit, whatever the concurrency. The
/// narrowest window goes first; if a later one is full, the hits already
/// taken are given back. (Not one transaction: a transaction that often
/// fails would be costly here, and refunds only ever under-use a window.)
pub async fn acquire(store: &Store, limits: &Limits, chat: i64, count: u32, now: i64) -> Result<Permit, StoreError> {
    let chat_key = chat.to_string();
    let windows = [("fwd-chat", chat_key.as_str(), limits.chat), ("fwd-group", chat_key.as_str(), limits.group), ("fwd-bot", "all", limits.bot)];
    for (i, (what, key, limit)) in windows.iter().enumerate() {
        let (start, end) = window(*limit, now);
        // An album larger than a window still has to go out: it takes the whole window.
        let take = count.min(limit.max);
        let out = store
            .client()
            .update_item()
            .table_name(store.table())
            .set_key(Some(Key::rate(what, key, start).to_item()))
            .update_expression("ADD hits :take SET expires_at = :exp")
            .condition_expression("attribute_not_exists(hits) OR hits <= :room")
            .set_expression_attribute_values(Some(values([(":take", n(take)), (":room", n(limit.max - take)), (":exp", n(end + 60))])))
            .send()
            .await
            .map_err(StoreError::from_sdk);
        match out {
            Ok(_) => {}
            Err(StoreError::Conflict) => {
                for (what, key, limit) in &windows[..i] {
                    refund(store, what, key, *limit, count.min(limit.max), now).await?;
                }
                return Ok(Permit::Wait((end - now).max(1)));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Permit::Granted)
}

async fn refund(store: &Store, what: &str, key: &str, limit: Limit, take: u32, now: i64) -> Result<(), StoreError> {
    let (start, _) = window(limit, now);
    store
        .client()
        .update_item()
        .table_name(store.table())
        .set_key(Some(Key::rate(what, key, start).to_item()))
        .update_expression("ADD hits :minus")
        .set_expression_attribute_values(Some(values([(":minus", n(-(take as i64)))])))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_from_env_with_named_errors() {
        let env = Env::from_map([("LODGE_FORWARD_LIMIT_GROUP".to_string(), "5/10".to_string())].into_iter().collect());
        let l = Limits::from_env(&env).unwrap();
        assert_eq!((l.group.max, l.group.window_secs, l.bot.max), (5, 10, 30));
        let env = Env::from_map([("LODGE_FORWARD_LIMIT_BOT".to_string(), "fast".to_string())].into_iter().collect());
        assert!(Limits::from_env(&env).unwrap_err().to_string().contains("LODGE_FORWARD_LIMIT_BOT"));
        let env = Env::from_map([("LODGE_FORWARD_LIMIT_CHAT".to_string(), "0/1".to_string())].into_iter().collect());
        assert!(Limits::from_env(&env).is_err());
    }

    #[test]
    fn windows_are_aligned() {
        assert_eq!(window(Limit { max: 1, window_secs: 60 }, 125), (120, 180));
        assert_eq!(window(Limit { max: 1, window_secs: 1 }, 125), (125, 126));
    }
}
