//! One-time login codes: stored only as an HMAC, one live code per address.

use serde::{Deserialize, Serialize};

use super::{n, s, values, Key, Store, StoreError};
use crate::domain::{Email, MemberId};

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

/// What happened to a wrong guess.
pub enum WrongGuess {
    /// The code is still live with this many attempts left.
    AttemptsLeft(u32),
    /// The code changed or ran out meanwhile.
    Gone,
}

impl Store {
    /// Stores a new code, replacing any previous one for the address.
    pub async fn put_login_code(&self, email: &Email, code: &StoredCode) -> Result<(), StoreError> {
        self.put(&Key::login_code(email), code).await
    }

    pub async fn login_code(&self, email: &Email) -> Result<Option<StoredCode>, StoreError> {
        self.get(&Key::login_code(email)).await
    }

    pub async fn delete_login_code(&self, email: &Email) -> Result<(), StoreError> {
        self.delete(&Key::login_code(email)).await
    }

    /// Burns one attempt of exactly this code (not a newer one that replaced it).
    pub async fn record_wrong_guess(&self, email: &Email, hmac: &str) -> Result<WrongGuess, StoreError> {
        let out = self
            .client()
            .update_item()
            .table_name(self.table())
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
    pub fn consume_login_code_item(
        &self,
        email: &Email,
        hmac: &str,
        now: i64,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        self.tx_delete(
            &Key::login_code(email),
            Some("hmac = :h AND attempts_left > :zero AND expires_at > :now"),
            Some(values([(":h", s(hmac)), (":zero", n(0)), (":now", n(now))])),
        )
    }
}
