//! The foundation through the local gateway: health, OpenAPI, docs, problem
//! answers for bad requests, and template ↔ gateway ↔ OpenAPI parity.

use integration_tests::TestApp;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn health_openapi_and_docs() {
    let app = TestApp::spawn().await;
    let h = app.get("/health", None).await;
    assert_eq!(h.status, 200, "{}", h.text);
    assert_eq!(h.body["checks"]["table"]["status"], "ok");
    assert!(h.headers.contains_key("x-request-id"));

    let o = app.get("/openapi.json", None).await;
    assert_eq!(o.status, 200);
    assert!(o.body["openapi"].as_str().unwrap().starts_with("3.1."));
    assert!(o.body["paths"]["/v1/orgs/{orgId}"]["get"].is_object());

    // Swagger UI: the page, its vendored assets, and its configuration pointing at /openapi.json.
    let d = app.get("/docs", None).await;
    assert_eq!(d.status, 200);
    assert!(d.content_type().starts_with("text/html"));
    assert!(d.text.contains("swagger-ui-bundle.js"), "{}", d.text);
    let init = app.get("/docs/swagger-initializer.js", None).await;
    assert_eq!(init.status, 200, "{}", init.text);
    assert!(init.text.contains("\"/openapi.json\""), "{}", init.text);
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-ui.css",
        "index.css",
    ] {
        let a = app.get(&format!("/docs/{asset}"), None).await;
        assert_eq!(a.status, 200, "{asset}");
        assert!(a.text.len() > 100, "{asset}");
    }
    app.get("/docs/nope.js", None)
        .await
        .assert_problem(404, "not-found");
}

#[tokio::test]
async fn bad_requests_get_problems_never_500() {
    let app = TestApp::spawn().await;
    app.get("/nope", None)
        .await
        .assert_problem(404, "route-not-found");
    let r = app.call(Method::DELETE, "/v1/orgs", None, None).await;
    r.assert_problem(405, "method-not-allowed");
    assert!(r.headers["allow"].to_str().unwrap().contains("POST"));

    let malformed = app
        .raw(
            app.client
                .post(app.url("/v1/auth/login"))
                .header("content-type", "application/json")
                .body("{\"email\": "),
        )
        .await;
    malformed.assert_problem(400, "malformed-request");
    let wrong_type = app
        .raw(
            app.client
                .post(app.url("/v1/auth/login"))
                .header("content-type", "text/plain")
                .body("hi"),
        )
        .await;
    wrong_type.assert_problem(415, "unsupported-media-type");
    let missing = app
        .post("/v1/auth/register", None, json!({"email": "x@example.com"}))
        .await;
    missing.assert_problem(400, "validation-failed");
    let pointers: Vec<_> = missing.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        pointers.contains(&"/password".to_string()) && pointers.contains(&"/name".to_string()),
        "{pointers:?}"
    );
    let types = app
        .post("/v1/auth/login", None, json!({"email": 5, "password": []}))
        .await;
    types.assert_problem(400, "validation-failed");
    assert_eq!(types.body["errors"][0]["pointer"], "/email");
    let big = app
        .raw(
            app.client
                .post(app.url("/v1/auth/register"))
                .header("content-type", "application/json")
                .body(format!("{{\"name\":\"{}\"}}", "a".repeat(300 * 1024))),
        )
        .await;
    big.assert_problem(413, "payload-too-large");
    let unknown_enum = app.post("/v1/auth/register", None, json!({"email": "a@example.com", "password": "violet-kayak-47-orbit", "name": "A", "accountType": "robot"})).await;
    unknown_enum.assert_problem(400, "validation-failed");
    assert_eq!(unknown_enum.body["errors"][0]["pointer"], "/accountType");
}

/// Every route template.yaml declares is served by its function through the
/// local gateway (never by the `$default` fallback) and documented in /openapi.json.
#[tokio::test]
async fn every_template_route_is_served_and_documented() {
    let app = TestApp::spawn().await;
    let template = nexus_devenv::load_template().unwrap();
    let doc = app.get("/openapi.json", None).await.body;
    let mut checked = 0;
    for r in template.routes() {
        if r.path == "$default" {
            continue;
        }
        let path = r
            .path
            .replace("{orgId}", "org_01JDQ8M3ZP6T0N7W4C5B2X9Y8M")
            .replace("{userId}", "usr_01JDQ8M3ZP6T0N7W4C5B2X9Y8K")
            .replace("{keyId}", "key_01JDQ8M3ZP6T0N7W4C5B2X9Y8K")
            .replace("{token}", "nxi_x")
            .replace("{method}", "totp");
        let method = Method::from_bytes(r.method.as_bytes()).unwrap();
        let res = app
            .call(
                method,
                &path,
                None,
                if r.method == "GET" || r.method == "DELETE" {
                    None
                } else {
                    Some(json!({}))
                },
            )
            .await;
        assert_ne!(
            res.body["type"],
            format!("{}route-not-found", nexus_core::error::PROBLEM_BASE),
            "{} fell through to $default",
            r.route_key()
        );
        assert_ne!(res.status.as_u16(), 405, "{}", r.route_key());
        assert!(
            res.status.as_u16() < 500,
            "{} answered {}: {}",
            r.route_key(),
            res.status,
            res.text
        );
        assert!(
            doc["paths"][&r.path][r.method.to_lowercase()].is_object(),
            "{} missing from /openapi.json",
            r.route_key()
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} routes");
    for f in template.functions() {
        assert!(
            nexus_local::registered_functions().contains(&f.name.as_str()),
            "{} has no handler in the local platform",
            f.name
        );
        assert!(std::path::Path::new(&format!(
            "{}/{}",
            nexus_devenv::repo_root().display(),
            f.code_uri
        ))
        .join("Cargo.toml")
        .is_file());
        let samples = std::fs::read_dir(nexus_devenv::repo_root().join("events"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(&f.name))
            .count();
        assert!(samples > 0, "no sample event in events/ for {}", f.name);
    }
}

/// Every problem repeats the response's `x-request-id` as `requestId`, and
/// a DynamoDB that keeps throttling turns into `503 unavailable` with
/// `Retry-After`, never a 500.
#[tokio::test]
async fn problems_carry_the_request_id_and_a_throttled_store_is_503() {
    let app = TestApp::spawn_contended().await;
    let (owner, _org) = app.org_owner("brand").await;

    let missing = app
        .get(
            "/v1/campaigns/cmp_01JDQ8M3ZP6T0N7W4C5B2X9Y8E",
            Some(&owner.access),
        )
        .await;
    missing.assert_problem(404, "not-found");
    let header = missing.headers["x-request-id"].to_str().unwrap();
    assert!(!header.is_empty());
    assert_eq!(missing.body["requestId"], header);

    app.front().throttle(true);
    let busy = app.get("/v1/campaigns", Some(&owner.access)).await;
    app.front().throttle(false);
    busy.assert_problem(503, "unavailable");
    assert_eq!(busy.headers["retry-after"], "1");
    assert_eq!(
        busy.body["requestId"],
        busy.headers["x-request-id"].to_str().unwrap()
    );
    assert!(
        busy.body["detail"].as_str().unwrap().contains("retry"),
        "{}",
        busy.text
    );
    // And it recovers once DynamoDB does.
    let ok = app.get("/v1/campaigns", Some(&owner.access)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}
