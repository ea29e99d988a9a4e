//! The notify queue through the runner's poller: delivery, idempotency, DLQ.

use std::time::{Duration, Instant};

use lodge_tests::{unique, TestApp};
use serde_json::json;

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

async fn wait_for<F: AsyncFnMut() -> bool>(timeout: Duration, mut check: F) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn notify_messages_are_delivered_once_even_if_redelivered() {
    let app = TestApp::spawn().await;
    let to = format!("{}@example.org", unique("n"));
    let id = unique("msg");
    send(&app, email_message(&id, &to)).await;
    assert!(
        wait_for(Duration::from_secs(10), async || app.mails_to(&to).await.len() == 1).await,
        "email not delivered"
    );
    // The same message again (as SQS may redeliver it): no second email.
    send(&app, email_message(&id, &to)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(app.mails_to(&to).await.len(), 1);
    let queue = app.queue_url("NotifyQueue");
    let attrs = app
        .stack
        .sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages],
        "0"
    );
}

#[tokio::test]
async fn a_poison_message_is_retried_then_dead_lettered() {
    let app = TestApp::spawn().await;
    send(&app, "{\"v\":1,\"kind\":\"no-such-kind\"}".into()).await;
    let dlq = app.queue_url("NotifyDLQ");
    let sqs = app.stack.sqs.clone();
    let arrived = wait_for(Duration::from_secs(40), async || {
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
}
