//! What the `/ask` conversation and the helpdesk channel show: HTML in
//! Telegram's subset, every member string escaped and clipped well within
//! Telegram's 4,096 characters.

use lodge::domain::question::{AskStep, QuestionDraft};
use lodge::telegram::escape;
use lodge::telegram::keyboards;
use lodge::telegram::types::InlineKeyboardMarkup;

use super::buttons::AskButton;

/// A screen: the message's text and its buttons.
pub(crate) struct Screen {
    pub text: String,
    pub keyboard: InlineKeyboardMarkup,
}

/// The question's text in a preview, and the channel's excerpt.
const PREVIEW_CHARS: usize = 3000;
const EXCERPT_CHARS: usize = 600;

fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

fn button(b: AskButton) -> (String, String) {
    let label = match b {
        AskButton::Back => "« Back",
        AskButton::Cancel => "Cancel",
        AskButton::Post => "✅ Post it",
    };
    (label.to_string(), b.encode())
}

/// The screen of the draft's current step.
pub(crate) fn step(d: &QuestionDraft) -> Screen {
    let title = d.title.as_deref().map(escape);
    match d.step {
        AskStep::Title => {
            let mut text = String::from(
                "❓ <b>Ask the club</b> (step 1 of 2)\n\nSend the <b>title</b> of your question: one line, up to 128 characters.",
            );
            if let Some(t) = title {
                text.push_str(&format!("\n\nNow: <i>{t}</i> (send a new one to replace it)"));
            }
            Screen {
                text,
                keyboard: keyboards::inline(vec![vec![button(AskButton::Cancel)]]),
            }
        }
        AskStep::Body => {
            let mut text = format!(
                "❓ <b>{}</b> (step 2 of 2)\n\nNow send the <b>question</b> itself. Markdown works: *bold*, _italics_, [links](https://…).",
                title.unwrap_or_default()
            );
            if let Some(b) = &d.body {
                text.push_str(&format!(
                    "\n\nNow:\n<blockquote>{}</blockquote>\n(send a new one to replace it)",
                    escape(&clip(b, 500))
                ));
            }
            Screen {
                text,
                keyboard: keyboards::inline(vec![vec![button(AskButton::Back), button(AskButton::Cancel)]]),
            }
        }
        AskStep::Confirm => Screen {
            text: format!(
                "❓ <b>{}</b>\n\n<blockquote>{}</blockquote>\n\nPost this question on Lodge? Members answer it there; you hear of every answer here.",
                title.unwrap_or_default(),
                escape(&clip(d.body.as_deref().unwrap_or_default(), PREVIEW_CHARS))
            ),
            keyboard: keyboards::inline(vec![
                vec![button(AskButton::Post)],
                vec![button(AskButton::Back), button(AskButton::Cancel)],
            ]),
        },
    }
}

/// A message with no buttons left (cancelled, posted).
pub(crate) fn plain(text: impl Into<String>) -> Screen {
    Screen {
        text: text.into(),
        keyboard: keyboards::inline(vec![]),
    }
}

/// The confirmed question, with its link.
pub(crate) fn posted(title: &str, url: &str) -> Screen {
    plain(format!(
        "✅ Your question <b>{}</b> is on Lodge: {}\n\nEvery answer reaches you here; reply to it to answer back.",
        escape(title),
        escape(url)
    ))
}

/// The question in the helpdesk channel: replies in its comments become answers.
pub(crate) fn channel_post(title: &str, excerpt: &str, author: &str, url: &str) -> String {
    let mut text = format!("❓ <b>{}</b>\n", escape(title));
    if !excerpt.trim().is_empty() {
        text.push_str(&format!("\n{}\n", escape(&clip(excerpt, EXCERPT_CHARS))));
    }
    text.push_str(&format!(
        "\nAsked by {} · <a href=\"{}\">Answer on Lodge</a>, or reply in the comments (members who linked Telegram).",
        escape(author),
        escape(url)
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodge::domain::PostId;

    #[test]
    fn member_text_is_escaped_and_clipped() {
        let mut d = QuestionDraft::new(PostId::from_parts(1, 1), 1);
        d.type_text("<b>bold</b> & co").unwrap();
        d.type_text(&"é".repeat(4000)).unwrap();
        let s = step(&d);
        assert!(s.text.contains("&lt;b&gt;bold&lt;/b&gt; &amp; co"), "{}", s.text);
        assert!(s.text.chars().count() < 4096, "{}", s.text.chars().count());
        assert_eq!(s.keyboard.inline_keyboard.len(), 2);
        let c = channel_post("<i>", &"x".repeat(5000), "Ada & Bob", "https://l/posts/1?a=1&b=2");
        assert!(
            c.contains("&lt;i&gt;") && c.contains("Ada &amp; Bob") && c.contains("a=1&amp;b=2"),
            "{c}"
        );
        assert!(c.chars().count() < 1000);
    }
}
