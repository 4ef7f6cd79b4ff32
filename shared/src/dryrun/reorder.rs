//! The reorder buffer: items numbered 0, 1, 2, … by the reader arrive from workers in any
//! order and leave in number order. The sequencer uses one over the decoders, the report
//! writer one over the judges; in both, items arrive at most the queue depth apart, so the
//! buffer stays small.

use std::collections::BTreeMap;

/// Items by number, handed on in number order.
#[derive(Debug)]
pub(super) struct Reorder<T> {
    /// The number of the next item to hand on: how many have been.
    next: usize,
    /// Arrived, waiting for an earlier one.
    waiting: BTreeMap<usize, T>,
}

impl<T> Reorder<T> {
    pub(super) fn new() -> Reorder<T> {
        Reorder { next: 0, waiting: BTreeMap::new() }
    }

    /// Item number `order` has arrived.
    pub(super) fn push(&mut self, order: usize, item: T) {
        self.waiting.insert(order, item);
    }

    /// The next item in number order, with its number, if it has arrived.
    pub(super) fn pop(&mut self) -> Option<(usize, T)> {
        let item = self.waiting.remove(&self.next)?;
        self.next += 1;
        Some((self.next - 1, item))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_leave_in_number_order() {
        let mut reorder = Reorder::new();
        let mut out = Vec::new();
        for (order, item) in [(2, 'c'), (0, 'a'), (3, 'd'), (1, 'b'), (4, 'e')] {
            reorder.push(order, item);
            out.extend(std::iter::from_fn(|| reorder.pop()));
        }
        assert_eq!(out, [(0, 'a'), (1, 'b'), (2, 'c'), (3, 'd'), (4, 'e')]);
    }
}
