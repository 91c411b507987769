/* test_sim_driver.c -- the serving-simulator driver (sim/driver.h) on tiny
 * hand-computed traces with a test executor of fixed costs (prefill 1 ms
 * per new token, decode 10 ms per step whatever the batch, KV transfer
 * 1 us per byte; serial = transfer + compute, layerwise = the longer of
 * the two): FCFS order and queueing delay, continuous batching with a token
 * budget and chunked prefill (every step boundary), LPF ordering, each
 * router's choice, the HBM budget queueing and preempting (recompute),
 * loads from a lower tier in TTFT (serial vs layerwise), TPOT,
 * prefill_gpu_s_saved, percentiles against hand values, bootstrap
 * determinism, concurrency none keeping cc_replay's hit figures, the
 * lanes scheduler with an executor without decode_run, bad
 * configurations, and the command's new options. */
#include "testutil.h"
#include "analysis/results.h"
#include "core/replay.h"
#include "sim/driver.h"

#include <gsl/gsl_rng.h>

#include <jansson.h>

#define MS 1000000LL

/* ---- the test executor ------------------------------------------------------ */

typedef struct tex {
    int finishes;
} tex;

/* A fixed cost per prefill step on top of the per-token cost (0 unless a
 * test sets it): a step reads the weights once, however many requests it
 * holds, so a request's share of a batched step is below its price alone. */
static double step_fixed_s;

static int t_prefill(void *self, const cc_sim_item *it, size_t n, double *s, cc_err *e)
{
    double tok = 0;
    for (size_t i = 0; i < n; i++)
        tok += (double)it[i].n_new;
    *s = tok * 1e-3 + (n ? step_fixed_s : 0);
    return CC_OK;
}
static int t_decode(void *self, const cc_sim_item *it, size_t n, double *s, cc_err *e)
{
    for (size_t i = 0; i < n; i++)
        if (it[i].n_new != 1)
            return cc_err_set(e, CC_EARG, NULL, 0, "n_new", "decode item with n_new %lld",
                              (long long)it[i].n_new);
    *s = n ? 10e-3 : 0;
    return CC_OK;
}
static int t_xfer(void *self, double bytes, int from, int to, int mode, double c, double *s,
                  cc_err *e)
{
    double tau = bytes * 1e-6;
    *s = mode == CC_SIM_XFER_SERIAL ? tau + c : (tau > c ? tau : c);
    return CC_OK;
}
static int t_blend(void *self, const cc_sim_blend_item *it, size_t n, double *s, cc_err *e)
{
    *s = 0;
    return CC_OK;
}
static void t_finish(void *self, uint64_t req)
{
    ((tex *)self)->finishes++;
}
static const cc_executor_ops t_ops = {"test", t_prefill, t_decode, t_xfer, t_blend, t_finish,
                                      NULL, NULL};

/* ---- helpers ----------------------------------------------------------------- */

static void add(cc_trace *t, int64_t at_ms, uint32_t in, uint32_t out, const uint64_t *b,
                uint32_t nb)
{
    cc_request r = {0};
    r.arrival_ns = at_ms * MS;
    r.input_tokens = in;
    r.output_tokens = out;
    r.group_id = CC_NO_GROUP;
    r.blocks = b;
    r.n_blocks = nb;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void trace4(cc_trace *t)
{
    cc_trace_init(t);
    t->block_size = 4;
    t->timed = true;
}

static cc_pc_config tiers(uint64_t cap0, uint64_t cap1)
{
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.mode = CC_PC_PREFIX;
    c.kv_bytes_per_block = 100;
    c.n_tiers = cap1 ? 2 : 1;
    strcpy(c.tiers[0].name, "hbm");
    c.tiers[0].capacity_blocks = cap0;
    c.tiers[0].policy = cc_policy_find("lru");
    if (cap1) {
        strcpy(c.tiers[1].name, "dram");
        c.tiers[1].capacity_blocks = cap1;
        c.tiers[1].policy = cc_policy_find("lru");
    }
    return c;
}

static cc_sim_config conf(cc_concurrency c, cc_sim_sched s)
{
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.concurrency = c;
    sc.scheduler = s;
    sc.bootstrap = 50;
    return sc;
}

static tex tx;

static void sim(const cc_trace *t, const cc_pc_config *cfg, const cc_sim_config *sc,
                cc_sim_result *r)
{
    cc_executor ex = {&t_ops, &tx};
    cc_replay_opts ro = {.keep_records = true};
    cc_err e = {0};
    memset(&tx, 0, sizeof tx);
    int rc = cc_sim_run(t, cfg, &ro, sc, &ex, 1, r, &e);
    if (rc != CC_OK)
        fail_msg("cc_sim_run: %s (%s)", e.msg, e.field);
}

static void times(const cc_sim_result *r, size_t i, int64_t start_ms, int64_t first_ms,
                  int64_t finish_ms)
{
    const cc_sim_record *x = &r->records[i];
    if (x->start_ns != start_ms * MS || x->first_token_ns != first_ms * MS ||
        x->finish_ns != finish_ms * MS)
        fail_msg("request %zu: start %lld first %lld finish %lld ns; expected %lld %lld %lld ms",
                 i, (long long)x->start_ns, (long long)x->first_token_ns,
                 (long long)x->finish_ns, (long long)start_ms, (long long)first_ms,
                 (long long)finish_ms);
}

/* ---- tests ------------------------------------------------------------------- */

/* fcfs: r0 (8 tokens, 3 out) prefill 0-8, decodes 8-18-28; r1 arrives at
 * 1 ms, waits until 28, prefill 28-32, one decode 32-42. */
static void test_fcfs(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2}, b1[] = {3};
    add(&t, 0, 8, 3, b0, 2);
    add(&t, 1, 4, 2, b1, 1);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_IMMEDIATE, CC_SIM_SCHED_FCFS);
    cc_sim_result r;
    sim(&t, &cfg, &sc, &r);
    times(&r, 0, 0, 8, 28);
    times(&r, 1, 28, 32, 42);
    /* TPOT 10 ms each; queue 0 and 27 ms; TTFT 8 and 31 ms */
    assert_true(fabs(r.summary.tpot_s.p50.value - 0.010) < 1e-12);
    assert_true(fabs(r.summary.queue_s.mean - 0.0135) < 1e-12);
    assert_true(fabs(r.summary.ttft_s.p50.value - 0.0195) < 1e-12); /* (8 + 31) / 2 */
    assert_true(fabs(r.summary.makespan_s - 0.042) < 1e-12);
    assert_true(fabs(r.summary.requests_per_s - 2 / 0.042) < 1e-9);
    assert_true(fabs(r.summary.throughput_tokens_per_s - 17 / 0.042) < 1e-9);
    /* two requests + two prices alone at admission + two reference prefills */
    assert_int_equal(tx.finishes, 2 + 2 + 2);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* prefill_gpu_s_saved counts what caching saved, not what batching saved.
 * Prefill steps cost 5 ms + 1 ms per token (decode tokens of a mixed step
 * included).  r0 (4 tokens, 3 out) prefills alone 0-9; r1 (4 tokens, no
 * block shared) arrives at 1 and prefills beside r0's decode in one step of
 * 5 + 5 = 10 ms (9-19), charged 10 x 4/5 = 8 ms against 9 ms alone: the old
 * figure (full - charged) said 1 ms saved with nothing cached.  Priced alone
 * both ways, nothing is saved: 0.  r2 at 100 ms (8 tokens) shares r0's
 * block: 4 cached, 4 computed, alone 5 + 4 = 9 ms against 13 ms: 4 ms saved
 * in all. */
static void test_saved_is_caching_not_batching(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1}, b1[] = {2}, b2[] = {1, 5};
    add(&t, 0, 4, 3, b0, 1);
    add(&t, 1, 4, 1, b1, 1);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_IMMEDIATE, CC_SIM_SCHED_BATCH);
    cc_sim_result r;
    step_fixed_s = 5e-3;
    sim(&t, &cfg, &sc, &r);
    step_fixed_s = 0;
    times(&r, 0, 0, 9, 29);
    times(&r, 1, 9, 19, 19);
    assert_true(fabs(r.records[1].prefill_s - 0.008) < 1e-12);
    assert_true(fabs(r.records[1].prefill_full_s - 0.009) < 1e-12);
    assert_true(fabs(r.records[1].prefill_alone_s - 0.009) < 1e-12);
    assert_true(fabs(r.summary.prefill_gpu_s_saved) < 1e-12);
    cc_sim_result_free(&r);
    add(&t, 100, 8, 1, b2, 2);
    step_fixed_s = 5e-3;
    sim(&t, &cfg, &sc, &r);
    step_fixed_s = 0;
    assert_int_equal(r.records[2].cached_tokens, 4);
    assert_true(fabs(r.records[2].prefill_full_s - 0.013) < 1e-12);
    assert_true(fabs(r.records[2].prefill_alone_s - 0.009) < 1e-12);
    assert_true(fabs(r.summary.prefill_gpu_s_saved - 0.004) < 1e-12);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* batch, budget 6, chunk 4: r0 10 tokens (2 out), r1 4 tokens (1 out), both
 * at 0.  Steps: [r0 4] 0-4; [r0 4, r1 2] 4-10; [r0 2, r1 2] 10-14 (both
 * first tokens; r1 done); [r0 decode] 14-24. */
static void test_batch_chunked(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2, 3}, b1[] = {4};
    add(&t, 0, 10, 2, b0, 3);
    add(&t, 0, 4, 1, b1, 1);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_IMMEDIATE, CC_SIM_SCHED_BATCH);
    sc.max_batch_tokens = 6;
    sc.chunk_tokens = 4;
    cc_sim_result r;
    sim(&t, &cfg, &sc, &r);
    times(&r, 0, 0, 14, 24);
    times(&r, 1, 4, 14, 14);
    assert_int_equal(r.summary.steps, 4);
    /* charged by tokens: r0 4 + 6*4/6 + 4*2/4 = 10 ms; r1 2 + 2 = 4 ms;
     * nothing cached, so nothing saved */
    assert_true(fabs(r.records[0].prefill_s - 0.010) < 1e-12);
    assert_true(fabs(r.records[1].prefill_s - 0.004) < 1e-12);
    assert_true(fabs(r.summary.prefill_gpu_s_saved) < 1e-12);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* concurrency none: r1 hits r0's 2 blocks, computes 4 tokens; saved =
 * 12 - 4 ms; hit figures as cc_replay's (2 hit blocks, 8 tokens). */
static void test_none_hits_and_saved(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2}, b1[] = {1, 2, 3};
    add(&t, 0, 8, 1, b0, 2);
    add(&t, 100, 12, 1, b1, 3);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_NONE, CC_SIM_SCHED_BATCH);
    cc_sim_result r;
    sim(&t, &cfg, &sc, &r);
    times(&r, 0, 0, 8, 8);
    times(&r, 1, 100, 104, 104);
    assert_int_equal(r.records[1].cached_tokens, 8);
    assert_int_equal(r.records[1].computed_tokens, 4);
    assert_int_equal(r.cache.hit_blocks, 2);
    assert_int_equal(r.cache.hit_tokens, 8);
    assert_true(fabs(r.summary.prefill_gpu_s_saved - 0.008) < 1e-12);
    /* the cache figures are exactly cc_replay's */
    cc_replay_opts ro = {.keep_records = false};
    cc_replay_result rr;
    cc_err e = {0};
    assert_int_equal(cc_replay(&t, &cfg, &ro, &rr, &e), CC_OK);
    assert_int_equal(rr.hit_blocks, r.cache.hit_blocks);
    assert_int_equal(rr.evictions, r.cache.evictions);
    assert_true(rr.token_hit_ratio == r.cache.token_hit_ratio);
    cc_replay_result_free(&rr);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* lpf with one running request: r0 (8 tokens, 3 out) runs 0-28 and stores
 * blocks 1 2 at 8 ms; r1 [5] arrives at 10, r2 [1 2 3] at 11 (8 cached).
 * lpf takes r2 first at 28 (4 tokens: 32), then r1 (32-36); batch takes r1
 * first (28-32), then r2 (32-36). */
static void test_lpf(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2}, b1[] = {5}, b2[] = {1, 2, 3};
    add(&t, 0, 8, 3, b0, 2);
    add(&t, 10, 4, 1, b1, 1);
    add(&t, 11, 12, 1, b2, 3);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_IMMEDIATE, CC_SIM_SCHED_LPF);
    sc.max_seqs = 1;
    cc_sim_result r;
    sim(&t, &cfg, &sc, &r);
    times(&r, 0, 0, 8, 28);
    times(&r, 2, 28, 32, 32);
    times(&r, 1, 32, 36, 36);
    cc_sim_result_free(&r);
    sc.scheduler = CC_SIM_SCHED_BATCH;
    sim(&t, &cfg, &sc, &r);
    times(&r, 1, 28, 32, 32);
    times(&r, 2, 32, 36, 36);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

static void test_routers(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2}, b1[] = {7}, b2[] = {1, 2, 3}, b3[] = {9};
    add(&t, 0, 8, 1, b0, 2);     /* done at 8 ms wherever it runs */
    add(&t, 20, 4, 1000, b1, 1); /* long decode: keeps its instance loaded */
    add(&t, 21, 12, 1, b2, 3);
    add(&t, 22, 4, 1, b3, 1);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_IMMEDIATE, CC_SIM_SCHED_BATCH);
    sc.instances = 2;
    cc_sim_result r;
    /* rr: 0 1 0 1 */
    sc.router = CC_SIM_ROUTER_RR;
    sim(&t, &cfg, &sc, &r);
    assert_int_equal(r.records[0].instance, 0);
    assert_int_equal(r.records[1].instance, 1);
    assert_int_equal(r.records[2].instance, 0);
    assert_int_equal(r.records[3].instance, 1);
    assert_int_equal(r.records[2].cached_tokens, 8); /* r0's blocks on instance 0 */
    cc_sim_result_free(&r);
    /* least-loaded: r0 -> 0 (tie), done at 8; r1 -> 0 (tie at 0, 0);
     * r2 -> 1 (instance 0 holds r1); r3: loads 1 and 1 (r2 runs
     * 21-33 on 1): tie -> 0 */
    sc.router = CC_SIM_ROUTER_LEAST_LOADED;
    sim(&t, &cfg, &sc, &r);
    assert_int_equal(r.records[0].instance, 0);
    assert_int_equal(r.records[1].instance, 0);
    assert_int_equal(r.records[2].instance, 1);
    assert_int_equal(r.records[3].instance, 0);
    assert_int_equal(r.records[2].cached_tokens, 0);
    cc_sim_result_free(&r);
    /* prefix-affinity: r1 -> 0 (no match anywhere, tie on load); r2 -> 0
     * (8 tokens cached there, although it is busier); r3 -> 1 (less loaded) */
    sc.router = CC_SIM_ROUTER_PREFIX_AFFINITY;
    sim(&t, &cfg, &sc, &r);
    assert_int_equal(r.records[0].instance, 0);
    assert_int_equal(r.records[1].instance, 0);
    assert_int_equal(r.records[2].instance, 0);
    assert_int_equal(r.records[3].instance, 1);
    assert_int_equal(r.records[2].cached_tokens, 8);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* HBM budget 20 tokens, preempt queue: r0 needs 8 + 8, r1 8 + 2 > 4 left:
 * r1 waits until r0 finishes (prefill 0-8, 7 decodes to 78). */
static void test_hbm_queue(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2}, b1[] = {3, 4};
    add(&t, 0, 8, 8, b0, 2);
    add(&t, 1, 8, 2, b1, 2);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_IMMEDIATE, CC_SIM_SCHED_BATCH);
    sc.hbm_kv_tokens = 20;
    sc.preempt = CC_SIM_PREEMPT_QUEUE;
    cc_sim_result r;
    sim(&t, &cfg, &sc, &r);
    times(&r, 0, 0, 8, 78);
    times(&r, 1, 78, 86, 96);
    assert_int_equal(r.summary.preemptions, 0);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

typedef struct admits {
    int n;
    uint64_t req[8];
    uint32_t cached[8];
    int with_nodes;
} admits;

static int on_admit(void *user, uint32_t instance, uint64_t req, uint32_t cached,
                    const uint32_t *tier_tokens, uint32_t n_tiers, const cc_prefix_cache *pc,
                    const uint32_t *nodes, uint32_t n_blocks)
{
    admits *a = user;
    if (a->n < 8) {
        a->req[a->n] = req;
        a->cached[a->n] = cached;
    }
    a->n++;
    a->with_nodes += pc && nodes && (cached == 0 || nodes[0] != CC_NODE_NONE);
    return 0;
}

/* HBM budget 17, recompute: r0 (8, 4 out) prefill 0-8; at 8 r0 decodes
 * (kv 9) and r1 (8) is admitted: mixed step of 9 tokens 8-17, r1's first
 * token at 17.  At 17 two decodes need 19 > 17: r1 (newest) is preempted;
 * r0 decodes 17-27-37 and finishes.  At 37 r1 returns: its 2 blocks are
 * cached (stored at 17), its target is 8 + 1 tokens, so 1 token of prefill
 * 37-38, then 3 decodes 38-48-58-68. */
static void test_hbm_preempt(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2}, b1[] = {3, 4};
    add(&t, 0, 8, 4, b0, 2);
    add(&t, 1, 8, 4, b1, 2);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_IMMEDIATE, CC_SIM_SCHED_BATCH);
    sc.hbm_kv_tokens = 17;
    admits ad = {0};
    sc.on_admit = on_admit;
    sc.on_admit_user = &ad;
    cc_sim_result r;
    sim(&t, &cfg, &sc, &r);
    /* admissions: r0, r1, r1 again with its 2 blocks (8 tokens) cached */
    assert_int_equal(ad.n, 3);
    assert_int_equal(ad.req[0], 0);
    assert_int_equal(ad.req[1], 1);
    assert_int_equal(ad.req[2], 1);
    assert_int_equal(ad.cached[2], 8);
    assert_int_equal(ad.with_nodes, 3);
    times(&r, 0, 0, 8, 37);
    times(&r, 1, 8, 17, 68);
    assert_int_equal(r.records[1].preemptions, 1);
    assert_int_equal(r.summary.preemptions, 1);
    assert_int_equal(r.records[1].cached_tokens, 0); /* hits count at first admission */
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* Dedup, a prompt of two blocks and one token (9 tokens, blocks of 4) all
 * cached: r1 finds r0's three blocks; one token is left for the logits, at
 * 100-101 ms, a decode step to 111.  The loop that takes blocks other
 * requests stored looked the last block up again and again (its one token
 * put done back at its start): the run never ended.  Immediate gives the
 * same. */
static void test_dedup_cached_last_token(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b[] = {1, 2, 3};
    add(&t, 0, 9, 2, b, 3);
    add(&t, 100, 9, 2, b, 3);
    cc_pc_config cfg = tiers(100, 0);
    cc_concurrency modes[] = {CC_CONCURRENCY_DEDUP, CC_CONCURRENCY_IMMEDIATE};
    for (int m = 0; m < 2; m++) {
        cc_sim_config sc = conf(modes[m], CC_SIM_SCHED_BATCH);
        cc_sim_result r;
        sim(&t, &cfg, &sc, &r);
        times(&r, 0, 0, 9, 19);
        times(&r, 1, 100, 101, 111);
        assert_int_equal(r.records[1].cached_tokens, 9);
        assert_int_equal(r.cache.hit_blocks, 3);
        assert_int_equal(r.cache.dedup_blocks, 0);
        cc_sim_result_free(&r);
    }
    cc_trace_free(&t);
}

/* hbm 1 block + dram: r0 [1 2] leaves block 1 in hbm (2 finds no room
 * beside pinned 1), r1 [3] demotes 1 to dram, r2 [1 4] at 200 ms finds
 * block 1 (4 tokens) in dram: 4 * 1500 bytes = 6 ms of transfer beside 4 ms
 * of compute: TTFT 10 ms serial, 6 ms layerwise. */
static void test_kv_load(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2}, b1[] = {3}, b2[] = {1, 4};
    add(&t, 0, 8, 1, b0, 2);
    add(&t, 100, 4, 1, b1, 1);
    add(&t, 200, 8, 1, b2, 2);
    cc_pc_config cfg = tiers(1, 100);
    cc_sim_config sc = conf(CC_CONCURRENCY_NONE, CC_SIM_SCHED_BATCH);
    sc.kv_bytes_per_token = 1500;
    cc_sim_result r;
    sim(&t, &cfg, &sc, &r);
    assert_int_equal(r.record_tier_tokens[2 * 2 + 0], 0);
    assert_int_equal(r.record_tier_tokens[2 * 2 + 1], 4);
    times(&r, 2, 200, 210, 210);
    cc_sim_result_free(&r);
    sc.kv_overlap = CC_SIM_XFER_LAYERWISE;
    sim(&t, &cfg, &sc, &r);
    times(&r, 2, 200, 206, 206);
    /* saved: r2's full prefill 8 ms against 6 ms charged */
    assert_true(fabs(r.summary.prefill_gpu_s_saved - 0.002) < 1e-12);
    cc_sim_result_free(&r);
    /* the tier's own rate (--tiers dram:...:bw=1MB/s:lat=1ms), 2 layers:
     * serial 1 + 6 + 4 = 11 ms; layerwise 1 + 3 + 2 + max(6, 4) / 2 = 9 ms */
    cfg.tiers[1].bandwidth_bytes_per_s = 1e6;
    cfg.tiers[1].latency_s = 1e-3;
    sc.n_layers = 2;
    sc.kv_overlap = CC_SIM_XFER_SERIAL;
    sim(&t, &cfg, &sc, &r);
    times(&r, 2, 200, 211, 211);
    cc_sim_result_free(&r);
    sc.kv_overlap = CC_SIM_XFER_LAYERWISE;
    sim(&t, &cfg, &sc, &r);
    times(&r, 2, 200, 209, 209);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* chunk 2, block 4, 1 ms per token: r0 [1 2] at 0, r1 [1 3] at 1 ms.
 * dedup: r1 is admitted at 2 while r0 computes block 1 (tokens 2-4): it
 * waits; at 4 it takes block 1 from the cache (4 tokens, a dedup hit) and
 * both compute 2 tokens per step: 4-8, 8-12: both first tokens at 12.
 * immediate: r1 computes block 1 itself: steps 2-6, 6-10, 10-14 (r0
 * done at 14), then r1's last 2 tokens 14-16. */
static void test_dedup(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2}, b1[] = {1, 3};
    add(&t, 0, 8, 1, b0, 2);
    add(&t, 1, 8, 1, b1, 2);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_DEDUP, CC_SIM_SCHED_BATCH);
    sc.chunk_tokens = 2;
    cc_sim_result r;
    sim(&t, &cfg, &sc, &r);
    times(&r, 0, 0, 12, 12);
    times(&r, 1, 2, 12, 12);
    assert_int_equal(r.records[1].cached_tokens, 4);
    assert_int_equal(r.records[1].computed_tokens, 4);
    assert_int_equal(r.cache.dedup_blocks, 1);
    assert_int_equal(r.cache.dedup_tokens, 4);
    assert_int_equal(r.cache.hit_blocks, 1);
    assert_int_equal(r.cache.records[1].dedup_blocks, 1);
    cc_sim_result_free(&r);
    sc.concurrency = CC_CONCURRENCY_IMMEDIATE;
    sim(&t, &cfg, &sc, &r);
    times(&r, 0, 0, 14, 14);
    times(&r, 1, 2, 16, 16);
    assert_int_equal(r.cache.hit_blocks, 0);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* arrivals going backwards: an error naming the field, no crash */
static void test_unordered(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1}, b1[] = {2};
    add(&t, 10, 4, 1, b0, 1);
    add(&t, 5, 4, 1, b1, 1);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_IMMEDIATE, CC_SIM_SCHED_BATCH);
    cc_executor ex = {&t_ops, &tx};
    cc_sim_result r;
    cc_err e = {0};
    assert_int_equal(cc_sim_run(&t, &cfg, NULL, &sc, &ex, 1, &r, &e), CC_EFORMAT);
    assert_string_equal(e.field, "arrival_ns");
    cc_trace_free(&t);
}

static void test_percentiles(void **state)
{
    double a[] = {1, 2, 3, 4};
    assert_true(fabs(cc_sim_percentile_sorted(a, 4, 0.5) - 2.5) < 1e-12);
    assert_true(fabs(cc_sim_percentile_sorted(a, 4, 0.9) - 3.7) < 1e-12);
    assert_true(cc_sim_percentile_sorted(a, 4, 1.0) == 4);
    assert_true(cc_sim_percentile_sorted(a, 0, 0.5) == 0);
    double x[100], y[100];
    for (int i = 0; i < 100; i++)
        x[i] = y[i] = 100 - i; /* 100 .. 1, unsorted */
    cc_sim_dist d1, d2;
    cc_err e = {0};
    assert_int_equal(cc_sim_dist_compute(x, 100, 7, 500, &d1, &e), CC_OK);
    assert_int_equal(cc_sim_dist_compute(y, 100, 7, 500, &d2, &e), CC_OK);
    /* numpy.percentile(range(1, 101), [50, 90, 99]) = 50.5, 90.1, 99.01 */
    assert_true(fabs(d1.p50.value - 50.5) < 1e-9);
    assert_true(fabs(d1.p90.value - 90.1) < 1e-9);
    assert_true(fabs(d1.p99.value - 99.01) < 1e-9);
    assert_true(fabs(d1.mean - 50.5) < 1e-9);
    assert_true(d1.p50.ci_lo <= d1.p50.value && d1.p50.value <= d1.p50.ci_hi);
    assert_true(d1.p50.ci_lo < d1.p50.ci_hi);
    assert_true(d1.p99.ci_hi <= 100 && d1.p50.ci_lo >= 1);
    /* the same seed gives the same intervals */
    assert_true(memcmp(&d1, &d2, sizeof d1) == 0);
    /* a 95 % interval for the median of 1..100: order statistics ~40..61
     * (binomial(100, 1/2) 2.5 % and 97.5 % points) */
    assert_true(d1.p50.ci_lo >= 38 && d1.p50.ci_lo <= 45);
    assert_true(d1.p50.ci_hi >= 56 && d1.p50.ci_hi <= 63);
}

/* The O(1) order-statistic bootstrap against plain resampling (2000
 * resamples of 200 lognormal-ish values drawn by the test): the interval
 * ends agree within a few order statistics. */
static void test_bootstrap_vs_resampling(void **state)
{
    enum { N = 200, B = 2000 };
    double x[N], s[N], rep[B], tmp[N];
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 42);
    for (int i = 0; i < N; i++)
        x[i] = s[i] = exp(2 * gsl_rng_uniform(g));
    cc_sim_dist d;
    cc_err e = {0};
    assert_int_equal(cc_sim_dist_compute(s, N, 3, B, &d, &e), CC_OK); /* s now sorted */
    const double qs[2] = {0.5, 0.9};
    const cc_sim_pct *ps[2] = {&d.p50, &d.p90};
    for (int q = 0; q < 2; q++) {
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < N; i++)
                tmp[i] = x[gsl_rng_uniform_int(g, N)];
            for (int i = 1; i < N; i++) /* insertion sort: small N */
                for (int j = i; j > 0 && tmp[j - 1] > tmp[j]; j--) {
                    double t = tmp[j];
                    tmp[j] = tmp[j - 1];
                    tmp[j - 1] = t;
                }
            rep[b] = cc_sim_percentile_sorted(tmp, N, qs[q]);
        }
        for (int i = 1; i < B; i++)
            for (int j = i; j > 0 && rep[j - 1] > rep[j]; j--) {
                double t = rep[j];
                rep[j] = rep[j - 1];
                rep[j - 1] = t;
            }
        double lo = cc_sim_percentile_sorted(rep, B, 0.025);
        double hi = cc_sim_percentile_sorted(rep, B, 0.975);
        /* compare as ranks in the sample: within 4 order statistics */
        int r_lo = 0, r_hi = 0, r_clo = 0, r_chi = 0;
        for (int i = 0; i < N; i++) {
            r_lo += s[i] < lo;
            r_hi += s[i] < hi;
            r_clo += s[i] < ps[q]->ci_lo;
            r_chi += s[i] < ps[q]->ci_hi;
        }
        if (abs(r_lo - r_clo) > 4 || abs(r_hi - r_chi) > 4)
            fail_msg("q %g: resampling [%d, %d], order statistics [%d, %d]", qs[q], r_lo, r_hi,
                     r_clo, r_chi);
    }
    gsl_rng_free(g);
}

/* The results file's /sim group read back with h5py: the fcfs timeline. */
static void test_results_file(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2}, b1[] = {3};
    add(&t, 0, 8, 3, b0, 2);
    add(&t, 1, 4, 2, b1, 1);
    strcpy(t.source, "hand");
    strcpy(t.source_format, "mooncake");
    cc_pc_config cfg = tiers(100, 0);
    cfg.block_tokens = 4;
    cc_sim_config sc = conf(CC_CONCURRENCY_IMMEDIATE, CC_SIM_SCHED_FCFS);
    cc_sim_result r;
    sim(&t, &cfg, &sc, &r);
    char path[512];
    tu_tmp_path(path, sizeof path, "sim_results.h5");
    cc_results_run run = {.trace = &t, .cfg = &cfg, .res = &r.cache, .kv_bytes_per_token = 1,
                          .ideal_block_hit_ratio = NAN, .ideal_token_hit_ratio = NAN,
                          .sim = &r, .sim_config = &sc, .hardware = "test", .model = "test"};
    cc_err e = {0};
    if (cc_results_write_h5(path, &run, &e) != CC_OK)
        fail_msg("write: %s (%s)", e.msg, e.field);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py,sys\n"
             "f = h5py.File('%s', 'r')\n"
             "g = f['sim']\n"
             "r = g['requests']\n"
             "assert [round(v, 9) for v in r['ttft_s'][:]] == [0.008, 0.031], r['ttft_s'][:]\n"
             "assert list(r['start_ns'][:]) == [0, 28000000]\n"
             "assert [round(v, 9) for v in r['tpot_s'][:]] == [0.01, 0.01]\n"
             "assert r['cached_tokens_by_tier'].shape == (2, 1)\n"
             "assert abs(g.attrs['ttft_p50_s'] - 0.0195) < 1e-12\n"
             "assert g.attrs['scheduler'] == b'fcfs'\n"
             "assert list(f['requests']['finish_ns'][:]) == [28000000, 42000000]\n"
             "\"", path);
    char *out = NULL;
    int rc = tu_run(cmd, &out);
    if (rc != 0 && !strstr(out, "No module named"))
        fail_msg("h5py check failed:\n%s", out);
    free(out);
    remove(path);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* lanes with an executor that has no decode_run (the test executor: the
 * decode is priced as one-item steps, 10 ms each), block size 4:
 *   r0 at 0 ms [1 2] 8 tokens, 3 out: blocks done at 4 and 8 ms (block 1
 *     inserted at 4), first token 8, decode 3 x 10 ms: finish 38;
 *   r1 at 5 ms [1 3] 8 tokens, 2 out: hits block 1 (4 tokens), computes
 *     block 3 by 9, decode 2 x 10: finish 29.
 * With one server r1 waits until 38, hits block 1, first 42, finish 62. */
static void test_lanes_generic_executor(void **state)
{
    cc_trace t;
    trace4(&t);
    uint64_t b0[] = {1, 2}, b1[] = {1, 3};
    add(&t, 0, 8, 3, b0, 2);
    add(&t, 5, 8, 2, b1, 2);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc = conf(CC_CONCURRENCY_IMMEDIATE, CC_SIM_SCHED_LANES);
    cc_sim_result r;
    sim(&t, &cfg, &sc, &r);
    times(&r, 0, 0, 8, 38);
    times(&r, 1, 5, 9, 29);
    assert_int_equal(r.records[1].cached_tokens, 4);
    assert_int_equal(r.records[1].computed_tokens, 4);
    assert_true(fabs(r.records[0].prefill_s - 0.008) < 1e-12);
    assert_true(fabs(r.records[1].prefill_s - 0.004) < 1e-12);
    assert_int_equal(r.cache.hit_blocks, 1);
    assert_int_equal(r.cache.max_in_flight, 2);
    assert_int_equal(tx.finishes, 2 + 2); /* two requests + two reference prefills */
    cc_sim_result_free(&r);
    sc.servers = 1;
    sim(&t, &cfg, &sc, &r);
    times(&r, 0, 0, 8, 38);
    times(&r, 1, 38, 42, 62);
    assert_int_equal(r.records[1].cached_tokens, 4);
    assert_int_equal(r.cache.queue_wait_ns.hi, 0);
    assert_int_equal(r.cache.queue_wait_ns.lo, 33 * MS);
    assert_int_equal(r.cache.max_in_flight, 1);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

static void test_bad_config(void **state)
{
    cc_sim_config sc;
    cc_err e;
    cc_sim_config_default(&sc);
    assert_int_equal(cc_sim_config_validate(&sc, &e), CC_OK);
    sc.instances = 0;
    memset(&e, 0, sizeof e);
    assert_int_equal(cc_sim_config_validate(&sc, &e), CC_EARG);
    assert_string_equal(e.field, "instances");
    cc_sim_config_default(&sc);
    sc.max_seqs = 0;
    assert_int_equal(cc_sim_config_validate(&sc, &e), CC_EARG);
    assert_string_equal(e.field, "max_seqs");
    cc_sim_config_default(&sc);
    sc.max_batch_tokens = 0;
    assert_int_equal(cc_sim_config_validate(&sc, &e), CC_EARG);
    assert_string_equal(e.field, "max_batch_tokens");
    cc_sim_config_default(&sc);
    sc.instances = 2; /* concurrency none is one instance */
    assert_int_equal(cc_sim_config_validate(&sc, &e), CC_EARG);
    assert_string_equal(e.field, "instances");
    cc_sim_config_default(&sc);
    sc.kv_overlap = 7;
    assert_int_equal(cc_sim_config_validate(&sc, &e), CC_EARG);
    assert_string_equal(e.field, "kv_overlap");
    cc_sim_config_default(&sc);
    sc.concurrency = CC_CONCURRENCY_IMMEDIATE;
    sc.scheduler = CC_SIM_SCHED_LANES;
    sc.instances = 2; /* lanes share one cache on one instance */
    assert_int_equal(cc_sim_config_validate(&sc, &e), CC_EARG);
    assert_string_equal(e.field, "instances");
    cc_sim_sched sched;
    assert_int_equal(cc_sim_sched_parse("lanes", &sched, &e), CC_EARG); /* not by name */
    assert_string_equal(e.field, "scheduler");
    cc_sim_router rt;
    assert_int_equal(cc_sim_router_parse("random", &rt, &e), CC_EARG);
    assert_string_equal(e.field, "router");
    assert_int_equal(cc_sim_router_parse("prefix-affinity", &rt, &e), CC_OK);
    assert_int_equal(rt, CC_SIM_ROUTER_PREFIX_AFFINITY);
}

/* the command: default backend sim, JSON fields, usage errors */
static void test_cli(void **state)
{
    char tp[512], cmd[2048], *out = NULL;
    const char *jl =
        "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 4, \"hash_ids\": [1, 2]}\n"
        "{\"timestamp\": 1000, \"input_length\": 1536, \"output_length\": 4, \"hash_ids\": [1, 2, 3]}\n";
    tu_write_tmp(tp, sizeof tp, "sim.jsonl", jl, strlen(jl));
    snprintf(cmd, sizeof cmd, "%s replay %s --format mooncake --capacity-blocks inf --json "
             "2>/dev/null", tu_bin(), tp);
    assert_int_equal(tu_run(cmd, &out), 0);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    if (!o)
        fail_msg("not JSON: %s", out);
    assert_string_equal(json_string_value(json_object_get(o, "backend")), "sim");
    const char *keys[] = {"ttft_p50_s", "ttft_p90_s", "ttft_p99_s", "ttft_p50_s_ci_lo",
                          "tpot_p50_s", "throughput_tokens_per_s", "prefill_gpu_s_saved",
                          "makespan_s", "requests_per_s", "e2e_p99_s", "queue_p50_s",
                          "block_hit_ratio"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_is_number(json_object_get(o, keys[i])))
            fail_msg("missing %s", keys[i]);
    /* the second request hits 2 of 3 blocks */
    assert_int_equal(json_integer_value(json_object_get(o, "hit_blocks")), 2);
    assert_true(json_real_value(json_object_get(o, "prefill_gpu_s_saved")) > 0);
    json_decref(o);
    free(out);
    /* --no-cache: nothing cached, nothing saved (the cost model's steps
     * batch both requests' prefills: what batching saves is not counted) */
    snprintf(cmd, sizeof cmd, "%s replay %s --format mooncake --capacity-blocks inf --no-cache --json "
             "2>/dev/null", tu_bin(), tp);
    assert_int_equal(tu_run(cmd, &out), 0);
    if (!(o = json_loads(out, 0, &je)))
        fail_msg("not JSON: %s", out);
    assert_true(json_real_value(json_object_get(o, "prefill_gpu_s_saved")) == 0);
    json_decref(o);
    free(out);
    const char *bad[][2] = {
        {"--router nearest", "--router"},
        {"--scheduler sjf", "--scheduler"},
        {"--max-seqs 0", "--max-seqs"},
        {"--hbm-fraction 2", "--hbm-fraction"},
        {"--backend cuda", "--backend"},
        {"--kv-overlap parallel", "--kv-overlap"},
        {"--instances 2 --concurrency none", "--instances"},
        {"--hardware no-such-gpu", "--hardware"},
        {"--prefill-tps 10 --backend sim", "--prefill-tps"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s replay %s --format mooncake --capacity-blocks inf %s",
                 tu_bin(), tp, bad[i][0]);
        int rc = tu_run(cmd, &out);
        if (rc != 2 || !strstr(out, bad[i][1]))
            fail_msg("%s: exit %d, output %s", bad[i][0], rc, out);
        free(out);
    }
    /* the old service-time options still run (backend rates) */
    snprintf(cmd, sizeof cmd, "%s replay %s --format mooncake --capacity-blocks inf "
             "--prefill-tps 1000 --json", tu_bin(), tp);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "\"backend\": \"rates\""));
    free(out);
    remove(tp);
}

/* The simulator backend keeps the cache replay's hit figures in mode none:
 * Mooncake against the reference (shared/reference/README.md): unbounded
 * prefix cache 36.64 % of blocks, 37.36 % of tokens; independent LRU at
 * 10,000 blocks, libCacheSim's miss ratio 0.7888.  10,000 of Mooncake's
 * 512-token blocks are 671 GB of Llama-3-8B KV, which no GPU holds: a timed
 * run takes the tier in host memory (dram), which the cache serves as it
 * would any single LRU tier of that size. */
static void test_mooncake_reference(void **state)
{
    const char *p = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    const char *args[2] = {"--capacity-blocks inf --concurrency none",
                           "--tiers dram:10000 --policy lru --mode independent"};
    double want[2] = {0.3664, 1 - 0.7888};
    for (int k = 0; k < 2; k++) {
        char cmd[2048], *out = NULL;
        snprintf(cmd, sizeof cmd, "%s replay %s %s --json 2>/dev/null", tu_bin(), p, args[k]);
        assert_int_equal(tu_run(cmd, &out), 0);
        json_error_t je;
        json_t *o = json_loads(out, 0, &je);
        if (!o)
            fail_msg("not JSON: %s", out);
        assert_string_equal(json_string_value(json_object_get(o, "backend")), "sim");
        double bh = json_real_value(json_object_get(o, "block_hit_ratio"));
        if (fabs(bh - want[k]) > 5e-5)
            fail_msg("%s: block hit ratio %.5f, reference %.4f", args[k], bh, want[k]);
        if (k == 0 && fabs(json_real_value(json_object_get(o, "token_hit_ratio")) - 0.3736) > 5e-5)
            fail_msg("token hit ratio off the reference 0.3736");
        assert_true(json_real_value(json_object_get(o, "ttft_p50_s")) > 0);
        json_decref(o);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fcfs),
        cmocka_unit_test(test_saved_is_caching_not_batching),
        cmocka_unit_test(test_batch_chunked),
        cmocka_unit_test(test_none_hits_and_saved),
        cmocka_unit_test(test_lpf),
        cmocka_unit_test(test_routers),
        cmocka_unit_test(test_hbm_queue),
        cmocka_unit_test(test_hbm_preempt),
        cmocka_unit_test(test_dedup_cached_last_token),
        cmocka_unit_test(test_kv_load),
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_unordered),
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_bootstrap_vs_resampling),
        cmocka_unit_test(test_results_file),
        cmocka_unit_test(test_lanes_generic_executor),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_mooncake_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
