//! What one stage is done with, sent back to the thread of the stage that allocated it, to be
//! freed there, a batch at a time: the resources a decoder built, once judged.
//!
//! Why: mimalloc frees a block of another thread's onto a list of that thread's, which the
//! owner walks the next time it allocates. Freed by the judges, the resources' blocks cost the
//! decoders that walk on every batch (`_mi_page_free_collect`, and the slow path of their
//! allocations), and the judges an atomic push each: mimalloc was 14.95% of the 1 GB
//! snapshot's cycles before, 11.87% after (`perf`, BENCHMARKS.md "Stop 27"). The judges'
//! evaluations, sent back from the report writer the same way, moved the cost to the judges
//! without lowering it (11.63%), so they are freed where they are written. What has no home
//! (built by no decoder: a set-aside item, one judged again), and what a decoder that has ended
//! would take, is freed where it is.

use crossbeam_channel::{unbounded, Receiver, Sender};

// Items go home in batches of the pipeline's size.
use super::pipeline::BATCH;

/// A worker's number among those of its stage, from 0. (Small: it travels with every item. A
/// worker past the 65,536th has none, and what it made is freed where it ends up.)
pub(super) type Worker = u16;

/// The homes of some workers: the senders, for the stage that sends back, and the receiver each
/// worker drains ([`Receiver::try_iter`]) before it makes more.
pub(super) type Homes<T> = (Vec<Sender<Vec<T>>>, Vec<Receiver<Vec<T>>>);

/// The [`Homes`] of `workers` workers.
pub(super) fn homes<T>(workers: usize) -> Homes<T> {
    (0..workers).map(|_| unbounded()).unzip()
}

/// One sender's batches on their way back, one per home.
pub(super) struct Homeward<T> {
    homes: Vec<Sender<Vec<T>>>,
    going: Vec<Vec<T>>,
}

impl<T> Homeward<T> {
    pub(super) fn new(homes: Vec<Sender<Vec<T>>>) -> Homeward<T> {
        let going = homes.iter().map(|_| Vec::new()).collect();
        Homeward { homes, going }
    }

    /// Sends `item` back to worker `by`, once a batch for it has filled; frees it here when
    /// there is no such worker.
    pub(super) fn send(&mut self, by: Worker, item: T) {
        let by = usize::from(by);
        let (Some(home), Some(going)) = (self.homes.get(by), self.going.get_mut(by)) else { return };
        going.push(item);
        if going.len() >= BATCH {
            // A worker that has ended takes nothing back: the batch is freed here instead.
            if let Err(unsent) = home.send(std::mem::take(going)) {
                drop(unsent);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each item goes back to the worker that made it, a batch at a time; one whose worker does
    /// not exist, or has ended, is freed where it is.
    #[test]
    fn items_go_back_to_the_worker_that_made_them() {
        let (senders, receivers) = homes::<String>(2);
        let mut homeward = Homeward::new(senders);
        for n in 0..BATCH {
            homeward.send(0, format!("a{n}"));
            homeward.send(7, "nobody's".to_owned());
        }
        let batch = receivers[0].try_recv().unwrap();
        assert_eq!(batch.len(), BATCH);
        assert_eq!(batch[0], "a0");
        assert!(receivers.iter().all(|r| r.try_recv().is_err()), "one batch, to the first worker");
        let [_, second] = <[_; 2]>::try_from(receivers).unwrap();
        drop(second);
        for n in 0..BATCH {
            homeward.send(1, format!("b{n}"));
        }
        assert!(homeward.going.iter().all(Vec::is_empty), "the batch for the ended worker was freed");
    }
}
