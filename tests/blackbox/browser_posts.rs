//! Posts in headless Chromium, through the real pages: Markdown rendered as
//! written (a table, a link, an @mention), and an event with an RSVP that
//! `lodge.js` sends without a reload, and its .ics.

use std::time::Duration;

use lodge::domain::{MemberStatus, Role};
use lodge_tests::telegram::new_member;
use lodge_tests::{extract_code, TestApp};

use crate::browser::{self, Browser};

const WAIT: Duration = Duration::from_secs(10);

async fn start() -> Option<Browser> {
    if !browser::available() {
        assert!(
            std::env::var_os("LODGE_SKIP_BROWSER").is_some(),
            "Chromium is missing: run `make test` (it installs it) or set LODGE_SKIP_BROWSER=1"
        );
        return None;
    }
    Some(Browser::start().await.expect("chromium starts"))
}

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

/// Sets a form control by script (selects and date inputs are locale-bound for keys).
async fn set(b: &Browser, css: &str, value: &str) {
    b.execute(
        "document.querySelector(arguments[0]).value = arguments[1];",
        vec![css.into(), value.into()],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_post_with_a_table_a_link_and_a_mention_renders_and_an_event_takes_an_rsvp() {
    let Some(b) = start().await else { return };
    let app = TestApp::spawn().await;
    let bob = new_member(&app, "Bob", Role::Member, MemberStatus::Approved).await;
    app.store().handles().ensure(&bob).await.unwrap();
    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    sign_in(&app, &b, ada.email.as_str()).await;

    b.goto(&app.at("/posts/new")).await.unwrap();
    b.wait_for("form[action='/posts']", WAIT).await.unwrap();
    set(&b, "#type", "post").await;
    b.fill("#title", "Markdown works").await.unwrap();
    b.fill(
        "#body",
        "| city | year |\n|---|---|\n| Vienna | 2015 |\n\nSee [the site](https://example.org/page) and thanks @bob!",
    )
    .await
    .unwrap();
    b.click("form[action='/posts'] button[type=submit]").await.unwrap();
    b.wait_for("#body table", WAIT).await.unwrap();
    assert_eq!(b.text("#body table td").await.unwrap(), "Vienna");
    assert_eq!(
        b.attribute("#body a[href='https://example.org/page']", "href")
            .await
            .unwrap()
            .as_deref(),
        Some("https://example.org/page")
    );
    let mention = format!("#body a[href='/members/{}']", bob.id);
    assert_eq!(b.text(&mention).await.unwrap(), "@bob");

    // An event: RSVP through lodge.js (no reload), then its .ics.
    b.goto(&app.at("/posts/new")).await.unwrap();
    b.wait_for("form[action='/posts']", WAIT).await.unwrap();
    set(&b, "#type", "event").await;
    b.fill("#title", "Winter dinner").await.unwrap();
    set(&b, "#starts_at", "2026-12-20T19:00").await;
    b.fill("#place", "Café Central").await.unwrap();
    b.click("form[action='/posts'] button[type=submit]").await.unwrap();
    b.wait_for("#rsvp", WAIT).await.unwrap();
    let page = b.current_url().await.unwrap();
    // Marks the document: a reload would lose the mark.
    b.execute("window.__noReload = true;", vec![]).await.unwrap();
    b.click("#rsvp").await.unwrap();
    assert!(
        lodge_tests::eventually(WAIT, async || b.text("[data-going]").await.unwrap() == "1").await,
        "the going count did not update"
    );
    assert_eq!(
        b.execute("return window.__noReload === true;", vec![]).await.unwrap(),
        true
    );
    assert_eq!(b.current_url().await.unwrap(), page);
    let hidden = b
        .execute("return document.querySelector('#rsvp').closest('form').hidden;", vec![])
        .await
        .unwrap();
    assert_eq!(hidden, true, "the RSVP form gives way to 'not going'");
    let ics = b
        .execute(
            "return fetch(document.querySelector('#ics').href).then(r => r.text());",
            vec![],
        )
        .await
        .unwrap();
    let ics = ics.as_str().unwrap();
    assert!(
        ics.contains("BEGIN:VEVENT\r\n") && ics.contains("SUMMARY:Winter dinner\r\n"),
        "{ics}"
    );
    assert!(ics.contains("DTSTART:20261220T190000Z"), "{ics}");
    b.quit().await;
}
