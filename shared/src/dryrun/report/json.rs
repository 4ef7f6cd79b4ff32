//! The JSON report: `{"Evaluations": [...]}`, each entry as PutEvaluations takes it plus the
//! rule name and every cause, in input order.
//!
//! The report writer serializes the whole document into a temporary file while the evaluations
//! arrive ([`write_spool`]: serde_json's pretty printer, the list streamed); the report is
//! copied from there once the run has succeeded ([`write_json`]), so that a run that fails
//! writes nothing.

use std::io::{Seek, Write};

use serde::Serialize;

use super::{write_pretty, Evaluation, Streamed};
use crate::dryrun::error::Error;

/// The document.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Report<I> {
    #[serde(bound(serialize = "Streamed<I>: Serialize"))]
    evaluations: Streamed<I>,
}

/// Writes the report of `evaluations` to `spool`.
pub(super) fn write_spool(spool: &mut impl Write, evaluations: impl Iterator<Item = Evaluation>) -> Result<(), Error> {
    let report = Report { evaluations: Streamed::new(evaluations.map(Ok)) };
    write_pretty(spool, &report, || report.evaluations.error(), Error::Temporary)
}

/// Copies the report from the spool [`write_spool`] wrote.
pub(in crate::dryrun) fn write_json(out: &mut dyn Write, mut spool: std::fs::File) -> std::io::Result<()> {
    spool.rewind()?;
    std::io::copy(&mut spool, out).map(|_| ())
}
