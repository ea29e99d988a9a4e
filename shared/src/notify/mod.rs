//! Notifications (issue 13, docs/notifications.md): who hears of an event
//! (`audience`) and how it reads (`render`). The data they work on (the
//! event, kinds, preferences, deliveries) is `domain::notification`,
//! re-exported here. Pure: the table is `store::notifications`, the queues
//! are the functions'.

pub mod render;

use std::collections::HashMap;

use crate::domain::MemberId;

pub use crate::domain::notification::{delivery_key, prefs, Channel, ContentEvent, Delivery, Kind, Prefs, Switches};

/// At most one notification email per member in this many seconds; the
/// first line of a quiet spell waits this long for others to join it.
pub const EMAIL_WINDOW_SECS: i64 = 15 * 60;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CommentId, PostId, RoomSlug};

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
