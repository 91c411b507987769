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
 * bytes, right after growth up to twice the vector part; 2,092 bytes at dim
 * 512.  Searches only read: several threads may search at once; add and
 * remove need the caller's exclusive lock.
 *
 * Approximate search (cc_vec_index_set_ann): a FAISS index from its factory
 * (HNSW32, IVF256,Flat, ...) beside the matrix, built once the index holds
 * min_n vectors (trained on all of them when the spec needs training), then
 * fed every add.  FAISS's HNSW cannot delete, so a removal leaves a dead
 * label there: searches ask FAISS for 4k + 16 candidates and drop labels no
 * longer in the id map, and the FAISS index is rebuilt from the matrix when
 * dead labels pass a quarter of the live ones (O(n) per n/4 removals).  The
 * matrix stays the source of truth (persistence, rebuilds, exact search for
 * recall@1, and the scores: FAISS proposes 4k + 16 candidates, each is
 * scored again from the matrix, so a compressed index such as IVF-PQ ranks
 * them and reports their similarity exactly).  Extra memory per entry: FAISS's own (HNSW32: dim * 4 + about
 * 300 bytes of graph and id map).  Search: O(log n)-ish graph walk for
 * HNSW, nprobe / nlist of the vectors for IVF.
 */
#include "semantic_cache.h"

#include "vec_faiss.h"

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
    /* approximate search (FAISS) */
    char ann_spec[128], ann_params[128];
    size_t ann_min;  /* build once n reaches this */
    int ann_wanted;
    cc_faiss *ann;   /* built, or NULL */
    size_t ann_dead; /* labels in ann no longer in the index */
    uint64_t version; /* changes with every add and remove */
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
#if CC_HAVE_FAISS
    cc_faiss_free(x->ann);
#endif
    free(x);
}

#if CC_HAVE_FAISS
/* (Re)builds the FAISS index from the matrix. */
static int ann_build(cc_vec_index *x, cc_err *err)
{
    char msg[400];
    cc_faiss_free(x->ann);
    x->ann = NULL;
    x->ann_dead = 0;
    cc_faiss *f;
    if (cc_faiss_new(x->dim, x->metric == CC_VEC_COSINE, x->ann_spec, x->ann_params, &f, msg,
                     sizeof msg))
        return cc_err_set(err, CC_EARG, NULL, 0, "index", "%s", msg);
    if ((!cc_faiss_is_trained(f) && cc_faiss_train(f, x->n, x->vecs, msg, sizeof msg)) ||
        cc_faiss_add(f, x->n, x->vecs, (const int64_t *)x->ids, msg, sizeof msg)) {
        cc_faiss_free(f);
        return cc_err_set(err, CC_EARG, NULL, 0, "index", "%s", msg);
    }
    x->ann = f;
    return CC_OK;
}
#endif

int cc_vec_index_set_ann(cc_vec_index *x, const char *spec, size_t min_n, cc_err *err)
{
#if CC_HAVE_FAISS
    const char *semi = strchr(spec, ';');
    size_t len = semi ? (size_t)(semi - spec) : strlen(spec);
    if (len == 0 || len >= sizeof x->ann_spec)
        return cc_err_set(err, CC_EARG, NULL, 0, "index", "'%s': expected a FAISS factory "
                          "string such as HNSW32 or IVF256,Flat", spec);
    memcpy(x->ann_spec, spec, len);
    x->ann_spec[len] = 0;
    if (semi)
        snprintf(x->ann_params, sizeof x->ann_params, "%s", semi + 1);
    else if (!strncmp(spec, "HNSW", 4))
        snprintf(x->ann_params, sizeof x->ann_params, "efSearch=64");
    else if (!strncmp(spec, "IVF", 3))
        snprintf(x->ann_params, sizeof x->ann_params, "nprobe=16");
    else
        x->ann_params[0] = 0;
    /* check the spec now: an index that cannot be made is a usage error */
    char msg[400];
    cc_faiss *f;
    if (cc_faiss_new(x->dim, x->metric == CC_VEC_COSINE, x->ann_spec, x->ann_params, &f, msg,
                     sizeof msg))
        return cc_err_set(err, CC_EARG, NULL, 0, "index", "%s", msg);
    cc_faiss_free(f);
    x->ann_wanted = 1;
    x->ann_min = min_n ? min_n : 1;
    if (x->n >= x->ann_min)
        return ann_build(x, err);
    return CC_OK;
#else
    (void)x;
    (void)min_n;
    return cc_err_set(err, CC_EUNSUP, NULL, 0, "index",
                      "'%s': this build has no FAISS (install libfaiss-dev and rebuild)", spec);
#endif
}

int cc_vec_index_ann_active(const cc_vec_index *x)
{
    return x->ann != NULL;
}

size_t cc_vec_index_size(const cc_vec_index *x)
{
    return x->n;
}

void cc_vec_index_matrix(const cc_vec_index *x, const float **vecs, const uint64_t **ids,
                         size_t *n, uint64_t *version)
{
    *vecs = x->vecs;
    *ids = x->ids;
    *n = x->n;
    *version = x->version;
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
    x->version++;
#if CC_HAVE_FAISS
    if (x->ann) {
        int64_t lid = (int64_t)id;
        char msg[400];
        if (cc_faiss_add(x->ann, 1, row, &lid, msg, sizeof msg)) {
            cc_faiss_free(x->ann); /* fall back to exact search */
            x->ann = NULL;
        }
    } else if (x->ann_wanted && x->n >= x->ann_min && ann_build(x, NULL)) {
        x->ann_wanted = 0; /* the spec cannot be built on these vectors: stay exact */
    }
#endif
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
    x->version++;
#if CC_HAVE_FAISS
    if (x->ann && ++x->ann_dead > x->n / 4 + 16 && ann_build(x, NULL))
        x->ann = NULL;
#endif
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

#if CC_HAVE_FAISS
static int ann_search(const cc_vec_index *x, const float *q, size_t nq, uint32_t k,
                      uint64_t *ids, float *sims, cc_err *err)
{
    size_t k2 = 4 * (size_t)k + 16;
    if (k2 > cc_faiss_size(x->ann))
        k2 = cc_faiss_size(x->ann);
    float stack_d[4 * CC_VEC_MAX_K + 16];
    int64_t stack_l[4 * CC_VEC_MAX_K + 16];
    float *dist = nq > 1 ? malloc(nq * k2 * sizeof *dist) : stack_d;
    int64_t *lab = nq > 1 ? malloc(nq * k2 * sizeof *lab) : stack_l;
    char msg[400];
    int rc = CC_OK;
    if (!dist || !lab)
        rc = cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory (search)");
    else if (cc_faiss_search(x->ann, nq, q, k2, dist, lab, msg, sizeof msg))
        rc = cc_err_set(err, CC_EIO, NULL, 0, "index", "%s", msg);
    /* Every candidate is scored again from the matrix, exactly as the exact
     * search scores it (dot product; L2 from the stored norms): the index
     * only proposes candidates, so a compressed one (PQ, SQ) loses no
     * accuracy in the order of its k2 candidates or in the similarity that
     * a threshold is compared with.  k2 dot products of dim: a few
     * microseconds beside the index's own walk. */
    for (size_t i = 0; !rc && i < nq; i++) {
        uint32_t have = 0;
        const float *qi = q + i * (size_t)x->dim;
        double qn2 = 0; /* |q|^2 as the exact search sums it */
        for (int d = 0; x->metric == CC_VEC_L2 && d < x->dim; d++)
            qn2 += (double)qi[d] * qi[d];
        const float qn = (float)qn2;
        for (size_t j = 0; j < k2; j++) {
            int64_t l = lab[i * k2 + j];
            const uint64_t *row = l < 0 ? NULL : cc_u64map_get(&x->row_of, (uint64_t)l);
            if (!row)
                continue;
            float s = cblas_sdot(x->dim, qi, 1, x->vecs + *row * (size_t)x->dim, 1);
            if (x->metric == CC_VEC_L2)
                s = 1.0f - (qn + x->norm2[*row] - 2.0f * s) * 0.5f;
            topk_push(ids + i * k, sims + i * k, k, &have, (uint64_t)l, s);
        }
    }
    if (nq > 1) {
        free(dist);
        free(lab);
    }
    return rc;
}
#endif

int cc_vec_index_search(const cc_vec_index *x, const float *q, size_t nq, uint32_t k,
                        uint64_t *ids, float *sims, cc_err *err)
{
#if CC_HAVE_FAISS
    if (x->ann && k >= 1 && k <= CC_VEC_MAX_K) {
        for (size_t i = 0; i < nq * k; i++) {
            ids[i] = UINT64_MAX;
            sims[i] = -INFINITY;
        }
        return ann_search(x, q, nq, k, ids, sims, err);
    }
#endif
    return cc_vec_index_search_exact(x, q, nq, k, ids, sims, err);
}

int cc_vec_index_search_exact(const cc_vec_index *x, const float *q, size_t nq, uint32_t k,
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
