/* test_reqtokens.c -- token ids for a real engine (traces/reqtokens.c):
 * SplitMix64 outputs checked against values computed independently (the
 * published first output of seed 0, and a python3 twin of the algorithm),
 * equal block hashes give equal tokens, determinism, partial last blocks,
 * traces with their own token ids taken mod vocab, bad arguments. */
#include "testutil.h"
#include "traces/traces.h"

static void add(cc_trace *t, uint32_t in, const uint64_t *b, uint32_t nb, const uint32_t *ids,
                uint32_t n_ids)
{
    cc_request r = {0};
    r.input_tokens = in;
    r.output_tokens = 1;
    r.group_id = CC_NO_GROUP;
    r.blocks = b;
    r.n_blocks = nb;
    r.token_ids = ids;
    r.n_token_ids = n_ids;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void test_splitmix_values(void **state)
{
    (void)state;
    int32_t o[4];
    /* SplitMix64(seed 0) first output is 0xE220A8397B1DCDAF (the published
     * reference value); mod 2^30 keeps its low 30 bits: 0x3B1DCDAF. */
    cc_tokens_from_seed(0, 1, 1u << 30, o);
    assert_int_equal(o[0], 0x3B1DCDAF);
    /* python3: seeds 0x1234 and 0xabc, vocab 1000 */
    cc_tokens_from_seed(0x1234, 4, 1000, o);
    assert_int_equal(o[0], 568);
    assert_int_equal(o[1], 861);
    assert_int_equal(o[2], 182);
    assert_int_equal(o[3], 994);
    cc_tokens_from_seed(0xabc, 2, 1000, o);
    assert_int_equal(o[0], 328);
    assert_int_equal(o[1], 447);
}

static void test_blocks(void **state)
{
    (void)state;
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    uint64_t a[3] = {0x1234, 0xabc, 77}; /* 10 tokens: 4 + 4 + 2 */
    uint64_t b[2] = {0x1234, 99};        /* 6 tokens: shares block 0 */
    add(&t, 10, a, 3, NULL, 0);
    add(&t, 6, b, 2, NULL, 0);
    int32_t x[10], y[6], x2[10];
    cc_err e = {0};
    assert_int_equal(cc_trace_request_tokens(&t, 0, 1000, x, &e), CC_OK);
    assert_int_equal(cc_trace_request_tokens(&t, 1, 1000, y, &e), CC_OK);
    assert_int_equal(cc_trace_request_tokens(&t, 0, 1000, x2, &e), CC_OK);
    int32_t want0[4] = {568, 861, 182, 994};
    for (int k = 0; k < 4; k++) {
        assert_int_equal(x[k], want0[k]);
        assert_int_equal(y[k], want0[k]); /* equal hashes, equal tokens */
    }
    assert_int_equal(x[4], 328);
    assert_int_equal(x[5], 447);
    assert_memory_equal(x, x2, sizeof x); /* deterministic */
    int32_t p[2];
    cc_tokens_from_seed(77, 2, 1000, p); /* partial last block: first 2 of its stream */
    assert_int_equal(x[8], p[0]);
    assert_int_equal(x[9], p[1]);
    assert_int_equal(cc_trace_request_tokens(&t, 2, 1000, x, &e), CC_EARG);
    assert_int_equal(cc_trace_request_tokens(&t, 0, 0, x, &e), CC_EARG);
    cc_trace_free(&t);
}

static void test_token_ids(void **state)
{
    (void)state;
    cc_trace t;
    cc_trace_init(&t);
    uint32_t ids[5] = {1, 255, 256, 257, 1000};
    add(&t, 5, NULL, 0, ids, 5);
    add(&t, 3, NULL, 0, NULL, 0); /* neither ids nor hashes: a stream per request */
    int32_t x[5], z[3];
    cc_err e = {0};
    assert_int_equal(cc_trace_request_tokens(&t, 0, 256, x, &e), CC_OK);
    int32_t want[5] = {1, 255, 0, 1, 1000 % 256};
    assert_memory_equal(x, want, sizeof want);
    assert_int_equal(cc_trace_request_tokens(&t, 1, 256, z, &e), CC_OK);
    for (int k = 0; k < 3; k++)
        assert_true(z[k] >= 0 && z[k] < 256);
    cc_trace_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitmix_values),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_token_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
