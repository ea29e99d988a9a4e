//! An admin's forwarding rule (`POST/PUT /api/forward-rules`): the JSON body
//! into `ForwardRule::from_json`. A rule that parses must re-parse from its
//! own JSON to the same rule, read back from its stored form, and its
//! filters must run on any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lodge::forwarding::rule::MAX_DESTINATIONS;
use lodge::forwarding::{ForwardRule, MediaKind, RuleId, Verdict};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // As the API does: the body's `id` names a new rule, else the path's.
    let id = match body.get("id").and_then(Value::as_str).map(RuleId::parse) {
        Some(Ok(id)) => id,
        Some(Err(_)) => return,
        None => RuleId::parse("r1").expect("a valid id"),
    };
    let Ok(rule) = ForwardRule::from_json(id.clone(), &body) else {
        return;
    };
    assert!(!rule.destinations.is_empty() && rule.destinations.len() <= MAX_DESTINATIONS);
    assert!(rule.destinations.iter().all(|d| d.chat_id != rule.source_chat_id));
    assert!(rule.is_active());

    let json = rule.to_json();
    let again = ForwardRule::from_json(id, &json).unwrap_or_else(|e| panic!("{json} does not re-parse: {e}"));
    assert_eq!(again.to_json(), json, "re-parsing changed the rule");
    let stored: ForwardRule = serde_json::from_value(json.clone()).expect("the stored form reads back");
    assert_eq!(stored.to_json(), json);

    // Texts the filters match: the rule's own keywords and patterns.
    let spec = rule.filters.spec();
    let own = [&spec.include[..], &spec.exclude[..]].concat().join(" ");
    let replaced: Vec<&str> = spec.replace.iter().map(|r| r.from.as_str()).collect();
    let samples = [own, replaced.join(" "), "Breaking news: c++ & $1 (spam?)".to_string()];
    for kinds in [&[MediaKind::Text][..], &[MediaKind::Photo, MediaKind::Video], &[]] {
        for t in samples.iter().map(|s| Some(s.as_str())).chain([None]) {
            if let Verdict::Deliver { text: Some(out) } = rule.filters.apply(kinds, t) {
                assert_ne!(Some(out.as_str()), t);
            }
        }
    }
});
