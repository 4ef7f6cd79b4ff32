"""moto's server for the kms-guardrails end-to-end tests, with the AWS Config gaps filled.

Usage: python3 tests/moto_config_ext.py PORT
Serves IAM, KMS, STS, Organizations and Config on 127.0.0.1:PORT (moto[server] 5.2.x) and prints
`ready`.

The gaps this fills, each a documented difference between moto 5.2 and AWS Config:
1. PutEvaluations: moto accepts it only with TestMode and stores nothing (HTTP 500 otherwise).
   Here it stores every evaluation, keyed by the ResultToken (the tests pass the Config rule's
   name as the token, which is what identifies the rule in a real invocation).
2. GetComplianceDetailsByConfigRule: missing in moto. Here it returns the stored evaluations of
   the rule named (latest per resource), in the AWS shape, with an optional ComplianceTypes
   filter, paged as AWS pages it: `Limit` 0 to 100 (default 10; more is an
   InvalidParameterValueException), `NextToken` for the rest.
3. DescribeComplianceByConfigRule: missing in moto. Here: per rule, COMPLIANT or NON_COMPLIANT
   from the stored evaluations.
4. GetResourceConfigHistory and BatchGetResourceConfig: moto writes timestamps as
   "2026-11-23 06:17:07.509193" and `tags` as a list, which the JSON protocol (and so the Rust
   SDK) rejects. Here timestamps become epoch seconds and `tags` a map.
5. Role items: moto's `resourceId` is the role's name, while its ListDiscoveredResources (and
   AWS, for both) use the role's unique id (`AROA...`). Here the item's `resourceId` is the id,
   as AWS has it: a periodic run retires what ListDiscoveredResources no longer lists, and with
   two ids for one role it would retire every role it had just judged.
Known differences left as they are (the code handles them, the tests do not hide them):
- moto records no KMS keys in Config (resource history covers IAM only);
- GetKeyPolicy needs PolicyName `default`; some IAM documents come back URL-encoded, some not.
Everything else is moto as released; the Rust side uses the real aws-sdk-rust clients.
"""

import sys
import threading
import time

from moto.config import responses as config_responses
from moto.iam.config import RoleConfigQuery
from moto.server import ThreadedMotoServer

_LOCK = threading.Lock()
_EVALUATIONS = {}  # result token (rule name) -> {(type, id): evaluation dict}


def _put_evaluations(self):
    token = self._get_param("ResultToken")
    evaluations = self._get_param("Evaluations") or []
    if not token or not evaluations:
        raise ValueError("ResultToken and Evaluations are required")
    now = time.time()
    with _LOCK:
        stored = _EVALUATIONS.setdefault(token, {})
        for evaluation in evaluations:
            key = (evaluation["ComplianceResourceType"], evaluation["ComplianceResourceId"])
            stored[key] = dict(evaluation, _recorded=now)
    return '{"FailedEvaluations": []}'


def _result(rule, key, evaluation):
    result = {
        "EvaluationResultIdentifier": {
            "EvaluationResultQualifier": {
                "ConfigRuleName": rule,
                "ResourceType": key[0],
                "ResourceId": key[1],
            },
            "OrderingTimestamp": evaluation.get("OrderingTimestamp", evaluation["_recorded"]),
        },
        "ComplianceType": evaluation["ComplianceType"],
        "ResultRecordedTime": evaluation["_recorded"],
        "ConfigRuleInvokedTime": evaluation["_recorded"],
    }
    if evaluation.get("Annotation"):
        result["Annotation"] = evaluation["Annotation"]
    return result


def _get_compliance_details_by_config_rule(self):
    import json

    rule = self._get_param("ConfigRuleName")
    wanted = self._get_param("ComplianceTypes") or []
    limit = self._get_param("Limit") or 10
    if not 0 < limit <= 100:
        message = f"Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
        return 400, {}, json.dumps({"__type": "InvalidParameterValueException", "message": message})
    # The token is the last resource of the previous page: evaluations stored meanwhile do not
    # shift the pages (an offset would, and a page would skip or repeat resources).
    after = tuple(json.loads(self._get_param("NextToken"))) if self._get_param("NextToken") else None
    with _LOCK:
        stored = dict(_EVALUATIONS.get(rule, {}))
    keys = [
        key
        for key, evaluation in sorted(stored.items())
        if (after is None or key > after) and (not wanted or evaluation["ComplianceType"] in wanted)
    ]
    body = {"EvaluationResults": [_result(rule, key, stored[key]) for key in keys[:limit]]}
    if len(keys) > limit:
        body["NextToken"] = json.dumps(list(keys[limit - 1]))
    return json.dumps(body)


def _describe_compliance_by_config_rule(self):
    import json

    names = self._get_param("ConfigRuleNames") or []
    with _LOCK:
        rules = {name: dict(_EVALUATIONS.get(name, {})) for name in names} if names else dict(_EVALUATIONS)
    out = []
    for name, stored in rules.items():
        types = {e["ComplianceType"] for e in stored.values()}
        compliance = "NON_COMPLIANT" if "NON_COMPLIANT" in types else ("COMPLIANT" if "COMPLIANT" in types else "INSUFFICIENT_DATA")
        out.append({"ConfigRuleName": name, "Compliance": {"ComplianceType": compliance}})
    return json.dumps({"ComplianceByConfigRules": out})


def _fix_item(item):
    from datetime import datetime, timezone

    for field in ("configurationItemCaptureTime", "resourceCreationTime", "configurationItemDeliveryTime"):
        value = item.get(field)
        if isinstance(value, str):
            item[field] = datetime.fromisoformat(value).replace(tzinfo=timezone.utc).timestamp()
    if isinstance(item.get("tags"), list):
        item["tags"] = {t.get("key", t.get("Key")): t.get("value", t.get("Value")) for t in item["tags"]}
    return item


def _fixing(original, field):
    import json

    def handler(self):
        body = json.loads(original(self))
        body[field] = [_fix_item(item) for item in body.get(field, [])]
        return json.dumps(body)

    return handler


config_responses.ConfigResponse.get_resource_config_history = _fixing(
    config_responses.ConfigResponse.get_resource_config_history, "configurationItems"
)
config_responses.ConfigResponse.batch_get_resource_config = _fixing(
    config_responses.ConfigResponse.batch_get_resource_config, "baseConfigurationItems"
)
_role_config_resource = RoleConfigQuery.get_config_resource


def _role_item_with_its_id(self, account_id, partition, resource_id, *args, **kwargs):
    item = _role_config_resource(self, account_id, partition, resource_id, *args, **kwargs)
    if item is not None:
        # moto keys roles by their unique id, which is what `resource_id` is here.
        item["resourceId"] = resource_id
    return item


RoleConfigQuery.get_config_resource = _role_item_with_its_id
config_responses.ConfigResponse.put_evaluations = _put_evaluations
config_responses.ConfigResponse.get_compliance_details_by_config_rule = _get_compliance_details_by_config_rule
config_responses.ConfigResponse.describe_compliance_by_config_rule = _describe_compliance_by_config_rule


def main():
    import logging
    import os

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = int(sys.argv[1])
    parent = os.getppid()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print("ready", flush=True)
    # Stop with the test process that started us, however it ends.
    while os.getppid() == parent:
        time.sleep(0.5)
    server.stop()


if __name__ == "__main__":
    main()
