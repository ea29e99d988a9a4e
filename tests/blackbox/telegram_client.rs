//! The Bot API client against a scripted fake: typed errors, no token leaks.

use lodge::config::Secret;
use lodge::telegram::types::SendMessage;
use lodge::telegram::{BotApi, BotError};
use lodge_tests::FakeTelegram;
use serde_json::json;

const TOKEN: &str = "123456:TOPSECRET-token";

#[tokio::test]
async fn telegram_client_sends_typed_requests() {
    let fake = FakeTelegram::start().await;
    let api = BotApi::new(&fake.url, Secret::new(TOKEN));
    let m = api.send_message(&SendMessage::html(42, "hi &amp; bye")).await.unwrap();
    assert_eq!(m.chat.id, 42);
    let calls = fake.calls();
    assert_eq!(calls[0].bot, format!("bot{TOKEN}"));
    assert_eq!(calls[0].method, "sendMessage");
    assert_eq!(calls[0].params["parse_mode"], "HTML");
    assert!(calls[0].ok, "{:?}", calls[0].error);
}

#[tokio::test]
async fn telegram_client_maps_429_and_403_to_typed_errors_without_the_token() {
    let fake = FakeTelegram::start().await;
    let api = BotApi::new(&fake.url, Secret::new(TOKEN));
    fake.script("sendMessage", 429, json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 17", "parameters": {"retry_after": 17}}));
    let err = api.send_message(&SendMessage::html(1, "x")).await.unwrap_err();
    assert_eq!(err, BotError::RetryAfter { seconds: 17 });
    assert!(err.is_transient());

    fake.script(
        "sendMessage",
        403,
        json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
    );
    let err = api.send_message(&SendMessage::html(1, "x")).await.unwrap_err();
    assert!(
        matches!(&err, BotError::Forbidden { description } if description.contains("blocked")),
        "{err:?}"
    );
    assert!(!err.is_transient());

    fake.script("sendMessage", 502, json!("<html>bad gateway</html>"));
    let err = api.send_message(&SendMessage::html(1, "x")).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    // Unreachable host: the transport error must not carry the URL (it holds the token).
    let dead = BotApi::new("http://127.0.0.1:9", Secret::new(TOKEN));
    let err = dead.send_message(&SendMessage::html(1, "x")).await.unwrap_err();
    assert!(matches!(err, BotError::Transport(_)), "{err:?}");
    for shown in [err.to_string(), format!("{err:?}"), format!("{dead:?}")] {
        assert!(!shown.contains("TOPSECRET"), "{shown}");
    }
}
