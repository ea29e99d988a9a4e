//! Issue 12's figures: a club of `BENCH_POSTS` posts (10,000) and
//! `BENCH_COMMENTS` comments (100,000), seeded through the store in bulk,
//! then the feed pages measured like the flows above.
//!
//! Hooks for the other issue 12 routes: the seed keeps one post with 300
//! comments (`Club::big_thread`) for "a post page with 300 comments"; the
//! post page, comment submit and vote steps are added beside `STEPS` once
//! the `posts` and `comments` functions exist (see the hook below).

use lodge::domain::{MemberId, PostId, PostKind, RoomSlug, Visibility};
use lodge::feed::FeedOrder;
use lodge::store::listing::Listing;
use lodge::store::seed::SeedPost;
use lodge::store::Store;

use super::{cookie_of, Bench, Step};

const HOUR: i64 = 3_600_000;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// What was seeded, for the steps.
pub struct Club {
    /// The post with 300 comments (the post page's benchmark).
    pub big_thread: PostId,
    pub room: RoomSlug,
}

/// Posts over the last 60 days in 5 rooms and every type, a fifth public,
/// upvotes skewed like a real club's; comments 10 a post on average, and
/// 300 on one.
pub async fn seed(store: &Store, now_ms: i64) -> Club {
    let posts = env_count("BENCH_POSTS", 10_000);
    let comments = env_count("BENCH_COMMENTS", 100_000);
    let rooms: Vec<RoomSlug> = ["travel", "books", "jobs", "kids", "sport"]
        .iter()
        .map(|r| RoomSlug::parse(r).unwrap())
        .collect();
    let authors: Vec<MemberId> = (0..200).map(|_| MemberId::generate()).collect();
    let per_post = if posts > 1 {
        comments.saturating_sub(300) / (posts - 1)
    } else {
        0
    };
    let started = std::time::Instant::now();
    let mut batch = Vec::new();
    let mut big_thread = None;
    for i in 0..posts {
        let at = now_ms - (i as i64 * 60 * 24 * HOUR) / posts.max(1) as i64 - 60_000;
        let mut p = SeedPost::new(authors[i % authors.len()].clone(), &format!("Benchmark post {i}"), at);
        p.kind = PostKind::ALL[i % 4];
        p.room = (i % 3 != 0).then(|| rooms[i % rooms.len()].clone());
        p.visibility = if i % 5 == 0 {
            Visibility::Public
        } else {
            Visibility::Members
        };
        p.upvotes = ((i * 7919) % 97) as i64 / 4;
        let n = if i == 0 { 300.min(comments) } else { per_post };
        p.comment_count = n as i64;
        p.comment_seq = n as i64;
        p.activity = at + (n as i64) * 60_000;
        if p.kind == PostKind::Event {
            p.starts_at = Some(now_ms + (i as i64 % 30) * 24 * HOUR);
        }
        if i == 0 {
            big_thread = Some(p.id.clone());
        }
        batch.push((p, n, at));
    }
    let cards: Vec<SeedPost> = batch.iter().map(|(p, _, _)| p.clone()).collect();
    for chunk in cards.chunks(500) {
        store.seed().posts(chunk).await.expect("seed posts");
    }
    eprintln!("seeded {posts} posts in {:.0?}", started.elapsed());
    let started = std::time::Instant::now();
    for (p, n, at) in &batch {
        if *n > 0 {
            store.seed().comments(&p.id, *n, *at).await.expect("seed comments");
        }
    }
    eprintln!(
        "seeded {} comments in {:.0?}",
        batch.iter().map(|b| b.1).sum::<usize>(),
        started.elapsed()
    );
    Club {
        big_thread: big_thread.expect("at least one post"),
        room: rooms[1].clone(),
    }
}

pub const STEPS: [&str; 9] = [
    "feed: GET / (activity, home)",
    "feed: GET /?sort=new",
    "feed: GET /?sort=hot",
    "feed: GET /?sort=top&period=week",
    "feed: GET /?sort=top&period=year",
    "feed: GET / page 2 (cursor)",
    "feed: GET /rooms/{slug}",
    "feed: GET /bookmarks",
    "feed: GET /feed.xml",
];

// Hook: the other issue 12 routes go here once they exist, as more
// `STEPS` and `paths` entries: the post page of `Club::big_thread` (300
// comments), a comment submit on it, a vote.

fn step(name: &'static str) -> Step {
    Step {
        name,
        times: vec![],
        own: vec![],
        calls: Default::default(),
        items: 0,
    }
}

/// Signs in `email` (a code by email, then the session) and returns the cookie.
async fn sign_in(bench: &Bench, outbox: &lodge_local::outbox::Outbox, email: &str) -> String {
    let form = |pairs: &[(&str, &str)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let (s, _, _, _) = bench
        .call("POST /auth/email", "/auth/email", &form(&[("email", email)]), None)
        .await;
    assert_eq!(s, 200);
    let mails = outbox.list().await.unwrap();
    let body = &mails
        .iter()
        .rev()
        .find(|m| m.to.iter().any(|t| t == email))
        .unwrap()
        .body;
    let code = &body[body.find("data-login-code>").unwrap() + 16..][..6];
    let (s, h, _, _) = bench
        .call(
            "POST /auth/code",
            "/auth/code",
            &form(&[("email", email), ("code", code)]),
            None,
        )
        .await;
    assert_eq!(s, 303);
    cookie_of(&h)
}

pub async fn measure(
    bench: &Bench,
    outbox: &lodge_local::outbox::Outbox,
    store: &Store,
    clock: &lodge::clock::ManualClock,
    runs: usize,
) -> Vec<Step> {
    clock.advance(3601);
    let now = lodge::clock::Clock::now_ms(clock);
    let club = seed(store, now).await;
    let admin = "admin@lodge.local";
    let cookie = sign_in(bench, outbox, admin).await;
    let (_, _, me, _) = bench.call("GET /api/me", "/api/me", "", Some(&cookie)).await;
    let me: serde_json::Value = serde_json::from_str(&me).unwrap();
    let viewer = MemberId::parse(me["member"]["id"].as_str().unwrap()).unwrap();
    // The viewer has read some of the newest posts and bookmarked half of
    // those: their state is read for every card.
    let newest = store
        .feed()
        .page(&Listing::All, FeedOrder::New, None, &Default::default(), None, now)
        .await
        .unwrap()
        .unwrap();
    for (i, p) in newest.cards.iter().enumerate() {
        let bookmarked = (i % 2 == 0).then_some(now - i as i64);
        store
            .seed()
            .reader(&p.card.id, &viewer, i as i64 % 3, bookmarked)
            .await
            .unwrap();
    }
    eprintln!("the 300-comment thread (for the post page step): {}", club.big_thread);
    let mut steps: Vec<Step> = STEPS.iter().copied().map(step).collect();
    let room_path = format!("/rooms/{}", club.room);
    let (status, _, text, _) = bench.call_with("GET /", "/?sort=new", "", Some(&cookie), true).await;
    assert_eq!(status, 200, "{text}");
    let page: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cursor = page["next_cursor"].as_str().expect("a second page").to_string();
    let paths: Vec<(&str, String)> = vec![
        ("GET /", "/".to_string()),
        ("GET /", "/?sort=new".to_string()),
        ("GET /", "/?sort=hot".to_string()),
        ("GET /", "/?sort=top&period=week".to_string()),
        ("GET /", "/?sort=top&period=year".to_string()),
        ("GET /", format!("/?sort=new&cursor={cursor}")),
        ("GET /rooms/{slug}", room_path),
        ("GET /bookmarks", "/bookmarks".to_string()),
        ("GET /feed.xml", "/feed.xml".to_string()),
    ];
    bench.take_counts().await;
    for _ in 0..runs {
        for (i, (route, path)) in paths.iter().enumerate() {
            let (status, _, text, t) = bench.call(route, path, "", Some(&cookie)).await;
            assert_eq!(status, 200, "{path}: {text}");
            let (calls, _, items) = bench.take_counts().await;
            steps[i].times.push(t.0);
            steps[i].own.push(t.1);
            steps[i].calls = calls;
            steps[i].items = items;
        }
    }
    steps
}
