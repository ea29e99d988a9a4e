//! `parse_mode: HTML` as Telegram parses it (tdlib's `parse_html`): exactly
//! its tag subset, its four named entities plus numeric ones, and its error
//! texts. Returns the visible text, which is what Telegram's length limits count.

/// Tags Telegram accepts; anything else is "Unsupported start tag".
const TAGS: [&str; 16] = [
    "a",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
];

/// The visible text of `html`, or the reason Telegram gives after "can't parse entities: ".
pub fn parse(html: &str) -> Result<String, String> {
    let b = html.as_bytes();
    let at = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut out = String::with_capacity(html.len());
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'&' => match entity(&html[i..]) {
                Some((c, len)) => {
                    out.push(c);
                    i += len;
                }
                // Not an entity Telegram knows: the '&' stays as typed.
                None => {
                    out.push('&');
                    i += 1;
                }
            },
            b'<' if at(i + 1) == b'/' => {
                let begin = i;
                let Some(tag) = open.pop() else {
                    return Err(format!("Unexpected end tag at byte offset {begin}"));
                };
                i += 2;
                let name_start = i;
                while i < b.len() && !at(i).is_ascii_whitespace() && at(i) != b'>' {
                    i += 1;
                }
                let name = html[name_start..i].to_ascii_lowercase();
                while at(i).is_ascii_whitespace() {
                    i += 1;
                }
                if at(i) != b'>' {
                    return Err(format!("Unclosed end tag at byte offset {begin}"));
                }
                i += 1;
                if !name.is_empty() && name != tag {
                    return Err(format!(
                        "Unmatched end tag at byte offset {begin}, expected \"</{tag}>\", found \"</{name}>\""
                    ));
                }
            }
            b'<' => {
                let begin = i;
                i += 1;
                while i < b.len() && !at(i).is_ascii_whitespace() && at(i) != b'>' {
                    i += 1;
                }
                if i >= b.len() {
                    return Err(format!("Unclosed start tag at byte offset {begin}"));
                }
                let tag = html[begin + 1..i].to_ascii_lowercase();
                if !TAGS.contains(&tag.as_str()) {
                    return Err(format!("Unsupported start tag \"{tag}\" at byte offset {begin}"));
                }
                let mut attrs: Vec<(String, String)> = Vec::new();
                loop {
                    while at(i).is_ascii_whitespace() {
                        i += 1;
                    }
                    match at(i) {
                        0 => return Err(format!("Unclosed start tag at byte offset {begin}")),
                        b'>' => break,
                        _ => {}
                    }
                    let name_start = i;
                    while i < b.len() && !at(i).is_ascii_whitespace() && !matches!(at(i), b'=' | b'>') {
                        i += 1;
                    }
                    let name = html[name_start..i].to_ascii_lowercase();
                    while at(i).is_ascii_whitespace() {
                        i += 1;
                    }
                    if at(i) != b'=' {
                        // A bare attribute (`<blockquote expandable>`).
                        attrs.push((name, String::new()));
                        continue;
                    }
                    i += 1;
                    while at(i).is_ascii_whitespace() {
                        i += 1;
                    }
                    let value = match at(i) {
                        0 => return Err(format!("Unclosed start tag at byte offset {begin}")),
                        q @ (b'"' | b'\'') => {
                            let start = i + 1;
                            let end = html[start..]
                                .find(q as char)
                                .map(|n| start + n)
                                .ok_or_else(|| format!("Unclosed start tag at byte offset {begin}"))?;
                            i = end + 1;
                            unescape(&html[start..end])
                        }
                        _ => {
                            let start = i;
                            while at(i).is_ascii_alphanumeric() || matches!(at(i), b'.' | b'-') {
                                i += 1;
                            }
                            if !at(i).is_ascii_whitespace() && at(i) != b'>' {
                                return Err(format!("Unexpected end of name token at byte offset {start}"));
                            }
                            html[start..i].to_ascii_lowercase()
                        }
                    };
                    attrs.push((name, value));
                }
                i += 1;
                let attr = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
                match tag.as_str() {
                    "span" if attr("class") != Some("tg-spoiler") => {
                        return Err(format!(
                            "Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}"
                        ))
                    }
                    "tg-emoji" if !attr("emoji-id").is_some_and(|id| id.parse::<i64>().is_ok_and(|n| n != 0)) => {
                        return Err("Custom emoji entity must contain a valid custom emoji identifier".into())
                    }
                    _ => {}
                }
                open.push(tag);
            }
            _ => {
                let c = html[i..].chars().next().expect("inside the string");
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    if let Some(tag) = open.pop() {
        return Err(format!("Can't find end tag corresponding to start tag \"{tag}\""));
    }
    Ok(out)
}

/// `&lt;` `&gt;` `&amp;` `&quot;` and `&#NN;` / `&#xHH;`: the character and the bytes it took.
fn entity(s: &str) -> Option<(char, usize)> {
    let end = s[1..].find(';').map(|n| n + 1)?;
    let name = &s[1..end];
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()?
            } else {
                name.strip_prefix('#')?.parse::<u32>().ok()?
            };
            char::from_u32(code).filter(|c| *c != '\0')?
        }
    };
    Some((c, end + 1))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if let Some((c, len)) = s[i..].starts_with('&').then(|| entity(&s[i..])).flatten() {
            out.push(c);
            i += len;
        } else {
            let c = s[i..].chars().next().expect("inside the string");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn telegrams_subset_parses_to_its_visible_text() {
        let html = "<b>bold</b> <strong>s</strong> <i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><strike>k</strike>\
            <del>d</del><span class=\"tg-spoiler\">sp</span><tg-spoiler>t</tg-spoiler>\
            <a href=\"https://x.org/?a=1&amp;b=2\">link</a><tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji>\
            <code>c</code><pre><code class=\"language-rust\">p</code></pre><blockquote expandable>q</blockquote>\
            <B>upper</B> &lt;&gt;&amp;&quot;&#65;&#x42; &nbsp; a & b";
        assert_eq!(
            parse(html).unwrap(),
            "bold s ieunskdsptlink👍cpqupper <>&\"AB &nbsp; a & b"
        );
    }

    #[test]
    fn malformed_html_fails_with_telegrams_reasons() {
        for (html, reason) in [
            ("<b>open", "Can't find end tag corresponding to start tag \"b\""),
            ("a < b", "Unsupported start tag \"\" at byte offset 2"),
            ("<div>x</div>", "Unsupported start tag \"div\" at byte offset 0"),
            ("<script>", "Unsupported start tag \"script\" at byte offset 0"),
            (
                "<b>x</i>",
                "Unmatched end tag at byte offset 4, expected \"</b>\", found \"</i>\"",
            ),
            ("x</b>", "Unexpected end tag at byte offset 1"),
            ("<b", "Unclosed start tag at byte offset 0"),
            ("<a href=\"x>y", "Unclosed start tag at byte offset 0"),
            (
                "<span>x</span>",
                "Tag \"span\" must have class \"tg-spoiler\" at byte offset 0",
            ),
            (
                "<tg-emoji>x</tg-emoji>",
                "Custom emoji entity must contain a valid custom emoji identifier",
            ),
            ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ] {
            assert_eq!(parse(html).unwrap_err(), reason, "{html}");
        }
    }
}
