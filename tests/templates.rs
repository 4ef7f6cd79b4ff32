//! The CloudFormation templates against the code: the committed files are what the rules'
//! metadata generates, every rule has its Config rule with its scope, parameters and defaults,
//! every function its memory and timeout, every role exactly the calls its function makes in
//! that deployment (no `*` actions), and nothing but the member role has a fixed IAM name.
//! The quotas are in `template_quotas.rs`, the deployment into moto's CloudFormation in
//! `template_moto.rs`; cfn-lint and checkov check the same files in `scripts/test.sh`.

use std::collections::BTreeSet;

use kms_guardrails::ALL;
use serde_json::Value;
use shared::rule::EXCEPTIONS_READ_CALLS;
use xtask::templates::{self, parameter_name, pascal};

const CLOUDFORMATION: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../cloudformation");

#[test]
fn committed_templates_are_the_generated_ones() {
    for template in templates::all(ALL) {
        let path = format!("{CLOUDFORMATION}/{}", template.name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(committed == template.text, "{path} is stale: run `cargo xtask templates`");
    }
}

/// Every action a role's policies may grant, its inline policy and the managed policies of
/// `template` it has (a statement under `Fn::If` counts as granted).
fn actions_in(template: &Value, role: &Value) -> BTreeSet<String> {
    let mut all = actions(role);
    for arn in role["Properties"]["ManagedPolicyArns"].as_array().into_iter().flatten() {
        let policy = &template["Resources"][arn["Ref"].as_str().expect("a managed policy of the template")];
        all.extend(statement_actions(&policy["Properties"]["PolicyDocument"]["Statement"]));
    }
    all
}

/// Every action a role's inline policy may grant (a statement under `Fn::If` counts as granted).
fn actions(role: &Value) -> BTreeSet<String> {
    statement_actions(&role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"])
}

fn statement_actions(statements: &Value) -> BTreeSet<String> {
    // A list chosen by `Fn::If`: every branch may be granted.
    if let Some(branches) = statements.get("Fn::If") {
        return statement_actions(&branches[1]).into_iter().chain(statement_actions(&branches[2])).collect();
    }
    statements
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| s.get("Fn::If").map_or(s, |branches| &branches[1]))
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(list) => list.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn every_rule_has_its_config_rule_scope_parameters_and_exact_permissions() {
    let stack = templates::rules_stack(ALL);
    let pack = templates::conformance_pack(ALL);
    for rule in ALL {
        let p = pascal(rule.id);
        for template in [&stack, &pack] {
            let config_rule = &template["Resources"][format!("{p}ConfigRule")];
            assert_eq!(config_rule["Type"], "AWS::Config::ConfigRule", "{}", rule.id);
            let props = &config_rule["Properties"];
            assert_eq!(props["ConfigRuleName"]["Fn::Sub"], format!("${{RuleNamePrefix}}{}", rule.id));
            let scope: Vec<&str> = props["Scope"]["ComplianceResourceTypes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            let types: Vec<&str> = rule.resource_types.iter().map(|t| t.as_str()).collect();
            assert_eq!(scope, types, "{}", rule.id);
            let messages: Vec<&str> = props["Source"]["SourceDetails"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["MessageType"].as_str().unwrap())
                .collect();
            assert!(
                messages.contains(&"ConfigurationItemChangeNotification")
                    && messages.contains(&"OversizedConfigurationItemChangeNotification")
            );
            assert_eq!(messages.contains(&"ScheduledNotification"), rule.periodic(), "{}", rule.id);
            for spec in rule.parameters {
                let name = parameter_name(rule, spec.name);
                let value = &props["InputParameters"][spec.name];
                // An optional parameter reaches Config only when given, as in AWS's packs.
                let reference = match templates::optional(spec) {
                    true => {
                        let branches = &value["Fn::If"];
                        assert_eq!(branches[0], templates::given_condition(rule, spec.name), "{name}");
                        assert_eq!(branches[2]["Ref"], "AWS::NoValue", "{name}");
                        &branches[1]
                    }
                    false => value,
                };
                assert_eq!(reference["Ref"], name, "{}", rule.id);
                assert_eq!(template["Parameters"][&name]["Default"], spec.default, "{name}");
            }
            let in_global_region_only = config_rule["Condition"] == "IsGlobalResourcesRegion"
                || config_rule["Condition"]
                    .as_str()
                    .is_some_and(|c| template["Conditions"][c].to_string().contains("IsGlobalResourcesRegion"));
            assert_eq!(in_global_region_only, templates::iam_only(rule), "{}", rule.id);
        }
        let role = &stack["Resources"][format!("{p}Role")];
        let mut expected: BTreeSet<String> = rule.api_calls().into_iter().map(str::to_owned).collect();
        expected.extend(["logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"].map(str::to_owned));
        // Reading the exceptions file, with the function's own role (under its parameter).
        expected.extend(EXCEPTIONS_READ_CALLS.map(str::to_owned));
        assert_eq!(actions_in(&stack, role), expected, "{}", rule.id);
        assert!(actions_in(&stack, role).iter().all(|a| !a.contains('*')), "{}", rule.id);
        let central = templates::central_functions(ALL);
        for template in [&stack, &central] {
            let function = &template["Resources"][format!("{p}Function")]["Properties"];
            assert_eq!(
                (function["Runtime"].as_str(), function["Handler"].as_str()),
                (Some("provided.al2023"), Some("bootstrap"))
            );
            assert_eq!(function["Architectures"][0], "arm64");
            assert_eq!(function["MemorySize"], rule.function.memory_mb, "{}", rule.id);
            assert_eq!(function["Timeout"], rule.function.timeout_seconds, "{}", rule.id);
            let on_failure = &template["Resources"][format!("{p}OnFailure")]["Properties"];
            assert_eq!(on_failure["FunctionName"]["Ref"], format!("{p}Function"));
            assert_eq!(on_failure["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0], "FailedEvents");
        }
        let permission = &stack["Resources"][format!("{p}Permission")]["Properties"];
        assert_eq!(permission["Principal"], "config.amazonaws.com");
        assert_eq!(permission["SourceAccount"]["Ref"], "AWS::AccountId");
        // The organization's functions: one permission each, whatever the number of accounts;
        // their roles only assume the member role (every call runs as it), write their logs
        // and send failed events.
        let central_permission = &central["Resources"][format!("{p}Permission")]["Properties"];
        assert_eq!(central_permission["Principal"], "config.amazonaws.com");
        assert!(central_permission.get("SourceAccount").is_none());
        let central_role = &central["Resources"][format!("{p}Role")];
        let mut only: BTreeSet<String> =
            ["logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage", "sts:AssumeRole"]
                .map(str::to_owned)
                .into();
        only.extend(EXCEPTIONS_READ_CALLS.map(str::to_owned));
        assert_eq!(actions_in(&central, central_role), only, "{}", rule.id);
    }
}

/// Periodic rules run over every recorded resource of an account: Lambda's longest timeout;
/// every size is one Lambda accepts.
#[test]
fn function_sizes_are_lambdas_and_periodic_rules_get_the_longest_timeout() {
    for rule in ALL {
        let size = rule.function;
        assert!((128..=10_240).contains(&size.memory_mb), "{}", rule.id);
        assert!((1..=900).contains(&size.timeout_seconds), "{}", rule.id);
        assert_eq!(size.timeout_seconds == 900, rule.periodic(), "{}", rule.id);
    }
}

/// IAM is global: a fixed role name collides when the stack deploys in a second region. Only
/// the member role has one (the functions assume it by name), and its stack is deployed once
/// per account.
#[test]
fn no_fixed_iam_names_but_the_member_role() {
    let member = templates::member_role(ALL);
    for template in [templates::rules_stack(ALL), templates::central_functions(ALL), member.clone()] {
        for (id, resource) in template["Resources"].as_object().unwrap() {
            let named = resource["Properties"].get("RoleName").is_some();
            assert_eq!(named, template == member, "{id}");
        }
    }
}

/// The union of the rules' declared calls is exactly what the Lambda shell calls.
#[test]
fn declared_api_calls_are_the_calls_the_runtime_makes() {
    // Every file of the runtime module tree, whitespace removed, so that calls split across
    // lines (`clients\n.iam\n.get_policy()`) read whole.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src/runtime");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with("mod.rs")), "the runtime module tree is in {}", dir.display());
    let source: String =
        files.iter().map(|f| std::fs::read_to_string(f).unwrap()).collect::<String>().split_whitespace().collect();
    let mut called = BTreeSet::new();
    for service in ["config", "iam", "kms", "organizations", "s3", "ssm"] {
        let needle = format!("clients.{service}.");
        for (i, _) in source.match_indices(&needle) {
            let op: String =
                source[i + needle.len()..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            let pascal_op: String = op.split('_').map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect();
            called.insert(format!("{service}:{pascal_op}"));
        }
    }
    let mut declared: BTreeSet<String> = ALL.iter().flat_map(|r| r.api_calls()).map(str::to_owned).collect();
    declared.extend(EXCEPTIONS_READ_CALLS.map(str::to_owned));
    assert_eq!(called, declared);
}

#[test]
fn the_conformance_pack_fits_configs_template_limit() {
    let text = std::fs::read_to_string(format!("{CLOUDFORMATION}/conformance-pack.yaml")).unwrap();
    assert!(text.len() < 51_200, "conformance pack is {} bytes; Config accepts at most 51,200", text.len());
    let pack = templates::conformance_pack(ALL);
    let types: BTreeSet<&str> =
        pack["Resources"].as_object().unwrap().values().map(|r| r["Type"].as_str().unwrap()).collect();
    assert_eq!(types, BTreeSet::from(["AWS::Config::ConfigRule"]), "ConfigRule resources only");
}

/// A call that gets a value from AWS (the management account) is granted in the per-account
/// stack only when the rule's parameters make the function call it: the flag set and the
/// parameter that would give the value empty. The member role, which the organization's
/// functions act through, grants it to the rules that may make it; the central roles never.
#[test]
fn calls_that_get_values_from_aws_are_granted_only_under_their_parameters() {
    let stack = templates::rules_stack(ALL);
    let central = templates::central_functions(ALL);
    let member = templates::member_role(ALL);
    let member_actions = actions(&member["Resources"]["MemberRole"]);
    for rule in ALL {
        let p = pascal(rule.id);
        let from_aws: Vec<_> = rule.from_aws().collect();
        let statements = stack["Resources"][format!("{p}Role")]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"]
            .as_array()
            .unwrap()
            .clone();
        let conditional: Vec<&Value> = statements.iter().filter_map(|s| s.get("Fn::If")).collect();
        assert_eq!(conditional.len(), from_aws.len(), "{}", rule.id);
        for (f, branches) in from_aws.iter().zip(conditional) {
            assert_eq!(branches[1]["Action"], serde_json::json!([f.call]), "{}", rule.id);
            assert_eq!(branches[2]["Ref"], "AWS::NoValue");
            let condition = &stack["Conditions"][branches[0].as_str().unwrap()];
            let text = condition.to_string();
            assert!(
                text.contains(&parameter_name(rule, f.when)) && text.contains(&parameter_name(rule, f.param)),
                "{text}"
            );
            assert!(!actions_in(&central, &central["Resources"][format!("{p}Role")]).contains(f.call), "{}", rule.id);
            assert!(member_actions.contains(f.call), "{}", rule.id);
        }
    }
    let callers: Vec<&str> = ALL.iter().filter(|r| r.from_aws().next().is_some()).map(|r| r.id).collect();
    assert_eq!(callers, ["iam-inline-policy-blocked-kms-actions"], "only that rule asks AWS Organizations");
}

/// The exceptions file is read with the function's own role: in the per-account stack and the
/// central functions' stack, every role has the shared policy, which grants s3:GetObject on the
/// one object or ssm:GetParameter on the one parameter, only when a file is given; the member
/// role, through which the organization's other calls run, never. Every Config rule gets
/// `exceptionsUri` only when a file is given.
#[test]
fn the_exceptions_file_is_granted_to_the_functions_own_role_only_when_given() {
    use crate::cfn::{self, Place, Resource};
    use std::collections::BTreeMap;
    let place = Place { account: "111122223333", region: "us-east-1" };
    let stack = templates::rules_stack(ALL);
    let central = templates::central_functions(ALL);
    let pack = templates::conformance_pack(ALL);
    let shared = templates::SHARED_POLICY;
    // The reads the shared policy grants, and that every role has it.
    let reads = |resources: &BTreeMap<String, Resource>| -> Vec<(String, String)> {
        for rule in ALL {
            let role = &resources[&format!("{}Role", pascal(rule.id))];
            assert_eq!(role.properties["ManagedPolicyArns"], serde_json::json!([shared]), "{}", rule.id);
        }
        resources[shared].properties["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["Sid"].as_str().unwrap().starts_with("ReadExceptions"))
            .map(|s| (s["Action"][0].as_str().unwrap().to_owned(), s["Resource"].as_str().unwrap().to_owned()))
            .collect()
    };
    let code = ("CodeBucket", "b-code");
    let org = ("OrganizationId", "o-exampleorg1");
    for (uri, grant) in [
        (
            "s3://org-security/kms-guardrails/exceptions.yaml",
            ("s3:GetObject", "arn:aws:s3:::org-security/kms-guardrails/exceptions.yaml"),
        ),
        (
            "ssm:/kms-guardrails/exceptions",
            ("ssm:GetParameter", "arn:aws:ssm:us-east-1:111122223333:parameter/kms-guardrails/exceptions"),
        ),
    ] {
        let given = ("ExceptionsUri", uri);
        let grant = (grant.0.to_owned(), grant.1.to_owned());
        let resources = cfn::render(&stack, &[code, given], &place).unwrap();
        let central_resources = cfn::render(&central, &[code, org, given], &place).unwrap();
        let pack_rules = cfn::render(&pack, &[("CentralAccountId", "999988887777"), given], &place).unwrap();
        assert_eq!(reads(&resources), std::slice::from_ref(&grant), "{uri}");
        assert_eq!(reads(&central_resources), std::slice::from_ref(&grant), "{uri}");
        for rule in ALL {
            let id = format!("{}ConfigRule", pascal(rule.id));
            assert_eq!(resources[&id].properties["InputParameters"]["exceptionsUri"], uri, "{}", rule.id);
            assert_eq!(pack_rules[&id].properties["InputParameters"]["exceptionsUri"], uri, "{}", rule.id);
        }
    }
    let none = cfn::render(&stack, &[code], &place).unwrap();
    assert!(reads(&none).is_empty(), "no file, no read");
    for rule in ALL {
        let id = format!("{}ConfigRule", pascal(rule.id));
        assert!(none[&id].properties["InputParameters"].get("exceptionsUri").is_none(), "{}", rule.id);
    }
    let member = templates::member_role(ALL);
    for call in EXCEPTIONS_READ_CALLS {
        assert!(!actions(&member["Resources"]["MemberRole"]).contains(call));
    }
}
