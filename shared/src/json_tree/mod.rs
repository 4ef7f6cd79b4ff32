//! A JSON value that borrows its strings from the text it was parsed from, and its lists from
//! an arena: what configuration items and policy documents are parsed into before they are
//! checked.
//!
//! Issue 18's profile put most of the dry-run's instructions in building `serde_json::Value`s:
//! one allocation per string and per map, then as many frees. An item or a policy document is
//! parsed, read once into the checked types and dropped, so nothing of it needs to be owned:
//! a [`Tree`] points into the text (a string with escapes is copied into the arena), and its
//! arrays and objects are slices of an arena ([`bumpalo`]) that is emptied at once when the
//! reading is done ([`Tree::with_parsed`]). It reads the same as the `Value` it replaces, so
//! verdicts and errors do not change:
//!
//! - object keys keep their order in the text, and a repeated key keeps its first place with
//!   its last value, as `serde_json::Map` does with `preserve_order` (which the AWS SDK turns on
//!   in the dry-run's builds). Repeats are resolved when an object is read ([`Object::get`],
//!   [`Object::iter`]), not when it is parsed: most objects of an item are only looked up,
//!   never walked;
//! - a number is a `serde_json::Number`, read as `Value` reads it (and written the same way);
//! - syntax errors are serde_json's, word for word.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use bumpalo::Bump;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

mod fast;
pub(crate) mod string_end;
pub(crate) mod structural;

/// A JSON value whose strings borrow from its text (or its arena) and whose lists live in an
/// arena, all for `'a`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tree<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as `serde_json::Value` holds it.
    Number(&'a Number),
    /// A string.
    String(&'a str),
    /// An array.
    Array(&'a [Tree<'a>]),
    /// An object.
    Object(Object<'a>),
    /// An object that the parse kept as its text, at a place its caller named ([`Keeping`]).
    /// Read as a policy document ([`crate::policy::parse_policy_tree`]) or as a whole
    /// ([`Tree::to_value`]); [`Tree::as_object`] does not see into it.
    Kept(&'a Kept<'a>),
    /// A string that the parse kept as written, at a place its caller named
    /// ([`Keeping::strings`]): read as a policy document ([`crate::policy::parse_policy_tree`])
    /// or as a whole ([`Tree::to_value`]). [`Tree::as_str`] sees its value only when the parse
    /// read it; nothing else reads the places kept.
    Written(&'a Written<'a>),
}

/// A string kept as written by a parse ([`Keeping::strings`]). Its text is a well-formed JSON
/// string's: either the parse read it (`value`), or it is byte for byte a text that the caller
/// knew to be one ([`Keeping::known_string`]), and the parse left its escapes as they are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Written<'a> {
    /// The text between the string's quotes, escapes and all.
    pub text: &'a str,
    /// The string's value, unless the parse left the escapes unread.
    pub value: Option<&'a str>,
}

impl<'a> Written<'a> {
    /// The string's value: as the parse read it, or unescaped from its text now. The text is a
    /// well-formed string's (see above), so the error is unreachable; it is returned, not
    /// turned into a value.
    pub fn value(&self) -> Result<std::borrow::Cow<'a, str>, serde_json::Error> {
        match self.value {
            Some(value) => Ok(std::borrow::Cow::Borrowed(value)),
            None => serde_json::from_str(&format!("\"{}\"", self.text)).map(std::borrow::Cow::Owned),
        }
    }
}

/// An object kept as its text by a parse ([`Keeping`]). The text is well formed: either the
/// parse read it (`object`), or it is byte for byte a text that the caller knew to be a
/// well-formed object ([`Keeping::known`]), and the parse left it unread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kept<'a> {
    /// The object's text, from its `{` to its `}`.
    pub text: &'a str,
    /// The object, unless the parse left it unread.
    pub object: Option<Object<'a>>,
}

/// Which objects a parse keeps as their text ([`Tree::Kept`]), and which of those it may
/// leave unread.
///
/// Why: a GAAD export holds its policy documents as objects, and an organization's export
/// repeats them (every account's copy of the same AWS managed and landing-zone policies). A
/// document whose text the policy memo ([`crate::policy`]) already holds, read from JSON that
/// parsed, needs no tree: only its end is found (by its brackets and strings), and it is
/// compared byte for byte. Why that cannot change a tree or an error: a well-formed object's
/// text is the whole of what a parse of it reads, wherever it stands, so a parse of the same
/// bytes reads the same object and stops at the same place; what follows is read as before.
/// Nesting is counted, so that a text left unread would not have been too deep where it
/// stands ([`fast`]'s limit).
pub struct Keeping<'k> {
    /// The members whose object values are kept: each a depth and a key (depth 1: a member of
    /// the top-level object; 3: of an object in an array in it).
    pub members: &'k [(usize, &'k str)],
    /// Whether `text`, the value of member `key`, is known to be a well-formed object's text
    /// (then it is left unread).
    pub known: &'k dyn Fn(&str, &str) -> bool,
    /// The members whose string values are kept as written ([`Tree::Written`]), each named by
    /// the top-level member whose object holds it and its own key
    /// (`("supplementaryConfiguration", "Policy")`). Only a string with an escape is kept: one
    /// without is its own value, and is read as a plain string.
    ///
    /// Why: a configuration item holds its key policy as a JSON string, a backslash every few
    /// bytes (`\"`, `\n`), and keys share their policies (an account's default key policy, the
    /// keys one template made). A key policy the memo holds as written ([`crate::policy`]'s
    /// `Form::Escaped`) needs no unescaping: unescaping those strings was 4.3% of the 100 MB
    /// snapshot's instructions (callgrind, issue 18). Why that cannot change a tree or an
    /// error: a well-formed string's text is the whole of what a parse of it reads, and its
    /// value a function of that text alone.
    pub strings: &'k [(&'k str, &'k str)],
    /// Whether `text`, written between the quotes of member `key`'s string, is known as
    /// written (then its escapes are left as they are).
    pub known_string: &'k dyn Fn(&str, &str) -> bool,
}

/// An object's entries in the order of the text, a repeated key as often as it is written;
/// read through [`Object::get`] and [`Object::iter`], each key is there once (see the module
/// docs).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Object<'a> {
    entries: &'a [(&'a str, Tree<'a>)],
}

/// Objects with more keys than this find repeated keys through an index rather than a scan.
const SCANNED_KEYS: usize = 32;

/// The largest arena kept for reuse, in bytes: far above any item or policy document AWS
/// records (a key policy is at most 32 KB).
const ARENA_KEPT_BYTES: usize = 1 << 20;

/// How many spent arenas a thread keeps for the next parse (nested parses take one each).
const ARENAS_KEPT: usize = 4;

thread_local! {
    /// Arenas emptied after a parse, kept so that the next parse allocates nothing new.
    static SPARE_ARENAS: RefCell<Vec<Bump>> = const { RefCell::new(Vec::new()) };
}

impl<'a> Tree<'a> {
    /// Parses `text` and hands the tree to `read`; the arena the tree's lists live in is
    /// emptied when `read` returns (and kept for the thread's next parse). Errors are
    /// serde_json's, as for a `Value`.
    pub fn with_parsed<R>(text: &str, read: impl FnOnce(&Tree<'_>) -> R) -> Result<R, serde_json::Error> {
        Tree::with_parsed_in(text, |tree, _| read(tree))
    }

    /// As [`Tree::with_parsed`], handing `read` the arena too, for trees it builds from the
    /// parsed one (a GAAD entry converted into an item).
    pub fn with_parsed_in<R>(
        text: &str,
        read: impl for<'t> FnOnce(&Tree<'t>, &'t Bump) -> R,
    ) -> Result<R, serde_json::Error> {
        Tree::with_parsed_keeping_in(text, None, read)
    }

    /// As [`Tree::with_parsed_in`], keeping the objects that `keeping` names as their text.
    pub fn with_parsed_keeping_in<R>(
        text: &str,
        keeping: Option<&Keeping<'_>>,
        read: impl for<'t> FnOnce(&Tree<'t>, &'t Bump) -> R,
    ) -> Result<R, serde_json::Error> {
        // No spare arena: a new, empty one (nothing is lost; it allocates on first use).
        let mut arena = SPARE_ARENAS.with_borrow_mut(Vec::pop).unwrap_or_default();
        let parsed = match fast::parse(text, &arena, keeping) {
            Some(tree) => Ok(tree),
            None => Tree::parse_by_serde_in(text, &arena),
        };
        let result = parsed.map(|tree| read(&tree, &arena));
        arena.reset();
        // An arena keeps its largest chunk: one grown by an outsized input is let go rather
        // than kept for the rest of the run.
        if arena.allocated_bytes() <= ARENA_KEPT_BYTES {
            SPARE_ARENAS.with_borrow_mut(|spare| {
                if spare.len() < ARENAS_KEPT {
                    spare.push(arena);
                }
            });
        }
        result
    }

    /// Parses `text` into `arena`, borrowing from both: plain, well-formed JSON by our own
    /// parser ([`fast`]), anything else by serde_json, whose errors these are.
    pub fn parse_in(text: &'a str, arena: &'a Bump) -> Result<Tree<'a>, serde_json::Error> {
        match fast::parse(text, arena, None) {
            Some(tree) => Ok(tree),
            None => Tree::parse_by_serde_in(text, arena),
        }
    }

    /// Parses `text` into `arena` with serde_json: what [`fast`] leaves to it, and what the
    /// tests compare [`fast`] with.
    fn parse_by_serde_in(text: &'a str, arena: &'a Bump) -> Result<Tree<'a>, serde_json::Error> {
        // As `serde_json::from_str` does it: the value, then nothing but white space.
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let tree = TreeSeed { arena }.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(tree)
    }

    /// The same value, borrowing from a `serde_json::Value` (documents that arrive as
    /// objects), its lists in `arena`.
    pub fn of_value(value: &'a Value, arena: &'a Bump) -> Tree<'a> {
        match value {
            Value::Null => Tree::Null,
            Value::Bool(b) => Tree::Bool(*b),
            Value::Number(n) => Tree::Number(n),
            Value::String(s) => Tree::String(s),
            Value::Array(items) => {
                Tree::Array(arena.alloc_slice_fill_iter(items.iter().map(|item| Tree::of_value(item, arena))))
            }
            Value::Object(map) => Tree::Object(Object {
                entries: arena
                    .alloc_slice_fill_iter(map.iter().map(|(key, value)| (key.as_str(), Tree::of_value(value, arena)))),
            }),
        }
    }

    /// An object of `entries`, in that order, its list in `arena` (keys are expected once each:
    /// a repeated key is read as [`Object::get`] reads one from text).
    pub fn object_in<I>(arena: &'a Bump, entries: I) -> Tree<'a>
    where
        I: IntoIterator<Item = (&'a str, Tree<'a>)>,
        I::IntoIter: ExactSizeIterator,
    {
        Tree::Object(Object { entries: arena.alloc_slice_fill_iter(entries) })
    }

    /// An array of `items`, in `arena`.
    pub fn array_in<I>(arena: &'a Bump, items: I) -> Tree<'a>
    where
        I: IntoIterator<Item = Tree<'a>>,
        I::IntoIter: ExactSizeIterator,
    {
        Tree::Array(arena.alloc_slice_fill_iter(items))
    }

    /// The same value, owned: each key of an object once, in the order of its first place,
    /// with its last value, as [`Object::iter`] reads it (and as `serde_json` builds a
    /// `Value` from the same text).
    pub fn to_value(&self) -> Value {
        match self {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(*b),
            Tree::Number(n) => Value::Number((*n).clone()),
            Tree::String(s) => Value::String((*s).to_owned()),
            Tree::Array(items) => Value::Array(items.iter().map(Tree::to_value).collect()),
            Tree::Object(object) => {
                Value::Object(object.iter().map(|(key, value)| (key.to_owned(), value.to_value())).collect())
            }
            Tree::Kept(Kept { object: Some(object), .. }) => Tree::Object(*object).to_value(),
            // The text is a well-formed object's (see [`Kept`]): the error is unreachable.
            Tree::Kept(Kept { text, object: None }) => {
                Tree::with_parsed(text, |tree| tree.to_value()).unwrap_or(Value::Null)
            }
            // The text is a well-formed string's (see [`Written`]): the error is unreachable.
            Tree::Written(written) => {
                written.value().map(|value| Value::String(value.into_owned())).unwrap_or(Value::Null)
            }
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Tree::String(s) | Tree::Written(Written { value: Some(s), .. }) => Some(s),
            _ => None,
        }
    }

    /// Is this a string?
    pub fn is_string(&self) -> bool {
        matches!(self, Tree::String(_) | Tree::Written(_))
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Tree::Object(object) => Some(object),
            _ => None,
        }
    }

    /// The JSON type, for messages: the same words as [`crate::policy::decode::json_type`].
    pub fn type_name(&self) -> &'static str {
        match self {
            Tree::Null => "null",
            Tree::Bool(_) => "a boolean",
            Tree::Number(_) => "a number",
            Tree::String(_) | Tree::Written(_) => "a string",
            Tree::Array(_) => "an array",
            Tree::Object(_) | Tree::Kept(_) => "an object",
        }
    }
}

#[cfg(test)]
impl<'a> Tree<'a> {
    /// The objects and strings kept in the tree ([`Tree::Kept`], [`Tree::Written`]), each as its
    /// text and whether the parse read it, in the order of the text (those inside a kept object that was read included):
    /// what the tests of keeping, here and in [`crate::export`], look at.
    pub(crate) fn kept(&self) -> Vec<(&'a str, bool)> {
        fn walk<'a>(tree: &Tree<'a>, out: &mut Vec<(&'a str, bool)>) {
            match tree {
                Tree::Kept(kept) => {
                    out.push((kept.text, kept.object.is_some()));
                    if let Some(object) = kept.object {
                        walk(&Tree::Object(object), out);
                    }
                }
                Tree::Written(written) => out.push((written.text, written.value.is_some())),
                Tree::Array(items) => items.iter().for_each(|item| walk(item, out)),
                Tree::Object(object) => object.entries.iter().for_each(|(_, value)| walk(value, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }
}

impl<'a> Object<'a> {
    /// Each key once, in the order of its first place in the text, with its last value.
    pub fn iter(&self) -> Entries<'a> {
        // Small objects (a statement, a condition block) look back and ahead for repeats;
        // large ones index their keys once, so that no input makes reading quadratic.
        let places = match self.entries.len() > SCANNED_KEYS {
            false => None,
            true => {
                let mut places = HashMap::with_capacity(self.entries.len());
                for (place, (key, _)) in self.entries.iter().enumerate() {
                    places.entry(*key).and_modify(|(_, last)| *last = place).or_insert((place, place));
                }
                Some(places)
            }
        };
        // Most small objects have no repeated key: then each entry is its key's only one, and
        // is handed out as it is. Asking once costs half the look back and ahead of every
        // entry (`Entries::next`, 3% of a GAAD run's instructions: callgrind, issue 18).
        let distinct = places.is_none() && {
            let keys = self.entries;
            keys.iter().enumerate().all(|(i, (key, _))| keys.iter().skip(i + 1).all(|(k, _)| k != key))
        };
        Entries { entries: self.entries, place: 0, places, distinct }
    }

    /// The value of `key`: its last, if it is written more than once.
    pub fn get(&self, key: &str) -> Option<&'a Tree<'a>> {
        self.entries.iter().rev().find(|(k, _)| *k == key).map(|(_, value)| value)
    }

    /// No keys?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The entries of an [`Object`], each key once ([`Object::iter`]).
pub struct Entries<'a> {
    entries: &'a [(&'a str, Tree<'a>)],
    place: usize,
    /// For a large object: each key's first and last places.
    places: Option<HashMap<&'a str, (usize, usize)>>,
    /// No key is written twice: each entry is handed out as it is.
    distinct: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = (&'a str, &'a Tree<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let entries = self.entries;
        if self.distinct {
            let (key, value) = entries.get(self.place)?;
            self.place += 1;
            return Some((key, value));
        }
        while let Some((key, value)) = entries.get(self.place) {
            let place = self.place;
            self.place += 1;
            let (first, last) = match &self.places {
                // Every key of the object is in the index: the default is unreachable.
                Some(places) => places.get(key).copied().unwrap_or((place, place)),
                None => {
                    // `place` is in range (the entry at it was just read): both slices are
                    // whole, the defaults unreachable.
                    let earlier = entries.get(..place).unwrap_or_default();
                    let first = earlier.iter().position(|(k, _)| k == key).unwrap_or(place);
                    let later = entries.get(place + 1..).unwrap_or_default();
                    (first, later.iter().rposition(|(k, _)| k == key).map_or(place, |at| place + 1 + at))
                }
            };
            if first == place {
                let value = entries.get(last).map_or(value, |(_, v)| v);
                return Some((key, value));
            }
        }
        None
    }
}

/// Reads one value into the arena.
#[derive(Clone, Copy)]
struct TreeSeed<'a> {
    arena: &'a Bump,
}

impl<'a> DeserializeSeed<'a> for TreeSeed<'a> {
    type Value = Tree<'a>;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Tree<'a>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for TreeSeed<'a> {
    type Value = Tree<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Tree<'a>, E> {
        Ok(Tree::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Tree<'a>, E> {
        Ok(Tree::Number(self.arena.alloc(n.into())))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Tree<'a>, E> {
        Ok(Tree::Number(self.arena.alloc(n.into())))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Tree<'a>, E> {
        // As `Value` reads it: JSON text cannot spell a NaN or an infinity, so `None` (null) is
        // only reachable from other deserializers.
        Ok(Number::from_f64(n).map_or(Tree::Null, |n| Tree::Number(self.arena.alloc(n))))
    }

    fn visit_borrowed_str<E>(self, s: &'a str) -> Result<Tree<'a>, E> {
        Ok(Tree::String(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Tree<'a>, E> {
        Ok(Tree::String(self.arena.alloc_str(s)))
    }

    fn visit_none<E>(self) -> Result<Tree<'a>, E> {
        Ok(Tree::Null)
    }

    fn visit_unit<E>(self) -> Result<Tree<'a>, E> {
        Ok(Tree::Null)
    }

    fn visit_some<D: Deserializer<'a>>(self, deserializer: D) -> Result<Tree<'a>, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<Tree<'a>, A::Error> {
        let mut items = bumpalo::collections::Vec::new_in(self.arena);
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Tree::Array(items.into_bump_slice()))
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<Tree<'a>, A::Error> {
        let mut entries = bumpalo::collections::Vec::new_in(self.arena);
        while let Some(key) = map.next_key_seed(KeySeed { arena: self.arena })? {
            entries.push((key, map.next_value_seed(self)?));
        }
        Ok(Tree::Object(Object { entries: entries.into_bump_slice() }))
    }
}

/// A key, borrowed from the text, or copied into the arena when it had escapes.
struct KeySeed<'a> {
    arena: &'a Bump,
}

impl<'a> DeserializeSeed<'a> for KeySeed<'a> {
    type Value = &'a str;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for KeySeed<'a> {
    type Value = &'a str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, s: &'a str) -> Result<Self::Value, E> {
        Ok(s)
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(self.arena.alloc_str(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree as a `Value`, to compare with one (`Value` equality ignores key order, which
    /// depends on serde_json's features in the build).
    fn to_value(tree: &Tree<'_>) -> Value {
        match tree {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(*b),
            Tree::Number(n) => Value::Number((*n).clone()),
            Tree::String(s) => Value::String((*s).to_owned()),
            Tree::Array(items) => Value::Array(items.iter().map(to_value).collect()),
            Tree::Object(object) => Value::Object(object.iter().map(|(k, v)| (k.to_owned(), to_value(v))).collect()),
            Tree::Kept(_) | Tree::Written(_) => tree.to_value(),
        }
    }

    fn keys<'t>(tree: &Tree<'t>) -> Vec<&'t str> {
        tree.as_object().map(|object| object.iter().map(|(k, _)| k).collect()).unwrap_or_default()
    }

    /// The tree and the `Value` of the same text hold the same: a reference check over texts
    /// with repeated keys, escapes and every JSON type.
    #[test]
    fn a_tree_holds_what_the_value_of_the_same_text_holds() {
        let texts = [
            r#"{"b":1,"a":[true,null,"x"],"c":{"z":1.5,"y":-2}}"#,
            r#"{"k":1,"j":2,"k":3}"#,
            r#"{"esc\"aped":"line\nbreak","plain":"\u0041"}"#,
            r#"[1e300, 18446744073709551615, -9223372036854775808, 0.1]"#,
            r#""just a string""#,
        ];
        for text in texts {
            let value: Result<Value, _> = serde_json::from_str(text);
            let tree = Tree::with_parsed(text, to_value);
            match (value, tree) {
                (Ok(value), Ok(tree)) => {
                    assert_eq!(tree, value, "{text}");
                    let arena = Bump::new();
                    assert_eq!(to_value(&Tree::of_value(&value, &arena)), value, "{text}");
                }
                (value, tree) => panic!("{text}: {value:?} vs {tree:?}"),
            }
        }
    }

    /// Keys keep the order of the text (what `serde_json::Map` does with `preserve_order`, on
    /// in every build of the dry-run), whatever serde_json's features in this build.
    #[test]
    fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
        let arena = Bump::new();
        let tree = Tree::parse_in(r#"{"b":1,"a":2,"b":3}"#, &arena).expect("valid");
        assert_eq!(keys(&tree), ["b", "a"]);
        assert_eq!(tree.as_object().and_then(|o| o.get("b")).map(to_value), Some(Value::from(3)));
        // Past the scanned size, through the index.
        let many: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        let text = format!("{{{many}\"k3\":99,\"z\":0}}");
        let tree = Tree::parse_in(&text, &arena).expect("valid");
        let expected: Vec<String> = (0..40).map(|i| format!("k{i}")).chain(["z".to_owned()]).collect();
        assert_eq!(keys(&tree), expected);
        assert_eq!(tree.as_object().and_then(|o| o.get("k3")).map(to_value), Some(Value::from(99)));
        let value: Value = serde_json::from_str(&text).expect("valid");
        assert_eq!(to_value(&tree), value);
    }

    #[test]
    fn strings_without_escapes_point_into_the_text() {
        let text = r#"{"plain":"text","esc":"a\tb"}"#;
        let arena = Bump::new();
        let tree = Tree::parse_in(text, &arena).expect("valid");
        let object = tree.as_object().expect("an object");
        let plain = object.get("plain").and_then(Tree::as_str).expect("a string");
        assert!(text.as_bytes().as_ptr_range().contains(&plain.as_ptr()));
        assert_eq!(object.get("esc").and_then(Tree::as_str), Some("a\tb"));
    }

    #[test]
    fn syntax_errors_are_serde_json_errors_as_for_a_value() {
        for text in [r#"{"a":"#, r#"{"a":1}x"#, "[1,]", r#"{"a" 1}"#, "[1e400]"] {
            let value = serde_json::from_str::<Value>(text).err().map(|e| e.to_string());
            let tree = Tree::with_parsed(text, |_| ()).err().map(|e| e.to_string());
            assert_eq!(tree, value, "{text}");
            assert!(tree.is_some());
        }
    }

    /// Parses inside a reading (an item's policy document) take an arena of their own, and a
    /// thread's spare arenas stay few.
    #[test]
    fn nested_parses_each_have_an_arena() {
        let outer = r#"{"doc":"{\"inner\":[1,2]}"}"#;
        let inner = Tree::with_parsed(outer, |tree| {
            let text = tree.as_object().and_then(|o| o.get("doc")).and_then(Tree::as_str).expect("a string");
            Tree::with_parsed(text, to_value).expect("valid")
        });
        assert_eq!(inner.ok(), Some(serde_json::json!({"inner": [1, 2]})));
        assert!(SPARE_ARENAS.with_borrow(Vec::len) <= ARENAS_KEPT);
    }

    /// An arena grown past the kept size by an outsized input is not kept.
    #[test]
    fn an_outsized_arena_is_let_go() {
        let big = format!("[{}0]", "0,".repeat(ARENA_KEPT_BYTES / 8));
        assert_eq!(Tree::with_parsed(&big, |tree| matches!(tree, Tree::Array(_))).ok(), Some(true));
        let largest = SPARE_ARENAS.with_borrow(|spare| spare.iter().map(Bump::allocated_bytes).max().unwrap_or(0));
        assert!(largest <= ARENA_KEPT_BYTES, "{largest} bytes kept");
    }

    /// GAAD's documents in a whole export: an entry is a member of an element of a top-level
    /// list (depth 3), and its inline policies' members are two levels further down.
    const WHOLE_EXPORT_DOCUMENTS: [(usize, &str); 3] =
        [(3, "AssumeRolePolicyDocument"), (5, "PolicyDocument"), (5, "Document")];

    /// How many objects `value` holds as members named in [`WHOLE_EXPORT_DOCUMENTS`] at their
    /// depth (`depth`: that of `value`'s own members, less one).
    fn named_objects(value: &Value, depth: usize) -> usize {
        match value {
            Value::Array(items) => items.iter().map(|item| named_objects(item, depth + 1)).sum(),
            Value::Object(map) => map
                .iter()
                .map(|(key, member)| {
                    let named = WHOLE_EXPORT_DOCUMENTS.contains(&(depth + 1, key.as_str())) && member.is_object();
                    usize::from(named) + named_objects(member, depth + 1)
                })
                .sum(),
            _ => 0,
        }
    }

    /// What a parse keeping `members` makes of `text`, with `known` for the texts it may leave
    /// unread: the tree as a `Value` and its kept objects, or the error.
    fn parse_keeping(
        text: &str,
        members: &[(usize, &str)],
        known: &dyn Fn(&str, &str) -> bool,
    ) -> Result<(Value, Vec<(String, bool)>), String> {
        fast::Probing::reset();
        let keeping = Keeping { members, known, strings: &[], known_string: &|_, _| false };
        Tree::with_parsed_keeping_in(text, Some(&keeping), |tree, _| {
            (to_value(tree), tree.kept().into_iter().map(|(text, read)| (text.to_owned(), read)).collect())
        })
        .map_err(|e| e.to_string())
    }

    /// The two public GAAD exports (sources in `tests/fixtures/real-exports/SOURCES.md`), read
    /// keeping their documents: each document is kept, read when its text is not known and
    /// left unread when it is, and the tree reads as the plain parse's. The exports are
    /// pretty-printed, so the documents' texts hold white space and line feeds.
    #[test]
    fn documents_kept_read_or_not_read_as_the_plain_parse_reads_them() {
        for export in [
            include_str!("../../../tests/fixtures/real-exports/aws-cli-iam-get-account-authorization-details.json"),
            include_str!(
                "../../../tests/fixtures/real-exports/cloudsplaining-example-authz-details-for-overrides.json"
            ),
        ] {
            let plain = Tree::with_parsed(export, to_value).expect("the export parses");
            let (value, read) = parse_keeping(export, &WHOLE_EXPORT_DOCUMENTS, &|_, _| false).expect("parses");
            assert_eq!(value, plain);
            let named: Value = serde_json::from_str(export).expect("the export parses");
            assert_eq!(read.len(), named_objects(&named, 0), "every document named is kept");
            assert!(!read.is_empty());
            assert!(read.iter().all(|(text, was_read)| *was_read && text.starts_with('{') && text.ends_with('}')));
            let texts: Vec<&str> = read.iter().map(|(text, _)| text.as_str()).collect();
            let asked = RefCell::new(Vec::new());
            let known = |key: &str, text: &str| {
                asked.borrow_mut().push(key.to_owned());
                texts.contains(&text)
            };
            let (value, unread) = parse_keeping(export, &WHOLE_EXPORT_DOCUMENTS, &known).expect("parses");
            assert_eq!(value, plain);
            assert_eq!(unread.iter().map(|(text, _)| text.as_str()).collect::<Vec<_>>(), texts);
            assert!(unread.iter().all(|(_, was_read)| !was_read));
            let asked = asked.into_inner();
            assert_eq!(asked.len(), texts.len());
            assert!(asked.iter().all(|key| WHOLE_EXPORT_DOCUMENTS.iter().any(|(_, name)| name == key)));
        }
    }

    /// Only the members named, at their depth, are kept.
    #[test]
    fn only_the_members_named_at_their_depth_are_kept() {
        let text = r#"{"Doc": {"a": 1}, "Other": {"b": 2}, "List": [{"Doc": {"c": 3}}]}"#;
        let (_, kept) = parse_keeping(text, &[(1, "Doc")], &|_, _| true).expect("parses");
        assert_eq!(kept, [(r#"{"a": 1}"#.to_owned(), false)]);
        let (_, kept) = parse_keeping(text, &[(3, "Doc")], &|_, _| false).expect("parses");
        assert_eq!(kept, [(r#"{"c": 3}"#.to_owned(), true)]);
    }

    /// A known text followed by what is not JSON: the parse fails as the plain one does, in
    /// serde_json's words (the text left unread is read the same wherever it stands, and what
    /// follows it is read as before).
    #[test]
    fn what_follows_a_text_left_unread_is_read_as_before() {
        for text in [
            r#"{"Doc": {"a": "}"}} }"#,
            r#"{"Doc": {"a": "\"}"}, "b": tru}"#,
            r#"{"Doc": {"a": [1, {"b": "]"}]} "c": 1}"#,
        ] {
            let plain = Tree::with_parsed(text, to_value).map_err(|e| e.to_string());
            assert!(plain.is_err(), "{text}");
            let kept = parse_keeping(text, &[(1, "Doc")], &|_, _| true).map(|(value, _)| value);
            assert_eq!(kept, plain, "{text}");
        }
    }

    /// A known text that would nest too deep where it stands is read, not left unread: the
    /// parse goes on as the plain one does (here serde_json reads it, past the fast parser's
    /// depth), and one just within the depth is left unread.
    #[test]
    fn a_known_text_too_deep_where_it_stands_is_read() {
        for (levels, unread) in [(fast::DEEPEST - 1, true), (fast::DEEPEST, false)] {
            let deep = format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
            let text = format!(r#"{{"Doc": {deep}}}"#);
            let plain = Tree::with_parsed(&text, to_value).expect("serde_json reads 127 levels");
            let (value, kept) = parse_keeping(&text, &[(1, "Doc")], &|_, _| true).expect("parses");
            assert_eq!(value, plain);
            assert_eq!(kept.iter().filter(|(_, read)| !read).count(), usize::from(unread), "{levels} levels");
        }
    }

    /// After 16 unknown texts in a row, the next 64 objects are read as plain ones, then the
    /// asking starts again; known texts are asked about and left unread every time. Either
    /// way the tree reads as the plain parse's.
    #[test]
    fn after_a_run_of_unknown_texts_the_parser_rests_from_asking() {
        let elements: Vec<String> = (0..100).map(|n| format!(r#"{{"Doc": {{"n": {n}}}}}"#)).collect();
        let text = format!(r#"{{"List": [{}]}}"#, elements.join(", "));
        let plain = Tree::with_parsed(&text, to_value).expect("parses");
        let asked = RefCell::new(0);
        let unknown = |_: &str, _: &str| {
            *asked.borrow_mut() += 1;
            false
        };
        let (value, kept) = parse_keeping(&text, &[(3, "Doc")], &unknown).expect("parses");
        assert_eq!(value, plain);
        let numbers: Vec<usize> = kept.iter().map(|(text, _)| text[6..text.len() - 1].parse().expect("n")).collect();
        let expected: Vec<usize> = (0..16).chain(80..96).collect();
        assert_eq!(numbers, expected);
        assert_eq!(asked.into_inner(), 32);
        let (value, kept) = parse_keeping(&text, &[(3, "Doc")], &|_, _| true).expect("parses");
        assert_eq!(value, plain);
        assert_eq!(kept.len(), 100);
        assert!(kept.iter().all(|(_, read)| !read));
    }

    /// What a parse keeping the strings `strings` makes of `text`, with `known` for the texts
    /// whose escapes it may leave: the tree as a `Value`, its kept strings (their text, and
    /// whether the parse read the value), and `Tree::as_str` of each kept string, or the error.
    #[allow(clippy::type_complexity)]
    fn parse_keeping_strings(
        text: &str,
        strings: &[(&str, &str)],
        known: &dyn Fn(&str, &str) -> bool,
    ) -> Result<(Value, Vec<(String, bool)>), String> {
        let keeping = Keeping { members: &[], known: &|_, _| false, strings, known_string: known };
        Tree::with_parsed_keeping_in(text, Some(&keeping), |tree, _| {
            (to_value(tree), tree.kept().into_iter().map(|(text, read)| (text.to_owned(), read)).collect())
        })
        .map_err(|e| e.to_string())
    }

    /// Key policies kept as written where named: read when not known and left unread when
    /// known, and the tree reads as the plain parse's either way (a text left unread reads as
    /// its value, [`Tree::to_value`]). The items: those in `tests/fixtures` with a key policy
    /// (sources named there), and each of the 1,452 AWS managed policies of the corpus written
    /// into an item as Config writes a key policy, a JSON string of the document
    /// pretty-printed (a `\\n` and a `\\"` every few bytes).
    #[cfg(feature = "bundled-policies")]
    #[test]
    fn key_policies_kept_as_written_read_as_the_plain_parse_reads_them() {
        let strings = [("supplementaryConfiguration", "Policy")];
        let fixtures = fixture_items_with_key_policies();
        assert!(!fixtures.is_empty());
        let mut corpus = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(crate::bundled::DATA), &mut corpus)
            .expect("the corpus inflates");
        let corpus: Value = serde_json::from_str(&corpus).expect("the corpus is JSON");
        let documents = corpus["Policies"].as_array().expect("policies").iter().flat_map(|policy| {
            policy["PolicyVersionList"].as_array().expect("versions").iter().map(|version| &version["Document"])
        });
        let written = documents.map(|document| {
            let policy = serde_json::to_string_pretty(document).expect("a document");
            serde_json::json!({"resourceType": "AWS::KMS::Key", "supplementaryConfiguration": {"Policy": policy}})
                .to_string()
        });
        let mut items = 0;
        for text in fixtures.into_iter().chain(written) {
            let plain = Tree::with_parsed(&text, to_value).expect("the item parses");
            let (value, kept) = parse_keeping_strings(&text, &strings, &|_, _| false).expect("parses");
            assert_eq!(value, plain);
            let policy = plain["supplementaryConfiguration"]["Policy"].as_str().expect("a key policy");
            let escaped = serde_json::to_string(policy).expect("a string");
            assert_eq!(kept, [(escaped[1..escaped.len() - 1].to_owned(), true)], "kept as written, and read");
            let asked = RefCell::new(Vec::new());
            let known = |key: &str, text: &str| {
                asked.borrow_mut().push((key.to_owned(), text.to_owned()));
                true
            };
            let (value, unread) = parse_keeping_strings(&text, &strings, &known).expect("parses");
            assert_eq!(value, plain);
            assert_eq!(unread, [(kept[0].0.clone(), false)]);
            assert_eq!(asked.into_inner(), [("Policy".to_owned(), kept[0].0.clone())]);
            items += 1;
        }
        assert!(items > 1452, "{items} items with a key policy");
    }

    /// The text of every file in `tests/fixtures` and below whose extension is one of
    /// `extensions`.
    #[cfg(feature = "bundled-policies")]
    pub(super) fn fixture_texts(extensions: &[&str]) -> Vec<String> {
        let mut texts = Vec::new();
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("a fixtures directory") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| extensions.iter().any(|x| e == *x)) {
                    texts.push(std::fs::read_to_string(&path).expect("readable"));
                }
            }
        }
        texts
    }

    /// Every configuration item in `tests/fixtures` whose key policy is a string with escapes,
    /// as compact JSON text.
    #[cfg(feature = "bundled-policies")]
    fn fixture_items_with_key_policies() -> Vec<String> {
        fn walk(value: &Value, out: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    let policy = map.get("supplementaryConfiguration").and_then(|s| s.get("Policy"));
                    if policy.and_then(Value::as_str).is_some_and(|p| p.contains(['"', '\\', '\n'])) {
                        out.push(value.to_string());
                    }
                    map.values().for_each(|member| walk(member, out));
                }
                Value::Array(items) => items.iter().for_each(|item| walk(item, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for text in fixture_texts(&["json"]) {
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                walk(&value, &mut out);
            }
        }
        out
    }

    /// Only a string at the member named, under the top-level member named, is kept; one
    /// with no escape is read as a plain string; a known text is left unread wherever it
    /// stands in the item.
    #[test]
    fn only_the_strings_named_with_escapes_are_kept() {
        let strings = [("supplementaryConfiguration", "Policy")];
        let text = r#"{"tags": {"Policy": "a\"b"}, "configuration": {"Policy": "c\"d"},
            "supplementaryConfiguration": {"Other": "e\"f", "Policy": "g\"h\\\\"}, "x": [{"Policy": "i\"j"}]}"#;
        let (value, kept) = parse_keeping_strings(text, &strings, &|_, _| true).expect("parses");
        assert_eq!(value, Tree::with_parsed(text, to_value).expect("parses"));
        assert_eq!(kept, [(r#"g\"h\\\\"#.to_owned(), false)]);
        let plain = r#"{"supplementaryConfiguration": {"Policy": "no escapes here"}}"#;
        let (_, kept) = parse_keeping_strings(plain, &strings, &|_, _| true).expect("parses");
        assert!(kept.is_empty());
        // A key repeated: each value asked about; the last one is the member's value.
        let twice = r#"{"supplementaryConfiguration": {"Policy": "a\nb", "Policy": "c\td"}}"#;
        let (value, kept) = parse_keeping_strings(twice, &strings, &|_, text| text == "a\\nb").expect("parses");
        assert_eq!(value, serde_json::json!({"supplementaryConfiguration": {"Policy": "c\td"}}));
        assert_eq!(kept, [("a\\nb".to_owned(), false), ("c\\td".to_owned(), true)]);
    }

    /// A string that is not well formed (a bad escape, a control character, no end), or one
    /// followed by what is not JSON, fails as the plain parse does, in serde_json's words,
    /// whether its text is known or not. (Only a well-formed string's text can be known: what
    /// the memo holds as written was read from one. Here `known` says yes to every such text.)
    #[test]
    fn a_string_not_well_formed_fails_as_before() {
        let strings = [("s", "p")];
        let well_formed = |_: &str, text: &str| serde_json::from_str::<String>(&format!("\"{text}\"")).is_ok();
        for text in [
            r#"{"s": {"p": "a\qb"}}"#,
            "{\"s\": {\"p\": \"a\\\"b\u{1}c\"}}",
            r#"{"s": {"p": "a\"b"#,
            r#"{"s": {"p": "a\\"b"}}"#,
            r#"{"s": {"p": "a\u12"}}"#,
            r#"{"s": {"p": "a\"b"} "t": 1}"#,
            r#"{"s": {"p": "a\"b", "p": tru}}"#,
        ] {
            let plain = Tree::with_parsed(text, to_value).map_err(|e| e.to_string());
            assert!(plain.is_err(), "{text}");
            for known in [&well_formed as &dyn Fn(&str, &str) -> bool, &|_, _| false] {
                let kept = parse_keeping_strings(text, &strings, known).map(|(value, _)| value);
                assert_eq!(kept, plain, "{text}");
            }
        }
    }
}
