//! `GET /static/lodge.js`: progressive enhancement of the vote, bookmark and
//! RSVP forms. Served by Lodge itself (CSP `script-src 'self'`), cached for
//! a year: pages link it with its content hash, so a new version is a new URL.

use std::sync::OnceLock;

use lambda_http::{Body, Response};
use lodge::web::Reply;
use sha2::{Digest, Sha256};

pub const SOURCE: &str = include_str!("../static/lodge.js");

/// The first 12 hex digits of the script's SHA-256.
pub fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| hex::encode(Sha256::digest(SOURCE.as_bytes()))[..12].to_string())
}

/// The URL pages use.
pub fn url() -> String {
    format!("/static/lodge.js?v={}", version())
}

pub fn serve() -> Reply {
    Response::builder()
        .status(200)
        .header("content-type", "text/javascript; charset=utf-8")
        .header("cache-control", "public, max-age=31536000, immutable")
        .header("etag", format!("\"{}\"", version()))
        .body(Body::Text(SOURCE.to_string()))
        .expect("static headers are valid")
}
