//! The comment rules as every channel shows them: who writes (`actor`) and the
//! words of every refusal (an HTTP error, or the bot's answer). The write
//! itself is `writing::create_comment`, taken by the web form, a reply to a
//! notification in Telegram and a helpdesk answer alike.

use http::StatusCode;

use crate::domain::Member;
use crate::store::comments::{Actor, CommentError};
use crate::web::WebError;

/// Who writes, as the comment rules see them.
pub fn actor(member: &Member) -> Actor {
    Actor {
        id: member.id.clone(),
        name: member.name().to_string(),
        moderator: member.role.can_moderate(),
    }
}

/// Each refusal of the comment rules as a precise status and message.
pub fn refusal(e: CommentError) -> WebError {
    let conflict = |code, msg: &str| WebError::new(StatusCode::CONFLICT, code, msg);
    match e {
        CommentError::NoPost => WebError::new(StatusCode::NOT_FOUND, "not_found", "There is no such post."),
        CommentError::NoComment => WebError::new(StatusCode::NOT_FOUND, "not_found", "There is no such comment."),
        CommentError::NoParent => WebError::invalid("parent_id: there is no such comment on this post."),
        CommentError::Deleted => conflict("deleted", "That comment was deleted."),
        CommentError::AlreadyPosted(_) => conflict("already_posted", "That message was posted as a comment already."),
        CommentError::Hidden => conflict("resolved", "A moderator hid that comment already."),
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
}
