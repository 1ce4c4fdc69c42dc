//! Data-driven conformance suite: every `tests/cases/*.json` file holds an array of cases
//! `{name, source, definition, input?, tasks?, expect}`; `source` cites the reference note
//! section (`workflows-and-events.md §1.x`) or the AWS-recorded snapshot the expectation
//! comes from.
//!
//! The host is simulated on a virtual clock: `tasks` scripts, per Task state, the answers
//! to its successive invocations (`{"output": v}`, `{"echo": true}` (answer with the
//! parameters), `{"error": e, "cause": c}`, `{"silent": true}`; each may add `"after": s`
//! and `"heartbeats": [s…]`, seconds after the invocation). After every step the execution
//! is serialized and deserialized, so every case also proves that a persisted execution
//! resumes exactly.
//!
//! `expect` holds any of: `status`, `output`, `error`, `cause`, `cause_contains`,
//! `elapsed` (virtual seconds until the end), `calls` (per invocation: `state`, `at`
//! seconds or `at_min`/`at_max` bounds, `parameters`, `token: true`), `history` (the exact event type sequence),
//! `history_contains` (types in order, gaps allowed), `load_error` (`state`, `field`,
//! `contains`).

use jiff::{SignedDuration, Timestamp};
use nexus_asl::{Command, Definition, Event, Execution, ExecutionInfo, Status};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

const START: &str = "2024-01-01T00:00:00Z";

#[derive(Debug)]
enum Action {
    Timer(u64),
    Answer(u64, Value),
    Heartbeat(u64),
}

struct Call {
    state: String,
    at: f64,
    parameters: Value,
    token: bool,
}

struct Run {
    status: Status,
    output: Option<Value>,
    error: Option<String>,
    cause: Option<String>,
    elapsed: f64,
    calls: Vec<Call>,
    history: Vec<String>,
}

fn secs(d: f64) -> SignedDuration {
    SignedDuration::from_secs_f64(d)
}

fn run_case(def: Definition, input: Value, tasks: &Value, seed: u64) -> Run {
    let start: Timestamp = START.parse().unwrap();
    let mut scripts: HashMap<String, VecDeque<Value>> = HashMap::new();
    if let Some(m) = tasks.as_object() {
        for (k, v) in m {
            scripts.insert(k.clone(), v.as_array().cloned().unwrap_or_default().into());
        }
    }
    let info = ExecutionInfo::local("sm", "exec", seed);
    let (mut ex, mut commands) = Execution::start(Arc::new(def), input, info, start).unwrap();
    let mut clock = start;
    let mut agenda: BTreeMap<(Timestamp, u64), Action> = BTreeMap::new();
    let mut seq = 0u64;
    let mut calls = Vec::new();
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 100_000, "runaway execution");
        for c in commands.drain(..) {
            seq += 1;
            match c {
                Command::StartTimer { timer_id, at } => {
                    agenda.insert((at, seq), Action::Timer(timer_id));
                }
                Command::CancelTimer { timer_id } => {
                    agenda.retain(|_, a| !matches!(a, Action::Timer(t) if *t == timer_id));
                }
                Command::CancelTask { task_id } => agenda.retain(|_, a| {
                    !matches!(a, Action::Answer(t, _) | Action::Heartbeat(t) if *t == task_id)
                }),
                Command::RunTask(req) => {
                    calls.push(Call {
                        state: req.state_name.clone(),
                        at: clock.duration_since(start).as_secs_f64(),
                        parameters: req.parameters.clone(),
                        token: req.task_token.is_some(),
                    });
                    let script = scripts
                        .get_mut(&req.state_name)
                        .and_then(|q| q.pop_front())
                        .unwrap_or_else(|| panic!("no scripted answer for task state {}", req.state_name));
                    let after = script.get("after").and_then(Value::as_f64).unwrap_or(0.0);
                    for h in script.get("heartbeats").and_then(Value::as_array).into_iter().flatten() {
                        seq += 1;
                        agenda.insert((clock + secs(h.as_f64().unwrap()), seq), Action::Heartbeat(req.task_id));
                    }
                    if script.get("silent").is_none() {
                        let answer = if script.get("echo").is_some() {
                            json!({"output": req.parameters})
                        } else {
                            script.clone()
                        };
                        seq += 1;
                        agenda.insert((clock + secs(after), seq), Action::Answer(req.task_id, answer));
                    }
                }
                Command::Finished(o) => {
                    return Run {
                        status: o.status,
                        output: o.output,
                        error: o.error,
                        cause: o.cause,
                        elapsed: clock.duration_since(start).as_secs_f64(),
                        calls,
                        history: ex.history().iter().map(|e| e.event_type.clone()).collect(),
                    }
                }
            }
        }
        let (&key, _) = agenda
            .iter()
            .next()
            .expect("the execution is stuck: nothing pending");
        let action = agenda.remove(&key).unwrap();
        clock = clock.max(key.0);
        let event = match action {
            Action::Timer(t) => Event::TimerFired { timer_id: t },
            Action::Heartbeat(t) => Event::TaskHeartbeat { task_id: t },
            Action::Answer(t, a) => match a.get("output") {
                Some(o) => Event::TaskSucceeded {
                    task_id: t,
                    output: o.clone(),
                },
                None => Event::TaskFailed {
                    task_id: t,
                    error: a.get("error").and_then(Value::as_str).map(str::to_string),
                    cause: a.get("cause").and_then(Value::as_str).map(str::to_string),
                },
            },
        };
        // Persist and resume at every step.
        let stored = serde_json::to_string(&ex).unwrap();
        ex = serde_json::from_str(&stored).unwrap();
        commands = ex.handle(event, clock).unwrap();
    }
}

fn check(case: &Value, file: &str) -> Result<(), String> {
    let name = case["name"].as_str().unwrap_or("?");
    let expect = &case["expect"];
    let def_text = serde_json::to_string(&case["definition"]).unwrap();
    let source_name = format!("cases/{file}#{name}");
    let loaded = Definition::parse(&def_text, &source_name);
    if let Some(le) = expect.get("load_error") {
        let e = match loaded {
            Ok(_) => return Err("expected a load error, the definition loaded".into()),
            Err(e) => e,
        };
        let text = e.to_string();
        if !text.starts_with(&source_name) {
            return Err(format!("load error does not name the file: {text}"));
        }
        if let Some(s) = le.get("state") {
            if e.state.as_deref() != s.as_str() {
                return Err(format!(
                    "load error state {:?}, expected {s}: {text}",
                    e.state
                ));
            }
        }
        if let Some(f) = le.get("field") {
            if e.field.as_deref() != f.as_str() {
                return Err(format!(
                    "load error field {:?}, expected {f}: {text}",
                    e.field
                ));
            }
        }
        if let Some(c) = le.get("contains").and_then(Value::as_str) {
            if !text.contains(c) {
                return Err(format!("load error lacks '{c}': {text}"));
            }
        }
        return Ok(());
    }
    let def = loaded.map_err(|e| format!("load failed: {e}"))?;
    let input = case.get("input").cloned().unwrap_or(json!({}));
    let seed = case.get("seed").and_then(Value::as_u64).unwrap_or(0);
    let r = run_case(def, input, &case["tasks"], seed);
    let got = json!({"status": r.status, "output": r.output, "error": r.error, "cause": r.cause});
    if let Some(s) = expect.get("status") {
        if json!(r.status) != *s {
            return Err(format!("status: got {got}"));
        }
    }
    if let Some(o) = expect.get("output") {
        if r.output.as_ref() != Some(o) {
            return Err(format!("output: expected {o}, got {got}"));
        }
        if let (Some(a), Some(b)) = (o.as_object(), r.output.as_ref().and_then(Value::as_object)) {
            if !a.keys().eq(b.keys()) {
                return Err(format!("key order: expected {o}, got {got}"));
            }
        }
    }
    for k in ["error", "cause"] {
        if let Some(v) = expect.get(k) {
            if got[k] != *v {
                return Err(format!("{k}: expected {v}, got {got}"));
            }
        }
    }
    if let Some(c) = expect.get("cause_contains").and_then(Value::as_str) {
        if !r.cause.as_deref().unwrap_or("").contains(c) {
            return Err(format!("cause lacks '{c}': got {got}"));
        }
    }
    if let Some(e) = expect.get("elapsed").and_then(Value::as_f64) {
        if (r.elapsed - e).abs() > 1e-3 {
            return Err(format!("elapsed {} s, expected {e} s", r.elapsed));
        }
    }
    if let Some(calls) = expect.get("calls").and_then(Value::as_array) {
        if calls.len() != r.calls.len() {
            let seen: Vec<_> = r
                .calls
                .iter()
                .map(|c| format!("{}@{}", c.state, c.at))
                .collect();
            return Err(format!("{} calls expected, got {seen:?}", calls.len()));
        }
        for (i, (want, c)) in calls.iter().zip(&r.calls).enumerate() {
            if let Some(s) = want.get("state") {
                if s != c.state.as_str() {
                    return Err(format!("call {i}: state {}, expected {s}", c.state));
                }
            }
            if let Some(at) = want.get("at").and_then(Value::as_f64) {
                if (at - c.at).abs() > 1e-3 {
                    return Err(format!(
                        "call {i} ({}) at {} s, expected {at} s",
                        c.state, c.at
                    ));
                }
            }
            if let Some(max) = want.get("at_max").and_then(Value::as_f64) {
                let min = want.get("at_min").and_then(Value::as_f64).unwrap_or(0.0);
                if c.at > max + 1e-3 || c.at < min - 1e-3 {
                    return Err(format!(
                        "call {i} ({}) at {} s, expected within [{min}, {max}]",
                        c.state, c.at
                    ));
                }
            }
            if let Some(p) = want.get("parameters") {
                if *p != c.parameters {
                    return Err(format!(
                        "call {i}: parameters {}, expected {p}",
                        c.parameters
                    ));
                }
            }
            if let Some(t) = want.get("token").and_then(Value::as_bool) {
                if t != c.token {
                    return Err(format!(
                        "call {i}: token presence {}, expected {t}",
                        c.token
                    ));
                }
            }
        }
    }
    if let Some(h) = expect.get("history").and_then(Value::as_array) {
        let want: Vec<&str> = h.iter().filter_map(Value::as_str).collect();
        if want != r.history {
            return Err(format!("history: expected {want:?}\n got {:?}", r.history));
        }
    }
    if let Some(h) = expect.get("history_contains").and_then(Value::as_array) {
        let mut it = r.history.iter();
        for w in h.iter().filter_map(Value::as_str) {
            if !it.any(|e| e == w) {
                return Err(format!("history lacks {w} (in order): {:?}", r.history));
            }
        }
    }
    Ok(())
}

#[test]
fn conformance_cases() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for f in files {
        let file = f.file_name().unwrap().to_string_lossy().to_string();
        let cases: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        for case in cases.as_array().unwrap() {
            count += 1;
            assert!(
                case.get("source")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty()),
                "{file}: case {} has no source",
                case["name"]
            );
            if let Err(e) = check(case, &file) {
                failures.push(format!(
                    "{file} / {}: {e}",
                    case["name"].as_str().unwrap_or("?")
                ));
            }
        }
    }
    println!("{count} conformance cases");
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
