/*
 * bench_cache.c -- speed of the prefix cache: block lookups per second for
 * LRU and FIFO in prefix and independent mode, on a Zipf(0.9) stream of 10M
 * accesses over 1M blocks (libCacheSim's reference workload, built here with
 * GSL, seed 1) and on the Mooncake conversation trace when the shared data
 * is present.  Prints one JSON object.
 *
 * Baseline measured in the same run: the same stream through cc_u64map
 * (get, put on a miss, no eviction), i.e. the cost of one hash-map probe per
 * access; "vs_map" is a run's speed divided by that.  libCacheSim's own
 * figures on this machine (reference/README.md: LRU 7.0 to 9.4 M req/s) are
 * quoted, not measured.  Timings are CPU time of this process (the
 * machine is shared), best of 3 runs (9 for the short Mooncake replays).
 *
 * usage: bench_cache [--accesses N] [--objects N] [--quick] [--only TEXT]
 *                    [--write-oracle PATH] [--prefetch 0..2] [--reps N]
 *   --write-oracle PATH also writes the Zipf stream in libCacheSim's
 *   oracleGeneral binary format (24-byte records: u32 time, u64 id, u32
 *   size 1, i64 next access or -1), to time `cachesim` on the same stream.
 *   --only TEXT runs only the configurations whose "policy/mode/capacity"
 *   label contains TEXT (e.g. "lru/independent/10000").
 *   CC_SHARED_DATA overrides ../shared/data.
 */
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
static void fscan_remove(void *st, uint32_t s, cc_remove_reason why)
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
        for (size_t i = 0; i < n; i++) {
            int k;
            prefetch(pc, s, i, n);
            rq.blocks = s + i;
            rq.index = i;
            rq.first_seq = i;
            cc_pc_access(pc, &rq, 0, &k);
            hits += k >= 0;
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

static void emit_run(int *first, const char *workload, const char *policy, const char *mode,
                     uint64_t capacity, size_t accesses, double best_s, double hit_ratio,
                     double bpb, double map_rate)
{
    double rate = accesses / best_s;
    printf("%s\n    {\"workload\": \"%s\", \"policy\": \"%s\", \"mode\": \"%s\", "
           "\"capacity_blocks\": %llu, \"accesses\": %zu, \"best_s\": %.4f, "
           "\"lookups_per_s\": %.0f, \"hit_ratio\": %.6f, \"metadata_bytes_per_block\": %.2f, "
           "\"vs_map\": %.3f}",
           *first ? "" : ",", workload, policy, mode, (unsigned long long)capacity, accesses,
           best_s, rate, hit_ratio, bpb, map_rate > 0 ? rate / map_rate : 0);
    *first = 0;
    fflush(stdout);
}

static int skip(const char *only, const char *policy, int prefix, uint32_t capacity)
{
    if (!only)
        return 0;
    char label[96];
    snprintf(label, sizeof label, "%s/%s/%u", policy, prefix ? "prefix" : "independent", capacity);
    return !strstr(label, only);
}

int main(int argc, char **argv)
{
    size_t accesses = 10000000, objects = 1000000;
    int reps = 3;
    const char *only = NULL, *oracle = NULL;
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
        } else {
            fprintf(stderr, "usage: bench_cache [--accesses N] [--objects N] [--quick] "
                            "[--only TEXT] [--write-oracle PATH]\n");
            return 2;
        }
    }
    uint64_t *s = zipf_stream(accesses, objects, 0.9, 1);
    if (!s) {
        fprintf(stderr, "bench_cache: out of memory\n");
        return 3;
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
    printf("{\n  \"bench\": \"cache\",\n  \"zipf\": {\"alpha\": 0.9, \"accesses\": %zu, "
           "\"objects\": %zu, \"seed\": 1},\n"
           "  \"baseline_map_lookups_per_s\": %.0f,\n"
           "  \"libcachesim_reference_lru_req_per_s\": [7.0e6, 9.4e6],\n  \"runs\": [",
           accesses, objects, map_rate);
    int first = 1;
    const char *policies[] = {"lru", "fifo"};
    const uint32_t caps[] = {10000, 100000};
    for (int pi = 0; pi < 2; pi++)
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
                emit_run(&first, "zipf", policies[pi], mi ? "prefix" : "independent", caps[ci],
                         accesses, best, hr, bpb, map_rate);
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
        for (int pi = 0; pi < 3; pi++)
            for (int mi = 0; mi < 2; mi++)
                for (int ci = 0; ci < 2; ci++) {
                    if (pi == 2 && !mi)
                        continue; /* fifo_scan: prefix mode only */
                    if (skip(only, pi < 2 ? policies[pi] : "fifo_scan", mi, mcaps[ci]))
                        continue;
                    cc_pc_config cfg;
                    memset(&cfg, 0, sizeof cfg);
                    cfg.mode = mi ? CC_PC_PREFIX : CC_PC_INDEPENDENT;
                    cfg.kv_bytes_per_block = 512 * 131072;
                    cfg.n_tiers = 1;
                    strcpy(cfg.tiers[0].name, "hbm");
                    cfg.tiers[0].capacity_blocks = mcaps[ci];
                    cfg.tiers[0].policy = pi < 2 ? cc_policy_find(policies[pi]) : &fifo_scan_ops;
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
                    emit_run(&first, "mooncake_conversation", pi < 2 ? policies[pi] : "fifo_scan",
                             mi ? "prefix" : "independent", mcaps[ci], res.block_accesses, best,
                             res.block_hit_ratio, res.metadata_bytes_per_block, map_rate);
                }
        cc_trace_free(&t);
    }
    printf("\n  ]\n}\n");
    return 0;
}
