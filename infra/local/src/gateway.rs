//! API Gateway (HTTP API, payload 2.0) on loopback: each request becomes the
//! event API Gateway would send, and the matched function's handler answers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};

use crate::functions::{HttpFn, Invoker};
use crate::template::Route;

/// API Gateway's own request limit (HTTP API: 10 MB); past it, 413.
pub const MAX_BODY: usize = 10 * 1024 * 1024;
/// Lambda's limit on a synchronous invocation's event and on its response,
/// as its errors state it ("6291556 bytes": 6 MiB and 100 bytes).
pub const LAMBDA_PAYLOAD_MAX: usize = 6 * 1024 * 1024 + 100;

/// One route's function, with the function's `Timeout`.
#[derive(Clone)]
pub struct Target {
    pub handler: HttpFn,
    pub timeout: Duration,
}

pub struct RouteTable {
    pub routes: Vec<(Route, Target)>,
}

pub enum Match<'a> {
    Found {
        route: &'a Route,
        target: &'a Target,
        params: BTreeMap<String, String>,
    },
    WrongMethod {
        allowed: Vec<String>,
    },
    None,
}

impl RouteTable {
    pub fn new(routes: Vec<(Route, Invoker, Duration)>) -> Self {
        let routes = routes
            .into_iter()
            .filter_map(|(r, i, timeout)| match i {
                Invoker::Http(handler) => Some((r, Target { handler, timeout })),
                _ => None,
            })
            .collect();
        Self { routes }
    }

    /// Like API Gateway: literal segments beat `{param}`, `{proxy+}` matches the rest.
    pub fn find(&self, method: &str, path: &str) -> Match<'_> {
        let mut best: Option<(usize, &Route, &Target, BTreeMap<String, String>)> = None;
        let mut allowed = Vec::new();
        for (route, target) in &self.routes {
            if let Some((score, params)) = match_path(&route.path, path) {
                if route.method == method || route.method == "ANY" {
                    if best.as_ref().is_none_or(|(s, ..)| score > *s) {
                        best = Some((score, route, target, params));
                    }
                } else {
                    allowed.push(route.method.clone());
                }
            }
        }
        match best {
            Some((_, route, target, params)) => Match::Found { route, target, params },
            None if !allowed.is_empty() => Match::WrongMethod { allowed },
            None => Match::None,
        }
    }
}

fn match_path(pattern: &str, path: &str) -> Option<(usize, BTreeMap<String, String>)> {
    let pat: Vec<&str> = pattern.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let got: Vec<&str> = path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let mut params = BTreeMap::new();
    let mut score = 0;
    for (i, p) in pat.iter().enumerate() {
        if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            params.insert(name.to_string(), got.get(i..)?.join("/"));
            return Some((score, params));
        }
        let seg = got.get(i)?;
        if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            params.insert(name.to_string(), percent_decode(seg));
            score += 1;
        } else if p == seg {
            score += 2;
        } else {
            return None;
        }
    }
    (pat.len() == got.len()).then_some((score, params))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

/// One HTTP request as the gateway received it.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
    pub peer: SocketAddr,
    pub request_id: &'a str,
}

/// The payload-2.0 event for one request.
pub fn event(route: &Route, params: &BTreeMap<String, String>, req: &Incoming) -> Value {
    let Incoming {
        method,
        uri,
        headers,
        body,
        peer,
        request_id,
    } = *req;
    let mut hdrs = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).to_string();
        if name == "cookie" {
            // Payload 2.0 moves cookies out of the headers.
            cookies.extend(value.split(';').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()));
            continue;
        }
        match hdrs.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                hdrs.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    let raw_query = uri.query().unwrap_or_default();
    let mut query = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    let (body_value, is_base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_string()), false),
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        ),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let mut ev = json!({
        "version": "2.0",
        "routeKey": route.key(),
        "rawPath": uri.path(),
        "rawQueryString": raw_query,
        "headers": hdrs,
        "requestContext": {
            "accountId": crate::ACCOUNT,
            "apiId": "local",
            "domainName": host,
            "domainPrefix": "local",
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": peer.ip().to_string(),
                "userAgent": headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or_default(),
            },
            "requestId": request_id,
            "routeKey": route.key(),
            "stage": "$default",
            "time": lodge::clock::rfc3339(now.as_secs() as i64),
            "timeEpoch": now.as_millis() as u64,
        },
        "isBase64Encoded": is_base64,
    });
    if !cookies.is_empty() {
        ev["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        ev["queryStringParameters"] = Value::Object(query);
    }
    if !params.is_empty() {
        ev["pathParameters"] = json!(params);
    }
    if !body_value.is_null() {
        ev["body"] = body_value;
    }
    ev
}

/// Invokes the function as API Gateway does, and answers as API Gateway
/// does when Lambda fails: an event or a response over Lambda's payload
/// limit, or a crash, is an integration failure (500); a function past its
/// `Timeout` is stopped and answered 503.
pub async fn invoke(target: &Target, event: &Value) -> Response {
    let payload = event.to_string();
    if payload.len() > LAMBDA_PAYLOAD_MAX {
        tracing::error!(
            bytes = payload.len(),
            "the event exceeds Lambda's 6 MB invocation payload"
        );
        return integration_failed();
    }
    let request = match lambda_http::request::from_str(&payload) {
        Ok(r) => r,
        Err(e) => {
            return local_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("could not build the event: {e}"),
            )
        }
    };
    let mut task = tokio::spawn((target.handler)(request));
    let reply = match tokio::time::timeout(target.timeout, &mut task).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "function panicked");
            return integration_failed();
        }
        Err(_) => {
            task.abort();
            let _ = task.await;
            tracing::error!("Task timed out after {:.2} seconds", target.timeout.as_secs_f64());
            return aws_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
        }
    };
    let (parts, body) = reply.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(t) => t.into_bytes(),
        lambda_http::Body::Binary(b) => b,
        _ => Vec::new(),
    };
    let size = response_payload_len(parts.status, &parts.headers, &bytes);
    if size > LAMBDA_PAYLOAD_MAX {
        tracing::error!(
            bytes = size,
            "Response payload size exceeded maximum allowed payload size (6291556 bytes)"
        );
        return integration_failed();
    }
    (parts.status, parts.headers, bytes).into_response()
}

/// The size of the JSON the Lambda runtime returns for this response
/// (payload 2.0: headers folded, cookies apart, binary bodies in base64).
fn response_payload_len(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> usize {
    let mut hdrs = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).to_string();
        if name == "set-cookie" {
            cookies.push(Value::String(value));
        } else {
            hdrs.insert(name.as_str().to_string(), Value::String(value));
        }
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    json!({"statusCode": status.as_u16(), "headers": hdrs, "multiValueHeaders": {}, "cookies": cookies,
           "body": body, "isBase64Encoded": is_base64})
    .to_string()
    .len()
}

/// API Gateway's own error answer: `{"message": …}`.
pub fn aws_error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "message": message }))).into_response()
}

/// What API Gateway answers when the Lambda integration fails.
pub fn integration_failed() -> Response {
    aws_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// A request body over `MAX_BODY`.
pub fn request_too_large() -> Response {
    aws_error(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
}

pub fn local_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"error": {"code": code, "message": message}}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_like_api_gateway() {
        assert_eq!(match_path("/invite/{code}", "/invite/ABC").unwrap().1["code"], "ABC");
        assert!(match_path("/invite/{code}", "/invite").is_none());
        assert!(match_path("/", "/").is_some());
        assert!(match_path("/me", "/me/x").is_none());
        assert_eq!(match_path("/files/{proxy+}", "/files/a/b").unwrap().1["proxy"], "a/b");
        let lit = match_path("/invite/new", "/invite/new").unwrap().0;
        let var = match_path("/invite/{code}", "/invite/new").unwrap().0;
        assert!(lit > var);
    }

    fn target(timeout: Duration, answer: impl Fn() -> Option<String> + Send + Sync + 'static) -> Target {
        let answer = std::sync::Arc::new(answer);
        let handler: HttpFn = std::sync::Arc::new(move |_| {
            let answer = answer.clone();
            Box::pin(async move {
                match answer() {
                    Some(text) => lambda_http::Response::new(lambda_http::Body::Text(text)),
                    None => std::future::pending().await,
                }
            })
        });
        Target { handler, timeout }
    }

    fn get_event() -> Value {
        let route = Route {
            method: "GET".into(),
            path: "/x".into(),
        };
        let (method, uri, headers, body) = (Method::GET, "/x".parse().unwrap(), HeaderMap::new(), Bytes::new());
        let incoming = Incoming {
            method: &method,
            uri: &uri,
            headers: &headers,
            body: &body,
            peer: "127.0.0.1:9".parse().unwrap(),
            request_id: "r",
        };
        event(&route, &BTreeMap::new(), &incoming)
    }

    async fn answer(r: Response) -> (u16, Value) {
        let status = r.status().as_u16();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn a_function_past_its_timeout_is_answered_503() {
        let r = invoke(&target(Duration::from_millis(50), || None), &get_event()).await;
        assert_eq!(answer(r).await, (503, json!({"message": "Service Unavailable"})));
    }

    #[tokio::test]
    async fn a_response_over_lambdas_6_mb_fails_the_integration() {
        let empty = response_payload_len(StatusCode::OK, &HeaderMap::new(), b"");
        let fits = LAMBDA_PAYLOAD_MAX - empty;
        let at_limit = target(Duration::from_secs(5), move || Some("a".repeat(fits)));
        assert_eq!(invoke(&at_limit, &get_event()).await.status(), 200);
        let over = target(Duration::from_secs(5), move || Some("a".repeat(fits + 1)));
        let r = invoke(&over, &get_event()).await;
        assert_eq!(answer(r).await, (500, json!({"message": "Internal Server Error"})));
    }

    #[tokio::test]
    async fn an_event_over_lambdas_6_mb_fails_the_integration() {
        let ok = target(Duration::from_secs(5), || Some("ok".into()));
        let mut event = get_event();
        event["body"] = json!("");
        let room = LAMBDA_PAYLOAD_MAX - event.to_string().len();
        event["body"] = json!("a".repeat(room));
        assert_eq!(invoke(&ok, &event).await.status(), 200);
        event["body"] = json!("a".repeat(room + 1));
        let r = invoke(&ok, &event).await;
        assert_eq!(answer(r).await, (500, json!({"message": "Internal Server Error"})));
    }
}
