//! The local platform started in-process (port 0, its own table on the
//! shared DynamoDB Local, a temporary state directory), driven over HTTP.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nexus_auth::AccessClaims;
use nexus_core::org::NewOrganization;
use nexus_core::UserId;
use nexus_local::{Handler, LocalPlatform, Options, StartError};
use serde_json::{json, Value};

const SETTLE: Duration = Duration::from_secs(30);

async fn options() -> Options {
    Options::ephemeral(nexus_devenv::dynamodb_local::shared_endpoint().await)
}

async fn start_with(opts: Options) -> LocalPlatform {
    LocalPlatform::start(opts)
        .await
        .unwrap_or_else(|e| panic!("the platform did not start: {e}"))
}

async fn start() -> LocalPlatform {
    start_with(options().await).await
}

fn token(local: &LocalPlatform, user: &UserId) -> String {
    let now = jiff::Timestamp::now().as_second();
    local
        .keys()
        .issue(&AccessClaims::for_user(
            local.issuer(),
            user.as_str(),
            None,
            now,
        ))
        .unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn create_org_in_store(local: &LocalPlatform) -> nexus_core::org::OrgCreated {
    let input = NewOrganization::parse(Some("Acme Beauty".into()), Some("brand".into())).unwrap();
    let created = nexus_core::org::create(input, UserId::new(), jiff::Timestamp::now());
    nexus_store::repos::orgs::create(local.store(), &created)
        .await
        .unwrap();
    created
}

/// The repository template with `edit` applied, in a temporary directory.
fn edited_template(edit: impl FnOnce(String) -> String) -> std::path::PathBuf {
    let text = std::fs::read_to_string(nexus_devenv::repo_root().join("template.yaml")).unwrap();
    let dir = std::env::temp_dir().join(format!("nexus-template-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("template.yaml");
    std::fs::write(&path, edit(text)).unwrap();
    path
}

#[test]
fn every_template_function_has_a_registered_handler() {
    let registered = nexus_local::registered_functions();
    for f in nexus_devenv::load_template().unwrap().functions() {
        assert!(
            registered.contains(&f.name.as_str()),
            "{} ({}) has no handler in local/src/functions.rs",
            f.logical_id,
            f.code_uri
        );
    }
}

#[tokio::test]
async fn health_and_docs_come_from_template_routes() {
    let local = start().await;
    let r = reqwest::get(format!("{}/health", local.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("apigw-requestid"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["checks"]["table"]["status"], "ok");

    let r = reqwest::get(format!("{}/openapi.json", local.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["paths"]["/v1/orgs"].is_object());
    let r = reqwest::get(format!("{}/docs", local.url())).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let t = nexus_devenv::load_template().unwrap();
    let s = local.summary();
    assert_eq!(
        (s.functions, s.routes, s.rules, s.stream_sources),
        (
            t.functions().len(),
            t.routes().len(),
            t.event_rules().len(),
            t.stream_sources().len()
        )
    );
    local.stop().await;
}

#[tokio::test]
async fn unmatched_requests_go_to_the_default_route() {
    let local = start().await;
    let r = reqwest::get(format!("{}/nope", local.url())).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], 404);

    let r = client()
        .delete(format!("{}/v1/orgs", local.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let allow = r.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    local.stop().await;
}

#[tokio::test]
async fn protected_routes_need_a_caller() {
    let local = start().await;
    // No token: the authorizer lets the request through as anonymous and the
    // handler answers with a 401 problem.
    let r = reqwest::get(format!("{}/v1/orgs", local.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    local.stop().await;
}

#[tokio::test]
async fn the_authorizer_context_reaches_handlers_at_request_context_authorizer_lambda() {
    // `orgs` echoes what lambda_http parsed from the payload.
    let echo = Handler::http(|req| async move {
        use lambda_http::request::RequestContext;
        use lambda_http::RequestExt;
        let (route, lambda) = match req.request_context_ref() {
            Some(RequestContext::ApiGatewayV2(ctx)) => (
                ctx.route_key.clone(),
                ctx.authorizer.as_ref().map(|a| json!(a.fields)),
            ),
            _ => (None, None),
        };
        let body = json!({ "routeKey": route, "lambda": lambda, "orgId": req.path_parameters_ref().and_then(|p| p.first("orgId")) });
        lambda_http::Response::new(lambda_http::Body::Text(body.to_string()))
    });
    let local = start_with(options().await.with_override("orgs", echo)).await;
    let v: Value = reqwest::get(format!("{}/v1/orgs/org_1", local.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["routeKey"], "GET /v1/orgs/{orgId}");
    assert_eq!(v["orgId"], "org_1");
    assert_eq!(v["lambda"]["principalType"], "anonymous");
    assert_eq!(v["lambda"]["authError"], "missing");

    let user = UserId::new();
    let v: Value = client()
        .get(format!("{}/v1/orgs", local.url()))
        .header("authorization", format!("Bearer {}", token(&local, &user)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["lambda"]["principalType"], "user");
    assert_eq!(v["lambda"]["principalId"], user.as_str());
    local.stop().await;
}

/// `POST` JSON, returning status and body.
async fn post(
    local: &LocalPlatform,
    path: &str,
    bearer: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut r = client().post(format!("{}{path}", local.url())).json(&body);
    if let Some(t) = bearer {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_str(&r.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

/// Register, verify through the e-mailed token (local outbox), log in: an access token.
async fn verified_user(local: &LocalPlatform) -> String {
    let email = format!(
        "u{}@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let password = "violet-kayak-47-orbit";
    let (status, body) = post(
        local,
        "/v1/auth/register",
        None,
        json!({"email": email, "password": password, "name": "Test User"}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    // The verification e-mail leaves through the outbox and the account-mail worker.
    local.settle(SETTLE).await.unwrap();
    let outbox: Value = reqwest::get(format!("{}/_local/outbox?to={email}", local.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = outbox["items"][0]["token"].as_str().unwrap().to_owned();
    let (status, body) = post(
        local,
        "/v1/auth/verify-email",
        None,
        json!({"token": token}),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (status, body) = post(
        local,
        "/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["accessToken"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_org_created_over_http_is_listed_and_audited() {
    let local = start().await;
    let access = verified_user(&local).await;
    let (status, org) = post(
        &local,
        "/v1/orgs",
        Some(&access),
        json!({"name": "Acme Beauty", "kind": "brand"}),
    )
    .await;
    assert_eq!(status, 201, "{org}");
    let r = client()
        .get(format!("{}/v1/orgs", local.url()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1), "{v}");

    local.settle(SETTLE).await.unwrap();
    let org_id: nexus_core::OrgId = org["id"].as_str().unwrap().parse().unwrap();
    let page = nexus_store::repos::audit::list(local.store(), &org_id, 10, None)
        .await
        .unwrap();
    assert!(
        page.items.iter().any(|e| e.action == "OrganizationCreated"),
        "{:?}",
        page.items
    );
    assert!(local.dead_letters().is_empty());
    local.stop().await;
}

#[tokio::test]
async fn authorizer_denials_and_errors_are_api_gateway_answers() {
    let deny = Handler::authorizer(|e| async move {
        assert_eq!(e.payload.type_.as_deref(), Some("REQUEST"));
        let mut r = aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerSimpleResponse::default();
        r.is_authorized = false;
        Ok(r)
    });
    let local = start_with(options().await.with_override("authorizer", deny)).await;
    let r = reqwest::get(format!("{}/v1/orgs", local.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.text().await.unwrap(), r#"{"message":"Forbidden"}"#);
    let r = reqwest::get(format!("{}/health", local.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "public routes skip the authorizer");
    local.stop().await;

    let fail = Handler::authorizer(|_| async {
        Err(lambda_runtime::Diagnostic {
            error_type: "Boom".into(),
            error_message: "down".into(),
        })
    });
    let local = start_with(options().await.with_override("authorizer", fail)).await;
    let r = reqwest::get(format!("{}/v1/orgs", local.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"message":"Internal Server Error"}"#
    );
    local.stop().await;
}

#[tokio::test]
async fn cors_preflight_and_response_headers() {
    let local = start().await;
    let r = client()
        .request(reqwest::Method::OPTIONS, format!("{}/v1/orgs", local.url()))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let h = r.headers();
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(h["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .contains("authorization"));
    assert_eq!(h["access-control-max-age"], "600");

    let r = client()
        .get(format!("{}/health", local.url()))
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-request-id"));
    let r = reqwest::get(format!("{}/health", local.url()))
        .await
        .unwrap();
    assert!(
        r.headers().get("access-control-allow-origin").is_none(),
        "no Origin, no CORS headers"
    );
    local.stop().await;
}

#[tokio::test]
async fn panics_timeouts_and_oversized_bodies_never_crash_the_gateway() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let health = Handler::http(move |_| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            match n {
                0 => panic!("handler bug"),
                1 => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    lambda_http::Response::new(lambda_http::Body::Empty)
                }
                _ => lambda_http::Response::builder()
                    .status(200)
                    .body(lambda_http::Body::Text("ok".into()))
                    .unwrap(),
            }
        }
    });
    let mut opts = options().await.with_override("health", health);
    opts.timing.integration_timeout = Duration::from_millis(300);
    let local = start_with(opts).await;
    let url = format!("{}/health", local.url());
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"message":"Internal Server Error"}"#
    );
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"message":"Service Unavailable"}"#
    );
    let r = reqwest::get(&url).await.unwrap();
    assert_eq!(r.status(), 200, "still serving");

    let big = vec![b'a'; nexus_local::gateway::MAX_REQUEST_BYTES + 1];
    let r = client()
        .post(format!("{}/v1/orgs", local.url()))
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"message":"Request Entity Too Large"}"#
    );
    local.stop().await;
}

#[tokio::test]
async fn the_local_outbox_lists_what_functions_mailed() {
    let local = start().await;
    let email = format!(
        "u{}+tag@example.com",
        ulid::Ulid::new().to_string().to_lowercase()
    );
    let r = client()
        .post(format!("{}/v1/auth/register", local.url()))
        .json(&json!({"email": email, "password": "violet-kayak-47-orbit", "name": "Test User"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    // Sent by the account-mail worker, off the request path.
    local.settle(SETTLE).await.unwrap();
    let r = reqwest::get(format!("{}/_local/outbox?to={email}", local.url()))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("apigw-requestid"));
    let v: Value = r.json().await.unwrap();
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["template"], "verify-email");
    assert!(items[0]["token"].is_string());
    assert_eq!(local.mail().list(None).len(), 1);
    local.stop().await;
}

#[tokio::test]
async fn presigned_urls_round_trip_through_the_embedded_s3() {
    let local = start().await;
    assert_eq!(
        local.platform().config.media_bucket,
        Some(format!("{}-media", local.table_name()))
    );
    let media = &local.platform().media;
    let key = "uploads/usr_1/photo.jpg";
    let bytes: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    let put = media
        .presign_upload(key, "image/jpeg", Duration::from_secs(300))
        .await
        .unwrap();
    assert!(
        put.url.starts_with(&local.s3_endpoint()),
        "{} is not on {}",
        put.url,
        local.s3_endpoint()
    );
    let mut req = client().put(&put.url).body(bytes.clone());
    for (k, v) in &put.headers {
        req = req.header(k, v);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert_eq!(media.size(key).await.unwrap(), Some(bytes.len() as u64));

    let get = media
        .presign_download(key, Duration::from_secs(300))
        .await
        .unwrap();
    let r = reqwest::get(&get.url).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), bytes.as_slice());

    let at = get.url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &get.url[at..=at] == "0" { "1" } else { "0" };
    let forged = format!("{}{flipped}{}", &get.url[..at], &get.url[at + 1..]);
    assert_eq!(
        reqwest::get(&forged).await.unwrap().status(),
        403,
        "signatures are verified"
    );
    assert_eq!(media.size("missing").await.unwrap(), None);
    local.stop().await;
}

#[tokio::test]
async fn outbox_events_flow_through_the_stream_and_bus_to_the_audit_log() {
    let local = start().await;
    let created = create_org_in_store(&local).await;
    local.settle(SETTLE).await.unwrap();
    let page = nexus_store::repos::audit::list(local.store(), &created.org.id, 10, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "one audit entry");
    assert_eq!(page.items[0].action, "OrganizationCreated");
    assert_eq!(page.items[0].source, "nexus.orgs");
    assert!(local.dead_letters().is_empty());

    let checkpoint: Value = serde_json::from_str(
        &std::fs::read_to_string(
            local
                .state_dir()
                .join("streams/OutboxPublisherFunction.seq"),
        )
        .unwrap(),
    )
    .unwrap();
    assert!(checkpoint["sequenceNumber"].is_string(), "{checkpoint}");
    local.stop().await;
}

/// A poison outbox record (a `detail` EventBridge refuses as malformed) is
/// dead-lettered whole by the publisher into its own queue, and the events
/// behind it on the shard are published at once: nothing blocks, nothing is
/// retried in vain, nothing is reduced to stream metadata.
#[tokio::test]
async fn a_poison_outbox_record_is_dead_lettered_whole_and_does_not_block_the_shard() {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let local = start().await;
    let s = |v: &str| A::S(v.to_owned());
    local
        .store()
        .client()
        .put_item()
        .table_name(local.table_name())
        .item("PK", s("OUTBOX#evt_poison"))
        .item("SK", s("OUTBOX"))
        .item("_kind", s("OUTBOX"))
        .item("eventId", s("evt_poison"))
        .item("source", s("nexus.orgs"))
        .item("detailType", s("OrganizationCreated"))
        .item("detail", s("\"not an object\""))
        .item("occurredAt", s("2026-11-28T10:00:00Z"))
        .send()
        .await
        .unwrap();
    let created = create_org_in_store(&local).await;
    local.settle(SETTLE).await.unwrap();

    let page = nexus_store::repos::audit::list(local.store(), &created.org.id, 10, None)
        .await
        .unwrap();
    assert_eq!(
        page.items.len(),
        1,
        "the event behind the poison one was published"
    );
    let letters = local.dead_letters();
    assert_eq!(letters.len(), 1, "{letters:?}");
    let file = letters[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        file.contains("-queue-OutboxEventDeadLetterQueue-"),
        "the publisher's own queue, not the stream's metadata queue: {file}"
    );
    let letter: Value = serde_json::from_slice(&std::fs::read(&letters[0]).unwrap()).unwrap();
    assert_eq!(letter["attributes"]["ErrorCode"], "MalformedDetail");
    assert_eq!(letter["attributes"]["EventId"], "evt_poison");
    let body = &letter["body"];
    assert_eq!(body["event"]["eventId"], "evt_poison");
    assert_eq!(body["event"]["detail"], "\"not an object\"");
    assert_eq!(body["stream"]["keys"]["PK"], "OUTBOX#evt_poison");
    local.stop().await;
}

#[tokio::test]
async fn failing_rule_targets_are_retried_then_dead_lettered() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let audit = Handler::event(move |_| {
        c.fetch_add(1, Ordering::SeqCst);
        async {
            Err(lambda_runtime::Diagnostic {
                error_type: "Boom".into(),
                error_message: "audit is down".into(),
            })
        }
    });
    let mut opts = options().await.with_override("audit", audit);
    opts.timing.retry_backoff_cap = Duration::from_millis(2);
    let local = start_with(opts).await;
    create_org_in_store(&local).await;
    local.settle(SETTLE).await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        186,
        "1 attempt + MaximumRetryAttempts 185"
    );
    let letters = local.dead_letters();
    assert_eq!(letters.len(), 1);
    let letter: Value = serde_json::from_slice(&std::fs::read(&letters[0]).unwrap()).unwrap();
    assert_eq!(letter["event"]["detail-type"], "OrganizationCreated");
    assert_eq!(letter["attributes"]["ERROR_CODE"], "Boom");
    local.stop().await;
}

#[tokio::test]
async fn failing_stream_batches_are_retried_then_dead_lettered_and_skipped() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let publisher = Handler::stream(move |e| {
        c.fetch_add(1, Ordering::SeqCst);
        async move {
            // Report the first record as failed: the batch is retried from it.
            let mut r = aws_lambda_events::streams::DynamoDbEventResponse::default();
            let mut f = aws_lambda_events::streams::DynamoDbBatchItemFailure::default();
            f.item_identifier = e.payload.records[0].change.sequence_number.clone();
            r.batch_item_failures = vec![f];
            Ok(r)
        }
    });
    let opts = options().await.with_override("outbox-publisher", publisher);
    let template =
        edited_template(|t| t.replace("MaximumRetryAttempts: 100", "MaximumRetryAttempts: 2"));
    let local = start_with(Options {
        template: template.clone(),
        ..opts
    })
    .await;
    create_org_in_store(&local).await;
    local.settle(SETTLE).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3, "1 attempt + 2 retries");
    let letters = local.dead_letters();
    assert_eq!(letters.len(), 1);
    let letter: Value = serde_json::from_slice(&std::fs::read(&letters[0]).unwrap()).unwrap();
    assert_eq!(
        letter["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(letter["DDBStreamBatchInfo"]["batchSize"], 1);
    assert_eq!(
        letter["records"][0]["dynamodb"]["NewImage"]["_kind"]["S"],
        "OUTBOX"
    );

    // The shard moved on: the next event is delivered (and fails again).
    create_org_in_store(&local).await;
    local.settle(SETTLE).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 6);
    local.stop().await;
    let _ = std::fs::remove_dir_all(template.parent().unwrap());
}

#[tokio::test]
async fn a_restart_resumes_the_stream_after_the_checkpoint() {
    let mut opts = options().await;
    opts.remove_state_on_stop = false;
    let local = start_with(opts.clone()).await;
    create_org_in_store(&local).await;
    local.settle(SETTLE).await.unwrap();
    local.stop().await;

    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let publisher = Handler::stream(move |e| {
        s.fetch_add(e.payload.records.len(), Ordering::SeqCst);
        async { Ok(aws_lambda_events::streams::DynamoDbEventResponse::default()) }
    });
    let again = Options {
        fresh: false,
        remove_state_on_stop: true,
        ..opts
    }
    .with_override("outbox-publisher", publisher);
    let local = start_with(again).await;
    local.settle(SETTLE).await.unwrap();
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "already processed records are not redelivered"
    );
    create_org_in_store(&local).await;
    local.settle(SETTLE).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 1, "new records are");
    local.stop().await;
}

#[tokio::test]
async fn start_up_refuses_bad_wiring_and_busy_ports() {
    let opts = options().await;
    let template = edited_template(|t| {
        t.replace("\nOutputs:", "\n  BillingFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: functions/billing\n\nOutputs:")
    });
    let err = LocalPlatform::start(Options {
        template: template.clone(),
        ..opts
    })
    .await
    .err()
    .unwrap();
    assert!(
        matches!(err, StartError::Unregistered(ref f) if f.contains("BillingFunction (functions/billing)")),
        "{err}"
    );

    let opts = options().await;
    let bad = edited_template(|t| t.replace("- prefix: nexus.", "- prefix: 42"));
    let err = LocalPlatform::start(Options {
        template: bad.clone(),
        ..opts
    })
    .await
    .err()
    .unwrap();
    assert!(
        matches!(err, StartError::Wiring(ref m) if m.contains("AuditFunction")),
        "{err}"
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let err = LocalPlatform::start(Options {
        port,
        ..options().await
    })
    .await
    .err()
    .unwrap();
    assert!(
        matches!(err, StartError::PortInUse { port: p, flag: "--port" } if p == port),
        "{err}"
    );
    assert_eq!(err.exit_code(), 2);
    assert_eq!(
        err.to_string(),
        format!("port {port} is already in use; pick another with --port")
    );
    for t in [template, bad] {
        let _ = std::fs::remove_dir_all(t.parent().unwrap());
    }
}

#[test]
fn the_binary_exits_2_with_one_line_when_a_port_is_busy() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let state = std::env::temp_dir().join(format!("nexus-bin-{}", ulid::Ulid::new()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nexus-local"))
        .args([
            "--port",
            &port.to_string(),
            "--state-dir",
            &state.display().to_string(),
            "--dynamodb-endpoint",
            "http://127.0.0.1:9",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!("error: port {port} is already in use; pick another with --port")
    );
    let _ = std::fs::remove_dir_all(state);
}
