//! Sign-in with one-time codes, and sessions.

use lodge_tests::{session_cookie, unique, TestApp};
use serde_json::Value;

async fn redeem(app: &TestApp, email: &str, code: &str) -> reqwest::Response {
    app.post_form("/auth/code", &[("email", email), ("code", code)])
        .send()
        .await
        .unwrap()
}

fn wrong(code: &str) -> String {
    let d = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{d}{}", &code[1..])
}

#[tokio::test]
async fn a_member_signs_in_with_the_emailed_code() {
    let app = TestApp::spawn().await;
    let r = app.get("/login?next=/me").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("name=\"next\" value=\"/me\""));

    let r = app
        .post_form("/auth/email", &[("email", &app.admin.to_uppercase()), ("next", "/me")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mails = app.mails_to(&app.admin).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    let code = lodge_tests::extract_code(&mail.body).unwrap();
    assert!(mail.subject.contains(&code));
    assert!(mail.body.contains("expires in 10 minutes") && mail.body.contains(&app.admin));
    assert!(
        mail.body.contains(&format!("{}/auth/code?email=", app.url)),
        "confirm link"
    );

    let r = redeem(&app, &app.admin, &code).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(set_cookie.contains(attr), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain-http local origin: no Secure flag"
    );
    let cookie = session_cookie(&r).unwrap();
    let body: Value = app.as_member(&cookie).me().await.json().await.unwrap();
    assert_eq!(body["member"]["email"], app.admin.as_str());
    assert_eq!(body["member"]["role"], "admin");
    // A code works once.
    assert_eq!(redeem(&app, &app.admin, &code).await.status(), 410);
    // The page version of /me.
    let page = app
        .as_member(&cookie)
        .get("/me")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&app.admin));
}

#[tokio::test]
async fn the_json_api_signs_in_too() {
    let app = TestApp::spawn().await;
    let r = app
        .post_json("/auth/email", serde_json::json!({"email": app.admin}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let code = app.latest_code(&app.admin).await;
    let r = app
        .post_json("/auth/code", serde_json::json!({"email": app.admin, "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = session_cookie(&r).unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["member"]["email"], app.admin.as_str());
    assert_eq!(app.as_member(&cookie).me().await.status(), 200);
}

/// One wrong code locks sign-in by code for the address (the lifetime bound
/// on guessing: see lockout.rs for the emailed link and the admin's unlock).
#[tokio::test]
async fn a_wrong_code_kills_the_code() {
    let app = TestApp::spawn().await;
    app.post_form("/auth/email", &[("email", &app.admin)])
        .send()
        .await
        .unwrap();
    let code = app.latest_code(&app.admin).await;
    let r = redeem(&app, &app.admin, &wrong(&code)).await;
    assert_eq!(r.status(), 423);
    assert!(r.text().await.unwrap().contains("sign-in by code is locked"));
    // Even the right code is dead now.
    let r = redeem(&app, &app.admin, &code).await;
    assert_eq!(r.status(), 423);
    assert!(session_cookie(&r).is_none());
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes_and_a_new_one_replaces_it() {
    let app = TestApp::spawn().await;
    app.post_form("/auth/email", &[("email", &app.admin)])
        .send()
        .await
        .unwrap();
    let first = app.latest_code(&app.admin).await;
    app.clock.advance(601);
    let r = redeem(&app, &app.admin, &first).await;
    assert_eq!(r.status(), 410);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This code has expired — request a new one."));

    app.post_form("/auth/email", &[("email", &app.admin)])
        .send()
        .await
        .unwrap();
    let second = app.latest_code(&app.admin).await;
    app.post_form("/auth/email", &[("email", &app.admin)])
        .send()
        .await
        .unwrap();
    let third = app.latest_code(&app.admin).await;
    if second != third {
        // A replaced code is a wrong guess (which also locks sign-in by code).
        assert_eq!(
            redeem(&app, &app.admin, &second).await.status(),
            423,
            "a replaced code no longer works"
        );
    } else {
        assert_eq!(redeem(&app, &app.admin, &third).await.status(), 303);
    }
}

#[tokio::test]
async fn at_most_three_codes_per_address_per_hour() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        assert_eq!(
            app.post_form("/auth/email", &[("email", &app.admin)])
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let r = app
        .post_form("/auth/email", &[("email", &app.admin)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let page = r.text().await.unwrap();
    assert!(page.contains("Too many codes requested — try again in"), "{page}");
    assert_eq!(app.mails_to(&app.admin).await.len(), 3);
    // Unknown addresses hit the same quota, so the quota reveals nothing.
    let stranger = format!("{}@example.org", unique("x"));
    for _ in 0..3 {
        assert_eq!(
            app.post_form("/auth/email", &[("email", &stranger)])
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(
        app.post_form("/auth/email", &[("email", &stranger)])
            .send()
            .await
            .unwrap()
            .status(),
        429
    );
    app.clock.advance(3600);
    assert_eq!(
        app.post_form("/auth/email", &[("email", &app.admin)])
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn requests_per_client_ip_are_limited() {
    let app = TestApp::spawn_with(&[("LODGE_AUTH_IP_LIMIT", "4")]).await;
    for i in 0..4 {
        let email = format!("{}@example.org", unique(&format!("ip{i}")));
        assert_eq!(
            app.post_form("/auth/email", &[("email", &email)])
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let r = app
        .post_form("/auth/code", &[("email", &app.admin), ("code", "123456")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Too many sign-in attempts from your network"));
}

#[tokio::test]
async fn known_and_unknown_addresses_get_identical_responses() {
    let app = TestApp::spawn().await;
    // The same address, first as a stranger, then as a member.
    let email = format!("{}@example.org", unique("someone"));
    let strip = |r: &reqwest::Response| {
        let mut h: Vec<(String, String)> = r
            .headers()
            .iter()
            .filter(|(k, _)| !["x-request-id", "date"].contains(&k.as_str()))
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        h.sort();
        h
    };
    let unknown = app.post_form("/auth/email", &[("email", &email)]).send().await.unwrap();
    assert!(app.mails_to(&email).await.is_empty(), "nothing is sent to non-members");
    let member = lodge::domain::Member::new(
        lodge::domain::Email::parse(&email).unwrap(),
        lodge::domain::Role::Member,
        lodge::domain::MemberStatus::Approved,
        0,
    );
    app.store().members().create(&member).await.unwrap();
    let known = app.post_form("/auth/email", &[("email", &email)]).send().await.unwrap();
    assert_eq!(app.mails_to(&email).await.len(), 1, "the member got a code");
    assert_eq!(unknown.status(), known.status());
    assert_eq!(strip(&unknown), strip(&known));
    let (a, b) = (unknown.text().await.unwrap(), known.text().await.unwrap());
    assert_eq!(a, b, "byte-identical bodies");
    assert!(a.contains("If this address belongs to a member, a code is on its way"));
    assert!(a.contains("Ask a member for an invite"));
}

#[tokio::test]
async fn next_is_kept_only_when_it_is_a_local_path() {
    let app = TestApp::spawn().await;
    for (next, expected) in [
        ("/me", "/me"),
        ("https://evil.example", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
    ] {
        app.clock.advance(3600); // fresh code quota each round
        app.post_form("/auth/email", &[("email", &app.admin)])
            .send()
            .await
            .unwrap();
        let code = app.latest_code(&app.admin).await;
        let r = app
            .post_form("/auth/code", &[("email", &app.admin), ("code", &code), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], expected, "next={next}");
    }
}

#[tokio::test]
async fn the_emailed_link_confirms_with_a_post_and_a_get_consumes_nothing() {
    let app = TestApp::spawn().await;
    app.post_form("/auth/email", &[("email", &app.admin)])
        .send()
        .await
        .unwrap();
    let code = app.latest_code(&app.admin).await;
    let link = format!("/auth/code?email={}&code={code}&next=%2Fme", app.admin);
    for _ in 0..3 {
        // Mail scanners may open the link any number of times.
        let page = app.get(&link).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("method=\"post\"") && page.contains(&code));
    }
    let r = app
        .post_form("/auth/code", &[("email", &app.admin), ("code", &code), ("next", "/me")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/me");
}

#[tokio::test]
async fn logout_revokes_this_session_and_logout_all_every_session() {
    let app = TestApp::spawn().await;
    let first = app.sign_in(&app.admin).await;
    let second = app.sign_in(&app.admin).await;
    let third = app.sign_in(&app.admin).await;
    let r = app.as_member(&first).post_form("/logout", &[]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(app.as_member(&first).me().await.status(), 401);
    assert_eq!(app.as_member(&second).me().await.status(), 200);
    let r = app
        .as_member(&second)
        .post_form("/logout/all", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(app.as_member(&second).me().await.status(), 401);
    assert_eq!(app.as_member(&third).me().await.status(), 401);
    // Signing in again works after "everywhere".
    app.clock.advance(3600);
    let again = app.sign_in(&app.admin).await;
    assert_eq!(app.as_member(&again).me().await.status(), 200);
}

#[tokio::test]
async fn tampered_or_expired_tokens_are_rejected() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in(&app.admin).await;
    let token = cookie.trim_start_matches("lodge_session=");
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    // Change the claims (another sid) without re-signing.
    parts[1] = parts[1].chars().rev().collect();
    let tampered = format!("lodge_session={}", parts.join("."));
    let r = app.as_member(&tampered).me().await;
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(app.as_member("lodge_session=garbage").me().await.status(), 401);
    assert_eq!(app.as_member(&cookie).me().await.status(), 200);
    app.clock.advance(30 * 24 * 3600 + 1);
    assert_eq!(app.as_member(&cookie).me().await.status(), 401);
    // Pages send signed-out visitors to the sign-in form.
    let r = app.as_member(&cookie).get("/me").send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=/me");
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in(&app.admin).await;
    let r = app
        .http
        .post(app.at("/logout/all"))
        .header("origin", "https://evil.example")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .http
        .post(app.at("/logout/all"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no Origin and no Referer on a form post");
    let r = app
        .http
        .post(app.at("/logout/all"))
        .header("referer", format!("{}/me", app.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "a same-origin Referer is enough");
}

#[tokio::test]
async fn a_failed_email_send_is_a_503_and_costs_no_quota() {
    // moto, like SES, refuses to send from an unverified identity.
    let app = TestApp::spawn_with(&[("LODGE_MAIL_FROM", "Lodge <no-reply@unverified.example>")]).await;
    for _ in 0..4 {
        let r = app
            .post_form("/auth/email", &[("email", &app.admin)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        let page = r.text().await.unwrap();
        assert!(page.contains("email service") && page.contains("request"), "{page}");
    }
    let r = app
        .post_json("/auth/email", serde_json::json!({"email": app.admin}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "four failures later the quota is still untouched");
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["request_id"].as_str().is_some_and(|id| !id.is_empty()));
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let app = TestApp::spawn().await;
    let r = app.get("/").send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    assert_eq!(app.as_member("").me().await.status(), 401);
}
