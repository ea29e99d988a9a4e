//! Notifications (issue 13): content events fan out to the inbox, Telegram
//! DMs with buttons and the coalesced email; every delivery happens once.
//!
//! The fault tests write the post and comment items the store writes
//! (docs/posts.md: `POST#<id>` / `POST` and `C#<path>`) and send the
//! `ContentEvent` the create paths send, to `ContentQueue`, by hand, so one
//! event can be delivered twice or held; the real write paths are covered
//! by `the_write_paths_send_their_events_and_each_lands_in_the_right_inbox`.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use lodge::domain::{CommentId, Member, MemberId, MemberStatus, PostId, Role};
use lodge::notify::ContentEvent;
use lodge::Clock;
use lodge_tests::telegram::{link, new_member, rand_id};
use lodge_tests::{eventually, stays_false, wait_for, Mail, TestApp};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

struct Someone {
    member: Member,
    cookie: String,
    /// Their Telegram user id, when linked.
    tg: Option<i64>,
}

async fn someone(app: &TestApp, name: &str, telegram: bool) -> Someone {
    let member = new_member(app, name, Role::Member, MemberStatus::Approved).await;
    let tg = if telegram {
        let id = rand_id();
        link(app, &member, id, &name.to_lowercase()).await;
        Some(id)
    } else {
        None
    };
    let cookie = app.sign_in(member.email.as_str()).await;
    Someone { member, cookie, tg }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

async fn put(app: &TestApp, item: Vec<(&str, AttributeValue)>) {
    lodge::aws::dynamodb(&app.stack.aws)
        .put_item()
        .table_name(app.table())
        .set_item(Some(item.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
        .send()
        .await
        .unwrap();
}

/// A post published by `who` through `POST /posts`, as a member would.
async fn posted(app: &TestApp, who: &Someone, title: &str) -> PostId {
    let r = app
        .as_member(&who.cookie)
        .post_json("/posts", json!({"type": "post", "title": title, "body": "Hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    PostId::parse(r.json::<Value>().await.unwrap()["post"]["id"].as_str().unwrap()).unwrap()
}

/// A published post by `author`, with the author following it (as publishing does).
async fn post_by(app: &TestApp, author: &Member, title: &str) -> PostId {
    let id = PostId::generate(app.clock.now_ms());
    put(
        app,
        vec![
            ("pk", s(&format!("POST#{id}"))),
            ("sk", s("POST")),
            ("state", s("published")),
            ("title", s(title)),
            ("author_id", s(author.id.as_str())),
            ("author_name", s(author.name())),
            ("excerpt", s("The start of the post.")),
        ],
    )
    .await;
    put(
        app,
        vec![
            ("pk", s(&format!("POST#{id}"))),
            ("sk", s(&format!("FOLLOW#{}", author.id))),
            ("at", AttributeValue::N(app.clock.now().to_string())),
        ],
    )
    .await;
    id
}

/// A comment by `author` (under `parent`, when given) and the event its creation sends.
async fn comment(
    app: &TestApp,
    post: &PostId,
    author: &Member,
    parent: Option<(&CommentId, &str, &MemberId)>,
    body: &str,
) -> (ContentEvent, CommentId, String) {
    let at_ms = app.clock.now_ms() + i64::from(rand_id() as u16 % 1000);
    let id = CommentId::generate(at_ms);
    let path = match parent {
        Some((_, parent_path, _)) => format!("{parent_path}#{id}"),
        None => id.to_string(),
    };
    put(
        app,
        vec![
            ("pk", s(&format!("POST#{post}"))),
            ("sk", s(&format!("C#{path}"))),
            ("id", s(id.as_str())),
            ("author_id", s(author.id.as_str())),
            ("author_name", s(author.name())),
            ("body", s(body)),
        ],
    )
    .await;
    let event = ContentEvent::CommentCreated {
        post: post.clone(),
        comment: id.clone(),
        path: path.clone(),
        author: author.id.clone(),
        parent_author: parent.map(|(_, _, a)| a.clone()),
        mentions: vec![],
        at_ms,
    };
    (event, id, path)
}

async fn send(app: &TestApp, event: &ContentEvent) {
    app.stack
        .sqs
        .send_message()
        .queue_url(app.queue_url("ContentQueue"))
        .message_body(lodge::queue::encode(event))
        .send()
        .await
        .unwrap();
}

async fn inbox(app: &TestApp, who: &Someone) -> Value {
    let r = app
        .as_member(&who.cookie)
        .get("/notifications")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The notification DMs the fake accepted for `chat` (not sign-in codes).
fn dms(app: &TestApp, chat: i64) -> Vec<Value> {
    app.telegram()
        .calls_of("sendMessage")
        .into_iter()
        .filter(|p| p["chat_id"] == chat && p["text"].as_str().is_some_and(|t| t.starts_with("🔔")))
        .collect()
}

fn delivered(app: &TestApp, chat: i64) -> usize {
    app.telegram()
        .deliveries_to(chat)
        .iter()
        .filter(|d| d.text.as_deref().is_some_and(|t| t.starts_with("🔔")))
        .count()
}

/// Runs the every-minute email job now, as EventBridge would.
async fn mail_run(app: &TestApp) {
    let r = app
        .http
        .post(app.at("/_local/schedule/notify-mail"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
}

async fn notification_mails(app: &TestApp, who: &Someone) -> Vec<Mail> {
    app.mails_to(who.member.email.as_str())
        .await
        .into_iter()
        .filter(|m| !m.subject.to_lowercase().contains("code"))
        .collect()
}

async fn settle(app: &TestApp) {
    app.drained("ContentQueue").await;
    app.drained("NotifyQueue").await;
}

/// Issue 13's loop as far as this branch reaches: A comments on B's post;
/// B gets the inbox entry and a DM with 👍 and 🔕; a reply under A's
/// comment reaches A in the inbox and Telegram; A blocks the bot; A's
/// next notification comes by email, once, after the 15-minute window.
#[tokio::test]
async fn a_comment_reaches_the_author_everywhere_and_a_blocked_bot_falls_back_to_email() {
    let app = TestApp::spawn().await;
    let a = someone(&app, "Ada", true).await;
    let b = someone(&app, "Bob", true).await;
    let post = post_by(&app, &b.member, "Bob's <first> post").await;

    let (event, a_comment, a_path) = comment(&app, &post, &a.member, None, "Nice post, Bob & co.").await;
    send(&app, &event).await;
    let entry = wait_for(WAIT, "Bob's inbox entry", async || {
        let v = inbox(&app, &b).await;
        (v["unread"] == 1).then(|| v["notifications"][0].clone())
    })
    .await;
    assert_eq!(entry["kind"], "comment_on_post");
    assert_eq!(entry["read"], false);
    assert_eq!(entry["url"], format!("/posts/{post}#c-{a_comment}"));
    let bob_tg = b.tg.unwrap();
    let dm = wait_for(WAIT, "Bob's DM", async || dms(&app, bob_tg).pop()).await;
    let text = dm["text"].as_str().unwrap();
    assert!(
        text.contains("Ada commented on your post") && text.contains("&lt;first&gt;"),
        "{text}"
    );
    assert!(text.contains(&format!("/posts/{post}#c-{a_comment}")), "{text}");
    let buttons = &dm["reply_markup"]["inline_keyboard"][0];
    assert_eq!(buttons[0]["text"], "👍 Upvote");
    assert_eq!(buttons[1]["text"], "🔕 Unfollow");
    assert_eq!(
        delivered(&app, bob_tg),
        1,
        "the fake accepted the DM (valid HTML, within limits)"
    );
    // Every page's header shows the count at no extra read: the feed and
    // the member pages included (the post page: the test below).
    for path in [
        "/settings/notifications".to_string(),
        "/".to_string(),
        "/bookmarks".to_string(),
        "/rooms".to_string(),
        "/invites".to_string(),
    ] {
        let html = app.as_member(&b.cookie).html(&path).await;
        assert!(
            html.contains("<strong data-unread>1</strong>"),
            "{path}: no unread count in the header"
        );
    }

    // Bob replies under Ada's comment (on the web until the Telegram reply lands).
    let (reply, _, _) = comment(
        &app,
        &post,
        &b.member,
        Some((&a_comment, a_path.as_str(), &a.member.id)),
        "Thanks!",
    )
    .await;
    send(&app, &reply).await;
    let ada_tg = a.tg.unwrap();
    wait_for(WAIT, "Ada's DM", async || dms(&app, ada_tg).pop()).await;
    let v = inbox(&app, &a).await;
    assert_eq!(v["unread"], 1);
    assert_eq!(v["notifications"][0]["kind"], "reply");

    // Ada blocks the bot: the next DM gets 403, she is marked unreachable,
    // and the notification comes by email instead.
    app.telegram().block(ada_tg);
    let (again, _, _) = comment(
        &app,
        &post,
        &b.member,
        Some((&a_comment, a_path.as_str(), &a.member.id)),
        "One more thing.",
    )
    .await;
    send(&app, &again).await;
    settle(&app).await;
    assert!(
        eventually(WAIT, async || app
            .store()
            .members()
            .get(&a.member.id)
            .await
            .unwrap()
            .unwrap()
            .telegram
            .is_some_and(|t| t.unreachable))
        .await
    );
    mail_run(&app).await;
    assert!(
        notification_mails(&app, &a).await.is_empty(),
        "the email waits for its window"
    );
    app.clock.advance(15 * 60);
    mail_run(&app).await;
    let mails = notification_mails(&app, &a).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].body.contains("Bob replied to your comment"),
        "{}",
        mails[0].body
    );
    assert!(mails[0].body.contains(&format!("/posts/{post}#c-")));
    // Later runs send nothing more.
    app.clock.advance(15 * 60);
    mail_run(&app).await;
    assert_eq!(notification_mails(&app, &a).await.len(), 1);
}

/// Every queue message delivered twice: one inbox entry, one DM, one email.
#[tokio::test]
async fn every_message_twice_still_gives_one_of_each() {
    let app = TestApp::spawn().await;
    let a = someone(&app, "Ada", false).await;
    let b = someone(&app, "Bob", true).await;
    // Bob also wants email (off by default with Telegram linked).
    let r = app
        .as_member(&b.cookie)
        .post_json(
            "/settings/notifications",
            json!({"kinds": {"comment_on_post": {"email": true}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["kinds"]["comment_on_post"]["email"],
        true
    );
    let post = post_by(&app, &b.member, "Twice").await;
    let (event, _, _) = comment(&app, &post, &a.member, None, "Hello").await;
    send(&app, &event).await;
    send(&app, &event).await;
    settle(&app).await;
    // And every delivery it queued, once more.
    let bob_tg = b.tg.unwrap();
    assert!(eventually(WAIT, async || delivered(&app, bob_tg) == 1).await);
    settle(&app).await;
    let v = inbox(&app, &b).await;
    assert_eq!(v["unread"], 1, "{v}");
    assert_eq!(v["notifications"].as_array().unwrap().len(), 1);
    app.clock.advance(15 * 60);
    mail_run(&app).await;
    mail_run(&app).await;
    let mails = notification_mails(&app, &b).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0].body.matches("Ada commented on your post").count(),
        1,
        "{}",
        mails[0].body
    );
    assert_eq!(delivered(&app, bob_tg), 1);
}

/// A member who muted the commenter hears nothing of them.
#[tokio::test]
async fn a_muted_commenter_notifies_nothing() {
    let app = TestApp::spawn().await;
    let a = someone(&app, "Ada", false).await;
    let b = someone(&app, "Bob", true).await;
    lodge::aws::dynamodb(&app.stack.aws)
        .update_item()
        .table_name(app.table())
        .key("pk", s(&format!("MEMBER#{}", b.member.id)))
        .key("sk", s("PROFILE"))
        .update_expression("ADD muted_members :m")
        .expression_attribute_values(":m", AttributeValue::Ss(vec![a.member.id.to_string()]))
        .send()
        .await
        .unwrap();
    let post = post_by(&app, &b.member, "Muted").await;
    let (event, _, _) = comment(&app, &post, &a.member, None, "You will not hear this").await;
    send(&app, &event).await;
    settle(&app).await;
    assert!(stays_false(Duration::from_secs(2), async || delivered(&app, b.tg.unwrap()) > 0).await);
    assert_eq!(inbox(&app, &b).await["unread"], 0);
}

/// Coalescing: 5 replies in 10 minutes (test clock) give 1 email listing all 5.
#[tokio::test]
async fn five_replies_in_ten_minutes_give_one_email() {
    let app = TestApp::spawn().await;
    let a = someone(&app, "Ada", false).await;
    let b = someone(&app, "Bob", false).await;
    let post = post_by(&app, &b.member, "Busy").await;
    for i in 0..5 {
        let (event, _, _) = comment(&app, &post, &a.member, None, &format!("reply number {i}")).await;
        send(&app, &event).await;
        settle(&app).await;
        mail_run(&app).await;
        app.clock.advance(150);
    }
    assert!(notification_mails(&app, &b).await.is_empty());
    app.clock.advance(15 * 60 - 5 * 150);
    mail_run(&app).await;
    let mails = notification_mails(&app, &b).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].subject, "5 new notifications on Lodge");
    for i in 0..5 {
        assert!(
            mails[0].body.contains(&format!("reply number {i}")),
            "{}",
            mails[0].body
        );
    }
}

/// A DM waiting out Telegram's 429 is dropped when its comment was deleted meanwhile.
#[tokio::test]
async fn a_queued_notification_for_since_deleted_content_is_dropped() {
    let app = TestApp::spawn().await;
    let a = someone(&app, "Ada", false).await;
    let b = someone(&app, "Bob", true).await;
    let bob_tg = b.tg.unwrap();
    app.telegram().fail_next(
        "sendMessage",
        429,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}}),
    );
    let post = post_by(&app, &b.member, "Soon gone").await;
    let (event, _, path) = comment(&app, &post, &a.member, None, "Regrettable").await;
    send(&app, &event).await;
    assert!(
        eventually(WAIT, async || !app
            .telegram()
            .calls_of("sendMessage")
            .iter()
            .all(
                |p| p["chat_id"] != bob_tg || !p["text"].as_str().unwrap_or("").starts_with("🔔")
            ))
        .await
    );
    lodge::aws::dynamodb(&app.stack.aws)
        .update_item()
        .table_name(app.table())
        .key("pk", s(&format!("POST#{post}")))
        .key("sk", s(&format!("C#{path}")))
        .update_expression("SET deleted = :t")
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .send()
        .await
        .unwrap();
    settle(&app).await;
    assert_eq!(delivered(&app, bob_tg), 0);
}

/// An audience bigger than a slice (`LODGE_FANOUT_SLICE`) is split into
/// slices on the content queue, each fanned out by its own invocation, and
/// every member still hears exactly once.
#[tokio::test]
async fn a_big_audience_is_split_into_slices_and_everyone_hears_once() {
    let app = TestApp::spawn_with(&[("LODGE_FANOUT_SLICE", "3")]).await;
    let a = someone(&app, "Ada", false).await;
    let b = someone(&app, "Bob", false).await;
    let post = post_by(&app, &b.member, "Everyone").await;
    let mut told = vec![b];
    for i in 0..7 {
        let f = someone(&app, &format!("Follower{i}"), false).await;
        let r = app
            .as_member(&f.cookie)
            .post_json(&format!("/posts/{post}/follow"), json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        told.push(f);
    }
    let before = app.stack.iam.calls();
    let (event, _, _) = comment(&app, &post, &a.member, None, "Hello, everyone").await;
    send(&app, &event).await;
    for who in &told {
        assert!(
            eventually(WAIT, async || inbox(&app, who).await["unread"] == 1).await,
            "{} heard nothing",
            who.member.name()
        );
    }
    settle(&app).await;
    for who in &told {
        assert_eq!(inbox(&app, who).await["unread"], 1, "{} told twice", who.member.name());
    }
    assert_eq!(inbox(&app, &a).await["unread"], 0, "the commenter hears nothing");
    // 8 recipients in slices of 3: one batch of 3 slices on the content
    // queue, then each slice's own batch of email deliveries; unsplit, it
    // would have been one batch of 8 deliveries.
    let batches = |calls: &std::collections::BTreeMap<String, u64>| {
        calls.get("FanoutFunction SendMessageBatch").copied().unwrap_or(0)
    };
    assert_eq!(batches(&app.stack.iam.calls()) - batches(&before), 4);
}

/// A comment whose event could not be sent after its commit is not lost:
/// the event went into the outbox in the comment's own transaction, and
/// the sweeper sends it five minutes on. A comment whose event was sent
/// leaves nothing there once it is fanned out.
#[tokio::test]
async fn an_event_whose_send_failed_after_the_commit_is_sent_from_the_outbox() {
    let app = TestApp::spawn().await;
    let a = someone(&app, "Ada", false).await;
    let b = someone(&app, "Bob", false).await;
    let post = posted(&app, &b, "Bob's").await;
    let store = app.store();
    let outbox = async || {
        store
            .outbox()
            .unsent(app.clock.now_ms() + 60 * 60 * 1000, 100)
            .await
            .unwrap()
    };
    // The post's own event was fanned out: its entry is gone.
    assert!(eventually(WAIT, async || outbox().await.is_empty()).await);

    // Ada's comment through the shared write path, with a content queue
    // that refuses the send (it does not exist): the comment stands.
    let refusing = lodge::queue::QueueSender::new(
        lodge::aws::sqs(&app.stack.aws),
        format!("{}/123456789012/no-such-queue", app.stack.moto_url),
    );
    let req = lodge::writing::CommentRequest {
        post: post.clone(),
        parent: None,
        body: lodge::domain::CommentBody::parse("Count me in").unwrap(),
        source: None,
    };
    let comment = lodge::writing::create_comment(&store, &refusing, &a.member, &req, app.clock.now_ms())
        .await
        .unwrap();
    let waiting = outbox().await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert!(matches!(&waiting[0], ContentEvent::CommentCreated { comment: c, .. } if *c == comment.id));
    let sweep = async || {
        let r = app
            .http
            .post(app.at("/_local/schedule/outbox-sweeper"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    };
    // Within the grace period the writer's own send may still be on its way.
    app.clock.advance(4 * 60);
    sweep().await;
    assert_eq!(outbox().await.len(), 1);
    settle(&app).await;
    assert_eq!(inbox(&app, &b).await["unread"], 0, "nothing was sent yet");
    app.clock.advance(2 * 60);
    sweep().await;
    assert!(eventually(WAIT, async || inbox(&app, &b).await["unread"] == 1).await);
    assert!(outbox().await.is_empty());
    settle(&app).await;
    assert_eq!(inbox(&app, &b).await["unread"], 1, "told once");
}

/// The inbox pages, marks one and all read, and the bell follows a thread.
#[tokio::test]
async fn the_inbox_pages_and_marks_read_and_the_bell_follows() {
    let app = TestApp::spawn().await;
    let a = someone(&app, "Ada", false).await;
    let b = someone(&app, "Bob", false).await;
    let c = someone(&app, "Cy", false).await;
    let post = post_by(&app, &b.member, "Threads").await;
    // Cy follows the thread with the bell; Ada's comments then reach him too.
    let r = app
        .as_member(&c.cookie)
        .post_json(&format!("/posts/{post}/follow"), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["following"], true);
    for i in 0..23 {
        let (event, _, _) = comment(&app, &post, &a.member, None, &format!("c{i}")).await;
        send(&app, &event).await;
    }
    assert!(eventually(WAIT, async || inbox(&app, &b).await["unread"] == 23).await);
    assert!(eventually(WAIT, async || inbox(&app, &c).await["unread"] == 23).await);
    let first = inbox(&app, &c).await;
    assert_eq!(first["notifications"][0]["kind"], "followed_post");
    let page1 = first["notifications"].as_array().unwrap().clone();
    assert_eq!(page1.len(), 20);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let rest: Value = app
        .as_member(&c.cookie)
        .get(&format!("/notifications?cursor={cursor}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let page2 = rest["notifications"].as_array().unwrap();
    assert_eq!(page2.len(), 3);
    assert!(rest["next_cursor"].is_null());
    let mut ids: Vec<&str> = page1.iter().chain(page2).map(|e| e["id"].as_str().unwrap()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 23, "no duplicates across pages");
    // A bad cursor is a 400 naming it.
    let bad = app
        .as_member(&c.cookie)
        .get("/notifications?cursor=nope")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);

    // Opening one from the page marks it read and lands on the comment.
    let id = ids[0];
    let r = app
        .as_member(&c.cookie)
        .post_form(&format!("/notifications/{id}/read"), &[("open", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, page1[0]["url"].as_str().unwrap());
    assert!(to.contains("#c-"));
    assert_eq!(inbox(&app, &c).await["unread"], 22);
    // Marking it again changes nothing.
    app.as_member(&c.cookie)
        .post_json(&format!("/notifications/{id}/read"), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(inbox(&app, &c).await["unread"], 22);
    let r = app
        .as_member(&c.cookie)
        .post_form("/notifications/read", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let after = inbox(&app, &c).await;
    assert_eq!(after["unread"], 0);
    assert!(after["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["read"] == true));

    // Unfollowing stops the thread's notifications.
    app.as_member(&c.cookie)
        .post_form(&format!("/posts/{post}/unfollow"), &[])
        .send()
        .await
        .unwrap();
    let (event, _, _) = comment(&app, &post, &a.member, None, "after").await;
    send(&app, &event).await;
    assert!(eventually(WAIT, async || inbox(&app, &b).await["unread"] == 24).await);
    settle(&app).await;
    assert_eq!(inbox(&app, &c).await["unread"], 0);
    // A post that does not exist cannot be followed.
    let r = app
        .as_member(&c.cookie)
        .post_json(&format!("/posts/{}/follow", PostId::generate(1)), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

/// Preferences: defaults per Telegram link, a form sets every switch.
#[tokio::test]
async fn preferences_default_by_telegram_and_save_from_the_form() {
    let app = TestApp::spawn().await;
    let linked = someone(&app, "Ada", true).await;
    let plain = someone(&app, "Bob", false).await;
    let get = async |who: &Someone| -> Value {
        app.as_member(&who.cookie)
            .get("/settings/notifications")
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let l = get(&linked).await;
    assert_eq!(l["kinds"]["reply"]["email"], false);
    assert_eq!(l["kinds"]["reply"]["telegram"], true);
    assert_eq!(l["digest"], "weekly");
    let p = get(&plain).await;
    assert_eq!(p["kinds"]["reply"]["email"], true);
    let r = app
        .as_member(&plain.cookie)
        .post_form("/settings/notifications", &[("mention.web", "on"), ("digest", "none")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let p = get(&plain).await;
    assert_eq!(p["kinds"]["mention"]["web"], true);
    assert_eq!(p["kinds"]["reply"]["email"], false);
    assert_eq!(p["digest"], "none");
    // The daily digest needs Telegram: refused for the unlinked, taken for the linked.
    let daily = |who: &Someone| {
        app.as_member(&who.cookie)
            .post_form("/settings/notifications", &[("digest", "daily")])
            .send()
    };
    assert_eq!(daily(&plain).await.unwrap().status(), 422);
    assert_eq!(daily(&linked).await.unwrap().status(), 303);
    assert_eq!(get(&linked).await["digest"], "daily");
    let bad = app
        .as_member(&plain.cookie)
        .post_form("/settings/notifications", &[("reply.fax", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    // Cross-site posts are refused like every other form.
    let forged = app
        .http
        .post(app.at("/settings/notifications"))
        .header("cookie", &plain.cookie)
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("reply.email=on")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}

/// The real write paths send the events (no hand-written items here): a
/// comment and a reply through `/posts/{id}/comments`, a post published in a
/// room through `/posts`, a report resolved through `/admin/reports/resolve`,
/// and an intro approved through `/admin/moderation/{id}`.
#[tokio::test]
async fn the_write_paths_send_their_events_and_each_lands_in_the_right_inbox() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let a = someone(&app, "Ada", false).await;
    let b = someone(&app, "Bob", false).await;
    let c = someone(&app, "Cy", false).await;
    let posted = |who: &Someone, body: Value| {
        let cookie = who.cookie.clone();
        let app = &app;
        async move {
            let r = app.as_member(&cookie).post_json("/posts", body).send().await.unwrap();
            assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
            let v: Value = r.json().await.unwrap();
            v["post"]["id"].as_str().unwrap().to_string()
        }
    };
    let commented = |who: &Someone, post: String, body: &'static str, parent: Option<String>| {
        let cookie = who.cookie.clone();
        let app = &app;
        async move {
            let mut b = json!({ "body": body });
            if let Some(p) = parent {
                b["parent_id"] = json!(p);
            }
            let r = app
                .as_member(&cookie)
                .post_json(&format!("/posts/{post}/comments"), b)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
            let v: Value = r.json().await.unwrap();
            v["comment"]["id"].as_str().unwrap().to_string()
        }
    };
    let kinds = async |who: &Someone| -> Vec<String> {
        settle(&app).await;
        inbox(&app, who).await["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_string())
            .collect()
    };

    // Bob's post; Ada comments (Bob hears), Bob replies (Ada hears), and
    // nobody hears of their own comment.
    let post = posted(&b, json!({"type": "post", "title": "Bob's post", "body": "Hello"})).await;
    let ada_comment = commented(&a, post.clone(), "Nice one", None).await;
    assert!(
        eventually(WAIT, async || kinds(&b).await == ["comment_on_post"]).await,
        "{:?}",
        kinds(&b).await
    );
    commented(&b, post.clone(), "Thanks!", Some(ada_comment.clone())).await;
    assert!(
        eventually(WAIT, async || kinds(&a).await == ["reply"]).await,
        "{:?}",
        kinds(&a).await
    );
    assert_eq!(kinds(&b).await, ["comment_on_post"], "not of his own reply");
    let entry = &inbox(&app, &a).await["notifications"][0];
    assert!(entry["url"].as_str().unwrap().starts_with(&format!("/posts/{post}#c-")));

    // A room post reaches its subscribers, not others.
    let r = app
        .as_member(&admin)
        .post_json(
            "/admin/rooms",
            json!({"slug": "hiking", "title": "Hiking", "description": "Up"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = app
        .as_member(&c.cookie)
        .post_json("/rooms/hiking/subscribe", json!({}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    posted(
        &a,
        json!({"type": "post", "title": "Saturday walk", "body": "Who's in?", "room": "hiking"}),
    )
    .await;
    assert!(
        eventually(WAIT, async || kinds(&c).await == ["room_post"]).await,
        "{:?}",
        kinds(&c).await
    );
    assert_eq!(kinds(&b).await, ["comment_on_post"], "Bob is not subscribed");

    // Cy reports Bob's post; a moderator dismisses it; Cy hears the outcome.
    let r = app
        .as_member(&c.cookie)
        .post_json(&format!("/posts/{post}/report"), json!({"reason": "Spam"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = app
        .as_member(&admin)
        .post_json(
            "/admin/reports/resolve",
            json!({"target": format!("POST#{post}"), "decision": "dismiss"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert!(
        eventually(WAIT, async || kinds(&c).await.first().map(String::as_str)
            == Some("report_resolved"))
        .await,
        "{:?}",
        kinds(&c).await
    );

    // An approved intro lands in the new member's inbox too.
    let (_, cookie, id) = app.newcomer_on_review(&admin, "Grace Hopper").await;
    let r = app
        .as_member(&admin)
        .post_form(&format!("/admin/moderation/{id}"), &[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let grace_kinds = async || -> Vec<String> {
        settle(&app).await;
        let v: Value = app
            .as_member(&cookie)
            .get("/notifications")
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        eventually(WAIT, async || grace_kinds().await == ["intro_decided"]).await,
        "{:?}",
        grace_kinds().await
    );
}

/// The bell on the post page and the "follow this post" tick: off by
/// default, so a commenter hears of replies to them but not of every
/// comment; ticked (or the bell), they hear of every new comment.
#[tokio::test]
async fn following_is_opt_in_by_the_tick_or_the_bell_and_shows_on_the_page() {
    let app = TestApp::spawn().await;
    let a = someone(&app, "Ada", false).await;
    let b = someone(&app, "Bob", false).await;
    let c = someone(&app, "Cy", false).await;
    let post = posted(&app, &a, "Ada's").await;
    let say = async |who: &Someone, extra: &[(&str, &str)]| {
        let mut form = vec![("body", "A word")];
        form.extend_from_slice(extra);
        let r = app
            .as_member(&who.cookie)
            .post_form(&format!("/posts/{post}/comments"), &form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    };
    let following = async |who: &Someone| -> Value {
        let v: Value = app
            .as_member(&who.cookie)
            .get(&format!("/posts/{post}"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["post"]["following"].clone()
    };
    assert_eq!(following(&a).await, true, "authors follow their posts");
    assert_eq!(following(&b).await, false);
    say(&b, &[]).await;
    say(&c, &[("follow", "on")]).await;
    assert_eq!(following(&b).await, false, "commenting alone does not follow");
    assert_eq!(following(&c).await, true, "the tick follows");
    let bad = app
        .as_member(&b.cookie)
        .post_form(
            &format!("/posts/{post}/comments"),
            &[("body", "x"), ("follow", "maybe")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    // A third comment by Ada: Cy (following) hears of it, Bob does not.
    say(&a, &[]).await;
    settle(&app).await;
    let kinds =
        async |who: &Someone| -> Vec<Value> { inbox(&app, who).await["notifications"].as_array().unwrap().clone() };
    assert!(
        eventually(WAIT, async || kinds(&c)
            .await
            .iter()
            .any(|n| n["kind"] == "followed_post"))
        .await,
        "{:?}",
        kinds(&c).await
    );
    assert!(kinds(&b).await.is_empty(), "{:?}", kinds(&b).await);
    // The post page's header carries the reader's unread count, like every page:
    // Ada heard of Bob's and Cy's comments on her post.
    assert!(eventually(WAIT, async || inbox(&app, &a).await["unread"] == 2).await);
    let html = app.as_member(&a.cookie).html(&format!("/posts/{post}")).await;
    assert!(
        html.contains("<strong data-unread>2</strong>"),
        "no unread count on the post page"
    );
    // The bell: the page shows it, and it toggles.
    let html = app.as_member(&b.cookie).html(&format!("/posts/{post}")).await;
    assert!(
        html.contains(&format!("action=\"/posts/{post}/follow\"")),
        "the bell is on the page"
    );
    let r = app
        .as_member(&b.cookie)
        .post_json(&format!("/posts/{post}/follow"), json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["following"], true);
    assert_eq!(following(&b).await, true);
}
