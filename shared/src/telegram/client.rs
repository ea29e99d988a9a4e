//! A small typed Bot API client. Every method is one HTTPS POST with a JSON
//! body to `{base}/bot<token>/<method>`; the answer is `{ok, result}` or
//! `{ok: false, error_code, description, parameters}`.
//!
//! The token is part of every URL, so no URL ever leaves this module: errors
//! are built from status and description only, and `Debug` hides the token.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::types::*;
use crate::config::{ConfigError, Env, Secret};

pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
/// The longest any one call may take, whatever the function's timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Bot API calls one invocation makes in a row at most (a webhook update:
/// a reply, an edit, a callback answer).
pub const CALLS_PER_INVOCATION: u32 = 3;

/// Per-call timeouts that fit `CALLS_PER_INVOCATION` calls in a quarter less
/// than the function's timeout, the rest left for the table and the queue:
/// a slow Bot API then fails the call, and the handler's own error path runs
/// (releasing its claim) before Lambda would kill it.
pub fn budget(function_timeout: Duration) -> (Duration, Duration) {
    let request = (function_timeout / (CALLS_PER_INVOCATION + 1)).min(REQUEST_TIMEOUT);
    (request, request.min(CONNECT_TIMEOUT))
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BotError {
    /// 429: flood control; try again after this many seconds.
    #[error("Bot API rate limit: retry after {seconds} s")]
    RetryAfter { seconds: u64 },
    /// 403: the user blocked the bot, deleted their account, or the bot was
    /// removed from the chat. Retrying will not help: mark them unreachable.
    #[error("Bot API forbidden: {description}")]
    Forbidden { description: String },
    /// 400: our request was wrong (or the message is too old to edit/answer).
    #[error("Bot API bad request: {description}")]
    BadRequest { description: String },
    #[error("Bot API error {code}: {description}")]
    Api { code: u16, description: String },
    /// Connect/timeout/TLS: the call may or may not have happened.
    #[error("Bot API unreachable: {0}")]
    Transport(String),
    #[error("Bot API answer not understood: {0}")]
    Decode(String),
}

impl BotError {
    /// Worth retrying later (by SQS or the caller).
    pub fn is_transient(&self) -> bool {
        matches!(self, BotError::RetryAfter { .. } | BotError::Transport(_))
            || matches!(self, BotError::Api { code, .. } if *code >= 500)
    }

    /// "message is not modified" — an edit that changes nothing; harmless.
    pub fn is_not_modified(&self) -> bool {
        matches!(self, BotError::BadRequest { description } if description.contains("message is not modified"))
    }
}

#[derive(Deserialize)]
struct Answer<T> {
    ok: bool,
    #[serde(default = "none")]
    result: Option<T>,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

fn none<T>() -> Option<T> {
    None
}

#[derive(Deserialize, Default)]
struct Parameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

#[derive(Clone)]
pub struct BotApi {
    http: reqwest::Client,
    base: String,
    token: Secret,
}

impl fmt::Debug for BotApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BotApi")
            .field("base", &self.base)
            .field("token", &"***")
            .finish()
    }
}

impl BotApi {
    pub fn new(base: &str, token: Secret) -> Self {
        Self::with_timeouts(base, token, (REQUEST_TIMEOUT, CONNECT_TIMEOUT))
    }

    /// `timeouts` = (whole request, connect), as `budget` gives them.
    pub fn with_timeouts(base: &str, token: Secret, (request, connect): (Duration, Duration)) -> Self {
        let http = reqwest::Client::builder()
            .timeout(request)
            .connect_timeout(connect)
            .build()
            .expect("a client with timeouts builds");
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
        }
    }

    /// `LODGE_TELEGRAM_BOT_TOKEN` and `TELEGRAM_API_BASE` (default: the real
    /// Bot API), with timeouts budgeted against `LODGE_FUNCTION_TIMEOUT_SECS`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let token = env.secret("LODGE_TELEGRAM_BOT_TOKEN", 8)?;
        let base = env.optional("TELEGRAM_API_BASE").unwrap_or(DEFAULT_API_BASE);
        url::Url::parse(base).map_err(|e| ConfigError::new("TELEGRAM_API_BASE", format!("is not a URL ({e})")))?;
        Ok(Self::with_timeouts(base, token, budget(env.function_timeout()?)))
    }

    /// The token itself, for the Login Widget check (its key is SHA256(token)).
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// Calls `method` with `params` as JSON and decodes `result` as `R`.
    pub async fn call<P: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: &str,
        params: &P,
    ) -> Result<R, BotError> {
        let url = format!("{}/bot{}/{}", self.base, self.token.expose(), method);
        let response = self
            .http
            .post(url)
            .json(params)
            .send()
            .await
            // without_url: the URL contains the token.
            .map_err(|e| BotError::Transport(e.without_url().to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| BotError::Transport(e.without_url().to_string()))?;
        let answer: Answer<R> = match serde_json::from_slice(&bytes) {
            Ok(a) => a,
            Err(_) if status >= 400 => {
                return Err(classify(status, format!("HTTP {status}"), None));
            }
            Err(e) => return Err(BotError::Decode(format!("{method}: {e}"))),
        };
        if answer.ok {
            return answer
                .result
                .ok_or_else(|| BotError::Decode(format!("{method}: ok without result")));
        }
        let code = answer.error_code.unwrap_or(status);
        let description = answer.description.unwrap_or_else(|| format!("HTTP {status}"));
        Err(classify(
            code,
            description,
            answer.parameters.and_then(|p| p.retry_after),
        ))
    }

    pub async fn send_message(&self, msg: &SendMessage) -> Result<Message, BotError> {
        self.call("sendMessage", msg).await
    }

    /// Returns `true` (the fake and Telegram return the message or `true`; either is success).
    pub async fn edit_message_text(&self, edit: &EditMessageText) -> Result<(), BotError> {
        match self.call::<_, serde_json::Value>("editMessageText", edit).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_modified() => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn answer_callback_query(&self, answer: &AnswerCallbackQuery) -> Result<(), BotError> {
        self.call::<_, bool>("answerCallbackQuery", answer).await.map(|_| ())
    }

    pub async fn forward_message(&self, fwd: &ForwardMessage) -> Result<MessageIdResult, BotError> {
        self.call("forwardMessage", fwd).await
    }

    pub async fn copy_message(&self, copy: &ForwardMessage) -> Result<MessageIdResult, BotError> {
        self.call("copyMessage", copy).await
    }

    pub async fn get_me(&self) -> Result<User, BotError> {
        self.call("getMe", &serde_json::json!({})).await
    }

    pub async fn set_webhook(&self, hook: &SetWebhook) -> Result<(), BotError> {
        self.call::<_, bool>("setWebhook", hook).await.map(|_| ())
    }

    pub async fn set_my_commands(&self, commands: &SetMyCommands) -> Result<(), BotError> {
        self.call::<_, bool>("setMyCommands", commands).await.map(|_| ())
    }
}

fn classify(code: u16, description: String, retry_after: Option<u64>) -> BotError {
    match code {
        429 => BotError::RetryAfter {
            seconds: retry_after.unwrap_or(1).max(1),
        },
        403 => BotError::Forbidden { description },
        400 => BotError::BadRequest { description },
        code => BotError::Api { code, description },
    }
}

/// Escapes text for `parse_mode = HTML`.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_timeouts_fit_the_function_timeout() {
        assert_eq!(
            budget(Duration::from_secs(10)),
            (Duration::from_millis(2500), CONNECT_TIMEOUT)
        );
        assert_eq!(budget(Duration::from_secs(60)), (REQUEST_TIMEOUT, CONNECT_TIMEOUT));
        for secs in 1..=900 {
            let t = Duration::from_secs(secs);
            let (request, connect) = budget(t);
            assert!(request * CALLS_PER_INVOCATION <= t * 3 / 4, "{secs} s");
            assert!(connect <= request && request <= REQUEST_TIMEOUT);
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let api = BotApi::new("https://api.telegram.org/", Secret::new("123:SECRET-TOKEN"));
        let shown = format!("{api:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("https://api.telegram.org\""), "{shown}");
    }

    #[test]
    fn errors_are_classified() {
        assert_eq!(
            classify(429, "Too Many Requests".into(), Some(7)),
            BotError::RetryAfter { seconds: 7 }
        );
        assert!(matches!(
            classify(403, "Forbidden: bot was blocked by the user".into(), None),
            BotError::Forbidden { .. }
        ));
        assert!(classify(502, "Bad Gateway".into(), None).is_transient());
        assert!(!classify(400, "Bad Request: chat not found".into(), None).is_transient());
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape("<b>&"), "&lt;b&gt;&amp;");
    }
}
