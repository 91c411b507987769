/*
 * cmd_replay.c -- `ctxcache replay TRACE`: run a trace through the prefix
 * cache (core/replay.h) in the serving simulator (sim/driver.h) and print
 * TTFT/TPOT/throughput, hit ratios, evictions, bytes moved between tiers and
 * per-tier figures, as text or JSON.
 *
 * Defaults that give serving figures: timed runs overlap requests
 * (concurrency immediate, continuous batching); a run whose instances serve
 * one request at a time is labelled serial service everywhere it shows.
 * What-if knobs act on the trace before the run: --rate-scale divides the
 * arrival times, --no-cache and traces with lengths only (Azure) get chains
 * of their own (cc_trace_synth_blocks, optionally a shared prompt), and
 * --compare-no-cache runs the simulator a second time on such chains.
 */
#include "cli.h"
#include "../analysis/report.h"
#include "../analysis/results.h"
#include "../core/progress.h"
#include "../core/replay.h"
#include "../sim/driver.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_KV_BYTES_PER_TOKEN 131072u /* Llama-3-8B, fp16: 2*32*8*128*2 */

static const char *const replay_help =
    "usage: ctxcache replay TRACE [options]\n"
    "\n"
    "Replays TRACE through the prefix (KV) cache in the serving simulator, requests\n"
    "overlapping as in vLLM (continuous batching), and reports TTFT, TPOT and\n"
    "throughput, block, token and mean per-request hit ratios (with the trace's\n"
    "ideal infinite-cache ratios beside them), evictions, bytes moved between tiers\n"
    "and per-tier hits.\n"
    "\n"
    "cache:\n"
    "  --capacity-blocks N   one tier of N blocks, or 'inf' (unbounded)\n"
    "  --tiers SPEC          1-4 tiers, fastest first: NAME:CAPACITY[:key=value...],...\n"
    "                        CAPACITY in blocks (10000), bytes with a unit (80GiB, 1TB;\n"
    "                        needs the KV size per token) or inf; keys: policy=NAME,\n"
    "                        bw=RATE (25GB/s), lat=TIME (5us) to the tier above.\n"
    "                        A block evicted from a tier moves to the next; a hit below\n"
    "                        the top is promoted to the top.\n"
    "  --policy NAME         eviction policy of every tier without policy= (default lru;\n"
    "                        NAME or NAME(key=value,...))\n"
    "  --mode MODE           prefix (default): a block is served only after all blocks\n"
    "                        before it, only leaves are evicted; independent: every block\n"
    "                        is an independent object (as generic cache simulators see it)\n"
    "  --model-kv-bytes-per-token N\n"
    "                        KV bytes per token, 2*layers*kv_heads*head_dim*dtype_bytes\n"
    "                        to convert capacities in bytes (required for them) and to\n"
    "                        count bytes moved (default 131072: Llama-3-8B in fp16)\n"
    "  --implicit-cache NAME implicit (automatic) caching preset: sets --policy\n"
    "                        (vllm: lru; openai: ttl 600 s idle; deepseek: ttl 6 h idle)\n"
    "  --context-cache STYLE explicit context cache objects beside the implicit cache:\n"
    "                        STYLE or STYLE(ttl_s=S,min_tokens=N,refresh=0|1); a request\n"
    "                        creates an object for its cacheable prefix (whole blocks,\n"
    "                        >= min_tokens), pinned until it expires; later requests\n"
    "                        with that prefix hit it (styles listed below)\n"
    "  --cacheable WHAT      cacheable prefix of each request: auto (default: leading\n"
    "                        system/passage chunks, else all), system, all, blocks:N\n"
    "  --seed N              seed for randomised policies (default 1)\n"
    "\n"
    "pricing (docs/pricing.md; each model replays the trace with its own cache):\n"
    "  --pricing LIST        bill the trace under each model, side by side: presets\n"
    "                        (gemini-explicit, gemini-implicit, moonshot-2024,\n"
    "                        anthropic-5m, anthropic-1h, openai, deepseek, qwen-explicit)\n"
    "                        or pricing files; JSON: cost and cost_breakdown; without a\n"
    "                        cache size, the replay itself is unbounded (--capacity-blocks inf)\n"
    "  --input-price X       override every model's input price (USD per million tokens)\n"
    "  --output-price Y      override every model's output price\n"
    "\n"
    "simulator (docs/simulator.md; the default backend times every step):\n"
    "  --backend NAME        sim (default): the serving simulator with the cost model;\n"
    "                        rates: the fixed-rate service-time model (--prefill-tps,\n"
    "                        --decode-tps, --servers imply it); cpu, cuda: real engine\n"
    "  --hardware NAME|PATH  hardware profile (default h100-sxm; sim/profiles/hardware)\n"
    "  --model NAME|PATH     model profile (default llama-3-8b; sim/profiles/model); also\n"
    "                        gives the KV bytes per token unless given\n"
    "  --instances N         serving instances (default 1; concurrency none: 1)\n"
    "  --router NAME         rr (default), least-loaded, prefix-affinity\n"
    "  --scheduler NAME      fcfs (one request at a time), batch (default: continuous\n"
    "                        batching, chunked prefill), lpf (batch, longest cached prefix\n"
    "                        first)\n"
    "  --max-batch-tokens N  tokens per step (default 8192)\n"
    "  --max-seqs N          running requests per instance (default 256)\n"
    "  --chunk-tokens N      most prefill tokens of one request per step (default 0: the\n"
    "                        budget only)\n"
    "  --hbm-fraction F      share of HBM for weights + KV of running requests (default\n"
    "                        0.9): KV budget = tp * hbm_bytes * F - weights - HBM cache\n"
    "                        tier (every timed run; not an unbounded tier); a\n"
    "                        configuration that does not fit is an error (exit 2)\n"
    "  --tp N                tensor parallelism: N devices per instance (default 1; N\n"
    "                        divides the model's heads, e.g. llama-3-70b --tp 2, 4 or 8)\n"
    "  --preempt MODE        recompute (default): preempt the newest request when decode\n"
    "                        outgrows HBM; queue: admit only when input+output fits\n"
    "  --kv-overlap MODE     serial (default) or layerwise loads from lower tiers\n"
    "\n"
    "concurrency (requests overlapping in time; docs/replay.md):\n"
    "  --concurrency MODE    immediate (vLLM/SGLang; the default of timed runs: backends\n"
    "                        sim, cpu, cuda): requests overlap, blocks reusable as soon\n"
    "                        as computed; none (the default of backend rates, --mode\n"
    "                        independent, --context-cache and offline policies): one\n"
    "                        request at a time, each finished before the next, so TTFT\n"
    "                        is a serial queue (labelled 'serial service'); after-complete\n"
    "                        (older TensorRT-LLM): reusable when the request completes;\n"
    "                        dedup: a request waits for a block another running request\n"
    "                        is computing instead of computing it\n"
    "  --prefill-tps R       prefill tokens/s of one request (default 10000)\n"
    "  --decode-tps R        decode tokens/s of one request (default 50; inf: no decode time)\n"
    "  --servers N           requests served at once, the rest wait in FIFO order\n"
    "                        (default 0 = unlimited; mode none: 1)\n"
    "\n"
    "what-if (docs/simulator.md):\n"
    "  --rate-scale K        replay at K times the trace's arrival rate (arrival times\n"
    "                        divided by K; K > 0, finite)\n"
    "  --no-cache            no prefix caching: every request computes all its blocks\n"
    "                        (each request's blocks made its own)\n"
    "  --compare-no-cache    (backend sim) replay twice, with the cache and without it,\n"
    "                        and print both with what caching saves: TTFT p50/p99,\n"
    "                        GPU-seconds, the GPU bill, the --pricing bills\n"
    "  --gpu-usd-per-hour X  a GPU's price for --compare-no-cache (default: the hardware\n"
    "                        profile's usd_per_hour, x --tp; 2.50 when it has none)\n"
    "  --blend               (backend sim) prefix + blend: a request's chunks after its\n"
    "                        cached prefix are reused from a chunk store at any position,\n"
    "                        a share recomputed (docs/blend.md); adds blend_token_hit_ratio\n"
    "                        and a prefix_only run of the same trace to compare with;\n"
    "                        with --pricing, each bill again with blend counted\n"
    "                        (JSON cost_prefix_blend, cost_breakdown_prefix_blend)\n"
    "  --recompute-ratio R   blend: share 0..1 of the blended tokens recomputed (0.15)\n"
    "  --blend-chunk-tokens C\n"
    "                        blend: reuse windows of C >= 1 tokens of each chunk instead\n"
    "                        of whole chunks (needs token ids)\n"
    "  --assume-prefix-share F\n"
    "                        traces with lengths only (Azure: no token ids, no block\n"
    "                        hashes), where every token is otherwise new: the first F\n"
    "                        (0..1) of each request's input, in whole blocks, is one\n"
    "                        prompt shared by all requests (a known system prompt)\n"
    "\n"
    "semantic tier (docs/semantic.md):\n"
    "  --semantic            a semantic cache in front of the prefix cache: a query\n"
    "                        whose last user turn matches a cached one is answered\n"
    "                        from it (no prefill, no decode) after the lookup time;\n"
    "                        misses and seeds are served and written back at finish\n"
    "                        (untimed traces, every arrival 0: in file order, each\n"
    "                        answer written back at its arrival)\n"
    "  --embedder E          hash (default), minilm or precomputed (the trace's vectors)\n"
    "  --threshold T         similarity for a hit (default 0.8)\n"
    "  --semantic-lookup-ms X\n"
    "                        time charged per lookup, embedding included (default 0.2)\n"
    "\n"
    "output:\n"
    "  -o, --results FILE    write the per-request table, configuration and summary as\n"
    "                        HDF5 (docs/results-format.md)\n"
    "  --json                print JSON instead of text\n"
    "  --trace-stats         also the trace's ideal (infinite-cache) hit ratios: a run\n"
    "                        that streams its trace (below) leaves them out\n"
    "\n"
    "A libCacheSim oracleGeneral or ctxcache HDF5 trace replayed one request at a\n"
    "time (concurrency none: --mode independent, or --concurrency none) through one\n"
    "bounded tier given by --capacity-blocks is\n"
    "streamed: read in windows, nothing kept per request, memory = the cache + one\n"
    "window (README: memory); -o, --pricing, --compare-no-cache, --trace-stats and\n"
    "the other what-if options read the trace whole.\n"
    "\n"
    "trace options:\n"
    "  --format NAME         input format (default: detected)\n"
    "  --block-size N        tokens per block; traces with token ids are re-blocked,\n"
    "                        hash-only traces (Mooncake: 512) keep theirs; traces with\n"
    "                        lengths only (Azure) get blocks of N tokens (default 16)\n"
    "  --tokenizer FILE      a Hugging Face tokenizer.json for text traces\n"
    "  --tenant NAME         tenant (model@version) for formats that name none\n"
    "\n"
    "policies:\n";

static const char *const replay_examples =
    "\n"
    "examples:\n"
    "  ctxcache replay ../shared/data/mooncake/conversation_trace.jsonl --capacity-blocks 400\n"
    "      (Mooncake's 512-token blocks: 400 hold 26.8 GB of Llama-3-8B KV, which fits an\n"
    "      H100 beside the weights; a timed run's HBM tier must fit the GPU)\n"
    "  ctxcache replay trace.jsonl --capacity-blocks 50000 --policy fifo --mode independent \\\n"
    "      --backend rates --json   (hit ratios only: an untimed tier of any size)\n"
    "  ctxcache replay trace.jsonl --tiers hbm:400,dram:10000\n"
    "  ctxcache replay trace.h5 --tiers hbm:40GiB,dram:512GiB:bw=25GB/s:lat=5us \\\n"
    "      --model-kv-bytes-per-token 131072\n"
    "  ctxcache replay trace.h5 --tiers hbm:2000,dram:10000 --compare-no-cache --pricing openai\n"
    "  ctxcache replay ../shared/data/azure/AzureLLMInferenceTrace_conv.csv --capacity-blocks inf \\\n"
    "      --rate-scale 4 --assume-prefix-share 0.3\n";

static void print_help(FILE *out)
{
    fputs(replay_help, out);
    for (size_t i = 0; i < cc_policy_count(); i++)
        fprintf(out, "  %-10s %s\n", cc_policy_at(i)->name, cc_policy_at(i)->summary);
    fputs("\ncontext cache styles (--context-cache):\n", out);
    for (size_t i = 0; i < cc_ctx_style_count(); i++) {
        const cc_ctx_style *st = cc_ctx_style_at(i);
        fprintf(out, "  %-16s ttl_s=%g refresh=%d min_tokens=%u\n", st->name, st->ttl_s,
                st->refresh, st->min_tokens);
    }
    fputs(replay_examples, out);
}

enum {
    OPT_JSON = 1000, OPT_POLICY, OPT_CAP,
    OPT_TIERS, OPT_MODE, OPT_KVB, OPT_CONC, OPT_SEED,
    OPT_PREFILL_TPS, OPT_DECODE_TPS, OPT_SERVERS,
    OPT_CTX, OPT_CACHEABLE, OPT_IMPLICIT,
    OPT_PRICING, OPT_IN_PRICE, OPT_OUT_PRICE,
    OPT_BACKEND, OPT_HW, OPT_MODEL, OPT_INST, OPT_ROUTER, OPT_SCHED, OPT_MBT, OPT_MSEQ,
    OPT_CHUNK, OPT_HBMF, OPT_PREEMPT, OPT_OVERLAP,
    OPT_MAXREQ, OPT_THREADS, OPT_TP,
    OPT_SHARE, OPT_RATE_SCALE, OPT_NO_CACHE, OPT_CMP_NO_CACHE, OPT_GPU_USD,
    OPT_SEMANTIC, OPT_EMBEDDER, OPT_THRESHOLD, OPT_SEM_LOOKUP_MS,
    OPT_BLEND, OPT_RECOMPUTE, OPT_BLEND_CHUNK,
    OPT_TRACE_STATS,
};

static const struct option long_opts[] = {
    CLI_TRACE_LONG_OPTS,
    {"json", no_argument, 0, OPT_JSON},
    {"policy", required_argument, 0, OPT_POLICY},
    {"capacity-blocks", required_argument, 0, OPT_CAP},
    {"tiers", required_argument, 0, OPT_TIERS},
    {"mode", required_argument, 0, OPT_MODE},
    {"model-kv-bytes-per-token", required_argument, 0, OPT_KVB},
    {"concurrency", required_argument, 0, OPT_CONC},
    {"seed", required_argument, 0, OPT_SEED},
    {"prefill-tps", required_argument, 0, OPT_PREFILL_TPS},
    {"decode-tps", required_argument, 0, OPT_DECODE_TPS},
    {"servers", required_argument, 0, OPT_SERVERS},
    {"results", required_argument, 0, 'o'},
    {"context-cache", required_argument, 0, OPT_CTX},
    {"cacheable", required_argument, 0, OPT_CACHEABLE},
    {"implicit-cache", required_argument, 0, OPT_IMPLICIT},
    {"pricing", required_argument, 0, OPT_PRICING},
    {"input-price", required_argument, 0, OPT_IN_PRICE},
    {"output-price", required_argument, 0, OPT_OUT_PRICE},
    {"backend", required_argument, 0, OPT_BACKEND},
    {"hardware", required_argument, 0, OPT_HW},
    {"model", required_argument, 0, OPT_MODEL},
    {"instances", required_argument, 0, OPT_INST},
    {"router", required_argument, 0, OPT_ROUTER},
    {"scheduler", required_argument, 0, OPT_SCHED},
    {"max-batch-tokens", required_argument, 0, OPT_MBT},
    {"max-seqs", required_argument, 0, OPT_MSEQ},
    {"chunk-tokens", required_argument, 0, OPT_CHUNK},
    {"hbm-fraction", required_argument, 0, OPT_HBMF},
    {"preempt", required_argument, 0, OPT_PREEMPT},
    {"kv-overlap", required_argument, 0, OPT_OVERLAP},
    {"max-requests", required_argument, 0, OPT_MAXREQ},
    {"threads", required_argument, 0, OPT_THREADS},
    {"assume-prefix-share", required_argument, 0, OPT_SHARE},
    {"rate-scale", required_argument, 0, OPT_RATE_SCALE},
    {"no-cache", no_argument, 0, OPT_NO_CACHE},
    {"compare-no-cache", no_argument, 0, OPT_CMP_NO_CACHE},
    {"gpu-usd-per-hour", required_argument, 0, OPT_GPU_USD},
    {"tp", required_argument, 0, OPT_TP},
    {"semantic", no_argument, 0, OPT_SEMANTIC},
    {"embedder", required_argument, 0, OPT_EMBEDDER},
    {"threshold", required_argument, 0, OPT_THRESHOLD},
    {"semantic-lookup-ms", required_argument, 0, OPT_SEM_LOOKUP_MS},
    {"blend", no_argument, 0, OPT_BLEND},
    {"recompute-ratio", required_argument, 0, OPT_RECOMPUTE},
    {"blend-chunk-tokens", required_argument, 0, OPT_BLEND_CHUNK},
    {"trace-stats", no_argument, 0, OPT_TRACE_STATS},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static const char *policy_name(const cc_tier_config *tc)
{
    if (tc->policy_params.spec[0])
        return tc->policy_params.spec;
    return tc->policy ? tc->policy->name : "lru";
}

static double lookups_per_s(const cc_replay_result *r)
{
    return r->elapsed_s > 0 ? r->block_accesses / r->elapsed_s : 0;
}

/* What the simulator backend adds to the output (res NULL: backend rates). */
typedef struct sim_view {
    const cc_sim_result *res;
    const cc_sim_config *sc;
    const char *hardware, *model;
    const char *backend; /* "cpu", "cuda" (real engine) or NULL: sim */
    cli_real *real;      /* the real engine's counters, or NULL */
    int serial;          /* one request at a time per instance (serial_service) */
    int lengths_only;    /* the trace has no token ids and no block hashes (Azure) */
    int no_cache;        /* --no-cache */
    double share;        /* --assume-prefix-share, or -1 */
    double rate_scale;   /* --rate-scale (1: as recorded) */
    int semantic;        /* --semantic: the tier ran */
    const char *embedder;
    double sem_threshold, sem_lookup_ms;
    const cc_trace *trace;
    const cc_sim_result *prefix_only; /* --blend: the same run without blend */
    double token_hit_ratio;           /* the prefix tier's (res->cache is moved out) */
} sim_view;

/* The requests the model served (semantic misses and seeds) as a trace of
 * their own, for the bills: lengths, arrivals, tenants, blocks, token ids
 * and chunks (their kinds, token ranges and hashes: an explicit model's
 * cacheable prefix, --cacheable auto, is the system prompt chunk), no text.
 * 0 or the exit status. */
static int semantic_misses(const char *cmd, const cc_trace *t, const cc_sim_result *sr,
                           cc_trace *out)
{
    cc_err err = {0};
    out->block_size = t->block_size;
    out->timed = t->timed;
    out->epoch_ns = t->epoch_ns;
    snprintf(out->source, sizeof out->source, "%s", t->source);
    snprintf(out->source_format, sizeof out->source_format, "%s", t->source_format);
    for (size_t k = 0; k < t->n_tenants; k++) {
        uint32_t ix;
        if (cc_trace_tenant(out, t->tenants[k], &ix) != CC_OK || ix != k)
            goto oom;
    }
    cc_chunk *ch = NULL; /* the chunks without their text (blend bills need the hashes) */
    size_t cap_ch = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (sr->records[i].semantic >= CC_SIM_SEM_HIT)
            continue;
        cc_request r = cc_trace_get(t, i);
        if (r.n_chunks && cc_grow((void **)&ch, &cap_ch, r.n_chunks, sizeof *ch))
            goto oom;
        for (uint32_t c = 0; c < r.n_chunks; c++) {
            ch[c] = r.chunks[c];
            ch[c].text_off = 0;
            ch[c].text_len = 0;
        }
        r.chunks = r.n_chunks ? ch : NULL;
        r.embedding = NULL;
        if (cc_trace_append(out, &r) != CC_OK)
            goto oom;
    }
    free(ch);
    return 0;
oom:
    free(ch);
    cc_err_set(&err, CC_ENOMEM, t->source, 0, "requests", "out of memory for the bills' trace");
    return cli_fail(cmd, &err);
}


/* One unit for a whole distribution line, from its largest figure: ms below
 * 1 s, s below 10 min, min below 2 h, else h (a planner reads 37 min, not
 * 2.203e+06 ms). */
static double human_scale(double max_s, const char **unit)
{
    if (!(max_s >= 1.0)) {
        *unit = "ms";
        return 1e3;
    }
    if (max_s < 600) {
        *unit = "s";
        return 1;
    }
    if (max_s < 7200) {
        *unit = "min";
        return 1.0 / 60;
    }
    *unit = "h";
    return 1.0 / 3600;
}

static void print_dist(const char *label, const cc_sim_dist *d, const char *note)
{
    const char *unit;
    double hi = fmax(fmax(d->p99.value, d->p99.ci_hi), d->mean);
    double scale = human_scale(hi, &unit);
    printf("%-16s p50 %.4g [%.4g, %.4g]  p90 %.4g [%.4g, %.4g]  p99 %.4g [%.4g, %.4g]  "
           "mean %.4g %s%s\n", label, d->p50.value * scale, d->p50.ci_lo * scale,
           d->p50.ci_hi * scale, d->p90.value * scale, d->p90.ci_lo * scale, d->p90.ci_hi * scale,
           d->p99.value * scale, d->p99.ci_lo * scale, d->p99.ci_hi * scale, d->mean * scale,
           unit, note);
}

static void fmt_s(char *buf, size_t len, double s);

static void print_sim_text(const sim_view *sv, const cc_replay_result *cache)
{
    const cc_sim_summary *S = &sv->res->summary;
    const cc_sim_config *sc = sv->sc;
    printf("simulator        %s on %s, %u instance%s, router %s, scheduler %s, %u tokens and "
           "%u seqs per step, chunk %u, HBM KV %llu tokens, preempt %s, loads %s\n",
           sv->model, sv->hardware, sc->instances, sc->instances > 1 ? "s" : "",
           cc_sim_router_name(sc->router), cc_sim_sched_name(sc->scheduler),
           sc->max_batch_tokens, sc->max_seqs, sc->chunk_tokens,
           (unsigned long long)sc->hbm_kv_tokens, cc_sim_preempt_name(sc->preempt),
           sc->kv_overlap == CC_SIM_XFER_LAYERWISE ? "layerwise" : "serial");
    if (sv->real)
        cli_real_text(sv->real, stdout);
    print_dist("ttft", &S->ttft_s,
               sv->serial ? " (95% bootstrap CIs; SERIAL SERVICE: one request at a time, "
                            "TTFT includes the wait behind every earlier request)"
                          : " (95% bootstrap CIs)");
    print_dist("tpot", &S->tpot_s, "");
    print_dist("e2e", &S->e2e_s, "");
    print_dist("queue", &S->queue_s, "");
    printf("throughput       %.6g tokens/s (%.6g output tokens/s), %.6g requests/s over %.6g "
           "s; %llu steps, %llu preemptions\n", S->throughput_tokens_per_s,
           S->output_tokens_per_s, S->requests_per_s, S->makespan_s,
           (unsigned long long)S->steps, (unsigned long long)S->preemptions);
    char saved[48], busy[48], span[48];
    fmt_s(saved, sizeof saved, S->prefill_gpu_s_saved);
    fmt_s(busy, sizeof busy, S->busy_s);
    fmt_s(span, sizeof span, S->makespan_s);
    printf("prefill saved    %s of prefill GPU time saved by caching (each request's prefill "
           "priced alone, with and without its cached tokens); GPUs busy %s of the %s run\n",
           S->prefill_gpu_s_saved == 0 ? "0 s" : saved, busy, span);
    if (sc->blend) {
        printf("blend            %llu tokens served by reused chunks beyond the prefix "
               "(blend_token_hit_ratio %.4f), %llu of them recomputed (ratio %g)\n",
               (unsigned long long)S->blend_tokens, S->blend_token_hit_ratio,
               (unsigned long long)S->blend_recompute_tokens, sc->blend_recompute_ratio);
        if (sv->prefix_only) {
            const cc_sim_summary *P = &sv->prefix_only->summary;
            char a[48], b[48], c[48], d[48];
            fmt_s(a, sizeof a, P->ttft_s.p50.value);
            fmt_s(b, sizeof b, P->ttft_s.p99.value);
            fmt_s(c, sizeof c, S->ttft_s.p50.value);
            fmt_s(d, sizeof d, S->ttft_s.p99.value);
            printf("without blend    ttft p50 %s, p99 %s, token hit ratio %.4f (with blend: %s, "
                   "%s, %.4f; the same run%s without blend beside it)\n", a, b,
                   sv->prefix_only->cache.token_hit_ratio, c, d, sv->token_hit_ratio,
                   sv->semantic ? ", semantic tier included," : "");
            /* chunk blocks live in the prefix cache's tiers (docs/blend.md): under
             * pressure they push prefix blocks out, which can cost more prefix
             * hits than blend serves, and TTFT then rises with blend */
            const cc_replay_result *pc = &sv->prefix_only->cache, *bc = cache;
            double lost = pc->token_hit_ratio - bc->token_hit_ratio;
            printf("blend vs prefix  token hit ratio: prefix %.4f -> %.4f with blend (%+.4f), "
                   "blend %+.4f; evictions %llu -> %llu (%s)%s\n",
                   pc->token_hit_ratio, bc->token_hit_ratio,
                   bc->token_hit_ratio - pc->token_hit_ratio, S->blend_token_hit_ratio,
                   (unsigned long long)pc->evictions, (unsigned long long)bc->evictions,
                   sc->concurrency == CC_CONCURRENCY_NONE ? "chunk blocks in a twin cache"
                                                          : "chunk blocks share the tiers",
                   lost > S->blend_token_hit_ratio
                       ? ": the chunk blocks displaced more prefix hits than blend serves"
                       : "");
        }
    }
}

/* ---- --compare-no-cache ---------------------------------------------------- */

/* What caching saves: the run as configured against the same run with no
 * block shared between requests (same trace lengths, arrivals, scheduler,
 * hardware), side by side. */
typedef struct nc_view {
    const cc_sim_summary *with, *without;
    double prefill_with_s, prefill_without_s; /* sums of the records' prefill_s */
    const cc_sim_result *with_res; /* the run with the cache: its records */
    const cli_pricing *pr; /* the bills with the cache (NULL: no --pricing) */
    double gpu_usd_per_hour;
} nc_view;

/* A bill without caching: every input token at the input price, every output
 * token at the output price (no writes, reads, storage or fees). */
static double bill_no_cache(const cli_pricing *pr, size_t i)
{
    cc_pricing m = cc_pricing_apply(&pr->models[i], &pr->run);
    const cc_bill *b = &pr->bills[i];
    return ((double)b->input_tokens * m.input_usd_per_mtok +
            (double)b->output_tokens * m.output_usd_per_mtok) / 1e6;
}

static double prefill_sum_s(const cc_sim_result *res)
{
    double s = 0;
    for (size_t i = 0; i < res->n; i++)
        s += res->records[i].prefill_s;
    return s;
}

static void fmt_s(char *buf, size_t len, double s)
{
    const char *unit;
    double k = human_scale(s, &unit);
    snprintf(buf, len, "%.4g %s", s * k, unit);
}

static void nc_row(const char *label, double with, double without, int seconds, const char *tail)
{
    char a[48], b[48], d[48], m[48];
    if (seconds) {
        fmt_s(a, sizeof a, with);
        fmt_s(b, sizeof b, without);
        fmt_s(m, sizeof m, fabs(without - with)); /* the unit of the magnitude */
        snprintf(d, sizeof d, "%s%s", without < with ? "-" : "", m);
    } else {
        snprintf(a, sizeof a, "$%.6g", with);
        snprintf(b, sizeof b, "$%.6g", without);
        snprintf(d, sizeof d, "$%.6g", without - with);
    }
    char pct[32] = "";
    if (without > 0)
        snprintf(pct, sizeof pct, " (%.1f %%)", 100 * (without - with) / without);
    printf("%-16s %-16s %-16s %s%s%s\n", label, a, b, d, pct, tail);
}

static void print_no_cache_text(const nc_view *nv)
{
    const cc_sim_summary *W = nv->with, *N = nv->without;
    printf("no cache         the same run with every block computed (--compare-no-cache)\n");
    printf("%-16s %-16s %-16s %s\n", "", "with cache", "no cache", "caching saves");
    nc_row("ttft p50", W->ttft_s.p50.value, N->ttft_s.p50.value, 1, "");
    nc_row("ttft p99", W->ttft_s.p99.value, N->ttft_s.p99.value, 1, "");
    /* priced alone, as the 'prefill saved' line: the saving is that line's */
    double alone = 0, full = 0;
    for (size_t i = 0; nv->with_res && i < nv->with_res->n; i++) {
        alone += nv->with_res->records[i].prefill_alone_s;
        full += nv->with_res->records[i].prefill_full_s;
    }
    nc_row("prefill GPU", alone, full, 1, " (each request priced alone, as 'prefill saved')");
    nc_row("GPU busy", W->busy_s, N->busy_s, 1, " (all steps, decode included)");
    char tail[64];
    snprintf(tail, sizeof tail, " at $%g per GPU-hour", nv->gpu_usd_per_hour);
    nc_row("GPU cost", W->busy_s * nv->gpu_usd_per_hour / 3600,
           N->busy_s * nv->gpu_usd_per_hour / 3600, 0, tail);
    for (size_t i = 0; nv->pr && i < nv->pr->n; i++) {
        char label[48];
        snprintf(label, sizeof label, "bill %s", nv->pr->bills[i].name);
        nc_row(label, nv->pr->bills[i].total_usd, bill_no_cache(nv->pr, i), 0, "");
    }
    /* GPUs busy the whole span either way: what caching saved did not
     * become idle GPU time, so the GPU cost hardly moves (say so, rather
     * than leave 63 % of prefill against 0.1 % of GPU time unexplained) */
    if (W->makespan_s > 0 && N->makespan_s > 0 && W->busy_s >= 0.95 * W->makespan_s &&
        N->busy_s >= 0.95 * N->makespan_s)
        printf("note             the GPUs were busy for %.0f %% of the run with the cache and "
               "%.0f %% without: requests keep arriving and decoding, so steps run back to "
               "back either way; caching shows here in TTFT and in the bills, and in capacity "
               "as a higher rate before the TTFT SLO breaks (ctxcache plan)\n",
               100 * W->busy_s / W->makespan_s, 100 * N->busy_s / N->makespan_s);
}

static void nc_json(const nc_view *nv, json_t *o)
{
    const cc_sim_summary *W = nv->with, *N = nv->without;
    double usd = nv->gpu_usd_per_hour / 3600;
    json_t *n = json_object(), *d = json_object(), *nb = json_object(), *db = json_object();
    json_object_set_new(n, "ttft_p50_s", json_real(N->ttft_s.p50.value));
    json_object_set_new(n, "ttft_p99_s", json_real(N->ttft_s.p99.value));
    json_object_set_new(n, "tpot_p50_s", json_real(N->tpot_s.p50.value));
    json_object_set_new(n, "throughput_tokens_per_s", json_real(N->throughput_tokens_per_s));
    json_object_set_new(n, "gpu_busy_s", json_real(N->busy_s));
    json_object_set_new(n, "prefill_gpu_s", json_real(nv->prefill_without_s));
    json_object_set_new(n, "gpu_usd", json_real(N->busy_s * usd));
    json_object_set_new(d, "ttft_p50_s", json_real(N->ttft_s.p50.value - W->ttft_s.p50.value));
    json_object_set_new(d, "ttft_p99_s", json_real(N->ttft_s.p99.value - W->ttft_s.p99.value));
    json_object_set_new(d, "gpu_busy_s", json_real(N->busy_s - W->busy_s));
    json_object_set_new(d, "prefill_gpu_s", json_real(nv->prefill_without_s - nv->prefill_with_s));
    json_object_set_new(d, "gpu_usd", json_real((N->busy_s - W->busy_s) * usd));
    for (size_t i = 0; nv->pr && i < nv->pr->n; i++) {
        double b = bill_no_cache(nv->pr, i);
        json_object_set_new(nb, nv->pr->bills[i].name, json_real(b));
        json_object_set_new(db, nv->pr->bills[i].name, json_real(b - nv->pr->bills[i].total_usd));
    }
    json_object_set_new(n, "cost", nb);
    json_object_set_new(d, "cost", db);
    json_object_set_new(o, "gpu_usd_per_hour", json_real(nv->gpu_usd_per_hour));
    json_object_set_new(o, "gpu_usd", json_real(W->busy_s * usd));
    json_object_set_new(o, "prefill_gpu_s", json_real(nv->prefill_with_s));
    json_object_set_new(o, "no_cache", n);
    json_object_set_new(o, "caching_saves", d);
}

static void json_pct(json_t *o, const char *name, const char *q, const cc_sim_pct *p)
{
    char k[64];
    snprintf(k, sizeof k, "%s_%s_s", name, q);
    json_object_set_new(o, k, json_real(p->value));
    snprintf(k, sizeof k, "%s_%s_s_ci_lo", name, q);
    json_object_set_new(o, k, json_real(p->ci_lo));
    snprintf(k, sizeof k, "%s_%s_s_ci_hi", name, q);
    json_object_set_new(o, k, json_real(p->ci_hi));
}

static void json_dist(json_t *o, const char *name, const cc_sim_dist *d)
{
    json_pct(o, name, "p50", &d->p50);
    json_pct(o, name, "p90", &d->p90);
    json_pct(o, name, "p99", &d->p99);
    char k[64];
    snprintf(k, sizeof k, "%s_mean_s", name);
    json_object_set_new(o, k, json_real(d->mean));
}

static void sim_json(const sim_view *sv, json_t *o)
{
    json_object_set_new(o, "backend",
                        json_string(sv->backend ? sv->backend : sv->res ? "sim" : "rates"));
    json_object_set_new(o, "serial_service", json_boolean(sv->serial));
    json_object_set_new(o, "lengths_only", json_boolean(sv->lengths_only));
    json_object_set_new(o, "assumed_prefix_share",
                        sv->lengths_only && sv->share >= 0 && !sv->no_cache ? json_real(sv->share)
                                                                            : json_null());
    json_object_set_new(o, "no_cache", json_boolean(sv->no_cache));
    json_object_set_new(o, "rate_scale", json_real(sv->rate_scale));
    if (sv->real)
        cli_real_json(sv->real, o);
    if (!sv->res)
        return;
    const cc_sim_summary *S = &sv->res->summary;
    const cc_sim_config *sc = sv->sc;
    json_object_set_new(o, "hardware", json_string(sv->hardware));
    json_object_set_new(o, "model", json_string(sv->model));
    json_object_set_new(o, "instances", json_integer(sc->instances));
    json_object_set_new(o, "router", json_string(cc_sim_router_name(sc->router)));
    json_object_set_new(o, "scheduler", json_string(cc_sim_sched_name(sc->scheduler)));
    json_object_set_new(o, "max_batch_tokens", json_integer(sc->max_batch_tokens));
    json_object_set_new(o, "max_seqs", json_integer(sc->max_seqs));
    json_object_set_new(o, "chunk_tokens", json_integer(sc->chunk_tokens));
    json_object_set_new(o, "hbm_kv_tokens", json_integer((json_int_t)sc->hbm_kv_tokens));
    json_object_set_new(o, "preempt", json_string(cc_sim_preempt_name(sc->preempt)));
    json_object_set_new(o, "kv_overlap", json_string(sc->kv_overlap == CC_SIM_XFER_LAYERWISE
                                                         ? "layerwise" : "serial"));
    json_dist(o, "ttft", &S->ttft_s);
    json_dist(o, "tpot", &S->tpot_s);
    json_dist(o, "e2e", &S->e2e_s);
    json_dist(o, "queue", &S->queue_s);
    json_object_set_new(o, "throughput_tokens_per_s", json_real(S->throughput_tokens_per_s));
    json_object_set_new(o, "output_tokens_per_s", json_real(S->output_tokens_per_s));
    json_object_set_new(o, "requests_per_s", json_real(S->requests_per_s));
    json_object_set_new(o, "makespan_s", json_real(S->makespan_s));
    json_object_set_new(o, "prefill_gpu_s_saved", json_real(S->prefill_gpu_s_saved));
    json_object_set_new(o, "gpu_busy_s", json_real(S->busy_s));
    json_object_set_new(o, "preemptions", json_integer((json_int_t)S->preemptions));
    json_object_set_new(o, "steps", json_integer((json_int_t)S->steps));
    json_t *ct = json_array();
    for (uint32_t k = 0; k < sv->res->n_tiers; k++)
        json_array_append_new(ct, json_integer((json_int_t)S->cached_tokens_tier[k]));
    json_object_set_new(o, "cached_tokens_by_tier", ct);
    if (sv->semantic) {
        json_object_set_new(o, "semantic", json_true());
        const cc_trace *t = sv->trace;
        bool groups = false;
        for (size_t i = 0; t->group_id && i < t->n && !groups; i++)
            groups = t->group_id[i] != CC_NO_GROUP;
        double q = (double)S->semantic_queries;
        json_object_set_new(o, "semantic_embedder", json_string(sv->embedder));
        json_object_set_new(o, "semantic_threshold", json_real(sv->sem_threshold));
        json_object_set_new(o, "semantic_lookup_ms", json_real(sv->sem_lookup_ms));
        json_object_set_new(o, "semantic_write_back",
                            json_string(t->timed ? "finish" : "arrival"));
        json_object_set_new(o, "semantic_queries", json_integer((json_int_t)S->semantic_queries));
        json_object_set_new(o, "semantic_hits", json_integer((json_int_t)S->semantic_hits));
        json_object_set_new(o, "semantic_false_hits",
                            groups ? json_integer((json_int_t)S->semantic_false_hits) : json_null());
        json_object_set_new(o, "semantic_hit_ratio",
                            json_real(q > 0 ? (double)S->semantic_hits / q : 0));
        json_object_set_new(o, "semantic_false_hit_ratio",
                            groups ? json_real(q > 0 ? (double)S->semantic_false_hits / q : 0)
                                   : json_null());
        json_dist(o, "ttft_semantic_hit", &S->ttft_semantic_hit_s);
        json_dist(o, "ttft_semantic_miss", &S->ttft_semantic_miss_s);
    }
    if (sc->blend) {
        json_object_set_new(o, "blend", json_true());
        json_object_set_new(o, "recompute_ratio", json_real(sc->blend_recompute_ratio));
        json_object_set_new(o, "blend_chunk_tokens", json_integer(sc->blend_chunk_tokens));
        json_object_set_new(o, "blend_tokens", json_integer((json_int_t)S->blend_tokens));
        json_object_set_new(o, "blend_recompute_tokens",
                            json_integer((json_int_t)S->blend_recompute_tokens));
        json_object_set_new(o, "blend_token_hit_ratio", json_real(S->blend_token_hit_ratio));
        double pf = 0;
        for (size_t i = 0; i < sv->res->n; i++)
            pf += sv->res->records[i].prefill_s;
        json_object_set_new(o, "prefill_gpu_s_total", json_real(pf));
    }
    if (sv->prefix_only) {
        const cc_sim_summary *P = &sv->prefix_only->summary;
        json_t *po = json_object();
        json_dist(po, "ttft", &P->ttft_s);
        double pf = 0;
        for (size_t i = 0; i < sv->prefix_only->n; i++)
            pf += sv->prefix_only->records[i].prefill_s;
        json_object_set_new(po, "prefill_gpu_s_total", json_real(pf));
        json_object_set_new(po, "gpu_busy_s", json_real(P->busy_s));
        json_object_set_new(po, "makespan_s", json_real(P->makespan_s));
        json_object_set_new(po, "token_hit_ratio",
                            json_real(sv->prefix_only->cache.token_hit_ratio));
        json_object_set_new(po, "evictions",
                            json_integer((json_int_t)sv->prefix_only->cache.evictions));
        json_object_set_new(o, "prefix_only", po);
    }
}

static void print_text(const cc_trace *t, const cc_pc_config *cfg, const cc_replay_result *r,
                       const cc_trace_stats *s, uint64_t kvb_token, const sim_view *sv)
{
    printf("trace            %s (%s): %zu requests, %llu block accesses, %u tokens per block\n",
           t->source, t->source_format, r->requests, (unsigned long long)r->block_accesses,
           t->block_size);
    if (t->read_warnings) /* records the reader skipped (request logs) */
        printf("warnings         %llu record%s skipped while reading (first: %s)\n",
               (unsigned long long)t->read_warnings, t->read_warnings == 1 ? "" : "s",
               t->read_warning);
    if (sv->lengths_only && sv->share > 0 && !sv->no_cache)
        printf("content          lengths only (no token ids, no block hashes): assumed shared "
               "prompt = the first %.4g of each input, in whole %u-token blocks; every other "
               "token is new\n", sv->share, t->block_size);
    else if (sv->lengths_only)
        printf("content          lengths only (no token ids, no block hashes): every token is "
               "new, no reuse is possible (--assume-prefix-share F models a shared prompt)\n");
    if (sv->no_cache)
        printf("cache off        --no-cache: every request computes all its blocks (no block "
               "is shared between requests)\n");
    if (sv->rate_scale != 1)
        printf("rate scale       %g x the trace's arrival rate (arrival times divided by %g)\n",
               sv->rate_scale, sv->rate_scale);
    printf("cache            %s mode, concurrency %s, %u tier%s, %.1f metadata bytes per block\n",
           cfg->mode == CC_PC_PREFIX ? "prefix" : "independent",
           cc_concurrency_name(r->concurrency), r->n_tiers,
           r->n_tiers > 1 ? "s" : "", r->metadata_bytes_per_block);
    printf("hit ratio        %.4f of blocks, %.4f of tokens, %.4f mean per request\n",
           r->block_hit_ratio, r->token_hit_ratio, r->request_hit_ratio_mean);
    if (sv->semantic && sv->res) {
        const cc_sim_summary *S = &sv->res->summary;
        double q = S->semantic_queries ? (double)S->semantic_queries : 1;
        char hit[48], miss[48];
        fmt_s(hit, sizeof hit, S->ttft_semantic_hit_s.p50.value);
        fmt_s(miss, sizeof miss, S->ttft_semantic_miss_s.p50.value);
        printf("semantic         %s, threshold %.4g, %.4g ms a lookup: %llu of %llu queries "
               "answered from the cache (%.4f), %llu false hit%s (%.4f); TTFT p50 %s on "
               "hits, %s on misses (prefix tier figures above: misses and seeds only)\n",
               sv->embedder, sv->sem_threshold, sv->sem_lookup_ms,
               (unsigned long long)S->semantic_hits, (unsigned long long)S->semantic_queries,
               (double)S->semantic_hits / q, (unsigned long long)S->semantic_false_hits,
               S->semantic_false_hits == 1 ? "" : "s", (double)S->semantic_false_hits / q, hit,
               miss);
        if (!sv->trace->timed)
            printf("semantic order   untimed trace: requests looked up in file order, each "
                   "answer written back at its arrival (before the next lookup)\n");
    }
    if (isnan(s->ideal_block_hit_ratio))
        printf("ideal            not computed: the trace was streamed (--trace-stats reads it "
               "whole and computes the infinite-cache ratios)\n");
    else
        printf("ideal            %.4f of blocks, %.4f of tokens (infinite cache, prefix rule)\n",
               s->ideal_block_hit_ratio, s->ideal_token_hit_ratio);
    printf("evictions        %llu blocks left the cache\n", (unsigned long long)r->evictions);
    if (r->expirations)
        printf("expirations      %llu blocks timed out\n", (unsigned long long)r->expirations);
    if (r->has_context_cache) {
        const cc_ctx_stats *x = &r->explicit_cache;
        printf("explicit cache   %s (ttl %g s, %s, min %u tokens): %llu objects created (%llu "
               "tokens), %llu hits serving %llu tokens (implicit %llu), %llu expired, %llu "
               "deleted, %llu held at end, %.6g token-seconds stored\n",
               r->context_cache.style.name, r->context_cache.style.ttl_s,
               r->context_cache.style.refresh ? "refreshed on hit" : "fixed",
               r->context_cache.style.min_tokens, (unsigned long long)x->created,
               (unsigned long long)x->created_tokens, (unsigned long long)x->hits,
               (unsigned long long)x->hit_tokens, (unsigned long long)r->implicit_hit_tokens,
               (unsigned long long)x->expired, (unsigned long long)x->deleted,
               (unsigned long long)x->held_at_end, x->token_seconds_stored);
    }
    char moved[32], kvt[32];
    cc_fmt_bytes((double)r->bytes_moved, moved, sizeof moved);
    cc_fmt_bytes((double)kvb_token, kvt, sizeof kvt);
    printf("moved            %llu blocks, %s between tiers (KV %s per token)\n",
           (unsigned long long)r->blocks_moved, moved, kvt);
    if (r->no_room_blocks)
        printf("no room          %llu blocks not cached or not promoted (tier full of pinned "
               "blocks)\n", (unsigned long long)r->no_room_blocks);
    char servers[32] = "unlimited";
    if (sv->res)
        print_sim_text(sv, r);
    else if (r->servers)
        snprintf(servers, sizeof servers, "%u", r->servers);
    if (!sv->res)
        printf("service          prefill %g tok/s, decode %g tok/s, %s servers; last finish at "
           "%.3f s, mean queue wait %.3f s, at most %u in flight (service-time model%s)\n",
           r->prefill_tokens_per_s, r->decode_tokens_per_s, servers, r->last_finish_ns * 1e-9,
           r->requests ? cc_ns_sum_double(r->queue_wait_ns) * 1e-9 / r->requests : 0,
           r->max_in_flight,
           sv->serial ? "; SERIAL SERVICE: one request at a time" : "");
    if (r->concurrency == CC_CONCURRENCY_DEDUP)
        printf("dedup            %llu blocks (%llu tokens) waited for instead of computed; "
               "%.3f s waited in all\n", (unsigned long long)r->dedup_blocks,
               (unsigned long long)r->dedup_tokens, cc_ns_sum_double(r->dedup_wait_ns) * 1e-9);
    for (uint32_t k = 0; k < r->n_tiers; k++) {
        const cc_tier_stats *ts = &r->tiers[k];
        char up[32], down[32];
        cc_fmt_bytes((double)ts->bytes_up, up, sizeof up);
        cc_fmt_bytes((double)ts->bytes_down, down, sizeof down);
        printf("tier %-11s %llu blocks, %s: served %llu blocks (%.4f), %llu tokens; stored %llu; "
               "promoted up %llu; demoted in %llu; evicted %llu (dropped %llu); %s up, "
               "%s down\n",
               cfg->tiers[k].name, (unsigned long long)r->capacity_blocks[k],
               policy_name(&cfg->tiers[k]), (unsigned long long)ts->hit_blocks,
               r->block_accesses ? (double)ts->hit_blocks / r->block_accesses : 0,
               (unsigned long long)ts->hit_tokens, (unsigned long long)ts->inserted_blocks,
               (unsigned long long)ts->promoted_blocks,
               (unsigned long long)ts->demoted_in_blocks, (unsigned long long)ts->evicted_blocks,
               (unsigned long long)ts->dropped_blocks, up, down);
    }
    printf("speed            %.3f s, %.2f M block lookups/s (wall clock, not a result)\n",
           r->elapsed_s, lookups_per_s(r) / 1e6);
}

static int print_json(const cc_trace *t, const cc_pc_config *cfg, const cc_replay_result *r,
                      const cc_trace_stats *s, uint64_t kvb_token, const cli_pricing *pr,
                      const sim_view *sv, const nc_view *nv)
{
    json_t *o = json_object();
    sim_json(sv, o);
    if (nv)
        nc_json(nv, o);
    if (pr)
        cli_pricing_json(pr, o);
    json_object_set_new(o, "trace", json_string(t->source));
    json_object_set_new(o, "format", json_string(t->source_format));
    json_object_set_new(o, "read_warnings", json_integer((json_int_t)t->read_warnings));
    if (t->read_warnings)
        json_object_set_new(o, "first_read_warning", json_string(t->read_warning));
    json_object_set_new(o, "mode", json_string(cfg->mode == CC_PC_PREFIX ? "prefix" : "independent"));
    json_object_set_new(o, "concurrency", json_string(cc_concurrency_name(r->concurrency)));
    /* the fixed rates of backend rates (null under the simulator) */
    json_object_set_new(o, "prefill_tokens_per_s",
                        sv->res ? json_null() : json_real(r->prefill_tokens_per_s));
    json_object_set_new(o, "decode_tokens_per_s",
                        sv->res || isinf(r->decode_tokens_per_s) ? json_null()
                                                                 : json_real(r->decode_tokens_per_s));
    json_object_set_new(o, "servers", json_integer(r->servers));
    json_object_set_new(o, "computed_tokens", json_integer((json_int_t)r->computed_tokens));
    json_object_set_new(o, "dedup_blocks", json_integer((json_int_t)r->dedup_blocks));
    json_object_set_new(o, "dedup_tokens", json_integer((json_int_t)r->dedup_tokens));
    /* sums over requests: exact in ns while they fit int64 (always but on
     * centuries-long serial queues), and in seconds always */
    int64_t wait_ns;
    if (cc_ns_sum_i64(r->dedup_wait_ns, &wait_ns))
        json_object_set_new(o, "dedup_wait_ns", json_integer((json_int_t)wait_ns));
    if (cc_ns_sum_i64(r->queue_wait_ns, &wait_ns))
        json_object_set_new(o, "queue_wait_ns", json_integer((json_int_t)wait_ns));
    json_object_set_new(o, "dedup_wait_s", json_real(cc_ns_sum_double(r->dedup_wait_ns) * 1e-9));
    json_object_set_new(o, "queue_wait_s", json_real(cc_ns_sum_double(r->queue_wait_ns) * 1e-9));
    json_object_set_new(o, "last_finish_ns", json_integer((json_int_t)r->last_finish_ns));
    json_object_set_new(o, "max_in_flight", json_integer(r->max_in_flight));
    json_object_set_new(o, "block_size", json_integer(t->block_size));
    json_object_set_new(o, "kv_bytes_per_token", json_integer((json_int_t)kvb_token));
    json_object_set_new(o, "kv_bytes_per_block", json_integer((json_int_t)cfg->kv_bytes_per_block));
    json_object_set_new(o, "requests", json_integer((json_int_t)r->requests));
    json_object_set_new(o, "block_accesses", json_integer((json_int_t)r->block_accesses));
    json_object_set_new(o, "input_tokens", json_integer((json_int_t)r->input_tokens));
    json_object_set_new(o, "hit_blocks", json_integer((json_int_t)r->hit_blocks));
    json_object_set_new(o, "hit_tokens", json_integer((json_int_t)r->hit_tokens));
    json_object_set_new(o, "block_hit_ratio", json_real(r->block_hit_ratio));
    json_object_set_new(o, "token_hit_ratio", json_real(r->token_hit_ratio));
    json_object_set_new(o, "request_hit_ratio_mean", json_real(r->request_hit_ratio_mean));
    /* null: not computed (a streamed run without --trace-stats) */
    json_object_set_new(o, "ideal_block_hit_ratio", isnan(s->ideal_block_hit_ratio)
                                                        ? json_null()
                                                        : json_real(s->ideal_block_hit_ratio));
    json_object_set_new(o, "ideal_token_hit_ratio", isnan(s->ideal_token_hit_ratio)
                                                        ? json_null()
                                                        : json_real(s->ideal_token_hit_ratio));
    json_object_set_new(o, "evictions", json_integer((json_int_t)r->evictions));
    json_object_set_new(o, "expirations", json_integer((json_int_t)r->expirations));
    json_object_set_new(o, "blocks_moved", json_integer((json_int_t)r->blocks_moved));
    json_object_set_new(o, "bytes_moved", json_integer((json_int_t)r->bytes_moved));
    json_object_set_new(o, "no_room_blocks", json_integer((json_int_t)r->no_room_blocks));
    json_object_set_new(o, "metadata_bytes_per_block", json_real(r->metadata_bytes_per_block));
    json_object_set_new(o, "elapsed_s", json_real(r->elapsed_s));
    json_object_set_new(o, "block_lookups_per_s", json_real(lookups_per_s(r)));
    json_t *tiers = json_array();
    for (uint32_t k = 0; k < r->n_tiers; k++) {
        const cc_tier_stats *ts = &r->tiers[k];
        const cc_tier_config *tc = &cfg->tiers[k];
        json_t *x = json_object();
        json_object_set_new(x, "name", json_string(tc->name));
        json_object_set_new(x, "capacity_blocks", json_integer((json_int_t)r->capacity_blocks[k]));
        json_object_set_new(x, "policy", json_string(policy_name(tc)));
        json_object_set_new(x, "bandwidth_bytes_per_s", json_real(tc->bandwidth_bytes_per_s));
        json_object_set_new(x, "latency_s", json_real(tc->latency_s));
        json_object_set_new(x, "hit_blocks", json_integer((json_int_t)ts->hit_blocks));
        json_object_set_new(x, "hit_tokens", json_integer((json_int_t)ts->hit_tokens));
        json_object_set_new(x, "block_hit_ratio",
                            json_real(r->block_accesses ? (double)ts->hit_blocks / r->block_accesses : 0));
        json_object_set_new(x, "token_hit_ratio",
                            json_real(r->input_tokens ? (double)ts->hit_tokens / r->input_tokens : 0));
        json_object_set_new(x, "inserted_blocks", json_integer((json_int_t)ts->inserted_blocks));
        json_object_set_new(x, "promoted_blocks", json_integer((json_int_t)ts->promoted_blocks));
        json_object_set_new(x, "demoted_in_blocks", json_integer((json_int_t)ts->demoted_in_blocks));
        json_object_set_new(x, "evicted_blocks", json_integer((json_int_t)ts->evicted_blocks));
        json_object_set_new(x, "dropped_blocks", json_integer((json_int_t)ts->dropped_blocks));
        json_object_set_new(x, "rejected_blocks", json_integer((json_int_t)ts->rejected_blocks));
        json_object_set_new(x, "bytes_up", json_integer((json_int_t)ts->bytes_up));
        json_object_set_new(x, "bytes_down", json_integer((json_int_t)ts->bytes_down));
        json_array_append_new(tiers, x);
    }
    json_object_set_new(o, "tiers", tiers);
    if (r->has_context_cache) {
        const cc_ctx_stats *x = &r->explicit_cache;
        const cc_ctx_style *st = &r->context_cache.style;
        json_t *e = json_object();
        json_object_set_new(e, "style", json_string(st->name));
        json_object_set_new(e, "ttl_s", json_real(st->ttl_s));
        json_object_set_new(e, "refresh", json_boolean(st->refresh));
        json_object_set_new(e, "min_tokens", json_integer(st->min_tokens));
        json_object_set_new(e, "objects_created", json_integer((json_int_t)x->created));
        json_object_set_new(e, "created_tokens", json_integer((json_int_t)x->created_tokens));
        json_object_set_new(e, "too_small", json_integer((json_int_t)x->too_small));
        json_object_set_new(e, "no_room", json_integer((json_int_t)x->no_room));
        json_object_set_new(e, "hits", json_integer((json_int_t)x->hits));
        json_object_set_new(e, "tokens_served", json_integer((json_int_t)x->hit_tokens));
        json_object_set_new(e, "expired", json_integer((json_int_t)x->expired));
        json_object_set_new(e, "deleted", json_integer((json_int_t)x->deleted));
        json_object_set_new(e, "held_at_end", json_integer((json_int_t)x->held_at_end));
        json_object_set_new(e, "max_live", json_integer((json_int_t)x->max_live));
        json_object_set_new(e, "token_seconds_stored", json_real(x->token_seconds_stored));
        json_object_set_new(o, "explicit_cache", e);
        json_object_set_new(o, "implicit_hit_tokens", json_integer((json_int_t)r->implicit_hit_tokens));
    }
    int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    putchar('\n');
    json_decref(o);
    return rc == 0 ? 0 : 3;
}

/* A rate in tokens/s: a positive number or "inf". */
static int parse_rate(const char *cmd, const char *opt, const char *s, double *out)
{
    if (!strcmp(s, "inf")) {
        *out = INFINITY;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v > 0) || isinf(v))
        return cli_usage_error(cmd, "%s: expected a positive number of tokens/s or inf, got '%s'",
                               opt, s);
    *out = v;
    return 0;
}

/* A finite number >= 0 (what: the expectation for the message). */
static int parse_number(const char *cmd, const char *opt, const char *s, const char *what,
                        double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < 0)
        return cli_usage_error(cmd, "%s: expected %s, got '%s'", opt, what, s);
    *out = v;
    return 0;
}

/* The results file's /config (analysis/results.h): every option as resolved,
 * as name/value strings (names are the long options; -o and --json, which
 * say where output goes, are left out). */
#define CFG_MAX 48
typedef struct cfg_list {
    size_t n;
    const char *name[CFG_MAX], *value[CFG_MAX];
    char buf[CFG_MAX][48];
} cfg_list;

static void cfg_str(cfg_list *L, const char *name, const char *v)
{
    if (L->n < CFG_MAX) {
        L->name[L->n] = name;
        L->value[L->n++] = v ? v : "";
    }
}

static void cfg_num(cfg_list *L, const char *name, double v)
{
    if (L->n < CFG_MAX) {
        snprintf(L->buf[L->n], sizeof L->buf[L->n], "%.15g", v);
        if (strtod(L->buf[L->n], NULL) != v) /* the shortest that reads back exactly */
            snprintf(L->buf[L->n], sizeof L->buf[L->n], "%.17g", v);
        cfg_str(L, name, L->buf[L->n]);
    }
}

/* argv as given ("replay", options, trace), with the -o/--results value
 * written as RESULTS so that a file's bytes do not depend on where it was
 * written. */
static void given_argv(int argc, char **argv, const char **out)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i > 0 && (!strcmp(argv[i - 1], "-o") || !strcmp(argv[i - 1], "--results")))
            a = "RESULTS";
        else if (!strncmp(a, "--results=", 10))
            a = "--results=RESULTS";
        else if (!strncmp(a, "-o", 2) && a[2])
            a = "-oRESULTS";
        out[i] = a;
    }
}

static int replay_main(int argc, char **argv, const char *const *given);

/* Tokens per block of the chains made for traces with lengths only (vLLM's
 * default block size). */
#define LENGTHS_ONLY_BLOCK_TOKENS 16u

/* --compare-no-cache: t replayed again with every request's blocks its own
 * (t's chains are replaced), the cost model of hw and model, sc and cfg as
 * the first run had them, no records and no context cache. */
static int run_no_cache(cc_trace *t, const cc_pc_config *cfg, const cc_replay_opts *ro,
                        const cc_sim_config *sc, const cc_sim_hw *hw, const cc_sim_model *model,
                        cc_sim_result *out, cc_err *err)
{
    int rc = cc_trace_synth_blocks(t, t->block_size, 0, err);
    if (rc != CC_OK)
        return rc;
    cc_replay_opts o = *ro;
    o.keep_records = false;
    o.context_cache = NULL;
    cc_executor ex = {0};
    cc_costmodel_opts copts;
    cc_costmodel_opts_default(&copts);
    if ((rc = cc_costmodel_create(hw, model, &copts, &ex, err)) != CC_OK)
        return rc;
    cc_sim_config nsc = *sc;
    nsc.blend = 0; /* no caching at all: no chunk reuse either */
    rc = cc_sim_run(t, cfg, &o, &nsc, &ex, 1, out, err);
    cc_executor_free(&ex);
    return rc;
}

/* --rate-scale K: arrival times divided by K (K times the arrival rate). */
static int scale_arrivals(const char *cmd, cc_trace *t, double k)
{
    if (!t->timed)
        return cli_usage_error(cmd, "--rate-scale: the trace has no arrival times (every "
                                    "request arrives at 0), so there is no rate to scale");
    int64_t last = t->n ? t->arrival_ns[t->n - 1] : 0;
    if ((double)last / k > 4e18) /* int64 ns: about 126 years */
        return cli_usage_error(cmd, "--rate-scale: %g stretches the trace's %.6g s beyond "
                                    "int64 nanoseconds", k, last * 1e-9);
    for (size_t i = 0; i < t->n; i++)
        t->arrival_ns[i] = llround((double)t->arrival_ns[i] / k);
    return 0;
}

/* The concurrency a run gets when --concurrency is not given.  Timed runs
 * (sim, cpu, cuda) overlap requests as vLLM does (immediate), with the
 * scheduler's continuous batching, so that TTFT is a serving figure and not
 * a serial queue; none stays where overlapping is not modelled: the rates
 * backend and cache-only runs, independent mode, explicit context caches,
 * offline policies that need next uses (Belady). */
static cc_concurrency default_concurrency(int use_sim, const cc_pc_config *cfg, int ctx)
{
    if (!use_sim || cfg->mode != CC_PC_PREFIX || ctx)
        return CC_CONCURRENCY_NONE;
    for (uint32_t k = 0; k < cfg->n_tiers; k++) {
        const cc_policy_ops *ops = cfg->tiers[k].policy ? cfg->tiers[k].policy
                                                        : cc_policy_find("lru");
        if (ops && (ops->flags & CC_POLICY_NEEDS_NEXT_USE))
            return CC_CONCURRENCY_NONE;
    }
    return CC_CONCURRENCY_IMMEDIATE;
}

/* Whether each instance serves one request at a time, so that TTFT holds
 * the wait behind every earlier request (labelled "serial service"). */
static int serial_service(int use_sim, const cc_replay_opts *ro, const cc_sim_config *sc)
{
    if (ro->concurrency == CC_CONCURRENCY_NONE)
        return 1;
    if (use_sim)
        return sc->scheduler == CC_SIM_SCHED_FCFS || sc->max_seqs == 1;
    return ro->servers == 1;
}

/* The trace, read whole or streamed, is done with. */
static void trace_done(cc_trace *t, cc_trace_stream **ts)
{
    cc_trace_free(t);
    cc_trace_stream_close(*ts);
    *ts = NULL;
}

int cmd_replay(int argc, char **argv)
{
    const char **given = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *given);
    if (!given) {
        fprintf(stderr, "ctxcache replay: out of memory\n");
        return 3;
    }
    given_argv(argc, argv, given); /* before getopt_long permutes argv */
    int rc = replay_main(argc, argv, given);
    free(given);
    return rc;
}

static int replay_main(int argc, char **argv, const char *const *given)
{
    const char *cmd = "replay";
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    cli_trace_opts o = {0};
    int json = 0;
    const char *policy = "lru", *cap = NULL, *tiers = NULL, *mode = "prefix";
    uint64_t kvb_token = DEFAULT_KV_BYTES_PER_TOKEN, seed = 1, v;
    int kvb_given = 0, policy_given = 0, conc_given = 0;
    cc_replay_opts ro = {.concurrency = CC_CONCURRENCY_NONE, .max_bytes = cli_max_memory_bytes()};
    const char *results = NULL;
    const char *ctx_spec = NULL, *cacheable = "auto", *implicit = NULL, *pricing = NULL;
    double in_price = 0, out_price = 0;
    const char *backend = NULL, *hw_name = "h100-sxm", *model_name = "llama-3-8b";
    int rates_given = 0, model_given = 0, hw_given = 0;
    uint64_t max_requests = 0;
    double hbm_fraction = 0.9;
    double share = -1, rate_scale = 1, gpu_usd = -1; /* -1: the hardware profile's price */
    int semantic = 0, sem_given = 0; /* --semantic (replay_semantic.c) */
    const char *embedder = "hash";
    double sem_threshold = -1, sem_lookup_ms = CLI_SEMANTIC_LOOKUP_MS;
    int no_cache = 0, cmp_no_cache = 0, recompute_given = 0, have_por = 0;
    cc_sim_result por; /* --blend: the prefix-only run */
    uint64_t tp = 1;
    int trace_stats = 0; /* --trace-stats: the ideal ratios (the trace read whole) */
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", long_opts, NULL)) != -1) {
        switch (c) {
        CLI_TRACE_OPT_CASES:
            if (cli_trace_opt(cmd, c, optarg, &o))
                return 2;
            break;
        case OPT_JSON: json = 1; break;
        case OPT_POLICY: policy = optarg; policy_given = 1; break;
        case OPT_CTX: ctx_spec = optarg; break;
        case OPT_CACHEABLE: cacheable = optarg; break;
        case OPT_IMPLICIT: implicit = optarg; break;
        case OPT_PRICING: pricing = optarg; break;
        case OPT_IN_PRICE:
            if (cli_parse_price(cmd, "--input-price", optarg, &in_price))
                return 2;
            break;
        case OPT_OUT_PRICE:
            if (cli_parse_price(cmd, "--output-price", optarg, &out_price))
                return 2;
            break;
        case OPT_CAP: cap = optarg; break;
        case OPT_TIERS: tiers = optarg; break;
        case OPT_MODE: mode = optarg; break;
        case OPT_KVB:
            if (cli_parse_u64(cmd, "--model-kv-bytes-per-token", optarg, UINT64_C(1) << 40, &kvb_token))
                return 2;
            if (kvb_token == 0)
                return cli_usage_error(cmd, "--model-kv-bytes-per-token: expected at least 1");
            kvb_given = 1;
            break;
        case OPT_CONC: {
            cc_err e = {0};
            if (cc_concurrency_parse(optarg, &ro.concurrency, &e) != CC_OK)
                return cli_usage_error(cmd, "--concurrency: %s", e.msg);
            conc_given = 1;
            break;
        }
        case OPT_PREFILL_TPS:
            if (parse_rate(cmd, "--prefill-tps", optarg, &ro.prefill_tokens_per_s))
                return 2;
            if (isinf(ro.prefill_tokens_per_s))
                return cli_usage_error(cmd, "--prefill-tps: expected a finite rate");
            rates_given = 1;
            break;
        case OPT_DECODE_TPS:
            if (parse_rate(cmd, "--decode-tps", optarg, &ro.decode_tokens_per_s))
                return 2;
            rates_given = 1;
            break;
        case OPT_SERVERS:
            if (cli_parse_u64(cmd, "--servers", optarg, UINT32_MAX, &v))
                return 2;
            ro.servers = (uint32_t)v;
            rates_given = 1;
            break;
        case OPT_BACKEND: backend = optarg; break;
        case OPT_HW: hw_name = optarg; hw_given = 1; break;
        case OPT_MAXREQ:
            if (cli_parse_u64(cmd, "--max-requests", optarg, UINT32_MAX, &max_requests))
                return 2;
            break;
        case OPT_THREADS:
            if (cli_parse_u64(cmd, "--threads", optarg, 1024, &v))
                return 2;
            cli_engine_threads = (int)v;
            break;
        case OPT_MODEL: model_name = optarg; model_given = 1; break;
        case OPT_SHARE:
            if (parse_number(cmd, "--assume-prefix-share", optarg, "a fraction in [0, 1]", &share) ||
                (share > 1 && cli_usage_error(cmd, "--assume-prefix-share: expected a fraction "
                                                   "in [0, 1], got '%s'", optarg)))
                return 2;
            break;
        case OPT_RATE_SCALE:
            if (parse_number(cmd, "--rate-scale", optarg, "a positive finite factor", &rate_scale))
                return 2;
            if (!(rate_scale > 0))
                return cli_usage_error(cmd, "--rate-scale: expected a positive finite factor "
                                            "(2 = twice the arrival rate), got '%s'", optarg);
            break;
        case OPT_GPU_USD:
            if (parse_number(cmd, "--gpu-usd-per-hour", optarg, "a price >= 0", &gpu_usd))
                return 2;
            break;
        case OPT_NO_CACHE: no_cache = 1; break;
        case OPT_SEMANTIC: semantic = 1; break;
        case OPT_EMBEDDER: embedder = optarg; sem_given = 1; break;
        case OPT_THRESHOLD:
            if (parse_number(cmd, "--threshold", optarg, "a similarity in [0, 1]", &sem_threshold))
                return 2;
            sem_given = 1;
            if (sem_threshold > 1)
                return cli_usage_error(cmd, "--threshold: expected a similarity in [0, 1], got "
                                            "'%s'", optarg);
            break;
        case OPT_SEM_LOOKUP_MS:
            if (parse_number(cmd, "--semantic-lookup-ms", optarg, "a time >= 0 in ms",
                             &sem_lookup_ms))
                return 2;
            sem_given = 1;
            break;
        case OPT_BLEND: sc.blend = 1; break;
        case OPT_RECOMPUTE: {
            char *end;
            recompute_given = 1;
            sc.blend_recompute_ratio = strtod(optarg, &end);
            if (end == optarg || *end || !(sc.blend_recompute_ratio >= 0) ||
                sc.blend_recompute_ratio > 1)
                return cli_usage_error(cmd, "--recompute-ratio: expected a share of the "
                                            "blended tokens in 0..1, got '%s'", optarg);
            break;
        }
        case OPT_BLEND_CHUNK:
            if (cli_parse_u64(cmd, "--blend-chunk-tokens", optarg, UINT32_MAX, &v))
                return 2;
            if (v == 0)
                return cli_usage_error(cmd, "--blend-chunk-tokens: expected a chunk size of at "
                                            "least 1 token, got 0");
            sc.blend_chunk_tokens = (uint32_t)v;
            break;
        case OPT_CMP_NO_CACHE: cmp_no_cache = 1; break;
        case OPT_INST:
            if (cli_parse_u64(cmd, "--instances", optarg, 65536, &v))
                return 2;
            if (v == 0)
                return cli_usage_error(cmd, "--instances: expected at least 1");
            sc.instances = (uint32_t)v;
            break;
        case OPT_ROUTER: {
            cc_err e = {0};
            if (cc_sim_router_parse(optarg, &sc.router, &e) != CC_OK)
                return cli_usage_error(cmd, "--router: %s", e.msg);
            break;
        }
        case OPT_SCHED: {
            cc_err e = {0};
            if (cc_sim_sched_parse(optarg, &sc.scheduler, &e) != CC_OK)
                return cli_usage_error(cmd, "--scheduler: %s", e.msg);
            break;
        }
        case OPT_PREEMPT: {
            cc_err e = {0};
            if (cc_sim_preempt_parse(optarg, &sc.preempt, &e) != CC_OK)
                return cli_usage_error(cmd, "--preempt: %s", e.msg);
            break;
        }
        case OPT_OVERLAP:
            if (!strcmp(optarg, "serial"))
                sc.kv_overlap = CC_SIM_XFER_SERIAL;
            else if (!strcmp(optarg, "layerwise"))
                sc.kv_overlap = CC_SIM_XFER_LAYERWISE;
            else
                return cli_usage_error(cmd, "--kv-overlap: expected serial or layerwise, got '%s'",
                                       optarg);
            break;
        case OPT_MBT:
            if (cli_parse_u64(cmd, "--max-batch-tokens", optarg, UINT32_MAX, &v))
                return 2;
            if (v == 0)
                return cli_usage_error(cmd, "--max-batch-tokens: expected at least 1");
            sc.max_batch_tokens = (uint32_t)v;
            break;
        case OPT_MSEQ:
            if (cli_parse_u64(cmd, "--max-seqs", optarg, 1u << 20, &v))
                return 2;
            if (v == 0)
                return cli_usage_error(cmd, "--max-seqs: expected at least 1");
            sc.max_seqs = (uint32_t)v;
            break;
        case OPT_CHUNK:
            if (cli_parse_u64(cmd, "--chunk-tokens", optarg, UINT32_MAX, &v))
                return 2;
            sc.chunk_tokens = (uint32_t)v;
            break;
        case OPT_HBMF: {
            char *end;
            hbm_fraction = strtod(optarg, &end);
            if (end == optarg || *end || !(hbm_fraction > 0) || hbm_fraction > 1)
                return cli_usage_error(cmd, "--hbm-fraction: expected a number in (0, 1], got '%s'",
                                       optarg);
            break;
        }
        case OPT_TP:
            if (cli_parse_u64(cmd, "--tp", optarg, 64, &tp))
                return 2;
            if (tp == 0)
                return cli_usage_error(cmd, "--tp: expected at least 1");
            break;
        case 'o': results = optarg; break;
        case OPT_SEED:
            if (cli_parse_u64(cmd, "--seed", optarg, UINT64_MAX, &seed))
                return 2;
            break;
        case OPT_TRACE_STATS: trace_stats = 1; break;
        case 'h': print_help(stdout); return 0;
        default: return cli_usage_error(cmd, "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(cmd, "expected one trace file");
    if (!backend)
        backend = rates_given ? "rates" : "sim";
    if ((recompute_given || sc.blend_chunk_tokens) && !sc.blend)
        return cli_usage_error(cmd, "%s: only with --blend",
                               recompute_given ? "--recompute-ratio" : "--blend-chunk-tokens");
    if (sc.blend && strcmp(backend, "sim"))
        return cli_usage_error(cmd, "--blend: needs --backend sim (the cost model), not %s",
                               backend);
    if (sc.blend && no_cache)
        return cli_usage_error(cmd, "--blend needs a cache; leave out --no-cache");
    if (cmp_no_cache && strcmp(backend, "sim"))
        return cli_usage_error(cmd, "--compare-no-cache: needs --backend sim (the cost model), "
                                    "not %s", backend);
    if (cmp_no_cache && no_cache)
        return cli_usage_error(cmd, "--compare-no-cache runs without the cache itself; leave out "
                                    "--no-cache");
    if (no_cache && (pricing || ctx_spec))
        return cli_usage_error(cmd, "--no-cache: %s needs a cache; --compare-no-cache --pricing "
                                    "LIST gives the bills with and without caching",
                               pricing ? "--pricing" : "--context-cache");
    int real = !strcmp(backend, "cpu") || !strcmp(backend, "cuda");
    if (real && !model_given)
        return cli_usage_error(cmd, "--backend %s: give --model PRESET (tiny, small, ...): the "
                                    "engine runs it with random weights", backend);
    if (real && !hw_given)
        hw_name = !strcmp(backend, "cpu") ? "cpu" : "h100-sxm";
    if (!real && strcmp(backend, "sim") && strcmp(backend, "rates"))
        return cli_usage_error(cmd, "--backend: expected sim, rates, cpu or cuda, got '%s'",
                               backend);
    int use_sim = !strcmp(backend, "sim") || real;
    if (sem_given && !semantic)
        return cli_usage_error(cmd, "--embedder, --threshold and --semantic-lookup-ms belong to "
                                    "--semantic");
    if (semantic && !use_sim)
        return cli_usage_error(cmd, "--semantic: needs the simulator (--backend sim, cpu or "
                                    "cuda), not --backend %s", backend);
    if (semantic && (cmp_no_cache || no_cache))
        return cli_usage_error(cmd, "--semantic: not with %s", no_cache ? "--no-cache"
                                                                         : "--compare-no-cache");
    if (use_sim && rates_given)
        return cli_usage_error(cmd, "--prefill-tps, --decode-tps and --servers belong to "
                                    "--backend rates, not sim");
    sc.seed = seed;
    if (use_sim && sc.instances > 1 && conc_given && ro.concurrency == CC_CONCURRENCY_NONE)
        return cli_usage_error(cmd, "--instances %u: concurrency none runs one request at a "
                                    "time on one instance; give --concurrency immediate or "
                                    "after-complete", sc.instances);
    cc_sim_hw hw;
    cc_sim_model model;
    if (use_sim) {
        cc_err e = {0};
        if (cc_sim_hw_load(hw_name, &hw, &e) != CC_OK)
            return cli_option_fail(cmd, "--hardware", &e);
        if (!real && cc_sim_model_load(model_name, &model, &e) != CC_OK)
            return cli_option_fail(cmd, "--model", &e);
        if (real) { /* the engine preset's shape (checked again when the engine opens) */
            cc_model_config mc;
            if (cc_model_preset(model_name, &mc, &e) != CC_OK)
                return cli_usage_error(cmd, "--model: %s", e.msg);
            cc_sim_model_from_engine(&mc, CC_DTYPE_F32, &model);
        }
        if (!kvb_given && model_given)
            kvb_token = (uint64_t)cc_sim_model_kv_bytes_per_token(&model);
        if (real && tp > 1)
            return cli_usage_error(cmd, "--tp %llu: the real engine runs on one device; tensor "
                                        "parallelism is simulated (--backend sim)",
                                   (unsigned long long)tp);
        if (cc_sim_tp_check(&model, (int)tp, &e) != CC_OK)
            return cli_usage_error(cmd, "--tp: %s", e.msg);
        cc_sim_fit fit; /* weights alone; the HBM cache tier is added once parsed */
        if (cc_sim_fit_compute(&hw, &model, (int)tp, hbm_fraction, 0, 0, &fit, &e) != CC_OK)
            return cli_usage_error(cmd, "--tp %llu: %s", (unsigned long long)tp, e.msg);
        sc.kv_bytes_per_token = cc_sim_model_kv_bytes_per_token(&model);
        sc.n_layers = (uint32_t)model.n_layers;
        sc.hbm_kv_tokens = fit.kv_tokens;
    } else if (tp > 1)
        return cli_usage_error(cmd, "--tp needs the simulator (--backend sim)");
    if (pricing && !cap && !tiers)
        cap = "inf"; /* the bills replay their own caches; the main replay unbounded */
    if (!cap == !tiers)
        return cli_usage_error(cmd, "give the cache size: --capacity-blocks N (or inf), or --tiers SPEC");

    cc_pc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.seed = seed;
    if (!strcmp(mode, "prefix"))
        cfg.mode = CC_PC_PREFIX;
    else if (!strcmp(mode, "independent"))
        cfg.mode = CC_PC_INDEPENDENT;
    else
        return cli_usage_error(cmd, "--mode: expected prefix or independent, got '%s'", mode);
    if (cfg.mode == CC_PC_INDEPENDENT && ro.concurrency != CC_CONCURRENCY_NONE)
        return cli_usage_error(cmd, "--concurrency %s needs --mode prefix",
                               cc_concurrency_name(ro.concurrency));
    cc_err err = {0};
    if (implicit) {
        const cc_ctx_implicit *im = cc_ctx_implicit_find(implicit);
        if (!im)
            return cli_usage_error(cmd, "--implicit-cache: expected vllm, openai or deepseek, "
                                        "got '%s'", implicit);
        if (policy_given)
            return cli_usage_error(cmd, "--implicit-cache: give it or --policy, not both");
        policy = im->policy_spec;
    }
    cc_ctx_config ctx_cfg;
    memset(&ctx_cfg, 0, sizeof ctx_cfg);
    if (ctx_spec && cc_ctx_parse_style(ctx_spec, &ctx_cfg.style, &err) != CC_OK)
        return cli_usage_error(cmd, "--context-cache: %s", err.msg);
    if (cc_ctx_parse_cacheable(cacheable, &ctx_cfg, &err) != CC_OK)
        return cli_usage_error(cmd, "--cacheable: %s", err.msg);
    if (ctx_spec && cfg.mode != CC_PC_PREFIX)
        return cli_usage_error(cmd, "--context-cache: needs --mode prefix");
    cli_pricing prs, *pr = NULL; /* --pricing: billed after the replay */
    if (!pricing && (in_price > 0 || out_price > 0))
        return cli_usage_error(cmd, "--input-price / --output-price need --pricing");
    if (pricing) {
        pr = &prs;
        int prc = cli_pricing_parse(cmd, pricing, pr);
        if (prc)
            return prc;
        pr->run = (cc_pricing_run){.cacheable = ctx_cfg.cacheable,
                                   .cacheable_blocks = ctx_cfg.cacheable_blocks,
                                   .input_usd_per_mtok = in_price,
                                   .output_usd_per_mtok = out_price};
        pr->blend = sc.blend; /* --blend: the bills with blend counted beside */
        pr->blend_recompute_ratio = sc.blend_recompute_ratio;
        pr->blend_chunk_tokens = sc.blend_chunk_tokens;
    }
    const cc_policy_ops *pops;
    cc_policy_params pparams;
    if (cc_policy_parse(policy, &pops, &pparams, &err) != CC_OK)
        return cli_usage_error(cmd, "--policy: %s", err.msg);

    if (cli_output_not_input(cmd, "-o", results, argv[optind]))
        return 2;
    cc_trace t;
    int rc;
    /* issue 17: a run that needs each request once, in order, and nothing
     * per request streams its trace (traces.h, "streamed reading") */
    cc_trace_stream *ts = NULL;
    if (!results && !pricing && !cmp_no_cache && !no_cache && !semantic && !sc.blend && !real &&
        !tiers && cap && strcmp(cap, "inf") && !ctx_spec && !max_requests && rate_scale == 1 &&
        share < 0 && !o.block_size && !trace_stats && sc.instances == 1 &&
        !(pops->flags & CC_POLICY_NEEDS_NEXT_USE) && strcmp(pops->name, "gdsf") &&
        (!strcmp(mode, "independent") || !use_sim ||
         (conc_given && ro.concurrency == CC_CONCURRENCY_NONE))) {
        cc_err se = {0};
        if (cc_trace_stream_open(argv[optind], o.format, NULL, 0, &ts, &se) != CC_OK)
            ts = NULL; /* read whole: that reader reports any error */
        /* a timed prefix-mode run fits its HBM tier in the GPU by the block
         * size, which a libCacheSim file gives only once read whole */
        if (ts && use_sim && cfg.mode == CC_PC_PREFIX &&
            cc_trace_stream_block_size(ts) == CC_STREAM_BLOCK_TOKENS_ANY) {
            cc_trace_stream_close(ts);
            ts = NULL;
        }
    }
    if (ts) {
        cc_trace_init(&t);
        t.block_size = cc_trace_stream_block_size(ts);
        t.timed = true;
        /* named as the whole read names it (an HDF5 trace: the file it was
         * converted from, and that file's format) */
        snprintf(t.source, sizeof t.source, "%s", cc_trace_stream_label_source(ts));
        snprintf(t.source_format, sizeof t.source_format, "%s",
                 cc_trace_stream_label_format(ts));
    } else if ((rc = cli_load_trace(cmd, argv[optind], &o, &t)))
        return rc;
    if (max_requests && t.n > max_requests)
        t.n = max_requests; /* the first N requests (the columns stay valid) */
    /* lengths only (Azure): every block its request's own, unless a shared
     * prompt is assumed; --no-cache: the same for any trace */
    int lengths_only = t.n && cc_trace_n_blocks_total(&t) == 0 && cc_trace_n_tokens_total(&t) == 0;
    if (!lengths_only && o.block_size && t.block_size != o.block_size &&
        cc_trace_reblock(&t, o.block_size, &err) != CC_OK) {
        trace_done(&t, &ts);
        return cli_fail(cmd, &err);
    }
    if (share >= 0 && !lengths_only) {
        const char *has = cc_trace_n_blocks_total(&t) ? "block hashes" : "token ids";
        trace_done(&t, &ts);
        return cli_usage_error(cmd, "--assume-prefix-share: this trace has %s, so its reuse is "
                                    "replayed as recorded; the option is for traces with lengths "
                                    "only (Azure)", has);
    }
    if (lengths_only && cc_trace_synth_blocks(&t, o.block_size ? o.block_size
                                                               : LENGTHS_ONLY_BLOCK_TOKENS,
                                              no_cache || share < 0 ? 0 : share, &err) != CC_OK) {
        trace_done(&t, &ts);
        return cli_fail(cmd, &err);
    }
    if (t.block_size == 0) {
        trace_done(&t, &ts);
        return cli_usage_error(cmd, "the trace has token ids but no block hashes; give "
                                    "--block-size N to build them from its tokens");
    }
    if (no_cache && !lengths_only && cc_trace_synth_blocks(&t, t.block_size, 0, &err) != CC_OK) {
        trace_done(&t, &ts);
        return cli_fail(cmd, &err);
    }
    if (rate_scale != 1 && (rc = scale_arrivals(cmd, &t, rate_scale))) {
        trace_done(&t, &ts);
        return rc;
    }
    cfg.block_tokens = t.block_size;
    cfg.kv_bytes_per_block = kvb_token * t.block_size;
    if (tiers) {
        /* capacities in bytes need the model named, not the default */
        rc = cc_pc_parse_tiers(tiers, pops, &pparams, kvb_given ? cfg.kv_bytes_per_block : 0,
                               &cfg, &err);
    } else {
        cfg.n_tiers = 1;
        snprintf(cfg.tiers[0].name, sizeof cfg.tiers[0].name, "hbm");
        cfg.tiers[0].policy = pops;
        cfg.tiers[0].policy_params = pparams;
        if (strcmp(cap, "inf") && cli_parse_u64(cmd, "--capacity-blocks", cap, CC_PC_MAX_TIER_BLOCKS,
                                                &cfg.tiers[0].capacity_blocks)) {
            trace_done(&t, &ts);
            return 2;
        }
        if (strcmp(cap, "inf") && cfg.tiers[0].capacity_blocks == 0) {
            trace_done(&t, &ts);
            return cli_usage_error(cmd, "--capacity-blocks: expected at least 1 (or inf)");
        }
    }
    if (rc != CC_OK) {
        trace_done(&t, &ts);
        return cli_usage_error(cmd, "--tiers: %s", err.msg);
    }
    for (uint32_t k = 0; k < cfg.n_tiers; k++) {
        const char *w = cc_policy_warning(cfg.tiers[k].policy, &cfg.tiers[k].policy_params);
        if (w)
            fprintf(stderr, "ctxcache %s: warning: tier %s: %s\n", cmd, cfg.tiers[k].name, w);
    }
    if (!conc_given)
        ro.concurrency = default_concurrency(use_sim, &cfg, ctx_spec != NULL);
    sc.concurrency = ro.concurrency;
    if (semantic && ro.concurrency == CC_CONCURRENCY_NONE) {
        trace_done(&t, &ts);
        return cli_usage_error(cmd, "--semantic: runs with overlapping requests (--concurrency "
                                    "immediate, dedup or after-complete), not none");
    }
    if (use_sim && sc.instances > 1 && ro.concurrency == CC_CONCURRENCY_NONE) {
        trace_done(&t, &ts);
        return cli_usage_error(cmd, "--instances %u: concurrency none (the default with "
                                    "--mode independent, --context-cache or an offline "
                                    "policy) runs one request at a time on one instance",
                               sc.instances);
    }

    cc_trace_stats s;
    cc_replay_result r;
    cc_sim_result sr, *simr = NULL;
    cli_real realx;
    int have_real = 0;
    ro.keep_records = results != NULL;
    ro.context_cache = ctx_spec ? &ctx_cfg : NULL;
    if (ts && ro.concurrency != CC_CONCURRENCY_NONE) { /* overlapping: the whole trace */
        cc_trace_stream_close(ts);
        ts = NULL;
        if ((rc = cli_load_trace(cmd, argv[optind], &o, &t)))
            return rc;
    }
    if (ts) { /* trace statistics: only the cheap ones (none here) */
        memset(&s, 0, sizeof s);
        s.ideal_block_hit_ratio = s.ideal_token_hit_ratio = NAN;
    } else if (cc_trace_compute_stats(&t, &s, &err) != CC_OK) {
        trace_done(&t, &ts);
        return cli_fail(cmd, &err);
    }
    ro.progress = true; /* core/progress.h: only on a terminal */
    cc_progress_begin("replay", ts ? (cc_trace_stream_requests(ts) == UINT64_MAX ? 0 : (size_t)cc_trace_stream_requests(ts)) : t.n);
    if (use_sim) {
        for (uint32_t k = 0; k < cfg.n_tiers; k++)
            sc.tier_kind[k] = cc_sim_tier_kind_of(cfg.tiers[k].name, k);
        /* A timed run (sim, cpu, cuda) always has a deployment: the model and
         * hardware named, or the defaults.  Its bounded HBM tiers share the
         * GPUs' memory with the weights and the running requests' KV; a
         * layout that does not fit is a usage error naming the GB short.
         * Untimed runs (--backend rates) have no GPU and keep any capacity;
         * so do independent-mode runs, whose objects are a cache experiment's
         * (libCacheSim's objects of any size, served one at a time), not the
         * KV blocks of prompts on a GPU. */
        double hbm_cache_bytes = 0;
        for (uint32_t k = 0; cfg.mode == CC_PC_PREFIX && k < cfg.n_tiers; k++)
            if (sc.tier_kind[k] == CC_SIM_TIER_HBM)
                hbm_cache_bytes += (double)cfg.tiers[k].capacity_blocks * cfg.kv_bytes_per_block;
        cc_sim_fit fit;
        if (cc_sim_fit_compute(&hw, &model, (int)tp, hbm_fraction, hbm_cache_bytes, 0, &fit,
                               &err) != CC_OK) {
            trace_done(&t, &ts);
            return cli_usage_error(cmd, "the HBM cache tier (%.3g GB): %s (a timed run "
                                   "holds its HBM tier in the GPUs' memory: give a smaller "
                                   "tier, more memory with --hardware or --tp, the tier "
                                   "in host memory with --tiers dram:N, or --backend rates "
                                   "for hit ratios without times)",
                                   hbm_cache_bytes / 1e9, err.msg);
        }
        sc.hbm_kv_tokens = fit.kv_tokens;
        cc_executor ex = {0};
        cc_costmodel_opts copts;
        cc_costmodel_opts_default(&copts);
        copts.tp = (int)tp;
        if (real) {
            if ((rc = cli_real_open(cmd, backend, model_name, &t, &hw, &sc, &realx))) {
                trace_done(&t, &ts);
                return rc;
            }
            have_real = 1;
        } else if (cc_costmodel_create(&hw, &model, &copts, &ex, &err) != CC_OK) {
            trace_done(&t, &ts);
            return cli_fail(cmd, &err);
        }
        cli_semantic *sem = NULL;
        if (semantic && (rc = cli_semantic_open(cmd, embedder, sem_threshold, sem_lookup_ms, &t,
                                                &sem))) {
            cc_executor_free(&ex);
            cc_progress_end();
            if (have_real)
                cli_real_close(&realx);
            trace_done(&t, &ts);
            return rc;
        }
        if (sem) {
            sc.semantic = cli_semantic_hooks(sem);
            sem_threshold = cli_semantic_threshold(sem);
        }
        rc = ts ? cc_sim_run_stream(ts, &cfg, &ro, &sc, &ex, &sr, &err)
                : cc_sim_run(&t, &cfg, &ro, &sc, real ? &realx.ex : &ex, 1, &sr, &err);
        sc.semantic = NULL;
        cli_semantic_close(sem);
        cc_executor_free(&ex);
        cc_progress_end();
        if (real)
            cli_real_stats(&realx);
        if (rc != CC_OK && have_real) {
            cli_real_close(&realx);
            have_real = 0;
        }
        if (rc != CC_OK) {
            trace_done(&t, &ts);
            return err.code == CC_EARG ? cli_usage_error(cmd, "--%s: %s", err.field, err.msg)
                                       : cli_fail(cmd, &err);
        }
        if (sc.blend) { /* the same run, prefix only: what blend adds */
            cc_sim_config psc = sc;
            psc.blend = 0;
            cc_replay_opts pro = ro;
            pro.keep_records = false;
            /* --semantic: the twin has a semantic tier of its own (fresh, the
             * same settings), so that the two runs differ in blend only */
            cli_semantic *psem = NULL;
            if (semantic && (rc = cli_semantic_open(cmd, embedder, sem_threshold, sem_lookup_ms,
                                                    &t, &psem))) {
                cc_sim_result_free(&sr);
                cc_trace_free(&t);
                return rc;
            }
            psc.semantic = psem ? cli_semantic_hooks(psem) : NULL;
            cc_executor pex = {0};
            rc = cc_costmodel_create(&hw, &model, &copts, &pex, &err);
            if (rc == CC_OK)
                rc = cc_sim_run(&t, &cfg, &pro, &psc, &pex, 1, &por, &err);
            cc_executor_free(&pex);
            cli_semantic_close(psem);
            if (rc != CC_OK) {
                cc_sim_result_free(&sr);
                trace_done(&t, &ts);
                return cli_fail(cmd, &err);
            }
            have_por = 1;
        }
        r = sr.cache;
        memset(&sr.cache, 0, sizeof sr.cache);
        simr = &sr;
    } else {
        rc = ts ? cc_sim_replay_stream(ts, &cfg, &ro, &r, &err)
                : cc_sim_replay(&t, &cfg, &ro, &r, &err); /* the fixed-rate executor */
        cc_progress_end();
        if (rc != CC_OK) {
            trace_done(&t, &ts);
            return cli_fail(cmd, &err);
        }
    }
    if (ts) { /* the trace as read: its block size is known now */
        t.n = r.requests;
        t.block_size = cc_trace_stream_block_size(ts);
        cfg.block_tokens = t.block_size;
        cfg.kv_bytes_per_block = kvb_token * t.block_size;
        cc_trace_stream_close(ts);
        ts = NULL;
    }
    /* the bills, before the results file, which records them (/cost) */
    cc_trace billed; /* --semantic: hits are answered without the model: not billed */
    cc_trace_init(&billed);
    if (pr && semantic && simr && (rc = semantic_misses(cmd, &t, simr, &billed)) == 0)
        rc = cli_pricing_bill(cmd, &billed, pr);
    else if (pr)
        rc = cli_pricing_bill(cmd, &t, pr);
    cc_trace_free(&billed);
    if (pr && rc) {
        if (have_por)
            cc_sim_result_free(&por);
        if (simr)
            cc_sim_result_free(simr);
        cc_replay_result_free(&r);
        if (have_real)
            cli_real_close(&realx);
        trace_done(&t, &ts);
        return rc;
    }
    sim_view sv = {simr, &sc, use_sim ? hw.name : NULL, use_sim ? model.name : NULL,
                   real ? backend : NULL, have_real ? &realx : NULL,
                   serial_service(use_sim, &ro, &sc), lengths_only, no_cache, share,
                   rate_scale, semantic, embedder, sem_threshold, sem_lookup_ms, &t,
                   have_por ? &por : NULL, r.token_hit_ratio};
    if (results) {
        cfg_list cl = {0};
        cfg_str(&cl, "format", o.format ? o.format : t.source_format);
        cfg_num(&cl, "block-size", t.block_size);
        cfg_str(&cl, "tokenizer", o.tokenizer ? o.tokenizer : "built-in");
        cfg_str(&cl, "tenant", o.tenant);
        cfg_str(&cl, "policy", policy);
        cfg_str(&cl, "capacity-blocks", cap);
        cfg_str(&cl, "tiers", tiers);
        cfg_str(&cl, "mode", mode);
        cfg_num(&cl, "model-kv-bytes-per-token", (double)kvb_token);
        cfg_str(&cl, "concurrency", cc_concurrency_name(ro.concurrency));
        cfg_num(&cl, "seed", (double)seed);
        if (seed > (UINT64_C(1) << 53)) /* exactly, beyond a double's integers */
            snprintf(cl.buf[cl.n - 1], sizeof cl.buf[0], "%llu", (unsigned long long)seed);
        if (use_sim) { /* the rates backend's options: unused */
            cfg_str(&cl, "prefill-tps", "");
            cfg_str(&cl, "decode-tps", "");
            cfg_str(&cl, "servers", "");
        } else {
            cfg_num(&cl, "prefill-tps", r.prefill_tokens_per_s);
            cfg_num(&cl, "decode-tps", r.decode_tokens_per_s);
            cfg_num(&cl, "servers", r.servers);
        }
        cfg_str(&cl, "context-cache", ctx_spec);
        cfg_str(&cl, "cacheable", cacheable);
        cfg_str(&cl, "implicit-cache", implicit);
        cfg_str(&cl, "pricing", pricing);
        cfg_num(&cl, "input-price", in_price);
        cfg_num(&cl, "output-price", out_price);
        cfg_str(&cl, "backend", backend);
        if (use_sim) {
            cfg_str(&cl, "hardware", hw_name);
            cfg_str(&cl, "model", model_name);
            cfg_num(&cl, "instances", sc.instances);
            cfg_str(&cl, "router", cc_sim_router_name(sc.router));
            cfg_str(&cl, "scheduler", cc_sim_sched_name(sc.scheduler));
            cfg_num(&cl, "max-batch-tokens", sc.max_batch_tokens);
            cfg_num(&cl, "max-seqs", sc.max_seqs);
            cfg_num(&cl, "chunk-tokens", sc.chunk_tokens);
            cfg_num(&cl, "hbm-fraction", hbm_fraction);
            cfg_num(&cl, "tp", (double)tp);
            cfg_str(&cl, "preempt", cc_sim_preempt_name(sc.preempt));
            cfg_str(&cl, "kv-overlap", sc.kv_overlap == CC_SIM_XFER_LAYERWISE ? "layerwise" : "serial");
        } else { /* the simulator's options: unused by the rates backend */
            static const char *const sim_opts[] = {
                "hardware", "model", "instances", "router", "scheduler", "max-batch-tokens",
                "max-seqs", "chunk-tokens", "hbm-fraction", "tp", "preempt", "kv-overlap"};
            for (size_t i = 0; i < sizeof sim_opts / sizeof sim_opts[0]; i++)
                cfg_str(&cl, sim_opts[i], "");
        }
        cfg_num(&cl, "max-requests", (double)max_requests);
        cfg_num(&cl, "threads", cli_engine_threads);
        if (share >= 0)
            cfg_num(&cl, "assume-prefix-share", share);
        else
            cfg_str(&cl, "assume-prefix-share", "");
        cfg_num(&cl, "rate-scale", rate_scale);
        cfg_num(&cl, "no-cache", no_cache);
        if (semantic) { /* only with --semantic, as blend's below */
            cfg_num(&cl, "semantic", 1);
            cfg_str(&cl, "embedder", embedder);
            cfg_num(&cl, "threshold", sem_threshold);
            cfg_num(&cl, "semantic-lookup-ms", sem_lookup_ms);
        }
        if (sc.blend) { /* only with --blend: results of other runs keep their names */
            cfg_num(&cl, "blend", 1);
            cfg_num(&cl, "recompute-ratio", sc.blend_recompute_ratio);
            cfg_num(&cl, "blend-chunk-tokens", sc.blend_chunk_tokens);
        }
        double no_cache_usd[CC_PRICING_MAX];
        for (size_t i = 0; pr && i < pr->n; i++)
            no_cache_usd[i] = bill_no_cache(pr, i);
        bool groups = false; /* false hits are known */
        for (size_t i = 0; t.group_id && i < t.n && !groups; i++)
            groups = t.group_id[i] != CC_NO_GROUP;
        cc_results_run run = {
            .semantic = semantic && simr, .semantic_embedder = embedder,
            .semantic_threshold = sem_threshold, .semantic_lookup_ms = sem_lookup_ms,
            .semantic_judged = groups, .prefix_only = have_por ? &por : NULL,
            .n_bills = pr ? pr->n : 0, .bills = pr ? pr->bills : NULL,
            .no_cache_usd = pr ? no_cache_usd : NULL,
            .blend_bills = pr && pr->blend ? pr->blend_bills : NULL,
            .argc = argc, .argv = given, .n_config = cl.n, .config_names = cl.name,
            .config_values = cl.value,
            .trace = &t, .trace_path = argv[optind], .cfg = &cfg, .res = &r, .policy = policy,
            .sim = simr, .sim_config = simr ? &sc : NULL, .hardware = sv.hardware,
            .model = sv.model, .backend = backend, .serial_service = sv.serial,
            .tiers_spec = tiers, .kv_bytes_per_token = kvb_token,
            .ideal_block_hit_ratio = s.ideal_block_hit_ratio,
            .ideal_token_hit_ratio = s.ideal_token_hit_ratio,
        };
        if (cc_results_write_h5(results, &run, &err) != CC_OK) {
            if (simr)
                cc_sim_result_free(simr);
            cc_replay_result_free(&r);
            if (have_real)
        cli_real_close(&realx);
    trace_done(&t, &ts);
            return cli_fail(cmd, &err);
        }
    }
    cc_sim_result ncr; /* --compare-no-cache: the same run, nothing shared */
    nc_view nv = {0}, *nvp = NULL;
    if (cmp_no_cache) {
        cc_progress_begin("replay (no cache)", t.n);
        rc = run_no_cache(&t, &cfg, &ro, &sc, &hw, &model, &ncr, &err);
        cc_progress_end();
        if (rc != CC_OK) {
            cc_sim_result_free(simr);
            cc_replay_result_free(&r);
            trace_done(&t, &ts);
            return cli_fail(cmd, &err);
        }
        /* a step occupies tp devices; the profile's rent unless --gpu-usd-per-hour */
        double per_device = gpu_usd >= 0 ? gpu_usd
                          : hw.usd_per_hour > 0 ? hw.usd_per_hour
                                                : CC_ECON_DEFAULT_GPU_USD_PER_HOUR;
        nv = (nc_view){&simr->summary, &ncr.summary, prefill_sum_s(simr), prefill_sum_s(&ncr), simr,
                       pr, per_device * (double)tp};
        nvp = &nv;
    }
    if (json)
        rc = print_json(&t, &cfg, &r, &s, kvb_token, pr, &sv, nvp);
    else {
        print_text(&t, &cfg, &r, &s, kvb_token, &sv);
        if (pr)
            cli_pricing_text(pr, stdout);
        if (nvp)
            print_no_cache_text(nvp);
    }
    if (nvp)
        cc_sim_result_free(&ncr);
    if (have_por)
        cc_sim_result_free(&por);
    if (simr)
        cc_sim_result_free(simr);
    cc_replay_result_free(&r);
    if (have_real)
        cli_real_close(&realx);
    trace_done(&t, &ts);
    return rc;
}
