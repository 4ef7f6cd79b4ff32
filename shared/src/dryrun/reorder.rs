//! The reorder buffer: items numbered 0, 1, 2, … by the reader arrive from workers in any
//! order and leave in number order. The sequencer uses one over the decoders, the report
//! writer one over the judges; in both, items arrive at most the queue depth apart, so the
//! buffer stays small.
//!
//! The waiting items are a ring of slots, one per number from the next to hand on: a push and
//! a pop are each one step, with no search and no item moved but into and out of its slot. (A
//! `BTreeMap` before: a search and a node's items shifted on every push and pop, in the
//! sequencer for every entry of the run.)
//!
//! At the end of a run, [`Reorder::finish`] checks that every number up to the expected count
//! went through, once: an item a worker dropped would otherwise just be missing from the
//! report.

use std::collections::VecDeque;

/// Items by number, handed on in number order.
#[derive(Debug)]
pub(super) struct Reorder<T> {
    /// The number of the next item to hand on: how many have been.
    next: usize,
    /// Slot `k` holds item `next + k` once it has arrived.
    waiting: VecDeque<Option<T>>,
    /// How many were pushed, to catch a number pushed twice.
    pushed: usize,
}

/// What [`Reorder::finish`] found missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{handed_on} of {expected} handed on, {waiting} waiting, {pushed} received")]
pub(super) struct Gap {
    /// How many items should have gone through.
    pub(super) expected: usize,
    /// How many went through, in order.
    pub(super) handed_on: usize,
    /// How many arrived but wait for an item that never came.
    pub(super) waiting: usize,
    /// How many arrived in all.
    pub(super) pushed: usize,
}

impl<T> Reorder<T> {
    pub(super) fn new() -> Reorder<T> {
        Reorder { next: 0, waiting: VecDeque::new(), pushed: 0 }
    }

    /// Takes item `order`, to hand on once every item before it has been. An item whose number
    /// was handed on already, or that is here already, is counted and dropped (the later
    /// replacing the earlier): [`Reorder::finish`] then finds more pushed than expected.
    pub(super) fn push(&mut self, order: usize, item: T) {
        self.pushed += 1;
        let Some(slot) = order.checked_sub(self.next) else { return };
        if slot >= self.waiting.len() {
            self.waiting.resize_with(slot + 1, || None);
        }
        if let Some(waiting) = self.waiting.get_mut(slot) {
            *waiting = Some(item);
        }
    }

    /// The next item in number order, with its number, if it has arrived.
    pub(super) fn pop(&mut self) -> Option<(usize, T)> {
        let item = self.waiting.front_mut()?.take()?;
        self.waiting.pop_front();
        self.next += 1;
        Some((self.next - 1, item))
    }

    /// How many arrived and wait for an earlier item.
    fn waiting(&self) -> usize {
        self.waiting.iter().filter(|slot| slot.is_some()).count()
    }

    /// Checks that exactly items `0..expected` went through.
    pub(super) fn finish(self, expected: usize) -> Result<(), Gap> {
        let gap = Gap { expected, handed_on: self.next, waiting: self.waiting(), pushed: self.pushed };
        match (gap.handed_on, gap.waiting, gap.pushed) == (expected, 0, expected) {
            true => Ok(()),
            false => Err(gap),
        }
    }
}

/// The items of `source`, numbered, in number order (with their numbers): a [`Reorder`] as an
/// iterator.
pub(super) struct InOrder<I, T> {
    source: I,
    buffer: Reorder<T>,
}

impl<I: Iterator<Item = (usize, T)>, T> InOrder<I, T> {
    pub(super) fn new(source: I) -> InOrder<I, T> {
        InOrder { source, buffer: Reorder::new() }
    }

    /// The buffer, for [`Reorder::finish`] once `source` has ended.
    pub(super) fn into_buffer(self) -> Reorder<T> {
        self.buffer
    }
}

impl<I: Iterator<Item = (usize, T)>, T> Iterator for InOrder<I, T> {
    type Item = (usize, T);

    fn next(&mut self) -> Option<(usize, T)> {
        loop {
            if let Some(item) = self.buffer.pop() {
                return Some(item);
            }
            let (order, item) = self.source.next()?;
            self.buffer.push(order, item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_leave_in_number_order() {
        let arrivals = [(2, 'c'), (0, 'a'), (3, 'd'), (1, 'b'), (4, 'e')];
        let mut in_order = InOrder::new(arrivals.into_iter());
        let out: Vec<(usize, char)> = in_order.by_ref().collect();
        assert_eq!(out, [(0, 'a'), (1, 'b'), (2, 'c'), (3, 'd'), (4, 'e')]);
        assert_eq!(in_order.into_buffer().finish(5), Ok(()));
    }

    #[test]
    fn a_missing_or_repeated_number_is_a_gap() {
        let mut in_order = InOrder::new([(0, 'a'), (2, 'c')].into_iter());
        assert_eq!(in_order.by_ref().map(|(_, c)| c).collect::<String>(), "a");
        let gap = in_order.into_buffer().finish(3);
        assert_eq!(gap, Err(Gap { expected: 3, handed_on: 1, waiting: 1, pushed: 2 }));

        let mut in_order = InOrder::new([(0, 'a'), (1, 'b'), (1, 'b')].into_iter());
        assert_eq!(in_order.by_ref().map(|(_, c)| c).collect::<String>(), "ab");
        assert!(in_order.into_buffer().finish(2).is_err(), "item 1 came twice");

        // The last items lost: nothing waits, but fewer went through than were read.
        let mut reorder = Reorder::new();
        reorder.push(0, 'a');
        assert_eq!(reorder.pop(), Some((0, 'a')));
        assert!(reorder.finish(2).is_err());
    }
}
