//! Issue 12's figures: a club of `BENCH_POSTS` posts (10,000) and
//! `BENCH_COMMENTS` comments (100,000), seeded through the store in bulk,
//! then the feed pages measured like the flows above.
//!
//! Then the post routes (`POST_STEPS`), as a regular member: the page of
//! the post with 300 comments (`Club::big_thread`), a comment submit and a
//! post upvote.

use lodge::domain::{MemberId, PostId, PostKind, RoomDescription, RoomSlug, RoomTitle, Visibility};
use lodge::feed::FeedOrder;
use lodge::store::listing::Listing;
use lodge::store::seed::SeedPost;
use lodge::store::Store;

use super::{cookie_of, Bench, Step};

const HOUR: i64 = 3_600_000;

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `BENCH_POSTS=0` skips this part (the request path alone).
pub fn seeding() -> bool {
    env_count("BENCH_POSTS", 10_000) > 0
}

/// What was seeded, for the steps.
pub struct Club {
    /// The post with 300 comments (the post page's benchmark).
    pub big_thread: PostId,
    /// Every other post, newest first (comment and vote targets).
    pub others: Vec<PostId>,
    pub room: RoomSlug,
    /// The sizes seeded, for the table's title.
    pub sizes: String,
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
    // The rest spread evenly, the first `extra` posts one more, so the
    // total is exactly `comments`.
    let rest = comments.saturating_sub(300);
    let (per_post, extra) = match posts {
        0 | 1 => (0, 0),
        n => (rest / (n - 1), rest % (n - 1)),
    };
    for r in &rooms {
        let title = RoomTitle::parse(&format!("Room {r}")).unwrap();
        let created = store
            .rooms()
            .create(r, &title, &RoomDescription::default(), now_ms - 61 * 24 * HOUR)
            .await
            .expect("seed rooms");
        created.expect("a new room");
    }
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
        let n = match i {
            0 => 300.min(comments),
            i if i <= extra => per_post + 1,
            _ => per_post,
        };
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
    let seeded = batch.iter().map(|b| b.1).sum::<usize>();
    eprintln!("seeded {seeded} comments in {:.0?}", started.elapsed());
    Club {
        big_thread: big_thread.expect("at least one post"),
        others: batch.iter().skip(1).map(|(p, _, _)| p.id.clone()).collect(),
        room: rooms[1].clone(),
        sizes: format!("{posts} posts and {seeded} comments seeded"),
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

pub const POST_STEPS: [&str; 3] = [
    "post: GET /posts/{id} (300 comments)",
    "comment: POST /posts/{id}/comments",
    "vote: POST /posts/{id}/vote",
];

/// A member the flows approved (run 0's newcomer): not staff, so the
/// comment ring and every member check are paid as a member pays them.
const MEMBER: &str = "newcomer0@example.org";

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
    (runs, feed_runs): (usize, usize),
    print: fn(&str, Vec<Step>),
) {
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
    // The post steps first: the feed's index queries are the stand-in's
    // slowest (moto reads a whole index for each).
    let steps = measure_posts(bench, outbox, &club, (&cookie, clock), runs).await;
    print(&format!("Posts, {}; {runs} runs each", club.sizes), steps);
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
    for _ in 0..feed_runs {
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
    print(&format!("Feed, {}; {feed_runs} runs each", club.sizes), steps);
}

/// The post page, a comment and a vote, `runs` times each, as `MEMBER`.
/// The comments go on the second-newest post (so the measured thread stays
/// at 300). Each run votes on another post (one vote per member and post),
/// written through `POST /posts` by the admin (`admin`'s cookie): a vote also
/// counts on its author's profile, which the seeded authors do not have.
async fn measure_posts(
    bench: &Bench,
    outbox: &lodge_local::outbox::Outbox,
    club: &Club,
    (admin, clock): (&str, &lodge::clock::ManualClock),
    runs: usize,
) -> Vec<Step> {
    let mut votable = Vec::with_capacity(runs);
    for i in 0..runs {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("type", "post"),
                ("title", &format!("A post to vote on {i}")),
                ("body", "Worth a vote."),
            ])
            .finish();
        let (status, _, text, _) = bench.call_with("POST /posts", "/posts", &form, Some(admin), true).await;
        assert_eq!(status, 201, "POST /posts: {text}");
        let post: serde_json::Value = serde_json::from_str(&text).unwrap();
        votable.push(post["post"]["id"].as_str().unwrap().to_string());
    }
    let cookie = sign_in(bench, outbox, MEMBER).await;
    let mut steps: Vec<Step> = POST_STEPS.iter().copied().map(step).collect();
    let page = format!("/posts/{}", club.big_thread);
    let thread = &club.others[0];
    let comments = format!("/posts/{thread}/comments");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "body",
            "Agreed, and **thanks** for the list. The [second one](https://example.org/guide) is the best.",
        )
        .finish();
    bench.take_counts().await;
    for target in votable.iter().take(runs) {
        let (status, _, text, t) = bench.call("GET /posts/{id}", &page, "", Some(&cookie)).await;
        assert_eq!(status, 200, "{page}: {text}");
        assert!(
            text.matches("id=\"c-").count() >= 300,
            "the page shows the 300 comments"
        );
        let (calls, _, items) = bench.take_counts().await;
        record(&mut steps[0], t, calls, items);

        let (status, _, text, t) = bench
            .call_with("POST /posts/{id}/comments", &comments, &body, Some(&cookie), true)
            .await;
        assert_eq!(status, 201, "{comments}: {text}");
        let (calls, _, items) = bench.take_counts().await;
        record(&mut steps[1], t, calls, items);

        let vote = format!("/posts/{}/vote", target);
        let (status, _, text, t) = bench
            .call_with("POST /posts/{id}/vote", &vote, "", Some(&cookie), true)
            .await;
        assert_eq!(status, 200, "{vote}: {text}");
        assert!(text.contains("\"voted\":true"), "{vote}: {text}");
        let (calls, _, items) = bench.take_counts().await;
        record(&mut steps[2], t, calls, items);
        // 100 comments a day: a quarter hour apart stays under the ring.
        clock.advance(900);
    }
    steps
}

fn record(
    step: &mut Step,
    (wall, cpu): (std::time::Duration, std::time::Duration),
    calls: std::collections::BTreeMap<String, u32>,
    items: u32,
) {
    step.times.push(wall);
    step.own.push(cpu);
    step.calls = calls;
    step.items = items;
}
