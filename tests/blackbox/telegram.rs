//! The Telegram bot end to end: sample updates from events/telegram-webhook
//! go to the webhook; the stack's Bot API fake shows what it answered.

use lodge::domain::{MemberStatus, Role};
use lodge_tests::telegram::{
    calls, exchange, fresh, link, new_member, only_message, post_update, rand_id, secret, Now, ADA, BOB,
};
use lodge_tests::TestApp;
use serde_json::{json, Value};

#[tokio::test]
async fn telegram_webhook_rejects_a_wrong_or_missing_secret_without_side_effects() {
    let app = TestApp::spawn().await;
    let update = fresh("help");
    for header in [None, Some("wrong-secret"), Some(&secret(&app)[1..])] {
        let mut req = app.http.post(app.at("/telegram/webhook")).json(&update);
        if let Some(h) = header {
            req = req.header("x-telegram-bot-api-secret-token", h);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{header:?}");
    }
    assert!(calls(&app).await.is_empty(), "no Bot API call");
    // Nor was the update id taken: with the right secret it is handled.
    assert_eq!(exchange(&app, &update).await.len(), 1);
}

#[tokio::test]
async fn telegram_webhook_handles_each_update_once_and_rejects_bad_bodies() {
    let app = TestApp::spawn().await;
    let update = fresh("help");
    let first = exchange(&app, &update).await;
    assert!(only_message(&first, ADA).contains("/whois"));
    let again = post_update(&app, &update).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["status"], "duplicate");
    assert_eq!(calls(&app).await.len(), 1, "the redelivery made no call");

    let r = app
        .http
        .post(app.at("/telegram/webhook"))
        .header("x-telegram-bot-api-secret-token", secret(&app))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let big = format!("{{\"update_id\": 1, \"pad\": \"{}\"}}", "a".repeat(1024 * 1024));
    let r = app
        .http
        .post(app.at("/telegram/webhook"))
        .header("x-telegram-bot-api-secret-token", secret(&app))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Updates the bot does not care about are acknowledged and ignored.
    let r = post_update(&app, &fresh("ignored-my-chat-member")).await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ignored");
    assert_eq!(calls(&app).await.len(), 1);
}

#[tokio::test]
async fn telegram_linking_valid_reused_expired_and_taken() {
    let app = TestApp::spawn().await;
    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    let store = app.store();

    // Valid: linked, marker written, member updated.
    let token = store
        .telegram()
        .issue_link_token(&ada.id, app.clock.now_secs())
        .await
        .unwrap();
    let mut u = fresh("start-link");
    u["message"]["text"] = json!(format!("/start {}", token.expose()));
    let text = only_message(&exchange(&app, &u).await, ADA);
    assert!(text.contains("now linked to <b>Ada</b>"), "{text}");
    let stored = store.members().get(&ada.id).await.unwrap().unwrap();
    let link = stored.telegram.unwrap();
    assert_eq!(
        (link.user_id, link.username.as_deref(), link.unreachable),
        (ADA, Some("ada_l"), false)
    );
    assert_eq!(store.telegram().marker(ADA).await.unwrap().unwrap().member_id, ada.id);

    // Reused: the same token again.
    u["update_id"] = json!(rand_id());
    let text = only_message(&exchange(&app, &u).await, ADA);
    assert!(text.contains("already used or is not valid"), "{text}");

    // Expired: 15 minutes and a second later.
    let bob = new_member(&app, "Bob", Role::Member, MemberStatus::Approved).await;
    let token = store
        .telegram()
        .issue_link_token(&bob.id, app.clock.now_secs())
        .await
        .unwrap();
    app.clock.advance(15 * 60 + 1);
    let mut u = fresh("start-link");
    u["message"]["text"] = json!(format!("/start {}", token.expose()));
    u["message"]["from"] = json!({"id": BOB, "is_bot": false, "first_name": "Bob", "username": "bob_b"});
    u["message"]["chat"]["id"] = json!(BOB);
    let text = only_message(&exchange(&app, &u).await, BOB);
    assert!(text.contains("has expired"), "{text}");
    assert!(store.members().get(&bob.id).await.unwrap().unwrap().telegram.is_none());

    // Taken: Ada's Telegram account cannot be linked to Bob as well.
    let token = store
        .telegram()
        .issue_link_token(&bob.id, app.clock.now_secs())
        .await
        .unwrap();
    let mut u = fresh("start-link");
    u["message"]["text"] = json!(format!("/start {}", token.expose()));
    let text = only_message(&exchange(&app, &u).await, ADA);
    assert!(text.contains("already linked to another Lodge member"), "{text}");
    assert!(store.members().get(&bob.id).await.unwrap().unwrap().telegram.is_none());
    assert_eq!(store.telegram().marker(ADA).await.unwrap().unwrap().member_id, ada.id);

    // Garbage payloads are not links.
    let mut u = fresh("start-link");
    u["message"]["text"] = json!("/start nonsense");
    assert!(only_message(&exchange(&app, &u).await, ADA).contains("not valid"));
}

#[tokio::test]
async fn telegram_help_me_and_unknown_commands() {
    let app = TestApp::spawn().await;
    // Not linked yet.
    let text = only_message(&exchange(&app, &fresh("me")).await, ADA);
    assert!(
        text.contains("not linked") && text.contains(&format!("{}/settings", app.url)),
        "{text}"
    );
    let text = only_message(&exchange(&app, &fresh("help")).await, ADA);
    for c in ["/start", "/help", "/me", "/whois", "/invite"] {
        assert!(text.contains(c), "{c} in {text}");
    }
    assert!(text.contains("/settings"), "non-members learn how to link: {text}");
    // /start without a token and without a dialog tree: the help text.
    let text = only_message(&exchange(&app, &fresh("start")).await, ADA);
    assert!(text.contains("/whois"), "{text}");

    let ada = new_member(&app, "Ada", Role::Moderator, MemberStatus::Approved).await;
    link(&app, &ada, ADA, "ada_l").await;
    let text = only_message(&exchange(&app, &fresh("me")).await, ADA);
    assert!(
        text.contains("<b>Ada</b>") && text.contains("Status: approved") && text.contains("Role: moderator"),
        "{text}"
    );
    assert!(text.contains(&format!("{}/members/{}", app.url, ada.id)), "{text}");

    let mut u = fresh("help");
    u["message"]["text"] = json!("/frobnicate");
    assert!(only_message(&exchange(&app, &u).await, ADA).contains("do not know that command"));
    // Commands addressed to another bot in a group are not ours.
    let mut u = fresh("whois-reply");
    u["message"]["text"] = json!("/help@some_other_bot");
    assert!(exchange(&app, &u).await.is_empty());
}

#[tokio::test]
async fn telegram_whois_by_reply_username_and_forward() {
    let app = TestApp::spawn().await;
    // A non-member asks: politely refused.
    let text = only_message(&exchange(&app, &fresh("whois-username")).await, ADA);
    assert!(text.contains("Only approved members"), "{text}");

    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    link(&app, &ada, ADA, "ada_l").await;
    // Bob is not a member yet.
    let calls = exchange(&app, &fresh("whois-username")).await;
    assert!(only_message(&calls, ADA).contains("@bob_b is not a Lodge member"));
    assert_eq!(calls[0].params["reply_parameters"]["message_id"], 10);

    let bob = new_member(&app, "Bob <Builder>", Role::Member, MemberStatus::Approved).await;
    link(&app, &bob, BOB, "bob_b").await;
    let profile = format!("{}/members/{}", app.url, bob.id);
    let expected = format!("is <b>Bob &lt;Builder&gt;</b>: {profile}");
    // With @username.
    let text = only_message(&exchange(&app, &fresh("whois-username")).await, ADA);
    assert_eq!(text, format!("@bob_b {expected}"));
    // As a reply in a group.
    let text = only_message(&exchange(&app, &fresh("whois-reply")).await, -1001000000002);
    assert_eq!(text, format!("@bob_b {expected}"));
    // A forwarded message in private.
    let text = only_message(&exchange(&app, &fresh("whois-forward")).await, ADA);
    assert_eq!(text, format!("@bob_b {expected}"));
    // As a reply to a forwarded message in a group: the original author.
    let mut u = fresh("whois-reply");
    u["message"]["reply_to_message"]["from"] = json!({"id": 777, "is_bot": false, "first_name": "Forwarder"});
    u["message"]["reply_to_message"]["forward_origin"] = json!({"type": "user", "date": 0, "sender_user": {"id": BOB, "is_bot": false, "first_name": "Bob", "username": "bob_b"}});
    assert_eq!(
        only_message(&exchange(&app, &u).await, -1001000000002),
        format!("@bob_b {expected}")
    );
    // A forward whose author hides their account.
    let mut u = fresh("whois-forward");
    u["message"]["forward_origin"] = json!({"type": "hidden_user", "date": 0, "sender_user_name": "Mystery"});
    assert!(only_message(&exchange(&app, &u).await, ADA).contains("hides their account"));
    // An applicant is not revealed.
    let carol = new_member(&app, "Carol", Role::Member, MemberStatus::OnReview).await;
    link(&app, &carol, 333, "carol_c").await;
    let mut u = fresh("whois-username");
    u["message"]["text"] = json!("/whois @carol_c");
    assert!(only_message(&exchange(&app, &u).await, ADA).contains("@carol_c is not a Lodge member"));
    // Nothing to look up.
    let mut u = fresh("whois-username");
    u["message"]["text"] = json!("/whois");
    assert!(only_message(&exchange(&app, &u).await, ADA).contains("Reply to someone's message"));
}

#[tokio::test]
async fn telegram_login_codes_go_to_a_linked_account_as_well() {
    let app = TestApp::spawn().await;
    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    link(&app, &ada, ADA, "ada_l").await;
    let before = calls(&app).await.len();
    let r = app
        .post_form("/auth/email", &[("email", ada.email.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let code = app.latest_code(ada.email.as_str()).await;
    let sent = calls(&app).await.split_off(before);
    let text = only_message(&sent, ADA);
    assert!(
        text.contains(&format!("<code>{code}</code>")) && text.contains("10 minutes"),
        "{text}"
    );
}

#[tokio::test]
async fn telegram_login_codes_survive_a_blocked_bot_and_mark_the_account_unreachable() {
    let app = TestApp::spawn().await;
    let fake = app.telegram();
    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    let token = app
        .store()
        .telegram()
        .issue_link_token(&ada.id, app.clock.now_secs())
        .await
        .unwrap();
    let mut u = fresh("start-link");
    u["message"]["text"] = json!(format!("/start {}", token.expose()));
    assert_eq!(post_update(&app, &u).await.status(), 200);
    fake.block(ADA);
    let r = app
        .post_form("/auth/email", &[("email", ada.email.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "email still works");
    assert_eq!(app.mails_to(ada.email.as_str()).await.len(), 1);
    let stored = app.store().members().get(&ada.id).await.unwrap().unwrap();
    assert!(stored.telegram.unwrap().unreachable, "marked unreachable");
    let tried = fake.calls_of("sendMessage").len();
    // Unreachable: the next code is not even tried in Telegram.
    app.post_form("/auth/email", &[("email", ada.email.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(fake.calls_of("sendMessage").len(), tried);
    // Writing to the bot again (so unblocking it) clears the flag.
    fake.unblock(ADA);
    assert_eq!(post_update(&app, &fresh("help")).await.status(), 200);
    assert!(
        !app.store()
            .members()
            .get(&ada.id)
            .await
            .unwrap()
            .unwrap()
            .telegram
            .unwrap()
            .unreachable
    );
}

#[tokio::test]
async fn telegram_invite_gives_approved_members_a_link_within_their_quota() {
    let app = TestApp::spawn_with(&[("LODGE_INVITES_PER_MONTH", "1")]).await;
    let text = only_message(&exchange(&app, &fresh("invite")).await, ADA);
    assert!(text.contains("Link your Lodge account first"), "{text}");
    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    link(&app, &ada, ADA, "ada_l").await;
    let text = only_message(&exchange(&app, &fresh("invite")).await, ADA);
    let prefix = format!("{}/invite/", app.url);
    let at = text.find(&prefix).unwrap_or_else(|| panic!("{text}")) + prefix.len();
    let code: String = text[at..].chars().take_while(|c| !c.is_whitespace()).collect();
    // The link works: it is the same invite the web creates.
    assert_eq!(app.get(&format!("/invite/{code}")).send().await.unwrap().status(), 200);
    let text = only_message(&exchange(&app, &fresh("invite")).await, ADA);
    assert!(text.contains("used this month's 1 invites"), "{text}");
    // Applicants cannot invite.
    let bob = new_member(&app, "Bob", Role::Member, MemberStatus::OnReview).await;
    link(&app, &bob, BOB, "bob_b").await;
    let mut u = fresh("invite");
    u["message"]["from"]["id"] = json!(BOB);
    u["message"]["chat"]["id"] = json!(BOB);
    assert!(only_message(&exchange(&app, &u).await, BOB).contains("Only approved members"));
}

#[tokio::test]
async fn telegram_whois_follows_a_renamed_username() {
    let app = TestApp::spawn().await;
    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    link(&app, &ada, ADA, "ada_l").await;
    let bob = new_member(&app, "Bob", Role::Member, MemberStatus::Approved).await;
    link(&app, &bob, BOB, "bob_b").await;
    // Bob renames himself to @robert and talks to the bot.
    let mut u = fresh("help");
    u["message"]["from"] = json!({"id": BOB, "is_bot": false, "first_name": "Bob", "username": "robert"});
    u["message"]["chat"]["id"] = json!(BOB);
    exchange(&app, &u).await;
    let mut u = fresh("whois-username");
    u["message"]["text"] = json!("/whois @robert");
    assert!(only_message(&exchange(&app, &u).await, ADA).starts_with("@robert is <b>Bob</b>"));
    let mut u = fresh("whois-username");
    u["message"]["text"] = json!("/whois @bob_b");
    assert!(
        only_message(&exchange(&app, &u).await, ADA).contains("is not a Lodge member"),
        "the old name is no longer his"
    );
}

#[tokio::test]
async fn telegram_whois_works_on_a_forwarded_photo_and_ignores_other_media() {
    let app = TestApp::spawn().await;
    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    link(&app, &ada, ADA, "ada_l").await;
    let mut u = fresh("whois-forward");
    u["message"].as_object_mut().unwrap().remove("text");
    u["message"]["caption"] = json!("a photo");
    assert!(only_message(&exchange(&app, &u).await, ADA).contains("@bob_b is not a Lodge member"));
    // A sticker (no text, not forwarded) is acknowledged and ignored.
    let mut u = fresh("help");
    u["message"].as_object_mut().unwrap().remove("text");
    u["message"]["sticker"] = json!({"file_id": "x"});
    let r = post_update(&app, &u).await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ignored");
}
