//! Issue 12, the feed's read side: orderings, filters, mutes, cursors,
//! bookmarks, rooms, the RSS/JSON feeds and the private feed link, over HTTP.
//! Posts are seeded through the store (`Store::seed`, the items the posts
//! writer makes) with times from the test clock.

use lodge::clock::Clock;
use lodge::domain::{Member, MemberId, MemberStatus, PostKind, Role, RoomSlug, Visibility};
use lodge::store::seed::SeedPost;
use lodge_tests::telegram::new_member;
use lodge_tests::TestApp;
use serde_json::{json, Value};

const HOUR: i64 = 3_600_000;

fn now_ms(app: &TestApp) -> i64 {
    app.clock.now_ms()
}

/// An approved member, signed in: (member, cookie).
async fn member(app: &TestApp, name: &str, role: Role) -> (Member, String) {
    let m = new_member(app, name, role, MemberStatus::Approved).await;
    if role.can_moderate() {
        // As the admin pages make moderators: the role and the staff list together.
        app.store().members().set_role(&m, role).await.unwrap();
    }
    let cookie = app.sign_in(m.email.as_str()).await;
    (m, cookie)
}

async fn feed(app: &TestApp, cookie: &str, path: &str) -> (u16, Value) {
    let r = app
        .as_member(cookie)
        .get(path)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

fn ids(body: &Value) -> Vec<String> {
    body["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

/// Every page of `path` (which has a `?`), following `next_cursor`.
async fn all_pages(app: &TestApp, cookie: &str, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let url = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_string(),
        };
        let (status, body) = feed(app, cookie, &url).await;
        assert_eq!(status, 200, "{url}: {body}");
        out.extend(ids(&body));
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
    panic!("{path} did not end");
}

fn post(author: &MemberId, title: &str, at: i64) -> SeedPost {
    let mut p = SeedPost::new(author.clone(), title, at);
    p.author_name = "Seeded Author".into();
    p
}

#[tokio::test]
async fn signed_out_and_unapproved_visitors_get_what_they_got_before() {
    let app = TestApp::spawn().await;
    let r = app.get("/").send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    let r = app.get("/").header("accept", "application/json").send().await.unwrap();
    assert_eq!(r.status(), 401);

    let waiting = new_member(&app, "Wanda Waiting", Role::Member, MemberStatus::OnReview).await;
    let cookie = app.sign_in(waiting.email.as_str()).await;
    let r = app.as_member(&cookie).get("/").send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/status");
    let (status, body) = feed(&app, &cookie, "/").await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("not_approved")));

    // Approved: the feed, still greeting them and offering invites.
    let (_, cookie) = member(&app, "Ada Approved", Role::Member).await;
    let r = app.as_member(&cookie).get("/").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<h1>Welcome, Ada Approved</h1>"), "{html}");
    assert!(html.contains("action=\"/invites\""));
}

#[tokio::test]
async fn every_ordering_returns_the_right_order() {
    let app = TestApp::spawn().await;
    let (_, cookie) = member(&app, "Reader", Role::Member).await;
    let author = MemberId::generate();
    let now = now_ms(&app);
    // a: old, most upvoted, recently commented; b: new, quiet; c: in between, hot.
    let mut a = post(&author, "Old but discussed", now - 20 * 24 * HOUR);
    a.upvotes = 9;
    a.activity = now - HOUR;
    let b = post(&author, "Brand new", now - 2 * HOUR);
    let mut c = post(&author, "Popular this week", now - 3 * 24 * HOUR);
    c.upvotes = 5;
    c.activity = now - 3 * 24 * HOUR;
    let mut d = post(&author, "Last week's", now - 9 * 24 * HOUR);
    d.upvotes = 7;
    app.store()
        .seed()
        .posts(&[a.clone(), b.clone(), c.clone(), d.clone()])
        .await
        .unwrap();
    let id = |p: &SeedPost| p.id.to_string();
    for (path, expected) in [
        ("/?sort=activity", vec![id(&a), id(&b), id(&c), id(&d)]),
        ("/?sort=new", vec![id(&b), id(&c), id(&d), id(&a)]),
        ("/?sort=top&period=all", vec![id(&a), id(&d), id(&c), id(&b)]),
        ("/?sort=top&period=week", vec![id(&c), id(&b)]),
        ("/?sort=top&period=month", vec![id(&a), id(&d), id(&c), id(&b)]),
    ] {
        let (status, body) = feed(&app, &cookie, path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(ids(&body), expected, "{path}");
    }
    // Hot reads this era and the last: `a` (20 days old) has cooled off,
    // `d` (9 days) is in the previous era or the one before, by the calendar.
    let (_, body) = feed(&app, &cookie, "/?sort=hot").await;
    let hot = ids(&body);
    assert_eq!(hot[..2], [id(&c), id(&b)], "hot");
    assert!(hot.len() == 2 || hot[2..] == [id(&d)], "hot: {hot:?}");
    // The default is activity; the cards carry issue 12's fields.
    let (_, body) = feed(&app, &cookie, "/").await;
    assert_eq!(ids(&body)[0], id(&a));
    let card = &body["posts"][0];
    for field in [
        "id",
        "type",
        "title",
        "author",
        "room",
        "public",
        "upvotes",
        "comment_count",
        "new_comments",
        "created_at",
        "html",
    ] {
        assert!(card.get(field).is_some(), "card without {field}: {card}");
    }
    assert_eq!(card["author"]["name"], "Seeded Author");
    assert_eq!(card["upvotes"], 9);
    for bad in [
        "/?sort=best",
        "/?sort=top&period=day",
        "/?type=poem",
        "/?room=Not%20a%20slug",
    ] {
        let (status, _) = feed(&app, &cookie, bad).await;
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn filters_rooms_and_mutes() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let (me, cookie) = member(&app, "Muter", Role::Member).await;
    let (moderator, _) = member(&app, "Mod Erator", Role::Moderator).await;
    for (slug, title) in [("travel", "Travel"), ("books", "Books")] {
        let r = app
            .as_member(&admin)
            .post_json(
                "/admin/rooms",
                json!({"slug": slug, "title": title, "description": "About it"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let r = app
        .as_member(&admin)
        .post_json("/admin/rooms", json!({"slug": "travel", "title": "Again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    // Members cannot define rooms.
    let r = app
        .as_member(&cookie)
        .post_json("/admin/rooms", json!({"slug": "mine", "title": "Mine"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let (_, rooms) = feed(&app, &cookie, "/rooms").await;
    assert_eq!(rooms["rooms"].as_array().unwrap().len(), 2);

    let travel = RoomSlug::parse("travel").unwrap();
    let loud = new_member(&app, "Loud Larry", Role::Member, MemberStatus::Approved).await;
    let quiet = MemberId::generate();
    let now = now_ms(&app);
    let mut posts = Vec::new();
    for i in 0..12i64 {
        let author = if i % 3 == 0 { loud.id.clone() } else { quiet.clone() };
        let mut p = post(&author, &format!("Post {i}"), now - (i + 1) * HOUR);
        if i % 2 == 0 {
            p.room = Some(travel.clone());
        }
        if i % 4 == 1 {
            p.kind = PostKind::Question;
        }
        posts.push(p);
    }
    app.store().seed().posts(&posts).await.unwrap();
    let only = |f: &dyn Fn(&SeedPost) -> bool| -> Vec<String> {
        posts.iter().filter(|p| f(p)).map(|p| p.id.to_string()).collect()
    };

    let (_, body) = feed(&app, &cookie, "/?sort=new&type=question").await;
    assert_eq!(ids(&body), only(&|p| p.kind == PostKind::Question));
    let (_, body) = feed(&app, &cookie, "/?sort=new&room=travel").await;
    assert_eq!(ids(&body), only(&|p| p.room.is_some()));
    let (status, _) = feed(&app, &cookie, "/?type=question&room=travel").await;
    assert_eq!(status, 400, "one filter at a time");

    // Mute the room and a member: both leave the main feed.
    let mute_loud = format!("/members/{}/mute", loud.id);
    for path in ["/rooms/travel/mute", mute_loud.as_str()] {
        let r = app.as_member(&cookie).post_json(path, json!({})).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let (_, body) = feed(&app, &cookie, "/?sort=new").await;
    assert_eq!(ids(&body), only(&|p| p.room.is_none() && p.author != loud.id));
    // The room's own page still shows it all but the muted member.
    let (_, body) = feed(&app, &cookie, "/rooms/travel?sort=new").await;
    assert_eq!(ids(&body), only(&|p| p.room.is_some() && p.author != loud.id));
    assert_eq!(body["room"]["muted"], true);
    // Others are not affected.
    let (_, body) = feed(&app, &admin, "/?sort=new").await;
    assert_eq!(ids(&body).len(), 12);
    // Unmuting brings them back; a form POST redirects back.
    let r = app
        .as_member(&cookie)
        .post_form("/rooms/travel/unmute", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["location"].to_str().unwrap()),
        (303, "/rooms/travel")
    );
    let (_, body) = feed(&app, &cookie, "/?sort=new").await;
    assert_eq!(ids(&body), only(&|p| p.author != loud.id));
    let r = app
        .as_member(&cookie)
        .post_json("/rooms/nowhere/subscribe", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .as_member(&cookie)
        .post_json("/rooms/travel/subscribe", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let subs = app.store().rooms().subscribers(&travel).await.unwrap();
    assert_eq!(subs, std::slice::from_ref(&me.id));

    // Moderators cannot be muted; at most 50 members can.
    let r = app
        .as_member(&cookie)
        .post_json(&format!("/members/{}/mute", moderator.id), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let mut others = Vec::new();
    for i in 0..50 {
        others.push(new_member(&app, &format!("Other {i}"), Role::Member, MemberStatus::Approved).await);
    }
    for (i, other) in others.iter().take(49).enumerate() {
        let r = app
            .as_member(&cookie)
            .post_json(&format!("/members/{}/mute", other.id), json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "mute {i}");
    }
    let r = app
        .as_member(&cookie)
        .post_json(&format!("/members/{}/mute", others[49].id), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "the 51st mute");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "mute_limit");
}

#[tokio::test]
async fn cursor_paging_has_no_duplicates_or_gaps_while_posts_are_added() {
    let app = TestApp::spawn().await;
    let (_, cookie) = member(&app, "Pager", Role::Member).await;
    let author = MemberId::generate();
    let now = now_ms(&app);
    let existing: Vec<SeedPost> = (0..70i64)
        .map(|i| post(&author, &format!("Existing {i}"), now - (i + 1) * 60_000))
        .collect();
    app.store().seed().posts(&existing).await.unwrap();
    for sort in ["new", "activity"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut round = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/?sort={sort}&cursor={c}"),
                None => format!("/?sort={sort}"),
            };
            let (status, body) = feed(&app, &cookie, &path).await;
            assert_eq!(status, 200);
            assert!(ids(&body).len() <= 30);
            seen.extend(ids(&body));
            // Between pages, new posts arrive (and land above the cursor).
            round += 1;
            let fresh: Vec<SeedPost> = (0..5)
                .map(|i| post(&author, &format!("Fresh {sort} {round} {i}"), now + round * 1000 + i))
                .collect();
            app.store().seed().posts(&fresh).await.unwrap();
            match body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{sort}: a post was shown twice");
        let expected: Vec<String> = existing.iter().map(|p| p.id.to_string()).collect();
        let old: Vec<String> = seen.iter().filter(|id| expected.contains(id)).cloned().collect();
        assert_eq!(old, expected, "{sort}: existing posts missing or out of order");
    }
    // A cursor that does not decode, or belongs to another ordering, is a 400 naming it.
    let (_, first) = feed(&app, &cookie, "/?sort=new").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    for path in [
        "/?cursor=garbage!".to_string(),
        format!("/?sort=top&period=all&cursor={cursor}"),
        format!("/?sort=new&type=post&cursor={cursor}"),
    ] {
        let (status, body) = feed(&app, &cookie, &path).await;
        assert_eq!(status, 400, "{path}");
        assert!(
            body["error"]["message"].as_str().unwrap().starts_with("cursor:"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn bookmarks_page_newest_first() {
    let app = TestApp::spawn().await;
    let (me, cookie) = member(&app, "Collector", Role::Member).await;
    let author = MemberId::generate();
    let now = now_ms(&app);
    let posts: Vec<SeedPost> = (0..45i64)
        .map(|i| post(&author, &format!("Saved {i}"), now - (i + 1) * HOUR))
        .collect();
    app.store().seed().posts(&posts).await.unwrap();
    for (i, p) in posts.iter().enumerate() {
        // Bookmarked in reverse order: the oldest post was saved last.
        app.store()
            .seed()
            .reader(&p.id, &me.id, 0, Some(now + i as i64))
            .await
            .unwrap();
    }
    let expected: Vec<String> = posts.iter().rev().map(|p| p.id.to_string()).collect();
    let pages = all_pages(&app, &cookie, "/bookmarks?x=1").await;
    assert_eq!(pages, expected);
    let (_, first) = feed(&app, &cookie, "/bookmarks").await;
    assert_eq!(first["posts"][0]["bookmarked"], true);
    let html = app
        .as_member(&cookie)
        .get("/bookmarks")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"next\""), "a link to the next page");
    let (status, _) = feed(&app, &cookie, "/bookmarks?cursor=e30").await;
    assert_eq!(status, 400);
}

/// A well-formed XML document: every element closed in order.
fn well_formed(xml: &str) -> Vec<(String, String)> {
    let mut stack: Vec<String> = Vec::new();
    let mut texts = Vec::new();
    for token in xmlparser::Tokenizer::from(xml) {
        match token.expect("well-formed XML") {
            xmlparser::Token::ElementStart { prefix, local, .. } => stack.push(if prefix.as_str().is_empty() {
                local.as_str().to_string()
            } else {
                format!("{}:{}", prefix.as_str(), local.as_str())
            }),
            xmlparser::Token::ElementEnd { end, .. } => match end {
                xmlparser::ElementEnd::Open => {}
                xmlparser::ElementEnd::Empty => {
                    stack.pop();
                }
                xmlparser::ElementEnd::Close(prefix, local) => {
                    let name = if prefix.as_str().is_empty() {
                        local.as_str().to_string()
                    } else {
                        format!("{}:{}", prefix.as_str(), local.as_str())
                    };
                    assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "mismatched </{name}>");
                }
            },
            xmlparser::Token::Text { text } => {
                if let Some(top) = stack.last() {
                    texts.push((top.clone(), text.as_str().to_string()));
                }
            }
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    texts
}

#[tokio::test]
async fn reader_feeds_carry_public_posts_and_the_private_link_everything() {
    let app = TestApp::spawn().await;
    let (_, cookie) = member(&app, "Feed Reader", Role::Member).await;
    let author = MemberId::generate();
    let now = now_ms(&app);
    let mut public = post(&author, "Open <letter> & more", now - HOUR);
    public.visibility = Visibility::Public;
    public.excerpt = "Everyone may read this.".into();
    let mut secret = post(&author, "Members only", now - 2 * HOUR);
    secret.excerpt = "The real text, not a lock.".into();
    app.store()
        .seed()
        .posts(&[public.clone(), secret.clone()])
        .await
        .unwrap();

    let r = app.get("/feed.xml").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/rss+xml"));
    let xml = r.text().await.unwrap();
    let texts = well_formed(&xml);
    let titles: Vec<&str> = texts
        .iter()
        .filter(|(t, _)| t == "title")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(titles, ["Lodge: public posts", "Open &lt;letter&gt; &amp; more"]);
    assert!(xml.contains("<rss version=\"2.0\""));
    assert!(xml.contains(&format!("/posts/{}</guid>", public.id)));
    assert!(
        !xml.contains(&secret.id.to_string()),
        "a members-only post in the public feed"
    );

    let r = app.get("/feed.json").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let feed_json: Value = r.json().await.unwrap();
    assert_eq!(feed_json["version"], "https://jsonfeed.org/version/1.1");
    assert!(feed_json["title"].is_string() && feed_json["home_page_url"].is_string());
    let items = feed_json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    for field in ["id", "url", "title", "content_text", "date_published", "authors"] {
        assert!(items[0].get(field).is_some(), "JSON Feed item without {field}");
    }

    // The private link: members-only posts with their text.
    let r = app
        .as_member(&cookie)
        .post_json("/feed/token", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    let path = |url: &str| url.trim_start_matches(&app.url).to_string();
    let (rss, jsn) = (
        path(made["rss"].as_str().unwrap()),
        path(made["json"].as_str().unwrap()),
    );
    let xml = app.get(&rss).send().await.unwrap().text().await.unwrap();
    well_formed(&xml);
    assert!(
        xml.contains("Members only") && xml.contains("The real text, not a lock."),
        "{xml}"
    );
    let body: Value = app.get(&jsn).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    assert_eq!(body["items"][1]["content_text"], "The real text, not a lock.");
    // The store holds only the token's hash.
    let token = made["token"].as_str().unwrap();
    let stored = app
        .store()
        .members()
        .get(&lodge::domain::MemberId::parse(token.split('.').next().unwrap()).unwrap())
        .await
        .unwrap()
        .unwrap();
    let hash = stored.feed_token_hash.unwrap();
    assert!(!token.contains(&hash) && hash.len() == 64);

    // A new link replaces the old; revoking ends it.
    let r = app
        .as_member(&cookie)
        .post_json("/feed/token", json!({}))
        .send()
        .await
        .unwrap();
    let newer: Value = r.json().await.unwrap();
    assert_eq!(
        app.get(&rss).send().await.unwrap().status(),
        404,
        "the replaced link still works"
    );
    let newer_rss = path(newer["rss"].as_str().unwrap());
    assert_eq!(app.get(&newer_rss).send().await.unwrap().status(), 200);
    let r = app
        .as_member(&cookie)
        .post_form("/feed/token/revoke", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.get(&newer_rss).send().await.unwrap().status(),
        404,
        "a revoked link still works"
    );
    let forged = format!("/feed.xml?token={}.{}", MemberId::generate(), "x".repeat(32));
    assert_eq!(app.get(&forged).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn home_shows_pinned_posts_and_upcoming_events_and_new_comments() {
    let app = TestApp::spawn().await;
    let (me, cookie) = member(&app, "Homebody", Role::Member).await;
    let author = MemberId::generate();
    let now = now_ms(&app);
    let mut talk = post(&author, "Lively thread", now - 5 * HOUR);
    talk.comment_count = 7;
    talk.comment_seq = 7;
    let pinned = post(&author, "House rules", now - 40 * 24 * HOUR);
    let mut soon = post(&author, "Reunion dinner", now - 3 * HOUR);
    soon.kind = PostKind::Event;
    soon.starts_at = Some(now + 5 * 24 * HOUR);
    let mut later = post(&author, "Next year's trip", now - 4 * HOUR);
    later.kind = PostKind::Event;
    later.starts_at = Some(now + 40 * 24 * HOUR);
    let seed = [talk.clone(), pinned.clone(), soon.clone(), later.clone()];
    app.store().seed().posts(&seed).await.unwrap();
    app.store().seed().pin(&pinned.id, now + 24 * HOUR).await.unwrap();
    app.store().seed().reader(&talk.id, &me.id, 4, None).await.unwrap();

    let (_, body) = feed(&app, &cookie, "/?sort=new").await;
    let pinned_ids: Vec<&str> = body["pinned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(pinned_ids, [pinned.id.as_str()]);
    let events: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(events, [soon.id.as_str()]);
    let card = body["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == talk.id.as_str())
        .unwrap();
    assert_eq!(
        (card["comment_count"].as_i64(), card["new_comments"].as_i64()),
        (Some(7), Some(3))
    );
    let html = app
        .as_member(&cookie)
        .get("/")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"pinned\"") && html.contains("House rules"));
    assert!(html.contains("3 new"));

    // The pin ends with its date.
    app.clock.advance(2 * 24 * 3600);
    let (_, body) = feed(&app, &cookie, "/").await;
    assert!(body["pinned"].as_array().unwrap().is_empty());
}
