//! A JSON value that borrows its strings from the text it was parsed from: what policy
//! documents are parsed into before they are checked.
//!
//! Issue 18's profile put most of the dry-run's instructions in building `serde_json::Value`s:
//! one allocation per string and per map, then as many frees. A policy document is parsed,
//! read once into the checked [`crate::policy::Policy`] and dropped, so its strings need not
//! be copied: a [`Tree`] points into the document's text, and only strings with escapes are
//! copied. It reads the same as the `Value` it replaces, so verdicts and errors do not change:
//!
//! - object keys keep their order in the text, and a repeated key keeps its first place with
//!   its last value, as `serde_json::Map` does with `preserve_order` (which the AWS SDK turns on
//!   in the dry-run's builds). Repeats are resolved when an object is read ([`Object::get`],
//!   [`Object::iter`]), not when it is parsed: most objects of an item are only looked up,
//!   never walked, and checking every key against the others cost a twentieth of the run;
//! - a number is a `serde_json::Number`, read as `Value` reads it (and written the same way).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// A JSON value whose strings borrow from the text it was parsed from where they can.
#[derive(Debug, Clone, PartialEq)]
pub enum Tree<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, as `serde_json::Value` holds it.
    Number(Number),
    /// A string: borrowed unless it had escapes.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Tree<'a>>),
    /// An object.
    Object(Object<'a>),
}

/// An object's entries in the order of the text, a repeated key as often as it is written;
/// read through [`Object::get`] and [`Object::iter`], each key is there once (see the module
/// docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object<'a> {
    entries: Vec<(Cow<'a, str>, Tree<'a>)>,
}

impl<'a> Tree<'a> {
    /// Parses `text`, borrowing from it. Errors are serde_json's, as for a `Value`.
    pub fn parse(text: &'a str) -> Result<Tree<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The same value, borrowing from a `serde_json::Value` (documents that arrive as objects).
    pub fn of_value(value: &'a Value) -> Tree<'a> {
        match value {
            Value::Null => Tree::Null,
            Value::Bool(b) => Tree::Bool(*b),
            Value::Number(n) => Tree::Number(n.clone()),
            Value::String(s) => Tree::String(Cow::Borrowed(s)),
            Value::Array(items) => Tree::Array(items.iter().map(Tree::of_value).collect()),
            Value::Object(map) => Tree::Object(Object {
                entries: map.iter().map(|(key, value)| (Cow::Borrowed(key.as_str()), Tree::of_value(value))).collect(),
            }),
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Tree::String(s) => Some(s),
            _ => None,
        }
    }

    /// Is this a string?
    pub fn is_string(&self) -> bool {
        matches!(self, Tree::String(_))
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
            Tree::String(_) => "a string",
            Tree::Array(_) => "an array",
            Tree::Object(_) => "an object",
        }
    }
}

impl<'a> Object<'a> {
    /// Each key once, in the order of its first place in the text, with its last value.
    pub fn iter(&self) -> Entries<'_, 'a> {
        // Small objects (a statement, a condition block) look back and ahead for repeats;
        // large ones index their keys once, so that no input makes reading quadratic.
        let places = match self.entries.len() > SCANNED_KEYS {
            false => None,
            true => {
                let mut places = std::collections::HashMap::with_capacity(self.entries.len());
                for (place, (key, _)) in self.entries.iter().enumerate() {
                    places.entry(key.as_ref()).and_modify(|(_, last)| *last = place).or_insert((place, place));
                }
                Some(places)
            }
        };
        Entries { object: self, place: 0, places }
    }

    /// The value of `key`: its last, if it is written more than once.
    pub fn get(&self, key: &str) -> Option<&Tree<'a>> {
        self.entries.iter().rev().find(|(k, _)| k == key).map(|(_, value)| value)
    }

    /// No keys?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Objects with more keys than this find repeated keys through an index rather than a scan.
const SCANNED_KEYS: usize = 32;

/// The entries of an [`Object`], each key once ([`Object::iter`]).
pub struct Entries<'o, 'a> {
    object: &'o Object<'a>,
    place: usize,
    /// For a large object: each key's first and last places.
    places: Option<std::collections::HashMap<&'o str, (usize, usize)>>,
}

impl<'o, 'a> Iterator for Entries<'o, 'a> {
    type Item = (&'o str, &'o Tree<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let entries = &self.object.entries;
        while let Some((key, value)) = entries.get(self.place) {
            let place = self.place;
            self.place += 1;
            let (first, last) = match &self.places {
                Some(places) => places.get(key.as_ref()).copied().unwrap_or((place, place)),
                None => {
                    let earlier = entries.get(..place).unwrap_or_default();
                    let first = earlier.iter().position(|(k, _)| k == key).unwrap_or(place);
                    let later = entries.get(place + 1..).unwrap_or_default();
                    (first, later.iter().rposition(|(k, _)| k == key).map_or(place, |at| place + 1 + at))
                }
            };
            if first == place {
                let value = entries.get(last).map_or(value, |(_, v)| v);
                return Some((key.as_ref(), value));
            }
        }
        None
    }
}

impl<'de> Deserialize<'de> for Tree<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Tree<'de>, E> {
        Ok(Tree::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Tree<'de>, E> {
        Ok(Tree::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Tree<'de>, E> {
        Ok(Tree::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Tree<'de>, E> {
        // As `Value` reads it: JSON text cannot spell a NaN or an infinity, so `None` (null) is
        // only reachable from other deserializers.
        Ok(Number::from_f64(n).map_or(Tree::Null, Tree::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Tree<'de>, E> {
        Ok(Tree::String(Cow::Borrowed(s)))
    }

    fn visit_str<E>(self, s: &str) -> Result<Tree<'de>, E> {
        Ok(Tree::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E>(self, s: String) -> Result<Tree<'de>, E> {
        Ok(Tree::String(Cow::Owned(s)))
    }

    fn visit_none<E>(self) -> Result<Tree<'de>, E> {
        Ok(Tree::Null)
    }

    fn visit_unit<E>(self) -> Result<Tree<'de>, E> {
        Ok(Tree::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Tree<'de>, D::Error> {
        Deserialize::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Tree::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            entries.push((key, map.next_value()?));
        }
        Ok(Tree::Object(Object { entries }))
    }
}

/// A key, borrowed from the text unless it had escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(s))
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
            Tree::Number(n) => Value::Number(n.clone()),
            Tree::String(s) => Value::String(s.to_string()),
            Tree::Array(items) => Value::Array(items.iter().map(to_value).collect()),
            Tree::Object(object) => Value::Object(object.iter().map(|(k, v)| (k.to_owned(), to_value(v))).collect()),
        }
    }

    fn keys<'t>(tree: &'t Tree<'_>) -> Vec<&'t str> {
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
            let tree = Tree::parse(text);
            match (value, tree) {
                (Ok(value), Ok(tree)) => {
                    assert_eq!(to_value(&tree), value, "{text}");
                    assert_eq!(to_value(&Tree::of_value(&value)), value, "{text}");
                }
                (value, tree) => panic!("{text}: {value:?} vs {tree:?}"),
            }
        }
    }

    /// Keys keep the order of the text (what `serde_json::Map` does with `preserve_order`, on
    /// in every build of the dry-run), whatever serde_json's features in this build.
    #[test]
    fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
        let tree = Tree::parse(r#"{"b":1,"a":2,"b":3}"#).expect("valid");
        assert_eq!(keys(&tree), ["b", "a"]);
        assert_eq!(tree.as_object().and_then(|o| o.get("b")), Some(&Tree::Number(3.into())));
        // Past the scanned size, through the index.
        let many: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        let text = format!("{{{many}\"k3\":99,\"z\":0}}");
        let tree = Tree::parse(&text).expect("valid");
        let expected: Vec<String> = (0..40).map(|i| format!("k{i}")).chain(["z".to_owned()]).collect();
        assert_eq!(keys(&tree), expected);
        assert_eq!(tree.as_object().and_then(|o| o.get("k3")), Some(&Tree::Number(99.into())));
        let value: Value = serde_json::from_str(&text).expect("valid");
        assert_eq!(to_value(&tree), value);
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let tree = Tree::parse(r#"{"plain":"text","esc":"a\tb"}"#).expect("valid");
        let object = tree.as_object().expect("an object");
        assert!(matches!(object.get("plain"), Some(Tree::String(Cow::Borrowed("text")))));
        assert!(matches!(object.get("esc"), Some(Tree::String(Cow::Owned(s))) if s == "a\tb"));
    }

    #[test]
    fn syntax_errors_are_serde_json_errors_as_for_a_value() {
        for text in [r#"{"a":"#, r#"{"a":1}x"#, "[1,]", r#"{"a" 1}"#, "[1e400]"] {
            let value = serde_json::from_str::<Value>(text).err().map(|e| e.to_string());
            let tree = Tree::parse(text).err().map(|e| e.to_string());
            assert_eq!(tree, value, "{text}");
            assert!(tree.is_some());
        }
    }
}
