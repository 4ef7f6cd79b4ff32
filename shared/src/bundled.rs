//! The AWS managed policies, bundled, so that the dry-run judges a role with
//! `AdministratorAccess` attached without calling IAM (Config never records AWS managed
//! policies).
//!
//! The data is `data/aws-managed-policies.gaad.json.gz`, a byte-for-byte copy of
//! `../shared/corpus` (a test checks the copy when the corpus is beside the repository): the
//! shape `aws iam get-account-authorization-details` prints. It is embedded with
//! `include_bytes!` and parsed once, on first use, so binaries that never ask pay nothing at
//! start-up. Lambda functions leave the feature off and ask IAM instead.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, OnceLock};

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

fn table() -> &'static HashMap<String, Arc<Policy>> {
    static TABLE: OnceLock<HashMap<String, Arc<Policy>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut text = String::new();
        let read = flate2::read::GzDecoder::new(DATA).read_to_string(&mut text);
        let value: Value = match read.ok().and_then(|_| serde_json::from_str(&text).ok()) {
            Some(v) => v,
            None => return HashMap::new(),
        };
        let mut out = HashMap::new();
        for entry in value.get("Policies").and_then(Value::as_array).into_iter().flatten() {
            let Some(arn) = entry.get("Arn").and_then(Value::as_str) else { continue };
            let Some(path) = policy_path(arn) else { continue };
            let default = entry
                .get("PolicyVersionList")
                .and_then(Value::as_array)
                .and_then(|versions| versions.iter().find(|v| v.get("IsDefaultVersion") == Some(&Value::Bool(true))));
            if let Some(Ok(policy)) =
                default.and_then(|v| v.get("Document")).map(|d| parse_policy(d, PolicyKind::Identity))
            {
                out.insert(path.to_owned(), Arc::new(policy));
            }
        }
        out
    })
}

/// The bundled AWS managed policy with this ARN (any partition).
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
