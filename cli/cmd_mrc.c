/*
 * cmd_mrc.c -- `ctxcache mrc TRACE`: the miss-ratio curve of a trace, many
 * cache capacities from one run (core/mrc.h): LRU from exact stack
 * distances or SHARDS sampling in one pass, any other policy from one
 * replay per capacity spread over threads.  Prints a table or JSON; -o
 * writes the curve as CSV (atomically: no partial file on failure).
 * --tiers CHAIN: the curve of the top tier of a tier chain whose lower
 * tiers keep their capacities (one replay per top-tier size, as sim).
 * The stack methods stream the trace where its format streams (issue 17:
 * traces.h, "streamed reading"; core/mrc.h, cc_mrc_stream_*).
 */
#include "cli.h"
#include "../core/progress.h"
#include "../core/mrc.h"
#include "../core/replay.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AUTO_OCTAVES 12 /* --sizes auto: distinct blocks down to 1/4096 of them */
#define MAX_SIZES 4096

static const char *const mrc_help =
    "usage: ctxcache mrc TRACE [options]\n"
    "\n"
    "Computes the miss-ratio curve of TRACE: the block miss ratio and the token\n"
    "hit ratio of a cache at many capacities (in blocks), requests one at a time\n"
    "in arrival order, no warm-up.\n"
    "\n"
    "  --policy NAME         eviction policy (default lru; NAME or NAME(key=value,...))\n"
    "  --sizes LIST|auto     capacities in blocks, comma-separated (10000,50000), or auto\n"
    "                        (default): the trace's distinct blocks times 2^(-k/2),\n"
    "                        k = 0..24\n"
    "  --mode MODE           prefix (default): a block is served only after all blocks\n"
    "                        before it, only leaves are evicted; independent: every\n"
    "                        block is an independent object (libCacheSim's model)\n"
    "  --method METHOD       exact (default): for lru, exact LRU stack distances, every\n"
    "                        capacity from one pass; for other policies, one cache per\n"
    "                        capacity (as sim);\n"
    "                        shards: lru only, spatially hashed sampling (SHARDS, FAST'15)\n"
    "                        at --sample-rate, approximate and much faster;\n"
    "                        sim: one full replay per capacity, any policy, in threads\n"
    "  --sample-rate R       SHARDS sampling rate in (0, 1] (default 0.01)\n"
    "  --max-samples N       SHARDS fixed size: track at most N sampled blocks, lowering\n"
    "                        the rate as needed (starts at --sample-rate, default 1)\n"
    "  --no-adjust           SHARDS: leave out the SHARDS_adj correction\n"
    "  --seed N              SHARDS hash seed and seed of randomised policies (default 1)\n"
    "  --tiers CHAIN         a tier chain as replay --tiers takes it, the top tier's\n"
    "                        capacity written '*' (hbm:*,dram:10000): the curve of the\n"
    "                        top tier at each --sizes capacity with the tiers below it\n"
    "                        fixed (miss ratio = misses in every tier); one replay per\n"
    "                        size (--method sim), --policy for tiers naming none\n"
    "  --threads N           replays in parallel for sim (default: one per CPU)\n"
    "  --json                print JSON instead of a table\n"
    "  -o FILE               also write the curve as CSV: capacity_blocks, miss_ratio,\n"
    "                        token_hit_ratio, policy, mode, method, sample_rate, seed\n"
    "\n"
    "trace options:\n"
    "  --format NAME         input format (default: detected)\n"
    "  --block-size N        tokens per block; traces with token ids are re-blocked\n"
    "  --tokenizer FILE      a Hugging Face tokenizer.json for text traces\n"
    "  --tenant NAME         tenant (model@version) for formats that name none\n"
    "\n"
    "The exact prefix-mode LRU curve equals the prefix cache's figures at every\n"
    "capacity when each block always follows the same block (true of hash chains);\n"
    "otherwise it says how many accesses break that and --method sim is exact.\n"
    "\n"
    "exact and shards read libCacheSim oracleGeneral, ctxcache HDF5 and Mooncake JSONL\n"
    "traces in windows (memory: the pass, not the trace); --block-size, --tokenizer,\n"
    "--tenant, sim, and shards on JSONL read the trace whole.\n"
    "\n"
    "examples:\n"
    "  ctxcache mrc ../shared/data/mooncake/conversation_trace.jsonl\n"
    "  ctxcache mrc trace.jsonl --sizes 1000,5000,10000,50000 --mode independent\n"
    "  ctxcache mrc trace.jsonl --method shards --sample-rate 0.001 --json\n"
    "  ctxcache mrc trace.jsonl --policy fifo --sizes auto --threads 2 -o fifo.csv\n"
    "  ctxcache mrc trace.jsonl --tiers 'hbm:*,dram:10000' --sizes 1000,2000,4000 --threads 2\n";

enum {
    OPT_JSON = 1000, OPT_POLICY, OPT_SIZES, OPT_MODE,
    OPT_METHOD, OPT_RATE, OPT_MAXS, OPT_NOADJ, OPT_SEED, OPT_THREADS, OPT_TIERS,
};

static const struct option long_opts[] = {
    CLI_TRACE_LONG_OPTS,
    {"json", no_argument, 0, OPT_JSON},
    {"policy", required_argument, 0, OPT_POLICY},
    {"sizes", required_argument, 0, OPT_SIZES},
    {"mode", required_argument, 0, OPT_MODE},
    {"method", required_argument, 0, OPT_METHOD},
    {"sample-rate", required_argument, 0, OPT_RATE},
    {"max-samples", required_argument, 0, OPT_MAXS},
    {"no-adjust", no_argument, 0, OPT_NOADJ},
    {"seed", required_argument, 0, OPT_SEED},
    {"threads", required_argument, 0, OPT_THREADS},
    {"tiers", required_argument, 0, OPT_TIERS},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

typedef enum { M_EXACT, M_SHARDS, M_SIM } method_t;
static const char *const method_names[] = {"exact", "shards", "sim"};

/* What the command computed, for the three outputs. */
typedef struct curve {
    const cc_trace *t;    /* source, source_format */
    uint64_t requests, accesses; /* the trace's (counted while streaming) */
    uint32_t block_size;
    int streamed;         /* read in windows (issue 17), not whole */
    const char *policy;
    const char *mode;
    const char *tiers;    /* --tiers chain, NULL: one tier */
    method_t method;      /* as run: exact with a policy other than lru runs as sim */
    const cc_mrc *m;      /* stack methods, else NULL */
    int threads;
    uint64_t seed;        /* SHARDS hash / policy seed (not used by exact) */
    uint64_t distinct;    /* exact count, or SHARDS' estimate */
    size_t n;
    uint64_t *caps;
    double *miss, *tok;
    double elapsed_s;     /* wall clock of the computation: timing only */
} curve;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int parse_sizes(const char *cmd, const char *s, uint64_t *out, size_t *n)
{
    *n = 0;
    const char *p = s;
    for (;;) {
        char buf[32];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof buf)
            return cli_usage_error(cmd, "--sizes: expected capacities in blocks like "
                                        "1000,5000 or auto, got '%s'", s);
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (*n == MAX_SIZES)
            return cli_usage_error(cmd, "--sizes: at most %d capacities", MAX_SIZES);
        if (cli_parse_u64(cmd, "--sizes", buf, UINT64_C(1) << 40, &out[*n]))
            return 2;
        if (out[*n] == 0)
            return cli_usage_error(cmd, "--sizes: a capacity must be at least 1 block");
        ++*n;
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

static void progress(void *ctx, size_t done, size_t total)
{
    (void)ctx;
    (void)total;
    cc_progress_update(done); /* core/progress.h: only on a terminal, not in CI */
}

static const char *method_detail(const curve *c, char *buf, size_t len)
{
    if (c->method == M_EXACT)
        snprintf(buf, len, "exact LRU stack distances (one pass)");
    else if (c->method == M_SHARDS && c->m->opts.max_samples)
        snprintf(buf, len, "SHARDS fixed size %llu (rate %.6g at the end), seed %llu, %s",
                 (unsigned long long)c->m->opts.max_samples, c->m->final_rate,
                 (unsigned long long)c->m->opts.seed,
                 c->m->opts.no_adjust ? "no adj" : "adj");
    else if (c->method == M_SHARDS)
        snprintf(buf, len, "SHARDS rate %.6g, seed %llu, %s", c->m->opts.sample_rate,
                 (unsigned long long)c->m->opts.seed, c->m->opts.no_adjust ? "no adj" : "adj");
    else
        snprintf(buf, len, "one replay per capacity, %d thread%s", c->threads,
                 c->threads == 1 ? "" : "s");
    return buf;
}

static void print_text(const curve *c)
{
    char d[256];
    printf("trace      %s (%s): %zu requests, %llu block accesses, %s%llu distinct blocks, "
           "%u tokens per block\n", c->t->source, c->t->source_format, (size_t)c->requests,
           (unsigned long long)c->accesses,
           c->method == M_SHARDS ? "~" : "", (unsigned long long)c->distinct,
           c->block_size);
    printf("curve      %s, %s mode, %s\n", c->policy, c->mode, method_detail(c, d, sizeof d));
    if (c->tiers)
        printf("tiers      %s: the top tier's capacity varies, the others are fixed; miss "
               "ratio over every tier\n", c->tiers);
    if (c->m && c->method == M_SHARDS)
        printf("sample     %llu of %llu accesses, %llu blocks tracked\n",
               (unsigned long long)c->m->sampled_accesses, (unsigned long long)c->m->accesses,
               (unsigned long long)c->m->sampled_blocks);
    if (c->m && c->m->inconsistent_accesses)
        printf("warning    %llu accesses follow a different block than where their block was "
               "first seen: this curve is LRU's stack model, the prefix cache may differ "
               "(--method sim is exact)\n", (unsigned long long)c->m->inconsistent_accesses);
    printf("\n%15s  %10s  %15s\n", "capacity_blocks", "miss_ratio", "token_hit_ratio");
    for (size_t i = 0; i < c->n; i++)
        printf("%15llu  %10.6f  %15.6f\n", (unsigned long long)c->caps[i], c->miss[i], c->tok[i]);
    printf("\ntime       %.3f s (wall clock, not a result)\n", c->elapsed_s);
}

static int print_json(const curve *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "trace", json_string(c->t->source));
    json_object_set_new(o, "format", json_string(c->t->source_format));
    json_object_set_new(o, "requests", json_integer((json_int_t)c->requests));
    json_object_set_new(o, "block_accesses", json_integer((json_int_t)c->accesses));
    json_object_set_new(o, "block_size", json_integer(c->block_size));
    json_object_set_new(o, "policy", json_string(c->policy));
    json_object_set_new(o, "mode", json_string(c->mode));
    json_object_set_new(o, "method", json_string(method_names[c->method]));
    json_object_set_new(o, "tiers", c->tiers ? json_string(c->tiers) : json_null());
    if (c->method == M_SHARDS) {
        json_object_set_new(o, "sample_rate", json_real(c->m->opts.sample_rate));
        json_object_set_new(o, "max_samples", json_integer((json_int_t)c->m->opts.max_samples));
        json_object_set_new(o, "seed", json_integer((json_int_t)c->m->opts.seed));
        json_object_set_new(o, "adjusted", json_boolean(!c->m->opts.no_adjust));
        json_object_set_new(o, "final_rate", json_real(c->m->final_rate));
        json_object_set_new(o, "sampled_accesses",
                            json_integer((json_int_t)c->m->sampled_accesses));
        json_object_set_new(o, "sampled_blocks", json_integer((json_int_t)c->m->sampled_blocks));
        json_object_set_new(o, "distinct_blocks_estimate", json_real(c->m->distinct_estimate));
    } else {
        json_object_set_new(o, "distinct_blocks", json_integer((json_int_t)c->distinct));
    }
    if (c->method == M_SIM) {
        json_object_set_new(o, "threads", json_integer(c->threads));
        json_object_set_new(o, "seed", json_integer((json_int_t)c->seed));
    }
    if (c->m && c->m->opts.mode == CC_PC_PREFIX && c->method == M_EXACT)
        json_object_set_new(o, "inconsistent_accesses",
                            json_integer((json_int_t)c->m->inconsistent_accesses));
    json_t *pts = json_array();
    for (size_t i = 0; i < c->n; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "capacity_blocks", json_integer((json_int_t)c->caps[i]));
        json_object_set_new(p, "miss_ratio", json_real(c->miss[i]));
        json_object_set_new(p, "token_hit_ratio", json_real(c->tok[i]));
        json_array_append_new(pts, p);
    }
    json_object_set_new(o, "points", pts);
    json_object_set_new(o, "elapsed_s", json_real(c->elapsed_s));
    int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    putchar('\n');
    json_decref(o);
    return rc == 0 ? 0 : 3;
}

static int write_csv(const curve *c, const char *path, cc_err *err)
{
    cc_outfile f;
    int rc = cc_outfile_open(&f, path, err);
    if (rc != CC_OK)
        return rc;
    /* sample_rate: 1 unless sampled; seed: empty where none was used */
    double rate = c->method == M_SHARDS ? c->m->opts.sample_rate : 1.0;
    char seed[32] = "";
    if (c->method != M_EXACT)
        snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->seed);
    fprintf(f.f, "capacity_blocks,miss_ratio,token_hit_ratio,policy,mode,method,sample_rate,seed\n");
    for (size_t i = 0; i < c->n; i++)
        fprintf(f.f, "%llu,%.8f,%.8f,\"%s\",%s,%s,%.8g,%s\n", (unsigned long long)c->caps[i],
                c->miss[i], c->tok[i], c->policy, c->mode, method_names[c->method], rate, seed);
    return cc_outfile_close(&f, path, CC_OK, err);
}

int cmd_mrc(int argc, char **argv)
{
    const char *cmd = "mrc";
    if (argc < 2) {
        fputs(mrc_help, stderr);
        return 2;
    }
    cli_trace_opts o = {0};
    int json = 0, no_adjust = 0, rate_given = 0;
    const char *policy = "lru", *sizes = "auto", *mode = "prefix", *method = "exact",
               *out_path = NULL, *tiers = NULL;
    double rate = 0.01;
    uint64_t seed = 1, max_samples = 0, threads = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", long_opts, NULL)) != -1) {
        switch (c) {
        CLI_TRACE_OPT_CASES:
            if (cli_trace_opt(cmd, c, optarg, &o))
                return 2;
            break;
        case OPT_JSON: json = 1; break;
        case OPT_POLICY: policy = optarg; break;
        case OPT_SIZES: sizes = optarg; break;
        case OPT_MODE: mode = optarg; break;
        case OPT_METHOD: method = optarg; break;
        case OPT_RATE: {
            char *end;
            rate = strtod(optarg, &end);
            if (*end || end == optarg || !(rate > 0 && rate <= 1))
                return cli_usage_error(cmd, "--sample-rate: expected a rate in (0, 1], got '%s'",
                                       optarg);
            rate_given = 1;
            break;
        }
        case OPT_MAXS:
            if (cli_parse_u64(cmd, "--max-samples", optarg, UINT64_C(1) << 40, &max_samples))
                return 2;
            if (max_samples == 0)
                return cli_usage_error(cmd, "--max-samples: expected at least 1");
            break;
        case OPT_NOADJ: no_adjust = 1; break;
        case OPT_SEED:
            if (cli_parse_u64(cmd, "--seed", optarg, UINT64_MAX, &seed))
                return 2;
            break;
        case OPT_THREADS:
            if (cli_parse_u64(cmd, "--threads", optarg, 4096, &threads))
                return 2;
            if (threads == 0)
                return cli_usage_error(cmd, "--threads: expected at least 1");
            break;
        case OPT_TIERS: tiers = optarg; break;
        case 'o': out_path = optarg; break;
        case 'h': fputs(mrc_help, stdout); return 0;
        default: return cli_usage_error(cmd, "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(cmd, "expected one trace file");

    cc_pc_mode pmode;
    if (!strcmp(mode, "prefix"))
        pmode = CC_PC_PREFIX;
    else if (!strcmp(mode, "independent"))
        pmode = CC_PC_INDEPENDENT;
    else
        return cli_usage_error(cmd, "--mode: expected prefix or independent, got '%s'", mode);
    method_t meth;
    if (!strcmp(method, "exact"))
        meth = M_EXACT;
    else if (!strcmp(method, "shards"))
        meth = M_SHARDS;
    else if (!strcmp(method, "sim"))
        meth = M_SIM;
    else
        return cli_usage_error(cmd, "--method: expected exact, shards or sim, got '%s'", method);
    cc_err err = {0};
    const cc_policy_ops *pops;
    cc_policy_params pparams;
    if (cc_policy_parse(policy, &pops, &pparams, &err) != CC_OK)
        return cli_usage_error(cmd, "--policy: %s", err.msg);
    int is_lru = !strcmp(pops->name, "lru") && pparams.n == 0;
    if (meth == M_SHARDS && !is_lru)
        return cli_usage_error(cmd, "--method shards: LRU only (stack distances); use "
                                    "--method sim for '%s'", policy);
    if (meth != M_SHARDS && (rate_given || max_samples || no_adjust))
        return cli_usage_error(cmd, "--sample-rate, --max-samples and --no-adjust go with "
                                    "--method shards");
    if (tiers && meth == M_SHARDS)
        return cli_usage_error(cmd, "--tiers: a tier chain is replayed at each size (--method "
                                    "sim), not sampled");
    if (meth == M_EXACT && (!is_lru || tiers))
        meth = M_SIM;
    cc_pc_config chain; /* --tiers: the chain, its top capacity replaced per size */
    memset(&chain, 0, sizeof chain);
    if (tiers) {
        /* the top tier's capacity must be '*': NAME:*[:key=value...],... */
        size_t nl = strcspn(tiers, ":,");
        char *buf = malloc(strlen(tiers) + 2);
        if (!buf)
            return 3;
        if (tiers[nl] != ':' || tiers[nl + 1] != '*' ||
            (tiers[nl + 2] != ':' && tiers[nl + 2] != ',' && tiers[nl + 2] != '\0')) {
            free(buf);
            return cli_usage_error(cmd, "--tiers: expected the top tier's capacity as '*' (the "
                                        "curve's variable), e.g. hbm:*,dram:10000, got '%s'",
                                   tiers);
        }
        /* parsed with a placeholder capacity of 1 block */
        snprintf(buf, strlen(tiers) + 2, "%.*s1%s", (int)(nl + 1), tiers, tiers + nl + 2);
        int prc = cc_pc_parse_tiers(buf, pops, &pparams, 0, &chain, &err);
        free(buf);
        if (prc != CC_OK)
            return cli_usage_error(cmd, "--tiers: %s", err.msg);
        if (chain.n_tiers < 2)
            return cli_usage_error(cmd, "--tiers: a chain has two tiers or more (one tier is "
                                        "--policy with --sizes), got '%s'", tiers);
    }
    if (threads && meth != M_SIM)
        return cli_usage_error(cmd, "--threads goes with replays (--method sim, or a policy "
                                    "other than lru)");
    uint64_t *caps = malloc(MAX_SIZES * sizeof *caps);
    if (!caps)
        return 3;
    size_t n_caps = 0;
    int auto_sizes = !strcmp(sizes, "auto");
    if (!auto_sizes && parse_sizes(cmd, sizes, caps, &n_caps)) {
        free(caps);
        return 2;
    }

    if (cli_output_not_input(cmd, "-o", out_path, argv[optind])) {
        free(caps);
        return 2;
    }
    cc_trace t;
    int rc;
    /* issue 17: the stack methods see each request once, in order, and keep
     * nothing per request: they stream the trace (traces.h, "streamed
     * reading") unless an option needs it whole (re-blocking, a tokenizer)
     * or SHARDS needs the accesses ahead and the format does not say them */
    cc_trace_stream *ts = NULL;
    if (meth != M_SIM && !o.block_size && !o.tokenizer && !o.tenant) {
        cc_err se = {0};
        if (cc_trace_stream_open(argv[optind], o.format, NULL, 0, &ts, &se) != CC_OK)
            ts = NULL; /* read whole: that reader reports any error */
        if (ts && meth == M_SHARDS && cc_trace_stream_accesses(ts) == UINT64_MAX) {
            cc_trace_stream_close(ts);
            ts = NULL;
        }
    }
    if (ts) {
        cc_trace_init(&t);
        snprintf(t.source, sizeof t.source, "%s", cc_trace_stream_label_source(ts));
        snprintf(t.source_format, sizeof t.source_format, "%s",
                 cc_trace_stream_label_format(ts));
    } else if ((rc = cli_load_trace(cmd, argv[optind], &o, &t))) {
        free(caps);
        return rc;
    }
    if (!ts && o.block_size && t.block_size != o.block_size &&
        cc_trace_reblock(&t, o.block_size, &err) != CC_OK) {
        rc = cli_fail(cmd, &err);
        goto out;
    }
    if (!ts && (t.block_size == 0 || (t.n && !t.blocks))) {
        rc = t.n && cc_trace_n_tokens_total(&t) == 0
                 ? cli_usage_error(cmd, "this trace has lengths only (no token ids, no block "
                                        "hashes): no block can be reused, so it has no miss-ratio "
                                        "curve; 'ctxcache replay' times it with every token new")
                 : cli_usage_error(cmd, "the trace has token ids but no block hashes; give "
                                        "--block-size N to build them from its tokens");
        goto out;
    }

    cc_mrc m;
    memset(&m, 0, sizeof m);
    curve cv = {.t = &t, .requests = t.n, .accesses = ts ? 0 : cc_trace_n_blocks_total(&t),
                .block_size = t.block_size, .streamed = ts != NULL, .policy = pparams.spec[0] ? pparams.spec : pops->name, .mode = mode,
                .tiers = tiers, .method = meth, .caps = caps, .seed = seed};
    double *miss = malloc(MAX_SIZES * sizeof *miss), *tok = malloc(MAX_SIZES * sizeof *tok);
    if (!miss || !tok) {
        free(miss);
        free(tok);
        rc = 3;
        goto out;
    }
    cv.miss = miss;
    cv.tok = tok;
    double t0 = now_s();
    if (meth != M_SIM) {
        cc_mrc_opts mo = {.mode = pmode,
                          .method = meth == M_SHARDS ? CC_MRC_SHARDS : CC_MRC_EXACT,
                          .sample_rate = max_samples && !rate_given ? 1.0 : rate,
                          .max_samples = max_samples, .seed = seed, .no_adjust = no_adjust};
        if (ts) {
            /* window by window; any error (a bad record: file, line) ends
             * the run before anything is printed */
            cc_mrc_stream *ms;
            int src = cc_mrc_stream_begin(&mo, cc_trace_stream_accesses(ts), &ms, &err);
            uint64_t nreq = 0;
            for (;;) {
                const cc_trace *w;
                if (src != CC_OK || (src = cc_trace_stream_next(ts, &w, &err)) != CC_OK ||
                    w->n == 0)
                    break;
                nreq += w->n;
                src = cc_mrc_stream_feed(ms, w, &err);
            }
            if (src == CC_OK)
                src = cc_mrc_stream_end(ms, t.source, &m, &err);
            else
                cc_mrc_stream_free(ms);
            if (src != CC_OK) {
                rc = cli_fail(cmd, &err);
                goto done;
            }
            cv.requests = nreq;
            cv.accesses = m.accesses;
            cv.block_size = cc_trace_stream_block_size(ts); /* known at the end */
        } else if (cc_mrc_trace(&t, &mo, &m, &err) != CC_OK) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
        cv.m = &m;
        cv.distinct = (uint64_t)llround(m.distinct_estimate);
        if (auto_sizes)
            n_caps = cc_mrc_auto_sizes(cv.distinct, AUTO_OCTAVES, caps, MAX_SIZES);
        for (size_t i = 0; i < n_caps; i++) {
            miss[i] = cc_mrc_miss_ratio(&m, caps[i]);
            tok[i] = cc_mrc_token_hit_ratio(&m, caps[i]);
        }
    } else {
        cc_trace_stats s;
        if (cc_trace_compute_stats(&t, &s, &err) != CC_OK) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
        cv.distinct = s.distinct_blocks;
        if (auto_sizes)
            n_caps = cc_mrc_auto_sizes(cv.distinct, AUTO_OCTAVES, caps, MAX_SIZES);
        cc_pc_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.mode = pmode;
        cfg.seed = seed;
        cfg.block_tokens = t.block_size;
        if (tiers) {
            cfg.n_tiers = chain.n_tiers;
            memcpy(cfg.tiers, chain.tiers, sizeof cfg.tiers);
        } else {
            cfg.n_tiers = 1;
            snprintf(cfg.tiers[0].name, sizeof cfg.tiers[0].name, "hbm");
            cfg.tiers[0].policy = pops;
            cfg.tiers[0].policy_params = pparams;
            cfg.tiers[0].policy_params.seed = seed;
        }
        cv.threads = threads ? (int)threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (cv.threads < 1)
            cv.threads = 1;
        cc_progress_begin("mrc: capacities replayed", n_caps);
        int src = cc_mrc_sweep(&t, &cfg, caps, n_caps, cv.threads, progress, NULL, miss, tok,
                               &err);
        cc_progress_end();
        if (src != CC_OK) {
            rc = cli_fail(cmd, &err);
            goto done;
        }
    }
    cv.elapsed_s = now_s() - t0;
    cv.n = n_caps;
    if (out_path && write_csv(&cv, out_path, &err) != CC_OK) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    if (json)
        rc = print_json(&cv);
    else
        print_text(&cv);
done:
    cc_mrc_free(&m);
    free(miss);
    free(tok);
out:
    free(caps);
    cc_trace_stream_close(ts);
    cc_trace_free(&t);
    return rc;
}
