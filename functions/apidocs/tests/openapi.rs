//! The served document (`openapi.json`, embedded in the apidocs Lambda) is
//! exactly what the handlers' annotations generate, and it describes exactly
//! the routes template.yaml deploys.
//!
//! After changing an annotation or a schema type, regenerate it with
//!
//!     UPDATE_OPENAPI=1 cargo test -p apidocs --test openapi
//!
//! and commit `functions/apidocs/openapi.json` with the change (on a merge
//! conflict in it, take either side and regenerate).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

/// Every function that serves HTTP routes contributes its fragment here.
fn generated() -> utoipa::openapi::OpenApi {
    nexus_http::openapi::document(
        env!("CARGO_PKG_VERSION"),
        [
            health::openapi(),
            apidocs::openapi(),
            auth::openapi(),
            me::openapi(),
            orgs::openapi(),
            invitations::openapi(),
            notifications::openapi(),
            creators::openapi(),
            campaigns::openapi(),
            marketplace::openapi(),
            contracts::openapi(),
            staff::openapi(),
        ],
    )
}

fn generated_json() -> String {
    let mut s = generated().to_pretty_json().expect("document serializes");
    s.push('\n');
    s
}

/// JSON pointers where `a` and `b` differ (at most `max`).
fn differences(a: &Value, b: &Value, at: String, out: &mut Vec<String>, max: usize) {
    if out.len() >= max || a == b {
        return;
    }
    let esc = |k: &str| k.replace('~', "~0").replace('/', "~1");
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = format!("{at}/{}", esc(k));
                match (x.get(k), y.get(k)) {
                    (Some(v), Some(w)) => differences(v, w, p, out, max),
                    (Some(_), None) => out.push(format!("{p} (only in the code)")),
                    (None, Some(_)) => out.push(format!("{p} (only in openapi.json)")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(v, w, format!("{at}/{i}"), out, max);
            }
        }
        _ => out.push(if at.is_empty() { "/".into() } else { at }),
    }
}

#[test]
fn served_document_is_generated_from_the_code() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let fresh = generated_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &fresh).expect("write openapi.json");
        return;
    }
    if apidocs::OPENAPI_JSON == fresh {
        return;
    }
    let served: Value = serde_json::from_str(apidocs::OPENAPI_JSON).unwrap_or(Value::Null);
    let code: Value = serde_json::from_str(&fresh).expect("generated JSON parses");
    let mut diff = vec![];
    differences(&code, &served, String::new(), &mut diff, 30);
    panic!(
        "functions/apidocs/openapi.json is out of date with the annotations; differences:\n  {}\n\
         Regenerate it: UPDATE_OPENAPI=1 cargo test -p apidocs --test openapi",
        if diff.is_empty() {
            "(formatting only)".to_owned()
        } else {
            diff.join("\n  ")
        }
    );
}

fn served() -> Value {
    serde_json::from_str(apidocs::OPENAPI_JSON).expect("openapi.json parses")
}

#[test]
fn document_is_openapi_3_1_with_security_schemes() {
    let v = served();
    assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(v["components"]["securitySchemes"]["bearer"].is_object());
    assert!(v["components"]["securitySchemes"]["apiKey"].is_object());
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[test]
fn every_template_route_has_an_operation_and_every_operation_a_route() {
    let v = served();
    let template = nexus_wiring::template::Template::parse(include_str!("../../../template.yaml"))
        .expect("template parses");
    let mut routes = BTreeSet::new();
    for r in template.routes() {
        if r.path == "$default" {
            continue;
        }
        routes.insert(r.route_key());
        let op = &v["paths"][&r.path][r.method.to_lowercase()];
        assert!(
            op.is_object(),
            "{} has no operation in the document",
            r.route_key()
        );
        assert_eq!(
            op.get("security").is_some(),
            r.authorizer.is_some(),
            "{}: the operation's security must match the template's authorizer",
            r.route_key()
        );
    }
    for (path, item) in v["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                let key = format!("{} {path}", method.to_uppercase());
                assert!(
                    routes.contains(&key),
                    "{key} is documented but template.yaml has no such route"
                );
            }
        }
    }
}

#[test]
fn every_operation_has_a_unique_id_and_documents_its_problems_as_problem_json() {
    let v = served();
    let mut ids = BTreeSet::new();
    for (path, item) in v["paths"].as_object().expect("paths") {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let key = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{key}: no operationId"));
            assert!(
                ids.insert(id.to_owned()),
                "{key}: operationId {id} is used twice"
            );
            for (status, r) in op["responses"].as_object().expect("responses") {
                if status.starts_with('4') || status.starts_with('5') {
                    // 503 from /health is a health report, not a problem.
                    if key == "GET /health" && status == "503" {
                        continue;
                    }
                    let content = r["content"]
                        .as_object()
                        .map(|c| c.keys().collect::<Vec<_>>());
                    assert_eq!(
                        content,
                        Some(vec![&"application/problem+json".to_owned()]),
                        "{key} {status}: errors are application/problem+json"
                    );
                    assert_eq!(
                        r["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{key} {status}: errors are Problems"
                    );
                }
                if status.starts_with('2') && status != "204" {
                    let schema = r["content"]["application/json"]["schema"]
                        .as_object()
                        .and_then(|s| s.get("type"));
                    assert_ne!(
                        schema,
                        Some(&Value::from("array")),
                        "{key} {status}: lists answer ListEnvelope<T> ({{items, nextCursor}}), not a bare array"
                    );
                }
            }
        }
    }
}
