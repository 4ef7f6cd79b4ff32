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

use aws_sdk_config::types::{ComplianceType, Evaluation};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use tokio::sync::mpsc;

use super::{aws_error, Clients, Judged, Missed, RuleError};
use crate::rule::Compliance;

/// PutEvaluations takes at most this many evaluations a call.
pub const PUT_EVALUATIONS_BATCH: usize = 100;
/// Rounds of retrying `FailedEvaluations` before giving up on them.
const FAILED_EVALUATION_ROUNDS: u32 = 4;
/// A partial batch waits at most this long for more verdicts before it is sent.
pub const FLUSH_AFTER: Duration = Duration::from_secs(2);

/// Reports evaluations with PutEvaluations: batches of 100, `FailedEvaluations` retried with
/// backoff; what still fails is an error naming the resources.
pub async fn report(clients: &Clients, result_token: &str, judged: &[Judged]) -> Result<(), RuleError> {
    let evaluations: Vec<Evaluation> = judged.iter().map(to_evaluation).collect::<Result<_, _>>()?;
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
    mut verdicts: mpsc::Receiver<Judged>,
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
        let Some(judged) = next else {
            flush(clients, result_token, &mut batch, &mut reported).await;
            return reported;
        };
        match to_evaluation(&judged) {
            Ok(evaluation) => batch.push(evaluation),
            Err(e) => reported.unreported.push(Missed::new(key_name(&judged), e.to_string())),
        }
        if batch.len() >= PUT_EVALUATIONS_BATCH {
            flush(clients, result_token, &mut batch, &mut reported).await;
        }
    }
}

async fn flush(clients: &Clients, result_token: &str, batch: &mut Vec<Evaluation>, reported: &mut Reported) {
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
async fn send_batch(
    clients: &Clients,
    result_token: &str,
    batch: Vec<Evaluation>,
) -> Result<Vec<Evaluation>, RuleError> {
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

fn name_of(evaluation: &Evaluation) -> String {
    format!("{}/{}", evaluation.compliance_resource_type(), evaluation.compliance_resource_id())
}

pub(super) fn key_name(((resource_type, resource_id), _, _): &Judged) -> String {
    format!("{resource_type}/{resource_id}")
}

/// The PutEvaluations entry of a verdict. The ordering timestamp must parse: an evaluation
/// sent with a made-up time (the epoch) would be older than the one Config holds, and Config
/// would keep the stale verdict.
fn to_evaluation(judged: &Judged) -> Result<Evaluation, RuleError> {
    let ((resource_type, resource_id), verdict, ordering) = judged;
    // Config writes capture times with and without the `Z`; both are UTC.
    let timestamp = DateTime::from_str(ordering, Format::DateTime)
        .or_else(|_| DateTime::from_str(&format!("{}Z", ordering.trim_end_matches('Z')), Format::DateTime))
        .map_err(|_| RuleError::OrderingTimestamp { resource: key_name(judged), value: ordering.clone() })?;
    let compliance = match verdict.compliance {
        Compliance::Compliant => ComplianceType::Compliant,
        Compliance::NonCompliant => ComplianceType::NonCompliant,
        Compliance::NotApplicable => ComplianceType::NotApplicable,
    };
    Evaluation::builder()
        .compliance_resource_type(resource_type)
        .compliance_resource_id(resource_id)
        .compliance_type(compliance)
        .set_annotation(verdict.annotation())
        .ordering_timestamp(timestamp)
        .build()
        .map_err(|e| aws_error("build Evaluation", e))
}
