//! `@name` mentions in posts and comments, one code path for both: a body's
//! candidate handles are looked up in one parallel round of reads
//! (`store::handles`), then the pure renderer links the ones that exist to
//! the member's page and lists them, for the notifications issue. A handle
//! nobody holds stays text.

use std::collections::HashMap;

use crate::domain::{Member, MemberId};
use crate::markdown::{self, MentionTarget, Rendered};
use crate::store::{Store, StoreError};

/// Renders `body` with its `@handle`s resolved against the member handles.
pub async fn render(store: &Store, body: &str) -> Result<Rendered, StoreError> {
    let candidates = markdown::mention_candidates(body);
    let found = match candidates.is_empty() {
        true => HashMap::new(),
        false => store.handles().resolve(&candidates).await?,
    };
    Ok(render_with(body, found))
}

/// Renders `body` linking the handles in `found` (lower-cased handle →
/// member) to the members' pages.
pub fn render_with(body: &str, found: HashMap<String, MemberId>) -> Rendered {
    let targets: HashMap<String, MentionTarget> = found
        .into_iter()
        .map(|(h, member)| {
            let url = crate::web::paths::member(&member);
            (h, MentionTarget { member, url })
        })
        .collect();
    markdown::render(body, &targets)
}

/// Claims the writer's own handle the first time they write, so others can
/// mention them. A failure only delays it (logged, not returned).
pub async fn claim_handle(store: &Store, member: &Member) {
    if member.handle.is_none() {
        if let Err(e) = store.handles().ensure(member).await {
            tracing::warn!(error = %e, "could not claim a handle");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_handle_links_to_the_member_and_is_recorded_an_unknown_one_stays_text() {
        let ada = MemberId::parse(&"a".repeat(32)).unwrap();
        let body = "Thanks @AdaL and @nobody, `@adal`";
        assert_eq!(markdown::mention_candidates(body), ["adal", "nobody"]);
        let out = render_with(body, [("adal".to_string(), ada.clone())].into_iter().collect());
        let link = format!(r#"<a class="mention" href="/members/{ada}""#);
        assert_eq!(out.html.matches(&link).count(), 1, "{}", out.html);
        assert!(
            out.html.contains("@nobody") && !out.html.contains("/members/nobody"),
            "{}",
            out.html
        );
        assert!(out.html.contains("<code>@adal</code>"), "{}", out.html);
        assert_eq!(out.mentions.len(), 1);
        assert_eq!(
            (&out.mentions[0].member, out.mentions[0].handle.as_str()),
            (&ada, "adal")
        );
    }
}
