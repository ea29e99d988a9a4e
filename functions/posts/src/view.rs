//! Who may see a post, and the post as API clients get it.

use lodge::auth::Viewer;
use lodge::store::posts::{Card, PostState, Reader};
use serde_json::{json, Value};

/// The viewer's standing towards one post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    pub author: bool,
    pub moderator: bool,
    pub member: bool,
}

impl Access {
    pub fn of(viewer: Option<&Viewer>, card: &Card) -> Self {
        let member = viewer.filter(|v| v.is_approved());
        Self {
            author: member.is_some_and(|v| card.is_author(&v.member.id)),
            moderator: member.is_some_and(|v| v.member.role.can_moderate()),
            member: member.is_some(),
        }
    }

    /// Drafts are the author's; deleted and hidden posts are their author's
    /// and the moderators'; the rest is for members, and public posts for all.
    pub fn can_read(self, card: &Card) -> bool {
        match card.state {
            PostState::Published => self.member || card.visibility.is_public(),
            PostState::Draft => self.author,
            PostState::Deleted | PostState::Hidden => self.author || self.moderator,
        }
    }

    pub fn can_edit(self, card: &Card) -> bool {
        card.state != PostState::Deleted && (self.author || self.moderator)
    }
}

pub fn rfc3339_ms(ms: i64) -> String {
    lodge::clock::rfc3339(ms.div_euclid(1000))
}

/// How many comments arrived since the viewer last opened the post.
pub fn new_comments(card: &Card, reader: &Reader, signed_in: bool) -> i64 {
    if !signed_in {
        return 0;
    }
    (card.comment_seq - reader.seen_seq.unwrap_or(0)).max(0)
}

/// The post's JSON (issue 12, "Routes").
pub fn post_json(card: &Card, html: Option<&str>, reader: &Reader, signed_in: bool) -> Value {
    let mut v = json!({
        "id": card.id,
        "type": card.kind,
        "title": card.title,
        "author": {"id": card.author_id, "name": card.author_name},
        "room": card.room,
        "public": card.visibility.is_public(),
        "state": card.state,
        "upvotes": card.upvotes,
        "comment_count": card.comment_count,
        "new_comments": new_comments(card, reader, signed_in),
        "created_at": rfc3339_ms(card.created_at),
        "published_at": card.published_at.map(rfc3339_ms),
        "edited_at": card.edited_at.map(rfc3339_ms),
        "version": card.version,
        "closed": card.closed,
        "excerpt": card.excerpt,
        "voted": reader.voted_at.is_some(),
        "bookmarked": reader.bookmarked_at.is_some(),
    });
    if let Some(html) = html {
        v["html"] = json!(html);
    }
    if let Some(url) = &card.link_url {
        v["url"] = json!(url);
    }
    if let Some(starts) = card.starts_at {
        v["event"] = json!({
            "starts_at": rfc3339_ms(starts),
            "ends_at": card.ends_at.map(rfc3339_ms),
            "place": card.venue,
            "online": card.venue_online,
            "going": card.going,
            "rsvp": reader.rsvp_at.is_some(),
        });
    }
    if let Some(reason) = &card.hidden_reason {
        v["hidden_reason"] = json!(reason);
    }
    if let Some(until) = card.pinned_until {
        v["pinned_until"] = json!(rfc3339_ms(until));
    }
    v
}
