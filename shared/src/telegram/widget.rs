//! The Telegram Login Widget check (core.telegram.org/widgets/login):
//! `hash` = hex HMAC-SHA256 of the data-check-string (every other field as
//! `key=value`, sorted by key, joined by `\n`) under the key SHA256(bot token).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::config::Secret;
use crate::crypto;

/// Widget data older than this is refused (replay window).
pub const MAX_AGE_SECS: i64 = 24 * 3600;

#[derive(Clone, Debug, PartialEq)]
pub struct WidgetUser {
    pub id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub auth_date: i64,
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum WidgetError {
    #[error("The Telegram login data is incomplete.")]
    Incomplete,
    #[error("The Telegram login data is not signed by our bot.")]
    BadSignature,
    #[error("The Telegram login is too old — please log in with Telegram again.")]
    Stale,
}

/// Checks the widget's fields (the query string of its redirect).
pub fn verify(fields: &BTreeMap<String, String>, bot_token: &Secret, now: i64) -> Result<WidgetUser, WidgetError> {
    let hash = fields.get("hash").ok_or(WidgetError::Incomplete)?;
    let check_string = data_check_string(fields);
    let key = Sha256::digest(bot_token.expose().as_bytes());
    let expected = crypto::hmac_hex(&key, check_string.as_bytes());
    if !crypto::constant_time_eq(expected.as_bytes(), hash.to_ascii_lowercase().as_bytes()) {
        return Err(WidgetError::BadSignature);
    }
    let id = fields
        .get("id")
        .and_then(|v| v.parse().ok())
        .ok_or(WidgetError::Incomplete)?;
    let auth_date: i64 = fields
        .get("auth_date")
        .and_then(|v| v.parse().ok())
        .ok_or(WidgetError::Incomplete)?;
    // Saturating: an `auth_date` near i64::MIN must be stale, not overflow (and wrap to "fresh").
    if now.saturating_sub(auth_date) > MAX_AGE_SECS {
        return Err(WidgetError::Stale);
    }
    Ok(WidgetUser {
        id,
        username: fields.get("username").cloned(),
        first_name: fields.get("first_name").cloned(),
        auth_date,
    })
}

fn data_check_string(fields: &BTreeMap<String, String>) -> String {
    // BTreeMap iterates in key order: exactly the sort Telegram specifies.
    fields
        .iter()
        .filter(|(k, _)| k.as_str() != "hash")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Signs fields as Telegram would (tests and local tooling).
pub fn sign(fields: &BTreeMap<String, String>, bot_token: &Secret) -> String {
    let key = Sha256::digest(bot_token.expose().as_bytes());
    crypto::hmac_hex(&key, data_check_string(fields).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(auth_date: i64) -> BTreeMap<String, String> {
        [
            ("id", "42"),
            ("first_name", "Ada"),
            ("username", "ada"),
            ("auth_date", &auth_date.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn valid_forged_and_stale() {
        let token = Secret::new("123456:ABC-token");
        let mut f = fields(1_000_000);
        f.insert("hash".into(), sign(&f, &token));
        let user = verify(&f, &token, 1_000_100).unwrap();
        assert_eq!((user.id, user.username.as_deref()), (42, Some("ada")));
        assert_eq!(
            verify(&f, &token, 1_000_000 + MAX_AGE_SECS + 1),
            Err(WidgetError::Stale)
        );
        let mut forged = f.clone();
        forged.insert("id".into(), "43".into());
        assert_eq!(verify(&forged, &token, 1_000_100), Err(WidgetError::BadSignature));
        assert_eq!(
            verify(&f, &Secret::new("other:token"), 1_000_100),
            Err(WidgetError::BadSignature)
        );
        f.remove("hash");
        assert_eq!(verify(&f, &token, 1_000_100), Err(WidgetError::Incomplete));
    }

    #[test]
    fn an_auth_date_at_the_bottom_of_the_range_is_stale() {
        let token = Secret::new("123456:ABC-token");
        let mut f = fields(i64::MIN);
        f.insert("hash".into(), sign(&f, &token));
        assert_eq!(verify(&f, &token, 1_000_100), Err(WidgetError::Stale));
    }
}
