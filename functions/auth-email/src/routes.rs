//! One function per route; each parses its input into domain types first.

use lambda_http::http::StatusCode;
use lodge::auth::Viewer;
use lodge::config::AppUrl;
use lodge::domain::{Email, LoginCode};
use lodge::login::{IssueError, Issued, RedeemError};
use lodge::store::telegram::LinkToken;
use lodge::web::{self, safe_next, Ctx, Layout, Reply, WebError};
use serde::Deserialize;
use serde_json::json;

use crate::pages::{ConfirmPage, LoginPage, MePage, SENT_NOTICE};
use crate::State;
use lodge::web::{page as render, CodePage};

fn member_json(m: &lodge::domain::Member) -> serde_json::Value {
    json!({
        "id": m.id, "email": m.email, "role": m.role, "status": m.status,
        "display_name": m.display_name, "created_at": lodge::clock::rfc3339(m.created_at),
    })
}

async fn viewer(state: &State, ctx: &Ctx) -> Result<Option<Viewer>, WebError> {
    Ok(state.sessions.viewer(&ctx.headers).await?)
}

/// Counts one sign-in request from this client IP.
async fn ip_gate(state: &State, ctx: &Ctx) -> Result<(), WebError> {
    lodge::auth::ip_gate(&state.store, state.ip_limit, &ctx.source_ip, state.clock.now()).await
}

pub async fn login_page(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let next = safe_next(ctx.query_param("next"));
    if viewer(state, ctx).await?.is_some() {
        return Ok(web::redirect(&next));
    }
    render(
        StatusCode::OK,
        LoginPage {
            layout: Layout::new("Sign in", None),
            email: "",
            next: &next,
            error: None,
        },
    )
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn request_code(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let form: EmailForm = ctx.fields()?;
    let next = safe_next(form.next.as_deref());
    let email = match Email::parse(&form.email) {
        Ok(e) => e,
        Err(msg) if ctx.wants_json => return Err(WebError::invalid(msg)),
        Err(msg) => {
            let page = LoginPage {
                layout: Layout::new("Sign in", None),
                email: &form.email,
                next: &next,
                error: Some(msg),
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    ip_gate(state, ctx).await?;
    // `AdminEmails` is the truth at every sign-in: listed addresses are admins, others are not.
    let member = state
        .store
        .members()
        .apply_admin_list(&email, state.admins.contains(&email), state.clock.now())
        .await?;
    match state.codes.issue(app, &email, member, &next).await {
        // Same reply whether or not the address is a member's.
        Ok(Issued::Sent | Issued::NotAMember) => {
            if ctx.wants_json {
                return Ok(web::json(
                    StatusCode::ACCEPTED,
                    &json!({"status": "code_requested", "message": SENT_NOTICE}),
                ));
            }
            let page = CodePage {
                layout: Layout::new("Enter your code", None),
                email: email.as_str(),
                code: "",
                next: &next,
                notice: Some(SENT_NOTICE),
                error: None,
            };
            render(StatusCode::OK, page)
        }
        Ok(Issued::QuotaExceeded { minutes }) => Err(WebError::too_many(
            format!("Too many codes requested — try again in {minutes} minutes."),
            minutes * 60,
        )),
        Err(IssueError::Store(e)) => Err(e.into()),
        Err(IssueError::Mail(e)) => Err(WebError::unavailable("the email service", e)),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: Option<String>,
}

pub fn confirm_page(ctx: &Ctx) -> Result<Reply, WebError> {
    let email = ctx.query_param("email").unwrap_or_default();
    let code = ctx.query_param("code").unwrap_or_default();
    let next = safe_next(ctx.query_param("next"));
    if Email::parse(email).is_err() || LoginCode::parse(code).is_err() {
        // A mangled link: let them type the code instead.
        let page = CodePage {
            layout: Layout::new("Enter your code", None),
            email,
            code: "",
            next: &next,
            notice: None,
            error: None,
        };
        return render(StatusCode::OK, page);
    }
    render(
        StatusCode::OK,
        ConfirmPage {
            layout: Layout::new("Confirm sign-in", None),
            action: "/auth/code",
            email,
            field: "code",
            value: code,
            next: &next,
        },
    )
}

pub async fn redeem_code(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let form: CodeForm = ctx.fields()?;
    let next = safe_next(form.next.as_deref());
    let page_error = |status: StatusCode, code: &'static str, msg: String| -> Result<Reply, WebError> {
        if ctx.wants_json {
            return Err(WebError::new(status, code, msg));
        }
        let page = CodePage {
            layout: Layout::new("Enter your code", None),
            email: &form.email,
            code: "",
            next: &next,
            notice: None,
            error: Some(msg),
        };
        render(status, page)
    };
    let email = match Email::parse(&form.email) {
        Ok(e) => e,
        Err(msg) => return page_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", msg),
    };
    let code = match LoginCode::parse(&form.code) {
        Ok(c) => c,
        Err(msg) => return page_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", msg),
    };
    ip_gate(state, ctx).await?;
    match state
        .codes
        .redeem(app, &email, &code, |m| state.sessions.new_session(m, ctx.user_agent()))
        .await
    {
        Ok((member, session)) => Ok(signed_in(state, ctx, app, &member, &session, &next)),
        Err(RedeemError::Store(e)) => Err(e.into()),
        Err(e @ RedeemError::Wrong(_)) => page_error(StatusCode::UNAUTHORIZED, "wrong_code", e.message()),
        Err(e @ RedeemError::Expired) => page_error(StatusCode::GONE, "code_expired", e.message()),
        Err(e @ RedeemError::Exhausted) => page_error(StatusCode::GONE, "too_many_attempts", e.message()),
        Err(e @ RedeemError::Locked) => page_error(StatusCode::LOCKED, "code_sign_in_locked", e.message()),
    }
}

/// The reply that carries a new session: JSON, or a redirect to `next`.
fn signed_in(
    state: &State,
    ctx: &Ctx,
    app: &AppUrl,
    member: &lodge::domain::Member,
    session: &lodge::store::sessions::SessionRecord,
    next: &str,
) -> Reply {
    tracing::info!(member = %member.id, "signed in");
    let cookie = state.sessions.cookie_for(session, app);
    let reply = if ctx.wants_json {
        web::json(StatusCode::OK, &json!({"member": member_json(member)}))
    } else {
        web::redirect(next)
    };
    web::with_cookie(reply, &cookie)
}

/// `GET /auth/link`: the one-time sign-in link emailed when sign-in by code
/// is locked. Shows a button; nothing is consumed by opening it.
pub fn link_page(ctx: &Ctx) -> Result<Reply, WebError> {
    let email = ctx.query_param("email").unwrap_or_default();
    let token = ctx.query_param("token").unwrap_or_default();
    if Email::parse(email).is_err() || LinkToken::parse(token).is_none() {
        return Err(WebError::new(
            StatusCode::GONE,
            "link_invalid",
            "This sign-in link is not valid. Ask for a new code: a fresh link will be emailed.",
        ));
    }
    render(
        StatusCode::OK,
        ConfirmPage {
            layout: Layout::new("Confirm sign-in", None),
            action: "/auth/link",
            email,
            field: "token",
            value: token,
            next: "/",
        },
    )
}

#[derive(Deserialize)]
struct LinkForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: Option<String>,
}

/// `POST /auth/link`: signs in with the link, once, and ends the lock.
pub async fn redeem_link(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let form: LinkForm = ctx.fields()?;
    let next = safe_next(form.next.as_deref());
    let gone = || {
        WebError::new(
            StatusCode::GONE,
            "link_expired",
            "This sign-in link was used or has expired. Ask for a new code: a fresh link will be emailed.",
        )
    };
    let (Ok(email), Some(token)) = (Email::parse(&form.email), LinkToken::parse(&form.token)) else {
        return Err(gone());
    };
    ip_gate(state, ctx).await?;
    match state
        .codes
        .redeem_link(&email, &token, |m| state.sessions.new_session(m, ctx.user_agent()))
        .await
    {
        Ok((member, session)) => Ok(signed_in(state, ctx, app, &member, &session, &next)),
        Err(RedeemError::Store(e)) => Err(e.into()),
        Err(_) => Err(gone()),
    }
}

fn signed_out(state: &State, ctx: &Ctx, app: &AppUrl) -> Reply {
    let reply = if ctx.wants_json {
        web::json(StatusCode::OK, &json!({"status": "signed_out"}))
    } else {
        web::redirect("/login")
    };
    web::with_cookie(reply, &state.sessions.clear_cookie(app))
}

pub async fn logout(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    if let Some(v) = viewer(state, ctx).await? {
        state.store.sessions().delete(&v.session.id).await?;
    }
    Ok(signed_out(state, ctx, app))
}

pub async fn logout_all(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let v = viewer(state, ctx).await?.ok_or_else(WebError::unauthorized)?;
    // The epoch bump revokes every session at once; deleting the items tidies up.
    state.store.members().bump_session_epoch(&v.member.id).await?;
    state.store.sessions().delete_all_of(&v.member.id).await?;
    Ok(signed_out(state, ctx, app))
}

pub async fn me_page(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    match viewer(state, ctx).await? {
        Some(v) => render(
            StatusCode::OK,
            MePage {
                layout: Layout::for_member("Your account", &v.member),
                joined: lodge::clock::format_utc(v.member.created_at),
                member: &v.member,
            },
        ),
        None => Ok(web::redirect("/login?next=/me")),
    }
}

pub async fn me_json(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = viewer(state, ctx).await?.ok_or_else(WebError::unauthorized)?;
    Ok(web::json(StatusCode::OK, &json!({"member": member_json(&v.member)})))
}
