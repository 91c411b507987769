/*
 * test_semantic_cuda.c -- the semantic tier's exact search on a CUDA device
 * (gpu/vec_search.cu): the row-argmax kernel's CPU twin against brute
 * force (ties included), and where a device exists the cuBLAS search
 * against core's exact search on the same vectors.  Without a device it
 * prints "skipped: no CUDA device" and checks the error instead.
 */
#include "testutil.h"

#include "../core/semantic_cache.h"
#include "../gpu/gpu.h"

#include <gsl/gsl_rng.h>

static void test_argmax_twin(void **state)
{
    (void)state;
    /* two blocks of 4 columns, 3 rows; hand-made ties */
    const float b0[3 * 4] = {1, 5, 5, 2,  /* max 5 at column 1 (first of the tie) */
                             0, 0, 0, 0,  /* all equal: column 0 */
                             -3, -1, -2, -9};
    const float b1[3 * 4] = {5, 4, 6, 6,  /* 6 at column 2 -> row 4 + 2 = 6 */
                             0, 1, 0, 0,  /* 1 > 0: row 5 */
                             -1, -5, -5, -5}; /* -1 ties block 0's -1: block 0 keeps it */
    float best[3] = {-INFINITY, -INFINITY, -INFINITY};
    int64_t row[3] = {-1, -1, -1};
    cc_vec_argmax_rows(b0, 3, 4, 0, best, row);
    assert_int_equal(row[0], 1);
    assert_int_equal(row[1], 0);
    assert_int_equal(row[2], 1);
    cc_vec_argmax_rows(b1, 3, 4, 4, best, row);
    assert_int_equal(row[0], 6);
    assert_float_equal(best[0], 6, 0);
    assert_int_equal(row[1], 5);
    assert_int_equal(row[2], 1);
    assert_float_equal(best[2], -1, 0);
}

static void test_cuda_search(void **state)
{
    (void)state;
    cc_gpu_vecsearch *g;
    cc_err err = {0};
    if (cc_gpu_device_count() == 0) {
        assert_int_equal(cc_gpu_vecsearch_new(0, &g, &err), CC_EUNSUP);
        assert_null(g);
        assert_string_equal(err.field, "device");
        printf("skipped: no CUDA device (checked the error instead)\n");
        return;
    }
    assert_int_equal(cc_gpu_vecsearch_new(0, &g, &err), CC_OK);
    const int d = 64, n = 70000, nq = 37; /* two blocks of rows */
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    float *x = malloc(sizeof(float) * d * n), *q = malloc(sizeof(float) * d * nq);
    for (int i = 0; i < d * n; i++)
        x[i] = (float)(gsl_rng_uniform(r) - 0.5);
    for (int i = 0; i < d * nq; i++)
        q[i] = (float)(gsl_rng_uniform(r) - 0.5);
    cc_vec_index *ix;
    assert_int_equal(cc_vec_index_new(d, CC_VEC_COSINE, &ix, &err), CC_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(cc_vec_index_add(ix, (uint64_t)i, x + i * d), CC_OK);
    uint64_t ids[37];
    float sims[37], gs[37];
    int64_t rows[37];
    assert_int_equal(cc_vec_index_search_exact(ix, q, nq, 1, ids, sims, &err), CC_OK);
    const float *X;
    const uint64_t *rid;
    size_t nn;
    uint64_t version;
    cc_vec_index_matrix(ix, &X, &rid, &nn, &version);
    for (int pass = 0; pass < 2; pass++) { /* the second reuses the device copy */
        assert_int_equal(cc_gpu_vecsearch_top1(g, X, nn, d, ix, version, q, nq, rows, gs, &err),
                         CC_OK);
        for (int i = 0; i < nq; i++) {
            assert_float_equal(gs[i], sims[i], 1e-4);
            assert_int_equal(rid[rows[i]], ids[i]);
        }
    }
    cc_vec_index_free(ix);
    cc_gpu_vecsearch_free(g);
    free(x);
    free(q);
    gsl_rng_free(r);
}

static void test_cli_device(void **state)
{
    (void)state;
    char p[512], cmd[1200];
    const char *pairs = "[{\"text_a\": \"how do I reset my password\", \"text_b\": \"How do I "
                        "reset my password?\", \"label\": 1},\n"
                        " {\"text_a\": \"best pizza in naples\", \"text_b\": \"Best pizza in "
                        "Naples!\", \"label\": 1}]\n";
    tu_write_tmp(p, sizeof p, "cuda_pairs.json", pairs, strlen(pairs));
    snprintf(cmd, sizeof cmd,
             "%s semantic eval '%s' --device cuda --threshold 0.99 --json", tu_bin(), p);
    char *out;
    int rc = tu_run(cmd, &out);
    if (cc_gpu_device_count() == 0) {
        if (rc == 0 || !strstr(out, "device"))
            fail_msg("exit %d: %s", rc, out);
        printf("skipped: no CUDA device (checked the error instead)\n");
    } else {
        if (rc != 0 || !strstr(out, "\"precision\": 1.0") || !strstr(out, "\"recall\": 1.0"))
            fail_msg("exit %d: %s", rc, out);
    }
    free(out);
    snprintf(cmd, sizeof cmd, "%s semantic eval '%s' --device tpu", tu_bin(), p);
    assert_int_equal(tu_run(cmd, &out), 2);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argmax_twin),
        cmocka_unit_test(test_cuda_search),
        cmocka_unit_test(test_cli_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
