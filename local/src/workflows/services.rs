//! The optimised service integrations other than Lambda: DynamoDB
//! (`getItem`, `putItem`, `updateItem`, `deleteItem`), EventBridge
//! `putEvents` and SQS `sendMessage` (each `sendMessage`/`putEvents` also
//! with `.waitForTaskToken`), performed against the local platform's
//! DynamoDB, event bus and queues, with the results and errors Step
//! Functions reports (`workflows-and-events.md` §1.12):
//!
//! | resource | result | errors |
//! |---|---|---|
//! | `dynamodb:getItem` | `{"Item"?, SdkHttpMetadata, SdkResponseMetadata}` | `DynamoDB.<Exception>`; validation as `DynamoDB.AmazonDynamoDBException` |
//! | `dynamodb:putItem`/`updateItem`/`deleteItem` | metadata, plus `Attributes` with `ReturnValues` | as above |
//! | `events:putEvents` | `{"Entries":[{"EventId"}],"FailedEntryCount":0}` | `EventBridge.FailedEntry`, cause = the whole response |
//! | `sqs:sendMessage` | `{"MD5OfMessageBody","MessageId",…metadata}` | `SQS.AmazonSQSException` |
//!
//! Locally an SQS queue is a directory of JSON messages under the state
//! directory's `dlq/` (the only queues the template has are dead-letter
//! queues), named after the last segment of `QueueUrl`.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use base64::Engine;
use nexus_asl::{Event, Resource, TaskRequest};
use nexus_ports::events::{EventBus, OutboxEvent};
use serde_json::{json, Map, Value};

use crate::dlq::DeadLetters;

/// What the non-Lambda integrations act on.
#[derive(Clone)]
pub struct Services {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub bus: Arc<dyn EventBus>,
    pub queues: DeadLetters,
}

fn failed(task_id: u64, error: &str, cause: String) -> Event {
    Event::TaskFailed {
        task_id,
        error: Some(error.to_owned()),
        cause: Some(cause),
    }
}

/// `SdkHttpMetadata` and `SdkResponseMetadata` of a DynamoDB or SQS answer.
fn metadata(request_id: &str, out: &mut Map<String, Value>) {
    let date = jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let headers = [
        ("Connection", "keep-alive".to_owned()),
        ("Content-Type", "application/x-amz-json-1.0".to_owned()),
        ("Date", date),
        ("Server", "Server".to_owned()),
        ("x-amzn-RequestId", request_id.to_owned()),
    ];
    out.insert(
        "SdkHttpMetadata".into(),
        super::lambda::http_metadata(&headers),
    );
    out.insert(
        "SdkResponseMetadata".into(),
        json!({ "RequestId": request_id }),
    );
}

/// Perform a non-Lambda task and report what Step Functions would.
pub async fn perform(services: &Services, req: &TaskRequest) -> Event {
    let (result, callback) = match &req.resource {
        Resource::DynamoDb { action } => (dynamodb(services, action, &req.parameters).await, false),
        Resource::EventsPutEvents {
            wait_for_task_token,
        } => (
            put_events(services, &req.parameters).await,
            *wait_for_task_token,
        ),
        Resource::SqsSendMessage {
            wait_for_task_token,
        } => (
            send_message(services, &req.parameters).await,
            *wait_for_task_token,
        ),
        other => (
            Err((
                "States.Runtime".to_owned(),
                format!("not a service integration: {other:?}"),
            )),
            false,
        ),
    };
    match result {
        Ok(output) if callback => Event::TaskSubmitted {
            task_id: req.task_id,
            output,
        },
        Ok(output) => Event::TaskSucceeded {
            task_id: req.task_id,
            output,
        },
        Err((error, cause)) => failed(req.task_id, &error, cause),
    }
}

type Outcome = Result<Value, (String, String)>;

// ------------------------------------------------------------------ DynamoDB

/// DynamoDB JSON (`{"S": "x"}`, `{"N": "1"}`, …) to the SDK's type.
pub fn attribute(v: &Value) -> Result<AttributeValue, String> {
    let obj = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| format!("not an attribute value: {v}"))?;
    let (t, x) = obj.iter().next().expect("one entry");
    let strings = |x: &Value| -> Result<Vec<String>, String> {
        x.as_array()
            .ok_or_else(|| format!("{t}: not a list"))?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{t}: not a string"))
            })
            .collect()
    };
    let blob = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Blob::new)
            .map_err(|e| format!("B: {e}"))
    };
    Ok(match t.as_str() {
        "S" => AttributeValue::S(x.as_str().ok_or("S: not a string")?.to_owned()),
        "N" => AttributeValue::N(x.as_str().ok_or("N: not a string")?.to_owned()),
        "B" => AttributeValue::B(blob(x.as_str().ok_or("B: not a string")?)?),
        "BOOL" => AttributeValue::Bool(x.as_bool().ok_or("BOOL: not a boolean")?),
        "NULL" => AttributeValue::Null(x.as_bool().ok_or("NULL: not a boolean")?),
        "SS" => AttributeValue::Ss(strings(x)?),
        "NS" => AttributeValue::Ns(strings(x)?),
        "BS" => AttributeValue::Bs(
            strings(x)?
                .iter()
                .map(|s| blob(s))
                .collect::<Result<_, _>>()?,
        ),
        "L" => AttributeValue::L(
            x.as_array()
                .ok_or("L: not a list")?
                .iter()
                .map(attribute)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(item(x)?),
        other => return Err(format!("unknown attribute type {other}")),
    })
}

/// A map of attribute values (an item or a key).
pub fn item(v: &Value) -> Result<HashMap<String, AttributeValue>, String> {
    v.as_object()
        .ok_or_else(|| format!("not a map of attribute values: {v}"))?
        .iter()
        .map(|(k, v)| attribute(v).map(|a| (k.clone(), a)))
        .collect()
}

/// The SDK's type back to DynamoDB JSON.
pub fn attribute_json(a: &AttributeValue) -> Value {
    let b64 = |b: &Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
    match a {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(b64).collect::<Vec<_>>() }),
        AttributeValue::L(v) => json!({ "L": v.iter().map(attribute_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_json(m) }),
        _ => Value::Null,
    }
}

pub fn item_json(m: &HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), attribute_json(v)))
            .collect(),
    )
}

/// A DynamoDB error as Step Functions names it, with the Java SDK's cause.
fn dynamodb_error<E: ProvideErrorMetadata>(e: &E, request_id: &str) -> (String, String) {
    let code = e.code().unwrap_or("InternalServerError");
    let message = e.message().unwrap_or(code);
    let error = match code {
        "ValidationException" | "SerializationException" => {
            "DynamoDB.AmazonDynamoDBException".to_owned()
        }
        c => format!("DynamoDB.{c}"),
    };
    (
        error,
        format!(
            "{message} (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: {code}; \
             Request ID: {request_id}; Proxy: null)"
        ),
    )
}

fn invalid(request_id: &str, message: String) -> (String, String) {
    (
        "DynamoDB.AmazonDynamoDBException".to_owned(),
        format!(
            "{message} (Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ValidationException; \
             Request ID: {request_id}; Proxy: null)"
        ),
    )
}

fn strings(p: &Value, field: &str) -> Option<HashMap<String, String>> {
    p.get(field).and_then(Value::as_object).map(|m| {
        m.iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect()
    })
}

async fn dynamodb(s: &Services, action: &str, p: &Value) -> Outcome {
    let request_id = crate::uuid4().replace('-', "").to_uppercase();
    let rid = request_id.as_str();
    let str_of = |f: &str| p.get(f).and_then(Value::as_str).map(str::to_owned);
    let table = str_of("TableName").ok_or_else(|| invalid(rid, "TableName is required".into()))?;
    let map_of = |f: &str| -> Result<Option<HashMap<String, AttributeValue>>, (String, String)> {
        p.get(f)
            .map(|v| item(v).map_err(|e| invalid(rid, format!("{f}: {e}"))))
            .transpose()
    };
    let names = strings(p, "ExpressionAttributeNames");
    let values = map_of("ExpressionAttributeValues")?;
    let return_values = str_of("ReturnValues").map(|r| ReturnValue::from(r.as_str()));
    let mut out = Map::new();
    // What putItem/updateItem/deleteItem return with `ReturnValues`.
    let mut attributes = None;
    let c = &s.dynamodb;
    match action {
        "getItem" => {
            let r = c
                .get_item()
                .table_name(table)
                .set_key(map_of("Key")?)
                .set_consistent_read(p.get("ConsistentRead").and_then(Value::as_bool))
                .set_projection_expression(str_of("ProjectionExpression"))
                .set_expression_attribute_names(names)
                .send()
                .await
                .map_err(|e| dynamodb_error(&e, rid))?;
            if let Some(i) = r.item() {
                out.insert("Item".into(), item_json(i));
            }
        }
        "putItem" => {
            let r = c
                .put_item()
                .table_name(table)
                .set_item(map_of("Item")?)
                .set_condition_expression(str_of("ConditionExpression"))
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values(return_values)
                .send()
                .await;
            attributes = r.map_err(|e| dynamodb_error(&e, rid))?.attributes;
        }
        "updateItem" => {
            let r = c
                .update_item()
                .table_name(table)
                .set_key(map_of("Key")?)
                .set_update_expression(str_of("UpdateExpression"))
                .set_condition_expression(str_of("ConditionExpression"))
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values(return_values)
                .send()
                .await;
            attributes = r.map_err(|e| dynamodb_error(&e, rid))?.attributes;
        }
        "deleteItem" => {
            let r = c
                .delete_item()
                .table_name(table)
                .set_key(map_of("Key")?)
                .set_condition_expression(str_of("ConditionExpression"))
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .set_return_values(return_values)
                .send()
                .await;
            attributes = r.map_err(|e| dynamodb_error(&e, rid))?.attributes;
        }
        other => return Err(invalid(rid, format!("unsupported action {other}"))),
    }
    if let Some(a) = &attributes {
        out.insert("Attributes".into(), item_json(a));
    }
    metadata(rid, &mut out);
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------- EventBridge

async fn put_events(s: &Services, p: &Value) -> Outcome {
    let entries = p
        .get("Entries")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty() && e.len() <= nexus_ports::events::MAX_ENTRIES_PER_CALL)
        .ok_or_else(|| {
            (
                "EventBridge.AmazonEventBridgeException".to_owned(),
                "Entries must hold 1 to 10 entries (Service: EventBridge; Status Code: 400; \
                 Error Code: ValidationException; Proxy: null)"
                    .to_owned(),
            )
        })?;
    // The bus validates each entry as PutEvents does (a missing field is an
    // empty one to it) and reports the entries it refused.
    let events: Vec<OutboxEvent> = entries
        .iter()
        .map(|e| {
            let field = |f: &str| {
                e.get(f)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            OutboxEvent {
                event_id: crate::uuid4(),
                source: field("Source"),
                detail_type: field("DetailType"),
                detail: match e.get("Detail") {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                    None => String::new(),
                },
                time: e
                    .get("Time")
                    .and_then(Value::as_str)
                    .map_or_else(|| jiff::Timestamp::now().to_string(), str::to_owned),
            }
        })
        .collect();
    let mut results: Vec<Value> = events
        .iter()
        .map(|e| json!({ "EventId": e.event_id }))
        .collect();
    let failures = s.bus.publish(&events).await.map_err(|e| {
        (
            "EventBridge.AmazonEventBridgeException".to_owned(),
            format!("{e} (Service: EventBridge; Status Code: 500; Error Code: InternalException; Proxy: null)"),
        )
    })?;
    for f in failures {
        if let Some(r) = results
            .iter_mut()
            .find(|r| r["EventId"] == f.event_id.as_str())
        {
            *r = json!({ "ErrorCode": f.code, "ErrorMessage": f.message });
        }
    }
    let failed = results
        .iter()
        .filter(|r| r.get("ErrorCode").is_some())
        .count();
    let response = json!({ "Entries": results, "FailedEntryCount": failed });
    if failed > 0 {
        return Err(("EventBridge.FailedEntry".to_owned(), response.to_string()));
    }
    Ok(response)
}

// ------------------------------------------------------------------------ SQS

async fn send_message(s: &Services, p: &Value) -> Outcome {
    use md5::{Digest, Md5};
    let sqs_error = |code: &str, message: &str| {
        (
            "SQS.AmazonSQSException".to_owned(),
            format!(
                "{message} (Service: AmazonSQS; Status Code: 400; Error Code: {code}; Proxy: null)"
            ),
        )
    };
    let url = p.get("QueueUrl").and_then(Value::as_str).ok_or_else(|| {
        sqs_error(
            "MissingParameter",
            "The request must contain the parameter QueueUrl.",
        )
    })?;
    let body = match p.get("MessageBody") {
        Some(Value::String(s)) => s.clone(),
        Some(v) if !v.is_null() => v.to_string(),
        _ => {
            return Err(sqs_error(
                "MissingParameter",
                "The request must contain the parameter MessageBody.",
            ))
        }
    };
    if body.len() > 256 * 1024 {
        return Err(sqs_error(
            "InvalidParameterValue",
            "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.",
        ));
    }
    let queue = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
    let id = crate::uuid4();
    let md5 = Md5::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let message = json!({
        "MessageId": id,
        "MD5OfMessageBody": md5,
        "Body": body,
        "QueueUrl": url,
        "MessageAttributes": p.get("MessageAttributes").cloned().unwrap_or(json!({})),
        "SentTimestamp": jiff::Timestamp::now().as_millisecond().to_string(),
    });
    s.queues
        .write("message", queue, &message)
        .await
        .map_err(|e| sqs_error("InternalError", &e))?;
    let mut out = Map::new();
    out.insert("MD5OfMessageBody".into(), json!(md5));
    out.insert("MessageId".into(), json!(id));
    metadata(&crate::uuid4(), &mut out);
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Services {
        let dlq =
            DeadLetters::new(std::env::temp_dir().join(format!("nexus-q-{}", ulid::Ulid::new())));
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build();
        Services {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(config),
            bus: Arc::new(crate::eventbridge::LocalBus::new(
                "nexus-test".into(),
                dlq.clone(),
                crate::Timing::default(),
            )),
            queues: dlq,
        }
    }

    /// An entry the bus refuses fails the task as `EventBridge.FailedEntry`,
    /// with the whole PutEvents response (every entry's outcome) as cause.
    #[tokio::test]
    async fn a_refused_entry_fails_the_task_with_the_whole_response() {
        let p = json!({"Entries": [
            {"Source": "nexus.probe", "DetailType": "Ok", "Detail": {"a": 1}},
            {"Source": "nexus.probe", "DetailType": "Bad", "Detail": "not json"},
            {"DetailType": "No source", "Detail": {}}
        ]});
        let (error, cause) = put_events(&services(), &p).await.unwrap_err();
        assert_eq!(error, "EventBridge.FailedEntry");
        let response: Value = serde_json::from_str(&cause).unwrap();
        assert_eq!(response["FailedEntryCount"], 2, "{response}");
        assert!(response["Entries"][0]["EventId"].is_string());
        assert_eq!(response["Entries"][1]["ErrorCode"], "MalformedDetail");
        assert_eq!(response["Entries"][2]["ErrorCode"], "InvalidArgument");
        let ok = put_events(
            &services(),
            &json!({"Entries": [{"Source": "nexus.probe", "DetailType": "Ok", "Detail": "{}"}]}),
        )
        .await
        .unwrap();
        assert_eq!(ok["FailedEntryCount"], 0);
    }

    #[test]
    fn attribute_values_round_trip_through_dynamodb_json() {
        let v = json!({
            "pk": {"S": "a"}, "n": {"N": "1.5"}, "b": {"B": "aGk="}, "t": {"BOOL": true},
            "z": {"NULL": true}, "ss": {"SS": ["x", "y"]}, "ns": {"NS": ["1"]},
            "bs": {"BS": ["aGk="]}, "l": {"L": [{"S": "q"}, {"N": "2"}]},
            "m": {"M": {"inner": {"S": "v"}}}
        });
        let back = item_json(&item(&v).unwrap());
        assert_eq!(back, v);
        assert!(attribute(&json!({"S": 1})).is_err());
        assert!(attribute(&json!({"S": "a", "N": "1"})).is_err());
        assert!(attribute(&json!({"X": "a"})).is_err());
    }
}
