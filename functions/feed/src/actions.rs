//! Subscribing to and muting rooms, muting members. Forms redirect back to
//! the page they came from; JSON clients get the new state.

use lambda_http::http::StatusCode;
use lodge::domain::{MemberId, RoomSlug, MAX_MUTED_MEMBERS, MAX_MUTED_ROOMS};
use lodge::store::mutes::MuteRefusal;
use lodge::store::rooms::RoomRefusal;
use lodge::web::{self, Ctx, Reply, WebError};
use serde_json::json;

use crate::State;

#[derive(Clone, Copy, Debug)]
pub enum RoomAction {
    Subscribe,
    Unsubscribe,
    Mute,
    Unmute,
}

fn room_refused(r: RoomRefusal) -> WebError {
    match r {
        RoomRefusal::NoSuchRoom | RoomRefusal::Exists => WebError::not_found(),
        RoomRefusal::MuteLimit => WebError::new(
            StatusCode::CONFLICT,
            "mute_limit",
            format!("You have muted {MAX_MUTED_ROOMS} rooms, the most allowed. Unmute one first."),
        ),
    }
}

pub async fn room(state: &State, ctx: &Ctx, action: RoomAction) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let slug = ctx.path_param("slug", RoomSlug::parse)?;
    let rooms = state.store.rooms();
    let me = &v.member.id;
    let outcome = match action {
        RoomAction::Subscribe => rooms.subscribe(me, &slug, state.clock.now_ms()).await?,
        RoomAction::Unsubscribe => rooms.unsubscribe(me, &slug).await.map(Ok)?,
        RoomAction::Mute => rooms.mute(me, &slug).await?,
        RoomAction::Unmute => rooms.unmute(me, &slug).await.map(Ok)?,
    };
    outcome.map_err(room_refused)?;
    tracing::info!(room = %slug, ?action, "room preference changed");
    if ctx.wants_json {
        let (key, value) = match action {
            RoomAction::Subscribe => ("subscribed", true),
            RoomAction::Unsubscribe => ("subscribed", false),
            RoomAction::Mute => ("muted", true),
            RoomAction::Unmute => ("muted", false),
        };
        return Ok(web::json(StatusCode::OK, &json!({ "room": slug, key: value })));
    }
    Ok(web::redirect(&format!("/rooms/{slug}")))
}

/// `POST /members/{id}/mute|unmute`: at most 50, never a moderator.
pub async fn member(state: &State, ctx: &Ctx, mute: bool) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let target = ctx.path_param("id", MemberId::parse)?;
    let mutes = state.store.member_mutes();
    if mute {
        mutes.mute(&v.member.id, &target).await?.map_err(|r| match r {
            MuteRefusal::Limit => WebError::new(
                StatusCode::CONFLICT,
                "mute_limit",
                format!("You have muted {MAX_MUTED_MEMBERS} members, the most allowed. Unmute someone first."),
            ),
            MuteRefusal::Moderator => {
                WebError::forbidden("Moderators and admins cannot be muted.").with_code("moderator")
            }
            MuteRefusal::NoSuchMember => WebError::not_found(),
            MuteRefusal::Yourself => WebError::bad_request("You cannot mute yourself.").with_code("yourself"),
        })?;
    } else {
        mutes.unmute(&v.member.id, &target).await?;
    }
    if ctx.wants_json {
        return Ok(web::json(StatusCode::OK, &json!({ "member": target, "muted": mute })));
    }
    Ok(web::redirect(&lodge::web::paths::member(&target)))
}
