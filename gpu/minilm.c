/*
 * minilm.c -- all-MiniLM-L6-v2 in C: the "minilm" embedder of core/embed.h,
 * its weights loader, tokenisation and the CPU reference of the encoder.
 *
 * What it computes (as sentence-transformers does with this model):
 *   ids    = [CLS] WordPiece(text) [SEP], truncated to max_tokens (256: the
 *            model's max_seq_length) by dropping word pieces at the end;
 *            the tokenizer.json of the model (BertNormalizer: lowercase and
 *            strip accents; BertPreTokenizer) through traces/ (cc_tokenize);
 *   x      = LayerNorm(word[id] + pos[position] + type[0])
 *   6 x    qkv = x Wqkv^T + b;  a = softmax(q k^T / sqrt(32)) v per head
 *          x = LayerNorm(x + a Wo^T + bo)
 *          x = LayerNorm(x + gelu(x W1^T + b1) W2^T + b2)   (gelu with erf)
 *   vector = mean of x over the sequence's tokens, divided by its L2 norm.
 * No padding: the sequences of a batch are packed one after another and
 * attention stays within each (what PyTorch's padding mask amounts to).
 *
 * Backends: the CPU path below (OpenBLAS sgemm held at one thread, the
 * output cut into slabs over `threads` OpenMP threads, as ops_cpu.c does);
 * CUDA in minilm.cu (cuBLAS + kernels named after the CPU twins here).
 *
 * Costs: weights 22.7 M floats (91 MB) in one arena.  A forward of T tokens
 * costs 2 x 6 x T x (4 h^2 + 2 h f) flops in the products (~21 Mflop per
 * token) plus 4 x 6 x h x sum(L_s^2) in attention (sgemm per sequence and
 * head).  Activations are sized once for MLM_CHUNK_TOKENS tokens (about
 * 30 MB, plus 0.26 MB of attention scratch per thread); a batch is cut into
 * groups of whole sequences that fit.  No allocation per call once the id
 * buffer has grown to the longest text seen.
 */
#include "minilm_impl.h"

#include "../traces/traces.h"

#include <cblas.h>
#include <errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cc_minilm_config_default(cc_minilm_config *c)
{
    c->n_layers = 6;
    c->hidden = CC_MINILM_DIM;
    c->n_heads = 12;
    c->ffn = 1536;
    c->vocab = 30522;
    c->max_pos = 512;
    c->max_tokens = CC_MINILM_MAX_TOKENS;
    c->ln_eps = 1e-12f;
}

const char *cc_minilm_default_dir(void)
{
    const char *d = getenv("CC_MINILM_DIR");
    return d && *d ? d : "build/models/minilm";
}

/* ---- weights ------------------------------------------------------------- */

static int config_check(const cc_minilm_config *c, cc_err *err)
{
    if (c->n_layers < 1 || c->hidden < 2 || c->n_heads < 1 || c->hidden % c->n_heads ||
        c->ffn < 1 || c->vocab < 1 || c->max_pos < 2 || c->max_tokens < 2 ||
        c->max_tokens > c->max_pos || c->max_tokens > MLM_CHUNK_TOKENS ||
        !(c->ln_eps > 0.0f))
        return cc_err_set(err, CC_EARG, NULL, 0, "config",
                          "expected layers, hidden, heads (dividing hidden), ffn, vocab >= 1, "
                          "2 <= max_tokens <= max_pos and max_tokens <= %d, ln_eps > 0",
                          MLM_CHUNK_TOKENS);
    return CC_OK;
}

static void weights_free(mlm_weights *w)
{
    free(w->data);
    free(w->layers);
    memset(w, 0, sizeof *w);
}

static int weights_alloc(mlm_weights *w, const cc_minilm_config *c, cc_err *err)
{
    memset(w, 0, sizeof *w);
    w->cfg = *c;
    size_t h = c->hidden, f = c->ffn;
    size_t per_layer = 3 * h * h + 3 * h + h * h + h + 2 * h + f * h + f + h * f + h + 2 * h;
    size_t n_floats = (size_t)c->vocab * h + (size_t)c->max_pos * h + 2 * h + 2 * h +
                  per_layer * c->n_layers;
    w->n_floats = n_floats;
    w->data = calloc(w->n_floats, sizeof(float));
    w->layers = calloc(c->n_layers, sizeof *w->layers);
    if (!w->data || !w->layers) {
        weights_free(w);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "weights", "cannot allocate %zu floats",
                          n_floats);
    }
    float *p = w->data;
#define TAKE(dst, n) (dst = p, p += (n))
    TAKE(w->word, (size_t)c->vocab * h);
    TAKE(w->pos, (size_t)c->max_pos * h);
    TAKE(w->type, 2 * h);
    TAKE(w->eln_w, h);
    TAKE(w->eln_b, h);
    for (int l = 0; l < c->n_layers; l++) {
        mlm_layer *L = &w->layers[l];
        TAKE(L->wqkv, 3 * h * h);
        TAKE(L->bqkv, 3 * h);
        TAKE(L->wo, h * h);
        TAKE(L->bo, h);
        TAKE(L->ln1_w, h);
        TAKE(L->ln1_b, h);
        TAKE(L->w1, f * h);
        TAKE(L->b1, f);
        TAKE(L->w2, h * f);
        TAKE(L->b2, h);
        TAKE(L->ln2_w, h);
        TAKE(L->ln2_b, h);
    }
#undef TAKE
    return CC_OK;
}

/* The tensors of a Hugging Face BertModel checkpoint (names as
 * sentence-transformers saves them, without a "bert." prefix). */
static int weights_load(mlm_weights *w, const char *path, cc_err *err)
{
    const cc_minilm_config *c = &w->cfg;
    int64_t h = c->hidden, f = c->ffn;
    int n_want = 6 + 16 * c->n_layers, n = 0;
    cc_tensor_want *want = calloc(n_want, sizeof *want);
    char(*names)[96] = calloc(n_want, sizeof *names);
    if (!want || !names) {
        free(want);
        free(names);
        return cc_err_set(err, CC_ENOMEM, path, 0, "", "out of memory");
    }
#define WANT(dst, d0, d1, ...)                                                               \
    do {                                                                                     \
        snprintf(names[n], sizeof names[n], __VA_ARGS__);                                   \
        want[n] = (cc_tensor_want){names[n], dst, (d1) ? 2 : 1, {d0, d1}};                  \
        n++;                                                                                 \
    } while (0)
    WANT(w->word, c->vocab, h, "embeddings.word_embeddings.weight");
    WANT(w->pos, c->max_pos, h, "embeddings.position_embeddings.weight");
    WANT(w->type, 2, h, "embeddings.token_type_embeddings.weight");
    WANT(w->eln_w, h, 0, "embeddings.LayerNorm.weight");
    WANT(w->eln_b, h, 0, "embeddings.LayerNorm.bias");
    for (int l = 0; l < c->n_layers; l++) {
        mlm_layer *L = &w->layers[l];
        const char *qkv[3] = {"query", "key", "value"};
        for (int k = 0; k < 3; k++) {
            WANT(L->wqkv + k * h * h, h, h, "encoder.layer.%d.attention.self.%s.weight", l,
                 qkv[k]);
            WANT(L->bqkv + k * h, h, 0, "encoder.layer.%d.attention.self.%s.bias", l, qkv[k]);
        }
        WANT(L->wo, h, h, "encoder.layer.%d.attention.output.dense.weight", l);
        WANT(L->bo, h, 0, "encoder.layer.%d.attention.output.dense.bias", l);
        WANT(L->ln1_w, h, 0, "encoder.layer.%d.attention.output.LayerNorm.weight", l);
        WANT(L->ln1_b, h, 0, "encoder.layer.%d.attention.output.LayerNorm.bias", l);
        WANT(L->w1, f, h, "encoder.layer.%d.intermediate.dense.weight", l);
        WANT(L->b1, f, 0, "encoder.layer.%d.intermediate.dense.bias", l);
        WANT(L->w2, h, f, "encoder.layer.%d.output.dense.weight", l);
        WANT(L->b2, h, 0, "encoder.layer.%d.output.dense.bias", l);
        WANT(L->ln2_w, h, 0, "encoder.layer.%d.output.LayerNorm.weight", l);
        WANT(L->ln2_b, h, 0, "encoder.layer.%d.output.LayerNorm.bias", l);
    }
#undef WANT
    int rc = cc_safetensors_load(path, want, n, err);
    free(want);
    free(names);
    return rc;
}

/* N(0, sd^2) by Box-Muller (gsl_randist.h would bring GSL's cblas
 * declarations, which clash with OpenBLAS's). */
static double gaussian(gsl_rng *r, double sd)
{
    double u = gsl_rng_uniform_pos(r), v = gsl_rng_uniform(r);
    return sd * sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static void weights_random(mlm_weights *w, uint64_t seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, (unsigned long)seed);
    for (size_t i = 0; i < w->n_floats; i++)
        w->data[i] = (float)gaussian(r, 0.05);
    int h = w->cfg.hidden;
    for (int g = 0; g < 1 + 2 * w->cfg.n_layers; g++) {
        float *gain = g == 0       ? w->eln_w
                      : g % 2 == 1 ? w->layers[(g - 1) / 2].ln1_w
                                   : w->layers[(g - 1) / 2].ln2_w;
        for (int j = 0; j < h; j++)
            gain[j] = 1.0f + (float)gaussian(r, 0.1);
    }
    gsl_rng_free(r);
}

/* ---- CPU twins of the kernels --------------------------------------------- */

static void layernorm_row(float *x, const float *w, const float *b, int dim, float eps)
{
    float mean = 0.0f, var = 0.0f;
    for (int d = 0; d < dim; d++)
        mean += x[d];
    mean /= dim;
    for (int d = 0; d < dim; d++)
        var += (x[d] - mean) * (x[d] - mean);
    float r = 1.0f / sqrtf(var / dim + eps);
    for (int d = 0; d < dim; d++)
        x[d] = (x[d] - mean) * r * w[d] + b[d];
}

void cc_mlm_op_embed(float *x, const int32_t *ids, const int32_t *pos, int T, const float *word,
                     const float *pos_emb, const float *type0, const float *ln_w,
                     const float *ln_b, int dim, float eps)
{
    for (int t = 0; t < T; t++) {
        float *xt = x + (size_t)t * dim;
        const float *a = word + (size_t)ids[t] * dim, *p = pos_emb + (size_t)pos[t] * dim;
        for (int d = 0; d < dim; d++)
            xt[d] = a[d] + p[d] + type0[d];
        layernorm_row(xt, ln_w, ln_b, dim, eps);
    }
}

void cc_mlm_op_add_layernorm(float *x, const float *y, const float *bias, const float *ln_w,
                             const float *ln_b, int T, int dim, float eps)
{
    for (int t = 0; t < T; t++) {
        float *xt = x + (size_t)t * dim;
        const float *yt = y + (size_t)t * dim;
        for (int d = 0; d < dim; d++)
            xt[d] += yt[d] + (bias ? bias[d] : 0.0f);
        layernorm_row(xt, ln_w, ln_b, dim, eps);
    }
}

void cc_mlm_op_bias_gelu(float *x, const float *b, int T, int dim)
{
    for (int t = 0; t < T; t++) {
        float *xt = x + (size_t)t * dim;
        for (int d = 0; d < dim; d++) {
            float v = xt[d] + b[d];
            xt[d] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
        }
    }
}

void cc_mlm_op_bias(float *x, const float *b, int T, int dim)
{
    for (int t = 0; t < T; t++)
        for (int d = 0; d < dim; d++)
            x[(size_t)t * dim + d] += b[d];
}

/* One (sequence, head) at a time per thread, in three steps over the
 * sequence's L tokens: S = Q K^T / sqrt(hd) (sgemm, L x L), per row the max,
 * P = exp(S - max) and its sum, then O = P V (sgemm) divided row by row by
 * the sum.  Each thread uses L^2 + L floats of scratch. */
size_t cc_mlm_attention_scratch_floats(int max_len)
{
    return (size_t)max_len * max_len + max_len;
}

void cc_mlm_op_attention(float *out, const float *qkv, const int32_t *seq_off, int n_seqs,
                         int n_heads, int head_dim, float *scratch, int max_len, int threads)
{
    int h = n_heads * head_dim, row = 3 * h;
    float scale = 1.0f / sqrtf((float)head_dim);
    int pairs = n_seqs * n_heads;
    size_t per_thread = cc_mlm_attention_scratch_floats(max_len);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads > 0 ? threads : 1)
    for (int sh = 0; sh < pairs; sh++) {
        int s = sh / n_heads, hd = sh % n_heads;
        int t0 = seq_off[s], L = seq_off[s + 1] - seq_off[s];
        float *S = scratch + (size_t)omp_get_thread_num() * per_thread, *sum = S + (size_t)L * L;
        const float *Q = qkv + (size_t)t0 * row + (size_t)hd * head_dim, *K = Q + h, *V = Q + 2 * h;
        float *O = out + (size_t)t0 * h + (size_t)hd * head_dim;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, head_dim, scale, Q, row, K,
                    row, 0.0f, S, L);
        for (int i = 0; i < L; i++) {
            float *r = S + (size_t)i * L, m = -INFINITY, z = 0.0f;
            for (int j = 0; j < L; j++)
                m = r[j] > m ? r[j] : m;
            for (int j = 0; j < L; j++) {
                r[j] = expf(r[j] - m);
                z += r[j];
            }
            sum[i] = z;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, head_dim, L, 1.0f, S, L, V,
                    row, 0.0f, O, h);
        for (int i = 0; i < L; i++)
            for (int d = 0; d < head_dim; d++)
                O[(size_t)i * h + d] /= sum[i];
    }
}

void cc_mlm_op_mean_pool_normalize(float *out, const float *x, const int32_t *seq_off,
                                   int n_seqs, int dim)
{
    for (int s = 0; s < n_seqs; s++) {
        float *o = out + (size_t)s * dim;
        int t0 = seq_off[s], L = seq_off[s + 1] - t0;
        for (int d = 0; d < dim; d++)
            o[d] = 0.0f;
        for (int t = 0; t < L; t++)
            for (int d = 0; d < dim; d++)
                o[d] += x[(size_t)(t0 + t) * dim + d];
        double ss = 0.0;
        for (int d = 0; d < dim; d++) {
            o[d] /= (float)(L > 0 ? L : 1);
            ss += (double)o[d] * o[d];
        }
        /* as torch.nn.functional.normalize: divide by max(norm, 1e-12) */
        float inv = 1.0f / (float)fmax(sqrt(ss), 1e-12);
        for (int d = 0; d < dim; d++)
            o[d] *= inv;
    }
}

/* ---- the CPU forward ----------------------------------------------------- */

typedef struct mlm_state {
    mlm_weights w;
    cc_tokenizer *tk; /* NULL for random weights */
    int32_t cls_id, sep_id;
    int threads;
    mlm_cuda *cuda; /* non-NULL: the CUDA backend */
    /* activations for MLM_CHUNK_TOKENS tokens */
    float *x, *qkv, *att, *tmp, *ffn;
    float *pooled; /* [MLM_CHUNK_TOKENS / 2][hidden]: a group's vectors */
    float *att_scratch; /* threads x cc_mlm_attention_scratch_floats(max_tokens) */
    int32_t *ids, *pos, *seq_off; /* [CHUNK], [CHUNK], [CHUNK + 1] */
    uint32_t *tok;                /* cc_tokenize's growing buffer */
    size_t tok_cap;
} mlm_state;

/* out[n][d_out] = x[n][d_in] W[d_out][d_in]^T, slabs of rows (many tokens) or
 * of output features (few) over `threads`, OpenBLAS at one thread each. */
static void linear(float *out, const float *x, const float *w, int n, int d_in, int d_out,
                   int threads)
{
    int nt = threads > 0 ? threads : 1;
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
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, nc, d_in, 1.0f,
                    x + (size_t)r0 * d_in, d_in, w + (size_t)c0 * d_in, d_in, 0.0f,
                    out + (size_t)r0 * d_out + c0, d_out);
    }
}

/* Rows [a, b) of a T-row op run as one slab per thread. */
#define SLABS(T, threads, body)                                                              \
    do {                                                                                     \
        int nt_ = (T) >= 64 && (threads) > 1 ? (threads) : 1;                               \
        int per_ = ((T) + nt_ - 1) / nt_;                                                    \
        _Pragma("omp parallel for schedule(static) num_threads(nt_)")                     \
        for (int k_ = 0; k_ < nt_; k_++) {                                                   \
            int a = k_ * per_, b = a + per_ < (T) ? a + per_ : (T);                          \
            if (a < b) {                                                                     \
                body;                                                                        \
            }                                                                                \
        }                                                                                    \
    } while (0)

static void cpu_forward(mlm_state *st, int n_seqs, int T, float *out)
{
    const mlm_weights *w = &st->w;
    const cc_minilm_config *c = &w->cfg;
    int h = c->hidden, f = c->ffn, nth = st->threads;
    float eps = c->ln_eps;
    int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    SLABS(T, nth,
          cc_mlm_op_embed(st->x + (size_t)a * h, st->ids + a, st->pos + a, b - a, w->word,
                          w->pos, w->type, w->eln_w, w->eln_b, h, eps));
    for (int l = 0; l < c->n_layers; l++) {
        const mlm_layer *L = &w->layers[l];
        linear(st->qkv, st->x, L->wqkv, T, h, 3 * h, nth);
        SLABS(T, nth, cc_mlm_op_bias(st->qkv + (size_t)a * 3 * h, L->bqkv, b - a, 3 * h));
        cc_mlm_op_attention(st->att, st->qkv, st->seq_off, n_seqs, c->n_heads,
                            h / c->n_heads, st->att_scratch, c->max_tokens, nth);
        linear(st->tmp, st->att, L->wo, T, h, h, nth);
        SLABS(T, nth,
              cc_mlm_op_add_layernorm(st->x + (size_t)a * h, st->tmp + (size_t)a * h, L->bo,
                                      L->ln1_w, L->ln1_b, b - a, h, eps));
        linear(st->ffn, st->x, L->w1, T, h, f, nth);
        SLABS(T, nth, cc_mlm_op_bias_gelu(st->ffn + (size_t)a * f, L->b1, b - a, f));
        linear(st->tmp, st->ffn, L->w2, T, f, h, nth);
        SLABS(T, nth,
              cc_mlm_op_add_layernorm(st->x + (size_t)a * h, st->tmp + (size_t)a * h, L->b2,
                                      L->ln2_w, L->ln2_b, b - a, h, eps));
    }
    cc_mlm_op_mean_pool_normalize(out, st->x, st->seq_off, n_seqs, h);
    openblas_set_num_threads(blas_threads);
}

/* Runs the packed group in st->ids / seq_off (n_seqs sequences, T tokens). */
static int forward_group(mlm_state *st, int n_seqs, int T, float *out, cc_err *err)
{
    for (int s = 0; s < n_seqs; s++)
        for (int t = st->seq_off[s]; t < st->seq_off[s + 1]; t++)
            st->pos[t] = t - st->seq_off[s];
    if (st->cuda)
        return cc_mlm_cuda_forward(st->cuda, &st->w, st->ids, st->pos, st->seq_off, n_seqs, T,
                                   out, err);
    cpu_forward(st, n_seqs, T, out);
    return CC_OK;
}

/* ---- the embedder table --------------------------------------------------- */

static int tokenize(mlm_state *st, const char *text, size_t len, int32_t *ids, int cap,
                    int *n_ids, cc_err *err)
{
    *n_ids = 0;
    if (!st->tk)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "tokenizer",
                          "this MiniLM has random weights and no tokenizer");
    if (len == 0)
        return CC_OK;
    size_t n = 0;
    int rc = cc_tokenize(st->tk, text, len, &st->tok, &n, &st->tok_cap);
    if (rc)
        return cc_err_set(err, rc, NULL, 0, "text", "cannot tokenize (%s)",
                          rc == CC_EFORMAT ? "invalid UTF-8" : "tokenizer error");
    int keep = st->w.cfg.max_tokens - 2;
    if (n < (size_t)keep)
        keep = (int)n;
    if (cap < keep + 2)
        return cc_err_set(err, CC_EARG, NULL, 0, "cap", "expected room for %d ids, have %d",
                          keep + 2, cap);
    ids[0] = st->cls_id;
    for (int i = 0; i < keep; i++) {
        if (st->tok[i] >= (uint32_t)st->w.cfg.vocab)
            return cc_err_set(err, CC_EFORMAT, NULL, 0, "tokenizer.json",
                              "token id %u beyond the model's vocabulary of %d", st->tok[i],
                              st->w.cfg.vocab);
        ids[1 + i] = (int32_t)st->tok[i];
    }
    ids[1 + keep] = st->sep_id;
    *n_ids = keep + 2;
    return CC_OK;
}

int cc_minilm_tokenize(cc_embedder *e, const char *text, size_t len, int32_t *ids, int cap,
                       int *n_ids, cc_err *err)
{
    return tokenize(e->state, text, len, ids, cap, n_ids, err);
}

int cc_minilm_embed_ids(cc_embedder *e, const int32_t *ids, const int *lens, int n_seqs,
                        float *out, cc_err *err)
{
    mlm_state *st = e->state;
    const cc_minilm_config *c = &st->w.cfg;
    int s = 0;
    const int32_t *p = ids;
    while (s < n_seqs) {
        int g = 0, T = 0;
        st->seq_off[0] = 0;
        while (s + g < n_seqs && T + lens[s + g] <= MLM_CHUNK_TOKENS) {
            int L = lens[s + g];
            if (L < 1 || L > c->max_tokens)
                return cc_err_set(err, CC_EARG, NULL, 0, "lens",
                                  "sequence %d: expected 1..%d ids, got %d", s + g,
                                  c->max_tokens, L);
            for (int i = 0; i < L; i++) {
                if (p[i] < 0 || p[i] >= c->vocab)
                    return cc_err_set(err, CC_EARG, NULL, 0, "ids",
                                      "sequence %d: id %d outside 0..%d", s + g, p[i],
                                      c->vocab - 1);
                st->ids[T + i] = p[i];
            }
            p += L;
            T += L;
            st->seq_off[++g] = T;
        }
        if (g == 0) /* lens[s] > MLM_CHUNK_TOKENS: caught by the check above */
            return cc_err_set(err, CC_EARG, NULL, 0, "lens", "sequence %d too long", s);
        int rc = forward_group(st, g, T, out + (size_t)s * c->hidden, err);
        if (rc)
            return rc;
        s += g;
    }
    return CC_OK;
}

/* Texts are tokenized into the chunk buffer group by group; empty texts get
 * a zero vector and take no place in the group. */
static int embed_texts(cc_embedder *e, const char *const *texts, const size_t *lens, size_t n,
                       float *out, cc_err *err)
{
    mlm_state *st = e->state;
    int h = st->w.cfg.hidden, maxt = st->w.cfg.max_tokens;
    float *group_out = st->pooled;
    int32_t members[MLM_CHUNK_TOKENS / 2];
    size_t i = 0;
    while (i < n) {
        int g = 0, T = 0;
        st->seq_off[0] = 0;
        while (i < n && T + maxt <= MLM_CHUNK_TOKENS) {
            int n_ids;
            int rc = tokenize(st, texts[i], lens[i], st->ids + T, MLM_CHUNK_TOKENS - T, &n_ids,
                              err);
            if (rc) {
                if (err)
                    err->line = (long)i + 1; /* which text */
                return rc;
            }
            if (n_ids == 0) {
                memset(out + i * h, 0, (size_t)h * sizeof(float));
            } else {
                members[g] = (int32_t)i;
                T += n_ids;
                st->seq_off[++g] = T;
            }
            i++;
        }
        if (g == 0)
            continue;
        int rc = forward_group(st, g, T, group_out, err);
        if (rc)
            return rc;
        for (int k = 0; k < g; k++)
            memcpy(out + (size_t)members[k] * h, group_out + (size_t)k * h,
                   (size_t)h * sizeof(float));
    }
    return CC_OK;
}

static int embed_random(cc_embedder *e, const char *const *texts, const size_t *lens, size_t n,
                        float *out, cc_err *err)
{
    (void)e, (void)texts, (void)lens, (void)n, (void)out;
    return cc_err_set(err, CC_EUNSUP, NULL, 0, "tokenizer",
                      "this MiniLM has random weights and no tokenizer");
}

static void state_free(mlm_state *st)
{
    if (!st)
        return;
    if (st->cuda)
        cc_mlm_cuda_free(st->cuda);
    cc_tokenizer_free(st->tk);
    weights_free(&st->w);
    free(st->x);
    free(st->qkv);
    free(st->att);
    free(st->tmp);
    free(st->ffn);
    free(st->pooled);
    free(st->att_scratch);
    free(st->ids);
    free(st->pos);
    free(st->seq_off);
    free(st->tok);
    free(st);
}

static void destroy(cc_embedder *e)
{
    state_free(e->state);
    free(e);
}

/* Allocates the activations, starts CUDA when asked, wraps the table. */
static int finish(mlm_state *st, int use_cuda, int with_tokenizer, cc_embedder **out,
                  cc_err *err)
{
    const cc_minilm_config *c = &st->w.cfg;
    size_t T = MLM_CHUNK_TOKENS, h = c->hidden;
    st->x = malloc(T * h * sizeof(float));
    st->qkv = malloc(T * 3 * h * sizeof(float));
    st->att = malloc(T * h * sizeof(float));
    st->tmp = malloc(T * h * sizeof(float));
    st->ffn = malloc(T * (size_t)c->ffn * sizeof(float));
    st->pooled = malloc(T / 2 * h * sizeof(float));
    st->att_scratch = malloc(st->threads * cc_mlm_attention_scratch_floats(c->max_tokens) *
                             sizeof(float));
    st->ids = malloc(T * sizeof(int32_t));
    st->pos = malloc(T * sizeof(int32_t));
    st->seq_off = malloc((T + 1) * sizeof(int32_t));
    cc_embedder *e = calloc(1, sizeof *e);
    if (!st->x || !st->qkv || !st->att || !st->tmp || !st->ffn || !st->pooled || !st->att_scratch || !st->ids || !st->pos ||
        !st->seq_off || !e) {
        free(e);
        state_free(st);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "", "cannot allocate MiniLM activations");
    }
    if (use_cuda) {
        int rc = cc_mlm_cuda_init(&st->cuda, &st->w, err);
        if (rc) {
            free(e);
            state_free(st);
            return rc;
        }
    }
    e->name = "minilm";
    e->dim = c->hidden;
    e->embed = with_tokenizer ? embed_texts : embed_random;
    e->destroy = destroy;
    e->state = st;
    *out = e;
    return CC_OK;
}

/* The id of a special token: its text must encode to exactly one id. */
static int special_id(mlm_state *st, const char *tok, const char *path, int32_t *id, cc_err *err)
{
    size_t n = 0;
    int rc = cc_tokenize(st->tk, tok, strlen(tok), &st->tok, &n, &st->tok_cap);
    if (rc || n != 1)
        return cc_err_set(err, CC_EFORMAT, path, 0, tok,
                          "expected %s as one added token of the vocabulary", tok);
    *id = (int32_t)st->tok[0];
    return CC_OK;
}

int cc_minilm_embedder_new(const char *model_dir, int use_cuda, int threads,
                           cc_embedder **out, cc_err *err)
{
    *out = NULL;
    const char *dir = model_dir ? model_dir : cc_minilm_default_dir();
    char wpath[4096], tpath[4096], beside_exe[4096];
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    if (!model_dir && !getenv("CC_MINILM_DIR") && access(wpath, R_OK) != 0) {
        /* run from elsewhere: models/minilm beside the binary (build/ctxcache) */
        ssize_t n = readlink("/proc/self/exe", beside_exe, sizeof beside_exe - 32);
        char *slash = n > 0 ? memrchr(beside_exe, '/', (size_t)n) : NULL;
        if (slash) {
            snprintf(slash, beside_exe + sizeof beside_exe - slash, "/models/minilm");
            snprintf(wpath, sizeof wpath, "%s/model.safetensors", beside_exe);
            if (access(wpath, R_OK) == 0)
                dir = beside_exe;
        }
    }
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    snprintf(tpath, sizeof tpath, "%s/tokenizer.json", dir);
    struct stat sb;
    if (stat(wpath, &sb) != 0 || stat(tpath, &sb) != 0)
        return cc_err_set(err, CC_EIO, stat(wpath, &sb) != 0 ? wpath : tpath, 0, "",
                          "MiniLM weights absent (run `make minilm`, or set CC_MINILM_DIR)");
    mlm_state *st = calloc(1, sizeof *st);
    if (!st)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "", "out of memory");
    st->threads = threads > 0 ? threads : 1;
    cc_minilm_config c;
    cc_minilm_config_default(&c);
    int rc;
    if ((rc = weights_alloc(&st->w, &c, err)) || (rc = weights_load(&st->w, wpath, err)) ||
        (rc = cc_tokenizer_load_hf(tpath, &st->tk, err)) ||
        (rc = special_id(st, "[CLS]", tpath, &st->cls_id, err)) ||
        (rc = special_id(st, "[SEP]", tpath, &st->sep_id, err))) {
        state_free(st);
        return rc;
    }
    if (cc_tokenizer_vocab_size(st->tk) > (uint32_t)c.vocab) {
        state_free(st);
        return cc_err_set(err, CC_EFORMAT, tpath, 0, "model.vocab",
                          "expected at most %d tokens (the model's vocabulary), found %u",
                          c.vocab, cc_tokenizer_vocab_size(st->tk));
    }
    return finish(st, use_cuda, 1, out, err);
}

int cc_minilm_embedder_random(const cc_minilm_config *cfg, uint64_t seed, int use_cuda,
                              int threads, cc_embedder **out, cc_err *err)
{
    *out = NULL;
    int rc = config_check(cfg, err);
    if (rc)
        return rc;
    if (cfg->hidden / cfg->n_heads > CC_MAX_HEAD_DIM)
        return cc_err_set(err, CC_EARG, NULL, 0, "config",
                          "head dim above %d", CC_MAX_HEAD_DIM);
    mlm_state *st = calloc(1, sizeof *st);
    if (!st)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "", "out of memory");
    st->threads = threads > 0 ? threads : 1;
    if ((rc = weights_alloc(&st->w, cfg, err))) {
        state_free(st);
        return rc;
    }
    weights_random(&st->w, seed);
    return finish(st, use_cuda, 0, out, err);
}
