//! A tiny recording Bot API for client tests that need failures the runner's
//! stand-in never produces: each method can be scripted to answer an error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

#[derive(Default)]
struct Inner {
    calls: Vec<(String, String, Value)>,
    scripted: HashMap<String, (u16, Value)>,
}

#[derive(Clone, Default)]
pub struct FakeBot {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

impl FakeBot {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = FakeBot {
            inner: Arc::default(),
            url,
        };
        let app = Router::new()
            .route("/{bot}/{method}", post(answer))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        fake
    }

    /// From now on `method` answers `status` with `body`.
    pub fn script(&self, method: &str, status: u16, body: Value) {
        self.inner
            .lock()
            .unwrap()
            .scripted
            .insert(method.into(), (status, body));
    }

    /// Back to answering `method` normally.
    pub fn unscript(&self, method: &str) {
        self.inner.lock().unwrap().scripted.remove(method);
    }

    /// `(bot path segment, method, params)` of every call so far.
    pub fn calls(&self) -> Vec<(String, String, Value)> {
        self.inner.lock().unwrap().calls.clone()
    }
}

async fn answer(
    State(fake): State<FakeBot>,
    Path((bot, method)): Path<(String, String)>,
    Json(params): Json<Value>,
) -> Response {
    let mut inner = fake.inner.lock().unwrap();
    inner.calls.push((bot, method.clone(), params.clone()));
    if let Some((status, body)) = inner.scripted.get(&method) {
        return (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            Json(body.clone()),
        )
            .into_response();
    }
    let result = match method.as_str() {
        "sendMessage" => {
            json!({"message_id": 1, "date": 0, "chat": {"id": params["chat_id"], "type": "private"}, "text": params["text"]})
        }
        _ => json!(true),
    };
    Json(json!({"ok": true, "result": result})).into_response()
}
