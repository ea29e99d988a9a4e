//! `make bench-notify`: one comment on a post followed by BENCH_FOLLOWERS
//! (1,000) members, through the real comment route, `fanout`, `notifier` and
//! `notify-mail`, each with its own IAM-checked AWS calls (the runner's IAM
//! check counts them by function and operation), against the stack's Bot API
//! fake held to Telegram's 30 messages/s per bot.
//!
//! The followers are seeded through the store (member, Telegram link, the
//! bell's follow, and for some the email switch): 60 % Telegram only, 30 %
//! email only (no Telegram linked), 10 % both. The post's author (Bob, no
//! Telegram) hears of it as "a comment on your post"; the commenter (Ada)
//! hears nothing.
//!
//! The bench is the event source mapping (batches of 10, as the template
//! says): it receives from `ContentQueue` and `NotifyQueue`, invokes the
//! handlers, deletes what succeeded. Crashes (BENCH_CRASH=1, the default):
//! the first fan-out invocation runs with its DynamoDB calls through a proxy
//! that stops answering after a third of the inbox transactions, and is
//! killed there; the first notifier batch with Telegram deliveries runs with
//! its Bot API calls through a proxy that stops answering after 3
//! `sendMessage`s, and is killed once every delivery of the batch is either
//! done or stuck in that call. Both batches come back (their visibility
//! timeout, here at once) and the clock passes the notifier's lease. Then
//! every inbox, DM and email is counted per member: duplicates and losses
//! must both be 0.
//!
//! Knobs (env): BENCH_FOLLOWERS (1000), BENCH_CONCURRENCY (notifier batches
//! at once, 4), BENCH_BOT_PER_SEC (the fake's per-bot limit, 30; 0 = none),
//! BENCH_CRASH (1; 0 for a run without crashes).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName, QueueAttributeName};
use futures::StreamExt;
use lodge::domain::{Email, Member, MemberId, MemberStatus, PostId, Role};
use lodge::notify::{Channel, Kind};
use lodge::Clock;
use lodge_local::functions::{self, Invoker, SqsFn};
use serde_json::{json, Value};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("bench-notify: {e}");
        std::process::exit(1);
    }
}

/// Which requests a `Stall` counts (and, past its allowance, holds forever).
#[derive(Clone, Copy)]
enum Trip {
    /// DynamoDB `TransactWriteItems`: the fan-out's inbox entries.
    TransactWrite,
    /// Bot API `sendMessage`.
    SendMessage,
}

/// A pass-through proxy that stops answering the `trip` requests after
/// `allow` of them: where a crashing invocation dies. It also counts the
/// requests it is forwarding, to tell when the invocation has gone quiet.
#[derive(Clone)]
struct Stall {
    url: String,
    target: String,
    trip: Trip,
    tripped: Arc<AtomicUsize>,
    allow: Arc<AtomicUsize>,
    held: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    http: reqwest::Client,
}

impl Stall {
    async fn start(target: &str, trip: Trip) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let s = Stall {
            url: format!("http://{}", listener.local_addr().expect("addr")),
            target: target.trim_end_matches('/').to_string(),
            trip,
            tripped: Arc::default(),
            allow: Arc::new(AtomicUsize::new(usize::MAX)),
            held: Arc::default(),
            in_flight: Arc::default(),
            http: reqwest::Client::new(),
        };
        let app = axum::Router::new().fallback(stall_forward).with_state(s.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        s
    }

    fn arm(&self, allow: usize) {
        self.tripped.store(0, Ordering::SeqCst);
        self.held.store(0, Ordering::SeqCst);
        self.allow.store(allow, Ordering::SeqCst);
    }

    fn matches(&self, parts: &axum::http::request::Parts) -> bool {
        match self.trip {
            Trip::TransactWrite => parts
                .headers
                .get("x-amz-target")
                .is_some_and(|t| t.as_bytes().ends_with(b".TransactWriteItems")),
            Trip::SendMessage => parts.uri.path().ends_with("/sendMessage"),
        }
    }
}

async fn stall_forward(
    axum::extract::State(s): axum::extract::State<Stall>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    if s.matches(&parts) && s.tripped.fetch_add(1, Ordering::SeqCst) >= s.allow.load(Ordering::SeqCst) {
        s.held.fetch_add(1, Ordering::SeqCst);
        return futures::future::pending().await;
    }
    s.in_flight.fetch_add(1, Ordering::SeqCst);
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
    let answer = out.send().await;
    let response = match answer {
        Err(_) => axum::http::StatusCode::BAD_GATEWAY.into_response(),
        Ok(answer) => {
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
    };
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

/// Lambda's SQS event source mapping for one queue, driven by the bench:
/// batches of 10, the successes deleted in one `DeleteMessageBatch`, the
/// failures left to come back after their visibility timeout.
struct Esm {
    sqs: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    receives: AtomicU64,
    deletes: AtomicU64,
    invocations: AtomicU64,
    retried: AtomicU64,
    /// The longest invocation, against the function's timeout.
    longest_ms: AtomicU64,
    /// Messages per batch: the function's `BatchSize` in template.yaml.
    batch: i32,
}

impl Esm {
    fn new(stack: &lodge_local::Stack, queue: &str, batch: i32) -> Self {
        Self {
            batch,
            sqs: stack.sqs.clone(),
            url: stack.physical.refs[queue].clone(),
            arn: stack
                .physical
                .attrs
                .get(&format!("{queue}.Arn"))
                .cloned()
                .unwrap_or_default(),
            receives: AtomicU64::default(),
            deletes: AtomicU64::default(),
            invocations: AtomicU64::default(),
            retried: AtomicU64::default(),
            longest_ms: AtomicU64::default(),
        }
    }

    async fn receive(&self) -> Result<Vec<Message>, String> {
        self.receives.fetch_add(1, Ordering::Relaxed);
        self.sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(self.batch)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map(|o| o.messages.unwrap_or_default())
            .map_err(|e| format!("receive: {e:?}"))
    }

    fn event(&self, messages: &[Message]) -> SqsEvent {
        let mut event = SqsEvent::default();
        for m in messages {
            let mut msg = SqsMessage::default();
            msg.message_id = m.message_id.clone();
            msg.receipt_handle = m.receipt_handle.clone();
            msg.body = m.body.clone();
            msg.attributes = m
                .attributes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect();
            msg.event_source = Some("aws:sqs".into());
            msg.event_source_arn = Some(self.arn.clone());
            msg.aws_region = Some(lodge_local::REGION.into());
            event.records.push(msg);
        }
        event
    }

    async fn delete(&self, handles: &[String]) -> Result<(), String> {
        for chunk in handles.chunks(10) {
            self.deletes.fetch_add(1, Ordering::Relaxed);
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(h)
                        .build()
                        .ok()
                })
                .collect();
            self.sqs
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| format!("delete: {e:?}"))?;
        }
        Ok(())
    }

    /// What a killed invocation's messages do once its visibility timeout
    /// has passed: come back. Here at once (not an application call: not counted).
    async fn give_back(&self, messages: &[Message]) -> Result<(), String> {
        for m in messages {
            self.sqs
                .change_message_visibility()
                .queue_url(&self.url)
                .receipt_handle(m.receipt_handle.clone().unwrap_or_default())
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|e| format!("visibility: {e:?}"))?;
        }
        Ok(())
    }

    async fn depth(&self) -> Result<u64, String> {
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(|e| format!("attributes: {e:?}"))?;
        let attrs = out.attributes.unwrap_or_default();
        Ok([
            QueueAttributeName::ApproximateNumberOfMessages,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ]
        .iter()
        .map(|a| attrs.get(a).and_then(|v| v.parse::<u64>().ok()).unwrap_or_default())
        .sum())
    }

    /// Invokes `handler` on batches with `concurrency` pollers until the
    /// queue holds nothing (none visible, in flight or delayed).
    async fn drain(&self, handler: &SqsFn, concurrency: usize, deadline: Duration) -> Result<(), String> {
        let end = Instant::now() + deadline;
        let poller = || async {
            loop {
                if self.step(handler).await? == 0 {
                    if self.depth().await? == 0 {
                        return Ok::<(), String>(());
                    }
                    if Instant::now() > end {
                        return Err(format!("{} still holds messages after {deadline:?}", self.url));
                    }
                }
            }
        };
        futures::future::try_join_all((0..concurrency).map(|_| poller())).await?;
        Ok(())
    }

    /// One poll: receives a batch, invokes `handler` on it and deletes what
    /// it did not report failed. Returns the batch's size (0: nothing came).
    async fn step(&self, handler: &SqsFn) -> Result<usize, String> {
        let got = self.receive().await?;
        self.run(handler, &got).await?;
        Ok(got.len())
    }

    /// Invokes `handler` on a received batch and deletes what it did not report failed.
    async fn run(&self, handler: &SqsFn, got: &[Message]) -> Result<(), String> {
        if got.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let response = tokio::spawn(handler(self.event(got)))
            .await
            .map_err(|e| format!("the function crashed: {e}"))?;
        self.invocations.fetch_add(1, Ordering::Relaxed);
        self.longest_ms
            .fetch_max(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        let failed: HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        self.retried.fetch_add(failed.len() as u64, Ordering::Relaxed);
        let done: Vec<String> = got
            .iter()
            .filter(|m| !failed.contains(m.message_id.as_deref().unwrap_or_default()))
            .filter_map(|m| m.receipt_handle.clone())
            .collect();
        self.delete(&done).await
    }

    /// Gives the next batch (one `pick` accepts) to `crashing` and kills it
    /// once `stall` holds one of its calls and everything else it started has
    /// been answered; its messages come back. The batches before it go to
    /// `healthy`, as the event source would hand them on (given back instead,
    /// each receive would count towards the queue's DLQ). Returns the batch size.
    async fn crash(
        &self,
        healthy: &SqsFn,
        crashing: &SqsFn,
        stalls: &[&Stall],
        trip: &Stall,
        pick: impl Fn(&[Message]) -> bool,
    ) -> Result<usize, String> {
        let mut got = Vec::new();
        for _ in 0..50 {
            got = self.receive().await?;
            if pick(&got) {
                break;
            }
            self.run(healthy, &got).await?;
            got.clear();
        }
        if got.is_empty() {
            return Err("no batch to crash in".into());
        }
        let task = tokio::spawn(crashing(self.event(&got)));
        // Quiet: a call held, nothing else of it in flight, five looks in a row.
        let mut quiet = 0;
        let deadline = Instant::now() + Duration::from_secs(120);
        while quiet < 5 {
            if task.is_finished() {
                return Err("the crashing invocation finished: it should have stalled".into());
            }
            if Instant::now() > deadline {
                return Err("the crashing invocation never stalled".into());
            }
            let idle = stalls.iter().all(|s| s.in_flight.load(Ordering::SeqCst) == 0);
            quiet = if trip.held.load(Ordering::SeqCst) > 0 && idle {
                quiet + 1
            } else {
                0
            };
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        task.abort();
        let _ = task.await;
        self.invocations.fetch_add(1, Ordering::Relaxed);
        self.give_back(&got).await?;
        Ok(got.len())
    }
}

fn sqs_fn(
    binary: &str,
    env: BTreeMap<String, String>,
    aws: &lodge::aws::SdkConfig,
    clock: lodge::SharedClock,
) -> Result<SqsFn, String> {
    let env = lodge::Env::from_map(env.into_iter().collect());
    match functions::build(binary, &env, aws, clock)? {
        Invoker::Sqs(f) => Ok(f),
        _ => Err(format!("{binary} is not an SQS consumer")),
    }
}

/// Signs in over HTTP as a member does (code by email); the session cookie.
async fn sign_in(http: &reqwest::Client, base: &str, email: &str) -> Result<String, String> {
    let form = |fields: &[(&str, &str)]| lodge_tests::serde_urlencoded_pairs(fields);
    let post = |path: &str, body: String| {
        http.post(format!("{base}{path}"))
            .header("origin", base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let r = post("/auth/email", form(&[("email", email)]))
        .await
        .map_err(|e| e.to_string())?;
    if r.status() != 200 {
        return Err(format!("asking a code for {email}: {}", r.status()));
    }
    let mails: Vec<lodge_tests::Mail> = http
        .get(format!("{base}/_local/outbox"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let code = mails
        .iter()
        .rev()
        .find(|m| m.to.iter().any(|t| t == email))
        .and_then(|m| lodge_tests::extract_code(&m.body))
        .ok_or(format!("no code for {email}"))?;
    let r = post("/auth/code", form(&[("email", email), ("code", &code)]))
        .await
        .map_err(|e| e.to_string())?;
    lodge_tests::session_cookie(&r).ok_or(format!("no session for {email}: {}", r.status()))
}

async fn post_json(http: &reqwest::Client, base: &str, cookie: &str, path: &str, body: Value) -> Result<Value, String> {
    let r = http
        .post(format!("{base}{path}"))
        .header("cookie", cookie)
        .header("accept", "application/json")
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status();
    let v: Value = r.json().await.map_err(|e| e.to_string())?;
    if status != 201 {
        return Err(format!("{path}: {status} {v}"));
    }
    Ok(v)
}

/// The channels a seeded follower has, by their number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Mix {
    Telegram,
    Email,
    Both,
}

fn mix(i: usize) -> Mix {
    match i % 10 {
        0..=5 => Mix::Telegram,
        6..=8 => Mix::Email,
        _ => Mix::Both,
    }
}

struct Follower {
    member: Member,
    chat: Option<i64>,
    email: bool,
}

/// Calls made by the functions (IAM-checked) between two snapshots.
fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0);
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

const USER_BASE: i64 = 7_000_000_000;
/// A slice's fan-out is killed after this share of its inbox transactions.
const FANOUT_CRASH_SHARE: usize = 3;
/// A crashing notifier's `sendMessage`s that go through before it is stuck.
const NOTIFIER_CRASH_AFTER: usize = 3;

async fn run() -> Result<(), String> {
    let followers_n: usize = env_or("BENCH_FOLLOWERS", 1000);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 4);
    let bot_per_sec: usize = env_or("BENCH_BOT_PER_SEC", 30);
    let crash = env_or::<u8>("BENCH_CRASH", 1) != 0;

    println!("Starting the local stack (AWS stand-in + every function, the bench as the queues' pollers)…");
    let clock = lodge::clock::ManualClock::new();
    let mut opts = lodge_local::Options::new(lodge_tests::repo_root().join("template.yaml"), &lodge_tests::moto_url());
    let run_id = lodge_tests::unique("bench");
    opts.prefix = format!("{run_id}-");
    opts.clock = clock.clone();
    opts.poll = false;
    // A batch reported failed (a lease held by a killed invocation, a 429)
    // comes back after 1/20 of its queue's visibility timeout, as in the tests.
    opts.visibility_scale = lodge_tests::TEST_VISIBILITY_SCALE;
    opts.overrides = [("RUST_LOG".to_string(), "warn".to_string())].into_iter().collect();
    let stack = lodge_local::start(opts).await?;
    if bot_per_sec > 0 {
        stack.telegram.set_limits(Some(lodge_tests::SendLimits {
            bot_per_sec,
            chat_per_sec: 1,
            group_max: 20,
            group_window: Duration::from_secs(60),
        }));
    }
    let store = lodge::store::Store::new(lodge::aws::dynamodb(&stack.aws), stack.physical.refs["Table"].clone());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let base = stack.url.clone();

    // Bob posts (through /posts: he follows it, as every author does); Ada will comment.
    let person = |name: &str| {
        let email = Email::parse(&format!("{}.{run_id}@bench.example", name.to_lowercase())).expect("email");
        let mut m = Member::new(email, Role::Member, MemberStatus::Approved, clock.now());
        m.display_name = Some(name.to_string());
        m
    };
    let (ada, bob) = (person("Ada"), person("Bob"));
    for m in [&ada, &bob] {
        store.members().create(m).await.map_err(|e| e.to_string())?;
    }
    let ada_cookie = sign_in(&http, &base, ada.email.as_str()).await?;
    let bob_cookie = sign_in(&http, &base, bob.email.as_str()).await?;
    let title = format!("Bench post {run_id}");
    let v = post_json(
        &http,
        &base,
        &bob_cookie,
        "/posts",
        json!({"type": "post", "title": title, "body": "Who is coming on Saturday?"}),
    )
    .await?;
    let post = PostId::parse(v["post"]["id"].as_str().unwrap_or_default())?;

    println!("Seeding {followers_n} followers (60 % Telegram, 30 % email, 10 % both)…");
    let seeded = Instant::now();
    let now = clock.now();
    let followers: Vec<Follower> = futures::stream::iter(0..followers_n)
        .map(|i| {
            let (store, post) = (store.clone(), post.clone());
            let email = Email::parse(&format!("f{i}.{run_id}@bench.example")).expect("email");
            async move {
                let mut m = Member::new(email, Role::Member, MemberStatus::Approved, now);
                m.display_name = Some(format!("Follower {i}"));
                store.members().create(&m).await.map_err(|e| e.to_string())?;
                let mut chat = None;
                if mix(i) != Mix::Email {
                    let user = USER_BASE + i as i64;
                    let (linked, _) = store
                        .telegram()
                        .attach(m, user, None, now, None)
                        .await
                        .map_err(|e| format!("linking: {e:?}"))?;
                    m = linked;
                    chat = Some(user);
                }
                if mix(i) == Mix::Both {
                    let mut settings = store.notifications().settings(&m.id).await.map_err(|e| e.to_string())?;
                    settings.prefs.set(Kind::FollowedPost, Channel::Email, true);
                    store
                        .notifications()
                        .save_settings(&m.id, &settings.prefs, settings.digest)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                store
                    .notifications()
                    .follow(&post, &m.id, now)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(Follower {
                    member: m,
                    chat,
                    email: mix(i) != Mix::Telegram,
                })
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    println!("  seeded in {:.0} s", seeded.elapsed().as_secs_f64());

    let content = Esm::new(&stack, "ContentQueue", 1);
    let notify = Esm::new(&stack, "NotifyQueue", 10);
    let fn_aws = |logical: &str| stack.function_aws[logical].clone();
    let fanout = sqs_fn(
        "fanout",
        stack.envs["FanoutFunction"].clone(),
        &fn_aws("FanoutFunction"),
        clock.clone(),
    )?;
    let notifier = sqs_fn(
        "notifier",
        stack.envs["NotifierFunction"].clone(),
        &fn_aws("NotifierFunction"),
        clock.clone(),
    )?;
    // Bob's post_published event: no room, no mentions, nobody to tell.
    content.drain(&fanout, 1, Duration::from_secs(60)).await?;
    notify.drain(&notifier, 1, Duration::from_secs(60)).await?;
    for e in [&content, &notify] {
        for c in [&e.receives, &e.deletes, &e.invocations, &e.retried, &e.longest_ms] {
            c.store(0, Ordering::SeqCst);
        }
    }

    // The crashing instances: the same functions, their calls through a stall.
    let iam_url = fn_aws("FanoutFunction")
        .endpoint_url()
        .ok_or("no IAM endpoint")?
        .to_string();
    let fanout_stall = Stall::start(&iam_url, Trip::TransactWrite).await;
    let crashing_fanout = sqs_fn(
        "fanout",
        stack.envs["FanoutFunction"].clone(),
        &fn_aws("FanoutFunction")
            .to_builder()
            .endpoint_url(&fanout_stall.url)
            .build(),
        clock.clone(),
    )?;
    let notifier_aws = Stall::start(&iam_url, Trip::TransactWrite).await;
    let bot_stall = Stall::start(&stack.telegram.url, Trip::SendMessage).await;
    let mut notifier_env = stack.envs["NotifierFunction"].clone();
    notifier_env.insert("TELEGRAM_API_BASE".into(), bot_stall.url.clone());
    let crashing_notifier = sqs_fn(
        "notifier",
        notifier_env,
        &fn_aws("NotifierFunction")
            .to_builder()
            .endpoint_url(&notifier_aws.url)
            .build(),
        clock.clone(),
    )?;

    let recipients = followers.len() + 1;
    let calls_before = stack.iam.calls();
    let bot_before = stack.telegram.calls().len();
    println!("Ada comments on Bob's post (POST /posts/{{id}}/comments)…");
    let started = Instant::now();
    let v = post_json(
        &http,
        &base,
        &ada_cookie,
        &format!("/posts/{post}/comments"),
        json!({"body": "Count me in, and I'll bring the map."}),
    )
    .await?;
    let comment_ms = started.elapsed().as_secs_f64() * 1000.0;
    let comment = v["comment"]["id"].as_str().unwrap_or_default().to_string();
    let after_comment = stack.iam.calls();

    // The fan-out: the event is split into slices; one slice's invocation
    // is killed a third of the way through, then every slice runs.
    let slice: usize = stack.envs["FanoutFunction"]
        .get("LODGE_FANOUT_SLICE")
        .and_then(|v| v.parse().ok())
        .ok_or("FanoutFunction has no LODGE_FANOUT_SLICE")?;
    let mut crash_notes = Vec::new();
    let mut after_split = after_comment.clone();
    if crash {
        if content.step(&fanout).await? == 0 {
            return Err("the comment's event never reached the content queue".into());
        }
        after_split = stack.iam.calls();
        let share = slice.min(recipients) / FANOUT_CRASH_SHARE;
        fanout_stall.arm(share);
        content
            .crash(
                &fanout,
                &crashing_fanout,
                &[&fanout_stall],
                &fanout_stall,
                |m: &[Message]| {
                    m.iter()
                        .any(|m| m.body.as_deref().unwrap_or_default().contains("\"slice_of\""))
                },
            )
            .await?;
        crash_notes.push(format!(
            "fan-out of one {slice}-member slice killed with {share} of its inbox transactions answered, {} stuck",
            fanout_stall.held.load(Ordering::SeqCst)
        ));
    }
    let after_fanout_crash = stack.iam.calls();
    content.drain(&fanout, concurrency, Duration::from_secs(600)).await?;
    let fanned_out = started.elapsed().as_secs_f64();
    let after_fanout = stack.iam.calls();

    // The deliveries: a batch with Telegram deliveries first goes to a
    // notifier killed mid-batch; its leases run out (the function timeout).
    if crash {
        bot_stall.arm(NOTIFIER_CRASH_AFTER);
        let telegram_deliveries = |ms: &[Message]| {
            ms.iter()
                .filter(|m| m.body.as_deref().unwrap_or_default().contains("\"telegram\""))
                .count()
        };
        let size = notify
            .crash(
                &notifier,
                &crashing_notifier,
                &[&notifier_aws, &bot_stall],
                &bot_stall,
                |ms: &[Message]| telegram_deliveries(ms) > NOTIFIER_CRASH_AFTER + 1,
            )
            .await?;
        crash_notes.push(format!(
            "notifier killed mid-batch: {NOTIFIER_CRASH_AFTER} sendMessage answered, {} stuck, batch of {size}",
            bot_stall.held.load(Ordering::SeqCst)
        ));
        clock.advance(11);
    }
    let after_notifier_crash = stack.iam.calls();
    notify.drain(&notifier, concurrency, Duration::from_secs(900)).await?;
    let delivered = started.elapsed().as_secs_f64();
    // Nothing may have gone to a DLQ: there it would be lost to the members.
    let mut dead = 0;
    for dlq in ["ContentDLQ", "NotifyDLQ"] {
        dead += Esm::new(&stack, dlq, 10).depth().await?;
    }
    let after_notifier = stack.iam.calls();

    // The coalesced emails: the window closes 15 minutes on.
    clock.advance(15 * 60 + 1);
    let Invoker::Schedule(mail_job) = functions::build(
        "notify-mail",
        &lodge::Env::from_map(stack.envs["NotifyMailFunction"].clone().into_iter().collect()),
        &fn_aws("NotifyMailFunction"),
        clock.clone(),
    )?
    else {
        return Err("notify-mail is scheduled".into());
    };
    let t = Instant::now();
    let mut mail_runs = 0;
    loop {
        mail_runs += 1;
        match mail_job(json!({})).await {
            Ok(()) => break,
            Err(e) if mail_runs < 5 => eprintln!("  notify-mail: {e}; running again"),
            Err(e) => return Err(e),
        }
    }
    let mail_secs = t.elapsed().as_secs_f64();
    let after_mail = stack.iam.calls();

    // Who got what.
    let expected_chats: HashSet<i64> = followers.iter().filter_map(|f| f.chat).collect();
    let mut dms: HashMap<i64, usize> = HashMap::new();
    for d in stack.telegram.deliveries() {
        if d.text.as_deref().is_some_and(|t| t.starts_with("🔔")) {
            *dms.entry(d.chat_id).or_default() += 1;
        }
    }
    let dm_dups: usize = dms.values().map(|n| n.saturating_sub(1)).sum();
    let dm_lost = expected_chats.iter().filter(|c| !dms.contains_key(c)).count();
    let dm_unexpected = dms.keys().filter(|c| !expected_chats.contains(c)).count();

    let mails: Vec<lodge_tests::Mail> = http
        .get(format!("{base}/_local/outbox"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let mut emails: HashMap<String, usize> = HashMap::new();
    for m in mails.iter().filter(|m| m.subject.contains(&title)) {
        for to in &m.to {
            *emails.entry(to.clone()).or_default() += 1;
        }
    }
    let expected_mail: HashSet<String> = followers
        .iter()
        .filter(|f| f.email)
        .map(|f| f.member.email.to_string())
        .chain([bob.email.to_string()])
        .collect();
    let mail_dups: usize = emails.values().map(|n| n.saturating_sub(1)).sum();
    let mail_lost = expected_mail.iter().filter(|e| !emails.contains_key(*e)).count();
    let mail_unexpected = emails.keys().filter(|e| !expected_mail.contains(*e)).count();

    let key = format!("c.{comment}");
    let everyone: Vec<MemberId> = followers
        .iter()
        .map(|f| f.member.id.clone())
        .chain([bob.id.clone(), ada.id.clone()])
        .collect();
    let inboxes: Vec<(MemberId, usize, i64)> = futures::stream::iter(everyone)
        .map(|id| {
            let (store, key) = (store.clone(), key.clone());
            async move {
                let page = store
                    .notifications()
                    .inbox(&id, None, 20)
                    .await
                    .map_err(|e| e.to_string())?;
                let n = page.entries.iter().filter(|e| e.id.ends_with(&key)).count();
                let unread = store
                    .members()
                    .get(&id)
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|m| m.unread_notifications)
                    .unwrap_or_default();
                Ok::<_, String>((id, n, unread))
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let inbox_dups: usize = inboxes
        .iter()
        .filter(|(id, ..)| *id != ada.id)
        .map(|(_, n, unread)| n.saturating_sub(1) + (*unread as usize).saturating_sub(1))
        .sum();
    let inbox_lost = inboxes
        .iter()
        .filter(|(id, n, unread)| *id != ada.id && (*n == 0 || *unread == 0))
        .count();
    let inbox_unexpected = inboxes.iter().filter(|(id, n, _)| *id == ada.id && *n > 0).count();

    // The calls, by function and operation.
    let calls = delta(&calls_before, &after_mail);
    let crashed = delta(&after_split, &after_fanout_crash)
        .into_iter()
        .chain(delta(&after_fanout, &after_notifier_crash))
        .fold(BTreeMap::<String, u64>::new(), |mut acc, (k, v)| {
            *acc.entry(k).or_default() += v;
            acc
        });
    let phase = |a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>| delta(a, b);
    let bot: Vec<_> = stack.telegram.calls().into_iter().skip(bot_before).collect();
    let sends = bot.iter().filter(|c| c.method == "sendMessage").count();
    let refused_429 = bot
        .iter()
        .filter(|c| c.method == "sendMessage" && c.error.as_ref().is_some_and(|e| e["error_code"] == 429))
        .count();
    let is_sqs = |op: &str| {
        [
            "SendMessage",
            "SendMessageBatch",
            "ChangeMessageVisibility",
            "ReceiveMessage",
            "DeleteMessage",
        ]
        .iter()
        .any(|o| op.ends_with(&format!(" {o}")))
    };
    let is_ses = |op: &str| op.ends_with("SendEmail");
    let sum = |m: &BTreeMap<String, u64>, pred: &dyn Fn(&str) -> bool| {
        m.iter().filter(|(k, _)| pred(k)).map(|(_, v)| *v).sum::<u64>()
    };
    let ddb = sum(&calls, &|k| !is_sqs(k) && !is_ses(k));
    let ses = sum(&calls, &|k| is_ses(k));
    let sqs_fn_calls = sum(&calls, &|k| is_sqs(k));
    let esm_calls = content.receives.load(Ordering::SeqCst)
        + content.deletes.load(Ordering::SeqCst)
        + notify.receives.load(Ordering::SeqCst)
        + notify.deletes.load(Ordering::SeqCst);
    let n = recipients as f64;
    let deliveries = expected_chats.len() + expected_mail.len();

    println!();
    println!(
        "Notification benchmark: 1 comment, {recipients} recipients ({} followers + the post's author), {} Telegram DMs, {} emails, crash {}",
        followers.len(),
        expected_chats.len(),
        expected_mail.len(),
        if crash { "on" } else { "off" }
    );
    for note in &crash_notes {
        println!("  crash: {note}");
    }
    println!("  comment request          {comment_ms:.0} ms");
    println!("  fanned out (inbox done)  {fanned_out:.1} s after the comment");
    println!(
        "  every DM and email line  {delivered:.1} s after the comment ({deliveries} deliveries, {:.1}/s)",
        deliveries as f64 / (delivered - fanned_out).max(0.001)
    );
    println!("  notify-mail run          {mail_secs:.1} s ({} emails, {mail_runs} run(s); the window itself is 15 min by design)", emails.values().sum::<usize>());
    println!("  invocations              fan-out {} (longest {:.1} s of its 30 s timeout), notifier {} (longest {:.1} s of 10 s), {} records retried",
        content.invocations.load(Ordering::SeqCst),
        content.longest_ms.load(Ordering::SeqCst) as f64 / 1000.0,
        notify.invocations.load(Ordering::SeqCst),
        notify.longest_ms.load(Ordering::SeqCst) as f64 / 1000.0,
        content.retried.load(Ordering::SeqCst) + notify.retried.load(Ordering::SeqCst));
    println!("  dead letters             {dead} in ContentDLQ and NotifyDLQ");
    println!("  inbox     duplicates {inbox_dups} · lost {inbox_lost} · unexpected {inbox_unexpected}");
    println!("  Telegram  duplicates {dm_dups} · lost {dm_lost} · unexpected {dm_unexpected}");
    println!("  email     duplicates {mail_dups} · lost {mail_lost} · unexpected {mail_unexpected}");
    println!(
        "  Bot API   {sends} sendMessage ({refused_429} answered 429) = {:.3}/recipient",
        sends as f64 / n
    );
    println!("Calls by the functions (IAM-checked), total and per recipient:");
    for (k, v) in &calls {
        let extra = crashed.get(k).copied().unwrap_or(0);
        let note = if extra > 0 {
            format!("  (of which {extra} by the killed invocations)")
        } else {
            String::new()
        };
        println!("  {k:<48} {v:>7}  {:.3}{note}", *v as f64 / n);
    }
    println!(
        "  DynamoDB {ddb} ({:.2}/recipient) · SQS {} incl. {esm_calls} receives + deletes by the pollers ({:.3}/recipient) · SES {ses} ({:.3}/recipient)",
        ddb as f64 / n,
        sqs_fn_calls + esm_calls,
        (sqs_fn_calls + esm_calls) as f64 / n,
        ses as f64 / n
    );
    println!("Phases (calls): comment {:?}", phase(&calls_before, &after_comment));
    let mut fanout_calls = phase(&after_comment, &after_split);
    for (k, v) in phase(&after_fanout_crash, &after_fanout) {
        *fanout_calls.entry(k).or_default() += v;
    }
    println!("  fan-out {fanout_calls:?}");
    println!("  notifier {:?}", phase(&after_notifier_crash, &after_notifier));
    println!("  notify-mail {:?}", phase(&after_notifier, &after_mail));
    println!();
    println!(
        "{}",
        json!({
            "followers": followers.len(), "recipients": recipients, "crash": crash, "concurrency": concurrency,
            "bot_per_sec": bot_per_sec, "comment_ms": comment_ms, "fanned_out_secs": fanned_out,
            "delivered_secs": delivered, "mail_secs": mail_secs, "dms": dms.values().sum::<usize>(),
            "emails": emails.values().sum::<usize>(), "bot_sends": sends, "bot_429": refused_429,
            "duplicates": inbox_dups + dm_dups + mail_dups, "lost": inbox_lost + dm_lost + mail_lost,
            "unexpected": inbox_unexpected + dm_unexpected + mail_unexpected,
            "calls": calls, "crashed_calls": crashed, "dynamodb": ddb, "ses": ses, "sqs": sqs_fn_calls + esm_calls,
            "sqs_poller": esm_calls,
        })
    );
    stack.stop();
    let bad = dead as usize
        + inbox_dups
        + dm_dups
        + mail_dups
        + inbox_lost
        + dm_lost
        + mail_lost
        + inbox_unexpected
        + dm_unexpected
        + mail_unexpected;
    if bad > 0 {
        return Err(format!(
            "{bad} dead letters, duplicates, losses or unexpected deliveries"
        ));
    }
    Ok(())
}
