//! Delivers one forward job. The steps, each backed by DynamoDB so nothing
//! depends on process memory:
//!
//! 1. job record: a job already done (or given up) is a redelivery → no-op;
//! 2. content claim (posts and albums): the same content already went to this
//!    destination within the dedup window → skip;
//! 3. rate permit (`limits::acquire`): wait for the window;
//! 4. the Bot API call; forward → copy fallback where forwarding is refused;
//! 5. job record + copy map in one transaction (edits find the copy later).
//!
//! Failures: 429 → the job waits exactly `retry_after` (not counted as an
//! attempt; its FIFO group — the chat — waits with it); 5xx/timeouts → exponential
//! backoff, then the DLQ with the reason; the bot refused by the chat → the
//! rule is marked broken, admins are told once, the job ends.

use std::time::Duration;

use aws_lambda_events::sqs::SqsMessage;
use serde_json::{json, Value};

use lodge::config::{ConfigError, Env};
use lodge::forwarding::job::{self, ForwardJob, JobQueue, Work};
use lodge::forwarding::limits::{self, Permit, SendLimits};
use lodge::forwarding::metrics;
use lodge::forwarding::post::Post;
use lodge::forwarding::rule::{Broken, Destination, Mode};
use lodge::forwarding::Verdict;
use lodge::queue::MessageError;
use lodge::store::forwarding::{Claim, CopyMap, JobStatus, JOB_RECORD_TTL_SECS};
use lodge::store::{Key, Store, StoreError};
use lodge::telegram::{BotApi, BotError};
use lodge::SharedClock;

#[derive(Clone, Debug)]
pub struct Settings {
    pub limits: SendLimits,
    /// The same content is not posted twice to one destination within this window.
    pub dedup_window_secs: i64,
    /// 5xx/timeout attempts before a job is dead-lettered.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt (capped at 15 minutes).
    pub backoff_secs: i64,
    /// Where "rule broken" alerts go (`LODGE_TELEGRAM_ADMIN_CHAT_ID`).
    pub admin_chat_id: Option<i64>,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let max_attempts = env.parse_or("LODGE_FORWARD_MAX_ATTEMPTS", 5u32)?;
        if max_attempts == 0 {
            return Err(ConfigError::new("LODGE_FORWARD_MAX_ATTEMPTS", "must be at least 1"));
        }
        Ok(Self {
            limits: SendLimits::from_env(env)?,
            dedup_window_secs: env.parse_or("LODGE_FORWARD_DEDUP_WINDOW_SECS", 86_400i64)?,
            max_attempts,
            backoff_secs: env.parse_or("LODGE_FORWARD_BACKOFF_SECS", 2i64)?.max(1),
            admin_chat_id: lodge::telegram::BotSettings::from_env(env)?.admin_chat_id,
        })
    }
}

pub struct Forwarder {
    pub store: Store,
    pub bot: BotApi,
    pub queue: JobQueue,
    pub dlq: JobQueue,
    pub clock: SharedClock,
    pub settings: Settings,
}

/// What became of a job this time round.
#[derive(Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// Finished (delivered, skipped, or given up): delete the message.
    Done,
    /// Come back in this many seconds, keeping the job's place in its group.
    Wait(i64),
    /// Retries are spent: dead-letter with this reason.
    DeadLetter(String),
}

/// Waits up to one per-chat spacing are slept through: bounced through SQS
/// they would come back on whole seconds (the visibility timeout's unit),
/// halving a chat's rate. Longer waits leave the batch and wait in SQS.
const SLEEP_UNDER_MS: u64 = 1000;

impl Forwarder {
    /// One SQS message: the job's outcome mapped to delete / retry-later.
    pub async fn process(&self, msg: &SqsMessage) -> Result<(), MessageError> {
        let body = msg.body.as_deref().unwrap_or_default();
        let job = match job::parse(body) {
            Ok(job) => job,
            Err(e) => {
                // Nothing will ever parse it: straight to the DLQ, with why.
                let id = msg.message_id.clone().unwrap_or_default();
                self.dlq
                    .dead_letter(body, "malformed", &id, &e)
                    .await
                    .map_err(MessageError::Retry)?;
                metrics::failed("malformed");
                return Err(MessageError::Drop(e));
            }
        };
        match self.run(&job).await {
            Ok(JobOutcome::Done) => Ok(()),
            Ok(JobOutcome::Wait(secs)) => {
                if let Some(receipt) = msg.receipt_handle.as_deref() {
                    self.queue.wait(receipt, secs).await.map_err(MessageError::Retry)?;
                }
                Err(MessageError::Retry(format!("job {} waits {secs} s", job.id)))
            }
            Ok(JobOutcome::DeadLetter(reason)) => {
                if let Err(e) = self.dlq.dead_letter(body, &job.group_id(), &job.id, &reason).await {
                    return Err(self.retry_later(msg, e).await);
                }
                let now = self.clock.now();
                let finished = self.store.forwarding();
                if let Err(e) = finished.finish_job(&job.id, JobStatus::Failed, &reason, &[], now).await {
                    return Err(self.retry_later(msg, e.to_string()).await);
                }
                Err(MessageError::Drop(format!("job {} dead-lettered: {reason}", job.id)))
            }
            Err(e) => Err(self.retry_later(msg, format!("job {}: {e}", job.id)).await),
        }
    }

    /// A failure outside the job's own outcome (the store, the DLQ): the
    /// message comes back after a backoff it sets itself. Left to the queue's
    /// visibility timeout (360 s) it would hold its destination's whole FIFO
    /// group for six minutes. The backoff doubles with each receive (Lambda
    /// counts them; `maxReceiveCount` still ends it in the DLQ).
    async fn retry_later(&self, msg: &SqsMessage, why: String) -> MessageError {
        let receives = msg
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(1);
        let secs = (self.settings.backoff_secs << receives.saturating_sub(1).min(10)).min(900);
        if let Some(receipt) = msg.receipt_handle.as_deref() {
            if let Err(e) = self.queue.wait(receipt, secs).await {
                return MessageError::Retry(format!("{why}; and setting its backoff failed: {e}"));
            }
        }
        MessageError::Retry(format!("{why}; again in {secs} s"))
    }

    pub async fn run(&self, job: &ForwardJob) -> Result<JobOutcome, StoreError> {
        let now = self.clock.now();
        if let Some(record) = self.store.forwarding().job(&job.id).await? {
            if record.status != JobStatus::Pending {
                metrics::deduplicated("redelivery");
                return Ok(JobOutcome::Done);
            }
            if record.not_before > now {
                return Ok(JobOutcome::Wait(record.not_before - now));
            }
        }
        match &job.work {
            Work::Post { post, text } => self.post(job, std::slice::from_ref(post), text.clone()).await,
            Work::Album {
                media_group_id,
                first,
                flush_at,
            } => {
                if *flush_at > now {
                    return Ok(JobOutcome::Wait(flush_at - now));
                }
                let items = self
                    .store
                    .forwarding()
                    .flush_album(first.chat_id, media_group_id)
                    .await?;
                let items = if items.is_empty() { vec![first.clone()] } else { items };
                let kinds: Vec<_> = items.iter().map(|p| p.kind).collect();
                // The album's caption is the first caption found (Telegram shows one).
                let caption = items.iter().find_map(|p| p.text.as_deref());
                match job.rule.filters.apply(&kinds, caption) {
                    Verdict::Filtered(step) => {
                        metrics::filtered_out(step);
                        self.finish(job, JobStatus::Done, "filtered", &[]).await?;
                        Ok(JobOutcome::Done)
                    }
                    Verdict::Deliver { text } => self.post(job, &items, text).await,
                }
            }
            Work::Edit { post } => self.edit(job, post).await,
        }
    }

    async fn finish(
        &self,
        job: &ForwardJob,
        status: JobStatus,
        outcome: &str,
        maps: &[(Key, CopyMap)],
    ) -> Result<(), StoreError> {
        self.store
            .forwarding()
            .finish_job(&job.id, status, outcome, maps, self.clock.now())
            .await
    }

    /// Posts one message or one album (`posts` in message order).
    async fn post(&self, job: &ForwardJob, posts: &[Post], text: Option<String>) -> Result<JobOutcome, StoreError> {
        let dest_key = job.dest.key();
        let hash = content_hash(posts, text.as_deref());
        let now = self.clock.now();
        if self
            .store
            .forwarding()
            .claim_content(&dest_key, &hash, &job.id, now, now + self.settings.dedup_window_secs)
            .await?
            == Claim::Duplicate
        {
            metrics::deduplicated("content");
            self.finish(job, JobStatus::Done, "duplicate content", &[]).await?;
            return Ok(JobOutcome::Done);
        }
        if let Some(wait) = self.permit(job.dest.chat_id.get(), posts.len() as u32).await? {
            return Ok(JobOutcome::Wait(wait));
        }
        let mut mode = job.rule.mode;
        loop {
            // A refused forward posted nothing: the copy uses the same permit.
            let call = plan(mode, &job.dest, posts, text.as_deref());
            match call.send(&self.bot).await {
                Ok(ids) => {
                    let now = self.clock.now();
                    let maps: Vec<_> = pair_copies(posts, &ids)
                        .into_iter()
                        .map(|(p, dest_message_id)| {
                            let key = Key::copy_map(p.chat_id, p.message_id, job.rule.id.as_str(), &dest_key);
                            let map = CopyMap {
                                dest_chat_id: job.dest.chat_id.get(),
                                dest_message_id,
                                delivered_as: mode.as_str().to_string(),
                                is_caption: p.is_caption(),
                                expires_at: now + JOB_RECORD_TTL_SECS,
                            };
                            (key, map)
                        })
                        .collect();
                    self.finish(job, JobStatus::Done, "delivered", &maps).await?;
                    metrics::forwarded(mode, posts.len(), now - posts[0].date);
                    return Ok(JobOutcome::Done);
                }
                Err(e) if mode == Mode::Forward && job.rule.fallback_to_copy && forwarding_refused(&e) => {
                    tracing::info!(job = %job.id, error = %e, "forward refused; copying instead");
                    metrics::fallback_to_copy();
                    mode = Mode::Copy;
                }
                Err(e) => {
                    let step = self.failed(job, e).await?;
                    // A job that will never deliver must not keep the content claimed.
                    if !matches!(step, JobOutcome::Wait(_)) {
                        self.store
                            .forwarding()
                            .release_content(&dest_key, &hash, &job.id)
                            .await?;
                    }
                    return Ok(step);
                }
            }
        }
    }

    async fn edit(&self, job: &ForwardJob, post: &Post) -> Result<JobOutcome, StoreError> {
        let key = Key::copy_map(post.chat_id, post.message_id, job.rule.id.as_str(), &job.dest.key());
        let Some(map) = self.store.forwarding().copy_map(&key).await? else {
            // Never delivered (filtered, duplicate, or older than the map's TTL).
            metrics::edit_skipped("no copy");
            self.finish(job, JobStatus::Done, "edit: no copy", &[]).await?;
            return Ok(JobOutcome::Done);
        };
        if map.delivered_as != Mode::Copy.as_str() {
            // Telegram keeps forwarded messages as they were; only copies can follow edits.
            metrics::edit_skipped("forwarded");
            self.finish(job, JobStatus::Done, "edit: forwarded copy", &[]).await?;
            return Ok(JobOutcome::Done);
        }
        let text = match job.rule.filters.apply(&[post.kind], post.text.as_deref()) {
            Verdict::Filtered(step) => {
                metrics::edit_skipped(step);
                self.finish(job, JobStatus::Done, "edit: filtered", &[]).await?;
                return Ok(JobOutcome::Done);
            }
            Verdict::Deliver { text } => text.or_else(|| post.text.clone()).unwrap_or_default(),
        };
        if let Some(wait) = self.permit(map.dest_chat_id, 1).await? {
            return Ok(JobOutcome::Wait(wait));
        }
        let call = if map.is_caption {
            Call::EditCaption {
                chat: map.dest_chat_id,
                message_id: map.dest_message_id,
                caption: text,
            }
        } else {
            Call::EditText {
                chat: map.dest_chat_id,
                message_id: map.dest_message_id,
                text,
            }
        };
        match call.send(&self.bot).await {
            Ok(_) => {
                metrics::edited();
                self.finish(job, JobStatus::Done, "edited", &[]).await?;
                Ok(JobOutcome::Done)
            }
            Err(e) if e.is_not_modified() => {
                self.finish(job, JobStatus::Done, "edit: not modified", &[]).await?;
                Ok(JobOutcome::Done)
            }
            Err(e) => self.failed(job, e).await,
        }
    }

    /// A rate permit, sleeping through a short wait for the next second;
    /// `Some(wait)` otherwise (the message waits in SQS, not in the batch).
    async fn permit(&self, chat: i64, count: u32) -> Result<Option<i64>, StoreError> {
        for _ in 0..3 {
            match limits::acquire(&self.store, &self.settings.limits, chat, count, self.clock.now_ms()).await? {
                Permit::Granted => return Ok(None),
                Permit::Wait(wait) => {
                    metrics::rate_limited();
                    if wait > Duration::from_millis(SLEEP_UNDER_MS) {
                        return Ok(Some(wait.as_millis().div_ceil(1000) as i64));
                    }
                    // Jitter spreads the herd the moment releases.
                    tokio::time::sleep(wait + Duration::from_millis(rand::random::<u64>() % 30)).await;
                }
            }
        }
        Ok(Some(1))
    }

    /// What a failed Bot API call means for the job.
    async fn failed(&self, job: &ForwardJob, e: BotError) -> Result<JobOutcome, StoreError> {
        let now = self.clock.now();
        match &e {
            BotError::RetryAfter { seconds } => {
                let secs = *seconds as i64;
                metrics::retried("retry_after", secs);
                self.store.forwarding().defer_job(&job.id, now + secs, now).await?;
                Ok(JobOutcome::Wait(secs))
            }
            _ if is_permanent_for_rule(&e) => {
                let reason = e.to_string();
                metrics::failed(kind_of(&e));
                let broken = Broken {
                    reason: reason.clone(),
                    destination: job.dest,
                    at: now,
                };
                if self.store.forwarding().mark_rule_broken(&job.rule, &broken).await? {
                    self.alert_admins(job, &job.dest, &reason).await;
                }
                self.finish(job, JobStatus::Failed, &reason, &[]).await?;
                Ok(JobOutcome::Done)
            }
            BotError::BadRequest { description } => {
                // This message cannot be sent (deleted at the source, too long, …); the rule is fine.
                metrics::failed("bad_request");
                tracing::warn!(job = %job.id, error = %description, "forward job refused by the Bot API");
                self.finish(job, JobStatus::Failed, &e.to_string(), &[]).await?;
                Ok(JobOutcome::Done)
            }
            _ => {
                let attempts_so_far = self
                    .store
                    .forwarding()
                    .job(&job.id)
                    .await?
                    .map(|r| r.attempts)
                    .unwrap_or(0);
                let backoff = (self.settings.backoff_secs << attempts_so_far.min(10)).min(900);
                let attempts = self
                    .store
                    .forwarding()
                    .record_attempt(&job.id, now + backoff, now)
                    .await?;
                metrics::retried(kind_of(&e), 0);
                if attempts >= self.settings.max_attempts {
                    metrics::failed(kind_of(&e));
                    return Ok(JobOutcome::DeadLetter(format!("{} after {attempts} attempts", e)));
                }
                Ok(JobOutcome::Wait(backoff))
            }
        }
    }

    async fn alert_admins(&self, job: &ForwardJob, dest: &Destination, reason: &str) {
        let text = format!(
            "⚠️ Forwarding rule <b>{}</b> is broken and paused: destination {} refused the bot ({}).\nAdd the bot back with the right to post, then save the rule again to resume.",
            lodge::telegram::escape(job.rule.id.as_str()),
            dest.key(),
            lodge::telegram::escape(reason),
        );
        let mut chats: Vec<i64> = self.settings.admin_chat_id.into_iter().collect();
        match self.store.members().admin_telegram_ids().await {
            Ok(ids) => chats.extend(ids),
            Err(e) => lodge::telemetry::error("the database", &e),
        }
        for chat in chats {
            let msg = lodge::telegram::types::SendMessage::html(chat, text.clone());
            if let Err(e) = self.bot.send_message(&msg).await {
                tracing::warn!(error = %e, "could not alert an admin about a broken rule");
            }
        }
        tracing::warn!(rule = %job.rule.id, destination = %dest.key(), reason, "forwarding rule marked broken");
    }
}

/// 403s and the 400s that mean "this chat will not take posts from the bot".
/// Which post each new message id belongs to, for edit sync. Telegram returns
/// ids only for the messages it could copy, in order, and does not say which
/// it skipped: as many ids as posts pair up one to one; with fewer, no pairing
/// is certain, so none is made (a wrong one would edit another post's copy).
fn pair_copies<'a>(posts: &'a [Post], ids: &[i64]) -> Vec<(&'a Post, i64)> {
    if ids.len() != posts.len() {
        tracing::warn!(
            posts = posts.len(),
            copied = ids.len(),
            "some messages could not be copied; their edits will not follow"
        );
        return Vec::new();
    }
    posts.iter().zip(ids.iter().copied()).collect()
}

fn is_permanent_for_rule(e: &BotError) -> bool {
    const CHAT_GONE: [&str; 12] = [
        "chat not found",
        "not enough rights",
        "have no rights",
        "need administrator rights",
        "chat_write_forbidden",
        "chat_admin_required",
        "bot is not a member",
        "bot was kicked",
        "topic_closed",
        "topic_deleted",
        "message thread not found",
        "group chat was upgraded",
    ];
    match e {
        BotError::Forbidden { .. } => true,
        BotError::BadRequest { description } => {
            let d = description.to_lowercase();
            CHAT_GONE.iter().any(|p| d.contains(p))
        }
        _ => false,
    }
}

fn forwarding_refused(e: &BotError) -> bool {
    matches!(e, BotError::BadRequest { description } if description.to_lowercase().contains("can't be forwarded") || description.to_lowercase().contains("forwards are restricted"))
}

fn kind_of(e: &BotError) -> &'static str {
    match e {
        BotError::RetryAfter { .. } => "retry_after",
        BotError::Forbidden { .. } => "forbidden",
        BotError::BadRequest { .. } => "bad_request",
        BotError::Api { code, .. } if *code >= 500 => "server",
        BotError::Api { .. } => "api",
        BotError::Transport(_) => "timeout",
        BotError::Decode(_) => "decode",
    }
}

/// What identifies content in a destination: the (filtered) text and the
/// files, by `file_unique_id` (stable across chats).
pub fn content_hash(posts: &[Post], text: Option<&str>) -> String {
    let mut parts = Vec::new();
    for (i, p) in posts.iter().enumerate() {
        let t = if i == 0 {
            text.or(p.text.as_deref())
        } else {
            p.text.as_deref()
        };
        parts.push(format!(
            "{}|{}|{}",
            p.kind.as_str(),
            p.file_unique_id.as_deref().unwrap_or(""),
            t.unwrap_or("").trim()
        ));
    }
    lodge::crypto::sha256_hex(parts.join("\n").as_bytes())
}

/// One Bot API call.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Forward {
        chat: i64,
        thread: Option<i64>,
        from: i64,
        ids: Vec<i64>,
    },
    Copy {
        chat: i64,
        thread: Option<i64>,
        from: i64,
        ids: Vec<i64>,
        caption: Option<String>,
    },
    SendText {
        chat: i64,
        thread: Option<i64>,
        text: String,
    },
    MediaGroup {
        chat: i64,
        thread: Option<i64>,
        media: Vec<Value>,
    },
    EditText {
        chat: i64,
        message_id: i64,
        text: String,
    },
    EditCaption {
        chat: i64,
        message_id: i64,
        caption: String,
    },
}

/// The call that delivers `posts` to `dest` in `mode` with filtered `text`.
pub fn plan(mode: Mode, dest: &Destination, posts: &[Post], text: Option<&str>) -> Call {
    let (chat, thread) = (dest.chat_id.get(), dest.thread_id);
    let from = posts[0].chat_id;
    let ids: Vec<i64> = posts.iter().map(|p| p.message_id).collect();
    if mode == Mode::Forward {
        return Call::Forward {
            chat,
            thread,
            from,
            ids,
        };
    }
    match text {
        None => Call::Copy {
            chat,
            thread,
            from,
            ids,
            caption: None,
        },
        // A changed text message is sent anew: copyMessage cannot change text.
        Some(t) if posts.len() == 1 && !posts[0].is_caption() => Call::SendText {
            chat,
            thread,
            text: t.to_string(),
        },
        Some(t) if posts.len() == 1 => Call::Copy {
            chat,
            thread,
            from,
            ids,
            caption: Some(t.to_string()),
        },
        // An album with a new caption is re-sent from its file ids.
        Some(t)
            if posts
                .iter()
                .all(|p| p.kind.album_type().is_some() && p.file_id.is_some()) =>
        {
            Call::MediaGroup {
                chat,
                thread,
                media: posts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let mut m = json!({"type": p.kind.album_type(), "media": p.file_id});
                        if i == 0 {
                            m["caption"] = json!(t);
                        } else if let Some(c) = &p.text {
                            m["caption"] = json!(c);
                        }
                        m
                    })
                    .collect(),
            }
        }
        // Otherwise keep the album whole, with its original captions.
        Some(_) => Call::Copy {
            chat,
            thread,
            from,
            ids,
            caption: None,
        },
    }
}

impl Call {
    /// Sends it; returns the new message ids in source order.
    pub async fn send(&self, bot: &BotApi) -> Result<Vec<i64>, BotError> {
        let with_thread = |mut v: Value, thread: &Option<i64>| {
            if let Some(t) = thread {
                v["message_thread_id"] = json!(t);
            }
            v
        };
        let id_of = |v: &Value| v.get("message_id").and_then(Value::as_i64).unwrap_or_default();
        match self {
            Call::Forward {
                chat,
                thread,
                from,
                ids,
            }
            | Call::Copy {
                chat,
                thread,
                from,
                ids,
                caption: None,
            } if ids.len() > 1 => {
                let method = if matches!(self, Call::Forward { .. }) {
                    "forwardMessages"
                } else {
                    "copyMessages"
                };
                let params = with_thread(
                    json!({"chat_id": chat, "from_chat_id": from, "message_ids": ids}),
                    thread,
                );
                let out: Vec<Value> = bot.call(method, &params).await?;
                Ok(out.iter().map(id_of).collect())
            }
            Call::Forward {
                chat,
                thread,
                from,
                ids,
            } => {
                let params = with_thread(
                    json!({"chat_id": chat, "from_chat_id": from, "message_id": ids[0]}),
                    thread,
                );
                let out: Value = bot.call("forwardMessage", &params).await?;
                Ok(vec![id_of(&out)])
            }
            Call::Copy {
                chat,
                thread,
                from,
                ids,
                caption,
            } => {
                let mut params = with_thread(
                    json!({"chat_id": chat, "from_chat_id": from, "message_id": ids[0]}),
                    thread,
                );
                if let Some(c) = caption {
                    params["caption"] = json!(c);
                }
                let out: Value = bot.call("copyMessage", &params).await?;
                Ok(vec![id_of(&out)])
            }
            Call::SendText { chat, thread, text } => {
                let params = with_thread(json!({"chat_id": chat, "text": text}), thread);
                let out: Value = bot.call("sendMessage", &params).await?;
                Ok(vec![id_of(&out)])
            }
            Call::MediaGroup { chat, thread, media } => {
                let params = with_thread(json!({"chat_id": chat, "media": media}), thread);
                let out: Vec<Value> = bot.call("sendMediaGroup", &params).await?;
                Ok(out.iter().map(id_of).collect())
            }
            Call::EditText { chat, message_id, text } => {
                let _: Value = bot
                    .call(
                        "editMessageText",
                        &json!({"chat_id": chat, "message_id": message_id, "text": text}),
                    )
                    .await?;
                Ok(vec![*message_id])
            }
            Call::EditCaption {
                chat,
                message_id,
                caption,
            } => {
                let _: Value = bot
                    .call(
                        "editMessageCaption",
                        &json!({"chat_id": chat, "message_id": message_id, "caption": caption}),
                    )
                    .await?;
                Ok(vec![*message_id])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lodge::forwarding::post::MediaKind;
    use lodge::forwarding::rule::TelegramChatId;

    fn post(id: i64, kind: MediaKind, text: Option<&str>) -> Post {
        Post {
            chat_id: -1,
            message_id: id,
            date: 0,
            edit_date: None,
            kind,
            text: text.map(str::to_string),
            file_id: Some(format!("f{id}")),
            file_unique_id: Some(format!("u{id}")),
            media_group_id: None,
        }
    }

    fn dest() -> Destination {
        Destination {
            chat_id: TelegramChatId::new(-2).unwrap(),
            thread_id: Some(5),
        }
    }

    #[test]
    fn copies_pair_with_posts_only_when_every_post_was_copied() {
        let posts = [
            post(10, MediaKind::Photo, None),
            post(11, MediaKind::Photo, None),
            post(12, MediaKind::Photo, None),
        ];
        let pairs: Vec<_> = pair_copies(&posts, &[101, 102, 103])
            .into_iter()
            .map(|(p, id)| (p.message_id, id))
            .collect();
        assert_eq!(pairs, [(10, 101), (11, 102), (12, 103)]);
        // 11 could not be copied: 102 is 12's copy, but nothing says so.
        assert!(pair_copies(&posts, &[101, 102]).is_empty());
    }

    #[test]
    fn plans_the_right_call() {
        let text = post(1, MediaKind::Text, Some("hi"));
        let photo = post(2, MediaKind::Photo, Some("cap"));
        assert!(
            matches!(plan(Mode::Forward, &dest(), std::slice::from_ref(&text), None), Call::Forward { ref ids, .. } if ids == &[1])
        );
        assert!(matches!(
            plan(Mode::Copy, &dest(), std::slice::from_ref(&text), None),
            Call::Copy { caption: None, .. }
        ));
        assert!(
            matches!(plan(Mode::Copy, &dest(), &[text], Some("HI")), Call::SendText { ref text, .. } if text == "HI")
        );
        assert!(
            matches!(plan(Mode::Copy, &dest(), std::slice::from_ref(&photo), Some("CAP")), Call::Copy { caption: Some(ref c), .. } if c == "CAP")
        );
        let album = [photo.clone(), post(3, MediaKind::Video, None)];
        assert!(matches!(plan(Mode::Copy, &dest(), &album, None), Call::Copy { ref ids, .. } if ids == &[2, 3]));
        match plan(Mode::Copy, &dest(), &album, Some("new")) {
            Call::MediaGroup { media, thread, .. } => {
                assert_eq!(thread, Some(5));
                assert_eq!(media[0]["caption"], "new");
                assert_eq!(media[1]["type"], "video");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn content_hash_ignores_ids_but_not_content() {
        let a = post(1, MediaKind::Text, Some("same"));
        let b = post(2, MediaKind::Text, Some("same "));
        assert_eq!(
            content_hash(std::slice::from_ref(&a), None),
            content_hash(
                &[Post {
                    file_unique_id: Some("u1".into()),
                    ..b.clone()
                }],
                None
            )
        );
        assert_ne!(
            content_hash(std::slice::from_ref(&a), None),
            content_hash(std::slice::from_ref(&a), Some("other"))
        );
        assert_ne!(
            content_hash(std::slice::from_ref(&a), None),
            content_hash(&[post(1, MediaKind::Photo, Some("same"))], None)
        );
    }

    #[test]
    fn permanent_errors_are_recognised() {
        assert!(is_permanent_for_rule(&BotError::Forbidden {
            description: "Forbidden: bot was kicked from the channel chat".into()
        }));
        assert!(is_permanent_for_rule(&BotError::BadRequest {
            description: "Bad Request: chat not found".into()
        }));
        assert!(!is_permanent_for_rule(&BotError::BadRequest {
            description: "Bad Request: message to copy not found".into()
        }));
        assert!(!is_permanent_for_rule(&BotError::Api {
            code: 502,
            description: "Bad Gateway".into()
        }));
        assert!(forwarding_refused(&BotError::BadRequest {
            description: "Bad Request: message can't be forwarded".into()
        }));
    }
}
