//! Who is asking: the signed-in member behind a request's session cookie.

use http::HeaderMap;

use crate::clock::SharedClock;
use crate::domain::MemberStatus;
use crate::domain::{Member, MemberId};
use crate::session::{self, SessionKeys};
use crate::store::reads::{Fetched, Reads};
use crate::store::sessions::{SessionRecord, ViewerSlots};
use crate::store::{Store, StoreError};
use crate::web::{Ctx, WebError};

/// A signed-in member and the session they came with.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub member: Member,
    pub session: SessionRecord,
}

impl Viewer {
    pub fn is_approved(&self) -> bool {
        self.member.status == MemberStatus::Approved
    }
}

impl Viewer {
    /// The layout of a page this member sees: their name and unread count in the header.
    pub fn layout(&self, title: impl Into<String>) -> crate::web::Layout {
        crate::web::Layout::for_member(title, &self.member)
    }
}

/// A verified cookie whose session and profile are being read with a page's
/// other items.
pub struct PendingViewer {
    member: MemberId,
    slots: ViewerSlots,
    now: i64,
}

impl PendingViewer {
    /// The member the cookie names (not yet checked against the session).
    pub fn member_id(&self) -> &MemberId {
        &self.member
    }

    /// The viewer, if the session still exists, is unexpired, belongs to the
    /// member and is of the member's current session epoch, and the member
    /// is not banned.
    pub fn settle(self, fetched: &mut Fetched) -> Result<Option<Viewer>, StoreError> {
        let (session, member) = self.slots.take(fetched)?;
        let (Some(session), Some(member)) = (session, member) else {
            return Ok(None);
        };
        let valid = session.member_id == member.id
            && session.expires_at > self.now
            && session.epoch == member.session_epoch
            && member.status != MemberStatus::Banned;
        Ok(valid.then_some(Viewer { member, session }))
    }
}

/// `viewer` or: 401 for API clients, the sign-in page for browsers.
pub fn require(ctx: &Ctx, viewer: Option<Viewer>) -> Result<Viewer, WebError> {
    match viewer {
        Some(v) => Ok(v),
        None if ctx.wants_json => Err(WebError::unauthorized()),
        None => {
            if ctx.method != http::Method::GET || ctx.path == "/" {
                return Err(WebError::redirect("/login"));
            }
            let query = serde_urlencoded::to_string([("next", &ctx.path)]).unwrap_or_default();
            Err(WebError::redirect(format!("/login?{query}")))
        }
    }
}

/// `viewer`, approved. Others reach only their intro, settings and
/// sign-out: everything else sends them to their status page.
pub fn require_approved(ctx: &Ctx, viewer: Option<Viewer>) -> Result<Viewer, WebError> {
    let v = require(ctx, viewer)?;
    match v.member.status {
        MemberStatus::Approved => Ok(v),
        _ if ctx.wants_json => {
            Err(WebError::forbidden("Your membership is not approved yet.").with_code("not_approved"))
        }
        _ => Err(WebError::redirect("/status")),
    }
}

/// `viewer`, approved, moderating (a moderator or an admin).
pub fn require_staff(ctx: &Ctx, viewer: Option<Viewer>) -> Result<Viewer, WebError> {
    let v = require_approved(ctx, viewer)?;
    if v.member.role.can_moderate() {
        Ok(v)
    } else {
        Err(WebError::forbidden("Only moderators and admins can do that."))
    }
}

/// Sign-in attempts per source IP and hour (`LODGE_AUTH_IP_LIMIT`, 30),
/// shared by requesting a code and activating an invite.
pub fn ip_limit(env: &crate::Env) -> Result<crate::store::rate::Limit, crate::ConfigError> {
    Ok(crate::store::rate::Limit {
        max: env.parse_or("LODGE_AUTH_IP_LIMIT", 30)?,
        window_secs: 3600,
    })
}

/// Counts one sign-in attempt (a code requested or checked, an invite
/// activated) from client `ip`; 429 once this hour's `ip_limit` is used.
pub async fn ip_gate(
    store: &Store,
    limit: crate::store::rate::Limit,
    ip: &str,
    now: i64,
) -> Result<(), crate::web::WebError> {
    match store.rate_limits().hit("auth-ip", ip, limit, now).await? {
        crate::store::rate::RateDecision::Allowed => Ok(()),
        crate::store::rate::RateDecision::Limited { retry_after_secs } => Err(crate::web::WebError::too_many(
            format!(
                "Too many sign-in attempts from your network — try again in {} minutes.",
                (retry_after_secs + 59) / 60
            ),
            retry_after_secs,
        )),
    }
}

/// Everything needed to turn a cookie into a `Viewer`.
#[derive(Clone)]
pub struct Sessions {
    pub store: Store,
    pub keys: SessionKeys,
    pub clock: SharedClock,
}

impl Sessions {
    /// From `LODGE_SESSION_KEY` (the JWT signing key, ≥ 32 characters).
    pub fn from_env(env: &crate::Env, store: &Store, clock: &SharedClock) -> Result<Self, crate::ConfigError> {
        Ok(Self {
            store: store.clone(),
            keys: SessionKeys::new(&env.secret("LODGE_SESSION_KEY", 32)?),
            clock: clock.clone(),
        })
    }

    /// The session cookie's JWT, if its signature and expiry hold, with the
    /// session and profile items added to `reads` (a page's one
    /// `BatchGetItem`); `PendingViewer::settle` checks them once fetched.
    pub fn ask(&self, headers: &HeaderMap, reads: &mut Reads) -> Option<PendingViewer> {
        let token = headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(session::read_cookie)?;
        let now = self.clock.now();
        let (member_id, session_id, _) = self.keys.verify(token, now)?;
        Some(PendingViewer {
            slots: self.store.sessions().viewer_reads(reads, &session_id, &member_id),
            member: member_id,
            now,
        })
    }

    /// The signed-in member: the JWT checked, then its session and profile
    /// read in one `BatchGetItem` (see `PendingViewer::settle`).
    pub async fn viewer(&self, headers: &HeaderMap) -> Result<Option<Viewer>, StoreError> {
        let mut reads = Reads::new();
        let Some(pending) = self.ask(headers, &mut reads) else {
            return Ok(None);
        };
        let mut fetched = self.store.fetch(reads).await?;
        pending.settle(&mut fetched)
    }

    /// The signed-in member, or: 401 for API clients, the sign-in page for browsers.
    pub async fn require(&self, ctx: &Ctx) -> Result<Viewer, WebError> {
        let viewer = self.viewer(&ctx.headers).await?;
        require(ctx, viewer)
    }

    /// An approved member. Others reach only their intro, settings and
    /// sign-out: everything else sends them to their status page.
    pub async fn require_approved(&self, ctx: &Ctx) -> Result<Viewer, WebError> {
        let viewer = self.viewer(&ctx.headers).await?;
        require_approved(ctx, viewer)
    }

    /// An approved moderator or admin.
    pub async fn require_staff(&self, ctx: &Ctx) -> Result<Viewer, WebError> {
        let viewer = self.viewer(&ctx.headers).await?;
        require_staff(ctx, viewer)
    }

    pub async fn require_admin(&self, ctx: &Ctx) -> Result<Viewer, WebError> {
        let v = self.require_approved(ctx).await?;
        if v.member.role == crate::domain::Role::Admin {
            Ok(v)
        } else {
            Err(WebError::forbidden("Only admins can do that."))
        }
    }

    /// A new session record for `member`, not yet stored (callers put it in a transaction).
    pub fn new_session(&self, member: &Member, user_agent: &str) -> SessionRecord {
        let now = self.clock.now();
        SessionRecord {
            id: crate::domain::SessionId::generate(),
            member_id: member.id.clone(),
            created_at: now,
            expires_at: now + session::SESSION_TTL_SECS,
            epoch: member.session_epoch,
            user_agent: user_agent.chars().take(200).collect(),
        }
    }

    /// The `Set-Cookie` value carrying a session's JWT.
    pub fn cookie_for(&self, record: &SessionRecord, app: &crate::config::AppUrl) -> String {
        let token = self
            .keys
            .issue(&record.member_id, &record.id, record.created_at, record.expires_at);
        session::set_cookie(&token, record.expires_at - record.created_at, app.secure_cookies())
    }

    pub fn clear_cookie(&self, app: &crate::config::AppUrl) -> String {
        session::clear_cookie(app.secure_cookies())
    }
}
