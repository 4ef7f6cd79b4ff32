//! The summary line: what the run read (SPEC section 6), so that a file of items no selected
//! rule covers does not look like an empty one.

use std::collections::BTreeMap;
use std::fmt;

use crate::item::Resource;

/// What the run read: items judged, items of types no selected rule covers (by type),
/// versions superseded by a newer one, and input errors.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Summary {
    /// Items some selected rule judged (with `--all-versions`, every version of them).
    pub(super) judged: usize,
    /// Items of types no selected rule covers, by type.
    pub(super) not_covered: BTreeMap<String, usize>,
    /// Items not judged because a newer version of the resource was read.
    pub(super) superseded: usize,
    /// Input errors.
    pub(super) input_errors: usize,
}

impl Summary {
    /// Counts an item that stands (the newest version so far of its resource).
    pub(super) fn judge(&mut self, resource: &Resource, covered: bool) {
        match covered {
            true => self.judged += 1,
            false => *self.not_covered.entry(resource.type_name().to_string()).or_default() += 1,
        }
    }

    /// Takes back [`Summary::judge`] of the version a newer one of `resource` superseded.
    pub(super) fn unjudge(&mut self, resource: &Resource, covered: bool) {
        let count = match covered {
            true => Some(&mut self.judged),
            false => self.not_covered.get_mut(resource.type_name()),
        };
        if let Some(count) = count {
            *count = count.saturating_sub(1);
        }
        self.not_covered.retain(|_, n| *n > 0);
    }
}

impl fmt::Display for Summary {
    /// `read 7 items: 4 judged, 2 of types no selected rule covers (AWS::EC2::Instance 2),
    /// 1 superseded version, 0 input errors`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not_covered: usize = self.not_covered.values().sum();
        let read = self.judged + not_covered + self.superseded;
        write!(f, "read {read} item{}: {} judged", plural(read), self.judged)?;
        if not_covered > 0 {
            let types: Vec<String> = self.not_covered.iter().map(|(t, n)| format!("{t} {n}")).collect();
            write!(f, ", {not_covered} of types no selected rule covers ({})", types.join(", "))?;
        }
        write!(f, ", {} superseded version{}", self.superseded, plural(self.superseded))?;
        write!(f, ", {} input error{}", self.input_errors, plural(self.input_errors))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_what_was_read_and_what_was_not_judged() {
        let mut summary = Summary::default();
        assert_eq!(summary.to_string(), "read 0 items: 0 judged, 0 superseded versions, 0 input errors");
        summary.judged = 4;
        summary.not_covered.insert("AWS::EC2::Instance".into(), 2);
        summary.not_covered.insert("AWS::S3::Bucket".into(), 1);
        summary.superseded = 1;
        summary.input_errors = 1;
        assert_eq!(
            summary.to_string(),
            "read 8 items: 4 judged, 3 of types no selected rule covers (AWS::EC2::Instance 2, AWS::S3::Bucket 1), \
             1 superseded version, 1 input error"
        );
    }
}
