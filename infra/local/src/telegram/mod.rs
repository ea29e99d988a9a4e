//! The one Bot API fake, for `make dev` (mounted at `/_local/telegram`), the
//! black-box tests and `make bench-forward` (on its own port).
//!
//! It holds Telegram's published contract (`spec.rs`, from the vendored
//! spec): an unknown method is 404, a missing or mistyped parameter, a text
//! over its limit, malformed `parse_mode: HTML` (`html.rs`), over-long
//! `callback_data` or more than 100 buttons is 400, each with Telegram's
//! `description`. Its state is configurable as Telegram's would be: chats
//! that don't exist, users who blocked the bot, source messages that can't be
//! copied. It records every call with its answer, and can misbehave on
//! demand: scripted answers (per method, once or until unscripted, or per
//! chat), Telegram-style send limits (429 + `retry_after`), injected 5xx
//! answers and timeouts.
//!
//! Injected timeouts hang *before* the request is processed, so a timed-out
//! call never posted anything (Telegram gives no such promise).

mod html;
pub mod spec;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Map, Value};

use spec::{json_in, spec, Refusal};

/// One call as the fake saw it, with Telegram's answer: `result`, or the error.
#[derive(Debug, Clone, Serialize)]
pub struct BotCall {
    pub method: String,
    pub params: Value,
    pub ok: bool,
    /// What Telegram answered on success (`null` on an error).
    pub result: Value,
    /// `{error_code, description, parameters?}` when Telegram refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    pub at: String,
    /// The `bot<token>` path segment; never listed (it holds the token).
    #[serde(skip)]
    pub bot: String,
}

/// Telegram-style limits the fake enforces (sliding windows).
#[derive(Clone, Copy, Debug)]
pub struct SendLimits {
    pub bot_per_sec: usize,
    pub chat_per_sec: usize,
    pub group_max: usize,
    pub group_window: Duration,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Fraction of sends answered 500/502.
    pub server_error: f64,
    /// Fraction of sends that hang for `hang` (longer than the client's timeout).
    pub timeout: f64,
    pub hang: Duration,
}

/// One message (or album) the fake accepted.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub method: String,
    pub chat_id: i64,
    pub thread_id: Option<i64>,
    pub from_chat_id: Option<i64>,
    /// The source messages actually copied (those that could be).
    pub source_ids: Vec<i64>,
    pub dest_ids: Vec<i64>,
    pub text: Option<String>,
    pub at: Instant,
}

#[derive(Clone, Debug)]
pub struct Edit {
    pub method: String,
    pub chat_id: i64,
    pub message_id: i64,
    pub text: String,
}

/// Methods that post or change a message: rate-limited and fault-injected.
const SENDS: [&str; 9] = [
    "sendMessage",
    "copyMessage",
    "forwardMessage",
    "copyMessages",
    "forwardMessages",
    "sendMediaGroup",
    "sendPhoto",
    "editMessageText",
    "editMessageCaption",
];

#[derive(Default)]
struct Inner {
    calls: Vec<BotCall>,
    deliveries: Vec<Delivery>,
    edits: Vec<Edit>,
    next_id: HashMap<i64, i64>,
    once: HashMap<String, VecDeque<(u16, Value)>>,
    scripted: HashMap<String, (u16, Value)>,
    per_chat: HashMap<i64, (u16, Value)>,
    missing_chats: HashSet<i64>,
    blocked: HashSet<i64>,
    unavailable: HashSet<(i64, i64)>,
    limits: Option<SendLimits>,
    faults: Faults,
    bot_window: VecDeque<Instant>,
    chat_windows: HashMap<i64, VecDeque<Instant>>,
    group_windows: HashMap<i64, VecDeque<Instant>>,
    rejected_429: u64,
    injected_5xx: u64,
    injected_timeouts: u64,
    rng: u64,
}

/// The fake; clones share one state.
#[derive(Clone)]
pub struct FakeTelegram {
    /// The Bot API base URL clients use (`TELEGRAM_API_BASE`).
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeTelegram {
    /// A fake served by someone else at `url` (the runner mounts it at `/_local/telegram`).
    pub fn at(url: impl Into<String>) -> Self {
        let inner = Inner {
            rng: 0x9E37_79B9_7F4A_7C15,
            ..Default::default()
        };
        Self {
            url: url.into(),
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    /// A fake on its own loopback port.
    pub async fn start() -> Self {
        Self::start_with(None, Faults::default()).await
    }

    pub async fn start_with(limits: Option<SendLimits>, faults: Faults) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let fake = Self::at(format!("http://{}", listener.local_addr().expect("addr")));
        fake.set_limits(limits);
        fake.set_faults(faults);
        let app: Router = fake.router();
        tokio::spawn(async move { axum::serve(listener, app).await });
        fake
    }

    /// `GET /` lists the calls; `/{bot<token>}/{method}` is the Bot API.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/", get(list))
            .route("/{bot}/{method}", any(answer))
            .with_state(self.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    // --- State, as Telegram would hold it.

    /// `chat` does not exist (or the bot is not in it): 400 "chat not found".
    /// What Telegram sends the bot when the user edits the message of
    /// `update` (a `message` update it delivered): an `edited_message` update
    /// numbered `update_id`, the same message (id, chat, sender, what it
    /// replies to) with the new `text` and an `edit_date`. Checked against
    /// the spec's `Update`, as the fake's answers are checked.
    pub fn edit_of(&self, update: &Value, update_id: i64, text: &str, edit_date: i64) -> Value {
        let mut m = update["message"].clone();
        assert!(m.is_object(), "not a message update: {update}");
        m["text"] = json!(text);
        m["edit_date"] = json!(edit_date);
        if let Some(o) = m.as_object_mut() {
            // The old text's entities do not describe the new one.
            o.remove("entities");
        }
        let edited = json!({"update_id": update_id, "edited_message": m});
        if let Err(e) = spec().check_type("Update", &edited) {
            panic!("not a Telegram update: {}: {edited}", e.description);
        }
        edited
    }

    pub fn forget_chat(&self, chat: i64) {
        self.lock().missing_chats.insert(chat);
    }

    /// `user` blocked the bot: 403 "bot was blocked by the user".
    pub fn block(&self, user: i64) {
        self.lock().blocked.insert(user);
    }

    pub fn unblock(&self, user: i64) {
        self.lock().blocked.remove(&user);
    }

    /// Message `id` in `chat` can't be copied or forwarded (deleted, a service message…).
    pub fn make_unavailable(&self, chat: i64, id: i64) {
        self.lock().unavailable.insert((chat, id));
    }

    pub fn set_limits(&self, limits: Option<SendLimits>) {
        self.lock().limits = limits;
    }

    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    // --- Scripted answers, before the contract is checked.

    /// The next call of `method` answers `status` with `body` (queued, one-shot).
    pub fn fail_next(&self, method: &str, status: u16, body: Value) {
        self.lock()
            .once
            .entry(method.to_ascii_lowercase())
            .or_default()
            .push_back((status, body));
    }

    /// Every call of `method` answers `status` with `body` until `unscript`.
    pub fn script(&self, method: &str, status: u16, body: Value) {
        self.lock().scripted.insert(method.to_ascii_lowercase(), (status, body));
    }

    pub fn unscript(&self, method: &str) {
        self.lock().scripted.remove(&method.to_ascii_lowercase());
    }

    /// Every send to `chat` answers `status` with `body` from now on.
    pub fn fail_chat(&self, chat: i64, status: u16, body: Value) {
        self.lock().per_chat.insert(chat, (status, body));
    }

    // --- What happened.

    pub fn calls(&self) -> Vec<BotCall> {
        self.lock().calls.clone()
    }

    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .map(|c| c.params.clone())
            .collect()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    pub fn deliveries_to(&self, chat: i64) -> Vec<Delivery> {
        self.deliveries().into_iter().filter(|d| d.chat_id == chat).collect()
    }

    pub fn edits(&self) -> Vec<Edit> {
        self.lock().edits.clone()
    }

    /// (429s sent, 5xx injected, timeouts injected).
    pub fn faults_seen(&self) -> (u64, u64, u64) {
        let i = self.lock();
        (i.rejected_429, i.injected_5xx, i.injected_timeouts)
    }

    /// Answers one call: `(HTTP status, body)`, and records it.
    pub async fn call(&self, bot: &str, method: &str, params: Value) -> (u16, Value) {
        let known = spec().method(method);
        let name = known.map_or(method.to_string(), |m| m.name.clone());
        let (status, body) = match known {
            _ if !bot.starts_with("bot") => error(404, "Not Found", None),
            None => error(404, "Not Found", None),
            Some(m) => match self.before(&name, &params) {
                Before::Answer(status, body) => (status, body),
                Before::Hang(hang) => {
                    tokio::time::sleep(hang).await;
                    error(504, "Gateway Timeout (the client gave up long ago)", None)
                }
                Before::Go => match spec().check(m, &params) {
                    Err(r) => refuse(r),
                    Ok(()) => self.perform(&name, &params),
                },
            },
        };
        let ok = body["ok"] == true;
        let call = BotCall {
            method: name,
            params,
            ok,
            result: if ok { body["result"].clone() } else { Value::Null },
            error: (!ok).then(|| {
                let mut e = body.clone();
                if let Some(o) = e.as_object_mut() {
                    o.remove("ok");
                }
                e
            }),
            at: lodge::clock::rfc3339(lodge::clock::Clock::now(&lodge::clock::SystemClock)),
            bot: bot.to_string(),
        };
        self.lock().calls.push(call);
        (status, body)
    }

    /// Scripted answers and injected faults, before anything is checked or posted.
    fn before(&self, method: &str, params: &Value) -> Before {
        let mut i = self.lock();
        let key = method.to_ascii_lowercase();
        if let Some((status, body)) = i.once.get_mut(&key).and_then(VecDeque::pop_front) {
            return Before::Answer(status, body);
        }
        if let Some((status, body)) = i.scripted.get(&key).cloned() {
            return Before::Answer(status, body);
        }
        let is_send = SENDS.contains(&method);
        if let Some((status, body)) = i.per_chat.get(&chat_of(params)).filter(|_| is_send).cloned() {
            return Before::Answer(status, body);
        }
        let faults = i.faults;
        if is_send && (faults.server_error > 0.0 || faults.timeout > 0.0) {
            // xorshift: deterministic, no extra dependency.
            i.rng ^= i.rng << 13;
            i.rng ^= i.rng >> 7;
            i.rng ^= i.rng << 17;
            let roll = (i.rng % 1_000_000) as f64 / 1_000_000.0;
            if roll < faults.server_error {
                i.injected_5xx += 1;
                let status = if i.rng.is_multiple_of(2) { 500 } else { 502 };
                let (status, body) = error(status, "Internal Server Error", None);
                return Before::Answer(status, body);
            }
            if roll < faults.server_error + faults.timeout {
                i.injected_timeouts += 1;
                return Before::Hang(faults.hang);
            }
        }
        Before::Go
    }

    /// A call that keeps the contract: the chat's state, the send limits, then the result.
    fn perform(&self, method: &str, params: &Value) -> (u16, Value) {
        let mut i = self.lock();
        let chat = chat_of(params);
        for key in ["chat_id", "from_chat_id"] {
            let Some(id) = params.get(key).and_then(int) else {
                continue;
            };
            if i.missing_chats.contains(&id) {
                return error(400, "Bad Request: chat not found", None);
            }
            if key == "chat_id" && i.blocked.contains(&id) {
                return error(403, "Forbidden: bot was blocked by the user", None);
            }
        }
        let from = params.get("from_chat_id").and_then(int);
        let source_ids: Vec<i64> = match params.get("message_ids").and_then(json_in) {
            Some(Value::Array(ids)) => ids.iter().filter_map(int).collect(),
            _ => params.get("message_id").and_then(int).into_iter().collect(),
        };
        // Copies: only the messages that can be copied, in order (as Telegram does).
        let copyable: Vec<i64> = match from {
            Some(from) => source_ids
                .iter()
                .copied()
                .filter(|id| !i.unavailable.contains(&(from, *id)))
                .collect(),
            None => source_ids.clone(),
        };
        if matches!(method, "forwardMessages" | "copyMessages") {
            if source_ids.windows(2).any(|w| w[0] >= w[1]) {
                return error(
                    400,
                    "Bad Request: message identifiers must be in strictly increasing order",
                    None,
                );
            }
            if copyable.is_empty() {
                return error(400, "Bad Request: there are no messages to forward", None);
            }
        }
        if matches!(method, "forwardMessage" | "copyMessage") && copyable.is_empty() {
            let what = if method == "copyMessage" { "copy" } else { "forward" };
            return error(400, &format!("Bad Request: message to {what} not found"), None);
        }
        let media = params.get("media").and_then(json_in);
        let count = match method {
            "forwardMessages" | "copyMessages" => copyable.len(),
            "sendMediaGroup" => media.as_ref().and_then(Value::as_array).map_or(1, Vec::len),
            _ => 1,
        };
        if SENDS.contains(&method) {
            if let Some(refused) = i.rate_limit(chat, count) {
                return refused;
            }
        }
        let text = params
            .get("text")
            .or_else(|| params.get("caption"))
            .and_then(Value::as_str)
            .map(|t| visible(t, params));
        let now = lodge::clock::Clock::now(&lodge::clock::SystemClock);
        let chat_type = if chat > 0 { "private" } else { "supergroup" };
        let message = |id: i64, text: &Option<String>| {
            let mut m = json!({"message_id": id, "date": now, "chat": {"id": chat, "type": chat_type}});
            if let Some(t) = text {
                m[if params.get("caption").is_some() {
                    "caption"
                } else {
                    "text"
                }] = json!(t);
            }
            m
        };
        let result = match method {
            "sendMessage" | "sendPhoto" | "copyMessage" | "forwardMessage" | "copyMessages" | "forwardMessages"
            | "sendMediaGroup" => {
                let dest_ids = i.new_ids(chat, count);
                i.deliveries.push(Delivery {
                    method: method.to_string(),
                    chat_id: chat,
                    thread_id: params.get("message_thread_id").and_then(int),
                    from_chat_id: from,
                    source_ids: if from.is_some() { copyable } else { source_ids },
                    dest_ids: dest_ids.clone(),
                    text: text.clone(),
                    at: Instant::now(),
                });
                match method {
                    "copyMessages" | "forwardMessages" => {
                        json!(dest_ids.iter().map(|id| json!({"message_id": id})).collect::<Vec<_>>())
                    }
                    "sendMediaGroup" => json!(dest_ids.iter().map(|id| message(*id, &None)).collect::<Vec<_>>()),
                    "copyMessage" => json!({"message_id": dest_ids[0]}),
                    _ => message(dest_ids[0], &text),
                }
            }
            "editMessageText" | "editMessageCaption" | "editMessageReplyMarkup" => {
                let message_id = params.get("message_id").and_then(int);
                match message_id {
                    // An inline message: Telegram answers `true`.
                    None => json!(true),
                    Some(id) => {
                        if method != "editMessageReplyMarkup" {
                            i.edits.push(Edit {
                                method: method.to_string(),
                                chat_id: chat,
                                message_id: id,
                                text: text.clone().unwrap_or_default(),
                            });
                        }
                        message(id, &text)
                    }
                }
            }
            "getMe" => {
                json!({"id": 1, "is_bot": true, "first_name": "Lodge", "username": "lodge_local_bot", "can_join_groups": true})
            }
            _ => placeholder(spec().method(method).map(|m| m.returns.as_slice()).unwrap_or_default()),
        };
        (200, json!({"ok": true, "result": result}))
    }
}

enum Before {
    Answer(u16, Value),
    Hang(Duration),
    Go,
}

impl Inner {
    fn new_ids(&mut self, chat: i64, n: usize) -> Vec<i64> {
        let next = self.next_id.entry(chat).or_insert(100);
        (0..n)
            .map(|_| {
                *next += 1;
                *next
            })
            .collect()
    }

    /// 429 with `retry_after` when a send would pass a window; otherwise takes its room.
    fn rate_limit(&mut self, chat: i64, count: usize) -> Option<(u16, Value)> {
        let l = self.limits?;
        let now = Instant::now();
        let second = Duration::from_secs(1);
        prune(&mut self.bot_window, now, second);
        let cw = self.chat_windows.entry(chat).or_default();
        prune(cw, now, second);
        let gw = self.group_windows.entry(chat).or_default();
        prune(gw, now, l.group_window);
        let wait = if self.bot_window.len() + count > l.bot_per_sec {
            Some(retry_after(&self.bot_window, now, second))
        } else if cw.len() + count > l.chat_per_sec.max(count) {
            Some(retry_after(cw, now, second))
        } else if gw.len() + count > l.group_max.max(count) {
            Some(retry_after(gw, now, l.group_window))
        } else {
            None
        };
        if let Some(s) = wait {
            self.rejected_429 += 1;
            return Some(error(429, &format!("Too Many Requests: retry after {s}"), Some(s)));
        }
        for _ in 0..count {
            self.bot_window.push_back(now);
            self.chat_windows.entry(chat).or_default().push_back(now);
            self.group_windows.entry(chat).or_default().push_back(now);
        }
        None
    }
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn chat_of(params: &Value) -> i64 {
    params.get("chat_id").and_then(int).unwrap_or_default()
}

/// The text as Telegram stores it: entities parsed out.
fn visible(text: &str, params: &Value) -> String {
    let html = params
        .get("parse_mode")
        .and_then(Value::as_str)
        .is_some_and(|m| m.eq_ignore_ascii_case("html"));
    match html {
        true => html::parse(text).unwrap_or_else(|_| text.to_string()),
        false => text.to_string(),
    }
}

/// A plausible result of a method the fake has no model for, by its declared return type.
fn placeholder(returns: &[String]) -> Value {
    match returns.first().map(String::as_str) {
        Some("Boolean") | None => json!(true),
        Some("Integer") => json!(1),
        Some("String") => json!(""),
        Some(t) if t.starts_with("Array of") => json!([]),
        Some("User") => json!({"id": 1, "is_bot": true, "first_name": "Lodge"}),
        Some(_) => json!({}),
    }
}

fn error(status: u16, description: &str, retry_after: Option<u64>) -> (u16, Value) {
    let mut body = json!({"ok": false, "error_code": status, "description": description});
    if let Some(s) = retry_after {
        body["parameters"] = json!({"retry_after": s});
    }
    (status, body)
}

fn refuse(r: Refusal) -> (u16, Value) {
    error(r.status, &r.description, None)
}

fn prune(window: &mut VecDeque<Instant>, now: Instant, span: Duration) {
    while window.front().is_some_and(|t| now.duration_since(*t) >= span) {
        window.pop_front();
    }
}

/// Seconds until the window has room again (at least 1, as Telegram says).
fn retry_after(window: &VecDeque<Instant>, now: Instant, span: Duration) -> u64 {
    window
        .front()
        .map(|t| (span.saturating_sub(now.duration_since(*t))).as_secs_f64().ceil() as u64)
        .unwrap_or(1)
        .max(1)
}

/// The request's parameters as Telegram reads them: the query string, then a
/// JSON or form-encoded body.
fn params_of(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<Value, (u16, Value)> {
    let mut params: Map<String, Value> = query
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect()
        })
        .unwrap_or_default();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if body.is_empty() {
        return Ok(Value::Object(params));
    }
    if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => params.extend(o),
            Ok(_) => return Err(error(400, "Bad Request: JSON object expected", None)),
            Err(_) => return Err(error(400, "Bad Request: can't parse JSON object", None)),
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        params.extend(url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), Value::String(v.into_owned()))));
    } else {
        // multipart/form-data (uploads) is not modelled.
        return Err(error(
            400,
            "Bad Request: the fake Bot API reads JSON and form bodies only",
            None,
        ));
    }
    Ok(Value::Object(params))
}

async fn answer(
    State(fake): State<FakeTelegram>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (status, body) = match params_of(query.as_deref(), &headers, &body) {
        Ok(params) => fake.call(&bot, &method, params).await,
        Err(refused) => refused,
    };
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body),
    )
        .into_response()
}

async fn list(State(fake): State<FakeTelegram>) -> Json<Vec<BotCall>> {
    Json(fake.calls())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn send(fake: &FakeTelegram, method: &str, params: Value) -> (u16, Value) {
        fake.call("bot1:x", method, params).await
    }

    #[test]
    fn an_edit_keeps_the_message_and_carries_its_edit_date() {
        let fake = FakeTelegram::at("http://fake");
        let chat = json!({"id": 42, "type": "private", "first_name": "Ada"});
        let sent = json!({"update_id": 1, "message": {"message_id": 7, "date": 100, "chat": chat,
            "from": {"id": 42, "is_bot": false, "first_name": "Ada"}, "text": "helo",
            "entities": [{"type": "bold", "offset": 0, "length": 4}]}});
        let edited = fake.edit_of(&sent, 2, "hello", 160);
        let m = &edited["edited_message"];
        assert_eq!(
            (edited["update_id"].as_i64(), m["message_id"].as_i64()),
            (Some(2), Some(7))
        );
        assert_eq!(
            (m["text"].as_str(), m["edit_date"].as_i64()),
            (Some("hello"), Some(160))
        );
        assert!(m.get("entities").is_none() && edited.get("message").is_none());
        // A message without its required `chat` is no Update Telegram would send.
        let broken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fake.edit_of(&json!({"message": {"message_id": 7, "date": 100}}), 3, "x", 1)
        }));
        assert!(broken.is_err());
    }

    #[tokio::test]
    async fn unknown_methods_and_bad_paths_are_not_found() {
        let fake = FakeTelegram::at("http://fake");
        let (status, body) = send(&fake, "sendMassage", json!({})).await;
        assert_eq!((status, body), error(404, "Not Found", None));
        let (status, _) = fake.call("nobot", "getMe", json!({})).await;
        assert_eq!(status, 404);
        // Method names are case-insensitive, as Telegram's are.
        assert_eq!(send(&fake, "getme", json!({})).await.0, 200);
        assert_eq!(fake.calls()[2].method, "getMe");
    }

    #[tokio::test]
    async fn chats_that_do_not_exist_and_users_who_blocked_the_bot() {
        let fake = FakeTelegram::at("http://fake");
        fake.forget_chat(-5);
        fake.block(7);
        let send_to = |chat: i64| json!({"chat_id": chat, "text": "hi"});
        assert_eq!(
            send(&fake, "sendMessage", send_to(-5)).await,
            error(400, "Bad Request: chat not found", None)
        );
        assert_eq!(
            send(&fake, "sendMessage", send_to(7)).await,
            error(403, "Forbidden: bot was blocked by the user", None)
        );
        fake.unblock(7);
        assert_eq!(send(&fake, "sendMessage", send_to(7)).await.0, 200);
        let listed = serde_json::to_value(fake.calls()).unwrap();
        assert_eq!(listed[0]["error"]["description"], "Bad Request: chat not found");
        assert_eq!(listed[2]["result"]["chat"]["id"], 7);
        assert!(listed[0].get("bot").is_none(), "the token is never listed");
    }

    #[tokio::test]
    async fn copies_skip_messages_that_cannot_be_copied() {
        let fake = FakeTelegram::at("http://fake");
        fake.make_unavailable(-2, 11);
        let (status, body) = send(
            &fake,
            "copyMessages",
            json!({"chat_id": -9, "from_chat_id": -2, "message_ids": [10, 11, 12]}),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["result"], json!([{"message_id": 101}, {"message_id": 102}]));
        assert_eq!(fake.deliveries()[0].source_ids, vec![10, 12]);
        let (status, body) = send(
            &fake,
            "copyMessage",
            json!({"chat_id": -9, "from_chat_id": -2, "message_id": 11}),
        )
        .await;
        assert_eq!(
            (status, body["description"].as_str()),
            (400, Some("Bad Request: message to copy not found"))
        );
        let (status, _) = send(
            &fake,
            "forwardMessages",
            json!({"chat_id": -9, "from_chat_id": -2, "message_ids": [12, 10]}),
        )
        .await;
        assert_eq!(status, 400, "ids must increase");
    }

    #[tokio::test]
    async fn form_bodies_read_like_json_ones() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
        let p = params_of(Some("chat_id=5"), &headers, b"text=%3Cb%3Ehi%3C%2Fb%3E&parse_mode=HTML").unwrap();
        let fake = FakeTelegram::at("http://fake");
        let (status, body) = send(&fake, "sendMessage", p).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["text"], "hi");
        assert_eq!(body["result"]["chat"]["id"], 5);
    }

    #[tokio::test]
    async fn scripted_answers_come_first_and_limits_answer_429() {
        let fake = FakeTelegram::at("http://fake");
        fake.fail_next("sendMessage", 502, json!("bad gateway"));
        let msg = json!({"chat_id": 1, "text": "x"});
        assert_eq!(send(&fake, "sendMessage", msg.clone()).await.0, 502);
        assert_eq!(send(&fake, "sendMessage", msg.clone()).await.0, 200);
        fake.set_limits(Some(SendLimits {
            bot_per_sec: 100,
            chat_per_sec: 1,
            group_max: 100,
            group_window: Duration::from_secs(60),
        }));
        assert_eq!(send(&fake, "sendMessage", msg.clone()).await.0, 200);
        let (status, body) = send(&fake, "sendMessage", msg).await;
        assert_eq!((status, &body["parameters"]["retry_after"]), (429, &json!(1)));
        assert_eq!(fake.faults_seen().0, 1);
    }
}
