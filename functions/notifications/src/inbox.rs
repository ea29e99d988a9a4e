//! `/notifications`: the inbox, newest first, 20 a page.

use askama::Template;
use lambda_http::http::StatusCode;
use lodge::notify::render::headline;
use lodge::store::notifications::InboxEntry;
use lodge::web::{self, Ctx, Layout, Reply, WebError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::State;

const PAGE: i32 = 20;

/// An inbox entry's id as URLs carry it: `<ms:013>.<event key>`.
struct EntryId(String);

impl EntryId {
    fn parse(raw: &str) -> Result<Self, String> {
        let (ms, key) = raw.split_once('.').ok_or("not a notification id")?;
        let ok = ms.len() == 13
            && ms.bytes().all(|b| b.is_ascii_digit())
            && !key.is_empty()
            && key.len() <= 160
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if ok {
            Ok(Self(raw.to_string()))
        } else {
            Err("not a notification id".into())
        }
    }
}

/// One entry as the inbox shows it (the JSON shape of issue 13).
#[derive(Serialize)]
struct Shown {
    id: String,
    kind: &'static str,
    read: bool,
    url: String,
    created_at: String,
    text: String,
    excerpt: String,
}

impl Shown {
    fn of(e: &InboxEntry) -> Self {
        Self {
            id: e.id.clone(),
            kind: e.kind.as_str(),
            read: e.read,
            url: e.note.path.clone(),
            created_at: lodge::clock::rfc3339(e.at_ms / 1000),
            text: headline(e.kind, &e.note),
            excerpt: e.note.excerpt.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    entries: Vec<Shown>,
    unread: i64,
    next: Option<String>,
}

pub async fn page(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let after = match ctx.query_param("cursor") {
        None | Some("") => None,
        Some(raw) => Some(
            EntryId::parse(raw)
                .map_err(|_| WebError::bad_request("The cursor is not valid.").with_code("bad_cursor"))?
                .0,
        ),
    };
    let page = state
        .store
        .notifications()
        .inbox(&v.member.id, after.as_deref(), PAGE)
        .await?;
    let entries: Vec<Shown> = page.entries.iter().map(Shown::of).collect();
    let unread = v.member.unread_notifications.max(0);
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({"notifications": entries, "unread": unread, "next_cursor": page.next}),
        ));
    }
    web::page(
        StatusCode::OK,
        InboxPage {
            layout: Layout::for_member("Notifications", &v.member),
            entries,
            unread,
            next: page.next,
        },
    )
}

pub async fn mark_all(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let marked = state.store.notifications().mark_all_read(&v.member.id).await?;
    tracing::info!(marked, "notifications marked read");
    if ctx.wants_json {
        let unread = (v.member.unread_notifications - marked as i64).max(0);
        return Ok(web::json(StatusCode::OK, &json!({"marked": marked, "unread": unread})));
    }
    Ok(web::redirect("/notifications"))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct OpenForm {
    /// Set by the inbox's entry buttons: go on to the entry's page.
    #[serde(default)]
    open: Option<String>,
}

pub async fn mark_one(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let id = ctx.path_param("id", EntryId::parse)?;
    let form: OpenForm = if ctx.body.is_empty() {
        OpenForm::default()
    } else {
        ctx.fields()?
    };
    let notes = state.store.notifications();
    let entry = notes
        .entry(&v.member.id, &id.0)
        .await?
        .ok_or_else(WebError::not_found)?;
    let flipped = notes.mark_read(&v.member.id, &id.0).await?;
    if ctx.wants_json {
        let unread = (v.member.unread_notifications - i64::from(flipped)).max(0);
        return Ok(web::json(
            StatusCode::OK,
            &json!({"id": entry.id, "read": true, "url": entry.note.path, "unread": unread}),
        ));
    }
    // The entry's own page, never one the form names: no open redirect.
    Ok(web::redirect(if form.open.is_some() {
        &entry.note.path
    } else {
        "/notifications"
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_are_checked() {
        assert!(EntryId::parse("1795000000123.c.01jz").is_ok());
        for bad in [
            "",
            "123.c",
            "1795000000123.",
            "1795000000123.C.X",
            "1795000000123.c/../x",
            "x.c",
        ] {
            assert!(EntryId::parse(bad).is_err(), "{bad}");
        }
    }
}
