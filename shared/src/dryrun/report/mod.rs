//! The reports: what an evaluation holds, findings on disk.

mod json;
mod sarif;
mod table;

use serde::Serialize;
use serde_json::Value;

use super::error::Error;
use crate::rule::{Cause, Compliance};

pub(in crate::dryrun) use json::write_json;
pub(in crate::dryrun) use sarif::render_sarif;
pub(in crate::dryrun) use table::render_table;

/// One evaluation, as PutEvaluations takes it plus the rule name and every cause.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(in crate::dryrun) struct Evaluation {
    pub(in crate::dryrun) config_rule_name: &'static str,
    pub(in crate::dryrun) compliance_resource_type: String,
    pub(in crate::dryrun) compliance_resource_id: String,
    pub(in crate::dryrun) compliance_type: Compliance,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(in crate::dryrun) annotation: Option<String>,
    pub(in crate::dryrun) ordering_timestamp: String,
    pub(in crate::dryrun) causes: Vec<Cause>,
    /// Where SARIF locates the result; not part of the JSON report.
    #[serde(skip)]
    pub(in crate::dryrun) resource_arn: String,
}

/// A NON_COMPLIANT evaluation as the table and SARIF show it: one JSON line in a temporary
/// file, so that a report with many findings takes no memory.
#[derive(Debug, Serialize, serde::Deserialize)]
pub(in crate::dryrun) struct Finding {
    pub(in crate::dryrun) rule: String,
    pub(in crate::dryrun) resource_type: String,
    pub(in crate::dryrun) resource_id: String,
    pub(in crate::dryrun) resource_arn: String,
    pub(in crate::dryrun) annotation: String,
    pub(in crate::dryrun) causes: Value,
}

impl Finding {
    pub(in crate::dryrun) fn of(e: &Evaluation) -> Finding {
        Finding {
            rule: e.config_rule_name.to_owned(),
            resource_type: e.compliance_resource_type.clone(),
            resource_id: e.compliance_resource_id.clone(),
            resource_arn: e.resource_arn.clone(),
            annotation: e.annotation.clone().unwrap_or_default(),
            causes: serde_json::to_value(&e.causes).unwrap_or_default(),
        }
    }
}

/// The findings of a run, on disk, read as often as a report needs (the table reads them once
/// per rule).
pub(in crate::dryrun) struct Findings(Option<std::fs::File>);

impl Findings {
    pub(in crate::dryrun) fn from(writer: Option<std::io::BufWriter<std::fs::File>>) -> std::io::Result<Findings> {
        writer.map(|w| w.into_inner().map_err(|e| e.into_error())).transpose().map(Findings)
    }

    /// Every finding, in report order.
    pub(in crate::dryrun) fn each(&self, mut f: impl FnMut(Finding) -> Result<(), Error>) -> Result<(), Error> {
        use std::io::{BufRead, Seek};
        let Some(file) = &self.0 else { return Ok(()) };
        let mut file = file.try_clone().map_err(Error::Temporary)?;
        file.rewind().map_err(Error::Temporary)?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(Error::Temporary)?;
            f(serde_json::from_str(&line).map_err(|source| Error::Damaged { what: "a finding", source })?)?;
        }
        Ok(())
    }
}

/// Splits `text` into lines of at most `width` characters, at spaces where it can.
pub(in crate::dryrun) fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
