//! When and where an event happens.

use serde::Serialize;

use super::field::{bounded_text, FieldError};
use super::post::LinkUrl;

/// Where to go: a place people can find, or an online link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Venue {
    /// 1–200 characters: an address or a description ("the usual bar").
    Place(String),
    Online(LinkUrl),
}

impl Venue {
    pub const MAX: usize = 200;

    /// From the `place` field: a web address is an online event.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.starts_with("http://") || s.starts_with("https://") {
            return LinkUrl::parse_field("place", s).map(Venue::Online);
        }
        let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
        bounded_text("place", &one_line, 1, Self::MAX)
            .map_err(|e| match e.problem.as_str() {
                "must not be empty" => FieldError::new("place", "say where: an address or an online link"),
                _ => e,
            })
            .map(Venue::Place)
    }
}

/// A start, an optional end strictly after it, and a venue. Times are Unix
/// seconds (UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventWindow {
    starts_at: i64,
    ends_at: Option<i64>,
    venue: Venue,
}

/// 2000-01-01 and 2100-01-01: outside this a date is a typo.
const EARLIEST: i64 = 946_684_800;
const LATEST: i64 = 4_102_444_800;

impl EventWindow {
    /// From the `starts_at`, `ends_at` and `place` fields. Times without an
    /// offset (what `<input type="datetime-local">` sends) are read in the
    /// club's zone, `utc_offset_minutes` east of UTC.
    pub fn parse(
        starts_at: Option<&str>,
        ends_at: Option<&str>,
        place: Option<&str>,
        utc_offset_minutes: i32,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let start = match starts_at.map(str::trim).filter(|s| !s.is_empty()) {
            None => Err(FieldError::new("starts_at", "an event needs a start time")),
            Some(s) => parse_time("starts_at", s, utc_offset_minutes),
        };
        let end = match ends_at.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_time("ends_at", s, utc_offset_minutes).map(Some),
        };
        let venue = Venue::parse(place.unwrap_or_default());
        if let (Ok(start), Ok(Some(end))) = (&start, &end) {
            if end <= start {
                errors.push(FieldError::new("ends_at", "must be after the start"));
            }
        }
        match (start, end, venue) {
            (Ok(starts_at), Ok(ends_at), Ok(venue)) if errors.is_empty() => Ok(Self {
                starts_at,
                ends_at,
                venue,
            }),
            (start, end, venue) => {
                let mut all: Vec<FieldError> = [start.err(), end.err(), venue.err()].into_iter().flatten().collect();
                all.extend(errors);
                Err(all)
            }
        }
    }

    pub fn starts_at(&self) -> i64 {
        self.starts_at
    }
    pub fn ends_at(&self) -> Option<i64> {
        self.ends_at
    }
    pub fn venue(&self) -> &Venue {
        &self.venue
    }
}

/// `2026-12-05T19:00`, `2026-12-05 19:00:30`, `2026-12-05T19:00Z`,
/// `2026-12-05T19:00:00+01:00`.
fn parse_time(field: &'static str, s: &str, default_offset_minutes: i32) -> Result<i64, FieldError> {
    let bad = || FieldError::new(field, "is not a date and time like 2026-12-05T19:00");
    let b = s.as_bytes();
    if b.len() < 16 || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    let num = |from: usize, to: usize| -> Result<i64, FieldError> {
        let part = s.get(from..to).ok_or_else(bad)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' {
        return Err(bad());
    }
    let (y, mo, d, h, mi) = (num(0, 4)?, num(5, 7)?, num(8, 10)?, num(11, 13)?, num(14, 16)?);
    let mut rest = &s[16..];
    let mut sec = 0;
    if let Some(r) = rest.strip_prefix(':') {
        sec = num(17, 19)?;
        rest = r.get(2..).ok_or_else(bad)?;
    }
    let offset_minutes = match rest {
        "" => default_offset_minutes as i64,
        "Z" | "z" => 0,
        o if o.len() == 6 && o.is_ascii() && matches!(&o[..1], "+" | "-") && &o[3..4] == ":" => {
            let part = |r: std::ops::Range<usize>| match &o[r] {
                p if p.bytes().all(|c| c.is_ascii_digit()) => p.parse::<i64>().map_err(|_| bad()),
                _ => Err(bad()),
            };
            let (hh, mm) = (part(1..3)?, part(4..6)?);
            if hh > 14 || mm > 59 {
                return Err(bad());
            }
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (hh * 60 + mm)
        }
        _ => return Err(bad()),
    };
    let days_in_month = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if d < 1 || d > days_in_month || h > 23 || mi > 59 || sec > 59 {
        return Err(bad());
    }
    let at = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_minutes * 60;
    if !(EARLIEST..LATEST).contains(&at) {
        return Err(FieldError::new(field, "must be between the years 2000 and 2099"));
    }
    Ok(at)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm, the inverse of `clock::civil_from_days`).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::rfc3339;

    fn window(start: &str, end: Option<&str>, place: &str) -> Result<EventWindow, Vec<FieldError>> {
        EventWindow::parse(Some(start), end, Some(place), 60)
    }

    #[test]
    fn times_read_in_the_club_zone_unless_they_say_otherwise() {
        let w = window("2026-12-05T19:00", Some("2026-12-05 21:30:15"), "Café Central").unwrap();
        assert_eq!(rfc3339(w.starts_at()), "2026-12-05T18:00:00Z");
        assert_eq!(rfc3339(w.ends_at().unwrap()), "2026-12-05T20:30:15Z");
        let w = window("2028-02-29T00:30Z", None, "x").unwrap();
        assert_eq!(rfc3339(w.starts_at()), "2028-02-29T00:30:00Z");
        let w = window("2026-12-05T19:00:00-05:30", None, "x").unwrap();
        assert_eq!(rfc3339(w.starts_at()), "2026-12-06T00:30:00Z");
        assert_eq!(w.venue(), &Venue::Place("x".into()));
    }

    #[test]
    fn an_end_must_follow_the_start() {
        let errors = window("2026-12-05T19:00", Some("2026-12-05T19:00"), "x").unwrap_err();
        assert_eq!(errors, vec![FieldError::new("ends_at", "must be after the start")]);
        assert!(window("2026-12-05T19:00", Some("2026-12-05T19:01"), "x").is_ok());
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = EventWindow::parse(None, Some("tomorrow"), Some(" "), 0).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["starts_at", "ends_at", "place"]);
        assert_eq!(errors[2].problem, "say where: an address or an online link");
        for bad in [
            "2026-02-29T10:00",
            "2026-13-01T10:00",
            "2026-12-05T24:00",
            "2026-12-05",
            "1999-12-31T23:59Z",
            "2026-12-05T10:00+1",
            "２０２６-12-05T10:00",
            "2026-12-05T10:00é1:00",
            "2026-12-05T10:00+99:00",
            "2026-12-05T10:00++1:00",
        ] {
            assert_eq!(window(bad, None, "x").unwrap_err()[0].field, "starts_at", "{bad}");
        }
    }

    #[test]
    fn an_online_venue_is_a_web_link() {
        let w = window("2026-12-05T19:00", None, "https://meet.example.org/abc").unwrap();
        assert!(matches!(w.venue(), Venue::Online(u) if u.host() == "meet.example.org"));
        let errors = window("2026-12-05T19:00", None, "https://user:pw@meet.example.org/").unwrap_err();
        assert_eq!(errors[0].field, "place");
        assert!(window("2026-12-05T19:00", None, &"a".repeat(201)).is_err());
    }
}
