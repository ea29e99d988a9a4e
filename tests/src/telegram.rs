//! Driving the bot as Telegram would: sample updates from
//! events/telegram-webhook go to the webhook; the stack's Bot API fake shows
//! what the bot called and what Telegram answered.

use lodge::domain::Member;
use lodge::domain::{Email, MemberStatus, Role};
use serde_json::{json, Value};

use crate::{repo_root, unique, TestApp};

pub const ADA: i64 = 111111111;
pub const BOB: i64 = 222222222;

/// The update inside a sample event.
pub fn sample(name: &str) -> Value {
    let path = repo_root().join(format!("events/telegram-webhook/{name}.json"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    serde_json::from_str(event["body"].as_str().unwrap()).unwrap()
}

/// A sample with a fresh update id (stacks share nothing, but tests send several).
pub fn fresh(name: &str) -> Value {
    let mut u = sample(name);
    u["update_id"] = json!(rand_id());
    u
}

pub fn rand_id() -> i64 {
    i64::from_str_radix(
        &lodge::crypto::sha256_hex(lodge::crypto::random_token(8).as_bytes())[..8],
        16,
    )
    .unwrap()
}

pub fn secret(app: &TestApp) -> String {
    app.stack
        .env("TelegramWebhookFunction", "LODGE_TELEGRAM_WEBHOOK_SECRET")
        .unwrap()
        .to_string()
}

pub async fn post_update(app: &TestApp, update: &Value) -> reqwest::Response {
    app.http
        .post(app.at("/telegram/webhook"))
        .header("x-telegram-bot-api-secret-token", secret(app))
        .json(update)
        .send()
        .await
        .unwrap()
}

/// One Bot API call as `/_local/telegram` lists it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Call {
    pub method: String,
    pub params: Value,
    /// What Telegram answered (`null` when it refused: see `error`).
    #[serde(default)]
    pub result: Value,
    #[serde(default)]
    pub error: Option<Value>,
}

pub async fn calls(app: &TestApp) -> Vec<Call> {
    let calls: Vec<Call> = app.get("/_local/telegram").send().await.unwrap().json().await.unwrap();
    calls
}

/// Posts `update` (expecting 200) and returns the Bot API calls it caused.
pub async fn exchange(app: &TestApp, update: &Value) -> Vec<Call> {
    let before = calls(app).await.len();
    let r = post_update(app, update).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    calls(app).await.split_off(before)
}

/// The single `sendMessage` among `calls`, to `chat`.
pub fn only_message(calls: &[Call], chat: i64) -> String {
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].method, "sendMessage", "{calls:#?}");
    assert_eq!(calls[0].params["chat_id"], chat, "{calls:#?}");
    calls[0].params["text"].as_str().unwrap().to_string()
}

pub async fn new_member(app: &TestApp, name: &str, role: Role, status: MemberStatus) -> Member {
    let label: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    let email = Email::parse(&format!("{}@example.org", unique(&label))).unwrap();
    let mut m = Member::new(email, role, status, app.clock.now_secs());
    m.display_name = Some(name.to_string());
    app.store().members().create(&m).await.unwrap();
    m
}

pub trait Now {
    fn now_secs(&self) -> i64;
}
impl Now for std::sync::Arc<lodge::clock::ManualClock> {
    fn now_secs(&self) -> i64 {
        lodge::clock::Clock::now(self.as_ref())
    }
}

/// Links Telegram user `user_id` (@`username`) to `member` the way a member does: a
/// token from the store, then `/start <token>`.
pub async fn link(app: &TestApp, member: &Member, user_id: i64, username: &str) {
    let token = app
        .store()
        .telegram()
        .issue_link_token(&member.id, app.clock.now_secs())
        .await
        .unwrap();
    let mut u = fresh("start-link");
    u["message"]["text"] = json!(format!("/start {}", token.expose()));
    u["message"]["from"]["id"] = json!(user_id);
    u["message"]["from"]["username"] = json!(username);
    u["message"]["chat"]["id"] = json!(user_id);
    let text = only_message(&exchange(app, &u).await, user_id);
    assert!(text.contains("is now linked to"), "{text}");
}
