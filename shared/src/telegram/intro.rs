//! An intro as the moderators' chat sees it: the text, the buttons (Approve,
//! one Reject per preset reason) and, once decided, who decided what.

use crate::config::AppUrl;
use crate::domain::Member;
use crate::domain::{MemberId, ReviewResult};
use crate::moderation::{Decision, RejectReason};

use super::escape;
use super::keyboards::{inline, ModerationCallback};
use super::types::InlineKeyboardMarkup;

/// Telegram's limit on a message text, counted after entity parsing.
pub const MAX_TEXT: usize = 4096;

/// Length as Telegram's limit counts it, in UTF-16 code units (never less
/// than characters, so a text within it is within Telegram's limit).
fn visible_len(plain: &str) -> usize {
    plain.encode_utf16().count()
}

/// The button text for a preset reason (the member reads `label()`, which is a sentence).
pub fn reason_button(reason: &RejectReason) -> String {
    let short = match reason {
        RejectReason::TooShort => "too short",
        RejectReason::NotRealName => "not a real name",
        RejectReason::Incomplete => "incomplete",
        RejectReason::Other(_) => "other",
    };
    format!("❌ Reject: {short}")
}

pub fn intro_text(member: &Member, app: &AppUrl) -> String {
    compose(member, app, Text::default())
}

/// Plain text with bold runs: escaped once, when rendered, and measured as Telegram measures it.
#[derive(Default)]
struct Text(Vec<(bool, String)>);

impl Text {
    fn plain(mut self, s: impl Into<String>) -> Self {
        self.0.push((false, s.into()));
        self
    }
    fn bold(mut self, s: impl Into<String>) -> Self {
        self.0.push((true, s.into()));
        self
    }
    fn then(mut self, other: Text) -> Self {
        self.0.extend(other.0);
        self
    }
    fn len(&self) -> usize {
        self.0.iter().map(|(_, s)| visible_len(s)).sum()
    }
    fn html(&self) -> String {
        self.0
            .iter()
            .map(|(bold, s)| match bold {
                true => format!("<b>{}</b>", escape(s)),
                false => escape(s),
            })
            .collect()
    }
}

/// The intro with `tail` after it, within Telegram's limit: the about text
/// gives way, cut between words before escaping (so never inside a tag or an
/// entity), with a link to the whole intro.
fn compose(member: &Member, app: &AppUrl, tail: Text) -> String {
    let head = Text::default()
        .plain("📝 ")
        .bold("New intro to review")
        .plain("\n\n")
        .bold(member.name())
        .plain("\n");
    let mut links = Text::default();
    for link in member.links.iter().take(10) {
        links = links.plain(format!("🔗 {link}\n"));
    }
    let rest = links
        .plain(format!("\nOn the web: {}", app.join("/admin/moderation")))
        .then(tail);
    let about = match member.about.as_deref().filter(|a| !a.trim().is_empty()) {
        None => Text::default(),
        Some(about) => {
            let whole = Text::default().plain(format!("{about}\n"));
            let fixed = head.len() + rest.len();
            if fixed + whole.len() <= MAX_TEXT {
                whole
            } else {
                let more = format!(
                    "… (cut short; the whole intro: {})\n",
                    app.join(&format!("/admin/members/{}", member.id))
                );
                let budget = MAX_TEXT.saturating_sub(fixed + visible_len(&more));
                Text::default().plain(cut(about, budget)).plain(more)
            }
        }
    };
    head.then(about).then(rest).html()
}

/// The longest start of `text` within `budget` UTF-16 units, ending between words if one ends near.
fn cut(text: &str, budget: usize) -> String {
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += c.len_utf16();
        if used > budget {
            break;
        }
        end = i + c.len_utf8();
    }
    let head = &text[..end];
    match head.rfind(char::is_whitespace) {
        Some(space) if end - space < 200 => head[..space].trim_end().to_string(),
        _ => head.to_string(),
    }
}

pub fn moderation_keyboard(member: &MemberId) -> InlineKeyboardMarkup {
    let data = |decision: Decision| {
        ModerationCallback {
            member_id: member.clone(),
            decision,
        }
        .encode()
    };
    let mut rows = vec![vec![("✅ Approve".to_string(), data(Decision::Approve))]];
    for reason in RejectReason::PRESETS {
        rows.push(vec![(reason_button(&reason), data(Decision::Reject(reason)))]);
    }
    inline(rows)
}

/// The intro with its decision, for the edited message (no buttons).
pub fn decided_text(
    member: &Member,
    app: &AppUrl,
    decision: ReviewResult,
    by_name: &str,
    at: i64,
    reason: Option<&str>,
) -> String {
    let verdict = match decision {
        ReviewResult::Approved => Text::default().plain("✅ ").bold("Approved"),
        ReviewResult::Rejected => Text::default().plain("❌ ").bold("Rejected"),
    };
    let mut tail = Text::default()
        .plain("\n\n")
        .then(verdict)
        .plain(format!(" by {by_name} · {}", crate::clock::format_utc(at)));
    if let Some(r) = reason {
        tail = tail.plain(format!("\nReason: {r}"));
    }
    compose(member, app, tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, MemberStatus, Role};

    fn member(about: &str, links: usize) -> Member {
        let mut m = Member::new(
            Email::parse("ada@example.org").unwrap(),
            Role::Member,
            MemberStatus::OnReview,
            0,
        );
        m.display_name = Some("Ada <Lovelace>".into());
        m.about = Some(about.into());
        m.links = (0..links)
            .map(|i| format!("https://example.org/{i}/{}", "p".repeat(270)))
            .collect();
        m
    }

    fn visible(html: &str) -> String {
        html.replace("<b>", "")
            .replace("</b>", "")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    #[test]
    fn a_short_intro_is_whole() {
        let app = AppUrl::parse("https://club.example.org").unwrap();
        let m = member("I studied here & loved <it>.", 2);
        let text = intro_text(&m, &app);
        assert!(text.starts_with("📝 <b>New intro to review</b>\n\n<b>Ada &lt;Lovelace&gt;</b>\nI studied here &amp; loved &lt;it&gt;.\n🔗 https://example.org/0/"), "{text}");
        assert!(
            text.ends_with("\nOn the web: https://club.example.org/admin/moderation"),
            "{text}"
        );
        assert!(!text.contains("cut short"));
    }

    #[test]
    fn a_long_intro_with_links_and_a_decision_fits_telegrams_limit() {
        let app = AppUrl::parse("https://club.example.org").unwrap();
        // 4000 characters of about (its maximum), with entities to escape and emoji that count twice.
        let about: String = "Ünïcode & <tags> 🎉 words ".repeat(160).chars().take(4000).collect();
        let m = member(&about, 5);
        let reason = "r".repeat(500);
        for text in [
            intro_text(&m, &app),
            decided_text(&m, &app, ReviewResult::Rejected, "Grace <Hopper>", 0, Some(&reason)),
        ] {
            let shown = visible(&text);
            assert!(
                shown.encode_utf16().count() <= MAX_TEXT,
                "{}",
                shown.encode_utf16().count()
            );
            assert!(
                shown.encode_utf16().count() > MAX_TEXT - 300,
                "only what must go is cut"
            );
            let link = format!("the whole intro: https://club.example.org/admin/members/{})", m.id);
            assert!(text.contains(&link), "{text}");
            // Cut between words, before escaping: no broken entity or tag.
            let cut_at = text.find("… (cut short").unwrap();
            let before = &text[..cut_at];
            let words = ["Ünïcode", "&amp;", "&lt;tags&gt;", "🎉", "words"];
            assert!(words.iter().any(|w| before.ends_with(w)), "{before:?}");
            assert_eq!(text.matches("<b>").count(), text.matches("</b>").count());
            assert!(text.contains("🔗 https://example.org/4/"), "every link stays");
        }
    }
}
