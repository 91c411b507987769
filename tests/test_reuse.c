/* test_reuse.c -- cc_trace_reuse (traces/reuse.c): prefix-reusable,
 * non-prefix-reusable and new tokens on hand-made traces whose answers are
 * worked out by hand in the comments (a passage that moves by two tokens, a
 * partial last chunk, repetition inside one prompt, tenants, both scopes),
 * then on random traces against a brute-force twin that compares token runs
 * directly (no hashing), and the bad inputs. */
#include "testutil.h"
#include "traces/traces.h"

static void add(cc_trace *t, uint64_t session, uint32_t tenant, const uint32_t *tok, uint32_t n)
{
    uint64_t blocks[64];
    assert_true(n <= 64 * 4);
    cc_request r = {0};
    r.session_id = session;
    r.tenant = tenant;
    r.input_tokens = n;
    r.output_tokens = 1;
    r.group_id = CC_NO_GROUP;
    r.n_blocks = (uint32_t)cc_block_chain(tenant, tok, n, t->block_size, blocks);
    r.blocks = blocks;
    r.n_token_ids = n;
    r.token_ids = tok;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void new_trace(cc_trace *t)
{
    cc_trace_init(t);
    t->block_size = 4;
    uint32_t idx;
    assert_int_equal(cc_trace_tenant(t, "default", &idx), CC_OK);
    assert_int_equal(cc_trace_tenant(t, "other@1", &idx), CC_OK);
    snprintf(t->source, sizeof t->source, "hand");
}

#define N(a) (uint32_t)(sizeof(a) / sizeof(a)[0])
static const uint32_t A[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
/* A's first 8 tokens, then the passage 9..12 moved right by two tokens */
static const uint32_t B[] = {1, 2, 3, 4, 5, 6, 7, 8, 50, 51, 9, 10, 11, 12, 60};
static const uint32_t Cq[] = {7, 8, 9, 10, 11, 12, 1, 2, 3, 4};
static const uint32_t E[] = {70, 71, 72, 73, 70, 71, 72, 73};
static const uint32_t F[] = {1, 2, 3, 4, 5, 6};

/* Requests in order (C = 4):
 *  A  session 0: nothing earlier                        P 0  N 0   new 12
 *  B  session 0: chunks [1-4] [5-8] are A's first two, [50 51 9 10] is
 *     not -> P = 8; windows from s = 8: [50 51 9 10] no, [51 9 10 11] no,
 *     [9 10 11 12] (s = 10) yes, [10 11 12 60] no -> positions 10..13
 *                                                      P 8  N 4   new 3
 *  C  session 1: no request starts with [7 8 9 10] -> P 0; windows
 *     s=0 [7 8 9 10], 1 [8 9 10 11], 2 [9 10 11 12] are A's; s=3..5 span
 *     12|1 and are nowhere; s=6 [1 2 3 4] is A's -> positions 0..5, 6..9
 *     (trace scope)                                    P 0  N 10  new 0
 *     (session scope: nothing earlier in session 1)   P 0  N 0   new 10
 *  E  session 2: [70 71 72 73] twice, but only inside E  P 0 N 0 new 8
 *  F  session 0: [1-4] is a prefix -> P 4; windows [1-4] [2-5] [3-6] are
 *     A's -> positions 4, 5 (the partial last chunk)  P 4  N 2   new 0
 *  A' session 3, tenant "other": A again, another tenant: all new, 12
 * Trace scope: tokens 12+15+10+8+6+12 = 63; P 8+4 = 12; N 4+10+2 = 16;
 * new 12+3+0+8+0+12 = 35.  Session scope: P 12, N 4+2 = 6, new 45. */
static void build_hand(cc_trace *t)
{
    new_trace(t);
    add(t, 0, 0, A, N(A));
    add(t, 0, 0, B, N(B));
    add(t, 1, 0, Cq, N(Cq));
    add(t, 2, 0, E, N(E));
    add(t, 0, 0, F, N(F));
    add(t, 3, 1, A, N(A));
}

static void expect(const cc_reuse_counts *c, uint64_t req, uint64_t tok, uint64_t p, uint64_t n,
                   uint64_t nw)
{
    assert_int_equal(c->requests, req);
    assert_int_equal(c->tokens, tok);
    assert_int_equal(c->prefix_tokens, p);
    assert_int_equal(c->nonprefix_tokens, n);
    assert_int_equal(c->new_tokens, nw);
}

static void test_hand_trace_scope(void **state)
{
    (void)state;
    cc_trace t;
    build_hand(&t);
    cc_reuse_stats s;
    cc_err e = {0};
    assert_int_equal(cc_trace_reuse(&t, 4, CC_REUSE_TRACE, &s, &e), CC_OK);
    expect(&s.total, 6, 63, 12, 16, 35);
    assert_int_equal(s.n_sessions, 4);
    assert_int_equal(s.session_ids[0], 0);
    assert_int_equal(s.session_ids[1], 1);
    assert_int_equal(s.session_ids[2], 2);
    assert_int_equal(s.session_ids[3], 3);
    expect(&s.sessions[0], 3, 33, 12, 6, 15); /* A, B, F */
    expect(&s.sessions[1], 1, 10, 0, 10, 0);
    expect(&s.sessions[2], 1, 8, 0, 0, 8);
    expect(&s.sessions[3], 1, 12, 0, 0, 12);
    cc_reuse_stats_free(&s);
    cc_trace_free(&t);
}

static void test_hand_session_scope(void **state)
{
    (void)state;
    cc_trace t;
    build_hand(&t);
    cc_reuse_stats s;
    cc_err e = {0};
    assert_int_equal(cc_trace_reuse(&t, 4, CC_REUSE_SESSION, &s, &e), CC_OK);
    expect(&s.total, 6, 63, 12, 6, 45);
    expect(&s.sessions[0], 3, 33, 12, 6, 15);
    expect(&s.sessions[1], 1, 10, 0, 0, 10);
    cc_reuse_stats_free(&s);
    cc_trace_free(&t);
}

/* The same passage at shifts 0..5 behind a varying head: with C = 3 and a
 * 6-token passage, every later request reuses the passage's 6 tokens (the
 * windows [p0 p1 p2] .. [p3 p4 p5] cover it) and nothing of its head; the
 * prefix part stays 0 since the heads differ from the first token on. */
static void test_moving_passage(void **state)
{
    (void)state;
    cc_trace t;
    new_trace(&t);
    uint32_t req[16];
    for (uint32_t shift = 0; shift < 6; shift++) {
        uint32_t n = 0;
        for (uint32_t k = 0; k < shift + 1; k++)
            req[n++] = 1000 + 10 * shift + k; /* a head seen nowhere else */
        for (uint32_t k = 0; k < 6; k++)
            req[n++] = 500 + k;
        add(&t, shift, 0, req, n);
    }
    cc_reuse_stats s;
    cc_err e = {0};
    assert_int_equal(cc_trace_reuse(&t, 3, CC_REUSE_TRACE, &s, &e), CC_OK);
    /* tokens: sum over shift of (shift + 1 + 6) = 21 + 36 = 57; the first
     * request is all new (7); the five others reuse 6 each */
    expect(&s.total, 6, 57, 0, 30, 27);
    for (size_t k = 1; k < 6; k++)
        expect(&s.sessions[k], 1, k + 7, 0, 6, k + 1);
    cc_reuse_stats_free(&s);
    /* a chunk longer than the passage finds nothing */
    assert_int_equal(cc_trace_reuse(&t, 7, CC_REUSE_TRACE, &s, &e), CC_OK);
    expect(&s.total, 6, 57, 0, 0, 57);
    cc_reuse_stats_free(&s);
    cc_trace_free(&t);
}

/* ---- brute-force twin ------------------------------------------------------ */

static int in_scope(const cc_trace *t, size_t e, size_t i, cc_reuse_scope scope)
{
    return t->tenant[e] == t->tenant[i] &&
           (scope == CC_REUSE_TRACE || t->session_id[e] == t->session_id[i]);
}

static void twin(const cc_trace *t, uint32_t C, cc_reuse_scope scope, cc_reuse_counts *tot)
{
    memset(tot, 0, sizeof *tot);
    for (size_t i = 0; i < t->n; i++) {
        cc_request r = cc_trace_get(t, i);
        uint32_t L = r.input_tokens, P = 0;
        for (uint32_t k = 1; k * C <= L; k++) {
            int found = 0;
            for (size_t e = 0; e < i && !found; e++) {
                cc_request q = cc_trace_get(t, e);
                found = in_scope(t, e, i, scope) && q.input_tokens >= k * C &&
                        !memcmp(q.token_ids, r.token_ids, (size_t)k * C * 4);
            }
            if (!found)
                break;
            P = k * C;
        }
        char *cov = calloc(L + 1, 1);
        for (uint32_t s = 0; s + C <= L; s++) {
            int found = 0;
            for (size_t e = 0; e < i && !found; e++) {
                cc_request q = cc_trace_get(t, e);
                if (!in_scope(t, e, i, scope))
                    continue;
                for (uint32_t s2 = 0; s2 + C <= q.input_tokens && !found; s2++)
                    found = !memcmp(q.token_ids + s2, r.token_ids + s, (size_t)C * 4);
            }
            if (found)
                memset(cov + s, 1, C);
        }
        uint32_t Nn = 0;
        for (uint32_t p = P; p < L; p++)
            Nn += cov[p];
        free(cov);
        tot->requests++;
        tot->tokens += L;
        tot->prefix_tokens += P;
        tot->nonprefix_tokens += Nn;
        tot->new_tokens += L - P - Nn;
    }
}

/* Random prompts from a small vocabulary built from shared pieces (so that
 * prefixes and moved runs are common), against the twin. */
static void test_against_twin(void **state)
{
    (void)state;
    uint64_t x = 12345;
    for (int round = 0; round < 12; round++) {
        cc_trace t;
        new_trace(&t);
        uint32_t pieces[6][8];
        for (int p = 0; p < 6; p++)
            for (int k = 0; k < 8; k++)
                pieces[p][k] = (uint32_t)((x = cc_mix64(x)) % 5);
        for (int i = 0; i < 30; i++) {
            uint32_t tok[64], n = 0;
            int np = 1 + (int)((x = cc_mix64(x)) % 5);
            for (int p = 0; p < np; p++) {
                int which = (int)((x = cc_mix64(x)) % 6);
                uint32_t len = 1 + (uint32_t)((x = cc_mix64(x)) % 8);
                for (uint32_t k = 0; k < len; k++)
                    tok[n++] = pieces[which][k];
                if ((x = cc_mix64(x)) % 3 == 0)
                    tok[n++] = (uint32_t)(x >> 40) % 7;
            }
            x = cc_mix64(x);
            add(&t, x % 4, (uint32_t)((x >> 20) % 5 == 0), tok, n);
        }
        for (uint32_t C = 1; C <= 6; C++) {
            for (int sc = 0; sc < 2; sc++) {
                cc_reuse_counts want;
                twin(&t, C, (cc_reuse_scope)sc, &want);
                cc_reuse_stats s;
                cc_err e = {0};
                assert_int_equal(cc_trace_reuse(&t, C, (cc_reuse_scope)sc, &s, &e), CC_OK);
                expect(&s.total, want.requests, want.tokens, want.prefix_tokens,
                       want.nonprefix_tokens, want.new_tokens);
                cc_reuse_stats_free(&s);
            }
        }
        cc_trace_free(&t);
    }
}

static void test_bad_inputs(void **state)
{
    (void)state;
    cc_trace t;
    build_hand(&t);
    cc_reuse_stats s;
    cc_err e = {0};
    assert_int_equal(cc_trace_reuse(&t, 0, CC_REUSE_TRACE, &s, &e), CC_EARG);
    assert_string_equal(e.field, "--chunk-tokens");
    assert_int_equal(cc_trace_reuse(&t, 4, (cc_reuse_scope)7, &s, &e), CC_EARG);
    assert_string_equal(e.field, "--reuse-scope");
    cc_trace_free(&t);

    /* a hash-only trace (blocks, no token ids) */
    cc_trace_init(&t);
    t.block_size = 4;
    uint32_t idx;
    assert_int_equal(cc_trace_tenant(&t, "default", &idx), CC_OK);
    snprintf(t.source, sizeof t.source, "hashes.jsonl");
    snprintf(t.source_format, sizeof t.source_format, "mooncake");
    uint64_t blocks[2] = {11, 12};
    cc_request r = {0};
    r.input_tokens = 8;
    r.n_blocks = 2;
    r.blocks = blocks;
    r.group_id = CC_NO_GROUP;
    assert_int_equal(cc_trace_append(&t, &r), CC_OK);
    assert_int_equal(cc_trace_reuse(&t, 4, CC_REUSE_TRACE, &s, &e), CC_EUNSUP);
    assert_string_equal(e.field, "token_ids");
    assert_string_equal(e.file, "hashes.jsonl");
    assert_non_null(strstr(e.msg, "mooncake"));
    cc_trace_free(&t);

    /* an empty trace: nothing to count, no error */
    cc_trace_init(&t);
    assert_int_equal(cc_trace_reuse(&t, 4, CC_REUSE_TRACE, &s, &e), CC_OK);
    expect(&s.total, 0, 0, 0, 0, 0);
    assert_int_equal(s.n_sessions, 0);
    cc_reuse_stats_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_trace_scope),
        cmocka_unit_test(test_hand_session_scope),
        cmocka_unit_test(test_moving_passage),
        cmocka_unit_test(test_against_twin),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
