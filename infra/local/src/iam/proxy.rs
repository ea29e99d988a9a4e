//! The functions' AWS endpoint: identifies the calling function by its
//! access key id, checks the request against its role, and forwards allowed
//! calls to the stand-in unchanged. Refused calls never reach the stand-in.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::policy::Decision;
use super::request::{self, Access};
use super::{denied, Role};

/// A call the check refused (for tests and `/_local/iam`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Denial {
    pub function: String,
    pub operation: String,
    pub action: String,
    pub resource: String,
}

pub struct Guard {
    /// Access key id (the function's logical id) → its role.
    roles: BTreeMap<String, Role>,
    moto: String,
    client: reqwest::Client,
    denials: Mutex<Vec<Denial>>,
    /// What each SES `SendEmail` carried, by SES message id: the stand-in
    /// keeps only the HTML part and no headers (see `outbox`).
    sent_mail: crate::outbox::SentMail,
    /// Allowed calls per `<function> <operation>`, for measurements.
    calls: Mutex<BTreeMap<String, u64>>,
}

impl Guard {
    pub fn new(roles: BTreeMap<String, Role>, moto_url: &str) -> Self {
        Self {
            roles,
            moto: moto_url.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            denials: Mutex::default(),
            sent_mail: crate::outbox::SentMail::default(),
            calls: Mutex::default(),
        }
    }

    /// How many calls each function made, by operation (`DigestSenderFunction SendEmail` → n).
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.calls.lock().expect("calls lock").clone()
    }

    /// The `SendEmail` requests that went through, for the local outbox.
    pub fn sent_mail(&self) -> crate::outbox::SentMail {
        self.sent_mail.clone()
    }

    pub fn roles(&self) -> &BTreeMap<String, Role> {
        &self.roles
    }

    pub fn denials(&self) -> Vec<Denial> {
        self.denials.lock().expect("denials lock").clone()
    }

    /// The first check `access` fails for `key`'s role, if any.
    pub fn check(&self, key: &str, access: &Access) -> Option<(String, String, Decision)> {
        let role = self.roles.get(key)?;
        access
            .checks
            .iter()
            .find_map(|(action, resource)| match role.policy.decide(action, resource) {
                Decision::Allow => None,
                why => Some((action.clone(), resource.clone(), why)),
            })
    }
}

/// Serves the guard on a free loopback port until `stop`; returns its URL.
pub async fn serve(guard: Arc<Guard>, mut stop: watch::Receiver<bool>) -> Result<String, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("IAM proxy: {e}"))?;
    let url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let app = axum::Router::new()
        .fallback(handle)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(guard);
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.changed().await;
        };
        let _ = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    });
    Ok(url)
}

/// The access key id of a SigV4 request (header or presigned query).
fn access_key(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let from_header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .map(str::to_string);
    let from_query = || {
        url::form_urlencoded::parse(uri.query()?.as_bytes())
            .find(|(k, _)| k == "X-Amz-Credential")
            .map(|(_, v)| v.into_owned())
    };
    let credential = from_header.or_else(from_query)?;
    credential.split('/').next().map(str::to_string)
}

/// The SigV4 scope's service (`…/<date>/<region>/<service>/aws4_request`).
fn scope_service(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let credential = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .map(|c| c.split([',', ' ']).next().unwrap_or(c).to_string())
        .or_else(|| {
            url::form_urlencoded::parse(uri.query()?.as_bytes())
                .find(|(k, _)| k == "X-Amz-Credential")
                .map(|(_, v)| v.into_owned())
        })?;
    credential.split('/').nth(3).map(str::to_string)
}

async fn handle(
    State(guard): State<Arc<Guard>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = access_key(&headers, &uri).filter(|k| guard.roles.contains_key(k)) else {
        return plain(
            StatusCode::FORBIDDEN,
            "The security token included in the request is invalid (not a function of this stack).",
        );
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let service = scope_service(&headers, &uri);
    let incoming = request::Incoming {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        target: header("x-amz-target"),
        service: service.as_deref(),
        copy_source: header("x-amz-copy-source"),
        body: &body,
    };
    let role = &guard.roles[&key];
    let access = match request::access(&incoming) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(function = %key, error = %e, "IAM: request not understood, refused");
            return plain(StatusCode::FORBIDDEN, &format!("local IAM check: {e}"));
        }
    };
    if let Some((action, resource, why)) = guard.check(&key, &access) {
        tracing::warn!(function = %key, operation = %access.operation, %action, %resource, "IAM: AccessDenied");
        guard.denials.lock().expect("denials lock").push(Denial {
            function: key.clone(),
            operation: access.operation.clone(),
            action: action.clone(),
            resource: resource.clone(),
        });
        let principal = denied::principal(&role.role, &role.function);
        let message = denied::message(access.protocol, &principal, &action, &resource, why);
        return denied::response(access.protocol, &message, method == Method::HEAD);
    }
    *guard
        .calls
        .lock()
        .expect("calls lock")
        .entry(format!("{key} {}", access.operation))
        .or_default() += 1;
    let capture = (access.operation == "SendEmail").then(|| body.clone());
    forward(&guard, method, &uri, &headers, body, capture).await
}

async fn forward(
    guard: &Guard,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
    capture: Option<Bytes>,
) -> Response {
    let target = format!(
        "{}{}",
        guard.moto,
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    // A HEAD answer's length describes the object, not its empty body.
    let head = method == Method::HEAD;
    let mut req = guard.client.request(method, target).body(body);
    for (k, v) in headers {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status();
            let h = r.headers().clone();
            let bytes = r.bytes().await.unwrap_or_default();
            if let Some(request) = capture.filter(|_| status.is_success()) {
                crate::outbox::record(&guard.sent_mail, &request, &bytes);
            }
            let mut resp = Response::new(Body::from(bytes));
            *resp.status_mut() = status;
            for (k, v) in &h {
                if k != "transfer-encoding" && (head || k != "content-length") && k != "connection" {
                    resp.headers_mut().append(k, v.clone());
                }
            }
            resp
        }
        Err(e) => plain(StatusCode::BAD_GATEWAY, &format!("AWS stand-in unreachable: {e}")),
    }
}

fn plain(status: StatusCode, text: &str) -> Response {
    let mut r = Response::new(Body::from(text.to_string()));
    *r.status_mut() = status;
    r
}
