//! The JSON report: `{"Evaluations": [...]}`, each entry as PutEvaluations takes it plus the
//! rule name and every cause, in input order.
//!
//! The report writer serializes the whole document into a temporary file while the evaluations
//! arrive ([`write_spool`]: serde_json's pretty printer, the list streamed); the report is
//! copied from there once the run has succeeded ([`write_json`]), so that a run that fails
//! writes nothing.

use std::cell::Cell;
use std::io::{Read, Seek, Write};
use std::rc::Rc;

use serde::Serialize;

use super::{write_pretty, Streamed};
use crate::dryrun::error::Error;
use crate::dryrun::versions::OrderSet;
use crate::evaluation::Evaluation;

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

/// Where each entry's evaluations stand in the JSON spool: what [`without`] needs to leave
/// entries out by copying the rest. Four bytes an entry.
#[derive(Debug, Default)]
pub(super) struct SpoolLedger {
    /// Where the first entry's evaluations begin: the bytes before are the document's opening,
    /// up to and with the list's `[`.
    opening: Option<u64>,
    /// Where the last entry pulled began.
    last: u64,
    /// Per entry, in number order: the bytes of its evaluations, each with the separator serde
    /// writes before it (`,` and a new line when not the list's first).
    lengths: Vec<u32>,
}

impl SpoolLedger {
    /// The spool stands at `at` as the next entry's evaluations begin (or as the list ends);
    /// false when an entry's evaluations took 4 GiB or more.
    pub(super) fn entry_starts(&mut self, at: u64) -> bool {
        match self.opening {
            None => self.opening = Some(at),
            Some(_) => match u32::try_from(at - self.last) {
                Ok(length) => self.lengths.push(length),
                Err(_) => return false,
            },
        }
        self.last = at;
        true
    }
}

/// A writer that counts the bytes written through it into a shared cell.
pub(super) struct Counting<W> {
    inner: W,
    written: Rc<Cell<u64>>,
}

impl<W> Counting<W> {
    pub(super) fn new(inner: W, written: Rc<Cell<u64>>) -> Counting<W> {
        Counting { inner, written }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(bytes)?;
        self.written.set(self.written.get() + n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The report in `spool` without the evaluations of the entries in `retracted`, in a new
/// spool: the bytes a report without them would have had, made by copying the others.
///
/// serde_json's pretty printer writes each evaluation of the list after a separator: a new
/// line and the indentation, with a `,` before them for every evaluation but the list's first.
/// The spool is copied entry by entry ([`SpoolLedger`]); of the evaluations kept, the first
/// loses its `,` when it had one. A list left empty is written as serde writes an empty list
/// (the document of no evaluation, serialized). `tests` compares every case with the report
/// serialized whole from the evaluations kept.
pub(super) fn without(
    mut spool: std::fs::File,
    ledger: &SpoolLedger,
    retracted: &OrderSet,
) -> Result<std::fs::File, Error> {
    let io = Error::Temporary;
    spool.rewind().map_err(io)?;
    let mut reader = std::io::BufReader::new(spool);
    let mut out = std::io::BufWriter::new(tempfile::tempfile().map_err(io)?);
    let Some(opening) = ledger.opening else {
        return Err(io(std::io::Error::other("the report spool's ledger has no opening")));
    };
    let copy = |reader: &mut std::io::BufReader<std::fs::File>, out: &mut dyn Write, length: u64| {
        let copied = std::io::copy(&mut reader.by_ref().take(length), out)?;
        match copied == length {
            true => Ok(()),
            false => Err(std::io::Error::other("the report spool is shorter than its ledger")),
        }
    };
    let mut kept_any = false;
    let mut opening_bytes = Vec::new();
    copy(&mut reader, &mut opening_bytes, opening).map_err(io)?;
    out.write_all(&opening_bytes).map_err(io)?;
    for (entry, &length) in ledger.lengths.iter().enumerate() {
        let length = u64::from(length);
        if retracted.contains(entry) || length == 0 {
            copy(&mut reader, &mut std::io::sink(), length).map_err(io)?;
            continue;
        }
        if !kept_any {
            // The first evaluation kept opens the list: no `,` before it.
            let mut first = [0u8; 1];
            reader.read_exact(&mut first).map_err(io)?;
            if first != *b"," {
                out.write_all(&first).map_err(io)?;
            }
            copy(&mut reader, &mut out, length - 1).map_err(io)?;
            kept_any = true;
        } else {
            copy(&mut reader, &mut out, length).map_err(io)?;
        }
    }
    if kept_any {
        // The list's closing and the document's, as they were.
        std::io::copy(&mut reader, &mut out).map_err(io)?;
    } else {
        // Nothing kept: the document of no evaluation, as serde writes it, after the opening.
        let mut empty = Vec::new();
        write_spool(&mut empty, std::iter::empty())?;
        if !empty.starts_with(&opening_bytes) {
            return Err(io(std::io::Error::other("the report spool does not open as an empty report does")));
        }
        // In range: `empty` starts with the opening, checked above.
        let rest = empty.get(opening_bytes.len()..).unwrap_or_default();
        out.write_all(rest).map_err(io)?;
    }
    out.into_inner().map_err(|e| io(e.into_error()))
}
