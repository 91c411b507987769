#!/usr/bin/env bash
# Runs each fuzzer given for FUZZ_SECONDS on its corpus, prints one summary
# line each and appends it to $BUILD/fuzz-out/history.tsv (date, harness,
# seconds, executions, exit status), the record from which docs/fuzzing.md's
# table is summed.  The corpus grows in $BUILD/fuzz-out/NAME/corpus across
# runs; it starts from the seeds that fuzz/make_corpus.py wrote to
# $BUILD/fuzz-corpus/NAME (make fuzz-corpus).  Nothing is read from or
# written to the repository.
#
# Inputs up to FUZZ_MAX_LEN bytes (default 16 MiB); an input running longer
# than FUZZ_TIMEOUT seconds (default 10) is a failure (a hang), as is one
# taking more than FUZZ_RSS_MB of memory (default 4096).  Crashing, hanging
# and leaking inputs are kept as $BUILD/fuzz-out/NAME/{crash,timeout,leak,oom}-*.
set -u
secs=${FUZZ_SECONDS:-60}
max_len=${FUZZ_MAX_LEN:-16777216}
timeout=${FUZZ_TIMEOUT:-10}
rss=${FUZZ_RSS_MB:-4096}
out=${BUILD:-build}/fuzz-out
seeds=${BUILD:-build}/fuzz-corpus
mkdir -p "$out"
status=0
for f in "$@"; do
  name=$(basename "$f")
  fmt=${name#fuzz_}
  work="$out/$fmt"; mkdir -p "$work/corpus"
  [ -d "$seeds/$fmt" ] && cp -n "$seeds/$fmt"/* "$work/corpus/" 2>/dev/null
  start=$(date +%s)
  "$f" -max_total_time="$secs" -rss_limit_mb="$rss" -max_len="$max_len" -timeout="$timeout" \
      -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/log" | awk '{print $2}')
  [ -z "$runs" ] && runs=$(grep -oE '#[0-9]+' "$work/log" | tail -1 | tr -d '#')
  cov=$(grep -oE 'cov: [0-9]+' "$work/log" | tail -1 | awk '{print $2}')
  echo "fuzz $fmt: ${took}s, ${runs:-?} inputs, coverage ${cov:-?} edges, exit $rc"
  printf '%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$fmt" "$took" "${runs:-0}" "$rc" >>"$out/history.tsv"
  [ "$rc" -ne 0 ] && { status=1; tail -30 "$work/log"; }
done
exit $status
