//! Which link and image addresses survive. Decided here, before HTML is
//! written, and checked again by the sanitiser.

/// What a browser ignores or strips in a URL: tabs and newlines anywhere,
/// control characters and spaces at the ends (`jav&#9;ascript:` is
/// `javascript:` to a browser).
fn as_browser_reads(dest: &str) -> String {
    let kept: String = dest.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    kept.trim_matches(|c: char| c <= ' ').to_string()
}

fn has_scheme(d: &str) -> bool {
    let name_len = d
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
        .count();
    name_len > 0 && d.as_bytes()[0].is_ascii_alphabetic() && d.as_bytes().get(name_len) == Some(&b':')
}

/// A link target: `http(s)://` with a host, `mailto:`, a same-site path
/// (`/members/…`) or a fragment (`#h-intro`). Anything else (`javascript:`,
/// `data:`, `vbscript:`, `//evil.org`, `/\evil.org`, relative paths) is `None`
/// and the link becomes plain text.
pub(crate) fn safe_href(dest: &str) -> Option<String> {
    let d = as_browser_reads(dest);
    if d.starts_with('#') {
        return Some(d);
    }
    if d.starts_with('/') {
        let b = d.as_bytes();
        return (b.get(1) != Some(&b'/') && !d.contains('\\')).then_some(d);
    }
    if !has_scheme(&d) {
        return None;
    }
    let url = url::Url::parse(&d).ok()?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some_and(|h| !h.is_empty()) => Some(url.to_string()),
        "mailto" => Some(url.to_string()),
        _ => None,
    }
}

/// An image: `https://` with a host only. Plain `http` images would make a
/// page mixed content, and `data:` images can carry SVG scripts.
pub(crate) fn safe_image(dest: &str) -> Option<String> {
    let url = url::Url::parse(&as_browser_reads(dest)).ok()?;
    (url.scheme() == "https" && url.host_str().is_some_and(|h| !h.is_empty())).then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_mail_and_same_site_links_survive() {
        assert_eq!(safe_href("https://a.org/x y").unwrap(), "https://a.org/x%20y");
        assert_eq!(safe_href("mailto:ada@b.org").unwrap(), "mailto:ada@b.org");
        assert_eq!(safe_href("/members/x").unwrap(), "/members/x");
        assert_eq!(safe_href("#h-intro").unwrap(), "#h-intro");
        for bad in [
            "javascript:alert(1)",
            " JaVaScRiPt:alert(1)",
            "jav\tascript:alert(1)",
            "java\nscript:alert(1)",
            "\u{1}javascript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html;base64,PHNjcmlwdD4=",
            "//evil.org",
            "/\\evil.org",
            "http:",
            "page.html",
            "",
            "ftp://a.org/",
        ] {
            assert_eq!(safe_href(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn images_are_https_only() {
        assert_eq!(safe_image("https://a.org/i.png").unwrap(), "https://a.org/i.png");
        for bad in [
            "http://a.org/i.png",
            "/i.png",
            "data:image/svg+xml,<svg onload=alert(1)>",
            "javascript:x",
        ] {
            assert_eq!(safe_image(bad), None, "{bad}");
        }
    }
}
