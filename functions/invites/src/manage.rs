//! A member's invites: create (page and JSON), list, revoke.

use lambda_http::http::StatusCode;
use lodge::config::AppUrl;
use lodge::domain::{InviteCode, Role};
use lodge::invites::{self, InviteError};
use lodge::store::invites::Invite;
use lodge::web::{self, Ctx, Reply, WebError};
use serde_json::json;

use crate::pages::{InviteRow, InvitesPage};
use crate::State;
use lodge::web::page as render;

fn invite_url(app: &AppUrl, invite: &Invite) -> String {
    app.join(&format!("/invite/{}", invite.code))
}

async fn create(state: &State, ctx: &Ctx) -> Result<Invite, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    match invites::create(&state.store, &v.member, state.clock.now(), state.limits).await {
        Ok(invite) => {
            tracing::info!(member = %v.member.id, invite = ?invite.code, "invite created");
            Ok(invite)
        }
        Err(InviteError::QuotaExhausted { per_month }) => Err(WebError::too_many(
            format!("You have used this month's {per_month} invites. New invites become available next month."),
            3600,
        )),
        Err(InviteError::NotApproved) => Err(WebError::forbidden("Only approved members can invite.")),
        Err(InviteError::Store(e)) => Err(e.into()),
    }
}

pub async fn create_page(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let invite = create(state, ctx).await?;
    Ok(web::redirect(&format!("/invites?created={}", invite.code)))
}

pub async fn create_json(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let invite = create(state, ctx).await?;
    Ok(web::json(
        StatusCode::CREATED,
        &json!({"code": invite.code, "url": invite_url(app, &invite), "expires_at": lodge::clock::rfc3339(invite.valid_until)}),
    ))
}

pub async fn list(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let now = state.clock.now();
    let invites = state.store.invites().of(&v.member.id).await?;
    let mut rows = Vec::new();
    for invite in &invites {
        let used_by = match &invite.used_by {
            Some(id) => state.store.members().get(id).await?.map(|m| m.name().to_string()),
            None => None,
        };
        rows.push(InviteRow {
            invite,
            state: invite.state(now),
            url: invite_url(app, invite),
            expires: lodge::clock::format_utc(invite.valid_until),
            used_by,
        });
    }
    if ctx.wants_json {
        let items: Vec<_> = rows
            .iter()
            .map(|r| json!({"code": r.invite.code, "url": r.url, "status": r.state, "expires_at": lodge::clock::rfc3339(r.invite.valid_until), "used_by": r.used_by}))
            .collect();
        return Ok(web::json(StatusCode::OK, &json!({"invites": items})));
    }
    let created = ctx
        .query_param("created")
        .and_then(|c| InviteCode::parse(c).ok())
        .map(|c| app.join(&format!("/invite/{c}")));
    let quota = (v.member.role == Role::Member).then_some(state.limits.per_month);
    render(
        StatusCode::OK,
        InvitesPage {
            layout: v.layout("Invites"),
            rows,
            created,
            quota,
        },
    )
}

pub async fn revoke(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let code = ctx.path_param("code", InviteCode::parse)?;
    if !invites::revoke(&state.store, &v.member, &code).await? {
        return Err(WebError::new(
            StatusCode::CONFLICT,
            "not_revocable",
            "Only your own unused invites can be revoked.",
        ));
    }
    if ctx.wants_json {
        return Ok(web::json(StatusCode::OK, &json!({"code": code, "status": "revoked"})));
    }
    Ok(web::redirect("/invites"))
}
