//! Periodic runs at scale (SPEC section 5), against moto's server with faults injected at the
//! SDK's HTTP layer (`sdk_faults.rs`: throttling, unprocessed BatchGetResourceConfig keys,
//! slow calls), through `shared::runtime`'s handler, with the real aws-sdk-rust clients. Each
//! test has a moto server of its own, so that its counts are exact.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use serde_json::json;
use shared::runtime::{handle, handle_event, Accounts, Deadline, RuleError, CONFIG_MAX_LIMIT, PUT_EVALUATIONS_BATCH};
use shared::Rule;

use crate::moto::Moto;
use crate::population::{roles, scheduled, sdk};
use crate::sdk_faults::{Faults, Plan};

fn rule(id: &str) -> &'static Rule {
    kms_guardrails::ALL.iter().copied().find(|r| r.id == id).expect("rule")
}

/// Evaluations of a "previous run" for resources that do not exist (or, for the tests that
/// need it, do), sent straight to Config.
async fn previous_run(sdk: &SdkConfig, token: &str, ids: &[String]) {
    let config = aws_sdk_config::Client::new(sdk);
    for chunk in ids.chunks(PUT_EVALUATIONS_BATCH) {
        let evaluations = chunk.iter().map(|id| {
            aws_sdk_config::types::Evaluation::builder()
                .compliance_resource_type("AWS::IAM::Role")
                .compliance_resource_id(id)
                .compliance_type(aws_sdk_config::types::ComplianceType::Compliant)
                .ordering_timestamp(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .build()
                .expect("evaluation")
        });
        config
            .put_evaluations()
            .set_evaluations(Some(evaluations.collect()))
            .result_token(token)
            .send()
            .await
            .expect("put");
    }
}

/// Every evaluation Config holds for the rule: resource id → (compliance, annotation).
async fn stored(sdk: &SdkConfig, token: &str) -> BTreeMap<String, (String, Option<String>)> {
    let config = aws_sdk_config::Client::new(sdk);
    let mut out = BTreeMap::new();
    let mut pages =
        config.get_compliance_details_by_config_rule().config_rule_name(token).limit(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for result in page.expect("read back").evaluation_results() {
            let qualifier = result.evaluation_result_identifier().and_then(|i| i.evaluation_result_qualifier());
            let id = qualifier.and_then(|q| q.resource_id()).expect("an id").to_owned();
            let compliance = result.compliance_type().expect("a compliance").as_str().to_owned();
            out.insert(id, (compliance, result.annotation().map(str::to_owned)));
        }
    }
    out
}

/// The load test: 5,000 roles with attached managed policies, the separation rule
/// (which fetches every attached policy from IAM), and at the SDK's HTTP layer every 7th
/// Config call and every 11th IAM read throttled and a third of the items of each
/// BatchGetResourceConfig response left unprocessed the first time. Every role is reported
/// exactly once with its verdict, the unprocessed ones included; the page sizes are the largest
/// the APIs allow; and the sweep retires exactly the evaluations of roles that never existed.
#[tokio::test(flavor = "multi_thread")]
async fn a_periodic_run_over_5000_roles_reports_each_exactly_once() {
    const ROLES: usize = 5000;
    let moto = Moto::start();
    let plain = sdk(&moto, None).await;
    let roles = roles(&aws_sdk_iam::Client::new(&plain), ROLES).await;
    let token = "periodic-load";
    let gone: Vec<String> = (0..3).map(|i| format!("AROAGONE{i:012}")).collect();
    previous_run(&plain, token, &gone).await;

    let throttle_every = BTreeMap::from([
        ("ListDiscoveredResources", 7),
        ("BatchGetResourceConfig", 7),
        ("PutEvaluations", 7),
        ("GetComplianceDetailsByConfigRule", 7),
        ("GetPolicy", 11),
        ("GetPolicyVersion", 11),
    ]);
    let faults = Faults::new(Plan { throttle_every, hold_back_every: Some(3), ..Plan::default() });
    let summary = handle(rule("kms-admin-use-separation"), &sdk(&moto, Some(&faults)).await, &scheduled(token))
        .await
        .expect("a complete run");

    let non_compliant = roles.iter().filter(|(_, both)| *both).count();
    assert_eq!(
        summary,
        json!({"reported": {"COMPLIANT": ROLES - non_compliant, "NON_COMPLIANT": non_compliant, "NOT_APPLICABLE": gone.len()}})
    );
    {
        let seen = faults.seen();
        let ours: HashSet<&str> =
            roles.iter().map(|(id, _)| id.as_str()).chain(gone.iter().map(String::as_str)).collect();
        for id in &ours {
            assert_eq!(seen.reported.get(*id), Some(&1), "{id} reported once");
        }
        assert_eq!(seen.reported.len(), ours.len(), "nothing else reported");
        let held_back = seen.held_back.len();
        assert!(held_back >= ROLES / 3, "a third held back: {held_back}");
        for (operation, _) in throttle_every_in(&seen.calls) {
            assert!(seen.throttled.get(operation).copied().unwrap_or(0) > 0, "{operation} was throttled");
        }
        let max = Some(i64::from(CONFIG_MAX_LIMIT));
        for (operation, size) in &seen.page_sizes {
            match operation.as_str() {
                "BatchGetResourceConfig" => {
                    assert!(size.is_some_and(|n| (1..=100).contains(&n)), "{operation}: {size:?}")
                }
                _ => assert_eq!(*size, max, "{operation} pages of 100"),
            }
        }
    }

    let stored = stored(&plain, token).await;
    for (id, both) in &roles {
        let want = if *both { "NON_COMPLIANT" } else { "COMPLIANT" };
        assert_eq!(stored[id].0, want, "{id}");
    }
    for id in &gone {
        assert_eq!(stored[id], ("NOT_APPLICABLE".to_owned(), Some("resource is no longer recorded".to_owned())));
    }
}

/// The operations the load test throttles that the run called.
fn throttle_every_in(calls: &BTreeMap<String, u32>) -> impl Iterator<Item = (&str, u32)> + '_ {
    ["ListDiscoveredResources", "BatchGetResourceConfig", "PutEvaluations", "GetPolicy", "GetPolicyVersion"]
        .into_iter()
        .map(|op| (op, calls.get(op).copied().unwrap_or(0)))
}

/// A deadline the run cannot meet: BatchGetResourceConfig takes 2 s a call (injected), four
/// run at once, and the run must stop starting work 3 s after it began, so only the first four
/// batches of 100 are judged. Those are reported (PutEvaluations goes out as they are made),
/// the invocation fails with an error naming every other role, and none of those has an
/// evaluation; the sweep is named as not reached too, and nothing is retired.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_cut_short_by_its_deadline_reports_what_it_judged_and_names_the_rest() {
    const ROLES: usize = 1000;
    let moto = Moto::start();
    let plain = sdk(&moto, None).await;
    let roles = roles(&aws_sdk_iam::Client::new(&plain), ROLES).await;
    let token = "periodic-deadline";
    let old = vec!["AROAOLD000000000001".to_owned()];
    previous_run(&plain, token, &old).await;

    let delay = BTreeMap::from([("BatchGetResourceConfig", Duration::from_secs(2))]);
    let faults = Faults::new(Plan { delay, ..Plan::default() });
    let accounts = Accounts::new(sdk(&moto, Some(&faults)).await);
    let deadline = Deadline::stop_at(Instant::now() + Duration::from_secs(3));
    let error = handle_event(rule("kms-admin-use-separation"), &accounts, &scheduled(token), deadline)
        .await
        .expect_err("the run cannot finish");

    let RuleError::Incomplete { reported, count, details } = &error else { panic!("{error}") };
    assert_eq!(error.error_type(), "KmsGuardrails.PeriodicRunIncomplete");
    let stored = stored(&plain, token).await;
    let judged: Vec<&String> = roles.iter().map(|(id, _)| id).filter(|id| stored.contains_key(*id)).collect();
    assert!(!judged.is_empty() && judged.len() < ROLES, "some judged: {}", judged.len());
    assert_eq!(*reported, judged.len(), "every judged role was reported");
    assert_eq!(*count, ROLES - judged.len() + 1, "every other role, and the sweep");
    for (id, _) in &roles {
        let named = details.contains(&format!("AWS::IAM::Role/{id}"));
        assert_ne!(named, stored.contains_key(id), "{id}: either reported or named in the error");
    }
    assert!(details.starts_with("deadline ("), "{details}");
    assert!(details.contains("NOT_APPLICABLE for gone resources"), "{details}");
    assert_eq!(stored[&old[0]].0, "COMPLIANT", "not retired: the sweep was not reached");
}

/// Keys Config never processes: asked for again (with backoff) and then named as not reached;
/// their evaluations from the previous run stay, since "gone" means absent from
/// ListDiscoveredResources, and they are listed there.
#[tokio::test(flavor = "multi_thread")]
async fn keys_config_never_processes_are_named_never_swept() {
    let moto = Moto::start();
    let plain = sdk(&moto, None).await;
    let roles = roles(&aws_sdk_iam::Client::new(&plain), 150).await;
    let token = "periodic-unprocessed";
    let stuck: Vec<String> = roles.iter().take(5).map(|(id, _)| id.clone()).collect();
    previous_run(&plain, token, &stuck).await;

    let faults = Faults::new(Plan { never_processed: stuck.iter().cloned().collect(), ..Plan::default() });
    let error = handle(rule("kms-admin-use-separation"), &sdk(&moto, Some(&faults)).await, &scheduled(token))
        .await
        .expect_err("five roles cannot be fetched");
    let RuleError::Incomplete { reported, count, details } = &error else { panic!("{error}") };
    assert_eq!((*reported, *count), (145, 5), "{details}");
    assert!(details.starts_with("still unprocessed after 5 BatchGetResourceConfig calls (5): "), "{details}");
    let stored = stored(&plain, token).await;
    for id in &stuck {
        assert!(details.contains(&format!("AWS::IAM::Role/{id}")), "{id} named");
        assert_eq!(stored[id].0, "COMPLIANT", "{id} kept its previous evaluation");
    }
    let stuck: HashSet<String> = stuck.into_iter().collect();
    assert_eq!(faults.seen().held_back, stuck, "only those were held back");
}
