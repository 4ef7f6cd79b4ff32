//! The rules' Lambda shell against real AWS APIs: moto's server (with the Config extension in
//! `moto_config_ext.py`) on 127.0.0.1, reached by the real aws-sdk-rust clients through an
//! endpoint override. Events are Config's; resources are created through the real APIs; the
//! verdicts are read back from the Config API.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde_json::{json, Value};
use shared::runtime::{handle, RuleError};
use shared::test_kit::items;
use shared::Rule;

use crate::moto::Moto;

/// moto's own account id.
const ACCOUNT: &str = "123456789012";

/// One moto server for this test binary (it exits when the test process does).
fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(Moto::start)
}

async fn sdk() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&moto().endpoint)
        .credentials_provider(aws_credential_types::Credentials::for_tests())
        .load()
        .await
}

fn enc(document: &Value) -> String {
    document.to_string().bytes().map(|b| format!("%{b:02X}")).collect()
}

/// A Config change notification for `item` ([`items::change_event`]: the rule name as the
/// result token, under which the extension files evaluations), left scope or not.
fn change_event(rule: &str, item: Value, parameters: Option<&str>, left_scope: bool) -> Value {
    let mut event = items::change_event(rule, &item, parameters);
    event["eventLeftScope"] = json!(left_scope);
    event
}

/// The latest evaluation Config holds for `rule` and resource `id`: (compliance, annotation).
/// Every page is read (Config pages evaluation results, 10 by default).
pub(crate) async fn evaluation(sdk: &SdkConfig, token: &str, id: &str) -> Option<(String, Option<String>)> {
    let config = aws_sdk_config::Client::new(sdk);
    let mut pages =
        config.get_compliance_details_by_config_rule().config_rule_name(token).limit(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        let found = page.expect("read back").evaluation_results().iter().find_map(|r| {
            let qualifier = r.evaluation_result_identifier()?.evaluation_result_qualifier()?;
            (qualifier.resource_id() == Some(id)).then(|| {
                (
                    r.compliance_type().map(|c| c.as_str().to_owned()).expect("a compliance type"),
                    r.annotation().map(str::to_owned),
                )
            })
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

fn key_item(key_id: &str, policy: Option<&Value>) -> Value {
    items::key_item(ACCOUNT, key_id, policy)
}

fn rule(id: &str) -> &'static Rule {
    kms_guardrails::ALL.iter().copied().find(|r| r.id == id).expect("rule")
}

/// A key whose item lacks its policy: the rule reads it with kms:GetKeyPolicy (moto needs the
/// policy name `default`) and reports the verdict through PutEvaluations.
#[tokio::test(flavor = "multi_thread")]
async fn key_policy_is_fetched_when_the_item_lacks_it() {
    let sdk = sdk().await;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let public = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]});
    let key = kms.create_key().policy(public.to_string()).send().await.expect("create key");
    let key_id = key.key_metadata().map(|m| m.key_id().to_owned()).expect("key id");

    let rule = rule("kms-key-policy-no-public-access");
    let summary = handle(rule, &sdk, &change_event(rule.id, key_item(&key_id, None), None, false)).await;
    assert_eq!(summary.expect("invocation")["reported"]["NON_COMPLIANT"], 1);
    let (compliance, annotation) = evaluation(&sdk, rule.id, &key_id).await.expect("an evaluation");
    assert_eq!(compliance, "NON_COMPLIANT");
    assert_eq!(
        annotation.as_deref(),
        Some(
            "stmt \"Public\": anyone may kms:Decrypt without a condition limiting the caller's account or organization"
        )
    );
}

/// A role's attached customer managed policy comes from IAM (iam:GetPolicy +
/// iam:GetPolicyVersion); an attached policy IAM does not have fails the role closed.
#[tokio::test(flavor = "multi_thread")]
async fn attached_policies_are_fetched_from_iam() {
    let sdk = sdk().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let use_keys = json!({"Version": "2012-10-17", "Statement": [{"Sid": "UseAll", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
    let created = iam
        .create_policy()
        .policy_name("LambdaTestUseKeys")
        .policy_document(use_keys.to_string())
        .send()
        .await
        .expect("policy");
    let policy_arn = created.policy().and_then(|p| p.arn()).expect("arn").to_owned();
    let admin = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Admin", "Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "*"}]});
    let role = |id: &str, attached: &str| {
        json!({"configurationItemStatus": "OK", "configurationItemCaptureTime": "2026-11-23T05:59:00.000Z", "awsAccountId": ACCOUNT,
            "resourceType": "AWS::IAM::Role", "resourceId": id, "ARN": format!("arn:aws:iam::{ACCOUNT}:role/{id}"), "awsRegion": "global",
            "configuration": {"roleName": id, "roleId": id, "path": "/", "arn": format!("arn:aws:iam::{ACCOUNT}:role/{id}"),
                "rolePolicyList": [{"policyName": "admin", "policyDocument": enc(&admin)}],
                "attachedManagedPolicies": [{"policyName": "attached", "policyArn": attached}]}})
    };
    let rule = rule("kms-admin-use-separation");
    let token = "separation-iam";
    let mut event = change_event(token, role("AROALAMBDATEST1", &policy_arn), None, false);
    event["configRuleName"] = json!(token);
    handle(rule, &sdk, &event).await.expect("invocation");
    let (compliance, annotation) = evaluation(&sdk, token, "AROALAMBDATEST1").await.expect("an evaluation");
    assert_eq!(compliance, "NON_COMPLIANT");
    let annotation = annotation.unwrap_or_default();
    assert!(annotation.starts_with(&format!("policy \"{policy_arn}\" stmt \"UseAll\"")), "{annotation}");
    assert!(annotation.contains("kms:Decrypt on all keys and also kms:PutKeyPolicy"), "{annotation}");

    let missing = format!("arn:aws:iam::{ACCOUNT}:policy/DoesNotExist");
    let mut event = change_event(token, role("AROALAMBDATEST2", &missing), None, false);
    event["configRuleName"] = json!(token);
    handle(rule, &sdk, &event).await.expect("invocation");
    let (compliance, annotation) = evaluation(&sdk, token, "AROALAMBDATEST2").await.expect("an evaluation");
    assert_eq!(compliance, "NON_COMPLIANT");
    assert!(annotation.unwrap_or_default().contains("iam:GetPolicy"), "fails closed naming the call");
}

/// A role's permissions boundary is fetched from IAM like an attached policy (iam:GetPolicy +
/// iam:GetPolicyVersion); a boundary IAM does not have fails the role closed, naming it.
#[tokio::test(flavor = "multi_thread")]
async fn permissions_boundaries_are_fetched_from_iam() {
    let sdk = sdk().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let boundary =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
    let created = iam
        .create_policy()
        .policy_name("LambdaTestBoundary")
        .policy_document(boundary.to_string())
        .send()
        .await
        .expect("policy");
    let boundary_arn = created.policy().and_then(|p| p.arn()).expect("arn").to_owned();
    let admin = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Admin", "Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "*"}]});
    let role = |id: &str, boundary: &str| {
        json!({"configurationItemStatus": "OK", "configurationItemCaptureTime": "2026-11-23T05:59:00.000Z", "awsAccountId": ACCOUNT,
            "resourceType": "AWS::IAM::Role", "resourceId": id, "ARN": format!("arn:aws:iam::{ACCOUNT}:role/{id}"), "awsRegion": "global",
            "configuration": {"roleName": id, "roleId": id, "path": "/", "arn": format!("arn:aws:iam::{ACCOUNT}:role/{id}"),
                "rolePolicyList": [{"policyName": "admin", "policyDocument": enc(&admin)}], "attachedManagedPolicies": [],
                "permissionsBoundary": {"permissionsBoundaryArn": boundary, "permissionsBoundaryType": "PermissionsBoundaryPolicy"}}})
    };
    let rule = rule("kms-admin-use-separation");
    let token = "separation-boundary";
    let mut event = change_event(token, role("AROALAMBDABOUND1", &boundary_arn), None, false);
    event["configRuleName"] = json!(token);
    handle(rule, &sdk, &event).await.expect("invocation");
    let (compliance, _) = evaluation(&sdk, token, "AROALAMBDABOUND1").await.expect("an evaluation");
    assert_eq!(compliance, "COMPLIANT", "the boundary was read");

    let missing = format!("arn:aws:iam::{ACCOUNT}:policy/NoSuchBoundary");
    let mut event = change_event(token, role("AROALAMBDABOUND2", &missing), None, false);
    event["configRuleName"] = json!(token);
    handle(rule, &sdk, &event).await.expect("invocation");
    let (compliance, annotation) = evaluation(&sdk, token, "AROALAMBDABOUND2").await.expect("an evaluation");
    assert_eq!(compliance, "NON_COMPLIANT");
    let annotation = annotation.unwrap_or_default();
    assert!(
        annotation.starts_with(&format!(
            "permissions boundary could not be resolved: `{missing}` could not be read: iam:GetPolicy"
        )),
        "{annotation}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn left_scope_is_not_applicable() {
    let sdk = sdk().await;
    let rule = rule("kms-no-wildcard-admin");
    let token = "left-scope";
    let mut event = change_event(token, key_item("left-scope-key", Some(&json!({"Statement": []}))), None, true);
    event["configRuleName"] = json!(token);
    handle(rule, &sdk, &event).await.expect("invocation");
    let (compliance, annotation) = evaluation(&sdk, token, "left-scope-key").await.expect("an evaluation");
    assert_eq!(
        (compliance.as_str(), annotation.as_deref()),
        ("NOT_APPLICABLE", Some("resource left the rule's scope"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_events_and_parameters_fail_with_stable_error_types() {
    let sdk = sdk().await;
    let rule = rule("kms-no-wildcard-admin");
    let err = handle(rule, &sdk, &json!({"invokingEvent": "{}"})).await.expect_err("an error");
    assert_eq!(err.error_type(), "KmsGuardrails.InvalidEvent");
    let event = change_event(rule.id, key_item("k", None), Some("{\"flagAccountRoot\":\"maybe\"}"), false);
    let err = handle(rule, &sdk, &event).await.expect_err("an error");
    assert!(matches!(err, RuleError::Parameters(_)));
    assert_eq!(
        err.to_string(),
        "rule `kms-no-wildcard-admin` parameter `flagAccountRoot`: `maybe` is not `true` or `false`"
    );
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "KmsGuardrails.InvalidParameters");
}

fn event_of(token: &str, invoking: Value) -> Value {
    json!({
        "version": "1.0",
        "invokingEvent": invoking.to_string(),
        "resultToken": token,
        "eventLeftScope": false,
        "configRuleName": token,
        "accountId": ACCOUNT
    })
}

async fn create_role(iam: &aws_sdk_iam::Client, name: &str, inline: &Value) -> String {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let role = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("create role");
    iam.put_role_policy()
        .role_name(name)
        .policy_name("inline")
        .policy_document(inline.to_string())
        .send()
        .await
        .expect("inline");
    role.role().map(|r| r.role_id().to_owned()).expect("role id")
}

/// An oversized notification carries only a summary: the item comes from
/// GetResourceConfigHistory (limit 1), in the API dialect.
#[tokio::test(flavor = "multi_thread")]
async fn oversized_items_are_fetched_from_config_history() {
    let sdk = sdk().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let both = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Both", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:DisableKey"], "Resource": "*"}]});
    let role_id = create_role(&iam, "OversizedRole", &both).await;
    let token = "oversized";
    let event = event_of(
        token,
        json!({
            "configurationItemSummary": {"resourceType": "AWS::IAM::Role", "resourceId": role_id, "awsAccountId": ACCOUNT},
            "messageType": "OversizedConfigurationItemChangeNotification",
            "notificationCreationTime": "2026-11-23T06:00:00.000Z"
        }),
    );
    handle(rule("kms-admin-use-separation"), &sdk, &event).await.expect("invocation");
    let (compliance, annotation) = evaluation(&sdk, token, &role_id).await.expect("an evaluation");
    assert_eq!(compliance, "NON_COMPLIANT");
    assert!(annotation.unwrap_or_default().contains("stmt \"Both\""));
}

/// A scheduled run evaluates every recorded resource of the rule's types (ListDiscoveredResources,
/// BatchGetResourceConfig in batches of 100), reports them all, and on the next run reports
/// NOT_APPLICABLE for a resource that is gone.
#[tokio::test(flavor = "multi_thread")]
async fn scheduled_runs_evaluate_every_resource_and_retire_deleted_ones() {
    let sdk = sdk().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let inline =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
    const ROLES: usize = 1000;
    let mut ids = Vec::new();
    for i in 0..ROLES {
        ids.push(create_role(&iam, &format!("Scheduled{i:04}"), &inline).await);
    }
    let token = "scheduled";
    let scheduled = event_of(
        token,
        json!({"messageType": "ScheduledNotification", "notificationCreationTime": "2026-11-23T06:00:00.000Z"}),
    );
    let rule = rule("iam-inline-policy-blocked-kms-actions");
    let summary = handle(rule, &sdk, &scheduled).await.expect("invocation");
    let config = aws_sdk_config::Client::new(&sdk);
    let mut evaluated = std::collections::BTreeSet::new();
    let mut pages =
        config.get_compliance_details_by_config_rule().config_rule_name(token).limit(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        evaluated.extend(page.expect("read back").evaluation_results().iter().filter_map(|r| {
            r.evaluation_result_identifier()?.evaluation_result_qualifier()?.resource_id().map(str::to_owned)
        }));
    }
    for id in &ids {
        assert!(evaluated.contains(id), "{id} has no evaluation");
    }
    assert!(summary["reported"]["NON_COMPLIANT"].as_u64().unwrap_or(0) >= ROLES as u64);

    iam.delete_role_policy().role_name("Scheduled0000").policy_name("inline").send().await.expect("detach");
    iam.delete_role().role_name("Scheduled0000").send().await.expect("delete");
    handle(rule, &sdk, &scheduled).await.expect("second run");
    let (compliance, annotation) = evaluation(&sdk, token, &ids[0]).await.expect("an evaluation");
    assert_eq!(
        (compliance.as_str(), annotation.as_deref()),
        ("NOT_APPLICABLE", Some("resource is no longer recorded"))
    );
}

/// `cargo lambda watch`: the Lambda runtime API emulator, serving every function binary of
/// the workspace by name, with the AWS endpoint pointing at moto.
struct Emulator {
    port: u16,
    _child: Child,
}

// The emulator lives as long as the test process; its watchdog script ends it.
#[allow(clippy::zombie_processes)]
fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let env = format!(
            "AWS_ENDPOINT_URL={},AWS_REGION=us-east-1,AWS_ACCESS_KEY_ID=testing,AWS_SECRET_ACCESS_KEY=testing",
            moto().endpoint
        );
        // In its own session, stopped with every function it started when this test process
        // ends (a static is never dropped).
        let watchdog = format!(
            "setsid cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port {port} --env-var {env} & \
             child=$!; while kill -0 {me} 2>/dev/null; do sleep 1; done; kill -TERM -- -$child 2>/dev/null; wait",
            me = std::process::id()
        );
        let child = Command::new("bash")
            .args(["-c", &watchdog])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo lambda runs (pip install cargo-lambda)");
        for _ in 0..600 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Emulator { port, _child: child };
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("cargo lambda watch did not listen on {port} within 60 s");
    })
}

/// Invokes `function` through the emulator's Lambda Invoke API; returns the payload.
fn invoke(function: &str, payload: &Value) -> Value {
    use std::io::{Read, Write};
    let port = emulator().port;
    let body = payload.to_string();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(600))).expect("timeout");
    write!(
        stream,
        "POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            out.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        out
    } else {
        rest.to_owned()
    };
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {head}\n{body}"))
}

/// The real rule binaries, run by the Lambda runtime (cargo-lambda's emulator) for each kind of
/// Config event; the verdicts are read back from the Config API.
#[tokio::test(flavor = "multi_thread")]
async fn rule_binaries_under_the_lambda_emulator() {
    let sdk = sdk().await;
    let public = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"}]});
    let function = "kms-key-policy-no-public-access";
    let token = "emulator-change";
    let mut event = change_event(token, key_item("emulator-key", Some(&public)), None, false);
    event["configRuleName"] = json!(token);
    assert_eq!(invoke(function, &event), json!({"reported": {"NON_COMPLIANT": 1}}));
    let (compliance, annotation) = evaluation(&sdk, token, "emulator-key").await.expect("an evaluation");
    assert_eq!(compliance, "NON_COMPLIANT");
    assert!(annotation.unwrap_or_default().starts_with("stmt \"Open\": anyone may kms:Encrypt"));

    // Left scope and deleted: NOT_APPLICABLE.
    let mut left = change_event(token, key_item("emulator-left", Some(&public)), None, true);
    left["configRuleName"] = json!(token);
    assert_eq!(invoke(function, &left), json!({"reported": {"NOT_APPLICABLE": 1}}));
    let mut deleted_item = key_item("emulator-deleted", None);
    deleted_item["configurationItemStatus"] = json!("ResourceDeleted");
    deleted_item["configuration"] = Value::Null;
    let mut deleted = change_event(token, deleted_item, None, false);
    deleted["configRuleName"] = json!(token);
    assert_eq!(invoke(function, &deleted), json!({"reported": {"NOT_APPLICABLE": 1}}));

    // A malformed event is an invocation error with a stable type; nothing is reported.
    let error = invoke(function, &json!({"invokingEvent": "not json", "resultToken": "x"}));
    assert_eq!(error["errorType"], "KmsGuardrails.InvalidEvent", "{error}");

    // Oversized (history) and scheduled runs go through the same binary.
    let iam = aws_sdk_iam::Client::new(&sdk);
    let both = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Both", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:PutKeyPolicy"], "Resource": "*"}]});
    let role_id = create_role(&iam, "EmulatorRole", &both).await;
    let oversized = event_of(
        "emulator-oversized",
        json!({
        "configurationItemSummary": {"resourceType": "AWS::IAM::Role", "resourceId": role_id},
        "messageType": "OversizedConfigurationItemChangeNotification", "notificationCreationTime": "2026-11-23T06:00:00.000Z"}),
    );
    assert_eq!(invoke("kms-admin-use-separation", &oversized)["reported"]["NON_COMPLIANT"], 1);
    let scheduled = event_of(
        "emulator-scheduled",
        json!({"messageType": "ScheduledNotification", "notificationCreationTime": "2026-11-23T06:00:00.000Z"}),
    );
    // The scheduled run gets its deadline from the Lambda context. The emulator's deadline is
    // closer than the 10 s a periodic run keeps back (shared::runtime::SAFETY_MARGIN), so the
    // run starts nothing, reports nothing, and fails naming what it did not reach: the
    // deadline path end to end through the Lambda runtime. (tests/periodic.rs runs it in full,
    // and against a deadline it partly meets.)
    let error = invoke("iam-inline-policy-blocked-kms-actions", &scheduled);
    assert_eq!(error["errorType"], "KmsGuardrails.PeriodicRunIncomplete", "{error}");
    let message = error["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("deadline (3): the listing of AWS::IAM::User after 0 resources"), "{message}");
    assert_eq!(evaluation(&sdk, "emulator-scheduled", &role_id).await, None, "nothing reported");
}

/// `excludeRoleByManagementAccount` without `managementAccountId`: the function asks AWS
/// Organizations (DescribeOrganization's MasterAccountId). Before the organization exists the
/// call fails (AWSOrganizationsNotInUseException): the role is not excluded and its verdict says
/// why. After moto's CreateOrganization (this account is then the management account), the real
/// rule binary under the Lambda emulator excludes a role only that account can assume, and still
/// judges one that another account can assume. Only this test creates an organization.
#[tokio::test(flavor = "multi_thread")]
async fn management_account_roles_are_excluded_through_aws_organizations() {
    let sdk = sdk().await;
    let decrypt_all = json!({"Version": "2012-10-17", "Statement": [{"Sid": "DecryptAll", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
    let role = |id: &str, trusted: &str| {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{trusted}:root")}, "Action": "sts:AssumeRole"}]});
        json!({"configurationItemStatus": "OK", "configurationItemCaptureTime": "2026-11-23T05:59:00.000Z", "awsAccountId": ACCOUNT,
            "resourceType": "AWS::IAM::Role", "resourceId": id, "ARN": format!("arn:aws:iam::{ACCOUNT}:role/{id}"), "awsRegion": "global",
            "configuration": {"roleName": id, "roleId": id, "path": "/", "arn": format!("arn:aws:iam::{ACCOUNT}:role/{id}"),
                "assumeRolePolicyDocument": enc(&trust),
                "rolePolicyList": [{"policyName": "decrypt", "policyDocument": enc(&decrypt_all)}], "attachedManagedPolicies": []}})
    };
    let function = "iam-inline-policy-blocked-kms-actions";
    let parameters = Some(r#"{"excludeRoleByManagementAccount":"true"}"#);
    let token = "management-account";
    let event = |item: Value| {
        let mut event = change_event(token, item, parameters, false);
        event["configRuleName"] = json!(token);
        event
    };

    handle(rule(function), &sdk, &event(role("AROAMGMTBEFORE", ACCOUNT))).await.expect("a verdict, not an error");
    let (compliance, annotation) = evaluation(&sdk, token, "AROAMGMTBEFORE").await.expect("an evaluation");
    assert_eq!(compliance, "NON_COMPLIANT");
    let annotation = annotation.unwrap_or_default();
    assert!(
        annotation.starts_with("not excluded by excludeRoleByManagementAccount: the organization's management account is unknown: organizations:DescribeOrganization")
            && annotation.contains("AWSOrganizationsNotInUseException"),
        "{annotation}"
    );

    let organizations = aws_sdk_organizations::Client::new(&sdk);
    let created = organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
    assert_eq!(created.organization().and_then(|o| o.master_account_id()), Some(ACCOUNT));

    assert_eq!(invoke(function, &event(role("AROAMGMTONLY", ACCOUNT))), json!({"reported": {"NOT_APPLICABLE": 1}}));
    let (compliance, annotation) = evaluation(&sdk, token, "AROAMGMTONLY").await.expect("an evaluation");
    assert_eq!(
        (compliance.as_str(), annotation.as_deref()),
        ("NOT_APPLICABLE", Some("role is assumable only by the management account"))
    );
    assert_eq!(
        invoke(function, &event(role("AROAMGMTOTHER", "444455556666"))),
        json!({"reported": {"NON_COMPLIANT": 1}})
    );
    let (compliance, annotation) = evaluation(&sdk, token, "AROAMGMTOTHER").await.expect("an evaluation");
    assert_eq!(compliance, "NON_COMPLIANT");
    assert_eq!(
        annotation.as_deref(),
        Some(format!("policy \"decrypt\" stmt \"DecryptAll\": arn:aws:iam::{ACCOUNT}:role/AROAMGMTOTHER may kms:Decrypt on all keys").as_str())
    );
}

/// A panic inside a rule becomes an invocation error (the functions unwind), and the release
/// profile keeps unwinding whatever cargo-lambda's release preset would set.
#[test]
fn a_panic_is_an_invocation_error() {
    let event = change_event("panic", key_item("panic-key", Some(&json!({"Statement": []}))), None, false);
    let error = invoke("panicking-rule", &event);
    assert_eq!(error["errorMessage"], "Lambda panicked: deliberate panic in a rule", "{error}");
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).expect("manifest");
    let release = manifest.split("[profile.release]").nth(1).expect("a release profile");
    assert!(release.lines().any(|l| l.trim() == "panic = \"unwind\""), "release profile must set panic = \"unwind\"");
}

/// A user's groups come from IAM (ListGroupPolicies, GetGroupPolicy,
/// ListAttachedGroupPolicies, then the attached policy itself): a group's inline use and the
/// user's own admin make the user NON_COMPLIANT, naming the group's policy.
#[tokio::test(flavor = "multi_thread")]
async fn a_users_groups_are_fetched_from_iam() {
    let sdk = sdk().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let decrypt = json!({"Version": "2012-10-17", "Statement": [{"Sid": "GroupDecrypt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
    iam.create_group().group_name("LambdaTestDecrypters").send().await.expect("group");
    iam.put_group_policy()
        .group_name("LambdaTestDecrypters")
        .policy_name("decrypt")
        .policy_document(decrypt.to_string())
        .send()
        .await
        .expect("group policy");
    iam.create_user().user_name("lambda-test-user").send().await.expect("user");
    iam.add_user_to_group()
        .group_name("LambdaTestDecrypters")
        .user_name("lambda-test-user")
        .send()
        .await
        .expect("membership");
    let admin = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Delete", "Effect": "Allow", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}]});
    let user = json!({"configurationItemStatus": "OK", "configurationItemCaptureTime": "2026-11-23T05:59:00.000Z", "awsAccountId": ACCOUNT,
        "resourceType": "AWS::IAM::User", "resourceId": "AIDALAMBDATEST1", "ARN": format!("arn:aws:iam::{ACCOUNT}:user/lambda-test-user"),
        "awsRegion": "global", "configuration": {"userName": "lambda-test-user", "path": "/",
            "userPolicyList": [{"policyName": "admin", "policyDocument": enc(&admin)}],
            "groupList": ["LambdaTestDecrypters"], "attachedManagedPolicies": []}});
    let token = "separation-groups";
    let mut event = change_event(token, user, None, false);
    event["configRuleName"] = json!(token);
    handle(rule("kms-admin-use-separation"), &sdk, &event).await.expect("invocation");
    let (compliance, annotation) = evaluation(&sdk, token, "AIDALAMBDATEST1").await.expect("an evaluation");
    assert_eq!(compliance, "NON_COMPLIANT");
    assert_eq!(
        annotation.as_deref(),
        Some(format!("policy \"group LambdaTestDecrypters decrypt\" stmt \"GroupDecrypt\": arn:aws:iam::{ACCOUNT}:user/lambda-test-user may kms:Decrypt on all keys and also kms:ScheduleKeyDeletion (policy \"admin\" stmt \"Delete\")").as_str())
    );
}

/// An exceptions file for the public-access rule: `excepted` covered until 2099, `expired`
/// matched by an exception past its date.
fn exceptions_file(excepted: &str, expired: &str, json: bool) -> String {
    let entries = json!([
        {"rule": "kms-key-policy-no-public-access", "resource": excepted, "reason": "public by design: a test key", "expires": "2099-12-31", "owner": "security@example.com"},
        {"rule": "*", "resource": expired, "reason": "was fine once", "expires": "2020-01-01"},
    ]);
    match json {
        true => json!({"exceptions": entries}).to_string(),
        // The same in YAML, as people write it.
        false => format!(
            "exceptions:\n  - rule: kms-key-policy-no-public-access\n    resource: {excepted}\n    reason: 'public by design: a test key'\n    expires: 2099-12-31\n    owner: security@example.com\n  - rule: '*'\n    resource: arn:aws:kms:*:{ACCOUNT}:key/{expired}\n    reason: was fine once\n    expires: 2020-01-01\n"
        ),
    }
}

/// The rule binary under the Lambda emulator with `exceptionsUri` pointing at an S3 object and
/// at an SSM parameter (read with the function's own credentials, against moto): an excepted
/// key is NOT_APPLICABLE with the exception's date and reason, an expired exception covers
/// nothing and says so, and a file that is malformed or cannot be read fails the invocation
/// with `KmsGuardrails.InvalidExceptions`, reporting nothing.
#[tokio::test(flavor = "multi_thread")]
async fn exceptions_from_s3_and_ssm_under_the_lambda_emulator() {
    let sdk = sdk().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    s3.create_bucket().bucket("org-security").send().await.expect("bucket");
    let put = |key: &'static str, body: String| {
        let s3 = s3.clone();
        async move {
            s3.put_object().bucket("org-security").key(key).body(body.into_bytes().into()).send().await.expect("put")
        }
    };
    put("kms-guardrails/exceptions.yaml", exceptions_file("exc-s3-key", "exc-s3-expired", false)).await;
    put(
        "kms-guardrails/broken.yaml",
        "exceptions:\n  - rule: '*'\n    resource: exc-broken\n    expires: 2099-12-31\n".into(),
    )
    .await;
    ssm.put_parameter()
        .name("/kms-guardrails/exceptions")
        .value(exceptions_file("exc-ssm-key", "exc-ssm-expired", true))
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("parameter");

    let public = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"}]});
    let function = "kms-key-policy-no-public-access";
    let invoke_with = |token: &str, key: &str, uri: &str| {
        let parameters = json!({"exceptionsUri": uri}).to_string();
        let mut event = change_event(token, key_item(key, Some(&public)), Some(&parameters), false);
        event["configRuleName"] = json!(token);
        invoke(function, &event)
    };
    for (token, uri, excepted, expired) in [
        ("exc-s3", "s3://org-security/kms-guardrails/exceptions.yaml", "exc-s3-key", "exc-s3-expired"),
        ("exc-ssm", "ssm:/kms-guardrails/exceptions", "exc-ssm-key", "exc-ssm-expired"),
    ] {
        assert_eq!(invoke_with(token, excepted, uri), json!({"reported": {"NOT_APPLICABLE": 1}}), "{uri}");
        let (compliance, annotation) = evaluation(&sdk, token, excepted).await.expect("an evaluation");
        assert_eq!(
            (compliance.as_str(), annotation.as_deref()),
            ("NOT_APPLICABLE", Some("excepted until 2099-12-31: public by design: a test key")),
            "{uri}"
        );
        assert_eq!(invoke_with(token, expired, uri), json!({"reported": {"NON_COMPLIANT": 1}}), "{uri}");
        let (compliance, annotation) = evaluation(&sdk, token, expired).await.expect("an evaluation");
        assert_eq!(compliance, "NON_COMPLIANT");
        let annotation = annotation.unwrap_or_default();
        assert!(annotation.ends_with("(exception expired on 2020-01-01)"), "{uri}: {annotation}");
    }

    // Malformed (no reason) and unreadable (no such object, no such parameter): the invocation
    // fails with a stable error type and nothing is reported, not even the key's finding.
    for (uri, says) in [
        ("s3://org-security/kms-guardrails/broken.yaml", "`reason` is missing"),
        ("s3://org-security/kms-guardrails/missing.yaml", "s3:GetObject failed"),
        ("ssm:/kms-guardrails/missing", "ssm:GetParameter failed"),
    ] {
        let error = invoke_with("exc-invalid", "exc-invalid-key", uri);
        assert_eq!(error["errorType"], "KmsGuardrails.InvalidExceptions", "{uri}: {error}");
        let message = error["errorMessage"].as_str().unwrap_or_default();
        assert!(message.starts_with(&format!("exceptions file `{uri}`: ")) && message.contains(says), "{message}");
    }
    assert_eq!(evaluation(&sdk, "exc-invalid", "exc-invalid-key").await, None, "nothing reported");

    // A malformed value of the parameter itself is a parameter error.
    let error = invoke_with("exc-invalid", "exc-invalid-key", "https://example.com/exceptions.yaml");
    assert_eq!(error["errorType"], "KmsGuardrails.InvalidParameters", "{error}");
}

/// A periodic run applies the file to every verdict it reports (in process, through the same
/// handler as the Lambda function).
#[tokio::test(flavor = "multi_thread")]
async fn scheduled_runs_apply_exceptions_to_every_verdict() {
    let sdk = sdk().await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let both = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Both", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:PutKeyPolicy"], "Resource": "*"}]});
    let excepted = create_role(&iam, "ExceptedBreakGlass", &both).await;
    let other = create_role(&iam, "NotExcepted", &both).await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let file = format!(
        "exceptions:\n  - rule: kms-admin-use-separation\n    resource: arn:aws:iam::{ACCOUNT}:role/ExceptedBreak*\n    reason: break-glass role\n    expires: 2099-06-30\n"
    );
    ssm.put_parameter()
        .name("/kms-guardrails/periodic")
        .value(file)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("parameter");
    let token = "exc-periodic";
    let mut event = event_of(
        token,
        json!({"messageType": "ScheduledNotification", "notificationCreationTime": "2026-11-23T06:00:00.000Z"}),
    );
    event["ruleParameters"] = json!(json!({"exceptionsUri": "ssm:/kms-guardrails/periodic"}).to_string());
    handle(rule("kms-admin-use-separation"), &sdk, &event).await.expect("a periodic run");
    let (compliance, annotation) = evaluation(&sdk, token, &excepted).await.expect("an evaluation");
    assert_eq!(
        (compliance.as_str(), annotation.as_deref()),
        ("NOT_APPLICABLE", Some("excepted until 2099-06-30: break-glass role"))
    );
    let (compliance, _) = evaluation(&sdk, token, &other).await.expect("an evaluation");
    assert_eq!(compliance, "NON_COMPLIANT");
}

/// A rule id that is not a rule is refused in a function as in the dry-run, even when the
/// function's own rule is named correctly elsewhere in the file.
#[tokio::test(flavor = "multi_thread")]
async fn a_misspelt_rule_in_the_file_fails_the_invocation() {
    let sdk = sdk().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let file = "exceptions:\n  - {rule: kms-no-wildcard-admin, resource: k, reason: r, expires: 2099-01-01}\n  - {rule: kms-no-wildcard-admn, resource: k, reason: r, expires: 2099-01-01}\n";
    ssm.put_parameter()
        .name("/kms-guardrails/misspelt")
        .value(file)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("parameter");
    let rule = rule("kms-no-wildcard-admin");
    let parameters = json!({"exceptionsUri": "ssm:/kms-guardrails/misspelt"}).to_string();
    let event = change_event("exc-misspelt", key_item("exc-misspelt-key", None), Some(&parameters), false);
    let err = handle(rule, &sdk, &event).await.expect_err("an error");
    assert_eq!(err.error_type(), "KmsGuardrails.InvalidExceptions");
    assert!(err.to_string().contains("exceptions[1] (rule `kms-no-wildcard-admn`, resource `k`): `rule`"), "{err}");
    assert_eq!(evaluation(&sdk, "exc-misspelt", "exc-misspelt-key").await, None, "nothing reported");
}
