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
 */
#include "../core/semantic_cache.h"
#include "benchutil.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <string.h>

#define DIM 128
#define NQ 500

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
static int time_queries(const cc_vec_index *ix, const float *q, int exact, double *p50,
                        double *p99, uint64_t *top)
{
    double lat[NQ];
    cc_err err = {0};
    for (int i = 0; i < NQ; i++) {
        float s;
        double t0 = bu_now_s();
        int rc = exact ? cc_vec_index_search_exact(ix, q + (size_t)i * DIM, 1, 1, &top[i], &s, &err)
                       : cc_vec_index_search(ix, q + (size_t)i * DIM, 1, 1, &top[i], &s, &err);
        lat[i] = (bu_now_s() - t0) * 1e3;
        if (rc) {
            cc_err_print(&err, stderr);
            return rc;
        }
    }
    qsort(lat, NQ, sizeof lat[0], cmp_double);
    *p50 = lat[NQ / 2];
    *p99 = lat[(NQ * 99) / 100];
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
    for (int s = 0; s < 2; s++) {
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
    {
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
    printf("}\n");
    free(centres);
    free(x);
    free(q);
    gsl_rng_free(r);
    return 0;
}
