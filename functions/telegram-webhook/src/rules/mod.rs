//! `/rules`: admins manage forwarding rules in a private chat with the bot —
//! a paginated list, one rule with enable/disable/delete, and a new rule
//! built step by step (`wizard`). The same store calls as the admin API, so
//! both always show the same rules.

mod buttons;
mod views;
mod wizard;

use lodge::domain::Member;
use lodge::domain::{MemberStatus, Role};
use lodge::forwarding::ForwardRule;
use lodge::store::StoreError;
use lodge::telegram::types::{CallbackQuery, Message, ReplyMarkup, SendMessage};
use lodge::web::WebError;

use buttons::rule_tag;
pub use buttons::Button;
use views::{Chats, Screen};
pub(crate) use wizard::{cancel, input};

use crate::{chat_of, reply, Turn};

const ONLY_ADMINS: &str =
    "Only Lodge admins manage forwarding rules (and only once they linked this Telegram account in Settings).";

/// Approved admins: the same people as `/api/admin/forward-rules`.
pub(crate) fn is_admin(member: Option<&Member>) -> bool {
    member.is_some_and(|m| m.role == Role::Admin && m.status == MemberStatus::Approved)
}

/// The message a button press came from.
#[derive(Clone, Copy)]
pub(crate) struct Place {
    pub chat: i64,
    pub message_id: i64,
}

impl Place {
    pub(crate) async fn show(self, turn: &Turn<'_>, screen: Screen) {
        reply::edit(turn, self.chat, self.message_id, screen.text, screen.keyboard).await;
    }
}

/// Sends `screen` as a new message.
pub(crate) async fn send(
    turn: &Turn<'_>,
    chat: i64,
    screen: Screen,
    member: Option<&Member>,
) -> Result<Option<Message>, WebError> {
    let mut msg = SendMessage::html(chat, screen.text);
    if !screen.keyboard.inline_keyboard.is_empty() {
        msg = msg.markup(ReplyMarkup::Inline(screen.keyboard));
    }
    reply::sent(turn, msg, member).await
}

/// `/rules` in a private chat.
pub(crate) async fn command(turn: &Turn<'_>, msg: &Message, member: Option<&Member>) -> Result<(), WebError> {
    if !is_admin(member) {
        return reply::send(turn, SendMessage::html(chat_of(msg), ONLY_ADMINS), member).await;
    }
    let (rules, chats) = load(turn).await?;
    send(turn, chat_of(msg), views::list(&rules, &chats, 0), member)
        .await
        .map(|_| ())
}

async fn load(turn: &Turn<'_>) -> Result<(Vec<ForwardRule>, Chats), WebError> {
    let store = &turn.state.store;
    let (forwarding, chats) = (store.forwarding(), store.telegram_chats());
    let (rules, chats) = tokio::try_join!(forwarding.rules(), chats.all())?;
    Ok((rules, Chats::new(chats)))
}

/// A press of a `/rules` button. Every press is answered, or the button spins.
pub(crate) async fn button(turn: &Turn<'_>, cb: &CallbackQuery, pressed: Button) -> Result<(), WebError> {
    let Some(message) = cb.message.as_ref().filter(|m| m.chat.is_private()) else {
        return reply::stale_button(turn, cb).await;
    };
    let member = turn.state.store.telegram().member(cb.from.id).await?;
    if !is_admin(member.as_ref()) {
        tracing::info!("rules button pressed by a non-admin");
        reply::answer_callback(turn, cb, ONLY_ADMINS, true).await;
        return Ok(());
    }
    let at = Place {
        chat: message.chat.id,
        message_id: message.message_id,
    };
    let by = member.map(|m| m.id.to_string()).unwrap_or_default();
    let (toast, screen) = match pressed {
        Button::List(page) => {
            let (rules, chats) = load(turn).await?;
            ("", views::list(&rules, &chats, page))
        }
        Button::Show(h) => on_rule(turn, &h, RuleAction::Show, &by).await?,
        Button::Delete(h) => on_rule(turn, &h, RuleAction::AskDelete, &by).await?,
        Button::ConfirmDelete(h) => on_rule(turn, &h, RuleAction::Delete, &by).await?,
        Button::Enable(h, on) => on_rule(turn, &h, RuleAction::Enable(on), &by).await?,
        other => return wizard::press(turn, cb, at, other).await,
    };
    at.show(turn, screen).await;
    reply::answer_callback(turn, cb, toast, false).await;
    Ok(())
}

enum RuleAction {
    Show,
    AskDelete,
    Delete,
    Enable(bool),
}

/// Acts on the rule a button names; a rule deleted meanwhile shows the list.
/// Returns the toast and the screen to show.
async fn on_rule(turn: &Turn<'_>, h: &str, action: RuleAction, by: &str) -> Result<(&'static str, Screen), WebError> {
    let (mut rules, chats) = load(turn).await?;
    let Some(rule) = rules.iter().find(|r| rule_tag(&r.id) == h).cloned() else {
        return Ok(("That rule no longer exists.", views::list(&rules, &chats, 0)));
    };
    Ok(match action {
        RuleAction::Show => ("", views::rule(&rule, &chats, None)),
        RuleAction::AskDelete => ("", views::confirm_delete(&rule, &chats)),
        RuleAction::Delete => {
            if turn.state.store.forwarding().delete_rule(&rule.id).await? {
                tracing::info!(rule = %rule.id, by, "forward rule deleted in telegram");
            }
            rules.retain(|r| r.id != rule.id);
            ("Deleted.", views::list(&rules, &chats, 0))
        }
        RuleAction::Enable(on) => match enable(turn, rule.clone(), on).await? {
            Some(rule) => {
                tracing::info!(rule = %rule.id, by, enabled = on, "forward rule switched in telegram");
                let note = if on {
                    "Enabled: its posts are forwarded again."
                } else {
                    "Disabled: its posts are not forwarded."
                };
                ("", views::rule(&rule, &chats, Some(note)))
            }
            None => match turn.state.store.forwarding().rule(&rule.id).await? {
                Some(now) => (
                    "The rule changed meanwhile; here it is now.",
                    views::rule(&now, &chats, None),
                ),
                None => (
                    "That rule no longer exists.",
                    views::list(&turn.state.store.forwarding().rules().await?, &chats, 0),
                ),
            },
        },
    })
}

/// Switches a rule on or off; enabling also clears `broken` (the admin says
/// the chat is fixed). `None` when the rule changed or vanished meanwhile.
async fn enable(turn: &Turn<'_>, mut rule: ForwardRule, on: bool) -> Result<Option<ForwardRule>, WebError> {
    rule.enabled = on;
    if on {
        rule.broken = None;
    }
    match turn.state.store.forwarding().replace_rule(&rule).await {
        Ok(true) => Ok(Some(rule)),
        Ok(false) | Err(StoreError::Cancelled { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
