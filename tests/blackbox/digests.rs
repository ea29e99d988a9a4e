//! Digests (issue 14): the weekly email through the real planner, queue and
//! sender; exactly once under re-runs, duplicated messages and a sender
//! killed midway; one-click unsubscribe; bounces; the daily Telegram digest.
//! Posts are seeded with `lodge::store::digests::seed`, the items
//! docs/posts.md defines, until the posts code writes them.

use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use lodge::domain::digest::WeekTally;
use lodge::domain::{Email, Member, MemberStatus, PostKind, Role};
use lodge::mail::unsubscribe::{Purpose, Token, UnsubscribeKey};
use lodge::store::digests::seed::{self, SeedPost};
use lodge::Clock;
use lodge_local::functions::{self, Invoker};
use lodge_tests::telegram::{calls, link, new_member};
use lodge_tests::{eventually, stays_false, unique, Mail, TestApp};
use serde_json::{json, Value};

use crate::aws_faults::{AwsFaults, Fault};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// Moves the test clock to the next Monday 10:00 UTC (the schedule's time); returns it.
fn to_next_monday(app: &TestApp) -> i64 {
    let now = app.clock.now();
    let day = now.div_euclid(DAY);
    // 1970-01-01 was a Thursday: Monday is (day + 3) % 7 == 0.
    let mut monday = (day - (day + 3).rem_euclid(7)) * DAY + 10 * HOUR;
    while monday <= now {
        monday += 7 * DAY;
    }
    app.clock.advance(monday - now);
    monday
}

struct Club {
    app: TestApp,
    alice: Member,
    bob: Member,
    admin_cookie: String,
}

async fn club() -> Club {
    let app = TestApp::spawn().await;
    to_next_monday(&app);
    let alice = new_member(&app, "Alice", Role::Member, MemberStatus::Approved).await;
    let bob = new_member(&app, "Bob", Role::Member, MemberStatus::Approved).await;
    let admin_cookie = app.sign_in(&app.admin).await;
    Club {
        app,
        alice,
        bob,
        admin_cookie,
    }
}

/// A week's worth of club life ending at the clock's now; returns the
/// top post's title.
async fn seed_week(c: &Club) -> String {
    let store = c.app.store();
    let now_ms = c.app.clock.now() * 1000;
    let post = |title: &'static str, kind, up, com, hours_ago: i64| SeedPost {
        kind,
        title,
        author: &c.alice.id,
        author_name: "Alice",
        published_ms: now_ms - hours_ago * HOUR * 1000,
        upvotes: up,
        comments: com,
    };
    let top = seed::post(&store, &post("Hiking the ridge", PostKind::Post, 9, 3, 30))
        .await
        .unwrap();
    seed::post(&store, &post("A quiet question", PostKind::Question, 1, 0, 50))
        .await
        .unwrap();
    let event = seed::post(&store, &post("Winter picnic", PostKind::Event, 2, 1, 60))
        .await
        .unwrap();
    seed::event(&store, &event, "Winter picnic", now_ms + 3 * DAY * 1000, "Old park")
        .await
        .unwrap();
    let intro = SeedPost {
        kind: PostKind::Intro,
        title: "Hi, I am Bob",
        author: &c.bob.id,
        author_name: "Bob",
        published_ms: now_ms - 20 * HOUR * 1000,
        upvotes: 0,
        comments: 0,
    };
    seed::post(&store, &intro).await.unwrap();
    seed::comment(
        &store,
        &top,
        "Bob",
        "What a view from the top!",
        now_ms - 10 * HOUR * 1000,
        4,
    )
    .await
    .unwrap();
    let week = lodge::digest::issue_for(c.app.clock.now()).1;
    seed::tally(&store, &c.alice.id, &week, WeekTally { replies: 2, upvotes: 5 })
        .await
        .unwrap();
    // Outside the window: not in this issue.
    seed::post(&store, &post("Last month", PostKind::Post, 50, 50, 24 * 9))
        .await
        .unwrap();
    "Hiking the ridge".to_string()
}

async fn run(app: &TestApp, function: &str) {
    let r = app
        .http
        .post(app.at(&format!("/_local/schedule/{function}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn weekly_to(app: &TestApp, email: &Email) -> Vec<Mail> {
    app.mails_to(email.as_str())
        .await
        .into_iter()
        .filter(|m| m.subject.starts_with("Lodge weekly"))
        .collect()
}

/// Runs the planner and waits until its batches were all sent.
async fn plan_and_send(app: &TestApp) {
    run(app, "digest-planner").await;
    app.drained("DigestQueue").await;
}

fn headings(mail: &Mail) -> Vec<String> {
    let text = mail.text.as_deref().expect("the text part is in the outbox");
    text.lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_seeded_week_gives_each_member_their_sections_in_order() {
    let c = club().await;
    let r = c
        .app
        .as_member(&c.admin_cookie)
        .post_form("/admin/digest/note", &[("note", "Welcome to **December**!")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let top = seed_week(&c).await;
    plan_and_send(&c.app).await;

    let alice = weekly_to(&c.app, &c.alice.email).await;
    let bob = weekly_to(&c.app, &c.bob.email).await;
    assert_eq!((alice.len(), bob.len()), (1, 1));
    let shared = [
        "From the editors",
        "Top posts of the week",
        "Coming up",
        "New members",
        "Best comments",
        "The week in numbers",
    ];
    let mut with_tally: Vec<&str> = shared.to_vec();
    with_tally.push("Your week");
    assert_eq!(headings(&alice[0]), with_tally, "Alice has replies and upvotes");
    assert_eq!(headings(&bob[0]), shared, "Bob's week is empty: no personal section");
    let text = alice[0].text.clone().unwrap();
    assert!(text.contains("2 replies to you · 5 upvotes your posts got"), "{text}");
    let first_post = text
        .split("## Top posts of the week")
        .nth(1)
        .unwrap()
        .lines()
        .nth(2)
        .unwrap();
    assert_eq!(first_post, top, "ranked by the stated score");
    assert!(!text.contains("Last month"), "outside the window");
    assert!(
        alice[0].body.contains("<strong>December</strong>"),
        "the note is rendered"
    );
    assert!(alice[0].body.len() < 100 * 1024);
    let unsubscribe = &alice[0].headers["List-Unsubscribe"];
    assert!(unsubscribe.starts_with(&format!("<{}/u/", c.app.url)), "{unsubscribe}");
    assert_eq!(alice[0].headers["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click");

    // The archive lists the issue for members.
    let week = lodge::digest::issue_for(c.app.clock.now()).0;
    let cookie = c.app.sign_in(c.alice.email.as_str()).await;
    let list = c
        .app
        .as_member(&cookie)
        .get("/digests")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(week.as_str()), "{list}");
    let page = c
        .app
        .as_member(&cookie)
        .get(&format!("/digests/{week}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(&top));
    // The note went into this issue and is not reused next week.
    let admin: Value = c
        .app
        .as_member(&c.admin_cookie)
        .get("/admin/digest")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin["note"], "");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_week_sends_nothing_and_says_why() {
    let c = club().await;
    plan_and_send(&c.app).await;
    assert!(weekly_to(&c.app, &c.alice.email).await.is_empty());
    assert!(weekly_to(&c.app, &c.bob.email).await.is_empty());
    let admin: Value = c
        .app
        .as_member(&c.admin_cookie)
        .get("/admin/digest")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let why = admin["skipped"].as_str().unwrap_or_default();
    assert!(why.contains("no new posts or members"), "{admin}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_planner_run_twice_sends_one_email_each() {
    let c = club().await;
    seed_week(&c).await;
    plan_and_send(&c.app).await;
    plan_and_send(&c.app).await;
    for who in [&c.alice, &c.bob] {
        let app = &c.app;
        assert!(
            eventually(Duration::from_secs(10), async || weekly_to(app, &who.email).await.len()
                == 1)
            .await,
            "one digest for {}",
            who.email
        );
    }
    assert!(
        stays_false(Duration::from_secs(2), async || weekly_to(&c.app, &c.alice.email)
            .await
            .len()
            > 1)
        .await,
        "no second digest"
    );
}

/// The weekly planner's messages, on a queue of the test's own.
async fn planned_messages(app: &TestApp) -> Vec<String> {
    messages_planned_by(app, "digest-planner", "DigestPlannerFunction").await
}

/// A planner (`binary`, its template function `logical_id`) whose batches go
/// to a queue of the test's own, so the test decides how they are
/// delivered; returns the messages it enqueued.
async fn messages_planned_by(app: &TestApp, binary: &str, logical_id: &str) -> Vec<String> {
    let sqs = &app.stack.sqs;
    let queue = sqs
        .create_queue()
        .queue_name(unique("scratch"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let mut env = app.stack.envs[logical_id].clone();
    env.insert("LODGE_DIGEST_QUEUE_URL".into(), queue.clone());
    let Invoker::Schedule(planner) = functions::build(
        binary,
        &lodge::Env::from_map(env.into_iter().collect()),
        &app.stack.aws,
        app.clock.clone(),
    )
    .unwrap() else {
        panic!("the planner is scheduled");
    };
    planner(json!({})).await.unwrap();
    let mut bodies = Vec::new();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let got = out.messages.unwrap_or_default();
        if got.is_empty() {
            return bodies;
        }
        for m in got {
            bodies.push(m.body.unwrap());
            sqs.delete_message()
                .queue_url(&queue)
                .receipt_handle(m.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

async fn everyone_got_exactly_one(app: &TestApp, members: &[&Member]) {
    for m in members {
        assert!(
            eventually(Duration::from_secs(15), async || weekly_to(app, &m.email).await.len()
                == 1)
            .await,
            "one digest for {}: got {}",
            m.email,
            weekly_to(app, &m.email).await.len()
        );
    }
    assert!(
        stays_false(Duration::from_secs(2), async || {
            let mut more = false;
            for m in members {
                more |= weekly_to(app, &m.email).await.len() > 1;
            }
            more
        })
        .await,
        "no second digest for anyone"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_message_delivered_twice_sends_one_email_each() {
    let c = club().await;
    let mut extra = Vec::new();
    for i in 0..4 {
        extra.push(new_member(&c.app, &format!("Member {i}"), Role::Member, MemberStatus::Approved).await);
    }
    seed_week(&c).await;
    let bodies = planned_messages(&c.app).await;
    assert!(!bodies.is_empty());
    // Each message twice, at once: the stack's senders take them concurrently.
    let queue = c.app.queue_url("DigestQueue");
    for body in bodies.iter().chain(bodies.iter()) {
        c.app
            .stack
            .sqs
            .send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    c.app.drained("DigestQueue").await;
    let mut all: Vec<&Member> = vec![&c.alice, &c.bob];
    all.extend(extra.iter());
    everyone_got_exactly_one(&c.app, &all).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_killed_midway_then_resumed_sends_exactly_one_each() {
    let c = club().await;
    for i in 0..3 {
        new_member(&c.app, &format!("Member {i}"), Role::Member, MemberStatus::Approved).await;
    }
    seed_week(&c).await;
    let bodies = planned_messages(&c.app).await;
    assert_eq!(bodies.len(), 1, "6 members fit one message");
    let batch: Value = serde_json::from_str(&bodies[0]).unwrap();
    let ids: Vec<String> = batch["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 6);
    let store = c.app.store();
    let mut emails = Vec::new();
    for id in &ids {
        let m = store
            .members()
            .get(&lodge::domain::MemberId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        emails.push(m.email);
    }
    // The sender as Lambda runs it, its SES calls through a proxy that
    // never answers the send to the 4th member: it is killed there.
    let faults = AwsFaults::start(&c.app.stack.moto_url).await;
    faults.fail(emails[3].as_str(), Fault::Hang);
    let env = lodge::Env::from_map(c.app.stack.envs["DigestSenderFunction"].clone().into_iter().collect());
    let Invoker::Sqs(sender) =
        functions::build("digest-sender", &env, &faults.sdk_config().await, c.app.clock.clone()).unwrap()
    else {
        panic!("the sender is an SQS consumer");
    };
    let event = || -> SqsEvent {
        serde_json::from_value(json!({"Records": [{
            "messageId": "digest-1", "receiptHandle": "r-1", "body": bodies[0],
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:digest", "awsRegion": "us-east-1"
        }]}))
        .unwrap()
    };
    let killed = tokio::time::timeout(Duration::from_secs(4), sender(event())).await;
    assert!(killed.is_err(), "the sender was stuck on the 4th send and killed");
    for (i, e) in emails.iter().enumerate() {
        assert_eq!(
            weekly_to(&c.app, e).await.len(),
            usize::from(i < 3),
            "member {i} before the crash"
        );
    }
    // Redelivered after the killed invocation's lease ran out (the function timeout).
    faults.clear(emails[3].as_str());
    c.app.clock.advance(121);
    let out = sender(event()).await;
    assert!(out.batch_item_failures.is_empty(), "{:?}", out.batch_item_failures);
    // And once more, as SQS may.
    let out = sender(event()).await;
    assert!(out.batch_item_failures.is_empty());
    for (i, e) in emails.iter().enumerate() {
        assert_eq!(weekly_to(&c.app, e).await.len(), 1, "member {i}: exactly one digest");
    }
}

/// The URL in a `List-Unsubscribe: <…>` header.
fn unsubscribe_url(mail: &Mail) -> String {
    mail.headers["List-Unsubscribe"]
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_click_unsubscribe_via_the_header_stops_the_next_issue_and_get_never_does() {
    let c = club().await;
    seed_week(&c).await;
    plan_and_send(&c.app).await;
    let mail = weekly_to(&c.app, &c.alice.email).await.pop().expect("week 1 digest");
    let url = unsubscribe_url(&mail);

    // Mail scanners follow links: a GET only shows the confirm page.
    for _ in 0..2 {
        let page = c.app.http.get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("id=\"unsubscribe\"") && html.contains("Switch to"),
            "{html}"
        );
    }
    let state: Value = c
        .app
        .http
        .get(&url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["digest"], "weekly", "GET changed nothing");

    // RFC 8058: the provider POSTs from its own servers, with no Origin.
    let r = c
        .app
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // From a foreign origin too: the token is the authentication.
    let r = c
        .app
        .http
        .post(&url)
        .header("origin", "https://mail.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Next week: Bob gets the new issue, Alice does not.
    c.app.clock.advance(7 * DAY);
    seed_week(&c).await;
    plan_and_send(&c.app).await;
    let app = &c.app;
    assert!(
        eventually(Duration::from_secs(10), async || weekly_to(app, &c.bob.email)
            .await
            .len()
            == 2)
        .await
    );
    assert_eq!(weekly_to(&c.app, &c.alice.email).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_revoked_and_other_purpose_tokens_get_403() {
    let c = club().await;
    let key = UnsubscribeKey::new(lodge::config::Secret::new(
        c.app.stack.env("DigestsFunction", "LODGE_UNSUBSCRIBE_KEY").unwrap(),
    ));
    let weekly = Token::new(c.alice.id.clone(), Purpose::Weekly, 0).sign(&key);
    let post = |token: String, body: &'static str| {
        let app = &c.app;
        async move {
            app.http
                .post(app.at(&format!("/u/{token}")))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    // Forged: the purpose changed, another key, junk.
    let other_key = UnsubscribeKey::new(lodge::config::Secret::new("k".repeat(32)));
    for forged in [
        weekly.replacen(".weekly.", ".all.", 1),
        Token::new(c.alice.id.clone(), Purpose::All, 0).sign(&other_key),
        "not-a-token".to_string(),
    ] {
        assert_eq!(
            post(forged.clone(), "List-Unsubscribe=One-Click").await.status(),
            403,
            "{forged}"
        );
        let get = c.app.http.get(c.app.at(&format!("/u/{forged}"))).send().await.unwrap();
        assert_eq!(get.status(), 403);
    }
    // A notifications link cannot change the digest.
    let notifications = Token::new(c.alice.id.clone(), Purpose::Notifications, 0).sign(&key);
    let r = post(notifications, "switch=none").await;
    assert_eq!(r.status(), 403);
    // Revoked: after the member's counter moves on, old links are dead.
    c.app.store().digests().rotate_mail_epoch(&c.alice.id).await.unwrap();
    assert_eq!(post(weekly, "List-Unsubscribe=One-Click").await.status(), 403);
    let fresh = Token::new(c.alice.id.clone(), Purpose::Weekly, 1).sign(&key);
    assert_eq!(post(fresh, "List-Unsubscribe=One-Click").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bounce_event_stops_email_to_that_address() {
    let c = club().await;
    let sample = std::fs::read_to_string(lodge_tests::repo_root().join("events/mail-events/sns-bounce.json")).unwrap();
    let event = sample.replace("bounced@example.org", c.alice.email.as_str());
    for _ in 0..2 {
        // SNS may deliver twice: counted once.
        let r = c
            .app
            .http
            .post(c.app.at("/_local/sns/mail-events"))
            .body(event.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    let admin: Value = c
        .app
        .as_member(&c.admin_cookie)
        .get("/admin/digest")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(admin["stats"]["bounce"], 1, "{admin}");
    seed_week(&c).await;
    plan_and_send(&c.app).await;
    let app = &c.app;
    assert!(
        eventually(Duration::from_secs(10), async || weekly_to(app, &c.bob.email)
            .await
            .len()
            == 1)
        .await
    );
    assert!(
        weekly_to(&c.app, &c.alice.email).await.is_empty(),
        "no email to a bounced address"
    );
}

/// Moves the test clock to the next Tuesday 09:00 UTC, the daily
/// schedule's time on a 24-hour day; returns it.
fn to_next_tuesday_9am(app: &TestApp) -> i64 {
    let monday = to_next_monday(app);
    app.clock.advance(DAY - HOUR);
    monday + DAY - HOUR
}

/// The member switches to the daily digest with their weekly email's link.
async fn choose_daily(app: &TestApp, member: &Member) {
    let key = UnsubscribeKey::new(lodge::config::Secret::new(
        app.stack.env("DigestsFunction", "LODGE_UNSUBSCRIBE_KEY").unwrap(),
    ));
    let token = Token::new(member.id.clone(), Purpose::Weekly, 0).sign(&key);
    let r = app
        .post_form(&format!("/u/{token}"), &[("switch", "daily")])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// `count` posts by `author` in the minutes before the clock's now.
async fn seed_day(app: &TestApp, author: &Member, author_name: &str, count: i64, title: &str) {
    let store = app.store();
    let now_ms = app.clock.now() * 1000;
    for i in 0..count {
        let title: &'static str = Box::leak(format!("{i} {title}").into_boxed_str());
        seed::post(
            &store,
            &SeedPost {
                kind: PostKind::Post,
                title,
                author: &author.id,
                author_name,
                published_ms: now_ms - (i + 1) * 60_000,
                upvotes: i,
                comments: 0,
            },
        )
        .await
        .unwrap();
    }
}

/// The `sendMessage` calls the bot made since call number `before`.
async fn sends_since(app: &TestApp, before: usize) -> Vec<lodge_tests::telegram::Call> {
    calls(app)
        .await
        .split_off(before)
        .into_iter()
        .filter(|c| c.method == "sendMessage")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_telegram_digest_goes_only_to_who_chose_it_within_4096_characters() {
    let app = TestApp::spawn().await;
    let tuesday = to_next_tuesday_9am(&app);
    assert_eq!(lodge::digest::daily::window_hours(tuesday), 24);
    let carol = new_member(&app, "Carol", Role::Member, MemberStatus::Approved).await;
    let dave = new_member(&app, "Dave", Role::Member, MemberStatus::Approved).await;
    let (carol_tg, dave_tg) = (7_100_000_000 + rand_suffix(), 7_200_000_000 + rand_suffix());
    link(&app, &carol, carol_tg, "carol_d").await;
    link(&app, &dave, dave_tg, "dave_w").await;
    // Carol switches from her weekly email's link; Dave keeps the weekly email.
    choose_daily(&app, &carol).await;
    // A busy day: far more than one message can hold.
    let long = "A very long title about the club's many adventures in winter ".repeat(3);
    seed_day(&app, &dave, "Dave", 120, &long).await;
    let before = calls(&app).await.len();
    run(&app, "digest-daily").await;
    run(&app, "digest-daily").await;
    // The runs plan; the sender sends from the queue.
    app.drained("DigestQueue").await;
    assert!(
        eventually(Duration::from_secs(10), async || !sends_since(&app, before)
            .await
            .is_empty())
        .await,
        "the daily digest was not sent"
    );
    assert!(
        stays_false(Duration::from_secs(2), async || sends_since(&app, before).await.len()
            > 1)
        .await,
        "one message, to Carol only, once: {:#?}",
        sends_since(&app, before).await
    );
    let sent = sends_since(&app, before).await;
    assert_eq!(sent[0].params["chat_id"], carol_tg);
    assert!(
        sent[0].error.is_none(),
        "Telegram took it (the fake enforces 4,096): {:?}",
        sent[0].error
    );
    let text = sent[0].params["text"].as_str().unwrap();
    assert!(text.contains("more</a>"), "what does not fit is linked");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_daily_message_delivered_twice_sends_one_telegram_message_each() {
    let app = TestApp::spawn().await;
    to_next_tuesday_9am(&app);
    let weekly = new_member(&app, "Walt", Role::Member, MemberStatus::Approved).await;
    let weekly_tg = 7_300_000_000 + rand_suffix();
    link(&app, &weekly, weekly_tg, "walt_w").await;
    let mut daily = Vec::new();
    for i in 0..4 {
        let m = new_member(&app, &format!("Daily {i}"), Role::Member, MemberStatus::Approved).await;
        let tg = 7_400_000_000 + i * 1_000_000 + rand_suffix();
        link(&app, &m, tg, &format!("daily_{i}")).await;
        choose_daily(&app, &m).await;
        daily.push(tg);
    }
    seed_day(&app, &weekly, "Walt", 3, "A day at the lake").await;
    let bodies = messages_planned_by(&app, "digest-daily", "DigestDailyFunction").await;
    assert_eq!(bodies.len(), 1, "4 members fit one message");
    let batch: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(
        batch["members"].as_array().unwrap().len(),
        4,
        "only who chose it: {batch}"
    );
    assert!(batch["issue"].as_str().unwrap().starts_with("daily-"), "{batch}");
    // Each message twice, at once: the stack's senders take them concurrently.
    let before = calls(&app).await.len();
    let queue = app.queue_url("DigestQueue");
    for body in bodies.iter().chain(bodies.iter()) {
        app.stack
            .sqs
            .send_message()
            .queue_url(&queue)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    app.drained("DigestQueue").await;
    let per_chat = async |chat: i64| {
        sends_since(&app, before)
            .await
            .iter()
            .filter(|c| c.params["chat_id"] == chat)
            .count()
    };
    for &chat in &daily {
        assert!(
            eventually(Duration::from_secs(10), async || per_chat(chat).await == 1).await,
            "one daily digest for chat {chat}: got {}",
            per_chat(chat).await
        );
    }
    assert!(
        stays_false(Duration::from_secs(2), async || sends_since(&app, before).await.len()
            > daily.len())
        .await,
        "no second message for anyone, none to the weekly member: {:#?}",
        sends_since(&app, before).await
    );
    assert_eq!(per_chat(weekly_tg).await, 0);
}

fn rand_suffix() -> i64 {
    lodge_tests::telegram::rand_id().rem_euclid(1_000_000)
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_link_to_the_email_page_where_the_digest_is_changed() {
    let c = club().await;
    let cookie = c.app.sign_in(c.alice.email.as_str()).await;
    let me = c.app.as_member(&cookie);
    let settings = me.get("/settings").send().await.unwrap().text().await.unwrap();
    assert!(settings.contains("href=\"/settings/email\""), "{settings}");
    assert!(settings.contains("href=\"/settings/notifications\""), "{settings}");
    let email = me.get("/settings/email").send().await.unwrap().text().await.unwrap();
    // The email page leads to where the digest is chosen, beside the notification switches.
    assert!(email.contains("href=\"/settings/notifications\""), "{email}");
    let page = me
        .get("/settings/notifications")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"digest\" value=\"weekly\" checked"), "{page}");
    let r = me
        .post_form("/settings/notifications", &[("digest", "none")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let state: Value = me
        .get("/settings/email")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["digest"], "none");
}

mod in_the_browser {
    //! `/admin/digest` in headless Chromium, as an admin: write the note,
    //! preview the next issue as a member gets it, send a test to oneself
    //! and find it in the local outbox; then the weekly run, and the archive
    //! shows the issue. A member who is not an admin gets 403.

    use super::*;
    use crate::browser::Browser;
    use crate::browser_flows::{sign_out, start};
    use lodge_tests::extract_code;

    const WAIT: Duration = Duration::from_secs(10);

    /// `browser_flows::sign_in`, landing on `next` instead of the feed at
    /// `/`: the seeded week is only the items the digest reads, and the
    /// feed cannot show those.
    async fn sign_in_to(app: &TestApp, b: &Browser, email: &str, next: &str) {
        b.goto(&app.at(&format!("/login?next={next}"))).await.unwrap();
        b.fill("input[name=email]", email).await.unwrap();
        let before = app.mails_to(email).await.len();
        b.click("main button[type=submit]").await.unwrap();
        b.wait_for("input[name=code]", WAIT).await.unwrap();
        let mails = app.wait_for_mail(email, |m| m.len() > before).await;
        let code = extract_code(&mails.last().unwrap().body).unwrap();
        b.fill("input[name=code]", &code).await.unwrap();
        b.click("main button[type=submit]").await.unwrap();
        b.wait_for("header form button", WAIT).await.unwrap();
        assert!(b.current_url().await.unwrap().ends_with(next));
    }

    /// The text of `css` once it contains `want` (a form's next page has
    /// loaded), or the last text seen.
    async fn text_once(b: &Browser, css: &str, want: &str) -> Result<String, String> {
        let seen = eventually(WAIT, async || b.text(css).await.is_ok_and(|t| t.contains(want))).await;
        let text = b.text(css).await.unwrap_or_default();
        if seen {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// The `data-section` keys of the page, in order.
    async fn sections(b: &Browser) -> Vec<String> {
        let v = b
            .execute(
                "return [...document.querySelectorAll('[data-section]')].map(e => e.dataset.section);",
                vec![],
            )
            .await
            .unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    }

    /// The status of a same-origin `GET path` from the page, as its scripts would see it.
    async fn status_of(b: &Browser, path: &str) -> u64 {
        b.execute(
            "return fetch(arguments[0], {headers: {accept: 'text/html'}}).then(r => r.status);",
            vec![path.into()],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn an_admin_writes_the_note_previews_sends_a_test_and_the_archive_shows_the_sent_issue() {
        let Some(b) = start().await else { return };
        let c = club().await;
        let top = seed_week(&c).await;
        let app = &c.app;
        let (issue, _) = lodge::digest::issue_for(app.clock.now());

        sign_in_to(app, &b, &app.admin, "/admin/digest").await;
        b.goto(&app.at("/admin/digest")).await.unwrap();
        b.wait_for("textarea#note", WAIT).await.unwrap();
        b.fill("#note", "Welcome to **December**, from the editors' desk.")
            .await
            .unwrap();
        b.click("#save-note").await.unwrap();
        text_once(&b, "#notice", "Note saved")
            .await
            .expect("the note was saved");
        let stored = b
            .execute("return document.querySelector('#note').value;", vec![])
            .await
            .unwrap();
        assert_eq!(stored, "Welcome to **December**, from the editors' desk.");

        // The preview as Alice gets it: the note, the week's sections in
        // order, and her own week.
        b.fill("#preview-email", c.alice.email.as_str()).await.unwrap();
        b.click("#preview").await.unwrap();
        assert!(
            eventually(WAIT, async || b
                .current_url()
                .await
                .is_ok_and(|u| u.contains("/admin/digest/preview"))
                && b.count("[data-section]").await.unwrap_or(0) > 0)
            .await,
            "the preview did not load: {}",
            b.current_url().await.unwrap_or_default()
        );
        assert_eq!(
            sections(&b).await,
            [
                "note",
                "top_posts",
                "events",
                "new_members",
                "best_comments",
                "counts",
                "your_week"
            ]
        );
        assert_eq!(
            b.text("[data-section=note] strong").await.unwrap(),
            "December",
            "the note is rendered"
        );
        assert!(b.text("[data-section=top_posts] a").await.unwrap().contains(&top));
        assert!(b
            .text("[data-section=your_week]")
            .await
            .unwrap()
            .contains("2 replies to you"));
        assert!(
            b.text("h1 + p").await.unwrap().starts_with("Hello Alice,"),
            "addressed to the member previewed"
        );

        // A test to myself, in the local outbox.
        b.goto(&app.at("/admin/digest")).await.unwrap();
        b.wait_for("#send-test", WAIT).await.unwrap();
        b.click("#send-test").await.unwrap();
        text_once(&b, "#notice", "Test sent").await.expect("the test was sent");
        let tests = app
            .wait_for_mail(&app.admin, |m| {
                m.iter().any(|m| m.subject.starts_with("[test] Lodge weekly"))
            })
            .await;
        let test = tests.iter().find(|m| m.subject.starts_with("[test] ")).unwrap();
        assert!(
            test.body.contains("<strong>December</strong>"),
            "the note is in the test"
        );
        b.goto(&app.at("/_local/outbox.html")).await.unwrap();
        b.wait_for("article", WAIT).await.unwrap();
        let outbox = b.text("body").await.unwrap();
        assert!(
            outbox.contains(&test.subject) && outbox.contains(&app.admin),
            "the outbox page shows the test: {outbox}"
        );
        assert!(
            weekly_to(app, &c.alice.email).await.is_empty(),
            "a preview and a test send nothing to members"
        );

        // The weekly run sends the issue; the archive lists it.
        plan_and_send(app).await;
        b.goto(&app.at("/digests")).await.unwrap();
        let link = format!("#issues a[href='/digests/{issue}']");
        b.wait_for(&link, WAIT).await.unwrap();
        b.click(&link).await.unwrap();
        assert!(
            eventually(WAIT, async || b
                .current_url()
                .await
                .is_ok_and(|u| u.ends_with(&format!("/digests/{issue}"))))
            .await
        );
        b.wait_for("section[data-section=note]", WAIT).await.unwrap();
        assert_eq!(b.text("h1").await.unwrap(), issue.as_str());
        assert_eq!(b.text("section[data-section=note] strong").await.unwrap(), "December");
        assert!(b.text("section[data-section=top_posts]").await.unwrap().contains(&top));
        let alice = weekly_to(app, &c.alice.email).await;
        assert_eq!(alice.len(), 1, "the sent issue reached Alice");

        // A member who is not an admin: 403 on the page and its actions.
        sign_out(app, &b).await;
        sign_in_to(app, &b, c.bob.email.as_str(), "/digests").await;
        assert_eq!(status_of(&b, "/admin/digest").await, 403);
        assert_eq!(status_of(&b, "/admin/digest/preview").await, 403);
        b.goto(&app.at("/admin/digest")).await.unwrap();
        assert_eq!(b.count("#note").await.unwrap(), 0, "no admin form for a member");
        // Settings lead to the digest choice.
        b.goto(&app.at("/settings")).await.unwrap();
        b.wait_for("#email-settings", WAIT).await.unwrap();
        b.click("#email-settings").await.unwrap();
        b.wait_for("#digest", WAIT).await.unwrap();
        assert_eq!(b.text("#digest").await.unwrap(), "weekly");
        // ... and from there to where it is chosen, beside the notification switches.
        b.click("#change-digest").await.unwrap();
        b.wait_for("input[name=digest][value=weekly][checked]", WAIT)
            .await
            .unwrap();
        let bob = app.sign_in(c.bob.email.as_str()).await;
        let as_bob = app.as_member(&bob);
        let note = as_bob.post_form("/admin/digest/note", &[("note", "hijacked")]);
        assert_eq!(note.send().await.unwrap().status(), 403, "saving the note");
        let test = as_bob.post_form("/admin/digest/test", &[]);
        assert_eq!(test.send().await.unwrap().status(), 403, "a test send");
        b.quit().await;
    }
}
