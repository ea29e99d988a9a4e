//! IAM per function: every AWS call a function makes passes the runner's
//! check against that function's policy from `template.yaml`, resources
//! included, and a refusal reaches the SDK as AWS's own AccessDenied.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use lodge::clock::ManualClock;
use lodge_local::iam::proxy::Denial;
use lodge_local::Options;
use lodge_tests::{advancing, moto_url, repo_root, unique, TestApp};
use serde_json::{json, Value};

const SOURCE: i64 = -1001000000100;
const DEST: i64 = -1001000000200;

/// A stack started from `template` (a path), as `TestApp::spawn` does.
async fn spawn_from(template: std::path::PathBuf) -> TestApp {
    let clock = ManualClock::new();
    let mut opts = Options::new(template, &moto_url());
    opts.prefix = format!("{}-", unique("t"));
    opts.clock = clock.clone();
    opts.admin_email = format!("{}@lodge.test", unique("admin"));
    let (admin, prefix) = (opts.admin_email.clone(), opts.prefix.clone());
    let stack = lodge_local::start(opts).await.expect("local stack starts");
    TestApp {
        url: stack.url.clone(),
        stack,
        clock,
        admin,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        prefix,
        overrides: vec![],
    }
}

/// `template.yaml` with `action` taken out of `function`'s policy.
fn template_without(function: &str, action: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let (mut out, mut inside, mut removed) = (String::new(), false, false);
    for line in text.split_inclusive('\n') {
        // A resource starts at two spaces and a name.
        if line.starts_with("  ") && line[2..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            inside = line.trim_end() == format!("  {function}:");
        }
        if inside && !removed && line.trim() == format!("- {action}") {
            removed = true;
            continue;
        }
        out.push_str(line);
    }
    assert!(removed, "{function} does not grant {action}");
    let path = std::env::temp_dir().join(format!("{}.yaml", unique("template")));
    std::fs::write(&path, out).unwrap();
    path
}

async fn admin_api(app: &TestApp, cookie: &str, path: &str, body: Value) -> u16 {
    let r = app
        .http
        .post(app.at(path))
        .header("cookie", cookie)
        .header("accept", "application/json")
        .header("origin", &app.url)
        .json(&body)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

/// A copy rule from SOURCE to DEST, and one channel post through the webhook.
async fn forward_one_post(app: &TestApp) {
    let cookie = app.sign_in(&app.admin.clone()).await;
    let rule = json!({"id": "news", "source_chat_id": SOURCE,
        "destinations": [{"chat_id": DEST, "thread_id": null}], "mode": "copy"});
    assert_eq!(admin_api(app, &cookie, "/api/admin/forward-rules", rule).await, 201);
    let secret = app
        .stack
        .env("TelegramWebhookFunction", "LODGE_TELEGRAM_WEBHOOK_SECRET")
        .unwrap();
    let update = json!({"update_id": 7001, "channel_post": {"message_id": 42, "date": 1_795_255_200,
        "chat": {"id": SOURCE, "type": "channel", "title": "News"}, "text": "Club night on Friday"}});
    let r = app
        .http
        .post(app.at("/telegram/webhook"))
        .header("x-telegram-bot-api-secret-token", secret)
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn copied(app: &TestApp) -> bool {
    let calls: Vec<Value> = app.get("/_local/telegram").send().await.unwrap().json().await.unwrap();
    calls
        .iter()
        .any(|c| c["method"] == "copyMessage" && c["params"]["chat_id"] == DEST)
}

/// Messages in the forward queue, visible or in flight.
async fn forward_jobs(app: &TestApp) -> i64 {
    let out = app
        .stack
        .sqs
        .get_queue_attributes()
        .queue_url(app.queue_url("ForwardQueue"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = out.attributes.unwrap_or_default();
    let n = |k: aws_sdk_sqs::types::QueueAttributeName| attrs.get(&k).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    n(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        + n(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
}

#[tokio::test]
async fn iam_without_batch_write_item_the_forwarder_delivers_but_cannot_record_it() {
    let app = spawn_from(template_without("ForwarderFunction", "dynamodb:BatchWriteItem")).await;
    forward_one_post(&app).await;
    let refused = Denial {
        function: "ForwarderFunction".into(),
        operation: "BatchWriteItem".into(),
        action: "dynamodb:BatchWriteItem".into(),
        resource: format!("arn:aws:dynamodb:us-east-1:123456789012:table/{}", app.table()),
    };
    let denied = advancing(&app.clock, 75, async || app.stack.iam.denials().contains(&refused)).await;
    assert!(
        denied,
        "no AccessDenied for the done record: {:?}",
        app.stack.iam.denials()
    );
    // As on AWS: the post went out, but the job stays queued to go out again.
    assert!(copied(&app).await, "the post was not delivered");
    assert!(forward_jobs(&app).await > 0, "the job should not count as done");
    let listed: Vec<Denial> = app.get("/_local/iam").send().await.unwrap().json().await.unwrap();
    assert!(listed.contains(&refused), "{listed:?}");
}

/// A store error is not a job outcome, but it still sets the job's own
/// backoff: left to the forward queue's visibility timeout (360 s here, as on
/// AWS) it would hold the destination's whole FIFO group for six minutes.
#[tokio::test]
async fn iam_a_store_error_brings_the_job_back_after_its_own_backoff() {
    let app = spawn_from(template_without("ForwarderFunction", "dynamodb:BatchWriteItem")).await;
    forward_one_post(&app).await;
    // Every attempt delivers, then fails to record it: one refusal each.
    let refusals = || {
        app.stack
            .iam
            .denials()
            .iter()
            .filter(|d| d.function == "ForwarderFunction" && d.operation == "BatchWriteItem")
            .count()
    };
    assert!(
        advancing(&app.clock, 75, async || refusals() >= 1).await,
        "no first attempt"
    );
    // The backoff is LODGE_FORWARD_BACKOFF_SECS (2 s) after the first receive.
    assert!(
        advancing(&app.clock, 25, async || refusals() >= 2).await,
        "no second attempt within 10 s: the job waited for the queue's visibility timeout"
    );
}

#[tokio::test]
async fn iam_the_real_template_forwards_and_records_without_a_denial() {
    let app = TestApp::spawn().await;
    forward_one_post(&app).await;
    let done = advancing(&app.clock, 75, async || {
        copied(&app).await && forward_jobs(&app).await == 0
    })
    .await;
    assert!(done, "forward not finished; denials: {:?}", app.stack.iam.denials());
    assert_eq!(app.stack.iam.denials(), vec![]);
}

#[tokio::test]
async fn iam_calls_outside_a_functions_resources_are_refused_as_aws_refuses_them() {
    let app = TestApp::spawn().await;
    let forwarder = &app.stack.function_aws["ForwarderFunction"];
    let sqs = aws_sdk_sqs::Client::new(forwarder);
    // Its own dead-letter queue: allowed.
    sqs.send_message()
        .queue_url(app.queue_url("ForwardDLQ"))
        .message_body("{}")
        .message_group_id("g")
        .message_deduplication_id(unique("d"))
        .send()
        .await
        .expect("the forwarder may dead-letter");
    // Another queue: refused with SQS's AccessDenied, before the stand-in sees it.
    let err = sqs
        .send_message()
        .queue_url(app.queue_url("NotifyQueue"))
        .message_body("{}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"), "{err:?}");
    let message = err.message().unwrap_or_default();
    assert!(
        message.starts_with("User: arn:aws:sts::123456789012:assumed-role/")
            && message.contains(&format!(
                "is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:123456789012:{}NotifyQueue",
                app.prefix
            )),
        "{message}"
    );
    // Another table: refused (not ResourceNotFound: the check comes first).
    let dynamodb = aws_sdk_dynamodb::Client::new(forwarder);
    let err = dynamodb
        .get_item()
        .table_name(format!("{}Other", app.prefix))
        .key("pk", AttributeValue::S("x".into()))
        .key("sk", AttributeValue::S("x".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    // An action the policy lacks, on the function's own table.
    let health = aws_sdk_dynamodb::Client::new(&app.stack.function_aws["HealthFunction"]);
    let err = health
        .put_item()
        .table_name(app.table())
        .item("pk", AttributeValue::S(unique("x")))
        .item("sk", AttributeValue::S("x".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    assert!(
        err.message().unwrap_or_default().contains("dynamodb:PutItem"),
        "{err:?}"
    );
}

#[tokio::test]
async fn iam_s3_and_ses_refusals_come_in_their_own_formats() {
    let app = TestApp::spawn().await;
    let settings = lodge::aws::s3(&app.stack.function_aws["SettingsFunction"]);
    let bucket = app.stack.physical.refs["Bucket"].clone();
    settings
        .put_object()
        .bucket(&bucket)
        .key("exports/x.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .expect("exports/* is granted");
    let err = settings
        .put_object()
        .bucket(&bucket)
        .key("elsewhere/x.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"), "{err:?}");
    // SES: only the mail identity (the local MailFrom's domain).
    let invites = lodge::aws::sesv2(&app.stack.function_aws["InvitesFunction"]);
    let send = |from: &str| {
        invites
            .send_email()
            .from_email_address(from)
            .destination(
                aws_sdk_sesv2::types::Destination::builder()
                    .to_addresses("a@example.org")
                    .build(),
            )
            .content(
                aws_sdk_sesv2::types::EmailContent::builder()
                    .simple(
                        aws_sdk_sesv2::types::Message::builder()
                            .subject(aws_sdk_sesv2::types::Content::builder().data("s").build().unwrap())
                            .body(
                                aws_sdk_sesv2::types::Body::builder()
                                    .text(aws_sdk_sesv2::types::Content::builder().data("b").build().unwrap())
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
    };
    send("Lodge <no-reply@lodge.local>")
        .await
        .expect("the mail identity is granted");
    let err = send("someone@elsewhere.example").await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    assert!(
        err.message()
            .unwrap_or_default()
            .contains("ses:SendEmail on resource: arn:aws:ses:us-east-1:123456789012:identity/elsewhere.example"),
        "{err:?}"
    );
}

#[tokio::test]
async fn iam_an_index_grant_allows_queries_through_the_tables_indexes() {
    let app = TestApp::spawn().await;
    let members = aws_sdk_dynamodb::Client::new(&app.stack.function_aws["MembersFunction"]);
    members
        .query()
        .table_name(app.table())
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :p")
        .expression_attribute_values(":p", AttributeValue::S("nobody".into()))
        .send()
        .await
        .expect("table/<t>/index/* is granted");
    // The same index name on another table is outside the grant.
    let err = members
        .query()
        .table_name(format!("{}Other", app.prefix))
        .index_name("gsi1")
        .key_condition_expression("gsi1pk = :p")
        .expression_attribute_values(":p", AttributeValue::S("nobody".into()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");
    assert!(
        err.message().unwrap_or_default().contains("Other/index/gsi1"),
        "{err:?}"
    );
}
