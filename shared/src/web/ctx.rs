use std::collections::HashMap;

use http::{HeaderMap, Method};
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;
use serde::de::DeserializeOwned;

use super::WebError;
use crate::config::AppUrl;

pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// One request, parsed once: route, query, headers, body and who sent it.
pub struct Ctx {
    pub method: Method,
    /// The API Gateway route key, e.g. `POST /auth/code` — the template's route.
    pub route: String,
    pub path: String,
    pub query: HashMap<String, String>,
    pub path_params: HashMap<String, String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub source_ip: String,
    pub request_id: String,
    /// The host the client used (API Gateway's `domainName`).
    pub domain: String,
    pub wants_json: bool,
}

impl Ctx {
    pub fn from_request(req: lambda_http::Request) -> Self {
        let query = req
            .query_string_parameters_ref()
            .map(|q| q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default();
        let path_params = req
            .path_parameters_ref()
            .map(|q| q.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default();
        let (route, source_ip, request_id, domain) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(c)) => (
                c.route_key.clone().unwrap_or_default(),
                c.http.source_ip.clone().unwrap_or_default(),
                c.request_id.clone().unwrap_or_default(),
                c.domain_name.clone().unwrap_or_default(),
            ),
            _ => Default::default(),
        };
        let (parts, body) = req.into_parts();
        let wants_json = parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json"));
        let route = if route.is_empty() {
            format!("{} {}", parts.method, parts.uri.path())
        } else {
            route
        };
        Self {
            method: parts.method,
            route,
            path: parts.uri.path().to_string(),
            query,
            path_params,
            headers: parts.headers,
            body: body.to_vec(),
            source_ip,
            request_id,
            domain,
            wants_json,
        }
    }

    /// The app's public URL: the configured one, else this API's own https URL.
    pub fn app_url(&self, configured: &Option<AppUrl>) -> Result<AppUrl, WebError> {
        match configured {
            Some(app) => Ok(app.clone()),
            None => AppUrl::parse(&format!("https://{}", self.domain))
                .map_err(|e| WebError::internal(format!("no LODGE_APP_URL and no usable domainName: {e}"))),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn user_agent(&self) -> &str {
        self.header("user-agent").unwrap_or_default()
    }

    pub fn param(&self, name: &str) -> Result<&str, WebError> {
        self.path_params
            .get(name)
            .map(String::as_str)
            .ok_or_else(WebError::not_found)
    }

    /// A path parameter parsed into its type: a malformed one names no page (404).
    pub fn path_param<T, E>(&self, name: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T, WebError> {
        parse(self.param(name)?).map_err(|_| WebError::not_found())
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    fn is_json_body(&self) -> bool {
        self.header("content-type")
            .is_some_and(|c| c.trim_start().starts_with("application/json"))
    }

    /// The body as typed fields: JSON when the client says so, otherwise a
    /// URL-encoded form. Missing or extra fields get a 400 naming the problem.
    pub fn fields<T: DeserializeOwned>(&self) -> Result<T, WebError> {
        if self.is_json_body() {
            serde_json::from_slice(&self.body)
                .map_err(|e| WebError::bad_request(format!("The JSON body is not valid: {e}.")))
        } else {
            serde_urlencoded::from_bytes(&self.body)
                .map_err(|e| WebError::bad_request(format!("The form is not valid: {e}.")))
        }
    }

    /// The body as form `F`, parsed once into what it means (`T: TryFrom<F>`).
    pub fn parsed<F: DeserializeOwned, T: TryFrom<F, Error = WebError>>(&self) -> Result<T, WebError> {
        T::try_from(self.fields::<F>()?)
    }

    /// CSRF defence for unsafe methods: a browser always sends `Origin` (or at
    /// least `Referer`) and it must be ours. Requests with neither are allowed
    /// only with a JSON body, which a cross-site form cannot produce.
    pub fn check_origin(&self, app: &AppUrl) -> Result<(), WebError> {
        if matches!(self.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let claimed = match (self.header("origin"), self.header("referer")) {
            (Some(origin), _) if origin != "null" => Some(origin.to_string()),
            (_, Some(referer)) => url::Url::parse(referer).ok().map(|u| u.origin().ascii_serialization()),
            _ => None,
        };
        match claimed {
            Some(origin) if origin == app.origin() => Ok(()),
            None if self.is_json_body() => Ok(()),
            _ => Err(
                WebError::forbidden("This request did not come from this site's pages, so it was refused.")
                    .with_code("cross_site"),
            ),
        }
    }
}

impl WebError {
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}

/// A yes/no form field (a checkbox sends `on`; JSON clients send a string
/// too): absent or empty is `default`, anything unrecognised a 422 naming it.
pub fn yes_no(field: &str, raw: Option<&str>, default: bool) -> Result<bool, WebError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(default),
        Some("yes" | "on" | "true" | "1") => Ok(true),
        Some("no" | "off" | "false" | "0") => Ok(false),
        Some(_) => Err(WebError::invalid(format!("{field}: must be yes or no"))),
    }
}

/// `next` only when it is a same-site path (`/…`, not `//host` or `/\host`):
/// anything else would make the login form an open redirect.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_accepts_only_local_paths() {
        assert_eq!(safe_next(Some("/me?x=1")), "/me?x=1");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
