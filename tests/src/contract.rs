//! The OpenAPI document is a contract: every response a test receives through
//! [`crate::TestApp`] is checked against the document the platform serves at
//! `/openapi.json`, for its operation (method + path template) and status.
//!
//! A response fails the test when
//! - its status is not documented for the operation,
//! - its content type is not documented for that status (or it has a body
//!   where the document says there is none),
//! - its JSON body does not match the documented schema (JSON Schema 2020-12,
//!   as OpenAPI 3.1 uses; `#/components/schemas/...` resolve in the document),
//! - it carries a header with meaning to clients (`location`, `retry-after`,
//!   `idempotent-replayed`, ...) that the response does not document.
//!
//! Requests that match no operation must get the `$default` route's answer: a
//! 404 or 405 `application/problem+json` [`Problem`]. The local platform's own
//! routes (`/_local/*`) are not part of the API and are not checked.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use jsonschema::{Draft, Validator};
use nexus_wiring::router::{Match, RouteTable};
use nexus_wiring::template::Route;
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::Value;

use crate::Res;

const DOC_URI: &str = "urn:nexus:openapi";
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// Headers that are transport, gateway or on every response, not part of an operation's contract.
fn is_ambient_header(name: &str) -> bool {
    matches!(
        name,
        "content-type"
            | "content-length"
            | "date"
            | "connection"
            | "transfer-encoding"
            | "x-request-id"
            | "apigw-requestid"
            | "vary"
    ) || name.starts_with("access-control-")
}

/// The served document, compiled for validation.
pub struct Contract {
    doc: Value,
    routes: RouteTable,
    registry: jsonschema::Registry<'static>,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

/// One compiled contract per distinct document text, shared by every test in the process.
static CONTRACTS: LazyLock<Mutex<HashMap<String, Arc<Contract>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// A JSON pointer segment.
fn esc(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

impl Contract {
    /// The contract for this document text (compiled once per process).
    pub fn for_document(text: &str) -> Arc<Contract> {
        let mut all = CONTRACTS.lock().expect("contracts lock");
        if let Some(c) = all.get(text) {
            return c.clone();
        }
        let c = Arc::new(Contract::new(text));
        all.insert(text.to_owned(), c.clone());
        c
    }

    fn new(text: &str) -> Self {
        let doc: Value = serde_json::from_str(text).expect("/openapi.json is JSON");
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1")),
            "/openapi.json is not OpenAPI 3.1"
        );
        let mut routes = vec![];
        for (path, item) in doc["paths"].as_object().expect("document has paths") {
            for m in METHODS {
                if item.get(m).is_some() {
                    routes.push(Route {
                        method: m.to_uppercase(),
                        path: path.clone(),
                        function: String::new(),
                        authorizer: None,
                    });
                }
            }
        }
        let registry = jsonschema::Registry::new()
            .draft(Draft::Draft202012)
            .add(DOC_URI, doc.clone())
            .and_then(|r| r.prepare())
            .expect("the document is a valid schema resource");
        Self {
            doc,
            routes: RouteTable::new(routes),
            registry,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The validator for the schema at `pointer` (a JSON pointer into the document).
    fn validator(&self, pointer: &str) -> Result<Arc<Validator>, String> {
        if let Some(v) = self.validators.lock().expect("lock").get(pointer) {
            return Ok(v.clone());
        }
        let v = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(&serde_json::json!({ "$ref": format!("{DOC_URI}#{}", fragment(pointer)) }))
            .map_err(|e| format!("the schema at {pointer} does not compile: {e}"))?;
        let v = Arc::new(v);
        self.validators
            .lock()
            .expect("lock")
            .insert(pointer.to_owned(), v.clone());
        Ok(v)
    }

    /// Every way `res` breaks the contract of `method path` (empty when it keeps it).
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        request_headers: &HeaderMap,
        res: &Res,
    ) -> Vec<String> {
        if path.starts_with("/_local/") {
            return vec![];
        }
        // A CORS preflight is answered by the gateway itself.
        if method == Method::OPTIONS
            && request_headers.contains_key("access-control-request-method")
        {
            return vec![];
        }
        let status = res.status.as_u16();
        let (template, op_pointer) = match self.routes.find(method.as_str(), path) {
            Match::Found { route, .. } => (
                route.path.clone(),
                format!(
                    "/paths/{}/{}",
                    esc(&route.path),
                    route.method.to_lowercase()
                ),
            ),
            Match::NotFound | Match::MethodNotAllowed { .. } => {
                let who = format!("{method} {path} (no operation: the $default route) → {status}");
                if status != 404 && status != 405 {
                    return vec![format!(
                        "{who}: no operation documents this request, so only the $default route's 404/405 problem may answer"
                    )];
                }
                return self.body(
                    &who,
                    "/components/schemas/Problem",
                    "application/problem+json",
                    res,
                );
            }
        };
        let who = format!("{method} {template} → {status}");
        let responses = &self.doc.pointer(&op_pointer).expect("operation")["responses"];
        let key = [
            status.to_string(),
            format!("{}XX", status / 100),
            "default".into(),
        ]
        .into_iter()
        .find(|k| responses.get(k).is_some());
        let Some(key) = key else {
            let documented: Vec<&String> = responses
                .as_object()
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            return vec![format!(
                "{who}: status {status} is not documented (documented: {documented:?}); body: {}",
                snippet(&res.text)
            )];
        };
        let resp_pointer = format!("{op_pointer}/responses/{}", esc(&key));
        let mut resp = self.doc.pointer(&resp_pointer).expect("response");
        if let Some(r) = resp.get("$ref").and_then(Value::as_str) {
            resp = self
                .doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("{who}: dangling {r}"));
        }
        let mut errors = vec![];

        // Headers with meaning to clients must be documented on this response.
        let documented_headers = resp.get("headers").and_then(Value::as_object);
        for (name, value) in res.headers.iter() {
            let name = name.as_str();
            if is_ambient_header(name) {
                continue;
            }
            let Some(h) = documented_headers.and_then(|hs| {
                hs.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, h)| h)
            }) else {
                errors.push(format!(
                    "{who}: header `{name}` is not documented for this response"
                ));
                continue;
            };
            if let (Some(schema), Ok(v)) = (h.get("schema"), value.to_str()) {
                let as_string = Value::from(v);
                let as_number = v.parse::<i64>().map(Value::from).ok();
                if !json_schema_accepts(schema, &as_string)
                    && !as_number.is_some_and(|n| json_schema_accepts(schema, &n))
                {
                    errors.push(format!(
                        "{who}: header `{name}: {v}` does not match its schema {schema}"
                    ));
                }
            }
        }

        let content = resp.get("content").and_then(Value::as_object);
        let ct = res.content_type();
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match content.filter(|c| !c.is_empty()) {
            None => {
                if !res.text.is_empty() || !ct.is_empty() {
                    errors.push(format!(
                        "{who}: the document says this response has no body, but it has content-type `{ct}` and {} bytes: {}",
                        res.text.len(),
                        snippet(&res.text)
                    ));
                }
            }
            Some(content) => {
                let media = content.keys().find(|k| media_matches(k, &essence));
                match media {
                    None => errors.push(format!(
                        "{who}: content-type `{ct}` is not documented (documented: {:?}); body: {}",
                        content.keys().collect::<Vec<_>>(),
                        snippet(&res.text)
                    )),
                    Some(media) if is_json(media) => {
                        if content[media].get("schema").is_some() {
                            let p = format!("{resp_pointer}/content/{}/schema", esc(media));
                            errors.extend(self.body(&who, &p, media, res));
                        }
                    }
                    Some(_) => {}
                }
            }
        }
        errors
    }

    /// Problems with `res`'s JSON body against the schema at `pointer`.
    fn body(&self, who: &str, pointer: &str, media: &str, res: &Res) -> Vec<String> {
        if !media_matches(
            media,
            res.content_type().split(';').next().unwrap_or("").trim(),
        ) {
            return vec![format!(
                "{who}: content-type `{}` is not `{media}`; body: {}",
                res.content_type(),
                snippet(&res.text)
            )];
        }
        let instance: Value = match serde_json::from_str(&res.text) {
            Ok(v) => v,
            Err(e) => {
                return vec![format!(
                    "{who}: the body is not JSON ({e}): {}",
                    snippet(&res.text)
                )]
            }
        };
        let validator = match self.validator(pointer) {
            Ok(v) => v,
            Err(e) => return vec![format!("{who}: {e}")],
        };
        validator
            .iter_errors(&instance)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!(
                    "{who}: body at `{}`: {e} (schema {}{})",
                    if at.is_empty() { "/" } else { &at },
                    pointer,
                    e.schema_path()
                )
            })
            .collect()
    }
}

/// A JSON pointer as a URI fragment (RFC 6901 §6): `{`, `}` and the like percent-encoded.
fn fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for b in pointer.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// `documented` is a media range (`text/*`, `*/*`) or type that `actual` falls under.
fn media_matches(documented: &str, actual: &str) -> bool {
    let documented = documented.to_ascii_lowercase();
    let actual = actual.to_ascii_lowercase();
    documented == actual
        || documented == "*/*"
        || documented
            .strip_suffix("/*")
            .is_some_and(|t| actual.split('/').next() == Some(t))
}

/// Standalone check of a header value (header schemas are plain, no refs).
fn json_schema_accepts(schema: &Value, v: &Value) -> bool {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .build(schema)
        .is_ok_and(|validator| validator.is_valid(v))
}

fn snippet(text: &str) -> String {
    let mut s: String = text.chars().take(300).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;
    use serde_json::json;

    fn doc() -> String {
        json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {
                "/things": {
                    "get": {
                        "responses": {
                            "200": {"description": "page", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}},
                        }
                    },
                    "post": {
                        "responses": {
                            "201": {"description": "made", "headers": {"location": {"schema": {"type": "string"}}},
                                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                            "429": {"description": "slow down", "headers": {"retry-after": {"schema": {"type": "integer"}}},
                                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                        }
                    }
                },
                "/things/{id}": {
                    "delete": {"responses": {
                        "204": {"description": "gone"},
                        "404": {"description": "no such thing", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
                    }}
                }
            },
            "components": {"schemas": {
                "Thing": {"type": "object", "required": ["id", "at"], "properties": {
                    "id": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}},
                "Page": {"type": "object", "required": ["items"], "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}},
                    "nextCursor": {"type": "string"}}},
                "Problem": {"type": "object", "required": ["type", "status"], "properties": {
                    "type": {"type": "string"}, "status": {"type": "integer"}}}
            }}
        })
        .to_string()
    }

    fn res(status: u16, ct: &str, headers: &[(&str, &str)], body: &str) -> Res {
        let mut h = HeaderMap::new();
        if !ct.is_empty() {
            h.insert("content-type", ct.parse().unwrap());
        }
        for (k, v) in headers {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Res {
            status: StatusCode::from_u16(status).unwrap(),
            headers: h,
            body: serde_json::from_str(body).unwrap_or(Value::Null),
            text: body.into(),
        }
    }

    fn check(method: Method, path: &str, r: &Res) -> Vec<String> {
        Contract::for_document(&doc()).check(&method, path, &HeaderMap::new(), r)
    }

    #[test]
    fn conforming_responses_pass() {
        let ok = res(
            200,
            "application/json",
            &[("x-request-id", "r1")],
            r#"{"items":[{"id":"a","at":"2026-01-01T00:00:00Z"}],"nextCursor":"c"}"#,
        );
        assert_eq!(check(Method::GET, "/things", &ok), Vec::<String>::new());
        let made = res(
            201,
            "application/json",
            &[("location", "/things/a")],
            r#"{"id":"a","at":"2026-01-01T00:00:00Z"}"#,
        );
        assert_eq!(check(Method::POST, "/things", &made), Vec::<String>::new());
        let slow = res(
            429,
            "application/problem+json",
            &[("retry-after", "30")],
            r#"{"type":"x","status":429}"#,
        );
        assert_eq!(check(Method::POST, "/things", &slow), Vec::<String>::new());
        assert_eq!(
            check(Method::DELETE, "/things/a", &res(204, "", &[], "")),
            Vec::<String>::new()
        );
        let not_found = res(
            404,
            "application/problem+json",
            &[],
            r#"{"type":"x","status":404}"#,
        );
        assert_eq!(
            check(Method::GET, "/nope", &not_found),
            Vec::<String>::new()
        );
        assert_eq!(
            check(
                Method::GET,
                "/_local/clock",
                &res(500, "text/plain", &[], "x")
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_bare_array_where_an_envelope_is_documented_names_operation_status_and_pointer() {
        let bare = res(
            200,
            "application/json",
            &[],
            r#"[{"id":"a","at":"2026-01-01T00:00:00Z"}]"#,
        );
        let e = check(Method::GET, "/things", &bare);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("GET /things → 200: body at `/`"), "{e:?}");
        let wrong_item = res(
            200,
            "application/json",
            &[],
            r#"{"items":[{"id":1,"at":"yesterday"}]}"#,
        );
        let e = check(Method::GET, "/things", &wrong_item);
        assert!(e.iter().any(|e| e.contains("`/items/0/id`")), "{e:?}");
        assert!(
            e.iter().any(|e| e.contains("`/items/0/at`")),
            "date-time is checked: {e:?}"
        );
    }

    #[test]
    fn undocumented_status_content_type_body_and_headers_fail() {
        let e = check(
            Method::GET,
            "/things",
            &res(
                500,
                "application/json",
                &[],
                r#"{"message":"Internal Server Error"}"#,
            ),
        );
        assert!(
            e[0].contains("GET /things → 500: status 500 is not documented"),
            "{e:?}"
        );
        let e = check(Method::GET, "/things", &res(200, "text/html", &[], "<p>"));
        assert!(
            e[0].contains("content-type `text/html` is not documented"),
            "{e:?}"
        );
        let e = check(
            Method::DELETE,
            "/things/a",
            &res(204, "application/json", &[], "{}"),
        );
        assert!(e[0].contains("no body"), "{e:?}");
        let e = check(
            Method::POST,
            "/things",
            &res(
                429,
                "application/problem+json",
                &[("retry-after", "soon")],
                r#"{"type":"x","status":429}"#,
            ),
        );
        assert!(e[0].contains("header `retry-after: soon`"), "{e:?}");
        let e = check(
            Method::GET,
            "/things",
            &res(
                200,
                "application/json",
                &[("idempotent-replayed", "true")],
                r#"{"items":[]}"#,
            ),
        );
        assert!(
            e[0].contains("header `idempotent-replayed` is not documented"),
            "{e:?}"
        );
        let e = check(
            Method::GET,
            "/nope",
            &res(200, "application/json", &[], "{}"),
        );
        assert!(e[0].contains("no operation"), "{e:?}");
    }
}
