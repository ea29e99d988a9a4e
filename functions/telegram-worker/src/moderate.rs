//! A moderation button press (already checked by the webhook): decide with
//! the same code as the web page, answer the press, edit the intro message
//! to show the decision, and have the applicant told (notify queue).

use lodge::domain::{Member, ReviewResult};
use lodge::moderation::{self, ModerationError, Outcome};
use lodge::queue::TelegramJob;
use lodge::queue::{MessageError, Notification};
use lodge::telegram::intro;
use lodge::telegram::types::{AnswerCallbackQuery, EditMessageText};

use crate::{bot_failure, store_failure, State};

pub(crate) async fn run(state: &State, job: TelegramJob) -> Result<(), MessageError> {
    let TelegramJob::Moderate {
        callback_query_id,
        chat_id,
        message_id,
        moderator,
        member,
        action,
    } = job;
    let answer = |text: String, alert: bool| AnswerCallbackQuery {
        callback_query_id: callback_query_id.clone(),
        text: Some(text),
        show_alert: alert,
    };
    let Some(moderator) = state.store.members().get(&moderator).await.map_err(store_failure)? else {
        return reply(state, answer("Only moderators can decide.".into(), true)).await;
    };
    let now = state.clock.now();
    let at = match moderation::decide(&state.store, &moderator, &member, action, now).await {
        Ok(Outcome::Applied { member: decided }) => {
            let verdict = match decided.last_decision.as_ref().map(|d| d.decision) {
                Some(ReviewResult::Approved) => "Approved.".to_string(),
                _ => "Rejected.".to_string(),
            };
            tracing::info!(moderator = %moderator.id, member = %decided.id, "decided in telegram");
            reply(state, answer(verdict, false)).await?;
            now
        }
        Ok(Outcome::AlreadyDecided {
            decided_by_name,
            decision,
            at,
        }) => {
            let text = format!(
                "Already {decision} by {decided_by_name} at {}.",
                lodge::clock::format_utc(at)
            );
            reply(state, answer(text, true)).await?;
            at
        }
        Err(ModerationError::NotAllowed) => {
            return reply(state, answer("Only moderators can decide.".into(), true)).await
        }
        Err(ModerationError::NotFound) => {
            return reply(state, answer("This member no longer exists.".into(), true)).await
        }
        Err(ModerationError::NotOnReview) => {
            return reply(state, answer("This member is not waiting for review.".into(), true)).await;
        }
        Err(ModerationError::Store(e)) => return Err(store_failure(e)),
    };
    // Idempotent: the notifier sends each (member, decision time) once, so a
    // redelivered job, or a decision made on the web, is not told twice.
    if let Some(notify) = &state.notify {
        notify
            .send(&Notification::Decided {
                member_id: member.clone(),
                at,
            })
            .await
            .map_err(MessageError::Retry)?;
    }
    let Some(current) = state.store.members().get(&member).await.map_err(store_failure)? else {
        return Ok(());
    };
    edit(state, chat_id, message_id, &current).await
}

async fn reply(state: &State, answer: AnswerCallbackQuery) -> Result<(), MessageError> {
    match state.bot.answer_callback_query(&answer).await {
        Ok(()) => Ok(()),
        Err(e) => bot_failure("answerCallbackQuery", e),
    }
}

/// Shows the decision in the intro message and removes its buttons.
async fn edit(state: &State, chat_id: i64, message_id: i64, member: &Member) -> Result<(), MessageError> {
    let Some(d) = &member.last_decision else { return Ok(()) };
    let text = intro::decided_text(member, &state.app, d.decision, &d.by_name, d.at, d.reason.as_deref());
    let edit = EditMessageText::html(chat_id, message_id, text);
    match state.bot.edit_message_text(&edit).await {
        Ok(()) => Ok(()),
        Err(e) => bot_failure("editMessageText", e),
    }
}
