//! `GET /u/{token}` confirms (mail scanners follow links, so a GET never
//! changes anything); `POST /u/{token}` unsubscribes, from the page's
//! button or as RFC 8058's one-click request (`List-Unsubscribe=One-Click`),
//! or switches between the digests (`switch=weekly|daily|none`).

use askama::Template;
use http::StatusCode;
use lodge::config::AppUrl;
use lodge::domain::digest::{DigestChoice, Recipient};
use lodge::mail::unsubscribe::{Purpose, Token};
use lodge::store::digests::MailChange;
use lodge::store::StoreError;
use lodge::web::{self, Ctx, Layout, Reply, WebError};
use serde::Deserialize;

use crate::State;

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    layout: Layout,
    what: &'static str,
    action: String,
    /// After the POST: what changed.
    done: Option<String>,
    choice: &'static str,
    /// Switches offered: (value, label).
    switches: Vec<(&'static str, &'static str)>,
    telegram_linked: bool,
}

fn refused() -> WebError {
    WebError::forbidden("This unsubscribe link is not valid (it may have been replaced by a newer one).")
        .with_code("bad_token")
}

/// The token and its member, or 403: a forged token, one whose member is
/// gone, or one revoked by a newer `mail_epoch`.
async fn verified(state: &State, ctx: &Ctx) -> Result<(Token, Recipient), WebError> {
    let raw = ctx.param("token")?;
    let token = Token::verify(raw, &state.unsubscribe_key).map_err(|_| refused())?;
    let member = state
        .store
        .digests()
        .recipient(&token.member)
        .await?
        .filter(|r| r.mail_epoch == token.epoch)
        .ok_or_else(refused)?;
    Ok((token, member))
}

fn switches(token: &Token) -> Vec<(&'static str, &'static str)> {
    match token.purpose {
        Purpose::Weekly | Purpose::Daily => vec![
            ("weekly", "the weekly email"),
            ("daily", "the daily Telegram digest"),
            ("none", "no digest"),
        ],
        Purpose::Notifications | Purpose::All => Vec::new(),
    }
}

fn reply(ctx: &Ctx, token: &Token, member: &Recipient, done: Option<String>) -> Result<Reply, WebError> {
    let choice = member.digest_choice();
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &serde_json::json!({
                "purpose": token.purpose.as_str(),
                "done": done,
                "digest": choice.as_str(),
                "notifications": !(member.mail_off_notifications || member.mail_off_all),
            }),
        ));
    }
    web::page(
        StatusCode::OK,
        UnsubscribePage {
            layout: Layout::new("Unsubscribe", None),
            what: token.purpose.describe(),
            action: ctx.path.clone(),
            done,
            choice: choice.as_str(),
            switches: switches(token),
            telegram_linked: member.telegram.is_some(),
        },
    )
}

pub async fn confirm(state: &State, ctx: &Ctx, _app: &AppUrl) -> Result<Reply, WebError> {
    let (token, member) = verified(state, ctx).await?;
    reply(ctx, &token, &member, None)
}

#[derive(Deserialize)]
struct Form {
    /// A digest to switch to instead of unsubscribing.
    #[serde(default)]
    switch: Option<String>,
}

/// What the POST asks for, parsed.
enum Ask {
    Unsubscribe,
    Switch(DigestChoice),
}

fn ask(ctx: &Ctx, token: &Token) -> Result<Ask, WebError> {
    // RFC 8058's body is `List-Unsubscribe=One-Click`; our button sends
    // nothing else either. Only `switch` means something different.
    let form: Form = if ctx.body.is_empty() {
        Form { switch: None }
    } else {
        ctx.fields()?
    };
    match form.switch.as_deref() {
        None => Ok(Ask::Unsubscribe),
        Some(raw) => {
            let to =
                DigestChoice::parse(raw).ok_or_else(|| WebError::invalid("switch must be weekly, daily or none."))?;
            if switches(token).is_empty() {
                return Err(WebError::forbidden("This link cannot change your digest.").with_code("other_purpose"));
            }
            Ok(Ask::Switch(to))
        }
    }
}

/// The change `ask` makes to `member`, or `None` when there is nothing to change.
fn change(ask: &Ask, token: &Token, member: &Recipient) -> Result<Option<MailChange>, WebError> {
    let from = member.digest.unwrap_or_default();
    let digest = |to: DigestChoice| (from != to).then_some(MailChange::Digest { from, to });
    Ok(match (ask, token.purpose) {
        (Ask::Switch(DigestChoice::Daily), _) if member.telegram.is_none() => {
            return Err(WebError::invalid(
                "Link your Telegram account in settings first: the daily digest comes through the bot.",
            ))
        }
        (Ask::Switch(to), _) => digest(*to),
        (Ask::Unsubscribe, Purpose::Weekly) => (from == DigestChoice::Weekly)
            .then(|| digest(DigestChoice::None))
            .flatten(),
        (Ask::Unsubscribe, Purpose::Daily) => (from == DigestChoice::Daily)
            .then(|| digest(DigestChoice::None))
            .flatten(),
        (Ask::Unsubscribe, Purpose::Notifications) => {
            (!member.mail_off_notifications).then_some(MailChange::NotificationsOff)
        }
        (Ask::Unsubscribe, Purpose::All) => (!member.mail_off_all).then_some(MailChange::AllOff),
    })
}

pub async fn apply(state: &State, ctx: &Ctx, _app: &AppUrl) -> Result<Reply, WebError> {
    let (token, mut member) = verified(state, ctx).await?;
    let ask = ask(ctx, &token)?;
    // The write re-checks what was read (epoch, digest); on a race, read again.
    for _ in 0..3 {
        let Some(c) = change(&ask, &token, &member)? else {
            break;
        };
        match state.store.digests().change_mail(&token.member, token.epoch, c).await {
            Ok(()) => {
                let (_, fresh) = verified(state, ctx).await?;
                member = fresh;
                break;
            }
            Err(StoreError::Conflict) => member = verified(state, ctx).await?.1,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::info!(purpose = token.purpose.as_str(), "unsubscribe link used");
    let done = match ask {
        Ask::Unsubscribe => format!("You will no longer get {}.", token.purpose.describe()),
        Ask::Switch(to) => format!("Your digest is now: {}.", to.as_str()),
    };
    reply(ctx, &token, &member, Some(done))
}
