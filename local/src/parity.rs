//! Parity with IAM: the local platform refuses (or warns about) what AWS
//! would refuse because a function's `Policies` in template.yaml do not
//! allow it.
//!
//! Each function gets a [`Guard`]: its statements
//! ([`Template::function_policies`]) resolved to the local names of the
//! resources ([`LocalNames`]). Two places consult it:
//!
//! - the SDK clients a function gets (DynamoDB, S3) carry a
//!   [`ParityInterceptor`], which reads the signed-to-be request (operation,
//!   URI, JSON body) and maps it to IAM actions and resource ARNs
//!   ([`dynamodb_requests`], [`s3_requests`]) — presigned URLs included,
//!   since a browser's upload runs with the function's permissions;
//! - thin wrappers around the local stand-ins for the other services (event
//!   bus, scheduler, mailer, cipher, dead-letter queues) check the action a
//!   real adapter would call ([`crate::parity::guarded`]).
//!
//! A refusal is always logged as a `parity` warning and recorded
//! ([`Parity::violations`]). With [`ParityMode::Refuse`] (tests) the call
//! also fails, as `AccessDeniedException` would on AWS; with
//! [`ParityMode::Warn`] (`make dev`) it proceeds.
//!
//! Conditions are evaluated for the keys a local call knows
//! (`nexus_wiring::policy::CHECKED_KEYS`); others count as met. Resource
//! policies (bucket, queue, key policies), SCPs and permission boundaries
//! are not modelled.

use std::fmt;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use nexus_wiring::policy::{Permissions, Request};
use nexus_wiring::template::Template;
use serde_json::Value;

/// What a refused call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParityMode {
    /// Log a `parity` warning and let the call proceed (`make dev`).
    Warn,
    /// Log, and fail the call like AWS (tests).
    Refuse,
}

/// A call AWS would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The function's logical id.
    pub function: String,
    pub action: String,
    pub resource: String,
    pub reason: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} may not call {} on {}: {} (template.yaml Policies of {})",
            self.function, self.action, self.resource, self.reason, self.function
        )
    }
}

/// The platform-wide record of refusals.
#[derive(Debug)]
pub struct Parity {
    mode: ParityMode,
    violations: Mutex<Vec<Violation>>,
}

impl Parity {
    pub fn new(mode: ParityMode) -> Arc<Self> {
        Arc::new(Self {
            mode,
            violations: Mutex::new(vec![]),
        })
    }

    pub fn mode(&self) -> ParityMode {
        self.mode
    }

    /// Every refusal so far (each distinct one once), oldest first.
    pub fn violations(&self) -> Vec<Violation> {
        self.violations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record(&self, v: Violation) {
        let mut all = self.violations.lock().unwrap_or_else(|e| e.into_inner());
        if !all.contains(&v) {
            tracing::warn!(target: "parity", function = %v.function, action = %v.action, resource = %v.resource, "{v}");
            if self.mode == ParityMode::Refuse {
                // Shown with a failing test's output.
                eprintln!("parity: {v}");
            }
            all.push(v);
        }
    }
}

/// The names local resources have, by template logical id: what
/// `${X}` / `${X.Attr}` placeholders resolve to locally.
#[derive(Debug, Clone, Default)]
pub struct LocalNames {
    /// Logical id (`Table`, `MediaBucket`, …) → `Ref` value.
    pub refs: std::collections::BTreeMap<String, String>,
    /// `Logical.Attr` → value.
    pub attrs: std::collections::BTreeMap<String, String>,
}

impl LocalNames {
    /// The local platform's resources: the table, buckets (`(name, logical
    /// id)`), the bus, the schedule group, and the parameters: `parameters`
    /// (the local platform's own values, e.g. `MailFrom`), else their
    /// defaults (the local platform runs the dev stage). The SES identity is
    /// `MailFrom`'s domain, as in the template.
    pub fn for_platform(
        template: &Template,
        parameters: &[(&str, String)],
        table: &str,
        buckets: &[(String, String)],
        bus: &str,
        schedule_group: &str,
    ) -> Self {
        let mut names = Self::default();
        if let Some(params) = template
            .root()
            .get("Parameters")
            .and_then(|p| p.as_mapping())
        {
            for k in params.keys().filter_map(|k| k.as_str()) {
                if let Some(v) = template.parameter_default(k) {
                    names.refs.insert(k.to_owned(), v);
                }
            }
        }
        for (k, v) in parameters {
            names.refs.insert((*k).to_owned(), v.clone());
        }
        let (region, account) = (crate::REGION, crate::ACCOUNT_ID);
        let mut one = |ty: &str, name: &str, arn: String| {
            for (id, _) in template.resources_of_type(ty) {
                names.refs.insert(id.clone(), name.to_owned());
                names.attrs.insert(format!("{id}.Arn"), arn.clone());
            }
        };
        one("AWS::DynamoDB::Table", table, table_arn(table));
        one(
            "AWS::Events::EventBus",
            bus,
            format!("arn:aws:events:{region}:{account}:event-bus/{bus}"),
        );
        one(
            "AWS::Scheduler::ScheduleGroup",
            schedule_group,
            format!("arn:aws:scheduler:{region}:{account}:schedule-group/{schedule_group}"),
        );
        for (id, _) in template.resources_of_type("AWS::DynamoDB::Table") {
            names.attrs.insert(
                format!("{id}.StreamArn"),
                format!("{}/stream/local", table_arn(table)),
            );
        }
        for (name, id) in buckets {
            names.refs.insert(id.clone(), name.clone());
            names
                .attrs
                .insert(format!("{id}.Arn"), format!("arn:aws:s3:::{name}"));
        }
        let domain = names
            .refs
            .get("MailFrom")
            .and_then(|m| m.rsplit_once('@'))
            .map(|(_, d)| d.to_owned());
        if let Some(domain) = domain {
            for (id, _) in template.resources_of_type("AWS::SES::EmailIdentity") {
                names.refs.insert(id, domain.clone());
            }
        }
        names
    }

    /// Resolve a placeholder (pseudo parameters, `X`, `X.Attr`); unknown
    /// queues, functions and secrets get their local ARNs by convention.
    pub fn lookup(&self, template: &Template, name: &str) -> Option<String> {
        match name {
            "AWS::Partition" => return Some("aws".into()),
            "AWS::Region" => return Some(crate::REGION.into()),
            "AWS::AccountId" => return Some(crate::ACCOUNT_ID.into()),
            "AWS::URLSuffix" => return Some("amazonaws.com".into()),
            _ => {}
        }
        if let Some(v) = self.attrs.get(name).or_else(|| self.refs.get(name)) {
            return Some(v.clone());
        }
        let (id, attr) = name.split_once('.').unwrap_or((name, ""));
        let ty = template.resource(id)?.get("Type")?.as_str()?.to_owned();
        Some(match (ty.as_str(), attr) {
            ("AWS::SQS::Queue", "Arn") => crate::queue_arn(id),
            ("AWS::SQS::Queue", "QueueName") => id.to_owned(),
            ("AWS::SQS::Queue", "") => format!("http://sqs.local/{}/{id}", crate::ACCOUNT_ID),
            ("AWS::Serverless::Function", "Arn") => crate::function_arn(id),
            ("AWS::Serverless::Function", "") => id.to_owned(),
            ("AWS::IAM::Role", "Arn") => {
                format!("arn:aws:iam::{}:role/{id}", crate::ACCOUNT_ID)
            }
            ("AWS::SecretsManager::Secret", "") => format!(
                "arn:aws:secretsmanager:{}:{}:secret:{id}",
                crate::REGION,
                crate::ACCOUNT_ID
            ),
            ("AWS::KMS::Key", "") => id.to_owned(),
            ("AWS::KMS::Key", "Arn") => {
                format!(
                    "arn:aws:kms:{}:{}:key/{id}",
                    crate::REGION,
                    crate::ACCOUNT_ID
                )
            }
            _ => return None,
        })
    }
}

/// One function's view: what its role allows, and where refusals go.
#[derive(Clone)]
pub struct Guard {
    function: String,
    permissions: Arc<Permissions>,
    parity: Arc<Parity>,
    /// The table's partition key attribute (for `dynamodb:LeadingKeys`).
    hash_key: String,
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guard({})", self.function)
    }
}

impl Guard {
    /// The guard of template function `logical_id`.
    pub fn for_function(
        template: &Template,
        logical_id: &str,
        names: &LocalNames,
        parity: Arc<Parity>,
    ) -> Result<Self, String> {
        let statements = template.function_policies(logical_id)?;
        let permissions = Permissions::resolve(&statements, &|n| names.lookup(template, n));
        Ok(Self {
            function: logical_id.to_owned(),
            permissions: Arc::new(permissions),
            parity,
            hash_key: template
                .table()
                .map(|t| t.hash_key)
                .unwrap_or_else(|_| "PK".into()),
        })
    }

    /// A guard that allows nothing and records under `function` (tests).
    pub fn from_permissions(function: &str, permissions: Permissions, parity: Arc<Parity>) -> Self {
        Self {
            function: function.to_owned(),
            permissions: Arc::new(permissions),
            parity,
            hash_key: "PK".into(),
        }
    }

    pub fn function(&self) -> &str {
        &self.function
    }

    pub fn hash_key(&self) -> &str {
        &self.hash_key
    }

    /// Check every request; `Err` (with the first reason) only in
    /// [`ParityMode::Refuse`].
    pub fn check(&self, requests: &[Request]) -> Result<(), String> {
        let mut refused = None;
        for r in requests {
            if let Err(reason) = self.permissions.check(r) {
                let v = Violation {
                    function: self.function.clone(),
                    action: r.action.clone(),
                    resource: r.resource.clone(),
                    reason,
                };
                refused.get_or_insert_with(|| v.to_string());
                self.parity.record(v);
            }
        }
        match (refused, self.parity.mode) {
            (Some(why), ParityMode::Refuse) => Err(format!("AccessDeniedException: {why}")),
            _ => Ok(()),
        }
    }
}

/// The SDK side: maps each request of a DynamoDB or S3 client to IAM
/// actions and checks them before it is signed.
#[derive(Debug, Clone)]
pub struct ParityInterceptor(pub Guard);

impl Intercept for ParityInterceptor {
    fn name(&self) -> &'static str {
        "nexus-local-parity"
    }

    fn read_before_signing(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let req = context.request();
        let requests = match meta.service().to_ascii_lowercase().as_str() {
            "dynamodb" => {
                let body: Value = req
                    .body()
                    .bytes()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                dynamodb_requests(meta.name(), &body, self.0.hash_key())
            }
            "s3" => s3_requests(meta.name(), req.uri()),
            other => vec![Request::new(format!("{other}:{}", meta.name()), "*")],
        };
        self.0.check(&requests).map_err(BoxError::from)
    }
}

fn table_arn(table: &str) -> String {
    format!(
        "arn:aws:dynamodb:{}:{}:table/{table}",
        crate::REGION,
        crate::ACCOUNT_ID
    )
}

/// The partition key value of an item or key (`{"PK": {"S": "…"}}`).
fn leading_key(item: &Value, hash_key: &str) -> Option<String> {
    let v = &item[hash_key];
    v["S"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| v["N"].as_str().map(str::to_owned))
}

fn item_request(action: &str, table: &str, key: Option<&Value>, hash_key: &str) -> Request {
    let r = Request::new(format!("dynamodb:{action}"), table_arn(table));
    match key.and_then(|k| leading_key(k, hash_key)) {
        Some(k) => r.with("dynamodb:LeadingKeys", vec![k]),
        None => r,
    }
}

/// IAM requests of one DynamoDB operation (its JSON request body).
/// Transactions are authorized per item with the item actions, batches by
/// their own action on each table; `Query`/`Scan` on an index by the
/// index's ARN.
pub fn dynamodb_requests(operation: &str, body: &Value, hash_key: &str) -> Vec<Request> {
    let table = body["TableName"].as_str().unwrap_or_default();
    match operation {
        "GetItem" | "UpdateItem" | "DeleteItem" => {
            vec![item_request(operation, table, Some(&body["Key"]), hash_key)]
        }
        "PutItem" => vec![item_request(
            operation,
            table,
            Some(&body["Item"]),
            hash_key,
        )],
        "Query" | "Scan" => {
            let resource = match body["IndexName"].as_str() {
                Some(index) => format!("{}/index/{index}", table_arn(table)),
                None => table_arn(table),
            };
            vec![Request::new(format!("dynamodb:{operation}"), resource)]
        }
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, action, key) = [
                    ("Put", "PutItem", "Item"),
                    ("Update", "UpdateItem", "Key"),
                    ("Delete", "DeleteItem", "Key"),
                    ("ConditionCheck", "ConditionCheckItem", "Key"),
                ]
                .into_iter()
                .find(|(k, _, _)| item.get(*k).is_some())?;
                let op = &item[kind];
                Some(item_request(
                    action,
                    op["TableName"].as_str().unwrap_or_default(),
                    Some(&op[key]),
                    hash_key,
                ))
            })
            .collect(),
        "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| {
                let op = &item["Get"];
                item_request(
                    "GetItem",
                    op["TableName"].as_str().unwrap_or_default(),
                    Some(&op["Key"]),
                    hash_key,
                )
            })
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(t, _)| Request::new(format!("dynamodb:{operation}"), table_arn(t)))
            .collect(),
        other => vec![Request::new(format!("dynamodb:{other}"), table_arn(table))],
    }
}

/// IAM requests of one S3 operation (path-style URI, as the local clients
/// use). `HeadObject` needs `s3:GetObject`, listing `s3:ListBucket` on the
/// bucket with `s3:prefix`, multipart uploads `s3:PutObject`.
pub fn s3_requests(operation: &str, uri: &str) -> Vec<Request> {
    let parsed = url::Url::parse(uri)
        .or_else(|_| url::Url::parse(&format!("http://local{uri}")))
        .ok();
    let path = parsed
        .as_ref()
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let path = percent_decode(path.trim_start_matches('/'));
    let (bucket, key) = path.split_once('/').unwrap_or((path.as_str(), ""));
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let object_arn = format!("{bucket_arn}/{key}");
    let query = |name: &str| {
        parsed.as_ref().and_then(|u| {
            u.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        })
    };
    match operation {
        "GetObject" | "HeadObject" | "GetObjectAttributes" => {
            vec![Request::new("s3:GetObject", object_arn)]
        }
        "PutObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" => {
            vec![Request::new("s3:PutObject", object_arn)]
        }
        "CopyObject" => vec![Request::new("s3:PutObject", object_arn)],
        "DeleteObject" => vec![Request::new("s3:DeleteObject", object_arn)],
        "AbortMultipartUpload" => vec![Request::new("s3:AbortMultipartUpload", object_arn)],
        "ListObjectsV2" | "ListObjects" => vec![Request::new("s3:ListBucket", bucket_arn)
            .with("s3:prefix", vec![query("prefix").unwrap_or_default()])],
        other => vec![Request::new(format!("s3:{other}"), bucket_arn)],
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("k={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dynamodb_operations_map_to_item_actions_with_their_leading_keys() {
        let get = dynamodb_requests(
            "GetItem",
            &json!({"TableName": "t", "Key": {"PK": {"S": "HEALTH"}, "SK": {"S": "HEALTH"}}}),
            "PK",
        );
        assert_eq!(get[0].action, "dynamodb:GetItem");
        assert_eq!(
            get[0].resource,
            "arn:aws:dynamodb:us-east-1:000000000000:table/t"
        );
        assert_eq!(
            get[0].context,
            [(
                "dynamodb:LeadingKeys".to_string(),
                vec!["HEALTH".to_string()]
            )]
        );
        let q = dynamodb_requests(
            "Query",
            &json!({"TableName": "t", "IndexName": "GSI1"}),
            "PK",
        );
        assert!(q[0].resource.ends_with("table/t/index/GSI1"));
        let tx = dynamodb_requests(
            "TransactWriteItems",
            &json!({"TransactItems": [
                {"Put": {"TableName": "t", "Item": {"PK": {"S": "A"}}}},
                {"Update": {"TableName": "t", "Key": {"PK": {"S": "B"}}}},
                {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "C"}}}},
                {"Delete": {"TableName": "u", "Key": {"PK": {"S": "D"}}}}
            ]}),
            "PK",
        );
        let actions: Vec<_> = tx.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem"
            ]
        );
        assert!(tx[3].resource.ends_with("table/u"));
        let batch = dynamodb_requests("BatchGetItem", &json!({"RequestItems": {"t": {}}}), "PK");
        assert_eq!(batch[0].action, "dynamodb:BatchGetItem");
    }

    #[test]
    fn s3_operations_map_to_object_and_bucket_actions() {
        let get = s3_requests(
            "GetObject",
            "http://127.0.0.1:4566/b/search/creators/manifest.json?x-id=GetObject",
        );
        assert_eq!(get[0].action, "s3:GetObject");
        assert_eq!(
            get[0].resource,
            "arn:aws:s3:::b/search/creators/manifest.json"
        );
        let head = s3_requests("HeadObject", "http://127.0.0.1:4566/b/media/a%20b.jpg");
        assert_eq!(
            (head[0].action.as_str(), head[0].resource.as_str()),
            ("s3:GetObject", "arn:aws:s3:::b/media/a b.jpg")
        );
        let list = s3_requests(
            "ListObjectsV2",
            "http://127.0.0.1:4566/b?list-type=2&prefix=search%2Fcreators%2F",
        );
        assert_eq!(list[0].resource, "arn:aws:s3:::b");
        assert_eq!(list[0].context[0].1, ["search/creators/"]);
        assert_eq!(
            s3_requests("UploadPart", "/b/k?partNumber=1")[0].action,
            "s3:PutObject"
        );
    }

    #[test]
    fn a_guard_records_refusals_once_and_refuses_only_in_refuse_mode() {
        let t = Template::parse(
            r#"
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: PK, KeyType: HASH}]
  Queue:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBReadPolicy:
            TableName: !Ref Table
        - SQSSendMessagePolicy:
            QueueName: !GetAtt Queue.QueueName
"#,
        )
        .unwrap();
        let names = LocalNames {
            refs: [("Table".to_string(), "t".to_string())].into(),
            attrs: Default::default(),
        };
        for mode in [ParityMode::Warn, ParityMode::Refuse] {
            let parity = Parity::new(mode);
            let g = Guard::for_function(&t, "Fn", &names, parity.clone()).unwrap();
            let read = dynamodb_requests(
                "GetItem",
                &json!({"TableName": "t", "Key": {"PK": {"S": "x"}}}),
                "PK",
            );
            assert!(g.check(&read).is_ok());
            let send = Request::new("sqs:SendMessage", crate::queue_arn("Queue"));
            assert!(g.check(&[send]).is_ok(), "queue ARNs by convention");
            let write = dynamodb_requests(
                "PutItem",
                &json!({"TableName": "t", "Item": {"PK": {"S": "x"}}}),
                "PK",
            );
            let r1 = g.check(&write);
            let r2 = g.check(&write);
            assert_eq!(r1.is_err(), mode == ParityMode::Refuse);
            assert_eq!(r1, r2);
            if let Err(e) = r1 {
                assert!(
                    e.starts_with("AccessDeniedException: Fn may not call dynamodb:PutItem"),
                    "{e}"
                );
            }
            let v = parity.violations();
            assert_eq!(v.len(), 1, "recorded once: {v:?}");
            assert_eq!(v[0].action, "dynamodb:PutItem");
        }
    }
}

/// The local stand-ins wrapped so each call is checked as the real adapter's
/// AWS call would be.
pub mod guarded {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use async_trait::async_trait;
    use nexus_core::Error;
    use nexus_ports::cipher::Cipher;
    use nexus_ports::events::{DeadLetter, DeadLetterQueue, EventBus, OutboxEvent, PublishFailure};
    use nexus_ports::mail::{Email, Mailer};
    use nexus_ports::scheduler::{OneTimeSchedule, Scheduler};
    use nexus_search::{CreatorDoc, CreatorSearch, SearchError, SearchPage, SearchQuery};
    use nexus_wiring::policy::Request;

    use super::Guard;

    /// `events:PutEvents` on the bus.
    pub struct Bus {
        pub inner: Arc<dyn EventBus>,
        pub guard: Guard,
        pub bus_arn: String,
    }

    #[async_trait]
    impl EventBus for Bus {
        async fn publish(&self, events: &[OutboxEvent]) -> Result<Vec<PublishFailure>, String> {
            self.guard
                .check(&[Request::new("events:PutEvents", &self.bus_arn)])?;
            self.inner.publish(events).await
        }
    }

    /// `scheduler:CreateSchedule` / `DeleteSchedule` in the group, and
    /// `iam:PassRole` of the target's role to Scheduler.
    pub struct Schedules {
        pub inner: Arc<dyn Scheduler>,
        pub guard: Guard,
        pub group: String,
    }

    impl Schedules {
        fn arn(&self, name: &str) -> String {
            format!(
                "arn:aws:scheduler:{}:{}:schedule/{}/{name}",
                crate::REGION,
                crate::ACCOUNT_ID,
                self.group
            )
        }
    }

    #[async_trait]
    impl Scheduler for Schedules {
        async fn schedule_once(&self, s: &OneTimeSchedule) -> Result<(), Error> {
            self.guard
                .check(&[
                    Request::new("scheduler:CreateSchedule", self.arn(&s.name)),
                    Request::new("iam:PassRole", &s.target.role_arn).with(
                        "iam:PassedToService",
                        vec!["scheduler.amazonaws.com".into()],
                    ),
                ])
                .map_err(Error::Internal)?;
            self.inner.schedule_once(s).await
        }

        async fn cancel(&self, name: &str) -> Result<(), Error> {
            self.guard
                .check(&[Request::new("scheduler:DeleteSchedule", self.arn(name))])
                .map_err(Error::Internal)?;
            self.inner.cancel(name).await
        }
    }

    /// `ses:SendEmail` on the sender's identity (its domain), from its address.
    pub struct Mail {
        pub inner: Arc<dyn Mailer>,
        pub guard: Guard,
        /// The bare sender address (`MailFrom`).
        pub from: String,
    }

    #[async_trait]
    impl Mailer for Mail {
        async fn send(&self, email: &Email) -> Result<(), String> {
            let domain = self.from.rsplit('@').next().unwrap_or_default();
            self.guard.check(&[Request::new(
                "ses:SendEmail",
                format!(
                    "arn:aws:ses:{}:{}:identity/{domain}",
                    crate::REGION,
                    crate::ACCOUNT_ID
                ),
            )
            .with("ses:FromAddress", vec![self.from.clone()])])?;
            self.inner.send(email).await
        }
    }

    /// `kms:Encrypt` / `kms:Decrypt` on the data key.
    pub struct Keys {
        pub inner: Arc<dyn Cipher>,
        pub guard: Guard,
        pub key_arn: String,
    }

    #[async_trait]
    impl Cipher for Keys {
        async fn encrypt(
            &self,
            plaintext: &[u8],
            context: &BTreeMap<String, String>,
        ) -> Result<String, String> {
            self.guard
                .check(&[Request::new("kms:Encrypt", &self.key_arn)])?;
            self.inner.encrypt(plaintext, context).await
        }

        async fn decrypt(
            &self,
            ciphertext: &str,
            context: &BTreeMap<String, String>,
        ) -> Result<Vec<u8>, String> {
            self.guard
                .check(&[Request::new("kms:Decrypt", &self.key_arn)])?;
            self.inner.decrypt(ciphertext, context).await
        }
    }

    /// `sqs:SendMessage` on the queue.
    pub struct Queue {
        pub inner: Arc<dyn DeadLetterQueue>,
        pub guard: Guard,
        pub queue_arn: String,
    }

    #[async_trait]
    impl DeadLetterQueue for Queue {
        async fn send(&self, letter: &DeadLetter) -> Result<(), String> {
            self.guard
                .check(&[Request::new("sqs:SendMessage", &self.queue_arn)])?;
            self.inner.send(letter).await
        }
    }

    /// The creator index is one in-memory index locally; in AWS readers pull
    /// and the writer publishes S3 snapshots under the function's
    /// `SEARCH_SNAPSHOT_PREFIX` (`nexus_search::snapshot`). Each call is
    /// checked as those S3 calls: `GetObject` of the manifest (with
    /// `ListBucket` on its prefix, so a missing one is `NoSuchKey`) and, to
    /// write, `PutObject`.
    pub struct Search {
        pub inner: Arc<dyn CreatorSearch>,
        pub guard: Guard,
        pub bucket: String,
        pub prefix: String,
    }

    impl Search {
        fn check(&self, write: bool) -> Result<(), SearchError> {
            let manifest = format!("{}manifest.json", self.prefix);
            let object = format!("arn:aws:s3:::{}/{manifest}", self.bucket);
            let mut requests = vec![
                Request::new("s3:GetObject", &object),
                Request::new("s3:ListBucket", format!("arn:aws:s3:::{}", self.bucket))
                    .with("s3:prefix", vec![manifest.clone()]),
            ];
            if write {
                requests.push(Request::new("s3:PutObject", &object));
            }
            self.guard.check(&requests).map_err(SearchError::Backend)
        }
    }

    #[async_trait]
    impl CreatorSearch for Search {
        async fn upsert(&self, docs: Vec<CreatorDoc>) -> Result<(), SearchError> {
            self.check(true)?;
            self.inner.upsert(docs).await
        }

        async fn remove(&self, creator_id: &str) -> Result<(), SearchError> {
            self.check(true)?;
            self.inner.remove(creator_id).await
        }

        async fn search(&self, q: &SearchQuery) -> Result<SearchPage, SearchError> {
            self.check(false)?;
            self.inner.search(q).await
        }
    }
}
