//! Wildcard patterns as IAM writes them: `*` matches any run of characters (including none),
//! `?` matches exactly one character. Nothing else is special: there are no character classes
//! and no escapes, so a regex engine would only add ways to be wrong.
//!
//! A pattern is parsed once into tokens and matched by one small function, [`Pattern::matches`],
//! which runs in O(pattern × text) time in the worst case (greedy matching with one
//! back-tracking point), never exponentially, however many `*` a document holds.
//!
//! Case rules differ by what is matched, so they are part of the pattern:
//! - actions (`kms:Decrypt`) match ASCII case-insensitively, as IAM matches them;
//! - ARNs match case-sensitively.
//!
//! Policy variables (`${aws:username}`) are resolved per request by IAM; a static analysis cannot
//! know their value. In a `2012-10-17` document a resource pattern holding one matches nothing
//! here (an Allow through it is not on all keys, a Deny through it removes nothing), while
//! `${*}`, `${?}` and `${$}` stand for the literal characters. In older documents (`2008-10-17`,
//! or no `Version`) variables are plain text, which matches no key ARN either.

use std::fmt;

/// How letters compare when a pattern is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CaseRule {
    /// `KMS:decrypt` matches `kms:Decrypt` (actions, condition keys).
    AsciiInsensitive,
    /// Letters must agree exactly (ARNs).
    Sensitive,
}

/// Whether `${...}` is a policy variable or literal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Variables {
    /// `2012-10-17` documents: `${aws:username}` is a variable, `${*}` a literal `*`.
    Resolved,
    /// Actions, condition keys and pre-2012 documents: `${` is text like any other.
    Literal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// One byte of literal text (multi-byte characters are several tokens).
    Byte(u8),
    /// `*`: any run of characters.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
}

/// A parsed wildcard pattern. It remembers its source text so that a verdict can say which
/// pattern matched, and the rules it was parsed with, so that serde can write it as
/// `[source, case, variables]` and read it back by parsing again into the same tokens.
#[derive(Clone, serde::Deserialize)]
#[serde(from = "PatternParts")]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
    case: CaseRule,
    variables: Variables,
    /// Holds a policy variable: matches nothing we can name.
    has_variable: bool,
    /// The pattern compiled for symbol-by-symbol matching, built on first use.
    automaton: std::sync::OnceLock<std::sync::Arc<Automaton>>,
}

/// What a [`Pattern`] is parsed from, which is all serde needs to keep: the tokens follow.
#[derive(serde::Deserialize)]
struct PatternParts(String, CaseRule, Variables);

impl serde::Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.source, self.case, self.variables).serialize(serializer)
    }
}

impl From<PatternParts> for Pattern {
    fn from(PatternParts(source, case, variables): PatternParts) -> Pattern {
        Pattern::new(&source, case, variables)
    }
}

impl Pattern {
    /// Parses an action pattern (`kms:Decrypt`, `kms:*crypt*`, `*`): ASCII case-insensitive.
    pub fn action(source: &str) -> Self {
        Self::new(source, CaseRule::AsciiInsensitive, Variables::Literal)
    }

    /// Parses an ARN pattern: case-sensitive, with variables as `variables` says.
    pub fn arn(source: &str, variables: Variables) -> Self {
        Self::new(source, CaseRule::Sensitive, variables)
    }

    /// Parses `source` with the given case and variable rules.
    pub fn new(source: &str, case: CaseRule, variables: Variables) -> Self {
        let mut tokens = Vec::with_capacity(source.len());
        let mut has_variable = false;
        let bytes = source.as_bytes();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b == b'$' && variables == Variables::Resolved && bytes.get(i + 1) == Some(&b'{') {
                if let Some(len) = bytes.get(i + 2..).and_then(|rest| rest.iter().position(|&c| c == b'}')) {
                    let name = bytes.get(i + 2..i + 2 + len).unwrap_or_default();
                    match name {
                        b"*" => tokens.push(Token::Byte(b'*')),
                        b"?" => tokens.push(Token::Byte(b'?')),
                        b"$" => tokens.push(Token::Byte(b'$')),
                        _ => has_variable = true,
                    }
                    i += len + 3;
                    continue;
                }
            }
            tokens.push(match b {
                b'*' => Token::AnyRun,
                b'?' => Token::AnyOne,
                _ if case == CaseRule::AsciiInsensitive => Token::Byte(b.to_ascii_lowercase()),
                _ => Token::Byte(b),
            });
            i += 1;
        }
        // Consecutive `*` mean the same as one; folding them keeps matching linear in practice.
        tokens.dedup_by(|a, b| *a == Token::AnyRun && *b == Token::AnyRun);
        Pattern {
            source: source.to_owned(),
            tokens,
            case,
            variables,
            has_variable,
            automaton: std::sync::OnceLock::new(),
        }
    }

    /// The text the pattern was parsed from, as written in the document.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// How letters compare.
    pub fn case(&self) -> CaseRule {
        self.case
    }

    /// Whether `${...}` variables are read as variables. With [`Pattern::as_str`] and
    /// [`Pattern::case`], what the pattern is made from: equal parts make equal patterns.
    pub fn variables(&self) -> Variables {
        self.variables
    }

    /// True when the pattern holds a policy variable, so that it matches no text we can name.
    pub fn has_variable(&self) -> bool {
        self.has_variable
    }

    /// True when every string matches: the pattern is one or more `*` and nothing else.
    pub fn matches_everything(&self) -> bool {
        !self.has_variable && !self.tokens.is_empty() && self.tokens.iter().all(|t| *t == Token::AnyRun)
    }

    /// True when the pattern is made of wildcards only (`*`, `?`, `*?*`, ...), or is empty.
    pub fn is_all_wildcards(&self) -> bool {
        self.tokens.iter().all(|t| matches!(t, Token::AnyRun | Token::AnyOne))
    }

    /// True when the pattern holds a `*` or `?`.
    pub fn has_wildcard(&self) -> bool {
        self.tokens.iter().any(|t| matches!(t, Token::AnyRun | Token::AnyOne))
    }

    /// For a pattern without wildcards or variables, the length in bytes of the one text it
    /// matches: a cheap filter before full matching.
    pub fn literal_len(&self) -> Option<usize> {
        (!self.has_variable && !self.has_wildcard()).then_some(self.tokens.len())
    }

    /// Could some text that starts with `prefix` match? A cheap filter before full matching:
    /// `s3:GetObject` cannot match any `kms:` action, `*:Get*` and `k?s:*` can.
    pub fn may_match_prefix(&self, prefix: &str) -> bool {
        if self.has_variable {
            return false;
        }
        let mut text = prefix.as_bytes().iter();
        for token in &self.tokens {
            let Some(&next) = text.next() else { return true };
            match token {
                Token::AnyRun => return true,
                Token::AnyOne => {}
                Token::Byte(b) if bytes_equal(*b, next, self.case) => {}
                Token::Byte(_) => return false,
            }
        }
        // The pattern ended before the prefix did: only an exact match of a shorter text.
        text.next().is_none()
    }

    /// Does `text` match the whole pattern?
    pub fn matches(&self, text: &str) -> bool {
        if self.has_variable {
            return false;
        }
        glob_match(&self.tokens, text.as_bytes(), self.case)
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.source)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Equal patterns read the same and match the same texts: same source, case rule and tokens.
impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
            && self.case == other.case
            && self.tokens == other.tokens
            && self.has_variable == other.has_variable
    }
}

impl Eq for Pattern {}

/// One symbol of a text matched step by step ([`Pattern::step`]), so that a whole family of
/// texts can be matched at once: the access model walks every key ARN of an account this way
/// instead of trying a few sample ARNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Symbol {
    /// One byte of ASCII text.
    Byte(u8),
    /// Any one character that no literal byte of the patterns in play equals: only `?` and `*`
    /// match it. It stands for every such character at once.
    Other,
    /// A run of text that only `*` spans: a region no list names yet, whose length and letters
    /// are unknown, so neither a literal nor a fixed number of `?` can be relied on to match it.
    Opaque,
}

/// Where a pattern stands after some prefix of a text: the set of token positions reached
/// (position `n`, past the last token, means "matched so far and complete"), as a bit set held
/// inline for patterns of up to 127 tokens (nearly all), on the heap beyond.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MatchState {
    /// Positions 0 to 127.
    Small(u128),
    /// Any number of positions, 64 to a word.
    Large(Vec<u64>),
}

impl MatchState {
    fn contains(&self, position: usize) -> bool {
        match self {
            MatchState::Small(bits) => position < 128 && bits & (1 << position) != 0,
            MatchState::Large(words) => words.get(position / 64).is_some_and(|w| w & (1 << (position % 64)) != 0),
        }
    }

    /// The lowest position reached, if any: positions only move forward, so nothing before
    /// it can be met again.
    fn lowest(&self) -> Option<usize> {
        match self {
            MatchState::Small(bits) => (*bits != 0).then(|| bits.trailing_zeros() as usize),
            MatchState::Large(words) => {
                words.iter().enumerate().find(|(_, w)| **w != 0).map(|(i, w)| i * 64 + w.trailing_zeros() as usize)
            }
        }
    }

    /// True when no continuation of the text can match any more.
    pub fn is_dead(&self) -> bool {
        match self {
            MatchState::Small(bits) => *bits == 0,
            MatchState::Large(words) => words.iter().all(|w| *w == 0),
        }
    }
}

/// Bit masks of token positions, in the representation [`MatchState`] uses for the pattern.
#[derive(Debug, Clone)]
enum Masks {
    /// `index` holds, for each byte, one more than where `bytes` keeps its mask (0: nowhere),
    /// so that a step looks a byte's mask up at once rather than through the list: stepping
    /// key ARN texts through every resource pattern of a policy was 2% of the 100 MB GAAD
    /// workload's instructions, most of it that search (callgrind).
    Small {
        star: u128,
        any_one: u128,
        bytes: Vec<(u8, u128)>,
        index: Box<[u8; 256]>,
    },
    Large {
        star: Vec<u64>,
        any_one: Vec<u64>,
        bytes: Vec<(u8, Vec<u64>)>,
    },
}

/// A pattern compiled for matching symbol by symbol ([`Symbol`]): bit masks of the positions
/// holding `*`, `?` and each literal byte, so that one step is a few word operations, however
/// long the pattern (a document may hold thousands of stars).
#[derive(Debug, Clone)]
pub struct Automaton {
    len: usize,
    masks: Masks,
    case: CaseRule,
    dead: bool,
}

/// Whether a one-word `mask` holds a position at or after `low`.
fn small_at_or_after(mask: u128, low: usize) -> bool {
    u32::try_from(low).ok().and_then(|low| mask.checked_shr(low)).is_some_and(|rest| rest != 0)
}

/// Whether a many-word `mask` (64 positions a word) holds a position at or after `low`.
fn large_at_or_after(mask: &[u64], low: usize) -> bool {
    mask.iter().enumerate().any(|(i, w)| {
        let from = low.saturating_sub(i * 64);
        from < 64 && (w >> from) != 0
    })
}

/// One step of a one-word state: the positions `moving` advance by one, the `*` positions
/// reached stay, and the position after each `*` reached is added.
fn small_step(bits: u128, moving: u128, star: u128) -> u128 {
    let next = (moving << 1) | (bits & star);
    next | ((next & star) << 1)
}

/// The positions of a one-word pattern holding `byte` (see [`Masks::Small`]).
fn small_literal(bytes: &[(u8, u128)], index: &[u8; 256], byte: u8) -> u128 {
    // Any byte is an index of the 256: the fallback is never taken.
    let place = index.get(usize::from(byte)).copied().unwrap_or(0);
    // Place 0 (no such byte) wraps past the end of `bytes`: no positions.
    bytes.get(usize::from(place).wrapping_sub(1)).map_or(0, |(_, mask)| *mask)
}

fn set_bit(words: &mut [u64], position: usize) {
    if let Some(word) = words.get_mut(position / 64) {
        *word |= 1 << (position % 64);
    }
}

impl Pattern {
    /// The pattern compiled for [`Automaton::step`] (built once, on first use).
    pub fn automaton(&self) -> &Automaton {
        self.automaton.get_or_init(|| std::sync::Arc::new(self.compile()))
    }

    fn compile(&self) -> Automaton {
        let positions = self.tokens.len() + 1;
        let words = positions / 64 + 1;
        let mut star = vec![0u64; words];
        let mut any_one = vec![0u64; words];
        let mut bytes: Vec<(u8, Vec<u64>)> = Vec::new();
        for (position, token) in self.tokens.iter().enumerate() {
            match token {
                Token::AnyRun => set_bit(&mut star, position),
                Token::AnyOne => set_bit(&mut any_one, position),
                Token::Byte(b) => match bytes.iter_mut().find(|(known, _)| known == b) {
                    Some((_, mask)) => set_bit(mask, position),
                    None => {
                        let mut mask = vec![0u64; words];
                        set_bit(&mut mask, position);
                        bytes.push((*b, mask));
                    }
                },
            }
        }
        let small = |words: &[u64]| {
            u128::from(words.first().copied().unwrap_or(0)) | (u128::from(words.get(1).copied().unwrap_or(0)) << 64)
        };
        let masks = if positions <= 128 {
            let mut index = Box::new([0u8; 256]);
            for (place, (byte, _)) in bytes.iter().enumerate() {
                // At most 128 positions, so at most 128 distinct bytes: every place fits.
                if let (Some(slot), Ok(place)) = (index.get_mut(usize::from(*byte)), u8::try_from(place + 1)) {
                    *slot = place;
                }
            }
            Masks::Small {
                star: small(&star),
                any_one: small(&any_one),
                bytes: bytes.iter().map(|(b, m)| (*b, small(m))).collect(),
                index,
            }
        } else {
            Masks::Large { star, any_one, bytes }
        };
        Automaton { len: self.tokens.len(), masks, case: self.case, dead: self.has_variable }
    }
}

impl Automaton {
    /// The state before any text: position 0, and position 1 when the pattern opens with `*`.
    /// A pattern holding a policy variable starts dead: it matches nothing we can name.
    pub fn start(&self) -> MatchState {
        let first = u128::from(!self.dead);
        match &self.masks {
            Masks::Small { star, .. } => MatchState::Small(first | ((first & star) << 1)),
            Masks::Large { star, .. } => {
                let mut words = vec![0u64; star.len()];
                if !self.dead {
                    set_bit(&mut words, 0);
                    if star.first().is_some_and(|w| w & 1 != 0) {
                        set_bit(&mut words, 1);
                    }
                }
                MatchState::Large(words)
            }
        }
    }

    /// A byte of text as the pattern's bytes are kept (lower case, for a case-insensitive one).
    fn fold_case(&self, b: u8) -> u8 {
        match self.case {
            CaseRule::Sensitive => b,
            CaseRule::AsciiInsensitive => b.to_ascii_lowercase(),
        }
    }

    fn byte(&self, symbol: Symbol) -> Option<u8> {
        match symbol {
            Symbol::Byte(b) => Some(self.fold_case(b)),
            Symbol::Other | Symbol::Opaque => None,
        }
    }

    /// The state after one more symbol of text: a `*` keeps its position, a `?` or an equal
    /// literal byte advances one, and the position after each `*` reached is added (a `*` may
    /// match no text; patterns never hold two `*` in a row, so one pass is the whole closure).
    pub fn step(&self, state: &MatchState, symbol: Symbol) -> MatchState {
        let advancing = !matches!(symbol, Symbol::Opaque);
        let byte = self.byte(symbol);
        match (&self.masks, state) {
            (Masks::Small { star, any_one, bytes, index }, MatchState::Small(bits)) => {
                let literal = byte.map_or(0, |b| small_literal(bytes, index, b));
                let moving = if advancing { bits & (any_one | literal) } else { 0 };
                MatchState::Small(small_step(*bits, moving, *star))
            }
            (Masks::Large { star, any_one, bytes }, MatchState::Large(words)) => {
                let literal = byte.and_then(|b| bytes.iter().find(|(k, _)| *k == b)).map(|(_, m)| m.as_slice());
                let at = |mask: &[u64], index: usize| mask.get(index).copied().unwrap_or(0);
                let mut next = Vec::with_capacity(words.len());
                let mut carry = 0u64;
                for (index, word) in words.iter().enumerate() {
                    let moving =
                        if advancing { word & (at(any_one, index) | literal.map_or(0, |m| at(m, index))) } else { 0 };
                    next.push((moving << 1) | carry | (word & at(star, index)));
                    carry = moving >> 63;
                }
                let mut carry = 0u64;
                for (index, word) in next.iter_mut().enumerate() {
                    let skipping = *word & at(star, index);
                    let added = (skipping << 1) | carry;
                    carry = skipping >> 63;
                    *word |= added;
                }
                MatchState::Large(next)
            }
            // A state of another automaton: nothing it reached means anything here.
            (Masks::Small { .. }, MatchState::Large(_)) => MatchState::Small(0),
            (Masks::Large { star, .. }, MatchState::Small(_)) => MatchState::Large(vec![0; star.len()]),
        }
    }

    /// The state after each byte of `text`: [`Automaton::step`] byte by byte. A one-word
    /// state is stepped in place, and a dead one stays dead, so the rest of the text is not
    /// read.
    pub fn step_str(&self, state: &MatchState, text: &str) -> MatchState {
        match (&self.masks, state) {
            (Masks::Small { star, any_one, bytes, index }, MatchState::Small(bits)) => {
                let mut bits = *bits;
                for b in text.bytes() {
                    if bits == 0 {
                        break;
                    }
                    let literal = small_literal(bytes, index, self.fold_case(b));
                    bits = small_step(bits, bits & (any_one | literal), *star);
                }
                MatchState::Small(bits)
            }
            _ => text.bytes().fold(state.clone(), |state, b| self.step(&state, Symbol::Byte(b))),
        }
    }

    /// Does a text that brought the pattern to `state` match it whole?
    pub fn accepts(&self, state: &MatchState) -> bool {
        state.contains(self.len)
    }

    /// Whether from `state` the pattern matches exactly one rest of text, literally: one
    /// position is reached, and no `*` or `?` lies at or after it.
    pub fn is_literal_from(&self, state: &MatchState) -> bool {
        match (&self.masks, state) {
            (Masks::Small { star, any_one, .. }, MatchState::Small(bits)) => {
                bits.count_ones() == 1 && !small_at_or_after(star | any_one, bits.trailing_zeros() as usize)
            }
            (Masks::Large { star, any_one, .. }, MatchState::Large(words)) => {
                let reached: u32 = words.iter().map(|w| w.count_ones()).sum();
                let Some(low) = state.lowest() else { return false };
                reached == 1 && !large_at_or_after(star, low) && !large_at_or_after(any_one, low)
            }
            // A state of another automaton: nothing it reached means anything here.
            _ => false,
        }
    }

    /// Whether `byte` can still advance this automaton from `state`: whether some position at
    /// or after the lowest one reached holds it literally. When it cannot, `byte` steps the
    /// automaton exactly as [`Symbol::Other`] does.
    pub fn may_meet(&self, state: &MatchState, byte: u8) -> bool {
        let byte = self.fold_case(byte);
        let Some(low) = state.lowest() else { return false };
        match (&self.masks, state) {
            (Masks::Small { bytes, .. }, MatchState::Small(_)) => {
                bytes.iter().any(|(b, mask)| *b == byte && small_at_or_after(*mask, low))
            }
            (Masks::Large { bytes, .. }, MatchState::Large(_)) => {
                bytes.iter().any(|(b, mask)| *b == byte && large_at_or_after(mask, low))
            }
            // A state of another automaton: nothing it reached means anything here.
            _ => false,
        }
    }

    /// The literal bytes the rest of a text can still meet, from `state` on: those at or after
    /// the first position reached (positions only move forward). Any other byte is
    /// [`Symbol::Other`] to this pattern from here.
    pub fn live_literal_bytes<'a>(&'a self, state: &MatchState) -> impl Iterator<Item = u8> + 'a {
        let lowest = state.lowest();
        let (small, large): (Vec<u8>, Vec<u8>) = match &self.masks {
            Masks::Small { bytes, .. } => (
                bytes
                    .iter()
                    .filter(|(_, mask)| lowest.is_some_and(|low| small_at_or_after(*mask, low)))
                    .map(|(b, _)| *b)
                    .collect(),
                Vec::new(),
            ),
            Masks::Large { bytes, .. } => (
                Vec::new(),
                bytes
                    .iter()
                    .filter(|(_, mask)| lowest.is_some_and(|low| large_at_or_after(mask, low)))
                    .map(|(b, _)| *b)
                    .collect(),
            ),
        };
        small.into_iter().chain(large)
    }
}

/// The first pattern of `patterns` that matches `text`, so that a cause can name it.
pub fn first_match<'p>(patterns: &'p [Pattern], text: &str) -> Option<&'p Pattern> {
    patterns.iter().find(|p| p.matches(text))
}

/// Length in bytes of the UTF-8 character that starts with `lead`.
fn char_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Greedy wildcard matching with a single back-tracking point (the last `*` seen). Literal
/// bytes are compared byte by byte, which is sound for UTF-8 because a valid character
/// sequence can only match at a character boundary; `?` consumes one whole character.
fn glob_match(tokens: &[Token], text: &[u8], case: CaseRule) -> bool {
    let (mut t, mut s) = (0usize, 0usize);
    // Where to resume after a mismatch: the token after the last `*` and the text position
    // that `*` will swallow up to next.
    let mut resume: Option<(usize, usize)> = None;
    while s < text.len() {
        let here = text.get(s).copied().unwrap_or_default();
        match tokens.get(t) {
            // A `*` that ends the pattern takes whatever is left (a key policy's `"Resource":
            // "*"` against every key ARN): no need to walk the rest.
            Some(Token::AnyRun) if t + 1 == tokens.len() => return true,
            Some(Token::AnyRun) => {
                resume = Some((t + 1, s));
                t += 1;
                continue;
            }
            Some(Token::AnyOne) => {
                t += 1;
                s += char_len(here);
                continue;
            }
            Some(Token::Byte(b)) if bytes_equal(*b, here, case) => {
                t += 1;
                s += 1;
                continue;
            }
            _ => {}
        }
        match resume {
            Some((after_star, swallowed)) => {
                let next = swallowed + char_len(text.get(swallowed).copied().unwrap_or_default());
                resume = Some((after_star, next));
                t = after_star;
                s = next;
            }
            None => return false,
        }
    }
    // `?` may have stepped past the end on a truncated character: that is no match.
    s == text.len() && tokens.get(t..).unwrap_or_default().iter().all(|tok| *tok == Token::AnyRun)
}

fn bytes_equal(pattern: u8, text: u8, case: CaseRule) -> bool {
    match case {
        CaseRule::Sensitive => pattern == text,
        // The pattern was lower-cased when parsed.
        CaseRule::AsciiInsensitive => pattern == text.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(p: &str, name: &str) -> bool {
        Pattern::action(p).matches(name)
    }

    #[test]
    fn a_state_is_literal_from_where_one_position_is_reached_and_no_wildcard_follows() {
        let literal_from = |pattern: &str, text: &str| {
            let automaton = Pattern::arn(pattern, Variables::Resolved).automaton().clone();
            automaton.is_literal_from(&automaton.step_str(&automaton.start(), text))
        };
        let prefix = "arn:aws:kms:us-east-1:111122223333:key/";
        assert!(literal_from("arn:aws:kms:us-east-1:111122223333:key/abc", prefix));
        assert!(!literal_from("arn:aws:kms:us-east-1:111122223333:key/ab?", prefix));
        assert!(!literal_from("arn:aws:kms:us-east-1:111122223333:key/abc*", prefix));
        // The account's `*` may still be spanning: more than one position is reached.
        assert!(!literal_from("arn:aws:kms:*:*:key/abc", prefix));
        assert!(!literal_from("arn:aws:kms:us-west-2:111122223333:key/abc", prefix), "dead");
        // Many-word masks.
        let long = format!("{prefix}{}", "a".repeat(130));
        assert!(literal_from(&long, prefix));
        assert!(!literal_from(&format!("{long}?"), prefix));
        assert!(!literal_from(&format!("{prefix}*{}", "a".repeat(130)), prefix));
        assert!(!literal_from(&format!("{prefix}?{}", "a".repeat(130)), prefix));
        assert!(!literal_from(&format!("{prefix}{}?", "a".repeat(70)), prefix), "a `?` in the second word");
    }

    #[test]
    fn actions_match_case_insensitively() {
        assert!(action("kms:decrypt", "kms:Decrypt"));
        assert!(action("KMS:DECRYPT", "kms:Decrypt"));
        assert!(!action("kms:Decrypt", "kms:Encrypt"));
    }

    #[test]
    fn star_and_question_mark_anywhere() {
        assert!(action("*", "kms:Decrypt"));
        assert!(action("kms:*", "kms:Decrypt"));
        assert!(action("kms:*crypt*", "kms:Decrypt"));
        assert!(action("kms:*crypt*", "kms:ReEncryptFrom"));
        assert!(action("kms:Re?ncrypt*", "kms:ReEncryptTo"));
        assert!(action("k*:Decrypt", "kms:Decrypt"));
        assert!(action("?ms:Decrypt", "kms:Decrypt"));
        assert!(!action("kms:Decrypt?", "kms:Decrypt"));
        assert!(!action("kms:*Key", "kms:DescribeKeys"));
        assert!(action("kms:Generate*", "kms:GenerateDataKey"));
        assert!(!action("s3:*", "kms:Decrypt"));
    }

    #[test]
    fn arns_are_case_sensitive() {
        let p = Pattern::arn("arn:aws:kms:*:111122223333:key/*", Variables::Resolved);
        assert!(p.matches("arn:aws:kms:us-east-1:111122223333:key/abcd"));
        assert!(!p.matches("arn:aws:KMS:us-east-1:111122223333:key/abcd"));
    }

    #[test]
    fn variables_match_nothing_in_2012_documents() {
        let p = Pattern::arn("arn:aws:kms:*:*:key/${aws:username}", Variables::Resolved);
        assert!(p.has_variable());
        assert!(!p.matches("arn:aws:kms:us-east-1:1:key/${aws:username}"));
        let literal = Pattern::arn("arn:aws:kms:*:*:key/${aws:username}", Variables::Literal);
        assert!(literal.matches("arn:aws:kms:us-east-1:1:key/${aws:username}"));
        let escaped = Pattern::arn("arn:aws:kms:*:*:key/${*}", Variables::Resolved);
        assert!(!escaped.has_variable());
        assert!(escaped.matches("arn:aws:kms:r:1:key/*"));
        assert!(!escaped.matches("arn:aws:kms:r:1:key/abc"));
    }

    #[test]
    fn question_mark_takes_one_character_not_one_byte() {
        assert!(Pattern::arn("a?c", Variables::Literal).matches("aéc"));
        assert!(!Pattern::arn("a??c", Variables::Literal).matches("aéc"));
    }

    #[test]
    fn whole_string_must_match() {
        assert!(!action("kms:Decrypt", "kms:DecryptX"));
        assert!(!action("", "kms:Decrypt"));
        assert!(action("", ""));
        assert!(action("**", ""));
    }

    #[test]
    fn prefix_filter_never_rejects_a_match() {
        for p in ["kms:*", "*", "k*", "?ms:Decrypt", "KMS:DECRYPT", "kms", ""] {
            assert!(Pattern::action(p).may_match_prefix("kms:") || !Pattern::action(p).matches("kms:Decrypt"), "{p}");
        }
        assert!(!Pattern::action("s3:GetObject").may_match_prefix("kms:"));
        assert!(!Pattern::action("kmsx:*").may_match_prefix("kms:"));
        assert!(Pattern::action("km?:*").may_match_prefix("kms:"));
    }

    #[test]
    fn shape_queries() {
        assert!(Pattern::action("*").matches_everything());
        assert!(Pattern::action("**").matches_everything());
        assert!(!Pattern::action("*?").matches_everything());
        assert!(Pattern::action("*?").is_all_wildcards());
        assert!(!Pattern::action("kms:*").is_all_wildcards());
    }

    #[test]
    fn serde_keeps_what_the_pattern_was_parsed_with() {
        for pattern in [
            Pattern::action("KMS:*crypt?"),
            Pattern::arn("arn:aws:kms:*:${*}:key/${aws:username}", Variables::Resolved),
            Pattern::arn("arn:aws:kms:*:${*}:key/${aws:username}", Variables::Literal),
        ] {
            let text = serde_json::to_string(&pattern).unwrap();
            let back: Pattern = serde_json::from_str(&text).unwrap();
            assert_eq!(back, pattern, "{text}");
            assert_eq!(back.tokens, pattern.tokens, "{text}");
        }
        let resolved = Pattern::arn("a${*}", Variables::Resolved);
        assert!(resolved.matches("a*") && !resolved.matches("ab"));
        assert_ne!(resolved, Pattern::arn("a${*}", Variables::Literal), "they match different texts");
    }

    mod laws {
        use super::*;
        use proptest::prelude::*;

        /// The reference: a direct recursive reading of the definition, on characters.
        fn naive(pattern: &[char], text: &[char], insensitive: bool) -> bool {
            match (pattern.first(), text.first()) {
                (None, None) => true,
                (None, Some(_)) => false,
                (Some('*'), _) => {
                    naive(&pattern[1..], text, insensitive)
                        || (!text.is_empty() && naive(pattern, &text[1..], insensitive))
                }
                (Some(_), None) => false,
                (Some('?'), Some(_)) => naive(&pattern[1..], &text[1..], insensitive),
                (Some(p), Some(t)) => {
                    let same = if insensitive { p.eq_ignore_ascii_case(t) } else { p == t };
                    same && naive(&pattern[1..], &text[1..], insensitive)
                }
            }
        }

        proptest! {
            #[test]
            fn agrees_with_the_naive_matcher(pattern in "[aAbé:*?]{0,10}", text in "[aAbBé:]{0,12}") {
                let p: Vec<char> = pattern.chars().collect();
                let t: Vec<char> = text.chars().collect();
                prop_assert_eq!(Pattern::action(&pattern).matches(&text), naive(&p, &t, true));
                prop_assert_eq!(Pattern::arn(&pattern, Variables::Literal).matches(&text), naive(&p, &t, false));
            }

            #[test]
            fn the_prefix_filter_never_rejects_a_match(pattern in "[kKmMsS:*?a]{0,8}", rest in "[a-zA-Z:]{0,8}") {
                let text = format!("kms:{rest}");
                let p = Pattern::action(&pattern);
                prop_assert!(!p.matches(&text) || p.may_match_prefix("kms:"));
            }

            #[test]
            fn stepping_agrees_with_matching(pattern in "[aAb:*?]{0,10}", text in "[aAbB:]{0,12}") {
                for p in [Pattern::action(&pattern), Pattern::arn(&pattern, Variables::Literal)] {
                    let a = p.automaton();
                    let state = a.step_str(&a.start(), &text);
                    prop_assert_eq!(a.accepts(&state), p.matches(&text), "{:?} on {:?}", p, text);
                }
            }

            #[test]
            fn stepping_agrees_across_word_boundaries(pattern in "[ab*?]{60,150}", text in "[ab]{50,160}") {
                let p = Pattern::arn(&pattern, Variables::Literal);
                let a = p.automaton();
                prop_assert_eq!(a.accepts(&a.step_str(&a.start(), &text)), p.matches(&text));
            }

            #[test]
            fn bytes_no_live_literal_equals_step_like_other(pattern in "[ab:*?]{0,12}", prefix in "[ab:]{0,6}", text in "[abz:]{0,8}") {
                // After `prefix`, a byte that is not a live literal steps exactly like Other.
                let p = Pattern::arn(&pattern, Variables::Literal);
                let a = p.automaton();
                let after = a.step_str(&a.start(), &prefix);
                let live: Vec<u8> = a.live_literal_bytes(&after).collect();
                let concrete = a.step_str(&after, &text);
                let symbolic = text.bytes().fold(after.clone(), |state, b| {
                    a.step(&state, if live.contains(&b) { Symbol::Byte(b) } else { Symbol::Other })
                });
                prop_assert_eq!(a.accepts(&symbolic), a.accepts(&concrete));
            }

            #[test]
            fn other_stands_for_any_byte_no_literal_equals(pattern in "[ab:*?]{0,10}", text in "[abz:]{0,12}") {
                // `z` appears in no pattern: stepping on Other instead must give the same answer.
                let p = Pattern::arn(&pattern, Variables::Literal);
                let a = p.automaton();
                let symbolic = text.bytes().fold(a.start(), |state, b| {
                    a.step(&state, if b == b'z' { Symbol::Other } else { Symbol::Byte(b) })
                });
                prop_assert_eq!(a.accepts(&symbolic), p.matches(&text));
            }

            #[test]
            fn opaque_is_spanned_by_a_star_only(pattern in "[ab:*?]{0,10}", before in "[ab:]{0,4}", after in "[ab:]{0,4}") {
                // An opaque run matches exactly when every text in its place would.
                let p = Pattern::arn(&pattern, Variables::Literal);
                let a = p.automaton();
                let state = a.step_str(&a.start(), &before);
                let state = a.step(&state, Symbol::Opaque);
                let opaque = a.accepts(&a.step_str(&state, &after));
                let all = ["", "a", "b:", "zzzzzzz", "ab:ab"].iter().all(|mid| p.matches(&format!("{before}{mid}{after}")));
                if opaque {
                    prop_assert!(all);
                }
            }

            /// Stepping a text at once is stepping it byte by byte.
            #[test]
            fn a_text_at_once_steps_as_its_bytes(
                pattern in "[aB?*-]{0,12}|[ab-]{120,140}[ab*?]{0,4}",
                text in "[aAbB-]{0,20}|[ab-]{120,150}",
                insensitive in any::<bool>(),
            ) {
                let parsed = match insensitive {
                    true => Pattern::action(&pattern),
                    false => Pattern::arn(&pattern, Variables::Literal),
                };
                let automaton = parsed.automaton();
                let start = automaton.start();
                let by_bytes = text.bytes().fold(start.clone(), |state, b| automaton.step(&state, Symbol::Byte(b)));
                prop_assert_eq!(automaton.step_str(&start, &text), by_bytes);
            }

            /// A byte the automaton may not meet steps it as `Other` does: what the walk over
            /// key ids relies on to step one branch for all such bytes. Patterns long enough for
            /// the many-word masks too.
            #[test]
            fn a_byte_that_may_not_be_met_steps_as_other(
                pattern in "[ab?*-]{0,12}|[ab-]{120,140}[ab*?]{0,4}",
                (read, extra) in (0usize..150, "[abc-]{0,3}"),
                byte in proptest::sample::select(vec![b'a', b'b', b'c', b'-']),
            ) {
                let automaton = Pattern::arn(&pattern, Variables::Literal).automaton().clone();
                // A text the pattern can still match: a prefix of it with its wildcards as `a`,
                // then a little of anything.
                let prefix: String = pattern.chars().take(read).map(|c| if c == '*' || c == '?' { 'a' } else { c }).collect();
                let state = automaton.step_str(&automaton.start(), &format!("{prefix}{extra}"));
                if !automaton.may_meet(&state, byte) {
                    prop_assert_eq!(automaton.step(&state, Symbol::Byte(byte)), automaton.step(&state, Symbol::Other));
                }
            }

            #[test]
            fn star_matches_everything(text in "\\PC{0,40}") {
                prop_assert!(Pattern::action("*").matches(&text));
                prop_assert!(Pattern::arn("*", Variables::Resolved).matches(&text));
            }

            #[test]
            fn a_literal_matches_itself_under_any_ascii_casing(name in "[a-zA-Z0-9:]{1,30}", flips in proptest::collection::vec(any::<bool>(), 30)) {
                let recased: String = name
                    .chars()
                    .zip(flips.iter().cycle())
                    .map(|(c, flip)| if *flip { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                    .collect();
                prop_assert!(Pattern::action(&name).matches(&recased));
                prop_assert_eq!(Pattern::arn(&name, Variables::Literal).matches(&recased), name == recased);
            }
        }
    }
}
