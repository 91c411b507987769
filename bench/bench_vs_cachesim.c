/*
 * bench_vs_cachesim.c -- issue 17 item 3: the command a user runs against
 * libCacheSim's `cachesim`, as whole processes on the same input file.
 * Only when the environment variable LIBCACHESIM names a built cachesim
 * (README, "The prefix / context KV tier"); otherwise it prints
 * {"replay_vs_cachesim_skipped": true}.
 *
 * Input: a Zipf(0.9) stream of block ids (seeded GSL generator) written as a
 * libCacheSim oracleGeneral file (24-byte records: u32 time, u64 id, u32
 * size 1, i64 next access -1) in the output folder, removed afterwards.
 * For each policy of LRU, FIFO, CLOCK, SIEVE, ARC, S3-FIFO, LFU:
 *   A = `ctxcache replay FILE --policy P --capacity-blocks C --mode
 *        independent --json` (the default serving backend, concurrency none),
 *   B = `cachesim FILE oracleGeneral P C --ignore-obj-size 1`,
 * alternated A B A B ... (PAIRS pairs, default 5), each a fresh process
 * (posix_spawn, wait4): wall time (CLOCK_MONOTONIC around spawn and wait),
 * CPU time (the child's user + system) and peak RSS (the child's
 * ru_maxrss).  Per pair the ratio cachesim / ours; reported: the median
 * over pairs and the spread (min, max), wall and CPU.
 * JSON: replay_speed_vs_cachesim_<policy> (median wall ratio, cachesim wall
 * / ours: above 1 = ours faster), replay_cpu_vs_cachesim_<policy>,
 * replay_speed_vs_cachesim_<policy>_min / _max, and for LRU
 * replay_rss_vs_cachesim (ours / theirs, median peak RSS) with both peaks
 * in MiB.  The loop rates of bench_cache (cache_vs_libcachesim_*) are
 * in-memory loop rates, not these.
 * The same file as ctxcache's HDF5 trace (`ctxcache trace convert`), the
 * same seven policies: replay_speed_vs_cachesim_h5_<policy> /
 * replay_cpu_vs_cachesim_h5_<policy> (ours reads the .h5, cachesim the
 * .oracleGeneral), replay_rss_vs_cachesim_h5 (LRU).  Prefix mode on the Mooncake
 * trace (../shared/data, when present): `ctxcache replay
 * conversation_trace.jsonl --capacity-blocks 10000 --backend rates` (prefix
 * mode, cache figures: streamed) against cachesim LRU 10000 on the trace converted to
 * oracleGeneral: replay_speed_vs_cachesim_prefix_mooncake and _cpu_.
 * The machine's load: replay_vs_cachesim_loadavg_start / _end (the 1-minute
 * load average from /proc/loadavg; the ratios come from alternated pairs
 * and CPU time so that a loaded machine weighs on both sides alike).
 *
 * usage: bench_vs_cachesim [OUTDIR] [--accesses N] [--objects N]
 *                          [--capacity N] [--pairs N]
 * (defaults 10,000,000 accesses over 1,000,000 objects, 100,000 blocks, 5
 * pairs; the stream).
 */
#include "benchutil.h"

#include <fcntl.h>
#include <malloc.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <spawn.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int write_zipf_oracle(const char *path, size_t n, size_t objects, uint64_t seed)
{
    double *w = malloc(objects * sizeof *w);
    FILE *f = fopen(path, "wb");
    if (!w || !f) {
        free(w);
        if (f)
            fclose(f);
        return -1;
    }
    for (size_t k = 0; k < objects; k++)
        w[k] = pow((double)(k + 1), -0.9);
    gsl_ran_discrete_t *d = gsl_ran_discrete_preproc(objects, w);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char rec[24];
        uint32_t ts = (uint32_t)(i + 1), size = 1;
        uint64_t id = gsl_ran_discrete(r, d) + 1;
        int64_t next = -1;
        memcpy(rec, &ts, 4);
        memcpy(rec + 4, &id, 8);
        memcpy(rec + 12, &size, 4);
        memcpy(rec + 16, &next, 8);
        rc = fwrite(rec, 24, 1, f) == 1 ? 0 : -1;
    }
    gsl_rng_free(r);
    gsl_ran_discrete_free(d);
    free(w);
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

typedef struct proc_run {
    double wall_s, cpu_s, rss_mib;
    int ok;
} proc_run;

/* Runs argv[0] with stdout and stderr to /dev/null, in folder dir. */
static proc_run run_proc(char *const argv[], const char *dir)
{
    proc_run pr = {0, 0, 0, 0};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    pid_t pid;
    double t0 = bu_now_s();
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return pr;
    }
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) == pid) {
        pr.wall_s = bu_now_s() - t0;
        pr.cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
                   ru.ru_stime.tv_usec * 1e-6;
        pr.rss_mib = ru.ru_maxrss / 1024.0;
        pr.ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    posix_spawn_file_actions_destroy(&fa);
    return pr;
}

static double median(double *v, int n)
{
    gsl_sort(v, 1, n);
    return gsl_stats_median_from_sorted_data(v, 1, n);
}

static double loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

/* pairs alternated runs of a and b; prints NAME (wall), the CPU ratio and
 * the spread as JSON members; *rss_a / *rss_b get the median peaks.
 * Returns 0, or 1 when a run failed. */
static int compare(const char *name, char *const a_argv[], char *const b_argv[],
                   const char *dir, int pairs, double *rss_a, double *rss_b)
{
    double rw[50] = {0}, rc[50] = {0}, ra[50] = {0}, rb[50] = {0};
    int n = 0;
    for (int k = 0; k < pairs; k++) {
        proc_run A = run_proc(a_argv, dir), B = run_proc(b_argv, dir);
        if (!A.ok || !B.ok) {
            fprintf(stderr, "  %s: %s failed\n", name, !A.ok ? "ctxcache replay" : "cachesim");
            return 1;
        }
        rw[n] = B.wall_s / A.wall_s;
        rc[n] = B.cpu_s / A.cpu_s;
        ra[n] = A.rss_mib;
        rb[n] = B.rss_mib;
        n++;
    }
    double wmin = rw[0], wmax = rw[0], cmin = rc[0], cmax = rc[0];
    for (int k = 1; k < n; k++) {
        wmin = rw[k] < wmin ? rw[k] : wmin, wmax = rw[k] > wmax ? rw[k] : wmax;
        cmin = rc[k] < cmin ? rc[k] : cmin, cmax = rc[k] > cmax ? rc[k] : cmax;
    }
    double mw = median(rw, n), mc = median(rc, n), ma = median(ra, n), mb = median(rb, n);
    fprintf(stderr, "  %-16s wall ratio %.2f (min %.2f, max %.2f), CPU ratio %.2f (min %.2f, "
            "max %.2f); peak RSS ours %.0f MiB, cachesim %.0f MiB\n", name, mw, wmin, wmax, mc,
            cmin, cmax, ma, mb);
    printf(", \"replay_speed_vs_cachesim_%s\": %.4f, \"replay_speed_vs_cachesim_%s_min\": %.4f"
           ", \"replay_speed_vs_cachesim_%s_max\": %.4f, \"replay_cpu_vs_cachesim_%s\": %.4f"
           ", \"replay_cpu_vs_cachesim_%s_min\": %.4f, \"replay_cpu_vs_cachesim_%s_max\": %.4f",
           name, mw, name, wmin, name, wmax, name, mc, name, cmin, name, cmax);
    *rss_a = ma;
    *rss_b = mb;
    return 0;
}

int main(int argc, char **argv)
{
    size_t accesses = 10000000, objects = 1000000;
    unsigned capacity = 100000;
    int pairs = 5;
    const char *outdir = "build/bench";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--accesses") && i + 1 < argc)
            accesses = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--objects") && i + 1 < argc)
            objects = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--capacity") && i + 1 < argc)
            capacity = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--pairs") && i + 1 < argc)
            pairs = atoi(argv[++i]);
        else if (argv[i][0] != '-')
            outdir = argv[i];
        else {
            fprintf(stderr, "usage: bench_vs_cachesim [OUTDIR] [--accesses N] [--objects N] "
                            "[--capacity N] [--pairs N]\n");
            return 2;
        }
    }
    if (pairs < 1 || pairs > 50 || !accesses || !objects || !capacity) {
        fprintf(stderr, "bench_vs_cachesim: bad --pairs, --accesses, --objects or --capacity\n");
        return 2;
    }
    const char *lcs = getenv("LIBCACHESIM");
    if (!lcs || !*lcs || access(lcs, X_OK) != 0) {
        fprintf(stderr, "vs cachesim: skipped: LIBCACHESIM names no cachesim binary\n");
        printf("{\"replay_vs_cachesim_skipped\": true}\n");
        return 0;
    }
    char lcs_abs[4096], ours_rel[4096], ours[4096], dir[4096], file[4200], cap[32];
    const char *b = getenv("BUILD");
    snprintf(ours_rel, sizeof ours_rel, "%s/ctxcache", b ? b : "build");
    if (!realpath(lcs, lcs_abs) || !realpath(ours_rel, ours) || !realpath(outdir, dir)) {
        fprintf(stderr, "bench_vs_cachesim: cannot resolve %s, %s or %s\n", lcs, ours, outdir);
        return 1;
    }
    snprintf(file, sizeof file, "%s/vs_cachesim_zipf.oracleGeneral", dir);
    snprintf(cap, sizeof cap, "%u", capacity);
    if (write_zipf_oracle(file, accesses, objects, 1) != 0) {
        fprintf(stderr, "bench_vs_cachesim: cannot write %s\n", file);
        return 1;
    }
    /* A spawned child's peak RSS starts at this process's peak (posix_spawn
     * shares our memory until its exec): hand back what the generator took
     * and reset our peak, so that ru_maxrss is the command's own. */
    malloc_trim(0);
    FILE *cr = fopen("/proc/self/clear_refs", "w");
    if (cr) {
        fputs("5", cr);
        fclose(cr);
    }
    static const char *const pol[] = {"lru", "fifo", "clock", "sieve", "arc", "s3fifo", "lfu"};
    fprintf(stderr, "vs cachesim: whole processes, %zu-access Zipf(0.9) oracleGeneral file, %u "
            "blocks, independent mode, %d alternated pairs (ratio = cachesim / ours; wall on a "
            "shared machine is noisy, CPU less so)\n", accesses, capacity, pairs);
    printf("{\"replay_vs_cachesim_accesses\": %zu, \"replay_vs_cachesim_pairs\": %d", accesses,
           pairs);
    int status = 0;
    double load0 = loadavg();
    for (size_t p = 0; p < sizeof pol / sizeof pol[0]; p++) {
        char *a_argv[] = {ours, "replay", file, "--policy", (char *)pol[p], "--capacity-blocks",
                          cap, "--mode", "independent", "--json", NULL};
        char *b_argv[] = {lcs_abs, file, "oracleGeneral", (char *)pol[p], cap,
                          "--ignore-obj-size", "1", NULL};
        double ma, mb;
        if (compare(pol[p], a_argv, b_argv, dir, pairs, &ma, &mb)) {
            status = 1;
            continue;
        }
        if (p == 0)
            printf(", \"replay_rss_vs_cachesim\": %.4f, \"replay_peak_rss_mib_lru\": %.1f, "
                   "\"cachesim_peak_rss_mib_lru\": %.1f", ma / mb, ma, mb);
    }
    /* issue 17: `ctxcache mrc` (the exact curve, every size from one pass)
     * and `ctxcache sweep` (one streamed replay per size) at three sizes
     * against cachesim with the same three sizes (one cache per size) */
    {
        char *a_argv[] = {ours, "mrc", file, "--mode", "independent", "--sizes",
                          "1000,10000,100000", "--json", NULL};
        char *b_argv[] = {lcs_abs, file, "oracleGeneral", "lru", "1000,10000,100000",
                          "--ignore-obj-size", "1", NULL};
        double ma, mb;
        if (compare("mrc_lru3", a_argv, b_argv, dir, pairs, &ma, &mb))
            status = 1;
        else
            printf(", \"mrc_rss_vs_cachesim\": %.4f", ma / mb);
        char spec[4300], sweep_out[4300];
        snprintf(spec, sizeof spec, "%s/vs_cachesim_sweep.spec", dir);
        snprintf(sweep_out, sizeof sweep_out, "%s/vs_cachesim_sweep.h5", dir);
        FILE *sf = fopen(spec, "w");
        if (sf) {
            fprintf(sf, "trace = %s\npolicy = lru\ncapacity_blocks = 1000, 10000, 100000\n"
                        "mode = independent\n", file);
            fclose(sf);
        }
        char *c_argv[] = {ours, "sweep", spec, "-o", sweep_out, "--quiet", NULL};
        if (!sf || compare("sweep_lru3", c_argv, b_argv, dir, pairs, &ma, &mb))
            status = 1;
        else
            printf(", \"sweep_rss_vs_cachesim\": %.4f", ma / mb);
        remove(spec);
        remove(sweep_out);
    }
    /* the same stream as ctxcache's HDF5 trace, the same seven policies */
    char h5[4300];
    snprintf(h5, sizeof h5, "%s/vs_cachesim_zipf.h5", dir);
    {
        char *c_argv[] = {ours, "trace", "convert", file, h5, NULL};
        proc_run C = run_proc(c_argv, dir);
        if (!C.ok)
            status = 1;
        for (size_t p = 0; C.ok && p < sizeof pol / sizeof pol[0]; p++) {
            char *a_argv[] = {ours, "replay", h5, "--policy", (char *)pol[p],
                              "--capacity-blocks", cap, "--mode", "independent", "--json", NULL};
            char *b_argv[] = {lcs_abs, file, "oracleGeneral", (char *)pol[p], cap,
                              "--ignore-obj-size", "1", NULL};
            char name[32];
            snprintf(name, sizeof name, "h5_%s", pol[p]);
            double ma, mb;
            if (compare(name, a_argv, b_argv, dir, pairs, &ma, &mb))
                status = 1;
            else if (p == 0)
                printf(", \"replay_rss_vs_cachesim_h5\": %.4f", ma / mb);
        }
        remove(h5);
    }
    /* prefix mode on the Mooncake trace */
    const char *data = getenv("CTXCACHE_DATA");
    char mc[4096], mc_og[4300];
    snprintf(mc, sizeof mc, "%s/mooncake/conversation_trace.jsonl", data && *data ? data
                                                                          : "../shared/data");
    char mc_abs[4096];
    if (realpath(mc, mc_abs)) {
        snprintf(mc_og, sizeof mc_og, "%s/vs_cachesim_mooncake.oracleGeneral", dir);
        char *c_argv[] = {ours, "trace", "convert", mc_abs, mc_og, NULL};
        proc_run C = run_proc(c_argv, dir);
        /* cache figures only, as cachesim's (--backend rates: concurrency
         * none; since issue 14 a timed run must fit 10,000 Mooncake blocks,
         * 671 GB, in the GPU and exits 2) */
        char *a_argv[] = {ours, "replay", mc_abs, "--capacity-blocks", "10000", "--backend",
                          "rates", "--json", NULL};
        char *b_argv[] = {lcs_abs, mc_og, "oracleGeneral", "lru", "10000", "--ignore-obj-size",
                          "1", NULL};
        double ma, mb;
        if (!C.ok || compare("prefix_mooncake", a_argv, b_argv, dir, pairs, &ma, &mb))
            status = 1;
        remove(mc_og);
        strcat(mc_og, ".cachesim");
        remove(mc_og);
    } else
        fprintf(stderr, "  prefix_mooncake: skipped (%s absent)\n", mc);
    double load1 = loadavg();
    fprintf(stderr, "  machine load (1-min average): %.1f at the start, %.1f at the end\n", load0,
            load1);
    printf(", \"replay_vs_cachesim_loadavg_start\": %.2f, \"replay_vs_cachesim_loadavg_end\": "
           "%.2f", load0, load1);
    printf("}\n");
    remove(file);
    strcat(file, ".cachesim"); /* cachesim's own results file, in its folder */
    remove(file);
    return status;
}
