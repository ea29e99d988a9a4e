//! Opening an invite and joining with it.

use lambda_http::http::StatusCode;
use lodge::config::AppUrl;
use lodge::domain::{Email, InviteCode};
use lodge::invites::{self, ActivateError, Activation};
use lodge::login::{IssueError, Issued};
use lodge::web::{CodePage, Ctx, Layout, NoticePage, Reply, WebError};
use serde::Deserialize;

use crate::pages::InvitePage;
use crate::State;
use lodge::web::page as render;

/// The page for an invite that cannot be used, with the right status.
fn gone(err: ActivateError) -> Result<Reply, WebError> {
    let (status, heading, body) = match err {
        ActivateError::Unknown => (
            StatusCode::NOT_FOUND,
            "Invite not found",
            "There is no invite with this code. Check the link, or ask the member who invited you for a new one.",
        ),
        ActivateError::Used => (
            StatusCode::GONE,
            "This invite has been used",
            "Each invite works once, and this one already has. Ask the member who invited you for a new one.",
        ),
        ActivateError::JustUsed => (
            StatusCode::CONFLICT,
            "This invite has just been used",
            "Someone joined with this invite a moment ago. Ask the member who invited you for a new one.",
        ),
        ActivateError::Revoked => (
            StatusCode::GONE,
            "This invite was withdrawn",
            "The member who created it revoked it. Ask them, or another member, for a new one.",
        ),
        ActivateError::Expired => (
            StatusCode::GONE,
            "This invite has expired",
            "Invites are valid for a limited time. Ask the member who invited you for a new one.",
        ),
        ActivateError::Store(e) => return Err(e.into()),
    };
    let page = NoticePage {
        layout: Layout::new(heading, None),
        heading: heading.into(),
        body: body.into(),
        link: Some(("/login".into(), "Already a member? Sign in".into())),
    };
    render(status, page)
}

fn code_of(ctx: &Ctx) -> Result<InviteCode, ActivateError> {
    InviteCode::parse(ctx.param("code").unwrap_or_default()).map_err(|_| ActivateError::Unknown)
}

pub async fn landing(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let invite = match code_of(ctx) {
        Ok(code) => invites::usable(&state.store, &code, state.clock.now()).await,
        Err(e) => Err(e),
    };
    match invite {
        Ok(invite) => render(
            StatusCode::OK,
            InvitePage {
                layout: Layout::new("You are invited", None),
                code: invite.code.as_str(),
                inviter: &invite.created_by_name,
                email: "",
                error: None,
            },
        ),
        Err(e) => gone(e),
    }
}

#[derive(Deserialize)]
struct ActivateForm {
    #[serde(default)]
    email: String,
}

pub async fn activate(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let code = match code_of(ctx) {
        Ok(c) => c,
        Err(e) => return gone(e),
    };
    let form: ActivateForm = ctx.fields()?;
    let email = match Email::parse(&form.email) {
        Ok(e) => e,
        Err(msg) => {
            let inviter = state
                .store
                .invites()
                .get(&code)
                .await?
                .map(|i| i.created_by_name)
                .unwrap_or_default();
            let page = InvitePage {
                layout: Layout::new("You are invited", None),
                code: code.as_str(),
                inviter: &inviter,
                email: &form.email,
                error: Some(msg),
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    lodge::auth::ip_gate(&state.store, state.ip_limit, &ctx.source_ip, state.clock.now()).await?;
    let (notice, next, member) = match invites::activate(&state.store, &code, &email, state.clock.now()).await {
        Ok(Activation::Joined(m)) => {
            tracing::info!(member = %m.id, invite = ?code, "joined");
            (
                "Welcome! We sent a sign-in code to your email. Enter it to continue to your intro.",
                "/intro",
                m,
            )
        }
        Ok(Activation::Resumed(m)) => (
            "Welcome back! We sent you a new sign-in code. Enter it to continue to your intro.",
            "/intro",
            m,
        ),
        Ok(Activation::AlreadyMember(m)) => (
            "This email already belongs to a member, so the invite was not used. We sent a sign-in code instead.",
            "/",
            m,
        ),
        Err(e) => return gone(e),
    };
    match state.codes.issue(app, &email, Some(member), next).await {
        Ok(Issued::Sent | Issued::NotAMember) => {}
        Ok(Issued::QuotaExceeded { minutes }) => {
            return Err(WebError::too_many(
                format!("Too many codes requested — try again in {minutes} minutes."),
                minutes * 60,
            ))
        }
        Err(IssueError::Store(e)) => return Err(e.into()),
        Err(IssueError::Mail(e)) => return Err(WebError::unavailable("the email service", e)),
    }
    let page = CodePage {
        layout: Layout::new("Enter your code", None),
        email: email.as_str(),
        code: "",
        next,
        notice: Some(notice),
        error: None,
    };
    render(StatusCode::OK, page)
}
