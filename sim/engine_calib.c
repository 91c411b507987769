/*
 * engine_calib.c -- measuring the real engine for the calibration fit
 * (calibrate.c): times cc_engine_forward over a grid of steps (batch
 * identical sequences of n_new tokens after n_cached cached ones; decode
 * steps are n_new = 1) and returns cc_calib_points, and converts an engine
 * model shape into the simulator's model profile.
 *
 * Each point: the pool's blocks hold small constant K/V (written once with
 * cc_engine_kv_from_host, so no NaN or denormal slows a point down), each
 * sequence of the batch has its own blocks, logits are one row per sequence
 * (as the real-engine executor asks).  One untimed warm-up forward, then
 * `repeats` timed ones (on the caller's clock: CLOCK_MONOTONIC, or CPU time
 * per engine thread, engine_calib.h); the point's time is their MEDIAN,
 * which damps interference from other jobs on a shared machine.
 *
 * Grids: "quick" (22 points; a second on the tiny model, about 30 s on the
 * small one on one core): prefill new {4, 16, 64, 256} x cached {0, 256} x
 * batch {1, 2},
 * decode cached {64, 512} x batch {1, 4, 8}; "full": prefill new {4, 16, 64,
 * 256} x cached {0, 256, 1024} x batch {1, 2, 4}, decode cached {64, 512,
 * 2048} x batch {1, 4, 16}.
 *
 * Costs: sum over points of (repeats + 1) forwards; memory: the engine's
 * pool (sized by cc_engine_calib_opts) and one host block.
 */
#include "engine_calib.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const cc_engine_calib_grid grids[] = {
    {"quick", {4, 16, 64, 256}, 4, {0, 256}, 2, {1, 2}, 2, {64, 512}, 2, {1, 4, 8}, 3},
    {"full", {4, 16, 64, 256}, 4, {0, 256, 1024}, 3, {1, 2, 4}, 3, {64, 512, 2048}, 3,
     {1, 4, 16}, 3},
};

int cc_engine_calib_grid_preset(const char *name, cc_engine_calib_grid *g, cc_err *err)
{
    for (size_t i = 0; i < sizeof grids / sizeof grids[0]; i++)
        if (!strcmp(grids[i].name, name)) {
            *g = grids[i];
            return CC_OK;
        }
    return cc_err_set(err, CC_EARG, NULL, 0, "grid", "expected quick or full, got '%s'", name);
}

static int imax(const int *v, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        m = v[i] > m ? v[i] : m;
    return m;
}

size_t cc_engine_calib_n_points(const cc_engine_calib_grid *g)
{
    return (size_t)g->n_new_n * g->n_cached_n * g->batch_n + (size_t)g->dec_cached_n * g->dec_batch_n;
}

void cc_engine_calib_opts(const cc_engine_calib_grid *g, int block_size, cc_engine_opts *o)
{
    int bs = block_size > 0 ? block_size : 1;
    int ctx_p = imax(g->n_new, g->n_new_n) + imax(g->n_cached, g->n_cached_n);
    int ctx_d = imax(g->dec_cached, g->dec_cached_n) + 1;
    int ctx = ctx_p > ctx_d ? ctx_p : ctx_d;
    int seqs_p = imax(g->batch, g->batch_n), seqs_d = imax(g->dec_batch, g->dec_batch_n);
    int seqs = seqs_p > seqs_d ? seqs_p : seqs_d;
    int blocks_per = (ctx + bs - 1) / bs;
    o->max_context = ctx;
    o->max_seqs = seqs;
    o->n_slots = seqs * blocks_per;
    int bt = imax(g->n_new, g->n_new_n) * seqs_p;
    o->max_batch_tokens = bt > seqs_d ? bt : seqs_d;
}

double cc_engine_clock_s(cc_engine_clock clock)
{
    struct timespec ts;
    if (clock == CC_ENGINE_CLOCK_CPU) {
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        int threads = omp_get_max_threads();
        return ((double)ts.tv_sec + (double)ts.tv_nsec * 1e-9) / (threads > 0 ? threads : 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double p = *(const double *)a, q = *(const double *)b;
    return (p > q) - (p < q);
}

/* One point: median of `repeats` timed forwards after a warm-up. */
static int time_point(cc_engine *e, int64_t n_new, int64_t n_cached, int64_t batch, int repeats,
                      cc_engine_clock clock, int32_t *tok, int32_t *tables, cc_seq *seqs, float *logits, double *tmp,
                      double *out, cc_err *err)
{
    const cc_model_config *c = cc_engine_config(e);
    int bs = c->block_size;
    int nb = (int)((n_cached + n_new + bs - 1) / bs);
    for (int64_t k = 0; k < n_new * batch; k++)
        tok[k] = (int32_t)((k * 7 + 3) % c->vocab);
    for (int64_t s = 0; s < batch; s++) {
        for (int b = 0; b < nb; b++)
            tables[s * nb + b] = (int32_t)(s * nb + b);
        seqs[s] = (cc_seq){tok + s * n_new, (int)n_new, (int)n_cached, tables + s * nb, nb};
    }
    for (int r = -1; r < repeats; r++) {
        double t0 = cc_engine_clock_s(clock);
        int rc = cc_engine_forward(e, seqs, (int)batch, CC_LOGITS_LAST, logits, err);
        if (rc == CC_OK)
            rc = cc_engine_sync(e, err);
        if (rc != CC_OK)
            return rc;
        if (r >= 0)
            tmp[r] = cc_engine_clock_s(clock) - t0;
    }
    qsort(tmp, (size_t)repeats, sizeof *tmp, cmp_d);
    *out = repeats % 2 ? tmp[repeats / 2] : 0.5 * (tmp[repeats / 2 - 1] + tmp[repeats / 2]);
    return CC_OK;
}

int cc_engine_calib_measure(cc_engine *e, const cc_engine_calib_grid *g, int repeats,
                            cc_engine_clock clock, cc_engine_calib_progress progress, void *arg,
                            cc_calib_point **pts, size_t *n_pts, cc_err *err)
{
    *pts = NULL;
    *n_pts = 0;
    if (repeats < 1 || repeats > 101)
        return cc_err_set(err, CC_EARG, NULL, 0, "repeats", "expected 1..101, got %d", repeats);
    const cc_model_config *c = cc_engine_config(e);
    const cc_engine_opts *eo = cc_engine_options(e);
    cc_engine_opts need;
    cc_engine_calib_opts(g, c->block_size, &need);
    if (eo->n_slots < need.n_slots || eo->max_seqs < need.max_seqs ||
        eo->max_context < need.max_context || eo->max_batch_tokens < need.max_batch_tokens)
        return cc_err_set(err, CC_EARG, NULL, 0, "engine",
                          "the engine is too small for grid '%s' (needs %d slots, %d seqs, "
                          "context %d, %d batch tokens)", g->name, need.n_slots, need.max_seqs,
                          need.max_context, need.max_batch_tokens);
    size_t total = cc_engine_calib_n_points(g);
    cc_calib_point *P = calloc(total, sizeof *P);
    int32_t *tok = malloc((size_t)need.max_batch_tokens * sizeof *tok);
    int32_t *tables = malloc((size_t)need.n_slots * sizeof *tables);
    cc_seq *seqs = malloc((size_t)need.max_seqs * sizeof *seqs);
    float *logits = malloc((size_t)need.max_seqs * (size_t)c->vocab * sizeof *logits);
    double *tmp = malloc((size_t)repeats * sizeof *tmp);
    size_t bb = cc_engine_block_bytes(e);
    void *host = cc_engine_host_alloc(e, bb);
    int rc = CC_OK;
    if (!P || !tok || !tables || !seqs || !logits || !tmp || !host) {
        rc = cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the calibration");
        goto out;
    }
    /* small constant K/V in every block (bit pattern of the pool's dtype) */
    if (cc_engine_options(e)->dtype == CC_DTYPE_F32) {
        for (size_t k = 0; k < bb / sizeof(float); k++)
            ((float *)host)[k] = 0.01f;
    } else {
        uint16_t h = cc_engine_options(e)->dtype == CC_DTYPE_F16 ? cc_f32_to_f16(0.01f)
                                                                : cc_f32_to_bf16(0.01f);
        for (size_t k = 0; k < bb / 2; k++)
            ((uint16_t *)host)[k] = h;
    }
    for (int s = 0; s < eo->n_slots && rc == CC_OK; s++)
        rc = cc_engine_kv_from_host(e, s, host, err);
    if (rc == CC_OK)
        rc = cc_engine_sync(e, err);
    size_t k = 0;
    for (int i = 0; rc == CC_OK && i < g->n_new_n; i++)
        for (int j = 0; rc == CC_OK && j < g->n_cached_n; j++)
            for (int b = 0; rc == CC_OK && b < g->batch_n; b++) {
                P[k] = (cc_calib_point){g->n_new[i], g->n_cached[j], g->batch[b], 0};
                rc = time_point(e, P[k].n_new, P[k].n_cached, P[k].batch, repeats, clock, tok, tables,
                                seqs, logits, tmp, &P[k].seconds, err);
                if (rc == CC_OK && progress)
                    progress(arg, ++k, total);
                else
                    k++;
            }
    for (int j = 0; rc == CC_OK && j < g->dec_cached_n; j++)
        for (int b = 0; rc == CC_OK && b < g->dec_batch_n; b++) {
            P[k] = (cc_calib_point){1, g->dec_cached[j], g->dec_batch[b], 0};
            rc = time_point(e, 1, P[k].n_cached, P[k].batch, repeats, clock, tok, tables, seqs, logits,
                            tmp, &P[k].seconds, err);
            if (rc == CC_OK && progress)
                progress(arg, ++k, total);
            else
                k++;
        }
out:
    if (host)
        cc_engine_host_free(e, host);
    free(tok);
    free(tables);
    free(seqs);
    free(logits);
    free(tmp);
    if (rc != CC_OK) {
        free(P);
        return rc;
    }
    *pts = P;
    *n_pts = total;
    return CC_OK;
}

int cc_sim_model_from_engine(const cc_model_config *c, int engine_dtype, cc_sim_model *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", c->name);
    m->n_layers = c->n_layers;
    m->hidden = c->hidden;
    m->n_heads = c->n_heads;
    m->n_kv_heads = c->n_kv_heads;
    m->head_dim = c->head_dim;
    m->ffn = c->ffn;
    m->vocab = c->vocab;
    m->dtype = engine_dtype == CC_DTYPE_F16 ? CC_SIM_FP16
               : engine_dtype == CC_DTYPE_BF16 ? CC_SIM_BF16 : CC_SIM_FP32;
    m->kv_dtype = m->dtype;
    m->qkv_bias = c->qkv_bias;
    m->tie_embeddings = c->tie_embeddings;
    m->rope_theta = c->rope_theta;
    m->norm_eps = c->norm_eps;
    return cc_sim_model_validate(m, NULL);
}
