//! `/settings/email`: whether email reaches the member. After a hard bounce
//! or a spam complaint nothing is sent to the address; the page says why
//! and how to fix it, and the member turns email back on once it is fixed.
//! The digest choice is changed on the member's own `/u/{token}` page (the
//! switch their digest's links open), until notification preferences land.

use askama::Template;
use http::StatusCode;
use lodge::domain::digest::{Recipient, UndeliverableKind};
use lodge::web::{self, Ctx, Layout, Reply, WebError};

use crate::State;

#[derive(Template)]
#[template(path = "email_settings.html")]
struct EmailPage {
    layout: Layout,
    email: String,
    problem: Option<(String, String)>,
    digest: &'static str,
    /// Where the digest is chosen, beside the notification switches.
    change_digest: &'static str,
}

fn problem(r: &Recipient) -> Option<(String, String)> {
    let u = r.undeliverable.as_ref()?;
    let (what, fix) = match u.kind {
        UndeliverableKind::Bounce => (
            "Email to this address bounced: the receiving server said the mailbox does not exist.",
            "Check the address with your mail provider (or ask an admin to change it), then turn email back on.",
        ),
        UndeliverableKind::Complaint => (
            "An email from this club was marked as spam in this mailbox.",
            "If that was a mistake, mark our emails as \"not spam\" or add the sender to your contacts, then turn email back on.",
        ),
        UndeliverableKind::Rejected => (
            "Our mail service refused to send to this address.",
            "Check that the address is right (or ask an admin to change it), then turn email back on.",
        ),
    };
    Some((format!("{what} ({})", u.detail), fix.to_string()))
}

pub async fn page(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require(ctx).await?;
    let r = state
        .store
        .digests()
        .recipient(&v.member.id)
        .await?
        .ok_or_else(WebError::not_found)?;
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &serde_json::json!({"email": r.email, "undeliverable": r.undeliverable, "digest": r.digest_choice().as_str()}),
        ));
    }
    web::page(
        StatusCode::OK,
        EmailPage {
            layout: v.layout("Email"),
            email: r.email.to_string(),
            problem: problem(&r),
            digest: r.digest_choice().as_str(),
            change_digest: "/settings/notifications",
        },
    )
}

pub async fn resume(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require(ctx).await?;
    state.store.digests().clear_undeliverable(&v.member.id).await?;
    if ctx.wants_json {
        return Ok(web::json(StatusCode::OK, &serde_json::json!({"undeliverable": null})));
    }
    Ok(web::redirect("/settings/email"))
}
