/*
 * replay_semantic.c -- `ctxcache replay --semantic`: the semantic tier in
 * front of the prefix tier.  The driver (sim/driver.c) knows no embedder
 * and no cache: it calls the two hooks of cc_sim_semantic at a query's
 * arrival (lookup) and at a served request's finish (insert, the
 * write-back), and charges a fixed lookup time, so results never depend on
 * the wall clock.  This file fills the hooks with core/semantic_cache.h:
 *   key     the request's last user turn (cc_sem_request_key, last_user);
 *           a request without text is an error naming it
 *   vector  the embedder's (--embedder hash|minilm), or the trace's own
 *           vector (precomputed)
 *   tenant  the request's tenant ("model@version"): no hit crosses tenants
 *   answer  the request's index in decimal: a hit names the request whose
 *           answer it serves, so the driver can judge it by group_id
 * An untimed trace (every arrival 0: ShareGPT, Arena, pairs files) is
 * replayed in file order with each answer written back at its request's
 * arrival (write_back_on_arrival): a write-back at finish would come after
 * every lookup, and such a trace would never hit.
 * One embedder, called from the driver's one thread.  Buffers are reused
 * across requests (no allocation per request once warm).
 */
#include "cli.h"
#include "../core/semantic_cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli_semantic {
    const cc_trace *t;
    cc_embedder *e;  /* NULL: precomputed */
    cc_sem_cache *c;
    int dim;
    float *vec;
    char *key;
    size_t key_cap, key_len;
    double threshold;
    cc_sim_semantic hooks;
};

/* The key and the vector of request req into s->key / s->vec (or *v). */
static int key_and_vec(cli_semantic *s, uint64_t req, const float **v, cc_err *err)
{
    int rc = cc_sem_request_key(s->t, (size_t)req, CC_SEM_KEY_LAST_USER, 0, &s->key, &s->key_cap,
                                &s->key_len, err);
    if (rc != CC_OK)
        return rc;
    if (!s->e) {
        *v = s->t->embeddings + (size_t)req * s->t->embedding_dim;
        return CC_OK;
    }
    const char *text = s->key;
    if ((rc = cc_embedder_embed(s->e, &text, &s->key_len, 1, s->vec, err)) != CC_OK)
        return rc;
    *v = s->vec;
    return CC_OK;
}

static const char *tenant_of(const cli_semantic *s, uint64_t req)
{
    uint32_t k = s->t->tenant ? s->t->tenant[req] : 0;
    return k < s->t->n_tenants ? s->t->tenants[k] : "default";
}

static int sem_lookup(void *user, uint64_t req, int64_t now_ns, uint64_t *served, cc_err *err)
{
    cli_semantic *s = user;
    const float *v;
    int rc = key_and_vec(s, req, &v, err);
    if (rc != CC_OK)
        return rc;
    char answer[32];
    cc_sem_result res;
    if ((rc = cc_sem_query(s->c, tenant_of(s, req), v, s->key, s->key_len, now_ns, answer,
                           sizeof answer - 1, &res, err)) != CC_OK)
        return rc;
    if (!res.hit)
        return 0;
    answer[res.answer_len < sizeof answer - 1 ? res.answer_len : sizeof answer - 1] = '\0';
    *served = strtoull(answer, NULL, 10);
    return 1;
}

static int sem_insert(void *user, uint64_t req, int64_t now_ns, cc_err *err)
{
    cli_semantic *s = user;
    const float *v;
    int rc = key_and_vec(s, req, &v, err);
    if (rc != CC_OK)
        return rc;
    char answer[32];
    int len = snprintf(answer, sizeof answer, "%llu", (unsigned long long)req);
    uint64_t id;
    return cc_sem_insert(s->c, tenant_of(s, req), v, s->key, s->key_len, answer, (size_t)len,
                         now_ns, 0, &id, err);
}

int cli_semantic_open(const char *cmd, const char *embedder, double threshold, double lookup_ms,
                      const cc_trace *t, cli_semantic **out)
{
    *out = NULL;
    cli_semantic *s = calloc(1, sizeof *s);
    if (!s)
        return cli_usage_error(cmd, "out of memory"), 3;
    s->t = t;
    int rc = cli_embedder_new(cmd, embedder ? embedder : "hash", 0, &s->e);
    if (rc) {
        free(s);
        return rc;
    }
    if (s->e) {
        s->dim = s->e->dim;
    } else if (!t->embedding_dim || !t->embeddings) {
        free(s);
        return cli_usage_error(cmd, "--embedder precomputed: the trace %s has no embeddings",
                               t->source);
    } else {
        s->dim = (int)t->embedding_dim;
    }
    cc_sem_opts o;
    cc_sem_opts_default(&o);
    o.dim = s->dim;
    if (threshold >= 0)
        o.threshold_short = o.threshold_long = threshold;
    s->threshold = o.threshold_long;
    cc_err err = {0};
    s->vec = malloc((size_t)s->dim * sizeof *s->vec);
    if (!s->vec || cc_sem_open(&o, &s->c, &err) != CC_OK) {
        if (!s->vec)
            cc_err_set(&err, CC_ENOMEM, NULL, 0, "semantic", "out of memory");
        cli_semantic_close(s);
        return cli_fail(cmd, &err);
    }
    s->hooks = (cc_sim_semantic){.lookup = sem_lookup, .insert = sem_insert, .user = s,
                                 .lookup_ns = (int64_t)llround(lookup_ms * 1e6),
                                 .write_back_on_arrival = !t->timed};
    *out = s;
    return 0;
}

const cc_sim_semantic *cli_semantic_hooks(const cli_semantic *s)
{
    return &s->hooks;
}

double cli_semantic_threshold(const cli_semantic *s)
{
    return s->threshold;
}

void cli_semantic_close(cli_semantic *s)
{
    if (!s)
        return;
    cc_sem_close(s->c);
    cc_embedder_free(s->e);
    free(s->vec);
    free(s->key);
    free(s);
}
