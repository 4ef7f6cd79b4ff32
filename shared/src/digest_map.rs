//! A hash map keyed by 128-bit digests ([`crate::version::digest`]), in shards that grow one at
//! a time: the dry-run's tables with an entry per resource ([`crate::dryrun`]'s versions) and
//! per managed policy (the [`crate::policy_store`]'s index).
//!
//! Those tables hold hundreds of thousands of entries on the 1 GB workloads, and peak memory
//! is a goal (100 MB, BENCHMARKS.md). One hash map grows by moving into one twice its size,
//! holding both for a moment: one map of 400,000 resources held 32 MB to grow to 21 MB (the
//! 1 GB workload's peak rose from 60 to 98 MB). A shard grows alone, so growing holds one
//! shard (a 16th of the table) twice. With the policy index sharded as well (one map until
//! stop 22; 256 shards then), the 1 GB snapshot's peak RSS went from a median of 94 MB to
//! 86 MB (9 alternating runs each, `/usr/bin/time`).
//!
//! Why 16 shards and not 256: on the 1 GB GAAD workload (580,000 resources, 350,000 policies)
//! 256 shards peaked at 134-140 MB, 16 at 120-129 MB (3 runs each), and the 1 GB snapshot was
//! no higher with 16 (82-86 MB against 86-87 MB). Most likely, each of 256 small shards left
//! its outgrown table behind in the allocator as a hole too small for the next, where a
//! sixteenth of the table is large enough to go back to the system.
//!
//! A digest is random already, so its first half is the bucket hash as it is, and the shard is
//! chosen by a byte of the other half, so that a shard's keys do not share the bits its
//! buckets are chosen by.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// How many shards a [`DigestMap`] has.
const SHARDS: usize = 16;

/// A map from 128-bit digests to `V`, in [`SHARDS`] shards.
#[derive(Debug)]
pub struct DigestMap<V> {
    shards: Vec<Shard<V>>,
    /// Where a key would go whose shard is missing: never, as [`SHARDS`] shards are made and
    /// the index is taken modulo their number; it keeps the lookup total without a panic.
    spare: Shard<V>,
}

type Shard<V> = HashMap<Key, V, BuildHasherDefault<FirstHalf>>;

/// A digest as a shard's key: hashed as its first half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key([u64; 2]);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
    }
}

/// The hasher of a shard: the one `u64` written is the hash ([`Key`] writes only that).
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
        self.shards.iter().map(HashMap::len).sum::<usize>() + self.spare.len()
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
    /// lookups, replaced values and the count, over enough keys to spread over every shard.
    #[test]
    fn agrees_with_a_hash_map() {
        let mut map = DigestMap::default();
        let mut reference = HashMap::new();
        for n in 0..5_000u32 {
            let key = digest(&(n % 3_000));
            assert_eq!(map.insert(key, n), reference.insert(key, n));
        }
        assert_eq!(map.len(), reference.len());
        for n in 0..4_000u32 {
            let key = digest(&n);
            assert_eq!(map.get(&key), reference.get(&key));
        }
        if let Some(value) = map.get_mut(&digest(&7u32)) {
            *value = 0;
        }
        assert_eq!(map.get(&digest(&7u32)), Some(&0));
        assert!(map.shards.iter().all(|shard| !shard.is_empty()), "3,000 digests reach every shard");
        assert!(map.spare.is_empty());
    }
}
