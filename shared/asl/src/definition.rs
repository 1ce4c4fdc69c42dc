//! The definition model, loaded and validated from ASL JSON (JSONPath mode).
//!
//! Anything not implemented is refused with the file, the state (its path through
//! Parallel branches and Map processors) and the field: JSONata, `Assign` variables,
//! Distributed Map, unknown fields and states, and structural errors.

use crate::choice::{self, Rule};
use crate::error::{errors, LoadError};
use crate::intrinsics::{looks_like_call, Call};
use crate::path::Path;
use crate::template::Template;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Task `TimeoutSeconds`/`HeartbeatSeconds` default and maximum on AWS.
pub const DEFAULT_TASK_TIMEOUT_SECONDS: u64 = 99_999_999;
/// Inline Map runs at most this many iterations at once.
pub const MAX_INLINE_MAP_CONCURRENCY: usize = 40;

/// A loaded, validated state machine definition.
#[derive(Debug, Clone)]
pub struct Definition {
    source: String,
    text: String,
    pub root: StateList,
    pub timeout_seconds: Option<u64>,
    pub comment: Option<String>,
}

/// `StartAt` + `States`: the top level, a Parallel branch or a Map processor.
#[derive(Debug, Clone)]
pub struct StateList {
    pub start_at: String,
    /// States in definition order.
    pub order: Vec<String>,
    pub states: BTreeMap<String, State>,
}

impl StateList {
    pub fn get(&self, name: &str) -> &State {
        &self.states[name]
    }
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub comment: Option<String>,
    pub input_path: DataPath,
    pub output_path: DataPath,
    pub transition: Transition,
    pub kind: Kind,
}

/// `Next` or `End` (Choice, Succeed and Fail have `None`).
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Next(String),
    End,
    None,
}

/// An `InputPath`/`OutputPath`/`ResultPath`/`ItemsPath` value.
#[derive(Debug, Clone, PartialEq)]
pub enum DataPath {
    /// `$` or absent.
    Root,
    /// JSON `null`.
    Null,
    At(Path),
}

/// A string given literally or through a path/intrinsic (`Fail`'s `Error`/`Cause`).
#[derive(Debug, Clone, PartialEq)]
pub enum Dynamic {
    Literal(String),
    Path(Path),
    Call(Call),
}

/// A positive integer given literally or through a reference path.
#[derive(Debug, Clone, PartialEq)]
pub enum Seconds {
    Fixed(u64),
    Path(Path),
}

#[derive(Debug, Clone)]
pub struct Io {
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: DataPath,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u64,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<u64>,
    pub jitter_full: bool,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: DataPath,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Pass {
        result: Option<Value>,
        io: Io,
    },
    Task(Box<Task>),
    Choice {
        choices: Vec<(Rule, String)>,
        default: Option<String>,
    },
    Wait(Wait),
    Succeed,
    Fail {
        error: Option<Dynamic>,
        cause: Option<Dynamic>,
    },
    Parallel {
        branches: Vec<StateList>,
        io: Io,
        retry: Vec<Retrier>,
        catch: Vec<Catcher>,
    },
    Map(Box<MapState>),
}

impl Kind {
    /// The state's `Type` as the States Language (and history event names) spell it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Pass { .. } => "Pass",
            Kind::Task(_) => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Wait(_) => "Wait",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map(_) => "Map",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Task {
    pub resource: Resource,
    pub resource_arn: String,
    pub io: Io,
    pub timeout: Seconds,
    pub heartbeat: Option<Seconds>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone)]
pub struct MapState {
    pub processor: StateList,
    pub items_path: DataPath,
    pub item_selector: Option<Template>,
    pub max_concurrency: Seconds,
    pub io: Io,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Wait {
    Seconds(u64),
    Timestamp(jiff::Timestamp),
    SecondsPath(Path),
    TimestampPath(Path),
}

/// The task integrations the interpreter hands to the host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind")]
pub enum Resource {
    /// `arn:aws:states:::lambda:invoke[.waitForTaskToken]`: parameters hold
    /// `FunctionName`, `Payload`, … .
    LambdaInvoke { wait_for_task_token: bool },
    /// A bare function ARN: the effective input is the payload, the result is bare.
    LambdaFunction { function_arn: String },
    /// `arn:aws:states:::dynamodb:<action>` (getItem, putItem, updateItem, deleteItem).
    DynamoDb { action: String },
    /// `arn:aws:states:::events:putEvents[.waitForTaskToken]`.
    EventsPutEvents { wait_for_task_token: bool },
    /// `arn:aws:states:::sqs:sendMessage[.waitForTaskToken]`.
    SqsSendMessage { wait_for_task_token: bool },
}

impl Resource {
    pub fn parse(arn: &str) -> Option<Resource> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() < 6 || parts[0] != "arn" || !parts[1].starts_with("aws") {
            return None;
        }
        match parts[2] {
            "lambda" => {
                let rest: Vec<&str> = parts[5].split(':').collect();
                (rest[0] == "function" && rest.len() >= 2 && rest.len() <= 3 && !rest[1].is_empty())
                    .then(|| Resource::LambdaFunction {
                        function_arn: arn.to_string(),
                    })
            }
            "states" if parts[3].is_empty() && parts[4].is_empty() => {
                let (service, action) = parts[5].split_once(':')?;
                let (action, wait) = match action.strip_suffix(".waitForTaskToken") {
                    Some(a) => (a, true),
                    None => (action, false),
                };
                match (service, action) {
                    ("lambda", "invoke") => Some(Resource::LambdaInvoke {
                        wait_for_task_token: wait,
                    }),
                    ("events", "putEvents") => Some(Resource::EventsPutEvents {
                        wait_for_task_token: wait,
                    }),
                    ("sqs", "sendMessage") => Some(Resource::SqsSendMessage {
                        wait_for_task_token: wait,
                    }),
                    ("dynamodb", "getItem" | "putItem" | "updateItem" | "deleteItem") if !wait => {
                        Some(Resource::DynamoDb {
                            action: action.to_string(),
                        })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    pub fn waits_for_task_token(&self) -> bool {
        matches!(
            self,
            Resource::LambdaInvoke {
                wait_for_task_token: true
            } | Resource::EventsPutEvents {
                wait_for_task_token: true
            } | Resource::SqsSendMessage {
                wait_for_task_token: true
            }
        )
    }

    /// `(resourceType, resource)` as history events name them.
    pub fn history_names(&self) -> (&'static str, String) {
        let tok = |base: &str, w: bool| {
            if w {
                format!("{base}.waitForTaskToken")
            } else {
                base.to_string()
            }
        };
        match self {
            Resource::LambdaInvoke {
                wait_for_task_token,
            } => ("lambda", tok("invoke", *wait_for_task_token)),
            Resource::LambdaFunction { function_arn } => ("lambda", function_arn.clone()),
            Resource::DynamoDb { action } => ("dynamodb", action.clone()),
            Resource::EventsPutEvents {
                wait_for_task_token,
            } => ("events", tok("putEvents", *wait_for_task_token)),
            Resource::SqsSendMessage {
                wait_for_task_token,
            } => ("sqs", tok("sendMessage", *wait_for_task_token)),
        }
    }
}

impl Definition {
    /// Loads a definition. `source_name` names it in errors (e.g. the file path).
    pub fn parse(json: &str, source_name: &str) -> Result<Definition, LoadError> {
        let cx = Cx {
            source: source_name,
            state: None,
        };
        let value: Value =
            serde_json::from_str(json).map_err(|e| cx.err(None, format!("not valid JSON: {e}")))?;
        let Value::Object(top) = value else {
            return Err(cx.err(None, "a definition must be a JSON object".into()));
        };
        let mut f = Fields::new(&top, &cx);
        f.query_language()?;
        f.refuse(
            "Assign",
            "variables (Assign) are not implemented by the local runner",
        )?;
        let comment = f.opt_string("Comment")?;
        f.opt_string("Version")?;
        let timeout_seconds = match f.take("TimeoutSeconds") {
            None => None,
            Some(v) => Some(positive_int(v).ok_or_else(|| {
                cx.err(Some("TimeoutSeconds"), "must be a positive integer".into())
            })?),
        };
        let root = parse_list(&top, &cx, "", &mut f)?;
        f.finish()?;
        Ok(Definition {
            source: source_name.to_string(),
            text: json.to_string(),
            root,
            timeout_seconds,
            comment,
        })
    }

    pub fn source_name(&self) -> &str {
        &self.source
    }

    /// The JSON text the definition was loaded from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when any state, at any depth, is a Task.
    pub fn has_task_states(&self) -> bool {
        fn any(list: &StateList) -> bool {
            list.states.values().any(|s| match &s.kind {
                Kind::Task(_) => true,
                Kind::Parallel { branches, .. } => branches.iter().any(any),
                Kind::Map(m) => any(&m.processor),
                _ => false,
            })
        }
        any(&self.root)
    }

    /// The state list at a scope path (see [`ScopeStep`]).
    pub fn scope(&self, steps: &[ScopeStep]) -> &StateList {
        let mut list = &self.root;
        for step in steps {
            list = match (&list.get(&step.state).kind, step.branch) {
                (Kind::Parallel { branches, .. }, Some(b)) => &branches[b],
                (Kind::Map(m), None) => &m.processor,
                _ => unreachable!("scope paths are built from the definition"),
            };
        }
        list
    }
}

/// One step down from a state list: into branch `branch` of Parallel `state`, or into
/// the processor of Map `state` (`branch: None`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScopeStep {
    pub state: String,
    pub branch: Option<usize>,
}

struct Cx<'a> {
    source: &'a str,
    state: Option<String>,
}

impl Cx<'_> {
    fn err(&self, field: Option<&str>, message: String) -> LoadError {
        LoadError {
            source: self.source.to_string(),
            state: self.state.clone(),
            field: field.map(str::to_string),
            message,
        }
    }
}

/// Reads the fields of one JSON object, remembering which were used so that the rest
/// can be refused as unknown.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    used: BTreeSet<&'a str>,
    cx: &'a Cx<'a>,
    prefix: String,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>, cx: &'a Cx<'a>) -> Self {
        Fields {
            map,
            used: BTreeSet::new(),
            cx,
            prefix: String::new(),
        }
    }

    fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    fn err(&self, field: &str, message: impl Into<String>) -> LoadError {
        self.cx.err(Some(&self.name(field)), message.into())
    }

    fn take(&mut self, k: &str) -> Option<&'a Value> {
        let (key, v) = self.map.get_key_value(k)?;
        self.used.insert(key.as_str());
        Some(v)
    }

    fn has(&self, k: &str) -> bool {
        self.map.contains_key(k)
    }

    fn refuse(&mut self, k: &str, why: &str) -> Result<(), LoadError> {
        if self.has(k) {
            return Err(self.err(k, why));
        }
        Ok(())
    }

    fn query_language(&mut self) -> Result<(), LoadError> {
        match self.take("QueryLanguage") {
            None => Ok(()),
            Some(Value::String(s)) if s == "JSONPath" => Ok(()),
            Some(Value::String(s)) if s == "JSONata" => Err(self.err(
                "QueryLanguage",
                "JSONata is not implemented by the local runner; use JSONPath",
            )),
            Some(_) => Err(self.err("QueryLanguage", "must be \"JSONPath\" or \"JSONata\"")),
        }
    }

    fn opt_string(&mut self, k: &str) -> Result<Option<String>, LoadError> {
        match self.take(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err(k, "must be a string")),
        }
    }

    fn string(&mut self, k: &str) -> Result<String, LoadError> {
        self.opt_string(k)?
            .ok_or_else(|| self.err(k, "is required"))
    }

    fn finish(self) -> Result<(), LoadError> {
        for k in self.map.keys() {
            if !self.used.contains(k.as_str()) {
                return Err(self.err(k, "unknown field"));
            }
        }
        Ok(())
    }

    fn data_path(&mut self, k: &str, reference: bool) -> Result<DataPath, LoadError> {
        match self.take(k) {
            None => Ok(DataPath::Root),
            Some(Value::Null) => Ok(DataPath::Null),
            Some(Value::String(s)) => {
                let p = if reference {
                    Path::parse_reference(s)
                } else {
                    Path::parse(s)
                }
                .map_err(|e| self.err(k, e.0))?;
                if p.is_context() {
                    return Err(self.err(k, "the context object ($$) cannot be used here"));
                }
                if p.as_str() == "$" {
                    Ok(DataPath::Root)
                } else {
                    Ok(DataPath::At(p))
                }
            }
            Some(_) => Err(self.err(k, "must be a path string or null")),
        }
    }

    fn template(&mut self, k: &str) -> Result<Option<Template>, LoadError> {
        match self.take(k) {
            None => Ok(None),
            Some(v) => Template::compile(v)
                .map(Some)
                .map_err(|(field, m)| self.err(&format!("{k}.{field}"), m)),
        }
    }

    fn seconds(&mut self, k: &str) -> Result<Option<Seconds>, LoadError> {
        let path_key = format!("{k}Path");
        let lit = self.take(k);
        let path = self.take(&path_key);
        match (lit, path) {
            (Some(_), Some(_)) => {
                Err(self.err(k, format!("{k} and {path_key} cannot both be set")))
            }
            (Some(v), None) => positive_int(v)
                .map(|n| Some(Seconds::Fixed(n)))
                .ok_or_else(|| self.err(k, "must be a positive integer")),
            (None, Some(Value::String(s))) => Path::parse_reference(s)
                .map(|p| Some(Seconds::Path(p)))
                .map_err(|e| self.err(&path_key, e.0)),
            (None, Some(_)) => Err(self.err(&path_key, "must be a reference path string")),
            (None, None) => Ok(None),
        }
    }
}

fn positive_int(v: &Value) -> Option<u64> {
    v.as_u64().filter(|n| *n > 0)
}

fn state_label(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// Parses `StartAt` + `States` from `obj` (whose other fields `f` is tracking).
fn parse_list(
    obj: &Map<String, Value>,
    cx: &Cx<'_>,
    label: &str,
    f: &mut Fields<'_>,
) -> Result<StateList, LoadError> {
    let start_at = f.string("StartAt")?;
    let Some(Value::Object(states_json)) = f.take("States") else {
        return Err(f.err("States", "is required and must be an object of states"));
    };
    let _ = obj;
    if states_json.is_empty() {
        return Err(f.err("States", "must hold at least one state"));
    }
    let mut states = BTreeMap::new();
    let mut order = Vec::new();
    for (name, sv) in states_json {
        let label = state_label(label, name);
        let scx = Cx {
            source: cx.source,
            state: Some(label.clone()),
        };
        if name.is_empty() || name.chars().count() > 80 {
            return Err(scx.err(None, "a state name must be 1 to 80 characters".into()));
        }
        let Value::Object(sm) = sv else {
            return Err(scx.err(None, "a state must be a JSON object".into()));
        };
        let state = parse_state(name, sm, &scx, &label)?;
        order.push(name.clone());
        states.insert(name.clone(), state);
    }
    if !states.contains_key(&start_at) {
        return Err(f.err(
            "StartAt",
            format!("'{start_at}' is not a state of this list"),
        ));
    }
    // Every transition target exists, and every state is reachable.
    let mut targets: Vec<(String, &str, &String)> = Vec::new();
    for (name, s) in &states {
        for (field, t) in transitions(s) {
            targets.push((name.clone(), field, t));
        }
    }
    for (from, field, to) in &targets {
        if !states.contains_key(*to) {
            return Err(LoadError {
                source: cx.source.to_string(),
                state: Some(state_label(label, from)),
                field: Some((*field).to_string()),
                message: format!("'{to}' is not a state in the same scope"),
            });
        }
    }
    let mut seen = BTreeSet::from([start_at.clone()]);
    let mut todo = vec![start_at.clone()];
    while let Some(n) = todo.pop() {
        for (_, t) in transitions(&states[&n]) {
            if seen.insert(t.clone()) {
                todo.push(t.clone());
            }
        }
    }
    if let Some(unreached) = order.iter().find(|n| !seen.contains(*n)) {
        return Err(LoadError {
            source: cx.source.to_string(),
            state: Some(state_label(label, unreached)),
            field: None,
            message: "the state is not reachable from StartAt".into(),
        });
    }
    Ok(StateList {
        start_at,
        order,
        states,
    })
}

fn transitions(s: &State) -> Vec<(&'static str, &String)> {
    let mut out = Vec::new();
    if let Transition::Next(n) = &s.transition {
        out.push(("Next", n));
    }
    let catch = match &s.kind {
        Kind::Choice { choices, default } => {
            out.extend(choices.iter().map(|(_, n)| ("Choices.Next", n)));
            if let Some(d) = default {
                out.push(("Default", d));
            }
            None
        }
        Kind::Task(t) => Some(&t.catch),
        Kind::Parallel { catch, .. } => Some(catch),
        Kind::Map(m) => Some(&m.catch),
        _ => None,
    };
    if let Some(c) = catch {
        out.extend(c.iter().map(|c| ("Catch.Next", &c.next)));
    }
    out
}

const JSONATA_FIELDS: &[&str] = &["Arguments", "Output", "Items", "Condition"];

fn parse_state(
    name: &str,
    sm: &Map<String, Value>,
    cx: &Cx<'_>,
    label: &str,
) -> Result<State, LoadError> {
    let mut f = Fields::new(sm, cx);
    let ty = f.string("Type")?;
    f.query_language()?;
    f.refuse(
        "Assign",
        "variables (Assign) are not implemented by the local runner",
    )?;
    for k in JSONATA_FIELDS {
        f.refuse(
            k,
            "is a JSONata field; JSONata is not implemented by the local runner",
        )?;
    }
    let comment = f.opt_string("Comment")?;
    let terminal_or_choice = matches!(ty.as_str(), "Choice" | "Succeed" | "Fail");
    let (input_path, output_path) = if ty == "Fail" {
        (DataPath::Root, DataPath::Root)
    } else {
        (
            f.data_path("InputPath", false)?,
            f.data_path("OutputPath", false)?,
        )
    };
    let transition = if terminal_or_choice {
        Transition::None
    } else {
        let next = f.opt_string("Next")?;
        let end = match f.take("End") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(f.err("End", "must be a boolean")),
        };
        match (next, end) {
            (Some(_), true) => return Err(f.err("Next", "a state cannot have both Next and End")),
            (Some(n), false) => Transition::Next(n),
            (None, true) => Transition::End,
            (None, false) => {
                return Err(f.err("Next", "a non-terminal state needs Next or \"End\": true"))
            }
        }
    };
    let kind = match ty.as_str() {
        "Pass" => {
            let parameters = f.template("Parameters")?;
            let result_path = f.data_path("ResultPath", true)?;
            let result = f.take("Result").cloned();
            Kind::Pass {
                result,
                io: Io {
                    parameters,
                    result_selector: None,
                    result_path,
                },
            }
        }
        "Task" => {
            let arn = f.string("Resource")?;
            let resource = Resource::parse(&arn).ok_or_else(|| {
                f.err(
                    "Resource",
                    format!(
                        "'{arn}' is not an integration the local runner implements (lambda:invoke[.waitForTaskToken], a Lambda function ARN, dynamodb:getItem/putItem/updateItem/deleteItem, events:putEvents[.waitForTaskToken], sqs:sendMessage[.waitForTaskToken])"
                    ),
                )
            })?;
            f.refuse("Credentials", "cross-account Credentials are not implemented by the local runner")?;
            let io = parse_io(&mut f, true)?;
            let timeout = f.seconds("TimeoutSeconds")?;
            let heartbeat = f.seconds("HeartbeatSeconds")?;
            if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat) {
                if h >= t {
                    return Err(f.err("HeartbeatSeconds", "must be smaller than TimeoutSeconds"));
                }
            }
            if let (None, Some(Seconds::Fixed(h))) = (&timeout, &heartbeat) {
                if *h >= DEFAULT_TASK_TIMEOUT_SECONDS {
                    return Err(f.err("HeartbeatSeconds", "must be smaller than TimeoutSeconds"));
                }
            }
            let (retry, catch) = parse_retry_catch(&mut f)?;
            Kind::Task(Box::new(Task {
                resource,
                resource_arn: arn,
                io,
                timeout: timeout.unwrap_or(Seconds::Fixed(DEFAULT_TASK_TIMEOUT_SECONDS)),
                heartbeat,
                retry,
                catch,
            }))
        }
        "Choice" => {
            let Some(Value::Array(rules)) = f.take("Choices") else {
                return Err(f.err("Choices", "is required and must be a non-empty array"));
            };
            if rules.is_empty() {
                return Err(f.err("Choices", "must hold at least one rule"));
            }
            let mut choices = Vec::new();
            for (i, r) in rules.iter().enumerate() {
                let rule = choice::parse_rule(r, true).map_err(|(field, m)| {
                    let fld = if field.is_empty() {
                        format!("Choices[{i}]")
                    } else {
                        format!("Choices[{i}].{field}")
                    };
                    f.err(&fld, m)
                })?;
                let Some(Value::String(next)) = r.get("Next") else {
                    return Err(f.err(&format!("Choices[{i}].Next"), "a top-level choice rule needs Next"));
                };
                choices.push((rule, next.clone()));
            }
            let default = f.opt_string("Default")?;
            Kind::Choice { choices, default }
        }
        "Wait" => {
            let mut found = Vec::new();
            for k in ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"] {
                if let Some(v) = f.take(k) {
                    found.push((k, v));
                }
            }
            if found.len() != 1 {
                return Err(f.err(
                    "Seconds",
                    "a Wait state needs exactly one of Seconds, Timestamp, SecondsPath, TimestampPath",
                ));
            }
            let (k, v) = found[0];
            let bad = |m: &str| f.err(k, m);
            Kind::Wait(match k {
                "Seconds" => Wait::Seconds(v.as_u64().ok_or_else(|| bad("must be a non-negative integer"))?),
                "Timestamp" => Wait::Timestamp(
                    v.as_str()
                        .and_then(choice::parse_timestamp)
                        .ok_or_else(|| bad("must be an RFC 3339 timestamp with 'T' and a zone"))?,
                ),
                _ => {
                    let p = v
                        .as_str()
                        .ok_or_else(|| bad("must be a reference path string"))
                        .and_then(|s| Path::parse_reference(s).map_err(|e| bad(&e.0)))?;
                    if k == "SecondsPath" {
                        Wait::SecondsPath(p)
                    } else {
                        Wait::TimestampPath(p)
                    }
                }
            })
        }
        "Succeed" => Kind::Succeed,
        "Fail" => Kind::Fail {
            error: dynamic(&mut f, "Error")?,
            cause: dynamic(&mut f, "Cause")?,
        },
        "Parallel" => {
            let Some(Value::Array(bs)) = f.take("Branches") else {
                return Err(f.err("Branches", "is required and must be a non-empty array"));
            };
            if bs.is_empty() {
                return Err(f.err("Branches", "must hold at least one branch"));
            }
            let mut branches = Vec::new();
            for (i, b) in bs.iter().enumerate() {
                let Value::Object(bm) = b else {
                    return Err(f.err(&format!("Branches[{i}]"), "must be an object"));
                };
                let sub = format!("{label}.Branches[{i}]");
                let mut bf = Fields::new(bm, cx).with_prefix(&format!("Branches[{i}]."));
                bf.query_language()?;
                bf.opt_string("Comment")?;
                let list = parse_list(bm, cx, &sub, &mut bf)?;
                bf.finish()?;
                branches.push(list);
            }
            let io = parse_io(&mut f, true)?;
            let (retry, catch) = parse_retry_catch(&mut f)?;
            Kind::Parallel {
                branches,
                io,
                retry,
                catch,
            }
        }
        "Map" => parse_map(&mut f, cx, label)?,
        other => {
            return Err(f.err(
                "Type",
                format!("'{other}' is not a state type (Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map)"),
            ))
        }
    };
    f.finish()?;
    Ok(State {
        name: name.to_string(),
        comment,
        input_path,
        output_path,
        transition,
        kind,
    })
}

fn parse_map(f: &mut Fields<'_>, cx: &Cx<'_>, label: &str) -> Result<Kind, LoadError> {
    for k in [
        "ItemReader",
        "ResultWriter",
        "ItemBatcher",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "Label",
    ] {
        f.refuse(
            k,
            "is a Distributed Map field; Distributed Map is not implemented by the local runner",
        )?;
    }
    let (processor_json, key) = match (f.take("ItemProcessor"), f.take("Iterator")) {
        (Some(_), Some(_)) => {
            return Err(f.err(
                "Iterator",
                "use ItemProcessor or the deprecated Iterator, not both",
            ))
        }
        (Some(p), None) => (p, "ItemProcessor"),
        (None, Some(p)) => (p, "Iterator"),
        (None, None) => return Err(f.err("ItemProcessor", "is required")),
    };
    let Value::Object(pm) = processor_json else {
        return Err(f.err(key, "must be an object"));
    };
    let sub = format!("{label}.{key}");
    let mut pf = Fields::new(pm, cx).with_prefix(&format!("{key}."));
    pf.query_language()?;
    pf.opt_string("Comment")?;
    if let Some(cfg) = pf.take("ProcessorConfig") {
        let Value::Object(cm) = cfg else {
            return Err(pf.err("ProcessorConfig", "must be an object"));
        };
        let mut cf = Fields::new(cm, cx).with_prefix(&format!("{key}.ProcessorConfig."));
        match cf.opt_string("Mode")?.as_deref() {
            None | Some("INLINE") => {}
            Some("DISTRIBUTED") => {
                return Err(cf.err(
                    "Mode",
                    "Distributed Map is not implemented by the local runner",
                ))
            }
            Some(m) => return Err(cf.err("Mode", format!("'{m}' is not INLINE or DISTRIBUTED"))),
        }
        cf.opt_string("ExecutionType")?;
        cf.finish()?;
    }
    let processor = parse_list(pm, cx, &sub, &mut pf)?;
    pf.finish()?;
    let items_path = f.data_path("ItemsPath", true)?;
    if items_path == DataPath::Null {
        return Err(f.err("ItemsPath", "must be a reference path"));
    }
    let item_selector = match (f.template("ItemSelector")?, f.template("Parameters")?) {
        (Some(_), Some(_)) => {
            return Err(f.err(
                "Parameters",
                "use ItemSelector or the deprecated Parameters, not both",
            ))
        }
        (a, b) => a.or(b),
    };
    let max_concurrency = match (f.take("MaxConcurrency"), f.take("MaxConcurrencyPath")) {
        (Some(_), Some(_)) => {
            return Err(f.err(
                "MaxConcurrency",
                "MaxConcurrency and MaxConcurrencyPath cannot both be set",
            ))
        }
        (Some(v), None) => Seconds::Fixed(
            v.as_u64()
                .ok_or_else(|| f.err("MaxConcurrency", "must be a non-negative integer"))?,
        ),
        (None, Some(Value::String(s))) => {
            Seconds::Path(Path::parse_reference(s).map_err(|e| f.err("MaxConcurrencyPath", e.0))?)
        }
        (None, Some(_)) => {
            return Err(f.err("MaxConcurrencyPath", "must be a reference path string"))
        }
        (None, None) => Seconds::Fixed(0),
    };
    let result_selector = f.template("ResultSelector")?;
    let result_path = f.data_path("ResultPath", true)?;
    let (retry, catch) = parse_retry_catch(f)?;
    Ok(Kind::Map(Box::new(MapState {
        processor,
        items_path,
        item_selector,
        max_concurrency,
        io: Io {
            parameters: None,
            result_selector,
            result_path,
        },
        retry,
        catch,
    })))
}

fn parse_io(f: &mut Fields<'_>, selector: bool) -> Result<Io, LoadError> {
    Ok(Io {
        parameters: f.template("Parameters")?,
        result_selector: if selector {
            f.template("ResultSelector")?
        } else {
            None
        },
        result_path: f.data_path("ResultPath", true)?,
    })
}

fn dynamic(f: &mut Fields<'_>, k: &str) -> Result<Option<Dynamic>, LoadError> {
    let path_key = format!("{k}Path");
    match (f.take(k), f.take(&path_key)) {
        (Some(_), Some(_)) => Err(f.err(k, format!("{k} and {path_key} cannot both be set"))),
        (Some(Value::String(s)), None) => Ok(Some(Dynamic::Literal(s.clone()))),
        (Some(_), None) => Err(f.err(k, "must be a string")),
        (None, Some(Value::String(s))) => {
            if looks_like_call(s) {
                Call::parse(s.trim())
                    .map(|c| Some(Dynamic::Call(c)))
                    .map_err(|e| f.err(&path_key, e))
            } else {
                Path::parse_reference(s)
                    .map(|p| Some(Dynamic::Path(p)))
                    .map_err(|e| f.err(&path_key, e.0))
            }
        }
        (None, Some(_)) => Err(f.err(&path_key, "must be a path or intrinsic function string")),
        (None, None) => Ok(None),
    }
}

fn error_equals(f: &Fields<'_>, at: &str, v: Option<&Value>) -> Result<Vec<String>, LoadError> {
    let field = format!("{at}.ErrorEquals");
    let Some(Value::Array(items)) = v else {
        return Err(f.err(
            &field,
            "is required and must be a non-empty array of error names",
        ));
    };
    if items.is_empty() {
        return Err(f.err(&field, "must name at least one error"));
    }
    let mut out = Vec::new();
    for it in items {
        let Value::String(s) = it else {
            return Err(f.err(&field, "must hold strings"));
        };
        if s.starts_with("States.") && !errors::PREDEFINED.contains(&s.as_str()) {
            return Err(f.err(&field, format!("'{s}' is not a predefined error (user error names cannot start with 'States.')")));
        }
        out.push(s.clone());
    }
    if out.iter().any(|e| e == errors::ALL) && out.len() > 1 {
        return Err(f.err(&field, "States.ALL must appear alone in ErrorEquals"));
    }
    Ok(out)
}

fn parse_retry_catch(f: &mut Fields<'_>) -> Result<(Vec<Retrier>, Vec<Catcher>), LoadError> {
    let mut retry = Vec::new();
    if let Some(v) = f.take("Retry") {
        let Value::Array(items) = v else {
            return Err(f.err("Retry", "must be an array of retriers"));
        };
        for (i, r) in items.iter().enumerate() {
            let at = format!("Retry[{i}]");
            let Value::Object(rm) = r else {
                return Err(f.err(&at, "must be an object"));
            };
            for k in rm.keys() {
                if ![
                    "ErrorEquals",
                    "IntervalSeconds",
                    "MaxAttempts",
                    "BackoffRate",
                    "MaxDelaySeconds",
                    "JitterStrategy",
                    "Comment",
                ]
                .contains(&k.as_str())
                {
                    return Err(f.err(&format!("{at}.{k}"), "unknown field"));
                }
            }
            let error_equals = error_equals(f, &at, rm.get("ErrorEquals"))?;
            let int = |k: &str, min: u64, max: u64| -> Result<Option<u64>, LoadError> {
                match rm.get(k) {
                    None => Ok(None),
                    Some(v) => v
                        .as_u64()
                        .filter(|n| (min..=max).contains(n))
                        .map(Some)
                        .ok_or_else(|| {
                            f.err(
                                &format!("{at}.{k}"),
                                format!("must be an integer from {min} to {max}"),
                            )
                        }),
                }
            };
            let interval_seconds = int("IntervalSeconds", 1, 99_999_999)?.unwrap_or(1);
            let max_attempts = int("MaxAttempts", 0, 99_999_999)?.unwrap_or(3);
            let max_delay_seconds = int("MaxDelaySeconds", 1, 31_622_401)?;
            let backoff_rate = match rm.get("BackoffRate") {
                None => 2.0,
                Some(v) => v.as_f64().filter(|r| *r >= 1.0).ok_or_else(|| {
                    f.err(&format!("{at}.BackoffRate"), "must be a number >= 1.0")
                })?,
            };
            let jitter_full = match rm.get("JitterStrategy") {
                None => false,
                Some(Value::String(s)) if s == "NONE" => false,
                Some(Value::String(s)) if s == "FULL" => true,
                Some(_) => {
                    return Err(f.err(
                        &format!("{at}.JitterStrategy"),
                        "must be \"NONE\" or \"FULL\"",
                    ))
                }
            };
            retry.push(Retrier {
                error_equals,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                jitter_full,
            });
        }
        check_all_last(f, "Retry", retry.iter().map(|r| &r.error_equals))?;
    }
    let mut catch = Vec::new();
    if let Some(v) = f.take("Catch") {
        let Value::Array(items) = v else {
            return Err(f.err("Catch", "must be an array of catchers"));
        };
        for (i, c) in items.iter().enumerate() {
            let at = format!("Catch[{i}]");
            let Value::Object(cm) = c else {
                return Err(f.err(&at, "must be an object"));
            };
            let cx = f.cx;
            let mut cf = Fields::new(cm, cx).with_prefix(&format!("{}{at}.", f.prefix));
            let error_equals = error_equals(f, &at, cf.take("ErrorEquals"))?;
            let next = cf.string("Next")?;
            let result_path = cf.data_path("ResultPath", true)?;
            cf.opt_string("Comment")?;
            cf.refuse(
                "Assign",
                "variables (Assign) are not implemented by the local runner",
            )?;
            cf.refuse(
                "Output",
                "is a JSONata field; JSONata is not implemented by the local runner",
            )?;
            cf.finish()?;
            catch.push(Catcher {
                error_equals,
                next,
                result_path,
            });
        }
        check_all_last(f, "Catch", catch.iter().map(|c| &c.error_equals))?;
    }
    Ok((retry, catch))
}

fn check_all_last<'a>(
    f: &Fields<'_>,
    field: &str,
    lists: impl ExactSizeIterator<Item = &'a Vec<String>>,
) -> Result<(), LoadError> {
    let n = lists.len();
    for (i, l) in lists.enumerate() {
        if i + 1 < n && l.iter().any(|e| e == errors::ALL) {
            return Err(f.err(
                &format!("{field}[{i}].ErrorEquals"),
                format!(
                    "States.ALL must be in the last {}",
                    if field == "Retry" {
                        "retrier"
                    } else {
                        "catcher"
                    }
                ),
            ));
        }
    }
    Ok(())
}
