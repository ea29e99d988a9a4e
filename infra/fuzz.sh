#!/usr/bin/env bash
# Fuzzes every parser of outside input (fuzz/, docs/fuzzing.md): builds the
# cargo-fuzz targets, runs each in turn, fails on the first crash.
#   bash infra/fuzz.sh                     # smoke: 5 s a target (make test)
#   FUZZ_SECONDS=600 bash infra/fuzz.sh    # a long run (make fuzz)
#   FUZZ_RUNS=1000000 bash infra/fuzz.sh   # a fixed number of executions a target
#   FUZZ_TARGETS="forward_rule dialog_tree" bash infra/fuzz.sh
#   bash infra/fuzz.sh --build-only        # build, run nothing (make test overlaps it with the tests)
# Each target's corpus grows in fuzz/corpus/<target> (not committed) from the
# committed seeds in fuzz/seeds/<target>; a crash is saved under
# fuzz/artifacts/<target>/ and printed with the command that replays it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_EACH="${FUZZ_SECONDS:-5}"
RUNS="${FUZZ_RUNS:-}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
# fuzz/target, whatever the caller exported for the main workspace; unset
# rather than set, because sccache hashes every CARGO_* variable and a
# per-clone path would make every clone miss.
unset CARGO_TARGET_DIR

# Coverage instrumentation needs nightly rustc.
if ! cargo +"$TOOLCHAIN" --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing the $TOOLCHAIN toolchain" >&2
  rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
TRIPLE=$(rustc +"$TOOLCHAIN" -vV | sed -n 's/^host: //p')

# The build `cargo fuzz build --sanitizer none --debug-assertions
# --codegen-units 16` runs (cargo-fuzz 0.13's flags, so its binaries and these
# are the same and `cargo fuzz run` reuses them), without compiling cargo-fuzz
# itself first: that took 220 s of a fresh clone's `make test`. No sanitizer:
# Rust is memory-safe and we hunt panics (ASan would only slow every
# execution); debug assertions and overflow checks stay on.
SANCOV="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4"
SANCOV+=" -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table"
SANCOV+=" -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
SANCOV+=" -Cllvm-args=-simplifycfg-branch-fold-threshold=0"
[[ "$TRIPLE" == *-linux-* ]] && SANCOV+=" -Cllvm-args=-sanitizer-coverage-stack-depth"
SANCOV+=" -Cdebug-assertions -Ccodegen-units=16"
BIN_DIR="fuzz/target/$TRIPLE/release"

all=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^lodge-fuzz$')
targets="${FUZZ_TARGETS:-$all}"

started=$(date +%s)
RUSTFLAGS="$SANCOV ${RUSTFLAGS:-}" cargo +"$TOOLCHAIN" build --manifest-path fuzz/Cargo.toml \
  --target "$TRIPLE" --release --config 'profile.release.debug="line-tables-only"' --bins
echo "fuzz.sh: built in $(($(date +%s) - started)) s" >&2
[ "${1:-}" = --build-only ] && exit 0

dict_of() {
  case "$1" in
    dialog_tree) echo fuzz/dicts/yaml.dict ;;
    markdown) echo fuzz/dicts/markdown.dict ;;
    web_body | login_widget | session_cookie) echo fuzz/dicts/http.dict ;;
    *) echo fuzz/dicts/json.dict ;;
  esac
}

summary=()
for t in $targets; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  log="fuzz/corpus/$t.log"
  limit=(-max_total_time="$SECONDS_EACH")
  [ -n "$RUNS" ] && limit=(-runs="$RUNS")
  # One process, one thread (the default): the machine's cores are shared.
  if ! "$BIN_DIR/$t" -artifact_prefix="fuzz/artifacts/$t/" "fuzz/corpus/$t" "fuzz/seeds/$t" \
    "${limit[@]}" -dict="$(dict_of "$t")" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "fuzz.sh: $t FAILED (log: $log); replay the input saved under fuzz/artifacts/$t/ with $BIN_DIR/$t fuzz/artifacts/$t/<file>" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
  summary+=("$(printf '%-16s %10s execs %8s exec/s   %s' "$t" "$execs" "$rate" "$cov")")
done
printf '%s\n' "${summary[@]}"
echo "fuzz.sh: no crash in $(echo "$targets" | wc -w) targets, $(($(date +%s) - started)) s in all" >&2
