"""Each function's IAM policy statements, as the SAM transform writes them.

Runs aws-sam-translator offline on a template and prints JSON:
  {"<FunctionLogicalId>": [<statement>, ...], ...}
Statements keep their intrinsics (Ref, Fn::GetAtt, Fn::Sub with variables,
Fn::Select, Fn::Split, ...); the reader resolves them against its own
resources (the local runner: the physical names it provisioned).

    python infra/policies.py template.yaml
"""

import json
import sys

from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:  # offline: no IAM lookups
    def load(self):
        return {}


def expand(text):
    tpl = yaml_parse(text)
    functions = []
    for logical_id, res in tpl.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        functions.append(logical_id)
        props = res.setdefault("Properties", {})
        if props.get("CodeUri") == ".":
            props["CodeUri"] = "s3://placeholder/code.zip"  # what `sam package` does
    out = transform(tpl, {}, NoManagedPolicies())
    resources = out["Resources"]
    policies = {}
    for fn in functions:
        role_ref = resources[fn]["Properties"].get("Role", {})
        role_id = role_ref.get("Fn::GetAtt", [None])[0] if isinstance(role_ref, dict) else None
        role = resources.get(role_id, {}).get("Properties", {}) if role_id else {}
        statements = []
        for policy in role.get("Policies", []):
            doc = policy.get("PolicyDocument", {})
            stmts = doc.get("Statement", [])
            statements.extend(stmts if isinstance(stmts, list) else [stmts])
        policies[fn] = {
            "statements": statements,
            "managed": role.get("ManagedPolicyArns", []),
        }
    return policies


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    try:
        policies = expand(open(path).read())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"SAM transform: {cause.message}", file=sys.stderr)
        sys.exit(1)
    json.dump(policies, sys.stdout, indent=1, sort_keys=True)
    print()


if __name__ == "__main__":
    main()
