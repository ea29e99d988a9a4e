//! `GET /healthz`: proves the whole path works — handler, DynamoDB, response.

use std::time::Instant;

use lambda_http::http::StatusCode;
use lambda_http::Request;
use lodge::store::{Key, Store};
use lodge::web::{self, Reply, WebError};
use lodge::{ConfigError, Env};
use serde_json::json;

pub struct State {
    store: Store,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            store: Store::from_env(env, aws)?,
        })
    }
}

pub async fn handler(state: &State, req: Request) -> Reply {
    web::serve(req, |ctx| async move {
        if ctx.route != "GET /healthz" {
            return Err(WebError::not_found());
        }
        let started = Instant::now();
        // A consistent read of a fixed key: cheap, read-only, and it fails if
        // the table or credentials are wrong.
        match state.store.get::<serde_json::Value>(&Key::health()).await {
            Ok(_) => Ok(web::json(
                StatusCode::OK,
                &json!({"status": "ok", "database": {"status": "ok", "latency_ms": started.elapsed().as_millis() as u64}}),
            )),
            Err(e) => {
                lodge::telemetry::error("database", &e);
                Ok(web::json(StatusCode::SERVICE_UNAVAILABLE, &json!({"status": "unavailable", "database": {"status": "error"}})))
            }
        }
    })
    .await
}
