use askama::Template;
use lodge::store::invites::Invite;
use lodge::web::Layout;

pub struct InviteRow<'a> {
    pub invite: &'a Invite,
    pub state: &'static str,
    pub url: String,
    pub expires: String,
    pub used_by: Option<String>,
}

#[derive(Template)]
#[template(path = "invites.html")]
pub struct InvitesPage<'a> {
    pub layout: Layout,
    pub rows: Vec<InviteRow<'a>>,
    pub created: Option<String>,
    pub quota: Option<u32>,
}

#[derive(Template)]
#[template(path = "invite.html")]
pub struct InvitePage<'a> {
    pub layout: Layout,
    pub code: &'a str,
    pub inviter: &'a str,
    pub email: &'a str,
    pub error: Option<String>,
}
