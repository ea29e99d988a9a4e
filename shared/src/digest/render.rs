//! The weekly email of one member: the issue's shared sections in order,
//! empty ones left out, then theirs. Multipart text + HTML, inline styles
//! only (mail clients drop `<style>`), colours that read on light and dark
//! backgrounds, and far under Gmail's 102 KB clipping size.

use askama::Template;

use crate::config::AppUrl;
use crate::domain::digest::{IssueContent, IssueId, WeekTally};
use crate::mail::Letter;

/// One line of a section: a linked title and what is said under it.
pub struct Line {
    pub title: String,
    pub url: String,
    pub meta: String,
    pub text: String,
}

/// A section as both parts render it.
pub struct Section {
    /// Stable name, e.g. `top_posts`, on the HTML (`data-section`).
    pub key: &'static str,
    pub heading: &'static str,
    pub lines: Vec<Line>,
}

/// The section names in the order every issue uses.
pub const ORDER: [&str; 7] = [
    "note",
    "top_posts",
    "events",
    "new_members",
    "best_comments",
    "counts",
    "your_week",
];

fn day(ms: i64) -> String {
    let s = crate::clock::rfc3339(ms / 1000);
    format!("{} {} UTC", &s[..10], &s[11..16])
}

/// The sections of `content` for a member with `tally`, empty ones left out.
pub fn sections(app: &AppUrl, content: &IssueContent, tally: Option<WeekTally>) -> Vec<Section> {
    let post_url = |id: &str| app.join(&format!("/posts/{id}"));
    let mut out = Vec::new();
    if let Some(note) = &content.note_text {
        out.push(Section {
            key: "note",
            heading: "From the editors",
            lines: vec![Line {
                title: String::new(),
                url: String::new(),
                meta: String::new(),
                text: note.clone(),
            }],
        });
    }
    let mut push = |key, heading, lines: Vec<Line>| {
        if !lines.is_empty() {
            out.push(Section { key, heading, lines });
        }
    };
    push(
        "top_posts",
        "Top posts of the week",
        content
            .top_posts
            .iter()
            .map(|p| Line {
                title: p.title.clone(),
                url: post_url(&p.id),
                meta: format!("{} · {} upvotes · {} comments", p.author_name, p.upvotes, p.comments),
                text: p.excerpt.clone(),
            })
            .collect(),
    );
    push(
        "events",
        "Coming up",
        content
            .events
            .iter()
            .map(|e| Line {
                title: e.title.clone(),
                url: post_url(&e.id),
                meta: if e.venue.is_empty() {
                    day(e.starts_at)
                } else {
                    format!("{} · {}", day(e.starts_at), e.venue)
                },
                text: String::new(),
            })
            .collect(),
    );
    push(
        "new_members",
        "New members",
        content
            .new_members
            .iter()
            .map(|m| Line {
                title: m.name.clone(),
                url: post_url(&m.post_id),
                meta: "read their intro".into(),
                text: String::new(),
            })
            .collect(),
    );
    push(
        "best_comments",
        "Best comments",
        content
            .best_comments
            .iter()
            .map(|c| Line {
                title: format!("{} on “{}”", c.author_name, c.post_title),
                url: app.join(&format!("/posts/{}#c-{}", c.post_id, c.id)),
                meta: format!("{} upvotes", c.upvotes),
                text: c.text.clone(),
            })
            .collect(),
    );
    let c = &content.counts;
    push(
        "counts",
        "The week in numbers",
        vec![Line {
            title: String::new(),
            url: String::new(),
            meta: String::new(),
            text: format!("{} new members, {} posts, {} comments", c.members, c.posts, c.comments),
        }],
    );
    if let Some(t) = tally.filter(|t| t.replies > 0 || t.upvotes > 0) {
        push(
            "your_week",
            "Your week",
            vec![Line {
                title: String::new(),
                url: String::new(),
                meta: String::new(),
                text: format!("{} replies to you · {} upvotes your posts got", t.replies, t.upvotes),
            }],
        );
    }
    out
}

#[derive(Template)]
#[template(path = "mail/digest.html")]
struct DigestHtml<'a> {
    title: &'a str,
    greeting: &'a str,
    note_html: Option<&'a str>,
    sections: &'a [Section],
    archive: &'a str,
    unsubscribe: &'a str,
    settings: &'a str,
}

#[derive(Template)]
#[template(path = "mail/digest.txt")]
struct DigestText<'a> {
    title: &'a str,
    greeting: &'a str,
    sections: &'a [Section],
    archive: &'a str,
    unsubscribe: &'a str,
    settings: &'a str,
}

/// The letter for one member. `unsubscribe` is their one-click URL (its
/// page also offers the daily Telegram digest instead).
pub fn weekly_letter(
    app: &AppUrl,
    issue: &IssueId,
    content: &IssueContent,
    name: &str,
    tally: Option<WeekTally>,
    unsubscribe: &str,
) -> Letter {
    let sections = sections(app, content, tally);
    let title = format!("Lodge weekly · {}", issue.as_str().trim_start_matches("weekly-"));
    let greeting = format!("Hello {name}, here is what happened in the club this week.");
    let archive = app.join(&format!("/digests/{issue}"));
    let settings = app.join("/settings");
    let html = DigestHtml {
        title: &title,
        greeting: &greeting,
        note_html: content.note_html.as_deref(),
        sections: &sections,
        archive: &archive,
        unsubscribe,
        settings: &settings,
    }
    .render()
    .unwrap_or_default();
    let text = DigestText {
        title: &title,
        greeting: &greeting,
        sections: &sections,
        archive: &archive,
        unsubscribe,
        settings: &settings,
    }
    .render()
    .unwrap_or_default();
    Letter {
        subject: format!(
            "{title}: {} posts, {} new members",
            content.counts.posts, content.counts.members
        ),
        text,
        html,
        headers: Vec::new(),
    }
}

/// `weekly_letter` for `member`, with their one-click unsubscribe headers.
pub fn personal_letter(
    app: &AppUrl,
    key: &crate::mail::unsubscribe::UnsubscribeKey,
    issue: &IssueId,
    content: &IssueContent,
    member: &crate::domain::digest::Recipient,
    tally: Option<WeekTally>,
) -> Letter {
    use crate::mail::unsubscribe::{self, Purpose, Token};
    let token = Token::new(member.id.clone(), Purpose::Weekly, member.mail_epoch);
    let url = unsubscribe::url(app, key, &token);
    weekly_letter(app, issue, content, member.name(), tally, &url).with_headers(unsubscribe::headers(app, key, &token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::digest::{CommentCard, Counts, EventCard, NewMember, PostCard};

    fn content(posts: usize, title_len: usize) -> IssueContent {
        IssueContent {
            from: 0,
            to: 7 * 86_400,
            note_html: Some("<p>Hello <strong>all</strong></p>".into()),
            note_text: Some("Hello **all**".into()),
            top_posts: (0..posts)
                .map(|i| PostCard {
                    id: format!("p{i}"),
                    title: format!("<b>{}</b>", "T".repeat(title_len)),
                    author_name: "Ann".into(),
                    kind: "post".into(),
                    upvotes: 3,
                    comments: 1,
                    published_at: 1000,
                    excerpt: "E".repeat(280),
                })
                .collect(),
            events: vec![EventCard {
                id: "e".into(),
                title: "Picnic".into(),
                starts_at: 86_400_000,
                venue: "Park".into(),
            }],
            new_members: vec![NewMember {
                member_id: "m".into(),
                name: "Bo".into(),
                post_id: "i".into(),
            }],
            best_comments: vec![CommentCard {
                id: "c".into(),
                post_id: "p0".into(),
                post_title: "T".into(),
                author_name: "Cy".into(),
                upvotes: 4,
                text: "Nice".into(),
            }],
            counts: Counts {
                members: 1,
                posts: posts as i64,
                comments: 1,
            },
        }
    }

    #[test]
    fn sections_follow_the_order_and_skip_empty_ones() {
        let app = AppUrl::parse("https://club.example.org").unwrap();
        let mut c = content(2, 10);
        let keys = |s: Vec<Section>| s.iter().map(|s| s.key).collect::<Vec<_>>();
        let all = keys(sections(&app, &c, Some(WeekTally { replies: 2, upvotes: 0 })));
        assert_eq!(all, ORDER);
        c.events.clear();
        c.note_text = None;
        let some = keys(sections(&app, &c, Some(WeekTally::default())));
        assert_eq!(some, ["top_posts", "new_members", "best_comments", "counts"]);
    }

    #[test]
    fn a_full_issue_is_escaped_multipart_and_under_gmails_clip_size() {
        let app = AppUrl::parse("https://club.example.org").unwrap();
        let id = IssueId::parse("weekly-2026-W49").unwrap();
        let l = weekly_letter(
            &app,
            &id,
            &content(12, 300),
            "Ann",
            None,
            "https://club.example.org/u/x",
        );
        assert!(l.html.len() + l.text.len() < 100 * 1024, "{} bytes", l.html.len());
        assert!(!l.html.contains("<b>T"), "titles are escaped");
        assert!(l.html.contains("<strong>all</strong>"), "the note is sanitised HTML");
        assert!(!l.html.contains("<style"), "inline styles only");
        assert!(l.text.contains("Top posts of the week") && l.text.contains("https://club.example.org/u/x"));
    }
}
