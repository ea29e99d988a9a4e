//! Telegram accounts of members: one-time link tokens, the link itself (one
//! Telegram account ↔ one member, by the `TG#` marker), and webhook dedupe.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::{n, s, values, Key, Store, StoreError};
use crate::crypto;
use crate::domain::{Member, MemberId, TelegramLink};

/// Link tokens live 15 minutes and work once.
pub const LINK_TOKEN_TTL_SECS: i64 = 15 * 60;

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
    pub fn telegram(&self) -> Telegram<'_> {
        Telegram { store: self }
    }
}

/// Telegram accounts linked to members, link tokens and intro posts.
pub struct Telegram<'a> {
    store: &'a Store,
}

impl Telegram<'_> {
    pub async fn issue_link_token(&self, member: &MemberId, now: i64) -> Result<LinkToken, StoreError> {
        let token = LinkToken::generate();
        let item = LinkTokenItem {
            member_id: member.clone(),
            expires_at: now + LINK_TOKEN_TTL_SECS,
        };
        self.store.put_new(&Key::telegram_link(&token.hash()), &item).await?;
        Ok(token)
    }

    pub async fn marker(&self, user_id: i64) -> Result<Option<TelegramMarker>, StoreError> {
        self.store.get(&Key::telegram(user_id)).await
    }

    /// The member a Telegram account is linked to, if any.
    pub async fn member(&self, user_id: i64) -> Result<Option<Member>, StoreError> {
        match self.marker(user_id).await? {
            Some(marker) => Ok(self
                .store
                .members()
                .get(&marker.member_id)
                .await?
                .filter(|m| m.telegram.as_ref().is_some_and(|t| t.user_id == user_id))),
            None => Ok(None),
        }
    }

    /// The member whose linked account has `@username` now (usernames change
    /// hands, so the stored link must still carry the same name).
    pub async fn member_by_username(&self, username: &str) -> Result<Option<Member>, StoreError> {
        let username = username.trim_start_matches('@');
        let Some(item) = self
            .store
            .get::<UsernameItem>(&Key::telegram_username(username))
            .await?
        else {
            return Ok(None);
        };
        Ok(self.member(item.user_id).await?.filter(|m| {
            m.telegram
                .as_ref()
                .and_then(|t| t.username.as_deref())
                .is_some_and(|u| u.eq_ignore_ascii_case(username))
        }))
    }

    /// Redeems a link token for Telegram user `user_id`: the token is
    /// consumed in the same transaction that links the account (`attach`).
    pub async fn link(
        &self,
        token: &LinkToken,
        user_id: i64,
        username: Option<&str>,
        now: i64,
    ) -> Result<(Member, LinkOutcome), LinkError> {
        let key = Key::telegram_link(&token.hash());
        let item: LinkTokenItem = self.store.get(&key).await?.ok_or(LinkError::Unknown)?;
        if item.expires_at <= now {
            return Err(LinkError::Expired);
        }
        let member = self
            .store
            .members()
            .get(&item.member_id)
            .await?
            .ok_or(LinkError::NoMember)?;
        let consume = self
            .store
            .tx_delete(&key, Some("expires_at > :now"), Some(values([(":now", n(now))])))?;
        let outcome = self
            .store
            .telegram()
            .attach(member, user_id, username, now, Some(consume))
            .await;
        if matches!(outcome, Ok((_, LinkOutcome::AlreadyYours))) {
            self.store.delete(&key).await?; // spent either way
        }
        outcome
    }

    /// Links Telegram user `user_id` to `member` in one transaction: the
    /// `TG#` marker is claimed (so an account links to one member only), the
    /// member updated, a previous account of the member released, and
    /// `consume` (a link token's delete) applied.
    pub async fn attach(
        &self,
        member: Member,
        user_id: i64,
        username: Option<&str>,
        now: i64,
        consume: Option<TransactWriteItem>,
    ) -> Result<(Member, LinkOutcome), LinkError> {
        let mut member = member;
        // The member's link is written on condition that it is still as read;
        // if a concurrent link changed it, read again and redo (at most twice).
        for _ in 0..3 {
            match self
                .store
                .telegram()
                .try_attach(&member, user_id, username, now, consume.clone())
                .await?
            {
                Some(outcome) => return Ok(outcome),
                None => member = self.store.members().get(&member.id).await?.ok_or(LinkError::NoMember)?,
            }
        }
        Err(LinkError::Store(StoreError::Conflict))
    }

    /// One attempt of `attach`; `None` when the member's link
    /// changed since `member` was read.
    async fn try_attach(
        &self,
        member: &Member,
        user_id: i64,
        username: Option<&str>,
        now: i64,
        consume: Option<TransactWriteItem>,
    ) -> Result<Option<(Member, LinkOutcome)>, LinkError> {
        if let Some(marker) = self.marker(user_id).await? {
            if marker.member_id != member.id {
                return Err(LinkError::TakenElsewhere);
            }
            if member.telegram.as_ref().is_some_and(|t| t.user_id == user_id) {
                return Ok(Some((member.clone(), LinkOutcome::AlreadyYours)));
            }
        }
        let link = TelegramLink {
            user_id,
            username: username.map(str::to_string),
            linked_at: now,
            unreachable: false,
        };
        let link_value = serde_dynamo::to_attribute_value(&link).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // The member's link as read: none (absent or null), or that account.
        let (as_read, mut vals) = match &member.telegram {
            Some(old) => ("telegram.user_id = :old", values([(":old", n(old.user_id))])),
            None => (
                "attribute_exists(pk) AND (attribute_not_exists(telegram) OR telegram = :null)",
                values([(":null", AttributeValue::Null(true))]),
            ),
        };
        vals.insert(":t".into(), link_value);
        let mut items = vec![
            self.store.tx_put(
                &Key::telegram(user_id),
                &TelegramMarker {
                    member_id: member.id.clone(),
                    linked_at: now,
                },
                Some("attribute_not_exists(pk) OR member_id = :m"),
                Some(values([(":m", s(member.id.as_str()))])),
            )?,
            self.store
                .tx_update(&Key::member(&member.id), "SET telegram = :t", as_read, vals)?,
        ];
        if let Some(old) = member.telegram.as_ref().filter(|t| t.user_id != user_id) {
            items.push(self.store.tx_delete(
                &Key::telegram(old.user_id),
                Some("member_id = :m"),
                Some(values([(":m", s(member.id.as_str()))])),
            )?);
        }
        let consume_at = items.len();
        items.extend(consume);
        match self.store.transact(items).await {
            Ok(()) => {}
            Err(e) if e.failed_at(0) => return Err(LinkError::TakenElsewhere),
            Err(e) if e.failed_at(1) => return Ok(None),
            Err(e) if e.failed_at(consume_at) => return Err(LinkError::Unknown),
            Err(e) => return Err(e.into()),
        }
        if let Some(name) = username {
            // Best effort: only `/whois @name` reads it, and it checks the link.
            if let Err(e) = self
                .store
                .put(&Key::telegram_username(name), &UsernameItem { user_id })
                .await
            {
                tracing::warn!(error = %e, "could not index the Telegram username");
            }
        }
        let mut member = member.clone();
        member.telegram = Some(link);
        Ok(Some((member, LinkOutcome::Linked)))
    }

    /// Removes the member's Telegram link and frees the account's marker.
    /// Returns false when there was nothing to unlink.
    pub async fn unlink(&self, member: &Member) -> Result<bool, StoreError> {
        let Some(link) = &member.telegram else { return Ok(false) };
        let items = vec![
            self.store.tx_update(
                &Key::member(&member.id),
                "REMOVE telegram",
                "telegram.user_id = :u",
                values([(":u", n(link.user_id))]),
            )?,
            self.store.tx_delete(
                &Key::telegram(link.user_id),
                Some("member_id = :m"),
                Some(values([(":m", s(member.id.as_str()))])),
            )?,
        ];
        match self.store.transact(items).await {
            Ok(()) => Ok(true),
            // Unlinked (or relinked) meanwhile.
            Err(StoreError::Cancelled { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Keeps `@username` current (people rename themselves), so `/whois @name` finds them.
    pub async fn refresh_username(
        &self,
        member: &MemberId,
        user_id: i64,
        username: Option<&str>,
    ) -> Result<(), StoreError> {
        let value = match username {
            Some(u) => s(u),
            None => AttributeValue::Null(true),
        };
        let out = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
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
            self.store
                .put(&Key::telegram_username(name), &UsernameItem { user_id })
                .await?;
        }
        Ok(())
    }

    /// The bot got 403 for this account: stop messaging it until it talks to us again.
    pub async fn set_unreachable(&self, member: &MemberId, user_id: i64, unreachable: bool) -> Result<(), StoreError> {
        let out = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .set_key(Some(Key::member(member).to_item()))
            .update_expression("SET telegram.unreachable = :v")
            .condition_expression("telegram.user_id = :u")
            .set_expression_attribute_values(Some(values([
                (":v", AttributeValue::Bool(unreachable)),
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
        self.store.put(&Key::telegram_intro_post(member), post).await
    }

    pub async fn intro_post(&self, member: &MemberId) -> Result<Option<IntroPost>, StoreError> {
        self.store.get(&Key::telegram_intro_post(member)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10 §2.9: two links of one member racing (both read the member
    /// unlinked) must not leave a `TG#` marker of an account the member no
    /// longer has.
    #[tokio::test]
    async fn a_link_from_a_stale_read_releases_the_account_it_replaces() {
        use crate::domain::{Email, MemberStatus, Role};
        let store = crate::store::testing::store().await;
        let member = Member::new(
            Email::parse("tg@lodge.test").unwrap(),
            Role::Member,
            MemberStatus::Approved,
            1,
        );
        store.members().create(&member).await.unwrap();
        let read_by_both = store.members().get(&member.id).await.unwrap().unwrap();
        let (first, _) = store
            .telegram()
            .attach(read_by_both.clone(), 111, Some("one"), 2, None)
            .await
            .unwrap();
        assert_eq!(first.telegram.as_ref().map(|t| t.user_id), Some(111));
        let (second, outcome) = store.telegram().attach(read_by_both, 222, None, 3, None).await.unwrap();
        assert_eq!(outcome, LinkOutcome::Linked);
        assert_eq!(second.telegram.as_ref().map(|t| t.user_id), Some(222));
        let stored = store.members().get(&member.id).await.unwrap().unwrap();
        assert_eq!(stored.telegram.map(|t| t.user_id), Some(222));
        assert!(
            store.telegram().marker(111).await.unwrap().is_none(),
            "the marker of the replaced account still points at the member"
        );
        assert_eq!(
            store.telegram().marker(222).await.unwrap().unwrap().member_id,
            member.id
        );
        assert!(store.telegram().member(111).await.unwrap().is_none());
    }

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
