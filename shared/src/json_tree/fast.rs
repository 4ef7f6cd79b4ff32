//! The fast path of [`Tree::parse_in`]: a parser for the JSON that is well formed and plain,
//! which gives up (`None`) on anything else, so that serde_json parses it instead and says
//! what is wrong in its own words.
//!
//! Why a parser of our own: serde_json reads a string a word at a time, looking for a quote, a
//! backslash or a control character in each, and hands every value through its visitor. The
//! dry-run's items are mostly long strings (URL-encoded policy documents): that word-at-a-time
//! scan was 11% of the dry-run's instructions, and the visitor's calls as much again (issue
//! 18's profile). Here a string's end is found as [`quote_or_backslash`] finds it: a word at a
//! time for the short strings that most are, 32 bytes at a time for the long ones.
//!
//! **Why it cannot change a tree or an error.** Whatever this parser accepts, it reads as
//! serde_json reads it into a [`Tree`] (the tests parse every item, every policy of the
//! corpus, and generated and mutated texts both ways and compare). Whatever it does not accept
//! is parsed by serde_json as before: an error of any kind, and what this parser leaves to
//! serde on purpose, because it is rare and subtle:
//! - a `\u` escape of a UTF-16 surrogate (half of a pair, or a lone one);
//! - nesting deeper than [`DEEPEST`] (serde_json stops at 128 levels);
//! - a number that is not an integer of at most 18 digits (its value is read by serde_json's
//!   own `Number::from_str`, which runs the parse its deserializer runs).

use bumpalo::Bump;
use serde_json::Number;

use super::string_end::{copy_plain_run, quote_or_backslash, Controls};
use super::structural::{object_end, string_end};
use super::{Keeping, Kept, Object, Tree, Written};

/// The deepest nesting this parser reads; deeper texts are left to serde_json, which allows
/// 127 levels.
pub(super) const DEEPEST: usize = 100;

/// Parses `text` into `arena` as serde_json would, or `None` when the text is not plain,
/// well-formed JSON (see the module docs); the objects `keeping` names are kept as their text
/// ([`Tree::Kept`]).
pub(super) fn parse<'a>(text: &'a str, arena: &'a Bump, keeping: Option<&Keeping<'_>>) -> Option<Tree<'a>> {
    let mut parser = Parser {
        keeping,
        text,
        bytes: text.as_bytes(),
        pos: 0,
        arena,
        depth: 0,
        parent: "",
        items: bumpalo::collections::Vec::with_capacity_in(STACK, arena),
        entries: bumpalo::collections::Vec::with_capacity_in(STACK, arena),
        scratch: Vec::new(),
    };
    parser.skip_whitespace();
    let tree = parser.value()?;
    parser.skip_whitespace();
    (parser.pos == parser.bytes.len()).then_some(tree)
}

struct Parser<'a, 'k> {
    /// What to keep as text, and which texts to leave unread.
    keeping: Option<&'k Keeping<'k>>,
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    arena: &'a Bump,
    depth: usize,
    /// While keeping ([`Keeping::strings`]): the key of the top-level member being read.
    parent: &'a str,
    /// The items of the arrays being read, innermost last: an array's items are copied into
    /// the arena once, whole, when it closes. (Grown in the arena as it is read, an outer
    /// list could not grow in place once an inner one was allocated after it, and was copied
    /// at each doubling.)
    items: bumpalo::collections::Vec<'a, Tree<'a>>,
    /// The entries of the objects being read, innermost last, as `items`.
    entries: bumpalo::collections::Vec<'a, (&'a str, Tree<'a>)>,
    /// Where [`Parser::unescaped`] puts a string together: empty until a string has an
    /// escape, then as large as the text after it.
    scratch: Vec<u8>,
}

/// Whether the parser looks for a kept object's end and asks whether its text is known
/// ([`Parser::kept`]), per thread.
///
/// Why: the look and the question cost about what leaving the text unread saves when it is
/// rarely known. On the 100 MB GAAD workload with every document made unique (an `Id` each),
/// asking about every one took 11.5% more instructions than not keeping them (callgrind: 3.314 G
/// to 3.694 G). So after [`MISSES_BEFORE_REST`] unknown texts in a row, the next [`REST`]
/// objects are read as plain ones, and then the asking starts again. Where texts repeat (an
/// organization's export), 16 misses in a row are rare once the memo has met each document,
/// and every object is asked about. Resting changes only how a document is read, never what
/// it reads as (a kept object reads as the plain one, [`Tree::Kept`]).
pub(super) struct Probing;

/// Unknown texts in a row before the parser rests from asking.
const MISSES_BEFORE_REST: u32 = 16;

/// Kept objects read as plain ones in a rest.
const REST: u32 = 64;

thread_local! {
    /// This thread's unknown texts in a row, and the objects left in its rest.
    static PROBING: std::cell::Cell<(u32, u32)> = const { std::cell::Cell::new((0, 0)) };
}

impl Probing {
    /// Whether this thread rests from asking for this object (a rest counts it).
    fn resting() -> bool {
        PROBING.with(|probing| {
            let (misses, rest) = probing.get();
            if rest == 0 {
                return false;
            }
            probing.set((misses, rest - 1));
            true
        })
    }

    /// Counts what asking found: a known text ends a run of misses; the last miss of a run
    /// starts a rest.
    fn found(known: bool) {
        PROBING.with(|probing| {
            let misses = if known { 0 } else { probing.get().0 + 1 };
            probing.set(if misses >= MISSES_BEFORE_REST { (0, REST) } else { (misses, 0) });
        });
    }

    /// Starts this thread afresh (tests that count what is kept).
    #[cfg(test)]
    pub(super) fn reset() {
        PROBING.with(|probing| probing.set((0, 0)));
    }
}

/// How many items and entries the stacks hold before they grow: more than most items have.
const STACK: usize = 64;

impl<'a> Parser<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// JSON's white space, as serde_json skips it.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Takes `byte` (after white space), or gives up.
    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    fn value(&mut self) -> Option<Tree<'a>> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.string().map(Tree::String)
            }
            b'{' => self.nested(Parser::object),
            b'[' => self.nested(Parser::array),
            b't' => self.literal("true", Tree::Bool(true)),
            b'f' => self.literal("false", Tree::Bool(false)),
            b'n' => self.literal("null", Tree::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// An array's item or an object's value: a string read here, without a call of
    /// [`Parser::value`] (most elements are strings, and `value`, recursive, is a call with a
    /// large frame: 1.3 million calls a 100 MB snapshot), anything else by `value`. Callgrind:
    /// 1.749 G to 1.734 G on the 100 MB snapshot, 3.384 G to 3.325 G on GAAD.
    #[inline(always)]
    fn element(&mut self) -> Option<Tree<'a>> {
        if self.peek() == Some(b'"') {
            self.pos += 1;
            return self.string().map(Tree::String);
        }
        self.value()
    }

    fn literal(&mut self, word: &str, tree: Tree<'a>) -> Option<Tree<'a>> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end)? == word.as_bytes()).then(|| {
            self.pos = end;
            tree
        })
    }

    /// An array or object, one level deeper, its opening bracket at `pos`.
    fn nested(&mut self, read: fn(&mut Self) -> Option<Tree<'a>>) -> Option<Tree<'a>> {
        if self.depth >= DEEPEST {
            return None;
        }
        self.depth += 1;
        self.pos += 1;
        let tree = read(self);
        self.depth -= 1;
        tree
    }

    fn array(&mut self) -> Option<Tree<'a>> {
        let mark = self.items.len();
        self.skip_whitespace();
        if self.peek() != Some(b']') {
            loop {
                self.skip_whitespace();
                let item = self.element()?;
                self.items.push(item);
                if !self.another(b']')? {
                    break;
                }
            }
        }
        self.pos += 1;
        let items = self.arena.alloc_slice_copy(self.items.get(mark..)?);
        self.items.truncate(mark);
        Some(Tree::Array(items))
    }

    fn object(&mut self) -> Option<Tree<'a>> {
        let mark = self.entries.len();
        self.skip_whitespace();
        if self.peek() != Some(b'}') {
            loop {
                self.eat(b'"')?;
                let key = self.string()?;
                self.eat(b':')?;
                self.skip_whitespace();
                let value = match self.keeping {
                    Some(keeping) if self.peek() == Some(b'{') && keeping.members.contains(&(self.depth, key)) => {
                        self.kept(keeping, key)?
                    }
                    Some(keeping) if !keeping.strings.is_empty() => self.string_member(keeping, key)?,
                    _ => self.element()?,
                };
                self.entries.push((key, value));
                if !self.another(b'}')? {
                    break;
                }
            }
        }
        self.pos += 1;
        let entries = self.arena.alloc_slice_copy(self.entries.get(mark..)?);
        self.entries.truncate(mark);
        Some(Tree::Object(Object { entries }))
    }

    /// The value of member `key`, while keeping strings ([`Keeping::strings`]): a string
    /// kept, if `keeping` names the member, else an element like any other. (Apart from
    /// [`Parser::kept`]'s arm, so that a parse keeping only objects, GAAD's, does not track
    /// the top-level member: that took it 0.4% more instructions, callgrind, 100 MB GAAD.)
    #[inline(always)]
    fn string_member(&mut self, keeping: &Keeping<'_>, key: &'a str) -> Option<Tree<'a>> {
        if self.depth == 1 {
            self.parent = key;
        } else if self.depth == 2 && self.peek() == Some(b'"') && keeping.strings.contains(&(self.parent, key)) {
            return self.kept_string(keeping, key);
        }
        self.element()
    }

    /// The string at `pos`, the value of member `key`, kept as written: its escapes left as
    /// they are when the text is known ([`Keeping::known_string`]), else read. A string with no
    /// escape is read as a plain string. Not too deep: a string nests nothing.
    ///
    /// Every such string is asked about, with no rest ([`Probing`]): asking costs a look for
    /// its end, a block at a time, and a look-up; far less than the unescaping a known one
    /// saves. Resting, the strings read as plain ones were remembered as their values, apart
    /// from those remembered as written, and were parsed afresh once more for each (callgrind,
    /// 100 MB snapshot: 2,837 key policies parsed where 2,425 were before).
    #[inline(never)]
    fn kept_string(&mut self, keeping: &Keeping<'_>, key: &str) -> Option<Tree<'a>> {
        let start = self.pos + 1;
        let Some(length) = escaped_length(self.bytes.get(start..)?) else { return self.element() };
        // Both ends are quotes (ASCII): character boundaries.
        let text = self.text.get(start..start + length)?;
        let known = (keeping.known_string)(key, text);
        let value = match known {
            true => {
                self.pos = start + length + 1;
                None
            }
            false => {
                self.pos = start;
                Some(self.string()?)
            }
        };
        Some(Tree::Written(self.arena.alloc(Written { text, value })))
    }

    /// The object at `pos`, the value of member `key`, kept as its text: left unread when the
    /// text is known ([`Keeping`]), and not too deep here, else read. While this thread rests
    /// from probing ([`Probing`]), read as a plain object, not kept.
    #[inline(never)]
    fn kept(&mut self, keeping: &Keeping<'_>, key: &str) -> Option<Tree<'a>> {
        if Probing::resting() {
            return self.value();
        }
        let start = self.pos;
        let known = object_end(self.bytes.get(start..)?)
            .filter(|(_, deepest)| self.depth + deepest <= DEEPEST)
            .and_then(|(length, _)| self.text.get(start..start + length))
            .filter(|text| (keeping.known)(key, text));
        Probing::found(known.is_some());
        let kept = match known {
            Some(text) => {
                self.pos = start + text.len();
                Kept { text, object: None }
            }
            None => {
                let Tree::Object(object) = self.value()? else { return None };
                Kept { text: self.text.get(start..self.pos)?, object: Some(object) }
            }
        };
        Some(Tree::Kept(self.arena.alloc(kept)))
    }

    /// After an element of an array or object: `true` past a comma (another element follows),
    /// `false` at the closing bracket `close` (left for the caller to step past), `None` at
    /// anything else.
    #[inline(always)]
    fn another(&mut self, close: u8) -> Option<bool> {
        self.skip_whitespace();
        match self.peek()? {
            b',' => {
                self.pos += 1;
                Some(true)
            }
            byte if byte == close => Some(false),
            _ => None,
        }
    }

    /// The rest of a string whose opening quote was just taken: borrowed from the text when it
    /// has no escape, else unescaped into the arena ([`Parser::unescaped`], out of line, so that
    /// this path, which nearly every string takes, stays small: with the `#[inline]` hint, 0.5%
    /// fewer instructions on the 100 MB snapshot and GAAD; callgrind, issue 18). Inlined always:
    /// with the hint alone it was still called, 1.5 million times on the 100 MB snapshot, and
    /// inlined into the object's keys and the values it took 1.2% fewer instructions there and
    /// 1.4% fewer on GAAD (callgrind: 1.817 G to 1.795 G, 3.508 G to 3.460 G).
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        let start = self.pos;
        let found = quote_or_backslash(self.bytes.get(start..)?, Controls::Refused)?;
        self.pos = start + found;
        if self.peek() == Some(b'"') {
            self.pos += 1;
            // The quote is ASCII, so both ends are character boundaries. Cut at the end, then
            // the start: each half-open cut is inlined, where `get(start..end)` was a call,
            // two million a 100 MB snapshot (callgrind: 1.795 G to 1.764 G; GAAD 3.460 G to
            // 3.377 G).
            return self.text.get(..start + found)?.get(start..);
        }
        self.unescaped(start)
    }

    /// The rest of a string that starts at `start` and has a backslash at `pos`: unescaped into
    /// the arena. Out of line: few strings have escapes, but those that have are dense with
    /// them (a key policy's JSON text), so the runs between escapes are copied by
    /// [`copy_plain_run`], 16 bytes (or a word) at a time, into [`Parser::scratch`]; the string
    /// is copied into the arena once, whole.
    #[inline(never)]
    fn unescaped(&mut self, start: usize) -> Option<&'a str> {
        // Room for the rest of the text and a block more: a string unescaped is no longer than
        // its text, and a run is copied a block (16 bytes) at a time. So the room is at most
        // the text's size, zeroed only as it grows: the first string with an escape takes it,
        // the later ones (nearer the end) reuse it; it is freed with the parser.
        let room = self.bytes.len() - start + 16;
        if self.scratch.len() < room {
            self.scratch.resize(room, 0);
        }
        let mut out = std::mem::take(&mut self.scratch);
        let before = self.pos - start;
        out.get_mut(..before)?.copy_from_slice(self.bytes.get(start..self.pos)?);
        let end = self.unescape_into(&mut out, before);
        let text = end.and_then(|(end, written)| {
            self.pos = end;
            // Valid: the runs copied are cut only at ASCII bytes, and each escape adds a
            // whole character. (Were it not, serde_json would read the text instead.)
            let text = simdutf8::basic::from_utf8(out.get(..written)?).ok()?;
            Some(&*self.arena.alloc_str(text))
        });
        self.scratch = out;
        text
    }

    /// From the backslash at `pos` to the closing quote: the string's characters written into
    /// `out` from `written` on; where the string ends (past its quote) and how much of `out`
    /// is written, or `None` at anything JSON does not allow, or leaves to serde_json (see the
    /// module docs).
    fn unescape_into(&self, out: &mut [u8], mut written: usize) -> Option<(usize, usize)> {
        let mut at = self.pos;
        loop {
            match self.bytes.get(at)? {
                b'"' => return Some((at + 1, written)),
                b'\\' => {}
                // A control character.
                _ => return None,
            }
            at += 1;
            let byte = match self.bytes.get(at)? {
                b'"' => b'"',
                b'\\' => b'\\',
                b'/' => b'/',
                b'b' => 0x8,
                b'f' => 0xc,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    let hex = self.text.get(at + 1..at + 5)?;
                    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return None;
                    }
                    // Surrogates (pairs and lone halves) are left to serde_json.
                    let character = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                    let encoded = character.len_utf8();
                    character.encode_utf8(out.get_mut(written..written + encoded)?);
                    written += encoded;
                    at += 5;
                    let copied = copy_plain_run(self.bytes.get(at..)?, out, written)?;
                    (at, written) = (at + copied, written + copied);
                    continue;
                }
                _ => return None,
            };
            *out.get_mut(written)? = byte;
            at += 1;
            written += 1;
            let copied = copy_plain_run(self.bytes.get(at..)?, out, written)?;
            (at, written) = (at + copied, written + copied);
        }
    }

    /// A number, its text found by JSON's grammar and read by serde_json: the value is exactly
    /// the one its deserializer makes (an integer up to 18 digits is the same `u64` or `i64`
    /// either way, and is read here).
    fn number(&mut self) -> Option<Tree<'a>> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits = self.digits();
        let leading = self.bytes.get(self.pos - digits)?;
        if digits == 0 || (*leading == b'0' && digits > 1) {
            return None;
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            integer = false;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        let text = self.text.get(start..self.pos)?;
        let number = if integer && digits <= 18 {
            let magnitude: u64 = text.trim_start_matches('-').parse().ok()?;
            match negative {
                // serde_json reads `-0` as the float -0.0.
                true if magnitude == 0 => text.parse::<Number>().ok()?,
                true => Number::from(-i64::try_from(magnitude).ok()?),
                false => Number::from(magnitude),
            }
        } else {
            text.parse::<Number>().ok()?
        };
        Some(Tree::Number(self.arena.alloc(number)))
    }

    /// Takes the ASCII digits at `pos`; how many.
    fn digits(&mut self) -> usize {
        let count = self.bytes.iter().skip(self.pos).take_while(|b| b.is_ascii_digit()).count();
        self.pos += count;
        count
    }
}

/// The length of a string's text, from after its opening quote to its closing one, when it
/// holds an escape; `None` when it holds none, or does not end in `bytes`. The end is found a
/// block at a time ([`string_end`]), its escapes told apart without stepping through them:
/// stepping from each escape to the next, by a word at a time (`string_end::through_escapes`) or a call
/// of [`quote_or_backslash`] each, cost about what unescaping the string does (callgrind,
/// 100 MB snapshot). Nothing else is checked: a text the caller knows is a well-formed
/// string's, and one it does not know is read, or refused, as before.
fn escaped_length(bytes: &[u8]) -> Option<usize> {
    let first = quote_or_backslash(bytes, Controls::Allowed)?;
    if bytes.get(first) == Some(&b'"') {
        return None;
    }
    // From the first backslash, which nothing before it escapes.
    string_end(bytes.get(first..)?).map(|end| first + end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// What each parser makes of `text`: the tree's `Debug` text (exact: `-0.0` is not `0.0`,
    /// a key's order and repeats show), or `None` for the fast parser giving up and the error
    /// for serde_json.
    fn both(text: &str) -> (Option<String>, Result<String, String>) {
        let (fast_arena, serde_arena) = (Bump::new(), Bump::new());
        let fast = parse(text, &fast_arena, None).map(|tree| format!("{tree:?}"));
        let serde =
            Tree::parse_by_serde_in(text, &serde_arena).map(|tree| format!("{tree:?}")).map_err(|e| e.to_string());
        (fast, serde)
    }

    /// The fast parser reads `text` as serde_json does, or leaves it to serde_json.
    fn agrees(text: &str) -> Result<(), String> {
        match both(text) {
            (None, _) => Ok(()),
            (Some(fast), Ok(serde)) if fast == serde => Ok(()),
            (Some(fast), serde) => Err(format!("{text:?}: fast {fast}, serde {serde:?}")),
        }
    }

    /// The fast parser reads `text` itself, as serde_json does.
    fn reads(text: &str) {
        match both(text) {
            (Some(fast), Ok(serde)) => assert_eq!(fast, serde, "{text:?}"),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    /// Each policy document in `value` as a JSON text (strings of JSON or URL-encoded JSON, and
    /// documents that are objects), found however deep.
    #[cfg(feature = "bundled-policies")]
    fn embedded(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::String(s) if s.starts_with('{') => out.push(s.clone()),
            Value::String(s) if s.starts_with("%7B") => {
                out.push(crate::policy::decode::percent_decode(s).unwrap());
            }
            Value::Array(items) => items.iter().for_each(|item| embedded(item, out)),
            Value::Object(map) => {
                for (key, item) in map {
                    // GAAD's documents are objects: their text as AWS's CLI prints it.
                    if key.ends_with("Document") && item.is_object() {
                        out.push(serde_json::to_string_pretty(item).unwrap());
                    }
                    embedded(item, out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn plain_json_is_read_as_serde_json_reads_it() {
        for text in [
            r#"{"a": [1, -2, 0, -0, 1.5, -1.5e3, 2E-2, 123456789012345678, 1234567890123456789, 18446744073709551616, -9223372036854775809]}"#,
            r#"{"a": "x", "a": "y", "b": {}, "c": [], "d": [[[]]], "e": null, "f": true, "g": false}"#,
            " \t\r\n{ \"k\" : \"v\" , \"l\" : [ 1 , 2 ] } \n",
            r#""\"\\\/\b\f\n\r\t\u0041\u00e9\u4e2d\u0000 and é中 straight""#,
            r#"{"Statement":"{\"Effect\":\"Allow\",\"Action\":\"kms:*\"}"}"#,
            "\"\"",
            "[\"a string longer than the four words that are looked at one by one, to reach memchr2\"]",
            "0",
            "-0",
            "[1e308, 5e-324, 0.1, 3.141592653589793]",
        ] {
            reads(text);
        }
    }

    #[test]
    fn what_it_does_not_read_is_left_to_serde_json() {
        let deep = format!("{}{}", "[".repeat(DEEPEST + 1), "]".repeat(DEEPEST + 1));
        let deepest = format!("{}{}", "[".repeat(DEEPEST), "]".repeat(DEEPEST));
        reads(&deepest);
        for text in [
            // Errors of every kind.
            "",
            " ",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "[01]",
            "[-]",
            "[1.]",
            "[1e]",
            "[.5]",
            "[1e400]",
            "tru",
            "nul",
            "[true false]",
            "{} {}",
            "\"unterminated",
            "\"a\u{1}control\"",
            "\"a control \u{1f} after the first words, which memchr2 reaches: 0123456789\"",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\u12G4\"",
            // Left on purpose.
            "\"\\ud83d\\ude00\"",
            "\"\\ud83d\"",
            "\"\\ude00\"",
            &deep,
        ] {
            assert_eq!(both(text).0, None, "{text:?}");
        }
    }

    #[cfg(feature = "bundled-policies")]
    #[test]
    fn every_fixture_and_corpus_document_is_read_as_serde_json_reads_it() {
        let mut texts = Vec::new();
        use std::io::Read;
        let mut corpus = String::new();
        flate2::read::GzDecoder::new(crate::bundled::DATA).read_to_string(&mut corpus).unwrap();
        texts.push(corpus);
        texts.extend(crate::json_tree::tests::fixture_texts(&["json", "sarif"]));
        assert!(texts.len() > 60, "{} texts", texts.len());
        let mut documents = 0;
        for text in texts.clone() {
            let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
            let mut inner = Vec::new();
            embedded(&value, &mut inner);
            documents += inner.len();
            texts.extend(inner);
        }
        assert!(documents > 1452, "{documents} embedded documents");
        let mut read = 0;
        for text in &texts {
            agrees(text).unwrap();
            read += usize::from(both(text).0.is_some());
        }
        // The fast path is the common one, not a path that gives up on real documents.
        assert!(read * 100 >= texts.len() * 95, "{read} of {} read by the fast parser", texts.len());
    }

    /// Any JSON value, with strings of every kind of character.
    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
            "\\PC{0,40}".prop_map(Value::String),
            proptest::collection::vec(any::<char>(), 0..40).prop_map(|c| Value::String(c.into_iter().collect())),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::vec(("\\PC{0,8}", inner), 0..8)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// Bytes that mean something to a JSON parser, to put anywhere in a text.
    fn any_edit() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "\"", "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "\u{1}", "\u{1f}", "0", "-", ".", "e", "+", "t",
            "\\u", "\\ud83d", "\\n", "é", "",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn generated_json_is_read_as_serde_json_reads_it(value in any_value()) {
            reads(&serde_json::to_string(&value).unwrap());
            reads(&serde_json::to_string_pretty(&value).unwrap());
        }

        /// A valid text with bytes changed, inserted or removed: read as serde_json reads it,
        /// or left to it.
        #[test]
        fn edited_json_is_read_as_serde_json_reads_it_or_left_to_it(
            value in any_value(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any_edit(), 0usize..3), 1..4),
        ) {
            let mut text = serde_json::to_string(&value).unwrap();
            for (at, edit, removed) in edits {
                let mut at = at.index(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let mut end = (at + removed).min(text.len());
                while !text.is_char_boundary(end) {
                    end += 1;
                }
                text.replace_range(at..end, edit);
            }
            prop_assert!(agrees(&text).is_ok(), "{}", agrees(&text).unwrap_err());
        }
    }
}
