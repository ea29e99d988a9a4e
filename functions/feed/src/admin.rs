//! `/admin/rooms`: admins define rooms (slug, title, description).

use lambda_http::http::StatusCode;
use lodge::domain::{FieldError, RoomDescription, RoomSlug, RoomTitle};
use lodge::store::rooms::RoomRefusal;
use lodge::web::{self, Ctx, Reply, WebError};
use serde::Deserialize;
use serde_json::json;

use crate::pages::AdminRoomsPage;
use crate::State;

#[derive(Deserialize)]
struct RoomForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
}

fn parse(form: &RoomForm) -> Result<(RoomTitle, RoomDescription), FieldError> {
    Ok((
        RoomTitle::parse(&form.title)?,
        RoomDescription::parse(&form.description)?,
    ))
}

async fn page(
    state: &State,
    v: &lodge::auth::Viewer,
    status: StatusCode,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Reply, WebError> {
    let rooms = state.store.rooms().list().await?;
    web::page(
        status,
        AdminRoomsPage {
            layout: v.layout("Rooms"),
            rooms,
            error,
            notice,
        },
    )
}

pub async fn list(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_admin(ctx).await?;
    if ctx.wants_json {
        let rooms = state.store.rooms().list().await?;
        return Ok(web::json(StatusCode::OK, &json!({ "rooms": rooms })));
    }
    page(state, &v, StatusCode::OK, None, None).await
}

/// A form problem: 422 for API clients, the page with the message for browsers.
async fn invalid(state: &State, ctx: &Ctx, v: &lodge::auth::Viewer, e: FieldError) -> Result<Reply, WebError> {
    if ctx.wants_json {
        return Err(WebError::invalid(e.to_string()));
    }
    page(state, v, StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string()), None).await
}

pub async fn create(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_admin(ctx).await?;
    let form: RoomForm = ctx.fields()?;
    let parsed = RoomSlug::parse(&form.slug).and_then(|slug| Ok((slug, parse(&form)?)));
    let (slug, (title, description)) = match parsed {
        Ok(p) => p,
        Err(e) => return invalid(state, ctx, &v, e).await,
    };
    let now = state.clock.now_ms();
    match state.store.rooms().create(&slug, &title, &description, now).await? {
        Ok(room) => {
            tracing::info!(room = %slug, "room created");
            if ctx.wants_json {
                return Ok(web::json(StatusCode::CREATED, &json!({ "room": room })));
            }
            page(
                state,
                &v,
                StatusCode::OK,
                None,
                Some(format!("The room {slug} was created.")),
            )
            .await
        }
        Err(RoomRefusal::Exists) => {
            let e = WebError::new(
                StatusCode::CONFLICT,
                "exists",
                format!("There is a room {slug} already."),
            );
            if ctx.wants_json {
                return Err(e);
            }
            page(state, &v, StatusCode::CONFLICT, Some(e.message), None).await
        }
        Err(other) => Err(WebError::internal(format!("room create refused: {other:?}"))),
    }
}

pub async fn edit(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_admin(ctx).await?;
    let slug = ctx.path_param("slug", RoomSlug::parse)?;
    let form: RoomForm = ctx.fields()?;
    let (title, description) = match parse(&form) {
        Ok(p) => p,
        Err(e) => return invalid(state, ctx, &v, e).await,
    };
    let now = state.clock.now_ms();
    state
        .store
        .rooms()
        .edit(&slug, &title, &description, now)
        .await?
        .map_err(|_| WebError::not_found())?;
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({"room": {"slug": slug, "title": title, "description": description}}),
        ));
    }
    page(
        state,
        &v,
        StatusCode::OK,
        None,
        Some(format!("The room {slug} was saved.")),
    )
    .await
}
