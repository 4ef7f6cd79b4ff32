//! The deployment for an organization of 1,000 accounts in every region, rendered as
//! CloudFormation would (`cfn.rs`), against every quota SPEC section 5 names:
//!
//! - CloudFormation: 500 resources a stack, 200 parameters a template, a template body of
//!   51,200 bytes, 4,096 bytes a parameter value
//!   (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html>);
//! - Lambda: a function's resource-based policy of 20 KB
//!   (<https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>), a function
//!   name of 64 characters;
//! - Config: a conformance pack body of 51,200 bytes and 60 parameters
//!   (<https://docs.aws.amazon.com/config/latest/APIReference/API_PutOrganizationConformancePack.html>),
//!   `InputParameters` of 1,024 characters, a rule name of 128 and a description of 256
//!   (<https://docs.aws.amazon.com/config/latest/APIReference/API_ConfigRule.html>).
//!
//! The organization's stacks hold nothing per account, so the numbers are the same for 1 and
//! for 1,000 accounts; the test renders all 1,000 to show it, not to assume it.

use std::collections::BTreeMap;

use kms_guardrails::ALL;
use serde_json::{json, Value};
use xtask::templates::{self, max_length, parameter_name, pascal, EXCEPTIONS_URI_LIMIT, ROLE_NAME_LIMIT};

use crate::cfn::{self, input_parameters, Place, Resource};

const CENTRAL: &str = "999988887777";
const ORGANIZATION: &str = "o-exampleorg1";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const TEMPLATE_BODY: usize = 51_200;
const STACK_RESOURCES: usize = 500;
const TEMPLATE_PARAMETERS: usize = 200;
const PACK_PARAMETERS: usize = 60;
const PARAMETER_VALUE: usize = 4_096;
const FUNCTION_POLICY: usize = 20 * 1024;
const INPUT_PARAMETERS: usize = 1_024;

fn accounts() -> Vec<String> {
    (0..1_000u64).map(|i| format!("{:012}", 100_000_000_000 + i)).collect()
}

/// A function's resource-based policy as Lambda writes it from the stack's permissions.
fn function_policy(resources: &BTreeMap<String, Resource>, function: &str, arn: &str) -> String {
    let statements: Vec<Value> = resources
        .iter()
        .filter(|(_, r)| r.kind == "AWS::Lambda::Permission" && r.properties["FunctionName"] == function)
        .map(|(id, r)| {
            let mut statement = json!({
                "Sid": format!("stack-{id}-ABCDEFGHIJKL"),
                "Effect": "Allow",
                "Principal": {"Service": r.properties["Principal"]},
                "Action": r.properties["Action"],
                "Resource": arn,
            });
            if let Some(account) = r.properties.get("SourceAccount") {
                statement["Condition"] = json!({"StringEquals": {"AWS:SourceAccount": account}});
            }
            statement
        })
        .collect();
    json!({"Version": "2012-10-17", "Id": "default", "Statement": statements}).to_string()
}

fn check_stack(name: &str, template: &Value, resources: &BTreeMap<String, Resource>) {
    assert!(resources.len() <= STACK_RESOURCES, "{name}: {} resources", resources.len());
    let parameters = template["Parameters"].as_object().map_or(0, |p| p.len());
    assert!(parameters <= TEMPLATE_PARAMETERS, "{name}: {parameters} parameters");
    for (id, spec) in template["Parameters"].as_object().into_iter().flatten() {
        if let Some(max) = spec["MaxLength"].as_u64() {
            assert!(max as usize <= PARAMETER_VALUE, "{name}: {id} MaxLength {max}");
        }
    }
    for (id, r) in resources.iter().filter(|(_, r)| r.kind == "AWS::Lambda::Function") {
        let function = r.properties["FunctionName"].as_str().unwrap();
        assert!(function.len() <= 64, "{name}: {id} is named {function}");
        let arn = format!("arn:aws:lambda:us-east-1:{CENTRAL}:function:{function}");
        let policy = function_policy(resources, function, &arn);
        assert!(policy.len() <= FUNCTION_POLICY, "{name}: {function}'s policy is {} bytes", policy.len());
    }
    for (id, r) in resources.iter().filter(|(_, r)| r.kind == "AWS::Config::ConfigRule") {
        let rule_name = r.properties["ConfigRuleName"].as_str().unwrap();
        assert!(rule_name.len() <= 128, "{name}: {id}");
        assert!(r.properties["Description"].as_str().unwrap().chars().count() <= 256, "{name}: {id}");
        let input = input_parameters(&r.properties).unwrap_or_default();
        assert!(input.chars().count() <= INPUT_PARAMETERS, "{name}: {id} InputParameters {} characters", input.len());
    }
}

#[test]
fn every_template_body_fits_cloudformation_and_config() {
    for template in templates::all(ALL) {
        assert!(
            template.text.len() <= TEMPLATE_BODY,
            "{} is {} bytes; a template body holds {TEMPLATE_BODY}",
            template.name,
            template.text.len()
        );
    }
    let pack = templates::conformance_pack(ALL);
    assert!(pack["Parameters"].as_object().unwrap().len() <= PACK_PARAMETERS);
}

/// The organization deployment for 1,000 accounts and two regions: one central stack per
/// region, the member role in every account, the pack's rules in every account and region.
#[test]
fn the_organization_deployment_for_1000_accounts_stays_inside_every_quota() {
    let central = templates::central_functions(ALL);
    let member = templates::member_role(ALL);
    let pack = templates::conformance_pack(ALL);
    let accounts = accounts();
    let mut central_sizes = Vec::new();
    for region in REGIONS {
        let place = Place { account: CENTRAL, region };
        let resources =
            cfn::render(&central, &[("CodeBucket", "kms-guardrails-code"), ("OrganizationId", ORGANIZATION)], &place)
                .unwrap();
        check_stack("central-functions.yaml", &central, &resources);
        let permissions = resources.values().filter(|r| r.kind == "AWS::Lambda::Permission").count();
        assert_eq!(permissions, ALL.len(), "one invoke permission a function, whatever the accounts");
        central_sizes.push(resources.len());
    }
    let mut rules_per_region: BTreeMap<&str, usize> = BTreeMap::new();
    for account in &accounts {
        let place = Place { account, region: "us-east-1" };
        let given = [("CentralAccountId", CENTRAL), ("OrganizationId", ORGANIZATION)];
        let role = cfn::render(&member, &given, &place).unwrap();
        check_stack("member-execution-role.yaml", &member, &role);
        assert_eq!(role.len(), 1);
        for region in REGIONS {
            let place = Place { account, region };
            let rules = cfn::render(&pack, &[("CentralAccountId", CENTRAL)], &place).unwrap();
            check_stack("conformance-pack.yaml", &pack, &rules);
            *rules_per_region.entry(region).or_default() += rules.len();
        }
    }
    let iam_only = ALL.iter().filter(|r| templates::iam_only(r)).count();
    assert_eq!(rules_per_region["us-east-1"], 1_000 * ALL.len(), "every rule in the global-recording region");
    assert_eq!(rules_per_region["eu-west-1"], 1_000 * (ALL.len() - iam_only), "no IAM-only rule elsewhere");
    eprintln!("central stack: {central_sizes:?} resources per region for 1,000 accounts");
}

/// The per-account stack with every rule deployed (the global-recording region: the most).
#[test]
fn the_per_account_stack_stays_inside_every_quota() {
    let stack = templates::rules_stack(ALL);
    for region in REGIONS {
        let place = Place { account: "111122223333", region };
        let resources = cfn::render(&stack, &[("CodeBucket", "kms-guardrails-code-us-east-1")], &place).unwrap();
        check_stack("rules.yaml", &stack, &resources);
    }
}

/// Every parameter bound for `InputParameters` at its `MaxLength` (`executionRoleName` at IAM's
/// 64 characters, `exceptionsUri` at its limit): the rule's `InputParameters` still fit Config's 1,024 characters, and a
/// value one character longer is refused at deploy time.
#[test]
fn input_parameters_at_their_longest_fit_configs_limit() {
    let pack = templates::conformance_pack(ALL);
    let stack = templates::rules_stack(ALL);
    let role = "r".repeat(ROLE_NAME_LIMIT);
    // The longest `exceptionsUri` the pack takes (and one more is refused).
    let uri = format!("s3://bucket/{}", "k".repeat(EXCEPTIONS_URI_LIMIT - "s3://bucket/".len()));
    let place = Place { account: "111122223333", region: "us-east-1" };
    let longer = format!("{uri}k");
    assert!(cfn::render(&pack, &[("CentralAccountId", CENTRAL), ("ExceptionsUri", &longer)], &place).is_err());
    let object = longer.trim_start_matches("s3://");
    assert!(cfn::render(&stack, &[("CodeBucket", "b-code"), ("ExceptionsS3Object", object)], &place).is_err());
    let mut longest = 0;
    for rule in ALL {
        let values: Vec<(String, String)> = rule
            .parameters
            .iter()
            .filter(|spec| spec.kind != shared::rule::ParamKind::Bool)
            .map(|spec| {
                let fill = match spec.kind {
                    shared::rule::ParamKind::AccountId => "1",
                    _ => "a",
                };
                (parameter_name(rule, spec.name), fill.repeat(max_length(rule, spec)))
            })
            .chain(
                rule.parameters
                    .iter()
                    .filter(|s| s.kind == shared::rule::ParamKind::Bool)
                    .map(|spec| (parameter_name(rule, spec.name), "false".to_owned())),
            )
            .collect();
        let mut given: Vec<(&str, &str)> = values.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        given.extend([
            ("CentralAccountId", CENTRAL),
            ("MemberRoleName", role.as_str()),
            ("ExceptionsUri", uri.as_str()),
        ]);
        let place = Place { account: "111122223333", region: "us-east-1" };
        let rendered = cfn::render(&pack, &given, &place).unwrap();
        let id = format!("{}ConfigRule", pascal(rule.id));
        let input = input_parameters(&rendered[&id].properties).unwrap_or_default();
        assert!(input.chars().count() <= INPUT_PARAMETERS, "{}: {} characters", rule.id, input.chars().count());
        longest = longest.max(input.chars().count());
        if let Some((name, value)) = values.iter().find(|(_, v)| v != "false") {
            let longer = format!("{value}a");
            let mut too_long: Vec<(&str, &str)> = vec![(name.as_str(), longer.as_str())];
            too_long.push(("CentralAccountId", CENTRAL));
            assert!(cfn::render(&pack, &too_long, &place).is_err(), "{name}: one character more is refused");
            assert!(cfn::render(&stack, &[too_long[0], ("CodeBucket", "b-code")], &place).is_err(), "{name}");
        }
    }
    eprintln!("longest InputParameters at MaxLength: {longest} characters");
}

/// Optional parameters reach Config only when given: with the defaults, no value is an empty
/// string.
#[test]
fn no_empty_string_reaches_config() {
    let pack = templates::conformance_pack(ALL);
    let place = Place { account: "111122223333", region: "us-east-1" };
    let rules = cfn::render(&pack, &[("CentralAccountId", CENTRAL)], &place).unwrap();
    for (id, rule) in &rules {
        for (name, value) in rule.properties["InputParameters"].as_object().unwrap() {
            assert_ne!(value, "", "{id}: {name}");
        }
    }
}
