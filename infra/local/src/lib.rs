//! `lodge-local`: Lodge on one machine with no AWS account and no Docker.
//!
//! It starts from `template.yaml`: creates the declared resources in the AWS
//! stand-in, builds each function's environment by resolving the template's
//! intrinsics, serves every HttpApi route as API Gateway would, polls every
//! SQS trigger like an event source mapping and runs schedules on demand.

pub mod functions;
pub mod gateway;
pub mod iam;
pub mod moto;
pub mod outbox;
pub mod poller;
pub mod provision;
pub mod schedule;
pub mod telegram;
pub mod template;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use lodge::SharedClock;
use serde_json::json;
use tokio::sync::watch;

use functions::Invoker;
use gateway::{Match, RouteTable};
use template::{Physical, Resolver, Template};

pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

pub struct Options {
    pub template: PathBuf,
    /// Where to serve; `None` picks a free port.
    pub listener: Option<std::net::TcpListener>,
    pub moto_url: String,
    /// Prepended to every physical resource name (tests isolate stacks with it).
    pub prefix: String,
    /// Variables for every function, above everything else.
    pub overrides: BTreeMap<String, String>,
    /// Let the shell's environment reach the functions (`make dev`).
    pub inherit_env: bool,
    pub clock: SharedClock,
    pub admin_email: String,
    /// Multiplies every queue's default visibility timeout (see
    /// `provision::VISIBILITY_SCALE_VAR`); 1 is AWS's timing.
    pub visibility_scale: f64,
    /// Run the queue pollers (off only for measurements of request handlers).
    pub poll: bool,
}

impl Options {
    pub fn new(template: PathBuf, moto_url: &str) -> Self {
        Self {
            template,
            listener: None,
            moto_url: moto_url.to_string(),
            prefix: "lodge-local-".into(),
            overrides: BTreeMap::new(),
            inherit_env: false,
            clock: lodge::clock::system(),
            admin_email: "admin@lodge.local".into(),
            visibility_scale: 1.0,
            poll: true,
        }
    }
}

/// A running local stack. Dropping it (or `stop`) ends its server and pollers.
pub struct Stack {
    pub url: String,
    pub moto_url: String,
    pub template: Template,
    pub physical: Physical,
    pub sqs: aws_sdk_sqs::Client,
    pub aws: lodge::aws::SdkConfig,
    /// Each function's own config: its credentials, through the IAM check.
    pub function_aws: BTreeMap<String, lodge::aws::SdkConfig>,
    /// The IAM check between the functions and the stand-in.
    pub iam: Arc<iam::proxy::Guard>,
    /// The environment each function got, by logical id (for tests and `/_local`).
    pub envs: BTreeMap<String, BTreeMap<String, String>>,
    /// The Bot API fake every function talks to (`TELEGRAM_API_BASE`).
    pub telegram: telegram::FakeTelegram,
    stop: watch::Sender<bool>,
    receiving: Arc<poller::Receiving>,
}

impl Stack {
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Stops the stack and returns once none of its queue pollers has a
    /// receive in flight: after that, no message sent to its queues can be
    /// taken by it (a successor on the same queues gets everything).
    pub async fn shut_down(self) {
        self.stop();
        self.receiving.none().await;
    }

    /// Env var `name` as function `logical_id` sees it.
    pub fn env(&self, logical_id: &str, name: &str) -> Option<&str> {
        self.envs.get(logical_id)?.get(name).map(String::as_str)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Shared {
    routes: RouteTable,
    schedules: HashMap<String, (String, Invoker)>,
    /// SNS-triggered functions, by binary name and logical id.
    sns: HashMap<String, (String, Invoker)>,
    outbox: outbox::Outbox,
    iam: Arc<iam::proxy::Guard>,
    index: serde_json::Value,
}

pub async fn sdk_config(moto_url: &str) -> lodge::aws::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_url)
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "lodge-local",
        ))
        .load()
        .await
}

/// A function's view of AWS: its own access key id (its logical id, which
/// the IAM check maps to its role) and the IAM check as endpoint.
pub fn function_config(base: &lodge::aws::SdkConfig, iam_url: &str, logical_id: &str) -> lodge::aws::SdkConfig {
    base.to_builder()
        .endpoint_url(iam_url)
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new(logical_id, "local", None, None, "lodge-local-iam"),
        ))
        .build()
}

pub async fn start(opts: Options) -> Result<Stack, String> {
    let template = Template::load(&opts.template)?;
    let std_listener = match opts.listener {
        Some(l) => l,
        None => std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?,
    };
    std_listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let addr = std_listener.local_addr().map_err(|e| e.to_string())?;
    let url = format!("http://127.0.0.1:{}", addr.port());
    let aws = sdk_config(&opts.moto_url).await;

    // Parameters: the template's defaults, then local values for the rest.
    let mut params: BTreeMap<String, String> = template
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()))
        .collect();
    for (k, v) in [
        ("AppUrl", url.clone()),
        ("MailFrom", "Lodge <no-reply@lodge.local>".into()),
        ("AdminEmails", opts.admin_email.clone()),
        ("SecretsName", "lodge/local".into()),
        // The fake Bot API's own name (its getMe) and a made-up moderators'
        // group; LODGE_TELEGRAM_* in the shell (make dev) or test overrides win.
        ("TelegramBotUsername", "lodge_local_bot".into()),
        ("TelegramAdminChatId", "-1001000000001".into()),
    ] {
        params.insert(k.into(), v);
    }
    let clients = provision::Clients {
        dynamodb: lodge::aws::dynamodb(&aws),
        sqs: lodge::aws::sqs(&aws),
        s3: lodge::aws::s3(&aws),
        ses: lodge::aws::sesv2(&aws),
    };
    let physical = provision::provision(&template, &clients, &opts.prefix, &params, opts.visibility_scale).await?;
    provision::verify_sender(&clients.ses, &params["MailFrom"]).await?;

    // Secrets: fresh random values each run — nothing secret lives in the repo.
    let secrets: BTreeMap<String, String> = [
        "session_key",
        "code_key",
        "telegram_bot_token",
        "telegram_webhook_secret",
        "unsubscribe_key",
    ]
    .into_iter()
    .map(|k| (k.to_string(), lodge::crypto::random_token(32)))
    .collect();
    let resolver = Resolver {
        template: &template,
        params: &params,
        physical: &physical,
        secrets: &secrets,
    };
    let (stop, stop_rx) = watch::channel(false);
    let receiving = Arc::new(poller::Receiving::default());
    let roles = iam::roles(&opts.template, &resolver, &opts.prefix)?;
    if let Some(f) = template.functions.iter().find(|f| !roles.contains_key(&f.logical_id)) {
        return Err(format!("{}: no IAM role in the transformed template", f.logical_id));
    }
    let guard = Arc::new(iam::proxy::Guard::new(roles, &opts.moto_url));
    let iam_url = iam::proxy::serve(guard.clone(), stop_rx.clone()).await?;

    let fake_telegram = telegram::FakeTelegram::at(format!("{url}/_local/telegram"));
    let mut envs = BTreeMap::new();
    let mut function_aws = BTreeMap::new();
    let mut invokers = HashMap::new();
    for f in &template.functions {
        let mut env = BTreeMap::new();
        for (k, v) in template.global_env.iter().chain(&f.env) {
            match resolver.resolve(v).map_err(|e| format!("{}.{k}: {e}", f.logical_id))? {
                Some(value) => env.insert(k.clone(), value),
                None => env.remove(k),
            };
        }
        env.insert("TELEGRAM_API_BASE".into(), fake_telegram.url.clone());
        env.insert("AWS_LAMBDA_FUNCTION_NAME".into(), f.logical_id.clone());
        if opts.inherit_env {
            env.extend(std::env::vars());
        }
        env.extend(opts.overrides.clone());
        let own_aws = function_config(&aws, &iam_url, &f.logical_id);
        let invoker = functions::build(
            &f.binary,
            &lodge::Env::from_map(env.clone().into_iter().collect()),
            &own_aws,
            opts.clock.clone(),
        )?;
        invokers.insert(f.logical_id.clone(), invoker);
        function_aws.insert(f.logical_id.clone(), own_aws);
        envs.insert(f.logical_id.clone(), env);
    }

    // The first admin, as `AdminEmails` makes one on AWS at first sign-in.
    if let Some((table_id, _)) = template.of_kind("AWS::DynamoDB::Table").next() {
        let store = lodge::store::Store::new(clients.dynamodb.clone(), physical.refs[table_id].clone());
        let email = lodge::domain::Email::parse(&opts.admin_email).map_err(|e| format!("LODGE_ADMIN_EMAIL: {e}"))?;
        store
            .members()
            .ensure_admin(&email, opts.clock.now())
            .await
            .map_err(|e| format!("seeding the admin: {e}"))?;
    }

    let mut pollers = Vec::new();
    for f in &template.functions {
        for q in &f.queues {
            let Some(Invoker::Sqs(handler)) = invokers.get(&f.logical_id).cloned() else {
                return Err(format!(
                    "{} has an SQS trigger but is not an SQS consumer",
                    f.logical_id
                ));
            };
            let poller = poller::QueuePoller {
                function: f.logical_id.clone(),
                queue_url: physical
                    .refs
                    .get(&q.queue)
                    .cloned()
                    .ok_or_else(|| format!("unknown queue {}", q.queue))?,
                queue_arn: physical
                    .attrs
                    .get(&format!("{}.Arn", q.queue))
                    .cloned()
                    .unwrap_or_default(),
                batch_size: q.batch_size,
                batching_window: q.batching_window,
                reports_failures: q.reports_failures,
                timeout: f.timeout,
            };
            pollers.push(json!({"function": f.logical_id, "queue": q.queue, "url": poller.queue_url}));
            if opts.poll {
                poller.spawn(
                    q.max_concurrency.unwrap_or(poller::DEFAULT_CONCURRENCY),
                    &clients.sqs,
                    &handler,
                    &stop_rx,
                    &receiving,
                );
            }
        }
    }

    let routes: Vec<_> = template
        .routes()
        .map(|(f, r)| (r.clone(), invokers[&f.logical_id].clone(), f.timeout))
        .collect();
    let route_keys: Vec<_> = template
        .routes()
        .map(|(f, r)| json!({"route": r.key(), "function": f.logical_id}))
        .collect();
    let mut schedules = HashMap::new();
    for f in template.functions.iter().filter(|f| !f.schedules.is_empty()) {
        let inv = invokers[&f.logical_id].clone();
        schedules.insert(f.binary.clone(), (f.logical_id.clone(), inv.clone()));
        schedules.insert(f.logical_id.clone(), (f.logical_id.clone(), inv));
    }
    let mut sns = HashMap::new();
    for f in template.functions.iter().filter(|f| !f.topics.is_empty()) {
        let inv = invokers[&f.logical_id].clone();
        sns.insert(f.binary.clone(), (f.logical_id.clone(), inv.clone()));
        sns.insert(f.logical_id.clone(), (f.logical_id.clone(), inv));
    }
    let schedule_names: Vec<_> = template
        .functions
        .iter()
        .filter(|f| !f.schedules.is_empty())
        .map(|f| json!({"function": f.logical_id, "binary": f.binary, "schedules": f.schedules}))
        .collect();
    let shared = Arc::new(Shared {
        routes: RouteTable::new(routes),
        schedules,
        sns,
        outbox: outbox::Outbox::with_sent(&opts.moto_url, guard.sent_mail()),
        iam: guard.clone(),
        index: json!({"routes": route_keys, "pollers": pollers, "schedules": schedule_names, "moto": opts.moto_url}),
    });
    let app = Router::new()
        .route("/_local", get(index))
        .route("/_local/outbox", get(outbox_json))
        .route("/_local/outbox.html", get(outbox_html))
        .route("/_local/iam", get(iam_denials))
        .nest("/_local/telegram", fake_telegram.router())
        .route("/_local/schedule/{function}", post(run_schedule))
        .route("/_local/sns/{function}", post(run_sns))
        .fallback(api_gateway)
        .layer(DefaultBodyLimit::max(gateway::MAX_BODY))
        .with_state(shared);
    let listener = tokio::net::TcpListener::from_std(std_listener).map_err(|e| e.to_string())?;
    let mut server_stop = stop_rx.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = server_stop.changed().await;
        };
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
    });
    Ok(Stack {
        url,
        moto_url: opts.moto_url,
        template,
        physical,
        sqs: clients.sqs,
        aws,
        function_aws,
        iam: guard,
        envs,
        telegram: fake_telegram,
        stop,
        receiving,
    })
}

async fn api_gateway(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return gateway::request_too_large();
    };
    match shared.routes.find(method.as_str(), uri.path()) {
        Match::Found { route, target, params } => {
            let request_id = lodge::crypto::random_token(12);
            let incoming = gateway::Incoming {
                method: &method,
                uri: &uri,
                headers: &headers,
                body: &body,
                peer,
                request_id: &request_id,
            };
            let event = gateway::event(route, &params, &incoming);
            let mut reply = gateway::invoke(target, &event).await;
            if let Ok(v) = HeaderValue::from_str(&route.key()) {
                reply.headers_mut().insert("x-lodge-route", v);
            }
            reply
        }
        Match::WrongMethod { allowed } => {
            let mut r = gateway::local_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                &format!(
                    "{} is not allowed on {}; use {}.",
                    method,
                    uri.path(),
                    allowed.join(" or ")
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                r.headers_mut().insert("allow", v);
            }
            r
        }
        Match::None => gateway::local_error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("No route for {} {}.", method, uri.path()),
        ),
    }
}

async fn index(State(shared): State<Arc<Shared>>) -> Json<serde_json::Value> {
    Json(shared.index.clone())
}

async fn outbox_json(State(shared): State<Arc<Shared>>) -> Response {
    match shared.outbox.list().await {
        Ok(mails) => Json(mails).into_response(),
        Err(e) => gateway::local_error(StatusCode::BAD_GATEWAY, "moto_unreachable", &e),
    }
}

async fn outbox_html(State(shared): State<Arc<Shared>>) -> Response {
    match shared.outbox.list().await {
        Ok(mails) => Html(outbox::render_html(&mails)).into_response(),
        Err(e) => gateway::local_error(StatusCode::BAD_GATEWAY, "moto_unreachable", &e),
    }
}

/// Calls the IAM check refused, oldest first.
async fn iam_denials(State(shared): State<Arc<Shared>>) -> Json<Vec<iam::proxy::Denial>> {
    Json(shared.iam.denials())
}

/// Delivers an SNS event (the Lambda event, e.g. `events/mail-events/*.json`)
/// to an SNS-triggered function, as SNS would on AWS.
async fn run_sns(State(shared): State<Arc<Shared>>, Path(function): Path<String>, body: Bytes) -> Response {
    let Some((logical_id, Invoker::Schedule(handler))) = shared.sns.get(&function) else {
        return gateway::local_error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("No SNS-triggered function named {function:?}."),
        );
    };
    let event: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return gateway::local_error(StatusCode::BAD_REQUEST, "bad_event", &format!("not JSON: {e}")),
    };
    match tokio::spawn(handler(event)).await {
        Ok(Ok(())) => Json(json!({"function": logical_id, "status": "ok"})).into_response(),
        Ok(Err(e)) => gateway::local_error(StatusCode::INTERNAL_SERVER_ERROR, "function_error", &e),
        Err(_) => gateway::local_error(
            StatusCode::BAD_GATEWAY,
            "function_error",
            "The function panicked (see the log).",
        ),
    }
}

async fn run_schedule(State(shared): State<Arc<Shared>>, Path(function): Path<String>) -> Response {
    let Some((logical_id, invoker)) = shared.schedules.get(&function) else {
        return gateway::local_error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("No scheduled function named {function:?}."),
        );
    };
    let Invoker::Schedule(handler) = invoker else {
        return gateway::local_error(
            StatusCode::BAD_REQUEST,
            "not_scheduled",
            &format!("{logical_id} is not a scheduled function."),
        );
    };
    let now = lodge::clock::Clock::now(&lodge::clock::SystemClock);
    let event = json!({
        "version": "0", "id": lodge::crypto::random_token(12), "detail-type": "Scheduled Event", "source": "aws.scheduler",
        "account": ACCOUNT, "time": lodge::clock::rfc3339(now), "region": REGION,
        "resources": [format!("arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{logical_id}")], "detail": {}
    });
    match tokio::spawn(handler(event)).await {
        Ok(Ok(())) => Json(json!({"function": logical_id, "status": "ok"})).into_response(),
        Ok(Err(e)) => gateway::local_error(StatusCode::INTERNAL_SERVER_ERROR, "function_error", &e),
        Err(_) => gateway::local_error(
            StatusCode::BAD_GATEWAY,
            "function_error",
            "The function panicked (see the log).",
        ),
    }
}
