//! Members and the email → member uniqueness marker.

use serde::{Deserialize, Serialize};

use super::keys::{self, Key};
use super::{values, Store, StoreError};
use crate::domain::{Email, MemberId, MemberStatus, Role};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub email: Email,
    pub role: Role,
    pub status: MemberStatus,
    pub created_at: i64,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub invited_by: Option<MemberId>,
    /// Bumped by "sign out everywhere": sessions of an older epoch are dead.
    #[serde(default)]
    pub session_epoch: u32,
    /// The linked Telegram account, if any (see `Key::telegram` for the marker).
    #[serde(default)]
    pub telegram: Option<TelegramLink>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TelegramLink {
    pub user_id: i64,
    #[serde(default)]
    pub username: Option<String>,
    pub linked_at: i64,
    /// The member blocked the bot (Bot API 403): do not message them.
    #[serde(default)]
    pub unreachable: bool,
}

impl Member {
    pub fn new(email: Email, role: Role, status: MemberStatus, now: i64) -> Self {
        Self {
            id: MemberId::generate(),
            email,
            role,
            status,
            created_at: now,
            display_name: None,
            invited_by: None,
            session_epoch: 0,
            telegram: None,
        }
    }

    pub fn key(&self) -> Key {
        Key::member(&self.id).with_gsi1(keys::members_by_status(self.status), format!("{:012}#{}", self.created_at, self.id))
    }

    /// What pages call the member before they have written an intro.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or_else(|| self.email.as_str())
    }
}

#[derive(Serialize, Deserialize)]
struct EmailMarker {
    member_id: MemberId,
}

impl Store {
    pub async fn member(&self, id: &MemberId) -> Result<Option<Member>, StoreError> {
        self.get(&Key::member(id)).await
    }

    pub async fn member_id_by_email(&self, email: &Email) -> Result<Option<MemberId>, StoreError> {
        Ok(self.get::<EmailMarker>(&Key::email(email)).await?.map(|m| m.member_id))
    }

    pub async fn member_by_email(&self, email: &Email) -> Result<Option<Member>, StoreError> {
        match self.member_id_by_email(email).await? {
            Some(id) => self.member(&id).await,
            None => Ok(None),
        }
    }

    /// Creates a member and claims their email in one transaction. Fails with
    /// `Cancelled` (index 1) when the email already belongs to someone.
    pub async fn create_member(&self, member: &Member) -> Result<(), StoreError> {
        let items = self.create_member_items(member)?;
        self.transact(items).await
    }

    /// The two writes that create a member, for callers that add more writes
    /// to the same transaction (e.g. consuming an invite).
    pub fn create_member_items(
        &self,
        member: &Member,
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        Ok(vec![
            self.tx_put(&member.key(), member, Some("attribute_not_exists(pk)"), None)?,
            self.tx_put(
                &Key::email(&member.email),
                &EmailMarker { member_id: member.id.clone() },
                Some("attribute_not_exists(pk)"),
                None,
            )?,
        ])
    }

    /// Makes sure each configured admin address is an approved admin: creates
    /// the member if needed, promotes an existing one. Safe to run concurrently.
    pub async fn ensure_admin(&self, email: &Email, now: i64) -> Result<Member, StoreError> {
        if let Some(mut member) = self.member_by_email(email).await? {
            if member.role != Role::Admin || member.status != MemberStatus::Approved {
                member.role = Role::Admin;
                member.status = MemberStatus::Approved;
                self.put(&member.key(), &member).await?;
            }
            return Ok(member);
        }
        let member = Member::new(email.clone(), Role::Admin, MemberStatus::Approved, now);
        match self.create_member(&member).await {
            Ok(()) => Ok(member),
            // Another instance created it first: use theirs.
            Err(StoreError::Cancelled { .. }) => self
                .member_by_email(email)
                .await?
                .ok_or_else(|| StoreError::Backend("admin vanished after creation".into())),
            Err(e) => Err(e),
        }
    }

    /// Ends every session of the member at once (see `Member::session_epoch`).
    pub async fn bump_session_epoch(&self, id: &MemberId) -> Result<(), StoreError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(Key::member(id).to_item()))
            .update_expression("ADD session_epoch :one")
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_values(Some(values([(":one", super::n(1))])))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }
}
