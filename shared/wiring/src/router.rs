//! HTTP API route matching, as API Gateway does it: `{param}` matches one
//! segment, `{proxy+}` the rest of the path, the most specific route wins
//! (literal segments over parameters over greedy), `ANY` matches every
//! method. Unlike API Gateway, a path that exists with other methods is
//! reported as such, so the `$default` function can answer 405 with `Allow`.

use crate::template::Route;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match<'a> {
    Found {
        route: &'a Route,
        params: Vec<(String, String)>,
    },
    MethodNotAllowed {
        allow: Vec<String>,
    },
    NotFound,
}

#[derive(Debug, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
}

/// Path parameters, in path order.
pub type Params = Vec<(String, String)>;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Seg {
    Greedy,
    Param,
    Literal,
}

impl RouteTable {
    /// All routes except `$default` (which is the fallback, not a match).
    pub fn new(routes: impl IntoIterator<Item = Route>) -> Self {
        Self {
            routes: routes
                .into_iter()
                .filter(|r| r.path != "$default")
                .collect(),
        }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub fn find(&self, method: &str, path: &str) -> Match<'_> {
        let method = method.to_ascii_uppercase();
        let mut candidates: Vec<(Vec<Seg>, &Route, Params)> = self
            .routes
            .iter()
            .filter_map(|r| match_path(&r.path, path).map(|(rank, params)| (rank, r, params)))
            .collect();
        if candidates.is_empty() {
            return Match::NotFound;
        }
        // Most specific first: compare segment kinds left to right.
        candidates.sort_by(|a, b| b.0.cmp(&a.0));
        let best_rank = candidates[0].0.clone();
        let same_path: Vec<_> = candidates.iter().filter(|c| c.0 == best_rank).collect();
        if let Some((_, r, params)) = same_path
            .iter()
            .find(|(_, r, _)| r.method == method)
            .or_else(|| same_path.iter().find(|(_, r, _)| r.method == "ANY"))
        {
            return Match::Found {
                route: r,
                params: params.clone(),
            };
        }
        // Less specific routes may still take this method (e.g. a greedy ANY).
        if let Some((_, r, params)) = candidates
            .iter()
            .find(|(_, r, _)| r.method == method || r.method == "ANY")
        {
            return Match::Found {
                route: r,
                params: params.clone(),
            };
        }
        let mut allow: Vec<String> = same_path.iter().map(|(_, r, _)| r.method.clone()).collect();
        allow.sort();
        allow.dedup();
        Match::MethodNotAllowed { allow }
    }
}

fn match_path(template: &str, path: &str) -> Option<(Vec<Seg>, Params)> {
    let t: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut rank = vec![];
    let mut params = vec![];
    for (i, ts) in t.iter().enumerate() {
        if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix("+}")) {
            // Greedy: must be last and capture at least one segment.
            let rest = p.get(i..).filter(|r| !r.is_empty() && !r[0].is_empty())?;
            params.push((name.to_owned(), decode(&rest.join("/"))));
            rank.push(Seg::Greedy);
            return Some((rank, params));
        }
        let ps = p.get(i)?;
        if let Some(name) = ts.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            if ps.is_empty() {
                return None;
            }
            params.push((name.to_owned(), decode(ps)));
            rank.push(Seg::Param);
        } else if ts == ps {
            rank.push(Seg::Literal);
        } else {
            return None;
        }
    }
    (t.len() == p.len()).then_some((rank, params))
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(method: &str, path: &str) -> Route {
        Route {
            method: method.into(),
            path: path.into(),
            function: format!("{method} {path}"),
            authorizer: None,
        }
    }

    fn table() -> RouteTable {
        RouteTable::new([
            r("GET", "/v1/orgs"),
            r("POST", "/v1/orgs"),
            r("GET", "/v1/orgs/{orgId}"),
            r("GET", "/v1/orgs/me"),
            r("DELETE", "/v1/orgs/{orgId}/members/{userId}"),
            r("ANY", "/files/{proxy+}"),
            r("ANY", "$default"),
        ])
    }

    fn found(t: &RouteTable, m: &str, p: &str) -> Option<(String, Vec<(String, String)>)> {
        match t.find(m, p) {
            Match::Found { route, params } => Some((route.route_key(), params)),
            _ => None,
        }
    }

    #[test]
    fn literal_beats_parameter_and_params_are_decoded() {
        let t = table();
        assert_eq!(
            found(&t, "GET", "/v1/orgs/me").unwrap().0,
            "GET /v1/orgs/me"
        );
        let (k, params) = found(&t, "GET", "/v1/orgs/org%5F1").unwrap();
        assert_eq!(k, "GET /v1/orgs/{orgId}");
        assert_eq!(params, [("orgId".to_string(), "org_1".to_string())]);
        let (_, params) = found(&t, "delete", "/v1/orgs/a/members/b").unwrap();
        assert_eq!(params.len(), 2);
    }

    #[test]
    fn greedy_and_any() {
        let t = table();
        let (k, params) = found(&t, "PUT", "/files/a/b/c").unwrap();
        assert_eq!(k, "ANY /files/{proxy+}");
        assert_eq!(params[0].1, "a/b/c");
        assert_eq!(t.find("GET", "/files"), Match::NotFound);
    }

    #[test]
    fn wrong_method_and_unknown_paths() {
        let t = table();
        assert_eq!(
            t.find("DELETE", "/v1/orgs"),
            Match::MethodNotAllowed {
                allow: vec!["GET".into(), "POST".into()]
            }
        );
        assert_eq!(t.find("GET", "/v1/nope"), Match::NotFound);
        assert_eq!(t.find("GET", "/v1/orgs/a/b"), Match::NotFound);
        assert_eq!(t.find("GET", "/v1/orgs/"), Match::NotFound);
        assert!(t.routes().iter().all(|r| r.path != "$default"));
    }
}
