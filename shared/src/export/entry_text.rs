//! An entry's JSON text, where the reader's split leaves it: in the block of input it was read
//! into, shared with the other entries cut from that block, rather than copied out.
//!
//! Why: the reader is the dry-run's one serial stage, and copying every entry out of its block
//! into an allocation of its own was a second pass over every byte of the input (the first is
//! the kernel's, into the block), an allocation on the reader's thread, and a free on a
//! decoder's (callgrind, 100 MB snapshot: `memcpy` from `stream_raw`, 40 M of 1.715 G
//! instructions; issue 18). A block stays alive while an entry cut from it does; the split
//! reuses a block once no entry holds it ([`super::split`]).
//!
//! The bytes of a cut entry were checked as UTF-8 when it was cut (an error there stops the
//! file, placed in it), and a block is never written while an entry holds it (it is shared
//! behind an `Arc`, and written only through `Arc::get_mut` and `Arc::make_mut`, which never
//! hand out a block another holds). So reading them as text again cannot
//! fail; it is checked all the same (`simdutf8`, 32 bytes at a time where the CPU can, a
//! fraction of the copy it replaces), since `unsafe` is forbidden here. Were it ever to fail,
//! the text would be [`NOT_TEXT`], which is not JSON: the entry would be an error of its own,
//! named by its place, never an empty or a silent one.

use std::sync::Arc;

/// What a cut entry reads as if its bytes were not UTF-8 (unreachable, see the module docs):
/// not JSON, so that the entry fails as one that is not.
pub(super) const NOT_TEXT: &str = "\u{fffd}";

/// An entry's JSON text.
#[derive(Clone)]
pub(super) enum EntryText {
    /// Text of its own: an entry written back or rebuilt (a document's one item, an entry read
    /// back from disk), or made in a test.
    Own(Box<str>),
    /// Bytes `start..end` of a block the reader read, checked as UTF-8 when cut.
    Cut { block: Arc<Vec<u8>>, start: usize, end: usize },
}

impl EntryText {
    /// The text.
    pub(super) fn as_str(&self) -> &str {
        match self {
            EntryText::Own(text) => text,
            EntryText::Cut { block, start, end } => {
                block.get(*start..*end).and_then(|bytes| simdutf8::basic::from_utf8(bytes).ok()).unwrap_or(NOT_TEXT)
            }
        }
    }

    /// The text's length in bytes, without reading it.
    pub(super) fn len(&self) -> usize {
        match self {
            EntryText::Own(text) => text.len(),
            EntryText::Cut { start, end, .. } => end - start,
        }
    }
}

impl From<String> for EntryText {
    fn from(text: String) -> EntryText {
        EntryText::Own(text.into_boxed_str())
    }
}

impl From<&str> for EntryText {
    fn from(text: &str) -> EntryText {
        EntryText::Own(text.into())
    }
}

impl std::fmt::Debug for EntryText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cut text reads as its bytes, and its length is theirs; bytes that are not UTF-8 (which
    /// the split never cuts) read as text that is not JSON, never as an empty text.
    #[test]
    fn a_cut_text_reads_as_its_bytes() {
        let block = Arc::new(b"[{\"a\":\"\xc3\xa9\"},{}]".to_vec());
        let cut = EntryText::Cut { block: Arc::clone(&block), start: 1, end: 11 };
        assert_eq!(cut.as_str(), "{\"a\":\"é\"}");
        assert_eq!(cut.len(), 10);
        let broken = EntryText::Cut { block: Arc::new(b"{\"a\":\"\xc3\"}".to_vec()), start: 0, end: 9 };
        assert_eq!(broken.as_str(), NOT_TEXT);
        assert!(serde_json::from_str::<serde_json::Value>(broken.as_str()).is_err());
        let outside = EntryText::Cut { block, start: 5, end: 50 };
        assert_eq!(outside.as_str(), NOT_TEXT);
        assert_eq!(EntryText::from("{}").as_str(), "{}");
    }
}
