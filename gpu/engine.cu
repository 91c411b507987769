/*
 * engine.cu -- the CUDA engine: weights and the KV pool on the device in the
 * storage type (fp32, fp16 or bf16; norms and biases fp32), activations
 * allocated once for max_batch_tokens, and a forward that launches the ops
 * of ops.cu in the order engine_cpu.c runs their CPU twins:
 *
 *   embed -> for each layer: rmsnorm, q/k/v matmuls (+bias), rope(q, k),
 *   [wait for this layer's KV copies], kv_scatter, paged attention,
 *   o matmul (+= x), rmsnorm, gate/up matmuls, swiglu, down matmul (+= x),
 *   [record "layer written"] -> logits rows: gather, rmsnorm, lm_head matmul.
 *
 * Streams: one compute stream, one copy stream.  KV block copies (to and from
 * pinned host buffers, block to block) go on the copy stream layer by layer;
 * after the copies of layer l the event copied[l] is recorded, and a forward
 * waits for copied[l] only before it touches layer l of the pool.  So a
 * cached prefix restored from host memory just before a forward is still
 * arriving for the upper layers while the lower layers compute.  Copies to
 * the host wait for written[l], recorded by the compute stream after layer
 * l's attention.  The batch's small arrays (tokens, positions, pool rows,
 * block tables, tiles, logit rows) go up in one copy from a pinned staging
 * buffer, whose reuse waits for the previous forward's copy.
 *
 * Memory on the device: weights (params x sizeof(T)), pool (block_bytes x
 * n_slots), activations per batch token (hidden (4 + 2 sizeof T) +
 * (nh + 2 nkv) hd 4 + nh hd sizeof T + ffn (8 + sizeof T) bytes), and logits
 * for 64 rows.
 */
#include "ops_cuda.cuh"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utility>
#include <vector>

using namespace ccg;

enum { LOGIT_GROUP = 64 };

namespace {

struct layer_dev {
    float *attn_norm, *mlp_norm, *bq, *bk, *bv; /* fp32 */
    void *wq, *wk, *wv, *wo, *w_gate, *w_up, *w_down; /* T */
};

struct cuda_engine {
    int dtype;
    cublasHandle_t blas;
    cudaStream_t s_compute, s_copy;
    cudaEvent_t *copied, *written; /* [n_layers] */
    cudaEvent_t inputs_sent;
    void *w_mat;     /* T: every matrix */
    float *w_vec;    /* f32: norms and biases */
    void *embed, *lm_head;
    float *final_norm;
    layer_dev *layers;
    void *pool;       /* T: [layer][K, V][n_slots * bs * nkv * hd] */
    size_t pool_part; /* elements of one layer's K (or V) pool */
    /* activations */
    float *x, *q, *k, *v, *gate, *up, *rows, *logits;
    void *xn, *att, *h, *rows_n; /* T */
    /* batch arrays: device, and pinned staging of the same layout */
    void *d_batch, *h_batch;
    size_t batch_bytes;
    float *h_logits; /* pinned [LOGIT_GROUP][vocab] */
    void *d_blend;   /* the blend's device arrays (blend_t), made by the first blend */
};

/* The batch arrays inside one buffer (offsets in bytes). */
struct batch_layout {
    size_t tokens, pos, pool_rows, tables, tiles, logit_rows, total;
};

batch_layout layout_for(const cc_engine *e)
{
    const cc_engine_opts *o = &e->opts;
    size_t T = o->max_batch_tokens;
    size_t max_blocks =
        (size_t)o->max_seqs * ((o->max_context + e->cfg.block_size - 1) / e->cfg.block_size);
    batch_layout L;
    size_t off = 0;
    L.tokens = off, off += T * 4;
    L.pos = off, off += T * 4;
    L.pool_rows = off, off += T * 4;
    L.tables = off, off += max_blocks * 4;
    off = (off + 15) / 16 * 16;
    L.tiles = off, off += (T + o->max_seqs) * sizeof(cc_attn_tile);
    L.logit_rows = off, off += (T + o->max_seqs) * 4;
    L.total = off;
    return L;
}

int cuda_fail(cc_err *err, const char *what, cudaError_t e)
{
    return cc_err_set(err, CC_EIO, NULL, 0, "cuda", "%s: %s", what, cudaGetErrorString(e));
}

#define CK(call)                                                                               \
    do {                                                                                       \
        cudaError_t ck_e_ = (call);                                                            \
        if (ck_e_ != cudaSuccess)                                                              \
            return cuda_fail(err, #call, ck_e_);                                               \
    } while (0)
#define CKB(call)                                                                              \
    do {                                                                                       \
        cublasStatus_t ck_s_ = (call);                                                         \
        if (ck_s_ != CUBLAS_STATUS_SUCCESS)                                                    \
            return cc_err_set(err, CC_EIO, NULL, 0, "cublas", "%s: status %d", #call,          \
                              (int)ck_s_);                                                     \
    } while (0)

size_t tsize(int dtype) { return cc_dtype_size(dtype); }

char *pool_part(cuda_engine *c, const cc_engine *e, int layer, int is_v)
{
    return (char *)c->pool + (2 * (size_t)layer + is_v) * c->pool_part * tsize(c->dtype);
}

int tile_tokens(const cc_engine *e)
{
    int group = e->cfg.n_heads / e->cfg.n_kv_heads;
    return e->opts.attn_q_rows >= group ? e->opts.attn_q_rows / group : 1;
}

/* ---- the forward ---------------------------------------------------------------- */
template <typename T>
int forward_t(cc_engine *e, const cc_seq *seqs, int n_seqs, int logits_mode, float *logits,
              cc_err *err)
{
    cuda_engine *c = (cuda_engine *)e->impl;
    const cc_model_config *m = &e->cfg;
    const int h = m->hidden, nh = m->n_heads, nkv = m->n_kv_heads, hd = m->head_dim, f = m->ffn;
    const int bs = m->block_size;
    cc_attn_shape shape = {nh, nkv, hd, bs};
    cudaStream_t st = c->s_compute;
    batch_layout BL = layout_for(e);

    /* The batch arrays, built on the host as engine_cpu.c builds them. */
    CK(cudaEventSynchronize(c->inputs_sent)); /* the staging buffer is free again */
    char *hb = (char *)c->h_batch;
    int32_t *tokens = (int32_t *)(hb + BL.tokens), *pos = (int32_t *)(hb + BL.pos);
    int32_t *pool_rows = (int32_t *)(hb + BL.pool_rows), *tables = (int32_t *)(hb + BL.tables);
    cc_attn_tile *tiles = (cc_attn_tile *)(hb + BL.tiles);
    int32_t *logit_rows = (int32_t *)(hb + BL.logit_rows);
    int32_t table_off[1024];
    int nt_ = 0, n_tab = 0;
    for (int i = 0; i < n_seqs; i++) {
        const cc_seq *s = &seqs[i];
        memcpy(tokens + nt_, s->tokens, s->n_new * sizeof(int32_t));
        int need = (s->n_cached + s->n_new + bs - 1) / bs;
        memcpy(tables + n_tab, s->block_table, need * sizeof(int32_t));
        table_off[i] = n_tab;
        cc_kv_pool_rows(pool_rows + nt_, s->block_table, s->n_cached, s->n_new, bs);
        for (int t = 0; t < s->n_new; t++)
            pos[nt_ + t] = s->n_cached + t;
        n_tab += need;
        nt_ += s->n_new;
    }
    const int NT = nt_;
    int n_tiles = cc_attn_build_tiles(tiles, seqs, n_seqs, table_off, tile_tokens(e));
    int n_rows = 0;
    if (logits_mode == CC_LOGITS_ALL)
        for (int t = 0; t < NT; t++)
            logit_rows[n_rows++] = t;
    else if (logits_mode == CC_LOGITS_LAST)
        for (int i = 0, t = 0; i < n_seqs; i++)
            t += seqs[i].n_new, logit_rows[n_rows++] = t - 1;
    CK(cudaMemcpyAsync(c->d_batch, c->h_batch, BL.total, cudaMemcpyHostToDevice, st));
    CK(cudaEventRecord(c->inputs_sent, st));
    char *db = (char *)c->d_batch;
    const int32_t *d_tokens = (const int32_t *)(db + BL.tokens);
    const int32_t *d_pos = (const int32_t *)(db + BL.pos);
    const int32_t *d_pool_rows = (const int32_t *)(db + BL.pool_rows);
    const int32_t *d_tables = (const int32_t *)(db + BL.tables);
    const cc_attn_tile *d_tiles = (const cc_attn_tile *)(db + BL.tiles);
    const int32_t *d_logit_rows = (const int32_t *)(db + BL.logit_rows);

    T *xn = (T *)c->xn, *att = (T *)c->att, *hbuf = (T *)c->h;
    CK(embed<T>(c->x, d_tokens, NT, (const T *)c->embed, h, 0, st));
    for (int l = 0; l < m->n_layers; l++) {
        const layer_dev *L = &c->layers[l];
        CK(rmsnorm<T>(xn, c->x, L->attn_norm, NT, h, m->norm_eps, 0, st));
        CKB(matmul<T>(c->blas, c->q, xn, (const T *)L->wq, L->bq, NT, h, nh * hd, 0, st));
        CKB(matmul<T>(c->blas, c->k, xn, (const T *)L->wk, L->bk, NT, h, nkv * hd, 0, st));
        CKB(matmul<T>(c->blas, c->v, xn, (const T *)L->wv, L->bv, NT, h, nkv * hd, 0, st));
        CK(rope(c->q, d_pos, NT, nh, hd, m->rope_theta, 0, st));
        CK(rope(c->k, d_pos, NT, nkv, hd, m->rope_theta, 0, st));
        CK(cudaStreamWaitEvent(st, c->copied[l], 0)); /* this layer's KV copies */
        T *kp = (T *)pool_part(c, e, l, 0), *vp = (T *)pool_part(c, e, l, 1);
        CK(kv_scatter<T>(kp, vp, c->k, c->v, d_pool_rows, NT, shape, 0, st));
        CK(attention_tiles<T>(att, c->q, d_tiles, n_tiles, kp, vp, d_tables, shape,
                              e->opts.attn_q_rows, e->opts.attn_k_tile, 0, st));
        CK(cudaEventRecord(c->written[l], st));
        CKB(matmul<T>(c->blas, c->x, att, (const T *)L->wo, NULL, NT, nh * hd, h, 1, st));
        CK(rmsnorm<T>(xn, c->x, L->mlp_norm, NT, h, m->norm_eps, 0, st));
        CKB(matmul<T>(c->blas, c->gate, xn, (const T *)L->w_gate, NULL, NT, h, f, 0, st));
        CKB(matmul<T>(c->blas, c->up, xn, (const T *)L->w_up, NULL, NT, h, f, 0, st));
        CK(swiglu<T>(hbuf, c->gate, c->up, (size_t)NT * f, 0, st));
        CKB(matmul<T>(c->blas, c->x, hbuf, (const T *)L->w_down, NULL, NT, f, h, 1, st));
    }
    for (int r0 = 0; r0 < n_rows; r0 += LOGIT_GROUP) {
        int nr = n_rows - r0 < LOGIT_GROUP ? n_rows - r0 : LOGIT_GROUP;
        CK(gather_rows(c->rows, c->x, d_logit_rows + r0, nr, h, st));
        CK(rmsnorm<T>((T *)c->rows_n, c->rows, c->final_norm, nr, h, m->norm_eps, 0, st));
        CKB(matmul<T>(c->blas, c->logits, (const T *)c->rows_n, (const T *)c->lm_head, NULL, nr,
                      h, m->vocab, 0, st));
        size_t bytes = (size_t)nr * m->vocab * sizeof(float);
        CK(cudaMemcpyAsync(c->h_logits, c->logits, bytes, cudaMemcpyDeviceToHost, st));
        CK(cudaStreamSynchronize(st));
        memcpy(logits + (size_t)r0 * m->vocab, c->h_logits, bytes);
    }
    return CC_OK;
}

int cu_forward(cc_engine *e, const cc_seq *seqs, int n_seqs, int logits_mode, float *logits,
               cc_err *err)
{
    cuda_engine *c = (cuda_engine *)e->impl;
    if (n_seqs > 1024)
        return cc_err_set(err, CC_EARG, NULL, 0, "n_seqs", "at most 1024 per forward on CUDA");
    switch (c->dtype) {
    case CC_DTYPE_F32: return forward_t<float>(e, seqs, n_seqs, logits_mode, logits, err);
    case CC_DTYPE_F16: return forward_t<__half>(e, seqs, n_seqs, logits_mode, logits, err);
    default: return forward_t<__nv_bfloat16>(e, seqs, n_seqs, logits_mode, logits, err);
    }
}

/* ---- blend ------------------------------------------------------------------------------
 * The twin of cpu_blend (engine_cpu.c): the same layer loop over a shrinking
 * set of rows.  The selection runs on the host (cc_blend_select): at each
 * check layer the deviations come down, the kept rows go up, and the rows
 * of x, q, k, v are compacted through c->gate (f32 [T][ffn]) as scratch;
 * small arrays go up from pageable host memory (copied out before
 * cudaMemcpyAsync returns), so the host arrays may be reused at once. */
template <typename T>
int blend_t(cc_engine *e, cc_blend_plan *p, int logits_mode, float *logits, cc_err *err)
{
    cuda_engine *c = (cuda_engine *)e->impl;
    const cc_model_config *m = &e->cfg;
    const int h = m->hidden, nh = m->n_heads, nkv = m->n_kv_heads, hd = m->head_dim, f = m->ffn;
    const int bs = m->block_size, kvd = nkv * hd, qd = nh * hd;
    cc_attn_shape shape = {nh, nkv, hd, bs};
    cudaStream_t st = c->s_compute;
    size_t Tn = e->opts.max_batch_tokens;
    if (h > f || qd > f)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "ffn",
                          "the CUDA blend compacts rows through the ffn buffer: needs ffn >= "
                          "hidden and heads x head_dim");
    /* device arrays: tokens, pos, pool_rows, src, dst, keep, rows, dev, logit rows [T];
     * tiles [T]; table [ceil(T / bs)] */
    size_t n_tab = (Tn + bs - 1) / bs;
    size_t bytes = 9 * Tn * 4 + Tn * sizeof(cc_attn_tile) + n_tab * 4;
    if (!c->d_blend)
        CK(cudaMalloc(&c->d_blend, bytes));
    int32_t *d_tokens = (int32_t *)c->d_blend, *d_pos = d_tokens + Tn, *d_pool_rows = d_pos + Tn,
            *d_src = d_pool_rows + Tn, *d_dst = d_src + Tn, *d_keep = d_dst + Tn,
            *d_rows = d_keep + Tn, *d_logit_rows = d_rows + 2 * Tn;
    float *d_dev = (float *)(d_rows + Tn);
    cc_attn_tile *d_tiles = (cc_attn_tile *)(d_logit_rows + Tn);
    int32_t *d_table = (int32_t *)(d_tiles + Tn);
    std::vector<int32_t> pos(Tn), pool_rows(Tn), rows(Tn);
    std::vector<cc_attn_tile> tiles(Tn);

    int n = p->n;
    int32_t *cur = p->cur;
    for (int i = 0; i < n; i++) {
        cur[i] = i;
        pos[i] = i;
        pool_rows[i] = p->dst_rows[i];
    }
    const size_t i4 = sizeof(int32_t);
    CK(cudaMemcpyAsync(d_tokens, p->tokens, n * i4, cudaMemcpyHostToDevice, st));
    CK(cudaMemcpyAsync(d_pos, pos.data(), n * i4, cudaMemcpyHostToDevice, st));
    CK(cudaMemcpyAsync(d_pool_rows, pool_rows.data(), n * i4, cudaMemcpyHostToDevice, st));
    CK(cudaMemcpyAsync(d_src, p->src_rows, n * i4, cudaMemcpyHostToDevice, st));
    CK(cudaMemcpyAsync(d_dst, p->dst_rows, n * i4, cudaMemcpyHostToDevice, st));
    CK(cudaMemcpyAsync(d_table, p->table, ((n + bs - 1) / bs) * i4, cudaMemcpyHostToDevice, st));

    T *xn = (T *)c->xn, *att = (T *)c->att, *hbuf = (T *)c->h;
    float *scratch = c->gate;
    CK(embed<T>(c->x, d_tokens, n, (const T *)c->embed, h, 0, st));
    for (int l = 0; l < m->n_layers; l++) {
        const layer_dev *L = &c->layers[l];
        CK(cudaStreamWaitEvent(st, c->copied[l], 0));
        T *kp = (T *)pool_part(c, e, l, 0), *vp = (T *)pool_part(c, e, l, 1);
        for (int r = 0; r < p->n_runs; r++) {
            const cc_blend_run *run = &p->runs[r];
            CK(kv_rerotate<T>(kp, vp, d_src + run->start, d_dst + run->start, run->n, run->delta,
                              shape, m->rope_theta, 0, st));
        }
        CK(rmsnorm<T>(xn, c->x, L->attn_norm, n, h, m->norm_eps, 0, st));
        CKB(matmul<T>(c->blas, c->q, xn, (const T *)L->wq, L->bq, n, h, qd, 0, st));
        CKB(matmul<T>(c->blas, c->k, xn, (const T *)L->wk, L->bk, n, h, kvd, 0, st));
        CKB(matmul<T>(c->blas, c->v, xn, (const T *)L->wv, L->bv, n, h, kvd, 0, st));
        CK(rope(c->q, d_pos, n, nh, hd, m->rope_theta, 0, st));
        CK(rope(c->k, d_pos, n, nkv, hd, m->rope_theta, 0, st));
        int check = l - 1;
        if (l == 0) { /* the forced rows' K/V only (gpu.h) */
            int nf = 0;
            std::vector<int32_t> frows;
            for (int i = 0; i < n; i++)
                if (p->forced[cur[i]]) {
                    rows[nf++] = i;
                    frows.push_back(p->dst_rows[cur[i]]);
                }
            CK(cudaMemcpyAsync(d_keep, rows.data(), nf * i4, cudaMemcpyHostToDevice, st));
            CK(cudaMemcpyAsync(d_rows, frows.data(), nf * i4, cudaMemcpyHostToDevice, st));
            CK(gather_rows(scratch, c->k, d_keep, nf, kvd, st));
            CK(gather_rows(c->up, c->v, d_keep, nf, kvd, st));
            CK(kv_scatter<T>(kp, vp, scratch, c->up, d_rows, nf, shape, 0, st));
        } else {
            if (check < p->n_checks) {
                CK(v_deviation<T>(d_dev, c->v, vp, d_pool_rows, n, kvd, st));
                CK(cudaMemcpyAsync(p->dev, d_dev, n * sizeof(float), cudaMemcpyDeviceToHost, st));
                CK(cudaStreamSynchronize(st));
                int mk = cc_blend_select(p, check, cur, p->dev, n, p->keep_rows);
                const int32_t *kr = p->keep_rows;
                for (int i = 0; i < mk; i++) {
                    cur[i] = cur[kr[i]];
                    pos[i] = pos[kr[i]];
                    pool_rows[i] = pool_rows[kr[i]];
                }
                CK(cudaMemcpyAsync(d_keep, kr, mk * i4, cudaMemcpyHostToDevice, st));
                CK(cudaMemcpyAsync(d_pos, pos.data(), mk * i4, cudaMemcpyHostToDevice, st));
                CK(cudaMemcpyAsync(d_pool_rows, pool_rows.data(), mk * i4, cudaMemcpyHostToDevice,
                                   st));
                float *bufs[4] = {c->x, c->q, c->k, c->v};
                int widths[4] = {h, qd, kvd, kvd};
                for (int b = 0; b < 4; b++) {
                    CK(gather_rows(scratch, bufs[b], d_keep, mk, widths[b], st));
                    CK(cudaMemcpyAsync(bufs[b], scratch, (size_t)mk * widths[b] * sizeof(float),
                                       cudaMemcpyDeviceToDevice, st));
                }
                n = mk;
            }
            CK(kv_scatter<T>(kp, vp, c->k, c->v, d_pool_rows, n, shape, 0, st));
        }
        int n_tiles = cc_blend_tiles(tiles.data(), pos.data(), n, tile_tokens(e));
        CK(cudaMemcpyAsync(d_tiles, tiles.data(), n_tiles * sizeof(cc_attn_tile),
                           cudaMemcpyHostToDevice, st));
        CK(attention_tiles<T>(att, c->q, d_tiles, n_tiles, kp, vp, d_table, shape,
                              e->opts.attn_q_rows, e->opts.attn_k_tile, 0, st));
        CK(cudaEventRecord(c->written[l], st));
        CKB(matmul<T>(c->blas, c->x, att, (const T *)L->wo, NULL, n, qd, h, 1, st));
        CK(rmsnorm<T>(xn, c->x, L->mlp_norm, n, h, m->norm_eps, 0, st));
        CKB(matmul<T>(c->blas, c->gate, xn, (const T *)L->w_gate, NULL, n, h, f, 0, st));
        CKB(matmul<T>(c->blas, c->up, xn, (const T *)L->w_up, NULL, n, h, f, 0, st));
        CK(swiglu<T>(hbuf, c->gate, c->up, (size_t)n * f, 0, st));
        CKB(matmul<T>(c->blas, c->x, hbuf, (const T *)L->w_down, NULL, n, f, h, 1, st));
    }
    p->n_final = n;
    int n_rows = 0;
    if (logits_mode == CC_LOGITS_LAST)
        rows[n_rows++] = n - 1;
    else if (logits_mode == CC_LOGITS_ALL)
        for (int i = 0; i < n; i++)
            if (p->forced[cur[i]])
                rows[n_rows++] = i;
    if (n_rows)
        CK(cudaMemcpyAsync(d_logit_rows, rows.data(), n_rows * i4, cudaMemcpyHostToDevice, st));
    for (int r0 = 0; r0 < n_rows; r0 += LOGIT_GROUP) {
        int nr = n_rows - r0 < LOGIT_GROUP ? n_rows - r0 : LOGIT_GROUP;
        CK(gather_rows(c->rows, c->x, d_logit_rows + r0, nr, h, st));
        CK(rmsnorm<T>((T *)c->rows_n, c->rows, c->final_norm, nr, h, m->norm_eps, 0, st));
        CKB(matmul<T>(c->blas, c->logits, (const T *)c->rows_n, (const T *)c->lm_head, NULL, nr,
                      h, m->vocab, 0, st));
        size_t lb = (size_t)nr * m->vocab * sizeof(float);
        CK(cudaMemcpyAsync(c->h_logits, c->logits, lb, cudaMemcpyDeviceToHost, st));
        CK(cudaStreamSynchronize(st));
        memcpy(logits + (size_t)r0 * m->vocab, c->h_logits, lb);
    }
    CK(cudaStreamSynchronize(st));
    return CC_OK;
}

int cu_blend(cc_engine *e, cc_blend_plan *p, int logits_mode, float *logits, cc_err *err)
{
    cuda_engine *c = (cuda_engine *)e->impl;
    switch (c->dtype) {
    case CC_DTYPE_F32: return blend_t<float>(e, p, logits_mode, logits, err);
    case CC_DTYPE_F16: return blend_t<__half>(e, p, logits_mode, logits, err);
    default: return blend_t<__nv_bfloat16>(e, p, logits_mode, logits, err);
    }
}

/* ---- KV blocks ----------------------------------------------------------------------------
 * Host image of a block: [layer][K, V][layer_elems] in T; one copy per layer
 * and part, each ordered after the last forward's write of that layer. */
int cu_kv_to_host(cc_engine *e, int slot, void *host, cc_err *err)
{
    cuda_engine *c = (cuda_engine *)e->impl;
    size_t part = e->layer_elems * tsize(c->dtype);
    char *dst = (char *)host;
    for (int l = 0; l < e->cfg.n_layers; l++) {
        CK(cudaStreamWaitEvent(c->s_copy, c->written[l], 0));
        for (int kv = 0; kv < 2; kv++, dst += part)
            CK(cudaMemcpyAsync(dst, pool_part(c, e, l, kv) + (size_t)slot * part, part,
                               cudaMemcpyDeviceToHost, c->s_copy));
        CK(cudaEventRecord(c->copied[l], c->s_copy));
    }
    return CC_OK;
}

int cu_kv_from_host(cc_engine *e, int slot, const void *host, cc_err *err)
{
    cuda_engine *c = (cuda_engine *)e->impl;
    size_t part = e->layer_elems * tsize(c->dtype);
    const char *src = (const char *)host;
    for (int l = 0; l < e->cfg.n_layers; l++) {
        CK(cudaStreamWaitEvent(c->s_copy, c->written[l], 0));
        for (int kv = 0; kv < 2; kv++, src += part)
            CK(cudaMemcpyAsync(pool_part(c, e, l, kv) + (size_t)slot * part, src, part,
                               cudaMemcpyHostToDevice, c->s_copy));
        CK(cudaEventRecord(c->copied[l], c->s_copy));
    }
    return CC_OK;
}

int cu_kv_copy_block(cc_engine *e, int dst, int src, cc_err *err)
{
    cuda_engine *c = (cuda_engine *)e->impl;
    size_t part = e->layer_elems * tsize(c->dtype);
    for (int l = 0; l < e->cfg.n_layers; l++) {
        CK(cudaStreamWaitEvent(c->s_copy, c->written[l], 0));
        for (int kv = 0; kv < 2; kv++)
            CK(cudaMemcpyAsync(pool_part(c, e, l, kv) + (size_t)dst * part,
                               pool_part(c, e, l, kv) + (size_t)src * part, part,
                               cudaMemcpyDeviceToDevice, c->s_copy));
        CK(cudaEventRecord(c->copied[l], c->s_copy));
    }
    return CC_OK;
}

int cu_sync(cc_engine *e, cc_err *err)
{
    cuda_engine *c = (cuda_engine *)e->impl;
    CK(cudaStreamSynchronize(c->s_copy));
    CK(cudaStreamSynchronize(c->s_compute));
    return CC_OK;
}

void *cu_host_alloc(cc_engine *e, size_t bytes)
{
    (void)e;
    void *p = NULL;
    if (cudaMallocHost(&p, bytes ? bytes : 1) != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return p;
}

void cu_host_free(cc_engine *e, void *p)
{
    (void)e;
    cudaFreeHost(p);
}

void cu_destroy(cc_engine *e)
{
    cuda_engine *c = (cuda_engine *)e->impl;
    if (!c)
        return;
    if (c->s_compute)
        cudaStreamSynchronize(c->s_compute);
    if (c->s_copy)
        cudaStreamSynchronize(c->s_copy);
    for (int l = 0; c->copied && l < e->cfg.n_layers; l++)
        if (c->copied[l])
            cudaEventDestroy(c->copied[l]);
    for (int l = 0; c->written && l < e->cfg.n_layers; l++)
        if (c->written[l])
            cudaEventDestroy(c->written[l]);
    if (c->inputs_sent)
        cudaEventDestroy(c->inputs_sent);
    free(c->copied);
    free(c->written);
    free(c->layers);
    cudaFree(c->w_mat);
    cudaFree(c->w_vec);
    cudaFree(c->pool);
    cudaFree(c->x);
    cudaFree(c->d_batch);
    cudaFree(c->d_blend);
    if (c->h_batch)
        cudaFreeHost(c->h_batch);
    if (c->h_logits)
        cudaFreeHost(c->h_logits);
    if (c->blas)
        cublasDestroy(c->blas);
    if (c->s_compute)
        cudaStreamDestroy(c->s_compute);
    if (c->s_copy)
        cudaStreamDestroy(c->s_copy);
    free(c);
    e->impl = NULL;
}

const cc_engine_vt cuda_vt = {cu_forward,      cu_kv_to_host, cu_kv_from_host,
                              cu_kv_copy_block, cu_sync,      cu_host_alloc,
                              cu_host_free,     cu_destroy,   cu_blend};

/* Converts n floats to the storage type on the host, 1 M at a time, and
 * copies them to dst. */
int upload_t(void *dst, const float *src, size_t n, int dtype, uint16_t *buf, cc_err *err)
{
    if (dtype == CC_DTYPE_F32) {
        CK(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyHostToDevice));
        return CC_OK;
    }
    const size_t chunk = 1 << 20;
    for (size_t done = 0; done < n; done += chunk) {
        size_t k = n - done < chunk ? n - done : chunk;
        for (size_t i = 0; i < k; i++)
            buf[i] = dtype == CC_DTYPE_BF16 ? cc_f32_to_bf16(src[done + i])
                                            : cc_f32_to_f16(src[done + i]);
        CK(cudaMemcpy((char *)dst + done * 2, buf, k * 2, cudaMemcpyHostToDevice));
    }
    return CC_OK;
}

int init(cc_engine *e, const cc_weights *w, cc_err *err)
{
    const cc_model_config *m = &e->cfg;
    const cc_engine_opts *o = &e->opts;
    cuda_engine *c = (cuda_engine *)e->impl;
    int dt = o->dtype;
    size_t ts = tsize(dt);
    CK(cudaSetDevice(o->device));
    CK(cudaStreamCreateWithFlags(&c->s_compute, cudaStreamNonBlocking));
    CK(cudaStreamCreateWithFlags(&c->s_copy, cudaStreamNonBlocking));
    CKB(cublasCreate(&c->blas));
    CKB(cublasSetStream(c->blas, c->s_compute));
    c->copied = (cudaEvent_t *)calloc(m->n_layers, sizeof(cudaEvent_t));
    c->written = (cudaEvent_t *)calloc(m->n_layers, sizeof(cudaEvent_t));
    c->layers = (layer_dev *)calloc(m->n_layers, sizeof(layer_dev));
    if (!c->copied || !c->written || !c->layers)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "engine", "out of memory");
    for (int l = 0; l < m->n_layers; l++) {
        CK(cudaEventCreateWithFlags(&c->copied[l], cudaEventDisableTiming));
        CK(cudaEventCreateWithFlags(&c->written[l], cudaEventDisableTiming));
    }
    CK(cudaEventCreateWithFlags(&c->inputs_sent, cudaEventDisableTiming));

    /* weights: matrices in T, norms and biases in f32 */
    size_t hh = m->hidden, q = (size_t)m->n_heads * m->head_dim,
           kv = (size_t)m->n_kv_heads * m->head_dim, f = m->ffn, V = m->vocab;
    size_t per_layer_mat = q * hh + 2 * kv * hh + hh * q + 3 * f * hh;
    size_t n_mat = V * hh * (m->tie_embeddings ? 1 : 2) + m->n_layers * per_layer_mat;
    size_t per_layer_vec = 2 * hh + (m->qkv_bias ? q + 2 * kv : 0);
    size_t n_vec = hh + m->n_layers * per_layer_vec;
    CK(cudaMalloc(&c->w_mat, n_mat * ts));
    CK(cudaMalloc((void **)&c->w_vec, n_vec * sizeof(float)));
    uint16_t *buf = (uint16_t *)malloc((1 << 20) * sizeof(uint16_t));
    if (!buf)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "engine", "out of memory");
    char *pm = (char *)c->w_mat;
    float *pv = c->w_vec;
    int rc = CC_OK;
#define MAT(dst, src, n)                                                                       \
    do {                                                                                       \
        dst = pm;                                                                              \
        if (!rc)                                                                               \
            rc = upload_t(pm, src, n, dt, buf, err);                                           \
        pm += (n) * ts;                                                                        \
    } while (0)
#define VEC(dst, src, n)                                                                       \
    do {                                                                                       \
        dst = pv;                                                                              \
        if (!rc)                                                                               \
            rc = upload_t(pv, src, n, CC_DTYPE_F32, buf, err);                                 \
        pv += (n);                                                                             \
    } while (0)
    MAT(c->embed, w->embed, V * hh);
    if (m->tie_embeddings)
        c->lm_head = c->embed;
    else
        MAT(c->lm_head, w->lm_head, V * hh);
    VEC(c->final_norm, w->final_norm, hh);
    for (int l = 0; l < m->n_layers; l++) {
        const cc_layer_weights *W = &w->layers[l];
        layer_dev *L = &c->layers[l];
        VEC(L->attn_norm, W->attn_norm, hh);
        VEC(L->mlp_norm, W->mlp_norm, hh);
        if (m->qkv_bias) {
            VEC(L->bq, W->bq, q);
            VEC(L->bk, W->bk, kv);
            VEC(L->bv, W->bv, kv);
        }
        MAT(L->wq, W->wq, q * hh);
        MAT(L->wk, W->wk, kv * hh);
        MAT(L->wv, W->wv, kv * hh);
        MAT(L->wo, W->wo, hh * q);
        MAT(L->w_gate, W->w_gate, f * hh);
        MAT(L->w_up, W->w_up, f * hh);
        MAT(L->w_down, W->w_down, hh * f);
    }
#undef MAT
#undef VEC
    free(buf);
    if (rc)
        return rc;

    /* the pool */
    c->pool_part = (size_t)o->n_slots * e->layer_elems;
    CK(cudaMalloc(&c->pool, 2 * (size_t)m->n_layers * c->pool_part * ts));
    CK(cudaMemset(c->pool, 0, 2 * (size_t)m->n_layers * c->pool_part * ts));

    /* activations: one allocation, f32 parts first, then T parts */
    size_t T = o->max_batch_tokens, G = LOGIT_GROUP;
    size_t n_f32 = T * hh + T * q + 2 * T * kv + 2 * T * f + G * hh + G * V;
    size_t n_t = T * hh + T * q + T * f + G * hh;
    CK(cudaMalloc((void **)&c->x, n_f32 * sizeof(float) + n_t * ts + 256));
    float *pf = c->x + T * hh;
    c->q = pf, pf += T * q;
    c->k = pf, pf += T * kv;
    c->v = pf, pf += T * kv;
    c->gate = pf, pf += T * f;
    c->up = pf, pf += T * f;
    c->rows = pf, pf += G * hh;
    c->logits = pf, pf += G * V;
    char *pt = (char *)(((uintptr_t)pf + 255) / 256 * 256);
    c->xn = pt, pt += T * hh * ts;
    c->att = pt, pt += T * q * ts;
    c->h = pt, pt += T * f * ts;
    c->rows_n = pt;

    batch_layout BL = layout_for(e);
    c->batch_bytes = BL.total;
    CK(cudaMalloc(&c->d_batch, BL.total));
    CK(cudaMallocHost(&c->h_batch, BL.total));
    CK(cudaMallocHost((void **)&c->h_logits, G * V * sizeof(float)));
    return CC_OK;
}

} // namespace

extern "C" int cc_engine_cuda_init(cc_engine *e, const cc_weights *w, cc_err *err)
{
    if (cc_gpu_device_count() <= e->opts.device)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "backend", "no CUDA device %d",
                          e->opts.device);
    cuda_engine *c = (cuda_engine *)calloc(1, sizeof(cuda_engine));
    if (!c)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "engine", "out of memory");
    c->dtype = e->opts.dtype;
    e->impl = c;
    e->vt = &cuda_vt;
    int rc = init(e, w, err);
    if (rc) {
        cu_destroy(e);
        e->impl = NULL;
    }
    return rc;
}
