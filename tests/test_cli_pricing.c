/* test_cli_pricing.c -- `ctxcache replay --pricing` and `ctxcache cost` as a
 * user runs them, on a three-request Mooncake-format trace whose bills are
 * worked out by hand (the arithmetic is in tests/test_pricing.c, trace T1,
 * and below for the sweep rows): the JSON shape (cost: one total per model
 * name; cost_breakdown: the seven parts adding up to it), the input-price
 * override, the text table, the sweep and its CSV, and the exit status and
 * message of bad usage and bad pricing files (no CSV left behind). */
#include "testutil.h"

#include <jansson.h>
#include <sys/stat.h>

/* T1: blocks of 512; [A B C D] at 0, [A B C D E] at 60 s, [A B C D] at 400 s */
static const char trace_text[] =
    "{\"timestamp\": 0, \"input_length\": 2048, \"output_length\": 100, \"hash_ids\": [0, 1, 2, 3]}\n"
    "{\"timestamp\": 60000, \"input_length\": 2560, \"output_length\": 100, \"hash_ids\": [0, 1, 2, 3, 4]}\n"
    "{\"timestamp\": 400000, \"input_length\": 2048, \"output_length\": 100, \"hash_ids\": [0, 1, 2, 3]}\n";

static char trace_path[512];

static int setup(void **s)
{
    tu_write_tmp(trace_path, sizeof trace_path, "pricing_t1.jsonl", trace_text,
                 sizeof trace_text - 1);
    return 0;
}

static int teardown(void **s)
{
    remove(trace_path);
    return 0;
}

static json_t *run_json(const char *args)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "(%s %s 2>/dev/null)", tu_bin(), args);
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

static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("'%s' missing or not a number", key);
    return json_number_value(v);
}

#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) <= 1e-12 + 1e-9 * fabs((double)(b)))

static const struct {
    const char *name;
    double total;
} t1_totals[] = {
    {"gemini-explicit", 0.00624888},
    {"gemini-implicit", 0.00219384},
    {"moonshot-2024", 2560 * 24 / 7.2e6 + 1.45408 / 7.2 + 0.04 / 7.2 + 0.001},
    {"anthropic-5m", 0.0223944},
    {"anthropic-1h", 0.0210888},
    {"openai", 0.009568},
    {"deepseek", 0.00130792},
    {"qwen-explicit", 0.00274592},
};
#define N_T1 (sizeof t1_totals / sizeof t1_totals[0])

static void test_replay_json(void **s)
{
    char args[1024];
    snprintf(args, sizeof args,
             "replay %s --capacity-blocks inf --json --pricing gemini-explicit,gemini-implicit,"
             "moonshot-2024,anthropic-5m,anthropic-1h,openai,deepseek,qwen-explicit",
             trace_path);
    json_t *o = run_json(args);
    json_t *cost = json_object_get(o, "cost"), *bd = json_object_get(o, "cost_breakdown");
    assert_true(json_is_object(cost) && json_is_object(bd));
    assert_int_equal(json_object_size(cost), N_T1);
    assert_int_equal(json_object_size(bd), N_T1);
    static const char *const parts[] = {"input_uncached_usd", "cache_write_usd", "cache_read_usd",
                                        "storage_usd", "creation_fee_usd", "hit_fee_usd",
                                        "output_usd"};
    for (size_t i = 0; i < N_T1; i++) {
        NEAR(jnum(cost, t1_totals[i].name), t1_totals[i].total);
        const json_t *b = json_object_get(bd, t1_totals[i].name);
        double sum = 0;
        for (size_t k = 0; k < 7; k++)
            sum += jnum(b, parts[k]);
        NEAR(sum, t1_totals[i].total);
        NEAR(jnum(b, "total_usd"), t1_totals[i].total);
    }
    assert_string_equal(json_string_value(json_object_get(o, "pricing_cacheable")), "auto");
    assert_true(json_is_object(json_object_get(json_object_get(o, "pricing"), "openai")));
    /* the replay's own figures are still there */
    assert_true(json_is_number(json_object_get(o, "token_hit_ratio")));
    json_decref(o);

    /* --input-price 1 on anthropic-5m: 4608*1.25e-6 + 2048*0.1e-6 + 0.0045;
     * as the issue writes it, without a cache size */
    snprintf(args, sizeof args, "replay %s --pricing anthropic-5m --input-price 1 --json",
             trace_path);
    o = run_json(args);
    NEAR(jnum(json_object_get(o, "cost"), "anthropic-5m"), 0.0104648);
    NEAR(jnum(json_object_get(json_object_get(o, "pricing"), "anthropic-5m"),
              "input_usd_per_mtok"),
         1.0);
    json_decref(o);
}

static void test_replay_text(void **s)
{
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks inf --pricing openai,deepseek",
             tu_bin(), trace_path);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "cost (USD)"));
    assert_non_null(strstr(out, "openai"));
    assert_non_null(strstr(out, "0.009568"));
    assert_non_null(strstr(out, "deepseek"));
    free(out);
}

static void expect_fail(const char *args, int code, const char *needle)
{
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s", tu_bin(), args);
    int rc = tu_run(cmd, &out);
    if (rc != code || !strstr(out, needle))
        fail_msg("%s: exit %d (expected %d), output lacks '%s':\n%s", cmd, rc, code, needle, out);
    free(out);
}

static void test_bad_usage(void **s)
{
    char args[1024];
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --pricing openai,gpt9", trace_path);
    expect_fail(args, 2, "gpt9");
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --input-price 2", trace_path);
    expect_fail(args, 2, "need --pricing");
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --pricing openai --input-price -1",
             trace_path);
    expect_fail(args, 2, "--input-price");
    char pf[512];
    const char *bad = "name = x\nexplicit = 1\nttl_s = soon\n";
    tu_write_tmp(pf, sizeof pf, "bad.pricing", bad, strlen(bad));
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --pricing %s", trace_path, pf);
    expect_fail(args, 1, ":3: field 'ttl_s'");
    remove(pf);
    snprintf(args, sizeof args, "cost %s --pricing openai --ttl-sweep 60,abc", trace_path);
    expect_fail(args, 2, "--ttl-sweep");
    snprintf(args, sizeof args, "cost %s --pricing openai --tier nvme", trace_path);
    expect_fail(args, 2, "nvme");
    snprintf(args, sizeof args, "cost %s", trace_path);
    expect_fail(args, 2, "--pricing");
}

/* Sweep rows worked out by hand (prices as in test_pricing.c):
 * gemini-explicit at 3600 s = its default bill 0.00624888; at 300 s (fixed):
 *   O0 0->300, r1 reads it and creates O1 60->360 (writes 512), r2 at 400 s
 *   finds both gone and creates O2 400->700: written 4608, read 2048,
 *   storage 6656 tokens * 300 s = 554.666... token-hours:
 *   4608*0.3e-6 + 2048*0.03e-6 + 554.666e-6 + 0.00075 = 0.0027485066...
 * moonshot-2024 at 60 s: O0 0->60 expires exactly when r1 arrives; every
 *   request creates: written 2048 + 2560 + 2048 = 6656, each held 1 minute:
 *   6656 * 24/7.2e6 + 6656 * 5/7.2e6 + 0.001 = 0.0278088... -- its optimum
 *   among 60, 300, 900, 3600 (the others store longer and read nothing). */
static void test_cost_json_and_csv(void **s)
{
    char args[1024], csv[512];
    tu_tmp_path(csv, sizeof csv, "cost.csv");
    snprintf(args, sizeof args,
             "cost %s --pricing gemini-explicit,moonshot-2024 --ttl-sweep 60,300,900,3600 --json "
             "--csv %s",
             trace_path, csv);
    json_t *o = run_json(args);
    const json_t *models = json_object_get(o, "models");
    assert_int_equal(json_object_size(models), 2);
    const json_t *g = json_object_get(models, "gemini-explicit");
    const json_t *m = json_object_get(models, "moonshot-2024");
    const json_t *gs = json_object_get(g, "sweep"), *ms = json_object_get(m, "sweep");
    assert_int_equal(json_array_size(gs), 4);
    assert_int_equal(json_array_size(ms), 4);
    NEAR(jnum(json_array_get(gs, 3), "total_usd"), 0.00624888);
    NEAR(jnum(json_array_get(gs, 1), "total_usd"),
         4608 * 0.3e-6 + 2048 * 0.03e-6 + 6656 * 300 / 3600.0 * 1e-6 + 0.00075);
    NEAR(jnum(json_array_get(ms, 0), "total_usd"), 6656 * 29 / 7.2e6 + 0.001);
    NEAR(jnum(m, "optimal_ttl_s"), 60);
    NEAR(jnum(g, "optimal_ttl_s"), 300);
    assert_true(json_is_number(json_object_get(g, "break_even_ttl_s")));
    assert_true(json_is_number(json_object_get(json_object_get(o, "operator"), "break_even_ttl_s")));
    NEAR(jnum(json_object_get(o, "cost"), "gemini-explicit"), 0.00624888);
    json_decref(o);

    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[2048];
    int n = 0;
    assert_non_null(fgets(line, sizeof line, f));
    assert_true(!strncmp(line, "pricing,ttl_s,total_usd,", 24));
    while (fgets(line, sizeof line, f))
        n++;
    fclose(f);
    assert_int_equal(n, 8);
    remove(csv);

    /* a missing trace: exit 1, and no CSV left behind */
    snprintf(args, sizeof args, "cost build/tmp/no_such.jsonl --pricing openai --csv %s", csv);
    expect_fail(args, 1, "no_such");
    struct stat st;
    assert_int_equal(stat(csv, &st), -1);
}

static void test_cost_text(void **s)
{
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s cost %s --pricing gemini-explicit,moonshot-2024", tu_bin(),
             trace_path);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "break-even TTL"));
    assert_non_null(strstr(out, "optimal TTL"));
    assert_non_null(strstr(out, "moonshot-2024"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s cost --help", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "qwen-explicit"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_json),
        cmocka_unit_test(test_replay_text),
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test(test_cost_json_and_csv),
        cmocka_unit_test(test_cost_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
