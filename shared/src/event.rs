//! The Lambda event AWS Config sends a custom rule, decoded and checked.
//!
//! Config sends `invokingEvent` and `ruleParameters` as JSON **strings** inside the event; the
//! invoking event is one of three message types: a configuration change (the item inline), an
//! oversized change (only a summary: the item must be fetched), or a scheduled notification
//! (evaluate every recorded resource). Decoding is pure so that it is tested and fuzzed without
//! AWS; errors name the field.

use serde_json::Value;

use crate::policy::decode::json_type;

/// What Config asks the rule to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// `ConfigurationItemChangeNotification`: evaluate this item.
    Change {
        /// The configuration item (event dialect).
        item: Value,
    },
    /// `OversizedConfigurationItemChangeNotification`: fetch the item, then evaluate it.
    Oversized {
        /// `configurationItemSummary.resourceType`
        resource_type: String,
        /// `configurationItemSummary.resourceId`
        resource_id: String,
    },
    /// `ScheduledNotification`: evaluate every recorded resource of the rule's types.
    Scheduled,
}

/// A decoded Config rule event.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEvent {
    /// What to do.
    pub invocation: Invocation,
    /// `notificationCreationTime` of the invoking event (RFC 3339).
    pub notification_time: String,
    /// `ruleParameters`, still as Config's JSON text (parsed against the rule's declaration).
    pub rule_parameters: Option<String>,
    /// `resultToken`, to pass back to PutEvaluations.
    pub result_token: String,
    /// `eventLeftScope`: the resource left the rule's scope (report NOT_APPLICABLE).
    pub event_left_scope: bool,
    /// `accountId`: the account whose resource this is.
    pub account_id: String,
    /// `configRuleName`
    pub config_rule_name: String,
}

/// Why an event was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config event field `{field}` {problem}")]
pub struct EventError {
    /// The field (`invokingEvent.messageType`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

fn error(field: &str, problem: impl Into<String>) -> EventError {
    EventError { field: field.into(), problem: problem.into() }
}

fn string<'v>(object: &'v Value, field: &str, path: &str) -> Result<&'v str, EventError> {
    match object.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(error(path, format!("is {}, expected a string", json_type(other)))),
        None => Err(error(path, "is missing")),
    }
}

/// Decodes the event Config sends a rule's Lambda function.
pub fn decode(event: &Value) -> Result<ConfigEvent, EventError> {
    if !event.is_object() {
        return Err(error("(event)", format!("is {}, expected an object", json_type(event))));
    }
    let invoking_text = string(event, "invokingEvent", "invokingEvent")?;
    let invoking: Value = serde_json::from_str(invoking_text)
        .map_err(|e| error("invokingEvent", format!("is not a JSON document: {e}")))?;
    if !invoking.is_object() {
        return Err(error("invokingEvent", format!("is {}, expected a JSON object", json_type(&invoking))));
    }
    let message_type = string(&invoking, "messageType", "invokingEvent.messageType")?;
    let invocation = match message_type {
        "ConfigurationItemChangeNotification" => match invoking.get("configurationItem") {
            Some(item @ Value::Object(_)) => Invocation::Change { item: item.clone() },
            Some(other) => {
                return Err(error(
                    "invokingEvent.configurationItem",
                    format!("is {}, expected an object", json_type(other)),
                ))
            }
            None => return Err(error("invokingEvent.configurationItem", "is missing")),
        },
        "OversizedConfigurationItemChangeNotification" => {
            let summary = invoking
                .get("configurationItemSummary")
                .ok_or_else(|| error("invokingEvent.configurationItemSummary", "is missing"))?;
            Invocation::Oversized {
                resource_type: string(summary, "resourceType", "invokingEvent.configurationItemSummary.resourceType")?
                    .to_owned(),
                resource_id: string(summary, "resourceId", "invokingEvent.configurationItemSummary.resourceId")?
                    .to_owned(),
            }
        }
        "ScheduledNotification" => Invocation::Scheduled,
        other => {
            return Err(error(
                "invokingEvent.messageType",
                format!("`{other}` is not a message type Config sends rules"),
            ))
        }
    };
    let rule_parameters = match event.get("ruleParameters") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(error("ruleParameters", format!("is {}, expected a JSON string", json_type(other)))),
    };
    let event_left_scope = match event.get("eventLeftScope") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(error("eventLeftScope", format!("is {}, expected a boolean", json_type(other)))),
    };
    Ok(ConfigEvent {
        invocation,
        notification_time: invoking
            .get("notificationCreationTime")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        rule_parameters,
        result_token: string(event, "resultToken", "resultToken")?.to_owned(),
        event_left_scope,
        account_id: string(event, "accountId", "accountId")?.to_owned(),
        config_rule_name: string(event, "configRuleName", "configRuleName")?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(invoking: Value) -> Value {
        json!({
            "version": "1.0",
            "invokingEvent": invoking.to_string(),
            "ruleParameters": "{\"flagAccountRoot\":\"true\"}",
            "resultToken": "token",
            "eventLeftScope": false,
            "executionRoleArn": "arn:aws:iam::111122223333:role/config-role",
            "configRuleArn": "arn:aws:config:us-east-1:111122223333:config-rule/config-rule-0123456",
            "configRuleName": "kms-no-wildcard-admin",
            "configRuleId": "config-rule-0123456",
            "accountId": "111122223333"
        })
    }

    #[test]
    fn change_notifications_carry_the_item() {
        let decoded = decode(&event(json!({
            "configurationItem": {"resourceType": "AWS::KMS::Key", "resourceId": "k"},
            "messageType": "ConfigurationItemChangeNotification",
            "notificationCreationTime": "2026-11-01T00:00:00.000Z",
            "recordVersion": "1.3"
        })));
        let decoded = decoded.unwrap();
        assert!(matches!(decoded.invocation, Invocation::Change { .. }));
        assert_eq!(decoded.rule_parameters.as_deref(), Some("{\"flagAccountRoot\":\"true\"}"));
        assert_eq!(decoded.notification_time, "2026-11-01T00:00:00.000Z");
    }

    #[test]
    fn oversized_and_scheduled() {
        let oversized = decode(&event(json!({
            "configurationItemSummary": {"resourceType": "AWS::IAM::Role", "resourceId": "AROA1"},
            "messageType": "OversizedConfigurationItemChangeNotification",
            "notificationCreationTime": "2026-11-01T00:00:00.000Z"
        })));
        assert_eq!(
            oversized.map(|e| e.invocation),
            Ok(Invocation::Oversized { resource_type: "AWS::IAM::Role".into(), resource_id: "AROA1".into() })
        );
        let scheduled =
            decode(&event(json!({"messageType": "ScheduledNotification", "notificationCreationTime": "t"})));
        assert_eq!(scheduled.map(|e| e.invocation), Ok(Invocation::Scheduled));
    }

    #[test]
    fn malformed_events_name_the_field() {
        let msg = |v: Value| decode(&v).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(msg(json!([])), "config event field `(event)` is an array, expected an object");
        assert_eq!(
            msg(json!({"invokingEvent": 3})),
            "config event field `invokingEvent` is a number, expected a string"
        );
        assert!(
            msg(json!({"invokingEvent": "{"})).starts_with("config event field `invokingEvent` is not a JSON document")
        );
        assert_eq!(
            msg(event(json!({"messageType": "Nope"}))),
            "config event field `invokingEvent.messageType` `Nope` is not a message type Config sends rules"
        );
        assert_eq!(
            msg(event(json!({"messageType": "ConfigurationItemChangeNotification"}))),
            "config event field `invokingEvent.configurationItem` is missing"
        );
        let mut no_token = event(json!({"messageType": "ScheduledNotification"}));
        no_token.as_object_mut().map(|o| o.remove("resultToken"));
        assert_eq!(msg(no_token), "config event field `resultToken` is missing");
    }
}
