//! The reports: what an evaluation holds, findings on disk.

mod json;
mod sarif;
mod table;

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};

use serde::Serialize;
use serde_json::Value;

use super::args::Format;
use super::error::Error;
use crate::rule::{Cause, Compliance};

pub(in crate::dryrun) use json::write_json;
pub(in crate::dryrun) use sarif::render_sarif;
pub(in crate::dryrun) use table::render_table;

/// Per rule: how many evaluations were COMPLIANT, NON_COMPLIANT and NOT_APPLICABLE.
pub(in crate::dryrun) type Counts = BTreeMap<&'static str, [usize; 3]>;

/// What the report writer kept of the evaluations: the counts, and what the report is made
/// from. Memory holds only the counts.
pub(in crate::dryrun) struct Collected {
    pub(in crate::dryrun) counts: Counts,
    pub(in crate::dryrun) kept: Kept,
}

/// What a report is made from, on disk, by format.
pub(in crate::dryrun) enum Kept {
    /// Every evaluation, in order, in a temporary file the JSON report is copied from.
    Json(std::fs::File),
    /// The NON_COMPLIANT evaluations, for the table.
    Table(Findings),
    /// The NON_COMPLIANT evaluations, for SARIF.
    Sarif(Findings),
}

/// The report writer: counts `evaluations` (in report order) and keeps what the report in
/// `format` needs, on disk.
pub(in crate::dryrun) fn collect(
    evaluations: impl Iterator<Item = Evaluation>,
    format: Format,
) -> Result<Collected, Error> {
    let temporary = || tempfile::tempfile().map(BufWriter::new).map_err(Error::Temporary);
    let mut spool = match format {
        Format::Json => Some(temporary()?),
        Format::Table | Format::Sarif => None,
    };
    let mut findings = match format {
        Format::Json => None,
        Format::Table | Format::Sarif => Some(temporary()?),
    };
    let mut counts = Counts::new();
    let mut spooled = 0usize;
    for evaluation in evaluations {
        let index = match evaluation.compliance_type {
            Compliance::Compliant => 0,
            Compliance::NonCompliant => 1,
            Compliance::NotApplicable => 2,
        };
        if let Some(count) = counts.entry(evaluation.config_rule_name).or_default().get_mut(index) {
            *count += 1;
        }
        if let Some(spool) = &mut spool {
            write_spooled(spool, spooled, &evaluation).map_err(Error::Temporary)?;
            spooled += 1;
        }
        if let (Some(findings), Compliance::NonCompliant) = (&mut findings, evaluation.compliance_type) {
            serde_json::to_writer(&mut *findings, &Finding::of(&evaluation)).map_err(|e| Error::Temporary(e.into()))?;
            findings.write_all(b"\n").map_err(Error::Temporary)?;
        }
    }
    let done = |file: BufWriter<std::fs::File>| file.into_inner().map_err(|e| Error::Temporary(e.into_error()));
    let kept = match (format, spool, findings) {
        (Format::Json, Some(spool), _) => Kept::Json(done(spool)?),
        (Format::Table, _, Some(findings)) => Kept::Table(Findings(done(findings)?)),
        (Format::Sarif, _, Some(findings)) => Kept::Sarif(Findings(done(findings)?)),
        _ => return Err(Error::Temporary(std::io::Error::other("the report's temporary file was not made"))),
    };
    Ok(Collected { counts, kept })
}

fn write_spooled(spool: &mut impl Write, spooled: usize, evaluation: &Evaluation) -> std::io::Result<()> {
    if spooled > 0 {
        spool.write_all(b",\n")?;
    }
    let text = serde_json::to_string_pretty(evaluation)?;
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            spool.write_all(b"\n")?;
        }
        spool.write_all(b"    ")?;
        spool.write_all(line.as_bytes())?;
    }
    Ok(())
}

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
pub(in crate::dryrun) struct Findings(std::fs::File);

impl Findings {
    /// Every finding, in report order.
    pub(in crate::dryrun) fn each(&self, mut f: impl FnMut(Finding) -> Result<(), Error>) -> Result<(), Error> {
        use std::io::{BufRead, Seek};
        let mut file = self.0.try_clone().map_err(Error::Temporary)?;
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
