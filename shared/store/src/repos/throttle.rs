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

/// A streak of attempts on one subject (an account's logins), for
/// progressive delays: the first `free` attempts pass; from then on each
/// attempt must wait until `nextAllowedAt`, which every claim pushes out.
///
/// | item | PK | SK |
/// |---|---|---|
/// | streak | `STREAK#<scope>#<subject>` | `STREAK` (TTL `expiresAt`) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streak {
    pub attempts: u64,
    /// Epoch seconds.
    pub next_allowed_at: i64,
    /// Epoch seconds; a streak past it is over.
    pub expires_at: i64,
}

/// Outcome of [`claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The attempt is counted (this many in the streak) and may proceed.
    Granted { attempts: u64 },
    /// Too soon: retry after this many seconds. Nothing was counted.
    Refused { retry_after_secs: u64 },
}

fn streak_key(scope: &str, subject: &str) -> Key {
    Key::new(format!("STREAK#{scope}#{subject}"), "STREAK")
}

fn num(item: &crate::entity::Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

/// The live streak of `subject`, if any (an expired one is removed).
pub async fn streak(
    store: &Store,
    scope: &str,
    subject: &str,
    now: Timestamp,
) -> Result<Option<Streak>, Error> {
    let Some(item) = store.get_raw(&streak_key(scope, subject)).await? else {
        return Ok(None);
    };
    let s = Streak {
        attempts: num(&item, "attempts").unwrap_or(0).max(0) as u64,
        next_allowed_at: num(&item, "nextAllowedAt").unwrap_or(0),
        expires_at: num(&item, attr::EXPIRES_AT).unwrap_or(0),
    };
    if s.expires_at <= now.as_second() {
        // TTL deletion is lazy (and DynamoDB Local never does it).
        store
            .client()
            .delete_item()
            .table_name(store.table_name())
            .set_key(Some(streak_key(scope, subject).to_item()))
            .condition_expression("#exp <= :now")
            .expression_attribute_names("#exp", attr::EXPIRES_AT)
            .expression_attribute_values(":now", AttributeValue::N(now.as_second().to_string()))
            .send()
            .await
            .ok();
        return Ok(None);
    }
    Ok(Some(s))
}

/// Count one attempt *before* the secret is checked, atomically: granted
/// while the streak has fewer than `free` attempts or `nextAllowedAt` has
/// passed; a grant sets `nextAllowedAt = hold_until` and extends the streak to
/// `expires_at`. A refusal changes nothing, so hammering doesn't lengthen the
/// wait of the account's owner.
pub async fn claim(
    store: &Store,
    scope: &str,
    subject: &str,
    free: u64,
    hold_until: i64,
    expires_at: i64,
    now: Timestamp,
) -> Result<Claim, Error> {
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
    use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
    let res = store
        .client()
        .update_item()
        .table_name(store.table_name())
        .set_key(Some(streak_key(scope, subject).to_item()))
        .update_expression("ADD attempts :one SET nextAllowedAt = :hold, #exp = :exp, #k = :kind")
        .condition_expression(
            "attribute_not_exists(attempts) OR attempts < :free OR nextAllowedAt <= :now",
        )
        .expression_attribute_names("#exp", attr::EXPIRES_AT)
        .expression_attribute_names("#k", attr::KIND)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":hold", AttributeValue::N(hold_until.to_string()))
        .expression_attribute_values(":exp", AttributeValue::N(expires_at.to_string()))
        .expression_attribute_values(":kind", AttributeValue::S("STREAK".into()))
        .expression_attribute_values(":free", AttributeValue::N(free.to_string()))
        .expression_attribute_values(":now", AttributeValue::N(now.as_second().to_string()))
        .return_values(ReturnValue::UpdatedNew)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match res {
        Ok(out) => Ok(Claim::Granted {
            attempts: out
                .attributes
                .as_ref()
                .and_then(|a| num(a, "attempts"))
                .unwrap_or(1)
                .max(1) as u64,
        }),
        Err(aws_sdk_dynamodb::error::SdkError::ServiceError(se))
            if matches!(
                se.err(),
                UpdateItemError::ConditionalCheckFailedException(_)
            ) =>
        {
            let next = match se.err() {
                UpdateItemError::ConditionalCheckFailedException(c) => {
                    c.item().and_then(|i| num(i, "nextAllowedAt"))
                }
                _ => None,
            }
            .unwrap_or(now.as_second() + 1);
            Ok(Claim::Refused {
                retry_after_secs: (next - now.as_second()).max(1) as u64,
            })
        }
        Err(e) => Err(StoreError::from_sdk(e).into()),
    }
}

/// End a streak (a successful attempt).
pub async fn reset(store: &Store, scope: &str, subject: &str) -> Result<(), Error> {
    store
        .client()
        .delete_item()
        .table_name(store.table_name())
        .set_key(Some(streak_key(scope, subject).to_item()))
        .send()
        .await
        .map_err(StoreError::from_sdk)?;
    Ok(())
}
