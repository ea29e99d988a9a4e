//! A request to the site as a function receives it: a request line, headers,
//! a blank line and a body, e.g.
//!
//! ```text
//! POST /auth/email?next=%2Fme
//! content-type: application/x-www-form-urlencoded
//! origin: https://club.example.org
//!
//! email=ada%40example.org
//! ```
//!
//! Runs `Ctx::from_request` and everything a route then reads from the
//! request: the app URL from the host, the CSRF check, each form's fields
//! (JSON or URL-encoded), the typed values parsed from them (sign-in, intros,
//! moderation, posts and comments), path ids, `next`, the feed's and the
//! thread's query (`sort`, `period`, `cursor`, `comments`) and the session
//! cookie.
#![no_main]

use std::collections::HashMap;

use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequestContext;
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use libfuzzer_sys::fuzz_target;
use lodge::config::AppUrl;
use lodge::domain::{
    About, CommentBody, CommentId, DisplayName, Email, InviteCode, LinkUrl, Links, LoginCode, MemberId, NewPost,
    PostBody, PostContent, PostFields, PostId, PostTitle, RoomSlug,
};
use lodge::feed::order::FeedOrder;
use lodge::forwarding::RuleId;
use lodge::moderation::RejectReason;
use lodge::session;
use lodge::store::feed::fuzz_cursor;
use lodge::thread::ThreadOrder;
use lodge::web::{safe_next, Ctx};
use serde::de::DeserializeOwned;
use serde::Deserialize;

// The functions' forms, field for field.
#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct IntroForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    about: String,
    #[serde(default)]
    links: String,
}

#[derive(Deserialize)]
struct DecisionForm {
    decision: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct RoleForm {
    role: String,
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    parent_id: Option<String>,
}

fuzz_target!(|data: &[u8]| {
    let Some(ctx) = request(data) else { return };
    check(&ctx);
});

/// Builds the request API Gateway would hand over; `None` when `data` is not
/// one (a bad method, URI or header: API Gateway refuses those itself).
fn request(data: &[u8]) -> Option<Ctx> {
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut builder = http::Request::builder().method(method).uri(target);
    let mut host = String::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("host") {
            host = value.to_string();
        }
        builder = builder.header(name.trim(), value);
    }
    let req = builder.body(Body::from(body.to_vec())).ok()?;
    let query: HashMap<String, Vec<String>> = url::form_urlencoded::parse(
        req.uri().query().unwrap_or_default().as_bytes(),
    )
    .fold(HashMap::new(), |mut map, (k, v)| {
        map.entry(k.into_owned()).or_default().push(v.into_owned());
        map
    });
    // The last path segment as the route's `{id}` / `{code}`.
    let last = req.uri().path().rsplit('/').next().unwrap_or_default().to_string();
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.domain_name = Some(host);
    context.http.method = req.method().clone();
    let req = req
        .with_query_string_parameters(query)
        .with_path_parameters(HashMap::from([
            ("id".to_string(), last.clone()),
            ("code".to_string(), last),
        ]))
        .with_request_context(RequestContext::ApiGatewayV2(context));
    Some(Ctx::from_request(req))
}

fn check(ctx: &Ctx) {
    // The app's URL from the host it was called on, then the CSRF check against it.
    if let Ok(app) = ctx.app_url(&None) {
        let _ = ctx.check_origin(&app);
        assert!(app.origin().starts_with("http"));
    }
    let configured = AppUrl::parse("https://club.example.org").expect("a valid URL");
    let _ = ctx.check_origin(&configured);
    let _ = ctx.user_agent();

    let safe = safe_next(ctx.query_param("next"));
    assert!(safe.starts_with('/') && !safe.starts_with("//") && !safe.starts_with("/\\"));
    assert_eq!(safe_next(Some(&safe)), safe);
    if let Ok(id) = ctx.param("id") {
        if let Ok(m) = MemberId::parse(id) {
            assert_eq!(MemberId::parse(m.as_str()).as_ref(), Ok(&m));
        }
        if let Ok(r) = RuleId::parse(id) {
            assert_eq!(RuleId::parse(r.as_str()).as_ref(), Ok(&r));
        }
        if let Ok(p) = PostId::parse(id) {
            assert_eq!(PostId::parse(p.as_str()).as_ref(), Ok(&p));
        }
    }
    if let Ok(code) = ctx.param("code") {
        if let Ok(c) = InviteCode::parse(code) {
            assert_eq!(InviteCode::parse(c.as_str()).as_ref(), Ok(&c));
        }
    }
    for cookie in ctx.headers.get_all(http::header::COOKIE) {
        if let Some(token) = cookie.to_str().ok().and_then(session::read_cookie) {
            assert!(!token.is_empty() && !token.contains(';'));
        }
    }

    if let Some(f) = fields::<EmailForm>(ctx) {
        email(&f.email);
        let _ = safe_next(f.next.as_deref());
    }
    if let Some(f) = fields::<CodeForm>(ctx) {
        email(&f.email);
        if let Ok(c) = LoginCode::parse(&f.code) {
            assert_eq!(LoginCode::parse(c.expose()).as_ref(), Ok(&c));
        }
        let _ = safe_next(f.next.as_deref());
    }
    if let Some(f) = fields::<IntroForm>(ctx) {
        if let Ok(n) = DisplayName::parse(&f.name) {
            let n = n.into_inner();
            assert_eq!(DisplayName::parse(&n).map(DisplayName::into_inner), Ok(n));
        }
        if let Ok(a) = About::parse(&f.about) {
            let a = a.into_inner();
            assert_eq!(About::parse(&a).map(About::into_inner), Ok(a));
        }
        if let Ok(l) = Links::parse(&f.links) {
            let l = l.into_inner();
            assert!(l.len() <= Links::MAX);
            assert_eq!(Links::parse(&l.join("\n")).map(Links::into_inner), Ok(l));
        }
    }
    if let Some(f) = fields::<DecisionForm>(ctx) {
        let _ = f.decision.as_str();
        if let Ok(r) = RejectReason::parse(f.reason.as_deref().unwrap_or_default(), f.text.as_deref()) {
            let text = match &r {
                RejectReason::Other(t) => Some(t.as_str()),
                _ => None,
            };
            assert_eq!(RejectReason::parse(r.code(), text).as_ref(), Ok(&r));
            let _ = r.label();
        }
    }
    if let Some(f) = fields::<RoleForm>(ctx) {
        let _ = f.role.len();
    }
    if let Some(f) = fields::<PostFields>(ctx) {
        post(&f);
    }
    if let Some(f) = fields::<CommentForm>(ctx) {
        if let Ok(b) = CommentBody::parse(&f.body) {
            assert_eq!(CommentBody::parse(b.as_str()).as_ref(), Ok(&b));
        }
        if let Some(Ok(c)) = f.parent_id.as_deref().map(CommentId::parse) {
            assert_eq!(CommentId::parse(c.as_str()).as_ref(), Ok(&c));
        }
    }

    // The feed's and the thread's query.
    if let Err(e) = FeedOrder::parse(ctx.query_param("sort"), ctx.query_param("period")) {
        assert!(!e.problem.is_empty());
    }
    let _ = ThreadOrder::parse(ctx.query_param("comments"));
    if let Some(cursor) = ctx.query_param("cursor") {
        fuzz_cursor(cursor);
    }
}

/// The compose form, read in zones east and west of UTC: what parses is
/// whole for its kind, and each value re-parses from its own text unchanged.
fn post(f: &PostFields) {
    for offset in [0, 330, -600] {
        let p = match NewPost::parse(f, offset) {
            Ok(p) => p,
            Err(errors) => {
                assert!(!errors.0.is_empty() && errors.0.iter().all(|e| !e.problem.is_empty()));
                continue;
            }
        };
        assert_eq!(PostTitle::parse(p.title.as_str()).as_ref(), Ok(&p.title));
        assert_eq!(PostBody::parse(p.body.as_str()).as_ref(), Ok(&p.body));
        if let Some(room) = &p.room {
            assert_eq!(RoomSlug::parse(room.as_str()).as_ref(), Ok(room));
        }
        match &p.content {
            PostContent::Link(url) => assert_eq!(LinkUrl::parse(url.as_str()).as_ref(), Ok(url)),
            PostContent::Event(w) => assert!(w.ends_at().is_none_or(|end| end > w.starts_at())),
            PostContent::Intro => panic!("an intro post from the compose form"),
            PostContent::Post => assert!(!p.body.is_empty()),
            PostContent::Question => {}
        }
    }
}

/// A form's fields; a refused body must be a 400 with a message.
fn fields<T: DeserializeOwned>(ctx: &Ctx) -> Option<T> {
    match ctx.fields::<T>() {
        Ok(f) => Some(f),
        Err(e) => {
            assert_eq!(e.status.as_u16(), 400);
            assert!(!e.message.is_empty());
            None
        }
    }
}

fn email(raw: &str) {
    if let Ok(e) = Email::parse(raw) {
        assert_eq!(Email::parse(e.as_str()).as_ref(), Ok(&e), "not idempotent: {raw:?}");
        assert_eq!(e.as_str(), e.as_str().trim());
    }
}
