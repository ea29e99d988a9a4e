//! Notifications (issue 13, docs/notifications.md): what happened
//! (`ContentEvent`, the `content` queue's contract), who hears of it
//! (`audience`), on which channels (`prefs`), and the one delivery per
//! (event, recipient, channel) that `fanout` queues for `notifier`
//! (`Delivery`). Pure: the table is `store::notifications`, the queues are
//! the functions'.

pub mod prefs;
pub mod render;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::{CommentId, MemberId, PostId, RoomSlug};

pub use prefs::{Channel, Prefs, Switches};

/// At most one notification email per member in this many seconds; the
/// first line of a quiet spell waits this long for others to join it.
pub const EMAIL_WINDOW_SECS: i64 = 15 * 60;

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

/// What the fan-out looked up about an event's post (the rest is in the event).
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub post_author: Option<MemberId>,
    pub followers: Vec<MemberId>,
    pub subscribers: Vec<MemberId>,
}

/// Who hears of `event`, each once with the most specific kind, never the
/// actor. Mutes and preferences are applied per recipient afterwards.
pub fn audience(event: &ContentEvent, facts: &Facts) -> Vec<(MemberId, Kind)> {
    let mut out: HashMap<MemberId, Kind> = HashMap::new();
    let mut add = |who: &MemberId, kind: Kind| {
        out.entry(who.clone())
            .and_modify(|k| *k = (*k).min(kind))
            .or_insert(kind);
    };
    match event {
        ContentEvent::CommentCreated {
            parent_author,
            mentions,
            ..
        } => {
            for f in &facts.followers {
                add(f, Kind::FollowedPost);
            }
            if let Some(a) = &facts.post_author {
                add(a, Kind::CommentOnPost);
            }
            for m in mentions {
                add(m, Kind::Mention);
            }
            if let Some(p) = parent_author {
                add(p, Kind::Reply);
            }
        }
        ContentEvent::PostPublished { mentions, .. } => {
            for s in &facts.subscribers {
                add(s, Kind::RoomPost);
            }
            for m in mentions {
                add(m, Kind::Mention);
            }
        }
        ContentEvent::IntroDecided { member, .. } => add(member, Kind::IntroDecided),
        ContentEvent::ReportResolved { reporter, .. } => add(reporter, Kind::ReportResolved),
    }
    if let Some(actor) = event.actor() {
        out.remove(actor);
    }
    let mut list: Vec<_> = out.into_iter().collect();
    list.sort_by(|a, b| (a.1, a.0.as_str()).cmp(&(b.1, b.0.as_str())));
    list
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
    pub note: render::Note,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<MemberId> {
        (0..n).map(|_| MemberId::generate()).collect()
    }

    fn comment(author: &MemberId, parent: Option<&MemberId>, mentions: &[MemberId]) -> ContentEvent {
        ContentEvent::CommentCreated {
            post: PostId::generate(1),
            comment: CommentId::generate(2),
            path: "x".into(),
            author: author.clone(),
            parent_author: parent.cloned(),
            mentions: mentions.to_vec(),
            at_ms: 2,
        }
    }

    #[test]
    fn each_recipient_once_with_the_most_specific_kind_and_never_the_actor() {
        let m = ids(5);
        let (actor, post_author, parent, follower, mentioned) = (&m[0], &m[1], &m[2], &m[3], &m[4]);
        let facts = Facts {
            post_author: Some(post_author.clone()),
            followers: vec![post_author.clone(), parent.clone(), follower.clone(), actor.clone()],
            subscribers: vec![],
        };
        let got: HashMap<_, _> = audience(
            &comment(actor, Some(parent), &[mentioned.clone(), actor.clone(), parent.clone()]),
            &facts,
        )
        .into_iter()
        .collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[post_author], Kind::CommentOnPost);
        assert_eq!(got[parent], Kind::Reply);
        assert_eq!(got[follower], Kind::FollowedPost);
        assert_eq!(got[mentioned], Kind::Mention);
        assert!(!got.contains_key(actor));
    }

    #[test]
    fn a_reply_to_yourself_on_your_own_post_notifies_nobody() {
        let a = MemberId::generate();
        let facts = Facts {
            post_author: Some(a.clone()),
            followers: vec![a.clone()],
            subscribers: vec![],
        };
        assert!(audience(&comment(&a, Some(&a), std::slice::from_ref(&a)), &facts).is_empty());
    }

    #[test]
    fn posts_reach_room_subscribers_and_the_mentioned() {
        let m = ids(3);
        let event = ContentEvent::PostPublished {
            post: PostId::generate(1),
            author: m[0].clone(),
            room: Some(RoomSlug::parse("travel").unwrap()),
            mentions: vec![m[2].clone()],
            at_ms: 1,
        };
        let facts = Facts {
            subscribers: vec![m[0].clone(), m[1].clone(), m[2].clone()],
            ..Facts::default()
        };
        let got = audience(&event, &facts);
        assert_eq!(got.len(), 2);
        assert!(got.contains(&(m[1].clone(), Kind::RoomPost)));
        assert!(got.contains(&(m[2].clone(), Kind::Mention)));
    }

    #[test]
    fn keys_are_url_safe_and_kinds_round_trip() {
        let e = comment(&MemberId::generate(), None, &[]);
        assert!(e
            .key()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'));
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"event\":\"comment_created\""), "{json}");
        assert_eq!(serde_json::from_str::<ContentEvent>(&json).unwrap(), e);
    }
}
