//! The Lambda shell: everything a rule needs from AWS, around the pure core.
//!
//! One invocation: decode Config's event ([`crate::event`]), check the parameters, get the
//! item (inline, or GetResourceConfigHistory for oversized items, or ListDiscoveredResources +
//! BatchGetResourceConfig for scheduled runs), fetch what Config does not record (a key's
//! policy when the item lacks it; a role's attached policies and permissions boundary and a
//! user's groups, for rules that read them), judge with the pure rule, and report with
//! PutEvaluations.
//!
//! - Credentials and endpoints come from the standard SDK configuration (environment, profile,
//!   `AWS_ENDPOINT_URL`), so tests point the real clients at a local server.
//! - With parameter `executionRoleName`, every call runs as that role in the event's account.
//! - A value a rule's parameters need but do not give ([`crate::rule::FromAws`]) comes from AWS:
//!   the organization's management account from `organizations:DescribeOrganization`.
//! - Fetches are cached within one invocation: no policy is fetched twice.
//! - PutEvaluations: at most 100 per call; the SDK retries throttling with backoff and jitter;
//!   `FailedEvaluations` are retried, and what still fails fails the invocation, naming the
//!   resources.
//! - Errors leave as `lambda_runtime` diagnostics with a stable `errorType`.
//! - Logs are JSON lines (rule, resource, verdict); no policy document is ever logged.

use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_config::types::{ComplianceType, Evaluation, ResourceKey};
use aws_sdk_organizations::error::ProvideErrorMetadata;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::{json, Map, Value};
use tokio::sync::Mutex;

use crate::event::{self, ConfigEvent, Invocation};
use crate::item::{Details, Identity, KeyPolicy, Resource, ResourceType};
use crate::policy::{parse_policy, PolicyKind};
use crate::resolver::MemoryResolver;
use crate::rule::{
    Compliance, Context, FromAws, Params, Rule, Verdict, EXECUTION_ROLE_NAME, MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS,
};

/// PutEvaluations takes at most this many evaluations a call.
pub const PUT_EVALUATIONS_BATCH: usize = 100;
/// Rounds of retrying `FailedEvaluations` before the invocation fails.
const FAILED_EVALUATION_ROUNDS: u32 = 4;
/// Resources evaluated at once in a scheduled run.
const CONCURRENCY: usize = 16;

/// Why an invocation failed. The `errorType` Lambda reports is stable per variant.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The event is not what Config sends.
    #[error("{0}")]
    Event(#[from] event::EventError),
    /// `ruleParameters` are wrong.
    #[error("{0}")]
    Parameters(#[from] crate::rule::ParamError),
    /// The configuration item cannot be read.
    #[error("{0}")]
    Item(#[from] crate::item::ItemError),
    /// An AWS call failed (after the SDK's retries).
    #[error("{call} failed: {message}")]
    Aws {
        /// The API call.
        call: &'static str,
        /// The error, as the SDK describes it.
        message: String,
    },
    /// Some evaluations could not be reported.
    #[error("PutEvaluations failed for {count} evaluation(s): {resources}")]
    Unreported {
        /// How many.
        count: usize,
        /// `type/id` of each, comma-separated.
        resources: String,
    },
}

impl RuleError {
    /// The stable `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            RuleError::Event(_) => "KmsGuardrails.InvalidEvent",
            RuleError::Parameters(_) => "KmsGuardrails.InvalidParameters",
            RuleError::Item(_) => "KmsGuardrails.InvalidConfigurationItem",
            RuleError::Aws { .. } => "KmsGuardrails.AwsCallFailed",
            RuleError::Unreported { .. } => "KmsGuardrails.PutEvaluationsFailed",
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

/// The clients an event's calls use: the function's own credentials, or, with
/// `executionRoleName`, that role assumed in the event's account.
pub async fn clients_for(base: &SdkConfig, params: &Params, account_id: &str) -> Clients {
    match params.text(EXECUTION_ROLE_NAME.name) {
        None => Clients::new(base),
        Some(role_name) => {
            let region = base.region().map(|r| r.as_ref().to_owned()).unwrap_or_default();
            let partition = partition_of(&region);
            let role_arn = format!("arn:{partition}:iam::{account_id}:role/{role_name}");
            let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                .session_name("kms-guardrails")
                .configure(base)
                .build()
                .await;
            let sdk = base
                .to_builder()
                .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(provider))
                .build();
            Clients::new(&sdk)
        }
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
        let base = load_sdk_config().await;
        let base = &base;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
            handle(rule, base, &event.payload).await
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
}

/// Handles one Config event: the whole invocation.
pub async fn handle(rule: &'static Rule, base: &SdkConfig, payload: &Value) -> Result<Value, RuleError> {
    let (event, params) = decode_event(rule, payload)?;
    let clients = clients_for(base, &params, &event.account_id).await;
    let evaluations = evaluate_event(rule, &clients, &params, &event).await?;
    let mut summary = Summary::default();
    for (_, verdict, _) in &evaluations {
        *summary.reported.entry(verdict.compliance.as_str().to_owned()).or_default() += 1;
    }
    report(&clients, &event.result_token, &evaluations).await?;
    serde_json::to_value(summary).map_err(|e| RuleError::Aws { call: "serialize summary", message: e.to_string() })
}

/// A verdict ready to report: the resource's type and id, the verdict, the ordering timestamp.
pub type Judged = ((String, String), Verdict, String);

/// Decodes an event and its rule parameters: the first, pure step of [`handle`].
pub fn decode_event(rule: &Rule, payload: &Value) -> Result<(ConfigEvent, Params), RuleError> {
    let event = event::decode(payload)?;
    let params = rule.parse_params_json(event.rule_parameters.as_deref())?;
    Ok((event, params))
}

/// Judges a resource whose key policy and other resources are at hand, and logs the verdict:
/// the pure step of an invocation after its AWS calls (`lambda` bench times it).
pub fn judge_fetched(
    rule: &Rule,
    params: &Params,
    resource: &Resource,
    resolver: &MemoryResolver,
    ordering: String,
) -> Judged {
    let key = (resource.type_name.clone(), resource.resource_id.clone());
    let verdict = rule.judge(resource, &Context { params, resolver });
    tracing::info!(rule = rule.id, resource_type = %key.0, resource_id = %key.1, compliance = verdict.compliance.as_str(), annotation = verdict.annotation().unwrap_or_default(), "evaluated");
    (key, verdict, ordering)
}

/// Evaluates what the event asks, without reporting.
pub async fn evaluate_event(
    rule: &'static Rule,
    clients: &Clients,
    params: &Params,
    event: &ConfigEvent,
) -> Result<Vec<Judged>, RuleError> {
    let cache = Cache::default();
    match &event.invocation {
        Invocation::Change { item } => {
            let resource = Resource::from_json(item)?;
            let judged = judge_one(rule, clients, params, &cache, resource, event.event_left_scope, None).await?;
            Ok(vec![judged])
        }
        Invocation::Oversized { resource_type, resource_id } => {
            let item = fetch_history_item(clients, resource_type, resource_id).await?;
            let resource = Resource::from_json(&item)?;
            let judged = judge_one(rule, clients, params, &cache, resource, event.event_left_scope, None).await?;
            Ok(vec![judged])
        }
        Invocation::Scheduled => scheduled(rule, clients, params, &cache, event).await,
    }
}

async fn judge_one(
    rule: &'static Rule,
    clients: &Clients,
    params: &Params,
    cache: &Cache,
    mut resource: Resource,
    left_scope: bool,
    ordering: Option<&str>,
) -> Result<Judged, RuleError> {
    let ordering = ordering.map(str::to_owned).or_else(|| resource.capture_time.clone()).unwrap_or_default();
    if left_scope {
        let key = (resource.type_name.clone(), resource.resource_id.clone());
        return Ok((key, Verdict::not_applicable("resource left the rule's scope"), ordering));
    }
    fill_key_policy(clients, &mut resource).await?;
    let resolver = resolve(rule, params, clients, cache, &resource).await;
    Ok(judge_fetched(rule, params, &resource, &resolver, ordering))
}

/// Fetches the key policy when the item does not carry it. AccessDenied becomes the key's
/// (fail-closed) verdict; other failures fail the invocation.
async fn fill_key_policy(clients: &Clients, resource: &mut Resource) -> Result<(), RuleError> {
    let Details::Key(key) = &mut resource.details else { return Ok(()) };
    if key.policy != KeyPolicy::Absent {
        return Ok(());
    }
    // KMS names the one key policy `default` (moto requires the name).
    match clients.kms.get_key_policy().key_id(&key.key_id).policy_name("default").send().await {
        Ok(output) => {
            let text = output.policy().unwrap_or_default();
            key.policy = match parse_policy(&Value::String(text.to_owned()), PolicyKind::KeyPolicy) {
                Ok(policy) => KeyPolicy::Parsed(policy),
                Err(e) => KeyPolicy::Invalid(e),
            };
            Ok(())
        }
        Err(e) => {
            let code = aws_sdk_kms::error::ProvideErrorMetadata::code(&e).unwrap_or_default().to_owned();
            if code.contains("AccessDenied") {
                key.policy = KeyPolicy::Unreadable(format!("kms:GetKeyPolicy was denied ({code})"));
                Ok(())
            } else {
                Err(aws_error("kms:GetKeyPolicy", e))
            }
        }
    }
}

/// Managed policies and groups fetched in this invocation.
#[derive(Default)]
struct Cache {
    policies: Mutex<HashMap<String, Result<crate::item::Document, String>>>,
    groups: Mutex<HashMap<String, Result<Identity, String>>>,
    management_account: Mutex<Option<Result<String, String>>>,
}

/// The resolver a rule gets: for rules that read other resources (`periodic`), the attached
/// managed policies and the permissions boundary of a role or user (any managed policy ARN,
/// customer or AWS managed) and a user's groups, fetched from IAM (once per invocation);
/// otherwise nothing. And the values a rule gets from AWS ([`Rule::from_aws`]) when its
/// parameters need them for this resource: the organization's management account.
async fn resolve(
    rule: &Rule,
    params: &Params,
    clients: &Clients,
    cache: &Cache,
    resource: &Resource,
) -> MemoryResolver {
    let mut resolver = MemoryResolver::new();
    let of_type = |f: &FromAws| resource.resource_type.is_some_and(|t| f.resource_types.contains(&t));
    for from_aws in rule.from_aws().filter(|f| f.to_fetch(params) && of_type(f)) {
        if from_aws.call == MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS.call {
            match management_account(clients, cache).await {
                Ok(account) => resolver.set_management_account(account),
                Err(reason) => resolver.set_management_account_unknown(reason),
            }
        }
    }
    if !rule.periodic {
        return resolver;
    }
    let (identity, groups) = match &resource.details {
        Details::Role(role) => (&role.identity, &[][..]),
        Details::User(user) => (&user.identity, user.groups.as_slice()),
        _ => return resolver,
    };
    // The attached policies and the permissions boundary, fetched alike.
    let mut arns: BTreeSet<String> = identity.managed_policy_arns().map(str::to_owned).collect();
    for name in groups {
        match group(clients, cache, name).await {
            Ok(group) => {
                arns.extend(group.attached.iter().map(|a| a.arn.clone()));
                resolver.add_group(resource.account_id.clone(), group);
            }
            Err(reason) => resolver.add_unavailable(format!("group {name}"), reason),
        }
    }
    for arn in arns {
        match managed_policy(clients, cache, &arn).await {
            Ok(document) => resolver.add_policy(arn, document),
            Err(reason) => resolver.add_unavailable(arn, reason),
        }
    }
    resolver
}

async fn managed_policy(clients: &Clients, cache: &Cache, arn: &str) -> Result<crate::item::Document, String> {
    if let Some(found) = cache.policies.lock().await.get(arn) {
        return found.clone();
    }
    let fetched = async {
        let policy = clients.iam.get_policy().policy_arn(arn).send().await.map_err(|e| describe("iam:GetPolicy", e))?;
        let version =
            policy.policy().and_then(|p| p.default_version_id()).ok_or("iam:GetPolicy returned no default version")?;
        let output = clients
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| describe("iam:GetPolicyVersion", e))?;
        let document =
            output.policy_version().and_then(|v| v.document()).ok_or("iam:GetPolicyVersion returned no document")?;
        Ok::<_, String>(parse_policy(&Value::String(document.to_owned()), PolicyKind::Identity))
    }
    .await;
    cache.policies.lock().await.insert(arn.to_owned(), fetched.clone());
    fetched
}

/// The organization's management account (`MasterAccountId` of
/// `organizations:DescribeOrganization`), once per invocation. Every failure is the reason it
/// is unknown (AccessDenied, `AWSOrganizationsNotInUseException` for an account in no
/// organization, ...): the rule reports it on the resources it concerns, never a silent answer.
async fn management_account(clients: &Clients, cache: &Cache) -> Result<String, String> {
    let mut cached = cache.management_account.lock().await;
    if let Some(found) = cached.as_ref() {
        return found.clone();
    }
    let fetched = match clients.organizations.describe_organization().send().await {
        Ok(output) => output
            .organization()
            .and_then(|o| o.master_account_id())
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| "organizations:DescribeOrganization returned no MasterAccountId".to_owned()),
        // Code and message only: the reason is the first cause of the role's annotation, which
        // has 256 characters for it and the finding.
        Err(e) => Err(match (e.code(), e.message()) {
            (Some(code), Some(message)) => format!("organizations:DescribeOrganization: {code}: {message}"),
            (Some(code), None) => format!("organizations:DescribeOrganization: {code}"),
            _ => describe("organizations:DescribeOrganization", e),
        }),
    };
    *cached = Some(fetched.clone());
    fetched
}

async fn group(clients: &Clients, cache: &Cache, name: &str) -> Result<Identity, String> {
    if let Some(found) = cache.groups.lock().await.get(name) {
        return found.clone();
    }
    let fetched = async {
        let names = clients
            .iam
            .list_group_policies()
            .group_name(name)
            .send()
            .await
            .map_err(|e| describe("iam:ListGroupPolicies", e))?;
        let mut inline = Vec::new();
        for policy_name in names.policy_names() {
            let output = clients
                .iam
                .get_group_policy()
                .group_name(name)
                .policy_name(policy_name)
                .send()
                .await
                .map_err(|e| describe("iam:GetGroupPolicy", e))?;
            let document = parse_policy(&Value::String(output.policy_document().to_owned()), PolicyKind::Identity);
            inline.push(crate::item::NamedDocument { name: policy_name.clone(), document });
        }
        let attached = clients
            .iam
            .list_attached_group_policies()
            .group_name(name)
            .send()
            .await
            .map_err(|e| describe("iam:ListAttachedGroupPolicies", e))?;
        let attached = attached
            .attached_policies()
            .iter()
            .map(|p| crate::item::AttachedPolicy {
                name: p.policy_name().unwrap_or_default().to_owned(),
                arn: p.policy_arn().unwrap_or_default().to_owned(),
            })
            .collect();
        Ok::<_, String>(Identity { name: name.to_owned(), path: "/".into(), inline, attached, boundary: None })
    }
    .await;
    cache.groups.lock().await.insert(name.to_owned(), fetched.clone());
    fetched
}

fn describe(call: &str, error: impl std::error::Error) -> String {
    format!("{call}: {}", aws_smithy_types::error::display::DisplayErrorContext(error))
}

/// The API-dialect item of an SDK `ConfigurationItem` or `BaseConfigurationItem`: two types
/// with the same accessors.
macro_rules! api_item_of {
    ($item:expr) => {{
        let item = $item;
        api_item(
            item.resource_type().map(|t| t.as_str()),
            item.resource_id(),
            item.resource_name(),
            item.arn(),
            item.account_id(),
            item.aws_region(),
            item.configuration_item_status().map(|s| s.as_str()),
            item.configuration_item_capture_time(),
            item.configuration(),
            item.supplementary_configuration(),
        )
    }};
}

/// The item of an oversized notification, from GetResourceConfigHistory (limit 1), with its
/// `tags` (a `ConfigurationItem` has them; a `BaseConfigurationItem` does not): the readiness
/// rule's `keyTag` reads them.
async fn fetch_history_item(clients: &Clients, resource_type: &str, resource_id: &str) -> Result<Value, RuleError> {
    let output = clients
        .config
        .get_resource_config_history()
        .resource_type(aws_sdk_config::types::ResourceType::from(resource_type))
        .resource_id(resource_id)
        .limit(1)
        .send()
        .await
        .map_err(|e| aws_error("config:GetResourceConfigHistory", e))?;
    let item = output.configuration_items().first().ok_or_else(|| RuleError::Aws {
        call: "config:GetResourceConfigHistory",
        message: format!("no configuration item for {resource_type}/{resource_id}"),
    })?;
    let mut value = api_item_of!(item);
    if let Some(object) = value.as_object_mut() {
        let tags: Map<String, Value> =
            item.tags().into_iter().flatten().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        object.insert("tags".into(), Value::Object(tags));
    }
    Ok(value)
}

/// A configuration item in the API dialect, from the SDK's fields.
#[allow(clippy::too_many_arguments)]
fn api_item(
    resource_type: Option<&str>,
    resource_id: Option<&str>,
    resource_name: Option<&str>,
    arn: Option<&str>,
    account_id: Option<&str>,
    region: Option<&str>,
    status: Option<&str>,
    capture_time: Option<&DateTime>,
    configuration: Option<&str>,
    supplementary: Option<&HashMap<String, String>>,
) -> Value {
    let supplementary: Map<String, Value> = supplementary
        .map(|m| m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
        .unwrap_or_default();
    json!({
        "resourceType": resource_type,
        "resourceId": resource_id,
        "resourceName": resource_name,
        "arn": arn,
        "accountId": account_id,
        "awsRegion": region,
        "configurationItemStatus": status,
        "configurationItemCaptureTime": capture_time.and_then(|t| t.fmt(Format::DateTime).ok()),
        "configuration": configuration,
        "supplementaryConfiguration": supplementary,
    })
}

/// A scheduled run: every recorded resource of the rule's types, judged concurrently, plus
/// NOT_APPLICABLE for resources this rule evaluated before that are no longer recorded.
async fn scheduled(
    rule: &'static Rule,
    clients: &Clients,
    params: &Params,
    cache: &Cache,
    event: &ConfigEvent,
) -> Result<Vec<Judged>, RuleError> {
    let mut keys = Vec::new();
    for resource_type in rule.resource_types {
        let mut pages = clients
            .config
            .list_discovered_resources()
            .resource_type(aws_sdk_config::types::ResourceType::from(resource_type.as_str()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("config:ListDiscoveredResources", e))?;
            for id in page.resource_identifiers() {
                if id.resource_deletion_time().is_some() {
                    continue;
                }
                if let Some(resource_id) = id.resource_id() {
                    keys.push((*resource_type, resource_id.to_owned()));
                }
            }
        }
    }
    let mut items = Vec::new();
    for chunk in keys.chunks(PUT_EVALUATIONS_BATCH) {
        let resource_keys = chunk
            .iter()
            .map(|(t, id)| {
                ResourceKey::builder()
                    .resource_type(aws_sdk_config::types::ResourceType::from(t.as_str()))
                    .resource_id(id)
                    .build()
                    .map_err(|e| aws_error("config:BatchGetResourceConfig", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = clients
            .config
            .batch_get_resource_config()
            .set_resource_keys(Some(resource_keys))
            .send()
            .await
            .map_err(|e| aws_error("config:BatchGetResourceConfig", e))?;
        for item in output.base_configuration_items() {
            items.push(api_item_of!(item));
        }
    }
    let ordering = Some(event.notification_time.as_str()).filter(|t| !t.is_empty());
    let judged: Vec<Result<Judged, RuleError>> = futures::stream::iter(items.iter().map(|item| async move {
        let resource = Resource::from_json(item)?;
        judge_one(rule, clients, params, cache, resource, false, ordering).await
    }))
    .buffer_unordered(CONCURRENCY)
    .collect()
    .await;
    let mut out = judged.into_iter().collect::<Result<Vec<_>, _>>()?;

    // Resources this rule evaluated before that are no longer recorded: NOT_APPLICABLE.
    let current: BTreeSet<(String, String)> = out.iter().map(|(key, _, _)| key.clone()).collect();
    let mut pages = clients
        .config
        .get_compliance_details_by_config_rule()
        .config_rule_name(&event.config_rule_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("config:GetComplianceDetailsByConfigRule", e))?;
        for result in page.evaluation_results() {
            let Some(qualifier) = result.evaluation_result_identifier().and_then(|i| i.evaluation_result_qualifier())
            else {
                continue;
            };
            let key = (
                qualifier.resource_type().unwrap_or_default().to_owned(),
                qualifier.resource_id().unwrap_or_default().to_owned(),
            );
            let in_scope = ResourceType::from_name(&key.0).is_some_and(|t| rule.resource_types.contains(&t));
            if in_scope && !key.1.is_empty() && !current.contains(&key) {
                let time = event.notification_time.clone();
                out.push((key, Verdict::not_applicable("resource is no longer recorded"), time));
            }
        }
    }
    Ok(out)
}

use futures::StreamExt;

/// Reports evaluations with PutEvaluations: batches of 100, `FailedEvaluations` retried with
/// backoff; what still fails is an error naming the resources.
pub async fn report(clients: &Clients, result_token: &str, judged: &[Judged]) -> Result<(), RuleError> {
    let mut pending: Vec<Evaluation> = judged.iter().map(to_evaluation).collect::<Result<_, _>>()?;
    let mut round = 0;
    while !pending.is_empty() {
        let mut failed = Vec::new();
        for batch in pending.chunks(PUT_EVALUATIONS_BATCH) {
            let output = clients
                .config
                .put_evaluations()
                .set_evaluations(Some(batch.to_vec()))
                .result_token(result_token)
                .send()
                .await
                .map_err(|e| aws_error("config:PutEvaluations", e))?;
            failed.extend(output.failed_evaluations().iter().cloned());
        }
        if failed.is_empty() {
            return Ok(());
        }
        round += 1;
        if round >= FAILED_EVALUATION_ROUNDS {
            let resources: Vec<String> = failed
                .iter()
                .map(|e| format!("{}/{}", e.compliance_resource_type(), e.compliance_resource_id()))
                .collect();
            return Err(RuleError::Unreported { count: failed.len(), resources: resources.join(", ") });
        }
        tracing::warn!(failed = failed.len(), round, "PutEvaluations reported failed evaluations; retrying");
        tokio::time::sleep(backoff(round)).await;
        pending = failed;
    }
    Ok(())
}

/// Exponential backoff with jitter: 100 ms × 2^round, plus up to as much again.
fn backoff(round: u32) -> Duration {
    let base = 100u64.saturating_mul(1 << round.min(6));
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    Duration::from_millis(base + u64::from(nanos) % base.max(1))
}

fn to_evaluation(((resource_type, resource_id), verdict, ordering): &Judged) -> Result<Evaluation, RuleError> {
    let timestamp = DateTime::from_str(ordering, Format::DateTime)
        .or_else(|_| DateTime::from_str(&format!("{}Z", ordering.trim_end_matches('Z')), Format::DateTime))
        .unwrap_or_else(|_| DateTime::from_secs(0));
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

/// Shared by the binaries: keep an `Arc` of the base configuration for handlers.
pub type SharedConfig = Arc<SdkConfig>;
