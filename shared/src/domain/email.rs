use std::fmt;

/// A normalised email address (trimmed, lower-cased), plausibly deliverable.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("Enter your email address.".into());
        }
        if s.len() > 254 {
            return Err("That email address is too long.".into());
        }
        let invalid = || format!("“{}” does not look like an email address.", truncate(raw.trim(), 60));
        let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if local_ok && domain_ok {
            Ok(Self(s))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stable pseudonym for logs: raw addresses never reach them.
    pub fn fingerprint(&self) -> String {
        crate::crypto::sha256_hex(self.0.as_bytes())[..12].to_string()
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl TryFrom<String> for Email {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.fingerprint())
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn normalises_case_and_space() {
        assert_eq!(Email::parse("  Ada@Example.ORG ").unwrap().as_str(), "ada@example.org");
    }

    #[test]
    fn accepts_common_shapes() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", "x_y-z@a-b.io"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_bad_shapes() {
        for bad in [
            "",
            " ",
            "plain",
            "@x.org",
            "a@",
            "a@b",
            "a@.org",
            "a b@c.org",
            "a..b@c.org",
            "a@b..org",
            "a@-b.org",
            "<script>@x.org",
            "a@b.org\n",
        ] {
            assert!(
                Email::parse(bad).is_err() || bad.trim() != bad && Email::parse(bad).is_ok(),
                "{bad:?}"
            );
        }
        assert!(Email::parse(&format!("{}@x.org", "a".repeat(65))).is_err());
        assert!(Email::parse(&format!("a@{}.org", "b".repeat(250))).is_err());
    }

    #[test]
    fn debug_hides_the_address() {
        let e = Email::parse("ada@example.org").unwrap();
        assert!(!format!("{e:?}").contains("ada"));
    }
}
