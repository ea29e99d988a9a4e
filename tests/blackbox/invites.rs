//! Invites: creation and quota, every invalid-code page, joining, resuming,
//! existing members, and the race for one invite.

use lodge_tests::{session_cookie, unique, TestApp};
use serde_json::Value;

#[tokio::test]
async fn a_member_creates_invites_as_json_and_on_the_page() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let r = app
        .as_member(&admin)
        .post_json("/api/invites", serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    let code = body["code"].as_str().unwrap();
    assert!(code.len() >= 14 && !code.contains(['0', 'O', '1', 'I']), "{code}");
    assert_eq!(body["url"], format!("{}/invite/{code}", app.url));
    // Valid for the template's InviteTtlDays from now (the stack's clock), whatever the year.
    let ttl_days: i64 = app
        .stack
        .env("InvitesFunction", "LODGE_INVITE_TTL_DAYS")
        .unwrap()
        .parse()
        .unwrap();
    let now = lodge::clock::Clock::now(app.clock.as_ref());
    assert_eq!(body["expires_at"], lodge::clock::rfc3339(now + ttl_days * 86_400));

    let r = app.as_member(&admin).post_form("/invites", &[]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let page = app
        .as_member(&admin)
        .get(&location)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("New invite") && page.contains(&format!("{}/invite/", app.url)));
    assert!(page.contains(code), "the list shows earlier invites");
    let list: Value = app
        .as_member(&admin)
        .get("/invites")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["invites"].as_array().unwrap().len(), 2);
    assert_eq!(list["invites"][1]["status"], "unused");
}

#[tokio::test]
async fn members_have_a_monthly_quota_and_staff_do_not() {
    let app = TestApp::spawn_with(&[("LODGE_INVITES_PER_MONTH", "2")]).await;
    let admin = app.sign_in(&app.admin).await;
    for _ in 0..4 {
        app.invite(&admin).await; // admins: unlimited
    }
    let (email, member, id) = app.newcomer_on_review(&admin, "Quota Person").await;
    let r = app
        .as_member(&admin)
        .post_json(
            &format!("/admin/moderation/{id}"),
            serde_json::json!({"decision": "approve"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.invite(&member).await;
    app.invite(&member).await;
    let r = app
        .as_member(&member)
        .post_json("/api/invites", serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("this month's 2 invites"));
    app.clock.advance(32 * 86_400); // next month (and the 30-day session is over)
    let member = app.sign_in(&email).await;
    app.invite(&member).await;
}

#[tokio::test]
async fn each_unusable_invite_gets_its_own_page() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let page = |path: String| {
        let app = &app;
        async move {
            let r = app.get(&path).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let (s, body) = page("/invite/ABCDEFGHJKMNPQRS".into()).await;
    assert_eq!(s, 404);
    assert!(body.contains("Invite not found"));
    let (s, _) = page("/invite/not-a-code".into()).await;
    assert_eq!(s, 404);

    let used = app.invite(&admin).await;
    app.join(&used, &format!("{}@example.org", unique("u"))).await;
    let (s, body) = page(format!("/invite/{used}")).await;
    assert_eq!(s, 410);
    assert!(body.contains("This invite has been used"));

    let revoked = app.invite(&admin).await;
    let r = app
        .as_member(&admin)
        .post_form(&format!("/invites/{revoked}/revoke"), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (s, body) = page(format!("/invite/{revoked}")).await;
    assert_eq!(s, 410);
    assert!(body.contains("This invite was withdrawn"));
    let r = app
        .as_member(&admin)
        .post_form(&format!("/invites/{revoked}/revoke"), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "a revoked invite cannot be revoked again");

    let expiring = app.invite(&admin).await;
    let (s, body) = page(format!("/invite/{expiring}")).await;
    assert_eq!(s, 200);
    assert!(body.contains("invites you to join"));
    app.clock.advance(366 * 86_400);
    let (s, body) = page(format!("/invite/{expiring}")).await;
    assert_eq!(s, 410);
    assert!(body.contains("This invite has expired"));
    let r = app
        .post_form(
            &format!("/invite/{expiring}/activate"),
            &[("email", "late@example.org")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
}

#[tokio::test]
async fn joining_creates_a_member_on_intro_and_resuming_works() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let code = app.invite(&admin).await;
    let email = format!("{}@example.org", unique("joiner"));
    let r = app
        .post_form(&format!("/invite/{code}/activate"), &[("email", &email)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("We sent a sign-in code"));
    assert_eq!(app.mails_to(&email).await.len(), 1);
    // Lost the page: the same email on the same invite resumes.
    let r = app
        .post_form(&format!("/invite/{code}/activate"), &[("email", &email.to_uppercase())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Welcome back"));
    assert_eq!(app.mails_to(&email).await.len(), 2);
    let sign_in = app.latest_code(&email).await;
    let r = app
        .post_form(
            "/auth/code",
            &[("email", &email), ("code", &sign_in), ("next", "/intro")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/intro");
    let cookie = session_cookie(&r).unwrap();
    let me: Value = app
        .as_member(&cookie)
        .get("/api/me")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["member"]["status"], "intro");
    // Another email on the used invite is refused.
    let r = app
        .post_form(&format!("/invite/{code}/activate"), &[("email", "other@example.org")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
}

#[tokio::test]
async fn an_existing_members_email_does_not_use_the_invite() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let code = app.invite(&admin).await;
    let r = app
        .post_form(&format!("/invite/{code}/activate"), &[("email", &app.admin)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("already belongs to a member"));
    let list: Value = app
        .as_member(&admin)
        .get("/invites")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["invites"][0]["status"], "unused");
    let page = app.get(&format!("/invite/{code}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
}

#[tokio::test]
async fn twenty_simultaneous_activations_make_exactly_one_member() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let code = app.invite(&admin).await;
    let emails: Vec<String> = (0..24)
        .map(|i| format!("{}@example.org", unique(&format!("race{i}"))))
        .collect();
    let attempts = emails.iter().map(|email| {
        let req = app.post_form(&format!("/invite/{code}/activate"), &[("email", email)]);
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    });
    let results = futures::future::join_all(attempts).await;
    let winners = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(
        winners,
        1,
        "statuses: {:?}",
        results.iter().map(|(s, _)| s).collect::<Vec<_>>()
    );
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert!(*status == 409 || *status == 410, "{status}");
        assert!(
            body.contains("This invite has just been used") || body.contains("This invite has been used"),
            "{body}"
        );
    }
    let mut members = 0;
    for email in &emails {
        if app
            .store()
            .members()
            .id_by_email(&lodge::domain::Email::parse(email).unwrap())
            .await
            .unwrap()
            .is_some()
        {
            members += 1;
        }
    }
    assert_eq!(members, 1);
}

#[tokio::test]
async fn bad_emails_on_the_invite_page_get_messages_not_500s() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let code = app.invite(&admin).await;
    for (email, msg) in [
        ("", "Enter your email address."),
        ("nope", "does not look like an email address"),
        (&"a".repeat(300), "too long"),
    ] {
        let r = app
            .post_form(&format!("/invite/{code}/activate"), &[("email", email)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains(msg), "{msg}");
    }
}
