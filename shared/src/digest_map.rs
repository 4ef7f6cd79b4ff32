//! A map keyed by 128-bit digests ([`crate::version::digest`]), kept dense: the dry-run's
//! tables with an entry per resource ([`crate::dryrun`]'s versions) and per managed policy
//! (the [`crate::policy_store`]'s index).
//!
//! Those tables hold hundreds of thousands of entries on the 1 GB workloads, and peak memory
//! is a goal (100 MB, BENCHMARKS.md). A hash table spends memory on slack: hashbrown's is
//! between 7/16 and 7/8 full, and grows by moving into one twice its size, holding both for a
//! moment. On the 1 GB GAAD workload (580,000 resources, 350,000 policies: 40 MB of entries)
//! the two tables were hash maps in 16 shards, and the run peaked at 118-126 MB.
//!
//! So each of [`SHARDS`] shards keeps its entries sorted by digest, in chunks of [`CHUNK`]
//! entries, every chunk full but the last, and the entries added since in a small hash map of
//! at most a sixteenth as many. When the small map is full, it is sorted and merged into the
//! chunks, which are rewritten full. Chunks are all of one size and each old one is freed as
//! soon as it is read, so the allocator hands it back for the next one written: a merge holds
//! a few chunks more than the shard, never a second copy of it. (One sorted vector per shard,
//! rewritten whole at each merge, measured worse: mimalloc keeps a freed large block for a
//! second before it gives it back, and the 1 GB snapshot peaked at 104 MB instead of 85.)
//! With chunks, the 1 GB GAAD run peaked at 88-90 MB and the 1 GB snapshot at 69-71 MB (2
//! alternating runs each, `/usr/bin/time`, against 120-121 MB and 89-95 MB with hash maps).
//!
//! A key is found by the chunks' first keys, then in its chunk: digests are uniform, so
//! interpolation on the first half narrows a chunk to a few entries in a step or two. A chunk
//! keeps its keys apart from its values, so that the search reads a few cache lines of keys,
//! then one value: the tables are far larger than the cache, and on the 1 GB workloads the
//! searches were the sequencer's largest cost (`perf`, BENCHMARKS.md "Stop 26"). A caller that
//! decides by the value held and then sets one asks for the digest's [`Slot`]: one search.
//!
//! A digest is random already, so its first half is the small map's hash as it is, and the
//! shard is chosen by a byte of the other half, so that a shard's keys do not share the bits
//! its small map's buckets are chosen by.
//!
//! Each shard also keeps a [`Filter`] of the digests it holds: a digest the filter has never
//! seen is not in the shard, and is known not to be without a search (the common case of a
//! snapshot, whose resources are nearly all new).

mod filter;

use filter::Filter;

use std::collections::hash_map::{Entry, VacantEntry};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// How many shards a [`DigestMap`] has.
const SHARDS: usize = 16;

/// The small map of a shard is merged into its sorted entries once it holds this many entries,
/// or a sixteenth as many as they, whichever is more (before the next value is put).
const SMALLEST_MERGE: usize = 256;

/// How many digests a shard's first [`Filter`] has room for (it grows with the shard).
const FIRST_FILTER_ROOM: usize = 4 * SMALLEST_MERGE;

/// How many entries a chunk of a shard's sorted entries holds: 40 to 48 KB for the dry-run's
/// tables, small enough for the allocator to reuse a freed chunk at once.
const CHUNK: usize = 1024;

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

/// One shard: the entries sorted by key, in chunks of [`CHUNK`] (every chunk full but the
/// last), and those added since the last merge. A key is in one of the two, never both.
#[derive(Debug)]
struct Shard<V> {
    chunks: Vec<Chunk<V>>,
    /// The first key of each chunk.
    firsts: Vec<Key>,
    /// The last key of each chunk: with its first, where a search of the chunk starts
    /// ([`search`]), known without reading the chunk.
    lasts: Vec<Key>,
    recent: HashMap<Key, V, BuildHasherDefault<FirstHalf>>,
    /// Every key of the shard (and perhaps keys a vacant slot was asked for and not given).
    filter: Filter,
}

/// A run of a shard's sorted entries, its keys apart from its values: a search reads 16 bytes
/// an entry (a few cache lines around the guess) rather than whole entries, then one value.
#[derive(Debug)]
struct Chunk<V> {
    keys: Vec<Key>,
    values: Vec<V>,
}

impl<V> Chunk<V> {
    fn new() -> Chunk<V> {
        Chunk { keys: Vec::with_capacity(CHUNK), values: Vec::with_capacity(CHUNK) }
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn push(&mut self, (key, value): (Key, V)) {
        self.keys.push(key);
        self.values.push(value);
    }
}

impl<V> Default for Shard<V> {
    fn default() -> Self {
        Shard {
            chunks: Vec::new(),
            firsts: Vec::new(),
            lasts: Vec::new(),
            recent: HashMap::default(),
            filter: Filter::with_room(FIRST_FILTER_ROOM),
        }
    }
}

impl<V> Shard<V> {
    fn len(&self) -> usize {
        self.sorted_len() + self.recent.len()
    }

    fn sorted_len(&self) -> usize {
        self.chunks.iter().map(Chunk::len).sum()
    }

    /// The chunk `key` would be in, and its place there: `Ok` where it is, `Err` where not.
    fn find(&self, key: &Key) -> Option<(usize, Result<usize, usize>)> {
        // The last chunk whose first key is at most `key`.
        let chunk = self.firsts.partition_point(|first| first <= key).checked_sub(1)?;
        let keys = &self.chunks.get(chunk)?.keys;
        let ends = self.firsts.get(chunk).zip(self.lasts.get(chunk));
        Some((chunk, search(keys, key, ends)))
    }

    /// Prefetches the keys (and the value) where [`Shard::find`] will look for `key` in its
    /// chunk: found from the chunk's first and last keys, which the cache holds (a few hundred
    /// a shard), as [`search`]'s first step finds them, without reading the chunk.
    fn prefetch(&self, key: &Key) {
        // The filter's block first: `slot` reads it before the chunk, and a key the filter has
        // not seen needs nothing else. (The chunk is fetched all the same: deciding here would
        // wait for the block.)
        if let Some(block) = self.filter.block(&key.0) {
            prefetch(block);
        }
        let Some(chunk) = self.firsts.partition_point(|first| first <= key).checked_sub(1) else { return };
        let (Some(entries), Some(first), Some(last)) =
            (self.chunks.get(chunk), self.firsts.get(chunk), self.lasts.get(chunk))
        else {
            return;
        };
        let Some(guess) = interpolate(entries.keys.len(), key, (first, last)) else { return };
        // The window the search reads: the guess's sixteen neighbours, five cache lines of keys.
        for near in [guess.saturating_sub(8), guess.saturating_sub(4), guess, guess + 4, guess + 8] {
            if let Some(key) = entries.keys.get(near) {
                prefetch(key);
            }
        }
        if let Some(value) = entries.values.get(guess) {
            prefetch(value);
        }
    }

    fn get(&self, key: &Key) -> Option<&V> {
        if !self.filter.may_hold(&key.0) {
            return None;
        }
        match self.find(key) {
            Some((chunk, Ok(at))) => self.chunks.get(chunk)?.values.get(at),
            _ => self.recent.get(key),
        }
    }

    fn get_mut(&mut self, key: &Key) -> Option<&mut V> {
        if !self.filter.may_hold(&key.0) {
            return None;
        }
        match self.find(key) {
            Some((chunk, Ok(at))) => self.chunks.get_mut(chunk)?.values.get_mut(at),
            _ => self.recent.get_mut(key),
        }
    }

    fn insert(&mut self, key: Key, value: V) -> Option<V> {
        match self.slot(key) {
            Slot::Held(held) => Some(std::mem::replace(held, value)),
            Slot::Vacant(vacant) => {
                vacant.put(value);
                None
            }
        }
    }

    /// The value of `key` to change, or the place to put one: one search of the sorted
    /// entries either way. A small map filled by the last value put is merged first.
    fn slot(&mut self, key: Key) -> Slot<'_, V> {
        if self.recent.len() >= SMALLEST_MERGE.max(self.sorted_len() / 16) {
            self.merge();
        }
        if self.filter.is_full() {
            self.grow_filter();
        }
        let sorted = match self.filter.may_hold(&key.0).then(|| self.find(&key)).flatten() {
            Some((chunk, Ok(at))) => Some((chunk, at)),
            _ => None,
        };
        // Two borrows, one a field: the sorted entries' is returned, or the small map's is used.
        let Shard { chunks, recent, filter, .. } = self;
        if let Some((chunk, at)) = sorted {
            if let Some(held) = chunks.get_mut(chunk).and_then(|entries| entries.values.get_mut(at)) {
                return Slot::Held(held);
            }
        }
        match recent.entry(key) {
            Entry::Occupied(held) => Slot::Held(held.into_mut()),
            Entry::Vacant(vacant) => {
                // Added now, whether or not the caller puts a value: a key added and not held
                // only costs a search.
                filter.add(&key.0);
                Slot::Vacant(Vacant(vacant))
            }
        }
    }

    /// Builds the filter again, with room for twice the shard's keys, from every one of them.
    fn grow_filter(&mut self) {
        let mut filter = Filter::with_room(2 * self.len().max(FIRST_FILTER_ROOM));
        for chunk in &self.chunks {
            chunk.keys.iter().for_each(|key| filter.add(&key.0));
        }
        self.recent.keys().for_each(|key| filter.add(&key.0));
        self.filter = filter;
    }

    /// Merges the small map's entries into the chunks, rewritten full. Each old chunk is freed
    /// as soon as it is read, and every chunk has one size, so the allocator hands a freed
    /// chunk back for the next one written: the shard never holds two copies of itself.
    ///
    /// The old entries move in runs (those between two new keys, found by a binary search),
    /// not one at a time: a shard is rewritten at each merge, so every entry moves about
    /// seventeen times before its shard stops growing, and on the 1 GB snapshot the merge,
    /// an entry at a time through a chain of iterators, was about 4% of the dry-run's
    /// instructions (callgrind, issue 18).
    fn merge(&mut self) {
        let mut recent: Vec<(Key, V)> = self.recent.drain().collect();
        recent.sort_unstable_by_key(|a| a.0);
        let mut merged = Merged { chunks: Vec::new(), firsts: Vec::new(), chunk: Chunk::new() };
        let mut newer = recent.into_iter().peekable();
        for Chunk { keys, values } in std::mem::take(&mut self.chunks) {
            let mut values = values.into_iter();
            let mut rest: &[Key] = &keys;
            while !rest.is_empty() {
                // The old entries before the next new key go first, in a run; then that key.
                let run = match newer.peek() {
                    Some((key, _)) => rest.partition_point(|old| old < key),
                    None => rest.len(),
                };
                let (before, after) = rest.split_at(run);
                merged.push_run(before, &mut values);
                rest = after;
                if !rest.is_empty() {
                    if let Some(entry) = newer.next() {
                        merged.push(entry);
                    }
                }
            }
        }
        newer.for_each(|entry| merged.push(entry));
        let Merged { mut chunks, firsts, chunk } = merged;
        if chunk.len() > 0 {
            chunks.push(chunk);
        }
        self.lasts = chunks.iter().filter_map(|chunk| chunk.keys.last()).copied().collect();
        self.chunks = chunks;
        self.firsts = firsts;
        // The drained map keeps its buckets for the next round: at most a sixteenth of the
        // shard, and reused rather than grown again.
    }
}

/// A shard's sorted entries as [`Shard::merge`] writes them: the full chunks, their first
/// keys, and the chunk being filled.
struct Merged<V> {
    chunks: Vec<Chunk<V>>,
    firsts: Vec<Key>,
    chunk: Chunk<V>,
}

impl<V> Merged<V> {
    /// Room in the chunk being filled: a full one is put away and a new one begun.
    fn room(&mut self) -> usize {
        if self.chunk.len() == CHUNK {
            self.chunks.push(std::mem::replace(&mut self.chunk, Chunk::new()));
        }
        CHUNK - self.chunk.len()
    }

    fn push(&mut self, entry: (Key, V)) {
        self.room();
        if self.chunk.len() == 0 {
            self.firsts.push(entry.0);
        }
        self.chunk.push(entry);
    }

    /// Appends the entries of `keys`, in order, with as many values taken from `values`.
    fn push_run(&mut self, mut keys: &[Key], values: &mut std::vec::IntoIter<V>) {
        while let Some(&first) = keys.first() {
            let take = self.room().min(keys.len());
            if self.chunk.len() == 0 {
                self.firsts.push(first);
            }
            let (run, rest) = keys.split_at(take);
            self.chunk.keys.extend_from_slice(run);
            self.chunk.values.extend(values.by_ref().take(take));
            keys = rest;
        }
    }
}

/// Where `key` would be among `len` sorted keys from `first` to `last` (the range's ends), were
/// they spread evenly between the two (digests are uniform); `None` when `key` is outside them
/// or they are one.
fn interpolate(len: usize, key: &Key, (first, last): (&Key, &Key)) -> Option<usize> {
    let (from, to, at) = (first.0[0], last.0[0], key.0[0]);
    if at < from || at > to || from == to || len == 0 {
        return None;
    }
    let span = (len - 1) as u128;
    Some((u128::from(at - from) * span / u128::from(to - from)) as usize)
}

/// Asks the CPU to fetch the cache line `value` is in (`prefetcht0`, through `safe_arch`'s
/// safe wrapper). A hint: it reads and changes nothing.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch<T>(value: &T) {
    safe_arch::prefetch_t0(value);
}

/// Elsewhere, no hint.
#[cfg(not(target_arch = "x86_64"))]
fn prefetch<T>(_: &T) {}

/// The place of `key` in `entries`, sorted: `Ok` where it is, `Err` where it would go.
/// Interpolation on the first half narrows the range while it is wide (digests are uniform,
/// so a step or two leaves a handful of entries); each step keeps `key` within the range if it
/// is there at all, and the binary search over what is left decides exactly.
fn search(keys: &[Key], key: &Key, ends: Option<(&Key, &Key)>) -> Result<usize, usize> {
    let (mut low, mut high) = (0, keys.len());
    // The whole range's ends, when the caller knows them (a chunk's first and last keys, kept
    // apart: two cache misses fewer a search), else read.
    let mut known = ends;
    for _ in 0..4 {
        if high - low <= 16 {
            break;
        }
        let ends = match known.take() {
            Some(ends) => ends,
            None => {
                let (Some(first), Some(last)) = (keys.get(low), keys.get(high - 1)) else { break };
                (first, last)
            }
        };
        let Some(guess) = interpolate(high - low, key, ends).map(|at| low + at) else { break };
        // A window around the guess; where the key falls outside it, the range is cut to the
        // side it falls on. (Whatever the ends and the guess, each cut is decided by the keys
        // read at the window's ends: the result is exact either way.)
        let window_low = guess.saturating_sub(8).max(low);
        let window_high = (guess + 9).min(high);
        match (keys.get(window_low), keys.get(window_high - 1)) {
            (Some(a), _) if key < a => high = window_low,
            (_, Some(b)) if key > b => low = window_high,
            _ => {
                low = window_low;
                high = window_high;
                break;
            }
        }
    }
    // Every step above keeps low <= high <= keys.len() (a window lies within [low, high), and
    // the range is cut to one of its ends), so the slice is always there: the fallback is
    // never taken.
    let within = keys.get(low..high).unwrap_or(&[]);
    within.binary_search(key).map(|i| low + i).map_err(|i| low + i)
}

/// A digest's value, to change, or the place to put one ([`DigestMap::slot`]).
pub enum Slot<'a, V> {
    /// The digest has this value.
    Held(&'a mut V),
    /// The digest has no value.
    Vacant(Vacant<'a, V>),
}

/// Where the value of a digest that has none goes ([`Slot::Vacant`]): its shard's small map.
pub struct Vacant<'a, V>(VacantEntry<'a, Key, V>);

impl<V> Vacant<'_, V> {
    /// Gives the digest `value`, without searching again for where it goes.
    pub fn put(self, value: V) {
        self.0.insert(value);
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

    /// The value of `digest` to change, or the place to put one when it has none: for a
    /// caller that decides by the value held, then sets one, with one search rather than two.
    pub fn slot(&mut self, digest: &[u64; 2]) -> Slot<'_, V> {
        self.shard_mut(digest).slot(Key(*digest))
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

    /// Asks the CPU to bring into its cache where `digest`'s search will look: a hint, which
    /// changes nothing the map holds or answers. For a caller that knows the digests it will
    /// look up next (the dry-run's sequencer, a batch of items at a time): the searches are
    /// cache misses on tables far larger than the cache, one after another; fetched while
    /// other work runs, they are waited for a shorter time, or not at all.
    pub fn prefetch(&self, digest: &[u64; 2]) {
        self.shards.get(Self::place(digest)).unwrap_or(&self.spare).prefetch(&Key(*digest));
    }

    fn shard_mut(&mut self, digest: &[u64; 2]) -> &mut Shard<V> {
        self.shards.get_mut(Self::place(digest)).unwrap_or(&mut self.spare)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::digest;

    /// A map of the digests of `0..count`, each to its number.
    fn numbered(count: u32) -> DigestMap<u32> {
        let mut map = DigestMap::default();
        for n in 0..count {
            map.insert(digest(&[&n.to_string()]), n);
        }
        map
    }

    /// The map agrees with a `HashMap` of the same digests (the reference) after every insert:
    /// lookups, replaced values and the count, over enough keys to merge every shard many
    /// times (the small maps and the sorted vectors both answer).
    #[test]
    fn agrees_with_a_hash_map() {
        let mut map = DigestMap::default();
        let mut reference = HashMap::new();
        for n in 0..200_000u32 {
            let key = digest(&[&(n % 120_000).to_string()]);
            assert_eq!(map.insert(key, n), reference.insert(key, n));
            if n % 997 == 0 {
                for probe in n.saturating_sub(50)..n + 50 {
                    let key = digest(&[&probe.to_string()]);
                    assert_eq!(map.get(&key), reference.get(&key), "after {n} inserts, key {probe}");
                }
            }
        }
        assert_eq!(map.len(), reference.len());
        for n in 0..130_000u32 {
            let key = digest(&[&n.to_string()]);
            assert_eq!(map.get(&key), reference.get(&key));
        }
        for n in (0..130_000u32).step_by(7) {
            let key = digest(&[&n.to_string()]);
            if let Some(value) = map.get_mut(&key) {
                *value = u32::MAX - n;
            }
            if let Some(value) = reference.get_mut(&key) {
                *value = u32::MAX - n;
            }
        }
        for n in 0..130_000u32 {
            let key = digest(&[&n.to_string()]);
            assert_eq!(map.get(&key), reference.get(&key));
        }
        assert!(map.shards.iter().all(|shard| shard.sorted_len() > 5_000), "120,000 digests reach every shard");
        for shard in &map.shards {
            let keys: Vec<Key> = shard.chunks.iter().flat_map(|chunk| chunk.keys.iter().copied()).collect();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
            let firsts: Vec<Key> = shard.chunks.iter().filter_map(|c| c.keys.first()).copied().collect();
            assert_eq!(firsts, shard.firsts);
            let lasts: Vec<Key> = shard.chunks.iter().filter_map(|c| c.keys.last()).copied().collect();
            assert_eq!(lasts, shard.lasts);
        }
        assert!(map.spare.len() == 0);
    }

    /// A search finds what a binary search finds, whether it is told the range's ends, told
    /// wrong ends (they only guide it), or reads them; and prefetching changes nothing.
    #[test]
    fn a_search_is_exact_whatever_ends_it_is_told() {
        let mut keys: Vec<Key> = (0..5_000u32).map(|n| Key(digest(&[&n.to_string()]))).collect();
        keys.sort_unstable();
        keys.dedup();
        let (first, last) = (keys[0], keys[keys.len() - 1]);
        let wrong = (keys[100], keys[200]);
        for n in 0..10_000u32 {
            let key = Key(digest(&[&n.to_string()]));
            let want = keys.binary_search(&key);
            assert_eq!(search(&keys, &key, None), want, "{n}");
            assert_eq!(search(&keys, &key, Some((&first, &last))), want, "{n}");
            assert_eq!(search(&keys, &key, Some((&wrong.0, &wrong.1))), want, "{n}");
            assert_eq!(search(&keys, &key, Some((&wrong.1, &wrong.0))), want, "{n}");
        }
        let mut map = DigestMap::default();
        for n in 0..50_000u32 {
            map.prefetch(&digest(&[&n.to_string()]));
            map.insert(digest(&[&(n / 2).to_string()]), n);
        }
        for n in 0..25_000u32 {
            assert_eq!(map.get(&digest(&[&n.to_string()])), Some(&(2 * n + 1)));
        }
    }

    /// A slot is the digest's value, in the sorted chunks or in the small map, to change in
    /// place; or, for a digest with none, the place where one put is found by `get` at once
    /// and after a merge.
    #[test]
    fn a_slot_is_the_value_held_or_the_place_for_one() {
        let mut map = numbered(20_000);
        // The early keys are merged into chunks by now; the last few are in the small maps.
        for n in [0u32, 7, 19_999] {
            match map.slot(&digest(&[&n.to_string()])) {
                Slot::Held(value) => *value += 1_000_000,
                Slot::Vacant(_) => panic!("{n} is held"),
            }
            assert_eq!(map.get(&digest(&[&n.to_string()])), Some(&(n + 1_000_000)));
        }
        for n in 20_000..40_000u32 {
            match map.slot(&digest(&[&n.to_string()])) {
                Slot::Held(_) => panic!("{n} is not held yet"),
                Slot::Vacant(vacant) => vacant.put(n),
            }
            assert_eq!(map.get(&digest(&[&n.to_string()])), Some(&n));
        }
        assert_eq!(map.len(), 40_000);
        for n in 0..40_000u32 {
            let want = if [0, 7, 19_999].contains(&n) { n + 1_000_000 } else { n };
            assert_eq!(map.get(&digest(&[&n.to_string()])), Some(&want));
        }
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

    /// A shard's filter holds every key of the shard, and takes at most 2 bytes a key (beside
    /// the 40 to 48 an entry takes), past its first room.
    #[test]
    fn a_shard_s_filter_holds_its_keys_in_a_few_bytes_each() {
        let map = numbered(300_000);
        for shard in &map.shards {
            let keys = shard.chunks.iter().flat_map(|chunk| chunk.keys.iter()).chain(shard.recent.keys());
            assert!(keys.into_iter().all(|key| shard.filter.may_hold(&key.0)));
            assert!(shard.filter.bytes() <= 2 * shard.len().max(FIRST_FILTER_ROOM), "{} keys", shard.len());
        }
        let absent = (300_000..400_000u32).filter(|n| map.get(&digest(&[&n.to_string()])).is_none()).count();
        assert_eq!(absent, 100_000);
    }

    /// A merged shard's chunks are full but the last: no slack.
    #[test]
    fn a_merged_shard_has_no_slack() {
        let map = numbered(100_000);
        for shard in &map.shards {
            let (last, full) = shard.chunks.split_last().expect("a shard of about 6,000 entries has chunks");
            assert!(full.iter().all(|chunk| chunk.len() == CHUNK
                && chunk.keys.capacity() == CHUNK
                && chunk.values.len() == CHUNK
                && chunk.values.capacity() == CHUNK));
            assert!(last.len() > 0 && last.len() <= CHUNK && last.values.len() == last.len());
            assert!(shard.recent.len() <= SMALLEST_MERGE.max(shard.sorted_len() / 16));
        }
    }
}
