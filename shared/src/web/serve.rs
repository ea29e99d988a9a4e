use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use http::{header, HeaderValue};
use lambda_http::RequestExt;
use tracing::Instrument;

use super::pages::ErrorPage;
use super::{html, json, Ctx, Reply, WebError, DEFAULT_BODY_LIMIT};
use crate::config::AppUrl;

/// Runs one request through `route` in a span with its ids, turning errors
/// into responses (logging internal ones once, with their cause), adding
/// security headers and ending with exactly one line: route, status,
/// latency and AWS calls.
pub async fn serve<F, Fut>(req: lambda_http::Request, route: F) -> Reply
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = Result<Reply, WebError>> + Send,
{
    serve_with_limit(req, DEFAULT_BODY_LIMIT, route).await
}

pub async fn serve_with_limit<F, Fut>(req: lambda_http::Request, body_limit: usize, route: F) -> Reply
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = Result<Reply, WebError>> + Send,
{
    let started = Instant::now();
    // On Lambda the runtime's span carries it too (`requestId`); locally there is none.
    let lambda_request_id = req.lambda_context_ref().map(|c| c.request_id.clone());
    let ctx = Ctx::from_request(req);
    let (route_key, request_id, wants_json) = (ctx.route.clone(), ctx.request_id.clone(), ctx.wants_json);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        lambda_request_id = lambda_request_id.as_deref().unwrap_or_default(),
        route = %route_key,
    );
    let work = async {
        let (result, aws_calls) = crate::telemetry::counting_aws_calls(async {
            if ctx.body.len() > body_limit {
                Err(WebError::payload_too_large(body_limit))
            } else {
                // Boxed: the span and the call counter nest the route's
                // future two levels deeper, past rustc's layout depth limit.
                let route: Pin<Box<dyn Future<Output = Result<Reply, WebError>> + Send>> = Box::pin(route(ctx));
                route.await
            }
        })
        .await;
        let mut reply = match result {
            Ok(reply) => reply,
            Err(err) => {
                err.record();
                error_reply(&err, &request_id, wants_json)
            }
        };
        secure_headers(&mut reply, &request_id);
        tracing::info!(
            status = reply.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            aws_calls,
            "request"
        );
        reply
    };
    work.instrument(span).await
}

/// A request to the site's pages or API: resolves the app's URL (configured,
/// or this API's own) and refuses cross-site unsafe requests before `route`
/// runs, so no function can forget the CSRF check.
pub async fn serve_site<F, Fut>(
    req: lambda_http::Request,
    configured: &Option<AppUrl>,
    body_limit: usize,
    route: F,
) -> Reply
where
    F: FnOnce(Ctx, AppUrl) -> Fut + Send,
    Fut: Future<Output = Result<Reply, WebError>> + Send,
{
    serve_with_limit(req, body_limit, |ctx| async move {
        let app = ctx.app_url(configured)?;
        ctx.check_origin(&app)?;
        route(ctx, app).await
    })
    .await
}

pub fn error_reply(err: &WebError, request_id: &str, wants_json: bool) -> Reply {
    let mut reply = if err.status.is_redirection() {
        super::redirect("/")
    } else if wants_json {
        json(
            err.status,
            &serde_json::json!({"error": {"code": err.code, "message": err.message, "request_id": request_id}}),
        )
    } else {
        html(err.status, ErrorPage::render(err, request_id))
    };
    for (name, value) in &err.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            reply.headers_mut().insert(*name, v);
        }
    }
    reply
}

fn secure_headers(reply: &mut Reply, request_id: &str) {
    let h = reply.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if !h.contains_key(name) {
            if let Ok(v) = HeaderValue::from_str(value) {
                h.insert(name, v);
            }
        }
    };
    set("x-request-id", request_id);
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", "same-origin");
    set(
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(header::CACHE_CONTROL.as_str(), "no-store");
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
    use lambda_http::request::RequestContext;

    /// Every line of a request carries its id; an internal error is logged
    /// once, with its cause; one line ends the request.
    #[tokio::test(flavor = "current_thread")]
    async fn each_request_logs_in_its_span() {
        let mut context = ApiGatewayV2httpRequestContext::default();
        context.request_id = Some("req-1".into());
        context.route_key = Some("POST /auth/email".into());
        let req = lambda_http::Request::default().with_request_context(RequestContext::ApiGatewayV2(context));
        let (reply, lines) = crate::telemetry::capture(serve(req, |_ctx| async {
            tracing::info!("inside");
            Err(WebError::from(crate::store::StoreError::Backend(
                "ThrottlingException: slow down".into(),
            )))
        }))
        .await;
        for line in &lines {
            println!("{line}");
        }
        assert_eq!(reply.status(), 503);
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines.iter().all(|l| l["spans"][0]["request_id"] == "req-1"),
            "{lines:#?}"
        );
        assert_eq!(lines[1]["fields"]["message"], "dependency failed");
        assert_eq!(lines[1]["fields"]["error"], "DynamoDB: ThrottlingException: slow down");
        assert_eq!(lines[2]["fields"]["status"], 503);
        assert_eq!(lines[2]["fields"]["aws_calls"], 0);
        assert_eq!(lines[2]["spans"][0]["route"], "POST /auth/email");
    }
}
