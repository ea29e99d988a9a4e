//! The web side of notifications (issue 13, docs/notifications.md): the
//! inbox (`/notifications`, unread count, mark one or all read, cursor
//! paging), the preferences page (`/settings/notifications`, which also
//! holds the digest choices of issue 14) and the post page's bell
//! (`/posts/{id}/follow`, `/unfollow`).

mod inbox;
mod prefs;

use lambda_http::http::StatusCode;
use lambda_http::Request;
use lodge::auth::Sessions;
use lodge::config::AppUrl;
use lodge::domain::PostId;
use lodge::store::{Store, StoreError};
use lodge::web::{self, Ctx, Reply, WebError};
use lodge::{ConfigError, Env, SharedClock};
use serde_json::json;

pub struct State {
    pub(crate) store: Store,
    pub(crate) sessions: Sessions,
    pub(crate) app: Option<AppUrl>,
    pub(crate) clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let store = Store::from_env(env, aws)?;
        Ok(Self {
            sessions: Sessions::from_env(env, &store, &clock)?,
            app: env.app_url()?,
            store,
            clock,
        })
    }
}

pub async fn handler(state: &State, req: Request) -> Reply {
    web::serve_site(req, &state.app, web::DEFAULT_BODY_LIMIT, |ctx, _app| async move {
        match ctx.route.as_str() {
            "GET /notifications" => inbox::page(state, &ctx).await,
            "POST /notifications/read" => inbox::mark_all(state, &ctx).await,
            "POST /notifications/{id}/read" => inbox::mark_one(state, &ctx).await,
            "GET /settings/notifications" => prefs::page(state, &ctx).await,
            "POST /settings/notifications" => prefs::save(state, &ctx).await,
            "POST /posts/{id}/follow" => bell(state, &ctx, true).await,
            "POST /posts/{id}/unfollow" => bell(state, &ctx, false).await,
            _ => Err(WebError::not_found()),
        }
    })
    .await
}

/// The bell on a post page: follow or unfollow its whole thread.
async fn bell(state: &State, ctx: &Ctx, follow: bool) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let post = ctx.path_param("id", PostId::parse)?;
    let notes = state.store.notifications();
    if follow {
        match notes.follow(&post, &v.member.id, state.clock.now()).await {
            Err(StoreError::Conflict) => {
                return Err(WebError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    "There is no such post, or it is not published.",
                ))
            }
            other => other?,
        }
    } else {
        notes.unfollow(&post, &v.member.id).await?;
    }
    tracing::info!(post = %post, follow, "bell");
    if ctx.wants_json {
        return Ok(web::json(StatusCode::OK, &json!({"post": post, "following": follow})));
    }
    Ok(web::redirect(&lodge::notify::render::post_path(&post)))
}
