//! Moderation buttons: checked here (right chat, linked moderator), decided
//! by `telegram-worker` through the queue (decision, answer, edit, telling
//! the applicant: more than a webhook should wait for, and retried on 429).

use lodge::domain::MemberStatus;
use lodge::queue::TelegramJob;
use lodge::telegram::keyboards::ModerationCallback;
use lodge::telegram::types::CallbackQuery;
use lodge::web::WebError;

use crate::{reply, Turn};

pub(crate) async fn button(turn: &Turn<'_>, cb: &CallbackQuery) -> Result<(), WebError> {
    let Some(data) = cb.data.as_deref().and_then(ModerationCallback::parse) else {
        return reply::stale_button(turn, cb).await;
    };
    let Some(message) = &cb.message else {
        reply::answer_callback(turn, cb, "This message is too old to act on.", true).await;
        return Ok(());
    };
    if Some(message.chat.id) != turn.state.settings.admin_chat_id {
        tracing::warn!(chat = message.chat.id, "moderation button outside the admin chat");
        reply::answer_callback(turn, cb, "Moderation buttons work only in the moderators' chat.", true).await;
        return Ok(());
    }
    let presser = turn.state.store.telegram().member(cb.from.id).await?;
    let Some(moderator) = presser.filter(|m| m.role.can_moderate() && m.status == MemberStatus::Approved) else {
        tracing::info!("moderation button pressed by a non-moderator");
        let text = "Only moderators can decide. If you are one, link your Telegram account in Lodge's Settings first.";
        reply::answer_callback(turn, cb, text, true).await;
        return Ok(());
    };
    let Some(jobs) = &turn.state.jobs else {
        return Err(WebError::internal("LODGE_TELEGRAM_QUEUE_URL is not configured"));
    };
    let job = TelegramJob::Moderate {
        callback_query_id: cb.id.clone(),
        chat_id: message.chat.id,
        message_id: message.message_id,
        moderator: moderator.id.clone(),
        member: data.member_id.clone(),
        action: data.decision.clone(),
    };
    jobs.send(&job)
        .await
        .map_err(|e| WebError::unavailable("the queue", e))?;
    tracing::info!(moderator = %moderator.id, member = %data.member_id, action = %data.decision.action(), "moderation queued");
    Ok(())
}
