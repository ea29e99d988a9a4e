//! A pass-through proxy in front of the AWS stand-in that makes SES refuse
//! chosen recipients, as SES does: for good (`MessageRejected`, e.g. an
//! address a sandbox account has not verified) or once (throttling). A
//! function built on `sdk_config()` talks to AWS through it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Every send to the address: 400 `MessageRejected`.
    Reject,
    /// Every send to the address, until `clear`: 429 `TooManyRequestsException`
    /// (the SDK retries throttling itself, so a one-off would not reach the caller).
    Throttle,
    /// Every send to the address never answers: the caller is stuck there
    /// until it is killed (a Lambda timeout or crash mid-send).
    Hang,
}

#[derive(Clone)]
pub struct AwsFaults {
    pub url: String,
    target: String,
    faults: Arc<Mutex<HashMap<String, Fault>>>,
    http: reqwest::Client,
}

impl AwsFaults {
    pub async fn start(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxy = AwsFaults {
            url: format!("http://{}", listener.local_addr().expect("addr")),
            target: target.trim_end_matches('/').to_string(),
            faults: Arc::default(),
            http: reqwest::Client::new(),
        };
        let app = Router::new().fallback(forward).with_state(proxy.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        proxy
    }

    pub fn fail(&self, address: &str, fault: Fault) {
        self.faults.lock().unwrap().insert(address.to_string(), fault);
    }

    pub fn clear(&self, address: &str) {
        self.faults.lock().unwrap().remove(address);
    }

    /// An SDK configuration whose every call goes through this proxy.
    pub async fn sdk_config(&self) -> lodge::aws::SdkConfig {
        lodge_local::sdk_config(&self.url).await
    }

    /// The fault for a SESv2 `SendEmail` body, if one applies.
    fn fault_for(&self, path: &str, body: &[u8]) -> Option<Fault> {
        if path != "/v2/email/outbound-emails" {
            return None;
        }
        let body: Value = serde_json::from_slice(body).ok()?;
        let to = body["Destination"]["ToAddresses"].as_array()?;
        let faults = self.faults.lock().unwrap();
        to.iter().filter_map(Value::as_str).find_map(|a| faults.get(a).copied())
    }
}

fn ses_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut r = (status, axum::Json(json!({"message": message}))).into_response();
    r.headers_mut()
        .insert("x-amzn-errortype", HeaderValue::from_str(code).expect("header"));
    r
}

async fn forward(State(proxy): State<AwsFaults>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, 16 * 1024 * 1024).await.unwrap_or_default();
    match proxy.fault_for(parts.uri.path(), &body) {
        Some(Fault::Reject) => {
            return ses_error(
                StatusCode::BAD_REQUEST,
                "MessageRejected",
                "Email address is not verified. The following identities failed the check.",
            )
        }
        Some(Fault::Throttle) => {
            return ses_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Maximum sending rate exceeded.",
            )
        }
        Some(Fault::Hang) => return futures::future::pending().await,
        None => {}
    }
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut out = proxy
        .http
        .request(parts.method.clone(), format!("{}{path}", proxy.target))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            out = out.header(name, value);
        }
    }
    let Ok(answer) = out.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let headers: Vec<(HeaderName, HeaderValue)> = answer
        .headers()
        .iter()
        .filter(|(n, _)| *n != "content-length" && *n != "transfer-encoding")
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let bytes = answer.bytes().await.unwrap_or_default();
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    r.headers_mut().extend(headers);
    r
}
