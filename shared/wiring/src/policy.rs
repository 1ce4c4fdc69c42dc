//! What a function's `Policies` allow, as IAM statements: inline `Statement`s
//! and the SAM policy templates NEXUS uses, expanded to the action lists SAM
//! generates (`samtranslator/policy_templates_data/policy_templates.json`).
//!
//! Resources stay *patterns*: `${AWS::Partition}`, `${AWS::Region}`,
//! `${AWS::AccountId}` and `${Logical}` / `${Logical.Attr}` placeholders,
//! from `!Sub`, `!Ref X` (`${X}`) and `!GetAtt X.Attr` (`${X.Attr}`);
//! `!If` is resolved with the conditions' parameter defaults. Whoever checks
//! a call (the local platform's parity guard, template tests) substitutes
//! the placeholders with [`Statement::resources_with`] and matches with
//! [`arn_matches`].

use serde_yaml::Value;

use crate::template::Template;

/// One `Allow` (or `Deny`) statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub allow: bool,
    /// `service:Action`, possibly with `*` wildcards (`sqs:SendMessage*`).
    pub actions: Vec<String>,
    /// ARN patterns (see the module docs); `*` for any.
    pub resources: Vec<String>,
    /// The `Condition` block, one entry per operator and key.
    pub conditions: Vec<Condition>,
    /// Where it came from: `Statement` or the SAM template's name.
    pub origin: String,
}

/// One `Condition` test: `operator` (`StringEquals`, `ForAllValues:StringLike`,
/// …) on `key` against `values` (patterns, like resources).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// A SAM policy template: its parameter and its statements' actions and
/// resource patterns (with `{}` for the parameter's value).
struct SamTemplate {
    name: &'static str,
    parameter: &'static str,
    statements: &'static [(&'static [&'static str], &'static [&'static str])],
}

const DDB: &[&str] = &[
    "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/{}",
    "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/{}/index/*",
];
const S3: &[&str] = &[
    "arn:${AWS::Partition}:s3:::{}",
    "arn:${AWS::Partition}:s3:::{}/*",
];
const SQS: &[&str] = &["arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:{}"];
const KMS: &[&str] = &["arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/{}"];

/// The SAM policy templates this reader expands (others are an error, so a
/// new one is added here, with its actions copied from SAM, before use).
const SAM_TEMPLATES: &[SamTemplate] = &[
    SamTemplate {
        name: "DynamoDBCrudPolicy",
        parameter: "TableName",
        statements: &[(
            &[
                "dynamodb:GetItem",
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
                "dynamodb:ConditionCheckItem",
            ],
            DDB,
        )],
    },
    SamTemplate {
        name: "DynamoDBReadPolicy",
        parameter: "TableName",
        statements: &[(
            &[
                "dynamodb:GetItem",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
            ],
            DDB,
        )],
    },
    SamTemplate {
        name: "DynamoDBWritePolicy",
        parameter: "TableName",
        statements: &[(
            &[
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:BatchWriteItem",
            ],
            DDB,
        )],
    },
    SamTemplate {
        name: "S3ReadPolicy",
        parameter: "BucketName",
        statements: &[(
            &[
                "s3:GetObject",
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetObjectVersion",
                "s3:GetLifecycleConfiguration",
            ],
            S3,
        )],
    },
    SamTemplate {
        name: "S3CrudPolicy",
        parameter: "BucketName",
        statements: &[(
            &[
                "s3:GetObject",
                "s3:ListBucket",
                "s3:GetBucketLocation",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:PutObjectAcl",
                "s3:GetLifecycleConfiguration",
                "s3:PutLifecycleConfiguration",
                "s3:DeleteObject",
            ],
            S3,
        )],
    },
    SamTemplate {
        name: "SQSSendMessagePolicy",
        parameter: "QueueName",
        statements: &[(&["sqs:SendMessage*"], SQS)],
    },
    SamTemplate {
        name: "SQSPollerPolicy",
        parameter: "QueueName",
        statements: &[(
            &[
                "sqs:ChangeMessageVisibility",
                "sqs:ChangeMessageVisibilityBatch",
                "sqs:DeleteMessage",
                "sqs:DeleteMessageBatch",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            SQS,
        )],
    },
    SamTemplate {
        name: "EventBridgePutEventsPolicy",
        parameter: "EventBusName",
        statements: &[(
            &["events:PutEvents"],
            &["arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/{}"],
        )],
    },
    SamTemplate {
        name: "AWSSecretsManagerGetSecretValuePolicy",
        parameter: "SecretArn",
        statements: &[(&["secretsmanager:GetSecretValue"], &["{}"])],
    },
    SamTemplate {
        name: "KMSEncryptPolicy",
        parameter: "KeyId",
        statements: &[(&["kms:Encrypt"], KMS)],
    },
    SamTemplate {
        name: "KMSDecryptPolicy",
        parameter: "KeyId",
        statements: &[(&["kms:Decrypt"], KMS)],
    },
    SamTemplate {
        name: "LambdaInvokePolicy",
        parameter: "FunctionName",
        statements: &[(
            &["lambda:InvokeFunction"],
            &["arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:{}*"],
        )],
    },
    SamTemplate {
        name: "StepFunctionsExecutionPolicy",
        parameter: "StateMachineName",
        statements: &[(
            &["states:StartExecution"],
            &["arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:{}"],
        )],
    },
];

fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Sequence(xs)) => xs.iter().collect(),
        Some(Value::Null) | None => vec![],
        Some(v) => vec![v],
    }
}

impl Template {
    /// A value as an ARN pattern: literals, `!Sub` (string form), `!Ref X`
    /// (`${X}`), `!GetAtt X.Attr` (`${X.Attr}`), `!If` (resolved). `None`
    /// for a construct this reader does not evaluate.
    pub fn pattern(&self, v: &Value) -> Option<Vec<String>> {
        let v = self.resolve_if(v);
        match v {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Sequence(xs) => {
                let mut out = vec![];
                for x in xs {
                    out.extend(self.pattern(x)?);
                }
                Some(out)
            }
            Value::Tagged(t) => match t.tag.to_string().as_str() {
                "!Sub" => t.value.as_str().map(|s| vec![s.to_owned()]),
                "!Ref" => t.value.as_str().map(|s| vec![format!("${{{s}}}")]),
                "!GetAtt" => match &t.value {
                    Value::String(s) => Some(vec![format!("${{{s}}}")]),
                    Value::Sequence(xs) => {
                        let parts: Vec<&str> = xs.iter().filter_map(Value::as_str).collect();
                        Some(vec![format!("${{{}}}", parts.join("."))])
                    }
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    /// Every statement of a function's `Policies` (see the module docs).
    /// Errors name what could not be read (an unknown SAM template, a
    /// managed policy by name, an unevaluated intrinsic).
    pub fn function_policies(&self, logical_id: &str) -> Result<Vec<Statement>, String> {
        let Some(props) = self.resource(logical_id).and_then(|r| r.get("Properties")) else {
            return Err(format!("{logical_id} is not a resource with Properties"));
        };
        let mut out = vec![];
        for p in list(props.get("Policies")) {
            match p {
                Value::Mapping(m) if m.len() == 1 => {
                    let (k, v) = m.iter().next().expect("one entry");
                    let name = k.as_str().unwrap_or_default();
                    if name == "Statement" {
                        for st in list(Some(v)) {
                            out.push(self.statement(logical_id, st, "Statement")?);
                        }
                        continue;
                    }
                    let t = SAM_TEMPLATES.iter().find(|t| t.name == name).ok_or_else(|| {
                        format!(
                            "{logical_id}: SAM policy template {name} is not known to nexus_wiring::policy \
                             (add it to SAM_TEMPLATES with SAM's action list)"
                        )
                    })?;
                    let arg = v
                        .get(t.parameter)
                        .and_then(|a| self.pattern(a))
                        .and_then(|a| a.into_iter().next())
                        .ok_or_else(|| {
                            format!(
                                "{logical_id}: {name} needs {} (a !Ref or !GetAtt)",
                                t.parameter
                            )
                        })?;
                    for (actions, resources) in t.statements {
                        out.push(Statement {
                            allow: true,
                            actions: actions.iter().map(|a| (*a).to_owned()).collect(),
                            resources: resources.iter().map(|r| r.replace("{}", &arg)).collect(),
                            conditions: vec![],
                            origin: name.to_owned(),
                        });
                    }
                }
                Value::String(name) => {
                    return Err(format!(
                    "{logical_id}: managed policy {name} cannot be checked; use inline statements"
                ))
                }
                other => return Err(format!("{logical_id}: unreadable policy {other:?}")),
            }
        }
        Ok(out)
    }

    fn statement(&self, id: &str, st: &Value, origin: &str) -> Result<Statement, String> {
        let allow = match st.get("Effect").and_then(Value::as_str) {
            Some("Allow") => true,
            Some("Deny") => false,
            other => return Err(format!("{id}: statement Effect {other:?}")),
        };
        let actions = list(st.get("Action"))
            .into_iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{id}: statement actions must be literals"))?;
        let mut resources = vec![];
        for r in list(st.get("Resource")) {
            resources.extend(
                self.pattern(r)
                    .ok_or_else(|| format!("{id}: unreadable Resource {r:?}"))?,
            );
        }
        let mut conditions = vec![];
        for (op, tests) in st
            .get("Condition")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
        {
            for (key, values) in tests.as_mapping().into_iter().flatten() {
                let mut vs = vec![];
                for v in list(Some(values)) {
                    vs.extend(
                        match v {
                            Value::Bool(b) => Some(vec![b.to_string()]),
                            Value::Number(n) => Some(vec![n.to_string()]),
                            other => self.pattern(other),
                        }
                        .ok_or_else(|| format!("{id}: unreadable condition value {v:?}"))?,
                    );
                }
                conditions.push(Condition {
                    operator: op.as_str().unwrap_or_default().to_owned(),
                    key: key.as_str().unwrap_or_default().to_owned(),
                    values: vs,
                });
            }
        }
        Ok(Statement {
            allow,
            actions,
            resources,
            conditions,
            origin: origin.to_owned(),
        })
    }
}

impl Statement {
    /// The values the statement's condition `operator` gives `key`.
    pub fn condition(&self, operator: &str, key: &str) -> Option<&[String]> {
        self.conditions
            .iter()
            .find(|c| c.operator == operator && c.key == key)
            .map(|c| c.values.as_slice())
    }

    /// Does this statement name `action` (`service:Action`, case-insensitive, `*` wildcards)?
    pub fn covers_action(&self, action: &str) -> bool {
        self.actions
            .iter()
            .any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
    }

    /// The resource patterns with every `${...}` placeholder replaced by
    /// `lookup` (pseudo parameters included); a placeholder it does not know
    /// is left as `*`-free text, so it matches nothing real.
    pub fn resources_with(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
        self.resources
            .iter()
            .map(|r| substitute(r, lookup))
            .collect()
    }
}

/// Replace `${name}` placeholders through `lookup`.
pub fn substitute(pattern: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let Some(j) = rest[i..].find('}') else {
            out.push_str(&rest[i..]);
            return out;
        };
        let name = &rest[i + 2..i + j];
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&format!("<unresolved {name}>")),
        }
        rest = &rest[i + j + 1..];
    }
    out.push_str(rest);
    out
}

/// IAM string matching: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Does a resolved ARN pattern match `arn`?
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    glob(pattern, arn)
}

/// Condition keys a checker may supply with a request. A condition on any
/// other key (`aws:SecureTransport`, …) is not evaluated locally and
/// counts as met, so the check never refuses what AWS might allow.
pub const CHECKED_KEYS: &[&str] = &[
    "s3:prefix",
    "dynamodb:LeadingKeys",
    "ses:FromAddress",
    "iam:PassedToService",
];

/// One call to authorize: `service:Action` on a resource ARN, with the
/// values of the [`CHECKED_KEYS`] the call has.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, Vec<String>)>,
}

impl Request {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            context: vec![],
        }
    }

    pub fn with(mut self, key: &str, values: Vec<String>) -> Self {
        self.context.push((key.to_owned(), values));
        self
    }
}

/// A function's statements with every placeholder resolved to concrete
/// ARNs and values: what its role would allow.
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    statements: Vec<Statement>,
}

impl Permissions {
    /// Resolve `statements` with `lookup` (see [`Statement::resources_with`]).
    pub fn resolve(statements: &[Statement], lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        Self {
            statements: statements
                .iter()
                .map(|s| Statement {
                    resources: s.resources_with(lookup),
                    conditions: s
                        .conditions
                        .iter()
                        .map(|c| Condition {
                            values: c.values.iter().map(|v| substitute(v, lookup)).collect(),
                            ..c.clone()
                        })
                        .collect(),
                    ..s.clone()
                })
                .collect(),
        }
    }

    /// IAM's evaluation, for identity policies: an explicit `Deny` wins,
    /// otherwise some `Allow` must match action, resource and conditions.
    /// `Err` says what is missing.
    pub fn check(&self, r: &Request) -> Result<(), String> {
        let applies = |s: &&Statement| {
            s.covers_action(&r.action)
                && s.resources.iter().any(|p| arn_matches(p, &r.resource))
                && s.conditions.iter().all(|c| condition_holds(c, &r.context))
        };
        if let Some(d) = self.statements.iter().filter(|s| !s.allow).find(applies) {
            return Err(format!(
                "{} on {} is denied by a {} statement",
                r.action, r.resource, d.origin
            ));
        }
        if self
            .statements
            .iter()
            .filter(|s| s.allow)
            .any(|s| applies(&s))
        {
            return Ok(());
        }
        let near: Vec<String> = self
            .statements
            .iter()
            .filter(|s| s.allow && s.covers_action(&r.action))
            .map(|s| {
                if s.resources.iter().any(|p| arn_matches(p, &r.resource)) {
                    format!(
                        "its conditions {:?} do not hold for {:?}",
                        s.conditions, r.context
                    )
                } else {
                    format!("it is allowed only on {:?}", s.resources)
                }
            })
            .collect();
        Err(if near.is_empty() {
            format!("{} is not allowed at all", r.action)
        } else {
            format!(
                "{} on {} is not allowed: {}",
                r.action,
                r.resource,
                near.join("; ")
            )
        })
    }
}

fn condition_holds(c: &Condition, context: &[(String, Vec<String>)]) -> bool {
    if !CHECKED_KEYS.contains(&c.key.as_str()) {
        return true;
    }
    let (set, op) = match c.operator.split_once(':') {
        Some((set, op)) => (Some(set), op),
        None => (None, c.operator.as_str()),
    };
    let op = op.trim_end_matches("IfExists");
    let test = |v: &str| -> bool {
        c.values.iter().any(|want| match op {
            "StringEquals" | "ArnEquals" => v == want,
            "StringEqualsIgnoreCase" => v.eq_ignore_ascii_case(want),
            "StringLike" | "ArnLike" => glob(want, v),
            "StringNotEquals" => v != want,
            "StringNotLike" => !glob(want, v),
            "Bool" => v == want,
            // An operator this reader does not evaluate: do not refuse.
            _ => true,
        })
    };
    let got = context.iter().find(|(k, _)| k == &c.key).map(|(_, v)| v);
    match (set, got) {
        (Some("ForAllValues"), None) => true,
        (Some("ForAllValues"), Some(vs)) => vs.iter().all(|v| test(v)),
        (_, None) => c.operator.ends_with("IfExists"),
        (_, Some(vs)) => vs.iter().any(|v| test(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sam_templates_and_inline_statements_become_statements() {
        let t = Template::parse(
            r#"
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsDev: !Equals [!Ref Stage, dev]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fn
      Policies:
        - DynamoDBReadPolicy:
            TableName: !Ref Table
        - SQSSendMessagePolicy:
            QueueName: !GetAtt Dlq.QueueName
        - Statement:
            - Effect: Allow
              Action: s3:GetObject
              Resource: !Sub '${Bucket.Arn}/search/*'
            - Effect: Allow
              Action: [ses:SendEmail]
              Resource: !If [IsDev, ['*'], [!GetAtt Identity.Arn]]
              Condition:
                StringEquals: {ses:FromAddress: a@b.c}
  Bad:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - AmazonS3FullAccess
"#,
        )
        .unwrap();
        let p = t.function_policies("Fn").unwrap();
        assert_eq!(p.len(), 4);
        assert!(p[0].covers_action("dynamodb:GetItem"));
        assert!(!p[0].covers_action("dynamodb:PutItem"));
        assert_eq!(p[0].resources[1], "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Table}/index/*");
        assert!(
            p[1].covers_action("sqs:SendMessageBatch"),
            "wildcard actions"
        );
        assert!(p[1].resources[0].ends_with(":${Dlq.QueueName}"));
        assert_eq!(p[2].resources, ["${Bucket.Arn}/search/*"]);
        assert_eq!(p[3].resources, ["*"], "!If resolved with defaults");
        assert_eq!(
            p[3].condition("StringEquals", "ses:FromAddress"),
            Some(&["a@b.c".to_string()][..])
        );
        let resolved = p[2].resources_with(&|n| match n {
            "Bucket.Arn" => Some("arn:aws:s3:::b".into()),
            _ => None,
        });
        assert!(arn_matches(&resolved[0], "arn:aws:s3:::b/search/x/y"));
        assert!(!arn_matches(&resolved[0], "arn:aws:s3:::b/other"));
        assert!(t
            .function_policies("Bad")
            .unwrap_err()
            .contains("AmazonS3FullAccess"));
    }

    #[test]
    fn permissions_allow_what_a_statement_allows_with_its_conditions() {
        let t = Template::parse(
            r#"
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - DynamoDBReadPolicy:
            TableName: !Ref Table
        - Statement:
            - Effect: Allow
              Action: dynamodb:UpdateItem
              Resource: !GetAtt Table.Arn
              Condition:
                ForAllValues:StringEquals:
                  dynamodb:LeadingKeys: [HEALTH]
            - Effect: Allow
              Action: s3:ListBucket
              Resource: !GetAtt Bucket.Arn
              Condition:
                StringLike:
                  s3:prefix: [search/*]
            - Effect: Allow
              Action: ses:SendEmail
              Resource: !Sub 'arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Identity}'
              Condition:
                StringEquals:
                  ses:FromAddress: !Ref From
                  aws:SecureTransport: 'true'
            - Effect: Deny
              Action: dynamodb:GetItem
              Resource: !Sub '${Table.Arn}/index/Secret'
"#,
        )
        .unwrap();
        let lookup = |n: &str| -> Option<String> {
            Some(match n {
                "AWS::Partition" => "aws".into(),
                "AWS::Region" => "us-east-1".into(),
                "AWS::AccountId" => "000000000000".into(),
                "Table" => "t".into(),
                "Table.Arn" => "arn:aws:dynamodb:us-east-1:000000000000:table/t".into(),
                "Bucket.Arn" => "arn:aws:s3:::b".into(),
                "Identity" => "nexus.dev".into(),
                "From" => "no-reply@nexus.dev".into(),
                _ => return None,
            })
        };
        let p = Permissions::resolve(&t.function_policies("Fn").unwrap(), &lookup);
        let table = "arn:aws:dynamodb:us-east-1:000000000000:table/t";
        assert!(p.check(&Request::new("dynamodb:GetItem", table)).is_ok());
        assert!(p
            .check(&Request::new(
                "dynamodb:Query",
                format!("{table}/index/GSI1")
            ))
            .is_ok());
        let e = p
            .check(&Request::new("dynamodb:PutItem", table))
            .unwrap_err();
        assert!(e.contains("not allowed at all"), "{e}");
        let e = p
            .check(&Request::new(
                "dynamodb:GetItem",
                "arn:aws:dynamodb:us-east-1:000000000000:table/other",
            ))
            .unwrap_err();
        assert!(e.contains("allowed only on"), "{e}");
        let health = Request::new("dynamodb:UpdateItem", table)
            .with("dynamodb:LeadingKeys", vec!["HEALTH".into()]);
        assert!(p.check(&health).is_ok());
        let other = Request::new("dynamodb:UpdateItem", table)
            .with("dynamodb:LeadingKeys", vec!["USER#1".into()]);
        assert!(p.check(&other).unwrap_err().contains("conditions"));
        let list = |prefix: &str| {
            Request::new("s3:ListBucket", "arn:aws:s3:::b").with("s3:prefix", vec![prefix.into()])
        };
        assert!(p.check(&list("search/creators/manifest.json")).is_ok());
        assert!(p.check(&list("media/")).is_err());
        assert!(
            p.check(&Request::new("s3:ListBucket", "arn:aws:s3:::b"))
                .is_err(),
            "no prefix"
        );
        let send = |from: &str| {
            Request::new(
                "ses:SendEmail",
                "arn:aws:ses:us-east-1:000000000000:identity/nexus.dev",
            )
            .with("ses:FromAddress", vec![from.into()])
        };
        assert!(
            p.check(&send("no-reply@nexus.dev")).is_ok(),
            "unchecked keys count as met"
        );
        assert!(p.check(&send("ceo@nexus.dev")).is_err());
        assert!(p
            .check(&Request::new(
                "dynamodb:GetItem",
                format!("{table}/index/Secret")
            ))
            .unwrap_err()
            .contains("denied"));
    }

    #[test]
    fn globbing_follows_iam() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(glob("*", ""));
        assert!(glob("s3:*", "s3:getobject"));
        assert!(!glob("table/t", "table/t/index/GSI1"));
    }
}
