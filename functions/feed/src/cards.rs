//! A card as pages and API clients see it (issue 12's post fields).

use lodge::store::feed::ViewerCard;
use serde_json::{json, Value};

/// `GET /posts/{id}` (the posts function's page).
pub fn post_path(id: &lodge::domain::PostId) -> String {
    format!("/posts/{id}")
}

/// Text made safe inside HTML and XML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn rfc3339_ms(ms: i64) -> String {
    lodge::clock::rfc3339(ms.div_euclid(1000))
}

/// What a card template shows.
pub struct CardView {
    pub id: String,
    pub url: String,
    pub kind: &'static str,
    pub title: String,
    pub author_name: String,
    pub author_url: String,
    pub room: Option<String>,
    pub public: bool,
    pub upvotes: i64,
    pub comment_count: i64,
    pub new_comments: i64,
    pub published: String,
    pub excerpt: String,
    pub link_host: Option<String>,
    pub starts: Option<String>,
    pub voted: bool,
    pub bookmarked: bool,
}

impl CardView {
    pub fn of(c: &ViewerCard) -> Self {
        let card = &c.card;
        Self {
            id: card.id.to_string(),
            url: post_path(&card.id),
            kind: card.kind.as_str(),
            title: card.title.clone(),
            author_name: card.author_name.clone(),
            author_url: lodge::web::paths::member(&card.author_id),
            room: card.room.as_ref().map(ToString::to_string),
            public: card.visibility.is_public(),
            upvotes: card.upvotes,
            comment_count: card.comment_count,
            new_comments: c.new_comments(),
            published: lodge::clock::format_utc(card.published_at.unwrap_or(card.created_at).div_euclid(1000)),
            excerpt: card.excerpt.clone().unwrap_or_default(),
            link_host: card.link_host.clone(),
            starts: card.starts_at.map(|s| lodge::clock::format_utc(s.div_euclid(1000))),
            voted: c.reader.voted_at.is_some(),
            bookmarked: c.reader.bookmarked_at.is_some(),
        }
    }
}

/// The JSON of a card: `id`, `type`, `title`, `author`, `room`, `public`,
/// `upvotes`, `comment_count`, `new_comments`, `created_at`, `html` (the
/// card's excerpt; the post's whole body is on its page), and more.
pub fn json(c: &ViewerCard) -> Value {
    let card = &c.card;
    let excerpt = card.excerpt.clone().unwrap_or_default();
    json!({
        "id": card.id,
        "type": card.kind,
        "title": card.title,
        "author": {"id": card.author_id, "name": card.author_name},
        "room": card.room,
        "public": card.visibility.is_public(),
        "upvotes": card.upvotes,
        "comment_count": card.comment_count,
        "new_comments": c.new_comments(),
        "created_at": rfc3339_ms(card.created_at),
        "published_at": card.published_at.map(rfc3339_ms),
        "activity_at": card.activity.map(rfc3339_ms),
        "excerpt": excerpt,
        "html": if excerpt.is_empty() { String::new() } else { format!("<p>{}</p>", escape(&excerpt)) },
        "url": post_path(&card.id),
        "link_url": card.link_url,
        "starts_at": card.starts_at.map(rfc3339_ms),
        "ends_at": card.ends_at.map(rfc3339_ms),
        "voted": c.reader.voted_at.is_some(),
        "bookmarked": c.reader.bookmarked_at.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
