//! Reports: members report a post (`actions`), moderators see the open ones
//! at `/admin/reports` and resolve each item by hiding it or dismissing.

use lambda_http::http::StatusCode;
use lodge::domain::MemberId;
use lodge::notify::ContentEvent;
use lodge::queue::Notification;
use lodge::store::comments::Actor;
use lodge::store::reports::{Report, ReportReason, ReportTarget, Resolution};
use lodge::web::{self, page as render, Ctx, Reply, WebError};
use serde::Deserialize;
use serde_json::json;

use crate::errors;
use crate::pages::{ReportEntry, ReportsPage};
use crate::view::rfc3339_ms;
use crate::State;

/// Queues the admin-chat message (the notifier posts it when a chat is
/// configured). A failure is logged: the report itself is stored.
pub async fn tell_admins(state: &State, report: &Report) {
    let msg = Notification::Reported {
        target: report.target.key(),
        reporter: report.reporter.clone(),
        at: report.at,
    };
    state.notify.send_after_commit(&msg).await;
}

/// Tells each reporter the outcome (`ContentEvent::ReportResolved`), once
/// the resolution committed.
async fn tell_reporters(state: &State, target: &ReportTarget, upheld: bool, reporters: &[MemberId], now: i64) {
    let (post, comment) = match target {
        ReportTarget::Post(id) => (id.clone(), None),
        ReportTarget::Comment(id) => match state.store.comments().get(id).await {
            Ok(Some(c)) => (c.post_id, Some(id.clone())),
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "report outcome not announced: the comment could not be read");
                return;
            }
        },
    };
    for reporter in reporters {
        let event = ContentEvent::ReportResolved {
            reporter: reporter.clone(),
            post: post.clone(),
            comment: comment.clone(),
            upheld,
            at_ms: now,
        };
        state.content.send_after_commit(&event).await;
    }
}

fn link(target: &ReportTarget) -> String {
    match target {
        ReportTarget::Post(id) => format!("/posts/{id}"),
        ReportTarget::Comment(id) => format!("/comments/{id}"),
    }
}

pub async fn queue(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_staff(ctx).await?;
    let open = state.store.reports().open().await?;
    if ctx.wants_json {
        let list: Vec<_> = open
            .iter()
            .map(|r| json!({"target": r.target, "label": r.label, "reason": r.reason, "reporter": {"id": r.reporter, "name": r.reporter_name}, "at": rfc3339_ms(r.at), "link": link(&r.target)}))
            .collect();
        return Ok(web::json(StatusCode::OK, &json!({"reports": list})));
    }
    let entries = open
        .into_iter()
        .map(|r| ReportEntry {
            link: link(&r.target),
            when: lodge::clock::format_utc(r.at / 1000),
            target: r.target.key(),
            label: r.label,
            reason: r.reason,
            reporter: r.reporter_name,
        })
        .collect();
    render(
        StatusCode::OK,
        ReportsPage {
            layout: v.layout("Reports"),
            entries,
        },
    )
}

#[derive(Deserialize)]
struct ResolveForm {
    #[serde(default)]
    target: String,
    #[serde(default)]
    decision: String,
    reason: Option<String>,
}

pub async fn resolve(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_staff(ctx).await?;
    let form: ResolveForm = ctx.fields()?;
    let target =
        ReportTarget::try_from(form.target.clone()).map_err(|_| WebError::invalid("target: not a reported item"))?;
    let now = state.clock.now_ms();
    let (resolution, hide) = match form.decision.as_str() {
        "dismiss" => (Resolution::Dismiss, Vec::new()),
        "hide" => {
            let reason = ReportReason::parse(form.reason.as_deref().unwrap_or_default())
                .map_err(|e| WebError::invalid(e.to_string()))?;
            let items = match &target {
                ReportTarget::Post(id) => {
                    let card = state.store.posts().card(id).await?.ok_or_else(WebError::not_found)?;
                    state
                        .store
                        .posts()
                        .hide_items(&card, reason.as_str(), now)
                        .map_err(errors::web)?
                }
                // A moderator's soft delete with its reason: the thread keeps its shape.
                ReportTarget::Comment(id) => {
                    let by = Actor {
                        id: v.member.id.clone(),
                        name: v.member.name().to_string(),
                        moderator: true,
                    };
                    let comments = state.store.comments();
                    comments
                        .hide_items(&by, id, reason.as_str(), now)
                        .await
                        .map_err(errors::comment)?
                }
            };
            (
                Resolution::Hide {
                    reason: reason.as_str().to_string(),
                },
                items,
            )
        }
        _ => return Err(WebError::invalid("decision: must be hide or dismiss")),
    };
    let resolved = state
        .store
        .reports()
        .resolve(&target, resolution.clone(), &v.member.id, v.member.name(), hide, now)
        .await
        .map_err(|e| match e {
            lodge::store::StoreError::Cancelled { .. } => WebError::new(
                StatusCode::CONFLICT,
                "changed",
                "Someone resolved these reports or changed the item meanwhile. Reload and try again.",
            ),
            other => other.into(),
        })?;
    tracing::info!(target = %target, decision = resolution.as_str(), resolved = resolved.len(), "reports resolved");
    let upheld = matches!(resolution, Resolution::Hide { .. });
    tell_reporters(state, &target, upheld, &resolved, now).await;
    let resolved = resolved.len();
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({"target": target, "decision": resolution.as_str(), "resolved": resolved}),
        ));
    }
    Ok(web::redirect("/admin/reports"))
}
