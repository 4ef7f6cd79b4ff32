//! The JSON report: `{"Evaluations": [...]}`, each entry as PutEvaluations takes it plus the
//! rule name and every cause, in input order.
//!
//! The report writer serializes the whole document into a temporary file while the evaluations
//! arrive ([`write_spool`]: serde_json's pretty printer, the list streamed); the report is
//! copied from there once the run has succeeded ([`write_json`]), so that a run that fails
//! writes nothing.

use std::cell::RefCell;
use std::io::{Seek, Write};

use serde::de::{DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::{write_pretty, Evaluation, Streamed};
use crate::dryrun::error::Error;
use crate::dryrun::versions::OrderSet;

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

/// The report in `spool` without the evaluations whose places (from 0, in report order) are in
/// `dropped`, in a new spool: the report as it would have been written without them.
///
/// The spool is read as a stream (serde_json's deserializer, each evaluation a [`RawValue`],
/// never the whole list) and written through the same pretty printer. An evaluation's raw text
/// was printed at the very depth it is written back at, so the bytes are those a report
/// without the dropped evaluations would have had.
pub(super) fn without(mut spool: std::fs::File, dropped: &OrderSet) -> Result<std::fs::File, Error> {
    spool.rewind().map_err(Error::Temporary)?;
    let mut out = std::io::BufWriter::new(tempfile::tempfile().map_err(Error::Temporary)?);
    let reader = serde_json::Deserializer::from_reader(std::io::BufReader::new(spool));
    let report = Rewritten { evaluations: Kept { spool: RefCell::new(Some(reader)), dropped } };
    write_pretty(&mut out, &report, || None, Error::Temporary)?;
    out.into_inner().map_err(|e| Error::Temporary(e.into_error()))
}

/// The report, rewritten from a spool.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase", bound = "")]
struct Rewritten<'a, R: serde_json::de::Read<'static>> {
    evaluations: Kept<'a, R>,
}

/// The evaluations of a spool that are not dropped, serialized as they are read.
struct Kept<'a, R> {
    spool: RefCell<Option<serde_json::Deserializer<R>>>,
    dropped: &'a OrderSet,
}

impl<R: serde_json::de::Read<'static>> Serialize for Kept<'_, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut spool = self.spool.borrow_mut().take().ok_or_else(|| S::Error::custom("the spool was read already"))?;
        let seq = serializer.serialize_seq(None)?;
        let found = serde::Deserializer::deserialize_map(&mut spool, Document { seq, dropped: self.dropped })
            .map_err(S::Error::custom)?;
        match found {
            Some(seq) => seq.end(),
            None => Err(S::Error::custom("the report spool has no `Evaluations`")),
        }
    }
}

/// The spool's top level: `{"Evaluations": [...]}`; its evaluations go to `seq`.
struct Document<'a, Q> {
    seq: Q,
    dropped: &'a OrderSet,
}

impl<'de, Q: SerializeSeq> Visitor<'de> for Document<'_, Q> {
    type Value = Option<Q>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the JSON report")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Q>, A::Error> {
        let Document { seq, dropped } = self;
        let mut seq = Some(seq);
        let mut written = None;
        while let Some(key) = map.next_key::<String>()? {
            match (key.as_str(), seq.take()) {
                ("Evaluations", Some(seq)) => written = Some(map.next_value_seed(Evaluations { seq, dropped })?),
                (_, unused) => {
                    seq = unused;
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(written)
    }
}

/// The list of evaluations: each one not dropped goes to `seq`, as its raw text.
struct Evaluations<'a, Q> {
    seq: Q,
    dropped: &'a OrderSet,
}

impl<'de, Q: SerializeSeq> DeserializeSeed<'de> for Evaluations<'_, Q> {
    type Value = Q;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Q, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, Q: SerializeSeq> Visitor<'de> for Evaluations<'_, Q> {
    type Value = Q;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the list of evaluations")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut list: A) -> Result<Q, A::Error> {
        let mut place = 0usize;
        while let Some(evaluation) = list.next_element::<Box<RawValue>>()? {
            if !self.dropped.contains(place) {
                self.seq.serialize_element(&evaluation).map_err(A::Error::custom)?;
            }
            place += 1;
        }
        Ok(self.seq)
    }
}
