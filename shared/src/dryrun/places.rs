//! Where each user and role judged as it came stands in its input: the places the sequencer
//! reads them from again when a later version of a policy or group made some of them stale
//! (see `pipeline::judge_again`).
//!
//! Why: reading again meant splitting every input again, on the sequencer alone, after the
//! first read's stages had finished. On the 1 GB workload of three versions a resource that was
//! 0.8 s of a 3.8 s run with one core idle, to decode 45,680 users and roles and find 1,837
//! stale (stop 28). With their places kept, each is read where it stands, and the rest of the
//! input is not read again.
//!
//! A place is kept on disk, in an anonymous temporary file (56 bytes a user or role, and 8 a
//! policy or group it reads), so that memory does not grow with the input for what most runs
//! never read back.
//!
//! With each place go hashes of what judging the user or role read from the store (its managed
//! policies and groups, `pipeline::Changes::dependencies`), so that only the places of users
//! and roles that one of those changed after are read again: on 1 GB of three versions a
//! resource, 1,837 stale among 45,680 judged as they came. A hash that two names share can only
//! make a place read that need not be (the read decides, as before), never one skipped. The places are read
//! back only when they can be trusted to hold the same bytes; otherwise every input is split
//! again, as before:
//! - every user and role judged as it came was cut out of its input (not a document's one
//!   item, which is written back rather than cut out);
//! - every input they came from is a file, not gzip (whose offsets are in the inflated text),
//!   and has the length it had when its first entry was placed.
//!
//! What is read at a place is checked as a full read checks it: it must decode to the item it
//! was (`pipeline::judge_again`).

use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use super::input::Input;
use crate::export::RawEntry;

/// The numbers of a place, each written as eight little-endian bytes: the entry's number, its
/// input, where its text starts, its length, its kind (`RawEntry::to_parts`), its index, and
/// how many hashes of what it depends on follow (a number each).
const FIELDS: usize = 7;

/// The hash of a name a user or role depends on (`pipeline::Changes::dependencies`).
pub(super) type Dependency = u64;

/// Where an entry stands in its input, as [`Places::put`] keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place {
    offset: u64,
    length: usize,
    tag: u8,
    index: usize,
}

impl Place {
    /// The place of `entry`, if it was cut out of its input.
    pub(super) fn of(entry: &RawEntry) -> Option<Place> {
        let (tag, index) = entry.to_parts();
        entry.offset().map(|offset| Place { offset, length: entry.text_len(), tag, index })
    }
}

/// The places of the users and roles judged as they came, in entry order.
pub(super) struct Places {
    file: BufWriter<std::fs::File>,
    /// Each input's length when its first place was put: `None` before, `Some(None)` when it
    /// is not a file whose length could be read.
    lengths: Vec<Option<Option<u64>>>,
    /// False once a user or role judged as it came had no place.
    complete: bool,
}

impl Places {
    pub(super) fn new(inputs: usize) -> std::io::Result<Places> {
        Ok(Places { file: BufWriter::new(tempfile::tempfile()?), lengths: vec![None; inputs], complete: true })
    }

    /// Keeps the place of entry `order` of input `input`, which was judged as it came and
    /// depends on `dependencies`; `None` when it has none, and the inputs must be read again
    /// whole.
    pub(super) fn put(
        &mut self,
        order: usize,
        input: usize,
        place: Option<Place>,
        dependencies: &[Dependency],
        inputs: &[Input],
    ) -> std::io::Result<()> {
        let Some(place) = place else {
            self.complete = false;
            return Ok(());
        };
        if let Some(length @ None) = self.lengths.get_mut(input) {
            *length = Some(inputs.get(input).and_then(Input::file_length));
        }
        let fields = [
            order as u64,
            input as u64,
            place.offset,
            place.length as u64,
            u64::from(place.tag),
            place.index as u64,
            dependencies.len() as u64,
        ];
        for field in fields.into_iter().chain(dependencies.iter().copied()) {
            self.file.write_all(&field.to_le_bytes())?;
        }
        Ok(())
    }

    /// The entries at every place, in entry order (each with its number and input), or `None`
    /// when they cannot be trusted to be there (see the module docs).
    pub(super) fn read_back(self, inputs: &[Input]) -> std::io::Result<Option<Placed>> {
        if !self.complete {
            return Ok(None);
        }
        let mut files = Vec::with_capacity(self.lengths.len());
        for (input, length) in inputs.iter().zip(&self.lengths) {
            files.push(match length {
                // An input none of whose users and roles was judged as it came is not read.
                None => None,
                Some(None) => return Ok(None),
                Some(Some(length)) => match input.plain_file(*length) {
                    Ok(Some(file)) => Some(file),
                    // Not a plain file of that length, or not one that opens now: every input
                    // is split again, and that read says what is wrong, as before places.
                    Ok(None) | Err(_) => return Ok(None),
                },
            });
        }
        let mut file = self.file.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.rewind()?;
        Ok(Some(Placed { records: BufReader::new(file), files }))
    }
}

/// The entries at their places ([`Places::read_back`]).
pub(super) struct Placed {
    records: BufReader<std::fs::File>,
    /// Each input's file, if it has places.
    files: Vec<Option<std::fs::File>>,
}

/// Why an entry could not be read at its place.
#[derive(Debug, thiserror::Error)]
pub(super) enum PlacedError {
    /// The places' own temporary file.
    #[error("the places of the users and roles read again: {0}")]
    Places(std::io::Error),
    /// An input, named, that no longer holds the entry where it stood.
    #[error("{problem}")]
    Input { input: usize, problem: String },
}

/// A place as [`Placed::next_record`] reads it back, its entry not read yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    /// The entry's number.
    pub(super) order: usize,
    /// Its input.
    pub(super) input: usize,
    place: [u64; 4],
    /// What the user or role depends on ([`Places::put`]).
    pub(super) dependencies: Vec<Dependency>,
}

impl Placed {
    /// The next entry: its number, its input, and the entry read where it stood.
    #[cfg(test)]
    pub(super) fn next_entry(&mut self) -> Option<Result<(usize, usize, RawEntry), PlacedError>> {
        Some(self.next_record()?.and_then(|record| self.read(&record)))
    }

    /// The next place, in entry order, without its entry ([`Placed::read`] reads it).
    pub(super) fn next_record(&mut self) -> Option<Result<Record, PlacedError>> {
        let mut fields = [0u64; FIELDS];
        for (n, field) in fields.iter_mut().enumerate() {
            match self.number() {
                Ok(number) => *field = number,
                // The end of the records, between two of them.
                Err(e) if n == 0 && e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
                Err(e) => return Some(Err(PlacedError::Places(e))),
            }
        }
        let [order, input, offset, length, tag, index, count] = fields;
        let record = (|| {
            let mut dependencies = Vec::with_capacity(to_usize(count)?.min(64));
            for _ in 0..count {
                dependencies.push(self.number().map_err(PlacedError::Places)?);
            }
            Ok(Record {
                order: to_usize(order)?,
                input: to_usize(input)?,
                place: [offset, length, tag, index],
                dependencies,
            })
        })();
        Some(record)
    }

    /// One number of the records.
    fn number(&mut self) -> std::io::Result<u64> {
        let mut bytes = [0u8; 8];
        self.records.read_exact(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// The entry at `record`'s place: its number, its input, and the entry read where it stood.
    pub(super) fn read(&mut self, record: &Record) -> Result<(usize, usize, RawEntry), PlacedError> {
        let damaged = || PlacedError::Places(std::io::Error::other("a place does not read back"));
        let (order, input) = (record.order, record.input);
        let [offset, length, tag, index] = record.place;
        let (length, index) = (to_usize(length)?, to_usize(index)?);
        let tag = u8::try_from(tag).map_err(|_| damaged())?;
        let Some(Some(file)) = self.files.get_mut(input) else { return Err(damaged()) };
        let gone = |what: &str| PlacedError::Input {
            input,
            problem: format!("entry {order} is no longer where it stood: {what}"),
        };
        let mut text = vec![0; length];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut text))
            .map_err(|e| gone(&e.to_string()))?;
        let text = String::from_utf8(text).map_err(|_| gone("not UTF-8"))?;
        let entry = RawEntry::from_parts(tag, index, text).ok_or_else(damaged)?;
        Ok((order, input, entry))
    }
}

fn to_usize(field: u64) -> Result<usize, PlacedError> {
    usize::try_from(field).map_err(|_| PlacedError::Places(std::io::Error::other("a place does not read back")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entries `export::stream_raw` cuts out of `text`.
    fn entries(text: &str) -> Vec<RawEntry> {
        let mut entries = Vec::new();
        crate::export::stream_raw(text.as_bytes(), &mut |e| entries.push(e)).unwrap();
        entries
    }

    const EXPORT: &str = "{\"fileVersion\": \"1.0\",\n \"configurationItems\": [\n  {\"resourceId\": \"a\"},\n  {\"resourceId\": \"b\", \"é\": [1, {}]}\n ]}";

    fn written(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> Input {
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
        Input::File(path)
    }

    /// Every entry read back where it stood is the entry the split cut out, with its number
    /// and input, in the order put.
    #[test]
    fn entries_read_back_at_their_places_are_the_entries() {
        let dir = tempfile::tempdir().unwrap();
        let inputs = [written(&dir, "a.json", EXPORT.as_bytes()), written(&dir, "b.json", EXPORT.as_bytes())];
        let cut = entries(EXPORT);
        let mut places = Places::new(2).unwrap();
        places.put(0, 0, Place::of(&cut[1]), &[], &inputs).unwrap();
        places.put(3, 1, Place::of(&cut[0]), &[1, u64::MAX], &inputs).unwrap();
        places.put(4, 1, Place::of(&cut[1]), &[3], &inputs).unwrap();
        let mut placed = places.read_back(&inputs).unwrap().unwrap();
        let mut back = Vec::new();
        while let Some(next) = placed.next_entry() {
            let (order, input, entry) = next.unwrap();
            back.push((order, input, entry.json().to_owned(), entry.to_parts()));
        }
        let want = [
            (0, 0, cut[1].json().to_owned(), cut[1].to_parts()),
            (3, 1, cut[0].json().to_owned(), cut[0].to_parts()),
            (4, 1, cut[1].json().to_owned(), cut[1].to_parts()),
        ];
        assert_eq!(back, want);
        // The records alone, with what each depends on, and an entry read for one of them only.
        let mut places = Places::new(2).unwrap();
        places.put(0, 0, Place::of(&cut[1]), &[], &inputs).unwrap();
        places.put(3, 1, Place::of(&cut[0]), &[1, u64::MAX], &inputs).unwrap();
        let mut placed = places.read_back(&inputs).unwrap().unwrap();
        let first = placed.next_record().unwrap().unwrap();
        assert_eq!((first.order, first.input, first.dependencies.as_slice()), (0, 0, &[][..]));
        let second = placed.next_record().unwrap().unwrap();
        assert_eq!((second.order, second.input, second.dependencies.as_slice()), (3, 1, &[1, u64::MAX][..]));
        assert!(placed.next_record().is_none());
        let (_, _, entry) = placed.read(&second).unwrap();
        assert_eq!(entry.json(), cut[0].json());
    }

    /// Places are not trusted, and every input is read again whole, when an input's length
    /// changed, when it is gzip, or when an entry judged as it came had no place.
    #[test]
    fn places_that_cannot_be_trusted_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let cut = entries(EXPORT);
        // The length changed since the place was put.
        let inputs = [written(&dir, "grown.json", EXPORT.as_bytes())];
        let mut places = Places::new(1).unwrap();
        places.put(0, 0, Place::of(&cut[0]), &[], &inputs).unwrap();
        written(&dir, "grown.json", format!("{EXPORT} ").as_bytes());
        assert!(places.read_back(&inputs).unwrap().is_none());
        // Gzip: places are in the inflated text.
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(EXPORT.as_bytes()).unwrap();
        let inputs = [written(&dir, "export.json.gz", &gzip.finish().unwrap())];
        let mut places = Places::new(1).unwrap();
        places.put(0, 0, Place::of(&cut[0]), &[], &inputs).unwrap();
        assert!(places.read_back(&inputs).unwrap().is_none());
        // A document's one item is written back, not cut out: it has no place.
        let item = entries(
            r#"{"resourceType": "AWS::KMS::Key", "resourceId": "a", "awsAccountId": "111122223333", "configurationItemStatus": "OK", "configuration": {}}"#,
        );
        assert_eq!(item.len(), 1);
        assert_eq!(Place::of(&item[0]), None);
        let inputs = [written(&dir, "plain.json", EXPORT.as_bytes())];
        let mut places = Places::new(1).unwrap();
        places.put(0, 0, Place::of(&cut[0]), &[], &inputs).unwrap();
        places.put(1, 0, None, &[], &inputs).unwrap();
        assert!(places.read_back(&inputs).unwrap().is_none());
        // The embedded sample is not a file.
        let mut places = Places::new(1).unwrap();
        places.put(0, 0, Place::of(&cut[0]), &[], &[Input::Sample]).unwrap();
        assert!(places.read_back(&[Input::Sample]).unwrap().is_none());
    }

    /// An input whose bytes changed where an entry stood (same length) yields what is there
    /// now, to be checked as a full read's entry is; one cut short is an error naming the input.
    #[test]
    fn what_stands_at_a_place_now_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let cut = entries(EXPORT);
        let inputs = [written(&dir, "a.json", EXPORT.as_bytes())];
        let mut places = Places::new(1).unwrap();
        places.put(5, 0, Place::of(&cut[0]), &[], &inputs).unwrap();
        written(&dir, "a.json", EXPORT.replace("\"a\"", "\"z\"").as_bytes());
        let mut placed = places.read_back(&inputs).unwrap().unwrap();
        let (order, _, entry) = placed.next_entry().unwrap().unwrap();
        assert_eq!((order, entry.json()), (5, "{\"resourceId\": \"z\"}"));
        assert!(placed.next_entry().is_none());
        // A place past the end: the file was cut and grown back to its length elsewhere.
        let mut places = Places::new(1).unwrap();
        let far = Place { offset: EXPORT.len() as u64 - 2, ..Place::of(&cut[0]).unwrap() };
        places.put(0, 0, Some(far), &[], &inputs).unwrap();
        let mut placed = places.read_back(&inputs).unwrap().unwrap();
        let error = placed.next_entry().unwrap().unwrap_err().to_string();
        assert!(error.starts_with("entry 0 is no longer where it stood"), "{error}");
    }
}
