//! The deployment in moto's CloudFormation (`moto_cloudformation.py`, moto 5.2 in process):
//! `rules.yaml` in two regions of one account, the central functions in both, the member role
//! once, and what moto then holds, read back through its APIs.
//!
//! What moto cannot do, and what stands in for it:
//! - moto's CloudFormation has no `AWS::Config::ConfigRule` and no
//!   `AWS::Lambda::EventInvokeConfig` (it skips them with a warning): each is rendered as
//!   CloudFormation would (`cfn.rs`: conditions, `Fn::If`/`AWS::NoValue`, `Fn::Sub`) and sent
//!   with `PutConfigRule` / `PutFunctionEventInvokeConfig`; moto's `PutConfigRule` checks that
//!   the function exists, as AWS does.
//! - moto has one account here and no organization conformance pack: the pack's rules are
//!   rendered and sent with `PutConfigRule` in each region (the central account standing in
//!   for a member account), and the organization conditions (`aws:PrincipalOrgID`,
//!   `aws:ResourceOrgID`) are not evaluated by moto; the README argues them from AWS's docs.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use kms_guardrails::ALL;
use serde_json::{json, Value};
use xtask::templates;

use crate::cfn::{self, input_parameters, Place};

const ACCOUNT: &str = "123456789012";
const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];
const ORGANIZATION: &str = "o-exampleorg1";
const ORG_PREFIX: &str = "org-";

struct Stack {
    name: &'static str,
    region: &'static str,
    template: Value,
    text: String,
    parameters: Vec<(&'static str, String)>,
}

fn text_of(name: &str) -> String {
    templates::all(ALL).into_iter().find(|t| t.name == name).map(|t| t.text).expect("template")
}

fn stacks() -> Vec<Stack> {
    let mut out = Vec::new();
    for region in REGIONS {
        let bucket = format!("kms-guardrails-code-{region}");
        out.push(Stack {
            name: "kms-guardrails",
            region,
            template: templates::rules_stack(ALL),
            text: text_of("rules.yaml"),
            parameters: vec![("CodeBucket", bucket.clone())],
        });
        out.push(Stack {
            name: "kms-guardrails-central",
            region,
            template: templates::central_functions(ALL),
            text: text_of("central-functions.yaml"),
            parameters: vec![
                ("CodeBucket", bucket),
                ("OrganizationId", ORGANIZATION.into()),
                ("RuleNamePrefix", ORG_PREFIX.into()),
            ],
        });
    }
    out.push(Stack {
        name: "kms-guardrails-member",
        region: "us-east-1",
        template: templates::member_role(ALL),
        text: text_of("member-execution-role.yaml"),
        parameters: vec![("CentralAccountId", ACCOUNT.into()), ("OrganizationId", ORGANIZATION.into())],
    });
    out
}

/// A rendered `AWS::Config::ConfigRule` as `PutConfigRule` takes it.
fn put_config_rule_input(properties: &Value) -> Value {
    let mut rule = properties.clone();
    if let Some(input) = input_parameters(properties) {
        rule["InputParameters"] = json!(input);
    }
    rule
}

fn plan() -> Value {
    let mut stacks_json = Vec::new();
    let mut config_rules = Vec::new();
    let mut invoke_configs = Vec::new();
    for stack in stacks() {
        let given: Vec<(&str, &str)> = stack.parameters.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let place = Place { account: ACCOUNT, region: stack.region };
        let rendered = cfn::render(&stack.template, &given, &place).expect("renders");
        for resource in rendered.values() {
            match resource.kind.as_str() {
                "AWS::Config::ConfigRule" => config_rules
                    .push(json!({"region": stack.region, "rule": put_config_rule_input(&resource.properties)})),
                "AWS::Lambda::EventInvokeConfig" => {
                    let p = &resource.properties;
                    let destination = p["DestinationConfig"]["OnFailure"]["Destination"].as_str().unwrap_or_default();
                    let destination = match destination.ends_with(":FailedEvents") {
                        true => "FailedEvents",
                        false => destination,
                    };
                    invoke_configs.push(json!({
                        "region": stack.region, "stack": stack.name, "function": p["FunctionName"],
                        "qualifier": p["Qualifier"], "maximum_retry_attempts": p["MaximumRetryAttempts"],
                        "destination": destination,
                    }));
                }
                _ => {}
            }
        }
        stacks_json.push(json!({
            "name": stack.name, "region": stack.region, "template": stack.text,
            "parameters": stack.parameters.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        }));
    }
    // The organization pack's rules, in each region, pointing at the central functions.
    let pack = templates::conformance_pack(ALL);
    for region in REGIONS {
        let place = Place { account: ACCOUNT, region };
        let rendered =
            cfn::render(&pack, &[("CentralAccountId", ACCOUNT), ("RuleNamePrefix", ORG_PREFIX)], &place).expect("pack");
        for resource in rendered.values() {
            config_rules.push(json!({"region": region, "rule": put_config_rule_input(&resource.properties)}));
        }
    }
    let keys: Vec<String> = ALL.iter().map(|r| format!("kms-guardrails/{}.zip", r.id)).collect();
    json!({
        "regions": REGIONS,
        "buckets": REGIONS.iter().map(|r| json!({"region": r, "name": format!("kms-guardrails-code-{r}"), "keys": keys})).collect::<Vec<_>>(),
        "stacks": stacks_json,
        "config_rules": config_rules,
        "event_invoke_configs": invoke_configs,
    })
}

fn run_in_moto(plan: &Value) -> Value {
    let dir = std::env::temp_dir().join(format!("kms-guardrails-moto-cfn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.json");
    std::fs::write(&path, plan.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/moto_cloudformation.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 runs tests/moto_cloudformation.py (pip install -r tests/requirements.txt)");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(output.status.success(), "moto run failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("a JSON report")
}

#[test]
fn the_deployment_in_two_regions_of_one_account_in_moto() {
    let report = run_in_moto(&plan());
    assert_eq!(report["errors"], json!([]), "{}", report["errors"]);
    for stack in report["stacks"].as_array().unwrap() {
        assert_eq!(stack["status"], "CREATE_COMPLETE", "{}@{}", stack["name"], stack["region"]);
    }
    assert_eq!(report["stacks"].as_array().unwrap().len(), 5);

    // No fixed IAM names: every function role is unique across both regions and both stacks;
    // the member role is the one named role.
    let roles = report["roles"].as_array().unwrap();
    let function_roles: Vec<&str> =
        roles.iter().filter(|r| r["path"] == "/kms-guardrails/").map(|r| r["name"].as_str().unwrap()).collect();
    let iam_only = ALL.iter().filter(|r| templates::iam_only(r)).count();
    let expected_roles = ALL.len() + (ALL.len() - iam_only) + 2 * ALL.len();
    assert_eq!(function_roles.len(), expected_roles, "{function_roles:?}");
    assert_eq!(function_roles.iter().collect::<BTreeSet<_>>().len(), expected_roles, "role names collide");
    assert_eq!(roles.iter().filter(|r| r["name"] == "kms-guardrails-member").count(), 1);

    for region in REGIONS {
        let functions = report["functions"][region].as_object().unwrap();
        let rules = report["config_rules"][region].as_object().unwrap();
        for rule in ALL {
            let deployed_here = region == "us-east-1" || !templates::iam_only(rule);
            // Per-account stack: the function, its size, its SourceAccount permission, its
            // on-failure queue, and its Config rule (IAM-only rules in us-east-1 only).
            let function = &functions.get(rule.id);
            assert_eq!(function.is_some(), deployed_here, "{} in {region}", rule.id);
            assert_eq!(rules.contains_key(rule.id), deployed_here, "{} in {region}", rule.id);
            if let Some(f) = function {
                assert_eq!(f["memory"], rule.function.memory_mb, "{}", rule.id);
                assert_eq!(f["timeout"], rule.function.timeout_seconds, "{}", rule.id);
                let policy = f["policy"].as_array().unwrap();
                assert_eq!(policy.len(), 1);
                assert_eq!(policy[0]["Condition"]["StringEquals"]["AWS:SourceAccount"], ACCOUNT);
                let queue = f["on_failure"].as_str().unwrap_or_default();
                assert!(
                    queue.starts_with(&format!("arn:aws:sqs:{region}:{ACCOUNT}:kms-guardrails-FailedEvents")),
                    "{queue}"
                );
                let config_rule = &rules[rule.id];
                assert_eq!(config_rule["source"], format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{}", rule.id));
            }
            // Central functions: every rule in every region, one permission without
            // SourceAccount, the pack's rule assuming the member role.
            let org = format!("{ORG_PREFIX}{}", rule.id);
            let f = &functions[&org];
            assert_eq!(f["timeout"], rule.function.timeout_seconds, "{org}");
            let policy = f["policy"].as_array().unwrap();
            assert_eq!(policy.len(), 1, "{org}: one permission whatever the accounts");
            assert_eq!(policy[0]["Principal"]["Service"], "config.amazonaws.com");
            assert!(policy[0].get("Condition").is_none(), "{org}");
            assert!(f["on_failure"].as_str().unwrap_or_default().contains("kms-guardrails-central-FailedEvents"));
            assert_eq!(rules.contains_key(&org), deployed_here, "{org} in {region}");
            if deployed_here {
                let input = &rules[&org]["input"];
                assert_eq!(input["executionRoleName"], "kms-guardrails-member", "{org}");
                assert!(input.as_object().unwrap().values().all(|v| v != ""), "{org}: {input}");
            }
        }
    }
    let queues: BTreeMap<String, Value> = report["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| {
            s["resources"].get("FailedEvents").map(|q| (format!("{}@{}", s["name"], s["region"]), q.clone()))
        })
        .collect();
    eprintln!(
        "moto: {} stacks, {} function roles, functions {}/{}, Config rules {}/{} (us-east-1/eu-west-1)",
        report["stacks"].as_array().map_or(0, Vec::len),
        function_roles.len(),
        report["functions"]["us-east-1"].as_object().map_or(0, |f| f.len()),
        report["functions"]["eu-west-1"].as_object().map_or(0, |f| f.len()),
        report["config_rules"]["us-east-1"].as_object().map_or(0, |f| f.len()),
        report["config_rules"]["eu-west-1"].as_object().map_or(0, |f| f.len()),
    );
    assert_eq!(queues.len(), 4);
    for (stack, queue) in queues {
        assert_eq!(queue["attributes"]["KmsMasterKeyId"], "alias/aws/sqs", "{stack}");
        assert_eq!(queue["attributes"]["MessageRetentionPeriod"], "1209600", "{stack}");
    }
}
