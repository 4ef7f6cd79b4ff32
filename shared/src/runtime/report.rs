//! Reporting verdicts to Config with PutEvaluations.
//!
//! - At most [`PUT_EVALUATIONS_BATCH`] evaluations a call (PutEvaluations' `Evaluations`:
//!   "Array Members: Minimum number of 0 items. Maximum number of 100 items.", AWS Config API
//!   Reference).
//! - Throttling is retried by the SDK (standard mode: exponential backoff with jitter);
//!   `FailedEvaluations` are sent again here, with backoff, [`FAILED_EVALUATION_ROUNDS`] rounds.
//! - A periodic run reports as it judges ([`report_stream`]): a batch goes out when it is full,
//!   or when verdicts stop coming for [`FLUSH_AFTER`], so a run cut short by Lambda's timeout
//!   has lost at most what it judged in the last moments, and a run that stops at its own
//!   deadline has lost nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_config::types::ComplianceType;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use tokio::sync::mpsc;

use super::{aws_error, Clients, Missed, RuleError};
use crate::evaluation::Evaluation;
use crate::rule::Compliance;

/// An evaluation as PutEvaluations takes it.
type Entry = aws_sdk_config::types::Evaluation;

/// PutEvaluations takes at most this many evaluations a call.
pub const PUT_EVALUATIONS_BATCH: usize = 100;
/// Rounds of retrying `FailedEvaluations` before giving up on them.
const FAILED_EVALUATION_ROUNDS: u32 = 4;
/// A partial batch waits at most this long for more verdicts before it is sent.
pub const FLUSH_AFTER: Duration = Duration::from_secs(2);

/// Reports evaluations with PutEvaluations: batches of 100, `FailedEvaluations` retried with
/// backoff; what still fails is an error naming the resources.
pub async fn report(clients: &Clients, result_token: &str, evaluations: &[Evaluation]) -> Result<(), RuleError> {
    let evaluations: Vec<Entry> = evaluations.iter().map(to_entry).collect::<Result<_, _>>()?;
    let mut failed = Vec::new();
    for batch in evaluations.chunks(PUT_EVALUATIONS_BATCH) {
        failed.extend(send_batch(clients, result_token, batch.to_vec()).await?);
    }
    if failed.is_empty() {
        return Ok(());
    }
    let resources: Vec<String> = failed.iter().map(name_of).collect();
    Err(RuleError::Unreported { count: failed.len(), resources: resources.join(", ") })
}

/// What a streamed report did.
#[derive(Debug, Default)]
pub(super) struct Reported {
    /// Evaluations Config accepted, by compliance.
    pub counts: BTreeMap<String, usize>,
    /// Verdicts that were not reported, and why.
    pub unreported: Vec<Missed>,
}

/// Reports verdicts as they arrive on `verdicts`, until the sender is dropped: a batch is sent
/// when it holds 100, or when no verdict came for [`FLUSH_AFTER`]. A failed call does not stop
/// the stream (later batches may well go through): its evaluations are listed as unreported.
pub(super) async fn report_stream(
    clients: &Clients,
    result_token: &str,
    mut verdicts: mpsc::Receiver<Evaluation>,
) -> Reported {
    let mut reported = Reported::default();
    let mut batch = Vec::with_capacity(PUT_EVALUATIONS_BATCH);
    loop {
        let next = if batch.is_empty() {
            verdicts.recv().await
        } else {
            match tokio::time::timeout(FLUSH_AFTER, verdicts.recv()).await {
                Ok(next) => next,
                Err(_quiet) => {
                    flush(clients, result_token, &mut batch, &mut reported).await;
                    continue;
                }
            }
        };
        let Some(evaluation) = next else {
            flush(clients, result_token, &mut batch, &mut reported).await;
            return reported;
        };
        match to_entry(&evaluation) {
            Ok(entry) => batch.push(entry),
            Err(e) => reported.unreported.push(Missed::new(key_name(&evaluation), e.to_string())),
        }
        if batch.len() >= PUT_EVALUATIONS_BATCH {
            flush(clients, result_token, &mut batch, &mut reported).await;
        }
    }
}

async fn flush(clients: &Clients, result_token: &str, batch: &mut Vec<Entry>, reported: &mut Reported) {
    if batch.is_empty() {
        return;
    }
    let sent = std::mem::take(batch);
    match send_batch(clients, result_token, sent.clone()).await {
        Ok(failed) => {
            let failed_names: std::collections::HashSet<String> = failed.iter().map(name_of).collect();
            for evaluation in &sent {
                let name = name_of(evaluation);
                if failed_names.contains(&name) {
                    let why = format!("PutEvaluations listed it in FailedEvaluations {FAILED_EVALUATION_ROUNDS} times");
                    reported.unreported.push(Missed::new(name, why));
                } else {
                    *reported.counts.entry(evaluation.compliance_type().as_str().to_owned()).or_default() += 1;
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, evaluations = sent.len(), "PutEvaluations failed");
            reported.unreported.extend(sent.iter().map(|evaluation| Missed::new(name_of(evaluation), e.to_string())));
        }
    }
}

/// Sends one batch (at most 100); sends `FailedEvaluations` again with backoff. Returns what
/// still failed after [`FAILED_EVALUATION_ROUNDS`] rounds; a call that fails (after the SDK's
/// retries) is an error.
async fn send_batch(clients: &Clients, result_token: &str, batch: Vec<Entry>) -> Result<Vec<Entry>, RuleError> {
    let mut pending = batch;
    let mut round = 0;
    loop {
        let output = clients
            .config
            .put_evaluations()
            .set_evaluations(Some(pending))
            .result_token(result_token)
            .send()
            .await
            .map_err(|e| aws_error("config:PutEvaluations", e))?;
        let failed = output.failed_evaluations().to_vec();
        round += 1;
        if failed.is_empty() || round >= FAILED_EVALUATION_ROUNDS {
            return Ok(failed);
        }
        tracing::warn!(failed = failed.len(), round, "PutEvaluations reported failed evaluations; retrying");
        tokio::time::sleep(backoff(round)).await;
        pending = failed;
    }
}

/// Exponential backoff with jitter: 100 ms × 2^round, plus up to as much again.
pub(super) fn backoff(round: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << round.min(6));
    // Jitter from the clock's nanoseconds: enough to spread concurrent retries, no RNG needed.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    Duration::from_millis(base + u64::from(nanos) % base.max(1))
}

fn name_of(evaluation: &Entry) -> String {
    format!("{}/{}", evaluation.compliance_resource_type(), evaluation.compliance_resource_id())
}

/// `type/id`, as errors and logs name a resource.
pub(super) fn key_name(evaluation: &Evaluation) -> String {
    format!("{}/{}", evaluation.resource_type(), evaluation.resource_id())
}

/// The PutEvaluations entry of an evaluation. The ordering timestamp must be there and parse:
/// an evaluation sent with a made-up time (the epoch) would be older than the one Config
/// holds, and Config would keep the stale verdict.
fn to_entry(evaluation: &Evaluation) -> Result<Entry, RuleError> {
    let Some(ordering) = evaluation.ordering_timestamp() else {
        return Err(RuleError::NoOrderingTimestamp { resource: key_name(evaluation) });
    };
    // Config writes capture times with and without the `Z`; both are UTC.
    let timestamp = DateTime::from_str(ordering, Format::DateTime)
        .or_else(|_| DateTime::from_str(&format!("{}Z", ordering.trim_end_matches('Z')), Format::DateTime))
        .map_err(|_| RuleError::OrderingTimestamp { resource: key_name(evaluation), value: ordering.to_string() })?;
    let compliance = match evaluation.compliance() {
        Compliance::Compliant => ComplianceType::Compliant,
        Compliance::NonCompliant => ComplianceType::NonCompliant,
        Compliance::NotApplicable => ComplianceType::NotApplicable,
    };
    Entry::builder()
        .compliance_resource_type(evaluation.resource_type())
        .compliance_resource_id(evaluation.resource_id())
        .compliance_type(compliance)
        .set_annotation(evaluation.annotation().map(str::to_owned))
        .ordering_timestamp(timestamp)
        .build()
        .map_err(|e| aws_error("build Evaluation", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::{Cause, Verdict};

    fn evaluation(ordering: Option<&str>) -> Evaluation {
        let verdict = Verdict::from_causes(vec![Cause::because("because")]);
        let mut evaluation = Evaluation::by_id("rule", "AWS::KMS::Key", "k1", verdict);
        if let Some(time) = ordering {
            evaluation.order_at(time);
        }
        evaluation
    }

    /// The entry carries the type, id, compliance, annotation and time; a capture time
    /// without its `Z` is UTC.
    #[test]
    fn an_evaluation_is_its_put_evaluations_entry() {
        for time in ["2026-11-23T06:00:00.000Z", "2026-11-23T06:00:00.000"] {
            let entry = to_entry(&evaluation(Some(time))).unwrap();
            assert_eq!(
                (entry.compliance_resource_type(), entry.compliance_resource_id(), entry.compliance_type()),
                ("AWS::KMS::Key", "k1", &ComplianceType::NonCompliant)
            );
            assert_eq!(entry.annotation(), Some("because"));
            assert_eq!(entry.ordering_timestamp().to_millis().unwrap(), 1_795_413_600_000, "{time}");
        }
    }

    /// No ordering timestamp, or one that does not parse: an error naming the resource, never
    /// an invented time.
    #[test]
    fn an_evaluation_without_a_readable_time_is_an_error() {
        let error = to_entry(&evaluation(None)).unwrap_err();
        assert!(
            matches!(&error, RuleError::NoOrderingTimestamp { resource } if resource == "AWS::KMS::Key/k1"),
            "{error}"
        );
        assert_eq!(error.error_type(), "KmsGuardrails.InvalidConfigurationItem");
        let error = to_entry(&evaluation(Some("yesterday"))).unwrap_err();
        assert!(matches!(&error, RuleError::OrderingTimestamp { value, .. } if value == "yesterday"), "{error}");
    }
}
