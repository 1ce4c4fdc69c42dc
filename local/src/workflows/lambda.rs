//! Lambda tasks: the template's functions invoked in-process with the
//! payload Lambda would deliver, and their results and errors in the shapes
//! Step Functions reports (`workflows-and-events.md` §1.10).

use nexus_asl::{Event, Resource, TaskRequest};
use serde_json::{json, Value};

use crate::functions::{invoke, Function, Functions, Handler, InvokeError};

/// The function a `FunctionName` (name, `name:qualifier`, partial or full
/// ARN) or a bare function ARN designates: its logical id locally.
pub fn function_name(reference: &str) -> &str {
    let after = match reference.find("function:") {
        Some(i) => &reference[i + "function:".len()..],
        None => reference,
    };
    after.split(':').next().unwrap_or(after)
}

fn failed(task_id: u64, error: &str, cause: String) -> Event {
    Event::TaskFailed {
        task_id,
        error: Some(error.to_owned()),
        cause: Some(cause),
    }
}

/// `lambda:invoke`'s result: the function output in its envelope.
pub fn envelope(payload: Value, request_id: &str) -> Value {
    let date = jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let length = serde_json::to_string(&payload)
        .map_or(0, |s| s.len())
        .to_string();
    let headers = [
        ("Connection", "keep-alive".to_owned()),
        ("Content-Length", length),
        ("Content-Type", "application/json".to_owned()),
        ("Date", date),
        ("X-Amz-Executed-Version", "$LATEST".to_owned()),
        ("x-amzn-Remapped-Content-Length", "0".to_owned()),
        ("x-amzn-RequestId", request_id.to_owned()),
    ];
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": http_metadata(&headers),
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200
    })
}

/// `SdkHttpMetadata` of a 200 answer, as the Java SDK behind Step Functions
/// reports it for every optimised integration: each header once as a list
/// (`AllHttpHeaders`) and once as a value (`HttpHeaders`).
pub fn http_metadata(headers: &[(&str, String)]) -> Value {
    let all: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!([v])))
        .collect();
    let single: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({"AllHttpHeaders": all, "HttpHeaders": single, "HttpStatusCode": 200})
}

/// Run a Lambda task and report what Step Functions would: the result
/// (`TaskSucceeded`, or `TaskSubmitted` for `.waitForTaskToken`, whose
/// result comes with the token) or the failure (`TaskFailed`).
pub async fn perform(functions: &Functions, req: &TaskRequest) -> Event {
    let (reference, payload, wrapped, callback) = match &req.resource {
        Resource::LambdaInvoke {
            wait_for_task_token,
        } => {
            let name = req
                .parameters
                .get("FunctionName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let payload = req.parameters.get("Payload").cloned().unwrap_or(json!({}));
            (name, payload, true, *wait_for_task_token)
        }
        Resource::LambdaFunction { function_arn } => {
            (function_arn.clone(), req.parameters.clone(), false, false)
        }
        other => {
            // Refused at start-up (machines::load); kept total.
            return failed(
                req.task_id,
                "States.Runtime",
                format!("the local runner does not implement {other:?}"),
            );
        }
    };
    let name = function_name(&reference);
    let request_id = crate::uuid4();
    let Some(function) = functions.get(name) else {
        return failed(
            req.task_id,
            "Lambda.ResourceNotFoundException",
            format!(
                "Function not found: {}:$LATEST (Service: AWSLambda; Status Code: 404; \
                 Error Code: ResourceNotFoundException; Request ID: {request_id}; Proxy: null)",
                crate::function_arn(name)
            ),
        );
    };
    match call(function, payload, &request_id).await {
        Ok(output) => {
            let output = if wrapped {
                envelope(output, &request_id)
            } else {
                output
            };
            if callback {
                Event::TaskSubmitted {
                    task_id: req.task_id,
                    output,
                }
            } else {
                Event::TaskSucceeded {
                    task_id: req.task_id,
                    output,
                }
            }
        }
        Err((error, cause)) => failed(req.task_id, &error, cause),
    }
}

/// One invocation: the output, or `(error, cause)` as Step Functions reports it.
async fn call(
    function: &Function,
    payload: Value,
    request_id: &str,
) -> Result<Value, (String, String)> {
    let Handler::Invoke(f) = &function.handler else {
        return Err((
            "Lambda.Unknown".into(),
            format!(
                "{} (functions/{}) takes {} events locally; a Step Functions task invokes a \
                 direct-invoke handler (Handler::invoke)",
                function.def.logical_id,
                function.def.name,
                function.handler.kind()
            ),
        ));
    };
    let limit = function.timeout();
    let event = lambda_runtime::LambdaEvent::new(payload, function.context(request_id, limit));
    match invoke(f(event), limit).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(d)) => Err((
            d.error_type.clone(),
            json!({"errorType": d.error_type, "errorMessage": d.error_message}).to_string(),
        )),
        Err(InvokeError::Timeout(d)) => Err((
            "Sandbox.Timedout".into(),
            format!("Task timed out after {:.2} seconds", d.as_secs_f64()),
        )),
        Err(InvokeError::Panicked(msg)) => Err((
            "Lambda.Unknown".into(),
            format!("The function panicked: {msg}"),
        )),
        Err(InvokeError::Cancelled) => Err((
            "Lambda.ServiceException".into(),
            "The invocation was cancelled".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_references_name_the_function() {
        for r in [
            "Worker",
            "Worker:$LATEST",
            "000000000000:function:Worker",
            "arn:aws:lambda:us-east-1:000000000000:function:Worker",
            "arn:aws:lambda:us-east-1:000000000000:function:Worker:live",
        ] {
            assert_eq!(function_name(r), "Worker", "{r}");
        }
    }

    #[test]
    fn the_envelope_has_aws_shape() {
        let e = envelope(json!({"ok": true}), "r-1");
        assert_eq!(e["Payload"], json!({"ok": true}));
        assert_eq!(e["StatusCode"], 200);
        assert_eq!(e["ExecutedVersion"], "$LATEST");
        assert_eq!(e["SdkResponseMetadata"]["RequestId"], "r-1");
        assert_eq!(e["SdkHttpMetadata"]["HttpStatusCode"], 200);
        assert_eq!(
            e["SdkHttpMetadata"]["AllHttpHeaders"]["x-amzn-RequestId"],
            json!(["r-1"])
        );
    }
}
