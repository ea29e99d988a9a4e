//! `/rules` in the bot: an admin lists, creates (step by step, with the
//! checks of each step, Back and Cancel), switches and deletes forwarding
//! rules with inline keyboards; the rule then forwards posts.

use std::time::Duration;

use lodge::domain::{MemberStatus, Role};
use lodge_tests::{unique, TestApp};
use serde_json::{json, Value};

use lodge_tests::telegram::{exchange, fresh, link, new_member, only_message, Call, ADA, BOB};

const NEWS: i64 = -1001000000710;
const CLUB: i64 = -1001000000720;
const READ_ONLY: i64 = -1001000000730;
const TOPICS: i64 = -1001000000740;

/// The bot's membership in a chat changes (Telegram's `my_chat_member`).
fn membership(chat: i64, kind: &str, title: &str, status: &str, can_post: bool) -> Value {
    let mut u = fresh("my-chat-member-channel");
    u["my_chat_member"]["chat"] = json!({"id": chat, "type": kind, "title": title});
    u["my_chat_member"]["new_chat_member"]["status"] = json!(status);
    u["my_chat_member"]["new_chat_member"]["can_post_messages"] = json!(can_post);
    u
}

/// `text` from Telegram user `from` in their private chat with the bot.
fn says(from: i64, text: &str) -> Value {
    let mut u = fresh("help");
    u["message"]["text"] = json!(text);
    u["message"]["from"]["id"] = json!(from);
    u["message"]["chat"]["id"] = json!(from);
    u
}

/// A press of the button carrying `data` on the bot's message `message_id` in `from`'s private chat.
fn press(from: i64, message_id: i64, data: &str) -> Value {
    let mut u = fresh("callback-moderation");
    u["callback_query"]["id"] = json!(unique("cb"));
    u["callback_query"]["from"]["id"] = json!(from);
    u["callback_query"]["message"]["chat"] = json!({"id": from, "type": "private"});
    u["callback_query"]["message"]["message_id"] = json!(message_id);
    u["callback_query"]["data"] = json!(data);
    u
}

/// The bot's message on screen: what `/rules` shows and edits.
struct Screen {
    message_id: i64,
    text: String,
    buttons: Vec<(String, String)>,
}

impl Screen {
    /// From a `sendMessage` or `editMessageText` call.
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

    fn labels(&self) -> Vec<&str> {
        self.buttons.iter().map(|(t, _)| t.as_str()).collect()
    }

    /// The data of the button whose label contains `label`.
    fn data(&self, label: &str) -> &str {
        &self
            .buttons
            .iter()
            .find(|(t, _)| t.contains(label))
            .unwrap_or_else(|| panic!("no {label:?} in {:?}", self.labels()))
            .1
    }
}

/// Presses `label` on `screen` as `from`: the answer's toast and the edited screen.
async fn tap(app: &TestApp, from: i64, screen: &Screen, label: &str) -> (Call, Option<Screen>) {
    let calls = exchange(app, &press(from, screen.message_id, screen.data(label))).await;
    answered(calls)
}

/// Splits a press's calls into the callback answer and the edit, if any.
fn answered(calls: Vec<Call>) -> (Call, Option<Screen>) {
    let answer = calls
        .iter()
        .find(|c| c.method == "answerCallbackQuery")
        .cloned()
        .unwrap_or_else(|| panic!("unanswered: {calls:#?}"));
    let edit = calls.iter().find(|c| c.method == "editMessageText").map(Screen::of);
    assert!(calls.len() <= 2, "{calls:#?}");
    (answer, edit)
}

/// Sends `text` as `from`; the bot's single reply, as a screen.
async fn type_in(app: &TestApp, from: i64, text: &str) -> Screen {
    let calls = exchange(app, &says(from, text)).await;
    only_message(&calls, from);
    Screen::of(&calls[0])
}

fn now(app: &TestApp) -> i64 {
    lodge::clock::Clock::now(app.clock.as_ref())
}

async fn admin(app: &TestApp) {
    let ada = new_member(app, "Ada", Role::Admin, MemberStatus::Approved).await;
    link(app, &ada, ADA, "ada_l").await;
    for (chat, kind, title, can_post) in [
        (NEWS, "channel", "News", true),
        (CLUB, "supergroup", "Club", true),
        (READ_ONLY, "channel", "Read only", false),
        (TOPICS, "supergroup", "Gone", true),
    ] {
        let r = exchange(app, &membership(chat, kind, title, "administrator", can_post)).await;
        assert!(r.is_empty(), "joining a chat says nothing: {r:#?}");
    }
    // Removed again: no longer offered.
    exchange(app, &membership(TOPICS, "supergroup", "Gone", "left", false)).await;
}

#[tokio::test]
async fn telegram_rules_are_for_admins_only() {
    let app = TestApp::spawn().await;
    let bob = new_member(&app, "Bob", Role::Moderator, MemberStatus::Approved).await;
    link(&app, &bob, BOB, "bob_b").await;
    assert!(only_message(&exchange(&app, &says(BOB, "/rules")).await, BOB).contains("Only Lodge admins"));
    let (answer, edit) = answered(exchange(&app, &press(BOB, 5, "fr:new")).await);
    assert!(
        answer.params["text"].as_str().unwrap().contains("Only Lodge admins") && answer.params["show_alert"] == true
    );
    assert!(edit.is_none());
    assert!(app.store().rule_drafts().get(BOB, now(&app)).await.unwrap().is_none());
    // Unknown people are told the same.
    assert!(only_message(&exchange(&app, &says(999, "/rules")).await, 999).contains("Only Lodge admins"));
}

#[tokio::test]
async fn telegram_rules_an_admin_creates_a_rule_step_by_step_and_it_forwards() {
    let app = TestApp::spawn().await;
    admin(&app).await;
    let list = type_in(&app, ADA, "/rules").await;
    assert!(list.text.contains("none yet"), "{}", list.text);
    assert_eq!(list.labels(), ["➕ New rule"]);

    // Step 1: the chats the bot is in, by title.
    let (_, step1) = tap(&app, ADA, &list, "New rule").await;
    let step1 = step1.unwrap();
    assert!(
        step1.text.contains("step 1 of 4") && step1.text.contains("source"),
        "{}",
        step1.text
    );
    assert_eq!(step1.labels(), ["👥 Club", "📢 News", "📢 Read only", "✖ Cancel"]);
    let (_, step2) = tap(&app, ADA, &step1, "News").await;
    let step2 = step2.unwrap();
    // Step 2: the source and chats the bot cannot post to are not offered.
    assert!(
        step2.text.contains("<b>News</b> (<code>-1001000000710</code>)"),
        "{}",
        step2.text
    );
    assert_eq!(step2.labels(), ["▫️ 👥 Club", "Done (0) ➡️", "⬅️ Back", "✖ Cancel"]);
    let (answer, edit) = tap(&app, ADA, &step2, "Done").await;
    assert!(answer.params["text"].as_str().unwrap().contains("at least one") && answer.params["show_alert"] == true);
    assert!(edit.is_none(), "a refused step changes nothing");
    let (_, step2) = tap(&app, ADA, &step2, "Club").await;
    let step2 = step2.unwrap();
    assert_eq!(step2.labels()[0], "✅ 👥 Club");

    // Typed destinations: bad ones are refused with the reason, good ones join.
    let refused = type_in(&app, ADA, "the club").await;
    assert!(refused.text.contains("is not a chat id"), "{}", refused.text);
    let refused = type_in(&app, ADA, &NEWS.to_string()).await;
    assert!(refused.text.contains("source chat"), "{}", refused.text);
    let step2b = type_in(&app, ADA, "-1001000000999:5").await;
    assert!(
        step2b.text.contains("topic 5") && step2b.labels().contains(&"Done (2) ➡️"),
        "{} {:?}",
        step2b.text,
        step2b.labels()
    );
    // The earlier message's buttons no longer act.
    let (answer, edit) = tap(&app, ADA, &step2, "Done").await;
    assert!(answer.params["text"]
        .as_str()
        .unwrap()
        .contains("does nothing any more"));
    assert!(edit.is_none());

    // Step 3, Back and forth, step 4 with a bad then a good answer.
    let (_, step3) = tap(&app, ADA, &step2b, "Done").await;
    let step3 = step3.unwrap();
    assert!(step3.text.contains("step 3 of 4"));
    let (_, back) = tap(&app, ADA, &step3, "Back").await;
    let back = back.unwrap();
    assert!(back.labels().contains(&"Done (2) ➡️"), "Back keeps the answers");
    let (_, step3) = tap(&app, ADA, &back, "Done").await;
    let (_, step4) = tap(&app, ADA, &step3.unwrap(), "Copy").await;
    assert!(step4.unwrap().text.contains("keywords"));
    assert!(type_in(&app, ADA, "release, -").await.text.contains("lone"));
    let confirm = type_in(&app, ADA, "release, -draft").await;
    assert!(
        confirm.text.contains("<code>release</code>") && confirm.text.contains("never with <code>draft</code>"),
        "{}",
        confirm.text
    );
    assert!(type_in(&app, ADA, "more words").await.text.contains("use the buttons"));

    let (answer, done) = tap(&app, ADA, &confirm, "Create rule").await;
    assert_eq!(answer.params["text"], "Rule created.");
    assert!(done.unwrap().text.contains("Rule created"));
    let rules = app.store().forwarding().rules().await.unwrap();
    assert_eq!(rules.len(), 1);
    let rule = serde_json::to_value(&rules[0]).unwrap();
    assert_eq!(rule["source_chat_id"], NEWS);
    assert_eq!(
        rule["destinations"],
        json!([{"chat_id": CLUB, "thread_id": null}, {"chat_id": -1001000000999i64, "thread_id": 5}])
    );
    assert_eq!(
        (rule["mode"].as_str(), rule["fallback_to_copy"].as_bool()),
        (Some("copy"), Some(false))
    );
    assert_eq!(
        (rule["filters"]["include"].clone(), rule["filters"]["exclude"].clone()),
        (json!(["release"]), json!(["draft"]))
    );
    // A second tap on Create makes no twin.
    let (answer, _) = tap(&app, ADA, &confirm, "Create rule").await;
    assert!(answer.params["text"]
        .as_str()
        .unwrap()
        .contains("does nothing any more"));
    assert_eq!(app.store().forwarding().rules().await.unwrap().len(), 1);

    // The rule works: a matching post in News is copied to Club.
    let post = json!({"update_id": fresh("help")["update_id"], "channel_post": {"message_id": 7, "date": 1_795_255_200,
        "chat": {"id": NEWS, "type": "channel", "title": "News"}, "text": "The release is out"}});
    exchange(&app, &post).await;
    let mut copied = false;
    for _ in 0..40 {
        copied = lodge_tests::telegram::calls(&app)
            .await
            .iter()
            .any(|c| c.method == "copyMessage" && c.params["chat_id"] == CLUB && c.params["message_id"] == 7);
        if copied {
            break;
        }
        app.clock.advance(1);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(copied, "the bot-made rule forwards");
}

#[tokio::test]
async fn telegram_rules_an_admin_switches_and_deletes_a_rule_from_the_list() {
    let app = TestApp::spawn().await;
    admin(&app).await;
    let store = app.store();
    for i in 0..9 {
        let body = json!({"source_chat_id": NEWS, "destinations": [{"chat_id": CLUB}], "mode": "forward"});
        let rule = lodge::forwarding::ForwardRule::from_json(
            lodge::forwarding::RuleId::parse(&format!("rule-{i}")).unwrap(),
            &body,
        )
        .unwrap();
        store.forwarding().create_rule(&rule).await.unwrap();
    }
    let list = type_in(&app, ADA, "/rules").await;
    assert!(list.text.contains("(9)"));
    assert_eq!(
        list.labels().iter().filter(|l| l.starts_with("✅ News → Club")).count(),
        8
    );
    assert!(list.labels().contains(&"1/2") && list.labels().contains(&"▶️"));
    let (_, page2) = tap(&app, ADA, &list, "▶️").await;
    let page2 = page2.unwrap();
    assert_eq!(page2.labels(), ["✅ News → Club", "◀️", "2/2", "➕ New rule"]);

    let (_, shown) = tap(&app, ADA, &page2, "News → Club").await;
    let shown = shown.unwrap();
    assert!(
        shown.text.contains("<code>rule-8</code>")
            && shown.text.contains("✅ active")
            && shown.text.contains("forward (shows the source)"),
        "{}",
        shown.text
    );
    let (_, off) = tap(&app, ADA, &shown, "Disable").await;
    let off = off.unwrap();
    assert!(off.text.contains("⏸ disabled"));
    let id = lodge::forwarding::RuleId::parse("rule-8").unwrap();
    assert!(!store.forwarding().rule(&id).await.unwrap().unwrap().enabled);
    let (_, on) = tap(&app, ADA, &off, "Enable").await;
    assert!(store.forwarding().rule(&id).await.unwrap().unwrap().enabled);
    let (_, ask) = tap(&app, ADA, &on.unwrap(), "Delete").await;
    let ask = ask.unwrap();
    assert!(ask.text.contains("Delete rule <code>rule-8</code>?"));
    let (answer, list) = tap(&app, ADA, &ask, "Yes, delete").await;
    assert_eq!(answer.params["text"], "Deleted.");
    assert!(list.unwrap().text.contains("(8)"));
    assert!(store.forwarding().rule(&id).await.unwrap().is_none());
    // A button naming the deleted rule shows the list instead.
    let (answer, list) = tap(&app, ADA, &ask, "Yes, delete").await;
    assert_eq!(answer.params["text"], "That rule no longer exists.");
    assert!(list.unwrap().text.contains("(8)"));
}

#[tokio::test]
async fn telegram_rules_a_draft_is_cancelled_by_button_or_command() {
    let app = TestApp::spawn().await;
    admin(&app).await;
    let list = type_in(&app, ADA, "/rules").await;
    let (_, step1) = tap(&app, ADA, &list, "New rule").await;
    let (answer, gone) = tap(&app, ADA, &step1.unwrap(), "Cancel").await;
    assert_eq!(answer.params["text"], "Cancelled.");
    let gone = gone.unwrap();
    assert!(gone.text.contains("not saved") && gone.buttons.is_empty());
    assert!(app.store().rule_drafts().get(ADA, now(&app)).await.unwrap().is_none());

    // /cancel mid-way: the draft goes, its message loses its buttons.
    let (_, step1) = tap(&app, ADA, &list, "New rule").await;
    let (_, step2) = tap(&app, ADA, &step1.unwrap(), "News").await;
    let calls = exchange(&app, &says(ADA, "/cancel")).await;
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(
        (calls[0].method.as_str(), calls[0].params["message_id"].as_i64()),
        ("editMessageText", Some(step2.unwrap().message_id))
    );
    assert!(calls[1].params["text"].as_str().unwrap().contains("Cancelled"));
    assert!(only_message(&exchange(&app, &says(ADA, "/cancel")).await, ADA).contains("nothing to cancel"));
    // Without a draft, an admin's text goes to the rest of the bot again.
    assert!(!type_in(&app, ADA, "-1001000000710").await.text.contains("chat id"));
    assert!(app.store().forwarding().rules().await.unwrap().is_empty());
}
