//! Posts in headless Chromium, through the real pages: Markdown rendered as
//! written (a table, a link, an @mention), an event with an RSVP that
//! `lodge.js` sends without a reload, and its .ics; and the XSS corpus as
//! post bodies and comments, with no script running.

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

/// Runs before each document's own scripts: a dialog a payload opens is
/// recorded instead of shown, and so is any script Chromium's CSP blocked,
/// so a payload the sanitiser let through fails the test even though the
/// CSP (`script-src 'self'`) stopped it.
const TRAP: &str = r#"
window.__xss = [];
for (const f of ['alert', 'confirm', 'prompt', 'print']) {
  window[f] = function () { window.__xss.push(f + '(' + Array.from(arguments).join(',') + ')'); };
}
document.addEventListener('securitypolicyviolation', (e) => {
  if (String(e.effectiveDirective).startsWith('script-src')) {
    window.__xss.push('blocked ' + e.effectiveDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
  }
}, true);
"#;

/// The rendered post body and comment bodies as Chromium parsed them: any
/// element or attribute that can run script or load active content.
const ACTIVE: &str = r#"
const bad = [];
const roots = Array.from(document.querySelectorAll('#body, #comments .comment .body'));
const tags = ['script', 'iframe', 'frame', 'object', 'embed', 'svg', 'math', 'form', 'input', 'button',
  'textarea', 'select', 'base', 'meta', 'link', 'style', 'template', 'noscript', 'video', 'audio', 'source'];
for (const root of roots) {
  for (const el of root.querySelectorAll('*')) {
    const tag = el.tagName.toLowerCase();
    if (tags.includes(tag)) bad.push('<' + tag + '>');
    for (const a of el.attributes) {
      const name = a.name.toLowerCase();
      const value = a.value.replace(/[\u0000-\u0020]/g, '').toLowerCase();
      if (name.startsWith('on') || name === 'srcdoc' || name === 'formaction') bad.push(tag + '[' + name + ']');
      if (name === 'style' && !/^text-align:(left|right|center);?$/.test(value)) bad.push(tag + '[style=' + a.value + ']');
      if (/^(javascript|vbscript|data|blob):/.test(value)) bad.push(tag + '[' + name + '=' + a.value + ']');
    }
  }
}
return {bad: bad, trapped: window.__xss || null, title: document.title, roots: roots.length};
"#;

#[tokio::test]
async fn no_payload_of_the_xss_corpus_runs_script_in_chromium_as_a_post_or_a_comment() {
    use lodge::markdown::xss_corpus::PAYLOADS;
    use serde_json::{json, Value};

    let Some(b) = start().await else { return };
    let app = TestApp::spawn().await;
    // A moderator writes them all: moderators are exempt from the post and comment limits.
    let mo = new_member(&app, "Mo", Role::Moderator, MemberStatus::Approved).await;
    let mo = app.sign_in(mo.email.as_str()).await;
    let mut pages = Vec::new();
    for (i, payload) in PAYLOADS.iter().enumerate() {
        let title = format!("Payload {i}");
        let r = app
            .as_member(&mo)
            .post_json("/posts", json!({"type": "post", "title": title, "body": payload}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "post {i} {payload:?}: {:?}", r.text().await);
        let post = r.json::<Value>().await.unwrap()["post"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = app
            .as_member(&mo)
            .post_json(&format!("/posts/{post}/comments"), json!({"body": payload}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "comment {i} {payload:?}: {:?}", r.text().await);
        let comment = r.json::<Value>().await.unwrap()["comment"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        pages.push((i, title, post, comment));
    }

    let reader = new_member(&app, "Reader", Role::Member, MemberStatus::Approved).await;
    sign_in(&app, &b, reader.email.as_str()).await;
    b.on_new_document(TRAP).await.unwrap();
    let mut failures = Vec::new();
    for (i, title, post, comment) in &pages {
        let payload = PAYLOADS[*i];
        b.goto(&app.at(&format!("/posts/{post}"))).await.unwrap();
        b.wait_for(&format!("#c-{comment}"), WAIT).await.unwrap();
        if let Some(text) = b.alert_text().await.unwrap() {
            failures.push(format!("{i} {payload:?}: a dialog is open ({text})"));
            break;
        }
        let seen = b.execute(ACTIVE, vec![]).await.unwrap();
        if seen["trapped"].is_null() {
            failures.push(format!("{i}: the trap was not installed"));
        }
        let trapped = seen["trapped"].as_array().cloned().unwrap_or_default();
        let bad = seen["bad"].as_array().cloned().unwrap_or_default();
        if !trapped.is_empty() || !bad.is_empty() {
            failures.push(format!("{i} {payload:?}: ran {trapped:?}, active {bad:?}"));
        }
        if seen["roots"].as_u64() != Some(2) {
            failures.push(format!("{i} {payload:?}: {} bodies shown, not 2", seen["roots"]));
        }
        if !seen["title"].as_str().is_some_and(|t| t.contains(title.as_str())) {
            failures.push(format!("{i} {payload:?}: the title became {}", seen["title"]));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} payloads:\n{}",
        failures.len(),
        pages.len(),
        failures.join("\n")
    );
    // The checks can fail: a dialog, an inline script the CSP blocks and an
    // event handler in the body are each caught on this very page.
    let probe = b.execute("alert('probe'); return window.__xss;", vec![]).await.unwrap();
    assert_eq!(probe, json!(["alert(probe)"]));
    b.execute(
        "const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.body.append(s);
         document.querySelector('#body').insertAdjacentHTML('beforeend', '<img src=\"x\" onerror=\"1\">');",
        vec![],
    )
    .await
    .unwrap();
    let caught = lodge_tests::eventually(WAIT, async || {
        let seen = b.execute(ACTIVE, vec![]).await.unwrap();
        let trapped = seen["trapped"].as_array().cloned().unwrap_or_default();
        trapped
            .iter()
            .any(|t| t.as_str().is_some_and(|t| t.starts_with("blocked script-src")))
            && seen["bad"] == json!(["img[onerror]"])
    })
    .await;
    assert!(caught, "the trap or the DOM check missed the probe");
    b.quit().await;
}
