/*
 * ops_cpu.c -- the CPU reference of every op of a forward (fp32).  Each op
 * has a CUDA twin in ops.cu with the same name and the same order of steps;
 * tests/test_engine.c checks these against naive twins and
 * tests/test_engine_cuda.c checks the CUDA ones against these.
 *
 * Threads: OpenMP (OMP_NUM_THREADS).  The matrix products are OpenBLAS
 * cblas_sgemm calls, one per thread on a slab of the output; the engine holds
 * OpenBLAS at one thread while it runs so that its own threads do not fight
 * OpenMP's (see engine_cpu.c).  Nothing here allocates.
 *
 * Costs: embed, rmsnorm, rope, swiglu, kv_scatter are O(elements);
 * matmul is 2 n d_in d_out flops; attention is ~4 hd flops per (query head,
 * key) pair, plus one exp per pair and, for keys cached before this forward,
 * one gather of each key tile per query tile (the forward's own keys are
 * read in place from its k/v rows: cc_attn_tile.batch_pos0).  Profiled on the
 * small preset's 4k prefill (perf, 2 threads): sgemm kernels ~60 % of the
 * time, their packing ~16 %, the softmax rows ~7 %.
 */
#include "engine_impl.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

void cc_op_embed(float *out, const int32_t *tokens, int n, const float *table, int dim)
{
#pragma omp parallel for schedule(static) if (n > 64)
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * dim, table + (size_t)tokens[i] * dim, dim * sizeof(float));
}

void cc_op_rmsnorm(float *out, const float *x, const float *w, int n, int dim, float eps)
{
#pragma omp parallel for schedule(static) if (n > 16)
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * dim;
        float *oi = out + (size_t)i * dim;
        float ss = 0.0f;
        for (int d = 0; d < dim; d++)
            ss += xi[d] * xi[d];
        float r = 1.0f / sqrtf(ss / dim + eps);
        for (int d = 0; d < dim; d++)
            oi[d] = xi[d] * r * w[d];
    }
}

/* The output is cut into one slab per thread: along the tokens when there
 * are many (prefill), along the output features otherwise (decode). */
void cc_op_matmul(float *out, const float *x, const float *w, const float *bias, int n,
                  int d_in, int d_out, int accumulate)
{
    int nt = omp_get_max_threads();
    int by_rows = n >= 32 * nt;
    int total = by_rows ? n : d_out, align = by_rows ? 8 : 64;
    int per = (total + nt - 1) / nt;
    per = (per + align - 1) / align * align;
    int parts = (total + per - 1) / per;
#pragma omp parallel for schedule(static) num_threads(parts > 0 ? parts : 1)
    for (int t = 0; t < parts; t++) {
        int a = t * per, b = a + per < total ? a + per : total;
        int r0 = by_rows ? a : 0, nr = by_rows ? b - a : n;
        int c0 = by_rows ? 0 : a, nc = by_rows ? d_out : b - a;
        float *o = out + (size_t)r0 * d_out + c0;
        float beta = accumulate ? 1.0f : 0.0f;
        if (bias) {
            for (int i = 0; i < nr; i++)
                for (int j = 0; j < nc; j++)
                    o[(size_t)i * d_out + j] = (accumulate ? o[(size_t)i * d_out + j] : 0.0f) +
                                               bias[c0 + j];
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, nc, d_in, 1.0f,
                    x + (size_t)r0 * d_in, d_in, w + (size_t)c0 * d_in, d_in, beta, o, d_out);
    }
}

void cc_op_rope(float *x, const int32_t *pos, int n, int n_heads, int head_dim, double theta)
{
    int half = head_dim / 2;
    double inv_freq[CC_MAX_HEAD_DIM / 2];
    for (int d = 0; d < half; d++)
        inv_freq[d] = pow(theta, -2.0 * d / head_dim);
#pragma omp parallel for schedule(static) if (n > 16)
    for (int i = 0; i < n; i++) {
        for (int d = 0; d < half; d++) {
            double ang = pos[i] * inv_freq[d];
            float c = (float)cos(ang), s = (float)sin(ang);
            for (int h = 0; h < n_heads; h++) {
                float *v = x + ((size_t)i * n_heads + h) * head_dim;
                float a = v[d], b = v[d + half];
                v[d] = a * c - b * s;
                v[d + half] = b * c + a * s;
            }
        }
    }
}


void cc_kv_pool_rows(int32_t *pool_rows, const int32_t *block_table, int pos0, int n,
                     int block_size)
{
    for (int i = 0; i < n; i++) {
        int p = pos0 + i;
        pool_rows[i] = block_table[p / block_size] * block_size + p % block_size;
    }
}

void cc_op_kv_scatter(float *k_pool, float *v_pool, const float *k, const float *v,
                      const int32_t *pool_rows, int n, const cc_attn_shape *s)
{
    size_t row = (size_t)s->n_kv_heads * s->head_dim;
    for (int i = 0; i < n; i++) {
        memcpy(k_pool + (size_t)pool_rows[i] * row, k + (size_t)i * row, row * sizeof(float));
        memcpy(v_pool + (size_t)pool_rows[i] * row, v + (size_t)i * row, row * sizeof(float));
    }
}

void cc_op_kv_rerotate(float *k_pool, float *v_pool, const int32_t *src_rows,
                       const int32_t *dst_rows, int n, int delta, const cc_attn_shape *s,
                       double theta)
{
    int hd = s->head_dim, half = hd / 2, nkv = s->n_kv_heads;
    size_t row = (size_t)nkv * hd;
    float c[CC_MAX_HEAD_DIM / 2], sn[CC_MAX_HEAD_DIM / 2];
    for (int d = 0; d < half; d++) { /* as cc_op_rope: the angle in double */
        double ang = delta * pow(theta, -2.0 * d / hd);
        c[d] = (float)cos(ang);
        sn[d] = (float)sin(ang);
    }
#pragma omp parallel for schedule(static) if (n > 64)
    for (int i = 0; i < n; i++) {
        const float *ks = k_pool + (size_t)src_rows[i] * row;
        float *kd = k_pool + (size_t)dst_rows[i] * row;
        for (int h = 0; h < nkv; h++)
            for (int d = 0; d < half; d++) {
                float a = ks[h * hd + d], b = ks[h * hd + d + half];
                kd[h * hd + d] = a * c[d] - b * sn[d];
                kd[h * hd + d + half] = b * c[d] + a * sn[d];
            }
        memcpy(v_pool + (size_t)dst_rows[i] * row, v_pool + (size_t)src_rows[i] * row,
               row * sizeof(float));
    }
}

void cc_op_v_deviation(float *dev, const float *v, const float *v_pool,
                       const int32_t *pool_rows, int n, int row)
{
#pragma omp parallel for schedule(static) if (n > 256)
    for (int i = 0; i < n; i++) {
        const float *a = v + (size_t)i * row, *b = v_pool + (size_t)pool_rows[i] * row;
        float acc = 0.0f;
        for (int d = 0; d < row; d++)
            acc += (a[d] - b[d]) * (a[d] - b[d]);
        dev[i] = acc;
    }
}

void cc_op_kv_gather(float *k_out, float *v_out, const float *k_pool, const float *v_pool,
                     const int32_t *block_table, int p0, int n, int g,
                     const cc_attn_shape *s)
{
    int hd = s->head_dim, bs = s->block_size;
    size_t row = (size_t)s->n_kv_heads * hd;
    for (int j = 0; j < n; j++) {
        int p = p0 + j;
        size_t off = ((size_t)block_table[p / bs] * bs + p % bs) * row + (size_t)g * hd;
        memcpy(k_out + (size_t)j * hd, k_pool + off, hd * sizeof(float));
        memcpy(v_out + (size_t)j * hd, v_pool + off, hd * sizeof(float));
    }
}

/* ---- attention ----------------------------------------------------------------
 * The row work of the online softmax (max, exp, sum, rescale) is as many
 * operations per key as the two products have multiply-adds per key divided
 * by head_dim, so it must be vectorised too: expf is declared `omp declare
 * simd` (glibc's libmvec has the vector variants; -lm pulls it in) and the
 * helpers below are compiled for AVX-512, AVX2 and baseline x86-64, picked
 * at load time (target_clones). */
#pragma omp declare simd notinbranch
extern float expf(float);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CC_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CC_VECTOR_CLONES
#endif

/* One row of S (kn keys, the first `visible` unmasked): P = exp(S - m_new)
 * in place (masked keys 0), returns the row sum; *m is updated and the
 * factor exp(m_old - m_new) that rescales O and l is returned in *corr.
 * The max and the sum keep 16 lanes of partial results (each lane in key
 * order, so no reassociation is needed to vectorise them); the 16 lanes are
 * combined at the end. */
enum { LANES = 16 };
CC_VECTOR_CLONES
static float softmax_row(float *Sr, int visible, int kn, float *m, float *corr)
{
    float mx = *m, lane[LANES];
    int j = 0;
    for (int k = 0; k < LANES; k++)
        lane[k] = mx;
    for (; j + LANES <= visible; j += LANES)
        for (int k = 0; k < LANES; k++)
            lane[k] = lane[k] > Sr[j + k] ? lane[k] : Sr[j + k]; /* maps to vmaxps */
    for (; j < visible; j++)
        mx = mx > Sr[j] ? mx : Sr[j];
    for (int k = 0; k < LANES; k++)
        mx = mx > lane[k] ? mx : lane[k];
    /* exp and the lane sums in one pass over the row */
    for (int k = 0; k < LANES; k++)
        lane[k] = 0.0f;
    for (j = 0; j + LANES <= visible; j += LANES)
#pragma omp simd
        for (int k = 0; k < LANES; k++) {
            float p = expf(Sr[j + k] - mx);
            Sr[j + k] = p;
            lane[k] += p;
        }
    float sum = 0.0f;
    for (; j < visible; j++) {
        Sr[j] = expf(Sr[j] - mx);
        sum += Sr[j];
    }
    for (int k = 0; k < LANES; k++)
        sum += lane[k];
    for (j = visible < 0 ? 0 : visible; j < kn; j++)
        Sr[j] = 0.0f;
    *corr = expf(*m - mx);
    *m = mx;
    return sum;
}

CC_VECTOR_CLONES
static void scale_row(float *dst, const float *src, float a, int n)
{
#pragma omp simd
    for (int d = 0; d < n; d++)
        dst[d] = src[d] * a;
}
/* SwiGLU over a slab, vectorised like the softmax rows (libmvec's expf). */
CC_VECTOR_CLONES
static void swiglu_slab(float *out, const float *gate, const float *up, size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void cc_op_swiglu(float *out, const float *gate, const float *up, size_t n)
{
    enum { SLAB = 16384 };
    size_t n_slabs = (n + SLAB - 1) / SLAB;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t b = 0; b < n_slabs; b++) {
        size_t i = b * SLAB, m = n - i < SLAB ? n - i : SLAB;
        swiglu_slab(out + i, gate + i, up + i, m);
    }
}

static int tile_tokens(int q_rows, int group) { return q_rows >= group ? q_rows / group : 1; }

size_t cc_op_attention_scratch_floats(const cc_attn_shape *s, int q_rows, int k_tile)
{
    int group = s->n_heads / s->n_kv_heads;
    size_t rows = (size_t)tile_tokens(q_rows, group) * group, hd = s->head_dim;
    /* Q, O: rows x hd; S: rows x k_tile; K, V: k_tile x hd; m, l: rows */
    return 2 * rows * hd + rows * k_tile + 2 * (size_t)k_tile * hd + 2 * rows + 16;
}

int cc_attn_build_tiles(cc_attn_tile *tiles, const cc_seq *seqs, int n_seqs,
                        const int32_t *table_off, int tok_per_tile)
{
    int n = 0, tok = 0;
    for (int i = 0; i < n_seqs; i++) {
        for (int t = 0; t < seqs[i].n_new; t += tok_per_tile) {
            cc_attn_tile *w = &tiles[n++];
            w->tok0 = tok + t;
            w->n_tok = seqs[i].n_new - t < tok_per_tile ? seqs[i].n_new - t : tok_per_tile;
            w->pos0 = seqs[i].n_cached + t;
            w->table0 = table_off[i];
            w->batch_pos0 = seqs[i].n_cached;
        }
        tok += seqs[i].n_new;
    }
    return n;
}

/* One tile for one kv head g: the steps the CUDA kernel takes, with the two
 * products as sgemm calls. */
static void attention_tile(float *out, const float *q, const cc_attn_tile *t, int g,
                           const float *k_pool, const float *v_pool, const float *k_new,
                           const float *v_new, const int32_t *table, const cc_attn_shape *s,
                           int k_tile, int tok_per_tile, float *scratch)
{
    int kvd = s->n_kv_heads * s->head_dim;
    int nh = s->n_heads, hd = s->head_dim, group = nh / s->n_kv_heads;
    int rows_cap = tok_per_tile * group, nr = t->n_tok * group;
    float *Q = scratch, *O = Q + (size_t)rows_cap * hd, *S = O + (size_t)rows_cap * hd;
    float *K = S + (size_t)rows_cap * k_tile, *V = K + (size_t)k_tile * hd;
    float *m = V + (size_t)k_tile * hd, *l = m + rows_cap;
    float scale = 1.0f / sqrtf((float)hd);

    /* 1. load the tile's queries (row r = token r / group, head g*group + r % group), scaled */
    for (int r = 0; r < nr; r++) {
        const float *src = q + ((size_t)(t->tok0 + r / group) * nh + g * group + r % group) * hd;
        scale_row(Q + (size_t)r * hd, src, scale, hd);
        m[r] = -INFINITY;
        l[r] = 0.0f;
    }
    memset(O, 0, (size_t)nr * hd * sizeof(float));

    /* 2. key tiles from position 0 to the tile's last position */
    int last = t->pos0 + t->n_tok - 1;
    for (int kb = 0; kb <= last; kb += k_tile) {
        int kn = last + 1 - kb < k_tile ? last + 1 - kb : k_tile;
        /* a. the key tile: this forward's own rows where it has them (the
         * same values kv_scatter put in the pool), else gathered from its blocks */
        const float *Kt = K, *Vt = V;
        int ld = hd;
        if (k_new && kb >= t->batch_pos0) {
            size_t row = (size_t)(t->tok0 - t->pos0 + kb) * kvd + (size_t)g * hd;
            Kt = k_new + row, Vt = v_new + row, ld = kvd;
        } else {
            cc_op_kv_gather(K, V, k_pool, v_pool, table, kb, kn, g, s);
        }
        /* b. S = Q K^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, kn, hd, 1.0f, Q, hd, Kt, ld,
                    0.0f, S, k_tile);
        /* c. causal mask and online softmax, row by row */
        for (int r = 0; r < nr; r++) {
            float *Sr = S + (size_t)r * k_tile;
            int p = t->pos0 + r / group; /* this row's position: keys <= p are visible */
            int visible = p - kb + 1 < kn ? p - kb + 1 : kn;
            float corr;
            float sum = softmax_row(Sr, visible, kn, &m[r], &corr);
            l[r] = l[r] * corr + sum;
            /* d (first half). O = O * exp(m_old - m_new) */
            if (corr != 1.0f)
                scale_row(O + (size_t)r * hd, O + (size_t)r * hd, corr, hd);
        }
        /* d. O += P V */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, hd, kn, 1.0f, S, k_tile, Vt,
                    ld, 1.0f, O, hd);
    }
    /* 3. out = O / l */
    for (int r = 0; r < nr; r++) {
        float *dst = out + ((size_t)(t->tok0 + r / group) * nh + g * group + r % group) * hd;
        scale_row(dst, O + (size_t)r * hd, 1.0f / l[r], hd);
    }
}

void cc_cpu_attention_tiles(float *out, const float *q, const cc_attn_tile *tiles,
                            int n_tiles, const float *k_pool, const float *v_pool,
                            const float *k_new, const float *v_new,
                            const int32_t *tables, const cc_attn_shape *s, int q_rows,
                            int k_tile, float *scratch, int n_threads)
{
    int nkv = s->n_kv_heads, group = s->n_heads / nkv;
    int tpt = tile_tokens(q_rows, group);
    size_t per_thread = cc_op_attention_scratch_floats(s, q_rows, k_tile);
    int items = n_tiles * nkv;
    /* Later tiles of a sequence see more keys: hand them out first. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (int it = 0; it < items; it++) {
        int ti = n_tiles - 1 - it / nkv, g = it % nkv;
        attention_tile(out, q, &tiles[ti], g, k_pool, v_pool, k_new, v_new,
                       tables + tiles[ti].table0, s, k_tile, tpt,
                       scratch + (size_t)omp_get_thread_num() * per_thread);
    }
}

void cc_op_attention_paged(float *out, const float *q, int n, int pos0,
                           const float *k_pool, const float *v_pool,
                           const int32_t *block_table, const cc_attn_shape *s,
                           int q_rows, int k_tile, float *scratch, int n_threads)
{
    int group = s->n_heads / s->n_kv_heads, tpt = tile_tokens(q_rows, group);
    /* The work list of one sequence, built in chunks so that nothing is
     * allocated: tiles of at most 256 per call of the loop. */
    cc_attn_tile tiles[256];
    for (int done = 0; done < n;) {
        int nt = 0;
        while (nt < 256 && done < n) {
            cc_attn_tile *w = &tiles[nt++];
            w->tok0 = done;
            w->n_tok = n - done < tpt ? n - done : tpt;
            w->pos0 = pos0 + done;
            w->table0 = 0;
            w->batch_pos0 = INT32_MAX;
            done += w->n_tok;
        }
        cc_cpu_attention_tiles(out, q, tiles, nt, k_pool, v_pool, NULL, NULL, block_table, s,
                               q_rows, k_tile, scratch, n_threads);
    }
}
