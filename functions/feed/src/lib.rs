//! The feed's read side (docs/posts.md, "Feed"): home (`GET /`, the feed for
//! approved members), rooms and their feeds, room and member mutes, room
//! subscriptions, bookmarks, the admins' rooms page, and the RSS 2.0 / JSON
//! Feed 1.1 feeds (public, or a member's private one by token).
//!
//! Route groups: `home` (`/`, `/rooms…` reads, `/bookmarks`), `actions`
//! (subscribe, mute: `/rooms/{slug}/…`, `/members/{id}/mute|unmute`),
//! `admin` (`/admin/rooms`), `readers` (`/feed.xml`, `/feed.json`, `/feed/token`).

mod actions;
mod admin;
mod cards;
mod home;
mod pages;
mod readers;

use lambda_http::Request;
use lodge::auth::Sessions;
use lodge::config::AppUrl;
use lodge::store::Store;
use lodge::web::{self, Reply, WebError};
use lodge::{ConfigError, Env, SharedClock};

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
    web::serve_site(req, &state.app, web::DEFAULT_BODY_LIMIT, |ctx, app| async move {
        match ctx.route.as_str() {
            "GET /" => home::home(state, &ctx).await,
            "GET /rooms" => home::rooms(state, &ctx).await,
            "GET /rooms/{slug}" => home::room(state, &ctx).await,
            "GET /bookmarks" => home::bookmarks(state, &ctx).await,
            "POST /rooms/{slug}/subscribe" => actions::room(state, &ctx, actions::RoomAction::Subscribe).await,
            "POST /rooms/{slug}/unsubscribe" => actions::room(state, &ctx, actions::RoomAction::Unsubscribe).await,
            "POST /rooms/{slug}/mute" => actions::room(state, &ctx, actions::RoomAction::Mute).await,
            "POST /rooms/{slug}/unmute" => actions::room(state, &ctx, actions::RoomAction::Unmute).await,
            "POST /members/{id}/mute" => actions::member(state, &ctx, true).await,
            "POST /members/{id}/unmute" => actions::member(state, &ctx, false).await,
            "GET /admin/rooms" => admin::list(state, &ctx).await,
            "POST /admin/rooms" => admin::create(state, &ctx).await,
            "POST /admin/rooms/{slug}" => admin::edit(state, &ctx).await,
            "GET /feed.xml" => readers::feed(state, &ctx, &app, readers::Format::Rss).await,
            "GET /feed.json" => readers::feed(state, &ctx, &app, readers::Format::JsonFeed).await,
            "GET /feed/token" => readers::token_page(state, &ctx, &app).await,
            "POST /feed/token" => readers::rotate(state, &ctx, &app).await,
            "POST /feed/token/revoke" => readers::revoke(state, &ctx).await,
            _ => Err(WebError::not_found()),
        }
    })
    .await
}
