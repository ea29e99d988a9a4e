//! Member handles: the `@name` a mention resolves through. Each is unique by
//! its marker item `HANDLE#<lower>` / `HANDLE`, made from the member's
//! display name the first time it is needed (at approval, or lazily when the
//! member writes), and recorded on the profile as `handle`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::reads::Reads;
use super::{s, values, Key, Store, StoreError};
use crate::domain::{Member, MemberId};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HandleMarker {
    pub member_id: MemberId,
    pub handle: String,
}

impl Store {
    pub fn handles(&self) -> Handles<'_> {
        Handles { store: self }
    }
}

pub struct Handles<'a> {
    store: &'a Store,
}

/// `Ada Lovelace` → `adalovelace`; letters and digits only (any script),
/// at most 30 characters; `member` when nothing is left.
pub fn base_handle(name: &str) -> String {
    let h: String = name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .flat_map(char::to_lowercase)
        .take(30)
        .collect();
    if h.is_empty() {
        "member".into()
    } else {
        h
    }
}

/// The handles tried, in order: the name (`adalovelace`), then `…2` and
/// `…3`, then the name cut short with the start of the member's random id
/// (`adalovelace3f9c01ab`), which another member has only by a 1-in-4-billion
/// chance, then a longer piece of it. So a common name costs a handful of
/// tries, never a walk through every `…N` taken, and every handle stays
/// within a mention's 32 characters.
fn candidates(member: &Member) -> Vec<String> {
    let base = base_handle(member.name());
    let cut = |n: usize| base.chars().take(n).collect::<String>();
    let id = member.id.as_str();
    vec![
        base.clone(),
        format!("{base}2"),
        format!("{base}3"),
        format!("{}{}", cut(24), &id[..8.min(id.len())]),
        format!("{}{}", cut(16), &id[..16.min(id.len())]),
    ]
}

/// A handle to claim inside another transaction (an approval): the
/// profile's `SET handle` goes in that transaction's own update of the
/// member, the marker is `item`.
pub struct HandleClaim {
    pub handle: String,
    pub item: aws_sdk_dynamodb::types::TransactWriteItem,
}

impl Handles<'_> {
    /// The claim of `member`'s first candidate handle, for a transaction
    /// that writes the profile anyway; `None` if they have a handle. If the
    /// handle is taken, that transaction fails at the claim's item, and
    /// `ensure` (after it) tries the rest.
    pub fn first_claim(&self, member: &Member) -> Result<Option<HandleClaim>, StoreError> {
        if member.handle.is_some() {
            return Ok(None);
        }
        let handle = candidates(member).swap_remove(0);
        let marker = HandleMarker {
            member_id: member.id.clone(),
            handle: handle.clone(),
        };
        let item = self
            .store
            .tx_put(&Key::handle(&handle), &marker, Some("attribute_not_exists(pk)"), None)?;
        Ok(Some(HandleClaim { handle, item }))
    }

    /// The member's handle, claiming one (`adalovelace`, else `adalovelace2`,
    /// `adalovelace3`, …) if they have none yet. Safe to race: the marker and
    /// the profile are written together, each conditioned on being new.
    pub async fn ensure(&self, member: &Member) -> Result<String, StoreError> {
        if let Some(h) = &member.handle {
            return Ok(h.clone());
        }
        for handle in candidates(member) {
            let marker = HandleMarker {
                member_id: member.id.clone(),
                handle: handle.clone(),
            };
            let out = self
                .store
                .transact(vec![
                    self.store
                        .tx_put(&Key::handle(&handle), &marker, Some("attribute_not_exists(pk)"), None)?,
                    self.store.tx_update_named(
                        &Key::member(&member.id),
                        "SET handle = :h",
                        "attribute_exists(pk) AND attribute_not_exists(handle)",
                        &[],
                        values([(":h", s(&handle))]),
                    )?,
                ])
                .await;
            match out {
                Ok(()) => return Ok(handle),
                Err(e) if e.failed_at(1) => {
                    // Someone else claimed this member's handle first: use theirs.
                    let fresh = self.store.members().get(&member.id).await?;
                    return fresh
                        .and_then(|m| m.handle)
                        .ok_or_else(|| StoreError::Backend("member vanished while claiming a handle".into()));
                }
                Err(e) if e.failed_at(0) => {
                    // Taken, perhaps by this member already (a profile rewritten without it).
                    let marker = self.store.get::<HandleMarker>(&Key::handle(&handle)).await?;
                    if marker.is_some_and(|m| m.member_id == member.id) {
                        self.store
                            .update(
                                &Key::member(&member.id),
                                "SET handle = :h",
                                None,
                                &[],
                                values([(":h", s(&handle))]),
                                None,
                            )
                            .await?;
                        return Ok(handle);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Backend(format!(
            "no free handle for {}",
            base_handle(member.name())
        )))
    }

    /// Lower-cased handles → members, for the ones that exist (one parallel
    /// round of reads; at most `markdown::MAX_MENTIONS`).
    pub async fn resolve(&self, handles: &[String]) -> Result<HashMap<String, MemberId>, StoreError> {
        // One `BatchGetItem` (a body has at most 50 candidates).
        let mut reads = Reads::new();
        let slots: Vec<_> = handles
            .iter()
            .map(|h| reads.add::<HandleMarker>(Key::handle(h)))
            .collect();
        let mut got = self.store.fetch(reads).await?;
        let mut out = HashMap::new();
        for slot in slots {
            if let Some(m) = got.take(slot)? {
                out.insert(m.handle, m.member_id);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, MemberStatus, Role};
    use crate::store::testing;

    #[test]
    fn handles_come_from_names() {
        assert_eq!(base_handle("Ada Lovelace"), "adalovelace");
        assert_eq!(base_handle("Пётр I."), "пётрi");
        assert_eq!(base_handle("  !!"), "member");
    }

    #[test]
    fn a_common_name_takes_a_few_tries_each_within_a_mentions_length() {
        let mut m = Member::new(
            Email::parse("a@x.org").unwrap(),
            Role::Member,
            MemberStatus::Approved,
            0,
        );
        m.display_name = Some("Bartholomew Maximilian Fitzgerald-Smythe".into());
        let tried = candidates(&m);
        assert_eq!(tried.len(), 5);
        assert_eq!(
            tried[0],
            "bartholomewmaximilianfitzgerald".chars().take(30).collect::<String>()
        );
        assert_eq!(tried.iter().collect::<std::collections::HashSet<_>>().len(), 5);
        assert!(tried.iter().all(|h| h.chars().count() <= 32), "{tried:?}");
        assert!(tried[3].ends_with(&m.id.as_str()[..8]));
    }

    #[tokio::test]
    async fn handles_are_unique_and_claimed_once() {
        let store = testing::store().await;
        let mut a = Member::new(
            Email::parse("a@x.org").unwrap(),
            Role::Member,
            MemberStatus::Approved,
            0,
        );
        a.display_name = Some("Ada L".into());
        let mut b = Member::new(
            Email::parse("b@x.org").unwrap(),
            Role::Member,
            MemberStatus::Approved,
            0,
        );
        b.display_name = Some("ada l".into());
        store.members().create(&a).await.unwrap();
        store.members().create(&b).await.unwrap();
        assert_eq!(store.handles().ensure(&a).await.unwrap(), "adal");
        assert_eq!(store.handles().ensure(&b).await.unwrap(), "adal2");
        // A stale copy of `a` (no handle yet) gets the one already claimed.
        assert_eq!(store.handles().ensure(&a).await.unwrap(), "adal");
        let found = store
            .handles()
            .resolve(&["adal".into(), "adal2".into(), "nobody".into()])
            .await
            .unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found["adal2"], b.id);
    }

    #[tokio::test]
    async fn an_approval_claims_the_first_handle_in_its_transaction_and_fails_only_there_when_taken() {
        use crate::domain::{DecisionRecord, ReviewResult};
        let store = testing::store().await;
        let on_review = |email: &str| {
            let mut m = Member::new(Email::parse(email).unwrap(), Role::Member, MemberStatus::OnReview, 0);
            m.display_name = Some("Ada L".into());
            m
        };
        let (a, b) = (on_review("a@x.org"), on_review("b@x.org"));
        let decide = |m: &Member| {
            let record = DecisionRecord {
                member_id: m.id.clone(),
                decision: ReviewResult::Approved,
                reason: None,
                by: a.id.clone(),
                by_name: "Mod".into(),
                at: 1,
            };
            let mut approved = m.clone();
            approved.status = MemberStatus::Approved;
            (approved, record)
        };
        for m in [&a, &b] {
            store.members().create(m).await.unwrap();
        }
        let (approved, record) = decide(&a);
        let claim = store.handles().first_claim(&approved).unwrap();
        store
            .members()
            .record_decision_with(&approved, &record, Vec::new(), claim)
            .await
            .unwrap();
        let stored = store.members().get(&a.id).await.unwrap().unwrap();
        assert_eq!(stored.handle.as_deref(), Some("adal"));
        assert_eq!(stored.status, MemberStatus::Approved);
        // The same first choice for `b`: taken, so the transaction fails at
        // the claim (its last item) and nothing of the decision is written.
        let (approved, record) = decide(&b);
        let claim = store.handles().first_claim(&approved).unwrap();
        let err = store
            .members()
            .record_decision_with(&approved, &record, Vec::new(), claim)
            .await
            .unwrap_err();
        assert!(err.failed_at(2) && !err.failed_at(0), "{err:?}");
        assert_eq!(
            store.members().get(&b.id).await.unwrap().unwrap().status,
            MemberStatus::OnReview
        );
        // A member with a handle has nothing to claim.
        assert!(store.handles().first_claim(&stored).unwrap().is_none());
    }
}
