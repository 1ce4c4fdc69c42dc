//! Payload templates (`Parameters`, `ItemSelector`, `ResultSelector`): keys ending in `.$`
//! take a path, a `$$` path or an intrinsic call, at any depth (also inside arrays); the
//! key is emitted without `.$`; every other value is literal.

use crate::error::Failure;
use crate::intrinsics::{looks_like_call, Call};
use crate::path::Path;
use crate::rng::Rng;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path { field: String, path: Path },
    Call { call: Call },
}

impl Template {
    /// Compiles a template; the error names the offending field.
    pub fn compile(value: &Value) -> Result<Template, (String, String)> {
        Self::compile_at(value, "")
    }

    fn compile_at(value: &Value, at: &str) -> Result<Template, (String, String)> {
        match value {
            Value::Object(map) => {
                let mut out = Vec::with_capacity(map.len());
                for (k, v) in map {
                    let here = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    if let Some(name) = k.strip_suffix(".$") {
                        let Value::String(text) = v else {
                            return Err((
                                here,
                                "a field ending in '.$' must hold a string (a path or an intrinsic function)".into(),
                            ));
                        };
                        let t = if looks_like_call(text) {
                            Template::Call {
                                call: Call::parse(text.trim()).map_err(|e| (here.clone(), e))?,
                            }
                        } else {
                            Template::Path {
                                field: k.clone(),
                                path: Path::parse(text).map_err(|e| (here.clone(), e.0))?,
                            }
                        };
                        out.push((name.to_string(), t));
                    } else {
                        out.push((k.clone(), Self::compile_at(v, &here)?));
                    }
                }
                Ok(Template::Object(out))
            }
            Value::Array(items) => Ok(Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Self::compile_at(v, &format!("{at}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )),
            v => Ok(Template::Literal(v.clone())),
        }
    }

    pub fn eval(&self, input: &Value, ctx: &Value, rng: &mut Rng) -> Result<Value, Failure> {
        Ok(match self {
            Template::Literal(v) => v.clone(),
            Template::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    map.insert(k.clone(), t.eval(input, ctx, rng)?);
                }
                Value::Object(map)
            }
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.eval(input, ctx, rng))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Path { field, path } => {
                let doc = if path.is_context() { ctx } else { input };
                path.eval(doc).map_err(|_| {
                    Failure::runtime(format!(
                        "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
                        crate::compact(doc)
                    ))
                })?
            }
            Template::Call { call } => call.eval(input, ctx, rng)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_and_array_fields_resolve() {
        let t = Template::compile(&json!({
            "a.$": "$.x", "lit": "$.x", "n": {"b.$": "$$.Execution.Name"},
            "arr": [{"c.$": "States.Array($.x)"}, 1]
        }))
        .unwrap();
        let out = t
            .eval(
                &json!({"x": 5}),
                &json!({"Execution": {"Name": "e"}}),
                &mut Rng::new(0),
            )
            .unwrap();
        assert_eq!(
            out,
            json!({"a": 5, "lit": "$.x", "n": {"b": "e"}, "arr": [{"c": [5]}, 1]})
        );
        let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["a", "lit", "n", "arr"]);
    }

    #[test]
    fn a_miss_is_states_runtime_with_aws_message() {
        let t = Template::compile(&json!({"value.$": "$.x"})).unwrap();
        let e = t
            .eval(&json!({"y": 1}), &json!({}), &mut Rng::new(0))
            .unwrap_err();
        assert_eq!(e.error, "States.Runtime");
        assert_eq!(
            e.cause.unwrap(),
            "The JSONPath '$.x' specified for the field 'value.$' could not be found in the input '{\"y\":1}'"
        );
    }
}
