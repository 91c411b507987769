/*
 * vec_index.c -- the semantic tier's vector index: exact nearest-neighbour
 * search over one tenant's vectors.
 *
 * Layout: the vectors live in one contiguous row-major matrix (n rows of dim
 * floats), with a squared norm and an id per row and a u64 map id -> row.
 * Removal moves the last row into the hole (O(dim)), so the matrix never has
 * holes and a search reads exactly n * dim floats.
 *
 * Search: the nq queries form a matrix Q (nq x dim); scores S = Q X^T are
 * computed by cblas_sgemm over blocks of CC_VEC_BLOCK rows of X (so S stays
 * in cache: nq x CC_VEC_BLOCK floats), then each row of S feeds a top-k
 * insertion list.  One query is the nq = 1 case (sgemm then runs as a
 * matrix-vector product).  Cosine: vectors are L2-normalised by the
 * embedders, so the score is the dot product.  L2: |q - x|^2 = |q|^2 + |x|^2
 * - 2 q.x from the stored norms, reported as the similarity 1 - d^2 / 2.
 *
 * Costs: add O(dim) amortised (the matrix doubles); remove O(dim); search
 * O(nq * n * dim) flops at sgemm speed plus O(nq * n * log k) for the top-k.
 * Memory per entry: dim * 4 (vector) + 4 (norm) + 8 (id) + <= 32 (map)
 * bytes, right after growth up to twice the vector part; 2,108 bytes at dim
 * 512.  Searches only read: several threads may search at once; add and
 * remove need the caller's exclusive lock.
 */
#include "semantic_cache.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CC_VEC_BLOCK 1024
#define CC_VEC_MAX_K 64

struct cc_vec_index {
    int dim;
    cc_vec_metric metric;
    size_t n, cap;
    float *vecs;   /* n x dim */
    float *norm2;  /* n */
    uint64_t *ids; /* n */
    cc_u64map row_of;
};

int cc_vec_metric_parse(const char *s, cc_vec_metric *out, cc_err *err)
{
    if (!strcmp(s, "cosine"))
        *out = CC_VEC_COSINE;
    else if (!strcmp(s, "l2"))
        *out = CC_VEC_L2;
    else
        return cc_err_set(err, CC_EARG, NULL, 0, "metric", "'%s'; expected cosine or l2", s);
    return CC_OK;
}

const char *cc_vec_metric_name(cc_vec_metric m)
{
    return m == CC_VEC_L2 ? "l2" : "cosine";
}

int cc_vec_index_new(int dim, cc_vec_metric metric, cc_vec_index **out, cc_err *err)
{
    *out = NULL;
    if (dim < 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "dim", "dimension %d; expected >= 1", dim);
    cc_vec_index *x = calloc(1, sizeof *x);
    if (!x || cc_u64map_init(&x->row_of, 16)) {
        free(x);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory (vector index)");
    }
    x->dim = dim;
    x->metric = metric;
    *out = x;
    return CC_OK;
}

void cc_vec_index_free(cc_vec_index *x)
{
    if (!x)
        return;
    free(x->vecs);
    free(x->norm2);
    free(x->ids);
    cc_u64map_free(&x->row_of);
    free(x);
}

size_t cc_vec_index_size(const cc_vec_index *x)
{
    return x->n;
}

uint64_t cc_vec_index_memory_bytes(const cc_vec_index *x)
{
    return sizeof *x + (uint64_t)x->cap * ((uint64_t)x->dim * 4 + 4 + 8) +
           (uint64_t)x->row_of.cap * 16;
}

int cc_vec_index_add(cc_vec_index *x, uint64_t id, const float *v)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 64;
        float *nv = realloc(x->vecs, cap * (size_t)x->dim * sizeof(float));
        if (!nv)
            return CC_ENOMEM;
        x->vecs = nv;
        float *nn = realloc(x->norm2, cap * sizeof(float));
        if (!nn)
            return CC_ENOMEM;
        x->norm2 = nn;
        uint64_t *ni = realloc(x->ids, cap * sizeof(uint64_t));
        if (!ni)
            return CC_ENOMEM;
        x->ids = ni;
        x->cap = cap;
    }
    uint64_t *slot;
    int rc = cc_u64map_put(&x->row_of, id, x->n, &slot);
    if (rc < 0)
        return CC_ENOMEM;
    if (rc == 0)
        return CC_EARG; /* id already present: a caller bug */
    float *row = x->vecs + x->n * (size_t)x->dim;
    memcpy(row, v, sizeof(float) * (size_t)x->dim);
    double s = 0;
    for (int d = 0; d < x->dim; d++)
        s += (double)row[d] * row[d];
    x->norm2[x->n] = (float)s;
    x->ids[x->n] = id;
    x->n++;
    return CC_OK;
}

int cc_vec_index_remove(cc_vec_index *x, uint64_t id)
{
    uint64_t *r = cc_u64map_get(&x->row_of, id);
    if (!r)
        return 0;
    size_t row = (size_t)*r, last = x->n - 1;
    cc_u64map_del(&x->row_of, id);
    if (row != last) {
        memcpy(x->vecs + row * (size_t)x->dim, x->vecs + last * (size_t)x->dim,
               sizeof(float) * (size_t)x->dim);
        x->norm2[row] = x->norm2[last];
        x->ids[row] = x->ids[last];
        *cc_u64map_get(&x->row_of, x->ids[row]) = row;
    }
    x->n--;
    return 1;
}

/* Inserts (id, s) into the best-first list of k places holding *have. */
static inline void topk_push(uint64_t *ids, float *sims, uint32_t k, uint32_t *have, uint64_t id,
                             float s)
{
    uint32_t n = *have;
    if (n == k && (s < sims[k - 1] || (s == sims[k - 1] && id > ids[k - 1])))
        return;
    uint32_t j = n < k ? n : k - 1;
    while (j > 0 && (sims[j - 1] < s || (sims[j - 1] == s && ids[j - 1] > id))) {
        sims[j] = sims[j - 1];
        ids[j] = ids[j - 1];
        j--;
    }
    sims[j] = s;
    ids[j] = id;
    if (n < k)
        *have = n + 1;
}

int cc_vec_index_search(const cc_vec_index *x, const float *q, size_t nq, uint32_t k,
                        uint64_t *ids, float *sims, cc_err *err)
{
    if (k < 1 || k > CC_VEC_MAX_K)
        return cc_err_set(err, CC_EARG, NULL, 0, "k", "k = %u; expected 1 to %d", k,
                          CC_VEC_MAX_K);
    for (size_t i = 0; i < nq * k; i++) {
        ids[i] = UINT64_MAX;
        sims[i] = -INFINITY;
    }
    if (x->n == 0 || nq == 0)
        return CC_OK;
    const int dim = x->dim;
    /* Scores of one block: on the stack for one query, else one buffer per
     * call (batches amortise it). */
    float stack_s[CC_VEC_BLOCK];
    float *S = stack_s;
    if (nq > 1) {
        S = malloc(nq * CC_VEC_BLOCK * sizeof(float));
        if (!S)
            return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory (search)");
    }
    uint32_t stack_have[1];
    uint32_t *have = nq > 1 ? calloc(nq, sizeof *have) : stack_have;
    float stack_qn[1];
    float *qn = nq > 1 ? malloc(nq * sizeof *qn) : stack_qn;
    if (!have || !qn) {
        if (nq > 1) {
            free(S);
            free(have);
            free(qn);
        }
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory (search)");
    }
    have[0] = 0;
    for (size_t i = 0; i < nq; i++) {
        double s = 0;
        for (int d = 0; d < dim; d++)
            s += (double)q[i * dim + d] * q[i * dim + d];
        qn[i] = (float)s;
    }
    for (size_t r0 = 0; r0 < x->n; r0 += CC_VEC_BLOCK) {
        size_t m = x->n - r0 < CC_VEC_BLOCK ? x->n - r0 : CC_VEC_BLOCK;
        /* S (nq x m) = Q (nq x dim) * X_block^T (dim x m) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)m, dim, 1.0f, q, dim,
                    x->vecs + r0 * (size_t)dim, dim, 0.0f, S, (int)m);
        for (size_t i = 0; i < nq; i++) {
            const float *row = S + i * m;
            for (size_t j = 0; j < m; j++) {
                float s = row[j];
                if (x->metric == CC_VEC_L2)
                    s = 1.0f - (qn[i] + x->norm2[r0 + j] - 2.0f * s) * 0.5f;
                topk_push(ids + i * k, sims + i * k, k, &have[i], x->ids[r0 + j], s);
            }
        }
    }
    if (nq > 1) {
        free(S);
        free(have);
        free(qn);
    }
    return CC_OK;
}
