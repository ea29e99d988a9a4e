//! The feed's orderings (`?sort=&period=`) and the time buckets the top
//! orderings read (see docs/posts.md, "The orderings").

use crate::domain::FieldError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopPeriod {
    Week,
    Month,
    Year,
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FeedOrder {
    /// The last comment or publication first: the default.
    #[default]
    Activity,
    New,
    Hot,
    Top(TopPeriod),
}

fn blank(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

impl FeedOrder {
    /// From `?sort=` and `?period=`. `period` only matters for `top`
    /// (default `week`) and is ignored otherwise, so one form can send both.
    pub fn parse(sort: Option<&str>, period: Option<&str>) -> Result<Self, FieldError> {
        Ok(match blank(sort) {
            None | Some("activity") => FeedOrder::Activity,
            Some("new") => FeedOrder::New,
            Some("hot") => FeedOrder::Hot,
            Some("top") => FeedOrder::Top(match blank(period) {
                None | Some("week") => TopPeriod::Week,
                Some("month") => TopPeriod::Month,
                Some("year") => TopPeriod::Year,
                Some("all") => TopPeriod::All,
                Some(_) => return Err(FieldError::new("period", "must be one of week, month, year, all")),
            }),
            Some(_) => return Err(FieldError::new("sort", "must be one of activity, new, hot, top")),
        })
    }
}

const DAY: i64 = 86_400;

impl TopPeriod {
    /// How far back the rolling window reaches, in seconds (`None`: all time).
    pub fn window(self) -> Option<i64> {
        match self {
            TopPeriod::Week => Some(7 * DAY),
            TopPeriod::Month => Some(30 * DAY),
            TopPeriod::Year => Some(365 * DAY),
            TopPeriod::All => None,
        }
    }

    /// The publication buckets that can hold a post of the window ending at
    /// `now`, newest first: ISO weeks (`2026-W49`) for a week, months
    /// (`2026-12`) otherwise. Empty for all time (one partition).
    pub fn buckets(self, now: i64) -> Vec<String> {
        let Some(window) = self.window() else { return Vec::new() };
        let label = match self {
            TopPeriod::Week => iso_week,
            _ => month,
        };
        let mut out: Vec<String> = Vec::new();
        let mut at = now;
        while at >= now - window - DAY {
            let l = label(at.max(now - window));
            if out.last() != Some(&l) {
                out.push(l);
            }
            at -= DAY;
        }
        out
    }
}

/// `2026-12` for a Unix time.
pub fn month(at: i64) -> String {
    let (y, m, _) = crate::clock::civil_from_days(at.div_euclid(DAY));
    format!("{y:04}-{m:02}")
}

/// `2026-W49`: the ISO 8601 week (weeks start on Monday; week 1 holds the
/// year's first Thursday, so 2027-01-01 is in `2026-W53`).
pub fn iso_week(at: i64) -> String {
    let day = at.div_euclid(DAY);
    let monday_based = (day + 3).rem_euclid(7); // 1970-01-01 was a Thursday
    let thursday = day - monday_based + 3;
    let (year, _, _) = crate::clock::civil_from_days(thursday);
    let jan1 = crate::domain::days_from_civil(year, 1, 1);
    format!("{year:04}-W{:02}", (thursday - jan1) / 7 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, m: i64, d: i64) -> i64 {
        crate::domain::days_from_civil(y, m, d) * DAY + 12 * 3600
    }

    #[test]
    fn orders_parse_with_named_errors() {
        assert_eq!(FeedOrder::parse(None, None).unwrap(), FeedOrder::Activity);
        assert_eq!(FeedOrder::parse(Some("hot"), Some("year")).unwrap(), FeedOrder::Hot);
        assert_eq!(
            FeedOrder::parse(Some("top"), Some("")).unwrap(),
            FeedOrder::Top(TopPeriod::Week)
        );
        assert_eq!(
            FeedOrder::parse(Some("top"), Some("all")).unwrap(),
            FeedOrder::Top(TopPeriod::All)
        );
        assert_eq!(FeedOrder::parse(Some("best"), None).unwrap_err().field, "sort");
        assert_eq!(FeedOrder::parse(Some("top"), Some("day")).unwrap_err().field, "period");
    }

    #[test]
    fn iso_weeks_match_the_calendar() {
        assert_eq!(iso_week(at(2026, 12, 1)), "2026-W49");
        assert_eq!(iso_week(at(2026, 12, 28)), "2026-W53");
        assert_eq!(iso_week(at(2027, 1, 3)), "2026-W53");
        assert_eq!(iso_week(at(2027, 1, 4)), "2027-W01");
        assert_eq!(iso_week(at(2024, 12, 30)), "2025-W01");
        assert_eq!(month(at(2026, 12, 31)), "2026-12");
    }

    #[test]
    fn rolling_windows_read_every_bucket_they_overlap() {
        let now = at(2026, 12, 1); // a Tuesday
        assert_eq!(TopPeriod::Week.buckets(now), ["2026-W49", "2026-W48"]);
        assert_eq!(TopPeriod::Month.buckets(now), ["2026-12", "2026-11"]);
        let year = TopPeriod::Year.buckets(now);
        assert_eq!(
            (year.len(), year[0].as_str(), year[12].as_str()),
            (13, "2026-12", "2025-12")
        );
        assert!(TopPeriod::All.buckets(now).is_empty());
        // A Sunday evening's week still reaches back into the previous one.
        assert_eq!(TopPeriod::Week.buckets(at(2026, 12, 6)), ["2026-W49", "2026-W48"]);
        assert_eq!(
            TopPeriod::Week.buckets(at(2026, 11, 30) - 13 * 3600),
            ["2026-W48", "2026-W47"]
        );
    }
}
