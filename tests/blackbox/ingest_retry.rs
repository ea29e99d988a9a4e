//! A transient SQS failure while an album item is ingested: the webhook
//! answers 503, Telegram redelivers the update, and the album still goes out.

use aws_sdk_sqs::types::QueueAttributeName;
use lodge_local::telegram::FakeTelegram;
use lodge_tests::{advancing, TestApp};

use crate::forwarding::{admin_cookie, album_item, create_rule, rule, secret, DEST};

/// The read-only attributes SQS reports but refuses at `CreateQueue`.
const READ_ONLY: [QueueAttributeName; 6] = [
    QueueAttributeName::QueueArn,
    QueueAttributeName::ApproximateNumberOfMessages,
    QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    QueueAttributeName::CreatedTimestamp,
    QueueAttributeName::LastModifiedTimestamp,
];

#[tokio::test]
async fn an_album_survives_a_failed_enqueue_of_its_first_item() {
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_with(&[("TELEGRAM_API_BASE", &fake.url)]).await;
    let cookie = admin_cookie(&app).await;
    create_rule(&app, &cookie, rule("album-retry", "copy")).await;

    // The forward queue is briefly gone: SendMessageBatch fails.
    let url = app.queue_url("ForwardQueue");
    let sqs = &app.stack.sqs;
    let mut attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    attrs.retain(|k, _| !READ_ONLY.contains(k));
    sqs.delete_queue().queue_url(&url).send().await.unwrap();

    let update = album_item(10, Some("Summer party"));
    let send = |body: &serde_json::Value| {
        app.http
            .post(app.at("/telegram/webhook"))
            .header("x-telegram-bot-api-secret-token", secret(&app))
            .json(body)
            .send()
    };
    let r = send(&update).await.unwrap();
    assert_eq!(r.status(), 503, "{}", r.text().await.unwrap());

    // The queue is back (same name, same URL); Telegram redelivers the update.
    let name = url.rsplit('/').next().unwrap();
    let out = sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attrs))
        .send()
        .await
        .unwrap();
    assert_eq!(out.queue_url.as_deref(), Some(url.as_str()));
    let r = send(&update).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // A later item of the album arrives normally and joins it.
    let r = send(&album_item(11, None)).await.unwrap();
    assert_eq!(r.status(), 200);

    assert!(
        advancing(&app.clock, 20, async || !fake.deliveries_to(DEST).is_empty()).await,
        "the album was lost"
    );
    // Nothing more goes out while the clock moves past the album's flush.
    assert!(!advancing(&app.clock, 4, async || fake.deliveries_to(DEST).len() > 1).await);
    let d = fake.deliveries_to(DEST);
    assert_eq!(d.len(), 1, "one album, once: {d:?}");
    assert_eq!(d[0].source_ids, [10, 11]);
}
