//! An event as iCalendar (RFC 5545): CRLF line ends, escaped text, lines
//! folded at 75 octets, times in UTC.

use lodge::store::posts::Card;

/// `20261205T180000Z`.
fn utc(ms: i64) -> String {
    let t = lodge::clock::rfc3339(ms.div_euclid(1000)); // 2026-12-05T18:00:00Z
    t.replace(['-', ':'], "")
}

/// TEXT escaping (RFC 5545 §3.3.11).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// One content line, folded so no line exceeds 75 octets (§3.1), never
/// inside a UTF-8 character.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

pub fn event(card: &Card, url: &str, host: &str) -> Option<String> {
    let starts = card.starts_at?;
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Lodge//Posts//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, "BEGIN:VEVENT");
    line(&mut out, &format!("UID:{}@{}", card.id, escape(host)));
    line(
        &mut out,
        &format!("DTSTAMP:{}", utc(card.edited_at.unwrap_or(card.created_at))),
    );
    line(&mut out, &format!("DTSTART:{}", utc(starts)));
    if let Some(ends) = card.ends_at {
        line(&mut out, &format!("DTEND:{}", utc(ends)));
    }
    line(&mut out, &format!("SUMMARY:{}", escape(&card.title)));
    if let Some(venue) = &card.venue {
        line(&mut out, &format!("LOCATION:{}", escape(venue)));
    }
    if !card.excerpt.is_empty() {
        line(&mut out, &format!("DESCRIPTION:{}", escape(&card.excerpt)));
    }
    line(&mut out, &format!("URL:{url}"));
    line(
        &mut out,
        &format!("ORGANIZER;CN={}:{url}", quote_param(&card.author_name)),
    );
    line(&mut out, "END:VEVENT");
    line(&mut out, "END:VCALENDAR");
    Some(out)
}

/// A parameter value: quoted, without the characters a quoted value cannot hold.
fn quote_param(v: &str) -> String {
    let clean: String = v.chars().filter(|c| *c != '"' && !c.is_control()).collect();
    format!("\"{clean}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_lines_are_folded() {
        assert_eq!(escape("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
        let mut out = String::new();
        line(&mut out, &format!("SUMMARY:{}", "я".repeat(60)));
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert!(lines.iter().all(|l| l.len() <= 75), "{lines:?}");
        assert!(lines[1].starts_with(' '));
        assert_eq!(out.matches("я").count(), 60);
        assert_eq!(utc(1_796_493_600_000), "20261205T180000Z");
    }
}
