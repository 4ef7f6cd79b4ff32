//! What an export's top-level fields other than its item lists say: the shapes whose item is
//! one field of the document (a single item, the aggregator's `ConfigurationItem`, the Config
//! rule event, the SNS and EventBridge notifications), what a batch-get did not return, and
//! the pages that were not read. Both readers ([`super::stream`] and [`super::stream_raw`])
//! collect those fields whole (they are small) and hand them here at the end of the document.

use serde_json::{Map, Value};

use super::{unknown_shape, ExportError, ExportShape, Slot, StreamError};
use crate::policy::decode::json_type;

/// What the whole document adds to its item lists.
pub(super) struct Whole {
    /// The document's shape.
    pub shape: ExportShape,
    /// Entries to hand out after the lists', in this order: the embedded item, or what a
    /// batch-get did not return.
    pub entries: Vec<(Slot, Value)>,
    /// What the reader should be told (a page of a longer output).
    pub warnings: Vec<String>,
}

/// Reads the top-level fields `rest` of a document whose item lists made it `listed` (none:
/// no item list).
pub(super) fn whole(listed: Option<ExportShape>, mut rest: Map<String, Value>) -> Result<Whole, StreamError> {
    let Some(shape) = listed else { return embedded(rest) };
    let mut entries = Vec::new();
    // `batch-get-resource-config` and `batch-get-aggregate-resource-config` list the resources
    // they did not return (throttling, too many keys): those were not judged, so each list
    // that is not empty is an input error of its own (see `unprocessed`).
    for slot in [Slot::Unprocessed, Slot::AggregateUnprocessed] {
        if let Some(list) = rest.remove(slot.key()) {
            entries.push((slot, list));
        }
    }
    let mut warnings = Vec::new();
    match rest.get("IsTruncated") {
        None | Some(Value::Null | Value::Bool(false)) => {}
        Some(Value::Bool(true)) => warnings.push(
            "`IsTruncated` is true: this is one page of `get-account-authorization-details` output, and the \
             entries of the pages after it were not read (the AWS CLI reads every page unless given \
             `--max-items` or `--no-paginate`)"
                .to_owned(),
        ),
        Some(other) => {
            return Err(StreamError::Shape(ExportError::Field {
                field: "IsTruncated".into(),
                problem: format!("is {}, expected a boolean", json_type(other)),
            }))
        }
    }
    // The paged Config calls: `get-resource-config-history` (`nextToken`), `select-resource-config`
    // and `select-aggregate-resource-config` (`NextToken`).
    for key in ["NextToken", "nextToken"] {
        match rest.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(token)) if token.is_empty() => {}
            Some(_) => warnings.push(format!(
                "`{key}` is set: this is one page of the output, and the items of the pages after it were not \
                 read (the AWS CLI reads every page unless given `--max-items` or `--no-paginate`)"
            )),
        }
    }
    Ok(Whole { shape, entries, warnings })
}

/// A document without an item list: one item, or a message carrying one.
fn embedded(mut rest: Map<String, Value>) -> Result<Whole, StreamError> {
    let one =
        |shape: ExportShape, slot: Slot, item: Value| Whole { shape, entries: vec![(slot, item)], warnings: vec![] };
    // A notification message first: some carry `resourceType` at the top without being an
    // item (the compliance change notification names the resource it judged).
    if rest.contains_key("messageType") {
        let message = Value::Object(rest);
        let item = notification(&message, "")?;
        return Ok(one(ExportShape::Notification, Slot::Notification, item));
    }
    if rest.contains_key("resourceType") {
        return Ok(one(ExportShape::SingleItem, Slot::Item, Value::Object(rest)));
    }
    // `get-aggregate-resource-config`: `{"ConfigurationItem": {...}}`.
    if let Some(item) = rest.remove("ConfigurationItem") {
        return Ok(one(ExportShape::AggregateItem, Slot::AggregateItem, object(item, "ConfigurationItem")?));
    }
    // The event Config sends a rule's Lambda function: `invokingEvent` is a JSON string (an
    // object is taken as it is: a decoded copy of the same event).
    if let Some(invoking) = rest.remove("invokingEvent") {
        let message = decoded(invoking, "invokingEvent")?;
        let item = notification(&message, "invokingEvent")?;
        return Ok(one(ExportShape::RuleEvent, Slot::RuleEvent, item));
    }
    // What Config publishes to an SNS topic, as the topic delivers it (HTTP/S, SQS, Lambda's
    // `Records[0].Sns` is the same object): `Message` is a JSON string (an object in AWS's
    // documentation examples, read as it is).
    if rest.get("Type").and_then(Value::as_str) == Some("Notification") {
        if let Some(message) = rest.remove("Message") {
            let message = decoded(message, "Message")?;
            let item = notification(&message, "Message")?;
            return Ok(one(ExportShape::SnsNotification, Slot::Sns, item));
        }
    }
    // The EventBridge event of a configuration change: `detail` is the notification.
    if rest.get("source").and_then(Value::as_str) == Some("aws.config") || rest.contains_key("detail-type") {
        if let Some(detail) = rest.remove("detail") {
            let detail = object(detail, "detail")?;
            let item = notification(&detail, "detail")?;
            return Ok(one(ExportShape::EventBridgeEvent, Slot::EventBridge, item));
        }
    }
    // The notification message itself (SNS's `Message`, decoded, or EventBridge's `detail`).
    if rest.contains_key("configurationItem") {
        let message = Value::Object(rest);
        let item = notification(&message, "")?;
        return Ok(one(ExportShape::Notification, Slot::Notification, item));
    }
    Err(unknown_shape(&rest))
}

fn field_error(field: impl Into<String>, problem: impl Into<String>) -> StreamError {
    StreamError::Shape(ExportError::Field { field: field.into(), problem: problem.into() })
}

fn object(value: Value, at: &str) -> Result<Value, StreamError> {
    match value {
        object @ Value::Object(_) => Ok(object),
        other => Err(field_error(at, format!("is {}, expected an object", json_type(&other)))),
    }
}

/// A message carried as a JSON string (or already decoded, as an object).
fn decoded(value: Value, at: &str) -> Result<Value, StreamError> {
    match value {
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(message @ Value::Object(_)) => Ok(message),
            Ok(other) => Err(field_error(at, format!("is a JSON string of {}, expected an object", json_type(&other)))),
            Err(e) => Err(field_error(at, format!("is a string that is not JSON: {e}"))),
        },
        message @ Value::Object(_) => Ok(message),
        other => Err(field_error(at, format!("is {}, expected a JSON string", json_type(&other)))),
    }
}

/// How to export the recorded resources when a message carries none.
const EXPORT_INSTEAD: &str = "export the resources instead: a configuration snapshot \
     (`aws configservice deliver-config-snapshot`), or `aws configservice select-resource-config --expression \
     \"SELECT * WHERE resourceType IN ('AWS::KMS::Key', 'AWS::IAM::Policy', 'AWS::IAM::User', 'AWS::IAM::Role', \
     'AWS::IAM::Group')\"`";

/// The configuration item a Config notification (`invokingEvent`, SNS `Message`, EventBridge
/// `detail`) carries; `at` is the message's field (empty: the document is the message).
fn notification(message: &Value, at: &str) -> Result<Value, StreamError> {
    let path = |name: &str| match at {
        "" => name.to_owned(),
        _ => format!("{at}.{name}"),
    };
    match message.get("messageType") {
        None | Some(Value::Null) if message.get("configurationItem").is_some() => {}
        Some(Value::String(kind)) if kind == "ConfigurationItemChangeNotification" => {}
        Some(Value::String(kind)) if kind == "OversizedConfigurationItemChangeNotification" => {
            let summary = message.get("configurationItemSummary");
            let text = |name: &str| summary.and_then(|s| s.get(name)).and_then(Value::as_str).unwrap_or("<type>");
            let (resource_type, id) = (text("resourceType"), text("resourceId"));
            let id = if id == "<type>" { "<id>" } else { id };
            let in_s3 = match message.pointer("/s3DeliverySummary/s3BucketLocation").and_then(Value::as_str) {
                Some(location) => format!(" (Config also delivered it to `s3://{location}`)"),
                None => String::new(),
            };
            return Err(field_error(
                path("messageType"),
                format!(
                    "is `{kind}`: the notification carries only a summary of {resource_type} `{id}`, not its \
                     configuration item; export the item instead{in_s3}: `aws configservice \
                     get-resource-config-history --resource-type {resource_type} --resource-id {id} --limit 1`"
                ),
            ));
        }
        Some(Value::String(kind)) if kind == "ScheduledNotification" => {
            return Err(field_error(
                path("messageType"),
                format!("is `{kind}`: a periodic evaluation carries no configuration item; {EXPORT_INSTEAD}"),
            ));
        }
        Some(Value::String(kind)) => {
            return Err(field_error(
                path("messageType"),
                format!("is `{kind}`: this notification carries no configuration item; {EXPORT_INSTEAD}"),
            ));
        }
        Some(other) => {
            return Err(field_error(path("messageType"), format!("is {}, expected a string", json_type(other))))
        }
        None => return Err(field_error(path("messageType"), "is missing")),
    }
    match message.get("configurationItem") {
        Some(item @ Value::Object(_)) => Ok(item.clone()),
        Some(other) => {
            Err(field_error(path("configurationItem"), format!("is {}, expected an object", json_type(other))))
        }
        None => Err(field_error(path("configurationItem"), "is missing")),
    }
}

/// What a non-empty list of resources a batch-get did not return says (`at`: its key).
pub(super) fn unprocessed(at: &str, list: &Value) -> Option<ExportError> {
    let items = match list {
        Value::Null => return None,
        Value::Array(items) if items.is_empty() => return None,
        Value::Array(items) => items,
        other => {
            return Some(ExportError::Field {
                field: at.to_owned(),
                problem: format!("is {}, expected an array", json_type(other)),
            })
        }
    };
    // `ResourceKey {resourceType, resourceId}`; the aggregator's `AggregateResourceIdentifier
    // {SourceAccountId, SourceRegion, ResourceId, ResourceType, ...}`.
    let (type_field, id_field) =
        if at == "unprocessedResourceKeys" { ("resourceType", "resourceId") } else { ("ResourceType", "ResourceId") };
    let named: Vec<String> = items
        .iter()
        .take(3)
        .map(|key| {
            let text = |name: &str| key.get(name).and_then(Value::as_str).unwrap_or("?");
            format!("{} `{}`", text(type_field), text(id_field))
        })
        .collect();
    let more =
        if items.len() > named.len() { format!(" and {} more", items.len() - named.len()) } else { String::new() };
    let command = if at == "unprocessedResourceKeys" {
        "batch-get-resource-config"
    } else {
        "batch-get-aggregate-resource-config"
    };
    Some(ExportError::Field {
        field: at.to_owned(),
        problem: format!(
            "lists {} resources Config did not return, so they were not judged ({}{more}): run `aws \
             configservice {command}` again for them",
            items.len(),
            named.join(", ")
        ),
    })
}
