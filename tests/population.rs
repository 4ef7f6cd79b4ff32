//! An account for periodic runs, built through the real APIs on moto: managed policies and
//! roles that attach them, the SDK configuration the shell gets, and Config's scheduled
//! notification. Shared by the periodic tests and the periodic bench.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use futures::StreamExt;
use serde_json::{json, Value};

use crate::moto::Moto;
use crate::sdk_faults::Faults;

/// moto's own account id.
const ACCOUNT: &str = "123456789012";

/// The SDK configuration the shell gets: moto's endpoint, and the fault layer when given.
/// Retries as in Lambda (standard mode, 5 attempts), with a short first backoff so that the
/// injected throttling costs the test little time.
pub(crate) async fn sdk(moto: &Moto, faults: Option<&Faults>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_credential_types::Credentials::for_tests())
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(5)
                .with_initial_backoff(Duration::from_millis(20)),
        );
    if let Some(faults) = faults {
        loader = loader.http_client(faults.clone());
    }
    loader.load().await
}

pub(crate) fn scheduled(token: &str) -> Value {
    json!({
        "version": "1.0",
        "invokingEvent": json!({"messageType": "ScheduledNotification", "notificationCreationTime": "2026-11-23T06:00:00.000Z"}).to_string(),
        "resultToken": token,
        "eventLeftScope": false,
        "configRuleName": token,
        "accountId": ACCOUNT
    })
}

/// Managed policies: `Use<i>` (kms:Decrypt on all keys), `Admin<i>` (kms:PutKeyPolicy on all
/// keys), `Other<i>` (no KMS). Returns their ARNs by name.
async fn policies(iam: &aws_sdk_iam::Client, n: usize) -> BTreeMap<String, String> {
    let mut arns = BTreeMap::new();
    for i in 0..n {
        for (kind, action) in [("Use", "kms:Decrypt"), ("Admin", "kms:PutKeyPolicy"), ("Other", "s3:GetObject")] {
            let document = json!({"Version": "2012-10-17", "Statement": [{"Sid": kind, "Effect": "Allow", "Action": action, "Resource": "*"}]});
            let name = format!("{kind}{i}");
            let created = iam
                .create_policy()
                .policy_name(&name)
                .policy_document(document.to_string())
                .send()
                .await
                .expect("policy");
            arns.insert(name, created.policy().and_then(|p| p.arn()).expect("an ARN").to_owned());
        }
    }
    arns
}

/// `n` roles, each with two attached managed policies: `Use<i % 5>` and, for every fourth role,
/// `Admin<i % 5>` (NON_COMPLIANT for the separation rule), otherwise `Other<i % 5>`. Created
/// through the IAM API one call at a time: moto's IAM is not safe for concurrent writes (a
/// role created while another is attached fails with "dictionary changed size during
/// iteration"). Returns (role id, NON_COMPLIANT expected).
pub(crate) async fn roles(iam: &aws_sdk_iam::Client, n: usize) -> Vec<(String, bool)> {
    let arns = policies(iam, 5).await;
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}).to_string();
    futures::stream::iter(0..n)
        .map(|i| {
            let (trust, arns) = (&trust, &arns);
            async move {
                let name = format!("Periodic{i:05}");
                let role =
                    iam.create_role().role_name(&name).assume_role_policy_document(trust).send().await.expect("role");
                let both = i % 4 == 0;
                let second = if both { format!("Admin{}", i % 5) } else { format!("Other{}", i % 5) };
                for policy in [format!("Use{}", i % 5), second] {
                    iam.attach_role_policy().role_name(&name).policy_arn(&arns[&policy]).send().await.expect("attach");
                }
                (role.role().map(|r| r.role_id().to_owned()).expect("a role id"), both)
            }
        })
        .buffered(1)
        .collect()
        .await
}
