/* test_cli_reuse.c -- the command end to end for the blend-reuse analysis
 * (`trace stats --chunk-tokens C [--reuse-scope S] --json`) and for chat
 * logs (stats with warnings, convert to HDF5, replay): the hand-made trace of
 * test_reuse.c (answers worked out there by hand) written to HDF5 and read
 * by the command, the usage errors, a hash-only trace, and the MuSiQue file
 * when the shared data is there. */
#include "testutil.h"
#include "traces/traces.h"

#include <jansson.h>

static void add(cc_trace *t, uint64_t session, uint32_t tenant, const uint32_t *tok, uint32_t n)
{
    uint64_t blocks[64];
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

/* test_reuse.c's build_hand: trace scope P 12, N 16, new 35 of 63 tokens;
 * session scope P 12, N 6, new 45. */
static const char *hand_h5(void)
{
    static char path[512];
    static const uint32_t A[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const uint32_t B[] = {1, 2, 3, 4, 5, 6, 7, 8, 50, 51, 9, 10, 11, 12, 60};
    static const uint32_t C[] = {7, 8, 9, 10, 11, 12, 1, 2, 3, 4};
    static const uint32_t E[] = {70, 71, 72, 73, 70, 71, 72, 73};
    static const uint32_t F[] = {1, 2, 3, 4, 5, 6};
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    uint32_t idx;
    assert_int_equal(cc_trace_tenant(&t, "default", &idx), CC_OK);
    assert_int_equal(cc_trace_tenant(&t, "other@1", &idx), CC_OK);
    add(&t, 0, 0, A, 12);
    add(&t, 0, 0, B, 15);
    add(&t, 1, 0, C, 10);
    add(&t, 2, 0, E, 8);
    add(&t, 0, 0, F, 6);
    add(&t, 3, 1, A, 12);
    tu_tmp_path(path, sizeof path, "hand.h5");
    cc_err e = {0};
    assert_int_equal(cc_trace_write(&t, path, "h5", &e), CC_OK);
    cc_trace_free(&t);
    return path;
}

static json_t *run_json(const char *cmd)
{
    char *out = NULL, full[1600];
    snprintf(full, sizeof full, "(%s)", cmd); /* its own 2>/dev/null holds */
    int rc = tu_run(full, &out);
    if (rc != 0)
        fail_msg("%s: exit %d: %s", cmd, rc, out ? out : "");
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    if (!o)
        fail_msg("%s: not JSON (%s): %s", cmd, je.text, out);
    free(out);
    return o;
}

static double num(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_number(v))
        fail_msg("no number '%s'", k);
    return json_number_value(v);
}

static void test_hand_trace(void **state)
{
    (void)state;
    const char *h5 = hand_h5();
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --chunk-tokens 4 --json 2>/dev/null", tu_bin(), h5);
    json_t *o = run_json(cmd);
    assert_int_equal((int)num(o, "chunk_tokens"), 4);
    assert_string_equal(json_string_value(json_object_get(o, "reuse_scope")), "trace");
    assert_int_equal((int)num(o, "prefix_reusable_tokens"), 12);
    assert_int_equal((int)num(o, "nonprefix_reusable_tokens"), 16);
    assert_int_equal((int)num(o, "new_tokens"), 35);
    assert_true(fabs(num(o, "prefix_reusable_token_ratio") - 12.0 / 63) < 1e-9);
    assert_true(fabs(num(o, "nonprefix_reusable_token_ratio") - 16.0 / 63) < 1e-9);
    assert_true(fabs(num(o, "new_token_ratio") - 35.0 / 63) < 1e-9);
    json_t *ss = json_object_get(o, "sessions_reuse");
    assert_int_equal(json_array_size(ss), 4);
    json_t *s1 = json_array_get(ss, 1);
    assert_int_equal((int)num(s1, "session_id"), 1);
    assert_true(num(s1, "nonprefix_reusable_token_ratio") == 1.0);
    json_t *s0 = json_array_get(ss, 0);
    assert_int_equal((int)num(s0, "input_tokens"), 33);
    assert_true(fabs(num(s0, "prefix_reusable_token_ratio") - 12.0 / 33) < 1e-9);
    json_decref(o);

    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --chunk-tokens 4 --reuse-scope session --json "
             "2>/dev/null", tu_bin(), h5);
    o = run_json(cmd);
    assert_string_equal(json_string_value(json_object_get(o, "reuse_scope")), "session");
    assert_int_equal((int)num(o, "prefix_reusable_tokens"), 12);
    assert_int_equal((int)num(o, "nonprefix_reusable_tokens"), 6);
    assert_int_equal((int)num(o, "new_tokens"), 45);
    json_decref(o);

    /* the text form prints the three shares */
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --chunk-tokens 4", tu_bin(), h5);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "prefix-reusable 0.1905, non-prefix-reusable 0.2540, new 0.5556"));
    free(out);
    unlink(h5);
}

static void test_usage_errors(void **state)
{
    (void)state;
    const char *h5 = hand_h5();
    static const struct { const char *args, *want; } cases[] = {
        {"stats '%s' --chunk-tokens 0", "--chunk-tokens"},
        {"stats '%s' --chunk-tokens -3", "--chunk-tokens"},
        {"stats '%s' --chunk-tokens 4 --reuse-scope tenant", "--reuse-scope"},
        {"stats '%s' --reuse-scope session", "--reuse-scope needs --chunk-tokens"},
        {"convert '%s' x.h5 --chunk-tokens 4", "belong to trace stats"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[600], cmd[1024];
        snprintf(args, sizeof args, cases[i].args, h5);
        snprintf(cmd, sizeof cmd, "%s trace %s", tu_bin(), args);
        char *out = NULL;
        int rc = tu_run(cmd, &out);
        if (rc != 2 || !strstr(out, cases[i].want))
            fail_msg("%s: exit %d, output: %s", cmd, rc, out);
        free(out);
    }
    unlink(h5);
}

static void test_hash_only_trace(void **state)
{
    (void)state;
    char path[512];
    const char *mc = "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 5, \"hash_ids\": [1, 2]}\n";
    tu_write_tmp(path, sizeof path, "mc.jsonl", mc, strlen(mc));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --chunk-tokens 512 --json", tu_bin(), path);
    char *out = NULL;
    int rc = tu_run(cmd, &out);
    assert_int_equal(rc, 2); /* CC_EUNSUP: the option does not apply to this trace */
    assert_non_null(strstr(out, "token ids"));
    assert_non_null(strstr(out, path));
    free(out);
    unlink(path);
}

static const char log_w[] =
    "{\"type\": \"request\", \"request_id\": \"r1\", \"timestamp\": 10, \"body\": {\"model\": \"m\", \"messages\": [{\"role\": \"system\", \"content\": \"You answer from the passages below and nothing else.\"}, {\"role\": \"user\", \"content\": \"Passage one is about caches and what they keep.\"}, {\"role\": \"critic\", \"content\": \"x\"}]}}\n"
    "{\"type\": \"response\", \"request_id\": \"r1\", \"usage\": {\"prompt_tokens\": 30, \"completion_tokens\": 7}}\n"
    "{\"type\": \"request\", \"request_id\": \"r2\", \"timestamp\": 11, \"body\": {\"model\": \"m\", \"messages\": [{\"role\": \"system\", \"content\": \"You answer from the passages below and nothing else.\"}, {\"role\": \"user\", \"content\": \"Passage one is about caches and what they keep.\"}, {\"role\": \"assistant\", \"content\": \"Results.\"}, {\"role\": \"user\", \"content\": \"More?\"}]}}\n"
    "{\"type\": \"response\", \"request_id\": \"r9\", \"usage\": {\"completion_tokens\": 7}}\n";

static void test_chatlog_commands(void **state)
{
    (void)state;
    char path[512], h5[512], cmd[1400];
    tu_write_tmp(path, sizeof path, "log.jsonl", log_w, sizeof log_w - 1);
    tu_tmp_path(h5, sizeof h5, "log.h5");
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --chunk-tokens 4 --json 2>/dev/null", tu_bin(), path);
    json_t *o = run_json(cmd);
    assert_string_equal(json_string_value(json_object_get(o, "format")), "chatlog");
    assert_int_equal((int)num(o, "requests"), 2);
    assert_int_equal((int)num(o, "read_warnings"), 2);
    assert_non_null(strstr(json_string_value(json_object_get(o, "first_read_warning")), "critic"));
    double sum = num(o, "prefix_reusable_token_ratio") + num(o, "nonprefix_reusable_token_ratio") +
                 num(o, "new_token_ratio");
    assert_true(fabs(sum - 1) < 1e-9);
    assert_true(num(o, "prefix_reusable_token_ratio") > 0); /* r2 extends r1 */
    json_decref(o);
    /* the warning goes to stderr for every command that reads the log */
    snprintf(cmd, sizeof cmd, "%s trace convert '%s' '%s'", tu_bin(), path, h5);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "warning: 2 records skipped"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s replay '%s' --capacity-blocks 100 --json 2>/dev/null", tu_bin(), path);
    o = run_json(cmd);
    json_decref(o);
    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --json 2>/dev/null", tu_bin(), h5);
    o = run_json(cmd);
    assert_int_equal((int)num(o, "requests"), 2);
    assert_int_equal((int)num(o, "output_tokens"), 7 + 256);
    json_decref(o);
    unlink(path);
    unlink(h5);
}

static void test_musique(void **state)
{
    (void)state;
    const char *p = TU_DATA_OR_SKIP("rag/musique_s.json");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --format rag --chunk-tokens 256 --json 2>/dev/null",
             tu_bin(), p);
    json_t *o = run_json(cmd);
    double pr = num(o, "prefix_reusable_token_ratio"), np = num(o, "nonprefix_reusable_token_ratio"),
           nw = num(o, "new_token_ratio");
    assert_true(fabs(pr + np + nw - 1) < 1e-9);
    /* Independent figures: the token ids of each request (session, tenant,
     * ids per line, dumped with cc_trace_read) through exact Python sets of
     * token tuples, no hashing:
     *   for each request: p = largest k*C with (tenant, tok[:k*C]) in prefixes;
     *   cov[q] = 1 for q in every window i whose (tenant, tok[i:i+C]) is in
     *   windows; n = sum(cov[p:]); then add this request's prefixes, windows
     * -> tokens 761159, P 4096, N 222491 */
    assert_int_equal((long)num(o, "prefix_reusable_tokens"), 4096);
    assert_int_equal((long)num(o, "nonprefix_reusable_tokens"), 222491);
    assert_int_equal((long)num(o, "new_tokens"), 761159 - 4096 - 222491);
    /* 150 questions over passages that recur at other positions: blend finds
     * far more than the prefix rule (which only the shared leading passages
     * give) */
    assert_true(np > 5 * pr);
    assert_int_equal(json_array_size(json_object_get(o, "sessions_reuse")), 150);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_trace),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_hash_only_trace),
        cmocka_unit_test(test_chatlog_commands),
        cmocka_unit_test(test_musique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
