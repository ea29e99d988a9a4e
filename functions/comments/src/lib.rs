//! Comments: write, reply, edit, delete (and a moderator's subtree delete),
//! vote, pin, report, and a post's thread on its own (`GET /posts/{id}/comments`;
//! the post page shows the same thread). Members only, even on public posts.

mod actions;
mod pages;

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
    /// Reports reach the Telegram admin chat through the notifier.
    pub(crate) notify: QueueSender,
    /// New comments, for the notifications' fan-out (`ContentEvent`).
    pub(crate) content: QueueSender,
    pub(crate) app: Option<AppUrl>,
    pub(crate) clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let store = Store::from_env(env, aws)?;
        Ok(Self {
            sessions: Sessions::from_env(env, &store, &clock)?,
            notify: QueueSender::new(lodge::aws::sqs(aws), env.required("LODGE_NOTIFY_QUEUE_URL")?),
            content: QueueSender::new(lodge::aws::sqs(aws), env.required("LODGE_CONTENT_QUEUE_URL")?),
            app: env.app_url()?,
            store,
            clock,
        })
    }
}

/// A comment is at most 20,000 characters (up to 4 bytes each), URL-encoded
/// by a form (up to 3× that): the default 64 KB would refuse valid ones.
const BODY_LIMIT: usize = 256 * 1024;

pub async fn handler(state: &State, req: Request) -> Reply {
    web::serve_site(req, &state.app, BODY_LIMIT, |ctx, _app| async move {
        match ctx.route.as_str() {
            "GET /posts/{id}/comments" => pages::thread(state, &ctx).await,
            "POST /posts/{id}/comments" => actions::create(state, &ctx).await,
            "GET /comments/{id}" => pages::locate(state, &ctx).await,
            "POST /comments/{id}/edit" => actions::edit(state, &ctx).await,
            "POST /comments/{id}/delete" => actions::delete(state, &ctx).await,
            "POST /comments/{id}/vote" => actions::vote(state, &ctx, true).await,
            "POST /comments/{id}/unvote" => actions::vote(state, &ctx, false).await,
            "POST /comments/{id}/pin" => actions::pin(state, &ctx, true).await,
            "POST /comments/{id}/unpin" => actions::pin(state, &ctx, false).await,
            "POST /comments/{id}/report" => actions::report(state, &ctx).await,
            _ => Err(WebError::not_found()),
        }
    })
    .await
}
