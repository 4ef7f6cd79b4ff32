//! A map keyed by 128-bit digests ([`crate::version::digest`]), kept dense: the dry-run's
//! tables with an entry per resource ([`crate::dryrun`]'s versions) and per managed policy
//! (the [`crate::policy_store`]'s index).
//!
//! Those tables hold hundreds of thousands of entries on the 1 GB workloads, and peak memory
//! is a goal (100 MB, BENCHMARKS.md). A hash table spends memory on slack: hashbrown's is
//! between 7/16 and 7/8 full, and grows by moving into one twice its size, holding both for a
//! moment. On the 1 GB GAAD workload (580,000 resources, 350,000 policies: 40 MB of entries)
//! the two tables were hash maps in 16 shards, and the run peaked at 118-126 MB; kept as below,
//! at 108-118 MB (2 alternating runs each, `/usr/bin/time`).
//!
//! So each of [`SHARDS`] shards keeps its entries in a vector sorted by digest, sized exactly,
//! and the entries added since in a small hash map of at most a sixteenth as many. When the
//! small map is full, it is sorted and merged into a new vector of exactly the size needed; a
//! shard holds its old vector and the new one only while it merges (a 16th of the table). A
//! digest is random, so the first half of a key locates it in a sorted shard in a few probes
//! (interpolation, then a binary search over what is left), without a second copy of the keys.
//!
//! A digest is random already, so its first half is the small map's hash as it is, and the
//! shard is chosen by a byte of the other half, so that a shard's keys do not share the bits
//! its small map's buckets are chosen by.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// How many shards a [`DigestMap`] has.
const SHARDS: usize = 16;

/// The small map of a shard is merged into its sorted vector when it holds this many entries,
/// or a sixteenth of the vector's, whichever is more.
const SMALLEST_MERGE: usize = 256;

/// A map from 128-bit digests to `V`, in [`SHARDS`] shards.
#[derive(Debug)]
pub struct DigestMap<V> {
    shards: Vec<Shard<V>>,
    /// Where a key would go whose shard is missing: never, as [`SHARDS`] shards are made and
    /// the index is taken modulo their number; it keeps the lookup total without a panic.
    spare: Shard<V>,
}

/// A digest as a key: ordered as its two halves, hashed as its first half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key([u64; 2]);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
    }
}

/// The hasher of a shard's small map: the one `u64` written is the hash ([`Key`] writes only
/// that).
#[derive(Default)]
struct FirstHalf(u64);

impl Hasher for FirstHalf {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not called for a `Key`; anything written is mixed in all the same.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, half: u64) {
        self.0 = half;
    }
}

/// One shard: the entries sorted by key, and those added since the last merge. A key is in
/// one of the two, never both.
#[derive(Debug)]
struct Shard<V> {
    sorted: Vec<(Key, V)>,
    recent: HashMap<Key, V, BuildHasherDefault<FirstHalf>>,
}

impl<V> Default for Shard<V> {
    fn default() -> Self {
        Shard { sorted: Vec::new(), recent: HashMap::default() }
    }
}

impl<V> Shard<V> {
    fn len(&self) -> usize {
        self.sorted.len() + self.recent.len()
    }

    /// The place of `key` in `sorted`: `Ok` where it is, `Err` where it would go.
    fn find(&self, key: &Key) -> Result<usize, usize> {
        let sorted = &self.sorted;
        let (mut low, mut high) = (0, sorted.len());
        // Interpolation on the first half while the range is wide: digests are uniform, so a
        // few steps narrow it to a handful of entries. Each step keeps `key` within
        // [low, high) if it is there at all, so the binary search below decides exactly.
        for _ in 0..4 {
            if high - low <= 16 {
                break;
            }
            let (Some(first), Some(last)) = (sorted.get(low), sorted.get(high - 1)) else { break };
            let (from, to, at) = (first.0 .0[0], last.0 .0[0], key.0[0]);
            if at < from || at > to || from == to {
                break;
            }
            let span = (high - 1 - low) as u128;
            let guess = low + (u128::from(at - from) * span / u128::from(to - from)) as usize;
            // A window around the guess; where the key falls outside it, the range is cut to
            // the side it falls on.
            let window_low = guess.saturating_sub(8).max(low);
            let window_high = (guess + 9).min(high);
            match (sorted.get(window_low), sorted.get(window_high - 1)) {
                (Some(a), _) if *key < a.0 => high = window_low,
                (_, Some(b)) if *key > b.0 => low = window_high,
                _ => {
                    low = window_low;
                    high = window_high;
                    break;
                }
            }
        }
        let within = sorted.get(low..high).unwrap_or(&[]);
        within.binary_search_by(|(k, _)| k.cmp(key)).map(|i| low + i).map_err(|i| low + i)
    }

    fn get(&self, key: &Key) -> Option<&V> {
        match self.find(key) {
            Ok(at) => self.sorted.get(at).map(|(_, v)| v),
            Err(_) => self.recent.get(key),
        }
    }

    fn get_mut(&mut self, key: &Key) -> Option<&mut V> {
        match self.find(key) {
            Ok(at) => self.sorted.get_mut(at).map(|(_, v)| v),
            Err(_) => self.recent.get_mut(key),
        }
    }

    fn insert(&mut self, key: Key, value: V) -> Option<V> {
        if let Ok(at) = self.find(&key) {
            return self.sorted.get_mut(at).map(|(_, v)| std::mem::replace(v, value));
        }
        let old = self.recent.insert(key, value);
        if self.recent.len() >= SMALLEST_MERGE.max(self.sorted.len() / 16) {
            self.merge();
        }
        old
    }

    /// Moves the small map's entries into a new sorted vector of exactly the size needed.
    fn merge(&mut self) {
        let mut recent: Vec<(Key, V)> = self.recent.drain().collect();
        recent.sort_unstable_by_key(|a| a.0);
        let mut merged = Vec::with_capacity(self.sorted.len() + recent.len());
        let mut older = std::mem::take(&mut self.sorted).into_iter().peekable();
        let mut newer = recent.into_iter().peekable();
        loop {
            let take_older = match (older.peek(), newer.peek()) {
                (Some(a), Some(b)) => a.0 < b.0,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            merged.extend(if take_older { older.next() } else { newer.next() });
        }
        self.sorted = merged;
        // The drained map keeps its buckets for the next round: at most a sixteenth of the
        // shard, and reused rather than grown again.
    }
}

impl<V> Default for DigestMap<V> {
    fn default() -> Self {
        DigestMap { shards: (0..SHARDS).map(|_| Shard::default()).collect(), spare: Shard::default() }
    }
}

impl<V> DigestMap<V> {
    /// The place of `digest`'s shard.
    fn place(digest: &[u64; 2]) -> usize {
        usize::from(digest[1].to_le_bytes()[0]) % SHARDS
    }

    /// The value of `digest`.
    pub fn get(&self, digest: &[u64; 2]) -> Option<&V> {
        self.shards.get(Self::place(digest)).unwrap_or(&self.spare).get(&Key(*digest))
    }

    /// The value of `digest`, to change.
    pub fn get_mut(&mut self, digest: &[u64; 2]) -> Option<&mut V> {
        self.shard_mut(digest).get_mut(&Key(*digest))
    }

    /// Sets the value of `digest`; the value it had, if any.
    pub fn insert(&mut self, digest: [u64; 2], value: V) -> Option<V> {
        self.shard_mut(&digest).insert(Key(digest), value)
    }

    /// How many digests have a value.
    pub fn len(&self) -> usize {
        self.shards.iter().map(Shard::len).sum::<usize>() + self.spare.len()
    }

    /// No digest has a value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard_mut(&mut self, digest: &[u64; 2]) -> &mut Shard<V> {
        self.shards.get_mut(Self::place(digest)).unwrap_or(&mut self.spare)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::digest;

    /// The map agrees with a `HashMap` of the same digests (the reference) after every insert:
    /// lookups, replaced values and the count, over enough keys to merge every shard many
    /// times (the small maps and the sorted vectors both answer).
    #[test]
    fn agrees_with_a_hash_map() {
        let mut map = DigestMap::default();
        let mut reference = HashMap::new();
        for n in 0..200_000u32 {
            let key = digest(&(n % 120_000));
            assert_eq!(map.insert(key, n), reference.insert(key, n));
            if n % 997 == 0 {
                for probe in n.saturating_sub(50)..n + 50 {
                    let key = digest(&probe);
                    assert_eq!(map.get(&key), reference.get(&key), "after {n} inserts, key {probe}");
                }
            }
        }
        assert_eq!(map.len(), reference.len());
        for n in 0..130_000u32 {
            let key = digest(&n);
            assert_eq!(map.get(&key), reference.get(&key));
        }
        for n in (0..130_000u32).step_by(7) {
            let key = digest(&n);
            if let Some(value) = map.get_mut(&key) {
                *value = u32::MAX - n;
            }
            if let Some(value) = reference.get_mut(&key) {
                *value = u32::MAX - n;
            }
        }
        for n in 0..130_000u32 {
            let key = digest(&n);
            assert_eq!(map.get(&key), reference.get(&key));
        }
        assert!(map.shards.iter().all(|shard| shard.sorted.len() > 5_000), "120,000 digests reach every shard");
        assert!(map.shards.iter().all(|shard| shard.sorted.windows(2).all(|w| w[0].0 < w[1].0)), "sorted, no repeats");
        assert!(map.spare.len() == 0);
    }

    /// Keys that are not random (all in a narrow band of first halves, or equal first halves)
    /// are found all the same: interpolation only narrows the range, the binary search decides.
    #[test]
    fn keys_that_are_not_uniform_are_found() {
        let mut map = DigestMap::default();
        let mut reference = HashMap::new();
        for n in 0..20_000u64 {
            let key = [n / 1_000, n.wrapping_mul(0x9E37_79B9_7F4A_7C15)];
            assert_eq!(map.insert(key, n), reference.insert(key, n));
        }
        for n in 0..21_000u64 {
            let key = [n / 1_000, n.wrapping_mul(0x9E37_79B9_7F4A_7C15)];
            assert_eq!(map.get(&key), reference.get(&key));
            let skewed = [u64::MAX - n, n];
            assert_eq!(map.get(&skewed), None);
        }
    }

    /// A merged shard's vector is exactly as long as its entries: no slack.
    #[test]
    fn a_merged_shard_has_no_slack() {
        let mut map = DigestMap::default();
        for n in 0..100_000u32 {
            map.insert(digest(&n), n);
        }
        for shard in &map.shards {
            assert_eq!(shard.sorted.capacity(), shard.sorted.len());
            assert!(shard.recent.len() < SMALLEST_MERGE.max(shard.sorted.len() / 16));
        }
    }
}
