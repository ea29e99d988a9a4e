//! Invites: created by members within a monthly quota, used once.

use serde::{Deserialize, Serialize};

use super::keys::{self, Key};
use super::members::EmailMarker;
use super::reads::Reads;
use super::{n, s, values, Store, StoreError};
use crate::domain::{Email, InviteCode, Member, MemberId};

/// A plain member's monthly invite count, taken in the invite's transaction.
pub struct InviteQuota<'a> {
    pub member: &'a MemberId,
    /// `YYYY-MM`.
    pub month: &'a str,
    pub per_month: u32,
    pub expires_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    Unused,
    Used,
    Revoked,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Invite {
    pub code: InviteCode,
    pub created_by: MemberId,
    pub created_by_name: String,
    pub created_at: i64,
    /// Not the TTL attribute: an expired invite must still explain itself.
    pub valid_until: i64,
    pub status: InviteStatus,
    #[serde(default)]
    pub used_by: Option<MemberId>,
    #[serde(default)]
    pub used_email: Option<Email>,
    #[serde(default)]
    pub used_at: Option<i64>,
}

impl InviteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unused => "unused",
            Self::Used => "used",
            Self::Revoked => "revoked",
        }
    }
}

impl Invite {
    pub fn key(&self) -> Key {
        Key::invite(&self.code).with_gsi1(
            keys::invites_of(&self.created_by),
            format!("INVITE#{:012}#{}", self.created_at, self.code),
        )
    }

    /// What a visitor sees: unused-but-expired counts as expired.
    pub fn state(&self, now: i64) -> &'static str {
        match self.status {
            InviteStatus::Unused if self.valid_until <= now => "expired",
            InviteStatus::Unused => "unused",
            InviteStatus::Used => "used",
            InviteStatus::Revoked => "revoked",
        }
    }
}

impl Store {
    pub fn invites(&self) -> Invites<'_> {
        Invites { store: self }
    }
}

/// Invite codes: issuing within a quota, revoking, joining with one.
pub struct Invites<'a> {
    store: &'a Store,
}

impl Invites<'_> {
    pub async fn get(&self, code: &InviteCode) -> Result<Option<Invite>, StoreError> {
        self.store.get(&Key::invite(code)).await
    }

    /// The invite and the member `email` already belongs to, if any, in one
    /// `BatchGetItem` (what activating an invite decides on).
    pub async fn get_with_owner(
        &self,
        code: &InviteCode,
        email: &Email,
    ) -> Result<(Option<Invite>, Option<MemberId>), StoreError> {
        let mut reads = Reads::new();
        let invite = reads.add(Key::invite(code));
        let owner = reads.add::<EmailMarker>(Key::email(email));
        let mut got = self.store.fetch(reads).await?;
        Ok((got.take(invite)?, got.take(owner)?.map(|m| m.member_id)))
    }

    /// A member's invites, newest first.
    pub async fn of(&self, member: &MemberId) -> Result<Vec<Invite>, StoreError> {
        self.store
            .query_gsi1(&keys::invites_of(member), Some("INVITE#"), true)
            .await
    }

    /// Stores a new invite, counting it against `quota` in the same
    /// transaction. `Cancelled` at 1 when the quota is used up.
    pub async fn create(&self, invite: &Invite, quota: Option<InviteQuota<'_>>) -> Result<(), StoreError> {
        let mut items = vec![self
            .store
            .tx_put(&invite.key(), invite, Some("attribute_not_exists(pk)"), None)?];
        if let Some(q) = quota {
            items.push(self.store.tx_update(
                &Key::monthly("invites", q.member.as_str(), q.month),
                "ADD hits :one SET expires_at = :exp",
                "attribute_not_exists(hits) OR hits < :max",
                values([(":one", n(1)), (":max", n(q.per_month)), (":exp", n(q.expires_at))]),
            )?);
        }
        self.store.transact(items).await
    }

    /// Revokes an unused invite of `owner`. `false` when it was no longer unused.
    pub async fn revoke(&self, owner: &MemberId, code: &InviteCode) -> Result<bool, StoreError> {
        let out = self
            .store
            .update(
                &Key::invite(code),
                "SET #status = :revoked",
                Some("#status = :unused AND created_by = :me"),
                &[("#status", "status")],
                values([
                    (":revoked", s(InviteStatus::Revoked.as_str())),
                    (":unused", s(InviteStatus::Unused.as_str())),
                    (":me", s(owner.as_str())),
                ]),
                None,
            )
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// In one transaction: the invite goes `unused → used` by `member`, whose
    /// email is claimed and who is created. `Cancelled` at 0: the invite is
    /// no longer usable; at 2: the email belongs to someone.
    pub async fn join(&self, code: &InviteCode, member: &Member, now: i64) -> Result<(), StoreError> {
        let mut items = vec![self.store.tx_update_named(
            &Key::invite(code),
            "SET #status = :used, used_by = :member, used_email = :email, used_at = :now",
            "#status = :unused AND valid_until > :now",
            &[("#status", "status")],
            values([
                (":used", s(InviteStatus::Used.as_str())),
                (":unused", s(InviteStatus::Unused.as_str())),
                (":member", s(member.id.as_str())),
                (":email", s(member.email.as_str())),
                (":now", n(now)),
            ]),
        )?];
        items.extend(self.store.members().create_items(member)?);
        self.store.transact(items).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10 §2.7: a member's invite list follows every page.
    #[tokio::test]
    async fn invite_lists_follow_every_page() {
        let store = crate::store::testing::store().await.with_page_size(2);
        let owner = MemberId::generate();
        for at in 0..5 {
            let invite = Invite {
                code: InviteCode::generate(),
                created_by: owner.clone(),
                created_by_name: "Ann".into(),
                created_at: at,
                valid_until: at + 100,
                status: InviteStatus::Unused,
                used_by: None,
                used_email: None,
                used_at: None,
            };
            store.invites().create(&invite, None).await.unwrap();
        }
        let listed = store.invites().of(&owner).await.unwrap();
        assert_eq!(listed.len(), 5, "invites past the first page are missing");
        assert!(
            listed.windows(2).all(|w| w[0].created_at > w[1].created_at),
            "newest first"
        );
    }
}
