/* test_cli_bench.c -- `ctxcache bench --baseline`, the regression gate, on
 * hand-made baseline/current files: all within tolerance, a regression
 * beyond it (each direction: higher-better, lower-better, two-sided), an
 * improvement, a missing metric (fails), a new metric (passes), per-metric
 * overrides in the baseline, nested names, malformed JSON (the error names
 * file, line and column), usage errors.  The JUnit XML is checked with
 * python3's xml.etree, the JSON with jansson. */
#include "testutil.h"

#include <jansson.h>

static const char *write_json(char *buf, size_t len, const char *name, const char *text)
{
    return tu_write_tmp(buf, len, name, text, strlen(text));
}

/* Runs the gate; returns its exit status; out: its output. */
static int gate(const char *base, const char *cur, const char *extra, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s bench --baseline %s --current %s %s", tu_bin(), base, cur,
             extra ? extra : "");
    return tu_run(cmd, out);
}

static const char base_text[] =
    "{\"block_hit_ratio\": 0.5, \"ttft_p99_ms\": 100, \"blocks\": 1000,\n"
    " \"cache_vs_libcachesim_prefix\": 2.0, \"elapsed_s\": 10,\n"
    " \"tiers\": [{\"hit_blocks\": 40}], \"name\": \"x\",\n"
    " \"targets\": {\"a\": {\"value\": 1}}, \"machine\": {\"cpus\": 2}}\n";

static void test_pass_and_improvement(void **state)
{
    (void)state;
    char b[512], c[512], *out = NULL;
    write_json(b, sizeof b, "base.json", base_text);
    /* all within 5 %: ratio -4 %, ttft +4 %, count +4 %, speed ratio -4 % */
    write_json(c, sizeof c, "cur.json",
               "{\"block_hit_ratio\": 0.48, \"ttft_p99_ms\": 104, \"blocks\": 1040,"
               " \"cache_vs_libcachesim_prefix\": 1.92, \"elapsed_s\": 10.4,"
               " \"tiers\": [{\"hit_blocks\": 41}], \"name\": \"y\", \"targets\": {},"
               " \"machine\": {\"cpus\": 64}}");
    if (gate(b, c, "--tolerance 5", &out) != 0)
        fail_msg("%s", out);
    assert_non_null(strstr(out, "6 metrics, 0 failed"));
    assert_non_null(strstr(out, "tiers[0].hit_blocks"));
    assert_null(strstr(out, "targets")); /* skipped */
    assert_null(strstr(out, "machine"));
    free(out);
    /* improvements: ratio +20 %, ttft -50 %, elapsed -50 % */
    write_json(c, sizeof c, "cur.json",
               "{\"block_hit_ratio\": 0.6, \"ttft_p99_ms\": 50, \"blocks\": 1000,"
               " \"cache_vs_libcachesim_prefix\": 3, \"elapsed_s\": 5,"
               " \"tiers\": [{\"hit_blocks\": 40}], \"extra_new\": 3}");
    assert_int_equal(gate(b, c, "--tolerance 5", &out), 0);
    assert_non_null(strstr(out, "improved  block_hit_ratio"));
    assert_non_null(strstr(out, "improved  ttft_p99_ms"));
    /* wall clock: reported, not gated */
    assert_non_null(strstr(out, "not-gated elapsed_s"));
    assert_non_null(strstr(out, "1 new"));
    free(out);
    unlink(b);
    unlink(c);
}

static void test_regressions_junit_json(void **state)
{
    (void)state;
    char b[512], c[512], x[512], j[512], cmd[2048], extra[1200], *out = NULL;
    write_json(b, sizeof b, "base.json", base_text);
    /* hit ratio -10 %, ttft +10 %, blocks +10 % (two-sided), speed ratio
     * -10 %, hit_blocks missing */
    write_json(c, sizeof c, "cur.json",
               "{\"block_hit_ratio\": 0.45, \"ttft_p99_ms\": 110, \"blocks\": 1100,"
               " \"cache_vs_libcachesim_prefix\": 1.8, \"elapsed_s\": 10, \"tiers\": []}");
    tu_tmp_path(x, sizeof x, "junit.xml");
    tu_tmp_path(j, sizeof j, "gate.json");
    snprintf(extra, sizeof extra, "--tolerance 5 --junit %s --json %s", x, j);
    assert_int_equal(gate(b, c, extra, &out), 1);
    assert_non_null(strstr(out, "regressed block_hit_ratio"));
    assert_non_null(strstr(out, "regressed ttft_p99_ms"));
    assert_non_null(strstr(out, "regressed blocks"));
    assert_non_null(strstr(out, "regressed cache_vs_libcachesim_prefix"));
    assert_non_null(strstr(out, "missing   tiers[0].hit_blocks"));
    assert_non_null(strstr(out, "not-gated elapsed_s"));
    assert_non_null(strstr(out, "FAIL"));
    free(out);
    /* JUnit: well-formed, 6 testcases, 5 failures with baseline/current/delta
     * (elapsed_s is a skipped testcase) */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import xml.etree.ElementTree as E; r=E.parse('%s').getroot(); "
             "s=r.find('testsuite'); cs=s.findall('testcase'); "
             "f=[c for c in cs if c.find('failure') is not None]; "
             "assert len(cs)==6 and len(f)==5 and s.get('failures')=='5', (len(cs), len(f)); "
             "assert s.get('skipped')=='1' and [c for c in cs if c.get('name')=='elapsed_s'][0].find('skipped') is not None; "
             "m=[c.find('failure').get('message') for c in f if c.get('name')=='block_hit_ratio'][0]; "
             "assert 'baseline 0.5' in m and 'current 0.45' in m and '-10.000%%' in m, m; "
             "print('junit ok')\"", x);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "junit ok"));
    free(out);
    json_error_t je;
    json_t *g = json_load_file(j, 0, &je);
    assert_non_null(g);
    assert_true(json_is_false(json_object_get(g, "passed")));
    assert_int_equal(json_integer_value(json_object_get(g, "regressions")), 5);
    assert_int_equal(json_integer_value(json_object_get(g, "missing")), 1);
    json_t *m0 = json_array_get(json_object_get(g, "metrics"), 0);
    assert_string_equal(json_string_value(json_object_get(m0, "name")), "block_hit_ratio");
    assert_string_equal(json_string_value(json_object_get(m0, "direction")), "higher");
    assert_true(fabs(json_number_value(json_object_get(m0, "delta_pct")) + 10.0) < 1e-9);
    json_decref(g);

    /* a wider tolerance lets the 10 % moves pass; the missing one still fails */
    assert_int_equal(gate(b, c, "--tolerance 15", &out), 1);
    assert_non_null(strstr(out, "1 failed (1 missing)"));
    free(out);
    unlink(x);
    unlink(j);
    unlink(b);
    unlink(c);
}

static void test_overrides(void **state)
{
    (void)state;
    char b[512], c[512], *out = NULL;
    write_json(b, sizeof b, "base.json",
               "{\"gate\": {\"tolerance_pct\": 1, \"metrics\": {"
               "   \"blocks\": {\"direction\": \"ignore\"},"
               "   \"count\": {\"direction\": \"higher\"},"
               "   \"block_hit_ratio\": {\"tolerance_pct\": 20}}},"
               " \"block_hit_ratio\": 0.5, \"blocks\": 10, \"count\": 10}");
    /* hit ratio -10 % (allowed 20 %), blocks halved (ignored), count up */
    write_json(c, sizeof c, "cur.json", "{\"block_hit_ratio\": 0.45, \"count\": 20}");
    if (gate(b, c, "", &out) != 0)
        fail_msg("%s", out);
    assert_non_null(strstr(out, "ignored   blocks"));
    assert_non_null(strstr(out, "improved  count"));
    assert_null(strstr(out, "gate.")); /* the settings are no metric */
    free(out);
    /* the baseline's tolerance (1 %) applies without --tolerance */
    write_json(c, sizeof c, "cur.json", "{\"block_hit_ratio\": 0.45, \"count\": 9.8}");
    assert_int_equal(gate(b, c, "", &out), 1);
    assert_non_null(strstr(out, "regressed count"));
    free(out);
    /* a bad override is a usage error */
    write_json(b, sizeof b, "base.json",
               "{\"gate\": {\"metrics\": {\"x\": {\"direction\": \"up\"}}}, \"x\": 1}");
    assert_int_equal(gate(b, c, "", &out), 2);
    assert_non_null(strstr(out, "gate.metrics.x.direction"));
    free(out);
    unlink(b);
    unlink(c);
}

static void test_malformed_and_usage(void **state)
{
    (void)state;
    char b[512], c[512], cmd[1024], *out = NULL;
    write_json(b, sizeof b, "bad.json", "{\"a\": 1,\n \"b\": }\n");
    write_json(c, sizeof c, "cur.json", "{\"a\": 1}");
    assert_int_equal(gate(b, c, "", &out), 2);
    /* jansson: line 2, the '}' at column 7 */
    char want[600];
    snprintf(want, sizeof want, "%s:2:", b);
    if (!strstr(out, want) || !strstr(out, "malformed JSON"))
        fail_msg("expected '%s...' in: %s", want, out);
    free(out);
    assert_int_equal(gate(c, b, "", &out), 2); /* the current file too */
    assert_non_null(strstr(out, b));
    free(out);
    write_json(b, sizeof b, "arr.json", "[1, 2]");
    assert_int_equal(gate(b, c, "", &out), 2);
    assert_non_null(strstr(out, "expected a JSON object"));
    free(out);
    assert_int_equal(gate("/nonexistent/base.json", c, "", &out), 2);
    assert_non_null(strstr(out, "/nonexistent/base.json"));
    free(out);
    /* fuzz_bench_gate's finding: a key with a '.' beside a nested object
     * of that name gives one metric name twice ("gf.hiro": 0 and 4), and
     * the file compared with itself failed (each name met the other's
     * value); now a clear error, exit 2, naming the file and the name, in
     * either role and in --make-baseline */
    write_json(b, sizeof b, "dup.json", "{\"gf\": {\"t:ci_lo\":2, \"hiro\":0}, \"gf.hiro\": 4}\n");
    assert_int_equal(gate(b, b, "", &out), 2);
    if (!strstr(out, b) || !strstr(out, "'gf.hiro'"))
        fail_msg("expected the file and 'gf.hiro' in: %s", out);
    free(out);
    assert_int_equal(gate(c, b, "", &out), 2);
    assert_non_null(strstr(out, "'gf.hiro'"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench --make-baseline %s -o /dev/null", tu_bin(), b);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "'gf.hiro'"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench --tolerance 5", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "%s bench --baseline %s --tolerance -1", tu_bin(), c);
    assert_int_equal(tu_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "%s bench --baseline %s --tolerance x", tu_bin(), c);
    assert_int_equal(tu_run(cmd, NULL), 2);
    unlink(b);
    unlink(c);
}

/* The gate on real output: a replay's JSON against itself passes, and
 * against a copy with the hit ratio raised by hand fails. */
static void test_replay_json(void **state)
{
    (void)state;
    char tr[512], a[512], cmd[2048], *out = NULL;
    tu_tmp_path(tr, sizeof tr, "gate_trace.h5");
    tu_tmp_path(a, sizeof a, "gate_replay.json");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1 >/dev/null 2>&1 && %s replay %s "
             "--capacity-blocks 2000 --json > %s", tu_bin(), tr, tu_bin(), tr, a);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(gate(a, a, "--tolerance 0", &out), 0);
    free(out);
    json_error_t je;
    json_t *j = json_load_file(a, 0, &je);
    assert_non_null(j);
    double hr = json_number_value(json_object_get(j, "block_hit_ratio"));
    json_object_set_new(j, "block_hit_ratio", json_real(hr * 1.02));
    char b[512];
    tu_tmp_path(b, sizeof b, "gate_base.json");
    assert_int_equal(json_dump_file(j, b, 0), 0);
    json_decref(j);
    assert_int_equal(gate(b, a, "--tolerance 1", &out), 1);
    assert_non_null(strstr(out, "regressed block_hit_ratio"));
    free(out);
    unlink(tr);
    unlink(a);
    unlink(b);
}

/* The direction table on bench.json's names (expected by reading the
 * documented rules, first match wins). */
static void test_direction_table(void **state)
{
    (void)state;
    static const struct {
        const char *name, *dir;
    } want[] = {
        {"cache_lru_prefix_zipf_mlps", "higher"},  {"libcachesim_lru_mrps", "higher"},
        {"cache_peak_rss_mb", "lower"},             {"hdf5_file_mb", "lower"},
        {"cpu_prefill_gflops_per_cpu_s", "higher"}, {"ttft_speedup_90pct_cached", "higher"},
        {"cpu_ttft_1k_90pct_cached_s", "lower"},    {"mrc_shards_mae", "lower"},
        {"hdf5_vs_jsonl_read_speedup", "higher"},   {"cache_vs_libcachesim_prefix", "higher"},
        {"mrc_exact_accesses_per_s", "higher"},     {"elapsed_s", "lower"},
        {"block_miss_ratio", "lower"},              {"token_hit_ratio", "higher"},
        {"cache_bytes_per_block_lru_1tier", "lower"}, {"queue_wait_ns", "lower"},
        {"cost_usd", "lower"},                      {"evictions", "lower"},
        {"zipf_seed", "both"},                      {"hit_blocks", "higher"},
        /* confidence bounds follow their metric (suffix rules included) */
        {"tpot_p50_s_ci_lo", "lower"},              {"throughput_tokens_per_s_ci_hi", "higher"},
        {"token_hit_ratio_ci_hi", "higher"},        {"ttft_p99_s_ci_lo", "lower"},
        /* counts that rise with the hit ratio, and those that fall */
        {"prefill_gpu_s_saved", "higher"},          {"tiers[1].hit_tokens", "higher"},
        {"cached_tokens_by_tier[0]", "higher"},     {"tiers[0].evicted_blocks", "lower"},
        {"tiers[0].inserted_blocks", "lower"},      {"computed_tokens", "lower"},
        {"tiers[1].bytes_up", "lower"},             {"blocks_moved", "lower"},
        {"steps", "ignore"},                        {"max_in_flight", "ignore"},
        {"gptcache_decision_agreement", "higher"},  {"recall_at_1_1m", "higher"},
    };
    size_t n = sizeof want / sizeof want[0];
    char text[4096] = "{", b[512], j[512], extra[600], *out = NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s\"%s\": 1", i ? ", " : "",
                 want[i].name);
    strcat(text, "}");
    write_json(b, sizeof b, "dirs.json", text);
    tu_tmp_path(j, sizeof j, "dirs_gate.json");
    snprintf(extra, sizeof extra, "--json %s", j);
    assert_int_equal(gate(b, b, extra, &out), 0);
    free(out);
    json_error_t je;
    json_t *g = json_load_file(j, 0, &je);
    assert_non_null(g);
    json_t *ms = json_object_get(g, "metrics");
    /* the five speed figures are wall clock, the rest gated */
    assert_int_equal(json_integer_value(json_object_get(g, "wall_clock_not_gated")), 5);
    assert_int_equal(json_array_size(ms), n);
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(ms, i);
        const char *d = json_string_value(json_object_get(m, "direction"));
        if (strcmp(d, want[i].dir))
            fail_msg("%s: direction %s, expected %s", want[i].name, d, want[i].dir);
    }
    json_decref(g);
    unlink(b);
    unlink(j);
}


/* Wall clock: the built-in names, a file's own "wall_clock" list (names
 * and patterns), and --gate-wall-clock to gate them after all. */
static void test_wall_clock(void **state)
{
    (void)state;
    char b[512], c[512], *out = NULL;
    write_json(b, sizeof b, "wb.json",
               "{\"wall_clock\": [\"sim_1m_requests_s\", \"bench_*_ms\"],"
               " \"sim_1m_requests_s\": 10, \"bench_read_ms\": 5, \"elapsed_s\": 1,"
               " \"block_lookups_per_s\": 1e6, \"ttft_p50_s\": 0.1}");
    /* every timing three times worse; the simulated TTFT unchanged */
    write_json(c, sizeof c, "wc.json",
               "{\"sim_1m_requests_s\": 30, \"bench_read_ms\": 15, \"elapsed_s\": 3,"
               " \"block_lookups_per_s\": 3e5, \"ttft_p50_s\": 0.1}");
    if (gate(b, c, "--tolerance 5", &out) != 0)
        fail_msg("%s", out);
    assert_non_null(strstr(out, "not-gated sim_1m_requests_s"));
    assert_non_null(strstr(out, "not-gated bench_read_ms"));
    assert_non_null(strstr(out, "not-gated block_lookups_per_s"));
    assert_non_null(strstr(out, "ok        ttft_p50_s"));
    assert_non_null(strstr(out, "4 wall clock not gated"));
    free(out);
    /* asked for, they are gated by their direction */
    assert_int_equal(gate(b, c, "--tolerance 5 --gate-wall-clock", &out), 1);
    assert_non_null(strstr(out, "regressed sim_1m_requests_s"));
    assert_non_null(strstr(out, "regressed block_lookups_per_s"));
    assert_non_null(strstr(out, "4 failed"));
    free(out);
    /* --only-failures prints the failures and the verdict only */
    assert_int_equal(gate(b, c, "--tolerance 5 --gate-wall-clock --only-failures", &out), 1);
    assert_null(strstr(out, "ttft_p50_s"));
    assert_non_null(strstr(out, "regressed elapsed_s"));
    assert_non_null(strstr(out, "FAIL"));
    free(out);
    unlink(b);
    unlink(c);
}

/* --make-baseline on a deterministic run: an identical re-run passes (its
 * wall-clock figures differ), a run whose caching improved shows no
 * regression but the one real cost (metadata per block), and a change of
 * the figures by hand fails at tolerance 0. */
static void test_make_baseline_replay(void **state)
{
    (void)state;
    char tr[512], r1[512], r2[512], r3[512], bs[512], cmd[4096], *out = NULL;
    tu_tmp_path(tr, sizeof tr, "mb_trace.h5");
    tu_tmp_path(r1, sizeof r1, "mb_r1.json");
    tu_tmp_path(r2, sizeof r2, "mb_r2.json");
    tu_tmp_path(r3, sizeof r3, "mb_r3.json");
    tu_tmp_path(bs, sizeof bs, "mb_base.json");
    snprintf(cmd, sizeof cmd,
             "%s gen default -o %s --seed 1 >/dev/null 2>&1 && "
             "%s replay %s --capacity-blocks 2000 --concurrency none --json > %s && "
             "%s replay %s --capacity-blocks 2000 --concurrency none --json > %s && "
             "%s replay %s --capacity-blocks 2000 --concurrency none --policy arc --json > %s",
             tu_bin(), tr, tu_bin(), tr, r1, tu_bin(), tr, r2, tu_bin(), tr, r3);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s bench --make-baseline %s -o %s", tu_bin(), r1, bs);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "2 wall clock"));
    free(out);
    json_error_t je;
    json_t *g = json_load_file(bs, 0, &je);
    assert_non_null(g);
    json_t *rules = json_object_get(json_object_get(g, "gate"), "metrics");
    assert_true(json_is_true(json_object_get(json_object_get(rules, "elapsed_s"), "wall_clock")));
    assert_true(json_number_value(json_object_get(json_object_get(rules, "block_hit_ratio"),
                                                  "tolerance_pct")) == 0.0);
    assert_true(json_number_value(json_object_get(g, "block_hit_ratio")) > 0);
    json_decref(g);
    /* identical re-run: passes at tolerance 0 */
    if (gate(bs, r2, "", &out) != 0)
        fail_msg("%s", out);
    assert_non_null(strstr(out, "0 failed"));
    free(out);
    /* ARC over LRU at the same size: a higher hit ratio; the only failure is
     * ARC's larger metadata (true), not the hit counts */
    assert_int_equal(gate(bs, r3, "--only-failures", &out), 1);
    assert_non_null(strstr(out, "regressed metadata_bytes_per_block"));
    assert_non_null(strstr(out, "1 failed"));
    free(out);
    unlink(tr);
    unlink(r1);
    unlink(r2);
    unlink(r3);
    unlink(bs);
}

/* --make-baseline on a bench.json: figures with a target are checked
 * against the target (a 50 % move within it passes), timings are wall
 * clock, figures that need optional tools may be absent; bad bounds and
 * baselines of another kind are usage errors. */
static void test_make_baseline_bench(void **state)
{
    (void)state;
    char run[512], bs[512], c[512], cmd[2048], *out = NULL;
    write_json(run, sizeof run, "mb_bench.json",
               "{\"wall_clock\": [\"sim_1m_requests_s\"],"
               " \"hdf5_vs_jsonl_read_speedup\": 12, \"ttft_error_median\": 0.01,"
               " \"sim_1m_requests_s\": 14, \"cache_lru_prefix_zipf_mlps\": 12,"
               " \"cache_vs_libcachesim_prefix\": 2.5, \"mrc_shards_speedup\": 10,"
               " \"targets\": {\"hdf5_vs_jsonl_read_speedup\": {\"value\": 12, \"target\": \">= 10.0\", \"ok\": true},"
               "               \"ttft_error_median\": {\"value\": 0.01, \"target\": \"<= 0.05\", \"ok\": true},"
               "               \"cache_vs_libcachesim_prefix\": {\"value\": 2.5, \"target\": \">= 1.0\", \"ok\": true}},"
               " \"machine\": {\"cpus\": 2}}");
    tu_tmp_path(bs, sizeof bs, "mb_bench_base.json");
    snprintf(cmd, sizeof cmd, "%s bench --make-baseline %s -o %s", tu_bin(), run, bs);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "2 wall clock"));
    assert_non_null(strstr(out, "3 checked against their target"));
    assert_non_null(strstr(out, "1 optional"));
    free(out);
    /* error up 4x but within its target; speed-up down 15 % (within 25 %);
     * no libcachesim figure (optional); timings 3x worse (not gated) */
    write_json(c, sizeof c, "mb_bench_cur.json",
               "{\"hdf5_vs_jsonl_read_speedup\": 10.5, \"ttft_error_median\": 0.04,"
               " \"sim_1m_requests_s\": 42, \"cache_lru_prefix_zipf_mlps\": 4,"
               " \"mrc_shards_speedup\": 8.5}");
    if (gate(bs, c, "", &out) != 0)
        fail_msg("%s", out);
    assert_non_null(strstr(out, "absent    cache_vs_libcachesim_prefix"));
    assert_non_null(strstr(out, "bound <= 0.05"));
    free(out);
    /* past the target: fails even though the relative move is small */
    write_json(c, sizeof c, "mb_bench_cur.json",
               "{\"hdf5_vs_jsonl_read_speedup\": 9.9, \"ttft_error_median\": 0.01,"
               " \"sim_1m_requests_s\": 14, \"cache_lru_prefix_zipf_mlps\": 12,"
               " \"mrc_shards_speedup\": 10}");
    assert_int_equal(gate(bs, c, "--only-failures", &out), 1);
    assert_non_null(strstr(out, "regressed hdf5_vs_jsonl_read_speedup"));
    assert_non_null(strstr(out, "bound >= 10.0"));
    free(out);
    /* a baseline of another kind of run: nothing shared, the gate does not run */
    write_json(c, sizeof c, "mb_other.json", "{\"points\": [{\"block_hit_ratio\": 0.5}]}");
    assert_int_equal(gate(bs, c, "", &out), 2);
    assert_non_null(strstr(out, "share no metric"));
    free(out);
    /* a malformed bound */
    write_json(c, sizeof c, "mb_badbound.json",
               "{\"gate\": {\"metrics\": {\"x\": {\"bound\": \"about 3\"}}}, \"x\": 1}");
    assert_int_equal(gate(c, c, "", &out), 2);
    assert_non_null(strstr(out, "gate.metrics.x.bound"));
    free(out);
    /* usage */
    snprintf(cmd, sizeof cmd, "%s bench --make-baseline %s", tu_bin(), run);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "needs -o"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s bench --baseline %s -o x.json", tu_bin(), bs);
    assert_int_equal(tu_run(cmd, NULL), 2);
    unlink(run);
    unlink(bs);
    unlink(c);
}


/* The shipped bench baseline (the README's CI recipe): every figure is a
 * target bound or a raw wall-clock time (reported, not gated); a run at the
 * targets passes, one past a target fails, one without the optional
 * libCacheSim and PyTorch figures passes. */
static void test_shipped_bench_baseline(void **state)
{
    (void)state;
    const char *base = "bench/baseline.json";
    json_error_t je;
    json_t *b = json_load_file(base, 0, &je);
    if (!b)
        fail_msg("%s:%d: %s", base, je.line, je.text);
    json_t *rules = json_object_get(json_object_get(b, "gate"), "metrics");
    assert_true(json_object_size(rules) >= 60);
    const char *k;
    json_t *r;
    json_object_foreach(rules, k, r)
        if (!json_is_string(json_object_get(r, "bound")) &&
            !json_is_true(json_object_get(r, "wall_clock")))
            fail_msg("%s: neither a bound nor wall clock", k);
    /* the run: the targets themselves, less the optional figures */
    json_t *cur = json_deep_copy(b);
    json_object_del(cur, "gate");
    json_object_del(cur, "targets");
    json_object_foreach(rules, k, r) {
        const char *bd = json_string_value(json_object_get(r, "bound"));
        if (json_is_true(json_object_get(r, "optional")))
            json_object_del(cur, k);
        else if (bd && bd[1] != '=') /* a strict bound: just inside it */
            json_object_set_new(cur, k, json_real(json_number_value(json_object_get(cur, k)) *
                                                  (bd[0] == '<' ? 0.9 : 1.1)));
    }
    char c[512], *out = NULL;
    tu_tmp_path(c, sizeof c, "shipped_bench.json");
    assert_int_equal(json_dump_file(cur, c, 0), 0);
    if (gate(base, c, "--only-failures", &out) != 0)
        fail_msg("%s", out);
    free(out);
    /* one figure past its target */
    json_object_set_new(cur, "hdf5_vs_jsonl_read_speedup", json_real(9.5));
    assert_int_equal(json_dump_file(cur, c, 0), 0);
    assert_int_equal(gate(base, c, "--only-failures", &out), 1);
    assert_non_null(strstr(out, "regressed hdf5_vs_jsonl_read_speedup"));
    free(out);
    json_decref(cur);
    json_decref(b);
    unlink(c);
}

/* The shipped baseline of examples/sweep.spec holds on this build. */
static void test_shipped_sweep_baseline(void **state)
{
    (void)state;
    char o[512], j[512], cmd[2048], *out = NULL;
    tu_tmp_path(o, sizeof o, "baseline_sweep.h5");
    tu_tmp_path(j, sizeof j, "baseline_sweep.json");
    snprintf(cmd, sizeof cmd, "%s sweep examples/sweep.spec -o %s --json > %s", tu_bin(), o, j);
    assert_int_equal(system(cmd), 0);
    if (gate("examples/sweep_baseline.json", j, "", &out) != 0)
        fail_msg("the figures of examples/sweep.spec moved (if intended, rebuild "
                 "examples/sweep_baseline.json, README 'Regression gate in CI'):\n%s", out);
    assert_non_null(strstr(out, "1920 metrics, 0 failed"));
    free(out);
    unlink(o);
    unlink(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_and_improvement),
        cmocka_unit_test(test_regressions_junit_json),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_malformed_and_usage),
        cmocka_unit_test(test_replay_json),
        cmocka_unit_test(test_direction_table),
        cmocka_unit_test(test_wall_clock),
        cmocka_unit_test(test_make_baseline_replay),
        cmocka_unit_test(test_make_baseline_bench),
        cmocka_unit_test(test_shipped_sweep_baseline),
        cmocka_unit_test(test_shipped_bench_baseline),
    };
    return cmocka_run_group_tests_name("cli_bench", tests, NULL, NULL);
}
