//! An intro as the moderators' chat sees it: the text, the buttons (Approve,
//! one Reject per preset reason) and, once decided, who decided what.

use crate::config::AppUrl;
use crate::domain::Member;
use crate::domain::{MemberId, ReviewResult};
use crate::moderation::{Decision, RejectReason};

use super::escape;
use super::keyboards::{inline, ModerationCallback};
use super::types::InlineKeyboardMarkup;

/// Leaves room for the header, links and the decision line within
/// Telegram's 4096 characters.
const MAX_ABOUT: usize = 3000;

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
    let mut text = format!("📝 <b>New intro to review</b>\n\n<b>{}</b>\n", escape(member.name()));
    if let Some(about) = member.about.as_deref().filter(|a| !a.trim().is_empty()) {
        let mut about: String = about.chars().take(MAX_ABOUT).collect();
        if about.len() < member.about.as_deref().unwrap_or_default().len() {
            about.push('…');
        }
        text.push_str(&format!("{}\n", escape(&about)));
    }
    for link in member.links.iter().take(10) {
        text.push_str(&format!("🔗 {}\n", escape(link)));
    }
    text.push_str(&format!("\nOn the web: {}", app.join("/admin/moderation")));
    text
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
        ReviewResult::Approved => "✅ <b>Approved</b>",
        ReviewResult::Rejected => "❌ <b>Rejected</b>",
    };
    let mut text = format!(
        "{}\n\n{verdict} by {} · {}",
        intro_text(member, app),
        escape(by_name),
        crate::clock::format_utc(at)
    );
    if let Some(r) = reason {
        text.push_str(&format!("\nReason: {}", escape(r)));
    }
    text
}
