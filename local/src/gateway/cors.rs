//! The HTTP API's `CorsConfiguration` (`workflows-and-events.md` §5.5): API
//! Gateway answers preflight requests itself (no route, no authorizer), adds
//! the CORS headers to every integration response, and drops CORS headers a
//! function set.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use nexus_wiring::template::Cors;

#[derive(Debug, Clone)]
pub struct CorsPolicy {
    cors: Cors,
}

fn value(s: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(s).ok()
}

impl CorsPolicy {
    pub fn new(cors: Cors) -> Self {
        Self { cors }
    }

    fn any_origin(&self) -> bool {
        self.cors.allow_origins.iter().any(|o| o == "*")
    }

    /// The `access-control-allow-origin` value for a request from `origin`,
    /// or `None` when the origin is not allowed.
    pub fn allow_origin(&self, origin: &str) -> Option<String> {
        if self.any_origin() {
            Some("*".into())
        } else {
            self.cors
                .allow_origins
                .iter()
                .find(|o| o.eq_ignore_ascii_case(origin))
                .map(|_| origin.to_owned())
        }
    }

    /// Is this a CORS preflight (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`)?
    pub fn is_preflight(method: &http::Method, headers: &HeaderMap) -> bool {
        method == http::Method::OPTIONS
            && headers.contains_key(header::ORIGIN)
            && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
    }

    /// Headers of the 204 preflight answer (none when the origin is not allowed).
    pub fn preflight(&self, headers: &HeaderMap) -> HeaderMap {
        let mut out = HeaderMap::new();
        let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
            return out;
        };
        let Some(allow) = self.allow_origin(origin) else {
            return out;
        };
        let echo = |h: HeaderName| {
            headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let join = |xs: &[String], requested: String| {
            if xs.iter().any(|x| x == "*") {
                requested
            } else {
                xs.join(",")
            }
        };
        let methods = join(
            &self.cors.allow_methods,
            echo(header::ACCESS_CONTROL_REQUEST_METHOD),
        );
        let allow_headers = join(
            &self.cors.allow_headers,
            echo(header::ACCESS_CONTROL_REQUEST_HEADERS),
        );
        let mut put = |name: HeaderName, v: &str| {
            if let Some(v) = value(v).filter(|_| !v.is_empty()) {
                out.insert(name, v);
            }
        };
        put(header::ACCESS_CONTROL_ALLOW_ORIGIN, &allow);
        put(header::ACCESS_CONTROL_ALLOW_METHODS, &methods);
        put(header::ACCESS_CONTROL_ALLOW_HEADERS, &allow_headers);
        if let Some(age) = self.cors.max_age.filter(|a| *a >= 0) {
            put(header::ACCESS_CONTROL_MAX_AGE, &age.to_string());
        }
        if allow != "*" {
            put(header::VARY, "origin");
        }
        out
    }

    /// Replace whatever CORS headers the function set with the API's.
    pub fn decorate(&self, origin: Option<&str>, headers: &mut HeaderMap) {
        let theirs: Vec<HeaderName> = headers
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for k in theirs {
            headers.remove(k);
        }
        let Some(allow) = origin.and_then(|o| self.allow_origin(o)) else {
            return;
        };
        if let Some(v) = value(&allow) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
        if !self.cors.expose_headers.is_empty() {
            if let Some(v) = value(&self.cors.expose_headers.join(",")) {
                headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
            }
        }
        if allow != "*" {
            headers.append(header::VARY, HeaderValue::from_static("origin"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str]) -> CorsPolicy {
        CorsPolicy::new(Cors {
            allow_origins: origins.iter().map(|s| s.to_string()).collect(),
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["authorization".into(), "content-type".into()],
            expose_headers: vec!["x-request-id".into(), "location".into()],
            max_age: Some(600),
        })
    }

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap()))
            .collect()
    }

    #[test]
    fn preflight_answers_from_the_configuration() {
        let h = headers(&[
            (header::ORIGIN, "https://app.example"),
            (header::ACCESS_CONTROL_REQUEST_METHOD, "POST"),
        ]);
        assert!(CorsPolicy::is_preflight(&http::Method::OPTIONS, &h));
        assert!(!CorsPolicy::is_preflight(&http::Method::GET, &h));
        let out = policy(&["*"]).preflight(&h);
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(out[header::ACCESS_CONTROL_ALLOW_METHODS], "GET,POST");
        assert_eq!(
            out[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "authorization,content-type"
        );
        assert_eq!(out[header::ACCESS_CONTROL_MAX_AGE], "600");
        let out = policy(&["https://other.example"]).preflight(&h);
        assert!(out.is_empty(), "a foreign origin gets no CORS headers");
        let out = policy(&["https://app.example"]).preflight(&h);
        assert_eq!(
            out[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://app.example"
        );
    }

    #[test]
    fn responses_get_the_apis_headers_not_the_functions() {
        let mut h = headers(&[
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "https://evil.example"),
            (header::CONTENT_TYPE, "application/json"),
        ]);
        policy(&["*"]).decorate(Some("https://app.example"), &mut h);
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(
            h[header::ACCESS_CONTROL_EXPOSE_HEADERS],
            "x-request-id,location"
        );
        assert_eq!(h[header::CONTENT_TYPE], "application/json");
        let mut h = headers(&[(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")]);
        policy(&["*"]).decorate(None, &mut h);
        assert!(h.is_empty(), "no Origin, no CORS headers");
    }
}
