//! The AWS stand-in: `moto_server` from the project's virtualenv, on loopback.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

pub struct Moto {
    child: Option<Child>,
    pub url: String,
}

impl Moto {
    /// Starts the stand-in (see `launcher`) of the clone at `root` on a
    /// free loopback port and waits until it answers.
    pub async fn spawn(root: &Path, venv: &Path, log: &Path) -> Result<Self, String> {
        let port = crate::free_port()?;
        let (bin, args) = launcher(root, venv, port)?;
        let log_file = std::fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let child = Command::new(&bin)
            .args(&args)
            .stdout(Stdio::from(log_file.try_clone().map_err(|e| e.to_string())?))
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let moto = Self {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
        };
        moto.wait_ready(Duration::from_secs(30)).await?;
        Ok(moto)
    }

    /// Uses a stand-in someone else started (tests share one per binary).
    pub fn existing(url: &str) -> Self {
        Self {
            child: None,
            url: url.trim_end_matches('/').to_string(),
        }
    }

    async fn wait_ready(&self, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}/moto-api/", self.url)).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if started.elapsed() > timeout {
                return Err(format!("moto did not answer on {} within {timeout:?}", self.url));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }
}

/// The command that runs moto with the fixes in `infra/local/moto_server.py`
/// of the clone at `root` (`LODGE_ROOT`): never a path fixed at build time,
/// which would run whichever clone last built this crate.
pub fn launcher(root: &Path, venv: &Path, port: u16) -> Result<(std::path::PathBuf, Vec<String>), String> {
    let python = venv.join("bin/python");
    if !venv.join("bin/moto_server").exists() {
        return Err(format!(
            "moto is not installed in {} — `make dev` and `make test` install it",
            venv.display()
        ));
    }
    let script = root.join("infra/local/moto_server.py");
    if !script.exists() {
        return Err(format!(
            "{} is missing: LODGE_ROOT must be the repository (`make dev` and `make test` set it)",
            script.display()
        ));
    }
    Ok((
        python,
        vec![
            script.display().to_string(),
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ],
    ))
}
