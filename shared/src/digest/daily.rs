//! The daily Telegram digest: one message in Telegram's HTML subset, which
//! must stay within 4,096 characters *after* entity parsing (the visible
//! text, in UTF-16 units, as Telegram counts). Lines are added while they
//! fit; what does not fit becomes one "and N more" link.

use crate::config::AppUrl;
use crate::domain::digest::{EventCard, PostCard};
use crate::telegram::client::escape;

/// Telegram's limit on a message's text.
pub const MAX_TEXT: usize = 4096;

/// The visible length of `text` (plain text, before escaping) as Telegram counts it.
pub fn visible_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The window of the digest sent at `now` (seconds): 72 hours on Mondays
/// (it covers the weekend: no digest on Sunday), else 24.
pub fn window_hours(now: i64) -> i64 {
    // 1970-01-01 was a Thursday: day 4 → Monday is (days + 3) % 7 == 0.
    if (now.div_euclid(86_400) + 3).rem_euclid(7) == 0 {
        72
    } else {
        24
    }
}

struct Builder {
    html: String,
    visible: usize,
}

impl Builder {
    /// Appends a piece whose visible text is `plain`; `false` if it does not fit in `budget`.
    fn push(&mut self, plain: &str, html: &str, budget: usize) -> bool {
        let len = visible_len(plain);
        if self.visible + len > budget {
            return false;
        }
        self.visible += len;
        self.html.push_str(html);
        true
    }
}

/// The message, or `None` when there is nothing new (no message is sent).
pub fn daily_message(app: &AppUrl, hours: i64, posts: &[PostCard], events: &[EventCard]) -> Option<String> {
    if posts.is_empty() {
        return None;
    }
    let mut b = Builder {
        html: String::new(),
        visible: 0,
    };
    let head = format!("Lodge: the last {hours} hours\n");
    b.push(&head, &format!("<b>{}</b>\n", escape(head.trim_end())), MAX_TEXT);
    // Room for the "and N more" line, whatever N is.
    let more_url = app.join("/");
    let reserve = visible_len(&format!("\n…and 99999 more: {more_url}\n")) + 64;
    let budget = MAX_TEXT - reserve;
    let mut left = 0;
    for (i, p) in posts.iter().enumerate() {
        let url = app.join(&format!("/posts/{}", p.id));
        let title = crate::digest::build::shorten(&p.title, 200);
        let plain = format!(
            "\n• {title} — {} (▲{}, {} comments)\n",
            p.author_name, p.upvotes, p.comments
        );
        let html = format!(
            "\n• <a href=\"{}\">{}</a> — {} (▲{}, {} comments)\n",
            escape(&url),
            escape(&title),
            escape(&p.author_name),
            p.upvotes,
            p.comments
        );
        if !b.push(&plain, &html, budget) {
            left = posts.len() - i;
            break;
        }
    }
    if left == 0 && !events.is_empty() {
        let plain = "\nComing up\n";
        if b.push(plain, "\n<b>Coming up</b>\n", budget) {
            for e in events {
                let url = app.join(&format!("/posts/{}", e.id));
                let when = &crate::clock::rfc3339(e.starts_at / 1000)[..16].replace('T', " ");
                let plain = format!("• {} — {when}\n", e.title);
                let html = format!("• <a href=\"{}\">{}</a> — {when}\n", escape(&url), escape(&e.title));
                if !b.push(&plain, &html, budget) {
                    break;
                }
            }
        }
    }
    if left > 0 {
        let plain = format!("\n…and {left} more: {more_url}\n");
        let html = format!("\n…and <a href=\"{}\">{left} more</a>\n", escape(&more_url));
        b.push(&plain, &html, MAX_TEXT);
    }
    Some(b.html)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(i: usize, title: &str) -> PostCard {
        PostCard {
            id: format!("p{i}"),
            title: title.into(),
            author_name: "Ann & <Bo>".into(),
            kind: "post".into(),
            upvotes: 1,
            comments: 0,
            published_at: 0,
            excerpt: String::new(),
        }
    }

    #[test]
    fn mondays_cover_72_hours() {
        assert_eq!(window_hours(1_796_637_600), 72, "2026-12-07 is a Monday");
        assert_eq!(window_hours(1_796_637_600 + 86_400), 24);
    }

    #[test]
    fn nothing_new_sends_nothing() {
        let app = AppUrl::parse("https://c.example").unwrap();
        assert_eq!(daily_message(&app, 24, &[], &[]), None);
    }

    #[test]
    fn a_huge_day_stays_within_telegrams_limit_and_says_what_is_left() {
        let app = AppUrl::parse("https://c.example").unwrap();
        let posts: Vec<_> = (0..500).map(|i| post(i, &"😀 long title ".repeat(20))).collect();
        let msg = daily_message(&app, 24, &posts, &[]).unwrap();
        // What Telegram counts: the text without tags, entities decoded.
        let visible = regex::Regex::new("<[^>]+>").unwrap().replace_all(&msg, "");
        let visible = visible
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
            .replace("&quot;", "\"");
        assert!(visible_len(&visible) <= MAX_TEXT, "{}", visible_len(&visible));
        assert!(msg.contains("more</a>"), "the rest is linked");
        assert!(msg.contains("Ann &amp; &lt;Bo&gt;"), "names are escaped");
    }
}
