//! Rule filters, applied in a fixed order (documented in docs/forwarding.md, “Filters, in this fixed order”):
//!
//! 1. `include` — keyword whitelist: if non-empty, the text or caption must
//!    contain at least one keyword;
//! 2. `exclude` — keyword blacklist: it must contain none;
//! 3. `media` — if non-empty, the message kind (`text`, `photo`, …) must be listed;
//! 4. `replace` — text replacements, in list order;
//! 5. `header` / `footer` — added on their own lines.
//!
//! Keywords match case-insensitively and as whole words (`cat` does not match
//! `catalog`); with `regex: true` each keyword and each `replace.from` is a
//! regular expression instead (still case-insensitive). Steps 1–2 look at the
//! original text, so a replacement cannot sneak a message past the blacklist.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::post::MediaKind;
use super::rule_error::RuleError;

const MAX_KEYWORDS: usize = 200;
const MAX_PATTERN: usize = 500;
const MAX_AFFIX: usize = 1024;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replacement {
    pub from: String,
    pub to: String,
}

/// The filters as the admin wrote them (what is stored and shown).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiltersSpec {
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub regex: bool,
    #[serde(default)]
    pub media: Vec<MediaKind>,
    #[serde(default)]
    pub replace: Vec<Replacement>,
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub footer: Option<String>,
}

impl FiltersSpec {
    pub fn from_json(v: &Value) -> Result<Self, RuleError> {
        let obj = v
            .as_object()
            .ok_or_else(|| RuleError::new("filters", "must be an object"))?;
        const KNOWN: [&str; 7] = ["include", "exclude", "regex", "media", "replace", "header", "footer"];
        if let Some(extra) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(RuleError::new(
                format!("filters.{extra}"),
                "is not a filter (known: include, exclude, regex, media, replace, header, footer)",
            ));
        }
        let strings = |name: &str| -> Result<Vec<String>, RuleError> {
            let field = format!("filters.{name}");
            match obj.get(name) {
                None | Some(Value::Null) => Ok(vec![]),
                Some(Value::Array(a)) => {
                    if a.len() > MAX_KEYWORDS {
                        return Err(RuleError::new(&field, format!("has more than {MAX_KEYWORDS} entries")));
                    }
                    a.iter()
                        .enumerate()
                        .map(|(i, s)| match s.as_str().map(str::trim) {
                            Some(s) if !s.is_empty() && s.len() <= MAX_PATTERN => Ok(s.to_string()),
                            _ => Err(RuleError::new(
                                format!("{field}[{i}]"),
                                format!("must be a non-empty string of at most {MAX_PATTERN} bytes"),
                            )),
                        })
                        .collect()
                }
                Some(_) => Err(RuleError::new(&field, "must be a list of strings")),
            }
        };
        let regex = match obj.get("regex") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(RuleError::new("filters.regex", "must be true or false")),
        };
        let media = strings("media")?
            .iter()
            .enumerate()
            .map(|(i, m)| {
                MediaKind::parse(m).ok_or_else(|| {
                    let known: Vec<_> = MediaKind::ALL.iter().map(|k| k.as_str()).collect();
                    RuleError::new(
                        format!("filters.media[{i}]"),
                        format!("{m:?} is not a media type (known: {})", known.join(", ")),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let replace = match obj.get("replace") {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let field = format!("filters.replace[{i}]");
                    let from = r
                        .get("from")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty() && s.len() <= MAX_PATTERN);
                    let to = r.get("to").and_then(Value::as_str).filter(|s| s.len() <= MAX_PATTERN);
                    match (from, to) {
                        (Some(from), Some(to)) => Ok(Replacement {
                            from: from.into(),
                            to: to.into(),
                        }),
                        (None, _) => Err(RuleError::new(format!("{field}.from"), "must be a non-empty string")),
                        (_, None) => Err(RuleError::new(format!("{field}.to"), "must be a string (may be empty)")),
                    }
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(RuleError::new(
                    "filters.replace",
                    "must be a list of {\"from\", \"to\"}",
                ))
            }
        };
        let affix = |name: &str| -> Result<Option<String>, RuleError> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) if s.len() <= MAX_AFFIX => Ok(Some(s.clone())),
                Some(_) => Err(RuleError::new(
                    format!("filters.{name}"),
                    format!("must be a string of at most {MAX_AFFIX} bytes"),
                )),
            }
        };
        Ok(Self {
            include: strings("include")?,
            exclude: strings("exclude")?,
            regex,
            media,
            replace,
            header: affix("header")?,
            footer: affix("footer")?,
        })
    }

    /// Whether the forwarded text can differ from the source's.
    pub fn changes_content(&self) -> bool {
        !self.replace.is_empty() || self.header.is_some() || self.footer.is_some()
    }
}

/// Compiled filters: patterns are checked once, when the rule is parsed.
#[derive(Clone, Debug)]
pub struct Filters {
    spec: FiltersSpec,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    replace: Vec<(Regex, String)>,
}

/// What the filters decided for one message (or album).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Dropped, with the step that dropped it (for metrics and logs).
    Filtered(&'static str),
    /// Deliver; `text` is `Some` when the filters changed the text/caption.
    Deliver { text: Option<String> },
}

impl Filters {
    pub fn compile(spec: FiltersSpec) -> Result<Self, RuleError> {
        let keyword = |list: &[String], name: &str| -> Result<Vec<Regex>, RuleError> {
            list.iter()
                .enumerate()
                .map(|(i, k)| {
                    let pattern = if spec.regex { k.clone() } else { whole_word(k) };
                    build(&pattern).map_err(|e| RuleError::new(format!("filters.{name}[{i}]"), e))
                })
                .collect()
        };
        let include = keyword(&spec.include, "include")?;
        let exclude = keyword(&spec.exclude, "exclude")?;
        let replace = spec
            .replace
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let pattern = if spec.regex {
                    r.from.clone()
                } else {
                    regex::escape(&r.from)
                };
                // Plain replacements are literal on both sides: `$` in `to` is not a group reference.
                let to = if spec.regex {
                    r.to.clone()
                } else {
                    r.to.replace('$', "$$")
                };
                build(&pattern)
                    .map(|re| (re, to))
                    .map_err(|e| RuleError::new(format!("filters.replace[{i}].from"), e))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            spec,
            include,
            exclude,
            replace,
        })
    }

    pub fn spec(&self) -> &FiltersSpec {
        &self.spec
    }

    /// Steps 1–5 for one message; `kinds` are the media kinds present (one,
    /// or each item of an album), `text` the text or (first) caption.
    pub fn apply(&self, kinds: &[MediaKind], text: Option<&str>) -> Verdict {
        let original = text.unwrap_or_default();
        if !self.include.is_empty() && !self.include.iter().any(|re| re.is_match(original)) {
            return Verdict::Filtered("include");
        }
        if self.exclude.iter().any(|re| re.is_match(original)) {
            return Verdict::Filtered("exclude");
        }
        if !self.spec.media.is_empty() && !kinds.iter().all(|k| self.spec.media.contains(k)) {
            return Verdict::Filtered("media");
        }
        if !self.spec.changes_content() {
            return Verdict::Deliver { text: None };
        }
        let mut out = original.to_string();
        for (re, to) in &self.replace {
            out = re.replace_all(&out, to.as_str()).into_owned();
        }
        let parts: Vec<&str> = [
            self.spec.header.as_deref(),
            Some(out.as_str()),
            self.spec.footer.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .collect();
        let out = parts.join("\n\n");
        if out == original {
            Verdict::Deliver { text: None }
        } else {
            Verdict::Deliver { text: Some(out) }
        }
    }
}

/// A literal keyword as a whole word: not preceded or followed by a word
/// character (so `#tag`, `c++` and phrases work too).
fn whole_word(keyword: &str) -> String {
    format!(r"(?:^|[^\w]){}(?:[^\w]|$)", regex::escape(keyword))
}

fn build(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            format!(
                "is not a valid regular expression: {}",
                e.to_string().lines().last().unwrap_or("invalid")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filters(v: Value) -> Filters {
        Filters::compile(FiltersSpec::from_json(&v).unwrap()).unwrap()
    }

    const TEXT: &[MediaKind] = &[MediaKind::Text];

    #[test]
    fn include_is_a_case_insensitive_whole_word_whitelist() {
        let f = filters(json!({"include": ["rust", "Новости"]}));
        assert_eq!(f.apply(TEXT, Some("We love RUST!")), Verdict::Deliver { text: None });
        assert_eq!(f.apply(TEXT, Some("новости дня")), Verdict::Deliver { text: None });
        assert_eq!(f.apply(TEXT, Some("rusty nails")), Verdict::Filtered("include"));
        assert_eq!(f.apply(TEXT, None), Verdict::Filtered("include"));
        // An empty whitelist lets everything through.
        assert_eq!(filters(json!({})).apply(TEXT, None), Verdict::Deliver { text: None });
    }

    #[test]
    fn include_and_exclude_look_at_captions_too() {
        let f = filters(json!({"include": ["launch"], "exclude": ["spoiler"]}));
        assert_eq!(
            f.apply(&[MediaKind::Photo], Some("Launch day")),
            Verdict::Deliver { text: None }
        );
        assert_eq!(
            f.apply(&[MediaKind::Photo], Some("launch SPOILER inside")),
            Verdict::Filtered("exclude")
        );
    }

    #[test]
    fn exclude_is_a_whole_word_blacklist_and_handles_symbols() {
        let f = filters(json!({"exclude": ["#ad", "c++"]}));
        assert_eq!(f.apply(TEXT, Some("new post #ad")), Verdict::Filtered("exclude"));
        assert_eq!(f.apply(TEXT, Some("I write C++ daily")), Verdict::Filtered("exclude"));
        assert_eq!(f.apply(TEXT, Some("#adventure time")), Verdict::Deliver { text: None });
    }

    #[test]
    fn regex_keywords() {
        let f = filters(json!({"regex": true, "include": [r"\bv\d+\.\d+\b"]}));
        assert_eq!(
            f.apply(TEXT, Some("Release V1.2 is out")),
            Verdict::Deliver { text: None }
        );
        assert_eq!(f.apply(TEXT, Some("no version")), Verdict::Filtered("include"));
        let bad = Filters::compile(FiltersSpec::from_json(&json!({"regex": true, "exclude": ["a", "[z-a]"]})).unwrap());
        assert_eq!(bad.unwrap_err().field, "filters.exclude[1]");
    }

    #[test]
    fn media_types_allow_list_covers_every_album_item() {
        let f = filters(json!({"media": ["photo", "video"]}));
        assert_eq!(
            f.apply(&[MediaKind::Photo, MediaKind::Video], None),
            Verdict::Deliver { text: None }
        );
        assert_eq!(f.apply(TEXT, Some("just text")), Verdict::Filtered("media"));
        assert_eq!(
            f.apply(&[MediaKind::Photo, MediaKind::Document], None),
            Verdict::Filtered("media")
        );
        assert_eq!(
            FiltersSpec::from_json(&json!({"media": ["hologram"]}))
                .unwrap_err()
                .field,
            "filters.media[0]"
        );
    }

    #[test]
    fn replacements_run_in_order_after_the_keyword_checks() {
        let f = filters(
            json!({"exclude": ["secret"], "replace": [{"from": "Foo", "to": "Bar"}, {"from": "bar", "to": "$baz"}]}),
        );
        // Literal, case-insensitive, applied in order; `$` is literal.
        assert_eq!(
            f.apply(TEXT, Some("foo!")),
            Verdict::Deliver {
                text: Some("$baz!".into())
            }
        );
        // Blacklist sees the original text.
        let g = filters(json!({"exclude": ["secret"], "replace": [{"from": "secret", "to": "public"}]}));
        assert_eq!(g.apply(TEXT, Some("a secret")), Verdict::Filtered("exclude"));
        let r = filters(json!({"regex": true, "replace": [{"from": r"(\d+) USD", "to": "$$$1"}]}));
        assert_eq!(
            r.apply(TEXT, Some("costs 5 usd")),
            Verdict::Deliver {
                text: Some("costs $5".into())
            }
        );
        assert_eq!(
            FiltersSpec::from_json(&json!({"replace": [{"to": "x"}]}))
                .unwrap_err()
                .field,
            "filters.replace[0].from"
        );
    }

    #[test]
    fn header_and_footer_wrap_the_text_last() {
        let f = filters(json!({"replace": [{"from": "a", "to": "b"}], "header": "📣 News", "footer": "— via Lodge"}));
        assert_eq!(
            f.apply(TEXT, Some("a")),
            Verdict::Deliver {
                text: Some("📣 News\n\nb\n\n— via Lodge".into())
            }
        );
        // A captionless photo gets just the header and footer as its caption.
        assert_eq!(
            f.apply(&[MediaKind::Photo], None),
            Verdict::Deliver {
                text: Some("📣 News\n\n— via Lodge".into())
            }
        );
    }

    #[test]
    fn unchanged_text_is_reported_as_unchanged() {
        let f = filters(json!({"replace": [{"from": "zzz", "to": "y"}]}));
        assert_eq!(f.apply(TEXT, Some("abc")), Verdict::Deliver { text: None });
    }

    #[test]
    fn unknown_filter_fields_are_named() {
        assert_eq!(
            FiltersSpec::from_json(&json!({"includes": ["x"]})).unwrap_err().field,
            "filters.includes"
        );
        assert_eq!(
            FiltersSpec::from_json(&json!({"include": [""]})).unwrap_err().field,
            "filters.include[0]"
        );
    }
}
