//! `make dev`: the AWS stand-in plus every route, queue and schedule of
//! `template.yaml`, on loopback.

use std::path::PathBuf;

#[tokio::main]
async fn main() {
    lodge::telemetry::init();
    if let Err(e) = run().await {
        eprintln!("\nlodge-local: {e}\n");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let port: u16 = match std::env::var("LODGE_PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("LODGE_PORT must be a port number, not {p:?}"))?,
        Err(_) => 3000,
    };
    let listener = match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(already_running(port).await),
        Err(e) => return Err(format!("cannot listen on 127.0.0.1:{port}: {e}")),
    };
    let root = PathBuf::from(std::env::var("LODGE_ROOT").unwrap_or_else(|_| ".".into()));
    let state_dir = root.join(".lodge");
    std::fs::create_dir_all(&state_dir).map_err(|e| format!("cannot create {}: {e}", state_dir.display()))?;
    let venv = std::env::var("LODGE_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join(".venv"));
    println!("Starting the AWS stand-in (moto)…");
    let mut moto = lodge_local::moto::Moto::spawn(&root, &venv, &state_dir.join("moto.log")).await?;
    let mut opts = lodge_local::Options::new(root.join("template.yaml"), &moto.url);
    opts.listener = Some(listener);
    opts.inherit_env = true;
    opts.visibility_scale = lodge_local::provision::visibility_scale(1.0)?;
    opts.admin_email = std::env::var("LODGE_ADMIN_EMAIL").unwrap_or_else(|_| "admin@lodge.local".into());
    let stack = lodge_local::start(opts).await?;
    let admin = stack
        .env("AuthEmailFunction", "LODGE_ADMIN_EMAILS")
        .unwrap_or("admin@lodge.local")
        .to_string();
    let routes = stack.template.routes().count();
    let queues: usize = stack.template.functions.iter().map(|f| f.queues.len()).sum();
    println!(
        "\n  Lodge is running: {url}\n\n  Sign in as the admin: {admin}\n  Sign-in codes arrive in the local outbox: {url}/_local/outbox.html\n  Telegram Bot API calls: {url}/_local/telegram\n  {routes} routes, {queues} queue consumer(s); AWS stand-in at {moto}\n\n  Ctrl-C stops everything.\n",
        url = stack.url,
        moto = stack.moto_url,
    );
    fire_schedules(&stack)?;
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    println!("\nStopping…");
    stack.stop();
    moto.stop().await;
    Ok(())
}

/// Runs each scheduled function on its schedule, as EventBridge Scheduler
/// does (through the runner's own `POST /_local/schedule/{function}`). A
/// run that fails is logged; the next comes on time.
fn fire_schedules(stack: &lodge_local::Stack) -> Result<(), String> {
    use lodge_local::schedule::Schedule;
    let http = reqwest::Client::new();
    for f in stack.template.functions.iter() {
        for expr in &f.schedules {
            let schedule = Schedule::parse(expr).map_err(|e| format!("{}: {e}", f.logical_id))?;
            let url = format!("{}/_local/schedule/{}", stack.url, f.logical_id);
            let (name, http) = (f.logical_id.clone(), http.clone());
            tokio::spawn(async move {
                loop {
                    let now = lodge::clock::Clock::now(&lodge::clock::SystemClock);
                    let next = schedule.next_after(now);
                    if next == i64::MAX {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_secs((next - now).max(1) as u64)).await;
                    match http.post(&url).send().await {
                        Ok(r) if r.status().is_success() => tracing::info!(function = %name, "schedule ran"),
                        Ok(r) => tracing::warn!(function = %name, status = %r.status(), "schedule run failed"),
                        Err(e) => tracing::warn!(function = %name, error = %e, "schedule run failed"),
                    }
                }
            });
        }
    }
    Ok(())
}

async fn already_running(port: u16) -> String {
    let url = format!("http://127.0.0.1:{port}");
    let is_lodge = reqwest::get(format!("{url}/_local"))
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false);
    if is_lodge {
        format!("Lodge is already running at {url} — open it there, or stop it (Ctrl-C in its terminal) before starting another.\nTo run a second copy side by side, set LODGE_PORT, e.g. `LODGE_PORT=3001 make dev`.")
    } else {
        format!("port {port} is taken by another program. Stop it, or choose another port: `LODGE_PORT=3001 make dev`.")
    }
}
