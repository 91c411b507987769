/*
 * bench_mrc.c -- miss-ratio curves (core/mrc.h): speed of the exact LRU
 * stack pass and of SHARDS, and SHARDS' error against the exact curve.
 *
 * Workloads: a Zipf(0.9) stream of 10M accesses over 1M blocks (GSL, seed 1;
 * libCacheSim's reference workload) and, when the shared data is present,
 * the Mooncake conversation trace in prefix mode (skipped cleanly if not).
 * On each: the exact pass; SHARDS at R = 0.01 and 0.001 (fixed rate, adj,
 * hash seed 1) and fixed size (8192 blocks); the error of each against the
 * exact curve = mean and max |miss-ratio difference| over sizes 4 per octave
 * from 1000 blocks to the distinct blocks.  SHARDS' error depends on which
 * hot blocks the hash happens to sample, so R = 0.01 on Zipf is also run
 * with hash seeds 1..8 (mean and worst MAE).  Baseline in the same run: one
 * LRU cache of 100,000 blocks over the same stream (cc_pc_access, the
 * replay's independent mode): mrc_exact_vs_one_lru_sim = exact pass time /
 * that time, i.e. the price of every capacity in units of one.  On Mooncake,
 * the FIFO sweep (one replay per capacity, 25 capacities, threads) is timed
 * too.
 *
 * Timings: CPU seconds of this process (the machine is shared), best of
 * --reps (default 2); the threaded sweep in wall seconds.  Never results.
 *
 * Output: ONE line of JSON on stdout -- mrc_exact_accesses_per_s,
 * mrc_shards_speedup (exact time / SHARDS R=0.01 time), mrc_shards_mae and
 * mrc_shards_max_abs_error (R = 0.01, seed 1, Zipf), the same per
 * configuration as mrc_<workload>_<config>_{s,mae,max_abs_error}, and the
 * configuration (rates, seeds, sizes) under mrc_config; a summary on stderr.
 *
 * usage: bench_mrc [OUTDIR] [--accesses N] [--objects N] [--reps N] [--quick]
 *   CC_SHARED_DATA overrides ../shared/data.
 */
#include "benchutil.h"
#include "core/mrc.h"
#include "core/replay.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t *zipf_stream(size_t n, size_t objects, double alpha, unsigned long seed)
{
    double *p = malloc(objects * sizeof *p);
    uint64_t *s = malloc(n * sizeof *s);
    if (!p || !s) {
        free(p);
        free(s);
        return NULL;
    }
    for (size_t k = 0; k < objects; k++)
        p[k] = pow((double)(k + 1), -alpha);
    gsl_ran_discrete_t *d = gsl_ran_discrete_preproc(objects, p);
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, seed);
    for (size_t i = 0; i < n; i++) /* ranks spread over 64 bits, as block hashes are */
        s[i] = ((uint64_t)gsl_ran_discrete(g, d) + 1) * UINT64_C(0x9e3779b97f4a7c15);
    gsl_rng_free(g);
    gsl_ran_discrete_free(d);
    free(p);
    return s;
}

static void die(const char *what, const cc_err *e)
{
    fprintf(stderr, "bench_mrc: %s: ", what);
    if (e)
        cc_err_print(e, stderr);
    else
        fputc('\n', stderr);
    exit(1);
}

/* Mean and max |miss ratio difference| over 4 sizes per octave, lo..hi. */
static void curve_error(const cc_mrc *ex, const cc_mrc *m, double lo, double hi, double *mae,
                        double *max)
{
    double sum = 0;
    int n = 0;
    *max = 0;
    for (double c = lo; c <= hi * 1.0001; c *= pow(2, 0.25), n++) {
        double d = fabs(cc_mrc_miss_ratio(ex, (uint64_t)llround(c)) -
                        cc_mrc_miss_ratio(m, (uint64_t)llround(c)));
        sum += d;
        if (d > *max)
            *max = d;
    }
    *mae = n ? sum / n : 0;
}

/* One curve: keys (independent) or a trace (prefix); best CPU time of reps. */
typedef struct job {
    const uint64_t *keys;
    size_t n;
    const cc_trace *t;
} job;

static double run_curve(const job *j, const cc_mrc_opts *o, int reps, cc_mrc *out)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        cc_err e = {0};
        if (r)
            cc_mrc_free(out);
        double t0 = cpu_s();
        int rc = j->t ? cc_mrc_trace(j->t, o, out, &e) : cc_mrc_keys(j->keys, j->n, o, out, &e);
        double dt = cpu_s() - t0;
        if (rc != CC_OK)
            die("curve", &e);
        if (dt < best)
            best = dt;
    }
    return best;
}

/* The baseline: one LRU cache over the stream, every access independent. */
static double one_lru_sim(const uint64_t *s, size_t n, uint64_t capacity, int reps,
                          double *miss)
{
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        cc_pc_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.mode = CC_PC_INDEPENDENT;
        cfg.block_tokens = 16;
        cfg.kv_bytes_per_block = 1;
        cfg.n_tiers = 1;
        strcpy(cfg.tiers[0].name, "hbm");
        cfg.tiers[0].capacity_blocks = capacity;
        cfg.tiers[0].policy = cc_policy_find("lru");
        cc_prefix_cache *pc;
        cc_err e = {0};
        if (cc_pc_create(&cfg, &pc, &e) != CC_OK)
            die("cache", &e);
        cc_pc_request rq;
        memset(&rq, 0, sizeof rq);
        rq.n_blocks = 1;
        rq.input_tokens = 16;
        size_t hits = 0;
        double t0 = cpu_s();
        for (size_t i = 0; i < n; i++) {
            int k;
            if (i + 16 < n)
                cc_pc_prefetch(pc, s[i + 16], 1);
            if (i + 8 < n)
                cc_pc_prefetch(pc, s[i + 8], 2);
            rq.blocks = s + i;
            rq.index = i;
            rq.first_seq = i;
            cc_pc_access(pc, &rq, 0, &k);
            hits += k >= 0;
        }
        double dt = cpu_s() - t0;
        cc_pc_destroy(pc);
        *miss = 1.0 - (double)hits / n;
        if (dt < best)
            best = dt;
    }
    return best;
}

static void fig(json_t *o, const char *name, double v)
{
    json_object_set_new(o, name, json_real(v));
}

/* exact pass + SHARDS configurations on one workload; figures prefixed
 * mrc_<w>_; returns the exact curve in *ex. */
static void workload(json_t *o, const char *w, const job *j, cc_pc_mode mode, double hi, int reps,
                     cc_mrc *ex, double *exact_s, double *shards01_s, double *mae01,
                     double *max01)
{
    char name[128];
    cc_mrc_opts eo = {.mode = mode, .method = CC_MRC_EXACT};
    *exact_s = run_curve(j, &eo, reps, ex);
    double n = (double)ex->accesses;
    snprintf(name, sizeof name, "mrc_%s_exact_s", w);
    fig(o, name, *exact_s);
    snprintf(name, sizeof name, "mrc_%s_exact_accesses_per_s", w);
    fig(o, name, n / *exact_s);
    fprintf(stderr, "  %-9s exact            %8.3f s  %6.2f M accesses/s  (%.0f accesses, %.0f "
                    "distinct blocks)\n", w, *exact_s, n / *exact_s / 1e6, n,
            ex->distinct_estimate);
    const struct {
        const char *tag;
        double rate;
        uint64_t max_samples;
    } cfgs[] = {{"shards_r0.01", 0.01, 0}, {"shards_r0.001", 0.001, 0}, {"shards_fixed8192", 0, 8192}};
    for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
        cc_mrc m;
        cc_mrc_opts so = {.mode = mode, .method = CC_MRC_SHARDS, .sample_rate = cfgs[k].rate,
                          .max_samples = cfgs[k].max_samples, .seed = 1};
        double s = run_curve(j, &so, reps, &m), mae, mx;
        curve_error(ex, &m, 1000, hi, &mae, &mx);
        const char *tag = cfgs[k].tag;
        char t2[64];
        snprintf(t2, sizeof t2, "%s", tag);
        for (char *p = t2; *p; p++) /* figure names without dots */
            if (*p == '.')
                *p = '_';
        snprintf(name, sizeof name, "mrc_%s_%s_s", w, t2);
        fig(o, name, s);
        snprintf(name, sizeof name, "mrc_%s_%s_speedup", w, t2);
        fig(o, name, *exact_s / s);
        snprintf(name, sizeof name, "mrc_%s_%s_mae", w, t2);
        fig(o, name, mae);
        snprintf(name, sizeof name, "mrc_%s_%s_max_abs_error", w, t2);
        fig(o, name, mx);
        fprintf(stderr, "  %-9s %-16s %8.3f s  %6.1fx faster  MAE %.4f  max %.4f  (rate %.4g "
                        "at the end, %llu sampled accesses)\n", w, tag, s, *exact_s / s, mae, mx,
                m.final_rate, (unsigned long long)m.sampled_accesses);
        if (k == 0) {
            *shards01_s = s;
            *mae01 = mae;
            *max01 = mx;
        }
        cc_mrc_free(&m);
    }
}

int main(int argc, char **argv)
{
    size_t accesses = 10000000, objects = 1000000;
    int reps = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--accesses") && i + 1 < argc)
            accesses = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--objects") && i + 1 < argc)
            objects = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--quick")) {
            accesses = 1000000;
            objects = 100000;
            reps = 1;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: bench_mrc [OUTDIR] [--accesses N] [--objects N] [--reps N] "
                            "[--quick]\n");
            return 2;
        }
    }
    if (reps < 1 || accesses == 0 || objects == 0) {
        fprintf(stderr, "bench_mrc: --reps, --accesses and --objects must be positive\n");
        return 2;
    }
    json_t *o = json_object();
    uint64_t *s = zipf_stream(accesses, objects, 0.9, 1);
    if (!s)
        die("out of memory for the stream", NULL);
    fprintf(stderr, "bench_mrc: Zipf(0.9) %zu accesses over %zu blocks (seed 1); sizes 1000.."
                    "distinct, 4 per octave; CPU seconds, best of %d\n", accesses, objects, reps);

    job zj = {.keys = s, .n = accesses};
    cc_mrc ex;
    double exact_s, sh_s, mae, mx;
    workload(o, "zipf", &zj, CC_PC_INDEPENDENT, (double)objects, reps, &ex, &exact_s, &sh_s,
             &mae, &mx);
    fig(o, "mrc_exact_accesses_per_s", accesses / exact_s);
    fig(o, "mrc_shards_speedup", exact_s / sh_s);
    fig(o, "mrc_shards_mae", mae);
    fig(o, "mrc_shards_max_abs_error", mx);

    /* R = 0.01 over hash seeds 1..8 */
    double sum = 0, worst = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        cc_mrc m;
        cc_mrc_opts so = {.method = CC_MRC_SHARDS, .sample_rate = 0.01, .seed = seed};
        run_curve(&zj, &so, 1, &m);
        double e, x;
        curve_error(&ex, &m, 1000, (double)objects, &e, &x);
        sum += e;
        worst = e > worst ? e : worst;
        cc_mrc_free(&m);
    }
    fig(o, "mrc_shards_mae_seeds_mean", sum / 8);
    fig(o, "mrc_shards_mae_seeds_worst", worst);
    fprintf(stderr, "  zipf      shards_r0.01     MAE over hash seeds 1..8: mean %.4f, worst %.4f\n",
            sum / 8, worst);

    double lru_miss, lru_s = one_lru_sim(s, accesses, 100000, reps, &lru_miss);
    double curve_miss = cc_mrc_miss_ratio(&ex, 100000);
    if (fabs(lru_miss - curve_miss) > 1e-12) {
        fprintf(stderr, "bench_mrc: the LRU cache at 100000 blocks misses %.6f, the curve says "
                        "%.6f\n", lru_miss, curve_miss);
        return 1;
    }
    fig(o, "mrc_one_lru_sim_s", lru_s);
    fig(o, "mrc_exact_vs_one_lru_sim", exact_s / lru_s);
    fprintf(stderr, "  zipf      one LRU cache of 100000 blocks: %.3f s (%.2f M accesses/s); the "
                    "exact curve costs %.2f such runs\n", lru_s, accesses / lru_s / 1e6,
            exact_s / lru_s);
    cc_mrc_free(&ex);
    free(s);

    char path[1024];
    json_t *cfg = json_object();
    if (bu_data(path, sizeof path, "mooncake/conversation_trace.jsonl")) {
        cc_trace t;
        cc_err e = {0};
        if (cc_trace_read(path, "mooncake", NULL, &t, &e) != CC_OK)
            die("mooncake", &e);
        job mj = {.t = &t};
        double ms, msh, mm, mmx;
        workload(o, "mooncake", &mj, CC_PC_PREFIX, 182790, reps * 3, &ex, &ms, &msh, &mm, &mmx);
        /* the sweep: FIFO, 25 capacities, one replay each, all CPUs */
        uint64_t caps[64];
        size_t nc = cc_mrc_auto_sizes((uint64_t)ex.distinct_estimate, 12, caps, 64);
        double miss[64], tok[64];
        cc_pc_config pc;
        memset(&pc, 0, sizeof pc);
        pc.mode = CC_PC_PREFIX;
        pc.n_tiers = 1;
        strcpy(pc.tiers[0].name, "hbm");
        pc.tiers[0].policy = cc_policy_find("fifo");
        double w0 = bu_now_s(), c0 = cpu_s();
        if (cc_mrc_sweep(&t, &pc, caps, nc, 0, NULL, NULL, miss, tok, &e) != CC_OK)
            die("sweep", &e);
        double wall = bu_now_s() - w0, cpu = cpu_s() - c0;
        fig(o, "mrc_mooncake_fifo_sweep_wall_s", wall);
        fig(o, "mrc_mooncake_fifo_sweep_cpu_s", cpu);
        fprintf(stderr, "  mooncake  fifo sweep of %zu capacities: %.3f s wall, %.3f s CPU\n", nc,
                wall, cpu);
        cc_mrc_free(&ex);
        cc_trace_free(&t);
        json_object_set_new(cfg, "mooncake", json_string("prefix mode, LRU; FIFO sweep"));
    } else {
        fprintf(stderr, "  skipped: Mooncake conversation trace not found\n");
        json_object_set_new(cfg, "mooncake", json_null());
    }
    json_object_set_new(cfg, "zipf_alpha", json_real(0.9));
    json_object_set_new(cfg, "zipf_accesses", json_integer((json_int_t)accesses));
    json_object_set_new(cfg, "zipf_objects", json_integer((json_int_t)objects));
    json_object_set_new(cfg, "zipf_seed", json_integer(1));
    json_object_set_new(cfg, "shards_seed", json_integer(1));
    json_object_set_new(cfg, "shards_rates", json_pack("[f,f]", 0.01, 0.001));
    json_object_set_new(cfg, "shards_fixed_size", json_integer(8192));
    json_object_set_new(cfg, "shards_adjusted", json_true());
    json_object_set_new(cfg, "error_sizes", json_string("1000..distinct blocks, 4 per octave"));
    json_object_set_new(cfg, "timing", json_string("CPU seconds, best of reps"));
    json_object_set_new(o, "mrc_config", cfg);
    fig(o, "mrc_peak_rss_mb", bu_peak_rss_mb());
    json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
    putchar('\n');
    json_decref(o);
    return 0;
}
