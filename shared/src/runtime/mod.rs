//! The Lambda shell: everything a rule needs from AWS, around the pure core.
//!
//! One invocation: decode Config's event ([`crate::event`]), check the parameters, get the
//! item (inline, or GetResourceConfigHistory for oversized items), fetch what Config does not
//! record (a key's policy when the item lacks it; a role's attached policies and permissions
//! boundary and a user's groups, for rules that read them), judge with the pure rule, and
//! report with PutEvaluations. A scheduled notification runs [`periodic`]: every recorded
//! resource, reported as judged, within the invocation's deadline.
//!
//! - `clients.rs`: the SDK clients; with parameter `executionRoleName` every call runs as that
//!   role in the event's account, and a warm container keeps those clients (and so the
//!   assumed role's credentials, while valid) per account ([`Accounts`]).
//! - `fetch.rs`: what Config does not record, fetched once per invocation.
//! - `periodic.rs`: scheduled runs: paging, unprocessed keys, concurrency, the sweep.
//! - `report.rs`: PutEvaluations, batched, retried, streamed during periodic runs.
//! - `deadline.rs`: when a periodic run stops starting work.
//! - `exceptions.rs`: the exceptions file of `exceptionsUri`, read with the function's own
//!   role from S3 or SSM, kept by a warm container for a minute; applied to every verdict
//!   before it is logged or reported.
//! - Credentials and endpoints come from the standard SDK configuration (environment, profile,
//!   `AWS_ENDPOINT_URL`), so tests point the real clients at a local server.
//! - Errors leave as `lambda_runtime` diagnostics with a stable `errorType`.
//! - Logs are JSON lines (rule, resource, verdict); no policy document is ever logged.

mod clients;
mod deadline;
mod exceptions;
mod fetch;
mod periodic;
mod report;

use std::process::ExitCode;
use std::sync::Arc;

use aws_config::SdkConfig;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use tokio::sync::mpsc;

pub use clients::{load_sdk_config, partition_of, Accounts, Clients};
pub use deadline::{Deadline, SAFETY_MARGIN};
pub use exceptions::{today_utc, Excepting, ExceptionsCache, EXCEPTIONS_MAX_BYTES, EXCEPTIONS_TTL, NO_EXCEPTIONS};
pub use fetch::IAM_MAX_ITEMS;
pub use periodic::{CONFIG_MAX_LIMIT, UNPROCESSED_ROUNDS};
pub use report::{report, FLUSH_AFTER, PUT_EVALUATIONS_BATCH};

use crate::evaluation::Evaluation;
use crate::event::{self, ConfigEvent, EventError, Invocation};
use crate::item::Resource;
use crate::resolver::MemoryResolver;
use crate::rule::{Context, Params, Rule, Verdict};
use fetch::{fetch_history_item, fill_key_policy, resolve, Cache};

/// At most this many unreached resources are named in an error message; the log names them
/// all. A failed asynchronous invocation lands, with its error, in an SQS on-failure
/// destination, whose messages hold at most 256 KB.
const NAMED_IN_ERROR: usize = 1000;

/// Why an invocation failed. The `errorType` Lambda reports is stable per variant.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The event is not what Config sends.
    #[error(transparent)]
    Event(#[from] event::EventError),
    /// `ruleParameters` are wrong.
    #[error(transparent)]
    Parameters(#[from] crate::rule::ParamError),
    /// The configuration item cannot be read.
    #[error(transparent)]
    Item(#[from] crate::item::ItemError),
    /// A verdict's ordering timestamp (the item's capture time, or the notification time) does
    /// not parse.
    #[error("{resource}: ordering timestamp `{value}` is not an ISO 8601 date-time")]
    OrderingTimestamp {
        /// `type/id`.
        resource: String,
        /// The text.
        value: String,
    },
    /// A verdict has no ordering timestamp: the item records no capture time and the event no
    /// notification time. PutEvaluations needs one, and an invented one (the epoch) would be
    /// older than what Config holds, which would keep the stale verdict.
    #[error("{resource}: no ordering timestamp (the item has no capture time, the event no notification time)")]
    NoOrderingTimestamp {
        /// `type/id`.
        resource: String,
    },
    /// An AWS call failed (after the SDK's retries).
    #[error("{call} failed: {message}")]
    Aws {
        /// The API call.
        call: &'static str,
        /// The error, as the SDK describes it.
        message: String,
    },
    /// The function itself cannot go on: its environment lacks what it needs (an AWS region),
    /// or it could not write its own result. Nothing AWS said.
    #[error("{0}")]
    Function(String),
    /// Some evaluations could not be reported.
    #[error("PutEvaluations failed for {count} evaluation(s): {resources}")]
    Unreported {
        /// How many.
        count: usize,
        /// `type/id` of each, comma-separated.
        resources: String,
    },
    /// A periodic run reported what it judged but did not reach, judge or report everything.
    #[error("periodic run incomplete: {reported} evaluation(s) reported; {count} not: {details}")]
    Incomplete {
        /// Evaluations Config accepted.
        reported: usize,
        /// Resources (or steps) missed.
        count: usize,
        /// What, grouped by why (`why: type/id, ...; why: ...`).
        details: String,
    },
    /// The exceptions file (`exceptionsUri`) cannot be read or is malformed: nothing is judged
    /// or reported, rather than verdicts that ignore it.
    #[error("exceptions file `{uri}`: {problem}")]
    Exceptions {
        /// `exceptionsUri`.
        uri: String,
        /// Why (the failed call, or the file's problems).
        problem: String,
    },
}

impl RuleError {
    /// The stable `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            RuleError::Event(_) => "KmsGuardrails.InvalidEvent",
            RuleError::Parameters(_) => "KmsGuardrails.InvalidParameters",
            RuleError::Item(_) | RuleError::OrderingTimestamp { .. } | RuleError::NoOrderingTimestamp { .. } => {
                "KmsGuardrails.InvalidConfigurationItem"
            }
            RuleError::Aws { .. } => "KmsGuardrails.AwsCallFailed",
            RuleError::Function(_) => "KmsGuardrails.FunctionError",
            RuleError::Unreported { .. } => "KmsGuardrails.PutEvaluationsFailed",
            RuleError::Incomplete { .. } => "KmsGuardrails.PeriodicRunIncomplete",
            RuleError::Exceptions { .. } => "KmsGuardrails.InvalidExceptions",
        }
    }
}

impl From<RuleError> for Diagnostic {
    fn from(error: RuleError) -> Diagnostic {
        Diagnostic { error_type: error.error_type().into(), error_message: error.to_string() }
    }
}

fn aws_error(call: &'static str, error: impl std::error::Error) -> RuleError {
    RuleError::Aws { call, message: aws_smithy_types::error::display::DisplayErrorContext(error).to_string() }
}

/// Something a run did not judge or report (a resource, `type/id`, or a step), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missed {
    /// `type/id`, or the step (`the listing of AWS::IAM::Role after 300 resources`).
    pub what: String,
    /// Why: `deadline`, the failed call, ...
    pub why: String,
}

impl Missed {
    fn new(what: impl Into<String>, why: impl Into<String>) -> Missed {
        Missed { what: what.into(), why: why.into() }
    }
}

/// Runs `rule` as a Lambda function until the runtime stops it.
pub fn run(rule: &'static Rule) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        // One per container: the assumed roles' clients outlive an invocation.
        let accounts = Accounts::new(load_sdk_config().await);
        let accounts = &accounts;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
            let deadline = Deadline::from_lambda(event.context.deadline(), SAFETY_MARGIN);
            handle_event(rule, accounts, &event.payload, deadline).await
        }))
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// What one invocation did, returned as the function's result.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Evaluations reported, by compliance.
    pub reported: std::collections::BTreeMap<String, usize>,
    /// Periodic runs: listed resources that BatchGetResourceConfig did not return (deleted
    /// since the listing), so neither judged nor retired this time.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_returned: Vec<String>,
}

/// Handles one Config event with fresh clients and no deadline (tests and tools; Lambda uses
/// [`handle_event`]).
pub async fn handle(rule: &'static Rule, base: &SdkConfig, payload: &Value) -> Result<Value, RuleError> {
    handle_event(rule, &Accounts::new(base.clone()), payload, Deadline::none()).await
}

/// Handles one Config event: the whole invocation. Periodic runs stop starting work at
/// `deadline`.
pub async fn handle_event(
    rule: &'static Rule,
    accounts: &Accounts,
    payload: &Value,
    deadline: Deadline,
) -> Result<Value, RuleError> {
    let (event, params) = decode_event(rule, payload)?;
    // Read before anything is judged: an unreadable file fails the invocation with nothing
    // reported.
    let exceptions = accounts.exceptions().for_params(&params).await?;
    let excepting = Excepting { exceptions: exceptions.as_deref().unwrap_or(&NO_EXCEPTIONS), today: today_utc() };
    let clients = accounts.clients_for(&params, &event.account_id).await?;
    let summary = match &event.invocation {
        Invocation::Scheduled => {
            scheduled(Run { rule, clients: &clients, params: &params, event: &event, deadline, excepting }).await?
        }
        Invocation::Change { .. } | Invocation::Oversized { .. } => {
            let evaluations = evaluate_event_excepting(rule, &clients, &params, &event, excepting).await?;
            report(&clients, &event.result_token, &evaluations).await?;
            let mut summary = Summary::default();
            for evaluation in &evaluations {
                *summary.reported.entry(evaluation.compliance().as_str().to_owned()).or_default() += 1;
            }
            summary
        }
    };
    serde_json::to_value(summary).map_err(|e| RuleError::Function(format!("the run's summary does not serialize: {e}")))
}

/// What evaluating one event takes: the rule, the clients of the account evaluated, the
/// rule's parameters, the event, the moment to stop starting work, and the exceptions to apply.
#[derive(Clone, Copy)]
struct Run<'a> {
    rule: &'static Rule,
    clients: &'a Clients,
    params: &'a Params,
    event: &'a ConfigEvent,
    deadline: Deadline,
    excepting: Excepting<'a>,
}

/// A periodic run, its verdicts reported while it runs; an error when anything was missed.
async fn scheduled(run: Run<'_>) -> Result<Summary, RuleError> {
    let Run { rule, clients, event, .. } = run;
    require_notification_time(event)?;
    // Twice a batch: the judges keep going while a full batch is being sent.
    let (sender, receiver) = mpsc::channel(2 * PUT_EVALUATIONS_BATCH);
    let (outcome, reported) =
        tokio::join!(periodic::run(run, sender), report::report_stream(clients, &event.result_token, receiver));
    let summary = Summary { reported: reported.counts, not_returned: outcome.not_returned };
    let missed: Vec<Missed> = outcome.missed.into_iter().chain(reported.unreported).collect();
    if missed.is_empty() {
        return Ok(summary);
    }
    let reported: usize = summary.reported.values().sum();
    for missed in &missed {
        tracing::error!(rule = rule.id, what = %missed.what, why = %missed.why, "not reached");
    }
    Err(RuleError::Incomplete { reported, count: missed.len(), details: describe_missed(&missed) })
}

/// A periodic run reports every verdict with the notification time (SPEC section 5): without
/// it there is nothing honest to send as `OrderingTimestamp`.
fn require_notification_time(event: &ConfigEvent) -> Result<(), RuleError> {
    if event.notification_time.is_empty() {
        return Err(RuleError::Event(EventError {
            field: "invokingEvent.notificationCreationTime".into(),
            problem: "is missing: a periodic run reports it as every evaluation's OrderingTimestamp".into(),
        }));
    }
    Ok(())
}

/// `why: what, what; why: what`, reasons in first-seen order, at most [`NAMED_IN_ERROR`] names.
fn describe_missed(missed: &[Missed]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for m in missed {
        match groups.iter_mut().find(|(why, _)| *why == m.why) {
            Some((_, whats)) => whats.push(&m.what),
            None => groups.push((&m.why, vec![&m.what])),
        }
    }
    let mut named = 0;
    let mut parts = Vec::new();
    for (why, whats) in groups {
        let room = NAMED_IN_ERROR.saturating_sub(named);
        let shown: Vec<&str> = whats.iter().take(room).copied().collect();
        named += shown.len();
        let more = whats.len() - shown.len();
        let tail = if more > 0 { format!(" and {more} more (every one is in the log)") } else { String::new() };
        parts.push(format!("{why} ({}): {}{tail}", whats.len(), shown.join(", ")));
    }
    parts.join("; ")
}

/// Decodes an event and its rule parameters: the first, pure step of [`handle`].
pub fn decode_event(rule: &Rule, payload: &Value) -> Result<(ConfigEvent, Params), RuleError> {
    let event = event::decode(payload)?;
    let params = rule.parse_params_json(event.rule_parameters.as_deref())?;
    Ok((event, params))
}

/// Judges a resource whose key policy and other resources are at hand, and logs the verdict:
/// the pure step of an invocation after its AWS calls (`lambda` bench times it). The
/// evaluation is ordered by the item's capture time.
pub fn judge_fetched(rule: &Rule, params: &Params, resource: &Resource, resolver: &MemoryResolver) -> Evaluation {
    judge_fetched_excepting(rule, params, resource, resolver, Excepting::none())
}

/// As [`judge_fetched`], with the exceptions applied before the verdict is logged.
pub fn judge_fetched_excepting(
    rule: &Rule,
    params: &Params,
    resource: &Resource,
    resolver: &MemoryResolver,
    excepting: Excepting<'_>,
) -> Evaluation {
    let verdict = rule.judge(resource, &Context { params, resolver });
    let target = crate::exceptions::Target {
        rule: rule.id,
        arn: resource.arn(),
        resource_id: resource.resource_id(),
        account_id: resource.account_id(),
    };
    let evaluation = Evaluation::new(rule.id, resource, excepting.exceptions.apply(&target, verdict, excepting.today));
    // A COMPLIANT verdict has no annotation: the log line shows an empty one, nothing is lost.
    tracing::info!(rule = evaluation.rule, resource_type = %evaluation.resource_type(), resource_id = %evaluation.resource_id(), compliance = evaluation.compliance().as_str(), annotation = evaluation.annotation().unwrap_or_default(), "evaluated");
    evaluation
}

/// Evaluates what the event asks, without reporting and without exceptions. A scheduled
/// notification is evaluated in full (no deadline) and its verdicts collected: the Lambda
/// handler reports them as they are made instead.
pub async fn evaluate_event(
    rule: &'static Rule,
    clients: &Clients,
    params: &Params,
    event: &ConfigEvent,
) -> Result<Vec<Evaluation>, RuleError> {
    evaluate_event_excepting(rule, clients, params, event, Excepting::none()).await
}

/// As [`evaluate_event`], with exceptions applied to every verdict.
pub async fn evaluate_event_excepting(
    rule: &'static Rule,
    clients: &Clients,
    params: &Params,
    event: &ConfigEvent,
    excepting: Excepting<'_>,
) -> Result<Vec<Evaluation>, RuleError> {
    let run = Run { rule, clients, params, event, deadline: Deadline::none(), excepting };
    let cache = Cache::default();
    let ordering = Some(event.notification_time.as_str()).filter(|t| !t.is_empty());
    match &event.invocation {
        Invocation::Change { item } => {
            let resource = Resource::from_json(item)?;
            let evaluation = judge_one(run, &cache, resource, event.event_left_scope, None).await?;
            Ok(vec![or_ordering(evaluation, ordering)])
        }
        Invocation::Oversized { resource_type, resource_id } => {
            let item = fetch_history_item(clients, resource_type, resource_id).await?;
            let resource = Resource::from_json(&item)?;
            let evaluation = judge_one(run, &cache, resource, event.event_left_scope, None).await?;
            Ok(vec![or_ordering(evaluation, ordering)])
        }
        Invocation::Scheduled => {
            require_notification_time(event)?;
            let (sender, mut receiver) = mpsc::channel(PUT_EVALUATIONS_BATCH);
            let collect = async {
                let mut all = Vec::new();
                while let Some(judged) = receiver.recv().await {
                    all.push(judged);
                }
                all
            };
            let (outcome, judged) = tokio::join!(periodic::run(run, sender), collect);
            match outcome.missed.is_empty() {
                true => Ok(judged),
                false => Err(RuleError::Incomplete {
                    reported: 0,
                    count: outcome.missed.len(),
                    details: describe_missed(&outcome.missed),
                }),
            }
        }
    }
}

/// A change's verdict is ordered by the item's capture time; an item without one (Config's
/// always carry it) by the notification's time. Neither known: none, which reporting refuses
/// (`RuleError::NoOrderingTimestamp`).
fn or_ordering(mut evaluation: Evaluation, notification_time: Option<&str>) -> Evaluation {
    if let (None, Some(time)) = (evaluation.ordering_timestamp(), notification_time) {
        evaluation.order_at(time);
    }
    evaluation
}

/// Judges one resource (NOT_APPLICABLE when it left the rule's scope), ordered by `ordering`
/// when given (a periodic run's notification time), by the item's capture time otherwise.
async fn judge_one(
    run: Run<'_>,
    cache: &Cache,
    mut resource: Resource,
    left_scope: bool,
    ordering: Option<&str>,
) -> Result<Evaluation, RuleError> {
    let Run { rule, clients, params, excepting, .. } = run;
    let mut evaluation = match left_scope {
        true => Evaluation::new(rule.id, &resource, Verdict::not_applicable("resource left the rule's scope")),
        false => {
            fill_key_policy(clients, &mut resource).await?;
            let resolver = resolve(rule, params, clients, cache, &resource).await;
            judge_fetched_excepting(rule, params, &resource, &resolver, excepting)
        }
    };
    // `ordering` (a periodic run's notification time) over the item's capture time.
    if let Some(time) = ordering {
        evaluation.order_at(time);
    }
    Ok(evaluation)
}

/// Shared by the binaries: keep an `Arc` of the base configuration for handlers.
pub type SharedConfig = Arc<SdkConfig>;
