#!/usr/bin/env bash
# Runs every fuzz target in //fuzz under libFuzzer, built by clang with ASan +
# UBSan (--config=fuzz, .bazelrc). Each target starts from its seed corpus in
# fuzz/corpus/<target>/; what libFuzzer finds new goes to a scratch directory,
# not into the repository. A crash leaves its input in $EBB_FUZZ_ARTIFACTS
# (default /tmp/ebb-fuzz-artifacts) and fails the run: add that input to the
# target's corpus as a regression test once the bug is fixed.
#
#   scripts/fuzz.sh                     30 s per target (what CI runs)
#   scripts/fuzz.sh --seconds 600       longer
#   scripts/fuzz.sh --runs 10000000     a fixed number of executions per target
#   scripts/fuzz.sh --runs 1000 key_codec_fuzzer   some targets only
#   scripts/fuzz.sh --max-len 512 ...   cap input size (libFuzzer -max_len)
#
# Prints one line per target and ends with
# "fuzz: T targets, E executions, F failed".
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

limit=(-max_total_time=30)
extra=()
targets=()
while (($#)); do
  case "$1" in
    --seconds) [ $# -ge 2 ] || usage; limit=(-max_total_time="$2"); shift 2 ;;
    --runs) [ $# -ge 2 ] || usage; limit=(-runs="$2"); shift 2 ;;
    --max-len) [ $# -ge 2 ] || usage; extra+=(-max_len="$2"); shift 2 ;;
    -h | --help) usage ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; usage ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ((${#targets[@]} == 0)); then
  for dir in fuzz/corpus/*/; do targets+=("$(basename "$dir")"); done
fi

scripts/setup.sh
config=(--config=fuzz)
build_log=$(mktemp)
if ! bazel build "${config[@]}" //fuzz:all >"$build_log" 2>&1; then
  cat "$build_log" >&2
  rm -f "$build_log"
  exit 1
fi
rm -f "$build_log"
bin=$(bazel info "${config[@]}" bazel-bin 2>/dev/null)/fuzz

artifacts=${EBB_FUZZ_ARTIFACTS:-/tmp/ebb-fuzz-artifacts}
mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

total_runs=0
failed=0
for target in "${targets[@]}"; do
  if [ ! -x "$bin/$target" ]; then
    echo "fuzz: $target: no such target in //fuzz" >&2
    failed=$((failed + 1))
    continue
  fi
  mkdir -p "$scratch/$target"
  log="$scratch/$target.log"
  start=$(date +%s)
  set +e
  "$bin/$target" "${limit[@]}" "${extra[@]}" -print_final_stats=1 \
    -artifact_prefix="$artifacts/$target-" \
    "$scratch/$target" "fuzz/corpus/$target" >"$log" 2>&1
  status=$?
  set -e
  seconds=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  runs=${runs:-0}
  total_runs=$((total_runs + runs))
  if [ "$status" -eq 0 ]; then
    echo "fuzz: $target: $runs executions in ${seconds} s, no failure"
  else
    failed=$((failed + 1))
    echo "fuzz: $target: FAILED after $runs executions (exit $status); input in $artifacts:"
    grep -E "ERROR|runtime error|invariant broken|SUMMARY|Test unit written" "$log" | head -20
  fi
done
echo "fuzz: ${#targets[@]} targets, $total_runs executions, $failed failed"
[ "$failed" -eq 0 ]
