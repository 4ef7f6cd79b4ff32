//! The table, for people: per rule, the counts, then every NON_COMPLIANT resource with its
//! annotation, wrapped to 100 columns; then the totals, and the summary of what was read.

use std::io::Write;

use super::{wrap, Counts, Findings};
use crate::dryrun::error::Error;
use crate::dryrun::summary::Summary;
use crate::rule::Rule;

/// Writes the table; the input errors (with `--keep-going`) are counted in the totals' line.
pub(in crate::dryrun) fn render_table(
    out: &mut dyn Write,
    rules: &[&Rule],
    counts: &Counts,
    findings: &Findings,
    summary: &Summary,
) -> Result<(), Error> {
    let input_errors = summary.input_errors;
    let io = Error::Write;
    let mut totals = [0usize; 3];
    for rule in rules {
        let [compliant, non_compliant, not_applicable] = counts.get(rule.id).copied().unwrap_or_default();
        for (total, n) in totals.iter_mut().zip([compliant, non_compliant, not_applicable]) {
            *total += n;
        }
        writeln!(
            out,
            "{}\n  {compliant} compliant, {non_compliant} non-compliant, {not_applicable} not applicable",
            rule.id
        )
        .map_err(io)?;
        if non_compliant > 0 {
            for finding in findings.read()? {
                let finding = finding?;
                if finding.rule != rule.id {
                    continue;
                }
                writeln!(out, "  ✗ {} {}", finding.resource_type, finding.resource_id).map_err(io)?;
                for line in wrap(&finding.annotation, 94) {
                    writeln!(out, "      {line}").map_err(io)?;
                }
            }
        }
        writeln!(out).map_err(io)?;
    }
    let [compliant, non_compliant, not_applicable] = totals;
    write!(
        out,
        "{} evaluations: {compliant} compliant, {non_compliant} non-compliant, {not_applicable} not applicable",
        compliant + non_compliant + not_applicable
    )
    .map_err(io)?;
    if input_errors > 0 {
        write!(out, ", {input_errors} input errors").map_err(io)?;
    }
    writeln!(out).map_err(io)?;
    writeln!(out, "{summary}").map_err(io)
}
