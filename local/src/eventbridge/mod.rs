//! The local EventBridge bus: an in-process [`nexus_ports::EventBus`] with
//! the template's rules (`Type: EventBridgeRule` events).
//!
//! `publish` behaves like `PutEvents` (`workflows-and-events.md` §2.1–2.3):
//! each entry is validated (source and detail-type present, `Detail` a JSON
//! object, size under the limit, no `aws.*` sources) and refused entries are
//! reported per event; accepted entries become envelopes (`version "0"`, a
//! UUID `id`, second-precision `time`, `resources: []`) and are delivered
//! asynchronously to every rule whose pattern matches. A failed delivery is
//! retried with capped exponential backoff up to the rule's
//! `MaximumRetryAttempts`, then written to `<state dir>/dlq/`.
//!
//! Note: on AWS a Lambda target is invoked asynchronously, so a *function*
//! error is retried by Lambda's async invocation config, not by the rule's
//! retry policy. Locally both collapse into the rule's policy.

pub mod pattern;

use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::LambdaEvent;
use nexus_ports::events::{entry_size, MAX_ENTRY_BYTES};
use nexus_ports::{EventBus, OutboxEvent, PublishFailure};
use nexus_wiring::template::EventRule;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::config::Timing;
use crate::dlq::DeadLetters;
use crate::functions::{invoke, EventFn, Function, Functions, Handler};
use crate::worker::Activity;
use pattern::EventPattern;

/// A rule with a compiled pattern and its target.
#[derive(Clone)]
pub struct Rule {
    pub name: String,
    pub pattern: Arc<EventPattern>,
    pub maximum_retry_attempts: u32,
    pub target: Function,
}

impl Rule {
    fn handler(&self) -> Option<EventFn> {
        match &self.target.handler {
            Handler::Event(h) => Some(h.clone()),
            _ => None,
        }
    }
}

/// Compile the template's rule patterns (a bad pattern stops start-up).
pub fn compile_patterns(rules: &[EventRule]) -> Result<Vec<(EventRule, EventPattern)>, String> {
    rules
        .iter()
        .map(|r| {
            let p = EventPattern::parse(&r.pattern)
                .map_err(|e| format!("rule {} ({}): {e}", r.name, r.function))?;
            for w in p.warnings() {
                tracing::warn!(rule = %r.name, "event pattern: {w}");
            }
            Ok((r.clone(), p))
        })
        .collect()
}

/// Attach each compiled rule to its target function.
pub fn bind_rules(
    compiled: Vec<(EventRule, EventPattern)>,
    functions: &Functions,
) -> Result<Vec<Rule>, String> {
    compiled
        .into_iter()
        .map(|(r, p)| {
            let target = functions
                .expect(&r.function, "EventBridge", &format!("rule {}", r.name))?
                .clone();
            Ok(Rule {
                name: r.name,
                pattern: Arc::new(p),
                maximum_retry_attempts: r.maximum_retry_attempts,
                target,
            })
        })
        .collect()
}

struct Inner {
    bus_name: String,
    rules: OnceLock<Vec<Rule>>,
    dlq: DeadLetters,
    timing: Timing,
    activity: Arc<Activity>,
    deliveries: Mutex<JoinSet<()>>,
}

/// The in-process bus. Cheap to clone.
#[derive(Clone)]
pub struct LocalBus {
    inner: Arc<Inner>,
}

impl LocalBus {
    /// A bus without rules yet: functions need the bus before rules can
    /// point at them, so rules are [`attach`](Self::attach)ed afterwards.
    pub fn new(bus_name: String, dlq: DeadLetters, timing: Timing) -> Self {
        Self {
            inner: Arc::new(Inner {
                bus_name,
                rules: OnceLock::new(),
                dlq,
                timing,
                activity: Arc::new(Activity::counting()),
                deliveries: Mutex::new(JoinSet::new()),
            }),
        }
    }

    pub fn attach(&self, rules: Vec<Rule>) -> Result<(), String> {
        self.inner
            .rules
            .set(rules)
            .map_err(|_| "the bus already has its rules".to_owned())
    }

    pub fn rules(&self) -> &[Rule] {
        self.inner
            .rules
            .get()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        &self.inner.bus_name
    }

    /// Deliveries in flight and events accepted, for settling.
    pub fn activity(&self) -> Arc<Activity> {
        self.inner.activity.clone()
    }

    /// Abort deliveries still in flight (platform stop).
    pub fn abort_deliveries(&self) -> usize {
        let mut set = self
            .inner
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let n = set.len();
        set.abort_all();
        n
    }

    /// Validate one entry as PutEvents does and build its envelope.
    fn envelope(&self, e: &OutboxEvent) -> Result<Value, PublishFailure> {
        let fail = |code: &str, message: String, retryable: bool| PublishFailure {
            event_id: e.event_id.clone(),
            code: code.into(),
            message,
            retryable,
        };
        if e.source.trim().is_empty() {
            return Err(fail(
                "InvalidArgument",
                "Parameter Source is not valid. Reason: Source is a required argument.".into(),
                false,
            ));
        }
        if e.detail_type.trim().is_empty() {
            return Err(fail(
                "InvalidArgument",
                "Parameter DetailType is not valid. Reason: DetailType is a required argument."
                    .into(),
                false,
            ));
        }
        if e.detail_type.chars().count() > 128 {
            return Err(fail(
                "InvalidArgument",
                "Parameter DetailType is not valid. Reason: longer than 128 characters.".into(),
                false,
            ));
        }
        if e.source.starts_with("aws.") {
            return Err(fail(
                "NotAuthorizedForSourceException",
                format!("Not authorized for the source {}.", e.source),
                false,
            ));
        }
        let detail = match serde_json::from_str::<Value>(&e.detail) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return Err(fail(
                    "MalformedDetail",
                    "Detail is malformed.".into(),
                    false,
                ))
            }
        };
        if entry_size(e) >= MAX_ENTRY_BYTES {
            return Err(fail(
                "EntryTooLarge",
                format!("{} bytes exceeds the EventBridge limit", entry_size(e)),
                false,
            ));
        }
        let time = e
            .time
            .parse::<jiff::Timestamp>()
            .unwrap_or_else(|_| jiff::Timestamp::now());
        Ok(json!({
            "version": "0",
            "id": crate::uuid4(),
            "detail-type": e.detail_type,
            "source": e.source,
            "account": crate::ACCOUNT_ID,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "region": crate::REGION,
            "resources": [],
            "detail": detail,
        }))
    }

    fn deliver(&self, rule: Rule, envelope: Value) {
        let Some(handler) = rule.handler() else {
            return;
        };
        let busy = self.inner.activity.begin();
        let me = self.clone();
        let mut set = self
            .inner
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        while set.try_join_next().is_some() {}
        set.spawn(async move {
            let _busy = busy;
            me.deliver_with_retries(&rule, handler, envelope).await;
        });
    }

    async fn deliver_with_retries(&self, rule: &Rule, handler: EventFn, envelope: Value) {
        let f = &rule.target;
        let id = envelope["id"].as_str().unwrap_or_default().to_owned();
        let event: EventBridgeEvent<Value> = match serde_json::from_value(envelope.clone()) {
            Ok(e) => e,
            Err(e) => {
                self.dead_letter(rule, &envelope, "MalformedEvent", &e.to_string(), 0)
                    .await;
                return;
            }
        };
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let outcome = invoke(
                handler(LambdaEvent::new(
                    event.clone(),
                    f.context(&crate::uuid4(), f.timeout()),
                )),
                f.timeout(),
            )
            .await;
            let (code, error) = match outcome {
                Ok(Ok(())) => {
                    tracing::debug!(rule = %rule.name, event.id = %id, attempt, "delivered");
                    return;
                }
                Ok(Err(d)) => (d.error_type, d.error_message),
                Err(e) => ("Lambda.Invoke".to_owned(), format!("the function {e}")),
            };
            let retries_left = rule.maximum_retry_attempts.saturating_sub(attempt - 1);
            if retries_left == 0 {
                self.dead_letter(rule, &envelope, &code, &error, attempt)
                    .await;
                return;
            }
            let wait = self.inner.timing.backoff(attempt);
            tracing::warn!(rule = %rule.name, function = %f.def.logical_id, event.id = %id, attempt, error.type = %code, error.message = %error, "delivery failed; retrying in {wait:?}");
            tokio::time::sleep(wait).await;
        }
    }

    async fn dead_letter(
        &self,
        rule: &Rule,
        envelope: &Value,
        code: &str,
        message: &str,
        attempts: u32,
    ) {
        let letter = json!({
            "event": envelope,
            "attributes": {
                "RULE_ARN": format!("arn:aws:events:{}:{}:rule/{}/{}", crate::REGION, crate::ACCOUNT_ID, self.inner.bus_name, rule.name),
                "TARGET_ARN": crate::function_arn(&rule.target.def.logical_id),
                "ERROR_CODE": code,
                "ERROR_MESSAGE": message,
                "RETRY_ATTEMPTS": attempts.saturating_sub(1),
            },
        });
        match self
            .inner
            .dlq
            .write("event", &rule.target.def.logical_id, &letter)
            .await
        {
            Ok(path) => {
                tracing::error!(rule = %rule.name, event.id = %envelope["id"], error.type = code, error.message = message, "event dead-lettered after {attempts} attempts: {}", path.display())
            }
            Err(e) => {
                tracing::error!(rule = %rule.name, event.id = %envelope["id"], "event dropped: writing the dead letter failed: {e}")
            }
        }
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<PublishFailure>, String> {
        let mut failures = vec![];
        for e in events {
            match self.envelope(e) {
                Ok(envelope) => {
                    self.inner.activity.took(1);
                    let matched: Vec<Rule> = self
                        .rules()
                        .iter()
                        .filter(|r| r.pattern.matches(&envelope))
                        .cloned()
                        .collect();
                    tracing::debug!(event.id = %e.event_id, source = %e.source, detail_type = %e.detail_type, rules = matched.len(), "event accepted");
                    for rule in matched {
                        self.deliver(rule, envelope.clone());
                    }
                }
                Err(f) => failures.push(f),
            }
        }
        Ok(failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    fn event(source: &str, detail: &str) -> OutboxEvent {
        OutboxEvent {
            event_id: "evt_1".into(),
            source: source.into(),
            detail_type: "OrganizationCreated".into(),
            detail: detail.into(),
            time: "2026-11-28T10:00:00.123456Z".into(),
        }
    }

    fn tmp_dlq() -> DeadLetters {
        DeadLetters::new(std::env::temp_dir().join(format!("nexus-dlq-{}", ulid::Ulid::new())))
    }

    fn timing() -> Timing {
        Timing {
            retry_backoff_base: Duration::from_millis(1),
            retry_backoff_cap: Duration::from_millis(2),
            ..Timing::default()
        }
    }

    fn rule(pattern: Value, retries: u32, handler: Handler) -> Rule {
        Rule {
            name: "r1".into(),
            pattern: Arc::new(EventPattern::parse(&pattern).unwrap()),
            maximum_retry_attempts: retries,
            target: Function {
                def: nexus_wiring::template::Function {
                    logical_id: "AuditFunction".into(),
                    code_uri: "functions/audit".into(),
                    name: "audit".into(),
                    timeout_secs: 3,
                    memory_mb: 128,
                },
                handler,
            },
        }
    }

    async fn idle(bus: &LocalBus) {
        for _ in 0..500 {
            if bus.activity().idle_since(0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("bus never became idle");
    }

    #[tokio::test]
    async fn envelopes_follow_put_events() {
        let bus = LocalBus::new("nexus-local".into(), tmp_dlq(), timing());
        let env = bus.envelope(&event("nexus.orgs", r#"{"a":1}"#)).unwrap();
        assert_eq!(env["version"], "0");
        assert_eq!(env["time"], "2026-11-28T10:00:00Z");
        assert_eq!(env["account"], "000000000000");
        assert_eq!(env["resources"], json!([]));
        assert_eq!(env["detail"], json!({"a": 1}));
        assert_eq!(env["id"].as_str().unwrap().len(), 36);
        let codes: Vec<String> = bus
            .publish(&[
                event("", "{}"),
                event("nexus.x", "\"s\""),
                event("aws.s3", "{}"),
                event("nexus.x", "{}"),
            ])
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(
            codes,
            [
                "InvalidArgument",
                "MalformedDetail",
                "NotAuthorizedForSourceException"
            ]
        );
        let big = event(
            "nexus.x",
            &format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_ENTRY_BYTES)),
        );
        assert_eq!(bus.publish(&[big]).await.unwrap()[0].code, "EntryTooLarge");
    }

    #[tokio::test]
    async fn matching_rules_get_the_envelope() {
        let bus = LocalBus::new("nexus-local".into(), tmp_dlq(), timing());
        let seen = Arc::new(Mutex::new(vec![]));
        let s = seen.clone();
        let handler = Handler::event(move |e| {
            let s = s.clone();
            async move {
                s.lock().unwrap().push(e.payload);
                Ok(())
            }
        });
        bus.attach(vec![rule(
            json!({"source": [{"prefix": "nexus."}]}),
            0,
            handler,
        )])
        .unwrap();
        bus.publish(&[
            event("nexus.orgs", r#"{"k":"v"}"#),
            event("other.app", "{}"),
        ])
        .await
        .unwrap();
        idle(&bus).await;
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].source, "nexus.orgs");
        assert_eq!(seen[0].detail, json!({"k": "v"}));
        assert_eq!(bus.activity().work(), 2);
    }

    #[tokio::test]
    async fn failures_are_retried_then_dead_lettered() {
        let dlq = tmp_dlq();
        let bus = LocalBus::new("nexus-local".into(), dlq.clone(), timing());
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let handler = Handler::event(move |_| {
            let c = c.clone();
            async move {
                if c.fetch_add(1, Ordering::SeqCst) == 0 {
                    panic!("first delivery panics");
                }
                Err(lambda_runtime::Diagnostic {
                    error_type: "Boom".into(),
                    error_message: "always".into(),
                })
            }
        });
        bus.attach(vec![rule(json!({"source": ["nexus.orgs"]}), 3, handler)])
            .unwrap();
        bus.publish(&[event("nexus.orgs", "{}")]).await.unwrap();
        idle(&bus).await;
        assert_eq!(calls.load(Ordering::SeqCst), 4, "1 attempt + 3 retries");
        let letters = dlq.list();
        assert_eq!(letters.len(), 1);
        let letter: Value = serde_json::from_slice(&std::fs::read(&letters[0]).unwrap()).unwrap();
        assert_eq!(letter["event"]["source"], "nexus.orgs");
        assert_eq!(letter["attributes"]["ERROR_CODE"], "Boom");
        assert_eq!(letter["attributes"]["RETRY_ATTEMPTS"], 3);
        let _ = std::fs::remove_dir_all(dlq.dir());
    }
}
