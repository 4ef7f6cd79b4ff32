//! The CloudFormation templates of `cloudformation/`, generated from the rules' own metadata,
//! so that a rule's Config scope, parameters and defaults, its function's size and its
//! permissions cannot drift from the code: `cargo xtask templates` writes them, and a test
//! (`tests/templates.rs`) fails when the committed files differ from what this module generates.
//!
//! - `rules.yaml`: one account and region: per rule a Lambda function (provided.al2023, arm64,
//!   `bootstrap`, code from S3, memory and timeout from [`Rule::function`]), its log group, its
//!   least-privilege role (exactly [`Rule::api_calls`] plus its own logs and the on-failure
//!   queue; a call that gets a value from AWS, such as `organizations:DescribeOrganization`,
//!   only under the parameters that make the function call it), an invoke permission for
//!   `config.amazonaws.com` limited by `SourceAccount`, its on-failure destination, and its
//!   `AWS::Config::ConfigRule`; one encrypted SQS queue for failed events with an alarm.
//! - `central-functions.yaml`: the functions of an organization deployment, in one account per
//!   region. Nothing in it grows with the organization: one invoke permission per function
//!   (no `SourceAccount`: RDK's organization template does the same), and roles that may only
//!   assume the member role inside the organization, since every call of an organization
//!   deployment runs as that role ([`ORGANIZATION_INVOKE_WHY`] says why this is safe).
//! - `conformance-pack.yaml`: the Config rules only, pointing member accounts' rules at the
//!   central functions with `executionRoleName`; IAM-only rules only in the region that records
//!   global resources.
//! - `member-execution-role.yaml`: the role the central functions assume in each account
//!   (StackSets, and a plain stack in the management account): assumable only by the central
//!   functions' roles, from the organization, granting only what the rules call.
//!
//! No IAM resource has a fixed name but the member role, whose name the functions must know
//! (they assume `role/<executionRoleName>`, SPEC section 5) and which is deployed once per
//! account (IAM is global), so two regions of one account never collide. Optional parameters
//! reach Config the way AWS's own conformance packs pass them (`Fn::If` with `AWS::NoValue`,
//! never an empty string), and every parameter bound for `InputParameters` has a `MaxLength`
//! that keeps the whole JSON within Config's 1,024 characters ([`max_length`]).

use serde_json::{json, Map, Value};
use shared::rule::{ParamKind, ParamSpec, EVERY_RULE, EXCEPTIONS_READ_CALLS, EXCEPTIONS_URI};
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
        Template { name: "rules.yaml", text: to_yaml(&rules_stack(rules), RULES_COMMENTS) },
        Template { name: "central-functions.yaml", text: to_yaml(&central_functions(rules), CENTRAL_COMMENTS) },
        Template { name: "conformance-pack.yaml", text: to_yaml(&conformance_pack(rules), PACK_COMMENTS) },
        Template { name: "member-execution-role.yaml", text: to_yaml(&member_role(rules), MEMBER_COMMENTS) },
    ]
}

/// Config's limit on a rule's `InputParameters` (the JSON text), in characters:
/// <https://docs.aws.amazon.com/config/latest/APIReference/API_ConfigRule.html>.
pub const INPUT_PARAMETERS_LIMIT: usize = 1024;

/// IAM's limit on a role name, which `executionRoleName` carries:
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>.
pub const ROLE_NAME_LIMIT: usize = 64;

/// The longest `exceptionsUri` the templates pass (`s3://` and a bucket and key, or `ssm:` and
/// a parameter name), counted in every rule's `InputParameters` budget. S3 keys and SSM names
/// may be longer; a path such as `security/kms-guardrails/exceptions.yaml` is far shorter, and
/// every character given here is taken from the rules' list parameters.
pub const EXCEPTIONS_URI_LIMIT: usize = 128;

/// The stack parameter that says where the exceptions file is (SPEC section 8), the same in
/// every template: `s3://bucket/key` or `ssm:/name`.
pub const EXCEPTIONS_URI_PARAMETER: &str = "ExceptionsUri";

/// What a parameter bound for `InputParameters` may hold besides its length: no `"`, `\` or
/// control character, which JSON would escape, so that a value's length in the JSON text is
/// its own length and [`max_length`] bounds the whole.
pub const VALUE_PATTERN: &str = r#"[^"\\\x00-\x1f]*"#;

/// Why the organization's functions admit `config.amazonaws.com` without `SourceAccount`.
pub const ORGANIZATION_INVOKE_WHY: &str = "\
One invoke permission per function, for config.amazonaws.com from any account, as RDK's
organization template grants it (rdk/template/configRuleOrganization.yaml). A SourceAccount
permission per member account does not scale: 8 per account, so the stack passes
CloudFormation's 500 resources at about 55 accounts and the function policy Lambda's 20 KB at
about 60, and an account that joins later has none; it was removed. Lambda's AddPermission
cannot limit a service principal to an organization: PrincipalOrgID sets aws:PrincipalOrgID,
which a service principal does not carry, and the API takes no other condition (aws:SourceOrgID
cannot be set): https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html,
https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-organization.html.
What stops a foreign account is the function's role, not this door: it may only assume the
member role, only in an account of the organization (aws:ResourceOrgID), and the member role
trusts only this account's kms-guardrails roles from inside the organization
(aws:PrincipalOrgID). A foreign Config rule pointed at the function makes it fail at
AssumeRole (or, without executionRoleName, at its first Config call, which this role may not
make): it reads and reports nothing, and costs an invocation.";

/// `kms-key-policy-via-service-required` → `KmsKeyPolicyViaServiceRequired` (logical ids).
pub fn pascal(id: &str) -> String {
    id.split('-').map(upper_first).collect()
}

/// A parameter's logical name: rule and parameter (`KmsNoWildcardAdminExemptPrincipals`).
pub fn parameter_name(rule: &Rule, name: &str) -> String {
    format!("{}{}", pascal(rule.id), upper_first(name))
}

/// The condition that holds when a rule parameter is given (not empty): the value reaches
/// Config only then, as in AWS's own conformance packs.
pub fn given_condition(rule: &Rule, name: &str) -> String {
    format!("{}Given", parameter_name(rule, name))
}

/// A parameter without a default is optional: it reaches Config only when given (`Fn::If` with
/// `AWS::NoValue`). One with a default is never empty (`MinLength` 1, or `true`/`false`).
pub fn optional(spec: &ParamSpec) -> bool {
    spec.default.is_empty()
}

/// A rule judges only IAM resources: it deploys only where IAM items are recorded.
pub fn iam_only(rule: &Rule) -> bool {
    !rule.resource_types.contains(&ResourceType::KmsKey)
}

/// The longest value a kind can take whatever the budget, when it has one: a boolean, an
/// account id, a list of fixed choices (`, `-separated).
fn fixed_length(kind: ParamKind) -> Option<usize> {
    match kind {
        ParamKind::Bool => Some("false".len()),
        ParamKind::AccountId => Some(12),
        ParamKind::Choices(choices) => {
            Some(choices.iter().map(|c| c.len()).sum::<usize>() + 2 * choices.len().saturating_sub(1))
        }
        _ => None,
    }
}

/// The `MaxLength` of a rule parameter: its kind's own length where it has one; otherwise an
/// equal share of what [`INPUT_PARAMETERS_LIMIT`] leaves once the JSON's punctuation, every
/// name, the fixed-length values and an `executionRoleName` of [`ROLE_NAME_LIMIT`] characters
/// are counted, and an `exceptionsUri` of [`EXCEPTIONS_URI_LIMIT`]. With every parameter at its
/// `MaxLength`, `InputParameters` still fits (a test renders that case).
pub fn max_length(rule: &Rule, spec: &ParamSpec) -> usize {
    if let Some(n) = fixed_length(spec.kind) {
        return n;
    }
    let specs: Vec<&ParamSpec> = rule.parameters.iter().chain(EVERY_RULE).collect();
    // `{` `}`, a comma between entries, and `"name":""` for each.
    let punctuation = 2 + specs.len().saturating_sub(1) + specs.iter().map(|s| s.name.len() + 5).sum::<usize>();
    let fixed: usize = rule.parameters.iter().filter_map(|s| fixed_length(s.kind)).sum::<usize>()
        + ROLE_NAME_LIMIT
        + EXCEPTIONS_URI_LIMIT;
    let shares = rule.parameters.iter().filter(|s| fixed_length(s.kind).is_none()).count().max(1);
    INPUT_PARAMETERS_LIMIT.saturating_sub(punctuation + fixed) / shares
}

fn sub(text: &str) -> Value {
    json!({"Fn::Sub": text})
}

fn reference(name: &str) -> Value {
    json!({"Ref": name})
}

fn no_value() -> Value {
    reference("AWS::NoValue")
}

fn upper_first(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// Skips of checkov checks (checkov reads `Metadata.checkov.skip`); the reasons are in the
/// template's opening comment ([`CHECKOV_WHY`]), written once to keep the template within
/// CloudFormation's 51,200 bytes.
fn checkov_skips(ids: &[&str]) -> Value {
    let skips: Vec<Value> = ids.iter().map(|id| json!({"id": id})).collect();
    json!({"checkov": {"skip": skips}})
}

/// Why each checkov finding left in the function stacks is accepted.
pub const CHECKOV_WHY: &str = "\
checkov findings skipped, and why:
- CKV_AWS_115 (reserved concurrency): Config's events come in bursts (a rule's first
  evaluation, a periodic run); a throttled event is retried by Lambda for up to six hours, then
  lands in FailedEvents. A reservation would take from the account's pool for no gain.
- CKV_AWS_116 (dead-letter queue): failed events go to the on-failure destination
  (EventInvokeConfig to FailedEvents), which keeps the error with the event.
- CKV_AWS_117 (VPC): the functions call only AWS APIs; a VPC would add endpoints or a NAT
  gateway and protect nothing.
- CKV_AWS_158 (log group KMS key): CloudWatch Logs encrypts at rest with its own keys, and the
  functions log verdicts, never a policy document.";

/// The Config calls every rule's function makes: granted once, in the shared policy
/// ([`SHARED_POLICY`]), rather than in each role.
pub fn shared_config_calls(rules: &[&Rule]) -> Vec<&'static str> {
    // No rules, no calls: a template of no rule grants nothing.
    let first: Vec<&'static str> = rules.first().map(|r| r.api_calls()).unwrap_or_default();
    first.into_iter().filter(|c| c.starts_with("config:") && rules.iter().all(|r| r.api_calls().contains(c))).collect()
}

/// The managed policy every function's role has besides its own inline one: what every
/// function does alike (the Config calls every rule makes, sending its failed events) and the
/// read of the exceptions file when one is given. One policy rather than the same statements in
/// every role keeps the per-account stack within CloudFormation's 51,200 bytes.
pub const SHARED_POLICY: &str = "FunctionsShared";

fn shared_policy(config_calls: &[&str]) -> Value {
    let mut statements = Vec::new();
    if !config_calls.is_empty() {
        statements
            .push(json!({"Sid": "ReadAndReportConfig", "Effect": "Allow", "Action": config_calls, "Resource": "*"}));
    }
    statements.push(failed_events_statement());
    // The whole list under `Fn::If`, not an `AWS::NoValue` item in it: IAM validates a managed
    // policy's document as CloudFormation sends it (moto's CloudFormation refuses the item).
    let [s3, ssm] = exceptions_read_statements();
    let with = |read: Value| Value::Array(statements.iter().cloned().chain([read]).collect());
    let statements =
        json!({"Fn::If": [EXCEPTIONS_IN_S3, with(s3), {"Fn::If": [EXCEPTIONS_IN_SSM, with(ssm), statements]}]});
    json!({
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {
            // No ManagedPolicyName: IAM is global, and a fixed name would collide in a second
            // region.
            "Path": "/kms-guardrails/",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
        },
    })
}

/// The role's policy statements: the rule's API calls (resource-scoped where the API allows)
/// but those granted by the shared policy.
fn rule_statements(rule: &Rule, shared: &[&str]) -> Vec<Value> {
    let calls = rule.api_calls();
    let of = |prefix: &str| calls.iter().filter(|c| c.starts_with(prefix)).map(|c| json!(c)).collect::<Vec<_>>();
    let own_config: Vec<Value> =
        calls.iter().filter(|c| c.starts_with("config:") && !shared.contains(c)).map(|c| json!(c)).collect();
    let mut statements = Vec::new();
    if !own_config.is_empty() {
        statements.push(json!({
            "Sid": "ReadAndReportConfig",
            "Effect": "Allow",
            "Action": own_config,
            "Resource": "*",
        }));
    }
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

/// The statements for the calls that get values from AWS ([`Rule::from_aws`]), each only under
/// the condition [`from_aws_condition`] names (the function makes the call only then).
fn from_aws_statements(rule: &Rule) -> Vec<Value> {
    rule.from_aws()
        .map(|f| {
            let statement = json!({
                "Sid": format!("Read{}", upper_first(f.param)),
                "Effect": "Allow",
                "Action": [f.call],
                "Resource": "*",
            });
            json!({"Fn::If": [from_aws_condition(rule, f.param), statement, no_value()]})
        })
        .collect()
}

/// The condition under which a rule's function gets `param`'s value from AWS.
fn from_aws_condition(rule: &Rule, param: &str) -> String {
    format!("{}Fetches{}", pascal(rule.id), upper_first(param))
}

/// The conditions of [`from_aws_statements`]: the flag is `true` (a boolean parameter takes
/// `true` or `false` only) and the parameter that would give the value is empty.
fn from_aws_conditions(rule: &Rule, conditions: &mut Map<String, Value>) {
    for f in rule.from_aws() {
        conditions.insert(
            from_aws_condition(rule, f.param),
            json!({"Fn::And": [
                {"Fn::Equals": [reference(&parameter_name(rule, f.when)), "true"]},
                {"Fn::Equals": [reference(&parameter_name(rule, f.param)), ""]},
            ]}),
        );
    }
}

/// `exceptionsUri` as Config gets it: the stack parameter, only when given.
fn exceptions_uri() -> Value {
    json!({"Fn::If": [EXCEPTIONS_GIVEN, reference(EXCEPTIONS_URI_PARAMETER), no_value()]})
}

/// The conditions: a file is given; it is in S3; it is in SSM.
pub const EXCEPTIONS_GIVEN: &str = "ExceptionsGiven";
/// See [`EXCEPTIONS_GIVEN`].
pub const EXCEPTIONS_IN_S3: &str = "ExceptionsInS3";
/// See [`EXCEPTIONS_GIVEN`].
pub const EXCEPTIONS_IN_SSM: &str = "ExceptionsInSsm";

/// `s3://bucket/key` or `ssm:/name`. No `:` in the key or name, so that splitting the URI at
/// `s3://` or `ssm:` (below) gives the object or the name exactly; no `"`, `\` or control
/// character, which `InputParameters`' JSON would escape.
const EXCEPTIONS_URI_PATTERN: &str =
    r#"(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^":\\\x00-\x1f]+|ssm:/[a-zA-Z0-9_./-]+)?"#;

/// The part of the URI after `prefix`. The prefix is appended first, so that the split has a
/// second element whatever the URI (`Fn::Select` fails on a missing index, and CloudFormation
/// need not skip the branch of an `Fn::If` it does not take).
fn after(prefix: &str) -> Value {
    json!({"Fn::Select": [1, {"Fn::Split": [prefix, {"Fn::Sub": format!("${{{EXCEPTIONS_URI_PARAMETER}}}{prefix}")}]}]})
}

/// What a template does with the exceptions file's location.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExceptionsUse {
    /// Passes it to its Config rules (the conformance pack).
    Rules,
    /// Grants its functions the read (the central functions).
    Read,
    /// Both (the per-account stack).
    RulesAndRead,
}

/// The parameter and the conditions `using` needs.
fn exceptions_parameters(
    parameters: &mut Map<String, Value>,
    conditions: &mut Map<String, Value>,
    using: ExceptionsUse,
) {
    parameters.insert(
        EXCEPTIONS_URI_PARAMETER.into(),
        json!({"Type": "String", "Default": "", "MaxLength": EXCEPTIONS_URI_LIMIT, "AllowedPattern": EXCEPTIONS_URI_PATTERN,
            "Description": "exceptions file (README, Exceptions): s3://bucket/key or ssm:/name in this region"}),
    );
    if using != ExceptionsUse::Read {
        conditions.insert(
            EXCEPTIONS_GIVEN.into(),
            json!({"Fn::Not": [{"Fn::Equals": [reference(EXCEPTIONS_URI_PARAMETER), ""]}]}),
        );
    }
    if using == ExceptionsUse::Rules {
        return;
    }
    // The scheme: what comes before the first `://` (or `:`), the separator appended so that
    // even an empty URI splits.
    let scheme = |separator: &str| json!({"Fn::Select": [0, {"Fn::Split": [separator, {"Fn::Sub": format!("${{{EXCEPTIONS_URI_PARAMETER}}}{separator}")}]}]});
    conditions.insert(EXCEPTIONS_IN_S3.into(), json!({"Fn::Equals": [scheme("://"), "s3"]}));
    conditions.insert(EXCEPTIONS_IN_SSM.into(), json!({"Fn::Equals": [scheme(":"), "ssm"]}));
}

/// The read of the exceptions file, with the function's own role: s3:GetObject on that object
/// or ssm:GetParameter on that parameter ([`EXCEPTIONS_READ_CALLS`]); the shared policy holds
/// the one whose condition holds.
fn exceptions_read_statements() -> [Value; 2] {
    let [s3, ssm] = EXCEPTIONS_READ_CALLS;
    [
        json!({
            "Sid": "ReadExceptionsObject",
            "Effect": "Allow",
            "Action": [s3],
            "Resource": {"Fn::Sub": ["arn:${AWS::Partition}:s3:::${Object}", {"Object": after("s3://")}]},
        }),
        json!({
            "Sid": "ReadExceptionsParameter",
            "Effect": "Allow",
            "Action": [ssm],
            "Resource": {"Fn::Sub": ["arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${Name}", {"Name": after("ssm:")}]},
        }),
    ]
}

fn log_statement(log_group: &str) -> Value {
    json!({
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": {"Fn::GetAtt": [log_group, "Arn"]},
    })
}

/// Lambda sends a failed asynchronous event to the on-failure destination with the function's
/// own role: <https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html>.
fn failed_events_statement() -> Value {
    json!({
        "Sid": "SendFailedEvents",
        "Effect": "Allow",
        "Action": ["sqs:SendMessage"],
        "Resource": {"Fn::GetAtt": [FAILED_EVENTS, "Arn"]},
    })
}

/// The queue that keeps the events every function failed on, for replay.
pub const FAILED_EVENTS: &str = "FailedEvents";

/// The on-failure queue and its alarm. Config invokes a rule's function asynchronously
/// (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-services.html>), so an event that fails
/// every attempt would otherwise be dropped.
fn failed_events_resources(
    resources: &mut Map<String, Value>,
    parameters: &mut Map<String, Value>,
    conditions: &mut Map<String, Value>,
) {
    parameters.insert(
        "AlarmTopicArn".into(),
        json!({"Type": "String", "Default": "", "AllowedPattern": "(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256})?",
            "Description": "SNS topic the failed-events alarm notifies (empty: the alarm only shows in CloudWatch)"}),
    );
    conditions.insert("HasAlarmTopic".into(), json!({"Fn::Not": [{"Fn::Equals": [reference("AlarmTopicArn"), ""]}]}));
    resources.insert(
        FAILED_EVENTS.into(),
        json!({
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                // Encrypted at rest with the account's AWS managed key for SQS: the events
                // carry configuration items. Its key policy admits every principal of the
                // account through SQS, so the functions' roles need no KMS permission, and there
                // is no customer managed key to govern.
                "KmsMasterKeyId": "alias/aws/sqs",
                // SQS's longest retention: two weeks to replay an event.
                "MessageRetentionPeriod": 1_209_600,
            },
        }),
    );
    resources.insert(
        "FailedEventsAlarm".into(),
        json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": "kms-guardrails: a rule function failed on an event; it waits in the FailedEvents queue for replay",
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [FAILED_EVENTS, "QueueName"]}}],
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": {"Fn::If": ["HasAlarmTopic", [reference("AlarmTopicArn")], no_value()]},
            },
        }),
    );
}

/// A function's log group, role, function and on-failure destination.
fn function_resources(
    rule: &Rule,
    resources: &mut Map<String, Value>,
    condition: Option<&str>,
    statements: Vec<Value>,
) {
    let p = pascal(rule.id);
    let (role, function, logs) = (format!("{p}Role"), format!("{p}Function"), format!("{p}LogGroup"));
    let mut all = statements;
    all.push(log_statement(&logs));
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
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub(&format!("/aws/lambda/${{RuleNamePrefix}}{}", rule.id)),
                "RetentionInDays": reference("LogRetentionInDays"),
            },
            "Metadata": checkov_skips(&["CKV_AWS_158"]),
        })),
    );
    resources.insert(
        role.clone(),
        with_condition(json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                // No RoleName: IAM is global, and a fixed name would collide in a second region.
                "Path": "/kms-guardrails/",
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
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": all},
                }],
                "ManagedPolicyArns": [reference(SHARED_POLICY)],
            },
        })),
    );
    let size = rule.function;
    resources.insert(
        function.clone(),
        with_condition(json!({
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": sub(&format!("${{RuleNamePrefix}}{}", rule.id)),
                "Runtime": "provided.al2023",
                "Architectures": ["arm64"],
                "Handler": "bootstrap",
                "Code": {"S3Bucket": reference("CodeBucket"), "S3Key": sub(&format!("${{CodeKeyPrefix}}{}.zip", rule.id))},
                "Role": {"Fn::GetAtt": [role, "Arn"]},
                "MemorySize": size.memory_mb,
                "Timeout": size.timeout_seconds,
                "LoggingConfig": {"LogGroup": reference(&logs), "LogFormat": "JSON"},
            },
            "Metadata": checkov_skips(&["CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"]),
        })),
    );
    resources.insert(
        format!("{p}OnFailure"),
        with_condition(json!({
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": reference(&function),
                "Qualifier": "$LATEST",
                // Lambda's default, written down: two retries, then the queue.
                "MaximumRetryAttempts": 2,
                "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [FAILED_EVENTS, "Arn"]}}},
            },
        })),
    );
}

fn config_rule(rule: &Rule, source_identifier: Value, extra_parameters: &[(&str, Value)]) -> Value {
    let mut source_details = vec![
        json!({"EventSource": "aws.config", "MessageType": "ConfigurationItemChangeNotification"}),
        json!({"EventSource": "aws.config", "MessageType": "OversizedConfigurationItemChangeNotification"}),
    ];
    if rule.periodic() {
        source_details.push(json!({"EventSource": "aws.config", "MessageType": "ScheduledNotification", "MaximumExecutionFrequency": "TwentyFour_Hours"}));
    }
    let mut input = Map::new();
    for spec in rule.parameters {
        let value = reference(&parameter_name(rule, spec.name));
        let value = match optional(spec) {
            true => json!({"Fn::If": [given_condition(rule, spec.name), value, no_value()]}),
            false => value,
        };
        input.insert(spec.name.into(), value);
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

/// The rules' parameters, each with its `MaxLength` and what it may hold, and the conditions
/// under which each reaches Config.
fn rule_parameters(rules: &[&Rule], parameters: &mut Map<String, Value>, conditions: &mut Map<String, Value>) {
    for rule in rules {
        for spec in rule.parameters {
            let name = parameter_name(rule, spec.name);
            // The parameter's name says the rule.
            let description = spec.description;
            let mut parameter = match spec.kind {
                ParamKind::Bool => {
                    json!({"Type": "String", "Default": spec.default, "AllowedValues": ["true", "false"], "Description": description})
                }
                ParamKind::AccountId => {
                    json!({"Type": "String", "Default": spec.default, "MaxLength": max_length(rule, spec), "AllowedPattern": "([0-9]{12})?", "Description": description})
                }
                _ => {
                    json!({"Type": "String", "Default": spec.default, "MaxLength": max_length(rule, spec), "AllowedPattern": VALUE_PATTERN, "Description": description})
                }
            };
            match (optional(spec), parameter.as_object_mut()) {
                (true, _) => {
                    conditions.insert(
                        given_condition(rule, spec.name),
                        json!({"Fn::Not": [{"Fn::Equals": [reference(&name), ""]}]}),
                    );
                }
                // A parameter with a default is never empty: it always reaches Config.
                (false, Some(p)) if spec.kind != ParamKind::Bool => {
                    p.insert("MinLength".into(), json!(1));
                }
                (false, _) => {}
            }
            parameters.insert(name, parameter);
        }
    }
}

fn common_parameters(parameters: &mut Map<String, Value>, functions: bool) {
    parameters.insert(
        "RuleNamePrefix".into(),
        json!({"Type": "String", "Default": "", "MaxLength": 20, "AllowedPattern": "[A-Za-z0-9-]*",
            "Description": "prefix of every Config rule and function name (names are the rule ids otherwise)"}),
    );
    if functions {
        parameters.insert(
            "CodeBucket".into(),
            json!({"Type": "String", "MinLength": 3, "MaxLength": 63, "Description": "S3 bucket holding the rule zips, in this stack's region (Lambda reads code from its own region)"}),
        );
        parameters.insert(
            "CodeKeyPrefix".into(),
            json!({"Type": "String", "Default": "kms-guardrails/", "Description": "key prefix of the zips: <prefix><rule-id>.zip"}),
        );
        parameters.insert(
            "LogRetentionInDays".into(),
            json!({"Type": "Number", "Default": 90, "Description": "how long the functions' logs are kept",
                "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]}),
        );
    }
}

fn global_resources_region(parameters: &mut Map<String, Value>, conditions: &mut Map<String, Value>) {
    parameters.insert(
        "GlobalResourcesRegion".into(),
        json!({"Type": "String", "Default": "us-east-1", "AllowedPattern": "[a-z]{2}(-[a-z]+)+-[0-9]",
            "Description": "the one region whose Config recorder records IAM (global) resources: IAM-only rules deploy there only"}),
    );
    conditions.insert(
        "IsGlobalResourcesRegion".into(),
        json!({"Fn::Equals": [reference("AWS::Region"), reference("GlobalResourcesRegion")]}),
    );
}

/// The per-account stack.
pub fn rules_stack(rules: &[&Rule]) -> Value {
    let mut parameters = Map::new();
    let mut conditions = Map::new();
    common_parameters(&mut parameters, true);
    global_resources_region(&mut parameters, &mut conditions);
    let mut resources = Map::new();
    exceptions_parameters(&mut parameters, &mut conditions, ExceptionsUse::RulesAndRead);
    let shared = shared_config_calls(rules);
    resources.insert(SHARED_POLICY.into(), shared_policy(&shared));
    failed_events_resources(&mut resources, &mut parameters, &mut conditions);
    for rule in rules {
        let p = pascal(rule.id);
        parameters.insert(format!("Deploy{p}"), json!({"Type": "String", "Default": "true", "AllowedValues": ["true", "false"], "Description": format!("deploy {}", rule.id)}));
        let chosen = json!({"Fn::Equals": [reference(&format!("Deploy{p}")), "true"]});
        let condition = match iam_only(rule) {
            true => json!({"Fn::And": [chosen, {"Condition": "IsGlobalResourcesRegion"}]}),
            false => chosen,
        };
        let name = format!("Deploy{p}Here");
        conditions.insert(name.clone(), condition);
        from_aws_conditions(rule, &mut conditions);
        let mut statements = rule_statements(rule, &shared);
        statements.extend(from_aws_statements(rule));
        function_resources(rule, &mut resources, Some(&name), statements);
        resources.insert(
            format!("{p}Permission"),
            json!({"Type": "AWS::Lambda::Permission", "Condition": name, "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": reference(&format!("{p}Function")),
                "Principal": "config.amazonaws.com",
                "SourceAccount": reference("AWS::AccountId"),
            }}),
        );
        let mut rule_resource = config_rule(
            rule,
            json!({"Fn::GetAtt": [format!("{p}Function"), "Arn"]}),
            &[(EXCEPTIONS_URI.name, exceptions_uri())],
        );
        if let Some(o) = rule_resource.as_object_mut() {
            o.insert("Condition".into(), json!(name));
            o.insert("DependsOn".into(), json!(format!("{p}Permission")));
        }
        resources.insert(format!("{p}ConfigRule"), rule_resource);
    }
    rule_parameters(rules, &mut parameters, &mut conditions);
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
    let mut conditions = Map::new();
    common_parameters(&mut parameters, true);
    parameters.insert("OrganizationId".into(), organization_id_parameter());
    parameters.insert("MemberRoleName".into(), member_role_name_parameter());
    let mut resources = Map::new();
    exceptions_parameters(&mut parameters, &mut conditions, ExceptionsUse::Read);
    // This role makes no Config call itself (the member role does).
    resources.insert(SHARED_POLICY.into(), shared_policy(&[]));
    failed_events_resources(&mut resources, &mut parameters, &mut conditions);
    for rule in rules {
        let p = pascal(rule.id);
        // Every call of an organization deployment runs as the member role of the event's
        // account (executionRoleName), PutEvaluations included: this role makes none itself.
        let assume = json!({
            "Sid": "AssumeMemberRoleInsideTheOrganization",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": sub("arn:${AWS::Partition}:iam::*:role/${MemberRoleName}"),
            "Condition": {"StringEquals": {"aws:ResourceOrgID": reference("OrganizationId")}},
        });
        // The exceptions file is read with this role (the shared policy), not the member role:
        // one file in this account serves the organization, and no member account can write
        // its own.
        function_resources(rule, &mut resources, None, vec![assume]);
        resources.insert(
            format!("{p}Permission"),
            json!({
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": reference(&format!("{p}Function")),
                    "Principal": "config.amazonaws.com",
                },
                "Metadata": checkov_skips(&["CKV_AWS_364"]),
            }),
        );
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "kms-guardrails: the rule functions of an organization deployment, in the central account (generated from the rules; do not edit)",
        "Parameters": parameters,
        "Conditions": conditions,
        "Resources": resources,
    })
}

fn organization_id_parameter() -> Value {
    json!({"Type": "String", "AllowedPattern": "o-[a-z0-9]{10,32}", "Description": "the organization (o-...)"})
}

fn member_role_name_parameter() -> Value {
    json!({"Type": "String", "Default": "kms-guardrails-member", "MinLength": 1, "MaxLength": ROLE_NAME_LIMIT,
        "AllowedPattern": "[A-Za-z0-9+=,.@_-]+",
        "Description": "the role member-execution-role.yaml creates in every account; the functions assume it by this name"})
}

/// The organization conformance pack: Config rules only, pointing at the central functions.
pub fn conformance_pack(rules: &[&Rule]) -> Value {
    let mut parameters = Map::new();
    let mut conditions = Map::new();
    common_parameters(&mut parameters, false);
    global_resources_region(&mut parameters, &mut conditions);
    parameters.insert("CentralAccountId".into(), json!({"Type": "String", "AllowedPattern": "[0-9]{12}", "Description": "the account of central-functions.yaml"}));
    parameters.insert("MemberRoleName".into(), member_role_name_parameter());
    // A pack holds no role: central-functions.yaml, given the same value, grants the read.
    exceptions_parameters(&mut parameters, &mut conditions, ExceptionsUse::Rules);
    rule_parameters(rules, &mut parameters, &mut conditions);
    let mut resources = Map::new();
    for rule in rules {
        let arn = sub(&format!(
            "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{CentralAccountId}}:function:${{RuleNamePrefix}}{}",
            rule.id
        ));
        let given = [("executionRoleName", reference("MemberRoleName")), (EXCEPTIONS_URI.name, exceptions_uri())];
        let mut resource = config_rule(rule, arn, &given);
        if let (true, Some(o)) = (iam_only(rule), resource.as_object_mut()) {
            o.insert("Condition".into(), json!("IsGlobalResourcesRegion"));
        }
        resources.insert(format!("{}ConfigRule", pascal(rule.id)), resource);
    }
    json!({"Parameters": parameters, "Conditions": conditions, "Resources": resources})
}

/// The role the central functions assume in each member account.
pub fn member_role(rules: &[&Rule]) -> Value {
    let mut calls: Vec<&str> = rules.iter().flat_map(|r| r.api_calls()).collect();
    calls.sort_unstable();
    calls.dedup();
    let of = |prefix: &str| calls.iter().filter(|c| c.starts_with(prefix)).map(|c| json!(c)).collect::<Vec<_>>();
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "kms-guardrails: the role the central rule functions assume in an account of the organization (StackSets, and a plain stack in the management account; one region per account; generated from the rules; do not edit)",
        "Parameters": {
            "CentralAccountId": {"Type": "String", "AllowedPattern": "[0-9]{12}", "Description": "the account of central-functions.yaml"},
            "OrganizationId": organization_id_parameter(),
            "MemberRoleName": member_role_name_parameter(),
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

/// A comment written above the key at a path (`Resources/FailedEvents`; `""` is the top of the
/// file): why a template is the way it is, where the reader of the YAML looks for it.
pub type Comments = &'static [(&'static str, &'static str)];

const RULES_COMMENTS: Comments = &[
    ("", "One account and one region: deploy it in every region of the account, each with the zips in a\nbucket of that region (README, Deploy). Nothing here has a fixed IAM name."),
    ("", CHECKOV_WHY),
    ("Conditions/IsGlobalResourcesRegion", "IAM items are recorded once, in the region whose recorder records global resources\n(SPEC section 5): IAM-only rules deploy there only, key rules everywhere."),
    ("Resources/FailedEvents", "Config invokes the functions asynchronously: an event that fails Lambda's retries lands here\n(EventInvokeConfig OnFailure) for replay, and FailedEventsAlarm fires.\nhttps://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html"),
];

const CENTRAL_COMMENTS: Comments = &[
    ("", "The functions of an organization deployment: one stack per region in the central account,\nwhatever the number of accounts (README, Deploy). Nothing here has a fixed IAM name."),
    ("", CHECKOV_WHY),
    ("", "- CKV_AWS_364 (invoke permission without SourceArn or SourceAccount): see above Resources."),
    ("Resources", ORGANIZATION_INVOKE_WHY),
];

const PACK_COMMENTS: Comments = &[
    ("", "Organization conformance pack: Config rules only, pointing at the central functions.\nOptional parameters reach Config only when given (Fn::If with AWS::NoValue), as in AWS's\nown packs; MaxLength keeps InputParameters within Config's 1,024 characters."),
    ("Conditions/IsGlobalResourcesRegion", "IAM items are recorded once, in the region that records global resources: IAM-only rules\ndeploy there only (SPEC section 5)."),
];

const MEMBER_COMMENTS: Comments = &[
    ("", "The role the central functions assume in an account: deploy it once per account (IAM is\nglobal), with a service-managed StackSet in one region, and as a plain stack in the\nmanagement account, where service-managed StackSets never deploy:\nhttps://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-manage-auto-deployment.html"),
    ("Resources/MemberRole", "The one fixed IAM name: the functions assume role/<executionRoleName> in the event's account\n(SPEC section 5). One stack per account, so it cannot collide."),
];

/// YAML for a JSON value: block style, keys sorted and bare, strings double-quoted (JSON
/// escapes are valid YAML), so the text is stable and reviewable; `comments` go above their keys.
pub fn to_yaml(value: &Value, comments: Comments) -> String {
    let mut out = String::from("# Generated by `cargo xtask templates`; do not edit.\n");
    let writer = Writer { comments };
    writer.comment("", "", &mut out);
    writer.emit(value, 0, "", &mut out);
    out
}

struct Writer {
    comments: Comments,
}

impl Writer {
    fn comment(&self, path: &str, pad: &str, out: &mut String) {
        for (_, text) in self.comments.iter().filter(|(p, _)| *p == path) {
            for line in text.lines() {
                out.push_str(&format!("{pad}# {line}\n"));
            }
        }
    }

    fn emit(&self, value: &Value, indent: usize, path: &str, out: &mut String) {
        let pad = " ".repeat(indent);
        match value {
            Value::Object(map) => {
                // Sorted here, not by the map: serde_json keeps insertion order when another
                // crate in the build enables `preserve_order`, and the text must not depend on it.
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (k, v) in entries {
                    let here = match path.is_empty() {
                        true => k.clone(),
                        false => format!("{path}/{k}"),
                    };
                    self.comment(&here, &pad, out);
                    let head = format!("{pad}{}: ", key(k));
                    match scalar(v).or_else(|| flow(v, INLINE_WIDTH.saturating_sub(head.len()))) {
                        Some(s) => out.push_str(&format!("{head}{s}\n")),
                        None => {
                            out.push_str(&format!("{pad}{}:\n", key(k)));
                            self.emit(v, indent + 2, &here, out);
                        }
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    match scalar(item).or_else(|| flow(item, INLINE_WIDTH.saturating_sub(indent + 2))) {
                        Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                        None => {
                            // The first line of the item goes after the dash.
                            let mut inner = String::new();
                            self.emit(item, indent + 2, path, &mut inner);
                            let trimmed = inner.trim_start_matches(' ');
                            out.push_str(&format!("{pad}- {trimmed}"));
                        }
                    }
                }
            }
            other => out.push_str(&format!("{pad}{}\n", scalar(other).unwrap_or_default())),
        }
    }
}

/// The widest line a collection is written on in flow style (JSON, which is YAML): the
/// templates must stay within CloudFormation's 51,200 bytes, and block style spends most of
/// them on indentation.
const INLINE_WIDTH: usize = 160;

/// `value` in flow style when it fits in `width` characters: JSON with sorted keys.
fn flow(value: &Value, width: usize) -> Option<String> {
    let text = compact(value);
    (text.len() <= width).then_some(text)
}

fn compact(value: &Value) -> String {
    match value {
        Value::Array(items) => format!("[{}]", items.iter().map(compact).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> =
                entries.iter().map(|(k, v)| format!("{}: {}", Value::String((*k).clone()), compact(v))).collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// A string YAML reads as that same string without quotes: it starts with a letter or `/`,
/// holds only characters that mean nothing to YAML outside flow collections, and is none of
/// the words YAML 1.1 reads as booleans or null. Anything else is double-quoted (JSON escapes).
fn plain(s: &str) -> bool {
    const WORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "y", "n", "null"];
    let first = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
    first
        && s.chars().all(|c| c.is_ascii_alphanumeric() || ":/_.${}*,=@+-".contains(c))
        && !s.ends_with(':')
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if plain(s) => Some(s.clone()),
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
