//! Moderation decisions as stored: on the member (the latest) and in their
//! history. `ReviewResult`'s serde names are the strings stored since the start.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{MemberId, MemberStatus};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewResult {
    Approved,
    Rejected,
}

impl ReviewResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// The status a member has after this verdict.
    pub fn status(self) -> MemberStatus {
        match self {
            Self::Approved => MemberStatus::Approved,
            Self::Rejected => MemberStatus::Rejected,
        }
    }
}

impl fmt::Display for ReviewResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The latest decision, kept on the member so a second moderator is told who decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionSummary {
    pub decision: ReviewResult,
    #[serde(default)]
    pub reason: Option<String>,
    pub by: MemberId,
    pub by_name: String,
    pub at: i64,
}

/// One line of a member's moderation history.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub member_id: MemberId,
    pub decision: ReviewResult,
    #[serde(default)]
    pub reason: Option<String>,
    pub by: MemberId,
    pub by_name: String,
    pub at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_keep_their_stored_names() {
        for v in [ReviewResult::Approved, ReviewResult::Rejected] {
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
            assert_eq!(serde_json::from_value::<ReviewResult>(v.as_str().into()).unwrap(), v);
            assert_eq!(v.status().as_str(), v.as_str());
        }
    }
}
