//! Moderation buttons in the admin chat: who may press them, and what a press does.

use std::time::Duration;

use lodge::domain::Member;
use lodge::domain::{MemberStatus, Role};
use lodge_tests::{eventually, wait_for, TestApp};
use serde_json::{json, Value};

use lodge_tests::telegram::{calls, exchange, fresh, link, new_member, Call, ADA, BOB};

pub const ADMIN_CHAT: i64 = -1001000000001;

/// A press of `action` on `member`'s intro message by Telegram user `from`, in `chat`.
fn press(member: &Member, action: &str, from: i64, chat: i64) -> Value {
    let mut u = fresh("callback-moderation");
    u["callback_query"]["id"] = json!(lodge_tests::unique("cb"));
    u["callback_query"]["data"] = json!(format!("mod:{}:{action}", member.id));
    u["callback_query"]["from"]["id"] = json!(from);
    u["callback_query"]["message"]["chat"]["id"] = json!(chat);
    u
}

/// Waits until `n` more Bot API calls than `before` were made (the worker is asynchronous).
pub async fn calls_after(app: &TestApp, before: usize, n: usize) -> Vec<Call> {
    eventually(Duration::from_secs(15), async || calls(app).await.len() >= before + n).await;
    let all = calls(app).await;
    all[before.min(all.len())..].to_vec()
}

fn assert_refused(calls: &[Call], cb: &Value, text: &str) {
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].method, "answerCallbackQuery");
    assert_eq!(calls[0].params["callback_query_id"], cb["callback_query"]["id"]);
    assert_eq!(calls[0].params["show_alert"], true);
    assert!(calls[0].params["text"].as_str().unwrap().contains(text), "{calls:#?}");
}

#[tokio::test]
async fn telegram_moderation_buttons_refuse_non_moderators_and_other_chats() {
    let app = TestApp::spawn().await;
    let applicant = new_member(&app, "Ann", Role::Member, MemberStatus::OnReview).await;
    // A stranger (no linked account).
    let cb = press(&applicant, "approve", 999, ADMIN_CHAT);
    assert_refused(&exchange(&app, &cb).await, &cb, "Only moderators");
    // A linked plain member.
    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    link(&app, &ada, ADA, "ada_l").await;
    let cb = press(&applicant, "reject:too_short", ADA, ADMIN_CHAT);
    assert_refused(&exchange(&app, &cb).await, &cb, "Only moderators");
    // A moderator, but outside the moderators' chat.
    let mo = new_member(&app, "Mo", Role::Moderator, MemberStatus::Approved).await;
    link(&app, &mo, BOB, "bob_b").await;
    let cb = press(&applicant, "approve", BOB, -100999);
    assert_refused(&exchange(&app, &cb).await, &cb, "only in the moderators' chat");
    // Buttons that are not ours are answered too.
    let mut cb = press(&applicant, "approve", BOB, ADMIN_CHAT);
    cb["callback_query"]["data"] = json!("something-else");
    let got = exchange(&app, &cb).await;
    assert_eq!((got.len(), got[0].method.as_str()), (1, "answerCallbackQuery"));
    // Nothing was decided, not even later by the worker.
    app.drained("TelegramQueue").await;
    assert_eq!(
        app.store().members().get(&applicant.id).await.unwrap().unwrap().status,
        MemberStatus::OnReview
    );
}

/// The intro message the notifier posted to the admin chat for `name`.
async fn posted_intro(app: &TestApp, name: &str) -> Call {
    wait_for(
        Duration::from_secs(15),
        &format!("an intro for {name} in the admin chat"),
        async || {
            calls(app).await.into_iter().find(|c| {
                c.method == "sendMessage"
                    && c.params["chat_id"] == ADMIN_CHAT
                    && c.params["text"].as_str().unwrap_or_default().contains(name)
            })
        },
    )
    .await
}

/// The first `method` call in `calls`; edits only of the pressed message (id
/// 77 in the sample), not the notifier's later edit of the posted one.
fn by_method<'a>(calls: &'a [Call], method: &str) -> &'a Call {
    calls
        .iter()
        .find(|c| c.method == method && (method != "editMessageText" || c.params["message_id"] == 77))
        .unwrap_or_else(|| panic!("no {method} in {calls:#?}"))
}

#[tokio::test]
async fn telegram_moderation_intro_posted_with_buttons_then_approved_rejected_and_double_clicked() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let mo = new_member(&app, "Mo", Role::Moderator, MemberStatus::Approved).await;
    link(&app, &mo, BOB, "bob_b").await;

    // The intro is posted with Approve and one Reject per preset reason.
    let (email, _, id) = app.newcomer_on_review(&admin, "Grace Hopper").await;
    let post = posted_intro(&app, "Grace Hopper").await;
    assert_eq!(post.params["parse_mode"], "HTML");
    let buttons: Vec<(String, String)> = post.params["reply_markup"]["inline_keyboard"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| {
            row.as_array().unwrap().iter().map(|b| {
                (
                    b["text"].as_str().unwrap().to_string(),
                    b["callback_data"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    let expect = |text: &str, action: &str| (text.to_string(), format!("mod:{id}:{action}"));
    assert_eq!(
        buttons,
        vec![
            expect("✅ Approve", "approve"),
            expect("❌ Reject: too short", "reject:too_short"),
            expect("❌ Reject: not a real name", "reject:not_real_name"),
            expect("❌ Reject: incomplete", "reject:incomplete"),
        ]
    );
    let applicant = app
        .store()
        .members()
        .get(&lodge::domain::MemberId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();

    // Mo approves: the press is answered, the message edited, the member approved and welcomed.
    let before = calls(&app).await.len();
    let cb = press(&applicant, "approve", BOB, ADMIN_CHAT);
    assert!(
        exchange(&app, &cb).await.is_empty(),
        "the worker answers, not the webhook"
    );
    let done = calls_after(&app, before, 2).await;
    let answer = by_method(&done, "answerCallbackQuery");
    assert_eq!(
        (
            answer.params["callback_query_id"].clone(),
            answer.params["text"].clone()
        ),
        (cb["callback_query"]["id"].clone(), json!("Approved."))
    );
    let edit = by_method(&done, "editMessageText");
    assert_eq!(
        (edit.params["chat_id"].as_i64(), edit.params["message_id"].as_i64()),
        (Some(ADMIN_CHAT), Some(77))
    );
    let text = edit.params["text"].as_str().unwrap();
    assert!(
        text.contains("Grace Hopper") && text.contains("✅ <b>Approved</b> by Mo"),
        "{text}"
    );
    assert!(edit.params.get("reply_markup").is_none(), "buttons removed");
    assert_eq!(
        app.store().members().get(&applicant.id).await.unwrap().unwrap().status,
        MemberStatus::Approved
    );
    app.wait_for_mail(&email, |m| m.iter().any(|m| m.subject == "Welcome to Lodge"))
        .await;

    // A second press reports the existing decision.
    let before = calls(&app).await.len();
    let cb = press(&applicant, "reject:too_short", BOB, ADMIN_CHAT);
    exchange(&app, &cb).await;
    let done = calls_after(&app, before, 2).await;
    let answer = by_method(&done, "answerCallbackQuery");
    assert_eq!(answer.params["show_alert"], true);
    assert!(
        answer.params["text"]
            .as_str()
            .unwrap()
            .starts_with("Already approved by Mo at "),
        "{answer:?}"
    );
    assert!(by_method(&done, "editMessageText").params["text"]
        .as_str()
        .unwrap()
        .contains("✅ <b>Approved</b> by Mo"));
    assert_eq!(
        app.store().members().get(&applicant.id).await.unwrap().unwrap().status,
        MemberStatus::Approved
    );
    assert_eq!(
        app.mails_to(&email)
            .await
            .iter()
            .filter(|m| m.subject == "Welcome to Lodge")
            .count(),
        1,
        "welcomed once"
    );

    // Rejecting with a reason.
    let (_, _, id2) = app.newcomer_on_review(&admin, "Anon Ymous").await;
    posted_intro(&app, "Anon Ymous").await;
    let second = app
        .store()
        .members()
        .get(&lodge::domain::MemberId::parse(&id2).unwrap())
        .await
        .unwrap()
        .unwrap();
    let before = calls(&app).await.len();
    exchange(&app, &press(&second, "reject:not_real_name", BOB, ADMIN_CHAT)).await;
    let done = calls_after(&app, before, 2).await;
    assert_eq!(by_method(&done, "answerCallbackQuery").params["text"], "Rejected.");
    let text = by_method(&done, "editMessageText").params["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("❌ <b>Rejected</b> by Mo") && text.contains("Reason: Please use your real name."),
        "{text}"
    );
    assert_eq!(
        app.store().members().get(&second.id).await.unwrap().unwrap().status,
        MemberStatus::Rejected
    );
}

#[tokio::test]
async fn telegram_worker_retries_a_rate_limited_press_through_sqs() {
    let app = TestApp::spawn().await;
    let fake = app.telegram();
    let mo = new_member(&app, "Mo", Role::Moderator, MemberStatus::Approved).await;
    let token = app
        .store()
        .telegram()
        .issue_link_token(&mo.id, lodge::clock::Clock::now(app.clock.as_ref()))
        .await
        .unwrap();
    let mut u = fresh("start-link");
    u["message"]["text"] = json!(format!("/start {}", token.expose()));
    u["message"]["from"]["id"] = json!(BOB);
    assert_eq!(lodge_tests::telegram::post_update(&app, &u).await.status(), 200);
    let applicant = new_member(&app, "Ann", Role::Member, MemberStatus::OnReview).await;

    fake.script("answerCallbackQuery", 429, json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}));
    let cb = press(&applicant, "approve", BOB, ADMIN_CHAT);
    assert_eq!(lodge_tests::telegram::post_update(&app, &cb).await.status(), 200);
    let answers = || fake.calls_of("answerCallbackQuery").len();
    assert!(
        eventually(Duration::from_secs(15), async || answers() > 0).await,
        "the worker never answered"
    );
    // The first answer hit the rate limit, so the job is still on the queue.
    fake.unscript("answerCallbackQuery");
    assert!(
        eventually(Duration::from_secs(20), async || !fake
            .calls_of("editMessageText")
            .is_empty())
        .await,
        "the job was not retried: {:#?}",
        fake.calls()
    );
    assert!(answers() >= 2, "answered again on the retry");
    assert_eq!(
        app.store().members().get(&applicant.id).await.unwrap().unwrap().status,
        MemberStatus::Approved,
        "decided once"
    );
}

#[tokio::test]
async fn telegram_a_decision_on_the_web_shows_in_the_admin_chat() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let (_, _, id) = app.newcomer_on_review(&admin, "Web Decided").await;
    posted_intro(&app, "Web Decided").await;
    // The notifier recorded which message it posted.
    let member_id = lodge::domain::MemberId::parse(&id).unwrap();
    // Recorded just after the send the fake already shows.
    let message_id = wait_for(Duration::from_secs(10), "the intro post recorded", async || {
        app.store()
            .telegram()
            .intro_post(&member_id)
            .await
            .unwrap()
            .map(|p| p.message_id)
    })
    .await;
    let r = app
        .as_member(&admin)
        .post_form(&format!("/admin/moderation/{id}"), &[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let edit = wait_for(Duration::from_secs(15), "the admin chat updated", async || {
        calls(&app)
            .await
            .into_iter()
            .find(|c| c.method == "editMessageText" && c.params["message_id"] == message_id)
    })
    .await;
    assert_eq!(edit.params["chat_id"], ADMIN_CHAT);
    let text = edit.params["text"].as_str().unwrap();
    assert!(
        text.contains("Web Decided") && text.contains(&format!("✅ <b>Approved</b> by {}", app.admin)),
        "{text}"
    );
    assert!(edit.params.get("reply_markup").is_none());
}

#[tokio::test]
async fn telegram_a_long_intro_with_links_is_posted_cut_short_with_a_link_to_the_whole() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let code = app.invite(&admin).await;
    let email = format!("{}@example.org", lodge_tests::unique("long"));
    let cookie = app.join(&code, &email).await;
    // The longest intro the form takes, with five of its longest links: over Telegram's 4,096.
    let about = "I studied here & would love to meet <old> friends again. ".repeat(80);
    let about: String = about.chars().take(4000).collect();
    let links: Vec<String> = (0..5)
        .map(|i| format!("https://example.org/{i}/{}", "a".repeat(270)))
        .collect();
    let r = app
        .as_member(&cookie)
        .post_form(
            "/intro",
            &[("name", "Long Writer"), ("about", &about), ("links", &links.join("\n"))],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let id = app.as_member(&cookie).member().await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sent = wait_for(
        Duration::from_secs(15),
        "the intro's post to the admin chat",
        async || {
            calls(&app)
                .await
                .into_iter()
                .find(|c| c.method == "sendMessage" && c.params["chat_id"] == ADMIN_CHAT)
        },
    )
    .await;
    // Telegram took it (before the fix: "Bad Request: message is too long", and no post).
    assert!(sent.error.is_none(), "{:?}", sent.error);
    let shown = sent.result["text"].as_str().unwrap();
    assert!(shown.encode_utf16().count() <= 4096, "{}", shown.len());
    assert!(
        shown.contains(&format!("the whole intro: {}/admin/members/{id}", app.url)),
        "{shown}"
    );
    assert!(shown.contains(&links[4]), "every link is kept");
}
