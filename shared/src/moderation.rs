//! Intros and their review. The web page and the Telegram buttons both call
//! `decide`; the decision is conditional on the member still being on review,
//! so a double click or a second moderator never applies anything twice.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use crate::domain::{About, DisplayName, Links, MemberId, MemberStatus};
use crate::store::keys::Key;
use crate::store::members::{DecisionSummary, Member};
use crate::store::{n, s, values, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectReason {
    TooShort,
    NotRealName,
    Incomplete,
    Other(String),
}

impl RejectReason {
    pub const PRESETS: [RejectReason; 3] = [
        RejectReason::TooShort,
        RejectReason::NotRealName,
        RejectReason::Incomplete,
    ];

    /// From a form: a preset code, or `other` with the moderator's text.
    pub fn parse(code: &str, text: Option<&str>) -> Result<Self, String> {
        match code {
            "too_short" => Ok(Self::TooShort),
            "not_real_name" => Ok(Self::NotRealName),
            "incomplete" => Ok(Self::Incomplete),
            "other" => {
                let t = text.unwrap_or_default().trim();
                match t.chars().count() {
                    0 => Err("Write the reason for the member.".into()),
                    n if n > 500 => Err(format!("The reason is too long: {n} characters, at most 500.")),
                    _ => Ok(Self::Other(t.to_string())),
                }
            }
            other => Err(format!(
                "Unknown reason “{}”.",
                other.chars().take(40).collect::<String>()
            )),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::TooShort => "too_short",
            Self::NotRealName => "not_real_name",
            Self::Incomplete => "incomplete",
            Self::Other(_) => "other",
        }
    }

    /// The sentence the member reads.
    pub fn label(&self) -> String {
        match self {
            Self::TooShort => "Your intro is too short — tell us a bit more about yourself.".into(),
            Self::NotRealName => "Please use your real name.".into(),
            Self::Incomplete => "Your intro is missing something — who you are and how you know the community.".into(),
            Self::Other(text) => text.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject(RejectReason),
}

// Returned once per click: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Outcome {
    Applied {
        member: Member,
    },
    AlreadyDecided {
        decided_by_name: String,
        decision: String,
        at: i64,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ModerationError {
    #[error("only moderators and admins can moderate")]
    NotAllowed,
    #[error("no such member")]
    NotFound,
    #[error("the member is not waiting for review")]
    NotOnReview,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One line of a member's moderation history.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub member_id: MemberId,
    pub decision: String,
    #[serde(default)]
    pub reason: Option<String>,
    pub by: MemberId,
    pub by_name: String,
    pub at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum IntroError {
    #[error("the intro can only be changed before approval")]
    NotEditable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Saves the intro and puts the member on review (from `intro` or `rejected`).
pub async fn submit_intro(
    store: &Store,
    member: &Member,
    name: DisplayName,
    about: About,
    links: Links,
    now: i64,
) -> Result<Member, IntroError> {
    let mut updated = member.clone();
    updated.display_name = Some(name.into_inner());
    updated.about = Some(about.into_inner());
    updated.links = links.into_inner();
    updated.status = MemberStatus::OnReview;
    updated.intro_submitted_at = Some(now);
    let (gsi_pk, gsi_sk) = updated.key().gsi1.expect("members are indexed");
    let links_value =
        serde_dynamo::to_attribute_value(&updated.links).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let result = store
        .client()
        .update_item()
        .table_name(store.table())
        .set_key(Some(Key::member(&member.id).to_item()))
        .update_expression(
            "SET display_name = :name, about = :about, links = :links, #status = :review, \
             intro_submitted_at = :now, gsi1pk = :gpk, gsi1sk = :gsk",
        )
        .condition_expression("#status IN (:intro, :rejected)")
        .expression_attribute_names("#status", "status")
        .set_expression_attribute_values(Some(values([
            (":name", s(updated.display_name.clone().unwrap_or_default())),
            (":about", s(updated.about.clone().unwrap_or_default())),
            (":links", links_value),
            (":review", s(MemberStatus::OnReview.as_str())),
            (":intro", s(MemberStatus::Intro.as_str())),
            (":rejected", s(MemberStatus::Rejected.as_str())),
            (":now", n(now)),
            (":gpk", s(gsi_pk)),
            (":gsk", s(gsi_sk)),
        ])))
        .send()
        .await;
    match result {
        Ok(_) => Ok(updated),
        Err(e) => match StoreError::from_sdk(e) {
            StoreError::Conflict => Err(IntroError::NotEditable),
            other => Err(other.into()),
        },
    }
}

/// Applies a moderator's decision exactly once.
pub async fn decide(
    store: &Store,
    moderator: &Member,
    member_id: &MemberId,
    decision: Decision,
    now: i64,
) -> Result<Outcome, ModerationError> {
    if !moderator.role.can_moderate() || moderator.status != MemberStatus::Approved {
        return Err(ModerationError::NotAllowed);
    }
    let member = store.member(member_id).await?.ok_or(ModerationError::NotFound)?;
    if member.status != MemberStatus::OnReview {
        return already_decided(&member);
    }
    let (status, reason) = match &decision {
        Decision::Approve => (MemberStatus::Approved, None),
        Decision::Reject(r) => (MemberStatus::Rejected, Some(r.label())),
    };
    let summary = DecisionSummary {
        decision: status.as_str().to_string(),
        reason: reason.clone(),
        by: moderator.id.clone(),
        by_name: moderator.name().to_string(),
        at: now,
    };
    let record = DecisionRecord {
        member_id: member.id.clone(),
        decision: summary.decision.clone(),
        reason,
        by: moderator.id.clone(),
        by_name: summary.by_name.clone(),
        at: now,
    };
    let mut updated = member.clone();
    updated.status = status;
    updated.last_decision = Some(summary.clone());
    let (gsi_pk, gsi_sk) = updated.key().gsi1.expect("members are indexed");
    let summary_value = serde_dynamo::to_attribute_value(&summary).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let update = Update::builder()
        .table_name(store.table())
        .set_key(Some(Key::member(&member.id).to_item()))
        .update_expression("SET #status = :status, last_decision = :summary, gsi1pk = :gpk, gsi1sk = :gsk")
        .condition_expression("#status = :review")
        .expression_attribute_names("#status", "status")
        .set_expression_attribute_values(Some(values([
            (":status", s(status.as_str())),
            (":summary", summary_value),
            (":review", s(MemberStatus::OnReview.as_str())),
            (":gpk", s(gsi_pk)),
            (":gsk", s(gsi_sk)),
        ])))
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let history = store.tx_put(
        &Key::decision(&member.id, now, &crate::crypto::random_token(6)),
        &record,
        None,
        None,
    )?;
    match store
        .transact(vec![TransactWriteItem::builder().update(update).build(), history])
        .await
    {
        Ok(()) => Ok(Outcome::Applied { member: updated }),
        Err(e) if e.failed_at(0) => {
            let current = store.member(member_id).await?.ok_or(ModerationError::NotFound)?;
            already_decided(&current)
        }
        Err(e) => Err(e.into()),
    }
}

fn already_decided(member: &Member) -> Result<Outcome, ModerationError> {
    match &member.last_decision {
        Some(d) => Ok(Outcome::AlreadyDecided {
            decided_by_name: d.by_name.clone(),
            decision: d.decision.clone(),
            at: d.at,
        }),
        None => Err(ModerationError::NotOnReview),
    }
}

/// A member's moderation history, oldest first.
pub async fn history(store: &Store, member: &MemberId) -> Result<Vec<DecisionRecord>, StoreError> {
    let out = store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :p AND begins_with(sk, :d)")
        .expression_attribute_values(":p", s(Key::member(member).pk))
        .expression_attribute_values(":d", s("DECISION#"))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    out.items
        .unwrap_or_default()
        .into_iter()
        .map(crate::store::from_item)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_parse_from_forms() {
        assert_eq!(RejectReason::parse("too_short", None).unwrap(), RejectReason::TooShort);
        assert_eq!(
            RejectReason::parse("other", Some(" Say hi ")).unwrap(),
            RejectReason::Other("Say hi".into())
        );
        assert!(RejectReason::parse("other", Some("  ")).is_err());
        assert!(RejectReason::parse("nope", None).is_err());
        for r in RejectReason::PRESETS {
            assert_eq!(RejectReason::parse(r.code(), None).unwrap(), r);
        }
    }
}
