//! The notification inbox in headless Chromium (issue 13): Ada comments twice
//! on Bob's post over HTTP; Bob's header bell shows 2, he opens
//! `/notifications`, clicks one entry and lands on that exact comment
//! (`/posts/{id}#c-<comment>`), the bell drops to 1, and "Mark all read"
//! clears it. Every wait is on a condition with a deadline.

use std::time::Duration;

use lodge::domain::{MemberStatus, Role};
use lodge_tests::telegram::new_member;
use lodge_tests::{eventually, extract_code, TestApp};
use serde_json::{json, Value};

use crate::browser::{self, Browser};

/// Page loads, and the fan-out and its queue between a comment and the inbox.
const WAIT: Duration = Duration::from_secs(20);

async fn sign_in(app: &TestApp, b: &Browser, email: &str) {
    b.goto(&app.at("/login")).await.unwrap();
    b.fill("input[name=email]", email).await.unwrap();
    let before = app.mails_to(email).await.len();
    b.click("main button[type=submit]").await.unwrap();
    b.wait_for("input[name=code]", WAIT).await.unwrap();
    let mails = app.wait_for_mail(email, |m| m.len() > before).await;
    let code = extract_code(&mails.last().unwrap().body).unwrap();
    b.fill("input[name=code]", &code).await.unwrap();
    b.click("main button[type=submit]").await.unwrap();
    b.wait_for("header form button", WAIT).await.unwrap();
}

/// Clicks a button that submits a form and returns once the next page has
/// loaded (a click returns before its navigation lands).
async fn submit(b: &Browser, button: &str) {
    b.execute("window.__lodge_before_submit = true; return true;", vec![])
        .await
        .unwrap();
    b.click(button).await.unwrap();
    let landed = eventually(WAIT, async || {
        b.execute(
            "return window.__lodge_before_submit === undefined && document.readyState === 'complete';",
            vec![],
        )
        .await
        .map(|v| v.as_bool() == Some(true))
        .unwrap_or(false)
    })
    .await;
    assert!(landed, "{button}: the form's next page never loaded");
}

/// The header bell's unread count as the page shows it (`None`: no count shown).
async fn bell(b: &Browser) -> Option<String> {
    let v = b
        .execute(
            "const bell = document.querySelector('header #bell'); \
             if (!bell) { return 'no bell'; } \
             const n = bell.querySelector('[data-unread]'); return n ? n.textContent : null;",
            vec![],
        )
        .await
        .unwrap();
    assert_ne!(v, json!("no bell"), "the header has no bell");
    v.as_str().map(str::to_string)
}

/// The inbox as JSON, fetched by the page itself (Bob's own session).
async fn inbox(b: &Browser) -> Value {
    b.execute(
        "return fetch('/notifications', {headers: {accept: 'application/json'}}).then(r => r.json());",
        vec![],
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_bell_counts_an_entry_opens_its_comment_and_mark_all_read_clears_it() {
    if !browser::available() {
        assert!(
            std::env::var_os("LODGE_SKIP_BROWSER").is_some(),
            "Chromium is missing: run `make test` (it installs it) or set LODGE_SKIP_BROWSER=1"
        );
        return;
    }
    let b = Browser::start().await.expect("chromium starts");
    let app = TestApp::spawn().await;
    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    let bob = new_member(&app, "Bob", Role::Member, MemberStatus::Approved).await;
    let a = app.sign_in(ada.email.as_str()).await;
    let bob_http = app.sign_in(bob.email.as_str()).await;

    // Bob's post, and Ada's two comments on it, through the real routes.
    let r = app
        .as_member(&bob_http)
        .post_json(
            "/posts",
            json!({"type": "post", "title": "Bob asks", "body": "Where shall we meet?"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let post = r.json::<Value>().await.unwrap()["post"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut comments = Vec::new();
    for body in ["The café by the river", "Or the library steps"] {
        let r = app
            .as_member(&a)
            .post_json(&format!("/posts/{post}/comments"), json!({ "body": body }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        comments.push(v["comment"]["id"].as_str().unwrap().to_string());
    }

    // Bob's header counts both once the fan-out has written them. (The
    // pages built with `Layout::for_member` show the count: the inbox and
    // the settings; the feed and the post page use `Layout::new`, no count.)
    sign_in(&app, &b, bob.email.as_str()).await;
    let counted = eventually(WAIT, async || {
        b.goto(&app.at("/settings/notifications")).await.unwrap();
        bell(&b).await.as_deref() == Some("2")
    })
    .await;
    assert!(counted, "the bell shows {:?}, not 2", bell(&b).await);

    // The bell opens the inbox: two unread entries, each linking to its comment.
    submit(&b, "header #bell").await;
    assert!(b.current_url().await.unwrap().ends_with("/notifications"));
    assert_eq!(bell(&b).await.as_deref(), Some("2"));
    assert_eq!(b.count("tr.unread[data-id]").await.unwrap(), 2);
    assert!(b.text("#unread").await.unwrap().contains("2 unread"));
    let first = &comments[0];
    let listed = inbox(&b).await;
    let entry = listed["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["url"] == format!("/posts/{post}#c-{first}"))
        .unwrap_or_else(|| panic!("no entry links to the first comment: {listed}"))
        .clone();
    let id = entry["id"].as_str().unwrap();

    // Opening it marks it read and lands on the comment itself.
    submit(&b, &format!("tr[data-id='{id}'] button")).await;
    let landed = app.at(&format!("/posts/{post}#c-{first}"));
    assert_eq!(b.current_url().await.unwrap(), landed);
    b.wait_for(&format!("article.comment#c-{first}"), WAIT).await.unwrap();
    assert!(b
        .text(&format!("#c-{first}"))
        .await
        .unwrap()
        .contains("The café by the river"));

    // Back in the inbox: the count dropped, that entry is read, the other still unread.
    b.goto(&app.at("/notifications")).await.unwrap();
    b.wait_for("#mark-all", WAIT).await.unwrap();
    assert_eq!(bell(&b).await.as_deref(), Some("1"));
    assert_eq!(b.count(&format!("tr.read[data-id='{id}']")).await.unwrap(), 1);
    assert_eq!(b.count("tr.unread[data-id]").await.unwrap(), 1);

    // Mark all read: no count in the header, none unread in the list.
    submit(&b, "#mark-all").await;
    assert!(b.current_url().await.unwrap().ends_with("/notifications"));
    assert_eq!(bell(&b).await, None);
    assert_eq!(b.count("tr.unread[data-id]").await.unwrap(), 0);
    assert_eq!(b.count("tr.read[data-id]").await.unwrap(), 2);
    assert_eq!(b.count("#mark-all").await.unwrap(), 0);
    let after = inbox(&b).await;
    assert_eq!(after["unread"], 0, "{after}");
    b.quit().await;
}
