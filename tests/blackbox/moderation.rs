//! Intros, the gate before approval, decisions (web), roles, escaping.

use lodge_tests::TestApp;
use serde_json::{json, Value};

#[tokio::test]
async fn until_approved_a_member_reaches_only_intro_settings_and_logout() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let code = app.invite(&admin).await;
    let email = format!("{}@example.org", lodge_tests::unique("gate"));
    let cookie = app.join(&code, &email).await;
    for path in ["/", "/invites", "/admin/moderation"] {
        let r = app.as_member(&cookie).get(path).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(r.headers()["location"], "/status", "{path}");
    }
    let r = app.as_member(&cookie).get("/status").send().await.unwrap();
    assert_eq!(r.headers()["location"], "/intro");
    assert_eq!(app.as_member(&cookie).get("/intro").send().await.unwrap().status(), 200);
    assert_eq!(app.as_member(&cookie).get("/me").send().await.unwrap().status(), 200);
    let r = app
        .as_member(&cookie)
        .post_json("/api/invites", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn intro_fields_are_validated_with_messages() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let code = app.invite(&admin).await;
    let cookie = app
        .join(&code, &format!("{}@example.org", lodge_tests::unique("v")))
        .await;
    let long_about = "x".repeat(5000);
    let cases = [
        ("", "I am a long enough intro text here.", "", "Enter your name."),
        ("Ada", "short", "", "too short: 5 characters"),
        ("Ada", long_about.as_str(), "", "too long: 5000 characters"),
        (
            "Ada",
            "I am a long enough intro text here.",
            "javascript:alert(1)",
            "is not a web link",
        ),
    ];
    for (name, about, links, msg) in cases {
        let r = app
            .as_member(&cookie)
            .post_form("/intro", &[("name", name), ("about", about), ("links", links)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{msg}");
        assert!(r.text().await.unwrap().contains(msg), "{msg}");
    }
    assert_eq!(app.as_member(&cookie).member().await["status"], "intro");
}

#[tokio::test]
async fn approving_an_intro_welcomes_the_member_once() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let (email, cookie, id) = app.newcomer_on_review(&admin, "Grace Hopper").await;
    // Moderators hear about it (through the notify queue).
    app.wait_for_mail(&app.admin, |m| {
        m.iter().any(|m| m.subject == "New intro to review: Grace Hopper")
    })
    .await;
    let queue = app
        .as_member(&admin)
        .get("/admin/moderation")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queue.contains("Grace Hopper") && queue.contains(&id));
    let r = app
        .as_member(&admin)
        .post_form(&format!("/admin/moderation/{id}"), &[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Grace Hopper was approved."));
    assert_eq!(app.as_member(&cookie).member().await["status"], "approved");
    app.wait_for_mail(&email, |m| m.iter().any(|m| m.subject == "Welcome to Lodge"))
        .await;
    // A second click is told who decided; nothing is applied twice.
    let r = app
        .as_member(&admin)
        .post_json(
            &format!("/admin/moderation/{id}"),
            json!({"decision": "reject", "reason": "too_short"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "already_decided");
    assert_eq!(body["error"]["decision"], "approved");
    assert_eq!(app.as_member(&cookie).member().await["status"], "approved");
    let history = app
        .as_member(&admin)
        .get(&format!("/admin/members/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(history.matches("<td>approved</td>").count(), 1, "one decision recorded");
    // The status page sends an approved member home; home shows their invites.
    let r = app.as_member(&cookie).get("/status").send().await.unwrap();
    assert_eq!(r.headers()["location"], "/");
    assert_eq!(app.as_member(&cookie).get("/").send().await.unwrap().status(), 200);
    // Once the notifier handled everything queued, exactly one welcome went out.
    app.drained("NotifyQueue").await;
    assert_eq!(
        app.mails_to(&email)
            .await
            .iter()
            .filter(|m| m.subject == "Welcome to Lodge")
            .count(),
        1
    );
}

#[tokio::test]
async fn a_rejected_member_reads_the_reason_and_resubmits() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let (email, cookie, id) = app.newcomer_on_review(&admin, "Anon").await;
    let r = app
        .as_member(&admin)
        .post_form(
            &format!("/admin/moderation/{id}"),
            &[
                ("decision", "reject"),
                ("reason", "other"),
                ("text", "Tell us where you studied."),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.as_member(&cookie).member().await["status"], "rejected");
    let mails = app
        .wait_for_mail(&email, |m| m.iter().any(|m| m.subject.contains("needs another look")))
        .await;
    assert!(mails.iter().any(|m| m.body.contains("Tell us where you studied.")));
    let status = app
        .as_member(&cookie)
        .get("/status")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(status.contains("Tell us where you studied."));
    let form = app
        .as_member(&cookie)
        .get("/intro")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("I studied here in 2015"), "the old intro is pre-filled");
    let r = app
        .as_member(&cookie)
        .post_form(
            "/intro",
            &[
                ("name", "Anna Smith"),
                (
                    "about",
                    "I studied economics here, class of 2015, and now work in Berlin.",
                ),
                ("links", "https://example.org/anna"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(app.as_member(&cookie).member().await["status"], "on_review");
    let r = app
        .as_member(&admin)
        .post_form(
            &format!("/admin/moderation/{id}"),
            &[("decision", "reject"), ("reason", "other"), ("text", "")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "'other' needs a text");
    let history = app
        .as_member(&admin)
        .get(&format!("/admin/members/{id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(history.contains("rejected") && history.contains("Tell us where you studied."));
}

#[tokio::test]
async fn only_staff_moderate_and_admins_grant_the_moderator_role() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let (_, alice, alice_id) = app.newcomer_on_review(&admin, "Alice").await;
    app.as_member(&admin)
        .post_json(&format!("/admin/moderation/{alice_id}"), json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    let (_, _, bob_id) = app.newcomer_on_review(&admin, "Bob").await;
    // Alice, a plain member, cannot moderate.
    assert_eq!(
        app.as_member(&alice)
            .get("/admin/moderation")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let r = app
        .as_member(&alice)
        .post_json(&format!("/admin/moderation/{bob_id}"), json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // …nor grant roles.
    let r = app
        .as_member(&alice)
        .post_json(&format!("/admin/members/{alice_id}/role"), json!({"role": "moderator"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The admin makes her a moderator; now she can.
    let r = app
        .as_member(&admin)
        .post_json(&format!("/admin/members/{alice_id}/role"), json!({"role": "moderator"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .as_member(&alice)
        .post_json(&format!("/admin/moderation/{bob_id}"), json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .as_member(&admin)
        .post_json(&format!("/admin/members/{alice_id}/role"), json!({"role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "admins come from configuration");
    let r = app
        .as_member(&admin)
        .post_json(&format!("/admin/members/{alice_id}/role"), json!({"role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.as_member(&alice)
            .get("/admin/moderation")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
}

#[tokio::test]
async fn user_text_is_escaped_everywhere() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let (_, _, id) = app.newcomer_on_review(&admin, "<script>alert(1)</script>").await;
    for path in ["/admin/moderation".to_string(), format!("/admin/members/{id}")] {
        let page = app
            .as_member(&admin)
            .get(&path)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!page.contains("<script>alert(1)</script>"), "{path}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || page.contains("&#60;script&#62;"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn approved_members_see_each_others_profiles() {
    let app = TestApp::spawn().await;
    let admin = app.sign_in(&app.admin).await;
    let (_, ada, ada_id) = app.newcomer_on_review(&admin, "Ada Lovelace").await;
    // Not approved yet: the profile is not public, and Ada cannot browse profiles.
    assert_eq!(
        app.as_member(&admin)
            .get(&format!("/members/{ada_id}"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.as_member(&ada)
            .get(&format!("/members/{ada_id}"))
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    app.as_member(&admin)
        .post_json(&format!("/admin/moderation/{ada_id}"), json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    let page = app
        .as_member(&admin)
        .get(&format!("/members/{ada_id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Ada Lovelace") && page.contains("I studied here in 2015") && page.contains("invited by"));
    assert_eq!(
        app.as_member(&admin)
            .get("/members/not-an-id")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get(&format!("/members/{ada_id}")).send().await.unwrap().status(),
        303,
        "signed out → sign in"
    );
}
