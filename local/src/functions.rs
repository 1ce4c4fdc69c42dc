//! The function registry: `template.yaml` functions (by the crate named in
//! their `CodeUri: functions/<name>`) → in-process handlers.
//!
//! This is the only list of functions in Rust. Routes, authorizers, stream
//! sources and rules all come from the template; the platform refuses to
//! start when the template declares a function that is not registered here,
//! or wires a function to an event of the wrong kind.
//!
//! Each function's state is built once at start-up, like a Lambda execution
//! environment, and every invocation runs in its own tokio task so that a
//! panic or a timeout is contained like a failed invoke.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::apigw::{
    ApiGatewayV2CustomAuthorizerSimpleResponse, ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lambda_events::dynamodb;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use aws_lambda_events::streams::DynamoDbEventResponse;
use lambda_http::{Body, Request, Response};
use lambda_runtime::{Diagnostic, LambdaEvent};
use nexus_wiring::template::Function as FunctionDef;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pub type HttpFn = Arc<dyn Fn(Request) -> BoxFuture<Response<Body>> + Send + Sync>;
pub type AuthorizerFn = Arc<
    dyn Fn(
            LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>,
        ) -> BoxFuture<Result<ApiGatewayV2CustomAuthorizerSimpleResponse, Diagnostic>>
        + Send
        + Sync,
>;
pub type StreamFn = Arc<
    dyn Fn(LambdaEvent<dynamodb::Event>) -> BoxFuture<Result<DynamoDbEventResponse, Diagnostic>>
        + Send
        + Sync,
>;
pub type EventFn = Arc<
    dyn Fn(LambdaEvent<EventBridgeEvent<serde_json::Value>>) -> BoxFuture<Result<(), Diagnostic>>
        + Send
        + Sync,
>;
pub type InvokeFn = Arc<
    dyn Fn(LambdaEvent<serde_json::Value>) -> BoxFuture<Result<serde_json::Value, Diagnostic>>
        + Send
        + Sync,
>;

/// An in-process function, by the kind of event it takes.
#[derive(Clone)]
pub enum Handler {
    /// HTTP API route target (`lambda_http`).
    Http(HttpFn),
    /// HTTP API Lambda REQUEST authorizer (payload 2.0, simple responses).
    Authorizer(AuthorizerFn),
    /// DynamoDB stream event source.
    Stream(StreamFn),
    /// EventBridge rule target.
    Event(EventFn),
    /// Invoked directly with a JSON payload (EventBridge Scheduler targets).
    Invoke(InvokeFn),
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handler::{}", self.kind())
    }
}

impl Handler {
    pub fn http<F, Fut>(f: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Body>> + Send + 'static,
    {
        Handler::Http(Arc::new(move |r| Box::pin(f(r))))
    }

    pub fn authorizer<F, Fut>(f: F) -> Self
    where
        F: Fn(LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ApiGatewayV2CustomAuthorizerSimpleResponse, Diagnostic>>
            + Send
            + 'static,
    {
        Handler::Authorizer(Arc::new(move |e| Box::pin(f(e))))
    }

    pub fn stream<F, Fut>(f: F) -> Self
    where
        F: Fn(LambdaEvent<dynamodb::Event>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<DynamoDbEventResponse, Diagnostic>> + Send + 'static,
    {
        Handler::Stream(Arc::new(move |e| Box::pin(f(e))))
    }

    pub fn event<F, Fut>(f: F) -> Self
    where
        F: Fn(LambdaEvent<EventBridgeEvent<serde_json::Value>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Diagnostic>> + Send + 'static,
    {
        Handler::Event(Arc::new(move |e| Box::pin(f(e))))
    }

    pub fn invoke<F, Fut>(f: F) -> Self
    where
        F: Fn(LambdaEvent<serde_json::Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<serde_json::Value, Diagnostic>> + Send + 'static,
    {
        Handler::Invoke(Arc::new(move |e| Box::pin(f(e))))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Handler::Http(_) => "HTTP",
            Handler::Authorizer(_) => "authorizer",
            Handler::Stream(_) => "DynamoDB stream",
            Handler::Event(_) => "EventBridge",
            Handler::Invoke(_) => "direct invoke",
        }
    }
}

/// What function states are built from.
#[derive(Clone)]
pub struct Deps {
    pub platform: nexus_ports::Platform,
    pub keys: nexus_auth::KeyRing,
    pub issuer: String,
    /// Identity functions' state: the platform plus the local mail outbox
    /// (SES stand-in) and local cipher (KMS stand-in).
    pub identity: Arc<nexus_identity::State>,
    /// The local mail outbox (SES stand-in) of the workers that send e-mail.
    pub mailer: Arc<dyn nexus_ports::mail::Mailer>,
    /// Base URL of the web app (links in e-mails).
    pub app_url: String,
    /// The creator index: one in-memory tantivy index that the
    /// `search-indexer` writes and `creators`/`campaigns` read (in AWS, an
    /// S3 snapshot between one writer and many readers).
    pub search: Arc<dyn nexus_search::CreatorSearch>,
}

type Build = fn(&Deps) -> Result<Handler, String>;

/// The registry: function crate name → how to build its handler.
/// Add a line here when a `functions/<name>` crate is added to template.yaml.
const REGISTRY: &[(&str, Build)] = &[
    ("health", |d| {
        let state = Arc::new(d.platform.clone());
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { health::handler(&state, req).await }
        }))
    }),
    ("orgs", |d| {
        let state = d.identity.clone();
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { orgs::handler(&state, req).await }
        }))
    }),
    ("auth", |d| {
        let state = d.identity.clone();
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { auth::handler(&state, req).await }
        }))
    }),
    ("me", |d| {
        let state = d.identity.clone();
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { me::handler(&state, req).await }
        }))
    }),
    ("invitations", |d| {
        let state = d.identity.clone();
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { invitations::handler(&state, req).await }
        }))
    }),
    ("apidocs", |_| {
        let state = Arc::new(apidocs::State::new()?);
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { apidocs::handler(&state, req).await }
        }))
    }),
    ("fallback", |_| {
        let state = Arc::new(fallback::State::new()?);
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { fallback::handler(&state, req).await }
        }))
    }),
    ("authorizer", |d| {
        let state = Arc::new(authorizer::State::new(
            d.keys.clone(),
            d.issuer.clone(),
            d.platform.clone(),
        ));
        Ok(Handler::authorizer(move |event| {
            let state = state.clone();
            async move { authorizer::handler(&state, event).await }
        }))
    }),
    ("outbox-publisher", |d| {
        let state = Arc::new(d.platform.clone());
        Ok(Handler::stream(move |event| {
            let state = state.clone();
            async move { outbox_publisher::handler(&state, event).await }
        }))
    }),
    ("audit", |d| {
        let state = Arc::new(d.platform.clone());
        Ok(Handler::event(move |event| {
            let state = state.clone();
            async move { audit::handler(&state, event).await }
        }))
    }),
    ("reminders", |d| {
        let state = Arc::new(d.platform.clone());
        Ok(Handler::invoke(move |event| {
            let state = state.clone();
            async move { reminders::handler(&state, event).await }
        }))
    }),
    ("notifications", |d| {
        let state = Arc::new(d.platform.clone());
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { notifications::handler(&state, req).await }
        }))
    }),
    ("notifier", |d| {
        let state = Arc::new(notifier::State {
            platform: d.platform.clone(),
            mailer: d.mailer.clone(),
        });
        Ok(Handler::event(move |event| {
            let state = state.clone();
            async move { notifier::handler(&state, event).await }
        }))
    }),
    ("account-mail", |d| {
        let state = Arc::new(account_mail::State {
            platform: d.platform.clone(),
            mailer: d.mailer.clone(),
            app_url: d.app_url.clone(),
        });
        Ok(Handler::event(move |event| {
            let state = state.clone();
            async move { account_mail::handler(&state, event).await }
        }))
    }),
    ("creators", |d| {
        let state = Arc::new(creators::State {
            platform: d.platform.clone(),
            search: d.search.clone(),
        });
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { creators::handler(&state, req).await }
        }))
    }),
    ("campaigns", |d| {
        let state = Arc::new(campaigns::State {
            platform: d.platform.clone(),
            search: d.search.clone(),
            // Offline: the local hashing vectoriser, named in every matches response.
            embedder: Arc::new(nexus_matching::LocalHashingVectoriser::default()),
        });
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { campaigns::handler(&state, req).await }
        }))
    }),
    ("marketplace", |d| {
        let state = Arc::new(d.platform.clone());
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { marketplace::handler(&state, req).await }
        }))
    }),
    ("contracts", |d| {
        let state = Arc::new(d.platform.clone());
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { contracts::handler(&state, req).await }
        }))
    }),
    ("staff", |d| {
        let state = Arc::new(d.platform.clone());
        Ok(Handler::http(move |req| {
            let state = state.clone();
            async move { staff::handler(&state, req).await }
        }))
    }),
    ("reputation", |d| {
        let state = Arc::new(d.platform.clone());
        Ok(Handler::event(move |event| {
            let state = state.clone();
            async move { reputation::handler(&state, event).await }
        }))
    }),
    ("search-indexer", |d| {
        let state = Arc::new(search_indexer::State {
            platform: d.platform.clone(),
            search: d.search.clone(),
        });
        Ok(Handler::event(move |event| {
            let state = state.clone();
            async move { search_indexer::handler(&state, event).await }
        }))
    }),
    ("milestones", |d| {
        let state = Arc::new(milestones::State {
            platform: d.platform.clone(),
            target: d.platform.config.reminders_target()?,
        });
        Ok(Handler::event(move |event| {
            let state = state.clone();
            async move { milestones::handler(&state, event).await }
        }))
    }),
];

/// Function crate names with an in-process handler.
pub fn registered_functions() -> Vec<&'static str> {
    REGISTRY.iter().map(|(name, _)| *name).collect()
}

/// Template functions without a registered handler (or override), as
/// `LogicalId (functions/name)`.
pub fn unregistered<'a>(
    defs: &'a [FunctionDef],
    overrides: &BTreeMap<String, Handler>,
) -> Vec<&'a FunctionDef> {
    defs.iter()
        .filter(|f| !overrides.contains_key(&f.name) && !REGISTRY.iter().any(|(n, _)| *n == f.name))
        .collect()
}

/// A template function with its handler.
#[derive(Clone)]
pub struct Function {
    pub def: FunctionDef,
    pub handler: Handler,
}

impl Function {
    /// The template's `Timeout` for this function.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.def.timeout_secs.max(1))
    }

    /// The Lambda context of one invocation.
    pub fn context(&self, request_id: &str, timeout: Duration) -> lambda_runtime::Context {
        let config = lambda_runtime::Config {
            function_name: self.def.logical_id.clone(),
            memory: i32::try_from(self.def.memory_mb).unwrap_or(i32::MAX),
            version: "$LATEST".into(),
            log_group: format!("/aws/lambda/{}", self.def.logical_id),
            log_stream: "local".into(),
        };
        let mut ctx = lambda_runtime::Context::default();
        ctx.request_id = request_id.to_owned();
        ctx.deadline = u64::try_from((jiff::Timestamp::now().as_millisecond()).max(0)).unwrap_or(0)
            + u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX / 2);
        ctx.invoked_function_arn = crate::function_arn(&self.def.logical_id);
        ctx.env_config = Arc::new(config);
        ctx
    }
}

/// The functions of one template, by logical id.
#[derive(Clone, Default)]
pub struct Functions {
    by_id: HashMap<String, Function>,
}

impl Functions {
    /// Build every template function's handler (an override wins over the registry).
    pub fn build(
        defs: &[FunctionDef],
        deps: &Deps,
        overrides: &BTreeMap<String, Handler>,
    ) -> Result<Self, String> {
        let mut by_id = HashMap::new();
        for def in defs {
            let handler = match overrides.get(&def.name) {
                Some(h) => h.clone(),
                None => {
                    let (_, build) =
                        REGISTRY
                            .iter()
                            .find(|(n, _)| *n == def.name)
                            .ok_or_else(|| {
                                format!(
                                    "{} (functions/{}) has no registered handler",
                                    def.logical_id, def.name
                                )
                            })?;
                    build(deps)
                        .map_err(|e| format!("{} (functions/{}): {e}", def.logical_id, def.name))?
                }
            };
            by_id.insert(
                def.logical_id.clone(),
                Function {
                    def: def.clone(),
                    handler,
                },
            );
        }
        Ok(Self { by_id })
    }

    /// Functions with the given handlers (tests).
    pub fn from_parts(parts: Vec<(FunctionDef, Handler)>) -> Self {
        Self {
            by_id: parts
                .into_iter()
                .map(|(def, handler)| (def.logical_id.clone(), Function { def, handler }))
                .collect(),
        }
    }

    pub fn get(&self, logical_id: &str) -> Option<&Function> {
        self.by_id.get(logical_id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The function `logical_id`, which `what` (e.g. "route GET /health")
    /// needs to be of `kind`.
    pub fn expect(
        &self,
        logical_id: &str,
        kind: &'static str,
        what: &str,
    ) -> Result<&Function, String> {
        let f = self.get(logical_id).ok_or_else(|| {
            format!("{what} targets {logical_id}, which is not a function of the template")
        })?;
        if f.handler.kind() != kind {
            return Err(format!(
                "{what} targets {logical_id} (functions/{}), whose handler takes {} events, not {kind} events",
                f.def.name,
                f.handler.kind()
            ));
        }
        Ok(f)
    }
}

/// Why an invocation produced no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("panicked: {0}")]
    Panicked(String),
    #[error("was cancelled")]
    Cancelled,
}

/// Run one invocation in its own task: a panic becomes [`InvokeError::Panicked`]
/// and overrunning `limit` aborts it with [`InvokeError::Timeout`].
pub async fn invoke<T: Send + 'static>(
    fut: BoxFuture<T>,
    limit: Duration,
) -> Result<T, InvokeError> {
    let mut task = tokio::spawn(fut);
    match tokio::time::timeout(limit, &mut task).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if e.is_panic() => {
            let p = e.into_panic();
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned());
            Err(InvokeError::Panicked(
                msg.unwrap_or_else(|| "non-string panic payload".into()),
            ))
        }
        Ok(Err(_)) => Err(InvokeError::Cancelled),
        Err(_) => {
            task.abort();
            Err(InvokeError::Timeout(limit))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps() -> Deps {
        let sdk = nexus_ports::SdkConfig::builder()
            .behavior_version(nexus_ports::BehaviorVersion::latest())
            .build();
        let config = nexus_ports::Config {
            table_name: "t".into(),
            event_bus_name: "b".into(),
            media_bucket: "m".into(),
            cursor_key: nexus_core::cursor::CursorKey::new("k"),
            stage: "test".into(),
            s3_path_style: true,
            schedule_group: Some("g".into()),
            scheduler_role_arn: Some("arn:aws:iam::000000000000:role/r".into()),
            reminders_target_arn: Some("arn:aws:lambda:us-east-1:000000000000:function:f".into()),
        };
        let platform = nexus_ports::Platform::from_sdk(config, &sdk, None);
        let keys = nexus_auth::KeyRing::from_secrets(&"s".repeat(40), &[]).unwrap();
        let identity = nexus_identity::State {
            platform: platform.clone(),
            keys: keys.clone(),
            issuer: "iss".into(),
            cipher: Arc::new(nexus_ports::cipher::LocalCipher::new([7; 32]).unwrap()),
        };
        Deps {
            mailer: Arc::new(nexus_ports::mail::LocalOutbox::default()),
            app_url: "https://app".into(),
            platform,
            keys,
            issuer: "iss".into(),
            identity: Arc::new(identity),
            search: Arc::new(nexus_search::TantivySearch::in_memory().unwrap()),
        }
    }

    fn def(name: &str) -> FunctionDef {
        FunctionDef {
            logical_id: format!("{name}Function"),
            code_uri: format!("functions/{name}"),
            name: name.into(),
            timeout_secs: 3,
            memory_mb: 128,
        }
    }

    #[tokio::test]
    async fn every_registered_function_builds_with_its_kind() {
        let defs: Vec<_> = registered_functions().into_iter().map(def).collect();
        let fs = Functions::build(&defs, &deps(), &BTreeMap::new()).unwrap();
        assert_eq!(fs.len(), defs.len());
        let kind = |n: &str| fs.get(&format!("{n}Function")).unwrap().handler.kind();
        assert_eq!(kind("health"), "HTTP");
        assert_eq!(kind("authorizer"), "authorizer");
        assert_eq!(kind("outbox-publisher"), "DynamoDB stream");
        assert_eq!(kind("audit"), "EventBridge");
        assert_eq!(kind("reminders"), "direct invoke");
        assert_eq!(kind("notifications"), "HTTP");
        assert_eq!(kind("notifier"), "EventBridge");
        assert_eq!(kind("campaigns"), "HTTP");
        assert_eq!(kind("search-indexer"), "EventBridge");
        let err = fs
            .expect("auditFunction", "HTTP", "route GET /x")
            .err()
            .unwrap();
        assert!(err.contains("takes EventBridge events"), "{err}");
    }

    #[test]
    fn unknown_functions_are_reported_unless_overridden() {
        let defs = vec![def("health"), def("billing")];
        let missing = unregistered(&defs, &BTreeMap::new());
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].name, "billing");
        let overrides =
            BTreeMap::from([("billing".to_string(), Handler::event(|_| async { Ok(()) }))]);
        assert!(unregistered(&defs, &overrides).is_empty());
    }

    #[tokio::test]
    async fn invocations_contain_panics_and_timeouts() {
        let ok = invoke(Box::pin(async { 7 }), Duration::from_secs(1)).await;
        assert_eq!(ok, Ok(7));
        let panicked =
            invoke::<()>(Box::pin(async { panic!("boom") }), Duration::from_secs(1)).await;
        assert_eq!(panicked, Err(InvokeError::Panicked("boom".into())));
        let slow = invoke(
            Box::pin(async { tokio::time::sleep(Duration::from_secs(5)).await }),
            Duration::from_millis(20),
        )
        .await;
        assert_eq!(slow, Err(InvokeError::Timeout(Duration::from_millis(20))));
    }

    #[test]
    fn context_names_the_function() {
        let f = Function {
            def: def("health"),
            handler: Handler::event(|_| async { Ok(()) }),
        };
        let ctx = f.context("req-1", Duration::from_secs(3));
        assert_eq!(ctx.request_id, "req-1");
        assert_eq!(
            ctx.invoked_function_arn,
            "arn:aws:lambda:us-east-1:000000000000:function:healthFunction"
        );
        assert_eq!(ctx.env_config.function_name, "healthFunction");
        assert!(ctx.deadline > 0);
    }
}
