use askama::Template;
use lodge::domain::Member;
use lodge::store::rooms::Room;
use lodge::web::Layout;

use crate::cards::CardView;

pub struct SortLink {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// A room as its header and the rooms list show it, for one viewer.
pub struct RoomHeader {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub subscribed: bool,
    pub muted: bool,
}

impl RoomHeader {
    pub fn of(room: &Room, viewer: &Member) -> Self {
        Self {
            slug: room.slug.to_string(),
            title: room.title.clone(),
            description: room.description.clone(),
            subscribed: viewer.subscribed_rooms.contains(&room.slug),
            muted: viewer.muted_rooms.contains(&room.slug),
        }
    }
}

/// Home, a room's feed and bookmarks: a list of cards.
#[derive(Template)]
#[template(path = "feed.html")]
pub struct FeedPage {
    pub layout: Layout,
    pub heading: String,
    pub sorts: Vec<SortLink>,
    pub filter: Option<String>,
    pub pinned: Vec<CardView>,
    pub events: Vec<CardView>,
    pub cards: Vec<CardView>,
    pub next: Option<String>,
    /// Intros waiting, for staff on home.
    pub on_review: Option<usize>,
    pub room: Option<RoomHeader>,
    pub bookmarks: bool,
}

#[derive(Template)]
#[template(path = "rooms.html")]
pub struct RoomsPage {
    pub layout: Layout,
    pub rooms: Vec<RoomHeader>,
    pub is_admin: bool,
}

#[derive(Template)]
#[template(path = "admin_rooms.html")]
pub struct AdminRoomsPage {
    pub layout: Layout,
    pub rooms: Vec<Room>,
    pub error: Option<String>,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "feed_token.html")]
pub struct TokenPage {
    pub layout: Layout,
    /// When the current private link was made, if there is one.
    pub since: Option<String>,
    /// The new links, shown once right after they are made.
    pub rss: Option<String>,
    pub json: Option<String>,
}
