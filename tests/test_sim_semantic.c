/* test_sim_semantic.c -- the semantic tier as a stage of the simulator's
 * request path (sim/driver.h, cc_sim_semantic; `replay --semantic`).
 *
 * Driver: a hand-made trace with a test cache (exact match on a key the
 * test assigns, the first entry of a key serves it) and a test executor of
 * fixed costs (prefill 1 ms per token, decode 10 ms a step, fcfs), so hits,
 * false hits, write-back times and every TTFT are computed by hand; a tier
 * that always misses at no cost leaves every figure as without it; the
 * modes it does not run in are refused.
 * Command: a generated paraphrase trace whose groups each repeat one
 * wording, arriving far apart: every request of a group after its first is
 * a hit (counted here from the trace's group column), none false; bad
 * usage exits 2, and so does a trace without text, naming it. */
#include "testutil.h"
#include "analysis/results.h"
#include "sim/driver.h"

#include <jansson.h>

#define MS 1000000LL

/* ---- the test executor (as test_sim_driver.c's) -------------------------- */
static int finishes;
static int t_prefill(void *self, const cc_sim_item *it, size_t n, double *s, cc_err *e)
{
    double tok = 0;
    for (size_t i = 0; i < n; i++)
        tok += (double)it[i].n_new;
    *s = tok * 1e-3;
    return CC_OK;
}
static int t_decode(void *self, const cc_sim_item *it, size_t n, double *s, cc_err *e)
{
    *s = n ? 10e-3 : 0;
    return CC_OK;
}
static int t_xfer(void *self, double bytes, int from, int to, int mode, double c, double *s,
                  cc_err *e)
{
    *s = bytes * 1e-6 + c;
    return CC_OK;
}
static int t_blend(void *self, const cc_sim_blend_item *it, size_t n, double *s, cc_err *e)
{
    *s = 0;
    return CC_OK;
}
static void t_finish(void *self, uint64_t req)
{
    finishes++;
}
static const cc_executor_ops t_ops = {"test", t_prefill, t_decode, t_xfer, t_blend, t_finish,
                                      NULL, NULL};

/* ---- the test cache: key -> first request inserted with it --------------- */
typedef struct tcache {
    const int *key;         /* per request */
    int n;                  /* entries */
    int ekey[16];
    uint64_t ereq[16];
    int64_t insert_ms[16];  /* when each insert came */
    uint64_t insert_req[16];
    int lookups;
    int always_miss;
} tcache;

static int tc_lookup(void *user, uint64_t req, int64_t now, uint64_t *served, cc_err *e)
{
    tcache *c = user;
    c->lookups++;
    for (int i = 0; !c->always_miss && i < c->n; i++)
        if (c->ekey[i] == c->key[req]) {
            *served = c->ereq[i];
            return 1;
        }
    return 0;
}
static int tc_insert(void *user, uint64_t req, int64_t now, cc_err *e)
{
    tcache *c = user;
    assert_true(c->n < 16);
    c->ekey[c->n] = c->key[req];
    c->ereq[c->n] = req;
    c->insert_ms[c->n] = now / MS;
    c->insert_req[c->n] = req;
    c->n++;
    return CC_OK;
}

static void add(cc_trace *t, int64_t at_ms, uint32_t in, uint32_t out, uint64_t block,
                uint64_t group, uint32_t role)
{
    static uint64_t blocks[64];
    static int nb;
    blocks[nb] = block;
    cc_request r = {0};
    r.arrival_ns = at_ms * MS;
    r.input_tokens = in;
    r.output_tokens = out;
    r.group_id = group;
    r.role = role;
    r.blocks = &blocks[nb++ % 64];
    r.n_blocks = 1;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static cc_pc_config tier(void)
{
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.mode = CC_PC_PREFIX;
    c.kv_bytes_per_block = 100;
    c.n_tiers = 1;
    strcpy(c.tiers[0].name, "hbm");
    c.tiers[0].capacity_blocks = 100;
    c.tiers[0].policy = cc_policy_find("lru");
    return c;
}

static void run(const cc_trace *t, const cc_sim_semantic *sem, cc_sim_result *r)
{
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.concurrency = CC_CONCURRENCY_IMMEDIATE;
    sc.scheduler = CC_SIM_SCHED_FCFS;
    sc.bootstrap = 50;
    sc.semantic = sem;
    cc_pc_config cfg = tier();
    cc_executor ex = {&t_ops, NULL};
    cc_replay_opts ro = {.keep_records = true};
    cc_err e = {0};
    finishes = 0;
    if (cc_sim_run(t, &cfg, &ro, &sc, &ex, 1, r, &e) != CC_OK)
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

/* Lookup 1 ms; every request 4 tokens in (one block of its own), 2 out:
 * served alone it takes prefill 4 ms + one decode step 10 ms.
 *   r0 seed  at  0, key 1, group 10: not looked up; 0-4-14; written back at 14
 *   r1 query at  2, key 1, group 10: miss (nothing written yet), routed at 3,
 *            waits for r0: 14-18-28; written back at 28
 *   r2 query at 20, key 1, group 10: hit on r0's answer, right; done at 21
 *   r3 query at 30, key 1, group 11: hit on r0's answer, FALSE; done at 31
 *   r4 query at 40, key 2, no group: miss, routed at 41: 41-45-55; written at 55
 *   r5 query at 60, key 2, group 12: hit on r4's answer (no group: not judged)
 * 5 lookups, 3 hits, 1 false hit, 2 judged; TTFT of hits 1 ms each, of
 * misses 16 ms (r1) and 5 ms (r4): p50 10.5 ms; TPOT 10 ms (hits left out);
 * prefix tier: 3 requests' blocks (6 - 3 hits), 12 tokens. */
static void test_hand_trace(void **state)
{
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    t.timed = true;
    add(&t, 0, 4, 2, 100, 10, CC_ROLE_SEED);
    add(&t, 2, 4, 2, 101, 10, CC_ROLE_QUERY);
    add(&t, 20, 4, 2, 102, 10, CC_ROLE_QUERY);
    add(&t, 30, 4, 2, 103, 11, CC_ROLE_QUERY);
    add(&t, 40, 4, 2, 104, CC_NO_GROUP, CC_ROLE_QUERY);
    add(&t, 60, 4, 2, 105, 12, CC_ROLE_QUERY);
    static const int key[] = {1, 1, 1, 1, 2, 2};
    tcache tc = {.key = key};
    cc_sim_semantic sem = {tc_lookup, tc_insert, &tc, 1 * MS, 0};
    cc_sim_result r;
    run(&t, &sem, &r);
    times(&r, 0, 0, 4, 14);
    times(&r, 1, 14, 18, 28);
    times(&r, 2, 21, 21, 21);
    times(&r, 3, 31, 31, 31);
    times(&r, 4, 41, 45, 55);
    times(&r, 5, 61, 61, 61);
    static const uint8_t outcome[] = {CC_SIM_SEM_NONE, CC_SIM_SEM_MISS, CC_SIM_SEM_HIT,
                                      CC_SIM_SEM_FALSE_HIT, CC_SIM_SEM_MISS, CC_SIM_SEM_HIT};
    for (int i = 0; i < 6; i++)
        assert_int_equal(r.records[i].semantic, outcome[i]);
    assert_int_equal(tc.lookups, 5);
    assert_int_equal(tc.n, 3); /* write-backs: r0 at 14, r1 at 28, r4 at 55 */
    assert_int_equal(tc.insert_req[0], 0);
    assert_int_equal(tc.insert_ms[0], 14);
    assert_int_equal(tc.insert_req[1], 1);
    assert_int_equal(tc.insert_ms[1], 28);
    assert_int_equal(tc.insert_req[2], 4);
    assert_int_equal(tc.insert_ms[2], 55);
    const cc_sim_summary *S = &r.summary;
    assert_int_equal(S->semantic_queries, 5);
    assert_int_equal(S->semantic_hits, 3);
    assert_int_equal(S->semantic_false_hits, 1);
    assert_int_equal(S->semantic_judged_hits, 2);
    assert_true(fabs(S->ttft_semantic_hit_s.p50.value - 0.001) < 1e-12);
    assert_true(fabs(S->ttft_semantic_hit_s.mean - 0.001) < 1e-12);
    assert_true(fabs(S->ttft_semantic_miss_s.p50.value - 0.0105) < 1e-12);
    assert_true(fabs(S->ttft_semantic_miss_s.mean - 0.0105) < 1e-12);
    assert_true(fabs(S->tpot_s.mean - 0.010) < 1e-12);
    for (int i = 2; i < 6; i += (i == 3 ? 2 : 1)) { /* hits: nothing computed */
        assert_int_equal(r.records[i].computed_tokens, 0);
        assert_true(r.records[i].prefill_s == 0);
    }
    /* the executor finished the 3 served requests, their 3 prices alone at
     * admission and 6 reference prefills */
    assert_int_equal(finishes, 3 + 3 + 6);
    assert_int_equal(r.cache.block_accesses, 3);
    assert_int_equal(r.cache.input_tokens, 12);
    assert_int_equal(S->steps, 6); /* a prefill and a decode step for each served one */
    /* caching saved the 3 hits' whole prefills (4 ms each, priced alone):
     * the served ones computed everything, alone as without the tier */
    assert_true(fabs(S->prefill_gpu_s_saved - 0.012) < 1e-12);
    assert_true(fabs(r.records[1].prefill_alone_s - 0.004) < 1e-12);
    assert_true(r.records[2].prefill_alone_s == 0);
    /* the results file (schema 1.3) records the outcome, read back by h5py:
     * /semantic with the figures above, /cost with two hand-made bills */
    strcpy(t.source, "hand");
    strcpy(t.source_format, "h5");
    cc_pc_config cfg = tier();
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    cc_bill bills[2] = {{.name = "a", .total_usd = 1.5, .requests = 3, .read_tokens = 7},
                        {.name = "bb", .total_usd = 0.25, .output_usd = 0.125}};
    double no_cache[2] = {2.5, 0.5};
    cc_results_run rr = {.trace = &t, .cfg = &cfg, .res = &r.cache, .kv_bytes_per_token = 1,
                         .ideal_block_hit_ratio = NAN, .ideal_token_hit_ratio = NAN,
                         .sim = &r, .sim_config = &sc, .hardware = "test", .model = "test",
                         .semantic = 1, .semantic_embedder = "test", .semantic_threshold = 0.9,
                         .semantic_lookup_ms = 1, .semantic_judged = 1, .n_bills = 2,
                         .bills = bills, .no_cache_usd = no_cache};
    char path[512], cmd[2048], *out = NULL;
    tu_tmp_path(path, sizeof path, "sem_results.h5");
    cc_err e = {0};
    if (cc_results_write_h5(path, &rr, &e) != CC_OK)
        fail_msg("write: %s (%s)", e.msg, e.field);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py\n"
             "f = h5py.File('%s', 'r')\n"
             "assert int(f.attrs['schema_minor']) == 3\n"
             "g = f['semantic']; a = g.attrs\n"
             "assert list(g['outcome'][:]) == [0, 1, 2, 3, 1, 2], g['outcome'][:]\n"
             "assert (a['queries'], a['hits'], a['false_hits'], a['judged']) == (5, 3, 1, 1)\n"
             "assert (a['hit_input_tokens'], a['hit_output_tokens']) == (12, 6)\n"
             "assert abs(a['hit_ratio'] - 0.6) < 1e-12 and abs(a['false_hit_ratio'] - 0.2) < 1e-12\n"
             "assert abs(a['ttft_hit_p50_s'] - 0.001) < 1e-12\n"
             "assert abs(a['ttft_miss_p50_s'] - 0.0105) < 1e-12\n"
             "assert a['embedder'] == b'test' and a['threshold'] == 0.9\n"
             "assert 'blend' not in f\n"
             "c = f['cost']\n"
             "assert list(c['pricing'][:]) == [b'a', b'bb']\n"
             "assert list(c['total_usd'][:]) == [1.5, 0.25]\n"
             "assert list(c['no_cache_usd'][:]) == [2.5, 0.5]\n"
             "assert list(c['requests'][:]) == [3, 0] and list(c['read_tokens'][:]) == [7, 0]\n"
             "assert list(c['output_usd'][:]) == [0, 0.125]\n"
             "assert abs(f['sim'].attrs['prefill_gpu_s_saved'] - 0.012) < 1e-12\n"
             "assert [round(v, 9) for v in f['sim/requests/prefill_alone_s'][:]] == "
             "[0.004, 0.004, 0, 0, 0.004, 0]\n"
             "\"", path);
    int rc = tu_run(cmd, &out);
    if (rc != 0 && !strstr(out, "No module named"))
        fail_msg("h5py check failed:\n%s", out);
    free(out);
    remove(path);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* A tier that always misses at no cost changes nothing: every record as
 * without it (on the same trace, with overlapping requests). */
static void test_transparent_miss(void **state)
{
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    t.timed = true;
    for (int i = 0; i < 6; i++)
        add(&t, 3 * i, 4 + 4 * (i % 2), 1 + i % 3, 200 + i % 3, CC_NO_GROUP, CC_ROLE_QUERY);
    static const int key[6] = {0};
    tcache tc = {.key = key, .always_miss = 1};
    cc_sim_semantic sem = {tc_lookup, tc_insert, &tc, 0, 0};
    cc_sim_result a, b;
    run(&t, NULL, &a);
    run(&t, &sem, &b);
    assert_int_equal(tc.lookups, 6);
    assert_int_equal(tc.n, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(a.records[i].first_token_ns, b.records[i].first_token_ns);
        assert_int_equal(a.records[i].finish_ns, b.records[i].finish_ns);
        assert_int_equal(a.records[i].cached_tokens, b.records[i].cached_tokens);
        assert_int_equal(a.records[i].semantic, CC_SIM_SEM_NONE);
        assert_int_equal(b.records[i].semantic, CC_SIM_SEM_MISS);
    }
    assert_int_equal(a.cache.hit_blocks, b.cache.hit_blocks);
    assert_int_equal(a.summary.semantic_queries, 0);
    assert_true(a.summary.ttft_s.p50.value == b.summary.ttft_s.p50.value);
    cc_sim_result_free(&a);
    cc_sim_result_free(&b);
    cc_trace_free(&t);
}

/* An untimed trace (every arrival 0) with write_back_on_arrival: the loop
 * takes the requests in file order and each answer is written back at its
 * arrival, before the next lookup.  Keys 1 2 1 1 3 2, r0 a seed:
 *   r0 seed, key 1: written back at 0, not looked up
 *   r1 key 2: miss, written back;  r2 key 1: hit on r0;  r3 key 1: hit on r0
 *   r4 key 3: miss, written back;  r5 key 2: hit on r1
 * 5 lookups, 3 hits; 3 inserts (r0, r1, r4), all at 0 and none at a finish.
 * The same trace written back at finish (the default) never hits: every
 * lookup comes at 0, before any request has finished. */
static void test_untimed_file_order(void **state)
{
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    t.timed = false;
    add(&t, 0, 4, 2, 300, CC_NO_GROUP, CC_ROLE_SEED);
    for (int i = 1; i < 6; i++)
        add(&t, 0, 4, 2, 300 + i, CC_NO_GROUP, CC_ROLE_QUERY);
    static const int key[] = {1, 2, 1, 1, 3, 2};
    static const uint8_t outcome[] = {CC_SIM_SEM_NONE, CC_SIM_SEM_MISS, CC_SIM_SEM_HIT,
                                      CC_SIM_SEM_HIT,  CC_SIM_SEM_MISS, CC_SIM_SEM_HIT};
    static const uint64_t inserted[] = {0, 1, 4};
    tcache tc = {.key = key};
    cc_sim_semantic sem = {tc_lookup, tc_insert, &tc, 1 * MS, 1};
    cc_sim_result r;
    run(&t, &sem, &r);
    assert_int_equal(tc.lookups, 5);
    assert_int_equal(r.summary.semantic_queries, 5);
    assert_int_equal(r.summary.semantic_hits, 3);
    for (int i = 0; i < 6; i++)
        assert_int_equal(r.records[i].semantic, outcome[i]);
    assert_int_equal(tc.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tc.insert_req[i], inserted[i]);
        assert_int_equal(tc.insert_ms[i], 0);
    }
    times(&r, 2, 1, 1, 1); /* a hit: done after the 1 ms lookup */
    cc_sim_result_free(&r);
    tcache tf = {.key = key};
    cc_sim_semantic at_finish = {tc_lookup, tc_insert, &tf, 1 * MS, 0};
    run(&t, &at_finish, &r);
    assert_int_equal(r.summary.semantic_hits, 0);
    assert_int_equal(tf.n, 6); /* every served request, at its finish */
    for (int i = 0; i < 6; i++)
        assert_true(tf.insert_ms[i] > 0);
    cc_sim_result_free(&r);
    cc_trace_free(&t);
}

/* Concurrency none and the lanes scheduler are refused, naming the tier. */
static void test_refused_modes(void **state)
{
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    add(&t, 0, 4, 1, 1, CC_NO_GROUP, CC_ROLE_QUERY);
    static const int key[1] = {0};
    tcache tc = {.key = key};
    cc_sim_semantic sem = {tc_lookup, tc_insert, &tc, 0, 0};
    cc_pc_config cfg = tier();
    cc_executor ex = {&t_ops, NULL};
    cc_sim_result r;
    for (int k = 0; k < 3; k++) {
        cc_sim_config sc;
        cc_sim_config_default(&sc);
        sc.semantic = &sem;
        if (k == 1) {
            sc.concurrency = CC_CONCURRENCY_IMMEDIATE;
            sc.scheduler = CC_SIM_SCHED_LANES;
        }
        cc_sim_semantic bad = sem;
        if (k == 2) {
            sc.concurrency = CC_CONCURRENCY_IMMEDIATE;
            bad.lookup_ns = -1;
            sc.semantic = &bad;
        }
        cc_err e = {0};
        int rc = cc_sim_run(&t, &cfg, NULL, &sc, &ex, 1, &r, &e);
        assert_int_equal(rc, k == 2 ? CC_EARG : CC_EUNSUP);
        assert_string_equal(e.field, "semantic");
    }
    cc_trace_free(&t);
}

/* ---- the command ----------------------------------------------------------- */

static const char spec[] = "[workload]\nrequests = 60\nblock_size = 16\ntoken_ids = true\n"
                           "text = shared\n[arrival]\nprocess = poisson\nrate = 0.01\n"
                           "[mix]\nparaphrase = 1\n[paraphrase]\ngroups = 8\nzipf_s = 1.0\n"
                           "exact_fraction = 1\noutput_tokens = lognormal(mean=40, cv=0.5)\n";

/* A prompts file without timestamps (Arena's format, hand-made): replayed
 * in file order with write-back at arrival, its exact repeats hit.  Six
 * prompts, of which the 3rd repeats the 1st and the 5th and 6th repeat the
 * 2nd (the 4th differs from all): 3 hits of 6 at threshold 0.999, counted
 * by hand; the summary says how the untimed trace was replayed. */
static void test_cli_untimed_prompts(void **state)
{
    static const char arena[] =
        "{\"uid\": \"a\", \"prompt\": \"Write a haiku about the sea at night.\"}\n"
        "{\"uid\": \"b\", \"prompt\": \"Explain how a hash table resizes.\"}\n"
        "{\"uid\": \"c\", \"prompt\": \"Write a haiku about the sea at night.\"}\n"
        "{\"uid\": \"d\", \"prompt\": \"Name three prime numbers above one hundred.\"}\n"
        "{\"uid\": \"e\", \"prompt\": \"Explain how a hash table resizes.\"}\n"
        "{\"uid\": \"f\", \"prompt\": \"Explain how a hash table resizes.\"}\n";
    char ap[512], cmd[2048], *out = NULL;
    tu_write_tmp(ap, sizeof ap, "sem_arena.jsonl", arena, strlen(arena));
    snprintf(cmd, sizeof cmd, "%s replay %s --format arena --capacity-blocks inf --semantic "
             "--threshold 0.999 --json 2>/dev/null", tu_bin(), ap);
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s: %s", cmd, out);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    if (!o)
        fail_msg("not JSON: %s", out);
    assert_int_equal(json_integer_value(json_object_get(o, "semantic_queries")), 6);
    assert_int_equal(json_integer_value(json_object_get(o, "semantic_hits")), 3);
    assert_string_equal(json_string_value(json_object_get(o, "semantic_write_back")), "arrival");
    json_decref(o);
    free(out);
    snprintf(cmd, sizeof cmd, "%s replay %s --format arena --capacity-blocks inf --semantic "
             "--threshold 0.999 2>/dev/null", tu_bin(), ap);
    assert_int_equal(tu_run(cmd, &out), 0);
    if (!strstr(out, "3 of 6 queries") || !strstr(out, "untimed trace: requests looked up in "
                                                         "file order"))
        fail_msg("summary: %s", out);
    free(out);
    remove(ap);
}

static void test_cli_exact_groups(void **state)
{
    char sp[512], tp[512], cmd[2048], *out = NULL;
    tu_write_tmp(sp, sizeof sp, "sem.spec", spec, strlen(spec));
    tu_tmp_path(tp, sizeof tp, "sem.h5");
    snprintf(cmd, sizeof cmd, "%s gen %s -o %s --seed 3", tu_bin(), sp, tp);
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s: %s", cmd, out);
    free(out);
    /* the expectation from the trace alone: requests far apart (mean 100 s,
     * each served in well under a second), every group one wording: the
     * first request of each group misses, every later one hits its own */
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read(tp, NULL, NULL, &t, &e), CC_OK);
    assert_non_null(t.group_id);
    uint64_t seen[64];
    size_t ns = 0, queries = 0;
    uint64_t miss_in = 0, miss_out = 0; /* tokens of the requests the model serves */
    for (size_t i = 0; i < t.n; i++) {
        if (t.role && t.role[i] == CC_ROLE_SEED)
            continue;
        queries++;
        int known = 0;
        for (size_t j = 0; j < ns; j++)
            known |= seen[j] == t.group_id[i];
        if (!known && ns < 64) {
            seen[ns++] = t.group_id[i];
            miss_in += t.input_tokens[i];
            miss_out += t.output_tokens[i];
        }
        if (i)
            assert_true(t.arrival_ns[i] - t.arrival_ns[i - 1] > 0);
    }
    assert_true(ns >= 2 && ns < queries);
    size_t expect_hits = queries - ns;
    cc_trace_free(&t);
    snprintf(cmd, sizeof cmd, "%s replay %s --semantic --threshold 0.999 --semantic-lookup-ms 2 "
             "--capacity-blocks inf --pricing openai --json 2>/dev/null", tu_bin(), tp);
    assert_int_equal(tu_run(cmd, &out), 0);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    if (!o)
        fail_msg("not JSON: %s", out);
    assert_int_equal(json_integer_value(json_object_get(o, "semantic_queries")), queries);
    assert_int_equal(json_integer_value(json_object_get(o, "semantic_hits")), expect_hits);
    assert_int_equal(json_integer_value(json_object_get(o, "semantic_false_hits")), 0);
    assert_true(fabs(json_real_value(json_object_get(o, "semantic_hit_ratio")) -
                     (double)expect_hits / queries) < 1e-9);
    assert_true(json_real_value(json_object_get(o, "semantic_false_hit_ratio")) == 0);
    assert_true(fabs(json_real_value(json_object_get(o, "ttft_semantic_hit_p99_s")) - 0.002) <
                1e-12);
    assert_true(json_real_value(json_object_get(o, "ttft_semantic_miss_p50_s")) > 0.002);
    assert_string_equal(json_string_value(json_object_get(o, "semantic_embedder")), "hash");
    assert_string_equal(json_string_value(json_object_get(o, "semantic_write_back")), "finish");
    /* the bill counts only the requests the model served */
    json_t *b = json_object_get(json_object_get(o, "cost_breakdown"), "openai");
    assert_non_null(b);
    assert_int_equal(json_integer_value(json_object_get(b, "output_tokens")), miss_out);
    assert_int_equal(json_integer_value(json_object_get(b, "uncached_tokens")) +
                         json_integer_value(json_object_get(b, "written_tokens")) +
                         json_integer_value(json_object_get(b, "read_tokens")),
                     miss_in);
    json_decref(o);
    free(out);
    /* --blend beside it: blend finds nothing to reuse (every wording whole,
     * answered by the semantic tier or prefix-cached), so the run without
     * blend beside it, which keeps its own semantic tier, is the same run:
     * the same TTFT p50 (2 ms: the hits), the same prefix hit ratio */
    snprintf(cmd, sizeof cmd, "%s replay %s --semantic --threshold 0.999 --semantic-lookup-ms 2 "
             "--capacity-blocks inf --blend --json 2>/dev/null", tu_bin(), tp);
    assert_int_equal(tu_run(cmd, &out), 0);
    if (!(o = json_loads(out, 0, &je)))
        fail_msg("not JSON: %s", out);
    assert_int_equal(json_integer_value(json_object_get(o, "semantic_hits")), expect_hits);
    assert_int_equal(json_integer_value(json_object_get(o, "blend_tokens")), 0);
    json_t *po = json_object_get(o, "prefix_only");
    assert_true(fabs(json_real_value(json_object_get(o, "ttft_p50_s")) - 0.002) < 1e-12);
    assert_true(fabs(json_real_value(json_object_get(po, "ttft_p50_s")) - 0.002) < 1e-12);
    assert_true(json_real_value(json_object_get(po, "token_hit_ratio")) ==
                json_real_value(json_object_get(o, "token_hit_ratio")));
    json_decref(o);
    free(out);
    /* without --semantic: no semantic figure in the JSON */
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks inf --json 2>/dev/null", tu_bin(),
             tp);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_null(strstr(out, "semantic"));
    free(out);
    const char *bad[][2] = {
        {"--semantic --backend rates", "--semantic"},
        {"--semantic --embedder nope", "--embedder"},
        {"--semantic --threshold 2", "--threshold"},
        {"--semantic --semantic-lookup-ms -1", "--semantic-lookup-ms"},
        {"--threshold 0.5", "--semantic"},
        {"--semantic --concurrency none", "--semantic"},
        {"--semantic --embedder precomputed", "embeddings"},
        {"--semantic --compare-no-cache", "--semantic"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks inf %s", tu_bin(), tp,
                 bad[i][0]);
        int rc = tu_run(cmd, &out);
        if (rc != 2 || !strstr(out, bad[i][1]))
            fail_msg("%s: exit %d, output %s", bad[i][0], rc, out);
        free(out);
    }
    remove(tp);
    remove(sp);
    /* a trace without text (Mooncake: hashes only): exit 2 (unsupported), naming it */
    const char *jl = "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 4, "
                     "\"hash_ids\": [1, 2]}\n";
    char mp[512];
    tu_write_tmp(mp, sizeof mp, "sem.jsonl", jl, strlen(jl));
    snprintf(cmd, sizeof cmd, "%s replay %s --format mooncake --capacity-blocks inf --semantic",
             tu_bin(), mp);
    int rc = tu_run(cmd, &out);
    if (rc != 2 || !strstr(out, "no text"))
        fail_msg("mooncake --semantic: exit %d, output %s", rc, out);
    free(out);
    remove(mp);
}

/* The bills of a semantic run cover the requests the model served, billed
 * as without the tier: with no semantic hit (distinct questions) the bill
 * of an explicit model (anthropic-5m: caches the system prompt chunk under
 * --cacheable auto) equals the run without --semantic.  Until schema 1.3
 * the billed requests lost their chunks, so the whole prompt was cached. */
static void test_cli_bills_without_hits(void **state)
{
    (void)state;
    char tp[512], cmd[2048];
    static const char *const q[] = {"How do I reset my router?", "Which port does SSH use?",
                                    "Why is the sky blue at noon?", "Name three prime numbers.",
                                    "What does HTTP 418 mean?"};
    char sys[16000] = "";
    for (int i = 0; i < 600; i++) /* about 1,500 tokens: above the model's 1,024 minimum */
        strcat(sys, i % 2 ? "policy clause " : "always answer briefly ");
    size_t cap = 5 * (strlen(sys) + 512);
    char *jl = calloc(cap, 1), line[17000];
    assert_non_null(jl);
    for (int i = 0; i < 5; i++) {
        snprintf(line, sizeof line,
                 "{\"type\": \"request\", \"request_id\": \"r%d\", \"session_id\": \"s%d\", "
                 "\"timestamp\": %d, \"body\": {\"model\": \"m\", \"messages\": [{\"role\": "
                 "\"system\", \"content\": \"%s\"}, {\"role\": \"user\", \"content\": "
                 "\"%s\"}]}}\n", i, i, 10 * i, sys, q[i]);
        strcat(jl, line);
    }
    tu_write_tmp(tp, sizeof tp, "sem_bills.jsonl", jl, strlen(jl));
    free(jl);
    double bill[2];
    for (int k = 0; k < 2; k++) {
        snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks inf --pricing anthropic-5m "
                 "%s --json 2>/dev/null", tu_bin(), tp,
                 k ? "--semantic --threshold 0.99" : "");
        char *out = NULL;
        assert_int_equal(tu_run(cmd, &out), 0);
        json_error_t je;
        json_t *o = json_loads(out, 0, &je);
        if (!o)
            fail_msg("not JSON: %s", out);
        if (k)
            assert_int_equal(json_integer_value(json_object_get(o, "semantic_hits")), 0);
        json_t *b = json_object_get(json_object_get(o, "cost_breakdown"), "anthropic-5m");
        bill[k] = json_real_value(json_object_get(b, "total_usd"));
        if (!k) /* the system prompt was cached (written once, read four times) */
            assert_true(json_integer_value(json_object_get(b, "read_tokens")) > 0);
        json_decref(o);
        free(out);
    }
    if (!(fabs(bill[0] - bill[1]) <= 1e-12 * bill[0]))
        fail_msg("bill without --semantic %.12g, with it (no hit) %.12g", bill[0], bill[1]);
    remove(tp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_trace),
        cmocka_unit_test(test_transparent_miss),
        cmocka_unit_test(test_refused_modes),
        cmocka_unit_test(test_cli_exact_groups),
        cmocka_unit_test(test_cli_bills_without_hits),
        cmocka_unit_test(test_untimed_file_order),
        cmocka_unit_test(test_cli_untimed_prompts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
