//! A moderation button press: decide, answer, edit the intro message.

use lodge::queue::MessageError;
use lodge::telegram::jobs::TelegramJob;
use lodge::telegram::types::AnswerCallbackQuery;

use crate::{bot_failure, State};

pub(crate) async fn run(state: &State, job: TelegramJob) -> Result<(), MessageError> {
    let TelegramJob::Moderate { callback_query_id, .. } = job;
    let answer = AnswerCallbackQuery { callback_query_id, text: Some("Moderation is not available yet.".into()), show_alert: false };
    match state.bot.answer_callback_query(&answer).await {
        Ok(()) => Ok(()),
        Err(e) => bot_failure("answerCallbackQuery", e),
    }
}
