use askama::Template;

use super::WebError;

/// What every page's layout needs.
pub struct Layout {
    pub title: String,
    /// The signed-in member's display name, for the header.
    pub viewer: Option<String>,
    /// Their unread notifications, for the header's bell (issue 13).
    pub unread: i64,
}

impl Layout {
    /// A page for `viewer` (`None`: signed out). Name and unread count come
    /// with the profile the session check read anyway, so the bell costs no read.
    pub fn new(title: impl Into<String>, viewer: Option<&crate::domain::Member>) -> Self {
        Self {
            title: title.into(),
            viewer: viewer.map(|m| m.name().to_string()),
            unread: viewer.map_or(0, |m| m.unread_notifications.max(0)),
        }
    }

    /// A page for a signed-in member.
    pub fn for_member(title: impl Into<String>, member: &crate::domain::Member) -> Self {
        Self::new(title, Some(member))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub layout: Layout,
    pub status: u16,
    pub message: &'a str,
    pub request_id: &'a str,
}

impl ErrorPage<'_> {
    pub fn render(err: &WebError, request_id: &str) -> String {
        let title = err.status.canonical_reason().unwrap_or("Error").to_string();
        ErrorPage {
            layout: Layout::new(title, None),
            status: err.status.as_u16(),
            message: &err.message,
            request_id,
        }
        .render()
        .unwrap_or_else(|_| err.message.clone())
    }
}

/// A page with a heading, a paragraph and an optional link onwards.
#[derive(Template)]
#[template(path = "notice.html")]
pub struct NoticePage {
    pub layout: Layout,
    pub heading: String,
    pub body: String,
    pub link: Option<(String, String)>,
}

/// The "enter your code" form, shown after a code was sent (sign-in or joining).
#[derive(Template)]
#[template(path = "code.html")]
pub struct CodePage<'a> {
    pub layout: Layout,
    pub email: &'a str,
    pub code: &'a str,
    pub next: &'a str,
    /// Explains where the code went.
    pub notice: Option<&'a str>,
    pub error: Option<String>,
}
