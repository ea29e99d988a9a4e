//! `/start <token>`: link this Telegram account to the member who opened
//! the deep link from their settings page.

use lodge::store::telegram::{LinkError, LinkOutcome, LinkToken};
use lodge::telegram::keyboards;
use lodge::telegram::types::{Message, SendMessage};
use lodge::web::WebError;

use crate::{chat_of, name_of, reply, Turn};

pub(crate) async fn start_with_token(turn: &Turn<'_>, msg: &Message, payload: &str) -> Result<(), WebError> {
    let Some(from) = &msg.from else { return Ok(()) };
    let settings = turn.app.join("/settings");
    let again = format!("Open Settings in Lodge for a new link: {settings}");
    let text = match LinkToken::parse(payload) {
        None => format!("This link is not valid. {again}"),
        Some(token) => match turn.state.store.telegram().link(&token, from.id, from.username.as_deref(), turn.now).await {
            Ok((member, LinkOutcome::Linked)) => {
                tracing::info!(member = %member.id, "telegram linked");
                let text = format!(
                    "Done — this Telegram account is now linked to <b>{}</b>. Sign-in codes will come here too. /help lists what I can do.",
                    name_of(&member)
                );
                return reply::send(turn, SendMessage::html(chat_of(msg), text).markup(keyboards::remove()), Some(&member)).await;
            }
            Ok((member, LinkOutcome::AlreadyYours)) => {
                format!("This Telegram account is already linked to <b>{}</b>.", name_of(&member))
            }
            Err(LinkError::Expired) => format!("This link has expired (links work for 15 minutes). {again}"),
            Err(LinkError::Unknown) => format!("This link was already used or is not valid. {again}"),
            Err(LinkError::TakenElsewhere) => {
                "This Telegram account is already linked to another Lodge member. Unlink it in that member's settings first.".to_string()
            }
            Err(LinkError::NoMember) => format!("The account this link was made for no longer exists. {again}"),
            Err(LinkError::Store(e)) => return Err(e.into()),
        },
    };
    reply::send(turn, SendMessage::html(chat_of(msg), text), None).await
}
