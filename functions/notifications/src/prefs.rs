//! `/settings/notifications`: each kind on or off per channel, and the
//! digest choice (the digests' own `digest` attribute, saved in the same
//! update).

use std::collections::HashMap;

use askama::Template;
use lambda_http::http::StatusCode;
use lodge::domain::digest::DigestChoice;
use lodge::notify::{Channel, Kind, Prefs};
use lodge::store::notifications::Settings;
use lodge::web::{self, Ctx, Layout, Reply, WebError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::State;

/// One row of the page: a kind and its three effective switches.
#[derive(Serialize)]
struct Row {
    kind: &'static str,
    label: &'static str,
    web: bool,
    telegram: bool,
    email: bool,
}

fn rows(prefs: &Prefs, linked: bool) -> Vec<Row> {
    Kind::ALL
        .into_iter()
        .map(|k| Row {
            kind: k.as_str(),
            label: k.label(),
            web: prefs.wants(k, Channel::Web, linked),
            telegram: prefs.wants(k, Channel::Telegram, linked),
            email: prefs.wants(k, Channel::Email, linked),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "prefs.html")]
struct PrefsPage {
    layout: Layout,
    rows: Vec<Row>,
    linked: bool,
    digest: &'static str,
    email_stopped: Option<&'static str>,
    saved: bool,
}

fn reply(ctx: &Ctx, v: &lodge::auth::Viewer, s: &Settings, saved: bool) -> Result<Reply, WebError> {
    let linked = s.telegram_linked;
    if ctx.wants_json {
        let kinds: serde_json::Map<String, serde_json::Value> = rows(&s.prefs, linked)
            .into_iter()
            .map(|r| {
                (
                    r.kind.to_string(),
                    json!({"web": r.web, "telegram": r.telegram, "email": r.email}),
                )
            })
            .collect();
        return Ok(web::json(
            StatusCode::OK,
            &json!({
                "kinds": kinds,
                "digest": s.digest.as_str(),
                "email_stopped": s.email_stopped,
                "telegram_linked": linked,
            }),
        ));
    }
    web::page(
        StatusCode::OK,
        PrefsPage {
            layout: Layout::for_member("Notification settings", &v.member),
            rows: rows(&s.prefs, linked),
            linked,
            digest: s.digest.as_str(),
            email_stopped: s.email_stopped,
            saved,
        },
    )
}

pub async fn page(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let settings = state.store.notifications().settings(&v.member.id).await?;
    reply(ctx, &v, &settings, ctx.query_param("saved").is_some())
}

/// A JSON body: the switches it names replace the stored ones, and the
/// digest choice when given.
#[derive(Deserialize)]
struct JsonBody {
    #[serde(flatten)]
    prefs: Prefs,
    #[serde(default)]
    digest: Option<DigestChoice>,
}

/// A form sets every switch (an unticked box is off) and the digest choice
/// (a radio, `digest`); a JSON body changes only what it names.
pub async fn save(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let notes = state.store.notifications();
    let settings = notes.settings(&v.member.id).await?;
    let (prefs, digest) = if ctx
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        let given: JsonBody = ctx.fields()?;
        (
            merge(settings.prefs.clone(), given.prefs),
            given.digest.unwrap_or(settings.digest),
        )
    } else {
        let fields: HashMap<String, String> = ctx.fields()?;
        let digest = match fields.get("digest") {
            Some(raw) => {
                DigestChoice::parse(raw).ok_or_else(|| WebError::invalid("digest must be weekly, daily or none."))?
            }
            None => settings.digest,
        };
        (
            Prefs::from_form(&fields, &["digest"]).map_err(WebError::invalid)?,
            digest,
        )
    };
    if digest == DigestChoice::Daily && !settings.telegram_linked {
        return Err(WebError::invalid(
            "The daily digest comes by Telegram: link Telegram in settings first.",
        ));
    }
    notes.save_settings(&v.member.id, &prefs, digest).await?;
    tracing::info!(digest = digest.as_str(), "notification settings saved");
    if ctx.wants_json {
        // Read back: what the page shows is what is stored.
        let settings = notes.settings(&v.member.id).await?;
        return reply(ctx, &v, &settings, true);
    }
    Ok(web::redirect("/settings/notifications?saved=1"))
}

fn merge(mut stored: Prefs, given: Prefs) -> Prefs {
    for (kind, s) in given.kinds {
        for (channel, on) in [
            (Channel::Web, s.web),
            (Channel::Telegram, s.telegram),
            (Channel::Email, s.email),
        ] {
            if let Some(on) = on {
                stored.set(kind, channel, on);
            }
        }
    }
    stored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_changes_only_what_it_names() {
        let mut stored = Prefs::default();
        stored.set(Kind::Reply, Channel::Email, true);
        let given: Prefs = serde_json::from_str(r#"{"kinds": {"mention": {"telegram": false}}}"#).unwrap();
        let p = merge(stored, given);
        assert!(p.wants(Kind::Reply, Channel::Email, true));
        assert!(!p.wants(Kind::Mention, Channel::Telegram, true));
    }
}
