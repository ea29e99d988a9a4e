//! HTTP at the edge: parse requests into typed input, map every failure to a
//! precise status, and render HTML for browsers or JSON for API clients.

mod ctx;
mod error;
mod pages;
pub mod paths;
mod reply;
mod serve;

pub use ctx::{safe_next, yes_no, Ctx, DEFAULT_BODY_LIMIT};
pub use error::WebError;
pub use pages::{CodePage, ErrorPage, Layout, NoticePage};
pub use reply::{html, json, page, redirect, with_cookie, Reply};
pub use serve::{serve, serve_site, serve_with_limit};

pub use lambda_http::{Body, Request, Response};
