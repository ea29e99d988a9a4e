//! Posts over HTTP (issue 12): the rate limit at its edge, who may see and
//! do what, exact votes under concurrency, drafts, unpublishing, edit history,
//! hiding, events and their .ics, reports, mentions, intros on approval.

use std::time::Duration;

use lodge::domain::{Member, MemberStatus, PostId, Role};
use lodge_tests::telegram::{calls, new_member};
use lodge_tests::wait::eventually;
use lodge_tests::TestApp;
use serde_json::{json, Value};

const ADMIN_CHAT: i64 = -1001000000001;

/// An approved member, signed in: (member, cookie).
async fn member(app: &TestApp, name: &str, role: Role) -> (Member, String) {
    let m = new_member(app, name, role, MemberStatus::Approved).await;
    let cookie = app.sign_in(m.email.as_str()).await;
    (m, cookie)
}

async fn create(app: &TestApp, cookie: &str, post: Value) -> reqwest::Response {
    app.as_member(cookie).post_json("/posts", post).send().await.unwrap()
}

/// Creates a post and returns its id.
async fn post(app: &TestApp, cookie: &str, post: Value) -> String {
    let r = create(app, cookie, post).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    body["post"]["id"].as_str().unwrap().to_string()
}

fn text(title: &str) -> Value {
    json!({"type": "post", "title": title, "body": "Some **text**"})
}

async fn get_json(app: &TestApp, cookie: Option<&str>, path: &str) -> reqwest::Response {
    let mut r = app.get(path).header("accept", "application/json");
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.send().await.unwrap()
}

async fn action(app: &TestApp, cookie: &str, id: &str, what: &str, body: Value) -> reqwest::Response {
    app.as_member(cookie)
        .post_json(&format!("/posts/{id}/{what}"), body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn three_posts_per_24_hours_then_429_until_the_first_frees_up_and_moderators_are_exempt() {
    let app = TestApp::spawn().await;
    let (_, ada) = member(&app, "Ada", Role::Member).await;
    for i in 0..3 {
        let r = create(&app, &ada, text(&format!("Post {i}"))).await;
        assert_eq!(r.status(), 201, "post {i}");
        app.clock.advance(60);
    }
    // 3 minutes after the first: it frees up 24 h after it.
    let r = create(&app, &ada, text("Fourth")).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], (86_400 - 180).to_string());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // A draft is a creation too: counted, refused the same way.
    let r = create(
        &app,
        &ada,
        json!({"type": "question", "title": "Draft?", "draft": "on"}),
    )
    .await;
    assert_eq!(r.status(), 429);
    app.clock.advance(86_400 - 180 - 1);
    let r = create(&app, &ada, text("Still early")).await;
    assert_eq!(
        (r.status().as_u16(), r.headers()["retry-after"].to_str().unwrap()),
        (429, "1")
    );
    app.clock.advance(1);
    assert_eq!(create(&app, &ada, text("Now")).await.status(), 201);
    assert_eq!(create(&app, &ada, text("But not two")).await.status(), 429);
    // The form path answers the same 429 page.
    let r = app
        .as_member(&ada)
        .post_form("/posts", &[("type", "post"), ("title", "Form"), ("body", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let (_, moderator) = member(&app, "Mo", Role::Moderator).await;
    for i in 0..5 {
        assert_eq!(create(&app, &moderator, text(&format!("Mod {i}"))).await.status(), 201);
    }
}

#[tokio::test]
async fn who_may_read_edit_delete_restore_and_hide() {
    let app = TestApp::spawn().await;
    let (_, ada) = member(&app, "Ada", Role::Member).await;
    let (_, bob) = member(&app, "Bob", Role::Member).await;
    let (_, mo) = member(&app, "Mo", Role::Moderator).await;
    let members_only = post(&app, &ada, text("For members")).await;
    let public = post(
        &app,
        &ada,
        json!({"type": "post", "title": "For everyone", "body": "Hello, world", "public": "on"}),
    )
    .await;
    let draft = post(
        &app,
        &ada,
        json!({"type": "post", "title": "Not yet", "body": "x", "draft": "on"}),
    )
    .await;

    // Reading.
    let r = get_json(&app, Some(&bob), &format!("/posts/{members_only}")).await;
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["post"]["title"], "For members");
    assert_eq!(page["post"]["author"]["name"], "Ada");
    assert!(page["post"]["html"].as_str().unwrap().contains("<strong>text</strong>"));
    for field in [
        "id",
        "type",
        "room",
        "public",
        "upvotes",
        "comment_count",
        "new_comments",
        "created_at",
    ] {
        assert!(page["post"].get(field).is_some(), "{field}");
    }
    assert_eq!(page["comments"], json!([]));
    let r = app.get(&format!("/posts/{members_only}")).send().await.unwrap();
    assert_eq!(r.status(), 303, "signed out: sign in first");
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/login"));
    assert_eq!(
        get_json(&app, None, &format!("/posts/{members_only}")).await.status(),
        401
    );
    let r = app.get(&format!("/posts/{public}")).send().await.unwrap();
    assert_eq!(r.status(), 200, "public posts are readable signed out");
    let html = r.text().await.unwrap();
    assert!(
        html.contains(r#"<meta property="og:title" content="For everyone">"#),
        "{html}"
    );
    assert!(
        !html.contains(r#"action="/posts/"#) || !html.contains("/vote"),
        "no actions signed out"
    );
    assert_eq!(
        get_json(&app, Some(&bob), &format!("/posts/{draft}")).await.status(),
        404
    );
    assert_eq!(
        get_json(&app, Some(&mo), &format!("/posts/{draft}")).await.status(),
        404
    );
    assert_eq!(
        get_json(&app, Some(&ada), &format!("/posts/{draft}")).await.status(),
        200
    );
    assert_eq!(get_json(&app, Some(&bob), "/posts/not-an-id").await.status(), 404);

    // Editing and its history.
    let edit = json!({"title": "For members (v2)", "body": "Better *text*"});
    assert_eq!(
        action(&app, &bob, &members_only, "edit", edit.clone()).await.status(),
        403
    );
    let r = action(&app, &ada, &members_only, "edit", edit).await;
    assert_eq!(r.status(), 200);
    let r = action(
        &app,
        &mo,
        &members_only,
        "edit",
        json!({"title": "For members (v3)", "body": "Moderated"}),
    )
    .await;
    assert_eq!(r.status(), 200, "moderators may edit");
    assert_eq!(
        get_json(&app, Some(&bob), &format!("/posts/{members_only}/history"))
            .await
            .status(),
        403
    );
    let r = get_json(&app, Some(&ada), &format!("/posts/{members_only}/history")).await;
    assert_eq!(r.status(), 200);
    let history: Value = r.json().await.unwrap();
    let revisions = history["revisions"].as_array().unwrap();
    assert_eq!(revisions.len(), 2);
    assert_eq!(revisions[0]["title"], "For members");
    assert_eq!(revisions[0]["body"], "Some **text**");
    assert_eq!(revisions[1]["title"], "For members (v2)");
    assert_eq!(history["post"]["version"], 3);
    let r = get_json(&app, Some(&mo), &format!("/posts/{members_only}/history")).await;
    assert_eq!(r.status(), 200);
    let r = action(&app, &ada, &members_only, "edit", json!({"title": "", "body": "x"})).await;
    assert_eq!(r.status(), 422);

    // Deleting (soft) and restoring.
    assert_eq!(
        action(&app, &bob, &members_only, "delete", json!({})).await.status(),
        403
    );
    assert_eq!(
        action(&app, &ada, &members_only, "delete", json!({})).await.status(),
        200
    );
    assert_eq!(
        get_json(&app, Some(&bob), &format!("/posts/{members_only}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        get_json(&app, Some(&mo), &format!("/posts/{members_only}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        action(&app, &ada, &members_only, "restore", json!({})).await.status(),
        403
    );
    assert_eq!(
        action(&app, &mo, &members_only, "restore", json!({})).await.status(),
        200
    );
    assert_eq!(
        get_json(&app, Some(&bob), &format!("/posts/{members_only}"))
            .await
            .status(),
        200
    );

    // Hiding, with a reason the author sees.
    assert_eq!(
        action(&app, &bob, &public, "hide", json!({"reason": "Spam"}))
            .await
            .status(),
        403
    );
    assert_eq!(
        action(&app, &mo, &public, "hide", json!({})).await.status(),
        422,
        "a reason is required"
    );
    assert_eq!(
        action(&app, &mo, &public, "hide", json!({"reason": "Off topic here"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        get_json(&app, Some(&bob), &format!("/posts/{public}")).await.status(),
        404
    );
    assert_eq!(app.get(&format!("/posts/{public}")).send().await.unwrap().status(), 303);
    let r = app
        .as_member(&ada)
        .get(&format!("/posts/{public}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Hidden by the moderators: Off topic here"));
    let own: Value = get_json(&app, Some(&ada), &format!("/posts/{public}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["post"]["hidden_reason"], "Off topic here");

    // Pins and closing are for moderators.
    assert_eq!(
        action(&app, &ada, &members_only, "pin", json!({"until": "2099-01-01"}))
            .await
            .status(),
        403
    );
    let until = lodge::clock::rfc3339(lodge::clock::Clock::now(app.clock.as_ref()) + 86_400);
    let r = action(&app, &mo, &members_only, "pin", json!({"until": &until[..10]})).await;
    assert_eq!(r.status(), 200);
    let pinned: Value = r.json().await.unwrap();
    assert!(pinned["post"]["pinned_until"].is_string());
    assert_eq!(
        action(&app, &ada, &members_only, "close", json!({})).await.status(),
        403
    );
    let r = action(&app, &mo, &members_only, "close", json!({})).await;
    let closed: Value = r.json().await.unwrap();
    assert_eq!(closed["post"]["closed"], true);

    // Every action works as a form POST with a redirect, and is CSRF-checked.
    let r = app
        .as_member(&bob)
        .post_form(&format!("/posts/{members_only}/bookmark"), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["location"].to_str().unwrap()),
        (303, &*format!("/posts/{members_only}"))
    );
    let r = app
        .http
        .post(app.at(&format!("/posts/{members_only}/vote")))
        .header("cookie", &bob)
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn twenty_voters_at_once_give_twenty_one_voter_twenty_times_gives_one() {
    // 21 members sign in from one address: above the default 30 attempts an hour.
    let app = TestApp::spawn_with(&[("LODGE_AUTH_IP_LIMIT", "500")]).await;
    let (_, ada) = member(&app, "Ada", Role::Member).await;
    let id = post(&app, &ada, text("Vote for me")).await;
    let mut voters = Vec::new();
    for i in 0..20 {
        voters.push(member(&app, &format!("Voter {i}"), Role::Member).await.1);
    }
    let tries = voters.iter().map(|c| action(&app, c, &id, "vote", json!({})));
    for r in futures::future::join_all(tries).await {
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["voted"], true);
    }
    let page: Value = get_json(&app, Some(&ada), &format!("/posts/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["post"]["upvotes"], 20);

    let other = post(&app, &voters[0], text("Vote once")).await;
    let one = &voters[1];
    let tries = (0..20).map(|_| action(&app, one, &other, "vote", json!({})));
    for r in futures::future::join_all(tries).await {
        assert_eq!(r.status(), 200);
    }
    let page: Value = get_json(&app, Some(one), &format!("/posts/{other}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (page["post"]["upvotes"].as_i64(), page["post"]["voted"].as_bool()),
        (Some(1), Some(true))
    );

    // Not one's own post.
    let r = action(&app, &voters[0], &other, "vote", json!({})).await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "own_post");
    // Retract within 24 hours, not after.
    let r = action(&app, one, &other, "unvote", json!({})).await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"upvotes": 0, "voted": false}));
    let r = action(&app, one, &other, "vote", json!({})).await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"upvotes": 1, "voted": true}));
    app.clock.advance(86_400 - 1);
    assert_eq!(action(&app, &voters[2], &other, "vote", json!({})).await.status(), 200);
    assert_eq!(
        action(&app, &voters[2], &other, "unvote", json!({})).await.status(),
        200
    );
    app.clock.advance(1);
    let r = action(&app, one, &other, "unvote", json!({})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "retract_window");
    let page: Value = get_json(&app, Some(one), &format!("/posts/{other}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["post"]["upvotes"], 1);
}

#[tokio::test]
async fn drafts_publish_and_unpublish_only_under_ten_comments() {
    let app = TestApp::spawn().await;
    let (_, ada) = member(&app, "Ada", Role::Member).await;
    let (_, bob) = member(&app, "Bob", Role::Member).await;
    let id = post(
        &app,
        &ada,
        json!({"type": "post", "title": "Draft", "body": "x", "draft": "on"}),
    )
    .await;
    assert_eq!(
        action(&app, &bob, &id, "vote", json!({})).await.status(),
        404,
        "no votes on drafts"
    );
    assert_eq!(action(&app, &bob, &id, "publish", json!({})).await.status(), 404);
    let r = action(&app, &ada, &id, "publish", json!({})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["post"]["state"], "published");
    assert_eq!(get_json(&app, Some(&bob), &format!("/posts/{id}")).await.status(), 200);
    let post_id = PostId::parse(&id).unwrap();
    // Until the comments function writes comments, the count is seeded through the store.
    app.store().posts().seed_comment_count(&post_id, 10).await.unwrap();
    let r = action(&app, &ada, &id, "unpublish", json!({})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "has_comments");
    app.store().posts().seed_comment_count(&post_id, 9).await.unwrap();
    assert_eq!(action(&app, &bob, &id, "unpublish", json!({})).await.status(), 403);
    assert_eq!(action(&app, &ada, &id, "unpublish", json!({})).await.status(), 200);
    assert_eq!(get_json(&app, Some(&bob), &format!("/posts/{id}")).await.status(), 404);
}

#[tokio::test]
async fn an_event_takes_rsvps_and_downloads_as_ics() {
    let app = TestApp::spawn().await;
    let (_, ada) = member(&app, "Ada", Role::Member).await;
    let (_, bob) = member(&app, "Bob", Role::Member).await;
    let id = post(
        &app,
        &ada,
        json!({"type": "event", "title": "Dinner, drinks; talk", "body": "Bring friends", "starts_at": "2026-12-20T19:00Z", "ends_at": "2026-12-20T22:30Z", "place": "Café Central, Vienna"}),
    )
    .await;
    let r = action(&app, &bob, &id, "rsvp", json!({"going": "yes"})).await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"going": 1, "rsvp": true}));
    let r = action(&app, &bob, &id, "rsvp", json!({"going": "yes"})).await;
    assert_eq!(r.json::<Value>().await.unwrap()["going"], 1, "once per member");
    let page: Value = get_json(&app, Some(&ada), &format!("/posts/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["post"]["event"]["going"], 1);
    assert_eq!(page["post"]["event"]["going_members"][0]["name"], "Bob");
    assert_eq!(page["post"]["event"]["starts_at"], "2026-12-20T19:00:00Z");

    let r = app
        .as_member(&bob)
        .get(&format!("/posts/{id}/event.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/calendar"));
    let ics = r.text().await.unwrap();
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{ics}");
    assert!(ics.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"), "{ics}");
    assert!(!ics.replace("\r\n", "").contains('\n'), "every line ends with CRLF");
    for line in [
        "DTSTART:20261220T190000Z",
        "DTEND:20261220T223000Z",
        "SUMMARY:Dinner\\, drinks\\; talk",
        "LOCATION:Café Central\\, Vienna",
        &format!("UID:{id}@"),
    ] {
        assert!(ics.contains(line), "{line} in {ics}");
    }
    assert_eq!(
        app.get(&format!("/posts/{id}/event.ics"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let plain = post(&app, &ada, text("Not an event")).await;
    assert_eq!(
        app.as_member(&bob)
            .get(&format!("/posts/{plain}/event.ics"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(action(&app, &bob, &plain, "rsvp", json!({})).await.status(), 409);
    let r = action(&app, &bob, &id, "rsvp", json!({"going": "no"})).await;
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"going": 0, "rsvp": false}));
}

#[tokio::test]
async fn reports_reach_moderators_on_the_web_and_in_the_admin_chat_and_resolve_once() {
    let app = TestApp::spawn().await;
    let (_, ada) = member(&app, "Ada", Role::Member).await;
    let (_, bob) = member(&app, "Bob", Role::Member).await;
    let (_, carol) = member(&app, "Carol", Role::Member).await;
    let (_, mo) = member(&app, "Mo", Role::Moderator).await;
    let id = post(&app, &ada, text("Buy my stuff")).await;
    assert_eq!(action(&app, &bob, &id, "report", json!({})).await.status(), 422);
    assert_eq!(
        action(&app, &bob, &id, "report", json!({"reason": "Spam"}))
            .await
            .status(),
        201
    );
    assert_eq!(
        action(&app, &bob, &id, "report", json!({"reason": "Spam!"}))
            .await
            .status(),
        200,
        "once per member"
    );
    assert_eq!(
        action(&app, &carol, &id, "report", json!({"reason": "Ads"}))
            .await
            .status(),
        201
    );
    assert_eq!(get_json(&app, Some(&bob), "/admin/reports").await.status(), 403);
    let queue: Value = get_json(&app, Some(&mo), "/admin/reports").await.json().await.unwrap();
    assert_eq!(queue["reports"].as_array().unwrap().len(), 2);
    assert_eq!(queue["reports"][0]["label"], "Buy my stuff");
    let posted = eventually(Duration::from_secs(15), async || {
        calls(&app).await.iter().any(|c| {
            c.method == "sendMessage"
                && c.params["chat_id"] == ADMIN_CHAT
                && c.params["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("Report") && t.contains("Ads"))
        })
    })
    .await;
    assert!(posted, "the admin chat hears of the report");
    let target = format!("POST#{id}");
    let r = app
        .as_member(&mo)
        .post_json(
            "/admin/reports/resolve",
            json!({"target": target, "decision": "hide", "reason": "Advertising"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["resolved"], 2);
    let queue: Value = get_json(&app, Some(&mo), "/admin/reports").await.json().await.unwrap();
    assert!(queue["reports"].as_array().unwrap().is_empty());
    assert_eq!(get_json(&app, Some(&bob), &format!("/posts/{id}")).await.status(), 404);
    let own: Value = get_json(&app, Some(&ada), &format!("/posts/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["post"]["hidden_reason"], "Advertising");
    // A second resolution finds nothing open and changes nothing.
    let r = app
        .as_member(&mo)
        .post_json(
            "/admin/reports/resolve",
            json!({"target": target, "decision": "dismiss"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["resolved"], 0);
    let (_, decisions) = app
        .store()
        .reports()
        .of(&lodge::store::reports::ReportTarget::Post(PostId::parse(&id).unwrap()))
        .await
        .unwrap();
    assert_eq!(decisions.len(), 1);
}

#[tokio::test]
async fn mentions_link_members_by_handle_and_are_recorded() {
    let app = TestApp::spawn().await;
    let (_, ada) = member(&app, "Ada Lovelace", Role::Member).await;
    let (bob_member, bob) = member(&app, "Bob", Role::Member).await;
    // Bob's handle is claimed the first time he writes.
    post(&app, &bob, text("Hi")).await;
    let r = create(
        &app,
        &ada,
        json!({"type": "post", "title": "Thanks", "body": "Thanks @bob and @nobody, see [this](https://example.org)"}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    let html = body["post"]["html"].as_str().unwrap();
    assert!(html.contains(&format!("/members/{}", bob_member.id)), "{html}");
    assert!(html.contains("@nobody"), "{html}");
    assert_eq!(body["mentions"], json!([bob_member.id]));
}

#[tokio::test]
async fn an_approved_members_intro_becomes_one_intro_post() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let (_, newcomer, id) = app.newcomer_on_review(&admin, "Grace Hopper").await;
    let r = app
        .as_member(&admin)
        .post_json(&format!("/admin/moderation/{id}"), json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let again = app
        .as_member(&admin)
        .post_json(&format!("/admin/moderation/{id}"), json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    // The `TYPE#intro` listing, read as the table's owner would (no feed route involved).
    let listing = aws_sdk_dynamodb::Client::new(&app.stack.aws)
        .query()
        .table_name(app.table())
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :l")
        .expression_attribute_values(":l", aws_sdk_dynamodb::types::AttributeValue::S("TYPE#intro".into()))
        .send()
        .await
        .unwrap();
    let theirs: Vec<_> = listing
        .items()
        .iter()
        .filter(|c| c.get("author_id").and_then(|v| v.as_s().ok()) == Some(&id))
        .collect();
    assert_eq!(theirs.len(), 1, "{listing:#?}");
    assert_eq!(theirs[0]["title"].as_s().unwrap(), "Meet Grace Hopper");
    let post_id = theirs[0]["id"].as_s().unwrap();
    let page: Value = get_json(&app, Some(&newcomer), &format!("/posts/{post_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["post"]["type"], "intro");
    assert!(page["post"]["html"].as_str().unwrap().contains("studied here in 2015"));
}

#[tokio::test]
async fn the_script_is_served_with_a_long_cache_and_linked_by_version() {
    let app = TestApp::spawn().await;
    let (_, ada) = member(&app, "Ada", Role::Member).await;
    let id = post(&app, &ada, text("Script")).await;
    let html = app
        .as_member(&ada)
        .get(&format!("/posts/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let src = html
        .split("<script src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the page links the script")
        .to_string();
    assert!(src.starts_with("/static/lodge.js?v="), "{src}");
    let r = app.get(&src).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age=31536000"));
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert!(r.text().await.unwrap().contains("data-enhance"));
}
