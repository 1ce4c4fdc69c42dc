//! Transactions: several conditional writes and their domain events, all or
//! nothing (`TransactWriteItems`). Every state change goes through here with
//! its events, which is what makes the outbox reliable.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem};
use std::collections::HashMap;

use nexus_core::events::DomainEvent;

use crate::entity::{attr, to_item, Entity, Item, Key};
use crate::error::StoreError;

/// How long published outbox items stay (for replay and debugging) before TTL removes them.
pub const OUTBOX_RETENTION_SECS: i64 = 7 * 24 * 3600;
/// DynamoDB's limit on items per transaction.
pub const MAX_TX_ITEMS: usize = 100;

/// One write in a transaction.
#[derive(Debug, Clone)]
pub enum Write {
    /// Create; fails if the key exists.
    Create { item: Item, label: String },
    /// Replace an item whose `version` is `expected_version`.
    Replace {
        item: Item,
        expected_version: u64,
        label: String,
    },
    /// Overwrite unconditionally.
    Put { item: Item },
    /// Claim a unique value (`UNIQUE#email#a@b.c`) for an owner; fails if taken.
    Unique {
        kind: &'static str,
        value: String,
        owner: String,
    },
    /// Release a unique value held by `owner`.
    ReleaseUnique {
        kind: &'static str,
        value: String,
        owner: String,
    },
    /// Delete; with `expected_version`, only that version.
    Delete {
        key: Key,
        expected_version: Option<u64>,
        label: String,
    },
    /// Assert an item exists (and optionally has a version) without writing it.
    RequireExists { key: Key, label: String },
    /// An update expression, optionally conditional.
    Update {
        key: Key,
        update: String,
        condition: Option<String>,
        names: Vec<(String, String)>,
        values: Vec<(String, AttributeValue)>,
        label: String,
    },
    /// Delete when a condition holds.
    DeleteIf {
        key: Key,
        condition: String,
        names: Vec<(String, String)>,
        values: Vec<(String, AttributeValue)>,
        label: String,
    },
    /// Assert a condition on an item without writing it.
    Check {
        key: Key,
        condition: String,
        names: Vec<(String, String)>,
        values: Vec<(String, AttributeValue)>,
        label: String,
    },
}

impl Write {
    pub fn create<E: Entity>(e: &E) -> Result<Write, StoreError> {
        Ok(Write::Create {
            item: to_item(e)?,
            label: E::KIND.to_lowercase(),
        })
    }

    pub fn replace<E: Entity>(e: &E, expected_version: u64) -> Result<Write, StoreError> {
        let mut item = to_item(e)?;
        item.insert(
            attr::VERSION.into(),
            AttributeValue::N((expected_version + 1).to_string()),
        );
        Ok(Write::Replace {
            item,
            expected_version,
            label: E::KIND.to_lowercase(),
        })
    }

    pub fn put<E: Entity>(e: &E) -> Result<Write, StoreError> {
        Ok(Write::Put { item: to_item(e)? })
    }

    fn label(&self) -> String {
        match self {
            Write::Create { label, .. }
            | Write::Replace { label, .. }
            | Write::Delete { label, .. }
            | Write::RequireExists { label, .. }
            | Write::Update { label, .. }
            | Write::DeleteIf { label, .. }
            | Write::Check { label, .. } => label.clone(),
            Write::Put { .. } => "item".into(),
            Write::Unique { kind, .. } | Write::ReleaseUnique { kind, .. } => {
                format!("unique {kind}")
            }
        }
    }
}

pub fn unique_key(kind: &str, value: &str) -> Key {
    Key::new(format!("UNIQUE#{kind}#{value}"), "UNIQUE")
}

/// A unit of work: writes plus the domain events they cause.
#[derive(Debug, Default, Clone)]
pub struct Tx {
    pub(crate) writes: Vec<Write>,
    pub(crate) events: Vec<DomainEvent>,
}

impl Tx {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn write(mut self, w: Write) -> Self {
        self.writes.push(w);
        self
    }

    pub fn event(mut self, e: DomainEvent) -> Self {
        self.events.push(e);
        self
    }

    pub fn len(&self) -> usize {
        self.writes.len() + self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Labels in the order DynamoDB reports cancellation reasons.
    pub(crate) fn labels(&self) -> Vec<String> {
        self.writes
            .iter()
            .map(Write::label)
            .chain(self.events.iter().map(|_| "event".to_string()))
            .collect()
    }

    pub(crate) fn into_items(self, table: &str) -> Result<Vec<TransactWriteItem>, StoreError> {
        let mut out = Vec::with_capacity(self.len());
        let not_exists = "attribute_not_exists(#pk)";
        let names = || HashMap::from([("#pk".to_string(), attr::PK.to_string())]);
        for w in self.writes {
            let twi = match w {
                Write::Create { item, .. } => TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(table)
                            .set_item(Some(item))
                            .condition_expression(not_exists)
                            .set_expression_attribute_names(Some(names()))
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
                Write::Replace {
                    item,
                    expected_version,
                    ..
                } => TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(table)
                            .set_item(Some(item))
                            .condition_expression("#v = :v")
                            .expression_attribute_names("#v", attr::VERSION)
                            .expression_attribute_values(
                                ":v",
                                AttributeValue::N(expected_version.to_string()),
                            )
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
                Write::Put { item } => TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(table)
                            .set_item(Some(item))
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
                Write::Unique { kind, value, owner } => {
                    let mut item = unique_key(kind, &value).to_item();
                    item.insert("owner".into(), AttributeValue::S(owner));
                    item.insert(attr::KIND.into(), AttributeValue::S("UNIQUE".into()));
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(table)
                                .set_item(Some(item))
                                .condition_expression(not_exists)
                                .set_expression_attribute_names(Some(names()))
                                .build()
                                .map_err(build_err)?,
                        )
                        .build()
                }
                Write::ReleaseUnique { kind, value, owner } => TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(table)
                            .set_key(Some(unique_key(kind, &value).to_item()))
                            .condition_expression("#o = :o")
                            .expression_attribute_names("#o", "owner")
                            .expression_attribute_values(":o", AttributeValue::S(owner))
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
                Write::Delete {
                    key,
                    expected_version,
                    ..
                } => {
                    let mut d = Delete::builder()
                        .table_name(table)
                        .set_key(Some(key.to_item()));
                    d = match expected_version {
                        Some(v) => d
                            .condition_expression("#v = :v")
                            .expression_attribute_names("#v", attr::VERSION)
                            .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
                        None => d
                            .condition_expression("attribute_exists(#pk)")
                            .set_expression_attribute_names(Some(names())),
                    };
                    TransactWriteItem::builder()
                        .delete(d.build().map_err(build_err)?)
                        .build()
                }
                Write::RequireExists { key, .. } => TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(table)
                            .set_key(Some(key.to_item()))
                            .condition_expression("attribute_exists(#pk)")
                            .set_expression_attribute_names(Some(names()))
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
                Write::Update {
                    key,
                    update,
                    condition,
                    names,
                    values,
                    ..
                } => {
                    let mut u = aws_sdk_dynamodb::types::Update::builder()
                        .table_name(table)
                        .set_key(Some(key.to_item()))
                        .update_expression(update)
                        .set_condition_expression(condition);
                    if !names.is_empty() {
                        u = u.set_expression_attribute_names(Some(names.into_iter().collect()));
                    }
                    if !values.is_empty() {
                        u = u.set_expression_attribute_values(Some(values.into_iter().collect()));
                    }
                    TransactWriteItem::builder()
                        .update(u.build().map_err(build_err)?)
                        .build()
                }
                Write::DeleteIf {
                    key,
                    condition,
                    names,
                    values,
                    ..
                } => {
                    let mut d = Delete::builder()
                        .table_name(table)
                        .set_key(Some(key.to_item()))
                        .condition_expression(condition);
                    if !names.is_empty() {
                        d = d.set_expression_attribute_names(Some(names.into_iter().collect()));
                    }
                    if !values.is_empty() {
                        d = d.set_expression_attribute_values(Some(values.into_iter().collect()));
                    }
                    TransactWriteItem::builder()
                        .delete(d.build().map_err(build_err)?)
                        .build()
                }
                Write::Check {
                    key,
                    condition,
                    names,
                    values,
                    ..
                } => {
                    let mut c = ConditionCheck::builder()
                        .table_name(table)
                        .set_key(Some(key.to_item()))
                        .condition_expression(condition);
                    if !names.is_empty() {
                        c = c.set_expression_attribute_names(Some(names.into_iter().collect()));
                    }
                    if !values.is_empty() {
                        c = c.set_expression_attribute_values(Some(values.into_iter().collect()));
                    }
                    TransactWriteItem::builder()
                        .condition_check(c.build().map_err(build_err)?)
                        .build()
                }
            };
            out.push(twi);
        }
        for e in self.events {
            out.push(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(table)
                            .set_item(Some(outbox_item(&e)?))
                            .condition_expression(not_exists)
                            .set_expression_attribute_names(Some(names()))
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
            );
        }
        Ok(out)
    }
}

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Dynamo(format!("request build: {e}"))
}

/// The outbox item for an event. The stream publisher filters on `kind = OUTBOX`
/// and reads `source`, `detailType` and `detail` back.
pub fn outbox_item(e: &DomainEvent) -> Result<Item, StoreError> {
    let detail =
        serde_json::to_string(&e.detail()).map_err(|e| StoreError::Serde(e.to_string()))?;
    let mut item = Key::new(format!("OUTBOX#{}", e.id), "OUTBOX").to_item();
    item.insert(attr::KIND.into(), AttributeValue::S("OUTBOX".into()));
    item.insert("eventId".into(), AttributeValue::S(e.id.to_string()));
    item.insert("source".into(), AttributeValue::S(e.source.clone()));
    item.insert(
        "detailType".into(),
        AttributeValue::S(e.detail_type.clone()),
    );
    item.insert("detail".into(), AttributeValue::S(detail));
    item.insert(
        "occurredAt".into(),
        AttributeValue::S(e.occurred_at.to_string()),
    );
    if let Some(t) = &e.tenant {
        item.insert("tenantId".into(), AttributeValue::S(t.to_string()));
    }
    let expires = e.occurred_at.as_second() + OUTBOX_RETENTION_SECS;
    item.insert(
        attr::EXPIRES_AT.into(),
        AttributeValue::N(expires.to_string()),
    );
    Ok(item)
}

/// An outbox record as read back from a stream image.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxRecord {
    pub event_id: String,
    pub source: String,
    pub detail_type: String,
    /// JSON text of the EventBridge `detail`.
    pub detail: String,
    pub occurred_at: String,
}
