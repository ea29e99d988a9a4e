//! A member's settings (linking Telegram by deep link or Login Widget,
//! unlinking) and the admin's bot settings (the dialog tree and its log).

mod dialog;
mod telegram;

use lambda_http::Request;
use lodge::auth::Sessions;
use lodge::config::{AppUrl, Secret};
use lodge::store::Store;
use lodge::telegram::BotSettings;
use lodge::web::{self, Reply, WebError};
use lodge::{ConfigError, Env, SharedClock};

/// Dialog trees can be large (500 nodes of up to 4096 characters).
pub const BODY_LIMIT: usize = 1024 * 1024;

pub struct State {
    pub(crate) store: Store,
    pub(crate) sessions: Sessions,
    pub(crate) session_key: Secret,
    /// The bot token: the Login Widget's signature key is derived from it.
    pub(crate) bot_token: Secret,
    pub(crate) bot: BotSettings,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) bucket: String,
    pub(crate) app: Option<AppUrl>,
    pub(crate) clock: SharedClock,
}

impl State {
    pub fn from_env(env: &Env, aws: &lodge::aws::SdkConfig, clock: SharedClock) -> Result<Self, ConfigError> {
        let store = Store::from_env(env, aws)?;
        Ok(Self {
            sessions: Sessions::from_env(env, &store, &clock)?,
            session_key: env.secret("LODGE_SESSION_KEY", 32)?,
            bot_token: env.secret("LODGE_TELEGRAM_BOT_TOKEN", 8)?,
            bot: BotSettings::from_env(env)?,
            s3: lodge::aws::s3(aws),
            bucket: env.required("LODGE_BUCKET")?.to_string(),
            app: env.app_url()?,
            store,
            clock,
        })
    }
}

pub async fn handler(state: &State, req: Request) -> Reply {
    web::serve_site(req, &state.app, BODY_LIMIT, |ctx, app| async move {
        match ctx.route.as_str() {
            "GET /settings" => telegram::settings_page(state, &ctx, &app).await,
            "POST /settings/telegram/link" => telegram::new_link(state, &ctx, &app).await,
            "POST /settings/telegram/unlink" => telegram::unlink(state, &ctx).await,
            "GET /auth/telegram" => telegram::widget(state, &ctx).await,
            "GET /api/admin/dialog" => dialog::export_tree(state, &ctx).await,
            "PUT /api/admin/dialog" => dialog::import_tree(state, &ctx).await,
            "POST /api/admin/dialog/export" => dialog::export_log(state, &ctx).await,
            _ => Err(WebError::not_found()),
        }
    })
    .await
}
