#!/usr/bin/env bash
# Runs every test binary given, prints each one's output, and ends with one
# line "tests: N passed, N failed, N skipped" summed over cmocka's counts.
# Exit status non-zero when any test failed or a binary crashed.
# NO_STDBUF=1 (make check): run each binary directly, since stdbuf works by
# LD_PRELOAD, which puts its library ahead of the sanitizer runtimes.
set -u
pass=0 fail=0 skipped=0 crashed=0
log=$(mktemp)
for t in "$@"; do
  echo "== $t"
  start=$SECONDS
  if [ -n "${NO_STDBUF:-}" ]; then "$t" >"$log" 2>&1; else stdbuf -oL -eL "$t" >"$log" 2>&1; fi
  rc=$?
  cat "$log"
  echo "-- $t: $((SECONDS - start)) s"
  p=$(grep -o '\[  PASSED  \] [0-9][0-9]* test' "$log" | awk '{print $(NF-1)}' | awk '{s+=$1} END {print s+0}')
  f=$(grep -o '\[  FAILED  \] [0-9][0-9]* test' "$log" | awk '{print $(NF-1)}' | awk '{s+=$1} END {print s+0}')
  s=$(grep -o '\[  SKIPPED \] [0-9][0-9]* test' "$log" | awk '{print $(NF-1)}' | awk '{s+=$1} END {print s+0}')
  pass=$((pass + p)); fail=$((fail + f)); skipped=$((skipped + s))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "!! $t exited with status $rc without reporting a failed test"
    crashed=$((crashed + 1)); fail=$((fail + 1))
  fi
done
rm -f "$log"
echo
echo "tests: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
