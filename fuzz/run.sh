#!/usr/bin/env bash
# Runs each fuzzer for FUZZ_SECONDS with its seed corpus (fuzz/corpus/NAME,
# copied so the repository is not modified) and prints one summary line each.
set -u
secs=${FUZZ_SECONDS:-60}
out=${BUILD:-build}/fuzz-out
mkdir -p "$out"
status=0
for f in "$@"; do
  name=$(basename "$f")
  fmt=${name#fuzz_}
  work="$out/$fmt"; mkdir -p "$work/corpus"
  [ -d "fuzz/corpus/$fmt" ] && cp -n fuzz/corpus/$fmt/* "$work/corpus/" 2>/dev/null
  "$f" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/" \
      "$work/corpus" >"$work/log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" | awk '{print $2}')
  [ -z "$runs" ] && runs=$(grep -oE '#[0-9]+' "$work/log" | tail -1 | tr -d '#')
  cov=$(grep -oE 'cov: [0-9]+' "$work/log" | tail -1 | awk '{print $2}')
  echo "fuzz $fmt: ${secs}s, ${runs:-?} inputs, coverage ${cov:-?} edges, exit $rc"
  [ "$rc" -ne 0 ] && { status=1; tail -30 "$work/log"; }
done
exit $status
