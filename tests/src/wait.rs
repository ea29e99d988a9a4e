//! Waiting on a condition with a deadline: tests never sleep and then look.

use std::time::{Duration, Instant};

use lodge::clock::ManualClock;

/// How often a condition is looked at again.
const POLL: Duration = Duration::from_millis(50);

/// Polls `check` until it holds or `deadline` passes; tells which.
pub async fn eventually<F: AsyncFnMut() -> bool>(deadline: Duration, mut check: F) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Real time a round of `advancing` waits after moving the clock.
const TICK: Duration = Duration::from_millis(400);

/// Polls `check` for up to `clock_secs` rounds, moving `clock` one second
/// and then waiting 400 ms of real time each round: for outcomes that wait
/// on the stack's clock (the forwarder's album flushes, rate windows,
/// backoff) as well as on real time (queue visibility timeouts).
pub async fn advancing<F: AsyncFnMut() -> bool>(clock: &ManualClock, clock_secs: u32, mut check: F) -> bool {
    for _ in 0..clock_secs {
        if check().await {
            return true;
        }
        clock.advance(1);
        tokio::time::sleep(TICK).await;
    }
    check().await
}

/// Polls `find` until it yields a value, or panics with `what` after `deadline`.
pub async fn wait_for<T, F: AsyncFnMut() -> Option<T>>(deadline: Duration, what: &str, mut find: F) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = find().await {
            return v;
        }
        assert!(Instant::now() < end, "{what}: not within {deadline:?}");
        tokio::time::sleep(POLL).await;
    }
}

/// Checks that `broken` stays false for all of `span`, failing as soon as it
/// turns true. Only for absences no event can prove (a retry that must not
/// come early): everything else waits for the event.
pub async fn stays_false<F: AsyncFnMut() -> bool>(span: Duration, broken: F) -> bool {
    !eventually(span, broken).await
}
