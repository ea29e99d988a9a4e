//! Intros and their review. The web page and the Telegram buttons both call
//! `decide`; the decision is conditional on the member still being on review,
//! so a double click or a second moderator never applies anything twice.

use crate::domain::{
    About, DecisionRecord, DecisionSummary, DisplayName, Links, Member, MemberId, MemberStatus, ReviewResult,
};
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};

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

/// A moderator's decision. Buttons and queued jobs carry it as its action
/// string, `approve` or `reject:<preset code>` (serde uses the same).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Decision {
    Approve,
    Reject(RejectReason),
}

impl Decision {
    pub fn action(&self) -> String {
        match self {
            Self::Approve => "approve".into(),
            Self::Reject(reason) => format!("reject:{}", reason.code()),
        }
    }

    /// The action string of a button: only preset reasons fit in one.
    pub fn from_action(action: &str) -> Option<Self> {
        if action == "approve" {
            return Some(Self::Approve);
        }
        match RejectReason::parse(action.strip_prefix("reject:")?, None) {
            Ok(RejectReason::Other(_)) | Err(_) => None,
            Ok(reason) => Some(Self::Reject(reason)),
        }
    }
}

impl TryFrom<String> for Decision {
    type Error = String;
    fn try_from(action: String) -> Result<Self, String> {
        Self::from_action(&action).ok_or_else(|| format!("unknown moderation action {action:?}"))
    }
}

impl From<Decision> for String {
    fn from(d: Decision) -> String {
        d.action()
    }
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
        decision: ReviewResult,
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
    match store.members().save_intro(&updated, now).await {
        Ok(()) => Ok(updated),
        Err(StoreError::Conflict) => Err(IntroError::NotEditable),
        Err(other) => Err(other.into()),
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
    let member = store.members().get(member_id).await?;
    decide_on(store, moderator, member, decision, now).await
}

/// `decide`, on the member as the caller just read it (`None`: no such
/// member), for a caller that read it beside the moderator's session.
pub async fn decide_on(
    store: &Store,
    moderator: &Member,
    member: Option<Member>,
    decision: Decision,
    now: i64,
) -> Result<Outcome, ModerationError> {
    if !moderator.role.can_moderate() || moderator.status != MemberStatus::Approved {
        return Err(ModerationError::NotAllowed);
    }
    let member = member.ok_or(ModerationError::NotFound)?;
    if member.status != MemberStatus::OnReview {
        return already_decided(&member);
    }
    let (verdict, reason) = match &decision {
        Decision::Approve => (ReviewResult::Approved, None),
        Decision::Reject(r) => (ReviewResult::Rejected, Some(r.label())),
    };
    let record = DecisionRecord {
        member_id: member.id.clone(),
        decision: verdict,
        reason: reason.clone(),
        by: moderator.id.clone(),
        by_name: moderator.name().to_string(),
        at: now,
    };
    let mut updated = member;
    updated.status = verdict.status();
    updated.last_decision = Some(DecisionSummary {
        decision: verdict,
        reason,
        by: record.by.clone(),
        by_name: record.by_name.clone(),
        at: now,
    });
    // An approved member's intro becomes an `intro` post, in the approval's
    // own transaction: it happens exactly once, with the decision.
    let also = match &decision {
        Decision::Approve => store
            .posts()
            .intro_items(&updated, now * 1000)
            .map_err(|e| StoreError::Backend(format!("intro post: {e}")))?,
        Decision::Reject(_) => Vec::new(),
    };
    // Their @handle, for mentions: the first choice in the same transaction
    // (one write fewer); if it is taken, the decision again without it, then
    // the other choices (`Handles::ensure`), and lazily later if that fails.
    let claim = match decision {
        Decision::Approve => store.handles().first_claim(&updated)?,
        Decision::Reject(_) => None,
    };
    let tried = claim.as_ref().map(|c| c.handle.clone());
    let last = 2 + also.len();
    let mut written = store
        .members()
        .record_decision_with(&updated, &record, also.clone(), claim)
        .await;
    if tried.is_some() && matches!(&written, Err(e) if e.failed_at(last) && !e.failed_at(0)) {
        written = store
            .members()
            .record_decision_with(&updated, &record, also, None)
            .await;
        if written.is_ok() {
            if let Err(e) = store.handles().ensure(&updated).await {
                tracing::warn!(error = %e, "could not claim the member's handle");
            }
        }
    } else if written.is_ok() && tried.is_some() {
        updated.handle = tried;
    }
    match written {
        Ok(()) => Ok(Outcome::Applied { member: updated }),
        Err(e) if e.failed_at(0) => {
            let current = store
                .members()
                .get(&updated.id)
                .await?
                .ok_or(ModerationError::NotFound)?;
            already_decided(&current)
        }
        Err(e) => Err(e.into()),
    }
}

fn already_decided(member: &Member) -> Result<Outcome, ModerationError> {
    match &member.last_decision {
        Some(d) => Ok(Outcome::AlreadyDecided {
            decided_by_name: d.by_name.clone(),
            decision: d.decision,
            at: d.at,
        }),
        None => Err(ModerationError::NotOnReview),
    }
}

/// A member's moderation history, oldest first.
pub async fn history(store: &Store, member: &MemberId) -> Result<Vec<DecisionRecord>, StoreError> {
    store.members().decision_history(member).await
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

    #[test]
    fn decisions_travel_as_their_action_strings() {
        let reject = Decision::Reject(RejectReason::NotRealName);
        assert_eq!(serde_json::to_value(&reject).unwrap(), "reject:not_real_name");
        assert_eq!(
            serde_json::from_value::<Decision>("approve".into()).unwrap(),
            Decision::Approve
        );
        for d in [Decision::Approve, reject] {
            assert_eq!(Decision::from_action(&d.action()), Some(d));
        }
        for bad in ["reject:other", "reject:", "reject:nope", "delete"] {
            assert_eq!(Decision::from_action(bad), None, "{bad}");
        }
    }
}
