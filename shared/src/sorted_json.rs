//! JSON written with every object's keys in sorted order, whatever `serde_json`'s map type.
//!
//! `serde_json::Value` keeps object keys sorted, unless some crate in the build turns on its
//! `preserve_order` feature (the AWS SDK's HTTP client does), when it keeps insertion order. A
//! workspace build of the dry-run and a `-p kms-guardrails` build would then write different
//! bytes for the same report. Writing through [`Sorted`] makes the order a property of the code,
//! not of the build.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value;

/// A JSON value that serializes with sorted object keys, at every depth.
#[derive(Debug, Clone, Copy)]
pub struct Sorted<'a>(pub &'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &Sorted(value))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Sorted(item))?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

impl std::fmt::Display for Sorted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = serde_json::to_string(self).map_err(|_| std::fmt::Error)?;
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let mut inner = serde_json::Map::new();
        inner.insert("b".into(), Value::from(1));
        inner.insert("a".into(), Value::from(2));
        let mut outer = serde_json::Map::new();
        outer.insert("z".into(), Value::Array(vec![Value::Object(inner)]));
        outer.insert("y".into(), Value::Null);
        let value = Value::Object(outer);
        assert_eq!(Sorted(&value).to_string(), r#"{"y":null,"z":[{"a":2,"b":1}]}"#);
    }
}
