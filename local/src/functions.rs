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

/// What function states are built from: the local [`Wiring`](nexus_ports::Wiring).
pub type Deps = crate::wiring::LocalWiring;

type Build = fn(&Deps) -> BoxFuture<Result<Handler, String>>;

/// A registry entry whose state is built by the function crate's own
/// `state(&wiring)` — the function `main.rs` calls with `nexus_ports::Aws` —
/// and whose handler takes events of `kind` (a [`Handler`] constructor).
macro_rules! wired {
    ($krate:ident, $kind:ident) => {
        |d: &Deps| {
            let d = d.clone();
            Box::pin(async move {
                let state = Arc::new($krate::state(&d).await?);
                Ok(Handler::$kind(move |event| {
                    let state = state.clone();
                    async move { $krate::handler(&state, event).await }
                }))
            })
        }
    };
}

/// The queue the outbox publisher dead-letters refused events to.
pub const OUTBOX_DEAD_LETTER_QUEUE: &str = "OutboxEventDeadLetterQueue";

/// The registry: function crate name → how to build its handler.
/// Add a line here when a `functions/<name>` crate is added to template.yaml.
const REGISTRY: &[(&str, Build)] = &[
    ("health", wired!(health, http)),
    ("orgs", wired!(orgs, http)),
    ("auth", wired!(auth, http)),
    ("me", wired!(me, http)),
    ("invitations", wired!(invitations, http)),
    ("apidocs", |_| {
        Box::pin(async {
            let state = Arc::new(apidocs::State::new()?);
            Ok(Handler::http(move |req| {
                let state = state.clone();
                async move { apidocs::handler(&state, req).await }
            }))
        })
    }),
    ("fallback", |_| {
        Box::pin(async {
            let state = Arc::new(fallback::State::new()?);
            Ok(Handler::http(move |req| {
                let state = state.clone();
                async move { fallback::handler(&state, req).await }
            }))
        })
    }),
    ("authorizer", wired!(authorizer, authorizer)),
    ("outbox-publisher", wired!(outbox_publisher, stream)),
    ("audit", wired!(audit, event)),
    ("reminders", wired!(reminders, invoke)),
    ("notifications", wired!(notifications, http)),
    ("notifier", wired!(notifier, event)),
    ("account-mail", wired!(account_mail, event)),
    ("creators", wired!(creators, http)),
    ("campaigns", |d| {
        let d = d.clone();
        Box::pin(async move {
            // Offline: the local hashing vectoriser, named in every matches response.
            let embedder = Arc::new(nexus_matching::LocalHashingVectoriser::default());
            let state = Arc::new(campaigns::state(&d, embedder).await?);
            Ok(Handler::http(move |req| {
                let state = state.clone();
                async move { campaigns::handler(&state, req).await }
            }))
        })
    }),
    ("marketplace", wired!(marketplace, http)),
    ("contracts", wired!(contracts, http)),
    ("staff", wired!(staff, http)),
    ("reputation", wired!(reputation, event)),
    ("search-indexer", wired!(search_indexer, event)),
    ("milestones", wired!(milestones, event)),
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
    pub async fn build(
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
                    let wiring = deps.for_function(&def.logical_id)?;
                    build(&wiring)
                        .await
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
            table_name: Some("t".into()),
            event_bus_name: Some("b".into()),
            media_bucket: Some("m".into()),
            stage: "test".into(),
            s3_path_style: true,
            schedule_group: Some("g".into()),
            scheduler_role_arn: Some("arn:aws:iam::000000000000:role/r".into()),
            reminders_target_arn: Some("arn:aws:lambda:us-east-1:000000000000:function:f".into()),
            schedule_dlq_arn: Some("arn:aws:sqs:us-east-1:000000000000:q".into()),
            app_url: Some("https://app".into()),
            ..nexus_ports::Config::default()
        };
        Deps {
            config,
            sdk,
            cursor_key: nexus_core::cursor::CursorKey::new("k"),
            clock: Arc::new(nexus_core::time::SystemClock),
            // Building handlers calls neither.
            events: Arc::new(nexus_ports::Unwired("events")),
            scheduler: Arc::new(nexus_ports::Unwired("scheduler")),
            mail: Arc::new(nexus_ports::mail::LocalOutbox::default()),
            cipher: Arc::new(nexus_ports::cipher::LocalCipher::new([7; 32]).unwrap()),
            search: Arc::new(nexus_search::TantivySearch::in_memory().unwrap()),
            keys: nexus_auth::KeyRing::from_secrets(&"s".repeat(40), &[]).unwrap(),
            issuer: "iss".into(),
            parity: None,
            guard: None,
            dead_letters: crate::dlq::DeadLetters::new(
                std::env::temp_dir().join("nexus-unused-dlq"),
            ),
            asked: Default::default(),
            workflows: Default::default(),
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
        let fs = Functions::build(&defs, &deps(), &BTreeMap::new())
            .await
            .unwrap();
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

    /// What each function's state asks for is what template.yaml gives it in
    /// AWS: a function that pages gets the cursor key secret's ARN and may
    /// read that secret; the others get neither; and no secret is resolved
    /// into any function's environment (where it would be plaintext).
    #[tokio::test]
    async fn functions_that_page_and_only_they_get_the_cursor_key_secret() {
        use nexus_wiring::template::{EnvValue, Template};
        let template = nexus_devenv::load_template().unwrap();
        let text =
            std::fs::read_to_string(nexus_devenv::repo_root().join("template.yaml")).unwrap();
        let raw: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let d = deps();
        let mut paging = vec![];
        for f in template.functions() {
            let (_, build) = REGISTRY.iter().find(|(n, _)| *n == f.name).unwrap();
            let w = d.recording();
            build(&w).await.unwrap();
            let pages = w.asked().contains("paging");
            let env = template.environment(&f.logical_id);
            let has_arn =
                env.get("CURSOR_KEY_SECRET_ARN") == Some(&EnvValue::Ref("CursorKeySecret".into()));
            let may_read = raw["Resources"][f.logical_id.as_str()]["Properties"]["Policies"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("AWSSecretsManagerGetSecretValuePolicy"))
                .any(|p| {
                    p.get("SecretArn")
                        .and_then(Template::resolve_ref)
                        .as_deref()
                        == Some("CursorKeySecret")
                });
            assert_eq!(
                (has_arn, may_read),
                (pages, pages),
                "{} (functions/{}) asks for {:?}: CURSOR_KEY_SECRET_ARN and \
                 GetSecretValue on CursorKeySecret go with `paging`",
                f.logical_id,
                f.name,
                w.asked()
            );
            if pages {
                paging.push(f.name);
            }
        }
        for f in ["orgs", "campaigns", "contracts", "notifications"] {
            assert!(paging.iter().any(|p| p == f), "{f} pages: {paging:?}");
        }
        let environments = std::iter::once(&raw["Globals"]["Function"]["Environment"]).chain(
            template
                .functions()
                .into_iter()
                .map(|f| &raw["Resources"][f.logical_id.as_str()]["Properties"]["Environment"]),
        );
        for env in environments {
            let env = serde_yaml::to_string(env).unwrap();
            assert!(!env.contains("{{resolve:"), "a dynamic reference in {env}");
        }
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
