//! The API Gateway HTTP API request payload, format 2.0, as JSON — exactly
//! what Lambda hands a function (`workflows-and-events.md` §5.1):
//!
//! - header names lower-case, duplicates comma-joined; `cookie` headers move
//!   to `cookies[]`; API Gateway's `x-forwarded-*` headers are added;
//! - duplicate query keys comma-joined; parameters URL-decoded;
//! - `queryStringParameters`, `pathParameters` and `body` omitted when absent;
//! - a body that is not UTF-8 is base64 with `isBase64Encoded: true`.
//!
//! The gateway parses the JSON with `lambda_http::request::from_str`, the
//! runtime's own parser, so handlers see what they see on Lambda.

use std::net::IpAddr;

use base64::Engine;
use http::{HeaderMap, Method, Uri, Version};
use serde_json::{json, Map, Value};

/// The HTTP request as received.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub version: Version,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: IpAddr,
}

/// Per-request values API Gateway generates.
#[derive(Debug, Clone)]
pub struct Meta {
    pub request_id: String,
    pub now: jiff::Timestamp,
    pub api_id: String,
    /// Port the gateway listens on (`x-forwarded-port`).
    pub port: u16,
}

/// The route that took the request: its key (`GET /v1/orgs/{orgId}` or
/// `$default`) and decoded path parameters.
#[derive(Debug, Clone, Copy)]
pub struct Matched<'a> {
    pub route_key: &'a str,
    pub path_params: &'a [(String, String)],
}

fn protocol(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// Headers (lower-case names, duplicates comma-joined, no `cookie`) and cookies.
fn headers_and_cookies(req: &Incoming<'_>, meta: &Meta) -> (Map<String, Value>, Vec<String>) {
    let mut headers = Map::new();
    let mut cookies = vec![];
    for name in req.headers.keys() {
        let values = req
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if name == http::header::COOKIE {
            for v in values {
                cookies.extend(
                    v.split(';')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned),
                );
            }
            continue;
        }
        headers.insert(
            name.as_str().to_owned(),
            Value::String(values.collect::<Vec<_>>().join(",")),
        );
    }
    // Added by API Gateway: the client address is appended to any forwarded chain.
    let ip = req.source_ip.to_string();
    let xff = match headers.get("x-forwarded-for").and_then(Value::as_str) {
        Some(chain) if !chain.is_empty() => format!("{chain}, {ip}"),
        _ => ip,
    };
    headers.insert("x-forwarded-for".into(), xff.into());
    headers.insert("x-forwarded-port".into(), meta.port.to_string().into());
    headers.insert("x-forwarded-proto".into(), "http".into());
    (headers, cookies)
}

/// `a=1&a=2&b` → `{"a": "1,2", "b": ""}` (decoded).
pub fn query_parameters(raw: &str) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match out.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                out.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    out
}

/// The request payload (format 2.0) for `req` taken by `route`.
pub fn request(req: &Incoming<'_>, route: Matched<'_>, meta: &Meta) -> Value {
    let raw_path = req.uri.path();
    let raw_query = req.uri.query().unwrap_or("");
    let (headers, cookies) = headers_and_cookies(req, meta);
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("localhost");
    let domain = host
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h);
    let domain_prefix = domain.split('.').next().unwrap_or(domain);
    let user_agent = headers
        .get("user-agent")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut payload = json!({
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": crate::ACCOUNT_ID,
            "apiId": meta.api_id,
            "domainName": domain,
            "domainPrefix": domain_prefix,
            "http": {
                "method": req.method.as_str(),
                "path": raw_path,
                "protocol": protocol(req.version),
                "sourceIp": req.source_ip.to_string(),
                "userAgent": user_agent,
            },
            "requestId": meta.request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": meta.now.strftime("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": meta.now.as_millisecond(),
        },
        "isBase64Encoded": false,
    });
    let Some(obj) = payload.as_object_mut() else {
        return payload;
    };
    if !cookies.is_empty() {
        obj.insert("cookies".into(), json!(cookies));
    }
    let query = query_parameters(raw_query);
    if !query.is_empty() {
        obj.insert("queryStringParameters".into(), Value::Object(query));
    }
    if !route.path_params.is_empty() {
        let params: Map<String, Value> = route
            .path_params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        obj.insert("pathParameters".into(), Value::Object(params));
    }
    if !req.body.is_empty() {
        match std::str::from_utf8(req.body) {
            Ok(text) => {
                obj.insert("body".into(), text.into());
            }
            Err(_) => {
                obj.insert(
                    "body".into(),
                    base64::engine::general_purpose::STANDARD
                        .encode(req.body)
                        .into(),
                );
                obj.insert("isBase64Encoded".into(), true.into());
            }
        }
    }
    payload
}

/// `arn:aws:execute-api:<region>:<account>:<api>/$default/<METHOD>/<path>`.
pub fn route_arn(meta: &Meta, method: &Method, raw_path: &str) -> String {
    format!(
        "arn:aws:execute-api:{}:{}:{}/$default/{}/{}",
        crate::REGION,
        crate::ACCOUNT_ID,
        meta.api_id,
        method.as_str(),
        raw_path.trim_start_matches('/')
    )
}

/// The Lambda REQUEST authorizer event (payload 2.0): the request payload
/// without its body, plus `type`, `routeArn` and `identitySource` (empty:
/// template.yaml declares no identity sources).
pub fn authorizer_request(payload: &Value, route_arn: &str) -> Value {
    let mut event = payload.clone();
    if let Some(obj) = event.as_object_mut() {
        obj.remove("body");
        obj.remove("isBase64Encoded");
        obj.insert("type".into(), "REQUEST".into());
        obj.insert("routeArn".into(), route_arn.into());
        obj.insert("identitySource".into(), json!([]));
    }
    event
}

/// Put an authorizer's simple-response `context` where API Gateway does:
/// `requestContext.authorizer.lambda`.
pub fn set_authorizer_context(payload: &mut Value, context: Value) {
    let context = match context {
        Value::Object(m) => Value::Object(m),
        _ => Value::Object(Map::new()),
    };
    if let Some(rc) = payload
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    {
        rc.insert("authorizer".into(), json!({ "lambda": context }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;

    fn meta() -> Meta {
        Meta {
            request_id: "req-1".into(),
            now: "2026-11-28T10:00:00.123Z".parse().unwrap(),
            api_id: "local".into(),
            port: 4000,
        }
    }

    struct Req {
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Vec<u8>,
    }

    fn req(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Req {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Req {
            method: method.parse().unwrap(),
            uri: uri.parse().unwrap(),
            headers: h,
            body: body.to_vec(),
        }
    }

    fn build(r: &Req, route_key: &str, params: &[(String, String)]) -> Value {
        let incoming = Incoming {
            method: &r.method,
            uri: &r.uri,
            version: Version::HTTP_11,
            headers: &r.headers,
            body: &r.body,
            source_ip: "127.0.0.1".parse().unwrap(),
        };
        request(
            &incoming,
            Matched {
                route_key,
                path_params: params,
            },
            &meta(),
        )
    }

    #[test]
    fn headers_are_lower_case_and_comma_joined_and_cookies_move() {
        let r = req(
            "GET",
            "/v1/orgs",
            &[
                ("Host", "127.0.0.1:4000"),
                ("X-Multi", "v1"),
                ("x-multi", "v2"),
                ("Cookie", "s=abc; t=def"),
                ("User-Agent", "curl/8"),
            ],
            b"",
        );
        let p = build(&r, "GET /v1/orgs", &[]);
        assert_eq!(p["headers"]["x-multi"], "v1,v2");
        assert_eq!(p["headers"]["host"], "127.0.0.1:4000");
        assert!(p["headers"].get("cookie").is_none());
        assert_eq!(p["cookies"], json!(["s=abc", "t=def"]));
        assert_eq!(p["headers"]["x-forwarded-for"], "127.0.0.1");
        assert_eq!(p["headers"]["x-forwarded-proto"], "http");
        assert_eq!(p["headers"]["x-forwarded-port"], "4000");
        assert_eq!(p["requestContext"]["http"]["userAgent"], "curl/8");
        assert_eq!(p["requestContext"]["domainName"], "127.0.0.1");
        assert_eq!(p["requestContext"]["time"], "28/Nov/2026:10:00:00 +0000");
        assert_eq!(p["requestContext"]["timeEpoch"], 1_795_860_000_123_i64);
        assert_eq!(p["requestContext"]["stage"], "$default");
    }

    #[test]
    fn query_duplicates_are_comma_joined_and_decoded() {
        let r = req("GET", "/items?a=1&a=2&b=x%20y&flag", &[], b"");
        let p = build(&r, "GET /items", &[]);
        assert_eq!(p["rawQueryString"], "a=1&a=2&b=x%20y&flag");
        assert_eq!(
            p["queryStringParameters"],
            json!({"a": "1,2", "b": "x y", "flag": ""})
        );
    }

    #[test]
    fn empty_parts_are_omitted() {
        let r = req("GET", "/health", &[], b"");
        let p = build(&r, "GET /health", &[]);
        for absent in [
            "queryStringParameters",
            "pathParameters",
            "body",
            "cookies",
            "stageVariables",
        ] {
            assert!(p.get(absent).is_none(), "{absent} must be omitted");
        }
        assert_eq!(p["isBase64Encoded"], false);
        assert!(p["requestContext"].get("authorizer").is_none());
    }

    #[test]
    fn route_key_raw_path_and_decoded_path_parameters() {
        let r = req("GET", "/v1/orgs/org%5F1", &[], b"");
        let p = build(
            &r,
            "GET /v1/orgs/{orgId}",
            &[("orgId".into(), "org_1".into())],
        );
        assert_eq!(p["routeKey"], "GET /v1/orgs/{orgId}");
        assert_eq!(p["requestContext"]["routeKey"], "GET /v1/orgs/{orgId}");
        assert_eq!(p["rawPath"], "/v1/orgs/org%5F1");
        assert_eq!(p["pathParameters"], json!({"orgId": "org_1"}));
    }

    #[test]
    fn binary_bodies_are_base64_and_text_is_not() {
        let r = req("PUT", "/blob", &[], &[0xff, 0x00, 0x10]);
        let p = build(&r, "$default", &[]);
        assert_eq!(p["isBase64Encoded"], true);
        assert_eq!(p["body"], "/wAQ");
        let r = req("POST", "/v1/orgs", &[], "{\"name\":\"Ünïcode\"}".as_bytes());
        let p = build(&r, "POST /v1/orgs", &[]);
        assert_eq!(p["isBase64Encoded"], false);
        assert_eq!(p["body"], "{\"name\":\"Ünïcode\"}");
    }

    #[test]
    fn round_trips_through_lambda_http() {
        let r = req(
            "POST",
            "/v1/orgs/org_1?a=1&a=2",
            &[
                ("host", "127.0.0.1:4000"),
                ("content-type", "application/json"),
                ("cookie", "s=abc"),
            ],
            b"{\"k\":1}",
        );
        let mut p = build(
            &r,
            "POST /v1/orgs/{orgId}",
            &[("orgId".into(), "org_1".into())],
        );
        set_authorizer_context(&mut p, json!({"principalId": "usr_1"}));
        let parsed = lambda_http::request::from_str(&p.to_string()).unwrap();
        assert_eq!(parsed.method(), "POST");
        assert_eq!(parsed.uri().path(), "/v1/orgs/org_1");
        assert_eq!(
            parsed.uri().to_string(),
            "http://127.0.0.1:4000/v1/orgs/org_1?a=1&a=2"
        );
        assert_eq!(parsed.headers()["content-type"], "application/json");
        assert_eq!(parsed.headers()["cookie"], "s=abc");
        assert_eq!(
            parsed.path_parameters_ref().and_then(|m| m.first("orgId")),
            Some("org_1")
        );
        assert_eq!(
            parsed
                .query_string_parameters_ref()
                .map(|q| q.all("a").unwrap_or_default()),
            Some(vec!["1", "2"])
        );
        match parsed.body() {
            lambda_http::Body::Text(t) => assert_eq!(t, "{\"k\":1}"),
            other => panic!("unexpected body {other:?}"),
        }
        let Some(RequestContext::ApiGatewayV2(ctx)) = parsed.request_context_ref() else {
            panic!("not an HTTP API request")
        };
        assert_eq!(ctx.request_id.as_deref(), Some("req-1"));
        assert_eq!(ctx.route_key.as_deref(), Some("POST /v1/orgs/{orgId}"));
        assert_eq!(
            ctx.authorizer.as_ref().unwrap().fields["principalId"],
            "usr_1"
        );

        let r = req("PUT", "/blob", &[("host", "h")], &[0xff, 0xfe]);
        let parsed =
            lambda_http::request::from_str(&build(&r, "$default", &[]).to_string()).unwrap();
        assert_eq!(parsed.body().as_ref(), &[0xff, 0xfe]);
    }

    #[test]
    fn authorizer_event_shape() {
        let r = req("GET", "/v1/orgs", &[("authorization", "Bearer x")], b"{}");
        let p = build(&r, "GET /v1/orgs", &[]);
        let arn = route_arn(&meta(), &r.method, "/v1/orgs");
        assert_eq!(
            arn,
            "arn:aws:execute-api:us-east-1:000000000000:local/$default/GET/v1/orgs"
        );
        let e = authorizer_request(&p, &arn);
        assert_eq!(e["type"], "REQUEST");
        assert_eq!(e["identitySource"], json!([]));
        assert!(e.get("body").is_none());
        let parsed: aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request =
            serde_json::from_value(e).unwrap();
        assert_eq!(parsed.headers["authorization"], "Bearer x");
        assert_eq!(parsed.route_arn.as_deref(), Some(arn.as_str()));
    }
}
