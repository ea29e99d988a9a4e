//! Webhook updates are claimed with a lease: an attempt that Lambda kills at
//! its timeout (after claiming, mid Bot API call) does not make Telegram's
//! redelivery a "duplicate".

use std::time::{Duration, Instant};

use lodge_local::functions::{self, Invoker};
use lodge_local::telegram::{FakeTelegram, Faults};
use lodge_tests::{repo_root, TestApp};
use serde_json::{json, Value};

use lodge_tests::telegram::{fresh, post_update, secret, ADA};

/// The webhook's payload-2.0 event for one update, as API Gateway sends it.
fn event(app: &TestApp, update: &Value) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "POST /telegram/webhook",
        "rawPath": "/telegram/webhook",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "x-telegram-bot-api-secret-token": secret(app), "host": "127.0.0.1"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "local",
            "http": {"method": "POST", "path": "/telegram/webhook", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": "killed", "routeKey": "POST /telegram/webhook", "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0
        },
        "body": update.to_string(),
        "isBase64Encoded": false,
    })
}

#[tokio::test]
async fn an_update_whose_attempt_was_killed_is_handled_when_redelivered() {
    // Every Bot API send hangs (unless scripted with `fail_next`).
    let fake = FakeTelegram::start_with(
        None,
        Faults {
            timeout: 1.0,
            hang: Duration::from_secs(60),
            ..Faults::default()
        },
    )
    .await;
    let app = TestApp::spawn_with(&[("TELEGRAM_API_BASE", &fake.url)]).await;
    let update = fresh("help");

    // Attempt 1: the webhook function as Lambda runs it, abandoned (dropped)
    // while its reply hangs — what a function timeout does.
    let env = lodge::Env::from_map(app.stack.envs["TelegramWebhookFunction"].clone().into_iter().collect());
    let Invoker::Http(handler) = functions::build("telegram-webhook", &env, &app.stack.aws, app.clock.clone()).unwrap()
    else {
        panic!("the webhook is an HTTP function");
    };
    let request = lambda_http::request::from_str(&event(&app, &update).to_string()).unwrap();
    let attempt = handler(request);
    let deadline = Instant::now() + Duration::from_secs(20);
    // The fake counts an injected hang when the call arrives (it records the
    // call only once it answers), so this is "the attempt is in its reply".
    let replying = async {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            lodge_tests::eventually(left, async || fake.faults_seen().2 > 0).await,
            "the first attempt never replied"
        );
    };
    tokio::select! {
        _ = attempt => panic!("the first attempt was meant to hang"),
        _ = replying => {}
    }

    // A redelivery while that attempt's lease is live: retryable, not dropped.
    let r = post_update(&app, &update).await;
    assert_eq!(r.status(), 503, "{}", r.text().await.unwrap());

    // Its lease (the function timeout) runs out; Telegram redelivers.
    let lease: i64 = env.function_timeout().unwrap().as_secs() as i64;
    app.clock.advance(lease);
    fake.fail_next(
        "sendMessage",
        200,
        json!({"ok": true, "result": {"message_id": 7, "date": 0, "chat": {"id": ADA, "type": "private"}}}),
    );
    let r = post_update(&app, &update).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "handled", "{body}");
    // The abandoned attempt's call was never answered, so the fake recorded
    // only the redelivery's reply.
    assert_eq!(fake.calls_of("sendMessage").len(), 1);

    // Handled now: a later redelivery is a duplicate.
    let body: Value = post_update(&app, &update).await.json().await.unwrap();
    assert_eq!(body["status"], "duplicate");
    assert_eq!(fake.calls_of("sendMessage").len(), 1);
}

/// Lambda does not tell a function its timeout: the template does, through
/// `LODGE_FUNCTION_TIMEOUT_SECS`, which must equal each function's `Timeout`.
#[test]
fn every_function_is_told_its_own_timeout() {
    let raw = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let t: serde_yaml::Value = serde_yaml::from_str(&raw).unwrap();
    let globals = &t["Globals"]["Function"];
    let var = "LODGE_FUNCTION_TIMEOUT_SECS";
    let scalar = |v: &serde_yaml::Value| match v {
        serde_yaml::Value::Number(n) => n.as_u64(),
        serde_yaml::Value::String(s) => s.parse().ok(),
        _ => None,
    };
    let mut checked = 0;
    for (id, res) in t["Resources"].as_mapping().unwrap() {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let p = &res["Properties"];
        let timeout = scalar(&p["Timeout"]).or_else(|| scalar(&globals["Timeout"])).unwrap();
        let told = scalar(&p["Environment"]["Variables"][var])
            .or_else(|| scalar(&globals["Environment"]["Variables"][var]))
            .unwrap_or_else(|| panic!("{id:?} has no {var}"));
        assert_eq!(told, timeout, "{id:?}: {var} must equal its Timeout");
        checked += 1;
    }
    assert!(checked >= 10, "{checked} functions");
}
