//! A tiny W3C WebDriver client for headless-Chromium browser tests.
//!
//! Drives Debian's `chromedriver` (package `chromium-driver`) over HTTP with
//! `reqwest`; no WebDriver crate is needed. Include it from a test crate with
//! `mod browser;` (the crate must depend on `reqwest` with the `json` feature,
//! `serde_json` and `tokio` with `time`).
//!
//! ```ignore
//! if !browser::available() { eprintln!("skipping: no chromium"); return; }
//! let b = browser::Browser::start().await?;
//! b.goto("http://127.0.0.1:3000/").await?;
//! b.fill("input[name=email]", "a@b.c").await?;
//! b.click("button[type=submit]").await?;
//! b.wait_for("#done", Duration::from_secs(5)).await?;
//! ```
//!
//! Install the browser with `infra/install-browser.sh`.
//!
//! `Browser` owns the chromedriver process (in its own process group, so the
//! Chromium processes it starts are killed with it) and a temporary directory
//! holding Chromium's `--user-data-dir` and the chromedriver log; both are
//! cleaned up on `Drop`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
/// The W3C key under which an element reference is returned.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long to wait for chromedriver to report ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Per-HTTP-request timeout towards chromedriver.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// True when both `/usr/bin/chromium` and `chromedriver` are installed.
pub fn available() -> bool {
    Path::new(CHROMIUM).exists() && chromedriver_path().is_some()
}

fn chromedriver_path() -> Option<PathBuf> {
    let default = PathBuf::from("/usr/bin/chromedriver");
    if default.exists() {
        return Some(default);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.is_file())
}

/// A headless Chromium session driven through chromedriver.
pub struct Browser {
    client: reqwest::Client,
    /// `http://127.0.0.1:PORT`
    base: String,
    port: u16,
    session: String,
    child: Option<Child>,
    /// Holds `profile/` (the user-data-dir) and `chromedriver.log`.
    tmp: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session.
    pub async fn start() -> Result<Browser, String> {
        let driver = chromedriver_path().ok_or("chromedriver not found (run infra/install-browser.sh)")?;
        if !Path::new(CHROMIUM).exists() {
            return Err(format!("{CHROMIUM} not found (run infra/install-browser.sh)"));
        }
        let tmp = unique_temp_dir()?;
        let profile = tmp.join("profile");
        std::fs::create_dir_all(&profile).map_err(|e| format!("create {}: {e}", profile.display()))?;

        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| format!("building HTTP client: {e}"))?;

        // The free port can be stolen between probing and chromedriver binding
        // it; retry a few times in that case.
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let port = free_port()?;
            let mut browser = Browser {
                client: client.clone(),
                base: format!("http://127.0.0.1:{port}"),
                port,
                session: String::new(),
                child: None,
                tmp: tmp.clone(),
            };
            if let Err(e) = browser.spawn_driver(&driver).await {
                last_err = e;
                // Keep the temp dir for the next attempt; Drop kills the driver.
                browser.tmp = PathBuf::new();
                continue;
            }
            // From here on `browser` owns the temp dir; Drop cleans up on error.
            browser.create_session(&profile).await?;
            return Ok(browser);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        Err(last_err)
    }

    async fn spawn_driver(&mut self, driver: &Path) -> Result<(), String> {
        let log_path = self.tmp.join("chromedriver.log");
        let log = std::fs::File::create(&log_path).map_err(|e| format!("create {}: {e}", log_path.display()))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(driver);
        cmd.arg(format!("--port={}", self.port))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2));
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd.spawn().map_err(|e| format!("spawn {}: {e}", driver.display()))?;
        self.child = Some(child);

        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "chromedriver exited early ({status}): {}",
                        read_tail(&log_path)
                    ));
                }
            }
            let ready = self
                .client
                .get(format!("{}/status", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(resp) = ready {
                if let Ok(v) = resp.json::<Value>().await {
                    if v["value"]["ready"].as_bool() == Some(true) {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "chromedriver not ready after {STARTUP_TIMEOUT:?}: {}",
                    read_tail(&log_path)
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn create_session(&mut self, profile: &Path) -> Result<(), String> {
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--no-first-run".to_string(),
            "--disable-quic".to_string(),
            "--disable-dev-shm-usage".to_string(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "implicit": 0, "pageLoad": 30000, "script": 30000 },
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": args,
                    }
                }
            }
        });
        let v = self.raw("POST", "/session", Some(caps)).await.map_err(|e| {
            format!(
                "{e}\nchromedriver log: {}",
                read_tail(&self.tmp.join("chromedriver.log"))
            )
        })?;
        self.session = v["sessionId"]
            .as_str()
            .ok_or_else(|| format!("new session: no sessionId in {v}"))?
            .to_string();
        Ok(())
    }

    /// Navigates to `url` and waits for the page load to finish.
    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await.map(drop)
    }

    /// The URL of the current top-level page.
    pub async fn current_url(&self) -> Result<String, String> {
        as_string(self.cmd("GET", "/url", None).await?, "current url")
    }

    /// The serialized DOM of the current page.
    pub async fn source(&self) -> Result<String, String> {
        as_string(self.cmd("GET", "/source", None).await?, "page source")
    }

    /// The page title.
    pub async fn title(&self) -> Result<String, String> {
        as_string(self.cmd("GET", "/title", None).await?, "title")
    }

    /// Visible (rendered) text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String, String> {
        let id = self.find(css).await?;
        as_string(
            self.cmd("GET", &format!("/element/{id}/text"), None).await?,
            "element text",
        )
    }

    /// Value of attribute `name` of the first element matching `css`.
    pub async fn attribute(&self, css: &str, name: &str) -> Result<Option<String>, String> {
        let id = self.find(css).await?;
        let v = self
            .cmd("GET", &format!("/element/{id}/attribute/{name}"), None)
            .await?;
        Ok(v.as_str().map(str::to_string))
    }

    /// Clears the first element matching `css` and types `value` into it.
    pub async fn fill(&self, css: &str, value: &str) -> Result<(), String> {
        let id = self.find(css).await?;
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({})))
            .await?;
        self.cmd("POST", &format!("/element/{id}/value"), Some(json!({ "text": value })))
            .await
            .map(drop)
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) -> Result<(), String> {
        let id = self.find(css).await?;
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})))
            .await
            .map(drop)
    }

    /// Number of elements currently matching `css`.
    pub async fn count(&self, css: &str) -> Result<usize, String> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await?;
        Ok(v.as_array().map(Vec::len).unwrap_or(0))
    }

    /// Polls until at least one element matches `css`, or fails after `timeout`.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            // A navigation in progress can make a single lookup fail
            // transiently; only give up at the deadline.
            let last = match self.count(css).await {
                Ok(n) if n > 0 => return Ok(()),
                Ok(_) => "no match".to_string(),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                let url = self.current_url().await.unwrap_or_default();
                return Err(format!(
                    "timed out after {timeout:?} waiting for `{css}` on {url} ({last})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs synchronous JavaScript `script` (a function body; `arguments` are
    /// `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.cmd("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
            .await
    }

    /// Resizes the browser window (useful before screenshots).
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), String> {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await
        .map(drop)
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<(), String> {
        let v = self.cmd("GET", "/screenshot", None).await?;
        let b64 = v.as_str().ok_or_else(|| format!("screenshot: not a string: {v}"))?;
        let png = base64_decode(b64)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        }
        std::fs::write(path, png).map_err(|e| format!("write {}: {e}", path.display()))
    }

    /// The text of the open alert, confirm or prompt dialog; `None` when none is open.
    pub async fn alert_text(&self) -> Result<Option<String>, String> {
        match self.cmd("GET", "/alert/text", None).await {
            Ok(v) => Ok(Some(v.as_str().unwrap_or_default().to_string())),
            Err(e) if e.contains("no such alert") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Runs `source` in every document before its own scripts (Chromium's
    /// DevTools `Page.addScriptToEvaluateOnNewDocument`, through chromedriver).
    pub async fn on_new_document(&self, source: &str) -> Result<(), String> {
        let cmd = json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": source}});
        self.cmd("POST", "/goog/cdp/execute", Some(cmd)).await.map(drop)
    }

    /// Ends the session and stops chromedriver (what `Drop` does, but async).
    pub async fn quit(mut self) {
        if !self.session.is_empty() {
            let _ = self.cmd("DELETE", "", None).await;
            self.session.clear();
        }
        // Drop kills the driver and removes the temp dir.
    }

    // ---- internals -------------------------------------------------------

    async fn find(&self, css: &str) -> Result<String, String> {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await
            .map_err(|e| format!("find `{css}`: {e}"))?;
        v[ELEMENT_KEY]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("find `{css}`: unexpected reply {v}"))
    }

    /// A command relative to `/session/{id}`; returns the reply's `value`.
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.raw(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    async fn raw(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.client.get(&url),
            "DELETE" => self.client.delete(&url),
            _ => self.client.post(&url).json(&body.unwrap_or_else(|| json!({}))),
        };
        let resp = req.send().await.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("{method} {path}: reading reply: {e}"))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|_| format!("{method} {path}: HTTP {status}: {}", truncate(&text, 500)))?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if !status.is_success() || value.get("error").is_some_and(|e| e.is_string()) {
            let error = value["error"].as_str().unwrap_or("unknown error");
            let message = value["message"].as_str().unwrap_or("");
            // Chromedriver appends a long "(Session info: ...)" and a stack
            // trace; the first line is what matters.
            let message = message.lines().next().unwrap_or("");
            return Err(format!("{method} {path}: {error}: {message}"));
        }
        Ok(value)
    }

    fn kill_driver(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id();
            let _ = child.kill();
            let _ = child.wait();
            // Chromium and its helpers are in chromedriver's process group;
            // sweep any that outlived the session.
            #[cfg(unix)]
            {
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() && self.child.is_some() {
            // Ask chromedriver to close Chromium cleanly. Drop cannot await,
            // so speak HTTP/1.1 over a plain blocking socket.
            let _ = delete_session_blocking(self.port, &self.session);
        }
        self.kill_driver();
        if !self.tmp.as_os_str().is_empty() {
            // Chromium may still be flushing the profile for a moment.
            for _ in 0..5 {
                if std::fs::remove_dir_all(&self.tmp).is_ok() || !self.tmp.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn delete_session_blocking(port: u16, session: &str) -> std::io::Result<()> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(2)))?;
    write!(
        s,
        "DELETE /session/{session} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    Ok(())
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn unique_temp_dir() -> Result<PathBuf, String> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("lodge-browser-{}-{nanos}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    Ok(dir)
}

fn read_tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn as_string(v: Value, what: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(format!("{what}: expected a string, got {other}")),
    }
}

/// Standard base64 (with optional padding / whitespace) decoder.
fn base64_decode(input: &str) -> Result<Vec<u8>, String> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some((c - b'A') as u32),
            b'a'..=b'z' => Some((c - b'a') as u32 + 26),
            b'0'..=b'9' => Some((c - b'0') as u32 + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in input.as_bytes() {
        if c == b'=' {
            break;
        }
        if c.is_ascii_whitespace() {
            continue;
        }
        let v = val(c).ok_or_else(|| format!("invalid base64 byte {c:#x}"))?;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}
