//! The sign-in pages. All text is escaped by askama.

use askama::Template;
use lodge::domain::Member;
use lodge::web::Layout;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub layout: Layout,
    pub email: &'a str,
    pub next: &'a str,
    pub error: Option<String>,
}

/// Opened from an emailed link: a GET never consumes the code or token
/// (mail scanners follow links); the button POSTs `field` = `value` to `action`.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage<'a> {
    pub layout: Layout,
    pub action: &'a str,
    pub email: &'a str,
    pub field: &'a str,
    pub value: &'a str,
    pub next: &'a str,
}

#[derive(Template)]
#[template(path = "me.html")]
pub struct MePage<'a> {
    pub layout: Layout,
    pub member: &'a Member,
    pub joined: String,
}

pub const SENT_NOTICE: &str = "If this address belongs to a member, a code is on its way. \
No account yet? Ask a member for an invite.";
