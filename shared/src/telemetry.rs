//! JSON logs via `tracing`. What may be logged: ids, routes, statuses,
//! timings, fingerprints. Never secrets, codes, tokens or raw addresses.
//!
//! Every HTTP request, SQS message and webhook update runs in a span that
//! carries its ids (`web::serve`, `queue::consume`, the webhook), and each
//! line inside repeats the fields of every span it is in; on Lambda the
//! runtime's own span adds `requestId`. One line ends each unit of work with
//! its outcome, latency and `aws_calls`, counted by `AwsCalls` below.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber (idempotent: the local runner hosts many functions).
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}

/// JSON lines, each with the fields of every span it is in (`spans`).
fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .with_ansi(false)
        .with_writer(writer)
        .finish()
}

/// The lines logged while `work` runs on this thread (tests only).
#[cfg(test)]
pub(crate) async fn capture<F: Future>(work: F) -> (F::Output, Vec<serde_json::Value>) {
    #[derive(Clone, Default)]
    struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let out = {
        let _guard = tracing::subscriber::set_default(subscriber(move || writer.clone()));
        work.await
    };
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (out, lines)
}

tokio::task_local! {
    static CALLS: Arc<AtomicU32>;
}

/// Runs one unit of work (a request, a message) counting the AWS calls made
/// from its task; returns its output and the count.
pub async fn counting_aws_calls<F: Future>(work: F) -> (F::Output, u32) {
    let calls = Arc::new(AtomicU32::new(0));
    let out = CALLS.scope(calls.clone(), work).await;
    (out, calls.load(Ordering::Relaxed))
}

/// AWS calls made so far by the current unit of work (0 outside one).
pub fn aws_calls_so_far() -> u32 {
    CALLS.try_with(|c| c.load(Ordering::Relaxed)).unwrap_or(0)
}

/// An SDK interceptor counting every HTTP attempt (retries included) in
/// the unit of work that made it. Every client built in `aws` has it.
#[derive(Debug)]
pub struct AwsCalls;

impl Intercept for AwsCalls {
    fn name(&self) -> &'static str {
        "lodge-aws-calls"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let _ = CALLS.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
        Ok(())
    }
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

/// An error and its causes, outermost first: `a: b: c`.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chains_list_every_cause_once() {
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(chain(&e), "outer: disk full");
    }

    #[tokio::test]
    async fn calls_are_counted_per_unit_of_work() {
        let (_, n) = counting_aws_calls(async {
            let _ = CALLS.try_with(|c| c.fetch_add(2, Ordering::Relaxed));
            assert_eq!(aws_calls_so_far(), 2);
        })
        .await;
        assert_eq!(n, 2);
        assert_eq!(aws_calls_so_far(), 0);
    }
}
