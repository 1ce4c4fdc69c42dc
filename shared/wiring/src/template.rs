//! A reader for the parts of `template.yaml` the local platform runs: the
//! table, buckets, HTTP API routes and authorizer, stream sources and
//! EventBridge rules. Routes and wiring are never listed anywhere else.
//!
//! CloudFormation short-form tags (`!Ref`, `!GetAtt`, `!Sub`) arrive as YAML
//! tagged values; [`Template::resolve_ref`] maps the few we need.

use serde_yaml::Value;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("reading {0}: {1}")]
    Io(String, std::io::Error),
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

#[derive(Debug, Clone)]
pub struct Template {
    root: Value,
}

/// A function resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub logical_id: String,
    /// `functions/<name>`.
    pub code_uri: String,
    /// The crate name (last segment of `CodeUri`).
    pub name: String,
    pub timeout_secs: u64,
    pub memory_mb: u64,
}

/// An HTTP API route (`GET /v1/orgs/{orgId}`), or the `$default` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper-case method, or `ANY`.
    pub method: String,
    /// Path with `{param}` segments; `$default` for the catch-all.
    pub path: String,
    pub function: String,
    /// Authorizer name, `None` for public routes.
    pub authorizer: Option<String>,
}

impl Route {
    pub fn route_key(&self) -> String {
        if self.path == "$default" {
            "$default".into()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }
}

/// A Lambda REQUEST authorizer of the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer {
    pub name: String,
    pub function: String,
    pub simple_responses: bool,
    pub payload_version: String,
}

/// A DynamoDB stream event source.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamSource {
    pub function: String,
    pub batch_size: u32,
    pub batching_window_secs: u64,
    pub report_batch_item_failures: bool,
    pub maximum_retry_attempts: i64,
    /// Event filter patterns (JSON), as `FilterCriteria.Filters[].Pattern`.
    pub filters: Vec<serde_json::Value>,
}

/// An EventBridge rule targeting a function.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRule {
    pub function: String,
    pub name: String,
    pub pattern: serde_json::Value,
    pub maximum_retry_attempts: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cors {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<i64>,
}

/// The table as declared: key schema, GSIs, TTL and stream.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub logical_id: String,
    pub attributes: Vec<(String, String)>,
    pub hash_key: String,
    pub range_key: Option<String>,
    /// (name, hash, range)
    pub gsis: Vec<(String, String, Option<String>)>,
    pub ttl_attribute: Option<String>,
    pub stream_view_type: Option<String>,
}

/// A function's `EventInvokeConfig`: what Lambda does with a failed
/// asynchronous invocation (EventBridge rule and Scheduler targets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventInvokeConfig {
    /// 0–2 (Lambda's default is 2).
    pub maximum_retry_attempts: u32,
    /// Logical id of the `OnFailure` destination (`!GetAtt Queue.Arn`).
    pub on_failure: Option<String>,
}

/// The value `template.yaml` gives a function's environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    /// A literal (`SEARCH_SNAPSHOT_PREFIX: search/creators/`).
    Text(String),
    /// `!Ref X` or `!GetAtt X.Attr`: the logical id of a parameter or resource.
    Ref(String),
    /// Anything only CloudFormation resolves (`!Sub`, `!Join`, dynamic references).
    Expression,
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn to_json(v: &Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TemplateError::Io(path.display().to_string(), e))?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let root: Value = serde_yaml::from_str(text)?;
        if root.get("Resources").and_then(Value::as_mapping).is_none() {
            return Err(TemplateError::Shape("no Resources section".into()));
        }
        Ok(Self { root })
    }

    fn resources(&self) -> impl Iterator<Item = (String, &Value)> {
        self.root
            .get("Resources")
            .and_then(Value::as_mapping)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter_map(|(k, v)| Some((s(k)?, v)))
    }

    fn resources_of(&self, ty: &str) -> Vec<(String, &Value)> {
        self.resources()
            .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(ty))
            .collect()
    }

    fn global_function(&self, key: &str) -> Option<&Value> {
        self.root.get("Globals")?.get("Function")?.get(key)
    }

    /// The logical id a `!Ref X` / `!GetAtt X.Arn` / `{"Ref": X}` points at.
    pub fn resolve_ref(v: &Value) -> Option<String> {
        match v {
            Value::Tagged(t) if t.tag == "!Ref" => s(&t.value),
            Value::Tagged(t) if t.tag == "!GetAtt" => match &t.value {
                Value::String(x) => x.split('.').next().map(str::to_owned),
                Value::Sequence(xs) => xs.first().and_then(s),
                _ => None,
            },
            Value::Mapping(m) => {
                if let Some(r) = m.get("Ref") {
                    s(r)
                } else {
                    m.get("Fn::GetAtt").and_then(|g| match g {
                        Value::Sequence(xs) => xs.first().and_then(s),
                        Value::String(x) => x.split('.').next().map(str::to_owned),
                        _ => None,
                    })
                }
            }
            _ => None,
        }
    }

    pub fn functions(&self) -> Vec<Function> {
        let g_timeout = self
            .global_function("Timeout")
            .and_then(Value::as_u64)
            .unwrap_or(3);
        let g_memory = self
            .global_function("MemorySize")
            .and_then(Value::as_u64)
            .unwrap_or(128);
        self.resources_of("AWS::Serverless::Function")
            .into_iter()
            .filter_map(|(id, r)| {
                let p = r.get("Properties")?;
                let code_uri = p.get("CodeUri").and_then(s)?;
                Some(Function {
                    name: code_uri
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                    code_uri,
                    timeout_secs: p
                        .get("Timeout")
                        .and_then(Value::as_u64)
                        .unwrap_or(g_timeout),
                    memory_mb: p
                        .get("MemorySize")
                        .and_then(Value::as_u64)
                        .unwrap_or(g_memory),
                    logical_id: id,
                })
            })
            .collect()
    }

    /// A function's environment as deployed: `Globals.Function.Environment`
    /// overlaid with the function's own `Environment.Variables`.
    pub fn environment(&self, logical_id: &str) -> BTreeMap<String, EnvValue> {
        let own = self
            .resources()
            .find(|(id, _)| id == logical_id)
            .and_then(|(_, r)| r.get("Properties")?.get("Environment"));
        [self.global_function("Environment"), own]
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("Variables")?.as_mapping())
            .flat_map(|m| m.iter())
            .filter_map(|(k, v)| {
                let value = match (s(v), Self::resolve_ref(v)) {
                    (Some(text), _) => EnvValue::Text(text),
                    (None, Some(id)) => EnvValue::Ref(id),
                    (None, None) => EnvValue::Expression,
                };
                Some((s(k)?, value))
            })
            .collect()
    }

    /// The whole template, for checks this model does not cover (tests).
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// A resource by logical id.
    pub fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.root.get("Resources")?.get(logical_id)
    }

    /// `(logical id, resource)` of every resource of type `ty`, in template order.
    pub fn resources_of_type(&self, ty: &str) -> Vec<(String, &Value)> {
        self.resources_of(ty)
    }

    /// The value of a named condition (`Conditions:`), evaluated with the
    /// parameters' defaults (the dev stage, which the local platform mirrors).
    /// `None` for an unknown condition or a construct this reader does not
    /// evaluate (`!Equals`, `!Not`, `!And`, `!Or`, `!Condition` over literals
    /// and `!Ref <parameter>` are supported).
    pub fn condition(&self, name: &str) -> Option<bool> {
        self.condition_depth(name, 0)
    }

    fn condition_depth(&self, name: &str, depth: usize) -> Option<bool> {
        if depth > 16 {
            return None;
        }
        let c = self.root.get("Conditions")?.get(name)?;
        self.eval_condition(c, depth + 1)
    }

    fn eval_condition(&self, v: &Value, depth: usize) -> Option<bool> {
        let Value::Tagged(t) = v else {
            return None;
        };
        let args = || t.value.as_sequence().cloned().unwrap_or_default();
        match t.tag.to_string().as_str() {
            "!Equals" => {
                let a = args();
                let (x, y) = (a.first()?, a.get(1)?);
                Some(self.scalar(x)? == self.scalar(y)?)
            }
            "!Not" => Some(!self.eval_condition(args().first()?, depth)?),
            "!And" => args()
                .iter()
                .map(|c| self.eval_condition(c, depth))
                .try_fold(true, |acc, c| Some(acc && c?)),
            "!Or" => args()
                .iter()
                .map(|c| self.eval_condition(c, depth))
                .try_fold(false, |acc, c| Some(acc || c?)),
            "!Condition" => self.condition_depth(&s(&t.value)?, depth),
            _ => None,
        }
    }

    /// A literal, or a parameter's default through `!Ref`.
    fn scalar(&self, v: &Value) -> Option<String> {
        match v {
            Value::Tagged(t) if t.tag == "!Ref" => self.parameter_default(&s(&t.value)?),
            other => s(other),
        }
    }

    /// `!If [condition, then, else]` resolved with [`Template::condition`];
    /// any other value as it is.
    pub fn resolve_if<'a>(&'a self, v: &'a Value) -> &'a Value {
        if let Value::Tagged(t) = v {
            if t.tag == "!If" {
                if let Some([c, yes, no]) = t.value.as_sequence().map(Vec::as_slice) {
                    if let Some(holds) = s(c).and_then(|c| self.condition(&c)) {
                        return self.resolve_if(if holds { yes } else { no });
                    }
                }
            }
        }
        v
    }

    /// A function's `EventInvokeConfig`, if it declares one.
    pub fn event_invoke_config(&self, logical_id: &str) -> Option<EventInvokeConfig> {
        let c = self
            .resource(logical_id)?
            .get("Properties")?
            .get("EventInvokeConfig")?;
        Some(EventInvokeConfig {
            maximum_retry_attempts: c
                .get("MaximumRetryAttempts")
                .and_then(Value::as_u64)
                .map_or(2, |n| n.min(2) as u32),
            on_failure: c
                .get("DestinationConfig")
                .and_then(|d| d.get("OnFailure"))
                .and_then(|o| o.get("Destination"))
                .and_then(Self::resolve_ref),
        })
    }

    /// The `Default` of a template parameter.
    pub fn parameter_default(&self, name: &str) -> Option<String> {
        self.root
            .get("Parameters")?
            .get(name)?
            .get("Default")
            .and_then(s)
    }

    fn events_of<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = (String, &'a Value)> + 'a {
        self.resources_of("AWS::Serverless::Function")
            .into_iter()
            .flat_map(move |(id, r)| {
                r.get("Properties")
                    .and_then(|p| p.get("Events"))
                    .and_then(Value::as_mapping)
                    .into_iter()
                    .flat_map(|m| m.values())
                    .filter(move |e| e.get("Type").and_then(Value::as_str) == Some(ty))
                    .filter_map(|e| e.get("Properties").map(|p| (p, e)))
                    .map(|(p, _)| (id.clone(), p))
                    .collect::<Vec<_>>()
            })
    }

    fn http_api(&self) -> Option<&Value> {
        self.resources_of("AWS::Serverless::HttpApi")
            .into_iter()
            .next()
            .map(|(_, r)| r)
            .and_then(|r| r.get("Properties"))
    }

    pub fn default_authorizer(&self) -> Option<String> {
        self.http_api()?
            .get("Auth")?
            .get("DefaultAuthorizer")
            .and_then(s)
    }

    pub fn authorizers(&self) -> Vec<Authorizer> {
        let Some(m) = self
            .http_api()
            .and_then(|a| a.get("Auth"))
            .and_then(|a| a.get("Authorizers"))
            .and_then(Value::as_mapping)
        else {
            return vec![];
        };
        m.iter()
            .filter_map(|(k, v)| {
                Some(Authorizer {
                    name: s(k)?,
                    function: v.get("FunctionArn").and_then(Self::resolve_ref)?,
                    simple_responses: v
                        .get("EnableSimpleResponses")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    payload_version: v
                        .get("AuthorizerPayloadFormatVersion")
                        .and_then(s)
                        .unwrap_or_else(|| "2.0".into()),
                })
            })
            .collect()
    }

    /// Every HTTP API route, in template order. An event without `Path` and
    /// `Method` is the `$default` route.
    pub fn routes(&self) -> Vec<Route> {
        let default_auth = self.default_authorizer();
        self.events_of("HttpApi")
            .map(|(function, p)| {
                let authorizer = match p.get("Auth").and_then(|a| a.get("Authorizer")).and_then(s) {
                    Some(a) if a == "NONE" => None,
                    Some(a) => Some(a),
                    None => default_auth.clone(),
                };
                let path = p
                    .get("Path")
                    .and_then(s)
                    .unwrap_or_else(|| "$default".into());
                let method = p
                    .get("Method")
                    .and_then(s)
                    .map(|m| m.to_uppercase())
                    .unwrap_or_else(|| "ANY".into());
                Route {
                    method,
                    path,
                    function,
                    authorizer,
                }
            })
            .collect()
    }

    pub fn cors(&self) -> Option<Cors> {
        let c = self.http_api()?.get("CorsConfiguration")?;
        let list = |k: &str| -> Vec<String> {
            c.get(k)
                .map(|v| self.resolve_if(v))
                .and_then(Value::as_sequence)
                .map(|xs| xs.iter().filter_map(s).collect())
                .unwrap_or_default()
        };
        Some(Cors {
            allow_origins: list("AllowOrigins"),
            allow_methods: list("AllowMethods"),
            allow_headers: list("AllowHeaders"),
            expose_headers: list("ExposeHeaders"),
            max_age: c.get("MaxAge").and_then(Value::as_i64),
        })
    }

    pub fn stream_sources(&self) -> Vec<StreamSource> {
        self.events_of("DynamoDB")
            .map(|(function, p)| StreamSource {
                function,
                batch_size: p.get("BatchSize").and_then(Value::as_u64).unwrap_or(100) as u32,
                batching_window_secs: p
                    .get("MaximumBatchingWindowInSeconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                report_batch_item_failures: p
                    .get("FunctionResponseTypes")
                    .and_then(Value::as_sequence)
                    .is_some_and(|xs| {
                        xs.iter()
                            .any(|x| x.as_str() == Some("ReportBatchItemFailures"))
                    }),
                maximum_retry_attempts: p
                    .get("MaximumRetryAttempts")
                    .and_then(Value::as_i64)
                    .unwrap_or(-1),
                filters: p
                    .get("FilterCriteria")
                    .and_then(|f| f.get("Filters"))
                    .and_then(Value::as_sequence)
                    .map(|fs| {
                        fs.iter()
                            .filter_map(|f| f.get("Pattern"))
                            .filter_map(|pat| match pat {
                                Value::String(text) => serde_json::from_str(text).ok(),
                                other => Some(to_json(other)),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    pub fn event_rules(&self) -> Vec<EventRule> {
        let mut n = BTreeMap::<String, usize>::new();
        self.events_of("EventBridgeRule")
            .map(|(function, p)| {
                let i = n.entry(function.clone()).or_default();
                *i += 1;
                EventRule {
                    name: p
                        .get("RuleName")
                        .and_then(s)
                        .unwrap_or_else(|| format!("{function}-rule-{i}")),
                    pattern: p
                        .get("Pattern")
                        .map(to_json)
                        .unwrap_or(serde_json::Value::Null),
                    maximum_retry_attempts: p
                        .get("RetryPolicy")
                        .and_then(|r| r.get("MaximumRetryAttempts"))
                        .and_then(Value::as_u64)
                        .unwrap_or(185) as u32,
                    function,
                }
            })
            .collect()
    }

    /// Logical ids of the functions EventBridge Scheduler may invoke: every
    /// `!GetAtt <Function>.Arn` in a `lambda:InvokeFunction` statement of an
    /// `AWS::IAM::Role` trusted by `scheduler.amazonaws.com` (inline `Policies`).
    pub fn scheduler_targets(&self) -> Vec<String> {
        fn list(v: Option<&Value>) -> Vec<&Value> {
            match v {
                Some(Value::Sequence(xs)) => xs.iter().collect(),
                Some(v) => vec![v],
                None => vec![],
            }
        }
        let functions: Vec<String> = self
            .resources_of("AWS::Serverless::Function")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let mut out = vec![];
        for (_, role) in self.resources_of("AWS::IAM::Role") {
            let Some(p) = role.get("Properties") else {
                continue;
            };
            let trusted = list(
                p.get("AssumeRolePolicyDocument")
                    .and_then(|d| d.get("Statement")),
            )
            .into_iter()
            .any(|st| {
                list(st.get("Principal").and_then(|p| p.get("Service")))
                    .into_iter()
                    .any(|svc| svc.as_str() == Some("scheduler.amazonaws.com"))
            });
            if !trusted {
                continue;
            }
            for policy in list(p.get("Policies")) {
                for st in list(
                    policy
                        .get("PolicyDocument")
                        .and_then(|d| d.get("Statement")),
                ) {
                    let invokes = list(st.get("Action"))
                        .into_iter()
                        .any(|a| a.as_str() == Some("lambda:InvokeFunction"));
                    if !invokes || st.get("Effect").and_then(Value::as_str) != Some("Allow") {
                        continue;
                    }
                    for r in list(st.get("Resource")) {
                        if let Some(id) = Self::resolve_ref(r).filter(|id| functions.contains(id)) {
                            if !out.contains(&id) {
                                out.push(id);
                            }
                        }
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Logical ids of S3 buckets.
    pub fn buckets(&self) -> Vec<String> {
        self.resources_of("AWS::S3::Bucket")
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// The single DynamoDB table.
    pub fn table(&self) -> Result<TableDef, TemplateError> {
        let (logical_id, r) = self
            .resources_of("AWS::DynamoDB::Table")
            .into_iter()
            .next()
            .ok_or_else(|| TemplateError::Shape("no AWS::DynamoDB::Table".into()))?;
        let p = r
            .get("Properties")
            .ok_or_else(|| TemplateError::Shape("table has no Properties".into()))?;
        let seq = |k: &str| {
            p.get(k)
                .and_then(Value::as_sequence)
                .cloned()
                .unwrap_or_default()
        };
        let attributes = seq("AttributeDefinitions")
            .iter()
            .filter_map(|a| {
                Some((
                    a.get("AttributeName").and_then(s)?,
                    a.get("AttributeType").and_then(s)?,
                ))
            })
            .collect();
        let keys = |ks: &[Value]| {
            let find = |t: &str| {
                ks.iter()
                    .find(|k| k.get("KeyType").and_then(Value::as_str) == Some(t))
                    .and_then(|k| k.get("AttributeName"))
                    .and_then(s)
            };
            (find("HASH"), find("RANGE"))
        };
        let (hash, range_key) = keys(&seq("KeySchema"));
        let gsis = seq("GlobalSecondaryIndexes")
            .iter()
            .filter_map(|g| {
                let (h, r) = keys(
                    g.get("KeySchema")
                        .and_then(Value::as_sequence)
                        .map(Vec::as_slice)
                        .unwrap_or_default(),
                );
                Some((g.get("IndexName").and_then(s)?, h?, r))
            })
            .collect();
        Ok(TableDef {
            logical_id,
            attributes,
            hash_key: hash.ok_or_else(|| TemplateError::Shape("table has no HASH key".into()))?,
            range_key,
            gsis,
            ttl_attribute: p
                .get("TimeToLiveSpecification")
                .filter(|t| t.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
                .and_then(|t| t.get("AttributeName"))
                .and_then(s),
            stream_view_type: p
                .get("StreamSpecification")
                .and_then(|t| t.get("StreamViewType"))
                .and_then(s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_targets_are_the_functions_a_scheduler_role_may_invoke() {
        let t = Template::parse(
            r#"
Resources:
  Reminders:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/reminders
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt Failures.Arn}
  Other:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/other}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: scheduler.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: lambda:InvokeFunction
                Resource:
                  - !GetAtt Reminders.Arn
  LambdaRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {Service: [lambda.amazonaws.com]}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [lambda:InvokeFunction]
                Resource: !GetAtt Other.Arn
"#,
        )
        .unwrap();
        assert_eq!(t.scheduler_targets(), ["Reminders"]);
        assert_eq!(
            t.event_invoke_config("Reminders"),
            Some(EventInvokeConfig {
                maximum_retry_attempts: 1,
                on_failure: Some("Failures".into())
            })
        );
        assert_eq!(t.event_invoke_config("Other"), None);
    }

    #[test]
    fn conditions_are_evaluated_with_parameter_defaults() {
        let t = Template::parse(
            r#"
Parameters:
  Stage: {Type: String, Default: dev}
  Topic: {Type: String, Default: ''}
  Count: {Type: Number, Default: 0}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
  IsProd: !Equals [prod, !Ref Stage]
  HasTopic: !Not [!Equals [!Ref Topic, '']]
  Reserve: !Not [!Equals [!Ref Count, '0']]
  DevWithoutTopic: !And [!Condition IsDev, !Not [!Condition HasTopic]]
  Either: !Or [!Condition IsProd, !Condition HasTopic]
  Loop: !Condition Loop
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: !If [IsDev, ['*'], [!Ref AppUrl]]
        AllowMethods: !If [IsProd, [GET], !If [IsDev, [GET, POST], []]]
"#,
        )
        .unwrap();
        let c = |n: &str| t.condition(n);
        assert_eq!(c("IsDev"), Some(true));
        assert_eq!(c("IsProd"), Some(false));
        assert_eq!(c("HasTopic"), Some(false));
        assert_eq!(c("Reserve"), Some(false));
        assert_eq!(c("DevWithoutTopic"), Some(true));
        assert_eq!(c("Either"), Some(false));
        assert_eq!(c("Loop"), None, "recursion is bounded");
        assert_eq!(c("Missing"), None);
        let cors = t.cors().unwrap();
        assert_eq!(cors.allow_origins, ["*"]);
        assert_eq!(cors.allow_methods, ["GET", "POST"]);
    }

    #[test]
    fn a_function_environment_is_the_globals_overlaid_with_its_own() {
        let t = Template::parse(
            r#"
Parameters:
  Stage: {Type: String, Default: dev}
Globals:
  Function:
    Environment:
      Variables:
        STAGE: !Ref Stage
        TABLE_NAME: !Ref Table
        KEY: !Sub '{{resolve:secretsmanager:${Secret}}}'
        PREFIX: global/
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fn
      Environment:
        Variables:
          PREFIX: own/
          TARGET_ARN: !GetAtt Other.Arn
          RETRIES: 3
  Other:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/other}
"#,
        )
        .unwrap();
        let env = t.environment("Fn");
        let got: Vec<(&str, &EnvValue)> = env.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(
            got,
            [
                ("KEY", &EnvValue::Expression),
                ("PREFIX", &EnvValue::Text("own/".into())),
                ("RETRIES", &EnvValue::Text("3".into())),
                ("STAGE", &EnvValue::Ref("Stage".into())),
                ("TABLE_NAME", &EnvValue::Ref("Table".into())),
                ("TARGET_ARN", &EnvValue::Ref("Other".into())),
            ]
        );
        assert_eq!(t.environment("Other").len(), 4, "globals only");
        assert_eq!(t.parameter_default("Stage").as_deref(), Some("dev"));
        assert_eq!(t.parameter_default("Table"), None);
    }
}
