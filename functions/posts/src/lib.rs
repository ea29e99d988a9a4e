//! Posts: compose, the post page, edits and history, votes, bookmarks,
//! RSVPs, the author's and moderators' actions, reports, an event's `.ics`,
//! and the small script that makes the forms work without a reload.

mod actions;
mod compose;
mod errors;
mod ics;
mod page;
mod pages;
mod reports;
mod script;
mod view;

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
    /// Publications and report outcomes, for the notifications' fan-out.
    pub(crate) content: QueueSender,
    pub(crate) app: Option<AppUrl>,
    pub(crate) clock: SharedClock,
    /// The club's zone, for event times typed without an offset.
    pub(crate) utc_offset_minutes: i32,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let store = Store::from_env(env, aws)?;
        Ok(Self {
            sessions: Sessions::from_env(env, &store, &clock)?,
            notify: QueueSender::new(lodge::aws::sqs(aws), env.required("LODGE_NOTIFY_QUEUE_URL")?),
            content: QueueSender::new(lodge::aws::sqs(aws), env.required("LODGE_CONTENT_QUEUE_URL")?),
            app: env.app_url()?,
            utc_offset_minutes: env.parse_or("LODGE_UTC_OFFSET_MINUTES", 0)?,
            store,
            clock,
        })
    }
}

/// A post body may be 100,000 characters of up to 4 bytes, form-encoded.
const BODY_LIMIT: usize = 1024 * 1024;

pub async fn handler(state: &State, req: Request) -> Reply {
    web::serve_site(req, &state.app, BODY_LIMIT, |ctx, app| async move {
        match ctx.route.as_str() {
            "GET /posts/new" => compose::form(state, &ctx).await,
            "POST /posts" => compose::create(state, &ctx).await,
            "GET /posts/{id}" => page::show(state, &ctx, &app).await,
            "GET /posts/{id}/history" => page::history(state, &ctx).await,
            "GET /posts/{id}/event.ics" => page::ics(state, &ctx, &app).await,
            "GET /posts/{id}/edit" => compose::edit_form(state, &ctx).await,
            "POST /posts/{id}/edit" => compose::edit(state, &ctx).await,
            route if route.starts_with("POST /posts/{id}/") => {
                let action = route.trim_start_matches("POST /posts/{id}/").to_string();
                actions::act(state, &ctx, &action).await
            }
            "GET /admin/reports" => reports::queue(state, &ctx).await,
            "POST /admin/reports/resolve" => reports::resolve(state, &ctx).await,
            "GET /static/lodge.js" => Ok(script::serve()),
            _ => Err(WebError::not_found()),
        }
    })
    .await
}
