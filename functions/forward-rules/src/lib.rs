//! `/api/admin/forward-rules`: admins list, create, read, replace and delete
//! forwarding rules as JSON. Every invalid rule is a 400 whose message starts
//! with the field to fix (e.g. `destinations[0].chat_id: is the source chat`).

use lambda_http::http::StatusCode;
use lambda_http::Request;
use lodge::auth::{Sessions, Viewer};
use lodge::config::AppUrl;
use lodge::domain::Role;
use lodge::forwarding::{ForwardRule, RuleError, RuleId};
use lodge::store::{Store, StoreError};
use lodge::web::{self, Ctx, Reply, WebError};
use lodge::{ConfigError, Env, SharedClock};
use serde_json::{json, Value};

pub struct State {
    store: Store,
    sessions: Sessions,
    app: Option<AppUrl>,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let store = Store::from_env(env, aws)?;
        Ok(Self {
            sessions: Sessions::from_env(env, &store, &clock)?,
            store,
            app: env.app_url()?,
        })
    }
}

pub async fn handler(state: &State, req: Request) -> Reply {
    web::serve_site(req, &state.app, web::DEFAULT_BODY_LIMIT, |ctx, _app| async move {
        let route = ctx.route.clone();
        if !route.contains(" /api/admin/forward-rules") {
            return Err(WebError::not_found());
        }
        let admin = admin(state, &ctx).await?;
        match route.as_str() {
            "GET /api/admin/forward-rules" => list(state).await,
            "POST /api/admin/forward-rules" => create(state, &ctx, &admin).await,
            "GET /api/admin/forward-rules/{id}" => Ok(web::json(
                StatusCode::OK,
                &json!({"rule": found(state, &ctx).await?.to_json()}),
            )),
            "PUT /api/admin/forward-rules/{id}" => replace(state, &ctx, &admin).await,
            "DELETE /api/admin/forward-rules/{id}" => delete(state, &ctx, &admin).await,
            _ => Err(WebError::not_found()),
        }
    })
    .await
}

async fn admin(state: &State, ctx: &Ctx) -> Result<Viewer, WebError> {
    let viewer = state
        .sessions
        .viewer(&ctx.headers)
        .await?
        .ok_or_else(WebError::unauthorized)?;
    if viewer.member.role != Role::Admin || !viewer.is_approved() {
        return Err(WebError::forbidden("Only admins manage forwarding rules."));
    }
    Ok(viewer)
}

fn invalid(e: RuleError) -> WebError {
    WebError::bad_request(e.to_string()).with_code("invalid_rule")
}

fn body(ctx: &Ctx) -> Result<Value, WebError> {
    serde_json::from_slice(&ctx.body)
        .map_err(|e| WebError::bad_request(format!("body: is not valid JSON ({e})")).with_code("invalid_rule"))
}

fn path_id(ctx: &Ctx) -> Result<RuleId, WebError> {
    ctx.path_param("id", RuleId::parse)
}

async fn found(state: &State, ctx: &Ctx) -> Result<ForwardRule, WebError> {
    state
        .store
        .forwarding()
        .rule(&path_id(ctx)?)
        .await?
        .ok_or_else(|| WebError::new(StatusCode::NOT_FOUND, "not_found", "There is no such rule."))
}

async fn list(state: &State) -> Result<Reply, WebError> {
    let rules: Vec<Value> = state
        .store
        .forwarding()
        .rules()
        .await?
        .iter()
        .map(ForwardRule::to_json)
        .collect();
    Ok(web::json(StatusCode::OK, &json!({"rules": rules})))
}

async fn create(state: &State, ctx: &Ctx, admin: &Viewer) -> Result<Reply, WebError> {
    let body = body(ctx)?;
    let id = match body.get("id").filter(|v| !v.is_null()) {
        Some(v) => RuleId::parse(v.as_str().unwrap_or_default()).map_err(|e| invalid(RuleError::new("id", e)))?,
        None => RuleId::generate(),
    };
    let rule = ForwardRule::from_json(id, &body).map_err(invalid)?;
    match state.store.forwarding().create_rule(&rule).await {
        Ok(()) => {
            tracing::info!(rule = %rule.id, by = %admin.member.id, "forward rule created");
            Ok(web::json(StatusCode::CREATED, &json!({"rule": rule.to_json()})))
        }
        Err(StoreError::Conflict) => Err(WebError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("id: a rule {} already exists.", rule.id),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn replace(state: &State, ctx: &Ctx, admin: &Viewer) -> Result<Reply, WebError> {
    let id = path_id(ctx)?;
    // Saving a rule again is how an admin says "fixed": `broken` is cleared.
    let rule = ForwardRule::from_json(id, &body(ctx)?).map_err(invalid)?;
    match state.store.forwarding().replace_rule(&rule).await {
        Ok(true) => {
            tracing::info!(rule = %rule.id, by = %admin.member.id, "forward rule replaced");
            Ok(web::json(StatusCode::OK, &json!({"rule": rule.to_json()})))
        }
        Ok(false) => Err(WebError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no such rule.",
        )),
        Err(StoreError::Cancelled { .. }) => Err(WebError::new(
            StatusCode::CONFLICT,
            "conflict",
            "The rule changed meanwhile; read it again.",
        )),
        Err(e) => Err(e.into()),
    }
}

async fn delete(state: &State, ctx: &Ctx, admin: &Viewer) -> Result<Reply, WebError> {
    let id = path_id(ctx)?;
    match state.store.forwarding().delete_rule(&id).await {
        Ok(true) => {
            tracing::info!(rule = %id, by = %admin.member.id, "forward rule deleted");
            Ok(web::json(StatusCode::OK, &json!({"status": "deleted", "id": id})))
        }
        Ok(false) | Err(StoreError::Cancelled { .. }) => Err(WebError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no such rule.",
        )),
        Err(e) => Err(e.into()),
    }
}
