use std::fmt;

use serde::{Deserialize, Serialize};

/// An invite code: 16 characters from an alphabet without look-alikes
/// (no 0/O, 1/I/L), ~80 bits of randomness. Typed case-insensitively.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InviteCode(String);

impl InviteCode {
    pub const ALPHABET: &'static [u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    pub const LEN: usize = 16;

    pub fn generate() -> Self {
        Self(crate::crypto::random_from(Self::ALPHABET, Self::LEN))
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let s: String = raw
            .trim()
            .chars()
            .filter(|c| *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        if s.len() == Self::LEN && s.bytes().all(|b| Self::ALPHABET.contains(&b)) {
            Ok(Self(s))
        } else {
            Err("That is not a valid invite code.".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for InviteCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}
impl From<InviteCode> for String {
    fn from(c: InviteCode) -> String {
        c.0
    }
}
impl fmt::Display for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for InviteCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Logs correlate by a hash: no character of the code itself, which
        // would shrink what is left to guess.
        write!(f, "InviteCode(#{})", self.fingerprint())
    }
}

impl InviteCode {
    /// A stable, non-reversible tag for logs.
    pub fn fingerprint(&self) -> String {
        crate::crypto::sha256_hex(self.0.as_bytes())[..12].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::InviteCode;

    #[test]
    fn debug_output_holds_no_character_of_the_code() {
        let c = InviteCode::generate();
        let shown = format!("{c:?}");
        assert!(shown.starts_with("InviteCode(#"), "{shown}");
        let tag = &shown["InviteCode(#".len()..shown.len() - 1];
        assert!(tag.chars().all(|ch| ch.is_ascii_hexdigit()), "{shown}");
        assert!(!shown.contains(&c.as_str()[..6]), "{shown} shows the code's start");
    }

    #[test]
    fn generated_codes_avoid_look_alikes() {
        for _ in 0..50 {
            let c = InviteCode::generate();
            assert!(c.as_str().len() >= 14);
            assert!(!c.as_str().contains(['0', 'O', '1', 'I', 'L']), "{}", c.as_str());
            assert_eq!(InviteCode::parse(&c.as_str().to_lowercase()).unwrap(), c);
        }
    }

    #[test]
    fn rejects_junk() {
        for bad in ["", "short", "OOOOOOOOOOOOOOOO", "ABCDEFGHJKMNPQR!", "../../etc/passwd"] {
            assert!(InviteCode::parse(bad).is_err(), "{bad}");
        }
    }
}
