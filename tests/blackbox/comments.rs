//! Comments and comment votes over HTTP (issue 12, "Comments", "Votes").
//! Posts are seeded through the store exactly as docs/posts.md and
//! `store/listing.rs` lay them out (a `POST` card plus `LIST#…` copies),
//! so these tests do not depend on the posts function.

use std::collections::BTreeMap;

use lodge::domain::{Member, MemberStatus, PostId, PostKind, Role, RoomSlug, Visibility};
use lodge::feed::hot::Hot;
use lodge::store::listing::{Listing, ListingAttrs};
use lodge::store::Key;
use lodge_tests::telegram::{new_member, Now};
use lodge_tests::TestApp;
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Serialize)]
struct Card {
    kind: PostKind,
    title: String,
    author_id: String,
    author_name: String,
    room: Option<RoomSlug>,
    visibility: Visibility,
    state: String,
    comment_count: i64,
    comment_seq: i64,
    created_at: i64,
    version: i64,
    #[serde(flatten)]
    listing: ListingAttrs,
}

/// A published public post in a room (five listing items), by `author`.
async fn seed_post(app: &TestApp, author: &Member) -> PostId {
    let at = app.clock.now_secs() * 1000;
    let post = PostId::generate(at);
    let room = RoomSlug::parse("travel").unwrap();
    for listing in Listing::of(PostKind::Post, Some(&room), Visibility::Public, &author.id) {
        let card = Card {
            kind: PostKind::Post,
            title: "Where to next".into(),
            author_id: author.id.to_string(),
            author_name: author.name().into(),
            room: Some(room.clone()),
            visibility: Visibility::Public,
            state: "published".into(),
            comment_count: 0,
            comment_seq: 0,
            created_at: at,
            version: 1,
            listing: ListingAttrs::new(&listing, &post, at, at, Hot::published(at / 1000), 0),
        };
        app.store()
            .put(&Key::post_item(&post, listing.sort_key()), &card)
            .await
            .unwrap();
    }
    post
}

#[derive(serde::Deserialize, Serialize)]
struct Counters {
    comment_count: i64,
    comment_seq: i64,
    activity: i64,
}

/// The card's counters, after checking every listing copy agrees with it.
async fn counters(app: &TestApp, post: &PostId) -> (i64, i64, i64) {
    let mut seen = Vec::new();
    for sk in ["POST", "LIST#TYPE", "LIST#ROOM", "LIST#PUBLIC", "LIST#AUTHOR"] {
        let c: Counters = app.store().get(&Key::post_item(post, sk)).await.unwrap().unwrap();
        seen.push((c.comment_count, c.comment_seq, c.activity));
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "listing copies disagree: {seen:?}"
    );
    seen[0]
}

async fn set_on_card(app: &TestApp, post: &PostId, attrs: &[(&str, Value)]) {
    // Read-modify-write is fine here: the test is the only writer.
    let mut card: BTreeMap<String, Value> = app.store().get(&Key::post_item(post, "POST")).await.unwrap().unwrap();
    for (k, v) in attrs {
        card.insert(k.to_string(), v.clone());
    }
    card.remove("pk");
    card.remove("sk");
    app.store().put(&Key::post_item(post, "POST"), &card).await.unwrap();
}

async fn member(app: &TestApp, name: &str, role: Role) -> (Member, String) {
    let m = new_member(app, name, role, MemberStatus::Approved).await;
    let cookie = app.sign_in(m.email.as_str()).await;
    (m, cookie)
}

async fn comment(app: &TestApp, cookie: &str, post: &PostId, body: &str, parent: Option<&str>) -> reqwest::Response {
    let mut b = json!({ "body": body });
    if let Some(p) = parent {
        b["parent_id"] = json!(p);
    }
    app.as_member(cookie)
        .post_json(&format!("/posts/{post}/comments"), b)
        .send()
        .await
        .unwrap()
}

async fn created(app: &TestApp, cookie: &str, post: &PostId, body: &str, parent: Option<&str>) -> Value {
    let r = comment(app, cookie, post, body, parent).await;
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    r.json::<Value>().await.unwrap()["comment"].clone()
}

async fn act(app: &TestApp, cookie: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app.as_member(cookie).post_json(path, body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap_or(Value::Null))
}

async fn thread(app: &TestApp, cookie: &str, post: &PostId, order: &str) -> Value {
    let r = app
        .as_member(cookie)
        .get(&format!("/posts/{post}/comments?comments={order}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn replies_nest_three_deep_deletes_keep_the_shape_and_counts_stay_exact() {
    let app = TestApp::spawn().await;
    let (alice, a) = member(&app, "Alice", Role::Member).await;
    let (_bob, b) = member(&app, "Bob", Role::Member).await;
    let post = seed_post(&app, &alice).await;
    let published = counters(&app, &post).await.2;

    let top = created(&app, &b, &post, "First! **bold**", None).await;
    assert_eq!(top["parent_id"], Value::Null);
    assert_eq!(top["author"]["name"], "Bob");
    assert_eq!(
        (top["upvotes"].as_i64(), top["deleted"].as_bool()),
        (Some(0), Some(false))
    );
    assert!(top["html"].as_str().unwrap().contains("<strong>bold</strong>"));
    let l2 = created(&app, &a, &post, "reply", Some(&id(&top))).await;
    let l3 = created(&app, &b, &post, "reply to reply", Some(&id(&l2))).await;
    let deep = created(&app, &a, &post, "deeper", Some(&id(&l3))).await;
    assert_eq!((l2["depth"].as_i64(), l3["depth"].as_i64()), (Some(2), Some(3)));
    assert_eq!(deep["depth"], 3, "a deeper reply stays at level 3");
    assert_eq!(deep["parent_id"], l2["id"], "attached to the level-3 comment's parent");
    assert_eq!(deep["reply_to"], l3["id"]);
    assert_eq!(deep["reply_to_name"], "Bob");
    assert_eq!(counters(&app, &post).await.0, 4);

    let t = thread(&app, &a, &post, "new").await;
    let ids: Vec<String> = t["comments"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, [id(&top), id(&l2), id(&l3), id(&deep)]);
    assert_eq!(t["comment_count"], 4);

    // Deleting the latest comment: the count and the last activity follow.
    let before = counters(&app, &post).await;
    let (status, _) = act(&app, &a, &format!("/comments/{}/delete", id(&deep)), json!({})).await;
    assert_eq!(status, 200);
    let l3_at = l3["created_at"].as_i64().unwrap();
    assert_eq!(counters(&app, &post).await, (3, before.1, l3_at));
    // A middle one: the thread keeps its shape and says "deleted".
    let (status, _) = act(&app, &b, &format!("/comments/{}/delete", id(&top)), json!({})).await;
    assert_eq!(status, 200);
    let t = thread(&app, &a, &post, "new").await;
    let shown = t["comments"].as_array().unwrap();
    assert_eq!(shown.len(), 4);
    assert_eq!(
        (shown[0]["deleted"].as_bool(), shown[0]["html"].as_str()),
        (Some(true), Some(""))
    );
    assert_eq!(shown[1]["parent_id"], top["id"]);
    assert_eq!(counters(&app, &post).await.0, 2);
    let html = app
        .as_member(&a)
        .get(&format!("/posts/{post}/comments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("deleted") && !html.contains("First!"), "{html}");
    // Deleting again changes nothing; replying under a deleted comment is refused.
    act(&app, &b, &format!("/comments/{}/delete", id(&top)), json!({})).await;
    assert_eq!(counters(&app, &post).await.0, 2);
    let r = comment(&app, &b, &post, "late", Some(&id(&top))).await;
    assert_eq!(r.status(), 409);
    // All gone: activity is the publication again.
    let (status, _) = act(&app, &a, &format!("/comments/{}/delete", id(&l2)), json!({})).await;
    assert_eq!(status, 200);
    let (status, _) = act(&app, &b, &format!("/comments/{}/delete", id(&l3)), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(counters(&app, &post).await, (0, 4, published));
}

#[tokio::test]
async fn permissions_for_author_other_member_moderator_and_signed_out() {
    let app = TestApp::spawn().await;
    let (alice, a) = member(&app, "Alice", Role::Member).await;
    let (_bob, b) = member(&app, "Bob", Role::Member).await;
    let (_m, m) = member(&app, "Mod", Role::Moderator).await;
    let post = seed_post(&app, &alice).await;
    let c = created(&app, &b, &post, "mine", None).await;
    let reply = created(&app, &a, &post, "a reply", Some(&id(&c))).await;

    // Signed out: comments are members-only, even on a public post.
    let r = app
        .post_json(&format!("/posts/{post}/comments"), json!({"body": "anon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .get(&format!("/posts/{post}/comments"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .post_json(&format!("/comments/{}/vote", id(&c)), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A form from another site is refused before anything else.
    let r = app
        .http
        .post(app.at(&format!("/posts/{post}/comments")))
        .header("origin", "https://evil.example")
        .header("cookie", &b)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("body=csrf")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Another member may not edit or delete it, nor pin on someone else's post.
    let edit = format!("/comments/{}/edit", id(&c));
    let (status, body) = act(&app, &a, &edit, json!({"body": "hijacked"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("not_yours")));
    let (status, _) = act(&app, &a, &format!("/comments/{}/delete", id(&c)), json!({})).await;
    assert_eq!(status, 403);
    let (status, body) = act(&app, &b, &format!("/comments/{}/pin", id(&c)), json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("not_post_author")));
    // The post's author pins top-level comments only.
    let (status, _) = act(&app, &a, &format!("/comments/{}/pin", id(&reply)), json!({})).await;
    assert_eq!(status, 409);
    let (status, body) = act(&app, &a, &format!("/comments/{}/pin", id(&c)), json!({})).await;
    assert_eq!((status, body["pinned"].as_bool()), (200, Some(true)));
    let late = created(&app, &b, &post, "later", None).await;
    let t = thread(&app, &a, &post, "new").await;
    assert_eq!(t["comments"][0]["id"], c["id"], "pinned first");
    assert_eq!(t["comments"][0]["pinned"], true);
    assert_eq!(t["comments"][2]["id"], late["id"]);

    // The author edits; the edit is marked.
    let (status, body) = act(&app, &b, &edit, json!({"body": "mine, edited"})).await;
    assert_eq!((status, body["comment"]["edited"].as_bool()), (200, Some(true)));
    // Only a moderator deletes a subtree.
    let subtree = format!("/comments/{}/delete?subtree=1", id(&c));
    let (status, _) = act(&app, &b, &subtree, json!({})).await;
    assert_eq!(status, 403);
    let (status, body) = act(&app, &m, &subtree, json!({})).await;
    assert_eq!((status, body["count"].as_i64()), (200, Some(2)));
    assert_eq!(counters(&app, &post).await.0, 1);
    // Any member reports a comment once, with a reason; moderators see it.
    let report = format!("/comments/{}/report", id(&late));
    let (status, _) = act(&app, &a, &report, json!({"reason": ""})).await;
    assert_eq!(status, 422);
    let (status, body) = act(&app, &a, &report, json!({"reason": "off topic"})).await;
    assert_eq!((status, body["new"].as_bool()), (201, Some(true)));
    let (status, body) = act(&app, &a, &report, json!({"reason": "again"})).await;
    assert_eq!((status, body["new"].as_bool()), (200, Some(false)));
    let r = app
        .as_member(&m)
        .get("/admin/reports")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let open: Value = r.json().await.unwrap();
    let targets: Vec<&str> = open["reports"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["target"].as_str())
        .collect();
    assert_eq!(targets, [format!("COMMENT#{}", id(&late))]);
    // Unknown ids are 404s.
    let (status, _) = act(&app, &m, "/comments/01kbf0000000000000000000zz/vote", json!({})).await;
    assert_eq!(status, 404);
    let missing = PostId::generate(0);
    assert_eq!(comment(&app, &b, &missing, "x", None).await.status(), 404);
    let r = comment(&app, &b, &post, "x", Some("01kbf0000000000000000000zz")).await;
    assert_eq!(r.status(), 422);
    // Empty and over-long bodies name the field.
    assert_eq!(comment(&app, &b, &post, "   ", None).await.status(), 422);
    assert_eq!(comment(&app, &b, &post, &"x".repeat(20_001), None).await.status(), 422);
    assert_eq!(comment(&app, &b, &post, &"é".repeat(20_000), None).await.status(), 201);
}

#[tokio::test]
async fn a_moderator_hides_a_reported_comment_by_resolving_the_report_and_the_thread_keeps_its_shape() {
    let app = TestApp::spawn().await;
    let (alice, a) = member(&app, "Alice", Role::Member).await;
    let (_bob, b) = member(&app, "Bob", Role::Member).await;
    let (_carol, c) = member(&app, "Carol", Role::Member).await;
    let (_m, m) = member(&app, "Mod", Role::Moderator).await;
    let post = seed_post(&app, &alice).await;
    let rude = created(&app, &b, &post, "You are all **fools**", None).await;
    let reply = created(&app, &c, &post, "Says who?", Some(&id(&rude))).await;
    let report = format!("/comments/{}/report", id(&rude));
    for who in [&a, &c] {
        let (status, _) = act(&app, who, &report, json!({"reason": "insulting"})).await;
        assert_eq!(status, 201);
    }
    assert_eq!(counters(&app, &post).await.0, 2);
    // The reports page links the comment as /comments/{id}: it leads to its place in the thread.
    let r = app
        .as_member(&m)
        .get(&format!("/comments/{}", id(&rude)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("/posts/{post}#c-{}", id(&rude)).as_str()
    );
    let unknown = app
        .as_member(&m)
        .get("/comments/01kbf0000000000000000000zz")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let target = format!("COMMENT#{}", id(&rude));
    let resolve = |decision: &'static str| json!({"target": target, "decision": decision, "reason": "Insults"});

    // Only moderators resolve, and hiding needs a reason.
    let (status, _) = act(&app, &c, "/admin/reports/resolve", resolve("hide")).await;
    assert_eq!(status, 403);
    let (status, _) = act(
        &app,
        &m,
        "/admin/reports/resolve",
        json!({"target": target, "decision": "hide"}),
    )
    .await;
    assert_eq!(status, 422);
    let (status, body) = act(&app, &m, "/admin/reports/resolve", resolve("hide")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["decision"].as_str(), body["resolved"].as_i64()),
        (Some("hidden"), Some(2))
    );

    // Others see it hidden, in place: the reply keeps its parent.
    let t = thread(&app, &c, &post, "new").await;
    let shown = t["comments"].as_array().unwrap();
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[0]["id"], rude["id"]);
    assert_eq!(
        (
            shown[0]["deleted"].as_bool(),
            shown[0]["hidden"].as_bool(),
            shown[0]["html"].as_str()
        ),
        (Some(true), Some(true), Some(""))
    );
    assert!(shown[0].get("hidden_reason").is_none(), "the reason is the author's");
    assert_eq!(
        (shown[1]["id"].clone(), shown[1]["parent_id"].clone()),
        (reply["id"].clone(), rude["id"].clone())
    );
    assert_eq!(t["comment_count"], 1);
    assert_eq!(counters(&app, &post).await.0, 1);
    let own = thread(&app, &b, &post, "new").await;
    assert_eq!(own["comments"][0]["hidden_reason"], "Insults");
    let html = app
        .as_member(&c)
        .get(&format!("/posts/{post}/comments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("hidden by a moderator") && !html.contains("fools"),
        "{html}"
    );
    // No reply, vote or edit on it any more.
    assert_eq!(comment(&app, &c, &post, "late", Some(&id(&rude))).await.status(), 409);
    let (status, _) = act(&app, &c, &format!("/comments/{}/vote", id(&rude)), json!({})).await;
    assert_eq!(status, 409);

    // The report is resolved, the decision recorded once.
    let r = app
        .as_member(&m)
        .get("/admin/reports")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let open: Value = r.json().await.unwrap();
    assert_eq!(open["reports"], json!([]));
    let comment_id = lodge::domain::CommentId::parse(&id(&rude)).unwrap();
    let reports = app.store();
    let reports = reports.reports();
    let (filed, decisions) = reports
        .of(&lodge::store::reports::ReportTarget::Comment(comment_id.clone()))
        .await
        .unwrap();
    assert!(filed.iter().all(|r| r.resolution.as_deref() == Some("hidden")));
    assert_eq!(decisions.len(), 1);
    assert_eq!(
        decisions[0].resolution,
        lodge::store::reports::Resolution::Hide {
            reason: "Insults".into()
        }
    );
    assert_eq!(decisions[0].reports, 2);

    // A second resolution is a clear 409 and writes nothing.
    let (status, body) = act(&app, &m, "/admin/reports/resolve", resolve("hide")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("resolved")),
        "{body}"
    );
    let (_, decisions) = reports
        .of(&lodge::store::reports::ReportTarget::Comment(comment_id))
        .await
        .unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(counters(&app, &post).await.0, 1);
}

#[tokio::test]
async fn mentions_in_comments_link_members_by_handle_and_are_recorded() {
    let app = TestApp::spawn().await;
    let (alice, a) = member(&app, "Alice", Role::Member).await;
    let (bob, _) = member(&app, "Bob Builder", Role::Member).await;
    let (carol, c) = member(&app, "Carol", Role::Member).await;
    app.store().handles().ensure(&bob).await.unwrap();
    let post = seed_post(&app, &alice).await;
    // Carol's handle is claimed the first time she writes.
    created(&app, &c, &post, "Hello", None).await;
    let r = comment(&app, &a, &post, "Thanks @bobbuilder, @Carol and @nobody", None).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    let html = body["comment"]["html"].as_str().unwrap();
    for m in [&bob, &carol] {
        assert!(
            html.contains(&format!(r#"<a class="mention" href="/members/{}""#, m.id)),
            "{html}"
        );
    }
    assert!(html.contains("@nobody") && !html.contains("/members/nobody"), "{html}");
    assert_eq!(body["mentions"], json!([bob.id, carol.id]));
    let cid = lodge::domain::CommentId::parse(&id(&body["comment"])).unwrap();
    let stored = app.store().comments().get(&cid).await.unwrap().unwrap();
    assert_eq!(
        stored.mentions,
        [bob.id.clone(), carol.id.clone()],
        "recorded for notifications"
    );
    // The thread page shows the link as stored.
    let page = app
        .as_member(&c)
        .get(&format!("/posts/{post}/comments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("href=\"/members/{}\"", bob.id)), "{page}");
    // An edit renders and records again.
    let (status, edited) = act(
        &app,
        &a,
        &format!("/comments/{cid}/edit"),
        json!({"body": "Only @nobody now"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!edited["comment"]["html"]
        .as_str()
        .unwrap()
        .contains("class=\"mention\""));
    let stored = app.store().comments().get(&cid).await.unwrap().unwrap();
    assert!(stored.mentions.is_empty());
}

#[tokio::test]
async fn the_author_edits_for_48_hours_by_the_clock_and_moderators_after() {
    let app = TestApp::spawn().await;
    let (alice, a) = member(&app, "Alice", Role::Member).await;
    let (_m, m) = member(&app, "Mod", Role::Moderator).await;
    let post = seed_post(&app, &alice).await;
    let c = created(&app, &a, &post, "v1", None).await;
    let edit = format!("/comments/{}/edit", id(&c));
    app.clock.advance(48 * 3600 - 1);
    let (status, _) = act(&app, &a, &edit, json!({"body": "v2"})).await;
    assert_eq!(status, 200);
    app.clock.advance(1);
    let (status, body) = act(&app, &a, &edit, json!({"body": "v3"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("edit_window_closed"))
    );
    let closed = lodge::clock::format_utc(c["created_at"].as_i64().unwrap() / 1000 + 48 * 3600);
    assert!(body["error"]["message"].as_str().unwrap().contains(&closed), "{body}");
    let (status, body) = act(&app, &m, &edit, json!({"body": "moderated"})).await;
    assert_eq!(status, 200);
    assert!(body["comment"]["html"].as_str().unwrap().contains("moderated"));
}

#[tokio::test]
async fn no_comment_on_a_closed_or_deleted_post() {
    let app = TestApp::spawn().await;
    let (alice, a) = member(&app, "Alice", Role::Member).await;
    let (_m, m) = member(&app, "Mod", Role::Moderator).await;
    let post = seed_post(&app, &alice).await;
    created(&app, &a, &post, "open", None).await;
    set_on_card(&app, &post, &[("closed", json!(true))]).await;
    for cookie in [&a, &m] {
        let r = comment(&app, cookie, &post, "closed?", None).await;
        assert_eq!(r.status(), 409);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "closed");
    }
    let html = app
        .as_member(&a)
        .get(&format!("/posts/{post}/comments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Comments are closed") && !html.contains("id=\"new-comment\""));
    let gone = seed_post(&app, &alice).await;
    set_on_card(&app, &gone, &[("state", json!("deleted"))]).await;
    assert_eq!(comment(&app, &a, &gone, "deleted?", None).await.status(), 404);
    assert_eq!(counters(&app, &post).await.0, 1);
}

/// `n` comments in the ring, the oldest 10 minutes ago, one a millisecond after another.
async fn seed_ring(app: &TestApp, who: &Member, n: i64) {
    let now_ms = app.clock.now_secs() * 1000;
    let mut item: BTreeMap<String, i64> = (0..n).map(|i| (format!("s{i}"), now_ms - 600_000 + i)).collect();
    item.insert("n".into(), n);
    app.store().put(&Key::ring("comments", &who.id), &item).await.unwrap();
}

#[tokio::test]
async fn the_101st_comment_in_24_hours_gets_429_until_the_oldest_frees() {
    let app = TestApp::spawn().await;
    let (alice, a) = member(&app, "Alice", Role::Member).await;
    let (bob, b) = member(&app, "Bob", Role::Member).await;
    let (moderator, m) = member(&app, "Mod", Role::Moderator).await;
    let post = seed_post(&app, &alice).await;
    // 99 comments in the last 24 hours, through the ring the store keeps
    // (`RATE#comments#<member>` / `RING`): the oldest 10 minutes ago.
    seed_ring(&app, &bob, 99).await;
    seed_ring(&app, &moderator, 100).await;
    created(&app, &b, &post, "the 100th", None).await;
    let r = comment(&app, &b, &post, "the 101st", None).await;
    assert_eq!(r.status(), 429);
    let retry: i64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(retry, 24 * 3600 - 600, "the oldest slot frees 24 h after it was taken");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // Moderators are exempt; others are not affected.
    created(&app, &m, &post, "moderator", None).await;
    created(&app, &a, &post, "alice", None).await;
    app.clock.advance(retry - 1);
    assert_eq!(comment(&app, &b, &post, "not yet", None).await.status(), 429);
    app.clock.advance(1);
    created(&app, &b, &post, "freed", None).await;
    assert_eq!(counters(&app, &post).await.0, 4);
}

#[tokio::test]
async fn twenty_voters_give_twenty_and_one_voter_twenty_times_gives_one() {
    let app = TestApp::spawn_with(&[("LODGE_AUTH_IP_LIMIT", "1000")]).await;
    let (alice, a) = member(&app, "Alice", Role::Member).await;
    let post = seed_post(&app, &alice).await;
    let c = created(&app, &a, &post, "vote for me", None).await;
    let vote = format!("/comments/{}/vote", id(&c));
    let mut voters = Vec::new();
    for i in 0..20 {
        voters.push(member(&app, &format!("Voter {i}"), Role::Member).await.1);
    }
    let all = futures::future::join_all(voters.iter().map(|v| act(&app, v, &vote, json!({})))).await;
    assert!(all.iter().all(|(s, b)| *s == 200 && b["voted"] == true), "{all:?}");
    let t = thread(&app, &a, &post, "top").await;
    assert_eq!(t["comments"][0]["upvotes"], 20);

    let c2 = created(&app, &a, &post, "once only", None).await;
    let vote2 = format!("/comments/{}/vote", id(&c2));
    let all = futures::future::join_all((0..20).map(|_| act(&app, &voters[0], &vote2, json!({})))).await;
    assert!(all.iter().all(|(s, _)| *s == 200), "{all:?}");
    let t = thread(&app, &voters[0], &post, "top").await;
    let shown = t["comments"].as_array().unwrap();
    assert_eq!(shown[1]["upvotes"], 1);
    assert_eq!(
        (shown[0]["voted"].as_bool(), shown[1]["voted"].as_bool()),
        (Some(true), Some(true))
    );

    // Not your own; retract within 24 hours only.
    let (status, body) = act(&app, &a, &vote, json!({})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("own_comment")));
    let unvote = format!("/comments/{}/unvote", id(&c2));
    let (status, body) = act(&app, &voters[0], &unvote, json!({})).await;
    assert_eq!((status, body), (200, json!({"upvotes": 0, "voted": false})));
    let (_, body) = act(&app, &voters[0], &vote2, json!({})).await;
    assert_eq!(body, json!({"upvotes": 1, "voted": true}));
    app.clock.advance(24 * 3600);
    let (status, body) = act(&app, &voters[0], &unvote, json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("retract_window_closed"))
    );
    #[derive(serde::Deserialize)]
    struct Received {
        received_upvotes: i64,
    }
    let profile: Received = app.store().get(&Key::member(&alice.id)).await.unwrap().unwrap();
    assert_eq!(profile.received_upvotes, 21);
}

#[tokio::test]
async fn another_member_sees_what_is_new_since_their_last_visit() {
    let app = TestApp::spawn().await;
    let (alice, a) = member(&app, "Alice", Role::Member).await;
    let (_bob, b) = member(&app, "Bob", Role::Member).await;
    let post = seed_post(&app, &alice).await;
    let old = created(&app, &a, &post, "before Bob came", None).await;
    // A first visit marks nothing, and records what Bob saw.
    let t = thread(&app, &b, &post, "new").await;
    assert_eq!(
        (t["new_comments"].as_i64(), t["comments"][0]["new"].as_bool()),
        (Some(0), Some(false))
    );
    let fresh = created(&app, &a, &post, "after Bob's visit", Some(&id(&old))).await;
    let html = app
        .as_member(&b)
        .get(&format!("/posts/{post}/comments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("1 new since your last visit"), "{html}");
    assert!(
        html.contains(&format!("class=\"comment new\" id=\"c-{}\"", id(&fresh))),
        "{html}"
    );
    // That visit counted: nothing is new now.
    let t = thread(&app, &b, &post, "new").await;
    assert_eq!(t["new_comments"], 0);
    // Alice's own comments are never new to her.
    let t = thread(&app, &a, &post, "new").await;
    assert!(t["comments"].as_array().unwrap().iter().all(|c| c["new"] == false));
}

#[tokio::test]
async fn forms_work_without_javascript_and_land_on_the_comment() {
    let app = TestApp::spawn().await;
    let (alice, a) = member(&app, "Alice", Role::Member).await;
    let (_bob, b) = member(&app, "Bob", Role::Member).await;
    let post = seed_post(&app, &alice).await;
    let r = app
        .as_member(&b)
        .post_form(
            &format!("/posts/{post}/comments"),
            &[("body", "from a form"), ("parent_id", "")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&format!("/posts/{post}#c-")), "{location}");
    let cid = location.rsplit("#c-").next().unwrap().to_string();
    let r = app
        .as_member(&a)
        .post_form(&format!("/comments/{cid}/vote"), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let html = app
        .as_member(&a)
        .get(&format!("/posts/{post}/comments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("action=\"/comments/{cid}/unvote\"")),
        "voted: the form now retracts"
    );
    assert!(
        html.contains(&format!("name=\"parent_id\" value=\"{cid}\"")),
        "a reply form per comment"
    );
    assert!(html.contains("from a form"));
}

mod in_the_browser {
    //! Comment, reply twice deep and upvote through the pages in Chromium;
    //! a second member then sees the "new" marker.

    use std::time::Duration;

    use lodge::domain::{MemberStatus, Role};
    use lodge_tests::telegram::new_member;
    use lodge_tests::{extract_code, TestApp};

    use super::{created, seed_post, thread};
    use crate::browser::{self, Browser};

    const WAIT: Duration = Duration::from_secs(10);

    async fn sign_in(app: &TestApp, b: &Browser, email: &str) {
        b.goto(&app.at("/login")).await.unwrap();
        b.fill("input[name=email]", email).await.unwrap();
        let before = app.mails_to(email).await.len();
        b.click("main button[type=submit]").await.unwrap();
        b.wait_for("input[name=code]", WAIT).await.unwrap();
        let mails = app.wait_for_mail(email, |m| m.len() > before).await;
        let code = extract_code(&mails.last().unwrap().body).unwrap();
        b.fill("input[name=code]", &code).await.unwrap();
        b.click("main button[type=submit]").await.unwrap();
        b.wait_for("header form button", WAIT).await.unwrap();
    }

    /// The ids of the thread's comments as the page shows them, with their depth.
    async fn shown(b: &Browser) -> Vec<(String, String)> {
        let v = b
            .execute(
                "return [...document.querySelectorAll('article.comment')].map(a => [a.id, a.dataset.depth]);",
                vec![],
            )
            .await
            .unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string()))
            .collect()
    }

    /// Clicks a button that submits a form and returns once the next page has
    /// loaded: a click returns before its navigation lands, and a `goto` then
    /// would cancel the form's POST.
    async fn submit(b: &Browser, button: &str) {
        b.execute("window.__lodge_before_submit = true; return true;", vec![])
            .await
            .unwrap();
        b.click(button).await.unwrap();
        let landed = lodge_tests::eventually(WAIT, async || {
            b.execute(
                "return window.__lodge_before_submit === undefined && document.readyState === 'complete';",
                vec![],
            )
            .await
            .map(|v| v.as_bool() == Some(true))
            .unwrap_or(false)
        })
        .await;
        assert!(landed, "{button}: the form's next page never loaded");
    }

    async fn reply(b: &Browser, to: &str, text: &str) {
        b.click(&format!("#{to} details.reply summary")).await.unwrap();
        b.fill(&format!("#{to} details.reply textarea"), text).await.unwrap();
        submit(b, &format!("#{to} details.reply button")).await;
    }

    #[tokio::test]
    async fn comment_reply_twice_deep_upvote_and_another_member_sees_them_as_new() {
        if !browser::available() {
            assert!(std::env::var_os("LODGE_SKIP_BROWSER").is_some(), "Chromium is missing");
            return;
        }
        let b = Browser::start().await.expect("chromium starts");
        let app = TestApp::spawn().await;
        let alice = new_member(&app, "Alice", Role::Member, MemberStatus::Approved).await;
        let bob = new_member(&app, "Bob", Role::Member, MemberStatus::Approved).await;
        let a = app.sign_in(alice.email.as_str()).await;
        let post = seed_post(&app, &alice).await;
        let hers = created(&app, &a, &post, "Alice opens the thread", None).await;
        thread(&app, &a, &post, "new").await; // Alice's visit: she has seen everything so far.

        sign_in(&app, &b, bob.email.as_str()).await;
        let page = app.at(&format!("/posts/{post}/comments?comments=new"));
        b.goto(&page).await.unwrap();
        b.fill("#comment-body", "Bob **was** here").await.unwrap();
        submit(&b, "#new-comment button").await;
        b.goto(&page).await.unwrap();
        let top = shown(&b).await.last().unwrap().0.clone();
        reply(&b, &top, "a reply").await;
        b.goto(&page).await.unwrap();
        let second = shown(&b).await.into_iter().find(|(_, d)| d == "2").unwrap().0;
        reply(&b, &second, "a reply to the reply").await;
        b.goto(&page).await.unwrap();
        let all = shown(&b).await;
        let depths: Vec<&str> = all.iter().map(|(_, d)| d.as_str()).collect();
        assert_eq!(depths, ["1", "1", "2", "3"], "{all:?}");
        assert!(b.source().await.unwrap().contains("Bob <strong>was</strong> here"));
        // Upvote Alice's comment: the button turns into "Unvote" and the count is 1.
        let hers = format!("c-{}", hers["id"].as_str().unwrap());
        submit(&b, &format!("#{hers} button.vote")).await;
        b.goto(&page).await.unwrap();
        assert_eq!(b.text(&format!("#{hers} .upvotes")).await.unwrap(), "1");
        assert!(b.count(&format!("#{hers} button.vote")).await.unwrap() == 0);
        b.click("header form button").await.unwrap();
        b.wait_for("input[name=email]", WAIT).await.unwrap();

        // Alice comes back: Bob's three comments are new to her.
        sign_in(&app, &b, alice.email.as_str()).await;
        b.goto(&page).await.unwrap();
        b.wait_for("#new-comments", WAIT).await.unwrap();
        assert!(b.text("#new-comments").await.unwrap().starts_with("3 new"));
        assert_eq!(b.count("article.comment.new").await.unwrap(), 3);
        // Seen now: reloading marks nothing.
        b.goto(&page).await.unwrap();
        assert_eq!(b.count("article.comment.new").await.unwrap(), 0);
        b.quit().await;
    }
}
