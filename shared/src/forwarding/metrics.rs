//! Forwarding metrics as CloudWatch Embedded Metric Format lines, namespace
//! `Lodge/Forwarding`. Dimensions stay low-cardinality (no chat ids).

use super::rule::Mode;
use crate::telemetry::metric;

const NS: &str = "Lodge/Forwarding";

pub fn forwarded(mode: Mode, messages: usize, latency_secs: i64) {
    metric(NS, "forwarded", messages as f64, "Count", &[("mode", mode.as_str())]);
    // Source post → copy in the destination (includes waits for limits and albums).
    metric(NS, "latency", latency_secs.max(0) as f64, "Seconds", &[]);
}

pub fn edited() {
    metric(NS, "edited", 1.0, "Count", &[]);
}

pub fn edit_skipped(why: &str) {
    metric(NS, "edit_skipped", 1.0, "Count", &[("reason", why)]);
}

pub fn filtered_out(step: &str) {
    metric(NS, "filtered_out", 1.0, "Count", &[("filter", step)]);
}

pub fn deduplicated(reason: &str) {
    metric(NS, "deduplicated", 1.0, "Count", &[("reason", reason)]);
}

/// A retry; for 429s also how long Telegram asked us to wait.
pub fn retried(kind: &str, retry_after_secs: i64) {
    metric(NS, "retried", 1.0, "Count", &[("kind", kind)]);
    if kind == "retry_after" {
        metric(NS, "retry_after", retry_after_secs as f64, "Seconds", &[]);
    }
}

pub fn rate_limited() {
    metric(NS, "rate_limited", 1.0, "Count", &[]);
}

pub fn fallback_to_copy() {
    metric(NS, "fallback_to_copy", 1.0, "Count", &[]);
}

pub fn failed(kind: &str) {
    metric(NS, "failed", 1.0, "Count", &[("kind", kind)]);
}
