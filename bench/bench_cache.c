/*
 * bench_cache.c -- speed of the prefix cache: block lookups per second for
 * LRU and FIFO in prefix and independent mode, on a Zipf(0.9) stream of 10M
 * accesses over 1M blocks (libCacheSim's reference workload, built here with
 * GSL, seed 1) and on the Mooncake conversation trace when the shared data
 * is present.  Prints one JSON object.
 *
 * Baseline measured in the same run: the same stream through cc_u64map
 * (get, put on a miss, no eviction), i.e. the cost of one hash-map probe per
 * access; "vs_map" is a run's speed divided by that.  Timings are CPU time
 * of this process (the machine is shared), best of --reps runs (default 2
 * for Zipf, 3x that for the short Mooncake replays).
 *
 * Output: ONE line of JSON (bench/run.sh merges it into bench.json) with
 * named figures -- cache_<policy>_<mode>_<workload>_mlps (M block lookups
 * per CPU second; workloads zipf10k, zipf100k, mooncake10k, mooncake50k),
 * cache_bytes_per_block_<policy>_<T>tier(s) for every registered policy
 * and T = 1 .. 4 tiers (cc_pc_memory_bytes / blocks; a top tier of 100,000
 * blocks, 400,000 in each one below), cache_peak_rss_mb
 * (VmHWM of the process) -- the details of every run in cache_runs (with
 * metadata_mib, the structure's memory), and cache_table: policy (lru,
 * s3fifo, arc) x mode x stream (zipf10m at 100,000 blocks, mooncake at
 * 50,000) with lookups_per_s, bytes_per_block, metadata_mib and, for
 * Zipf, vs_libcachesim.
 *
 * libCacheSim in the same run: when the environment variable LIBCACHESIM
 * names a built `cachesim`, the Zipf stream is written as an oracleGeneral
 * file in the output folder (argument 1, default build/bench) and
 * `$LIBCACHESIM FILE oracleGeneral P 100000 --ignore-obj-size 1` runs for
 * P = lru, s3fifo, arc; its own reported throughput ("throughput X MQPS")
 * is taken, or accesses / wall time of the whole process when it prints
 * none.  Figures: libcachesim_<P>_mrps and
 * cache_vs_libcachesim_<P>_<mode> = our zipf100k rate / its rate (and
 * cache_vs_libcachesim_<mode> = lru_<mode>_vs_libcachesim for LRU).
 * Independent mode feeds the stream through cc_pc_access_stream (one
 * request per block, as cachesim reads its trace); --prefetch 0 uses plain
 * cc_pc_access calls instead.  The file is removed afterwards.
 *
 * usage: bench_cache [OUTDIR] [--accesses N] [--objects N] [--quick]
 *                    [--only TEXT] [--write-oracle PATH] [--prefetch 0..2]
 *                    [--reps N]
 *   --write-oracle PATH also writes the Zipf stream in libCacheSim's
 *   oracleGeneral binary format (24-byte records: u32 time, u64 id, u32
 *   size 1, i64 next access or -1), to time `cachesim` on the same stream.
 *   --only TEXT runs only the configurations whose "policy/mode/capacity"
 *   label contains TEXT (e.g. "lru/independent/10000").
 *   CC_SHARED_DATA overrides ../shared/data.
 */
#include "benchutil.h"
#include "core/replay.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- fifo_scan: FIFO as a queue walked from the old end, skipping what is
 * not evictable (the alternative fifo.c rejects; measured here).  A policy
 * defined outside the registry: cc_pc_config takes any ops table. */
typedef struct fscan {
    uint32_t *next, *prev; /* queue in insertion order, sentinel = capacity */
    uint32_t sentinel;
    uint64_t skips, victims;
} fscan;

static int fscan_create(const cc_policy_params *p, uint32_t cap, void **st, cc_err *e)
{
    (void)p;
    (void)e;
    fscan *f = calloc(1, sizeof *f);
    f->next = malloc((cap + 1) * sizeof *f->next);
    f->prev = malloc((cap + 1) * sizeof *f->prev);
    f->sentinel = cap;
    f->next[cap] = f->prev[cap] = cap;
    *st = f;
    return CC_OK;
}
static void fscan_destroy(void *st)
{
    fscan *f = st;
    free(f->next);
    free(f->prev);
    free(f);
}
static void fscan_insert(void *st, uint32_t s, const cc_access *a)
{
    (void)a;
    fscan *f = st; /* append at the new end: prev[S] is the newest */
    uint32_t last = f->prev[f->sentinel];
    f->next[s] = f->sentinel;
    f->prev[s] = last;
    f->next[last] = s;
    f->prev[f->sentinel] = s;
}
static void fscan_hit(void *st, uint32_t s, const cc_access *a)
{
    (void)st;
    (void)s;
    (void)a;
}
static void fscan_remove(void *st, uint32_t s, uint64_t key, cc_remove_reason why)
{
    (void)why;
    fscan *f = st;
    f->next[f->prev[s]] = f->next[s];
    f->prev[f->next[s]] = f->prev[s];
}
static uint32_t fscan_victim(void *st, const cc_victim_ctx *ctx)
{
    fscan *f = st;
    uint32_t s = f->next[f->sentinel];
    f->victims++;
    while (s != f->sentinel && !ctx->evictable[s]) {
        s = f->next[s];
        f->skips++;
    }
    return s == f->sentinel ? CC_SLOT_NONE : s;
}
static const cc_policy_ops fifo_scan_ops = {
    .name = "fifo_scan",
    .summary = "FIFO by scanning (benchmark only)",
    .bytes_per_slot = 8,
    .create = fscan_create,
    .destroy = fscan_destroy,
    .on_insert = fscan_insert,
    .on_hit = fscan_hit,
    .on_remove = fscan_remove,
    .choose_victim = fscan_victim,
};

/* CPU time of this process: the machine is shared, and CPU time does not
 * count the time other processes hold the core (it still pays for caches
 * they flush). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t *zipf_stream(size_t n, size_t objects, double alpha, uint64_t seed)
{
    double *w = malloc(objects * sizeof *w);
    uint64_t *s = malloc(n * sizeof *s);
    if (!w || !s)
        return NULL;
    for (size_t k = 0; k < objects; k++)
        w[k] = pow((double)(k + 1), -alpha);
    gsl_ran_discrete_t *d = gsl_ran_discrete_preproc(objects, w);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    for (size_t i = 0; i < n; i++)
        s[i] = gsl_ran_discrete(r, d) + 1;
    gsl_rng_free(r);
    gsl_ran_discrete_free(d);
    free(w);
    return s;
}

static int write_oracle(const char *path, const uint64_t *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    cc_u64map m;
    int64_t *next = malloc(n * sizeof *next);
    if (!f || !next || cc_u64map_init(&m, n / 4) != CC_OK) {
        if (f)
            fclose(f);
        free(next);
        return -1;
    }
    for (size_t i = n; i-- > 0;) {
        uint64_t *v;
        cc_u64map_put(&m, s[i], UINT64_MAX, &v);
        next[i] = *v == UINT64_MAX ? -1 : (int64_t)*v;
        *v = i;
    }
    cc_u64map_free(&m);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char rec[24];
        uint32_t ts = (uint32_t)(i + 1), size = 1;
        memcpy(rec, &ts, 4);
        memcpy(rec + 4, &s[i], 8);
        memcpy(rec + 12, &size, 4);
        memcpy(rec + 16, &next[i], 8);
        if (fwrite(rec, 1, sizeof rec, f) != sizeof rec)
            rc = -1;
    }
    free(next);
    if (fclose(f) != 0)
        rc = -1;
    if (rc)
        remove(path);
    return rc;
}

static double run_map(const uint64_t *s, size_t n, size_t *hits)
{
    cc_u64map m;
    cc_u64map_init(&m, 16);
    double t0 = now_s();
    size_t h = 0;
    for (size_t i = 0; i < n; i++) {
        if (cc_u64map_get(&m, s[i]))
            h++;
        else
            cc_u64map_put(&m, s[i], i, NULL);
    }
    double dt = now_s() - t0;
    cc_u64map_free(&m);
    *hits = h;
    return dt;
}

/* The replay's prefetch schedule (core/replay.c): stages 16 and 8 ahead. */
static int prefetch_stages = 2; /* --prefetch N: 0 = none (to measure what it buys) */

static inline void prefetch(const cc_prefix_cache *pc, const uint64_t *s, size_t i, size_t n)
{
    if (prefetch_stages >= 1 && i + 16 < n)
        cc_pc_prefetch(pc, s[i + 16], 1);
    if (prefetch_stages >= 2 && i + 8 < n)
        cc_pc_prefetch(pc, s[i + 8], 2);
}

/* The stream as requests of one block each. */
static double run_stream(const uint64_t *s, size_t n, const char *policy, cc_pc_mode mode,
                         uint32_t capacity, double *hit_ratio, double *bytes_per_block)
{
    cc_pc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = mode;
    cfg.block_tokens = 16;
    cfg.kv_bytes_per_block = 16 * 131072;
    cfg.n_tiers = 1;
    strcpy(cfg.tiers[0].name, "hbm");
    cfg.tiers[0].capacity_blocks = capacity;
    cfg.tiers[0].policy = cc_policy_find(policy);
    cc_prefix_cache *pc;
    cc_err err = {0};
    if (cc_pc_create(&cfg, &pc, &err) != CC_OK) {
        cc_err_print(&err, stderr);
        exit(1);
    }
    size_t hits = 0;
    double t0 = now_s();
    cc_pc_request rq;
    memset(&rq, 0, sizeof rq);
    rq.n_blocks = 1;
    rq.input_tokens = 16;
    if (mode == CC_PC_INDEPENDENT) {
        /* one request per access, as cachesim reads its trace */
        if (prefetch_stages) {
            uint64_t h = 0;
            cc_pc_access_stream(pc, s, n, 0, 0, &h);
            hits = h;
        } else {
            for (size_t i = 0; i < n; i++) {
                int k;
                rq.blocks = s + i;
                rq.index = i;
                rq.first_seq = i;
                cc_pc_access(pc, &rq, 0, &k);
                hits += k >= 0;
            }
        }
    } else {
        uint32_t node;
        cc_pc_hits h;
        for (size_t i = 0; i < n; i++) {
            prefetch(pc, s, i, n);
            rq.blocks = s + i;
            rq.index = i;
            rq.first_seq = i;
            cc_pc_lookup(pc, &rq, &node, &h);
            cc_pc_insert(pc, &rq, &node, NULL);
            cc_pc_release(pc, &node, 1);
            hits += h.blocks;
        }
    }
    double dt = now_s() - t0;
    *hit_ratio = (double)hits / n;
    *bytes_per_block = cc_pc_bytes_per_block(pc);
    cc_pc_destroy(pc);
    return dt;
}

/* Figures are collected as text and printed on one line at the end. */
static char figs[1 << 16], runs[1 << 17];
static size_t figs_n, runs_n;

static void fig(const char *name, double v)
{
    figs_n += snprintf(figs + figs_n, sizeof figs - figs_n, "\"%s\": %.6g, ", name, v);
}

static double rate_of[4][2][4]; /* [policy][mode][workload]: lookups/s */
static double bpb_of[4][2][4];  /* metadata bytes per block */
static uint32_t cap_of[4][2][4];

static void emit_run(int *first, const char *workload, const char *policy, const char *mode,
                     uint64_t capacity, size_t accesses, double best_s, double hit_ratio,
                     double bpb, double map_rate)
{
    double rate = accesses / best_s;
    runs_n += snprintf(runs + runs_n, sizeof runs - runs_n,
                       "%s{\"workload\": \"%s\", \"policy\": \"%s\", \"mode\": \"%s\", "
                       "\"capacity_blocks\": %llu, \"accesses\": %zu, \"best_s\": %.4f, "
                       "\"lookups_per_s\": %.0f, \"hit_ratio\": %.6f, "
                       "\"metadata_bytes_per_block\": %.2f, \"metadata_mib\": %.3f, "
                       "\"vs_map\": %.3f}",
                       *first ? "" : ", ", workload, policy, mode, (unsigned long long)capacity,
                       accesses, best_s, rate, hit_ratio, bpb, bpb * capacity / 1048576.0,
                       map_rate > 0 ? rate / map_rate : 0);
    fprintf(stderr, "  %-22s %-9s %-11s %7llu blocks: %6.2f M lookups/s, hit %.4f, %.1f B/block\n",
            workload, policy, mode, (unsigned long long)capacity, rate / 1e6, hit_ratio, bpb);
    *first = 0;
}

/* Runs cachesim on the oracle file; its throughput in requests/s per CPU
 * second of the child (0 when it failed).  The same clock as ours: on a
 * shared machine wall-clock figures (cachesim prints one) count the time
 * other processes hold the core.  The child's CPU time includes starting and
 * reading the binary trace, which is part of replaying from that format. */
static double run_cachesim(const char *bin, const char *file, const char *policy,
                           uint32_t capacity, size_t accesses)
{
    char cmd[4096], line[1024];
    /* cachesim writes FILE.cachesim into its working directory: run it in
     * the trace's folder (build/bench), not in the repository */
    char dir[2048];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    char abs_bin[2048];
    if (!realpath(bin, abs_bin))
        snprintf(abs_bin, sizeof abs_bin, "%s", bin);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' '%s' oracleGeneral %s %u --ignore-obj-size 1 2>&1",
             dir, abs_bin, slash ? slash + 1 : file, policy, capacity);
    double t0 = bu_now_s();
    struct rusage ru0, ru1;
    getrusage(RUSAGE_CHILDREN, &ru0);
    FILE *f = popen(cmd, "r");
    if (!f)
        return 0;
    double mqps = 0;
    while (fgets(line, sizeof line, f)) {
        const char *t = strstr(line, "throughput ");
        if (t)
            mqps = strtod(t + 11, NULL);
    }
    int rc = pclose(f);
    double wall = bu_now_s() - t0;
    getrusage(RUSAGE_CHILDREN, &ru1);
    double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                 (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) * 1e-6 +
                 (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) * 1e-6;
    if (rc != 0 || cpu <= 0) {
        fprintf(stderr, "  cachesim %s failed (status %d)\n", policy, rc);
        return 0;
    }
    double r = accesses / cpu;
    fprintf(stderr,
            "  libCacheSim cachesim %-6s %u: %.2f M req/s per CPU second (its own wall-clock "
            "figure %.2f M/s; process wall %.2f s)\n",
            policy, capacity, r / 1e6, mqps, wall);
    return r;
}

/* cc_pc_bytes_per_block of every registered policy (the figure the
 * metadata budget of issue 3 item 1 is about) with 1 to CC_PC_MAX_TIERS
 * tiers: a top tier of 100,000 blocks and 400,000 in each tier below, the
 * policy in all of them.  Each tier beyond the first adds a place per node
 * and a slot -> node entry per slot (8 bytes per block in all, once) and a
 * child count byte per node. */
static int all_policy_bytes(void)
{
    int failed = 0;
    static const char *names[] = {"hbm", "dram", "ssd", "remote"};
    for (size_t i = 0; i < cc_policy_count(); i++) {
        const cc_policy_ops *ops = cc_policy_at(i);
        for (uint32_t tiers = 1; tiers <= CC_PC_MAX_TIERS; tiers++) {
            cc_pc_config cfg;
            memset(&cfg, 0, sizeof cfg);
            cfg.mode = CC_PC_PREFIX;
            cfg.block_tokens = 16;
            cfg.kv_bytes_per_block = 16 * 131072;
            cfg.n_tiers = tiers;
            for (uint32_t k = 0; k < tiers; k++) {
                strcpy(cfg.tiers[k].name, names[k % 4]);
                cfg.tiers[k].capacity_blocks = k ? 400000 : 100000;
                cfg.tiers[k].policy = ops;
            }
            cc_prefix_cache *pc;
            cc_err err = {0};
            if (cc_pc_create(&cfg, &pc, &err) != CC_OK) {
                fprintf(stderr, "bench_cache: %s with %u tiers: %s\n", ops->name, tiers,
                        err.msg);
                failed = 1; /* no figure: the target would go unchecked */
                continue;
            }
            char name[96];
            snprintf(name, sizeof name, "cache_bytes_per_block_%s_%utier%s", ops->name, tiers,
                     tiers > 1 ? "s" : "");
            fig(name, cc_pc_bytes_per_block(pc));
            cc_pc_destroy(pc);
        }
    }
    return failed;
}

static int skip(const char *only, const char *policy, int prefix, uint32_t capacity)
{
    if (!only)
        return 0;
    char label[96];
    snprintf(label, sizeof label, "%s/%s/%u", policy, prefix ? "prefix" : "independent", capacity);
    return !strstr(label, only);
}

static const char *const workloads[4] = {"zipf10k", "zipf100k", "mooncake10k", "mooncake50k"};

int main(int argc, char **argv)
{
    size_t accesses = 10000000, objects = 1000000;
    int reps = 2;
    const char *only = NULL, *oracle = NULL, *outdir = "build/bench";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--accesses") && i + 1 < argc)
            accesses = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--objects") && i + 1 < argc)
            objects = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--write-oracle") && i + 1 < argc)
            oracle = argv[++i];
        else if (!strcmp(argv[i], "--prefetch") && i + 1 < argc)
            prefetch_stages = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--quick")) {
            accesses = 1000000;
            objects = 100000;
            reps = 1;
        } else if (argv[i][0] != '-')
            outdir = argv[i];
        else {
            fprintf(stderr, "usage: bench_cache [OUTDIR] [--accesses N] [--objects N] [--quick] "
                            "[--only TEXT] [--write-oracle PATH] [--prefetch 0..2] [--reps N]\n");
            return 2;
        }
    }
    uint64_t *s = zipf_stream(accesses, objects, 0.9, 1);
    if (!s) {
        fprintf(stderr, "bench_cache: out of memory\n");
        return 3;
    }
    const char *lcs = getenv("LIBCACHESIM");
    char lcs_file[1024] = "";
    if (lcs && *lcs && !oracle) {
        snprintf(lcs_file, sizeof lcs_file, "%s/bench_cache_zipf.oracleGeneral", outdir);
        oracle = lcs_file;
    }
    if (oracle && write_oracle(oracle, s, accesses) != 0) {
        fprintf(stderr, "bench_cache: cannot write %s\n", oracle);
        return 1;
    }
    size_t map_hits;
    double map_best = 1e30;
    for (int r = 0; r < reps; r++) {
        double dt = run_map(s, accesses, &map_hits);
        if (dt < map_best)
            map_best = dt;
    }
    double map_rate = accesses / map_best;
    fprintf(stderr, "bench_cache: Zipf(0.9) %zu accesses over %zu blocks; hash map baseline "
                    "%.2f M/s\n", accesses, objects, map_rate / 1e6);
    fig("cache_baseline_map_mlps", map_rate / 1e6);
    int first = 1;
    enum { NPOL = 4 };
    const char *policies[NPOL] = {"lru", "s3fifo", "arc", "fifo"};
    const char *modes[2] = {"independent", "prefix"};
    const uint32_t caps[] = {10000, 100000};
    for (int pi = 0; pi < NPOL; pi++)
        for (int mi = 0; mi < 2; mi++)
            for (int ci = 0; ci < 2; ci++) {
                double best = 1e30, hr = 0, bpb = 0;
                cc_pc_mode mode = mi ? CC_PC_PREFIX : CC_PC_INDEPENDENT;
                if (skip(only, policies[pi], mi, caps[ci]))
                    continue;
                for (int r = 0; r < reps; r++) {
                    double dt = run_stream(s, accesses, policies[pi], mode, caps[ci], &hr, &bpb);
                    if (dt < best)
                        best = dt;
                }
                rate_of[pi][mi][ci] = accesses / best;
                bpb_of[pi][mi][ci] = bpb;
                cap_of[pi][mi][ci] = caps[ci];
                emit_run(&first, "zipf", policies[pi], modes[mi], caps[ci], accesses, best, hr,
                         bpb, map_rate);
            }
    free(s);

    char path[1024];
    const char *d = getenv("CC_SHARED_DATA");
    snprintf(path, sizeof path, "%s/mooncake/conversation_trace.jsonl", d ? d : "../shared/data");
    if (access(path, R_OK) == 0) {
        cc_trace t;
        cc_err err = {0};
        if (cc_trace_read(path, "mooncake", NULL, &t, &err) != CC_OK) {
            cc_err_print(&err, stderr);
            return 1;
        }
        const uint32_t mcaps[] = {10000, 50000};
        for (int pi = 0; pi <= NPOL; pi++) /* NPOL: fifo_scan */
            for (int mi = 0; mi < 2; mi++)
                for (int ci = 0; ci < 2; ci++) {
                    if (pi == NPOL && !mi)
                        continue; /* fifo_scan: prefix mode only */
                    if (skip(only, pi < NPOL ? policies[pi] : "fifo_scan", mi, mcaps[ci]))
                        continue;
                    cc_pc_config cfg;
                    memset(&cfg, 0, sizeof cfg);
                    cfg.mode = mi ? CC_PC_PREFIX : CC_PC_INDEPENDENT;
                    cfg.kv_bytes_per_block = 512 * 131072;
                    cfg.n_tiers = 1;
                    strcpy(cfg.tiers[0].name, "hbm");
                    cfg.tiers[0].capacity_blocks = mcaps[ci];
                    cfg.tiers[0].policy = pi < NPOL ? cc_policy_find(policies[pi]) : &fifo_scan_ops;
                    double best = 1e30;
                    cc_replay_result res;
                    for (int r = 0; r < reps * 3; r++) {
                        /* CPU time around the whole replay (cache set-up
                         * included), not res.elapsed_s (wall clock) */
                        double t0 = now_s();
                        if (cc_replay(&t, &cfg, NULL, &res, &err) != CC_OK) {
                            cc_err_print(&err, stderr);
                            return 1;
                        }
                        double dt = now_s() - t0;
                        if (dt < best)
                            best = dt;
                    }
                    if (pi < NPOL) {
                        rate_of[pi][mi][2 + ci] = res.block_accesses / best;
                        bpb_of[pi][mi][2 + ci] = res.metadata_bytes_per_block;
                        cap_of[pi][mi][2 + ci] = mcaps[ci];
                    }
                    emit_run(&first, "mooncake_conversation", pi < NPOL ? policies[pi] : "fifo_scan",
                             modes[mi], mcaps[ci], res.block_accesses, best,
                             res.block_hit_ratio, res.metadata_bytes_per_block, map_rate);
                }
        cc_trace_free(&t);
    } else
        fprintf(stderr, "  skipped: Mooncake conversation trace not found (%s)\n", path);

    for (int pi = 0; pi < NPOL; pi++)
        for (int mi = 0; mi < 2; mi++)
            for (int w = 0; w < 4; w++)
                if (rate_of[pi][mi][w] > 0) {
                    char name[128];
                    snprintf(name, sizeof name, "cache_%s_%s_%s_mlps", policies[pi], modes[mi],
                             workloads[w]);
                    fig(name, rate_of[pi][mi][w] / 1e6);
                }

    double lcs_rate[NPOL] = {0};
    if (lcs && *lcs) {
        fprintf(stderr, "  vs libCacheSim: LOOP RATES (our in-memory replay loop against "
                        "cachesim's reported throughput), not whole commands: "
                        "bench_vs_cachesim gives those (replay_speed_vs_cachesim_*)\n");
        for (int pi = 0; pi < 3; pi++) { /* lru, s3fifo, arc */
            double r = run_cachesim(lcs, oracle, policies[pi], caps[1], accesses);
            if (r <= 0)
                continue;
            lcs_rate[pi] = r;
            char name[128];
            snprintf(name, sizeof name, "libcachesim_%s_mrps", policies[pi]);
            fig(name, r / 1e6);
            for (int mi = 0; mi < 2; mi++)
                if (rate_of[pi][mi][1] > 0) {
                    snprintf(name, sizeof name, "cache_vs_libcachesim_%s_%s", policies[pi],
                             modes[mi]);
                    fig(name, rate_of[pi][mi][1] / r);
                    if (pi == 0) {
                        snprintf(name, sizeof name, "cache_vs_libcachesim_%s", modes[mi]);
                        fig(name, rate_of[pi][mi][1] / r);
                        /* the names of issue 3's target table */
                        snprintf(name, sizeof name, "lru_%s_vs_libcachesim", modes[mi]);
                        fig(name, rate_of[pi][mi][1] / r);
                    }
                }
        }
        remove(lcs_file);
    } else
        fprintf(stderr, "  libCacheSim not run (set LIBCACHESIM to a built cachesim)\n");
    fig("cache_peak_rss_mb", bu_peak_rss_mb());
    int bytes_failed = all_policy_bytes();
    /* The table of issue 3 item 9: policy x mode x stream (Zipf at 100,000
     * blocks, Mooncake at 50,000), speed, metadata per block and in all
     * (the structure's memory: every array is allocated once at creation),
     * ratio to cachesim on the same Zipf stream in this run. */
    char table[1 << 14];
    size_t tn = 0;
    for (int pi = 0; pi < 3; pi++) {
        tn += snprintf(table + tn, sizeof table - tn, "%s\"%s\": {", pi ? ", " : "", policies[pi]);
        for (int mi = 0; mi < 2; mi++) {
            tn += snprintf(table + tn, sizeof table - tn, "%s\"%s\": {", mi ? ", " : "", modes[mi]);
            static const int ws[2] = {1, 3};
            static const char *const wn[2] = {"zipf10m", "mooncake"};
            int firstw = 1;
            for (int wi = 0; wi < 2; wi++) {
                int w = ws[wi];
                if (rate_of[pi][mi][w] <= 0)
                    continue;
                tn += snprintf(table + tn, sizeof table - tn,
                               "%s\"%s\": {\"capacity_blocks\": %u, \"lookups_per_s\": %.0f, "
                               "\"bytes_per_block\": %.2f, \"metadata_mib\": %.3f",
                               firstw ? "" : ", ", wn[wi], cap_of[pi][mi][w], rate_of[pi][mi][w],
                               bpb_of[pi][mi][w], bpb_of[pi][mi][w] * cap_of[pi][mi][w] / 1048576.0);
                if (wi == 0 && lcs_rate[pi] > 0)
                    tn += snprintf(table + tn, sizeof table - tn,
                                   ", \"libcachesim_lookups_per_s\": %.0f, \"vs_libcachesim\": %.3f",
                                   lcs_rate[pi], rate_of[pi][mi][w] / lcs_rate[pi]);
                tn += snprintf(table + tn, sizeof table - tn, "}");
                firstw = 0;
            }
            tn += snprintf(table + tn, sizeof table - tn, "}");
        }
        tn += snprintf(table + tn, sizeof table - tn, "}");
    }
    printf("{%s\"cache_zipf\": {\"alpha\": 0.9, \"accesses\": %zu, \"objects\": %zu, \"seed\": 1}, "
           "\"cache_table\": {%s}, \"cache_peak_rss_mb_note\": \"VmHWM of the whole bench "
           "process (streams included); per-run structure memory is metadata_mib\", "
           "\"cache_runs\": [%s]}\n",
           figs, accesses, objects, table, runs);
    return bytes_failed;
}
