//! Writing: the compose form, creating a post, editing one.

use lambda_http::http::StatusCode;
use lodge::domain::{NewPost, PostBody, PostFields, PostId, PostTitle};
use lodge::markdown::Rendered;
use lodge::store::posts::Actor;
use lodge::web::{self, page as render, Ctx, Reply, WebError};
use serde::Deserialize;
use serde_json::json;

use crate::errors;
use crate::pages::{ComposePage, ComposeValues, EditPage};
use crate::view::{post_json, Access};
use crate::State;

/// Renders `body`, resolving its `@handle`s through the member handles
/// (one parallel round of reads; the same code as comments).
pub async fn render_body(state: &State, body: &str) -> Result<Rendered, WebError> {
    Ok(lodge::mentions::render(&state.store, body).await?)
}

pub async fn form(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    render(
        StatusCode::OK,
        ComposePage {
            layout: v.layout("New post"),
            f: ComposeValues::default(),
            errors: Vec::new(),
        },
    )
}

pub async fn create(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let fields: PostFields = ctx.fields()?;
    let post = match NewPost::parse(&fields, state.utc_offset_minutes) {
        Ok(p) => p,
        Err(errors) if ctx.wants_json => return Err(WebError::invalid(errors.to_string())),
        Err(errors) => {
            let page = ComposePage {
                layout: v.layout("New post"),
                errors: errors.0.iter().map(ToString::to_string).collect(),
                f: ComposeValues::of(&fields),
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    let (card, rendered) = lodge::writing::create_post(
        &state.store,
        &state.content,
        &post,
        &v.member,
        state.clock.now_ms(),
        &Default::default(),
    )
    .await
    .map_err(errors::web)?;
    if ctx.wants_json {
        let reader = Default::default();
        return Ok(web::json(
            StatusCode::CREATED,
            &json!({"post": post_json(&card, Some(&rendered.html), &reader, true), "mentions": rendered.mentions.iter().map(|m| m.member.clone()).collect::<Vec<_>>()}),
        ));
    }
    Ok(web::redirect(&format!("/posts/{}", card.id)))
}

pub fn post_id(ctx: &Ctx) -> Result<PostId, WebError> {
    ctx.path_param("id", PostId::parse)
}

pub async fn edit_form(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = post_id(ctx)?;
    let posts = state.store.posts();
    let (card, body) = tokio::join!(posts.card(&id), posts.body(&id));
    let card = card?.ok_or_else(WebError::not_found)?;
    let access = Access::of(Some(&v), &card);
    if !access.can_read(&card) {
        return Err(WebError::not_found());
    }
    if !access.can_edit(&card) {
        return Err(WebError::forbidden(
            "Only the author or a moderator can edit this post.",
        ));
    }
    render(
        StatusCode::OK,
        EditPage {
            layout: v.layout("Edit post"),
            id: id.to_string(),
            title: card.title,
            body: body?.map(|b| b.body).unwrap_or_default(),
            error: None,
        },
    )
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
}

pub async fn edit(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = post_id(ctx)?;
    let form: EditForm = ctx.fields()?;
    let parsed = PostTitle::parse(&form.title).and_then(|t| Ok((t, PostBody::parse(&form.body)?)));
    let (title, body) = match parsed {
        Ok(p) => p,
        Err(e) if ctx.wants_json => return Err(WebError::invalid(e.to_string())),
        Err(e) => {
            let page = EditPage {
                layout: v.layout("Edit post"),
                id: id.to_string(),
                title: form.title,
                body: form.body,
                error: Some(e.to_string()),
            };
            return render(StatusCode::UNPROCESSABLE_ENTITY, page);
        }
    };
    let rendered = render_body(state, body.as_str()).await?;
    let card = state
        .store
        .posts()
        .edit(
            &id,
            Actor::of(&v.member),
            &title,
            &body,
            &rendered,
            state.clock.now_ms(),
        )
        .await
        .map_err(errors::web)?;
    if ctx.wants_json {
        let reader = state.store.posts().reader(&id, &v.member.id).await?;
        return Ok(web::json(
            StatusCode::OK,
            &json!({"post": post_json(&card, Some(&rendered.html), &reader, true)}),
        ));
    }
    Ok(web::redirect(&format!("/posts/{id}")))
}
