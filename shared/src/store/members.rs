//! Members and the email → member uniqueness marker.

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::handles::HandleClaim;
use super::keys::{self, Key};
use super::reads::{Reads, Slot};
use super::{n, s, values, Store, StoreError};
use crate::domain::{DecisionRecord, Email, Member, MemberId, MemberStatus, Role, StaffEntry};

impl Key {
    /// A member's item, indexed by status (oldest first) for the moderation queue.
    pub fn of_member(member: &Member) -> Key {
        Key::member(&member.id).with_gsi1(
            keys::members_by_status(member.status),
            format!("{:012}#{}", member.created_at, member.id),
        )
    }
}

/// The `gsi1` attributes of a member in `status`, for updates that move it.
fn status_index(member: &Member, status: MemberStatus) -> (String, String) {
    let mut moved = member.clone();
    moved.status = status;
    Key::of_member(&moved).gsi1.expect("members are indexed")
}

#[derive(Serialize, Deserialize)]
pub(crate) struct EmailMarker {
    pub(crate) member_id: MemberId,
}

impl Store {
    pub fn members(&self) -> Members<'_> {
        Members { store: self }
    }
}

/// Members, their email markers, the staff list and moderation decisions.
pub struct Members<'a> {
    store: &'a Store,
}

impl Members<'_> {
    pub async fn get(&self, id: &MemberId) -> Result<Option<Member>, StoreError> {
        self.store.get(&Key::member(id)).await
    }

    /// `get`, as one key of a page's `BatchGetItem`.
    pub fn read_in(&self, reads: &mut Reads, id: &MemberId) -> Slot<Member> {
        reads.add(Key::member(id))
    }

    pub async fn id_by_email(&self, email: &Email) -> Result<Option<MemberId>, StoreError> {
        Ok(self
            .store
            .get::<EmailMarker>(&Key::email(email))
            .await?
            .map(|m| m.member_id))
    }

    pub async fn by_email(&self, email: &Email) -> Result<Option<Member>, StoreError> {
        match self.id_by_email(email).await? {
            Some(id) => self.get(&id).await,
            None => Ok(None),
        }
    }

    /// Creates a member and claims their email in one transaction. Fails with
    /// `Cancelled` (index 1) when the email already belongs to someone.
    pub async fn create(&self, member: &Member) -> Result<(), StoreError> {
        let items = self.create_items(member)?;
        self.store.transact(items).await
    }

    /// The two writes that create a member, for callers that add more writes
    /// to the same transaction (e.g. consuming an invite).
    pub fn create_items(&self, member: &Member) -> Result<Vec<TransactWriteItem>, StoreError> {
        Ok(vec![
            self.store
                .tx_put(&Key::of_member(member), member, Some("attribute_not_exists(pk)"), None)?,
            self.store.tx_put(
                &Key::email(&member.email),
                &EmailMarker {
                    member_id: member.id.clone(),
                },
                Some("attribute_not_exists(pk)"),
                None,
            )?,
        ])
    }

    /// Moderators and admins.
    pub async fn staff(&self) -> Result<Vec<StaffEntry>, StoreError> {
        self.store.query_partition(keys::STAFF).await
    }

    /// The staff-list entry for a member of `role` (a delete when plain member).
    pub fn staff_item(&self, member: &Member, role: Role) -> Result<TransactWriteItem, StoreError> {
        let key = Key::staff(&member.id);
        if role.can_moderate() {
            self.store.tx_put(
                &key,
                &StaffEntry {
                    member_id: member.id.clone(),
                    email: member.email.clone(),
                    role,
                },
                None,
                None,
            )
        } else {
            self.store.tx_delete(&key, None, None)
        }
    }

    /// Changes a plain member's or moderator's role and the staff list
    /// together; `Cancelled` (index 0) if the member became an admin meanwhile.
    pub async fn set_role(&self, member: &Member, role: Role) -> Result<(), StoreError> {
        self.store
            .transact(vec![
                self.store.tx_update_named(
                    &Key::member(&member.id),
                    "SET #role = :role",
                    "attribute_exists(pk) AND #role <> :admin",
                    &[("#role", "role")],
                    values([(":role", s(role.as_str())), (":admin", s(Role::Admin.as_str()))]),
                )?,
                self.staff_item(member, role)?,
            ])
            .await
    }

    /// An admin (`by`) takes admin rights from another admin. The same
    /// transaction requires `by` to still be an approved admin, so two admins
    /// demoting each other at once cannot both succeed: there is always one
    /// left. `Cancelled` at 0: `admin` is no longer an admin; at 1: `by` is not.
    pub async fn demote_admin(&self, by: &MemberId, admin: &Member, role: Role) -> Result<(), StoreError> {
        if by == &admin.id || role == Role::Admin {
            return Err(StoreError::Cancelled {
                failed: vec![false, true, false],
            });
        }
        self.store
            .transact(vec![
                self.store.tx_update_named(
                    &Key::member(&admin.id),
                    "SET #role = :role",
                    "#role = :admin",
                    &[("#role", "role")],
                    values([(":role", s(role.as_str())), (":admin", s(Role::Admin.as_str()))]),
                )?,
                self.store.tx_check(
                    &Key::member(by),
                    "#role = :admin AND #status = :approved",
                    &[("#role", "role"), ("#status", "status")],
                    values([
                        (":admin", s(Role::Admin.as_str())),
                        (":approved", s(MemberStatus::Approved.as_str())),
                    ]),
                )?,
                self.staff_item(admin, role)?,
            ])
            .await
    }

    /// Members in one status, oldest first (the moderation queue).
    pub async fn in_status(&self, status: MemberStatus) -> Result<Vec<Member>, StoreError> {
        self.store
            .query_gsi1(&keys::members_by_status(status), None, false)
            .await
    }

    /// Applies `AdminEmails` at sign-in: a listed address becomes an
    /// approved admin (created if needed), an admin whose address is no
    /// longer listed becomes a plain member. The list is the truth.
    pub async fn apply_admin_list(&self, email: &Email, listed: bool, now: i64) -> Result<Option<Member>, StoreError> {
        if listed {
            return self.ensure_admin(email, now).await.map(Some);
        }
        let Some(member) = self.by_email(email).await? else {
            return Ok(None);
        };
        if member.role != Role::Admin {
            return Ok(Some(member));
        }
        let items = vec![
            self.store.tx_update_named(
                &Key::member(&member.id),
                "SET #role = :member",
                "#role = :admin",
                &[("#role", "role")],
                values([
                    (":member", s(Role::Member.as_str())),
                    (":admin", s(Role::Admin.as_str())),
                ]),
            )?,
            self.staff_item(&member, Role::Member)?,
        ];
        match self.store.transact(items).await {
            // Demoted already, by another sign-in or an admin.
            Ok(()) | Err(StoreError::Cancelled { .. }) => {}
            Err(e) => return Err(e),
        }
        tracing::info!(member = %member.id, "admin rights removed: the address is no longer in AdminEmails");
        self.get(&member.id).await
    }

    /// Makes sure each configured admin address is an approved admin: creates
    /// the member if needed, promotes an existing one. Safe to run concurrently.
    pub async fn ensure_admin(&self, email: &Email, now: i64) -> Result<Member, StoreError> {
        if let Some(member) = self.by_email(email).await? {
            if member.role != Role::Admin || member.status != MemberStatus::Approved {
                return self.promote_to_admin(&member).await;
            }
            return Ok(member);
        }
        let member = Member::new(email.clone(), Role::Admin, MemberStatus::Approved, now);
        let mut items = self.create_items(&member)?;
        items.push(self.staff_item(&member, Role::Admin)?);
        match self.store.transact(items).await {
            Ok(()) => Ok(member),
            // Another instance created it first: use theirs.
            Err(StoreError::Cancelled { .. }) => self
                .store
                .members()
                .by_email(email)
                .await?
                .ok_or_else(|| StoreError::Backend("admin vanished after creation".into())),
            Err(e) => Err(e),
        }
    }

    /// Sets only role, status and the status index, so whatever changed on
    /// the member since `member` was read (a sign-out everywhere, an intro)
    /// stays.
    async fn promote_to_admin(&self, member: &Member) -> Result<Member, StoreError> {
        let (gpk, gsk) = status_index(member, MemberStatus::Approved);
        self.store
            .transact(vec![
                self.store.tx_update_named(
                    &Key::member(&member.id),
                    "SET #role = :admin, #status = :approved, gsi1pk = :gpk, gsi1sk = :gsk",
                    "attribute_exists(pk)",
                    &[("#role", "role"), ("#status", "status")],
                    values([
                        (":admin", s(Role::Admin.as_str())),
                        (":approved", s(MemberStatus::Approved.as_str())),
                        (":gpk", s(gpk)),
                        (":gsk", s(gsk)),
                    ]),
                )?,
                self.staff_item(member, Role::Admin)?,
            ])
            .await?;
        self.get(&member.id)
            .await?
            .ok_or_else(|| StoreError::Backend("admin vanished after promotion".into()))
    }

    /// Saves an intro (`member` as it will be) and puts the member on review.
    /// `Conflict` unless they were writing one (`intro`) or were rejected.
    pub async fn save_intro(&self, member: &Member, now: i64) -> Result<(), StoreError> {
        let (gpk, gsk) = status_index(member, MemberStatus::OnReview);
        let links = serde_dynamo::to_attribute_value(&member.links).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store
            .update(
                &Key::member(&member.id),
                "SET display_name = :name, about = :about, links = :links, #status = :review, \
             intro_submitted_at = :now, gsi1pk = :gpk, gsi1sk = :gsk",
                Some("#status IN (:intro, :rejected)"),
                &[("#status", "status")],
                values([
                    (":name", s(member.display_name.clone().unwrap_or_default())),
                    (":about", s(member.about.clone().unwrap_or_default())),
                    (":links", links),
                    (":review", s(MemberStatus::OnReview.as_str())),
                    (":intro", s(MemberStatus::Intro.as_str())),
                    (":rejected", s(MemberStatus::Rejected.as_str())),
                    (":now", n(now)),
                    (":gpk", s(gpk)),
                    (":gsk", s(gsk)),
                ]),
                None,
            )
            .await
            .map(|_| ())
    }

    /// Stores a decision on a member on review: their new status and latest
    /// decision, and a history line, together. `Cancelled` at 0 when the
    /// member was no longer on review (someone decided first).
    pub async fn record_decision(&self, member: &Member, record: &DecisionRecord) -> Result<(), StoreError> {
        self.record_decision_with(member, record, Vec::new(), None).await
    }

    /// `record_decision`, with more writes that must happen exactly when the
    /// decision does (an approval's intro post), in the same transaction.
    /// With `handle`, the member's handle is claimed too: its marker is the
    /// transaction's last item (`Cancelled` there when the handle is taken).
    pub async fn record_decision_with(
        &self,
        member: &Member,
        record: &DecisionRecord,
        also: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        handle: Option<HandleClaim>,
    ) -> Result<(), StoreError> {
        let status = record.decision.status();
        let (gpk, gsk) = status_index(member, status);
        let summary = serde_dynamo::to_attribute_value(member.last_decision.as_ref())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let history = self.store.tx_put(
            &Key::decision(&member.id, record.at, &crate::crypto::random_token(6)),
            record,
            None,
            None,
        )?;
        let mut set = "SET #status = :status, last_decision = :summary, gsi1pk = :gpk, gsi1sk = :gsk".to_string();
        let mut vals = values([
            (":status", s(status.as_str())),
            (":summary", summary),
            (":review", s(MemberStatus::OnReview.as_str())),
            (":gpk", s(gpk)),
            (":gsk", s(gsk)),
        ]);
        let mut tail = Vec::new();
        if let Some(claim) = handle {
            set.push_str(", handle = :handle");
            vals.insert(":handle".into(), s(claim.handle));
            tail.push(claim.item);
        }
        let update = self.store.tx_update_named(
            &Key::member(&member.id),
            &set,
            "#status = :review",
            &[("#status", "status")],
            vals,
        )?;
        self.store
            .transact([update, history].into_iter().chain(also).chain(tail).collect())
            .await
    }

    /// A member's moderation history, oldest first.
    pub async fn decision_history(&self, member: &MemberId) -> Result<Vec<DecisionRecord>, StoreError> {
        self.store
            .query_prefix(&Key::member(member).pk, Some("DECISION#"))
            .await
    }

    /// Ends every session of the member at once (see `Member::session_epoch`).
    pub async fn bump_session_epoch(&self, id: &MemberId) -> Result<(), StoreError> {
        self.store
            .update(
                &Key::member(id),
                "ADD session_epoch :one",
                Some("attribute_exists(pk)"),
                &[],
                values([(":one", n(1))]),
                None,
            )
            .await
            .map(|_| ())
    }

    /// Telegram ids of approved admins who linked Telegram (for alerts).
    pub async fn admin_telegram_ids(&self) -> Result<Vec<i64>, StoreError> {
        let mut ids = Vec::new();
        for entry in self.staff().await?.into_iter().filter(|e| e.role == Role::Admin) {
            let Some(m) = self.get(&entry.member_id).await? else {
                continue;
            };
            if m.role == Role::Admin && m.status == MemberStatus::Approved {
                ids.extend(m.telegram.filter(|t| !t.unreachable).map(|t| t.user_id));
            }
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DecisionSummary, ReviewResult, TelegramLink};
    use crate::store::testing;

    fn email(name: &str) -> Email {
        Email::parse(&format!("{name}@lodge.test")).unwrap()
    }

    async fn member(store: &Store, name: &str, role: Role, status: MemberStatus, at: i64) -> Member {
        let m = Member::new(email(name), role, status, at);
        let mut items = store.members().create_items(&m).unwrap();
        items.push(store.members().staff_item(&m, role).unwrap());
        store.transact(items).await.unwrap();
        m
    }

    /// Issue 10 §2.7: with pages of two items, every listing still returns everything.
    #[tokio::test]
    async fn listings_follow_every_page() {
        let store = testing::store().await.with_page_size(2);
        let mut admin = member(&store, "admin", Role::Admin, MemberStatus::Approved, 1).await;
        for i in 0..5 {
            member(
                &store,
                &format!("waiting{i}"),
                Role::Member,
                MemberStatus::OnReview,
                10 + i,
            )
            .await;
            member(
                &store,
                &format!("mod{i}"),
                Role::Moderator,
                MemberStatus::Approved,
                20 + i,
            )
            .await;
        }
        let queue = store.members().in_status(MemberStatus::OnReview).await.unwrap();
        assert_eq!(queue.len(), 5, "the moderation queue lost members past the first page");
        assert!(
            queue.windows(2).all(|w| w[0].created_at < w[1].created_at),
            "oldest first"
        );
        assert_eq!(store.members().staff().await.unwrap().len(), 6);

        // Broken-rule alerts reach every admin, however many staff there are.
        for i in 0..3 {
            let mut a = member(
                &store,
                &format!("admin{i}"),
                Role::Admin,
                MemberStatus::Approved,
                30 + i,
            )
            .await;
            a.telegram = Some(TelegramLink {
                user_id: 100 + i,
                username: None,
                linked_at: 1,
                unreachable: false,
            });
            store.put(&Key::of_member(&a), &a).await.unwrap();
        }
        admin.telegram = None;
        store.put(&Key::of_member(&admin), &admin).await.unwrap();
        let mut ids = store.members().admin_telegram_ids().await.unwrap();
        ids.sort();
        assert_eq!(ids, [100, 101, 102]);

        let on_review = &queue[0];
        for at in 0..5 {
            let record = DecisionRecord {
                member_id: on_review.id.clone(),
                decision: ReviewResult::Rejected,
                reason: None,
                by: admin.id.clone(),
                by_name: "admin".into(),
                at: 100 + at,
            };
            store
                .put(&Key::decision(&on_review.id, record.at, "x"), &record)
                .await
                .unwrap();
        }
        assert_eq!(store.members().decision_history(&on_review.id).await.unwrap().len(), 5);
    }

    /// Issue 10 §2.9: promoting a member read earlier keeps what changed since.
    #[tokio::test]
    async fn promotion_keeps_later_changes() {
        let store = testing::store().await;
        let read_earlier = member(&store, "promoted", Role::Member, MemberStatus::Approved, 1).await;
        store.members().bump_session_epoch(&read_earlier.id).await.unwrap();
        let admin = store.members().promote_to_admin(&read_earlier).await.unwrap();
        assert_eq!((admin.role, admin.status), (Role::Admin, MemberStatus::Approved));
        assert_eq!(admin.session_epoch, 1, "the sign-out everywhere was undone");
        let staff = store.members().staff().await.unwrap();
        assert!(staff.iter().any(|e| e.member_id == admin.id && e.role == Role::Admin));
        // Indexed under its new status.
        let approved = store.members().in_status(MemberStatus::Approved).await.unwrap();
        assert!(approved.iter().any(|m| m.id == admin.id));
    }

    /// Issue 10 §2.8: `AdminEmails` is the truth at sign-in.
    #[tokio::test]
    async fn the_admin_list_grants_and_removes_admin_rights() {
        let store = testing::store().await;
        let a = email("listed");
        let made = store.members().apply_admin_list(&a, true, 1).await.unwrap().unwrap();
        assert_eq!(made.role, Role::Admin);
        let removed = store.members().apply_admin_list(&a, false, 2).await.unwrap().unwrap();
        assert_eq!(
            removed.role,
            Role::Member,
            "an address removed from AdminEmails kept admin"
        );
        assert!(store.members().staff().await.unwrap().is_empty());
        assert!(store
            .members()
            .apply_admin_list(&email("stranger"), false, 3)
            .await
            .unwrap()
            .is_none());
    }

    /// Issue 10 §2.8: an admin can demote another admin, never the last one.
    #[tokio::test]
    async fn admins_demote_each_other_but_one_is_always_left() {
        let store = testing::store().await;
        let a = member(&store, "a", Role::Admin, MemberStatus::Approved, 1).await;
        let b = member(&store, "b", Role::Admin, MemberStatus::Approved, 2).await;
        let c = member(&store, "c", Role::Admin, MemberStatus::Approved, 3).await;
        store.members().demote_admin(&a.id, &c, Role::Moderator).await.unwrap();
        assert_eq!(store.members().get(&c.id).await.unwrap().unwrap().role, Role::Moderator);
        // A demoted admin can no longer demote anyone.
        assert!(store
            .members()
            .demote_admin(&c.id, &a, Role::Member)
            .await
            .unwrap_err()
            .failed_at(1));
        // Not themselves.
        assert!(store
            .members()
            .demote_admin(&a.id, &a, Role::Member)
            .await
            .unwrap_err()
            .failed_at(1));
        // The last two demote each other at once: one wins, one admin is left.
        let members = store.members();
        let (x, y) = tokio::join!(
            members.demote_admin(&a.id, &b, Role::Member),
            members.demote_admin(&b.id, &a, Role::Member)
        );
        assert!(x.is_ok() != y.is_ok(), "{x:?} {y:?}");
        let roles = [
            store.members().get(&a.id).await.unwrap().unwrap().role,
            store.members().get(&b.id).await.unwrap().unwrap().role,
        ];
        assert_eq!(roles.iter().filter(|r| **r == Role::Admin).count(), 1, "{roles:?}");
    }

    #[test]
    fn stored_members_read_back() {
        // An item as stored before decisions were typed.
        let id = MemberId::generate();
        let stored = serde_json::json!({
            "id": id, "email": "old@lodge.test", "role": "member", "status": "approved", "created_at": 1,
            "last_decision": {"decision": "approved", "by": id, "by_name": "Ann", "at": 2}
        });
        let m: Member = serde_json::from_value(stored).unwrap();
        assert_eq!(
            m.last_decision,
            Some(DecisionSummary {
                decision: ReviewResult::Approved,
                reason: None,
                by: id,
                by_name: "Ann".into(),
                at: 2
            })
        );
    }
}
