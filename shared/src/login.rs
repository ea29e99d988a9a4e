//! One-time login codes: issue (rate-limited, emailed) and redeem (checked in
//! constant time, consumed in the same transaction that creates the session).
//!
//! Guessing is bounded for the lifetime of an address, not only per code:
//! `LOCK_AFTER_WRONG_GUESSES` wrong guesses in a 24-hour window
//! (`GUESSES_PER_ADDRESS`) lock sign-in by code for the address. The member is emailed a one-time
//! sign-in link (and gets a fresh one instead of a code while locked); the
//! link signs them in and ends the lock, as an admin can. The README's
//! design notes (“Guessing sign-in codes is bounded per address”) have the arithmetic.

use askama::Template;

use crate::clock::SharedClock;
use crate::config::{AppUrl, Secret};
use crate::crypto;
use crate::domain::Member;
use crate::domain::{Email, LoginCode, MemberStatus};
use crate::mail::{Letter, MailError, Mailer};
use crate::store::login_codes::{CodeLock, CodePut, StoredCode, WrongGuess};
use crate::store::rate::{Limit, RateDecision};
use crate::store::sessions::SessionRecord;
use crate::store::telegram::LinkToken;
use crate::store::{Store, StoreError};
use crate::telegram::types::SendMessage;
use crate::telegram::{BotApi, BotError};

pub const CODE_TTL_SECS: i64 = 10 * 60;
pub const ATTEMPTS_PER_CODE: u32 = 3;
pub const CODES_PER_ADDRESS: Limit = Limit {
    max: 3,
    window_secs: 3600,
};
/// The rate counter of `CODES_PER_ADDRESS`.
const CODE_QUOTA: &str = "code";
/// Wrong guesses per address in one 24-hour window that lock sign-in by
/// code. One: the README's design notes show why a 24-hour window allows no more.
pub const LOCK_AFTER_WRONG_GUESSES: u32 = 1;
pub const GUESSES_PER_ADDRESS: Limit = Limit {
    max: LOCK_AFTER_WRONG_GUESSES,
    window_secs: 86_400,
};
/// How long an emailed sign-in link works.
pub const LINK_TTL_SECS: i64 = 24 * 3600;
/// Sign-in links that also end the lock, per address per 30 days; past
/// that a link still signs in, but codes stay locked until an admin unlocks.
pub const LINK_UNLOCKS: Limit = Limit {
    max: 2,
    window_secs: 30 * 86_400,
};

#[derive(Clone)]
pub struct LoginCodes {
    pub store: Store,
    pub mailer: Mailer,
    pub key: Secret,
    pub clock: SharedClock,
    /// Codes also go to a linked Telegram account when the bot is configured.
    pub telegram: Option<BotApi>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Issued {
    /// A code went out (to a member).
    Sent,
    /// The address is not a member's: nothing was sent. Callers must not
    /// reveal this to the client.
    NotAMember,
    /// Too many codes for this address; try again in this many minutes.
    QuotaExceeded { minutes: i64 },
}

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
}

#[derive(Debug, thiserror::Error)]
pub enum RedeemError {
    #[error("this code has expired — request a new one")]
    Expired,
    #[error("too many attempts — request a new code")]
    Exhausted,
    #[error("wrong code, {0} attempts left")]
    Wrong(u32),
    /// Sign-in by code is locked for the address; a link was emailed.
    #[error("sign-in by code is locked for this address")]
    Locked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RedeemError {
    /// The sentence shown to the person.
    pub fn message(&self) -> String {
        match self {
            RedeemError::Expired => "This code has expired — request a new one.".into(),
            RedeemError::Exhausted => "Too many attempts — request a new code.".into(),
            RedeemError::Wrong(1) => "Wrong code, 1 attempt left.".into(),
            RedeemError::Wrong(n) => format!("Wrong code, {n} attempts left."),
            RedeemError::Locked => "Too many wrong codes: sign-in by code is locked for this address. \
                                    We emailed it a sign-in link."
                .into(),
            RedeemError::Store(_) => "We could not check the code just now. Please try again.".into(),
        }
    }
}

#[derive(Template)]
#[template(path = "mail/login_code.html")]
struct CodeHtml<'a> {
    code: &'a str,
    link: &'a str,
    email: &'a str,
    minutes: i64,
}

#[derive(Template)]
#[template(path = "mail/login_code.txt")]
struct CodeText<'a> {
    code: &'a str,
    link: &'a str,
    email: &'a str,
    minutes: i64,
}

impl LoginCodes {
    /// From `LODGE_MAIL_FROM` and `LODGE_CODE_KEY` (the HMAC key, ≥ 32
    /// characters); with `LODGE_TELEGRAM_BOT_TOKEN`, codes also go to Telegram.
    pub fn from_env(
        env: &crate::Env,
        aws: &crate::aws::SdkConfig,
        store: &Store,
        clock: &SharedClock,
    ) -> Result<Self, crate::ConfigError> {
        Ok(Self {
            store: store.clone(),
            mailer: Mailer::new(crate::aws::sesv2(aws), env.required("LODGE_MAIL_FROM")?),
            key: env.secret("LODGE_CODE_KEY", 32)?,
            clock: clock.clone(),
            telegram: env
                .optional("LODGE_TELEGRAM_BOT_TOKEN")
                .map(|_| BotApi::from_env(env))
                .transpose()?,
        })
    }

    fn digest(&self, email: &Email, code: &LoginCode) -> String {
        // Bound to the address, so a code is worthless for any other account.
        crypto::hmac_hex(
            self.key.expose().as_bytes(),
            format!("{}:{}", email, code.expose()).as_bytes(),
        )
    }

    /// The email that carries a code.
    pub fn letter(&self, app: &AppUrl, email: &Email, code: &LoginCode, next: &str) -> Letter {
        let query = serde_urlencoded::to_string([("email", email.as_str()), ("code", code.expose()), ("next", next)])
            .unwrap_or_default();
        let link = app.join(&format!("/auth/code?{query}"));
        let minutes = CODE_TTL_SECS / 60;
        let (code, email) = (code.expose(), email.as_str());
        Letter {
            subject: format!("Your Lodge sign-in code: {code}"),
            text: CodeText {
                code,
                link: &link,
                email,
                minutes,
            }
            .render()
            .unwrap_or_default(),
            html: CodeHtml {
                code,
                link: &link,
                email,
                minutes,
            }
            .render()
            .unwrap_or_default(),
            headers: Vec::new(),
        }
    }

    /// Issues a code for `email` if it belongs to a member, within the
    /// per-address quota (counted for every address, so the quota reveals
    /// nothing). A failed send does not use up quota. `member` is the
    /// address's member as the caller just read it (`Members::by_email`).
    pub async fn issue(
        &self,
        app: &AppUrl,
        email: &Email,
        member: Option<Member>,
        next: &str,
    ) -> Result<Issued, IssueError> {
        let now = self.clock.now();
        let over_quota = |retry_after_secs: i64| Issued::QuotaExceeded {
            minutes: (retry_after_secs + 59) / 60,
        };
        let member = match member {
            Some(m) if m.status != MemberStatus::Banned => m,
            // Counted all the same, so the quota reveals nothing.
            _ => {
                return Ok(match self.hit_quota(email, now).await? {
                    RateDecision::Limited { retry_after_secs } => over_quota(retry_after_secs),
                    RateDecision::Allowed => Issued::NotAMember,
                })
            }
        };
        let code = LoginCode::generate();
        let stored = StoredCode {
            member_id: member.id.clone(),
            hmac: self.digest(email, &code),
            attempts_left: ATTEMPTS_PER_CODE,
            issued_at: now,
            expires_at: now + CODE_TTL_SECS,
        };
        // The quota's hit rides in the code's own transaction.
        let quota = self
            .store
            .rate_limits()
            .hit_item(CODE_QUOTA, email.as_str(), CODES_PER_ADDRESS, now)?;
        match self
            .store
            .login_codes()
            .put_unless_locked(email, &stored, quota)
            .await?
        {
            CodePut::Stored => {}
            CodePut::OverQuota { retry_after_secs } => return Ok(over_quota(retry_after_secs)),
            // Codes are locked: the email carries a fresh sign-in link
            // instead, within the same quota.
            CodePut::Locked => {
                if let RateDecision::Limited { retry_after_secs } = self.hit_quota(email, now).await? {
                    return Ok(over_quota(retry_after_secs));
                }
                self.lock(app, email, &member, now).await?;
                return Ok(Issued::Sent);
            }
        }
        if let Err(e) = self.mailer.send(email, &self.letter(app, email, &code, next)).await {
            // Undo both so the member can simply ask again.
            let _ = self.store.login_codes().delete(email).await;
            let _ = self
                .store
                .rate_limits()
                .refund(CODE_QUOTA, email.as_str(), CODES_PER_ADDRESS, now)
                .await;
            return Err(e.into());
        }
        tracing::info!(email = %email.fingerprint(), member = %member.id, "login code sent");
        self.send_to_telegram(&member, &code).await;
        Ok(Issued::Sent)
    }

    /// One code request against the address's quota, as its own write.
    async fn hit_quota(&self, email: &Email, now: i64) -> Result<RateDecision, StoreError> {
        self.store
            .rate_limits()
            .hit(CODE_QUOTA, email.as_str(), CODES_PER_ADDRESS, now)
            .await
    }

    /// Best effort: email is the channel that must work; a Telegram failure
    /// is logged, and a blocked bot (403) marks the account unreachable.
    async fn send_to_telegram(&self, member: &Member, code: &LoginCode) {
        let (Some(bot), Some(link)) = (&self.telegram, member.telegram.as_ref().filter(|t| !t.unreachable)) else {
            return;
        };
        let text = format!(
            "Your Lodge sign-in code: <code>{}</code>\nIt expires in {} minutes. If you did not ask for it, ignore this message.",
            code.expose(),
            CODE_TTL_SECS / 60
        );
        match bot.send_message(&SendMessage::html(link.user_id, text)).await {
            Ok(_) => tracing::info!(member = %member.id, "login code sent to telegram"),
            Err(BotError::Forbidden { .. }) => {
                tracing::info!(member = %member.id, "telegram unreachable: bot blocked");
                if let Err(e) = self
                    .store
                    .telegram()
                    .set_unreachable(&member.id, link.user_id, true)
                    .await
                {
                    tracing::warn!(error = %e, "could not mark telegram unreachable");
                }
            }
            Err(e) => tracing::warn!(member = %member.id, error = %e, "login code not sent to telegram"),
        }
    }

    /// Checks `code` for `email`; on success consumes it and stores the
    /// session made by `new_session` in one transaction.
    pub async fn redeem(
        &self,
        app: &AppUrl,
        email: &Email,
        code: &LoginCode,
        new_session: impl FnOnce(&Member) -> SessionRecord,
    ) -> Result<(Member, SessionRecord), RedeemError> {
        let now = self.clock.now();
        let (stored, lock) = self.store.login_codes().code_and_lock(email).await?;
        if lock.is_some() {
            return Err(RedeemError::Locked);
        }
        let stored = stored.ok_or(RedeemError::Expired)?;
        if stored.expires_at <= now {
            return Err(RedeemError::Expired);
        }
        if stored.attempts_left == 0 {
            return Err(RedeemError::Exhausted);
        }
        // A slot first, so concurrent guesses cannot exceed the bound: only a
        // guess that holds one is compared.
        let Some(taken) = self
            .store
            .login_codes()
            .take_guess(email, GUESSES_PER_ADDRESS, now)
            .await?
        else {
            return Err(RedeemError::Locked);
        };
        let digest = self.digest(email, code);
        if !crypto::constant_time_eq(digest.as_bytes(), stored.hmac.as_bytes()) {
            if taken >= LOCK_AFTER_WRONG_GUESSES {
                // Also burns the code: nothing more to guess at.
                let _ = self.store.login_codes().delete(email).await;
                if let Some(member) = self.store.members().get(&stored.member_id).await? {
                    if let Err(e) = self.lock(app, email, &member, now).await {
                        // Locked all the same; asking for a code sends a fresh link.
                        tracing::warn!(error = %e, "lock email not sent");
                    }
                }
                return Err(RedeemError::Locked);
            }
            return match self.store.login_codes().record_wrong_guess(email, &stored.hmac).await? {
                WrongGuess::AttemptsLeft(0) => Err(RedeemError::Exhausted),
                WrongGuess::AttemptsLeft(n) => Err(RedeemError::Wrong(n)),
                WrongGuess::Gone => Err(RedeemError::Expired),
            };
        }
        let member = self
            .store
            .members()
            .get(&stored.member_id)
            .await?
            .ok_or(RedeemError::Expired)?;
        if member.status == MemberStatus::Banned {
            return Err(RedeemError::Expired);
        }
        let session = new_session(&member);
        let items = vec![
            self.store.login_codes().consume_item(email, &digest, now)?,
            self.store
                .tx_put(&session.key(), &session, Some("attribute_not_exists(pk)"), None)?,
            // A right guess costs nothing: its slot comes back with the sign-in.
            self.store
                .login_codes()
                .give_back_guess_item(email, GUESSES_PER_ADDRESS, now)?,
            // Locked by a concurrent wrong guess since the read.
            self.store.login_codes().unlocked_check(email)?,
        ];
        let written = self.store.transact(items).await;
        if written.is_err() {
            // The right guess keeps no slot, whatever else went wrong.
            let _ = self
                .store
                .login_codes()
                .give_back_guess(email, GUESSES_PER_ADDRESS, now)
                .await;
        }
        match written {
            Ok(()) => Ok((member, session)),
            Err(e) if e.failed_at(3) => Err(RedeemError::Locked),
            // Used, replaced or expired between our read and the write.
            Err(e) if e.failed_at(0) => Err(RedeemError::Expired),
            Err(e) => Err(e.into()),
        }
    }
}

/// The lock on sign-in by code, and the one-time links that end it.
impl LoginCodes {
    /// Locks sign-in by code for `email` (or keeps it locked) with a fresh
    /// one-time link, and emails the link to the address.
    async fn lock(&self, app: &AppUrl, email: &Email, member: &Member, now: i64) -> Result<(), IssueError> {
        let token = LinkToken::generate();
        let lock = CodeLock {
            member_id: member.id.clone(),
            locked_at: now,
            link_hash: crypto::sha256_hex(token.expose().as_bytes()),
            link_expires_at: now + LINK_TTL_SECS,
        };
        self.store.login_codes().put_lock(email, &lock).await?;
        let query =
            serde_urlencoded::to_string([("email", email.as_str()), ("token", token.expose())]).unwrap_or_default();
        let link = app.join(&format!("/auth/link?{query}"));
        let letter = crate::mail::notice(
            "Sign-in by code is locked for your Lodge account",
            "Sign-in by code is locked",
            &[
                "A wrong sign-in code was entered for your address, so Lodge no longer accepts codes for it. \
                 If that was not you, someone may be trying to get into your account: your account is safe, and \
                 you can tell an admin."
                    .into(),
                format!(
                    "Use the button to sign in; it also unlocks sign-in by code. It works once, for {} hours.",
                    LINK_TTL_SECS / 3600
                ),
            ],
            Some(("Sign in to Lodge", &link)),
        );
        self.mailer.send(email, &letter).await?;
        tracing::info!(email = %email.fingerprint(), member = %member.id, "code sign-in locked; link sent");
        Ok(())
    }

    /// Redeems a one-time sign-in link: a session, and (within
    /// `LINK_UNLOCKS`) the end of the lock, in one transaction.
    pub async fn redeem_link(
        &self,
        email: &Email,
        token: &LinkToken,
        new_session: impl FnOnce(&Member) -> SessionRecord,
    ) -> Result<(Member, SessionRecord), RedeemError> {
        let now = self.clock.now();
        let lock = self
            .store
            .login_codes()
            .lock(email)
            .await?
            .ok_or(RedeemError::Expired)?;
        let hash = crypto::sha256_hex(token.expose().as_bytes());
        if lock.link_expires_at <= now || !crypto::constant_time_eq(hash.as_bytes(), lock.link_hash.as_bytes()) {
            return Err(RedeemError::Expired);
        }
        let member = self
            .store
            .members()
            .get(&lock.member_id)
            .await?
            .ok_or(RedeemError::Expired)?;
        if member.status == MemberStatus::Banned {
            return Err(RedeemError::Expired);
        }
        let unlock = self
            .store
            .rate_limits()
            .hit("unlock", email.as_str(), LINK_UNLOCKS, now)
            .await?
            == RateDecision::Allowed;
        let session = new_session(&member);
        let mut items =
            self.store
                .login_codes()
                .consume_lock_items(email, &hash, unlock.then_some(GUESSES_PER_ADDRESS), now)?;
        items.push(
            self.store
                .tx_put(&session.key(), &session, Some("attribute_not_exists(pk)"), None)?,
        );
        match self.store.transact(items).await {
            Ok(()) => {
                tracing::info!(member = %member.id, unlock, "signed in by link");
                Ok((member, session))
            }
            // Used, replaced or expired between our read and the write.
            Err(e) if e.failed_at(0) => Err(RedeemError::Expired),
            Err(e) => Err(e.into()),
        }
    }
}
