//! The AWS clients an invocation uses, and the ones a warm container keeps.
//!
//! With parameter `executionRoleName` every call runs as that role in the event's account
//! (SPEC section 5). A container serves many invocations, and one periodic run of an
//! organization pack calls AWS thousands of times: assuming the role once per invocation would
//! cost an STS call each time and, across 1,000 accounts, count against STS's request quota.
//! So [`Accounts`] keeps one set of clients per role ARN for the container's life. Their
//! credentials provider is built once; the SDK's identity cache (lazy, on by default since
//! behavior version 2024-03-28) holds the assumed role's credentials and calls AssumeRole again
//! only when they are about to expire. Cached credentials are never used past their expiry.

use std::collections::HashMap;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use tokio::sync::Mutex;

use super::exceptions::ExceptionsCache;
use super::RuleError;
use crate::rule::{Params, EXECUTION_ROLE_NAME};

/// The AWS clients of one account.
#[derive(Clone, Debug)]
pub struct Clients {
    /// AWS Config.
    pub config: aws_sdk_config::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// KMS.
    pub kms: aws_sdk_kms::Client,
    /// AWS Organizations (the management account, for the rules that ask for it).
    pub organizations: aws_sdk_organizations::Client,
}

impl Clients {
    /// Clients from one SDK configuration.
    pub fn new(sdk: &SdkConfig) -> Clients {
        Clients {
            config: aws_sdk_config::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            organizations: aws_sdk_organizations::Client::new(sdk),
        }
    }
}

/// Loads the standard SDK configuration (environment, profile, `AWS_ENDPOINT_URL`), with
/// retries in standard mode (exponential backoff with jitter on throttling).
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .load()
        .await
}

/// The clients of a warm container: its own, and one set per assumed member role, kept across
/// invocations (the module's header says why).
#[derive(Debug)]
pub struct Accounts {
    base: SdkConfig,
    own: Clients,
    assumed: Mutex<HashMap<String, Clients>>,
    exceptions: ExceptionsCache,
}

impl Accounts {
    /// The clients of a container whose own configuration is `base`.
    pub fn new(base: SdkConfig) -> Accounts {
        let own = Clients::new(&base);
        let exceptions = ExceptionsCache::new(&base);
        Accounts { base, own, assumed: Mutex::new(HashMap::new()), exceptions }
    }

    /// The exceptions files this container read, with its own role.
    pub fn exceptions(&self) -> &ExceptionsCache {
        &self.exceptions
    }

    /// The clients an event's calls use: the function's own, or, with `executionRoleName`,
    /// that role in `account_id` (built on first use, then reused while the container lives).
    pub async fn clients_for(&self, params: &Params, account_id: &str) -> Result<Clients, RuleError> {
        let Some(role_name) = params.text(EXECUTION_ROLE_NAME.name) else { return Ok(self.own.clone()) };
        // The partition comes from the function's region: a role in another partition cannot
        // be assumed from here anyway. Without a region there is no partition to name.
        let region = self.base.region().ok_or_else(|| {
            RuleError::Function(
                "no AWS region is configured (AWS_REGION), so the member role's ARN has no partition".into(),
            )
        })?;
        let role_arn = format!("arn:{}:iam::{account_id}:role/{role_name}", partition_of(region.as_ref()));
        let mut assumed = self.assumed.lock().await;
        if let Some(clients) = assumed.get(&role_arn) {
            return Ok(clients.clone());
        }
        let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn.clone())
            .session_name("kms-guardrails")
            .configure(&self.base)
            .build()
            .await;
        let sdk = self
            .base
            .to_builder()
            .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
            .build();
        let clients = Clients::new(&sdk);
        assumed.insert(role_arn, clients.clone());
        Ok(clients)
    }
}

/// The ARN partition of a region: `aws-cn` for China, `aws-us-gov` for GovCloud, `aws` otherwise.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}
