/* test_engine_cuda.c -- the CUDA kernels and engine against the CPU reference
 * (gpu/ops_cpu.c, engine_cpu.c), in the llm.c manner: each kernel is run for
 * each storage type and several launch configurations (threads per block;
 * attention tiles) and compared with its CPU twin on the same inputs
 * (inputs rounded to the storage type first, so only the kernel's own
 * arithmetic and output rounding differ).  Without a device every test
 * prints "skipped: no CUDA device".
 *
 * Tolerances (max abs difference; values are O(1)):
 *   outputs stored in the storage type: F32 1e-5, F16 4e-3, BF16 3e-2
 *     (one rounding: 2^-11 and 2^-8 relative, on values up to ~4);
 *   fp32 outputs of products (matmul, attention in F32): 1e-4 x sqrt(K)-ish,
 *     set to 2e-4 (different summation order);
 *   whole-model logits (tiny, 2 layers; CPU given the same rounded weights):
 *     F32 2e-3, F16 3e-2, BF16 2.5e-1 (activations rounded at every GEMM
 *     input, attention output and the KV pool). */
#include "testutil.h"
#include "gpu/gpu.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#define NEED_DEVICE()                                                                  \
    do {                                                                               \
        if (cc_gpu_device_count() == 0) {                                              \
            printf("skipped: no CUDA device\n");                                       \
            skip();                                                                    \
        }                                                                              \
    } while (0)

static const int dtypes[3] = {CC_DTYPE_F32, CC_DTYPE_F16, CC_DTYPE_BF16};
static const double store_tol[3] = {1e-5, 4e-3, 3e-2};
static const double model_tol[3] = {2e-3, 3e-2, 2.5e-1};
static const int thread_cfgs[3] = {64, 128, 256};

static gsl_rng *rng_new(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    return r;
}

static float *rand_f(size_t n, double sd, gsl_rng *r)
{
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        x[i] = (float)gsl_ran_gaussian(r, sd);
    return x;
}

static double maxdiff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m))
            m = d != d ? INFINITY : d;
    }
    return m;
}

static void *dev_from(const float *host, size_t n, int dtype)
{
    void *d = cc_cuda_alloc(n * cc_dtype_size(dtype));
    assert_non_null(d);
    assert_int_equal(cc_cuda_upload(d, host, n, dtype), CC_OK);
    return d;
}

static void *dev_ints(const int32_t *host, size_t n)
{
    void *d = cc_cuda_alloc(n * 4);
    assert_non_null(d);
    assert_int_equal(cc_cuda_upload_bytes(d, host, n * 4), CC_OK);
    return d;
}

static void test_cuda_elementwise(void **state)
{
    (void)state;
    NEED_DEVICE();
    gsl_rng *r = rng_new(1);
    int n = 67, dim = 96, vocab = 300;
    double worst[3] = {0, 0, 0};
    for (int di = 0; di < 3; di++) {
        int dt = dtypes[di];
        for (int ti = 0; ti < 3; ti++) {
            int th = thread_cfgs[ti];
            /* embed: exact */
            float *table = rand_f((size_t)vocab * dim, 1.0, r);
            cc_round_to_dtype(table, (size_t)vocab * dim, dt);
            int32_t tok[67];
            for (int i = 0; i < n; i++)
                tok[i] = (int32_t)gsl_rng_uniform_int(r, vocab);
            float *want = malloc((size_t)n * dim * 4), *got = malloc((size_t)n * dim * 4);
            cc_op_embed(want, tok, n, table, dim);
            void *d_table = dev_from(table, (size_t)vocab * dim, dt), *d_tok = dev_ints(tok, n);
            void *d_out = cc_cuda_alloc((size_t)n * dim * 4);
            assert_int_equal(cc_cuda_op_embed(d_out, d_tok, n, d_table, dim, dt, th), CC_OK);
            assert_int_equal(cc_cuda_download(got, d_out, (size_t)n * dim, CC_DTYPE_F32), CC_OK);
            assert_true(maxdiff(want, got, (size_t)n * dim) == 0);

            /* rmsnorm: fp32 in, dtype out */
            float *x = rand_f((size_t)n * dim, 1.0, r), *w = rand_f(dim, 1.0, r);
            cc_op_rmsnorm(want, x, w, n, dim, 1e-5f);
            void *d_x = dev_from(x, (size_t)n * dim, CC_DTYPE_F32), *d_w = dev_from(w, dim, CC_DTYPE_F32);
            void *d_o = cc_cuda_alloc((size_t)n * dim * 4);
            assert_int_equal(cc_cuda_op_rmsnorm(d_o, d_x, d_w, n, dim, 1e-5f, dt, th), CC_OK);
            assert_int_equal(cc_cuda_download(got, d_o, (size_t)n * dim, dt), CC_OK);
            double d = maxdiff(want, got, (size_t)n * dim);
            if (d > store_tol[di] * 4) /* values up to ~4 */
                fail_msg("rmsnorm %s threads %d: %g", cc_dtype_name(dt), th, d);
            worst[di] = fmax(worst[di], d / 4);

            /* rope: fp32 in place */
            int32_t pos[67];
            for (int i = 0; i < n; i++)
                pos[i] = (int32_t)gsl_rng_uniform_int(r, 200000);
            void *d_pos = dev_ints(pos, n);
            assert_int_equal(cc_cuda_upload(d_x, x, (size_t)n * dim, CC_DTYPE_F32), CC_OK);
            memcpy(want, x, (size_t)n * dim * 4);
            cc_op_rope(want, pos, n, 3, 32, 500000.0);
            assert_int_equal(cc_cuda_op_rope(d_x, d_pos, n, 3, 32, 500000.0, th), CC_OK);
            assert_int_equal(cc_cuda_download(got, d_x, (size_t)n * dim, CC_DTYPE_F32), CC_OK);
            d = maxdiff(want, got, (size_t)n * dim);
            if (d > 1e-5)
                fail_msg("rope threads %d: %g", th, d);

            /* swiglu: fp32 in, dtype out */
            float *up = rand_f((size_t)n * dim, 1.0, r);
            void *d_up = dev_from(up, (size_t)n * dim, CC_DTYPE_F32);
            cc_op_swiglu(want, x, up, (size_t)n * dim);
            assert_int_equal(cc_cuda_upload(d_x, x, (size_t)n * dim, CC_DTYPE_F32), CC_OK);
            assert_int_equal(cc_cuda_op_swiglu(d_o, d_x, d_up, (size_t)n * dim, dt, th), CC_OK);
            assert_int_equal(cc_cuda_download(got, d_o, (size_t)n * dim, dt), CC_OK);
            d = maxdiff(want, got, (size_t)n * dim);
            if (d > store_tol[di] * 8)
                fail_msg("swiglu %s threads %d: %g", cc_dtype_name(dt), th, d);
            free(table), free(want), free(got), free(x), free(w), free(up);
            cc_cuda_free(d_table), cc_cuda_free(d_tok), cc_cuda_free(d_out), cc_cuda_free(d_x);
            cc_cuda_free(d_w), cc_cuda_free(d_o), cc_cuda_free(d_pos), cc_cuda_free(d_up);
        }
    }
    printf("cuda elementwise (embed exact, rope 1e-5): rmsnorm rel diff F32 %.1e F16 %.1e BF16 %.1e\n",
           worst[0], worst[1], worst[2]);
    gsl_rng_free(r);
}

static void test_cuda_matmul(void **state)
{
    (void)state;
    NEED_DEVICE();
    gsl_rng *r = rng_new(2);
    int shapes[][3] = {{200, 64, 96}, {3, 128, 300}, {1, 17, 5}};
    for (int di = 0; di < 3; di++) {
        int dt = dtypes[di];
        double worst = 0;
        for (size_t si = 0; si < 3; si++) {
            int n = shapes[si][0], din = shapes[si][1], dout = shapes[si][2];
            float *x = rand_f((size_t)n * din, 1.0, r), *w = rand_f((size_t)dout * din, 0.1, r);
            float *b = rand_f(dout, 1.0, r), *o0 = rand_f((size_t)n * dout, 1.0, r);
            cc_round_to_dtype(x, (size_t)n * din, dt);
            cc_round_to_dtype(w, (size_t)dout * din, dt);
            float *want = malloc((size_t)n * dout * 4), *got = malloc((size_t)n * dout * 4);
            void *dx = dev_from(x, (size_t)n * din, dt), *dw = dev_from(w, (size_t)dout * din, dt);
            void *db = dev_from(b, dout, CC_DTYPE_F32), *dout_ = cc_cuda_alloc((size_t)n * dout * 4);
            for (int acc = 0; acc < 2; acc++) {
                memcpy(want, o0, (size_t)n * dout * 4);
                assert_int_equal(cc_cuda_upload(dout_, o0, (size_t)n * dout, CC_DTYPE_F32), CC_OK);
                cc_op_matmul(want, x, w, b, n, din, dout, acc);
                assert_int_equal(cc_cuda_op_matmul(dout_, dx, dw, db, n, din, dout, acc, dt), CC_OK);
                assert_int_equal(cc_cuda_download(got, dout_, (size_t)n * dout, CC_DTYPE_F32), CC_OK);
                double d = maxdiff(want, got, (size_t)n * dout);
                if (d > 2e-4)
                    fail_msg("matmul %s %dx%dx%d acc %d: %g", cc_dtype_name(dt), n, din, dout, acc, d);
                worst = fmax(worst, d);
            }
            free(x), free(w), free(b), free(o0), free(want), free(got);
            cc_cuda_free(dx), cc_cuda_free(dw), cc_cuda_free(db), cc_cuda_free(dout_);
        }
        printf("cuda matmul %s (cuBLAS, fp32 accumulate): max abs diff %.2e\n", cc_dtype_name(dt),
               worst);
    }
    gsl_rng_free(r);
}

/* KV scatter, gather and paged attention for each dtype, tile and thread
 * configuration. */
static void test_cuda_attention(void **state)
{
    (void)state;
    NEED_DEVICE();
    gsl_rng *r = rng_new(3);
    struct { int nh, nkv, hd, bs, pos0, n; } cases[] = {
        {4, 2, 16, 4, 0, 30}, {8, 2, 64, 16, 100, 40}, {32, 8, 128, 16, 300, 5},
        {28, 4, 128, 7, 0, 70}, {8, 8, 64, 1, 20, 1}};
    int tiles[][2] = {{32, 32}, {8, 16}, {64, 64}, {4, 5}};
    double worst[3] = {0, 0, 0};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        cc_attn_shape s = {cases[ci].nh, cases[ci].nkv, cases[ci].hd, cases[ci].bs};
        int len = cases[ci].pos0 + cases[ci].n, n = cases[ci].n, row = s.n_kv_heads * s.head_dim;
        int n_blocks = (len + s.block_size - 1) / s.block_size, n_slots = n_blocks + 5;
        int32_t *table = malloc(n_blocks * 4), *rows = malloc(len * 4);
        for (int b = 0; b < n_blocks; b++)
            table[b] = n_slots - 1 - b;
        cc_kv_pool_rows(rows, table, 0, len, s.block_size);
        size_t pool_n = (size_t)n_slots * s.block_size * row, qn = (size_t)n * s.n_heads * s.head_dim;
        for (int di = 0; di < 3; di++) {
            int dt = dtypes[di];
            float *k = rand_f((size_t)len * row, 1.0, r), *v = rand_f((size_t)len * row, 1.0, r);
            float *q = rand_f(qn, 1.0, r);
            cc_round_to_dtype(k, (size_t)len * row, dt);
            cc_round_to_dtype(v, (size_t)len * row, dt);
            float *kp = calloc(pool_n, 4), *vp = calloc(pool_n, 4);
            cc_op_kv_scatter(kp, vp, k, v, rows, len, &s);
            void *dkp = cc_cuda_alloc(pool_n * cc_dtype_size(dt)), *dvp = cc_cuda_alloc(pool_n * cc_dtype_size(dt));
            void *dk = dev_from(k, (size_t)len * row, CC_DTYPE_F32), *dv = dev_from(v, (size_t)len * row, CC_DTYPE_F32);
            void *drows = dev_ints(rows, len), *dtab = dev_ints(table, n_blocks);
            void *dq = dev_from(q, qn, CC_DTYPE_F32), *dout = cc_cuda_alloc(qn * 4);
            for (int ti = 0; ti < 3; ti++) {
                int th = thread_cfgs[ti];
                assert_int_equal(cc_cuda_op_kv_scatter(dkp, dvp, dk, dv, drows, len, &s, dt, th), CC_OK);
                /* gather of one kv head back: exact */
                int g = s.n_kv_heads - 1;
                float *gk = malloc((size_t)len * s.head_dim * 4), *gv = malloc((size_t)len * s.head_dim * 4);
                float *wk = malloc((size_t)len * s.head_dim * 4), *wv = malloc((size_t)len * s.head_dim * 4);
                void *dgk = cc_cuda_alloc((size_t)len * s.head_dim * 4), *dgv = cc_cuda_alloc((size_t)len * s.head_dim * 4);
                cc_op_kv_gather(wk, wv, kp, vp, table, 0, len, g, &s);
                assert_int_equal(cc_cuda_op_kv_gather(dgk, dgv, dkp, dvp, dtab, 0, len, g, &s, dt, th), CC_OK);
                assert_int_equal(cc_cuda_download(gk, dgk, (size_t)len * s.head_dim, CC_DTYPE_F32), CC_OK);
                assert_int_equal(cc_cuda_download(gv, dgv, (size_t)len * s.head_dim, CC_DTYPE_F32), CC_OK);
                assert_true(maxdiff(gk, wk, (size_t)len * s.head_dim) == 0);
                assert_true(maxdiff(gv, wv, (size_t)len * s.head_dim) == 0);
                free(gk), free(gv), free(wk), free(wv);
                cc_cuda_free(dgk), cc_cuda_free(dgv);
                for (size_t tc = 0; tc < sizeof tiles / sizeof tiles[0]; tc++) {
                    float *want = malloc(qn * 4), *got = malloc(qn * 4);
                    size_t sf = cc_op_attention_scratch_floats(&s, tiles[tc][0], tiles[tc][1]);
                    float *scratch = malloc(2 * sf * 4);
                    cc_op_attention_paged(want, q, n, cases[ci].pos0, kp, vp, table, &s,
                                          tiles[tc][0], tiles[tc][1], scratch, 2);
                    assert_int_equal(cc_cuda_op_attention_paged(dout, dq, n, cases[ci].pos0, dkp, dvp,
                                                                dtab, &s, tiles[tc][0], tiles[tc][1],
                                                                dt, th), CC_OK);
                    assert_int_equal(cc_cuda_download(got, dout, qn, dt), CC_OK);
                    double d = maxdiff(want, got, qn);
                    double tol = dt == CC_DTYPE_F32 ? 2e-4 : store_tol[di] * 2;
                    if (d > tol)
                        fail_msg("attention case %zu %s threads %d tiles %d/%d: %g", ci,
                                 cc_dtype_name(dt), th, tiles[tc][0], tiles[tc][1], d);
                    worst[di] = fmax(worst[di], d);
                    free(want), free(got), free(scratch);
                }
            }
            free(k), free(v), free(q), free(kp), free(vp);
            cc_cuda_free(dkp), cc_cuda_free(dvp), cc_cuda_free(dk), cc_cuda_free(dv);
            cc_cuda_free(drows), cc_cuda_free(dtab), cc_cuda_free(dq), cc_cuda_free(dout);
        }
        free(table), free(rows);
    }
    printf("cuda paged attention vs CPU (5 shapes x 3 thread counts x 4 tiles): max abs diff "
           "F32 %.2e F16 %.2e BF16 %.2e\n", worst[0], worst[1], worst[2]);
    gsl_rng_free(r);
}

/* ---- the engine -------------------------------------------------------------------- */
static void weights_for(cc_weights *w, int dtype, unsigned long seed)
{
    cc_model_config c;
    cc_err err = {0};
    assert_int_equal(cc_model_preset("tiny", &c, &err), CC_OK);
    gsl_rng *r = rng_new(seed);
    assert_int_equal(cc_weights_random(w, &c, r, &err), CC_OK);
    gsl_rng_free(r);
    /* the CPU gets the weights the device stores (norms and biases stay fp32) */
    size_t h = c.hidden, q = (size_t)c.n_heads * c.head_dim, kv = (size_t)c.n_kv_heads * c.head_dim;
    cc_round_to_dtype(w->embed, (size_t)c.vocab * h, dtype);
    cc_round_to_dtype(w->lm_head, (size_t)c.vocab * h, dtype);
    for (int l = 0; l < c.n_layers; l++) {
        cc_layer_weights *L = &w->layers[l];
        cc_round_to_dtype(L->wq, q * h, dtype);
        cc_round_to_dtype(L->wk, kv * h, dtype);
        cc_round_to_dtype(L->wv, kv * h, dtype);
        cc_round_to_dtype(L->wo, h * q, dtype);
        cc_round_to_dtype(L->w_gate, (size_t)c.ffn * h, dtype);
        cc_round_to_dtype(L->w_up, (size_t)c.ffn * h, dtype);
        cc_round_to_dtype(L->w_down, h * (size_t)c.ffn, dtype);
    }
}

static cc_engine *engine(const cc_weights *w, int backend, int dtype, int max_batch)
{
    cc_engine_opts o;
    cc_engine_opts_default(&o);
    o.backend = backend;
    o.dtype = dtype;
    o.n_slots = 64;
    o.max_batch_tokens = max_batch;
    o.max_seqs = 4;
    o.max_context = 256;
    cc_engine *e = NULL;
    cc_err err = {0};
    int rc = cc_engine_create(w, &o, &e, &err);
    if (rc)
        cc_err_print(&err, stderr);
    assert_int_equal(rc, CC_OK);
    return e;
}

static void test_cuda_prefill_vs_cpu(void **state)
{
    (void)state;
    NEED_DEVICE();
    int n = 50, V = 256;
    int32_t tok[50], table[16];
    gsl_rng *r = rng_new(4);
    for (int i = 0; i < n; i++)
        tok[i] = (int32_t)gsl_rng_uniform_int(r, V);
    for (int b = 0; b < 16; b++)
        table[b] = 40 - 2 * b;
    float *want = malloc((size_t)n * V * 4), *got = malloc((size_t)n * V * 4);
    float *part = malloc((size_t)n * V * 4);
    for (int di = 0; di < 3; di++) {
        cc_weights w;
        weights_for(&w, dtypes[di], 5);
        cc_engine *cpu = engine(&w, CC_BACKEND_CPU, CC_DTYPE_F32, 64);
        cc_engine *gpu = engine(&w, CC_BACKEND_CUDA, dtypes[di], 64);
        cc_err err = {0};
        assert_int_equal(cc_engine_prefill(cpu, tok, n, 0, table, 16, CC_LOGITS_ALL, want, &err), CC_OK);
        assert_int_equal(cc_engine_prefill(gpu, tok, n, 0, table, 16, CC_LOGITS_ALL, got, &err), CC_OK);
        double d = maxdiff(want, got, (size_t)n * V);
        /* prefix reuse on the device: the suffix over cached blocks (split inside a block) */
        int sp = 21;
        assert_int_equal(cc_engine_prefill(gpu, tok + sp, n - sp, sp, table, 16, CC_LOGITS_ALL, part,
                                           &err), CC_OK);
        double dp = maxdiff(part, got + (size_t)sp * V, (size_t)(n - sp) * V);
        printf("cuda %s prefill (tiny, 50 tokens) vs CPU: logits max abs diff %.2e (tol %.0e); "
               "cached-prefix suffix vs full on the device %.2e\n",
               cc_dtype_name(dtypes[di]), d, model_tol[di], dp);
        assert_true(d <= model_tol[di]);
        assert_true(dp <= model_tol[di]);
        cc_engine_free(cpu);
        cc_engine_free(gpu);
        cc_weights_free(&w);
    }
    free(want), free(got), free(part);
    gsl_rng_free(r);
}

static void test_cuda_decode_vs_cpu(void **state)
{
    (void)state;
    NEED_DEVICE();
    int V = 256;
    cc_weights w;
    weights_for(&w, CC_DTYPE_BF16, 6);
    cc_engine *cpu = engine(&w, CC_BACKEND_CPU, CC_DTYPE_F32, 64);
    cc_engine *gpu = engine(&w, CC_BACKEND_CUDA, CC_DTYPE_BF16, 64);
    gsl_rng *r = rng_new(7);
    int32_t tok[3][40], tables[3][10];
    int lens[3] = {7, 19, 30};
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < 40; i++)
            tok[s][i] = (int32_t)gsl_rng_uniform_int(r, V);
        for (int b = 0; b < 10; b++)
            tables[s][b] = s * 10 + b;
    }
    cc_err err = {0};
    for (int s = 0; s < 3; s++) {
        assert_int_equal(cc_engine_prefill(cpu, tok[s], lens[s], 0, tables[s], 10, CC_LOGITS_NONE, NULL, &err), CC_OK);
        assert_int_equal(cc_engine_prefill(gpu, tok[s], lens[s], 0, tables[s], 10, CC_LOGITS_NONE, NULL, &err), CC_OK);
    }
    float want[3 * 256], got[3 * 256];
    double worst = 0;
    for (int step = 0; step < 4; step++) {
        int32_t next[3], pos[3];
        for (int s = 0; s < 3; s++)
            pos[s] = lens[s] + step, next[s] = tok[s][pos[s]];
        assert_int_equal(cc_engine_decode(cpu, 3, next, pos, &tables[0][0], 10, want, &err), CC_OK);
        assert_int_equal(cc_engine_decode(gpu, 3, next, pos, &tables[0][0], 10, got, &err), CC_OK);
        worst = fmax(worst, maxdiff(want, got, 3 * V));
    }
    printf("cuda BF16 decode (batch 3, 4 steps) vs CPU: max abs diff %.2e (tol %.0e)\n", worst,
           model_tol[2]);
    assert_true(worst <= model_tol[2]);
    cc_engine_free(cpu);
    cc_engine_free(gpu);
    cc_weights_free(&w);
    gsl_rng_free(r);
}

/* Offload on the device: pinned buffers, asynchronous copies; a restore
 * followed at once by a forward (no sync between: the forward waits per
 * layer) gives the same logits; images are byte-identical. */
static void test_cuda_offload(void **state)
{
    (void)state;
    NEED_DEVICE();
    for (int di = 0; di < 3; di++) {
        cc_weights w;
        weights_for(&w, dtypes[di], 8);
        cc_engine *e = engine(&w, CC_BACKEND_CUDA, dtypes[di], 64);
        int32_t tok[33], t[9] = {3, 1, 4, 15, 9, 2, 6, 5, 35};
        for (int i = 0; i < 33; i++)
            tok[i] = (i * 37 + 11) % 256;
        cc_err err = {0};
        float l0[256], l1[256];
        assert_int_equal(cc_engine_prefill(e, tok, 32, 0, t, 9, CC_LOGITS_NONE, NULL, &err), CC_OK);
        assert_int_equal(cc_engine_prefill(e, tok + 32, 1, 32, t, 9, CC_LOGITS_LAST, l0, &err), CC_OK);
        size_t bb = cc_engine_block_bytes(e);
        unsigned char *host = cc_engine_host_alloc(e, 9 * bb), *back = cc_engine_host_alloc(e, 9 * bb);
        unsigned char *zero = cc_engine_host_alloc(e, bb);
        assert_non_null(host), assert_non_null(back), assert_non_null(zero);
        memset(zero, 0, bb);
        for (int i = 0; i < 9; i++)
            assert_int_equal(cc_engine_kv_to_host(e, t[i], host + i * bb, &err), CC_OK);
        for (int i = 0; i < 9; i++)
            assert_int_equal(cc_engine_kv_from_host(e, t[i], zero, &err), CC_OK);
        for (int i = 0; i < 9; i++)
            assert_int_equal(cc_engine_kv_from_host(e, t[i], host + i * bb, &err), CC_OK);
        /* no sync: the forward's layer l waits for layer l's copies */
        assert_int_equal(cc_engine_prefill(e, tok + 32, 1, 32, t, 9, CC_LOGITS_LAST, l1, &err), CC_OK);
        assert_true(maxdiff(l0, l1, 256) == 0);
        for (int i = 0; i < 9; i++)
            assert_int_equal(cc_engine_kv_to_host(e, t[i], back + i * bb, &err), CC_OK);
        assert_int_equal(cc_engine_sync(e, &err), CC_OK);
        assert_memory_equal(host, back, 9 * bb);
        char path[512];
        tu_tmp_path(path, sizeof path, "cuda_kv.bin");
        assert_int_equal(cc_engine_kv_to_file(e, t, 9, path, &err), CC_OK);
        int32_t u[9] = {40, 41, 42, 43, 44, 45, 46, 47, 48};
        assert_int_equal(cc_engine_kv_from_file(e, path, u, 9, &err), CC_OK);
        for (int i = 0; i < 9; i++)
            assert_int_equal(cc_engine_kv_to_host(e, u[i], back + i * bb, &err), CC_OK);
        assert_int_equal(cc_engine_sync(e, &err), CC_OK);
        assert_memory_equal(host, back, 9 * bb);
        remove(path);
        printf("cuda %s offload: 9 blocks of %zu bytes, host and file round trips byte-identical, "
               "restore overlapped with the next forward gives identical logits\n",
               cc_dtype_name(dtypes[di]), bb);
        cc_engine_host_free(e, host);
        cc_engine_host_free(e, back);
        cc_engine_host_free(e, zero);
        cc_engine_free(e);
        cc_weights_free(&w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cuda_elementwise),
        cmocka_unit_test(test_cuda_matmul),
        cmocka_unit_test(test_cuda_attention),
        cmocka_unit_test(test_cuda_prefill_vs_cpu),
        cmocka_unit_test(test_cuda_decode_vs_cpu),
        cmocka_unit_test(test_cuda_offload),
    };
    return cmocka_run_group_tests_name("engine_cuda", tests, NULL, NULL);
}
