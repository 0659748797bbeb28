#!/usr/bin/env bash
# Runs the demo in a fresh directory: it exits non-zero if any of its own checks
# fails (an expired message read back, or left on disk after compaction).
set -euo pipefail
out=$("examples/demo" "${TEST_TMPDIR}/store")
echo "$out"
grep -q "All checks passed" <<<"$out"
