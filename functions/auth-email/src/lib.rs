//! Passwordless sign-in: request a one-time code by email, redeem it for a
//! session; sign out here or everywhere; who am I.

mod pages;
mod routes;

use lambda_http::Request;
use lodge::auth::Sessions;
use lodge::config::AppUrl;
use lodge::domain::Email;
use lodge::login::LoginCodes;
use lodge::store::rate::Limit;
use lodge::store::Store;
use lodge::web::{self, Reply, WebError};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    pub(crate) store: Store,
    pub(crate) sessions: Sessions,
    pub(crate) codes: LoginCodes,
    pub(crate) app: Option<AppUrl>,
    /// Addresses that are admins by configuration (`AdminEmails`).
    pub(crate) admins: Vec<Email>,
    /// Sign-in requests (code requests + code checks) per client IP per hour.
    pub(crate) ip_limit: Limit,
    pub(crate) clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let store = Store::from_env(env, aws)?;
        let admins = env
            .optional("LODGE_ADMIN_EMAILS")
            .unwrap_or_default()
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| Email::parse(s).map_err(|e| ConfigError::new("LODGE_ADMIN_EMAILS", e)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            sessions: Sessions::from_env(env, &store, &clock)?,
            codes: LoginCodes::from_env(env, aws, &store, &clock)?,
            app: env.app_url()?,
            admins,
            ip_limit: lodge::auth::ip_limit(env)?,
            store,
            clock,
        })
    }
}

pub async fn handler(state: &State, req: Request) -> Reply {
    web::serve_site(req, &state.app, web::DEFAULT_BODY_LIMIT, |ctx, app| async move {
        match ctx.route.as_str() {
            "GET /login" => routes::login_page(state, &ctx).await,
            "POST /auth/email" => routes::request_code(state, &ctx, &app).await,
            "GET /auth/code" => routes::confirm_page(&ctx),
            "POST /auth/code" => routes::redeem_code(state, &ctx, &app).await,
            "GET /auth/link" => routes::link_page(&ctx),
            "POST /auth/link" => routes::redeem_link(state, &ctx, &app).await,
            "POST /logout" => routes::logout(state, &ctx, &app).await,
            "POST /logout/all" => routes::logout_all(state, &ctx, &app).await,
            "GET /me" => routes::me_page(state, &ctx).await,
            "GET /api/me" => routes::me_json(state, &ctx).await,
            _ => Err(WebError::not_found()),
        }
    })
    .await
}
