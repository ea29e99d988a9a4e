//! What a newcomer writes about themselves, with limits a person can read.

/// A display name: 2–60 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        match s.chars().count() {
            0 => Err("Enter your name.".into()),
            1 => Err("Your name is too short: use at least 2 characters.".into()),
            n if n > 60 => Err(format!("Your name is too long: {n} characters, at most 60.")),
            _ if s.chars().any(char::is_control) => Err("Your name contains characters we cannot show.".into()),
            _ => Ok(Self(s)),
        }
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The intro itself: 20–4000 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct About(String);

impl About {
    pub const MIN: usize = 20;
    pub const MAX: usize = 4000;

    pub fn parse(raw: &str) -> Result<Self, String> {
        // Every line break as `\n`: a lone `\r` (or the one left of `\r\r\n`)
        // would survive a `\r\n` replace and change the text on the next save.
        let s = raw.trim().replace("\r\n", "\n").replace('\r', "\n");
        match s.chars().count() {
            0 => Err("Tell the community about yourself.".into()),
            n if n < Self::MIN => Err(format!(
                "Your intro is too short: {n} characters, at least {}.",
                Self::MIN
            )),
            n if n > Self::MAX => Err(format!(
                "Your intro is too long: {n} characters, at most {}.",
                Self::MAX
            )),
            _ => Ok(Self(s)),
        }
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Up to 5 http(s) links, one per line.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Links(Vec<String>);

impl Links {
    pub const MAX: usize = 5;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let lines: Vec<&str> = raw.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        if lines.len() > Self::MAX {
            return Err(format!("At most {} links, please ({} given).", Self::MAX, lines.len()));
        }
        let mut links = Vec::new();
        for line in lines {
            let ok = line.len() <= 300
                && url::Url::parse(line)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if !ok {
                return Err(format!(
                    "“{}” is not a web link (it should start with https://).",
                    line.chars().take(80).collect::<String>()
                ));
            }
            links.push(line.to_string());
        }
        Ok(Self(links))
    }
    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse("  Ada   Lovelace ").unwrap().into_inner(),
            "Ada Lovelace"
        );
        assert!(DisplayName::parse("").is_err());
        assert!(DisplayName::parse("A").is_err());
        assert!(DisplayName::parse(&"x".repeat(61))
            .unwrap_err()
            .contains("61 characters"));
    }

    #[test]
    fn intros_have_length_limits_with_counts() {
        assert!(About::parse("short").unwrap_err().contains("5 characters"));
        assert!(About::parse(&"a".repeat(4001)).unwrap_err().contains("at most 4000"));
        assert!(About::parse(&"a".repeat(100)).is_ok());
    }

    #[test]
    fn intros_normalise_every_line_break_once_and_for_all() {
        // Found by fuzzing (web_body): `\r\r\n` became `\r\n`, then `\n` on the next parse.
        let raw = format!("{}\r\r\nmac\rdos\r\nend", "a".repeat(20));
        let once = About::parse(&raw).unwrap().into_inner();
        assert_eq!(once, format!("{}\n\nmac\ndos\nend", "a".repeat(20)));
        assert_eq!(About::parse(&once).unwrap().into_inner(), once);
    }

    #[test]
    fn links_must_be_web_links() {
        assert_eq!(
            Links::parse("https://a.org\n\n http://b.org ")
                .unwrap()
                .into_inner()
                .len(),
            2
        );
        assert!(Links::parse("javascript:alert(1)").is_err());
        assert!(Links::parse(&"https://a.org\n".repeat(6)).is_err());
    }
}
