//! Linking Telegram from the settings page: deep link, Login Widget, unlink.

use std::collections::BTreeMap;

use lodge::config::Secret;
use lodge_tests::TestApp;
use serde_json::{json, Value};

use lodge_tests::telegram::{exchange, fresh, only_message, ADA};

fn now(app: &TestApp) -> i64 {
    lodge::clock::Clock::now(app.clock.as_ref())
}

async fn settings_page(app: &TestApp, cookie: &str) -> String {
    let r = app.as_member(cookie).get("/settings").send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

#[tokio::test]
async fn telegram_link_from_settings_by_deep_link_then_unlink() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/settings").send().await.unwrap().headers()["location"],
        "/login?next=%2Fsettings"
    );
    let cookie = app.sign_in(&app.admin).await;
    let page = settings_page(&app, &cookie).await;
    assert!(page.contains("action=\"/settings/telegram/link\""), "{page}");

    let r = app
        .as_member(&cookie)
        .post_form("/settings/telegram/link", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let start = page.find("https://t.me/lodge_local_bot?start=").expect("a deep link")
        + "https://t.me/lodge_local_bot?start=".len();
    let token: String = page[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(token.len(), 32);

    let mut u = fresh("start-link");
    u["message"]["text"] = json!(format!("/start {token}"));
    assert!(only_message(&exchange(&app, &u).await, ADA).contains("is now linked to"));
    let page = settings_page(&app, &cookie).await;
    assert!(
        page.contains("<strong>@ada_l</strong>") && page.contains("action=\"/settings/telegram/unlink\""),
        "{page}"
    );

    let r = app
        .as_member(&cookie)
        .post_form("/settings/telegram/unlink", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.headers()["location"].to_str().unwrap()),
        (303, "/settings?telegram=unlinked")
    );
    let store = app.store();
    let admin = store
        .members()
        .by_email(&lodge::domain::Email::parse(&app.admin).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(admin.telegram.is_none());
    assert!(
        store.telegram().marker(ADA).await.unwrap().is_none(),
        "the account is free again"
    );
    // JSON clients get the link as JSON; signed-out ones get 401.
    let r = app
        .as_member(&cookie)
        .post_json("/settings/telegram/link", json!({}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(body["url"]
        .as_str()
        .unwrap()
        .starts_with("https://t.me/lodge_local_bot?start="));
    assert_eq!(body["expires_in"], 900);
    assert_eq!(
        app.post_json("/settings/telegram/link", json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

fn signed(app: &TestApp, auth_date: i64, state: &str) -> BTreeMap<String, String> {
    let token = Secret::new(app.stack.env("SettingsFunction", "LODGE_TELEGRAM_BOT_TOKEN").unwrap());
    let mut f: BTreeMap<String, String> = [
        ("id", ADA.to_string()),
        ("first_name", "Ada".into()),
        ("username", "ada_l".into()),
        ("auth_date", auth_date.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    f.insert("hash".into(), lodge::telegram::widget::sign(&f, &token));
    f.insert("state".into(), state.into());
    f
}

async fn widget(app: &TestApp, cookie: &str, fields: &BTreeMap<String, String>) -> reqwest::Response {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    app.as_member(cookie)
        .get(&format!("/auth/telegram?{q}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn telegram_login_widget_valid_forged_stale_and_cross_site() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in(&app.admin).await;
    let page = settings_page(&app, &cookie).await;
    assert!(
        page.contains("telegram-widget.js") && page.contains("data-telegram-login=\"lodge_local_bot\""),
        "{page}"
    );
    let at = page.find("state=").expect("the widget's auth URL carries a state") + "state=".len();
    let state: String = page[at..].chars().take_while(char::is_ascii_alphanumeric).collect();

    // Forged: a field changed after signing.
    let mut forged = signed(&app, now(&app), &state);
    forged.insert("id".into(), "999".into());
    assert_eq!(widget(&app, &cookie, &forged).await.status(), 403);
    // Stale: signed more than 24 hours ago.
    let r = widget(&app, &cookie, &signed(&app, now(&app) - 24 * 3600 - 1, &state)).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("too old"));
    // Valid data, but not started from this session's settings page.
    assert_eq!(
        widget(&app, &cookie, &signed(&app, now(&app), "not-the-state"))
            .await
            .status(),
        403
    );
    let store = app.store();
    assert!(
        store.telegram().marker(ADA).await.unwrap().is_none(),
        "nothing linked so far"
    );

    // Valid.
    let r = widget(&app, &cookie, &signed(&app, now(&app) - 60, &state)).await;
    assert_eq!(
        (r.status().as_u16(), r.headers()["location"].to_str().unwrap()),
        (303, "/settings?telegram=linked")
    );
    let admin = store
        .members()
        .by_email(&lodge::domain::Email::parse(&app.admin).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.telegram.unwrap().user_id, ADA);
    assert_eq!(store.telegram().marker(ADA).await.unwrap().unwrap().member_id, admin.id);
    // Signed out: to the login page, no linking.
    assert_eq!(app.get("/auth/telegram?id=1").send().await.unwrap().status(), 303);
}
