use askama::Template;
use lodge::domain::DecisionRecord;
use lodge::domain::Member;
use lodge::web::Layout;

/// A member as other members see them.
#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage<'a> {
    pub layout: Layout,
    pub member: &'a Member,
    pub joined: String,
    pub invited_by: Option<(String, String)>,
    pub is_self: bool,
}

#[derive(Template)]
#[template(path = "status.html")]
pub struct StatusPage<'a> {
    pub layout: Layout,
    pub member: &'a Member,
}

#[derive(Template)]
#[template(path = "intro.html")]
pub struct IntroPage<'a> {
    pub layout: Layout,
    pub name: &'a str,
    pub about: &'a str,
    pub links: &'a str,
    pub error: Option<String>,
    /// The moderators' reason, when they sent it back.
    pub rejected_because: Option<String>,
}

pub struct QueueEntry<'a> {
    pub member: &'a Member,
    pub submitted: String,
}

#[derive(Template)]
#[template(path = "moderation.html")]
pub struct ModerationPage<'a> {
    pub layout: Layout,
    pub entries: Vec<QueueEntry<'a>>,
    pub reasons: Vec<(&'static str, String)>,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "member_admin.html")]
pub struct MemberAdminPage<'a> {
    pub layout: Layout,
    pub member: &'a Member,
    pub history: Vec<(DecisionRecord, String)>,
    pub viewer_is_admin: bool,
    /// Wrong guesses locked sign-in by code for the member's address.
    pub code_sign_in_locked: bool,
}
