/* test_generator.c -- the synthetic workload generator (traces/generator.c,
 * genspec.c, gentext.c) and `ctxcache gen`.
 *
 * Statistical checks compare sample statistics with values derived here by
 * hand from the distributions (not from the generator): each tolerance is 5
 * standard errors for the sample size, the standard error worked out in the
 * comment beside it.  Structural checks rebuild what a request must hold
 * (hash chains from token ids with cc_block_chain, prefix relations between
 * turns).  The bad-spec table asserts status, line and key for each case. */
#include "testutil.h"
#include "traces/traces.h"

#include <sys/stat.h>

/* ---- helpers ------------------------------------------------------------- */

static void gen_ok(const char *spec, uint64_t seed, cc_trace *t)
{
    cc_err e = {0};
    int rc = cc_gen_from_spec_string(spec, "test", seed, t, &e);
    if (rc != CC_OK) {
        cc_err_print(&e, stderr);
        fail_msg("generation failed: %s", cc_status_name(rc));
    }
}

/* Inter-arrival gaps in seconds; returns how many (n - 1). */
static size_t gaps(const cc_trace *t, double **out)
{
    size_t m = t->n - 1;
    double *g = malloc(m * sizeof *g);
    for (size_t i = 0; i < m; i++)
        g[i] = (t->arrival_ns[i + 1] - t->arrival_ns[i]) * 1e-9;
    *out = g;
    return m;
}

static void mean_sd(const double *x, size_t n, double *mean, double *sd)
{
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    *mean = s / n;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - *mean) * (x[i] - *mean);
    *sd = sqrt(ss / (n - 1));
}

static void assert_near(const char *what, double got, double want, double tol)
{
    printf("  %-34s %12.5f  expected %12.5f +- %.5f\n", what, got, want, tol);
    if (!(fabs(got - want) <= tol))
        fail_msg("%s: %g, expected %g +- %g", what, got, want, tol);
}

/* Standard error of the sample CV of n lognormal draws with this mean and
 * CV, by the delta method (see test_gamma), from the raw moments
 * E[X^k] = exp(k mu + k^2 s2 / 2). */
static double lognormal_cv_se(double mean, double cv, size_t n)
{
    double s2 = log1p(cv * cv), mu = log(mean) - s2 / 2;
    double m1 = exp(mu + s2 / 2), m2 = exp(2 * mu + 2 * s2), m3 = exp(3 * mu + 4.5 * s2),
           m4 = exp(4 * mu + 8 * s2);
    double var = m2 - m1 * m1, sd = sqrt(var);
    double mu3 = m3 - 3 * m1 * m2 + 2 * m1 * m1 * m1;
    double mu4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * pow(m1, 4);
    double c = sd / m1;
    double nvar = pow(c, 4) + (mu4 - var * var) / (4 * m1 * m1 * var) - c * mu3 / (m1 * m1 * sd);
    return sqrt(nvar / n);
}

/* A spec where every request is a new single-turn chat session with no
 * system prompt: inter-arrival times are the arrival process's own. */
static char *single_turn_spec(const char *arrival, size_t requests)
{
    char *s = malloc(2048);
    snprintf(s, 2048,
             "[workload]\nrequests = %zu\ntoken_ids = false\ntext = none\n"
             "[arrival]\n%s\n"
             "[system_prompts]\ncount = 0\n"
             "[sessions]\nturns = 1\nuser_tokens = 8\noutput_tokens = 4\n",
             requests, arrival);
    return s;
}

/* ---- determinism ------------------------------------------------------------ */

static void assert_same_trace(const cc_trace *a, const cc_trace *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->block_size, b->block_size);
    size_t n = a->n;
    assert_memory_equal(a->arrival_ns, b->arrival_ns, n * sizeof *a->arrival_ns);
    assert_memory_equal(a->session_id, b->session_id, n * sizeof *a->session_id);
    assert_memory_equal(a->turn, b->turn, n * sizeof *a->turn);
    assert_memory_equal(a->tenant, b->tenant, n * sizeof *a->tenant);
    assert_memory_equal(a->input_tokens, b->input_tokens, n * sizeof *a->input_tokens);
    assert_memory_equal(a->output_tokens, b->output_tokens, n * sizeof *a->output_tokens);
    assert_memory_equal(a->group_id, b->group_id, n * sizeof *a->group_id);
    assert_memory_equal(a->role, b->role, n * sizeof *a->role);
    assert_memory_equal(a->block_off, b->block_off, (n + 1) * sizeof *a->block_off);
    assert_memory_equal(a->blocks, b->blocks, cc_trace_n_blocks_total(a) * sizeof *a->blocks);
    assert_memory_equal(a->token_off, b->token_off, (n + 1) * sizeof *a->token_off);
    assert_int_equal(cc_trace_n_tokens_total(a), cc_trace_n_tokens_total(b));
    if (cc_trace_n_tokens_total(a))
        assert_memory_equal(a->token_ids, b->token_ids,
                            cc_trace_n_tokens_total(a) * sizeof *a->token_ids);
    assert_memory_equal(a->chunk_off, b->chunk_off, (n + 1) * sizeof *a->chunk_off);
    assert_memory_equal(a->chunks, b->chunks, cc_trace_n_chunks_total(a) * sizeof *a->chunks);
    assert_int_equal(a->text_len, b->text_len);
    if (a->text_len)
        assert_memory_equal(a->text, b->text, a->text_len);
    assert_int_equal(a->n_tenants, b->n_tenants);
    for (size_t i = 0; i < a->n_tenants; i++)
        assert_string_equal(a->tenants[i], b->tenants[i]);
}

static void test_determinism(void **state)
{
    (void)state;
    cc_trace a, b, c;
    gen_ok(cc_gen_default_spec, 7, &a);
    gen_ok(cc_gen_default_spec, 7, &b);
    assert_same_trace(&a, &b);
    assert_true(a.n == 4000);
    assert_true(a.seed == 7 && a.timed && a.block_size == 16);
    assert_string_equal(a.source_format, "generator");
    cc_err e = {0};
    assert_int_equal(cc_trace_validate(&a, "a", &e), CC_OK);

    gen_ok(cc_gen_default_spec, 8, &c);
    size_t n = a.n < c.n ? a.n : c.n;
    assert_true(memcmp(a.arrival_ns, c.arrival_ns, n * sizeof *a.arrival_ns) != 0);
    assert_true(memcmp(a.input_tokens, c.input_tokens, n * sizeof *a.input_tokens) != 0);
    size_t nb = cc_trace_n_blocks_total(&a) < cc_trace_n_blocks_total(&c)
                    ? cc_trace_n_blocks_total(&a) : cc_trace_n_blocks_total(&c);
    assert_true(memcmp(a.blocks, c.blocks, nb * sizeof *a.blocks) != 0);
    cc_trace_free(&c);

    /* seeds that mt19937 alone would confuse (0 is its 4357; only the low 32
     * bits seed it) still give different workloads */
    cc_trace d0, d1, d2;
    gen_ok(cc_gen_default_spec, 0, &d0);
    gen_ok(cc_gen_default_spec, 4357, &d1);
    gen_ok(cc_gen_default_spec, 7 + (UINT64_C(1) << 32), &d2);
    assert_true(memcmp(d0.arrival_ns, d1.arrival_ns, 100 * sizeof *d0.arrival_ns) != 0);
    assert_true(memcmp(a.arrival_ns, d2.arrival_ns, 100 * sizeof *a.arrival_ns) != 0);
    cc_trace_free(&d0);
    cc_trace_free(&d1);
    cc_trace_free(&d2);

    /* the same spec from a file gives the same trace */
    char path[512];
    tu_write_tmp(path, sizeof path, "default.spec", cc_gen_default_spec,
                 strlen(cc_gen_default_spec));
    assert_int_equal(cc_gen_from_spec_file(path, 7, &c, &e), CC_OK);
    assert_same_trace(&a, &c);
    assert_string_equal(c.source, path);
    cc_trace_free(&c);
    remove(path);
    cc_trace_free(&a);
    cc_trace_free(&b);
}

/* ---- arrival processes ------------------------------------------------------- */

static void test_poisson(void **state)
{
    (void)state;
    char *spec = single_turn_spec("process = poisson\nrate = 5", 20001);
    cc_trace t;
    gen_ok(spec, 1, &t);
    double *g, mean, sd;
    size_t m = gaps(&t, &g);
    mean_sd(g, m, &mean, &sd);
    /* exponential gaps: mean 1/rate, sd 1/rate; the sample CV's standard
     * error is 1/sqrt(m) (delta method: var(s)/s^2 = 2/m, cov term -2/m,
     * var(mean) 1/m) */
    assert_near("poisson: mean inter-arrival (s)", mean, 0.2, 5 * 0.2 / sqrt(m));
    assert_near("poisson: inter-arrival CV", sd / mean, 1.0, 5 / sqrt(m));
    assert_int_equal(t.session_id[t.n - 1], t.n - 1);
    free(g);
    free(spec);
    cc_trace_free(&t);
}

static void test_gamma(void **state)
{
    (void)state;
    char *spec = single_turn_spec("process = gamma\nrate = 5\ncv = 2", 50001);
    cc_trace t;
    gen_ok(spec, 2, &t);
    double *g, mean, sd;
    size_t m = gaps(&t, &g);
    mean_sd(g, m, &mean, &sd);
    /* gamma with shape k = 1/cv^2 = 0.25 (scale 1): mean k, var k, third
     * central moment 2k, fourth 3k^2 + 6k.  Delta method for CV = s/m:
     * m * var = c^4 + (mu4 - var^2)/(4 mean^2 var) - c mu3/(mean^2 sd)
     *         = 16 + 26 - 32 = 10 */
    double k = 0.25, c = 2;
    double nvar = pow(c, 4) + (3 * k * k + 6 * k - k * k) / (4 * k * k * k) -
                  c * 2 * k / (k * k * sqrt(k));
    assert_float_equal(nvar, 10.0, 1e-9);
    assert_near("gamma: mean inter-arrival (s)", mean, 0.2, 5 * 0.2 * c / sqrt(m));
    assert_near("gamma: inter-arrival CV", sd / mean, 2.0, 5 * sqrt(nvar / m));
    free(g);
    free(spec);
    cc_trace_free(&t);
}

static void test_diurnal(void **state)
{
    (void)state;
    /* rate(t) = 20 (1 + 0.6 cos(2 pi (t - 50) / 100)): peaks at t = 50, 150, ... */
    char *spec = single_turn_spec(
        "process = diurnal\nrate = 20\nperiod_s = 100\namplitude = 0.6", 40000);
    cc_trace t;
    gen_ok(spec, 3, &t);
    double P = 100, a = 0.6, r = 20, w = P / 8;
    double end = t.arrival_ns[t.n - 1] * 1e-9;
    size_t periods = (size_t)(end / P);
    double peak = 0, trough = 0, total = 0;
    for (size_t i = 0; i < t.n; i++) {
        double x = t.arrival_ns[i] * 1e-9;
        if (x >= periods * P)
            break;
        total++;
        double ph = fmod(x - 50, P); /* distance from the last peak */
        if (ph < 0)
            ph += P;
        if (ph <= w || ph >= P - w)
            peak++;
        else if (fabs(ph - P / 2) <= w)
            trough++;
    }
    /* expected counts per period over a window of +-w around the peak
     * (trough): r (2w +- a P/pi sin(2 pi w / P)) */
    double ep = r * (2 * w + a * P / M_PI * sin(2 * M_PI * w / P));
    double et = r * (2 * w - a * P / M_PI * sin(2 * M_PI * w / P));
    double ratio = ep / et;
    /* Poisson counts: var(ratio) ~ ratio^2 (1/N_peak + 1/N_trough) */
    double se = ratio * sqrt(1 / (ep * periods) + 1 / (et * periods));
    assert_near("diurnal: peak/trough window counts", peak / trough, ratio, 5 * se);
    assert_near("diurnal: mean rate (1/s)", total / (periods * P), r,
                5 * sqrt(r * periods * P) / (periods * P));
    free(spec);
    cc_trace_free(&t);
}

/* A small Mooncake trace written by hand: arrivals 0, 100, 250, 1000 ms. */
static const char hand_trace[] =
    "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 5, \"hash_ids\": [1]}\n"
    "{\"timestamp\": 100, \"input_length\": 10, \"output_length\": 5, \"hash_ids\": [2]}\n"
    "{\"timestamp\": 250, \"input_length\": 10, \"output_length\": 5, \"hash_ids\": [3]}\n"
    "{\"timestamp\": 1000, \"input_length\": 10, \"output_length\": 5, \"hash_ids\": [4]}\n";

static void test_trace_arrivals(void **state)
{
    (void)state;
    const cc_format *mc = cc_format_find("mooncake");
    if (!mc || !mc->read) {
        printf("skipped: no mooncake reader in this tree\n");
        skip();
    }
    char tpath[512], spath[512];
    tu_write_tmp(tpath, sizeof tpath, "arrivals.jsonl", hand_trace, sizeof hand_trace - 1);
    /* relative to the spec file's folder */
    const char *base = strrchr(tpath, '/') + 1;
    char spec[1024];
    snprintf(spec, sizeof spec,
             "[workload]\nrequests = 10\n[arrival]\nprocess = trace:%s\n"
             "[system_prompts]\ncount = 0\n[sessions]\nturns = 1\n", base);
    tu_write_tmp(spath, sizeof spath, "arrivals.spec", spec, strlen(spec));
    cc_trace t;
    cc_err e = {0};
    int rc = cc_gen_from_spec_file(spath, 1, &t, &e);
    if (rc)
        cc_err_print(&e, stderr);
    assert_int_equal(rc, CC_OK);
    /* gaps 100, 150, 750 ms, cycled */
    static const int64_t want_ms[10] = {0, 100, 250, 1000, 1100, 1250, 2000, 2100, 2250, 3000};
    for (int i = 0; i < 10; i++)
        assert_int_equal(t.arrival_ns[i], want_ms[i] * 1000000);
    cc_trace_free(&t);

    /* time_scale halves them; a longer trace is truncated */
    snprintf(spec, sizeof spec,
             "[workload]\nrequests = 3\n[arrival]\nprocess = trace:%s\ntime_scale = 0.5\n"
             "trace_format = mooncake\n", tpath);
    gen_ok(spec, 1, &t);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.arrival_ns[1], 50000000);
    assert_int_equal(t.arrival_ns[2], 125000000);
    cc_trace_free(&t);

    /* a missing trace: the reader's error, with the spec line added */
    snprintf(spec, sizeof spec, "[workload]\nrequests = 3\n[arrival]\nprocess = trace:%s.nope\n",
             tpath);
    assert_int_equal(cc_gen_from_spec_string(spec, "s", 1, &t, &e), CC_EIO);
    assert_non_null(strstr(e.msg, "line 4"));
    remove(tpath);
    remove(spath);
}

static void test_trace_arrivals_azure(void **state)
{
    (void)state;
    const char *path = TU_DATA_OR_SKIP("azure/AzureLLMInferenceTrace_conv.csv");
    if (!cc_format_find("azure")) {
        printf("skipped: no azure reader in this tree\n");
        skip();
    }
    cc_trace src, t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read(path, NULL, NULL, &src, &e), CC_OK);
    size_t n = src.n + 100; /* longer than the trace: its gaps are cycled */
    char spec[2048];
    snprintf(spec, sizeof spec,
             "[workload]\nrequests = %zu\ntoken_ids = false\ntext = none\n"
             "[arrival]\nprocess = trace:%s\n[system_prompts]\ncount = 0\n"
             "[sessions]\nturns = 1\nuser_tokens = 4\noutput_tokens = 4\n", n, path);
    gen_ok(spec, 1, &t);
    assert_int_equal(t.n, n);
    for (size_t i = 1; i < src.n; i++)
        assert_int_equal(t.arrival_ns[i] - t.arrival_ns[i - 1],
                         src.arrival_ns[i] - src.arrival_ns[i - 1]);
    for (size_t i = src.n; i < n; i++) /* gap i is the trace's gap (i-1) mod (n-1) */
        assert_int_equal(t.arrival_ns[i] - t.arrival_ns[i - 1],
                         src.arrival_ns[(i - 1) % (src.n - 1) + 1] -
                             src.arrival_ns[(i - 1) % (src.n - 1)]);
    printf("  azure: %zu arrivals, first %zu gaps equal the trace's, then cycled\n", n,
           src.n - 1);
    cc_trace_free(&src);
    cc_trace_free(&t);
}

/* ---- popularity, lengths, tenants, mix ------------------------------------------ */

static void test_zipf(void **state)
{
    (void)state;
    size_t n = 20000;
    char spec[1024];
    snprintf(spec, sizeof spec,
             "[workload]\nrequests = %zu\ntoken_ids = false\n[mix]\nparaphrase = 1\n"
             "[system_prompts]\ncount = 0\n[paraphrase]\ngroups = 100\nzipf_s = 1.1\n", n);
    cc_trace t;
    gen_ok(spec, 4, &t);
    size_t c0 = 0, c1 = 0;
    for (size_t i = 0; i < t.n; i++) {
        assert_true(t.group_id[i] < 100);
        c0 += t.group_id[i] == 0;
        c1 += t.group_id[i] == 1;
    }
    double h = 0; /* generalised harmonic number H(100, 1.1) */
    for (int k = 1; k <= 100; k++)
        h += pow(k, -1.1);
    double p1 = 1 / h, p2 = pow(2, -1.1) / h;
    assert_near("zipf: rank-1 frequency", (double)c0 / n, p1, 5 * sqrt(p1 * (1 - p1) / n));
    assert_near("zipf: rank-2 frequency", (double)c1 / n, p2, 5 * sqrt(p2 * (1 - p2) / n));
    cc_trace_free(&t);
}

static void test_lengths(void **state)
{
    (void)state;
    size_t n = 20000;
    char spec[1024];
    snprintf(spec, sizeof spec,
             "[workload]\nrequests = %zu\ntoken_ids = false\ntext = none\n"
             "[system_prompts]\ncount = 0\n[sessions]\nturns = 1\n"
             "user_tokens = lognormal(mean=200, cv=0.5)\n"
             "output_tokens = lognormal(median=100, cv=1)\n", n);
    cc_trace t;
    gen_ok(spec, 5, &t);
    double *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out), m, sd;
    for (size_t i = 0; i < n; i++) {
        in[i] = t.input_tokens[i];
        out[i] = t.output_tokens[i];
    }
    mean_sd(in, n, &m, &sd);
    /* lognormal: the mean has standard error mean * cv / sqrt(n) */
    assert_near("lognormal(mean=200, cv=0.5): mean", m, 200, 5 * 200 * 0.5 / sqrt(n));
    assert_near("lognormal(mean=200, cv=0.5): cv", sd / m, 0.5, 5 * lognormal_cv_se(200, 0.5, n));
    /* median=100, cv=1: sigma^2 = ln 2, mean = 100 e^{sigma^2/2} = 100 sqrt 2 */
    mean_sd(out, n, &m, &sd);
    assert_near("lognormal(median=100, cv=1): mean", m, 100 * sqrt(2), 5 * 100 * sqrt(2) / sqrt(n));
    size_t below = 0;
    for (size_t i = 0; i < n; i++)
        below += out[i] < 100 || (out[i] == 100 && (i & 1)); /* ties split evenly */
    assert_near("lognormal(median=100): P(x < 100)", (double)below / n, 0.5, 5 * 0.5 / sqrt(n));
    free(in);
    free(out);
    cc_trace_free(&t);

    /* fixed and uniform */
    snprintf(spec, sizeof spec,
             "[workload]\nrequests = %zu\ntoken_ids = false\n"
             "[system_prompts]\ncount = 0\n[sessions]\nturns = 1\nuser_tokens = uniform(10, 30)\n"
             "output_tokens = fixed(7)\n", n);
    gen_ok(spec, 5, &t);
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(t.input_tokens[i] >= 10 && t.input_tokens[i] <= 30);
        assert_int_equal(t.output_tokens[i], 7);
        s += t.input_tokens[i];
    }
    /* discrete uniform on 10..30: mean 20, variance (21^2 - 1)/12 = 36.67 */
    assert_near("uniform(10, 30): mean", s / n, 20, 5 * sqrt(440.0 / 12 / n));
    cc_trace_free(&t);
}

/* The kind of a request, from its chunks. */
static int kind_of(const cc_request *r)
{
    int passages = 0;
    for (uint32_t c = 0; c < r->n_chunks; c++)
        passages += r->chunks[c].kind == CC_CHUNK_PASSAGE;
    if (r->group_id != CC_NO_GROUP)
        return 3;                     /* paraphrase */
    if (passages >= 2)
        return 1;                     /* rag */
    if (passages == 1)
        return 2;                     /* doc */
    return 0;                         /* chat */
}

static void test_mix_and_tenants(void **state)
{
    (void)state;
    size_t n = 20000;
    char spec[2048];
    snprintf(spec, sizeof spec,
             "[workload]\nrequests = %zu\ntoken_ids = false\n"
             "[tenants]\nnames = llama-3.1-8b@2024-07, qwen2.5-7b@2024-09\nweights = 0.7, 0.3\n"
             "[mix]\nchat = 0.4\nrag = 0.3\ndoc = 0.2\nparaphrase = 0.1\n"
             "[sessions]\nturns = 1\n[rag]\npassages = uniform(2, 4)\n"
             "[documents]\ntokens = lognormal(mean=300, cv=0.5)\n", n);
    cc_trace t;
    gen_ok(spec, 6, &t);
    assert_int_equal(t.n_tenants, 2);
    assert_string_equal(t.tenants[0], "llama-3.1-8b@2024-07");
    assert_string_equal(t.tenants[1], "qwen2.5-7b@2024-09");
    size_t kinds[4] = {0}, ten0 = 0;
    for (size_t i = 0; i < n; i++) {
        cc_request r = cc_trace_get(&t, i);
        kinds[kind_of(&r)]++;
        ten0 += r.tenant == 0;
    }
    double w[4] = {0.4, 0.3, 0.2, 0.1};
    const char *names[4] = {"mix: chat fraction", "mix: rag fraction", "mix: doc fraction",
                            "mix: paraphrase fraction"};
    for (int k = 0; k < 4; k++)
        assert_near(names[k], (double)kinds[k] / n, w[k], 5 * sqrt(w[k] * (1 - w[k]) / n));
    assert_near("tenants: first tenant's share", (double)ten0 / n, 0.7, 5 * sqrt(0.21 / n));
    cc_trace_free(&t);
}

/* ---- structure ------------------------------------------------------------------ */

static void test_multi_turn(void **state)
{
    (void)state;
    static const char fmt[] =
        "[workload]\nrequests = 3000\nblock_size = 16\nmax_context_tokens = 6000\n"
        "token_ids = %s\n"
        "[arrival]\nrate = 2\n[tenants]\nnames = a@1, b@2\n"
        "[sessions]\nturns = geometric(mean=5)\nthink_time_s = exponential(mean=20)\n"
        "user_tokens = lognormal(mean=60, cv=1)\noutput_tokens = lognormal(mean=150, cv=1)\n";
    char spec[1024];
    snprintf(spec, sizeof spec, fmt, "true");
    cc_trace t;
    gen_ok(spec, 9, &t);
    cc_u64map last;
    assert_int_equal(cc_u64map_init(&last, 1024), CC_OK);
    size_t followups = 0, max_turn = 0;
    uint64_t *chain = malloc(8192 * sizeof *chain);
    for (size_t i = 0; i < t.n; i++) {
        cc_request r = cc_trace_get(&t, i);
        assert_true(r.input_tokens <= 6000);
        /* every chain is the chain of the request's tokens */
        assert_int_equal(r.n_token_ids, r.input_tokens);
        size_t nb = cc_block_chain(r.tenant, r.token_ids, r.n_token_ids, 16, chain);
        assert_int_equal(nb, r.n_blocks);
        assert_memory_equal(chain, r.blocks, nb * sizeof *chain);
        uint64_t *prev_row;
        int ins = cc_u64map_put(&last, r.session_id, i, &prev_row);
        if (ins == 1) {
            assert_int_equal(r.turn, 0);
            continue;
        }
        cc_request p = cc_trace_get(&t, *prev_row);
        *prev_row = i;
        followups++;
        if (r.turn > max_turn)
            max_turn = r.turn;
        assert_int_equal(r.turn, p.turn + 1);
        assert_int_equal(r.tenant, p.tenant);
        assert_true(r.arrival_ns >= p.arrival_ns);
        /* turn k+1 = turn k + its answer + a new user message */
        const cc_chunk *u = &r.chunks[r.n_chunks - 1], *asst = &r.chunks[r.n_chunks - 2];
        assert_int_equal(u->kind, CC_CHUNK_USER);
        assert_int_equal(asst->kind, CC_CHUNK_ASSISTANT);
        assert_int_equal(asst->token_len, p.output_tokens);
        assert_int_equal(r.input_tokens, p.input_tokens + p.output_tokens + u->token_len);
        assert_int_equal(r.n_chunks, p.n_chunks + 2);
        assert_memory_equal(r.chunks, p.chunks, p.n_chunks * sizeof *p.chunks);
        assert_memory_equal(r.token_ids, p.token_ids, p.n_token_ids * sizeof *p.token_ids);
        /* its chain starts with turn k's full blocks */
        uint32_t full = p.input_tokens / 16;
        assert_memory_equal(r.blocks, p.blocks, full * sizeof *r.blocks);
        if (p.input_tokens % 16)
            assert_true(r.blocks[full] != p.blocks[full]); /* a partial block grows */
    }
    printf("  multi-turn: %zu follow-up turns checked, up to turn %zu\n", followups, max_turn);
    assert_true(followups > 1000);

    /* without token ids (the generator keeps only each session's partial
     * last block) the chains are the same */
    snprintf(spec, sizeof spec, fmt, "false");
    cc_trace u;
    gen_ok(spec, 9, &u);
    assert_int_equal(u.n, t.n);
    assert_int_equal(cc_trace_n_tokens_total(&u), 0);
    assert_memory_equal(u.block_off, t.block_off, (t.n + 1) * sizeof *t.block_off);
    assert_memory_equal(u.blocks, t.blocks, cc_trace_n_blocks_total(&t) * sizeof *t.blocks);
    assert_memory_equal(u.chunks, t.chunks, cc_trace_n_chunks_total(&t) * sizeof *t.chunks);
    cc_trace_free(&u);
    free(chain);
    cc_u64map_free(&last);
    cc_trace_free(&t);
}

static void test_rag_positions(void **state)
{
    (void)state;
    static const char spec[] =
        "[workload]\nrequests = 2000\ntext = shared\n[mix]\nrag = 1\n"
        "[rag]\ncorpus = 300\nzipf_s = 1.0\npassages = uniform(3, 6)\n";
    cc_trace t;
    gen_ok(spec, 10, &t);
    /* chunk hash -> bit mask of the passage positions (index among passages) it took */
    cc_u64map pos;
    assert_int_equal(cc_u64map_init(&pos, 1024), CC_OK);
    size_t moved = 0;
    for (size_t i = 0; i < t.n; i++) {
        cc_request r = cc_trace_get(&t, i);
        int k = 0;
        for (uint32_t c = 0; c < r.n_chunks; c++) {
            const cc_chunk *ch = &r.chunks[c];
            if (ch->kind != CC_CHUNK_PASSAGE)
                continue;
            /* distinct passages within one request */
            for (uint32_t d = 0; d < c; d++)
                assert_true(r.chunks[d].chunk_hash != ch->chunk_hash);
            /* text hash, and the same text with the same tokens elsewhere */
            assert_true(ch->text_len > 0);
            assert_true(ch->chunk_hash == cc_hash_bytes(t.text + ch->text_off, ch->text_len, 0));
            uint64_t *mask;
            int ins = cc_u64map_put(&pos, ch->chunk_hash, 0, &mask);
            *mask |= UINT64_C(1) << k;
            (void)ins;
            k++;
        }
        assert_true(k >= 3 && k <= 6);
        assert_int_equal(r.chunks[r.n_chunks - 1].kind, CC_CHUNK_QUESTION);
    }
    for (size_t s = 0; s < pos.cap; s++)
        if (pos.keys[s] != CC_U64MAP_EMPTY && __builtin_popcountll(pos.vals[s]) >= 2)
            moved++;
    printf("  rag: %zu distinct passages, %zu of them seen at 2+ positions\n", pos.count, moved);
    assert_true(moved >= 50);
    cc_u64map_free(&pos);

    /* equal passages carry equal tokens: check one popular passage's copies */
    cc_request r0 = cc_trace_get(&t, 0);
    const cc_chunk *p0 = &r0.chunks[0];
    for (size_t i = 1; i < t.n; i++) {
        cc_request r = cc_trace_get(&t, i);
        for (uint32_t c = 0; c < r.n_chunks; c++)
            if (r.chunks[c].chunk_hash == p0->chunk_hash) {
                assert_int_equal(r.chunks[c].token_len, p0->token_len);
                assert_memory_equal(r.token_ids + r.chunks[c].token_start,
                                    r0.token_ids + p0->token_start, p0->token_len * 4);
            }
    }
    cc_trace_free(&t);
}

static void test_paraphrase_groups(void **state)
{
    (void)state;
    static const char spec[] =
        "[workload]\nrequests = 6000\n[mix]\nparaphrase = 1\n"
        "[system_prompts]\ncount = 0\n[paraphrase]\ngroups = 50\nzipf_s = 0.5\n"
        "exact_fraction = 0.3\n";
    cc_trace t;
    gen_ok(spec, 11, &t);
    cc_tokenizer *tk;
    assert_int_equal(cc_tokenizer_builtin(&tk), CC_OK);
    /* per group: its first text, and whether another text appeared */
    uint64_t first_hash[50] = {0};
    int varied[50] = {0}, seen[50] = {0};
    cc_u64map text_group;
    assert_int_equal(cc_u64map_init(&text_group, 1024), CC_OK);
    uint32_t *ids = NULL;
    size_t nid = 0, cap = 0;
    for (size_t i = 0; i < t.n; i++) {
        cc_request r = cc_trace_get(&t, i);
        assert_true(r.group_id < 50);
        assert_int_equal(r.n_chunks, 1);
        const cc_chunk *q = &r.chunks[0];
        assert_int_equal(q->kind, CC_CHUNK_USER);
        const char *txt = t.text + q->text_off;
        assert_true(q->chunk_hash == cc_hash_bytes(txt, q->text_len, 0));
        /* the tokens are the text's (built-in tokenizer) */
        nid = 0;
        assert_int_equal(cc_tokenize(tk, txt, q->text_len, &ids, &nid, &cap), CC_OK);
        assert_int_equal(nid, r.input_tokens);
        assert_memory_equal(ids, r.token_ids, nid * sizeof *ids);
        /* one wording belongs to one group */
        uint64_t *g;
        if (cc_u64map_put(&text_group, q->chunk_hash, r.group_id, &g) == 0)
            assert_int_equal(*g, r.group_id);
        int gi = (int)r.group_id;
        if (!seen[gi]) {
            seen[gi] = 1;
            first_hash[gi] = q->chunk_hash;
        } else if (q->chunk_hash != first_hash[gi]) {
            varied[gi] = 1;
        }
    }
    int n_varied = 0, n_exact = 0;
    for (int gi = 0; gi < 50; gi++) {
        assert_true(seen[gi]); /* zipf 0.5 over 50 groups: each is asked ~50+ times */
        n_varied += varied[gi];
        n_exact += !varied[gi];
    }
    printf("  paraphrase: %d groups worded several ways, %d repeated exactly, %zu wordings\n",
           n_varied, n_exact, text_group.count);
    /* exact_fraction 0.3 of 50 groups: binomial (every other group is asked
     * 60+ times, so it shows more than one wording) */
    assert_near("paraphrase: groups repeated exactly", n_exact, 15, 5 * sqrt(50 * 0.3 * 0.7));
    assert_true(n_varied > 0);
    assert_true(text_group.count > 100);
    free(ids);
    cc_tokenizer_free(tk);
    cc_u64map_free(&text_group);
    cc_trace_free(&t);
}

static void test_text_all_and_context_cap(void **state)
{
    (void)state;
    static const char spec[] =
        "[workload]\nrequests = 800\ntext = all\nmax_context_tokens = 1500\n"
        "[mix]\nchat = 1\ndoc = 1\nrag = 1\nparaphrase = 1\n"
        "[documents]\ntokens = lognormal(mean=2000, cv=0.5)\n"
        "[rag]\npassages = uniform(5, 12)\npassage_tokens = fixed(200)\n";
    cc_trace t;
    gen_ok(spec, 12, &t);
    size_t cut_rag = 0;
    for (size_t i = 0; i < t.n; i++) {
        cc_request r = cc_trace_get(&t, i);
        assert_true(r.input_tokens <= 1500);
        int passages = 0;
        for (uint32_t c = 0; c < r.n_chunks; c++) {
            const cc_chunk *ch = &r.chunks[c];
            assert_true(ch->text_len > 0); /* text = all: every chunk has text */
            assert_true(ch->chunk_hash == cc_hash_bytes(t.text + ch->text_off, ch->text_len, 0));
            passages += ch->kind == CC_CHUNK_PASSAGE && ch->token_len == 200;
        }
        cut_rag += passages >= 2 && passages < 5; /* whole passages only, fewer than drawn */
    }
    assert_true(cut_rag > 0);
    cc_trace_free(&t);
}

/* ---- limits and the bad-spec table ------------------------------------------------ */

static void test_limits(void **state)
{
    (void)state;
    cc_trace t;
    cc_err e = {0};
    cc_gen_limits lim = {.max_requests = 100, .max_context_tokens = 4096,
                         .max_entities = 1000, .no_files = true};
    assert_int_equal(cc_gen_from_spec_string_limited("[workload]\nrequests = 101\n", "l", 1, &lim,
                                                     &t, &e), CC_ERANGE);
    assert_string_equal(e.field, "workload.requests");
    assert_int_equal(e.line, 2);
    assert_int_equal(cc_gen_from_spec_string_limited(
                         "[workload]\nrequests = 10\n[rag]\ncorpus = 5000\n", "l", 1, &lim, &t, &e),
                     CC_ERANGE);
    assert_string_equal(e.field, "rag.corpus");
    assert_int_equal(cc_gen_from_spec_string_limited(
                         "[workload]\nrequests = 10\n[arrival]\nprocess = trace:/etc/passwd\n",
                         "l", 1, &lim, &t, &e),
                     CC_EFORMAT);
    assert_string_equal(e.field, "arrival.process");
    assert_int_equal(cc_gen_from_spec_string_limited("[workload]\nrequests = 100\n", "l", 1, &lim,
                                                     &t, &e), CC_OK);
    assert_int_equal(t.n, 100);
    cc_trace_free(&t);
}

typedef struct bad_case {
    const char *what, *spec;
    int code;
    long line;
    const char *field;
    const char *msg_has; /* a piece of the message, or NULL */
} bad_case;

static const char binary_spec[] = "[workload]\nrequests = 10\n\x7f" "ELF\x02\x01\x01\0\0\0\n";

static const bad_case bad_specs[] = {
    {"empty file", "", CC_EFORMAT, 1, "workload.requests", "empty"},
    {"only comments", "# nothing\n\n", CC_EFORMAT, 1, "workload.requests", "empty"},
    {"missing requests", "[workload]\nblock_size = 16\n", CC_EFORMAT, 1, "workload.requests",
     "missing"},
    {"negative rate", "[workload]\nrequests = 10\n[arrival]\nrate = -1\n", CC_ERANGE, 4,
     "arrival.rate", "1e-06..1e+09"},
    {"rate not a number", "[workload]\nrequests = 10\n[arrival]\nrate = fast\n", CC_EFORMAT, 4,
     "arrival.rate", NULL},
    {"rate nan", "[workload]\nrequests = 10\n[arrival]\nrate = nan\n", CC_EFORMAT, 4,
     "arrival.rate", NULL},
    {"cv zero", "[workload]\nrequests = 10\n[arrival]\nprocess = gamma\ncv = 0\n", CC_ERANGE, 5,
     "arrival.cv", NULL},
    {"cv with poisson", "[workload]\nrequests = 10\n[arrival]\ncv = 2\n", CC_EFORMAT, 4,
     "arrival.cv", "does not apply"},
    {"amplitude above 1", "[workload]\nrequests = 10\n[arrival]\nprocess = diurnal\n"
     "amplitude = 1.5\n", CC_ERANGE, 5, "arrival.amplitude", NULL},
    {"unknown process", "[workload]\nrequests = 10\n[arrival]\nprocess = weibull\n", CC_EFORMAT,
     4, "arrival.process", "poisson"},
    {"absurd requests", "[workload]\nrequests = 200000000\n", CC_ERANGE, 2, "workload.requests",
     "100000000"},
    {"huge requests", "[workload]\nrequests = 1e300\n", CC_ERANGE, 2, "workload.requests", NULL},
    {"negative requests", "[workload]\nrequests = -5\n", CC_ERANGE, 2, "workload.requests", NULL},
    {"fractional requests", "[workload]\nrequests = 2.5\n", CC_EFORMAT, 2, "workload.requests",
     "integer"},
    {"zero block size", "[workload]\nrequests = 10\nblock_size = 0\n", CC_ERANGE, 3,
     "workload.block_size", NULL},
    {"negative count", "[workload]\nrequests = 10\n[rag]\ncorpus = -3\n", CC_ERANGE, 4,
     "rag.corpus", NULL},
    {"unknown key", "[workload]\nrequests = 10\nfoo = 1\n", CC_EFORMAT, 3, "workload.foo",
     "unknown key"},
    {"seed in the spec", "[workload]\nrequests = 10\nseed = 3\n", CC_EFORMAT, 3, "workload.seed",
     "--seed"},
    {"unknown section", "[workload]\nrequests = 10\n[extras]\n", CC_EFORMAT, 3, "extras",
     "unknown section"},
    {"section twice", "[workload]\nrequests = 10\n[workload]\n", CC_EFORMAT, 3, "workload",
     "twice"},
    {"key twice", "[workload]\nrequests = 10\nrequests = 20\n", CC_EFORMAT, 3,
     "workload.requests", "line 2"},
    {"key before a section", "requests = 10\n", CC_EFORMAT, 1, "requests", "section"},
    {"line without =", "[workload]\nrequests = 10\n[arrival]\nrate 5\n", CC_EFORMAT, 4,
     "arrival.rate", "key = value"},
    {"truncated last line", "[workload]\nrequests = 10\n[arrival]\nrat", CC_EFORMAT, 4,
     "arrival.rat", NULL},
    {"no value", "[workload]\nrequests = 10\n[arrival]\nrate =\n", CC_EFORMAT, 4, "arrival.rate",
     "no value"},
    {"bad header", "[workload\nrequests = 10\n", CC_EFORMAT, 1, "spec", "section header"},
    {"bad bool", "[workload]\nrequests = 10\ntoken_ids = perhaps\n", CC_EFORMAT, 3,
     "workload.token_ids", "true or false"},
    {"bad choice", "[workload]\nrequests = 10\ntext = some\n", CC_EFORMAT, 3, "workload.text",
     "none/shared/all"},
    {"lognormal without cv", "[workload]\nrequests = 10\n[sessions]\n"
     "user_tokens = lognormal(mean=100)\n", CC_EFORMAT, 4, "sessions.user_tokens", "lognormal"},
    {"lognormal cv 0", "[workload]\nrequests = 10\n[sessions]\n"
     "user_tokens = lognormal(mean=100, cv=0)\n", CC_ERANGE, 4, "sessions.user_tokens", "cv"},
    {"lognormal negative mean", "[workload]\nrequests = 10\n[sessions]\n"
     "user_tokens = lognormal(mean=-5, cv=1)\n", CC_ERANGE, 4, "sessions.user_tokens", NULL},
    {"uniform reversed", "[workload]\nrequests = 10\n[sessions]\nuser_tokens = uniform(50, 20)\n",
     CC_ERANGE, 4, "sessions.user_tokens", "A <= B"},
    {"distribution the key does not take", "[workload]\nrequests = 10\n[sessions]\n"
     "user_tokens = exponential(mean=3)\n", CC_EFORMAT, 4, "sessions.user_tokens", NULL},
    {"unknown distribution", "[workload]\nrequests = 10\n[sessions]\nturns = zipf(2)\n",
     CC_EFORMAT, 4, "sessions.turns", NULL},
    {"geometric mean below 1", "[workload]\nrequests = 10\n[sessions]\n"
     "turns = geometric(mean=0.5)\n", CC_ERANGE, 4, "sessions.turns", "at least 1"},
    {"trailing junk in distribution", "[workload]\nrequests = 10\n[sessions]\n"
     "turns = uniform(1, 3) x\n", CC_EFORMAT, 4, "sessions.turns", NULL},
    {"negative think time", "[workload]\nrequests = 10\n[sessions]\nthink_time_s = -2\n",
     CC_ERANGE, 4, "sessions.think_time_s", NULL},
    {"weights for names", "[workload]\nrequests = 10\n[tenants]\nnames = a@1, b@1\n"
     "weights = 1\n", CC_EFORMAT, 5, "tenants.weights", "one weight per name"},
    {"tenant named twice", "[workload]\nrequests = 10\n[tenants]\nnames = a@1, a@1\n",
     CC_EFORMAT, 4, "tenants.names", "twice"},
    {"negative weight", "[workload]\nrequests = 10\n[tenants]\nnames = a@1, b@1\n"
     "weights = 1, -1\n", CC_ERANGE, 5, "tenants.weights", NULL},
    {"mix all zero", "[workload]\nrequests = 10\n[mix]\nchat = 0\n", CC_ERANGE, 3, "mix", NULL},
    {"rag without corpus", "[workload]\nrequests = 10\n[mix]\nrag = 1\n[rag]\ncorpus = 0\n",
     CC_ERANGE, 6, "rag.corpus", NULL},
    {"more passages than the corpus", "[workload]\nrequests = 10\n[mix]\nrag = 1\n[rag]\n"
     "corpus = 3\npassages = 5\n", CC_ERANGE, 7, "rag.passages", NULL},
    {"too many paraphrase groups", "[workload]\nrequests = 10\n[mix]\nparaphrase = 1\n"
     "[paraphrase]\ngroups = 1000000\n", CC_ERANGE, 6, "paraphrase.groups", "distinct"},
    {"invalid UTF-8", "[workload]\nrequests = 10 # caf\xC3\x28\n", CC_EFORMAT, 2, "workload",
     "UTF-8"},
    {"binary data", binary_spec, CC_EFORMAT, 3, "workload", "binary"},
};

static void test_bad_specs(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_specs / sizeof bad_specs[0]; i++) {
        const bad_case *c = &bad_specs[i];
        cc_trace t;
        cc_err e = {0};
        /* through a file, so binary bytes after a NUL are seen too */
        char path[512];
        size_t len = c->spec == binary_spec ? sizeof binary_spec - 1 : strlen(c->spec);
        tu_write_tmp(path, sizeof path, "bad.spec", c->spec, len);
        int rc = cc_gen_from_spec_file(path, 1, &t, &e);
        if (rc != c->code || e.line != c->line || strcmp(e.field, c->field) != 0 ||
            strcmp(e.file, path) != 0 || (c->msg_has && !strstr(e.msg, c->msg_has))) {
            cc_err_print(&e, stderr);
            fail_msg("case '%s': got %s line %ld field '%s', expected %s line %ld field '%s'%s%s",
                     c->what, cc_status_name(rc), e.line, e.field, cc_status_name(c->code),
                     c->line, c->field, c->msg_has ? " and a message with " : "",
                     c->msg_has ? c->msg_has : "");
        }
        assert_int_equal(t.n, 0); /* nothing handed back */
        remove(path);
    }
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_gen_from_spec_file("/nonexistent/x.spec", 1, &t, &e), CC_EIO);
    assert_string_equal(e.file, "/nonexistent/x.spec");
}

/* ---- the example and the command ---------------------------------------------------- */

static void test_example_spec(void **state)
{
    (void)state;
    cc_trace t;
    cc_err e = {0};
    int rc = cc_gen_from_spec_file("examples/workload.spec", 1, &t, &e);
    if (rc)
        cc_err_print(&e, stderr);
    assert_int_equal(rc, CC_OK);
    assert_true(t.n > 0);
    cc_trace_free(&t);
}

static int run_gen(const char *args, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s gen %s", tu_bin(), args);
    return tu_run(cmd, out);
}

static int files_equal(const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return tu_run(cmd, NULL) == 0;
}

static void test_cli(void **state)
{
    (void)state;
    char *out = NULL, args[2048], p1[512], p2[512];
    assert_int_equal(run_gen("--help", &out), 0);
    assert_non_null(strstr(out, "usage:"));
    assert_non_null(strstr(out, "example"));
    free(out);

    /* byte-identical output, through each writer this tree has */
    struct { const char *format, *ext, *extra; } w[] = {
        {"mooncake", "jsonl", "--block-size 512"}, {"h5", "h5", ""}, {"lcs-csv", "csv", ""},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        const cc_format *f = cc_format_find(w[i].format);
        if (!f || !f->write) {
            printf("skipped: no %s writer in this tree (byte-identical check via .%s)\n",
                   w[i].format, w[i].ext);
            continue;
        }
        char n1[64], n2[64];
        snprintf(n1, sizeof n1, "gen1.%s", w[i].ext);
        snprintf(n2, sizeof n2, "gen2.%s", w[i].ext);
        tu_tmp_path(p1, sizeof p1, n1);
        tu_tmp_path(p2, sizeof p2, n2);
        snprintf(args, sizeof args, "default -o %s --seed 1 %s", p1, w[i].extra);
        if (run_gen(args, &out) != 0)
            fail_msg("gen %s: %s", args, out);
        free(out);
        snprintf(args, sizeof args, "default -o %s --seed 1 %s", p2, w[i].extra);
        assert_int_equal(run_gen(args, NULL), 0);
        if (!files_equal(p1, p2))
            fail_msg("%s and %s differ", p1, p2);
        printf("  gen default --seed 1 twice: identical .%s files\n", w[i].ext);
        remove(p1);
        remove(p2);
    }

    /* a bad spec: exit 1, the message names file, line and key */
    static const char bad[] = "[workload]\nrequests = 10\n[arrival]\nrate = -3\n";
    tu_write_tmp(p1, sizeof p1, "bad_cli.spec", bad, sizeof bad - 1);
    tu_tmp_path(p2, sizeof p2, "bad_cli.jsonl");
    snprintf(args, sizeof args, "%s -o %s", p1, p2);
    assert_int_equal(run_gen(args, &out), 1);
    char want[600];
    snprintf(want, sizeof want, "%s:4:", p1);
    if (!strstr(out, want) || !strstr(out, "arrival.rate"))
        fail_msg("expected '%s' and 'arrival.rate' in:\n%s", want, out);
    free(out);
    assert_int_equal(access(p2, F_OK), -1); /* no output left behind */
    remove(p1);

    /* usage errors, a missing spec, --print-default */
    assert_int_equal(run_gen("default", NULL), 2);
    assert_int_equal(run_gen("default -o x.unknownext", NULL), 2);
    assert_int_equal(run_gen("default -o x.jsonl --seed -1", NULL), 2);
    assert_int_equal(run_gen("/nonexistent.spec -o x.jsonl", &out), 1);
    assert_non_null(strstr(out, "/nonexistent.spec"));
    free(out);
    assert_int_equal(run_gen("--print-default", &out), 0);
    assert_string_equal(out, cc_gen_default_spec);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_poisson),
        cmocka_unit_test(test_gamma),
        cmocka_unit_test(test_diurnal),
        cmocka_unit_test(test_trace_arrivals),
        cmocka_unit_test(test_trace_arrivals_azure),
        cmocka_unit_test(test_zipf),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_mix_and_tenants),
        cmocka_unit_test(test_multi_turn),
        cmocka_unit_test(test_rag_positions),
        cmocka_unit_test(test_paraphrase_groups),
        cmocka_unit_test(test_text_all_and_context_cap),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_example_spec),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests_name("generator", tests, NULL, NULL);
}
