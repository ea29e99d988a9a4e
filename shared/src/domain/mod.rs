//! Types that cannot hold bad values. Requests are parsed into these at the
//! edge; everything behind the edge can trust them.

mod bot_chat;
mod decision;
pub mod dialog;
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
mod post;
mod post_id;

pub use bot_chat::BotChat;
pub use decision::{DecisionRecord, DecisionSummary, ReviewResult};
pub use email::Email;
pub use event::{days_from_civil, EventWindow, Venue};
pub use field::{FieldError, FieldErrors};
pub use intro::{About, DisplayName, Links};
pub use invite_code::InviteCode;
pub use login_code::LoginCode;
pub use member::{MemberId, MemberStatus, Role, SessionId};
pub use member_record::{Member, StaffEntry, TelegramLink};
pub use new_post::{NewPost, PostContent, PostFields};
pub use post::{CommentBody, LinkUrl, PostBody, PostKind, PostTitle, RoomSlug, Visibility};
pub use post_id::{CommentId, PostId};
