//! The HTTP API's Lambda REQUEST authorizer (payload 2.0, simple responses).
//!
//! It authenticates: the identity (or, for missing/bad credentials, an
//! `anonymous` marker with the reason) goes to handlers as context, and each
//! handler authorizes with the permission matrix. See `nexus_auth::authenticate`.
//!
//! For writes (any method but GET, HEAD, OPTIONS) by a user acting in an
//! organization, the role in the context is the one held now, read from the
//! table, not the token's (`nexus_identity::scope::current_for`).

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_auth::{authenticate, Identity, KeyRing};

pub struct State {
    keys: KeyRing,
    issuer: String,
    /// Store access: API keys, and users' current roles for writes.
    pub platform: nexus_ports::Platform,
}

/// The ports this function calls (the table and the token keys): `main.rs`
/// wires them from AWS, the local platform from its stand-ins.
pub async fn state(w: &impl nexus_identity::WireIdentity) -> Result<State, String> {
    Ok(State::new(
        w.keys().await?,
        w.issuer()?,
        nexus_ports::Platform::new(w)?,
    ))
}

impl State {
    pub fn new(keys: KeyRing, issuer: String, platform: nexus_ports::Platform) -> Self {
        Self {
            keys,
            issuer,
            platform,
        }
    }
}

pub async fn handler(
    state: &State,
    event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>,
) -> Result<ApiGatewayV2CustomAuthorizerSimpleResponse, Diagnostic> {
    let header = |name: &str| {
        event
            .payload
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
    };
    let authorization = header("authorization");
    let identity = match nexus_auth::authenticate::api_key(authorization, header("x-api-key")) {
        Some(key) => nexus_identity::apikey::authenticate(
            &state.platform.store,
            key,
            state.platform.clock.now(),
        )
        .await
        .map_err(|e| {
            tracing::error!(error.cause = %e, "API key lookup failed");
            Diagnostic::from(e)
        })?,
        // A token's role is a cache that can be 15 minutes old: for writes,
        // act with the role held now (a revoked agency grant, a removed
        // member or a demotion count at once).
        None => nexus_identity::scope::current_for(
            &state.platform.store,
            authenticate(&state.keys, &state.issuer, authorization),
            event.payload.request_context.http.method.as_str(),
        )
        .await
        .map_err(|e| {
            tracing::error!(error.cause = %e, "role lookup failed");
            Diagnostic::from(e)
        })?,
    };
    if let Identity::Anonymous { reason } = &identity {
        tracing::info!(
            route = event.payload.route_key.as_deref().unwrap_or(""),
            auth.reason = reason,
            "anonymous request"
        );
    }
    let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
    response.is_authorized = true;
    response.context = identity.context();
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(auth: Option<&str>) -> LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request> {
        let mut v = serde_json::from_str::<serde_json::Value>(include_str!(
            "../../../events/authorizer.json"
        ))
        .unwrap();
        match auth {
            Some(a) => v["headers"]["authorization"] = a.into(),
            None => {
                v["headers"]
                    .as_object_mut()
                    .unwrap()
                    .remove("authorization");
            }
        }
        LambdaEvent::new(
            serde_json::from_value(v).unwrap(),
            lambda_runtime::Context::default(),
        )
    }

    async fn state() -> State {
        let sdk = nexus_ports::SdkConfig::builder()
            .behavior_version(nexus_ports::BehaviorVersion::latest())
            .build();
        let config = nexus_ports::Config {
            table_name: Some("t".into()),
            stage: "test".into(),
            ..nexus_ports::Config::default()
        };
        State::new(
            KeyRing::from_secrets(&"s".repeat(40), &[]).unwrap(),
            "iss".into(),
            nexus_ports::Platform::new(&nexus_ports::Aws::new(config, sdk)).unwrap(),
        )
    }

    #[tokio::test]
    async fn valid_tokens_become_user_context() {
        let s = state().await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let t = s
            .keys
            .issue(&nexus_auth::AccessClaims::for_user(
                "iss",
                "usr_9",
                Some(("org_9", "viewer")),
                now,
            ))
            .unwrap();
        let r = handler(&s, event(Some(&format!("Bearer {t}"))))
            .await
            .unwrap();
        assert!(r.is_authorized);
        assert_eq!(r.context["principalId"], "usr_9");
        assert_eq!(r.context["role"], "viewer");
    }

    #[tokio::test]
    async fn missing_and_forged_credentials_pass_as_anonymous_with_reason() {
        let s = state().await;
        let r = handler(&s, event(None)).await.unwrap();
        assert_eq!(
            (
                r.context["principalType"].as_str(),
                r.context["authError"].as_str()
            ),
            (Some("anonymous"), Some("missing"))
        );
        let r = handler(
            &s,
            event(Some("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c3JfMSJ9.")),
        )
        .await
        .unwrap();
        assert_eq!(r.context["authError"], "invalid");
    }
}
