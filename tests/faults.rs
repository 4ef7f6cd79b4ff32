//! What moto cannot show: throttling, partial PutEvaluations failures, AccessDenied, a role
//! that cannot be assumed. Faults are injected at the SDK's HTTP layer (aws-smithy-mocks: the
//! real generated clients, with responses supplied in place of the network); everything above
//! that layer is the code that runs in Lambda. Each test says what the rule reports and checks
//! that no resource is lost.

use aws_config::retry::RetryConfig;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use serde_json::{json, Value};
use shared::event;
use shared::runtime::{evaluate_event, report, Clients, RuleError};
use shared::Evaluation;
use shared::{Compliance, Rule};

fn rule(id: &str) -> &'static Rule {
    kms_guardrails::ALL.iter().copied().find(|r| r.id == id).expect("rule")
}

fn retrying(conf: aws_sdk_config::config::Builder) -> aws_sdk_config::config::Builder {
    conf.retry_config(
        RetryConfig::standard().with_max_attempts(5).with_initial_backoff(std::time::Duration::from_millis(1)),
    )
}

/// Clients whose calls all fail loudly unless a test mocks them.
fn clients(config: aws_sdk_config::Client, iam: aws_sdk_iam::Client, kms: aws_sdk_kms::Client) -> Clients {
    Clients { config, iam, kms, organizations: mock_client!(aws_sdk_organizations, []) }
}

fn unused_iam() -> aws_sdk_iam::Client {
    mock_client!(aws_sdk_iam, [])
}

fn unused_kms() -> aws_sdk_kms::Client {
    mock_client!(aws_sdk_kms, [])
}

fn judged(n: usize) -> Vec<Evaluation> {
    (0..n)
        .map(|i| {
            let verdict = shared::Verdict::from_causes(vec![shared::Cause::because("reason")]);
            let mut evaluation =
                Evaluation::by_id("kms-key-policy-no-public-access", "AWS::KMS::Key", &format!("key-{i}"), verdict);
            evaluation.order_at("2026-11-23T06:00:00.000Z");
            evaluation
        })
        .collect()
}

/// Throttled PutEvaluations calls are retried (the SDK's standard retry: backoff with jitter);
/// all 250 evaluations arrive, in three calls of at most 100.
#[tokio::test]
async fn throttled_put_evaluations_are_retried() {
    let throttled = mock!(aws_sdk_config::Client::put_evaluations)
        .sequence()
        .http_status(400, Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()))
        .times(2)
        .output(|| aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput::builder().build())
        .repeatedly()
        .build();
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&throttled], retrying);
    let result = report(&clients(config, unused_iam(), unused_kms()), "token", &judged(250)).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(throttled.num_calls(), 5, "two throttled attempts, then three batches");
}

/// FailedEvaluations are sent again; what keeps failing fails the invocation, naming each
/// resource that was not reported.
#[tokio::test]
async fn failed_evaluations_are_retried_then_reported_as_an_error() {
    let failing_once = mock!(aws_sdk_config::Client::put_evaluations)
        .sequence()
        .output(|| {
            let failed = aws_sdk_config::types::Evaluation::builder()
                .compliance_resource_type("AWS::KMS::Key")
                .compliance_resource_id("key-1")
                .compliance_type(aws_sdk_config::types::ComplianceType::NonCompliant)
                .ordering_timestamp(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .expect("evaluation");
            aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput::builder()
                .failed_evaluations(failed)
                .build()
        })
        .output(|| aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput::builder().build())
        .build();
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&failing_once]);
    assert!(report(&clients(config, unused_iam(), unused_kms()), "token", &judged(3)).await.is_ok());
    assert_eq!(failing_once.num_calls(), 2);

    let always_failing = mock!(aws_sdk_config::Client::put_evaluations).then_compute_output(|input| {
        aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput::builder()
            .set_failed_evaluations(Some(input.evaluations().to_vec()))
            .build()
    });
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&always_failing]);
    let err = report(&clients(config, unused_iam(), unused_kms()), "token", &judged(2)).await.expect_err("unreported");
    assert_eq!(err.error_type(), "KmsGuardrails.PutEvaluationsFailed");
    assert_eq!(err.to_string(), "PutEvaluations failed for 2 evaluation(s): AWS::KMS::Key/key-0, AWS::KMS::Key/key-1");
}

fn change_event(item: Value) -> event::ConfigEvent {
    event::decode(&shared::test_kit::items::change_event("rule", &item, None)).expect("event")
}

/// AccessDenied on kms:GetKeyPolicy is the key's verdict (NON_COMPLIANT, "key policy
/// unreadable"), not a crashed invocation.
#[tokio::test]
async fn access_denied_on_get_key_policy_is_the_verdict() {
    let denied = mock!(aws_sdk_kms::Client::get_key_policy).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
            aws_smithy_types::body::SdkBody::from(r#"{"__type":"AccessDeniedException","message":"not allowed"}"#),
        )
    });
    let kms = mock_client!(aws_sdk_kms, [&denied]);
    let item = json!({"resourceType": "AWS::KMS::Key", "resourceId": "k1", "awsAccountId": "111122223333",
        "ARN": "arn:aws:kms:us-east-1:111122223333:key/k1", "configurationItemStatus": "OK",
        "configuration": {"keyId": "k1", "keyManager": "CUSTOMER", "keyState": "Enabled"}, "supplementaryConfiguration": {}});
    let rule = rule("kms-key-policy-no-public-access");
    let params = rule.default_params();
    let clients = clients(mock_client!(aws_sdk_config, []), unused_iam(), kms);
    let out = evaluate_event(rule, &clients, &params, &change_event(item)).await.expect("a verdict, not an error");
    let [evaluation] = out.as_slice() else { panic!("one verdict: {out:?}") };
    assert_eq!(evaluation.compliance(), Compliance::NonCompliant);
    assert_eq!(
        evaluation.annotation(),
        Some("key policy unreadable: kms:GetKeyPolicy was denied (AccessDeniedException)")
    );
}

/// An oversized key item is fetched with GetResourceConfigHistory, tags included, so the
/// readiness rule's `keyTag` selects the key as it would from the notification itself (without
/// them the key could not be told apart and would fail closed).
#[tokio::test]
async fn an_oversized_keys_tags_come_from_config_history() {
    let key = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{key}");
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Config", "Effect": "Allow",
        "Principal": {"Service": "config.amazonaws.com"}, "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}]});
    let configuration = json!({"keyId": key, "keyManager": "CUSTOMER", "keyState": "Enabled",
        "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT", "multiRegion": false})
    .to_string();
    let (arn_out, configuration_out, policy_out) = (arn.clone(), configuration.clone(), policy.to_string());
    let history = mock!(aws_sdk_config::Client::get_resource_config_history).then_output(move || {
        let item = aws_sdk_config::types::ConfigurationItem::builder()
            .resource_type(aws_sdk_config::types::ResourceType::from("AWS::KMS::Key"))
            .resource_id(key)
            .arn(&arn_out)
            .account_id("111122223333")
            .aws_region("us-east-1")
            .configuration_item_status(aws_sdk_config::types::ConfigurationItemStatus::Ok)
            .configuration(&configuration_out)
            .supplementary_configuration("Policy", &policy_out)
            .tags("Purpose", "config-delivery")
            .build();
        aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryOutput::builder()
            .configuration_items(item)
            .build()
    });
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&history]);
    let oversized = event::decode(&json!({
        "invokingEvent": json!({"configurationItemSummary": {"resourceType": "AWS::KMS::Key", "resourceId": key,
            "awsAccountId": "111122223333"}, "messageType": "OversizedConfigurationItemChangeNotification",
            "notificationCreationTime": "2026-11-23T06:00:00.000Z"}).to_string(),
        "resultToken": "token", "accountId": "111122223333", "configRuleName": "rule"
    }))
    .expect("event");
    let rule = rule("kms-key-service-readiness");
    let params_for = |tag: &str| {
        let raw = [("keyTag", tag), ("services", "config")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        rule.parse_params(&raw).expect("parameters")
    };
    let clients = clients(config, unused_iam(), unused_kms());
    for (tag, want) in
        [("Purpose=config-delivery", Compliance::Compliant), ("Purpose=other", Compliance::NotApplicable)]
    {
        let out = evaluate_event(rule, &clients, &params_for(tag), &oversized).await.expect("a verdict");
        let [evaluation] = out.as_slice() else { panic!("one verdict: {out:?}") };
        assert_eq!(evaluation.compliance(), want, "{tag}: {:?}", evaluation.annotation());
    }
}

/// AccessDenied on iam:GetPolicyVersion fails the role closed, naming the policy and the call.
#[tokio::test]
async fn access_denied_on_get_policy_version_fails_the_role_closed() {
    let get_policy = mock!(aws_sdk_iam::Client::get_policy).then_output(|| {
        aws_sdk_iam::operation::get_policy::GetPolicyOutput::builder()
            .policy(aws_sdk_iam::types::Policy::builder().default_version_id("v1").build())
            .build()
    });
    let denied = mock!(aws_sdk_iam::Client::get_policy_version).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(403).expect("status"),
            aws_smithy_types::body::SdkBody::from(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error><RequestId>1</RequestId></ErrorResponse>",
            ),
        )
    });
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get_policy, &denied]);
    let item = json!({"resourceType": "AWS::IAM::Role", "resourceId": "AROA1", "awsAccountId": "111122223333",
        "ARN": "arn:aws:iam::111122223333:role/App", "configurationItemStatus": "OK",
        "configuration": {"roleName": "App", "path": "/", "rolePolicyList": [],
            "attachedManagedPolicies": [{"policyName": "P", "policyArn": "arn:aws:iam::111122223333:policy/P"}]}});
    let rule = rule("kms-admin-use-separation");
    let clients = clients(mock_client!(aws_sdk_config, []), iam, unused_kms());
    let out = evaluate_event(rule, &clients, &rule.default_params(), &change_event(item)).await.expect("a verdict");
    let [evaluation] = out.as_slice() else { panic!("one verdict: {out:?}") };
    assert_eq!(evaluation.compliance(), Compliance::NonCompliant);
    let annotation = evaluation.annotation().unwrap_or_default();
    assert!(annotation.starts_with("attached policy could not be resolved: `arn:aws:iam::111122223333:policy/P` could not be read: iam:GetPolicyVersion"), "{annotation}");
    assert!(annotation.contains("AccessDenied"), "{annotation}");
}

/// AccessDenied on organizations:DescribeOrganization (the function's role lacks it): a role
/// that only one account can assume is judged, not excluded, and its verdict says why; no
/// failed invocation, and no call at all for a resource the exclusion cannot concern.
#[tokio::test]
async fn access_denied_on_describe_organization_is_the_roles_cause() {
    let denied = mock!(aws_sdk_organizations::Client::describe_organization).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"AccessDeniedException","Message":"not authorized to perform organizations:DescribeOrganization"}"#,
            ),
        )
    });
    let organizations = mock_client!(aws_sdk_organizations, [&denied]);
    let clients =
        Clients { config: mock_client!(aws_sdk_config, []), iam: unused_iam(), kms: unused_kms(), organizations };
    let rule = rule("iam-inline-policy-blocked-kms-actions");
    let params = rule.parse_params_json(Some(r#"{"excludeRoleByManagementAccount":"true"}"#)).expect("params");
    let decrypt_all =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
    let user = json!({"resourceType": "AWS::IAM::User", "resourceId": "AIDA1", "awsAccountId": "111122223333",
        "ARN": "arn:aws:iam::111122223333:user/ann", "configurationItemStatus": "OK",
        "configuration": {"userName": "ann", "path": "/", "userPolicyList": [{"policyName": "use", "policyDocument": decrypt_all}]}});
    let out = evaluate_event(rule, &clients, &params, &change_event(user)).await.expect("a verdict");
    assert_eq!(out.len(), 1);
    assert_eq!(denied.num_calls(), 0, "a user cannot be excluded: Organizations is not asked");

    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}]});
    let role = json!({"resourceType": "AWS::IAM::Role", "resourceId": "AROA1", "awsAccountId": "111122223333",
        "ARN": "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole", "configurationItemStatus": "OK",
        "configuration": {"roleName": "OrganizationAccountAccessRole", "path": "/", "assumeRolePolicyDocument": trust,
            "rolePolicyList": [{"policyName": "use", "policyDocument": decrypt_all}]}});
    let out = evaluate_event(rule, &clients, &params, &change_event(role)).await.expect("a verdict, not an error");
    let [evaluation] = out.as_slice() else { panic!("one verdict: {out:?}") };
    assert_eq!(evaluation.compliance(), Compliance::NonCompliant);
    let annotation = evaluation.annotation().unwrap_or_default();
    assert!(
        annotation.starts_with("not excluded by excludeRoleByManagementAccount: the organization's management account is unknown: organizations:DescribeOrganization")
            && annotation.contains("AccessDenied")
            && annotation.ends_with("(+1 more)"),
        "{annotation}"
    );
    assert_eq!(evaluation.causes().len(), 2, "the reason, then the finding: {:?}", evaluation.causes());
    assert_eq!(denied.num_calls(), 1);
}

/// With `executionRoleName`, every call runs as that role; when STS refuses it, the
/// invocation fails with a stable error naming the call, and nothing is reported as COMPLIANT.
#[tokio::test]
async fn a_role_that_cannot_be_assumed_fails_the_invocation() {
    let refusing = aws_smithy_http_client::test_util::infallible_client_fn(|_request| {
        http::Response::builder()
            .status(403)
            .body(aws_smithy_types::body::SdkBody::from(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not authorized to perform sts:AssumeRole</Message></Error><RequestId>1</RequestId></ErrorResponse>",
            ))
            .expect("response")
    });
    let base = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::for_tests())
        .http_client(refusing)
        .load()
        .await;
    let item = json!({"resourceType": "AWS::KMS::Key", "resourceId": "k1", "awsAccountId": "444455556666",
        "configurationItemStatus": "OK", "configuration": {"keyId": "k1", "keyManager": "CUSTOMER", "keyState": "Enabled"},
        "supplementaryConfiguration": {"Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"}});
    let payload = json!({
        "invokingEvent": json!({"configurationItem": item, "messageType": "ConfigurationItemChangeNotification",
            "notificationCreationTime": "2026-11-23T06:00:00.000Z"}).to_string(),
        "ruleParameters": "{\"executionRoleName\":\"KmsGuardrailsMember\"}",
        "resultToken": "token", "accountId": "444455556666", "configRuleName": "rule"
    });
    let err =
        shared::runtime::handle(rule("kms-key-policy-no-public-access"), &base, &payload).await.expect_err("fails");
    assert!(matches!(err, RuleError::Aws { call: "config:PutEvaluations", .. }), "{err}");
    assert_eq!(err.error_type(), "KmsGuardrails.AwsCallFailed");
    let message = err.to_string();
    assert!(message.contains("an error occurred while loading credentials"), "{message}");
    assert!(message.contains("not authorized to perform sts:AssumeRole"), "{message}");
}

/// A fake STS and Config behind the SDK's HTTP layer: AssumeRole answers with credentials that
/// expire `lifetime` from now, PutEvaluations accepts everything. Counts the AssumeRole calls
/// per role ARN.
fn sts_and_config(
    lifetime: std::time::Duration,
) -> (aws_smithy_runtime_api::client::http::SharedHttpClient, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let assumed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let calls = assumed.clone();
    let client = aws_smithy_http_client::test_util::infallible_client_fn(move |request| {
        let body = String::from_utf8_lossy(request.body().bytes().expect("in memory")).into_owned();
        if body.contains("Action=AssumeRole") {
            let arn = body.split('&').find_map(|p| p.strip_prefix("RoleArn=")).expect("a RoleArn").to_owned();
            calls.lock().expect("lock").push(arn.replace("%3A", ":").replace("%2F", "/"));
            let expiration = aws_smithy_types::DateTime::from(std::time::SystemTime::now() + lifetime)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .expect("a date");
            let xml = format!(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials>\
                 <AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken>\
                 <Expiration>{expiration}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:kms-guardrails</AssumedRoleId>\
                 <Arn>arn:aws:sts::444455556666:assumed-role/KmsGuardrailsMember/kms-guardrails</Arn></AssumedRoleUser></AssumeRoleResult>\
                 <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>"
            );
            return http::Response::builder()
                .status(200)
                .body(aws_smithy_types::body::SdkBody::from(xml))
                .expect("response");
        }
        http::Response::builder()
            .status(200)
            .body(aws_smithy_types::body::SdkBody::from(r#"{"FailedEvaluations":[]}"#))
            .expect("response")
    });
    (client, assumed)
}

fn member_event(account: &str, key: &str) -> Value {
    let item = json!({"resourceType": "AWS::KMS::Key", "resourceId": key, "awsAccountId": account,
        "configurationItemStatus": "OK", "configurationItemCaptureTime": "2026-11-23T05:59:00.000Z",
        "configuration": {"keyId": key, "keyManager": "CUSTOMER", "keyState": "Enabled"},
        "supplementaryConfiguration": {"Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"}});
    json!({
        "invokingEvent": json!({"configurationItem": item, "messageType": "ConfigurationItemChangeNotification"}).to_string(),
        "ruleParameters": "{\"executionRoleName\":\"KmsGuardrailsMember\"}",
        "resultToken": "token", "accountId": account, "configRuleName": "rule"
    })
}

/// A warm container assumes a member account's role once and reuses the credentials across
/// invocations while they are valid: three invocations for one account, one AssumeRole; a
/// second account, its own. Credentials that expire within the SDK's refresh buffer (10 s) are
/// not reused: each invocation assumes the role again.
#[tokio::test]
async fn member_role_credentials_are_cached_per_account_while_valid() {
    use shared::runtime::{handle_event, Accounts, Deadline};
    let rule = rule("kms-key-policy-no-public-access");
    let base = |client| {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_credential_types::Credentials::for_tests())
            .http_client(client)
            .load()
    };

    let (client, assumed) = sts_and_config(std::time::Duration::from_secs(3600));
    let accounts = Accounts::new(base(client).await);
    for (account, key) in
        [("444455556666", "k1"), ("444455556666", "k2"), ("777788889999", "k3"), ("444455556666", "k4")]
    {
        handle_event(rule, &accounts, &member_event(account, key), Deadline::none()).await.expect("invocation");
    }
    assert_eq!(
        *assumed.lock().expect("lock"),
        ["arn:aws:iam::444455556666:role/KmsGuardrailsMember", "arn:aws:iam::777788889999:role/KmsGuardrailsMember"]
    );

    let (client, assumed) = sts_and_config(std::time::Duration::from_secs(5));
    let accounts = Accounts::new(base(client).await);
    for key in ["k1", "k2"] {
        handle_event(rule, &accounts, &member_event("444455556666", key), Deadline::none()).await.expect("invocation");
    }
    assert_eq!(assumed.lock().expect("lock").len(), 2, "credentials about to expire are not reused");
}

#[test]
fn member_role_arns_use_the_regions_partition() {
    use shared::runtime::partition_of;
    assert_eq!(partition_of("us-east-1"), "aws");
    assert_eq!(partition_of("cn-north-1"), "aws-cn");
    assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
}
