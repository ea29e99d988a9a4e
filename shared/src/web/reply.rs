use http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;

pub type Reply = Response<Body>;

pub fn html(status: StatusCode, page: String) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .body(Body::Text(page))
        .expect("static headers are valid")
}

/// Renders an askama page; a template failure is a 500, never a panic.
pub fn page(status: StatusCode, page: impl askama::Template) -> Result<Reply, super::WebError> {
    Ok(html(status, page.render().map_err(super::WebError::internal)?))
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(serde_json::to_string(value).expect("responses serialise")))
        .expect("static headers are valid")
}

/// 303 See Other: after a POST the browser follows with a GET.
pub fn redirect(location: &str) -> Reply {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, location)
        .body(Body::Empty)
        .expect("location was validated by the caller")
}

pub fn with_cookie(mut reply: Reply, cookie: &str) -> Reply {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        reply.headers_mut().append(header::SET_COOKIE, v);
    }
    reply
}
