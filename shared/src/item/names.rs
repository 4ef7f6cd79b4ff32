//! [`ResourceNames`]: what names a resource (its type as recorded, id, ARN, account and
//! capture time), in one shared allocation.
//!
//! Why one: every rule's evaluation of a resource repeats these names, and in the dry-run they
//! are made on a decoder thread, cloned into each evaluation on a judge and dropped with it on
//! the report writer. As four `Arc<str>` and a `String` they were five allocations an item,
//! made on one thread and freed on another (whose blocks come back cold to the allocator), and
//! four reference counts, on four cache lines, raised on a judge and lowered on the writer for
//! every evaluation: the atomic increments were a third of the samples of the judges' own
//! loop (`perf`, 1 GB snapshot, BENCHMARKS.md "Stop 40"). Here they are one allocation and one
//! count.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A resource's type name, id, ARN, account and capture time, shared: a clone is one
/// reference count raised.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResourceNames {
    /// The five texts one after another: type name, id, ARN, account, capture time.
    text: Arc<str>,
    /// Where the type name, the id, the ARN and the account end in `text`; the capture time
    /// runs from the last of them to its end.
    ends: [usize; 4],
    /// Whether the item records a capture time (an empty text is still one).
    has_capture_time: bool,
}

thread_local! {
    /// Where [`ResourceNames::new`] puts the five texts together before they are copied into
    /// their one allocation: kept, so that putting them together allocates nothing.
    static JOINED: RefCell<String> = const { RefCell::new(String::new()) };
}

impl ResourceNames {
    /// The names of a resource. `arn` and `account_id` are empty when the item has none (as
    /// [`crate::item::Resource`] says); `capture_time` is `None` when it records none.
    pub fn new(
        type_name: &str,
        resource_id: &str,
        arn: &str,
        account_id: &str,
        capture_time: Option<&str>,
    ) -> ResourceNames {
        let (text, ends) = JOINED.with_borrow_mut(|joined| {
            joined.clear();
            let mut ends = [0; 4];
            for (end, part) in ends.iter_mut().zip([type_name, resource_id, arn, account_id]) {
                joined.push_str(part);
                *end = joined.len();
            }
            // No capture time joins nothing; `has_capture_time` keeps it apart from an empty one.
            joined.push_str(capture_time.unwrap_or_default());
            (Arc::<str>::from(joined.as_str()), ends)
        });
        ResourceNames { text, ends, has_capture_time: capture_time.is_some() }
    }

    /// `text` from `start` to `end`. Every pair this is asked for is two ends `new` recorded
    /// (character boundaries of `text`, in order), so `get` never misses; were it to, the
    /// name would read empty rather than panic.
    fn part(&self, start: usize, end: usize) -> &str {
        self.text.get(start..end).unwrap_or_default()
    }

    /// The Config type name, as recorded.
    pub fn type_name(&self) -> &str {
        let [type_end, ..] = self.ends;
        self.part(0, type_end)
    }

    /// `resourceId`.
    pub fn resource_id(&self) -> &str {
        let [type_end, id_end, ..] = self.ends;
        self.part(type_end, id_end)
    }

    /// The ARN; empty when the item has none.
    pub fn arn(&self) -> &str {
        let [_, id_end, arn_end, _] = self.ends;
        self.part(id_end, arn_end)
    }

    /// The owning account; empty when neither the item nor its ARN names one.
    pub fn account_id(&self) -> &str {
        let [_, _, arn_end, account_end] = self.ends;
        self.part(arn_end, account_end)
    }

    /// `configurationItemCaptureTime`, when the item records one.
    pub fn capture_time(&self) -> Option<&str> {
        let [.., account_end] = self.ends;
        self.has_capture_time.then(|| self.part(account_end, self.text.len()))
    }

    /// The five names, as serde writes and reads them.
    fn parts(&self) -> (&str, &str, &str, &str, Option<&str>) {
        (self.type_name(), self.resource_id(), self.arn(), self.account_id(), self.capture_time())
    }
}

impl fmt::Debug for ResourceNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceNames")
            .field("type_name", &self.type_name())
            .field("resource_id", &self.resource_id())
            .field("arn", &self.arn())
            .field("account_id", &self.account_id())
            .field("capture_time", &self.capture_time())
            .finish()
    }
}

/// Written as the five names (a tuple), not as the joined text and its ends: what is read back
/// is made by [`ResourceNames::new`], whatever the bytes say.
impl Serialize for ResourceNames {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.parts().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ResourceNames {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ResourceNames, D::Error> {
        let (type_name, resource_id, arn, account_id, capture_time) =
            <(String, String, String, String, Option<String>)>::deserialize(deserializer)?;
        Ok(ResourceNames::new(&type_name, &resource_id, &arn, &account_id, capture_time.as_deref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each name reads back as given, whichever are empty, and whether the capture time is
    /// absent or empty; names that run into each other when joined stay apart.
    #[test]
    fn each_name_reads_back_as_given() {
        let texts = ["", "a", "AWS::KMS::Key", "é∂", "1234"];
        let captures = [None, Some(""), Some("2026-01-01T00:00:00.000Z")];
        for type_name in texts {
            for resource_id in texts {
                for arn in texts {
                    for account_id in texts {
                        for capture_time in captures {
                            let names = ResourceNames::new(type_name, resource_id, arn, account_id, capture_time);
                            let read = (names.type_name(), names.resource_id(), names.arn(), names.account_id());
                            assert_eq!(read, (type_name, resource_id, arn, account_id));
                            assert_eq!(names.capture_time(), capture_time);
                        }
                    }
                }
            }
        }
    }

    /// Names equal exactly when each of the five is: moving a character from one name to the
    /// next, or an empty capture time for none, makes different names.
    #[test]
    fn names_equal_when_each_name_is_equal() {
        let names = |id: &str, arn: &str, capture| ResourceNames::new("T", id, arn, "1", capture);
        assert_eq!(names("ab", "c", None), names("ab", "c", None));
        assert_ne!(names("ab", "c", None), names("a", "bc", None));
        assert_ne!(names("ab", "c", None), names("ab", "c", Some("")));
    }

    /// What serde writes reads back as the same names (through JSON and postcard, the
    /// set-aside store's encoding).
    #[test]
    fn names_survive_serde() {
        for capture in [None, Some(""), Some("2026-01-01T00:00:00.000Z")] {
            let names = ResourceNames::new("AWS::IAM::Role", "AROA1", "arn:aws:iam::1:role/r", "1", capture);
            let json = serde_json::to_string(&names).unwrap();
            assert_eq!(serde_json::from_str::<ResourceNames>(&json).unwrap(), names);
            let bytes = postcard::to_allocvec(&names).unwrap();
            assert_eq!(postcard::from_bytes::<ResourceNames>(&bytes).unwrap(), names);
        }
    }
}
