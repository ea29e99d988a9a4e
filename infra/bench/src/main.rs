//! `lodge-bench <release-dir> <binary>... [--runs N] [--env-file F]`
//!
//! For each function binary: its size, and its cold init time — from spawning
//! the process until it first asks the Lambda Runtime API for work
//! (`GET /2018-06-01/runtime/invocation/next`), answered by a stub on
//! loopback that never hands out an event. Median and max over N starts.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::process::Command;

struct Args {
    dir: PathBuf,
    binaries: Vec<String>,
    runs: usize,
    env: Vec<(String, String)>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let dir = PathBuf::from(
        it.next()
            .ok_or("usage: lodge-bench <release-dir> <binary>... [--runs N] [--env-file F]")?,
    );
    let (mut binaries, mut runs, mut env) = (Vec::new(), 15, Vec::new());
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => runs = it.next().and_then(|n| n.parse().ok()).ok_or("--runs needs a number")?,
            "--env-file" => {
                let path = it.next().ok_or("--env-file needs a path")?;
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
                for line in text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                {
                    let (k, v) = line
                        .split_once('=')
                        .ok_or_else(|| format!("{path}: not KEY=VALUE: {line}"))?;
                    env.push((k.to_string(), v.to_string()));
                }
            }
            _ => binaries.push(a),
        }
    }
    if binaries.is_empty() || runs < 1 {
        return Err("name at least one binary, and --runs ≥ 1".into());
    }
    Ok(Args {
        dir,
        binaries,
        runs,
        env,
    })
}

/// One cold start: spawn, wait for the first `next` request, kill.
async fn cold_start(bin: &PathBuf, env: &[(String, String)]) -> Result<Duration, String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .envs(env.iter().cloned())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", bin.file_name().unwrap_or_default())
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let first_request = async {
        loop {
            let (mut sock, _) = listener.accept().await.map_err(|e| e.to_string())?;
            let mut buf = vec![0u8; 1024];
            let n = sock.read(&mut buf).await.map_err(|e| e.to_string())?;
            if String::from_utf8_lossy(&buf[..n]).contains("/runtime/invocation/next") {
                return Ok::<_, String>(started.elapsed());
            }
        }
    };
    let result = tokio::select! {
        t = first_request => t,
        status = child.wait() => {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err).await;
            }
            Err(format!("{} exited ({:?}) before asking for work:\n{err}", bin.display(), status.ok()))
        }
        _ = tokio::time::sleep(Duration::from_secs(10)) => Err(format!("{} did not ask for work within 10 s", bin.display())),
    };
    let _ = child.kill().await;
    result
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("lodge-bench: {e}");
            std::process::exit(2);
        }
    };
    let mut rows = Vec::new();
    for name in &args.binaries {
        let bin = args.dir.join(name);
        let size = match std::fs::metadata(&bin) {
            Ok(m) => m.len(),
            Err(e) => {
                eprintln!("lodge-bench: {}: {e}", bin.display());
                std::process::exit(1);
            }
        };
        let mut times = Vec::new();
        for _ in 0..args.runs {
            match cold_start(&bin, &args.env).await {
                Ok(t) => times.push(t),
                Err(e) => {
                    eprintln!("lodge-bench: {e}");
                    std::process::exit(1);
                }
            }
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        rows.push((
            name.clone(),
            size,
            ms(times[times.len() / 2]),
            ms(*times.last().unwrap()),
        ));
    }
    println!(
        "Cold start: process start → first Runtime API `next` request, {} starts each\n",
        args.runs
    );
    println!("| function | binary size | init median | init max |");
    println!("|---|---:|---:|---:|");
    for (name, size, median, max) in rows {
        println!(
            "| {name} | {:.1} MiB | {median:.1} ms | {max:.1} ms |",
            size as f64 / 1_048_576.0
        );
    }
}
