//! A member's own pages: status and intro, and profiles.

use lambda_http::http::StatusCode;
use lodge::domain::{About, DisplayName, Links, MemberStatus};
use lodge::moderation::{self, IntroError};
use lodge::queue::Notification;
use lodge::web::{self, Ctx, Reply, WebError};
use serde::Deserialize;

use crate::pages::{IntroPage, ProfilePage, StatusPage};
use crate::State;
use lodge::web::page as render;

/// A member's public profile, for approved members (Telegram's /whois links here).
/// Only approved members are shown: a newcomer's intro is for moderators.
pub async fn member_page(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = ctx.path_param("id", lodge::domain::MemberId::parse)?;
    let member = state
        .store
        .members()
        .get(&id)
        .await?
        .filter(|m| m.status == MemberStatus::Approved)
        .ok_or_else(WebError::not_found)?;
    let invited_by = match &member.invited_by {
        Some(by) => state
            .store
            .members()
            .get(by)
            .await?
            .map(|m| (lodge::web::paths::member(&m.id), m.name().to_string())),
        None => None,
    };
    let page = ProfilePage {
        layout: v.layout(member.name().to_string()),
        joined: lodge::clock::format_utc(member.created_at),
        invited_by,
        is_self: member.id == v.member.id,
        member: &member,
    };
    render(StatusCode::OK, page)
}

/// Where a member who is not approved yet stands; approved members move on.
pub async fn status(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require(ctx).await?;
    match v.member.status {
        MemberStatus::Approved => Ok(web::redirect("/")),
        MemberStatus::Intro => Ok(web::redirect("/intro")),
        _ => render(
            StatusCode::OK,
            StatusPage {
                layout: v.layout("Your membership"),
                member: &v.member,
            },
        ),
    }
}

pub async fn intro_form(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require(ctx).await?;
    if !matches!(v.member.status, MemberStatus::Intro | MemberStatus::Rejected) {
        return Ok(web::redirect("/status"));
    }
    let links = v.member.links.join("\n");
    let rejected_because = v
        .member
        .last_decision
        .as_ref()
        .filter(|_| v.member.status == MemberStatus::Rejected)
        .and_then(|d| d.reason.clone());
    let page = IntroPage {
        layout: v.layout("Your intro"),
        name: v.member.display_name.as_deref().unwrap_or_default(),
        about: v.member.about.as_deref().unwrap_or_default(),
        links: &links,
        error: None,
        rejected_because,
    };
    render(StatusCode::OK, page)
}

#[derive(Deserialize)]
struct IntroForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    about: String,
    #[serde(default)]
    links: String,
}

pub async fn submit_intro(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require(ctx).await?;
    let form: IntroForm = ctx.fields()?;
    let parsed = DisplayName::parse(&form.name)
        .and_then(|name| Ok((name, About::parse(&form.about)?)))
        .and_then(|(name, about)| Ok((name, about, Links::parse(&form.links)?)));
    let (name, about, links) = match parsed {
        Ok(p) => p,
        Err(msg) if ctx.wants_json => return Err(WebError::invalid(msg)),
        Err(msg) => {
            let page = IntroPage {
                layout: v.layout("Your intro"),
                name: &form.name,
                about: &form.about,
                links: &form.links,
                error: Some(msg),
                rejected_because: None,
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    let now = state.clock.now();
    match moderation::submit_intro(&state.store, &v.member, name, about, links, now).await {
        Ok(member) => {
            state
                .notify
                .send(&Notification::IntroSubmitted {
                    member_id: member.id.clone(),
                    at: now,
                })
                .await
                .map_err(|e| WebError::unavailable("the notification queue", e))?;
            Ok(web::redirect("/status"))
        }
        Err(IntroError::NotEditable) => {
            // A retry after a lost notification: send it again (the notifier dedups).
            if let (MemberStatus::OnReview, Some(at)) = (v.member.status, v.member.intro_submitted_at) {
                let _ = state
                    .notify
                    .send(&Notification::IntroSubmitted {
                        member_id: v.member.id.clone(),
                        at,
                    })
                    .await;
            }
            Err(WebError::new(
                StatusCode::CONFLICT,
                "not_editable",
                "Your intro is with the moderators already.",
            ))
        }
        Err(IntroError::Store(e)) => Err(e.into()),
    }
}
