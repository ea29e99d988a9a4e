//! API Gateway (HTTP API, payload 2.0) on loopback: each request becomes the
//! event API Gateway would send, and the matched function's handler answers.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{json, Value};

use crate::functions::{HttpFn, Invoker};
use crate::template::Route;

/// API Gateway's own payload limit.
pub const MAX_BODY: usize = 10 * 1024 * 1024;

pub struct RouteTable {
    pub routes: Vec<(Route, HttpFn)>,
}

pub enum Match<'a> {
    Found {
        route: &'a Route,
        handler: &'a HttpFn,
        params: BTreeMap<String, String>,
    },
    WrongMethod {
        allowed: Vec<String>,
    },
    None,
}

impl RouteTable {
    pub fn new(routes: Vec<(Route, Invoker)>) -> Self {
        let routes = routes
            .into_iter()
            .filter_map(|(r, i)| match i {
                Invoker::Http(h) => Some((r, h)),
                _ => None,
            })
            .collect();
        Self { routes }
    }

    /// Like API Gateway: literal segments beat `{param}`, `{proxy+}` matches the rest.
    pub fn find(&self, method: &str, path: &str) -> Match<'_> {
        let mut best: Option<(usize, &Route, &HttpFn, BTreeMap<String, String>)> = None;
        let mut allowed = Vec::new();
        for (route, handler) in &self.routes {
            if let Some((score, params)) = match_path(&route.path, path) {
                if route.method == method || route.method == "ANY" {
                    if best.as_ref().is_none_or(|(s, ..)| score > *s) {
                        best = Some((score, route, handler, params));
                    }
                } else {
                    allowed.push(route.method.clone());
                }
            }
        }
        match best {
            Some((_, route, handler, params)) => Match::Found { route, handler, params },
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

/// Runs the handler; a panic becomes a 502 as on API Gateway, never a crash.
pub async fn invoke(handler: &HttpFn, event: &Value) -> Response {
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => {
            return local_error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                &format!("could not build the event: {e}"),
            )
        }
    };
    let fut = handler(request);
    match tokio::spawn(fut).await {
        Ok(reply) => {
            let (parts, body) = reply.into_parts();
            let bytes = match body {
                lambda_http::Body::Empty => Vec::new(),
                lambda_http::Body::Text(t) => t.into_bytes(),
                lambda_http::Body::Binary(b) => b,
                _ => Vec::new(),
            };
            (parts.status, parts.headers, bytes).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "function panicked");
            local_error(
                StatusCode::BAD_GATEWAY,
                "function_error",
                "The function failed (see the runner's log).",
            )
        }
    }
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
}
