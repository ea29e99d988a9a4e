//! Writing a comment: the one path from a member's text to a stored comment
//! and its `ContentEvent`, taken by the web form (`comments`) and by a reply
//! to a notification in Telegram (`telegram-webhook`), and the words of every
//! refusal, which both show (as an HTTP error, or as the bot's answer).

use http::StatusCode;

use crate::domain::{CommentBody, CommentId, FieldError, Member, PostId};
use crate::markdown::{self, NoMentions};
use crate::queue::QueueSender;
use crate::store::comments::{Actor, CommentError, CommentRecord, NewComment};
use crate::store::Store;
use crate::web::WebError;

/// Who writes, as the comment rules see them.
pub fn actor(member: &Member) -> Actor {
    Actor {
        id: member.id.clone(),
        name: member.name().to_string(),
        moderator: member.role.can_moderate(),
    }
}

/// A new comment from its raw Markdown: the body is checked (1–20,000
/// characters) and rendered here, so no caller stores unrendered text.
pub fn draft(post: PostId, parent: Option<CommentId>, raw: &str) -> Result<NewComment, FieldError> {
    let body = CommentBody::parse(raw)?;
    let rendered = markdown::render(body.as_str(), &NoMentions);
    Ok(NewComment {
        post,
        parent,
        body: body.as_str().to_string(),
        html: rendered.html,
        mentions: rendered.mentions.into_iter().map(|m| m.member).collect(),
    })
}

/// Stores the comment (the rules, the rate limit and the closed or deleted
/// post are the store's transaction), then tells the notifications' fan-out
/// through `content` (the `ContentQueue`).
pub async fn write(
    store: &Store,
    content: &QueueSender,
    actor: &Actor,
    new: &NewComment,
    now_ms: i64,
) -> Result<CommentRecord, CommentError> {
    let record = store.comments().create(actor, new, now_ms).await?;
    tracing::info!(comment = %record.id, post = %record.post_id, depth = record.depth, "comment created");
    content.send_after_commit(&record.created_event()).await;
    Ok(record)
}

/// Each refusal of the comment rules as a precise status and message.
pub fn refusal(e: CommentError) -> WebError {
    let conflict = |code, msg: &str| WebError::new(StatusCode::CONFLICT, code, msg);
    match e {
        CommentError::NoPost => WebError::new(StatusCode::NOT_FOUND, "not_found", "There is no such post."),
        CommentError::NoComment => WebError::new(StatusCode::NOT_FOUND, "not_found", "There is no such comment."),
        CommentError::NoParent => WebError::invalid("parent_id: there is no such comment on this post."),
        CommentError::Deleted => conflict("deleted", "That comment was deleted."),
        CommentError::Closed => conflict("closed", "Comments on this post are closed."),
        CommentError::NotYours => WebError::forbidden("That is not your comment.").with_code("not_yours"),
        CommentError::EditWindowClosed { closed_at } => WebError::forbidden(format!(
            "A comment can be edited for 48 hours after it is written; this one's window closed at {}.",
            crate::clock::format_utc(closed_at.div_euclid(1000))
        ))
        .with_code("edit_window_closed"),
        CommentError::RetractWindowClosed { closed_at } => WebError::forbidden(format!(
            "A vote can be taken back for 24 hours; this one's window closed at {}.",
            crate::clock::format_utc(closed_at.div_euclid(1000))
        ))
        .with_code("retract_window_closed"),
        CommentError::OwnComment => {
            WebError::forbidden("You cannot vote for your own comment.").with_code("own_comment")
        }
        CommentError::NotTopLevel => conflict("not_top_level", "Only top-level comments can be pinned."),
        CommentError::NotPostAuthor => {
            WebError::forbidden("Only the post's author can pin its comments.").with_code("not_post_author")
        }
        CommentError::Limited { retry_after_secs } => WebError::too_many(
            format!(
                "You have written 100 comments in the last 24 hours. You can write the next one in {}.",
                wait(retry_after_secs)
            ),
            retry_after_secs,
        ),
        CommentError::Busy => WebError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "Many people are doing this at once. Please try again in a second.",
        )
        .with_header("retry-after", "1"),
        CommentError::Store(e) => e.into(),
    }
}

/// "3 hours 5 minutes", "40 minutes", "12 seconds".
fn wait(secs: i64) -> String {
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    match (h, m) {
        (0, 0) => format!("{secs} seconds"),
        (0, m) => format!("{m} minutes"),
        (h, m) => format!("{h} hours {m} minutes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_status() {
        assert_eq!(refusal(CommentError::Closed).status, StatusCode::CONFLICT);
        assert_eq!(refusal(CommentError::NoComment).status, StatusCode::NOT_FOUND);
        let limited = refusal(CommentError::Limited { retry_after_secs: 3700 });
        assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.message.contains("1 hours 1 minutes"), "{}", limited.message);
        assert_eq!(limited.headers, vec![("retry-after", "3700".to_string())]);
        let edit = refusal(CommentError::EditWindowClosed {
            closed_at: 1_796_169_600_000,
        });
        assert_eq!((edit.status, edit.code), (StatusCode::FORBIDDEN, "edit_window_closed"));
        assert!(edit.message.contains("2026-12-02 00:00 UTC"), "{}", edit.message);
        assert_eq!(wait(59), "59 seconds");
    }

    #[test]
    fn a_draft_is_checked_and_rendered() {
        let post = PostId::generate(1_795_000_000_000);
        assert_eq!(draft(post.clone(), None, "").unwrap_err().field, "body");
        assert!(draft(post.clone(), None, &"x".repeat(CommentBody::MAX + 1)).is_err());
        let d = draft(post, None, "**hi** <script>x</script>").unwrap();
        assert!(
            d.html.contains("<strong>hi</strong>") && !d.html.contains("<script>"),
            "{}",
            d.html
        );
        assert_eq!(d.body, "**hi** <script>x</script>");
    }
}
