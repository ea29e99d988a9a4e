//! The helpdesk channel: each question is posted there once, and Telegram's
//! automatic copy of that post in the discussion group is recorded, so that
//! replies to the copy can be told apart by post (`store::helpdesk`).

use lodge::store::once::Attempt;
use lodge::store::posts::Card;
use lodge::telegram::types::{Message, SendMessage};
use lodge::web::WebError;

use super::views;
use crate::Turn;

/// One channel post per question (`Store::once`): remembered long after
/// any redelivery or repeated tap could come.
const ANNOUNCED: &str = "helpdesk-channel";
const ANNOUNCED_MEMORY_SECS: i64 = 30 * 86_400;

/// Posts the question to the channel, if one is configured. A transient
/// Bot API failure is an error (the update goes back to Telegram and comes
/// again); a permanent one (the bot is no admin of the channel) is logged
/// and the question stays on the site only.
pub(crate) async fn announce(turn: &Turn<'_>, card: &Card) -> Result<(), WebError> {
    let Some(channel) = turn.state.helpdesk.channel else {
        return Ok(());
    };
    let store = &turn.state.store;
    let lease = match store
        .once(
            ANNOUNCED,
            card.id.as_str(),
            turn.now,
            turn.state.lease_secs,
            ANNOUNCED_MEMORY_SECS,
        )
        .await?
    {
        Attempt::Go(lease) => lease,
        Attempt::Done => return Ok(()),
        Attempt::Busy { .. } => {
            return Err(WebError::unavailable(
                "the helpdesk channel",
                "another attempt is posting the question",
            ))
        }
    };
    let url = turn.app.join(&format!("/posts/{}", card.id));
    let text = views::channel_post(&card.title, &card.excerpt, &card.author_name, &url);
    let sent = match turn.state.bot.send_message(&SendMessage::html(channel, text)).await {
        Ok(sent) => sent,
        Err(e) if e.is_transient() => {
            let _ = lease.release(store).await;
            return Err(WebError::unavailable("the helpdesk channel", e));
        }
        Err(e) => {
            tracing::error!(channel, post = %card.id, error = %e, "question not posted to the helpdesk channel");
            lease.done(store, turn.now).await?;
            return Ok(());
        }
    };
    let recorded = store
        .helpdesk_threads()
        .channel_posted(channel, sent.message_id, &card.id)
        .await;
    if let Err(e) = recorded {
        // Posted but not recorded: replies to it would map to nothing. The
        // lease runs out and a redelivery posts (and records) it again.
        tracing::error!(channel, message = sent.message_id, post = %card.id, error = %e, "helpdesk post not recorded");
        return Err(e.into());
    }
    lease.done(store, turn.now).await?;
    tracing::info!(channel, message = sent.message_id, post = %card.id, "question posted to the helpdesk channel");
    Ok(())
}

/// Telegram copied channel message `channel_message` into the discussion
/// group as `msg`. True when it is a question's.
pub(crate) async fn forwarded(turn: &Turn<'_>, msg: &Message, channel_message: i64) -> Result<bool, WebError> {
    let Some(channel) = turn.state.helpdesk.channel else {
        return Ok(false);
    };
    let post = turn
        .state
        .store
        .helpdesk_threads()
        .forwarded(channel, channel_message, msg.chat.id, msg.message_id)
        .await?;
    tracing::info!(
        channel,
        channel_message,
        chat = msg.chat.id,
        message = msg.message_id,
        question = post.is_some(),
        "helpdesk post copied to its discussion"
    );
    Ok(post.is_some())
}
