//! The part of a Telegram message that forwarding needs, read from the Bot
//! API's `Message` JSON. Carried inside queue jobs, so it is serialisable.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a message carries besides text. Names are the Bot API's field names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Text,
    Photo,
    Video,
    Animation,
    Document,
    Audio,
    Voice,
    VideoNote,
    Sticker,
    Poll,
    Location,
    Contact,
    Other,
}

impl MediaKind {
    pub const ALL: [MediaKind; 13] = [
        MediaKind::Text,
        MediaKind::Photo,
        MediaKind::Video,
        MediaKind::Animation,
        MediaKind::Document,
        MediaKind::Audio,
        MediaKind::Voice,
        MediaKind::VideoNote,
        MediaKind::Sticker,
        MediaKind::Poll,
        MediaKind::Location,
        MediaKind::Contact,
        MediaKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Text => "text",
            MediaKind::Photo => "photo",
            MediaKind::Video => "video",
            MediaKind::Animation => "animation",
            MediaKind::Document => "document",
            MediaKind::Audio => "audio",
            MediaKind::Voice => "voice",
            MediaKind::VideoNote => "video_note",
            MediaKind::Sticker => "sticker",
            MediaKind::Poll => "poll",
            MediaKind::Location => "location",
            MediaKind::Contact => "contact",
            MediaKind::Other => "other",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// Kinds `sendMediaGroup` accepts (needed to re-send an album with new captions).
    pub fn album_type(self) -> Option<&'static str> {
        match self {
            MediaKind::Photo => Some("photo"),
            MediaKind::Video => Some("video"),
            MediaKind::Document => Some("document"),
            MediaKind::Audio => Some("audio"),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub chat_id: i64,
    pub message_id: i64,
    /// When the source message was posted (epoch seconds), for latency.
    pub date: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_date: Option<i64>,
    pub kind: MediaKind,
    /// `text`, or the media's `caption`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// Same file ⇒ same id, across chats and bots: part of the content hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_unique_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_group_id: Option<String>,
}

impl Post {
    /// Reads a Bot API `Message`; `None` for messages with no chat or id.
    pub fn from_message(m: &Value) -> Option<Self> {
        let chat_id = m.get("chat")?.get("id")?.as_i64()?;
        let message_id = m.get("message_id")?.as_i64()?;
        let (kind, file) = media_of(m);
        let text = m
            .get("text")
            .or_else(|| m.get("caption"))
            .and_then(Value::as_str)
            .map(str::to_string);
        Some(Self {
            chat_id,
            message_id,
            date: m.get("date").and_then(Value::as_i64).unwrap_or_default(),
            edit_date: m.get("edit_date").and_then(Value::as_i64),
            kind,
            text,
            file_id: file
                .and_then(|f| f.get("file_id"))
                .and_then(Value::as_str)
                .map(str::to_string),
            file_unique_id: file
                .and_then(|f| f.get("file_unique_id"))
                .and_then(Value::as_str)
                .map(str::to_string),
            media_group_id: m.get("media_group_id").and_then(Value::as_str).map(str::to_string),
        })
    }

    /// True when the text is a caption (edits then use `editMessageCaption`).
    pub fn is_caption(&self) -> bool {
        self.kind != MediaKind::Text
    }
}

fn media_of(m: &Value) -> (MediaKind, Option<&Value>) {
    // A photo is a list of sizes; the largest comes last.
    if let Some(sizes) = m.get("photo").and_then(Value::as_array) {
        return (MediaKind::Photo, sizes.last());
    }
    // `animation` messages also carry `document`: check it first.
    for kind in [
        MediaKind::Animation,
        MediaKind::Video,
        MediaKind::Document,
        MediaKind::Audio,
        MediaKind::Voice,
        MediaKind::VideoNote,
        MediaKind::Sticker,
    ] {
        if let Some(f) = m.get(kind.as_str()) {
            return (kind, Some(f));
        }
    }
    for kind in [MediaKind::Poll, MediaKind::Location, MediaKind::Contact] {
        if m.get(kind.as_str()).is_some() {
            return (kind, None);
        }
    }
    if m.get("text").is_some() {
        (MediaKind::Text, None)
    } else {
        (MediaKind::Other, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_text_photo_and_album_items() {
        let p = Post::from_message(&json!({"message_id": 5, "date": 10, "chat": {"id": -1001}, "text": "hi"})).unwrap();
        assert_eq!(
            (p.kind, p.text.as_deref(), p.is_caption()),
            (MediaKind::Text, Some("hi"), false)
        );
        let p = Post::from_message(&json!({
            "message_id": 6, "date": 11, "chat": {"id": -1001}, "media_group_id": "g1", "caption": "look",
            "photo": [{"file_id": "small", "file_unique_id": "s"}, {"file_id": "big", "file_unique_id": "b"}]
        }))
        .unwrap();
        assert_eq!(
            (p.kind, p.file_id.as_deref(), p.media_group_id.as_deref()),
            (MediaKind::Photo, Some("big"), Some("g1"))
        );
        assert!(p.is_caption());
        let p = Post::from_message(
            &json!({"message_id": 7, "chat": {"id": 1}, "animation": {"file_id": "a"}, "document": {"file_id": "a"}}),
        )
        .unwrap();
        assert_eq!(p.kind, MediaKind::Animation);
        assert!(Post::from_message(&json!({"chat": {"id": 1}})).is_none());
    }
}
