//! A post's thread on its own page (the post page embeds the same
//! `thread.html`), or as JSON. Reading it records the visit.

use askama::Template;
use lambda_http::http::StatusCode;
use lodge::domain::{CommentId, PostId};
use lodge::thread::{self, ThreadOrder, ThreadView};
use lodge::web::{self, Ctx, Layout, Reply, WebError};
use serde_json::json;

use crate::State;

#[derive(Template)]
#[template(path = "thread_page.html")]
pub struct ThreadPage {
    pub layout: Layout,
    pub thread: ThreadView,
}

pub async fn thread(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let post = ctx.path_param("id", PostId::parse)?;
    let order = ThreadOrder::parse(ctx.query_param("comments"));
    let comments = state.store.comments();
    let read = comments.thread(&post, &v.member.id).await?;
    let Some(head) = read.head.as_ref().filter(|h| h.is_published()) else {
        return Err(WebError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "There is no such post.",
        ));
    };
    let shaped = thread::shape(&read, &v.member.id, order);
    let (seq, count, closed, author) = (
        head.comment_seq,
        head.comment_count,
        head.is_closed(),
        head.author_id.clone(),
    );
    // The highlight above used the visit before this one.
    comments
        .mark_seen(&post, &v.member.id, seq, state.clock.now_ms())
        .await?;
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({
                "post_id": post,
                "comment_count": count,
                "new_comments": thread::new_comments(seq, read.seen_seq),
                "comments": shaped.comments,
            }),
        ));
    }
    let view = ThreadView {
        post_id: post.to_string(),
        thread: shaped,
        order,
        moderator: v.member.role.can_moderate(),
        post_author: author == v.member.id,
        closed,
    };
    web::page(
        StatusCode::OK,
        ThreadPage {
            layout: v.layout("Comments"),
            thread: view,
        },
    )
}

/// `GET /comments/{id}`: a comment's place in its post's thread (the link a
/// report gives moderators), as a redirect, or as JSON.
pub async fn locate(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    state.sessions.require_approved(ctx).await?;
    let id = ctx.path_param("id", CommentId::parse)?;
    let comment = state
        .store
        .comments()
        .get(&id)
        .await?
        .ok_or_else(|| WebError::new(StatusCode::NOT_FOUND, "not_found", "There is no such comment."))?;
    let url = lodge::notify::render::comment_path(&comment.post_id, &id);
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({"comment_id": id, "post_id": comment.post_id, "url": url}),
        ));
    }
    Ok(web::redirect(&url))
}
