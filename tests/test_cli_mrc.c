/* test_cli_mrc.c -- `ctxcache mrc` as a user runs it: the Mooncake trace's
 * curves in --json against libCacheSim's figures in shared/reference (LRU
 * from the stack pass, FIFO from the threaded replays), the stack pass
 * against one replay per capacity (--method sim), SHARDS' recorded rate and
 * seed, the -o CSV against the JSON, and the exit status and message of
 * bad usage and bad files (no CSV left behind). */
#include "testutil.h"

#include <jansson.h>
#include <sys/stat.h>

static char *run_ok(const char *args)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "(%s mrc %s 2>/dev/null)", tu_bin(), args);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("%s: exit %d, output:\n%s", cmd, rc, out);
    return out;
}

static json_t *run_json(const char *args)
{
    char *out = run_ok(args);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    if (!json_is_object(o))
        fail_msg("mrc %s: not a JSON object (%s):\n%s", args, je.text, out);
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

static const char *jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("'%s' missing or not a string", key);
    return json_string_value(v);
}

/* points[i].miss_ratio where capacity_blocks == cap */
static double point(const json_t *o, const char *field, long long cap)
{
    const json_t *pts = json_object_get(o, "points");
    size_t i;
    json_t *p;
    json_array_foreach(pts, i, p) {
        if ((long long)jnum(p, "capacity_blocks") == cap)
            return jnum(p, field);
    }
    fail_msg("no point at capacity %lld", cap);
    return 0;
}

/* Each row of the reference file for a policy: capacity and miss ratio. */
static size_t reference_rows(const char *policy, long long *cap, double *miss, size_t max)
{
    char path[1200], line[256];
    snprintf(path, sizeof path, "%s/../reference/mooncake_conversation_libcachesim.csv",
             tu_data_dir());
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("skipped: %s absent\n", path);
        skip();
    }
    size_t n = 0;
    assert_non_null(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f) && n < max) {
        char p[32];
        assert_int_equal(sscanf(line, "%31[^,],%lld,%lf", p, &cap[n], &miss[n]), 3);
        if (!strcmp(p, policy))
            n++;
    }
    fclose(f);
    return n;
}

static void check_reference(const char *policy, const char *extra)
{
    const char *trace = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    long long cap[16];
    double want[16];
    size_t n = reference_rows(policy, cap, want, 16);
    assert_int_equal(n, 5);
    char args[2048], sizes[256] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(sizes + strlen(sizes), sizeof sizes - strlen(sizes), "%s%lld", i ? "," : "",
                 cap[i]);
    snprintf(args, sizeof args, "'%s' --mode independent --policy %s --sizes %s --json %s",
             trace, policy, sizes, extra);
    json_t *o = run_json(args);
    assert_string_equal(jstr(o, "policy"), policy);
    assert_string_equal(jstr(o, "mode"), "independent");
    for (size_t i = 0; i < n; i++) {
        double got = point(o, "miss_ratio", cap[i]);
        printf("  %s %6lld: %.6f (libCacheSim %.4f)\n", policy, cap[i], got, want[i]);
        if (fabs(got - want[i]) > 0.00005 + 1e-12)
            fail_msg("%s at %lld: %.6f, libCacheSim %.4f", policy, cap[i], got, want[i]);
    }
    json_decref(o);
}

static void test_lru_reference(void **state)
{
    (void)state;
    check_reference("lru", "");
}

static void test_fifo_reference_threads(void **state)
{
    (void)state;
    check_reference("fifo", "--threads 2");
}

/* the stack pass and one prefix-cache replay per capacity agree exactly */
static void test_exact_equals_sim(void **state)
{
    (void)state;
    const char *trace = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    char args[2048];
    const char *sizes = "1,100,2000,9000,40000,182790,1000000";
    snprintf(args, sizeof args, "'%s' --sizes %s --json", trace, sizes);
    json_t *ex = run_json(args);
    snprintf(args, sizeof args, "'%s' --sizes %s --json --method sim --threads 2", trace, sizes);
    json_t *sim = run_json(args);
    assert_string_equal(jstr(ex, "method"), "exact");
    assert_string_equal(jstr(sim, "method"), "sim");
    assert_int_equal((long long)jnum(ex, "inconsistent_accesses"), 0);
    assert_int_equal((long long)jnum(ex, "distinct_blocks"), 182790);
    const long long caps[] = {1, 100, 2000, 9000, 40000, 182790, 1000000};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        assert_float_equal(point(ex, "miss_ratio", caps[i]), point(sim, "miss_ratio", caps[i]),
                           1e-9);
        assert_float_equal(point(ex, "token_hit_ratio", caps[i]),
                           point(sim, "token_hit_ratio", caps[i]), 1e-9);
    }
    /* a cache of every distinct block: the ideal ratios of the reference */
    assert_float_equal(1 - point(ex, "miss_ratio", 182790), 0.3664, 0.00005);
    assert_float_equal(point(ex, "token_hit_ratio", 182790), 0.3736, 0.00005);
    json_decref(ex);
    json_decref(sim);
}

/* --tiers: the curve of the top tier of a chain = `ctxcache replay --tiers`
 * of the chain with that top size (one request at a time, as the curve), at
 * every size; the same curve with 1 and 2 threads.  The curve times nothing,
 * so the replays run untimed (--backend rates): an HBM tier of 400,000
 * blocks (839 GB of Llama-3-8B KV) fits no GPU, and a timed run refuses it.
 * Where the top tier fits an H100, the timed replay (--backend sim) serves
 * the same blocks as the untimed one: one request at a time, the cache
 * figures do not depend on the executor. */
static void test_tier_chain_equals_replays(void **state)
{
    (void)state;
    char tr[512], args[2048], cmd[2048], *out = NULL;
    tu_tmp_path(tr, sizeof tr, "mrc_chain.h5");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1 >/dev/null 2>&1", tu_bin(), tr);
    assert_int_equal(system(cmd), 0);
    const long long caps[] = {200, 1000, 3000, 400000};
    snprintf(args, sizeof args, "'%s' --tiers 'hbm:*,dram:3000' --sizes 200,1000,3000,400000 "
             "--policy fifo --json --threads 1", tr);
    json_t *c1 = run_json(args);
    snprintf(args, sizeof args, "'%s' --tiers 'hbm:*,dram:3000' --sizes 200,1000,3000,400000 "
             "--policy fifo --json --threads 2", tr);
    json_t *c2 = run_json(args);
    assert_string_equal(jstr(c1, "tiers"), "hbm:*,dram:3000");
    assert_string_equal(jstr(c1, "method"), "sim");
    double prev = 2;
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s replay '%s' --tiers hbm:%lld,dram:3000 --policy fifo "
                 "--concurrency none --backend rates --json 2>/dev/null", tu_bin(), tr, caps[i]);
        if (tu_run(cmd, &out) != 0)
            fail_msg("%s\n%s", cmd, out);
        json_error_t je;
        json_t *r = json_loads(out, 0, &je);
        free(out);
        assert_non_null(r);
        if (caps[i] <= 3000) { /* fits: the timed run's cache figures are the same */
            snprintf(cmd, sizeof cmd, "%s replay '%s' --tiers hbm:%lld,dram:3000 --policy fifo "
                     "--concurrency none --backend sim --json 2>/dev/null", tu_bin(), tr,
                     caps[i]);
            if (tu_run(cmd, &out) != 0)
                fail_msg("%s\n%s", cmd, out);
            json_t *s = json_loads(out, 0, &je);
            free(out);
            assert_non_null(s);
            const char *keys[] = {"block_hit_ratio", "token_hit_ratio", "hit_blocks",
                                  "evictions", "blocks_moved"};
            for (size_t q = 0; q < sizeof keys / sizeof keys[0]; q++)
                if (jnum(s, keys[q]) != jnum(r, keys[q]))
                    fail_msg("hbm:%lld %s: sim %.17g, rates %.17g", caps[i], keys[q],
                             jnum(s, keys[q]), jnum(r, keys[q]));
            json_decref(s);
        }
        double miss = point(c1, "miss_ratio", caps[i]);
        assert_float_equal(miss, 1 - jnum(r, "block_hit_ratio"), 1e-9);
        assert_float_equal(point(c1, "token_hit_ratio", caps[i]), jnum(r, "token_hit_ratio"),
                           1e-9);
        assert_true(miss == point(c2, "miss_ratio", caps[i]));
        assert_true(miss <= prev); /* more HBM, no more misses (FIFO with a DRAM tier below) */
        prev = miss;
        json_decref(r);
    }
    /* the chain matters: a top tier of 200 over 3000 DRAM blocks misses less
     * than 200 blocks alone */
    snprintf(args, sizeof args, "'%s' --sizes 200 --policy fifo --json", tr);
    json_t *one = run_json(args);
    assert_true(point(c1, "miss_ratio", 200) < point(one, "miss_ratio", 200));
    json_decref(one);
    json_decref(c1);
    json_decref(c2);
    unlink(tr);
}

/* SHARDS records its rate and seed; the CSV carries the same curve */
static void test_shards_json_and_csv(void **state)
{
    (void)state;
    const char *trace = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    char csv[512], args[2048];
    tu_tmp_path(csv, sizeof csv, "mrc_curve.csv");
    snprintf(args, sizeof args,
             "'%s' --method shards --sample-rate 0.05 --seed 9 --sizes auto --json -o '%s'",
             trace, csv);
    json_t *o = run_json(args);
    assert_string_equal(jstr(o, "method"), "shards");
    assert_float_equal(jnum(o, "sample_rate"), 0.05, 0);
    assert_int_equal((long long)jnum(o, "seed"), 9);
    assert_true(json_is_true(json_object_get(o, "adjusted")));
    double est = jnum(o, "distinct_blocks_estimate");
    assert_true(est > 182790 * 0.8 && est < 182790 * 1.2);
    const json_t *pts = json_object_get(o, "points");
    assert_true(json_array_size(pts) >= 20);

    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "capacity_blocks,miss_ratio,token_hit_ratio,policy,mode,method,"
                              "sample_rate,seed\n");
    size_t rows = 0;
    while (fgets(line, sizeof line, f)) {
        long long cap;
        double miss, tok, rate;
        char rest[256];
        assert_int_equal(sscanf(line, "%lld,%lf,%lf,%255s", &cap, &miss, &tok, rest), 4);
        assert_string_equal(rest, "\"lru\",prefix,shards,0.05,9");
        assert_float_equal(miss, point(o, "miss_ratio", cap), 1e-8);
        assert_float_equal(tok, point(o, "token_hit_ratio", cap), 1e-8);
        (void)rate;
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, json_array_size(pts));
    unlink(csv);
    json_decref(o);
    /* the same run twice: the same curve */
    char *a = run_ok(args), *b = NULL;
    unlink(csv);
    b = run_ok(args);
    unlink(csv);
    const char *ea = strstr(a, "\"elapsed_s\""), *eb = strstr(b, "\"elapsed_s\"");
    assert_non_null(ea);
    assert_non_null(eb);
    assert_int_equal(ea - a, eb - b);
    assert_memory_equal(a, b, (size_t)(ea - a));
    free(a);
    free(b);
}

static void test_text_table(void **state)
{
    (void)state;
    const char *trace = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    char args[2048];
    snprintf(args, sizeof args, "'%s' --sizes 10000", trace);
    char *out = run_ok(args);
    assert_non_null(strstr(out, "capacity_blocks  miss_ratio  token_hit_ratio"));
    assert_non_null(strstr(out, "lru, prefix mode, exact LRU stack distances"));
    assert_non_null(strstr(out, "182790 distinct blocks"));
    free(out);
}

/* exit status 2 for usage, 1 for bad data; the message names the problem */
static void test_bad_usage(void **state)
{
    (void)state;
    char small[512];
    const char *jsonl = "{\"timestamp\": 0, \"input_length\": 1000, \"output_length\": 5, "
                        "\"hash_ids\": [1, 2]}\n";
    tu_write_tmp(small, sizeof small, "mrc_small.jsonl", jsonl, strlen(jsonl));
    const struct {
        const char *args;
        int status;
        const char *msg;
    } cases[] = {
        {"--sample-rate 2 --method shards", 2, "--sample-rate"},
        {"--sample-rate 0 --method shards", 2, "--sample-rate"},
        {"--sample-rate 0.1", 2, "go with --method shards"},
        {"--method shards --policy fifo", 2, "LRU only"},
        {"--method nope", 2, "--method"},
        {"--mode nope", 2, "--mode"},
        {"--policy nope", 2, "--policy"},
        {"--sizes 0", 2, "at least 1"},
        {"--sizes 10,,20", 2, "--sizes"},
        {"--sizes abc", 2, "--sizes"},
        {"--threads 2", 2, "--threads"},
        {"--max-samples 0 --method shards", 2, "--max-samples"},
        {"--tiers hbm:100,dram:200", 2, "'*'"},
        {"--tiers 'hbm:*'", 2, "two tiers"},
        {"--tiers 'hbm:*,dram:lots'", 2, "--tiers"},
        {"--tiers 'hbm:*,dram:10' --method shards", 2, "not sampled"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[2048], *out;
        snprintf(cmd, sizeof cmd, "%s mrc '%s' %s", tu_bin(), small, cases[i].args);
        int rc = tu_run(cmd, &out);
        if (rc != cases[i].status || !strstr(out, cases[i].msg))
            fail_msg("%s: exit %d (want %d), output:\n%s", cmd, rc, cases[i].status, out);
        free(out);
    }
    /* the small trace itself works: 2 blocks, nothing repeats */
    char args[1024];
    snprintf(args, sizeof args, "'%s' --sizes 1,5 --json", small);
    json_t *o = run_json(args);
    assert_float_equal(point(o, "miss_ratio", 5), 1.0, 0);
    json_decref(o);

    /* missing trace: 1; bad trace: 1 naming the line; no CSV left behind */
    char cmd[2048], *out, csv[512];
    tu_tmp_path(csv, sizeof csv, "mrc_bad.csv");
    snprintf(cmd, sizeof cmd, "%s mrc /nonexistent/trace.jsonl -o '%s'", tu_bin(), csv);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "/nonexistent/trace.jsonl"));
    free(out);
    char bad[512];
    const char *badj = "{\"timestamp\": 0, \"input_length\": 1000, \"output_length\": 5, "
                       "\"hash_ids\": [1, 2]}\n{\"timestamp\": 1, \"input_length\": \"x\"}\n";
    tu_write_tmp(bad, sizeof bad, "mrc_bad.jsonl", badj, strlen(badj));
    snprintf(cmd, sizeof cmd, "%s mrc '%s' --format mooncake -o '%s'", tu_bin(), bad, csv);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, ":2:"));
    free(out);
    struct stat st;
    assert_int_not_equal(stat(csv, &st), 0);
    /* unwritable output: 1, nothing written */
    snprintf(cmd, sizeof cmd, "%s mrc '%s' -o /nonexistent/dir/c.csv", tu_bin(), small);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "/nonexistent/dir/c.csv"));
    free(out);
    /* help */
    snprintf(cmd, sizeof cmd, "%s mrc --help", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "examples:"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s help mrc", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "--sample-rate"));
    free(out);
    unlink(small);
    unlink(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_reference),
        cmocka_unit_test(test_fifo_reference_threads),
        cmocka_unit_test(test_exact_equals_sim),
        cmocka_unit_test(test_tier_chain_equals_replays),
        cmocka_unit_test(test_shards_json_and_csv),
        cmocka_unit_test(test_text_table),
        cmocka_unit_test(test_bad_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
