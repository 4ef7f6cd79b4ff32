//! Checked documents remembered by their text, so that a document met again is not decoded and
//! parsed again.
//!
//! Why: an organization's export repeats its documents. Every account's authorization details
//! list the same AWS managed policies; StackSets and landing zones stamp the same roles and
//! customer managed policies into every account. In the dry-run, percent-decoding and parsing
//! a document and checking it into the model took 20 of the 59 instructions an input byte
//! (BENCHMARKS.md, "What the goal asks, in instructions").
//!
//! Why it cannot change a verdict: [`super::parse_policy_text`] is a pure function of the text
//! and the kind (it reads nothing else: no clock, no parameters), and an entry is found only by
//! its whole text, compared byte for byte, never by a digest alone. A text crafted to collide
//! with another's hash costs a comparison, never the other's verdict.
//!
//! Bounded: the texts kept total at most [`BUDGET`] bytes. When a new text would pass it,
//! the entries not met again since the last sweep are dropped (a document seen once, a key
//! policy naming its own key, goes first); when that leaves it more than three quarters full,
//! everything is dropped. Texts shorter than [`SHORTEST`] are parsed each time: the lookup
//! would cost about what it saves.
//!
//! One memo for the process, behind a lock held only to look up and to insert (the parse runs
//! outside it): the dry-run's decoders share what each of them parsed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{DocumentError, Policy, PolicyKind};

/// The most text the memo keeps, in bytes (its documents' checked models come on top: those
/// keep only the statements that name KMS actions, a small part of most documents).
pub const BUDGET: usize = 6 << 20;

/// Texts shorter than this are not kept.
pub const SHORTEST: usize = 64;

type Document = Result<Policy, DocumentError>;

/// `parse(text)`, or the document the same text and kind parsed to before.
pub fn remembered(text: &str, kind: PolicyKind, parse: impl FnOnce() -> Document) -> Document {
    remembered_in(&MEMO, text, kind, parse)
}

/// The process's memo.
static MEMO: Mutex<Option<Memo>> = Mutex::new(None);

/// [`remembered`], in a given memo (tests use their own).
fn remembered_in(
    memo: &Mutex<Option<Memo>>,
    text: &str,
    kind: PolicyKind,
    parse: impl FnOnce() -> Document,
) -> Document {
    if text.len() < SHORTEST {
        return parse();
    }
    if let Some(found) = with(memo, |memo| memo.get(kind, text)) {
        return Document::clone(&found);
    }
    let document = parse();
    let kept = Arc::new(document.clone());
    with(memo, |memo| memo.insert(kind, text, kept));
    document
}

/// Runs `f` on the memo. A panic while the lock was held (in `get` or `insert`, which neither
/// call back nor leave an entry half made) leaves the memo whole, so a poisoned lock is taken
/// as it is.
fn with<T>(memo: &Mutex<Option<Memo>>, f: impl FnOnce(&mut Memo) -> T) -> T {
    let mut guard = memo.lock().unwrap_or_else(PoisonError::into_inner);
    f(guard.get_or_insert_with(Memo::default))
}

#[derive(Default)]
struct Memo {
    /// One map per kind ([`PolicyKind`]'s order): the same text is checked differently as an
    /// identity policy, a key policy and a trust policy.
    kinds: [HashMap<Box<str>, Entry, foldhash::fast::RandomState>; 3],
    /// The bytes of text kept, over every kind.
    bytes: usize,
}

struct Entry {
    document: Arc<Document>,
    /// Met again since the last sweep.
    hit: bool,
}

impl Memo {
    fn map(&mut self, kind: PolicyKind) -> &mut HashMap<Box<str>, Entry, foldhash::fast::RandomState> {
        let [identity, key_policy, trust] = &mut self.kinds;
        match kind {
            PolicyKind::Identity => identity,
            PolicyKind::KeyPolicy => key_policy,
            PolicyKind::Trust => trust,
        }
    }

    fn get(&mut self, kind: PolicyKind, text: &str) -> Option<Arc<Document>> {
        let entry = self.map(kind).get_mut(text)?;
        entry.hit = true;
        Some(Arc::clone(&entry.document))
    }

    fn insert(&mut self, kind: PolicyKind, text: &str, document: Arc<Document>) {
        if text.len() > BUDGET {
            return;
        }
        if self.bytes + text.len() > BUDGET {
            self.sweep();
        }
        if self.map(kind).insert(text.into(), Entry { document, hit: false }).is_none() {
            self.bytes += text.len();
        }
    }

    /// Drops the entries not met since the last sweep; everything, if what is left would
    /// leave less than a quarter of the budget free.
    fn sweep(&mut self) {
        let mut bytes = 0;
        for map in &mut self.kinds {
            map.retain(|text, entry| {
                let keep = std::mem::take(&mut entry.hit);
                if keep {
                    bytes += text.len();
                }
                keep
            });
        }
        self.bytes = bytes;
        if self.bytes > BUDGET / 4 * 3 {
            self.kinds.iter_mut().for_each(HashMap::clear);
            self.bytes = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code

    use std::cell::Cell;

    use super::*;
    use crate::policy::{parse_policy_text, Problem};

    /// A policy text of at least [`SHORTEST`] bytes, distinct for each `n`.
    fn text(n: usize) -> String {
        let sid = format!("S{n:0>600}");
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}]}}"#
        )
    }

    /// Parses `text` as an identity policy in `memo`, counting the parses that ran.
    fn parse_in(memo: &Mutex<Option<Memo>>, text: &str, kind: PolicyKind, parses: &Cell<usize>) -> Document {
        remembered_in(memo, text, kind, || {
            parses.set(parses.get() + 1);
            parse_policy_text(text, kind)
        })
    }

    #[test]
    fn a_text_met_again_is_not_parsed_again_and_reads_the_same() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let first = parse_in(&memo, &text(1), PolicyKind::Identity, &parses);
        let again = parse_in(&memo, &text(1), PolicyKind::Identity, &parses);
        assert_eq!(parses.get(), 1);
        assert_eq!(first, again);
        assert!(first.is_ok());
    }

    #[test]
    fn the_same_text_as_another_kind_is_parsed_as_that_kind() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let identity = parse_in(&memo, &text(2), PolicyKind::Identity, &parses);
        let key_policy = parse_in(&memo, &text(2), PolicyKind::KeyPolicy, &parses);
        assert_eq!(parses.get(), 2);
        assert!(identity.is_ok());
        // A key policy needs a `Principal`: the identity policy's reading is not reused.
        match key_policy {
            Err(crate::policy::DocumentError::Invalid { problem: Problem::Neither(..), .. }) => {}
            other => panic!("read as a key policy: {other:?}"),
        }
    }

    #[test]
    fn errors_are_remembered_as_errors() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let broken = format!("{}x", text(3));
        let first = parse_in(&memo, &broken, PolicyKind::Identity, &parses);
        let again = parse_in(&memo, &broken, PolicyKind::Identity, &parses);
        assert!(first.is_err());
        assert_eq!(first, again);
        assert_eq!(parses.get(), 1);
    }

    #[test]
    fn short_texts_are_not_kept() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let short = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert!(short.len() < SHORTEST);
        assert!(parse_in(&memo, short, PolicyKind::Identity, &parses).is_ok());
        assert!(parse_in(&memo, short, PolicyKind::Identity, &parses).is_ok());
        assert_eq!(parses.get(), 2);
    }

    /// Twice the budget in texts met once, with one text met again all along: the memo never
    /// holds more than its budget, and the text met again stays.
    #[test]
    fn the_memo_keeps_to_its_budget_and_keeps_what_is_met_again() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let hot = text(0);
        assert!(parse_in(&memo, &hot, PolicyKind::Identity, &parses).is_ok());
        let mut n = 1;
        let mut written = 0;
        while written < 2 * BUDGET {
            let cold = text(1_000_000 + n);
            written += cold.len();
            assert!(parse_in(&memo, &cold, PolicyKind::Identity, &parses).is_ok());
            assert!(parse_in(&memo, &hot, PolicyKind::Identity, &parses).is_ok());
            let held = with(&memo, |memo| memo.bytes);
            assert!(held <= BUDGET, "{held} bytes held");
            n += 1;
        }
        // Every cold text parsed once, the hot one once in all.
        assert_eq!(parses.get(), n);
        let kept: usize = with(&memo, |memo| memo.kinds.iter().flat_map(|m| m.keys()).map(|t| t.len()).sum());
        assert_eq!(kept, with(&memo, |memo| memo.bytes), "the count of bytes held is the bytes held");
    }
}
