//! A recording fake Bot API for forwarding tests and the benchmark. Unlike the
//! runner's stand-in it can misbehave like Telegram: answer scripted errors
//! (one-shot per method, or always for one chat), enforce Telegram-style send
//! limits with 429 + `retry_after`, and inject 5xx answers and timeouts.
//!
//! Injected timeouts hang *before* the request is processed, so a timed-out
//! call never posted anything (Telegram gives no such promise; see
//! the README's forwarding section on what that means for exactly-once delivery).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

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

#[derive(Default)]
struct Inner {
    calls: Vec<(String, Value)>,
    deliveries: Vec<Delivery>,
    edits: Vec<Edit>,
    next_id: HashMap<i64, i64>,
    once: HashMap<String, VecDeque<(u16, Value)>>,
    per_chat: HashMap<i64, (u16, Value)>,
    bot_window: VecDeque<Instant>,
    chat_windows: HashMap<i64, VecDeque<Instant>>,
    group_windows: HashMap<i64, VecDeque<Instant>>,
    rejected_429: u64,
    injected_5xx: u64,
    injected_timeouts: u64,
    rng: u64,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    limits: Option<SendLimits>,
    faults: Faults,
}

const SENDS: [&str; 8] = [
    "sendMessage",
    "copyMessage",
    "forwardMessage",
    "copyMessages",
    "forwardMessages",
    "sendMediaGroup",
    "editMessageText",
    "editMessageCaption",
];

impl FakeTelegram {
    pub async fn start() -> Self {
        Self::start_with(None, Faults::default()).await
    }

    pub async fn start_with(limits: Option<SendLimits>, faults: Faults) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let inner = Inner {
            rng: 0x9E37_79B9_7F4A_7C15,
            ..Default::default()
        };
        let fake = FakeTelegram {
            url,
            inner: Arc::new(Mutex::new(inner)),
            limits,
            faults,
        };
        let app = Router::new()
            .route("/{bot}/{method}", post(answer))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        fake
    }

    /// The next call of `method` answers `status` with `body` (queued, one-shot).
    pub fn fail_next(&self, method: &str, status: u16, body: Value) {
        self.inner
            .lock()
            .unwrap()
            .once
            .entry(method.into())
            .or_default()
            .push_back((status, body));
    }

    /// Every send to `chat` answers `status` with `body` from now on.
    pub fn fail_chat(&self, chat: i64, status: u16, body: Value) {
        self.inner.lock().unwrap().per_chat.insert(chat, (status, body));
    }

    pub fn calls(&self) -> Vec<(String, Value)> {
        self.inner.lock().unwrap().calls.clone()
    }

    pub fn calls_of(&self, method: &str) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|(m, _)| m == method)
            .map(|(_, p)| p)
            .collect()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.lock().unwrap().deliveries.clone()
    }

    pub fn deliveries_to(&self, chat: i64) -> Vec<Delivery> {
        self.deliveries().into_iter().filter(|d| d.chat_id == chat).collect()
    }

    pub fn edits(&self) -> Vec<Edit> {
        self.inner.lock().unwrap().edits.clone()
    }

    /// (429s sent, 5xx injected, timeouts injected).
    pub fn faults_seen(&self) -> (u64, u64, u64) {
        let i = self.inner.lock().unwrap();
        (i.rejected_429, i.injected_5xx, i.injected_timeouts)
    }
}

fn error(status: u16, description: &str, retry_after: Option<u64>) -> Response {
    let mut body = json!({"ok": false, "error_code": status, "description": description});
    if let Some(s) = retry_after {
        body["parameters"] = json!({"retry_after": s});
    }
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(body),
    )
        .into_response()
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

async fn answer(
    State(fake): State<FakeTelegram>,
    Path((_bot, method)): Path<(String, String)>,
    Json(params): Json<Value>,
) -> Response {
    let is_send = SENDS.contains(&method.as_str());
    let chat = params.get("chat_id").and_then(Value::as_i64).unwrap_or_default();
    // Faults first, before anything is recorded or posted.
    let hang = {
        let mut i = fake.inner.lock().unwrap();
        i.calls.push((method.clone(), params.clone()));
        if let Some((status, body)) = i.once.get_mut(&method).and_then(VecDeque::pop_front) {
            return (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                Json(body),
            )
                .into_response();
        }
        if let Some((status, body)) = i.per_chat.get(&chat).filter(|_| is_send).cloned() {
            return (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                Json(body),
            )
                .into_response();
        }
        let mut hang = false;
        if is_send && (fake.faults.server_error > 0.0 || fake.faults.timeout > 0.0) {
            // xorshift: deterministic, no extra dependency.
            i.rng ^= i.rng << 13;
            i.rng ^= i.rng >> 7;
            i.rng ^= i.rng << 17;
            let roll = (i.rng % 1_000_000) as f64 / 1_000_000.0;
            if roll < fake.faults.server_error {
                i.injected_5xx += 1;
                let status = if i.rng % 2 == 0 { 500 } else { 502 };
                return error(status, "Internal Server Error", None);
            }
            if roll < fake.faults.server_error + fake.faults.timeout {
                i.injected_timeouts += 1;
                hang = true;
            }
        }
        hang
    };
    if hang {
        tokio::time::sleep(fake.faults.hang).await;
        return error(504, "Gateway Timeout (the client gave up long ago)", None);
    }
    let mut i = fake.inner.lock().unwrap();
    let now = Instant::now();
    let count = params
        .get("message_ids")
        .or_else(|| params.get("media"))
        .and_then(Value::as_array)
        .map_or(1, Vec::len);
    if let (Some(l), true) = (fake.limits, is_send) {
        prune(&mut i.bot_window, now, Duration::from_secs(1));
        if i.bot_window.len() + count > l.bot_per_sec {
            i.rejected_429 += 1;
            let s = retry_after(&i.bot_window, now, Duration::from_secs(1));
            return error(429, &format!("Too Many Requests: retry after {s}"), Some(s));
        }
        let cw = i.chat_windows.entry(chat).or_default();
        prune(cw, now, Duration::from_secs(1));
        if cw.len() + count > l.chat_per_sec.max(count) {
            let s = retry_after(cw, now, Duration::from_secs(1));
            i.rejected_429 += 1;
            return error(429, &format!("Too Many Requests: retry after {s}"), Some(s));
        }
        let gw = i.group_windows.entry(chat).or_default();
        prune(gw, now, l.group_window);
        if gw.len() + count > l.group_max.max(count) {
            let s = retry_after(gw, now, l.group_window);
            i.rejected_429 += 1;
            return error(429, &format!("Too Many Requests: retry after {s}"), Some(s));
        }
        for _ in 0..count {
            i.bot_window.push_back(now);
            i.chat_windows.get_mut(&chat).unwrap().push_back(now);
            i.group_windows.get_mut(&chat).unwrap().push_back(now);
        }
    }
    let new_ids = |i: &mut Inner, n: usize| -> Vec<i64> {
        let next = i.next_id.entry(chat).or_insert(100);
        (0..n)
            .map(|_| {
                *next += 1;
                *next
            })
            .collect()
    };
    let result = match method.as_str() {
        "sendMessage" | "copyMessage" | "forwardMessage" | "copyMessages" | "forwardMessages" | "sendMediaGroup" => {
            let source_ids: Vec<i64> = match params.get("message_ids").and_then(Value::as_array) {
                Some(ids) => ids.iter().filter_map(Value::as_i64).collect(),
                None => params.get("message_id").and_then(Value::as_i64).into_iter().collect(),
            };
            let dest_ids = new_ids(&mut i, count);
            let text = params
                .get("text")
                .or_else(|| params.get("caption"))
                .and_then(Value::as_str)
                .map(str::to_string);
            i.deliveries.push(Delivery {
                method: method.clone(),
                chat_id: chat,
                thread_id: params.get("message_thread_id").and_then(Value::as_i64),
                from_chat_id: params.get("from_chat_id").and_then(Value::as_i64),
                source_ids,
                dest_ids: dest_ids.clone(),
                text: text.clone(),
                at: now,
            });
            match method.as_str() {
                "copyMessages" | "forwardMessages" => {
                    json!(dest_ids.iter().map(|id| json!({"message_id": id})).collect::<Vec<_>>())
                }
                "sendMediaGroup" => json!(dest_ids
                    .iter()
                    .map(|id| json!({"message_id": id, "date": 0, "chat": {"id": chat, "type": "channel"}}))
                    .collect::<Vec<_>>()),
                "copyMessage" => json!({"message_id": dest_ids[0]}),
                _ => {
                    json!({"message_id": dest_ids[0], "date": 0, "chat": {"id": chat, "type": "channel"}, "text": text})
                }
            }
        }
        "editMessageText" | "editMessageCaption" => {
            let message_id = params.get("message_id").and_then(Value::as_i64).unwrap_or_default();
            let text = params
                .get("text")
                .or_else(|| params.get("caption"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            i.edits.push(Edit {
                method: method.clone(),
                chat_id: chat,
                message_id,
                text: text.clone(),
            });
            json!({"message_id": message_id, "date": 0, "chat": {"id": chat, "type": "channel"}, "text": text})
        }
        "getMe" => json!({"id": 1, "is_bot": true, "first_name": "Lodge", "username": "lodge_test_bot"}),
        _ => json!(true),
    };
    Json(json!({"ok": true, "result": result})).into_response()
}
