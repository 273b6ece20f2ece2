#!/usr/bin/env bash
# run.sh BIN SECONDS — runs one libFuzzer target for SECONDS (0: each seed input once) over a
# scratch corpus build-fuzz/corpus/<name> plus the committed seeds fuzz/corpus/<name> (name = target
# without "fuzz_"), seeds generated at build time in build-fuzz/seeds/<name> (chat: the templates
# of an npm dependency) and, for targets that read GGUF files, the hostile corpus tests/data/hostile.
# Prints and appends to build-fuzz/summary.md one row: target, seconds, executions, exec/s,
# coverage (edges), features, corpus size, new units, peak RSS, result. Exit status 1 on a crash.
# With FUZZ_COVERAGE=1 (make fuzz-cov) the raw profile goes to <bin dir>/<target>.profraw.
set -u
bin=$1
secs=$2
target=$(basename "$bin")
name=${target#fuzz_}
root=build-fuzz
mkdir -p "$root/corpus/$name" "$root/logs" "$root/artifacts/$target"
dirs=("$root/corpus/$name")
[ -d "fuzz/corpus/$name" ] && dirs+=("fuzz/corpus/$name")
[ -d "$root/seeds/$name" ] && dirs+=("$root/seeds/$name") # generated seeds (fuzz/extract_templates.mjs)
case "$name" in gguf|model) dirs+=(tests/data/hostile) ;; esac
log=$root/logs/$target.log
opts=(-print_final_stats=1 -timeout=20 -rss_limit_mb=2560 -max_len=65536
      -artifact_prefix="$root/artifacts/$target/")
if [ "$secs" = 0 ]; then
  opts+=(-runs=0)
else
  opts+=(-max_total_time="$secs")
fi
if [ "${FUZZ_COVERAGE:-0}" = 1 ]; then
  export LLVM_PROFILE_FILE="$(dirname "$bin")/$target.profraw"
fi
start=$(date +%s)
"$bin" "${opts[@]}" "${dirs[@]}" >"$log" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
execs=$(stat number_of_executed_units)
rate=$(stat average_exec_per_sec)
newu=$(stat new_units_added)
rss=$(stat peak_rss_mb)
last=$(grep -E '^#[0-9]+' "$log" | tail -1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
if [ $rc -eq 0 ]; then
  result="no crash"
else
  art=$(ls -t "$root/artifacts/$target/" 2>/dev/null | head -1)
  result="FAILED rc=$rc ${art:+(artifact $root/artifacts/$target/$art)}"
fi
mode=$([ "$secs" = 0 ] && echo "seeds once" || echo "${secs} s")
row="| $target | $mode | ${elapsed} s | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | ${newu:-?} | ${rss:-?} MB | $result |"
[ -f "$root/summary.md" ] || {
  echo "| target | run | wall | executions | exec/s | cov (edges) | ft | corpus | new units | peak RSS | result |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} >"$root/summary.md"
echo "$row" >>"$root/summary.md"
echo "$row"
if [ $rc -ne 0 ]; then
  echo "--- $log (tail)"
  tail -40 "$log"
  exit 1
fi
