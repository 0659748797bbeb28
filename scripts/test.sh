#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), then builds everything and runs the
# whole test suite: unit tests, integration and CLI end-to-end tests, the demo.
# Extra arguments go to `bazel test` (e.g. a target pattern or --config).
# Ends with one line "ebb: N passed, M failed" (test targets) and bazel's exit code.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
bazel test --test_output=errors --test_summary=short "${@:-//...}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log" || true)
failed=$(grep -cE '^//[^ ]+ +.*(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)' "$log" || true)
echo "ebb: ${passed} passed, ${failed} failed"
exit "$rc"
