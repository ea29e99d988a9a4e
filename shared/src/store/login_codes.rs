//! One-time login codes: stored only as an HMAC, one live code per address.

use serde::{Deserialize, Serialize};

use aws_sdk_dynamodb::types::TransactWriteItem;

use super::rate::{Limit, TxHit};
use super::reads::Reads;
use super::{n, s, values, Item, Key, Store, StoreError};
use crate::domain::{Email, MemberId};

/// The rate-counter name of guesses at codes, per address.
const GUESSES: &str = "codeguess";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredCode {
    pub member_id: MemberId,
    /// HMAC-SHA256 of the code under the server's code key, hex.
    pub hmac: String,
    pub attempts_left: u32,
    pub issued_at: i64,
    /// Also the table's TTL attribute; TTL deletion is lazy, so code checks it too.
    pub expires_at: i64,
}

/// What storing a new code found.
#[derive(Debug, PartialEq, Eq)]
pub enum CodePut {
    Stored,
    /// Sign-in by code is locked for the address: nothing written.
    Locked,
    /// The address's quota is used up: nothing written.
    OverQuota {
        retry_after_secs: i64,
    },
}

/// What happened to a wrong guess.
pub enum WrongGuess {
    /// The code is still live with this many attempts left.
    AttemptsLeft(u32),
    /// The code changed or ran out meanwhile.
    Gone,
}

impl Store {
    pub fn login_codes(&self) -> LoginCodes<'_> {
        LoginCodes { store: self }
    }
}

/// One-time sign-in codes, the guesses at them and the lock after too many.
pub struct LoginCodes<'a> {
    store: &'a Store,
}

impl LoginCodes<'_> {
    /// Stores a new code, replacing any previous one for the address.
    pub async fn put(&self, email: &Email, code: &StoredCode) -> Result<(), StoreError> {
        self.store.put(&Key::login_code(email), code).await
    }

    pub async fn get(&self, email: &Email) -> Result<Option<StoredCode>, StoreError> {
        self.store.get(&Key::login_code(email)).await
    }

    /// Stores a new code, replacing any previous one, unless sign-in by code
    /// is locked for the address or the address's `quota` is used up: both
    /// are checked in the same transaction, instead of a read and a write first.
    pub async fn put_unless_locked(
        &self,
        email: &Email,
        code: &StoredCode,
        quota: TxHit,
    ) -> Result<CodePut, StoreError> {
        let items = vec![
            self.unlocked_check(email)?,
            self.store.tx_put(&Key::login_code(email), code, None, None)?,
            quota.item,
        ];
        match self.store.transact(items).await {
            Ok(()) => Ok(CodePut::Stored),
            // The quota first, as when it was its own write.
            Err(e) if e.failed_at(2) => Ok(CodePut::OverQuota {
                retry_after_secs: quota.retry_after_secs,
            }),
            Err(e) if e.failed_at(0) => Ok(CodePut::Locked),
            Err(e) => Err(e),
        }
    }

    /// The live code and the lock of an address, in one `BatchGetItem`.
    pub async fn code_and_lock(&self, email: &Email) -> Result<(Option<StoredCode>, Option<CodeLock>), StoreError> {
        let mut reads = Reads::new();
        let code = reads.add(Key::login_code(email));
        let lock = reads.add(Key::login_lock(email));
        let mut got = self.store.fetch(reads).await?;
        Ok((got.take(code)?, got.take(lock)?))
    }

    /// A transaction's condition that sign-in by code is not locked for the address.
    pub fn unlocked_check(&self, email: &Email) -> Result<TransactWriteItem, StoreError> {
        self.store
            .tx_check(&Key::login_lock(email), "attribute_not_exists(pk)", &[], Item::new())
    }

    pub async fn delete(&self, email: &Email) -> Result<(), StoreError> {
        self.store.delete(&Key::login_code(email)).await
    }

    /// Burns one attempt of exactly this code (not a newer one that replaced it).
    pub async fn record_wrong_guess(&self, email: &Email, hmac: &str) -> Result<WrongGuess, StoreError> {
        let out = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .set_key(Some(Key::login_code(email).to_item()))
            .update_expression("SET attempts_left = attempts_left - :one")
            .condition_expression("hmac = :h AND attempts_left > :zero")
            .set_expression_attribute_values(Some(values([(":one", n(1)), (":zero", n(0)), (":h", s(hmac))])))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match out {
            Ok(out) => {
                let left = out
                    .attributes
                    .and_then(|a| {
                        a.get("attempts_left")
                            .and_then(|v| v.as_n().ok())
                            .and_then(|v| v.parse().ok())
                    })
                    .unwrap_or(0);
                Ok(WrongGuess::AttemptsLeft(left))
            }
            Err(e) => match StoreError::from_sdk(e) {
                StoreError::Conflict => Ok(WrongGuess::Gone),
                other => Err(other),
            },
        }
    }

    /// The transaction item that consumes this exact code, if still live.
    pub fn consume_item(&self, email: &Email, hmac: &str, now: i64) -> Result<TransactWriteItem, StoreError> {
        self.store.tx_delete(
            &Key::login_code(email),
            Some("hmac = :h AND attempts_left > :zero AND expires_at > :now"),
            Some(values([(":h", s(hmac)), (":zero", n(0)), (":now", n(now))])),
        )
    }
}

/// Sign-in by code is locked for an address: too many wrong guesses. Lasts
/// until the one-time link emailed to the address is used, or an admin
/// clears it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CodeLock {
    pub member_id: MemberId,
    pub locked_at: i64,
    /// SHA-256 (hex) of the newest sign-in link's token; the token itself
    /// exists only in the email.
    pub link_hash: String,
    pub link_expires_at: i64,
}

impl LoginCodes<'_> {
    /// Takes one of the `limit.max` guesses the address has in the current
    /// window (fixed, one atomic conditional ADD, expiring by TTL), before
    /// the guess is checked: concurrent guesses cannot share a slot. Returns
    /// how many are taken, this one included; `None` when none is left.
    pub async fn take_guess(&self, email: &Email, limit: Limit, now: i64) -> Result<Option<u32>, StoreError> {
        let start = now - now.rem_euclid(limit.window_secs);
        let out = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .set_key(Some(Key::rate(GUESSES, email.as_str(), start).to_item()))
            .update_expression("ADD hits :one SET expires_at = :exp")
            .condition_expression("attribute_not_exists(hits) OR hits < :max")
            .set_expression_attribute_values(Some(values([
                (":one", n(1)),
                (":max", n(limit.max)),
                (":exp", n(start + limit.window_secs)),
            ])))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::from_sdk);
        match out {
            Ok(out) => Ok(Some(
                out.attributes
                    .and_then(|a| a.get("hits").and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()))
                    .unwrap_or(1),
            )),
            Err(StoreError::Conflict) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gives a guess back in the sign-in's transaction: it was right. The
    /// window is the one `take_guess` used at the same `now`, so its counter
    /// holds the slot just taken.
    pub fn give_back_guess_item(&self, email: &Email, limit: Limit, now: i64) -> Result<TransactWriteItem, StoreError> {
        self.store
            .rate_limits()
            .refund_item(GUESSES, email.as_str(), limit, now)
    }

    /// Gives a guess back outside a transaction (the sign-in's failed).
    pub async fn give_back_guess(&self, email: &Email, limit: Limit, now: i64) -> Result<(), StoreError> {
        self.store
            .rate_limits()
            .refund(GUESSES, email.as_str(), limit, now)
            .await
    }

    pub async fn lock(&self, email: &Email) -> Result<Option<CodeLock>, StoreError> {
        self.store.get(&Key::login_lock(email)).await
    }

    /// Locks sign-in by code, or replaces the link of the lock in place (the
    /// newest link is the one that works).
    pub async fn put_lock(&self, email: &Email, lock: &CodeLock) -> Result<(), StoreError> {
        self.store.put(&Key::login_lock(email), lock).await
    }

    /// The transaction items that use up this exact, unexpired link: with
    /// `unlock`, they end the lock and give the window's guesses back;
    /// otherwise they only spend the link.
    pub fn consume_lock_items(
        &self,
        email: &Email,
        link_hash: &str,
        unlock: Option<Limit>,
        now: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let key = Key::login_lock(email);
        let condition = "link_hash = :h AND link_expires_at > :now";
        let mut vals = values([(":h", s(link_hash)), (":now", n(now))]);
        match unlock {
            Some(guesses) => Ok(vec![
                self.store.tx_delete(&key, Some(condition), Some(vals))?,
                self.reset_guesses_item(email, guesses, now)?,
            ]),
            None => {
                vals.insert(":spent".into(), s(""));
                Ok(vec![self.store.tx_update(
                    &key,
                    "SET link_hash = :spent",
                    condition,
                    vals,
                )?])
            }
        }
    }

    /// Ends the lock and gives the window's guesses back (an admin's unlock).
    /// False: there was no lock.
    pub async fn clear_lock(&self, email: &Email, guesses: Limit, now: i64) -> Result<bool, StoreError> {
        let was_locked = self.lock(email).await?.is_some();
        self.store
            .transact(vec![
                self.store.tx_delete(&Key::login_lock(email), None, None)?,
                self.reset_guesses_item(email, guesses, now)?,
            ])
            .await?;
        Ok(was_locked)
    }

    fn reset_guesses_item(&self, email: &Email, guesses: Limit, now: i64) -> Result<TransactWriteItem, StoreError> {
        let start = now - now.rem_euclid(guesses.window_secs);
        self.store
            .tx_delete(&Key::rate(GUESSES, email.as_str(), start), None, None)
    }
}
