//! The Telegram Login Widget's redirect (`GET /auth/telegram?id=…&hash=…`):
//! its query fields into `widget::verify`. Forged data must never verify;
//! the same fields signed with the bot token must never fail the signature.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use lodge::config::Secret;
use lodge::telegram::widget::{self, WidgetError, MAX_AGE_SECS};

const NOW: i64 = 1_795_255_200;

fuzz_target!(|data: &[u8]| {
    // API Gateway hands the function the decoded query string parameters.
    let mut fields: BTreeMap<String, String> = url::form_urlencoded::parse(data).into_owned().collect();
    fields.remove("state");
    let token = Secret::new("123456:ABC-fuzz-token");

    let forged = widget::verify(&fields, &token, NOW);
    if let Ok(user) = &forged {
        // Only a hash from the token itself verifies; the fuzzer cannot know it
        // unless it copied a signed seed.
        assert_eq!(
            fields.get("hash").map(|h| h.to_ascii_lowercase()),
            Some(widget::sign(&fields, &token))
        );
        assert_eq!(Some(&user.id), fields.get("id").and_then(|v| v.parse().ok()).as_ref());
    }

    fields.insert("hash".into(), widget::sign(&fields, &token));
    match widget::verify(&fields, &token, NOW) {
        Ok(user) => {
            assert!(NOW - user.auth_date <= MAX_AGE_SECS);
            assert_eq!(Some(&user.id), fields.get("id").and_then(|v| v.parse().ok()).as_ref());
            assert_eq!(user.username.as_ref(), fields.get("username"));
        }
        Err(WidgetError::BadSignature) => panic!("our own signature was refused: {fields:?}"),
        Err(WidgetError::Incomplete | WidgetError::Stale) => {}
    }
    // Any change to a signed field breaks the signature.
    if let Some((k, v)) = fields.iter().find(|(k, _)| k.as_str() != "hash") {
        let mut tampered = fields.clone();
        tampered.insert(k.clone(), format!("{v}x"));
        assert_eq!(
            widget::verify(&tampered, &token, NOW).err(),
            Some(WidgetError::BadSignature)
        );
    }
});
