//! A member as stored, with their Telegram link and staff-list entry.
//! Field names are the stored attribute names.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{DecisionSummary, Email, MemberId, MemberStatus, Role, RoomSlug};

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
    /// The linked Telegram account, if any (the store keeps a marker per account).
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
    /// Unread inbox entries (issue 13), kept exact by the inbox's
    /// transactions; the page header shows it at no extra read.
    #[serde(default)]
    pub unread_notifications: i64,
    /// The `@name` mentions resolve through (unique, see `store::handles`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    // --- feed: what this member left out of their feed, and their private
    // feed link (docs/posts.md, "Feed"). String sets in DynamoDB, so mutes
    // are single `ADD`/`DELETE` updates; omitted when empty (a set cannot be).
    #[serde(
        default,
        with = "serde_dynamo::string_set",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub muted_rooms: BTreeSet<RoomSlug>,
    /// At most `MAX_MUTED_MEMBERS`; never a moderator.
    #[serde(
        default,
        with = "serde_dynamo::string_set",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub muted_members: BTreeSet<MemberId>,
    #[serde(
        default,
        with = "serde_dynamo::string_set",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub subscribed_rooms: BTreeSet<RoomSlug>,
    /// SHA-256 (hex) of the private feed token; `None`: no private feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_token_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed_token_at: Option<i64>,
    // --- end of feed ---
}

/// How many members one member may mute (the feed's filter holds at most
/// 100 values: 50 rooms and 50 members).
pub const MAX_MUTED_MEMBERS: usize = 50;
pub const MAX_MUTED_ROOMS: usize = 50;

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
            unread_notifications: 0,
            handle: None,
            muted_rooms: BTreeSet::new(),
            muted_members: BTreeSet::new(),
            subscribed_rooms: BTreeSet::new(),
            feed_token_hash: None,
            feed_token_at: None,
        }
    }

    /// What pages call the member before they have written an intro.
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or_else(|| self.email.as_str())
    }
}
