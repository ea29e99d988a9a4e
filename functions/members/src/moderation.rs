//! The moderation queue and decisions, for moderators and admins.

use lambda_http::http::StatusCode;
use lodge::auth;
use lodge::domain::{Member, MemberId, MemberStatus, ReviewResult, Role};
use lodge::moderation::{self, Decision, ModerationError, Outcome, RejectReason};
use lodge::queue::Notification;
use lodge::store::reads::Reads;
use lodge::web::{self, Ctx, Reply, WebError};
use serde::Deserialize;
use serde_json::json;

use crate::pages::{MemberAdminPage, ModerationPage, QueueEntry};
use crate::State;
use lodge::web::page as render;

fn member_id(ctx: &Ctx) -> Result<MemberId, WebError> {
    ctx.path_param("id", MemberId::parse)
}

pub async fn queue(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_staff(ctx).await?;
    let members = state.store.members().in_status(MemberStatus::OnReview).await?;
    queue_page(&v, &members, None, StatusCode::OK)
}

fn queue_page(
    v: &lodge::auth::Viewer,
    members: &[lodge::domain::Member],
    notice: Option<String>,
    status: StatusCode,
) -> Result<Reply, WebError> {
    let page = ModerationPage {
        layout: v.layout("Moderation"),
        entries: members
            .iter()
            .map(|m| QueueEntry {
                member: m,
                submitted: m.intro_submitted_at.map(lodge::clock::format_utc).unwrap_or_default(),
            })
            .collect(),
        reasons: RejectReason::PRESETS.iter().map(|r| (r.code(), r.label())).collect(),
        notice,
    };
    render(status, page)
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

impl TryFrom<DecisionForm> for Decision {
    type Error = WebError;
    fn try_from(form: DecisionForm) -> Result<Self, WebError> {
        match form.decision.as_str() {
            "approve" => Ok(Decision::Approve),
            "reject" => RejectReason::parse(form.reason.as_deref().unwrap_or_default(), form.text.as_deref())
                .map(Decision::Reject)
                .map_err(WebError::invalid),
            _ => Err(WebError::invalid("The decision must be “approve” or “reject”.")),
        }
    }
}

pub async fn decide(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    // The moderator's session and profile and the member decided on: one
    // `BatchGetItem` (the member's answer is dropped unless the viewer is staff).
    let mut reads = Reads::new();
    let pending = state.sessions.ask(&ctx.headers, &mut reads);
    let target = member_id(ctx).map(|id| (state.store.members().read_in(&mut reads, &id), id));
    let mut fetched = state.store.fetch(reads).await?;
    let viewer = pending.map(|p| p.settle(&mut fetched)).transpose()?.flatten();
    let v = auth::require_staff(ctx, viewer)?;
    let (slot, id) = target?;
    let decision: Decision = ctx.parsed::<DecisionForm, _>()?;
    let member = fetched.take(slot)?;
    let now = state.clock.now();
    let (status, notice, body) = match moderation::decide_on(&state.store, &v.member, member, decision, now).await {
        Ok(Outcome::Applied { member }) => {
            state
                .notify
                .send(&Notification::Decided {
                    member_id: member.id.clone(),
                    at: now,
                })
                .await
                .map_err(|e| WebError::unavailable("the notification queue", e))?;
            let what = member
                .last_decision
                .as_ref()
                .map_or(ReviewResult::Rejected, |d| d.decision);
            (
                StatusCode::OK,
                format!("{} was {what}.", member.name()),
                json!({"status": what, "member_id": member.id}),
            )
        }
        Ok(Outcome::AlreadyDecided {
            decided_by_name,
            decision,
            at,
        }) => {
            // If the first attempt's notification was lost (SQS failed after the
            // decision was stored), this repairs it; the notifier dedups by (member, at).
            let _ = state
                .notify
                .send(&Notification::Decided {
                    member_id: id.clone(),
                    at,
                })
                .await;
            (
                StatusCode::CONFLICT,
                format!(
                    "Already {decision} by {decided_by_name} at {} — nothing changed.",
                    lodge::clock::format_utc(at)
                ),
                json!({"error": {"code": "already_decided", "message": format!("Already {decision} by {decided_by_name}."), "decided_by": decided_by_name, "decision": decision}}),
            )
        }
        Err(ModerationError::NotFound) => return Err(WebError::not_found()),
        Err(ModerationError::NotAllowed) => {
            return Err(WebError::forbidden("Only moderators and admins can moderate."))
        }
        Err(ModerationError::NotOnReview) => {
            return Err(WebError::new(
                StatusCode::CONFLICT,
                "not_on_review",
                "This member is not waiting for review.",
            ))
        }
        Err(ModerationError::Store(e)) => return Err(e.into()),
    };
    if ctx.wants_json {
        return Ok(web::json(status, &body));
    }
    let members = state.store.members().in_status(MemberStatus::OnReview).await?;
    queue_page(&v, &members, Some(notice), status)
}

pub async fn member(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_staff(ctx).await?;
    let member = state
        .store
        .members()
        .get(&member_id(ctx)?)
        .await?
        .ok_or_else(WebError::not_found)?;
    let history = moderation::history(&state.store, &member.id).await?;
    let page = MemberAdminPage {
        layout: v.layout(member.name().to_string()),
        history: history
            .into_iter()
            .map(|d| {
                let at = lodge::clock::format_utc(d.at);
                (d, at)
            })
            .collect(),
        code_sign_in_locked: state.store.login_codes().lock(&member.email).await?.is_some(),
        member: &member,
        viewer_is_admin: v.member.role == Role::Admin,
    };
    render(StatusCode::OK, page)
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

/// The member `{id}` an admin acts on (403 for anyone else, 404 if none).
async fn admin_target(state: &State, ctx: &Ctx) -> Result<Member, WebError> {
    state.sessions.require_admin(ctx).await?;
    state
        .store
        .members()
        .get(&member_id(ctx)?)
        .await?
        .ok_or_else(WebError::not_found)
}

/// The roles an admin can give: admins themselves come from `AdminEmails`.
struct GrantedRole(Role);

impl TryFrom<RoleForm> for GrantedRole {
    type Error = WebError;
    fn try_from(form: RoleForm) -> Result<Self, WebError> {
        match form.role.as_str() {
            "moderator" => Ok(Self(Role::Moderator)),
            "member" => Ok(Self(Role::Member)),
            _ => Err(WebError::invalid(
                "The role must be “moderator” or “member”; admins are set by configuration.",
            )),
        }
    }
}

/// Admins grant and revoke the moderator role, and may take admin rights
/// from another admin (never their own, so one admin is always left;
/// `AdminEmails` grants them again at that admin's next sign-in).
pub async fn set_role(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_admin(ctx).await?;
    let member = state
        .store
        .members()
        .get(&member_id(ctx)?)
        .await?
        .ok_or_else(WebError::not_found)?;
    let GrantedRole(role) = ctx.parsed::<RoleForm, _>()?;
    if member.role == Role::Admin {
        if member.id == v.member.id {
            return Err(WebError::new(
                StatusCode::CONFLICT,
                "own_admin_rights",
                "You cannot take your own admin rights: another admin can, so there is always one admin left.",
            ));
        }
        match state.store.members().demote_admin(&v.member.id, &member, role).await {
            Ok(()) => {}
            Err(e) if e.failed_at(1) => return Err(WebError::forbidden("Only admins can do that.")),
            Err(e) if e.failed_at(0) => return Err(changed_meanwhile()),
            Err(e) => return Err(e.into()),
        }
    } else {
        if member.status != MemberStatus::Approved {
            return Err(WebError::new(
                StatusCode::CONFLICT,
                "not_approved",
                "Only approved members can moderate.",
            ));
        }
        match state.store.members().set_role(&member, role).await {
            Ok(()) => {}
            Err(e) if e.failed_at(0) => return Err(changed_meanwhile()),
            Err(e) => return Err(e.into()),
        }
    }
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({"member_id": member.id, "role": role}),
        ));
    }
    Ok(web::redirect(&lodge::web::paths::admin_member(&member.id)))
}

fn changed_meanwhile() -> WebError {
    WebError::new(
        StatusCode::CONFLICT,
        "role_changed",
        "This member's role changed meanwhile: reload the page and try again.",
    )
}

/// `POST /admin/members/{id}/unlock`: ends the lock on sign-in by code that
/// wrong guesses put on the member's address (admins only).
pub async fn unlock_sign_in(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let member = admin_target(state, ctx).await?;
    let was_locked = state
        .store
        .login_codes()
        .clear_lock(&member.email, lodge::login::GUESSES_PER_ADDRESS, state.clock.now())
        .await?;
    tracing::info!(member = %member.id, was_locked, "code sign-in unlocked by an admin");
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({"member_id": member.id, "was_locked": was_locked}),
        ));
    }
    Ok(web::redirect(&lodge::web::paths::admin_member(&member.id)))
}
