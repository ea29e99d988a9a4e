//! What notifications are made of (issue 13, docs/notifications.md): the
//! event a write sends (`ContentEvent`, the `content` queue's contract), why
//! a member hears of it (`Kind`), the words (`Note`, `EmailLine`), one
//! delivery per (event, recipient, channel) (`Delivery`), and each member's
//! switches (`prefs`). Data only, so `store` and `queue` can hold it; who
//! hears of what and how it reads are `notify`'s.

pub mod prefs;

use serde::{Deserialize, Serialize};

use crate::domain::{CommentId, MemberId, PostId, RoomSlug};

pub use prefs::{Channel, Prefs, Switches};

/// Something members may hear about. The writer sends it after its write
/// committed; times are Unix milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ContentEvent {
    /// A comment was created (on the web or by a reply in Telegram).
    CommentCreated {
        post: PostId,
        comment: CommentId,
        /// The comment's thread path (`<c1>`, `<c1>#<c2>`, …: docs/posts.md),
        /// so the comment can be re-read at delivery.
        path: String,
        author: MemberId,
        /// The author of the comment this one answers; `None` at the top level.
        #[serde(default)]
        parent_author: Option<MemberId>,
        #[serde(default)]
        mentions: Vec<MemberId>,
        at_ms: i64,
    },
    /// A post was published (not saved as a draft).
    PostPublished {
        post: PostId,
        author: MemberId,
        #[serde(default)]
        room: Option<RoomSlug>,
        #[serde(default)]
        mentions: Vec<MemberId>,
        at_ms: i64,
    },
    /// A moderator approved or rejected a member's intro.
    IntroDecided {
        member: MemberId,
        approved: bool,
        at_ms: i64,
    },
    /// A report a member filed was resolved.
    ReportResolved {
        reporter: MemberId,
        post: PostId,
        #[serde(default)]
        comment: Option<CommentId>,
        /// True when the moderators acted on it (hid the content).
        upheld: bool,
        at_ms: i64,
    },
}

/// Why a member hears of an event: the rows of issue 13's table. One
/// member gets one notification per event, of the most specific kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A reply to your comment.
    Reply,
    /// An `@mention` of you.
    Mention,
    /// A comment on your post.
    CommentOnPost,
    /// A new comment in a post you follow.
    FollowedPost,
    /// A new post in a room you subscribed to.
    RoomPost,
    IntroDecided,
    ReportResolved,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Reply,
        Kind::Mention,
        Kind::CommentOnPost,
        Kind::FollowedPost,
        Kind::RoomPost,
        Kind::IntroDecided,
        Kind::ReportResolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reply => "reply",
            Kind::Mention => "mention",
            Kind::CommentOnPost => "comment_on_post",
            Kind::FollowedPost => "followed_post",
            Kind::RoomPost => "room_post",
            Kind::IntroDecided => "intro_decided",
            Kind::ReportResolved => "report_resolved",
        }
    }

    pub fn parse(raw: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Whether a notification of this kind is dropped once its post or
    /// comment is hidden, deleted or unpublished. Not a report's outcome:
    /// hiding the content is often what it tells.
    pub fn needs_visible_content(self) -> bool {
        !matches!(self, Kind::ReportResolved | Kind::IntroDecided)
    }

    /// What the settings page calls it.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Reply => "A reply to your comment",
            Kind::Mention => "An @mention of you",
            Kind::CommentOnPost => "A comment on your post",
            Kind::FollowedPost => "A new comment in a post you follow",
            Kind::RoomPost => "A new post in a room you subscribed to",
            Kind::IntroDecided => "Your intro was approved or rejected",
            Kind::ReportResolved => "A report you filed was resolved",
        }
    }
}

impl ContentEvent {
    /// Who did it: nobody is notified of their own action, nor by a member
    /// they muted. `None` for moderation outcomes (the club speaks).
    pub fn actor(&self) -> Option<&MemberId> {
        match self {
            ContentEvent::CommentCreated { author, .. } | ContentEvent::PostPublished { author, .. } => Some(author),
            ContentEvent::IntroDecided { .. } | ContentEvent::ReportResolved { .. } => None,
        }
    }

    /// `Kind::needs_visible_content` for the event's notifications.
    pub fn needs_visible_content(&self) -> bool {
        !matches!(
            self,
            ContentEvent::ReportResolved { .. } | ContentEvent::IntroDecided { .. }
        )
    }

    pub fn at_ms(&self) -> i64 {
        match self {
            ContentEvent::CommentCreated { at_ms, .. }
            | ContentEvent::PostPublished { at_ms, .. }
            | ContentEvent::IntroDecided { at_ms, .. }
            | ContentEvent::ReportResolved { at_ms, .. } => *at_ms,
        }
    }

    /// Names the event in idempotency keys and inbox ids: lower-case
    /// letters, digits, `.` and `-` only.
    pub fn key(&self) -> String {
        match self {
            ContentEvent::CommentCreated { comment, .. } => format!("c.{comment}"),
            ContentEvent::PostPublished { post, at_ms, .. } => format!("p.{post}.{at_ms}"),
            ContentEvent::IntroDecided { member, at_ms, .. } => format!("i.{member}.{at_ms}"),
            ContentEvent::ReportResolved {
                reporter,
                post,
                comment,
                at_ms,
                ..
            } => match comment {
                Some(c) => format!("r.{reporter}.{c}.{at_ms}"),
                None => format!("r.{reporter}.{post}.{at_ms}"),
            },
        }
    }

    /// The post it is about, and the comment's id and path when it is one.
    pub fn post(&self) -> Option<&PostId> {
        match self {
            ContentEvent::CommentCreated { post, .. }
            | ContentEvent::PostPublished { post, .. }
            | ContentEvent::ReportResolved { post, .. } => Some(post),
            ContentEvent::IntroDecided { .. } => None,
        }
    }

    pub fn comment(&self) -> Option<(&CommentId, &str)> {
        match self {
            ContentEvent::CommentCreated { comment, path, .. } => Some((comment, path)),
            _ => None,
        }
    }
}

/// The words of one notification: plain text, escaped where it is shown.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Who did it (empty for moderation outcomes).
    #[serde(default)]
    pub actor_name: String,
    /// The post's title.
    #[serde(default)]
    pub title: String,
    /// The start of the comment or post, or the outcome.
    #[serde(default)]
    pub excerpt: String,
    /// The page, as a path: `/posts/{id}#c-<comment>` for a comment.
    pub path: String,
}

/// One line of a coalesced email, waiting in the member's mailbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EmailLine {
    /// The delivery it came from (`Delivery::key`), unique in the mailbox.
    pub id: String,
    pub line: String,
    #[serde(default)]
    pub excerpt: String,
    /// Absolute URL of the page.
    pub url: String,
    /// When it was queued (seconds): a flush takes the lines queued before its due time.
    pub at: i64,
}

/// One notification for one member on one channel: everything the
/// deliverer needs to send it, rendered at fan-out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// `ContentEvent::key`.
    pub event: String,
    pub recipient: MemberId,
    pub channel: Channel,
    pub about: Kind,
    #[serde(default)]
    pub post: Option<PostId>,
    /// The comment and its thread path, re-read at delivery.
    #[serde(default)]
    pub comment: Option<(CommentId, String)>,
    pub note: Note,
    pub at_ms: i64,
}

impl Delivery {
    /// The idempotency key: one per (event, recipient, channel).
    pub fn key(&self) -> String {
        delivery_key(&self.event, &self.recipient, self.channel)
    }
}

pub fn delivery_key(event: &str, recipient: &MemberId, channel: Channel) -> String {
    format!("{event}#{recipient}#{}", channel.as_str())
}
