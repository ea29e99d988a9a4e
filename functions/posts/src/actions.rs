//! `POST /posts/{id}/<action>`: every action is a form POST answered with a
//! redirect back to the post, or JSON for API clients and `lodge.js`.

use lambda_http::http::StatusCode;
use lodge::domain::days_from_civil;
use lodge::store::posts::Actor;
use lodge::store::reports::{Report, ReportReason, ReportTarget};
use lodge::web::{self, Ctx, Reply, WebError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::compose::post_id;
use crate::errors;
use crate::view::post_json;
use crate::State;

#[derive(Deserialize, Default)]
struct ActionForm {
    reason: Option<String>,
    until: Option<String>,
    going: Option<String>,
    closed: Option<String>,
}

/// Hide reasons and report reasons: 1–500 characters.
fn reason(form: &ActionForm) -> Result<ReportReason, WebError> {
    ReportReason::parse(form.reason.as_deref().unwrap_or_default()).map_err(|e| WebError::invalid(e.to_string()))
}

/// `2026-12-31` (the end of that day, UTC) or `2026-12-31T18:00` (UTC), in ms.
pub fn parse_until(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    let num = |r: std::ops::Range<usize>| raw.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if raw.len() < 10 || &raw[4..5] != "-" || &raw[7..8] != "-" || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let day = days_from_civil(y, m, d) * 86_400;
    let secs = if raw.len() == 10 {
        day + 86_399
    } else {
        let (h, mi) = (num(11..13)?, num(14..16)?);
        if h > 23 || mi > 59 {
            return None;
        }
        day + h * 3600 + mi * 60
    };
    Some(secs * 1000)
}

pub async fn act(state: &State, ctx: &Ctx, action: &str) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = post_id(ctx)?;
    let form: ActionForm = if ctx.body.is_empty() {
        ActionForm::default()
    } else {
        ctx.fields()?
    };
    let posts = state.store.posts();
    let now = state.clock.now_ms();
    let me = Actor::of(&v.member);
    let answer: Value = match action {
        "vote" => json!(posts.vote(&id, &v.member.id, now).await.map_err(errors::web)?),
        "unvote" => json!(posts.unvote(&id, &v.member.id, now).await.map_err(errors::web)?),
        "bookmark" | "unbookmark" => {
            let on = action == "bookmark";
            posts.bookmark(&id, &v.member.id, on, now).await.map_err(errors::web)?;
            json!({"bookmarked": on})
        }
        "rsvp" => {
            let going = web::yes_no("going", form.going.as_deref(), true)?;
            let count = posts.rsvp(&id, &v.member, going, now).await.map_err(errors::web)?;
            json!({"going": count, "rsvp": going})
        }
        "delete" => {
            posts.delete(&id, me, now).await.map_err(errors::web)?;
            json!({"deleted": true})
        }
        "restore" => {
            posts.restore(&id, me, now).await.map_err(errors::web)?;
            Value::Null
        }
        "publish" => {
            let (_, event) = posts.publish(&id, &v.member.id, now).await.map_err(errors::web)?;
            // Re-publishing an already published post repeats its event's key: no second notice.
            if let Some(event) = event {
                state.content.send_after_commit(&event).await;
            }
            Value::Null
        }
        "unpublish" => {
            posts.unpublish(&id, &v.member.id, now).await.map_err(errors::web)?;
            Value::Null
        }
        "hide" => {
            if !me.moderator {
                return Err(WebError::forbidden("Only moderators can hide posts."));
            }
            let why = reason(&form)?;
            posts.hide(&id, me, why.as_str(), now).await.map_err(errors::web)?;
            Value::Null
        }
        "pin" => {
            if !me.moderator {
                return Err(WebError::forbidden("Only moderators can pin posts."));
            }
            let until = form
                .until
                .as_deref()
                .and_then(parse_until)
                .ok_or_else(|| WebError::invalid("until: give a date like 2026-12-31"))?;
            if until <= now || until > now + 366 * 86_400_000 {
                return Err(WebError::invalid("until: must be in the next 12 months"));
            }
            posts.pin(&id, me, until).await.map_err(errors::web)?;
            Value::Null
        }
        "close" => {
            if !me.moderator {
                return Err(WebError::forbidden("Only moderators can close comments."));
            }
            let closed = web::yes_no("closed", form.closed.as_deref(), true)?;
            posts.close(&id, me, closed).await.map_err(errors::web)?;
            Value::Null
        }
        "report" => return report(state, ctx, &v, &id, &form).await,
        _ => return Err(WebError::not_found()),
    };
    if !ctx.wants_json {
        return Ok(web::redirect(&format!("/posts/{id}")));
    }
    if !answer.is_null() {
        return Ok(web::json(StatusCode::OK, &answer));
    }
    let card = posts.card(&id).await?.ok_or_else(WebError::not_found)?;
    let reader = posts.reader(&id, &v.member.id).await?;
    Ok(web::json(
        StatusCode::OK,
        &json!({"post": post_json(&card, None, &reader, true)}),
    ))
}

async fn report(
    state: &State,
    ctx: &Ctx,
    v: &lodge::auth::Viewer,
    id: &lodge::domain::PostId,
    form: &ActionForm,
) -> Result<Reply, WebError> {
    let why = reason(form)?;
    let card = state
        .store
        .posts()
        .card(id)
        .await?
        .filter(|c| crate::view::Access::of(Some(v), c).can_read(c))
        .ok_or_else(WebError::not_found)?;
    let report = Report {
        target: ReportTarget::Post(id.clone()),
        reporter: v.member.id.clone(),
        reporter_name: v.member.name().to_string(),
        reason: why.as_str().to_string(),
        label: card.title.clone(),
        at: state.clock.now_ms(),
        resolution: None,
    };
    let new = state.store.reports().file(&report).await?;
    if new {
        crate::reports::tell_admins(state, &report).await;
    }
    if ctx.wants_json {
        let status = if new { StatusCode::CREATED } else { StatusCode::OK };
        return Ok(web::json(status, &json!({"reported": true, "new": new})));
    }
    Ok(web::redirect(&format!("/posts/{id}?reported=1")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_dates_parse() {
        assert_eq!(parse_until("2026-12-05T18:00"), Some(1_796_493_600_000));
        assert_eq!(
            parse_until("2026-12-05"),
            Some((1_796_493_600 - 18 * 3600 + 86_399) * 1000)
        );
        for bad in ["", "2026-13-01", "tomorrow", "2026-12-05T25:00", "2026/12/05"] {
            assert_eq!(parse_until(bad), None, "{bad}");
        }
    }
}
