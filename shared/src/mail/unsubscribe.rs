//! One-click unsubscribe (RFC 8058): a token per member and purpose, signed
//! with its own key (`LODGE_UNSUBSCRIBE_KEY`, the secret's `unsubscribe_key`),
//! and the two headers every digest and notification email carries.
//!
//! The token is `<member id>.<purpose>.<epoch>.<mac>`. The MAC covers all
//! three, so a token for one purpose cannot be turned into another. `epoch`
//! is the member's `mail_epoch`: bumping it revokes every token sent before.
//! Nothing is stored per token.

use std::fmt;

use base64::Engine;

use crate::config::{AppUrl, ConfigError, Env, Secret};
use crate::crypto;
use crate::domain::MemberId;

/// What a token unsubscribes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// The weekly email digest.
    Weekly,
    /// The daily Telegram digest.
    Daily,
    /// Notification emails (issue 13).
    Notifications,
    /// Every email but sign-in codes.
    All,
}

impl Purpose {
    pub const ALL: [Purpose; 4] = [Purpose::Weekly, Purpose::Daily, Purpose::Notifications, Purpose::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Weekly => "weekly",
            Purpose::Daily => "daily",
            Purpose::Notifications => "notifications",
            Purpose::All => "all",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// What the confirm page says the button stops.
    pub fn describe(self) -> &'static str {
        match self {
            Purpose::Weekly => "the weekly email digest",
            Purpose::Daily => "the daily Telegram digest",
            Purpose::Notifications => "notification emails",
            Purpose::All => "every email from this club except sign-in codes",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key that signs unsubscribe tokens, and nothing else.
#[derive(Clone)]
pub struct UnsubscribeKey(Secret);

impl UnsubscribeKey {
    pub const VAR: &'static str = "LODGE_UNSUBSCRIBE_KEY";

    pub fn new(secret: Secret) -> Self {
        Self(secret)
    }

    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self(env.secret(Self::VAR, 32)?))
    }

    fn mac(&self, member: &MemberId, purpose: Purpose, epoch: u32) -> String {
        // Domain-separated: no other signature of any key can be replayed here.
        let message = format!("lodge/unsubscribe/v1\n{member}\n{purpose}\n{epoch}");
        let full = crypto::hmac_sha256(self.0.expose().as_bytes(), message.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&full[..18])
    }
}

/// A verified unsubscribe token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub member: MemberId,
    pub purpose: Purpose,
    pub epoch: u32,
}

/// Why a token was refused: all answer 403, without saying which.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed unsubscribe token")]
    Malformed,
    #[error("unsubscribe token signature does not match")]
    BadSignature,
}

impl Token {
    pub fn new(member: MemberId, purpose: Purpose, epoch: u32) -> Self {
        Self { member, purpose, epoch }
    }

    pub fn sign(&self, key: &UnsubscribeKey) -> String {
        format!(
            "{}.{}.{}.{}",
            self.member,
            self.purpose,
            self.epoch,
            key.mac(&self.member, self.purpose, self.epoch)
        )
    }

    /// Checks the signature. Whether `epoch` is still the member's current
    /// one is for the caller, which reads the member anyway.
    pub fn verify(raw: &str, key: &UnsubscribeKey) -> Result<Self, TokenError> {
        let mut parts = raw.split('.');
        let (Some(member), Some(purpose), Some(epoch), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let member = MemberId::parse(member).map_err(|_| TokenError::Malformed)?;
        let purpose = Purpose::parse(purpose).ok_or(TokenError::Malformed)?;
        let epoch: u32 = epoch.parse().map_err(|_| TokenError::Malformed)?;
        if !crypto::constant_time_eq(key.mac(&member, purpose, epoch).as_bytes(), mac.as_bytes()) {
            return Err(TokenError::BadSignature);
        }
        Ok(Self { member, purpose, epoch })
    }
}

/// The page a token opens: `GET` confirms, `POST` unsubscribes.
pub fn url(app: &AppUrl, key: &UnsubscribeKey, token: &Token) -> String {
    app.join(&format!("/u/{}", token.sign(key)))
}

/// `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 8058) for an email to
/// `member` of kind `purpose`: add them to every digest and notification
/// (`Letter::with_headers`). Gmail and Yahoo require both from bulk senders.
pub fn headers(app: &AppUrl, key: &UnsubscribeKey, token: &Token) -> Vec<(String, String)> {
    vec![
        ("List-Unsubscribe".to_string(), format!("<{}>", url(app, key, token))),
        (
            "List-Unsubscribe-Post".to_string(),
            "List-Unsubscribe=One-Click".to_string(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> UnsubscribeKey {
        UnsubscribeKey::new(Secret::new(s.repeat(32)))
    }

    #[test]
    fn tokens_verify_only_with_their_key_purpose_and_epoch() {
        let k = key("a");
        let t = Token::new(MemberId::generate(), Purpose::Weekly, 3);
        let raw = t.sign(&k);
        assert_eq!(Token::verify(&raw, &k).unwrap(), t);
        assert_eq!(Token::verify(&raw, &key("b")), Err(TokenError::BadSignature));
        for other in ["daily", "notifications", "all"] {
            let forged = raw.replacen(".weekly.", &format!(".{other}."), 1);
            assert_eq!(Token::verify(&forged, &k), Err(TokenError::BadSignature), "{other}");
        }
        let bumped = raw.replacen(".3.", ".4.", 1);
        assert_eq!(Token::verify(&bumped, &k), Err(TokenError::BadSignature));
        let (longer, monthly) = (format!("{raw}.x"), raw.replacen(".weekly.", ".monthly.", 1));
        for junk in ["", "x", "a.b.c.d", longer.as_str(), monthly.as_str()] {
            assert!(Token::verify(junk, &k).is_err(), "{junk}");
        }
    }

    #[test]
    fn headers_are_rfc_8058_one_click() {
        let app = AppUrl::parse("https://club.example.org").unwrap();
        let t = Token::new(MemberId::generate(), Purpose::Notifications, 0);
        let h = headers(&app, &key("k"), &t);
        assert_eq!(h[0].0, "List-Unsubscribe");
        assert!(h[0].1.starts_with("<https://club.example.org/u/") && h[0].1.ends_with('>'));
        assert_eq!(
            h[1],
            ("List-Unsubscribe-Post".into(), "List-Unsubscribe=One-Click".into())
        );
    }
}
