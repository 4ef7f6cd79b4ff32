//! The bytes that give a JSON text its structure, 64 at a time: where its quotes,
//! backslashes, opening brackets and closing brackets are, as one bit mask each.
//!
//! Why: the reader's split ([`super::split`]) finds where each list entry ends by its strings
//! and brackets alone. Looked at a byte at a time, with a call per string, that cost some five
//! instructions a byte on a GAAD file, whose policy documents are nested objects of short
//! strings (callgrind, issue 18). Here 64 bytes take some 60 instructions where the CPU has SSE2
//! (every x86-64, through `safe_arch`'s safe wrappers), whatever their strings and brackets;
//! the split then steps only through the brackets outside strings ([`super::split`] says how
//! it tells those apart).

/// The bytes a [`Block`] stands for.
pub(super) const WIDTH: usize = 64;

/// Where each kind of structural byte is in 64 bytes: bit `i` of a mask stands for byte `i`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Block {
    /// `"`
    pub(super) quotes: u64,
    /// `\`
    pub(super) backslashes: u64,
    /// `{` and `[`
    pub(super) opens: u64,
    /// `}` and `]`
    pub(super) closes: u64,
}

impl Block {
    /// The masks of `bytes`.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    pub(super) fn of(bytes: &[u8; WIDTH]) -> Block {
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

    /// The masks of `bytes`, a byte at a time: no SSE2 on this CPU.
    #[cfg(not(target_arch = "x86_64"))]
    pub(super) fn of(bytes: &[u8; WIDTH]) -> Block {
        Block::by_bytes(bytes)
    }

    /// The masks of `bytes`, a byte at a time: the plain answer.
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    pub(super) fn by_bytes(bytes: &[u8; WIDTH]) -> Block {
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
pub(super) fn prefix_parity(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
