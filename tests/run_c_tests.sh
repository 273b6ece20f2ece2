#!/usr/bin/env bash
# run_c_tests.sh BUILD_DIR — runs every C test binary in BUILD_DIR/tests, $JOBS at a time (default:
# the number of cores), slowest first; prints PASS/FAIL with the time and fails if any test fails.
# SKIP="test_a test_b" leaves those out (named in the output).
set -u
build=${1:-build}
export HEARTH_TESTDATA=${HEARTH_TESTDATA:-$(cd "$(dirname "$0")/.." && pwd)/../shared/testdata}
export HEARTH_BIN=$build/hearth
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

run_one() {
  local t=$1 start=$EPOCHREALTIME
  if "$t" > "$t.log" 2>&1; then
    printf 'PASS %-40s %6.1fs\n' "$(basename "$t")" "$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')"
  else
    printf 'FAIL %-40s (log: %s)\n' "$(basename "$t")" "$t.log"
    tail -30 "$t.log"
    return 1
  fi
}

# the GPU suites take longest: start them first so the others fill the remaining cores
tests=()
for t in "$build"/tests/test_gpu* "$build"/tests/test_*; do
  [ -x "$t" ] && [ -f "$t" ] || continue
  case "$t" in *.d|*.log) continue;; esac
  case " ${tests[*]} " in *" $t "*) continue;; esac
  case " ${SKIP:-} " in *" $(basename "$t") "*) echo "SKIP $(basename "$t") (SKIP)"; continue;; esac
  tests+=("$t")
done

fail=0 running=0
for t in "${tests[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || fail=1
    running=$((running - 1))
  fi
  run_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || fail=1
  running=$((running - 1))
done
exit $fail
