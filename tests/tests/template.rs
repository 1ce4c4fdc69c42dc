//! template.yaml and samconfig.toml, read offline: what a first `sam deploy`
//! to a fresh account needs, least privilege, and that everything is watched.
//! These tests are the checklist a new function, queue, rule or route must
//! pass (see docs/deploy.md, "Adding a function").

use std::collections::{BTreeMap, BTreeSet};

use nexus_wiring::policy::Statement;
use nexus_wiring::template::Template;
use serde_yaml::Value;

fn template() -> Template {
    nexus_devenv::load_template().expect("template.yaml parses")
}

/// `(tag, value)` of a tagged YAML value (`!Ref X` → `("!Ref", X)`).
fn tagged(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((t.tag.to_string(), &t.value)),
        _ => None,
    }
}

fn ref_to(v: &Value) -> Option<String> {
    Template::resolve_ref(v)
}

fn props<'a>(t: &'a Template, id: &str) -> &'a Value {
    t.resource(id)
        .and_then(|r| r.get("Properties"))
        .unwrap_or_else(|| panic!("{id} has no Properties"))
}

fn functions(t: &Template) -> Vec<String> {
    t.functions().into_iter().map(|f| f.logical_id).collect()
}

fn events<'a>(t: &'a Template, id: &str, ty: &str) -> Vec<(String, &'a Value)> {
    props(t, id)
        .get("Events")
        .and_then(Value::as_mapping)
        .into_iter()
        .flat_map(|m| m.iter())
        .filter(|(_, e)| e.get("Type").and_then(Value::as_str) == Some(ty))
        .map(|(k, e)| (k.as_str().unwrap().to_owned(), &e["Properties"]))
        .collect()
}

/// Every alarm as (logical id, namespace, metric names, dimensions).
struct Alarm {
    id: String,
    metrics: Vec<(String, String, BTreeMap<String, Value>)>,
    props: Value,
}

fn alarms(t: &Template) -> Vec<Alarm> {
    t.resources_of_type("AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(id, r)| {
            let p = r["Properties"].clone();
            let dims = |d: &Value| -> BTreeMap<String, Value> {
                d.as_sequence()
                    .into_iter()
                    .flatten()
                    .map(|x| (x["Name"].as_str().unwrap().to_owned(), x["Value"].clone()))
                    .collect()
            };
            let mut metrics = vec![];
            if let Some(name) = p.get("MetricName").and_then(Value::as_str) {
                metrics.push((
                    p["Namespace"].as_str().unwrap().to_owned(),
                    name.to_owned(),
                    dims(&p["Dimensions"]),
                ));
            }
            for m in p
                .get("Metrics")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                if let Some(stat) = m.get("MetricStat") {
                    let metric = &stat["Metric"];
                    metrics.push((
                        metric["Namespace"].as_str().unwrap().to_owned(),
                        metric["MetricName"].as_str().unwrap().to_owned(),
                        dims(&metric["Dimensions"]),
                    ));
                }
            }
            Alarm {
                id,
                metrics,
                props: p,
            }
        })
        .collect()
}

/// A dimension's name and a test of its value.
type Dim<'a> = (&'a str, &'a dyn Fn(&Value) -> bool);

fn has_alarm(alarms: &[Alarm], namespace: &str, metric: &str, dims: &[Dim<'_>]) -> bool {
    alarms.iter().any(|a| {
        a.metrics.iter().any(|(ns, m, d)| {
            ns == namespace
                && m == metric
                && d.len() == dims.len()
                && dims.iter().all(|(k, ok)| d.get(*k).is_some_and(ok))
        })
    })
}

fn is_ref(id: &str) -> impl Fn(&Value) -> bool + '_ {
    move |v| ref_to(v).as_deref() == Some(id)
}

fn policies(t: &Template, id: &str) -> Vec<Statement> {
    t.function_policies(id)
        .unwrap_or_else(|e| panic!("{id}: {e}"))
}

/// Queues by logical id.
fn queues(t: &Template) -> BTreeSet<String> {
    t.resources_of_type("AWS::SQS::Queue")
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn every_function_logs_to_its_own_group_with_retention() {
    let t = template();
    for id in functions(&t) {
        let group = ref_to(&props(&t, &id)["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("{id}: LoggingConfig.LogGroup must be !Ref <Fn>LogGroup"));
        let g = t
            .resource(&group)
            .unwrap_or_else(|| panic!("{id}: {group} missing"));
        assert_eq!(g["Type"], "AWS::Logs::LogGroup", "{group}");
        assert_eq!(
            ref_to(&g["Properties"]["RetentionInDays"]).as_deref(),
            Some("LogRetentionDays"),
            "{group}: retention from the LogRetentionDays parameter"
        );
    }
    for (id, g) in t.resources_of_type("AWS::Logs::LogGroup") {
        assert!(
            g["Properties"].get("RetentionInDays").is_some(),
            "{id} keeps logs forever"
        );
    }
}

#[test]
fn every_function_has_error_and_throttle_alarms_and_every_alarm_notifies_the_topic() {
    let t = template();
    let all = alarms(&t);
    for id in functions(&t) {
        for metric in ["Errors", "Throttles"] {
            assert!(
                has_alarm(
                    &all,
                    "AWS/Lambda",
                    metric,
                    &[("FunctionName", &is_ref(&id))]
                ),
                "{id} has no {metric} alarm (see docs/deploy.md, Adding a function)"
            );
        }
    }
    for a in &all {
        for key in ["AlarmActions", "OKActions"] {
            let v = &a.props[key];
            let (tag, args) = tagged(v).unwrap_or_else(|| panic!("{}: {key} not !If", a.id));
            assert_eq!(tag, "!If", "{}", a.id);
            assert_eq!(args[0], "HasAlarmTopic", "{}: {key}", a.id);
            let topic = format!("{:?}", args[1]);
            assert!(topic.contains("${AlarmTopicName}"), "{}: {topic}", a.id);
        }
        assert_eq!(a.props["TreatMissingData"], "notBreaching", "{}", a.id);
    }
}

#[test]
fn every_queue_has_a_depth_alarm() {
    let t = template();
    let all = alarms(&t);
    let qs = queues(&t);
    assert!(qs.len() >= 7, "{qs:?}");
    for q in qs {
        let is_queue = |v: &Value| {
            tagged(v).is_some_and(|(tag, x)| {
                tag == "!GetAtt" && x.as_str() == Some(&format!("{q}.QueueName"))
            })
        };
        assert!(
            has_alarm(
                &all,
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                &[("QueueName", &is_queue)]
            ),
            "{q} has no depth alarm"
        );
        let retention = props(&t, &q)["MessageRetentionPeriod"].as_u64();
        assert_eq!(retention, Some(1_209_600), "{q} keeps evidence 14 days");
    }
}

/// Every asynchronous path ends in a queue of the template that has an alarm:
/// rules (delivery) and their targets (Lambda's async retries), Scheduler
/// targets, and stream sources.
#[test]
fn every_async_path_has_an_alarmed_dead_letter_destination() {
    let t = template();
    let all = alarms(&t);
    let qs = queues(&t);
    let queue_of = |v: &Value, what: &str| {
        let q =
            ref_to(v).unwrap_or_else(|| panic!("{what}: destination must be !GetAtt <Queue>.Arn"));
        assert!(
            qs.contains(&q),
            "{what}: {q} is not a queue of the template"
        );
        q
    };
    let mut async_targets: BTreeSet<String> = t.scheduler_targets().into_iter().collect();
    let mut rule_names = BTreeSet::new();
    for id in functions(&t) {
        for (name, e) in events(&t, &id, "EventBridgeRule") {
            let what = format!("{id}.{name}");
            async_targets.insert(id.clone());
            let rule = e["RuleName"].as_str().unwrap_or_else(|| {
                panic!("{what}: give the rule a literal RuleName (its alarm names it)")
            });
            assert!(rule_names.insert(rule.to_owned()), "{rule} twice");
            assert!(
                e["RetryPolicy"].get("MaximumRetryAttempts").is_some(),
                "{what}"
            );
            queue_of(&e["DeadLetterConfig"]["Arn"], &what);
            let named = |v: &Value| v.as_str() == Some(rule);
            assert!(
                has_alarm(
                    &all,
                    "AWS/Events",
                    "FailedInvocations",
                    &[("EventBusName", &is_ref("EventBus")), ("RuleName", &named)]
                ),
                "{what}: no FailedInvocations alarm for rule {rule} on the stage bus"
            );
        }
        for (name, e) in events(&t, &id, "DynamoDB") {
            let what = format!("{id}.{name}");
            queue_of(&e["DestinationConfig"]["OnFailure"]["Destination"], &what);
            assert_eq!(
                e["FunctionResponseTypes"][0], "ReportBatchItemFailures",
                "{what}"
            );
            assert!(
                has_alarm(
                    &all,
                    "AWS/Lambda",
                    "IteratorAge",
                    &[("FunctionName", &is_ref(&id))]
                ),
                "{what}: no IteratorAge alarm"
            );
        }
    }
    assert!(async_targets.contains("RemindersFunction"));
    for id in async_targets {
        let c = t.event_invoke_config(&id).unwrap_or_else(|| {
            panic!("{id} is invoked asynchronously but has no EventInvokeConfig")
        });
        let q = c
            .on_failure
            .unwrap_or_else(|| panic!("{id}: EventInvokeConfig has no OnFailure destination"));
        assert!(qs.contains(&q), "{id}: {q}");
    }
}

#[test]
fn schedules_dead_letter_and_scheduler_failures_are_alarmed() {
    let t = template();
    let all = alarms(&t);
    for metric in [
        "TargetErrorCount",
        "InvocationDroppedCount",
        "InvocationsFailedToBeSentToDeadLetterCount",
    ] {
        assert!(
            has_alarm(
                &all,
                "AWS/Scheduler",
                metric,
                &[("ScheduleGroup", &is_ref("ScheduleGroup"))]
            ),
            "no {metric} alarm"
        );
    }
    // A function that schedules gives its schedules a DLQ the Scheduler role can write to.
    let role = props(&t, "SchedulerInvokeRole");
    let role_text = format!("{role:?}");
    for id in functions(&t) {
        let env = t.environment(&id);
        if !env.contains_key("SCHEDULE_GROUP") {
            continue;
        }
        let Some(nexus_wiring::template::EnvValue::Ref(q)) = env.get("SCHEDULE_DLQ_ARN") else {
            panic!("{id} schedules without SCHEDULE_DLQ_ARN: !GetAtt <Queue>.Arn");
        };
        assert!(queues(&t).contains(q), "{id}: {q}");
        assert!(
            role_text.contains(&format!("{q}.Arn")),
            "SchedulerInvokeRole cannot send to {q}"
        );
        // 100 calls at MAX_IN_FLIGHT plus SDK backoff need more than the default 10 s.
        let timeout = t
            .functions()
            .into_iter()
            .find(|f| f.logical_id == id)
            .unwrap()
            .timeout_secs;
        assert!(timeout >= 30, "{id}: timeout {timeout} s");
    }
}

#[test]
fn api_table_stream_and_bus_are_watched() {
    let t = template();
    let all = alarms(&t);
    let api = [("ApiId", &is_ref("HttpApi") as &dyn Fn(&Value) -> bool)];
    assert!(has_alarm(&all, "AWS/ApiGateway", "5xx", &api));
    assert!(has_alarm(&all, "AWS/ApiGateway", "Latency", &api));
    let table = [("TableName", &is_ref("Table") as &dyn Fn(&Value) -> bool)];
    assert!(has_alarm(
        &all,
        "AWS/DynamoDB",
        "ReadThrottleEvents",
        &table
    ));
    assert!(has_alarm(
        &all,
        "AWS/DynamoDB",
        "WriteThrottleEvents",
        &table
    ));
    for gsi in t.table().unwrap().gsis {
        let name = gsi.0.clone();
        let is_gsi = move |v: &Value| v.as_str() == Some(name.as_str());
        for m in ["ReadThrottleEvents", "WriteThrottleEvents"] {
            assert!(
                has_alarm(
                    &all,
                    "AWS/DynamoDB",
                    m,
                    &[
                        ("TableName", &is_ref("Table")),
                        ("GlobalSecondaryIndexName", &is_gsi)
                    ]
                ),
                "{m} of index {}",
                gsi.0
            );
        }
    }
}

#[test]
fn ses_sending_is_limited_to_the_mail_identity_and_from_address() {
    let t = template();
    let identity = props(&t, "MailIdentity");
    assert_eq!(
        t.resource("MailIdentity").unwrap()["Type"],
        "AWS::SES::EmailIdentity"
    );
    assert!(
        format!("{:?}", identity["EmailIdentity"]).contains("MailFrom"),
        "the identity is MailFrom's domain"
    );
    let mut senders = vec![];
    for id in functions(&t) {
        for st in policies(&t, &id) {
            if !st.covers_action("ses:SendEmail") {
                continue;
            }
            senders.push(id.clone());
            assert!(
                !st.resources.iter().any(|r| r == "*"),
                "{id}: ses:SendEmail on *"
            );
            assert!(
                st.resources
                    .iter()
                    .any(|r| r.ends_with(":identity/${MailIdentity}")),
                "{id}: {:?}",
                st.resources
            );
            assert_eq!(
                st.condition("StringEquals", "ses:FromAddress"),
                Some(&["${MailFrom}".to_string()][..]),
                "{id}: ses:FromAddress must be MailFrom"
            );
            // Outside the sandbox only the identity itself.
            let raw = format!("{:?}", props(&t, &id)["Policies"]);
            assert!(raw.contains("InSesSandbox"), "{id}");
        }
        if let Some(nexus_wiring::template::EnvValue::Text(from)) =
            t.environment(&id).get("MAIL_FROM")
        {
            panic!("{id}: MAIL_FROM is a literal ({from}); use !Sub '${{MailFromName}} <${{MailFrom}}>'");
        }
    }
    // Mail leaves the request path: only the two mail workers send.
    assert_eq!(senders, ["NotifierFunction", "AccountMailFunction"]);
    // Non-sandbox branch of every SendEmail statement: the identity only.
    let text = std::fs::read_to_string(nexus_devenv::repo_root().join("template.yaml")).unwrap();
    for block in text.split("- InSesSandbox").skip(1) {
        let else_branch = block.lines().nth(2).unwrap();
        assert!(
            else_branch.contains("identity/${MailIdentity}") && !else_branch.contains("identity/*"),
            "{else_branch}"
        );
    }
}

#[test]
fn no_function_policy_allows_everything_and_pass_role_names_its_service() {
    let t = template();
    for id in functions(&t) {
        for st in policies(&t, &id) {
            assert!(st.allow, "{id}: Deny statements belong elsewhere");
            assert!(
                !st.resources.iter().any(|r| r == "*"),
                "{id}: {:?} on *",
                st.actions
            );
            assert!(
                !st.actions.iter().any(|a| a == "*" || a.ends_with(":*")),
                "{id}: {:?}",
                st.actions
            );
            assert!(
                !["S3ReadPolicy", "S3CrudPolicy", "S3WritePolicy"].contains(&st.origin.as_str()),
                "{id}: {} grants the whole bucket; use prefix statements",
                st.origin
            );
            if st.covers_action("iam:PassRole") {
                assert_eq!(
                    st.condition("StringEquals", "iam:PassedToService"),
                    Some(&["scheduler.amazonaws.com".to_string()][..]),
                    "{id}: PassRole without iam:PassedToService"
                );
            }
        }
    }
}

#[test]
fn s3_access_is_limited_to_the_prefixes_functions_use() {
    let t = template();
    for id in functions(&t) {
        let sts = policies(&t, &id);
        let s3: Vec<&Statement> = sts
            .iter()
            .filter(|s| s.actions.iter().any(|a| a.starts_with("s3:")))
            .collect();
        let prefix = match t.environment(&id).get("SEARCH_SNAPSHOT_PREFIX") {
            Some(nexus_wiring::template::EnvValue::Text(p)) => Some(p.clone()),
            _ => None,
        };
        if prefix.is_none() {
            assert!(s3.is_empty(), "{id} uses no bucket prefix but may call S3");
            continue;
        }
        let prefix = prefix.unwrap();
        assert!(!s3.is_empty(), "{id} reads {prefix} without S3 access");
        for st in s3 {
            if st.covers_action("s3:ListBucket") {
                assert_eq!(st.resources, ["${MediaBucket.Arn}"], "{id}");
                assert_eq!(
                    st.condition("StringLike", "s3:prefix"),
                    Some(&[format!("{prefix}*")][..]),
                    "{id}: ListBucket without s3:prefix"
                );
            } else {
                assert_eq!(
                    st.resources,
                    [format!("${{MediaBucket.Arn}}/{prefix}*")],
                    "{id}"
                );
            }
        }
    }
}

#[test]
fn table_access_matches_what_each_function_does() {
    let t = template();
    let ddb = |id: &str| -> Vec<String> {
        policies(&t, id)
            .into_iter()
            .filter(|s| s.actions.iter().any(|a| a.starts_with("dynamodb:")))
            .flat_map(|s| s.actions)
            .collect()
    };
    for id in [
        "ApiDocsFunction",
        "FallbackFunction",
        "MilestonesFunction",
        "OutboxPublisherFunction",
    ] {
        assert!(ddb(id).is_empty(), "{id} never touches the table");
    }
    let authorizer = ddb("AuthorizerFunction");
    assert!(
        authorizer.contains(&"dynamodb:UpdateItem".to_string()),
        "API-key lastUsedAt"
    );
    assert!(authorizer.contains(&"dynamodb:GetItem".to_string()));
    assert!(
        authorizer.contains(&"dynamodb:Query".to_string()),
        "a writer's role through agency grants"
    );
    assert!(
        !authorizer
            .iter()
            .any(|a| a.contains("Delete") || a.contains("Put")),
        "{authorizer:?}"
    );
    assert_eq!(ddb("HealthFunction"), ["dynamodb:GetItem"]);
    let indexer = ddb("SearchIndexerFunction");
    assert!(
        !indexer
            .iter()
            .any(|a| a.contains("Put") || a.contains("Update") || a.contains("Delete")),
        "{indexer:?}"
    );
}

#[test]
fn roles_for_services_are_scoped_to_their_source() {
    let t = template();
    let trust = &props(&t, "SchedulerInvokeRole")["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["Service"], "scheduler.amazonaws.com");
    let c = &trust["Condition"]["StringEquals"];
    assert!(ref_to(&c["aws:SourceAccount"]).is_some());
    // Scheduler's confused-deputy guidance: the source ARN is the schedule group's.
    let (tag, v) = tagged(&c["aws:SourceArn"]).expect("aws:SourceArn");
    assert_eq!(
        (tag.as_str(), v.as_str()),
        ("!GetAtt", Some("ScheduleGroup.Arn"))
    );
    let q = props(&t, "EventDeliveryDeadLetterQueuePolicy");
    let st = &q["PolicyDocument"]["Statement"][0];
    assert_eq!(st["Principal"]["Service"], "events.amazonaws.com");
    assert!(
        format!("{:?}", st["Condition"]["ArnLike"]["aws:SourceArn"]).contains("rule/${EventBus}/*")
    );
}

#[test]
fn a_new_account_accepts_the_template() {
    let t = template();
    // ReservedConcurrentExecutions only behind a condition whose parameter defaults to 0.
    let text = std::fs::read_to_string(nexus_devenv::repo_root().join("template.yaml")).unwrap();
    for line in text
        .lines()
        .filter(|l| l.contains("ReservedConcurrentExecutions:"))
    {
        assert!(line.contains("!If [ReserveIndexerConcurrency"), "{line}");
    }
    assert_eq!(
        t.parameter_default("SearchIndexerConcurrency").as_deref(),
        Some("0")
    );
    assert_eq!(t.condition("ReserveIndexerConcurrency"), Some(false));
    // No placeholder hosts baked in: these come from samconfig.toml per stage.
    for p in ["AppUrl", "MailFrom"] {
        assert_eq!(t.parameter_default(p), None, "{p} has a default");
    }
    assert_eq!(t.parameter_default("AlarmTopicName").as_deref(), Some(""));
    assert!(t.root()["Rules"]["AlarmsNotifyOutsideDev"].is_mapping());
}

#[test]
fn data_is_protected_and_cors_is_the_app_outside_dev() {
    let t = template();
    assert_eq!(props(&t, "Table")["DeletionProtectionEnabled"], true);
    let bucket = props(&t, "MediaBucket");
    assert_eq!(bucket["VersioningConfiguration"]["Status"], "Enabled");
    let policy = &props(&t, "MediaBucketPolicy")["PolicyDocument"]["Statement"][0];
    assert_eq!(policy["Effect"], "Deny");
    assert_eq!(policy["Condition"]["Bool"]["aws:SecureTransport"], "false");
    for (what, origins) in [
        (
            "API",
            &props(&t, "HttpApi")["CorsConfiguration"]["AllowOrigins"],
        ),
        (
            "bucket",
            &bucket["CorsConfiguration"]["CorsRules"][0]["AllowedOrigins"],
        ),
    ] {
        let (tag, args) =
            tagged(origins).unwrap_or_else(|| panic!("{what}: CORS origins not per stage"));
        assert_eq!(tag, "!If", "{what}");
        assert_eq!(args[0], "IsDev", "{what}");
        assert_eq!(args[1][0], "*", "{what}");
        assert_eq!(ref_to(&args[2][0]).as_deref(), Some("AppUrl"), "{what}");
    }
    // Locally (dev defaults) the API allows any origin.
    assert_eq!(t.cors().unwrap().allow_origins, ["*"]);
}

#[test]
fn public_auth_routes_have_their_own_lower_throttles() {
    let t = template();
    let api = props(&t, "HttpApi");
    let default_rate = api["DefaultRouteSettings"]["ThrottlingRateLimit"]
        .as_f64()
        .unwrap();
    let settings = &api["RouteSettings"];
    let mut checked = 0;
    for r in t.routes() {
        if r.authorizer.is_some() || !r.path.starts_with("/v1/auth/") {
            continue;
        }
        let s = &settings[r.route_key().as_str()];
        let rate = s["ThrottlingRateLimit"].as_f64().unwrap_or_else(|| {
            panic!(
                "public route {} has no RouteSettings throttle",
                r.route_key()
            )
        });
        assert!(rate < default_rate, "{}", r.route_key());
        assert!(
            s["ThrottlingBurstLimit"].as_u64().is_some(),
            "{}",
            r.route_key()
        );
        checked += 1;
    }
    assert!(checked >= 7, "{checked}");
    // Every RouteSettings key is a real route.
    let keys: BTreeSet<String> = t.routes().iter().map(|r| r.route_key()).collect();
    for (k, _) in settings.as_mapping().unwrap() {
        assert!(
            keys.contains(k.as_str().unwrap()),
            "RouteSettings for unknown route {k:?}"
        );
    }
}

#[test]
fn the_outbox_publisher_writes_its_refused_events_to_its_queue() {
    let t = template();
    let env = t.environment("OutboxPublisherFunction");
    assert_eq!(
        env.get("OUTBOX_DLQ_URL"),
        Some(&nexus_wiring::template::EnvValue::Ref(
            nexus_local::functions::OUTBOX_DEAD_LETTER_QUEUE.into()
        )),
        "the local registry writes to the same queue"
    );
    let sts = policies(&t, "OutboxPublisherFunction");
    assert!(sts.iter().any(|s| s.covers_action("sqs:SendMessage")
        && s.resources
            .iter()
            .any(|r| r.ends_with(":${OutboxEventDeadLetterQueue.QueueName}"))));
}

// ------------------------------------------------------------------ samconfig.toml

fn samconfig() -> toml::Table {
    let text = std::fs::read_to_string(nexus_devenv::repo_root().join("samconfig.toml")).unwrap();
    text.parse().expect("samconfig.toml parses")
}

/// `KEY=value` pairs of a string option (`parameter_overrides`, `tags`).
fn pairs(s: &str) -> BTreeMap<String, String> {
    s.split_whitespace()
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=value: {kv}"));
            (k.to_owned(), v.trim_matches('"').to_owned())
        })
        .collect()
}

#[test]
fn every_stage_is_configured_for_real_hosts_mail_alarms_and_tags() {
    let t = template();
    let cfg = samconfig();
    let mut mail_domains = BTreeSet::new();
    for (env, stage) in [("default", "dev"), ("staging", "staging"), ("prod", "prod")] {
        let deploy = &cfg[env]["deploy"]["parameters"];
        let p = pairs(deploy["parameter_overrides"].as_str().unwrap());
        for k in p.keys() {
            assert!(
                t.root()["Parameters"].get(k.as_str()).is_some(),
                "{env}: unknown parameter {k}"
            );
        }
        for (k, v) in t.root()["Parameters"].as_mapping().unwrap() {
            if v.get("Default").is_none() {
                assert!(
                    p.contains_key(k.as_str().unwrap()),
                    "{env}: {k:?} has no default and no value"
                );
            }
        }
        assert_eq!(p["Stage"], stage);
        for k in ["AppUrl", "JwtIssuer"] {
            let url = &p[k];
            assert!(url.starts_with("https://"), "{env}: {k}={url}");
            assert!(
                !url.contains(".local"),
                "{env}: {k}={url} is a placeholder host"
            );
        }
        let from = &p["MailFrom"];
        let domain = from.split_once('@').expect("MailFrom is an address").1;
        assert!(!domain.ends_with(".local"), "{env}: {from}");
        assert!(
            mail_domains.insert(domain.to_owned()),
            "stages share the SES identity {domain}"
        );
        let tags = pairs(deploy["tags"].as_str().unwrap());
        assert_eq!(
            tags.get("project").map(String::as_str),
            Some("nexus"),
            "{env}"
        );
        assert_eq!(tags.get("stage").map(String::as_str), Some(stage), "{env}");
        if stage != "dev" {
            assert!(
                p.get("AlarmTopicName").is_some_and(|n| !n.is_empty()),
                "{env}: alarms notify nobody"
            );
            assert_eq!(
                p["SearchIndexerConcurrency"], "1",
                "{env}: the indexer must be the single writer"
            );
            assert_eq!(deploy["confirm_changeset"].as_bool(), Some(true), "{env}");
        }
        let retention: u32 = p["LogRetentionDays"].parse().unwrap();
        assert!(retention >= 14, "{env}");
    }
    let prod = pairs(
        cfg["prod"]["deploy"]["parameters"]["parameter_overrides"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        prod["SesSandbox"], "false",
        "prod sends to anyone: SES production access"
    );
    assert!(
        !samconfig().to_string().contains("region"),
        "no regions in samconfig.toml"
    );
}
