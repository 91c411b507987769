/* test_engine.c -- the CPU reference engine (gpu/): each op against a naive
 * twin written here (no BLAS, double accumulation), the whole forward
 * against a naive dense transformer in double, prefix reuse (logits and KV
 * of a prefill over cached blocks equal a full prefill, max abs diff <= 1e-4,
 * for several block sizes and split points including splits inside a block),
 * decode after prefill, batching, chunking, KV offload to host and to a file
 * (byte-identical), the safetensors loader (a file written here, F32, F16,
 * BF16, sharded; a table of bad inputs), and argument errors.
 *
 * Expected values come from the naive twins, from published parameter counts
 * (Hugging Face model cards) and from hand-computed bit patterns. */
#include "testutil.h"
#include "gpu/gpu.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>

/* ---- helpers ---------------------------------------------------------------- */
static gsl_rng *rng_new(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    return r;
}

static void tiny_weights(cc_weights *w, int block_size, unsigned long seed)
{
    cc_model_config c;
    cc_err err = {0};
    assert_int_equal(cc_model_preset("tiny", &c, &err), CC_OK);
    c.block_size = block_size;
    gsl_rng *r = rng_new(seed);
    assert_int_equal(cc_weights_random(w, &c, r, &err), CC_OK);
    gsl_rng_free(r);
}

static cc_engine *make_engine(const cc_weights *w, int n_slots, int max_batch, int max_seqs,
                              int q_rows, int k_tile)
{
    cc_engine_opts o;
    cc_engine_opts_default(&o);
    o.n_slots = n_slots;
    o.max_batch_tokens = max_batch;
    o.max_seqs = max_seqs;
    o.max_context = 512;
    o.attn_q_rows = q_rows;
    o.attn_k_tile = k_tile;
    cc_engine *e = NULL;
    cc_err err = {0};
    int rc = cc_engine_create(w, &o, &e, &err);
    if (rc)
        cc_err_print(&err, stderr);
    assert_int_equal(rc, CC_OK);
    return e;
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void random_tokens(int32_t *t, int n, int vocab, gsl_rng *r)
{
    for (int i = 0; i < n; i++)
        t[i] = (int32_t)gsl_rng_uniform_int(r, vocab);
}

static void random_floats(float *x, size_t n, gsl_rng *r)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)gsl_ran_gaussian(r, 1.0);
}

/* A block table of distinct slots in shuffled order. */
static void shuffled_table(int32_t *table, int n_blocks, int n_slots, gsl_rng *r)
{
    int32_t all[1024];
    assert_true(n_slots <= 1024);
    for (int i = 0; i < n_slots; i++)
        all[i] = i;
    gsl_ran_shuffle(r, all, n_slots, sizeof(int32_t));
    memcpy(table, all, n_blocks * sizeof(int32_t));
}

static double max_abs_diff_f(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) /* NaN counts as infinitely wrong */
            m = d != d ? INFINITY : d;
    }
    return m;
}

static double max_abs_diff_fd(const float *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m))
            m = d != d ? INFINITY : d;
    }
    return m;
}

/* K and V of positions 0..n-1 of every layer, read through block_table:
 * out[l][kv][pos][nkv*hd]. */
static float *extract_kv(cc_engine *e, const int32_t *table, int n)
{
    const cc_model_config *c = cc_engine_config(e);
    int bs = c->block_size, row = c->n_kv_heads * c->head_dim;
    float *out = calloc((size_t)c->n_layers * 2 * n * row, sizeof(float));
    float *blk = malloc(cc_engine_block_bytes(e));
    cc_err err = {0};
    for (int b = 0; b * bs < n; b++) {
        assert_int_equal(cc_engine_kv_to_host(e, table[b], blk, &err), CC_OK);
        for (int l = 0; l < c->n_layers; l++)
            for (int kv = 0; kv < 2; kv++)
                for (int r = 0; r < bs && b * bs + r < n; r++)
                    memcpy(out + (((size_t)l * 2 + kv) * n + b * bs + r) * row,
                           blk + (((size_t)l * 2 + kv) * bs + r) * row, row * sizeof(float));
    }
    free(blk);
    return out;
}

/* ---- naive twins (double, no BLAS) ------------------------------------------- */
static void naive_rmsnorm(double *out, const double *x, const float *w, int dim, double eps)
{
    double ss = 0;
    for (int d = 0; d < dim; d++)
        ss += x[d] * x[d];
    double r = 1.0 / sqrt(ss / dim + eps);
    for (int d = 0; d < dim; d++)
        out[d] = x[d] * r * w[d];
}

static void naive_linear(double *out, const double *x, const float *w, const float *b, int d_in,
                         int d_out)
{
    for (int o = 0; o < d_out; o++) {
        double s = b ? b[o] : 0.0;
        for (int i = 0; i < d_in; i++)
            s += (double)w[(size_t)o * d_in + i] * x[i];
        out[o] = s;
    }
}

/* Rotation of the pair (x[d], x[d + hd/2]) as the complex number
 * (x[d] + i x[d + hd/2]) e^{i pos theta^(-2d/hd)}. */
static void naive_rope(double *x, int pos, int n_heads, int hd, double theta)
{
    for (int h = 0; h < n_heads; h++)
        for (int d = 0; d < hd / 2; d++) {
            double ang = pos * exp(-2.0 * d / hd * log(theta));
            double complex_re = x[h * hd + d], complex_im = x[h * hd + d + hd / 2];
            x[h * hd + d] = complex_re * cos(ang) - complex_im * sin(ang);
            x[h * hd + d + hd / 2] = complex_re * sin(ang) + complex_im * cos(ang);
        }
}

/* softmax(q k^T / sqrt(hd)) v for one query head over keys 0..n_keys-1. */
static void naive_attend(double *out, const double *q, const double *K, const double *V,
                         int n_keys, int stride, int hd)
{
    double *s = malloc(n_keys * sizeof(double)), mx = -INFINITY, sum = 0;
    for (int j = 0; j < n_keys; j++) {
        double d = 0;
        for (int c = 0; c < hd; c++)
            d += q[c] * K[(size_t)j * stride + c];
        s[j] = d / sqrt((double)hd);
        mx = s[j] > mx ? s[j] : mx;
    }
    for (int j = 0; j < n_keys; j++)
        sum += (s[j] = exp(s[j] - mx));
    for (int c = 0; c < hd; c++) {
        double o = 0;
        for (int j = 0; j < n_keys; j++)
            o += s[j] * V[(size_t)j * stride + c];
        out[c] = o / sum;
    }
    free(s);
}

/* The whole model, dense, in double: logits[n][vocab] and, when kv_out is
 * given, K/V as out[l][kv][pos][nkv*hd]. */
static void naive_forward(const cc_weights *w, const int32_t *tok, int n, double *logits,
                          double *kv_out)
{
    const cc_model_config *c = &w->cfg;
    int h = c->hidden, nh = c->n_heads, nkv = c->n_kv_heads, hd = c->head_dim, f = c->ffn;
    int group = nh / nkv, row = nkv * hd;
    double *X = malloc((size_t)n * h * sizeof(double)), *xn = malloc(h * sizeof(double));
    double *Q = malloc((size_t)n * nh * hd * sizeof(double));
    double *K = malloc((size_t)n * row * sizeof(double)), *V = malloc((size_t)n * row * sizeof(double));
    double *att = malloc(nh * hd * sizeof(double)), *tmp = malloc((h > f ? h : f) * sizeof(double));
    double *g = malloc(f * sizeof(double)), *u = malloc(f * sizeof(double));
    for (int i = 0; i < n; i++)
        for (int d = 0; d < h; d++)
            X[(size_t)i * h + d] = w->embed[(size_t)tok[i] * h + d];
    for (int l = 0; l < c->n_layers; l++) {
        const cc_layer_weights *L = &w->layers[l];
        for (int i = 0; i < n; i++) {
            naive_rmsnorm(xn, X + (size_t)i * h, L->attn_norm, h, c->norm_eps);
            naive_linear(Q + (size_t)i * nh * hd, xn, L->wq, L->bq, h, nh * hd);
            naive_linear(K + (size_t)i * row, xn, L->wk, L->bk, h, row);
            naive_linear(V + (size_t)i * row, xn, L->wv, L->bv, h, row);
            naive_rope(Q + (size_t)i * nh * hd, i, nh, hd, c->rope_theta);
            naive_rope(K + (size_t)i * row, i, nkv, hd, c->rope_theta);
        }
        if (kv_out) {
            memcpy(kv_out + ((size_t)l * 2 + 0) * n * row, K, (size_t)n * row * sizeof(double));
            memcpy(kv_out + ((size_t)l * 2 + 1) * n * row, V, (size_t)n * row * sizeof(double));
        }
        for (int i = 0; i < n; i++) {
            for (int hh = 0; hh < nh; hh++)
                naive_attend(att + hh * hd, Q + ((size_t)i * nh + hh) * hd, K + (hh / group) * hd,
                             V + (hh / group) * hd, i + 1, row, hd);
            naive_linear(tmp, att, L->wo, NULL, nh * hd, h);
            for (int d = 0; d < h; d++)
                X[(size_t)i * h + d] += tmp[d];
            naive_rmsnorm(xn, X + (size_t)i * h, L->mlp_norm, h, c->norm_eps);
            naive_linear(g, xn, L->w_gate, NULL, h, f);
            naive_linear(u, xn, L->w_up, NULL, h, f);
            for (int j = 0; j < f; j++)
                g[j] = g[j] / (1.0 + exp(-g[j])) * u[j];
            naive_linear(tmp, g, L->w_down, NULL, f, h);
            for (int d = 0; d < h; d++)
                X[(size_t)i * h + d] += tmp[d];
        }
    }
    for (int i = 0; i < n; i++) {
        naive_rmsnorm(xn, X + (size_t)i * h, w->final_norm, h, c->norm_eps);
        naive_linear(logits + (size_t)i * c->vocab, xn, w->lm_head, NULL, h, c->vocab);
    }
    free(X), free(xn), free(Q), free(K), free(V), free(att), free(tmp), free(g), free(u);
}

/* ---- shapes and conversions ---------------------------------------------------- */
static void test_presets(void **state)
{
    (void)state;
    cc_model_config c;
    cc_err err = {0};
    /* Published totals (Hugging Face model cards / safetensors metadata). */
    struct { const char *name; size_t params; } want[] = {
        {"llama-3-8b", 8030261248u}, {"llama-3-70b", 70553706496u}, {"qwen2.5-7b", 7615616512u}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(cc_model_preset(want[i].name, &c, &err), CC_OK);
        assert_int_equal(cc_model_validate(&c, &err), CC_OK);
        assert_true(cc_model_params(&c) == want[i].params);
    }
    for (const char *const *n = cc_model_preset_names(); *n; n++) {
        assert_int_equal(cc_model_preset(*n, &c, &err), CC_OK);
        assert_int_equal(cc_model_validate(&c, &err), CC_OK);
    }
    assert_int_equal(cc_model_preset("small", &c, &err), CC_OK);
    size_t p = cc_model_params(&c);
    assert_true(p >= 100000000u && p <= 300000000u);
    assert_int_equal(cc_model_preset("gpt-5", &c, &err), CC_EARG);
    assert_string_equal(err.field, "model");
    /* flops: tiny, 3 new after 2 cached, 1 logit row, by hand:
     * linear MACs per token per layer = 64*64 + 2*64*32 + 64*64 + 3*64*128 = 36864;
     * keys = 3*2 + 3*4/2 = 12; attention MACs = 2 * 64 * 12 = 1536 per layer;
     * logits 64*256 = 16384 MACs. */
    assert_int_equal(cc_model_preset("tiny", &c, &err), CC_OK);
    double fl = cc_model_forward_flops(&c, 3, 2, 1);
    assert_true(fabs(fl - 2.0 * (2 * (36864.0 * 3 + 1536) + 16384)) < 1e-6);
}

static void test_config_errors(void **state)
{
    (void)state;
    cc_model_config c;
    cc_err err = {0};
    cc_model_preset("tiny", &c, &err);
    c.n_kv_heads = 3;
    assert_int_equal(cc_model_validate(&c, &err), CC_EARG);
    assert_string_equal(err.field, "n_kv_heads");
    cc_model_preset("tiny", &c, &err);
    c.head_dim = 15;
    assert_int_equal(cc_model_validate(&c, &err), CC_EARG);
    assert_string_equal(err.field, "head_dim");
    cc_model_preset("tiny", &c, &err);
    c.n_layers = 0;
    assert_int_equal(cc_model_validate(&c, &err), CC_EARG);
    assert_string_equal(err.field, "n_layers");
    cc_model_preset("tiny", &c, &err);
    c.rope_theta = 0;
    assert_int_equal(cc_model_validate(&c, &err), CC_EARG);
    assert_string_equal(err.field, "rope_theta");
    cc_model_preset("tiny", &c, &err);
    c.block_size = -4;
    assert_int_equal(cc_model_validate(&c, &err), CC_EARG);
    assert_string_equal(err.field, "block_size");
}

static void test_dtype_bits(void **state)
{
    (void)state;
    /* Hand-known bit patterns. */
    assert_int_equal(cc_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(cc_f32_to_f16(-2.0f), 0xc000);
    assert_int_equal(cc_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(cc_f32_to_f16(65520.0f), 0x7c00);    /* rounds to inf */
    assert_int_equal(cc_f32_to_f16(0x1p-24f), 0x0001);    /* smallest subnormal */
    assert_int_equal(cc_f32_to_f16(1.0f + 0x1p-11f), 0x3c00); /* tie -> even */
    assert_int_equal(cc_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
    assert_int_equal(cc_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(cc_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80); /* tie -> even */
    assert_int_equal(cc_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
    assert_true(cc_bf16_to_f32(0x4049) == 3.140625f);
    assert_true(cc_f16_to_f32(0x0001) == 0x1p-24f);
    assert_true(cc_f16_to_f32(0x7c00) == INFINITY);
    assert_true(isnan(cc_f16_to_f32(cc_f32_to_f16(NAN))));
    assert_true(isnan(cc_bf16_to_f32(cc_f32_to_bf16(NAN))));
    /* Against the compiler's own half conversion over many values. */
    gsl_rng *r = rng_new(5);
    for (int i = 0; i < 100000; i++) {
        float x = (float)(gsl_ran_gaussian(r, 1.0) * pow(2.0, gsl_rng_uniform_int(r, 40) - 25.0));
        _Float16 hf = (_Float16)x;
        uint16_t hb;
        memcpy(&hb, &hf, 2);
        assert_int_equal(cc_f32_to_f16(x), hb);
        assert_true(cc_f16_to_f32(hb) == (float)hf);
    }
    gsl_rng_free(r);
}

/* ---- ops against naive twins ---------------------------------------------------- */
static void test_ops_elementwise(void **state)
{
    (void)state;
    gsl_rng *r = rng_new(11);
    int n = 37, dim = 48, vocab = 50;
    float *x = malloc(n * dim * sizeof(float)), *o = malloc(n * dim * sizeof(float));
    float *w = malloc(dim * sizeof(float)), *table = malloc(vocab * dim * sizeof(float));
    double *ref = malloc(n * dim * sizeof(double)), *xd = malloc(dim * sizeof(double));
    random_floats(x, n * dim, r);
    random_floats(w, dim, r);
    random_floats(table, vocab * dim, r);
    double worst = 0;

    cc_op_rmsnorm(o, x, w, n, dim, 1e-5f);
    for (int i = 0; i < n; i++) {
        for (int d = 0; d < dim; d++)
            xd[d] = x[i * dim + d];
        naive_rmsnorm(ref + i * dim, xd, w, dim, 1e-5);
    }
    double dn = max_abs_diff_fd(o, ref, n * dim);
    assert_true(dn < 1e-5);
    worst = dn > worst ? dn : worst;
    cc_op_rmsnorm(x, x, w, n, dim, 1e-5f); /* in place */
    assert_true(max_abs_diff_f(x, o, n * dim) == 0);

    int32_t tok[37];
    random_tokens(tok, n, vocab, r);
    cc_op_embed(o, tok, n, table, dim);
    for (int i = 0; i < n; i++)
        assert_memory_equal(o + i * dim, table + tok[i] * dim, dim * sizeof(float));

    /* rope: positions far apart, 4 heads of 12 */
    int32_t pos[37];
    for (int i = 0; i < n; i++)
        pos[i] = (int32_t)gsl_rng_uniform_int(r, 100000);
    random_floats(x, n * dim, r);
    for (int i = 0; i < n * dim; i++)
        ref[i] = x[i];
    cc_op_rope(x, pos, n, 4, 12, 500000.0);
    for (int i = 0; i < n; i++)
        naive_rope(ref + i * dim, pos[i], 4, 12, 500000.0);
    double dr = max_abs_diff_fd(x, ref, n * dim);
    assert_true(dr < 1e-5);
    worst = dr > worst ? dr : worst;

    /* swiglu */
    float *up = malloc(n * dim * sizeof(float));
    random_floats(x, n * dim, r);
    random_floats(up, n * dim, r);
    cc_op_swiglu(o, x, up, (size_t)n * dim);
    for (int i = 0; i < n * dim; i++)
        ref[i] = x[i] / (1.0 + exp(-(double)x[i])) * up[i];
    double ds = max_abs_diff_fd(o, ref, n * dim);
    assert_true(ds < 1e-5);
    worst = ds > worst ? ds : worst;
    printf("ops: rmsnorm %.2e, rope %.2e, swiglu %.2e max abs diff vs double twins\n", dn, dr, ds);
    free(x), free(o), free(w), free(table), free(ref), free(xd), free(up);
    gsl_rng_free(r);
}

static void test_op_matmul(void **state)
{
    (void)state;
    gsl_rng *r = rng_new(12);
    /* Row split (many tokens), column split (few tokens), bias, accumulate. */
    int shapes[][3] = {{200, 33, 70}, {3, 64, 300}, {1, 17, 5}, {129, 128, 1}};
    double worst = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int n = shapes[s][0], di = shapes[s][1], dout = shapes[s][2];
        float *x = malloc((size_t)n * di * 4), *w = malloc((size_t)dout * di * 4);
        float *b = malloc(dout * 4), *o = malloc((size_t)n * dout * 4);
        double *ref = malloc((size_t)n * dout * 8), *xd = malloc(di * 8);
        random_floats(x, (size_t)n * di, r);
        random_floats(w, (size_t)dout * di, r);
        random_floats(b, dout, r);
        random_floats(o, (size_t)n * dout, r);
        for (int acc = 0; acc < 2; acc++)
            for (int use_b = 0; use_b < 2; use_b++) {
                for (int i = 0; i < n; i++) {
                    for (int k = 0; k < di; k++)
                        xd[k] = x[i * di + k];
                    naive_linear(ref + (size_t)i * dout, xd, w, use_b ? b : NULL, di, dout);
                    if (acc)
                        for (int j = 0; j < dout; j++)
                            ref[(size_t)i * dout + j] += o[(size_t)i * dout + j];
                }
                cc_op_matmul(o, x, w, use_b ? b : NULL, n, di, dout, acc);
                double d = max_abs_diff_fd(o, ref, (size_t)n * dout);
                assert_true(d < 1e-4);
                worst = d > worst ? d : worst;
            }
        free(x), free(w), free(b), free(o), free(ref), free(xd);
    }
    printf("ops: matmul %.2e max abs diff vs double twin\n", worst);
    gsl_rng_free(r);
}

/* Paged attention of n new queries after pos0 cached keys against the naive
 * dense twin, for several block sizes, tiles and GQA groups. */
static void test_op_attention(void **state)
{
    (void)state;
    gsl_rng *r = rng_new(13);
    struct { int nh, nkv, hd, bs, pos0, n; } cases[] = {
        {4, 2, 16, 4, 0, 30},  {4, 2, 16, 4, 9, 21},  {6, 2, 8, 1, 5, 11},
        {8, 1, 32, 16, 40, 3}, {3, 3, 16, 7, 0, 50},  {4, 4, 16, 5, 63, 1},
        {8, 2, 64, 16, 100, 40}};
    int tiles[][2] = {{64, 64}, {1, 1}, {8, 3}, {5, 16}, {12, 7}};
    double worst = 0;
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        cc_attn_shape s = {cases[ci].nh, cases[ci].nkv, cases[ci].hd, cases[ci].bs};
        int len = cases[ci].pos0 + cases[ci].n, n = cases[ci].n, row = s.n_kv_heads * s.head_dim;
        int n_blocks = (len + s.block_size - 1) / s.block_size, n_slots = n_blocks + 7;
        int32_t table[256];
        shuffled_table(table, n_blocks, n_slots, r);
        float *kp = calloc((size_t)n_slots * s.block_size * row, 4);
        float *vp = calloc((size_t)n_slots * s.block_size * row, 4);
        float *k = malloc((size_t)len * row * 4), *v = malloc((size_t)len * row * 4);
        float *q = malloc((size_t)n * s.n_heads * s.head_dim * 4);
        float *out = malloc((size_t)n * s.n_heads * s.head_dim * 4);
        random_floats(k, (size_t)len * row, r);
        random_floats(v, (size_t)len * row, r);
        random_floats(q, (size_t)n * s.n_heads * s.head_dim, r);
        int32_t rows[512];
        cc_kv_pool_rows(rows, table, 0, len, s.block_size);
        for (int p = 0; p < len; p++) /* independent check of the row formula */
            assert_int_equal(rows[p], table[p / s.block_size] * s.block_size + p % s.block_size);
        cc_op_kv_scatter(kp, vp, k, v, rows, len, &s);
        /* gather of every kv head back: exact */
        float *gk = malloc((size_t)len * s.head_dim * 4), *gv = malloc((size_t)len * s.head_dim * 4);
        for (int g = 0; g < s.n_kv_heads; g++) {
            cc_op_kv_gather(gk, gv, kp, vp, table, 0, len, g, &s);
            for (int p = 0; p < len; p++) {
                assert_memory_equal(gk + p * s.head_dim, k + p * row + g * s.head_dim, s.head_dim * 4);
                assert_memory_equal(gv + p * s.head_dim, v + p * row + g * s.head_dim, s.head_dim * 4);
            }
        }
        /* the naive twin over dense K/V */
        int group = s.n_heads / s.n_kv_heads, hd = s.head_dim;
        double *ref = malloc((size_t)n * s.n_heads * hd * 8), *qd = malloc(hd * 8);
        double *kd = malloc((size_t)len * row * 8), *vd = malloc((size_t)len * row * 8);
        for (size_t i = 0; i < (size_t)len * row; i++)
            kd[i] = k[i], vd[i] = v[i];
        for (int i = 0; i < n; i++)
            for (int hh = 0; hh < s.n_heads; hh++) {
                for (int d = 0; d < hd; d++)
                    qd[d] = q[((size_t)i * s.n_heads + hh) * hd + d];
                naive_attend(ref + ((size_t)i * s.n_heads + hh) * hd, qd, kd + (hh / group) * hd,
                             vd + (hh / group) * hd, cases[ci].pos0 + i + 1, row, hd);
            }
        for (size_t ti = 0; ti < sizeof tiles / sizeof tiles[0]; ti++) {
            size_t sf = cc_op_attention_scratch_floats(&s, tiles[ti][0], tiles[ti][1]);
            float *scratch = malloc(2 * sf * 4);
            memset(out, 0xff, (size_t)n * s.n_heads * hd * 4); /* NaN: every output is written */
            cc_op_attention_paged(out, q, n, cases[ci].pos0, kp, vp, table, &s, tiles[ti][0],
                                  tiles[ti][1], scratch, 2);
            double d = max_abs_diff_fd(out, ref, (size_t)n * s.n_heads * hd);
            if (d >= 1e-5)
                fail_msg("attention case %zu tile %d/%d: max abs diff %g", ci, tiles[ti][0],
                         tiles[ti][1], d);
            worst = d > worst ? d : worst;
            free(scratch);
        }
        free(kp), free(vp), free(k), free(v), free(q), free(out), free(gk), free(gv);
        free(ref), free(qd), free(kd), free(vd);
    }
    printf("ops: paged attention %.2e max abs diff vs naive O(n^2) twin (7 shapes x 5 tiles)\n",
           worst);
    gsl_rng_free(r);
}

/* ---- the engine --------------------------------------------------------------- */
static void test_forward_vs_naive(void **state)
{
    (void)state;
    cc_weights w;
    tiny_weights(&w, 4, 21);
    gsl_rng *r = rng_new(22);
    int n = 45, V = w.cfg.vocab;
    int32_t tok[45], table[64];
    random_tokens(tok, n, V, r);
    shuffled_table(table, (n + 3) / 4, 40, r);
    double *ref = malloc((size_t)n * V * 8), *kvref;
    int row = w.cfg.n_kv_heads * w.cfg.head_dim;
    kvref = malloc((size_t)w.cfg.n_layers * 2 * n * row * 8);
    naive_forward(&w, tok, n, ref, kvref);
    float *lg = malloc((size_t)n * V * 4);
    cc_engine *e = make_engine(&w, 40, 64, 4, 0, 0);
    cc_err err = {0};
    assert_int_equal(cc_engine_prefill(e, tok, n, 0, table, 12, CC_LOGITS_ALL, lg, &err), CC_OK);
    double dl = max_abs_diff_fd(lg, ref, (size_t)n * V);
    float *kv = extract_kv(e, table, n);
    double dk = max_abs_diff_fd(kv, kvref, (size_t)w.cfg.n_layers * 2 * n * row);
    double ss = 0;
    for (size_t i = 0; i < (size_t)n * V; i++)
        ss += ref[i] * ref[i];
    printf("engine vs naive double transformer (tiny, 45 tokens): logits %.2e (logit rms %.2f), "
           "KV %.2e\n", dl, sqrt(ss / ((double)n * V)), dk);
    assert_true(dl < 1e-3);
    assert_true(dk < 1e-4);
    /* LAST mode gives the last row */
    float last[256];
    assert_int_equal(cc_engine_prefill(e, tok, n, 0, table, 12, CC_LOGITS_LAST, last, &err), CC_OK);
    assert_true(max_abs_diff_f(last, lg + (size_t)(n - 1) * V, V) <= 1e-5);
    cc_engine_free(e);
    free(ref), free(kvref), free(lg), free(kv);
    cc_weights_free(&w);
    gsl_rng_free(r);
}

/* Prefix reuse: for each block size and split, a prefill of the suffix over
 * the cached prefix's blocks equals the full prefill on the suffix's logits
 * and on the K/V of every position. */
static void test_prefix_reuse(void **state)
{
    (void)state;
    int block_sizes[] = {1, 3, 4, 16};
    gsl_rng *r = rng_new(31);
    double worst_l = 0, worst_kv = 0;
    int n_cases = 0;
    for (size_t bi = 0; bi < sizeof block_sizes / sizeof block_sizes[0]; bi++) {
        int bs = block_sizes[bi], n = 53, V = 256;
        cc_weights w;
        tiny_weights(&w, bs, 40 + bs);
        int n_blocks = (n + bs - 1) / bs, n_slots = 2 * n_blocks + 4;
        /* default tiles, and small ones so that the engine runs many tiles */
        cc_engine *e = make_engine(&w, n_slots, 64, 4, bi % 2 ? 6 : 0, bi % 2 ? 5 : 0);
        int32_t tok[53], full_t[64], part_t[64];
        random_tokens(tok, n, V, r);
        int32_t slots[128];
        shuffled_table(slots, 2 * n_blocks, n_slots, r);
        memcpy(full_t, slots, n_blocks * 4);
        memcpy(part_t, slots + n_blocks, n_blocks * 4);
        float *full = malloc((size_t)n * V * 4), *part = malloc((size_t)n * V * 4);
        cc_err err = {0};
        assert_int_equal(cc_engine_prefill(e, tok, n, 0, full_t, n_blocks, CC_LOGITS_ALL, full, &err),
                         CC_OK);
        float *kv_full = extract_kv(e, full_t, n);
        int splits[] = {1, bs - 1, bs, bs + 1, 2 * bs + 1, n / 2, n - 1};
        for (size_t si = 0; si < sizeof splits / sizeof splits[0]; si++) {
            int sp = splits[si];
            if (sp <= 0 || sp >= n)
                continue;
            /* the cached prefix: its own prefill into the second table */
            assert_int_equal(cc_engine_prefill(e, tok, sp, 0, part_t, n_blocks, CC_LOGITS_NONE,
                                               NULL, &err), CC_OK);
            /* the suffix over it */
            assert_int_equal(cc_engine_prefill(e, tok + sp, n - sp, sp, part_t, n_blocks,
                                               CC_LOGITS_ALL, part, &err), CC_OK);
            double dl = max_abs_diff_f(part, full + (size_t)sp * V, (size_t)(n - sp) * V);
            float *kv_part = extract_kv(e, part_t, n);
            double dk = max_abs_diff_f(kv_part, kv_full,
                                       (size_t)w.cfg.n_layers * 2 * n * w.cfg.n_kv_heads * w.cfg.head_dim);
            free(kv_part);
            if (dl > 1e-4 || dk > 1e-4)
                fail_msg("bs %d split %d: logits diff %g, KV diff %g", bs, sp, dl, dk);
            worst_l = dl > worst_l ? dl : worst_l;
            worst_kv = dk > worst_kv ? dk : worst_kv;
            n_cases++;
        }
        cc_engine_free(e);
        free(full), free(part), free(kv_full);
        cc_weights_free(&w);
    }
    printf("prefix reuse: %d (block size, split) cases, max abs diff logits %.2e, KV %.2e "
           "(bound 1e-4)\n", n_cases, worst_l, worst_kv);
    gsl_rng_free(r);
}

/* A shared partial block: the second request copies it before writing. */
static void test_partial_block_copy_on_write(void **state)
{
    (void)state;
    cc_weights w;
    tiny_weights(&w, 4, 50);
    cc_engine *e = make_engine(&w, 32, 64, 4, 0, 0);
    gsl_rng *r = rng_new(51);
    int32_t a[30], b[30];
    random_tokens(a, 30, 256, r);
    memcpy(b, a, 10 * 4); /* b shares a's first 10 tokens: blocks 0, 1 and half of 2 */
    random_tokens(b + 10, 20, 256, r);
    int32_t ta[8] = {3, 7, 1, 9, 11, 12, 13, 14}, tb[8] = {3, 7, 20, 21, 22, 23, 24, 25};
    cc_err err = {0};
    float la[256], lb[256], lb_full[256];
    assert_int_equal(cc_engine_prefill(e, a, 30, 0, ta, 8, CC_LOGITS_LAST, la, &err), CC_OK);
    size_t bb = cc_engine_block_bytes(e);
    unsigned char *before = malloc(bb), *after = malloc(bb);
    assert_int_equal(cc_engine_kv_to_host(e, 1, before, &err), CC_OK);
    assert_int_equal(cc_engine_kv_copy_block(e, 20, 1, &err), CC_OK);
    assert_int_equal(cc_engine_prefill(e, b + 10, 20, 10, tb, 8, CC_LOGITS_LAST, lb, &err), CC_OK);
    assert_int_equal(cc_engine_kv_to_host(e, 1, after, &err), CC_OK);
    assert_memory_equal(before, after, bb); /* the shared block is untouched */
    int32_t tf[8] = {26, 27, 28, 29, 30, 31, 0, 2};
    assert_int_equal(cc_engine_prefill(e, b, 30, 0, tf, 8, CC_LOGITS_LAST, lb_full, &err), CC_OK);
    double d = max_abs_diff_f(lb, lb_full, 256);
    printf("copy-on-write partial block: logits diff %.2e\n", d);
    assert_true(d <= 1e-4);
    /* and a still decodes as before from its own blocks */
    float la2[256];
    assert_int_equal(cc_engine_prefill(e, a + 29, 1, 29, ta, 8, CC_LOGITS_LAST, la2, &err), CC_OK);
    assert_true(max_abs_diff_f(la, la2, 256) <= 1e-4);
    free(before), free(after);
    cc_engine_free(e);
    cc_weights_free(&w);
    gsl_rng_free(r);
}

static void test_decode_after_prefill(void **state)
{
    (void)state;
    cc_weights w;
    tiny_weights(&w, 4, 60);
    cc_engine *e = make_engine(&w, 64, 64, 4, 0, 0);
    gsl_rng *r = rng_new(61);
    int V = 256;
    int lens[3] = {9, 16, 23};
    int32_t tok[3][40], tables[3][16], ref_t[16];
    int32_t slots[64];
    shuffled_table(slots, 64, 64, r);
    for (int s = 0; s < 3; s++) {
        random_tokens(tok[s], 40, V, r);
        memcpy(tables[s], slots + 16 * s, 16 * 4);
    }
    memcpy(ref_t, slots + 48, 16 * 4);
    cc_err err = {0};
    float lg[3 * 256], ref[256];
    for (int s = 0; s < 3; s++)
        assert_int_equal(cc_engine_prefill(e, tok[s], lens[s], 0, tables[s], 16, CC_LOGITS_NONE,
                                           NULL, &err), CC_OK);
    double worst = 0;
    for (int step = 0; step < 5; step++) {
        int32_t next[3], pos[3];
        for (int s = 0; s < 3; s++) {
            pos[s] = lens[s] + step;
            next[s] = tok[s][pos[s]];
        }
        assert_int_equal(cc_engine_decode(e, 3, next, pos, &tables[0][0], 16, lg, &err), CC_OK);
        for (int s = 0; s < 3; s++) {
            /* prefill of the longer sequence from scratch in other slots */
            assert_int_equal(cc_engine_prefill(e, tok[s], pos[s] + 1, 0, ref_t, 16, CC_LOGITS_LAST,
                                               ref, &err), CC_OK);
            double d = max_abs_diff_f(lg + s * V, ref, V);
            worst = d > worst ? d : worst;
        }
    }
    printf("decode (batch of 3, 5 steps) vs prefill of the longer sequence: max abs diff %.2e\n",
           worst);
    assert_true(worst <= 1e-4);
    cc_engine_free(e);
    cc_weights_free(&w);
    gsl_rng_free(r);
}

/* A mixed batch (two prefills and a decode in one forward) and a chunked
 * prefill equal their separate runs. */
static void test_batch_and_chunks(void **state)
{
    (void)state;
    cc_weights w;
    tiny_weights(&w, 3, 70);
    gsl_rng *r = rng_new(71);
    int V = 256;
    int32_t t1[20], t2[33], t3[12];
    random_tokens(t1, 20, V, r);
    random_tokens(t2, 33, V, r);
    random_tokens(t3, 12, V, r);
    int32_t s1[7] = {0, 1, 2, 3, 4, 5, 6}, s2[11] = {7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17},
            s3[4] = {18, 19, 20, 21};
    cc_engine *e = make_engine(&w, 64, 128, 4, 0, 0);
    cc_err err = {0};
    /* t3: 11 tokens cached, the 12th decoded in the batch */
    assert_int_equal(cc_engine_prefill(e, t3, 11, 0, s3, 4, CC_LOGITS_NONE, NULL, &err), CC_OK);
    cc_seq seqs[3] = {{t1, 20, 0, s1, 7}, {t2, 33, 0, s2, 11}, {t3 + 11, 1, 11, s3, 4}};
    float *all = malloc((size_t)54 * V * 4), last[3 * 256];
    assert_int_equal(cc_engine_forward(e, seqs, 3, CC_LOGITS_ALL, all, &err), CC_OK);
    assert_int_equal(cc_engine_forward(e, seqs, 3, CC_LOGITS_LAST, last, &err), CC_OK);
    /* separately, in a chunked engine (chunks of 5 tokens) with other slots */
    cc_engine *c = make_engine(&w, 64, 5, 4, 0, 0);
    float *sep = malloc((size_t)33 * V * 4);
    double worst = 0;
    int32_t o1[7] = {30, 31, 32, 33, 34, 35, 36};
    assert_int_equal(cc_engine_prefill(c, t1, 20, 0, o1, 7, CC_LOGITS_ALL, sep, &err), CC_OK);
    worst = fmax(worst, max_abs_diff_f(sep, all, (size_t)20 * V));
    assert_int_equal(cc_engine_prefill(c, t2, 33, 0, s2, 11, CC_LOGITS_ALL, sep, &err), CC_OK);
    worst = fmax(worst, max_abs_diff_f(sep, all + (size_t)20 * V, (size_t)33 * V));
    worst = fmax(worst, max_abs_diff_f(sep + (size_t)32 * V, last + V, V));
    assert_int_equal(cc_engine_prefill(c, t3, 12, 0, s3, 4, CC_LOGITS_LAST, sep, &err), CC_OK);
    worst = fmax(worst, max_abs_diff_f(sep, all + (size_t)53 * V, V));
    worst = fmax(worst, max_abs_diff_f(sep, last + 2 * V, V));
    printf("batched forward vs separate chunked prefills: max abs diff %.2e\n", worst);
    assert_true(worst <= 1e-4);
    cc_engine_free(e);
    cc_engine_free(c);
    free(all), free(sep);
    cc_weights_free(&w);
    gsl_rng_free(r);
}

static void test_offload(void **state)
{
    (void)state;
    cc_weights w;
    tiny_weights(&w, 4, 80);
    cc_engine *e = make_engine(&w, 32, 64, 4, 0, 0);
    gsl_rng *r = rng_new(81);
    int32_t tok[26], t[7] = {5, 9, 2, 30, 17, 8, 4};
    random_tokens(tok, 26, 256, r);
    cc_err err = {0};
    float l0[256], l1[256];
    assert_int_equal(cc_engine_prefill(e, tok, 25, 0, t, 7, CC_LOGITS_NONE, NULL, &err), CC_OK);
    assert_int_equal(cc_engine_prefill(e, tok + 25, 1, 25, t, 7, CC_LOGITS_LAST, l0, &err), CC_OK);
    size_t bb = cc_engine_block_bytes(e);
    /* tiny: 2 layers x K,V x 4 rows x 2 kv heads x 16 dims x 4 bytes */
    assert_int_equal(bb, 2 * 2 * 4 * 2 * 16 * 4);
    unsigned char *host = cc_engine_host_alloc(e, 7 * bb), *back = cc_engine_host_alloc(e, 7 * bb);
    unsigned char *zero = calloc(1, bb);
    for (int i = 0; i < 7; i++)
        assert_int_equal(cc_engine_kv_to_host(e, t[i], host + i * bb, &err), CC_OK);
    assert_int_equal(cc_engine_sync(e, &err), CC_OK);
    /* wipe, restore from host, compare bytes and logits */
    for (int i = 0; i < 7; i++)
        assert_int_equal(cc_engine_kv_from_host(e, t[i], zero, &err), CC_OK);
    for (int i = 0; i < 7; i++)
        assert_int_equal(cc_engine_kv_from_host(e, t[i], host + i * bb, &err), CC_OK);
    for (int i = 0; i < 7; i++)
        assert_int_equal(cc_engine_kv_to_host(e, t[i], back + i * bb, &err), CC_OK);
    assert_int_equal(cc_engine_sync(e, &err), CC_OK);
    assert_memory_equal(host, back, 7 * bb);
    /* to a file, and back into other slots */
    char path[512];
    tu_tmp_path(path, sizeof path, "kv_blocks.bin");
    assert_int_equal(cc_engine_kv_to_file(e, t, 7, path, &err), CC_OK);
    assert_int_equal(file_size(path), 44 + 7 * (long)bb);
    int32_t u[7] = {20, 21, 22, 23, 24, 25, 26};
    assert_int_equal(cc_engine_kv_from_file(e, path, u, 7, &err), CC_OK);
    for (int i = 0; i < 7; i++)
        assert_int_equal(cc_engine_kv_to_host(e, u[i], back + i * bb, &err), CC_OK);
    assert_memory_equal(host, back, 7 * bb);
    assert_int_equal(cc_engine_prefill(e, tok + 25, 1, 25, u, 7, CC_LOGITS_LAST, l1, &err), CC_OK);
    assert_true(max_abs_diff_f(l0, l1, 256) == 0);
    printf("offload: 7 blocks of %zu bytes to host and to a file and back: byte-identical; "
           "logits after restore identical\n", bb);

    /* bad files: each names its field */
    FILE *f = fopen(path, "rb");
    long sz = file_size(path);
    unsigned char *img = malloc(sz);
    assert_int_equal(fread(img, 1, sz, f), sz);
    fclose(f);
    struct { const char *name; long cut; int patch_at; unsigned char patch; int n; int code;
             const char *field; } cases[] = {
        {"empty", 0, -1, 0, 7, CC_EFORMAT, "magic"},
        {"bad magic", sz, 0, 'X', 7, CC_EFORMAT, "magic"},
        {"truncated header", 20, -1, 0, 7, CC_EFORMAT, "header"},
        {"other version", sz, 8, 9, 7, CC_EFORMAT, "version"},
        {"other dtype", sz, 12, 2, 7, CC_EFORMAT, "dtype"},
        {"other layers", sz, 16, 3, 7, CC_EFORMAT, "n_layers"},
        {"other block size", sz, 20, 8, 7, CC_EFORMAT, "block_size"},
        {"other head_dim", sz, 28, 64, 7, CC_EFORMAT, "head_dim"},
        {"wrong count", sz, -1, 0, 6, CC_EFORMAT, "n_blocks"},
        {"truncated blocks", sz - 100, -1, 0, 7, CC_EFORMAT, "block"},
        {"binary garbage", sz, 3, 0xff, 7, CC_EFORMAT, "magic"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char *m = malloc(sz + 1);
        memcpy(m, img, sz);
        if (cases[i].patch_at >= 0)
            m[cases[i].patch_at] = cases[i].patch;
        char p2[512];
        tu_write_tmp(p2, sizeof p2, "bad_kv.bin", m, cases[i].cut);
        cc_err_clear(&err);
        int rc = cc_engine_kv_from_file(e, p2, u, cases[i].n, &err);
        if (rc != cases[i].code || strcmp(err.field, cases[i].field) != 0)
            fail_msg("%s: got %d field '%s' (%s)", cases[i].name, rc, err.field, err.msg);
        assert_string_equal(err.file, p2);
        free(m);
        remove(p2);
    }
    /* trailing bytes */
    unsigned char *m = malloc(sz + 3);
    memcpy(m, img, sz);
    memset(m + sz, 0, 3);
    char p3[512];
    tu_write_tmp(p3, sizeof p3, "trail_kv.bin", m, sz + 3);
    assert_int_equal(cc_engine_kv_from_file(e, p3, u, 7, &err), CC_EFORMAT);
    assert_string_equal(err.field, "block");
    assert_int_equal(err.line, 8);
    remove(p3);
    assert_int_equal(cc_engine_kv_from_file(e, "/nonexistent/kv.bin", u, 7, &err), CC_EIO);
    /* a write that fails leaves nothing behind */
    assert_int_equal(cc_engine_kv_to_file(e, t, 7, "/nonexistent/dir/kv.bin", &err), CC_EIO);
    int32_t badslot = 99;
    assert_int_equal(cc_engine_kv_to_file(e, &badslot, 1, path, &err), CC_EARG);
    remove(path);
    free(m), free(img), free(zero);
    cc_engine_host_free(e, host);
    cc_engine_host_free(e, back);
    cc_engine_free(e);
    cc_weights_free(&w);
    gsl_rng_free(r);
}

static void test_engine_errors(void **state)
{
    (void)state;
    cc_weights w;
    tiny_weights(&w, 4, 90);
    cc_engine *e = make_engine(&w, 16, 32, 2, 0, 0);
    cc_err err = {0};
    int32_t tok[40] = {0}, t[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    float lg[2 * 256];
    struct { const char *name; cc_seq s[2]; int n; int mode; int code; const char *field; } cases[] = {
        {"token out of range", {{(int32_t[]){1, 256}, 2, 0, t, 10}}, 1, 0, CC_EARG, "tokens"},
        {"negative token", {{(int32_t[]){-1}, 1, 0, t, 10}}, 1, 0, CC_EARG, "tokens"},
        {"short table", {{tok, 9, 0, t, 2}}, 1, 0, CC_EARG, "block_table"},
        {"slot out of range", {{tok, 3, 0, (int32_t[]){16}, 1}}, 1, 0, CC_EARG, "block_table"},
        {"slot written twice", {{tok, 3, 0, (int32_t[]){5}, 1}, {tok, 2, 0, (int32_t[]){5}, 1}},
         2, 0, CC_EARG, "block_table"},
        {"same slot twice in a table", {{tok, 8, 0, (int32_t[]){5, 5}, 2}}, 1, 0, CC_EARG,
         "block_table"},
        {"too many tokens", {{tok, 33, 0, t, 10}}, 1, 0, CC_EARG, "max_batch_tokens"},
        {"too long", {{tok, 4, 510, t, 10}}, 1, 0, CC_EARG, "max_context"},
        {"no new tokens", {{tok, 0, 0, t, 10}}, 1, 0, CC_EARG, "n_new"},
        {"too many seqs", {{tok, 1, 0, t, 10}}, 3, 0, CC_EARG, "n_seqs"},
        {"bad mode", {{tok, 1, 0, t, 10}}, 1, 7, CC_EARG, "logits_mode"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cc_err_clear(&err);
        int rc = cc_engine_forward(e, cases[i].s, cases[i].n, cases[i].mode, lg, &err);
        if (rc != cases[i].code || strcmp(err.field, cases[i].field) != 0)
            fail_msg("%s: got %d field '%s' (%s)", cases[i].name, rc, err.field, err.msg);
    }
    assert_int_equal(cc_engine_forward(e, cases[0].s, 1, CC_LOGITS_LAST, NULL, &err), CC_EARG);
    assert_int_equal(cc_engine_kv_copy_block(e, 3, 16, &err), CC_EARG);
    assert_string_equal(err.field, "src_slot");
    assert_int_equal(cc_engine_kv_to_host(e, -1, lg, &err), CC_EARG);
    cc_engine_free(e);

    /* options */
    cc_engine_opts o;
    cc_engine_opts_default(&o);
    o.dtype = CC_DTYPE_BF16;
    assert_int_equal(cc_engine_create(&w, &o, &e, &err), CC_EARG);
    assert_string_equal(err.field, "dtype");
    cc_engine_opts_default(&o);
    o.n_slots = 0;
    assert_int_equal(cc_engine_create(&w, &o, &e, &err), CC_EARG);
    assert_string_equal(err.field, "n_slots");
    cc_engine_opts_default(&o);
    o.backend = CC_BACKEND_CUDA;
    o.dtype = CC_DTYPE_BF16;
    o.n_slots = 8;
    int rc = cc_engine_create(&w, &o, &e, &err);
    if (cc_gpu_device_count() == 0) {
        assert_int_equal(rc, CC_EUNSUP);
        assert_null(e);
    } else {
        assert_int_equal(rc, CC_OK);
        cc_engine_free(e);
    }
    cc_weights_free(&w);
}

/* ---- safetensors -------------------------------------------------------------- */
/* bf16 by the definition: the nearer of the two neighbours (truncation and
 * the next value up), ties to the even one. */
static uint16_t ref_bf16(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    uint16_t lo = (uint16_t)(u >> 16), hi = lo + 1;
    float flo, fhi;
    uint32_t a = (uint32_t)lo << 16, b = (uint32_t)hi << 16;
    memcpy(&flo, &a, 4);
    memcpy(&fhi, &b, 4);
    double dlo = fabs((double)x - flo), dhi = fabs((double)x - fhi);
    if (dlo < dhi)
        return lo;
    if (dhi < dlo)
        return hi;
    return (lo & 1) ? hi : lo;
}

typedef struct st_tensor { char name[96]; const float *data; int ndim; long shape[2]; } st_tensor;

static int list_tensors(const cc_weights *w, st_tensor *t)
{
    const cc_model_config *c = &w->cfg;
    long h = c->hidden, q = (long)c->n_heads * c->head_dim, kv = (long)c->n_kv_heads * c->head_dim,
         f = c->ffn;
    int n = 0;
#define T(ptr, nd, a, b, ...)                                        \
    do {                                                             \
        snprintf(t[n].name, sizeof t[n].name, __VA_ARGS__);          \
        t[n].data = ptr, t[n].ndim = nd, t[n].shape[0] = a, t[n].shape[1] = b; \
        n++;                                                         \
    } while (0)
    T(w->embed, 2, c->vocab, h, "model.embed_tokens.weight");
    for (int l = 0; l < c->n_layers; l++) {
        const cc_layer_weights *L = &w->layers[l];
        T(L->attn_norm, 1, h, 0, "model.layers.%d.input_layernorm.weight", l);
        T(L->wq, 2, q, h, "model.layers.%d.self_attn.q_proj.weight", l);
        T(L->wk, 2, kv, h, "model.layers.%d.self_attn.k_proj.weight", l);
        T(L->wv, 2, kv, h, "model.layers.%d.self_attn.v_proj.weight", l);
        T(L->wo, 2, h, q, "model.layers.%d.self_attn.o_proj.weight", l);
        T(L->mlp_norm, 1, h, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        T(L->w_gate, 2, f, h, "model.layers.%d.mlp.gate_proj.weight", l);
        T(L->w_up, 2, f, h, "model.layers.%d.mlp.up_proj.weight", l);
        T(L->w_down, 2, h, f, "model.layers.%d.mlp.down_proj.weight", l);
    }
    T(w->final_norm, 1, h, 0, "model.norm.weight");
    T(w->lm_head, 2, c->vocab, h, "lm_head.weight");
#undef T
    return n;
}

/* Writes tensors [from, to) of the list as one safetensors file in dtype.
 * header_edit (optional) rewrites the JSON text before it is written. */
static void write_safetensors(const char *path, const st_tensor *t, int from, int to,
                              const char *dtype, void (*header_edit)(char *hdr, size_t cap))
{
    int es = strcmp(dtype, "F32") ? 2 : 4;
    size_t cap = 1 << 20, off = 0, len = 0;
    char *hdr = malloc(cap);
    len += snprintf(hdr + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = from; i < to; i++) {
        size_t n = t[i].shape[0] * (t[i].ndim == 2 ? t[i].shape[1] : 1);
        char shape[64];
        if (t[i].ndim == 2)
            snprintf(shape, sizeof shape, "[%ld,%ld]", t[i].shape[0], t[i].shape[1]);
        else
            snprintf(shape, sizeof shape, "[%ld]", t[i].shape[0]);
        len += snprintf(hdr + len, cap - len,
                        ",\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
                        t[i].name, dtype, shape, off, off + n * es);
        off += n * es;
    }
    len += snprintf(hdr + len, cap - len, "}");
    if (header_edit) {
        header_edit(hdr, cap);
        len = strlen(hdr);
    }
    while (len % 8) /* the format pads the header with spaces to 8 bytes */
        hdr[len++] = ' ';
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    unsigned char lb[8];
    for (int i = 0; i < 8; i++)
        lb[i] = (unsigned char)((uint64_t)len >> (8 * i));
    fwrite(lb, 1, 8, f);
    fwrite(hdr, 1, len, f);
    for (int i = from; i < to; i++) {
        size_t n = t[i].shape[0] * (t[i].ndim == 2 ? t[i].shape[1] : 1);
        for (size_t j = 0; j < n; j++) {
            float x = t[i].data[j];
            if (es == 4) {
                fwrite(&x, 4, 1, f);
            } else if (!strcmp(dtype, "F16")) {
                _Float16 hv = (_Float16)x;
                fwrite(&hv, 2, 1, f);
            } else {
                uint16_t b = ref_bf16(x);
                fwrite(&b, 2, 1, f);
            }
        }
    }
    fclose(f);
    free(hdr);
}

static void round_like_file(float *x, size_t n, const char *dtype)
{
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(dtype, "F16")) {
            x[i] = (float)(_Float16)x[i];
        } else if (!strcmp(dtype, "BF16")) {
            uint32_t u = (uint32_t)ref_bf16(x[i]) << 16;
            memcpy(&x[i], &u, 4);
        }
    }
}

static void test_safetensors_roundtrip(void **state)
{
    (void)state;
    const char *dtypes[] = {"F32", "F16", "BF16"};
    gsl_rng *r = rng_new(100);
    int32_t tok[20], table[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    random_tokens(tok, 20, 256, r);
    for (int di = 0; di < 3; di++) {
        cc_weights w, loaded;
        tiny_weights(&w, 4, 101);
        round_like_file(w.data, w.n_floats, dtypes[di]);
        st_tensor t[64];
        int nt = list_tensors(&w, t);
        char path[512];
        tu_tmp_path(path, sizeof path, "tiny.safetensors");
        write_safetensors(path, t, 0, nt, dtypes[di], NULL);
        cc_err err = {0};
        int rc = cc_weights_load_safetensors(&loaded, &w.cfg, path, &err);
        if (rc)
            cc_err_print(&err, stderr);
        assert_int_equal(rc, CC_OK);
        assert_int_equal(loaded.n_floats, w.n_floats);
        assert_memory_equal(loaded.data, w.data, w.n_floats * sizeof(float));
        cc_engine *a = make_engine(&w, 8, 32, 2, 0, 0), *b = make_engine(&loaded, 8, 32, 2, 0, 0);
        float la[20 * 256], lb[20 * 256];
        assert_int_equal(cc_engine_prefill(a, tok, 20, 0, table, 8, CC_LOGITS_ALL, la, &err), CC_OK);
        assert_int_equal(cc_engine_prefill(b, tok, 20, 0, table, 8, CC_LOGITS_ALL, lb, &err), CC_OK);
        double d = max_abs_diff_f(la, lb, 20 * 256);
        printf("safetensors %s: loaded weights bit-identical, logits max abs diff %.1e\n",
               dtypes[di], d);
        assert_true(d == 0);
        cc_engine_free(a);
        cc_engine_free(b);
        cc_weights_free(&loaded);

        /* sharded: two files and an index, in a directory */
        if (di == 2) {
            char dir[512], p1[600], p2[600], idx[600];
            tu_tmp_path(dir, sizeof dir, "tiny_sharded");
            char cmd[700];
            snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
            assert_int_equal(system(cmd), 0);
            snprintf(p1, sizeof p1, "%s/model-00001-of-00002.safetensors", dir);
            snprintf(p2, sizeof p2, "%s/model-00002-of-00002.safetensors", dir);
            snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", dir);
            write_safetensors(p1, t, 0, nt / 2, "BF16", NULL);
            write_safetensors(p2, t, nt / 2, nt, "BF16", NULL);
            json_t *root = json_object(), *map = json_object();
            for (int i = 0; i < nt; i++)
                json_object_set_new(map, t[i].name,
                                    json_string(i < nt / 2 ? "model-00001-of-00002.safetensors"
                                                           : "model-00002-of-00002.safetensors"));
            json_object_set_new(root, "weight_map", map);
            assert_int_equal(json_dump_file(root, idx, 0), 0);
            json_decref(root);
            assert_int_equal(cc_weights_load_safetensors(&loaded, &w.cfg, dir, &err), CC_OK);
            assert_memory_equal(loaded.data, w.data, w.n_floats * sizeof(float));
            cc_weights_free(&loaded);
            printf("safetensors sharded (2 files + index): bit-identical\n");
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
            assert_int_equal(system(cmd), 0);
        }
        remove(path);
        cc_weights_free(&w);
    }
    gsl_rng_free(r);
}

/* header edits for the bad-input table */
static void replace_in(char *h, size_t cap, const char *from, const char *to)
{
    char *p = strstr(h, from);
    assert_non_null(p);
    size_t lf = strlen(from), lt = strlen(to), rest = strlen(p + lf);
    assert_true(strlen(h) - lf + lt < cap);
    memmove(p + lt, p + lf, rest + 1);
    memcpy(p, to, lt);
}
static void ed_shape(char *h, size_t c) { replace_in(h, c, "[128,64]", "[64,128]"); }
static void ed_dtype(char *h, size_t c)
{
    replace_in(h, c, "\"model.layers.1.self_attn.k_proj.weight\":{\"dtype\":\"F32\"",
               "\"model.layers.1.self_attn.k_proj.weight\":{\"dtype\":\"I64\"");
}
static void ed_dtype_type(char *h, size_t c)
{
    replace_in(h, c, "\"model.norm.weight\":{\"dtype\":\"F32\"", "\"model.norm.weight\":{\"dtype\":32");
}
static void ed_missing(char *h, size_t c)
{
    replace_in(h, c, "\"model.layers.0.mlp.up_proj.weight\"", "\"model.layers.0.mlp.upp_proj.weight\"");
}
static void ed_offsets_big(char *h, size_t c)
{
    char *p = strstr(h, "\"lm_head.weight\"");
    assert_non_null(p);
    p = strstr(p, "data_offsets\":[");
    char *q = strchr(p, ']');
    char tail[4096];
    snprintf(tail, sizeof tail, "%s", q);
    sprintf(p, "data_offsets\":[999999999,1000065535%s", tail);
}
static void ed_offsets_neg(char *h, size_t c)
{
    (void)c;
    char *p = strstr(h, "\"model.norm.weight\"");
    assert_non_null(p);
    p = strstr(p, "data_offsets\":[") + strlen("data_offsets\":[");
    memmove(p + 1, p, strlen(p) + 1);
    *p = '-';
}
static void ed_not_json(char *h, size_t c) { replace_in(h, c, "{\"__metadata__\"", "{\"__metadata__\" oops"); }
static void ed_utf8(char *h, size_t c) { replace_in(h, c, "\"pt\"", "\"p\xff\xfet\""); }
static void ed_array(char *h, size_t c)
{
    (void)c;
    strcpy(h, "[1,2,3]");
}
static void ed_shape_type(char *h, size_t c)
{
    char *p = strstr(h, "\"model.layers.0.input_layernorm.weight\"");
    assert_non_null(p);
    p = strstr(p, "\"shape\":[64]");
    assert_non_null(p);
    memcpy(p, "\"shape\":\"64\"", 12);
    (void)c;
}

static void test_safetensors_bad(void **state)
{
    (void)state;
    cc_weights w, out;
    tiny_weights(&w, 4, 102);
    st_tensor t[64];
    int nt = list_tensors(&w, t);
    cc_err err = {0};
    struct { const char *name; void (*edit)(char *, size_t); const char *field; } cases[] = {
        {"wrong shape", ed_shape, "model.layers.0.mlp.gate_proj.weight"},
        {"unsupported dtype", ed_dtype, "model.layers.1.self_attn.k_proj.weight"},
        {"dtype of wrong type", ed_dtype_type, "model.norm.weight"},
        {"shape of wrong type", ed_shape_type, "model.layers.0.input_layernorm.weight"},
        {"missing tensor", ed_missing, "model.layers.0.mlp.up_proj.weight"},
        {"offsets past the end", ed_offsets_big, "lm_head.weight"},
        {"negative offset", ed_offsets_neg, "model.norm.weight"},
        {"not JSON", ed_not_json, "header"},
        {"invalid UTF-8", ed_utf8, "header"},
        {"not an object", ed_array, "header"},
    };
    char path[512];
    tu_tmp_path(path, sizeof path, "bad.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_safetensors(path, t, 0, nt, "F32", cases[i].edit);
        cc_err_clear(&err);
        int rc = cc_weights_load_safetensors(&out, &w.cfg, path, &err);
        if (rc != CC_EFORMAT || strcmp(err.field, cases[i].field) != 0)
            fail_msg("%s: got %d field '%s' (%s)", cases[i].name, rc, err.field, err.msg);
        assert_string_equal(err.file, path);
        assert_null(out.data); /* nothing handed back on failure */
    }
    /* a config that does not match the file: the message names the tensor and both shapes */
    write_safetensors(path, t, 0, nt, "F32", NULL);
    cc_model_config other = w.cfg;
    other.ffn = 96;
    assert_int_equal(cc_weights_load_safetensors(&out, &other, path, &err), CC_EFORMAT);
    assert_string_equal(err.field, "model.layers.0.mlp.gate_proj.weight");
    assert_non_null(strstr(err.msg, "[96, 64]"));
    assert_non_null(strstr(err.msg, "[128,64]"));
    /* byte-level damage */
    FILE *f = fopen(path, "rb");
    long sz = file_size(path);
    unsigned char *img = malloc(sz);
    assert_int_equal(fread(img, 1, sz, f), sz);
    fclose(f);
    struct { const char *name; long cut; int poke; const char *field; } bytes[] = {
        {"empty file", 0, -1, "header_length"},
        {"short length", 5, -1, "header_length"},
        {"absurd length", sz, 5, "header_length"},  /* byte 5 of the length: 2^40 */
        {"truncated data", sz - 1000, -1, "lm_head.weight"},
        {"truncated header", 200, -1, "header_length"},
    };
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
        unsigned char *m = malloc(sz);
        memcpy(m, img, sz);
        if (bytes[i].poke >= 0)
            m[bytes[i].poke] = 1;
        char p2[512];
        tu_write_tmp(p2, sizeof p2, "bad2.safetensors", m, bytes[i].cut);
        cc_err_clear(&err);
        int rc = cc_weights_load_safetensors(&out, &w.cfg, p2, &err);
        if (rc != CC_EFORMAT || strcmp(err.field, bytes[i].field) != 0)
            fail_msg("%s: got %d field '%s' (%s)", bytes[i].name, rc, err.field, err.msg);
        free(m);
        remove(p2);
    }
    /* binary garbage given as a checkpoint */
    unsigned char junk[4096];
    gsl_rng *r = rng_new(103);
    for (int i = 0; i < 4096; i++)
        junk[i] = (unsigned char)gsl_rng_uniform_int(r, 256);
    junk[7] = 0, junk[6] = 0, junk[5] = 0, junk[4] = 0, junk[3] = 0, junk[2] = 0, junk[1] = 0x0f;
    char p4[512];
    tu_write_tmp(p4, sizeof p4, "junk.safetensors", junk, sizeof junk);
    assert_int_equal(cc_weights_load_safetensors(&out, &w.cfg, p4, &err), CC_EFORMAT);
    assert_string_equal(err.field, "header");
    remove(p4);
    assert_int_equal(cc_weights_load_safetensors(&out, &w.cfg, "/nonexistent.safetensors", &err),
                     CC_EIO);
    /* tied embeddings: lm_head may be absent */
    cc_model_config tied = w.cfg;
    tied.tie_embeddings = 1;
    write_safetensors(path, t, 0, nt - 1, "F32", NULL);
    assert_int_equal(cc_weights_load_safetensors(&out, &tied, path, &err), CC_OK);
    assert_true(out.lm_head == out.embed);
    cc_weights_free(&out);
    assert_int_equal(cc_weights_load_safetensors(&out, &w.cfg, path, &err), CC_EFORMAT);
    assert_string_equal(err.field, "lm_head.weight");
    remove(path);
    free(img);
    gsl_rng_free(r);
    cc_weights_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_dtype_bits),
        cmocka_unit_test(test_ops_elementwise),
        cmocka_unit_test(test_op_matmul),
        cmocka_unit_test(test_op_attention),
        cmocka_unit_test(test_forward_vs_naive),
        cmocka_unit_test(test_prefix_reuse),
        cmocka_unit_test(test_partial_block_copy_on_write),
        cmocka_unit_test(test_decode_after_prefill),
        cmocka_unit_test(test_batch_and_chunks),
        cmocka_unit_test(test_offload),
        cmocka_unit_test(test_engine_errors),
        cmocka_unit_test(test_safetensors_roundtrip),
        cmocka_unit_test(test_safetensors_bad),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
