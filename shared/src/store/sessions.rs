//! Server-side sessions. The JWT cookie names a session; deleting the item
//! (or bumping the member's session epoch) revokes it immediately.

use serde::{Deserialize, Serialize};

use super::keys::{self, Key};
use super::reads::{Fetched, Reads, Slot};
use super::{Store, StoreError};
use crate::domain::{Member, MemberId, SessionId};

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

/// The session and profile items a `Viewer` is checked against, asked for
/// in a page's `Reads`.
pub struct ViewerSlots {
    session: Slot<SessionRecord>,
    member: Slot<Member>,
}

impl ViewerSlots {
    pub fn take(self, fetched: &mut Fetched) -> Result<(Option<SessionRecord>, Option<Member>), StoreError> {
        Ok((fetched.take(self.session)?, fetched.take(self.member)?))
    }
}

impl Sessions<'_> {
    /// Adds a session and its member's profile to `reads`.
    pub fn viewer_reads(&self, reads: &mut Reads, session: &SessionId, member: &MemberId) -> ViewerSlots {
        ViewerSlots {
            session: reads.add(Key::session(session)),
            member: reads.add(Key::member(member)),
        }
    }

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
