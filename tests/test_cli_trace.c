/* test_cli_trace.c -- `ctxcache trace stats` on the two real timed traces as
 * a user runs it: --json output parsed with jansson and checked against
 * shared/reference/README.md, and the exit status and message for a bad
 * file, a missing file and --help. */
#include "testutil.h"

#include <jansson.h>

/* Runs `ctxcache trace stats PATH --json` (stderr discarded) and parses stdout. */
static json_t *stats_json(const char *path)
{
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "(%s trace stats '%s' --json 2>/dev/null)", tu_bin(), path);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("%s: exit %d, output:\n%s", cmd, rc, out);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    if (!json_is_object(o))
        fail_msg("%s: not a JSON object (%s):\n%s", cmd, je.text, out);
    free(out);
    return o;
}

static json_int_t jint(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("'%s' missing or not an integer", key);
    return json_integer_value(v);
}

static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("'%s' missing or not a number", key);
    return json_number_value(v);
}

static void test_stats_mooncake(void **state)
{
    (void)state;
    const char *path = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    json_t *o = stats_json(path);
    assert_string_equal(json_string_value(json_object_get(o, "format")), "mooncake");
    assert_int_equal(jint(o, "requests"), 12031);
    assert_int_equal(jint(o, "block_accesses"), 288500);
    assert_int_equal(jint(o, "distinct_blocks"), 182790);
    assert_int_equal(jint(o, "input_tokens"), 144793823);
    assert_int_equal(jint(o, "block_size"), 512);
    assert_float_equal(jnum(o, "ideal_block_hit_ratio"), 0.3664, 0.00005);
    assert_float_equal(jnum(o, "ideal_token_hit_ratio"), 0.3736, 0.00005);
    assert_float_equal(jnum(o, "span_s"), 3536.999, 1e-6);
    /* span / (n - 1) */
    assert_float_equal(jnum(o, "interarrival_mean_s"), 3536.999 / 12030, 1e-9);
    assert_true(jnum(o, "interarrival_cv") > 0);
    json_decref(o);
}

static void test_stats_azure(void **state)
{
    (void)state;
    const char *path = TU_DATA_OR_SKIP("azure/AzureLLMInferenceTrace_conv.csv");
    json_t *o = stats_json(path);
    assert_string_equal(json_string_value(json_object_get(o, "format")), "azure");
    assert_int_equal(jint(o, "requests"), 19366);
    assert_int_equal(jint(o, "block_accesses"), 0);
    assert_float_equal(jnum(o, "span_s"), 3501.7, 0.05);
    assert_float_equal(jnum(o, "input_tokens_mean"), 1154.70, 0.005);
    assert_float_equal(jnum(o, "output_tokens_mean"), 211.13, 0.005);
    assert_float_equal(jnum(o, "interarrival_mean_s"), 0.1808, 0.00005);
    assert_float_equal(jnum(o, "interarrival_cv"), 1.094, 0.0005);
    assert_true(json_is_true(json_object_get(o, "timed")));
    json_decref(o);
}

static void test_bad_and_missing_files(void **state)
{
    (void)state;
    char path[512], cmd[2048], want[600], *out = NULL;
    static const char bad_jsonl[] =
        "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 1]}\n"
        "{\"timestamp\": 1, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 1]}\n"
        "{\"timestamp\": 2, \"input_length\": 600, \"output_length\": -5, \"hash_ids\": [0, 1]}\n";
    tu_write_tmp(path, sizeof path, "bad_cli.jsonl", bad_jsonl, sizeof bad_jsonl - 1);
    snprintf(cmd, sizeof cmd, "%s trace stats %s --json", tu_bin(), path);
    assert_int_equal(tu_run(cmd, &out), 1);
    snprintf(want, sizeof want, "%s:3: field 'output_length'", path);
    if (!strstr(out, want))
        fail_msg("expected '%s' in:\n%s", want, out);
    free(out);
    unlink(path);

    static const char bad_csv[] = "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
                                  "2023-11-16 18:15:46.6805900,374,44\r\n"
                                  "2023-11-16 18:15:45.0000000,1,1\r\n";
    tu_write_tmp(path, sizeof path, "bad_cli.csv", bad_csv, sizeof bad_csv - 1);
    snprintf(cmd, sizeof cmd, "%s trace stats %s", tu_bin(), path);
    assert_int_equal(tu_run(cmd, &out), 1);
    snprintf(want, sizeof want, "%s:3: field 'TIMESTAMP'", path);
    if (!strstr(out, want))
        fail_msg("expected '%s' in:\n%s", want, out);
    free(out);
    unlink(path);

    snprintf(cmd, sizeof cmd, "%s trace stats /nonexistent/dir/conv.csv --format azure", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "/nonexistent/dir/conv.csv"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s trace stats /nonexistent/dir/trace.jsonl --json", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "/nonexistent/dir/trace.jsonl"));
    free(out);

    /* a Mooncake trace cannot be re-blocked: a usage error */
    tu_write_tmp(path, sizeof path, "rb_cli.jsonl", bad_jsonl, 84);
    snprintf(cmd, sizeof cmd, "%s trace stats %s --block-size 16", tu_bin(), path);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "re-blocked"));
    free(out);
    unlink(path);
}

static void test_help(void **state)
{
    (void)state;
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s trace stats --help", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "usage:"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stats_mooncake),
        cmocka_unit_test(test_stats_azure),
        cmocka_unit_test(test_bad_and_missing_files),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests_name("cli_trace", tests, NULL, NULL);
}
