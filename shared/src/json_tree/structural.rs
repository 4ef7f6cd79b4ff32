//! The bytes that give a JSON text its structure, 64 at a time: where its quotes,
//! backslashes, opening brackets and closing brackets are, as one bit mask each.
//!
//! Why: the reader's split ([`crate::export`]'s `split`) finds where each list entry ends by
//! its strings and brackets alone, and the parser where a document it may leave unread ends
//! ([`object_end`]). Looked at a byte at a time, with a call per string, that cost some five
//! instructions a byte on a GAAD file, whose policy documents are nested objects of short
//! strings (callgrind, issue 18). Here 64 bytes take some 60 instructions where the CPU has SSE2
//! (every x86-64, through `safe_arch`'s safe wrappers), whatever their strings and brackets;
//! the split then steps only through the brackets outside strings ([`delimiting_quotes`] and
//! [`prefix_parity`] tell those apart).

/// The bytes a [`Block`] stands for.
pub(crate) const WIDTH: usize = 64;

/// Where each kind of structural byte is in 64 bytes: bit `i` of a mask stands for byte `i`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Block {
    /// `"`
    pub(crate) quotes: u64,
    /// `\`
    pub(crate) backslashes: u64,
    /// `{` and `[`
    pub(crate) opens: u64,
    /// `}` and `]`
    pub(crate) closes: u64,
}

impl Block {
    /// The masks of `bytes`.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    pub(crate) fn of(bytes: &[u8; WIDTH]) -> Block {
        use safe_arch::{cmp_eq_mask_i8_m128i, load_unaligned_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i};
        let mut block = Block::default();
        for (k, sixteen) in bytes.chunks_exact(16).enumerate() {
            // Four chunks of exactly 16 bytes: the conversion never fails (were one to, the
            // proptest below would find its marks missing).
            let Ok(sixteen) = <&[u8; 16]>::try_from(sixteen) else { continue };
            let bytes = load_unaligned_m128i(sixteen);
            // One bit a byte, in the low 16 bits of the mask.
            let mask = |marked: m128i| u64::from(move_mask_i8_m128i(marked) as u16) << (16 * k);
            let equal = |byte: u8| cmp_eq_mask_i8_m128i(bytes, set_splat_i8_m128i(byte as i8));
            block.quotes |= mask(equal(b'"'));
            block.backslashes |= mask(equal(b'\\'));
            // `[` and `]` differ from `{` and `}` only in the bit 0x20, which no other byte
            // with it set turns into a bracket.
            let folded = bytes | set_splat_i8_m128i(0x20);
            block.opens |= mask(cmp_eq_mask_i8_m128i(folded, set_splat_i8_m128i(b'{' as i8)));
            block.closes |= mask(cmp_eq_mask_i8_m128i(folded, set_splat_i8_m128i(b'}' as i8)));
        }
        block
    }

    /// Which of the block's bytes are in a string (bit `i` for byte `i`: an opening quote in,
    /// a closing one out), from inside a string or not (`in_string`), its first byte escaped or
    /// not (`escaped`); and whether the next block's first byte is escaped. Its quotes that
    /// open or close a string are all of them when it has no backslash (most blocks).
    ///
    /// With backslashes, they are first taken for escapes wherever they stand
    /// ([`escaped_bytes`], without a loop); that is the answer when every backslash is then in
    /// a string, and [`delimiting_quotes`] (a mark at a time, a backslash outside a string
    /// escaping nothing) is asked otherwise. Why the first answer is right then: taken in
    /// order, the two readings agree up to the first backslash outside a string, where they
    /// part; if the first reading has none, they never part. Why: a key policy in a
    /// configuration item is a string with a backslash every few bytes, and taking them one
    /// at a time cost the reader's split about a dozen instructions each.
    #[inline(always)]
    pub(crate) fn strings(&self, in_string: bool, escaped: bool) -> (u64, bool) {
        let flip = if in_string { u64::MAX } else { 0 };
        if self.backslashes == 0 && !escaped {
            return (prefix_parity(self.quotes) ^ flip, false);
        }
        let mut carried = escaped;
        let strings = prefix_parity(self.quotes & !escaped_bytes(self.backslashes, &mut carried)) ^ flip;
        if self.backslashes & !strings == 0 {
            return (strings, carried);
        }
        let (quotes, escapes_next) = delimiting_quotes(self, in_string, escaped);
        (prefix_parity(quotes) ^ flip, escapes_next)
    }

    /// The masks of `bytes`, a byte at a time: no SSE2 on this CPU.
    #[cfg(not(target_arch = "x86_64"))]
    pub(crate) fn of(bytes: &[u8; WIDTH]) -> Block {
        Block::by_bytes(bytes)
    }

    /// The masks of `bytes`, a byte at a time: the plain answer.
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    pub(crate) fn by_bytes(bytes: &[u8; WIDTH]) -> Block {
        let mut block = Block::default();
        for (i, byte) in bytes.iter().enumerate() {
            let bit = 1 << i;
            match byte {
                b'"' => block.quotes |= bit,
                b'\\' => block.backslashes |= bit,
                b'{' | b'[' => block.opens |= bit,
                b'}' | b']' => block.closes |= bit,
                _ => {}
            }
        }
        block
    }
}

/// Bit `i` of the result is the parity of the bits `0..=i` of `bits`: given the quotes that
/// open and close strings, which bytes are in a string (the opening quote counted in, the
/// closing one out).
pub(crate) fn prefix_parity(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

/// The quotes of `block` that open or close a string, and whether its last byte is a
/// backslash that escapes the first byte of the next block: its quotes and backslashes taken
/// in order, from inside a string or not (`in_string`), with its first byte escaped or not
/// (`escaped`). In a string, a backslash escapes the byte after it (a quote or backslash
/// there is text); outside one, a backslash is not JSON, and is the parser's to refuse for the
/// one entry, as every byte between strings and brackets is.
pub(crate) fn delimiting_quotes(block: &Block, mut in_string: bool, escaped: bool) -> (u64, bool) {
    let mut marks = block.quotes | block.backslashes;
    if escaped {
        marks &= !1;
    }
    let mut quotes = 0;
    while marks != 0 {
        let bit = marks & marks.wrapping_neg();
        marks &= !bit;
        if block.quotes & bit != 0 {
            quotes |= bit;
            in_string = !in_string;
        } else if in_string {
            // The byte after it is escaped: in this block, or (after its last byte) the next
            // one's first.
            let next = bit << 1;
            if next == 0 {
                return (quotes, true);
            }
            marks &= !next;
        }
    }
    (quotes, false)
}

/// Where the object or array that `bytes` opens (at its bracket) closes, by its brackets and
/// strings alone: its length, and how deeply it nests (1 with no array or object inside), or
/// `None` when it does not close in `bytes`. It checks nothing else (a bracket closes whichever
/// kind is open): what it finds is only compared with a text known to be well formed
/// (`fast::Parser::kept`).
///
/// A [`Block`] at a time, as the split steps through an entry: a byte at a time, with a call
/// per string, the look took 7% of a 1 GB GAAD run's time (perf, issue 18).
pub(crate) fn object_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let (mut offset, mut depth, mut deepest) = (0, 0usize, 0);
    // Whether the block starts inside a string, and with a byte a backslash escapes.
    let (mut in_string, mut escaped) = (false, false);
    loop {
        let block = block_of(bytes.get(offset..).filter(|rest| !rest.is_empty())?);
        let (strings, escapes_next) = block.strings(in_string, escaped);
        let mut brackets = (block.opens | block.closes) & !strings;
        while brackets != 0 {
            let i = brackets.trailing_zeros() as usize;
            brackets &= brackets - 1;
            if block.opens >> i & 1 == 1 {
                depth += 1;
                deepest = deepest.max(depth);
                continue;
            }
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some((offset + i + 1, deepest));
            }
        }
        in_string = strings >> 63 == 1;
        escaped = escapes_next;
        offset += WIDTH;
    }
}

/// The block of the first [`WIDTH`] bytes of `rest`, the last bytes of a text padded with
/// spaces (which are none of the marks), as the split pads them: for [`object_end`] and
/// [`string_end`], which read only the block's marks. (The split keeps its own: it reads a
/// bracket's kind from the block's bytes, which this cannot give it without a bounds check;
/// one function for the split and `object_end` took 1% more instructions on the snapshot and
/// 2.6% more on GAAD, inlined or not, callgrind, 100 MB.)
#[inline(always)]
fn block_of(rest: &[u8]) -> Block {
    let mut padded: [u8; WIDTH];
    let bytes: &[u8; WIDTH] = match rest.get(..WIDTH).and_then(|bytes| bytes.try_into().ok()) {
        Some(bytes) => bytes,
        None => {
            padded = [b' '; WIDTH];
            for (pad, byte) in padded.iter_mut().zip(rest) {
                *pad = *byte;
            }
            &padded
        }
    };
    Block::of(bytes)
}

/// The bytes of a block inside a string that a backslash escapes (bit `i` for byte `i`), from
/// its backslashes, with `carried` saying whether the block's first byte is escaped by the
/// block before; `carried` is then set for the next block. Without a branch or a loop:
/// where a string holds a JSON document (a key policy, a backslash every few bytes), taking
/// the backslashes one at a time ([`delimiting_quotes`]) costs a dozen instructions each.
///
/// How: a run of backslashes escapes every second byte from its first, so the byte after it is
/// escaped when the run is odd. Subtracting the runs' bits from the bits just after them, with
/// every odd place set, borrows through each run: it leaves the escaping backslashes, and the
/// byte each run escapes, marked at the places of one parity or the other, depending on where
/// the run starts; flipping the odd places back lines both kinds up. (The technique of
/// simdjson's escape scanner, Langdale and Lemire; written here from its description.)
pub(crate) fn escaped_bytes(backslashes: u64, carried: &mut bool) -> u64 {
    const ODD: u64 = 0xAAAA_AAAA_AAAA_AAAA;
    let first = u64::from(*carried);
    // An escaped first byte escapes nothing, even when it is a backslash.
    let escaping = backslashes & !first;
    // The escaping backslashes and the bytes they escape, at alternating places.
    let marked = ((escaping << 1 | ODD).wrapping_sub(escaping)) ^ ODD;
    let escaped = marked ^ (backslashes | first);
    *carried = (marked & backslashes) >> 63 == 1;
    escaped
}

/// Where the string whose text `bytes` holds (from after its opening quote) ends: the place
/// of its first quote that no backslash escapes, or `None` when it does not end in `bytes`. A
/// [`Block`] at a time, its escaped bytes found by [`escaped_bytes`]. It checks nothing else:
/// what it finds is only compared with a text known to be a well-formed string's
/// (`fast::Parser::kept_string`).
pub(crate) fn string_end(bytes: &[u8]) -> Option<usize> {
    let mut offset = 0;
    let mut carried = false;
    loop {
        let block = block_of(bytes.get(offset..).filter(|rest| !rest.is_empty())?);
        let ends = block.quotes & !escaped_bytes(block.backslashes, &mut carried);
        if ends != 0 {
            return Some(offset + ends.trailing_zeros() as usize);
        }
        offset += WIDTH;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// [`object_end`], a byte at a time: the plain answer.
    fn object_end_by_bytes(bytes: &[u8]) -> Option<(usize, usize)> {
        let (mut at, mut depth, mut deepest) = (0, 0usize, 0);
        loop {
            match *bytes.get(at)? {
                b'{' | b'[' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some((at + 1, deepest));
                    }
                }
                b'"' => loop {
                    at += 1;
                    match *bytes.get(at)? {
                        b'"' => break,
                        // A backslash, and the character it escapes.
                        b'\\' => at += 1,
                        _ => {}
                    }
                },
                _ => {}
            }
            at += 1;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// The masks are the ones a byte-by-byte look makes (every byte one away in the bit
        /// 0x20 from a bracket or a quote included).
        #[test]
        fn the_masks_are_the_bytes(
            bytes in proptest::array::uniform32(prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'['), Just(b'}'), Just(b']'),
                Just(b'{' ^ 0x20), Just(b'}' ^ 0x20), Just(b'"' ^ 0x20), Just(b'|'),
                Just(0u8), Just(0x80), Just(0xfb), Just(0xff), any::<u8>(),
            ]),
            more in proptest::array::uniform32(any::<u8>()),
        ) {
            let mut all = [0; WIDTH];
            all[..32].copy_from_slice(&bytes);
            all[32..].copy_from_slice(&more);
            prop_assert_eq!(Block::of(&all), Block::by_bytes(&all));
            all.reverse();
            prop_assert_eq!(Block::of(&all), Block::by_bytes(&all));
        }

        /// The end found a block at a time is the one found a byte at a time, over texts
        /// dense with the marks (strings, escapes, brackets of both kinds, unclosed ones),
        /// across block borders.
        #[test]
        fn an_object_ends_where_a_byte_by_byte_look_finds_it(
            body in proptest::collection::vec(prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'['), Just(b'}'), Just(b']'),
                Just(b'a'), Just(b' '), Just(b':'),
            ], 0..300),
        ) {
            let mut text = vec![b'{'];
            text.extend(&body);
            prop_assert_eq!(object_end(&text), object_end_by_bytes(&text));
        }

        /// The bytes found escaped a block at a time, carried across blocks, are the ones a
        /// byte-by-byte walk finds (runs of backslashes of every length, across borders); and
        /// a string ends where the walk ends it.
        #[test]
        fn escapes_are_found_as_a_byte_by_byte_walk_finds_them(
            text in proptest::collection::vec(prop_oneof![
                3 => Just(b'\\'), 1 => Just(b'"'), 1 => Just(b'a'), 1 => Just(b'n'),
            ], 0..400),
        ) {
            // The walk: a backslash not itself escaped escapes the byte after it.
            let mut walked = vec![false; text.len()];
            let mut end = None;
            let mut at = 0;
            while at < text.len() {
                match text[at] {
                    b'\\' => {
                        if at + 1 < text.len() {
                            walked[at + 1] = true;
                        }
                        at += 2;
                    }
                    b'"' => {
                        end = end.or(Some(at));
                        at += 1;
                    }
                    _ => at += 1,
                }
            }
            let mut carried = false;
            for (k, chunk) in text.chunks(WIDTH).enumerate() {
                let mut block = [b' '; WIDTH];
                block[..chunk.len()].copy_from_slice(chunk);
                let escaped = escaped_bytes(Block::by_bytes(&block).backslashes, &mut carried);
                for (i, byte_escaped) in walked[k * WIDTH..k * WIDTH + chunk.len()].iter().enumerate() {
                    prop_assert_eq!(escaped >> i & 1 == 1, *byte_escaped, "byte {}", k * WIDTH + i);
                }
            }
            prop_assert_eq!(string_end(&text), end);
        }

        /// The strings of a block are the ones its marks taken in order give
        /// ([`delimiting_quotes`]), from inside a string or not, its first byte escaped or
        /// not: blocks dense with quotes and backslashes, inside strings and out.
        #[test]
        fn strings_are_the_marks_taken_in_order(
            // Each byte drawn from a backslash (three times in eight), a quote (twice), a letter,
            // a bracket opening or closing: as an index into the table below, a strategy small
            // enough for a debug build's test thread.
            picks in proptest::collection::vec(0usize..8, WIDTH),
            in_string in any::<bool>(),
            escaped in any::<bool>(),
        ) {
            const BYTES: [u8; 8] = [b'\\', b'\\', b'\\', b'"', b'"', b'a', b'{', b'}'];
            let mut all = [0; WIDTH];
            for (byte, pick) in all.iter_mut().zip(&picks) {
                *byte = BYTES[*pick];
            }
            let block = Block::by_bytes(&all);
            let (quotes, escapes_next) = delimiting_quotes(&block, in_string, escaped);
            let flip = if in_string { u64::MAX } else { 0 };
            prop_assert_eq!(block.strings(in_string, escaped), (prefix_parity(quotes) ^ flip, escapes_next));
        }

        #[test]
        fn prefix_parity_is_the_parity_of_the_bits_up_to_each(bits in any::<u64>()) {
            let parity = prefix_parity(bits);
            for i in 0..64 {
                let ones = (bits & (u64::MAX >> (63 - i))).count_ones();
                prop_assert_eq!(parity >> i & 1, u64::from(ones % 2));
            }
        }
    }
}
