//! Server-side sessions. The JWT cookie names a session; deleting the item
//! (or bumping the member's session epoch) revokes it immediately.

use serde::{Deserialize, Serialize};

use super::keys::{self, Key};
use super::{Store, StoreError};
use crate::domain::{MemberId, SessionId};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: SessionId,
    pub member_id: MemberId,
    pub created_at: i64,
    pub expires_at: i64,
    pub epoch: u32,
    #[serde(default)]
    pub user_agent: String,
}

impl SessionRecord {
    pub fn key(&self) -> Key {
        Key::session(&self.id).with_gsi1(
            keys::sessions_of(&self.member_id),
            format!("SESSION#{:012}", self.created_at),
        )
    }
}

impl Store {
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { store: self }
    }
}

/// Server-side sessions.
pub struct Sessions<'a> {
    store: &'a Store,
}

impl Sessions<'_> {
    pub async fn get(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.store.get(&Key::session(id)).await
    }

    pub async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.store.delete(&Key::session(id)).await
    }

    /// Deletes every session of a member found through the index (tidying;
    /// the epoch bump is what guarantees revocation, since the index lags).
    pub async fn delete_all_of(&self, member: &MemberId) -> Result<usize, StoreError> {
        let sessions: Vec<SessionRecord> = self
            .store
            .query_gsi1(&keys::sessions_of(member), Some("SESSION#"), false)
            .await?;
        for session in &sessions {
            self.delete(&session.id).await?;
        }
        Ok(sessions.len())
    }
}
