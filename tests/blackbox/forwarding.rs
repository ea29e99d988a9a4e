//! Channel forwarding end to end: rules through the admin API, posts through
//! the webhook, delivery by the forwarder through SQS FIFO, against the
//! stack's Bot API fake (scripted where a test needs Telegram to misbehave).

use std::time::Duration;

use lodge::forwarding::limits::{self, Permit, SendLimits};
use lodge::store::rate::Limit;
use lodge_tests::{advancing, eventually, stays_false, TestApp};
use serde_json::{json, Value};

pub(crate) const SOURCE: i64 = -1001000000100;
pub(crate) const DEST: i64 = -1001000000200;
const DEST2: i64 = -1001000000300;
/// The local template's TelegramAdminChatId.
const ADMIN_CHAT: i64 = -1001000000001;

pub(crate) fn secret(app: &TestApp) -> String {
    app.stack
        .env("TelegramWebhookFunction", "LODGE_TELEGRAM_WEBHOOK_SECRET")
        .unwrap()
        .to_string()
}

pub(crate) fn update_id() -> i64 {
    i64::from_str_radix(
        &lodge::crypto::sha256_hex(lodge::crypto::random_token(8).as_bytes())[..8],
        16,
    )
    .unwrap()
}

pub(crate) async fn post_update(app: &TestApp, update: Value) {
    let r = app
        .http
        .post(app.at("/telegram/webhook"))
        .header("x-telegram-bot-api-secret-token", secret(app))
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

fn channel_post(message_id: i64, text: &str) -> Value {
    json!({"update_id": update_id(), "channel_post": {
        "message_id": message_id, "date": 1_795_255_200, "chat": {"id": SOURCE, "type": "channel", "title": "News"}, "text": text}})
}

fn edited_post(message_id: i64, text: &str) -> Value {
    json!({"update_id": update_id(), "edited_channel_post": {
        "message_id": message_id, "date": 1_795_255_200, "edit_date": 1_795_255_300,
        "chat": {"id": SOURCE, "type": "channel", "title": "News"}, "text": text}})
}

pub(crate) fn album_item(message_id: i64, caption: Option<&str>) -> Value {
    let mut m = json!({"message_id": message_id, "date": 1_795_255_200, "chat": {"id": SOURCE, "type": "channel"},
        "media_group_id": "album-1", "photo": [{"file_id": format!("file-{message_id}"), "file_unique_id": format!("u-{message_id}")}]});
    if let Some(c) = caption {
        m["caption"] = json!(c);
    }
    json!({"update_id": update_id(), "channel_post": m})
}

pub(crate) async fn admin_cookie(app: &TestApp) -> String {
    app.sign_in(&app.admin.clone()).await
}

async fn api(app: &TestApp, cookie: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    // As the admin pages would send it (same origin).
    let mut req = app.as_member(cookie).request(method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn create_rule(app: &TestApp, cookie: &str, rule: Value) -> Value {
    let (status, body) = api(
        app,
        cookie,
        reqwest::Method::POST,
        "/api/admin/forward-rules",
        Some(rule),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["rule"].clone()
}

pub(crate) fn rule(id: &str, mode: &str) -> Value {
    json!({"id": id, "source_chat_id": SOURCE, "destinations": [{"chat_id": DEST, "thread_id": null}], "mode": mode})
}

async fn local_calls(app: &TestApp) -> Vec<Value> {
    app.get("/_local/telegram").send().await.unwrap().json().await.unwrap()
}

async fn dlq_messages(app: &TestApp) -> Vec<aws_sdk_sqs::types::Message> {
    let out = app
        .stack
        .sqs
        .receive_message()
        .queue_url(app.queue_url("ForwardDLQ"))
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    out.messages.unwrap_or_default()
}

#[tokio::test]
async fn forwarding_admin_api_manages_rules_and_names_the_bad_field() {
    let app = TestApp::spawn().await;
    // Signed out: 401; not an admin: 403.
    let (status, _) = api(&app, "", reqwest::Method::GET, "/api/admin/forward-rules", None).await;
    assert_eq!(status, 401);
    let member = format!("{}@lodge.test", lodge_tests::unique("m"));
    let m = lodge::domain::Member::new(
        lodge::domain::Email::parse(&member).unwrap(),
        lodge::domain::Role::Member,
        lodge::domain::MemberStatus::Approved,
        lodge::Clock::now(&*app.clock),
    );
    app.store().members().create(&m).await.unwrap();
    let member_cookie = app.sign_in(&member).await;
    let (status, _) = api(
        &app,
        &member_cookie,
        reqwest::Method::GET,
        "/api/admin/forward-rules",
        None,
    )
    .await;
    assert_eq!(status, 403);

    let cookie = admin_cookie(&app).await;
    let created = create_rule(
        &app,
        &cookie,
        json!({"id": "news", "source_chat_id": SOURCE, "destinations": [{"chat_id": DEST}], "mode": "copy",
        "filters": {"exclude": ["#ad"], "footer": "via Lodge"}}),
    )
    .await;
    assert_eq!(created["enabled"], true);
    assert_eq!(created["fallback_to_copy"], false);
    assert_eq!(created["destinations"][0]["thread_id"], Value::Null);
    assert_eq!(created["filters"]["footer"], "via Lodge");
    let (status, body) = api(
        &app,
        &cookie,
        reqwest::Method::POST,
        "/api/admin/forward-rules",
        Some(rule("news", "copy")),
    )
    .await;
    assert_eq!(status, 409, "{body}");

    let (status, body) = api(&app, &cookie, reqwest::Method::GET, "/api/admin/forward-rules", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["rules"].as_array().unwrap().len(), 1);
    let mut changed = rule("news", "forward");
    changed["destinations"] = json!([{"chat_id": DEST}, {"chat_id": DEST2, "thread_id": 7}]);
    changed["enabled"] = json!(false);
    let (status, body) = api(
        &app,
        &cookie,
        reqwest::Method::PUT,
        "/api/admin/forward-rules/news",
        Some(changed),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = api(
        &app,
        &cookie,
        reqwest::Method::GET,
        "/api/admin/forward-rules/news",
        None,
    )
    .await;
    assert_eq!(body["rule"]["mode"], "forward");
    assert_eq!(body["rule"]["destinations"][1]["thread_id"], 7);
    assert_eq!(body["rule"]["enabled"], false);

    // Each invalid rule: 400 and a message that starts with the field.
    let cases = [
        (
            json!({"source_chat_id": SOURCE, "destinations": [{"chat_id": DEST}], "mode": "teleport"}),
            "mode:",
        ),
        (
            json!({"source_chat_id": SOURCE, "destinations": [{"chat_id": DEST}], "mode": "copy", "filters": {"regex": true, "include": ["(oops"]}}),
            "filters.include[0]:",
        ),
        (
            json!({"source_chat_id": SOURCE, "destinations": [], "mode": "copy"}),
            "destinations:",
        ),
        (json!({"source_chat_id": SOURCE, "mode": "copy"}), "destinations:"),
        (
            json!({"source_chat_id": SOURCE, "destinations": [{"chat_id": SOURCE}], "mode": "copy"}),
            "destinations[0].chat_id:",
        ),
        (
            json!({"destinations": [{"chat_id": DEST}], "mode": "copy"}),
            "source_chat_id:",
        ),
        (
            json!({"source_chat_id": SOURCE, "destinations": [{"chat_id": DEST}], "mode": "copy", "filters": {"media": ["hologram"]}}),
            "filters.media[0]:",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = api(
            &app,
            &cookie,
            reqwest::Method::POST,
            "/api/admin/forward-rules",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 400, "{body} → {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{field} expected in {message:?}");
        assert_eq!(answer["error"]["code"], "invalid_rule");
    }
    let (status, _) = api(
        &app,
        &cookie,
        reqwest::Method::PUT,
        "/api/admin/forward-rules/nope",
        Some(rule("nope", "copy")),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = api(
        &app,
        &cookie,
        reqwest::Method::DELETE,
        "/api/admin/forward-rules/news",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = api(
        &app,
        &cookie,
        reqwest::Method::GET,
        "/api/admin/forward-rules/news",
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn forwarding_a_channel_post_is_copied_once_and_the_same_content_never_twice() {
    // The runner's own Bot API stand-in, as `make dev` uses it.
    let app = TestApp::spawn().await;
    let cookie = admin_cookie(&app).await;
    let mut r = rule("news", "copy");
    r["filters"] = json!({"exclude": ["#ad"]});
    create_rule(&app, &cookie, r).await;
    post_update(&app, channel_post(42, "Club night on Friday")).await;
    let copied = advancing(&app.clock, 20, async || {
        local_calls(&app)
            .await
            .iter()
            .any(|c| c["method"] == "copyMessage" && c["params"]["chat_id"] == DEST && c["params"]["message_id"] == 42)
    })
    .await;
    assert!(copied, "no copyMessage: {:?}", local_calls(&app).await);
    // Same content again (a new source message), and an advert: neither goes out.
    post_update(&app, channel_post(43, "Club night on Friday")).await;
    post_update(&app, channel_post(44, "Buy now #ad")).await;
    app.drained("ForwardQueue").await;
    let sends: Vec<_> = local_calls(&app)
        .await
        .into_iter()
        .filter(|c| c["params"]["chat_id"] == DEST)
        .collect();
    assert_eq!(sends.len(), 1, "{sends:?}");
}

#[tokio::test]
async fn forwarding_an_album_goes_out_as_one_album() {
    let app = TestApp::spawn().await;
    let fake = app.telegram().clone();
    let cookie = admin_cookie(&app).await;
    create_rule(&app, &cookie, rule("album", "copy")).await;
    // Items arrive out of order, as separate updates.
    post_update(&app, album_item(11, None)).await;
    post_update(&app, album_item(10, Some("Summer party"))).await;
    post_update(&app, album_item(12, None)).await;
    assert!(
        advancing(&app.clock, 20, async || !fake.deliveries_to(DEST).is_empty()).await,
        "album not delivered"
    );
    // Every item's job done (they wait on the clock for the album's flush): still one album.
    assert!(advancing(&app.clock, 20, async || app.queue_depth("ForwardQueue").await == 0).await);
    let d = fake.deliveries_to(DEST);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].method, "copyMessages");
    assert_eq!(d[0].source_ids, [10, 11, 12]);
}

#[tokio::test]
async fn forwarding_an_album_with_an_uncopyable_message_never_edits_the_wrong_copy() {
    let app = TestApp::spawn().await;
    let fake = app.telegram().clone();
    let cookie = admin_cookie(&app).await;
    create_rule(&app, &cookie, rule("album", "copy")).await;
    // Telegram skips what it cannot copy and returns ids for the rest only.
    fake.make_unavailable(SOURCE, 11);
    for (id, caption) in [(10, Some("Summer party")), (11, None), (12, None)] {
        post_update(&app, album_item(id, caption)).await;
    }
    assert!(
        advancing(&app.clock, 20, async || !fake.deliveries_to(DEST).is_empty()).await,
        "album not delivered"
    );
    let d = &fake.deliveries_to(DEST)[0];
    assert_eq!((d.source_ids.as_slice(), d.dest_ids.len()), (&[10, 12][..], 2));
    // 11 was never copied: its edit must not land on 12's copy (the second id).
    let mut edit = album_item(11, Some("Now with a caption"));
    edit["edited_channel_post"] = edit["channel_post"].take();
    edit["edited_channel_post"]["edit_date"] = json!(1_795_255_300);
    edit.as_object_mut().unwrap().remove("channel_post");
    post_update(&app, edit).await;
    assert!(advancing(&app.clock, 20, async || app.queue_depth("ForwardQueue").await == 0).await);
    assert!(fake.edits().is_empty(), "{:?}", fake.edits());
}

#[tokio::test]
async fn forwarding_edits_sync_after_a_cold_start() {
    let app = TestApp::spawn().await;
    let fake = app.telegram().clone();
    let cookie = admin_cookie(&app).await;
    let mut r = rule("edits", "copy");
    r["filters"] = json!({"replace": [{"from": "Friday", "to": "Fri"}]});
    create_rule(&app, &cookie, r).await;
    post_update(&app, channel_post(50, "See you Friday")).await;
    assert!(advancing(&app.clock, 20, async || !fake.deliveries_to(DEST).is_empty()).await);
    let d = fake.deliveries_to(DEST);
    assert_eq!(
        (d[0].method.as_str(), d[0].text.as_deref()),
        ("sendMessage", Some("See you Fri"))
    );
    let copy_id = d[0].dest_ids[0];

    // Every function is rebuilt from scratch: nothing survives but the table.
    let app = app.restart().await;
    let fake = app.telegram().clone();
    post_update(&app, edited_post(50, "See you Friday at 8")).await;
    if !advancing(&app.clock, 20, async || !fake.edits().is_empty()).await {
        let attrs = app
            .stack
            .sqs
            .get_queue_attributes()
            .queue_url(app.queue_url("ForwardQueue"))
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        panic!("edit not applied: {:?} calls {:?}", attrs.attributes(), fake.calls());
    }
    let e = &fake.edits()[0];
    assert_eq!(
        (e.method.as_str(), e.chat_id, e.message_id, e.text.as_str()),
        ("editMessageText", DEST, copy_id, "See you Fri at 8")
    );
}

#[tokio::test]
async fn forwarding_falls_back_to_copy_where_forwarding_is_refused() {
    let app = TestApp::spawn().await;
    let fake = app.telegram().clone();
    let cookie = admin_cookie(&app).await;
    let mut r = rule("fallback", "forward");
    r["fallback_to_copy"] = json!(true);
    create_rule(&app, &cookie, r).await;
    fake.fail_next(
        "forwardMessage",
        400,
        json!({"ok": false, "error_code": 400, "description": "Bad Request: message can't be forwarded"}),
    );
    post_update(&app, channel_post(60, "Protected elsewhere")).await;
    assert!(advancing(&app.clock, 20, async || !fake.deliveries_to(DEST).is_empty()).await);
    assert_eq!(fake.calls_of("forwardMessage").len(), 1);
    let d = fake.deliveries_to(DEST);
    assert_eq!(
        (d.len(), d[0].method.as_str(), d[0].source_ids.as_slice()),
        (1, "copyMessage", &[60][..])
    );
}

#[tokio::test]
async fn forwarding_a_429_waits_exactly_retry_after_and_costs_no_attempt() {
    // Two attempts would dead-letter a 5xx job: three 429s must not.
    let app = TestApp::spawn_with(&[("LODGE_FORWARD_MAX_ATTEMPTS", "2")]).await;
    let fake = app.telegram().clone();
    let cookie = admin_cookie(&app).await;
    create_rule(&app, &cookie, rule("flood", "copy")).await;
    let flood = json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 5", "parameters": {"retry_after": 5}});
    for _ in 0..3 {
        fake.fail_next("copyMessage", 429, flood.clone());
    }
    post_update(&app, channel_post(70, "Busy day")).await;
    // The first try is refused; without the clock moving, nothing is retried
    // (no event shows a retry that must not happen, so this one watches for it).
    let tries = || fake.calls_of("copyMessage").len();
    assert!(
        eventually(Duration::from_secs(10), async || tries() > 0).await,
        "never tried"
    );
    assert!(
        stays_false(Duration::from_secs(3), async || tries() > 1).await,
        "retried before retry_after"
    );
    app.clock.advance(4);
    assert!(
        stays_false(Duration::from_secs(2), async || tries() > 1).await,
        "retried 1 s early"
    );
    app.clock.advance(1);
    assert!(
        advancing(&app.clock, 40, async || !fake.deliveries_to(DEST).is_empty()).await,
        "never delivered"
    );
    assert_eq!(fake.calls_of("copyMessage").len(), 4);
    assert!(dlq_messages(&app).await.is_empty());
}

#[tokio::test]
async fn forwarding_server_errors_back_off_then_dead_letter_with_the_reason() {
    let app = TestApp::spawn_with(&[("LODGE_FORWARD_MAX_ATTEMPTS", "3"), ("LODGE_FORWARD_BACKOFF_SECS", "1")]).await;
    let fake = app.telegram().clone();
    let cookie = admin_cookie(&app).await;
    create_rule(&app, &cookie, rule("flaky", "copy")).await;
    fake.fail_chat(
        DEST,
        502,
        json!({"ok": false, "error_code": 502, "description": "Bad Gateway"}),
    );
    post_update(&app, channel_post(80, "Into the void")).await;
    let mut dead = Vec::new();
    let arrived = advancing(&app.clock, 40, async || {
        dead.extend(dlq_messages(&app).await);
        !dead.is_empty()
    })
    .await;
    assert!(
        arrived,
        "never dead-lettered; calls: {}",
        fake.calls_of("copyMessage").len()
    );
    assert_eq!(fake.calls_of("copyMessage").len(), 3);
    let body: Value = serde_json::from_str(dead[0].body().unwrap()).unwrap();
    let reason = body["reason"].as_str().unwrap();
    assert!(reason.contains("502") && reason.contains("3 attempts"), "{reason}");
    assert_eq!(body["job"]["post"]["message_id"], 80);
    assert_eq!(
        dead[0].message_attributes().unwrap()["reason"].string_value(),
        Some(reason)
    );
}

#[tokio::test]
async fn forwarding_a_destination_that_removed_the_bot_breaks_the_rule_once() {
    let app = TestApp::spawn().await;
    let fake = app.telegram().clone();
    let cookie = admin_cookie(&app).await;
    let mut r = rule("kicked", "copy");
    r["destinations"] = json!([{"chat_id": DEST}, {"chat_id": DEST2}]);
    create_rule(&app, &cookie, r).await;
    fake.fail_chat(
        DEST2,
        403,
        json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was kicked from the channel chat"}),
    );
    post_update(&app, channel_post(90, "First")).await;
    let alerted = advancing(&app.clock, 20, async || fake.deliveries_to(ADMIN_CHAT).len() == 1).await;
    assert!(alerted, "admins not told: {:?}", fake.calls());
    assert!(fake.deliveries_to(ADMIN_CHAT)[0]
        .text
        .as_deref()
        .unwrap()
        .contains("kicked"));
    assert!(
        advancing(&app.clock, 10, async || fake.deliveries_to(DEST).len() == 1).await,
        "the healthy destination still gets it"
    );
    let (_, body) = api(
        &app,
        &cookie,
        reqwest::Method::GET,
        "/api/admin/forward-rules/kicked",
        None,
    )
    .await;
    assert_eq!(body["rule"]["broken"]["destination"]["chat_id"], DEST2, "{body}");
    // A broken rule takes no new posts (no endless retries), and admins heard once.
    let before = fake.calls().len();
    post_update(&app, channel_post(91, "Second")).await;
    assert!(advancing(&app.clock, 20, async || app.queue_depth("ForwardQueue").await == 0).await);
    assert_eq!(fake.calls().len(), before);
    assert_eq!(fake.deliveries_to(ADMIN_CHAT).len(), 1);
    assert!(dlq_messages(&app).await.is_empty());
}

#[tokio::test]
async fn forwarding_rate_limits_hold_across_concurrent_forwarders() {
    let app = TestApp::spawn().await;
    let store = app.store();
    // No spacing per chat here (100,000/s): the group window decides.
    let limits = SendLimits {
        bot: Limit {
            max: 100,
            window_secs: 1,
        },
        group: Limit {
            max: 5,
            window_secs: 60,
        },
        chat: Limit {
            max: 100_000,
            window_secs: 1,
        },
    };
    let now = 1_795_255_200; // a whole minute
                             // Twenty sends at once from four forwarder instances (own SDK clients,
                             // nothing shared in memory), as concurrent Lambdas would send them.
    let mut instances = Vec::new();
    for _ in 0..4 {
        let aws = lodge_local::sdk_config(&app.stack.moto_url).await;
        instances.push(lodge::store::Store::new(lodge::aws::dynamodb(&aws), app.table()));
    }
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = instances[i % 4].clone();
            tokio::spawn(async move { limits::acquire(&store, &limits, DEST, 1, now * 1000).await.unwrap() })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|p| **p == Permit::Granted).count(),
        5,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|p| *p == Permit::Granted || *p == Permit::Wait(Duration::from_secs(60))),
        "{results:?}"
    );
    // The next window has room again; an album takes one slot per item.
    assert_eq!(
        limits::acquire(&store, &limits, DEST, 3, (now + 60) * 1000)
            .await
            .unwrap(),
        Permit::Granted
    );
    assert_eq!(
        limits::acquire(&store, &limits, DEST, 3, (now + 61) * 1000)
            .await
            .unwrap(),
        Permit::Wait(Duration::from_secs(59))
    );
    // Per chat, sends are spaced (here 2/s → 500 ms apart, + 5 % for
    // arrival jitter), whatever the second.
    let spaced = SendLimits {
        chat: Limit { max: 2, window_secs: 1 },
        ..limits
    };
    let t = (now + 300) * 1000 + 900;
    assert_eq!(
        limits::acquire(&store, &spaced, DEST2, 1, t).await.unwrap(),
        Permit::Granted
    );
    assert_eq!(
        limits::acquire(&store, &spaced, DEST2, 1, t + 200).await.unwrap(),
        Permit::Wait(Duration::from_millis(325))
    );
    assert_eq!(
        limits::acquire(&store, &spaced, DEST2, 1, t + 500).await.unwrap(),
        Permit::Wait(Duration::from_millis(25))
    );
    assert_eq!(
        limits::acquire(&store, &spaced, DEST2, 1, t + 525).await.unwrap(),
        Permit::Granted
    );
}
