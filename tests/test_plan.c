/* test_plan.c -- the SLO planner (analysis/plan.h) on hand-made traces whose
 * answer is computed by hand from the cost model's formula (sim/costmodel.c)
 * and the profile numbers, the search's pruning (the exact sequence of
 * instance counts it simulates), costs, an SLO no deployment meets, the SLO
 * and tier-grid parsers, tensor-parallel divisibility and the HBM fit.
 *
 * The hand computation.  One request: 8192 new tokens, nothing cached, one
 * output token (so TTFT = its prefill step, no decode), on Llama-3-8B (L 32,
 * h 4096, 32 heads, 8 K/V heads, d 128, f 14336, V 128256, bf16) on one
 * H100 SXM (bf16 peak 989.5e12 FLOP/s, 3.35e12 B/s; e_lin 0.7, e_attn 0.5,
 * e_mem 0.8, o_step 1e-3 s, o_item 1e-5 s; sim/profiles/hardware/h100-sxm):
 *   P_layer = h q + 2 h g + q h + 3 h f = 218,103,808      (q 4096, g 1024)
 *   flops_linear = 2 L P_layer T + 2 h V = 1.14350e14      (T 8192)
 *   flops_attn = 4 L q T (T+1) / 2 = 1.75943e13
 *   t_compute = 1.14350e14 / (989.5e12 * 0.7) + 1.75943e13 / (989.5e12 * 0.5)
 *             = 0.165089 + 0.035562 = 0.200653 s
 *   t_memory = (15.01e9 weights + 1.07e9 KV) / (3.35e12 * 0.8) = 0.0060 s
 *   S = max(t_compute, t_memory) + 1e-3 + 1e-5 = 0.201663 s
 * The step budget (8192 tokens) holds exactly one such prefill, so an
 * instance serves one request per S.  Arrivals every D = S / 2.4: with n
 * instances and a router that picks an idle one, request k finds request
 * k-n done iff n D >= S, i.e. n >= 2.4: 3 instances serve every request in
 * exactly S; 2 serve 2 per S against 2.4 arriving, so over 60 requests the
 * backlog grows to ~10 and TTFT p99 reaches several S.  With the SLO TTFT
 * p99 <= 1.5 S the answer is 3 at rate x1; at x2 (D' = S / 4.8) it is 5. */
#include "testutil.h"

#include "../analysis/plan.h"
#include "../policies/policy.h"

#define S_HAND 0.20166303818832831 /* seconds, the computation above */
#define N_REQ 60
#define IN_TOK 8192

static void load_hw(cc_sim_hw *hw, const char *name)
{
    cc_err e = {0};
    if (cc_sim_hw_load(name, hw, &e) != CC_OK)
        fail_msg("%s", e.msg);
}

/* N_REQ requests every S_HAND / ratio seconds; with_blocks: unique hash
 * chains of 16-token blocks (nothing shared), else none (content-less). */
static void make_trace(cc_trace *t, double ratio, int with_blocks)
{
    cc_trace_init(t);
    static uint64_t blocks[IN_TOK / 16];
    t->block_size = with_blocks ? 16 : 0;
    t->timed = true;
    for (int i = 0; i < N_REQ; i++) {
        cc_request r = {0};
        r.arrival_ns = (int64_t)llround(i * S_HAND / ratio * 1e9);
        r.session_id = (uint64_t)i;
        r.input_tokens = IN_TOK;
        r.output_tokens = 1;
        r.group_id = CC_NO_GROUP;
        if (with_blocks) {
            for (int b = 0; b < IN_TOK / 16; b++)
                blocks[b] = (uint64_t)i * 1000003u + (uint64_t)b + 1;
            r.n_blocks = IN_TOK / 16;
            r.blocks = blocks;
        }
        assert_int_equal(cc_trace_append(t, &r), CC_OK);
    }
}

static void base_spec(cc_plan_spec *s, const cc_plan_tiers *tiers)
{
    cc_plan_spec_default(s);
    cc_err e = {0};
    load_hw(&s->hw[0], "h100-sxm");
    s->n_hw = 1;
    if (cc_sim_model_load("llama-3-8b", &s->model, &e) != CC_OK)
        fail_msg("%s", e.msg);
    s->slos[0] = (cc_plan_slo){CC_SLO_TTFT, 99, 1.5 * S_HAND};
    s->n_slos = 1;
    s->tiers = tiers;
    s->n_tiers = 1;
    s->max_instances = 16;
    s->threads = 2;
}

static const cc_plan_point *answer(const cc_plan_result *r, size_t rate)
{
    assert_true(r->answers[rate].point < r->n_points);
    return &r->points[r->answers[rate].point];
}

/* 3 instances at x1, 5 at x2, for a content-less trace and one with hash
 * chains; the search simulates exactly the counts the doubling and the
 * bisection imply, and x2 starts where x1 ended. */
static void test_three_instances_and_pruning(void **state)
{
    (void)state;
    cc_plan_tiers tiers = {8.0 * 1073741824.0, 0, 0};
    for (int with_blocks = 0; with_blocks < 2; with_blocks++) {
        cc_trace t;
        make_trace(&t, 2.4, with_blocks);
        cc_plan_spec s;
        base_spec(&s, &tiers);
        s.rates[0] = 2; /* given out of order: searched ascending */
        s.rates[1] = 1;
        s.n_rates = 2;
        cc_plan_result r;
        cc_err e = {0};
        if (cc_plan_run(&t, &s, &r, &e) != CC_OK)
            fail_msg("%s", e.msg);
        assert_int_equal(r.content_less, !with_blocks);
        assert_true(r.answers[1].met);
        assert_int_equal(answer(&r, 1)->instances, 3);
        assert_true(r.answers[0].met);
        assert_int_equal(answer(&r, 0)->instances, 5);
        /* served alone: TTFT is S exactly (1 ns rounding per step) */
        assert_true(fabs(answer(&r, 1)->ttft_p99_s - S_HAND) < 1e-6);
        assert_true(fabs(answer(&r, 0)->ttft_p99_s - S_HAND) < 1e-6);
        /* x1: 1, 2 miss, 3 meets (4.. not run); x2 starts at 3: 3, 4 miss, 5 meets */
        static const uint32_t want_n[] = {1, 2, 3, 3, 4, 5};
        static const uint32_t want_rate[] = {1, 1, 1, 0, 0, 0};
        static const int want_meets[] = {0, 0, 1, 0, 0, 1};
        assert_int_equal(r.n_points, 6);
        for (size_t i = 0; i < 6; i++) {
            assert_int_equal(r.points[i].instances, want_n[i]);
            assert_int_equal(r.points[i].rate, want_rate[i]);
            assert_int_equal(r.points[i].meets, want_meets[i]);
        }
        assert_int_equal(r.grid_points, 1 * 2 * 16);
        cc_plan_result_free(&r);
        cc_trace_free(&t);
    }
}

/* Two profiles with the same speed at different prices: the cheaper wins;
 * its price per hour and per million tokens by hand (DRAM tier included). */
static void test_cheapest_and_costs(void **state)
{
    (void)state;
    const double gib = 1073741824.0;
    cc_plan_tiers tiers = {8 * gib, 64 * gib, 0};
    cc_trace t;
    make_trace(&t, 2.4, 0);
    cc_plan_spec s;
    base_spec(&s, &tiers);
    s.hw[1] = s.hw[0];
    snprintf(s.hw[1].name, sizeof s.hw[1].name, "h100-cheap");
    s.hw[1].usd_per_hour = 1.25;
    s.n_hw = 2;
    cc_plan_result r;
    cc_err e = {0};
    if (cc_plan_run(&t, &s, &r, &e) != CC_OK)
        fail_msg("%s", e.msg);
    const cc_plan_point *p = answer(&r, 0);
    assert_int_equal(p->instances, 3);
    assert_int_equal(p->config, 1);
    /* 3 x (1.25 + 64 GiB x $0.005/GB-hour) (policies/economics.c: dram) */
    double usd_h = 3 * (1.25 + 64 * gib / 1e9 * 0.005);
    assert_true(fabs(p->usd_per_hour - usd_h) < 1e-9);
    /* tokens served: 60 x 8193 over (59 D + S) */
    double makespan = 59 * S_HAND / 2.4 + S_HAND;
    double tok_per_s = N_REQ * (IN_TOK + 1.0) / makespan;
    assert_true(fabs(p->usd_per_mtok - usd_h / (3600 * tok_per_s / 1e6)) / p->usd_per_mtok < 1e-6);
    /* the Pareto front: cost ascending, TTFT p99 strictly descending */
    const cc_plan_answer *A = &r.answers[0];
    assert_true(A->n_pareto >= 2);
    for (size_t j = 1; j < A->n_pareto; j++) {
        assert_true(r.points[A->pareto[j]].usd_per_hour >= r.points[A->pareto[j - 1]].usd_per_hour);
        assert_true(r.points[A->pareto[j]].ttft_p99_s < r.points[A->pareto[j - 1]].ttft_p99_s);
    }
    /* no point is cheaper and faster than a front point (brute force) */
    for (size_t j = 0; j < A->n_pareto; j++)
        for (size_t i = 0; i < r.n_points; i++) {
            const cc_plan_point *f = &r.points[A->pareto[j]], *q = &r.points[i];
            assert_false(q->usd_per_hour < f->usd_per_hour && q->ttft_p99_s < f->ttft_p99_s);
        }
    cc_plan_result_free(&r);
    cc_trace_free(&t);
}

/* TTFT p99 <= S / 2: no deployment can (a request alone takes S); the
 * closest is one served alone, at ratio 2. */
static void test_unmeetable(void **state)
{
    (void)state;
    cc_plan_tiers tiers = {8.0 * 1073741824.0, 0, 0};
    cc_trace t;
    make_trace(&t, 2.4, 0);
    cc_plan_spec s;
    base_spec(&s, &tiers);
    s.slos[0].target_s = 0.5 * S_HAND;
    s.max_instances = 4;
    cc_plan_result r;
    cc_err e = {0};
    if (cc_plan_run(&t, &s, &r, &e) != CC_OK)
        fail_msg("%s", e.msg);
    assert_false(r.answers[0].met);
    const cc_plan_point *p = answer(&r, 0);
    assert_false(p->meets);
    assert_true(p->instances >= 3);
    assert_true(fabs(p->worst_ratio - 2.0) < 1e-5);
    cc_plan_result_free(&r);
    cc_trace_free(&t);
}

static void test_slo_parse(void **state)
{
    (void)state;
    cc_plan_slo s[CC_PLAN_MAX_SLOS];
    size_t n;
    cc_err e = {0};
    assert_int_equal(cc_plan_slo_parse("ttft_p99=1s,tpot_p99=50ms,e2e_p50=2500us,queue_p90=3", s,
                                       &n, &e), CC_OK);
    assert_int_equal(n, 4);
    assert_int_equal(s[0].metric, CC_SLO_TTFT);
    assert_int_equal(s[0].pct, 99);
    assert_true(s[0].target_s == 1.0);
    assert_int_equal(s[1].metric, CC_SLO_TPOT);
    assert_true(fabs(s[1].target_s - 0.05) < 1e-15);
    assert_int_equal(s[2].metric, CC_SLO_E2E);
    assert_int_equal(s[2].pct, 50);
    assert_true(fabs(s[2].target_s - 0.0025) < 1e-15);
    assert_int_equal(s[3].metric, CC_SLO_QUEUE);
    assert_int_equal(s[3].pct, 90);
    assert_true(s[3].target_s == 3.0);
    static const struct { const char *in, *msg; } bad[] = {
        {"latency_p99=1s", "unknown SLO metric"}, {"ttft_p95=1s", "p50, p90 or p99"},
        {"ttft=1s", "unknown SLO metric"},        {"ttft_p99=-1s", "positive time"},
        {"ttft_p99=0", "positive time"},          {"ttft_p99=1h", "positive time"},
        {"ttft_p99", "METRIC_pQ=VALUE"},          {"", "empty"},
        {"ttft_p99=1s,ttft_p99=2s", "twice"},     {"ttft_p99=abc", "positive time"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(cc_plan_slo_parse(bad[i].in, s, &n, &e), CC_EARG);
        if (!strstr(e.msg, bad[i].msg))
            fail_msg("'%s': '%s' lacks '%s'", bad[i].in, e.msg, bad[i].msg);
    }
}

static void test_tiers_parse(void **state)
{
    (void)state;
    cc_plan_tiers *t;
    size_t n;
    cc_err e = {0};
    assert_int_equal(cc_plan_tiers_parse("hbm=8GiB|16GiB,dram=0|64GB,ssd=1TB", &t, &n, &e), CC_OK);
    assert_int_equal(n, 4);
    assert_true(t[0].hbm_bytes == 8589934592.0 && t[0].dram_bytes == 0 && t[0].ssd_bytes == 1e12);
    assert_true(t[1].hbm_bytes == 8589934592.0 && t[1].dram_bytes == 64e9);
    assert_true(t[2].hbm_bytes == 17179869184.0 && t[2].dram_bytes == 0);
    assert_true(t[3].hbm_bytes == 17179869184.0 && t[3].dram_bytes == 64e9);
    char buf[128];
    assert_string_equal(cc_plan_tiers_spec(&t[1], buf, sizeof buf), "hbm:8GiB,dram:64GB,ssd:1TB");
    free(t);
    static const struct { const char *in, *msg; } bad[] = {
        {"hbm=0", "no tier at all"},   {"gpu=1GB", "unknown tier"},
        {"hbm=abc", "not a size"},     {"hbm", "TIER=SIZE"},
        {"hbm=1GB,hbm=2GB", "twice"},  {"hbm=-1GB", "not a size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(cc_plan_tiers_parse(bad[i].in, &t, &n, &e), CC_EARG);
        if (!strstr(e.msg, bad[i].msg))
            fail_msg("'%s': '%s' lacks '%s'", bad[i].in, e.msg, bad[i].msg);
    }
}

/* tp must divide the heads; Llama-3-70B's weights: 70,553,706,496
 * parameters (2 x V h embeddings + h + L (P_layer + 2 h), P_layer =
 * 855,638,016) x 2 bytes = 141.107 GB: on one H100 (72 GB usable at 0.9)
 * 69.1 GB short; on 2 with an 8 GiB HBM tier 144 - 141.107 - 8.590 = 5.70
 * GB short; on 4 it fits. */
static void test_tp_and_fit(void **state)
{
    (void)state;
    cc_sim_model m8, m70;
    cc_sim_hw hw;
    cc_err e = {0};
    assert_int_equal(cc_sim_model_load("llama-3-8b", &m8, &e), CC_OK);
    assert_int_equal(cc_sim_model_load("llama-3-70b", &m70, &e), CC_OK);
    load_hw(&hw, "h100-sxm");
    assert_int_equal(cc_sim_tp_check(&m8, 3, &e), CC_EARG);
    assert_non_null(strstr(e.msg, "must divide"));
    assert_int_equal(cc_sim_tp_check(&m8, 16, &e), CC_EARG); /* 8 K/V heads */
    assert_int_equal(cc_sim_tp_check(&m8, 0, &e), CC_EARG);
    for (int tp = 1; tp <= 8; tp *= 2)
        assert_int_equal(cc_sim_tp_check(&m70, tp, &e), CC_OK);
    cc_sim_fit f;
    memset(&e, 0, sizeof e);
    assert_int_equal(cc_sim_fit_compute(&hw, &m70, 1, 0.9, 0, 0, &f, &e), CC_ERANGE);
    assert_non_null(strstr(e.msg, "69.1 GB short"));
    assert_true(fabs(f.weight_bytes - 70553706496.0 * 2) < 1);
    memset(&e, 0, sizeof e);
    assert_int_equal(cc_sim_fit_compute(&hw, &m70, 2, 0.9, 8589934592.0, 0, &f, &e), CC_ERANGE);
    assert_non_null(strstr(e.msg, "5.7 GB short"));
    assert_int_equal(cc_sim_fit_compute(&hw, &m70, 4, 0.9, 8589934592.0, 0, &f, &e), CC_OK);
    /* 288e9 - 141.107e9 - 8.590e9 = 138.303e9 bytes of KV, 327,680 per token */
    assert_int_equal(f.kv_tokens, (uint64_t)((288e9 - 141107412992.0 - 8589934592.0) / 327680));
    /* the plan: tp auto picks 4 for the 70B with an 8 GiB HBM tier; --tp 3 is refused */
    cc_plan_tiers tiers = {8589934592.0, 0, 0};
    cc_trace t;
    make_trace(&t, 2.4, 0);
    cc_plan_spec s;
    base_spec(&s, &tiers);
    s.model = m70;
    s.max_instances = 1;
    s.slos[0].target_s = 1e6;
    cc_plan_result r;
    if (cc_plan_run(&t, &s, &r, &e) != CC_OK)
        fail_msg("%s", e.msg);
    assert_int_equal(r.configs[0].tp, 4);
    assert_true(fabs(answer(&r, 0)->usd_per_hour - 4 * 2.99) < 1e-9);
    cc_plan_result_free(&r);
    s.tp[0] = 3;
    s.n_tp = 1;
    assert_int_equal(cc_plan_run(&t, &s, &r, &e), CC_EARG);
    s.tp[0] = 1; /* does not fit: an error that says by how much */
    memset(&e, 0, sizeof e);
    assert_int_equal(cc_plan_run(&t, &s, &r, &e), CC_ERANGE);
    assert_non_null(strstr(e.msg, "short"));
    cc_trace_free(&t);
}

/* Two processes' halves (rank 0 and 1 of 2), merged, are the one-process
 * result point for point (what `mpirun ctxcache plan` relies on). */
static void test_split_and_merge(void **state)
{
    (void)state;
    const double gib = 1073741824.0;
    cc_plan_tiers tiers[2] = {{8 * gib, 0, 0}, {8 * gib, 64 * gib, 0}};
    cc_trace t;
    make_trace(&t, 2.4, 1);
    cc_plan_spec s;
    base_spec(&s, tiers);
    s.n_tiers = 2;
    s.hw[1] = s.hw[0];
    snprintf(s.hw[1].name, sizeof s.hw[1].name, "h100-cheap");
    s.hw[1].usd_per_hour = 2.0;
    s.n_hw = 2;
    s.rates[1] = 2;
    s.n_rates = 2;
    cc_plan_result one, half[2];
    cc_err e = {0};
    if (cc_plan_run(&t, &s, &one, &e) != CC_OK)
        fail_msg("%s", e.msg);
    size_t total = 0;
    for (uint32_t r = 0; r < 2; r++) {
        s.rank = r;
        s.ranks = 2;
        if (cc_plan_run(&t, &s, &half[r], &e) != CC_OK)
            fail_msg("%s", e.msg);
        total += half[r].n_points;
        for (size_t i = 0; i < half[r].n_points; i++)
            assert_int_equal(half[r].points[i].config % 2, r);
    }
    assert_int_equal(total, one.n_points);
    cc_plan_point *all = malloc(total * sizeof *all);
    memcpy(all, half[1].points, half[1].n_points * sizeof *all); /* rank 1 first: order must not matter */
    memcpy(all + half[1].n_points, half[0].points, half[0].n_points * sizeof *all);
    assert_int_equal(cc_plan_merge(&half[0], &s, all, total, &e), CC_OK);
    assert_int_equal(half[0].n_points, one.n_points);
    for (size_t i = 0; i < one.n_points; i++) {
        assert_int_equal(half[0].points[i].config, one.points[i].config);
        assert_int_equal(half[0].points[i].instances, one.points[i].instances);
        assert_true(half[0].points[i].ttft_p99_s == one.points[i].ttft_p99_s);
        assert_true(half[0].points[i].usd_per_hour == one.points[i].usd_per_hour);
    }
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(half[0].answers[k].point, one.answers[k].point);
        assert_int_equal(half[0].answers[k].n_pareto, one.answers[k].n_pareto);
    }
    /* the cheaper copy of the H100, without the DRAM tier: 3 then 5 of it */
    assert_int_equal(answer(&one, 0)->config, 2);
    assert_int_equal(answer(&one, 0)->instances, 3);
    assert_int_equal(answer(&one, 1)->instances, 5);
    cc_plan_result_free(&one);
    cc_plan_result_free(&half[0]);
    cc_plan_result_free(&half[1]);
    cc_trace_free(&t);
}

/* A brute-force twin on the generated default workload (shared prefixes,
 * 16-token blocks, so the caches hit): every instance count 1..8 simulated
 * directly with the driver at rate x12; for targets at each count's own
 * TTFT p99, the plan's answer is the first count that meets it.  TTFT p99
 * is not monotone in the instances here (0.142, 0.147, 0.114 s at 3, 4, 5:
 * more instances split the caches' traffic), which is why the search walks
 * upwards instead of bisecting. */
static void test_bruteforce_twin(void **state)
{
    (void)state;
    cc_trace t;
    cc_err e = {0};
    if (cc_gen_from_spec_string(cc_gen_default_spec, "default", 1, &t, &e) != CC_OK)
        fail_msg("%s", e.msg);
    t.n = 1500; /* the first 1500 requests (the columns stay valid) */
    const double rate = 12, gib = 1073741824.0;
    cc_plan_tiers tiers = {8 * gib, 0, 0};
    cc_plan_spec s;
    base_spec(&s, &tiers);
    s.rates[0] = rate;
    s.max_instances = 8;
    /* the twin: the driver on the trace with arrivals / 12 */
    int64_t *orig = t.arrival_ns, *scaled = malloc(t.n * sizeof *scaled);
    for (size_t i = 0; i < t.n; i++)
        scaled[i] = orig[0] + (int64_t)((double)(orig[i] - orig[0]) / rate);
    cc_trace v = t;
    v.arrival_ns = scaled;
    cc_pc_config pc;
    memset(&pc, 0, sizeof pc);
    pc.mode = CC_PC_PREFIX;
    pc.block_tokens = t.block_size;
    pc.kv_bytes_per_block = 131072ull * t.block_size; /* Llama-3-8B: 2 x 32 x 8 x 128 x 2 */
    pc.seed = 1;
    pc.n_tiers = 1;
    snprintf(pc.tiers[0].name, sizeof pc.tiers[0].name, "hbm");
    pc.tiers[0].capacity_blocks = (uint64_t)(8 * gib / (double)pc.kv_bytes_per_block);
    pc.tiers[0].policy = cc_policy_find("lru");
    cc_sim_fit fit;
    assert_int_equal(cc_sim_fit_compute(&s.hw[0], &s.model, 1, 0.9, 8 * gib, 0, &fit, &e), CC_OK);
    double ttft[9];
    for (uint32_t n = 1; n <= 8; n++) {
        cc_sim_config sc;
        cc_sim_config_default(&sc);
        sc.instances = n;
        sc.router = CC_SIM_ROUTER_LEAST_LOADED;
        sc.concurrency = CC_CONCURRENCY_IMMEDIATE;
        sc.hbm_kv_tokens = fit.kv_tokens;
        sc.bootstrap = 100;
        cc_executor ex = {0};
        cc_costmodel_opts o;
        cc_costmodel_opts_default(&o);
        assert_int_equal(cc_costmodel_create(&s.hw[0], &s.model, &o, &ex, &e), CC_OK);
        cc_replay_opts ro = {.concurrency = CC_CONCURRENCY_IMMEDIATE};
        cc_sim_result r;
        if (cc_sim_run(&v, &pc, &ro, &sc, &ex, 1, &r, &e) != CC_OK)
            fail_msg("%s", e.msg);
        ttft[n] = r.summary.ttft_s.p99.value;
        cc_sim_result_free(&r);
        cc_executor_free(&ex);
    }
    for (uint32_t k = 2; k <= 8; k++) {
        s.slos[0].target_s = ttft[k] * (1 + 1e-12);
        uint32_t first = 0;
        for (uint32_t n = 1; n <= 8 && !first; n++)
            if (ttft[n] <= s.slos[0].target_s)
                first = n;
        cc_plan_result r;
        if (cc_plan_run(&t, &s, &r, &e) != CC_OK)
            fail_msg("%s", e.msg);
        assert_true(r.answers[0].met);
        if (answer(&r, 0)->instances != first)
            fail_msg("target %.6f: plan says %u, brute force %u", s.slos[0].target_s,
                     answer(&r, 0)->instances, first);
        assert_true(answer(&r, 0)->ttft_p99_s == ttft[first]);
        assert_int_equal(r.n_points, first); /* 1..first, nothing beyond */
        cc_plan_result_free(&r);
    }
    free(scaled);
    t.arrival_ns = orig;
    cc_trace_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_instances_and_pruning),
        cmocka_unit_test(test_cheapest_and_costs),
        cmocka_unit_test(test_unmeetable),
        cmocka_unit_test(test_slo_parse),
        cmocka_unit_test(test_tiers_parse),
        cmocka_unit_test(test_tp_and_fit),
        cmocka_unit_test(test_split_and_merge),
        cmocka_unit_test(test_bruteforce_twin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
