//! The parts of a post and a comment, each parsed once at the edge.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::field::{bounded_text, FieldError};

/// What a post is. The serde names are the stored strings and the `type`
/// form values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostKind {
    Post,
    Link,
    Question,
    Event,
    /// Made from a member's intro when they are approved, never composed.
    Intro,
}

impl PostKind {
    pub const ALL: [PostKind; 5] = [
        PostKind::Post,
        PostKind::Link,
        PostKind::Question,
        PostKind::Event,
        PostKind::Intro,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PostKind::Post => "post",
            PostKind::Link => "link",
            PostKind::Question => "question",
            PostKind::Event => "event",
            PostKind::Intro => "intro",
        }
    }

    /// From the `type` field (or a `?type=` filter).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw.trim())
            .ok_or_else(|| FieldError::new("type", "must be one of post, link, question, event, intro"))
    }
}

impl fmt::Display for PostKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// 1–128 characters on one line, trimmed, inner whitespace runs collapsed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PostTitle(String);

impl PostTitle {
    pub const MAX: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let one_line = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().any(char::is_control) {
            return Err(FieldError::new("title", "contains characters that cannot be shown"));
        }
        bounded_text("title", &one_line, 1, Self::MAX).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A post's Markdown source, up to 100,000 characters; may be empty (a link
/// or a question can stand on its title). Line endings become `\n`.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct PostBody(String);

impl PostBody {
    pub const MAX: usize = 100_000;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        bounded_text("body", raw, 0, Self::MAX).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A comment's Markdown source: 1–20,000 characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct CommentBody(String);

impl CommentBody {
    pub const MAX: usize = 20_000;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        bounded_text("body", raw, 1, Self::MAX).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A member's own message in Telegram that became a comment (a Reply to a
/// notification): the comment's source, so the same message never writes a
/// second comment and its edits find the comment (`TGREPLY#<chat>#<message>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramMessage {
    pub chat: i64,
    pub message_id: i64,
}

/// Who can read a post. Comments are members-only either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Members,
    /// The page, title and Open Graph tags are readable signed out.
    Public,
}

impl Visibility {
    /// From the `public` checkbox: absent or empty is members-only.
    pub fn from_checkbox(raw: Option<&str>) -> Result<Self, FieldError> {
        match raw.map(str::trim) {
            None | Some("") | Some("0") | Some("false") | Some("off") => Ok(Visibility::Members),
            Some("1") | Some("true") | Some("on") | Some("public") => Ok(Visibility::Public),
            Some(_) => Err(FieldError::new("public", "must be a checkbox value (on or off)")),
        }
    }
    pub fn is_public(self) -> bool {
        self == Visibility::Public
    }
}

/// A room's slug: 1–40 of `a-z 0-9 -`, starting with a letter or digit and
/// not ending with `-`. Upper case is folded, so `/rooms/Travel` and
/// `/rooms/travel` are one room. Safe inside keys (`ROOM#<slug>`) and URLs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomSlug(String);

impl RoomSlug {
    pub const MAX: usize = 40;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim().to_ascii_lowercase();
        let problem = if s.is_empty() {
            "must not be empty"
        } else if s.len() > Self::MAX {
            "is too long (at most 40 characters)"
        } else if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            "may hold only letters a–z, digits and -"
        } else if s.starts_with('-') || s.ends_with('-') {
            "must not start or end with -"
        } else {
            return Ok(Self(s));
        };
        Err(FieldError::new("room", problem))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RoomSlug {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse(&s)
    }
}
impl From<RoomSlug> for String {
    fn from(v: RoomSlug) -> String {
        v.0
    }
}
impl fmt::Display for RoomSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An absolute `http`/`https` URL with a host and no user name or password
/// (`https://bank.com@evil.org` fools readers), at most 2,048 characters.
/// Held in its normalised form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct LinkUrl(String);

impl LinkUrl {
    pub const MAX: usize = 2048;

    /// `field` is the form field it came from (`url`, `place`).
    pub fn parse_field(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(FieldError::new(field, "must not be empty"));
        }
        if raw.len() > Self::MAX {
            return Err(FieldError::new(field, "is too long (at most 2048 characters)"));
        }
        let url = url::Url::parse(raw).map_err(|_| FieldError::new(field, "is not a web address (https://…)"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FieldError::new(field, "must start with http:// or https://"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(FieldError::new(field, "has no host name"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FieldError::new(field, "must not contain a user name or password"));
        }
        Ok(Self(url.to_string()))
    }
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::parse_field("url", raw)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// `example.org`, for the card (a `www.` prefix says nothing).
    pub fn host(&self) -> String {
        let host = url::Url::parse(&self.0)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        host.strip_prefix("www.").map(str::to_string).unwrap_or(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_use_their_stored_names() {
        for kind in PostKind::ALL {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
            assert_eq!(PostKind::parse(kind.as_str()).unwrap(), kind);
        }
        assert_eq!(PostKind::parse("Post").unwrap_err().field, "type");
        assert!(PostKind::parse("").is_err());
    }

    #[test]
    fn titles_are_one_trimmed_line_of_1_to_128() {
        assert_eq!(PostTitle::parse("  Hello \n  world ").unwrap().as_str(), "Hello world");
        assert_eq!(
            PostTitle::parse(&"я".repeat(128)).unwrap().as_str().chars().count(),
            128
        );
        let long = PostTitle::parse(&"я".repeat(129)).unwrap_err();
        assert_eq!(long.to_string(), "title: is too long (129 characters, at most 128)");
        assert_eq!(
            PostTitle::parse(" \n\t ").unwrap_err().to_string(),
            "title: must not be empty"
        );
        assert!(PostTitle::parse("a\u{7}b").is_err());
    }

    #[test]
    fn bodies_are_bounded_by_characters() {
        assert!(PostBody::parse("").unwrap().is_empty());
        assert_eq!(PostBody::parse("a\r\nb\n").unwrap().as_str(), "a\nb");
        assert!(PostBody::parse(&"ы".repeat(100_000)).is_ok());
        assert_eq!(
            PostBody::parse(&"ы".repeat(100_001)).unwrap_err().to_string(),
            "body: is too long (100001 characters, at most 100000)"
        );
        assert!(CommentBody::parse(&"x".repeat(20_000)).is_ok());
        assert!(CommentBody::parse(&"x".repeat(20_001)).is_err());
        assert_eq!(
            CommentBody::parse("  ").unwrap_err().to_string(),
            "body: must not be empty"
        );
    }

    #[test]
    fn visibility_comes_from_a_checkbox() {
        assert_eq!(Visibility::from_checkbox(None).unwrap(), Visibility::Members);
        assert_eq!(Visibility::from_checkbox(Some("on")).unwrap(), Visibility::Public);
        assert_eq!(Visibility::from_checkbox(Some("maybe")).unwrap_err().field, "public");
        assert_eq!(serde_json::to_string(&Visibility::Public).unwrap(), "\"public\"");
    }

    #[test]
    fn room_slugs_are_key_and_url_safe() {
        assert_eq!(RoomSlug::parse(" Travel-2026 ").unwrap().as_str(), "travel-2026");
        assert!(RoomSlug::parse(&"a".repeat(40)).is_ok());
        for bad in ["", "-a", "a-", "a b", "a#b", "путешествия", &"a".repeat(41)] {
            assert_eq!(RoomSlug::parse(bad).unwrap_err().field, "room", "{bad}");
        }
    }

    #[test]
    fn links_are_web_links_without_credentials() {
        let url = LinkUrl::parse(" https://www.Example.org/a?b=1 ").unwrap();
        assert_eq!(url.as_str(), "https://www.example.org/a?b=1");
        assert_eq!(url.host(), "example.org");
        for bad in [
            "",
            "javascript:alert(1)",
            "data:text/html,x",
            "ftp://example.org/",
            "https://bank.com@evil.org/",
            "/relative",
            "http://",
        ] {
            assert_eq!(LinkUrl::parse(bad).unwrap_err().field, "url", "{bad}");
        }
        assert!(LinkUrl::parse(&format!("https://a.org/{}", "x".repeat(2048))).is_err());
    }
}
