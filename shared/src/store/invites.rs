//! Invites: created by members within a monthly quota, used once.

use serde::{Deserialize, Serialize};

use super::keys::{self, Key};
use super::{Store, StoreError};
use crate::domain::{Email, InviteCode, MemberId};

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
    pub async fn invite(&self, code: &InviteCode) -> Result<Option<Invite>, StoreError> {
        self.get(&Key::invite(code)).await
    }

    /// A member's invites, newest first.
    pub async fn invites_of(&self, member: &MemberId) -> Result<Vec<Invite>, StoreError> {
        self.query_gsi1(&keys::invites_of(member), Some("INVITE#"), true).await
    }
}
