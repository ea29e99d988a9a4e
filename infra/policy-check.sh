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
# linker drops unreachable code all the same). Built with the same selection
# as `make test`'s one build (every workspace target), so in `make test` this
# is a no-op: a `-p <functions>` build resolves features over the functions
# alone (hyper without `server`, tower without `make`), and that recompiles
# those three, everything above them — the AWS SDK crates, the Lambda runtime,
# reqwest — and every workspace crate a second time. Features do not change
# which SDK operations the linker keeps: that follows the code's calls.
cargo build --quiet --workspace --all-targets
AWS_DEFAULT_REGION=us-east-1 "$VENV/bin/python" infra/policy_check.py template.yaml "$TARGET/debug"
