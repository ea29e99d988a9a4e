//! How a notification reads: one `Note` rendered at fan-out, then shown as
//! an inbox entry, a Telegram message (HTML within Telegram's limits, with
//! 👍 and 🔕) or a line of the coalesced email.

use super::Kind;
pub use crate::domain::notification::{EmailLine, Note};
use crate::telegram::escape;
use crate::telegram::types::{InlineButton, InlineKeyboardMarkup};

/// The page of a post, and of one comment on it (the anchor the post page gives it).
pub fn post_path(post: &crate::domain::PostId) -> String {
    format!("/posts/{post}")
}

pub fn comment_path(post: &crate::domain::PostId, comment: &crate::domain::CommentId) -> String {
    format!("/posts/{post}#c-{comment}")
}

/// Characters of a title and an excerpt shown in a message: with the
/// markup, a message stays far below Telegram's 4,096.
pub const TITLE_CHARS: usize = 200;
pub const EXCERPT_CHARS: usize = 600;

/// `text` cut at `max` characters (on a char boundary), with `…` when cut;
/// whitespace runs become one space.
pub fn clip(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out: String = flat.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The one-line summary, for the inbox and the email.
pub fn headline(kind: Kind, note: &Note) -> String {
    let who = &note.actor_name;
    let title = &note.title;
    match kind {
        Kind::Reply => format!("{who} replied to your comment on “{title}”"),
        Kind::Mention => format!("{who} mentioned you in “{title}”"),
        Kind::CommentOnPost => format!("{who} commented on your post “{title}”"),
        Kind::FollowedPost => format!("{who} commented on “{title}”"),
        Kind::RoomPost => format!("{who} posted “{title}”"),
        Kind::IntroDecided => "Your intro was decided".to_string(),
        Kind::ReportResolved => format!("Your report on “{title}” was resolved"),
    }
}

/// The Telegram message: HTML in Telegram's tag subset, user text escaped.
pub fn telegram_text(kind: Kind, note: &Note, url: &str) -> String {
    let head = escape(&headline(kind, note));
    let mut out = format!("🔔 <b>{head}</b>");
    if !note.excerpt.is_empty() {
        out.push_str(&format!("\n\n<blockquote>{}</blockquote>", escape(&note.excerpt)));
    }
    out.push_str(&format!("\n\n<a href=\"{}\">Open on Lodge</a>", escape(url)));
    if answerable(kind) {
        out.push_str("\n<i>Reply to this message to answer in the thread.</i>");
    }
    out
}

/// Whether a DM of this kind takes a reply (a comment under what it is
/// about) and the 👍 🔕 buttons: everything about a post or comment, not the
/// club's word on an intro or a report.
pub fn answerable(kind: Kind) -> bool {
    !matches!(kind, Kind::IntroDecided | Kind::ReportResolved)
}

/// Button data. The press names no post or comment: the bot looks the
/// message up in the stored mapping (chat, message) → (post, comment).
pub const UPVOTE: &str = "n:up";
pub const UNFOLLOW: &str = "n:unfollow";

/// 👍 upvote and 🔕 unfollow, under every message about a post.
pub fn buttons() -> InlineKeyboardMarkup {
    InlineKeyboardMarkup {
        inline_keyboard: vec![vec![
            InlineButton {
                text: "👍 Upvote".into(),
                callback_data: Some(UPVOTE.into()),
                url: None,
            },
            InlineButton {
                text: "🔕 Unfollow".into(),
                callback_data: Some(UNFOLLOW.into()),
                url: None,
            },
        ]],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped_and_clipped() {
        let note = Note {
            actor_name: "<b>Eve</b>".into(),
            title: "A & B".into(),
            excerpt: clip(&"x ".repeat(5000), EXCERPT_CHARS),
            path: "/posts/p#c-1".into(),
        };
        let text = telegram_text(Kind::Reply, &note, "https://lodge.example/posts/p#c-1");
        assert!(
            text.contains("&lt;b&gt;Eve&lt;/b&gt;") && text.contains("A &amp; B"),
            "{text}"
        );
        assert!(text.chars().count() < 1200, "{}", text.chars().count());
        assert_eq!(clip("a  b\n c", 10), "a b c");
        assert_eq!(clip("abcdef", 4).chars().count(), 4);
    }
}

#[derive(askama::Template)]
#[template(path = "mail/activity.html")]
struct ActivityHtml<'a> {
    heading: &'a str,
    lines: &'a [EmailLine],
    settings_url: &'a str,
    unsubscribe_url: &'a str,
}

#[derive(askama::Template)]
#[template(path = "mail/activity.txt")]
struct ActivityText<'a> {
    heading: &'a str,
    lines: &'a [EmailLine],
    settings_url: &'a str,
    unsubscribe_url: &'a str,
}

/// The one email that lists what happened since the last one. The sender
/// passes the member's unsubscribe link (`mail::unsubscribe`) and adds its
/// RFC 8058 headers.
pub fn activity_letter(lines: &[EmailLine], settings_url: &str, unsubscribe_url: &str) -> crate::mail::Letter {
    use askama::Template;
    let subject = match lines {
        [one] => one.line.clone(),
        _ => format!("{} new notifications on Lodge", lines.len()),
    };
    let heading = "What happened on Lodge";
    crate::mail::Letter {
        subject: clip(&subject, 150),
        text: ActivityText {
            heading,
            lines,
            settings_url,
            unsubscribe_url,
        }
        .render()
        .unwrap_or_default(),
        html: ActivityHtml {
            heading,
            lines,
            settings_url,
            unsubscribe_url,
        }
        .render()
        .unwrap_or_default(),
        headers: Vec::new(),
    }
}

#[cfg(test)]
mod letter_tests {
    use super::*;

    #[test]
    fn the_letter_lists_every_line_escaped_in_html() {
        let line = |i: usize| EmailLine {
            id: format!("e{i}"),
            line: format!("<Eve> replied {i}"),
            excerpt: "x & y".into(),
            url: format!("https://l.example/posts/p#c-{i}"),
            at: 1,
        };
        let letter = activity_letter(
            &[line(1), line(2)],
            "https://l.example/settings/notifications",
            "https://l.example/u/t",
        );
        assert_eq!(letter.subject, "2 new notifications on Lodge");
        // Escaped (askama writes `&#60;`), never raw; the links keep their anchors.
        assert!(!letter.html.contains("<Eve>") && letter.html.contains("Eve&#62; replied 1"));
        assert!(letter.html.contains("#c-2") && letter.html.contains("https://l.example/u/t"));
        assert!(letter.text.contains("<Eve> replied 2") && letter.text.contains("x & y"));
    }
}
