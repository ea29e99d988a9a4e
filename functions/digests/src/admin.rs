//! `/admin/digest`, for admins only: the editorial note for the next issue,
//! a preview of the next issue as any member would get it, a test send to
//! oneself, bounce and complaint counts, and the issues so far.

use askama::Template;
use http::StatusCode;
use lodge::config::AppUrl;
use lodge::digest::{self, build, render};
use lodge::domain::digest::Recipient;
use lodge::domain::{Email, MemberId};
use lodge::mail::Letter;
use lodge::store::digests::{EditorialNote, IssueRecord, MailStats};
use lodge::web::{self, Ctx, Layout, Reply, WebError};
use serde::Deserialize;

use crate::State;

/// An editorial note is a few paragraphs.
const NOTE_MAX_CHARS: usize = 5000;

#[derive(Template)]
#[template(path = "admin_digest.html")]
struct AdminPage {
    layout: Layout,
    note: String,
    stats: MailStats,
    issues: Vec<IssueRecord>,
    /// This week's run, if it was skipped: why.
    skipped: Option<String>,
    notice: Option<String>,
}

pub async fn page(state: &State, ctx: &Ctx, notice: Option<String>) -> Result<Reply, WebError> {
    let v = state.sessions.require_admin(ctx).await?;
    let d = state.store.digests();
    let (id, _) = digest::issue_for(state.clock.now());
    let (note, stats, issues, current) = tokio::try_join!(d.note(), d.mail_stats(), d.issues(), d.issue(&id))?;
    let skipped = current.and_then(|i| i.reason.map(|r| format!("{}: {r}", i.id)));
    let notice = notice.or_else(|| {
        if ctx.query_param("sent") == Some("1") {
            Some("Test sent: see your inbox.".into())
        } else if ctx.query_param("saved") == Some("1") {
            Some("Note saved: it goes into the next issue.".into())
        } else {
            None
        }
    });
    let note = note.map(|n| n.text).unwrap_or_default();
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &serde_json::json!({"note": note, "stats": stats, "issues": issues.iter().map(|i| &i.id).collect::<Vec<_>>(), "skipped": skipped}),
        ));
    }
    web::page(
        StatusCode::OK,
        AdminPage {
            layout: v.layout("Digest"),
            note,
            stats,
            issues,
            skipped,
            notice,
        },
    )
}

#[derive(Deserialize)]
struct NoteForm {
    note: String,
}

pub async fn save_note(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_admin(ctx).await?;
    let form: NoteForm = ctx.fields()?;
    if form.note.chars().count() > NOTE_MAX_CHARS {
        return Err(WebError::invalid(format!(
            "note must be at most {NOTE_MAX_CHARS} characters."
        )));
    }
    let note = EditorialNote {
        text: form.note.trim().to_string(),
        by: v.member.id.clone(),
        at: state.clock.now(),
    };
    state.store.digests().set_note(&note).await?;
    if ctx.wants_json {
        return Ok(web::json(StatusCode::OK, &serde_json::json!({"note": note.text})));
    }
    Ok(web::redirect("/admin/digest?saved=1"))
}

/// The next issue as `member` would get it, built now from the live data.
async fn next_letter(state: &State, app: &AppUrl, member: &Recipient) -> Result<Letter, WebError> {
    let now = state.clock.now();
    let (id, week) = digest::issue_for(now);
    let d = state.store.digests();
    let note = d.note().await?;
    let content = build::build(
        &state.store,
        now,
        digest::WEEK_SECS,
        note.as_ref().map(|n| n.text.as_str()),
    )
    .await?;
    let (_, tallies) = d
        .recipients_with_tallies(std::slice::from_ref(&member.id), &week)
        .await?;
    let tally = tallies.get(&member.id).copied();
    Ok(render::personal_letter(
        app,
        &state.unsubscribe_key,
        &id,
        &content,
        member,
        tally,
    ))
}

async fn recipient(state: &State, id: &MemberId) -> Result<Recipient, WebError> {
    state
        .store
        .digests()
        .recipient(id)
        .await?
        .ok_or_else(WebError::not_found)
}

/// `?email=` picks the member (default: yourself).
pub async fn preview(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let v = state.sessions.require_admin(ctx).await?;
    let id = match ctx.query_param("email").filter(|e| !e.trim().is_empty()) {
        None => v.member.id.clone(),
        Some(raw) => {
            let email = Email::parse(raw).map_err(|e| WebError::invalid(format!("email: {e}")))?;
            state
                .store
                .members()
                .id_by_email(&email)
                .await?
                .ok_or_else(|| WebError::invalid("email: no member has that address."))?
        }
    };
    let letter = next_letter(state, app, &recipient(state, &id).await?).await?;
    if ctx.wants_json {
        return Ok(web::json(StatusCode::OK, &letter));
    }
    // The letter is our own escaped template: shown as it is.
    Ok(web::html(StatusCode::OK, letter.html))
}

pub async fn send_test(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let v = state.sessions.require_admin(ctx).await?;
    let me = recipient(state, &v.member.id).await?;
    let mut letter = next_letter(state, app, &me).await?;
    letter.subject = format!("[test] {}", letter.subject);
    state
        .mailer
        .send(&me.email, &letter)
        .await
        .map_err(|e| WebError::unavailable("the mail service", e))?;
    if ctx.wants_json {
        return Ok(web::json(StatusCode::OK, &serde_json::json!({"sent_to": me.email})));
    }
    Ok(web::redirect("/admin/digest?sent=1"))
}
