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
use serde_json::Value;

use crate::policy::{parse_policy, Policy, PolicyKind};

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
                while let Some(entry) = seq.next_element::<GaadPolicy>()? {
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
struct GaadPolicy {
    arn: String,
    policy_version_list: Vec<GaadVersion>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GaadVersion {
    document: Value,
    #[serde(default)]
    is_default_version: bool,
}

impl GaadPolicy {
    /// The table's entry: the ARN's path and the default version's KMS statements, when the
    /// ARN is an AWS managed policy's and the document parses.
    fn into_kms_policy(self) -> Option<(String, Policy)> {
        let path = policy_path(&self.arn)?.to_owned();
        let default = self.policy_version_list.iter().find(|v| v.is_default_version)?;
        let mut policy = parse_policy(&default.document, PolicyKind::Identity).ok()?;
        policy.retain_kms_statements();
        Some((path, policy))
    }
}

fn table() -> &'static HashMap<String, Arc<Policy>> {
    static TABLE: OnceLock<HashMap<String, Arc<Policy>>> = OnceLock::new();
    TABLE.get_or_init(|| {
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

    #[test]
    fn every_bundled_policy_parses_and_resolves_in_any_partition() {
        assert_eq!(len(), 1452);
        assert!(aws_managed_policy("arn:aws:iam::aws:policy/AdministratorAccess").is_some());
        assert!(aws_managed_policy("arn:aws-cn:iam::aws:policy/AdministratorAccess").is_some());
        assert!(aws_managed_policy("arn:aws:iam::111122223333:policy/AdministratorAccess").is_none());
    }
}
