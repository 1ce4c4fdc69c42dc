//! JSONPath as Step Functions evaluates it (Jayway JsonPath syntax and results).
//!
//! Why our own: AWS evaluates paths with Jayway JsonPath, whose results differ from
//! RFC 9535 (the model of `serde_json_path`) and from `jsonpath-rust` in the ways that
//! matter here: a *definite* path (only names and indexes) yields the value itself and a
//! miss is an error (`No results for path: $['x']`), while an *indefinite* path (wildcard,
//! deep scan, slice, union, filter) yields an array, `[]` when nothing matches. Reference
//! paths (`ResultPath`, `Variable`, `*Path` fields) are restricted to names and indexes.
//! The subset AWS documents is small, so it is implemented and tested here:
//! `$`, `.name`, `['name']`, `["name"]`, `[n]` (negative from the end), `[*]`, `.*`,
//! `..name`, `..*`, `[a:b:c]`, `[0,2]`, `['a','b']`, `[?(<filter>)]` with `@`/`$` operands,
//! `== != < <= > >=`, `&&`, `||`, `!` and parentheses, and the `length()` function.

use serde_json::Value;
use std::fmt;

/// A parsed path. `$$...` paths address the context object.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    raw: String,
    context: bool,
    segments: Vec<Segment>,
    length_fn: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Child(Selector),
    Descendant(Selector),
}

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Name(String),
    Index(i64),
    Names(Vec<String>),
    Indexes(Vec<i64>),
    Wildcard,
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Or(Box<Filter>, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Exists(Operand),
    Compare(Operand, CmpOp, Operand),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Current(Vec<Segment>),
    Root(Vec<Segment>),
    Literal(Value),
}

/// Why a path text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PathSyntaxError(pub String);

/// A definite path found nothing. `Display` is Jayway's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMiss {
    pub normalized: String,
}

impl fmt::Display for PathMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "No results for path: {}", self.normalized)
    }
}

impl Path {
    /// Parses any JSONPath (`$…` or `$$…`).
    pub fn parse(text: &str) -> Result<Path, PathSyntaxError> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
        };
        let context = if text.starts_with("$$") {
            p.i = 2;
            true
        } else if text.starts_with('$') {
            p.i = 1;
            false
        } else {
            return Err(PathSyntaxError(format!("'{text}' must start with '$'")));
        };
        let (segments, length_fn) = p.segments(false)?;
        if p.i != p.s.len() {
            return Err(p.err("unexpected character"));
        }
        Ok(Path {
            raw: text.to_string(),
            context,
            segments,
            length_fn,
        })
    }

    /// Parses a reference path: names and indexes only, to a single node.
    pub fn parse_reference(text: &str) -> Result<Path, PathSyntaxError> {
        let path = Path::parse(text)?;
        if !path.is_definite() || path.length_fn {
            return Err(PathSyntaxError(format!(
                "'{text}' is not a reference path (only '.name', ['name'] and [index] are allowed)"
            )));
        }
        Ok(path)
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// True for `$$…` paths (the context object).
    pub fn is_context(&self) -> bool {
        self.context
    }

    /// True when the path can only address one node.
    pub fn is_definite(&self) -> bool {
        self.segments.iter().all(|s| {
            matches!(
                s,
                Segment::Child(Selector::Name(_)) | Segment::Child(Selector::Index(_))
            )
        })
    }

    /// Jayway's normalized form, e.g. `$['a'][0]`, used in miss messages.
    pub fn normalized(&self) -> String {
        let mut out = String::from("$");
        for seg in &self.segments {
            match seg {
                Segment::Child(Selector::Name(n)) => out.push_str(&format!("['{n}']")),
                Segment::Child(Selector::Index(i)) => out.push_str(&format!("[{i}]")),
                _ => return self.raw.clone(),
            }
        }
        out
    }

    /// Evaluates the path. Definite paths give the node or a miss; indefinite paths give
    /// an array of matches (possibly empty).
    pub fn eval(&self, root: &Value) -> Result<Value, PathMiss> {
        let value = if self.is_definite() {
            match definite(root, &self.segments) {
                Some(v) => v.clone(),
                None => {
                    return Err(PathMiss {
                        normalized: self.normalized(),
                    })
                }
            }
        } else {
            let mut found = Vec::new();
            select(root, root, &self.segments, &mut found);
            Value::Array(found.into_iter().cloned().collect())
        };
        if self.length_fn {
            return match &value {
                Value::Array(a) => Ok(Value::from(a.len())),
                Value::String(s) => Ok(Value::from(s.chars().count())),
                Value::Object(o) => Ok(Value::from(o.len())),
                _ => Err(PathMiss {
                    normalized: self.raw.clone(),
                }),
            };
        }
        Ok(value)
    }

    /// Writes `value` at this reference path inside `root`, creating missing objects.
    /// `$` replaces the whole document.
    pub fn set(&self, root: &mut Value, value: Value) -> Result<(), String> {
        let mut node = root;
        for seg in &self.segments {
            match seg {
                Segment::Child(Selector::Name(n)) => {
                    if node.is_null() {
                        *node = Value::Object(Default::default());
                    }
                    let Value::Object(map) = node else {
                        return Err(format!(
                            "Unable to apply ResultPath '{}': the node before '{n}' is not an object",
                            self.raw
                        ));
                    };
                    node = map.entry(n.clone()).or_insert(Value::Null);
                }
                Segment::Child(Selector::Index(i)) => {
                    let Value::Array(arr) = node else {
                        return Err(format!(
                            "Unable to apply ResultPath '{}': the node before [{i}] is not an array",
                            self.raw
                        ));
                    };
                    let len = arr.len() as i64;
                    let idx = if *i < 0 { len + i } else { *i };
                    if idx < 0 || idx >= len {
                        return Err(format!(
                            "Unable to apply ResultPath '{}': index {i} is out of bounds",
                            self.raw
                        ));
                    }
                    node = &mut arr[idx as usize];
                }
                _ => return Err(format!("'{}' is not a reference path", self.raw)),
            }
        }
        *node = value;
        Ok(())
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

fn index_of(len: usize, i: i64) -> Option<usize> {
    let len = len as i64;
    let idx = if i < 0 { len + i } else { i };
    (0..len).contains(&idx).then_some(idx as usize)
}

fn definite<'a>(root: &'a Value, segments: &[Segment]) -> Option<&'a Value> {
    let mut node = root;
    for seg in segments {
        node = match seg {
            Segment::Child(Selector::Name(n)) => node.as_object()?.get(n)?,
            Segment::Child(Selector::Index(i)) => {
                let arr = node.as_array()?;
                &arr[index_of(arr.len(), *i)?]
            }
            _ => return None,
        };
    }
    Some(node)
}

fn select<'a>(root: &'a Value, node: &'a Value, segments: &[Segment], out: &mut Vec<&'a Value>) {
    let Some((first, rest)) = segments.split_first() else {
        out.push(node);
        return;
    };
    match first {
        Segment::Child(sel) => {
            for child in apply(root, node, sel) {
                select(root, child, rest, out);
            }
        }
        Segment::Descendant(sel) => {
            let mut all = Vec::new();
            descendants(node, &mut all);
            for n in all {
                for child in apply(root, n, sel) {
                    select(root, child, rest, out);
                }
            }
        }
    }
}

fn descendants<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(node);
    match node {
        Value::Array(a) => a.iter().for_each(|v| descendants(v, out)),
        Value::Object(o) => o.values().for_each(|v| descendants(v, out)),
        _ => {}
    }
}

fn apply<'a>(root: &'a Value, node: &'a Value, sel: &Selector) -> Vec<&'a Value> {
    match sel {
        Selector::Name(n) => node
            .as_object()
            .and_then(|o| o.get(n))
            .into_iter()
            .collect(),
        Selector::Names(ns) => match node.as_object() {
            Some(o) => ns.iter().filter_map(|n| o.get(n)).collect(),
            None => vec![],
        },
        Selector::Index(i) => match node.as_array() {
            Some(a) => index_of(a.len(), *i).map(|i| &a[i]).into_iter().collect(),
            None => vec![],
        },
        Selector::Indexes(is) => match node.as_array() {
            Some(a) => is
                .iter()
                .filter_map(|i| index_of(a.len(), *i).map(|i| &a[i]))
                .collect(),
            None => vec![],
        },
        Selector::Wildcard => match node {
            Value::Array(a) => a.iter().collect(),
            Value::Object(o) => o.values().collect(),
            _ => vec![],
        },
        Selector::Slice(start, end, step) => {
            let Some(a) = node.as_array() else {
                return vec![];
            };
            let len = a.len() as i64;
            let step = step.unwrap_or(1);
            if step <= 0 {
                return vec![];
            }
            let norm = |v: i64| if v < 0 { (len + v).max(0) } else { v.min(len) };
            let s = start.map(norm).unwrap_or(0);
            let e = end.map(norm).unwrap_or(len);
            let mut out = Vec::new();
            let mut i = s;
            while i < e {
                out.push(&a[i as usize]);
                i += step;
            }
            out
        }
        Selector::Filter(f) => match node {
            Value::Array(a) => a.iter().filter(|v| f.test(root, v)).collect(),
            Value::Object(_) if f.test(root, node) => vec![node],
            _ => vec![],
        },
    }
}

impl Filter {
    fn test(&self, root: &Value, current: &Value) -> bool {
        match self {
            Filter::Or(a, b) => a.test(root, current) || b.test(root, current),
            Filter::And(a, b) => a.test(root, current) && b.test(root, current),
            Filter::Not(a) => !a.test(root, current),
            Filter::Exists(op) => op.resolve(root, current).is_some(),
            Filter::Compare(l, op, r) => {
                let (Some(l), Some(r)) = (l.resolve(root, current), r.resolve(root, current))
                else {
                    return false;
                };
                compare(&l, *op, &r)
            }
        }
    }
}

fn compare(l: &Value, op: CmpOp, r: &Value) -> bool {
    use std::cmp::Ordering;
    let ord = match (l, r) {
        (Value::Number(a), Value::Number(b)) => a.as_f64().partial_cmp(&b.as_f64()),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op {
        CmpOp::Eq => ord.map(|o| o == Ordering::Equal).unwrap_or(l == r),
        CmpOp::Ne => ord.map(|o| o != Ordering::Equal).unwrap_or(l != r),
        CmpOp::Lt => ord == Some(Ordering::Less),
        CmpOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ord == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
    }
}

impl Operand {
    fn resolve(&self, root: &Value, current: &Value) -> Option<Value> {
        let (base, segs) = match self {
            Operand::Literal(v) => return Some(v.clone()),
            Operand::Current(s) => (current, s),
            Operand::Root(s) => (root, s),
        };
        let definite_only = segs.iter().all(|s| {
            matches!(
                s,
                Segment::Child(Selector::Name(_)) | Segment::Child(Selector::Index(_))
            )
        });
        if definite_only {
            definite(base, segs).cloned()
        } else {
            let mut out = Vec::new();
            select(root, base, segs, &mut out);
            Some(Value::Array(out.into_iter().cloned().collect()))
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> PathSyntaxError {
        PathSyntaxError(format!(
            "invalid JSONPath '{}': {what} at position {}",
            self.text, self.i
        ))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// Segments until the end of the path (or, inside a filter, until an operator).
    fn segments(&mut self, in_filter: bool) -> Result<(Vec<Segment>, bool), PathSyntaxError> {
        let mut segs = Vec::new();
        loop {
            match self.peek() {
                Some(b'.') => {
                    self.i += 1;
                    let desc = if self.peek() == Some(b'.') {
                        self.i += 1;
                        true
                    } else {
                        false
                    };
                    let sel = if self.peek() == Some(b'*') {
                        self.i += 1;
                        Selector::Wildcard
                    } else if desc && self.peek() == Some(b'[') {
                        self.bracket()?
                    } else {
                        let name = self.name();
                        if name.is_empty() {
                            return Err(self.err("expected a name"));
                        }
                        if name == "length" && self.s[self.i..].starts_with(b"()") {
                            self.i += 2;
                            return if self.i == self.s.len() || in_filter {
                                Ok((segs, true))
                            } else {
                                Err(self.err("length() must end the path"))
                            };
                        }
                        Selector::Name(name)
                    };
                    segs.push(if desc {
                        Segment::Descendant(sel)
                    } else {
                        Segment::Child(sel)
                    });
                }
                Some(b'[') => {
                    let sel = self.bracket()?;
                    segs.push(Segment::Child(sel));
                }
                _ => return Ok((segs, false)),
            }
        }
    }

    fn name(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'.' || c == b'[' || (c as char).is_whitespace() || b"()=!<>&|,".contains(&c) {
                break;
            }
            self.i += 1;
        }
        self.text[start..self.i].to_string()
    }

    fn quoted(&mut self) -> Result<String, PathSyntaxError> {
        let quote = self.peek().ok_or_else(|| self.err("expected a quote"))?;
        self.i += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.i..];
            let mut chars = rest.chars();
            match chars.next() {
                None => return Err(self.err("unterminated string")),
                Some('\\') => {
                    let c = chars
                        .next()
                        .ok_or_else(|| self.err("unterminated escape"))?;
                    out.push(c);
                    self.i += 1 + c.len_utf8();
                }
                Some(c) if c as u32 == quote as u32 => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.i += c.len_utf8();
                }
            }
        }
    }

    fn int(&mut self) -> Result<Option<i64>, PathSyntaxError> {
        self.skip_ws();
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        if start == self.i {
            return Ok(None);
        }
        let n = self.text[start..self.i]
            .parse()
            .map_err(|_| self.err("invalid integer"))?;
        self.skip_ws();
        Ok(Some(n))
    }

    fn expect(&mut self, c: u8) -> Result<(), PathSyntaxError> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn bracket(&mut self) -> Result<Selector, PathSyntaxError> {
        self.expect(b'[')?;
        self.skip_ws();
        let sel = match self.peek() {
            Some(b'*') => {
                self.i += 1;
                Selector::Wildcard
            }
            Some(b'\'' | b'"') => {
                let mut names = vec![self.quoted()?];
                self.skip_ws();
                while self.peek() == Some(b',') {
                    self.i += 1;
                    self.skip_ws();
                    names.push(self.quoted()?);
                    self.skip_ws();
                }
                if names.len() == 1 {
                    Selector::Name(names.pop().unwrap_or_default())
                } else {
                    Selector::Names(names)
                }
            }
            Some(b'?') => {
                self.i += 1;
                self.expect(b'(')?;
                let f = self.filter_or()?;
                self.expect(b')')?;
                Selector::Filter(Box::new(f))
            }
            _ => {
                let first = self.int()?;
                if self.peek() == Some(b':') {
                    self.i += 1;
                    let end = self.int()?;
                    let step = if self.peek() == Some(b':') {
                        self.i += 1;
                        self.int()?
                    } else {
                        None
                    };
                    Selector::Slice(first, end, step)
                } else {
                    let first = first.ok_or_else(|| self.err("expected an index"))?;
                    let mut idx = vec![first];
                    while self.peek() == Some(b',') {
                        self.i += 1;
                        idx.push(self.int()?.ok_or_else(|| self.err("expected an index"))?);
                    }
                    if idx.len() == 1 {
                        Selector::Index(first)
                    } else {
                        Selector::Indexes(idx)
                    }
                }
            }
        };
        self.expect(b']')?;
        Ok(sel)
    }

    fn filter_or(&mut self) -> Result<Filter, PathSyntaxError> {
        let mut left = self.filter_and()?;
        loop {
            self.skip_ws();
            if self.s[self.i..].starts_with(b"||") {
                self.i += 2;
                let right = self.filter_and()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn filter_and(&mut self) -> Result<Filter, PathSyntaxError> {
        let mut left = self.filter_unary()?;
        loop {
            self.skip_ws();
            if self.s[self.i..].starts_with(b"&&") {
                self.i += 2;
                let right = self.filter_unary()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn filter_unary(&mut self) -> Result<Filter, PathSyntaxError> {
        self.skip_ws();
        match self.peek() {
            Some(b'!') if self.s.get(self.i + 1) != Some(&b'=') => {
                self.i += 1;
                Ok(Filter::Not(Box::new(self.filter_unary()?)))
            }
            Some(b'(') => {
                self.i += 1;
                let f = self.filter_or()?;
                self.expect(b')')?;
                Ok(f)
            }
            _ => {
                let left = self.operand()?;
                self.skip_ws();
                let ops: [(&[u8], CmpOp); 6] = [
                    (b"==", CmpOp::Eq),
                    (b"!=", CmpOp::Ne),
                    (b"<=", CmpOp::Le),
                    (b">=", CmpOp::Ge),
                    (b"<", CmpOp::Lt),
                    (b">", CmpOp::Gt),
                ];
                for (tok, op) in ops {
                    if self.s[self.i..].starts_with(tok) {
                        self.i += tok.len();
                        let right = self.operand()?;
                        return Ok(Filter::Compare(left, op, right));
                    }
                }
                match left {
                    Operand::Literal(_) => Err(self.err("a literal alone is not a filter")),
                    op => Ok(Filter::Exists(op)),
                }
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, PathSyntaxError> {
        self.skip_ws();
        match self.peek() {
            Some(b'@') => {
                self.i += 1;
                Ok(Operand::Current(self.segments(true)?.0))
            }
            Some(b'$') => {
                self.i += 1;
                Ok(Operand::Root(self.segments(true)?.0))
            }
            Some(b'\'' | b'"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            _ => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || b"-+.eE".contains(&c) {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let word = &self.text[start..self.i];
                serde_json::from_str::<Value>(word)
                    .ok()
                    .filter(|v| !v.is_object() && !v.is_array())
                    .map(Operand::Literal)
                    .ok_or_else(|| self.err("expected a filter operand"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(p: &str, v: &Value) -> Result<Value, PathMiss> {
        Path::parse(p).unwrap().eval(v)
    }

    #[test]
    fn definite_paths_give_the_node_or_a_miss() {
        let v = json!({"a": {"b": [1, 2, {"c": "x"}]}, "k y": 1});
        assert_eq!(eval("$", &v).unwrap(), v);
        assert_eq!(eval("$.a.b[2].c", &v).unwrap(), json!("x"));
        assert_eq!(eval("$['k y']", &v).unwrap(), json!(1));
        assert_eq!(eval("$.a.b[-1].c", &v).unwrap(), json!("x"));
        let miss = eval("$.a.x", &v).unwrap_err();
        assert_eq!(miss.to_string(), "No results for path: $['a']['x']");
        assert!(eval("$.a.b[10]", &v).is_err());
    }

    #[test]
    fn indefinite_paths_give_arrays() {
        let v = json!({"items": [{"p": 1, "n": "a"}, {"p": 5, "n": "b"}, {"p": 9}]});
        assert_eq!(eval("$.items[*].p", &v).unwrap(), json!([1, 5, 9]));
        assert_eq!(eval("$.items[*].zz", &v).unwrap(), json!([]));
        assert_eq!(eval("$.items[0:2].p", &v).unwrap(), json!([1, 5]));
        assert_eq!(eval("$.items[0,2].p", &v).unwrap(), json!([1, 9]));
        assert_eq!(eval("$..n", &v).unwrap(), json!(["a", "b"]));
        assert_eq!(eval("$.items[?(@.p > 2)].p", &v).unwrap(), json!([5, 9]));
        assert_eq!(
            eval("$.items[?(@.n == 'b' || @.p < 2)].p", &v).unwrap(),
            json!([1, 5])
        );
        assert_eq!(eval("$.items[?(@.n)].p", &v).unwrap(), json!([1, 5]));
        assert_eq!(eval("$.items[?(@.p > 100)]", &v).unwrap(), json!([]));
        assert_eq!(eval("$.items.length()", &v).unwrap(), json!(3));
    }

    #[test]
    fn reference_paths_are_names_and_indexes() {
        assert!(Path::parse_reference("$.a[0]['b c']").is_ok());
        assert!(Path::parse_reference("$.a[*]").is_err());
        assert!(Path::parse_reference("$..a").is_err());
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.a[").is_err());
    }

    #[test]
    fn set_creates_objects_and_refuses_non_objects() {
        let mut v = json!({"a": 1});
        Path::parse_reference("$.x.y")
            .unwrap()
            .set(&mut v, json!(2))
            .unwrap();
        assert_eq!(v, json!({"a": 1, "x": {"y": 2}}));
        let mut s = json!("text");
        assert!(Path::parse_reference("$.x")
            .unwrap()
            .set(&mut s, json!(1))
            .is_err());
        let mut w = json!({"a": 1});
        Path::parse_reference("$")
            .unwrap()
            .set(&mut w, json!(3))
            .unwrap();
        assert_eq!(w, json!(3));
    }
}
