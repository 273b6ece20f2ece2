#!/usr/bin/env bash
# coverage.sh DIR TARGET... — after `make fuzz-cov` ran each coverage-instrumented target over its
# corpus (DIR/fuzz/<target>.profraw), prints per target the llvm-cov line and region coverage of
# the library files the target is about, and the library total. Appends to build-fuzz/coverage.md.
set -eu
dir=$1
shift
prof=${LLVM_PROFDATA:-llvm-profdata-19}
cov=${LLVM_COV:-llvm-cov-19}
out=build-fuzz/coverage.md
mkdir -p build-fuzz
{
  echo "| target | file | regions | region cover | lines | line cover | branch cover |"
  echo "|---|---|---:|---:|---:|---:|---:|"
} >"$out"
for t in "$@"; do
  raw=$dir/fuzz/$t.profraw
  [ -f "$raw" ] || { echo "coverage.sh: no $raw" >&2; continue; }
  "$prof" merge -sparse "$raw" -o "$dir/fuzz/$t.profdata"
  case "$t" in
    fuzz_gguf*) files='gguf\.c' ;;
    fuzz_model) files='(gguf|model|engine|forward_cpu|tokenizer|tok_[a-z]+|sampler)\.c' ;;
    fuzz_tokenizer) files='(tokenizer|tok_[a-z]+|unicode)\.c' ;;
    fuzz_chat) files='(chat|jinja_[a-z]+|json)\.c' ;;
    fuzz_json) files='json\.c' ;;
    *) files='.*\.c' ;;
  esac
  # llvm-cov report columns (file names relative to src/): Filename Regions Missed Cover Functions
  # Missed Executed Lines Missed Cover Branches Missed Cover
  "$cov" report "$dir/fuzz/$t" -instr-profile="$dir/fuzz/$t.profdata" -ignore-filename-regex='(tests|fuzz)/' |
    awk -v t="$t" -v files="$files" '
      $1 ~ ("^" files "$") || $1 == "TOTAL" {
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", t, ($1 == "TOTAL" ? "all linked library code" : "src/" $1), $2, $4, $8, $10, $13
      }' | tee -a "$out"
done
