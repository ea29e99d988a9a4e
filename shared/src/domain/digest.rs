//! Digests (issue 14, docs/digests.md): which digest a member gets, why an
//! address is undeliverable, an issue's id and its shared content.

use serde::{Deserialize, Serialize};

use super::MemberId;

/// Which digest a member gets. Stored on the profile as `digest`; absent
/// means the default, the weekly email.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestChoice {
    #[default]
    Weekly,
    Daily,
    None,
}

impl DigestChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestChoice::Weekly => "weekly",
            DigestChoice::Daily => "daily",
            DigestChoice::None => "none",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [DigestChoice::Weekly, DigestChoice::Daily, DigestChoice::None]
            .into_iter()
            .find(|c| c.as_str() == raw)
    }
}

/// What made an address undeliverable (SES bounce/complaint events, or a
/// permanent rejection of a send).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UndeliverableKind {
    /// A permanent (hard) bounce: the mailbox does not exist.
    Bounce,
    /// The recipient marked an email as spam.
    Complaint,
    /// SES refused to send to the address.
    Rejected,
}

impl UndeliverableKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UndeliverableKind::Bounce => "bounce",
            UndeliverableKind::Complaint => "complaint",
            UndeliverableKind::Rejected => "rejected",
        }
    }
}

/// Stored on the profile as `undeliverable`: no email goes to the member
/// until they fix it in settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undeliverable {
    pub kind: UndeliverableKind,
    pub at: i64,
    /// SES's diagnostic, for the settings page.
    #[serde(default)]
    pub detail: String,
}

/// An issue's id: `weekly-2026-W49` (the ISO week it was planned in) or
/// `daily-2026-12-08` (the day of a daily Telegram digest), so the same
/// week or day always names the same issue. The kind follows from the id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IssueId(String);

/// Which digest an issue is: the channel it goes out on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueKind {
    /// The weekly email (and the archive).
    Weekly,
    /// The daily Telegram message.
    Daily,
}

impl IssueId {
    /// The issue of an ISO week (`feed::order::iso_week`, e.g. `2026-W49`).
    pub fn weekly(iso_week: &str) -> Result<Self, String> {
        Self::parse(&format!("weekly-{iso_week}"))
    }

    /// The daily digest of a day (`2026-12-08`).
    pub fn daily(day: &str) -> Result<Self, String> {
        Self::parse(&format!("daily-{day}"))
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let digits = |b: &[u8]| b.iter().all(u8::is_ascii_digit);
        let weekly = raw.strip_prefix("weekly-").is_some_and(|w| {
            let b = w.as_bytes();
            b.len() == 8
                && digits(&b[..4])
                && &b[4..6] == b"-W"
                && digits(&b[6..])
                && (1..=53).contains(&w[6..].parse::<u32>().unwrap_or(0))
        });
        let daily = raw.strip_prefix("daily-").is_some_and(|d| {
            let b = d.as_bytes();
            b.len() == 10
                && digits(&b[..4])
                && b[4] == b'-'
                && digits(&b[5..7])
                && b[7] == b'-'
                && digits(&b[8..])
                && (1..=12).contains(&d[5..7].parse::<u32>().unwrap_or(0))
                && (1..=31).contains(&d[8..].parse::<u32>().unwrap_or(0))
        });
        if weekly || daily {
            Ok(Self(raw.to_string()))
        } else {
            Err("not a digest issue id".into())
        }
    }

    pub fn kind(&self) -> IssueKind {
        if self.0.starts_with("daily-") {
            IssueKind::Daily
        } else {
            IssueKind::Weekly
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IssueId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<IssueId> for String {
    fn from(v: IssueId) -> String {
        v.0
    }
}

impl std::fmt::Display for IssueId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A post as the digest shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostCard {
    pub id: String,
    pub title: String,
    pub author_name: String,
    pub kind: String,
    pub upvotes: i64,
    pub comments: i64,
    pub published_at: i64,
    #[serde(default)]
    pub excerpt: String,
}

impl PostCard {
    /// The stated score of "top posts": an upvote counts 1, a comment 2
    /// (a comment is more effort than a click); ties go to the newer post.
    pub fn score(&self) -> i64 {
        self.upvotes + 2 * self.comments
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventCard {
    pub id: String,
    pub title: String,
    pub starts_at: i64,
    #[serde(default)]
    pub venue: String,
}

/// A newly approved member, linked to their intro.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewMember {
    pub member_id: String,
    pub name: String,
    /// The intro post.
    pub post_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommentCard {
    pub id: String,
    pub post_id: String,
    pub post_title: String,
    pub author_name: String,
    pub upvotes: i64,
    /// Plain text, shortened.
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub members: i64,
    pub posts: i64,
    pub comments: i64,
}

/// What every recipient of an issue shares, built once by the planner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IssueContent {
    /// The window, seconds: `[from, to)`.
    pub from: i64,
    pub to: i64,
    /// The admin's editorial note: sanitised HTML and its plain text.
    #[serde(default)]
    pub note_html: Option<String>,
    #[serde(default)]
    pub note_text: Option<String>,
    pub top_posts: Vec<PostCard>,
    pub events: Vec<EventCard>,
    pub new_members: Vec<NewMember>,
    pub best_comments: Vec<CommentCard>,
    pub counts: Counts,
}

impl IssueContent {
    /// "A week with no new posts or members sends nothing."
    pub fn is_empty(&self) -> bool {
        self.counts.posts == 0 && self.counts.members == 0
    }
}

/// The per-member part, from the weekly tally `MEMBER#<id>/WEEK#<week>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekTally {
    #[serde(default)]
    pub replies: i64,
    #[serde(default)]
    pub upvotes: i64,
}

/// A member as the digest needs them: the profile item, read as this
/// type (the attributes `Member` has plus the mail ones).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recipient {
    pub id: MemberId,
    pub email: super::Email,
    pub status: super::MemberStatus,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub telegram: Option<super::TelegramLink>,
    /// Bumped to revoke every unsubscribe link sent so far.
    #[serde(default)]
    pub mail_epoch: u32,
    #[serde(default)]
    pub digest: Option<DigestChoice>,
    /// One-click "notifications" unsubscribe.
    #[serde(default)]
    pub mail_off_notifications: bool,
    /// One-click "all": no email but sign-in codes.
    #[serde(default)]
    pub mail_off_all: bool,
    #[serde(default)]
    pub undeliverable: Option<Undeliverable>,
}

impl Recipient {
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or_else(|| self.email.as_str())
    }

    /// The one place the digest reads a member's choice (docs/digests.md,
    /// "Preferences"): a preferences type elsewhere can take over here.
    pub fn digest_choice(&self) -> DigestChoice {
        if self.mail_off_all {
            return match self.digest.unwrap_or_default() {
                DigestChoice::Daily => DigestChoice::Daily,
                _ => DigestChoice::None,
            };
        }
        self.digest.unwrap_or_default()
    }

    /// Why the weekly email must not go to this member now, if it must not.
    pub fn weekly_blocked(&self) -> Option<&'static str> {
        if self.status != super::MemberStatus::Approved {
            return Some("not an approved member");
        }
        if self.undeliverable.is_some() {
            return Some("address undeliverable");
        }
        if self.digest_choice() != DigestChoice::Weekly {
            return Some("unsubscribed from the weekly email");
        }
        None
    }

    /// The Telegram chat the daily digest goes to, or why it must not go
    /// to this member now.
    pub fn daily_chat(&self) -> Result<i64, &'static str> {
        if self.status != super::MemberStatus::Approved {
            return Err("not an approved member");
        }
        if self.digest_choice() != DigestChoice::Daily {
            return Err("did not choose the daily digest");
        }
        match &self.telegram {
            None => Err("Telegram not linked"),
            Some(t) if t.unreachable => Err("the bot cannot reach them"),
            Some(t) => Ok(t.user_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_ids_are_iso_weeks() {
        let id = IssueId::weekly("2026-W50").unwrap();
        assert_eq!(id.as_str(), "weekly-2026-W50");
        assert_eq!(IssueId::parse(id.as_str()).unwrap(), id);
        let day = IssueId::daily("2026-12-08").unwrap();
        assert_eq!((day.as_str(), day.kind()), ("daily-2026-12-08", IssueKind::Daily));
        assert_eq!(id.kind(), IssueKind::Weekly);
        for bad in [
            "weekly-2026-W54",
            "weekly-2026-W00",
            "daily-2026-W49",
            "daily-2026-13-01",
            "daily-2026-12-8",
            "daily-2026-12-00",
            "weekly-26-W49",
            "weekly-2026W491",
        ] {
            assert!(IssueId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn choices_default_to_weekly_and_all_off_stops_email() {
        let mut r: Recipient = serde_json::from_value(serde_json::json!({
            "id": MemberId::generate(), "email": "a@b.org", "status": "approved"
        }))
        .unwrap();
        assert_eq!(r.digest_choice(), DigestChoice::Weekly);
        assert_eq!(r.weekly_blocked(), None);
        r.mail_off_all = true;
        assert_eq!(r.digest_choice(), DigestChoice::None);
        r.digest = Some(DigestChoice::Daily);
        assert_eq!(r.digest_choice(), DigestChoice::Daily, "Telegram is not email");
        assert!(r.weekly_blocked().is_some());
        assert_eq!(r.daily_chat(), Err("Telegram not linked"));
    }
}
