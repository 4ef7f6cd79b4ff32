//! The JSON report: `{"Evaluations": [...]}`, each entry as PutEvaluations takes it plus the
//! rule name and every cause, in input order.
//!
//! The report writer serializes the whole document into a temporary file while the evaluations
//! arrive ([`Spool`]: the bytes of serde_json's pretty printer, written entry by entry);
//! the report is copied from there once the run has succeeded ([`write_json`]), so that a run
//! that fails writes nothing.

use std::io::{Read, Seek, Write};

use crate::dryrun::error::Error;
use crate::dryrun::versions::OrderSet;
use crate::evaluation::Evaluation;
use crate::json_tree::string_end::plain_run;
use crate::rule::{Cause, Compliance};

/// The document, as serde would write it: what [`write_spool`] writes by hand and the tests
/// compare it with.
#[cfg(test)]
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Report<I> {
    #[serde(bound(serialize = "super::Streamed<I>: serde::Serialize"))]
    evaluations: super::Streamed<I>,
}

/// Writes the report of `evaluations` to `spool`: the bytes serde_json's pretty printer writes
/// for `{"Evaluations": [...]}` (two spaces a level, then a newline), each evaluation rendered
/// by [`render`]. The document's frame is written here rather than by serde's serializer, so
/// that evaluations are written without it: that cost a tenth of the dry-run's instructions,
/// in its one report writer (issue 18).
pub(super) fn write_spool(spool: &mut impl Write, evaluations: impl Iterator<Item = Evaluation>) -> Result<(), Error> {
    let mut writer = Spool::open(spool)?;
    let mut rules = Vec::new();
    for evaluation in evaluations {
        let place = super::rule_place(&mut rules, evaluation.rule);
        writer.push(spool, &evaluation, place)?;
    }
    writer.close(spool)
}

/// [`write_spool`] an evaluation at a time, counting the bytes written: what the report writer
/// uses, so that it reads where each entry's evaluations begin ([`SpoolLedger`]) and keeps
/// none of them.
pub(super) struct Spool {
    /// The bytes written so far.
    written: u64,
    /// No evaluation written yet.
    first: bool,
    /// The text of the evaluation being written, kept for the next.
    text: Vec<u8>,
    /// Each rule's name as a JSON string (quoted, escaped), by the rule's place in the report
    /// writer's ledger (`rule_place`), written out once for every evaluation of the rule: a
    /// build has 8 rules, and the 1 GB workload 1.4 million evaluations.
    rule_names: Vec<Vec<u8>>,
    /// The resource type, id and time as last written ([`Fields`]).
    fields: Fields,
}

/// An evaluation's resource type, id and ordering time, each as last written, quoted and
/// escaped: an entry's evaluations (one a rule) repeat all three, and most resources share
/// their type and many their time. The writer's strings, these three among them, were 40% of
/// its instructions before (callgrind, 100 MB snapshot: [`string`], 69 M of 170 M, serde_json's
/// escaping of annotations included).
#[derive(Default)]
struct Fields {
    resource_type: Quoted,
    resource_id: Quoted,
    timestamp: Quoted,
}

/// A text and itself as a JSON string ([`string`]); nothing until the first text.
#[derive(Default)]
struct Quoted {
    text: Option<String>,
    quoted: Vec<u8>,
}

impl Quoted {
    /// Appends `text` as a JSON string: the one kept, if it is of the same text.
    fn put(&mut self, out: &mut Vec<u8>, text: &str) {
        if self.text.as_deref() != Some(text) {
            let kept = self.text.get_or_insert_with(String::new);
            kept.clear();
            kept.push_str(text);
            self.quoted.clear();
            string(&mut self.quoted, text);
        }
        out.extend_from_slice(&self.quoted);
    }
}

impl Spool {
    /// Writes the document's opening, up to and with the list's `[`.
    pub(super) fn open(out: &mut impl Write) -> Result<Spool, Error> {
        let opening = b"{\n  \"Evaluations\": [";
        out.write_all(opening).map_err(Error::Temporary)?;
        Ok(Spool {
            written: opening.len() as u64,
            first: true,
            text: Vec::with_capacity(512),
            rule_names: Vec::new(),
            fields: Fields::default(),
        })
    }

    /// How many bytes were written: where the next evaluation's separator goes.
    pub(super) fn written(&self) -> u64 {
        self.written
    }

    /// Writes `evaluation`, after its separator; its rule is at `place` in the writer's ledger
    /// (`rule_place`, which gives each new rule the next place).
    pub(super) fn push(&mut self, out: &mut impl Write, evaluation: &Evaluation, place: usize) -> Result<(), Error> {
        self.text.clear();
        let rule_name =
            quoted_rule_name(&mut self.rule_names, evaluation.rule, place).map_err(|e| Error::Temporary(e.into()))?;
        render(evaluation, rule_name, &mut self.fields, &mut self.text).map_err(|e| Error::Temporary(e.into()))?;
        let separator: &[u8] = if self.first { b"\n    " } else { b",\n    " };
        self.write(out, separator)?;
        self.first = false;
        let text = std::mem::take(&mut self.text);
        let written = self.write(out, &text);
        self.text = text;
        written
    }

    /// Writes the list's end and the document's.
    pub(super) fn close(mut self, out: &mut impl Write) -> Result<(), Error> {
        let closing: &[u8] = if self.first { b"]\n}\n" } else { b"\n  ]\n}\n" };
        self.write(out, closing)
    }

    fn write(&mut self, out: &mut impl Write, bytes: &[u8]) -> Result<(), Error> {
        out.write_all(bytes).map_err(Error::Temporary)?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

/// `rule`, at `place`, as a JSON string, from `names` (or written there first, when `place`
/// is the next one).
fn quoted_rule_name<'n>(names: &'n mut Vec<Vec<u8>>, rule: &str, place: usize) -> Result<&'n [u8], serde_json::Error> {
    if place == names.len() {
        let mut quoted = Vec::new();
        string(&mut quoted, rule);
        names.push(quoted);
    }
    // A place past the next one would be a ledger out of step: an error, not a wrong name.
    let missing = || <serde_json::Error as serde::ser::Error>::custom("a rule's place the report writer does not have");
    names.get(place).map(Vec::as_slice).ok_or_else(missing)
}

/// A compliance as a JSON string: its names need no escape.
fn quoted_compliance(compliance: Compliance) -> &'static [u8] {
    match compliance {
        Compliance::Compliant => b"\"COMPLIANT\"",
        Compliance::NonCompliant => b"\"NON_COMPLIANT\"",
        Compliance::NotApplicable => b"\"NOT_APPLICABLE\"",
    }
}

/// Appends `evaluation` to `out` as serde_json's pretty printer writes it as an element of the
/// report's list (its lines after the first four spaces further in). It is written field by
/// field, its strings escaped as serde_json escapes them (`rule_name`, its rule's name, already
/// is); an evaluation with a cause that an exception covers is serialized by serde and
/// indented.
fn render(
    evaluation: &Evaluation,
    rule_name: &[u8],
    fields: &mut Fields,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    if evaluation.causes().iter().any(|cause| cause.exception.is_some()) {
        let pretty = serde_json::to_vec_pretty(evaluation)?;
        for (i, line) in pretty.split(|b| *b == b'\n').enumerate() {
            if i > 0 {
                out.extend_from_slice(b"\n    ");
            }
            out.extend_from_slice(line);
        }
        return Ok(());
    }
    // Each field's separator, indent and name as one constant: one copy each, where three
    // (the name's of unknown length) were three calls of `memcpy` (the writer's most called
    // function: callgrind, 100 MB snapshot, 623,000 calls).
    out.extend_from_slice(b"{\n      \"ConfigRuleName\": ");
    out.extend_from_slice(rule_name);
    out.extend_from_slice(b",\n      \"ComplianceResourceType\": ");
    fields.resource_type.put(out, evaluation.resource_type());
    out.extend_from_slice(b",\n      \"ComplianceResourceId\": ");
    fields.resource_id.put(out, evaluation.resource_id());
    out.extend_from_slice(b",\n      \"ComplianceType\": ");
    out.extend_from_slice(quoted_compliance(evaluation.compliance()));
    if let Some(annotation) = evaluation.annotation() {
        out.extend_from_slice(b",\n      \"Annotation\": ");
        string(out, annotation);
    }
    if let Some(timestamp) = evaluation.ordering_timestamp() {
        out.extend_from_slice(b",\n      \"OrderingTimestamp\": ");
        fields.timestamp.put(out, timestamp);
    }
    out.extend_from_slice(b",\n      \"Causes\": ");
    if evaluation.causes().is_empty() {
        out.extend_from_slice(b"[]\n    }");
        return Ok(());
    }
    out.push(b'[');
    for (i, cause) in evaluation.causes().iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n        {" } else { b",\n        {" });
        // Every field named, so that a field added to `Cause` is not left out of the report.
        let Cause { document, statement, principal, action, pattern, reason, exception: _ } = cause;
        let fields = [
            ("document", document.as_deref()),
            ("statement", statement.as_deref()),
            ("principal", principal.as_deref()),
            ("action", action.as_deref()),
            ("pattern", pattern.as_deref()),
            ("reason", Some(reason.as_str())),
        ];
        let mut first = true;
        for (name, value) in fields {
            let Some(value) = value else { continue };
            out.extend_from_slice(if first { b"\n          \"" } else { b",\n          \"" });
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\": ");
            string(out, value);
            first = false;
        }
        out.extend_from_slice(b"\n        }");
    }
    out.extend_from_slice(b"\n      ]\n    }");
    Ok(())
}

/// Appends `text` as serde_json writes a string: between quotes, each quote, backslash and
/// control character escaped as serde_json escapes it (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`,
/// `\t`, and `\u00xx` in lower-case hex for the other controls), the runs between copied
/// whole. One that needs no escape (nearly all) is copied at once: serde_json looks at each
/// byte in turn, and that was a third of the report writer's instructions (callgrind, 100 MB
/// snapshot: 139 M of 388 M); the annotations that name a statement (`stmt "Sid"`) took the
/// rest of its string writing through serde_json's serializer, 12% of the writer.
fn string(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    let mut rest = text.as_bytes();
    loop {
        let (run, escaped) = rest.split_at(plain_run(rest));
        out.extend_from_slice(run);
        let Some((&byte, after)) = escaped.split_first() else { break };
        // A nibble is under 16: the digit is always there.
        let hex = |nibble: u8| b"0123456789abcdef".get(usize::from(nibble)).copied().unwrap_or(b'0');
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            // The other control characters: `plain_run` stops only at these three kinds.
            _ => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex(byte >> 4), hex(byte & 0xf)]),
        }
        rest = after;
    }
    out.push(b'"');
}

/// The JSON report as the writer kept it: the spool [`write_spool`] wrote, and the entries to
/// leave out of it as it is copied out, if any were taken back.
#[derive(Debug)]
pub(in crate::dryrun) struct JsonReport {
    spool: std::fs::File,
    /// Where each entry's evaluations stand in the spool, and the entries taken back: left out
    /// as the report is copied out ([`without`]), in the one pass that copies it, rather than
    /// copied into a second spool first. That copy was the main thread's alone at the end of a
    /// run of history files (0.14 s of 1 GB of three versions a resource, BENCHMARKS.md "Stop
    /// 28").
    leaving_out: Option<(SpoolLedger, OrderSet)>,
}

impl JsonReport {
    pub(super) fn new(spool: std::fs::File) -> JsonReport {
        JsonReport { spool, leaving_out: None }
    }

    /// The report without the evaluations of the entries in `retracted`; `ledger` says where
    /// each entry's stand. Taken back once: a second time is an error, not a second set lost.
    pub(super) fn leaving_out(self, ledger: SpoolLedger, retracted: OrderSet) -> Result<JsonReport, Error> {
        match self.leaving_out {
            Some(_) => Err(Error::Temporary(std::io::Error::other("entries were taken back from the report twice"))),
            None => Ok(JsonReport { spool: self.spool, leaving_out: Some((ledger, retracted)) }),
        }
    }
}

/// Copies the report to `out`, leaving out what was taken back.
///
/// Generic, not `&mut dyn Write`: `std::io::copy` from a file to a file or standard output
/// copies in the kernel on Linux (`copy_file_range`, `sendfile`, `splice`), the bytes never
/// passing through this process, only when it sees both concrete types (the buffer is for
/// the copy through memory it falls back to). The 1 GB workload's report is 420 MB.
pub(in crate::dryrun) fn write_json<W: Write>(out: &mut W, report: JsonReport) -> Result<(), Error> {
    let JsonReport { mut spool, leaving_out } = report;
    spool.rewind().map_err(Error::Temporary)?;
    match leaving_out {
        // An error of the copy is taken as the output's (reading back the spool just written
        // is not where a copy fails), as it always was.
        None => std::io::copy(&mut std::io::BufReader::with_capacity(super::SPOOL_BUFFER, spool), out)
            .map(|_| ())
            .map_err(Error::Write),
        Some((ledger, retracted)) => {
            let mut out = Output { out: std::io::BufWriter::with_capacity(super::SPOOL_BUFFER, out), failed: false };
            match without(spool, &ledger, &retracted, &mut out).and_then(|()| out.flush().map_err(Error::Temporary)) {
                // What failed was the output, whatever the copy that saw it reported.
                Err(Error::Temporary(e)) if out.failed => Err(Error::Write(e)),
                done => done,
            }
        }
    }
}

/// The output [`without`] writes to, noting whether a write to it failed: its errors are the
/// output's ([`Error::Write`]), the spool's are a temporary file's.
struct Output<W: Write> {
    out: W,
    failed: bool,
}

impl<W: Write> Write for Output<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.out.write(bytes).inspect_err(|_| self.failed = true)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush().inspect_err(|_| self.failed = true)
    }
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

/// The report in `spool` without the evaluations of the entries in `retracted`, written to
/// `out`: the bytes a report without them would have had, made by copying the others.
///
/// serde_json's pretty printer writes each evaluation of the list after a separator: a new
/// line and the indentation, with a `,` before them for every evaluation but the list's first.
/// The spool is copied entry by entry ([`SpoolLedger`]); of the evaluations kept, the first
/// loses its `,` when it had one. A list left empty is written as serde writes an empty list
/// (the document of no evaluation, serialized). `tests` compares every case with the report
/// serialized whole from the evaluations kept.
fn without(
    mut spool: std::fs::File,
    ledger: &SpoolLedger,
    retracted: &OrderSet,
    out: &mut impl Write,
) -> Result<(), Error> {
    let io = Error::Temporary;
    spool.rewind().map_err(io)?;
    let mut reader = std::io::BufReader::with_capacity(super::SPOOL_BUFFER, spool);
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
            copy(&mut reader, out, length - 1).map_err(io)?;
            kept_any = true;
        } else {
            copy(&mut reader, out, length).map_err(io)?;
        }
    }
    if kept_any {
        // The list's closing and the document's, as they were.
        std::io::copy(&mut reader, out).map_err(io)?;
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exceptions::Applied;
    use crate::rule::{Compliance, Verdict};

    /// The report as serde_json's pretty printer writes it whole: the reference.
    fn by_serde(evaluations: &[Evaluation]) -> Vec<u8> {
        let report = Report { evaluations: super::super::Streamed::new(evaluations.iter().map(Ok)) };
        let mut out = Vec::new();
        super::super::write_pretty(&mut out, &report, || report.evaluations.error(), Error::Temporary).unwrap();
        out
    }

    /// A cause with every field, each holding `text`.
    fn full_cause(text: &str, exception: Option<Applied>) -> Cause {
        Cause {
            document: Some(format!("policy {text}")),
            statement: Some(format!("\"{text}\"")),
            principal: Some(format!("arn:aws:iam::111122223333:role/{text}")),
            action: Some(format!("kms:{text}")),
            pattern: Some(format!("kms:{text}*")),
            reason: text.to_string(),
            exception,
        }
    }

    fn exception(text: &str) -> Applied {
        Applied {
            index: 3,
            rule: "rule-id".into(),
            resource: text.into(),
            principal: Some(text.into()),
            reason: text.into(),
            expires: crate::date::Date::from_civil(2027, 1, 31).unwrap(),
            owner: Some(text.into()),
            expired: false,
        }
    }

    proptest::proptest! {
        /// Any text, and escapes of every kind anywhere in it: written as serde_json writes it.
        #[test]
        fn a_string_is_written_as_serde_json_writes_it(
            text in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just('"'), proptest::strategy::Just('\\'),
                    proptest::strategy::Just('\u{8}'), proptest::strategy::Just('\u{c}'),
                    proptest::strategy::Just('\n'), proptest::strategy::Just('\r'),
                    proptest::strategy::Just('\t'), proptest::strategy::Just('\u{0}'),
                    proptest::strategy::Just('\u{1b}'), proptest::strategy::Just('\u{1f}'),
                    proptest::strategy::Just('\u{7f}'), proptest::strategy::Just('é'),
                    proptest::char::any(),
                    proptest::char::range('a', 'z'),
                ],
                0..48,
            ),
        ) {
            let text: String = text.into_iter().collect();
            let mut written = Vec::new();
            string(&mut written, &text);
            proptest::prop_assert_eq!(String::from_utf8(written).unwrap(), serde_json::to_string(&text).unwrap());
        }
    }

    /// A field kept from the last evaluation is written again only for the very same text:
    /// texts that differ, in turn, each written as it is.
    #[test]
    fn a_kept_field_is_written_again_only_for_the_same_text() {
        let mut quoted = Quoted::default();
        for text in ["", "AWS::IAM::Role", "AWS::IAM::Role", "AWS::IAM::Rol", "", "a \"b\"", "a \"b\""] {
            let mut out = b"x".to_vec();
            quoted.put(&mut out, text);
            let mut expected = b"x".to_vec();
            string(&mut expected, text);
            assert_eq!(out, expected, "{text:?}");
        }
    }

    /// Every kind of evaluation the writer renders by hand or through serde, alone and in
    /// lists, byte for byte against serde's whole document: strings that need escaping,
    /// annotations and timestamps present and absent, causes none and some.
    #[test]
    fn the_spool_is_what_serde_writes() {
        let texts = [
            "plain",
            "quote \" and \\ backslash",
            "tab\tnew\nline\u{1}",
            "ünïcödé ☃ /slash",
            "a longer text whose only escape comes after some words: \u{7f}\u{1f}",
        ];
        let mut all = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let verdicts = [
                Verdict::compliant(),
                Verdict::from_causes(vec![Cause::because(*text)]),
                Verdict::from_causes(vec![full_cause(text, None), Cause::because(*text), full_cause("", None)]),
                Verdict::from_causes(vec![full_cause(text, None), full_cause(text, Some(exception(text)))]),
                Verdict::not_applicable(*text),
                Verdict { compliance: Compliance::NotApplicable, ..Verdict::compliant() },
            ];
            for verdict in verdicts {
                // Rules named alike, and one whose name needs an escape.
                let rule = ["rule-id", "other-rule", "rule \"quoted\""][all.len() % 3];
                let mut evaluation =
                    Evaluation::by_id(rule, &format!("AWS::{text}"), &format!("id {text} {i}"), verdict);
                if i % 2 == 0 {
                    evaluation.order_at(format!("2026-01-0{i}T00:00:00.000Z {text}"));
                }
                all.push(evaluation);
            }
        }
        for n in [0, 1, 2, all.len()] {
            let some = all.get(..n).unwrap();
            let mut spool = Vec::new();
            write_spool(&mut spool, some.iter().cloned()).unwrap();
            assert_eq!(String::from_utf8_lossy(&spool), String::from_utf8_lossy(&by_serde(some)), "{n} evaluations");
        }
    }
}
