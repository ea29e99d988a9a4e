//! Rules being created in the bot: one draft per admin, kept between
//! webhook calls (Lambda keeps nothing), written with a version check so two
//! quick taps cannot overwrite each other's step.

use serde::{Deserialize, Serialize};

use super::{n, values, Key, Store, StoreError};
use crate::domain::forwarding::draft::RuleDraft;

/// An untouched draft is forgotten after an hour.
pub const DRAFT_TTL_SECS: i64 = 3600;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredDraft {
    pub draft: RuleDraft,
    pub version: u64,
    pub expires_at: i64,
}

impl Store {
    pub fn rule_drafts(&self) -> RuleDrafts<'_> {
        RuleDrafts { store: self }
    }
}

/// Forward-rule drafts of the `/rules` conversation, per user.
pub struct RuleDrafts<'a> {
    store: &'a Store,
}

impl RuleDrafts<'_> {
    /// The user's live draft (an expired one DynamoDB has not swept yet is none).
    pub async fn get(&self, user_id: i64, now: i64) -> Result<Option<StoredDraft>, StoreError> {
        Ok(self
            .store
            .get::<StoredDraft>(&Key::rule_draft(user_id))
            .await?
            .filter(|d| d.expires_at > now))
    }

    /// Starts a draft, replacing any earlier one.
    pub async fn start(&self, user_id: i64, draft: RuleDraft, now: i64) -> Result<StoredDraft, StoreError> {
        let stored = StoredDraft {
            draft,
            version: 1,
            expires_at: now + DRAFT_TTL_SECS,
        };
        self.store.put(&Key::rule_draft(user_id), &stored).await?;
        Ok(stored)
    }

    /// Saves `draft` as the successor of `read`; `Conflict` if another
    /// request saved (or cancelled) it meanwhile.
    pub async fn save(
        &self,
        user_id: i64,
        read: &StoredDraft,
        draft: RuleDraft,
        now: i64,
    ) -> Result<StoredDraft, StoreError> {
        let stored = StoredDraft {
            draft,
            version: read.version + 1,
            expires_at: now + DRAFT_TTL_SECS,
        };
        self.store
            .put_if(
                &Key::rule_draft(user_id),
                &stored,
                "version = :v",
                Some(values([(":v", n(read.version))])),
            )
            .await?;
        Ok(stored)
    }

    pub async fn delete(&self, user_id: i64) -> Result<(), StoreError> {
        self.store.delete(&Key::rule_draft(user_id)).await
    }
}
