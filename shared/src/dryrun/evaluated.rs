//! [`Evaluated`]: a batch of entries' evaluations on their way from the judges to the report
//! writer, every evaluation of the batch in one list; and [`EntryEvaluations`], one entry's
//! part of it, as the writer's reorder buffer hands entries on.
//!
//! Why one list a batch: with a list for each entry, each judged entry cost a judge an
//! allocation and the report writer a free of another thread's block, the judge later
//! collecting it back (mimalloc): the judges' allocation of those lists was about 1% of the
//! samples on a 500 MB snapshot, the writer's frees of them 0.5% (`perf` with call graphs,
//! BENCHMARKS.md "Stop 40").
//! One list a batch is one allocation and one free for [`BATCH`] entries.
//!
//! [`BATCH`]: super::pipeline::BATCH

use std::ops::{Deref, Range};
use std::sync::Arc;

use crate::evaluation::Evaluation;

/// The evaluations of a batch of entries: each entry's number, with how many of `evaluations`
/// are its, in the order its evaluations stand there.
#[derive(Debug, Default)]
pub(super) struct Evaluated {
    entries: Vec<(usize, usize)>,
    evaluations: Vec<Evaluation>,
}

impl Evaluated {
    /// Room for `entries` entries and `evaluations` evaluations.
    pub(super) fn with_capacity(entries: usize, evaluations: usize) -> Evaluated {
        Evaluated { entries: Vec::with_capacity(entries), evaluations: Vec::with_capacity(evaluations) }
    }

    /// Adds entry `order` with the evaluations `evaluate` pushes onto the batch's list (none
    /// for an entry not judged). An error leaves the batch as it was.
    pub(super) fn add<E>(
        &mut self,
        order: usize,
        evaluate: impl FnOnce(&mut Vec<Evaluation>) -> Result<(), E>,
    ) -> Result<(), E> {
        let before = self.evaluations.len();
        let done = evaluate(&mut self.evaluations);
        match done {
            Ok(()) => self.entries.push((order, self.evaluations.len() - before)),
            Err(_) => self.evaluations.truncate(before),
        }
        done
    }

    /// Adds entry `order`, which has no evaluation.
    pub(super) fn add_none(&mut self, order: usize) {
        self.entries.push((order, 0));
    }

    /// How many entries the batch holds.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// How many evaluations the batch holds.
    pub(super) fn evaluations(&self) -> usize {
        self.evaluations.len()
    }

    /// Each entry with its evaluations, in the batch's order. On the writer's thread: the
    /// entries share the list through an `Arc` whose count only that thread changes, and the
    /// list is freed once the last of them is written.
    pub(super) fn into_entries(self) -> impl Iterator<Item = (usize, EntryEvaluations)> {
        let Evaluated { entries, evaluations } = self;
        let all = Arc::new(evaluations);
        let mut start = 0;
        entries.into_iter().map(move |(order, count)| {
            let range = start..start + count;
            start = range.end;
            (order, EntryEvaluations { all: Arc::clone(&all), range })
        })
    }
}

/// One entry's evaluations, in the list of its batch.
#[derive(Debug)]
pub(super) struct EntryEvaluations {
    all: Arc<Vec<Evaluation>>,
    range: Range<usize>,
}

impl Deref for EntryEvaluations {
    type Target = [Evaluation];

    /// `get` never misses: `into_entries` gives each entry the range after the previous
    /// entry's, as long as its count, and the counts are those `add` recorded of what it pushed
    /// onto this very list (an `add` that failed recorded nothing and took its evaluations
    /// off), so the ranges tile the list exactly.
    fn deref(&self) -> &[Evaluation] {
        self.all.get(self.range.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::Verdict;

    fn evaluation(id: &str) -> Evaluation {
        Evaluation::by_id("rule", "AWS::KMS::Key", id, Verdict::compliant())
    }

    fn ids(evaluations: &[Evaluation]) -> Vec<String> {
        evaluations.iter().map(|e| e.resource_id().to_owned()).collect()
    }

    /// Each entry gets back exactly the evaluations added with it, in order, whatever entries
    /// without evaluations stand between; an entry whose evaluation failed adds nothing.
    #[test]
    fn each_entry_reads_back_its_own_evaluations() {
        let mut batch = Evaluated::with_capacity(4, 1);
        let push = |ids: &'static [&'static str]| {
            move |list: &mut Vec<Evaluation>| {
                list.extend(ids.iter().map(|id| evaluation(id)));
                Ok::<_, &str>(())
            }
        };
        batch.add(7, push(&["a", "b"])).unwrap();
        batch.add_none(3);
        assert_eq!(
            batch.add(9, |list| {
                list.push(evaluation("lost"));
                Err("a rule panicked")
            }),
            Err("a rule panicked")
        );
        batch.add(5, push(&["c"])).unwrap();
        batch.add(6, push(&[])).unwrap();
        assert_eq!((batch.len(), batch.evaluations()), (4, 3));
        let entries: Vec<(usize, Vec<String>)> =
            batch.into_entries().map(|(order, evaluations)| (order, ids(&evaluations))).collect();
        let want = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<String>>();
        assert_eq!(entries, [(7, want(&["a", "b"])), (3, want(&[])), (5, want(&["c"])), (6, want(&[]))]);
    }
}
