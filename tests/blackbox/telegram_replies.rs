//! Answering notifications in Telegram (issue 13, "Replying in Telegram"):
//! a Reply to a notification DM becomes a comment under what it was about,
//! 👍 votes once, 🔕 unfollows, and whatever cannot be done is said and
//! writes nothing. Everything goes over HTTP as a browser and Telegram would:
//! posts and comments through their routes, updates to the webhook.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use lodge::domain::{Member, MemberStatus, PostId, Role};
use lodge_tests::telegram::{calls, link, new_member, post_update, rand_id, Now};
use lodge_tests::{eventually, wait_for, TestApp};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(20);

struct Someone {
    member: Member,
    cookie: String,
    tg: i64,
}

async fn someone(app: &TestApp, name: &str) -> Someone {
    let member = new_member(app, name, Role::Member, MemberStatus::Approved).await;
    let tg = rand_id();
    link(app, &member, tg, &name.to_lowercase()).await;
    let cookie = app.sign_in(member.email.as_str()).await;
    Someone { member, cookie, tg }
}

async fn post_by(app: &TestApp, who: &Someone, title: &str) -> PostId {
    let r = app
        .as_member(&who.cookie)
        .post_json(
            "/posts",
            json!({"type": "post", "title": title, "body": "Hello, everyone."}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    PostId::parse(v["post"]["id"].as_str().unwrap()).unwrap()
}

async fn comment_on(app: &TestApp, who: &Someone, post: &PostId, body: &str, parent: Option<&str>) -> String {
    let mut b = json!({ "body": body });
    if let Some(p) = parent {
        b["parent_id"] = json!(p);
    }
    let r = app
        .as_member(&who.cookie)
        .post_json(&format!("/posts/{post}/comments"), b)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    v["comment"]["id"].as_str().unwrap().to_string()
}

async fn thread(app: &TestApp, who: &Someone, post: &PostId) -> Vec<Value> {
    let r = app
        .as_member(&who.cookie)
        .get(&format!("/posts/{post}/comments"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["comments"].as_array().unwrap().clone()
}

async fn inbox_kinds(app: &TestApp, who: &Someone) -> Vec<String> {
    let r = app
        .as_member(&who.cookie)
        .get("/notifications")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

/// A notification DM the fake accepted: its message id and text.
struct Dm {
    message_id: i64,
    text: String,
    markup: Value,
}

/// The notification DMs the fake accepted for `chat`, oldest first.
async fn dms(app: &TestApp, chat: i64) -> Vec<Dm> {
    calls(app)
        .await
        .into_iter()
        .filter(|c| c.method == "sendMessage" && c.params["chat_id"] == chat && c.error.is_none())
        .filter(|c| c.params["text"].as_str().is_some_and(|t| t.starts_with("🔔")))
        .map(|c| Dm {
            message_id: c.result["message_id"].as_i64().unwrap(),
            text: c.params["text"].as_str().unwrap().to_string(),
            markup: c.params["reply_markup"].clone(),
        })
        .collect()
}

/// The `n`-th notification DM to `chat`, once the notifier has recorded
/// what it is about (just after sending it).
async fn nth_dm(app: &TestApp, chat: i64, n: usize) -> Dm {
    let dm = wait_for(WAIT, "a notification DM", async || {
        dms(app, chat).await.into_iter().nth(n)
    })
    .await;
    let notes = app.store();
    let recorded = eventually(WAIT, async || {
        notes
            .notifications()
            .sent(chat, dm.message_id, app.clock.now_secs())
            .await
            .unwrap()
            .is_some()
    })
    .await;
    assert!(recorded, "the DM's mapping was recorded");
    dm
}

/// What the bot said to `chat` after `before` calls (not notifications).
async fn said_to(app: &TestApp, chat: i64, before: usize) -> Vec<String> {
    calls(app)
        .await
        .split_off(before)
        .into_iter()
        .filter(|c| c.method == "sendMessage" && c.params["chat_id"] == chat)
        .map(|c| c.params["text"].as_str().unwrap_or_default().to_string())
        .filter(|t| !t.starts_with("🔔"))
        .collect()
}

/// A private message from Telegram user `from`, as Telegram sends it: with
/// `reply_to_message` when it answers message `to` of the bot's.
fn message(from: i64, text: &str, to: Option<(i64, &str)>) -> Value {
    let mut m = json!({
        "message_id": rand_id() % 1_000_000,
        "date": 1_795_255_200,
        "chat": {"id": from, "type": "private", "first_name": "Someone"},
        "from": {"id": from, "is_bot": false, "first_name": "Someone"},
        "text": text,
    });
    if let Some((id, their_text)) = to {
        m["reply_to_message"] = json!({
            "message_id": id,
            "date": 1_795_255_100,
            "chat": {"id": from, "type": "private", "first_name": "Someone"},
            "from": {"id": 5_000_000_001i64, "is_bot": true, "first_name": "Lodge", "username": "lodge_test_bot"},
            "text": their_text,
        });
    }
    json!({"update_id": rand_id(), "message": m})
}

/// A press of a button under message `on` in `from`'s chat.
fn press(from: i64, chat: i64, on: i64, data: &str) -> Value {
    json!({"update_id": rand_id(), "callback_query": {
        "id": format!("cb{}", rand_id()),
        "chat_instance": "42",
        "from": {"id": from, "is_bot": false, "first_name": "Someone"},
        "message": {"message_id": on, "date": 1_795_255_100, "chat": {"id": chat, "type": "private", "first_name": "Someone"}, "text": "🔔 …"},
        "data": data,
    }})
}

async fn deliver(app: &TestApp, update: &Value) -> Value {
    let r = post_update(app, update).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

/// The answers the fake took for callback queries, in order.
async fn callback_answers(app: &TestApp) -> Vec<String> {
    calls(app)
        .await
        .into_iter()
        .filter(|c| c.method == "answerCallbackQuery" && c.error.is_none())
        .map(|c| c.params["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn settle(app: &TestApp) {
    app.drained("ContentQueue").await;
    app.drained("NotifyQueue").await;
}

/// Issue 13's acceptance loop, end to end: A comments on B's post; B gets
/// the inbox entry and a DM with 👍 🔕; B replies in Telegram (the same
/// update twice); the reply is on the web under A's comment, once; A hears
/// of it in the inbox and Telegram; A's 👍 twice counts once; A blocks the
/// bot; A's next notification comes by email after the 15-minute window.
#[tokio::test]
async fn a_telegram_reply_becomes_a_comment_and_the_loop_closes_by_email() {
    let app = TestApp::spawn().await;
    let a = someone(&app, "Ada").await;
    let b = someone(&app, "Bob").await;
    // (1) A comments on B's post, over HTTP.
    let post = post_by(&app, &b, "Bob's garden").await;
    let a_comment = comment_on(&app, &a, &post, "Lovely roses.", None).await;

    // (2) B: the inbox entry and the DM with buttons.
    assert!(
        eventually(WAIT, async || inbox_kinds(&app, &b).await == ["comment_on_post"]).await,
        "{:?}",
        inbox_kinds(&app, &b).await
    );
    let dm = nth_dm(&app, b.tg, 0).await;
    assert!(dm.text.contains("Ada commented on your post"), "{}", dm.text);
    let buttons = &dm.markup["inline_keyboard"][0];
    assert_eq!(
        (
            buttons[0]["callback_data"].as_str(),
            buttons[1]["callback_data"].as_str()
        ),
        (Some("n:up"), Some("n:unfollow"))
    );

    // (3) B replies to the DM in Telegram; Telegram delivers the update twice.
    let before = calls(&app).await.len();
    let reply = message(b.tg, "Thank you, Ada!", Some((dm.message_id, &dm.text)));
    assert_eq!(deliver(&app, &reply).await["status"], "handled");
    assert_eq!(deliver(&app, &reply).await["status"], "duplicate");
    let told = said_to(&app, b.tg, before).await;
    assert_eq!(told.len(), 1, "one confirmation: {told:?}");
    assert!(
        told[0].contains("Posted on Lodge") && told[0].contains(&format!("/posts/{post}#c-")),
        "{}",
        told[0]
    );

    // (4) The reply is on the web, under A's comment, once.
    let shown = thread(&app, &a, &post).await;
    let replies: Vec<&Value> = shown.iter().filter(|c| c["parent_id"] == a_comment.as_str()).collect();
    assert_eq!(replies.len(), 1, "{shown:#?}");
    let b_reply = replies[0]["id"].as_str().unwrap().to_string();
    assert!(
        replies[0]["html"].as_str().unwrap().contains("Thank you, Ada!"),
        "{:#?}",
        replies[0]
    );
    assert!(
        told[0].contains(&b_reply),
        "the link names the new comment: {}",
        told[0]
    );

    // (5) A: the inbox entry and a DM about B's reply.
    assert!(
        eventually(WAIT, async || inbox_kinds(&app, &a).await == ["reply"]).await,
        "{:?}",
        inbox_kinds(&app, &a).await
    );
    let a_dm = nth_dm(&app, a.tg, 0).await;
    assert!(a_dm.text.contains("Bob replied to your comment"), "{}", a_dm.text);
    assert!(a_dm.text.contains(&b_reply), "{}", a_dm.text);

    // (6) A presses 👍 twice: one vote, and the second press says so.
    let answers = callback_answers(&app).await.len();
    deliver(&app, &press(a.tg, a.tg, a_dm.message_id, "n:up")).await;
    deliver(&app, &press(a.tg, a.tg, a_dm.message_id, "n:up")).await;
    let said = callback_answers(&app).await.split_off(answers);
    assert_eq!(said, ["👍 Upvoted.", "You already upvoted this."]);
    let shown = thread(&app, &a, &post).await;
    let voted = shown.iter().find(|c| c["id"] == b_reply.as_str()).unwrap();
    assert_eq!(voted["upvotes"], 1, "{voted:#?}");

    // (7) A blocks the bot; (8) A's next notification comes by email.
    app.telegram().block(a.tg);
    comment_on(&app, &b, &post, "And the tulips?", Some(&a_comment)).await;
    settle(&app).await;
    // The line waits in A's mailbox before the clock moves past its window.
    assert!(
        eventually(WAIT, async || !app
            .store()
            .notifications()
            .pending_before(&a.member.id, i64::MAX)
            .await
            .unwrap()
            .is_empty())
        .await
    );
    assert!(
        eventually(WAIT, async || app
            .store()
            .members()
            .get(&a.member.id)
            .await
            .unwrap()
            .unwrap()
            .telegram
            .is_some_and(|t| t.unreachable))
        .await,
        "the 403 marks Ada unreachable"
    );
    app.clock.advance(15 * 60);
    let r = app
        .http
        .post(app.at("/_local/schedule/notify-mail"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let mails = app
        .wait_for_mail(a.member.email.as_str(), |m| {
            m.iter().any(|m| m.body.contains("Bob replied to your comment"))
        })
        .await;
    let notes: Vec<_> = mails.iter().filter(|m| m.body.contains("Bob replied")).collect();
    assert_eq!(notes.len(), 1, "{mails:?}");
    assert!(notes[0].body.contains(&format!("/posts/{post}#c-")));
}

/// What cannot be done is said, and writes nothing: a reply from an unlinked
/// account, to a message that is no notification, on a closed post; a press
/// in someone else's chat; and 🔕 unfollows the post.
#[tokio::test]
async fn replies_that_cannot_be_posted_are_refused_and_unfollow_works() {
    let app = TestApp::spawn().await;
    let a = someone(&app, "Ada").await;
    let b = someone(&app, "Bob").await;
    let post = post_by(&app, &b, "Quiet thread").await;
    comment_on(&app, &a, &post, "First!", None).await;
    let dm = nth_dm(&app, b.tg, 0).await;
    let count = async || thread(&app, &a, &post).await.len();
    assert_eq!(count().await, 1);

    // An unlinked Telegram user, replying (in their chat) to the same message id.
    let stranger = rand_id();
    let before = calls(&app).await.len();
    deliver(&app, &message(stranger, "Let me in", Some((dm.message_id, &dm.text)))).await;
    let told = said_to(&app, stranger, before).await;
    assert!(told.len() == 1 && told[0].contains("not linked"), "{told:?}");

    // B replies to something that is not a notification (the link confirmation).
    let before = calls(&app).await.len();
    deliver(
        &app,
        &message(b.tg, "Hm?", Some((dm.message_id + 1000, "Done — linked"))),
    )
    .await;
    let told = said_to(&app, b.tg, before).await;
    assert!(
        told.len() == 1 && told[0].contains("only post replies to notifications"),
        "{told:?}"
    );

    // Text that replies to nothing gets the hint to use Reply.
    let before = calls(&app).await.len();
    deliver(&app, &message(b.tg, "Thanks Ada", None)).await;
    let told = said_to(&app, b.tg, before).await;
    assert!(told.len() == 1 && told[0].contains("reply to it"), "{told:?}");

    // Someone else pressing a button of B's DM (a forged chat) does nothing.
    let answers = callback_answers(&app).await.len();
    deliver(&app, &press(a.tg, b.tg, dm.message_id, "n:up")).await;
    let said = callback_answers(&app).await.split_off(answers);
    assert_eq!(said, ["These buttons work only in your own chat with the bot."]);

    // 🔕: B no longer follows his post.
    assert!(app.store().notifications().follows(&post, &b.member.id).await.unwrap());
    deliver(&app, &press(b.tg, b.tg, dm.message_id, "n:unfollow")).await;
    assert!(!app.store().notifications().follows(&post, &b.member.id).await.unwrap());
    assert!(callback_answers(&app)
        .await
        .last()
        .unwrap()
        .starts_with("🔕 Unfollowed"));

    // Comments closed: said, not posted.
    lodge::aws::dynamodb(&app.stack.aws)
        .update_item()
        .table_name(app.table())
        .key("pk", AttributeValue::S(format!("POST#{post}")))
        .key("sk", AttributeValue::S("POST".into()))
        .update_expression("SET closed = :t")
        .expression_attribute_values(":t", AttributeValue::Bool(true))
        .send()
        .await
        .unwrap();
    let before = calls(&app).await.len();
    deliver(&app, &message(b.tg, "Too late?", Some((dm.message_id, &dm.text)))).await;
    let told = said_to(&app, b.tg, before).await;
    assert!(
        told.len() == 1 && told[0].contains("comments on this post are closed"),
        "{told:?}"
    );
    settle(&app).await;
    assert_eq!(count().await, 1, "nothing was written");
}

/// B's replies to the first notification DM of A's comment: the post, A's
/// comment and the DM.
async fn replying_setup(app: &TestApp) -> (Someone, Someone, PostId, String, Dm) {
    let a = someone(app, "Ada").await;
    let b = someone(app, "Bob").await;
    let post = post_by(app, &b, "Bob's garden").await;
    let a_comment = comment_on(app, &a, &post, "Lovely roses.", None).await;
    let dm = nth_dm(app, b.tg, 0).await;
    (a, b, post, a_comment, dm)
}

/// The replies under `parent` as the web shows them.
async fn replies_to(app: &TestApp, who: &Someone, post: &PostId, parent: &str) -> Vec<Value> {
    thread(app, who, post)
        .await
        .into_iter()
        .filter(|c| c["parent_id"] == parent)
        .collect()
}

/// An invocation killed after the comment's transaction committed but before
/// the update was marked done leaves the update claimable again. Its
/// redelivery, and the same message under a new update id, are answered
/// "already posted" with the link to the one comment, and notify no one
/// twice: the comment's transaction recorded the message
/// (`TGREPLY#<chat>#<message>`).
#[tokio::test]
async fn a_reply_handled_again_after_a_cut_short_attempt_posts_one_comment() {
    let app = TestApp::spawn().await;
    let (a, b, post, a_comment, dm) = replying_setup(&app).await;
    let reply = message(b.tg, "Thank you, Ada!", Some((dm.message_id, &dm.text)));
    let before = calls(&app).await.len();
    assert_eq!(deliver(&app, &reply).await["status"], "handled");
    let told = said_to(&app, b.tg, before).await;
    assert!(told.len() == 1 && told[0].starts_with("✅ Posted on Lodge"), "{told:?}");
    let posted = replies_to(&app, &a, &post, &a_comment).await;
    assert_eq!(posted.len(), 1, "{posted:#?}");
    let comment = posted[0]["id"].as_str().unwrap().to_string();

    // What a killed attempt leaves once its lease is over: the update not
    // marked done. Released by hand, Telegram's redelivery is handled again.
    lodge::aws::dynamodb(&app.stack.aws)
        .delete_item()
        .table_name(app.table())
        .key("pk", AttributeValue::S(format!("DONE#tgupdate#{}", reply["update_id"])))
        .key("sk", AttributeValue::S("DONE".into()))
        .send()
        .await
        .unwrap();
    let mut again = reply.clone();
    let before = calls(&app).await.len();
    assert_eq!(deliver(&app, &again).await["status"], "handled");
    // And the same message under another update id.
    again["update_id"] = json!(rand_id());
    assert_eq!(deliver(&app, &again).await["status"], "handled");
    let told = said_to(&app, b.tg, before).await;
    assert_eq!(told.len(), 2, "{told:?}");
    for t in &told {
        assert!(
            t.starts_with("✅ Already posted on Lodge") && t.contains(&format!("/posts/{post}#c-{comment}")),
            "{t}"
        );
    }

    settle(&app).await;
    let posted = replies_to(&app, &a, &post, &a_comment).await;
    assert_eq!(posted.len(), 1, "exactly one comment: {posted:#?}");
    assert_eq!(posted[0]["id"], comment.as_str());
    // The repeated attempts notify nobody again: A hears of the reply once.
    assert!(
        eventually(WAIT, async || inbox_kinds(&app, &a).await == ["reply"]).await,
        "{:?}",
        inbox_kinds(&app, &a).await
    );
    nth_dm(&app, a.tg, 0).await;
    settle(&app).await;
    assert_eq!(dms(&app, a.tg).await.len(), 1, "one DM to Ada");
    assert_eq!(inbox_kinds(&app, &a).await, ["reply"]);
}

/// Editing the reply in Telegram edits its comment through the web's edit
/// path: within 48 hours the comment shows the new text and "edited"; after
/// them the edit is refused with the reason and the comment is unchanged.
/// An edit of a deleted comment's reply says so; an edit of a reply that
/// posted nothing says that; an edit of other chatter is ignored.
#[tokio::test]
async fn an_edited_reply_edits_its_comment_within_the_edit_window() {
    let app = TestApp::spawn().await;
    let (a, b, post, a_comment, dm) = replying_setup(&app).await;
    let reply = message(b.tg, "Thank you, Ada!", Some((dm.message_id, &dm.text)));
    assert_eq!(deliver(&app, &reply).await["status"], "handled");
    let comment = replies_to(&app, &a, &post, &a_comment).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let shown = async || {
        thread(&app, &a, &post)
            .await
            .into_iter()
            .find(|c| c["id"] == comment.as_str())
            .unwrap()
    };
    assert_eq!(shown().await["edited"], false);
    let fake = app.telegram();

    // (1) Within the window: updated, rendered and marked edited.
    let before = calls(&app).await.len();
    let edit = fake.edit_of(
        &reply,
        rand_id(),
        "Thank you, Ada! The **roses** are new.",
        1_795_255_300,
    );
    assert_eq!(deliver(&app, &edit).await["status"], "handled");
    let told = said_to(&app, b.tg, before).await;
    assert!(
        told.len() == 1
            && told[0].starts_with("✏️ Updated on Lodge")
            && told[0].contains(&format!("/posts/{post}#c-{comment}")),
        "{told:?}"
    );
    let c = shown().await;
    assert_eq!(c["edited"], true, "{c:#?}");
    assert!(c["html"].as_str().unwrap().contains("<strong>roses</strong>"), "{c:#?}");
    assert_eq!(
        replies_to(&app, &a, &post, &a_comment).await.len(),
        1,
        "edited, not added"
    );

    // (2) After the 48 hours: refused with the reason, the comment unchanged.
    app.clock.advance(48 * 3600);
    let before = calls(&app).await.len();
    let late = fake.edit_of(&reply, rand_id(), "Too late to change this.", 1_795_428_200);
    assert_eq!(deliver(&app, &late).await["status"], "handled");
    let told = said_to(&app, b.tg, before).await;
    assert!(
        told.len() == 1
            && told[0].starts_with("Not updated: a comment can be edited for 48 hours")
            && told[0].contains("window closed at"),
        "{told:?}"
    );
    let unchanged = shown().await;
    assert!(
        unchanged["html"].as_str().unwrap().contains("<strong>roses</strong>")
            && !unchanged["html"].as_str().unwrap().contains("Too late"),
        "{unchanged:#?}"
    );

    // (3) A reply whose comment B deleted on the web: said, nothing changes.
    let second = message(b.tg, "One more thing.", Some((dm.message_id, &dm.text)));
    assert_eq!(deliver(&app, &second).await["status"], "handled");
    let seconds: Vec<Value> = replies_to(&app, &a, &post, &a_comment)
        .await
        .into_iter()
        .filter(|c| c["id"] != comment.as_str())
        .collect();
    assert_eq!(seconds.len(), 1, "{seconds:#?}");
    let r = app
        .as_member(&b.cookie)
        .post_json(
            &format!("/comments/{}/delete", seconds[0]["id"].as_str().unwrap()),
            json!({}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let before = calls(&app).await.len();
    deliver(
        &app,
        &fake.edit_of(&second, rand_id(), "Changed my mind.", 1_795_428_300),
    )
    .await;
    let told = said_to(&app, b.tg, before).await;
    assert!(
        told.len() == 1 && told[0].starts_with("Not updated: that comment was deleted"),
        "{told:?}"
    );

    // (4) A reply that posted nothing (to no notification): editing it posts nothing either, and says so.
    let stray = message(b.tg, "Hm?", Some((dm.message_id + 1000, "Done — linked")));
    deliver(&app, &stray).await;
    let before = calls(&app).await.len();
    deliver(&app, &fake.edit_of(&stray, rand_id(), "Hm, what?", 1_795_428_400)).await;
    let told = said_to(&app, b.tg, before).await;
    assert!(told.len() == 1 && told[0].contains("was not posted"), "{told:?}");

    // (5) An edit of other chatter: ignored, nothing said.
    let chatter = message(b.tg, "Thanks Ada", None);
    deliver(&app, &chatter).await;
    let before = calls(&app).await.len();
    let body = deliver(&app, &fake.edit_of(&chatter, rand_id(), "Thanks, Ada", 1_795_428_500)).await;
    assert_eq!(body["status"], "ignored");
    assert!(said_to(&app, b.tg, before).await.is_empty());
    settle(&app).await;
    assert_eq!(
        replies_to(&app, &a, &post, &a_comment).await.len(),
        2,
        "no edit wrote a comment"
    );
}
