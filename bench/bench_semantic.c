/*
 * bench_semantic.c -- the semantic cache's vector index: per-query lookup
 * latency (p50, p99) of exact search (sgemm) and of FAISS HNSW32 at 10k and
 * 100k cached entries, HNSW's recall@1 against exact search on the same
 * queries, the speed-up of HNSW over exact at p50, inserts per second
 * through the cache's API, and the hash embedder's texts per second.
 *
 * Data: dim 128, entries drawn around 1,000 Gaussian cluster centres
 * (semantic caches hold many near-paraphrases), L2-normalised; queries are
 * entries perturbed by noise (the paraphrase that should hit).  Seeded GSL
 * generator: the same vectors every run.  Timings are wall-clock, one
 * query at a time, on whatever threads OpenBLAS uses.
 *
 * Figures: semantic_lookup_{exact,hnsw}_p50_ms_{10k,100k}, ..._p99_ms_...,
 * semantic_recall_at_1_hnsw_{10k,100k}, semantic_hnsw_speedup_{10k,100k},
 * semantic_inserts_per_s, semantic_hash_embed_texts_per_s.
 *
 * 1M entries (issue 15 item 9), at MiniLM's width (dim 384: 1.5 GB of
 * vectors), of low intrinsic dimension as sentence embeddings are (their
 * variance sits in a few dozen directions): the same clusters in a latent
 * space of 48 dimensions (1,000 centres N(0, 1), entries centre +
 * N(0, 0.5^2) per coordinate) mapped to 384 by one fixed Gaussian matrix;
 * queries a (unit) entry + N(0, 0.0175^2) per coordinate of the 384, a
 * cosine of about 0.95 to it as above (a paraphrase), all L2-normalised.
 * Generated straight into the index (no second copy); 1,000 queries, each
 * timed alone through the approximate index (wall time and the thread's CPU
 * time: a single query runs on the calling thread, vec_faiss.cpp), 200 of
 * them alone through exact search; the truth for recall@1 is one batched
 * exact search of all 1,000.  FAISS IVF1024,PQ48 (k-means lists, 48-byte
 * product-quantisation codes of the residuals), nprobe 2: its 20 candidates
 * are scored again exactly from the index's matrix (vec_index.c), so
 * quantisation costs no accuracy in the top-1 among them.  The build (one
 * thread, as vec_faiss.cpp trains and adds) takes some minutes; the index
 * holds 1.66 GB (the matrix and its maps; the PQ codes are 48 MB).  docs/semantic.md
 * has the specs tried (HNSW16: recall 0.925 after a 28-minute build).
 * Figures: lookup_p99_ms_1m (p99 of per-query CPU time, target < 1 ms),
 * recall_at_1_1m (approximate top-1 = exact top-1, target >= 0.95),
 * semantic_lookup_ann_{p50,p99}_ms_1m (CPU), ..._wall_ms_1m (wall),
 * semantic_lookup_exact_{p50,p99}_ms_1m, semantic_ann_speedup_1m,
 * semantic_ann_build_s_1m (wall seconds), semantic_index_adds_per_s_1m
 * (vectors into the exact index).  BENCH_SEMANTIC_1M=0 leaves it out;
 * BENCH_SEMANTIC_1M=N sets the entries (e.g. 100000 for a quick look);
 * BENCH_SEMANTIC_1M_SPEC another FAISS spec; BENCH_SEMANTIC_1M_ONLY=1 runs
 * only this case.
 */
#include "../core/semantic_cache.h"
#include "benchutil.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

#define DIM 128
#define NQ 500
#define DIM_1M 384
#define NQ_1M 1000 /* queries of the 1M case (all timed approximately) */
#define NQ_1M_EXACT 200 /* of them timed one at a time through exact search */
#define LATENT_1M 48

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void normalise(float *v)
{
    double s = 0;
    for (int d = 0; d < DIM; d++)
        s += (double)v[d] * v[d];
    for (int d = 0; d < DIM; d++)
        v[d] /= (float)sqrt(s);
}

/* p50 and p99 in ms of one query at a time; ids of each query's top-1 */
static int time_queries_n(const cc_vec_index *ix, const float *q, int dim, int nq, int exact,
                          double *p50, double *p99, uint64_t *top)
{
    double lat[NQ > NQ_1M_EXACT ? NQ : NQ_1M_EXACT];
    cc_err err = {0};
    for (int i = 0; i < nq; i++) {
        float s;
        double t0 = bu_now_s();
        int rc = exact ? cc_vec_index_search_exact(ix, q + (size_t)i * dim, 1, 1, &top[i], &s, &err)
                       : cc_vec_index_search(ix, q + (size_t)i * dim, 1, 1, &top[i], &s, &err);
        lat[i] = (bu_now_s() - t0) * 1e3;
        if (rc) {
            cc_err_print(&err, stderr);
            return rc;
        }
    }
    qsort(lat, (size_t)nq, sizeof lat[0], cmp_double);
    *p50 = lat[nq / 2];
    *p99 = lat[(nq * 99) / 100];
    return 0;
}

/* The 1M case's approximate lookups, one query at a time: each query's wall
 * time and its thread's CPU time (FAISS searches fewer than 16 queries on
 * the calling thread, vec_faiss.cpp).  On a shared machine a query that a
 * competing process preempts waits in wall time but not in CPU time, so the
 * CPU-time percentiles are the index's own and the wall ones are reported
 * beside them.  Sorted in place; ids of each query's top-1. */
static int time_queries_cpu(const cc_vec_index *ix, const float *q, int dim, int nq,
                            double *wall_ms, double *cpu_ms, uint64_t *top)
{
    cc_err err = {0};
    for (int i = 0; i < nq; i++) {
        float s;
        struct timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        double t0 = bu_now_s();
        int rc = cc_vec_index_search(ix, q + (size_t)i * dim, 1, 1, &top[i], &s, &err);
        wall_ms[i] = (bu_now_s() - t0) * 1e3;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        cpu_ms[i] = ((double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) * 1e-9) * 1e3;
        if (rc) {
            cc_err_print(&err, stderr);
            return rc;
        }
    }
    qsort(wall_ms, (size_t)nq, sizeof wall_ms[0], cmp_double);
    qsort(cpu_ms, (size_t)nq, sizeof cpu_ms[0], cmp_double);
    return 0;
}

static int time_queries(const cc_vec_index *ix, const float *q, int exact, double *p50,
                        double *p99, uint64_t *top)
{
    return time_queries_n(ix, q, DIM, NQ, exact, p50, p99, top);
}

static void normalise_n(float *v, int dim)
{
    double s = 0;
    for (int d = 0; d < dim; d++)
        s += (double)v[d] * v[d];
    for (int d = 0; d < dim; d++)
        v[d] /= (float)sqrt(s);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* One figure of the JSON object on stdout. */
static void fig(int *first, const char *name, const char *fmt, double v)
{
    printf("%s\"%s\": ", *first ? "" : ", ", name);
    printf(fmt, v);
    *first = 0;
}

/* The 1M-entry case (see the top of the file). */
static int bench_1m(gsl_rng *r, size_t n, const char *spec, int *first)
{
    const int dim = DIM_1M, nc = 1000, lat = LATENT_1M;
    float *centres = malloc(sizeof(float) * (size_t)nc * lat);
    float *proj = malloc(sizeof(float) * (size_t)dim * lat), *z = malloc(sizeof(float) * lat);
    float *q = malloc(sizeof(float) * NQ_1M * dim), *v = malloc(sizeof(float) * dim);
    size_t src[NQ_1M];
    for (int i = 0; i < nc * lat; i++)
        centres[i] = (float)gsl_ran_gaussian_ziggurat(r, 1.0);
    for (int i = 0; i < dim * lat; i++)
        proj[i] = (float)gsl_ran_gaussian_ziggurat(r, 1.0);
    for (int i = 0; i < NQ_1M; i++)
        src[i] = gsl_rng_uniform_int(r, n);
    qsort(src, NQ_1M, sizeof src[0], cmp_size); /* queries in order of their source */
    cc_vec_index *ix;
    cc_err err = {0};
    if (cc_vec_index_new(dim, CC_VEC_COSINE, &ix, &err))
        return 3;
    double t0 = bu_now_s();
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c = gsl_rng_uniform_int(r, (unsigned long)nc);
        for (int j = 0; j < lat; j++)
            z[j] = centres[c * lat + j] + (float)gsl_ran_gaussian_ziggurat(r, 0.5);
        for (int d = 0; d < dim; d++) {
            float acc = 0;
            for (int j = 0; j < lat; j++)
                acc += proj[(size_t)d * lat + j] * z[j];
            v[d] = acc;
        }
        normalise_n(v, dim);
        if (cc_vec_index_add(ix, i, v)) {
            fprintf(stderr, "bench_semantic: out of memory at %zu of %zu entries\n", i, n);
            return 3;
        }
        for (; k < NQ_1M && src[k] == i; k++) {
            float *qk = q + (size_t)k * dim;
            for (int d = 0; d < dim; d++)
                qk[d] = v[d] + (float)gsl_ran_gaussian_ziggurat(r, 0.0175);
            normalise_n(qk, dim);
        }
    }
    double gen_s = bu_now_s() - t0;
    static uint64_t top_e[NQ_1M], top_a[NQ_1M], top_t[NQ_1M_EXACT];
    static float sim_e[NQ_1M];
    static double wall[NQ_1M], cpu[NQ_1M];
    double e50, e99;
    if (time_queries_n(ix, q, dim, NQ_1M_EXACT, 1, &e50, &e99, top_t))
        return 3;
    /* the truth for every query: one batched exact search (sgemm) */
    if (cc_vec_index_search_exact(ix, q, NQ_1M, 1, top_e, sim_e, &err)) {
        cc_err_print(&err, stderr);
        return 3;
    }
    int alone_vs_batch = 0; /* a near-tie may round apart between gemv and gemm */
    for (int i = 0; i < NQ_1M_EXACT; i++)
        alone_vs_batch += top_t[i] != top_e[i];
    if (alone_vs_batch)
        fprintf(stderr, "bench_semantic: exact search alone and in a batch disagree on %d of "
                        "%d queries' top-1 (near-ties)\n", alone_vs_batch, NQ_1M_EXACT);
    fprintf(stderr, "%zu entries (dim %d, generated and added in %.1f s): exact p50 %.2f ms, "
                    "p99 %.2f ms\n", n, dim, gen_s, e50, e99);
    fig(first, "semantic_lookup_exact_p50_ms_1m", "%.4f", e50);
    fig(first, "semantic_lookup_exact_p99_ms_1m", "%.4f", e99);
    fig(first, "semantic_index_adds_per_s_1m", "%.0f", (double)n / gen_s);
    t0 = bu_now_s();
    int rc = cc_vec_index_set_ann(ix, spec, 1, &err);
    double build_s = bu_now_s() - t0;
    if (rc == CC_EUNSUP) {
        fprintf(stderr, "no FAISS in this build: approximate 1M figures left out\n");
    } else if (rc) {
        cc_err_print(&err, stderr);
        return 3;
    } else {
        if (time_queries_cpu(ix, q, dim, NQ_1M, wall, cpu, top_a))
            return 3;
        int same = 0;
        for (int i = 0; i < NQ_1M; i++)
            same += top_a[i] == top_e[i];
        const int i50 = NQ_1M / 2, i99 = (NQ_1M * 99) / 100;
        fig(first, "semantic_lookup_ann_p50_ms_1m", "%.4f", cpu[i50]);
        fig(first, "semantic_lookup_ann_p99_ms_1m", "%.4f", cpu[i99]);
        fig(first, "semantic_lookup_ann_p50_wall_ms_1m", "%.4f", wall[i50]);
        fig(first, "semantic_lookup_ann_p99_wall_ms_1m", "%.4f", wall[i99]);
        fig(first, "lookup_p99_ms_1m", "%.4f", cpu[i99]);
        fig(first, "recall_at_1_1m", "%.4f", (double)same / NQ_1M);
        fig(first, "semantic_ann_speedup_1m", "%.3f", e50 / wall[i50]);
        fig(first, "semantic_ann_build_s_1m", "%.3f", build_s);
        fprintf(stderr,
                "%zu entries: %s, %d queries: p50 %.3f ms, p99 %.3f ms of CPU time (wall: p50 "
                "%.3f ms, p99 %.3f ms), recall@1 %.3f, speed-up over exact at p50 %.0fx, built "
                "in %.1f s (one thread; %.0f vectors/s); index %.2f GB\n",
                n, spec, NQ_1M, cpu[i50], cpu[i99], wall[i50], wall[i99], (double)same / NQ_1M,
                e50 / wall[i50], build_s, (double)n / build_s,
                cc_vec_index_memory_bytes(ix) / 1e9);
    }
    cc_vec_index_free(ix);
    free(centres);
    free(proj);
    free(z);
    free(q);
    free(v);
    return 0;
}


int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    const size_t sizes[2] = {10000, 100000};
    const char *names[2] = {"10k", "100k"};
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 42);
    size_t nmax = sizes[1];
    float *centres = malloc(sizeof(float) * 1000 * DIM);
    float *x = malloc(sizeof(float) * nmax * DIM), *q = malloc(sizeof(float) * NQ * DIM);
    for (int i = 0; i < 1000 * DIM; i++)
        centres[i] = (float)gsl_ran_gaussian(r, 1.0);
    for (size_t i = 0; i < nmax; i++) {
        size_t c = gsl_rng_uniform_int(r, 1000);
        for (int d = 0; d < DIM; d++)
            x[i * DIM + d] = centres[c * DIM + d] + (float)gsl_ran_gaussian(r, 0.5);
        normalise(x + i * DIM);
    }
    printf("{");
    int first = 1;
#define FIG(name, fmt, ...)                                                                    \
    do {                                                                                       \
        printf("%s\"" name "\": " fmt, first ? "" : ", ", __VA_ARGS__);                         \
        first = 0;                                                                             \
    } while (0)
    uint64_t top_e[NQ], top_a[NQ];
    const int small = !getenv("BENCH_SEMANTIC_1M_ONLY");
    for (int s = 0; s < 2 && small; s++) {
        size_t n = sizes[s];
        for (int i = 0; i < NQ; i++) {
            size_t src = gsl_rng_uniform_int(r, n);
            for (int d = 0; d < DIM; d++)
                q[i * DIM + d] = x[src * DIM + d] + (float)gsl_ran_gaussian(r, 0.03);
            normalise(q + i * DIM);
        }
        cc_vec_index *ix;
        cc_err err = {0};
        if (cc_vec_index_new(DIM, CC_VEC_COSINE, &ix, &err))
            return 3;
        for (size_t i = 0; i < n; i++)
            cc_vec_index_add(ix, i, x + i * DIM);
        double e50, e99, a50, a99;
        if (time_queries(ix, q, 1, &e50, &e99, top_e))
            return 3;
        FIG("semantic_lookup_exact_p50_ms_%s", "%.4f", names[s], e50);
        FIG("semantic_lookup_exact_p99_ms_%s", "%.4f", names[s], e99);
        fprintf(stderr, "%s entries: exact p50 %.3f ms, p99 %.3f ms\n", names[s], e50, e99);
        double t0 = bu_now_s();
        int rc = cc_vec_index_set_ann(ix, "HNSW32", 1, &err);
        double build_s = bu_now_s() - t0;
        if (rc == CC_EUNSUP) {
            fprintf(stderr, "no FAISS in this build: approximate figures left out\n");
        } else if (rc) {
            cc_err_print(&err, stderr);
            return 3;
        } else {
            if (time_queries(ix, q, 0, &a50, &a99, top_a))
                return 3;
            int same = 0;
            for (int i = 0; i < NQ; i++)
                same += top_a[i] == top_e[i];
            FIG("semantic_lookup_hnsw_p50_ms_%s", "%.4f", names[s], a50);
            FIG("semantic_lookup_hnsw_p99_ms_%s", "%.4f", names[s], a99);
            FIG("semantic_recall_at_1_hnsw_%s", "%.4f", names[s], (double)same / NQ);
            FIG("semantic_hnsw_speedup_%s", "%.3f", names[s], e50 / a50);
            FIG("semantic_hnsw_build_s_%s", "%.3f", names[s], build_s);
            fprintf(stderr,
                    "%s entries: HNSW32 p50 %.3f ms, p99 %.3f ms, recall@1 %.3f, "
                    "speed-up at p50 %.1fx, built in %.1f s (one thread)\n",
                    names[s], a50, a99, (double)same / NQ, e50 / a50, build_s);
        }
        cc_vec_index_free(ix);
    }
    /* inserts through the cache's API (memory only), and the hash embedder */
    if (small) {
        cc_sem_opts o;
        cc_sem_opts_default(&o);
        o.dim = DIM;
        o.max_entries = 50000;
        cc_sem_cache *c;
        cc_err err = {0};
        if (cc_sem_open(&o, &c, &err))
            return 3;
        char key[64];
        double t0 = bu_now_s();
        for (size_t i = 0; i < 100000; i++) {
            int kl = snprintf(key, sizeof key, "question %zu", i);
            uint64_t id;
            if (cc_sem_insert(c, "m@1", x + (i % nmax) * DIM, key, (size_t)kl, "an answer", 9,
                              (int64_t)i, 0, &id, &err))
                return 3;
        }
        double ips = 100000 / (bu_now_s() - t0);
        cc_sem_close(c);
        FIG("semantic_inserts_per_s", "%.0f", ips);
        fprintf(stderr, "inserts (50k entries, evicting): %.0f per s\n", ips);
        cc_embedder *e;
        if (cc_embedder_hash_new(0, &e, &err))
            return 3;
        const char *text = "How do I find the best pizza restaurant near the central station?";
        size_t len = strlen(text);
        float *v = malloc(sizeof(float) * (size_t)e->dim);
        t0 = bu_now_s();
        for (int i = 0; i < 20000; i++)
            cc_embedder_embed(e, &text, &len, 1, v, &err);
        double tps = 20000 / (bu_now_s() - t0);
        FIG("semantic_hash_embed_texts_per_s", "%.0f", tps);
        fprintf(stderr, "hash embedder: %.0f texts per s (%zu bytes each)\n", tps, len);
        free(v);
        cc_embedder_free(e);
    }
    const char *m1 = getenv("BENCH_SEMANTIC_1M");
    size_t n1m = m1 ? strtoul(m1, NULL, 10) : 1000000;
    if (n1m >= NQ_1M) {
        const char *spec = getenv("BENCH_SEMANTIC_1M_SPEC");
        if (bench_1m(r, n1m, spec ? spec : "IVF1024,PQ48;nprobe=2", &first))
            return 3;
    }
    printf("}\n");
    free(centres);
    free(x);
    free(q);
    gsl_rng_free(r);
    return 0;
}
