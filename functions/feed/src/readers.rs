//! Feeds for readers: `/feed.xml` (RSS 2.0) and `/feed.json` (JSON Feed 1.1)
//! of public posts, and each member's private feed of every post with its
//! text, by a revocable token (`?token=<member id>.<secret>`; only the
//! secret's SHA-256 is stored, on the profile).

use lambda_http::http::{header, HeaderValue, StatusCode};
use lodge::config::AppUrl;
use lodge::domain::{MemberId, MemberStatus};
use lodge::feed::FeedOrder;
use lodge::store::feed::{Mutes, ViewerCard};
use lodge::store::listing::Listing;
use lodge::web::{self, Ctx, Reply, WebError};
use serde_json::json;

use crate::cards::{escape, post_path};
use crate::pages::TokenPage;
use crate::State;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Rss,
    JsonFeed,
}

/// A private feed token as it arrives: whose, and the secret.
struct FeedToken {
    member: MemberId,
    secret: String,
}

impl FeedToken {
    fn parse(raw: &str) -> Option<Self> {
        let (member, secret) = raw.trim().split_once('.')?;
        let ok = (20..=64).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        Some(Self {
            member: MemberId::parse(member).ok()?,
            secret: ok.then(|| secret.to_string())?,
        })
    }
    fn hash(secret: &str) -> String {
        lodge::crypto::sha256_hex(secret.as_bytes())
    }
}

fn not_valid() -> WebError {
    WebError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "This feed link is not valid: it may have been turned off or replaced.",
    )
}

/// The public feed, or with `?token=` the member's private one. Public:
/// one query of `PUBLIC`. Private: the profile (to check the token) and
/// the `ALL` query run together, one round trip.
pub async fn feed(state: &State, ctx: &Ctx, app: &AppUrl, format: Format) -> Result<Reply, WebError> {
    let now = state.clock.now_ms();
    let feed = state.store.feed();
    let none = Mutes::default();
    let (cards, private) = match ctx.query_param("token").filter(|t| !t.is_empty()) {
        None => {
            let page = feed
                .page(&Listing::Public, FeedOrder::New, None, &none, None, now)
                .await?;
            (page.map_err(WebError::internal)?.cards, false)
        }
        Some(raw) => {
            let token = FeedToken::parse(raw).ok_or_else(not_valid)?;
            let members = state.store.members();
            let (member, page) = tokio::join!(
                members.get(&token.member),
                feed.page(&Listing::All, FeedOrder::New, None, &none, None, now)
            );
            let member = member?.ok_or_else(not_valid)?;
            let valid = member.status == MemberStatus::Approved
                && member.feed_token_hash.as_deref().is_some_and(|h| {
                    lodge::crypto::constant_time_eq(h.as_bytes(), FeedToken::hash(&token.secret).as_bytes())
                });
            if !valid {
                return Err(not_valid());
            }
            let mutes = Mutes::of(&member);
            let cards = page?.map_err(WebError::internal)?.cards;
            (cards.into_iter().filter(|c| !mutes.hides(&c.card)).collect(), true)
        }
    };
    let mut reply = match format {
        Format::Rss => rss(app, &cards, private),
        Format::JsonFeed => json_feed(app, &cards, private),
    };
    let cache = if private {
        "private, no-store"
    } else {
        "public, max-age=300"
    };
    reply
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(reply)
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// RFC 822 (RSS `pubDate`): `Wed, 02 Dec 2026 00:00:00 GMT`.
fn rfc822(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let (y, m, d) = lodge::clock::civil_from_days(days);
    let t = secs.rem_euclid(86_400);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

fn title(private: bool) -> &'static str {
    if private {
        "Lodge: every post"
    } else {
        "Lodge: public posts"
    }
}

fn published(c: &ViewerCard) -> i64 {
    c.card.published_at.unwrap_or(c.card.created_at)
}

fn rss(app: &AppUrl, cards: &[ViewerCard], private: bool) -> Reply {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    xml.push_str("<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>");
    xml.push_str(&format!(
        "<title>{}</title><link>{}</link><description>{}</description><language>en</language>",
        title(private),
        escape(&app.join("/")),
        if private {
            "Every post of the club, for one member"
        } else {
            "Posts the authors made public"
        }
    ));
    if let Some(first) = cards.first() {
        xml.push_str(&format!("<lastBuildDate>{}</lastBuildDate>", rfc822(published(first))));
    }
    for c in cards {
        let url = app.join(&post_path(&c.card.id));
        xml.push_str("<item>");
        xml.push_str(&format!("<title>{}</title>", escape(&c.card.title)));
        xml.push_str(&format!("<link>{}</link>", escape(&url)));
        xml.push_str(&format!("<guid isPermaLink=\"true\">{}</guid>", escape(&url)));
        xml.push_str(&format!("<pubDate>{}</pubDate>", rfc822(published(c))));
        xml.push_str(&format!("<dc:creator>{}</dc:creator>", escape(&c.card.author_name)));
        xml.push_str(&format!("<category>{}</category>", c.card.kind));
        if let Some(room) = &c.card.room {
            xml.push_str(&format!("<category>{room}</category>"));
        }
        let text = c.card.excerpt.as_deref().unwrap_or_default();
        xml.push_str(&format!("<description>{}</description>", escape(text)));
        xml.push_str("</item>");
    }
    xml.push_str("</channel></rss>\n");
    lambda_http::Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")
        .body(lambda_http::Body::Text(xml))
        .expect("static headers are valid")
}

fn json_feed(app: &AppUrl, cards: &[ViewerCard], private: bool) -> Reply {
    let items: Vec<_> = cards
        .iter()
        .map(|c| {
            let url = app.join(&post_path(&c.card.id));
            let mut tags = vec![c.card.kind.to_string()];
            tags.extend(c.card.room.iter().map(ToString::to_string));
            json!({
                "id": url,
                "url": url,
                "title": c.card.title,
                "content_text": c.card.excerpt.clone().unwrap_or_default(),
                "date_published": lodge::clock::rfc3339(published(c).div_euclid(1000)),
                "authors": [{"name": c.card.author_name, "url": app.join(&lodge::web::paths::member(&c.card.author_id))}],
                "tags": tags,
                "external_url": c.card.link_url,
            })
        })
        .collect();
    let mut feed = json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": title(private),
        "home_page_url": app.join("/"),
        "language": "en",
        "items": items,
    });
    if !private {
        feed["feed_url"] = json!(app.join("/feed.json"));
    }
    let mut reply = web::json(StatusCode::OK, &feed);
    reply.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/feed+json; charset=utf-8"),
    );
    reply
}

/// `GET /feed/token`: the public feeds and whether a private link is on.
pub async fn token_page(state: &State, ctx: &Ctx, _app: &AppUrl) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let since = v
        .member
        .feed_token_at
        .map(|at| lodge::clock::format_utc(at.div_euclid(1000)));
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::OK,
            &json!({"private_feed": v.member.feed_token_hash.is_some(), "since": since}),
        ));
    }
    web::page(
        StatusCode::OK,
        TokenPage {
            layout: v.layout("Feed for readers"),
            since,
            rss: None,
            json: None,
        },
    )
}

/// `POST /feed/token`: a new private link (the old one stops working).
pub async fn rotate(state: &State, ctx: &Ctx, app: &AppUrl) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    let secret = lodge::crypto::random_token(24);
    let now = state.clock.now_ms();
    state
        .store
        .feed()
        .set_token(&v.member.id, &FeedToken::hash(&secret), now)
        .await?;
    tracing::info!("private feed link replaced");
    let token = format!("{}.{secret}", v.member.id);
    let query = serde_urlencoded::to_string([("token", &token)]).unwrap_or_default();
    let rss = app.join(&format!("/feed.xml?{query}"));
    let json = app.join(&format!("/feed.json?{query}"));
    if ctx.wants_json {
        return Ok(web::json(
            StatusCode::CREATED,
            &json!({"token": token, "rss": rss, "json": json}),
        ));
    }
    web::page(
        StatusCode::OK,
        TokenPage {
            layout: v.layout("Feed for readers"),
            since: Some(lodge::clock::format_utc(now.div_euclid(1000))),
            rss: Some(rss),
            json: Some(json),
        },
    )
}

/// `POST /feed/token/revoke`: the private link stops working.
pub async fn revoke(state: &State, ctx: &Ctx) -> Result<Reply, WebError> {
    let v = state.sessions.require_approved(ctx).await?;
    state.store.feed().revoke_token(&v.member.id).await?;
    tracing::info!("private feed link turned off");
    if ctx.wants_json {
        return Ok(web::json(StatusCode::OK, &json!({"private_feed": false})));
    }
    Ok(web::redirect("/feed/token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc_822() {
        // 2026-12-02T00:00:00Z was a Wednesday.
        assert_eq!(rfc822(1_796_169_600_000), "Wed, 02 Dec 2026 00:00:00 GMT");
        assert_eq!(rfc822(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn tokens_parse_strictly() {
        let id = MemberId::generate();
        let secret = lodge::crypto::random_token(24);
        let t = FeedToken::parse(&format!("{id}.{secret}")).unwrap();
        assert_eq!((t.member, t.secret), (id.clone(), secret));
        for bad in [
            "",
            "x.y",
            &format!("{id}."),
            &format!("{id}.short"),
            &format!("{id}.a b c d e f g h i j k l m"),
        ] {
            assert!(FeedToken::parse(bad).is_none(), "{bad}");
        }
    }
}
