//! Entities: how a domain value maps to keys and attributes of the one table.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;

use crate::error::StoreError;

/// Attribute names of the table, as `template.yaml` declares them.
pub mod attr {
    pub const PK: &str = "PK";
    pub const SK: &str = "SK";
    pub const GSI1PK: &str = "GSI1PK";
    pub const GSI1SK: &str = "GSI1SK";
    pub const GSI2PK: &str = "GSI2PK";
    pub const GSI2SK: &str = "GSI2SK";
    /// TTL attribute (epoch seconds).
    pub const EXPIRES_AT: &str = "expiresAt";
    /// Entity kind (`ORG`, `MEMBER`, `OUTBOX`, …); the stream filter keys on it.
    pub const KIND: &str = "_kind";
    /// Schema version of the stored shape.
    pub const SCHEMA: &str = "_v";
    /// Optimistic-locking version.
    pub const VERSION: &str = "version";
}

pub type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    pub fn to_item(&self) -> Item {
        HashMap::from([
            (attr::PK.to_owned(), AttributeValue::S(self.pk.clone())),
            (attr::SK.to_owned(), AttributeValue::S(self.sk.clone())),
        ])
    }
}

/// Partition key of everything a tenant owns. Store functions derive it from
/// a typed `OrgId`, so a handler can't build another tenant's key by accident.
pub fn tenant_pk(org: &nexus_core::OrgId) -> String {
    format!("T#{org}")
}

/// A stored domain type.
pub trait Entity: Serialize + DeserializeOwned + Send + Sync {
    /// Value of the `kind` attribute.
    const KIND: &'static str;
    /// Version of the stored shape (bump with a migration when it changes).
    const SCHEMA: u16 = 1;

    fn key(&self) -> Key;
    fn gsi1(&self) -> Option<Key> {
        None
    }
    fn gsi2(&self) -> Option<Key> {
        None
    }
    /// TTL, epoch seconds.
    fn expires_at(&self) -> Option<i64> {
        None
    }
}

/// Serialize an entity with its keys and bookkeeping attributes.
pub fn to_item<E: Entity>(entity: &E) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::to_item(entity).map_err(|e| StoreError::Serde(e.to_string()))?;
    item.extend(entity.key().to_item());
    if let Some(k) = entity.gsi1() {
        item.insert(attr::GSI1PK.into(), AttributeValue::S(k.pk));
        item.insert(attr::GSI1SK.into(), AttributeValue::S(k.sk));
    }
    if let Some(k) = entity.gsi2() {
        item.insert(attr::GSI2PK.into(), AttributeValue::S(k.pk));
        item.insert(attr::GSI2SK.into(), AttributeValue::S(k.sk));
    }
    if let Some(t) = entity.expires_at() {
        item.insert(attr::EXPIRES_AT.into(), AttributeValue::N(t.to_string()));
    }
    item.insert(attr::KIND.into(), AttributeValue::S(E::KIND.into()));
    item.insert(
        attr::SCHEMA.into(),
        AttributeValue::N(E::SCHEMA.to_string()),
    );
    Ok(item)
}

/// Deserialize an entity, ignoring the bookkeeping attributes.
pub fn from_item<E: Entity>(mut item: Item) -> Result<E, StoreError> {
    for a in [
        attr::PK,
        attr::SK,
        attr::GSI1PK,
        attr::GSI1SK,
        attr::GSI2PK,
        attr::GSI2SK,
        attr::KIND,
        attr::SCHEMA,
    ] {
        item.remove(a);
    }
    serde_dynamo::from_item(item).map_err(|e| StoreError::Serde(e.to_string()))
}
