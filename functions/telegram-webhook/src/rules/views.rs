//! What `/rules` shows: the rule list, one rule, and each step of a draft,
//! as HTML text plus an inline keyboard. Pure functions of the data, so
//! pagination and wording are unit-tested without a bot.

use std::collections::HashMap;

use lodge::domain::BotChat;
use lodge::forwarding::draft::{DeliveryChoice, RuleDraft, WizardStep, STEPS};
use lodge::forwarding::{Destination, ForwardRule, Mode};
use lodge::telegram::escape;
use lodge::telegram::keyboards;
use lodge::telegram::types::InlineKeyboardMarkup;

use super::buttons::{rule_tag, Button};

/// Rows of rules or chats per page: the keyboard stays on one phone screen.
pub(crate) const PER_PAGE: usize = 8;

pub(crate) struct Screen {
    pub text: String,
    pub keyboard: InlineKeyboardMarkup,
}

type Rows = Vec<Vec<(String, String)>>;

fn screen(text: String, rows: Rows) -> Screen {
    Screen {
        text,
        keyboard: keyboards::inline(rows),
    }
}

fn button(label: impl Into<String>, b: Button) -> (String, String) {
    (label.into(), b.encode())
}

/// The chats the bot knows, for names.
pub(crate) struct Chats(HashMap<i64, BotChat>);

impl Chats {
    pub(crate) fn new(list: Vec<BotChat>) -> Self {
        Self(list.into_iter().map(|c| (c.id, c)).collect())
    }

    /// Known chats, sorted by title (then id) for a stable keyboard.
    fn sorted(&self) -> Vec<&BotChat> {
        let mut v: Vec<&BotChat> = self.0.values().collect();
        v.sort_by(|a, b| {
            a.title
                .to_lowercase()
                .cmp(&b.title.to_lowercase())
                .then(a.id.cmp(&b.id))
        });
        v
    }

    /// `News` for a known chat, else the id (plain text: escape for HTML).
    fn name(&self, chat: i64) -> String {
        self.0.get(&chat).map_or_else(|| chat.to_string(), |c| c.title.clone())
    }

    fn dest(&self, d: &Destination) -> String {
        match d.thread_id {
            Some(t) => format!("{} › topic {t}", self.name(d.chat_id.get())),
            None => self.name(d.chat_id.get()),
        }
    }

    /// For message bodies: `<b>News</b> (-100…)`.
    fn long(&self, d: &Destination) -> String {
        format!("<b>{}</b> (<code>{}</code>)", escape(&self.dest(d)), d.key())
    }
}

/// Labels are not texts: long titles would make buttons unreadable.
fn short(s: &str) -> String {
    const MAX: usize = 28;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX - 1).collect::<String>())
    }
}

/// The slice of `items` on `page` (clamped), and the page count.
fn paged<T>(items: &[T], page: usize) -> (&[T], usize, usize) {
    let pages = items.len().div_ceil(PER_PAGE).max(1);
    let page = page.min(pages - 1);
    let start = page * PER_PAGE;
    (&items[start..(start + PER_PAGE).min(items.len())], page, pages)
}

/// `◀️  2/5  ▶️` (only the arrows that lead somewhere); none for one page.
fn nav(page: usize, pages: usize, to: impl Fn(usize) -> Button) -> Option<Vec<(String, String)>> {
    if pages < 2 {
        return None;
    }
    let mut row = vec![];
    if page > 0 {
        row.push(button("◀️", to(page - 1)));
    }
    row.push(button(format!("{}/{pages}", page + 1), to(page)));
    if page + 1 < pages {
        row.push(button("▶️", to(page + 1)));
    }
    Some(row)
}

fn status_icon(rule: &ForwardRule) -> &'static str {
    match (rule.enabled, &rule.broken) {
        (_, Some(_)) => "⚠️",
        (true, None) => "✅",
        (false, None) => "⏸",
    }
}

pub(crate) fn list(rules: &[ForwardRule], chats: &Chats, page: usize) -> Screen {
    let (shown, page, pages) = paged(rules, page);
    let text = if rules.is_empty() {
        "<b>Forwarding rules</b>\nThere are none yet. A rule forwards the posts of one chat to others.".to_string()
    } else {
        format!(
            "<b>Forwarding rules</b> ({})\n✅ active · ⏸ disabled · ⚠️ broken. Tap a rule to see or change it.",
            rules.len()
        )
    };
    let mut rows: Rows = shown
        .iter()
        .map(|r| {
            let to = match r.destinations.as_slice() {
                [one] => chats.dest(one),
                many => format!("{} chats", many.len()),
            };
            let label = format!(
                "{} {} → {}",
                status_icon(r),
                short(&chats.name(r.source_chat_id.get())),
                short(&to)
            );
            vec![button(label, Button::Show(rule_tag(&r.id)))]
        })
        .collect();
    rows.extend(nav(page, pages, Button::List));
    rows.push(vec![button("➕ New rule", Button::New)]);
    screen(text, rows)
}

fn delivery_of(rule: &ForwardRule) -> &'static str {
    match (rule.mode, rule.fallback_to_copy) {
        (Mode::Copy, _) => "copy (no “Forwarded from”)",
        (Mode::Forward, false) => "forward (shows the source)",
        (Mode::Forward, true) => "forward; copy where the source forbids forwarding",
    }
}

/// The rule's details (also the draft's summary before it is created).
fn details(rule: &ForwardRule, chats: &Chats) -> String {
    let source = Destination {
        chat_id: rule.source_chat_id,
        thread_id: None,
    };
    let mut out = format!("From: {}\nTo:\n", chats.long(&source));
    for d in &rule.destinations {
        out.push_str(&format!("• {}\n", chats.long(d)));
    }
    out.push_str(&format!("Delivery: {}\n", delivery_of(rule)));
    let f = rule.filters.spec();
    let words = |list: &[String]| {
        list.iter()
            .map(|w| format!("<code>{}</code>", escape(w)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut filters = vec![];
    if !f.include.is_empty() {
        filters.push(format!("only with {}", words(&f.include)));
    }
    if !f.exclude.is_empty() {
        filters.push(format!("never with {}", words(&f.exclude)));
    }
    if f.regex {
        filters.push("(regular expressions)".into());
    }
    if !f.media.is_empty() {
        filters.push(format!(
            "media: {}",
            f.media.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    if !f.replace.is_empty() {
        filters.push(format!("{} replacement(s)", f.replace.len()));
    }
    if f.header.is_some() || f.footer.is_some() {
        filters.push("header/footer".into());
    }
    out.push_str(&format!(
        "Filters: {}",
        if filters.is_empty() {
            "none".to_string()
        } else {
            filters.join("; ")
        }
    ));
    out
}

pub(crate) fn rule(rule: &ForwardRule, chats: &Chats, note: Option<&str>) -> Screen {
    let status = match (&rule.broken, rule.enabled) {
        (Some(b), _) => format!(
            "⚠️ broken since {}: {} at {}. Fix the chat, then enable the rule again.",
            lodge::clock::format_utc(b.at),
            escape(&b.reason),
            chats.long(&b.destination)
        ),
        (None, true) => "✅ active".into(),
        (None, false) => "⏸ disabled".into(),
    };
    let mut text = String::new();
    if let Some(n) = note {
        text.push_str(&format!("{}\n\n", escape(n)));
    }
    text.push_str(&format!(
        "<b>Rule</b> <code>{}</code>\nStatus: {status}\n{}",
        rule.id,
        details(rule, chats)
    ));
    let h = rule_tag(&rule.id);
    let toggle = if rule.is_active() {
        button("⏸ Disable", Button::Enable(h.clone(), false))
    } else {
        button("▶️ Enable", Button::Enable(h.clone(), true))
    };
    screen(
        text,
        vec![
            vec![toggle, button("🗑 Delete", Button::Delete(h))],
            vec![button("⬅️ All rules", Button::List(0))],
        ],
    )
}

pub(crate) fn confirm_delete(rule: &ForwardRule, chats: &Chats) -> Screen {
    let text = format!(
        "Delete rule <code>{}</code>? Posts stop being forwarded at once.\n\n{}",
        rule.id,
        details(rule, chats)
    );
    let h = rule_tag(&rule.id);
    screen(
        text,
        vec![vec![
            button("🗑 Yes, delete", Button::ConfirmDelete(h.clone())),
            button("No, keep it", Button::Show(h)),
        ]],
    )
}

/// A screen without buttons (a finished or cancelled draft).
pub(crate) fn plain(text: impl Into<String>) -> Screen {
    screen(text.into(), vec![])
}

/// The draft's current step.
pub(crate) fn step(draft: &RuleDraft, chats: &Chats) -> Screen {
    let title = match draft.step {
        WizardStep::Confirm => "<b>New rule</b> · check it, then create it".to_string(),
        s => format!("<b>New rule</b> · step {} of {STEPS}", s.number()),
    };
    let back_cancel = |first: bool| {
        let mut row = vec![];
        if !first {
            row.push(button("⬅️ Back", Button::Back));
        }
        row.push(button("✖ Cancel", Button::Cancel));
        row
    };
    let source = draft.source.map(|c| Destination {
        chat_id: c,
        thread_id: None,
    });
    match draft.step {
        WizardStep::Source => {
            let known = chats.sorted();
            let mut text = format!(
                "{title}: the <b>source</b>\nWhose posts should be forwarded? Tap the chat, forward me a post from it, or send its id (like <code>-1001234567890</code>)."
            );
            if known.is_empty() {
                text.push_str("\n\nI do not know any chats yet: add me to the channel (as an admin) or group, and it appears here.");
            }
            let (shown, page, pages) = paged(&known, draft.page);
            let mut rows: Rows = shown
                .iter()
                .map(|c| {
                    let d = Destination {
                        chat_id: chat_id(c.id),
                        thread_id: None,
                    };
                    let mark = if source == Some(d) { "✅ " } else { "" };
                    vec![button(
                        format!("{mark}{}{}", kind_icon(&c.kind), short(&c.title)),
                        Button::Pick(d),
                    )]
                })
                .collect();
            rows.extend(nav(page, pages, Button::Page));
            rows.push(back_cancel(true));
            screen(text, rows)
        }
        WizardStep::Destinations => {
            let from = source.map(|s| chats.long(&s)).unwrap_or_default();
            let mut text = format!(
                "{title}: the <b>destinations</b>\nFrom {from} to… Tap the chats (tap again to unselect), then Done. For a forum topic or a chat not listed, send its id like <code>-1001234567890:42</code>."
            );
            // Chats the bot cannot post to are not offered: delivery would fail.
            let mut offered: Vec<Destination> = chats
                .sorted()
                .into_iter()
                .filter(|c| c.can_post && Some(c.id) != source.map(|s| s.chat_id.get()))
                .map(|c| Destination {
                    chat_id: chat_id(c.id),
                    thread_id: None,
                })
                .collect();
            // Typed ones too, so they can be unselected like the others.
            let typed: Vec<Destination> = draft
                .destinations
                .iter()
                .filter(|d| !offered.contains(d))
                .copied()
                .collect();
            offered.extend(typed);
            if !draft.destinations.is_empty() {
                text.push_str("\n\nSelected:");
                for d in &draft.destinations {
                    text.push_str(&format!("\n• {}", chats.long(d)));
                }
            }
            let (shown, page, pages) = paged(&offered, draft.page);
            let mut rows: Rows = shown
                .iter()
                .map(|d| {
                    let mark = if draft.destinations.contains(d) {
                        "✅ "
                    } else {
                        "▫️ "
                    };
                    let icon = chats.0.get(&d.chat_id.get()).map_or("", |c| kind_icon(&c.kind));
                    vec![button(
                        format!("{mark}{icon}{}", short(&chats.dest(d))),
                        Button::Pick(*d),
                    )]
                })
                .collect();
            rows.extend(nav(page, pages, Button::Page));
            rows.push(vec![button(
                format!("Done ({}) ➡️", draft.destinations.len()),
                Button::Done,
            )]);
            rows.push(back_cancel(false));
            screen(text, rows)
        }
        WizardStep::Mode => {
            let text = format!(
                "{title}: <b>how to deliver</b>\n• Forward: the post shows “Forwarded from …”.\n• Copy: the bot posts it without attribution (header, footer and text replacements need copy; set them with the admin API).\n• Forward, else copy: for sources that forbid forwarding."
            );
            let choice = |d: DeliveryChoice, label: &str| {
                let mark = if draft.delivery == Some(d) { "✅ " } else { "" };
                vec![button(format!("{mark}{label}"), Button::Deliver(d))]
            };
            let rows = vec![
                choice(DeliveryChoice::Forward, "Forward"),
                choice(DeliveryChoice::Copy, "Copy"),
                choice(DeliveryChoice::ForwardOrCopy, "Forward, else copy"),
                back_cancel(false),
            ];
            screen(text, rows)
        }
        WizardStep::Filters => {
            let text = format!(
                "{title}: <b>keywords</b> (optional)\nSend words separated by commas: only posts containing one of them are forwarded; a word with a leading <code>-</code> keeps posts containing it out. Whole words, any case, in texts and captions.\nExample: <code>release, rust, -draft</code>"
            );
            screen(
                text,
                vec![
                    vec![button("Skip: forward every post", Button::Skip)],
                    back_cancel(false),
                ],
            )
        }
        WizardStep::Confirm => {
            let body = match draft.build() {
                Ok(rule) => details(&rule, chats),
                // Not expected: every step checked its part.
                Err(e) => format!("⚠️ {}", escape(&e.to_string())),
            };
            screen(
                format!("{title}\n{body}"),
                vec![vec![button("✅ Create rule", Button::Save)], back_cancel(false)],
            )
        }
    }
}

fn chat_id(id: i64) -> lodge::forwarding::TelegramChatId {
    lodge::forwarding::TelegramChatId::new(id).expect("stored chats have Telegram ids")
}

fn kind_icon(kind: &str) -> &'static str {
    match kind {
        "channel" => "📢 ",
        "group" | "supergroup" => "👥 ",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodge::forwarding::draft::RuleDraft;
    use lodge::forwarding::{RuleId, TelegramChatId};
    use serde_json::json;

    fn chat(id: i64, title: &str, can_post: bool) -> BotChat {
        BotChat {
            id,
            title: title.into(),
            kind: "channel".into(),
            status: "administrator".into(),
            can_post,
            updated_at: 0,
        }
    }

    fn rule(i: usize) -> ForwardRule {
        let body = json!({"source_chat_id": -1001, "destinations": [{"chat_id": -1002}], "mode": "copy"});
        ForwardRule::from_json(RuleId::parse(&format!("r{i:02}")).unwrap(), &body).unwrap()
    }

    fn labels(s: &Screen) -> Vec<Vec<String>> {
        s.keyboard
            .inline_keyboard
            .iter()
            .map(|r| r.iter().map(|b| b.text.clone()).collect())
            .collect()
    }

    #[test]
    fn the_list_pages_by_eight_and_always_offers_a_new_rule() {
        let rules: Vec<_> = (0..19).map(rule).collect();
        let chats = Chats::new(vec![chat(-1001, "News", true), chat(-1002, "Club", true)]);
        let first = list(&rules, &chats, 0);
        assert!(first.text.contains("(19)"));
        let l = labels(&first);
        assert_eq!(l.len(), PER_PAGE + 2);
        assert_eq!(l[0], vec!["✅ News → Club"]);
        assert_eq!(l[PER_PAGE], vec!["1/3", "▶️"]);
        assert_eq!(l[PER_PAGE + 1], vec!["➕ New rule"]);
        let last = labels(&list(&rules, &chats, 99));
        assert_eq!(last.len(), 3 + 2, "page clamped to the last one");
        assert_eq!(last[3], vec!["◀️", "3/3"]);
        assert_eq!(labels(&list(&[], &chats, 0)), vec![vec!["➕ New rule"]]);
    }

    #[test]
    fn destinations_offer_postable_chats_other_than_the_source_and_typed_ones() {
        let chats = Chats::new(vec![
            chat(-1001, "News", true),
            chat(-1002, "Club", true),
            chat(-1003, "Read only", false),
        ]);
        let mut d = RuleDraft::new(1);
        d.choose_source(TelegramChatId::new(-1001).unwrap()).unwrap();
        d.add_destination(Destination {
            chat_id: TelegramChatId::new(-1009).unwrap(),
            thread_id: Some(4),
        })
        .unwrap();
        let s = step(&d, &chats);
        assert_eq!(
            labels(&s),
            vec![
                vec!["▫️ 📢 Club"],
                vec!["✅ -1009 › topic 4"],
                vec!["Done (1) ➡️"],
                vec!["⬅️ Back", "✖ Cancel"]
            ]
        );
        assert!(
            s.text.contains("<b>News</b> (<code>-1001</code>)") && s.text.contains("step 2 of 4"),
            "{}",
            s.text
        );
    }

    #[test]
    fn titles_are_escaped_and_labels_shortened() {
        let chats = Chats::new(vec![chat(
            -1001,
            "<b>A very long channel title indeed, really</b>",
            true,
        )]);
        let s = step(&RuleDraft::new(1), &chats);
        assert_eq!(
            labels(&s)[0],
            vec!["📢 <b>A very long channel titl…"],
            "labels are plain text"
        );
        let r = rule(1);
        assert!(super::rule(&r, &chats, None).text.contains("&lt;b&gt;A very long"));
    }
}
