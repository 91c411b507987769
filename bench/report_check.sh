#!/usr/bin/env bash
# The report in a real browser: 12 runs (4 policies x 3 HBM sizes, a DRAM
# tier, overlapping requests) on the built-in workload, rendered by headless
# Chromium in a 1400 px wide window.  Prints one JSON line for bench.json:
#   report_scroll_width_px   the page's laid-out width (document scrollWidth)
#   report_fits_1400px       1 when nothing is wider than the window
#   report_tiers_*           the same for the main job's page: prefix only and
#                            semantic -> prefix -> blend (billed) beside no cache
# and leaves screenshots in $OUT/report_1400px.png and report_tiers_1400px.png
# for a person to look at.
# Usage: bench/report_check.sh BUILD_DIR OUT_DIR
set -euo pipefail
build=${1:-build}
out=${2:-$build/bench}
bin=$build/ctxcache
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "report_check: skipped: no chromium (apt-get install chromium)" >&2
  echo '{}'
  exit 0
fi
work=$out/report_check
rm -rf "$work" && mkdir -p "$work"
"$bin" gen default -o "$work/trace.h5" --seed 1 >/dev/null 2>&1
for p in lru s3fifo arc "trt(prefix_blocks=8)"; do
  for h in 500 1000 2000; do
    "$bin" replay "$work/trace.h5" --tiers "hbm:$h,dram:6000" --policy "$p" \
      --concurrency immediate --max-requests 1500 -o "$work/run_${p%%(*}_$h.h5" >/dev/null 2>&1
  done
done
"$bin" report "$work"/run_*.h5 -o "$work/report.html" --title "12 runs: 4 policies x 3 HBM sizes" >/dev/null
# the width the browser lays the page out at, written into the title
sed 's|</body>|<script>document.title="W"+document.documentElement.scrollWidth</script></body>|' \
  "$work/report.html" > "$work/measure.html"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1400,1000)
width=$(timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$(realpath "$work/measure.html")" 2>/dev/null |
        grep -o '<title>W[0-9]*' | grep -o '[0-9]*$' || true)
timeout 120 "$browser" "${flags[@]}" --window-size=1400,2400 \
  --screenshot="$(realpath "$out")/report_1400px.png" "file://$(realpath "$work/report.html")" \
  >/dev/null 2>&1 || true
if [ -z "$width" ]; then
  echo "report_check: chromium gave no width" >&2
  exit 1
fi
fits=$([ "$width" -le 1400 ] && echo 1 || echo 0)
echo "report_check: the page lays out $width px wide in a 1400 px window (screenshot: $out/report_1400px.png)" >&2
# The main job's page (make run): prefix only and semantic -> prefix -> blend,
# both billed, beside no cache: the cards and "What each tier contributed".
tiers="--tiers hbm:2000,dram:10000 --max-requests 1500"
"$bin" replay "$work/trace.h5" $tiers --pricing openai,anthropic-5m -o "$work/t_prefix.h5" >/dev/null 2>&1
"$bin" replay "$work/trace.h5" $tiers --pricing openai,anthropic-5m --semantic --blend \
  -o "$work/t_tiers.h5" >/dev/null 2>&1
"$bin" replay "$work/trace.h5" $tiers --no-cache -o "$work/t_nocache.h5" >/dev/null 2>&1
"$bin" report "$work/t_prefix.h5" "$work/t_tiers.h5" "$work/t_nocache.h5" \
  -o "$work/tiers.html" --title "three tiers" >/dev/null
grep -q "What each tier contributed" "$work/tiers.html" || {
  echo "report_check: the three-tier page has no 'What each tier contributed'" >&2; exit 1; }
sed 's|</body>|<script>document.title="W"+document.documentElement.scrollWidth</script></body>|' \
  "$work/tiers.html" > "$work/measure_tiers.html"
twidth=$(timeout 120 "$browser" "${flags[@]}" --dump-dom "file://$(realpath "$work/measure_tiers.html")" 2>/dev/null |
         grep -o '<title>W[0-9]*' | grep -o '[0-9]*$' || true)
timeout 120 "$browser" "${flags[@]}" --window-size=1400,1400 \
  --screenshot="$(realpath "$out")/report_tiers_1400px.png" "file://$(realpath "$work/tiers.html")" \
  >/dev/null 2>&1 || true
if [ -z "$twidth" ]; then
  echo "report_check: chromium gave no width for the three-tier page" >&2
  exit 1
fi
tfits=$([ "$twidth" -le 1400 ] && echo 1 || echo 0)
echo "report_check: the three-tier page lays out $twidth px wide (screenshot: $out/report_tiers_1400px.png)" >&2
echo "{\"report_scroll_width_px\": $width, \"report_fits_1400px\": $fits, \"report_tiers_scroll_width_px\": $twidth, \"report_tiers_fits_1400px\": $tfits}"
