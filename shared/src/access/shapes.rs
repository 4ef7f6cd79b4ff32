//! The key-cell shapes of a pattern pool, remembered, so that the same pool met again (by
//! another rule, another principal holding the same policies, the policy item itself) is not
//! walked again.
//!
//! Why: where a document names a key (`arn:aws:kms:us-east-1:111122223333:key/<id>`), the
//! cells are not all alike, and [`super::identity_cells`] groups the regions and walks the
//! unnamed key ids symbolically. On the 10 MB GAAD workload that walk took 28% of the
//! dry-run's instructions (one call in fourteen, half a million instructions each), though
//! each pool recurs: three rules judge each identity, and every principal holding a policy
//! judges its pool again (BENCHMARKS.md, "Stop 24").
//!
//! Why it cannot change a verdict: a [`Shape`] is a pure function of the key, that is the
//! patterns (their text and the rules they were parsed with, which is all their automata are
//! built from, in pool order, which is what the match vectors index), the partition and the
//! account. It holds no statement: what each cell is allowed is computed afresh from the
//! caller's statements and counting rule. An entry is found by its whole key, compared in
//! full, never by a digest alone.
//!
//! Bounded: at most [`MOST`] entries; when a new one would pass that, all are dropped (a
//! shape is small, a few match vectors and region names: about 2 MB in all). 1,024 entries
//! keep the 1 GB GAAD workload as fast as 4,096 did, at 82 MB peak RSS against 88 MB
//! (`dry-run-compare.sh`, medians of 3).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::pattern::{CaseRule, Pattern, Variables};

/// The most pools remembered at once.
pub const MOST: usize = 1024;

/// What identifies a pool's shapes: each pattern as it was parsed, the partition, the account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    patterns: Vec<(Box<str>, CaseRule, Variables)>,
    partition: Box<str>,
    account: Option<Box<str>>,
}

impl PoolKey {
    /// The key of `patterns` (in pool order) over the keys of `account` in `partition`.
    pub fn new(patterns: &[&Pattern], partition: &str, account: Option<&str>) -> Self {
        PoolKey {
            patterns: patterns.iter().map(|p| (p.as_str().into(), p.case(), p.variables())).collect(),
            partition: partition.into(),
            account: account.map(Into::into),
        }
    }
}

/// One region class's shape: its regions, and which patterns match each of its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassShape {
    /// The listed regions of the class, sorted.
    pub regions: Vec<&'static str>,
    /// Whether the region no list names yet belongs to the class.
    pub unlisted: bool,
    /// Each named key the class reaches: its index among the pool's named ids, and the
    /// patterns that match it.
    pub named: Vec<(usize, Vec<bool>)>,
    /// Each kind of unnamed key: the patterns that match it, and an example id.
    pub unnamed: Vec<(Vec<bool>, String)>,
}

/// A pool's region classes, in the order [`super::identity_cells`] reports them.
pub type Shape = Arc<[ClassShape]>;

/// `walk()`, or the shape the same key had before.
pub fn remembered(key: PoolKey, walk: impl FnOnce() -> Vec<ClassShape>) -> Shape {
    remembered_in(&MEMO, key, walk)
}

/// The process's memo.
static MEMO: Mutex<Option<HashMap<PoolKey, Shape, foldhash::fast::RandomState>>> = Mutex::new(None);

/// [`remembered`], in a given memo (tests use their own).
fn remembered_in(
    memo: &Mutex<Option<HashMap<PoolKey, Shape, foldhash::fast::RandomState>>>,
    key: PoolKey,
    walk: impl FnOnce() -> Vec<ClassShape>,
) -> Shape {
    // A panic while the lock is held (in `get` or `insert`, which call nothing of ours) leaves
    // the map whole, so a poisoned lock is taken as it is.
    let lock = || memo.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = lock().get_or_insert_with(HashMap::default).get(&key) {
        return Arc::clone(found);
    }
    // The walk runs outside the lock: the other judge threads go on meanwhile.
    let shape: Shape = walk().into();
    let mut guard = lock();
    let map = guard.get_or_insert_with(HashMap::default);
    if map.len() >= MOST {
        map.clear();
    }
    map.insert(key, Arc::clone(&shape));
    shape
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

    use super::*;

    fn key(patterns: &[&str], account: Option<&str>) -> PoolKey {
        let patterns: Vec<Pattern> = patterns.iter().map(|p| Pattern::arn(p, Variables::Resolved)).collect();
        PoolKey::new(&patterns.iter().collect::<Vec<_>>(), "aws", account)
    }

    fn shape(tag: &str) -> Vec<ClassShape> {
        vec![ClassShape {
            regions: vec!["us-east-1"],
            unlisted: false,
            named: Vec::new(),
            unnamed: vec![(vec![true], tag.to_owned())],
        }]
    }

    #[test]
    fn a_key_met_again_is_not_walked_again_and_keys_are_compared_in_full() {
        let memo = Mutex::new(None);
        let first = remembered_in(&memo, key(&["*", "arn:aws:kms:us-east-1:1:key/a"], Some("1")), || shape("a"));
        let again =
            remembered_in(&memo, key(&["*", "arn:aws:kms:us-east-1:1:key/a"], Some("1")), || panic!("walked again"));
        assert_eq!(first, again);
        // Any part of the key that differs is another pool: the order of the patterns, the
        // account, the rules a pattern was parsed with.
        let reordered = remembered_in(&memo, key(&["arn:aws:kms:us-east-1:1:key/a", "*"], Some("1")), || shape("b"));
        assert_eq!(reordered[0].unnamed[0].1, "b");
        let other_account = remembered_in(&memo, key(&["*", "arn:aws:kms:us-east-1:1:key/a"], None), || shape("c"));
        assert_eq!(other_account[0].unnamed[0].1, "c");
        let literal = Pattern::arn("*", Variables::Literal);
        let named = Pattern::arn("arn:aws:kms:us-east-1:1:key/a", Variables::Resolved);
        let other_rules = PoolKey::new(&[&literal, &named], "aws", Some("1"));
        assert_eq!(remembered_in(&memo, other_rules, || shape("d"))[0].unnamed[0].1, "d");
    }

    #[test]
    fn the_memo_stays_within_its_bound() {
        let memo = Mutex::new(None);
        for n in 0..MOST + 10 {
            let pattern = format!("arn:aws:kms:us-east-1:1:key/{n}");
            remembered_in(&memo, key(&[&pattern], Some("1")), || shape(&pattern));
        }
        let len = memo.lock().unwrap().as_ref().map(HashMap::len).unwrap();
        assert!(len <= MOST, "{len} entries");
        assert_eq!(len, 10, "cleared once full, then the last ten kept");
    }
}
