#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), then builds everything and runs the
# whole test suite twice: normally, and under AddressSanitizer + UBSan
# (--config=asan, .bazelrc). Unit tests, integration and CLI end-to-end tests, and
# the demo all run in both. Extra arguments replace the target pattern (//...).
# Ends with one line "ebb: N passed, M failed" (test targets, both passes) and
# fails if either pass failed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

targets=("${@:-//...}")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
run() {
  set +e
  bazel test --test_output=errors --test_summary=short "$@" 2>&1 | tee -a "$log"
  local status=${PIPESTATUS[0]}
  set -e
  [ "$status" -eq 0 ] || rc=$status
}
echo "== tests"
run "${targets[@]}"
echo "== tests under AddressSanitizer + UBSan"
# Benchmarks are built by the first pass; they are not tests.
run --config=asan --build_tests_only "${targets[@]}"

passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log" || true)
failed=$(grep -cE '^//[^ ]+ +.*(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)' "$log" || true)
echo "ebb: ${passed} passed, ${failed} failed"
exit "$rc"
