#!/usr/bin/env bash
# Least privilege, checked statically: builds every function binary in the
# template and compares the AWS operations each one links with its policy
# after the SAM transform (infra/policy_check.py explains the method).
# Prints every function's operations; fails on a missing or unused grant.
#   bash infra/policy-check.sh            # VENV defaults to .venv
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${VENV:-${LODGE_VENV:-.venv}}"
TARGET="${CARGO_TARGET_DIR:-target}"

bins=$("$VENV/bin/python" - <<'PY'
import re
print(" ".join(sorted(set(re.findall(r"^\s+Binary:\s*(\S+)", open("template.yaml").read(), re.M)))))
PY
)
# Each function's own binary, linked as Lambda runs it (dev profile: the
# linker drops unreachable code all the same).
cargo build --quiet $(for b in $bins; do printf -- '-p %s ' "$b"; done) --bins
AWS_DEFAULT_REGION=us-east-1 "$VENV/bin/python" infra/policy_check.py template.yaml "$TARGET/debug"
