//! The listings a published post sits in, and the attributes every listing
//! item carries (docs/posts.md, "Listings and indexes"). This is the one
//! contract between the code that writes posts and comments (which keeps
//! every copy of a card in step, in one transaction) and the feed queries
//! that read them: both name listings, sort keys and index attributes only
//! through this module.

use serde::{Deserialize, Serialize};

use crate::domain::{MemberId, PostId, PostKind, RoomSlug, Visibility};
use crate::feed::hot::Hot;
use crate::feed::order::{iso_week, month};

/// One ordered list of published, visible posts.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Listing {
    /// The main feed.
    All,
    Type(PostKind),
    Room(RoomSlug),
    /// Readable signed out: RSS, JSON Feed and public pages.
    Public,
    /// A member's posts, for profiles.
    Author(MemberId),
}

impl Listing {
    /// The listing's name: the `lst` attribute and the partition of its indexes.
    pub fn name(&self) -> String {
        match self {
            Listing::All => "ALL".into(),
            Listing::Type(kind) => format!("TYPE#{kind}"),
            Listing::Room(slug) => format!("ROOM#{slug}"),
            Listing::Public => "PUBLIC".into(),
            Listing::Author(id) => format!("AUTHOR#{id}"),
        }
    }

    /// The sort key of the post's item for this listing, in the post's
    /// partition (`POST#<id>`): the `POST` card itself is its `ALL` entry.
    pub fn sort_key(&self) -> &'static str {
        match self {
            Listing::All => "POST",
            Listing::Type(_) => "LIST#TYPE",
            Listing::Room(_) => "LIST#ROOM",
            Listing::Public => "LIST#PUBLIC",
            Listing::Author(_) => "LIST#AUTHOR",
        }
    }

    /// Every listing a published post with these properties belongs to,
    /// `All` first. 3 to 5 of them.
    pub fn of(kind: PostKind, room: Option<&RoomSlug>, visibility: Visibility, author: &MemberId) -> Vec<Listing> {
        let mut out = vec![Listing::All, Listing::Type(kind)];
        if let Some(room) = room {
            out.push(Listing::Room(room.clone()));
        }
        if visibility.is_public() {
            out.push(Listing::Public);
        }
        out.push(Listing::Author(author.clone()));
        out
    }
}

/// The attributes that put a listing item into the feed indexes. A draft, a
/// deleted and a hidden post have none of them, so every index is sparse.
/// Times are Unix milliseconds, except that the hot score's era is the one
/// `feed::hot` computes from seconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListingAttrs {
    /// The listing's name (`activity` and `top` indexes' partition).
    pub lst: String,
    /// `lst` again, for the `gsi1` (new) index.
    pub gsi1pk: String,
    /// `<published ms:013>#<post id>`.
    pub gsi1sk: String,
    /// Last comment or publication, ms.
    pub activity: i64,
    /// `<lst>#<era>`.
    pub hot_pk: String,
    pub hot: f64,
    pub hot_era: i64,
    pub upvotes: i64,
    /// `<lst>#<ISO week of publication>`.
    pub top_w: String,
    /// `<lst>#<yyyy-mm of publication>`.
    pub top_m: String,
    pub published_at: i64,
}

impl ListingAttrs {
    /// The names of the attributes above, for the `REMOVE` that takes a post
    /// out of every index (unpublish, delete, hide).
    pub const NAMES: [&'static str; 11] = [
        "lst",
        "gsi1pk",
        "gsi1sk",
        "activity",
        "hot_pk",
        "hot",
        "hot_era",
        "upvotes",
        "top_w",
        "top_m",
        "published_at",
    ];

    pub fn new(listing: &Listing, post: &PostId, published_ms: i64, activity_ms: i64, hot: Hot, upvotes: i64) -> Self {
        let lst = listing.name();
        let published_s = published_ms.div_euclid(1000);
        Self {
            gsi1pk: lst.clone(),
            gsi1sk: new_sort_key(published_ms, post),
            activity: activity_ms,
            hot_pk: hot_partition(&lst, hot.era),
            hot: hot.score,
            hot_era: hot.era,
            upvotes,
            top_w: format!("{lst}#{}", iso_week(published_s)),
            top_m: format!("{lst}#{}", month(published_s)),
            published_at: published_ms,
            lst,
        }
    }
}

/// `gsi1sk` of a listing item: newest first when read backwards.
pub fn new_sort_key(published_ms: i64, post: &PostId) -> String {
    format!("{published_ms:013}#{post}")
}

/// The `hot` index's partition for a listing in an era.
pub fn hot_partition(lst: &str, era: i64) -> String {
    format!("{lst}#{era}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member() -> MemberId {
        MemberId::generate()
    }

    #[test]
    fn a_public_post_in_a_room_sits_in_five_listings_all_first() {
        let room = RoomSlug::parse("travel").unwrap();
        let author = member();
        let l = Listing::of(PostKind::Event, Some(&room), Visibility::Public, &author);
        let names: Vec<String> = l.iter().map(Listing::name).collect();
        assert_eq!(names[..4], ["ALL", "TYPE#event", "ROOM#travel", "PUBLIC"]);
        assert_eq!(names[4], format!("AUTHOR#{author}"));
        let sks: Vec<&str> = l.iter().map(Listing::sort_key).collect();
        assert_eq!(sks, ["POST", "LIST#TYPE", "LIST#ROOM", "LIST#PUBLIC", "LIST#AUTHOR"]);
    }

    #[test]
    fn a_members_only_post_without_a_room_sits_in_three() {
        let l = Listing::of(PostKind::Post, None, Visibility::Members, &member());
        assert_eq!(l.len(), 3);
    }

    #[test]
    fn attributes_name_the_listing_in_every_index_key() {
        // 2026-12-02T00:00:00Z
        let ms = 1_796_169_600_000;
        let post = PostId::from_parts(ms, 7);
        let a = ListingAttrs::new(&Listing::All, &post, ms, ms, Hot::published(ms / 1000), 0);
        assert_eq!(a.lst, "ALL");
        assert_eq!(a.gsi1pk, "ALL");
        assert_eq!(a.gsi1sk, format!("1796169600000#{post}"));
        assert_eq!(a.top_w, "ALL#2026-W49");
        assert_eq!(a.top_m, "ALL#2026-12");
        assert_eq!(a.hot_pk, format!("ALL#{}", a.hot_era));
        assert_eq!(ListingAttrs::NAMES.len(), 11);
    }
}
