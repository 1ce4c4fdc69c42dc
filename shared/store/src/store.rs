//! The table handle: reads, conditional writes, transactions and pagination.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use nexus_core::cursor::CursorKey;
use std::collections::HashMap;
use std::sync::Arc;

use crate::cursors::{CursorKeySource, Cursors};

use crate::entity::{attr, from_item, to_item, Entity, Item, Key};
use crate::error::StoreError;
use crate::retry::ConflictRetry;
use crate::tx::{Tx, MAX_TX_ITEMS};

/// Which key a query runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Table,
    Gsi1,
    Gsi2,
}

impl Index {
    fn names(self) -> (&'static str, &'static str, Option<&'static str>) {
        match self {
            Index::Table => (attr::PK, attr::SK, None),
            Index::Gsi1 => (attr::GSI1PK, attr::GSI1SK, Some("GSI1")),
            Index::Gsi2 => (attr::GSI2PK, attr::GSI2SK, Some("GSI2")),
        }
    }
}

/// A page query on one partition, optionally narrowed by sort-key prefix.
#[derive(Debug, Clone)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk_prefix: Option<String>,
    pub limit: u32,
    pub newest_first: bool,
    pub cursor: Option<String>,
    /// Binds cursors to one tenant and listing (`org_…/members`).
    pub scope: String,
}

impl Query {
    pub fn new(index: Index, pk: impl Into<String>, scope: impl Into<String>) -> Self {
        Self {
            index,
            pk: pk.into(),
            sk_prefix: None,
            limit: 50,
            newest_first: false,
            cursor: None,
            scope: scope.into(),
        }
    }
    pub fn prefix(mut self, p: impl Into<String>) -> Self {
        self.sk_prefix = Some(p.into());
        self
    }
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = n.clamp(1, 100);
        self
    }
    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }
    pub fn cursor(mut self, c: Option<String>) -> Self {
        self.cursor = c;
        self
    }
}

/// One page of results and the cursor for the next (absent on the last page).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Store {
    client: aws_sdk_dynamodb::Client,
    table: String,
    cursors: Cursors,
    conflict_retry: ConflictRetry,
}

impl Store {
    /// A store whose cursors are sealed with `cursor_key`.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        cursor_key: CursorKey,
    ) -> Self {
        Self::without_cursor_key(client, table).with_cursor_key(cursor_key)
    }

    /// A store for a function that never queries: every [`Store::query`]
    /// fails with an error saying the cursor key is not wired.
    pub fn without_cursor_key(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            cursors: Cursors::Unwired,
            conflict_retry: ConflictRetry::default(),
        }
    }

    /// How writes that hit a `TransactionConflict` are retried (the
    /// default: [`ConflictRetry::default`]).
    pub fn with_conflict_retry(mut self, policy: ConflictRetry) -> Self {
        self.conflict_retry = policy;
        self
    }

    /// Run a write of the caller's own making (an `UpdateItem` a repository
    /// builds on [`Store::client`]) under the store's conflict retry: a
    /// single-item write is refused with `TransactionConflict` while a
    /// transaction is writing the same item.
    pub async fn retry_conflicts<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        self.conflict_retry.run(op).await
    }

    /// Seal cursors with `cursor_key`.
    pub fn with_cursor_key(mut self, cursor_key: CursorKey) -> Self {
        self.cursors = Cursors::Fixed(cursor_key);
        self
    }

    /// Seal cursors with the key `source` resolves when a cursor is first
    /// sealed or opened (then kept for the life of the process).
    pub fn with_cursor_key_source(mut self, source: Arc<dyn CursorKeySource>) -> Self {
        self.cursors = Cursors::lazy(source);
        self
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// A cheap read proving the table is reachable and readable.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Key::new("HEALTH", "HEALTH").to_item()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(())
    }

    pub async fn get<E: Entity>(&self, key: &Key) -> Result<Option<E>, StoreError> {
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

    pub async fn get_raw(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.to_item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        Ok(out.item)
    }

    /// Create unless the key exists. `Ok(false)` means it already existed:
    /// the idempotent path for consumers that may see an event twice.
    pub async fn put_if_absent<E: Entity>(&self, e: &E) -> Result<bool, StoreError> {
        let item = to_item(e)?;
        // Boxed: keeps callers' future types shallow (a handler's async
        // block nests this inside the retry's state machine).
        Box::pin(self.retry_conflicts(|| async {
            let res = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", attr::PK)
                .send()
                .await;
            match res {
                Ok(_) => Ok(true),
                Err(SdkError::ServiceError(se))
                    if matches!(se.err(), PutItemError::ConditionalCheckFailedException(_)) =>
                {
                    Ok(false)
                }
                Err(e) => Err(StoreError::from_sdk(e)),
            }
        }))
        .await
    }

    /// Write everything in `tx` atomically, events into the outbox.
    pub async fn commit(&self, tx: Tx) -> Result<(), StoreError> {
        if tx.is_empty() {
            return Ok(());
        }
        if tx.len() > MAX_TX_ITEMS {
            return Err(StoreError::Dynamo(format!(
                "transaction of {} items exceeds {MAX_TX_ITEMS}",
                tx.len()
            )));
        }
        let labels = tx.labels();
        let items = tx.into_items(&self.table)?;
        // A conflict cancels the whole transaction, so the same items are
        // sent again; their conditions are evaluated afresh each time.
        Box::pin(self.retry_conflicts(|| self.transact(items.clone(), &labels))).await
    }

    /// One `TransactWriteItems` call, its cancellation reasons mapped to
    /// the first failing write's label.
    async fn transact(
        &self,
        items: Vec<aws_sdk_dynamodb::types::TransactWriteItem>,
        labels: &[String],
    ) -> Result<(), StoreError> {
        let res = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(se)) => match se.err() {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    let reasons = c.cancellation_reasons();
                    for (i, r) in reasons.iter().enumerate() {
                        match r.code() {
                            Some("ConditionalCheckFailed") => {
                                return Err(StoreError::ConditionFailed {
                                    label: labels.get(i).cloned().unwrap_or_else(|| "item".into()),
                                })
                            }
                            Some("TransactionConflict") => {
                                return Err(StoreError::TransactionConflict)
                            }
                            Some("ThrottlingError") | Some("ProvisionedThroughputExceeded") => {
                                return Err(StoreError::Throttled)
                            }
                            _ => {}
                        }
                    }
                    Err(StoreError::Dynamo(format!(
                        "transaction cancelled: {:?}",
                        c.message()
                    )))
                }
                _ => Err(StoreError::from_sdk(SdkError::ServiceError(se))),
            },
            Err(e) => Err(StoreError::from_sdk(e)),
        }
    }

    /// One page of a query. The cursor is sealed with the query's scope, so
    /// it can't be read, forged or used for another tenant's listing.
    pub async fn query<E: Entity>(&self, q: Query) -> Result<Page<E>, nexus_core::Error> {
        self.cursors.check()?;
        let (pk_name, _, _) = q.index.names();
        let start = match &q.cursor {
            Some(c) => Some(decode_start_key(
                self.cursors.key().await?.open(&q.scope, c)?,
                &q,
                pk_name,
            )?),
            None => None,
        };
        let (items, last) = self.page(&q, start).await?;
        let next_cursor = match last {
            Some(k) => Some(
                self.cursors
                    .key()
                    .await?
                    .seal(&q.scope, &encode_start_key(&k)),
            ),
            None => None,
        };
        Ok(Page { items, next_cursor })
    }

    /// Every item of a query (from the start; `q.cursor` is ignored),
    /// following DynamoDB's `LastEvaluatedKey` page by page. No cursor leaves
    /// the process, so no cursor key is needed: functions that only read
    /// whole (small) collections, like the authorizer reading a brand's
    /// agency grants, don't wire `paging`.
    pub async fn query_all<E: Entity>(&self, q: Query) -> Result<Vec<E>, nexus_core::Error> {
        let mut out = vec![];
        let mut start = None;
        loop {
            let (items, last) = self.page(&q, start).await?;
            out.extend(items);
            match last {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }

    /// One `Query` call: the items and DynamoDB's `LastEvaluatedKey`.
    async fn page<E: Entity>(
        &self,
        q: &Query,
        start: Option<Item>,
    ) -> Result<(Vec<E>, Option<Item>), nexus_core::Error> {
        let (pk_name, sk_name, index_name) = q.index.names();
        let mut names = HashMap::from([("#pk".to_string(), pk_name.to_string())]);
        let mut values = HashMap::from([(":pk".to_string(), AttributeValue::S(q.pk.clone()))]);
        let mut cond = "#pk = :pk".to_string();
        if let Some(p) = &q.sk_prefix {
            names.insert("#sk".into(), sk_name.into());
            values.insert(":sk".into(), AttributeValue::S(p.clone()));
            cond.push_str(" AND begins_with(#sk, :sk)");
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(index_name.map(str::to_owned))
            .key_condition_expression(cond)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!q.newest_first)
            // One more than asked: whether it comes back says whether there
            // is a next page. DynamoDB's own `LastEvaluatedKey` is present
            // whenever `Limit` items were read, so a last page that is
            // exactly full would otherwise send the client to an empty one.
            .limit(q.limit as i32 + 1)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        let mut raw = out.items.unwrap_or_default();
        let next = if raw.len() > q.limit as usize {
            raw.truncate(q.limit as usize);
            raw.last().map(|last| start_key_of(last, q.index))
        } else {
            // Fewer came back: the end, or DynamoDB's 1 MB page ended first
            // (then its key says where to go on).
            out.last_evaluated_key
        };
        let items = raw
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<E>, _>>()?;
        Ok((items, next))
    }
}

/// The `ExclusiveStartKey` that continues after `item` on `index`: the
/// table's key, plus the index's key for a secondary index (what DynamoDB's
/// own `LastEvaluatedKey` holds).
fn start_key_of(item: &Item, index: Index) -> Item {
    let (pk, sk, gsi) = index.names();
    let mut names = vec![attr::PK, attr::SK];
    if gsi.is_some() {
        names.extend([pk, sk]);
    }
    names
        .into_iter()
        .filter_map(|n| item.get(n).map(|v| (n.to_owned(), v.clone())))
        .collect()
}

fn encode_start_key(k: &Item) -> serde_json::Value {
    serde_json::Value::Object(
        k.iter()
            .filter_map(|(name, v)| {
                v.as_s()
                    .ok()
                    .map(|s| (name.clone(), serde_json::Value::String(s.clone())))
            })
            .collect(),
    )
}

fn decode_start_key(
    v: serde_json::Value,
    q: &Query,
    pk_name: &str,
) -> Result<Item, nexus_core::Error> {
    let invalid = || {
        nexus_core::Error::field(
            "query/cursor",
            "invalid_cursor",
            "cursor is not valid for this listing",
        )
    };
    let obj = v.as_object().ok_or_else(invalid)?;
    // Defence in depth: the signed key must still be in the queried partition.
    if obj.get(pk_name).and_then(|p| p.as_str()) != Some(q.pk.as_str()) {
        return Err(invalid());
    }
    Ok(obj
        .iter()
        .filter_map(|(k, v)| {
            v.as_str()
                .map(|s| (k.clone(), AttributeValue::S(s.to_owned())))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_key_round_trip_and_partition_check() {
        let k: Item = HashMap::from([
            ("PK".to_string(), AttributeValue::S("T#a".into())),
            ("SK".to_string(), AttributeValue::S("MEMBER#1".into())),
        ]);
        let q = Query::new(Index::Table, "T#a", "a/members");
        let back = decode_start_key(encode_start_key(&k), &q, "PK").unwrap();
        assert_eq!(back, k);
        let other = Query::new(Index::Table, "T#b", "a/members");
        assert!(decode_start_key(encode_start_key(&k), &other, "PK").is_err());
    }
}
