"""moto's server for the kms-guardrails end-to-end tests, with the AWS Config gaps filled.

Usage: python3 tests/moto_config_ext.py PORT
Serves IAM, KMS, STS, Organizations and Config on 127.0.0.1:PORT (moto[server] 5.2.x) and prints
`ready`.

The gaps this fills, each a documented difference between moto 5.2 and AWS Config:
1. PutEvaluations: moto accepts it only with TestMode and stores nothing (HTTP 500 otherwise).
   Here it stores every evaluation, keyed by the ResultToken (the tests pass the Config rule's
   name as the token, which is what identifies the rule in a real invocation).
2. GetComplianceDetailsByConfigRule: missing in moto. Here it returns the stored evaluations of
   the rule named (latest per resource), in the AWS shape, with an optional ComplianceTypes filter.
3. DescribeComplianceByConfigRule: missing in moto. Here: per rule, COMPLIANT or NON_COMPLIANT
   from the stored evaluations.
4. GetResourceConfigHistory and BatchGetResourceConfig: moto writes timestamps as
   "2026-11-23 06:17:07.509193" and `tags` as a list, which the JSON protocol (and so the Rust
   SDK) rejects. Here timestamps become epoch seconds and `tags` a map.
Known differences left as they are (the code handles them, the tests do not hide them):
- moto's IAM items use the role/user name as `resourceId` where AWS uses the unique id;
- moto records no KMS keys in Config (resource history covers IAM only);
- GetKeyPolicy needs PolicyName `default`; some IAM documents come back URL-encoded, some not.
Everything else is moto as released; the Rust side uses the real aws-sdk-rust clients.
"""

import sys
import threading
import time

from moto.config import responses as config_responses
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
    with _LOCK:
        stored = dict(_EVALUATIONS.get(rule, {}))
    results = [
        _result(rule, key, evaluation)
        for key, evaluation in sorted(stored.items())
        if not wanted or evaluation["ComplianceType"] in wanted
    ]
    return json.dumps({"EvaluationResults": results})


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
