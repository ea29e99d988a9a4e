//! Moderation buttons in the admin chat: who may press them, and what a press does.

use std::time::{Duration, Instant};

use lodge::domain::Member;
use lodge::domain::{MemberStatus, Role};
use lodge_tests::TestApp;
use serde_json::{json, Value};

use crate::telegram::{calls, exchange, fresh, link, new_member, Call, ADA, BOB};

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
    let start = Instant::now();
    loop {
        let all = calls(app).await;
        if all.len() >= before + n || start.elapsed() > Duration::from_secs(15) {
            return all[before.min(all.len())..].to_vec();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    // Nothing was decided.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.store().member(&applicant.id).await.unwrap().unwrap().status,
        MemberStatus::OnReview
    );
}

/// The intro message the notifier posted to the admin chat for `name`.
async fn posted_intro(app: &TestApp, name: &str) -> Call {
    let start = Instant::now();
    loop {
        let found = calls(app).await.into_iter().find(|c| {
            c.method == "sendMessage"
                && c.params["chat_id"] == ADMIN_CHAT
                && c.params["text"].as_str().unwrap_or_default().contains(name)
        });
        if let Some(c) = found {
            return c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no intro for {name} in the admin chat"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
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
        .member(&lodge::domain::MemberId::parse(&id).unwrap())
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
        app.store().member(&applicant.id).await.unwrap().unwrap().status,
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
        app.store().member(&applicant.id).await.unwrap().unwrap().status,
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
        .member(&lodge::domain::MemberId::parse(&id2).unwrap())
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
        app.store().member(&second.id).await.unwrap().unwrap().status,
        MemberStatus::Rejected
    );
}

#[tokio::test]
async fn telegram_worker_retries_a_rate_limited_press_through_sqs() {
    let fake = lodge_tests::fake_bot::FakeBot::start().await;
    let app = TestApp::spawn_with(&[("TELEGRAM_API_BASE", &fake.url)]).await;
    let mo = new_member(&app, "Mo", Role::Moderator, MemberStatus::Approved).await;
    let token = app
        .store()
        .issue_link_token(&mo.id, lodge::clock::Clock::now(app.clock.as_ref()))
        .await
        .unwrap();
    let mut u = fresh("start-link");
    u["message"]["text"] = json!(format!("/start {}", token.expose()));
    u["message"]["from"]["id"] = json!(BOB);
    assert_eq!(crate::telegram::post_update(&app, &u).await.status(), 200);
    let applicant = new_member(&app, "Ann", Role::Member, MemberStatus::OnReview).await;

    fake.script("answerCallbackQuery", 429, json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}));
    let cb = press(&applicant, "approve", BOB, ADMIN_CHAT);
    assert_eq!(crate::telegram::post_update(&app, &cb).await.status(), 200);
    let answers =
        |fake: &lodge_tests::fake_bot::FakeBot| fake.calls().iter().filter(|c| c.1 == "answerCallbackQuery").count();
    let start = Instant::now();
    while answers(&fake) == 0 {
        assert!(start.elapsed() < Duration::from_secs(15), "the worker never answered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The first answer hit the rate limit, so the job is still on the queue.
    fake.unscript("answerCallbackQuery");
    let start = Instant::now();
    while !fake.calls().iter().any(|c| c.1 == "editMessageText") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the job was not retried: {:#?}",
            fake.calls()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answers(&fake) >= 2, "answered again on the retry");
    assert_eq!(
        app.store().member(&applicant.id).await.unwrap().unwrap().status,
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
    let start = Instant::now();
    let message_id = loop {
        // Recorded just after the send the stand-in already shows.
        if let Some(p) = app.store().intro_post(&member_id).await.unwrap() {
            break p.message_id;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "the post was not recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let r = app
        .post_form(&format!("/admin/moderation/{id}"), &[("decision", "approve")])
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
    let start = Instant::now();
    let edit = loop {
        if let Some(c) = calls(&app)
            .await
            .into_iter()
            .find(|c| c.method == "editMessageText" && c.params["message_id"] == message_id)
        {
            break c;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the admin chat was not updated"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    };
    assert_eq!(edit.params["chat_id"], ADMIN_CHAT);
    let text = edit.params["text"].as_str().unwrap();
    assert!(
        text.contains("Web Decided") && text.contains(&format!("✅ <b>Approved</b> by {}", app.admin)),
        "{text}"
    );
    assert!(edit.params.get("reply_markup").is_none());
}
