//! The 1,452 real AWS managed policies of `../shared/corpus`, every run: each parses, and the
//! blocked-actions rule runs on each as if it were a customer managed policy.
//!
//! The corpus is read from the repository's copy (`shared/data/`, the same bytes the
//! `bundled-policies` feature embeds); [`corpus_copy_matches_shared_corpus`] checks that copy
//! against `../shared/corpus` beside the repository.

use std::io::Read;
use std::path::Path;

use serde_json::Value;
use shared::item::{Details, ItemStatus, ManagedPolicy, Resource, ResourceNames, ResourceType};
use shared::policy::{parse_policy, PolicyKind};
use shared::rule::{Compliance, Context};
use shared::MemoryResolver;

fn corpus() -> Value {
    let mut text = String::new();
    flate2::read::GzDecoder::new(shared::bundled::DATA).read_to_string(&mut text).expect("corpus inflates");
    serde_json::from_str(&text).expect("corpus is JSON")
}

/// `(arn, default version document)` for every policy.
fn documents() -> Vec<(String, Value)> {
    corpus()["Policies"]
        .as_array()
        .expect("Policies")
        .iter()
        .map(|p| {
            let default = p["PolicyVersionList"]
                .as_array()
                .and_then(|v| v.iter().find(|v| v["IsDefaultVersion"] == Value::Bool(true)))
                .expect("a default version");
            (p["Arn"].as_str().expect("Arn").to_owned(), default["Document"].clone())
        })
        .collect()
}

#[test]
fn every_corpus_document_parses() {
    let docs = documents();
    assert_eq!(docs.len(), 1452);
    let failures: Vec<String> = docs
        .iter()
        .filter_map(|(arn, doc)| parse_policy(doc, PolicyKind::Identity).err().map(|e| format!("{arn}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{} documents failed to parse:\n{}", failures.len(), failures.join("\n"));
}

/// The corpus as customer managed policies of one account, judged by the blocked-actions rule
/// with the default blocked actions (`kms:Decrypt`, `kms:ReEncryptFrom`) and the given
/// `acceptConditionKeys`. The counts asserted below agree with an independent reading of the
/// corpus (a naive Python evaluator over the same probes) and were sampled by hand.
fn blocked_actions_verdicts(accept: &str) -> Vec<(String, Compliance, Option<String>)> {
    let rule = &iam_customer_policy_blocked_kms_actions::RULE;
    let raw = [("acceptConditionKeys".to_owned(), accept.to_owned())].into_iter().collect();
    let params = rule.parse_params(&raw).expect("parameters");
    let resolver = MemoryResolver::new();
    let ctx = Context { params: &params, resolver: &resolver };
    documents()
        .into_iter()
        .map(|(arn, doc)| {
            let name = arn.rsplit('/').next().unwrap_or_default().to_owned();
            let own_arn = format!("arn:aws:iam::111122223333:policy/{name}");
            let resource = Resource {
                names: ResourceNames::new("AWS::IAM::Policy", &name, &own_arn, "111122223333", None),
                resource_type: Some(ResourceType::IamPolicy),
                status: ItemStatus::Ok,
                key: Default::default(),
                version: Default::default(),
                details: Details::Policy(ManagedPolicy {
                    name: name.clone(),
                    document: parse_policy(&doc, PolicyKind::Identity),
                    attachment_count: Some(1),
                    permissions_boundary_usage_count: Some(0),
                }),
            };
            let verdict = rule.judge(&resource, &ctx);
            (name, verdict.compliance, verdict.annotation())
        })
        .collect()
}

#[test]
fn blocked_actions_rule_runs_on_every_corpus_document() {
    let non_compliant = |accept: &str| {
        let verdicts = blocked_actions_verdicts(accept);
        assert_eq!(verdicts.len(), 1452);
        assert!(verdicts.iter().all(|(_, c, _)| *c != Compliance::NotApplicable));
        verdicts.into_iter().filter(|(_, c, _)| *c == Compliance::NonCompliant).map(|(n, _, _)| n).collect::<Vec<_>>()
    };
    // Defaults: conditions do not make an Allow acceptable, so the AWS managed policies that
    // allow `kms:Decrypt` on all keys under `kms:ViaService` (48 of them) are flagged too.
    let flagged = non_compliant("");
    assert_eq!(flagged.len(), 75, "non-compliant: {flagged:?}");
    // Accepting `kms:ViaService`, only the grants without a restricting ViaService remain.
    let flagged = non_compliant("kms:ViaService");
    assert_eq!(flagged.len(), 22, "non-compliant: {flagged:?}");
}

#[test]
fn blocked_actions_sample() {
    let verdicts = blocked_actions_verdicts("");
    let find = |name: &str| verdicts.iter().find(|(n, _, _)| n == name).map(|(_, c, a)| (*c, a.clone()));
    assert_eq!(
        find("AdministratorAccess"),
        Some((Compliance::NonCompliant, Some("stmt #0: allows kms:Decrypt (via \"*\") on all keys (+1 more)".into())))
    );
    assert_eq!(find("ReadOnlyAccess").map(|(c, _)| c), Some(Compliance::Compliant));
    // `kms:Decrypt` on `*` only through IAM Identity Center (`kms:ViaService`): flagged by
    // default, since no condition key is accepted unless the parameter names it.
    assert_eq!(
        find("AWSSSOReadOnly"),
        Some((
            Compliance::NonCompliant,
            Some("stmt \"AllowKMSKeyUseViaAWSIAMIdentityCenterService\": allows kms:Decrypt on all keys".into())
        ))
    );
}

#[test]
fn corpus_copy_matches_shared_corpus() {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/aws-managed-policies.gaad.json.gz");
    match std::fs::read(&beside) {
        Ok(bytes) => assert!(bytes == shared::bundled::DATA, "shared/data differs from {}", beside.display()),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!(
                "note: {} not found ({e}); the copy check runs where shared/ is beside the repository",
                beside.display()
            )
        }
        Err(e) => panic!("CI must have {} beside the repository: {e}", beside.display()),
    }
}
