#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), then builds and runs the demo in
# examples/: three tenants with 1-day, 7-day and 30-day retention over 40
# simulated days. Pass a directory to keep the store there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bazel run //examples:demo -- "$@"
