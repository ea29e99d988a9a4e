//! Linking a Telegram account: a one-time deep link (`/start <token>` in the
//! bot) or the Login Widget (`GET /auth/telegram`); unlinking.

use std::collections::BTreeMap;

use askama::Template;
use lambda_http::http::StatusCode;
use lodge::config::AppUrl;
use lodge::domain::Member;
use lodge::store::telegram::{LinkError, LINK_TOKEN_TTL_SECS};
use lodge::telegram::widget::{self, WidgetError};
use lodge::web::{self, Ctx, Layout, Reply, WebError};
use serde_json::json;

use crate::State;

/// The widget's script comes from telegram.org and shows its button in an
/// iframe from oauth.telegram.org; this page alone allows both.
const WIDGET_CSP: &str = "default-src 'self'; img-src 'self' data: https://t.me https://telegram.org; style-src 'self' 'unsafe-inline'; \
script-src 'self' https://telegram.org; frame-src https://oauth.telegram.org; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage<'a> {
    layout: Layout,
    member: &'a Member,
    linked_since: Option<String>,
    bot: Option<&'a str>,
    /// A fresh deep link, right after "Link Telegram".
    deep_link: Option<String>,
    minutes: i64,
    widget_auth_url: String,
    notice: Option<&'a str>,
}

/// Binds the widget's redirect to this session: without it, a page could
/// send a signed-in member's browser to `/auth/telegram` with the
/// attacker's (validly signed) Telegram data and link the attacker's account.
fn widget_state(state: &State, session_id: &str) -> String {
    lodge::crypto::hmac_hex(
        state.session_key.expose().as_bytes(),
        format!("telegram-widget:{session_id}").as_bytes(),
    )[..32]
        .to_string()
}

fn page(
    state: &State,
    app: &AppUrl,
    v: &lodge::auth::Viewer,
    deep_link: Option<String>,
    notice: Option<&str>,
) -> Result<Reply, WebError> {
    let m = &v.member;
    let query = web_query(&[("state", &widget_state(state, v.session.id.as_str()))]);
    let page = SettingsPage {
        layout: Layout::for_member("Settings", m),
        member: m,
        linked_since: m.telegram.as_ref().map(|t| lodge::clock::format_utc(t.linked_at)),
        bot: state.bot.username.as_deref(),
        deep_link,
        minutes: LINK_TOKEN_TTL_SECS / 60,
        widget_auth_url: app.join(&format!("/auth/telegram?{query}")),
        notice,
    };
    let mut reply = web::html(StatusCode::OK, page.render().map_err(WebError::internal)?);
    reply
        .headers_mut()
        .insert("content-security-policy", WIDGET_CSP.parse().expect("static header"));
    Ok(reply)
}

fn web_query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub async fn settings_page(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let v = state.sessions.require(ctx).await?;
    let notice = match ctx.query_param("telegram") {
        Some("linked") => Some("Your Telegram account is linked."),
        Some("unlinked") => Some("Your Telegram account is unlinked."),
        _ => None,
    };
    page(state, app, &v, None, notice)
}

pub async fn new_link(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let v = state.sessions.require(ctx).await?;
    if state.bot.username.is_none() {
        return Err(WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "telegram_off",
            "Telegram is not set up for this Lodge.",
        ));
    }
    let token = state
        .store
        .telegram()
        .issue_link_token(&v.member.id, state.clock.now())
        .await?;
    let link = state.bot.start_link(token.expose()).expect("username checked above");
    tracing::info!(member = %v.member.id, "telegram link issued");
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({"url": link, "expires_in": LINK_TOKEN_TTL_SECS}),
        ));
    }
    page(state, app, &v, Some(link), None)
}

pub async fn unlink(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require(ctx).await?;
    let unlinked = state.store.telegram().unlink(&v.member).await?;
    tracing::info!(member = %v.member.id, unlinked, "telegram unlink");
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({"status": if unlinked { "unlinked" } else { "not_linked" }}),
        ));
    }
    Ok(web::redirect("/settings?telegram=unlinked"))
}

/// The Login Widget's redirect: `id`, `first_name`, …, `auth_date`, `hash`,
/// plus our `state`.
pub async fn widget(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    // Signed out: sign in first, then link from the settings page.
    let Some(v) = state.sessions.viewer(&ctx.headers).await? else {
        return Ok(web::redirect("/login?next=%2Fsettings"));
    };
    let mut fields: BTreeMap<String, String> = ctx.query.clone().into_iter().collect();
    let given_state = fields.remove("state").unwrap_or_default();
    let expected = widget_state(state, v.session.id.as_str());
    if !lodge::crypto::constant_time_eq(given_state.as_bytes(), expected.as_bytes()) {
        return Err(WebError::forbidden(
            "This Telegram login did not start from your settings page. Please use the button there.",
        ));
    }
    let user = widget::verify(&fields, &state.bot_token, state.clock.now()).map_err(|e| match e {
        WidgetError::Incomplete => WebError::bad_request(e.to_string()),
        WidgetError::BadSignature => WebError::forbidden(e.to_string()).with_code("bad_signature"),
        WidgetError::Stale => WebError::new(StatusCode::UNAUTHORIZED, "stale_login", e.to_string()),
    })?;
    match state
        .store
        .telegram()
        .attach(
            v.member.clone(),
            user.id,
            user.username.as_deref(),
            state.clock.now(),
            None,
        )
        .await
    {
        Ok((member, outcome)) => {
            tracing::info!(member = %member.id, ?outcome, "telegram linked by widget");
            if ctx.wants_json {
                return Ok(web::json(
                    StatusCode::OK,
                    &json!({"status": "linked", "telegram_user_id": user.id}),
                ));
            }
            Ok(web::redirect("/settings?telegram=linked"))
        }
        Err(LinkError::TakenElsewhere) => Err(WebError::new(
            StatusCode::CONFLICT,
            "telegram_taken",
            "This Telegram account is already linked to another Lodge member.",
        )),
        Err(LinkError::Store(e)) => Err(e.into()),
        Err(e) => Err(WebError::internal(e)),
    }
}
