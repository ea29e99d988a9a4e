//! Replies to a question's copy in the discussion group become comments on
//! the question's post, through the comments' create path (the web's
//! validation, closed and deleted posts, the ring, the `ContentEvent` that
//! tells the asker). Only linked, approved members' replies count; anyone
//! else's are ignored without a write.

use lodge::domain::{CommentBody, Member, TelegramMessage};
use lodge::store::comments::CommentError;
use lodge::store::once::Attempt;
use lodge::telegram::types::{Message, SendMessage, User};
use lodge::web::WebError;

use super::approved;
use crate::{reply, Turn};

/// One comment per discussion message, whatever Telegram redelivers.
const ANSWERED: &str = "helpdesk-answer";
const ANSWERED_MEMORY_SECS: i64 = 30 * 86_400;

pub(crate) async fn reply(
    turn: &Turn<'_>,
    msg: &Message,
    from: &User,
    text: &str,
    root: &Message,
) -> Result<bool, WebError> {
    let store = &turn.state.store;
    let (threads, telegram) = (store.helpdesk_threads(), store.telegram());
    let (post, member) = tokio::try_join!(threads.thread(msg.chat.id, root.message_id), telegram.member(from.id),)?;
    let Some(post) = post else {
        tracing::info!(
            chat = msg.chat.id,
            root = root.message_id,
            "reply to a helpdesk copy with no question"
        );
        return Ok(false);
    };
    let Some(member) = approved(member.as_ref()) else {
        tracing::info!(post = %post, "helpdesk reply by someone who is not a linked member: ignored");
        return Ok(false);
    };
    let body = match CommentBody::parse(text) {
        Ok(b) => b,
        Err(e) => {
            tell(
                turn,
                member,
                &format!("Your reply was not added as an answer: its {e}."),
            )
            .await;
            return Ok(true);
        }
    };
    let key = format!("{}#{}", msg.chat.id, msg.message_id);
    let lease = match store
        .once(ANSWERED, &key, turn.now, turn.state.lease_secs, ANSWERED_MEMORY_SECS)
        .await?
    {
        Attempt::Go(lease) => lease,
        Attempt::Done => return Ok(true),
        Attempt::Busy { .. } => return Err(WebError::unavailable("the answer", "another attempt is adding it")),
    };
    let content = &turn.state.content;
    let now_ms = turn.state.clock.now_ms();
    // The message is the comment's source too: an attempt killed after the
    // comment committed but before the lease was marked done writes no
    // second one when its lease runs out.
    let req = lodge::writing::CommentRequest {
        post: post.clone(),
        parent: None,
        body,
        source: Some(TelegramMessage {
            chat: msg.chat.id,
            message_id: msg.message_id,
        }),
    };
    let created = lodge::writing::create_comment(store, content, member, &req, now_ms).await;
    let refused = match created {
        Ok(record) => {
            tracing::info!(post = %post, comment = %record.id, member = %member.id, "helpdesk answer from the discussion");
            None
        }
        Err(CommentError::AlreadyPosted(record)) => {
            tracing::info!(post = %post, comment = %record.id, "helpdesk answer posted already");
            None
        }
        Err(CommentError::Store(e)) => {
            let _ = lease.release(store).await;
            return Err(e.into());
        }
        Err(CommentError::Busy) => {
            let _ = lease.release(store).await;
            return Err(WebError::unavailable("the answer", "too many writers at once"));
        }
        Err(e) => Some(refusal(&e)),
    };
    lease.done(store, turn.now).await?;
    if let Some(why) = refused {
        tell(
            turn,
            member,
            &format!("Your reply in the helpdesk discussion was not added as an answer: {why}"),
        )
        .await;
    }
    Ok(true)
}

fn refusal(e: &CommentError) -> String {
    match e {
        CommentError::NoPost => "the question is no longer on Lodge.".into(),
        CommentError::Closed => "comments on the question are closed.".into(),
        CommentError::Limited { retry_after_secs } => format!(
            "you have written 100 comments in the last 24 hours; the next is possible in {} minutes.",
            (retry_after_secs + 59) / 60
        ),
        other => format!("{other}."),
    }
}

/// A private word to the member: the group is not the place for it.
async fn tell(turn: &Turn<'_>, member: &Member, text: &str) {
    let Some(link) = &member.telegram else { return };
    let msg = SendMessage::html(link.user_id, lodge::telegram::escape(text));
    if let Err(e) = reply::send(turn, msg, Some(member)).await {
        tracing::warn!(error = %e.message, "helpdesk refusal not sent");
    }
}
