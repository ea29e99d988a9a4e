//! Session cookies: a signed JWT (`sub`, `sid`, `iat`, `exp`) naming a
//! server-side session item. The signature stops forgery; the item lets us
//! revoke a session before it expires.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::domain::{MemberId, SessionId};

pub const COOKIE_NAME: &str = "lodge_session";
pub const SESSION_TTL_SECS: i64 = 30 * 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct SessionKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SessionKeys {
    pub fn new(secret: &Secret) -> Self {
        let bytes = secret.expose().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
        }
    }

    pub fn issue(&self, member: &MemberId, session: &SessionId, now: i64, expires_at: i64) -> String {
        let claims = Claims {
            sub: member.to_string(),
            sid: session.to_string(),
            iat: now,
            exp: expires_at,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).expect("HS256 signing cannot fail")
    }

    /// Checks signature, algorithm and expiry against `now` (our clock, so
    /// tests can move time). Returns the parsed ids.
    pub fn verify(&self, token: &str, now: i64) -> Option<(MemberId, SessionId, Claims)> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false; // checked below against the injected clock
        validation.required_spec_claims = ["exp", "sub"].into_iter().map(String::from).collect();
        let claims = decode::<Claims>(token, &self.decoding, &validation).ok()?.claims;
        if claims.exp <= now {
            return None;
        }
        let member = MemberId::parse(&claims.sub).ok()?;
        let session = SessionId::parse(&claims.sid).ok()?;
        Some((member, session, claims))
    }
}

/// `Set-Cookie` for a new session. `Secure` unless the app runs on plain http locally.
pub fn set_cookie(token: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{COOKIE_NAME}={token}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

/// The session token from a `Cookie` header, if any.
pub fn read_cookie(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|part| part.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys::new(&Secret::new("k".repeat(32)))
    }

    #[test]
    fn issued_tokens_verify_until_expiry() {
        let (m, s) = (MemberId::generate(), SessionId::generate());
        let t = keys().issue(&m, &s, 1000, 2000);
        let (m2, s2, _) = keys().verify(&t, 1500).unwrap();
        assert_eq!((m2, s2), (m, s));
        assert!(keys().verify(&t, 2000).is_none());
    }

    #[test]
    fn tampered_or_foreign_tokens_fail() {
        let t = keys().issue(&MemberId::generate(), &SessionId::generate(), 1000, 2000);
        let other = SessionKeys::new(&Secret::new("x".repeat(32)));
        assert!(other.verify(&t, 1500).is_none());
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        parts[1].insert(3, 'A');
        assert!(keys().verify(&parts.join("."), 1500).is_none());
        assert!(keys().verify("not.a.jwt", 1500).is_none());
    }

    #[test]
    fn cookies_have_the_right_attributes() {
        let c = set_cookie("abc", 60, true);
        for attr in [
            "lodge_session=abc",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Secure",
            "Max-Age=60",
        ] {
            assert!(c.contains(attr), "{c}");
        }
        assert!(!set_cookie("abc", 60, false).contains("Secure"));
        assert_eq!(read_cookie("a=1; lodge_session=tok; b=2"), Some("tok"));
        assert_eq!(read_cookie("lodge_session="), None);
    }
}
