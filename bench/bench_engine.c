/*
 * bench_engine.c -- the real-kernel engine on this machine, in one run:
 *   - the machine's best sgemm rate (n = 2048, best of 3, over every BLAS
 *     found, each in a child process: the linked one, the system OpenBLAS
 *     on its own detection and on the CPU's instruction-set core type, the
 *     scipy-openblas32 wheel, BLIS), the baseline the engine's rate is
 *     compared with (prefill_sgemm_ratio: per CPU-second; _wall: wall);
 *   - PyTorch's prefill of the same model where a venv with torch exists
 *     (bench/torch_prefill.py): prefill_speed_vs_pytorch = its CPU time /
 *     ours (_wall: wall), 1k and 4k tokens, the same threads, fp32;
 *   - CPU prefill of the `small` preset (random weights, seed 1; the prompt
 *     in one forward, max_batch_tokens 4096): tokens/s, achieved GFLOP/s
 *     (cc_model_forward_flops) and prefill_sgemm_ratio;
 *   - TTFT (prefill wall time, last-token logits) of 1k- and 4k-token prompts
 *     with 0 %, 50 % and 90 % of the prompt cached (whole blocks), and
 *     ttft_speedup_90pct_cached (4k: full / 90 % cached), target >= 5;
 *   - a decode step for a batch of 8 sequences at 1k context;
 *   - on CUDA (bf16) where a device exists: the paged attention kernel per
 *     launch configuration (tiles x threads), then the same TTFT figures.
 * Times are medians of BENCH_REPS runs (default 3; wall clock, timing only),
 * with OMP_WAIT_POLICY=passive unless set (see main).
 * Prints one JSON object on stdout and a summary on stderr.
 */
#include "benchutil.h"
#include "gpu/gpu.h"

#include <cblas.h>
#include <dlfcn.h>
#include <time.h>
#include <omp.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <string.h>
#include <unistd.h>

#ifndef CC_BLAS_SCIPY
#define CC_BLAS_SCIPY 0
#endif

static double median(double *t, int n)
{
    gsl_sort(t, 1, n);
    return gsl_stats_median_from_sorted_data(t, 1, n);
}

static const int prompt_len[2] = {1024, 4096};

/* ---- the machine's best sgemm ---------------------------------------------
 * The baseline of prefill_sgemm_ratio is the best sgemm this machine has,
 * not the library the engine happens to be linked with (a misdetected BLAS
 * would otherwise look efficient against itself).  Each candidate runs in a
 * child process of its own (this binary with --sgemm-probe), because
 * OpenBLAS picks its kernels once, at load, from OPENBLAS_CORETYPE or the
 * CPU model: the linked library as the engine runs it, the system OpenBLAS
 * on its own detection and on the core type of the CPU's instruction set
 * (cc_blas_core_for_cpu), the scipy-openblas32 wheel (build/blas, or
 * build/blas-bench that `make bench` fetches whatever BLAS is), BLIS.  Each
 * is timed at n = 2048 (best of 3 after a warm-up): on all threads in wall
 * time and process CPU time, and on one thread in CPU time.  Rates per
 * CPU-second are what other processes on the same cores barely move. */
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                         const float *, int, float, float *, int);
typedef void (*set_threads_fn)(int);
typedef char *(*corename_fn)(void);

static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Best of 3 after a warm-up: GFLOP per wall second and per CPU-second. */
static void time_sgemm(sgemm_fn f, int n, const float *a, const float *b, float *c,
                       double *wall_gflops, double *cpu_gflops)
{
    double best_w = 1e30, best_c = 1e30;
    for (int r = 0; r < 4; r++) {
        double t0 = bu_now_s(), c0 = process_cpu_s();
        f(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double dt = bu_now_s() - t0, dc = process_cpu_s() - c0;
        if (r > 0 && dt < best_w)
            best_w = dt;
        if (r > 0 && dc < best_c)
            best_c = dc;
    }
    *wall_gflops = 2.0 * n * n * n / best_w / 1e9;
    *cpu_gflops = 2.0 * n * n * n / best_c / 1e9;
}

typedef struct blas_rate {
    char name[48], core[32];
    double wall_gflops, cpu_gflops, one_thread_cpu_gflops, engine_shapes_cpu_gflops;
} blas_rate;

static void linked_sgemm(int o, int ta, int tb, int m, int n, int k, float al, const float *a,
                         int lda, const float *b, int ldb, float be, float *c, int ldc)
{
    cblas_sgemm((enum CBLAS_ORDER)o, (enum CBLAS_TRANSPOSE)ta, (enum CBLAS_TRANSPOSE)tb, m, n, k,
                al, a, lda, b, ldb, be, c, ldc);
}
static void linked_set_threads(int n) { openblas_set_num_threads(n); }

/* The child: times one library ("-": the linked one) and prints
 * "core wall_gflops cpu_gflops one_thread_cpu_gflops". */
static int sgemm_probe(const char *path, const char *prefix)
{
    sgemm_fn f = linked_sgemm;
    set_threads_fn set = linked_set_threads;
    const char *core = openblas_get_corename();
    if (strcmp(path, "-") != 0) {
        openblas_set_num_threads(1); /* the linked library stays out of the way */
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            return 1;
        char sym[64];
        snprintf(sym, sizeof sym, "%scblas_sgemm", prefix);
        f = (sgemm_fn)dlsym(h, sym);
        snprintf(sym, sizeof sym, "%sopenblas_set_num_threads", prefix);
        set = (set_threads_fn)dlsym(h, sym);
        if (!set)
            set = (set_threads_fn)dlsym(h, "bli_thread_set_num_threads");
        snprintf(sym, sizeof sym, "%sopenblas_get_corename", prefix);
        corename_fn cn = (corename_fn)dlsym(h, sym);
        core = cn ? cn() : "-";
        if (!f || !set)
            return 1;
    }
    int n = 2048, threads = omp_get_max_threads();
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (long i = 0; i < (long)n * n; i++) {
        a[i] = (float)((i % 13) - 6) * 0.01f;
        b[i] = (float)((i % 7) - 3) * 0.01f;
    }
    blas_rate r;
    set(threads);
    time_sgemm(f, n, a, b, c, &r.wall_gflops, &r.cpu_gflops);
    set(1);
    double w1;
    time_sgemm(f, n, a, b, c, &w1, &r.one_thread_cpu_gflops);
    /* The engine's own products on one thread (a 4k prefill on 2 threads:
     * 2048 rows each times a weight matrix, transposed; the attention
     * tiles' S = Q K^T and O += P V): flops over CPU time, best of 3. */
    static const int shape[][4] = {{2048, 768, 768, 1}, {2048, 256, 768, 1},
                                   {2048, 2048, 768, 1}, {2048, 768, 2048, 1},
                                   {384, 256, 64, 1},    {384, 64, 256, 0}};
    double flops = 0, secs = 0;
    for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++) {
        int m = shape[i][0], nn = shape[i][1], k = shape[i][2], tb = shape[i][3];
        int reps = 1 + (int)(2e9 / (2.0 * m * nn * k));
        double best = 1e30;
        for (int t = 0; t < 4; t++) {
            double c0 = process_cpu_s();
            for (int q = 0; q < reps; q++)
                f(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, nn, k, 1.0f, a,
                  k, b, tb ? k : nn, 0.0f, c, nn);
            double dc = (process_cpu_s() - c0) / reps;
            if (t > 0 && dc < best)
                best = dc;
        }
        flops += 2.0 * m * nn * k;
        secs += best;
    }
    r.engine_shapes_cpu_gflops = flops / secs / 1e9;
    printf("%s %.2f %.2f %.2f %.2f\n", core && *core ? core : "-", r.wall_gflops, r.cpu_gflops,
           r.one_thread_cpu_gflops, r.engine_shapes_cpu_gflops);
    free(a), free(b), free(c);
    return 0;
}

static int sgemm_rates(blas_rate *out, int max_out)
{
    char self[4096] = "", dir[4096] = "";
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0)
        return 0;
    self[len] = 0;
    snprintf(dir, sizeof dir, "%s", self);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    char wheel[4200] = "";
    const char *wheel_dirs[] = {"blas", "blas-bench"};
    for (int i = 0; i < 2 && !wheel[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/../%s/scipy_openblas32/lib/libscipy_openblas.so", dir,
                 wheel_dirs[i]);
        if (access(p, R_OK) == 0)
            snprintf(wheel, sizeof wheel, "%s", p);
    }
    const char *core = cc_blas_core_for_cpu();
    char core_env[64] = "", core_name[64] = "";
    if (core) {
        snprintf(core_env, sizeof core_env, "OPENBLAS_CORETYPE=%s", core);
        snprintf(core_name, sizeof core_name, "system-openblas-%s", core);
    }
    struct {
        const char *name, *env, *path, *prefix;
    } cand[] = {
        {"linked", "", "-", ""},
        {"system-openblas", "-u OPENBLAS_CORETYPE", "libopenblas.so.0", ""},
        {core_name, core_env, "libopenblas.so.0", ""},
        {"scipy-openblas32", "-u OPENBLAS_CORETYPE", wheel, "scipy_"},
        {"blis", "", "libblis.so.4", ""},
    };
    int k = 0;
    for (size_t i = 0; i < sizeof cand / sizeof cand[0] && k < max_out; i++) {
        if (!cand[i].name[0] || !cand[i].path[0])
            continue;
        char cmd[8800], line[256] = "";
        snprintf(cmd, sizeof cmd, "env %s '%s' --sgemm-probe '%s' '%s' 2>/dev/null", cand[i].env,
                 self, cand[i].path, cand[i].prefix);
        FILE *p = popen(cmd, "r");
        int ok = p && fgets(line, sizeof line, p) != NULL;
        if (p)
            ok = pclose(p) == 0 && ok;
        blas_rate *r = &out[k];
        if (ok && sscanf(line, "%31s %lf %lf %lf %lf", r->core, &r->wall_gflops, &r->cpu_gflops,
                         &r->one_thread_cpu_gflops, &r->engine_shapes_cpu_gflops) == 5) {
            snprintf(r->name, sizeof r->name, "%s", cand[i].name);
            k++;
        } else {
            fprintf(stderr, "  sgemm %s: skipped (%s not loadable)\n", cand[i].name,
                    cand[i].path);
        }
    }
    return k;
}

/* A library's best rate per CPU-second: n = 2048 on all threads or one, or
 * the engine's shapes on one. */
static double best_cpu_rate(const blas_rate *r)
{
    double c = r->cpu_gflops > r->one_thread_cpu_gflops ? r->cpu_gflops : r->one_thread_cpu_gflops;
    return c > r->engine_shapes_cpu_gflops ? c : r->engine_shapes_cpu_gflops;
}

static double load_avg_1min(void)
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

/* ---- PyTorch's prefill on the same shapes (bench/torch_prefill.py) ---------
 * Run with the Python of PYTORCH_PYTHON, else of build/pyref/venv (made by
 * `make minilm-ref`); absent both, or when torch fails, the figures are
 * skipped.  Returns 1 with the four medians filled. */
static int torch_prefill(const char *out_dir, int threads, int reps, double wall[2],
                         double cpu[2])
{
    char py[4200], cmd[8600];
    const char *env = getenv("PYTORCH_PYTHON");
    if (env && *env)
        snprintf(py, sizeof py, "%s", env);
    else
        snprintf(py, sizeof py, "%s/../pyref/venv/bin/python", out_dir);
    if (access(py, X_OK) != 0) {
        fprintf(stderr, "  PyTorch: skipped: no %s (make minilm-ref, or set PYTORCH_PYTHON)\n",
                py);
        return 0;
    }
    snprintf(cmd, sizeof cmd, "OMP_WAIT_POLICY=passive '%s' bench/torch_prefill.py %d %d %d %d",
             py, threads, reps, prompt_len[0], prompt_len[1]);
    FILE *p = popen(cmd, "r");
    char line[4096] = "";
    int ok = p && fgets(line, sizeof line, p) != NULL;
    if (p)
        ok = (pclose(p) == 0) && ok;
    if (ok) {
        char key[64];
        for (int i = 0; i < 2 && ok; i++) {
            snprintf(key, sizeof key, "\"torch_prefill_%d_s\": ", prompt_len[i]);
            const char *v = strstr(line, key);
            ok = v && sscanf(v + strlen(key), "%lf", &wall[i]) == 1;
            snprintf(key, sizeof key, "\"torch_prefill_%d_cpu_s\": ", prompt_len[i]);
            v = strstr(line, key);
            ok = ok && v && sscanf(v + strlen(key), "%lf", &cpu[i]) == 1;
        }
    }
    if (!ok)
        fprintf(stderr, "  PyTorch: skipped: %s failed\n", cmd);
    return ok;
}

static void die(const cc_err *err)
{
    cc_err_print(err, stderr);
    exit(1);
}

typedef struct ttft {
    double t[2][3];   /* [1k, 4k][0, 50, 90 % cached] wall seconds */
    double cpu[2][3]; /* the same, process CPU seconds (all threads) */
    int cached[2][3];
} ttft;

static double cpu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const double cached_frac[3] = {0.0, 0.5, 0.9};

/* The full prefill writes every block of the prompt; a cached run then
 * reuses the first n_cached tokens' blocks and recomputes only the suffix
 * (which rewrites the same values), exactly as after a prefix-cache hit. */
static void run_ttft(cc_engine *e, const int32_t *tok, const int32_t *table, int n_blocks,
                     int reps, ttft *out, float *logits)
{
    int bs = cc_engine_config(e)->block_size;
    cc_err err = {0};
    for (int p = 0; p < 2; p++)
        for (int c = 0; c < 3; c++) {
            int n = prompt_len[p];
            int n_cached = (int)(cached_frac[c] * n) / bs * bs;
            double t[16], cpu[16];
            for (int r = 0; r < reps; r++) {
                double t0 = bu_now_s(), c0 = cpu_now_s();
                if (cc_engine_prefill(e, tok + n_cached, n - n_cached, n_cached, table, n_blocks,
                                      CC_LOGITS_LAST, logits, &err))
                    die(&err);
                t[r] = bu_now_s() - t0;
                cpu[r] = cpu_now_s() - c0;
            }
            out->t[p][c] = median(t, reps);
            out->cpu[p][c] = median(cpu, reps);
            out->cached[p][c] = n_cached;
        }
}

/* The paged attention kernel alone for the small preset's shapes (512 new
 * tokens after 3584 cached, bf16 pool): best time over tiles x threads. */
static void time_cuda_attention(const cc_model_config *c, double *best_s, int best[3])
{
    cc_attn_shape s = {c->n_heads, c->n_kv_heads, c->head_dim, c->block_size};
    int len = 4096, n = 512, nb = len / s.block_size, row = s.n_kv_heads * s.head_dim;
    size_t pool_n = (size_t)nb * s.block_size * row, qn = (size_t)n * s.n_heads * s.head_dim;
    float *kv = malloc(pool_n * sizeof(float)), *q = malloc(qn * sizeof(float));
    int32_t *table = malloc(nb * sizeof(int32_t));
    for (size_t i = 0; i < pool_n; i++)
        kv[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < qn; i++)
        q[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    for (int b = 0; b < nb; b++)
        table[b] = nb - 1 - b;
    void *dk = cc_cuda_alloc(pool_n * 2), *dv = cc_cuda_alloc(pool_n * 2);
    void *dq = cc_cuda_alloc(qn * 4), *dout = cc_cuda_alloc(qn * 2), *dt = cc_cuda_alloc(nb * 4);
    if (!dk || !dv || !dq || !dout || !dt || cc_cuda_upload(dk, kv, pool_n, CC_DTYPE_BF16) ||
        cc_cuda_upload(dv, kv, pool_n, CC_DTYPE_BF16) || cc_cuda_upload(dq, q, qn, CC_DTYPE_F32) ||
        cc_cuda_upload_bytes(dt, table, nb * 4)) {
        fprintf(stderr, "cuda attention timing: allocation or upload failed\n");
    } else {
        int tiles[][2] = {{16, 16}, {32, 32}, {64, 32}, {64, 64}}, threads[] = {64, 128, 256};
        *best_s = 1e30;
        for (int ti = 0; ti < 4; ti++)
            for (int th = 0; th < 3; th++) {
                double t[5];
                for (int r = 0; r < 5; r++) {
                    double t0 = bu_now_s();
                    if (cc_cuda_op_attention_paged(dout, dq, n, len - n, dk, dv, dt, &s,
                                                   tiles[ti][0], tiles[ti][1], CC_DTYPE_BF16,
                                                   threads[th]))
                        t[r] = 1e30;
                    else
                        t[r] = bu_now_s() - t0;
                }
                double m = median(t, 5);
                fprintf(stderr, "  cuda attention tiles %d/%d, %d threads: %.3f ms\n",
                        tiles[ti][0], tiles[ti][1], threads[th], m * 1e3);
                if (m < *best_s) {
                    *best_s = m;
                    best[0] = tiles[ti][0], best[1] = tiles[ti][1], best[2] = threads[th];
                }
            }
    }
    cc_cuda_free(dk), cc_cuda_free(dv), cc_cuda_free(dq), cc_cuda_free(dout), cc_cuda_free(dt);
    free(kv), free(q), free(table);
}

int main(int argc, char **argv)
{
    /* Other processes share these cores: OpenMP threads that spin at
     * barriers then burn the time slices their peers need, and a forward
     * has a few hundred barriers.  Run with passive waiting unless the
     * caller chose a policy (libgomp reads it at start-up, hence the exec). */
    /* The engine's OpenBLAS on the core type of the CPU's instruction set,
     * as `ctxcache` runs it (cli/main.c), unless the caller named one. */
    int probe = argc == 4 && !strcmp(argv[1], "--sgemm-probe"); /* its env is the parent's choice */
    const char *core = probe || CC_BLAS_SCIPY ? NULL : cc_blas_core_for_cpu();
    if (!getenv("OMP_WAIT_POLICY") || (core && !getenv("OPENBLAS_CORETYPE"))) {
        if (!getenv("OMP_WAIT_POLICY"))
            setenv("OMP_WAIT_POLICY", "passive", 1);
        if (core && !getenv("OPENBLAS_CORETYPE"))
            setenv("OPENBLAS_CORETYPE", core, 1);
        execv("/proc/self/exe", argv);
    }
    if (probe)
        return sgemm_probe(argv[2], argv[3]);
    int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 3;
    if (reps < 1 || reps > 16)
        reps = 3;
    double t_start = bu_now_s(), load_start = load_avg_1min();
    blas_rate rates[8];
    int n_rates = sgemm_rates(rates, 8);
    /* the baseline: the best rate of any library, per wall second (all
     * threads) and per CPU-second (all threads, or one: the higher) */
    double sgemm = 0, sgemm_cpu = 0, sgemm_1t_cpu = 0;
    double sgemm_linked = n_rates > 0 && !strcmp(rates[0].name, "linked") ? rates[0].wall_gflops : 0;
    const char *best_blas = "none", *best_blas_cpu = "none";
    for (int i = 0; i < n_rates; i++) {
        double c = best_cpu_rate(&rates[i]);
        if (rates[i].wall_gflops > sgemm)
            sgemm = rates[i].wall_gflops, best_blas = rates[i].name;
        if (c > sgemm_cpu)
            sgemm_cpu = c, best_blas_cpu = rates[i].name;
        if (rates[i].one_thread_cpu_gflops > sgemm_1t_cpu)
            sgemm_1t_cpu = rates[i].one_thread_cpu_gflops;
    }
    if (n_rates == 0) {
        fprintf(stderr, "bench_engine: no BLAS could be timed\n");
        return 1;
    }

    cc_model_config cfg;
    cc_err err = {0};
    if (cc_model_preset("small", &cfg, &err))
        die(&err);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);
    cc_weights w;
    if (cc_weights_random(&w, &cfg, rng, &err))
        die(&err);
    int n_max = prompt_len[1], n_blocks = (n_max + cfg.block_size - 1) / cfg.block_size;
    int32_t *tok = malloc(n_max * sizeof(int32_t)), *table = malloc(n_blocks * sizeof(int32_t));
    for (int i = 0; i < n_max; i++)
        tok[i] = (int32_t)gsl_rng_uniform_int(rng, cfg.vocab);
    for (int i = 0; i < n_blocks; i++)
        table[i] = n_blocks - 1 - i; /* any order works; not contiguous on purpose */
    float *logits = malloc(8 * (size_t)cfg.vocab * sizeof(float));

    cc_engine_opts o;
    cc_engine_opts_default(&o);
    o.n_slots = n_blocks + 8 * (1024 / cfg.block_size + 1);
    o.max_context = n_max;
    o.max_batch_tokens = n_max; /* a prompt in one forward, as PyTorch runs it */
    cc_engine *e;
    if (cc_engine_create(&w, &o, &e, &err))
        die(&err);
    /* warm-up: touch the weights and the pool once */
    if (cc_engine_prefill(e, tok, 256, 0, table, n_blocks, CC_LOGITS_LAST, logits, &err))
        die(&err);
    ttft cpu;
    run_ttft(e, tok, table, n_blocks, reps, &cpu, logits);
    double flops_4k = cc_model_forward_flops(&cfg, n_max, 0, 1);
    double flops_4k_90 = cc_model_forward_flops(&cfg, n_max - cpu.cached[1][2], cpu.cached[1][2], 1);
    double tok_s = n_max / cpu.t[1][0], gflops = flops_4k / cpu.t[1][0] / 1e9;
    double gflops_1k = cc_model_forward_flops(&cfg, 1024, 0, 1) / cpu.t[0][0] / 1e9;
    double speedup = cpu.t[1][0] / cpu.t[1][2], speedup_cpu = cpu.cpu[1][0] / cpu.cpu[1][2];
    double gflops_cpu_s = flops_4k / cpu.cpu[1][0] / 1e9;

    /* decode: 8 sequences, 1k context each (their blocks prefilled untimed) */
    int nb1k = 1024 / cfg.block_size + 1, B = 8;
    int32_t *dtab = malloc((size_t)B * nb1k * sizeof(int32_t)), dtok[8], dpos[8];
    for (int s = 0; s < B; s++) {
        for (int b = 0; b < nb1k; b++)
            dtab[s * nb1k + b] = n_blocks + s * nb1k + b;
        if (cc_engine_prefill(e, tok + 100 * s, 1024, 0, dtab + s * nb1k, nb1k, CC_LOGITS_NONE,
                              NULL, &err))
            die(&err);
        dtok[s] = tok[s];
        dpos[s] = 1024;
    }
    double td[16];
    for (int r = 0; r < reps; r++) {
        double t0 = bu_now_s();
        if (cc_engine_decode(e, B, dtok, dpos, dtab, nb1k, logits, &err))
            die(&err);
        td[r] = bu_now_s() - t0;
    }
    double t_decode = median(td, reps);
    cc_engine_free(e);

    /* CUDA, where a device exists: the attention kernel per launch
     * configuration (llm.c's timing section), then the engine. */
    double cuda_attn_best_s = 0;
    int cuda_attn_best[3] = {0, 0, 0};
    if (cc_gpu_device_count() > 0)
        time_cuda_attention(&cfg, &cuda_attn_best_s, cuda_attn_best);

    int have_cuda = cc_gpu_device_count() > 0;
    ttft gpu;
    memset(&gpu, 0, sizeof gpu);
    char dev[256] = "";
    if (have_cuda) {
        cc_gpu_device_describe(0, dev, sizeof dev);
        o.backend = CC_BACKEND_CUDA;
        o.dtype = CC_DTYPE_BF16;
        if (cc_engine_create(&w, &o, &e, &err))
            die(&err);
        if (cc_engine_prefill(e, tok, 256, 0, table, n_blocks, CC_LOGITS_LAST, logits, &err))
            die(&err);
        run_ttft(e, tok, table, n_blocks, reps, &gpu, logits);
        cc_engine_free(e);
    }

    double torch_wall[2] = {0, 0}, torch_cpu[2] = {0, 0};
    char out_dir[4096];
    snprintf(out_dir, sizeof out_dir, "%s", argc > 1 ? argv[1] : "build/bench");
    int have_torch = torch_prefill(out_dir, omp_get_max_threads(), reps, torch_wall, torch_cpu);
    char blas_desc[256];
    cc_cpu_blas_describe(blas_desc, sizeof blas_desc);
    fprintf(stderr, "  engine BLAS: %s\n", blas_desc);
    double load_end = load_avg_1min();
    for (int i = 0; i < n_rates; i++)
        fprintf(stderr, "  sgemm %-26s core %-10s n=2048: %6.1f GFLOP/s wall, %6.1f per "
                "CPU-s (%d threads), %6.1f per CPU-s (1 thread); engine shapes %6.1f per CPU-s "
                "(1 thread)\n", rates[i].name, rates[i].core, rates[i].wall_gflops,
                rates[i].cpu_gflops, omp_get_max_threads(), rates[i].one_thread_cpu_gflops,
                rates[i].engine_shapes_cpu_gflops);
    double ratio_cpu = gflops_cpu_s / sgemm_cpu, ratio_wall = gflops / sgemm;
    fprintf(stderr,
            "engine: small preset (%.0f M params, %d layers, hidden %d, %d/%d heads), "
            "block %d, %d threads, median of %d; load average %.1f at start, %.1f at end on "
            "%ld cores\n"
            "  best sgemm n=2048: %.1f GFLOP per CPU-second (%s), %.1f GFLOP/s wall (%s): "
            "the machine baseline\n"
            "  CPU prefill 4k: %.2f s = %.0f tokens/s; %.1f GFLOP per CPU-second = %.2f of "
            "sgemm (prefill_sgemm_ratio); wall %.1f GFLOP/s = %.2f of sgemm's wall rate "
            "(1k: %.1f GFLOP/s)\n",
            cc_model_params(&cfg) / 1e6, cfg.n_layers, cfg.hidden, cfg.n_heads, cfg.n_kv_heads,
            cfg.block_size, omp_get_max_threads(), reps, load_start, load_end,
            sysconf(_SC_NPROCESSORS_ONLN), sgemm_cpu, best_blas_cpu, sgemm, best_blas,
            cpu.t[1][0], tok_s, gflops_cpu_s, ratio_cpu, gflops, ratio_wall, gflops_1k);
    for (int p = 0; p < 2; p++)
        fprintf(stderr, "  TTFT %4d tokens: %.3f s full, %.3f s 50%% cached, %.3f s 90%% cached\n",
                prompt_len[p], cpu.t[p][0], cpu.t[p][1], cpu.t[p][2]);
    fprintf(stderr,
            "  ttft_speedup_90pct_cached (4k): %.2fx (target >= 5); in CPU time %.2fx; flop ratio "
            "%.2fx (the suffix still attends over the whole cached prefix)\n"
            "  4k prefill work: %.1f GFLOP per CPU-second (wall figures include time lost to "
            "other processes on the same cores)\n"
            "  decode, batch of 8 at 1k context: %.1f ms/step = %.1f tokens/s\n",
            speedup, speedup_cpu, flops_4k / flops_4k_90, gflops_cpu_s, t_decode * 1e3,
            B / t_decode);
    if (have_torch)
        for (int p = 0; p < 2; p++)
            fprintf(stderr, "  PyTorch prefill %d tokens: %.3f s wall, %.3f CPU-s; ours/theirs "
                    "speed %.2fx wall, %.2fx CPU time\n", prompt_len[p], torch_wall[p],
                    torch_cpu[p], torch_wall[p] / cpu.t[p][0], torch_cpu[p] / cpu.cpu[p][0]);
    if (have_cuda)
        fprintf(stderr, "  CUDA %s bf16: TTFT 4k %.4f s full, %.4f s 90%% cached\n", dev,
                gpu.t[1][0], gpu.t[1][2]);
    else
        fprintf(stderr, "  CUDA: skipped: no CUDA device\n");
    fprintf(stderr, "  bench wall time %.1f s\n", bu_now_s() - t_start);

    printf("{\"engine_model\": \"small\", \"engine_params\": %zu, \"engine_reps\": %d, "
           "\"sgemm_gflops\": %.2f, \"cpu_prefill_tokens_per_s\": %.1f, "
           "\"cpu_prefill_gflops\": %.2f, \"prefill_sgemm_ratio\": %.4f, "
           "\"prefill_sgemm_ratio_wall\": %.4f, \"cpu_prefill_gflops_1k\": %.2f",
           cc_model_params(&cfg), reps, sgemm, tok_s, gflops, ratio_cpu, ratio_wall, gflops_1k);
    printf(", \"sgemm_best_blas\": \"%s\", \"sgemm_best_blas_cpu_time\": \"%s\", "
           "\"sgemm_gflops_linked\": %.2f, \"sgemm_gflops_per_cpu_s\": %.2f, "
           "\"sgemm_gflops_per_cpu_s_1thread\": %.2f, \"prefill_sgemm_ratio_cpu_time\": %.4f, "
           "\"engine_load_avg_start\": %.2f, \"engine_load_avg_end\": %.2f",
           best_blas, best_blas_cpu, sgemm_linked, sgemm_cpu, sgemm_1t_cpu, ratio_cpu, load_start,
           load_end);
    for (int i = 0; i < n_rates; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s", rates[i].name);
        for (char *c = key; *c; c++)
            if (*c == '-')
                *c = '_';
        printf(", \"sgemm_%s_gflops_per_cpu_s\": %.2f, \"sgemm_%s_gflops_wall\": %.2f, "
               "\"sgemm_%s_engine_shapes_gflops_per_cpu_s\": %.2f", key, best_cpu_rate(&rates[i]),
               key, rates[i].wall_gflops, key, rates[i].engine_shapes_cpu_gflops);
    }
    if (have_torch) {
        /* the headline in CPU time (a shared machine starves both sides'
         * threads unevenly in wall time); wall figures beside it */
        double v1 = torch_wall[0] / cpu.t[0][0], v4 = torch_wall[1] / cpu.t[1][0];
        double c1 = torch_cpu[0] / cpu.cpu[0][0], c4 = torch_cpu[1] / cpu.cpu[1][0];
        printf(", \"torch_prefill_1k_s\": %.4f, \"torch_prefill_4k_s\": %.4f, "
               "\"torch_prefill_1k_cpu_s\": %.4f, \"torch_prefill_4k_cpu_s\": %.4f, "
               "\"prefill_speed_vs_pytorch_wall_1k\": %.3f, \"prefill_speed_vs_pytorch_wall_4k\": %.3f, "
               "\"prefill_speed_vs_pytorch_wall\": %.3f, \"prefill_speed_vs_pytorch_cpu_time_1k\": %.3f, "
               "\"prefill_speed_vs_pytorch_cpu_time_4k\": %.3f, \"prefill_speed_vs_pytorch\": %.3f",
               torch_wall[0], torch_wall[1], torch_cpu[0], torch_cpu[1], v1, v4, v1 < v4 ? v1 : v4,
               c1, c4, c1 < c4 ? c1 : c4);
    } else {
        printf(", \"pytorch_skipped\": true");
    }
    const char *pn[2] = {"1k", "4k"};
    const char *cn[3] = {"0pct", "50pct", "90pct"};
    for (int p = 0; p < 2; p++)
        for (int c = 0; c < 3; c++)
            printf(", \"cpu_ttft_%s_%s_cached_s\": %.4f", pn[p], cn[c], cpu.t[p][c]);
    for (int p = 0; p < 2; p++)
        for (int c = 0; c < 3; c++)
            printf(", \"cpu_ttft_%s_%s_cached_cpu_s\": %.4f", pn[p], cn[c], cpu.cpu[p][c]);
    printf(", \"ttft_speedup_90pct_cached\": %.3f, \"ttft_speedup_90pct_cached_cpu_time\": %.3f, "
           "\"cpu_prefill_gflops_per_cpu_s\": %.2f, \"flops_ratio_90pct_cached\": %.3f, "
           "\"cpu_decode_step_batch8_ctx1k_s\": %.5f, \"cpu_decode_tokens_per_s_batch8\": %.1f",
           speedup, speedup_cpu, gflops_cpu_s, flops_4k / flops_4k_90, t_decode, B / t_decode);
    if (have_cuda) {
        for (int p = 0; p < 2; p++)
            for (int c = 0; c < 3; c++)
                printf(", \"cuda_ttft_%s_%s_cached_s\": %.5f", pn[p], cn[c], gpu.t[p][c]);
        printf(", \"cuda_prefill_tokens_per_s\": %.1f, \"cuda_ttft_speedup_90pct_cached\": %.3f, "
               "\"cuda_attention_4k_512new_best_s\": %.6f, \"cuda_attention_best_q_rows\": %d, "
               "\"cuda_attention_best_k_tile\": %d, \"cuda_attention_best_threads\": %d",
               n_max / gpu.t[1][0], gpu.t[1][0] / gpu.t[1][2], cuda_attn_best_s,
               cuda_attn_best[0], cuda_attn_best[1], cuda_attn_best[2]);
    } else {
        printf(", \"cuda_skipped\": true");
    }
    printf("}\n");
    free(tok), free(table), free(logits), free(dtab);
    cc_weights_free(&w);
    gsl_rng_free(rng);
    return 0;
}
