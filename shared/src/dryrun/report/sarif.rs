//! The SARIF 2.1.0 report, for code-scanning dashboards: one reporting descriptor per rule,
//! one result per NON_COMPLIANT evaluation, located by the resource's ARN (a logical location:
//! there is no source file).
//!
//! A verdict that exceptions cover (`--exceptions`) is a result too, with one `suppressions`
//! entry per covering exception: kind `external` (the exception lives outside the analysed
//! resource, in the exceptions file), status `accepted`, the exception's reason as the
//! justification and the exception itself under `properties` (SARIF 2.1.0's suppression
//! object: <https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html>).
//! Dashboards show such a result as suppressed rather than hide that it exists.
//!
//! The document is typed below and written by serde_json's pretty printer; the results are
//! streamed from the findings on disk ([`Streamed`]). Fields are declared in alphabetical
//! order, the order the report has always had (it was once built from `serde_json::Value`s,
//! whose maps are sorted): the snapshots in `tests/fixtures/dry-run-snapshots/` hold it.

use std::io::Write;

use serde::Serialize;
use serde_json::Value;

use super::{write_pretty, Finding, Findings, Streamed};
use crate::dryrun::error::Error;
use crate::rule::Rule;

/// Writes the SARIF log of `findings`, for `rules`.
pub(in crate::dryrun) fn render_sarif(out: &mut dyn Write, rules: &[&Rule], findings: &Findings) -> Result<(), Error> {
    let results = Streamed::new(findings.read()?.map(|finding| finding.map(|f| SarifResult::of(&f, rules))));
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        runs: [Run {
            results,
            tool: Tool {
                driver: Driver {
                    name: "kms-guardrails",
                    rules: rules.iter().map(|rule| Descriptor::of(rule)).collect(),
                    version: env!("CARGO_PKG_VERSION"),
                },
            },
        }],
        version: "2.1.0",
    };
    let [run] = &log.runs;
    write_pretty(&mut &mut *out, &log, || run.results.error(), Error::Write)
}

#[derive(Serialize)]
struct Log<'a, I> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(bound(serialize = "Streamed<I>: Serialize"))]
    runs: [Run<'a, I>; 1],
    version: &'static str,
}

#[derive(Serialize)]
struct Run<'a, I> {
    #[serde(bound(serialize = "Streamed<I>: Serialize"))]
    results: Streamed<I>,
    tool: Tool<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
struct Driver<'a> {
    name: &'static str,
    rules: Vec<Descriptor<'a>>,
    version: &'static str,
}

/// A rule.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor<'a> {
    default_configuration: Level,
    id: &'a str,
    name: &'a str,
    properties: DescriptorProperties,
    short_description: Text<'a>,
}

impl Descriptor<'_> {
    fn of(rule: &Rule) -> Descriptor<'_> {
        Descriptor {
            default_configuration: Level { level: "error" },
            id: rule.id,
            name: rule.id,
            properties: DescriptorProperties {
                resource_types: rule.resource_types.iter().map(|t| t.as_str()).collect(),
            },
            short_description: Text { text: rule.summary },
        }
    }
}

#[derive(Serialize)]
struct Level {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescriptorProperties {
    resource_types: Vec<&'static str>,
}

#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

/// A NON_COMPLIANT evaluation.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    level: &'static str,
    locations: [Location; 1],
    message: OwnedText,
    properties: ResultProperties,
    rule_id: String,
    /// The rule's place in the descriptors.
    rule_index: Option<usize>,
    /// Excepted results only.
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressions: Option<Vec<Suppression>>,
}

/// One exception that covers a result.
#[derive(Serialize)]
struct Suppression {
    justification: String,
    kind: &'static str,
    properties: SuppressionProperties,
    status: &'static str,
}

#[derive(Serialize)]
struct SuppressionProperties {
    /// The exception as the JSON report shows it on each cause (sorted keys).
    #[serde(serialize_with = "sorted")]
    exception: Value,
}

/// The distinct exceptions covering the causes of an excepted finding, in order of first use.
fn suppressions(finding: &Finding) -> Option<Vec<Suppression>> {
    if !finding.excepted {
        return None;
    }
    let mut seen: Vec<&Value> = Vec::new();
    for cause in finding.causes.as_array().into_iter().flatten() {
        let Some(exception) = cause.get("exception") else { continue };
        if exception.get("expired") == Some(&Value::Bool(false)) && !seen.contains(&exception) {
            seen.push(exception);
        }
    }
    Some(
        seen.into_iter()
            .map(|exception| Suppression {
                // Every exception has a reason: the file is refused whole without one
                // (`exceptions::file`), so the default is never written.
                justification: exception.get("reason").and_then(Value::as_str).unwrap_or_default().to_owned(),
                kind: "external",
                properties: SuppressionProperties { exception: exception.clone() },
                status: "accepted",
            })
            .collect(),
    )
}

impl SarifResult {
    fn of(finding: &Finding, rules: &[&Rule]) -> SarifResult {
        let location = match &finding.resource_arn {
            Some(arn) => arn,
            None => &finding.resource_id,
        };
        SarifResult {
            level: "error",
            locations: [Location {
                logical_locations: [LogicalLocation {
                    fully_qualified_name: location.clone(),
                    kind: "resource",
                    name: finding.resource_id.clone(),
                }],
            }],
            message: OwnedText { text: finding.annotation.clone() },
            properties: ResultProperties {
                causes: finding.causes.clone(),
                resource_type: finding.resource_type.clone(),
            },
            rule_id: finding.rule.clone(),
            rule_index: rules.iter().position(|r| r.id == finding.rule),
            suppressions: suppressions(finding),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    logical_locations: [LogicalLocation; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogicalLocation {
    fully_qualified_name: String,
    kind: &'static str,
    name: String,
}

#[derive(Serialize)]
struct OwnedText {
    text: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultProperties {
    /// Written with sorted keys: a `Value`'s own order depends on the build (`sorted_json`).
    #[serde(serialize_with = "sorted")]
    causes: Value,
    resource_type: String,
}

fn sorted<S: serde::Serializer>(value: &Value, serializer: S) -> Result<S::Ok, S::Error> {
    crate::sorted_json::Sorted(value).serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields are written in the order a `serde_json::Value` (sorted maps) writes them, the
    /// order of every SARIF report before these types.
    #[test]
    fn fields_are_in_alphabetical_order() {
        let finding = Finding {
            entry: 0,
            rule: "r".into(),
            resource_type: "AWS::KMS::Key".into(),
            resource_id: "k".into(),
            resource_arn: None,
            annotation: "a".into(),
            causes: serde_json::json!([{"statement": "s", "reason": "r", "exception": {"index": 0, "reason": "why", "expired": false}}]),
            excepted: true,
        };
        let result = SarifResult::of(&finding, &[]);
        let sorted = serde_json::to_value(&result).unwrap().to_string();
        assert_eq!(serde_json::to_string(&result).unwrap(), sorted);
        static RULE: Rule = Rule {
            id: "r",
            summary: "s",
            resource_types: &[crate::ResourceType::KmsKey],
            parameters: &[],
            reads: crate::rule::Reads::Item,
            function: crate::FunctionSize::ONE_ITEM,
            inactive_keys: crate::rule::InactiveKeys::NotApplicable,
            evaluate: |_, _| crate::Verdict::compliant(),
        };
        let descriptor = Descriptor::of(&RULE);
        let sorted = serde_json::to_value(&descriptor).unwrap().to_string();
        assert_eq!(serde_json::to_string(&descriptor).unwrap(), sorted);
    }
}
