//! `make bench-forward`: channel forwarding under Telegram-style pressure.
//!
//! Starts the local stack (AWS stand-in, every function of template.yaml)
//! against a fake Bot API that enforces send limits (429 + retry_after) and
//! injects 5xx answers and timeouts, then posts source messages — singles,
//! albums and edits — to the webhook from ten source channels at once, each
//! feeding its own destination. It waits until every expected copy and edit
//! arrived (or progress stops) and prints what happened.
//!
//! Knobs (env): BENCH_MESSAGES (2000), BENCH_SOURCES (10),
//! BENCH_DESTS_PER_SOURCE (1), BENCH_FAULTS (0.05, split 4:1 between 5xx and
//! timeouts), BENCH_BOT_PER_SEC (30), BENCH_CHAT_PER_SEC (1), BENCH_GROUP
//! (60/60 = max/window seconds: Telegram's 20/min per group, tripled, so the
//! run takes minutes), BENCH_POST_RATE (10 source posts/s in all, like busy
//! channels; 0 = as fast as the webhook takes them).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use lodge::forwarding::{ForwardRule, RuleId};
use lodge_tests::{FakeTelegram, Faults, SendLimits};
use serde_json::json;
use tokio::sync::Mutex;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const SOURCE_BASE: i64 = -1002000000000;
const DEST_BASE: i64 = -1003000000000;
const ALBUM_SIZE: usize = 3;

#[derive(Default)]
struct Posted {
    /// (source chat, message id) → when the webhook accepted it.
    at: HashMap<(i64, i64), Instant>,
    /// (source chat, message id) of text posts that were edited.
    edited: Vec<(i64, i64)>,
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("bench-forward: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    if let Ok(filter) = std::env::var("BENCH_RUST_LOG") {
        // The functions run in this process: their logs, for digging into a run.
        std::env::set_var("RUST_LOG", filter);
        lodge::telemetry::init();
    }
    let messages: usize = env_or("BENCH_MESSAGES", 2000);
    let sources: usize = env_or("BENCH_SOURCES", 10);
    let faults: f64 = env_or("BENCH_FAULTS", 0.05);
    let bot_per_sec: usize = env_or("BENCH_BOT_PER_SEC", 30);
    let chat_per_sec: usize = env_or("BENCH_CHAT_PER_SEC", 1);
    let group: String = env_or("BENCH_GROUP", "60/60".to_string());
    let (group_max, group_window) = group
        .split_once('/')
        .and_then(|(m, w)| Some((m.parse::<usize>().ok()?, w.parse::<u64>().ok()?)))
        .ok_or("BENCH_GROUP must be max/seconds")?;
    let verbose = std::env::var("BENCH_VERBOSE").is_ok();
    // Source posts per second, all channels together (0 = as fast as the webhook takes them).
    let post_rate: f64 = env_or("BENCH_POST_RATE", 10.0);
    let dests_per_source: usize = env_or("BENCH_DESTS_PER_SOURCE", 1);
    let destinations = sources * dests_per_source;

    let limits = SendLimits {
        bot_per_sec,
        chat_per_sec,
        group_max,
        group_window: Duration::from_secs(group_window),
    };
    let fake = FakeTelegram::start_with(
        Some(limits),
        Faults {
            server_error: faults * 0.8,
            timeout: faults * 0.2,
            hang: Duration::from_secs(6),
        },
    )
    .await;

    println!("Starting the local stack (AWS stand-in + every function)…");
    let mut opts = lodge_local::Options::new(lodge_tests::repo_root().join("template.yaml"), &lodge_tests::moto_url());
    opts.prefix = format!("{}-", lodge_tests::unique("bench"));
    let overrides = [
        ("TELEGRAM_API_BASE", fake.url.clone()),
        ("LODGE_FORWARD_LIMIT_BOT", format!("{bot_per_sec}/1")),
        ("LODGE_FORWARD_LIMIT_CHAT", format!("{chat_per_sec}/1")),
        ("LODGE_FORWARD_LIMIT_GROUP", format!("{group_max}/{group_window}")),
        ("LODGE_FORWARD_BACKOFF_SECS", "1".to_string()),
        (
            "RUST_LOG",
            std::env::var("BENCH_RUST_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ];
    opts.overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    let stack = lodge_local::start(opts).await?;
    let store = lodge::store::Store::new(lodge::aws::dynamodb(&stack.aws), stack.physical.refs["Table"].clone());
    let secret = stack
        .env("TelegramWebhookFunction", "LODGE_TELEGRAM_WEBHOOK_SECRET")
        .ok_or("no webhook secret")?
        .to_string();

    // Source i feeds its own destination(s); the last source forwards, the others copy.
    let mut dests_of: BTreeMap<i64, (Vec<i64>, bool)> = BTreeMap::new();
    for s in 0..sources {
        let source = SOURCE_BASE - s as i64;
        let dests: Vec<i64> = (0..dests_per_source)
            .map(|d| DEST_BASE - (s * dests_per_source + d) as i64)
            .collect();
        let copy = s + 1 < sources || sources == 1;
        let rule = ForwardRule::from_json(
            RuleId::parse(&format!("bench-{s}")).map_err(|e| e.to_string())?,
            &json!({"source_chat_id": source, "destinations": dests.iter().map(|d| json!({"chat_id": d})).collect::<Vec<_>>(),
                    "mode": if copy { "copy" } else { "forward" }}),
        )
        .map_err(|e| e.to_string())?;
        store.forwarding().create_rule(&rule).await.map_err(|e| e.to_string())?;
        dests_of.insert(source, (dests, copy));
    }

    // The posting plan: per source, in order; every 20th post is an album,
    // every 10th text post is edited a few posts later.
    let per_source = messages.div_ceil(sources);
    let posted = Arc::new(Mutex::new(Posted::default()));
    let http = reqwest::Client::new();
    let url = format!("{}/telegram/webhook", stack.url);
    println!(
        "Posting {} source messages from {sources} channels to {destinations} destinations at {post_rate}/s; fake limits: {bot_per_sec}/s per bot, {chat_per_sec}/s per chat, {group_max}/{group_window}s per chat; {:.0}% faults",
        per_source * sources,
        faults * 100.0
    );
    let started = Instant::now();
    let mut posters = Vec::new();
    for s in 0..sources {
        let source = SOURCE_BASE - s as i64;
        let (posted, http, url, secret) = (posted.clone(), http.clone(), url.clone(), secret.clone());
        let interval = if post_rate > 0.0 {
            Duration::from_secs_f64(sources as f64 / post_rate)
        } else {
            Duration::ZERO
        };
        posters.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval.max(Duration::from_millis(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut next_id = 1i64;
            let mut sent = 0usize;
            let mut update_id = (s as i64 + 1) * 10_000_000;
            let mut to_edit: Vec<i64> = Vec::new();
            let date = lodge::clock::Clock::now(&lodge::clock::SystemClock);
            while sent < per_source {
                if !interval.is_zero() {
                    tick.tick().await;
                }
                let mut updates = Vec::new();
                if sent % 20 == 19 && per_source - sent >= ALBUM_SIZE {
                    let group = format!("album-{source}-{next_id}");
                    for k in 0..ALBUM_SIZE {
                        let id = next_id + k as i64;
                        let mut m = json!({"message_id": id, "date": date, "chat": {"id": source, "type": "channel"}, "media_group_id": group,
                            "photo": [{"file_id": format!("f{source}{id}"), "file_unique_id": format!("u{source}{id}")}]});
                        if k == 0 {
                            m["caption"] = json!(format!("Album {id} of {source}"));
                        }
                        updates.push((id, json!({"channel_post": m})));
                    }
                    next_id += ALBUM_SIZE as i64;
                    sent += ALBUM_SIZE;
                } else {
                    let id = next_id;
                    updates.push((id, json!({"channel_post": {"message_id": id, "date": date, "chat": {"id": source, "type": "channel"},
                        "text": format!("Post {id} from {source}: {}", lodge::crypto::random_token(6))}})));
                    if id % 10 == 0 {
                        to_edit.push(id);
                    }
                    next_id += 1;
                    sent += 1;
                }
                // Edit a post from a little while ago.
                if to_edit.first().is_some_and(|id| next_id - id > 5) {
                    let id = to_edit.remove(0);
                    updates.push((0, json!({"edited_channel_post": {"message_id": id, "date": date, "edit_date": date + 1,
                        "chat": {"id": source, "type": "channel"}, "text": format!("Post {id} from {source} (edited)")}})));
                    posted.lock().await.edited.push((source, id));
                }
                for (id, mut update) in updates {
                    update_id += 1;
                    update["update_id"] = json!(update_id);
                    loop {
                        let r = http.post(&url).header("x-telegram-bot-api-secret-token", &secret).json(&update).send().await;
                        match r {
                            Ok(r) if r.status().is_success() => break,
                            // The webhook asks for a redelivery, as Telegram would do.
                            _ => tokio::time::sleep(Duration::from_millis(200)).await,
                        }
                    }
                    if id > 0 {
                        posted.lock().await.at.insert((source, id), Instant::now());
                    }
                }
            }
        }));
    }
    for p in posters {
        p.await.map_err(|e| e.to_string())?;
    }
    let posting = started.elapsed();
    let posted = Arc::try_unwrap(posted)
        .map_err(|_| "posters still running")?
        .into_inner();

    // What must arrive: every source message in both destinations of its rule,
    // every edit of a copied post in both destinations.
    let mut expected: HashMap<(i64, i64, i64), Instant> = HashMap::new();
    for ((source, id), at) in &posted.at {
        for dest in &dests_of[source].0 {
            expected.insert((*dest, *source, *id), *at);
        }
    }
    let expected_edits: usize = posted.edited.iter().filter(|(s, _)| dests_of[s].1).count() * dests_per_source;
    println!(
        "Posted {} messages + {} edits in {:.1} s; waiting for delivery…",
        posted.at.len(),
        posted.edited.len(),
        posting.as_secs_f64()
    );

    let mut last_progress = (0usize, Instant::now());
    loop {
        let delivered: usize = fake
            .deliveries()
            .iter()
            .filter(|d| d.chat_id <= DEST_BASE)
            .map(|d| d.source_ids.len())
            .sum();
        let edits = fake.edits().len();
        if delivered >= expected.len() && edits >= expected_edits {
            break;
        }
        if delivered + edits > last_progress.0 {
            last_progress = (delivered + edits, Instant::now());
        } else if last_progress.1.elapsed() > Duration::from_secs(90) {
            println!("No progress for 90 s: stopping.");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let total = started.elapsed();

    // Tally.
    let mut seen: HashMap<(i64, i64, i64), (usize, Instant)> = HashMap::new();
    let mut sends = 0usize;
    let mut last_delivery = started;
    let mut out_of_order = 0usize;
    let mut last_per_dest: HashMap<i64, i64> = HashMap::new();
    for d in fake.deliveries().iter().filter(|d| d.chat_id <= DEST_BASE) {
        sends += 1;
        last_delivery = last_delivery.max(d.at);
        let Some(source) = d.from_chat_id else { continue };
        for id in &d.source_ids {
            let e = seen.entry((d.chat_id, source, *id)).or_insert((0, d.at));
            e.0 += 1;
            let last = last_per_dest.entry(d.chat_id).or_insert(0);
            if *id < *last {
                out_of_order += 1;
                if verbose {
                    println!("  out of order: {} got {id} ({}) after {last}", d.chat_id, d.method);
                }
            }
            *last = (*last).max(*id);
        }
    }
    // Longest silence of one destination between deliveries (its FIFO
    // group held back: a wait, a retry, or a message in flight).
    let mut times_per_dest: HashMap<i64, Vec<Instant>> = HashMap::new();
    for d in fake.deliveries().iter().filter(|d| d.chat_id <= DEST_BASE) {
        times_per_dest.entry(d.chat_id).or_default().push(d.at);
    }
    // (gap, destination, index of the delivery that ends it), longest first.
    let mut stalls: Vec<(Duration, i64, usize)> = times_per_dest
        .iter_mut()
        .flat_map(|(dest, times)| {
            times.sort();
            times
                .windows(2)
                .enumerate()
                .map(|(i, w)| (w[1] - w[0], *dest, i + 1))
                .collect::<Vec<_>>()
        })
        .collect();
    stalls.sort_by(|a, b| b.cmp(a));
    let longest_stall = stalls.first().map(|s| s.0).unwrap_or_default();
    let delivered = seen.keys().filter(|k| expected.contains_key(k)).count();
    let duplicates: usize = seen.values().map(|(n, _)| n.saturating_sub(1)).sum();
    let unexpected = seen.keys().filter(|k| !expected.contains_key(k)).count();
    let lost = expected.len() - delivered;
    if verbose {
        for (k, (n, _)) in seen.iter().filter(|(_, (n, _))| *n > 1) {
            println!("  duplicate: {k:?} × {n}");
        }
        for k in expected.keys().filter(|k| !seen.contains_key(k)) {
            println!("  lost: {k:?}");
        }
    }
    let mut latencies: Vec<f64> = seen
        .iter()
        .filter_map(|(k, (_, at))| {
            expected
                .get(k)
                .map(|posted| at.saturating_duration_since(*posted).as_secs_f64())
        })
        .collect();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0)
    };
    let (r429, r5xx, timeouts) = fake.faults_seen();
    let span = last_delivery.duration_since(started).as_secs_f64().max(0.001);
    let achieved = delivered as f64 / span;
    let per_chat = (chat_per_sec as f64).min(group_max as f64 / group_window as f64);
    let allowed = (bot_per_sec as f64).min(destinations as f64 * per_chat);
    let edits = fake.edits().len();
    if verbose {
        let mut per_target: HashMap<(i64, i64), usize> = HashMap::new();
        for e in fake.edits() {
            *per_target.entry((e.chat_id, e.message_id)).or_default() += 1;
        }
        println!("  edit targets: {} distinct of {} edits", per_target.len(), edits);
    }

    println!();
    println!("Forwarding benchmark ({} source messages incl. albums of {ALBUM_SIZE}, {} edits, {sources} sources → {destinations} destinations)", posted.at.len(), posted.edited.len());
    println!("  delivered vs expected    {delivered} / {}", expected.len());
    println!("  duplicates               {duplicates}");
    println!("  lost                     {lost}");
    println!("  unexpected               {unexpected}");
    println!("  edits applied            {edits} / {expected_edits}");
    println!("  out of order             {out_of_order}");
    println!("  Bot API sends            {sends} (albums are one call)");
    println!("  429s received            {r429}");
    println!("  5xx / timeouts injected  {r5xx} / {timeouts}");
    println!(
        "  achieved rate            {achieved:.1} msg/s = {:.0}% of the {allowed:.1} msg/s the limits allow",
        achieved / allowed * 100.0
    );
    println!(
        "  latency source→dest      p50 {:.2} s, p99 {:.2} s",
        pct(0.50),
        pct(0.99)
    );
    println!(
        "  longest group stall      {:.1} s (one destination's gap between deliveries)",
        longest_stall.as_secs_f64()
    );
    println!(
        "  wall time                {:.1} s (posting {:.1} s)",
        total.as_secs_f64(),
        posting.as_secs_f64()
    );
    // What the fake was asked for the destination during the longest stalls:
    // the sends between the delivery before each gap and the one ending it.
    for (gap, dest, ends) in stalls.iter().take(3) {
        let to_dest: Vec<_> = fake
            .calls()
            .into_iter()
            .filter(|c| {
                !c.method.starts_with("edit") && c.params.get("chat_id").and_then(|v| v.as_i64()) == Some(*dest)
            })
            .collect();
        let mut ok_seen = 0;
        let mut during = Vec::new();
        for c in &to_dest {
            if ok_seen == *ends {
                break;
            }
            if ok_seen == ends - 1 && !c.ok {
                let e = c.error.clone().unwrap_or_default();
                during.push(format!(
                    "{} {} retry_after={}",
                    c.method, e["error_code"], e["parameters"]["retry_after"]
                ));
            }
            ok_seen += usize::from(c.ok);
        }
        let at = times_per_dest[dest][ends - 1].duration_since(started).as_secs_f64();
        println!(
            "  stall {:.1} s at {dest} from t={at:.1} s; failed sends in it: {}",
            gap.as_secs_f64(),
            if during.is_empty() {
                "none".to_string()
            } else {
                during.join(", ")
            }
        );
    }
    let dlq = stack
        .sqs
        .get_queue_attributes()
        .queue_url(&stack.physical.refs["ForwardDLQ"])
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .ok()
        .and_then(|o| {
            o.attributes()
                .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages).cloned())
        })
        .unwrap_or_default();
    println!("  dead-lettered            {dlq}");
    stack.stop();
    if delivered != expected.len() || duplicates > 0 || lost > 0 {
        return Err("delivery was not exactly-once".into());
    }
    Ok(())
}
