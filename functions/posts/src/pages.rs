//! The HTML pages (askama templates in `templates/`).

use askama::Template;
use lodge::auth::Viewer;
use lodge::domain::PostFields;
use lodge::store::posts::{PostPage, PostState};
use lodge::web::Layout;

use crate::view::{rfc3339_ms, Access};

#[derive(Template)]
#[template(path = "compose.html")]
pub struct ComposePage {
    pub layout: Layout,
    pub f: ComposeValues,
    pub errors: Vec<String>,
}

/// The compose form's values, as typed (shown again next to its errors).
#[derive(Default)]
pub struct ComposeValues {
    pub kind: String,
    pub title: String,
    pub body: String,
    pub url: String,
    pub starts_at: String,
    pub ends_at: String,
    pub place: String,
    pub room: String,
    pub public: bool,
    pub draft: bool,
}

impl ComposeValues {
    pub fn of(fields: &PostFields) -> Self {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        let on = |o: &Option<String>| matches!(o.as_deref(), Some("on" | "1" | "true"));
        Self {
            kind: fields.kind.clone().unwrap_or_else(|| "post".into()),
            title: v(&fields.title),
            body: v(&fields.body),
            url: v(&fields.url),
            starts_at: v(&fields.starts_at),
            ends_at: v(&fields.ends_at),
            place: v(&fields.place),
            room: v(&fields.room),
            public: on(&fields.public),
            draft: on(&fields.draft),
        }
    }
}

#[derive(Template)]
#[template(path = "edit.html")]
pub struct EditPage {
    pub layout: Layout,
    pub id: String,
    pub title: String,
    pub body: String,
    pub error: Option<String>,
}

pub struct HistoryEntry {
    pub when: String,
    pub by: String,
    pub version: u64,
    pub title: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub layout: Layout,
    pub id: String,
    pub title: String,
    pub entries: Vec<HistoryEntry>,
}

pub struct ReportEntry {
    pub target: String,
    pub link: String,
    pub label: String,
    pub reason: String,
    pub reporter: String,
    pub when: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
pub struct ReportsPage {
    pub layout: Layout,
    pub entries: Vec<ReportEntry>,
}

/// What the post template shows, worked out once.
pub struct PostView<'a> {
    pub page: &'a PostPage,
    pub access: Access,
    pub signed_in: bool,
    pub new_comments: i64,
    pub url: String,
    pub published: bool,
    pub when: String,
    pub starts: Option<String>,
    pub ends: Option<String>,
    pub script: String,
    /// The viewer is going (events).
    pub going: bool,
    pub is_self: bool,
    pub can_edit: bool,
    /// The comment thread, for approved members (set by the page handler).
    pub thread: Option<lodge::thread::ThreadView>,
}

impl<'a> PostView<'a> {
    pub fn new(page: &'a PostPage, access: Access, viewer: Option<&Viewer>, new_comments: i64, url: String) -> Self {
        let card = &page.card;
        Self {
            access,
            signed_in: viewer.is_some(),
            new_comments,
            url,
            published: card.state == PostState::Published,
            when: lodge::clock::format_utc(card.published_at.unwrap_or(card.created_at) / 1000),
            starts: card.starts_at.map(|t| lodge::clock::format_utc(t / 1000)),
            ends: card.ends_at.map(|t| lodge::clock::format_utc(t / 1000)),
            script: crate::script::url(),
            going: page.reader.rsvp_at.is_some(),
            is_self: viewer.is_some_and(|v| card.is_author(&v.member.id)),
            can_edit: access.can_edit(card),
            thread: None,
            page,
        }
    }

    pub fn page(self, viewer: Option<&lodge::domain::Member>) -> PostTemplate<'a> {
        PostTemplate {
            layout: Layout::new(self.page.card.title.clone(), viewer),
            v: self,
        }
    }

    pub fn starts_iso(&self) -> String {
        self.page.card.starts_at.map(rfc3339_ms).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "post.html")]
pub struct PostTemplate<'a> {
    pub layout: Layout,
    pub v: PostView<'a>,
}
