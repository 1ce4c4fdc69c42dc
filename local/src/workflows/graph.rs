//! `GET /_local/executions/{id}/graph`: one execution's state machine drawn
//! as an SVG graph, each state coloured by what happened to it (not
//! reached, running, waiting on a token, succeeded, retried, caught,
//! failed), with the input and output of a clicked state. Self-contained
//! HTML (no external script or style), rendered on the server from the
//! definition and the history.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use nexus_asl::definition::{Kind, StateList, Transition};
use nexus_asl::{Execution, HistoryEvent, Status};
use serde::Serialize;
use serde_json::{json, Value};

use super::ExecutionView;

/// What happened to one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    NotReached,
    Running,
    Waiting,
    Succeeded,
    Retried,
    Caught,
    Failed,
}

impl Outcome {
    fn colour(self) -> &'static str {
        match self {
            Outcome::NotReached => "#e5e7eb",
            Outcome::Running => "#93c5fd",
            Outcome::Waiting => "#fde047",
            Outcome::Succeeded => "#86efac",
            Outcome::Retried => "#fdba74",
            Outcome::Caught => "#d8b4fe",
            Outcome::Failed => "#fca5a5",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Outcome::NotReached => "not reached",
            Outcome::Running => "running",
            Outcome::Waiting => "waiting on a token",
            Outcome::Succeeded => "succeeded",
            Outcome::Retried => "retried",
            Outcome::Caught => "caught",
            Outcome::Failed => "failed",
        }
    }
    const ALL: [Outcome; 7] = [
        Outcome::NotReached,
        Outcome::Running,
        Outcome::Waiting,
        Outcome::Succeeded,
        Outcome::Retried,
        Outcome::Caught,
        Outcome::Failed,
    ];
}

/// One state's summary, from the history.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StateRun {
    pub entered: u32,
    pub exited: u32,
    pub failures: u32,
    /// The last attempt's task result came back successfully after a failure.
    pub succeeded_after_failure: bool,
    pub fail_state: bool,
    pub submitted: bool,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

fn parse_json_string(v: Option<&Value>) -> Option<Value> {
    let s = v?.as_str()?;
    Some(serde_json::from_str(s).unwrap_or_else(|_| json!(s)))
}

fn is_failure(t: &str) -> bool {
    !t.starts_with("Execution")
        && !t.starts_with("MapIteration")
        && (t.ends_with("Failed") || t.ends_with("TimedOut"))
}

/// Per state name: what the history says happened.
pub fn summarise(history: &[HistoryEvent]) -> HashMap<String, StateRun> {
    let by_id: HashMap<u64, &HistoryEvent> = history.iter().map(|e| (e.id, e)).collect();
    // The state an event belongs to: walk previous ids back to a *StateEntered.
    let state_of = |e: &HistoryEvent| -> Option<String> {
        let mut cur = by_id.get(&e.previous_event_id).copied();
        let mut guard = 0;
        while let Some(ev) = cur {
            if ev.event_type.ends_with("StateEntered") {
                return ev.detail("name").and_then(Value::as_str).map(str::to_owned);
            }
            guard += 1;
            if guard > 10_000 || ev.previous_event_id == 0 {
                return None;
            }
            cur = by_id.get(&ev.previous_event_id).copied();
        }
        None
    };
    let mut out: HashMap<String, StateRun> = HashMap::new();
    for e in history {
        let t = e.event_type.as_str();
        if t.ends_with("StateEntered") {
            let Some(name) = e.detail("name").and_then(Value::as_str) else {
                continue;
            };
            let s = out.entry(name.to_owned()).or_default();
            s.entered += 1;
            s.input = parse_json_string(e.detail("input"));
            s.fail_state |= t == "FailStateEntered";
        } else if t.ends_with("StateExited") {
            let Some(name) = e.detail("name").and_then(Value::as_str) else {
                continue;
            };
            let s = out.entry(name.to_owned()).or_default();
            s.exited += 1;
            s.output = parse_json_string(e.detail("output"));
        } else if let Some(name) = state_of(e) {
            let s = out.entry(name).or_default();
            if is_failure(t) {
                s.failures += 1;
                s.succeeded_after_failure = false;
                s.error = e.detail("error").and_then(Value::as_str).map(str::to_owned);
                s.cause = e.detail("cause").and_then(Value::as_str).map(str::to_owned);
            } else if t == "TaskSucceeded" || t == "LambdaFunctionSucceeded" {
                s.succeeded_after_failure = s.failures > 0;
            } else if t == "TaskSubmitted" {
                s.submitted = true;
            }
        }
    }
    out
}

/// The colour-giving outcome of a state.
pub fn outcome(run: Option<&StateRun>, waits_for_token: bool, status: Status) -> Outcome {
    let Some(r) = run else {
        return Outcome::NotReached;
    };
    if r.fail_state {
        return Outcome::Failed;
    }
    let open = r.entered > r.exited;
    if open {
        if status != Status::Running {
            return if r.failures > 0 {
                Outcome::Failed
            } else {
                Outcome::Running
            };
        }
        return if waits_for_token {
            Outcome::Waiting
        } else if r.failures > 0 {
            Outcome::Retried
        } else {
            Outcome::Running
        };
    }
    match (r.failures, r.succeeded_after_failure) {
        (0, _) => Outcome::Succeeded,
        (_, true) => Outcome::Retried,
        (_, false) => Outcome::Caught,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Where a state goes next: (target, label).
fn edges(kind: &Kind, transition: &Transition) -> Vec<(String, String)> {
    let mut out = vec![];
    if let Transition::Next(n) = transition {
        out.push((n.clone(), String::new()));
    }
    match kind {
        Kind::Choice { choices, default } => {
            for (i, (_, next)) in choices.iter().enumerate() {
                out.push((next.clone(), format!("rule {}", i + 1)));
            }
            if let Some(d) = default {
                out.push((d.clone(), "default".into()));
            }
        }
        Kind::Task(t) => {
            for c in &t.catch {
                out.push((
                    c.next.clone(),
                    format!("catch {}", c.error_equals.join(",")),
                ));
            }
        }
        Kind::Parallel { catch, .. } => {
            for c in catch {
                out.push((
                    c.next.clone(),
                    format!("catch {}", c.error_equals.join(",")),
                ));
            }
        }
        Kind::Map(m) => {
            for c in &m.catch {
                out.push((
                    c.next.clone(),
                    format!("catch {}", c.error_equals.join(",")),
                ));
            }
        }
        _ => {}
    }
    out
}

const W: i64 = 190;
const H: i64 = 46;
const GAP_X: i64 = 40;
const GAP_Y: i64 = 56;

/// Draw one state list (a graph), appending nested lists to `nested`.
fn draw_list<'d>(
    title: &str,
    list: &'d StateList,
    runs: &HashMap<String, StateRun>,
    status: Status,
    nested: &mut Vec<(String, &'d StateList)>,
    states: &mut BTreeMap<String, Value>,
) -> (String, i64, i64) {
    // Ranks: longest-first BFS from StartAt; unreachable states go last.
    let mut rank: BTreeMap<&str, i64> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([(list.start_at.as_str(), 0i64)]);
    while let Some((name, r)) = queue.pop_front() {
        if rank.contains_key(name) || !list.states.contains_key(name) {
            continue;
        }
        rank.insert(name, r);
        let s = list.get(name);
        for (next, _) in edges(&s.kind, &s.transition) {
            if let Some((k, _)) = list.states.get_key_value(next.as_str()) {
                queue.push_back((k.as_str(), r + 1));
            }
        }
    }
    let max_rank = rank.values().copied().max().unwrap_or(0);
    for name in &list.order {
        if !rank.contains_key(name.as_str()) {
            rank.insert(name, max_rank + 1);
        }
    }
    let mut rows: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for name in &list.order {
        rows.entry(rank[name.as_str()]).or_default().push(name);
    }
    let widest = rows.values().map(Vec::len).max().unwrap_or(1) as i64;
    let width = widest * (W + GAP_X) + GAP_X;
    let mut pos: HashMap<&str, (i64, i64)> = HashMap::new();
    for (r, names) in &rows {
        let row_w = names.len() as i64 * (W + GAP_X) - GAP_X;
        let x0 = (width - row_w) / 2;
        for (i, n) in names.iter().enumerate() {
            pos.insert(n, (x0 + i as i64 * (W + GAP_X), 36 + r * (H + GAP_Y)));
        }
    }
    let height = 36 + rows.len() as i64 * (H + GAP_Y);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="graph" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{t}"><text x="8" y="20" class="title">{t}</text>"#,
        t = escape(title)
    );
    for name in &list.order {
        let s = list.get(name);
        let (x, y) = pos[name.as_str()];
        for (next, label) in edges(&s.kind, &s.transition) {
            let Some(&(nx, ny)) = pos.get(next.as_str()) else {
                continue;
            };
            let (x1, y1, x2, y2) = (x + W / 2, y + H, nx + W / 2, ny);
            let path = if ny > y {
                format!("M{x1},{y1} C{x1},{} {x2},{} {x2},{y2}", y1 + 24, y2 - 24)
            } else {
                // Back (or sideways) edge: around the right side.
                let side = x.max(nx) + W + 24;
                format!(
                    "M{},{} C{side},{} {side},{} {},{}",
                    x + W,
                    y + H / 2,
                    y + H / 2,
                    ny + H / 2,
                    nx + W,
                    ny + H / 2
                )
            };
            let dashed = if label.starts_with("catch") {
                r#" stroke-dasharray="5 4""#
            } else {
                ""
            };
            let _ = write!(
                svg,
                r##"<path d="{path}" fill="none" stroke="#6b7280" stroke-width="1.4"{dashed} marker-end="url(#arrow)"><title>{}</title></path>"##,
                escape(&label)
            );
            if !label.is_empty() {
                let _ = write!(
                    svg,
                    r##"<text x="{}" y="{}" class="edge">{}</text>"##,
                    (x1 + x2) / 2 + 4,
                    (y1 + y2) / 2,
                    escape(&label.chars().take(28).collect::<String>())
                );
            }
        }
    }
    for name in &list.order {
        let s = list.get(name);
        let (x, y) = pos[name.as_str()];
        let waits = matches!(&s.kind, Kind::Task(t) if t.resource.waits_for_task_token());
        let run = runs.get(name.as_str());
        let o = outcome(run, waits, status);
        let ty = s.kind.type_name();
        let _ = write!(
            svg,
            r##"<g class="state" tabindex="0" data-state="{n}" data-outcome="{o}"><rect x="{x}" y="{y}" width="{W}" height="{H}" rx="8" fill="{c}" stroke="#374151"/><text x="{tx}" y="{ty1}" class="name">{nshort}</text><text x="{tx}" y="{ty2}" class="type">{ty} · {ol}</text></g>"##,
            n = escape(name),
            o = serde_json::to_value(o)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            c = o.colour(),
            tx = x + 10,
            ty1 = y + 19,
            ty2 = y + 36,
            nshort = escape(&name.chars().take(24).collect::<String>()),
            ol = o.label(),
        );
        states.insert(
            name.clone(),
            json!({
                "type": ty,
                "outcome": o.label(),
                "entered": run.map_or(0, |r| r.entered),
                "failures": run.map_or(0, |r| r.failures),
                "input": run.and_then(|r| r.input.clone()),
                "output": run.and_then(|r| r.output.clone()),
                "error": run.and_then(|r| r.error.clone()),
                "cause": run.and_then(|r| r.cause.clone()),
            }),
        );
        match &s.kind {
            Kind::Parallel { branches, .. } => {
                for (i, b) in branches.iter().enumerate() {
                    nested.push((format!("{name} · branch {}", i + 1), b));
                }
            }
            Kind::Map(m) => nested.push((format!("{name} · iteration"), &m.processor)),
            _ => {}
        }
    }
    svg.push_str("</svg>");
    (svg, width, height)
}

/// The whole page.
pub fn page(view: &ExecutionView, execution: &Execution) -> String {
    let runs = summarise(execution.history());
    let def = execution.definition();
    let mut states = BTreeMap::new();
    let mut graphs = vec![];
    let mut pending: Vec<(String, &StateList)> = vec![];
    let (svg, _, _) = draw_list(
        &view.state_machine,
        &def.root,
        &runs,
        view.status,
        &mut pending,
        &mut states,
    );
    graphs.push(svg);
    while !pending.is_empty() {
        let (title, list) = pending.remove(0);
        let (svg, _, _) = draw_list(&title, list, &runs, view.status, &mut pending, &mut states);
        graphs.push(svg);
    }
    let legend: String = Outcome::ALL
        .iter()
        .map(|o| {
            format!(
                r#"<span class="key"><i style="background:{}"></i>{}</span>"#,
                o.colour(),
                o.label()
            )
        })
        .collect();
    let data = serde_json::to_string(&json!({"states": states, "execution": view}))
        .unwrap_or_default()
        .replace("</", "<\\/");
    let status = serde_json::to_value(view.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!(
        r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name} · {status}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font:14px system-ui,sans-serif;margin:0;color:#111827;display:flex;min-height:100vh}}
main{{flex:1;padding:16px;overflow:auto}} aside{{width:380px;border-left:1px solid #d1d5db;padding:16px;background:#f9fafb;overflow:auto}}
h1{{font-size:18px;margin:0 0 4px}} .status{{font-weight:600}} .key{{margin-right:12px;white-space:nowrap}}
.key i{{display:inline-block;width:12px;height:12px;border:1px solid #374151;border-radius:3px;margin-right:4px;vertical-align:-1px}}
svg.graph{{display:block;margin:12px 0;background:#fff;border:1px solid #e5e7eb;border-radius:8px}}
svg .title{{font-weight:600;fill:#374151}} svg .name{{font-weight:600;font-size:13px}} svg .type{{font-size:11px;fill:#374151}}
svg .edge{{font-size:10px;fill:#6b7280}} g.state{{cursor:pointer}} g.state.selected rect{{stroke-width:3;stroke:#1d4ed8}}
pre{{background:#fff;border:1px solid #e5e7eb;padding:8px;white-space:pre-wrap;word-break:break-all;max-height:260px;overflow:auto}}
</style></head><body>
<main>
<h1>{name}</h1>
<div>State machine <b>{machine}</b> · status <span class="status" id="status">{status}</span></div>
<div class="legend">{legend}</div>
<svg width="0" height="0" style="position:absolute"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs></svg>
{graphs}
</main>
<aside>
<h2 id="selected">Execution</h2>
<div id="summary"></div>
<h3>Input</h3><pre id="input"></pre>
<h3>Output</h3><pre id="output"></pre>
<div id="failure" hidden><h3>Error</h3><pre id="error"></pre></div>
</aside>
<script type="application/json" id="data">{data}</script>
<script>
const data = JSON.parse(document.getElementById('data').textContent);
const show = (title, summary, input, output, error) => {{
  document.getElementById('selected').textContent = title;
  document.getElementById('summary').textContent = summary;
  document.getElementById('input').textContent = input === undefined || input === null ? '—' : JSON.stringify(input, null, 2);
  document.getElementById('output').textContent = output === undefined || output === null ? '—' : JSON.stringify(output, null, 2);
  document.getElementById('failure').hidden = !error;
  document.getElementById('error').textContent = error || '';
}};
const ex = data.execution;
const showExecution = () => show('Execution', ex.status, ex.input, ex.output, ex.error ? ex.error + (ex.cause ? ': ' + ex.cause : '') : '');
showExecution();
for (const g of document.querySelectorAll('g.state')) {{
  const select = () => {{
    document.querySelectorAll('g.state.selected').forEach(x => x.classList.remove('selected'));
    g.classList.add('selected');
    const name = g.dataset.state, s = data.states[name];
    show(name, s.type + ' · ' + s.outcome + ' · entered ' + s.entered + '×' + (s.failures ? ' · ' + s.failures + ' failure(s)' : ''),
         s.input, s.output, s.error ? s.error + (s.cause ? ': ' + s.cause : '') : '');
  }};
  g.addEventListener('click', select);
  g.addEventListener('keydown', e => {{ if (e.key === 'Enter') select(); }});
}}
</script>
</body></html>"##,
        name = escape(&view.name),
        machine = escape(&view.state_machine),
        graphs = graphs.join("\n"),
    )
}
