//! Telegram accounts of members: one-time link tokens, the link itself (one
//! Telegram account ↔ one member, by the `TG#` marker), and webhook dedupe.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::members::{Member, TelegramLink};
use super::{n, s, values, Item, Key, Store, StoreError};
use crate::crypto;
use crate::domain::MemberId;

/// Link tokens live 15 minutes and work once.
pub const LINK_TOKEN_TTL_SECS: i64 = 15 * 60;
/// Telegram retries a webhook for about a day; remember updates for two.
pub const UPDATE_MEMORY_SECS: i64 = 2 * 86_400;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TelegramMarker {
    pub member_id: MemberId,
    pub linked_at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct LinkTokenItem {
    member_id: MemberId,
    expires_at: i64,
}

/// Where a member's intro was posted for review, so a decision made on the
/// web shows there too.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IntroPost {
    pub chat_id: i64,
    pub message_id: i64,
    pub at: i64,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
struct UsernameItem {
    user_id: i64,
}

/// A link token as handed to the member (only its hash is stored).
pub struct LinkToken(String);

impl LinkToken {
    /// 24 random bytes, base64url: 32 characters, within a deep link's
    /// 64-character `A-Za-z0-9_-` payload.
    pub fn generate() -> Self {
        Self(crypto::random_token(24))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .then(|| Self(raw.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    fn hash(&self) -> String {
        // The token has 192 random bits: a plain hash is enough to make a
        // leaked table useless.
        crypto::sha256_hex(self.0.as_bytes())
    }
}

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken(***)")
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum LinkOutcome {
    Linked,
    /// This Telegram account already belongs to this member.
    AlreadyYours,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the link has expired")]
    Expired,
    #[error("the link is unknown or was already used")]
    Unknown,
    #[error("this Telegram account is linked to another member")]
    TakenElsewhere,
    #[error("the member no longer exists")]
    NoMember,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    pub async fn issue_link_token(&self, member: &MemberId, now: i64) -> Result<LinkToken, StoreError> {
        let token = LinkToken::generate();
        let item = LinkTokenItem {
            member_id: member.clone(),
            expires_at: now + LINK_TOKEN_TTL_SECS,
        };
        self.put_new(&Key::telegram_link(&token.hash()), &item).await?;
        Ok(token)
    }

    pub async fn telegram_marker(&self, user_id: i64) -> Result<Option<TelegramMarker>, StoreError> {
        self.get(&Key::telegram(user_id)).await
    }

    /// The member a Telegram account is linked to, if any.
    pub async fn member_by_telegram(&self, user_id: i64) -> Result<Option<Member>, StoreError> {
        match self.telegram_marker(user_id).await? {
            Some(marker) => Ok(self
                .member(&marker.member_id)
                .await?
                .filter(|m| m.telegram.as_ref().is_some_and(|t| t.user_id == user_id))),
            None => Ok(None),
        }
    }

    /// The member whose linked account has `@username` now (usernames change
    /// hands, so the stored link must still carry the same name).
    pub async fn member_by_telegram_username(&self, username: &str) -> Result<Option<Member>, StoreError> {
        let username = username.trim_start_matches('@');
        let Some(item) = self.get::<UsernameItem>(&Key::telegram_username(username)).await? else {
            return Ok(None);
        };
        Ok(self.member_by_telegram(item.user_id).await?.filter(|m| {
            m.telegram
                .as_ref()
                .and_then(|t| t.username.as_deref())
                .is_some_and(|u| u.eq_ignore_ascii_case(username))
        }))
    }

    /// Redeems a link token for Telegram user `user_id`: the token is
    /// consumed in the same transaction that links the account (`attach_telegram`).
    pub async fn link_telegram(
        &self,
        token: &LinkToken,
        user_id: i64,
        username: Option<&str>,
        now: i64,
    ) -> Result<(Member, LinkOutcome), LinkError> {
        let key = Key::telegram_link(&token.hash());
        let item: LinkTokenItem = self.get(&key).await?.ok_or(LinkError::Unknown)?;
        if item.expires_at <= now {
            return Err(LinkError::Expired);
        }
        let member = self.member(&item.member_id).await?.ok_or(LinkError::NoMember)?;
        let consume = self.tx_delete(&key, Some("expires_at > :now"), Some(values([(":now", n(now))])))?;
        let outcome = self
            .attach_telegram(member, user_id, username, now, Some(consume))
            .await;
        if matches!(outcome, Ok((_, LinkOutcome::AlreadyYours))) {
            self.delete(&key).await?; // spent either way
        }
        outcome
    }

    /// Links Telegram user `user_id` to `member` in one transaction: the
    /// `TG#` marker is claimed (so an account links to one member only), the
    /// member updated, a previous account of the member released, and
    /// `consume` (a link token's delete) applied.
    pub async fn attach_telegram(
        &self,
        member: Member,
        user_id: i64,
        username: Option<&str>,
        now: i64,
        consume: Option<TransactWriteItem>,
    ) -> Result<(Member, LinkOutcome), LinkError> {
        if let Some(marker) = self.telegram_marker(user_id).await? {
            if marker.member_id != member.id {
                return Err(LinkError::TakenElsewhere);
            }
            if member.telegram.as_ref().is_some_and(|t| t.user_id == user_id) {
                return Ok((member, LinkOutcome::AlreadyYours));
            }
        }
        let link = TelegramLink {
            user_id,
            username: username.map(str::to_string),
            linked_at: now,
            unreachable: false,
        };
        let link_value = serde_dynamo::to_attribute_value(&link).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut items = vec![
            self.tx_put(
                &Key::telegram(user_id),
                &TelegramMarker {
                    member_id: member.id.clone(),
                    linked_at: now,
                },
                Some("attribute_not_exists(pk) OR member_id = :m"),
                Some(values([(":m", s(member.id.as_str()))])),
            )?,
            self.tx_update(
                &Key::member(&member.id),
                "SET telegram = :t",
                "attribute_exists(pk)",
                values([(":t", link_value)]),
            )?,
        ];
        if let Some(old) = member.telegram.as_ref().filter(|t| t.user_id != user_id) {
            items.push(self.tx_delete(
                &Key::telegram(old.user_id),
                Some("member_id = :m"),
                Some(values([(":m", s(member.id.as_str()))])),
            )?);
        }
        let consume_at = items.len();
        items.extend(consume);
        match self.transact(items).await {
            Ok(()) => {}
            Err(e) if e.failed_at(0) => return Err(LinkError::TakenElsewhere),
            Err(e) if e.failed_at(1) => return Err(LinkError::NoMember),
            Err(e) if e.failed_at(consume_at) => return Err(LinkError::Unknown),
            Err(e) => return Err(e.into()),
        }
        if let Some(name) = username {
            // Best effort: only `/whois @name` reads it, and it checks the link.
            if let Err(e) = self.put(&Key::telegram_username(name), &UsernameItem { user_id }).await {
                tracing::warn!(error = %e, "could not index the Telegram username");
            }
        }
        let mut member = member;
        member.telegram = Some(link);
        Ok((member, LinkOutcome::Linked))
    }

    /// Removes the member's Telegram link and frees the account's marker.
    /// Returns false when there was nothing to unlink.
    pub async fn unlink_telegram(&self, member: &Member) -> Result<bool, StoreError> {
        let Some(link) = &member.telegram else { return Ok(false) };
        let items = vec![
            self.tx_update(
                &Key::member(&member.id),
                "REMOVE telegram",
                "telegram.user_id = :u",
                values([(":u", n(link.user_id))]),
            )?,
            self.tx_delete(
                &Key::telegram(link.user_id),
                Some("member_id = :m"),
                Some(values([(":m", s(member.id.as_str()))])),
            )?,
        ];
        match self.transact(items).await {
            Ok(()) => Ok(true),
            // Unlinked (or relinked) meanwhile.
            Err(StoreError::Cancelled { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Keeps `@username` current (people rename themselves), so `/whois @name` finds them.
    pub async fn refresh_telegram_username(
        &self,
        member: &MemberId,
        user_id: i64,
        username: Option<&str>,
    ) -> Result<(), StoreError> {
        let value = match username {
            Some(u) => s(u),
            None => aws_sdk_dynamodb::types::AttributeValue::Null(true),
        };
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(Key::member(member).to_item()))
            .update_expression("SET telegram.username = :n")
            .condition_expression("telegram.user_id = :u")
            .set_expression_attribute_values(Some(values([(":n", value), (":u", n(user_id))])))
            .send()
            .await;
        match out.map_err(StoreError::from_sdk) {
            Ok(_) | Err(StoreError::Conflict) => {}
            Err(e) => return Err(e),
        }
        if let Some(name) = username {
            self.put(&Key::telegram_username(name), &UsernameItem { user_id })
                .await?;
        }
        Ok(())
    }

    /// The bot got 403 for this account: stop messaging it until it talks to us again.
    pub async fn set_telegram_unreachable(
        &self,
        member: &MemberId,
        user_id: i64,
        unreachable: bool,
    ) -> Result<(), StoreError> {
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(Key::member(member).to_item()))
            .update_expression("SET telegram.unreachable = :v")
            .condition_expression("telegram.user_id = :u")
            .set_expression_attribute_values(Some(values([
                (":v", aws_sdk_dynamodb::types::AttributeValue::Bool(unreachable)),
                (":u", n(user_id)),
            ])))
            .send()
            .await;
        match out.map_err(StoreError::from_sdk) {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub async fn put_intro_post(&self, member: &MemberId, post: &IntroPost) -> Result<(), StoreError> {
        self.put(&Key::telegram_intro_post(member), post).await
    }

    pub async fn intro_post(&self, member: &MemberId) -> Result<Option<IntroPost>, StoreError> {
        self.get(&Key::telegram_intro_post(member)).await
    }

    /// Claims webhook update `update_id`. False: it was taken before (a redelivery).
    pub async fn claim_update(&self, update_id: i64, now: i64) -> Result<bool, StoreError> {
        let item = serde_json::json!({"at": now, "expires_at": now + UPDATE_MEMORY_SECS});
        match self.put_new(&Key::telegram_update(update_id), &item).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives an update back, so Telegram's redelivery is handled afresh.
    pub async fn release_update(&self, update_id: i64) -> Result<(), StoreError> {
        self.delete(&Key::telegram_update(update_id)).await
    }

    /// An `Update` for a transaction.
    pub fn tx_update(
        &self,
        key: &Key,
        update: &str,
        condition: &str,
        vals: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(self.table())
            .set_key(Some(key.to_item()))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_values((!vals.is_empty()).then_some(vals))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_fit_a_deep_link_and_hide() {
        let t = LinkToken::generate();
        assert_eq!(t.expose().len(), 32);
        assert!(LinkToken::parse(t.expose()).is_some());
        assert!(LinkToken::parse("short").is_none());
        assert!(LinkToken::parse(&"a".repeat(31)).is_none());
        assert_eq!(format!("{t:?}"), "LinkToken(***)");
    }
}
