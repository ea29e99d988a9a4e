//! The post rules against moto, each at its edge.

use super::*;
use crate::domain::{Email, MemberStatus, PostFields, Role};
use crate::markdown::{render, NoMentions};
use crate::store::testing;

const T: i64 = 1_796_169_600_000;

async fn member(store: &Store, name: &str, role: Role) -> Member {
    let mut m = Member::new(
        Email::parse(&format!(
            "{}@x.org",
            crate::crypto::random_token(6).to_lowercase().replace(['-', '_'], "x")
        ))
        .unwrap(),
        role,
        MemberStatus::Approved,
        0,
    );
    m.display_name = Some(name.into());
    store.members().create(&m).await.unwrap();
    m
}

fn new_post(pairs: &[(&str, &str)]) -> NewPost {
    let fields: PostFields = serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).unwrap()).unwrap();
    NewPost::parse(&fields, 0).unwrap()
}

async fn publish(store: &Store, author: &Member, at: i64) -> Result<Card, PostError> {
    let post = new_post(&[("type", "post"), ("title", "Hello"), ("body", "Some *text*")]);
    store
        .posts()
        .create(&post, author, &render(post.body.as_str(), &NoMentions), at)
        .await
}

async fn item(store: &Store, id: &PostId, sk: &str) -> Option<serde_json::Value> {
    store.get(&Key::post_item(id, sk)).await.unwrap()
}

#[tokio::test]
async fn a_post_is_created_with_its_listings_and_the_room_must_exist() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let post = new_post(&[
        ("type", "post"),
        ("title", "In a room"),
        ("body", "x"),
        ("room", "travel"),
        ("public", "on"),
    ]);
    let rendered = render("x", &NoMentions);
    let out = store.posts().create(&post, &ada, &rendered, T).await;
    assert!(matches!(out, Err(PostError::NoRoom)), "{out:?}");
    assert_eq!(
        store.rings().read(Ring::POSTS, &ada.id).await.unwrap().n,
        0,
        "a refused post costs nothing"
    );
    store
        .put(
            &Key::room(post.room.as_ref().unwrap()),
            &serde_json::json!({"title": "Travel"}),
        )
        .await
        .unwrap();
    let card = store.posts().create(&post, &ada, &rendered, T).await.unwrap();
    for sk in [
        "POST",
        "BODY",
        "HTML",
        "LIST#TYPE",
        "LIST#ROOM",
        "LIST#PUBLIC",
        "LIST#AUTHOR",
    ] {
        assert!(item(&store, &card.id, sk).await.is_some(), "{sk}");
    }
    assert!(item(&store, &card.id, &format!("FOLLOW#{}", ada.id)).await.is_some());
    let room = item(&store, &card.id, "LIST#ROOM").await.unwrap();
    assert_eq!(room["lst"], "ROOM#travel");
    assert_eq!(room["gsi1pk"], "ROOM#travel");
    assert_eq!(room["title"], "In a room");
}

#[tokio::test]
async fn drafts_are_in_no_listing_until_published() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let post = new_post(&[("type", "question"), ("title", "Draft?"), ("draft", "on")]);
    let card = store
        .posts()
        .create(&post, &ada, &render("", &NoMentions), T)
        .await
        .unwrap();
    assert_eq!(card.state, PostState::Draft);
    let raw = item(&store, &card.id, "POST").await.unwrap();
    assert_eq!(raw["gsi1pk"], format!("DRAFTS#{}", ada.id));
    assert!(raw.get("lst").is_none() && item(&store, &card.id, "LIST#TYPE").await.is_none());
    assert_eq!(store.posts().drafts(&ada.id).await.unwrap().len(), 1);
    let bob = member(&store, "Bob", Role::Member).await;
    assert!(matches!(
        store.posts().publish(&card.id, &bob.id, T).await,
        Err(PostError::NotFound)
    ));
    let (published, event) = store.posts().publish(&card.id, &ada.id, T + 5).await.unwrap();
    assert!(event.is_some_and(|e| e.at_ms() == T + 5));
    assert_eq!(published.state, PostState::Published);
    let raw = item(&store, &card.id, "POST").await.unwrap();
    assert_eq!(raw["lst"], "ALL");
    assert_eq!(raw["gsi1pk"], "ALL");
    assert!(item(&store, &card.id, "LIST#TYPE").await.is_some());
    assert!(store.posts().drafts(&ada.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn votes_are_exact_once_per_member_never_own_and_retractable_for_24_hours() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let bob = member(&store, "Bob", Role::Member).await;
    let card = publish(&store, &ada, T).await.unwrap();
    assert!(matches!(
        store.posts().vote(&card.id, &ada.id, T).await,
        Err(PostError::OwnPost)
    ));
    let v = store.posts().vote(&card.id, &bob.id, T + 1000).await.unwrap();
    assert_eq!(
        v,
        VoteCount {
            upvotes: 1,
            voted: true,
            changed: true
        }
    );
    let again = store.posts().vote(&card.id, &bob.id, T + 2000).await.unwrap();
    assert_eq!(
        again,
        VoteCount {
            upvotes: 1,
            voted: true,
            changed: false
        }
    );
    for sk in ["POST", "LIST#TYPE", "LIST#AUTHOR"] {
        assert_eq!(item(&store, &card.id, sk).await.unwrap()["upvotes"], 1, "{sk}");
    }
    let profile: serde_json::Value = store.get(&Key::member(&ada.id)).await.unwrap().unwrap();
    assert_eq!(profile["received_upvotes"], 1);
    // Retract: allowed 1 ms before the window closes, refused at its end.
    let late = store.posts().unvote(&card.id, &bob.id, T + 1000 + RETRACT_MS).await;
    assert!(matches!(late, Err(PostError::RetractWindow)), "{late:?}");
    let back = store
        .posts()
        .unvote(&card.id, &bob.id, T + 1000 + RETRACT_MS - 1)
        .await
        .unwrap();
    assert_eq!(
        back,
        VoteCount {
            upvotes: 0,
            voted: false,
            changed: true
        }
    );
    assert_eq!(item(&store, &card.id, "LIST#AUTHOR").await.unwrap()["upvotes"], 0);
    let profile: serde_json::Value = store.get(&Key::member(&ada.id)).await.unwrap().unwrap();
    assert_eq!(profile["received_upvotes"], 0);
    // A vote in a later era rebases the score and moves every copy's hot partition.
    let later = T + 30 * 86_400_000;
    store.posts().vote(&card.id, &bob.id, later).await.unwrap();
    let raw = item(&store, &card.id, "LIST#TYPE").await.unwrap();
    let era = hot::era_of(later / 1000);
    assert_eq!(raw["hot_era"], era);
    assert_eq!(raw["hot_pk"], format!("TYPE#post#{era}"));
}

#[tokio::test]
async fn twenty_concurrent_voters_give_twenty_and_one_voter_twenty_times_gives_one() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let card = publish(&store, &ada, T).await.unwrap();
    let mut voters = Vec::new();
    for i in 0..20 {
        voters.push(member(&store, &format!("V{i}"), Role::Member).await);
    }
    let tasks: Vec<_> = voters
        .iter()
        .map(|v| {
            let (store, id, who) = (store.clone(), card.id.clone(), v.id.clone());
            tokio::spawn(async move { store.posts().vote(&id, &who, T + 10).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.posts().card(&card.id).await.unwrap().unwrap().upvotes, 20);
    let one = &voters[0];
    let other = publish(&store, &voters[1], T).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (store, id, who) = (store.clone(), other.id.clone(), one.id.clone());
            tokio::spawn(async move { store.posts().vote(&id, &who, T + 10).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.posts().card(&other.id).await.unwrap().unwrap().upvotes, 1);
    assert_eq!(item(&store, &other.id, "LIST#AUTHOR").await.unwrap()["upvotes"], 1);
}

#[tokio::test]
async fn unpublish_only_under_ten_comments() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let card = publish(&store, &ada, T).await.unwrap();
    store.posts().seed_comment_count(&card.id, 10).await.unwrap();
    assert!(matches!(
        store.posts().unpublish(&card.id, &ada.id, T).await,
        Err(PostError::TooManyComments(10))
    ));
    store.posts().seed_comment_count(&card.id, 9).await.unwrap();
    store.posts().unpublish(&card.id, &ada.id, T).await.unwrap();
    let raw = item(&store, &card.id, "POST").await.unwrap();
    assert_eq!(raw["state"], "draft");
    assert!(raw.get("lst").is_none() && item(&store, &card.id, "LIST#AUTHOR").await.is_none());
}

#[tokio::test]
async fn delete_hide_and_restore_keep_the_counters() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let bob = member(&store, "Bob", Role::Member).await;
    let moderator = member(&store, "Mo", Role::Moderator).await;
    let card = publish(&store, &ada, T).await.unwrap();
    store.posts().vote(&card.id, &bob.id, T + 1).await.unwrap();
    assert!(matches!(
        store.posts().delete(&card.id, Actor::of(&bob), T).await,
        Err(PostError::NotAllowed)
    ));
    store.posts().delete(&card.id, Actor::of(&ada), T + 2).await.unwrap();
    let raw = item(&store, &card.id, "POST").await.unwrap();
    assert_eq!((raw["state"].as_str(), raw.get("lst")), (Some("deleted"), None));
    assert!(matches!(
        store.posts().vote(&card.id, &moderator.id, T).await,
        Err(PostError::NotFound)
    ));
    assert!(matches!(
        store.posts().restore(&card.id, Actor::of(&ada), T).await,
        Err(PostError::NotAllowed)
    ));
    store
        .posts()
        .restore(&card.id, Actor::of(&moderator), T + 3)
        .await
        .unwrap();
    let raw = item(&store, &card.id, "LIST#TYPE").await.unwrap();
    assert_eq!(
        (raw["upvotes"].as_i64(), raw["lst"].as_str()),
        (Some(1), Some("TYPE#post"))
    );
    store
        .posts()
        .hide(&card.id, Actor::of(&moderator), "Off topic", T + 4)
        .await
        .unwrap();
    let hidden = store.posts().card(&card.id).await.unwrap().unwrap();
    assert_eq!(
        (hidden.state, hidden.hidden_reason.as_deref()),
        (PostState::Hidden, Some("Off topic"))
    );
    store
        .posts()
        .restore(&card.id, Actor::of(&moderator), T + 5)
        .await
        .unwrap();
    let back = store.posts().card(&card.id).await.unwrap().unwrap();
    assert_eq!(
        (back.state, back.hidden_reason, back.upvotes),
        (PostState::Published, None, 1)
    );
}

#[tokio::test]
async fn edits_keep_history_and_are_the_authors() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let bob = member(&store, "Bob", Role::Member).await;
    let card = publish(&store, &ada, T).await.unwrap();
    let title = PostTitle::parse("Hello again").unwrap();
    let body = PostBody::parse("New **body**").unwrap();
    let r = render(body.as_str(), &NoMentions);
    assert!(matches!(
        store
            .posts()
            .edit(&card.id, Actor::of(&bob), &title, &body, &r, T + 1)
            .await,
        Err(PostError::NotAllowed)
    ));
    let edited = store
        .posts()
        .edit(&card.id, Actor::of(&ada), &title, &body, &r, T + 1)
        .await
        .unwrap();
    assert_eq!(edited.version, 2);
    assert_eq!(
        item(&store, &card.id, "LIST#TYPE").await.unwrap()["title"],
        "Hello again"
    );
    let history = store.posts().history(&card.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].title.as_str(), history[0].body.as_str()),
        ("Hello", "Some *text*")
    );
    assert!(store
        .posts()
        .page(&card.id, None)
        .await
        .unwrap()
        .unwrap()
        .html
        .html
        .contains("<strong>body</strong>"));
}

#[tokio::test]
async fn bookmarks_and_rsvps_are_idempotent() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let bob = member(&store, "Bob", Role::Member).await;
    let post = new_post(&[
        ("type", "event"),
        ("title", "Meetup"),
        ("starts_at", "2026-12-20T19:00Z"),
        ("place", "Café"),
    ]);
    let card = store
        .posts()
        .create(&post, &ada, &render("", &NoMentions), T)
        .await
        .unwrap();
    let cal = item(&store, &card.id, "LIST#EVENTS").await.unwrap();
    assert_eq!(cal["gsi1pk"], "EVENTS");
    for _ in 0..2 {
        store.posts().bookmark(&card.id, &bob.id, true, T).await.unwrap();
        assert_eq!(store.posts().rsvp(&card.id, &bob, true, T).await.unwrap(), 1);
    }
    let marks: Vec<serde_json::Value> = store.query_gsi1(&bookmarks_of(&bob.id), None, true).await.unwrap();
    assert_eq!(marks.len(), 1);
    let page = store.posts().page(&card.id, Some(&bob.id)).await.unwrap().unwrap();
    assert_eq!((page.card.going, page.going.len()), (1, 1));
    assert!(page.reader.bookmarked_at.is_some() && page.reader.rsvp_at.is_some());
    store.posts().bookmark(&card.id, &bob.id, false, T).await.unwrap();
    assert_eq!(store.posts().rsvp(&card.id, &bob, false, T).await.unwrap(), 0);
    assert_eq!(store.posts().rsvp(&card.id, &bob, false, T).await.unwrap(), 0);
    let marks: Vec<serde_json::Value> = store.query_gsi1(&bookmarks_of(&bob.id), None, true).await.unwrap();
    assert!(marks.is_empty());
    let plain = publish(&store, &ada, T).await.unwrap();
    assert!(matches!(
        store.posts().rsvp(&plain.id, &bob, true, T).await,
        Err(PostError::NotEvent)
    ));
}

#[tokio::test]
async fn the_fourth_post_in_24_hours_is_refused_but_not_for_moderators() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let moderator = member(&store, "Mo", Role::Moderator).await;
    for i in 0..3 {
        publish(&store, &ada, T + i).await.unwrap();
        publish(&store, &moderator, T + i).await.unwrap();
    }
    match publish(&store, &ada, T + 10).await {
        Err(PostError::Limited(full)) => assert_eq!(full.frees_at_ms, T + 86_400_000),
        other => panic!("{other:?}"),
    }
    publish(&store, &moderator, T + 10).await.unwrap();
    publish(&store, &ada, T + 86_400_000).await.unwrap();
}

#[tokio::test]
async fn a_100000_character_body_of_4_byte_characters_and_its_html_fit_stored_deflated() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let body = "𝄞".repeat(99_990) + " **end**";
    assert_eq!(body.chars().count(), 99_998);
    assert!(body.len() > MAX_ITEM_BYTES, "over the plain limit: {}", body.len());
    let post = new_post(&[("type", "post"), ("title", "Long"), ("body", &body)]);
    let rendered = render(post.body.as_str(), &NoMentions);
    let card = store.posts().create(&post, &ada, &rendered, T).await.unwrap();
    let page = store.posts().page(&card.id, Some(&ada.id)).await.unwrap().unwrap();
    assert_eq!(page.html.html, rendered.html);
    assert_eq!(store.posts().body(&card.id).await.unwrap().unwrap().body, body);
    // An edit keeps the old body, deflated too, as a revision.
    let title = crate::domain::PostTitle::parse("Longer").unwrap();
    let next = crate::domain::PostBody::parse(&(body.clone() + "!")).unwrap();
    let again = render(next.as_str(), &NoMentions);
    let by = Actor {
        id: &ada.id,
        name: "Ada",
        moderator: false,
    };
    store
        .posts()
        .edit(&card.id, by, &title, &next, &again, T + 1)
        .await
        .unwrap();
    let history = store.posts().history(&card.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].body, body);
    assert_eq!(store.posts().body(&card.id).await.unwrap().unwrap().body, next.as_str());
}

#[tokio::test]
async fn a_fixed_id_makes_one_post_and_an_added_ring_is_paid_in_the_same_transaction() {
    let store = testing::store().await;
    let ada = member(&store, "Ada", Role::Member).await;
    let moderator = member(&store, "Mo", Role::Moderator).await;
    let post = new_post(&[("type", "question"), ("title", "Where?"), ("body", "The key")]);
    let rendered = render(post.body.as_str(), &NoMentions);
    let ask = |id: PostId| Creation {
        id: Some(id),
        also: Some(Ring::QUESTIONS),
    };
    let first = PostId::generate(T);
    let card = store
        .posts()
        .create_as(&post, &ada, &rendered, T, &ask(first.clone()))
        .await
        .unwrap();
    assert_eq!((card.id.clone(), card.kind), (first.clone(), PostKind::Question));
    // The same id again (a second confirm): no twin, and nothing paid.
    assert!(matches!(
        store
            .posts()
            .create_as(&post, &ada, &rendered, T + 1, &ask(first))
            .await,
        Err(PostError::Exists)
    ));
    let rings = store.rings();
    assert_eq!(rings.read(Ring::QUESTIONS, &ada.id).await.unwrap().n, 1);
    assert_eq!(rings.read(Ring::POSTS, &ada.id).await.unwrap().n, 1);
    store
        .posts()
        .create_as(&post, &ada, &rendered, T + 2, &ask(PostId::generate(T + 2)))
        .await
        .unwrap();
    match store
        .posts()
        .create_as(&post, &ada, &rendered, T + 3, &ask(PostId::generate(T + 3)))
        .await
    {
        Err(PostError::LimitedBy(ring, full)) => {
            assert_eq!((ring, full.frees_at_ms), (Ring::QUESTIONS, T + 86_400_000))
        }
        other => panic!("{other:?}"),
    }
    // The refused question cost no post slot: one plain post still fits.
    assert_eq!(rings.read(Ring::POSTS, &ada.id).await.unwrap().n, 2);
    publish(&store, &ada, T + 4).await.unwrap();
    // Moderators skip the posts' ring but not an added one.
    for i in 0..2 {
        store
            .posts()
            .create_as(&post, &moderator, &rendered, T + i, &ask(PostId::generate(T + i)))
            .await
            .unwrap();
    }
    assert!(matches!(
        store
            .posts()
            .create_as(&post, &moderator, &rendered, T + 5, &ask(PostId::generate(T + 5)))
            .await,
        Err(PostError::LimitedBy(..))
    ));
}
