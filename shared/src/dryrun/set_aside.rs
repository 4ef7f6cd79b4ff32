//! Users and roles set aside until every input is read: the set-aside store.
//!
//! A user or role whose attached policies or groups are not all known when the sequencer
//! reaches it (they may come later, from another file) waits in an anonymous temporary file, so
//! that waiting takes no memory. At the end of the input the sequencer reads the records back,
//! in the order they were put, and hands them to the judges, who decode them (on every core)
//! and judge them with the whole policy store.
//!
//! A record is one user or role: decoded, in serde's form of [`Resource`] (postcard's binary
//! encoding: JSON was a tenth of the 100 MB GAAD run's instructions, where every user and role
//! waits for the policies listed after them), so that it is not decoded twice; or, when a
//! document of its did not parse (a parse error is not written, see
//! [`Resource::can_be_stored`]), the entry it came from, decoded again when judged.
//!
//! Nothing read back is skipped: a record that does not decode, or an entry that no longer
//! decodes to a user or role, is an error of the run.

use std::io::{BufReader, Read, Seek, Write};

use super::input::InputError;
use crate::export;
use crate::item::Resource;

/// The first byte of a record: a [`Resource`], in postcard.
const RESOURCE: u8 = 1;
/// The first byte of a record: the entry a user or role came from.
const ENTRY: u8 = 0;

/// The users and roles set aside, in a temporary file.
pub(super) struct SetAside {
    file: std::io::BufWriter<std::fs::File>,
    count: usize,
    /// The postcard bytes of the record being put, kept for the next one: each record was a
    /// `Vec` of its own, grown from empty about seven times (1 GB GAAD: 230,000 records).
    scratch: Vec<u8>,
}

/// How much [`read_bytes`] reserves at most before it reads: a record's length, unless that is
/// more (a damaged length, or a resource of many documents), when the rest grows as it reads.
const RESERVED_AT_MOST: usize = 1 << 16;

/// Why the set-aside store failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum SetAsideError {
    /// Reading or writing its temporary file.
    #[error("its temporary file: {0}")]
    File(#[from] std::io::Error),
    /// A user or role that must be set aside as its entry came without it (a defect).
    #[error("`{0}` came without its entry and cannot be set aside")]
    NoEntry(String),
    /// A record that does not read back.
    #[error("record {record} of {count} is damaged: {damage}")]
    Damaged {
        /// Its number, from 1.
        record: usize,
        /// How many there are.
        count: usize,
        /// What is wrong.
        damage: Damage,
    },
}

/// What is wrong with a record that does not read back.
#[derive(Debug, thiserror::Error)]
pub(super) enum Damage {
    /// The file ends early, or cannot be read.
    #[error("{0}")]
    Read(#[from] std::io::Error),
    /// A first byte that is no kind of record.
    #[error("unknown record kind {0}")]
    Kind(u8),
    /// An entry's kind that [`export::RawEntry::from_parts`] does not know.
    #[error("unknown entry kind {0}")]
    EntryKind(u8),
    /// A number too large for this machine.
    #[error("{0} is too large")]
    Number(u64),
    /// Fewer bytes than the length said.
    #[error("{read} of {len} bytes")]
    Short {
        /// How many were there.
        read: usize,
        /// How many the length said.
        len: usize,
    },
    /// An entry that is not UTF-8.
    #[error("{0}")]
    Utf8(#[from] std::string::FromUtf8Error),
}

/// Why a user or role read back cannot be judged.
#[derive(Debug, thiserror::Error)]
pub(super) enum RecordProblem {
    /// Its resource does not decode.
    #[error("{0}")]
    Resource(#[from] postcard::Error),
    /// Its entry no longer decodes.
    #[error("{}", .0.message)]
    Entry(InputError),
    /// Its entry decodes to something else.
    #[error("its entry is no longer a user or role")]
    NotAnIdentity,
}

/// One user or role read back, not decoded yet (the judges decode it).
#[derive(Debug)]
pub(super) struct Record {
    /// The number of the input it came from.
    pub(super) input: usize,
    /// Its number in the store, from 1, for messages.
    pub(super) number: usize,
    /// What was written.
    pub(super) kind: RecordKind,
}

/// What a [`Record`] holds.
#[derive(Debug)]
pub(super) enum RecordKind {
    /// A [`Resource`], in postcard.
    Resource(Vec<u8>),
    /// The entry it came from.
    Entry(export::RawEntry),
}

impl SetAside {
    pub(super) fn new() -> Result<SetAside, SetAsideError> {
        Ok(SetAside { file: std::io::BufWriter::new(tempfile::tempfile()?), count: 0, scratch: Vec::new() })
    }

    /// How many users and roles were set aside.
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// Appends one user or role, of input number `input`: `RESOURCE`, input, length, the
    /// resource in postcard; or, when it cannot be stored decoded, `ENTRY`, input, kind, index,
    /// length, and the JSON of `entry` (which the decoders keep for exactly that case).
    pub(super) fn put(
        &mut self,
        input: usize,
        resource: &Resource,
        entry: Option<&export::RawEntry>,
    ) -> Result<(), SetAsideError> {
        if resource.can_be_stored() {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            let bytes = postcard::to_extend(resource, scratch).map_err(std::io::Error::other)?;
            self.file.write_all(&[RESOURCE])?;
            self.file.write_all(&(input as u64).to_le_bytes())?;
            self.file.write_all(&(bytes.len() as u64).to_le_bytes())?;
            self.file.write_all(&bytes)?;
            self.scratch = bytes;
        } else {
            let entry = entry.ok_or_else(|| SetAsideError::NoEntry(resource.resource_id().to_string()))?;
            let (tag, index) = entry.to_parts();
            let json = entry.json().as_bytes();
            self.file.write_all(&[ENTRY])?;
            self.file.write_all(&(input as u64).to_le_bytes())?;
            self.file.write_all(&[tag])?;
            self.file.write_all(&(index as u64).to_le_bytes())?;
            self.file.write_all(&(json.len() as u64).to_le_bytes())?;
            self.file.write_all(json)?;
        }
        self.count += 1;
        Ok(())
    }

    /// Every record, in the order put: exactly [`SetAside::len`] of them, or an error.
    pub(super) fn into_records(self) -> Result<Records, SetAsideError> {
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        Ok(Records { reader: BufReader::new(file), read: 0, count: self.count })
    }
}

/// The records of a [`SetAside`], read back one at a time.
pub(super) struct Records {
    reader: BufReader<std::fs::File>,
    read: usize,
    count: usize,
}

impl Iterator for Records {
    type Item = Result<Record, SetAsideError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.read == self.count {
            return None;
        }
        self.read += 1;
        let (record, count) = (self.read, self.count);
        Some(read_record(&mut self.reader, record).map_err(|damage| SetAsideError::Damaged { record, count, damage }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.count - self.read;
        (left, Some(left))
    }
}

/// Reads record number `number` (from 1) from `reader`.
fn read_record(reader: &mut impl Read, number: usize) -> Result<Record, Damage> {
    let mut byte = [0u8; 1];
    reader.read_exact(&mut byte)?;
    let input = read_word(reader)?;
    let kind = match byte {
        [RESOURCE] => RecordKind::Resource(read_bytes(reader)?),
        [ENTRY] => {
            reader.read_exact(&mut byte)?;
            let index = read_word(reader)?;
            let json = String::from_utf8(read_bytes(reader)?)?;
            let [tag] = byte;
            RecordKind::Entry(export::RawEntry::from_parts(tag, index, json).ok_or(Damage::EntryKind(tag))?)
        }
        [other] => return Err(Damage::Kind(other)),
    };
    Ok(Record { input, number, kind })
}

fn read_word(reader: &mut impl Read) -> Result<usize, Damage> {
    let mut word = [0u8; 8];
    reader.read_exact(&mut word)?;
    let word = u64::from_le_bytes(word);
    usize::try_from(word).map_err(|_| Damage::Number(word))
}

/// A length, then that many bytes (reserved up to [`RESERVED_AT_MOST`], the rest read as it
/// comes: a damaged length reserves no more than that).
fn read_bytes(reader: &mut impl Read) -> Result<Vec<u8>, Damage> {
    let len = read_word(reader)?;
    let mut bytes = Vec::with_capacity(len.min(RESERVED_AT_MOST));
    reader.take(len as u64).read_to_end(&mut bytes)?;
    match bytes.len() == len {
        true => Ok(bytes),
        false => Err(Damage::Short { read: bytes.len(), len }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dryrun::pipeline::{decode, Decoded};
    use crate::dryrun::SAMPLE;
    use crate::item::Details;

    /// The users and roles of the embedded sample, with the entries they came from.
    fn sample_identities() -> Vec<(Resource, export::RawEntry)> {
        let mut entries = Vec::new();
        export::stream_raw(SAMPLE.as_bytes(), &mut |entry| entries.push(entry)).unwrap();
        entries
            .into_iter()
            .filter_map(|entry| match decode("sample", 0, entry.clone()) {
                Decoded::Item { resource, .. } if matches!(resource.details, Details::Role(_) | Details::User(_)) => {
                    Some((*resource, entry))
                }
                _ => None,
            })
            .collect()
    }

    /// What is set aside comes back as it went in: decoded where every document parsed, as
    /// its entry (decoding to the same resource) where one did not.
    #[test]
    fn set_aside_users_and_roles_come_back_as_they_were() {
        let mut identities = sample_identities();
        assert!(identities.len() >= 4, "the sample has users and roles");
        // A role whose inline policy does not parse: its error is not written, its entry is.
        let (mut broken, entry) = identities[0].clone();
        let Details::Role(role) = &mut broken.details else { panic!("the sample's first identity is a role") };
        role.identity.inline.push(crate::item::NamedDocument {
            name: "broken".into(),
            document: Err(crate::policy::DocumentError::Json("EOF".into())),
        });
        assert!(!broken.can_be_stored());
        identities.push((broken, entry.clone()));

        let mut set_aside = SetAside::new().unwrap();
        for (i, (resource, entry)) in identities.iter().enumerate() {
            set_aside.put(i, resource, Some(entry)).unwrap();
        }
        assert_eq!(set_aside.len(), identities.len());
        let records = set_aside.into_records().unwrap();
        assert_eq!(records.size_hint(), (identities.len(), Some(identities.len())));
        let mut kinds = (0, 0);
        let mut read = 0;
        for (i, record) in records.enumerate() {
            let (resource, entry) = &identities[i];
            let record = record.unwrap();
            assert_eq!((record.input, record.number), (i, i + 1));
            match record.kind {
                RecordKind::Resource(bytes) => {
                    kinds.0 += 1;
                    assert!(resource.can_be_stored(), "#{i}");
                    assert_eq!(postcard::from_bytes::<Resource>(&bytes).unwrap(), *resource, "#{i}");
                }
                RecordKind::Entry(back) => {
                    kinds.1 += 1;
                    assert!(!resource.can_be_stored(), "#{i}");
                    assert_eq!(back.json(), entry.json(), "#{i}");
                }
            }
            read += 1;
        }
        assert_eq!(read, identities.len(), "every record, and no more");
        assert!(kinds.0 >= 3 && kinds.1 >= 1, "both kinds of record were tried: {kinds:?}");
    }

    #[test]
    fn a_damaged_set_aside_record_is_an_error_not_a_panic() {
        let word = |n: u64| n.to_le_bytes();
        let resource = |len: u64, body: &[u8]| [&[RESOURCE][..], &word(0), &word(len), body].concat();
        for bytes in [
            vec![9u8],
            resource(3, b"{}"),
            resource(u64::MAX, b"{}"),
            [&[ENTRY][..], &word(0), &[1]].concat(),
            [&[ENTRY][..], &word(0), &[99], &word(0), &word(2), b"{}"].concat(),
        ] {
            assert!(read_record(&mut &bytes[..], 1).is_err(), "{bytes:?}");
        }
    }
}
