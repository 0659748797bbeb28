#!/bin/sh
# Runs purge_bench at CI size: every strategy must leave exactly the expected
# live keys, and ebb's purge must leave nothing verify can find.
set -eu
out=$(bench/purge_bench --messages=36000 --nights=3 --rounds=2)
echo "$out"
echo "$out" | grep -q "verify: 0 findings"
echo "$out" | grep -q "verify found 0 records"
if echo "$out" | grep -q MISMATCH; then exit 1; fi
echo "$out" | grep -q "round 2 of 2, to physically gone"
