//! Reports on posts and comments (docs/posts.md, "Elsewhere"): one per
//! member per item, by key; the open ones in `gsi1` `REPORTS#open`; resolved
//! by hiding the item or dismissing, with the decision recorded, in one
//! transaction with the hide itself. Generic over the target, so comments
//! use the same code (`ReportTarget::Comment`).

use std::fmt;

use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};

use super::keys::REPORTS_OPEN;
use super::{s, values, Key, Store, StoreError};
use crate::domain::{CommentId, FieldError, MemberId, PostId};

/// What was reported. Stored as `POST#<id>` / `COMMENT#<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ReportTarget {
    Post(PostId),
    Comment(CommentId),
}

impl ReportTarget {
    pub fn key(&self) -> String {
        match self {
            ReportTarget::Post(id) => format!("POST#{id}"),
            ReportTarget::Comment(id) => format!("COMMENT#{id}"),
        }
    }
}

impl fmt::Display for ReportTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

impl TryFrom<String> for ReportTarget {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        if let Some(id) = v.strip_prefix("POST#") {
            return PostId::parse(id).map(ReportTarget::Post);
        }
        if let Some(id) = v.strip_prefix("COMMENT#") {
            return CommentId::parse(id).map(ReportTarget::Comment);
        }
        Err(format!("not a report target: {v:?}"))
    }
}

impl From<ReportTarget> for String {
    fn from(t: ReportTarget) -> String {
        t.key()
    }
}

/// Why a member reports: 1–500 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportReason(String);

impl ReportReason {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let t = raw.trim();
        match t.chars().count() {
            0 => Err(FieldError::new("reason", "say what is wrong")),
            n if n > 500 => Err(FieldError::new(
                "reason",
                format!("is too long ({n} characters, at most 500)"),
            )),
            _ => Ok(Self(t.to_string())),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub target: ReportTarget,
    pub reporter: MemberId,
    pub reporter_name: String,
    pub reason: String,
    /// A few words to recognise the item by (a post's title, a comment's start).
    #[serde(default)]
    pub label: String,
    pub at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
}

/// How a moderator resolved the reports on one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "decision")]
pub enum Resolution {
    Hide { reason: String },
    Dismiss,
}

impl Resolution {
    pub fn as_str(&self) -> &'static str {
        match self {
            Resolution::Hide { .. } => "hidden",
            Resolution::Dismiss => "dismissed",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportDecision {
    pub target: ReportTarget,
    #[serde(flatten)]
    pub resolution: Resolution,
    pub by: MemberId,
    pub by_name: String,
    pub at: i64,
    /// How many open reports it resolved.
    pub reports: usize,
}

impl Store {
    pub fn reports(&self) -> Reports<'_> {
        Reports { store: self }
    }
}

pub struct Reports<'a> {
    store: &'a Store,
}

impl Reports<'_> {
    /// Files a report. `Ok(false)` when this member already reported the item.
    pub async fn file(&self, report: &Report) -> Result<bool, StoreError> {
        let target = report.target.key();
        let key = Key::report(&target, &report.reporter).with_gsi1(
            REPORTS_OPEN.into(),
            format!("{:013}#{target}#{}", report.at, report.reporter),
        );
        match self.store.put_new(&key, report).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every open report, oldest first.
    pub async fn open(&self) -> Result<Vec<Report>, StoreError> {
        self.store.query_gsi1(REPORTS_OPEN, None, false).await
    }

    /// Every report and decision on one item.
    pub async fn of(&self, target: &ReportTarget) -> Result<(Vec<Report>, Vec<ReportDecision>), StoreError> {
        let items: Vec<serde_json::Value> = self.store.query_partition(&format!("REPORTS#{}", target.key())).await?;
        let (mut reports, mut decisions) = (Vec::new(), Vec::new());
        for item in items {
            let decision = item["sk"].as_str().is_some_and(|sk| sk.starts_with("DECISION#"));
            let parse_err = |e: serde_json::Error| StoreError::Corrupt(e.to_string());
            if decision {
                decisions.push(serde_json::from_value(item).map_err(parse_err)?);
            } else {
                reports.push(serde_json::from_value(item).map_err(parse_err)?);
            }
        }
        Ok((reports, decisions))
    }

    /// Resolves the open reports on `target`: each leaves the queue with its
    /// resolution, the decision is recorded, and `hide` (the writes that hide
    /// the item, for `Resolution::Hide`) is applied, all in one transaction.
    /// Returns the reporters whose reports it resolved (none when nothing was
    /// open), who hear of the outcome. Each report is conditioned on still
    /// being open, so two moderators cannot both resolve it.
    pub async fn resolve(
        &self,
        target: &ReportTarget,
        resolution: Resolution,
        by: &MemberId,
        by_name: &str,
        hide: Vec<TransactWriteItem>,
        now_ms: i64,
    ) -> Result<Vec<MemberId>, StoreError> {
        let (reports, _) = self.of(target).await?;
        let open: Vec<&Report> = reports.iter().filter(|r| r.resolution.is_none()).collect();
        if open.is_empty() && hide.is_empty() {
            return Ok(Vec::new());
        }
        let key = target.key();
        let mut items = Vec::new();
        for r in &open {
            items.push(self.store.tx_update_named(
                &Key::report(&key, &r.reporter),
                "SET resolution = :r REMOVE gsi1pk, gsi1sk",
                "attribute_not_exists(resolution)",
                &[],
                values([(":r", s(resolution.as_str()))]),
            )?);
        }
        let decision = ReportDecision {
            target: target.clone(),
            resolution,
            by: by.clone(),
            by_name: by_name.to_string(),
            at: now_ms,
            reports: open.len(),
        };
        items.push(
            self.store
                .tx_put(&Key::report_decision(&key, now_ms), &decision, None, None)?,
        );
        items.extend(hide);
        self.store.transact(items).await?;
        Ok(open.iter().map(|r| r.reporter.clone()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    fn report(target: &ReportTarget, by: &MemberId, at: i64) -> Report {
        Report {
            target: target.clone(),
            reporter: by.clone(),
            reporter_name: "R".into(),
            reason: "spam".into(),
            label: "a post".into(),
            at,
            resolution: None,
        }
    }

    #[tokio::test]
    async fn one_report_per_member_per_item_and_resolving_records_the_decision() {
        let store = testing::store().await;
        let post = ReportTarget::Post(PostId::generate(1));
        let comment = ReportTarget::Comment(CommentId::generate(2));
        let (a, b) = (MemberId::generate(), MemberId::generate());
        assert!(store.reports().file(&report(&post, &a, 10)).await.unwrap());
        assert!(
            !store.reports().file(&report(&post, &a, 11)).await.unwrap(),
            "twice by one member"
        );
        assert!(store.reports().file(&report(&post, &b, 12)).await.unwrap());
        assert!(store.reports().file(&report(&comment, &a, 13)).await.unwrap());
        assert_eq!(store.reports().open().await.unwrap().len(), 3);

        let n = store
            .reports()
            .resolve(&post, Resolution::Dismiss, &b, "Mod", vec![], 20)
            .await
            .unwrap();
        assert_eq!(n.len(), 2);
        assert!(n.contains(&a) && n.contains(&b));
        let open = store.reports().open().await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].target, comment);
        let (reports, decisions) = store.reports().of(&post).await.unwrap();
        assert!(reports.iter().all(|r| r.resolution.as_deref() == Some("dismissed")));
        assert_eq!(decisions.len(), 1);
        assert_eq!(
            (decisions[0].reports, &decisions[0].resolution),
            (2, &Resolution::Dismiss)
        );
        // Nothing open any more: nothing to resolve.
        let again = store
            .reports()
            .resolve(&post, Resolution::Dismiss, &b, "Mod", vec![], 21)
            .await
            .unwrap();
        assert!(again.is_empty());
        // A member who reported before may not report again after a resolution.
        assert!(!store.reports().file(&report(&post, &a, 30)).await.unwrap());
    }
}
