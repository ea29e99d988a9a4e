//! A Telegram update body, as the webhook reads it: the typed parse and the
//! route decision (`telegram_webhook::route`), and forwarding's reading of
//! the same body as raw JSON (`Post::from_message`, then a rule's filters).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lodge::forwarding::post::Post;
use lodge::forwarding::{ForwardRule, RuleId, Verdict};
use lodge::telegram::types::Update;
use serde_json::{json, Value};
use telegram_webhook::{parse_command, route, Button, Press, Route};

const BOT: &str = "lodge_bot";

/// Rules of both kinds: keyword and regex filters that change the text.
fn rules() -> &'static [ForwardRule] {
    static RULES: OnceLock<Vec<ForwardRule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let rule = |id: &str, filters: Value| {
            let body = json!({"source_chat_id": -1001, "destinations": [{"chat_id": -1002}], "mode": "copy",
                "filters": filters});
            ForwardRule::from_json(RuleId::parse(id).unwrap(), &body).expect("a valid rule")
        };
        vec![
            rule(
                "plain",
                json!({"include": ["news", "c++"], "exclude": ["spam"],
                "replace": [{"from": "a", "to": "$1"}], "header": "H", "footer": "F"}),
            ),
            rule(
                "regex",
                json!({"regex": true, "include": ["n.ws|^$"], "replace": [{"from": "(\\w+)", "to": "<$1>"}],
                "media": ["text", "photo"]}),
            ),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(update) = serde_json::from_slice::<Update>(data) {
        check_route(&update);
    }
    if let Ok(raw) = serde_json::from_slice::<Value>(data) {
        check_forwarding(&raw);
    }
});

fn check_route(update: &Update) {
    match route(update, Some(BOT)) {
        Route::Button(cb, pressed) => {
            assert_eq!(pressed.is_some(), cb.data.as_deref().and_then(Button::parse).is_some());
            if let Some(b) = pressed {
                // What we encode parses back to the same button, within Telegram's 64 bytes.
                let encoded = b.encode();
                assert!(encoded.len() <= 64, "{encoded}");
                assert_eq!(Button::parse(&encoded), Some(b));
            }
        }
        Route::NotifyButton(cb, press) => assert_eq!(cb.data.as_deref().and_then(Press::parse), Some(press)),
        Route::BotMembership(change) => assert!(!change.chat.is_private()),
        Route::Ignored => {}
        Route::Edited(msg, from) => {
            assert!(update.message.is_none() && update.callback_query.is_none());
            assert!(msg.chat.is_private() && msg.text.is_some() && !from.is_bot);
        }
        Route::Message(said) => {
            assert!(update.callback_query.is_none() && update.my_chat_member.is_none());
            assert!(!said.from.is_bot);
            assert_eq!(said.private, said.msg.chat.is_private());
            assert!(
                !said.forwarded || said.private,
                "a forward routed outside a private chat"
            );
            assert!(said.forwarded || said.msg.text.is_some());
            if !said.private {
                let cmd = said.command.as_ref().expect("group chatter reached the bot");
                assert!(!cmd.for_other_bot);
            }
            if let Some(cmd) = &said.command {
                assert!(!cmd.name.is_empty() && !cmd.name.contains(char::is_whitespace) && !cmd.name.contains('@'));
                assert_eq!(cmd.arg, cmd.arg.trim());
                // The command re-parses from its own text.
                let again = parse_command(&format!("/{} {}", cmd.name, cmd.arg), Some(BOT)).expect("re-parses");
                assert_eq!(
                    (again.name, again.arg.as_str()),
                    (cmd.name.to_lowercase(), cmd.arg.as_str())
                );
            }
        }
    }
}

fn check_forwarding(raw: &Value) {
    for key in ["channel_post", "message", "edited_channel_post", "edited_message"] {
        let Some(post) = raw.get(key).and_then(Post::from_message) else {
            continue;
        };
        let kinds = [post.kind];
        for rule in rules() {
            if let Verdict::Deliver { text: Some(t) } = rule.filters.apply(&kinds, post.text.as_deref()) {
                assert_ne!(
                    Some(t.as_str()),
                    post.text.as_deref(),
                    "an unchanged text reported as changed"
                );
            }
        }
        // A post is stored and read back (album items): serde must round-trip it.
        let stored = serde_json::to_value(&post).expect("posts serialise");
        let back: Post = serde_json::from_value(stored).expect("a stored post reads back");
        assert_eq!(back, post);
    }
}
