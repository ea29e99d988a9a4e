//! Test support: an isolated local stack per test, a client that talks to
//! it the way a browser or API client would (`client`), the bot's side of
//! Telegram (`telegram`) and waiting on conditions (`wait`).

pub mod client;
pub mod telegram;
pub mod wait;

pub use lodge_local::telegram::{Delivery, Edit, FakeTelegram, Faults, SendLimits};
pub use wait::{advancing, eventually, stays_false, wait_for};

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use lodge::clock::ManualClock;
use lodge_local::{Options, Stack};
use serde::Deserialize;

/// `LODGE_ROOT` (the Makefile sets it), else the repository holding this crate.
pub fn repo_root() -> PathBuf {
    match std::env::var_os("LODGE_ROOT") {
        Some(root) => PathBuf::from(root),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ is inside the repo")
            .to_path_buf(),
    }
}

/// One AWS stand-in per test binary: `LODGE_TEST_MOTO_URL`, or a `moto_server`
/// from the project venv that exits when this process does.
pub fn moto_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("LODGE_TEST_MOTO_URL") {
            return url;
        }
        let venv = std::env::var("LODGE_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo_root().join(".venv"));
        let port = lodge_local::free_port().expect("free port");
        let (bin, args) = lodge_local::moto::launcher(&repo_root(), &venv, port)
            .unwrap_or_else(|e| panic!("{e}; run the tests with `make test`"));
        // The watchdog loop ends moto when the test process (its parent) exits.
        let script = format!(
            "{} {} >/dev/null 2>&1 & M=$!; while kill -0 {} 2>/dev/null; do sleep 1; done; kill $M",
            bin.display(),
            args.join(" "),
            std::process::id()
        );
        // Deliberately not waited for: the watchdog outlives every test and ends with the process.
        #[allow(clippy::zombie_processes)]
        std::process::Command::new("bash")
            .args(["-c", &script])
            .spawn()
            .expect("start moto");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(std::time::Duration::from_millis(200));
                return url;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("moto did not start on {url}");
    })
    .clone()
}

/// Test stacks wait 1/20 of each queue's visibility timeout before a failed
/// message returns (`LODGE_VISIBILITY_SCALE` overrides it).
pub const TEST_VISIBILITY_SCALE: f64 = 0.05;

pub fn test_visibility_scale() -> f64 {
    lodge_local::provision::visibility_scale(TEST_VISIBILITY_SCALE).expect("LODGE_VISIBILITY_SCALE")
}

pub fn unique(label: &str) -> String {
    format!(
        "{label}-{}",
        &lodge::crypto::sha256_hex(lodge::crypto::random_token(16).as_bytes())[..10]
    )
}

pub struct TestApp {
    pub stack: Stack,
    pub url: String,
    pub clock: Arc<ManualClock>,
    pub admin: String,
    pub http: reqwest::Client,
    /// Resource name prefix and overrides, so `restart` finds the same resources.
    pub prefix: String,
    pub overrides: Vec<(String, String)>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub sent_at: String,
    /// Custom headers and the text part, as the function sent them.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub text: Option<String>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(overrides: &[(&str, &str)]) -> Self {
        let clock = ManualClock::new();
        let mut opts = Options::new(repo_root().join("template.yaml"), &moto_url());
        opts.prefix = format!("{}-", unique("t"));
        opts.clock = clock.clone();
        opts.visibility_scale = test_visibility_scale();
        opts.admin_email = format!("{}@lodge.test", unique("admin"));
        opts.overrides = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let admin = opts.admin_email.clone();
        let prefix = opts.prefix.clone();
        let overrides = opts.overrides.clone().into_iter().collect();
        let stack = lodge_local::start(opts).await.expect("local stack starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self {
            url: stack.url.clone(),
            stack,
            clock,
            admin,
            http,
            prefix,
            overrides,
        }
    }

    /// Stops every function and starts fresh ones on the same table and
    /// queues — a cold start / redeploy: only what is stored survives.
    pub async fn restart(self) -> Self {
        let TestApp {
            stack,
            clock,
            admin,
            http,
            prefix,
            overrides,
            ..
        } = self;
        // Until the old pollers' receives have ended (each hands back what
        // it took after the stop), a message sent now could go to them.
        stack.shut_down().await;
        let mut opts = Options::new(repo_root().join("template.yaml"), &moto_url());
        opts.prefix = prefix.clone();
        opts.clock = clock.clone();
        opts.visibility_scale = test_visibility_scale();
        opts.admin_email = admin.clone();
        opts.overrides = overrides.iter().cloned().collect();
        let stack = lodge_local::start(opts).await.expect("local stack restarts");
        Self {
            url: stack.url.clone(),
            stack,
            clock,
            admin,
            http,
            prefix,
            overrides,
        }
    }

    /// The Bot API fake the stack's functions call: script it, read its calls.
    pub fn telegram(&self) -> &FakeTelegram {
        &self.stack.telegram
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.at(path))
    }

    /// A same-origin form POST, as the app's own pages send it.
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http
            .post(self.at(path))
            .header("origin", &self.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded_pairs(fields))
    }

    pub fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::RequestBuilder {
        self.http
            .post(self.at(path))
            .header("accept", "application/json")
            .json(&body)
    }

    pub async fn outbox(&self) -> Vec<Mail> {
        self.get("/_local/outbox")
            .send()
            .await
            .expect("outbox")
            .json()
            .await
            .expect("outbox json")
    }

    pub async fn mails_to(&self, email: &str) -> Vec<Mail> {
        self.outbox()
            .await
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == email))
            .collect()
    }

    /// The code in the newest sign-in email to `email`. Newest with a code:
    /// a notification (a new intro to review) can land after it, and the
    /// code's email is sent before its request answers.
    pub async fn latest_code(&self, email: &str) -> String {
        let mails = self.mails_to(email).await;
        mails
            .iter()
            .rev()
            .find_map(|m| extract_code(&m.body))
            .unwrap_or_else(|| panic!("no sign-in code in the {} emails to {email}", mails.len()))
    }

    /// Requests and redeems a code; returns the session cookie (`name=value`).
    pub async fn sign_in(&self, email: &str) -> String {
        let r = self.post_form("/auth/email", &[("email", email)]).send().await.unwrap();
        assert_eq!(r.status(), 200, "requesting a code for {email}");
        let code = self.latest_code(email).await;
        let r = self
            .post_form("/auth/code", &[("email", email), ("code", &code)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "redeeming the code for {email}");
        session_cookie(&r).expect("a session cookie")
    }

    /// Creates an invite as the member behind `cookie`; returns its code.
    pub async fn invite(&self, cookie: &str) -> String {
        let r = self
            .as_member(cookie)
            .post_json("/api/invites", serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "creating an invite");
        let body: serde_json::Value = r.json().await.unwrap();
        body["code"].as_str().unwrap().to_string()
    }

    /// Joins with `code` as `email` and signs in; returns the session cookie.
    pub async fn join(&self, code: &str, email: &str) -> String {
        let r = self
            .post_form(&format!("/invite/{code}/activate"), &[("email", email)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "activating {code}");
        let sign_in = self.latest_code(email).await;
        let r = self
            .post_form(
                "/auth/code",
                &[("email", email), ("code", &sign_in), ("next", "/intro")],
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        session_cookie(&r).expect("session")
    }

    /// A newcomer who joined and sent an intro; returns (email, cookie, member id).
    pub async fn newcomer_on_review(&self, admin_cookie: &str, name: &str) -> (String, String, String) {
        let code = self.invite(admin_cookie).await;
        let email = format!("{}@example.org", unique("new"));
        let cookie = self.join(&code, &email).await;
        let about = "I studied here in 2015 and would love to meet old friends again.";
        let r = self
            .as_member(&cookie)
            .post_form("/intro", &[("name", name), ("about", about), ("links", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "submitting the intro");
        let member = self.as_member(&cookie).member().await;
        assert_eq!(member["status"], "on_review");
        (email, cookie, member["id"].as_str().unwrap().to_string())
    }

    /// Polls the outbox until `check` holds (mail sent by queue consumers arrives asynchronously).
    pub async fn wait_for_mail(&self, to: &str, check: impl Fn(&[Mail]) -> bool) -> Vec<Mail> {
        let found = wait::eventually(std::time::Duration::from_secs(10), async || {
            check(&self.mails_to(to).await)
        })
        .await;
        let mails = self.mails_to(to).await;
        assert!(
            found,
            "expected mail to {to} did not arrive: {:?}",
            mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
        );
        mails
    }

    pub fn table(&self) -> String {
        self.stack.physical.refs["Table"].clone()
    }

    pub fn queue_url(&self, logical_id: &str) -> String {
        self.stack.physical.refs[logical_id].clone()
    }

    /// Messages on queue `logical_id`: visible, in flight or delayed.
    pub async fn queue_depth(&self, logical_id: &str) -> u64 {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .stack
            .sqs
            .get_queue_attributes()
            .queue_url(self.queue_url(logical_id))
            .attribute_names(A::All)
            .send()
            .await
            .expect("queue attributes");
        let attrs = out.attributes.unwrap_or_default();
        [
            A::ApproximateNumberOfMessages,
            A::ApproximateNumberOfMessagesNotVisible,
            A::ApproximateNumberOfMessagesDelayed,
        ]
        .iter()
        .map(|a| attrs.get(a).and_then(|v| v.parse::<u64>().ok()).unwrap_or_default())
        .sum()
    }

    /// Waits until every message on queue `logical_id` was handled (none
    /// left, none in flight): what the consumers were going to do is done.
    pub async fn drained(&self, logical_id: &str) {
        let done = wait::eventually(std::time::Duration::from_secs(20), async || {
            self.queue_depth(logical_id).await == 0
        })
        .await;
        assert!(
            done,
            "{logical_id} still holds {} message(s)",
            self.queue_depth(logical_id).await
        );
    }

    pub fn store(&self) -> lodge::store::Store {
        lodge::store::Store::new(lodge::aws::dynamodb(&self.stack.aws), self.table())
    }
}

pub fn serde_urlencoded_pairs(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

pub fn extract_code(html: &str) -> Option<String> {
    let start = html.find("data-login-code>")? + "data-login-code>".len();
    Some(html[start..start + 6].to_string())
}

/// `lodge_session=…` from a response's `Set-Cookie`, if it sets a session.
pub fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("lodge_session=") && !c.starts_with("lodge_session=;"))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}
