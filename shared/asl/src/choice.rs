//! Choice rules: every comparison operator (with its `…Path` twin), `And`/`Or`/`Not`,
//! the `Is*` tests and `StringMatches`, evaluated as AWS does (reference §1.5): a type
//! mismatch is `false`, never an error; a missing `Variable` is `States.Runtime` except
//! under `IsPresent`.

use crate::error::Failure;
use crate::path::Path;
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Test {
        variable: Path,
        op: Op,
        operand: Operand,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Compare(Kind, Cmp),
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(Value),
    Path(Path),
}

const KINDS: [(&str, Kind); 4] = [
    ("String", Kind::String),
    ("Numeric", Kind::Numeric),
    ("Boolean", Kind::Boolean),
    ("Timestamp", Kind::Timestamp),
];
const CMPS: [(&str, Cmp); 5] = [
    ("Equals", Cmp::Equals),
    ("LessThanEquals", Cmp::LessThanEquals),
    ("GreaterThanEquals", Cmp::GreaterThanEquals),
    ("LessThan", Cmp::LessThan),
    ("GreaterThan", Cmp::GreaterThan),
];

/// Parses an operator name; returns the operator and whether it is the `…Path` form.
fn operator(name: &str) -> Option<(Op, bool)> {
    let simple = match name {
        "StringMatches" => Some(Op::StringMatches),
        "IsNull" => Some(Op::IsNull),
        "IsPresent" => Some(Op::IsPresent),
        "IsNumeric" => Some(Op::IsNumeric),
        "IsString" => Some(Op::IsString),
        "IsBoolean" => Some(Op::IsBoolean),
        "IsTimestamp" => Some(Op::IsTimestamp),
        _ => None,
    };
    if let Some(op) = simple {
        return Some((op, false));
    }
    let (base, is_path) = match name.strip_suffix("Path") {
        Some(b) => (b, true),
        None => (name, false),
    };
    for (kp, kind) in KINDS {
        if let Some(rest) = base.strip_prefix(kp) {
            for (cp, cmp) in CMPS {
                if rest == cp && (kind != Kind::Boolean || cmp == Cmp::Equals) {
                    return Some((Op::Compare(kind, cmp), is_path));
                }
            }
        }
    }
    None
}

/// Parses one rule; `top` rules carry `Next` (checked by the caller). Errors are
/// `(field, message)` relative to the rule.
pub fn parse_rule(v: &Value, top: bool) -> Result<Rule, (String, String)> {
    let Value::Object(map) = v else {
        return Err((String::new(), "a choice rule must be an object".into()));
    };
    let mut found: Option<Rule> = None;
    let mut variable: Option<Path> = None;
    let mut op: Option<(String, Op, bool, &Value)> = None;
    for (k, val) in map {
        match k.as_str() {
            "Comment" => {}
            "Next" if top => {}
            "Variable" => {
                let Value::String(s) = val else {
                    return Err((k.clone(), "must be a string".into()));
                };
                variable = Some(Path::parse_reference(s).map_err(|e| (k.clone(), e.0))?);
            }
            "And" | "Or" => {
                let Value::Array(items) = val else {
                    return Err((k.clone(), "must be a non-empty array of rules".into()));
                };
                if items.is_empty() {
                    return Err((k.clone(), "must be a non-empty array of rules".into()));
                }
                let rules = items
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        parse_rule(r, false).map_err(|(f, m)| (join(&format!("{k}[{i}]"), &f), m))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                set_once(
                    &mut found,
                    k,
                    if k == "And" {
                        Rule::And(rules)
                    } else {
                        Rule::Or(rules)
                    },
                )?;
            }
            "Not" => {
                let r = parse_rule(val, false).map_err(|(f, m)| (join("Not", &f), m))?;
                set_once(&mut found, k, Rule::Not(Box::new(r)))?;
            }
            name => match operator(name) {
                Some((o, is_path)) => {
                    if op.is_some() {
                        return Err((
                            k.clone(),
                            "a rule has exactly one comparison operator".into(),
                        ));
                    }
                    op = Some((name.to_string(), o, is_path, val));
                }
                None => return Err((k.clone(), "unknown field in a choice rule".into())),
            },
        }
    }
    if let Some(rule) = found {
        if variable.is_some() || op.is_some() {
            return Err((
                "Variable".into(),
                "a rule is either a combinator (And/Or/Not) or a comparison, not both".into(),
            ));
        }
        return Ok(rule);
    }
    let Some((name, op, is_path, val)) = op else {
        return Err((
            String::new(),
            "a rule needs a comparison operator or And/Or/Not".into(),
        ));
    };
    let Some(variable) = variable else {
        return Err(("Variable".into(), "a comparison needs a Variable".into()));
    };
    let bad = |m: &str| Err((name.clone(), m.to_string()));
    let operand = if is_path {
        let Value::String(s) = val else {
            return bad("must be a reference path string");
        };
        Operand::Path(Path::parse_reference(s).map_err(|e| (name.clone(), e.0))?)
    } else {
        let ok = match op {
            Op::Compare(Kind::String, _) | Op::StringMatches => val.is_string(),
            Op::Compare(Kind::Numeric, _) => val.is_number(),
            Op::Compare(Kind::Boolean, _) => val.is_boolean(),
            Op::Compare(Kind::Timestamp, _) => val.as_str().and_then(parse_timestamp).is_some(),
            _ => val.is_boolean(),
        };
        if !ok {
            return bad(match op {
                Op::Compare(Kind::Timestamp, _) => "must be an RFC 3339 timestamp string",
                Op::Compare(Kind::Numeric, _) => "must be a number",
                Op::Compare(Kind::String, _) | Op::StringMatches => "must be a string",
                _ => "must be a boolean",
            });
        }
        Operand::Value(val.clone())
    };
    Ok(Rule::Test {
        variable,
        op,
        operand,
    })
}

fn join(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn set_once(slot: &mut Option<Rule>, k: &str, r: Rule) -> Result<(), (String, String)> {
    if slot.is_some() {
        return Err((
            k.to_string(),
            "a rule has exactly one of And, Or, Not".into(),
        ));
    }
    *slot = Some(r);
    Ok(())
}

fn lookup(path: &Path, input: &Value, ctx: &Value) -> Option<Value> {
    path.eval(if path.is_context() { ctx } else { input }).ok()
}

fn invalid(path: &Path) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{path}': The choice state's condition path references an invalid value."
    ))
}

impl Rule {
    pub fn eval(&self, input: &Value, ctx: &Value) -> Result<bool, Failure> {
        match self {
            Rule::And(rs) => {
                for r in rs {
                    if !r.eval(input, ctx)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rs) => {
                for r in rs {
                    if r.eval(input, ctx)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval(input, ctx)?),
            Rule::Test {
                variable,
                op,
                operand,
            } => {
                let value = lookup(variable, input, ctx);
                if *op == Op::IsPresent {
                    return Ok(value.is_some() == (operand_bool(operand)));
                }
                let value = value.ok_or_else(|| invalid(variable))?;
                let expected = match operand {
                    Operand::Value(v) => v.clone(),
                    Operand::Path(p) => lookup(p, input, ctx).ok_or_else(|| invalid(p))?,
                };
                Ok(test(*op, &value, &expected))
            }
        }
    }
}

fn operand_bool(o: &Operand) -> bool {
    matches!(o, Operand::Value(Value::Bool(true)))
}

fn test(op: Op, v: &Value, expected: &Value) -> bool {
    let want = expected.as_bool().unwrap_or(false);
    match op {
        Op::IsPresent => unreachable!("handled by the caller"),
        Op::IsNull => v.is_null() == want,
        Op::IsNumeric => v.is_number() == want,
        Op::IsString => v.is_string() == want,
        Op::IsBoolean => v.is_boolean() == want,
        Op::IsTimestamp => v.as_str().and_then(parse_timestamp).is_some() == want,
        Op::StringMatches => match (v, expected) {
            (Value::String(s), Value::String(p)) => glob(p, s),
            _ => false,
        },
        Op::Compare(kind, cmp) => {
            let ord = match kind {
                Kind::String => match (v, expected) {
                    // Java compares strings by UTF-16 code units.
                    (Value::String(a), Value::String(b)) => {
                        Some(a.encode_utf16().cmp(b.encode_utf16()))
                    }
                    _ => None,
                },
                Kind::Numeric => match (v, expected) {
                    (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
                        (Some(x), Some(y)) => Some(x.cmp(&y)),
                        _ => a.as_f64().partial_cmp(&b.as_f64()),
                    },
                    _ => None,
                },
                Kind::Boolean => match (v, expected) {
                    (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
                    _ => None,
                },
                Kind::Timestamp => match (
                    v.as_str().and_then(parse_timestamp),
                    expected.as_str().and_then(parse_timestamp),
                ) {
                    (Some(a), Some(b)) => Some(a.cmp(&b)),
                    _ => None,
                },
            };
            let Some(ord) = ord else { return false };
            match cmp {
                Cmp::Equals => ord == Ordering::Equal,
                Cmp::LessThan => ord == Ordering::Less,
                Cmp::GreaterThan => ord == Ordering::Greater,
                Cmp::LessThanEquals => ord != Ordering::Greater,
                Cmp::GreaterThanEquals => ord != Ordering::Less,
            }
        }
    }
}

/// RFC 3339 as AWS accepts it: uppercase `T`, and `Z` or a numeric offset.
pub fn parse_timestamp(s: &str) -> Option<jiff::Timestamp> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !shape {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let zone_ok = match &b[i..] {
        [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    };
    if !zone_ok {
        return None;
    }
    s.parse().ok()
}

/// `StringMatches`: `*` matches any run of characters; `\*` is a literal star and `\\` a
/// literal backslash.
pub fn glob(pattern: &str, s: &str) -> bool {
    #[derive(PartialEq)]
    enum T {
        Star,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some(e) => toks.push(T::Lit(e)),
                None => toks.push(T::Lit('\\')),
            },
            '*' => toks.push(T::Star),
            c => toks.push(T::Lit(c)),
        }
    }
    let chars: Vec<char> = s.chars().collect();
    let (mut p, mut i) = (0usize, 0usize);
    let (mut star_p, mut star_i) = (None::<usize>, 0usize);
    while i < chars.len() {
        match toks.get(p) {
            Some(T::Lit(c)) if *c == chars[i] => {
                p += 1;
                i += 1;
            }
            Some(T::Star) => {
                star_p = Some(p);
                star_i = i;
                p += 1;
            }
            _ => match star_p {
                Some(sp) => {
                    p = sp + 1;
                    star_i += 1;
                    i = star_i;
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == T::Star)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_rules() {
        assert!(glob("log-*.txt", "log-2024.txt"));
        assert!(glob("*", ""));
        assert!(!glob("a*b", "ac"));
        assert!(glob(r"a\*b", "a*b"));
        assert!(!glob(r"a\*b", "axb"));
        assert!(glob(r"a\\b", r"a\b"));
        assert!(glob("*.log*", "x.log.1"));
    }

    #[test]
    fn timestamps_need_t_and_zone() {
        assert!(parse_timestamp("2016-03-14T01:59:00Z").is_some());
        assert!(parse_timestamp("2016-03-14T01:59:00.123+01:00").is_some());
        assert!(parse_timestamp("2016-03-14t01:59:00Z").is_none());
        assert!(parse_timestamp("2016-03-14T01:59:00").is_none());
        assert!(parse_timestamp("2023-02-24 12:15:56.832957").is_none());
        assert!(parse_timestamp("2016-13-14T01:59:00Z").is_none());
        assert!(parse_timestamp("2016-03-14T25:59:00Z").is_none());
    }

    #[test]
    fn operator_names() {
        assert_eq!(
            operator("NumericLessThanEqualsPath"),
            Some((Op::Compare(Kind::Numeric, Cmp::LessThanEquals), true))
        );
        assert_eq!(operator("BooleanLessThan"), None);
        assert_eq!(operator("IsPresentPath"), None);
    }
}
