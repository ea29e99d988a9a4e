//! Every sample event in events/ goes through its function's handler.

/// The webhook secret the Telegram samples carry (events/README.md).
const SAMPLE_WEBHOOK_SECRET: &str = "sample-webhook-secret";

use lodge_local::functions::{self, Invoker};
use lodge_tests::{repo_root, TestApp};

#[tokio::test]
async fn every_sample_event_runs_through_its_handler() {
    let app = TestApp::spawn().await;
    let mut seen = 0;
    let mut telegram_samples = 0;
    let mut binaries_with_events = std::collections::BTreeSet::new();
    for dir in std::fs::read_dir(repo_root().join("events")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let binary = dir.file_name().unwrap().to_str().unwrap().to_string();
        let spec = app
            .stack
            .template
            .functions
            .iter()
            .find(|f| f.binary == binary)
            .unwrap_or_else(|| panic!("events/{binary}: no such function in template.yaml"));
        let mut env = app.stack.envs[&spec.logical_id].clone();
        env.insert("LODGE_APP_URL".into(), "https://club.example.org".into());
        if env.contains_key("LODGE_TELEGRAM_WEBHOOK_SECRET") {
            env.insert("LODGE_TELEGRAM_WEBHOOK_SECRET".into(), SAMPLE_WEBHOOK_SECRET.into());
        }
        let invoker = functions::build(
            &binary,
            &lodge::Env::from_map(env.into_iter().collect()),
            &app.stack.aws,
            app.clock.clone(),
        )
        .unwrap();
        for file in std::fs::read_dir(&dir).unwrap() {
            let path = file.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.display().to_string();
            match &invoker {
                Invoker::Http(h) => {
                    let req = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                    let from_telegram = req.headers().contains_key("x-telegram-bot-api-secret-token");
                    let reply = h(req).await;
                    let status = reply.status().as_u16();
                    assert!(status < 500, "{name} → {status}");
                    assert!(reply.headers().contains_key("x-request-id"), "{name}");
                    if from_telegram {
                        // Telegram retries anything else: every sample update must be taken.
                        let body = String::from_utf8_lossy(reply.body().as_ref()).to_string();
                        assert!((200..300).contains(&status), "{name} → {status} {body}");
                        telegram_samples += 1;
                    }
                }
                Invoker::Sqs(h) => {
                    let event: aws_lambda_events::sqs::SqsEvent =
                        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                    let n = event.records.len();
                    let out = h(event).await;
                    assert!(
                        n > 0 && out.batch_item_failures.is_empty(),
                        "{name}: {:?}",
                        out.batch_item_failures
                    );
                }
                Invoker::Schedule(h) => {
                    let event: serde_json::Value = serde_json::from_str(&text).unwrap();
                    h(event).await.unwrap_or_else(|e| panic!("{name}: {e}"));
                }
            }
            seen += 1;
        }
        binaries_with_events.insert(binary);
    }
    assert!(seen >= 3);
    assert!(
        telegram_samples >= 10,
        "{telegram_samples} Telegram samples reached the webhook"
    );
    for f in &app.stack.template.functions {
        assert!(
            binaries_with_events.contains(&f.binary),
            "no sample event for {}",
            f.binary
        );
    }
}

#[test]
fn every_template_function_is_hosted_by_the_runner() {
    let template = lodge_local::template::Template::load(&repo_root().join("template.yaml")).unwrap();
    for f in &template.functions {
        assert!(
            functions::KNOWN.contains(&f.binary.as_str()),
            "{} is not registered in infra/local",
            f.binary
        );
    }
}
