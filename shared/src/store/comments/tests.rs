//! The comment rules against the AWS stand-in. Posts are seeded as
//! docs/posts.md and `listing.rs` describe them (a `POST` card that is the
//! `ALL` entry, one `LIST#…` copy per other listing) until the posts code
//! can create them.

use std::collections::HashSet;

use serde::Serialize;

use super::*;
use crate::domain::{Email, Member, MemberStatus, Role};
use crate::store::listing::ListingAttrs;
use crate::store::testing;

const T0: i64 = 1_796_169_600_000; // 2026-12-02T00:00:00Z

#[derive(Serialize)]
struct SeedCard {
    kind: PostKind,
    title: String,
    author_id: MemberId,
    author_name: String,
    room: Option<RoomSlug>,
    visibility: Visibility,
    state: String,
    closed: bool,
    comment_count: i64,
    comment_seq: i64,
    created_at: i64,
    version: i64,
    #[serde(flatten)]
    listing: ListingAttrs,
}

/// A published post in a room, public: five listing items.
async fn seed_post(store: &Store, author: &Member, at: i64) -> PostId {
    let post = PostId::generate(at);
    let room = RoomSlug::parse("travel").unwrap();
    for listing in Listing::of(PostKind::Post, Some(&room), Visibility::Public, &author.id) {
        let card = SeedCard {
            kind: PostKind::Post,
            title: "A post".into(),
            author_id: author.id.clone(),
            author_name: author.name().into(),
            room: Some(room.clone()),
            visibility: Visibility::Public,
            state: PUBLISHED.into(),
            closed: false,
            comment_count: 0,
            comment_seq: 0,
            created_at: at,
            version: 1,
            listing: ListingAttrs::new(&listing, &post, at, at, Hot::published(at / 1000), 0),
        };
        store
            .put(&Key::post_item(&post, listing.sort_key()), &card)
            .await
            .unwrap();
    }
    post
}

async fn member(store: &Store, name: &str, role: Role) -> Member {
    let mut m = Member::new(
        Email::parse(&format!("{name}-{}@example.org", rand::random::<u32>())).unwrap(),
        role,
        MemberStatus::Approved,
        T0 / 1000,
    );
    m.display_name = Some(name.into());
    store.put(&Key::member(&m.id), &m).await.unwrap();
    m
}

fn actor(m: &Member) -> Actor {
    Actor {
        id: m.id.clone(),
        name: m.name().into(),
        moderator: m.role.can_moderate(),
    }
}

fn text(post: &PostId, parent: Option<&CommentId>, body: &str) -> NewComment {
    NewComment {
        post: post.clone(),
        parent: parent.cloned(),
        body: body.into(),
        html: format!("<p>{body}</p>"),
        mentions: vec![],
        source: None,
    }
}

#[derive(serde::Deserialize, Debug)]
struct Card {
    comment_count: i64,
    comment_seq: i64,
    activity: i64,
    hot: f64,
}

/// Every listing item of the post, asserting they agree, and the card.
async fn cards(store: &Store, post: &PostId) -> Card {
    let head = store.comments().post_head(post).await.unwrap().unwrap();
    let mut all = Vec::new();
    for l in head.listings() {
        let c: Card = store.get(&Key::post_item(post, l.sort_key())).await.unwrap().unwrap();
        all.push(c);
    }
    assert_eq!(all.len(), 5);
    for c in &all[1..] {
        assert_eq!(
            (c.comment_count, c.comment_seq, c.activity),
            (all[0].comment_count, all[0].comment_seq, all[0].activity),
            "a listing copy disagrees with the card"
        );
        assert!((c.hot - all[0].hot).abs() < 1e-9);
    }
    all.remove(0)
}

async fn close(store: &Store, post: &PostId) {
    store
        .update(
            &Key::post_item(post, "POST"),
            "SET closed = :t",
            None,
            &[],
            values([(":t", AttributeValue::Bool(true))]),
            None,
        )
        .await
        .unwrap();
}

async fn set_state(store: &Store, post: &PostId, state: &str) {
    store
        .update(
            &Key::post_item(post, "POST"),
            "SET #st = :s",
            None,
            &[("#st", "state")],
            values([(":s", s(state))]),
            None,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_comment_moves_every_listing_copy_and_marks_the_commenter() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let post = seed_post(&store, &alice, T0).await;
    let before = cards(&store, &post).await;
    let c = store
        .comments()
        .create(&actor(&bob), &text(&post, None, "hi"), T0 + 1000)
        .await
        .unwrap();
    assert_eq!((c.depth, c.seq, c.path.clone()), (1, 1, c.id.to_string()));
    let after = cards(&store, &post).await;
    assert_eq!(
        (after.comment_count, after.comment_seq, after.activity),
        (1, 1, T0 + 1000)
    );
    assert!(after.hot > before.hot, "a first commenter heats the post");
    // A second comment by the same member: counted, but no more heat.
    store
        .comments()
        .create(&actor(&bob), &text(&post, None, "again"), T0 + 2000)
        .await
        .unwrap();
    let again = cards(&store, &post).await;
    assert_eq!(
        (again.comment_count, again.comment_seq, again.activity),
        (2, 2, T0 + 2000)
    );
    assert!((again.hot - after.hot).abs() < 1e-9);
    // The author's own comment adds no heat either.
    store
        .comments()
        .create(&actor(&alice), &text(&post, None, "thanks"), T0 + 3000)
        .await
        .unwrap();
    assert!((cards(&store, &post).await.hot - after.hot).abs() < 1e-9);
    let r = store.comments().locate(&c.id).await.unwrap().unwrap();
    assert_eq!((r.post_id, r.path), (post.clone(), c.id.to_string()));
    #[derive(serde::Deserialize)]
    struct Reader {
        commented_at: i64,
    }
    let reader: Reader = store.get(&Key::post_reader(&post, &bob.id)).await.unwrap().unwrap();
    assert_eq!(reader.commented_at, T0 + 1000);
}

#[tokio::test]
async fn a_telegram_message_writes_one_comment_however_often_it_is_sent() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let post = seed_post(&store, &alice, T0).await;
    let from = |message_id| NewComment {
        source: Some(TelegramMessage { chat: 42, message_id }),
        ..text(&post, None, "from telegram")
    };
    let first = store
        .comments()
        .create(&actor(&bob), &from(7), T0 + 1000)
        .await
        .unwrap();
    let source = store
        .comments()
        .telegram_source(TelegramMessage {
            chat: 42,
            message_id: 7,
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (&source.comment_id, &source.path, &source.author_id),
        (&first.id, &first.path, &bob.id)
    );
    // Sent again later, after the post closed: the first comment, not a refusal.
    close(&store, &post).await;
    match store.comments().create(&actor(&bob), &from(7), T0 + 2000).await {
        Err(CommentError::AlreadyPosted(c)) => assert_eq!(*c, first),
        other => panic!("{other:?}"),
    }
    assert_eq!(cards(&store, &post).await.comment_count, 1);

    // Two attempts at once with a new message: one comment, the other told so.
    let open = seed_post(&store, &alice, T0).await;
    let from = NewComment {
        post: open.clone(),
        ..from(8)
    };
    let (comments, bob) = (store.comments(), actor(&bob));
    let (x, y) = tokio::join!(
        comments.create(&bob, &from, T0 + 3000),
        comments.create(&bob, &from, T0 + 3001)
    );
    let (won, lost) = match (x, y) {
        (Ok(c), Err(CommentError::AlreadyPosted(d))) | (Err(CommentError::AlreadyPosted(d)), Ok(c)) => (c, d),
        other => panic!("{other:?}"),
    };
    assert_eq!(won, *lost);
    assert_eq!(store.comments().of_post(&open).await.unwrap().len(), 1);
    assert_eq!(cards(&store, &open).await.comment_count, 1);
}

#[tokio::test]
async fn replies_nest_three_deep_and_a_deeper_one_answers_from_level_three() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let post = seed_post(&store, &alice, T0).await;
    let cs = store.comments();
    let l1 = cs.create(&actor(&bob), &text(&post, None, "1"), T0 + 1).await.unwrap();
    let l2 = cs
        .create(&actor(&alice), &text(&post, Some(&l1.id), "2"), T0 + 2)
        .await
        .unwrap();
    let l3 = cs
        .create(&actor(&bob), &text(&post, Some(&l2.id), "3"), T0 + 3)
        .await
        .unwrap();
    let l4 = cs
        .create(&actor(&alice), &text(&post, Some(&l3.id), "4"), T0 + 4)
        .await
        .unwrap();
    assert_eq!((l2.depth, l2.parent_id.as_ref()), (2, Some(&l1.id)));
    assert_eq!(
        (l3.depth, l3.path.clone()),
        (3, format!("{}#{}#{}", l1.id, l2.id, l3.id))
    );
    assert_eq!(l4.depth, 3);
    assert_eq!(
        l4.parent_id.as_ref(),
        Some(&l2.id),
        "attached to the level-3 comment's parent"
    );
    assert_eq!(l4.reply_to.as_ref(), Some(&l3.id));
    assert_eq!(l4.reply_to_name.as_deref(), Some("bob"));
    assert_eq!(l4.path, format!("{}#{}#{}", l1.id, l2.id, l4.id));
    let thread = cs.of_post(&post).await.unwrap();
    let ids: Vec<_> = thread.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, [l1.id, l2.id, l3.id, l4.id], "sort-key order is thread order");
}

#[tokio::test]
async fn no_comment_on_a_closed_deleted_or_unknown_post_or_under_a_foreign_parent() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let cs = store.comments();
    let closed = seed_post(&store, &alice, T0).await;
    let c = cs
        .create(&actor(&bob), &text(&closed, None, "before"), T0 + 1)
        .await
        .unwrap();
    close(&store, &closed).await;
    assert!(matches!(
        cs.create(&actor(&bob), &text(&closed, None, "x"), T0 + 2).await,
        Err(CommentError::Closed)
    ));
    // Moderators too: closed means closed.
    let m = member(&store, "mod", Role::Moderator).await;
    assert!(matches!(
        cs.create(&actor(&m), &text(&closed, None, "x"), T0 + 2).await,
        Err(CommentError::Closed)
    ));
    assert_eq!(cards(&store, &closed).await.comment_count, 1);

    let deleted = seed_post(&store, &alice, T0).await;
    set_state(&store, &deleted, "deleted").await;
    assert!(matches!(
        cs.create(&actor(&bob), &text(&deleted, None, "x"), T0 + 2).await,
        Err(CommentError::NoPost)
    ));
    let unknown = PostId::generate(T0);
    assert!(matches!(
        cs.create(&actor(&bob), &text(&unknown, None, "x"), T0 + 2).await,
        Err(CommentError::NoPost)
    ));

    let other = seed_post(&store, &alice, T0).await;
    let r = cs.create(&actor(&bob), &text(&other, Some(&c.id), "x"), T0 + 3).await;
    assert!(matches!(r, Err(CommentError::NoParent)), "{r:?}");
    let missing = CommentId::generate(T0);
    let r = cs
        .create(&actor(&bob), &text(&other, Some(&missing), "x"), T0 + 3)
        .await;
    assert!(matches!(r, Err(CommentError::NoParent)));
    assert_eq!(cards(&store, &other).await.comment_count, 0);
}

#[tokio::test]
async fn a_closing_post_wins_over_a_stale_read() {
    // The condition, not the read, refuses: close between read and write by
    // asking the transaction directly with an open head.
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let post = seed_post(&store, &alice, T0).await;
    let head = store.comments().post_head(&post).await.unwrap().unwrap();
    close(&store, &post).await;
    let tx = store
        .comments()
        .counter_updates(
            &post,
            &head,
            &CounterChange {
                comments: 1,
                new_seq: true,
                activity: Some((T0 + 5, None)),
                heat: None,
                open_only: true,
            },
        )
        .unwrap();
    let err = store.transact(tx).await.unwrap_err();
    assert!(err.failed_at(0), "{err:?}");
    let _ = bob;
}

#[derive(Serialize)]
struct SeedRing {
    n: i64,
    #[serde(flatten)]
    slots: std::collections::BTreeMap<String, i64>,
}

#[tokio::test]
async fn the_101st_comment_in_24_hours_waits_for_the_oldest_slot() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let post = seed_post(&store, &alice, T0).await;
    let cs = store.comments();
    // 99 comments already in the ring, one a minute from T0.
    let slots = (0..99).map(|i| (format!("s{i}"), T0 + i * 60_000)).collect();
    store
        .put(&Key::ring(Ring::COMMENTS.what, &bob.id), &SeedRing { n: 99, slots })
        .await
        .unwrap();
    let now = T0 + 99 * 60_000;
    cs.create(&actor(&bob), &text(&post, None, "the 100th"), now)
        .await
        .unwrap();
    let r = cs.create(&actor(&bob), &text(&post, None, "the 101st"), now + 1).await;
    // Slot 0 (T0) frees at T0 + 24 h.
    let expect = (T0 + crate::store::ring::DAY_MS - (now + 1) + 999) / 1000;
    assert!(
        matches!(r, Err(CommentError::Limited { retry_after_secs }) if retry_after_secs == expect),
        "{r:?}"
    );
    assert_eq!(cards(&store, &post).await.comment_count, 1);
    // A moderator is exempt, and writes no ring.
    let m = member(&store, "mod", Role::Moderator).await;
    store
        .put(
            &Key::ring(Ring::COMMENTS.what, &m.id),
            &SeedRing {
                n: 100,
                slots: (0..100).map(|i| (format!("s{i}"), now)).collect(),
            },
        )
        .await
        .unwrap();
    cs.create(&actor(&m), &text(&post, None, "mod"), now + 2).await.unwrap();
    // At T0 + 24 h the oldest slot is free again, and only it.
    cs.create(
        &actor(&bob),
        &text(&post, None, "next day"),
        T0 + crate::store::ring::DAY_MS,
    )
    .await
    .unwrap();
    let r = cs
        .create(
            &actor(&bob),
            &text(&post, None, "too soon"),
            T0 + crate::store::ring::DAY_MS + 1,
        )
        .await;
    assert!(
        matches!(r, Err(CommentError::Limited { retry_after_secs }) if retry_after_secs == 60),
        "{r:?}"
    );
}

#[tokio::test]
async fn concurrent_comments_by_one_member_never_pass_the_ring() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let post = seed_post(&store, &alice, T0).await;
    let slots = (0..98).map(|i| (format!("s{i}"), T0 + i)).collect();
    store
        .put(&Key::ring(Ring::COMMENTS.what, &bob.id), &SeedRing { n: 98, slots })
        .await
        .unwrap();
    let cs = store.comments();
    let a = actor(&bob);
    let tries = (0..6).map(|i| {
        let (cs, a, t) = (&cs, &a, text(&post, None, "race"));
        async move { cs.create(a, &t, T0 + 1000 + i).await }
    });
    let results = futures::future::join_all(tries).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 2, "{results:?}");
    let card = cards(&store, &post).await;
    assert_eq!((card.comment_count, card.comment_seq), (2, 2));
}

#[tokio::test]
async fn the_author_edits_for_48_hours_moderators_always() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let m = member(&store, "mod", Role::Moderator).await;
    let post = seed_post(&store, &alice, T0).await;
    let cs = store.comments();
    let c = cs.create(&actor(&bob), &text(&post, None, "v1"), T0).await.unwrap();
    let last = T0 + EDIT_WINDOW_MS - 1;
    let e = cs
        .edit(&actor(&bob), &c.id, "v2", "<p>v2</p>", &[], last)
        .await
        .unwrap();
    assert_eq!((e.body.as_str(), e.edited_at), ("v2", Some(last)));
    let r = cs.edit(&actor(&bob), &c.id, "v3", "<p>v3</p>", &[], last + 1).await;
    assert!(matches!(r, Err(CommentError::EditWindowClosed { closed_at }) if closed_at == T0 + EDIT_WINDOW_MS));
    assert!(matches!(
        cs.edit(&actor(&alice), &c.id, "x", "x", &[], T0 + 1).await,
        Err(CommentError::NotYours)
    ));
    let e = cs
        .edit(&actor(&m), &c.id, "mod", "<p>mod</p>", &[], T0 + 10 * EDIT_WINDOW_MS)
        .await
        .unwrap();
    assert_eq!(e.html, "<p>mod</p>");
    let missing = CommentId::generate(T0);
    assert!(matches!(
        cs.edit(&actor(&m), &missing, "x", "x", &[], T0).await,
        Err(CommentError::NoComment)
    ));
    cs.delete(&actor(&bob), &c.id, T0 + 5).await.unwrap();
    assert!(matches!(
        cs.edit(&actor(&m), &c.id, "x", "x", &[], T0 + 6).await,
        Err(CommentError::Deleted)
    ));
}

#[tokio::test]
async fn soft_delete_keeps_the_shape_and_the_counts_exact() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let m = member(&store, "mod", Role::Moderator).await;
    let post = seed_post(&store, &alice, T0).await;
    let cs = store.comments();
    let a = cs
        .create(&actor(&bob), &text(&post, None, "a"), T0 + 1000)
        .await
        .unwrap();
    let b = cs
        .create(&actor(&alice), &text(&post, Some(&a.id), "b"), T0 + 2000)
        .await
        .unwrap();
    let c = cs
        .create(&actor(&bob), &text(&post, Some(&b.id), "c"), T0 + 3000)
        .await
        .unwrap();
    // Not yours.
    assert!(matches!(
        cs.delete(&actor(&alice), &a.id, T0).await,
        Err(CommentError::NotYours)
    ));
    // Deleting the latest sets activity back to the one before it.
    cs.delete(&actor(&bob), &c.id, T0 + 4000).await.unwrap();
    let card = cards(&store, &post).await;
    assert_eq!((card.comment_count, card.comment_seq, card.activity), (2, 3, T0 + 2000));
    // Again: nothing changes.
    cs.delete(&actor(&bob), &c.id, T0 + 4001).await.unwrap();
    assert_eq!(cards(&store, &post).await.comment_count, 2);
    // A moderator deletes a middle one: the thread keeps every item.
    cs.delete(&actor(&m), &b.id, T0 + 5000).await.unwrap();
    let card = cards(&store, &post).await;
    assert_eq!((card.comment_count, card.activity), (1, T0 + 1000));
    let thread = cs.of_post(&post).await.unwrap();
    let shape: Vec<(u8, bool)> = thread.iter().map(|c| (c.depth, c.deleted)).collect();
    assert_eq!(shape, [(1, false), (2, true), (3, true)]);
    assert_eq!(thread[1].deleted_by.as_ref(), Some(&m.id));
    // The last comment gone: activity is the publication again.
    cs.delete(&actor(&bob), &a.id, T0 + 6000).await.unwrap();
    let card = cards(&store, &post).await;
    assert_eq!((card.comment_count, card.activity), (0, T0));
    // No reply under a deleted comment.
    let r = cs
        .create(&actor(&bob), &text(&post, Some(&a.id), "late"), T0 + 7000)
        .await;
    assert!(matches!(r, Err(CommentError::Deleted)));
    // Deleting an older comment leaves activity alone.
    let x = cs
        .create(&actor(&bob), &text(&post, None, "x"), T0 + 8000)
        .await
        .unwrap();
    cs.create(&actor(&bob), &text(&post, None, "y"), T0 + 9000)
        .await
        .unwrap();
    cs.delete(&actor(&bob), &x.id, T0 + 9500).await.unwrap();
    let card = cards(&store, &post).await;
    assert_eq!((card.comment_count, card.activity), (1, T0 + 9000));
}

#[tokio::test]
async fn hiding_a_reported_comment_resolves_its_reports_in_the_same_transaction() {
    use crate::store::reports::{Report, ReportTarget, Resolution};
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let m = member(&store, "mod", Role::Moderator).await;
    let post = seed_post(&store, &alice, T0).await;
    let cs = store.comments();
    let a = cs
        .create(&actor(&bob), &text(&post, None, "a"), T0 + 1000)
        .await
        .unwrap();
    let b = cs
        .create(&actor(&alice), &text(&post, Some(&a.id), "b"), T0 + 2000)
        .await
        .unwrap();
    let target = ReportTarget::Comment(a.id.clone());
    let report = Report {
        target: target.clone(),
        reporter: alice.id.clone(),
        reporter_name: "alice".into(),
        reason: "rude".into(),
        label: "bob: a".into(),
        at: T0 + 3000,
        resolution: None,
    };
    assert!(store.reports().file(&report).await.unwrap());
    // Only moderators hide.
    assert!(matches!(
        cs.hide_items(&actor(&alice), &a.id, "rude", T0 + 4000).await,
        Err(CommentError::NotYours)
    ));
    let hide = cs.hide_items(&actor(&m), &a.id, "rude", T0 + 4000).await.unwrap();
    let resolution = Resolution::Hide { reason: "rude".into() };
    let n = store
        .reports()
        .resolve(&target, resolution, &m.id, "mod", hide, T0 + 4000)
        .await
        .unwrap();
    assert_eq!(n.len(), 1);
    assert!(store.reports().open().await.unwrap().is_empty());
    let thread = cs.of_post(&post).await.unwrap();
    let shape: Vec<(u8, bool, Option<&str>)> = thread
        .iter()
        .map(|c| (c.depth, c.deleted, c.hidden_reason.as_deref()))
        .collect();
    assert_eq!(shape, [(1, true, Some("rude")), (2, false, None)], "the reply stays");
    assert!(cs.locate(&a.id).await.unwrap().unwrap().deleted);
    let card = cards(&store, &post).await;
    assert_eq!((card.comment_count, card.activity), (1, T0 + 2000));
    // A second resolution is refused before it writes anything.
    assert!(matches!(
        cs.hide_items(&actor(&m), &a.id, "rude", T0 + 5000).await,
        Err(CommentError::Hidden)
    ));
    // A comment its author deleted is only marked hidden: the count stays.
    cs.delete(&actor(&alice), &b.id, T0 + 6000).await.unwrap();
    let hide = cs.hide_items(&actor(&m), &b.id, "spam", T0 + 7000).await.unwrap();
    assert_eq!(hide.len(), 1);
    store.transact(hide).await.unwrap();
    let b = cs.get(&b.id).await.unwrap().unwrap();
    assert_eq!((b.deleted, b.hidden_reason.as_deref()), (true, Some("spam")));
    assert_eq!(cards(&store, &post).await.comment_count, 0);
}

#[tokio::test]
async fn a_moderator_deletes_a_subtree_in_chunks_and_can_run_it_again() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let m = member(&store, "mod", Role::Moderator).await;
    let post = seed_post(&store, &alice, T0).await;
    let cs = store.comments();
    let keep = cs
        .create(&actor(&bob), &text(&post, None, "keep"), T0 + 1)
        .await
        .unwrap();
    let root = cs
        .create(&actor(&bob), &text(&post, None, "root"), T0 + 2)
        .await
        .unwrap();
    // 55 replies: more than one chunk ((100 - 5) / 2 = 47 comments).
    let mut parent = root.id.clone();
    for i in 0..55 {
        let c = cs
            .create(&actor(&m), &text(&post, Some(&parent), "r"), T0 + 10 + i)
            .await
            .unwrap();
        if i < 2 {
            parent = c.id.clone();
        }
    }
    assert_eq!(cards(&store, &post).await.comment_count, 57);
    assert!(matches!(
        cs.delete_subtree(&actor(&bob), &root.id, T0 + 100).await,
        Err(CommentError::NotYours)
    ));
    assert_eq!(cs.delete_subtree(&actor(&m), &root.id, T0 + 100).await.unwrap().1, 56);
    let card = cards(&store, &post).await;
    assert_eq!((card.comment_count, card.activity), (1, keep.created_at));
    assert_eq!(cs.delete_subtree(&actor(&m), &root.id, T0 + 200).await.unwrap().1, 0);
    let thread = cs.of_post(&post).await.unwrap();
    assert_eq!(thread.iter().filter(|c| !c.deleted).count(), 1);
    assert_eq!(thread.len(), 57, "soft: every comment keeps its place");
}

#[derive(serde::Deserialize)]
struct Received {
    #[serde(default)]
    received_upvotes: i64,
}

#[tokio::test]
async fn one_vote_per_member_not_your_own_retracted_within_24_hours() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let post = seed_post(&store, &alice, T0).await;
    let cs = store.comments();
    let c = cs
        .create(&actor(&bob), &text(&post, None, "vote me"), T0)
        .await
        .unwrap();
    assert!(matches!(
        cs.vote(&bob.id, &c.id, T0 + 1).await,
        Err(CommentError::OwnComment)
    ));
    assert_eq!(
        cs.vote(&alice.id, &c.id, T0 + 1).await.unwrap(),
        VoteState {
            upvotes: 1,
            voted: true,
            changed: true,
            post_id: post.clone()
        }
    );
    assert_eq!(
        cs.vote(&alice.id, &c.id, T0 + 2).await.unwrap(),
        VoteState {
            upvotes: 1,
            voted: true,
            changed: false,
            post_id: post.clone()
        }
    );
    let profile: Received = store.get(&Key::member(&bob.id)).await.unwrap().unwrap();
    assert_eq!(profile.received_upvotes, 1);
    let thread = cs.thread(&post, &alice.id).await.unwrap();
    assert!(thread.voted.contains(&c.id));
    assert_eq!(thread.comments[0].upvotes, 1);
    assert_eq!(cs.locate(&c.id).await.unwrap().unwrap().upvotes, 1);
    // Retract at the last millisecond, vote again, and miss the window.
    let last = T0 + 1 + RETRACT_WINDOW_MS - 1;
    assert_eq!(
        cs.unvote(&alice.id, &c.id, last).await.unwrap(),
        VoteState {
            upvotes: 0,
            voted: false,
            changed: true,
            post_id: post.clone()
        }
    );
    assert_eq!(
        cs.unvote(&alice.id, &c.id, last).await.unwrap(),
        VoteState {
            upvotes: 0,
            voted: false,
            changed: false,
            post_id: post.clone()
        }
    );
    cs.vote(&alice.id, &c.id, T0 + 10).await.unwrap();
    let r = cs.unvote(&alice.id, &c.id, T0 + 10 + RETRACT_WINDOW_MS).await;
    assert!(
        matches!(r, Err(CommentError::RetractWindowClosed { closed_at }) if closed_at == T0 + 10 + RETRACT_WINDOW_MS)
    );
    let profile: Received = store.get(&Key::member(&bob.id)).await.unwrap().unwrap();
    assert_eq!(profile.received_upvotes, 1);
    cs.delete(&actor(&bob), &c.id, T0 + 20).await.unwrap();
    let m = member(&store, "mod", Role::Moderator).await;
    assert!(matches!(
        cs.vote(&m.id, &c.id, T0 + 21).await,
        Err(CommentError::Deleted)
    ));
}

#[tokio::test]
async fn twenty_voters_at_once_give_twenty_and_one_voter_twenty_times_gives_one() {
    let store = testing::store().await;
    let alice = member(&store, "alice", Role::Member).await;
    let post = seed_post(&store, &alice, T0).await;
    let cs = store.comments();
    let c = cs
        .create(&actor(&alice), &text(&post, None, "popular"), T0)
        .await
        .unwrap();
    let mut voters = Vec::new();
    for i in 0..20 {
        voters.push(member(&store, &format!("v{i}"), Role::Member).await);
    }
    let all = futures::future::join_all(voters.iter().map(|v| cs.vote(&v.id, &c.id, T0 + 5))).await;
    assert!(all.iter().all(Result::is_ok), "{all:?}");
    assert_eq!(cs.locate(&c.id).await.unwrap().unwrap().upvotes, 20);
    let one = &voters[0];
    let c2 = cs
        .create(&actor(&alice), &text(&post, None, "once"), T0 + 1)
        .await
        .unwrap();
    let all = futures::future::join_all((0..20).map(|_| cs.vote(&one.id, &c2.id, T0 + 5))).await;
    assert!(all.iter().all(Result::is_ok), "{all:?}");
    assert_eq!(cs.get(&c2.id).await.unwrap().unwrap().upvotes, 1);
    let profile: Received = store.get(&Key::member(&alice.id)).await.unwrap().unwrap();
    assert_eq!(profile.received_upvotes, 21);
}

#[tokio::test]
async fn the_posts_author_pins_top_level_comments() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let post = seed_post(&store, &alice, T0).await;
    let cs = store.comments();
    let top = cs.create(&actor(&bob), &text(&post, None, "top"), T0).await.unwrap();
    let reply = cs
        .create(&actor(&bob), &text(&post, Some(&top.id), "reply"), T0 + 1)
        .await
        .unwrap();
    assert!(matches!(
        cs.pin(&bob.id, &top.id, true).await,
        Err(CommentError::NotPostAuthor)
    ));
    assert!(matches!(
        cs.pin(&alice.id, &reply.id, true).await,
        Err(CommentError::NotTopLevel)
    ));
    cs.pin(&alice.id, &top.id, true).await.unwrap();
    assert!(cs.get(&top.id).await.unwrap().unwrap().pinned);
    cs.pin(&alice.id, &top.id, false).await.unwrap();
    assert!(!cs.get(&top.id).await.unwrap().unwrap().pinned);
}

#[tokio::test]
async fn the_thread_read_carries_the_viewers_state_and_seen_never_goes_back() {
    let store = testing::store().await;
    let (alice, bob) = (
        member(&store, "alice", Role::Member).await,
        member(&store, "bob", Role::Member).await,
    );
    let post = seed_post(&store, &alice, T0).await;
    let cs = store.comments();
    let first = cs.thread(&post, &bob.id).await.unwrap();
    assert_eq!((first.seen_seq, first.comments.len()), (None, 0));
    assert_eq!(first.head.as_ref().map(|h| h.comment_seq), Some(0));
    cs.create(&actor(&alice), &text(&post, None, "one"), T0 + 1)
        .await
        .unwrap();
    cs.mark_seen(&post, &bob.id, 1, T0 + 2).await.unwrap();
    cs.mark_seen(&post, &bob.id, 0, T0 + 3).await.unwrap();
    let read = cs.thread(&post, &bob.id).await.unwrap();
    assert_eq!(read.seen_seq, Some(1));
    assert!(read.muted.is_empty());
    // The feed code's mute list, when present, comes along.
    store
        .update(
            &Key::member(&bob.id),
            "SET muted_members = :m",
            None,
            &[],
            values([(":m", AttributeValue::Ss(vec![alice.id.to_string()]))]),
            None,
        )
        .await
        .unwrap();
    let read = cs.thread(&post, &bob.id).await.unwrap();
    assert_eq!(read.muted, HashSet::from([alice.id.clone()]));
}

#[test]
fn placement_follows_the_three_level_rule() {
    let c = |ms| CommentId::from_parts(ms, 1);
    let (a, b, d, e) = (c(1), c(2), c(3), c(4));
    let r = |id: &CommentId, path: String, depth| CommentRef {
        id: id.clone(),
        post_id: PostId::from_parts(0, 0),
        path,
        depth,
        author_id: MemberId::generate(),
        upvotes: 0,
        created_at: 0,
        deleted: false,
    };
    let top = Placement::under(None, &a);
    assert_eq!((top.path.as_str(), top.depth, top.parent_id), (a.as_str(), 1, None));
    let l3 = r(&d, format!("{a}#{b}#{d}"), 3);
    let deep = Placement::under(Some(&l3), &e);
    assert_eq!(deep.path, format!("{a}#{b}#{e}"));
    assert_eq!(
        (deep.depth, deep.parent_id, deep.reply_to),
        (3, Some(b.clone()), Some(d.clone()))
    );
    assert!(in_subtree(&format!("{a}#{b}"), a.as_str()));
    assert!(in_subtree(a.as_str(), a.as_str()));
    assert!(!in_subtree(b.as_str(), a.as_str()));
}
