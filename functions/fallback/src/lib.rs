//! The `$default` route: every request no other route takes. Answers with a
//! problem: 405 with `Allow` when the path exists with other methods, else
//! 404. The route table is template.yaml itself, embedded at build time, so
//! this function can't disagree with the deployed routes.

use lambda_http::{Body, Request, Response};
use nexus_core::Error;
use nexus_http::serve;
use nexus_wiring::router::{Match, RouteTable};
use nexus_wiring::template::Template;

/// No AWS access needed.
pub struct State {
    routes: RouteTable,
}

static TEMPLATE: &str = include_str!("../../../template.yaml");

impl State {
    pub fn new() -> Result<Self, String> {
        let t = Template::parse(TEMPLATE).map_err(|e| e.to_string())?;
        Ok(Self {
            routes: RouteTable::new(t.routes()),
        })
    }
}

pub async fn handler(state: &State, req: Request) -> Response<Body> {
    serve(req, |req| async move {
        let method = req.method().to_string();
        let path = req.uri().path().to_owned();
        Err(match state.routes.find(&method, &path) {
            Match::MethodNotAllowed { allow } => Error::MethodNotAllowed { allow },
            // A route exists for this request: API Gateway would not have sent it here.
            Match::Found { .. } | Match::NotFound => Error::RouteNotFound { method, path },
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn call(method: &str, path: &str) -> Response<Body> {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::Empty)
            .unwrap();
        handler(&State::new().unwrap(), req).await
    }

    #[tokio::test]
    async fn wrong_method_is_405_with_allow() {
        let r = call("DELETE", "/v1/orgs").await;
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let allow = r.headers()["allow"].to_str().unwrap();
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    }

    #[tokio::test]
    async fn unknown_path_is_404_problem() {
        let r = call("GET", "/v1/nothing-here").await;
        assert_eq!(r.status(), 404);
        let Body::Text(t) = r.body() else { panic!() };
        let v: serde_json::Value = serde_json::from_str(t).unwrap();
        assert_eq!(v["type"], "https://docs.nexus.dev/problems/route-not-found");
    }
}
