//! Post and comment ids: 26 characters of lower-case Crockford base32, the
//! first 10 the creation time in milliseconds, the rest 80 random bits (a
//! ULID, lower-cased). They sort by creation time as plain strings, so a sort
//! key built from one needs no separate timestamp; they are URL-safe and say
//! nothing else about the item.

use std::fmt;

use serde::{Deserialize, Serialize};

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const LEN: usize = 26;

fn encode(ms: u64, random: u128) -> String {
    // 48 bits of time then 80 of randomness: 128 bits in 26 five-bit digits.
    let value: u128 = ((ms as u128 & 0xFFFF_FFFF_FFFF) << 80) | (random & ((1u128 << 80) - 1));
    (0..LEN)
        .rev()
        .map(|i| ALPHABET[((value >> (5 * i)) & 31) as usize] as char)
        .collect()
}

fn decode(raw: &str) -> Option<u128> {
    if raw.len() != LEN || raw.as_bytes()[0] > b'7' {
        return None; // the first digit carries only 3 bits
    }
    raw.bytes().try_fold(0u128, |acc, b| {
        let digit = ALPHABET.iter().position(|&a| a == b)?;
        Some((acc << 5) | digit as u128)
    })
}

macro_rules! sortable_id {
    ($name:ident, $what:literal) => {
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// A fresh id for an item created at `at_ms` (the injected clock's `now_ms`).
            pub fn generate(at_ms: i64) -> Self {
                Self::from_parts(at_ms, rand::random())
            }
            /// Deterministic: for tests and for ids derived from other ids.
            pub fn from_parts(at_ms: i64, random: u128) -> Self {
                Self(encode(at_ms.max(0) as u64, random))
            }
            pub fn parse(raw: &str) -> Result<Self, String> {
                match decode(raw) {
                    Some(_) => Ok(Self(raw.to_string())),
                    None => Err(concat!("not a valid ", $what, " id").to_string()),
                }
            }
            /// When the item was created, in milliseconds since the epoch.
            pub fn created_ms(&self) -> i64 {
                decode(&self.0).map_or(0, |v| (v >> 80) as i64)
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        id_string_impls!($name, $what);
    };
}

sortable_id!(PostId, "post");
sortable_id!(CommentId, "comment");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_time() {
        let id = PostId::generate(1_795_000_000_123);
        assert_eq!(id.as_str().len(), 26);
        assert_eq!(PostId::parse(id.as_str()).unwrap(), id);
        assert_eq!(id.created_ms(), 1_795_000_000_123);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<PostId>(&json).unwrap(), id);
    }

    #[test]
    fn ids_sort_by_creation_time_as_strings() {
        let mut last = String::new();
        for ms in [0, 1, 31, 32, 1_000, 1_795_000_000_000, 1_795_000_000_001, (1 << 48) - 1] {
            let id = CommentId::from_parts(ms, u128::MAX).as_str().to_string();
            let low = CommentId::from_parts(ms, 0).as_str().to_string();
            assert!(last < low && low < id, "{last} < {low} < {id}");
            last = id;
        }
    }

    #[test]
    fn junk_is_refused() {
        for bad in [
            "",
            "01jd",
            "01JDXXXXXXXXXXXXXXXXXXXXXX",   // upper case: one spelling per id
            "01jdxxxxxxxxxxxxxxxxxxxxxi",   // `i` is not in the alphabet
            "81jdxxxxxxxxxxxxxxxxxxxxxx",   // overflows 128 bits
            "01jdxxxxxxxxxxxxxxxxxxxxxx#x", // too long
        ] {
            assert_eq!(PostId::parse(bad).unwrap_err(), "not a valid post id", "{bad}");
        }
        assert_eq!(CommentId::parse("x").unwrap_err(), "not a valid comment id");
    }
}
