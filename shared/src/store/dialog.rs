//! The dialog tree, each Telegram user's position in it, and the
//! interaction log (pseudonymous: users appear as an HMAC of their id).

use serde::{Deserialize, Serialize};

use super::keys::DIALOG_LOG;
use super::{Key, Store, StoreError};
use crate::domain::dialog::DialogTree;
use crate::domain::MemberId;

/// Positions of people who stop talking are forgotten after 90 days.
pub const POSITION_TTL_SECS: i64 = 90 * 86_400;
/// Log entries are kept a year.
pub const LOG_TTL_SECS: i64 = 365 * 86_400;

#[derive(Serialize, Deserialize)]
struct TreeItem {
    /// The tree as JSON text: DynamoDB nests maps at most 32 deep, a
    /// string has no such limit.
    tree: String,
    updated_at: i64,
    updated_by: MemberId,
}

#[derive(Clone, Debug)]
pub struct StoredTree {
    pub tree: DialogTree,
    pub updated_at: i64,
    pub updated_by: MemberId,
}

#[derive(Serialize, Deserialize)]
struct PositionItem {
    node: String,
    expires_at: i64,
}

/// One interaction with the dialog tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    /// `crate::telegram::pseudonym` of the Telegram user id.
    pub user: String,
    /// The node the user ended up at.
    pub node: String,
    /// What they sent (button text or free text, truncated).
    pub input: String,
    /// `descend`, `back`, `restart`, `unknown`, `enter`.
    pub step: String,
    pub at: i64,
}

impl Store {
    pub fn dialog(&self) -> Dialog<'_> {
        Dialog { store: self }
    }
}

/// The bot's dialog tree, each user's position in it and the interaction log.
pub struct Dialog<'a> {
    store: &'a Store,
}

impl Dialog<'_> {
    pub async fn tree(&self) -> Result<Option<StoredTree>, StoreError> {
        let Some(item) = self.store.get::<TreeItem>(&Key::dialog_tree()).await? else {
            return Ok(None);
        };
        let tree = serde_json::from_str(&item.tree).map_err(|e| StoreError::Corrupt(format!("dialog tree: {e}")))?;
        Ok(Some(StoredTree {
            tree,
            updated_at: item.updated_at,
            updated_by: item.updated_by,
        }))
    }

    pub async fn put_tree(&self, tree: &DialogTree, by: &MemberId, now: i64) -> Result<(), StoreError> {
        let item = TreeItem {
            tree: serde_json::to_string(tree).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            updated_at: now,
            updated_by: by.clone(),
        };
        self.store.put(&Key::dialog_tree(), &item).await
    }

    pub async fn position(&self, user_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .store
            .get::<PositionItem>(&Key::dialog_position(user_id))
            .await?
            .map(|p| p.node))
    }

    pub async fn set_position(&self, user_id: i64, node: &str, now: i64) -> Result<(), StoreError> {
        self.store
            .put(
                &Key::dialog_position(user_id),
                &PositionItem {
                    node: node.into(),
                    expires_at: now + POSITION_TTL_SECS,
                },
            )
            .await
    }

    pub async fn log_interaction(&self, entry: &Interaction) -> Result<(), StoreError> {
        #[derive(Serialize)]
        struct Logged<'a> {
            #[serde(flatten)]
            entry: &'a Interaction,
            expires_at: i64,
        }
        // Wall-clock nanoseconds order entries within a second; the random
        // suffix keeps concurrent writers apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let key = Key::dialog_log(entry.at, &format!("{nanos:020}#{}", crate::crypto::random_token(6)));
        self.store
            .put(
                &key,
                &Logged {
                    entry,
                    expires_at: entry.at + LOG_TTL_SECS,
                },
            )
            .await
    }

    /// The whole log, oldest first (paged through).
    pub async fn interactions(&self) -> Result<Vec<Interaction>, StoreError> {
        self.store.query_partition(DIALOG_LOG).await
    }
}

/// The log as CSV (RFC 4180: quoted fields, doubled quotes, CRLF).
pub fn interactions_csv(entries: &[Interaction]) -> String {
    fn field(s: &str) -> String {
        // A leading =, +, - or @ makes spreadsheets evaluate the cell: defuse it.
        let s = if s.starts_with(['=', '+', '-', '@']) {
            format!("'{s}")
        } else {
            s.to_string()
        };
        format!("\"{}\"", s.replace('"', "\"\""))
    }
    let mut out = String::from("at,user,node,step,input\r\n");
    for e in entries {
        out.push_str(&format!(
            "{},{},{},{},{}\r\n",
            crate::clock::rfc3339(e.at),
            field(&e.user),
            field(&e.node),
            field(&e.step),
            field(&e.input)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10 §2.7: the dialog log export follows every page.
    #[tokio::test]
    async fn the_log_follows_every_page() {
        let store = crate::store::testing::store().await.with_page_size(2);
        for at in 0..5 {
            let entry = Interaction {
                user: "ab12".into(),
                node: "root".into(),
                input: "hi".into(),
                step: "enter".into(),
                at,
            };
            store.dialog().log_interaction(&entry).await.unwrap();
        }
        assert_eq!(store.dialog().interactions().await.unwrap().len(), 5);
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let e = Interaction {
            user: "ab12".into(),
            node: "root/1".into(),
            input: "=SUM(\"x\")".into(),
            step: "unknown".into(),
            at: 0,
        };
        assert_eq!(
            interactions_csv(&[e]),
            "at,user,node,step,input\r\n1970-01-01T00:00:00Z,\"ab12\",\"root/1\",\"unknown\",\"'=SUM(\"\"x\"\")\"\r\n"
        );
    }
}
