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
    #[serde(default)]
    pub about: Option<String>,
    #[serde(default)]
    pub links: Vec<String>,
    #[serde(default)]
    pub intro_submitted_at: Option<i64>,
    /// The latest moderation decision, so a second moderator is told who decided.
    #[serde(default)]
    pub last_decision: Option<DecisionSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionSummary {
    /// `approved` or `rejected`.
    pub decision: String,
    #[serde(default)]
    pub reason: Option<String>,
    pub by: MemberId,
    pub by_name: String,
    pub at: i64,
}

/// Moderators and admins, listed under one partition (`STAFF`) so
/// notifications can reach them with one query.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StaffEntry {
    pub member_id: MemberId,
    pub email: Email,
    pub role: Role,
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
            about: None,
            links: Vec::new(),
            intro_submitted_at: None,
            last_decision: None,
        }
    }

    pub fn key(&self) -> Key {
        Key::member(&self.id).with_gsi1(
            keys::members_by_status(self.status),
            format!("{:012}#{}", self.created_at, self.id),
        )
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
        self.query_partition(keys::STAFF).await
    }

    /// The staff-list entry for a member of `role` (a delete when plain member).
    pub fn staff_item(
        &self,
        member: &Member,
        role: Role,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        let key = Key::staff(&member.id);
        if role.can_moderate() {
            self.tx_put(
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
            self.tx_delete(&key, None, None)
        }
    }

    /// Changes a member's role and the staff list together.
    pub async fn set_role(&self, member: &Member, role: Role) -> Result<(), StoreError> {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(self.table())
            .set_key(Some(Key::member(&member.id).to_item()))
            .update_expression("SET #role = :role")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", super::s(role.as_str()))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        self.transact(vec![
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .update(update)
                .build(),
            self.staff_item(member, role)?,
        ])
        .await
    }

    /// Members in one status, oldest first (the moderation queue).
    pub async fn members_in_status(&self, status: MemberStatus) -> Result<Vec<Member>, StoreError> {
        self.query_gsi1(&keys::members_by_status(status), None, false).await
    }

    /// Makes sure each configured admin address is an approved admin: creates
    /// the member if needed, promotes an existing one. Safe to run concurrently.
    pub async fn ensure_admin(&self, email: &Email, now: i64) -> Result<Member, StoreError> {
        if let Some(mut member) = self.member_by_email(email).await? {
            if member.role != Role::Admin || member.status != MemberStatus::Approved {
                member.role = Role::Admin;
                member.status = MemberStatus::Approved;
                self.transact(vec![
                    self.tx_put(&member.key(), &member, None, None)?,
                    self.staff_item(&member, Role::Admin)?,
                ])
                .await?;
            }
            return Ok(member);
        }
        let member = Member::new(email.clone(), Role::Admin, MemberStatus::Approved, now);
        let mut items = self.create_member_items(&member)?;
        items.push(self.staff_item(&member, Role::Admin)?);
        match self.transact(items).await {
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
