//! Sending answers. Bot API failures after the update was taken are logged,
//! not retried: a redelivered update would repeat work already done (a
//! consumed link token, a moved dialog position). Work that must survive
//! Bot API hiccups goes through the Telegram queue instead.

use lodge::domain::Member;
use lodge::telegram::types::{
    AnswerCallbackQuery, CallbackQuery, EditMessageText, InlineKeyboardMarkup, Message, SendMessage,
};
use lodge::telegram::BotError;
use lodge::web::WebError;

use crate::Turn;

pub(crate) async fn send(turn: &Turn<'_>, msg: SendMessage, member: Option<&Member>) -> Result<(), WebError> {
    sent(turn, msg, member).await.map(|_| ())
}

/// `send`, returning the message when it was delivered.
pub(crate) async fn sent(
    turn: &Turn<'_>,
    msg: SendMessage,
    member: Option<&Member>,
) -> Result<Option<Message>, WebError> {
    match turn.state.bot.send_message(&msg).await {
        Ok(m) => Ok(Some(m)),
        Err(BotError::Forbidden { .. }) => {
            if let Some((m, link)) = member.and_then(|m| m.telegram.as_ref().map(|t| (m, t))) {
                turn.state
                    .store
                    .telegram()
                    .set_unreachable(&m.id, link.user_id, true)
                    .await?;
            }
            tracing::info!("the user blocked the bot");
            Ok(None)
        }
        Err(e) => {
            tracing::warn!(error = %e, "reply not delivered");
            Ok(None)
        }
    }
}

/// Replaces the text and buttons of a message the bot sent (HTML).
pub(crate) async fn edit(turn: &Turn<'_>, chat: i64, message_id: i64, text: String, keyboard: InlineKeyboardMarkup) {
    let edit = EditMessageText::html(chat, message_id, text).markup(keyboard);
    if let Err(e) = turn.state.bot.edit_message_text(&edit).await {
        tracing::warn!(error = %e, "edit not delivered");
    }
}

/// Every callback query gets an answer, or the button spins for a while.
pub(crate) async fn answer_callback(turn: &Turn<'_>, cb: &CallbackQuery, text: &str, alert: bool) {
    let text = (!text.is_empty()).then(|| text.to_string());
    let answer = AnswerCallbackQuery {
        callback_query_id: cb.id.clone(),
        text,
        show_alert: alert,
    };
    if let Err(e) = turn.state.bot.answer_callback_query(&answer).await {
        tracing::warn!(error = %e, "callback answer not delivered");
    }
}

pub(crate) async fn stale_button(turn: &Turn<'_>, cb: &CallbackQuery) -> Result<(), WebError> {
    answer_callback(turn, cb, "This button does nothing any more.", false).await;
    Ok(())
}
