#!/usr/bin/env bash
# `make bench`: the figures in the README's Benchmarks section.
#  1. cold start and size of every function's release binary (lodge-bench);
#  2. the request path of the main flows, in-process (lodge-flows), then
#     issue 12's feed pages on a seeded club (BENCH_POSTS=10000 posts,
#     BENCH_COMMENTS=100000 comments; FEED_RUNS runs, default FLOW_RUNS).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Not exported when unset: sccache would hash a per-clone CARGO_TARGET_DIR.
TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
binaries=$(grep -A2 'BuildProperties:' template.yaml | sed -n 's/^ *Binary: *//p' | sort -u)
echo "Building release binaries: $(echo $binaries)"
cargo build --release --quiet $(for b in $binaries; do printf -- '-p %s ' "$b"; done)
cargo build --profile tools --quiet -p lodge-local -p lodge-bench
echo
"$TARGET/tools/lodge-bench" "$TARGET/release" $binaries --runs "${BENCH_RUNS:-15}" --env-file infra/bench.env
echo
LODGE_ROOT="$PWD" "$TARGET/tools/lodge-flows" "${FLOW_RUNS:-30}" 2>/dev/null | grep --line-buffered -v '^{'
