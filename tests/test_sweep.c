/* test_sweep.c -- analysis/sweep.c: the spec parser (values, defaults,
 * comments, policy parameters with commas), a table of bad specs (status,
 * line and key named), grid enumeration against a brute-force nested loop,
 * and points run on a hand-made trace whose hits and evictions are counted
 * by hand. */
#include "testutil.h"
#include "../analysis/sweep.h"

static void test_parse_values_and_defaults(void **state)
{
    (void)state;
    static const char spec[] =
        "# a comment\n"
        "trace = default ; another\n"
        "policy = ttl(ttl_s=5,refresh=0), lru ,fifo\n"
        "capacity_blocks = 10,inf , 300  # trailing comment\n"
        "ttl_s = none, 2.5\n"
        "seed = 7\n"
        "threads = 3\n"
        "mode = independent\n"
        "output = out dir/x.h5\n";
    cc_sweep_spec s;
    cc_err e = {0};
    assert_int_equal(cc_sweep_spec_parse_string(spec, "t.spec", &s, &e), CC_OK);
    assert_int_equal(s.axes[CC_SWEEP_TRACE].n, 1);
    assert_string_equal(s.axes[CC_SWEEP_TRACE].text[0], "default");
    assert_int_equal(s.axes[CC_SWEEP_POLICY].n, 3);
    assert_string_equal(s.axes[CC_SWEEP_POLICY].text[0], "ttl(ttl_s=5,refresh=0)");
    assert_string_equal(s.axes[CC_SWEEP_POLICY].text[1], "lru");
    assert_string_equal(s.axes[CC_SWEEP_POLICY].text[2], "fifo");
    assert_int_equal(s.axes[CC_SWEEP_CAPACITY].n, 3);
    assert_true(s.axes[CC_SWEEP_CAPACITY].num[0] == 10);
    assert_true(s.axes[CC_SWEEP_CAPACITY].num[1] == 0); /* inf */
    assert_true(s.axes[CC_SWEEP_CAPACITY].num[2] == 300);
    assert_true(isnan(s.axes[CC_SWEEP_TTL].num[0]));
    assert_true(s.axes[CC_SWEEP_TTL].num[1] == 2.5);
    /* defaults: block size of the trace, pricing none */
    assert_int_equal(s.axes[CC_SWEEP_BLOCK_SIZE].n, 1);
    assert_string_equal(s.axes[CC_SWEEP_BLOCK_SIZE].text[0], "trace");
    assert_string_equal(s.axes[CC_SWEEP_PRICING].text[0], "none");
    assert_true(s.seed == 7);
    assert_int_equal(s.threads, 3);
    assert_int_equal(s.mode, CC_PC_INDEPENDENT);
    assert_string_equal(s.output, "out dir/x.h5");
    assert_true(cc_sweep_n_points(&s) == 1 * 1 * 3 * 3 * 2 * 1);
    cc_sweep_spec_free(&s);

    /* tier layouts hold commas: '|' separates them; the serving axes' defaults
     * are replay's, and naming one turns the simulator on */
    assert_int_equal(cc_sweep_spec_parse_string(
                         "trace = default\ntiers = hbm:2000,dram:10000 | hbm:4000:policy=fifo,"
                         "dram:10000\ninstances = 1, 2\n", "t.spec", &s, &e), CC_OK);
    assert_int_equal(s.axes[CC_SWEEP_TIERS].n, 2);
    assert_string_equal(s.axes[CC_SWEEP_TIERS].text[0], "hbm:2000,dram:10000");
    assert_string_equal(s.axes[CC_SWEEP_TIERS].text[1], "hbm:4000:policy=fifo,dram:10000");
    assert_string_equal(s.axes[CC_SWEEP_CAPACITY].text[0], "-");
    assert_string_equal(s.axes[CC_SWEEP_CONCURRENCY].text[0], "auto");
    assert_string_equal(s.axes[CC_SWEEP_HARDWARE].text[0], "h100-sxm");
    assert_string_equal(s.axes[CC_SWEEP_MODEL].text[0], "llama-3-8b");
    assert_string_equal(s.axes[CC_SWEEP_ROUTER].text[0], "rr");
    assert_string_equal(s.axes[CC_SWEEP_SCHEDULER].text[0], "batch");
    assert_true(s.sim);
    assert_true(cc_sweep_n_points(&s) == 4);
    cc_sweep_spec_free(&s);
    assert_int_equal(cc_sweep_spec_parse_string("trace = default\ncapacity_blocks = 5\n", "t",
                                                &s, &e), CC_OK);
    assert_false(s.sim); /* no serving key: the cache alone, as before */
    assert_string_equal(s.axes[CC_SWEEP_TIERS].text[0], "-");
    cc_sweep_spec_free(&s);

    /* the shipped example parses */
    assert_int_equal(cc_sweep_spec_parse_file("examples/sweep.spec", &s, &e), CC_OK);
    assert_true(cc_sweep_n_points(&s) == 144);
    cc_sweep_spec_free(&s);
}

typedef struct bad {
    const char *what, *text;
    int code;
    long line;
    const char *field, *msg;
} bad;

static const bad bads[] = {
    {"empty", "", CC_EFORMAT, 0, "trace", "missing key"},
    {"no capacity", "trace = default\n", CC_EFORMAT, 0, "capacity_blocks", "missing key"},
    {"no trace", "capacity_blocks = 5\n", CC_EFORMAT, 0, "trace", "missing key"},
    {"truncated last line", "trace = default\ncapacity_blocks = 10\npolicy =", CC_EFORMAT, 3,
     "policy", "expected a value"},
    {"no equals", "trace default\n", CC_EFORMAT, 1, "", "expected key = value"},
    {"unknown key", "trace = default\ncolour = red\n", CC_EFORMAT, 2, "colour", "unknown key"},
    {"twice", "trace = a\ncapacity_blocks = 1\ntrace = b\n", CC_EFORMAT, 3, "trace",
     "given twice (first on line 1)"},
    {"section", "[sweep]\ntrace = a\n", CC_EFORMAT, 1, "", "sections"},
    {"empty item", "trace = default\ncapacity_blocks = 10, ,20\n", CC_EFORMAT, 2,
     "capacity_blocks", "empty value"},
    {"negative capacity", "trace = default\ncapacity_blocks = -5\n", CC_EFORMAT, 2,
     "capacity_blocks", "'-5'"},
    {"wrong type capacity", "trace = default\ncapacity_blocks = many\n", CC_EFORMAT, 2,
     "capacity_blocks", "'many'"},
    {"absurd capacity", "trace = default\ncapacity_blocks = 99999999999999999999999\n",
     CC_ERANGE, 2, "capacity_blocks", "expected a number of blocks"},
    {"zero capacity", "trace = default\ncapacity_blocks = 0\n", CC_ERANGE, 2, "capacity_blocks",
     "'0'"},
    {"unknown policy", "trace = default\ncapacity_blocks = 1\npolicy = lru, nosuch\n", CC_EFORMAT,
     3, "policy", "nosuch"},
    {"bad policy parameter", "trace = default\ncapacity_blocks = 1\npolicy = ttl(ttl_s=abc)\n",
     CC_EFORMAT, 3, "policy", "ttl_s"},
    {"unbalanced", "trace = default\ncapacity_blocks = 1\npolicy = lru)\n", CC_EFORMAT, 3,
     "policy", "unbalanced"},
    {"negative ttl", "trace = default\ncapacity_blocks = 1\nttl_s = -1\n", CC_ERANGE, 3, "ttl_s",
     "0..1e9"},
    {"wrong type ttl", "trace = default\ncapacity_blocks = 1\nttl_s = soon\n", CC_EFORMAT, 3,
     "ttl_s", "'soon'"},
    {"zero block size", "trace = default\ncapacity_blocks = 1\nblock_size = 0\n", CC_ERANGE, 3,
     "block_size", "1..1048576"},
    {"pricing", "trace = default\ncapacity_blocks = 1\npricing = none, anthropic\n", CC_EFORMAT, 3,
     "pricing", "'anthropic'"},
    {"pricing file", "trace = default\ncapacity_blocks = 1\npricing = /nonexistent/p.pricing\n",
     CC_EIO, 3, "pricing", "/nonexistent/p.pricing"},
    {"mode", "trace = default\ncapacity_blocks = 1\nmode = sideways\n", CC_EFORMAT, 3, "mode",
     "prefix or independent"},
    {"list for one", "trace = default\ncapacity_blocks = 1\nseed = 1, 2\n", CC_EFORMAT, 3, "seed",
     "one value"},
    {"threads", "trace = default\ncapacity_blocks = 1\nthreads = x\n", CC_EFORMAT, 3, "threads",
     "'x'"},
    {"concurrency", "trace = default\ncapacity_blocks = 1\nconcurrency = sometimes\n", CC_EFORMAT,
     3, "concurrency", "sometimes"},
    {"independent + dedup", "trace = d\ncapacity_blocks = 1\nmode = independent\n"
     "concurrency = dedup\n", CC_EFORMAT, 4, "concurrency", "needs mode = prefix"},
    {"tiers and capacity", "trace = d\ncapacity_blocks = 1\ntiers = hbm:10,dram:20\n", CC_EFORMAT,
     3, "tiers", "not both"},
    {"bad layout", "trace = d\ntiers = hbm:10,dram:20 | hbm:lots\n", CC_EFORMAT, 2, "tiers",
     "hbm:lots"},
    {"layout as a dash", "trace = d\ntiers = -\n", CC_EFORMAT, 2, "tiers", "'-'"},
    {"empty layout", "trace = d\ntiers = hbm:10 | | hbm:20\n", CC_EFORMAT, 2, "tiers",
     "separated by '|'"},
    {"serving axis, backend cache", "trace = d\ncapacity_blocks = 1\nbackend = cache\n"
     "instances = 1, 2\n", CC_EFORMAT, 4, "instances", "backend = sim"},
    {"backend", "trace = d\ncapacity_blocks = 1\nbackend = gpu\n", CC_EFORMAT, 3, "backend",
     "'gpu'"},
    {"none on two instances", "trace = d\ncapacity_blocks = 1\nconcurrency = none\n"
     "instances = 2\n", CC_EFORMAT, 3, "concurrency", "one instance"},
    {"zero instances", "trace = d\ncapacity_blocks = 1\ninstances = 0\n", CC_ERANGE, 3,
     "instances", "1..65536"},
    {"router", "trace = d\ncapacity_blocks = 1\nrouter = rr, random\n", CC_EFORMAT, 3, "router",
     "random"},
    {"scheduler", "trace = d\ncapacity_blocks = 1\nscheduler = sjf\n", CC_EFORMAT, 3,
     "scheduler", "sjf"},
    {"hardware", "trace = d\ncapacity_blocks = 1\nhardware = h100-sxm, tpu-v9\n", CC_EFORMAT, 3,
     "hardware", "tpu-v9"},
    {"model", "trace = d\ncapacity_blocks = 1\nmodel = gpt-7\n", CC_EFORMAT, 3, "model",
     "gpt-7"},
    {"invalid UTF-8", "trace = default\ncapacity_blocks = 1\npolicy = \xff\xfe\n", CC_EFORMAT, 3,
     "", "invalid UTF-8"},
    {"binary", "\x01\x02\x03\x89PNG\n", CC_EFORMAT, 1, "", "binary"},
};

static void test_bad_specs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        const bad *b = &bads[i];
        cc_sweep_spec s;
        cc_err e = {0};
        int rc = cc_sweep_spec_parse_string(b->text, "bad.spec", &s, &e);
        if (rc != b->code || e.line != b->line || strcmp(e.field, b->field) ||
            !strstr(e.msg, b->msg) || strcmp(e.file, "bad.spec"))
            fail_msg("%s: got %d (%s) line %ld field '%s' msg '%s'", b->what, rc,
                     cc_status_name(rc), e.line, e.field, e.msg);
    }
    /* files: missing, empty, NUL byte */
    cc_sweep_spec s;
    cc_err e = {0};
    assert_int_equal(cc_sweep_spec_parse_file("/nonexistent/x.spec", &s, &e), CC_EIO);
    assert_string_equal(e.file, "/nonexistent/x.spec");
    char p[512];
    tu_write_tmp(p, sizeof p, "empty.spec", "", 0);
    assert_int_equal(cc_sweep_spec_parse_file(p, &s, &e), CC_EFORMAT);
    assert_non_null(strstr(e.msg, "empty"));
    unlink(p);
    tu_write_tmp(p, sizeof p, "nul.spec", "trace = a\ncapacity_blocks = 1\0\n", 31);
    assert_int_equal(cc_sweep_spec_parse_file(p, &s, &e), CC_EFORMAT);
    assert_int_equal(e.line, 2);
    unlink(p);
}

static void test_grid_order(void **state)
{
    (void)state;
    cc_sweep_spec s;
    cc_err e = {0};
    assert_int_equal(cc_sweep_spec_parse_string("trace = a, b\npolicy = lru, fifo, arc\n"
                                                "capacity_blocks = 10, 20\nttl_s = none, 1\n",
                                                "g", &s, &e), CC_OK);
    assert_true(cc_sweep_n_points(&s) == 24);
    /* brute force: nested loops, trace outermost, pricing innermost */
    uint64_t i = 0;
    uint32_t c[CC_SWEEP_N_AXES];
    for (uint32_t t = 0; t < 2; t++)
        for (uint32_t bs = 0; bs < 1; bs++)
            for (uint32_t p = 0; p < 3; p++)
                for (uint32_t cap = 0; cap < 2; cap++)
                    for (uint32_t ttl = 0; ttl < 2; ttl++)
                        for (uint32_t pr = 0; pr < 1; pr++, i++) {
                            cc_sweep_point_coords(&s, i, c);
                            uint32_t want[] = {t, bs, p, cap, ttl, pr};
                            assert_memory_equal(c, want, sizeof want);
                        }
    /* by hand: point 13 = trace b (12 per trace), then 1 = cap 0, ttl 1 */
    cc_sweep_point_coords(&s, 13, c);
    assert_int_equal(c[CC_SWEEP_TRACE], 1);
    assert_int_equal(c[CC_SWEEP_POLICY], 0);
    assert_int_equal(c[CC_SWEEP_CAPACITY], 0);
    assert_int_equal(c[CC_SWEEP_TTL], 1);
    cc_sweep_spec_free(&s);
}

/* Four requests, 16 tokens per block: A [1,2], B [1,2], C [3], D [1,2].
 * LRU, prefix mode, capacity 2: A misses 2; B hits 2; C misses and evicts
 * the leaf 2 (1 has a child); D hits 1, misses 2 and evicts 3 (1 is pinned):
 * 3 hits of 7, 2 evictions.  Capacity 3: nothing is evicted, D hits both:
 * 4 of 7. */
static void test_points_by_hand(void **state)
{
    (void)state;
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 16;
    uint64_t ab[] = {1, 2}, c3[] = {3};
    const uint64_t *reqs[] = {ab, ab, c3, ab};
    uint32_t nb[] = {2, 2, 1, 2};
    for (int i = 0; i < 4; i++) {
        cc_request r = {.input_tokens = 16 * nb[i], .blocks = (uint64_t *)reqs[i],
                        .n_blocks = nb[i], .group_id = CC_NO_GROUP, .arrival_ns = i * 1000};
        assert_int_equal(cc_trace_append(&t, &r), CC_OK);
    }
    cc_sweep_spec s;
    cc_err e = {0};
    assert_int_equal(cc_sweep_spec_parse_string("trace = x\ncapacity_blocks = 2, 3\n"
                                                "policy = lru\nthreads = 2\n", "p", &s, &e),
                     CC_OK);
    cc_sweep_data d = {.n_traces = 1, .n_block_sizes = 1, .traces = &t};
    size_t nm = cc_sweep_n_metrics();
    double rows[2 * 64];
    assert_true(nm <= 64);
    assert_int_equal(cc_sweep_run(&s, &d, 0, 1, 2, false, rows, &e), CC_OK);
    size_t k_hr = nm, k_ev = nm, k_hb = nm;
    for (size_t k = 0; k < nm; k++) {
        if (!strcmp(cc_sweep_metric_name(k), "block_hit_ratio"))
            k_hr = k;
        if (!strcmp(cc_sweep_metric_name(k), "evictions"))
            k_ev = k;
        if (!strcmp(cc_sweep_metric_name(k), "hit_blocks"))
            k_hb = k;
    }
    assert_true(k_hr < nm && k_ev < nm && k_hb < nm);
    assert_true(rows[k_hb] == 3 && rows[k_ev] == 2);
    assert_true(fabs(rows[k_hr] - 3.0 / 7) < 1e-12);
    assert_true(rows[nm + k_hb] == 4 && rows[nm + k_ev] == 0);
    assert_true(fabs(rows[nm + k_hr] - 4.0 / 7) < 1e-12);
    /* the slice an MPI rank 1 of 2 owns: point 1 only */
    double one[64];
    assert_int_equal(cc_sweep_run(&s, &d, 1, 2, 1, false, one, &e), CC_OK);
    assert_memory_equal(one, rows + nm, nm * sizeof *one);
    cc_sweep_spec_free(&s);
    cc_trace_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_values_and_defaults),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_grid_order),
        cmocka_unit_test(test_points_by_hand),
    };
    return cmocka_run_group_tests_name("sweep", tests, NULL, NULL);
}
