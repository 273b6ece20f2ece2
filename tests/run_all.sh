#!/usr/bin/env bash
# run_all.sh — the README's test command (`make test`): every suite of the project, in order.
# Fails at the end if any suite failed, after running them all.
set -u
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
failed=()
step() {
  local name=$1; shift
  echo "=== $name"
  local t0=$EPOCHREALTIME
  if "$@"; then
    echo "=== $name: ok ($(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}') s)"
  else
    echo "=== $name: FAILED"
    failed+=("$name")
  fi
}
step "build" make -j"$jobs" tests
step "C tests" make check
step "C tests under ASan+UBSan" make -j"$jobs" check-asan
step "extra suites (mk/*.mk)" make check-extra
if ls tests/js/*.test.mjs >/dev/null 2>&1; then
  step "JS tests" node --test tests/js/
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all suites passed"
