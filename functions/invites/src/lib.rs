//! Invites: members create and revoke them; newcomers open one, give their
//! email and join (then sign in with a code and write an intro).

mod join;
mod manage;
mod pages;

use lambda_http::Request;
use lodge::auth::Sessions;
use lodge::config::AppUrl;
use lodge::invites::InviteLimits;
use lodge::login::LoginCodes;
use lodge::store::rate::Limit;
use lodge::store::Store;
use lodge::web::{self, Reply, WebError};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    pub(crate) store: Store,
    pub(crate) sessions: Sessions,
    pub(crate) codes: LoginCodes,
    pub(crate) limits: InviteLimits,
    pub(crate) app: Option<AppUrl>,
    /// Activations per client IP per hour (each may send an email).
    pub(crate) ip_limit: Limit,
    pub(crate) clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let store = Store::from_env(env, aws)?;
        Ok(Self {
            sessions: Sessions::from_env(env, &store, &clock)?,
            codes: LoginCodes::from_env(env, aws, &store, &clock)?,
            limits: InviteLimits::from_env(env)?,
            app: env.app_url()?,
            ip_limit: lodge::auth::ip_limit(env)?,
            store,
            clock,
        })
    }
}

pub async fn handler(state: &State, req: Request) -> Reply {
    web::serve_site(req, &state.app, web::DEFAULT_BODY_LIMIT, |ctx, app| async move {
        match ctx.route.as_str() {
            "GET /invites" => manage::list(state, &ctx, &app).await,
            "POST /invites" => manage::create_page(state, &ctx).await,
            "POST /api/invites" => manage::create_json(state, &ctx, &app).await,
            "POST /invites/{code}/revoke" => manage::revoke(state, &ctx).await,
            "GET /invite/{code}" => join::landing(state, &ctx).await,
            "POST /invite/{code}/activate" => join::activate(state, &ctx, &app).await,
            _ => Err(WebError::not_found()),
        }
    })
    .await
}
