//! Members' own pages (status, intro, profiles; home is the feed's `GET /`) and moderation: the queue of
//! intros on review, decisions, a member's admin view and roles.

mod moderation;
mod pages;
mod profile;

use lambda_http::Request;
use lodge::auth::Sessions;
use lodge::config::AppUrl;
use lodge::queue::QueueSender;
use lodge::store::Store;
use lodge::web::{self, Reply, WebError};
use lodge::{ConfigError, Env, SharedClock};

pub struct State {
    pub(crate) store: Store,
    pub(crate) sessions: Sessions,
    pub(crate) notify: QueueSender,
    pub(crate) app: Option<AppUrl>,
    pub(crate) clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let store = Store::from_env(env, aws)?;
        Ok(Self {
            sessions: Sessions::from_env(env, &store, &clock)?,
            notify: QueueSender::new(lodge::aws::sqs(aws), env.required("LODGE_NOTIFY_QUEUE_URL")?),
            app: env.app_url()?,
            store,
            clock,
        })
    }
}

pub async fn handler(state: &State, req: Request) -> Reply {
    web::serve_site(req, &state.app, web::DEFAULT_BODY_LIMIT, |ctx, _app| async move {
        match ctx.route.as_str() {
            "GET /status" => profile::status(state, &ctx).await,
            "GET /members/{id}" => profile::member_page(state, &ctx).await,
            "GET /intro" => profile::intro_form(state, &ctx).await,
            "POST /intro" => profile::submit_intro(state, &ctx).await,
            "GET /admin/moderation" => moderation::queue(state, &ctx).await,
            "POST /admin/moderation/{id}" => moderation::decide(state, &ctx).await,
            "GET /admin/members/{id}" => moderation::member(state, &ctx).await,
            "POST /admin/members/{id}/role" => moderation::set_role(state, &ctx).await,
            "POST /admin/members/{id}/unlock" => moderation::unlock_sign_in(state, &ctx).await,
            _ => Err(WebError::not_found()),
        }
    })
    .await
}
