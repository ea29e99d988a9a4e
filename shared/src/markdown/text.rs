//! What plain Markdown text holds besides words: bare web addresses (GFM's
//! extended autolinks, which pulldown-cmark leaves to us) and `@handle`
//! mentions. Also heading slugs.

/// A run of a text node.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    /// `https://…`, trailing punctuation left out.
    Url(&'a str),
    /// The handle after `@`, as written.
    Mention(&'a str),
}

const MAX_HANDLE: usize = 32;

/// Splits `text` into plain runs, bare URLs and mentions. A URL or mention
/// must start a word: `ada@example.org` is an address, not a mention.
pub(crate) fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut plain_from = 0;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let starts_word = text[..i].chars().next_back().is_none_or(|c| !continues_word(c));
        let found = if !starts_word {
            None
        } else if starts_with_ignore_case(rest, "https://") || starts_with_ignore_case(rest, "http://") {
            bare_url(rest).map(Piece::Url)
        } else if let Some(after) = rest.strip_prefix('@') {
            handle(after).map(Piece::Mention)
        } else {
            None
        };
        match found {
            Some(piece) => {
                let len = match piece {
                    Piece::Url(u) => u.len(),
                    Piece::Mention(h) => h.len() + 1,
                    Piece::Text(_) => unreachable!(),
                };
                if plain_from < i {
                    out.push(Piece::Text(&text[plain_from..i]));
                }
                out.push(piece);
                i += len;
                plain_from = i;
            }
            None => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    if plain_from < text.len() {
        out.push(Piece::Text(&text[plain_from..]));
    }
    out
}

fn continues_word(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '@' | '.' | '/' | '+' | '-' | '=' | '&' | ':')
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

/// The URL at the start of `s`, as GFM delimits it: up to whitespace or `<`,
/// then trailing `?!.,:;*_~'"` and unbalanced `)` dropped.
fn bare_url(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '`'))
        .unwrap_or(s.len());
    let mut url = &s[..end];
    while let Some(last) = url.chars().next_back() {
        let unbalanced = last == ')' && url.matches(')').count() > url.matches('(').count();
        if matches!(last, '?' | '!' | '.' | ',' | ':' | ';' | '*' | '_' | '~' | '\'' | '"') || unbalanced {
            url = &url[..url.len() - 1];
        } else {
            break;
        }
    }
    let host = &url[url.find("://")? + 3..];
    (!host.is_empty() && !host.starts_with('/')).then_some(url)
}

/// `[A-Za-z0-9_]` then `[A-Za-z0-9_.-]`, at most 32, not ending in `.`/`-`.
fn handle(s: &str) -> Option<&str> {
    let first = s.bytes().next()?;
    if !(first.is_ascii_alphanumeric() || first == b'_') {
        return None;
    }
    let len = s
        .bytes()
        .take_while(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .count();
    let h = s[..len].trim_end_matches(['.', '-']);
    (h.len() <= MAX_HANDLE).then_some(h)
}

/// `Getting started — step 1` → `getting-started-step-1`. Letters of any
/// script are kept (a Russian heading keeps its words), the rest become `-`.
pub(crate) fn slug(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' {
            s.push(c);
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
        if s.chars().count() >= 64 {
            break;
        }
    }
    let s = s.trim_end_matches('-');
    if s.is_empty() {
        "section".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Piece::*;

    #[test]
    fn finds_urls_and_mentions_at_word_starts() {
        assert_eq!(
            pieces("hi @ada, see https://a.org/x_(y)). Mail ada@b.org"),
            [
                Text("hi "),
                Mention("ada"),
                Text(", see "),
                Url("https://a.org/x_(y)"),
                Text("). Mail ada@b.org")
            ]
        );
        assert_eq!(pieces("(@bob.) x"), [Text("("), Mention("bob"), Text(".) x")]);
        assert_eq!(pieces("@"), [Text("@")]);
        assert_eq!(pieces("@.x @-y"), [Text("@.x @-y")]);
        assert_eq!(pieces("HTTPS://A.org!"), [Url("HTTPS://A.org"), Text("!")]);
        assert_eq!(pieces("https:// x http:///y"), [Text("https:// x http:///y")]);
        assert_eq!(pieces("xhttps://a.org"), [Text("xhttps://a.org")]);
        assert_eq!(
            pieces(&format!("@{}", "a".repeat(33))),
            [Text(&format!("@{}", "a".repeat(33)))]
        );
        assert_eq!(pieces("ёж @ёж"), [Text("ёж @ёж")]);
    }

    #[test]
    fn slugs_are_stable_and_readable() {
        assert_eq!(slug("Getting started — step 1!"), "getting-started-step-1");
        assert_eq!(slug("Привет, мир"), "привет-мир");
        assert_eq!(slug("???"), "section");
        assert_eq!(slug(&"a".repeat(100)).len(), 64);
    }
}
