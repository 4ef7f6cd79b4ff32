"""The deployment in moto's CloudFormation, for tests/template_moto.rs.

Usage: python3 tests/moto_cloudformation.py PLAN.json  (prints a JSON report on stdout)

PLAN holds the templates to deploy (name, region, template text, parameters) and what moto's
CloudFormation cannot create, rendered by the Rust side as CloudFormation would (tests/cfn.rs):
the Config rules (PutConfigRule) and the functions' on-failure destinations
(PutFunctionEventInvokeConfig; a `FailedEvents` destination is the stack's queue). Everything
runs in one moto (5.2.x, in process); the report says what moto holds afterwards, read back
through its APIs, for the Rust test to judge.
"""

import io
import json
import sys
import warnings
import zipfile

import boto3
from moto import mock_aws

warnings.simplefilter("ignore")


def zip_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n")
    return buffer.getvalue()


def deploy(plan):
    report = {"stacks": [], "config_rules": {}, "functions": {}, "roles": [], "errors": []}
    code = zip_bytes()
    for bucket in plan["buckets"]:
        s3 = boto3.client("s3", region_name=bucket["region"])
        if bucket["region"] == "us-east-1":
            s3.create_bucket(Bucket=bucket["name"])
        else:
            s3.create_bucket(Bucket=bucket["name"], CreateBucketConfiguration={"LocationConstraint": bucket["region"]})
        for key in bucket["keys"]:
            s3.put_object(Bucket=bucket["name"], Key=key, Body=code)
    queues = {}
    for stack in plan["stacks"]:
        cf = boto3.client("cloudformation", region_name=stack["region"])
        try:
            cf.create_stack(
                StackName=stack["name"],
                TemplateBody=stack["template"],
                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in stack["parameters"].items()],
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            )
        except Exception as error:  # reported, judged by the Rust side
            report["errors"].append(f"{stack['name']}@{stack['region']}: {error}")
            print(f"create_stack {stack['name']}@{stack['region']}: {error}", file=sys.stderr)
            continue
        described = cf.describe_stacks(StackName=stack["name"])["Stacks"][0]
        resources = cf.describe_stack_resources(StackName=stack["name"])["StackResources"]
        created = {}
        for r in resources:
            if r.get("ResourceType"):
                created[r["LogicalResourceId"]] = {"type": r["ResourceType"], "physical": r.get("PhysicalResourceId")}
        if "FailedEvents" in created:
            sqs = boto3.client("sqs", region_name=stack["region"])
            url = created["FailedEvents"]["physical"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            queues[(stack["name"], stack["region"])] = attributes["QueueArn"]
            created["FailedEvents"]["attributes"] = {k: attributes.get(k) for k in ("KmsMasterKeyId", "MessageRetentionPeriod")}
        report["stacks"].append(
            {"name": stack["name"], "region": stack["region"], "status": described["StackStatus"], "resources": created}
        )
    for invoke in plan["event_invoke_configs"]:
        lam = boto3.client("lambda", region_name=invoke["region"])
        destination = invoke["destination"]
        if destination == "FailedEvents":
            destination = queues[(invoke["stack"], invoke["region"])]
        lam.put_function_event_invoke_config(
            FunctionName=invoke["function"],
            Qualifier=invoke["qualifier"],
            MaximumRetryAttempts=invoke["maximum_retry_attempts"],
            DestinationConfig={"OnFailure": {"Destination": destination}},
        )
    for item in plan["config_rules"]:
        config = boto3.client("config", region_name=item["region"])
        try:
            config.put_config_rule(ConfigRule=item["rule"])
        except Exception as error:
            report["errors"].append(f"PutConfigRule {item['rule']['ConfigRuleName']}@{item['region']}: {error}")
    for region in plan["regions"]:
        config = boto3.client("config", region_name=region)
        rules = config.describe_config_rules()["ConfigRules"]
        report["config_rules"][region] = {
            r["ConfigRuleName"]: {
                "source": r["Source"]["SourceIdentifier"],
                "input": json.loads(r.get("InputParameters") or "{}"),
                "scope": r.get("Scope", {}).get("ComplianceResourceTypes", []),
            }
            for r in rules
        }
        lam = boto3.client("lambda", region_name=region)
        functions = {}
        for f in lam.list_functions()["Functions"]:
            name = f["FunctionName"]
            policy = json.loads(lam.get_policy(FunctionName=name)["Policy"])
            try:
                on_failure = lam.get_function_event_invoke_config(FunctionName=name)["DestinationConfig"]["OnFailure"]["Destination"]
            except Exception:
                on_failure = None
            functions[name] = {
                "memory": f["MemorySize"],
                "timeout": f["Timeout"],
                "role": f["Role"],
                "policy": policy["Statement"],
                "on_failure": on_failure,
            }
        report["functions"][region] = functions
    iam = boto3.client("iam")
    for role in iam.list_roles()["Roles"]:
        report["roles"].append({"name": role["RoleName"], "path": role["Path"], "arn": role["Arn"]})
    return report


def main():
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    with mock_aws():
        report = deploy(plan)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
