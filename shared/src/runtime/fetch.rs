//! What Config does not record, fetched from AWS: a key's policy when the item lacks it, a
//! role's or user's managed policies and permissions boundary, a user's groups, the
//! organization's management account; and the items themselves in the API dialect.
//!
//! Each is fetched at most once per invocation ([`Cache`]): a periodic run judges thousands of
//! roles that share a few managed policies, concurrently, so the cache holds one cell per
//! policy that the first caller fills and the others wait on (a plain map would let every
//! concurrent caller fetch the same policy). Failures to read another resource are the
//! reason a verdict fails closed, never a silent answer.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use aws_sdk_organizations::error::ProvideErrorMetadata;
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::{json, Map, Value};
use tokio::sync::{Mutex, OnceCell};

use super::{aws_error, Clients, RuleError};
use crate::item::{Details, Document, Identity, KeyPolicy, Resource};
use crate::policy::{parse_policy, PolicyKind};
use crate::resolver::MemoryResolver;
use crate::rule::{FromAws, Params, Reads, Rule, MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS};

/// IAM list calls return at most this many entries a page (`MaxItems`: "Valid Range: Minimum
/// value of 1. Maximum value of 1000.", IAM API Reference, e.g.
/// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedGroupPolicies.html>).
pub const IAM_MAX_ITEMS: i32 = 1000;

/// Managed policies, groups and the management account fetched in this invocation.
#[derive(Default)]
pub(super) struct Cache {
    policies: Cells<Document>,
    groups: Cells<Identity>,
    management_account: OnceCell<Result<String, String>>,
}

/// One cell per name, filled once: the result, or why it could not be read.
type Cells<T> = Mutex<HashMap<String, Arc<OnceCell<Result<T, String>>>>>;

async fn cell<T>(cells: &Cells<T>, name: &str) -> Arc<OnceCell<Result<T, String>>> {
    cells.lock().await.entry(name.to_owned()).or_default().clone()
}

/// Fetches the key policy when the item does not carry it. AccessDenied becomes the key's
/// (fail-closed) verdict; other failures fail the invocation.
pub(super) async fn fill_key_policy(clients: &Clients, resource: &mut Resource) -> Result<(), RuleError> {
    let Details::Key(key) = &mut resource.details else { return Ok(()) };
    if key.policy != KeyPolicy::Absent {
        return Ok(());
    }
    // KMS names the one key policy `default` (moto requires the name).
    match clients.kms.get_key_policy().key_id(&key.key_id).policy_name("default").send().await {
        Ok(output) => {
            key.policy = match output.policy() {
                Some(text) => match parse_policy(&Value::String(text.to_owned()), PolicyKind::KeyPolicy) {
                    Ok(policy) => KeyPolicy::Parsed(policy),
                    Err(e) => KeyPolicy::Invalid(e),
                },
                None => KeyPolicy::Unreadable("kms:GetKeyPolicy returned no policy".into()),
            };
            Ok(())
        }
        Err(e) => {
            let code = aws_sdk_kms::error::ProvideErrorMetadata::code(&e).map(str::to_owned);
            match code {
                Some(code) if code.contains("AccessDenied") => {
                    key.policy = KeyPolicy::Unreadable(format!("kms:GetKeyPolicy was denied ({code})"));
                    Ok(())
                }
                _ => Err(aws_error("kms:GetKeyPolicy", e)),
            }
        }
    }
}
/// The resolver a rule gets: for rules that read other resources (`periodic`), the attached
/// managed policies and the permissions boundary of a role or user (any managed policy ARN,
/// customer or AWS managed) and a user's groups, fetched from IAM (once per invocation);
/// otherwise nothing. And the values a rule gets from AWS ([`Rule::from_aws`]) when its
/// parameters need them for this resource: the organization's management account.
pub(super) async fn resolve(
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
    if rule.reads != Reads::Attachments {
        return resolver;
    }
    let Some((identity, groups)) = resource.identity_and_groups() else { return resolver };
    // The attached policies and the permissions boundary, fetched alike.
    let mut arns: BTreeSet<String> = identity.managed_policy_arns().map(str::to_owned).collect();
    for name in groups {
        match group(clients, cache, name).await {
            Ok(group) => {
                arns.extend(group.attached.iter().map(|a| a.arn.clone()));
                resolver.add_group(resource.account_id().to_owned(), group);
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

async fn managed_policy(clients: &Clients, cache: &Cache, arn: &str) -> Result<Document, String> {
    let cell = cell(&cache.policies, arn).await;
    cell.get_or_init(|| async {
        let policy = clients.iam.get_policy().policy_arn(arn).send().await.map_err(|e| describe("iam:GetPolicy", e))?;
        let version =
            policy.policy().and_then(|p| p.default_version_id()).ok_or("iam:GetPolicy returned no default version")?;
        let request = clients.iam.get_policy_version().policy_arn(arn).version_id(version);
        let output = request.send().await.map_err(|e| describe("iam:GetPolicyVersion", e))?;
        let document =
            output.policy_version().and_then(|v| v.document()).ok_or("iam:GetPolicyVersion returned no document")?;
        Ok(parse_policy(&Value::String(document.to_owned()), PolicyKind::Identity))
    })
    .await
    .clone()
}

/// The organization's management account (`MasterAccountId` of
/// `organizations:DescribeOrganization`), once per invocation. Every failure is the reason it
/// is unknown (AccessDenied, `AWSOrganizationsNotInUseException` for an account in no
/// organization, ...): the rule reports it on the resources it concerns, never a silent answer.
async fn management_account(clients: &Clients, cache: &Cache) -> Result<String, String> {
    cache
        .management_account
        .get_or_init(|| async {
            match clients.organizations.describe_organization().send().await {
                Ok(output) => output
                    .organization()
                    .and_then(|o| o.master_account_id())
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| "organizations:DescribeOrganization returned no MasterAccountId".to_owned()),
                // Code and message only: the reason is the first cause of the role's annotation,
                // which has 256 characters for it and the finding.
                Err(e) => Err(match (e.code(), e.message()) {
                    (Some(code), Some(message)) => format!("organizations:DescribeOrganization: {code}: {message}"),
                    (Some(code), None) => format!("organizations:DescribeOrganization: {code}"),
                    _ => describe("organizations:DescribeOrganization", e),
                }),
            }
        })
        .await
        .clone()
}

/// A group's inline and attached policies; both lists paged to the end, [`IAM_MAX_ITEMS`] a page.
async fn group(clients: &Clients, cache: &Cache, name: &str) -> Result<Identity, String> {
    let cell = cell(&cache.groups, name).await;
    cell.get_or_init(|| async {
        let mut inline = Vec::new();
        let mut pages =
            clients.iam.list_group_policies().group_name(name).max_items(IAM_MAX_ITEMS).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| describe("iam:ListGroupPolicies", e))?;
            for policy_name in page.policy_names() {
                let request = clients.iam.get_group_policy().group_name(name).policy_name(policy_name);
                let output = request.send().await.map_err(|e| describe("iam:GetGroupPolicy", e))?;
                let document = parse_policy(&Value::String(output.policy_document().to_owned()), PolicyKind::Identity);
                inline.push(crate::item::NamedDocument { name: policy_name.clone(), document });
            }
        }
        let mut attached = Vec::new();
        let mut pages = clients
            .iam
            .list_attached_group_policies()
            .group_name(name)
            .max_items(IAM_MAX_ITEMS)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| describe("iam:ListAttachedGroupPolicies", e))?;
            for policy in page.attached_policies() {
                // An entry without its ARN cannot be resolved: an error, not an empty ARN that
                // would fail to resolve under a misleading name.
                let arn =
                    policy.policy_arn().ok_or("iam:ListAttachedGroupPolicies returned a policy without its ARN")?;
                let name = policy.policy_name().unwrap_or(arn);
                attached.push(crate::item::AttachedPolicy { name: name.to_owned(), arn: arn.to_owned() });
            }
        }
        Ok(Identity { name: name.to_owned(), path: "/".into(), inline, attached, boundary: None })
    })
    .await
    .clone()
}

pub(super) fn describe(call: &str, error: impl std::error::Error) -> String {
    format!("{call}: {}", aws_smithy_types::error::display::DisplayErrorContext(error))
}

/// The API-dialect item of an SDK `ConfigurationItem` or `BaseConfigurationItem`: two types
/// with the same accessors.
macro_rules! api_item_of {
    ($item:expr) => {{
        let item = $item;
        $crate::runtime::fetch::api_item(
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

pub(super) use api_item_of;

/// The item of an oversized notification, from GetResourceConfigHistory (limit 1), with its
/// `tags` (a `ConfigurationItem` has them; a `BaseConfigurationItem` does not): the readiness
/// rule's `keyTag` reads them.
pub(super) async fn fetch_history_item(
    clients: &Clients,
    resource_type: &str,
    resource_id: &str,
) -> Result<Value, RuleError> {
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
pub(super) fn api_item(
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
