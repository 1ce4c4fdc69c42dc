//! The state machines of `template.yaml` (`AWS::Serverless::StateMachine`),
//! loaded once at start-up: the `DefinitionUri` file, its
//! `DefinitionSubstitutions` resolved to local names and ARNs, and the
//! definition parsed by [`nexus_asl::Definition::parse`], which refuses what
//! the interpreter does not implement, naming the file, the state and the
//! field. Anything the runner cannot honour stops the platform before it
//! starts, with that message.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use nexus_asl::definition::{Kind, StateList};
use nexus_asl::{Definition, Resource};
use nexus_wiring::template::Template;
use serde_yaml::Value;

/// `Type` of a state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowType {
    /// Exactly-once, unique by name for 90 days, callbacks allowed.
    Standard,
    /// At-least-once, not unique by name, no callbacks.
    Express,
}

/// One loaded state machine.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The template's logical id (`ModerationStateMachine`); also its local name.
    pub logical_id: String,
    /// `arn:aws:states:us-east-1:000000000000:stateMachine:<logical id>`.
    pub arn: String,
    pub kind: WorkflowType,
    /// `statemachines/<name>.asl.json`, as the template names it.
    pub definition_uri: String,
    pub definition: Arc<Definition>,
}

/// The local ARN of a state machine (by logical id): what `!Ref` gives.
pub fn state_machine_arn(logical_id: &str) -> String {
    format!(
        "arn:aws:states:{}:{}:stateMachine:{logical_id}",
        crate::REGION,
        crate::ACCOUNT_ID
    )
}

/// What the names a substitution can refer to resolve to locally.
pub struct LocalNames<'a> {
    pub table_name: &'a str,
    pub bus_name: &'a str,
    /// Parameter values (`Stage`, …), over the template's defaults.
    pub parameters: &'a [(&'a str, String)],
}

fn resource_type<'t>(template: &'t Template, id: &str) -> Option<&'t str> {
    template.resource(id)?.get("Type")?.as_str()
}

/// `!Ref X` / `!GetAtt X.Attr` of a substitution, as a local value.
fn resolve(template: &Template, names: &LocalNames<'_>, value: &Value) -> Result<String, String> {
    let tagged = matches!(value, Value::Tagged(_) | Value::Mapping(_));
    if !tagged {
        if let Some(s) = value.as_str() {
            return Ok(s.to_owned());
        }
        if let Some(n) = value.as_u64() {
            return Ok(n.to_string());
        }
    }
    let id = Template::resolve_ref(value).ok_or_else(|| {
        "only strings, !Ref and !GetAtt are supported locally as substitution values".to_string()
    })?;
    let get_att = match value {
        Value::Tagged(t) if t.tag == "!GetAtt" => true,
        Value::Mapping(m) => m.contains_key("Fn::GetAtt"),
        _ => false,
    };
    let attribute = if get_att {
        let text = serde_yaml::to_string(value).unwrap_or_default();
        text.rsplit('.').next().unwrap_or("").trim().to_owned()
    } else {
        String::new()
    };
    if let Some((_, v)) = names.parameters.iter().find(|(n, _)| *n == id) {
        return Ok(v.clone());
    }
    if !get_att {
        if let Some(default) = template.parameter_default(&id) {
            return Ok(default);
        }
    }
    let ty = resource_type(template, &id)
        .ok_or_else(|| format!("{id} is neither a parameter nor a resource of the template"))?;
    let region = crate::REGION;
    let account = crate::ACCOUNT_ID;
    Ok(match (ty, get_att) {
        ("AWS::Serverless::Function" | "AWS::Lambda::Function", true) => crate::function_arn(&id),
        // `!Ref` of a function is its name; locally the logical id.
        ("AWS::Serverless::Function" | "AWS::Lambda::Function", false) => id,
        ("AWS::SQS::Queue", true) => crate::queue_arn(&id),
        ("AWS::SQS::Queue", false) => {
            format!("https://sqs.{region}.amazonaws.com/{account}/{id}")
        }
        ("AWS::DynamoDB::Table", false) => names.table_name.to_owned(),
        ("AWS::DynamoDB::Table", true) => format!(
            "arn:aws:dynamodb:{region}:{account}:table/{}",
            names.table_name
        ),
        ("AWS::Events::EventBus", false) => names.bus_name.to_owned(),
        ("AWS::Events::EventBus", true) => format!(
            "arn:aws:events:{region}:{account}:event-bus/{}",
            names.bus_name
        ),
        ("AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine", _) => {
            state_machine_arn(&id)
        }
        (other, _) => {
            return Err(format!(
                "{id} is a {other}{}, which the local runner does not resolve",
                if get_att {
                    format!(" (.{attribute})")
                } else {
                    String::new()
                }
            ))
        }
    })
}

/// Replace every `${Key}` of `text` by its substitution; a placeholder
/// without one is an error naming it (CloudFormation refuses it too).
fn substitute(text: &str, subs: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "an unterminated ${ placeholder".to_string())?;
        let key = &after[..end];
        let value = subs
            .get(key)
            .ok_or_else(|| format!("${{{key}}} has no entry in DefinitionSubstitutions"))?;
        // Inside a JSON string: escape like JSON does.
        let escaped = serde_json::to_string(value).unwrap_or_default();
        out.push_str(&escaped[1..escaped.len() - 1]);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Every Task state of `list` (any depth): (name, resource).
fn tasks<'d>(list: &'d StateList, out: &mut Vec<(&'d str, &'d Resource)>) {
    for s in list.states.values() {
        match &s.kind {
            Kind::Task(t) => out.push((&s.name, &t.resource)),
            Kind::Parallel { branches, .. } => branches.iter().for_each(|b| tasks(b, out)),
            Kind::Map(m) => tasks(&m.processor, out),
            _ => {}
        }
    }
}

/// Every state machine of the template, or the first reason one cannot run.
/// `root` is the directory `DefinitionUri` is relative to (the template's).
pub fn load(
    template: &Template,
    root: &Path,
    names: &LocalNames<'_>,
) -> Result<Vec<Machine>, String> {
    let mut out = vec![];
    for (id, resource) in template.resources_of_type("AWS::Serverless::StateMachine") {
        let what = format!("state machine {id}");
        let props = resource
            .get("Properties")
            .ok_or_else(|| format!("{what} has no Properties"))?;
        if props.get("Definition").is_some() {
            return Err(format!(
                "{what}: an inline Definition is not supported locally; use DefinitionUri: statemachines/<name>.asl.json"
            ));
        }
        let uri = props
            .get("DefinitionUri")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{what} has no DefinitionUri (a file under statemachines/)"))?
            .to_owned();
        let kind = match props
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("STANDARD")
        {
            "STANDARD" => WorkflowType::Standard,
            "EXPRESS" => WorkflowType::Express,
            other => return Err(format!("{what}: Type {other:?} is STANDARD or EXPRESS")),
        };
        let mut subs = BTreeMap::new();
        if let Some(m) = props
            .get("DefinitionSubstitutions")
            .and_then(Value::as_mapping)
        {
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default().to_owned();
                let value = resolve(template, names, v)
                    .map_err(|e| format!("{what}: DefinitionSubstitutions.{key}: {e}"))?;
                subs.insert(key, value);
            }
        }
        let path = root.join(&uri);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{what}: DefinitionUri {uri}: {e}"))?;
        let text = substitute(&text, &subs).map_err(|e| format!("{what}: {uri}: {e}"))?;
        let definition = Definition::parse(&text, &uri).map_err(|e| format!("{what}: {e}"))?;
        let mut found = vec![];
        tasks(&definition.root, &mut found);
        for (state, resource) in found {
            if kind == WorkflowType::Express && resource.waits_for_task_token() {
                return Err(format!(
                    "{what}: {uri}: state {state:?}, field Resource: Express workflows do not support .waitForTaskToken"
                ));
            }
        }
        out.push(Machine {
            arn: state_machine_arn(&id),
            logical_id: id,
            kind,
            definition_uri: uri,
            definition: Arc::new(definition),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> LocalNames<'static> {
        LocalNames {
            table_name: "nexus-t",
            bus_name: "nexus-local",
            parameters: &[],
        }
    }

    fn write(dir: &Path, file: &str, text: &str) {
        std::fs::create_dir_all(dir.join("statemachines")).unwrap();
        std::fs::write(dir.join(file), text).unwrap();
    }

    #[test]
    fn substitutions_resolve_to_local_arns_and_names() {
        let dir = std::env::temp_dir().join(format!("nexus-sm-{}", ulid::Ulid::new()));
        write(
            &dir,
            "statemachines/m.asl.json",
            r#"{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke",
               "Parameters":{"FunctionName":"${WorkerArn}","Payload":{"q":"${Queue}","t":"${Table}"}},"End":true}}}"#,
        );
        let template = Template::parse(
            r#"
Resources:
  Worker:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/worker}
  Jobs:
    Type: AWS::SQS::Queue
  Data:
    Type: AWS::DynamoDB::Table
  MStateMachine:
    Type: AWS::Serverless::StateMachine
    Properties:
      DefinitionUri: statemachines/m.asl.json
      Type: EXPRESS
      DefinitionSubstitutions:
        WorkerArn: !GetAtt Worker.Arn
        Queue: !Ref Jobs
        Table: !Ref Data
"#,
        )
        .unwrap();
        let ms = load(&template, &dir, &names()).unwrap();
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].kind, WorkflowType::Express);
        assert_eq!(
            ms[0].arn,
            "arn:aws:states:us-east-1:000000000000:stateMachine:MStateMachine"
        );
        let text = ms[0].definition.text();
        assert!(
            text.contains("arn:aws:lambda:us-east-1:000000000000:function:Worker"),
            "{text}"
        );
        assert!(text.contains("https://sqs.us-east-1.amazonaws.com/000000000000/Jobs"));
        assert!(text.contains("\"nexus-t\""));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unsupported_definitions_refuse_naming_file_state_and_field() {
        let dir = std::env::temp_dir().join(format!("nexus-sm-{}", ulid::Ulid::new()));
        write(
            &dir,
            "statemachines/j.asl.json",
            r#"{"QueryLanguage":"JSONata","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#,
        );
        write(
            &dir,
            "statemachines/x.asl.json",
            r#"{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken",
               "Parameters":{"FunctionName":"f","Payload":{"t.$":"$$.Task.Token"}},"End":true}}}"#,
        );
        let t = |file: &str, ty: &str| {
            Template::parse(&format!(
                "Resources:\n  SStateMachine:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      DefinitionUri: {file}\n      Type: {ty}\n"
            ))
            .unwrap()
        };
        let e = load(&t("statemachines/j.asl.json", "STANDARD"), &dir, &names()).unwrap_err();
        assert!(
            e.contains("statemachines/j.asl.json") && e.contains("QueryLanguage"),
            "{e}"
        );
        let e = load(&t("statemachines/x.asl.json", "EXPRESS"), &dir, &names()).unwrap_err();
        assert!(e.contains("\"W\"") && e.contains("Express"), "{e}");
        let e = load(
            &t("statemachines/none.asl.json", "STANDARD"),
            &dir,
            &names(),
        )
        .unwrap_err();
        assert!(e.contains("none.asl.json"), "{e}");
        std::fs::write(
            dir.join("statemachines/s.asl.json"),
            r#"{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"${Missing}","End":true}}}"#,
        )
        .unwrap();
        let e = load(&t("statemachines/s.asl.json", "STANDARD"), &dir, &names()).unwrap_err();
        assert!(e.contains("${Missing}"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
