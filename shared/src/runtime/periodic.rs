//! A periodic run (ScheduledNotification): every recorded resource of the rule's types, judged
//! and reported, and NOT_APPLICABLE for the resources it judged before that are gone.
//!
//! Nothing is lost on the way (SPEC section 5):
//! - every list call pages to the end with the largest page the API allows
//!   ([`CONFIG_MAX_LIMIT`]);
//! - `unprocessedResourceKeys` of BatchGetResourceConfig are asked for again, with backoff,
//!   [`UNPROCESSED_ROUNDS`] rounds; a key still unprocessed is listed as not reached, never
//!   taken for gone: "gone" means absent from ListDiscoveredResources, and only the types
//!   whose listing finished are swept;
//! - fetches run concurrently ([`FETCH_CONCURRENCY`] BatchGetResourceConfig calls and
//!   [`JUDGE_CONCURRENCY`] resources with their IAM reads at once), and each verdict goes to
//!   the reporter as soon as it is made;
//! - at the [`Deadline`] no new work starts; what was judged is reported, and the run fails
//!   naming what it did not reach, as it does for every resource it could not fetch or judge.

use std::collections::{BTreeSet, HashSet};

use aws_sdk_config::types::{ComplianceType, ResourceKey};
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::fetch::{api_item_of, describe, Cache};
use super::report::backoff;
use super::{judge_one, Clients, Deadline, Missed, Run};
use crate::evaluation::Evaluation;
use crate::item::{Resource, ResourceType};
use crate::rule::Verdict;

/// ListDiscoveredResources `limit` and GetComplianceDetailsByConfigRule `Limit`: "You cannot
/// specify a limit greater than 100" (AWS Config API Reference, both operations), and
/// BatchGetResourceConfig's `resourceKeys`: "Maximum number of 100 items".
pub const CONFIG_MAX_LIMIT: i32 = 100;
/// BatchGetResourceConfig's `resourceKeys` take at most 100 keys (see [`CONFIG_MAX_LIMIT`]).
const BATCH_GET_MAX_KEYS: usize = 100;
/// Rounds of BatchGetResourceConfig for keys Config left unprocessed.
pub const UNPROCESSED_ROUNDS: u32 = 5;
/// BatchGetResourceConfig calls in flight at once.
const FETCH_CONCURRENCY: usize = 4;
/// Resources judged at once (their IAM reads overlap).
const JUDGE_CONCURRENCY: usize = 16;

/// What a periodic run did not do. Its verdicts went to the reporter.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// What was not reached or could not be judged, and why.
    pub missed: Vec<Missed>,
    /// Listed resources BatchGetResourceConfig did not return (it returns nothing for a
    /// resource deleted since the listing): not judged, and not swept this time either.
    pub not_returned: Vec<String>,
}

/// A resource as ListDiscoveredResources names it.
type Key = (ResourceType, String);

fn name((resource_type, id): &Key) -> String {
    format!("{}/{id}", resource_type.as_str())
}

/// Runs the periodic evaluation, sending each verdict to `verdicts` as it is made.
pub(super) async fn run(run: Run<'_>, verdicts: mpsc::Sender<Evaluation>) -> Outcome {
    let Run { rule, clients, deadline, .. } = run;
    let cache = Cache::default();
    let mut outcome = Outcome::default();

    let mut listed: Vec<Key> = Vec::new();
    let mut complete: Vec<ResourceType> = Vec::new();
    for &resource_type in rule.resource_types {
        match list(clients, resource_type, deadline, &mut listed).await {
            Ok(()) => complete.push(resource_type),
            Err(missed) => outcome.missed.push(missed),
        }
    }

    judge_all(run, &cache, &listed, &verdicts, &mut outcome).await;

    let current: HashSet<(&str, &str)> = listed.iter().map(|(t, id)| (t.as_str(), id.as_str())).collect();
    let incomplete: Vec<&ResourceType> = rule.resource_types.iter().filter(|t| !complete.contains(t)).collect();
    if !incomplete.is_empty() {
        let types: Vec<&str> = incomplete.iter().map(|t| t.as_str()).collect();
        outcome.missed.push(Missed::new(
            format!("NOT_APPLICABLE for gone resources of {}", types.join(", ")),
            "their listing did not finish, so what is gone is not known",
        ));
    }
    if let Err(missed) = sweep(run, &complete, &current, &verdicts).await {
        outcome.missed.push(missed);
    }
    outcome
}

/// Lists the recorded resources of one type (deleted ones left out), every page.
async fn list(
    clients: &Clients,
    resource_type: ResourceType,
    deadline: Deadline,
    listed: &mut Vec<Key>,
) -> Result<(), Missed> {
    let mut pages = clients
        .config
        .list_discovered_resources()
        .resource_type(aws_sdk_config::types::ResourceType::from(resource_type.as_str()))
        .limit(CONFIG_MAX_LIMIT)
        .into_paginator()
        .send();
    let mut count = 0usize;
    let what = |count| format!("the listing of {} after {count} resources", resource_type.as_str());
    loop {
        // The paginator asks for the next page only when polled: check before each.
        if deadline.passed() {
            return Err(Missed::new(what(count), "deadline"));
        }
        let Some(page) = pages.next().await else { return Ok(()) };
        let page = page.map_err(|e| Missed::new(what(count), describe("config:ListDiscoveredResources", e)))?;
        for identifier in page.resource_identifiers() {
            if identifier.resource_deletion_time().is_some() {
                continue;
            }
            let Some(id) = identifier.resource_id() else {
                return Err(Missed::new(what(count), "ListDiscoveredResources returned a resource without its id"));
            };
            listed.push((resource_type, id.to_owned()));
            count += 1;
        }
    }
}

/// What the fetch stage hands the judges.
enum Fetched {
    /// An item (API dialect) of a listed key.
    Item(Key, Value),
    /// A key that was not fetched, and why.
    Missed(Missed),
    /// A key BatchGetResourceConfig neither returned nor left unprocessed.
    NotReturned(Key),
}

/// Fetches every listed key in batches of 100 and judges each item, concurrently; each verdict
/// goes to `verdicts` as soon as it is made.
async fn judge_all(
    run: Run<'_>,
    cache: &Cache,
    listed: &[Key],
    verdicts: &mpsc::Sender<Evaluation>,
    outcome: &mut Outcome,
) {
    let Run { clients, event, deadline, .. } = run;
    let ordering = event.notification_time.as_str();
    let fetched = futures::stream::iter(listed.chunks(BATCH_GET_MAX_KEYS))
        .map(|keys| fetch(clients, keys, deadline))
        .buffer_unordered(FETCH_CONCURRENCY)
        .flat_map(futures::stream::iter);
    let mut steps = fetched
        .map(|fetched| async move {
            match fetched {
                Fetched::Item(key, item) => {
                    // Checked when the judge starts, not when the item arrived: this is where
                    // new work (IAM reads, the rule) begins.
                    if deadline.passed() {
                        return Step::Missed(Missed::new(name(&key), "deadline"));
                    }
                    let resource = match Resource::from_json(&item) {
                        Ok(resource) => resource,
                        Err(e) => return Step::Missed(Missed::new(name(&key), e.to_string())),
                    };
                    match judge_one(run, cache, resource, false, Some(ordering)).await {
                        Ok(evaluation) => Step::Judged(evaluation),
                        Err(e) => Step::Missed(Missed::new(name(&key), e.to_string())),
                    }
                }
                Fetched::Missed(missed) => Step::Missed(missed),
                Fetched::NotReturned(key) => Step::NotReturned(name(&key)),
            }
        })
        .buffer_unordered(JUDGE_CONCURRENCY);
    while let Some(step) = steps.next().await {
        match step {
            Step::Judged(evaluation) => {
                if let Err(mpsc::error::SendError(evaluation)) = verdicts.send(evaluation).await {
                    // The reporter only stops when this sender is dropped; should it have gone,
                    // the verdict is listed, not dropped.
                    outcome.missed.push(Missed::new(super::report::key_name(&evaluation), "the reporter had stopped"));
                }
            }
            Step::Missed(missed) => outcome.missed.push(missed),
            Step::NotReturned(resource) => {
                tracing::warn!(%resource, "listed, but BatchGetResourceConfig did not return it (deleted since the listing?)");
                outcome.not_returned.push(resource);
            }
        }
    }
}

/// What became of one fetched key.
enum Step {
    Judged(Evaluation),
    Missed(Missed),
    NotReturned(String),
}

/// BatchGetResourceConfig for up to 100 keys, asking again for the unprocessed ones.
async fn fetch(clients: &Clients, keys: &[Key], deadline: Deadline) -> Vec<Fetched> {
    let mut out = Vec::with_capacity(keys.len());
    let mut pending: Vec<Key> = keys.to_vec();
    for round in 0..UNPROCESSED_ROUNDS {
        if deadline.passed() {
            out.extend(pending.iter().map(|key| Fetched::Missed(Missed::new(name(key), "deadline"))));
            return out;
        }
        if round > 0 {
            tokio::time::sleep(backoff(round)).await;
        }
        let resource_keys: Result<Vec<ResourceKey>, _> = pending
            .iter()
            .map(|(t, id)| {
                ResourceKey::builder()
                    .resource_type(aws_sdk_config::types::ResourceType::from(t.as_str()))
                    .resource_id(id)
                    .build()
            })
            .collect();
        let call = match resource_keys {
            Ok(resource_keys) => clients
                .config
                .batch_get_resource_config()
                .set_resource_keys(Some(resource_keys))
                .send()
                .await
                .map_err(|e| describe("config:BatchGetResourceConfig", e)),
            Err(e) => Err(describe("config:BatchGetResourceConfig (building the request)", e)),
        };
        let output = match call {
            Ok(output) => output,
            Err(why) => {
                out.extend(pending.iter().map(|key| Fetched::Missed(Missed::new(name(key), why.clone()))));
                return out;
            }
        };
        let unprocessed: HashSet<(&str, &str)> =
            output.unprocessed_resource_keys().iter().map(|k| (k.resource_type().as_str(), k.resource_id())).collect();
        let mut returned: HashSet<Key> = HashSet::new();
        for item in output.base_configuration_items() {
            let key = pending.iter().find(|(t, id)| {
                item.resource_type().is_some_and(|it| it.as_str() == t.as_str()) && item.resource_id() == Some(id)
            });
            match key {
                Some(key) if returned.insert(key.clone()) => out.push(Fetched::Item(key.clone(), api_item_of!(item))),
                // An item nobody asked for, or one returned twice: judging it would report a
                // resource the listing did not name, or report one twice.
                _ => {
                    tracing::warn!(resource_type = ?item.resource_type(), resource_id = ?item.resource_id(), "BatchGetResourceConfig returned an item not asked for; ignored")
                }
            }
        }
        let mut again = Vec::new();
        for key in pending {
            if returned.contains(&key) {
                continue;
            }
            if unprocessed.contains(&(key.0.as_str(), key.1.as_str())) {
                again.push(key);
            } else {
                out.push(Fetched::NotReturned(key));
            }
        }
        if again.is_empty() {
            return out;
        }
        tracing::info!(unprocessed = again.len(), round, "BatchGetResourceConfig left keys unprocessed; asking again");
        pending = again;
    }
    let why = format!("still unprocessed after {UNPROCESSED_ROUNDS} BatchGetResourceConfig calls");
    out.extend(pending.iter().map(|key| Fetched::Missed(Missed::new(name(key), why.clone()))));
    out
}

/// NOT_APPLICABLE for what this rule evaluated before (COMPLIANT or NON_COMPLIANT; what is
/// NOT_APPLICABLE already needs nothing) whose resource is absent from the listing, for the
/// types whose listing finished.
async fn sweep(
    run: Run<'_>,
    complete: &[ResourceType],
    current: &HashSet<(&str, &str)>,
    verdicts: &mpsc::Sender<Evaluation>,
) -> Result<(), Missed> {
    if complete.is_empty() {
        return Ok(());
    }
    let Run { rule, clients, event, deadline, .. } = run;
    let ordering = event.notification_time.as_str();
    let mut pages = clients
        .config
        .get_compliance_details_by_config_rule()
        .config_rule_name(&event.config_rule_name)
        .compliance_types(ComplianceType::Compliant)
        .compliance_types(ComplianceType::NonCompliant)
        .limit(CONFIG_MAX_LIMIT)
        .into_paginator()
        .send();
    let what = "NOT_APPLICABLE for gone resources";
    let mut seen = BTreeSet::new();
    loop {
        if deadline.passed() {
            return Err(Missed::new(what, "deadline"));
        }
        let Some(page) = pages.next().await else { return Ok(()) };
        let page = page.map_err(|e| Missed::new(what, describe("config:GetComplianceDetailsByConfigRule", e)))?;
        for result in page.evaluation_results() {
            let qualifier = result.evaluation_result_identifier().and_then(|i| i.evaluation_result_qualifier());
            let (Some(resource_type), Some(resource_id)) =
                (qualifier.and_then(|q| q.resource_type()), qualifier.and_then(|q| q.resource_id()))
            else {
                return Err(Missed::new(
                    what,
                    "GetComplianceDetailsByConfigRule returned a result without its resource",
                ));
            };
            let Some(parsed) = ResourceType::from_name(resource_type) else { continue };
            let gone = rule.resource_types.contains(&parsed)
                && complete.contains(&parsed)
                && !current.contains(&(resource_type, resource_id));
            // Config may return one resource on several pages (one result per evaluation);
            // it is retired once.
            if gone && seen.insert((resource_type.to_owned(), resource_id.to_owned())) {
                let mut evaluation = Evaluation::by_id(
                    rule.id,
                    resource_type,
                    resource_id,
                    Verdict::not_applicable("resource is no longer recorded"),
                );
                evaluation.order_at(ordering);
                if verdicts.send(evaluation).await.is_err() {
                    return Err(Missed::new(what, "the reporter had stopped"));
                }
            }
        }
    }
}
