//! Telegram's send limits, enforced across every concurrent forwarder: one
//! DynamoDB transaction counts the message in three fixed windows (whole bot,
//! destination per minute, destination per second) and checks the chat's
//! flood pause. All or nothing: a refused send costs no window anything.

use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem, Update};

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
pub async fn acquire(store: &Store, limits: &Limits, chat: i64, count: u32, now: i64) -> Result<Permit, StoreError> {
    let chat_key = chat.to_string();
    let windows = [("fwd-bot", "all".to_string(), limits.bot), ("fwd-group", chat_key.clone(), limits.group), ("fwd-chat", chat_key, limits.chat)];
    let mut items = Vec::with_capacity(4);
    for (what, key, limit) in &windows {
        let (start, end) = window(*limit, now);
        // An album larger than a window still has to go out: it takes the whole window.
        let take = count.min(limit.max);
        let update = Update::builder()
            .table_name(store.table())
            .set_key(Some(Key::rate(what, key, start).to_item()))
            .update_expression("ADD hits :take SET expires_at = :exp")
            .condition_expression("attribute_not_exists(hits) OR hits <= :room")
            .set_expression_attribute_values(Some(values([
                (":take", n(take)),
                (":room", n(limit.max - take)),
                (":exp", n(end + 60)),
            ])))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        items.push(TransactWriteItem::builder().update(update).build());
    }
    let pause = ConditionCheck::builder()
        .table_name(store.table())
        .set_key(Some(Key::flood_pause(chat).to_item()))
        .condition_expression("attribute_not_exists(#u) OR #u <= :now")
        .expression_attribute_names("#u", "until")
        .set_expression_attribute_values(Some(values([(":now", n(now))])))
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    items.push(TransactWriteItem::builder().condition_check(pause).build());
    match store.transact(items).await {
        Ok(()) => Ok(Permit::Granted),
        Err(e @ StoreError::Cancelled { .. }) => {
            if e.failed_at(3) {
                let until = store.chat_paused_until(chat).await?;
                return Ok(Permit::Wait((until - now).max(1)));
            }
            // The soonest moment the first full window rolls over.
            let wait = windows
                .iter()
                .enumerate()
                .filter(|(i, _)| e.failed_at(*i))
                .map(|(_, (_, _, l))| window(*l, now).1 - now)
                .max()
                .unwrap_or(1);
            Ok(Permit::Wait(wait.max(1)))
        }
        Err(e) => Err(e),
    }
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
