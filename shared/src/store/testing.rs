//! Unit tests of the store against the AWS stand-in: one `moto_server`
//! (`infra/local/moto_server.py`, from the project venv) per test binary, or
//! `LODGE_TEST_MOTO_URL`; a fresh table per test.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType,
};

use super::Store;

fn moto_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("LODGE_TEST_MOTO_URL") {
            return url;
        }
        let root = std::env::var("LODGE_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."));
        let venv = std::env::var("LODGE_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join(".venv"));
        let python = venv.join("bin/python");
        assert!(
            venv.join("bin/moto_server").exists(),
            "moto is not installed in {}: run `make tools` (or the tests with `make test`)",
            venv.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        // The watchdog loop ends moto when this test process (its parent) exits.
        let script = format!(
            "{} {} -H 127.0.0.1 -p {port} >/dev/null 2>&1 & M=$!; while kill -0 {} 2>/dev/null; do sleep 1; done; kill $M",
            python.display(),
            root.join("infra/local/moto_server.py").display(),
            std::process::id()
        );
        // Deliberately not waited for: the watchdog outlives every test and ends with the process.
        #[allow(clippy::zombie_processes)]
        std::process::Command::new("bash")
            .args(["-c", &script])
            .spawn()
            .expect("start moto");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen on port {port} within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        format!("http://127.0.0.1:{port}")
    })
    .clone()
}

/// A store on a new, empty table shaped like the template's.
pub async fn store() -> Store {
    let conf = aws_sdk_dynamodb::config::Builder::new()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(moto_url())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "tests",
        ))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let table = format!("t-{}", crate::crypto::random_token(9).replace(['-', '_'], "x"));
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let num = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::N)
            .build()
            .unwrap()
    };
    // The template's indexes: gsi1 and the feed's (docs/posts.md, "Listings and indexes").
    let index = |name: &str, hash: &str, range: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .set_key_schema(Some(vec![key(hash, KeyType::Hash), key(range, KeyType::Range)]))
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()
            .unwrap()
    };
    let indexes = vec![
        index("gsi1", "gsi1pk", "gsi1sk"),
        index("activity", "lst", "activity"),
        index("hot", "hot_pk", "hot"),
        index("top", "lst", "upvotes"),
        index("topweek", "top_w", "upvotes"),
        index("topmonth", "top_m", "upvotes"),
    ];
    let attributes = vec![
        attr("pk"),
        attr("sk"),
        attr("gsi1pk"),
        attr("gsi1sk"),
        attr("lst"),
        num("activity"),
        attr("hot_pk"),
        num("hot"),
        num("upvotes"),
        attr("top_w"),
        attr("top_m"),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let created = client
            .create_table()
            .table_name(&table)
            .set_attribute_definitions(Some(attributes.clone()))
            .set_key_schema(Some(vec![key("pk", KeyType::Hash), key("sk", KeyType::Range)]))
            .set_global_secondary_indexes(Some(indexes.clone()))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => return Store::new(client, table),
            // moto listens a moment before it answers.
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot create the test table: {e:?}"),
        }
    }
}
