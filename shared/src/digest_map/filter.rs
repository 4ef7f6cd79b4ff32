//! A shard's filter: which digests the shard may hold, answered from one cache line, so that a
//! digest it does not hold is known without searching its sorted chunks.
//!
//! Why: on a snapshot nearly every resource is new, and the version table's search for a digest
//! it does not hold read a few cache lines of a chunk far larger than the cache, on the
//! sequencer, the dry-run's one serial stage past the reader (`digest_map::search`, 3.5% of the
//! 1 GB snapshot's cycles and 4.5% of GAAD's, `perf`, issue 18). The filter is a blocked Bloom
//! filter: a digest's four bits lie in one 512-bit block, and a digest is random already, so its
//! bits are taken from it as they are. It says "maybe" for every digest added (never "no" for one
//! added: the map's answers stay exact) and for about one in a hundred others (one in 40 when
//! the filter is full, one in 370 when just built: a simulation of this layout).
//!
//! It holds at least [`BITS_PER_DIGEST`] bits a digest: a filter that fills is built again, twice
//! the size, from every digest of its shard ([`Filter::is_full`]): 1 to 2 bytes a digest, one to
//! two megabytes on the 1 GB workloads' tables. (At 16 bits, the 1 GB GAAD run peaked at 89 to
//! 92 MB rather than 85 to 86; the searches that fewer bits let through are a few in a hundred
//! of those the filter saves.)

/// Bits of filter a digest at the least, when the filter is full (between 8 and 16 as it fills).
const BITS_PER_DIGEST: usize = 8;

/// A block: 512 bits, one cache line.
type Block = [u64; 8];

/// The bits of a set of 128-bit digests ([`crate::version::digest`]).
#[derive(Debug)]
pub(super) struct Filter {
    blocks: Vec<Block>,
    /// How many digests were added.
    added: usize,
}

impl Filter {
    /// An empty filter with room for `digests` digests (at least a block's worth).
    pub(super) fn with_room(digests: usize) -> Filter {
        let blocks = (digests.saturating_mul(BITS_PER_DIGEST) / 512).max(1).next_power_of_two();
        Filter { blocks: vec![[0; 8]; blocks], added: 0 }
    }

    /// How many digests it has room for: [`BITS_PER_DIGEST`] bits each.
    fn room(&self) -> usize {
        self.blocks.len() * 512 / BITS_PER_DIGEST
    }

    /// Have as many digests been added as it has room for?
    pub(super) fn is_full(&self) -> bool {
        self.added >= self.room()
    }

    /// Adds `digest`: [`Filter::may_hold`] says yes for it from now on.
    pub(super) fn add(&mut self, digest: &[u64; 2]) {
        let (block, bits) = self.place(digest);
        // A block or word that is not there (never: see `place`) is not set, and
        // `may_hold` reads it as set: no digest added is ever said not to be.
        if let Some(block) = self.blocks.get_mut(block) {
            for (word, bit) in bits {
                if let Some(word) = block.get_mut(word) {
                    *word |= bit;
                }
            }
        }
        self.added += 1;
    }

    /// Was `digest` perhaps added? Always yes if it was; no for most that were not.
    pub(super) fn may_hold(&self, digest: &[u64; 2]) -> bool {
        let (block, bits) = self.place(digest);
        // A block that is not there (never: `place` takes the index modulo their number) holds
        // every digest: a "maybe", which only costs a search.
        let Some(block) = self.blocks.get(block) else { return true };
        bits.iter().all(|&(word, bit)| block.get(word).map_or(true, |w| w & bit != 0))
    }

    /// The block `digest`'s bits are in, to prefetch.
    pub(super) fn block(&self, digest: &[u64; 2]) -> Option<&Block> {
        self.blocks.get(self.place(digest).0)
    }

    /// The block of `digest`, and its four bits there (word and mask). The block is chosen by
    /// the second half's bits above its lowest byte (which chooses the shard: see
    /// `DigestMap::place`), the bits by nine bits each of the first half.
    fn place(&self, digest: &[u64; 2]) -> (usize, [(usize, u64); 4]) {
        // The number of blocks is a power of two.
        let block = ((digest[1] >> 8) as usize) & (self.blocks.len() - 1);
        let bit = |i: u32| {
            let at = ((digest[0] >> (9 * i)) & 511) as usize;
            (at / 64, 1u64 << (at % 64))
        };
        (block, [bit(0), bit(1), bit(2), bit(3)])
    }

    /// Bytes held, for tests of its size.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.blocks.len() * std::mem::size_of::<Block>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::digest;

    /// Every digest added is held, however full; of digests not added, a few in a hundred at
    /// most are said to be, up to the filter being full; it says when it is full.
    #[test]
    fn every_digest_added_is_held_and_few_others() {
        let mut filter = Filter::with_room(10_000);
        let room = filter.room();
        assert!((10_000..20_000 + 512 / BITS_PER_DIGEST).contains(&room), "{room}");
        let added: Vec<[u64; 2]> = (0..room).map(|n| digest(&["added", &n.to_string()])).collect();
        for (n, digest) in added.iter().enumerate() {
            assert!(!filter.is_full(), "{n}");
            filter.add(digest);
        }
        assert!(filter.is_full());
        assert!(added.iter().all(|digest| filter.may_hold(digest)));
        let others = 100_000;
        let wrong = (0..others).filter(|n| filter.may_hold(&digest(&["other", &n.to_string()]))).count();
        // Full, a blocked filter of 8 bits with 4 bits a digest says "maybe" for about 2.5% of
        // the digests not added (a simulation of this layout).
        assert!(wrong * 100 < 5 * others, "{wrong} of {others} digests not added said to be held");
        assert_eq!(filter.bytes(), filter.blocks.len() * 64);
    }

    /// An empty filter holds nothing, and a filter of room for none has a block all the same.
    #[test]
    fn an_empty_filter_holds_nothing() {
        let filter = Filter::with_room(0);
        assert_eq!(filter.blocks.len(), 1);
        assert!(!filter.may_hold(&digest(&["x"])));
        assert!(filter.block(&digest(&["x"])).is_some());
    }
}
