//! The shared content of an issue, O(posts in the window): one query per
//! source (docs/posts.md, "What issues 13 and 14 read"), scored in memory.

use serde_json::Value;

use super::{BEST_COMMENTS, EVENTS_AHEAD_SECS, TOP_POSTS};
use crate::domain::digest::{CommentCard, Counts, EventCard, IssueContent, NewMember, PostCard};
use crate::store::{Store, StoreError};

/// The note as the issue stores it: sanitised HTML and the source as text.
pub fn note(text: &str) -> (String, String) {
    let rendered = crate::markdown::render(text, &crate::markdown::NoMentions);
    (rendered.html, text.trim().to_string())
}

fn text(v: &Value, name: &str) -> String {
    match &v[name] {
        Value::String(s) => s.clone(),
        // A venue may be stored as a map with a name.
        Value::Object(o) => o.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
        _ => String::new(),
    }
}

fn num(v: &Value, name: &str) -> i64 {
    match &v[name] {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// The id after the key's `KIND#` prefix.
fn id_of(v: &Value) -> String {
    let pk = v["pk"].as_str().unwrap_or_default();
    pk.split_once('#').map(|(_, id)| id).unwrap_or(pk).to_string()
}

/// A post card from a listing item (docs/posts.md attribute names).
pub fn card(v: &Value) -> PostCard {
    PostCard {
        id: id_of(v),
        title: text(v, "title"),
        author_name: text(v, "author_name"),
        kind: text(v, "kind"),
        upvotes: num(v, "upvotes"),
        comments: num(v, "comment_count"),
        published_at: num(v, "published_at"),
        excerpt: text(v, "excerpt"),
    }
}

/// An event from its `LIST#EVENTS` item.
pub fn event(v: &Value) -> EventCard {
    EventCard {
        id: id_of(v),
        title: text(v, "title"),
        starts_at: num(v, "starts_at"),
        venue: text(v, "venue"),
    }
}

/// Shortens to `max` characters on a word boundary.
pub fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&cut);
    format!("{}…", cut.trim_end())
}

/// Ranks the week's posts: by `PostCard::score`, newer first on ties.
pub fn top(mut posts: Vec<PostCard>, n: usize) -> Vec<PostCard> {
    posts.sort_by(|a, b| b.score().cmp(&a.score()).then(b.published_at.cmp(&a.published_at)));
    posts.truncate(n);
    posts
}

/// The day partitions (`CDAY#yyyy-mm-dd`) that hold comments of `[from, to)`.
fn days(from: i64, to: i64) -> Vec<String> {
    let mut out = Vec::new();
    let mut day = from.div_euclid(86_400);
    while day * 86_400 < to {
        out.push(format!("CDAY#{}", &crate::clock::rfc3339(day * 86_400)[..10]));
        day += 1;
    }
    out
}

/// The content of the issue covering `[to − window, to)` (seconds).
pub async fn build(store: &Store, to: i64, window: i64, note: Option<&str>) -> Result<IssueContent, StoreError> {
    let from = to - window;
    let d = store.digests();
    let (all, intros, events) = tokio::try_join!(
        d.gsi1_window("ALL", from * 1000, to * 1000),
        d.gsi1_window("TYPE#intro", from * 1000, to * 1000),
        d.gsi1_window("EVENTS", to * 1000, (to + EVENTS_AHEAD_SECS) * 1000),
    )?;
    let day_queries = days(from, to)
        .into_iter()
        .map(|day| async move { d.gsi1_window(&day, from * 1000, to * 1000).await });
    let comments: Vec<Value> = futures::future::try_join_all(day_queries)
        .await?
        .into_iter()
        .flatten()
        .filter(|c| c["deleted"] != Value::Bool(true))
        .collect();

    let posts: Vec<PostCard> = all.iter().map(card).filter(|c| c.kind != "intro").collect();
    let counts = Counts {
        members: intros.len() as i64,
        posts: posts.len() as i64,
        comments: comments.len() as i64,
    };
    let top_posts = top(posts.clone(), TOP_POSTS);
    let new_members = intros
        .iter()
        .map(|v| NewMember {
            member_id: text(v, "author_id"),
            name: text(v, "author_name"),
            post_id: id_of(v),
        })
        .collect();
    let events = events.iter().map(event).collect();

    let mut ranked: Vec<&Value> = comments.iter().filter(|c| num(c, "upvotes") > 0).collect();
    ranked.sort_by_key(|c| std::cmp::Reverse(num(c, "upvotes")));
    let mut best_comments = Vec::new();
    for c in ranked {
        if best_comments.len() == BEST_COMMENTS {
            break;
        }
        let post_id = text(c, "post_id");
        let Some(item) = d.post_item(&post_id, &format!("C#{}", text(c, "path"))).await? else {
            continue;
        };
        if item["deleted"] == Value::Bool(true) {
            continue;
        }
        let post_title = match posts.iter().find(|p| p.id == post_id) {
            Some(p) => p.title.clone(),
            None => d
                .post_item(&post_id, "POST")
                .await?
                .map(|p| text(&p, "title"))
                .unwrap_or_default(),
        };
        best_comments.push(CommentCard {
            id: id_of(c),
            post_id,
            post_title,
            author_name: text(&item, "author_name"),
            upvotes: num(c, "upvotes"),
            text: shorten(&text(&item, "body"), 280),
        });
    }
    let (note_html, note_text) = match note.filter(|n| !n.trim().is_empty()).map(self::note) {
        Some((h, t)) => (Some(h), Some(t)),
        None => (None, None),
    };
    Ok(IssueContent {
        from,
        to,
        note_html,
        note_text,
        top_posts,
        events,
        new_members,
        best_comments,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: &str, upvotes: i64, comments: i64, at: i64) -> PostCard {
        PostCard {
            id: id.into(),
            title: id.into(),
            author_name: "a".into(),
            kind: "post".into(),
            upvotes,
            comments,
            published_at: at,
            excerpt: String::new(),
        }
    }

    #[test]
    fn top_posts_rank_by_the_stated_score_then_newest() {
        let ranked = top(
            vec![
                post("a", 5, 0, 1),
                post("b", 1, 3, 2),
                post("c", 5, 0, 3),
                post("d", 0, 0, 4),
            ],
            3,
        );
        let ids: Vec<&str> = ranked.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
    }

    #[test]
    fn comment_days_cover_the_window() {
        // 2026-11-30T10:00Z .. 2026-12-07T10:00Z: 8 day partitions.
        let to = 1_796_637_600;
        let d = days(to - 7 * 86_400, to);
        assert_eq!(d.len(), 8);
        assert_eq!(d[0], "CDAY#2026-11-30");
        assert_eq!(d[7], "CDAY#2026-12-07");
    }

    #[test]
    fn shorten_cuts_on_words() {
        assert_eq!(shorten("one two three", 9), "one two…");
        assert_eq!(shorten("short", 9), "short");
    }
}
