//! Intrinsic functions (`States.Format(...)` and friends) in `.$` values.
//!
//! Parsed when the definition loads (a syntax error refuses the definition); evaluated
//! against the state's input and context object. A bad argument at run time is
//! `States.IntrinsicFailure` (the spec's name; no AWS recording contradicts it). A path
//! argument that finds nothing is `States.Runtime`, like every other path miss on AWS.

use crate::error::Failure;
use crate::path::Path;
use crate::rng::Rng;
use base64::Engine as _;
use serde_json::{Map, Value};

/// The deepest nesting AWS allows.
pub const MAX_NESTING: usize = 10;
/// Longest string `Base64Encode`/`Base64Decode`/`Hash` accept.
pub const MAX_STRING_INPUT: usize = 10_000;
/// Most items `ArrayRange` may produce.
pub const MAX_RANGE_ITEMS: usize = 1_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: Function,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// A string literal: its value, and its raw text (escapes kept) for `Format`.
    Str {
        value: String,
        raw: String,
    },
    Literal(Value),
    Path(Path),
    Call(Box<Call>),
}

macro_rules! functions {
    ($($v:ident),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Function { $($v),* }
        impl Function {
            fn from_name(n: &str) -> Option<Function> {
                match n { $(concat!("States.", stringify!($v)) => Some(Function::$v),)* _ => None }
            }
            pub fn name(self) -> &'static str {
                match self { $(Function::$v => concat!("States.", stringify!($v)),)* }
            }
        }
    };
}

functions!(
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    UUID,
);

/// True when a `.$` value is an intrinsic call rather than a path.
pub fn looks_like_call(text: &str) -> bool {
    text.trim_start().starts_with("States.")
}

impl Call {
    pub fn parse(text: &str) -> Result<Call, String> {
        let mut p = P {
            t: text,
            i: 0,
            depth: 0,
        };
        p.ws();
        let call = p.call()?;
        p.ws();
        if p.i != text.len() {
            return Err(format!(
                "invalid intrinsic function '{text}': unexpected text at position {}",
                p.i
            ));
        }
        Ok(call)
    }

    pub fn eval(&self, input: &Value, ctx: &Value, rng: &mut Rng) -> Result<Value, Failure> {
        let mut vals = Vec::with_capacity(self.args.len());
        for a in &self.args {
            vals.push(match a {
                Arg::Str { value, .. } => Value::String(value.clone()),
                Arg::Literal(v) => v.clone(),
                Arg::Path(p) => {
                    let doc = if p.is_context() { ctx } else { input };
                    p.eval(doc).map_err(|miss| {
                        Failure::runtime(format!(
                            "The JsonPath argument for the field '{}' could not be found in the input '{}': {miss}",
                            p,
                            crate::compact(input)
                        ))
                    })?
                }
                Arg::Call(c) => c.eval(input, ctx, rng)?,
            });
        }
        self.apply(vals, rng).map_err(|msg| {
            Failure::new(
                "States.IntrinsicFailure",
                format!("Invalid arguments in {}: {msg}", self.name.name()),
            )
        })
    }

    fn arity(&self, args: &[Value], n: usize) -> Result<(), String> {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("expected {n} argument(s), got {}", args.len()))
        }
    }

    fn apply(&self, a: Vec<Value>, rng: &mut Rng) -> Result<Value, String> {
        use Function::*;
        match self.name {
            Format => {
                let Some(Arg::Str { raw, .. }) = self.args.first() else {
                    // A template from a path has no escapes.
                    let tmpl = str_arg(a.first(), "the template")?;
                    return format(&escape_plain(tmpl), &a[1..]);
                };
                format(raw, &a[1..])
            }
            StringToJson => {
                self.arity(&a, 1)?;
                let s = str_arg(a.first(), "the argument")?;
                serde_json::from_str(s).map_err(|e| format!("'{s}' is not JSON: {e}"))
            }
            JsonToString => {
                self.arity(&a, 1)?;
                Ok(Value::String(crate::compact(&a[0])))
            }
            Array => Ok(Value::Array(a)),
            ArrayPartition => {
                self.arity(&a, 2)?;
                let arr = arr_arg(&a[0])?;
                let n = int_arg(&a[1])?;
                if n <= 0 {
                    return Err(format!("the chunk size must be positive, got {n}"));
                }
                Ok(Value::Array(
                    arr.chunks(n as usize)
                        .map(|c| Value::Array(c.to_vec()))
                        .collect(),
                ))
            }
            ArrayContains => {
                self.arity(&a, 2)?;
                Ok(Value::Bool(
                    arr_arg(&a[0])?.iter().any(|v| json_eq(v, &a[1])),
                ))
            }
            ArrayRange => {
                self.arity(&a, 3)?;
                let (start, end, step) = (int_arg(&a[0])?, int_arg(&a[1])?, int_arg(&a[2])?);
                if step == 0 {
                    return Err("the step must not be 0".into());
                }
                let count = if (step > 0 && end < start) || (step < 0 && end > start) {
                    0
                } else {
                    ((end as i128 - start as i128) / step as i128 + 1) as u128
                };
                if count > MAX_RANGE_ITEMS as u128 {
                    return Err(format!(
                        "the range has {count} items, more than {MAX_RANGE_ITEMS}"
                    ));
                }
                Ok(Value::Array(
                    (0..count as i64)
                        .map(|k| Value::from(start + k * step))
                        .collect(),
                ))
            }
            ArrayGetItem => {
                self.arity(&a, 2)?;
                let arr = arr_arg(&a[0])?;
                let i = int_arg(&a[1])?;
                usize::try_from(i)
                    .ok()
                    .and_then(|i| arr.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        format!("index {i} is out of bounds for an array of {}", arr.len())
                    })
            }
            ArrayLength => {
                self.arity(&a, 1)?;
                Ok(Value::from(arr_arg(&a[0])?.len()))
            }
            ArrayUnique => {
                self.arity(&a, 1)?;
                let mut out: Vec<Value> = Vec::new();
                for v in arr_arg(&a[0])? {
                    if !out.iter().any(|o| json_eq(o, v)) {
                        out.push(v.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            Base64Encode => {
                self.arity(&a, 1)?;
                let s = limited_str(a.first())?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
                ))
            }
            Base64Decode => {
                self.arity(&a, 1)?;
                let s = limited_str(a.first())?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .map_err(|e| format!("'{s}' is not base64: {e}"))?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| "the decoded bytes are not UTF-8".to_string())
            }
            Hash => {
                self.arity(&a, 2)?;
                let s = limited_str(a.first())?;
                let alg = str_arg(a.get(1), "the algorithm")?;
                hash(s, alg).map(Value::String)
            }
            JsonMerge => {
                self.arity(&a, 3)?;
                if a[2] != Value::Bool(false) {
                    return Err("the third argument (deep merge) must be false".into());
                }
                let (Value::Object(l), Value::Object(r)) = (&a[0], &a[1]) else {
                    return Err("both arguments must be objects".into());
                };
                let mut out: Map<String, Value> = l.clone();
                for (k, v) in r {
                    out.insert(k.clone(), v.clone());
                }
                Ok(Value::Object(out))
            }
            MathRandom => {
                if a.len() != 2 && a.len() != 3 {
                    return Err(format!("expected 2 or 3 arguments, got {}", a.len()));
                }
                let (start, end) = (int_arg(&a[0])?, int_arg(&a[1])?);
                if end < start {
                    return Err(format!("the end {end} is below the start {start}"));
                }
                // With a seed the draw depends on the seed alone, as AWS documents.
                let mut seeded;
                let r = match a.get(2) {
                    Some(seed) => {
                        seeded = Rng::new(int_arg(seed)? as u64);
                        &mut seeded
                    }
                    None => rng,
                };
                Ok(Value::from(r.range_inclusive(start, end)))
            }
            MathAdd => {
                self.arity(&a, 2)?;
                let x = java_round(num_arg(&a[0])?);
                let y = java_round(num_arg(&a[1])?);
                x.checked_add(y)
                    .map(Value::from)
                    .ok_or_else(|| "the sum overflows".to_string())
            }
            StringSplit => {
                self.arity(&a, 2)?;
                let s = str_arg(a.first(), "the string")?;
                let d = str_arg(a.get(1), "the delimiter")?;
                let parts = s
                    .split(|c: char| d.contains(c))
                    .filter(|t| !t.is_empty())
                    .map(|t| Value::String(t.to_string()))
                    .collect();
                Ok(Value::Array(parts))
            }
            UUID => {
                self.arity(&a, 0)?;
                Ok(Value::String(rng.uuid_v4()))
            }
        }
    }
}

fn escape_plain(s: &str) -> String {
    s.replace('\\', "\\\\")
}

/// `States.Format`: `{}` placeholders in order; `\{`, `\}`, `\'`, `\\` are literal.
fn format(raw: &str, args: &[Value]) -> Result<Value, String> {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => out.push(e),
                None => return Err("the template ends with a backslash".into()),
            },
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let Some(v) = args.get(next) else {
                    return Err(format!(
                        "the template has more '{{}}' than the {} argument(s)",
                        args.len()
                    ));
                };
                next += 1;
                match v {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&crate::compact(other)),
                }
            }
            c => out.push(c),
        }
    }
    if next != args.len() {
        return Err(format!(
            "the template has {next} '{{}}' for {} argument(s)",
            args.len()
        ));
    }
    Ok(Value::String(out))
}

fn hash(s: &str, alg: &str) -> Result<String, String> {
    use sha2::Digest;
    let bytes = s.as_bytes();
    let digest: Vec<u8> = match alg {
        "MD5" => md5::Md5::digest(bytes).to_vec(),
        "SHA-1" => sha1::Sha1::digest(bytes).to_vec(),
        "SHA-256" => sha2::Sha256::digest(bytes).to_vec(),
        "SHA-384" => sha2::Sha384::digest(bytes).to_vec(),
        "SHA-512" => sha2::Sha512::digest(bytes).to_vec(),
        other => {
            return Err(format!(
                "'{other}' is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512"
            ))
        }
    };
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Java's `Math.round`: `floor(x + 0.5)`.
fn java_round(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

/// Equality where `1` and `1.0` are the same number.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn str_arg<'a>(v: Option<&'a Value>, what: &str) -> Result<&'a str, String> {
    match v {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!(
            "{what} must be a string, got {}",
            crate::compact(other)
        )),
        None => Err(format!("{what} is missing")),
    }
}

fn limited_str(v: Option<&Value>) -> Result<&str, String> {
    let s = str_arg(v, "the input")?;
    if s.chars().count() > MAX_STRING_INPUT {
        return Err(format!(
            "the input is longer than {MAX_STRING_INPUT} characters"
        ));
    }
    Ok(s)
}

fn arr_arg(v: &Value) -> Result<&Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("expected an array, got {}", crate::compact(v)))
}

fn num_arg(v: &Value) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("expected a number, got {}", crate::compact(v)))
}

fn int_arg(v: &Value) -> Result<i64, String> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(format!("expected an integer, got {}", crate::compact(v))),
    }
}

struct P<'a> {
    t: &'a str,
    i: usize,
    depth: usize,
}

impl P<'_> {
    fn err(&self, what: &str) -> String {
        format!(
            "invalid intrinsic function '{}': {what} at position {}",
            self.t, self.i
        )
    }

    fn peek(&self) -> Option<char> {
        self.t[self.i..].chars().next()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.err(&format!("calls nest more than {MAX_NESTING} deep")));
        }
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            self.i += 1;
        }
        let name = &self.t[start..self.i];
        let f = Function::from_name(name)
            .ok_or_else(|| self.err(&format!("unknown function '{name}'")))?;
        self.ws();
        if self.peek() != Some('(') {
            return Err(self.err("expected '('"));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(')') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                args.push(self.arg()?);
                self.ws();
                match self.peek() {
                    Some(',') => self.i += 1,
                    Some(')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(self.err("expected ',' or ')'")),
                }
            }
        }
        self.depth -= 1;
        Ok(Call { name: f, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => {
                self.i += 1;
                let start = self.i;
                let mut value = String::new();
                loop {
                    let c = self.peek().ok_or_else(|| self.err("unterminated string"))?;
                    self.i += c.len_utf8();
                    match c {
                        '\'' => break,
                        '\\' => {
                            let e = self.peek().ok_or_else(|| self.err("unterminated string"))?;
                            if !matches!(e, '\'' | '{' | '}' | '\\') {
                                return Err(self.err(&format!("invalid escape '\\{e}'")));
                            }
                            self.i += 1;
                            value.push(e);
                        }
                        c => value.push(c),
                    }
                }
                let raw = self.t[start..self.i - 1].to_string();
                Ok(Arg::Str { value, raw })
            }
            Some('$') => {
                let start = self.i;
                let mut bracket = 0;
                let mut quote: Option<char> = None;
                while let Some(c) = self.peek() {
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, '\'' | '"') => quote = Some(c),
                        (None, '[' | '(') => bracket += 1,
                        (None, ']') => bracket -= 1,
                        (None, ')') if bracket == 0 => break,
                        (None, ')') => bracket -= 1,
                        (None, ',') if bracket == 0 => break,
                        _ => {}
                    }
                    self.i += c.len_utf8();
                }
                let text = self.t[start..self.i].trim_end();
                Path::parse(text).map(Arg::Path).map_err(|e| e.0)
            }
            Some('S') if self.t[self.i..].starts_with("States.") => {
                Ok(Arg::Call(Box::new(self.call()?)))
            }
            _ => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                {
                    self.i += 1;
                }
                let word = &self.t[start..self.i];
                match serde_json::from_str::<Value>(word) {
                    Ok(v) if !v.is_object() && !v.is_array() && !v.is_string() => {
                        Ok(Arg::Literal(v))
                    }
                    _ => Err(self.err(&format!("invalid argument '{word}'"))),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(text: &str, input: Value) -> Result<Value, Failure> {
        Call::parse(text)
            .unwrap()
            .eval(&input, &json!({}), &mut Rng::new(1))
    }

    #[test]
    fn parse_errors() {
        assert!(Call::parse("States.Nope(1)").is_err());
        assert!(Call::parse("States.Format('a\\x')").is_err());
        assert!(Call::parse("States.Array(1").is_err());
        let deep = "States.Array(".repeat(11) + &")".repeat(11);
        assert!(Call::parse(&deep).is_err());
        let ok = "States.Array(".repeat(10) + &")".repeat(10);
        assert!(Call::parse(&ok).is_ok());
    }

    #[test]
    fn format_escapes_and_counts() {
        assert_eq!(
            ev(
                r"States.Format('\{x\} {} \'{}\'', $.a, $.b)",
                json!({"a": null, "b": {"k": [1]}})
            )
            .unwrap(),
            json!("{x} null '{\"k\":[1]}'")
        );
        let e = ev("States.Format('{} {}', 1)", json!({})).unwrap_err();
        assert_eq!(e.error, "States.IntrinsicFailure");
    }

    #[test]
    fn math_add_rounds_like_java() {
        assert_eq!(ev("States.MathAdd(-1.5, 0)", json!({})).unwrap(), json!(-1));
        assert_eq!(ev("States.MathAdd(-0.5, 0)", json!({})).unwrap(), json!(0));
        assert_eq!(ev("States.MathAdd(2.5, 1)", json!({})).unwrap(), json!(4));
    }
}
