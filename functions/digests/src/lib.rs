//! Digest pages: one-click unsubscribe (`/u/{token}`, no sign-in), the
//! archive for members (`/digests`), the admins' page (`/admin/digest`),
//! and whether email reaches the member (`/settings/email`).

mod admin;
mod archive;
mod email_settings;
mod unsubscribe;

use lambda_http::Request;
use lodge::auth::Sessions;
use lodge::config::AppUrl;
use lodge::mail::unsubscribe::UnsubscribeKey;
use lodge::mail::Mailer;
use lodge::store::Store;
use lodge::web::{self, Reply, WebError};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    pub(crate) store: Store,
    pub(crate) sessions: Sessions,
    pub(crate) unsubscribe_key: UnsubscribeKey,
    /// For the admin's test send.
    pub(crate) mailer: Mailer,
    pub(crate) app: Option<AppUrl>,
    pub(crate) clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let store = Store::from_env(env, aws)?;
        Ok(Self {
            sessions: Sessions::from_env(env, &store, &clock)?,
            unsubscribe_key: UnsubscribeKey::from_env(env)?,
            mailer: Mailer::from_env(env, aws)?,
            app: env.app_url()?,
            store,
            clock,
        })
    }
}

pub async fn handler(state: &State, req: Request) -> Reply {
    // The one place without the Origin check: mail providers POST the
    // one-click unsubscribe from their own servers, with no Origin or
    // Referer, and the signed token in the path is the authentication.
    if req.uri().path().starts_with("/u/") {
        return web::serve(req, |ctx| async move {
            let app = ctx.app_url(&state.app)?;
            match ctx.route.as_str() {
                "GET /u/{token}" => unsubscribe::confirm(state, &ctx, &app).await,
                "POST /u/{token}" => unsubscribe::apply(state, &ctx, &app).await,
                _ => Err(WebError::not_found()),
            }
        })
        .await;
    }
    web::serve_site(req, &state.app, web::DEFAULT_BODY_LIMIT, |ctx, app| async move {
        match ctx.route.as_str() {
            "GET /digests" => archive::list(state, &ctx).await,
            "GET /digests/{id}" => archive::issue(state, &ctx, &app).await,
            "GET /admin/digest" => admin::page(state, &ctx, None).await,
            "POST /admin/digest/note" => admin::save_note(state, &ctx).await,
            "GET /admin/digest/preview" => admin::preview(state, &ctx, &app).await,
            "POST /admin/digest/test" => admin::send_test(state, &ctx, &app).await,
            "GET /settings/email" => email_settings::page(state, &ctx).await,
            "POST /settings/email/resume" => email_settings::resume(state, &ctx).await,
            _ => Err(WebError::not_found()),
        }
    })
    .await
}
