//! The helpdesk (issue 13, docs/helpdesk.md): `/ask` in the bot walks a
//! member through a question (Back, Cancel, confirm) that becomes a
//! `question` post, 2 per 24 hours; with a helpdesk channel configured the
//! question is posted there, replies to its copy in the discussion group
//! become comments, and the asker hears of every answer in Telegram.

use std::time::Duration;

use lodge::domain::{Member, MemberStatus, PostId, Role};
use lodge_tests::telegram::{exchange, fresh, link, new_member, post_update, rand_id, Call};
use lodge_tests::{eventually, unique, wait_for, TestApp};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(30);
const CHANNEL: i64 = -1001000000913;
const GROUP: i64 = -1001000000914;
/// Telegram's service account: it copies channel posts into the discussion group.
const TELEGRAM: i64 = 777000;

/// `text` from Telegram user `from` in their private chat with the bot.
fn says(from: i64, text: &str) -> Value {
    let mut u = fresh("help");
    u["message"]["text"] = json!(text);
    u["message"]["from"]["id"] = json!(from);
    u["message"]["chat"]["id"] = json!(from);
    u
}

/// A press of `data` on the bot's message `message_id` in `from`'s private chat.
fn press(from: i64, message_id: i64, data: &str) -> Value {
    let mut u = fresh("callback-moderation");
    u["callback_query"]["id"] = json!(unique("cb"));
    u["callback_query"]["from"]["id"] = json!(from);
    u["callback_query"]["message"]["chat"] = json!({"id": from, "type": "private"});
    u["callback_query"]["message"]["message_id"] = json!(message_id);
    u["callback_query"]["data"] = json!(data);
    u
}

/// The bot's message on screen, from a `sendMessage` or `editMessageText`.
#[derive(Debug)]
struct Screen {
    message_id: i64,
    text: String,
    buttons: Vec<(String, String)>,
}

impl Screen {
    fn of(call: &Call) -> Self {
        let message_id = call
            .params
            .get("message_id")
            .and_then(Value::as_i64)
            .or_else(|| call.result["message_id"].as_i64())
            .unwrap();
        let buttons = call.params["reply_markup"]["inline_keyboard"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .flat_map(|r| {
                        r.as_array().unwrap().iter().map(|b| {
                            (
                                b["text"].as_str().unwrap().to_string(),
                                b["callback_data"].as_str().unwrap().to_string(),
                            )
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            message_id,
            text: call.params["text"].as_str().unwrap().to_string(),
            buttons,
        }
    }

    fn data(&self, label: &str) -> &str {
        &self
            .buttons
            .iter()
            .find(|(t, _)| t.contains(label))
            .unwrap_or_else(|| panic!("no {label:?} in {self:?}"))
            .1
    }
}

/// Sends `text` as `from`; the bot's single reply, as a screen.
async fn type_in(app: &TestApp, from: i64, text: &str) -> Screen {
    let calls = exchange(app, &says(from, text)).await;
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(calls[0].method, "sendMessage", "{calls:#?}");
    Screen::of(&calls[0])
}

/// Presses `label` on `screen`: the callback answer and the edited screen, if any.
async fn tap(app: &TestApp, from: i64, screen: &Screen, label: &str) -> (Call, Option<Screen>) {
    answered(exchange(app, &press(from, screen.message_id, screen.data(label))).await)
}

fn answered(calls: Vec<Call>) -> (Call, Option<Screen>) {
    let answer = calls
        .iter()
        .find(|c| c.method == "answerCallbackQuery")
        .cloned()
        .unwrap_or_else(|| panic!("unanswered: {calls:#?}"));
    let edit = calls.iter().find(|c| c.method == "editMessageText").map(Screen::of);
    (answer, edit)
}

/// The post id in the bot's "is on Lodge: <url>" message.
fn posted_id(screen: &Screen) -> PostId {
    assert!(screen.text.contains("is on Lodge"), "{}", screen.text);
    let url = screen.text.split_whitespace().find(|w| w.contains("/posts/")).unwrap();
    PostId::parse(url.rsplit('/').next().unwrap()).unwrap()
}

/// `/ask`, a title and a question: the confirm screen.
async fn ask(app: &TestApp, tg: i64, title: &str, body: &str) -> Screen {
    let first = type_in(app, tg, "/ask").await;
    assert!(first.text.contains("step 1 of 2"), "{}", first.text);
    let second = type_in(app, tg, title).await;
    assert!(second.text.contains("step 2 of 2"), "{}", second.text);
    let confirm = type_in(app, tg, body).await;
    assert!(confirm.text.contains("Post this question"), "{}", confirm.text);
    confirm
}

struct Asker {
    member: Member,
    tg: i64,
    cookie: String,
}

async fn member(app: &TestApp, name: &str, telegram: bool) -> Asker {
    let member = new_member(app, name, Role::Member, MemberStatus::Approved).await;
    let tg = rand_id();
    if telegram {
        link(app, &member, tg, &name.to_lowercase()).await;
    }
    let cookie = app.sign_in(member.email.as_str()).await;
    Asker { member, tg, cookie }
}

async fn post_json(app: &TestApp, cookie: &str, id: &PostId) -> Value {
    let r = app
        .as_member(cookie)
        .get(&format!("/posts/{id}"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["post"].clone()
}

async fn comments(app: &TestApp, cookie: &str, id: &PostId) -> Vec<Value> {
    let r = app
        .as_member(cookie)
        .get(&format!("/posts/{id}/comments"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["comments"].as_array().unwrap().clone()
}

/// Posts `update`; the webhook's `status` (handled, ignored, duplicate).
async fn status(app: &TestApp, update: &Value) -> String {
    let r = post_update(app, update).await;
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["status"].as_str().unwrap().to_string()
}

/// Notification DMs to `chat` (they start with 🔔).
fn dms(app: &TestApp, chat: i64) -> Vec<String> {
    app.telegram()
        .deliveries_to(chat)
        .into_iter()
        .filter_map(|d| d.text.filter(|t| t.starts_with("🔔")))
        .collect()
}

#[tokio::test]
async fn an_ask_conversation_with_back_and_cancel_posts_one_question_and_the_third_waits_a_day() {
    let app = TestApp::spawn().await;
    let ada = member(&app, "Ada", true).await;

    // Title, then Back from the question step, a better title, a question, then Cancel.
    type_in(&app, ada.tg, "/ask").await;
    let step2 = type_in(&app, ada.tg, "Where is the key").await;
    let (_, back) = tap(&app, ada.tg, &step2, "Back").await;
    let back = back.expect("Back shows step 1 again");
    assert!(
        back.text.contains("step 1 of 2") && back.text.contains("Where is the key"),
        "{}",
        back.text
    );
    let refused = type_in(&app, ada.tg, &"x".repeat(129)).await;
    assert!(
        refused.text.contains("too long (129 characters, at most 128)"),
        "{}",
        refused.text
    );
    type_in(&app, ada.tg, "Where is the office key?").await;
    let confirm = type_in(&app, ada.tg, "I start on *Monday*.").await;
    assert!(
        confirm.text.contains("Where is the office key?") && confirm.text.contains("*Monday*"),
        "{}",
        confirm.text
    );
    let (answer, cancelled) = tap(&app, ada.tg, &confirm, "Cancel").await;
    assert_eq!(answer.params["text"], "Cancelled.");
    assert!(cancelled.unwrap().text.contains("not posted"));
    // The cancelled draft's buttons do nothing now.
    let (stale, edit) = tap(&app, ada.tg, &confirm, "Post it").await;
    assert!(
        stale.params["text"].as_str().unwrap().contains("does nothing"),
        "{stale:?}"
    );
    assert!(edit.is_none());

    // A full one, with /back as a command on the way; its confirm press delivered twice.
    type_in(&app, ada.tg, "/ask").await;
    type_in(&app, ada.tg, "How do I book the meeting room?").await;
    type_in(&app, ada.tg, "Too short").await;
    let again = type_in(&app, ada.tg, "/back").await;
    assert!(
        again.text.contains("step 2 of 2") && again.text.contains("Too short"),
        "{}",
        again.text
    );
    let confirm = type_in(&app, ada.tg, "For Thursday, **six** people.").await;
    let update = press(ada.tg, confirm.message_id, confirm.data("Post it"));
    let (answer, done) = answered(exchange(&app, &update).await);
    assert_eq!(answer.params["text"], "Posted.");
    let first = posted_id(&done.unwrap());
    let r = post_update(&app, &update).await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "duplicate");
    let post = post_json(&app, &ada.cookie, &first).await;
    assert_eq!(
        (&post["type"], &post["title"], &post["state"], &post["author"]["id"]),
        (
            &json!("question"),
            &json!("How do I book the meeting room?"),
            &json!("published"),
            &json!(ada.member.id)
        )
    );
    assert!(
        post["html"].as_str().unwrap().contains("<strong>six</strong>"),
        "{post}"
    );

    // The second is fine; the third in 24 hours is refused, with when it frees up.
    let confirm = ask(&app, ada.tg, "Second question", "Body two").await;
    let (_, done) = tap(&app, ada.tg, &confirm, "Post it").await;
    let second = posted_id(&done.unwrap());
    assert_ne!(first, second);
    let confirm = ask(&app, ada.tg, "Third question", "Body three").await;
    let (refusal, edit) = tap(&app, ada.tg, &confirm, "Post it").await;
    let why = refusal.params["text"].as_str().unwrap();
    let frees = lodge::clock::format_utc(app.clock.now_secs_plus(86_400));
    assert!(
        why.contains("2 questions per 24 hours") && why.contains(&frees),
        "{why} / {frees}"
    );
    assert_eq!(refusal.params["show_alert"], true);
    assert!(edit.is_none(), "the draft stays as it was");

    // A day later the same button posts it.
    app.clock.advance(86_400);
    let (_, done) = tap(&app, ada.tg, &confirm, "Post it").await;
    let third = posted_id(&done.unwrap());
    assert_eq!(post_json(&app, &ada.cookie, &third).await["title"], "Third question");
}

/// The test clock's time `secs` from now, as the bot formats it.
trait Later {
    fn now_secs_plus(&self, secs: i64) -> i64;
}
impl Later for std::sync::Arc<lodge::clock::ManualClock> {
    fn now_secs_plus(&self, secs: i64) -> i64 {
        lodge::Clock::now(self.as_ref()) + secs + 1
    }
}

#[tokio::test]
async fn only_linked_approved_members_ask() {
    let app = TestApp::spawn().await;
    let stranger = rand_id();
    let calls = exchange(&app, &says(stranger, "/ask")).await;
    assert!(
        calls[0].params["text"]
            .as_str()
            .unwrap()
            .contains("Only approved members"),
        "{calls:#?}"
    );
    let applicant = new_member(&app, "Newcomer", Role::Member, MemberStatus::OnReview).await;
    let tg = rand_id();
    link(&app, &applicant, tg, "newcomer").await;
    let calls = exchange(&app, &says(tg, "/ask")).await;
    assert!(calls[0].params["text"]
        .as_str()
        .unwrap()
        .contains("Only approved members"));
}

/// Telegram's copy of channel message `channel_message` in the discussion group, as message `id`.
fn automatic_forward(id: i64, channel_message: i64) -> Value {
    json!({"message_id": id, "date": 1_796_169_600,
        "chat": {"id": GROUP, "type": "supergroup", "title": "Helpdesk chat"},
        "from": {"id": TELEGRAM, "is_bot": false, "first_name": "Telegram"},
        "sender_chat": {"id": CHANNEL, "type": "channel", "title": "Helpdesk"},
        "is_automatic_forward": true,
        "forward_origin": {"type": "channel", "chat": {"id": CHANNEL, "type": "channel", "title": "Helpdesk"},
            "message_id": channel_message, "date": 1_796_169_600},
        "text": "❓ A question"})
}

fn in_group(message: Value) -> Value {
    json!({"update_id": rand_id(), "message": message})
}

/// `from`'s reply `text` (message `id`) to the copy `root` in the discussion group.
fn reply_in_group(from: i64, id: i64, text: &str, root: Value) -> Value {
    in_group(json!({"message_id": id, "date": 1_796_169_700,
        "chat": {"id": GROUP, "type": "supergroup", "title": "Helpdesk chat"},
        "from": {"id": from, "is_bot": false, "first_name": "Someone"},
        "message_thread_id": root["message_id"],
        "reply_to_message": root, "text": text}))
}

#[tokio::test]
async fn a_question_reaches_the_channel_and_answers_from_the_web_and_the_discussion_reach_the_asker() {
    let app = TestApp::spawn_with(&[("LODGE_TELEGRAM_HELPDESK_CHAT_ID", &CHANNEL.to_string())]).await;
    let ada = member(&app, "Ada", true).await;
    let bob = member(&app, "Bob", true).await;

    let confirm = ask(&app, ada.tg, "Who fixes the printer?", "It prints *blank* pages.").await;
    let (_, done) = tap(&app, ada.tg, &confirm, "Post it").await;
    let post = posted_id(&done.unwrap());

    // In the channel once, with a link to the post; the mapping is stored.
    let posted = app.telegram().deliveries_to(CHANNEL);
    assert_eq!(posted.len(), 1, "{posted:#?}");
    let sent: Vec<Value> = app
        .telegram()
        .calls_of("sendMessage")
        .into_iter()
        .filter(|p| p["chat_id"] == CHANNEL)
        .collect();
    let text = sent[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Who fixes the printer?") && text.contains(&format!("/posts/{post}\"")),
        "{text}"
    );
    let channel_message = posted[0].dest_ids[0];
    let known = app
        .store()
        .helpdesk_threads()
        .channel_post(CHANNEL, channel_message)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(known.post_id, Some(post.clone()));

    // An answer on the web reaches the asker as a DM.
    let r = app
        .as_member(&bob.cookie)
        .post_json(
            &format!("/posts/{post}/comments"),
            json!({"body": "Facilities do, call 123."}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let dm = wait_for(WAIT, "the asker's DM of the web answer", async || {
        dms(&app, ada.tg).into_iter().next()
    })
    .await;
    assert!(dm.contains("Who fixes the printer?"), "{dm}");

    // Telegram copies the channel post into the discussion group; Bob replies to the copy.
    // The copy of a channel post that is no question maps to nothing.
    let other = automatic_forward(4000, channel_message + 1000);
    assert_eq!(status(&app, &in_group(other.clone())).await, "ignored");
    assert_eq!(
        status(&app, &reply_in_group(bob.tg, 3999, "Hm", other)).await,
        "ignored"
    );
    let root = automatic_forward(4001, channel_message);
    assert_eq!(status(&app, &in_group(root.clone())).await, "handled");
    let answer = reply_in_group(bob.tg, 4002, "Or ask at the front desk.", root.clone());
    assert_eq!(status(&app, &answer).await, "handled");
    // Delivered again (same update), and the same message in another update: still one comment.
    assert_eq!(status(&app, &answer).await, "duplicate");
    let mut again = answer.clone();
    again["update_id"] = json!(rand_id());
    assert_eq!(status(&app, &again).await, "handled");
    // Someone who never linked Telegram, a member who did not: ignored, nothing written.
    let stranger = reply_in_group(rand_id(), 4003, "I know!", root.clone());
    assert_eq!(status(&app, &stranger).await, "ignored");
    let unlinked = member(&app, "Carol", false).await;
    assert_eq!(
        status(&app, &reply_in_group(unlinked.tg, 4004, "Me too", root)).await,
        "ignored"
    );

    let thread = comments(&app, &ada.cookie, &post).await;
    let bodies: Vec<(&str, &str)> = thread
        .iter()
        .map(|c| (c["author"]["id"].as_str().unwrap(), c["html"].as_str().unwrap()))
        .collect();
    assert_eq!(bodies.len(), 2, "{thread:#?}");
    assert!(
        bodies.iter().all(|(who, _)| *who == bob.member.id.as_str()),
        "{bodies:?}"
    );
    assert!(
        bodies
            .iter()
            .any(|(_, html)| html.contains("Or ask at the front desk.")),
        "{bodies:?}"
    );
    assert_eq!(post_json(&app, &ada.cookie, &post).await["comment_count"], 2);

    // The discussion answer reaches the asker too, once.
    assert!(
        eventually(WAIT, async || dms(&app, ada.tg).len() == 2).await,
        "{:?}",
        dms(&app, ada.tg)
    );
    assert!(
        dms(&app, ada.tg).iter().any(|d| d.contains("front desk")),
        "{:?}",
        dms(&app, ada.tg)
    );
}
