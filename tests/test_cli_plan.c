/* test_cli_plan.c -- `ctxcache plan` and `replay --tp` as a user runs them:
 * a content-less Azure CSV written here (60 requests of 8192 tokens, one
 * output token, every S / 2.4 seconds) whose answer is computed by hand in
 * tests/test_plan.c (S = 0.201663 s on one H100 with Llama-3-8B: 3
 * instances at rate x1, 5 at x2 for TTFT p99 <= 1.5 S), the JSON and the
 * HDF5 file (read with h5py, not our reader), an SLO nothing meets (exit 0
 * with the closest), and every bad-usage case with its message (exit 2). */
#include "testutil.h"

#include <jansson.h>

#define S_HAND 0.20166303818832831

static char g_trace[512], g_gen[512];

static int setup(void **state)
{
    (void)state;
    char text[8192];
    size_t at = (size_t)snprintf(text, sizeof text, "TIMESTAMP,ContextTokens,GeneratedTokens\n");
    for (int i = 0; i < 60; i++) {
        long long ns100 = llround(i * S_HAND / 2.4 * 1e7); /* 100 ns units */
        at += (size_t)snprintf(text + at, sizeof text - at, "2023-11-16 18:00:%02lld.%07lld,8192,1\n",
                               ns100 / 10000000, ns100 % 10000000);
    }
    tu_write_tmp(g_trace, sizeof g_trace, "plan_azure.csv", text, at);
    tu_tmp_path(g_gen, sizeof g_gen, "plan_gen.h5");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1 >/dev/null 2>&1", tu_bin(), g_gen);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_trace);
    unlink(g_gen);
    return 0;
}

static void expect(const char *args, int code, const char *needle);

static json_t *json_of(const char *args)
{
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", tu_bin(), args);
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s\n%s", cmd, out);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fail_msg("not JSON (%s): %s", je.text, out);
    free(out);
    return j;
}

static void test_three_instances(void **state)
{
    (void)state;
    char args[1024], h5[512];
    tu_tmp_path(h5, sizeof h5, "plan.h5");
    snprintf(args, sizeof args, "plan %s --slo ttft_p99=%.9fs --rate-scale 1,2 --max-instances 16 "
             "--json -o %s", g_trace, 1.5 * S_HAND, h5);
    json_t *j = json_of(args);
    assert_true(json_is_true(json_object_get(j, "content_less")));
    json_t *rates = json_object_get(j, "rates");
    assert_int_equal(json_array_size(rates), 2);
    static const int want[2] = {3, 5};
    for (size_t k = 0; k < 2; k++) {
        json_t *x = json_array_get(rates, k);
        assert_true(json_is_true(json_object_get(x, "met")));
        json_t *c = json_object_get(x, "cheapest");
        assert_int_equal(json_integer_value(json_object_get(c, "instances")), want[k]);
        assert_string_equal(json_string_value(json_object_get(c, "hardware")), "h100-sxm");
        assert_int_equal(json_integer_value(json_object_get(c, "tp")), 1);
        /* $2.99 per H100-hour (sim/profiles/hardware/h100-sxm.profile) */
        assert_true(fabs(json_real_value(json_object_get(c, "usd_per_hour")) - want[k] * 2.99) <
                    1e-9);
        assert_true(fabs(json_real_value(json_object_get(c, "ttft_p99_s")) - S_HAND) < 1e-6);
    }
    assert_int_equal(json_integer_value(json_object_get(j, "runs")), 6); /* 1,2,3 then 3,4,5 */
    json_decref(j);
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py; f=h5py.File('%s'); "
             "a=f.attrs['format']; a=a.decode() if isinstance(a, bytes) else a; "
             "assert a=='ctxcache-plan', a; "
             "assert list(f['answers/instances'][:])==[3,5], f['answers/instances'][:]; "
             "assert list(f['answers/rate_scale'][:])==[1.0,2.0]; "
             "assert list(f['points/instances'][:])==[1,2,3,3,4,5], f['points/instances'][:]; "
             "assert f['answers/hardware'][0]==b'h100-sxm'; "
             "assert int(f.attrs['content_less'])==1\"", h5);
    if (tu_run(cmd, &out) != 0)
        fail_msg("h5py check: %s", out);
    free(out);
    /* the HTML report shows the answers and the Pareto front */
    char html[512];
    tu_tmp_path(html, sizeof html, "plan_report.html");
    snprintf(cmd, sizeof cmd, "%s report %s --no-plots -o %s", tu_bin(), h5, html);
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s\n%s", cmd, out);
    free(out);
    size_t n;
    char *page = tu_slurp(html, &n);
    assert_non_null(strstr(page, "Plan: cheapest deployment meeting the SLO"));
    assert_non_null(strstr(page, "Plan: Pareto front, price against TTFT p99"));
    assert_non_null(strstr(page, "3 x h100-sxm (tp 1)"));
    assert_non_null(strstr(page, "5 x h100-sxm (tp 1)"));
    free(page);
    unlink(html);
    unlink(h5);
}

static int same_file(const char *a, const char *b)
{
    size_t na, nb;
    char *x = tu_slurp(a, &na), *y = tu_slurp(b, &nb);
    int same = na == nb && !memcmp(x, y, na);
    free(x);
    free(y);
    return same;
}

/* The file is byte-identical whatever the threads, and under mpirun -np 2
 * (skipped without MPI in the build or mpirun). */
static void test_threads_and_mpi_same_file(void **state)
{
    (void)state;
    char a[512], b[512], m[512], cmd[2048], *out = NULL;
    tu_tmp_path(a, sizeof a, "plan_t1.h5");
    tu_tmp_path(b, sizeof b, "plan_t2.h5");
    tu_tmp_path(m, sizeof m, "plan_mpi.h5");
    const char *grid = "--slo ttft_p99=0.3s --rate-scale 1,2 --max-instances 16 "
                       "--tiers-grid 'hbm=4GiB|8GiB' --routers rr,least-loaded";
    snprintf(cmd, sizeof cmd, "%s plan %s %s -o %s --threads 1", tu_bin(), g_trace, grid, a);
    assert_int_equal(tu_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s plan %s %s -o %s --threads 2", tu_bin(), g_trace, grid, b);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_true(same_file(a, b));
    snprintf(cmd, sizeof cmd, "%s sweep --help", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    int built = strstr(out, "MPI in this build: yes") != NULL;
    free(out);
    if (!built || system("command -v mpirun >/dev/null 2>&1") != 0) {
        printf("skipped: the MPI part (%s)\n", built ? "mpirun not installed"
                                                       : "built without MPI (MPI=0 or no mpicc)");
    } else {
        snprintf(cmd, sizeof cmd, "mpirun --allow-run-as-root --oversubscribe -np 2 %s plan %s %s "
                 "-o %s --threads 1", tu_bin(), g_trace, grid, m);
        if (tu_run(cmd, &out) != 0)
            fail_msg("%s\n%s", cmd, out);
        free(out);
        assert_true(same_file(a, m));
        unlink(m);
    }
    unlink(a);
    unlink(b);
}

/* --pricing: the providers' bill of the same requests beside the plan;
 * content-less, so every input token is billed uncached: openai ($2/M in,
 * $8/M out, policies/pricing_presets.c) 60 x 8192 x 2e-6 + 60 x 8e-6 =
 * $0.98352, over 60 x 8193 tokens. */
static void test_provider_bills(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "plan %s --slo ttft_p99=%.9fs --max-instances 8 --pricing openai "
             "--json", g_trace, 1.5 * S_HAND);
    json_t *j = json_of(args);
    json_t *b = json_array_get(json_object_get(json_array_get(json_object_get(j, "rates"), 0),
                                               "provider_bills"), 0);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "pricing")), "openai");
    assert_true(fabs(json_real_value(json_object_get(b, "total_usd")) - 0.98352) < 1e-9);
    double want = 0.98352 / (60 * 8193 / 1e6); /* JSON keeps 9 significant digits */
    assert_true(fabs(json_real_value(json_object_get(b, "usd_per_mtok")) - want) < 1e-8 * want);
    json_decref(j);
    snprintf(args, sizeof args, "plan %s --slo ttft_p99=1s --pricing nope", g_trace);
    expect(args, 2, "nope");
}

static void test_unmeetable_exit0(void **state)
{
    (void)state;
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s plan %s --slo ttft_p99=0.1s --max-instances 4", tu_bin(),
             g_trace);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "NOT MET"));
    assert_non_null(strstr(out, "closest"));
    free(out);
}

static void expect(const char *args, int code, const char *needle)
{
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s", tu_bin(), args);
    int rc = tu_run(cmd, &out);
    if (rc != code || !strstr(out, needle))
        fail_msg("%s: exit %d (want %d), output lacks '%s':\n%s", cmd, rc, code, needle, out);
    free(out);
}

static void test_bad_usage(void **state)
{
    (void)state;
    static const struct { const char *args, *msg; } bad[] = {
        {"--slo latency_p99=1s", "unknown SLO metric"},
        {"--slo ttft_p97=1s", "p50, p90 or p99"},
        {"--slo ttft_p99=-1s", "positive time"},
        {"--slo ttft_p99=1s --rate-scale -1", "positive numbers"},
        {"--slo ttft_p99=1s --rate-scale 1,0", "positive numbers"},
        {"--slo ttft_p99=1s --tp 3", "must divide"},
        {"--slo ttft_p99=1s --rate-scale 1,2 --max-instances 60000", "--max-points"},
        {"--slo ttft_p99=1s --rate-scale 1,2 --max-instances 60000 --max-points 1000", "--max-points"},
        {"--slo ttft_p99=1s --tiers-grid gpu=1GB", "unknown tier"},
        {"--slo ttft_p99=1s --model llama-3-70b --tp 1", "short"},
        {"--slo ttft_p99=1s --hardware nope", "--hardware"},
        {"--slo ttft_p99=1s --hardware cpu", "no price"},
        {"--slo ttft_p99=1s --routers bogus", "--routers"},
        {"--slo ttft_p99=1s --policies belady", "next uses"},
        {"--tp 1", "--slo"},
    };
    char args[1024];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args, "plan %s %s", g_trace, bad[i].args);
        expect(args, 2, bad[i].msg);
    }
    /* over 100k points is fine with --max-points (1 instance meets: one run per rate) */
    snprintf(args, sizeof args, "plan %s --slo ttft_p99=100s --rate-scale 1,2 --max-instances 60000 "
             "--max-points 200000", g_trace);
    expect(args, 0, "cheapest");
}

/* replay --tp: the divisibility and the fit errors, and tp 2 prefills faster */
static void test_replay_tp(void **state)
{
    (void)state;
    char args[1024];
    snprintf(args, sizeof args, "replay %s --capacity-blocks 1000 --tp 3", g_gen);
    expect(args, 2, "must divide");
    snprintf(args, sizeof args, "replay %s --capacity-blocks 1000 --model llama-3-70b", g_gen);
    expect(args, 2, "69.1 GB short");
    /* 1000 blocks x 16 tokens x 327,680 bytes = 5.24 GB of HBM tier; on 2 GPUs
     * 144 - 141.107 - 5.243 = 2.35 GB short */
    snprintf(args, sizeof args, "replay %s --capacity-blocks 1000 --model llama-3-70b --tp 2", g_gen);
    expect(args, 2, "2.35 GB short");
    snprintf(args, sizeof args, "replay %s --capacity-blocks 1000 --tp 2 --backend rates", g_gen);
    expect(args, 2, "--tp");
    snprintf(args, sizeof args, "replay %s --capacity-blocks 1000 --model llama-3-70b --tp 4 "
             "--concurrency immediate --max-requests 300 --json", g_gen);
    json_t *a = json_of(args);
    snprintf(args, sizeof args, "replay %s --capacity-blocks 1000 --model llama-3-70b --tp 8 "
             "--concurrency immediate --max-requests 300 --json", g_gen);
    json_t *b = json_of(args);
    double ta = json_real_value(json_object_get(a, "ttft_p50_s")),
           tb = json_real_value(json_object_get(b, "ttft_p50_s"));
    assert_true(ta > 0 && tb > 0);
    assert_true(tb < ta);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_instances),
        cmocka_unit_test(test_unmeetable_exit0),
        cmocka_unit_test(test_provider_bills),
        cmocka_unit_test(test_threads_and_mpi_same_file),
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test(test_replay_tp),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
