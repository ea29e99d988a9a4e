//! One `Delivery` (issue 13): a notification to one member on one channel,
//! done once per (event, recipient, channel) by its `Store::once` marker.
//!
//! The content is re-read first: a notification queued for what was since
//! hidden, deleted or unpublished is dropped. Telegram: a 429 waits
//! `retry_after` through the queue (the message's visibility), a 403 marks
//! the member unreachable and falls back to email, a 400 drops the message
//! and logs it. Email is coalesced: the line waits in the member's mailbox
//! for `notify-mail`, which sends at most one email per 15 minutes.

use lodge::notify::render::{self, EmailLine};
use lodge::notify::{delivery_key, Channel, Delivery, EMAIL_WINDOW_SECS};
use lodge::queue::MessageError;
use lodge::store::notifications::{Recipient, SentNote};
use lodge::telegram::types::{ReplyMarkup, SendMessage};
use lodge::telegram::BotError;

use crate::{done, retry, take, State};

/// A sent notice is answerable (reply, buttons) this long.
const SENT_TTL_SECS: i64 = 90 * 86_400;

pub(crate) async fn run(state: &State, receipt: Option<&str>, d: Delivery) -> Result<(), MessageError> {
    let notes = state.store.notifications();
    if let Some(post) = d.post.as_ref().filter(|_| d.about.needs_visible_content()) {
        let path = d.comment.as_ref().map(|(_, path)| path.as_str());
        match notes.content(post, path).await.map_err(retry)? {
            Some(c) if c.visible() => {}
            _ => {
                return Err(MessageError::Drop(
                    "hidden, deleted or unpublished since it was queued".into(),
                ))
            }
        }
    }
    let Some(recipient) = notes
        .recipients(std::slice::from_ref(&d.recipient))
        .await
        .map_err(retry)?
        .pop()
    else {
        return Err(MessageError::Drop("the member is gone".into()));
    };
    match d.channel {
        Channel::Telegram => telegram(state, receipt, &d, &recipient).await,
        Channel::Email => email(state, &d).await,
        // The inbox entry is written by the fan-out itself.
        Channel::Web => Ok(()),
    }
}

async fn telegram(state: &State, receipt: Option<&str>, d: &Delivery, r: &Recipient) -> Result<(), MessageError> {
    let (Some(bot), Some(chat)) = (&state.bot, r.telegram_chat()) else {
        // No bot, or unlinked or blocked since the fan-out: email instead.
        return email(state, d).await;
    };
    let Some(lease) = take(state, &d.key()).await? else {
        return Ok(());
    };
    let url = state.app.join(&d.note.path);
    let mut msg = SendMessage::html(chat, render::telegram_text(d.about, &d.note, &url));
    // Only what can be answered has buttons and a recorded mapping.
    let answerable = d.post.as_ref().filter(|_| render::answerable(d.about));
    if answerable.is_some() {
        msg = msg.markup(ReplyMarkup::Inline(render::buttons()));
    }
    let now = state.clock.now();
    match bot.send_message(&msg).await {
        Ok(sent) => {
            if let Some(post) = answerable {
                let note = SentNote {
                    recipient: d.recipient.clone(),
                    post: post.clone(),
                    comment: d.comment.as_ref().map(|(id, _)| id.clone()),
                    path: d.comment.as_ref().map(|(_, path)| path.clone()),
                    at: now,
                    expires_at: now + SENT_TTL_SECS,
                };
                if let Err(e) = state
                    .store
                    .notifications()
                    .put_sent(sent.chat.id, sent.message_id, &note)
                    .await
                {
                    // Sent but not answerable: still done (a resend would duplicate it).
                    tracing::error!(delivery = %d.key(), error = %e, "sent notice not recorded");
                }
            }
            done(state, lease).await
        }
        Err(BotError::RetryAfter { seconds }) => {
            let _ = lease.release(&state.store).await;
            if let (Some(queue), Some(receipt)) = (&state.notify, receipt) {
                queue.wait(receipt, seconds as i64).await.map_err(MessageError::Retry)?;
            }
            Err(MessageError::Retry(format!(
                "{}: Telegram asks to wait {seconds} s",
                d.key()
            )))
        }
        Err(e) if e.is_transient() => {
            let _ = lease.release(&state.store).await;
            Err(MessageError::Retry(format!("{}: {e}", d.key())))
        }
        Err(e @ BotError::Forbidden { .. }) => {
            tracing::warn!(delivery = %d.key(), error = %e, "member blocked the bot: marked unreachable, email instead");
            state
                .store
                .telegram()
                .set_unreachable(&d.recipient, chat, true)
                .await
                .map_err(retry)?;
            done(state, lease).await?;
            email(state, d).await
        }
        Err(e) => {
            // A 400 about this one message: sending it again fails the same way.
            tracing::error!(delivery = %d.key(), error = %e, "telegram notice refused; dropped");
            done(state, lease).await
        }
    }
}

/// Puts the line in the member's mailbox, once per (event, recipient).
async fn email(state: &State, d: &Delivery) -> Result<(), MessageError> {
    let key = delivery_key(&d.event, &d.recipient, Channel::Email);
    let Some(lease) = take(state, &key).await? else {
        return Ok(());
    };
    let line = EmailLine {
        id: key,
        line: render::headline(d.about, &d.note),
        excerpt: d.note.excerpt.clone(),
        url: state.app.join(&d.note.path),
        at: state.clock.now(),
    };
    match state
        .store
        .notifications()
        .queue_email(&d.recipient, &line, EMAIL_WINDOW_SECS)
        .await
    {
        Ok(()) => done(state, lease).await,
        Err(e) => {
            let _ = lease.release(&state.store).await;
            Err(retry(e))
        }
    }
}
