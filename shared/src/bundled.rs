//! The AWS managed policies, bundled, so that the dry-run judges a role with
//! `AdministratorAccess` attached without calling IAM (Config never records AWS managed
//! policies).
//!
//! The data is `data/aws-managed-policies.gaad.json.gz`, a byte-for-byte copy of
//! `../shared/corpus` (a test checks the copy when the corpus is beside the repository): the
//! shape `aws iam get-account-authorization-details` prints. It is embedded with
//! `include_bytes!` and parsed once, on first use, so binaries that never ask pay nothing at
//! start-up. Lambda functions leave the feature off and ask IAM instead.
//!
//! What is kept of each policy is what a resolver answers for a managed policy: the statements
//! that cover a KMS action (no rule reads the others; the statements kept keep their names).
//! The policies are read one at a time from the inflated text, never as one JSON tree. Both
//! matter to the dry-run's memory: whole documents, read through one `serde_json::Value`, took
//! 39 MB of heap at the peak and 12 MB kept; now the peak is the text and the table.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::sync::{Arc, OnceLock};

use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json_tree::Tree;
use crate::policy::{parse_policy_tree, Policy, PolicyKind};

/// The compressed GAAD document.
pub const DATA: &[u8] = include_bytes!("../data/aws-managed-policies.gaad.json.gz");

/// The part of an AWS managed policy ARN after the partition: `/service-role/AWSConfigRole`
/// for `arn:aws:iam::aws:policy/service-role/AWSConfigRole`, so every partition resolves.
fn policy_path(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let (_, rest) = rest.split_once(':')?;
    rest.strip_prefix("iam::aws:policy")
}

/// The parts of the GAAD document the table needs.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Gaad {
    policies: Table,
}

/// The table, built as the `Policies` list is read: one policy's documents in memory at a time.
struct Table(HashMap<String, Arc<Policy>>);

impl<'de> Deserialize<'de> for Table {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Table, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Table;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of policies")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Table, A::Error> {
                let mut table = HashMap::new();
                while let Some(entry) = seq.next_element::<GaadPolicy<'de>>()? {
                    if let Some((path, policy)) = entry.into_kms_policy() {
                        table.insert(path, Arc::new(policy));
                    }
                }
                table.shrink_to_fit();
                Ok(Table(table))
            }
        }
        deserializer.deserialize_seq(Entries)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GaadPolicy<'a> {
    arn: String,
    #[serde(borrow)]
    policy_version_list: Vec<GaadVersion<'a>>,
}

/// A version, its document left as text: only the default version's is parsed, into a
/// [`Tree`] as an item's documents are (the bundled copy holds only default versions). Read
/// into a `serde_json::Value` first, loading the table took 172 M instructions, 16 M more
/// than now (callgrind, issue 18).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GaadVersion<'a> {
    #[serde(borrow)]
    document: &'a RawValue,
    #[serde(default)]
    is_default_version: bool,
}

impl GaadPolicy<'_> {
    /// The table's entry: the ARN's path and the default version's KMS statements, when the
    /// ARN is an AWS managed policy's and the document parses.
    fn into_kms_policy(self) -> Option<(String, Policy)> {
        let path = policy_path(&self.arn)?.to_owned();
        let default = self.policy_version_list.iter().find(|v| v.is_default_version)?;
        let parsed = Tree::with_parsed(default.document.get(), |tree| parse_policy_tree(tree, PolicyKind::Identity));
        let mut policy = parsed.ok()?.ok()?;
        policy.retain_kms_statements();
        Some((path, policy))
    }
}

fn table() -> &'static HashMap<String, Arc<Policy>> {
    static TABLE: OnceLock<HashMap<String, Arc<Policy>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The data is compiled in and never changes: that it inflates and that every one of
        // its 1,452 policies parses is checked by the tests below (the whole table against
        // the plain reading). The empty defaults here are therefore never taken by a tested
        // build; they stand in for a panic in a run.
        let mut text = String::new();
        if flate2::read::GzDecoder::new(DATA).read_to_string(&mut text).is_err() {
            return HashMap::new();
        }
        serde_json::from_str::<Gaad>(&text).map(|gaad| gaad.policies.0).unwrap_or_default()
    })
}

/// The bundled AWS managed policy with this ARN (any partition): its KMS statements.
pub fn aws_managed_policy(arn: &str) -> Option<Arc<Policy>> {
    table().get(policy_path(arn)?).cloned()
}

/// How many bundled policies parsed.
pub fn len() -> usize {
    table().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table is what reading every policy into a `serde_json::Value` and checking its
    /// default version with [`crate::policy::parse_policy`] gives: the plain reading.
    #[test]
    fn the_table_is_the_default_versions_read_as_values() {
        let mut text = String::new();
        flate2::read::GzDecoder::new(DATA).read_to_string(&mut text).expect("the bundled data inflates");
        let whole: serde_json::Value = serde_json::from_str(&text).expect("the bundled data is JSON");
        let mut plain = HashMap::new();
        for entry in whole["Policies"].as_array().expect("a list of policies") {
            let arn = entry["Arn"].as_str().expect("an ARN");
            let versions = entry["PolicyVersionList"].as_array().expect("a list of versions");
            let default = versions.iter().find(|v| v["IsDefaultVersion"] == true).expect("a default version");
            let mut policy =
                crate::policy::parse_policy(&default["Document"], PolicyKind::Identity).expect("the document parses");
            policy.retain_kms_statements();
            plain.insert(policy_path(arn).expect("an AWS managed policy").to_owned(), policy);
        }
        assert_eq!(plain.len(), 1452);
        assert_eq!(table().len(), plain.len());
        // A `Value`'s keys are sorted in this test's build (serde_json without
        // `preserve_order`, which the AWS SDK turns on in the dry-run's builds, where a
        // `Value` keeps the text's order as a `Tree` does): conditions compared in one order.
        let in_one_order = |policy: &Policy| {
            let mut statements = policy.statements.to_vec();
            for statement in &mut statements {
                statement.conditions.sort_by_key(|c| format!("{c:?}"));
            }
            Policy { statements: statements.into(), ..policy.clone() }
        };
        for (path, policy) in &plain {
            assert_eq!(table().get(path).map(|p| in_one_order(p)), Some(in_one_order(policy)), "{path}");
        }
    }

    #[test]
    fn every_bundled_policy_parses_and_resolves_in_any_partition() {
        assert_eq!(len(), 1452);
        assert!(aws_managed_policy("arn:aws:iam::aws:policy/AdministratorAccess").is_some());
        assert!(aws_managed_policy("arn:aws-cn:iam::aws:policy/AdministratorAccess").is_some());
        assert!(aws_managed_policy("arn:aws:iam::111122223333:policy/AdministratorAccess").is_none());
    }
}
