//! Types that cannot hold bad values. Requests are parsed into these at the
//! edge; everything behind the edge can trust them.

/// What every string id type shares, whatever makes its values: conversions
/// for serde (`try_from`/`into` String), `Display`, and a `Debug` that names
/// the kind. The type must have `parse(&str) -> Result<Self, String>` and a
/// `String` field; `fmt` must be in scope.
macro_rules! id_string_impls {
    ($name:ident, $what:literal) => {
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($what, "#{}"), &self.0)
            }
        }
    };
}

mod bot_chat;
mod decision;
pub mod dialog;
pub mod digest;
mod email;
mod event;
mod field;
pub mod forwarding;
mod intro;
mod invite_code;
mod login_code;
mod member;
mod member_record;
mod new_post;
pub mod notification;
mod post;
mod post_id;
/// A helpdesk question being asked in the bot (issue 13).
pub mod question;
mod room;

pub use bot_chat::BotChat;
pub use decision::{DecisionRecord, DecisionSummary, ReviewResult};
pub use email::Email;
pub use event::{days_from_civil, EventWindow, Venue};
pub use field::{FieldError, FieldErrors};
pub use intro::{About, DisplayName, Links};
pub use invite_code::InviteCode;
pub use login_code::LoginCode;
pub use member::{MemberId, MemberStatus, Role, SessionId};
pub use member_record::{Member, StaffEntry, TelegramLink, MAX_MUTED_MEMBERS, MAX_MUTED_ROOMS};
pub use new_post::{NewPost, PostContent, PostFields};
pub use post::{CommentBody, LinkUrl, PostBody, PostKind, PostTitle, RoomSlug, TelegramMessage, Visibility};
pub use post_id::{CommentId, PostId};
pub use room::{RoomDescription, RoomTitle};
