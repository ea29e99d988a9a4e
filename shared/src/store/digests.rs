//! Digests (issue 14, docs/digests.md): recipients and their mail state on
//! the profile, unsubscribes, undeliverable addresses, issues and their
//! fan-out progress, the editorial note, and the reads of the week's posts,
//! events and comments (the items docs/posts.md defines).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{from_item, n, s, values, Item, Key, Store, StoreError};
use crate::domain::digest::{DigestChoice, IssueContent, IssueId, IssueKind, Recipient, Undeliverable, WeekTally};
use crate::domain::{Email, MemberId};

impl Store {
    pub fn digests(&self) -> Digests<'_> {
        Digests { store: self }
    }
}

#[derive(Clone, Copy)]
pub struct Digests<'a> {
    store: &'a Store,
}

/// Where an issue is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueStatus {
    /// Content stored; recipients being (or all) enqueued.
    Planned,
    /// Nothing to send; `reason` says why.
    Skipped,
}

/// An issue as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IssueRecord {
    pub id: IssueId,
    pub status: IssueStatus,
    // Absent, not NULL: conditions test `attribute_not_exists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<IssueContent>,
    /// A daily issue's one Telegram message (HTML subset), built once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_text: Option<String>,
    pub planned_at: i64,
    /// The ISO week of the personal tallies (the week the window covers).
    pub tally_week: String,
    /// The last member (`gsi1sk` of `STATUS#approved`) already enqueued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanout_after: Option<String>,
    #[serde(default)]
    pub fanout_done: bool,
    #[serde(default)]
    pub batches: i64,
    #[serde(default)]
    pub recipients: i64,
}

/// One page of approved members, oldest first.
pub struct MemberPage {
    /// (`gsi1sk`, member) pairs.
    pub members: Vec<(String, Recipient)>,
    pub more: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailStats {
    #[serde(default)]
    pub bounce: i64,
    #[serde(default)]
    pub complaint: i64,
    #[serde(default)]
    pub rejected: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorialNote {
    pub text: String,
    pub by: MemberId,
    pub at: i64,
}

/// The member-state change one unsubscribe or switch makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailChange {
    /// Set the digest choice (from `from`, as read: the write checks it).
    Digest {
        from: DigestChoice,
        to: DigestChoice,
    },
    NotificationsOff,
    AllOff,
}

impl Digests<'_> {
    /// The member's profile read as a recipient.
    pub async fn recipient(&self, id: &MemberId) -> Result<Option<Recipient>, StoreError> {
        self.store.get(&Key::member(id)).await
    }

    /// One change of a member's mail state, if the unsubscribe link's epoch
    /// is still the member's (`Conflict` when it was revoked, or when the
    /// digest choice moved since it was read).
    pub async fn change_mail(&self, member: &MemberId, epoch: u32, change: MailChange) -> Result<(), StoreError> {
        let epoch_ok = if epoch == 0 {
            "(attribute_not_exists(mail_epoch) OR mail_epoch = :e)"
        } else {
            "mail_epoch = :e"
        };
        let mut vals = values([(":e", n(epoch))]);
        let (update, condition) = match change {
            MailChange::Digest { from, to } => {
                vals.insert(":to".into(), s(to.as_str()));
                vals.insert(":from".into(), s(from.as_str()));
                let from_ok = if from == DigestChoice::default() {
                    "(attribute_not_exists(digest) OR digest = :from)"
                } else {
                    "digest = :from"
                };
                (
                    "SET digest = :to",
                    format!("attribute_exists(pk) AND {epoch_ok} AND {from_ok}"),
                )
            }
            MailChange::NotificationsOff => (
                "SET mail_off_notifications = :t",
                format!("attribute_exists(pk) AND {epoch_ok}"),
            ),
            MailChange::AllOff => ("SET mail_off_all = :t", format!("attribute_exists(pk) AND {epoch_ok}")),
        };
        if !matches!(change, MailChange::Digest { .. }) {
            vals.insert(":t".into(), AttributeValue::Bool(true));
        }
        self.store
            .update(&Key::member(member), update, Some(&condition), &[], vals, None)
            .await
            .map(|_| ())
    }

    /// Revokes every unsubscribe link sent to the member so far.
    pub async fn rotate_mail_epoch(&self, member: &MemberId) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::member(member),
                "ADD mail_epoch :one",
                Some("attribute_exists(pk)"),
                &[],
                values([(":one", n(1))]),
                None,
            )
            .await
            .map(|_| ())
    }

    /// Marks the member behind `email` undeliverable and counts it, once
    /// per mark: `false` when there is no such member or it was marked
    /// already (SNS redelivers; a second bounce is not a second count).
    pub async fn mark_undeliverable(&self, email: &Email, mark: &Undeliverable) -> Result<bool, StoreError> {
        let Some(member) = self.store.members().id_by_email(email).await? else {
            return Ok(false);
        };
        let mark_item = serde_dynamo::to_attribute_value(mark).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let items = vec![
            self.store.tx_update_named(
                &Key::member(&member),
                "SET undeliverable = :u",
                "attribute_exists(pk) AND attribute_not_exists(undeliverable) AND #em = :email",
                &[("#em", "email")],
                values([(":u", mark_item), (":email", s(email.as_str()))]),
            )?,
            self.store.tx_update_named(
                &Key::mail_stats(),
                "ADD #k :one",
                "attribute_not_exists(pk) OR attribute_exists(pk)",
                &[("#k", mark.kind.as_str())],
                values([(":one", n(1))]),
            )?,
        ];
        match self.store.transact(items).await {
            Ok(()) => Ok(true),
            Err(e) if e.failed_at(0) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The member says the address works again (settings).
    pub async fn clear_undeliverable(&self, member: &MemberId) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::member(member),
                "REMOVE undeliverable",
                Some("attribute_exists(pk)"),
                &[],
                Item::new(),
                None,
            )
            .await
            .map(|_| ())
    }

    pub async fn mail_stats(&self) -> Result<MailStats, StoreError> {
        Ok(self.store.get(&Key::mail_stats()).await?.unwrap_or_default())
    }

    // ---- issues

    pub async fn issue(&self, id: &IssueId) -> Result<Option<IssueRecord>, StoreError> {
        self.store.get(&Key::digest_issue(id)).await
    }

    /// Stores a new issue; `false` when the id exists (another run made it).
    /// A planned weekly issue joins the archive.
    pub async fn create_issue(&self, issue: &IssueRecord) -> Result<bool, StoreError> {
        let mut key = Key::digest_issue(&issue.id);
        if issue.status == IssueStatus::Planned && issue.id.kind() == IssueKind::Weekly {
            key = key.with_gsi1(Key::DIGESTS.into(), issue.id.to_string());
        }
        match self.store.put_new(&key, issue).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Records that the members up to `to` were enqueued, if no other run
    /// moved the fan-out since `from` (`Conflict` then).
    pub async fn advance_fanout(
        &self,
        id: &IssueId,
        from: Option<&str>,
        to: &str,
        batches: i64,
        recipients: i64,
        done: bool,
    ) -> Result<(), StoreError> {
        let mut vals = values([
            (":to", s(to)),
            (":b", n(batches)),
            (":r", n(recipients)),
            (":done", AttributeValue::Bool(done)),
        ]);
        let condition = match from {
            Some(f) => {
                vals.insert(":from".into(), s(f));
                "fanout_after = :from"
            }
            None => "attribute_not_exists(fanout_after)",
        };
        self.store
            .update(
                &Key::digest_issue(id),
                "SET fanout_after = :to, fanout_done = :done ADD batches :b, recipients :r",
                Some(condition),
                &[],
                vals,
                None,
            )
            .await
            .map(|_| ())
    }

    /// Marks the fan-out finished (also when the last page was empty).
    pub async fn finish_fanout(&self, id: &IssueId) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::digest_issue(id),
                "SET fanout_done = :t",
                Some("attribute_exists(pk)"),
                &[],
                values([(":t", AttributeValue::Bool(true))]),
                None,
            )
            .await
            .map(|_| ())
    }

    /// The archive, newest first.
    pub async fn issues(&self) -> Result<Vec<IssueRecord>, StoreError> {
        self.store.query_gsi1(Key::DIGESTS, None, true).await
    }

    /// Approved members after `after` (a `gsi1sk`), oldest first, `limit` at most.
    pub async fn approved_after(&self, after: Option<&str>, limit: i32) -> Result<MemberPage, StoreError> {
        let partition = super::keys::members_by_status(crate::domain::MemberStatus::Approved);
        let q = self
            .store
            .client()
            .query()
            .table_name(self.store.table())
            .index_name("gsi1")
            .expression_attribute_values(":p", s(partition))
            .limit(limit);
        let q = match after {
            Some(a) => q
                .key_condition_expression("gsi1pk = :p AND gsi1sk > :a")
                .expression_attribute_values(":a", s(a)),
            None => q.key_condition_expression("gsi1pk = :p"),
        };
        let page = q.send().await.map_err(StoreError::from_sdk)?;
        let more = page.last_evaluated_key.is_some_and(|k| !k.is_empty());
        let mut members = Vec::new();
        for item in page.items.unwrap_or_default() {
            let sk = item
                .get("gsi1sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            members.push((sk, from_item(item)?));
        }
        Ok(MemberPage { members, more })
    }

    /// Profiles of `members` (1 item each), in `BatchGetItem`s of 100 keys, consistent.
    pub async fn recipients(&self, members: &[MemberId]) -> Result<HashMap<MemberId, Recipient>, StoreError> {
        let keys = members.iter().map(Key::member).collect();
        let mut profiles = HashMap::new();
        for item in self.store.batch_get(keys, true).await? {
            let r: Recipient = from_item(item)?;
            profiles.insert(r.id.clone(), r);
        }
        Ok(profiles)
    }

    /// Profiles and this week's tallies of `members` (2 items each), in
    /// `BatchGetItem`s of 100 keys, consistent.
    pub async fn recipients_with_tallies(
        &self,
        members: &[MemberId],
        iso_week: &str,
    ) -> Result<(HashMap<MemberId, Recipient>, HashMap<MemberId, WeekTally>), StoreError> {
        let mut keys = Vec::new();
        for m in members {
            keys.push(Key::member(m));
            keys.push(Key::member_week(m, iso_week));
        }
        let mut profiles = HashMap::new();
        let mut tallies = HashMap::new();
        let tally_sk = format!("WEEK#{iso_week}");
        for item in self.store.batch_get(keys, true).await? {
            let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            if sk == tally_sk {
                if let Ok(id) = MemberId::parse(pk.trim_start_matches("MEMBER#")) {
                    tallies.insert(id, from_item(item)?);
                }
            } else {
                let r: Recipient = from_item(item)?;
                profiles.insert(r.id.clone(), r);
            }
        }
        Ok((profiles, tallies))
    }

    // ---- the editorial note

    pub async fn note(&self) -> Result<Option<EditorialNote>, StoreError> {
        self.store.get(&Key::digest_note()).await
    }

    pub async fn set_note(&self, note: &EditorialNote) -> Result<(), StoreError> {
        if note.text.trim().is_empty() {
            return self.store.delete(&Key::digest_note()).await;
        }
        self.store.put(&Key::digest_note(), note).await
    }

    /// The planner took the note into an issue: remove it, unless the admin
    /// wrote a newer one meanwhile.
    pub async fn take_note(&self, note: &EditorialNote) -> Result<(), StoreError> {
        let out = self
            .store
            .client()
            .delete_item()
            .table_name(self.store.table())
            .set_key(Some(Key::digest_note().to_item()))
            .condition_expression("#at = :at")
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", n(note.at))
            .send()
            .await;
        match out.map_err(StoreError::from_sdk) {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    // ---- what the digest reads of posts, events and comments (docs/posts.md)

    /// Items of a `gsi1` partition whose sort key (`<ms:013>#<id>`) falls
    /// in `[from_ms, to_ms)`, as loose JSON: the post cards belong to the
    /// posts code, and the digest reads only the attributes it shows.
    pub async fn gsi1_window(
        &self,
        partition: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let q = self
            .store
            .client()
            .query()
            .table_name(self.store.table())
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :p AND gsi1sk BETWEEN :a AND :b")
            .expression_attribute_values(":p", s(partition))
            .expression_attribute_values(":a", s(format!("{from_ms:013}")))
            // `<to>#…` sorts after `<to>`: an item at exactly `to_ms` is out.
            .expression_attribute_values(":b", s(format!("{to_ms:013}")));
        self.store.query_all(q).await
    }

    /// One item of a post's partition (`POST#<id>`), e.g. a comment `C#<path>`;
    /// `None` for an id that is not a post id.
    pub async fn post_item(&self, post_id: &str, sk: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let Ok(post) = crate::domain::PostId::parse(post_id) else {
            return Ok(None);
        };
        self.store.get(&Key::post_item(&post, sk)).await
    }
}

/// Writes the items the digest reads, exactly as docs/posts.md lays them
/// out, for tests and the benchmark until the posts code writes them.
#[cfg(any(test, feature = "seed"))]
pub mod seed {
    use super::*;
    use crate::domain::{PostId, PostKind};
    use crate::feed::hot::Hot;
    use crate::store::listing::{Listing, ListingAttrs};
    use crate::store::to_item;

    pub struct SeedPost<'a> {
        pub kind: PostKind,
        pub title: &'a str,
        pub author: &'a MemberId,
        pub author_name: &'a str,
        pub published_ms: i64,
        pub upvotes: i64,
        pub comments: i64,
    }

    /// A published post: its `POST` card (the `ALL` entry) and `LIST#TYPE` copy.
    pub async fn post(store: &Store, p: &SeedPost<'_>) -> Result<PostId, StoreError> {
        let id = PostId::generate(p.published_ms);
        for listing in [Listing::All, Listing::Type(p.kind)] {
            let attrs = ListingAttrs::new(
                &listing,
                &id,
                p.published_ms,
                p.published_ms,
                Hot::published(p.published_ms / 1000),
                p.upvotes,
            );
            let mut item = to_item(&Key::post_item(&id, listing.sort_key()), &attrs)?;
            item.extend(values([
                ("id", s(id.as_str())),
                ("kind", s(p.kind.to_string())),
                ("title", s(p.title)),
                ("author_id", s(p.author.as_str())),
                ("author_name", s(p.author_name)),
                ("state", s("published")),
                ("comment_count", n(p.comments)),
                ("excerpt", s(format!("About {}.", p.title))),
            ]));
            put_raw(store, item).await?;
        }
        Ok(id)
    }

    /// An event's `LIST#EVENTS` entry.
    pub async fn event(
        store: &Store,
        post: &PostId,
        title: &str,
        starts_ms: i64,
        venue: &str,
    ) -> Result<(), StoreError> {
        let mut item = Key::post_item(post, "LIST#EVENTS").to_item();
        item.extend(values([
            ("gsi1pk", s("EVENTS")),
            ("gsi1sk", s(format!("{starts_ms:013}#{post}"))),
            ("id", s(post.as_str())),
            ("title", s(title)),
            ("starts_at", n(starts_ms)),
            ("venue", s(venue)),
        ]));
        put_raw(store, item).await
    }

    /// A comment `C#<id>` on `post` and its locator in `CDAY#<day>`.
    pub async fn comment(
        store: &Store,
        post: &PostId,
        author_name: &str,
        body: &str,
        created_ms: i64,
        upvotes: i64,
    ) -> Result<String, StoreError> {
        let comment = crate::domain::CommentId::generate(created_ms);
        let id = comment.to_string();
        let mut c = Key::post_item(post, &format!("C#{id}")).to_item();
        c.extend(values([
            ("id", s(&id)),
            ("depth", n(1)),
            ("author_name", s(author_name)),
            ("body", s(body)),
            ("upvotes", n(upvotes)),
            ("created_at", n(created_ms)),
        ]));
        put_raw(store, c).await?;
        let mut r = to_item(&Key::comment_ref(&comment, created_ms), &serde_json::json!({}))?;
        r.extend(values([
            ("id", s(&id)),
            ("created_at", n(created_ms)),
            ("post_id", s(post.as_str())),
            ("path", s(&id)),
            ("upvotes", n(upvotes)),
        ]));
        put_raw(store, r).await?;
        Ok(id)
    }

    pub async fn tally(store: &Store, member: &MemberId, iso_week: &str, t: WeekTally) -> Result<(), StoreError> {
        store.put(&Key::member_week(member, iso_week), &t).await
    }

    async fn put_raw(store: &Store, item: Item) -> Result<(), StoreError> {
        store
            .client()
            .put_item()
            .table_name(store.table())
            .set_item(Some(item))
            .send()
            .await
            .map_err(StoreError::from_sdk)
            .map(|_| ())
    }
}
