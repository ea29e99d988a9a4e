//! JSON logs via `tracing`. What may be logged: ids, routes, statuses,
//! timings, fingerprints. Never secrets, codes, tokens or raw addresses.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber (idempotent: the local runner hosts many functions).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}

/// One CloudWatch Embedded Metric Format line: CloudWatch turns it into
/// metrics without an API call.
pub fn metric(namespace: &str, name: &str, value: f64, unit: &str, dimensions: &[(&str, &str)]) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let dims: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [dims],
                "Metrics": [{"Name": name, "Unit": unit}]
            }]
        },
        name: value,
    });
    for (k, v) in dimensions {
        line[*k] = serde_json::Value::String((*v).to_string());
    }
    println!("{line}");
}

/// Logs a failed dependency with its detail (the client sees only a summary).
pub fn error(dependency: &str, err: &dyn std::fmt::Display) {
    tracing::error!(dependency, error = %err, "dependency failed");
}
