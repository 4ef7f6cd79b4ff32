//! Where a JSON string's text stops: the first quote or backslash, found 16 bytes (or a word)
//! at a time in short strings and 32 bytes at a time in long ones. Both the dry-run's reader
//! (which only finds where each entry ends, [`crate::export`]) and the parser
//! ([`super::fast`]) look for it in every string they meet.
//!
//! Most strings of an item are short (keys, names, ARNs: 1.1 million of the 100 MB workload's
//! 1.7 million strings are under 16 bytes), and most of its bytes are in a few long ones
//! (URL-encoded policy documents, 68 of its 100 MB). `memchr2` looks at 32 bytes an
//! instruction or two, but each call costs some 60 instructions before it looks at any: on
//! the short strings, that was most of the reader's and the parser's string handling
//! (callgrind, issue 18). So the first [`SHORT`] bytes of a string are looked at a block of
//! 16 at a time (SSE2, through `safe_arch`'s safe wrappers), or where there are no blocks eight
//! bytes at a time as serde_json looks at all of it, and only a string longer than that is
//! handed to `memchr2`.

/// Whether a control character before the quote or backslash ends the look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Controls {
    /// The reader's split: control characters are the parser's to refuse, for the one entry.
    Allowed,
    /// The parser: JSON does not allow them unescaped in a string.
    Refused,
}

/// How many bytes are looked at a block (or, where there are no blocks, a word) at a time
/// before `memchr2` takes over.
const SHORT: usize = 64;

/// A one in every byte of a word.
const ONES: u64 = u64::MAX / 255;

/// The high bit of every byte of a word.
const HIGHS: u64 = ONES << 7;

/// Where the first quote or backslash of `bytes` is. `None` when there is none, or when
/// `controls` refuses them and a control character comes first.
///
/// The first [`SHORT`] bytes are looked at 16 at a time where the CPU has SSE2 (every
/// x86-64): three compares and a mask of the block, some fifteen instructions for a string
/// that ends in it, as most do; a word at a time, the dry-run took 7% more instructions on the
/// 100 MB snapshot (callgrind, issue 18: 2.190 G against 2.034 G). Elsewhere, and for the
/// last bytes of the input when fewer than 16 are left, a word at a time.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn quote_or_backslash(bytes: &[u8], controls: Controls) -> Option<usize> {
    let mut at = 0;
    while at < SHORT {
        let Some(marks) = bytes.get(at..).and_then(|rest| block_marks(rest, controls)) else {
            // Fewer than 16 bytes left.
            return by_words(bytes.get(at..)?, controls).map(|found| at + found);
        };
        if marks.any != 0 {
            let first = marks.any.trailing_zeros();
            return (marks.controls >> first & 1 == 0).then_some(at + first as usize);
        }
        at += BLOCK;
    }
    after_short(bytes, at, controls)
}

/// Where the first quote or backslash of `bytes` is. `None` when there is none, or when
/// `controls` refuses them and a control character comes first. A word at a time: no SSE2
/// blocks on this CPU.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn quote_or_backslash(bytes: &[u8], controls: Controls) -> Option<usize> {
    by_words(bytes, controls)
}

/// The bytes of a block.
#[cfg(target_arch = "x86_64")]
const BLOCK: usize = 16;

/// The marks of a block: bit `i` stands for its byte `i`.
#[cfg(target_arch = "x86_64")]
struct Marks {
    /// Quotes and backslashes, and control characters when they are refused.
    any: u32,
    /// Control characters, when they are refused.
    controls: u32,
}

/// The marks of the first [`BLOCK`] bytes of `bytes`. `None` when `bytes` is shorter than a
/// block.
#[cfg(target_arch = "x86_64")]
#[inline]
fn block_marks(bytes: &[u8], controls: Controls) -> Option<Marks> {
    use safe_arch::{cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i, set_splat_i8_m128i};
    let block: &[u8; BLOCK] = bytes.get(..BLOCK)?.try_into().ok()?;
    let block = load_unaligned_m128i(block);
    let quotes = cmp_eq_mask_i8_m128i(block, set_splat_i8_m128i(b'"' as i8))
        | cmp_eq_mask_i8_m128i(block, set_splat_i8_m128i(b'\\' as i8));
    // Each mask has one bit a byte, in its low 16 bits.
    let quotes = move_mask_i8_m128i(quotes) as u32;
    let controls = match controls {
        Controls::Allowed => 0,
        // Bytes under 0x20: those the unsigned minimum with 0x1f leaves as they are.
        Controls::Refused => {
            move_mask_i8_m128i(cmp_eq_mask_i8_m128i(min_u8_m128i(block, set_splat_i8_m128i(0x1f)), block)) as u32
        }
    };
    Some(Marks { any: quotes | controls, controls })
}

/// [`quote_or_backslash`] a word at a time: the first [`SHORT`] bytes in words, then
/// `memchr2`. Out of line on x86-64 (there it looks only at the last bytes of the input), so
/// that less code is inlined with the blocks' look where strings are read (0.4% fewer
/// instructions on the 100 MB snapshot, with [`after_short`] out of line too).
#[cfg_attr(target_arch = "x86_64", inline(never))]
fn by_words(bytes: &[u8], controls: Controls) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    for (index, word) in words.by_ref().take(SHORT / 8).enumerate() {
        let mut bytes_of_word = [0; 8];
        bytes_of_word.copy_from_slice(word);
        let word = u64::from_le_bytes(bytes_of_word);
        let mut found = quotes_and_backslashes(word);
        if controls == Controls::Refused {
            found |= control_bytes(word);
        }
        if found != 0 {
            // The lowest byte marked is exact; those above it may be marked by a borrow.
            let at = index * 8 + found.trailing_zeros() as usize / 8;
            return matches!(bytes.get(at), Some(b'"' | b'\\')).then_some(at);
        }
    }
    after_short(bytes, bytes.len().min(SHORT) / 8 * 8, controls)
}

/// The rest of [`quote_or_backslash`], from `from` on, where the first bytes held no quote,
/// backslash or (refused) control character: `memchr2`, and the control characters before
/// what it finds. Out of line, as [`by_words`]: few strings are this long.
#[inline(never)]
fn after_short(bytes: &[u8], from: usize, controls: Controls) -> Option<usize> {
    let rest = bytes.get(from..)?;
    let found = memchr::memchr2(b'"', b'\\', rest);
    if controls == Controls::Refused {
        // The least byte before the end: a reduction the compiler vectorizes.
        let before = rest.get(..found.unwrap_or(rest.len()))?;
        if before.iter().fold(u8::MAX, |least, &byte| least.min(byte)) < 0x20 {
            return None;
        }
    }
    found.map(|found| from + found)
}

/// How many plain words (8 bytes each) in a row [`through_escapes`] takes before it hands the
/// rest of a string back to [`quote_or_backslash`] (whose `memchr2` is faster on long runs).
const SPARSE_WORDS: usize = 4;

/// Where [`through_escapes`] stopped, as an offset from the backslash it started at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escapes {
    /// At the string's closing quote.
    Quote(usize),
    /// After [`SPARSE_WORDS`] words without a quote or backslash: the escapes are no longer
    /// close together.
    Sparse(usize),
    /// At or past the end of the bytes given (one past it when they end in a backslash).
    Short(usize),
}

/// From the backslash `bytes` starts with: stepping over each escape (a backslash and the byte
/// after it) to the next quote or backslash, a word at a time, until the string's closing
/// quote, or until [`SPARSE_WORDS`] words in a row hold neither. A string that holds a JSON
/// document (a key policy in `supplementaryConfiguration.Policy`) has an escape every 8 bytes
/// or so; there, a call of [`quote_or_backslash`] per escape cost the reader's split some 90
/// instructions an escape (callgrind, 100 MB snapshot), most of them the call's own. Control
/// characters are not looked at (the reader's split: [`Controls::Allowed`]).
pub(crate) fn through_escapes(bytes: &[u8]) -> Escapes {
    // At a backslash.
    let mut at = 2;
    let mut plain = 0;
    while let Some(word) = bytes.get(at..at + 8) {
        let mut bytes_of_word = [0; 8];
        bytes_of_word.copy_from_slice(word);
        let word = u64::from_le_bytes(bytes_of_word);
        let found = quotes_and_backslashes(word);
        if found == 0 {
            at += 8;
            plain += 1;
            if plain == SPARSE_WORDS {
                return Escapes::Sparse(at);
            }
            continue;
        }
        plain = 0;
        // The lowest byte marked is exact (a borrow marks only bytes above it).
        at += found.trailing_zeros() as usize / 8;
        match bytes.get(at) {
            Some(b'"') => return Escapes::Quote(at),
            _ => at += 2,
        }
    }
    // Fewer than 8 bytes left: one at a time.
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => return Escapes::Quote(at),
            b'\\' => at += 2,
            _ => at += 1,
        }
    }
    Escapes::Short(at)
}

/// Copies the bytes of `bytes` up to its first quote, backslash or control character (the
/// next mark of a string being unescaped) into `out` from `at` on; how many. Eight bytes at a
/// time, or 16 where the CPU has SSE2: each is copied whole (`out` has room for that), and the
/// count stops at the mark. A string that holds a JSON document (a key policy) has an
/// escape every 8 bytes or so: there a call of [`quote_or_backslash`] and a `memcpy` for each
/// run cost the parser some 90 instructions an escape (callgrind, 100 MB snapshot). `None`
/// when `out` is short of that room (16 bytes more than `bytes` where the CPU has SSE2).
/// Inlined always: it is called for each escape, and as a call it took some 15 instructions
/// more an escape (callgrind, 100 MB snapshot: 1.764 G to 1.749 G).
#[inline(always)]
pub(crate) fn copy_plain_run(bytes: &[u8], out: &mut [u8], at: usize) -> Option<usize> {
    // Where the CPU has SSE2 (every x86-64), a block of 16 at a time first.
    #[cfg(target_arch = "x86_64")]
    let copied = {
        let mut copied = 0;
        while let Some(block) = bytes.get(copied..copied + BLOCK) {
            out.get_mut(at + copied..at + copied + BLOCK)?.copy_from_slice(block);
            let Some(marks) = block_marks(block, Controls::Refused) else { break };
            if marks.any != 0 {
                return Some(copied + marks.any.trailing_zeros() as usize);
            }
            copied += BLOCK;
        }
        copied
    };
    #[cfg(not(target_arch = "x86_64"))]
    let copied = 0;
    copy_plain_words(bytes, out, at, copied)
}

/// [`copy_plain_run`] from `copied` on, a word at a time.
fn copy_plain_words(bytes: &[u8], out: &mut [u8], at: usize, mut copied: usize) -> Option<usize> {
    while let Some(word) = bytes.get(copied..copied + 8) {
        let mut bytes_of_word = [0; 8];
        bytes_of_word.copy_from_slice(word);
        out.get_mut(at + copied..at + copied + 8)?.copy_from_slice(&bytes_of_word);
        let word = u64::from_le_bytes(bytes_of_word);
        // The lowest byte marked by each test is exact, so the lowest of both is.
        let found = quotes_and_backslashes(word) | control_bytes(word);
        if found != 0 {
            return Some(copied + found.trailing_zeros() as usize / 8);
        }
        copied += 8;
    }
    // Fewer than 8 bytes left: one at a time.
    for &byte in bytes.iter().skip(copied) {
        if byte == b'"' || byte == b'\\' || byte < 0x20 {
            break;
        }
        *out.get_mut(at + copied)? = byte;
        copied += 1;
    }
    Some(copied)
}

/// How many bytes of `bytes` come before its first quote, backslash or control character (the
/// bytes serde_json escapes in a string): all of them when it has none. A word at a time: the
/// dry-run's JSON report asks it of every string it writes, and most need no escape.
#[cfg(feature = "cli")]
pub(crate) fn plain_run(bytes: &[u8]) -> usize {
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let mut bytes_of_word = [0; 8];
        bytes_of_word.copy_from_slice(word);
        let word = u64::from_le_bytes(bytes_of_word);
        // The lowest byte marked by each test is exact, so the lowest of both is.
        let found = quotes_and_backslashes(word) | control_bytes(word);
        if found != 0 {
            return at + found.trailing_zeros() as usize / 8;
        }
        at += 8;
    }
    at + words.remainder().iter().take_while(|&&b| b != b'"' && b != b'\\' && b >= 0x20).count()
}

/// The high bit of each quote and backslash of `word`, exact for the lowest (a borrow marks
/// only bytes above a marked one).
fn quotes_and_backslashes(word: u64) -> u64 {
    zero_bytes(word ^ (ONES * u64::from(b'"'))) | zero_bytes(word ^ (ONES * u64::from(b'\\')))
}

/// The high bit of each byte of `word` under 0x20 (a control character), exact for the lowest.
fn control_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES * 0x20) & !word & HIGHS
}

/// The high bit of each zero byte of `word` (Mycroft's test), exact for the lowest zero byte.
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGHS
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plain answer, byte by byte.
    fn by_bytes(bytes: &[u8], controls: Controls) -> Option<usize> {
        let at = bytes.iter().position(|&b| b == b'"' || b == b'\\' || (controls == Controls::Refused && b < 0x20))?;
        matches!(bytes.get(at), Some(b'"' | b'\\')).then_some(at)
    }

    /// Where the string that `bytes` continues (its opening quote before them) ends: its
    /// closing quote, found as the reader's split finds it, with [`through_escapes`] after
    /// each backslash.
    fn closing_quote(bytes: &[u8]) -> Option<usize> {
        let mut offset = 0;
        loop {
            let rest = bytes.get(offset..)?;
            let found = quote_or_backslash(rest, Controls::Allowed)?;
            if rest.get(found) == Some(&b'"') {
                return Some(offset + found);
            }
            match through_escapes(rest.get(found..)?) {
                Escapes::Quote(at) => return Some(offset + found + at),
                Escapes::Sparse(at) | Escapes::Short(at) => offset += found + at,
            }
        }
    }

    /// The plain answer: a byte at a time, a backslash taking the byte after it.
    fn closing_quote_by_bytes(bytes: &[u8]) -> Option<usize> {
        let mut at = 0;
        loop {
            match bytes.get(at)? {
                b'"' => return Some(at),
                b'\\' => at += 2,
                _ => at += 1,
            }
        }
    }

    /// Quotes, backslashes and control characters, the bytes one away from them (where a
    /// borrow could mislead), bytes past ASCII, and letters.
    fn marks_and_neighbours() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(b'"'),
            Just(b'\\'),
            Just(b'#'),
            Just(b'!'),
            Just(b']'),
            Just(b'['),
            Just(0u8),
            Just(0x1f),
            Just(0x20),
            Just(0x21),
            Just(0x7f),
            Just(0x80),
            Just(0xff),
            b'a'..=b'z',
        ]
    }

    #[test]
    fn through_escapes_stops_at_the_quote_or_after_a_plain_run() {
        assert_eq!(through_escapes(br#"\"a\"b""#), Escapes::Quote(6));
        assert_eq!(through_escapes(br#"\\"#), Escapes::Short(2));
        assert_eq!(through_escapes(br#"\"#), Escapes::Short(2));
        let long = [&br#"\n"#[..], &[b'x'; 8 * SPARSE_WORDS + 5][..], &b"\""[..]].concat();
        assert_eq!(through_escapes(&long), Escapes::Sparse(2 + 8 * SPARSE_WORDS));
        assert_eq!(closing_quote(&long), Some(long.len() - 1));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Escapes close together and far apart, at every length around [`SPARSE_WORDS`] words: the split's
        /// look finds the quote a byte-by-byte look finds.
        #[test]
        fn the_closing_quote_is_where_a_byte_by_byte_look_finds_it(
            bytes in proptest::collection::vec(
                prop_oneof![
                    4 => b'a'..=b'z',
                    1 => Just(b'\\'),
                    1 => Just(b'"'),
                    1 => Just(0u8),
                ],
                0..120,
            ),
            filler in 0usize..80,
        ) {
            let mut text = vec![b'x'; filler];
            text.extend_from_slice(&bytes);
            prop_assert_eq!(closing_quote(&text), closing_quote_by_bytes(&text));
        }

        /// The run copied is the bytes before the first quote, backslash or control character,
        /// at every length around the words' edges, with bytes one away from the marks (where
        /// a borrow could mislead) anywhere.
        #[test]
        fn the_plain_run_copied_is_what_a_byte_by_byte_look_takes(
            bytes in proptest::collection::vec(marks_and_neighbours(), 0..40),
            filler in 0usize..24,
            already in proptest::collection::vec(any::<u8>(), 0..3),
        ) {
            let mut text = vec![b'x'; filler];
            text.extend_from_slice(&bytes);
            let plain = text.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(text.len());
            let mut out = [already.clone(), vec![0; text.len() + 16]].concat();
            prop_assert_eq!(copy_plain_run(&text, &mut out, already.len()), Some(plain));
            prop_assert_eq!(&out[..already.len() + plain], &[&already[..], &text[..plain]].concat()[..]);
            // Without room for the last word, it says so.
            let mut short = vec![0; already.len() + plain];
            if plain + 16 <= text.len() {
                prop_assert_eq!(copy_plain_run(&text, &mut short, already.len()), None);
            }
        }

        /// As serde_json decides it: the plain run is what serde_json writes unescaped
        /// before its first escape.
        #[cfg(feature = "cli")]
        #[test]
        fn the_plain_run_ends_where_serde_json_writes_an_escape(
            text in proptest::collection::vec(
                prop_oneof![
                    Just('"'), Just('\\'), Just('/'), Just('\u{0}'), Just('\u{1f}'), Just(' '),
                    Just('!'), Just('#'), Just(']'), Just('\u{7f}'), Just('é'), Just('\u{2028}'),
                    proptest::char::range('a', 'z'),
                ],
                0..40,
            ),
        ) {
            let text: String = text.into_iter().collect();
            let plain = plain_run(text.as_bytes());
            let written = serde_json::to_string(&text).unwrap();
            // serde_json writes the plain run as it is, then a backslash or the closing quote.
            prop_assert!(written.as_bytes().get(1..1 + plain) == text.as_bytes().get(..plain));
            let next = if plain == text.len() { b'"' } else { b'\\' };
            prop_assert_eq!(written.as_bytes().get(1 + plain), Some(&next));
        }

        /// Every length around the words' edges, with quotes, backslashes and control
        /// characters (and bytes one away from them, where a borrow could mislead) anywhere.
        #[test]
        fn finds_what_a_byte_by_byte_look_finds(
            bytes in proptest::collection::vec(marks_and_neighbours(), 0..80),
            filler in 0usize..64,
        ) {
            // Long runs of plain bytes in front, so that the look reaches `memchr2`.
            let mut text = vec![b'x'; filler];
            text.extend_from_slice(&bytes);
            for controls in [Controls::Allowed, Controls::Refused] {
                prop_assert_eq!(quote_or_backslash(&text, controls), by_bytes(&text, controls));
                // The word-at-a-time look, which x86-64 uses only for the last bytes.
                prop_assert_eq!(by_words(&text, controls), by_bytes(&text, controls));
            }
        }
    }
}
