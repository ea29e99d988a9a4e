//! `/settings/notifications`: each kind on or off per channel, and the
//! digest choices (issue 14 reads them from the same `Prefs`).

use std::collections::HashMap;

use askama::Template;
use lambda_http::http::StatusCode;
use lodge::notify::{Channel, Kind, Prefs};
use lodge::web::{self, Ctx, Layout, Reply, WebError};
use serde::Serialize;
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
    weekly_email: bool,
    daily_telegram: bool,
    saved: bool,
}

fn reply(ctx: &Ctx, v: &lodge::auth::Viewer, prefs: &Prefs, linked: bool, saved: bool) -> Result<Reply, WebError> {
    if ctx.wants_json {
        let kinds: serde_json::Map<String, serde_json::Value> = rows(prefs, linked)
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
                "digest_weekly_email": prefs.weekly_email_digest(),
                "digest_daily_telegram": prefs.daily_telegram_digest(),
                "telegram_linked": linked,
            }),
        ));
    }
    web::page(
        StatusCode::OK,
        PrefsPage {
            layout: Layout::for_member("Notification settings", &v.member),
            rows: rows(prefs, linked),
            linked,
            weekly_email: prefs.weekly_email_digest(),
            daily_telegram: prefs.daily_telegram_digest(),
            saved,
        },
    )
}

pub async fn page(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let (prefs, linked) = state.store.notifications().prefs(&v.member.id).await?;
    reply(ctx, &v, &prefs, linked, ctx.query_param("saved").is_some())
}

/// A form sets every switch (an unticked box is off); a JSON body is a
/// `Prefs` whose given switches replace the stored ones.
pub async fn save(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let notes = state.store.notifications();
    let (stored, linked) = notes.prefs(&v.member.id).await?;
    let prefs = if ctx
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"))
    {
        let given: Prefs = ctx.fields()?;
        merge(stored, given)
    } else {
        let fields: HashMap<String, String> = ctx.fields()?;
        Prefs::from_form(&fields).map_err(WebError::invalid)?
    };
    notes.save_prefs(&v.member.id, &prefs).await?;
    tracing::info!("notification settings saved");
    if ctx.wants_json {
        return reply(ctx, &v, &prefs, linked, true);
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
    stored.digest_weekly_email = given.digest_weekly_email.or(stored.digest_weekly_email);
    stored.digest_daily_telegram = given.digest_daily_telegram.or(stored.digest_daily_telegram);
    stored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_changes_only_what_it_names() {
        let mut stored = Prefs::default();
        stored.set(Kind::Reply, Channel::Email, true);
        let given: Prefs =
            serde_json::from_str(r#"{"kinds": {"mention": {"telegram": false}}, "digest_weekly_email": false}"#)
                .unwrap();
        let p = merge(stored, given);
        assert!(p.wants(Kind::Reply, Channel::Email, true));
        assert!(!p.wants(Kind::Mention, Channel::Telegram, true));
        assert!(!p.weekly_email_digest());
    }
}
