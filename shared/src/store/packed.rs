//! Large text attributes, stored deflated (docs/posts.md, "Sizes"). A post's
//! Markdown, its rendered HTML and its earlier versions can approach
//! DynamoDB's 400 KB item limit, so text over 64 KB is written as a binary
//! attribute holding its DEFLATE stream (flate2) and inflated on read; shorter
//! text stays a plain string. Used as `#[serde(with = "packed")]` on a
//! `String` field, so callers never see the difference.

use std::fmt;
use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Text longer than this (in bytes) is stored deflated.
pub const THRESHOLD: usize = 64 * 1024;
/// What one packed attribute may inflate to: well above a 100,000-character
/// body of 4-byte characters and its HTML, far below a deflate bomb.
const MAX_INFLATED: u64 = 4 * 1024 * 1024;

/// The bytes `text` takes in its item, for the item-size check.
pub fn stored_len(text: &str) -> usize {
    if text.len() <= THRESHOLD {
        text.len()
    } else {
        deflate(text).len()
    }
}

fn deflate(text: &str) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::with_capacity(text.len() / 3), Compression::default());
    e.write_all(text.as_bytes()).expect("writing to a Vec cannot fail");
    e.finish().expect("writing to a Vec cannot fail")
}

fn inflate(bytes: &[u8]) -> Result<String, String> {
    let mut out = Vec::new();
    DeflateDecoder::new(bytes)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("a packed text does not inflate: {e}"))?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(format!("a packed text inflates past {MAX_INFLATED} bytes"));
    }
    String::from_utf8(out).map_err(|e| format!("a packed text is not UTF-8: {e}"))
}

pub fn serialize<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    if text.len() <= THRESHOLD {
        s.serialize_str(text)
    } else {
        s.serialize_bytes(&deflate(text))
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(Text)
}

/// A string attribute as it is, a binary one inflated.
struct Text;

impl<'de> Visitor<'de> for Text {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, or deflated bytes")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<String, E> {
        inflate(v).map_err(E::custom)
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<String, E> {
        inflate(&v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::types::AttributeValue;
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Item {
        #[serde(with = "super")]
        text: String,
    }

    fn round_trip(text: &str) -> AttributeValue {
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(Item { text: text.into() }).unwrap();
        let back: Item = serde_dynamo::from_item(item.clone()).unwrap();
        assert_eq!(back.text, text);
        item["text"].clone()
    }

    #[test]
    fn short_text_stays_a_string_long_text_is_stored_deflated() {
        assert!(matches!(round_trip("short"), AttributeValue::S(_)));
        let edge = "a".repeat(THRESHOLD);
        assert!(matches!(round_trip(&edge), AttributeValue::S(_)));
        let over = "é".repeat(THRESHOLD / 2 + 1);
        let AttributeValue::B(packed) = round_trip(&over) else {
            panic!("not binary")
        };
        assert!(packed.as_ref().len() < over.len() / 10);
        assert_eq!(stored_len(&over), packed.as_ref().len());
    }

    #[test]
    fn a_bomb_or_garbage_is_refused_not_inflated() {
        let bomb = deflate(&"\0".repeat(MAX_INFLATED as usize + 1));
        assert!(inflate(&bomb).unwrap_err().contains("past"));
        assert!(inflate(b"\xff\xfe not deflate").is_err());
    }
}
