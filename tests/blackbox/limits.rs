//! Where the local stack fails as AWS would: function timeouts (HTTP and
//! SQS) and payload limits (API Gateway, SQS, DynamoDB), each at its edge.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use lodge_local::{Options, Stack};
use lodge_tests::{eventually, moto_url, repo_root, unique};
use serde_json::{json, Value};

/// A Bot API that accepts connections and never answers: whatever calls it
/// runs until its own timeout. Records when each connection came.
struct Silent {
    url: String,
    accepted: Arc<Mutex<Vec<Instant>>>,
}

impl Silent {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let seen = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                seen.lock().unwrap().push(Instant::now());
                held.push(socket);
            }
        });
        Self { url, accepted }
    }

    fn calls(&self) -> Vec<Instant> {
        self.accepted.lock().unwrap().clone()
    }
}

/// The repository's template with `Timeout` lines replaced (`from` → `to`).
fn template_with(replacements: &[(&str, &str)]) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "template.yaml has no {from:?}");
        text = text.replace(from, to);
    }
    let path = std::env::temp_dir().join(format!("{}.yaml", unique("template")));
    std::fs::write(&path, text).unwrap();
    path
}

async fn stack(template: std::path::PathBuf, scale: f64, overrides: &[(&str, &str)]) -> Stack {
    let mut opts = Options::new(template, &moto_url());
    opts.prefix = format!("{}-", unique("lim"));
    opts.admin_email = format!("{}@lodge.test", unique("admin"));
    opts.visibility_scale = scale;
    opts.overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    lodge_local::start(opts).await.expect("local stack starts")
}

#[tokio::test]
async fn an_http_function_past_its_timeout_is_answered_503() {
    let bot = Silent::start().await;
    // Globals' 10 s becomes 1 s; the Bot API client would wait 5 s.
    let template = template_with(&[("    Timeout: 10\n", "    Timeout: 1\n")]);
    let stack = stack(template, 1.0, &[("TELEGRAM_API_BASE", &bot.url)]).await;
    let secret = stack
        .env("TelegramWebhookFunction", "LODGE_TELEGRAM_WEBHOOK_SECRET")
        .unwrap()
        .to_string();
    let started = Instant::now();
    let r = reqwest::Client::new()
        .post(format!("{}/telegram/webhook", stack.url))
        .header("x-telegram-bot-api-secret-token", secret)
        .json(&lodge_tests::telegram::fresh("help"))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "Service Unavailable"})
    );
    assert_eq!(bot.calls().len(), 1, "the function reached the Bot API");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "answered after {took:?}"
    );
}

#[tokio::test]
async fn an_sqs_batch_past_its_timeout_fails_whole_and_returns_after_the_visibility_timeout() {
    let bot = Silent::start().await;
    // The forwarder's 60 s becomes 1 s; the forward queue's 360 s visibility becomes 4 s.
    let template = template_with(&[("      Timeout: 60\n", "      Timeout: 1\n")]);
    let stack = stack(template, 0.01, &[("TELEGRAM_API_BASE", &bot.url)]).await;
    let rule = lodge::forwarding::rule::ForwardRule::from_json(
        lodge::forwarding::rule::RuleId::parse("timeout").unwrap(),
        &json!({"source_chat_id": -1001, "destinations": [{"chat_id": -1002}], "mode": "copy"}),
    )
    .unwrap();
    let jobs: Vec<_> = (1..=2)
        .map(|id| {
            let post = lodge::forwarding::post::Post::from_message(
                &json!({"message_id": id, "date": 1, "chat": {"id": -1001}, "text": format!("post {id}")}),
            )
            .unwrap();
            lodge::forwarding::job::ForwardJob::new(
                &rule,
                rule.destinations[0],
                lodge::forwarding::job::Work::Post { post, text: None },
                1,
            )
        })
        .collect();
    let queue = stack.physical.refs["ForwardQueue"].clone();
    lodge::forwarding::job::JobQueue::new(stack.sqs.clone(), &queue)
        .send(&jobs)
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(30), async || bot.calls().len() >= 2).await,
        "the job was not tried twice: {:?}",
        bot.calls()
    );
    let calls = bot.calls();
    let gap = calls[1] - calls[0];
    // Not an early retry: the queue's 3.6 s visibility runs from the
    // receive. The upper bound is loose on purpose: moto serialises its
    // requests, and a suite sharing it has held a receive back by 20 s
    // (24.7 s gaps seen under load); "came back at all" is the point.
    assert!(
        gap >= Duration::from_secs(3) && gap < Duration::from_secs(28),
        "retried after {gap:?}"
    );
    // The second job never ran (same group, whole batch failed): both are back in the queue.
    let attrs = stack
        .sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let count =
        |name: aws_sdk_sqs::types::QueueAttributeName| -> i64 { attrs.attributes().unwrap()[&name].parse().unwrap() };
    assert_eq!(
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            + count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        2,
        "a message of the timed-out batch was deleted"
    );
    stack.stop();
}

async fn send_body(r: reqwest::RequestBuilder, len: usize) -> (u16, Value) {
    let r = r.body(vec![b'a'; len]).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn api_gateway_takes_10_mb_and_lambda_6_mb() {
    let stack = stack(repo_root().join("template.yaml"), 1.0, &[]).await;
    let http = reqwest::Client::new();
    let post = || http.post(format!("{}/auth/email", stack.url));
    let internal = json!({"message": "Internal Server Error"});
    // 10 MB passes API Gateway, but the event is over Lambda's 6 MB: the integration fails.
    assert_eq!(
        send_body(post(), lodge_local::gateway::MAX_BODY).await,
        (500, internal.clone())
    );
    assert_eq!(
        send_body(post(), lodge_local::gateway::MAX_BODY + 1).await,
        (413, json!({"message": "Request Entity Too Large"}))
    );
    // A body that fits Lambda's payload reaches the function, which refuses it in its own words.
    let (status, body) = send_body(post().header("accept", "application/json"), 1024 * 1024).await;
    assert_eq!(status, 413);
    assert!(
        body.get("message").is_none(),
        "API Gateway's answer, not the function's: {body}"
    );
    stack.stop();
}

#[tokio::test]
async fn an_sqs_message_may_be_1_mib_counting_attributes() {
    let stack = stack(repo_root().join("template.yaml"), 1.0, &[]).await;
    let queue = stack.physical.refs["NotifyDLQ"].clone();
    let attr = aws_sdk_sqs::types::MessageAttributeValue::builder()
        .data_type("String")
        .string_value("é")
        .build()
        .unwrap();
    // "reason" + "String" + "é" (2 bytes) = 14 bytes of attribute.
    let attr_bytes = "reason".len() + "String".len() + "é".len();
    let send = |len: usize| {
        stack
            .sqs
            .send_message()
            .queue_url(&queue)
            .message_body("a".repeat(len))
            .message_attributes("reason", attr.clone())
            .send()
    };
    let limit = 1024 * 1024;
    send(limit - attr_bytes).await.expect("1 MiB in all is accepted");
    let err = send(limit - attr_bytes + 1).await.unwrap_err();
    let text = format!("{:?}", err.into_service_error());
    assert!(text.contains("InvalidParameterValue"), "{text}");
    assert!(text.contains("Message must be shorter than 1048576 bytes"), "{text}");
    // UTF-8 bytes, not characters: 'é' is two.
    let err = stack
        .sqs
        .send_message()
        .queue_url(&queue)
        .message_body("é".repeat(limit / 2 + 1))
        .send()
        .await
        .unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("InvalidParameterValue"));
    stack.stop();
}

#[tokio::test]
async fn a_dynamodb_item_may_be_400_kb() {
    let stack = stack(repo_root().join("template.yaml"), 1.0, &[]).await;
    let ddb = lodge::aws::dynamodb(&stack.aws);
    let table = stack.physical.refs["Table"].clone();
    // Item size: every attribute's name plus its value, in UTF-8 bytes.
    let (pk, sk) = ("LIMIT#1", "ITEM");
    let fixed = "pk".len() + pk.len() + "sk".len() + sk.len() + "pad".len();
    let put = |pad: usize| {
        ddb.put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S(pk.into()))
            .item("sk", AttributeValue::S(sk.into()))
            .item("pad", AttributeValue::S("a".repeat(pad)))
            .send()
    };
    put(400 * 1024 - fixed).await.expect("400 KB is accepted");
    let err = put(400 * 1024 - fixed + 1).await.unwrap_err();
    let text = format!("{:?}", err.into_service_error());
    assert!(text.contains("ValidationException"), "{text}");
    assert!(
        text.contains("Item size has exceeded the maximum allowed size"),
        "{text}"
    );
    stack.stop();
}
