/* test_minilm_cuda.c -- the CUDA MiniLM (gpu/minilm.cu) against its CPU twin
 * (gpu/minilm.c): each kernel against the CPU function of the same name on
 * the same inputs, then whole forwards of a small random-weight encoder
 * (no download) and, when `make minilm` has run, of the real model on a few
 * sentences.  Without a device (or a build without CUDA) each test prints
 * "skipped: no CUDA device". */
#include "testutil.h"
#include "gpu/gpu.h"

static void need_device(void)
{
    if (!cc_gpu_built_with_cuda() || cc_gpu_device_count() == 0) {
        printf("skipped: no CUDA device\n");
        skip();
    }
}

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = ((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static void *up(const void *host, size_t bytes)
{
    void *d = cc_cuda_alloc(bytes);
    assert_non_null(d);
    assert_int_equal(cc_cuda_upload_bytes(d, host, bytes), 0);
    return d;
}

static void down_equal(const void *dev, const float *want, size_t n, double tol)
{
    float *got = malloc(n * sizeof(float));
    assert_int_equal(cc_cuda_download(got, dev, n, CC_DTYPE_F32), 0);
    for (size_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > tol)
            fail_msg("element %zu: cuda %g, cpu %g", i, got[i], want[i]);
    free(got);
}

static void test_kernels_match_cpu_twins(void **state)
{
    (void)state;
    need_device();
    enum { DIM = 96, T = 40, V = 50, NH = 4, HD = DIM / NH, F = 160 };
    static float word[V * DIM], pos[T * DIM], type0[DIM], w[DIM], b[DIM], x[T * DIM],
        y[T * DIM], qkv[T * 3 * DIM], att[T * DIM], g[T * F], bf[F], pooled[3 * DIM];
    fill(word, V * DIM, 1);
    fill(pos, T * DIM, 2);
    fill(type0, DIM, 3);
    fill(w, DIM, 4);
    fill(b, DIM, 5);
    fill(y, T * DIM, 6);
    fill(qkv, T * 3 * DIM, 7);
    fill(g, T * F, 8);
    fill(bf, F, 9);
    int32_t ids[T], p[T], off[4] = {0, 1, 17, T};
    for (int t = 0; t < T; t++) {
        ids[t] = (t * 13) % V;
        p[t] = t % 23;
    }
    void *dword = up(word, sizeof word), *dpos = up(pos, sizeof pos),
         *dtype = up(type0, sizeof type0), *dw = up(w, sizeof w), *db = up(b, sizeof b),
         *dids = up(ids, sizeof ids), *dp = up(p, sizeof p), *doff = up(off, sizeof off);
    /* embed */
    void *dx = cc_cuda_alloc(sizeof x);
    cc_mlm_op_embed(x, ids, p, T, word, pos, type0, w, b, DIM, 1e-12f);
    assert_int_equal(cc_cuda_mlm_op_embed(dx, dids, dp, T, dword, dpos, dtype, dw, db, DIM,
                                          1e-12f),
                     0);
    down_equal(dx, x, T * DIM, 1e-4);
    /* add + layernorm (with bias) */
    void *dy = up(y, sizeof y);
    cc_mlm_op_add_layernorm(x, y, type0, w, b, T, DIM, 1e-12f);
    assert_int_equal(cc_cuda_mlm_op_add_layernorm(dx, dy, dtype, dw, db, T, DIM, 1e-12f), 0);
    down_equal(dx, x, T * DIM, 1e-4);
    /* bias, bias + gelu */
    void *dg = up(g, sizeof g), *dbf = up(bf, sizeof bf);
    cc_mlm_op_bias(g, bf, T, F);
    assert_int_equal(cc_cuda_mlm_op_bias(dg, dbf, T, F), 0);
    down_equal(dg, g, T * F, 1e-6);
    cc_mlm_op_bias_gelu(g, bf, T, F);
    assert_int_equal(cc_cuda_mlm_op_bias_gelu(dg, dbf, T, F), 0);
    down_equal(dg, g, T * F, 1e-5);
    /* attention over three sequences (one of a single token) */
    void *dqkv = up(qkv, sizeof qkv), *datt = cc_cuda_alloc(sizeof att);
    float *scr = malloc(cc_mlm_attention_scratch_floats(23) * sizeof(float));
    cc_mlm_op_attention(att, qkv, off, 3, NH, HD, scr, 23, 1);
    free(scr);
    assert_int_equal(cc_cuda_mlm_op_attention(datt, dqkv, doff, 3, NH, HD), 0);
    down_equal(datt, att, T * DIM, 1e-5);
    /* mean pool + normalise */
    void *dpool = cc_cuda_alloc(sizeof pooled);
    cc_mlm_op_mean_pool_normalize(pooled, x, off, 3, DIM);
    assert_int_equal(cc_cuda_mlm_op_mean_pool_normalize(dpool, dx, doff, 3, DIM), 0);
    down_equal(dpool, pooled, 3 * DIM, 1e-5);
    void *all[] = {dword, dpos, dtype, dw, db, dids, dp, doff, dx, dy, dg, dbf, dqkv, datt, dpool};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        cc_cuda_free(all[i]);
}

static void test_random_encoder_matches_cpu(void **state)
{
    (void)state;
    need_device();
    cc_minilm_config c;
    cc_minilm_config_default(&c);
    c.n_layers = 2;
    c.vocab = 1000;
    cc_embedder *cpu = NULL, *gpu = NULL;
    cc_err err = {0};
    assert_int_equal(cc_minilm_embedder_random(&c, 3, 0, 2, &cpu, &err), 0);
    assert_int_equal(cc_minilm_embedder_random(&c, 3, 1, 2, &gpu, &err), 0);
    enum { NS = 33 };
    int lens[NS], total = 0;
    for (int s = 0; s < NS; s++)
        total += lens[s] = 1 + (s * 71) % 256;
    int32_t *ids = malloc(sizeof(int32_t) * total);
    for (int i = 0; i < total; i++)
        ids[i] = (int32_t)((i * 7919u) % 1000);
    float *a = malloc(sizeof(float) * NS * c.hidden), *b = malloc(sizeof(float) * NS * c.hidden);
    assert_int_equal(cc_minilm_embed_ids(cpu, ids, lens, NS, a, &err), 0);
    assert_int_equal(cc_minilm_embed_ids(gpu, ids, lens, NS, b, &err), 0);
    for (int i = 0; i < NS * c.hidden; i++)
        assert_float_equal(a[i], b[i], 2e-4);
    free(ids);
    free(a);
    free(b);
    cc_embedder_free(cpu);
    cc_embedder_free(gpu);
}

static void test_real_model_matches_cpu(void **state)
{
    (void)state;
    need_device();
    cc_embedder *cpu = NULL, *gpu = NULL;
    cc_err err = {0};
    if (cc_minilm_embedder_new(NULL, 0, 2, &cpu, &err)) {
        printf("skipped: %s (%s)\n", err.msg, err.file);
        skip();
    }
    assert_int_equal(cc_minilm_embedder_new(NULL, 1, 2, &gpu, &err), 0);
    const char *texts[3] = {"How do I reset my password?", "Crème brûlée", "東京"};
    size_t lens[3] = {strlen(texts[0]), strlen(texts[1]), strlen(texts[2])};
    float a[3 * CC_MINILM_DIM], b[3 * CC_MINILM_DIM];
    assert_int_equal(cc_embedder_embed(cpu, texts, lens, 3, a, &err), 0);
    assert_int_equal(cc_embedder_embed(gpu, texts, lens, 3, b, &err), 0);
    for (int i = 0; i < 3 * CC_MINILM_DIM; i++)
        assert_float_equal(a[i], b[i], 1e-4);
    cc_embedder_free(cpu);
    cc_embedder_free(gpu);
}

static void test_cuda_absent_is_unsupported(void **state)
{
    (void)state;
    if (cc_gpu_built_with_cuda() && cc_gpu_device_count() > 0) {
        printf("skipped: a CUDA device is present\n");
        skip();
    }
    cc_minilm_config c;
    cc_minilm_config_default(&c);
    c.n_layers = 1;
    c.vocab = 10;
    cc_embedder *e = NULL;
    cc_err err = {0};
    assert_int_equal(cc_minilm_embedder_random(&c, 1, 1, 1, &e, &err), CC_EUNSUP);
    assert_null(e);
    assert_string_equal(err.field, "backend");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernels_match_cpu_twins),
        cmocka_unit_test(test_random_encoder_matches_cpu),
        cmocka_unit_test(test_real_model_matches_cpu),
        cmocka_unit_test(test_cuda_absent_is_unsupported),
    };
    return cmocka_run_group_tests_name("minilm_cuda", tests, NULL, NULL);
}
