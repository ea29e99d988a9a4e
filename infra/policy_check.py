"""Static least-privilege check: every function's policy allows exactly what
its code can call.

What a function can call is read from its linked binary, not from source
files: the linker keeps only code reachable from `main` (--gc-sections), so
an AWS SDK operation whose `send()`/`presigned()` is in the binary is one the
function's own code or the `lodge` functions it calls can reach, wherever
that code lives. The SDK's operations map to IAM actions as AWS authorises
them; the policies are the SAM transform's own output (infra/policies.py).

    python infra/policy_check.py template.yaml <dir with the function binaries>
"""

import fnmatch
import json
import re
import subprocess
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from policies import expand  # noqa: E402

SERVICES = {"dynamodb": "dynamodb", "sqs": "sqs", "sesv2": "ses", "s3": "s3"}
SYMBOL = re.compile(
    r"aws_sdk_(dynamodb|sqs|sesv2|s3)::operation::(\w+)::(?:builders::(\w+)FluentBuilder::(send|presigned)"
    r"|(\w+)::orchestrate)\b"
)
# Items a transaction can hold, by the SDK builder the code must link to build one.
TX_ITEMS = {
    "PutBuilder": "dynamodb:PutItem",
    "UpdateBuilder": "dynamodb:UpdateItem",
    "DeleteBuilder": "dynamodb:DeleteItem",
    "ConditionCheckBuilder": "dynamodb:ConditionCheckItem",
}
TX_BUILDER = re.compile(r"aws_sdk_dynamodb::types::_?\w+::(%s)::build\b" % "|".join(TX_ITEMS))
INDEX = re.compile(r"aws_sdk_dynamodb::operation::(query|scan)::builders::\w+FluentBuilder::(?:set_)?index_name\b")
# SDK calls an action stands for when it is not the operation's own name.
ALIASES = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "s3:HeadObject": "s3:GetObject",
    "dynamodb:TransactGetItems": "dynamodb:GetItem",
}
# What Lambda's SQS event source mapping calls with the function's role.
ESM = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
# SDK internals linked into every client that are not calls the code makes:
# S3 Express sessions (directory buckets only).
IGNORED = {"s3:CreateSession"}


def camel(snake):
    return "".join(p.capitalize() for p in snake.split("_"))


def reachable(binary):
    """SDK operations (service:Op) the binary links, the transaction item
    kinds it can build, and whether it reads through an index."""
    out = subprocess.run(["nm", "--demangle", "--defined-only", binary], capture_output=True, text=True, check=True)
    ops, tx, index = set(), set(), False
    for line in out.stdout.splitlines():
        for m in SYMBOL.finditer(line):
            service, op = m.group(1), camel(m.group(2))
            ops.add(f"{SERVICES[service]}:{op}")
        for m in TX_BUILDER.finditer(line):
            tx.add(TX_ITEMS[m.group(1)])
        if INDEX.search(line):
            index = True
    return ops - IGNORED, tx, index


def actions_for(ops, tx):
    actions = set()
    for op in ops:
        if op == "dynamodb:TransactWriteItems":
            actions |= tx
        else:
            actions.add(ALIASES.get(op, op))
    return actions


def matches(pattern, action):
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def listify(v):
    return v if isinstance(v, list) else [v]


def main():
    template, bindir = sys.argv[1], sys.argv[2]
    text = open(template).read()
    policies = expand(text)
    import yaml  # noqa: E402  (PyYAML comes with cfn-lint and samtranslator)

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    resources = yaml.load(text, Loader=Loader)["Resources"]
    failures, rows = [], []
    for fn, doc in sorted(policies.items()):
        res = resources[fn]
        binary = res["Metadata"]["BuildProperties"]["Binary"]
        ops, tx, index = reachable(f"{bindir}/{binary}")
        needed = actions_for(ops, tx)
        events = (res.get("Properties") or {}).get("Events") or {}
        esm = any(e.get("Type") == "SQS" for e in events.values())
        if esm:
            needed |= set(ESM)
        allow = [s for s in doc["statements"] if s.get("Effect") == "Allow"]
        granted = [a for s in allow for a in listify(s["Action"])]
        managed = ESM if any("SQSQueueExecutionRole" in m for m in doc["managed"]) else []
        for action in sorted(needed):
            if not any(matches(p, action) for p in granted + managed):
                failures.append(f"{fn}: can call {action}, which its policy does not allow")
        for pattern in granted:
            if not any(matches(pattern, a) for a in needed):
                failures.append(f"{fn}: policy grants {pattern}, which nothing in {binary} calls")
        if index:
            index_grant = any(
                any(matches(p, "dynamodb:Query") or matches(p, "dynamodb:Scan") for p in listify(s["Action"]))
                and "/index/" in json.dumps(s.get("Resource"))
                for s in allow
            )
            if not index_grant:
                failures.append(f"{fn}: reads through an index, but no statement allows it on .../index/*")
        calls = sorted(ops) + (["(Lambda SQS poller) " + ", ".join(ESM)] if esm else [])
        rows.append((fn, binary, calls, sorted(needed), index))
    print("Function                  Binary            SDK operations it can reach → IAM actions")
    for fn, binary, calls, needed, index in rows:
        print(f"{fn:<25} {binary:<17} {', '.join(c for c in calls if c.startswith('('))}".rstrip())
        for c in calls:
            if not c.startswith("("):
                print(f"{'':<43} {c}{' (+ index)' if index and c in ('dynamodb:Query', 'dynamodb:Scan') else ''}")
        print(f"{'':<43} → {', '.join(needed)}")
    if failures:
        print("\npolicy check FAILED:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        sys.exit(1)
    print("\npolicy check: every function's policy allows what it calls, and nothing else.")


if __name__ == "__main__":
    main()
