//! `make bench-digest`: one weekly issue to BENCH_MEMBERS (10,000) seeded
//! members and a seeded week, through the real planner and sender functions
//! with their own IAM-checked AWS calls, and an injected sender crash.
//!
//! The bench is the event source mapping: it receives from `DigestQueue`
//! and calls the sender's handler, up to the template's 4 at once. The first
//! BENCH_CRASHES (2) messages go first to a sender whose SES calls pass a
//! proxy that stops answering after half the message's sends; that
//! invocation is killed (dropped) there, as a Lambda crash or timeout would,
//! and its message comes back once the ledger lease (the function timeout)
//! has passed. At the end every email in the outbox is counted per member:
//! duplicates and misses must both be 0.
//!
//! Knobs (env): BENCH_MEMBERS (10000), BENCH_RATE (DigestMaxSendRate, 50),
//! BENCH_POSTS (300 posts in the week), BENCH_CRASHES (2).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use futures::StreamExt;
use lodge::domain::digest::WeekTally;
use lodge::domain::{Email, Member, MemberStatus, PostKind, Role};
use lodge::store::digests::seed::{self, SeedPost};
use lodge::Clock;
use lodge_local::functions::{self, Invoker, SqsFn};
use serde_json::json;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const DAY: i64 = 86_400;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("bench-digest: {e}");
        std::process::exit(1);
    }
}

/// A proxy in front of the AWS stand-in that stops answering SES sends
/// after `allow` of them (until `reset`): where the crashing sender dies.
#[derive(Clone)]
struct Stall {
    url: String,
    target: String,
    sent: Arc<AtomicUsize>,
    allow: Arc<AtomicUsize>,
    http: reqwest::Client,
}

impl Stall {
    async fn start(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let s = Stall {
            url: format!("http://{}", listener.local_addr().expect("addr")),
            target: target.trim_end_matches('/').to_string(),
            sent: Arc::default(),
            allow: Arc::new(AtomicUsize::new(usize::MAX)),
            http: reqwest::Client::new(),
        };
        let app = axum::Router::new().fallback(stall_forward).with_state(s.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        s
    }

    fn reset(&self, allow: usize) {
        self.sent.store(0, Ordering::SeqCst);
        self.allow.store(allow, Ordering::SeqCst);
    }
}

async fn stall_forward(
    axum::extract::State(s): axum::extract::State<Stall>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    if parts.uri.path() == "/v2/email/outbound-emails"
        && s.sent.fetch_add(1, Ordering::SeqCst) >= s.allow.load(Ordering::SeqCst)
    {
        return futures::future::pending().await;
    }
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut out = s
        .http
        .request(parts.method.clone(), format!("{}{path}", s.target))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    let Ok(answer) = out.send().await else {
        return axum::http::StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut r = axum::response::Response::new(axum::body::Body::from(bytes));
    *r.status_mut() = status;
    for (k, v) in &headers {
        if k != "content-length" && k != "transfer-encoding" {
            r.headers_mut().append(k, v.clone());
        }
    }
    r
}

fn sqs_event(id: &str, body: &str) -> SqsEvent {
    serde_json::from_value(json!({"Records": [{
        "messageId": id, "receiptHandle": "r", "body": body,
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:digest", "awsRegion": "us-east-1"
    }]}))
    .expect("event")
}

fn sender(stack: &lodge_local::Stack, aws: &lodge::aws::SdkConfig, clock: lodge::SharedClock) -> SqsFn {
    let env = lodge::Env::from_map(stack.envs["DigestSenderFunction"].clone().into_iter().collect());
    match functions::build("digest-sender", &env, aws, clock).expect("sender") {
        Invoker::Sqs(f) => f,
        _ => unreachable!("the sender is an SQS consumer"),
    }
}

async fn run() -> Result<(), String> {
    let members: usize = env_or("BENCH_MEMBERS", 10_000);
    let rate: u32 = env_or("BENCH_RATE", 50);
    let posts: usize = env_or("BENCH_POSTS", 300);
    let crashes: usize = env_or("BENCH_CRASHES", 2);

    println!("Starting the local stack (AWS stand-in + every function, no pollers)…");
    let clock = lodge::clock::ManualClock::new();
    let now = clock.now();
    let day = now.div_euclid(DAY);
    let mut monday = (day - (day + 3).rem_euclid(7)) * DAY + 10 * 3600;
    while monday <= now {
        monday += 7 * DAY;
    }
    clock.advance(monday - now);
    let mut opts = lodge_local::Options::new(lodge_tests::repo_root().join("template.yaml"), &lodge_tests::moto_url());
    opts.prefix = format!("{}-", lodge_tests::unique("bench"));
    opts.clock = clock.clone();
    opts.poll = false;
    opts.overrides = [
        ("LODGE_DIGEST_MAX_SEND_RATE".to_string(), rate.to_string()),
        ("RUST_LOG".to_string(), "warn".to_string()),
    ]
    .into_iter()
    .collect();
    let stack = lodge_local::start(opts).await?;
    let store = lodge::store::Store::new(lodge::aws::dynamodb(&stack.aws), stack.physical.refs["Table"].clone());

    println!("Seeding {members} approved members and a week of {posts} posts…");
    let seeded = Instant::now();
    let ids: Vec<Member> = futures::stream::iter(0..members)
        .map(|i| {
            let store = store.clone();
            async move {
                let email = Email::parse(&format!("member{i}@bench.example")).expect("email");
                let mut m = Member::new(email, Role::Member, MemberStatus::Approved, monday - DAY);
                m.display_name = Some(format!("Member {i}"));
                store.members().create(&m).await.map(|_| m)
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let week = lodge::digest::issue_for(monday).1;
    let author = &ids[0];
    for i in 0..posts {
        let kind = match i % 10 {
            0 => PostKind::Intro,
            1 => PostKind::Event,
            _ => PostKind::Post,
        };
        let title = format!("Seeded post {i}");
        let published_ms = (monday - 1 - (i as i64 * 6 * DAY / posts as i64)) * 1000;
        let id = seed::post(
            &store,
            &SeedPost {
                kind,
                title: &title,
                author: &author.id,
                author_name: "Member 0",
                published_ms,
                upvotes: (i * 7 % 31) as i64,
                comments: (i * 3 % 11) as i64,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        if kind == PostKind::Event {
            seed::event(
                &store,
                &id,
                &title,
                (monday + (i as i64 % 14) * DAY) * 1000,
                "Club house",
            )
            .await
            .map_err(|e| e.to_string())?;
        }
        seed::comment(
            &store,
            &id,
            "Member 1",
            "A comment",
            published_ms + 60_000,
            (i % 9) as i64,
        )
        .await
        .map_err(|e| e.to_string())?;
    }
    for m in ids.iter().step_by(3) {
        seed::tally(&store, &m.id, &week, WeekTally { replies: 2, upvotes: 3 })
            .await
            .map_err(|e| e.to_string())?;
    }
    println!("  seeded in {:.0} s", seeded.elapsed().as_secs_f64());
    let before = stack.iam.calls();

    // The planner, timed.
    let env = lodge::Env::from_map(stack.envs["DigestPlannerFunction"].clone().into_iter().collect());
    let Invoker::Schedule(planner) = functions::build(
        "digest-planner",
        &env,
        &stack.function_aws["DigestPlannerFunction"],
        clock.clone(),
    )
    .map_err(|e| e.to_string())?
    else {
        return Err("the planner is scheduled".into());
    };
    let t = Instant::now();
    planner(json!({})).await?;
    let planner_secs = t.elapsed().as_secs_f64();
    println!("Planner: {planner_secs:.2} s");

    // Senders: crashing ones first, then the real ones, as the ESM would.
    let queue = stack.physical.refs["DigestQueue"].clone();
    let sqs = stack.sqs.clone();
    let stall = Stall::start(&stack.moto_url).await;
    let crashing = sender(&stack, &lodge_local::sdk_config(&stall.url).await, clock.clone());
    let healthy = sender(&stack, &stack.function_aws["DigestSenderFunction"], clock.clone());
    let (mut receives, mut deletes, mut crashed) = (0u64, 0u64, 0usize);
    let send_started = Instant::now();
    while crashed < crashes {
        let out = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(1)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        receives += 1;
        let Some(m) = out.messages.unwrap_or_default().pop() else {
            break;
        };
        let size = serde_json::from_str::<serde_json::Value>(m.body.as_deref().unwrap_or("{}"))
            .ok()
            .and_then(|b| b["members"].as_array().map(Vec::len))
            .unwrap_or(0);
        if size < lodge::digest::MEMBERS_PER_MESSAGE {
            // The last, partial message: not the one to crash in; back it goes.
            sqs.change_message_visibility()
                .queue_url(&queue)
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            continue;
        }
        stall.reset(CRASH_AFTER);
        let event = sqs_event(
            m.message_id.as_deref().unwrap_or("m"),
            m.body.as_deref().unwrap_or_default(),
        );
        // Killed (dropped) the moment its 26th send is stuck: nothing of
        // that send reached SES.
        let half = CRASH_AFTER;
        let stuck = async {
            while stall.sent.load(Ordering::SeqCst) <= half {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            out = crashing(event) => {
                return Err(format!(
                    "the crashing sender finished a message of {size} after {} sends: it should have stalled ({:?})",
                    stall.sent.load(Ordering::SeqCst),
                    out.batch_item_failures
                ))
            }
            _ = stuck => {}
        }
        // It died holding the message: it comes back (here at once).
        sqs.change_message_visibility()
            .queue_url(&queue)
            .receipt_handle(m.receipt_handle.unwrap_or_default())
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        crashed += 1;
    }
    println!("Killed {crashed} sender invocation(s) mid-message, after {CRASH_AFTER} sends each");
    // The dead invocations' leases run out (the function timeout).
    clock.advance(121);
    let concurrency = 4;
    loop {
        let out = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        receives += 1;
        let got = out.messages.unwrap_or_default();
        if got.is_empty() {
            break;
        }
        let results: Vec<(String, bool)> = futures::stream::iter(got)
            .map(|m| {
                let healthy = healthy.clone();
                async move {
                    let event = sqs_event(
                        m.message_id.as_deref().unwrap_or("m"),
                        m.body.as_deref().unwrap_or_default(),
                    );
                    let out = healthy(event).await;
                    (m.receipt_handle.unwrap_or_default(), out.batch_item_failures.is_empty())
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for (handle, ok) in results {
            if ok {
                sqs.delete_message()
                    .queue_url(&queue)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                deletes += 1;
            } else {
                eprintln!("  a batch failed and will be retried");
            }
        }
    }
    let send_secs = send_started.elapsed().as_secs_f64();

    // Who got what.
    let outbox = lodge_local::outbox::Outbox::new(&stack.moto_url);
    let mails = outbox.list().await?;
    let mut per: HashMap<String, usize> = HashMap::new();
    for m in mails.iter().filter(|m| m.subject.starts_with("Lodge weekly")) {
        for to in &m.to {
            *per.entry(to.clone()).or_default() += 1;
        }
    }
    let expected: HashSet<String> = ids
        .iter()
        .map(|m| m.email.to_string())
        .chain([ADMIN.to_string()])
        .collect();
    let duplicates: usize = per.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    let misses = expected.iter().filter(|e| !per.contains_key(*e)).count();
    let recipients = per.len();

    let after = stack.iam.calls();
    let mut delta: BTreeMap<String, u64> = BTreeMap::new();
    for (k, v) in &after {
        let d = v - before.get(k).copied().unwrap_or(0);
        if d > 0 && (k.starts_with("DigestPlanner") || k.starts_with("DigestSender")) {
            delta.insert(k.clone(), d);
        }
    }
    let sum = |pred: &dyn Fn(&str) -> bool| delta.iter().filter(|(k, _)| pred(k)).map(|(_, v)| *v).sum::<u64>();
    let is_sqs = |op: &str| op.ends_with("SendMessageBatch") || op.ends_with("SendMessage");
    let is_ses = |op: &str| op.ends_with("SendEmail");
    let ses = sum(&|k| is_ses(k));
    let sqs_fn = sum(&|k| is_sqs(k));
    let ddb = sum(&|k| !is_ses(k) && !is_sqs(k));
    let sqs_total = sqs_fn + receives + deletes;
    let n = recipients.max(1) as f64;

    println!();
    println!("Members: {members} (+ the admin) · rate {rate}/s · {posts} posts in the week");
    println!("Planner: {planner_secs:.2} s");
    println!(
        "Sending: {send_secs:.1} s for {recipients} recipients = {:.1} sends/s (limit {rate}/s)",
        recipients as f64 / send_secs
    );
    println!("Duplicates: {duplicates} · misses: {misses} (after {crashed} killed sender invocations)");
    println!("Calls by the functions (IAM-checked), total and per recipient:");
    for (k, v) in &delta {
        println!("  {k:<48} {v:>8}  {:.3}", *v as f64 / n);
    }
    println!("  DynamoDB {ddb} ({:.2}/recipient) · SES {ses} ({:.3}/recipient) · SQS {sqs_total} incl. {receives} receives + {deletes} deletes by the poller ({:.3}/recipient)", ddb as f64 / n, ses as f64 / n, sqs_total as f64 / n);
    println!();
    println!("{}", serde_json::to_string(&json!({
        "members": members, "recipients": recipients, "rate": rate, "planner_secs": planner_secs,
        "send_secs": send_secs, "sends_per_sec": recipients as f64 / send_secs, "duplicates": duplicates, "misses": misses,
        "calls": delta, "dynamodb": ddb, "ses": ses, "sqs": sqs_total, "sqs_receives": receives, "sqs_deletes": deletes,
    })).unwrap_or_default());
    if duplicates > 0 || misses > 0 {
        return Err(format!("{duplicates} duplicates, {misses} misses"));
    }
    Ok(())
}

/// `Options`' default admin, an approved member who gets the digest too.
const ADMIN: &str = "admin@lodge.local";

/// Sends a crashing sender makes before it is killed mid-message.
const CRASH_AFTER: usize = 10;
