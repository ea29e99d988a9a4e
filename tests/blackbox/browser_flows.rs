//! Browser flows in headless Chromium, through the real pages.

use std::time::Duration;

use lodge_tests::{extract_code, unique, TestApp};

use crate::browser::{self, Browser};

const WAIT: Duration = Duration::from_secs(10);

pub(crate) async fn start() -> Option<Browser> {
    if !browser::available() {
        // `make test` installs Chromium; a bare `cargo test` may opt out explicitly.
        assert!(
            std::env::var_os("LODGE_SKIP_BROWSER").is_some(),
            "Chromium is missing: run `make test` (it installs it) or set LODGE_SKIP_BROWSER=1"
        );
        return None;
    }
    Some(Browser::start().await.expect("chromium starts"))
}

async fn shot(b: &Browser, name: &str) {
    // The workspace's target dir: tests run with tests/ as their working directory.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| lodge_tests::repo_root().join("target"));
    let dir = target.join("screenshots");
    let _ = std::fs::create_dir_all(&dir);
    let _ = b.screenshot(&dir.join(format!("{name}.png"))).await;
}

/// Signs in through /login with the code from the local outbox.
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
    // The sign-out button exists only on pages of a signed-in member.
    b.wait_for("header form button", WAIT).await.unwrap();
}

pub(crate) async fn sign_out(app: &TestApp, b: &Browser) {
    b.goto(&app.at("/me")).await.unwrap();
    b.click("header form button").await.unwrap();
    b.wait_for("input[name=email]", WAIT).await.unwrap();
}

#[tokio::test]
async fn a_member_signs_in_through_the_pages() {
    let Some(b) = start().await else { return };
    let app = TestApp::spawn().await;
    sign_in(&app, &b, &app.admin).await;
    b.wait_for("h1", WAIT).await.unwrap();
    assert_eq!(b.current_url().await.unwrap(), app.at("/"));
    assert!(b.text("h1").await.unwrap().starts_with("Welcome"));
    shot(&b, "signed-in-home").await;
    b.goto(&app.at("/me")).await.unwrap();
    assert!(b.source().await.unwrap().contains(&app.admin));
    sign_out(&app, &b).await;
    b.goto(&app.at("/me")).await.unwrap();
    assert!(b.current_url().await.unwrap().contains("/login"), "signed out");
    b.quit().await;
}

#[tokio::test]
async fn the_whole_journey_from_invite_to_members_home() {
    let Some(b) = start().await else { return };
    let app = TestApp::spawn().await;
    // The admin signs in and creates an invite.
    sign_in(&app, &b, &app.admin).await;
    b.wait_for("form[action='/invites'] button", WAIT).await.unwrap();
    b.click("form[action='/invites'] button").await.unwrap();
    b.wait_for("#invite-url", WAIT).await.unwrap();
    let invite_url = b.attribute("#invite-url", "value").await.unwrap().expect("invite url");
    shot(&b, "invite-created").await;
    sign_out(&app, &b).await;

    // The newcomer opens it, joins, signs in with the emailed code, writes an intro.
    let newcomer = format!("{}@example.org", unique("newcomer"));
    b.goto(&invite_url).await.unwrap();
    assert!(b.source().await.unwrap().contains("invites you to join"));
    b.fill("input[name=email]", &newcomer).await.unwrap();
    b.click("main button[type=submit]").await.unwrap();
    b.wait_for("input[name=code]", WAIT).await.unwrap();
    let mails = app.wait_for_mail(&newcomer, |m| !m.is_empty()).await;
    b.fill("input[name=code]", &extract_code(&mails[0].body).unwrap())
        .await
        .unwrap();
    b.click("main button[type=submit]").await.unwrap();
    b.wait_for("textarea[name=about]", WAIT).await.unwrap();
    assert_eq!(b.current_url().await.unwrap(), app.at("/intro"));
    b.fill("input[name=name]", "Katherine Johnson").await.unwrap();
    b.fill(
        "textarea[name=about]",
        "Class of 2010. I compute trajectories and would love to mentor.",
    )
    .await
    .unwrap();
    b.click("main button[type=submit]").await.unwrap();
    b.wait_for("#status", WAIT).await.unwrap();
    assert!(b.text("#status").await.unwrap().contains("with the moderators"));
    shot(&b, "intro-on-review").await;
    sign_out(&app, &b).await;

    // The admin approves.
    sign_in(&app, &b, &app.admin).await;
    b.wait_for("h1", WAIT).await.unwrap();
    b.goto(&app.at("/admin/moderation")).await.unwrap();
    assert!(b.source().await.unwrap().contains("Katherine Johnson"));
    shot(&b, "moderation-queue").await;
    b.click("button.approve").await.unwrap();
    b.wait_for("p.notice", WAIT).await.unwrap();
    assert!(b
        .text("p.notice")
        .await
        .unwrap()
        .contains("Katherine Johnson was approved"));
    sign_out(&app, &b).await;

    // The newcomer lands on the members' home.
    sign_in(&app, &b, &newcomer).await;
    b.wait_for("h1", WAIT).await.unwrap();
    assert_eq!(b.current_url().await.unwrap(), app.at("/"));
    assert_eq!(b.text("h1").await.unwrap(), "Welcome, Katherine Johnson");
    shot(&b, "members-home").await;
    b.quit().await;
}
