//! Answering a notification DM (issue 13, docs/notifications.md, "Replies
//! and buttons"): a Telegram Reply to it becomes a comment under what it was
//! about, and its 👍 and 🔕 vote and unfollow.
//!
//! What a DM is about is never read from its text (vas3k.club #1351): the
//! notifier recorded (chat, message id) → (recipient, post, comment) when it
//! sent it, and both a reply and a press look that up. Only the recipient
//! acts on it: the chat is theirs, and the presser or writer must be the
//! linked, approved member the notice was for. A redelivered update is not
//! handled twice: the webhook takes each `update_id` once (`Store::once`),
//! and the comment's own transaction records the member's message
//! (`TGREPLY#<chat>#<message>`), so not even an attempt cut short after its
//! commit writes a second comment. That record is also how an edit of the
//! message (`edited_message`) finds the comment to edit.

use lodge::commenting;
use lodge::domain::{CommentBody, Member, MemberStatus, TelegramMessage};
use lodge::notify::render;
use lodge::store::comments::{CommentError, CommentRecord, TelegramSource};
use lodge::store::notifications::SentNote;
use lodge::store::posts::PostError;
use lodge::telegram::escape;
use lodge::telegram::types::{CallbackQuery, Message, SendMessage, User};
use lodge::web::WebError;
use lodge::writing::CommentRequest;

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
    let body = match CommentBody::parse(msg.text.as_deref().unwrap_or_default()) {
        Ok(body) => body,
        Err(e) => return Ok(Err(format!("Not posted: the {} {}.", e.field, escape(&e.problem)))),
    };
    let req = CommentRequest {
        post: note.post.clone(),
        parent: note.comment.clone(),
        body,
        source: Some(source_of(msg)),
    };
    let now_ms = turn.state.clock.now_ms();
    match lodge::writing::create_comment(store, &turn.state.content, member, &req, now_ms).await {
        Ok(record) => {
            tracing::info!(member = %member.id, comment = %record.id, post = %record.post_id, "telegram reply posted");
            Ok(Ok(format!("✅ Posted on Lodge: {}.", link(turn, &record))))
        }
        // This very message was posted before (a redelivery after a cut-short attempt).
        Err(CommentError::AlreadyPosted(record)) => {
            Ok(Ok(format!("✅ Already posted on Lodge: {}.", link(turn, &record))))
        }
        Err(e) => refused(e).map(Err),
    }
}

/// The member's message, as the comment's source.
fn source_of(msg: &Message) -> TelegramMessage {
    TelegramMessage {
        chat: chat_of(msg),
        message_id: msg.message_id,
    }
}

/// "your comment", linked to it on its post page.
fn link(turn: &Turn<'_>, record: &CommentRecord) -> String {
    let url = turn.app.join(&render::comment_path(&record.post_id, &record.id));
    format!("<a href=\"{}\">your comment</a>", escape(&url))
}

/// The member edited one of their private messages (`edited_message`: the
/// same `message_id`, the new text). If it was a Reply that became a
/// comment, the comment is edited through the web's edit path
/// (`writing::edit_comment`: author only, 48 hours, the body's bounds,
/// Markdown rendered and sanitised, marked edited), and the member is told
/// the outcome. An edit of a Reply that posted nothing is answered (they may
/// expect the edit to post it); an edit of any other message is ignored, as
/// the bot answered that message already and an answer to every typo fix
/// would be noise. True when it was answered.
pub(crate) async fn edited(turn: &Turn<'_>, msg: &Message, from: &User) -> Result<bool, WebError> {
    let store = &turn.state.store;
    let (comments, telegram) = (store.comments(), store.telegram());
    let (source, member) = tokio::try_join!(comments.telegram_source(source_of(msg)), telegram.member(from.id))?;
    let answer = match source {
        Some(source) => match edit(turn, msg, &source, member.as_ref()).await? {
            Ok(text) | Err(text) => text,
        },
        None if msg.reply_to_message.is_some() => {
            "That reply was not posted, so editing it changes nothing on Lodge: send it again as a new reply.".into()
        }
        None => {
            tracing::debug!("an edited message that is no comment");
            return Ok(false);
        }
    };
    let out = SendMessage::html(chat_of(msg), answer).reply_to(msg.message_id);
    reply::send(turn, out, member.as_ref()).await.map(|_| true)
}

async fn edit(
    turn: &Turn<'_>,
    msg: &Message,
    source: &TelegramSource,
    member: Option<&Member>,
) -> Result<Result<String, Told>, WebError> {
    let member = match recipient(turn, member) {
        Ok(m) => m,
        Err(told) => return Ok(Err(told)),
    };
    if source.author_id != member.id {
        tracing::warn!(member = %member.id, comment = %source.comment_id, "an edit of another member's comment");
        return Ok(Err(
            "That comment was written by another Lodge account, so nothing was changed.".into(),
        ));
    }
    let body = match CommentBody::parse(msg.text.as_deref().unwrap_or_default()) {
        Ok(body) => body,
        Err(e) => return Ok(Err(format!("Not updated: the {} {}.", e.field, escape(&e.problem)))),
    };
    let now_ms = turn.state.clock.now_ms();
    match lodge::writing::edit_comment(&turn.state.store, member, &source.comment_id, &body, now_ms).await {
        Ok(record) => {
            tracing::info!(member = %member.id, comment = %record.id, post = %record.post_id, "telegram reply edited");
            Ok(Ok(format!("✏️ Updated on Lodge: {}.", link(turn, &record))))
        }
        Err(e) => edit_refused(e).map(Err),
    }
}

/// Why an edit was refused, in the bot's words (the window's words are the
/// web's); contention and store failures are errors, so Telegram redelivers.
fn edit_refused(e: CommentError) -> Result<Told, WebError> {
    let why = match e {
        CommentError::Deleted | CommentError::NoComment => "that comment was deleted".to_string(),
        e @ (CommentError::EditWindowClosed { .. } | CommentError::NotYours) => in_sentence(commenting::refusal(e)),
        CommentError::Busy | CommentError::Store(_) => return Err(commenting::refusal(e)),
        other => {
            tracing::warn!(error = %other, "unexpected refusal of a telegram edit");
            other.to_string()
        }
    };
    Ok(format!(
        "Not updated: {}. The comment on Lodge is unchanged.",
        escape(&why)
    ))
}

/// Why the store refused a reply, in the bot's words; contention and store
/// failures are errors, so Telegram redelivers the update.
fn refused(e: CommentError) -> Result<Told, WebError> {
    let why = match e {
        CommentError::NoPost => "that post is no longer on Lodge (deleted or unpublished)".to_string(),
        CommentError::Closed => "comments on this post are closed".to_string(),
        CommentError::Deleted | CommentError::NoParent => "the comment you answered was deleted".to_string(),
        e @ CommentError::Limited { .. } => in_sentence(commenting::refusal(e)),
        CommentError::Busy | CommentError::Store(_) => return Err(commenting::refusal(e)),
        other => {
            tracing::warn!(error = %other, "unexpected refusal of a telegram reply");
            other.to_string()
        }
    };
    Ok(format!("Not posted: {}.", escape(&why)))
}

/// A refusal's web message as the rest of the bot's sentence ("Not posted: you have…").
fn in_sentence(e: WebError) -> String {
    let m = e.message.trim_end_matches('.');
    let mut chars = m.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
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

    #[test]
    fn edit_refusals_give_the_web_reason_and_retry_transient_failures() {
        let late = edit_refused(CommentError::EditWindowClosed {
            closed_at: 1_796_169_600_000,
        })
        .unwrap();
        assert_eq!(
            late,
            "Not updated: a comment can be edited for 48 hours after it is written; this one's window closed at 2026-12-02 00:00 UTC. The comment on Lodge is unchanged."
        );
        assert!(edit_refused(CommentError::Deleted)
            .unwrap()
            .contains("that comment was deleted"));
        assert!(edit_refused(CommentError::Busy).is_err());
    }
}
