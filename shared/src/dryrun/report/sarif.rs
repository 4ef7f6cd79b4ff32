//! The SARIF report.

use std::io::Write;

use serde_json::Value;

use super::Findings;
use crate::dryrun::error::Error;
use crate::rule::Rule;

/// SARIF 2.1.0: one reporting descriptor per rule, one result per NON_COMPLIANT evaluation,
/// located by the resource's ARN (a logical location: there is no source file). Results are
/// written one by one, as they are read back from disk.
pub(in crate::dryrun) fn render_sarif(out: &mut dyn Write, rules: &[&Rule], findings: &Findings) -> Result<(), Error> {
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|rule| {
            serde_json::json!({
                "id": rule.id,
                "name": rule.id,
                "shortDescription": {"text": rule.summary},
                "defaultConfiguration": {"level": "error"},
                "properties": {"resourceTypes": rule.resource_types.iter().map(|t| t.as_str()).collect::<Vec<_>>()},
            })
        })
        .collect();
    // The document around the results, split where the results go.
    let frame = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kms-guardrails",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "results": ["RESULTS"],
        }],
    });
    let frame = serde_json::to_string_pretty(&frame).map_err(|e| Error::Write(e.into()))?;
    let (head, tail) = frame
        .split_once("\"RESULTS\"")
        .ok_or_else(|| Error::Write(std::io::Error::other("the SARIF frame lost its marker")))?;
    let io = Error::Write;
    out.write_all(head.trim_end().as_bytes()).map_err(io)?;
    let mut first = true;
    findings.each(|e| {
        let rule_index = rules.iter().position(|r| r.id == e.rule);
        let location = if e.resource_arn.is_empty() { e.resource_id.clone() } else { e.resource_arn.clone() };
        let result = serde_json::json!({
            "ruleId": e.rule,
            "ruleIndex": rule_index,
            "level": "error",
            "message": {"text": e.annotation},
            "locations": [{"logicalLocations": [{
                "name": e.resource_id,
                "fullyQualifiedName": location,
                "kind": "resource",
            }]}],
            "properties": {"resourceType": e.resource_type, "causes": e.causes},
        });
        let text = serde_json::to_string_pretty(&result).map_err(|e| Error::Write(e.into()))?;
        out.write_all(if first { b"\n" } else { b",\n" }).map_err(io)?;
        first = false;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n").map_err(io)?;
            }
            out.write_all(b"        ").map_err(io)?;
            out.write_all(line.as_bytes()).map_err(io)?;
        }
        Ok(())
    })?;
    // An empty list stays `[]`, as serde_json prints it.
    let tail = if first { tail.trim_start().to_owned() } else { format!("\n      {}", tail.trim_start()) };
    out.write_all(tail.as_bytes()).map_err(io)?;
    out.write_all(b"\n").map_err(io)
}
