//! A stand-in for the Telegram Bot API: records every call (for
//! `/_local/telegram`) and answers it plausibly.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Clone, Serialize)]
pub struct BotCall {
    pub method: String,
    pub params: Value,
    /// What the stand-in answered (tests read message ids from it).
    pub result: Value,
    pub at: String,
}

#[derive(Default)]
pub struct FakeBotApi {
    calls: Mutex<Vec<BotCall>>,
    next_message_id: AtomicI64,
}

impl FakeBotApi {
    pub fn calls(&self) -> Vec<BotCall> {
        self.calls.lock().expect("calls lock").clone()
    }

    pub fn call(&self, method: &str, params: Value) -> Value {
        let now = lodge::clock::Clock::now(&lodge::clock::SystemClock);
        let message = |chat: &Value| {
            let id = 1000 + self.next_message_id.fetch_add(1, Ordering::SeqCst);
            json!({"message_id": id, "date": now, "chat": {"id": chat.clone(), "type": "private"}, "text": params.get("text").cloned().unwrap_or(Value::Null)})
        };
        let result = match method {
            "getMe" => json!({"id": 1, "is_bot": true, "first_name": "Lodge", "username": "lodge_local_bot"}),
            "sendMessage"
            | "editMessageText"
            | "sendPhoto"
            | "sendDocument"
            | "editMessageCaption"
            | "editMessageReplyMarkup" => message(params.get("chat_id").unwrap_or(&Value::Null)),
            "forwardMessage" | "copyMessage" => {
                json!({"message_id": message(params.get("chat_id").unwrap_or(&Value::Null))["message_id"]})
            }
            "forwardMessages" | "copyMessages" => {
                let n = params.get("message_ids").and_then(Value::as_array).map_or(1, Vec::len);
                let chat = params.get("chat_id").cloned().unwrap_or(Value::Null);
                Value::Array(
                    (0..n)
                        .map(|_| json!({"message_id": message(&chat)["message_id"]}))
                        .collect(),
                )
            }
            _ => Value::Bool(true),
        };
        let call = BotCall {
            method: method.into(),
            params,
            result: result.clone(),
            at: lodge::clock::rfc3339(now),
        };
        self.calls.lock().expect("calls lock").push(call);
        json!({"ok": true, "result": result})
    }
}
