//! Digests (issue 14, docs/digests.md): the weekly issue's shared content,
//! built once per issue (`build`), rendered per member (`render`), the
//! daily Telegram message (`daily`), and planning either kind of issue once
//! and fanning its recipients out to the queue (`fanout`).

pub mod build;
pub mod daily;
pub mod fanout;
pub mod render;

/// The weekly window, and how far ahead events are shown.
pub const WEEK_SECS: i64 = 7 * 86_400;
pub const EVENTS_AHEAD_SECS: i64 = 14 * 86_400;
pub const TOP_POSTS: usize = 12;
pub const BEST_COMMENTS: usize = 3;
/// Members per SQS message of the fan-out, and messages per `SendMessageBatch`.
pub const MEMBERS_PER_MESSAGE: usize = 50;
pub const MESSAGES_PER_CALL: usize = 10;

use crate::domain::digest::IssueId;

/// The issue a run at `to` (seconds) plans, and the ISO week of its
/// tallies: the week the window `[to − 7 d, to)` mostly covers (its middle),
/// so Monday's run names the week that just ended.
pub fn issue_for(to: i64) -> (IssueId, String) {
    let week = crate::feed::order::iso_week(to - WEEK_SECS / 2);
    (IssueId::weekly(&week).expect("iso_week gives valid weeks"), week)
}

#[cfg(test)]
mod tests {
    #[test]
    fn mondays_run_names_the_week_that_ended() {
        // 2026-12-07 10:00 UTC, a Monday of W50.
        let (id, week) = super::issue_for(1_796_637_600);
        assert_eq!(id.as_str(), "weekly-2026-W49");
        assert_eq!(week, "2026-W49");
    }
}
