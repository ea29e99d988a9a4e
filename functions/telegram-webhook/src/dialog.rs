//! The dialog tree in a private chat: enter at the root, move by buttons,
//! Back/Restart always; every interaction is logged pseudonymously.

use lodge::domain::Member;
use lodge::store::dialog::Interaction;
use lodge::telegram::dialog::{DialogMove, Node};
use lodge::telegram::keyboards;
use lodge::telegram::types::{Message, SendMessage};
use lodge::web::WebError;

use crate::{chat_of, notify_reply, reply, Turn};

const HINT: &str = "Please choose one of the buttons below.";
/// Inputs are logged, but not essays.
const MAX_LOGGED_INPUT: usize = 200;

/// `/start` (or a configured command): the root. False when there is no tree.
pub(crate) async fn enter(
    turn: &Turn<'_>,
    msg: &Message,
    member: Option<&Member>,
    input: &str,
) -> Result<bool, WebError> {
    let Some(stored) = turn.state.store.dialog().tree().await? else {
        return Ok(false);
    };
    let root = &stored.tree.root;
    show(turn, msg, member, root, input, "enter", None).await?;
    Ok(true)
}

/// Text that is not a command.
pub(crate) async fn free_text(
    turn: &Turn<'_>,
    msg: &Message,
    member: Option<&Member>,
    text: &str,
) -> Result<(), WebError> {
    let Some(stored) = turn.state.store.dialog().tree().await? else {
        let answer = if member.is_some() {
            format!("I answer commands only — /help lists them. {}", notify_reply::USE_REPLY)
        } else {
            "Hello! I am the Lodge bot. Lodge is a private, invite-only community; /help lists what I can do.".into()
        };
        return reply::send(turn, SendMessage::html(chat_of(msg), answer), member).await;
    };
    let Some(from) = &msg.from else { return Ok(()) };
    let at = turn.state.store.dialog().position(from.id).await?;
    let step = stored.tree.step(at.as_deref(), text);
    // Members may be trying to answer a notification without Telegram's Reply.
    let hint = matches!(step, DialogMove::Unknown(_)).then(|| match member {
        Some(_) => format!("{HINT}\n\n{}", notify_reply::USE_REPLY),
        None => HINT.to_string(),
    });
    show(turn, msg, member, step.node(), text, step.kind(), hint.as_deref()).await
}

async fn show(
    turn: &Turn<'_>,
    msg: &Message,
    member: Option<&Member>,
    node: &Node,
    input: &str,
    step: &str,
    hint: Option<&str>,
) -> Result<(), WebError> {
    let Some(from) = &msg.from else { return Ok(()) };
    let store = &turn.state.store;
    if hint.is_none() {
        store.dialog().set_position(from.id, node.id(), turn.now).await?;
    }
    let entry = Interaction {
        user: lodge::telegram::pseudonym(&turn.state.pseudonym_key, from.id),
        node: node.id().to_string(),
        input: input.chars().take(MAX_LOGGED_INPUT).collect(),
        step: step.to_string(),
        at: turn.now,
    };
    if let Err(e) = store.dialog().log_interaction(&entry).await {
        // The conversation matters more than its statistics.
        tracing::warn!(error = %e, "dialog interaction not logged");
    }
    // Node texts are the admin's plain text: escape, do not interpret.
    let text = match hint {
        Some(h) => h.to_string(),
        None => lodge::telegram::escape(&node.text),
    };
    let markup = keyboards::dialog(&node.labels());
    reply::send(turn, SendMessage::html(chat_of(msg), text).markup(markup), member).await
}
