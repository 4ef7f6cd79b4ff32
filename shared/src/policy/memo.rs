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
//! A document whose model keeps statements is kept from its second meeting on: met for the
//! first time, it leaves only its digest (in a set of at most [`SEEN`]). Why: such a model can
//! be many times its text (each pattern of a statement naming a key builds an automaton, a
//! kilobyte or more, once it is used), and many of those texts are never met again (a key
//! policy or a customer managed policy naming its own key). Kept at first sight, the models of
//! such policies in a 1 GB GAAD export took the dry-run's peak RSS from 84 MB to 121 MB (issue
//! 18). A document that keeps no statement (most identity policies: none of theirs names a KMS
//! action), or an error, is kept at first sight: its memory is its text, which the budget
//! counts. A digest that two texts share only lets the second be kept at first sight.
//!
//! One memo for the process, behind a lock held only to look up and to insert (the parse runs
//! outside it): the dry-run's decoders share what each of them parsed.
//!
//! A document found by [`knows_well_formed`] (a parse asking whether it may leave the text
//! unread) is handed over to the [`remembered`] that reads the same text next, within
//! [`handing_over`]: found once, not looked up twice. Why: on the 1 GB GAAD workload the two
//! lookups of each such document (hashing its text and comparing it byte for byte, under the
//! lock) were about 5% of the run's samples (`perf`); without the second, the run took 7.23 s
//! of CPU rather than 8.45 s, and 8.19 s rather than 8.54 s, in two sets of alternating rounds
//! (issue 18, BENCHMARKS.md "Stop 34").

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};

use super::{DocumentError, Policy, PolicyKind};

/// The most text the memo keeps, in bytes (its documents' checked models come on top: those
/// keep only the statements that name KMS actions, a small part of most documents).
pub const BUDGET: usize = 6 << 20;

/// Texts shorter than this are not kept.
pub const SHORTEST: usize = 64;

/// The most digests of texts met once that the memo keeps; past it, it forgets them all.
pub const SEEN: usize = 1 << 16;

type Document = Result<Policy, DocumentError>;

/// `parse(text)`, or the document the same text and kind parsed to before.
pub fn remembered(text: &str, kind: PolicyKind, parse: impl FnOnce() -> Document) -> Document {
    remembered_in(&MEMO, text, kind, parse)
}

/// As [`remembered`], for a document given as a JSON string written out ([`Form::Escaped`]):
/// `written` is the text between its quotes, escapes and all, and `parse` reads its value.
pub fn remembered_escaped(written: &str, kind: PolicyKind, parse: impl FnOnce() -> Document) -> Document {
    remembered_in(&MEMO, written, Shelf { kind, form: Form::Escaped }, parse)
}

/// How a text the memo keeps stands for its document. Each form is a shelf of its own for
/// each kind: the same bytes read in the two forms are two different documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The document's own text, read as [`super::parse_policy_text`] reads it (JSON, a JSON
    /// string, or URL-encoded).
    Text,
    /// A JSON string as written between its quotes, escapes and all: the document is the
    /// string's value, read as a [`Form::Text`]. Why: a key policy in a configuration item is
    /// such a string, dense with escapes (`\"`, `\n`); remembered as written, a key policy met
    /// again is found without unescaping it first ([`crate::json_tree::Keeping::strings`]).
    /// Unescaping is a function of the written text alone, so a document found by it is the
    /// one its value reads as.
    Escaped,
}

/// Where the memo keeps a document: its kind and the form of its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shelf {
    kind: PolicyKind,
    form: Form,
}

impl From<PolicyKind> for Shelf {
    fn from(kind: PolicyKind) -> Shelf {
        Shelf { kind, form: Form::Text }
    }
}

/// Runs `f`, within which a document that [`knows_well_formed`] finds in `text` (a part of it,
/// such as a document of an entry whose text `text` is) is handed over to the next
/// [`remembered`] call for the very same text (the same bytes at the same address) and kind,
/// rather than looked up again. What was not taken is dropped when `f` returns (or
/// unwinds).
///
/// Why an address can stand for the text: `text` is borrowed for as long as `f` runs, as every
/// text asked about within it must be (a parse's input, read while the parse's tree is), so
/// the bytes at an address handed over cannot change or be freed before they are taken; and
/// nothing handed over outlives `f`, so an address reused afterwards finds nothing.
pub fn handing_over<T>(text: &str, f: impl FnOnce() -> T) -> T {
    /// Drops what was handed over and not taken, however `f` ends.
    struct Scope;
    impl Drop for Scope {
        fn drop(&mut self) {
            HANDED.with_borrow_mut(|handed| *handed = None);
        }
    }
    let range = text.as_ptr() as usize..text.as_ptr() as usize + text.len();
    HANDED.with_borrow_mut(|handed| *handed = Some((range, Vec::new())));
    let _scope = Scope;
    f()
}

/// A document [`knows_well_formed`] found, by where its text stands and its kind.
struct Handed {
    at: usize,
    len: usize,
    shelf: Shelf,
    document: Arc<Document>,
}

thread_local! {
    /// Within [`handing_over`]: the range of addresses of the text it was given, and the
    /// documents found there and not taken yet. `None` outside it.
    static HANDED: RefCell<Option<(std::ops::Range<usize>, Vec<Handed>)>> = const { RefCell::new(None) };
}

impl Handed {
    /// Keeps `document`, found for `text` of `kind`, for [`Handed::take`]; only within
    /// [`handing_over`], and only for a text within the one it was given.
    fn give(text: &str, shelf: Shelf, document: &Arc<Document>) {
        let at = text.as_ptr() as usize;
        HANDED.with_borrow_mut(|handed| {
            if let Some((range, handed)) = handed.as_mut() {
                if range.start <= at && at + text.len() <= range.end {
                    handed.push(Handed { at, len: text.len(), shelf, document: Arc::clone(document) });
                }
            }
        });
    }

    /// The document handed over for `text` (these bytes, at this address) of `kind`, if any.
    fn take(text: &str, shelf: Shelf) -> Option<Document> {
        let at = text.as_ptr() as usize;
        HANDED.with_borrow_mut(|handed| {
            let (_, handed) = handed.as_mut()?;
            let place = handed.iter().position(|h| h.at == at && h.len == text.len() && h.shelf == shelf)?;
            Some(Document::clone(&handed.swap_remove(place).document))
        })
    }
}

/// Whether `text` is remembered as a document of `kind` read from a well-formed JSON object:
/// the same bytes parsed before, so a parse may leave them unread
/// ([`crate::json_tree::Keeping`]) and hand the text to [`remembered`]. A text that is not
/// remembered is not known, nor one whose JSON did not parse (remembered as that error).
pub fn knows_well_formed(text: &str, kind: PolicyKind) -> bool {
    knows_well_formed_in(&MEMO, text, kind)
}

/// Whether the memo holds a document of `kind` given as the JSON string written as `written`
/// ([`Form::Escaped`]), read from JSON that parsed: a parse may then leave the string's escapes
/// as they are ([`crate::json_tree::Keeping::strings`]), and the document found is handed to
/// the [`remembered_escaped`] that reads the same text next, as for [`knows_well_formed`].
pub fn knows_escaped(written: &str, kind: PolicyKind) -> bool {
    knows_well_formed_in(&MEMO, written, Shelf { kind, form: Form::Escaped })
}

/// [`knows_well_formed`], in a given memo.
fn knows_well_formed_in(memo: &Mutex<Option<Memo>>, text: &str, shelf: impl Into<Shelf>) -> bool {
    let shelf = shelf.into();
    if text.len() < SHORTEST {
        return false;
    }
    let found = with(memo, |memo| {
        let entry =
            memo.map(shelf).get_mut(text).filter(|entry| !matches!(*entry.document, Err(DocumentError::Json(_))))?;
        // It is about to be read: met again, as `Memo::get` marks it.
        entry.hit = true;
        Some(Arc::clone(&entry.document))
    });
    found.inspect(|document| Handed::give(text, shelf, document)).is_some()
}

/// The process's memo.
static MEMO: Mutex<Option<Memo>> = Mutex::new(None);

/// [`remembered`], in a given memo (tests use their own).
fn remembered_in(
    memo: &Mutex<Option<Memo>>,
    text: &str,
    shelf: impl Into<Shelf>,
    parse: impl FnOnce() -> Document,
) -> Document {
    let shelf = shelf.into();
    if text.len() < SHORTEST {
        return parse();
    }
    if let Some(found) = Handed::take(text, shelf) {
        return found;
    }
    if let Some(found) = with(memo, |memo| memo.get(shelf, text)) {
        return Document::clone(&found);
    }
    let document = parse();
    let light = document.as_ref().map_or(true, |policy| policy.statements.is_empty());
    with(memo, |memo| {
        if light || memo.met_before(shelf, text) {
            memo.insert(shelf, text, Arc::new(document.clone()));
        }
    });
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
    /// One map per kind ([`PolicyKind`]'s order) of each form ([`Form::Text`], then
    /// [`Form::Escaped`]): the same text is checked differently as an identity policy, a key
    /// policy and a trust policy, and read differently in each form.
    kinds: [HashMap<Box<str>, Entry, foldhash::fast::RandomState>; 6],
    /// The bytes of text kept, over every kind.
    bytes: usize,
    /// The digests of the texts met once (with their kind), and how they are made.
    seen: HashSet<u64, foldhash::fast::RandomState>,
    digests: foldhash::fast::RandomState,
}

struct Entry {
    document: Arc<Document>,
    /// Met again since the last sweep.
    hit: bool,
}

impl Memo {
    fn map(&mut self, shelf: Shelf) -> &mut HashMap<Box<str>, Entry, foldhash::fast::RandomState> {
        let [identity, key_policy, trust, escaped_identity, escaped_key_policy, escaped_trust] = &mut self.kinds;
        match (shelf.form, shelf.kind) {
            (Form::Text, PolicyKind::Identity) => identity,
            (Form::Text, PolicyKind::KeyPolicy) => key_policy,
            (Form::Text, PolicyKind::Trust) => trust,
            (Form::Escaped, PolicyKind::Identity) => escaped_identity,
            (Form::Escaped, PolicyKind::KeyPolicy) => escaped_key_policy,
            (Form::Escaped, PolicyKind::Trust) => escaped_trust,
        }
    }

    fn get(&mut self, shelf: Shelf, text: &str) -> Option<Arc<Document>> {
        let entry = self.map(shelf).get_mut(text)?;
        entry.hit = true;
        Some(Arc::clone(&entry.document))
    }

    /// Whether `text` of `kind` was met before (its digest is then forgotten: it is about to
    /// be kept); if not, it is remembered as met.
    fn met_before(&mut self, shelf: Shelf, text: &str) -> bool {
        let digest = self.digests.hash_one((shelf.kind as u8, shelf.form as u8, text));
        if self.seen.remove(&digest) {
            return true;
        }
        if self.seen.len() >= SEEN {
            self.seen.clear();
        }
        self.seen.insert(digest);
        false
    }

    fn insert(&mut self, shelf: Shelf, text: &str, document: Arc<Document>) {
        if text.len() > BUDGET {
            return;
        }
        if self.bytes + text.len() > BUDGET {
            self.sweep();
        }
        if self.map(shelf).insert(text.into(), Entry { document, hit: false }).is_none() {
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

    /// A policy text of at least [`SHORTEST`] bytes, distinct for each `n`, whose model keeps
    /// its statement (it names a KMS action).
    fn text(n: usize) -> String {
        let sid = format!("S{n:0>600}");
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}]}}"#
        )
    }

    /// As [`text`], but an identity policy's model keeps no statement of it (no KMS action).
    fn light_text(n: usize) -> String {
        text(n).replace("kms:Decrypt", "s3:GetObject")
    }

    /// Parses `text` as an identity policy in `memo`, counting the parses that ran.
    fn parse_in(memo: &Mutex<Option<Memo>>, text: &str, kind: PolicyKind, parses: &Cell<usize>) -> Document {
        remembered_in(memo, text, kind, || {
            parses.set(parses.get() + 1);
            parse_policy_text(text, kind)
        })
    }

    /// Within `handing_over`, a document `knows_well_formed` found is read by the next
    /// `remembered` of the same bytes at the same address and kind, once, without the memo
    /// (here emptied in between); not for a copy of the text, another kind, or outside the
    /// scope, nor after it, even when it ends in a panic.
    #[test]
    fn a_document_found_is_handed_over_once_within_the_scope_only() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let document = light_text(7);
        let entry = format!(r#"{{"PolicyDocument":{document}}}"#);
        let inside = &entry[entry.find('{').unwrap() + 1..];
        let inside = &inside[inside.find('{').unwrap()..inside.len() - 1];
        assert_eq!(inside, document);
        let first = parse_in(&memo, inside, PolicyKind::Identity, &parses);
        let forget = || with(&memo, |memo| *memo = Memo::default());
        handing_over(&entry, || {
            assert!(knows_well_formed_in(&memo, inside, PolicyKind::Identity));
            forget();
            // A copy of the bytes elsewhere, and another kind, are not what was found.
            let copy = inside.to_owned();
            assert_eq!(parse_in(&memo, &copy, PolicyKind::Identity, &parses), first);
            assert_eq!(parses.get(), 2);
            assert!(parse_in(&memo, inside, PolicyKind::KeyPolicy, &parses).is_err());
            assert_eq!(parses.get(), 3);
            // The very text: handed over, not parsed; then gone.
            assert_eq!(parse_in(&memo, inside, PolicyKind::Identity, &parses), first);
            assert_eq!(parses.get(), 3);
            forget();
            assert_eq!(parse_in(&memo, inside, PolicyKind::Identity, &parses), first);
            assert_eq!(parses.get(), 4);
        });
        // Found within a scope and not taken: dropped at its end, even by a panic.
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            handing_over(&entry, || {
                assert!(knows_well_formed_in(&memo, inside, PolicyKind::Identity));
                panic!("the scope ends in a panic");
            })
        }));
        assert!(unwound.is_err());
        forget();
        assert_eq!(parse_in(&memo, inside, PolicyKind::Identity, &parses), first);
        assert_eq!(parses.get(), 5);
        // Outside a scope nothing is handed over.
        assert!(knows_well_formed_in(&memo, inside, PolicyKind::Identity));
        forget();
        assert_eq!(parse_in(&memo, inside, PolicyKind::Identity, &parses), first);
        assert_eq!(parses.get(), 6);
        // A text outside the scope's is not handed over within it.
        let elsewhere = document.clone();
        handing_over(&entry, || {
            assert!(knows_well_formed_in(&memo, &elsewhere, PolicyKind::Identity));
            forget();
            assert_eq!(parse_in(&memo, &elsewhere, PolicyKind::Identity, &parses), first);
            assert_eq!(parses.get(), 7);
        });
    }

    #[test]
    fn a_text_met_again_is_not_parsed_again_and_reads_the_same() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let first = parse_in(&memo, &light_text(1), PolicyKind::Identity, &parses);
        let again = parse_in(&memo, &light_text(1), PolicyKind::Identity, &parses);
        assert_eq!(parses.get(), 1);
        assert_eq!(first, again);
        assert!(first.as_ref().is_ok_and(|policy| policy.statements.is_empty()));
    }

    /// A text whose model keeps statements is parsed at its first two meetings, and read from
    /// the memo from the third on; met once, it leaves its digest and no model.
    #[test]
    fn a_text_whose_model_keeps_statements_is_kept_from_its_second_meeting() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let first = parse_in(&memo, &text(1), PolicyKind::Identity, &parses);
        assert!(first.as_ref().is_ok_and(|policy| !policy.statements.is_empty()));
        assert_eq!(parses.get(), 1);
        assert_eq!(with(&memo, |memo| (memo.bytes, memo.seen.len())), (0, 1));
        let second = parse_in(&memo, &text(1), PolicyKind::Identity, &parses);
        assert_eq!(parses.get(), 2);
        assert_eq!(with(&memo, |memo| (memo.bytes, memo.seen.len())), (text(1).len(), 0));
        for _ in 0..3 {
            assert_eq!(parse_in(&memo, &text(1), PolicyKind::Identity, &parses), first);
        }
        assert_eq!(parses.get(), 2);
        assert_eq!(first, second);
        // As a key policy it is an error (no `Principal`), kept at first sight.
        let key_policy = parse_in(&memo, &text(1), PolicyKind::KeyPolicy, &parses);
        assert!(key_policy.is_err());
        assert_eq!(parse_in(&memo, &text(1), PolicyKind::KeyPolicy, &parses), key_policy);
        assert_eq!(parses.get(), 3);
    }

    /// The digests of texts met once are at most [`SEEN`]: past it, they are forgotten.
    #[test]
    fn the_digests_of_texts_met_once_are_bounded() {
        let mut memo = Memo::default();
        for n in 0..SEEN + 10 {
            assert!(!memo.met_before(PolicyKind::Identity.into(), &n.to_string()));
            assert!(memo.seen.len() <= SEEN);
        }
        // The last ones are still there.
        assert!(memo.met_before(PolicyKind::Identity.into(), &(SEEN + 9).to_string()));
        assert!(!memo.met_before(PolicyKind::Trust.into(), &(SEEN + 8).to_string()));
    }

    /// A text is known to be well formed only when it is remembered, as that kind, from JSON
    /// that parsed: a document with an error of policy is; one whose JSON does not parse, one
    /// met once and not kept, one of another kind or a short one is not.
    #[test]
    fn a_text_is_known_well_formed_only_as_remembered_from_json_that_parsed() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let known = |text: &str, kind| knows_well_formed_in(&memo, text, kind);
        let light = light_text(5);
        assert!(!known(&light, PolicyKind::Identity));
        assert!(parse_in(&memo, &light, PolicyKind::Identity, &parses).is_ok());
        assert!(known(&light, PolicyKind::Identity));
        assert!(!known(&light, PolicyKind::Trust));
        // Well formed, but not a policy (an unknown element): known.
        let odd = light.replace("\"Version\"", "\"Versions\"");
        assert!(parse_in(&memo, &odd, PolicyKind::Identity, &parses).is_err());
        assert!(known(&odd, PolicyKind::Identity));
        // Not JSON: remembered, never known.
        let broken = format!("{light}x");
        assert!(matches!(parse_in(&memo, &broken, PolicyKind::Identity, &parses), Err(DocumentError::Json(_))));
        assert!(with(&memo, |memo| memo.map(PolicyKind::Identity.into()).contains_key(broken.as_str())));
        assert!(!known(&broken, PolicyKind::Identity));
        // Met once, with statements: not kept, so not known.
        assert!(parse_in(&memo, &text(6), PolicyKind::Identity, &parses).is_ok());
        assert!(!known(&text(6), PolicyKind::Identity));
        let short = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert!(parse_in(&memo, short, PolicyKind::Identity, &parses).is_ok());
        assert!(!known(short, PolicyKind::Identity));
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

    /// Twice the budget in texts met once (kept at first sight: their models keep no
    /// statement), with one text met again all along: the memo never holds more than its
    /// budget, and the text met again stays.
    #[test]
    fn the_memo_keeps_to_its_budget_and_keeps_what_is_met_again() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let hot = text(0);
        // Kept at its second meeting.
        assert!(parse_in(&memo, &hot, PolicyKind::Identity, &parses).is_ok());
        assert!(parse_in(&memo, &hot, PolicyKind::Identity, &parses).is_ok());
        let mut n = 1;
        let mut written = 0;
        while written < 2 * BUDGET {
            let cold = light_text(1_000_000 + n);
            written += cold.len();
            assert!(parse_in(&memo, &cold, PolicyKind::Identity, &parses).is_ok());
            assert!(parse_in(&memo, &hot, PolicyKind::Identity, &parses).is_ok());
            let held = with(&memo, |memo| memo.bytes);
            assert!(held <= BUDGET, "{held} bytes held");
            n += 1;
        }
        // Every cold text parsed once (`n - 1` of them), the hot one twice in all.
        assert_eq!(parses.get(), n + 1);
        let kept: usize = with(&memo, |memo| memo.kinds.iter().flat_map(|m| m.keys()).map(|t| t.len()).sum());
        assert_eq!(kept, with(&memo, |memo| memo.bytes), "the count of bytes held is the bytes held");
    }

    /// A text remembered as written ([`Form::Escaped`]) is a shelf of its own: the same bytes
    /// remembered as a document's text are not found by it, nor it by them; a written text
    /// the memo holds is known, and its document handed to the next reading of those bytes.
    #[test]
    fn texts_remembered_as_written_are_a_shelf_of_their_own() {
        let memo = Mutex::new(None);
        let parses = Cell::new(0);
        let escaped = Shelf { kind: PolicyKind::KeyPolicy, form: Form::Escaped };
        let document =
            text(7).replace(r#""Effect""#, r#""Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Effect""#);
        let written = serde_json::to_string(&document).expect("a string");
        let written = &written[1..written.len() - 1];
        let value = || {
            parses.set(parses.get() + 1);
            let value: String = serde_json::from_str(&format!("\"{written}\"")).expect("a string");
            parse_policy_text(&value, PolicyKind::KeyPolicy)
        };
        // Met until kept (a document that keeps statements is kept from its second meeting).
        let first = remembered_in(&memo, written, escaped, value);
        assert!(first.is_ok(), "{first:?}");
        assert_eq!(remembered_in(&memo, written, escaped, value), first);
        assert!(parses.get() <= 2);
        let parsed = parses.get();
        assert!(knows_well_formed_in(&memo, written, escaped));
        assert!(!knows_well_formed_in(&memo, written, PolicyKind::KeyPolicy));
        assert!(!knows_well_formed_in(&memo, written, Shelf { kind: PolicyKind::Trust, form: Form::Escaped }));
        assert_eq!(remembered_in(&memo, written, escaped, value), first);
        assert_eq!(parses.get(), parsed, "found, not parsed");
        // The same bytes as a document's own text are another document (here, not JSON).
        let as_text =
            remembered_in(&memo, written, PolicyKind::KeyPolicy, || parse_policy_text(written, PolicyKind::KeyPolicy));
        assert!(matches!(as_text, Err(DocumentError::Json(_))), "{as_text:?}");
        assert_eq!(remembered_in(&memo, written, escaped, value), first);
    }
}
