//! The session cookie: a `Cookie` header into `session::read_cookie`, then
//! the JWT into `SessionKeys::verify`. The first byte picks the input:
//! even, the rest is a `Cookie` header (what anyone can send); odd, the rest
//! is a claims payload signed with our key (what only we can issue), so the
//! claims parsing behind the signature is fuzzed too.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use lodge::config::Secret;
use lodge::domain::{MemberId, SessionId};
use lodge::session::{self, SessionKeys, COOKIE_NAME};
use sha2::Sha256;

const NOW: i64 = 1_795_255_200;
const KEY: &str = "fuzz-session-key-of-at-least-32-bytes";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let keys = SessionKeys::new(&Secret::new(KEY));
    if mode % 2 == 0 {
        let Ok(header) = std::str::from_utf8(rest) else { return };
        if let Some(token) = session::read_cookie(header) {
            assert!(!token.is_empty() && !token.contains(';'));
            assert!(header.contains(&format!("{COOKIE_NAME}={token}")));
            // Unsigned by us: a forgery must never verify.
            if let Some((_, _, claims)) = keys.verify(token, NOW) {
                panic!("a token from the fuzzer verified: {claims:?}");
            }
        }
    } else {
        let token = sign(rest);
        if let Some((member, session, claims)) = keys.verify(&token, NOW) {
            assert!(claims.exp > NOW);
            assert_eq!(
                (member.as_str(), session.as_str()),
                (claims.sub.as_str(), claims.sid.as_str())
            );
        }
    }
    // Our own tokens always verify until they expire, through the cookie we set.
    let member = MemberId::parse("0123456789abcdef0123456789abcdef").expect("a member id");
    let session = SessionId::parse("fedcba9876543210fedcba9876543210").expect("a session id");
    let issued = keys.issue(&member, &session, NOW, NOW + 60);
    let cookie = session::set_cookie(&issued, 60, true);
    let header = cookie.split(';').next().expect("a name=value pair");
    let read = session::read_cookie(header).expect("our cookie reads back");
    let (m, s, _) = keys.verify(read, NOW).expect("our token verifies");
    assert_eq!((m, s), (member, session));
});

/// A JWT as `SessionKeys::issue` would make it, around any payload bytes.
fn sign(payload: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
    let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    let mut mac = Hmac::<Sha256>::new_from_slice(KEY.as_bytes()).expect("any key length");
    mac.update(message.as_bytes());
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}
