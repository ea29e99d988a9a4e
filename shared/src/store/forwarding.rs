//! Forwarding state: rules, album items, per-job records (idempotency and
//! retry bookkeeping), content hashes (dedup window), the source → copy map
//! (edit sync). Everything a forwarder needs lives here, so
//! a cold start or a redeploy loses nothing.

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, ReturnValue, WriteRequest};
use serde::{Deserialize, Serialize};

use super::keys::{self, Key};
use super::{n, s, values, Item, Store, StoreError};
use crate::domain::forwarding::post::Post;
use crate::domain::forwarding::rule::{Broken, ForwardRule, RuleId};

/// How long per-job records and copy maps are kept (edits older than this
/// no longer sync).
pub const JOB_RECORD_TTL_SECS: i64 = 30 * 86_400;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    #[default]
    Pending,
    /// Delivered (or deliberately skipped): a redelivery does nothing.
    Done,
    /// Gave up (permanent error or retries exhausted): a redelivery does nothing.
    Failed,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct JobRecord {
    #[serde(default)]
    pub status: JobStatus,
    /// 5xx/timeout attempts so far (429s and rate-limit waits do not count).
    #[serde(default)]
    pub attempts: u32,
    /// Do not try before this instant (exponential backoff).
    #[serde(default)]
    pub not_before: i64,
    #[serde(default)]
    pub outcome: Option<String>,
}

/// Where one source message went in one destination.
fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
    let put = PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyMap {
    pub dest_chat_id: i64,
    pub dest_message_id: i64,
    /// `copy` copies can be edited; `forward` ones cannot.
    pub delivered_as: String,
    /// The post as delivered: an edit re-applies the filters to the new text.
    pub is_caption: bool,
    pub expires_at: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum AlbumAdd {
    /// The album's first item: schedule its flush.
    First,
    /// Joined an album not yet flushed.
    Joined,
    /// The album already went out: forward this item on its own.
    Late,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// This job owns the hash: go ahead.
    Mine,
    /// Another job delivered (or is delivering) the same content.
    Duplicate,
}

impl Store {
    pub fn forwarding(&self) -> Forwarding<'_> {
        Forwarding { store: self }
    }
}

/// Forward rules, album items, forward job records, content claims and copy maps.
pub struct Forwarding<'a> {
    store: &'a Store,
}

impl Forwarding<'_> {
    // ------------------------------------------------------------ rules

    pub async fn rule(&self, id: &RuleId) -> Result<Option<ForwardRule>, StoreError> {
        self.store.get(&Key::forward_rule(id.as_str())).await
    }

    pub async fn rules(&self) -> Result<Vec<ForwardRule>, StoreError> {
        self.query_rules(keys::FORWARD_RULES).await
    }

    /// The rules of one source chat (the by-source copies).
    pub async fn rules_of(&self, source_chat: i64) -> Result<Vec<ForwardRule>, StoreError> {
        self.query_rules(&keys::forward_rules_of(source_chat)).await
    }

    async fn query_rules(&self, pk: &str) -> Result<Vec<ForwardRule>, StoreError> {
        self.store.query_partition(pk).await
    }

    /// Creates a rule and its by-source copy; `Conflict` if the id is taken.
    pub async fn create_rule(&self, rule: &ForwardRule) -> Result<(), StoreError> {
        // The usual "taken" answer without a failing transaction; the
        // condition below still decides a race.
        if self.rule(&rule.id).await?.is_some() {
            return Err(StoreError::Conflict);
        }
        self.store
            .transact(vec![
                self.store.tx_put(
                    &Key::forward_rule(rule.id.as_str()),
                    rule,
                    Some("attribute_not_exists(pk)"),
                    None,
                )?,
                self.store.tx_put(
                    &Key::forward_rule_by_source(rule.source_chat_id.get(), rule.id.as_str()),
                    rule,
                    None,
                    None,
                )?,
            ])
            .await
            .map_err(|e| if e.failed_at(0) { StoreError::Conflict } else { e })
    }

    /// Replaces a rule (clearing `broken`: saving is how an admin says
    /// "fixed"), moving its copy if the source changed. `Ok(false)` if there
    /// is no such rule; `Cancelled` if it changed meanwhile.
    pub async fn replace_rule(&self, rule: &ForwardRule) -> Result<bool, StoreError> {
        let Some(old) = self.rule(&rule.id).await? else {
            return Ok(false);
        };
        let old_source = old.source_chat_id.get();
        let mut items = vec![
            // Same source as read: a concurrent move cannot leave a stray copy.
            self.store.tx_put(
                &Key::forward_rule(rule.id.as_str()),
                rule,
                Some("source_chat_id = :old"),
                Some(values([(":old", n(old_source))])),
            )?,
            self.store.tx_put(
                &Key::forward_rule_by_source(rule.source_chat_id.get(), rule.id.as_str()),
                rule,
                None,
                None,
            )?,
        ];
        if old_source != rule.source_chat_id.get() {
            items.push(
                self.store
                    .tx_delete(&Key::forward_rule_by_source(old_source, rule.id.as_str()), None, None)?,
            );
        }
        self.store.transact(items).await.map(|_| true)
    }

    /// Deletes a rule and its copy; `Ok(false)` if there is none.
    pub async fn delete_rule(&self, id: &RuleId) -> Result<bool, StoreError> {
        let Some(old) = self.rule(id).await? else {
            return Ok(false);
        };
        self.store
            .transact(vec![
                self.store
                    .tx_delete(&Key::forward_rule(id.as_str()), Some("attribute_exists(pk)"), None)?,
                self.store.tx_delete(
                    &Key::forward_rule_by_source(old.source_chat_id.get(), id.as_str()),
                    None,
                    None,
                )?,
            ])
            .await
            .map(|_| true)
    }

    /// Marks a rule broken. `true` only for the call that broke it, so
    /// admins are told once however many jobs fail.
    pub async fn mark_rule_broken(&self, rule: &ForwardRule, broken: &Broken) -> Result<bool, StoreError> {
        let value: AttributeValue =
            serde_dynamo::to_attribute_value(broken).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let first = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .set_key(Some(Key::forward_rule(rule.id.as_str()).to_item()))
            .update_expression("SET broken = :b")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(broken) OR broken = :null)")
            .set_expression_attribute_values(Some(values([
                (":b", value.clone()),
                (":null", AttributeValue::Null(true)),
            ])))
            .send()
            .await
            .map_err(StoreError::from_sdk);
        let first = match first {
            Ok(_) => true,
            Err(StoreError::Conflict) => false,
            Err(e) => return Err(e),
        };
        // Then the copy ingestion reads (also when a crash left it behind before).
        let copy = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .set_key(Some(
                Key::forward_rule_by_source(rule.source_chat_id.get(), rule.id.as_str()).to_item(),
            ))
            .update_expression("SET broken = :b")
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_values(Some(values([(":b", value)])))
            .send()
            .await
            .map_err(StoreError::from_sdk);
        match copy {
            Ok(_) | Err(StoreError::Conflict) => Ok(first),
            Err(e) => Err(e),
        }
    }

    // ------------------------------------------------------------ albums

    /// Adds an album item. Membership is decided on the group item alone
    /// (one atomic update): an item either joins before the album is
    /// flushed — and goes out with it — or is `Late` and goes out on its own.
    pub async fn add_album_item(
        &self,
        post: &Post,
        group: &str,
        flush_at: i64,
        expires_at: i64,
    ) -> Result<AlbumAdd, StoreError> {
        #[derive(Serialize)]
        struct Row<'a> {
            post: &'a Post,
            expires_at: i64,
        }
        // The payload first: every id in the group's set has its item stored.
        self.store
            .put(
                &Key::album_item(post.chat_id, group, post.message_id),
                &Row { post, expires_at },
            )
            .await?;
        let out = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .set_key(Some(Key::album_group(post.chat_id, group).to_item()))
            .update_expression("ADD members :id SET flush_at = if_not_exists(flush_at, :fa), expires_at = :exp")
            .condition_expression("attribute_not_exists(flushed)")
            .set_expression_attribute_values(Some(values([
                (":id", AttributeValue::Ns(vec![post.message_id.to_string()])),
                (":fa", n(flush_at)),
                (":exp", n(expires_at)),
            ])))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(StoreError::from_sdk);
        match out {
            Ok(o) if o.attributes.as_ref().is_none_or(|a| a.is_empty()) => Ok(AlbumAdd::First),
            Ok(_) => Ok(AlbumAdd::Joined),
            Err(StoreError::Conflict) => Ok(AlbumAdd::Late),
            Err(e) => Err(e),
        }
    }

    /// Closes the album (once; later calls see the same members) and returns
    /// its items in message order.
    pub async fn flush_album(&self, chat: i64, group: &str) -> Result<Vec<Post>, StoreError> {
        #[derive(Deserialize)]
        struct Row {
            post: Post,
        }
        let out = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .set_key(Some(Key::album_group(chat, group).to_item()))
            .update_expression("SET flushed = if_not_exists(flushed, :t)")
            .condition_expression("attribute_exists(pk)")
            .set_expression_attribute_values(Some(values([(":t", AttributeValue::Bool(true))])))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(StoreError::from_sdk);
        let members: Vec<i64> = match out {
            Ok(o) => o
                .attributes
                .and_then(|mut a| a.remove("members"))
                .and_then(|v| v.as_ns().ok().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|id| id.parse().ok())
                .collect(),
            Err(StoreError::Conflict) => return Ok(vec![]),
            Err(e) => return Err(e),
        };
        let rows: Vec<Row> = self
            .store
            .query_prefix(&Key::album_group(chat, group).pk, Some("ITEM#"))
            .await?;
        let posts = rows.into_iter().map(|r| r.post);
        // Sort keys are zero-padded message ids: already in message order.
        Ok(posts.filter(|p| members.contains(&p.message_id)).collect())
    }

    // ------------------------------------------------------------ jobs

    pub async fn job(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        self.store.get(&Key::forward_job(id)).await
    }

    /// Counts a failed attempt and sets the backoff; returns the new count.
    pub async fn record_attempt(&self, id: &str, not_before: i64, now: i64) -> Result<u32, StoreError> {
        let out = self
            .store
            .client()
            .update_item()
            .table_name(self.store.table())
            .set_key(Some(Key::forward_job(id).to_item()))
            .update_expression("ADD attempts :one SET not_before = :nb, expires_at = :exp")
            .set_expression_attribute_values(Some(values([
                (":one", n(1)),
                (":nb", n(not_before)),
                (":exp", n(now + JOB_RECORD_TTL_SECS)),
            ])))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let attempts = out
            .attributes
            .as_ref()
            .and_then(|a| a.get("attempts"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok());
        Ok(attempts.unwrap_or(1))
    }

    /// Telegram said "retry after": the job waits (not counted as an attempt).
    pub async fn defer_job(&self, id: &str, not_before: i64, now: i64) -> Result<(), StoreError> {
        self.store
            .client()
            .update_item()
            .table_name(self.store.table())
            .set_key(Some(Key::forward_job(id).to_item()))
            .update_expression("SET not_before = :nb, expires_at = :exp")
            .set_expression_attribute_values(Some(values([
                (":nb", n(not_before)),
                (":exp", n(now + JOB_RECORD_TTL_SECS)),
            ])))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Ends a job: its record and (for deliveries) the copy maps, in one
    /// batch. Not a transaction: these writes cannot conflict, and a batch
    /// costs a third of one; unprocessed items are retried until written.
    pub async fn finish_job(
        &self,
        id: &str,
        status: JobStatus,
        outcome: &str,
        maps: &[(Key, CopyMap)],
        now: i64,
    ) -> Result<(), StoreError> {
        let record = serde_json::json!({"status": status, "outcome": outcome, "expires_at": now + JOB_RECORD_TTL_SECS});
        // Maps first: a job is only ever marked done with its maps in place.
        let mut requests = Vec::new();
        for (key, map) in maps {
            requests.push(put_request(super::to_item(key, map)?)?);
        }
        requests.push(put_request(super::to_item(&Key::forward_job(id), &record)?)?);
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            for _ in 0..5 {
                let out = self
                    .store
                    .client()
                    .batch_write_item()
                    .request_items(self.store.table(), pending)
                    .send()
                    .await
                    .map_err(StoreError::from_sdk)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(self.store.table()))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            if !pending.is_empty() {
                return Err(StoreError::Backend("batch write left items unprocessed".into()));
            }
        }
        Ok(())
    }

    pub async fn copy_map(&self, key: &Key) -> Result<Option<CopyMap>, StoreError> {
        self.store.get(key).await
    }

    // ------------------------------------------------------------ dedup

    /// Claims `hash` in `dest` for `job` until `until`. A claim by the same
    /// job (a redelivery) is still ours; an expired one is anyone's.
    pub async fn claim_content(
        &self,
        dest: &str,
        hash: &str,
        job: &str,
        now: i64,
        until: i64,
    ) -> Result<Claim, StoreError> {
        let out = self
            .store
            .client()
            .put_item()
            .table_name(self.store.table())
            .set_item(Some(super::to_item(
                &Key::content_hash(dest, hash),
                &serde_json::json!({"job": job, "expires_at": until}),
            )?))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now OR job = :job")
            .set_expression_attribute_values(Some(values([(":now", n(now)), (":job", s(job))])))
            .send()
            .await;
        match out {
            Ok(_) => Ok(Claim::Mine),
            Err(e) => match StoreError::from_sdk(e) {
                StoreError::Conflict => Ok(Claim::Duplicate),
                other => Err(other),
            },
        }
    }

    /// Gives a claim back (the job could not deliver), if it is still ours.
    pub async fn release_content(&self, dest: &str, hash: &str, job: &str) -> Result<(), StoreError> {
        let out = self
            .store
            .client()
            .delete_item()
            .table_name(self.store.table())
            .set_key(Some(Key::content_hash(dest, hash).to_item()))
            .condition_expression("job = :job")
            .set_expression_attribute_values(Some(values([(":job", s(job))])))
            .send()
            .await;
        match out.map_err(StoreError::from_sdk) {
            Ok(_) | Err(StoreError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
