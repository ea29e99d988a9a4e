//! What an admin types when defining a room (its slug is `RoomSlug`).

use serde::Serialize;

use super::field::{bounded_text, FieldError};

/// 1–60 characters on one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RoomTitle(String);

impl RoomTitle {
    pub const MAX: usize = 60;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let one_line = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        bounded_text("title", &one_line, 1, Self::MAX).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Up to 500 characters of plain text (shown escaped); may be empty.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct RoomDescription(String);

impl RoomDescription {
    pub const MAX: usize = 500;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        bounded_text("description", raw, 0, Self::MAX).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_descriptions_are_bounded() {
        assert_eq!(RoomTitle::parse("  Travel \n plans ").unwrap().as_str(), "Travel plans");
        assert_eq!(RoomTitle::parse(" ").unwrap_err().field, "title");
        assert!(RoomTitle::parse(&"я".repeat(60)).is_ok());
        assert!(RoomTitle::parse(&"я".repeat(61)).is_err());
        assert!(RoomDescription::parse("").unwrap().as_str().is_empty());
        assert_eq!(
            RoomDescription::parse(&"x".repeat(501)).unwrap_err().field,
            "description"
        );
    }
}
