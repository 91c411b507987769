/* test_cli_serving.c -- `ctxcache replay` as a capacity planner runs it
 * (issue 14, items 1-3): timed runs overlap requests by default and a serial
 * run says so (text, JSON, results file, report); traces with lengths only
 * (Azure) replay with every token new or with an assumed shared prompt;
 * --rate-scale, --no-cache and --compare-no-cache; the errors of bad input.
 *
 * Expected times come from the cost model's formula as sim/costmodel.c's
 * header states it, evaluated here by hand with the numbers of the
 * h100-sxm and llama-3-8b profiles (not by the code under test): requests
 * 100 s apart run alone, so a TTFT is one prefill step of the request's new
 * tokens after its cached ones. */
#include "testutil.h"

#include <jansson.h>

/* Three requests of the Azure CSV format, 100 s apart: 512, 512 and 1024
 * input tokens, one output token each (so a request ends with its prefill). */
static const char small_csv[] =
    "TIMESTAMP,ContextTokens,GeneratedTokens\n"
    "2023-11-16 18:00:00.0000000,512,1\n"
    "2023-11-16 18:01:40.0000000,512,1\n"
    "2023-11-16 18:03:20.0000000,1024,1\n";

/* The same lengths in Mooncake's format (block hashes, no token ids, no
 * arrival spread needed). */
static const char small_jsonl[] =
    "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 4, \"hash_ids\": [1, 2]}\n"
    "{\"timestamp\": 1000, \"input_length\": 1536, \"output_length\": 4, \"hash_ids\": [1, 2, 3]}\n";

static char g_csv[512], g_jsonl[512], g_gen[512];

static int setup(void **s)
{
    (void)s;
    tu_write_tmp(g_csv, sizeof g_csv, "serving.csv", small_csv, sizeof small_csv - 1);
    tu_write_tmp(g_jsonl, sizeof g_jsonl, "serving.jsonl", small_jsonl, sizeof small_jsonl - 1);
    tu_tmp_path(g_gen, sizeof g_gen, "serving_gen.h5");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1 >/dev/null 2>&1", tu_bin(), g_gen);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **s)
{
    (void)s;
    remove(g_csv);
    remove(g_jsonl);
    remove(g_gen);
    return 0;
}

/* One prefill step of n_new tokens after n_cached, one sequence, Llama-3-8B
 * (bf16) on an H100 SXM with the profile's priors:
 *   t = max(flops_lin / (P e_lin) + flops_attn / (P e_attn),
 *           (bytes_weights + bytes_kv) / (B e_mem)) + o_step + o_item */
static double prefill_s(double n_new, double n_cached)
{
    const double L = 32, h = 4096, q = 32 * 128, g = 8 * 128, f = 14336, V = 128256;
    const double P = 989.5e12, B = 3.35e12;
    double p_layer = h * q + 2 * h * g + q * h + 3 * h * f;
    double flops_lin = 2 * L * p_layer * n_new + 2 * h * V;
    double flops_attn = 4 * L * q * (n_new * n_cached + n_new * (n_new + 1) / 2);
    double bytes_w = 2 * (L * (p_layer + 2 * h) + h + V * h);
    double bytes_kv = 2 * L * g * 2 * (n_cached + n_new);
    double compute = flops_lin / (P * 0.7) + flops_attn / (P * 0.5);
    double memory = (bytes_w + bytes_kv) / (B * 0.8);
    return (compute > memory ? compute : memory) + 1e-3 + 1e-5;
}

/* numpy's default percentile of three values */
static double pct3(double a, double b, double c, double q)
{
    double x[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (x[j] < x[i]) {
                double t = x[i];
                x[i] = x[j];
                x[j] = t;
            }
    double pos = q * 2;
    int lo = (int)pos;
    return lo >= 2 ? x[2] : x[lo] + (pos - lo) * (x[lo + 1] - x[lo]);
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

static char *run_text(const char *args, int want_rc)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s %s", tu_bin(), args);
    int rc = tu_run(cmd, &out);
    if (rc != want_rc)
        fail_msg("%s: exit %d (expected %d), output:\n%s", cmd, rc, want_rc, out);
    return out;
}

static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("'%s' missing or not a number", key);
    return json_number_value(v);
}

static int jbool(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_boolean(v))
        fail_msg("'%s' missing or not a boolean", key);
    return json_is_true(v);
}

/* virtual times are whole ns: agree to a few ns */
#define NEAR_S(a, b) \
    do { \
        double a_ = (a), b_ = (b); \
        if (!(fabs(a_ - b_) <= 5e-9 + 1e-9 * fabs(b_))) \
            fail_msg("%s = %.12g, expected %.12g", #a, a_, b_); \
    } while (0)

/* Timed runs overlap by default; serial ones are labelled everywhere. */
static void test_default_overlaps(void **state)
{
    (void)state;
    char args[1200];
    snprintf(args, sizeof args, "replay %s --tiers hbm:2000,dram:10000 --json", g_gen);
    json_t *o = run_json(args);
    assert_string_equal(json_string_value(json_object_get(o, "concurrency")), "immediate");
    assert_string_equal(json_string_value(json_object_get(o, "scheduler")), "batch");
    assert_false(jbool(o, "serial_service"));
    /* the default workload spans 915 s of arrivals at ~4 requests/s: served
     * overlapping, a TTFT is tens of ms, not a queue of minutes */
    double p50 = jnum(o, "ttft_p50_s"), p99 = jnum(o, "ttft_p99_s");
    if (!(p50 > 0 && p50 < 1 && p99 < 5))
        fail_msg("default TTFT p50 %g s, p99 %g s: not an overlapping-request figure", p50, p99);
    json_decref(o);

    /* serial: concurrency none, an FCFS scheduler, one sequence per step,
     * and the defaults where overlapping is not modelled */
    const char *serial[] = {"--concurrency none", "--scheduler fcfs", "--max-seqs 1",
                            "--mode independent", "--prefill-tps 1000"};
    for (size_t i = 0; i < sizeof serial / sizeof serial[0]; i++) {
        snprintf(args, sizeof args, "replay %s --capacity-blocks 100 %s --json", g_jsonl,
                 serial[i]);
        o = run_json(args);
        if (!jbool(o, "serial_service"))
            fail_msg("%s: serial_service false", serial[i]);
        json_decref(o);
    }
    snprintf(args, sizeof args, "replay %s --capacity-blocks 100", g_jsonl);
    char *out = run_text(args, 0);
    assert_null(strstr(out, "SERIAL"));
    free(out);
    /* the TTFT line says so, in minutes for the default workload's queue */
    snprintf(args, sizeof args, "replay %s --tiers hbm:2000,dram:10000 --concurrency none", g_gen);
    out = run_text(args, 0);
    const char *line = strstr(out, "\nttft ");
    assert_non_null(line);
    const char *end = strchr(line + 1, '\n');
    char ttft[600];
    snprintf(ttft, sizeof ttft, "%.*s", (int)(end - line - 1), line + 1);
    if (!strstr(ttft, "SERIAL SERVICE") || !strstr(ttft, " min ") || strstr(ttft, "e+"))
        fail_msg("serial TTFT line: %s", ttft);
    free(out);
}

/* A timed run's HBM tier shares the GPU with the weights and the running
 * requests' KV (issue 14, item 3), model and hardware named or not (the
 * defaults: llama-3-8b on h100-sxm).  By hand: Llama-3-8B (hidden 4096, 32
 * layers, 32 query and 8 K/V heads of 128, MLP 14336, vocabulary 128256,
 * untied embeddings) has 32 x (2 x 4096^2 + 2 x 4096 x 1024 + 3 x 4096 x
 * 14336 + 2 x 4096) + 4096 + 2 x 128256 x 4096 = 8,030,261,248 parameters,
 * 16,060,522,496 bytes in bf16; its KV is 2 x 32 x 8 x 128 x 2 = 131,072
 * bytes a token, so 1000 of Mooncake's 512-token blocks are 67,108,864,000
 * bytes; an H100 gives 80e9 x 0.9 = 72e9 bytes; with one running token
 * (131,072 bytes) that is 11,169,517,568 bytes short. */
static void test_hbm_tier_must_fit(void **state)
{
    (void)state;
    const double weights = 2.0 * (32.0 * (2 * 4096.0 * 4096 + 2 * 4096.0 * 1024 +
                                          3 * 4096.0 * 14336 + 2 * 4096) +
                                  4096 + 2 * 128256.0 * 4096);
    const double tier = 1000.0 * 512 * 131072, usable = 80e9 * 0.9;
    double short_gb = (weights + tier + 131072 - usable) / 1e9;
    assert_true(fabs(short_gb - 11.169517568) < 1e-9); /* the sum above */
    char want[64], args[1200], cmd[3000];
    snprintf(want, sizeof want, "%.3g GB short", short_gb); /* 11.2 GB short */
    const char *timed[] = {"--capacity-blocks 1000", "--capacity-blocks 1000 --backend sim",
                           "--tiers hbm:1000,dram:5000",
                           "--capacity-blocks 1000 --model llama-3-8b --hardware h100-sxm"};
    for (size_t i = 0; i < sizeof timed / sizeof timed[0]; i++) {
        snprintf(args, sizeof args, "replay %s %s 2>&1", g_jsonl, timed[i]);
        char *out = run_text(args, 2);
        if (!strstr(out, want) || !strstr(out, "67.1 GB of HBM cache tier"))
            fail_msg("%s: expected '%s' in\n%s", timed[i], want, out);
        free(out);
    }
    /* the same tier untimed (no GPU), or in host memory, or on a GPU it fits
     * (an H200: 141e9 x 0.9 - 16.1e9 - 67.1e9 = 43.7e9 bytes left) */
    const char *fits[] = {"--capacity-blocks 1000 --backend rates",
                          "--tiers hbm:1000,dram:5000 --backend rates",
                          "--tiers dram:1000", "--capacity-blocks 1000 --hardware h200"};
    for (size_t i = 0; i < sizeof fits / sizeof fits[0]; i++) {
        snprintf(args, sizeof args, "replay %s %s --json", g_jsonl, fits[i]);
        json_t *o = run_json(args);
        /* the trace's 3 distinct blocks all fit: blocks 1 and 2 hit again */
        assert_int_equal((int)jnum(o, "hit_blocks"), 2);
        json_decref(o);
    }
    /* a sweep point that does not fit is the point's error, with the GB
     * short; the sweep exits as replay does (2) */
    char spec[512], out_h5[512];
    tu_tmp_path(out_h5, sizeof out_h5, "serving_fit_sweep.h5");
    snprintf(cmd, sizeof cmd, "trace = %s\ncapacity_blocks = 100, 1000\npolicy = lru\n"
             "hardware = h100-sxm\nmodel = llama-3-8b\nthreads = 1\n", g_jsonl);
    tu_write_tmp(spec, sizeof spec, "serving_fit.spec", cmd, strlen(cmd));
    snprintf(args, sizeof args, "sweep %s -o %s 2>&1", spec, out_h5);
    char *out = run_text(args, 2);
    if (!strstr(out, "point 1 ") || !strstr(out, "capacity 1000") || !strstr(out, want))
        fail_msg("sweep: expected point 1 (capacity 1000) and '%s' in\n%s", want, out);
    free(out);
    assert_int_equal(access(out_h5, F_OK), -1); /* no partial file */
    /* the point that fits runs */
    snprintf(cmd, sizeof cmd, "trace = %s\ncapacity_blocks = 100\npolicy = lru\n"
             "hardware = h100-sxm\nmodel = llama-3-8b\nthreads = 1\n", g_jsonl);
    tu_write_tmp(spec, sizeof spec, "serving_fit.spec", cmd, strlen(cmd));
    snprintf(args, sizeof args, "sweep %s -o %s", spec, out_h5);
    free(run_text(args, 0));
    remove(out_h5);
    remove(spec);
}

/* The results file and the report carry the label. */
static void test_report_label(void **state)
{
    (void)state;
    char a[512], b[512], html[512], cmd[3000];
    tu_tmp_path(a, sizeof a, "serving_a.h5");
    tu_tmp_path(b, sizeof b, "serving_b.h5");
    tu_tmp_path(html, sizeof html, "serving.html");
    snprintf(cmd, sizeof cmd,
             "%s replay %s --capacity-blocks 100 -o %s >/dev/null && "
             "%s replay %s --capacity-blocks 100 --concurrency none -o %s >/dev/null && "
             "%s report %s %s --no-plots -o %s >/dev/null 2>&1",
             tu_bin(), g_jsonl, a, tu_bin(), g_jsonl, b, tu_bin(), a, b, html);
    assert_int_equal(system(cmd), 0);
    size_t n;
    char *page = tu_slurp(html, &n);
    /* each run labelled by what differs (the concurrency), the serial one
     * marked, with a note */
    assert_non_null(strstr(page, "<td>concurrency=immediate</td>"));
    assert_non_null(strstr(page, "<td>concurrency=none · [serial]</td>"));
    assert_non_null(strstr(page, "marked [serial] served one request at a time"));
    free(page);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py; "
             "assert int(h5py.File('%s').attrs['serial_service'])==0; "
             "assert int(h5py.File('%s').attrs['serial_service'])==1\"", a, b);
    char *out = NULL;
    if (tu_run(cmd, &out) != 0)
        fail_msg("h5py: %s", out);
    free(out);
    remove(a);
    remove(b);
    remove(html);
}

/* Lengths only: every token new, TTFT = one prefill of the whole input. */
static void test_lengths_only(void **state)
{
    (void)state;
    char args[1200];
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --json", g_csv);
    json_t *o = run_json(args);
    assert_true(jbool(o, "lengths_only"));
    assert_true(json_is_null(json_object_get(o, "assumed_prefix_share")));
    assert_int_equal((int)jnum(o, "block_size"), 16);
    assert_int_equal((int)jnum(o, "block_accesses"), 32 + 32 + 64);
    assert_int_equal((int)jnum(o, "hit_tokens"), 0);
    double t512 = prefill_s(512, 0), t1024 = prefill_s(1024, 0);
    NEAR_S(jnum(o, "ttft_p50_s"), t512);
    NEAR_S(jnum(o, "ttft_p99_s"), pct3(t512, t512, t1024, 0.99));
    NEAR_S(jnum(o, "gpu_busy_s"), 2 * t512 + t1024);
    json_decref(o);
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf", g_csv);
    char *out = run_text(args, 0);
    assert_non_null(strstr(out, "every token is new, no reuse is possible"));
    free(out);
    /* --block-size sets the blocks of such a trace */
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --block-size 64 --json", g_csv);
    o = run_json(args);
    assert_int_equal((int)jnum(o, "block_accesses"), 8 + 8 + 16);
    json_decref(o);
}

/* An assumed shared prompt: the first half of each input, in whole blocks.
 * r0: 16 shared blocks, computes 512; r1: hits the 16 (256 tokens),
 * computes 256; r2: 32 shared blocks of which 16 are cached: hits 256,
 * computes 768. */
static void test_assume_prefix_share(void **state)
{
    (void)state;
    char args[1200];
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --assume-prefix-share 0.5 --json",
             g_csv);
    json_t *o = run_json(args);
    NEAR_S(jnum(o, "assumed_prefix_share"), 0.5);
    assert_int_equal((int)jnum(o, "hit_tokens"), 512);
    assert_int_equal((int)jnum(o, "hit_blocks"), 32);
    double a = prefill_s(512, 0), b = prefill_s(256, 256), c = prefill_s(768, 256);
    NEAR_S(jnum(o, "ttft_p50_s"), pct3(a, b, c, 0.5));
    NEAR_S(jnum(o, "ttft_p99_s"), pct3(a, b, c, 0.99));
    NEAR_S(jnum(o, "gpu_busy_s"), a + b + c);
    json_decref(o);
    /* 0.3 of 512 = 153.6 tokens: 9 whole blocks (144 tokens) shared; of
     * 1024: 307.2 -> 19 blocks, of which 9 are cached */
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --assume-prefix-share 0.3 --json",
             g_csv);
    o = run_json(args);
    assert_int_equal((int)jnum(o, "hit_tokens"), 144 + 144);
    json_decref(o);
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --assume-prefix-share 0.5", g_csv);
    char *out = run_text(args, 0);
    assert_non_null(strstr(out, "assumed shared prompt"));
    free(out);
}

/* The real Azure conversation trace: TTFT, TPOT and throughput, no hits. */
static void test_azure_trace(void **state)
{
    (void)state;
    const char *p = TU_DATA_OR_SKIP("azure/AzureLLMInferenceTrace_conv.csv");
    char args[1200];
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --max-requests 3000 --json", p);
    json_t *o = run_json(args);
    assert_true(jbool(o, "lengths_only"));
    assert_false(jbool(o, "serial_service"));
    assert_int_equal((int)jnum(o, "hit_tokens"), 0);
    assert_int_equal((int)jnum(o, "requests"), 3000);
    double ttft = jnum(o, "ttft_p50_s"), tpot = jnum(o, "tpot_p50_s");
    double tput = jnum(o, "throughput_tokens_per_s");
    /* every request costs at least one prefill step of its own tokens (>= 1 ms
     * of step overhead); a lone H100 at these ~5 requests/s is far from
     * saturation: well under a second */
    if (!(ttft > 1e-3 && ttft < 1 && tpot > 1e-3 && tpot < 0.1 && tput > 0))
        fail_msg("azure: ttft p50 %g s, tpot p50 %g s, %g tokens/s", ttft, tpot, tput);
    json_decref(o);
}

/* --rate-scale K divides arrival times by K: the last request (arrival
 * 200 s) arrives at 200/K s and runs alone. */
static void test_rate_scale(void **state)
{
    (void)state;
    char args[1200];
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --rate-scale 4 --json", g_csv);
    json_t *o = run_json(args);
    NEAR_S(jnum(o, "makespan_s"), 50 + prefill_s(1024, 0));
    NEAR_S(jnum(o, "rate_scale"), 4);
    json_decref(o);
    /* 0.5: half the rate, twice the span */
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --rate-scale 0.5 --json", g_csv);
    o = run_json(args);
    NEAR_S(jnum(o, "makespan_s"), 400 + prefill_s(1024, 0));
    json_decref(o);
    /* the arrivals in the results file */
    char res[512], cmd[2000], *out = NULL;
    tu_tmp_path(res, sizeof res, "serving_rate.h5");
    snprintf(cmd, sizeof cmd,
             "%s replay %s --capacity-blocks inf --rate-scale 4 -o %s >/dev/null && "
             "/usr/bin/python3 -c \"import h5py; f=h5py.File('%s'); "
             "a=list(f['requests/arrival_ns'][:]); assert a==[0, 25000000000, 50000000000], a; "
             "assert f['config'].attrs['rate-scale'].decode()=='4'\"",
             tu_bin(), g_csv, res, res);
    if (tu_run(cmd, &out) != 0)
        fail_msg("rate-scale results: %s", out);
    free(out);
    remove(res);
}

/* --no-cache: nothing is shared, every block computed. */
static void test_no_cache(void **state)
{
    (void)state;
    char args[1200];
    snprintf(args, sizeof args, "replay %s --tiers hbm:2000,dram:10000 --json", g_gen);
    json_t *with = run_json(args);
    snprintf(args, sizeof args, "replay %s --tiers hbm:2000,dram:10000 --no-cache --json", g_gen);
    json_t *o = run_json(args);
    assert_true(jbool(o, "no_cache"));
    assert_int_equal((int)jnum(o, "hit_tokens"), 0);
    assert_int_equal((int)jnum(o, "hit_blocks"), 0);
    assert_true(jnum(with, "hit_tokens") > 0);
    assert_int_equal((int)jnum(o, "block_accesses"), (int)jnum(with, "block_accesses"));
    assert_int_equal((int)jnum(o, "input_tokens"), (int)jnum(with, "input_tokens"));
    assert_int_equal((int)jnum(o, "computed_tokens"), (int)jnum(o, "input_tokens"));
    json_decref(o);
    json_decref(with);
    /* lengths only with an assumed share: --no-cache drops the share */
    snprintf(args, sizeof args,
             "replay %s --capacity-blocks inf --assume-prefix-share 0.5 --no-cache --json", g_csv);
    o = run_json(args);
    assert_int_equal((int)jnum(o, "hit_tokens"), 0);
    NEAR_S(jnum(o, "ttft_p50_s"), prefill_s(512, 0));
    json_decref(o);
}

/* --compare-no-cache: both runs and the deltas, by hand on the shared-prompt
 * trace; the bills without caching are input and output at base price. */
static void test_compare_no_cache(void **state)
{
    (void)state;
    char args[1200];
    snprintf(args, sizeof args,
             "replay %s --capacity-blocks inf --assume-prefix-share 0.5 --compare-no-cache "
             "--pricing deepseek --input-price 2 --output-price 10 --json", g_csv);
    json_t *o = run_json(args);
    double a = prefill_s(512, 0), b = prefill_s(256, 256), c = prefill_s(768, 256);
    double n1 = prefill_s(512, 0), n3 = prefill_s(1024, 0);
    json_t *nc = json_object_get(o, "no_cache"), *d = json_object_get(o, "caching_saves");
    assert_non_null(nc);
    assert_non_null(d);
    NEAR_S(jnum(nc, "ttft_p50_s"), n1);
    NEAR_S(jnum(nc, "ttft_p99_s"), pct3(n1, n1, n3, 0.99));
    NEAR_S(jnum(nc, "gpu_busy_s"), 2 * n1 + n3);
    NEAR_S(jnum(d, "ttft_p50_s"), n1 - pct3(a, b, c, 0.5));
    NEAR_S(jnum(d, "ttft_p99_s"), pct3(n1, n1, n3, 0.99) - pct3(a, b, c, 0.99));
    NEAR_S(jnum(d, "gpu_busy_s"), 2 * n1 + n3 - (a + b + c));
    /* GPU time at the h100-sxm profile's rent (usd_per_hour = 2.99 there) */
    NEAR_S(jnum(o, "gpu_usd_per_hour"), 2.99);
    NEAR_S(jnum(d, "gpu_usd"), (2 * n1 + n3 - (a + b + c)) * 2.99 / 3600);
    /* without caching: 2048 input tokens at $2/M, 3 output tokens at $10/M;
     * with it, DeepSeek's automatic cache (64-token units, no write fee)
     * serves r1's and r2's 256 shared tokens at its read multiple */
    double bill = (2048 * 2.0 + 3 * 10.0) / 1e6;
    NEAR_S(jnum(json_object_get(nc, "cost"), "deepseek"), bill);
    double read_mult = jnum(json_object_get(json_object_get(o, "pricing"), "deepseek"), "read_mult");
    NEAR_S(jnum(json_object_get(d, "cost"), "deepseek"), 512 * 2.0 * (1 - read_mult) / 1e6);
    json_decref(o);
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --assume-prefix-share 0.5 "
             "--compare-no-cache", g_csv);
    char *out = run_text(args, 0);
    assert_non_null(strstr(out, "caching saves"));
    assert_non_null(strstr(out, "\nttft p50 "));
    assert_non_null(strstr(out, "\nttft p99 "));
    assert_non_null(strstr(out, "\nGPU busy "));
    assert_non_null(strstr(out, "\nGPU cost "));
    free(out);
}

/* Traces without tokens: trace convert/stats refuse --block-size with one
 * message per kind of trace, saying what can be done; no file left. */
static void test_block_size_errors(void **state)
{
    (void)state;
    char args[1200], dst[512];
    tu_tmp_path(dst, sizeof dst, "serving_never.h5");
    snprintf(args, sizeof args, "trace convert %s %s --block-size 16", g_csv, dst);
    char *out = run_text(args, 2);
    assert_non_null(strstr(out, "lengths only (no token ids, no block hashes)"));
    assert_non_null(strstr(out, "leave out --block-size"));
    assert_int_not_equal(access(dst, F_OK), 0);
    free(out);
    snprintf(args, sizeof args, "trace stats %s --block-size 16", g_csv);
    out = run_text(args, 2);
    assert_non_null(strstr(out, "leave out --block-size"));
    free(out);
    /* a stored lengths-only trace (h5) says the same */
    snprintf(args, sizeof args, "trace convert %s %s 2>/dev/null", g_csv, dst);
    free(run_text(args, 0));
    char dst2[512];
    tu_tmp_path(dst2, sizeof dst2, "serving_never2.h5");
    snprintf(args, sizeof args, "trace convert %s %s --block-size 32", dst, dst2);
    out = run_text(args, 2);
    assert_non_null(strstr(out, "lengths only (no token ids, no block hashes)"));
    assert_int_not_equal(access(dst2, F_OK), 0);
    free(out);
    remove(dst);
    /* hash-only (Mooncake): the same wording for the other case */
    snprintf(args, sizeof args, "trace convert %s %s --block-size 16", g_jsonl, dst);
    out = run_text(args, 2);
    assert_non_null(strstr(out, "block hashes of 512 tokens but no token ids"));
    assert_non_null(strstr(out, "leave out --block-size"));
    assert_int_not_equal(access(dst, F_OK), 0);
    free(out);
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --block-size 16", g_jsonl);
    out = run_text(args, 2);
    assert_non_null(strstr(out, "leave out --block-size"));
    free(out);
    /* mrc has no curve for it, and says so in the same words */
    snprintf(args, sizeof args, "mrc %s", g_csv);
    out = run_text(args, 2);
    assert_non_null(strstr(out, "lengths only (no token ids, no block hashes)"));
    free(out);
}

/* Bad what-if options: usage errors (exit 2) naming the option. */
static void test_bad_usage(void **state)
{
    (void)state;
    const struct {
        const char *trace, *args, *want;
    } bad[] = {
        {g_csv, "--rate-scale 0", "--rate-scale"},
        {g_csv, "--rate-scale -2", "--rate-scale"},
        {g_csv, "--rate-scale nan", "--rate-scale"},
        {g_csv, "--rate-scale inf", "--rate-scale"},
        {g_csv, "--rate-scale x", "--rate-scale"},
        {g_csv, "--rate-scale 1e-300", "--rate-scale"},
        {g_csv, "--assume-prefix-share 1.5", "--assume-prefix-share"},
        {g_csv, "--assume-prefix-share -0.1", "--assume-prefix-share"},
        {g_csv, "--assume-prefix-share half", "--assume-prefix-share"},
        {g_jsonl, "--assume-prefix-share 0.3", "lengths only"},
        {g_csv, "--compare-no-cache --prefill-tps 1000", "--compare-no-cache"},
        {g_csv, "--compare-no-cache --no-cache", "--no-cache"},
        {g_csv, "--no-cache --pricing openai", "--no-cache"},
        {g_csv, "--gpu-usd-per-hour -1", "--gpu-usd-per-hour"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char cmd[1400], *out = NULL;
        snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks inf %s", tu_bin(), bad[i].trace,
                 bad[i].args);
        int rc = tu_run(cmd, &out);
        if (rc != 2 || !strstr(out, bad[i].want))
            fail_msg("%s: exit %d, output %s", bad[i].args, rc, out);
        free(out);
    }
    /* a trace without arrival times has no rate to scale */
    static const char untimed[] = "[{\"id\": \"a\", \"conversations\": [{\"from\": \"human\", "
                                  "\"value\": \"hello there\"}]}]";
    char p[512], cmd[1400], *out = NULL;
    tu_write_tmp(p, sizeof p, "serving_sg.json", untimed, sizeof untimed - 1);
    snprintf(cmd, sizeof cmd, "%s replay %s --format sharegpt --capacity-blocks inf --rate-scale 2",
             tu_bin(), p);
    int rc = tu_run(cmd, &out);
    if (rc != 2 || !strstr(out, "no arrival times"))
        fail_msg("untimed --rate-scale: exit %d, output %s", rc, out);
    free(out);
    remove(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_overlaps),
        cmocka_unit_test(test_report_label),
        cmocka_unit_test(test_hbm_tier_must_fit),
        cmocka_unit_test(test_lengths_only),
        cmocka_unit_test(test_assume_prefix_share),
        cmocka_unit_test(test_azure_trace),
        cmocka_unit_test(test_rate_scale),
        cmocka_unit_test(test_no_cache),
        cmocka_unit_test(test_compare_no_cache),
        cmocka_unit_test(test_block_size_errors),
        cmocka_unit_test(test_bad_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
