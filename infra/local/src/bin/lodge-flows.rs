//! `make bench` (part 2): the request path of the main flows, measured
//! in-process. Each handler is called directly with the event API Gateway
//! would send (no HTTP in between) and its wall time recorded; a counting
//! proxy between the SDK and the AWS stand-in counts DynamoDB, SES and SQS
//! calls per step. The stand-in answers over loopback in ~1 ms per call, so
//! these times are an upper bound for the code plus one local round trip per
//! AWS call.
//!
//! "Own CPU" is the CPU time of the thread the handler runs on, from the call
//! to its response: a single-threaded runtime on its own thread runs the
//! handler and the HTTP client tasks it spawns, while the proxy and the
//! stand-in run elsewhere. So it counts exactly Lodge's work (parsing,
//! signing, (de)serialising, rendering, crypto) and none of the waiting.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use lodge_local::functions::{self, Invoker};
use lodge_local::template::Route;
use tokio::sync::Mutex;

#[path = "lodge-flows/feed.rs"]
mod feed;

/// AWS calls by operation, the time spent waiting for them, and the
/// DynamoDB items they read (a query's `ScannedCount`, a batch's answers).
#[derive(Default)]
struct Counts(BTreeMap<String, u32>, Duration, u32);

/// Items a DynamoDB answer read.
fn items_read(body: &[u8]) -> u32 {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 0;
    };
    if let Some(n) = v.get("ScannedCount").and_then(serde_json::Value::as_u64) {
        return n as u32;
    }
    if let Some(r) = v.get("Responses").and_then(serde_json::Value::as_object) {
        return r
            .values()
            .filter_map(serde_json::Value::as_array)
            .map(|a| a.len() as u32)
            .sum();
    }
    v.get("Item").is_some() as u32
}

/// Forwards every SDK request to moto and counts it by service and operation.
async fn proxy(
    State((moto, client, counts)): State<(String, reqwest::Client, Arc<Mutex<Counts>>)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let op = match headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        Some(t) if t.starts_with("DynamoDB") => format!("dynamodb:{}", t.rsplit('.').next().unwrap_or(t)),
        Some(t) if t.starts_with("AmazonSQS") => format!("sqs:{}", t.rsplit('.').next().unwrap_or(t)),
        _ if uri.path().starts_with("/v2/email/outbound-emails") => "ses:SendEmail".to_string(),
        _ => format!("other:{} {}", method, uri.path()),
    };
    *counts.lock().await.0.entry(op).or_default() += 1;
    let started = Instant::now();
    let mut req = client.request(method, format!("{moto}{uri}")).body(body);
    for (k, v) in &headers {
        if k != "host" {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status();
            let h = r.headers().clone();
            let b = r.bytes().await.unwrap_or_default();
            let mut c = counts.lock().await;
            c.1 += started.elapsed();
            if headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|t| t.starts_with("DynamoDB"))
            {
                c.2 += items_read(&b);
            }
            drop(c);
            let mut resp = axum::response::Response::new(axum::body::Body::from(b));
            *resp.status_mut() = status;
            // Hop-by-hop headers stay on moto's connection: passing on its
            // `Connection: close` made the SDK open a new connection for
            // every call and billed that TCP set-up to the handler.
            for (k, v) in &h {
                if !is_hop_by_hop(k.as_str()) {
                    resp.headers_mut().insert(k, v.clone());
                }
            }
            resp
        }
        Err(e) => axum::response::Response::builder()
            .status(502)
            .body(axum::body::Body::from(e.to_string()))
            .unwrap(),
    }
}

/// Headers about one connection, not the message (RFC 9110 §7.6.1), and the
/// framing the proxy sets itself.
fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "upgrade"
            | "transfer-encoding"
            | "content-length"
    )
}

struct Bench {
    http: BTreeMap<String, (Route, functions::HttpFn)>,
    counts: Arc<Mutex<Counts>>,
    origin: String,
}

struct Step {
    name: &'static str,
    times: Vec<Duration>,
    /// CPU time of the handler's thread during the call: the code's own cost.
    own: Vec<Duration>,
    calls: BTreeMap<String, u32>,
    /// DynamoDB items read by the last run.
    items: u32,
}

impl Bench {
    async fn call(
        &self,
        route: &str,
        path: &str,
        body: &str,
        cookie: Option<&str>,
    ) -> (u16, HeaderMap, String, (Duration, Duration)) {
        self.call_with(route, path, body, cookie, false).await
    }

    /// `call`, as an API client (`Accept: application/json`) when `json`.
    async fn call_with(
        &self,
        route: &str,
        path: &str,
        body: &str,
        cookie: Option<&str>,
        json: bool,
    ) -> (u16, HeaderMap, String, (Duration, Duration)) {
        let (r, handler) = &self.http[route];
        let method: Method = r.method.parse().unwrap();
        let uri: Uri = path.parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", "127.0.0.1:3000".parse().unwrap());
        headers.insert("origin", self.origin.parse().unwrap());
        headers.insert("content-type", "application/x-www-form-urlencoded".parse().unwrap());
        if let Some(c) = cookie {
            headers.insert("cookie", c.parse().unwrap());
        }
        if json {
            headers.insert("accept", "application/json".parse().unwrap());
        }
        let params = route_params(&r.path, path);
        let body = Bytes::from(body.to_string());
        let incoming = lodge_local::gateway::Incoming {
            method: &method,
            uri: &uri,
            headers: &headers,
            body: &body,
            peer: "127.0.0.1:9".parse().unwrap(),
            request_id: "bench",
        };
        let event = lodge_local::gateway::event(r, &params, &incoming);
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        let cpu = thread_cpu_time();
        let started = Instant::now();
        let reply = handler(request).await;
        let elapsed = (started.elapsed(), thread_cpu_time() - cpu);
        let status = reply.status().as_u16();
        let headers = reply.headers().clone();
        let text = match reply.into_body() {
            lambda_http::Body::Text(t) => t,
            _ => String::new(),
        };
        (status, headers, text, elapsed)
    }

    async fn take_counts(&self) -> (BTreeMap<String, u32>, Duration, u32) {
        let mut c = self.counts.lock().await;
        (
            std::mem::take(&mut c.0),
            std::mem::take(&mut c.1),
            std::mem::take(&mut c.2),
        )
    }
}

/// CPU time consumed by the calling thread so far.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn route_params(pattern: &str, path: &str) -> BTreeMap<String, String> {
    pattern
        .split('/')
        .zip(path.split('?').next().unwrap_or(path).split('/'))
        .filter_map(|(p, v)| {
            p.strip_prefix('{')
                .and_then(|p| p.strip_suffix('}'))
                .map(|p| (p.to_string(), v.to_string()))
        })
        .collect()
}

fn cookie_of(h: &HeaderMap) -> String {
    h.get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("lodge_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let root = std::path::PathBuf::from(std::env::var("LODGE_ROOT").unwrap_or_else(|_| ".".into()));
    let venv = std::env::var("LODGE_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join(".venv"));
    std::fs::create_dir_all(root.join(".lodge")).unwrap();
    let mut moto = lodge_local::moto::Moto::spawn(&root, &venv, &root.join(".lodge/moto-bench.log"))
        .await
        .expect("moto");
    let counts = Arc::new(Mutex::new(Counts::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", listener.local_addr().unwrap());
    let app =
        axum::Router::new()
            .fallback(proxy)
            .with_state((moto.url.clone(), reqwest::Client::new(), counts.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut opts = lodge_local::Options::new(root.join("template.yaml"), &proxy_url);
    let clock = lodge::clock::ManualClock::new();
    opts.clock = clock.clone();
    opts.poll = false; // only the handlers' own calls are counted
    opts.overrides.insert("LODGE_AUTH_IP_LIMIT".into(), "100000".into());
    opts.overrides.insert("RUST_LOG".into(), "warn".into());
    let stack = lodge_local::start(opts).await.expect("stack");
    let mut http = BTreeMap::new();
    for f in &stack.template.functions {
        let env = lodge::Env::from_map(stack.envs[&f.logical_id].clone().into_iter().collect());
        if let Invoker::Http(h) = functions::build(&f.binary, &env, &stack.aws, clock.clone()).unwrap() {
            for r in &f.routes {
                http.insert(r.key(), (r.clone(), h.clone()));
            }
        }
    }
    let bench = Bench {
        http,
        counts,
        origin: stack.url.clone(),
    };
    let outbox = lodge_local::outbox::Outbox::new(&moto.url);
    let table = stack
        .envs
        .values()
        .find_map(|e| e.get("LODGE_TABLE").cloned())
        .expect("a table");
    let store = lodge::store::Store::new(lodge::aws::dynamodb(&stack.aws), table);
    let feed_runs: usize = std::env::var("FEED_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(runs);
    bench.take_counts().await;
    // Named, so a profile can pick this thread alone (`perf report --comm flows-handler`).
    std::thread::Builder::new()
        .name("flows-handler".into())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("handler runtime")
                .block_on(async {
                    // Printed as soon as measured: the feed's seeding takes minutes.
                    let steps = measure(&bench, &outbox, &clock, runs).await;
                    print_table(&format!("Request path, {runs} runs each"), steps);
                    // Issue 12: seeds 10,000 posts and 100,000 comments, then the
                    // feed pages, the post page, a comment and a vote.
                    if feed::seeding() {
                        feed::measure(&bench, &outbox, &store, &clock, (runs, feed_runs), print_table).await;
                    }
                })
        })
        .expect("measurement thread")
        .join()
        .expect("measurement thread");
    stack.stop();
    moto.stop().await;
}

/// Runs every flow `runs` times on the calling (single-threaded) runtime.
async fn measure(
    bench: &Bench,
    outbox: &lodge_local::outbox::Outbox,
    clock: &lodge::clock::ManualClock,
    runs: usize,
) -> Vec<Step> {
    let names = [
        "request code (member)",
        "request code (unknown address)",
        "redeem code → session",
        "GET /api/me (signed in)",
        "create invite (JSON)",
        "activate invite",
        "submit intro",
        "approve intro",
    ];
    let mut steps: Vec<Step> = names
        .iter()
        .map(|n| Step {
            name: n,
            times: vec![],
            own: vec![],
            calls: BTreeMap::new(),
            items: 0,
        })
        .collect();
    let mut record =
        |i: usize, (wall, cpu): (Duration, Duration), (calls, _, items): (BTreeMap<String, u32>, Duration, u32)| {
            steps[i].times.push(wall);
            steps[i].own.push(cpu);
            steps[i].calls = calls;
            steps[i].items = items;
        };
    let mut member: Option<String> = None;
    let admin = "admin@lodge.local";
    for run in 0..runs {
        let form = |pairs: &[(&str, &str)]| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        };
        // A configured admin costs two extra reads (the admin bootstrap), so the
        // code request is measured for a regular member (last run's newcomer).
        let (s, _, _, t) = bench
            .call(
                "POST /auth/email",
                "/auth/email",
                &form(&[("email", member.as_deref().unwrap_or(admin))]),
                None,
            )
            .await;
        assert_eq!(s, 200);
        let counted = bench.take_counts().await;
        if member.is_some() {
            record(0, t, counted);
        }
        bench
            .call("POST /auth/email", "/auth/email", &form(&[("email", admin)]), None)
            .await;
        bench.take_counts().await;
        let stranger = format!("nobody{run}@example.org");
        let (_, _, _, t) = bench
            .call("POST /auth/email", "/auth/email", &form(&[("email", &stranger)]), None)
            .await;
        record(1, t, bench.take_counts().await);
        let mails = outbox.list().await.unwrap();
        let body = &mails
            .iter()
            .rev()
            .find(|m| m.to.iter().any(|t| t == admin))
            .unwrap()
            .body;
        let code = &body[body.find("data-login-code>").unwrap() + 16..][..6];
        bench.take_counts().await;
        let (s, h, _, t) = bench
            .call(
                "POST /auth/code",
                "/auth/code",
                &form(&[("email", admin), ("code", code)]),
                None,
            )
            .await;
        assert_eq!(s, 303);
        record(2, t, bench.take_counts().await);
        let cookie = cookie_of(&h);
        let (s, _, _, t) = bench.call("GET /api/me", "/api/me", "", Some(&cookie)).await;
        assert_eq!(s, 200);
        record(3, t, bench.take_counts().await);
        let (s, _, text, t) = bench.call("POST /api/invites", "/api/invites", "", Some(&cookie)).await;
        assert_eq!(s, 201, "{text}");
        record(4, t, bench.take_counts().await);
        let invite: serde_json::Value = serde_json::from_str(&text).unwrap();
        let code = invite["code"].as_str().unwrap();
        let newcomer = format!("newcomer{run}@example.org");
        let (s, _, _, t) = bench
            .call(
                "POST /invite/{code}/activate",
                &format!("/invite/{code}/activate"),
                &form(&[("email", &newcomer)]),
                None,
            )
            .await;
        assert_eq!(s, 200);
        record(5, t, bench.take_counts().await);
        let mails = outbox.list().await.unwrap();
        let body = &mails
            .iter()
            .rev()
            .find(|m| m.to.iter().any(|t| t == &newcomer))
            .unwrap()
            .body;
        let ncode = &body[body.find("data-login-code>").unwrap() + 16..][..6];
        let (_, h, _, _) = bench
            .call(
                "POST /auth/code",
                "/auth/code",
                &form(&[("email", &newcomer), ("code", ncode)]),
                None,
            )
            .await;
        let ncookie = cookie_of(&h);
        bench.take_counts().await;
        let (s, _, _, t) = bench
            .call(
                "POST /intro",
                "/intro",
                &form(&[
                    // A name of their own: with one shared name every approval
                    // probed the taken handles (`benchperson2`, `…3`, …).
                    ("name", &format!("Bench Person {run}")),
                    ("about", "A benchmark member with a long enough intro."),
                    ("links", ""),
                ]),
                Some(&ncookie),
            )
            .await;
        assert_eq!(s, 303);
        record(6, t, bench.take_counts().await);
        let (_, _, me, _) = bench.call("GET /api/me", "/api/me", "", Some(&ncookie)).await;
        let id = serde_json::from_str::<serde_json::Value>(&me).unwrap()["member"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        bench.take_counts().await;
        let (s, _, _, t) = bench
            .call(
                "POST /admin/moderation/{id}",
                &format!("/admin/moderation/{id}"),
                &form(&[("decision", "approve")]),
                Some(&cookie),
            )
            .await;
        assert_eq!(s, 200);
        record(7, t, bench.take_counts().await);
        member = Some(newcomer.clone());
        // Next hour: keeps the admin within the 3-codes-per-hour quota.
        clock.advance(3601);
    }
    steps
}

fn print_table(title: &str, mut steps: Vec<Step>) {
    println!(
        "\n{title}, handlers called in-process (debug={})\n",
        cfg!(debug_assertions)
    );
    println!(
        "| step | handler median ms | p95 ms | p99 ms | own CPU median ms | own CPU p95 ms | DynamoDB calls | items read | SES | SQS |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|");
    for s in &mut steps {
        s.times.sort();
        s.own.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let p = |q: f64| ms(s.times[((s.times.len() as f64 - 1.0) * q).round() as usize]);
        let own = ms(s.own[s.own.len() / 2]);
        let own95 = ms(s.own[((s.own.len() as f64 - 1.0) * 0.95).round() as usize]);
        let ddb: Vec<String> = s
            .calls
            .iter()
            .filter(|(k, _)| k.starts_with("dynamodb:"))
            .map(|(k, v)| format!("{v}× {}", &k[9..]))
            .collect();
        let count = |prefix: &str| {
            s.calls
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, v)| v)
                .sum::<u32>()
        };
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {} ({}) | {} | {} | {} |",
            s.name,
            p(0.5),
            p(0.95),
            p(0.99),
            own,
            own95,
            count("dynamodb:"),
            ddb.join(", "),
            s.items,
            count("ses:"),
            count("sqs:")
        );
    }
}
