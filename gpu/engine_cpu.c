/*
 * engine_cpu.c -- the CPU reference engine: fp32 weights read in place from
 * the caller's cc_weights, a fp32 KV pool, activations allocated once for
 * max_batch_tokens, and a forward that is the ops of ops_cpu.c in the order
 * engine.cu launches their CUDA twins:
 *
 *   embed -> for each layer: rmsnorm, q/k/v matmuls (+bias), rope(q, k),
 *   kv_scatter (new K/V into the pool), paged attention, o matmul (+= x),
 *   rmsnorm, gate/up matmuls, swiglu, down matmul (+= x)
 *   -> logits rows: rmsnorm (final), lm_head matmul.
 *
 * Threads: OpenMP with OMP_NUM_THREADS threads; OpenBLAS is held at one
 * thread for the duration of a forward (restored after), because the
 * matrix products are already cut into one sgemm per OpenMP thread and the
 * attention tiles call sgemm from inside OpenMP threads.
 *
 * Memory: the pool is 2 x n_layers x n_slots x block_size x n_kv_heads x
 * head_dim floats; activations (hidden x 2 + (nh + 2 nkv) hd + nh hd + 2 ffn)
 * floats per batch token, plus attention scratch per thread.
 */
#include "engine_impl.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

enum { LOGIT_GROUP = 64 }; /* logits rows computed per lm_head product */
#define BLAS_BUFFER_BYTES ((size_t)128 << 20) /* OpenBLAS's BUFFER_SIZE on x86-64 */

#ifndef CC_BLAS_SCIPY
#define CC_BLAS_SCIPY 0
#endif

const char *cc_blas_core_for_cpu(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init(); /* before main: the libgcc constructor may not have run */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        return __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return NULL;
}

/* The vector width a core type's sgemm kernels use: 0 (SSE), 1 (AVX2),
 * 2 (AVX-512). */
static int core_rank(const char *core)
{
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *const avx2[] = {"Haswell", "Zen", "Zen2", "Zen3"};
    for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++)
        if (!strcasecmp(core, avx512[i]))
            return 2;
    for (size_t i = 0; i < sizeof avx2 / sizeof *avx2; i++)
        if (!strcasecmp(core, avx2[i]))
            return 1;
    return 0;
}

const char *cc_cpu_blas_describe(char *buf, size_t len)
{
    const char *cfg = openblas_get_config(), *core = openblas_get_corename();
    const char *want = cc_blas_core_for_cpu();
    int weaker = want && core && core_rank(core) < core_rank(want);
    snprintf(buf, len, "%s (%s, core %s%s%s%s)",
             CC_BLAS_SCIPY ? "scipy-openblas32" : "system OpenBLAS", cfg ? cfg : "?",
             core ? core : "?", weaker ? "; this CPU runs " : "", weaker ? want : "",
             weaker ? ": OPENBLAS_CORETYPE" : "");
    return buf;
}

typedef struct cpu_engine {
    const cc_weights *w;
    float *pool;          /* K of layer l: pool + 2l*layer; V: pool + (2l+1)*layer */
    size_t pool_layer;    /* floats of one layer's K (or V) pool */
    float *x, *xn, *q, *k, *v, *att, *gate, *up, *rows;
    int32_t *pos, *pool_rows, *tables, *table_off;
    cc_attn_tile *tiles;
    float *scratch;
    int n_threads;
} cpu_engine;

static float *k_pool(cpu_engine *c, int l) { return c->pool + 2 * (size_t)l * c->pool_layer; }
static float *v_pool(cpu_engine *c, int l)
{
    return c->pool + (2 * (size_t)l + 1) * c->pool_layer;
}

/* Faults every page of p in now.  malloc maps large blocks lazily, so a
 * forward that first reaches row r of the activations would pay the page
 * faults of the rows it never used before (about 30 KB a token on the
 * small model: ~16k faults, 0.2 s on a VM, in the first 2048-token step of
 * a replay) -- a cost no later step and no calibration point (each warmed
 * up on its own shape) has.  One store per page through a volatile pointer:
 * the compiler turns malloc + memset(0) into calloc, which is lazy again. */
static void touch_pages(void *p, size_t bytes)
{
    volatile char *b = p;
    for (size_t i = 0; i < bytes; i += 4096)
        b[i] = 0;
}

static void cpu_destroy(cc_engine *e)
{
    cpu_engine *c = e->impl;
    if (!c)
        return;
    free(c->pool);
    free(c->x);
    free(c->pos);
    free(c->tiles);
    free(c->scratch);
    free(c);
    e->impl = NULL;
}

static int tile_tokens(const cc_engine *e)
{
    int group = e->cfg.n_heads / e->cfg.n_kv_heads;
    return e->opts.attn_q_rows >= group ? e->opts.attn_q_rows / group : 1;
}

static int cpu_forward(cc_engine *e, const cc_seq *seqs, int n_seqs, int logits_mode,
                       float *logits, cc_err *err)
{
    cpu_engine *c = e->impl;
    const cc_model_config *m = &e->cfg;
    const cc_weights *w = c->w;
    int h = m->hidden, nh = m->n_heads, nkv = m->n_kv_heads, hd = m->head_dim, f = m->ffn;
    int bs = m->block_size;
    cc_attn_shape shape = {nh, nkv, hd, bs};

    /* The batch: token rows, positions, pool rows, concatenated block tables. */
    int T = 0, n_tab = 0;
    for (int i = 0; i < n_seqs; i++) {
        const cc_seq *s = &seqs[i];
        cc_op_embed(c->x + (size_t)T * h, s->tokens, s->n_new, w->embed, h);
        int need = (s->n_cached + s->n_new + bs - 1) / bs;
        memcpy(c->tables + n_tab, s->block_table, need * sizeof(int32_t));
        c->table_off[i] = n_tab;
        cc_kv_pool_rows(c->pool_rows + T, s->block_table, s->n_cached, s->n_new, bs);
        for (int t = 0; t < s->n_new; t++)
            c->pos[T + t] = s->n_cached + t;
        n_tab += need;
        T += s->n_new;
    }
    int n_tiles = cc_attn_build_tiles(c->tiles, seqs, n_seqs, c->table_off, tile_tokens(e));

    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    for (int l = 0; l < m->n_layers; l++) {
        const cc_layer_weights *L = &w->layers[l];
        cc_op_rmsnorm(c->xn, c->x, L->attn_norm, T, h, m->norm_eps);
        cc_op_matmul(c->q, c->xn, L->wq, L->bq, T, h, nh * hd, 0);
        cc_op_matmul(c->k, c->xn, L->wk, L->bk, T, h, nkv * hd, 0);
        cc_op_matmul(c->v, c->xn, L->wv, L->bv, T, h, nkv * hd, 0);
        cc_op_rope(c->q, c->pos, T, nh, hd, m->rope_theta);
        cc_op_rope(c->k, c->pos, T, nkv, hd, m->rope_theta);
        cc_op_kv_scatter(k_pool(c, l), v_pool(c, l), c->k, c->v, c->pool_rows, T, &shape);
        cc_cpu_attention_tiles(c->att, c->q, c->tiles, n_tiles, k_pool(c, l), v_pool(c, l),
                               c->k, c->v, c->tables, &shape, e->opts.attn_q_rows, e->opts.attn_k_tile,
                               c->scratch, c->n_threads);
        cc_op_matmul(c->x, c->att, L->wo, NULL, T, nh * hd, h, 1);
        cc_op_rmsnorm(c->xn, c->x, L->mlp_norm, T, h, m->norm_eps);
        cc_op_matmul(c->gate, c->xn, L->w_gate, NULL, T, h, f, 0);
        cc_op_matmul(c->up, c->xn, L->w_up, NULL, T, h, f, 0);
        cc_op_swiglu(c->gate, c->gate, c->up, (size_t)T * f);
        cc_op_matmul(c->x, c->gate, L->w_down, NULL, T, f, h, 1);
    }

    /* Logits, LOGIT_GROUP rows at a time, straight into the caller's buffer. */
    int n_rows = logits_mode == CC_LOGITS_ALL ? T : logits_mode == CC_LOGITS_LAST ? n_seqs : 0;
    for (int r0 = 0; r0 < n_rows; r0 += LOGIT_GROUP) {
        int nr = n_rows - r0 < LOGIT_GROUP ? n_rows - r0 : LOGIT_GROUP;
        for (int r = 0; r < nr; r++) {
            int tok = r0 + r;
            if (logits_mode == CC_LOGITS_LAST) { /* the last new token of sequence r0 + r */
                tok = -1;
                for (int i = 0; i <= r0 + r; i++)
                    tok += seqs[i].n_new;
            }
            memcpy(c->rows + (size_t)r * h, c->x + (size_t)tok * h, h * sizeof(float));
        }
        cc_op_rmsnorm(c->rows, c->rows, w->final_norm, nr, h, m->norm_eps);
        cc_op_matmul(logits + (size_t)r0 * m->vocab, c->rows, w->lm_head, NULL, nr, h, m->vocab,
                     0);
    }
    openblas_set_num_threads(blas_threads);
    (void)err;
    return CC_OK;
}

/* Keeps rows keep[0..m) (ascending) of a [rows][width] array, in place. */
static void compact_rows(float *a, size_t width, const int32_t *keep, int m)
{
    for (int i = 0; i < m; i++)
        if (keep[i] != i)
            memcpy(a + (size_t)i * width, a + (size_t)keep[i] * width, width * sizeof(float));
}

/* CacheBlend's layer loop (gpu.h, blend.c): the forward of cpu_forward over
 * a shrinking set of rows, rows i holding prompt position cur[i] (also
 * c->pos[i]) with pool row c->pool_rows[i]. */
static int cpu_blend(cc_engine *e, cc_blend_plan *p, int logits_mode, float *logits,
                     cc_err *err)
{
    cpu_engine *c = e->impl;
    const cc_model_config *m = &e->cfg;
    const cc_weights *w = c->w;
    int h = m->hidden, nh = m->n_heads, nkv = m->n_kv_heads, hd = m->head_dim, f = m->ffn;
    size_t kvd = (size_t)nkv * hd, qd = (size_t)nh * hd;
    cc_attn_shape shape = {nh, nkv, hd, m->block_size};
    int n = p->n;
    int32_t *cur = p->cur;
    for (int i = 0; i < n; i++) {
        cur[i] = i;
        c->pos[i] = i;
        c->pool_rows[i] = p->dst_rows[i];
    }
    cc_op_embed(c->x, p->tokens, n, w->embed, h);

    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    for (int l = 0; l < m->n_layers; l++) {
        const cc_layer_weights *L = &w->layers[l];
        float *kp = k_pool(c, l), *vp = v_pool(c, l);
        for (int r = 0; r < p->n_runs; r++) {
            const cc_blend_run *run = &p->runs[r];
            cc_op_kv_rerotate(kp, vp, p->src_rows + run->start, p->dst_rows + run->start,
                              run->n, run->delta, &shape, m->rope_theta);
        }
        cc_op_rmsnorm(c->xn, c->x, L->attn_norm, n, h, m->norm_eps);
        cc_op_matmul(c->q, c->xn, L->wq, L->bq, n, h, nh * hd, 0);
        cc_op_matmul(c->k, c->xn, L->wk, L->bk, n, h, nkv * hd, 0);
        cc_op_matmul(c->v, c->xn, L->wv, L->bv, n, h, nkv * hd, 0);
        cc_op_rope(c->q, c->pos, n, nh, hd, m->rope_theta);
        cc_op_rope(c->k, c->pos, n, nkv, hd, m->rope_theta);
        int check = l - 1;
        if (l == 0) {
            /* reused tokens keep their (equal) reused layer-0 K/V */
            for (int i = 0; i < n; i++)
                if (p->forced[cur[i]])
                    cc_op_kv_scatter(kp, vp, c->k + i * kvd, c->v + i * kvd, &c->pool_rows[i],
                                     1, &shape);
        } else {
            if (check < p->n_checks) {
                cc_op_v_deviation(p->dev, c->v, vp, c->pool_rows, n, (int)kvd);
                int m_keep = cc_blend_select(p, check, cur, p->dev, n, p->keep_rows);
                const int32_t *kr = p->keep_rows;
                compact_rows(c->x, h, kr, m_keep);
                compact_rows(c->q, qd, kr, m_keep);
                compact_rows(c->k, kvd, kr, m_keep);
                compact_rows(c->v, kvd, kr, m_keep);
                for (int i = 0; i < m_keep; i++) {
                    cur[i] = cur[kr[i]];
                    c->pos[i] = c->pos[kr[i]];
                    c->pool_rows[i] = c->pool_rows[kr[i]];
                }
                n = m_keep;
            }
            cc_op_kv_scatter(kp, vp, c->k, c->v, c->pool_rows, n, &shape);
        }
        int n_tiles = cc_blend_tiles(c->tiles, c->pos, n, tile_tokens(e));
        cc_cpu_attention_tiles(c->att, c->q, c->tiles, n_tiles, kp, vp, NULL, NULL, p->table, &shape,
                               e->opts.attn_q_rows, e->opts.attn_k_tile, c->scratch,
                               c->n_threads);
        cc_op_matmul(c->x, c->att, L->wo, NULL, n, nh * hd, h, 1);
        cc_op_rmsnorm(c->xn, c->x, L->mlp_norm, n, h, m->norm_eps);
        cc_op_matmul(c->gate, c->xn, L->w_gate, NULL, n, h, f, 0);
        cc_op_matmul(c->up, c->xn, L->w_up, NULL, n, h, f, 0);
        cc_op_swiglu(c->gate, c->gate, c->up, (size_t)n * f);
        cc_op_matmul(c->x, c->gate, L->w_down, NULL, n, f, h, 1);
    }
    p->n_final = n;

    /* Logits of the forced rows (ALL) or of the last row (LAST). */
    int n_rows = 0;
    if (logits_mode == CC_LOGITS_LAST) {
        p->keep_rows[n_rows++] = n - 1;
    } else if (logits_mode == CC_LOGITS_ALL) {
        for (int i = 0; i < n; i++)
            if (p->forced[cur[i]])
                p->keep_rows[n_rows++] = i;
    }
    for (int r0 = 0; r0 < n_rows; r0 += LOGIT_GROUP) {
        int nr = n_rows - r0 < LOGIT_GROUP ? n_rows - r0 : LOGIT_GROUP;
        for (int r = 0; r < nr; r++)
            memcpy(c->rows + (size_t)r * h, c->x + (size_t)p->keep_rows[r0 + r] * h,
                   h * sizeof(float));
        cc_op_rmsnorm(c->rows, c->rows, w->final_norm, nr, h, m->norm_eps);
        cc_op_matmul(logits + (size_t)r0 * m->vocab, c->rows, w->lm_head, NULL, nr, h, m->vocab,
                     0);
    }
    openblas_set_num_threads(blas_threads);
    (void)err;
    return CC_OK;
}

static float *layer_part(cpu_engine *c, int l, int is_v, int slot, size_t layer_elems)
{
    return (is_v ? v_pool(c, l) : k_pool(c, l)) + (size_t)slot * layer_elems;
}

static int cpu_kv_to_host(cc_engine *e, int slot, void *host, cc_err *err)
{
    cpu_engine *c = e->impl;
    size_t n = e->layer_elems;
    float *dst = host;
    for (int l = 0; l < e->cfg.n_layers; l++)
        for (int kv = 0; kv < 2; kv++, dst += n)
            memcpy(dst, layer_part(c, l, kv, slot, n), n * sizeof(float));
    (void)err;
    return CC_OK;
}

static int cpu_kv_from_host(cc_engine *e, int slot, const void *host, cc_err *err)
{
    cpu_engine *c = e->impl;
    size_t n = e->layer_elems;
    const float *src = host;
    for (int l = 0; l < e->cfg.n_layers; l++)
        for (int kv = 0; kv < 2; kv++, src += n)
            memcpy(layer_part(c, l, kv, slot, n), src, n * sizeof(float));
    (void)err;
    return CC_OK;
}

static int cpu_kv_copy_block(cc_engine *e, int dst, int src, cc_err *err)
{
    cpu_engine *c = e->impl;
    size_t n = e->layer_elems;
    for (int l = 0; l < e->cfg.n_layers; l++)
        for (int kv = 0; kv < 2; kv++)
            memcpy(layer_part(c, l, kv, dst, n), layer_part(c, l, kv, src, n),
                   n * sizeof(float));
    (void)err;
    return CC_OK;
}

static int cpu_sync(cc_engine *e, cc_err *err)
{
    (void)e;
    (void)err;
    return CC_OK;
}

static void *cpu_host_alloc(cc_engine *e, size_t bytes)
{
    (void)e;
    return malloc(bytes ? bytes : 1);
}

static void cpu_host_free(cc_engine *e, void *p)
{
    (void)e;
    free(p);
}

static const cc_engine_vt cpu_vt = {cpu_forward,      cpu_kv_to_host, cpu_kv_from_host,
                                    cpu_kv_copy_block, cpu_sync,      cpu_host_alloc,
                                    cpu_host_free,     cpu_destroy,      cpu_blend};

int cc_engine_cpu_init(cc_engine *e, const cc_weights *w, cc_err *err)
{
    const cc_model_config *m = &e->cfg;
    const cc_engine_opts *o = &e->opts;
    cpu_engine *c = calloc(1, sizeof *c);
    if (!c)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "engine", "out of memory");
    e->impl = c;
    e->vt = &cpu_vt;
    c->w = w;
    c->n_threads = omp_get_max_threads();
    size_t T = o->max_batch_tokens, h = m->hidden, qd = (size_t)m->n_heads * m->head_dim,
           kvd = (size_t)m->n_kv_heads * m->head_dim, f = m->ffn;
    c->pool_layer = (size_t)o->n_slots * e->layer_elems;
    c->pool = calloc(2 * (size_t)m->n_layers * c->pool_layer, sizeof(float));
    /* One allocation for the activations. */
    size_t act = T * (2 * h + qd + 2 * kvd + qd + 2 * f) + LOGIT_GROUP * h;
    c->x = malloc(act * sizeof(float));
    if (c->x) {
        c->xn = c->x + T * h;
        c->q = c->xn + T * h;
        c->k = c->q + T * qd;
        c->v = c->k + T * kvd;
        c->att = c->v + T * kvd;
        c->gate = c->att + T * qd;
        c->up = c->gate + T * f;
        c->rows = c->up + T * f;
        touch_pages(c->x, act * sizeof(float));
    }
    size_t max_blocks = (size_t)o->max_seqs * ((o->max_context + m->block_size - 1) / m->block_size);
    c->pos = malloc((2 * T + max_blocks + o->max_seqs) * sizeof(int32_t));
    if (c->pos) {
        c->pool_rows = c->pos + T;
        c->tables = c->pool_rows + T;
        c->table_off = c->tables + max_blocks;
    }
    /* Tiles: at most T + max_seqs (each sequence adds at most one partial tile). */
    c->tiles = malloc((T + o->max_seqs) * sizeof *c->tiles);
    cc_attn_shape s = {m->n_heads, m->n_kv_heads, m->head_dim, m->block_size};
    c->scratch = malloc((size_t)c->n_threads *
                        cc_op_attention_scratch_floats(&s, o->attn_q_rows, o->attn_k_tile) *
                        sizeof(float));
    if (!c->pool || !c->x || !c->pos || !c->tiles || !c->scratch) {
        cpu_destroy(e);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "n_slots",
                          "cannot allocate the KV pool (%.1f MB) and activations",
                          2.0 * m->n_layers * c->pool_layer * 4e-6);
    }
    /* OpenBLAS maps a BLAS_BUFFER_BYTES buffer for each thread that calls
     * sgemm, on its first call, and retries a failed mapping forever (a hang
     * under ulimit -v).  Check now that the address space has room for one
     * per OpenMP thread, so that such a limit is an error instead. */
    size_t need = ((size_t)c->n_threads + 1) * BLAS_BUFFER_BYTES;
    void *room = mmap(NULL, need, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (room == MAP_FAILED) {
        cpu_destroy(e);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "engine",
                          "cannot start BLAS: no address space for its buffers (%d threads x "
                          "%zu MB; is ulimit -v set?)",
                          c->n_threads + 1, (size_t)(BLAS_BUFFER_BYTES >> 20));
    }
    munmap(room, need);
    return CC_OK;
}
