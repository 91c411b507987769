/*
 * sem_eval.c -- GPTCache's evaluation protocol for a semantic cache on
 * labelled pairs (semantic_cache.h): put every seed (text_a / origin) in the
 * cache of its tenant, query with every query (text_b / similar), and keep
 * per query the similarity of its nearest seed and whether that seed is a
 * right answer.  Precision, recall, F1, hit rate and false-hit rate at any
 * threshold then follow without re-running (cc_sem_eval_at), so a sweep of
 * thresholds costs nothing.
 *
 * A right answer: the nearest seed has the query's group (traces/pairs.c
 * gives a label-1 pair's two sides one group, a label-0 pair's two), or has
 * the same text as a seed of the query's group (the same question asked in
 * two pairs), or the same text as the query itself (QQP repeats questions
 * across pairs: a label-0 pair's second question may be another pair's
 * first; the identical question's answer is right).  A query is positive
 * when a right answer exists in the cache: a seed of its group or a seed
 * with its exact text.  (With precomputed vectors there is no text: groups
 * only.)  Ties in similarity go to the earlier seed (smaller id), as in
 * an insertion-ordered index.
 *
 * Costs: embedding every text once (batches of CC_EVAL_BATCH), then exact
 * search: one sgemm per batch of queries over the tenant's seeds, O(queries
 * x seeds x dim) flops (the QQP file's 80k x 80k x 512 is about 3 TFLOP).
 * Memory: the seeds' vectors plus one batch of query vectors.
 */
#include "semantic_cache.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CC_EVAL_BATCH 256

typedef struct eval_ctx {
    const cc_trace *t;
    cc_embedder *e;
    int dim;
    cc_sem_key_mode mode;
    uint32_t k;
    char **keys;    /* one batch of key texts */
    size_t *lens;
    size_t *caps;
    float *vecs;    /* one batch of vectors */
} eval_ctx;

static int empty_text_err(const cc_trace *t, size_t i, cc_err *err)
{
    int seed = t->role[i] == CC_ROLE_SEED;
    return cc_err_set(err, CC_EFORMAT, t->source, 0, seed ? "text_a" : "text_b",
                      "pair %llu has an empty %s text; expected a question",
                      (unsigned long long)(t->session_id[i] / 2 + 1), seed ? "first" : "second");
}

/* Keys and vectors of requests idx[0..n) into ctx's batch buffers. */
static int embed_batch(eval_ctx *x, const size_t *idx, size_t n, cc_err *err)
{
    int rc;
    for (size_t j = 0; j < n; j++) {
        size_t i = idx[j];
        if (!x->e) {
            cc_request r = cc_trace_get(x->t, i);
            if (r.n_chunks && r.chunks[r.n_chunks - 1].text_len == 0 && x->t->embedding_dim == 0)
                return empty_text_err(x->t, i, err);
            memcpy(x->vecs + j * (size_t)x->dim, x->t->embeddings + i * (size_t)x->dim,
                   sizeof(float) * (size_t)x->dim);
            continue;
        }
        if ((rc = cc_sem_request_key(x->t, i, x->mode, x->k, &x->keys[j], &x->caps[j],
                                     &x->lens[j], err)))
            return rc;
        if (x->lens[j] == 0)
            return empty_text_err(x->t, i, err);
    }
    if (!x->e)
        return CC_OK;
    return cc_embedder_embed(x->e, (const char *const *)x->keys, x->lens, n, x->vecs, err);
}

void cc_sem_eval_at(const cc_sem_eval_query *q, size_t n, double threshold,
                    cc_sem_eval_point *p)
{
    memset(p, 0, sizeof *p);
    p->threshold = threshold;
    p->queries = n;
    for (size_t i = 0; i < n; i++) {
        p->positives += q[i].positive;
        if (q[i].best_similarity >= threshold) {
            p->hits++;
            p->correct_hits += q[i].correct;
        }
    }
    p->precision = p->hits ? (double)p->correct_hits / (double)p->hits : 1.0;
    p->recall = p->positives ? (double)p->correct_hits / (double)p->positives : 0.0;
    p->f1 = p->precision + p->recall > 0
                ? 2 * p->precision * p->recall / (p->precision + p->recall)
                : 0.0;
    p->hit_rate = n ? (double)p->hits / (double)n : 0.0;
    p->false_hit_rate = n ? (double)(p->hits - p->correct_hits) / (double)n : 0.0;
}

int cc_sem_eval_run(const cc_trace *t, cc_embedder *e, cc_vec_metric metric,
                    cc_sem_key_mode mode, uint32_t k, const char *ann, cc_sem_eval_query **out,
                    size_t *n_out, double *recall_at_1, cc_err *err)
{
    return cc_sem_eval_run_on(t, e, metric, mode, k, ann, NULL, out, n_out, recall_at_1, err);
}

/* Top-1 of a batch on the backend, as ids (UINT64_MAX when none). */
static int backend_top1(const cc_vec_backend *b, const cc_vec_index *ix, int dim,
                        const float *q, size_t nq, uint64_t *ids, float *sims, cc_err *err)
{
    const float *X;
    const uint64_t *rid;
    size_t n;
    uint64_t version;
    int64_t rows[CC_EVAL_BATCH];
    cc_vec_index_matrix(ix, &X, &rid, &n, &version);
    int rc = b->top1(b->ctx, X, n, dim, ix, version, q, nq, rows, sims, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < nq; i++) {
        ids[i] = rows[i] < 0 ? UINT64_MAX : rid[rows[i]];
        if (rows[i] < 0)
            sims[i] = -INFINITY;
    }
    return CC_OK;
}

int cc_sem_eval_run_on(const cc_trace *t, cc_embedder *e, cc_vec_metric metric,
                       cc_sem_key_mode mode, uint32_t k, const char *ann,
                       const cc_vec_backend *backend, cc_sem_eval_query **out, size_t *n_out,
                       double *recall_at_1, cc_err *err)
{
    if (backend && (ann || metric != CC_VEC_COSINE))
        return cc_err_set(err, CC_EARG, NULL, 0, "device",
                          "the %s search is exact and cosine only (no --index, --metric l2)",
                          backend->name);
    *out = NULL;
    *n_out = 0;
    if (recall_at_1)
        *recall_at_1 = NAN;
    size_t same_top = 0, compared = 0;
    int dim = e ? e->dim : (int)t->embedding_dim;
    if (!e && t->embedding_dim == 0)
        return cc_err_set(err, CC_EFORMAT, t->source, 0, "embedding",
                          "the trace has no embeddings; --embedder precomputed needs vectors "
                          "in the trace (or use --embedder hash)");
    size_t n_seeds = 0, n_queries = 0;
    for (size_t i = 0; i < t->n; i++)
        t->role[i] == CC_ROLE_SEED ? n_seeds++ : n_queries++;
    if (n_seeds == 0 || n_queries == 0)
        return cc_err_set(err, CC_EFORMAT, t->source, 0, "role",
                          "%zu seeds and %zu queries; expected labelled pairs (at least one "
                          "of each)", n_seeds, n_queries);
    eval_ctx x = {.t = t, .e = e, .dim = dim, .mode = mode, .k = k};
    cc_vec_index **idx = calloc(t->n_tenants ? t->n_tenants : 1, sizeof *idx);
    cc_sem_eval_query *res = calloc(n_queries, sizeof *res);
    size_t *batch = malloc(CC_EVAL_BATCH * sizeof *batch);
    x.keys = calloc(CC_EVAL_BATCH, sizeof *x.keys);
    x.lens = calloc(CC_EVAL_BATCH, sizeof *x.lens);
    x.caps = calloc(CC_EVAL_BATCH, sizeof *x.caps);
    x.vecs = malloc(CC_EVAL_BATCH * (size_t)dim * sizeof(float));
    uint64_t *ids = malloc(2 * CC_EVAL_BATCH * sizeof *ids), *xids = ids + CC_EVAL_BATCH;
    float *sims = malloc(2 * CC_EVAL_BATCH * sizeof *sims), *xsims = sims + CC_EVAL_BATCH;
    /* seed key hashes (by request index) and group -> hash of a seed's key */
    uint64_t *seed_hash = calloc(t->n, sizeof *seed_hash);
    cc_u64map group_seed, seed_texts;
    int rc = cc_u64map_init(&group_seed, n_seeds);
    rc |= cc_u64map_init(&seed_texts, n_seeds);
    if (!idx || !res || !batch || !x.keys || !x.lens || !x.caps || !x.vecs || !ids || !sims ||
        !seed_hash || rc) {
        rc = cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory (evaluation)");
        goto done;
    }
    for (size_t ti = 0; ti < (t->n_tenants ? t->n_tenants : 1) && !rc; ti++)
        rc = cc_vec_index_new(dim, metric, &idx[ti], err);
    /* pass 1: seeds */
    size_t nb = 0;
    for (size_t i = 0; !rc && i <= t->n; i++) {
        if (i < t->n && t->role[i] == CC_ROLE_SEED)
            batch[nb++] = i;
        if (nb == CC_EVAL_BATCH || (i == t->n && nb)) {
            if ((rc = embed_batch(&x, batch, nb, err)))
                break;
            for (size_t j = 0; j < nb && !rc; j++) {
                size_t r = batch[j];
                uint64_t h = e ? cc_hash_bytes(x.keys[j], x.lens[j], 1) : 0;
                seed_hash[r] = h;
                if (cc_u64map_put(&group_seed, t->group_id[r], h, NULL) < 0 ||
                    (e && cc_u64map_put(&seed_texts, h, r, NULL) < 0) ||
                    cc_vec_index_add(idx[t->tenant[r]], r, x.vecs + j * (size_t)dim))
                    rc = cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
            }
            nb = 0;
        }
    }
    /* the approximate index, built once on all seeds */
    for (size_t ti = 0; ann && !rc && ti < (t->n_tenants ? t->n_tenants : 1); ti++)
        rc = cc_vec_index_set_ann(idx[ti], ann, 1, err);
    /* pass 2: queries, batched per tenant run */
    size_t qi = 0;
    for (size_t i = 0; !rc && i <= t->n; i++) {
        int flush = i == t->n;
        if (!flush && t->role[i] != CC_ROLE_SEED) {
            if (nb && t->tenant[batch[0]] != t->tenant[i])
                flush = 1, i--; /* handle i again after the flush */
            else
                batch[nb++] = i;
        }
        if (nb == CC_EVAL_BATCH || (flush && nb)) {
            if ((rc = embed_batch(&x, batch, nb, err)))
                break;
            if (backend)
                rc = backend_top1(backend, idx[t->tenant[batch[0]]], dim, x.vecs, nb, ids, sims,
                                  err);
            else
                rc = cc_vec_index_search(idx[t->tenant[batch[0]]], x.vecs, nb, 1, ids, sims,
                                         err);
            if (rc)
                break;
            if (ann) {
                if ((rc = cc_vec_index_search_exact(idx[t->tenant[batch[0]]], x.vecs, nb, 1,
                                                    xids, xsims, err)))
                    break;
                for (size_t j = 0; j < nb; j++) {
                    compared += xids[j] != UINT64_MAX;
                    /* the same entry, or one as similar (an exact tie) */
                    same_top += xids[j] != UINT64_MAX &&
                                (ids[j] == xids[j] || sims[j] >= xsims[j]);
                }
            }
            for (size_t j = 0; j < nb; j++) {
                size_t r = batch[j];
                cc_sem_eval_query *q = &res[qi++];
                uint64_t *own = cc_u64map_get(&group_seed, t->group_id[r]);
                uint64_t qh = e ? cc_hash_bytes(x.keys[j], x.lens[j], 1) : 0;
                int same_text = e && cc_u64map_get(&seed_texts, qh) != NULL;
                q->positive = own != NULL || same_text;
                q->best_similarity = sims[j];
                if (ids[j] != UINT64_MAX) {
                    size_t s = (size_t)ids[j];
                    q->correct = t->group_id[s] == t->group_id[r] ||
                                 (own && e && seed_hash[s] == *own) ||
                                 (e && seed_hash[s] == qh);
                }
            }
            nb = 0;
        }
    }
done:
    if (idx)
        for (size_t ti = 0; ti < (t->n_tenants ? t->n_tenants : 1); ti++)
            cc_vec_index_free(idx[ti]);
    free(idx);
    if (x.keys)
        for (size_t j = 0; j < CC_EVAL_BATCH; j++)
            free(x.keys[j]);
    free(x.keys);
    free(x.lens);
    free(x.caps);
    free(x.vecs);
    free(batch);
    free(ids);
    free(sims);
    free(seed_hash);
    cc_u64map_free(&group_seed);
    cc_u64map_free(&seed_texts);
    if (rc) {
        free(res);
        return rc;
    }
    *out = res;
    *n_out = n_queries;
    if (ann && recall_at_1)
        *recall_at_1 = compared ? (double)same_top / (double)compared : NAN;
    return CC_OK;
}
