/*
 * bench_embed.c -- the C MiniLM embedder (gpu/minilm.c, CPU) against
 * sentence-transformers on PyTorch (bench/bench_embed_torch.py, the same
 * weights), same machine, same run, same number of CPU threads:
 *   - minilm_cosine_min: the worst cosine between the two tools' vectors of
 *     the 100 sentences of tests/minilm_expected.h (live PyTorch vectors; the
 *     stored ones when torch is absent), target >= 0.999;
 *   - per-query latency at batch 1 and batch 32 over those sentences (5 of
 *     them are long: truncated at 256 tokens), each side's median of
 *     BENCH_REPS rounds (default 5), the two sides ALTERNATING round by round
 *     so that a noisy machine weighs on both alike;
 *   - embed_speed_ratio_vs_pytorch (PyTorch time / ours, batch 1) and
 *     embed_speed_ratio_vs_pytorch_b32, targets >= 1.
 * Threads: EMBED_THREADS (default 1) for both (torch.set_num_threads).  The
 * PyTorch side runs in build/pyref/venv (make minilm-ref; PYREF_PYTHON
 * overrides); without it, or without the weights (make minilm), the figures
 * it needs are left out and a line says why.  Wall-clock times: timing only.
 * Prints one JSON object on stdout and a summary on stderr.
 */
#include "benchutil.h"
#include "gpu/gpu.h"

#include "../tests/minilm_expected.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#ifndef CC_BLAS_SCIPY
#define CC_BLAS_SCIPY 0
#endif

static double median(double *t, int n)
{
    gsl_sort(t, 1, n);
    return gsl_stats_median_from_sorted_data(t, 1, n);
}

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

/* Seconds per query: all texts once, in batches of b (a tail shorter than b
 * is left out, as the PyTorch side does). */
static double c_round(cc_embedder *e, const size_t *lens, int b, float *out)
{
    cc_err err = {0};
    int n = MLM_EXP_N / b * b;
    double t0 = bu_now_s();
    for (int i = 0; i < n; i += b)
        if (cc_embedder_embed(e, mlm_exp_text + i, lens + i, b, out + (size_t)i * MLM_EXP_DIM,
                              &err)) {
            fprintf(stderr, "bench_embed: %s\n", err.msg);
            exit(1);
        }
    return (bu_now_s() - t0) / n;
}

typedef struct torch_proc {
    pid_t pid;
    FILE *to, *from;
} torch_proc;

/* Starts the PyTorch side; 0 when it answered "ready". */
static int torch_start(torch_proc *p, const char *python, const char *texts, int threads,
                       const char *vecs)
{
    int in[2], out[2];
    if (pipe(in) || pipe(out))
        return -1;
    char th[16];
    snprintf(th, sizeof th, "%d", threads);
    p->pid = fork();
    if (p->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl(python, python, "bench/bench_embed_torch.py", texts, th, vecs, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    p->to = fdopen(in[1], "w");
    p->from = fdopen(out[0], "r");
    char line[64];
    if (p->pid < 0 || !fgets(line, sizeof line, p->from) || strncmp(line, "ready", 5) != 0)
        return -1;
    return 0;
}

static double torch_round(torch_proc *p, int b)
{
    char line[64];
    fprintf(p->to, "%d\n", b);
    fflush(p->to);
    if (!fgets(line, sizeof line, p->from))
        return -1.0;
    return atof(line);
}

static void torch_stop(torch_proc *p)
{
    if (p->to)
        fclose(p->to);
    if (p->from)
        fclose(p->from);
    if (p->pid > 0)
        waitpid(p->pid, NULL, 0);
}

int main(int argc, char **argv)
{
    /* passive OpenMP waiting on shared cores (see bench_engine.c), and the
     * system OpenBLAS on the core type of the CPU's instruction set, as
     * `ctxcache` runs the embedder (cli/main.c), unless the caller named one */
    const char *core = CC_BLAS_SCIPY ? NULL : cc_blas_core_for_cpu();
    if (!getenv("OMP_WAIT_POLICY") || (core && !getenv("OPENBLAS_CORETYPE"))) {
        if (!getenv("OMP_WAIT_POLICY"))
            setenv("OMP_WAIT_POLICY", "passive", 1);
        if (core && !getenv("OPENBLAS_CORETYPE"))
            setenv("OPENBLAS_CORETYPE", core, 1);
        execv("/proc/self/exe", argv);
    }
    const char *outdir = argc > 1 ? argv[1] : "build/bench";
    int reps = getenv("BENCH_REPS") ? atoi(getenv("BENCH_REPS")) : 5;
    if (reps < 1 || reps > 50)
        reps = 5;
    int threads = getenv("EMBED_THREADS") ? atoi(getenv("EMBED_THREADS")) : 1;
    if (threads < 1 || threads > 256)
        threads = 1;
    cc_embedder *e = NULL;
    cc_err err = {0};
    if (cc_minilm_embedder_new(NULL, 0, threads, &e, &err)) {
        fprintf(stderr, "bench_embed: skipped: %s (%s)\n", err.msg, err.file);
        printf("{}\n");
        return 0;
    }
    size_t lens[MLM_EXP_N];
    for (int i = 0; i < MLM_EXP_N; i++)
        lens[i] = strlen(mlm_exp_text[i]);
    float *ours = malloc(sizeof(float) * MLM_EXP_N * MLM_EXP_DIM);
    float *theirs = malloc(sizeof(float) * MLM_EXP_N * MLM_EXP_DIM);

    /* the texts for the PyTorch side, and its vectors back */
    char texts_path[1024], vecs_path[1024];
    snprintf(texts_path, sizeof texts_path, "%s/embed_texts.json", outdir);
    snprintf(vecs_path, sizeof vecs_path, "%s/embed_torch_vecs.f32", outdir);
    json_t *arr = json_array();
    for (int i = 0; i < MLM_EXP_N; i++)
        json_array_append_new(arr, json_stringn(mlm_exp_text[i], lens[i]));
    json_dump_file(arr, texts_path, JSON_COMPACT);
    json_decref(arr);
    const char *python = getenv("PYREF_PYTHON") ? getenv("PYREF_PYTHON")
                                                  : "build/pyref/venv/bin/python";
    torch_proc tp = {0};
    signal(SIGPIPE, SIG_IGN);
    int have_torch = access(python, X_OK) == 0 &&
                     torch_start(&tp, python, texts_path, threads, vecs_path) == 0;
    if (have_torch) {
        FILE *f = fopen(vecs_path, "rb");
        have_torch = f && fread(theirs, sizeof(float), (size_t)MLM_EXP_N * MLM_EXP_DIM, f) ==
                              (size_t)MLM_EXP_N * MLM_EXP_DIM;
        if (f)
            fclose(f);
    }
    if (!have_torch) {
        fprintf(stderr, "bench_embed: PyTorch side absent (%s; make minilm-ref): vectors "
                        "compared with the stored reference, no speed ratio\n", python);
        for (int i = 0; i < MLM_EXP_N; i++)
            for (int d = 0; d < MLM_EXP_DIM; d++)
                theirs[i * MLM_EXP_DIM + d] = mlm_exp_vec[i][d] / 32767.0f;
    }

    /* vectors: one batch of all 100 */
    if (cc_embedder_embed(e, mlm_exp_text, lens, MLM_EXP_N, ours, &err)) {
        fprintf(stderr, "bench_embed: %s\n", err.msg);
        return 1;
    }
    double cos_min = 1.0;
    for (int i = 0; i < MLM_EXP_N; i++) {
        double c = cosine(ours + (size_t)i * MLM_EXP_DIM, theirs + (size_t)i * MLM_EXP_DIM,
                          MLM_EXP_DIM);
        cos_min = c < cos_min ? c : cos_min;
    }

    /* latency, alternating rounds */
    double c1[50], c32[50], t1[50], t32[50];
    c_round(e, lens, 1, ours); /* warm-up */
    for (int r = 0; r < reps; r++) {
        c1[r] = c_round(e, lens, 1, ours);
        if (have_torch)
            t1[r] = torch_round(&tp, 1);
        c32[r] = c_round(e, lens, 32, ours);
        if (have_torch)
            t32[r] = torch_round(&tp, 32);
    }
    torch_stop(&tp);
    double mc1 = median(c1, reps), mc32 = median(c32, reps);
    fprintf(stderr,
            "minilm (C, CPU, %d thread%s): batch 1 %.3f ms/query, batch 32 %.3f ms/query "
            "(median of %d alternating rounds; shared machine: noisy)\n",
            threads, threads > 1 ? "s" : "", mc1 * 1e3, mc32 * 1e3, reps);
    printf("{\"minilm_cosine_min\": %.7f, \"embed_threads\": %d, "
           "\"embed_c_ms_per_query_b1\": %.4f, \"embed_c_ms_per_query_b32\": %.4f",
           cos_min, threads, mc1 * 1e3, mc32 * 1e3);
    if (have_torch) {
        double mt1 = median(t1, reps), mt32 = median(t32, reps);
        fprintf(stderr,
                "pytorch (sentence-transformers): batch 1 %.3f ms/query, batch 32 %.3f "
                "ms/query; ratio (pytorch / C) %.2f at batch 1, %.2f at batch 32; worst cosine "
                "%.6f\n",
                mt1 * 1e3, mt32 * 1e3, mt1 / mc1, mt32 / mc32, cos_min);
        printf(", \"embed_torch_ms_per_query_b1\": %.4f, \"embed_torch_ms_per_query_b32\": "
               "%.4f, \"embed_speed_ratio_vs_pytorch\": %.4f, "
               "\"embed_speed_ratio_vs_pytorch_b32\": %.4f",
               mt1 * 1e3, mt32 * 1e3, mt1 / mc1, mt32 / mc32);
    }
    printf("}\n");
    free(ours);
    free(theirs);
    cc_embedder_free(e);
    return 0;
}
