//! The local runner serves every HttpApi route and polls every queue that
//! template.yaml declares — read here independently of the runner's parser.

use lodge_tests::{repo_root, TestApp};
use serde_yaml::Value;

struct Declared {
    routes: Vec<(String, String, String)>, // function, method, path
    queues: Vec<(String, String)>,         // function, queue
    schedules: Vec<String>,
    /// SNS-triggered functions.
    topics: Vec<String>,
}

fn declared() -> Declared {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    let mut d = Declared {
        routes: vec![],
        queues: vec![],
        schedules: vec![],
        topics: vec![],
    };
    for (id, res) in doc["Resources"].as_mapping().unwrap() {
        let id = id.as_str().unwrap().to_string();
        let Some(events) = res
            .get("Properties")
            .and_then(|p| p.get("Events"))
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        for ev in events.values() {
            let props = &ev["Properties"];
            match ev["Type"].as_str().unwrap() {
                "HttpApi" => d.routes.push((
                    id.clone(),
                    props["Method"].as_str().unwrap().to_uppercase(),
                    props["Path"].as_str().unwrap().into(),
                )),
                "SQS" => {
                    let q = match &props["Queue"] {
                        Value::Tagged(t) => t.value.as_str().unwrap().split('.').next().unwrap().to_string(),
                        other => panic!("unexpected queue reference {other:?}"),
                    };
                    d.queues.push((id.clone(), q));
                }
                "Schedule" | "ScheduleV2" => d.schedules.push(id.clone()),
                "SNS" => d.topics.push(id.clone()),
                other => panic!("{id}: event type {other} is not covered by this test"),
            }
        }
    }
    d
}

#[tokio::test]
async fn every_declared_route_reaches_its_function() {
    let app = TestApp::spawn().await;
    let d = declared();
    assert!(d.routes.len() >= 10, "template declares {} routes", d.routes.len());
    for (function, method, path) in &d.routes {
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let concrete = if concrete.is_empty() { "/".to_string() } else { concrete };
        let r = app
            .http
            .request(method.parse().unwrap(), app.at(&concrete))
            .header("origin", &app.url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let key = format!("{method} {path}");
        assert_eq!(
            r.headers().get("x-lodge-route").and_then(|v| v.to_str().ok()),
            Some(key.as_str()),
            "{function}: {key}"
        );
        assert!(
            r.headers().contains_key("x-request-id"),
            "{key} was not answered by a Lodge handler"
        );
        assert!(r.status().as_u16() < 500, "{key} → {}", r.status());
    }
}

#[tokio::test]
async fn every_declared_queue_is_polled_and_every_schedule_runnable() {
    let app = TestApp::spawn().await;
    let d = declared();
    let index: serde_json::Value = app.get("/_local").send().await.unwrap().json().await.unwrap();
    let pollers = index["pollers"].as_array().unwrap();
    assert!(!d.queues.is_empty());
    for (function, queue) in &d.queues {
        assert!(
            pollers
                .iter()
                .any(|p| p["function"] == function.as_str() && p["queue"] == queue.as_str()),
            "{function} ← {queue} is not polled: {pollers:?}"
        );
    }
    let schedules = index["schedules"].as_array().unwrap();
    for function in &d.schedules {
        assert!(
            schedules.iter().any(|s| s["function"] == function.as_str()),
            "{function} schedule missing"
        );
        let r = app
            .http
            .post(app.at(&format!("/_local/schedule/{function}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "running {function}");
    }
    for function in &d.topics {
        let r = app
            .http
            .post(app.at(&format!("/_local/sns/{function}")))
            .body(r#"{"Records": []}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "delivering an SNS event to {function}");
    }
    let r = app
        .http
        .post(app.at("/_local/schedule/NoSuchFunction"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn functions_get_the_templates_environment_and_shell_overrides_win() {
    let app = TestApp::spawn_with(&[("LODGE_AUTH_IP_LIMIT", "7")]).await;
    let env = |k| app.stack.env("AuthEmailFunction", k).map(str::to_string);
    assert_eq!(env("LODGE_TABLE"), Some(app.table()));
    assert_eq!(env("LODGE_APP_URL"), Some(app.url.clone()));
    assert_eq!(env("LODGE_NOTIFY_QUEUE_URL"), Some(app.queue_url("NotifyQueue")));
    assert_eq!(env("LODGE_AUTH_IP_LIMIT").as_deref(), Some("7"));
    assert!(env("LODGE_SESSION_KEY").is_some_and(|k| k.len() >= 32));
    // Least privilege starts with least configuration: health gets no secrets.
    assert_eq!(app.stack.env("HealthFunction", "LODGE_SESSION_KEY"), None);
}

/// The stand-in's DynamoDB keeps transactions all-or-nothing (it restores
/// the items a cancelled transaction wrote, see infra/local/moto_server.py).
#[tokio::test]
async fn a_cancelled_transaction_leaves_every_item_as_it_was() {
    use lodge::store::{Key, StoreError};
    let app = TestApp::spawn().await;
    let store = app.store();
    let (a, b, c) = (Key::health(), Key::rule_draft(1), Key::rule_draft(2));
    store.put(&a, &serde_json::json!({"v": "old"})).await.unwrap();
    store.put(&c, &serde_json::json!({"v": "taken"})).await.unwrap();
    let err = store
        .transact(vec![
            store.tx_put(&a, &serde_json::json!({"v": "new"}), None, None).unwrap(),
            store.tx_put(&b, &serde_json::json!({"v": "new"}), None, None).unwrap(),
            store
                .tx_put(
                    &c,
                    &serde_json::json!({"v": "new"}),
                    Some("attribute_not_exists(pk)"),
                    None,
                )
                .unwrap(),
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Cancelled { .. }) && err.failed_at(2),
        "{err:?}"
    );
    assert_eq!(
        store.get::<serde_json::Value>(&a).await.unwrap().unwrap()["v"],
        "old",
        "an overwrite is undone"
    );
    assert!(
        store.get::<serde_json::Value>(&b).await.unwrap().is_none(),
        "a new item is removed"
    );
    assert_eq!(store.get::<serde_json::Value>(&c).await.unwrap().unwrap()["v"], "taken");
}
