//! JSON request bodies: content type, size, syntax and per-field type errors,
//! each answered with its own 4xx problem.

use lambda_http::{Body, Request};
use nexus_core::{Error, FieldError};
use serde::de::DeserializeOwned;

/// Largest JSON body accepted (API Gateway allows 10 MB; no NEXUS JSON body needs more than this).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, Error> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge {
            limit_bytes: MAX_BODY_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::MalformedRequest(
            "a JSON request body is required".into(),
        ));
    }
    let ct = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !(essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json")))
    {
        return Err(Error::UnsupportedMediaType {
            expected: "application/json",
        });
    }
    parse_json(bytes)
}

/// Parse JSON, turning syntax errors into `malformed-request` and type errors
/// into a field error at the JSON Pointer where they happened.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut *de) {
        Ok(v) => {
            de.end()
                .map_err(|e| Error::MalformedRequest(format!("the body is not valid JSON: {e}")))?;
            Ok(v)
        }
        Err(e) => {
            let pointer = pointer(e.path());
            let inner = e.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let msg = inner.to_string();
                    // serde's message without the " at line X column Y" suffix.
                    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
                    let code = if msg.starts_with("missing field") {
                        "required"
                    } else if msg.starts_with("unknown variant") {
                        "unknown_value"
                    } else {
                        "invalid_type"
                    };
                    Err(Error::Validation(vec![FieldError::new(pointer, code, msg)]))
                }
                _ => Err(Error::MalformedRequest(format!(
                    "the body is not valid JSON: {inner}"
                ))),
            }
        }
    }
}

fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut p = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => p.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                p.push_str(&format!("/{}", key.replace('~', "~0").replace('/', "~1")))
            }
            Segment::Enum { variant } => p.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    if p.is_empty() {
        "/".into()
    } else {
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: Option<String>,
        items: Option<Vec<Item>>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        qty: u32,
    }

    fn req(body: &str, ct: Option<&str>) -> Request {
        let mut r = http::Request::builder().method("POST").uri("/x");
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r.body(lambda_http::Body::from(body.to_string())).unwrap()
    }

    #[test]
    fn syntax_errors_are_malformed_requests() {
        for bad in ["{", "{\"name\":}", "nope", "{\"name\":\"x\"} trailing"] {
            let e = json_body::<Body>(&req(bad, Some("application/json"))).unwrap_err();
            assert_eq!(e.code(), "malformed-request", "{bad}");
            assert_eq!(e.status(), 400);
        }
    }

    #[test]
    fn wrong_types_point_at_the_field() {
        let e = json_body::<Body>(&req(
            r#"{"items":[{"qty":1},{"qty":"two"}]}"#,
            Some("application/json"),
        ))
        .unwrap_err();
        let Error::Validation(errs) = e else { panic!() };
        assert_eq!(errs[0].pointer, "/items/1/qty");
        assert_eq!(errs[0].code, "invalid_type");
        let Error::Validation(errs) =
            json_body::<Body>(&req(r#"{"name":5}"#, Some("application/json"))).unwrap_err()
        else {
            panic!()
        };
        assert_eq!(errs[0].pointer, "/name");
    }

    #[test]
    fn content_type_size_and_emptiness() {
        assert_eq!(
            json_body::<Body>(&req("{}", Some("text/plain")))
                .unwrap_err()
                .status(),
            415
        );
        assert_eq!(
            json_body::<Body>(&req("{}", None)).unwrap_err().status(),
            415
        );
        assert!(json_body::<Body>(&req("{}", Some("application/json; charset=utf-8"))).is_ok());
        assert!(json_body::<Body>(&req("{}", Some("application/merge-patch+json"))).is_ok());
        assert_eq!(
            json_body::<Body>(&req("  ", Some("application/json")))
                .unwrap_err()
                .status(),
            400
        );
        let big = format!("{{\"name\":\"{}\"}}", "a".repeat(MAX_BODY_BYTES));
        assert_eq!(
            json_body::<Body>(&req(&big, Some("application/json")))
                .unwrap_err()
                .status(),
            413
        );
        let e = json_body::<Body>(&req("[]", Some("application/json"))).unwrap_err();
        assert_eq!(e.status(), 400);
    }
}
