//! Telegram's send limits, enforced across every concurrent forwarder in
//! DynamoDB: spacing per destination chat (~1/s), a window per destination
//! (20/min) and a window for the whole bot (30/s).

use std::time::Duration;

use crate::config::{ConfigError, Env};
use crate::store::rate::{Limit, Slot};
use crate::store::{Store, StoreError};

#[derive(Clone, Copy, Debug)]
pub struct SendLimits {
    /// All sends of the bot (Telegram: about 30 messages/s).
    pub bot: Limit,
    /// Per destination chat, the long window (Telegram: 20 messages/min in a group).
    pub group: Limit,
    /// Per destination chat, the short window (Telegram: about 1 message/s).
    pub chat: Limit,
}

impl Default for SendLimits {
    fn default() -> Self {
        Self {
            bot: Limit {
                max: 30,
                window_secs: 1,
            },
            group: Limit {
                max: 20,
                window_secs: 60,
            },
            chat: Limit { max: 1, window_secs: 1 },
        }
    }
}

impl SendLimits {
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

impl Limit {
    /// Milliseconds between two sends to one chat: the window shared out,
    /// plus 5 %. Telegram counts when requests *arrive*; two sends spaced
    /// exactly can arrive closer (network and scheduling jitter) and earn a
    /// 429, whose wait costs far more than the margin.
    pub fn spacing_ms(self) -> i64 {
        let even = self.window_secs * 1000 / i64::from(self.max);
        even + even / 20
    }
}

fn parse_limit(env: &Env, name: &str, default: Limit) -> Result<Limit, ConfigError> {
    let Some(raw) = env.optional(name) else {
        return Ok(default);
    };
    let bad = || {
        ConfigError::new(
            name,
            format!("must be <max>/<window seconds> such as 20/60, not {raw:?}"),
        )
    };
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
    /// Try again after this long (a window is full or the chat's next slot is later).
    Wait(Duration),
}

fn window(limit: Limit, now: i64) -> (i64, i64) {
    let start = now - now.rem_euclid(limit.window_secs);
    (start, start + limit.window_secs)
}

/// Takes `count` sends (an album counts each item) for `chat` at `now_ms`.
///
/// The per-chat limit is a spacing, not a window: sends to one chat are at
/// least `window / max` apart (`next_ms` moves on with each send), so two
/// sends never straddle a window boundary — Telegram counts per chat over a
/// sliding second. The per-group and per-bot limits are fixed windows. Each
/// step is one conditional write, so no limit is ever exceeded whatever the
/// concurrency; if a later step refuses, the earlier ones are given back.
/// (Not one transaction: a transaction that often fails would be costly
/// here, and give-backs only ever under-use a limit.)
pub async fn acquire(
    store: &Store,
    limits: &SendLimits,
    chat: i64,
    count: u32,
    now_ms: i64,
) -> Result<Permit, StoreError> {
    let now = now_ms.div_euclid(1000);
    let chat_key = chat.to_string();
    // 1. The chat's next free slot.
    let spacing = limits.chat.spacing_ms();
    let mine = now_ms + spacing * i64::from(count);
    let previous = match store
        .rate_limits()
        .take_slot(SLOT, &chat_key, now_ms, mine, now + 3600)
        .await?
    {
        Slot::Taken { previous } => previous,
        Slot::Busy { next_ms } => {
            let next_ms = next_ms.unwrap_or(now_ms + spacing);
            return Ok(Permit::Wait(Duration::from_millis((next_ms - now_ms).max(1) as u64)));
        }
    };
    // 2. and 3. The chat's long window, then the whole bot's.
    let windows = [
        ("fwd-group", chat_key.as_str(), limits.group),
        ("fwd-bot", "all", limits.bot),
    ];
    for (i, (what, key, limit)) in windows.iter().enumerate() {
        let (start, end) = window(*limit, now);
        // An album larger than a window still has to go out: it takes the whole window.
        let take = count.min(limit.max);
        if !store
            .rate_limits()
            .take_hits(what, key, start, take, limit.max, end + 60)
            .await?
        {
            for (what, key, limit) in &windows[..i] {
                let (start, _) = window(*limit, now);
                store
                    .rate_limits()
                    .refund_hits(what, key, start, count.min(limit.max))
                    .await?;
            }
            store
                .rate_limits()
                .give_back_slot(SLOT, &chat_key, previous, mine)
                .await?;
            return Ok(Permit::Wait(Duration::from_millis(
                ((end * 1000) - now_ms).max(1) as u64
            )));
        }
    }
    Ok(Permit::Granted)
}

/// The rate item holding each destination chat's next free send instant.
const SLOT: &str = "fwd-next";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_from_env_with_named_errors() {
        let env = Env::from_map(
            [("LODGE_FORWARD_LIMIT_GROUP".to_string(), "5/10".to_string())]
                .into_iter()
                .collect(),
        );
        let l = SendLimits::from_env(&env).unwrap();
        assert_eq!((l.group.max, l.group.window_secs, l.bot.max), (5, 10, 30));
        let env = Env::from_map(
            [("LODGE_FORWARD_LIMIT_BOT".to_string(), "fast".to_string())]
                .into_iter()
                .collect(),
        );
        assert!(SendLimits::from_env(&env)
            .unwrap_err()
            .to_string()
            .contains("LODGE_FORWARD_LIMIT_BOT"));
        let env = Env::from_map(
            [("LODGE_FORWARD_LIMIT_CHAT".to_string(), "0/1".to_string())]
                .into_iter()
                .collect(),
        );
        assert!(SendLimits::from_env(&env).is_err());
    }

    #[test]
    fn chat_spacing_keeps_a_margin_for_jitter() {
        assert_eq!(Limit { max: 1, window_secs: 1 }.spacing_ms(), 1050);
        assert_eq!(
            Limit {
                max: 20,
                window_secs: 60
            }
            .spacing_ms(),
            3150
        );
    }

    #[test]
    fn windows_are_aligned() {
        assert_eq!(
            window(
                Limit {
                    max: 1,
                    window_secs: 60
                },
                125
            ),
            (120, 180)
        );
        assert_eq!(window(Limit { max: 1, window_secs: 1 }, 125), (125, 126));
    }
}
