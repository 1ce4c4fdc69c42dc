//! Organization API keys. The secret is shown once; only its SHA-256 is kept.
//! The key itself names its tenant and id (`nxk_<org ulid><key ulid>_<secret>`),
//! so the authorizer finds the record with one read.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | API key | `T#<orgId>` | `APIKEY#<keyId>` |

use aws_sdk_dynamodb::types::AttributeValue;
use nexus_core::ids::{ApiKeyId, OrgId, UserId};
use nexus_core::{Error, Timestamp};
use serde::{Deserialize, Serialize};

use crate::entity::{tenant_pk, Entity, Key};
use crate::store::{Index, Page, Query, Store};
use crate::{StoreError, Tx, Write};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub name: String,
    pub scopes: Vec<String>,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    /// SHA-256 of the whole key.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    #[schema(ignore)]
    pub hash: String,
    pub created_by: UserId,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

impl Entity for ApiKey {
    const KIND: &'static str = "APIKEY";
    fn key(&self) -> Key {
        key_of(&self.org_id, &self.id)
    }
}

pub fn key_of(org: &OrgId, id: &ApiKeyId) -> Key {
    Key::new(tenant_pk(org), format!("APIKEY#{id}"))
}

/// A new key id and the key text around `secret` (random, URL-safe, no `_`-free requirement).
pub fn mint(org: &OrgId, secret: &str) -> (ApiKeyId, String) {
    let id = ApiKeyId::new();
    (
        id.clone(),
        format!("nxk_{}{}_{}", org.ulid(), id.ulid(), secret),
    )
}

/// Split a presented key into its tenant and key id (no store access).
pub fn parse(text: &str) -> Option<(OrgId, ApiKeyId)> {
    let rest = text.strip_prefix("nxk_")?;
    let (ids, secret) = (rest.get(..52)?, rest.get(53..)?);
    if rest.as_bytes().get(52) != Some(&b'_') {
        return None;
    }
    if ids.len() != 52 || secret.is_empty() {
        return None;
    }
    let org = format!("org_{}", &ids[..26]).parse().ok()?;
    let key = format!("key_{}", &ids[26..]).parse().ok()?;
    Some((org, key))
}

pub async fn create(store: &Store, key: &ApiKey, extra: Tx) -> Result<(), Error> {
    store.commit(extra.write(Write::create(key)?)).await?;
    Ok(())
}

pub async fn get(store: &Store, org: &OrgId, id: &ApiKeyId) -> Result<Option<ApiKey>, Error> {
    Ok(store.get(&key_of(org, id)).await?)
}

pub async fn list(
    store: &Store,
    org: &OrgId,
    limit: u32,
    cursor: Option<String>,
) -> Result<Page<ApiKey>, Error> {
    let q = Query::new(Index::Table, tenant_pk(org), format!("{org}/apikeys"))
        .prefix("APIKEY#")
        .limit(limit)
        .cursor(cursor);
    store.query(q).await
}

pub async fn revoke(
    store: &Store,
    org: &OrgId,
    id: &ApiKeyId,
    now: Timestamp,
    extra: Tx,
) -> Result<(), Error> {
    let tx = extra.write(Write::Update {
        key: key_of(org, id),
        update: "SET revokedAt = if_not_exists(revokedAt, :now)".into(),
        condition: Some("attribute_exists(#pk)".into()),
        names: vec![("#pk".into(), crate::attr::PK.into())],
        values: vec![(":now".into(), AttributeValue::S(now.to_string()))],
        label: "api key".into(),
    });
    match store.commit(tx).await {
        Err(StoreError::ConditionFailed { .. }) => Err(Error::NotFound {
            resource: "API key",
        }),
        other => Ok(other?),
    }
}

/// Record use, at most once a minute per key (cheap on hot keys).
pub async fn touch(store: &Store, org: &OrgId, id: &ApiKeyId, now: Timestamp) -> Result<(), Error> {
    let minute_ago = now
        .checked_sub(jiff::SignedDuration::from_secs(60))
        .unwrap_or(now);
    let req = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(key_of(org, id).to_item()))
        .update_expression("SET lastUsedAt = :now")
        .condition_expression(
            "attribute_exists(#pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :ago)",
        )
        .expression_attribute_names("#pk", crate::attr::PK)
        .expression_attribute_values(":now", AttributeValue::S(now.to_string()))
        .expression_attribute_values(":ago", AttributeValue::S(minute_ago.to_string()));
    // The key item is also written by revocation's transaction.
    store
        .retry_conflicts(|| {
            let req = req.clone();
            async move {
                match req.send().await {
                    Ok(_) => Ok(()),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(StoreError::from_sdk(e)),
                }
            }
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_tenant_and_id() {
        let org = OrgId::new();
        let (id, text) = mint(&org, "s3cr_et-with_underscores");
        assert!(text.starts_with("nxk_"));
        assert_eq!(parse(&text), Some((org, id)));
        assert_eq!(parse("nxk_short_x"), None);
        assert_eq!(parse("Bearer abc"), None);
    }
}
