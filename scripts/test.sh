#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), then builds everything and runs the
# whole test suite twice: normally, and under AddressSanitizer + UBSan
# (--config=asan, .bazelrc). Unit tests, integration and CLI end-to-end tests,
# the fuzz targets' corpus replays and the demo all run in both. Then every fuzz
# target runs under libFuzzer for a short while (scripts/fuzz.sh; set
# EBB_FUZZ_SECONDS, default 20; 0 skips it). Extra arguments replace the target
# pattern (//...). Ends with one line "ebb: N passed, M failed" (test targets,
# both passes, plus fuzz targets) and fails if anything failed.
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

fuzz_seconds=${EBB_FUZZ_SECONDS:-20}
fuzz_passed=0
fuzz_failed=0
if [ "$fuzz_seconds" != 0 ]; then
  echo "== fuzzing: every target under libFuzzer for ${fuzz_seconds} s"
  set +e
  scripts/fuzz.sh --seconds "$fuzz_seconds" 2>&1 | tee "$log.fuzz"
  status=${PIPESTATUS[0]}
  set -e
  [ "$status" -eq 0 ] || rc=$status
  fuzz_passed=$(grep -cE '^fuzz: [^ ]+: .*, no failure$' "$log.fuzz" || true)
  fuzz_failed=$(grep -cE '^fuzz: [^ ]+: (FAILED|no such target)' "$log.fuzz" || true)
  # A build failure prints no target lines: count it as one failure.
  if [ "$status" -ne 0 ] && [ "$fuzz_failed" -eq 0 ]; then fuzz_failed=1; fi
  rm -f "$log.fuzz"
fi

passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log" || true)
failed=$(grep -cE '^//[^ ]+ +.*(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)' "$log" || true)
passed=$((passed + fuzz_passed))
failed=$((failed + fuzz_failed))
echo "ebb: ${passed} passed, ${failed} failed"
exit "$rc"
