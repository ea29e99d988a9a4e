//! Ingestion, called by `telegram-webhook` for every update: posts and edits
//! from a source chat become forward jobs (one per destination). Filters run
//! here for single posts, so filtered posts never reach the queue; albums
//! are filtered as a whole when they flush.
//!
//! Albums: Telegram sends each item as its own update. Every item is stored
//! and joins its album's member set, and (re)enqueues one album job per
//! destination with `flush_at` = now + the album window (same job id for
//! every item, so only one job runs). The
//! forwarder waits until then, closes the set and posts its items with one
//! call. An item arriving after the close is forwarded on its own: each item
//! goes out exactly once (see `Forwarding::add_album_item`).

use serde_json::Value;

use super::job::{ForwardJob, JobQueue, Work};
use super::metrics;
use super::post::Post;
use super::{ForwardRule, Verdict};
use crate::config::{ConfigError, Env};
use crate::store::forwarding::AlbumAdd;
use crate::store::Store;
use crate::SharedClock;

pub struct Ingest {
    pub store: Store,
    pub queue: JobQueue,
    pub clock: SharedClock,
    /// How long album items are gathered (`LODGE_FORWARD_ALBUM_WINDOW_SECS`).
    pub album_window_secs: i64,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Ingested {
    pub jobs: usize,
    pub filtered: usize,
}

/// Album items are only needed until their flush; keep them a day.
const ALBUM_ITEM_TTL_SECS: i64 = 86_400;

impl Ingest {
    pub fn from_env(
        env: &Env,
        aws: &crate::aws::SdkConfig,
        store: Store,
        clock: SharedClock,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            store,
            queue: JobQueue::new(crate::aws::sqs(aws), env.required("LODGE_FORWARD_QUEUE_URL")?),
            clock,
            album_window_secs: env.parse_or("LODGE_FORWARD_ALBUM_WINDOW_SECS", 2i64)?.clamp(1, 60),
        })
    }

    /// Handles one update (the raw Bot API JSON). Updates that are not posts
    /// in a source chat cost nothing but a lookup.
    pub async fn update(&self, update: &Value) -> Result<Ingested, String> {
        let (message, edited) = match ["channel_post", "message", "edited_channel_post", "edited_message"]
            .iter()
            .find_map(|k| update.get(*k).map(|m| (m, k.starts_with("edited"))))
        {
            Some(found) => found,
            None => return Ok(Ingested::default()),
        };
        let Some(post) = Post::from_message(message) else {
            return Ok(Ingested::default());
        };
        // Sources are channels and groups; private chats (positive ids) never are.
        if post.chat_id > 0 {
            return Ok(Ingested::default());
        }
        let rules: Vec<ForwardRule> = self
            .store
            .forwarding()
            .rules_of(post.chat_id)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(ForwardRule::is_active)
            .collect();
        if rules.is_empty() {
            return Ok(Ingested::default());
        }
        let now = self.clock.now();
        let mut out = Ingested::default();
        let mut jobs = Vec::new();
        if edited {
            for rule in &rules {
                for dest in &rule.destinations {
                    jobs.push(ForwardJob::new(rule, *dest, Work::Edit { post: post.clone() }, now));
                }
            }
        } else if let Some(group) = post.media_group_id.clone() {
            let flush_at = now + self.album_window_secs;
            match self
                .store
                .forwarding()
                .add_album_item(&post, &group, flush_at, now + ALBUM_ITEM_TTL_SECS)
                .await
                .map_err(|e| e.to_string())?
            {
                // `Joined` enqueues again: if the first item's enqueue failed
                // (the webhook answered 503), Telegram's retry of it joins
                // too, and without this no album job would exist. The job id
                // is the album's, so SQS (dedup id) or the job record drops
                // the copy when the first enqueue did succeed.
                AlbumAdd::First | AlbumAdd::Joined => {
                    for rule in &rules {
                        for dest in &rule.destinations {
                            let work = Work::Album {
                                media_group_id: group.clone(),
                                first: post.clone(),
                                flush_at,
                            };
                            jobs.push(ForwardJob::new(rule, *dest, work, now));
                        }
                    }
                }
                AlbumAdd::Late => self.single(&rules, &post, now, &mut jobs, &mut out),
            }
        } else {
            self.single(&rules, &post, now, &mut jobs, &mut out);
        }
        out.jobs = jobs.len();
        self.queue.send(&jobs).await?;
        tracing::info!(
            chat = post.chat_id,
            message_id = post.message_id,
            jobs = out.jobs,
            filtered = out.filtered,
            "forwarding ingest"
        );
        Ok(out)
    }

    fn single(&self, rules: &[ForwardRule], post: &Post, now: i64, jobs: &mut Vec<ForwardJob>, out: &mut Ingested) {
        for rule in rules {
            match rule.filters.apply(&[post.kind], post.text.as_deref()) {
                Verdict::Filtered(step) => {
                    metrics::filtered_out(step);
                    out.filtered += 1;
                }
                Verdict::Deliver { text } => {
                    for dest in &rule.destinations {
                        jobs.push(ForwardJob::new(
                            rule,
                            *dest,
                            Work::Post {
                                post: post.clone(),
                                text: text.clone(),
                            },
                            now,
                        ));
                    }
                }
            }
        }
    }
}
