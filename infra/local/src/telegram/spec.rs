//! Telegram's published Bot API contract, from the vendored spec
//! (`infra/local/telegram/bot-api-10.1.json`): which methods exist, which
//! parameters each requires, the type of each, and the limits the spec states
//! in prose ("1-4096 characters after entities parsing", "1-64 bytes").

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;

use super::html;

const SPEC_JSON: &str = include_str!("../../telegram/bot-api-10.1.json");

#[derive(Deserialize)]
struct RawSpec {
    version: String,
    methods: HashMap<String, RawMethod>,
    types: HashMap<String, RawType>,
}

#[derive(Deserialize)]
struct RawMethod {
    name: String,
    #[serde(default)]
    fields: Vec<RawField>,
    #[serde(default)]
    returns: Vec<String>,
}

#[derive(Deserialize)]
struct RawType {
    #[serde(default)]
    fields: Vec<RawField>,
    #[serde(default)]
    subtypes: Vec<String>,
    #[serde(default)]
    subtype_of: Vec<String>,
}

#[derive(Deserialize)]
struct RawField {
    name: String,
    types: Vec<String>,
    required: bool,
    description: String,
}

/// A parameter or field type as the spec writes it ("Array of Array of InlineKeyboardButton").
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Integer,
    Float,
    String,
    Boolean,
    /// An upload or a file_id/URL; the fake takes the string forms only.
    InputFile,
    Array(Box<Ty>),
    Object(String),
}

impl Ty {
    fn parse(s: &str) -> Ty {
        match s {
            "Integer" => Ty::Integer,
            "Float" => Ty::Float,
            "String" => Ty::String,
            "Boolean" => Ty::Boolean,
            "InputFile" => Ty::InputFile,
            _ => match s.strip_prefix("Array of ") {
                Some(inner) => Ty::Array(Box::new(Ty::parse(inner))),
                None => Ty::Object(s.to_string()),
            },
        }
    }

    fn name(&self) -> String {
        match self {
            Ty::Integer => "Integer".into(),
            Ty::Float => "Float".into(),
            Ty::String => "String".into(),
            Ty::Boolean => "Boolean".into(),
            Ty::InputFile => "InputFile".into(),
            Ty::Array(inner) => format!("Array of {}", inner.name()),
            Ty::Object(name) => name.clone(),
        }
    }
}

/// A limit the spec states in a field's description.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    /// "0-1024 characters after entities parsing": counted on the visible text.
    Visible(usize, usize),
    /// "1-32 characters".
    Chars(usize, usize),
    /// "1-64 bytes".
    Bytes(usize, usize),
    /// "A JSON-serialized list of 1-100 identifiers", "2-10 items".
    Items(usize, usize),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub types: Vec<Ty>,
    pub required: bool,
    pub bound: Option<Bound>,
}

#[derive(Debug)]
pub struct Method {
    pub name: String,
    pub fields: Vec<Field>,
    pub returns: Vec<String>,
}

#[derive(Debug, Default)]
pub struct TypeDef {
    pub fields: Vec<Field>,
    pub subtypes: Vec<String>,
    /// The `type` a union member must carry ("Type of the media, must be photo").
    pub tag: Option<String>,
}

pub struct Spec {
    pub version: String,
    /// By lower-case name: Telegram matches method names case-insensitively.
    methods: HashMap<String, Method>,
    pub types: HashMap<String, TypeDef>,
}

/// Why Telegram refuses a request: status and `description`.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub description: String,
    /// Found inside a value that had the right shape (so among alternative
    /// types, this is the one the caller meant).
    deep: bool,
}

impl Refusal {
    pub fn bad_request(reason: impl std::fmt::Display) -> Self {
        Self {
            status: 400,
            description: format!("Bad Request: {reason}"),
            deep: false,
        }
    }
}

pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| Spec::parse(SPEC_JSON).expect("the vendored Bot API spec parses"))
}

/// The bound a description states, if any. Descriptions write ranges as `N-M <unit>`.
fn bound(description: &str) -> Option<Bound> {
    let words: Vec<&str> = description.split_whitespace().collect();
    words.windows(2).enumerate().find_map(|(i, w)| {
        let (lo, hi) = w[0].split_once('-')?;
        let (lo, hi) = (lo.parse().ok()?, hi.parse().ok()?);
        let unit = w[1].trim_end_matches([',', '.', ';', ')']);
        let after_parsing = words
            .get(i + 2..i + 5)
            .is_some_and(|rest| rest.join(" ").starts_with("after entit"));
        match unit {
            "characters" if after_parsing => Some(Bound::Visible(lo, hi)),
            "characters" => Some(Bound::Chars(lo, hi)),
            "bytes" => Some(Bound::Bytes(lo, hi)),
            "identifiers" | "items" | "elements" => Some(Bound::Items(lo, hi)),
            _ => None,
        }
    })
}

fn field(raw: RawField) -> Field {
    Field {
        bound: bound(&raw.description),
        types: raw.types.iter().map(|t| Ty::parse(t)).collect(),
        name: raw.name,
        required: raw.required,
    }
}

impl Spec {
    fn parse(json: &str) -> Result<Spec, String> {
        let raw: RawSpec = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let methods = raw
            .methods
            .into_values()
            .map(|m| {
                let method = Method {
                    fields: m.fields.into_iter().map(field).collect(),
                    returns: m.returns,
                    name: m.name,
                };
                (method.name.to_ascii_lowercase(), method)
            })
            .collect();
        let types = raw
            .types
            .into_iter()
            .map(|(name, t)| {
                let member = !t.subtype_of.is_empty();
                let tag = t.fields.iter().find(|f| member && f.name == "type").and_then(|f| {
                    let (_, rest) = f
                        .description
                        .split_once("must be ")
                        .or_else(|| f.description.split_once("always "))?;
                    let word = rest.split_whitespace().next()?;
                    Some(
                        word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                            .to_string(),
                    )
                });
                let def = TypeDef {
                    fields: t.fields.into_iter().map(field).collect(),
                    subtypes: t.subtypes,
                    tag,
                };
                (name, def)
            })
            .collect();
        Ok(Spec {
            version: raw.version,
            methods,
            types,
        })
    }

    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.get(&name.to_ascii_lowercase())
    }

    pub fn methods(&self) -> impl Iterator<Item = &Method> {
        self.methods.values()
    }

    /// Checks an object Telegram sends (an `Update`) against the spec's type `name`.
    pub fn check_type(&self, name: &str, v: &Value) -> Result<(), Refusal> {
        self.object(v, name, name)
    }

    /// Checks `params` against `method`: every required parameter present,
    /// every value of its type, every stated bound kept. Values arrive as JSON
    /// or, from a form, as strings; Telegram reads both.
    pub fn check(&self, method: &Method, params: &Value) -> Result<(), Refusal> {
        let empty = serde_json::Map::new();
        let params = params.as_object().unwrap_or(&empty);
        for f in &method.fields {
            match params.get(&f.name).filter(|v| !v.is_null()) {
                None if f.required => return Err(missing(&f.name, true)),
                None => {}
                Some(v) => self.value(v, f, &f.name, params, true)?,
            }
        }
        Ok(())
    }

    fn value(
        &self,
        v: &Value,
        f: &Field,
        path: &str,
        siblings: &serde_json::Map<String, Value>,
        top: bool,
    ) -> Result<(), Refusal> {
        let mut errors = Vec::new();
        for ty in &f.types {
            match self.of_type(v, ty, path) {
                Ok(()) => {
                    return match f.bound {
                        Some(b) => self.bounded(v, b, &f.name, path, siblings, top),
                        None => Ok(()),
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        Err(pick(errors, || {
            wrong_type(path, &f.types.iter().map(Ty::name).collect::<Vec<_>>().join(" or "))
        }))
    }

    fn of_type(&self, v: &Value, ty: &Ty, path: &str) -> Result<(), Refusal> {
        let ok = match ty {
            Ty::Integer => v.as_i64().is_some() || v.as_str().is_some_and(|s| s.trim().parse::<i64>().is_ok()),
            Ty::Float => v.is_number() || v.as_str().is_some_and(|s| s.trim().parse::<f64>().is_ok()),
            // Telegram reads a number as its decimal text; a JSON object is not a string.
            Ty::String | Ty::InputFile => v.is_string() || v.is_number(),
            Ty::Boolean => v.is_boolean() || v.as_str().is_some_and(|s| matches!(s, "true" | "false" | "1" | "0")),
            Ty::Array(inner) => {
                let parsed = json_in(v);
                let Some(items) = parsed.as_ref().and_then(Value::as_array) else {
                    return Err(wrong_type(path, &ty.name()));
                };
                for (i, item) in items.iter().enumerate() {
                    self.of_type(item, inner, &format!("{path}[{i}]")).map_err(deeper)?;
                }
                true
            }
            Ty::Object(name) => return self.object(v, name, path),
        };
        if ok {
            Ok(())
        } else {
            Err(wrong_type(path, &ty.name()))
        }
    }

    fn object(&self, v: &Value, name: &str, path: &str) -> Result<(), Refusal> {
        let Some(def) = self.types.get(name) else {
            return Err(wrong_type(path, name));
        };
        if !def.subtypes.is_empty() {
            // A union (InputMedia, BotCommandScope…): the member its `type` names.
            let mut errors = Vec::new();
            for sub in &def.subtypes {
                // A member may be a plain type (RichText is a String or an object).
                match self.of_type(v, &Ty::parse(sub), path) {
                    Ok(()) => return Ok(()),
                    Err(e) => errors.push(e),
                }
            }
            return Err(pick(errors, || wrong_type(path, name)));
        }
        let parsed = json_in(v);
        let Some(obj) = parsed.as_ref().and_then(Value::as_object) else {
            return Err(wrong_type(path, name));
        };
        // A member of a union ("type": "photo") only matches its own tag.
        if let Some(tag) = &def.tag {
            if obj.get("type").and_then(Value::as_str) != Some(tag.as_str()) {
                return Err(wrong_type(path, name));
            }
        }
        for f in &def.fields {
            let sub = format!("{path}.{}", f.name);
            match obj.get(&f.name).filter(|v| !v.is_null()) {
                // Past a matching tag, a missing field is this member's fault.
                None if f.required && def.tag.is_some() => return Err(deeper(missing(&sub, false))),
                None if f.required => return Err(missing(&sub, false)),
                None => {}
                Some(x) => self.value(x, f, &sub, obj, false).map_err(deeper)?,
            }
        }
        if name == "InlineKeyboardMarkup" {
            let buttons: usize = obj
                .get("inline_keyboard")
                .and_then(Value::as_array)
                .map(|rows| rows.iter().filter_map(Value::as_array).map(Vec::len).sum())
                .unwrap_or_default();
            // Telegram's limit, stated nowhere in the spec: 100 buttons per keyboard.
            if buttons > 100 {
                return Err(deeper(Refusal::bad_request("reply markup is too long")));
            }
        }
        if name == "InlineKeyboardButton" && obj.len() == 1 {
            return Err(deeper(Refusal::bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
            )));
        }
        Ok(())
    }

    fn bounded(
        &self,
        v: &Value,
        bound: Bound,
        name: &str,
        path: &str,
        siblings: &serde_json::Map<String, Value>,
        top: bool,
    ) -> Result<(), Refusal> {
        let text = || match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match bound {
            Bound::Visible(lo, hi) => {
                let raw = text();
                let mode = siblings
                    .get(&format!("{name}_parse_mode"))
                    .or_else(|| siblings.get("parse_mode"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let visible = match mode.to_ascii_lowercase().as_str() {
                    // Markdown is not parsed: its raw length bounds the visible one.
                    "" | "markdown" | "markdownv2" => raw,
                    "html" => {
                        html::parse(&raw).map_err(|e| Refusal::bad_request(format!("can't parse entities: {e}")))?
                    }
                    _ => return Err(Refusal::bad_request("unsupported parse_mode")),
                };
                // Telegram trims the text, then counts UTF-16 code units (as its entity offsets do).
                let len = visible.trim().encode_utf16().count();
                let (is_text, is_caption) = (name == "text" && top, name == "caption");
                if len < lo {
                    return Err(Refusal::bad_request(if is_text {
                        "message text is empty".to_string()
                    } else {
                        format!("{path} must be non-empty")
                    }));
                }
                if len > hi {
                    return Err(Refusal::bad_request(match (is_text, is_caption) {
                        (true, _) => "message is too long".to_string(),
                        (_, true) => "message caption is too long".to_string(),
                        _ => format!("{path} is too long: {len} characters, at most {hi}"),
                    }));
                }
            }
            Bound::Chars(lo, hi) => {
                let len = text().chars().count();
                if len < lo || len > hi {
                    return Err(Refusal::bad_request(format!(
                        "{path} must be {lo}-{hi} characters, not {len}"
                    )));
                }
            }
            Bound::Bytes(lo, hi) => {
                let len = text().len();
                if len < lo || len > hi {
                    return Err(Refusal::bad_request(if name == "callback_data" {
                        "BUTTON_DATA_INVALID".to_string()
                    } else {
                        format!("{path} must be {lo}-{hi} bytes, not {len}")
                    }));
                }
            }
            Bound::Items(lo, hi) => {
                let n = json_in(v).as_ref().and_then(Value::as_array).map_or(0, Vec::len);
                if n < lo || n > hi {
                    return Err(Refusal::bad_request(format!(
                        "{path} must hold {lo}-{hi} items, not {n}"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A JSON value, or the JSON a form field holds as text (Telegram takes both).
pub fn json_in(v: &Value) -> Option<Value> {
    match v {
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

fn deeper(mut e: Refusal) -> Refusal {
    e.deep = true;
    e
}

/// Of the errors alternative types gave, the one from inside a value of the right shape.
fn pick(errors: Vec<Refusal>, otherwise: impl FnOnce() -> Refusal) -> Refusal {
    let single = errors.len() == 1;
    let mut errors = errors.into_iter();
    match errors.clone().find(|e| e.deep) {
        Some(e) => e,
        None if single => errors.next().unwrap_or_else(otherwise),
        None => otherwise(),
    }
}

fn missing(path: &str, top: bool) -> Refusal {
    match path {
        "chat_id" if top => Refusal::bad_request("chat_id is empty"),
        "text" if top => Refusal::bad_request("message text is empty"),
        _ if top => Refusal::bad_request(format!("parameter \"{path}\" is required")),
        _ => Refusal::bad_request(format!("field \"{path}\" is required")),
    }
}

fn wrong_type(path: &str, ty: &str) -> Refusal {
    Refusal::bad_request(format!("field \"{path}\" must be of type {ty}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(method: &str, params: Value) -> Result<(), Refusal> {
        let s = spec();
        s.check(s.method(method).unwrap(), &params)
    }

    fn bad(method: &str, params: Value) -> String {
        check(method, params).unwrap_err().description
    }

    #[test]
    fn every_method_and_type_in_the_spec_parses() {
        let s = spec();
        assert_eq!(s.version, "Bot API 10.1");
        assert!(s.methods().count() >= 180, "{}", s.methods().count());
        fn known(s: &Spec, ty: &Ty) -> bool {
            match ty {
                Ty::Array(inner) => known(s, inner),
                Ty::Object(name) => s.types.contains_key(name),
                _ => true,
            }
        }
        for m in s.methods() {
            assert!(!m.returns.is_empty(), "{} returns something", m.name);
            for f in &m.fields {
                assert!(!f.types.is_empty(), "{}.{}", m.name, f.name);
                for t in &f.types {
                    assert!(known(s, t), "{}.{}: {t:?} is not in types", m.name, f.name);
                }
            }
        }
        for (name, t) in &s.types {
            for sub in &t.subtypes {
                assert!(known(s, &Ty::parse(sub)), "{name} → {sub}");
            }
            for f in &t.fields {
                for ty in &f.types {
                    assert!(known(s, ty), "{name}.{}: {ty:?}", f.name);
                }
            }
        }
    }

    #[test]
    fn limits_are_read_from_the_descriptions() {
        let s = spec();
        let bound_of = |m: &str, f: &str| s.method(m).unwrap().fields.iter().find(|x| x.name == f).unwrap().bound;
        assert_eq!(bound_of("sendMessage", "text"), Some(Bound::Visible(1, 4096)));
        assert_eq!(bound_of("sendPhoto", "caption"), Some(Bound::Visible(0, 1024)));
        assert_eq!(bound_of("copyMessages", "message_ids"), Some(Bound::Items(1, 100)));
        assert_eq!(bound_of("answerCallbackQuery", "text"), Some(Bound::Chars(0, 200)));
        let button = &s.types["InlineKeyboardButton"];
        let data = button.fields.iter().find(|f| f.name == "callback_data").unwrap();
        assert_eq!(data.bound, Some(Bound::Bytes(1, 64)));
    }

    #[test]
    fn requests_telegram_accepts_pass() {
        check("sendMessage", json!({"chat_id": 42, "text": "hi"})).unwrap();
        check(
            "sendMessage",
            json!({"chat_id": "@club", "text": "<b>hi</b>", "parse_mode": "HTML"}),
        )
        .unwrap();
        // From a form, every value is a string; objects are JSON text.
        check(
            "sendMessage",
            json!({"chat_id": "42", "text": "hi", "disable_notification": "true",
                   "reply_markup": "{\"inline_keyboard\":[[{\"text\":\"a\",\"callback_data\":\"x\"}]]}"}),
        )
        .unwrap();
        check(
            "copyMessages",
            json!({"chat_id": -100, "from_chat_id": -200, "message_ids": [1, 2, 3]}),
        )
        .unwrap();
        check(
            "sendMediaGroup",
            json!({"chat_id": 1, "media": [{"type": "photo", "media": "fileid1", "caption": "c"}, {"type": "photo", "media": "fileid2"}]}),
        )
        .unwrap();
        check("getMe", json!({})).unwrap();
        check(
            "answerCallbackQuery",
            json!({"callback_query_id": "abc", "text": "Done"}),
        )
        .unwrap();
        // A text with entities counts what Telegram shows: 4096 visible characters pass.
        let long = format!("<b>{}</b>", "x".repeat(4096));
        check("sendMessage", json!({"chat_id": 1, "text": long, "parse_mode": "HTML"})).unwrap();
    }

    #[test]
    fn what_telegram_refuses_is_refused_with_its_description() {
        assert_eq!(
            bad("sendMessage", json!({"text": "hi"})),
            "Bad Request: chat_id is empty"
        );
        assert_eq!(
            bad("sendMessage", json!({"chat_id": 1})),
            "Bad Request: message text is empty"
        );
        assert_eq!(
            bad("sendMessage", json!({"chat_id": 1, "text": "  "})),
            "Bad Request: message text is empty"
        );
        assert_eq!(
            bad("copyMessage", json!({"chat_id": 1, "from_chat_id": 2})),
            "Bad Request: parameter \"message_id\" is required"
        );
        assert_eq!(
            bad(
                "copyMessage",
                json!({"chat_id": 1, "from_chat_id": 2, "message_id": "seven"})
            ),
            "Bad Request: field \"message_id\" must be of type Integer"
        );
        assert_eq!(
            bad("sendMessage", json!({"chat_id": [1], "text": "x"})),
            "Bad Request: field \"chat_id\" must be of type Integer or String"
        );
        assert_eq!(
            bad("sendMessage", json!({"chat_id": 1, "text": "x".repeat(4097)})),
            "Bad Request: message is too long"
        );
        assert_eq!(
            bad(
                "sendPhoto",
                json!({"chat_id": 1, "photo": "id", "caption": "x".repeat(1025)})
            ),
            "Bad Request: message caption is too long"
        );
        assert_eq!(
            bad(
                "sendMessage",
                json!({"chat_id": 1, "text": "<b>x", "parse_mode": "HTML"})
            ),
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
        );
        assert_eq!(
            bad(
                "sendMessage",
                json!({"chat_id": 1, "text": "x", "parse_mode": "BBCode"})
            ),
            "Bad Request: unsupported parse_mode"
        );
        let button = |data: &str| json!({"inline_keyboard": [[{"text": "a", "callback_data": data}]]});
        assert_eq!(
            bad(
                "sendMessage",
                json!({"chat_id": 1, "text": "x", "reply_markup": button(&"d".repeat(65))})
            ),
            "Bad Request: BUTTON_DATA_INVALID"
        );
        check(
            "sendMessage",
            json!({"chat_id": 1, "text": "x", "reply_markup": button(&"d".repeat(64))}),
        )
        .unwrap();
        let row: Vec<Value> = (0..101)
            .map(|i| json!({"text": "b", "callback_data": i.to_string()}))
            .collect();
        assert_eq!(
            bad(
                "sendMessage",
                json!({"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [row]}})
            ),
            "Bad Request: reply markup is too long"
        );
        assert_eq!(
            bad(
                "sendMessage",
                json!({"chat_id": 1, "text": "x", "reply_markup": {"inline_keyboard": [[{"text": "b"}]]}})
            ),
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        );
        let ids: Vec<i64> = (1..=101).collect();
        assert_eq!(
            bad(
                "copyMessages",
                json!({"chat_id": 1, "from_chat_id": 2, "message_ids": ids})
            ),
            "Bad Request: message_ids must hold 1-100 items, not 101"
        );
        assert_eq!(
            bad(
                "answerCallbackQuery",
                json!({"callback_query_id": "q", "text": "x".repeat(201)})
            ),
            "Bad Request: text must be 0-200 characters, not 201"
        );
    }
}
