//! Users and roles set aside until every input is read.

use std::io::{Read, Write};

use crate::export;
use crate::item::Resource;

/// Users and roles that wait for every input, set aside in an anonymous temporary file (so
/// they take no memory), in input order: decoded, in serde's JSON form of [`Resource`], so
/// that they are not decoded twice; or, when a document of theirs did not parse (its error is
/// not written, see [`Resource::can_be_stored`]), as the entry they came from.
pub(super) struct SetAside {
    pub(super) file: std::io::BufWriter<std::fs::File>,
    pub(super) count: usize,
}

/// The first byte of a set-aside record.
pub(super) const SET_ASIDE_ENTRY: u8 = 0;

pub(super) const SET_ASIDE_RESOURCE: u8 = 1;

/// One user or role read back from the set-aside file.
pub(super) enum Waiting {
    /// Its entry, from input number `.0`, to decode again.
    Entry(usize, export::RawEntry),
    /// Decoded.
    Decoded(Box<Resource>),
}

impl SetAside {
    pub(super) fn new() -> std::io::Result<SetAside> {
        Ok(SetAside { file: std::io::BufWriter::new(tempfile::tempfile()?), count: 0 })
    }

    /// Appends one user or role: `SET_ASIDE_RESOURCE`, length, the resource's JSON; or, when it
    /// cannot be stored decoded, `SET_ASIDE_ENTRY`, input, kind, index, length, and the JSON of
    /// `entry`, which [`decode`] kept for exactly that case.
    pub(super) fn put(
        &mut self,
        input: usize,
        resource: &Resource,
        entry: Option<&export::RawEntry>,
    ) -> std::io::Result<()> {
        self.count += 1;
        if resource.can_be_stored() {
            let json = serde_json::to_vec(resource)?;
            self.file.write_all(&[SET_ASIDE_RESOURCE])?;
            self.file.write_all(&(json.len() as u64).to_le_bytes())?;
            return self.file.write_all(&json);
        }
        let entry = entry.ok_or_else(|| {
            std::io::Error::other(format!("{} came without its entry and cannot be set aside", resource.resource_id))
        })?;
        let (tag, index) = entry.to_parts();
        let json = entry.json().as_bytes();
        self.file.write_all(&[SET_ASIDE_ENTRY])?;
        self.file.write_all(&(input as u64).to_le_bytes())?;
        self.file.write_all(&[tag])?;
        self.file.write_all(&(index as u64).to_le_bytes())?;
        self.file.write_all(&(json.len() as u64).to_le_bytes())?;
        self.file.write_all(json)
    }
}

/// Reads back one user or role that [`SetAside::put`] wrote.
pub(super) fn take_set_aside(reader: &mut impl Read) -> std::io::Result<Waiting> {
    let damaged = || std::io::Error::other("a set-aside record is damaged");
    let mut word = [0u8; 8];
    let mut byte = [0u8; 1];
    let read_bytes = |reader: &mut dyn Read, word: &mut [u8; 8]| -> std::io::Result<Vec<u8>> {
        reader.read_exact(word)?;
        let mut bytes = vec![0u8; u64::from_le_bytes(*word) as usize];
        reader.read_exact(&mut bytes)?;
        Ok(bytes)
    };
    reader.read_exact(&mut byte)?;
    match byte {
        [SET_ASIDE_RESOURCE] => {
            let json = read_bytes(reader, &mut word)?;
            Ok(Waiting::Decoded(Box::new(serde_json::from_slice(&json)?)))
        }
        [SET_ASIDE_ENTRY] => {
            reader.read_exact(&mut word)?;
            let input = u64::from_le_bytes(word) as usize;
            reader.read_exact(&mut byte)?;
            reader.read_exact(&mut word)?;
            let index = u64::from_le_bytes(word) as usize;
            let json = String::from_utf8(read_bytes(reader, &mut word)?).map_err(std::io::Error::other)?;
            let [tag] = byte;
            let entry = export::RawEntry::from_parts(tag, index, json).ok_or_else(damaged)?;
            Ok(Waiting::Entry(input, entry))
        }
        _ => Err(damaged()),
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
        for (resource, entry) in &identities {
            set_aside.put(0, resource, Some(entry)).unwrap();
        }
        set_aside.file.flush().unwrap();
        let mut file = set_aside.file.get_ref().try_clone().unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        let mut reader = std::io::BufReader::new(file);
        let mut kinds = (0, 0);
        for (i, (resource, _)) in identities.iter().enumerate() {
            match take_set_aside(&mut reader).unwrap() {
                Waiting::Decoded(back) => {
                    kinds.0 += 1;
                    assert!(resource.can_be_stored(), "#{i}");
                    assert_eq!(*back, *resource, "#{i}");
                }
                Waiting::Entry(input, back) => {
                    kinds.1 += 1;
                    assert!(!resource.can_be_stored(), "#{i}");
                    assert_eq!((input, back.json()), (0, entry.json()), "#{i}");
                }
            }
        }
        assert_eq!(set_aside.count, identities.len());
        assert!(kinds.0 >= 3 && kinds.1 >= 1, "both kinds of record were tried: {kinds:?}");
    }

    #[test]
    fn a_damaged_set_aside_record_is_an_error_not_a_panic() {
        for bytes in
            [&[9u8][..], &[SET_ASIDE_RESOURCE, 3, 0, 0, 0, 0, 0, 0, 0, b'{', b'}', b'x'], &[SET_ASIDE_ENTRY, 1]]
        {
            assert!(take_set_aside(&mut &bytes[..]).is_err(), "{bytes:?}");
        }
    }
}
