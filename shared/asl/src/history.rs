//! Execution history in AWS's shape (`GetExecutionHistory`): every event has `id`,
//! `previousEventId`, `timestamp`, `type` and, for most types, a
//! `<camelType>EventDetails` object (`stateEnteredEventDetails` for every
//! `…StateEntered`, `stateExitedEventDetails` for every `…StateExited`). `input` and
//! `output` inside details are JSON *strings*, as AWS returns them.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp: jiff::Timestamp,
    /// `ExecutionStarted`, `TaskStateEntered`, `MapIterationStarted`, … .
    pub event_type: String,
    /// The details object's key (`taskScheduledEventDetails`, …) and value.
    pub details: Option<(String, Value)>,
}

impl HistoryEvent {
    /// The event exactly as `GetExecutionHistory` renders it.
    pub fn to_aws_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("timestamp".into(), json!(format_timestamp(self.timestamp)));
        m.insert("type".into(), json!(self.event_type));
        m.insert("id".into(), json!(self.id));
        m.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some((k, v)) = &self.details {
            m.insert(k.clone(), v.clone());
        }
        Value::Object(m)
    }

    /// A field of the details object, if any.
    pub fn detail(&self, key: &str) -> Option<&Value> {
        self.details.as_ref().and_then(|(_, v)| v.get(key))
    }
}

/// The details key AWS uses for an event type.
pub fn details_key(event_type: &str) -> String {
    if event_type.ends_with("StateEntered") {
        return "stateEnteredEventDetails".into();
    }
    if event_type.ends_with("StateExited") {
        return "stateExitedEventDetails".into();
    }
    let mut c = event_type.chars();
    let first = c.next().map(|f| f.to_ascii_lowercase()).unwrap_or_default();
    format!("{first}{}EventDetails", c.as_str())
}

/// Service timestamps: milliseconds, always `Z` (`2023-11-21T06:27:31.545Z`).
pub fn format_timestamp(t: jiff::Timestamp) -> String {
    format!("{t:.3}")
}

/// `"input"`/`"output"` style details: the JSON text and `{"truncated": false}`.
pub fn payload(key: &str, value: &Value) -> (String, Value) {
    (key.to_string(), Value::String(crate::compact(value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_timestamps() {
        assert_eq!(details_key("TaskStateEntered"), "stateEnteredEventDetails");
        assert_eq!(
            details_key("MapIterationStarted"),
            "mapIterationStartedEventDetails"
        );
        assert_eq!(
            details_key("ExecutionFailed"),
            "executionFailedEventDetails"
        );
        let t: jiff::Timestamp = "2023-11-21T06:27:31.545123Z".parse().unwrap();
        assert_eq!(format_timestamp(t), "2023-11-21T06:27:31.545Z");
        let t: jiff::Timestamp = "2023-11-21T06:27:31Z".parse().unwrap();
        assert_eq!(format_timestamp(t), "2023-11-21T06:27:31.000Z");
    }
}
