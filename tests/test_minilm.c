/* test_minilm.c -- the MiniLM embedder (gpu/minilm.c).
 *
 * Against sentence-transformers on PyTorch (tests/minilm_expected.h, made by
 * tools/gen_minilm_expected.py): the token ids of 100 varied sentences
 * (truncation at 256 included) and their vectors (worst cosine >= 0.999).
 * These need the weights of `make minilm`; without them they print
 * "skipped: ..." and the rest runs.  Without any download: each CPU kernel
 * against a naive double-precision twin written here, packing (a batch
 * gives the vectors of its sequences one by one), and the bad inputs (a
 * weights file of the wrong shape, a missing tensor, absent files, bad ids,
 * invalid UTF-8). */
#include "testutil.h"
#include "gpu/gpu.h"

#include "minilm_expected.h"

#include <sys/stat.h>

/* Loads the real model once for the group (NULL when the weights are absent). */
static int group_setup(void **state)
{
    const char *dir = cc_minilm_default_dir();
    char p[1024];
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    *state = NULL;
    if (access(p, R_OK) != 0) {
        printf("skipped: %s absent (run `make minilm`): the tests against PyTorch\n", p);
        return 0;
    }
    cc_embedder *e = NULL;
    cc_err err = {0};
    if (cc_minilm_embedder_new(NULL, 0, 2, &e, &err)) {
        printf("minilm: %s (%s, %s)\n", err.msg, err.file, err.field);
        return -1;
    }
    *state = e;
    return 0;
}

static int group_teardown(void **state)
{
    cc_embedder_free(*state);
    return 0;
}

static cc_embedder *model_or_skip(void **state)
{
    if (!*state) {
        printf("skipped: MiniLM weights absent (run `make minilm`)\n");
        skip();
    }
    return *state;
}

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

static void test_token_ids_match_python(void **state)
{
    cc_embedder *e = model_or_skip(state);
    int32_t ids[CC_MINILM_MAX_TOKENS];
    size_t off = 0;
    int mismatches = 0;
    for (int i = 0; i < MLM_EXP_N; i++) {
        int n = -1;
        cc_err err = {0};
        assert_int_equal(cc_minilm_tokenize(e, mlm_exp_text[i], strlen(mlm_exp_text[i]), ids,
                                            CC_MINILM_MAX_TOKENS, &n, &err),
                         0);
        int same = n == mlm_exp_n_ids[i];
        for (int k = 0; same && k < n; k++)
            same = ids[k] == mlm_exp_ids[off + k];
        if (!same) {
            printf("sentence %d: %d ids, python %d\n", i, n, mlm_exp_n_ids[i]);
            mismatches++;
        }
        off += mlm_exp_n_ids[i];
    }
    assert_int_equal(mismatches, 0);
    /* the long sentences were truncated to 256 ids by the reference too */
    int longest = 0;
    for (int i = 0; i < MLM_EXP_N; i++)
        longest = mlm_exp_n_ids[i] > longest ? mlm_exp_n_ids[i] : longest;
    assert_int_equal(longest, CC_MINILM_MAX_TOKENS);
}

static void test_vectors_match_pytorch(void **state)
{
    cc_embedder *e = model_or_skip(state);
    assert_string_equal(e->name, "minilm");
    assert_int_equal(e->dim, MLM_EXP_DIM);
    size_t lens[MLM_EXP_N];
    for (int i = 0; i < MLM_EXP_N; i++)
        lens[i] = strlen(mlm_exp_text[i]);
    float *out = malloc(sizeof(float) * MLM_EXP_N * MLM_EXP_DIM);
    float ref[MLM_EXP_DIM];
    cc_err err = {0};
    assert_int_equal(cc_embedder_embed(e, mlm_exp_text, lens, MLM_EXP_N, out, &err), 0);
    double worst = 1.0;
    int worst_i = -1;
    for (int i = 0; i < MLM_EXP_N; i++) {
        for (int d = 0; d < MLM_EXP_DIM; d++)
            ref[d] = mlm_exp_vec[i][d] / 32767.0f;
        double c = cosine(out + (size_t)i * MLM_EXP_DIM, ref, MLM_EXP_DIM);
        if (c < worst) {
            worst = c;
            worst_i = i;
        }
        double nn = 0;
        for (int d = 0; d < MLM_EXP_DIM; d++)
            nn += (double)out[i * MLM_EXP_DIM + d] * out[i * MLM_EXP_DIM + d];
        assert_true(fabs(nn - 1.0) < 1e-4);
    }
    printf("minilm vs sentence-transformers: worst cosine %.7f (sentence %d) over %d\n", worst,
           worst_i, MLM_EXP_N);
    assert_true(worst >= 0.999);
    /* one at a time gives the batch's vectors (packing keeps sequences apart) */
    float one[MLM_EXP_DIM];
    int picks[] = {0, 33, 44, 95, 98};
    for (size_t k = 0; k < sizeof picks / sizeof picks[0]; k++) {
        int i = picks[k];
        assert_int_equal(cc_embedder_embed(e, &mlm_exp_text[i], &lens[i], 1, one, &err), 0);
        assert_true(cosine(one, out + (size_t)i * MLM_EXP_DIM, MLM_EXP_DIM) > 0.99999);
    }
    /* an empty text gives a zero vector, its neighbours are unchanged */
    const char *texts[3] = {mlm_exp_text[1], "", mlm_exp_text[2]};
    size_t l3[3] = {lens[1], 0, lens[2]};
    float three[3 * MLM_EXP_DIM];
    assert_int_equal(cc_embedder_embed(e, texts, l3, 3, three, &err), 0);
    for (int d = 0; d < MLM_EXP_DIM; d++)
        assert_true(three[MLM_EXP_DIM + d] == 0.0f);
    assert_true(cosine(three, out + MLM_EXP_DIM, MLM_EXP_DIM) > 0.99999);
    assert_true(cosine(three + 2 * MLM_EXP_DIM, out + 2 * MLM_EXP_DIM, MLM_EXP_DIM) > 0.99999);
    free(out);
}

static void test_invalid_utf8(void **state)
{
    cc_embedder *e = model_or_skip(state);
    const char *texts[2] = {"fine", "bad \xff byte"};
    size_t lens[2] = {4, 10};
    float out[2 * CC_MINILM_DIM];
    cc_err err = {0};
    assert_int_equal(cc_embedder_embed(e, texts, lens, 2, out, &err), CC_EFORMAT);
    assert_int_equal(err.line, 2); /* which text */
    assert_string_equal(err.field, "text");
}

/* ---- no download needed ---------------------------------------------------- */

/* A safetensors file holding the given JSON header and data bytes. */
static void write_st(const char *path, const char *json, size_t data_bytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint64_t n = strlen(json);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)(n >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(json, 1, n, f);
    for (size_t i = 0; i < data_bytes; i++)
        fputc(0, f);
    fclose(f);
}

static const char *model_dir(char *buf, size_t len, const char *name, const char *json,
                             size_t data_bytes)
{
    tu_tmp_path(buf, len, name);
    mkdir(buf, 0755);
    char p[1024];
    snprintf(p, sizeof p, "%s/model.safetensors", buf);
    write_st(p, json, data_bytes);
    snprintf(p, sizeof p, "%s/tokenizer.json", buf);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("{}", f);
    fclose(f);
    return buf;
}

static void test_wrong_shape_names_file_and_tensor(void **state)
{
    (void)state;
    char dir[512];
    model_dir(dir, sizeof dir, "mlm_shape",
              "{\"embeddings.word_embeddings.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
              "\"data_offsets\":[0,24]}}",
              24);
    cc_embedder *e = NULL;
    cc_err err = {0};
    assert_int_equal(cc_minilm_embedder_new(dir, 0, 1, &e, &err), CC_EFORMAT);
    assert_null(e);
    assert_string_equal(err.field, "embeddings.word_embeddings.weight");
    assert_non_null(strstr(err.file, "mlm_shape/model.safetensors"));
    assert_non_null(strstr(err.msg, "[30522, 384]"));
    assert_non_null(strstr(err.msg, "[2,3]"));
}

static void test_missing_tensor_and_bad_dtype(void **state)
{
    (void)state;
    char dir[512];
    cc_embedder *e = NULL;
    cc_err err = {0};
    /* only a tensor the model does not use: the first expected one is missing */
    model_dir(dir, sizeof dir, "mlm_missing",
              "{\"pooler.dense.bias\":{\"dtype\":\"F32\",\"shape\":[384],"
              "\"data_offsets\":[0,1536]}}",
              1536);
    assert_int_equal(cc_minilm_embedder_new(dir, 0, 1, &e, &err), CC_EFORMAT);
    assert_string_equal(err.field, "embeddings.word_embeddings.weight");
    assert_non_null(strstr(err.msg, "missing"));
    /* a layer norm stored as I64 */
    memset(&err, 0, sizeof err);
    model_dir(dir, sizeof dir, "mlm_dtype",
              "{\"embeddings.LayerNorm.bias\":{\"dtype\":\"I64\",\"shape\":[384],"
              "\"data_offsets\":[0,3072]}}",
              3072);
    assert_int_equal(cc_minilm_embedder_new(dir, 0, 1, &e, &err), CC_EFORMAT);
    assert_string_equal(err.field, "embeddings.LayerNorm.bias");
    assert_non_null(strstr(err.msg, "dtype"));
}

static void test_absent_files(void **state)
{
    (void)state;
    cc_embedder *e = NULL;
    cc_err err = {0};
    assert_int_equal(cc_minilm_embedder_new("build/tmp/no_such_minilm_dir", 0, 1, &e, &err),
                     CC_EIO);
    assert_null(e);
    assert_non_null(strstr(err.file, "no_such_minilm_dir/model.safetensors"));
    assert_non_null(strstr(err.msg, "make minilm"));
}

static cc_minilm_config tiny_config(void)
{
    cc_minilm_config c;
    cc_minilm_config_default(&c);
    c.n_layers = 2;
    c.hidden = 64;
    c.n_heads = 4;
    c.ffn = 128;
    c.vocab = 500;
    c.max_pos = 128;
    c.max_tokens = 96;
    return c;
}

static void test_random_embedder_packing_and_bad_ids(void **state)
{
    (void)state;
    cc_minilm_config c = tiny_config();
    cc_embedder *e = NULL;
    cc_err err = {0};
    assert_int_equal(cc_minilm_embedder_random(&c, 7, 0, 2, &e, &err), 0);
    assert_int_equal(e->dim, 64);
    /* 40 sequences of 1..96 ids: more than one chunk of MLM_CHUNK_TOKENS */
    enum { NS = 40 };
    int lens[NS], total = 0;
    for (int s = 0; s < NS; s++)
        total += lens[s] = 1 + (s * 37) % 96;
    int32_t *ids = malloc(sizeof(int32_t) * total);
    for (int i = 0; i < total; i++)
        ids[i] = (int32_t)((i * 7919u) % 500);
    float *batch = malloc(sizeof(float) * NS * 64), one[64];
    assert_int_equal(cc_minilm_embed_ids(e, ids, lens, NS, batch, &err), 0);
    int off = 0;
    for (int s = 0; s < NS; s++) {
        assert_int_equal(cc_minilm_embed_ids(e, ids + off, &lens[s], 1, one, &err), 0);
        for (int d = 0; d < 64; d++)
            assert_float_equal(one[d], batch[s * 64 + d], 1e-5);
        off += lens[s];
    }
    /* bad input */
    int32_t bad[2] = {3, 500};
    int two = 2, zero = 0, long_len = 97;
    assert_int_equal(cc_minilm_embed_ids(e, bad, &two, 1, one, &err), CC_EARG);
    assert_string_equal(err.field, "ids");
    assert_int_equal(cc_minilm_embed_ids(e, bad, &zero, 1, one, &err), CC_EARG);
    assert_string_equal(err.field, "lens");
    assert_int_equal(cc_minilm_embed_ids(e, ids, &long_len, 1, one, &err), CC_EARG);
    /* no tokenizer: text is refused, not embedded as something else */
    const char *t = "hi";
    size_t tl = 2;
    assert_int_equal(cc_embedder_embed(e, &t, &tl, 1, one, &err), CC_EUNSUP);
    free(ids);
    free(batch);
    cc_embedder_free(e);
    /* a bad config */
    c.n_heads = 5;
    assert_int_equal(cc_minilm_embedder_random(&c, 7, 0, 1, &e, &err), CC_EARG);
    assert_string_equal(err.field, "config");
}

/* ---- the kernels' CPU twins against naive double-precision twins ---------- */

static void fill(float *x, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = ((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static void naive_layernorm(double *x, const float *w, const float *b, int dim, double eps)
{
    double m = 0, v = 0;
    for (int d = 0; d < dim; d++)
        m += x[d];
    m /= dim;
    for (int d = 0; d < dim; d++)
        v += (x[d] - m) * (x[d] - m);
    v /= dim;
    for (int d = 0; d < dim; d++)
        x[d] = (x[d] - m) / sqrt(v + eps) * w[d] + b[d];
}

static void test_ops_against_naive(void **state)
{
    (void)state;
    enum { DIM = 48, T = 20, V = 30, NH = 3, HD = DIM / NH };
    float word[V * DIM], pos[T * DIM], type0[DIM], w[DIM], b[DIM];
    fill(word, V * DIM, 1);
    fill(pos, T * DIM, 2);
    fill(type0, DIM, 3);
    fill(w, DIM, 4);
    fill(b, DIM, 5);
    int32_t ids[T], p[T];
    for (int t = 0; t < T; t++) {
        ids[t] = (t * 7) % V;
        p[t] = t % 9;
    }
    float x[T * DIM];
    double ref[DIM];
    cc_mlm_op_embed(x, ids, p, T, word, pos, type0, w, b, DIM, 1e-12f);
    for (int t = 0; t < T; t++) {
        for (int d = 0; d < DIM; d++)
            ref[d] = (double)word[ids[t] * DIM + d] + pos[p[t] * DIM + d] + type0[d];
        naive_layernorm(ref, w, b, DIM, 1e-12);
        for (int d = 0; d < DIM; d++)
            assert_float_equal(x[t * DIM + d], ref[d], 1e-4);
    }
    /* add + layernorm */
    float y[T * DIM], x2[T * DIM];
    fill(y, T * DIM, 6);
    memcpy(x2, x, sizeof x);
    cc_mlm_op_add_layernorm(x2, y, type0, w, b, T, DIM, 1e-12f);
    for (int t = 0; t < T; t++) {
        for (int d = 0; d < DIM; d++)
            ref[d] = (double)x[t * DIM + d] + y[t * DIM + d] + type0[d];
        naive_layernorm(ref, w, b, DIM, 1e-12);
        for (int d = 0; d < DIM; d++)
            assert_float_equal(x2[t * DIM + d], ref[d], 1e-4);
    }
    /* gelu (erf form): gelu(0) = 0, gelu(1) = 0.841344746, gelu(-1) = -0.158655254 */
    float g[3] = {-1.0f, 0.0f, 1.0f}, zb[1] = {0.0f};
    cc_mlm_op_bias_gelu(g, zb, 3, 1);
    assert_float_equal(g[0], -0.158655254, 1e-6);
    assert_float_equal(g[1], 0.0, 1e-7);
    assert_float_equal(g[2], 0.841344746, 1e-6);
    /* attention: two sequences (7 and 13 tokens) that must not see each other */
    int32_t off[3] = {0, 7, T};
    float qkv[T * 3 * DIM], att[T * DIM];
    fill(qkv, T * 3 * DIM, 8);
    float *scr = malloc(2 * cc_mlm_attention_scratch_floats(13) * sizeof(float));
    cc_mlm_op_attention(att, qkv, off, 2, NH, HD, scr, 13, 2);
    free(scr);
    for (int s = 0; s < 2; s++)
        for (int h = 0; h < NH; h++)
            for (int i = off[s]; i < off[s + 1]; i++) {
                double sc[T], m = -1e300, sum = 0;
                for (int j = off[s]; j < off[s + 1]; j++) {
                    double dot = 0;
                    for (int d = 0; d < HD; d++)
                        dot += (double)qkv[i * 3 * DIM + h * HD + d] *
                               qkv[j * 3 * DIM + DIM + h * HD + d];
                    sc[j] = dot / sqrt((double)HD);
                    m = sc[j] > m ? sc[j] : m;
                }
                for (int j = off[s]; j < off[s + 1]; j++)
                    sum += sc[j] = exp(sc[j] - m);
                for (int d = 0; d < HD; d++) {
                    double o = 0;
                    for (int j = off[s]; j < off[s + 1]; j++)
                        o += sc[j] / sum * qkv[j * 3 * DIM + 2 * DIM + h * HD + d];
                    assert_float_equal(att[i * DIM + h * HD + d], o, 1e-5);
                }
            }
    /* mean pool + normalise */
    float pooled[2 * DIM];
    cc_mlm_op_mean_pool_normalize(pooled, x, off, 2, DIM);
    for (int s = 0; s < 2; s++) {
        double mean[DIM], nn = 0;
        for (int d = 0; d < DIM; d++) {
            mean[d] = 0;
            for (int t = off[s]; t < off[s + 1]; t++)
                mean[d] += x[t * DIM + d];
            mean[d] /= off[s + 1] - off[s];
            nn += mean[d] * mean[d];
        }
        for (int d = 0; d < DIM; d++)
            assert_float_equal(pooled[s * DIM + d], mean[d] / sqrt(nn), 1e-5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_ids_match_python),
        cmocka_unit_test(test_vectors_match_pytorch),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_wrong_shape_names_file_and_tensor),
        cmocka_unit_test(test_missing_tensor_and_bad_dtype),
        cmocka_unit_test(test_absent_files),
        cmocka_unit_test(test_random_embedder_packing_and_bad_ids),
        cmocka_unit_test(test_ops_against_naive),
    };
    return cmocka_run_group_tests_name("minilm", tests, group_setup, group_teardown);
}
