//! Several versions of one resource in the input (SPEC section 6, "Versions"): which one is
//! judged, and which evaluations a later, newer version takes back.
//!
//! The input is read once, as a stream, in whatever order its files and entries come (the AWS
//! CLI writes history newest first, S3 delivers it oldest first). An item is judged as soon as
//! it is read, so when a newer version of the same resource comes later, the older one's
//! evaluations are already on their way to the report. [`Versions`] remembers, for every
//! resource, its newest version so far and the entry it was; a newer one *retracts* that entry
//! ([`OrderSet`]), and the report leaves retracted entries out at the end. An older version
//! that comes after a newer one is not judged at all. Memory: 40 bytes and a bit or two per
//! resource (a 16-byte [`ResourceKey`], not the strings), in a [`DigestMap`].

use crate::digest_map::{DigestMap, Slot};
use crate::version::{ItemVersion, ResourceKey};

/// Which versions are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Judged {
    /// Only the newest version of each resource (the default).
    Newest,
    /// Every version (`--all-versions`), each with its own `OrderingTimestamp`.
    All,
}

/// What to do with an item, given the versions read before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Admission {
    /// Judge it.
    pub(super) judge: bool,
    /// It is the newest version of its resource read so far.
    pub(super) newest: bool,
    /// It retracts the version read before it, which was judged.
    pub(super) retracts: bool,
}

/// The newest version of every resource read so far, and the entries retracted.
pub(super) struct Versions {
    judged: Judged,
    newest: Newest,
    retracted: OrderSet,
    superseded: usize,
}

/// The newest version of each resource and the entry it was, by the resource's key.
type Newest = DigestMap<(ItemVersion, usize)>;

impl Versions {
    pub(super) fn new(judged: Judged) -> Versions {
        Versions { judged, newest: Newest::default(), retracted: OrderSet::default(), superseded: 0 }
    }

    /// Admits entry number `order`, an item of resource `key` at `version`. Of two items of
    /// one version (the same capture time and state id: the same snapshot read twice), the
    /// first read stays the newest.
    pub(super) fn admit(&mut self, key: ResourceKey, version: ItemVersion, order: usize) -> Admission {
        let all = self.judged == Judged::All;
        match self.newest.slot(key.digest()) {
            Slot::Vacant(vacant) => {
                vacant.put((version, order));
                Admission { judge: true, newest: true, retracts: false }
            }
            Slot::Held(newest) if version > newest.0 => {
                let older = std::mem::replace(newest, (version, order)).1;
                if !all {
                    self.retracted.insert(older);
                    self.superseded += 1;
                }
                Admission { judge: true, newest: true, retracts: !all }
            }
            Slot::Held(_) => {
                if !all {
                    self.superseded += 1;
                }
                Admission { judge: all, newest: false, retracts: false }
            }
        }
    }

    /// Prefetches where [`Versions::admit`] will look for `key` (see
    /// [`DigestMap::prefetch`]): a hint, which changes nothing.
    pub(super) fn prefetch(&self, key: &ResourceKey) {
        self.newest.prefetch(key.digest());
    }

    /// Is entry `order`, an item of `key`, still judged: the newest version of its resource,
    /// or any version with `--all-versions`? (An entry set aside is asked at the end.)
    pub(super) fn is_judged(&self, key: &ResourceKey, order: usize) -> bool {
        match self.judged {
            Judged::All => true,
            Judged::Newest => self.newest.get(key.digest()).is_some_and(|&(_, newest)| newest == order),
        }
    }

    /// Takes back entry `order`'s evaluations: it is judged again at the end.
    pub(super) fn retract(&mut self, order: usize) {
        self.retracted.insert(order);
    }

    /// The entries whose evaluations the report leaves out.
    pub(super) fn retracted(&self) -> &OrderSet {
        &self.retracted
    }

    /// How many items an item read before or after superseded (not judged, or taken back).
    pub(super) fn superseded(&self) -> usize {
        self.superseded
    }
}

/// A set of entry numbers, one bit each.
#[derive(Debug, Default, Clone)]
pub(super) struct OrderSet {
    words: Vec<u64>,
    len: usize,
}

impl OrderSet {
    pub(super) fn insert(&mut self, order: usize) {
        let (word, bit) = (order / 64, order % 64);
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        if let Some(word) = self.words.get_mut(word).filter(|word| **word & (1 << bit) == 0) {
            *word |= 1 << bit;
            self.len += 1;
        }
    }

    pub(super) fn contains(&self, order: usize) -> bool {
        self.words.get(order / 64).is_some_and(|word| word & (1 << (order % 64)) != 0)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: &str) -> ItemVersion {
        ItemVersion::new(Some(time), None).unwrap()
    }

    /// Whatever the order of three versions, the newest alone is judged in the end: every
    /// other one is either not judged or retracted.
    #[test]
    fn the_newest_version_alone_stands_whatever_the_order() {
        let key = ResourceKey::new("111122223333", "us-east-1", "AWS::KMS::Key", "k");
        let times = ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"];
        for permutation in [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
            let mut versions = Versions::new(Judged::Newest);
            let mut standing = Vec::new();
            for (order, &which) in permutation.iter().enumerate() {
                if versions.admit(key, at(times[which]), order).judge {
                    standing.push((order, which));
                }
            }
            let standing: Vec<usize> = standing
                .into_iter()
                .filter(|&(order, _)| !versions.retracted().contains(order))
                .map(|(_, which)| which)
                .collect();
            assert_eq!(standing, [2], "{permutation:?}");
            assert_eq!(versions.superseded(), 2, "{permutation:?}");
            let newest_order = permutation.iter().position(|&w| w == 2).unwrap();
            assert!(versions.is_judged(&key, newest_order));
            assert!(!versions.is_judged(&key, (newest_order + 1) % 3));
        }
    }

    /// `--all-versions` judges every version and takes nothing back, but still knows which
    /// is the newest (for the policy store).
    #[test]
    fn all_versions_judges_each_and_retracts_none() {
        let key = ResourceKey::new("111122223333", "global", "AWS::IAM::Policy", "p");
        let mut versions = Versions::new(Judged::All);
        let admitted: Vec<Admission> = ["2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z"]
            .iter()
            .enumerate()
            .map(|(order, time)| versions.admit(key, at(time), order))
            .collect();
        assert!(admitted.iter().all(|a| a.judge));
        assert_eq!(admitted.iter().map(|a| a.newest).collect::<Vec<_>>(), [true, false, true]);
        assert!(versions.retracted().is_empty());
        assert_eq!(versions.superseded(), 0);
    }

    /// The same version read twice (one snapshot given twice): the first stays.
    #[test]
    fn a_tie_keeps_the_first_read() {
        let key = ResourceKey::new("111122223333", "us-east-1", "AWS::KMS::Key", "k");
        let mut versions = Versions::new(Judged::Newest);
        assert!(versions.admit(key, at("2026-01-01T00:00:00Z"), 0).judge);
        assert!(!versions.admit(key, at("2026-01-01T00:00:00Z"), 1).judge);
        assert!(versions.is_judged(&key, 0));
    }

    #[test]
    fn an_order_set_holds_what_was_put_in() {
        let mut set = OrderSet::default();
        assert!(set.is_empty());
        for order in [0, 63, 64, 1000, 64] {
            set.insert(order);
        }
        assert!([0, 63, 64, 1000].iter().all(|&o| set.contains(o)));
        assert!(![1, 62, 65, 999, 1001, 100_000].iter().any(|&o| set.contains(o)));
        assert_eq!(set.len, 4);
    }
}
