//! Home (the feed), rooms and a room's feed, bookmarks. Each page is HTML,
//! or `{"posts": […], "next_cursor": …}` with `Accept: application/json`.

use lambda_http::http::StatusCode;
use lodge::auth::Viewer;
use lodge::domain::{FieldError, MemberStatus, PostKind, RoomSlug};
use lodge::feed::{FeedOrder, TopPeriod};
use lodge::store::feed::{Mutes, Page, ViewerCard};
use lodge::store::listing::Listing;
use lodge::web::{self, Ctx, Reply, WebError};
use serde_json::json;

use crate::cards::{self, CardView};
use crate::pages::{FeedPage, RoomsPage, SortLink};
use crate::State;

/// `?sort=&period=&type=&room=`, parsed once; a bad value is a 400 naming it.
pub(crate) struct FeedQuery {
    pub order: FeedOrder,
    pub listing: Listing,
    pub cursor: Option<String>,
}

fn field(e: FieldError) -> WebError {
    WebError::bad_request(format!("{}: {}.", e.field, e.problem)).with_code("bad_query")
}

impl FeedQuery {
    pub fn parse(ctx: &Ctx, room: Option<RoomSlug>) -> Result<Self, WebError> {
        let q = |name: &str| ctx.query_param(name).map(str::trim).filter(|v| !v.is_empty());
        let order = FeedOrder::parse(q("sort"), q("period")).map_err(field)?;
        let kind = q("type").map(PostKind::parse).transpose().map_err(field)?;
        let room = match (room, q("room")) {
            (Some(path), _) => Some(path),
            (None, Some(raw)) => Some(RoomSlug::parse(raw).map_err(field)?),
            (None, None) => None,
        };
        let listing = match (kind, room) {
            (Some(_), Some(_)) => {
                return Err(field(FieldError::new(
                    "type",
                    "cannot be combined with a room: filter by one of them",
                )))
            }
            (Some(kind), None) => Listing::Type(kind),
            (None, Some(room)) => Listing::Room(room),
            (None, None) => Listing::All,
        };
        Ok(Self {
            order,
            listing,
            cursor: ctx.query_param("cursor").map(str::to_string),
        })
    }

    fn sort_value(&self) -> (&'static str, &'static str) {
        match self.order {
            FeedOrder::Activity => ("activity", ""),
            FeedOrder::New => ("new", ""),
            FeedOrder::Hot => ("hot", ""),
            FeedOrder::Top(TopPeriod::Week) => ("top", "week"),
            FeedOrder::Top(TopPeriod::Month) => ("top", "month"),
            FeedOrder::Top(TopPeriod::Year) => ("top", "year"),
            FeedOrder::Top(TopPeriod::All) => ("top", "all"),
        }
    }

    /// The query string of this feed with other settings (`sort`, `cursor`).
    fn link(&self, base: &str, sort: Option<(&str, &str)>, cursor: Option<&str>) -> String {
        let (s, p) = sort.unwrap_or_else(|| self.sort_value());
        let mut pairs: Vec<(&str, String)> = vec![("sort", s.to_string())];
        if !p.is_empty() {
            pairs.push(("period", p.to_string()));
        }
        if let Listing::Type(kind) = &self.listing {
            pairs.push(("type", kind.to_string()));
        }
        if let (Listing::Room(room), "/") = (&self.listing, base) {
            pairs.push(("room", room.to_string()));
        }
        if let Some(c) = cursor {
            pairs.push(("cursor", c.to_string()));
        }
        format!("{base}?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    }

    fn sort_links(&self, base: &str) -> Vec<SortLink> {
        let current = self.sort_value();
        [
            ("activity", "", "Active"),
            ("new", "", "New"),
            ("hot", "", "Hot"),
            ("top", "week", "Top week"),
            ("top", "month", "month"),
            ("top", "year", "year"),
            ("top", "all", "all time"),
        ]
        .into_iter()
        .map(|(s, p, label)| SortLink {
            label,
            href: self.link(base, Some((s, p)), None),
            current: (s, p) == current,
        })
        .collect()
    }
}

fn bad_cursor(e: FieldError) -> WebError {
    WebError::bad_request(format!("{}: {}.", e.field, e.problem)).with_code("bad_cursor")
}

fn json_page(page: &Page, extra: serde_json::Value) -> Reply {
    let mut body = json!({
        "posts": page.cards.iter().map(cards::json).collect::<Vec<_>>(),
        "next_cursor": page.next,
    });
    if let (Some(obj), serde_json::Value::Object(more)) = (body.as_object_mut(), extra) {
        obj.extend(more);
    }
    web::json(StatusCode::OK, &body)
}

fn views(cards: &[ViewerCard]) -> Vec<CardView> {
    cards.iter().map(CardView::of).collect()
}

/// `GET /`: the feed for approved members, with pinned posts and the next
/// 14 days' events on top. Everyone else gets what they got before the
/// feed existed: signed out, the sign-in page (401 for API clients); not
/// approved yet, their status page (403 `not_approved`).
pub async fn home(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let query = FeedQuery::parse(ctx, None)?;
    let mutes = Mutes::of(&v.member);
    let now = state.clock.now_ms();
    let feed = state.store.feed();
    let staff = v.member.role.can_moderate();
    let (found, on_review) = tokio::join!(
        async {
            if query.listing == Listing::All {
                feed.home(query.order, &v.member.id, &mutes, query.cursor.as_deref(), now)
                    .await
                    .map(|r| r.map(|h| (h.page, h.pinned, h.events)))
            } else {
                feed.page(
                    &query.listing,
                    query.order,
                    Some(&v.member.id),
                    &mutes,
                    query.cursor.as_deref(),
                    now,
                )
                .await
                .map(|r| r.map(|p| (p, Vec::new(), Vec::new())))
            }
        },
        async {
            if staff && !ctx.wants_json {
                state
                    .store
                    .members()
                    .in_status(MemberStatus::OnReview)
                    .await
                    .map(|m| m.len())
            } else {
                Ok(0)
            }
        }
    );
    let (page, pinned, events) = found?.map_err(bad_cursor)?;
    if ctx.wants_json {
        return Ok(json_page(
            &page,
            json!({
                "pinned": pinned.iter().map(cards::json).collect::<Vec<_>>(),
                "events": events.iter().map(cards::json).collect::<Vec<_>>(),
            }),
        ));
    }
    let heading = format!("Welcome, {}", v.member.name());
    render(
        &v,
        &query,
        "/",
        heading,
        &page,
        FeedExtras {
            pinned: views(&pinned),
            events: views(&events),
            on_review: staff.then_some(on_review?),
            ..FeedExtras::default()
        },
    )
}

#[derive(Default)]
struct FeedExtras {
    pinned: Vec<CardView>,
    events: Vec<CardView>,
    on_review: Option<usize>,
    room: Option<crate::pages::RoomHeader>,
}

fn render(
    v: &Viewer,
    query: &FeedQuery,
    base: &str,
    heading: String,
    page: &Page,
    extras: FeedExtras,
) -> Result<Reply, WebError> {
    let filter = match &query.listing {
        Listing::Type(kind) => Some(format!("Only {kind}s")),
        Listing::Room(room) if base == "/" => Some(format!("Only the room {room}")),
        _ => None,
    };
    web::page(
        StatusCode::OK,
        FeedPage {
            layout: v.layout(heading.clone()),
            heading,
            sorts: query.sort_links(base),
            filter,
            pinned: extras.pinned,
            events: extras.events,
            cards: views(&page.cards),
            next: page.next.as_deref().map(|c| query.link(base, None, Some(c))),
            on_review: extras.on_review,
            room: extras.room,
            bookmarks: false,
        },
    )
}

/// `GET /rooms`: every room, with the viewer's subscriptions and mutes.
pub async fn rooms(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let rooms = state.store.rooms().list().await?;
    if ctx.wants_json {
        let list: Vec<_> = rooms
            .iter()
            .map(|r| {
                json!({
                    "slug": r.slug, "title": r.title, "description": r.description,
                    "subscribed": v.member.subscribed_rooms.contains(&r.slug),
                    "muted": v.member.muted_rooms.contains(&r.slug),
                })
            })
            .collect();
        return Ok(web::json(StatusCode::OK, &json!({ "rooms": list })));
    }
    web::page(
        StatusCode::OK,
        RoomsPage {
            layout: v.layout("Rooms"),
            rooms: rooms
                .iter()
                .map(|r| crate::pages::RoomHeader::of(r, &v.member))
                .collect(),
            is_admin: v.member.role == lodge::domain::Role::Admin,
        },
    )
}

/// `GET /rooms/{slug}`: the room and its feed, read together.
pub async fn room(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let slug = ctx.path_param("slug", RoomSlug::parse)?;
    let query = FeedQuery::parse(ctx, Some(slug.clone()))?;
    if !matches!(query.listing, Listing::Room(_)) {
        return Err(field(FieldError::new("type", "cannot be combined with a room")));
    }
    // A room's own feed shows all of it: muting the room is for the main feed.
    let mutes = Mutes {
        rooms: Vec::new(),
        members: v.member.muted_members.iter().cloned().collect(),
    };
    let now = state.clock.now_ms();
    let feed = state.store.feed();
    let rooms = state.store.rooms();
    let (room, page) = tokio::join!(
        rooms.get(&slug),
        feed.page(
            &query.listing,
            query.order,
            Some(&v.member.id),
            &mutes,
            query.cursor.as_deref(),
            now
        )
    );
    let room = room?.ok_or_else(WebError::not_found)?;
    let page = page?.map_err(bad_cursor)?;
    let header = crate::pages::RoomHeader::of(&room, &v.member);
    if ctx.wants_json {
        return Ok(json_page(
            &page,
            json!({"room": {"slug": room.slug, "title": room.title, "description": room.description,
                "subscribed": header.subscribed, "muted": header.muted}}),
        ));
    }
    let base = format!("/rooms/{slug}");
    render(
        &v,
        &query,
        &base,
        room.title.clone(),
        &page,
        FeedExtras {
            room: Some(header),
            ..FeedExtras::default()
        },
    )
}

/// `GET /bookmarks`: newest bookmark first, by cursor.
pub async fn bookmarks(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let cursor = ctx.query_param("cursor");
    let page = state
        .store
        .feed()
        .bookmarks(&v.member.id, cursor)
        .await?
        .map_err(bad_cursor)?;
    if ctx.wants_json {
        return Ok(json_page(&page, json!({})));
    }
    let next = page.next.as_deref().map(|c| {
        format!(
            "/bookmarks?{}",
            serde_urlencoded::to_string([("cursor", c)]).unwrap_or_default()
        )
    });
    web::page(
        StatusCode::OK,
        FeedPage {
            layout: v.layout("Bookmarks"),
            heading: "Bookmarks".into(),
            sorts: Vec::new(),
            filter: None,
            pinned: Vec::new(),
            events: Vec::new(),
            cards: views(&page.cards),
            next,
            on_review: None,
            room: None,
            bookmarks: true,
        },
    )
}
