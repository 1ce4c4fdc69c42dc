//! EventBridge event-pattern matching with event-ruler semantics.
//!
//! [`EventPattern::parse`] validates a pattern the way `PutRule` does and compiles
//! it. [`EventPattern::matches`] then tests an event envelope against it. See
//! `workflows-and-events.md` §2.4 for the reference semantics.
//!
//! How matching works:
//! - Pattern and event are both flattened into dotted paths (`detail.state.status`).
//!   So a nested pattern also matches an event key that contains dots.
//! - Event arrays are transparent. A leaf matches if any element matches.
//! - Fields of one pattern that land in the same event array must match in the
//!   *same* element. With objects `{x,y}` in an array, `x` and `y` must both come from
//!   one element.
//!
//! Deliberate simplifications (documented deviations):
//! - `exists: false` is evaluated over the whole event. It holds only when no value
//!   exists at that path in any array element. It is not evaluated per array element.
//! - The same-element search is bounded by a step budget. Past the budget, a
//!   pathological event falls back to the relaxed rule: each field only needs to
//!   match *some* element.
//! - Wildcard "complexity" is approximated. More than 5 `*` in one wildcard is
//!   rejected, like `*:*:*:*:*:event-bus/*` on AWS.
//! - Numbers compare as `f64`. Numeric operands outside ±5e9 are accepted. Such
//!   operands are reported by [`EventPattern::warnings`], because AWS documents the
//!   smaller range.

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;

use serde_json::{Map, Value};

const MAX_DEPTH: usize = 128;
const MAX_WILDCARDS: usize = 5;
const SEARCH_BUDGET: usize = 100_000;
const DOCUMENTED_NUMERIC_LIMIT: f64 = 5.0e9;
/// Reserved operator names; a `$or` entry using one of them makes `$or` a plain field.
const OPERATORS: &str =
    "prefix suffix equals-ignore-case wildcard anything-but numeric cidr exists";
const SCALAR_ONLY: &str = "match value must be a string, number, true, false, or null";

/// Why an event pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The pattern text is not JSON.
    #[error("event pattern is not valid JSON: {0}")]
    Json(String),
    /// The pattern is valid JSON but not an object.
    #[error("event pattern must be a JSON object")]
    NotAnObject,
    /// A part of the pattern breaks the rules. `path` is the dotted field path.
    #[error("event pattern is not valid at \"{path}\": {reason}")]
    Invalid { path: String, reason: String },
}

fn bad(path: &str, reason: impl Into<String>) -> PatternError {
    let path = if path.is_empty() { "<root>" } else { path };
    let (path, reason) = (path.to_owned(), reason.into());
    PatternError::Invalid { path, reason }
}

/// A validated, compiled EventBridge event pattern.
#[derive(Debug, Clone)]
pub struct EventPattern {
    fields: Vec<Field>,
    root: Group,
    warnings: Vec<String>,
}

/// One leaf of the pattern: a dotted path and its ORed matchers.
#[derive(Debug, Clone)]
struct Field {
    path: String,
    matchers: Vec<Matcher>,
}

/// An AND of fields (indices into `EventPattern::fields`) and `$or` blocks.
#[derive(Debug, Clone, Default)]
struct Group {
    fields: Vec<usize>,
    ors: Vec<Vec<Group>>,
}

#[derive(Debug, Clone)]
enum Matcher {
    Exact(Value),
    Affix(Affix),
    IgnoreCase(String),
    Wildcard(Glob),
    AnythingBut(AnythingBut),
    Numeric(Vec<(Cmp, f64)>),
    Cidr(Cidr),
    Exists(bool),
}

#[derive(Debug, Clone)]
enum AnythingBut {
    Strings(Vec<String>),
    Numbers(Vec<f64>),
    Affixes(Vec<Affix>),
    IgnoreCase(Vec<String>),
    Wildcard(Vec<Glob>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A prefix or suffix; `text` is lowercased when `ignore_case`.
#[derive(Debug, Clone)]
struct Affix {
    text: String,
    suffix: bool,
    ignore_case: bool,
}

/// An IPv4 (mapped into the low 32 bits) or IPv6 network.
#[derive(Debug, Clone, Copy)]
struct Cidr {
    v4: bool,
    net: u128,
    mask: u128,
}

/// A wildcard pattern: `None` is `*`, `Some(c)` a literal character.
#[derive(Debug, Clone)]
struct Glob(Vec<Option<char>>);

impl EventPattern {
    /// Validates and compiles a pattern given as JSON.
    pub fn parse(pattern: &Value) -> Result<EventPattern, PatternError> {
        let obj = pattern.as_object().ok_or(PatternError::NotAnObject)?;
        let mut builder = Builder::default();
        let root = builder.group(obj, "", 0)?;
        let Builder { fields, warnings } = builder;
        Ok(EventPattern {
            fields,
            root,
            warnings,
        })
    }

    /// Parses pattern text (as stored in a rule's `EventPattern`) and compiles it.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(s: &str) -> Result<EventPattern, PatternError> {
        let value: Value =
            serde_json::from_str(s).map_err(|e| PatternError::Json(e.to_string()))?;
        Self::parse(&value)
    }

    /// Warnings for valid patterns that may not behave like this on AWS, such as
    /// numeric operands outside ±5e9.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Tests an event (normally the full EventBridge envelope) against the pattern.
    /// An event that is not a JSON object never matches.
    pub fn matches(&self, event: &Value) -> bool {
        if !event.is_object() {
            return false;
        }
        let mut leaves = Vec::new();
        Walk::default().collect(&self.fields, event, 0, &mut leaves);

        let mut by_path: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, leaf) in leaves.iter().enumerate() {
            by_path.entry(leaf.path.as_str()).or_default().push(i);
        }
        let mut candidates = Vec::with_capacity(self.fields.len());
        let mut absent_ok = Vec::with_capacity(self.fields.len());
        for field in &self.fields {
            let at = by_path.get(field.path.as_str()).map_or(&[][..], |v| v);
            let hit = |i: &&usize| {
                let value = leaves.get(**i).map(|leaf| leaf.value);
                value.is_some_and(|v| field.matchers.iter().any(|m| m.matches(v)))
            };
            candidates.push(at.iter().filter(hit).copied().collect::<Vec<_>>());
            let absent = |m: &Matcher| matches!(m, Matcher::Exists(false));
            absent_ok.push(at.is_empty() && field.matchers.iter().any(absent));
        }

        let mut goals = Vec::new();
        self.root.push_goals(&mut goals, &candidates);
        let mut search = Search {
            leaves: &leaves,
            candidates: &candidates,
            absent_ok: &absent_ok,
            strict: true,
            steps_left: SEARCH_BUDGET,
        };
        if let Ok(found) = search.solve(&goals, &mut Vec::new()) {
            return found;
        }
        (search.strict, search.steps_left) = (false, usize::MAX);
        search.solve(&goals, &mut Vec::new()).unwrap_or(false)
    }
}

impl FromStr for EventPattern {
    type Err = PatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventPattern::from_str(s)
    }
}

#[derive(Default)]
struct Builder {
    fields: Vec<Field>,
    warnings: Vec<String>,
}

type Object = Map<String, Value>;
type Res<T> = Result<T, PatternError>;

impl Builder {
    fn group(&mut self, obj: &Object, prefix: &str, depth: usize) -> Res<Group> {
        let mut group = Group::default();
        self.fill(&mut group, obj, prefix, depth)?;
        Ok(group)
    }

    /// Adds the fields of `obj` (nested objects flattened into dotted paths) to `group`.
    fn fill(&mut self, group: &mut Group, obj: &Object, prefix: &str, depth: usize) -> Res<()> {
        if depth > MAX_DEPTH {
            return Err(bad(prefix, "pattern is nested too deeply"));
        }
        if obj.is_empty() {
            return Err(bad(prefix, "empty objects are not allowed"));
        }
        for (key, value) in obj {
            if let Some(alternatives) = or_alternatives(key, value) {
                if alternatives.len() < 2 {
                    return Err(bad(prefix, "\"$or\" needs an array of at least 2 objects"));
                }
                let alt = |a| self.group(a, prefix, depth + 1);
                let groups: Res<Vec<_>> = alternatives.into_iter().map(alt).collect();
                group.ors.push(groups?);
                continue;
            }
            let path = format!("{prefix}{}{key}", if prefix.is_empty() { "" } else { "." });
            match value {
                Value::Object(child) => self.fill(group, child, &path, depth + 1)?,
                Value::Array(items) if items.is_empty() => {
                    return Err(bad(&path, "empty arrays are not allowed"));
                }
                Value::Array(items) => {
                    let matchers: Result<Vec<_>, _> =
                        items.iter().map(|item| self.matcher(item, &path)).collect();
                    let matchers = matchers?;
                    self.fields.push(Field { path, matchers });
                    group.fields.push(self.fields.len() - 1);
                }
                _ => return Err(bad(&path, "must be an object or an array")),
            }
        }
        Ok(())
    }

    fn matcher(&mut self, item: &Value, path: &str) -> Res<Matcher> {
        let obj = match item {
            Value::Object(obj) => obj,
            Value::Array(_) => return Err(bad(path, SCALAR_ONLY)),
            scalar => return Ok(Matcher::Exact(scalar.clone())),
        };
        let Some((op, arg)) = single_entry(obj) else {
            return Err(bad(path, "a match expression takes exactly one key"));
        };
        let ignore_case = |v: &Object| match single_entry(v) {
            Some(("equals-ignore-case", Value::String(s))) => Some(s.to_lowercase()),
            _ => None,
        };
        match (op, arg) {
            ("prefix" | "suffix", Value::String(s)) => Ok(Matcher::Affix(Affix::new(op, s, false))),
            ("prefix" | "suffix", Value::Object(inner)) => match ignore_case(inner) {
                Some(s) => Ok(Matcher::Affix(Affix::new(op, &s, true))),
                None => Err(bad(path, format!("{op} nests only equals-ignore-case"))),
            },
            ("equals-ignore-case", Value::String(s)) => Ok(Matcher::IgnoreCase(s.to_lowercase())),
            ("wildcard", Value::String(s)) => Glob::parse(s, path).map(Matcher::Wildcard),
            ("cidr", Value::String(s)) => Cidr::parse(s, path).map(Matcher::Cidr),
            ("prefix" | "suffix" | "equals-ignore-case" | "wildcard" | "cidr", _) => {
                Err(bad(path, format!("{op} match pattern must be a string")))
            }
            ("exists", Value::Bool(b)) => Ok(Matcher::Exists(*b)),
            ("exists", _) => Err(bad(path, "exists takes true or false")),
            ("anything-but", _) => anything_but(arg, path).map(Matcher::AnythingBut),
            ("numeric", _) => self.numeric(arg, path).map(Matcher::Numeric),
            _ => Err(bad(path, format!("unrecognized match type {op}"))),
        }
    }

    fn numeric(&mut self, arg: &Value, path: &str) -> Res<Vec<(Cmp, f64)>> {
        let Some(items) = arg.as_array() else {
            return Err(bad(path, "value of numeric must be an array"));
        };
        let mut conds = Vec::new();
        for pair in items.chunks(2) {
            let op = match pair.first().and_then(Value::as_str) {
                Some("=") => Cmp::Eq,
                Some("<") => Cmp::Lt,
                Some("<=") => Cmp::Le,
                Some(">") => Cmp::Gt,
                Some(">=") => Cmp::Ge,
                _ => return Err(bad(path, "numeric operators must be one of = < <= > >=")),
            };
            let n = pair.get(1).and_then(Value::as_f64);
            let n = n.ok_or_else(|| bad(path, "each numeric operator needs a number after it"))?;
            if n.abs() > DOCUMENTED_NUMERIC_LIMIT {
                let warning = format!("{path}: numeric operand {n} is outside AWS's ±5e9");
                self.warnings.push(warning);
            }
            conds.push((op, n));
        }
        match conds.as_slice() {
            [_] => Ok(conds),
            [(Cmp::Gt | Cmp::Ge, low), (Cmp::Lt | Cmp::Le, high)] if low < high => Ok(conds),
            [(Cmp::Gt | Cmp::Ge, _), (Cmp::Lt | Cmp::Le, _)] => {
                Err(bad(path, "numeric range bottom must be less than top"))
            }
            _ => Err(bad(path, "numeric needs one condition or a range")),
        }
    }
}

/// The alternatives of a real `$or`. `None` means the key is an ordinary field:
/// not `$or`, or (legacy) `$or` whose entries are not all operator-free objects.
fn or_alternatives<'v>(key: &str, value: &'v Value) -> Option<Vec<&'v Object>> {
    if key != "$or" {
        return None;
    }
    let is_operator = |k: &String| OPERATORS.split(' ').any(|op| op == k);
    let plain = |item: &'v Value| item.as_object().filter(|o| !o.keys().any(is_operator));
    value.as_array()?.iter().map(plain).collect()
}

fn single_entry(obj: &Object) -> Option<(&str, &Value)> {
    let mut entries = obj.iter();
    match (entries.next(), entries.next()) {
        (Some((k, v)), None) => Some((k.as_str(), v)),
        _ => None,
    }
}

fn owned_str(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// A string, or a non-empty list of strings.
fn strings_of(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) if !items.is_empty() => items.iter().map(owned_str).collect(),
        _ => None,
    }
}

fn anything_but(arg: &Value, path: &str) -> Res<AnythingBut> {
    if let Value::Object(obj) = arg {
        let Some((op, operand)) = single_entry(obj) else {
            return Err(bad(path, "anything-but takes one nested operator"));
        };
        let Some(list) = strings_of(operand) else {
            return Err(bad(path, format!("anything-but/{op} takes strings only")));
        };
        return match op {
            "prefix" | "suffix" if list.iter().any(String::is_empty) => {
                Err(bad(path, format!("empty anything-but/{op} is not allowed")))
            }
            "prefix" | "suffix" => Ok(AnythingBut::Affixes(
                list.iter().map(|s| Affix::new(op, s, false)).collect(),
            )),
            "equals-ignore-case" => Ok(AnythingBut::IgnoreCase(
                list.iter().map(|s| s.to_lowercase()).collect(),
            )),
            "wildcard" => {
                let globs: Result<Vec<_>, _> = list.iter().map(|s| Glob::parse(s, path)).collect();
                globs.map(AnythingBut::Wildcard)
            }
            _ => Err(bad(path, format!("unsupported anything-but operator {op}"))),
        };
    }
    if let Some(strings) = strings_of(arg) {
        return Ok(AnythingBut::Strings(strings));
    }
    let items = match arg {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let numbers: Option<Vec<f64>> = items.iter().map(Value::as_f64).collect();
    let numbers = numbers.filter(|n| !n.is_empty()).map(AnythingBut::Numbers);
    numbers.ok_or_else(|| bad(path, "anything-but takes strings or numbers"))
}

impl Glob {
    fn parse(s: &str, path: &str) -> Res<Glob> {
        let mut tokens = Vec::with_capacity(s.len());
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped @ ('*' | '\\')) => tokens.push(Some(escaped)),
                    _ => return Err(bad(path, r"wildcard escapes are only \* and \\")),
                },
                '*' if tokens.last() == Some(&None) => {
                    return Err(bad(path, "consecutive wildcard characters are not allowed"));
                }
                '*' => tokens.push(None),
                other => tokens.push(Some(other)),
            }
        }
        if tokens.iter().filter(|t| t.is_none()).count() > MAX_WILDCARDS {
            return Err(bad(path, "rule is too complex - use fewer wildcards"));
        }
        Ok(Glob(tokens))
    }

    /// `*` matches zero or more characters (linear scan, backtracking to the last `*`).
    fn matches(&self, text: &str) -> bool {
        let (pat, text): (&[Option<char>], Vec<char>) = (&self.0, text.chars().collect());
        let (mut p, mut t, mut star) = (0, 0, None);
        while t < text.len() {
            match pat.get(p) {
                Some(Some(c)) if text.get(t) == Some(c) => (p, t) = (p + 1, t + 1),
                Some(None) => (star, p) = (Some((p, t)), p + 1),
                _ => match star {
                    Some((sp, st)) => (p, t, star) = (sp + 1, st + 1, Some((sp, st + 1))),
                    None => return false,
                },
            }
        }
        let rest = pat.get(p..).unwrap_or_default();
        rest.iter().all(Option::is_none)
    }
}

/// The address as a number; IPv4 uses the low 32 bits.
fn ip_bits(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(a) => (true, u128::from(u32::from(a))),
        IpAddr::V6(a) => (false, u128::from(a)),
    }
}

impl Cidr {
    fn parse(s: &str, path: &str) -> Res<Cidr> {
        let err = |why: &str| bad(path, format!("malformed CIDR {s:?}: {why}"));
        let (ip, bits) = s.split_once('/').ok_or_else(|| err("one '/' required"))?;
        let (v4, addr) = ip_bits(ip.parse().map_err(|_| err("nonstandard IP address"))?);
        let width = if v4 { 32 } else { 128 };
        let bits = match bits.parse::<u32>() {
            Ok(n) if n <= width && bits.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(err("mask bits must be an integer within the address size")),
        };
        let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0) >> (128 - width);
        let net = addr & mask;
        Ok(Cidr { v4, net, mask })
    }

    /// Whether `text` is an IP address of the same family inside this network.
    fn contains(&self, text: &str) -> bool {
        let Ok(ip) = text.parse() else { return false };
        let (v4, addr) = ip_bits(ip);
        v4 == self.v4 && addr & self.mask == self.net
    }
}

impl Affix {
    fn new(op: &str, text: &str, ignore_case: bool) -> Affix {
        let (text, suffix) = (text.to_owned(), op == "suffix");
        Affix {
            text,
            suffix,
            ignore_case,
        }
    }

    fn matches(&self, s: &str) -> bool {
        let lower;
        let s = if self.ignore_case {
            lower = s.to_lowercase();
            lower.as_str()
        } else {
            s
        };
        if self.suffix {
            s.ends_with(&self.text)
        } else {
            s.starts_with(&self.text)
        }
    }
}

impl Matcher {
    /// Whether a value that is present in the event satisfies this matcher.
    fn matches(&self, value: &Value) -> bool {
        let text = value.as_str();
        match self {
            Matcher::Exact(Value::Number(n)) => {
                value.as_f64().is_some_and(|x| n.as_f64() == Some(x))
            }
            Matcher::Exact(expected) => expected == value,
            Matcher::Affix(a) => text.is_some_and(|s| a.matches(s)),
            Matcher::IgnoreCase(p) => text.is_some_and(|s| s.to_lowercase() == *p),
            Matcher::Wildcard(glob) => text.is_some_and(|s| glob.matches(s)),
            Matcher::AnythingBut(ab) => ab.matches(value),
            Matcher::Numeric(conds) => value.as_f64().is_some_and(|x| {
                conds.iter().all(|&(op, n)| match op {
                    Cmp::Eq => x == n,
                    Cmp::Lt => x < n,
                    Cmp::Le => x <= n,
                    Cmp::Gt => x > n,
                    Cmp::Ge => x >= n,
                })
            }),
            Matcher::Cidr(cidr) => text.is_some_and(|s| cidr.contains(s)),
            Matcher::Exists(present) => *present,
        }
    }
}

impl AnythingBut {
    /// Values of another type (and `null`) always satisfy anything-but.
    fn matches(&self, value: &Value) -> bool {
        let Some(s) = value.as_str() else {
            return match (self, value.as_f64()) {
                (AnythingBut::Numbers(list), Some(x)) => !list.contains(&x),
                _ => true,
            };
        };
        match self {
            AnythingBut::Strings(list) => !list.iter().any(|x| x == s),
            AnythingBut::Numbers(_) => true,
            AnythingBut::Affixes(list) => !list.iter().any(|a| a.matches(s)),
            AnythingBut::IgnoreCase(list) => !list.contains(&s.to_lowercase()),
            AnythingBut::Wildcard(list) => !list.iter().any(|g| g.matches(s)),
        }
    }
}

/// A scalar value of the event at a flattened path. `trail` records, for each
/// enclosing array, the array's id and the element index.
struct Leaf<'e> {
    path: String,
    value: &'e Value,
    trail: Vec<(usize, usize)>,
}

/// State while flattening the relevant part of an event into leaves.
#[derive(Default)]
struct Walk {
    path: String,
    trail: Vec<(usize, usize)>,
    arrays: usize,
}

impl Walk {
    /// True if the current path equals a pattern field path or is a dotted prefix of one.
    fn relevant(&self, fields: &[Field]) -> bool {
        let mut rests = fields
            .iter()
            .filter_map(|f| f.path.strip_prefix(self.path.as_str()));
        rests.any(|rest| rest.is_empty() || rest.starts_with('.'))
    }

    fn collect<'e>(
        &mut self,
        fields: &[Field],
        value: &'e Value,
        depth: usize,
        out: &mut Vec<Leaf<'e>>,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let len = self.path.len();
                    if len > 0 {
                        self.path.push('.');
                    }
                    self.path.push_str(key);
                    if self.relevant(fields) {
                        self.collect(fields, child, depth + 1, out);
                    }
                    self.path.truncate(len);
                }
            }
            Value::Array(items) => {
                let id = self.arrays;
                self.arrays += 1;
                for (i, item) in items.iter().enumerate() {
                    self.trail.push((id, i));
                    self.collect(fields, item, depth + 1, out);
                    self.trail.pop();
                }
            }
            value => {
                let (path, trail) = (self.path.clone(), self.trail.clone());
                out.push(Leaf { path, value, trail });
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Goal<'p> {
    Field(usize),
    Or(&'p [Group]),
}

impl Group {
    /// Pushes this group's goals, the most selective fields first (prunes the search).
    fn push_goals<'p>(&'p self, goals: &mut Vec<Goal<'p>>, candidates: &[Vec<usize>]) {
        let mut fields = self.fields.clone();
        fields.sort_by_key(|&f| candidates.get(f).map_or(0, Vec::len));
        goals.extend(fields.into_iter().map(Goal::Field));
        goals.extend(self.ors.iter().map(|alts| Goal::Or(alts.as_slice())));
    }
}

struct BudgetExhausted;
type Found = Result<bool, BudgetExhausted>;

struct Search<'a, 'e> {
    leaves: &'a [Leaf<'e>],
    candidates: &'a [Vec<usize>],
    absent_ok: &'a [bool],
    /// Whether leaves chosen for different fields must share array elements.
    strict: bool,
    steps_left: usize,
}

impl Search<'_, '_> {
    /// Backtracking search: can every goal be met with mutually compatible leaves?
    fn solve(&mut self, goals: &[Goal<'_>], chosen: &mut Vec<usize>) -> Found {
        self.steps_left = self.steps_left.checked_sub(1).ok_or(BudgetExhausted)?;
        let Some((first, rest)) = goals.split_first() else {
            return Ok(true);
        };
        match *first {
            Goal::Field(f) => {
                let absent_ok = self.absent_ok.get(f).copied().unwrap_or(false);
                let candidates = self.candidates.get(f).map_or(&[][..], Vec::as_slice);
                if !self.strict {
                    return Ok((absent_ok || !candidates.is_empty()) && self.solve(rest, chosen)?);
                }
                if absent_ok && self.solve(rest, chosen)? {
                    return Ok(true);
                }
                for &leaf in candidates {
                    if chosen.iter().all(|&c| self.compatible(c, leaf)) {
                        chosen.push(leaf);
                        let found = self.solve(rest, chosen);
                        chosen.pop();
                        if found? {
                            return Ok(true);
                        }
                    }
                }
                Ok(false)
            }
            Goal::Or(alternatives) => {
                for alt in alternatives {
                    let mut next = Vec::with_capacity(rest.len() + alt.fields.len());
                    alt.push_goals(&mut next, self.candidates);
                    next.extend_from_slice(rest);
                    if self.solve(&next, chosen)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }

    /// Two leaves are compatible unless they sit in different elements of one array.
    fn compatible(&self, a: usize, b: usize) -> bool {
        let (Some(a), Some(b)) = (self.leaves.get(a), self.leaves.get(b)) else {
            return false;
        };
        a.trail
            .iter()
            .all(|(ia, xa)| b.trail.iter().all(|(ib, xb)| ia != ib || xa == xb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// (name, pattern, event, expected match)
    #[rustfmt::skip]
    const CASES: &[(&str, &str, &str, bool)] = &[
        // --- NEXUS usage and plain values
        ("nexus prefix", r#"{"source":[{"prefix":"nexus."}]}"#, r#"{"source":"nexus.orgs","detail":{}}"#, true),
        ("nexus prefix neg", r#"{"source":[{"prefix":"nexus."}]}"#, r#"{"source":"aws.ec2"}"#, false),
        ("source+type", r#"{"source":["nexus.orgs"],"detail-type":["OrganizationCreated"]}"#, r#"{"source":"nexus.orgs","detail-type":"OrganizationCreated"}"#, true),
        ("source+type neg", r#"{"source":["nexus.orgs"],"detail-type":["OrganizationCreated"]}"#, r#"{"source":"nexus.orgs","detail-type":"OrganizationDeleted"}"#, false),
        ("tenant exists", r#"{"detail":{"tenantId":[{"exists":true}]}}"#, r#"{"detail":{"tenantId":"t-1"}}"#, true),
        ("tenant exists neg", r#"{"detail":{"tenantId":[{"exists":true}]}}"#, r#"{"detail":{"orgId":"o-1"}}"#, false),
        ("values ORed", r#"{"source":["a","b"]}"#, r#"{"source":"b"}"#, true),
        ("values case-sensitive", r#"{"source":["Nexus"]}"#, r#"{"source":"nexus"}"#, false),
        ("keys case-sensitive", r#"{"Source":["x"]}"#, r#"{"source":"x"}"#, false),
        ("number numeric eq", r#"{"detail":{"n":[300]}}"#, r#"{"detail":{"n":300.0}}"#, true),
        ("number vs string", r#"{"detail":{"n":[300]}}"#, r#"{"detail":{"n":"300"}}"#, false),
        ("string vs number", r#"{"detail":{"n":["300"]}}"#, r#"{"detail":{"n":300}}"#, false),
        ("bool", r#"{"detail":{"b":[true]}}"#, r#"{"detail":{"b":true}}"#, true),
        ("bool vs string", r#"{"detail":{"b":[true]}}"#, r#"{"detail":{"b":"true"}}"#, false),
        ("null", r#"{"detail":{"v":[null]}}"#, r#"{"detail":{"v":null}}"#, true),
        ("null vs string", r#"{"detail":{"v":[null]}}"#, r#"{"detail":{"v":"null"}}"#, false),
        ("null vs missing", r#"{"detail":{"v":[null]}}"#, r#"{"detail":{}}"#, false),
        ("null vs empty array", r#"{"resources":[null]}"#, r#"{"resources":[]}"#, false),
        ("empty string", r#"{"detail":{"v":[""]}}"#, r#"{"detail":{"v":""}}"#, true),
        ("empty string vs null", r#"{"detail":{"v":[""]}}"#, r#"{"detail":{"v":null}}"#, false),
        ("nested mismatch", r#"{"detail":{"a":{"b":["x"]}}}"#, r#"{"detail":{"a":{"b":"y"}}}"#, false),
        ("multiple operators ORed", r#"{"detail":{"v":[{"prefix":"X"},{"numeric":[">",5]}]}}"#, r#"{"detail":{"v":10}}"#, true),
        ("multiple operators ORed neg", r#"{"detail":{"v":[{"prefix":"X"},{"numeric":[">",5]}]}}"#, r#"{"detail":{"v":"Y"}}"#, false),
        // --- arrays, dots, strings
        ("event array any element", r#"{"resources":["arn:2"]}"#, r#"{"resources":["arn:1","arn:2"]}"#, true),
        ("event array no element", r#"{"resources":["arn:3"]}"#, r#"{"resources":["arn:1","arn:2"]}"#, false),
        ("array of objects", r#"{"detail":{"employees":{"firstName":["Anna"]}}}"#, r#"{"detail":{"employees":[{"firstName":"John"},{"firstName":"Anna"}]}}"#, true),
        ("same element", r#"{"e":{"f":["Anna"],"l":["Smith"]}}"#, r#"{"e":[{"f":"John","l":"Doe"},{"f":"Anna","l":"Smith"}]}"#, true),
        ("different elements", r#"{"e":{"f":["Anna"],"l":["Doe"]}}"#, r#"{"e":[{"f":"John","l":"Doe"},{"f":"Anna","l":"Smith"}]}"#, false),
        ("separate arrays independent", r#"{"a":{"x":[1]},"b":{"y":[2]}}"#, r#"{"a":[{"x":0},{"x":1}],"b":[{"y":2}]}"#, true),
        ("dotted event key", r#"{"detail":{"state":{"status":["running"]}}}"#, r#"{"detail":{"state.status":"running"}}"#, true),
        ("dotted pattern key nested below", r#"{"detail":{"state.status":{"status":["running"]}}}"#, r#"{"detail":{"state":{"status":"running"}}}"#, false),
        ("json in string not parsed", r#"{"detail":{"k":["v"]}}"#, r#"{"detail":"{\"k\":\"v\"}"}"#, false),
        // --- prefix / suffix
        ("empty prefix any string", r#"{"v":[{"prefix":""}]}"#, r#"{"v":"anything"}"#, true),
        ("empty prefix vs number", r#"{"v":[{"prefix":""}]}"#, r#"{"v":12}"#, false),
        ("prefix ignore case", r#"{"v":[{"prefix":{"equals-ignore-case":"NEXUS."}}]}"#, r#"{"v":"Nexus.Orgs"}"#, true),
        ("prefix ignore case neg", r#"{"v":[{"prefix":{"equals-ignore-case":"NEXUS."}}]}"#, r#"{"v":"aws.nexus."}"#, false),
        ("prefix vs null", r#"{"v":[{"prefix":"a"}]}"#, r#"{"v":null}"#, false),
        ("suffix", r#"{"v":[{"suffix":".png"}]}"#, r#"{"v":"cat.png"}"#, true),
        ("suffix neg", r#"{"v":[{"suffix":".png"}]}"#, r#"{"v":"cat.PNG"}"#, false),
        ("suffix ignore case", r#"{"v":[{"suffix":{"equals-ignore-case":".png"}}]}"#, r#"{"v":"cat.PNG"}"#, true),
        // --- equals-ignore-case
        ("ignore case", r#"{"v":[{"equals-ignore-case":"ALICE"}]}"#, r#"{"v":"alice"}"#, true),
        ("ignore case neg", r#"{"v":[{"equals-ignore-case":"ALICE"}]}"#, r#"{"v":"alicia"}"#, false),
        ("ignore case vs number", r#"{"v":[{"equals-ignore-case":"1"}]}"#, r#"{"v":1}"#, false),
        ("ignore case empty", r#"{"v":[{"equals-ignore-case":""}]}"#, r#"{"v":""}"#, true),
        ("ignore case empty neg", r#"{"v":[{"equals-ignore-case":""}]}"#, r#"{"v":"a"}"#, false),
        // --- wildcard
        ("wildcard", r#"{"v":[{"wildcard":"dir/*/file"}]}"#, r#"{"v":"dir/init/file"}"#, true),
        ("wildcard neg", r#"{"v":[{"wildcard":"dir/*/file"}]}"#, r#"{"v":"dir/init/other"}"#, false),
        ("wildcard zero chars", r#"{"v":[{"wildcard":"ab*"}]}"#, r#"{"v":"ab"}"#, true),
        ("wildcard star vs empty", r#"{"v":[{"wildcard":"*"}]}"#, r#"{"v":""}"#, true),
        ("wildcard multi", r#"{"v":[{"wildcard":"a*b*c"}]}"#, r#"{"v":"aXbYbZc"}"#, true),
        ("wildcard anchored", r#"{"v":[{"wildcard":"a*"}]}"#, r#"{"v":"ba"}"#, false),
        ("wildcard escaped star", r#"{"v":[{"wildcard":"a\\*b"}]}"#, r#"{"v":"a*b"}"#, true),
        ("wildcard escaped star neg", r#"{"v":[{"wildcard":"a\\*b"}]}"#, r#"{"v":"axb"}"#, false),
        ("wildcard escaped backslash", r#"{"v":[{"wildcard":"a\\\\*"}]}"#, r#"{"v":"a\\bc"}"#, true),
        ("wildcard empty", r#"{"v":[{"wildcard":""}]}"#, r#"{"v":""}"#, true),
        ("wildcard empty neg", r#"{"v":[{"wildcard":""}]}"#, r#"{"v":"x"}"#, false),
        ("wildcard vs number", r#"{"v":[{"wildcard":"1*"}]}"#, r#"{"v":12}"#, false),
        // --- anything-but
        ("ab string", r#"{"v":[{"anything-but":"a"}]}"#, r#"{"v":"b"}"#, true),
        ("ab string neg", r#"{"v":[{"anything-but":"a"}]}"#, r#"{"v":"a"}"#, false),
        ("ab string vs null", r#"{"v":[{"anything-but":"a"}]}"#, r#"{"v":null}"#, true),
        ("ab string vs missing", r#"{"v":[{"anything-but":"a"}]}"#, r#"{"w":"b"}"#, false),
        ("ab string vs number", r#"{"v":[{"anything-but":"a"}]}"#, r#"{"v":5}"#, true),
        ("ab string list", r#"{"v":[{"anything-but":["a","b"]}]}"#, r#"{"v":"c"}"#, true),
        ("ab string list neg", r#"{"v":[{"anything-but":["a","b"]}]}"#, r#"{"v":"b"}"#, false),
        ("ab number", r#"{"v":[{"anything-but":5}]}"#, r#"{"v":5.0}"#, false),
        ("ab number other", r#"{"v":[{"anything-but":5}]}"#, r#"{"v":6}"#, true),
        ("ab number vs string", r#"{"v":[{"anything-but":[5,6]}]}"#, r#"{"v":"5"}"#, true),
        ("ab number list neg", r#"{"v":[{"anything-but":[5,6]}]}"#, r#"{"v":6}"#, false),
        ("ab prefix", r#"{"v":[{"anything-but":{"prefix":"init"}}]}"#, r#"{"v":"done"}"#, true),
        ("ab prefix neg", r#"{"v":[{"anything-but":{"prefix":"init"}}]}"#, r#"{"v":"initial"}"#, false),
        ("ab prefix vs number", r#"{"v":[{"anything-but":{"prefix":"init"}}]}"#, r#"{"v":12}"#, true),
        ("ab prefix vs null", r#"{"v":[{"anything-but":{"prefix":"init"}}]}"#, r#"{"v":null}"#, true),
        ("ab prefix vs missing", r#"{"v":[{"anything-but":{"prefix":"init"}}]}"#, r#"{}"#, false),
        ("ab prefix list neg", r#"{"v":[{"anything-but":{"prefix":["a","b"]}}]}"#, r#"{"v":"bob"}"#, false),
        ("ab suffix", r#"{"v":[{"anything-but":{"suffix":".png"}}]}"#, r#"{"v":"a.jpg"}"#, true),
        ("ab suffix neg", r#"{"v":[{"anything-but":{"suffix":[".png",".jpg"]}}]}"#, r#"{"v":"a.jpg"}"#, false),
        ("ab ignore case neg", r#"{"v":[{"anything-but":{"equals-ignore-case":"ALICE"}}]}"#, r#"{"v":"alice"}"#, false),
        ("ab ignore case list", r#"{"v":[{"anything-but":{"equals-ignore-case":["ALICE","BOB"]}}]}"#, r#"{"v":"carol"}"#, true),
        ("ab wildcard", r#"{"v":[{"anything-but":{"wildcard":"*/init/*"}}]}"#, r#"{"v":"dir/done/file"}"#, true),
        ("ab wildcard neg", r#"{"v":[{"anything-but":{"wildcard":["x*","*/init/*"]}}]}"#, r#"{"v":"dir/init/file"}"#, false),
        ("ab wildcard empty", r#"{"v":[{"anything-but":{"wildcard":""}}]}"#, r#"{"v":"dir/init/file"}"#, true),
        ("ab any array element", r#"{"v":[{"anything-but":"a"}]}"#, r#"{"v":["a","b"]}"#, true),
        ("ab vs object value", r#"{"v":[{"anything-but":"a"}]}"#, r#"{"v":{"w":"b"}}"#, false),
        // --- numeric
        ("numeric range upper incl", r#"{"v":[{"numeric":[">",0,"<=",5]}]}"#, r#"{"v":5}"#, true),
        ("numeric range lower excl", r#"{"v":[{"numeric":[">",0,"<=",5]}]}"#, r#"{"v":0}"#, false),
        ("numeric range above", r#"{"v":[{"numeric":[">",0,"<=",5]}]}"#, r#"{"v":5.01}"#, false),
        ("numeric eq float", r#"{"v":[{"numeric":["=",3.5]}]}"#, r#"{"v":3.5}"#, true),
        ("numeric lt", r#"{"v":[{"numeric":["<",0]}]}"#, r#"{"v":-1}"#, true),
        ("numeric ge", r#"{"v":[{"numeric":[">=",10]}]}"#, r#"{"v":10}"#, true),
        ("numeric vs string", r#"{"v":[{"numeric":[">",0]}]}"#, r#"{"v":"300"}"#, false),
        ("numeric vs null", r#"{"v":[{"numeric":[">",0]}]}"#, r#"{"v":null}"#, false),
        ("numeric big", r#"{"v":[{"numeric":[">",1e12]}]}"#, r#"{"v":2e12}"#, true),
        // --- cidr
        ("cidr v4", r#"{"v":[{"cidr":"10.0.0.0/24"}]}"#, r#"{"v":"10.0.0.255"}"#, true),
        ("cidr v4 neg", r#"{"v":[{"cidr":"10.0.0.0/24"}]}"#, r#"{"v":"10.0.1.0"}"#, false),
        ("cidr vs number", r#"{"v":[{"cidr":"10.0.0.0/8"}]}"#, r#"{"v":10}"#, false),
        ("cidr vs bad ip", r#"{"v":[{"cidr":"10.0.0.0/8"}]}"#, r#"{"v":"10.0.0"}"#, false),
        ("cidr /0", r#"{"v":[{"cidr":"0.0.0.0/0"}]}"#, r#"{"v":"203.0.113.9"}"#, true),
        ("cidr /32", r#"{"v":[{"cidr":"192.0.2.1/32"}]}"#, r#"{"v":"192.0.2.2"}"#, false),
        ("cidr v6", r#"{"v":[{"cidr":"2001:db8::/32"}]}"#, r#"{"v":"2001:db8::1"}"#, true),
        ("cidr v6 neg", r#"{"v":[{"cidr":"2001:db8::/32"}]}"#, r#"{"v":"2001:db9::1"}"#, false),
        ("cidr v4 vs v6 ip", r#"{"v":[{"cidr":"0.0.0.0/0"}]}"#, r#"{"v":"::1"}"#, false),
        ("cidr v6 vs v4 ip", r#"{"v":[{"cidr":"::/0"}]}"#, r#"{"v":"10.0.0.1"}"#, false),
        // --- exists
        ("exists true vs null", r#"{"v":[{"exists":true}]}"#, r#"{"v":null}"#, true),
        ("exists false missing", r#"{"v":[{"exists":false}]}"#, r#"{"w":1}"#, true),
        ("exists false present", r#"{"v":[{"exists":false}]}"#, r#"{"v":1}"#, false),
        ("exists false parent missing", r#"{"a":{"b":{"c":[{"exists":false}]}}}"#, r#"{"a":{"x":"l2"}}"#, true),
        ("exists false deep present", r#"{"a":{"b":{"c":[{"exists":false}]}}}"#, r#"{"a":{"b":{"c":"l3"}}}"#, false),
        ("exists true vs empty array", r#"{"resources":[{"exists":true}]}"#, r#"{"resources":[]}"#, false),
        ("exists true vs array", r#"{"resources":[{"exists":true}]}"#, r#"{"resources":["arn:1"]}"#, true),
        ("exists true vs object", r#"{"c":[{"exists":true}]}"#, r#"{"c":{"c1":100}}"#, false),
        ("exists false vs object", r#"{"c":[{"exists":false}]}"#, r#"{"c":{"c1":100}}"#, true),
        ("exists false or value", r#"{"v":[{"exists":false},"x"]}"#, r#"{"v":"x"}"#, true),
        // --- $or
        ("or first", r#"{"$or":[{"source":["a"]},{"detail-type":["T"]}]}"#, r#"{"source":"a","detail-type":"U"}"#, true),
        ("or second", r#"{"$or":[{"source":["a"]},{"detail-type":["T"]}]}"#, r#"{"source":"b","detail-type":"T"}"#, true),
        ("or none", r#"{"$or":[{"source":["a"]},{"detail-type":["T"]}]}"#, r#"{"source":"b","detail-type":"U"}"#, false),
        ("or with sibling", r#"{"source":["s"],"detail":{"$or":[{"a":[1]},{"b":[2]}]}}"#, r#"{"source":"x","detail":{"a":1}}"#, false),
        ("or nested", r#"{"detail":{"$or":[{"a":[1]},{"$or":[{"b":[2]},{"c":[3]}]}]}}"#, r#"{"detail":{"c":3}}"#, true),
        ("or nested neg", r#"{"detail":{"$or":[{"a":[1]},{"$or":[{"b":[2]},{"c":[3]}]}]}}"#, r#"{"detail":{"c":4}}"#, false),
        ("legacy $or field", r#"{"$or":[{"prefix":"a"},{"suffix":"z"}]}"#, r#"{"$or":"abc"}"#, true),
    ];

    /// Patterns that PutRule must reject.
    #[rustfmt::skip]
    const REJECTED: &[&str] = &[
        r#"{"source":"x"}"#, r#"{"source":42}"#, r#"{"source":[]}"#, r#"{}"#, r#"{"detail":{}}"#,
        r#"{"x":[["a"]]}"#, r#"{"x":[{"foo":"x"}]}"#, r#"{"x":[{"Prefix":"a"}]}"#,
        r#"{"x":[{"prefix":"a","suffix":"b"}]}"#, r#"{"x":[{"numeric":[">",0,">",0]}]}"#,
        r#"{"x":[{"numeric":10}]}"#, r#"{"x":[{"numeric":[">"]}]}"#, r#"{"x":[{"numeric":["==",5]}]}"#,
        r#"{"x":[{"numeric":[">",5,"<",1]}]}"#, r#"{"x":[{"numeric":[">","5"]}]}"#,
        r#"{"x":[{"numeric":[">",0,"<",5,"=",3]}]}"#, r#"{"x":[{"anything-but":null}]}"#,
        r#"{"x":[{"anything-but":true}]}"#, r#"{"x":[{"anything-but":[]}]}"#,
        r#"{"x":[{"anything-but":{"prefix":""}}]}"#, r#"{"x":[{"anything-but":{"suffix":""}}]}"#,
        r#"{"x":[{"anything-but":["a",1]}]}"#, r#"{"x":[{"anything-but":["a",null]}]}"#,
        r#"{"x":[{"anything-but":{"prefix":{"equals-ignore-case":"a"}}}]}"#,
        r#"{"x":[{"anything-but":{"equals-ignore-case":123}}]}"#,
        r#"{"x":[{"anything-but":{"numeric":[">",1]}}]}"#, r#"{"x":[{"anything-but":{"prefix":[1,2]}}]}"#,
        r#"{"x":[{"equals-ignore-case":123}]}"#, r#"{"x":[{"equals-ignore-case":["a"]}]}"#,
        r#"{"x":[{"wildcard":"a**b"}]}"#, r#"{"x":[{"wildcard":"*:*:*:*:*:event-bus/*"}]}"#,
        r#"{"x":[{"wildcard":"a\\b"}]}"#, r#"{"x":[{"wildcard":"abc\\"}]}"#, r#"{"x":[{"wildcard":5}]}"#,
        r#"{"x":[{"prefix":["a"]}]}"#, r#"{"x":[{"prefix":5}]}"#, r#"{"x":[{"suffix":{"prefix":"a"}}]}"#,
        r#"{"x":[{"prefix":{"equals-ignore-case":1}}]}"#, r#"{"x":[{"cidr":"bad-filter"}]}"#,
        r#"{"x":[{"cidr":"10.0.0.1"}]}"#, r#"{"x":[{"cidr":"10.0.0.0/33"}]}"#,
        r#"{"x":[{"cidr":"10.0.0.256/24"}]}"#, r#"{"x":[{"cidr":"2001:db8::/129"}]}"#,
        r#"{"x":[{"cidr":"2001:db8:::/64"}]}"#, r#"{"x":[{"cidr":10}]}"#, r#"{"x":[{"exists":"yes"}]}"#,
        r#"{"$or":[{"a":["x"]}]}"#, r#"{"$or":[{"a":["x"]},{}]}"#, r#"{"$or":[{"a":["x"]},{"b":"y"}]}"#,
        r#"["x"]"#,
    ];

    #[test]
    fn table_of_matches() {
        assert!(CASES.len() >= 60, "only {} cases", CASES.len());
        let mut failures = Vec::new();
        for (name, pattern, event, expected) in CASES {
            let compiled =
                EventPattern::from_str(pattern).unwrap_or_else(|e| panic!("{name}: {e}"));
            let event: Value = serde_json::from_str(event).expect("test event is JSON");
            if compiled.matches(&event) != *expected {
                failures.push(format!("{name}: expected {expected}"));
            }
        }
        assert!(
            failures.is_empty(),
            "failing cases:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn table_of_rejected_patterns() {
        assert!(REJECTED.len() >= 15);
        for pattern in REJECTED {
            assert!(
                EventPattern::from_str(pattern).is_err(),
                "{pattern} should be rejected"
            );
        }
    }

    #[test]
    fn full_envelope_and_constructors() {
        let event = json!({
            "version": "0", "id": "1", "detail-type": "OrganizationCreated", "source": "nexus.orgs",
            "account": "123456789012", "time": "2026-11-23T10:00:00Z", "region": "eu-west-1",
            "resources": [], "detail": {"tenantId": "t-1", "org": {"plan": "pro", "seats": 12}}
        });
        let p = EventPattern::parse(&json!({
            "source": [{"prefix": "nexus."}],
            "detail-type": ["OrganizationCreated"],
            "detail": {"tenantId": [{"exists": true}], "org": {"seats": [{"numeric": [">=", 10]}]}}
        }))
        .expect("valid pattern");
        assert!(p.matches(&event));
        assert!(p.warnings().is_empty());
        assert!(!p.matches(&json!("not an object")));
        let p: EventPattern = r#"{"source":["nexus.orgs"]}"#.parse().expect("valid");
        assert!(p.matches(&event));
    }

    #[test]
    fn errors_and_warnings() {
        let err = EventPattern::from_str(r#"{"detail":{"n":[{"numeric":[">",0,">",0]}]}}"#);
        let err = err.expect_err("rejected");
        assert!(matches!(&err, PatternError::Invalid { path, .. } if path == "detail.n"));
        assert!(err.to_string().contains("detail.n"), "{err}");
        assert!(matches!(
            EventPattern::from_str("{"),
            Err(PatternError::Json(_))
        ));
        assert!(matches!(
            EventPattern::from_str("[]"),
            Err(PatternError::NotAnObject)
        ));
        let p = EventPattern::from_str(r#"{"v":[{"numeric":[">",-1e10,"<",1e10]}]}"#);
        let p = p.expect("valid");
        assert_eq!(p.warnings().len(), 2);
        assert!(p.matches(&json!({"v": 6e9})));
    }

    #[test]
    fn deep_and_large_inputs_do_not_panic() {
        let (mut event, mut pattern) = (json!("x"), json!(["x"]));
        for _ in 0..500 {
            event = json!({ "a": event });
        }
        for _ in 0..200 {
            pattern = json!({ "a": pattern });
        }
        let p = EventPattern::from_str(r#"{"a":{"a":["x"]}}"#).expect("valid");
        assert!(!p.matches(&event));
        assert!(EventPattern::parse(&pattern).is_err());
    }

    #[test]
    fn same_element_search() {
        // Selective fields go first, so this strict "no" is found quickly.
        let items: Vec<Value> = (0..60).map(|i| json!({"x": [i, i + 1], "y": i})).collect();
        let p = EventPattern::from_str(r#"{"e":{"x":[{"numeric":[">=",0]}],"y":[59],"z":[1]}}"#);
        let p = p.expect("valid");
        assert!(!p.matches(&json!({ "e": items })));
        // 50^3 combinations that all fail on the last field exceed the budget; the
        // documented fallback then applies the relaxed any-element rule.
        let many: Vec<u32> = (0..50).collect();
        let event = json!({"e": [{"a": many, "b": many, "c": many}, {"d": many}]});
        let any = r#"[{"numeric":[">=",0]}]"#;
        let text = format!(r#"{{"e":{{"a":{any},"b":{any},"c":{any},"d":{any}}}}}"#);
        assert!(EventPattern::from_str(&text)
            .expect("valid")
            .matches(&event));
        let text = format!(r#"{{"e":{{"a":{any},"b":{any},"d":[0]}}}}"#);
        assert!(!EventPattern::from_str(&text)
            .expect("valid")
            .matches(&event));
    }
}
