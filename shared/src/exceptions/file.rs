//! The exceptions file, read and checked: YAML or JSON text into [`Exceptions`], or every
//! problem with it, each naming the entry (its place, its rule and resource) and the field.
//!
//! Two layers, as for policies: serde wire structs with `deny_unknown_fields` (a misspelt key
//! is an error, never a field quietly ignored), whose values are kept as JSON values so that
//! a value of the wrong type is reported by field name; then each entry checked into an
//! [`Exception`]. A file with any problem is rejected whole: a file partly applied would
//! except less than its authors reviewed, with no sign of it (SPEC section 8).

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::{Date, Exception, Exceptions, Principal, ResourceMatch, RuleMatch};
use crate::pattern::{CaseRule, Pattern, Variables};

/// The fields an entry may have, in the order the README documents them.
pub const FIELDS: [&str; 6] = ["rule", "resource", "principal", "reason", "expires", "owner"];

/// Why an exceptions file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// Not YAML (or JSON, for text that opens with `{`), or not the file's shape.
    #[error("is not {format} of the exceptions file's shape (`exceptions:` and a list): {message}")]
    Shape {
        /// `YAML` or `JSON`.
        format: &'static str,
        /// The parser's message.
        message: String,
    },
    /// Entries with problems, every one of them.
    #[error("{}", list(.0))]
    Entries(Vec<EntryError>),
}

fn list(errors: &[EntryError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    match lines.len() {
        1 => lines.concat(),
        n => format!("{n} problems:\n  {}", lines.join("\n  ")),
    }
}

/// A problem with one entry, located by its place in the list and, where the entry gives them,
/// its rule and resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError {
    /// Its place in `exceptions`, from 0.
    pub index: usize,
    /// Its `rule`, when that is text.
    pub rule: Option<String>,
    /// Its `resource`, when that is text.
    pub resource: Option<String>,
    /// The field at fault (an unknown one as written).
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exceptions[{}]", self.index)?;
        match (&self.rule, &self.resource) {
            (Some(rule), Some(resource)) => write!(f, " (rule `{rule}`, resource `{resource}`)")?,
            (Some(rule), None) => write!(f, " (rule `{rule}`)")?,
            (None, Some(resource)) => write!(f, " (resource `{resource}`)")?,
            (None, None) => {}
        }
        write!(f, ": `{}` {}", self.field, self.problem)
    }
}

impl std::error::Error for EntryError {}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A field no exception has.
    Unknown,
    /// A required field is absent (or null).
    Missing,
    /// Not text (a number, a list, ...); the JSON type found.
    NotText(&'static str),
    /// Empty, or only spaces.
    Empty,
    /// `rule`: not `*` and not shaped like a rule id.
    NotARuleId(String),
    /// `rule`: shaped like one, but not a rule of this build ([`Exceptions::check_rules`]).
    UnknownRule {
        /// The id given.
        id: String,
        /// The rules there are.
        known: String,
    },
    /// `resource` or `principal`: the value, and why it is not a pattern this file takes.
    BadPattern(String, &'static str),
    /// `expires`: not a `YYYY-MM-DD` day.
    NotADate(String),
    /// The entry is not a mapping of fields.
    NotAnEntry(&'static str),
    /// The entry does not read as one (serde's message).
    Unreadable(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unknown => write!(f, "is not a field of an exception (fields: {})", FIELDS.join(", ")),
            Problem::Missing => f.write_str("is missing"),
            Problem::NotText(found) => write!(f, "is {found}, expected text (quote it)"),
            Problem::Empty => f.write_str("is empty"),
            Problem::NotARuleId(id) => write!(f, "`{id}` is not a rule id (like `kms-no-wildcard-admin`) or `*`"),
            Problem::UnknownRule { id, known } => write!(f, "`{id}` is not a rule (rules: {known})"),
            Problem::BadPattern(value, why) => write!(f, "`{value}` {why}"),
            Problem::NotADate(value) => write!(f, "`{value}` is not a date as YYYY-MM-DD"),
            Problem::NotAnEntry(found) => write!(f, "is {found}, expected a mapping of {}", FIELDS.join(", ")),
            Problem::Unreadable(message) => write!(f, "does not read: {message}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFile {
    exceptions: Vec<Value>,
}

/// One entry as written. Every value is kept as a JSON value, so that a wrong type is reported
/// by field ([`Problem::NotText`]) rather than by serde's position-only message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireEntry {
    rule: Option<Value>,
    resource: Option<Value>,
    principal: Option<Value>,
    reason: Option<Value>,
    expires: Option<Value>,
    owner: Option<Value>,
}

/// Parses and checks an exceptions file. Text that opens with `{` is JSON, anything else YAML
/// (YAML would read most JSON too, but JSON's own parser gives JSON's messages).
pub fn parse(text: &str) -> Result<Exceptions, FileError> {
    let wire: WireFile = match text.trim_start().starts_with('{') {
        true => serde_json::from_str(text).map_err(|e| FileError::Shape { format: "JSON", message: e.to_string() })?,
        false => {
            serde_norway::from_str(text).map_err(|e| FileError::Shape { format: "YAML", message: e.to_string() })?
        }
    };
    let mut entries = Vec::with_capacity(wire.exceptions.len());
    let mut errors = Vec::new();
    for (index, value) in wire.exceptions.into_iter().enumerate() {
        match entry(index, value) {
            Ok(exception) => entries.push(exception),
            Err(mut problems) => errors.append(&mut problems),
        }
    }
    match errors.is_empty() {
        true => Ok(Exceptions { entries }),
        false => Err(FileError::Entries(errors)),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// One entry checked; every problem it has.
fn entry(index: usize, value: Value) -> Result<Exception, Vec<EntryError>> {
    let text_of = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let (rule_text, resource_text) = (text_of("rule"), text_of("resource"));
    let error = |field: &str, problem: Problem| EntryError {
        index,
        rule: rule_text.clone(),
        resource: resource_text.clone(),
        field: field.to_owned(),
        problem,
    };
    let Some(map) = value.as_object() else {
        return Err(vec![error("exceptions", Problem::NotAnEntry(type_name(&value)))]);
    };
    // Named here so the message names the field; `deny_unknown_fields` below is the same
    // check in the type, should a field be added to one list and not the other.
    let unknown: Vec<EntryError> =
        map.keys().filter(|k| !FIELDS.contains(&k.as_str())).map(|k| error(k, Problem::Unknown)).collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    let wire: WireEntry = match serde_json::from_value(value.clone()) {
        Ok(wire) => wire,
        Err(e) => return Err(vec![error("exceptions", Problem::Unreadable(e.to_string()))]),
    };
    let mut errors = Vec::new();
    let mut text = |field: &'static str, value: Option<Value>, required: bool| -> Option<String> {
        match value {
            None | Some(Value::Null) if required => {
                errors.push(error(field, Problem::Missing));
                None
            }
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => {
                errors.push(error(field, Problem::Empty));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(other) => {
                errors.push(error(field, Problem::NotText(type_name(&other))));
                None
            }
        }
    };
    let rule = text("rule", wire.rule, true);
    let resource = text("resource", wire.resource, true);
    let principal = text("principal", wire.principal, false);
    let reason = text("reason", wire.reason, true);
    let expires = text("expires", wire.expires, true);
    let owner = text("owner", wire.owner, false);

    let rule = rule.and_then(|id| match rule_match(&id) {
        Some(rule) => Some(rule),
        None => {
            errors.push(error("rule", Problem::NotARuleId(id)));
            None
        }
    });
    let resource = resource.and_then(|text| match resource_match(&text) {
        Ok(resource) => Some((resource, text)),
        Err(why) => {
            errors.push(error("resource", Problem::BadPattern(text, why)));
            None
        }
    });
    let principal = match principal {
        None => Some(None),
        Some(text) => match principal_match(&text) {
            Ok(principal) => Some(Some(principal)),
            Err(why) => {
                errors.push(error("principal", Problem::BadPattern(text, why)));
                None
            }
        },
    };
    let expires = expires.and_then(|text| match Date::parse(&text) {
        Some(date) => Some(date),
        None => {
            errors.push(error("expires", Problem::NotADate(text)));
            None
        }
    });
    match (rule, resource, principal, reason, expires, errors.is_empty()) {
        (Some(rule), Some((resource, resource_text)), Some(principal), Some(reason), Some(expires), true) => {
            Ok(Exception { index, rule, resource, resource_text, principal, reason, expires, owner })
        }
        _ => Err(errors),
    }
}

fn rule_match(id: &str) -> Option<RuleMatch> {
    if id == "*" {
        return Some(RuleMatch::Any);
    }
    let shaped = id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && id.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    shaped.then(|| RuleMatch::Id(id.to_owned()))
}

/// `arn:...` (a pattern), twelve digits (an account) or a resource id (exact).
fn resource_match(text: &str) -> Result<ResourceMatch, &'static str> {
    if text.contains(char::is_whitespace) {
        return Err("holds a space: an ARN pattern, resource id or account id has none");
    }
    if text.starts_with("arn:") {
        // arn:partition:service:region:account:resource; a `*` may span fields, but the six
        // are written out so that a reader sees what is excepted.
        if text.split(':').count() < 6 {
            return Err("is not an ARN pattern: an ARN has six `:`-separated fields (arn:partition:service:region:account:resource)");
        }
        return Ok(ResourceMatch::Arn(Pattern::new(text, CaseRule::Sensitive, Variables::Literal)));
    }
    if text.contains(['*', '?']) {
        return Err("uses `*` or `?` outside an ARN: only ARN patterns have wildcards; a resource id or account id is matched exactly");
    }
    if text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(ResourceMatch::Account(text.to_owned()));
    }
    Ok(ResourceMatch::Id(text.to_owned()))
}

/// The principal as a cause names it: an ARN pattern, a service principal
/// (`config.amazonaws.com`), `anyone`, `any other principal of <account>`, or `*`.
fn principal_match(text: &str) -> Result<Principal, &'static str> {
    let named = text.starts_with("any other principal of ") || !text.contains(char::is_whitespace);
    match named {
        true => Ok(Principal(Pattern::new(text, CaseRule::Sensitive, Variables::Literal))),
        false => Err("holds a space: a principal is an ARN pattern, a service principal, `anyone`, `any other principal of <account>` or `*`"),
    }
}
