//! The one DynamoDB table. Keys are built in `keys`, items are (de)serialised
//! with `serde_dynamo`, and invariants are enforced by condition expressions
//! and transactions — never by read-then-write.

pub mod comments;
pub mod dialog;
pub mod digests;
pub mod feed;
pub mod forwarding;
pub mod handles;
pub mod helpdesk;
pub mod invites;
pub mod keys;
pub mod listing;
pub mod login_codes;
pub mod members;
pub mod mutes;
pub mod notifications;
pub mod once;
pub mod outbox;
mod packed;
pub mod posts;
pub mod rate;
pub mod reads;
pub mod reports;
pub mod ring;
pub mod rooms;
pub mod rule_drafts;
pub mod seed;
pub mod sessions;
pub mod telegram;
pub mod telegram_chats;
#[cfg(test)]
mod testing;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use keys::Key;

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition expression did not hold (the item exists, changed, …).
    #[error("condition failed")]
    Conflict,
    /// A transaction was cancelled; `failed[i]` says whether item `i`'s condition failed.
    #[error("transaction cancelled (conditions failed at {failed:?})")]
    Cancelled { failed: Vec<bool> },
    /// A transaction lost a race with another one on the same items
    /// (`TransactionConflict`): retrying after a short pause can succeed.
    #[error("transaction conflict with a concurrent write")]
    Contended,
    #[error("DynamoDB: {0}")]
    Backend(String),
    #[error("stored item does not match its type: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when the transaction failed because condition `i` did not hold.
    pub fn failed_at(&self, i: usize) -> bool {
        matches!(self, StoreError::Cancelled { failed } if failed.get(i).copied().unwrap_or(false))
    }

    pub(crate) fn from_sdk<E, R>(err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        match err.code() {
            Some("ConditionalCheckFailedException") => StoreError::Conflict,
            _ => StoreError::Backend(describe(&err)),
        }
    }
}

fn describe<E: ProvideErrorMetadata + std::error::Error, R>(err: &SdkError<E, R>) -> String {
    match err {
        SdkError::ServiceError(s) => format!(
            "{}: {}",
            s.err().code().unwrap_or("ServiceError"),
            s.err().message().unwrap_or_default()
        ),
        other => format!("{other}"),
    }
}

/// A handle on the table, cheap to clone, created once per container. It
/// holds the generic primitives (items, queries that page, transactions,
/// `once`); each aggregate's operations sit on a handle in its module:
/// `store.members()`, `store.invites()`, `store.sessions()`,
/// `store.login_codes()`, `store.telegram()`, `store.telegram_chats()`,
/// `store.dialog()`, `store.forwarding()`, `store.rule_drafts()`,
/// `store.rate_limits()`. New aggregates follow the same pattern.
#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// `Limit` of every `Query` page; `None` lets DynamoDB fill 1 MB pages.
    page_size: Option<i32>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            page_size: None,
        }
    }

    /// Small `Query` pages, so tests can prove every listing follows
    /// `LastEvaluatedKey` without seeding a megabyte.
    pub fn with_page_size(mut self, items: i32) -> Self {
        self.page_size = Some(items);
        self
    }

    /// The table every function names in `LODGE_TABLE`.
    pub fn from_env(env: &crate::Env, aws: &crate::aws::SdkConfig) -> Result<Self, crate::ConfigError> {
        Ok(Self::new(crate::aws::dynamodb(aws), env.required("LODGE_TABLE")?))
    }

    /// Items by key, in chunks of 100 read in parallel, retrying what
    /// DynamoDB leaves unprocessed. Order is not kept; a key asked twice is
    /// read once, as DynamoDB requires.
    pub(crate) async fn batch_get(&self, mut keys: Vec<Key>, consistent: bool) -> Result<Vec<Item>, StoreError> {
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert((k.pk.clone(), k.sk.clone())));
        let chunks: Vec<Vec<Item>> = keys.chunks(100).map(|c| c.iter().map(Key::to_item).collect()).collect();
        let reads =
            futures::future::try_join_all(chunks.into_iter().map(|chunk| self.batch_chunk(chunk, consistent))).await?;
        Ok(reads.into_iter().flatten().collect())
    }

    async fn batch_chunk(&self, keys: Vec<Item>, consistent: bool) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut pending = keys;
        for attempt in 0..8u32 {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                backoff(attempt).await;
            }
            let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(consistent)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            let answer = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            if let Some(mut found) = answer.responses {
                out.extend(found.remove(&self.table).unwrap_or_default());
            }
            if let Some(mut left) = answer.unprocessed_keys {
                if let Some(k) = left.remove(&self.table) {
                    pending = k.keys;
                }
            }
        }
        if !pending.is_empty() {
            return Err(StoreError::Backend(format!(
                "BatchGetItem left {} keys unprocessed",
                pending.len()
            )));
        }
        Ok(out)
    }

    /// Only `store/` speaks DynamoDB: the raw client stays private to it.
    fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Strongly consistent read, so a write is visible to the next request.
    pub async fn get<T: DeserializeOwned>(&self, key: &Key) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item.map(from_item).transpose()
    }

    /// Writes an item unconditionally (replacing any previous one).
    pub async fn put<T: Serialize>(&self, key: &Key, value: &T) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(key, value)?))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Writes an item only if none exists under its key.
    pub(crate) async fn put_new<T: Serialize>(&self, key: &Key, value: &T) -> Result<(), StoreError> {
        self.put_if(key, value, "attribute_not_exists(pk)", None).await
    }

    /// Writes an item only if `condition` holds; `Conflict` if it does not.
    pub(crate) async fn put_if<T: Serialize>(
        &self,
        key: &Key,
        value: &T,
        condition: &str,
        values: Option<Item>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(key, value)?))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    pub(crate) async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    /// Every item of one partition, in sort-key order, paging through
    /// (strongly consistent: used where a just-written item must show).
    pub(crate) async fn query_partition<T: DeserializeOwned>(&self, pk: &str) -> Result<Vec<T>, StoreError> {
        self.query_prefix(pk, None).await
    }

    /// Every item of one partition whose sort key starts with `sk_prefix`.
    async fn query_prefix<T: DeserializeOwned>(&self, pk: &str, sk_prefix: Option<&str>) -> Result<Vec<T>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":p", s(pk))
            .consistent_read(true);
        let q = match sk_prefix {
            Some(prefix) => q
                .key_condition_expression("pk = :p AND begins_with(sk, :s)")
                .expression_attribute_values(":s", s(prefix)),
            None => q.key_condition_expression("pk = :p"),
        };
        self.query_all(q).await
    }

    /// Runs a query to its end, page after page: DynamoDB returns at most
    /// 1 MB (or `page_size` items) per call, and the rest after `LastEvaluatedKey`.
    async fn query_all<T: DeserializeOwned>(&self, q: QueryFluentBuilder) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = q
                .clone()
                .set_limit(self.page_size)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            for item in page.items.unwrap_or_default() {
                out.push(from_item(item)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// Items of one `gsi1` partition (optionally with a sort-key prefix),
    /// in sort-key order or reversed.
    pub(crate) async fn query_gsi1<T: DeserializeOwned>(
        &self,
        pk: &str,
        sk_prefix: Option<&str>,
        newest_first: bool,
    ) -> Result<Vec<T>, StoreError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .expression_attribute_values(":p", s(pk))
            .scan_index_forward(!newest_first);
        q = match sk_prefix {
            Some(prefix) => q
                .key_condition_expression("gsi1pk = :p AND begins_with(gsi1sk, :s)")
                .expression_attribute_values(":s", s(prefix)),
            None => q.key_condition_expression("gsi1pk = :p"),
        };
        self.query_all(q).await
    }

    /// One `UpdateItem`. `Conflict` when `condition` does not hold; returns
    /// the attributes `ret` asks for.
    async fn update(
        &self,
        key: &Key,
        update: &str,
        condition: Option<&str>,
        names: &[(&str, &str)],
        vals: Item,
        ret: Option<ReturnValue>,
    ) -> Result<Item, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_names(names_of(names))
            .set_expression_attribute_values((!vals.is_empty()).then_some(vals))
            .set_return_values(ret)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.attributes.unwrap_or_default())
    }

    /// All-or-nothing write of several items.
    pub async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let n = items.len();
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e)) => match e.err() {
                TransactWriteItemsError::TransactionCanceledException(t) => {
                    let mut failed: Vec<bool> = t
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code() == Some("ConditionalCheckFailed"))
                        .collect();
                    failed.resize(n, false);
                    if failed.iter().any(|f| *f) {
                        Err(StoreError::Cancelled { failed })
                    } else if t
                        .cancellation_reasons()
                        .iter()
                        .any(|r| r.code() == Some("TransactionConflict"))
                    {
                        Err(StoreError::Contended)
                    } else {
                        // Cancelled for another reason (conflict with a concurrent transaction, throttling).
                        Err(StoreError::Backend(format!("transaction cancelled: {:?}", t.message())))
                    }
                }
                other => Err(StoreError::Backend(format!(
                    "{}: {}",
                    other.code().unwrap_or("TransactWriteItems"),
                    other.message().unwrap_or_default()
                ))),
            },
            Err(other) => Err(StoreError::Backend(other.to_string())),
        }
    }

    /// A `Put` for a transaction; `condition` is e.g. `attribute_not_exists(pk)`.
    pub fn tx_put<T: Serialize>(
        &self,
        key: &Key,
        value: &T,
        condition: Option<&str>,
        values: Option<Item>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(key, value)?))
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// An `Update` for a transaction.
    pub(crate) fn tx_update(
        &self,
        key: &Key,
        update: &str,
        condition: &str,
        vals: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        self.tx_update_named(key, update, condition, &[], vals)
    }

    fn tx_update_named(
        &self,
        key: &Key,
        update: &str,
        condition: &str,
        names: &[(&str, &str)],
        vals: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(names_of(names))
            .set_expression_attribute_values((!vals.is_empty()).then_some(vals))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// A condition on an item that the transaction does not write.
    fn tx_check(
        &self,
        key: &Key,
        condition: &str,
        names: &[(&str, &str)],
        vals: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .condition_expression(condition)
            .set_expression_attribute_names(names_of(names))
            .set_expression_attribute_values((!vals.is_empty()).then_some(vals))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    pub(crate) fn tx_delete(
        &self,
        key: &Key,
        condition: Option<&str>,
        values: Option<Item>,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .set_condition_expression(condition.map(str::to_string))
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

/// Serialises `value` and adds the key attributes.
pub fn to_item<T: Serialize>(key: &Key, value: &T) -> Result<Item, StoreError> {
    let mut item: Item = serde_dynamo::to_item(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    item.extend(key.to_item());
    if let Some((pk, sk)) = &key.gsi1 {
        item.insert("gsi1pk".into(), AttributeValue::S(pk.clone()));
        item.insert("gsi1sk".into(), AttributeValue::S(sk.clone()));
    }
    Ok(item)
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn names_of(names: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    (!names.is_empty()).then(|| names.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn values<const N: usize>(pairs: [(&str, AttributeValue); N]) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A jittered exponential pause before retry `attempt` (1, 2, …) of a
/// contended or partly processed write or read: 10 ms doubling, capped at
/// 640 ms, plus up to as much again at random so racing retries spread out.
pub(crate) async fn backoff(attempt: u32) {
    let base = 10u64 << attempt.saturating_sub(1).min(6);
    let jitter = rand::random::<u64>() % base;
    tokio::time::sleep(std::time::Duration::from_millis(base + jitter)).await;
}
