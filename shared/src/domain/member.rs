use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! random_id {
    ($name:ident, $what:literal) => {
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn generate() -> Self {
                Self(hex::encode(rand::random::<[u8; 16]>()))
            }
            pub fn parse(raw: &str) -> Result<Self, String> {
                if raw.len() == 32
                    && raw
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                {
                    Ok(Self(raw.to_string()))
                } else {
                    Err(concat!("not a valid ", $what, " id").to_string())
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        id_string_impls!($name, $what);
    };
}

random_id!(MemberId, "member");
random_id!(SessionId, "session");

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Moderator,
    Admin,
}

impl Role {
    pub fn can_moderate(self) -> bool {
        matches!(self, Role::Moderator | Role::Admin)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }
}

/// Where a member is on the way in. Only `Approved` members see the club.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Intro,
    OnReview,
    Approved,
    Rejected,
    Banned,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Intro => "intro",
            MemberStatus::OnReview => "on_review",
            MemberStatus::Approved => "approved",
            MemberStatus::Rejected => "rejected",
            MemberStatus::Banned => "banned",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_junk() {
        let id = MemberId::generate();
        assert_eq!(MemberId::parse(id.as_str()).unwrap(), id);
        assert!(MemberId::parse("MEMBER#x").is_err());
        assert!(MemberId::parse(&"A".repeat(32)).is_err());
    }

    #[test]
    fn roles_order_and_permissions() {
        assert!(Role::Admin.can_moderate() && Role::Moderator.can_moderate());
        assert!(!Role::Member.can_moderate());
        assert_eq!(serde_json::to_string(&MemberStatus::OnReview).unwrap(), "\"on_review\"");
    }
}
