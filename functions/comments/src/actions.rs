//! The comment actions. Each answers JSON to API clients and redirects a
//! browser back to the comment on its post page.

use lambda_http::http::StatusCode;
use lodge::auth::Viewer;
use lodge::commenting::{self, refusal};
use lodge::domain::{CommentBody, CommentId, PostId};
use lodge::queue::Notification;
use lodge::store::comments::Actor;
use lodge::store::reports::{Report, ReportReason, ReportTarget};
use lodge::thread;
use lodge::web::{self, Ctx, Reply, WebError};
use lodge::writing::CommentRequest;
use serde::Deserialize;
use serde_json::json;

use crate::State;

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    parent_id: Option<String>,
    /// "Follow this post": off unless ticked (issue 13; on by default floods people).
    #[serde(default)]
    follow: Option<String>,
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    body: String,
}

/// `/posts/{id}#c-<comment>`: where a browser goes after an action.
fn anchor(post: &PostId, comment: &CommentId) -> String {
    format!("/posts/{post}#c-{comment}")
}

fn actor(v: &Viewer) -> Actor {
    commenting::actor(&v.member)
}

fn body_of(raw: &str) -> Result<CommentBody, WebError> {
    CommentBody::parse(raw).map_err(|e| WebError::invalid(e.to_string()))
}

pub async fn create(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let post = ctx.path_param("id", PostId::parse)?;
    let form: CommentForm = ctx.fields()?;
    let body = body_of(&form.body)?;
    let follow = web::yes_no("follow", form.follow.as_deref(), false)?;
    let parent = match form.parent_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(CommentId::parse(raw).map_err(|_| WebError::invalid("parent_id: not a comment id."))?),
    };
    let req = CommentRequest {
        post: post.clone(),
        parent,
        body,
        source: None,
    };
    let record = lodge::writing::create_comment(&state.store, &state.content, &v.member, &req, state.clock.now_ms())
        .await
        .map_err(refusal)?;
    if follow {
        // After the comment: a failure here loses only the follow, and says so.
        state
            .store
            .notifications()
            .follow(&post, &v.member.id, state.clock.now())
            .await
            .map_err(|e| WebError::unavailable("following the post", e))?;
    }
    if ctx.wants_json {
        let shown = thread::single(&record, &v.member.id);
        let body = json!({ "comment": shown, "mentions": record.mentions });
        return Ok(web::json(StatusCode::CREATED, &body));
    }
    Ok(web::redirect(&anchor(&post, &record.id)))
}

pub async fn edit(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = ctx.path_param("id", CommentId::parse)?;
    let form: EditForm = ctx.fields()?;
    let body = body_of(&form.body)?;
    let record = lodge::writing::edit_comment(&state.store, &v.member, &id, &body, state.clock.now_ms())
        .await
        .map_err(refusal)?;
    if ctx.wants_json {
        let shown = thread::single(&record, &v.member.id);
        return Ok(web::json(StatusCode::OK, &json!({ "comment": shown })));
    }
    Ok(web::redirect(&anchor(&record.post_id, &id)))
}

/// `?subtree=1` (or a `subtree` form field): a moderator deletes the comment
/// and every reply under it.
pub async fn delete(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = ctx.path_param("id", CommentId::parse)?;
    let subtree = ctx.query_param("subtree").is_some_and(|s| s == "1" || s == "true");
    let comments = state.store.comments();
    let now = state.clock.now_ms();
    let (post, count) = if subtree {
        if !v.member.role.can_moderate() {
            return Err(
                WebError::forbidden("Only moderators can delete a comment with its replies.")
                    .with_code("not_moderator"),
            );
        }
        comments.delete_subtree(&actor(&v), &id, now).await.map_err(refusal)?
    } else {
        (comments.delete(&actor(&v), &id, now).await.map_err(refusal)?, 1)
    };
    tracing::info!(comment = %id, post = %post, subtree, count, "comment deleted");
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({ "id": id, "deleted": true, "subtree": subtree, "count": count }),
        ));
    }
    Ok(web::redirect(&anchor(&post, &id)))
}

pub async fn vote(state: &State, ctx: &Ctx, up: bool) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = ctx.path_param("id", CommentId::parse)?;
    let comments = state.store.comments();
    let now = state.clock.now_ms();
    let out = match up {
        true => comments.vote(&v.member.id, &id, now).await,
        false => comments.unvote(&v.member.id, &id, now).await,
    }
    .map_err(refusal)?;
    if ctx.wants_json {
        return Ok(web::json(StatusCode::OK, &out));
    }
    Ok(web::redirect(&anchor(&out.post_id, &id)))
}

pub async fn pin(state: &State, ctx: &Ctx, pinned: bool) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = ctx.path_param("id", CommentId::parse)?;
    let post = state
        .store
        .comments()
        .pin(&v.member.id, &id, pinned)
        .await
        .map_err(refusal)?;
    if ctx.wants_json {
        return Ok(web::json(StatusCode::OK, &json!({ "id": id, "pinned": pinned })));
    }
    Ok(web::redirect(&anchor(&post, &id)))
}

#[derive(Deserialize)]
struct ReportForm {
    #[serde(default)]
    reason: String,
}

/// Any member reports a comment once, with a reason; moderators see it in
/// `/admin/reports` and, when one is configured, in the Telegram admin chat.
pub async fn report(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = ctx.path_param("id", CommentId::parse)?;
    let form: ReportForm = ctx.fields()?;
    let why = ReportReason::parse(&form.reason).map_err(|e| WebError::invalid(e.to_string()))?;
    let comment = state
        .store
        .comments()
        .get(&id)
        .await?
        .ok_or_else(|| refusal(lodge::store::comments::CommentError::NoComment))?;
    if comment.deleted {
        return Err(refusal(lodge::store::comments::CommentError::Deleted));
    }
    let report = Report {
        target: ReportTarget::Comment(id.clone()),
        reporter: v.member.id.clone(),
        reporter_name: v.member.name().to_string(),
        reason: why.as_str().to_string(),
        label: label(&comment.body, &comment.author_name),
        at: state.clock.now_ms(),
        resolution: None,
    };
    let new = state.store.reports().file(&report).await?;
    if new {
        let msg = Notification::Reported {
            target: report.target.key(),
            reporter: report.reporter.clone(),
            at: report.at,
        };
        state.notify.send_after_commit(&msg).await;
    }
    if ctx.wants_json {
        let status = if new { StatusCode::CREATED } else { StatusCode::OK };
        return Ok(web::json(status, &json!({"reported": true, "new": new})));
    }
    Ok(web::redirect(&anchor(&comment.post_id, &id)))
}

/// "Bob: the first 60 characters…", for the moderators' queue.
fn label(body: &str, author: &str) -> String {
    let start: String = body.chars().take(60).collect();
    let more = if body.chars().count() > 60 { "…" } else { "" };
    format!("{author}: {start}{more}")
}
