//! The dry-run's reader: splits an export into its list entries at the byte level, without
//! parsing them.
//!
//! Why not serde here: serde_json reading from an `io::Read` takes one byte at a time, and even
//! into a `RawValue` every byte goes through that path. On the reader thread, the one serial
//! stage of the dry-run, that cost more than all the parsing the decoders then do on every core
//! (callgrind, 10 MB export: 1.45 G of 3.79 G instructions). Here the input is read in large
//! blocks, and an entry's end is found by following only its strings and its bracket nesting,
//! 64 bytes at a time ([`crate::json_tree::structural`], `Input::scan_nested`). The decoders parse each
//! entry ([`RawEntry::decode`]).
//!
//! What is checked where:
//! - here, for the whole file: the structure down to the entries (the top-level object, its
//!   keys and values, the list brackets and commas), bracket nesting and strings inside
//!   entries, UTF-8, and that nothing follows the document. A failure stops the file with
//!   serde's wording and the line and column in the (inflated) file: `not valid JSON: EOF
//!   while parsing a list at line 1 column 24`.
//! - by the decoder, for one entry: everything else inside it (literals, numbers, escapes,
//!   commas and colons). A failure there is an error of that entry alone, named by its place
//!   (`configurationItems[12]`); the rest of the file is still read, because the brackets and
//!   strings around the entry were sound, so where the next entry starts is known.
//!
//! Every `self.buf.get(..).unwrap_or_default()` below slices within `buf[..end]` by
//! construction: the default stands in for indexing (which clippy denies here) and never turns
//! input into an empty value.

use std::io::Read;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::json_tree::string_end::{quote_or_backslash, through_escapes, Controls, Escapes};
use crate::json_tree::structural::{Block, WIDTH};

use super::{whole, EntryText, Outline, RawEntry, Slot, StreamError, SyntaxError};

/// How much is read at a time. The buffer grows past it only for an entry larger than it.
/// 256 KB rather than 1 MB since entries are cut out of the block rather than copied: the
/// block the kernel has just written and the split is scanning stays within the core's second
/// level cache (1 GB `.json`, ABBA, medians of 6 rounds, twice: 3.66 s to 3.51 s and 3.87 s to
/// 3.76 s of CPU; 128 KB was no better).
const BLOCK: usize = 1 << 18;

/// How many blocks read before the split keeps for reuse while entries cut from them are in
/// flight. Entries move in batches through queues a few batches deep (some hundreds of
/// entries, of a few kilobytes each: a megabyte or two), so a few blocks hold them all.
const RETIRED: usize = 24;

/// Splits the export that `reader` holds; see [`super::stream_raw`].
pub(super) fn split<R: Read>(reader: R, sink: &mut dyn FnMut(RawEntry)) -> Result<Outline, StreamError> {
    let mut input = Input::new(reader);
    input.skip_whitespace()?;
    match input.peek()? {
        Some(b'{') => input.pos += 1,
        Some(other) => {
            let what = format!("invalid type: {}, expected {}", json_type(other), super::TOP_LEVEL_EXPECTED);
            return Err(input.error_here(what));
        }
        None => return Err(input.eof("a value")),
    }
    let mut shape = None;
    let mut rest = Map::new();
    input.skip_whitespace()?;
    if input.peek()? == Some(b'}') {
        input.pos += 1;
    } else {
        loop {
            input.skip_whitespace()?;
            let key = input.key()?;
            input.skip_whitespace()?;
            input.expect(b':', "expected `:`", "an object")?;
            input.skip_whitespace()?;
            match Slot::of_list(&key) {
                Some((slot, found)) => {
                    input.list(slot, sink)?;
                    shape = Some(found);
                }
                None => {
                    let value = input.value()?;
                    rest.insert(key, value);
                }
            }
            input.skip_whitespace()?;
            match input.next_byte()? {
                Some(b',') => continue,
                Some(b'}') => break,
                Some(_) => return Err(input.error_before("expected `,` or `}`")),
                None => return Err(input.eof("an object")),
            }
        }
    }
    input.skip_whitespace()?;
    if input.peek()?.is_some() {
        return Err(input.error_here("trailing characters".into()));
    }
    // The document's one item (or what a batch-get did not return): one entry, written back
    // as JSON text; `stream` hands out the same value.
    let whole = whole::whole(shape, rest)?;
    for (slot, value) in whole.entries {
        let json = serde_json::to_string(&value).map_err(StreamError::Json)?;
        sink(RawEntry { slot, index: 0, raw: json.into(), offset: None });
    }
    Ok(Outline { shape: whole.shape, warnings: whole.warnings })
}

/// What a JSON value starting with `byte` is, in serde's words.
fn json_type(byte: u8) -> &'static str {
    match byte {
        b'[' => "sequence",
        b'"' => "string",
        b't' | b'f' => "boolean",
        b'n' => "null",
        b'-' | b'0'..=b'9' => "number",
        _ => "a character that starts no JSON value",
    }
}

fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// The input, read in blocks into one buffer: `buf[pos..end]` is read and not used yet. Lines
/// are counted only in what is dropped from the buffer, so that an error can say where it is.
struct Input<R> {
    reader: R,
    /// The block being read, shared with the entries cut from it ([`EntryText::Cut`]).
    buf: Arc<Vec<u8>>,
    /// Blocks read before, which entries cut from them may still hold: one that none holds
    /// any more is read into again rather than a new one allocated (see [`Input::own_block`]).
    retired: Vec<Arc<Vec<u8>>>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Bytes dropped from the front of the buffer so far.
    dropped: u64,
    /// Newlines in the dropped bytes.
    lines: u64,
    /// Where the line that the dropped bytes end in starts (an offset in the input).
    line_start: u64,
    /// The closing brackets an entry being scanned still needs, innermost last.
    open: Vec<u8>,
}

impl<R: Read> Input<R> {
    fn new(reader: R) -> Input<R> {
        Input {
            reader,
            buf: Arc::new(vec![0; BLOCK]),
            retired: Vec::new(),
            pos: 0,
            end: 0,
            eof: false,
            dropped: 0,
            lines: 0,
            line_start: 0,
            open: Vec::new(),
        }
    }

    /// Reads more, keeping `buf[pos..end]` (moved to the front). False at the end of input.
    fn fill(&mut self) -> Result<bool, StreamError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.drop_front(self.pos);
        }
        let grown = self.buf.len() + BLOCK.max(self.buf.len() / 2);
        self.own_block();
        let Input { reader, buf, end, eof, .. } = self;
        // The split's alone now (`own_block`): nothing is cloned.
        let buf = Arc::make_mut(buf);
        if buf.len() - *end < BLOCK / 4 {
            buf.resize(grown, 0);
        }
        loop {
            let space = buf.get_mut(*end..).unwrap_or_default();
            match reader.read(space) {
                Ok(0) => {
                    *eof = true;
                    return Ok(false);
                }
                Ok(read) => {
                    *end += read;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(StreamError::Read(e)),
            }
        }
    }

    /// Drops the first `count` bytes of the buffer, counting their lines.
    fn drop_front(&mut self, count: usize) {
        let dropped = self.buf.get(..count).unwrap_or_default();
        let newlines = count_newlines(dropped);
        if newlines > 0 {
            self.lines += newlines;
            if let Some(last) = memchr::memrchr(b'\n', dropped) {
                self.line_start = self.dropped + last as u64 + 1;
            }
        }
        self.dropped += count as u64;
        let end = self.end;
        match Arc::get_mut(&mut self.buf) {
            Some(buf) => buf.copy_within(count..end, 0),
            // Entries cut from this block hold it: what is kept moves to another.
            None => self.move_to_spare(count, end - count + BLOCK),
        }
        self.end -= count;
        self.pos -= count;
    }

    /// Makes the block the split's alone, to read into: if entries cut from it still hold it,
    /// its bytes move to a block none holds (which [`Input::drop_front`] does as it drops).
    fn own_block(&mut self) {
        if Arc::get_mut(&mut self.buf).is_none() {
            self.move_to_spare(0, self.buf.len());
        }
    }

    /// Moves `buf[from..end]` to the front of a block no entry holds ([`Input::spare`]), at
    /// least `least` bytes long, and retires the block it was in. `least` is never less than
    /// the bytes moved (both callers ask for them and more), and the spare is grown to it, so
    /// both slices below are whole: the defaults are never taken.
    fn move_to_spare(&mut self, from: usize, least: usize) {
        let mut fresh = self.spare();
        let kept = self.buf.get(from..self.end).unwrap_or_default();
        if fresh.len() < least.max(kept.len()) {
            fresh.resize(least.max(kept.len()), 0);
        }
        fresh.get_mut(..kept.len()).unwrap_or_default().copy_from_slice(kept);
        self.retired.push(std::mem::replace(&mut self.buf, Arc::new(fresh)));
    }

    /// A block no entry holds any more (the first retired one that is free), or a new one.
    /// At most [`RETIRED`] blocks are kept retired: past that, the oldest is left to the
    /// entries that hold it, and freed with the last of them.
    fn spare(&mut self) -> Vec<u8> {
        let free = self.retired.iter().position(|block| Arc::strong_count(block) == 1);
        if let Some(block) = free.map(|at| self.retired.swap_remove(at)) {
            // No entry holds it, and nothing else can start to: it is ours alone.
            if let Ok(block) = Arc::try_unwrap(block) {
                return block;
            }
        }
        if self.retired.len() >= RETIRED {
            self.retired.remove(0);
        }
        vec![0; BLOCK]
    }

    fn peek(&mut self) -> Result<Option<u8>, StreamError> {
        if self.pos >= self.end && !self.fill()? {
            return Ok(None);
        }
        Ok(self.buf.get(self.pos).copied())
    }

    fn next_byte(&mut self) -> Result<Option<u8>, StreamError> {
        let byte = self.peek()?;
        if byte.is_some() {
            self.pos += 1;
        }
        Ok(byte)
    }

    fn skip_whitespace(&mut self) -> Result<(), StreamError> {
        loop {
            let rest = self.buf.get(self.pos..self.end).unwrap_or_default();
            match rest.iter().position(|b| !is_whitespace(*b)) {
                Some(skip) => {
                    self.pos += skip;
                    return Ok(());
                }
                None => {
                    self.pos = self.end;
                    if !self.fill()? {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Takes `byte`, or fails with `what` (or EOF while parsing `inside`).
    fn expect(&mut self, byte: u8, what: &str, inside: &str) -> Result<(), StreamError> {
        match self.next_byte()? {
            Some(b) if b == byte => Ok(()),
            Some(_) => Err(self.error_before(what)),
            None => Err(self.eof(inside)),
        }
    }

    /// An object key: a string, unescaped by serde.
    fn key(&mut self) -> Result<String, StreamError> {
        match self.peek()? {
            Some(b'"') => {}
            Some(_) => return Err(self.error_here("key must be a string".into())),
            None => return Err(self.eof("an object")),
        }
        self.parse_scanned()
    }

    /// A top-level value that is not an item list: parsed, for the shape and a single item.
    fn value(&mut self) -> Result<Value, StreamError> {
        self.parse_scanned()
    }

    /// Scans the value at `pos` and parses it with serde, errors placed in the file.
    fn parse_scanned<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, StreamError> {
        let length = self.scan()?;
        let start = self.pos;
        let bytes = self.buf.get(start..start + length).unwrap_or_default();
        let parsed = serde_json::from_slice(bytes).map_err(|e| self.placed(start, &e));
        self.pos += length;
        parsed
    }

    /// An item list: each element handed to `sink` as its text, checked only for structure.
    fn list(&mut self, slot: Slot, sink: &mut dyn FnMut(RawEntry)) -> Result<(), StreamError> {
        let key = slot.key();
        match self.peek()? {
            Some(b'[') => self.pos += 1,
            Some(other) => {
                let what = format!("invalid type: {}, expected `{key}` to be an array", json_type(other));
                return Err(self.error_here(what));
            }
            None => return Err(self.eof("a value")),
        }
        self.skip_whitespace()?;
        if self.peek()? == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut index = 0usize;
        loop {
            self.skip_whitespace()?;
            if self.peek()?.is_none() {
                return Err(self.eof("a list"));
            }
            let length = self.scan()?;
            let start = self.pos;
            let bytes = self.buf.get(start..start + length).unwrap_or_default();
            // simdutf8 checks 32 bytes at a time where the CPU can, and answers as `std` does
            // (its `compat` error has `std`'s `valid_up_to`): `std`'s check, a word at a
            // time, was 2.3% of the dry-run's instructions (callgrind, 100 MB, stop 28).
            if let Err(e) = simdutf8::compat::from_utf8(bytes) {
                return Err(self.error_at(start + e.valid_up_to(), "invalid UTF-8".into()));
            }
            // Cut, not copied: the entry holds the block (see `EntryText`).
            let raw = EntryText::Cut { block: Arc::clone(&self.buf), start, end: start + length };
            sink(RawEntry { slot, index, raw, offset: Some(self.dropped + start as u64) });
            self.pos += length;
            index += 1;
            self.skip_whitespace()?;
            match self.next_byte()? {
                Some(b',') => continue,
                Some(b']') => return Ok(()),
                Some(_) => return Err(self.error_before("expected `,` or `]`")),
                None => return Err(self.eof("a list")),
            }
        }
    }

    /// The length of the JSON value that starts at `pos`, found by its strings and brackets
    /// only (reading more as needed; `pos` does not move, but the buffer may).
    fn scan(&mut self) -> Result<usize, StreamError> {
        let first = match self.peek()? {
            Some(byte) => byte,
            None => return Err(self.eof("a value")),
        };
        match first {
            b'{' | b'[' => self.scan_nested(),
            b'"' => self.scan_string(1).map(|end| end + 1),
            b',' | b':' | b']' | b'}' => Err(self.error_here("expected value".into())),
            _ => self.scan_scalar(),
        }
    }

    /// A literal or number: up to the next delimiter or the end of input.
    fn scan_scalar(&mut self) -> Result<usize, StreamError> {
        let mut length = 0;
        loop {
            let rest = self.buf.get(self.pos + length..self.end).unwrap_or_default();
            match rest.iter().position(|b| matches!(b, b',' | b']' | b'}' | b':') || is_whitespace(*b)) {
                Some(found) => return Ok(length + found),
                None => {
                    length = self.end - self.pos;
                    if !self.fill()? {
                        return Ok(length);
                    }
                }
            }
        }
    }

    /// From `offset` inside a string that starts at `pos`: the offset of its closing quote.
    fn scan_string(&mut self, mut offset: usize) -> Result<usize, StreamError> {
        loop {
            let rest = self.buf.get(self.pos + offset..self.end).unwrap_or_default();
            match quote_or_backslash(rest, Controls::Allowed) {
                Some(found) if rest.get(found) == Some(&b'"') => return Ok(offset + found),
                // A backslash: it and the byte it escapes, and on while escapes come close
                // together. (`found` is a place in `rest`, where the backslash is: the slice
                // from it is never the default.)
                Some(found) => match through_escapes(rest.get(found..).unwrap_or_default()) {
                    Escapes::Quote(at) => return Ok(offset + found + at),
                    Escapes::Sparse(at) | Escapes::Short(at) => offset += found + at,
                },
                None => offset = self.end - self.pos,
            }
            while self.pos + offset >= self.end {
                if !self.fill()? {
                    return Err(self.eof("a string"));
                }
            }
        }
    }

    /// An object or array: to its matching closing bracket.
    ///
    /// A [`Block`] of 64 bytes at a time. Its quotes that open or close a string are all of
    /// them when it has no backslash (most blocks); otherwise they are found by stepping
    /// through its quotes and backslashes in order ([`delimiting_quotes`]). Which bytes are in
    /// a string follows from those quotes ([`prefix_parity`]), and the brackets outside strings
    /// are taken in order. A block wholly inside a string hands the rest of that string to
    /// `memchr2` (the URL-encoded policy documents of a snapshot run to kilobytes).
    fn scan_nested(&mut self) -> Result<usize, StreamError> {
        self.open.clear();
        // Where the next block starts, from `pos`.
        let mut offset = 0;
        // Whether the block starts inside a string, and with a byte a backslash escapes.
        let mut in_string = false;
        let mut escaped = false;
        loop {
            while self.pos + offset + WIDTH > self.end {
                if !self.fill()? {
                    break;
                }
            }
            let start = self.pos + offset;
            let available = self.end.saturating_sub(start);
            if available == 0 {
                return Err(self.eof(self.inside(in_string)));
            }
            // The last bytes of the input, padded with spaces (which are none of the marks).
            let mut padded: [u8; WIDTH];
            // `available` is not 0, so `start` is before `end`: the slice is never the default.
            let read = self.buf.get(start..self.end).unwrap_or_default();
            let bytes: &[u8; WIDTH] = match read.get(..WIDTH).and_then(|bytes| bytes.try_into().ok()) {
                Some(bytes) => bytes,
                None => {
                    padded = [b' '; WIDTH];
                    for (pad, byte) in padded.iter_mut().zip(read) {
                        *pad = *byte;
                    }
                    &padded
                }
            };
            let block = Block::of(bytes);
            if in_string && !escaped && block.quotes | block.backslashes == 0 && available >= WIDTH {
                // A whole block was read (`available >= WIDTH`): never the default.
                let rest = self.buf.get(start + WIDTH..self.end).unwrap_or_default();
                offset = match memchr::memchr2(b'"', b'\\', rest) {
                    Some(found) => offset + WIDTH + found,
                    // On to the end of what is read; more is read, or the string ends the input.
                    None => self.end - self.pos,
                };
                continue;
            }
            let (strings, escapes_next) = block.strings(in_string, escaped);
            let mut brackets = (block.opens | block.closes) & !strings;
            while brackets != 0 {
                let i = brackets.trailing_zeros() as usize;
                brackets &= brackets - 1;
                // (`i` is under 64: `byte` is never `None`, which would fail as a mismatch.)
                let byte = bytes.get(i).copied();
                if block.opens >> i & 1 == 1 {
                    self.open.push(if byte == Some(b'{') { b'}' } else { b']' });
                    continue;
                }
                match self.open.pop() {
                    Some(expected) if Some(expected) == byte => {}
                    Some(expected) => {
                        let what = format!("expected `,` or `{}`", char::from(expected));
                        return Err(self.error_at(start + i, what));
                    }
                    None => return Err(self.error_at(start + i, "expected value".into())),
                }
                if self.open.is_empty() {
                    return Ok(offset + i + 1);
                }
            }
            in_string = strings >> 63 == 1;
            escaped = escapes_next;
            if available < WIDTH {
                // The input ended inside the value.
                return Err(self.eof(self.inside(in_string)));
            }
            offset += WIDTH;
        }
    }

    /// What the input ended inside of, in serde's words, when a nested value is cut short.
    fn inside(&self, in_string: bool) -> &'static str {
        match (in_string, self.open.last()) {
            (true, _) => "a string",
            (false, Some(b']')) => "a list",
            (false, _) => "an object",
        }
    }

    /// An error at the byte at `pos`.
    fn error_here(&self, what: String) -> StreamError {
        self.error_at(self.pos, what)
    }

    /// An error at the byte just taken.
    fn error_before(&self, what: &str) -> StreamError {
        self.error_at(self.pos.saturating_sub(1), what.into())
    }

    /// The input ended while reading `inside`.
    fn eof(&self, inside: &str) -> StreamError {
        let (line, column) = self.position(self.end);
        StreamError::Syntax(SyntaxError { what: format!("EOF while parsing {inside}"), line, column })
    }

    /// An error at the byte `at` of the buffer.
    fn error_at(&self, at: usize, what: String) -> StreamError {
        let (line, column) = self.position(at);
        StreamError::Syntax(SyntaxError { what, line, column: column + 1 })
    }

    /// serde's error for a value that starts at `start` in the buffer, placed in the file.
    fn placed(&self, start: usize, error: &serde_json::Error) -> StreamError {
        let message = error.to_string();
        let what = match message.rsplit_once(" at line ") {
            // The value was cut out of the file, so its end is not the end of the input: a
            // literal or number that stops short (`tru`, `1e`).
            _ if error.is_eof() => "expected value".to_owned(),
            Some((what, _)) if error.line() > 0 => what.to_owned(),
            _ => message,
        };
        let (line, column) = self.position(start);
        let (line, column) = match error.line() {
            0 | 1 => (line, column + error.column() as u64),
            more => (line + more as u64 - 1, error.column() as u64),
        };
        StreamError::Syntax(SyntaxError { what, line, column })
    }

    /// The line (from 1) of the byte `at` of the buffer, and how many bytes of that line come
    /// before it.
    fn position(&self, at: usize) -> (u64, u64) {
        let before = self.buf.get(..at.min(self.end)).unwrap_or_default();
        let line = self.lines + count_newlines(before) + 1;
        let line_start = match memchr::memrchr(b'\n', before) {
            Some(newline) => self.dropped + newline as u64 + 1,
            None => self.line_start,
        };
        (line, self.dropped + before.len() as u64 - line_start)
    }
}

/// How many line feeds `bytes` holds. One is looked for before any is counted: a compact
/// input (as AWS writes its exports) has none, and `memchr`'s look for one reads bytes faster
/// than its count (0.25 instructions a byte, 1.5% of the 100 MB snapshot's, callgrind).
fn count_newlines(bytes: &[u8]) -> u64 {
    match memchr::memchr(b'\n', bytes) {
        None => 0,
        Some(_) => memchr::memchr_iter(b'\n', bytes).count() as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::ExportShape;

    /// Bytes handed out at most `.1` at a time.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(out.len()).min(self.0.len());
            let (head, tail) = self.0.split_at(n);
            out[..n].copy_from_slice(head);
            self.0 = tail;
            Ok(n)
        }
    }

    /// Splits `text`, read `chunk` bytes at a time (so that entries, strings and escapes cross
    /// block boundaries), into the entries' texts.
    fn split_text(text: &str, chunk: usize) -> Result<Vec<String>, String> {
        let mut entries = Vec::new();
        split(Trickle(text.as_bytes(), chunk), &mut |e| entries.push(e.json().to_owned()))
            .map_err(|e| e.to_string())?;
        Ok(entries)
    }

    /// Where a nested value (`bytes` starts with its bracket) ends, or why it cannot, a byte at
    /// a time: the plain answer, as the split looked before it took 64 bytes at a time. An
    /// error is its words and its column (`bytes` has no newline).
    fn nested_end_by_bytes(bytes: &[u8]) -> Result<usize, (String, u64)> {
        let mut open = Vec::new();
        let mut at = 0;
        loop {
            let Some(&byte) = bytes.get(at) else {
                let inside = if open.last() == Some(&b']') { "a list" } else { "an object" };
                return Err((format!("EOF while parsing {inside}"), bytes.len() as u64));
            };
            match byte {
                b'"' => loop {
                    at += 1;
                    match bytes.get(at) {
                        None => return Err(("EOF while parsing a string".into(), bytes.len() as u64)),
                        Some(b'"') => break at += 1,
                        Some(b'\\') => at += 1,
                        Some(_) => {}
                    }
                },
                b'{' | b'[' => {
                    open.push(if byte == b'{' { b'}' } else { b']' });
                    at += 1;
                }
                b'}' | b']' => {
                    match open.pop() {
                        Some(expected) if expected == byte => {}
                        Some(expected) => {
                            return Err((format!("expected `,` or `{}`", char::from(expected)), at as u64 + 1))
                        }
                        None => return Err(("expected value".into(), at as u64 + 1)),
                    }
                    at += 1;
                    if open.is_empty() {
                        return Ok(at);
                    }
                }
                _ => at += 1,
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// Strings, escapes and brackets anywhere, across the 64-byte blocks and the reads (a
        /// byte, or a block and one, at a time): the split finds the end, or the error and its
        /// place, that a byte-by-byte look finds.
        #[test]
        fn a_nested_value_ends_where_a_byte_by_byte_look_says(
            opener in proptest::sample::select(vec!["{", "["]),
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "{", "}", "[", "]", "\"", "\"", "\\", "\\\\", "\\\"", ",", ":", " ", "a", "é",
                    "\"key\": ", "\"x\\\"}]\"", "{\"a\": [1, \"b\"]}",
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                ]),
                0..160,
            ),
            chunk in proptest::sample::select(vec![1usize, 7, 63, 64, 65, 1 << 20]),
            before in 0usize..70,
        ) {
            let value = [opener.to_owned(), pieces.concat()].concat();
            // Spaces before it, taken first: the buffer then holds bytes read before, past
            // what is read now, which the look must not take for the value's.
            let text = [" ".repeat(before), value.clone()].concat();
            let mut input = Input::new(Trickle(text.as_bytes(), chunk));
            proptest::prop_assert!(input.skip_whitespace().is_ok());
            let found = input.scan_nested().map_err(|e| match e {
                StreamError::Syntax(e) => (e.what, e.column - before as u64),
                other => (other.to_string(), 0),
            });
            proptest::prop_assert_eq!(found, nested_end_by_bytes(value.as_bytes()), "{:?}", text);
        }
    }

    #[test]
    fn entries_are_found_by_strings_and_brackets_whatever_the_block_size() {
        let text = r#"{"fileVersion": "1.0", "configurationItems": [
            {"a": "x\"}]", "b": [1, {"c": "\\"}], "d": "é"},
            "{\"text\": 1}", 12.5e3, true, null, []
        ]}"#;
        let want = [
            r#"{"a": "x\"}]", "b": [1, {"c": "\\"}], "d": "é"}"#,
            r#""{\"text\": 1}""#,
            "12.5e3",
            "true",
            "null",
            "[]",
        ];
        for chunk in [1, 2, 3, 7, 64, 1 << 20] {
            assert_eq!(split_text(text, chunk), Ok(want.map(String::from).to_vec()), "chunk {chunk}");
        }
    }

    /// Each entry's offset is where its text stands in the input, whatever the block size (the
    /// dry-run reads entries again there: `dryrun::places`).
    #[test]
    fn an_entry_s_offset_is_where_its_text_stands() {
        let mut text = String::from("{\"fileVersion\": \"1.0\", \"configurationItems\": [\n");
        for i in 0..300 {
            text.push_str(&format!("  {{\"resourceId\": \"k{i}\", \"é\": [\"{}\"]}},\n", "x".repeat(i)));
        }
        text.push_str("  {}\n]}");
        for chunk in [1, 7, 4096, 1 << 20] {
            let mut entries = Vec::new();
            let read = split(&mut Trickle(text.as_bytes(), chunk), &mut |e| entries.push(e));
            assert!(read.is_ok(), "chunk {chunk}");
            assert_eq!(entries.len(), 301);
            for entry in &entries {
                let at = entry.offset().map(|at| at as usize);
                let stands = at.and_then(|at| text.get(at..at + entry.json().len()));
                assert_eq!(stands, Some(entry.json()), "chunk {chunk}");
            }
        }
    }

    /// Entries cut from blocks that are read into again: an entry held while the split reads
    /// on (past more blocks than it keeps retired) keeps its text, and so does one handed out
    /// after others were dropped (their blocks reused). 12 MB, 6,000 entries of 2 KB.
    #[test]
    fn an_entry_keeps_its_text_while_the_split_reads_on() {
        let entry = |i: usize| format!("{{\"resourceId\": \"k{i}\", \"pad\": \"{}\"}}", "x".repeat(2000 + i % 89));
        let mut text = String::from("{\"configurationItems\": [");
        for i in 0..6000 {
            text.push_str(&entry(i));
            text.push_str(if i < 5999 { ",\n" } else { "]}" });
        }
        for chunk in [4096, 1 << 16, 1 << 20] {
            let (mut held, mut count) = (Vec::new(), 0usize);
            let read = split(&mut Trickle(text.as_bytes(), chunk), &mut |e| {
                assert_eq!(e.json(), entry(count), "chunk {chunk}, entry {count}");
                // Every 97th held to the end (pinning blocks across the file), the rest dropped.
                if count % 97 == 0 {
                    held.push((count, e));
                }
                count += 1;
            });
            assert!(read.is_ok(), "chunk {chunk}");
            assert_eq!(count, 6000);
            for (i, e) in &held {
                assert_eq!(e.json(), entry(*i), "chunk {chunk}, held entry {i}");
            }
        }
    }

    #[test]
    fn structure_errors_stop_the_file_with_serde_wording_and_the_place() {
        let cases = [
            ("{\"configurationItems\": [", "not valid JSON: EOF while parsing a list at line 1 column 24"),
            ("{\"configurationItems\": [{\"a\": 1}", "not valid JSON: EOF while parsing a list at line 1 column 32"),
            ("{\"configurationItems\": [{\"a\": \"b", "not valid JSON: EOF while parsing a string at line 1 column 32"),
            ("{\"configurationItems\": [{\"a\": [}]}", "not valid JSON: expected `,` or `]` at line 1 column 32"),
            ("{\"configurationItems\": [1 2]}", "not valid JSON: expected `,` or `]` at line 1 column 27"),
            ("{\"configurationItems\": [1,]}", "not valid JSON: expected value at line 1 column 27"),
            ("{\"configurationItems\": []} x", "not valid JSON: trailing characters at line 1 column 28"),
            ("{\"configurationItems\": 3}", "not valid JSON: invalid type: number, expected `configurationItems` to be an array at line 1 column 24"),
            ("[1]", "not valid JSON: invalid type: sequence, expected a JSON object (a Config export, AWS CLI output or a configuration item) at line 1 column 1"),
            ("", "not valid JSON: EOF while parsing a value at line 1 column 0"),
            ("{\n  \"fileVersion\": tru,\n  \"configurationItems\": []}", "not valid JSON: expected value at line 2 column 20"),
            ("{\n  \"a\": {\n\"b\": x}}", "not valid JSON: expected value at line 3 column 6"),
            ("{3: 1}", "not valid JSON: key must be a string at line 1 column 2"),
            ("{\"a\" 1}", "not valid JSON: expected `:` at line 1 column 6"),
        ];
        for (text, want) in cases {
            for chunk in [1, 5, 1 << 20] {
                assert_eq!(split_text(text, chunk), Err(want.to_owned()), "{text:?}, chunk {chunk}");
            }
        }
    }

    #[test]
    fn lines_are_counted_across_dropped_blocks() {
        let mut text = String::from("{\"configurationItems\": [\n");
        for _ in 0..50_000 {
            text.push_str("  {\"resourceType\": \"AWS::KMS::Key\"},\n");
        }
        text.push_str("  {\"a\": [}\n]}");
        let error = split_text(&text, 4096).err().unwrap_or_default();
        assert_eq!(error, "not valid JSON: expected `,` or `]` at line 50002 column 10");
    }

    #[test]
    fn bad_utf8_stops_the_file_and_bad_content_is_the_entry_s_error() {
        let mut bytes = br#"{"configurationItems": [{"resourceId": "k"#.to_vec();
        bytes.extend([0xe9]);
        bytes.extend(br#""}]}"#);
        let error = split(&bytes[..], &mut |_| {}).err().map(|e| e.to_string());
        assert_eq!(error.as_deref(), Some("not valid JSON: invalid UTF-8 at line 1 column 42"));

        let text =
            r#"{"configurationItems": [{"resourceId": tru}, {"resourceType": "AWS::KMS::Key", "resourceId": "k"}]}"#;
        let mut entries = Vec::new();
        assert_eq!(
            split(text.as_bytes(), &mut |e| entries.push(e)).ok().map(|o| o.shape),
            Some(ExportShape::ConfigurationItems)
        );
        let decoded: Vec<String> = entries.iter().filter_map(RawEntry::decode).map(|f| format!("{f:?}")).collect();
        assert_eq!(decoded.len(), 2);
        assert!(
            decoded[0].contains("configurationItems[0]")
                && decoded[0].contains("expected ident at line 1 column 19 of the entry"),
            "{}",
            decoded[0]
        );
        assert!(decoded[1].starts_with("Item"), "{}", decoded[1]);
    }
}
