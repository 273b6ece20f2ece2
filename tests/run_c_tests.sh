#!/usr/bin/env bash
# run_c_tests.sh BUILD_DIR — runs every C test binary in BUILD_DIR/tests; fails if any fails.
set -u
build=${1:-build}
export HEARTH_TESTDATA=${HEARTH_TESTDATA:-$(cd "$(dirname "$0")/.." && pwd)/../shared/testdata}
export HEARTH_BIN=$build/hearth
fail=0
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  case "$t" in *.d) continue;; esac
  start=$EPOCHREALTIME
  if "$t" > "$t.log" 2>&1; then
    printf 'PASS %-40s %6.1fs\n' "$(basename "$t")" "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')"
  else
    printf 'FAIL %-40s (log: %s)\n' "$(basename "$t")" "$t.log"
    tail -30 "$t.log"
    fail=1
  fi
done
exit $fail
