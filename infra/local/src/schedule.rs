//! EventBridge Scheduler expressions, for `make dev` to fire scheduled
//! functions on time as AWS does (tests run them on demand instead, through
//! `POST /_local/schedule/{function}`, on their own clock).
//!
//! `rate(N minute|minutes|hour|hours|day|days)` and
//! `cron(minutes hours day-of-month month day-of-week year)` with `*`, `?`,
//! lists, ranges, steps and the `JAN`–`DEC` / `SUN`–`SAT` names. Locally a
//! cron fires in UTC: `ScheduleExpressionTimezone` is not applied (there is
//! no time-zone database here), which shifts a weekly digest by hours, not
//! days of testing.

use lodge::clock::civil_from_days;

#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Every so many seconds.
    Rate(i64),
    Cron(Box<Cron>),
}

/// The allowed values of each field (`None` for `?`).
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Option<Vec<bool>>,
    months: Vec<bool>,
    /// 1 = Sunday … 7 = Saturday, as AWS numbers them.
    weekdays: Option<Vec<bool>>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Schedule {
    pub fn parse(expr: &str) -> Result<Self, String> {
        let expr = expr.trim();
        if let Some(inner) = expr.strip_prefix("rate(").and_then(|e| e.strip_suffix(')')) {
            let (n, unit) = inner.trim().split_once(' ').ok_or(format!("{expr}: rate(N unit)"))?;
            let n: i64 = n.parse().map_err(|_| format!("{expr}: {n:?} is not a number"))?;
            let unit_secs = match unit.trim() {
                "minute" | "minutes" => 60,
                "hour" | "hours" => 3600,
                "day" | "days" => 86_400,
                other => return Err(format!("{expr}: unknown unit {other:?}")),
            };
            if n < 1 {
                return Err(format!("{expr}: the rate must be at least 1"));
            }
            return Ok(Schedule::Rate(n * unit_secs));
        }
        let inner = expr
            .strip_prefix("cron(")
            .and_then(|e| e.strip_suffix(')'))
            .ok_or(format!("{expr}: not rate(…) or cron(…)"))?;
        let fields: Vec<&str> = inner.split_whitespace().collect();
        let [min, hour, dom, month, dow, _year] = fields[..] else {
            return Err(format!("{expr}: cron takes six fields"));
        };
        let optional = |f: &str, lo, hi, names: &[&str]| -> Result<Option<Vec<bool>>, String> {
            match f {
                "?" => Ok(None),
                f => field(f, lo, hi, names).map(Some),
            }
        };
        let cron = Cron {
            minutes: field(min, 0, 59, &[])?,
            hours: field(hour, 0, 23, &[])?,
            days: optional(dom, 1, 31, &[])?,
            months: field(month, 1, 12, &MONTHS)?,
            weekdays: optional(dow, 1, 7, &WEEKDAYS)?,
        };
        Ok(Schedule::Cron(Box::new(cron)))
    }

    /// The first firing strictly after `now` (Unix seconds).
    pub fn next_after(&self, now: i64) -> i64 {
        match self {
            Schedule::Rate(secs) => now + secs,
            Schedule::Cron(c) => {
                let mut t = (now / 60 + 1) * 60;
                // A matching minute comes within a year for any valid expression
                // but 30 or 31 February; give up after 4 years, as never.
                for _ in 0..(4 * 366 * 24 * 60) {
                    if c.matches(t) {
                        return t;
                    }
                    t += 60;
                }
                i64::MAX
            }
        }
    }
}

impl Cron {
    fn matches(&self, t: i64) -> bool {
        let days = t.div_euclid(86_400);
        let secs = t.rem_euclid(86_400);
        let (_, month, day) = civil_from_days(days);
        // 1970-01-01 was a Thursday: 5 in AWS's 1 = Sunday numbering.
        let weekday = ((days + 4).rem_euclid(7) + 1) as usize;
        let on = |set: &Option<Vec<bool>>, v: usize| set.as_ref().is_none_or(|s| s[v]);
        self.minutes[(secs / 60 % 60) as usize]
            && self.hours[(secs / 3600) as usize]
            && self.months[month as usize]
            && on(&self.days, day as usize)
            && on(&self.weekdays, weekday)
    }
}

/// One field as a table of allowed values, indexed by value.
fn field(f: &str, lo: usize, hi: usize, names: &[&str]) -> Result<Vec<bool>, String> {
    let value = |v: &str| -> Result<usize, String> {
        let upper = v.to_ascii_uppercase();
        if let Some(i) = names.iter().position(|n| *n == upper) {
            return Ok(i + lo);
        }
        let n: usize = v.parse().map_err(|_| format!("{v:?} is not a value"))?;
        (lo..=hi)
            .contains(&n)
            .then_some(n)
            .ok_or(format!("{n} is outside {lo}–{hi}"))
    };
    let mut allowed = vec![false; hi + 1];
    for part in f.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, s.parse::<usize>().map_err(|_| format!("{s:?} is not a step"))?),
            None => (part, 1),
        };
        if step == 0 {
            return Err(format!("{part}: a step of 0"));
        }
        let (from, to) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                // `5/15`: from 5 on, every 15.
                None if part.contains('/') => (value(r)?, hi),
                None => (value(r)?, value(r)?),
            },
        };
        for v in (from..=to).step_by(step) {
            allowed[v] = true;
        }
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07 00:00 UTC, a Monday.
    const MONDAY: i64 = 1_796_601_600;

    #[test]
    fn rates_fire_every_so_often() {
        assert_eq!(Schedule::parse("rate(1 minute)").unwrap(), Schedule::Rate(60));
        assert_eq!(Schedule::parse("rate(5 minutes)").unwrap().next_after(100), 400);
        assert!(Schedule::parse("rate(0 minutes)").is_err());
        assert!(Schedule::parse("rate(5 fortnights)").is_err());
    }

    #[test]
    fn crons_fire_on_the_next_matching_minute() {
        let weekly = Schedule::parse("cron(0 10 ? * MON *)").unwrap();
        assert_eq!(weekly.next_after(MONDAY), MONDAY + 10 * 3600);
        assert_eq!(weekly.next_after(MONDAY + 10 * 3600), MONDAY + 7 * 86_400 + 10 * 3600);
        let daily = Schedule::parse("cron(0 9 ? * MON-SAT *)").unwrap();
        // Saturday 09:00, then not Sunday: Monday 09:00.
        let saturday = MONDAY + 5 * 86_400;
        assert_eq!(daily.next_after(saturday), saturday + 9 * 3600);
        assert_eq!(daily.next_after(saturday + 9 * 3600), MONDAY + 7 * 86_400 + 9 * 3600);
        let quarter = Schedule::parse("cron(5/15 * * * ? *)").unwrap();
        assert_eq!(quarter.next_after(MONDAY), MONDAY + 5 * 60);
        assert_eq!(quarter.next_after(MONDAY + 5 * 60), MONDAY + 20 * 60);
        assert!(Schedule::parse("cron(0 25 ? * MON *)").is_err());
        assert!(Schedule::parse("cron(0 10 * *)").is_err());
    }

    #[test]
    fn every_schedule_in_the_template_parses() {
        let template = crate::template::Template::load(&lodge_tests_root().join("template.yaml")).unwrap();
        let exprs: Vec<&String> = template.functions.iter().flat_map(|f| &f.schedules).collect();
        assert!(!exprs.is_empty());
        for e in exprs {
            Schedule::parse(e).unwrap_or_else(|err| panic!("{err}"));
        }
    }

    fn lodge_tests_root() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }
}
