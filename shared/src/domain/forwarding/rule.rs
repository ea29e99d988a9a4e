//! A forwarding rule, parsed from admin JSON into a value that cannot be
//! invalid: at least one destination, none equal to the source, a known mode,
//! compiled filters. Every rejection names the field to fix.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::filters::{Filters, FiltersSpec};
pub use super::rule_error::RuleError;

/// `[A-Za-z0-9_-]{1,64}`: safe inside keys and URLs.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RuleId(String);

impl RuleId {
    pub fn generate() -> Self {
        Self(hex::encode(rand::random::<[u8; 8]>()))
    }
    pub fn parse(raw: &str) -> Result<Self, String> {
        if (1..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            Ok(Self(raw.to_string()))
        } else {
            Err("must be 1-64 characters of letters, digits, '-' or '_'".into())
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RuleId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}
impl From<RuleId> for String {
    fn from(v: RuleId) -> String {
        v.0
    }
}
impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule#{}", self.0)
    }
}

/// A Telegram chat id (channels and supergroups are `-100…`). Never 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct TelegramChatId(i64);

impl TelegramChatId {
    pub fn new(id: i64) -> Result<Self, String> {
        if id == 0 {
            Err("must be a Telegram chat id (e.g. -1001234567890), not 0".into())
        } else {
            Ok(Self(id))
        }
    }
    pub fn get(self) -> i64 {
        self.0
    }
}
impl TryFrom<i64> for TelegramChatId {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        Self::new(v)
    }
}
impl From<TelegramChatId> for i64 {
    fn from(c: TelegramChatId) -> i64 {
        c.0
    }
}
impl fmt::Display for TelegramChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A chat, or one forum topic of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Destination {
    pub chat_id: TelegramChatId,
    #[serde(default)]
    pub thread_id: Option<i64>,
}

impl Destination {
    /// Stable text form for keys: `<chat>` or `<chat>:<thread>`.
    pub fn key(&self) -> String {
        match self.thread_id {
            Some(t) => format!("{}:{t}", self.chat_id),
            None => self.chat_id.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `forwardMessage`: the copy shows "Forwarded from …".
    Forward,
    /// `copyMessage`: no attribution; filters may change the text.
    Copy,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Forward => "forward",
            Mode::Copy => "copy",
        }
    }
}

/// Set by the forwarder when a destination refuses the bot for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broken {
    pub reason: String,
    pub destination: Destination,
    pub at: i64,
}

/// A valid rule. Build it with `ForwardRule::from_json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "StoredRule", into = "StoredRule")]
pub struct ForwardRule {
    pub id: RuleId,
    pub source_chat_id: TelegramChatId,
    pub destinations: Vec<Destination>,
    pub mode: Mode,
    pub fallback_to_copy: bool,
    pub filters: Filters,
    pub enabled: bool,
    pub broken: Option<Broken>,
}

pub const MAX_DESTINATIONS: usize = 50;

impl ForwardRule {
    /// Parses the admin JSON. `id` comes from the path or is generated;
    /// an `id` in the body must agree with it.
    pub fn from_json(id: RuleId, body: &Value) -> Result<Self, RuleError> {
        let obj = body
            .as_object()
            .ok_or_else(|| RuleError::new("body", "must be a JSON object"))?;
        const KNOWN: [&str; 8] = [
            "id",
            "source_chat_id",
            "destinations",
            "mode",
            "fallback_to_copy",
            "filters",
            "enabled",
            "broken",
        ];
        if let Some(extra) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(RuleError::new(extra.as_str(), "is not a rule field"));
        }
        if let Some(given) = obj.get("id").filter(|v| !v.is_null()) {
            let given = given.as_str().ok_or_else(|| RuleError::new("id", "must be a string"))?;
            if given != id.as_str() {
                return Err(RuleError::new(
                    "id",
                    format!("{given:?} does not match the rule being written ({id})"),
                ));
            }
        }
        let source = chat_id(obj.get("source_chat_id"), "source_chat_id")?;
        let mode = match obj.get("mode") {
            None | Some(Value::Null) => return Err(RuleError::new("mode", "is required: \"forward\" or \"copy\"")),
            Some(Value::String(m)) if m == "forward" => Mode::Forward,
            Some(Value::String(m)) if m == "copy" => Mode::Copy,
            Some(other) => {
                return Err(RuleError::new(
                    "mode",
                    format!("must be \"forward\" or \"copy\", not {other}"),
                ))
            }
        };
        let dests = match obj.get("destinations") {
            None | Some(Value::Null) => {
                return Err(RuleError::new("destinations", "is required: at least one destination"))
            }
            Some(Value::Array(a)) => a,
            Some(_) => return Err(RuleError::new("destinations", "must be a list")),
        };
        if dests.is_empty() {
            return Err(RuleError::new("destinations", "needs at least one destination"));
        }
        if dests.len() > MAX_DESTINATIONS {
            return Err(RuleError::new(
                "destinations",
                format!("has more than {MAX_DESTINATIONS} entries"),
            ));
        }
        let mut destinations: Vec<Destination> = Vec::with_capacity(dests.len());
        for (i, d) in dests.iter().enumerate() {
            let field = format!("destinations[{i}]");
            let d = d
                .as_object()
                .ok_or_else(|| RuleError::new(&field, "must be an object {\"chat_id\": …, \"thread_id\": …}"))?;
            if let Some(extra) = d.keys().find(|k| *k != "chat_id" && *k != "thread_id") {
                return Err(RuleError::new(format!("{field}.{extra}"), "is not a destination field"));
            }
            let chat = chat_id(d.get("chat_id"), &format!("{field}.chat_id"))?;
            let thread_id = match d.get("thread_id") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_i64().filter(|t| *t > 0).ok_or_else(|| {
                    RuleError::new(
                        format!("{field}.thread_id"),
                        "must be a positive forum topic id or null",
                    )
                })?),
            };
            if chat == source {
                return Err(RuleError::new(
                    format!("{field}.chat_id"),
                    "is the source chat: a rule cannot forward a chat into itself",
                ));
            }
            let dest = Destination {
                chat_id: chat,
                thread_id,
            };
            if destinations.contains(&dest) {
                return Err(RuleError::new(&field, "is listed twice"));
            }
            destinations.push(dest);
        }
        let fallback_to_copy = boolean(obj.get("fallback_to_copy"), "fallback_to_copy", false)?;
        let enabled = boolean(obj.get("enabled"), "enabled", true)?;
        let spec = match obj.get("filters") {
            None | Some(Value::Null) => FiltersSpec::default(),
            Some(v) => FiltersSpec::from_json(v)?,
        };
        if mode == Mode::Forward && spec.changes_content() {
            let field = if !spec.replace.is_empty() {
                "filters.replace"
            } else if spec.header.is_some() {
                "filters.header"
            } else {
                "filters.footer"
            };
            return Err(RuleError::new(
                field,
                "changes the text, which only mode \"copy\" can do (a forward shows the original)",
            ));
        }
        let filters = Filters::compile(spec)?;
        Ok(Self {
            id,
            source_chat_id: source,
            destinations,
            mode,
            fallback_to_copy,
            filters,
            enabled,
            broken: None,
        })
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(StoredRule::from(self.clone())).expect("rules serialise")
    }

    /// Whether the ingestion should enqueue anything for it.
    pub fn is_active(&self) -> bool {
        self.enabled && self.broken.is_none()
    }
}

fn chat_id(v: Option<&Value>, field: &str) -> Result<TelegramChatId, RuleError> {
    match v {
        None | Some(Value::Null) => Err(RuleError::new(
            field,
            "is required (a Telegram chat id such as -1001234567890)",
        )),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| RuleError::new(field, "must be an integer chat id such as -1001234567890"))
            .and_then(|id| TelegramChatId::new(id).map_err(|e| RuleError::new(field, e))),
    }
}

fn boolean(v: Option<&Value>, field: &str, default: bool) -> Result<bool, RuleError> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(RuleError::new(field, "must be true or false")),
    }
}

/// The stored / API form: the same fields as the admin JSON, plus `broken`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredRule {
    pub id: RuleId,
    pub source_chat_id: TelegramChatId,
    pub destinations: Vec<Destination>,
    pub mode: Mode,
    pub fallback_to_copy: bool,
    pub filters: FiltersSpec,
    pub enabled: bool,
    #[serde(default)]
    pub broken: Option<Broken>,
}

impl From<ForwardRule> for StoredRule {
    fn from(r: ForwardRule) -> Self {
        Self {
            id: r.id,
            source_chat_id: r.source_chat_id,
            destinations: r.destinations,
            mode: r.mode,
            fallback_to_copy: r.fallback_to_copy,
            filters: r.filters.spec().clone(),
            enabled: r.enabled,
            broken: r.broken,
        }
    }
}

impl TryFrom<StoredRule> for ForwardRule {
    type Error = RuleError;
    fn try_from(s: StoredRule) -> Result<Self, RuleError> {
        Ok(Self {
            id: s.id,
            source_chat_id: s.source_chat_id,
            destinations: s.destinations,
            mode: s.mode,
            fallback_to_copy: s.fallback_to_copy,
            filters: Filters::compile(s.filters)?,
            enabled: s.enabled,
            broken: s.broken,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<ForwardRule, RuleError> {
        ForwardRule::from_json(RuleId::parse("r1").unwrap(), &v)
    }

    fn base() -> Value {
        json!({"source_chat_id": -1001, "destinations": [{"chat_id": -1002, "thread_id": null}], "mode": "copy"})
    }

    fn field_of(v: Value) -> String {
        parse(v).unwrap_err().field
    }

    #[test]
    fn minimal_rule_gets_defaults() {
        let r = parse(base()).unwrap();
        assert_eq!(r.mode, Mode::Copy);
        assert!(r.enabled && !r.fallback_to_copy && r.broken.is_none());
        assert_eq!(r.destinations[0].key(), "-1002");
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["filters"]["regex"], false);
        let again: ForwardRule = serde_json::from_value(back).unwrap();
        assert_eq!(again.destinations, r.destinations);
    }

    #[test]
    fn each_invalid_rule_names_its_field() {
        let mut v = base();
        v["mode"] = json!("teleport");
        assert_eq!(field_of(v), "mode");
        let mut v = base();
        v.as_object_mut().unwrap().remove("mode");
        assert_eq!(field_of(v), "mode");
        let mut v = base();
        v["destinations"] = json!([]);
        assert_eq!(field_of(v), "destinations");
        let mut v = base();
        v.as_object_mut().unwrap().remove("destinations");
        assert_eq!(field_of(v), "destinations");
        let mut v = base();
        v["destinations"] = json!([{"chat_id": -1001}]);
        assert_eq!(field_of(v), "destinations[0].chat_id");
        let mut v = base();
        v["filters"] = json!({"regex": true, "include": ["(unclosed"]});
        assert_eq!(field_of(v), "filters.include[0]");
        let mut v = base();
        v["source_chat_id"] = json!("abc");
        assert_eq!(field_of(v), "source_chat_id");
        let mut v = base();
        v["destinations"] = json!([{"chat_id": -1002}, {"chat_id": -1002}]);
        assert_eq!(field_of(v), "destinations[1]");
        let mut v = base();
        v["surprise"] = json!(1);
        assert_eq!(field_of(v), "surprise");
        let mut v = base();
        v["mode"] = json!("forward");
        v["filters"] = json!({"footer": "via Lodge"});
        assert_eq!(field_of(v), "filters.footer");
        let mut v = base();
        v["id"] = json!("other");
        assert_eq!(field_of(v), "id");
        let mut v = base();
        v["destinations"] = json!([{"chat_id": -1002, "thread_id": -3}]);
        assert_eq!(field_of(v), "destinations[0].thread_id");
    }

    #[test]
    fn same_chat_in_another_topic_is_still_the_source() {
        let mut v = base();
        v["destinations"] = json!([{"chat_id": -1001, "thread_id": 7}]);
        assert!(parse(v).unwrap_err().problem.contains("source chat"));
    }

    #[test]
    fn ids_are_key_safe() {
        assert!(RuleId::parse("news-to-club_1").is_ok());
        for bad in ["", "a#b", "a/b", &"x".repeat(65)] {
            assert!(RuleId::parse(bad).is_err(), "{bad}");
        }
    }
}
