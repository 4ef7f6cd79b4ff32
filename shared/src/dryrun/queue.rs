//! The queues between the pipeline's stages: crossbeam-channel, waiting without yielding.
//!
//! crossbeam-channel's blocking `send` and `recv` try again a few times before they park, with
//! a backoff that ends in `std::thread::yield_now`. On a machine with more runnable threads
//! than cores (the dry-run alone runs seven on two), every yield hands the core to another
//! thread or process: on 100 MB the dry-run made 6,099 `sched_yield` calls and used 0.64 of
//! its two cores where the `Mutex<Receiver>` queues it replaced used 1.2; with `sched_yield`
//! made a no-op it used 1.4. [`recv`] and [`send`] try once, then wait through
//! [`crossbeam_channel::Select`], which parks at once: no yield.

use crossbeam_channel::{Receiver, Select, SendError, Sender, TryRecvError, TrySendError};

/// The next message, or `None` once every sender is gone.
pub(super) fn recv<T>(queue: &Receiver<T>) -> Option<T> {
    match queue.try_recv() {
        Ok(message) => Some(message),
        Err(TryRecvError::Disconnected) => None,
        Err(TryRecvError::Empty) => {
            let mut select = Select::new();
            select.recv(queue);
            select.select().recv(queue).ok()
        }
    }
}

/// Every message until every sender is gone.
pub(super) fn iter<T>(queue: &Receiver<T>) -> impl Iterator<Item = T> + '_ {
    std::iter::from_fn(move || recv(queue))
}

/// Sends `message`, waiting while the queue is full; an error once every receiver is gone.
pub(super) fn send<T>(queue: &Sender<T>, message: T) -> Result<(), SendError<T>> {
    match queue.try_send(message) {
        Ok(()) => Ok(()),
        Err(TrySendError::Disconnected(message)) => Err(SendError(message)),
        Err(TrySendError::Full(message)) => {
            let mut select = Select::new();
            select.send(queue);
            select.select().send(queue, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages arrive in order across a full queue and many waits, from several senders to
    /// several receivers, and the receivers end when the senders are gone.
    #[test]
    fn every_message_arrives_once() {
        let (to, from) = crossbeam_channel::bounded::<usize>(2);
        let received: Vec<usize> = std::thread::scope(|scope| {
            for part in 0..3 {
                let to = to.clone();
                scope.spawn(move || {
                    for n in 0..1000 {
                        send(&to, part * 1000 + n).unwrap();
                    }
                });
            }
            drop(to);
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let from = from.clone();
                    scope.spawn(move || iter(&from).collect::<Vec<_>>())
                })
                .collect();
            receivers.into_iter().flat_map(|r| r.join().unwrap()).collect()
        });
        let mut sorted = received.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..3000).collect::<Vec<_>>());
    }

    /// A send to a queue whose receivers are gone fails, whether or not the queue is full.
    #[test]
    fn a_send_without_receivers_fails() {
        let (to, from) = crossbeam_channel::bounded::<u8>(1);
        send(&to, 1).unwrap();
        drop(from);
        assert_eq!(send(&to, 2), Err(SendError(2)));
        let (to, from) = crossbeam_channel::bounded::<u8>(1);
        drop(to);
        assert_eq!(recv(&from), None);
    }
}
