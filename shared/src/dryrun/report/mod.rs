//! The reports: the evaluations ([`Evaluation`], the type the Lambda shell reports too) as the
//! report writer takes them (in order, from the pipeline), what it keeps of them, and the
//! three formats, one module each:
//!
//! - [`json`]: `{"Evaluations": [...]}`, PutEvaluations' entries plus the rule name and every
//!   cause, serialized as the evaluations arrive into a temporary file, copied out at the end;
//! - [`table`]: per rule, the counts and every NON_COMPLIANT resource, for people;
//! - [`sarif`]: SARIF 2.1.0 for code-scanning dashboards.
//!
//! The table and SARIF are made at the end from the counts and the findings (the NON_COMPLIANT
//! evaluations, kept on disk, one JSON line each). The SARIF document is written by
//! serde_json's pretty printer, its lists streamed through serde's sequence serializer
//! ([`Streamed`]); the JSON report writes the same bytes with its frame by hand
//! ([`json`]). No list is ever whole in memory.

mod json;
mod sarif;
mod table;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{BufRead, BufWriter, Seek, Write};
use std::ops::Deref;

use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::args::Format;
use super::error::Error;
use super::versions::OrderSet;
use crate::evaluation::Evaluation;
use crate::rule::{Cause, Compliance};

pub(in crate::dryrun) use json::{write_json, JsonReport};
pub(in crate::dryrun) use sarif::render_sarif;
pub(in crate::dryrun) use table::render_table;

/// Per rule: how many evaluations were COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE (other than
/// excepted) and NOT_APPLICABLE because excepted.
pub(in crate::dryrun) type Counts = BTreeMap<&'static str, [usize; KINDS]>;

/// The buffer of every read and write of a report's spool. On the 1 GB workload the JSON spool
/// is 420 MB, written once and read back once: with `std`'s 8 KB buffers that was 150,000
/// system calls (`strace -c -f` on 100 MB: 15,000 reads and writes of 8 KB).
pub(in crate::dryrun) const SPOOL_BUFFER: usize = 256 << 10;

/// The kinds of evaluation [`Counts`] tells apart.
pub(in crate::dryrun) const KINDS: usize = 4;

/// What the report writer kept of the evaluations: the counts, what the report is made from,
/// and a ledger to take evaluations back by. Memory holds only the counts and the ledger.
pub(in crate::dryrun) struct Collected {
    pub(in crate::dryrun) counts: Counts,
    pub(in crate::dryrun) kept: Kept,
    ledger: Ledger,
}

/// What a report is made from, on disk, by format.
pub(in crate::dryrun) enum Kept {
    /// The JSON report, whole, in a temporary file it is copied from (leaving out what was
    /// taken back).
    Json(JsonReport),
    /// The NON_COMPLIANT and excepted evaluations, for the table.
    Table(Findings),
    /// The NON_COMPLIANT and excepted evaluations, for SARIF.
    Sarif(Findings),
}

/// Which rule and verdict each evaluation was, and how many evaluations each entry had: what
/// it takes to leave an entry's evaluations out of the counts and the report afterwards
/// ([`Collected::retract`]). A byte an evaluation, a byte an entry: what the 1 GB workload's
/// 1.4 million evaluations may cost (peak memory is a goal: BENCHMARKS.md).
#[derive(Default)]
struct Ledger {
    /// The rules, in the order first seen; a tally names a rule by its place here.
    rules: Vec<&'static str>,
    /// Per evaluation, in report order: its rule's place times [`KINDS`], plus its verdict's
    /// place in [`Counts`]' arrays (64 rules fit; a build has 8).
    tallies: Vec<u8>,
    /// Per entry, in number order: how many evaluations it had (one per rule at most).
    per_entry: Vec<u8>,
    /// The JSON report only: where in the spool the first entry's evaluations begin, and per
    /// entry how many bytes its evaluations took (what [`json::without`] leaves out).
    spool: json::SpoolLedger,
}

/// The place of an evaluation in [`Counts`]' arrays.
fn count_index(evaluation: &Evaluation) -> usize {
    match (evaluation.compliance(), evaluation.is_excepted()) {
        (Compliance::Compliant, _) => 0,
        (Compliance::NonCompliant, _) => 1,
        (Compliance::NotApplicable, false) => 2,
        (Compliance::NotApplicable, true) => 3,
    }
}

/// The place of `rule` in `rules`, where it is added when first seen. A build's rules are
/// `&'static str`s named once each, so the same text is almost always the same pointer: that
/// is looked at first, before the bytes (a `memcmp` call an evaluation, callgrind, stop 28).
fn rule_place(rules: &mut Vec<&'static str>, rule: &'static str) -> usize {
    let same = |r: &&str| std::ptr::eq(*r, rule) || *r == rule;
    rules.iter().position(same).unwrap_or_else(|| {
        rules.push(rule);
        rules.len() - 1
    })
}

/// Records the tally of an evaluation of the rule at `place` whose verdict has the place
/// `kind` in [`Counts`]' arrays; false when it does not fit the ledger.
fn tally(tallies: &mut Vec<u8>, place: usize, kind: usize) -> bool {
    match u8::try_from(place * KINDS + kind) {
        Ok(tally) => {
            tallies.push(tally);
            true
        }
        Err(_) => false,
    }
}

/// More rules, or more evaluations of one entry, than the ledger counts (64 rules, 255
/// evaluations: a build has 8 rules, and an entry one evaluation per rule).
fn too_many() -> Error {
    Error::Temporary(std::io::Error::other("more rules or evaluations of one entry than the report's ledger counts"))
}

/// The report writer: counts the evaluations of `entries` (each entry's, in number order from
/// 0, as the writer's reorder buffer hands them on) and keeps, on disk, what the report in
/// `format` is made from.
pub(in crate::dryrun) fn collect<E: Deref<Target = [Evaluation]>>(
    entries: impl Iterator<Item = (usize, E)>,
    format: Format,
) -> Result<Collected, Error> {
    let mut by_place: Vec<[usize; KINDS]> = Vec::new();
    let mut ledger = Ledger::default();
    // More rules or evaluations than the ledger counts: the error once every entry is in.
    let mut overflow = false;
    let mut file =
        tempfile::tempfile().map(|file| BufWriter::with_capacity(SPOOL_BUFFER, file)).map_err(Error::Temporary)?;
    let mut spool = match format {
        Format::Json => Some(json::Spool::open(&mut file)?),
        Format::Table | Format::Sarif => None,
    };
    // Where the spool stands as an entry's evaluations begin (as the list ends, at the last).
    let written = |spool: &Option<json::Spool>| spool.as_ref().map_or(0, json::Spool::written);
    for (entry, evaluations) in entries {
        match u8::try_from(evaluations.len()) {
            Ok(n) => ledger.per_entry.push(n),
            Err(_) => overflow = true,
        }
        overflow |= !ledger.spool.entry_starts(written(&spool));
        for evaluation in evaluations.iter() {
            let (place, kind) = (rule_place(&mut ledger.rules, evaluation.rule), count_index(evaluation));
            // The counts of each rule, by its place in the ledger: `rule_place` adds one place
            // at a time, so a new place is the next one.
            if place == by_place.len() {
                by_place.push([0; KINDS]);
            }
            if let Some(count) = by_place.get_mut(place).and_then(|counts| counts.get_mut(kind)) {
                *count += 1;
            }
            overflow |= !tally(&mut ledger.tallies, place, kind);
            match &mut spool {
                Some(spool) => spool.push(&mut file, evaluation, place)?,
                None if evaluation.compliance() == Compliance::NonCompliant || evaluation.is_excepted() => {
                    Findings::write(&mut file, evaluation, entry)?;
                }
                None => {}
            }
        }
    }
    overflow |= !ledger.spool.entry_starts(written(&spool));
    if let Some(spool) = spool {
        spool.close(&mut file)?;
    }
    if overflow {
        return Err(too_many());
    }
    let counts: Counts = ledger.rules.iter().copied().zip(by_place).collect();
    let file = file.into_inner().map_err(|e| Error::Temporary(e.into_error()))?;
    let kept = match format {
        Format::Json => Kept::Json(JsonReport::new(file)),
        Format::Table => Kept::Table(Findings::new(file)),
        Format::Sarif => Kept::Sarif(Findings::new(file)),
    };
    Ok(Collected { counts, kept, ledger })
}

impl Collected {
    /// Leaves out of the counts and the report every evaluation of the entries in `retracted`
    /// (older versions a newer one superseded, and users and roles judged again at the end).
    pub(in crate::dryrun) fn retract(mut self, retracted: &OrderSet) -> Result<Collected, Error> {
        if retracted.is_empty() {
            return Ok(self);
        }
        // Evaluations are numbered in report order; an entry's are consecutive.
        let mut dropped = false;
        let mut evaluation = 0usize;
        for (entry, &n) in self.ledger.per_entry.iter().enumerate() {
            let range = evaluation..evaluation + usize::from(n);
            evaluation = range.end;
            if !retracted.contains(entry) {
                continue;
            }
            for index in range {
                dropped = true;
                // Every evaluation was tallied as it was counted: the ledger has it.
                let tally = self.ledger.tallies.get(index).map(|&tally| usize::from(tally));
                let rule = tally.and_then(|tally| self.ledger.rules.get(tally / KINDS));
                let count = rule.zip(tally).and_then(|(rule, tally)| self.counts.get_mut(rule)?.get_mut(tally % KINDS));
                match count {
                    Some(count) => *count -= 1,
                    None => return Err(too_many()),
                }
            }
        }
        self.kept = match self.kept {
            Kept::Json(report) if !dropped => Kept::Json(report),
            Kept::Json(report) => {
                Kept::Json(report.leaving_out(std::mem::take(&mut self.ledger.spool), retracted.clone())?)
            }
            Kept::Table(findings) => Kept::Table(findings.without(retracted.clone())),
            Kept::Sarif(findings) => Kept::Sarif(findings.without(retracted.clone())),
        };
        Ok(self)
    }
}

/// A NON_COMPLIANT or excepted evaluation as the table and SARIF show it, read back from the
/// findings.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(in crate::dryrun) struct Finding {
    /// The number of the entry it is an evaluation of.
    pub(in crate::dryrun) entry: usize,
    pub(in crate::dryrun) rule: String,
    pub(in crate::dryrun) resource_type: String,
    pub(in crate::dryrun) resource_id: String,
    /// Absent when the item has no ARN.
    pub(in crate::dryrun) resource_arn: Option<String>,
    pub(in crate::dryrun) annotation: String,
    /// As SARIF shows them.
    pub(in crate::dryrun) causes: Value,
    /// NOT_APPLICABLE because every cause is excepted.
    #[serde(default)]
    pub(in crate::dryrun) excepted: bool,
}

/// A [`Finding`] as it is written, borrowed from its evaluation.
#[derive(Serialize)]
struct FindingRecord<'a> {
    entry: usize,
    rule: &'a str,
    resource_type: &'a str,
    resource_id: &'a str,
    resource_arn: Option<&'a str>,
    annotation: &'a str,
    causes: &'a [Cause],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    excepted: bool,
}

/// The findings of a run (the NON_COMPLIANT evaluations, in report order), on disk, one JSON
/// line each, so that a report with many takes no memory; read as often as a report needs
/// (the table reads them once per rule). Those of the entries in `retracted` are left out.
pub(in crate::dryrun) struct Findings {
    file: std::fs::File,
    retracted: OrderSet,
}

impl Findings {
    fn new(file: std::fs::File) -> Findings {
        Findings { file, retracted: OrderSet::default() }
    }

    /// The same findings without those of the entries in `retracted`.
    fn without(self, retracted: OrderSet) -> Findings {
        Findings { file: self.file, retracted }
    }

    /// Writes a finding of entry number `entry`.
    fn write(out: &mut impl Write, evaluation: &Evaluation, entry: usize) -> Result<(), Error> {
        let record = FindingRecord {
            entry,
            rule: evaluation.rule,
            resource_type: evaluation.resource_type(),
            resource_id: evaluation.resource_id(),
            resource_arn: evaluation.resource_arn(),
            // Findings are NON_COMPLIANT or excepted evaluations, which always carry an
            // annotation (a verdict with causes has one); the default is never written.
            annotation: evaluation.annotation().unwrap_or_default(),
            causes: evaluation.causes(),
            excepted: evaluation.is_excepted(),
        };
        serde_json::to_writer(&mut *out, &record).map_err(|e| Error::Temporary(e.into()))?;
        out.write_all(b"\n").map_err(Error::Temporary)
    }

    /// Every finding, in report order.
    pub(in crate::dryrun) fn read(&self) -> Result<impl Iterator<Item = Result<Finding, Error>> + '_, Error> {
        let mut file = self.file.try_clone().map_err(Error::Temporary)?;
        file.rewind().map_err(Error::Temporary)?;
        let findings = std::io::BufReader::new(file).lines().map(|line| {
            let line = line.map_err(Error::Temporary)?;
            serde_json::from_str::<Finding>(&line).map_err(|source| Error::Damaged { what: "a finding", source })
        });
        Ok(findings.filter(|finding| !finding.as_ref().is_ok_and(|f| self.retracted.contains(f.entry))))
    }
}

/// A sequence serialized as it is produced: serde's [`Serializer::serialize_seq`], one element
/// at a time, each pulled from the iterator as the serializer writes, so that the sequence is
/// never whole in memory. An item that is an error ends the serialization; the error is kept
/// for [`Streamed::error`], which a caller consults before serde's own.
pub(in crate::dryrun) struct Streamed<I> {
    items: Cell<Option<I>>,
    error: Cell<Option<Error>>,
}

impl<I> Streamed<I> {
    pub(in crate::dryrun) fn new(items: I) -> Streamed<I> {
        Streamed { items: Cell::new(Some(items)), error: Cell::new(None) }
    }

    /// The error an item was, if one ended the serialization.
    pub(in crate::dryrun) fn error(&self) -> Option<Error> {
        self.error.take()
    }
}

impl<I: Iterator<Item = Result<T, Error>>, T: Serialize> Serialize for Streamed<I> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for item in self.items.take().into_iter().flatten() {
            match item {
                Ok(item) => seq.serialize_element(&item)?,
                Err(error) => {
                    let message = error.to_string();
                    self.error.set(Some(error));
                    return Err(S::Error::custom(message));
                }
            }
        }
        seq.end()
    }
}

/// Writes `document` with serde_json's pretty printer (two spaces), then a newline. An error
/// inside a [`Streamed`] of the document comes back as itself, through `streamed_error`.
fn write_pretty(
    out: &mut impl Write,
    document: &impl Serialize,
    streamed_error: impl FnOnce() -> Option<Error>,
    io: fn(std::io::Error) -> Error,
) -> Result<(), Error> {
    match serde_json::to_writer_pretty(&mut *out, document) {
        Ok(()) => out.write_all(b"\n").map_err(io),
        Err(e) => Err(streamed_error().unwrap_or_else(|| io(e.into()))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ResourceNames;
    use crate::rule::{AnnotationStyle, Verdict};

    /// serde_json's pretty printer over a streamed sequence writes what it writes for a
    /// vector: `[]` when empty, one element per indented block otherwise.
    #[test]
    fn a_streamed_sequence_prints_as_a_vector_does() {
        for n in [0, 1, 3] {
            let items: Vec<Value> = (0..n).map(|i| serde_json::json!({"i": i, "list": [i]})).collect();
            let whole = serde_json::to_string_pretty(&serde_json::json!({"a": items})).unwrap();
            #[derive(Serialize)]
            struct Doc<I> {
                #[serde(bound(serialize = "Streamed<I>: Serialize"))]
                a: Streamed<I>,
            }
            let streamed =
                serde_json::to_string_pretty(&Doc { a: Streamed::new(items.iter().cloned().map(Ok)) }).unwrap();
            assert_eq!(streamed, whole, "{n} elements");
        }
    }

    /// An item that is an error ends the document and comes back as itself.
    #[test]
    fn an_error_in_a_streamed_sequence_comes_back_as_itself() {
        let items = [Ok(1), Err(Error::NoKeys), Ok(3)];
        let streamed = Streamed::new(items.into_iter());
        let mut out = Vec::new();
        let error = write_pretty(&mut out, &streamed, || streamed.error(), Error::Write).unwrap_err();
        assert!(matches!(error, Error::NoKeys), "{error:?}");
    }

    fn evaluation(rule: &'static str, id: usize, compliance: Compliance) -> Evaluation {
        let verdict = match compliance {
            Compliance::Compliant => Verdict::compliant(),
            Compliance::NonCompliant => Verdict::from_causes(vec![Cause::because(format!("why {id}"))]),
            // Every other NOT_APPLICABLE one excepted: the fourth count, and a finding.
            Compliance::NotApplicable => Verdict {
                style: match id % 2 {
                    0 => AnnotationStyle::Excepted,
                    _ => AnnotationStyle::FirstCause,
                },
                ..Verdict::not_applicable(format!("not applicable {id}"))
            },
        };
        let arn = format!("arn:aws:kms:us-east-1:111122223333:key/k{id}");
        let names = ResourceNames::new(
            "AWS::KMS::Key",
            &format!("k{id}"),
            &arn,
            "111122223333",
            Some("2026-01-01T00:00:00.000Z"),
        );
        Evaluation::of(rule, names, verdict)
    }

    /// `n` entries, entry `e` with `e % 4` evaluations (none for every fourth).
    fn entries(n: usize) -> Vec<(usize, Vec<Evaluation>)> {
        let verdicts = [Compliance::Compliant, Compliance::NonCompliant, Compliance::NotApplicable];
        let rules = ["a", "b", "c"];
        (0..n).map(|e| (e, (0..e % 4).map(|k| evaluation(rules[k % 3], e, verdicts[(e + k) % 3])).collect())).collect()
    }

    fn spool_text(collected: Collected) -> (Counts, String) {
        let Kept::Json(report) = collected.kept else { panic!("not a JSON spool") };
        let mut text = Vec::new();
        write_json(&mut text, report).unwrap();
        (collected.counts, String::from_utf8(text).unwrap())
    }

    /// An output that takes nothing.
    struct Refusing;

    impl Write for Refusing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("no space left"))
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// An output that fails is the output's error, whether or not entries were taken back (and
    /// the report copied entry by entry): not a temporary file's.
    #[test]
    fn a_failed_output_is_a_write_error() {
        let mut one = OrderSet::default();
        one.insert(1);
        for retracted in [OrderSet::default(), one] {
            let collected = collect(entries(8).into_iter(), Format::Json).unwrap().retract(&retracted).unwrap();
            let Kept::Json(report) = collected.kept else { panic!("not a JSON spool") };
            let error = write_json(&mut Refusing, report).unwrap_err();
            assert!(matches!(error, Error::Write(_)), "{error:?}");
        }
    }

    /// Taking entries back gives, byte for byte and count for count, the report of the entries
    /// kept: every subset of 8 entries (the first, the last, all, none), in every format.
    #[test]
    fn a_retracted_report_is_the_report_of_what_is_kept() {
        let n = 8;
        for subset in 0u32..(1 << n) {
            let mut retracted = OrderSet::default();
            (0..n).filter(|e| subset & (1 << e) != 0).for_each(|e| retracted.insert(e));
            let kept: Vec<(usize, Vec<Evaluation>)> = entries(n)
                .into_iter()
                .filter(|(e, _)| !retracted.contains(*e))
                .enumerate()
                .map(|(renumbered, (_, evaluations))| (renumbered, evaluations))
                .collect();
            let (counts, got) =
                spool_text(collect(entries(n).into_iter(), Format::Json).unwrap().retract(&retracted).unwrap());
            let (want_counts, want) = spool_text(collect(kept.into_iter(), Format::Json).unwrap());
            assert_eq!(got, want, "subset {subset:08b}");
            let nonzero = |counts: Counts| counts.into_iter().filter(|(_, c)| *c != [0; KINDS]).collect::<Counts>();
            assert_eq!(nonzero(counts), nonzero(want_counts), "subset {subset:08b}");
        }
        // The table's findings leave the retracted entries out.
        let mut retracted = OrderSet::default();
        retracted.insert(1);
        let collected = collect(entries(8).into_iter(), Format::Table).unwrap().retract(&retracted).unwrap();
        let Kept::Table(findings) = collected.kept else { panic!("not a table") };
        let ids: Vec<String> = findings.read().unwrap().map(|f| f.unwrap().resource_id).collect();
        let want: Vec<String> = entries(8)
            .into_iter()
            .filter(|(e, _)| *e != 1)
            .flat_map(|(_, evaluations)| evaluations)
            .filter(|e| e.compliance() == Compliance::NonCompliant || e.is_excepted())
            .map(|e| e.resource_id().to_string())
            .collect();
        assert_eq!(ids, want);
    }

    /// What is written as a finding reads back as one.
    #[test]
    fn a_finding_reads_back_as_written() {
        let verdict = Verdict::from_causes(vec![Cause::because("why")]);
        let arn = "arn:aws:kms:us-east-1:111122223333:key/k1";
        let names = ResourceNames::new("AWS::KMS::Key", "k1", arn, "111122223333", Some("2026-01-01T00:00:00.000Z"));
        let evaluation = Evaluation::of("rule", names, verdict);
        let mut file = tempfile::tempfile().unwrap();
        Findings::write(&mut file, &evaluation, 0).unwrap();
        Findings::write(&mut file, &evaluation, 1).unwrap();
        let findings = Findings::new(file);
        let read: Vec<Finding> = findings.read().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(read.len(), 2);
        let finding = &read[0];
        assert_eq!(
            (finding.rule.as_str(), finding.resource_id.as_str(), finding.annotation.as_str()),
            ("rule", "k1", "why")
        );
        assert_eq!(finding.causes, serde_json::to_value(evaluation.causes()).unwrap());
        assert_eq!(finding.resource_arn.as_deref(), evaluation.resource_arn());
        assert_eq!(findings.read().unwrap().count(), 2, "read again from the start");
    }
}
