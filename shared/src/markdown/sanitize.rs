//! The allow-list every rendered body passes through (ammonia). The renderer
//! already escapes raw HTML and drops bad URLs; this is the second wall, and
//! the list `audit` checks stored HTML against.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use ammonia::{Builder, UrlRelative};

/// Every element Markdown (with tables and strikethrough) can produce.
pub const TAGS: &[&str] = &[
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Attributes per element; their values are checked by `allowed_value`.
pub const ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "title", "class", "rel", "aria-hidden"]),
    ("img", &["src", "alt", "title"]),
    ("ol", &["start"]),
    ("code", &["class"]),
    ("th", &["style"]),
    ("td", &["style"]),
    ("h1", &["id"]),
    ("h2", &["id"]),
    ("h3", &["id"]),
    ("h4", &["id"]),
    ("h5", &["id"]),
    ("h6", &["id"]),
];

/// What every link gets: no SEO credit, marked user content, no `opener`.
pub const LINK_REL: &str = "nofollow ugc noopener";

/// Heading ids carry this prefix, so no id can clobber a page's own
/// (`id="csrf"`, `id="location"`).
pub const ID_PREFIX: &str = "h-";

/// Whether `value` is allowed for `attribute` on `element`. URLs are judged
/// by the sanitiser's scheme rules as well; this covers the rest.
pub fn allowed_value(element: &str, attribute: &str, value: &str) -> bool {
    match (element, attribute) {
        ("a", "class") => matches!(value, "mention" | "anchor"),
        ("a", "aria-hidden") => value == "true",
        ("a", "rel") => value == LINK_REL,
        ("a", "href") => super::urls::safe_href(value).is_some(),
        ("img", "src") => super::urls::safe_image(value).is_some(),
        ("code", "class") => value.strip_prefix("language-").is_some_and(|lang| {
            !lang.is_empty()
                && lang.len() <= 30
                && lang
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'#'))
        }),
        ("th" | "td", "style") => matches!(value, "text-align: left" | "text-align: center" | "text-align: right"),
        (_, "id") => value.starts_with(ID_PREFIX) && !value.contains(char::is_whitespace),
        ("ol", "start") => value.len() <= 9 && value.bytes().all(|b| b.is_ascii_digit()),
        _ => true,
    }
}

static SANITIZER: LazyLock<Builder<'static>> = LazyLock::new(|| {
    let attributes: HashMap<&str, HashSet<&str>> = ATTRIBUTES
        .iter()
        .map(|(tag, attrs)| (*tag, attrs.iter().copied().filter(|a| *a != "rel").collect()))
        .collect();
    let mut b = Builder::empty();
    b.tags(TAGS.iter().copied().collect())
        .clean_content_tags(["script", "style"].into_iter().collect())
        .tag_attributes(attributes)
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(UrlRelative::Custom(Box::new(same_site)))
        .attribute_filter(keep_allowed)
        .link_rel(Some(LINK_REL))
        .strip_comments(true);
    b
});

/// Relative URLs: same-site paths and fragments only (no `//host`, `/\\host`).
fn same_site(url: &str) -> Option<Cow<'_, str>> {
    let ok = (url.starts_with('#') || url.starts_with('/')) && super::urls::safe_href(url).is_some();
    ok.then_some(Cow::Borrowed(url))
}

fn keep_allowed<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    allowed_value(element, attribute, value).then_some(Cow::Borrowed(value))
}

/// `html` with everything outside the allow-list removed.
pub fn sanitize(html: &str) -> String {
    SANITIZER.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_markdown_html_and_drops_the_rest() {
        assert_eq!(
            sanitize(
                r#"<p onclick="x()">a <a href="https://a.org/" target="_blank">b</a></p><script>alert(1)</script>"#
            ),
            r#"<p>a <a href="https://a.org/" rel="nofollow ugc noopener">b</a></p>"#
        );
        assert_eq!(
            sanitize(r#"<img src="http://a.org/i.png" alt="x"><h2 id="csrf">t</h2><svg onload=alert(1)></svg>"#),
            r#"<img alt="x"><h2>t</h2>"#
        );
        assert_eq!(
            sanitize(r#"<a href="//evil.org">x</a>"#),
            r#"<a rel="nofollow ugc noopener">x</a>"#
        );
        assert_eq!(
            sanitize(concat!(
                r#"<table><tbody><tr><td style="color: red">x</td><td style="text-align: right">y</td></tr>"#,
                r#"</tbody></table><code class="language-rust">y</code><code class="x">z</code>"#
            )),
            concat!(
                r#"<table><tbody><tr><td>x</td><td style="text-align: right">y</td></tr></tbody></table>"#,
                r#"<code class="language-rust">y</code><code>z</code>"#
            )
        );
    }
}
