//! The CloudFormation templates of `cloudformation/`, generated from the rules' own metadata,
//! so that a rule's Config scope, parameters and defaults, and its function's permissions
//! cannot drift from the code: `cargo xtask templates` writes them, and a test
//! (`tests/templates.rs`) fails when the committed files differ from what this module generates.
//!
//! - `rules.yaml`: one account and region: per rule a Lambda function (provided.al2023, arm64,
//!   `bootstrap`, code from S3), its log group, its least-privilege role (exactly
//!   [`Rule::api_calls`] plus its own logs; a call that gets a value from AWS, such as
//!   `organizations:DescribeOrganization`, only under the parameters that make the function
//!   call it), an invoke permission for `config.amazonaws.com` limited by `SourceAccount`, and
//!   its `AWS::Config::ConfigRule`.
//! - `central-functions.yaml`: the functions of an organization deployment, in one account per
//!   region; each role may also assume the member role, only inside the organization.
//! - `conformance-pack.yaml`: the Config rules only, pointing member accounts' rules at the
//!   central functions with `executionRoleName`.
//! - `member-execution-role.yaml`: the role the central functions assume in each member
//!   account (StackSets): assumable only by the central functions' roles, from the
//!   organization, granting only what the rules call.

use serde_json::{json, Map, Value};
use shared::{ResourceType, Rule};

/// A template file: its name under `cloudformation/` and its text.
pub struct Template {
    /// File name.
    pub name: &'static str,
    /// The template as YAML.
    pub text: String,
}

/// Every template, generated.
pub fn all(rules: &[&Rule]) -> Vec<Template> {
    vec![
        Template { name: "rules.yaml", text: to_yaml(&rules_stack(rules)) },
        Template { name: "central-functions.yaml", text: to_yaml(&central_functions(rules)) },
        Template { name: "conformance-pack.yaml", text: to_yaml(&conformance_pack(rules)) },
        Template { name: "member-execution-role.yaml", text: to_yaml(&member_role(rules)) },
    ]
}

/// `kms-key-policy-via-service-required` → `KmsKeyPolicyViaServiceRequired` (logical ids).
pub fn pascal(id: &str) -> String {
    id.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// A parameter's logical name: rule and parameter (`KmsNoWildcardAdminExemptPrincipals`).
pub fn parameter_name(rule: &Rule, name: &str) -> String {
    let mut chars = name.chars();
    let upper = chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default();
    format!("{}{upper}", pascal(rule.id))
}

/// A rule judges only IAM resources: it deploys only where IAM items are recorded.
pub fn iam_only(rule: &Rule) -> bool {
    !rule.resource_types.contains(&ResourceType::KmsKey)
}

fn sub(text: &str) -> Value {
    json!({"Fn::Sub": text})
}

fn reference(name: &str) -> Value {
    json!({"Ref": name})
}

/// The role's policy statements: the rule's API calls (resource-scoped where the API allows),
/// and its own log group.
fn rule_statements(rule: &Rule) -> Vec<Value> {
    let calls = rule.api_calls();
    let of = |prefix: &str| calls.iter().filter(|c| c.starts_with(prefix)).map(|c| json!(c)).collect::<Vec<_>>();
    let mut statements = vec![json!({
        "Sid": "ReadAndReportConfig",
        "Effect": "Allow",
        "Action": of("config:"),
        "Resource": "*",
    })];
    if !of("kms:").is_empty() {
        statements.push(json!({
            "Sid": "ReadKeyPolicies",
            "Effect": "Allow",
            "Action": of("kms:"),
            "Resource": sub("arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*"),
        }));
    }
    let iam: Vec<Value> = of("iam:");
    if !iam.is_empty() {
        let policies: Vec<Value> = iam
            .iter()
            .filter(|a| a.as_str().is_some_and(|a| a.contains("PolicyVersion") || a.ends_with(":GetPolicy")))
            .cloned()
            .collect();
        let groups: Vec<Value> =
            iam.iter().filter(|a| a.as_str().is_some_and(|a| a.contains("Group"))).cloned().collect();
        statements.push(json!({
            "Sid": "ReadManagedPolicies",
            "Effect": "Allow",
            "Action": policies,
            "Resource": [sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/*"), sub("arn:${AWS::Partition}:iam::aws:policy/*")],
        }));
        statements.push(json!({
            "Sid": "ReadGroups",
            "Effect": "Allow",
            "Action": groups,
            "Resource": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:group/*"),
        }));
    }
    statements
}

/// The statements for the calls that get values from AWS ([`Rule::from_aws`]): in the
/// per-account stack, which holds the rule's parameters, each only under the condition
/// [`from_aws_condition`] names (the function makes the call only then); elsewhere always.
fn from_aws_statements(rule: &Rule, conditional: bool) -> Vec<Value> {
    rule.from_aws()
        .map(|f| {
            let statement = json!({
                "Sid": format!("Read{}", upper_first(f.param)),
                "Effect": "Allow",
                "Action": [f.call],
                "Resource": "*",
            });
            match conditional {
                true => json!({"Fn::If": [from_aws_condition(rule, f.param), statement, reference("AWS::NoValue")]}),
                false => statement,
            }
        })
        .collect()
}

/// The condition under which a rule's function gets `param`'s value from AWS.
fn from_aws_condition(rule: &Rule, param: &str) -> String {
    format!("{}Fetches{}", pascal(rule.id), upper_first(param))
}

/// The conditions of [`from_aws_statements`]: the flag is set (not empty, not `false` in the
/// casings people write; Config reads it case-insensitively) and the parameter is empty.
fn from_aws_conditions(rule: &Rule, conditions: &mut Map<String, Value>) {
    for f in rule.from_aws() {
        let flag = reference(&parameter_name(rule, f.when));
        let unset: Vec<Value> =
            ["", "false", "False", "FALSE"].iter().map(|v| json!({"Fn::Equals": [flag, v]})).collect();
        conditions.insert(
            from_aws_condition(rule, f.param),
            json!({"Fn::And": [
                {"Fn::Not": [{"Fn::Or": unset}]},
                {"Fn::Equals": [reference(&parameter_name(rule, f.param)), ""]},
            ]}),
        );
    }
}

fn upper_first(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

fn log_statement(log_group: &str) -> Value {
    json!({
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
    })
}

fn function_resources(rule: &Rule, resources: &mut Map<String, Value>, condition: Option<&str>, extra: Vec<Value>) {
    let p = pascal(rule.id);
    let (role, function, logs) = (format!("{p}Role"), format!("{p}Function"), format!("{p}LogGroup"));
    let mut statements = rule_statements(rule);
    statements.push(log_statement(&logs));
    statements.extend(extra);
    let with_condition = |mut resource: Value| {
        if let (Some(c), Some(o)) = (condition, resource.as_object_mut()) {
            o.insert("Condition".into(), json!(c));
        }
        resource
    };
    resources.insert(
        logs.clone(),
        with_condition(json!({
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": sub(&format!("/aws/lambda/${{RuleNamePrefix}}{}", rule.id)),
                "RetentionInDays": reference("LogRetentionInDays"),
            },
        })),
    );
    resources.insert(
        role.clone(),
        with_condition(json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Path": "/kms-guardrails/",
                "RoleName": sub(&format!("${{RuleNamePrefix}}{}", rule.id)),
                "Description": format!("kms-guardrails {}: only the calls the rule makes", rule.id),
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": reference("AWS::AccountId")}},
                    }],
                },
                "Policies": [{
                    "PolicyName": "rule-api-calls",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }],
            },
        })),
    );
    resources.insert(
        function.clone(),
        with_condition(json!({
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": sub(&format!("${{RuleNamePrefix}}{}", rule.id)),
                "Description": rule.summary,
                "Runtime": "provided.al2023",
                "Architectures": ["arm64"],
                "Handler": "bootstrap",
                "Code": {"S3Bucket": reference("CodeBucket"), "S3Key": sub(&format!("${{CodeKeyPrefix}}{}.zip", rule.id))},
                "Role": {"Fn::GetAtt": [role, "Arn"]},
                "MemorySize": 256,
                "Timeout": 300,
                "LoggingConfig": {"LogGroup": reference(&logs), "LogFormat": "JSON"},
            },
        })),
    );
}

fn config_rule(rule: &Rule, source_identifier: Value, extra_parameters: &[(&str, Value)]) -> Value {
    let mut source_details = vec![
        json!({"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"}),
        json!({"EventSource": "aws.config", "MessageType": "OversizedConfigurationItemChangeNotification"}),
    ];
    if rule.periodic {
        source_details.push(json!({"EventSource": "aws.config", "MessageType": "ScheduledNotification", "MaximumExecutionFrequency": "TwentyFour_Hours"}));
    }
    let mut input = Map::new();
    for spec in rule.parameters {
        input.insert(spec.name.into(), reference(&parameter_name(rule, spec.name)));
    }
    for (name, value) in extra_parameters {
        input.insert((*name).into(), value.clone());
    }
    let mut properties = json!({
        "ConfigRuleName": sub(&format!("${{RuleNamePrefix}}{}", rule.id)),
        "Description": rule.summary,
        "Scope": {"ComplianceResourceTypes": rule.resource_types.iter().map(|t| t.as_str()).collect::<Vec<_>>()},
        "Source": {"Owner": "CUSTOM_LAMBDA", "SourceIdentifier": source_identifier, "SourceDetails": source_details},
    });
    if let (false, Some(properties)) = (input.is_empty(), properties.as_object_mut()) {
        properties.insert("InputParameters".into(), Value::Object(input));
    }
    json!({"Type": "AWS::Config::ConfigRule", "Properties": properties})
}

fn rule_parameters(rules: &[&Rule], parameters: &mut Map<String, Value>) {
    for rule in rules {
        for spec in rule.parameters {
            parameters.insert(
                parameter_name(rule, spec.name),
                json!({"Type": "String", "Default": spec.default, "Description": format!("{}: {}", rule.id, spec.description)}),
            );
        }
    }
}

fn common_parameters(parameters: &mut Map<String, Value>, functions: bool) {
    parameters.insert(
        "RuleNamePrefix".into(),
        json!({"Type": "String", "Default": "", "MaxLength": 20, "AllowedPattern": "[A-Za-z0-9-]*",
            "Description": "prefix of every Config rule, function and role name (names are the rule ids otherwise)"}),
    );
    if functions {
        parameters
            .insert("CodeBucket".into(), json!({"Type": "String", "Description": "S3 bucket holding the rule zips"}));
        parameters.insert(
            "CodeKeyPrefix".into(),
            json!({"Type": "String", "Default": "kms-guardrails/", "Description": "key prefix of the zips: <prefix><rule-id>.zip"}),
        );
        parameters.insert(
            "LogRetentionInDays".into(),
            json!({"Type": "Number", "Default": 90, "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]}),
        );
    }
}

/// The per-account stack.
pub fn rules_stack(rules: &[&Rule]) -> Value {
    let mut parameters = Map::new();
    common_parameters(&mut parameters, true);
    parameters.insert(
        "GlobalResourcesRegion".into(),
        json!({"Type": "String", "Default": "us-east-1", "Description": "the region that records IAM (global) resources: IAM-only rules deploy there only"}),
    );
    let mut conditions = Map::new();
    conditions.insert(
        "IsGlobalResourcesRegion".into(),
        json!({"Fn::Equals": [reference("AWS::Region"), reference("GlobalResourcesRegion")]}),
    );
    let mut resources = Map::new();
    for rule in rules {
        let p = pascal(rule.id);
        parameters.insert(format!("Deploy{p}"), json!({"Type": "String", "Default": "true", "AllowedValues": ["true", "false"], "Description": format!("deploy {}", rule.id)}));
        let chosen = json!({"Fn::Equals": [reference(&format!("Deploy{p}")), "true"]});
        let condition = if iam_only(rule) {
            json!({"Fn::And": [chosen, {"Condition": "IsGlobalResourcesRegion"}]})
        } else {
            chosen
        };
        let name = format!("Deploy{p}Here");
        conditions.insert(name.clone(), condition);
        from_aws_conditions(rule, &mut conditions);
        function_resources(rule, &mut resources, Some(&name), from_aws_statements(rule, true));
        resources.insert(
            format!("{p}Permission"),
            json!({"Type": "AWS::Lambda::Permission", "Condition": name, "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": reference(&format!("{p}Function")),
                "Principal": "config.amazonaws.com",
                "SourceAccount": reference("AWS::AccountId"),
            }}),
        );
        let mut rule_resource = config_rule(rule, json!({"Fn::GetAtt": [format!("{p}Function"), "Arn"]}), &[]);
        if let Some(o) = rule_resource.as_object_mut() {
            o.insert("Condition".into(), json!(name));
            o.insert("DependsOn".into(), json!(format!("{p}Permission")));
        }
        resources.insert(format!("{p}ConfigRule"), rule_resource);
    }
    rule_parameters(rules, &mut parameters);
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "kms-guardrails: AWS Config rules for KMS, one account and region (generated from the rules; do not edit)",
        "Parameters": parameters,
        "Conditions": conditions,
        "Resources": resources,
    })
}

/// The organization's central functions (one account per region).
pub fn central_functions(rules: &[&Rule]) -> Value {
    let mut parameters = Map::new();
    common_parameters(&mut parameters, true);
    parameters.insert(
        "OrganizationId".into(),
        json!({"Type": "String", "AllowedPattern": "o-[a-z0-9]{10,32}", "Description": "the organization (o-...)"}),
    );
    parameters.insert(
        "MemberRoleName".into(),
        json!({"Type": "String", "Default": "kms-guardrails-member", "Description": "the role member-execution-role.yaml creates in each account"}),
    );
    parameters.insert(
        "MemberAccountIds".into(),
        json!({"Type": "CommaDelimitedList", "Description": "accounts whose AWS Config may invoke the functions (one invoke permission each: SourceAccount)"}),
    );
    let mut resources = Map::new();
    for rule in rules {
        let p = pascal(rule.id);
        let assume = json!({
            "Sid": "AssumeMemberRoleInsideTheOrganization",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": sub("arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"),
            "Condition": {"StringEquals": {"aws:ResourceOrgID": reference("OrganizationId")}},
        });
        // The rules' parameters are the conformance pack's, not this stack's: the calls that
        // get values from AWS are granted whatever they are.
        let mut extra = from_aws_statements(rule, false);
        extra.push(assume);
        function_resources(rule, &mut resources, None, extra);
        resources.insert(
            format!("Fn::ForEach::{p}Invokers"),
            json!(["AccountId", reference("MemberAccountIds"), {
                format!("{p}Permission${{AccountId}}"): {
                    "Type": "AWS::Lambda::Permission",
                    "Properties": {
                        "Action": "lambda:InvokeFunction",
                        "FunctionName": reference(&format!("{p}Function")),
                        "Principal": "config.amazonaws.com",
                        "SourceAccount": reference("AccountId"),
                    },
                },
            }]),
        );
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::LanguageExtensions",
        "Description": "kms-guardrails: the rule functions of an organization deployment, in the central account (generated from the rules; do not edit)",
        "Parameters": parameters,
        "Resources": resources,
    })
}

/// The organization conformance pack: Config rules only, pointing at the central functions.
pub fn conformance_pack(rules: &[&Rule]) -> Value {
    let mut parameters = Map::new();
    common_parameters(&mut parameters, false);
    parameters.insert("CentralAccountId".into(), json!({"Type": "String", "AllowedPattern": "[0-9]{12}", "Description": "the account of central-functions.yaml"}));
    parameters.insert("MemberRoleName".into(), json!({"Type": "String", "Default": "kms-guardrails-member", "Description": "the rules assume this role in each member account"}));
    rule_parameters(rules, &mut parameters);
    let mut resources = Map::new();
    for rule in rules {
        let arn = sub(&format!(
            "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{CentralAccountId}}:function:${{RuleNamePrefix}}{}",
            rule.id
        ));
        resources.insert(
            format!("{}ConfigRule", pascal(rule.id)),
            config_rule(rule, arn, &[("executionRoleName", reference("MemberRoleName"))]),
        );
    }
    json!({"Parameters": parameters, "Resources": resources})
}

/// The role the central functions assume in each member account.
pub fn member_role(rules: &[&Rule]) -> Value {
    let mut calls: Vec<&str> = rules.iter().flat_map(|r| r.api_calls()).collect();
    calls.sort_unstable();
    calls.dedup();
    let of = |prefix: &str| calls.iter().filter(|c| c.starts_with(prefix)).map(|c| json!(c)).collect::<Vec<_>>();
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "kms-guardrails: the role the central rule functions assume in a member account (deploy with StackSets; generated from the rules; do not edit)",
        "Parameters": {
            "CentralAccountId": {"Type": "String", "AllowedPattern": "[0-9]{12}", "Description": "the account of central-functions.yaml"},
            "OrganizationId": {"Type": "String", "AllowedPattern": "o-[a-z0-9]{10,32}", "Description": "the organization (o-...)"},
            "MemberRoleName": {"Type": "String", "Default": "kms-guardrails-member"},
        },
        "Resources": {
            "MemberRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": reference("MemberRoleName"),
                    "Description": "assumed by the kms-guardrails rule functions of the central account",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{
                            "Effect": "Allow",
                            "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${CentralAccountId}:root")},
                            "Action": "sts:AssumeRole",
                            "Condition": {
                                "ArnLike": {"aws:PrincipalArn": sub("arn:${AWS::Partition}:iam::${CentralAccountId}:role/kms-guardrails/*")},
                                "StringEquals": {"aws:PrincipalOrgID": reference("OrganizationId")},
                            },
                        }],
                    },
                    "Policies": [{
                        "PolicyName": "rule-api-calls",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                            {"Sid": "ReadAndReportConfig", "Effect": "Allow", "Action": of("config:"), "Resource": "*"},
                            {"Sid": "ReadKeyPolicies", "Effect": "Allow", "Action": of("kms:"), "Resource": sub("arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*")},
                            {"Sid": "ReadIam", "Effect": "Allow", "Action": of("iam:"), "Resource": [
                                sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/*"),
                                sub("arn:${AWS::Partition}:iam::aws:policy/*"),
                                sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:group/*"),
                            ]},
                            // What the rules may get from AWS (the management account): any
                            // account of the organization may describe it; no resource ARN.
                            {"Sid": "ReadOrganization", "Effect": "Allow", "Action": of("organizations:"), "Resource": "*"},
                        ]},
                    }],
                },
            },
        },
    })
}

/// YAML for a JSON value: block style, keys sorted and bare, strings double-quoted (JSON
/// escapes are valid YAML), so the text is stable and reviewable.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::from("# Generated by `cargo xtask templates`; do not edit.\n");
    emit(value, 0, &mut out);
    out
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(Value::String(s.clone()).to_string()),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(o) if o.is_empty() => Some("{}".into()),
        _ => None,
    }
}

fn key(k: &str) -> String {
    let plain = !k.is_empty()
        && k.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'))
        && !k.ends_with(':');
    if plain && !k.contains(": ") {
        k.to_owned()
    } else {
        Value::String(k.to_owned()).to_string()
    }
}

fn emit(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            // Sorted here, not by the map: serde_json keeps insertion order when another crate
            // in the build enables `preserve_order`, and the text must not depend on that.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in entries {
                match scalar(v) {
                    Some(s) => out.push_str(&format!("{pad}{}: {s}\n", key(k))),
                    None => {
                        out.push_str(&format!("{pad}{}:\n", key(k)));
                        emit(v, indent + 2, out);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match scalar(item) {
                    Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                    None => {
                        // The first line of the item goes after the dash.
                        let mut inner = String::new();
                        emit(item, indent + 2, &mut inner);
                        let trimmed = inner.trim_start_matches(' ');
                        out.push_str(&format!("{pad}- {trimmed}"));
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other).unwrap_or_default())),
    }
}
