//! Code guessing has a lifetime bound: wrong guesses per address lock sign-in
//! by code; the member is emailed a one-time sign-in link that ends the lock,
//! and an admin can end it too.

use lodge::login::LOCK_AFTER_WRONG_GUESSES;
use lodge_tests::{session_cookie, TestApp};
use serde_json::Value;

const LOCKED_SUBJECT: &str = "Sign-in by code is locked for your Lodge account";

async fn request_code(app: &TestApp, email: &str) {
    let r = app.post_form("/auth/email", &[("email", email)]).send().await.unwrap();
    assert_eq!(r.status(), 200, "requesting a code for {email}");
}

async fn try_code(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    app.post_json("/auth/code", serde_json::json!({"email": email, "code": code}))
        .send()
        .await
        .unwrap()
}

/// A six-digit code that is not `code`.
fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

/// Guesses wrong `LOCK_AFTER_WRONG_GUESSES` times, one fresh code per guess
/// (the count is per address, not per code); returns the last answer.
async fn lock(app: &TestApp, email: &str) -> (u16, Value) {
    let mut last = None;
    for _ in 0..LOCK_AFTER_WRONG_GUESSES {
        request_code(app, email).await;
        let code = app.latest_code(email).await;
        let r = try_code(app, email, &wrong(&code)).await;
        last = Some((r.status().as_u16(), r.json().await.unwrap()));
    }
    last.unwrap()
}

/// The one-time link's token in the newest lock email to `email`.
async fn link_token(app: &TestApp, email: &str) -> String {
    let mails = app
        .wait_for_mail(email, |m| m.iter().any(|m| m.subject == LOCKED_SUBJECT))
        .await;
    let body = &mails.iter().rev().find(|m| m.subject == LOCKED_SUBJECT).unwrap().body;
    let start = body.find("token=").expect("a link with a token") + "token=".len();
    body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn redeem_link(app: &TestApp, email: &str, token: &str) -> reqwest::Response {
    app.post_form("/auth/link", &[("email", email), ("token", token)])
        .send()
        .await
        .unwrap()
}

/// A member (who joined and sent an intro): (email, session cookie, id).
async fn member(app: &TestApp) -> (String, String, String) {
    let admin = app.sign_in(&app.admin.clone()).await;
    app.newcomer_on_review(&admin, "Grace").await
}

#[tokio::test]
async fn wrong_guesses_lock_code_sign_in_and_the_emailed_link_unlocks_once() {
    let app = TestApp::spawn().await;
    let (email, _, _) = member(&app).await;
    let (status, body) = lock(&app, &email).await;
    assert_eq!(status, 423, "{body}");
    assert_eq!(body["error"]["code"], "code_sign_in_locked", "{body}");
    let token = link_token(&app, &email).await;

    // Locked: asking for a code sends a fresh link instead, and no code works.
    let before = app.mails_to(&email).await.len();
    request_code(&app, &email).await;
    let mails = app.wait_for_mail(&email, |m| m.len() > before).await;
    assert_eq!(mails.last().unwrap().subject, LOCKED_SUBJECT);
    assert_eq!(try_code(&app, &email, "123456").await.status(), 423);
    // The newest link is the one that works.
    assert_eq!(redeem_link(&app, &email, &token).await.status(), 410);
    let token = link_token(&app, &email).await;

    // Opening the link consumes nothing; its button signs in, once.
    let page = app
        .get(&format!("/auth/link?email={email}&token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let r = redeem_link(&app, &email, &token).await;
    assert_eq!(r.status(), 303);
    let cookie = session_cookie(&r).expect("the link signs in");
    let me = app.get("/api/me").header("cookie", &cookie).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(
        redeem_link(&app, &email, &token).await.status(),
        410,
        "a link works once"
    );

    // Unlocked: sign-in by code works again (in the next hour: codes per address are rationed).
    app.clock.advance(3600);
    app.sign_in(&email).await;
}

#[tokio::test]
async fn a_locked_address_is_sent_links_within_the_code_quota() {
    let app = TestApp::spawn().await;
    let (email, _, _) = member(&app).await;
    lock(&app, &email).await;
    app.wait_for_mail(&email, |m| m.iter().any(|m| m.subject == LOCKED_SUBJECT))
        .await;
    // In the next hour's quota window (the lock stays), each request sends a
    // link and takes one of CODES_PER_ADDRESS, until the quota refuses.
    app.clock.advance(lodge::login::CODES_PER_ADDRESS.window_secs);
    let quota = lodge::login::CODES_PER_ADDRESS.max as usize;
    for sent in 1..=quota {
        let before = app.mails_to(&email).await.len();
        request_code(&app, &email).await;
        let mails = app.wait_for_mail(&email, |m| m.len() > before).await;
        assert_eq!(mails.last().unwrap().subject, LOCKED_SUBJECT, "link {sent}");
    }
    let before = app.mails_to(&email).await.len();
    let r = app.post_form("/auth/email", &[("email", &email)]).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(app.mails_to(&email).await.len(), before, "nothing sent over the quota");
}

#[tokio::test]
async fn an_admin_unlocks_code_sign_in_and_a_member_cannot() {
    let app = TestApp::spawn().await;
    let (email, member_cookie, id) = member(&app).await;
    let (_, other_cookie, _) = member(&app).await;
    assert_eq!(lock(&app, &email).await.0, 423);

    let unlock = |cookie: &str| {
        app.post_form(&format!("/admin/members/{id}/unlock"), &[])
            .header("cookie", cookie)
            .header("accept", "application/json")
            .send()
    };
    // Their sessions still work (only sign-in by code is locked); a member cannot unlock.
    assert_eq!(unlock(&member_cookie).await.unwrap().status(), 403);
    assert_eq!(unlock(&other_cookie).await.unwrap().status(), 403);
    // A cross-site form post is refused even with the admin's cookie.
    let admin = app.sign_in(&app.admin.clone()).await;
    let forged = app
        .http
        .post(app.at(&format!("/admin/members/{id}/unlock")))
        .header("cookie", &admin)
        .header("origin", "https://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(try_code(&app, &email, "123456").await.status(), 423);

    let r = unlock(&admin).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["was_locked"], true, "{body}");
    app.sign_in(&email).await;
}
