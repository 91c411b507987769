#!/usr/bin/env bash
# replay_equiv.sh -- the replay's figures against those of the implementation
# before the event loops were merged (issue 14, item 5).
#
#   replay_equiv.sh capture TRACE PART   write tests/equiv/TRACE.PART.expected
#   replay_equiv.sh check TRACE PART     compare this build with it (exit 1 on
#                                        any difference, 77 when the trace
#                                        is absent)
# TRACE: gen (`ctxcache gen default --seed 1`) or mooncake
# (../shared/data/mooncake/conversation_trace.jsonl; CC_SHARED_DATA moves
# ../shared/data).  PART: rates (the fixed-rate service-time model, every
# mode: the loop that moved from core/ into sim/) or sim (the cost-model
# simulator's batching path, which shares that loop).
#
# Every concurrency mode x backend (rates with default and odd rates and a
# server limit; sim with one and two instances) x a few policies and tier
# layouts runs `ctxcache replay ... --json -o results.h5`.  One line per run:
# its exit status, the headline figures (readable in a diff) and two
# SHA-256 digests: of the JSON's figures (a fixed list of keys, so that a
# field added later does not count; wall-clock ones left out) and of
# h5dump's listing (every number to 17 digits) of the results file's
# /requests, /tiers, /occupancy and /sim groups.  The .expected files were
# captured with the build of commit 576c3fd, before replay_events.c was
# folded into sim/driver.c: the pre-refactor implementation's figures, not
# this build's.  The sim part's figures move legitimately when the cost
# model or the simulator's memory accounting changes; the rates part's must
# not (they are the model's definition, docs/replay.md).
#
# The HBM tier of a timed run shares the GPU with the weights and the
# running requests' KV (issue 14, item 3); 576c3fd left it out of the GPU's
# memory.  So the sim part runs tiers that fit an H100 (Mooncake's
# 512-token blocks are 64 MiB each: its rates sizes, 4000 and 1500 blocks,
# would be 268 and 101 GB of HBM), and its .expected files were recaptured
# with 576c3fd's build given --hbm-fraction 0.9 - tier_bytes / 80e9
# (EQUIV_OLD_BUILD=1 below): the same KV budget for running requests,
# hbm_bytes * 0.9 - weights - tier, that this build computes.  Every figure
# but the digests (hbm_kv_tokens) was the same as before the change on the
# generated workload, whose sizes already fitted.
# The sim part was recaptured again when prefill_gpu_s_saved became each
# request's price alone with and without its cached tokens and the results
# file gained schema 1.3's /sim columns: every headline figure (the readable
# part of each line) stayed identical to the 576c3fd capture above.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# the build under test: $BUILD (make check: build-asan), relative to the root
build=${BUILD:-build}
case "$build" in /*) ;; *) build=$root/$build ;; esac
bin=$(realpath "${CTXCACHE:-$build/ctxcache}")
action=${1:?capture or check}
name=${2:?gen or mooncake}
part=${3:?rates or sim}
# the simulator's profiles, whatever the binary's location and the directory
export CC_PROFILE_PATH=${EQUIV_PROFILE_PATH:-$root/sim/profiles}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case "$name" in
gen)
  trace=gen.h5
  "$bin" gen default -o "$work/$trace" --seed 1 >/dev/null 2>"$work/gen.err" ||
    { cat "$work/gen.err"; exit 3; }
  cap=20000 hbm=8000 dram=24000
  ;;
mooncake)
  data=${CC_SHARED_DATA:-../shared/data}
  case "$data" in /*) ;; *) data=$root/$data ;; esac
  src=$data/mooncake/conversation_trace.jsonl
  if [ ! -r "$src" ]; then
    echo "skipped: $src is absent"
    exit 77
  fi
  trace=conversation_trace.jsonl
  ln -s "$src" "$work/$trace"
  cap=4000 hbm=1500 dram=6000
  # the timed runs: tiers that fit one H100 beside llama-3-8b (72 GB usable
  # - 16.1 GB of weights: 400 blocks are 26.8 GB, 150 are 10.1 GB)
  [ "$part" = sim ] && cap=400 hbm=150
  ;;
*) echo "unknown trace name '$name'" >&2; exit 2 ;;
esac

layouts=(
  "lru|--capacity-blocks $cap --policy lru"
  "s3fifo|--capacity-blocks $cap --policy s3fifo"
  "tiers|--tiers hbm:$hbm,dram:$dram:policy=fifo --policy lru"
  "belady|--capacity-blocks $cap --policy belady"
)
case "$part" in
rates) backends=(
  "rates|--backend rates"
  "rates-odd|--backend rates --prefill-tps 3000 --decode-tps 37 --servers 4") ;;
sim) backends=(
  "sim|--backend sim"
  "sim-2inst|--backend sim --instances 2 --router prefix-affinity") ;;
*) echo "unknown part '$part'" >&2; exit 2 ;;
esac
modes=(none immediate after-complete dedup)

# the figures of `replay --json` that the digest covers
keys='["backend","block_accesses","block_hit_ratio","block_size","blocks_moved",
"bytes_moved","cached_tokens_by_tier","chunk_tokens","computed_tokens","concurrency",
"decode_tokens_per_s","dedup_blocks","dedup_tokens","dedup_wait_ns","e2e_mean_s",
"e2e_p50_s","e2e_p50_s_ci_hi","e2e_p50_s_ci_lo","e2e_p90_s","e2e_p90_s_ci_hi",
"e2e_p90_s_ci_lo","e2e_p99_s","e2e_p99_s_ci_hi","e2e_p99_s_ci_lo","evictions",
"expirations","format","hardware","hbm_kv_tokens","hit_blocks","hit_tokens",
"ideal_block_hit_ratio","ideal_token_hit_ratio","input_tokens","instances",
"kv_bytes_per_block","kv_bytes_per_token","kv_overlap","last_finish_ns","makespan_s",
"max_batch_tokens","max_in_flight","max_seqs","metadata_bytes_per_block","mode","model",
"no_room_blocks","output_tokens_per_s","preempt","preemptions","prefill_gpu_s_saved",
"prefill_tokens_per_s","queue_mean_s","queue_p50_s","queue_p50_s_ci_hi",
"queue_p50_s_ci_lo","queue_p90_s","queue_p90_s_ci_hi","queue_p90_s_ci_lo","queue_p99_s",
"queue_p99_s_ci_hi","queue_p99_s_ci_lo","queue_wait_ns","request_hit_ratio_mean",
"requests","requests_per_s","router","scheduler","servers","steps",
"throughput_tokens_per_s","tiers","token_hit_ratio","tpot_mean_s","tpot_p50_s",
"tpot_p50_s_ci_hi","tpot_p50_s_ci_lo","tpot_p90_s","tpot_p90_s_ci_hi","tpot_p90_s_ci_lo",
"tpot_p99_s","tpot_p99_s_ci_hi","tpot_p99_s_ci_lo","trace","ttft_mean_s","ttft_p50_s",
"ttft_p50_s_ci_hi","ttft_p50_s_ci_lo","ttft_p90_s","ttft_p90_s_ci_hi","ttft_p90_s_ci_lo",
"ttft_p99_s","ttft_p99_s_ci_hi","ttft_p99_s_ci_lo"]'

run_one() { # label args...
  local label=$1
  shift
  rm -f "$work/r.h5" "$work/r.json"
  # run inside $work with relative names: no path of this machine in the output
  (cd "$work" && "$bin" replay "$trace" "$@" --json -o r.h5 >r.json 2>err)
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "$label rc=$rc $(head -c 160 "$work/err" | tr '\n' ' ')"
    return
  fi
  local figs jsum rsum groups
  figs=$(jq -r '"bhr=\(.block_hit_ratio) thr=\(.token_hit_ratio) hits=\(.hit_blocks) ev=\(.evictions) moved=\(.blocks_moved) dedup=\(.dedup_blocks) last=\(.last_finish_ns) qwait=\(.queue_wait_ns) inflight=\(.max_in_flight)"' "$work/r.json")
  jsum=$(jq -S --argjson k "$keys" '. as $o | reduce $k[] as $x ({};
           if ($o | has($x)) then .[$x] = $o[$x] else . end)' "$work/r.json" |
         sha256sum | cut -c1-16)
  groups=$(cd "$work" && h5ls r.h5 | awk '$2 == "Group" {print $1}' |
           grep -xE 'requests|tiers|occupancy|sim' | sed 's|^|-g /|')
  # shellcheck disable=SC2086
  rsum=$(cd "$work" && h5dump -m %.17g $groups r.h5 | sha256sum | cut -c1-16)
  echo "$label rc=0 $figs json=$jsum results=$rsum"
}

# EQUIV_OLD_BUILD=1 CTXCACHE=<576c3fd's build> EQUIV_PROFILE_PATH=<576c3fd's
# sim/profiles> (its loader predates usd_per_hour) ... capture NAME sim: how
# the sim .expected files were captured; that build kept the HBM tier out of
# --hbm-fraction, so the
# fraction given leaves the KV budget this build computes for the default
# 0.9 (h100-sxm: 80e9 bytes; llama-3-8b: 131072 bytes a token)
old_hbm_fraction() { # tier_blocks block_tokens
  awk -v b="$1" -v t="$2" 'BEGIN { printf "%.17g", 0.9 - b * t * 131072 / 80e9 }'
}
block_tokens=16
[ "$name" = mooncake ] && block_tokens=512

out=$work/out
for lay in "${layouts[@]}"; do
  for be in "${backends[@]}"; do
    for m in "${modes[@]}"; do
      l=${lay%%|*} b=${be%%|*}
      # the simulator's batch path: two layouts (the policies are the cache's
      # business, which the rates runs cover); two instances need overlapping
      # requests; dedup under batching is slow on the generated workload's
      # 16-token blocks (minutes), so it runs on Mooncake only
      if [ "$part" = sim ]; then
        [ "$l" = lru ] || [ "$l" = tiers ] || continue
        [ "$b" = sim-2inst ] && { [ "$l" = lru ] && [ "$m" != none ] || continue; }
        [ "$m" = dedup ] && [ "$name" = gen ] && continue
      fi
      extra=()
      if [ "$part" = sim ] && [ "${EQUIV_OLD_BUILD:-}" = 1 ]; then
        top=$cap
        [ "$l" = tiers ] && top=$hbm
        extra=(--hbm-fraction "$(old_hbm_fraction "$top" "$block_tokens")")
      fi
      # shellcheck disable=SC2086
      run_one "$l/$b/$m" ${lay#*|} ${be#*|} --concurrency "$m" "${extra[@]}"
    done
  done
done >"$out"

expected=$here/$name.$part.expected
case "$action" in
capture) cp "$out" "$expected"; wc -l <"$out" ;;
check)
  if diff -u "$expected" "$out"; then
    echo "$name ($part): $(wc -l <"$out") runs identical to the pre-refactor figures"
  else
    exit 1
  fi
  ;;
*) echo "unknown action '$action'" >&2; exit 2 ;;
esac
