//! Which configuration item of a resource is the newest (SPEC section 6, "Versions").
//!
//! An export can hold several items of one resource: a history file holds every version, and
//! snapshots of several days hold one each. Only the newest is the resource as it stands, so
//! only the newest is judged and only the newest version of a managed policy or a group
//! resolves attachments. "Newest" is decided by the item itself, never by where it stood in
//! the input: by `configurationItemCaptureTime`, then by `configurationStateId` (AWS: "an
//! identifier that indicates the ordering of the configuration items of a resource").
//!
//! Two items are of the same resource when their account, region, type and id are equal
//! ([`ResourceKey`]).

use std::hash::Hash;

use crate::date::Date;

/// The place of an item among the versions of its resource: ordered by capture time, then by
/// state id. An item without one of them sorts before every item with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct ItemVersion {
    /// `configurationItemCaptureTime`, in microseconds since the Unix epoch ([`Self::UNKNOWN`]
    /// when the item has none).
    captured: i64,
    /// `configurationStateId` ([`Self::UNKNOWN_STATE`] when the item has none).
    state: u64,
}

/// Why an item's version cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The capture time is not an RFC 3339 time.
    #[error("is `{0}`, not an RFC 3339 time (like 2026-01-01T00:00:00.000Z)")]
    CaptureTime(String),
    /// The state id is not a number.
    #[error("is `{0}`, not a decimal number of at most 19 digits")]
    StateId(String),
}

impl ItemVersion {
    /// The capture time of an item that has none: before every real time.
    const UNKNOWN: i64 = i64::MIN;
    /// The state id of an item that has none: before every real state id. A real state id of
    /// 0 sorts the same; that is harmless, since two items that tie are told apart by the
    /// order they were read in, and AWS's state ids are positive (milliseconds since the epoch).
    const UNKNOWN_STATE: u64 = 0;

    /// The version of an item with this capture time (RFC 3339) and state id (a decimal
    /// number, as a string or a JSON number's text).
    pub fn new(capture_time: Option<&str>, state_id: Option<&str>) -> Result<ItemVersion, VersionError> {
        let captured = match capture_time {
            None => Self::UNKNOWN,
            Some(text) => rfc3339_micros(text).ok_or_else(|| VersionError::CaptureTime(text.to_owned()))?,
        };
        let state = match state_id {
            None => Self::UNKNOWN_STATE,
            Some(text) => text
                .parse::<u64>()
                .ok()
                .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| VersionError::StateId(text.to_owned()))?,
        };
        Ok(ItemVersion { captured, state })
    }
}

/// Which resource an item is of: a 128-bit fingerprint of its account, region, type and id.
///
/// The dry-run keeps one of these (and the newest version seen) for every resource it reads,
/// so it must be small: 16 bytes, not the four strings. Two different resources share a
/// fingerprint with a probability of about n²/2¹²⁹ among n resources (below 10⁻²⁶ for a
/// million), far below that of a bit flipped in memory: an XXH3-128 digest ([`digest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct ResourceKey([u64; 2]);

impl ResourceKey {
    /// The key of the resource in `account` and `region` of type `resource_type` with id
    /// `resource_id`.
    pub fn new(account: &str, region: &str, resource_type: &str, resource_id: &str) -> ResourceKey {
        ResourceKey(digest(&[account, region, resource_type, resource_id]))
    }

    /// The fingerprint, as [`crate::digest_map::DigestMap`] keys it.
    pub fn digest(&self) -> &[u64; 2] {
        &self.0
    }
}

/// A 128-bit digest of a sequence of strings: XXH3-128 of their bytes, each followed by
/// `0xFF`, a byte no UTF-8 text holds, so that two different sequences are two different
/// inputs (`["ab", "c"]` is not `["a", "bc"]`).
///
/// Distinct inputs share a digest with a probability of about n²/2¹²⁹ among n of them: XXH3-128
/// passes SMHasher's collision and distribution tests, as a random 128-bit function would. It
/// is not keyed, and neither was the SipHash (with the fixed keys of `DefaultHasher::new`)
/// it replaced: inputs crafted to collide could be found for either, which a dry-run over one's
/// own export does not have to fear. Its halves are the digest's low and high 64 bits. The
/// digest is the same for the whole run (and across runs), which is all the dry-run's tables
/// need: it is never written where another version of the program reads it.
pub fn digest(parts: &[&str]) -> [u64; 2] {
    let mut hasher = xxhash_rust::xxh3::Xxh3Default::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update(&[0xFF]);
    }
    let digest = hasher.digest128();
    [digest as u64, (digest >> 64) as u64]
}

/// Microseconds since the Unix epoch of an RFC 3339 time: `YYYY-MM-DDTHH:MM:SS`, an optional
/// fraction (any number of digits; below a microsecond is dropped), and `Z` or `±HH:MM`. `t`
/// and `z` in lower case, and a space for `T`, are accepted as RFC 3339 allows.
fn rfc3339_micros(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = bytes.get(range)?;
        digits.iter().all(u8::is_ascii_digit).then(|| digits.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let separators = [(4, b'-'), (7, b'-'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, want)| bytes.get(at) != Some(&want))
        || !matches!(bytes.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let date = Date::from_civil(i32::try_from(year).ok()?, u32::try_from(month).ok()?, u32::try_from(day).ok()?)?;
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut at = 19;
    let mut micros = 0i64;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while let Some(digit) = bytes.get(at).filter(|b| b.is_ascii_digit()) {
            if at - start < 6 {
                micros = micros * 10 + i64::from(digit - b'0');
            }
            at += 1;
        }
        if at == start {
            return None;
        }
        for _ in (at - start)..6 {
            micros *= 10;
        }
    }
    let offset_seconds = match bytes.get(at..)? {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (number(at + 1..at + 3)?, number(at + 4..at + 6)?);
            let seconds = hours * 3600 + minutes * 60;
            if *sign == b'+' {
                seconds
            } else {
                -seconds
            }
        }
        _ => return None,
    };
    let seconds = date.days() * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(time: &str, state: Option<&str>) -> ItemVersion {
        ItemVersion::new(Some(time), state).unwrap()
    }

    /// Where one string ends and the next begins is part of what is digested: the same bytes
    /// cut elsewhere, or one more or one fewer empty string, are other resources.
    #[test]
    fn a_digest_tells_apart_the_same_bytes_cut_differently() {
        let cuts: [&[&str]; 7] =
            [&["ab", "c"], &["a", "bc"], &["abc"], &["abc", ""], &["", "abc"], &["a", "b", "c"], &[]];
        let digests: Vec<[u64; 2]> = cuts.iter().map(|parts| digest(parts)).collect();
        for (i, a) in digests.iter().enumerate() {
            for (j, b) in digests.iter().enumerate().skip(i + 1) {
                assert_ne!(a, b, "{:?} and {:?}", cuts[i], cuts[j]);
            }
        }
        assert_eq!(digest(&["ab", "c"]), digest(&["ab", "c"]), "the same for the whole run");
        let key = |account, region, kind, id| ResourceKey::new(account, region, kind, id);
        assert_ne!(key("1", "us-east-1", "AWS::KMS::Key", "k"), key("1", "us-east-1", "AWS::KMS::Ke", "yk"));
    }

    #[test]
    fn times_in_every_spelling_config_and_the_cli_use_compare_as_instants() {
        // S3 delivery (milliseconds, Z), the AWS CLI (microseconds, +00:00), another offset,
        // and seconds only: the same instant.
        let same = [
            "2019-07-11T18:45:41.614Z",
            "2019-07-11T18:45:41.614000+00:00",
            "2019-07-11T20:45:41.614+02:00",
            "2019-07-11t18:45:41.6140z",
        ];
        for text in same {
            assert_eq!(rfc3339_micros(text), rfc3339_micros(same[0]), "{text}");
        }
        assert_eq!(rfc3339_micros("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_micros("1970-01-01T00:00:01.5Z"), Some(1_500_000));
        assert_eq!(rfc3339_micros("2000-03-01T00:00:00Z"), Some(951_868_800_000_000));
        assert!(version("2019-07-11T18:45:41.615Z", None) > version("2019-07-11T18:45:41.614Z", None));
        assert!(version("2019-07-12T00:00:00-05:00", None) > version("2019-07-12T04:00:00Z", None));
    }

    #[test]
    fn the_capture_time_decides_before_the_state_id_and_unknowns_sort_first() {
        let early = version("2026-01-01T00:00:00Z", Some("900"));
        let late = version("2026-01-02T00:00:00Z", Some("100"));
        assert!(late > early);
        assert!(version("2026-01-01T00:00:00Z", Some("901")) > early);
        let unknown = ItemVersion::new(None, None).unwrap();
        assert!(unknown < early);
        assert!(ItemVersion::new(None, Some("5")).unwrap() > unknown);
    }

    #[test]
    fn a_time_or_state_id_that_does_not_read_is_an_error() {
        for text in [
            "",
            "2026-01-01",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "yesterday",
        ] {
            assert_eq!(ItemVersion::new(Some(text), None), Err(VersionError::CaptureTime(text.to_owned())), "{text}");
        }
        for text in ["", "-1", "+5", "12a", "99999999999999999999"] {
            assert_eq!(ItemVersion::new(None, Some(text)), Err(VersionError::StateId(text.to_owned())), "{text}");
        }
    }

    #[test]
    fn keys_tell_resources_apart_by_every_part() {
        let key = ResourceKey::new("111122223333", "us-east-1", "AWS::KMS::Key", "k1");
        assert_eq!(key, ResourceKey::new("111122223333", "us-east-1", "AWS::KMS::Key", "k1"));
        for other in [
            ResourceKey::new("444455556666", "us-east-1", "AWS::KMS::Key", "k1"),
            ResourceKey::new("111122223333", "eu-west-1", "AWS::KMS::Key", "k1"),
            ResourceKey::new("111122223333", "us-east-1", "AWS::IAM::Role", "k1"),
            ResourceKey::new("111122223333", "us-east-1", "AWS::KMS::Key", "k2"),
            // The parts are hashed apart, not joined: moving a character across does not collide.
            ResourceKey::new("111122223333", "us-east-1", "AWS::KMS::Keyk", "1"),
        ] {
            assert_ne!(key, other);
        }
    }
}
