//! The dialog tree: admin import/export, navigation in Telegram, the log as CSV.

use lodge::domain::{MemberStatus, Role};
use lodge::telegram::keyboards::{BACK, RESTART};
use lodge_tests::TestApp;
use serde_json::{json, Value};

use lodge_tests::telegram::{calls, exchange, fresh, link, new_member, Call, ADA};

const TREE: &str = "
commands: [menu]
root:
  text: Hello! What would you like to know?
  children:
    - label: What is Lodge?
      text: A private, invite-only community.
    - label: How do I join?
      id: join
      text: Ask a member for an invite.
      children:
        - label: I have an invite
          text: Open the link in it and write a short intro.
";

async fn put_tree(app: &TestApp, cookie: Option<&str>, body: &str) -> reqwest::Response {
    let mut r = app
        .http
        .put(app.at("/api/admin/dialog"))
        .header("origin", &app.url)
        .header("accept", "application/json")
        .header("content-type", "application/yaml")
        .body(body.to_string());
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.send().await.unwrap()
}

/// Sends `text` as Ada in private; returns the reply text and its keyboard's rows.
async fn say(app: &TestApp, text: &str) -> (String, Vec<Vec<String>>) {
    let mut u = fresh("dialog-text");
    u["message"]["text"] = json!(text);
    let got: Vec<Call> = exchange(app, &u).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(
        (got[0].method.as_str(), got[0].params["chat_id"].as_i64()),
        ("sendMessage", Some(ADA))
    );
    let rows = got[0].params["reply_markup"]["keyboard"]
        .as_array()
        .expect("a reply keyboard")
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|b| b["text"].as_str().unwrap().to_string())
                .collect()
        })
        .collect();
    (got[0].params["text"].as_str().unwrap().to_string(), rows)
}

fn nav() -> Vec<String> {
    vec![BACK.to_string(), RESTART.to_string()]
}

#[tokio::test]
async fn telegram_dialog_tree_import_navigation_and_csv_export() {
    let app = TestApp::spawn().await;
    let cookie = app.sign_in(&app.admin).await;
    // Only admins import.
    assert_eq!(put_tree(&app, None, TREE).await.status(), 401);
    let mod_member = new_member(&app, "Mo", Role::Moderator, MemberStatus::Approved).await;
    let mo_cookie = app.sign_in(mod_member.email.as_str()).await;
    assert_eq!(put_tree(&app, Some(&mo_cookie), TREE).await.status(), 403);
    // Invalid trees are refused with every problem named.
    let r = put_tree(
        &app,
        Some(&cookie),
        "root:\n  text: ''\n  children:\n    - text: no label\n",
    )
    .await;
    assert_eq!(r.status(), 422);
    let msg = r.json::<Value>().await.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("root: text is empty") && msg.contains("root/1: label is missing"),
        "{msg}"
    );

    let r = put_tree(&app, Some(&cookie), TREE).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "saved", "nodes": 4}));
    // Export as YAML and JSON; the JSON goes back in unchanged.
    let yaml = app
        .as_member(&cookie)
        .get("/api/admin/dialog?format=yaml")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        yaml.contains("label: How do I join?") && yaml.contains("id: join"),
        "{yaml}"
    );
    let tree: Value = app
        .as_member(&cookie)
        .get("/api/admin/dialog")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tree["root"]["children"][1]["children"][0]["id"], "join/1");
    let r = app
        .as_member(&cookie)
        .request(reqwest::Method::PUT, "/api/admin/dialog")
        .json(&tree)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // /start enters at the root.
    let (text, rows) = say(&app, "/start").await;
    assert_eq!(text, "Hello! What would you like to know?");
    assert_eq!(
        rows,
        vec![
            vec!["What is Lodge?".to_string()],
            vec!["How do I join?".to_string()],
            nav()
        ]
    );
    // Descend twice.
    let (text, rows) = say(&app, "How do I join?").await;
    assert_eq!(text, "Ask a member for an invite.");
    assert_eq!(rows, vec![vec!["I have an invite".to_string()], nav()]);
    let (text, rows) = say(&app, "I have an invite").await;
    assert_eq!(text, "Open the link in it and write a short intro.");
    assert_eq!(rows, vec![nav()]);
    // Back one level; the position persists between updates.
    let (text, _) = say(&app, BACK).await;
    assert_eq!(text, "Ask a member for an invite.");
    // Unknown text: a hint, and the same buttons.
    let (text, rows) = say(&app, "pizza?").await;
    assert_eq!(text, "Please choose one of the buttons below.");
    assert_eq!(rows, vec![vec!["I have an invite".to_string()], nav()]);
    // Restart.
    let (text, _) = say(&app, RESTART).await;
    assert_eq!(text, "Hello! What would you like to know?");
    // A configured command enters the tree too, for members as well.
    let ada = new_member(&app, "Ada", Role::Member, MemberStatus::Approved).await;
    link(&app, &ada, ADA, "ada_l").await;
    let (text, _) = say(&app, "/menu").await;
    assert_eq!(text, "Hello! What would you like to know?");

    // The log, as CSV in S3 behind a presigned link.
    assert_eq!(
        app.post_json("/api/admin/dialog/export", json!({}))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let r = app
        .as_member(&cookie)
        .post_json("/api/admin/dialog/export", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["rows"], 7);
    let url = body["url"].as_str().unwrap();
    assert!(
        url.contains("/exports/dialog-log-") && url.contains("X-Amz-Signature="),
        "{url}"
    );
    let csv = reqwest::get(url).await.unwrap().text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "at,user,node,step,input");
    assert_eq!(lines.len(), 8, "{csv}");
    let steps: Vec<&str> = lines[1..].iter().map(|l| l.split(',').nth(3).unwrap()).collect();
    assert_eq!(
        steps,
        [
            "\"enter\"",
            "\"descend\"",
            "\"descend\"",
            "\"back\"",
            "\"unknown\"",
            "\"restart\"",
            "\"enter\""
        ]
    );
    assert!(
        lines[2].contains("\"join\"") && lines[2].contains("\"How do I join?\""),
        "{csv}"
    );
    assert!(!csv.contains(&ADA.to_string()), "the Telegram id is pseudonymous");
    let user = lines[1].split(',').nth(1).unwrap();
    assert!(
        lines[1..].iter().all(|l| l.split(',').nth(1).unwrap() == user),
        "one stable pseudonym"
    );
    assert!(!calls(&app).await.is_empty());
}
