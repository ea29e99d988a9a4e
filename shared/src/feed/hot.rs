//! The hot score: upvotes and distinct commenters, each weighted by how
//! recent it is, kept up to date by adding a fixed amount per event.
//!
//! **The formula.** A post's heat at time `now` is
//!
//! ```text
//! heat(now) = Σ wᵢ · 2^(−(now − tᵢ) / H)
//! ```
//!
//! over its events `i`: publication (w = 1), each upvote (w = 1), each
//! member's *first* comment (w = 2: a conversation counts more than a
//! click; a member's further comments add nothing, so one chatty pair
//! cannot heat a post). `H` is the half-life, 2 days: yesterday's vote is
//! worth 0.7 of today's, last week's 0.09. vas3k.club counts commenters
//! over 5 days weighted by recency; this counts votes too and needs no
//! window.
//!
//! **Why it can be stored.** `2^(−(now − tᵢ)/H) = 2^(−now/H) · 2^(tᵢ/H)`, and
//! the first factor is the same for every post. So ordering posts by
//! `S = Σ wᵢ · 2^(tᵢ/H)` orders them by heat at *any* moment: `S` never needs
//! recomputing as time passes, and each event adds its own fixed term
//! `w · 2^(t/H)`. DynamoDB does that with one atomic `ADD hot :term`, in the
//! same transaction as the vote or comment: exact under concurrency, no
//! rescan.
//!
//! **Eras.** `2^(t/H)` grows without bound (2^1825 after ten years; a
//! DynamoDB number stops at 10^126), so terms are measured from the start of
//! the current era (7 days): `term = w · 2^((t − era_start)/H)`, at most
//! 2^3.5 ≈ 11.3. A post's score is stored with its era (`hot_era`); the
//! first event in a new era rebases it (`S · 2^(−Δ/H)`, a conditional write
//! on the old era, retried on conflict), which is the only read-then-write,
//! once per post per week. The hot feed reads the current and the previous
//! era's partitions and merges them with `rank_at`; a post quiet for over a
//! week has under 9 % of a fresh vote's heat and is no longer hot.

use serde::{Deserialize, Serialize};

/// The half-life of an event's weight, in seconds (2 days).
pub const HALF_LIFE: f64 = 2.0 * 86_400.0;

/// The length of an era, in seconds (7 days).
pub const ERA: i64 = 7 * 86_400;

/// Scores below this are dropped to 0: they are negligible next to any
/// fresh event (≥ 1), and DynamoDB numbers stop at 10^−130.
const NEGLIGIBLE: f64 = 1e-12;

/// What happened to a post.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activity {
    Published,
    Upvote,
    /// A member's first comment on the post.
    Commenter,
    /// Undoes the `Upvote` made at `voted_at` (retracted within 24 h).
    RetractUpvote {
        voted_at: i64,
    },
}

impl Activity {
    fn weight(self) -> f64 {
        match self {
            Activity::Published | Activity::Upvote => 1.0,
            Activity::Commenter => 2.0,
            Activity::RetractUpvote { .. } => -1.0,
        }
    }
    /// When the term counts from: a retraction removes the vote's own term.
    fn counted_at(self, at: i64) -> i64 {
        match self {
            Activity::RetractUpvote { voted_at } => voted_at,
            _ => at,
        }
    }
}

/// The era `at` (Unix seconds) falls in.
pub fn era_of(at: i64) -> i64 {
    at.div_euclid(ERA)
}

fn scale(seconds: f64) -> f64 {
    (seconds / HALF_LIFE).exp2()
}

/// What the store adds for `activity` at `at`: `ADD hot :term` on a post
/// whose `hot_era` is `era` (the condition). If the condition fails, read
/// the post and write `Hot::apply` instead.
pub fn term(activity: Activity, at: i64) -> (i64, f64) {
    let era = era_of(at);
    (era, term_in(activity, at, era))
}

fn term_in(activity: Activity, at: i64, era: i64) -> f64 {
    activity.weight() * scale((activity.counted_at(at) - era * ERA) as f64)
}

/// A stored hot score: `score` in the units of `era`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hot {
    pub era: i64,
    pub score: f64,
}

impl Hot {
    /// A new post's score, from its publication.
    pub fn published(at: i64) -> Self {
        let (era, score) = term(Activity::Published, at);
        Self { era, score }
    }

    /// The score after `activity` at `at`, rebased first if `at` is in a
    /// later era. Equal to the atomic `ADD` when the era is unchanged.
    pub fn apply(self, activity: Activity, at: i64) -> Self {
        let era = self.era.max(era_of(at));
        let base = self.rebased(era);
        Self {
            era,
            score: clean(base.score + term_in(activity, at, era)),
        }
    }

    /// The same heat measured from a later era.
    pub fn rebased(self, era: i64) -> Self {
        if era <= self.era {
            return self;
        }
        Self {
            era,
            score: clean(self.score * scale(-((era - self.era) * ERA) as f64)),
        }
    }

    /// A number that orders posts by heat when all are ranked at the same
    /// `era` (the current one): merges the two eras' partitions.
    pub fn rank_at(self, era: i64) -> f64 {
        self.rebased(era).score
    }

    /// Heat at `now`, in fresh-upvote units: what the formula above says.
    pub fn heat(self, now: i64) -> f64 {
        self.score * scale(-(now - self.era * ERA) as f64)
    }
}

fn clean(score: f64) -> f64 {
    if score.abs() < NEGLIGIBLE {
        0.0
    } else {
        score
    }
}

/// The score from a post's whole history, in `era`: what `apply` must agree
/// with (used by tests, and to rebuild a score if ever needed).
pub fn recompute(events: &[(Activity, i64)], era: i64) -> Hot {
    let score = events.iter().map(|&(a, at)| term_in(a, at, era)).sum();
    Hot {
        era,
        score: clean(score),
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    const DAY: i64 = 86_400;
    const T0: i64 = 1_795_000_000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    /// A post's history: published at `start`, then random votes and first
    /// comments over up to `span` seconds, in time order.
    fn history(rng: &mut StdRng, start: i64, span: i64) -> Vec<(Activity, i64)> {
        let mut events = vec![(Activity::Published, start)];
        let mut times: Vec<i64> = (0..rng.random_range(0..40))
            .map(|_| start + rng.random_range(0..span))
            .collect();
        times.sort();
        for at in times {
            let activity = if rng.random_bool(0.6) {
                Activity::Upvote
            } else {
                Activity::Commenter
            };
            events.push((activity, at));
        }
        events
    }

    fn fold(events: &[(Activity, i64)]) -> Hot {
        let (first, rest) = events.split_first().unwrap();
        rest.iter().fold(Hot::published(first.1), |h, &(a, at)| h.apply(a, at))
    }

    #[test]
    fn incremental_equals_recomputed() {
        let mut rng = StdRng::seed_from_u64(12);
        for _ in 0..500 {
            let start = T0 + rng.random_range(0..30 * DAY);
            let events = history(&mut rng, start, 40 * DAY);
            let incremental = fold(&events);
            let era = incremental.era + rng.random_range(0..3);
            let fresh = recompute(&events, era);
            assert!(
                close(incremental.rank_at(era), fresh.score),
                "{incremental:?} vs {fresh:?}"
            );
            // The atomic ADD path: terms added in the post's era give the same.
            let (first, rest) = events.split_first().unwrap();
            let mut added = Hot::published(first.1);
            for &(a, at) in rest {
                let (term_era, term) = term(a, at);
                added = if term_era == added.era {
                    Hot {
                        era: added.era,
                        score: added.score + term,
                    }
                } else {
                    added.apply(a, at)
                };
            }
            assert!(close(added.rank_at(era), fresh.score));
        }
    }

    #[test]
    fn each_upvote_raises_the_score() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let events = history(&mut rng, T0, 20 * DAY);
            let before = fold(&events);
            let last = events.last().unwrap().1;
            let at = last + rng.random_range(0..10 * DAY);
            let after = before.apply(Activity::Upvote, at);
            let era = after.era + rng.random_range(0..2);
            assert!(after.rank_at(era) > before.rank_at(era), "{before:?} → {after:?}");
            assert!(after.heat(at) > before.heat(at));
        }
    }

    #[test]
    fn later_activity_outranks_older_with_equal_counts() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..500 {
            let start = T0 + rng.random_range(0..20 * DAY);
            let older = history(&mut rng, start, 15 * DAY);
            let shift = rng.random_range(1..5 * DAY);
            let newer: Vec<_> = older.iter().map(|&(a, at)| (a, at + shift)).collect();
            let (a, b) = (fold(&older), fold(&newer));
            let era = a.era.max(b.era) + rng.random_range(0..2);
            assert!(b.rank_at(era) > a.rank_at(era), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn heat_halves_with_each_half_life_and_stays_bounded() {
        let post = Hot::published(T0).apply(Activity::Upvote, T0 + 3600);
        let now = T0 + 10 * DAY;
        assert!(close(post.heat(now + 2 * DAY), post.heat(now) / 2.0));
        assert!(close(post.heat(T0 + 3600), 1.0 + scale(-3600.0)));
        // A term never exceeds 2^(ERA/H) ≈ 11.3, so stored numbers stay small.
        let (_, biggest) = term(Activity::Commenter, (era_of(T0) + 1) * ERA - 1);
        assert!(biggest < 2.0 * 11.32 && biggest > 2.0 * 11.3);
        // Years of silence decay to 0, never to a number DynamoDB refuses.
        assert_eq!(post.rebased(post.era + 200).score, 0.0);
    }

    #[test]
    fn a_retracted_vote_leaves_no_trace() {
        let post = Hot::published(T0);
        let voted_at = era_of(T0) * ERA + ERA - 60; // just before the era ends
        let voted = post.apply(Activity::Upvote, voted_at);
        let retracted = voted.apply(Activity::RetractUpvote { voted_at }, voted_at + 3600);
        assert_eq!(retracted.era, voted.era + 1);
        assert!(close(retracted.score, post.rank_at(retracted.era)));
        assert_eq!(
            Hot::published(T0)
                .apply(Activity::RetractUpvote { voted_at: T0 }, T0)
                .score,
            0.0
        );
    }
}
