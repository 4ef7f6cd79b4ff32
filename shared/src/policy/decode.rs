//! Getting a policy document from the way AWS stores it to a JSON object.
//!
//! AWS Config records IAM documents URL-encoded (`%7B%22Version%22...`); the Config API encodes
//! `supplementaryConfiguration.Policy` as a JSON string, and API shapes of a whole item encode
//! it again; moto returns some IAM documents decoded and some not. So a document is decoded
//! tolerantly, one layer at a time, until it is a JSON object: a JSON string is parsed, and
//! text that is not JSON is percent-decoded (`+` stays a plus: IAM documents are encoded with
//! `%20` for spaces, and `+` is a real character in policies, e.g. in `ForAnyValue` keys or ARNs).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::DocumentError;
use crate::json_tree::Tree;

/// How many layers of encoding are peeled before giving up (AWS uses at most three).
pub const MAX_LAYERS: usize = 4;

/// Decodes `value` (an object, a JSON string, or URL-encoded text) to a JSON object.
pub fn document_object(value: &Value) -> Result<Map<String, Value>, DocumentError> {
    match value {
        Value::Object(map) => Ok(map.clone()),
        Value::String(text) => match serde_json::from_str(&object_text(text)?) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(other) => Err(DocumentError::NotObject { found: json_type(&other) }),
            Err(e) => Err(DocumentError::Json(e.to_string())),
        },
        other => Err(DocumentError::NotObject { found: json_type(other) }),
    }
}

/// Peels the layers of encoding off `text` (a JSON string, or URL-encoded text, up to
/// [`MAX_LAYERS`] of them) down to the text of a JSON object, which is left for the caller to
/// parse: the last layer is parsed once, by the caller, into what it needs (a
/// [`crate::json_tree::Tree`] borrowing from this text, for the policy parser). A text that
/// starts as an object but does not parse is the caller's `DocumentError::Json`, as here.
pub fn object_text(text: &str) -> Result<Cow<'_, str>, DocumentError> {
    let mut current = Cow::Borrowed(text);
    for layer in 1..=MAX_LAYERS {
        // One layer: the text itself if it is JSON, otherwise its percent-decoding, which must be.
        if !looks_like_json(&current) {
            if current.trim_start().is_empty() {
                return Err(DocumentError::Empty);
            }
            let decoded = percent_decode(&current)?;
            if !looks_like_json(&decoded) {
                let found = preview(&current);
                return Err(DocumentError::Json(format!("expected a JSON document, found text starting `{found}`")));
            }
            current = Cow::Owned(decoded);
        }
        if layer < MAX_LAYERS && current.trim_start().starts_with('{') {
            return Ok(current);
        }
        let layer_value = Tree::with_parsed(&current, |tree| match tree {
            Tree::String(inner) => Ok((*inner).to_owned()),
            other => Err(other.type_name()),
        });
        let next = match layer_value.map_err(|e| DocumentError::Json(e.to_string()))? {
            Ok(inner) => inner,
            // The last layer is decoded (its errors are errors) but no longer looked into.
            Err(_) if layer == MAX_LAYERS => break,
            Err(found) => return Err(DocumentError::NotObject { found }),
        };
        current = Cow::Owned(next);
    }
    Err(DocumentError::TooManyLayers)
}

/// Text that starts (past white space) as a JSON object, string or array does.
fn looks_like_json(text: &str) -> bool {
    let trimmed = text.trim_start();
    trimmed.starts_with('{') || trimmed.starts_with('"') || trimmed.starts_with('[')
}

/// Percent-decodes `text` (`%XX` to the byte XX). `+` is left as it is. The result must be UTF-8.
pub fn percent_decode(text: &str) -> Result<String, DocumentError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    // Run by run: the plain bytes up to the next `%`, found by a plain loop (Config's
    // documents escape every quote, colon and bracket, so runs are a few bytes long, too short
    // for a search call to pay for itself), copied at once; then the escape.
    let mut rest = bytes;
    while !rest.is_empty() {
        let run = rest.iter().position(|&b| b == b'%').unwrap_or(rest.len());
        let (plain, escaped) = rest.split_at(run);
        out.extend_from_slice(plain);
        rest = match escaped {
            [] => escaped,
            [b'%', hi, lo, tail @ ..] if hex(*hi) != NOT_HEX && hex(*lo) != NOT_HEX => {
                out.push(hex(*hi) << 4 | hex(*lo));
                tail
            }
            _ => return Err(DocumentError::PercentEncoding { offset: bytes.len() - escaped.len() }),
        };
    }
    String::from_utf8(out).map_err(|e| DocumentError::Utf8 { offset: e.utf8_error().valid_up_to() })
}

/// `byte`'s value as a hex digit, or [`NOT_HEX`].
fn hex(byte: u8) -> u8 {
    // A `u8` indexes a table of 256: never out of bounds, and the check compiles away.
    HEX.get(usize::from(byte)).copied().unwrap_or(NOT_HEX)
}

/// Marks a byte that is not a hex digit in [`HEX`].
const NOT_HEX: u8 = 0xff;

/// Each byte's value as a hex digit, or [`NOT_HEX`].
// Indexing in a const block cannot panic at run time: `b < 256` bounds it, and any mistake
// would fail the build, not the dry-run.
#[allow(clippy::indexing_slicing)]
const HEX: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            digit @ b'0'..=b'9' => digit - b'0',
            lower @ b'a'..=b'f' => lower - b'a' + 10,
            upper @ b'A'..=b'F' => upper - b'A' + 10,
            _ => NOT_HEX,
        };
        b += 1;
    }
    table
};

/// The JSON type of `value`, for messages.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn preview(text: &str) -> String {
    text.chars().take(20).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_encoded_documents_decode() {
        let doc = document_object(&json!("%7B%22Version%22%3A%222012-10-17%22%7D"));
        assert_eq!(doc.ok().and_then(|m| m.get("Version").cloned()), Some(json!("2012-10-17")));
    }

    proptest::proptest! {
        /// Whatever mix of escaped and plain bytes encodes a text, it decodes to that text.
        #[test]
        fn any_encoding_of_a_text_decodes_to_it(text in "\\PC{0,40}", escape in proptest::collection::vec(proptest::bool::ANY, 160)) {
            let encoded: String = text
                .bytes()
                .zip(escape.iter().cycle())
                .map(|(b, &e)| if e || b == b'%' || !b.is_ascii() { format!("%{b:02X}") } else { (b as char).to_string() })
                .collect();
            proptest::prop_assert_eq!(percent_decode(&encoded), Ok(text));
        }
    }

    #[test]
    fn plus_is_not_a_space() {
        assert_eq!(percent_decode("a+b%20c").ok().as_deref(), Some("a+b c"));
    }

    #[test]
    fn json_strings_are_unwrapped_until_an_object() {
        let twice = json!("\"{\\\"Version\\\":\\\"2012-10-17\\\"}\"");
        assert!(document_object(&twice).is_ok());
    }

    #[test]
    fn bad_encodings_are_errors_with_a_position() {
        assert_eq!(percent_decode("%7B%2"), Err(DocumentError::PercentEncoding { offset: 3 }));
        assert_eq!(percent_decode("%ZZ"), Err(DocumentError::PercentEncoding { offset: 0 }));
        assert_eq!(percent_decode("ab%FF"), Err(DocumentError::Utf8 { offset: 2 }));
        assert_eq!(document_object(&json!(42)), Err(DocumentError::NotObject { found: "a number" }));
        assert_eq!(document_object(&json!("")), Err(DocumentError::Empty));
        assert!(matches!(document_object(&json!("{\"a\":")), Err(DocumentError::Json(_))));
    }
}
