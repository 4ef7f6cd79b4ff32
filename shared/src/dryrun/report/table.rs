//! The table, for people: per rule, the counts, then every NON_COMPLIANT resource with its
//! annotation, wrapped to 100 columns; then the totals, and the summary of what was read.
//!
//! With `--exceptions`, excepted verdicts are counted apart from the other NOT_APPLICABLE ones
//! and listed (`~`) with their annotation, and the table ends with the exceptions that have
//! expired and those that expire within 30 days. Without it, nothing of that is written, so the
//! table is what it always was.

use std::io::Write;

use super::{wrap, Counts, Findings};
use crate::dryrun::describe_exception;
use crate::dryrun::error::Error;
use crate::dryrun::summary::Summary;
use crate::exceptions::{Date, Exceptions, EXPIRING_WITHIN_DAYS};
use crate::rule::Rule;

/// Writes the table; the input errors (with `--keep-going`) are counted in the totals' line.
pub(in crate::dryrun) fn render_table(
    out: &mut dyn Write,
    rules: &[&Rule],
    counts: &Counts,
    findings: &Findings,
    summary: &Summary,
    exceptions: Option<(&Exceptions, Date)>,
) -> Result<(), Error> {
    let input_errors = summary.input_errors;
    let io = Error::Write;
    let mut totals = [0usize; 4];
    // `, N excepted` only when an exceptions file was given.
    let excepted_text = |n: usize| match exceptions {
        Some(_) => format!(", {n} excepted"),
        None => String::new(),
    };
    for rule in rules {
        let [compliant, non_compliant, not_applicable, excepted] = counts.get(rule.id).copied().unwrap_or_default();
        for (total, n) in totals.iter_mut().zip([compliant, non_compliant, not_applicable, excepted]) {
            *total += n;
        }
        writeln!(
            out,
            "{}\n  {compliant} compliant, {non_compliant} non-compliant, {not_applicable} not applicable{}",
            rule.id,
            excepted_text(excepted)
        )
        .map_err(io)?;
        if non_compliant > 0 || excepted > 0 {
            for finding in findings.read()? {
                let finding = finding?;
                if finding.rule != rule.id {
                    continue;
                }
                let mark = if finding.excepted { '~' } else { '✗' };
                writeln!(out, "  {mark} {} {}", finding.resource_type, finding.resource_id).map_err(io)?;
                for line in wrap(&finding.annotation, 94) {
                    writeln!(out, "      {line}").map_err(io)?;
                }
            }
        }
        writeln!(out).map_err(io)?;
    }
    let [compliant, non_compliant, not_applicable, excepted] = totals;
    write!(
        out,
        "{} evaluations: {compliant} compliant, {non_compliant} non-compliant, {not_applicable} not applicable{}",
        compliant + non_compliant + not_applicable + excepted,
        excepted_text(excepted)
    )
    .map_err(io)?;
    if input_errors > 0 {
        write!(out, ", {input_errors} input errors").map_err(io)?;
    }
    writeln!(out).map_err(io)?;
    writeln!(out, "{summary}").map_err(io)?;
    if let Some((exceptions, today)) = exceptions {
        let expired: Vec<String> = exceptions.expired(today).map(|e| describe_exception(e, today)).collect();
        let expiring: Vec<String> = exceptions.expiring(today).map(|e| describe_exception(e, today)).collect();
        for (heading, lines) in [
            (format!("exceptions expired (as of {today}; they cover nothing):"), expired),
            (format!("exceptions expiring within {EXPIRING_WITHIN_DAYS} days (as of {today}):"), expiring),
        ] {
            if !lines.is_empty() {
                writeln!(out, "\n{heading}").map_err(io)?;
                for line in lines {
                    writeln!(out, "  {line}").map_err(io)?;
                }
            }
        }
    }
    Ok(())
}
