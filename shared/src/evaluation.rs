//! [`Evaluation`]: a rule's verdict on one resource, ready to report.
//!
//! One type for both ways out, so that they cannot drift apart: the Lambda shell
//! (`runtime`) turns it into a PutEvaluations entry and its log line; the dry-run (`dryrun`)
//! writes it as an entry of its JSON report (PutEvaluations' fields plus `ConfigRuleName` and
//! `Causes`) and keeps the NON_COMPLIANT and excepted ones for the table and SARIF.
//!
//! The verdict is taken apart once, where it is made (the dry-run's judges run on every core):
//! its compliance, its annotation, its causes and whether exceptions cover it. Nothing here is
//! a placeholder for what is unknown: an item without a capture time has no ordering timestamp
//! (`None`, which the dry-run leaves out and PutEvaluations refuses as an error), and a
//! resource without an ARN has none.
//!
//! The resource's type, id, ARN and capture time are the [`Resource`]'s own strings, shared
//! (`Arc<str>`), not copies: every rule's evaluation of a resource names the same four. The
//! dry-run makes them on a decoder thread, its judges make the evaluations and its report
//! writer frees them, and with copies the four allocations an evaluation made on a judge and
//! freed on the writer were the judges' largest cost (`perf`: mimalloc collecting blocks freed
//! by another thread; BENCHMARKS.md, "Stop 26").

use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::item::Resource;
use crate::rule::{Cause, Compliance, Verdict};

/// A rule's verdict on one resource, ready to report (PutEvaluations, the dry-run's reports).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The rule's id: its default Config rule name (`ConfigRuleName` in the dry-run's JSON).
    pub rule: &'static str,
    /// The Config type name, as recorded (`ComplianceResourceType`).
    pub resource_type: Arc<str>,
    /// The resource id (`ComplianceResourceId`): an IAM unique id, a KMS key id.
    pub resource_id: Arc<str>,
    /// The resource's ARN, when known: where SARIF locates a finding. `None` for an item
    /// without one, and for a resource known only by type and id.
    pub resource_arn: Option<Arc<str>>,
    /// `OrderingTimestamp`: the item's capture time; a periodic run's evaluations, and a
    /// change whose item records none, take the notification's time instead (runtime). `None`
    /// when neither is known: the dry-run leaves the field out, PutEvaluations fails with
    /// `RuleError::NoOrderingTimestamp` rather than send an invented time.
    pub ordering_timestamp: Option<Arc<str>>,
    /// The verdict's compliance.
    compliance: Compliance,
    /// The verdict's annotation ([`Verdict::annotation`]): none when COMPLIANT.
    annotation: Option<String>,
    /// Every cause of the verdict. A COMPLIANT verdict's causes are advisory findings (the
    /// readiness rule with `requireConfusedDeputyConditions=false`): the dry-run's JSON keeps
    /// them; no annotation shows them.
    causes: Vec<Cause>,
    /// NOT_APPLICABLE because exceptions cover every cause ([`Verdict::is_excepted`]).
    excepted: bool,
}

impl Evaluation {
    /// `rule`'s verdict on `resource`, ordered by the item's capture time.
    pub fn new(rule: &'static str, resource: &Resource, verdict: Verdict) -> Evaluation {
        Evaluation {
            // `Resource::arn` is empty when the item has none.
            resource_arn: Some(resource.arn.clone()).filter(|arn| !arn.is_empty()),
            ordering_timestamp: resource.capture_time.clone(),
            ..Evaluation::by_id(rule, resource.type_name.clone(), resource.resource_id.clone(), verdict)
        }
    }

    /// `rule`'s verdict on a resource known only by its type and id (a periodic run retires a
    /// resource Config no longer records by the type and id its compliance results name): no
    /// ARN, no ordering timestamp until one is set.
    pub fn by_id(
        rule: &'static str,
        resource_type: impl Into<Arc<str>>,
        resource_id: impl Into<Arc<str>>,
        verdict: Verdict,
    ) -> Evaluation {
        Evaluation {
            rule,
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            resource_arn: None,
            ordering_timestamp: None,
            compliance: verdict.compliance,
            annotation: verdict.annotation(),
            excepted: verdict.is_excepted(),
            causes: verdict.causes,
        }
    }

    /// The verdict's compliance.
    pub fn compliance(&self) -> Compliance {
        self.compliance
    }

    /// The verdict's annotation (at most 256 characters); none when COMPLIANT.
    pub fn annotation(&self) -> Option<&str> {
        self.annotation.as_deref()
    }

    /// Every cause of the verdict, first the one the annotation names.
    pub fn causes(&self) -> &[Cause] {
        &self.causes
    }

    /// NOT_APPLICABLE because exceptions cover every cause: the dry-run counts it apart and
    /// lists it with the findings (the table marks it, SARIF suppresses it).
    pub fn is_excepted(&self) -> bool {
        self.excepted
    }
}

/// As the dry-run's JSON report writes an evaluation: PutEvaluations' fields (`Annotation`
/// and `OrderingTimestamp` only when there is one) plus `ConfigRuleName` and `Causes`. The
/// ARN and the excepted flag are not part of it.
impl Serialize for Evaluation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            config_rule_name: self.rule,
            compliance_resource_type: &self.resource_type,
            compliance_resource_id: &self.resource_id,
            compliance_type: self.compliance,
            annotation: self.annotation(),
            ordering_timestamp: self.ordering_timestamp.as_deref(),
            causes: &self.causes,
        }
        .serialize(serializer)
    }
}

/// An [`Evaluation`]'s JSON form, field by field in the report's order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Wire<'a> {
    config_rule_name: &'a str,
    compliance_resource_type: &'a str,
    compliance_resource_id: &'a str,
    compliance_type: Compliance,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ordering_timestamp: Option<&'a str>,
    causes: &'a [Cause],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(arn: &str, capture_time: Option<&str>) -> Resource {
        let item = serde_json::json!({
            "resourceType": "AWS::KMS::Key", "resourceId": "k1", "awsAccountId": "111122223333",
            "ARN": arn, "configurationItemStatus": "OK", "configurationItemCaptureTime": capture_time,
            "configuration": {"keyManager": "CUSTOMER", "keyState": "Enabled"},
        });
        Resource::from_json(&item).unwrap()
    }

    /// The JSON entry: PascalCase fields in PutEvaluations' order, then the rule's causes;
    /// no `Annotation` when COMPLIANT, no `OrderingTimestamp` when unknown.
    #[test]
    fn serializes_as_the_dry_run_report_entry() {
        let evaluation = Evaluation::new(
            "rule",
            &key("arn:aws:kms:us-east-1:111122223333:key/k1", Some("2026-01-01T00:00:00.000Z")),
            Verdict::from_causes(vec![Cause::because("because")]),
        );
        assert_eq!(
            serde_json::to_string(&evaluation).unwrap(),
            r#"{"ConfigRuleName":"rule","ComplianceResourceType":"AWS::KMS::Key","ComplianceResourceId":"k1","ComplianceType":"NON_COMPLIANT","Annotation":"because","OrderingTimestamp":"2026-01-01T00:00:00.000Z","Causes":[{"reason":"because"}]}"#
        );
        let compliant = Evaluation::new("rule", &key("", None), Verdict::compliant());
        assert_eq!(
            serde_json::to_string(&compliant).unwrap(),
            r#"{"ConfigRuleName":"rule","ComplianceResourceType":"AWS::KMS::Key","ComplianceResourceId":"k1","ComplianceType":"COMPLIANT","Causes":[]}"#
        );
    }

    /// What is unknown stays unknown: an empty ARN and a missing capture time are `None`.
    #[test]
    fn unknown_is_none() {
        let evaluation = Evaluation::new("rule", &key("", None), Verdict::compliant());
        assert_eq!((evaluation.resource_arn, evaluation.ordering_timestamp), (None, None));
        let evaluation =
            Evaluation::new("rule", &key("arn:aws:kms:us-east-1:111122223333:key/k1", None), Verdict::compliant());
        assert_eq!(evaluation.resource_arn.as_deref(), Some("arn:aws:kms:us-east-1:111122223333:key/k1"));
    }
}
