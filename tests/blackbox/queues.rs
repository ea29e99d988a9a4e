//! Queues through the runner's event source mapping: delivery, idempotency,
//! retries on the queue's own visibility timeout, the DLQ, and FIFO groups.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use lodge::forwarding::job::{ForwardJob, JobQueue, Work};
use lodge::forwarding::post::Post;
use lodge::forwarding::rule::{ForwardRule, RuleId};
use lodge_tests::{eventually, test_visibility_scale, unique, TestApp};
use serde_json::{json, Value};

async fn send(app: &TestApp, body: String) {
    app.stack
        .sqs
        .send_message()
        .queue_url(app.queue_url("NotifyQueue"))
        .message_body(body)
        .send()
        .await
        .unwrap();
}

fn email_message(id: &str, to: &str) -> String {
    json!({"v": 1, "kind": "email", "id": id, "to": to,
           "letter": {"subject": "Hello", "text": "plain", "html": "<p>Hello</p>"}})
    .to_string()
}

/// Messages in the queue, visible or in flight.
async fn messages_in(app: &TestApp, queue: &str) -> i64 {
    let out = app
        .stack
        .sqs
        .get_queue_attributes()
        .queue_url(app.queue_url(queue))
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes().unwrap();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|a| attrs[a].parse::<i64>().unwrap())
    .sum()
}

/// The queue's visibility timeout as provisioned for tests.
fn visibility(template_secs: u32) -> Duration {
    Duration::from_secs(lodge_local::provision::scaled_visibility(template_secs, test_visibility_scale()) as u64)
}

#[tokio::test]
async fn notify_messages_are_delivered_once_even_if_redelivered() {
    let app = TestApp::spawn().await;
    let to = format!("{}@example.org", unique("n"));
    let id = unique("msg");
    send(&app, email_message(&id, &to)).await;
    assert!(
        eventually(Duration::from_secs(10), async || app.mails_to(&to).await.len() == 1).await,
        "email not delivered"
    );
    // The same message again (as SQS may redeliver it): consumed, no second email.
    send(&app, email_message(&id, &to)).await;
    assert!(
        eventually(Duration::from_secs(10), async || messages_in(&app, "NotifyQueue").await
            == 0)
        .await,
        "the redelivered message was not consumed"
    );
    assert_eq!(app.mails_to(&to).await.len(), 1);
}

#[tokio::test]
async fn a_poison_message_returns_after_each_visibility_timeout_then_is_dead_lettered() {
    let app = TestApp::spawn().await;
    let sent = Instant::now();
    send(&app, "{\"v\":1,\"kind\":\"no-such-kind\"}".into()).await;
    let dlq = app.queue_url("NotifyDLQ");
    let sqs = app.stack.sqs.clone();
    let arrived = eventually(Duration::from_secs(60), async || {
        let out = sqs
            .receive_message()
            .queue_url(&dlq)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        match out.messages().first() {
            Some(m) => {
                assert!(m.body().unwrap().contains("no-such-kind"));
                true
            }
            None => false,
        }
    })
    .await;
    assert!(arrived, "the poison message never reached the DLQ");
    // maxReceiveCount 5: four waits of the queue's own visibility timeout
    // (60 s scaled), never a shorter retry chosen by the runner.
    let least = visibility(60) * 4;
    assert!(
        sent.elapsed() >= least,
        "dead-lettered after {:?}, before 4 visibility timeouts ({least:?})",
        sent.elapsed()
    );
}

/// A Bot API whose first `copyMessage` is refused with a 429; records the
/// source message ids it copied, in order.
struct Flood {
    url: String,
    copied: Arc<Mutex<Vec<i64>>>,
}

async fn flood(retry_after: u64) -> Flood {
    let copied = Arc::new(Mutex::new(Vec::new()));
    let calls = Arc::new(Mutex::new(0u32));
    let seen = copied.clone();
    let app = axum::Router::new().route(
        "/{bot}/{method}",
        axum::routing::post(
            move |axum::extract::Path((_, method)): axum::extract::Path<(String, String)>,
                  axum::Json(p): axum::Json<Value>| {
                let (seen, calls) = (seen.clone(), calls.clone());
                async move {
                    if method != "copyMessage" {
                        return axum::Json(json!({"ok": true, "result": true}));
                    }
                    let first = {
                        let mut n = calls.lock().unwrap();
                        *n += 1;
                        *n == 1
                    };
                    if first {
                        return axum::Json(json!({"ok": false, "error_code": 429,
                        "description": format!("Too Many Requests: retry after {retry_after}"),
                        "parameters": {"retry_after": retry_after}}));
                    }
                    let mut seen = seen.lock().unwrap();
                    seen.push(p["message_id"].as_i64().unwrap_or_default());
                    axum::Json(json!({"ok": true, "result": {"message_id": 1000 + seen.len()}}))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Flood { url, copied }
}

#[tokio::test]
async fn a_waiting_forward_job_does_not_stall_the_rest_of_its_group() {
    // Defect 2: the jobs behind a job waiting out a 429 were reported failed
    // and left in flight for the forward queue's whole visibility timeout.
    let bot = flood(1).await;
    let app = TestApp::spawn_with(&[("TELEGRAM_API_BASE", &bot.url)]).await;
    let rule = ForwardRule::from_json(
        RuleId::parse("stall").unwrap(),
        &json!({"source_chat_id": -1001, "destinations": [{"chat_id": -1002}], "mode": "copy"}),
    )
    .unwrap();
    let jobs: Vec<_> = (1..=3)
        .map(|id| {
            let post = Post::from_message(
                &json!({"message_id": id, "date": 1, "chat": {"id": -1001}, "text": format!("post {id}")}),
            )
            .unwrap();
            ForwardJob::new(&rule, rule.destinations[0], Work::Post { post, text: None }, 1)
        })
        .collect();
    JobQueue::new(app.stack.sqs.clone(), app.queue_url("ForwardQueue"))
        .send(&jobs)
        .await
        .unwrap();
    let stall = visibility(360);
    let start = Instant::now();
    // The forwarder's waits (retry_after, chat spacing) run on the stack's clock.
    let delivered = eventually(stall - Duration::from_secs(2), async || {
        app.clock.advance(1);
        bot.copied.lock().unwrap().len() == 3
    })
    .await;
    assert!(
        delivered,
        "after {:?} only {:?} delivered: the group stalled for the visibility timeout ({stall:?})",
        start.elapsed(),
        bot.copied.lock().unwrap()
    );
    assert_eq!(*bot.copied.lock().unwrap(), [1, 2, 3], "out of order");
}
