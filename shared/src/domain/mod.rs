//! Types that cannot hold bad values. Requests are parsed into these at the
//! edge; everything behind the edge can trust them.

mod email;
mod intro;
mod invite_code;
mod login_code;
mod member;

pub use email::Email;
pub use intro::{About, DisplayName, Links};
pub use invite_code::InviteCode;
pub use login_code::LoginCode;
pub use member::{MemberId, MemberStatus, Role, SessionId};
