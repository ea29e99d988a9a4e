//! Reading: the post page, its edit history and an event's `.ics`.

use lambda_http::http::StatusCode;
use lodge::auth::Viewer;
use lodge::config::AppUrl;
use lodge::store::posts::{PostPage, PostState};
use lodge::web::{self, page as render, Ctx, Reply, WebError};
use serde_json::json;

use crate::compose::post_id;
use crate::pages::{HistoryEntry, HistoryPage, PostView};
use crate::view::{new_comments, post_json, rfc3339_ms, Access};
use crate::State;

/// The viewer if signed in and approved; others read as if signed out.
async fn viewer(state: &State, ctx: &Ctx) -> Result<Option<Viewer>, WebError> {
    Ok(state.sessions.viewer(&ctx.headers).await?.filter(|v| v.is_approved()))
}

/// What a reader who may not see the post gets: signed out, the sign-in
/// page (members-only posts are not said to exist); signed in, 404.
fn hidden_from(ctx: &Ctx, viewer: Option<&Viewer>) -> WebError {
    match viewer {
        Some(_) => WebError::not_found(),
        None if ctx.wants_json => WebError::unauthorized(),
        None => {
            let query = lodge::web::safe_next(Some(&ctx.path));
            WebError::redirect(format!("/login?next={}", query.replace('&', "%26")))
        }
    }
}

/// Whether the viewer may see the page that was read, and their standing.
fn admit(ctx: &Ctx, v: Option<&Viewer>, page: Option<PostPage>) -> Result<(PostPage, Access), WebError> {
    let Some(page) = page else {
        return Err(hidden_from(ctx, v));
    };
    let access = Access::of(v, &page.card);
    if !access.can_read(&page.card) {
        return Err(hidden_from(ctx, v));
    }
    Ok((page, access))
}

/// The post and the viewer's standing, or why they may not see it.
async fn load(state: &State, ctx: &Ctx) -> Result<(Option<Viewer>, PostPage, Access), WebError> {
    let id = post_id(ctx)?;
    let v = viewer(state, ctx).await?;
    let page = state.store.posts().page(&id, v.as_ref().map(|v| &v.member.id)).await?;
    let (page, access) = admit(ctx, v.as_ref(), page)?;
    Ok((v, page, access))
}

pub async fn show(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let id = post_id(ctx)?;
    // One round trip for everything the page shows. The point reads (the
    // viewer's session and profile, the card, its HTML, the viewer's
    // `READER#` and `FOLLOW#` items) are one `BatchGetItem`; the thread's
    // two key ranges of the `POST#<id>` partition (`C#…`, and
    // `CVOTE#<viewer>#…`) are Queries beside it, not one Query: a range
    // holding both would also return every member's `CVOTE#` and `FOLLOW#`
    // items and the `LIST#` copies. Keys are taken from the cookie's member
    // before the session is checked; if it does not hold, their answers are
    // dropped. The thread is read before the visit below moves `seen_seq`
    // (so "new" shows), and dropped if the post turns out not to be
    // published.
    let mut reads = lodge::store::reads::Reads::new();
    let pending = state.sessions.ask(&ctx.headers, &mut reads);
    let claimed = pending.as_ref().map(|p| p.member_id().clone());
    let posts = state.store.posts();
    let slots = posts.page_reads(&mut reads, &id, claimed.as_ref());
    let thread = async {
        match &claimed {
            Some(m) => state.store.comments().thread_without_head(&id, m).await.map(Some),
            None => Ok(None),
        }
    };
    let (fetched, thread) = tokio::join!(state.store.fetch(reads), thread);
    let mut fetched = fetched?;
    let v = match pending {
        Some(p) => p.settle(&mut fetched)?.filter(|v| v.is_approved()),
        None => None,
    };
    let slots = if v.is_some() { slots } else { slots.signed_out() };
    let page = posts.page_from(slots, &mut fetched).await;
    let (page, access) = admit(ctx, v.as_ref(), page?)?;
    let card = &page.card;
    let fresh = new_comments(card, &page.reader, v.is_some());
    let thread = match (&v, thread?) {
        (Some(v), Some(mut read)) if card.state == PostState::Published => {
            read.seen_seq = page.reader.seen_seq;
            read.muted = v.member.muted_members.iter().cloned().collect();
            let order = lodge::thread::ThreadOrder::parse(ctx.query_param("comments"));
            Some(lodge::thread::ThreadView {
                post_id: card.id.to_string(),
                thread: lodge::thread::shape(&read, &v.member.id, order),
                order,
                moderator: v.member.role.can_moderate(),
                post_author: card.is_author(&v.member.id),
                closed: card.closed,
            })
        }
        _ => None,
    };
    if let Some(v) = &v {
        // The visit: what the next "new comments" count starts from.
        if let Err(e) = state
            .store
            .posts()
            .mark_seen(&card.id, &v.member.id, card.comment_seq, state.clock.now_ms())
            .await
        {
            tracing::warn!(error = %e, "could not record the visit");
        }
    }
    if ctx.wants_json {
        let mut post = post_json(card, Some(&page.html.html), &page.reader, v.is_some());
        if v.is_some() {
            post["following"] = json!(page.following);
        }
        if card.starts_at.is_some() && v.is_some() {
            post["event"]["going_members"] = json!(page
                .going
                .iter()
                .map(|r| json!({"id": r.member_id, "name": r.name}))
                .collect::<Vec<_>>());
        }
        let comments = thread.map(|t| t.thread.comments).unwrap_or_default();
        return Ok(web::json(StatusCode::OK, &json!({"post": post, "comments": comments})));
    }
    let url = app.join(&format!("/posts/{}", card.id));
    let mut view = PostView::new(&page, access, v.as_ref(), fresh, url);
    view.thread = thread;
    render(StatusCode::OK, view.page(v.as_ref().map(|v| &v.member)))
}

pub async fn history(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = post_id(ctx)?;
    let card = state.store.posts().card(&id).await?.ok_or_else(WebError::not_found)?;
    let access = Access::of(Some(&v), &card);
    if !access.can_read(&card) {
        return Err(WebError::not_found());
    }
    if !(access.author || access.moderator) {
        return Err(WebError::forbidden(
            "Only the author and moderators can see the edit history.",
        ));
    }
    let revisions = state.store.posts().history(&id).await?;
    if ctx.wants_json {
        let list: Vec<_> = revisions
            .iter()
            .map(|r| json!({"version": r.version, "title": r.title, "body": r.body, "replaced_by": {"id": r.by, "name": r.by_name}, "replaced_at": rfc3339_ms(r.at)}))
            .collect();
        return Ok(web::json(
            StatusCode::OK,
            &json!({"post": {"id": card.id, "title": card.title, "version": card.version}, "revisions": list}),
        ));
    }
    let entries = revisions
        .into_iter()
        .rev()
        .map(|r| HistoryEntry {
            when: lodge::clock::format_utc(r.at / 1000),
            by: r.by_name,
            version: r.version,
            title: r.title,
            body: r.body,
        })
        .collect();
    render(
        StatusCode::OK,
        HistoryPage {
            layout: v.layout(format!("History of {}", card.title)),
            id: id.to_string(),
            title: card.title,
            entries,
        },
    )
}

pub async fn ics(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let (_, page, _) = load(state, ctx).await?;
    let card = &page.card;
    if card.starts_at.is_none() || card.state != PostState::Published {
        return Err(WebError::not_found());
    }
    let url = app.join(&format!("/posts/{}", card.id));
    let host = app.origin().split("://").nth(1).unwrap_or("lodge").to_string();
    let body = crate::ics::event(card, &url, &host).ok_or_else(WebError::not_found)?;
    Ok(lambda_http::Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/calendar; charset=utf-8")
        .header(
            "content-disposition",
            format!("attachment; filename=\"event-{}.ics\"", card.id),
        )
        .body(lambda_http::Body::Text(body))
        .expect("static headers are valid"))
}
