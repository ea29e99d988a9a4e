//! Moderation buttons in the admin chat: who may press them, and what a press does.

use std::time::{Duration, Instant};

use lodge::domain::{MemberStatus, Role};
use lodge::store::members::Member;
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
    assert_eq!(app.store().member(&applicant.id).await.unwrap().unwrap().status, MemberStatus::OnReview);
}
