/* test_trace.c -- the columnar trace builder, validation, re-blocking and
 * statistics on small traces computed by hand. */
#include "testutil.h"
#include "traces/traces.h"

static void add(cc_trace *t, int64_t at_ms, uint32_t in, uint32_t out, const uint64_t *b, uint32_t nb)
{
    cc_request r = {0};
    r.arrival_ns = at_ms * 1000000;
    r.input_tokens = in;
    r.output_tokens = out;
    r.group_id = CC_NO_GROUP;
    r.blocks = b;
    r.n_blocks = nb;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

/* Block size 4.  Requests (blocks):
 *   r0 [1 2 3]    in 10 : no hits
 *   r1 [1 2 4]    in 12 : leading run 1,2 -> 2 blocks, 8 tokens
 *   r2 [5 2 3]    in 9  : 5 new -> run 0 (2,3 seen but not leading)
 *   r3 [1 2 3]    in 10 : run 3 -> 12 tokens capped at 10
 * block hit = (0+2+0+3)/12 ; token hit = (0+8+0+10)/41
 * distinct = {1,2,3,4,5} = 5 ; interarrivals 1,1,2 s: mean 4/3, sd (sample) */
static void test_stats_by_hand(void **state)
{
    (void)state;
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    t.timed = true;
    uint64_t b0[] = {1, 2, 3}, b1[] = {1, 2, 4}, b2[] = {5, 2, 3};
    add(&t, 0, 10, 5, b0, 3);
    add(&t, 1000, 12, 6, b1, 3);
    add(&t, 2000, 9, 7, b2, 3);
    add(&t, 4000, 10, 8, b0, 3);
    cc_err e = {0};
    assert_int_equal(cc_trace_validate(&t, "hand", &e), CC_OK);
    cc_trace_stats s;
    assert_int_equal(cc_trace_compute_stats(&t, &s, &e), CC_OK);
    assert_int_equal(s.requests, 4);
    assert_int_equal(s.block_accesses, 12);
    assert_int_equal(s.distinct_blocks, 5);
    assert_int_equal(s.input_tokens, 41);
    assert_int_equal(s.output_tokens, 26);
    assert_float_equal(s.ideal_block_hit_ratio, 5.0 / 12, 1e-12);
    assert_float_equal(s.ideal_token_hit_ratio, 18.0 / 41, 1e-12);
    assert_float_equal(s.interarrival_mean_s, 4.0 / 3, 1e-12);
    /* sample sd of {1,1,2}: mean 4/3, sum sq dev = 1/9+1/9+4/9 = 2/3, /2 -> 1/3 */
    assert_float_equal(s.interarrival_cv, sqrt(1.0 / 3) / (4.0 / 3), 1e-12);
    assert_float_equal(s.span_s, 4.0, 1e-12);
    assert_int_equal(s.sessions, 1);

    cc_request r = cc_trace_get(&t, 1);
    assert_int_equal(r.n_blocks, 3);
    assert_int_equal(r.blocks[2], 4);
    assert_int_equal(r.input_tokens, 12);
    cc_trace_free(&t);
}

static void test_validate_rejects(void **state)
{
    (void)state;
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    uint64_t b[] = {1, 2, 3};
    add(&t, 10, 10, 5, b, 3);
    add(&t, 5, 10, 5, b, 3); /* time goes backwards */
    cc_err e = {0};
    assert_int_equal(cc_trace_validate(&t, "x", &e), CC_ERANGE);
    assert_string_equal(e.field, "arrival_ns");
    assert_non_null(strstr(e.msg, "request 2"));
    cc_trace_free(&t);

    cc_trace_init(&t);
    t.block_size = 4;
    add(&t, 0, 20, 5, b, 3); /* 20 tokens need 5 blocks of 4 */
    assert_int_equal(cc_trace_validate(&t, "x", &e), CC_EFORMAT);
    assert_string_equal(e.field, "blocks");
    cc_trace_free(&t);
}

static void test_reblock_and_chunks(void **state)
{
    (void)state;
    cc_trace t;
    cc_trace_init(&t);
    uint32_t toks[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint64_t off;
    assert_int_equal(cc_trace_add_text(&t, "hello world", 11, &off), CC_OK);
    cc_chunk ch = {.text_off = off, .text_len = 11, .kind = CC_CHUNK_USER, .token_start = 0, .token_len = 10};
    cc_request r = {0};
    r.input_tokens = 10;
    r.token_ids = toks;
    r.n_token_ids = 10;
    r.chunks = &ch;
    r.n_chunks = 1;
    r.group_id = CC_NO_GROUP;
    assert_int_equal(cc_trace_append(&t, &r), CC_OK);
    cc_err e = {0};
    assert_int_equal(cc_trace_reblock(&t, 4, &e), CC_OK);
    cc_request v = cc_trace_get(&t, 0);
    assert_int_equal(v.n_blocks, 3);
    uint64_t expect[3];
    cc_block_chain(0, toks, 10, 4, expect);
    assert_memory_equal(v.blocks, expect, sizeof expect);
    assert_true(v.chunks[0].chunk_hash == cc_hash_bytes("hello world", 11, 0));
    assert_int_equal(cc_trace_validate(&t, "x", &e), CC_OK);
    assert_int_equal(cc_trace_reblock(&t, 0, &e), CC_EARG);
    cc_trace_free(&t);

    /* a hash-only trace cannot be re-blocked */
    cc_trace_init(&t);
    uint64_t b[] = {7};
    cc_request q = {.input_tokens = 3, .blocks = b, .n_blocks = 1, .group_id = CC_NO_GROUP};
    assert_int_equal(cc_trace_append(&t, &q), CC_OK);
    assert_int_equal(cc_trace_reblock(&t, 16, &e), CC_EUNSUP);
    cc_trace_free(&t);
}

/* Chains for a trace with lengths only: floor(F L / bs) leading blocks
 * shared within a tenant, the rest each request's own. */
static void test_synth_blocks(void **state)
{
    (void)state;
    cc_trace t;
    cc_err e = {0};
    cc_trace_init(&t);
    uint32_t in[4] = {64, 100, 64, 64}, ten[4] = {0, 0, 0, 1}, other;
    assert_int_equal(cc_trace_tenant(&t, "default", &other), CC_OK);
    assert_int_equal(cc_trace_tenant(&t, "other@1", &other), CC_OK);
    assert_int_equal(other, 1);
    for (int i = 0; i < 4; i++) {
        cc_request q = {.input_tokens = in[i], .tenant = ten[i], .group_id = CC_NO_GROUP};
        assert_int_equal(cc_trace_append(&t, &q), CC_OK);
    }
    assert_int_equal(cc_trace_synth_blocks(&t, 16, 0.5, &e), CC_OK);
    assert_int_equal(t.block_size, 16);
    /* ceil(L / 16) blocks: 4, 7, 4, 4; shared floor(0.5 L / 16): 2, 3, 2, 2 */
    assert_int_equal(cc_trace_n_blocks_total(&t), 4 + 7 + 4 + 4);
    cc_request a = cc_trace_get(&t, 0), b = cc_trace_get(&t, 1), c = cc_trace_get(&t, 2),
               d = cc_trace_get(&t, 3);
    assert_int_equal(b.n_blocks, 7);
    assert_true(a.blocks[0] == b.blocks[0] && a.blocks[1] == b.blocks[1]);
    assert_true(a.blocks[0] == c.blocks[0] && a.blocks[1] == c.blocks[1]);
    assert_true(a.blocks[2] != b.blocks[2] && a.blocks[2] != c.blocks[2]);
    assert_true(d.blocks[0] != a.blocks[0]); /* another tenant's prompt */
    /* every block not in a shared run appears once in the trace */
    size_t nb = cc_trace_n_blocks_total(&t), dup = 0;
    for (size_t i = 0; i < nb; i++)
        for (size_t j = i + 1; j < nb; j++)
            dup += t.blocks[i] == t.blocks[j];
    assert_int_equal(dup, 3 /* a0-b0, a0-c0, b0-c0 */ + 3 /* the same for block 1 */);
    assert_int_equal(cc_trace_validate(&t, "x", &e), CC_OK);
    /* F = 0: nothing shared */
    assert_int_equal(cc_trace_synth_blocks(&t, 16, 0, &e), CC_OK);
    a = cc_trace_get(&t, 0);
    c = cc_trace_get(&t, 2);
    assert_true(a.blocks[0] != c.blocks[0]);
    assert_int_equal(cc_trace_synth_blocks(&t, 16, 1.5, &e), CC_EARG);
    assert_int_equal(cc_trace_synth_blocks(&t, 0, 0, &e), CC_EARG);
    /* the message for no token ids names what the trace has */
    assert_int_equal(cc_trace_no_tokens_error("f", 0, 16, CC_EUNSUP, &e), CC_EUNSUP);
    assert_non_null(strstr(e.msg, "lengths only"));
    assert_int_equal(cc_trace_no_tokens_error("f", 512, 16, CC_EARG, &e), CC_EARG);
    assert_non_null(strstr(e.msg, "block hashes of 512 tokens but no token ids"));
    cc_trace_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synth_blocks),
        cmocka_unit_test(test_stats_by_hand),
        cmocka_unit_test(test_validate_rejects),
        cmocka_unit_test(test_reblock_and_chunks),
    };
    return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
