//! Paths of pages that other pages, emails and the bot link to, built in
//! one place so a link follows its page's route.

use crate::domain::MemberId;

/// A member's profile (`GET /members/{id}`).
pub fn member(id: &MemberId) -> String {
    format!("/members/{id}")
}

/// A member as staff see them (`GET /admin/members/{id}`).
pub fn admin_member(id: &MemberId) -> String {
    format!("/admin/members/{id}")
}
