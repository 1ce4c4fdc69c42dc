//! Fixed-window counters and temporary blocks for brute-force protection.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | counter | `THROTTLE#<scope>#<subject>` | `<window start, epoch s>` (TTL window end) |
//! | distinct-accounts set | `THROTTLE#<scope>#<subject>` | `SET#<window start>` (TTL) |
//! | block | `BLOCK#<scope>#<subject>` | `BLOCK` (TTL = until) |

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use nexus_core::{Error, Timestamp};

use crate::entity::{attr, Key};
use crate::store::Store;
use crate::StoreError;

/// Add one to the counter of the current window; returns the new count and
/// the seconds until the window ends.
pub async fn hit(
    store: &Store,
    scope: &str,
    subject: &str,
    window_secs: i64,
    now: Timestamp,
) -> Result<(u64, u64), Error> {
    let start = now.as_second() / window_secs * window_secs;
    let end = start + window_secs;
    let out = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(
            Key::new(format!("THROTTLE#{scope}#{subject}"), start.to_string()).to_item(),
        ))
        .update_expression("ADD #n :one SET #exp = :end, #k = :kind")
        .expression_attribute_names("#n", "count")
        .expression_attribute_names("#exp", attr::EXPIRES_AT)
        .expression_attribute_names("#k", attr::KIND)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":end", AttributeValue::N(end.to_string()))
        .expression_attribute_values(":kind", AttributeValue::S("THROTTLE".into()))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    let n = out
        .attributes
        .and_then(|a| {
            a.get("count")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(1);
    Ok((n, (end - now.as_second()).max(1) as u64))
}

/// The current count without adding.
pub async fn count(
    store: &Store,
    scope: &str,
    subject: &str,
    window_secs: i64,
    now: Timestamp,
) -> Result<u64, Error> {
    let start = now.as_second() / window_secs * window_secs;
    let item = store
        .get_raw(&Key::new(
            format!("THROTTLE#{scope}#{subject}"),
            start.to_string(),
        ))
        .await?;
    Ok(item
        .and_then(|i| {
            i.get("count")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0))
}

/// Add `member` to the window's set; returns the set's size.
pub async fn add_distinct(
    store: &Store,
    scope: &str,
    subject: &str,
    member: &str,
    window_secs: i64,
    now: Timestamp,
) -> Result<usize, Error> {
    let start = now.as_second() / window_secs * window_secs;
    let out = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(
            Key::new(
                format!("THROTTLE#{scope}#{subject}"),
                format!("SET#{start}"),
            )
            .to_item(),
        ))
        .update_expression("ADD members :m SET #exp = :end")
        .expression_attribute_names("#exp", attr::EXPIRES_AT)
        .expression_attribute_values(":m", AttributeValue::Ss(vec![member.to_owned()]))
        .expression_attribute_values(":end", AttributeValue::N((start + window_secs).to_string()))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(out
        .attributes
        .and_then(|a| a.get("members").and_then(|v| v.as_ss().ok()).map(Vec::len))
        .unwrap_or(1))
}

/// Block `subject` until `until`.
pub async fn block(
    store: &Store,
    scope: &str,
    subject: &str,
    until: Timestamp,
) -> Result<(), Error> {
    let mut item = Key::new(format!("BLOCK#{scope}#{subject}"), "BLOCK").to_item();
    item.insert(
        attr::EXPIRES_AT.into(),
        AttributeValue::N(until.as_second().to_string()),
    );
    item.insert(attr::KIND.into(), AttributeValue::S("BLOCK".into()));
    store
        .client()
        .put_item()
        .table_name(store.table_name())
        .set_item(Some(item))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}

/// Seconds left on a block, if `subject` is blocked now. TTL deletion is
/// lazy, so expiry is checked here, not left to DynamoDB.
pub async fn blocked_for(
    store: &Store,
    scope: &str,
    subject: &str,
    now: Timestamp,
) -> Result<Option<u64>, Error> {
    let item = store
        .get_raw(&Key::new(format!("BLOCK#{scope}#{subject}"), "BLOCK"))
        .await?;
    let until = item.and_then(|i| {
        i.get(attr::EXPIRES_AT)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<i64>().ok())
    });
    Ok(until
        .filter(|u| *u > now.as_second())
        .map(|u| (u - now.as_second()) as u64))
}
