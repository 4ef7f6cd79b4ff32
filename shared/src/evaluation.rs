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
//! The resource's names (type, id, ARN, capture time) are the [`Resource`]'s own
//! ([`ResourceNames`], one shared allocation), not copies: every rule's evaluation of a
//! resource names the same. The dry-run makes them on a decoder thread, its judges make the
//! evaluations and its report writer frees them. With copies, the four allocations an
//! evaluation made on a judge and freed on the writer were the judges' largest cost (`perf`:
//! mimalloc collecting blocks freed by another thread; BENCHMARKS.md, "Stop 26"); with four
//! shared strings, their four reference counts were (BENCHMARKS.md, "Stop 40").

use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::item::{Resource, ResourceNames};
use crate::rule::{Cause, Compliance, Verdict};

/// A rule's verdict on one resource, ready to report (PutEvaluations, the dry-run's reports).
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The rule's id: its default Config rule name (`ConfigRuleName` in the dry-run's JSON).
    pub rule: &'static str,
    /// The resource's names: its type as recorded (`ComplianceResourceType`), its id
    /// (`ComplianceResourceId`: an IAM unique id, a KMS key id), its ARN (where SARIF locates a
    /// finding; empty for an item without one and for a resource known only by type and id)
    /// and the item's capture time.
    names: ResourceNames,
    /// `OrderingTimestamp`, when it is not the item's capture time: a periodic run's
    /// evaluations, and a change whose item records none, take the notification's time
    /// instead (runtime). With neither, the dry-run leaves the field out, and PutEvaluations
    /// fails with `RuleError::NoOrderingTimestamp` rather than send an invented time.
    ordering_timestamp: Option<Arc<str>>,
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
        Evaluation::of(rule, resource.names.clone(), verdict)
    }

    /// `rule`'s verdict on a resource known only by its type and id (a periodic run retires a
    /// resource Config no longer records by the type and id its compliance results name): no
    /// ARN, no ordering timestamp until one is set.
    pub fn by_id(rule: &'static str, resource_type: &str, resource_id: &str, verdict: Verdict) -> Evaluation {
        Evaluation::of(rule, ResourceNames::new(resource_type, resource_id, "", "", None), verdict)
    }

    /// `rule`'s verdict on the resource these names name, ordered by their capture time.
    pub fn of(rule: &'static str, names: ResourceNames, verdict: Verdict) -> Evaluation {
        Evaluation {
            rule,
            names,
            ordering_timestamp: None,
            compliance: verdict.compliance,
            annotation: verdict.annotation(),
            excepted: verdict.is_excepted(),
            causes: verdict.causes,
        }
    }

    /// The Config type name, as recorded (`ComplianceResourceType`).
    pub fn resource_type(&self) -> &str {
        self.names.type_name()
    }

    /// The resource id (`ComplianceResourceId`).
    pub fn resource_id(&self) -> &str {
        self.names.resource_id()
    }

    /// The resource's ARN, when known: `None` for an item without one, and for a resource
    /// known only by type and id.
    pub fn resource_arn(&self) -> Option<&str> {
        Some(self.names.arn()).filter(|arn| !arn.is_empty())
    }

    /// `OrderingTimestamp`: the time set ([`Evaluation::order_at`]), else the item's capture
    /// time; `None` when neither is known.
    pub fn ordering_timestamp(&self) -> Option<&str> {
        self.ordering_timestamp.as_deref().or_else(|| self.names.capture_time())
    }

    /// Orders the evaluation at `time` instead of the item's capture time.
    pub fn order_at(&mut self, time: impl Into<Arc<str>>) {
        self.ordering_timestamp = Some(time.into());
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
            compliance_resource_type: self.resource_type(),
            compliance_resource_id: self.resource_id(),
            compliance_type: self.compliance,
            annotation: self.annotation(),
            ordering_timestamp: self.ordering_timestamp(),
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
        assert_eq!((evaluation.resource_arn(), evaluation.ordering_timestamp()), (None, None));
        let evaluation =
            Evaluation::new("rule", &key("arn:aws:kms:us-east-1:111122223333:key/k1", None), Verdict::compliant());
        assert_eq!(evaluation.resource_arn(), Some("arn:aws:kms:us-east-1:111122223333:key/k1"));
    }

    /// A time set orders the evaluation instead of the capture time; without one, the capture
    /// time does; a resource known by type and id has neither until one is set.
    #[test]
    fn a_time_set_orders_instead_of_the_capture_time() {
        let mut evaluation = Evaluation::new("rule", &key("", Some("2026-01-01T00:00:00.000Z")), Verdict::compliant());
        assert_eq!(evaluation.ordering_timestamp(), Some("2026-01-01T00:00:00.000Z"));
        evaluation.order_at("2026-02-01T00:00:00.000Z");
        assert_eq!(evaluation.ordering_timestamp(), Some("2026-02-01T00:00:00.000Z"));
        let mut by_id = Evaluation::by_id("rule", "AWS::KMS::Key", "k1", Verdict::compliant());
        assert_eq!((by_id.resource_type(), by_id.resource_id()), ("AWS::KMS::Key", "k1"));
        assert_eq!((by_id.resource_arn(), by_id.ordering_timestamp()), (None, None));
        by_id.order_at("2026-02-01T00:00:00.000Z");
        assert_eq!(by_id.ordering_timestamp(), Some("2026-02-01T00:00:00.000Z"));
    }
}
