//! Invites: creating them within a quota, revoking, and joining with one.
//! Every rule is a condition in a transaction, so concurrent requests cannot
//! use one invite twice or claim one email twice.

use crate::domain::{Email, InviteCode, Member, MemberStatus, Role};
use crate::store::invites::{Invite, InviteQuota, InviteStatus};
use crate::store::{Store, StoreError};

#[derive(Clone, Copy, Debug)]
pub struct InviteLimits {
    /// Invites a plain member may create per calendar month; staff are unlimited.
    pub per_month: u32,
    pub ttl_days: i64,
}

impl Default for InviteLimits {
    fn default() -> Self {
        Self {
            per_month: 3,
            ttl_days: 365,
        }
    }
}

impl InviteLimits {
    /// `LODGE_INVITES_PER_MONTH` and `LODGE_INVITE_TTL_DAYS` (template
    /// parameters), read the same way by the web and the bot.
    pub fn from_env(env: &crate::Env) -> Result<Self, crate::ConfigError> {
        let d = Self::default();
        Ok(Self {
            per_month: env.parse_or("LODGE_INVITES_PER_MONTH", d.per_month)?,
            ttl_days: env.parse_or("LODGE_INVITE_TTL_DAYS", d.ttl_days)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("only approved members can invite")]
    NotApproved,
    #[error("monthly invite quota of {per_month} used")]
    QuotaExhausted { per_month: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn month_of(epoch: i64) -> String {
    crate::clock::rfc3339(epoch)[..7].to_string()
}

/// Creates an invite for `creator`, counting it against their monthly quota
/// in the same transaction.
pub async fn create(store: &Store, creator: &Member, now: i64, limits: InviteLimits) -> Result<Invite, InviteError> {
    if creator.status != MemberStatus::Approved {
        return Err(InviteError::NotApproved);
    }
    let invite = Invite {
        code: InviteCode::generate(),
        created_by: creator.id.clone(),
        created_by_name: creator.name().to_string(),
        created_at: now,
        valid_until: now + limits.ttl_days * 86_400,
        status: InviteStatus::Unused,
        used_by: None,
        used_email: None,
        used_at: None,
    };
    let month = month_of(now);
    let quota = (creator.role == Role::Member).then(|| InviteQuota {
        member: &creator.id,
        month: &month,
        per_month: limits.per_month,
        expires_at: now + 40 * 86_400,
    });
    match store.invites().create(&invite, quota).await {
        Ok(()) => Ok(invite),
        Err(e) if e.failed_at(1) => Err(InviteError::QuotaExhausted {
            per_month: limits.per_month,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Revokes an unused invite of `owner`. `false` when it was no longer unused.
pub async fn revoke(store: &Store, owner: &Member, code: &InviteCode) -> Result<bool, StoreError> {
    store.invites().revoke(&owner.id, code).await
}

/// What activating an invite did.
#[derive(Debug)]
pub enum Activation {
    /// A new member (status `intro`) joined with this invite.
    Joined(Member),
    /// The same email on the same invite again: carry on where they left off.
    Resumed(Member),
    /// The email already belongs to a member; the invite was not used.
    AlreadyMember(Member),
}

#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    #[error("no such invite")]
    Unknown,
    #[error("invite already used")]
    Used,
    #[error("invite revoked")]
    Revoked,
    #[error("invite expired")]
    Expired,
    /// Lost a race: someone else used it a moment ago.
    #[error("invite just used")]
    JustUsed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Looks an invite up for display, mapping dead ones to their reason.
pub async fn usable(store: &Store, code: &InviteCode, now: i64) -> Result<Invite, ActivateError> {
    let invite = store.invites().get(code).await?.ok_or(ActivateError::Unknown)?;
    match invite.state(now) {
        "unused" => Ok(invite),
        "used" => Err(ActivateError::Used),
        "revoked" => Err(ActivateError::Revoked),
        _ => Err(ActivateError::Expired),
    }
}

/// Joins with an invite: in one transaction the invite goes `unused → used`,
/// the email is claimed and the member created.
pub async fn activate(store: &Store, code: &InviteCode, email: &Email, now: i64) -> Result<Activation, ActivateError> {
    let (invite, owner) = store.invites().get_with_owner(code, email).await?;
    let invite = invite.ok_or(ActivateError::Unknown)?;
    if invite.used_email.as_ref() == Some(email) {
        return resumed(store, &invite).await;
    }
    match invite.state(now) {
        "unused" => {}
        "used" => return Err(ActivateError::Used),
        "revoked" => return Err(ActivateError::Revoked),
        _ => return Err(ActivateError::Expired),
    }
    if let Some(id) = owner {
        if let Some(member) = store.members().get(&id).await? {
            return Ok(Activation::AlreadyMember(member));
        }
    }
    let mut member = Member::new(email.clone(), Role::Member, MemberStatus::Intro, now);
    member.invited_by = Some(invite.created_by.clone());
    match store.invites().join(code, &member, now).await {
        Ok(()) => Ok(Activation::Joined(member)),
        Err(e) if e.failed_at(0) => {
            let now_invite = store.invites().get(code).await?.ok_or(ActivateError::Unknown)?;
            if now_invite.used_email.as_ref() == Some(email) {
                resumed(store, &now_invite).await
            } else {
                Err(ActivateError::JustUsed)
            }
        }
        Err(e) if e.failed_at(2) => match store.members().by_email(email).await? {
            Some(m) => Ok(Activation::AlreadyMember(m)),
            None => Err(ActivateError::JustUsed),
        },
        Err(e) => Err(e.into()),
    }
}

async fn resumed(store: &Store, invite: &Invite) -> Result<Activation, ActivateError> {
    let id = invite.used_by.as_ref().ok_or(ActivateError::Used)?;
    store
        .members()
        .get(id)
        .await?
        .map(Activation::Resumed)
        .ok_or(ActivateError::Used)
}
