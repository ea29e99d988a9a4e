//! Answering a notification DM (issue 13, docs/notifications.md, "Replies
//! and buttons"): a Telegram Reply to it becomes a comment under what it was
//! about, and its 👍 and 🔕 vote and unfollow.
//!
//! What a DM is about is never read from its text (vas3k.club #1351): the
//! notifier recorded (chat, message id) → (recipient, post, comment) when it
//! sent it, and both a reply and a press look that up. Only the recipient
//! acts on it: the chat is theirs, and the presser or writer must be the
//! linked, approved member the notice was for. A redelivered update is not
//! handled twice: the webhook takes each `update_id` once (`Store::once`).

use lodge::commenting;
use lodge::domain::{Member, MemberStatus};
use lodge::notify::render;
use lodge::store::comments::CommentError;
use lodge::store::notifications::SentNote;
use lodge::store::posts::PostError;
use lodge::telegram::escape;
use lodge::telegram::types::{CallbackQuery, Message, SendMessage};
use lodge::web::WebError;

use crate::{chat_of, reply, Turn};

/// A press of one of the notification buttons (`notify::render`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Press {
    Upvote,
    Unfollow,
}

impl Press {
    pub fn parse(data: &str) -> Option<Press> {
        match data {
            render::UPVOTE => Some(Press::Upvote),
            render::UNFOLLOW => Some(Press::Unfollow),
            _ => None,
        }
    }
}

/// What the member is told when nothing was done; the update is still handled.
type Told = String;

/// A private message that answers (Telegram's Reply) `replied`, a message of the bot's.
pub(crate) async fn reply(
    turn: &Turn<'_>,
    msg: &Message,
    replied: &Message,
    member: Option<&Member>,
) -> Result<(), WebError> {
    let answer = match comment(turn, msg, replied, member).await? {
        Ok(text) | Err(text) => text,
    };
    let out = SendMessage::html(chat_of(msg), answer).reply_to(msg.message_id);
    reply::send(turn, out, member).await
}

/// The hint for text that replies to nothing, from a linked member.
pub(crate) const USE_REPLY: &str =
    "To answer a notification, reply to it: swipe left on it (or long-press it and choose Reply), then send your text.";

async fn comment(
    turn: &Turn<'_>,
    msg: &Message,
    replied: &Message,
    member: Option<&Member>,
) -> Result<Result<String, Told>, WebError> {
    let member = match recipient(turn, member) {
        Ok(m) => m,
        Err(told) => return Ok(Err(told)),
    };
    let store = &turn.state.store;
    let Some(note) = store
        .notifications()
        .sent(chat_of(msg), replied.message_id, turn.now)
        .await?
    else {
        return Ok(Err(
            "I can only post replies to notifications, for 90 days after I sent them, and this message is not one (or is older). Nothing was posted.".into(),
        ));
    };
    if let Err(told) = for_member(&note, member) {
        return Ok(Err(told));
    }
    let text = msg.text.as_deref().unwrap_or_default();
    let body = match lodge::domain::CommentBody::parse(text) {
        Ok(body) => body,
        Err(e) => return Ok(Err(format!("Not posted: the {} {}.", e.field, escape(&e.problem)))),
    };
    let now_ms = turn.state.clock.now_ms();
    let (post, parent) = (note.post.clone(), note.comment.clone());
    match lodge::writing::create_comment(store, &turn.state.content, member, &post, parent, &body, now_ms).await {
        Ok(record) => {
            tracing::info!(member = %member.id, comment = %record.id, post = %record.post_id, "telegram reply posted");
            let url = turn.app.join(&render::comment_path(&record.post_id, &record.id));
            Ok(Ok(format!(
                "✅ Posted on Lodge: <a href=\"{}\">your comment</a>.",
                escape(&url)
            )))
        }
        Err(e) => refused(e).map(Err),
    }
}

/// Why the store refused a reply, in the bot's words; contention and store
/// failures are errors, so Telegram redelivers the update.
fn refused(e: CommentError) -> Result<Told, WebError> {
    let why = match e {
        CommentError::NoPost => "that post is no longer on Lodge (deleted or unpublished)".to_string(),
        CommentError::Closed => "comments on this post are closed".to_string(),
        CommentError::Deleted | CommentError::NoParent => "the comment you answered was deleted".to_string(),
        e @ CommentError::Limited { .. } => {
            let m = commenting::refusal(e).message;
            m.trim_end_matches('.').to_string()
        }
        CommentError::Busy | CommentError::Store(_) => return Err(commenting::refusal(e)),
        other => {
            tracing::warn!(error = %other, "unexpected refusal of a telegram reply");
            other.to_string()
        }
    };
    Ok(format!("Not posted: {}.", escape(&why)))
}

/// The member behind the update, if they may act: linked and approved.
fn recipient<'m>(turn: &Turn<'_>, member: Option<&'m Member>) -> Result<&'m Member, Told> {
    match member {
        None => Err(format!(
            "This Telegram account is not linked to a Lodge member, so nothing was done. Members link it in Settings: {}",
            turn.app.join("/settings")
        )),
        Some(m) if m.status != MemberStatus::Approved => {
            Err("Only approved Lodge members can do this, and your account is not approved.".into())
        }
        Some(m) => Ok(m),
    }
}

/// The notice was sent to this member (an account linked to someone else
/// since then sees the old chat, not the old member's rights).
fn for_member(note: &SentNote, member: &Member) -> Result<(), Told> {
    if note.recipient == member.id {
        Ok(())
    } else {
        tracing::warn!(member = %member.id, "a notice for another member");
        Err("This notification was for another Lodge account, so nothing was done.".into())
    }
}

/// 👍 or 🔕 under a notification DM. Every press is answered
/// (`answerCallbackQuery`), also when it does nothing.
pub(crate) async fn button(turn: &Turn<'_>, cb: &CallbackQuery, press: Press) -> Result<(), WebError> {
    let answer = match pressed(turn, cb, press).await? {
        Ok(text) | Err(text) => text,
    };
    reply::answer_callback(turn, cb, &answer, false).await;
    Ok(())
}

async fn pressed(turn: &Turn<'_>, cb: &CallbackQuery, press: Press) -> Result<Result<String, Told>, WebError> {
    let Some(message) = &cb.message else {
        return Ok(Err("This message is too old to act on.".into()));
    };
    if message.chat.id != cb.from.id {
        return Ok(Err("These buttons work only in your own chat with the bot.".into()));
    }
    let store = &turn.state.store;
    let member = store.telegram().member(cb.from.id).await?;
    let member = match recipient(turn, member.as_ref()) {
        Ok(m) => m,
        Err(told) => return Ok(Err(told)),
    };
    let Some(note) = store
        .notifications()
        .sent(message.chat.id, message.message_id, turn.now)
        .await?
    else {
        return Ok(Err(
            "This notification is older than 90 days: open it on Lodge instead.".into(),
        ));
    };
    if let Err(told) = for_member(&note, member) {
        return Ok(Err(told));
    }
    match press {
        Press::Upvote => upvote(turn, &note, member, turn.state.clock.now_ms()).await,
        Press::Unfollow => {
            store.notifications().unfollow(&note.post, &member.id).await?;
            tracing::info!(member = %member.id, post = %note.post, "unfollowed from telegram");
            Ok(Ok(
                "🔕 Unfollowed: no more notifications of new comments in this post. Replies to you and mentions still come."
                    .into(),
            ))
        }
    }
}

/// The comment the DM was about, or its post: once per member (the vote
/// stores' keys), so pressing again counts nothing.
async fn upvote(
    turn: &Turn<'_>,
    note: &SentNote,
    member: &Member,
    now_ms: i64,
) -> Result<Result<String, Told>, WebError> {
    let store = &turn.state.store;
    let changed = match &note.comment {
        Some(comment) => match store.comments().vote(&member.id, comment, now_ms).await {
            Ok(v) => v.changed,
            Err(CommentError::OwnComment) => return Ok(Err("You cannot upvote your own comment.".into())),
            Err(CommentError::Deleted | CommentError::NoComment) => return Ok(Err("That comment was deleted.".into())),
            Err(e) => return Err(commenting::refusal(e)),
        },
        None => match store.posts().vote(&note.post, &member.id, now_ms).await {
            Ok(v) => v.changed,
            Err(PostError::OwnPost) => return Ok(Err("You cannot upvote your own post.".into())),
            Err(PostError::NotFound) => return Ok(Err("That post is no longer on Lodge.".into())),
            Err(PostError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(WebError::unavailable("the post vote", e)),
        },
    };
    tracing::info!(member = %member.id, post = %note.post, changed, "upvote from telegram");
    Ok(if changed {
        Ok("👍 Upvoted.".into())
    } else {
        Err("You already upvoted this.".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_notification_buttons_parse() {
        assert_eq!(Press::parse("n:up"), Some(Press::Upvote));
        assert_eq!(Press::parse("n:unfollow"), Some(Press::Unfollow));
        assert_eq!(Press::parse("n:down"), None);
        assert_eq!(Press::parse("mod:x:approve"), None);
    }

    #[test]
    fn refusals_are_told_and_transient_failures_retried() {
        assert_eq!(
            refused(CommentError::Closed).unwrap(),
            "Not posted: comments on this post are closed."
        );
        let limited = refused(CommentError::Limited { retry_after_secs: 120 }).unwrap();
        assert!(
            limited.contains("100 comments") && limited.contains("2 minutes"),
            "{limited}"
        );
        assert!(refused(CommentError::Busy).is_err());
    }
}
