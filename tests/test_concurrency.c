/* test_concurrency.c -- replays with overlapping requests (concurrency
 * immediate, after-complete, dedup) and the HDF5 results file:
 * hand-computed timelines under the service-time model for every mode
 * (exact hits, waits and times), the tie rule at equal instants, the
 * overlapping modes with one server against mode none on random traces,
 * dedup computing every distinct block exactly once with an unbounded cache
 * (distinct blocks counted by the test), the results file read back with
 * the HDF5 C API and with h5py, byte-identical rewrites, no partial file on
 * failure, and the command's options. */
#include "testutil.h"
#include "analysis/results.h"
#include "sim/driver.h"
#include "core/replay.h"

#include <gsl/gsl_rng.h>
#include <hdf5.h>
#include <jansson.h>
#include <math.h>

#define PY "/usr/bin/python3"
#define MS 1000000LL

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

static cc_pc_config one_tier(uint64_t cap)
{
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.mode = CC_PC_PREFIX;
    c.kv_bytes_per_block = 100;
    c.n_tiers = 1;
    strcpy(c.tiers[0].name, "hbm");
    c.tiers[0].capacity_blocks = cap;
    c.tiers[0].policy = cc_policy_find("lru");
    return c;
}

/* 1000 tokens/s for both phases: 1 ms per token, so times are exact. */
static cc_replay_opts opts_of(cc_concurrency c, uint32_t servers)
{
    cc_replay_opts o = {.concurrency = c, .keep_records = true, .prefill_tokens_per_s = 1000,
                        .decode_tokens_per_s = 1000, .servers = servers};
    return o;
}

static void run(const cc_trace *t, const cc_pc_config *cfg, cc_replay_opts o,
                cc_replay_result *r)
{
    cc_err e = {0};
    int rc = cc_sim_replay(t, cfg, &o, r, &e); /* the driver's lanes, fixed rates */
    if (rc != CC_OK)
        fail_msg("replay: %s", e.msg);
}

typedef struct expect {
    uint32_t hit_blocks, hit_tokens, computed, dedup_blocks, inserted;
    int64_t start_ms, first_ms, finish_ms, dedup_wait_ms;
} expect;

static void check(const cc_replay_result *r, size_t i, expect x)
{
    const cc_replay_record *rec = &r->records[i];
    assert_int_equal(rec->hit_blocks, x.hit_blocks);
    assert_int_equal(rec->hit_tokens, x.hit_tokens);
    assert_int_equal(rec->computed_tokens, x.computed);
    assert_int_equal(rec->dedup_blocks, x.dedup_blocks);
    assert_int_equal(rec->inserted_blocks, x.inserted);
    assert_int_equal(rec->start_ns, x.start_ms * MS);
    assert_int_equal(rec->first_token_ns, x.first_ms * MS);
    assert_int_equal(rec->finish_ns, x.finish_ms * MS);
    assert_int_equal(rec->dedup_wait_ns, x.dedup_wait_ms * MS);
}

/* Block size 4, 1 ms per token:
 *   r0 at 0 ms  [1 2 3] 12 tokens, 2 out
 *   r1 at 6 ms  [1 2 4] 12 tokens, 2 out
 *   r2 at 7 ms  [1 2 5] 10 tokens (last block 2 tokens), 0 out
 * r0 alone: blocks 1, 2, 3 done at 4, 8, 12 ms; first token 12, finish 14. */
static void overlap_trace(cc_trace *t)
{
    cc_trace_init(t);
    t->block_size = 4;
    t->timed = true;
    uint64_t b0[] = {1, 2, 3}, b1[] = {1, 2, 4}, b2[] = {1, 2, 5};
    add(t, 0, 12, 2, b0, 3);
    add(t, 6, 12, 2, b1, 3);
    add(t, 7, 10, 0, b2, 3);
}

static void test_none_by_hand(void **state)
{
    (void)state;
    cc_trace t;
    overlap_trace(&t);
    cc_pc_config cfg = one_tier(100);
    cc_replay_result r;
    run(&t, &cfg, opts_of(CC_CONCURRENCY_NONE, 0), &r);
    /* one at a time: r1 starts when r0 finished (14), hits 1 2, computes 4
     * tokens (first 18, finish 20); r2 starts at 20, hits 1 2, computes its
     * 2-token block 5 (first = finish = 22) */
    check(&r, 0, (expect){0, 0, 12, 0, 3, 0, 12, 14, 0});
    check(&r, 1, (expect){2, 8, 4, 0, 1, 14, 18, 20, 0});
    check(&r, 2, (expect){2, 8, 2, 0, 1, 20, 22, 22, 0});
    assert_int_equal(r.queue_wait_ns.hi, 0);
    assert_int_equal(r.queue_wait_ns.lo, (8 + 13) * MS);
    assert_int_equal(r.last_finish_ns, 22 * MS);
    assert_int_equal(r.servers, 1);
    cc_replay_result_free(&r);
    cc_trace_free(&t);
}

static void test_immediate_by_hand(void **state)
{
    (void)state;
    cc_trace t;
    overlap_trace(&t);
    cc_pc_config cfg = one_tier(100);
    cc_replay_result r;
    run(&t, &cfg, opts_of(CC_CONCURRENCY_IMMEDIATE, 0), &r);
    /* r1 at 6: block 1 is computed (4 ms), block 2 not yet (8 ms): hit 1
     * block; computes 2 and 4 (8 tokens): done 10, 14; finish 16.  Block 2
     * was stored by r0 at 8, so r1's copy is not stored again: 1 inserted.
     * r2 at 7: hit 1 block; computes 2 and 5 (6 tokens): 11, 13; finish 13;
     * stores 5 only. */
    check(&r, 0, (expect){0, 0, 12, 0, 3, 0, 12, 14, 0});
    check(&r, 1, (expect){1, 4, 8, 0, 1, 6, 14, 16, 0});
    check(&r, 2, (expect){1, 4, 6, 0, 1, 7, 13, 13, 0});
    assert_int_equal(r.hit_blocks, 2);
    assert_int_equal(r.computed_tokens, 26);
    assert_int_equal(r.max_in_flight, 3);
    assert_int_equal(r.last_finish_ns, 16 * MS);
    cc_replay_result_free(&r);

    /* the tie rule: a request arriving at 8 ms, when r0's block 2 is done,
     * sees it (blocks done fire before arrivals) */
    cc_trace t2;
    cc_trace_init(&t2);
    t2.block_size = 4;
    t2.timed = true;
    uint64_t b0[] = {1, 2, 3}, b1[] = {1, 2, 4};
    add(&t2, 0, 12, 2, b0, 3);
    add(&t2, 8, 12, 2, b1, 3);
    run(&t2, &cfg, opts_of(CC_CONCURRENCY_IMMEDIATE, 0), &r);
    check(&r, 1, (expect){2, 8, 4, 0, 1, 8, 12, 14, 0});
    cc_replay_result_free(&r);

    /* one server: r1 and r2 queue behind r0 exactly as in mode none */
    run(&t, &cfg, opts_of(CC_CONCURRENCY_IMMEDIATE, 1), &r);
    check(&r, 1, (expect){2, 8, 4, 0, 1, 14, 18, 20, 0});
    check(&r, 2, (expect){2, 8, 2, 0, 1, 20, 22, 22, 0});
    assert_int_equal(r.max_in_flight, 1);
    cc_replay_result_free(&r);
    /* two servers: r2 waits for r0's finish (14), then hits 1 2 */
    run(&t, &cfg, opts_of(CC_CONCURRENCY_IMMEDIATE, 2), &r);
    check(&r, 1, (expect){1, 4, 8, 0, 1, 6, 14, 16, 0});
    check(&r, 2, (expect){2, 8, 2, 0, 1, 14, 16, 16, 0});
    assert_int_equal(r.queue_wait_ns.hi, 0);
    assert_int_equal(r.queue_wait_ns.lo, 7 * MS);
    cc_replay_result_free(&r);
    cc_trace_free(&t2);
    cc_trace_free(&t);
}

static void test_after_complete_by_hand(void **state)
{
    (void)state;
    cc_trace t;
    overlap_trace(&t);
    cc_pc_config cfg = one_tier(100);
    cc_replay_result r;
    run(&t, &cfg, opts_of(CC_CONCURRENCY_AFTER_COMPLETE, 0), &r);
    /* nothing is reusable before r0 completes at 14: r1 and r2 miss all.
     * At completion r2 (finish 17) stores only 5: 1 2 came from r0. */
    check(&r, 0, (expect){0, 0, 12, 0, 3, 0, 12, 14, 0});
    check(&r, 1, (expect){0, 0, 12, 0, 1, 6, 18, 20, 0});
    check(&r, 2, (expect){0, 0, 10, 0, 1, 7, 17, 17, 0});
    cc_replay_result_free(&r);
    cc_trace_free(&t);
}

static void test_dedup_by_hand(void **state)
{
    (void)state;
    cc_trace t;
    overlap_trace(&t);
    cc_pc_config cfg = one_tier(100);
    cc_replay_result r;
    run(&t, &cfg, opts_of(CC_CONCURRENCY_DEDUP, 0), &r);
    /* r1 at 6: hit 1; block 2 is being computed by r0 -> waits until 8
     * (2 ms), takes it; computes 4 (8..12); finish 14.
     * r2 at 7: hit 1; waits for 2 until 8 (1 ms); computes its 2-token
     * block 5 (8..10); finish 10. */
    check(&r, 0, (expect){0, 0, 12, 0, 3, 0, 12, 14, 0});
    check(&r, 1, (expect){2, 8, 4, 1, 1, 6, 12, 14, 2});
    check(&r, 2, (expect){2, 8, 2, 1, 1, 7, 10, 10, 1});
    assert_int_equal(r.dedup_blocks, 2);
    assert_int_equal(r.dedup_tokens, 8);
    assert_int_equal(r.dedup_wait_ns.hi, 0);
    assert_int_equal(r.dedup_wait_ns.lo, 3 * MS);
    assert_int_equal(r.hit_tokens, 16);
    cc_replay_result_free(&r);

    /* a waiter whose block could not be cached computes it itself: capacity
     * 2, r0 [1 2 3] stores 1 2, has no room for 3 (both pinned); r1 [1 2 3]
     * at 9 ms hits 1 2, waits for r0's 3 (done 12), finds it uncached and
     * computes it (12..16) */
    cc_trace t2;
    cc_trace_init(&t2);
    t2.block_size = 4;
    t2.timed = true;
    uint64_t b0[] = {1, 2, 3};
    add(&t2, 0, 12, 2, b0, 3);
    add(&t2, 9, 12, 2, b0, 3);
    cc_pc_config small = one_tier(2);
    run(&t2, &small, opts_of(CC_CONCURRENCY_DEDUP, 0), &r);
    check(&r, 0, (expect){0, 0, 12, 0, 2, 0, 12, 14, 0});
    check(&r, 1, (expect){2, 8, 4, 0, 0, 9, 16, 18, 3});
    cc_replay_result_free(&r);
    cc_trace_free(&t2);
    cc_trace_free(&t);
}

/* A random trace whose requests overlap: each request shares a random
 * prefix of an earlier one (or of a few hot system prompts) and adds new
 * blocks; arrivals 0-9 ms apart, 16 tokens per block, so prefills of up to
 * 40 blocks (64 ms at 10,000 tokens/s) overlap. */
static void random_trace(cc_trace *t, gsl_rng *rng, size_t n)
{
    cc_trace_init(t);
    t->block_size = 16;
    t->timed = true;
    uint64_t *chains = calloc(n * 40, sizeof *chains);
    uint32_t *lens = calloc(n, sizeof *lens);
    uint64_t next_hash = 1000;
    int64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t *c = chains + i * 40;
        uint32_t len = 1 + (uint32_t)gsl_rng_uniform_int(rng, 40), shared = 0;
        if (i > 0 && gsl_rng_uniform(rng) < 0.8) {
            size_t base = gsl_rng_uniform(rng) < 0.5 ? gsl_rng_uniform_int(rng, i < 4 ? i : 4)
                                                     : gsl_rng_uniform_int(rng, i);
            shared = (uint32_t)gsl_rng_uniform_int(rng, lens[base] + 1);
            if (shared > len)
                shared = len;
            memcpy(c, chains + base * 40, shared * sizeof *c);
        }
        for (uint32_t j = shared; j < len; j++)
            c[j] = next_hash++;
        lens[i] = len;
        uint32_t in = (len - 1) * 16 + 1 + (uint32_t)gsl_rng_uniform_int(rng, 16);
        /* a partial last block must not be shared with a longer request */
        if (in % 16 && shared == len)
            in = len * 16;
        add(t, 0, in, (uint32_t)gsl_rng_uniform_int(rng, 30), c, len);
        t->arrival_ns[i] = at;
        at += (int64_t)gsl_rng_uniform_int(rng, 10) * MS;
    }
    free(chains);
    free(lens);
}

static void same_request(const cc_replay_result *a, const cc_replay_result *b, size_t i)
{
    const cc_replay_record *x = &a->records[i], *y = &b->records[i];
    assert_int_equal(x->hit_blocks, y->hit_blocks);
    assert_int_equal(x->hit_tokens, y->hit_tokens);
    assert_int_equal(x->computed_tokens, y->computed_tokens);
    assert_int_equal(x->start_ns, y->start_ns);
    assert_int_equal(x->first_token_ns, y->first_token_ns);
    assert_int_equal(x->finish_ns, y->finish_ns);
    for (uint32_t k = 0; k < a->n_tiers; k++)
        assert_int_equal(a->record_tier_blocks[i * a->n_tiers + k],
                         b->record_tier_blocks[i * b->n_tiers + k]);
}

/* With one server nothing overlaps, so every mode must give mode none's
 * hits, evictions, moves and times (mode none is the loop every cross-check
 * uses; the overlapping modes run in the event loop). */
static void test_one_server_equals_none(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    const char *const specs[] = {"hbm:60", "hbm:40:policy=fifo,dram:100", "hbm:30,dram:50,ssd:80"};
    for (int trial = 0; trial < 6; trial++) {
        gsl_rng_set(rng, 100 + trial);
        cc_trace t;
        random_trace(&t, rng, 400);
        cc_pc_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.mode = CC_PC_PREFIX;
        cfg.kv_bytes_per_block = 64;
        cc_err e = {0};
        assert_int_equal(cc_pc_parse_tiers(specs[trial % 3], NULL, NULL, 64, &cfg, &e), CC_OK);
        cc_replay_opts base = {.concurrency = CC_CONCURRENCY_NONE, .keep_records = true};
        cc_replay_result none;
        run(&t, &cfg, base, &none);
        for (int m = CC_CONCURRENCY_IMMEDIATE; m <= CC_CONCURRENCY_DEDUP; m++) {
            cc_replay_opts o = base;
            o.concurrency = (cc_concurrency)m;
            o.servers = 1;
            cc_replay_result r;
            run(&t, &cfg, o, &r);
            assert_int_equal(r.hit_blocks, none.hit_blocks);
            assert_int_equal(r.hit_tokens, none.hit_tokens);
            assert_int_equal(r.evictions, none.evictions);
            assert_int_equal(r.blocks_moved, none.blocks_moved);
            assert_int_equal(r.queue_wait_ns.hi, none.queue_wait_ns.hi);
            assert_int_equal(r.queue_wait_ns.lo, none.queue_wait_ns.lo);
            assert_int_equal(r.last_finish_ns, none.last_finish_ns);
            assert_int_equal(r.dedup_blocks, 0);
            assert_true(fabs(r.request_hit_ratio_mean - none.request_hit_ratio_mean) < 1e-12);
            for (size_t i = 0; i < t.n; i++)
                same_request(&r, &none, i);
            cc_replay_result_free(&r);
        }
        cc_replay_result_free(&none);
        cc_trace_free(&t);
    }
    gsl_rng_free(rng);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Unbounded cache: nothing is ever evicted, so with dedup every distinct
 * block is computed exactly once in the whole run (computing one twice at
 * once is what dedup forbids; computing it again later is impossible as it
 * stays cached): computed blocks = distinct blocks, counted here by sorting.
 * Immediate computes more (duplicates while overlapping), after-complete at
 * least as many as immediate (with unlimited servers every request starts
 * at arrival in both, and by induction immediate's cache at any instant
 * holds after-complete's). */
static void test_dedup_computes_each_block_once(void **state)
{
    (void)state;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    for (int trial = 0; trial < 4; trial++) {
        gsl_rng_set(rng, 7 + trial);
        cc_trace t;
        random_trace(&t, rng, 500);
        size_t nb = cc_trace_n_blocks_total(&t);
        uint64_t *sorted = malloc(nb * sizeof *sorted);
        memcpy(sorted, t.blocks, nb * sizeof *sorted);
        qsort(sorted, nb, sizeof *sorted, cmp_u64);
        uint64_t distinct = 0;
        for (size_t p = 0; p < nb; p++)
            distinct += p == 0 || sorted[p] != sorted[p - 1];
        free(sorted);
        cc_pc_config cfg = one_tier(0); /* unbounded */
        uint64_t computed[4] = {0};
        for (int m = CC_CONCURRENCY_NONE; m <= CC_CONCURRENCY_DEDUP; m++) {
            cc_replay_opts o = {.concurrency = (cc_concurrency)m, .keep_records = true};
            cc_replay_result r;
            run(&t, &cfg, o, &r);
            computed[m] = r.block_accesses - r.hit_blocks;
            if (m == CC_CONCURRENCY_DEDUP) {
                assert_true(r.dedup_blocks > 0); /* the trace does overlap */
                assert_true(r.max_in_flight > 1);
                uint64_t by_req = 0;
                for (size_t i = 0; i < t.n; i++) {
                    const cc_replay_record *rec = &r.records[i];
                    by_req += rec->n_blocks - rec->hit_blocks;
                    assert_int_equal(rec->computed_tokens + rec->hit_tokens, rec->input_tokens);
                    assert_true(rec->dedup_blocks <= rec->hit_blocks);
                    assert_true(rec->first_token_ns >= rec->start_ns + rec->dedup_wait_ns);
                }
                assert_int_equal(by_req, distinct);
            }
            cc_replay_result_free(&r);
        }
        assert_int_equal(computed[CC_CONCURRENCY_NONE], distinct);
        assert_int_equal(computed[CC_CONCURRENCY_DEDUP], distinct);
        assert_true(computed[CC_CONCURRENCY_IMMEDIATE] > distinct);
        assert_true(computed[CC_CONCURRENCY_AFTER_COMPLETE] >= computed[CC_CONCURRENCY_IMMEDIATE]);
        cc_trace_free(&t);
    }
    gsl_rng_free(rng);
}

static void test_event_queue_order(void **state)
{
    (void)state;
    cc_evq q;
    assert_int_equal(cc_evq_init(&q, 0), CC_OK);
    /* (time, cls) pairs pushed out of order; ids say the push order */
    int64_t times[] = {5, 3, 5, 3, 1, 5, 3};
    uint16_t cls[] = {1, 0, 0, 0, 2, 1, 2};
    for (uint32_t i = 0; i < 7; i++)
        assert_int_equal(cc_evq_push(&q, times[i], cls[i], 0, i), CC_OK);
    uint32_t want[] = {4, 1, 3, 6, 2, 0, 5};
    cc_event e;
    for (int i = 0; i < 7; i++) {
        assert_int_equal(cc_evq_pop(&q, &e), 1);
        assert_int_equal(e.id, want[i]);
    }
    assert_int_equal(cc_evq_pop(&q, &e), 0);
    cc_evq_free(&q);
}

static void test_errors(void **state)
{
    (void)state;
    cc_trace t;
    overlap_trace(&t);
    cc_pc_config cfg = one_tier(100);
    cc_replay_result r;
    cc_err e = {0};
    cc_replay_opts o = opts_of(CC_CONCURRENCY_DEDUP, 0);
    cfg.mode = CC_PC_INDEPENDENT;
    assert_int_equal(cc_sim_replay(&t, &cfg, &o, &r, &e), CC_EUNSUP);
    assert_string_equal(e.field, "concurrency");
    cfg.mode = CC_PC_PREFIX;
    /* core/ runs requests one at a time only: overlapping is the driver's */
    assert_int_equal(cc_replay(&t, &cfg, &o, &r, &e), CC_EUNSUP);
    assert_string_equal(e.field, "concurrency");
    o.prefill_tokens_per_s = -1;
    assert_int_equal(cc_sim_replay(&t, &cfg, &o, &r, &e), CC_EARG);
    assert_string_equal(e.field, "prefill_tokens_per_s");
    o = opts_of(CC_CONCURRENCY_IMMEDIATE, 0);
    o.decode_tokens_per_s = NAN;
    assert_int_equal(cc_sim_replay(&t, &cfg, &o, &r, &e), CC_EARG);
    assert_string_equal(e.field, "decode_tokens_per_s");
    o = opts_of((cc_concurrency)9, 0);
    assert_int_equal(cc_sim_replay(&t, &cfg, &o, &r, &e), CC_EARG);
    assert_int_equal(cc_replay(&t, &cfg, &o, &r, &e), CC_EARG);
    cc_concurrency c;
    assert_int_equal(cc_concurrency_parse("after-complete", &c, &e), CC_OK);
    assert_int_equal(c, CC_CONCURRENCY_AFTER_COMPLETE);
    assert_int_equal(cc_concurrency_parse("eager", &c, &e), CC_EARG);
    assert_string_equal(e.field, "concurrency");
    cc_trace_free(&t);
}

/* ---- results file ------------------------------------------------------------- */

static void write_results(const cc_trace *t, const cc_pc_config *cfg, const cc_replay_result *r,
                          const char *path)
{
    cc_results_run run = {.trace = t, .trace_path = "hand.jsonl", .cfg = cfg, .res = r,
                          .policy = "lru", .kv_bytes_per_token = 25,
                          .ideal_block_hit_ratio = 0.5, .ideal_token_hit_ratio = 0.25};
    cc_err e = {0};
    if (cc_results_write_h5(path, &run, &e) != CC_OK)
        fail_msg("write %s: %s", path, e.msg);
}


static void read_i64(hid_t f, const char *path, int64_t *out)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(d);
}

static void read_u32(hid_t f, const char *path, uint32_t *out)
{
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dread(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(d);
}

static const char h5py_check[] =
    "import sys, h5py, numpy as np\n"
    "f = h5py.File(sys.argv[1], 'r')\n"
    "a = f.attrs\n"
    "assert a['format'] == b'ctxcache-results', a['format']\n"
    "assert a['concurrency'] == b'dedup' and a['mode'] == b'prefix'\n"
    "assert a['block_size'] == 4 and a['servers'] == 0 and a['n_tiers'] == 2\n"
    "assert a['prefill_tokens_per_s'] == 1000.0 and a['trace'] == b'hand.jsonl'\n"
    "q = f['requests']\n"
    "assert list(q['index'][:]) == [0, 1, 2]\n"
    "assert list(q['start_ns'][:]) == [0, 6000000, 7000000]\n"
    "assert list(q['first_token_ns'][:]) == [12000000, 12000000, 10000000]\n"
    "assert list(q['finish_ns'][:]) == [14000000, 14000000, 10000000]\n"
    "assert list(q['dedup_wait_ns'][:]) == [0, 2000000, 1000000]\n"
    "assert list(q['hit_tokens'][:]) == [0, 8, 8]\n"
    "assert list(q['computed_tokens'][:]) == [12, 4, 2]\n"
    "assert q['hit_blocks_by_tier'].shape == (3, 2)\n"
    "assert list(q['hit_blocks_by_tier'][:, 0]) == [0, 2, 2]\n"
    "assert q['hit_tokens'][:].sum() == a['hit_tokens'] == 16\n"
    "assert a['dedup_wait_ns'] == 3000000\n"
    "assert [x.decode() for x in f['tiers/name'][:]] == ['hbm', 'dram']\n"
    "assert list(f['tiers/capacity_blocks'][:]) == [100, 50]\n"
    "print('ok')\n";

static void test_results_file(void **state)
{
    (void)state;
    cc_trace t;
    overlap_trace(&t);
    cc_pc_config cfg = one_tier(100);
    cfg.n_tiers = 2;
    strcpy(cfg.tiers[1].name, "dram");
    cfg.tiers[1].capacity_blocks = 50;
    cc_replay_result r;
    run(&t, &cfg, opts_of(CC_CONCURRENCY_DEDUP, 0), &r);
    char p1[512], p2[512], bad[512];
    tu_tmp_path(p1, sizeof p1, "results_a.h5");
    tu_tmp_path(p2, sizeof p2, "results_b.h5");
    write_results(&t, &cfg, &r, p1);
    write_results(&t, &cfg, &r, p2);

    /* byte-identical */
    size_t n1, n2;
    char *a = tu_slurp(p1, &n1), *b = tu_slurp(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    free(a);
    free(b);

    /* the HDF5 C API */
    hid_t f = H5Fopen(p1, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    int64_t finish[3], wait[3];
    uint32_t hit[3], tiers[6];
    read_i64(f, "/requests/finish_ns", finish);
    read_i64(f, "/requests/dedup_wait_ns", wait);
    read_u32(f, "/requests/hit_tokens", hit);
    read_u32(f, "/requests/hit_blocks_by_tier", tiers);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(finish[i], r.records[i].finish_ns);
        assert_int_equal(wait[i], r.records[i].dedup_wait_ns);
        assert_int_equal(hit[i], r.records[i].hit_tokens);
        assert_int_equal(tiers[2 * i], r.record_tier_blocks[2 * i]);
        assert_int_equal(tiers[2 * i + 1], 0);
    }
    hid_t at = H5Aopen(f, "hit_tokens", H5P_DEFAULT);
    uint64_t ht = 0;
    assert_true(at >= 0 && H5Aread(at, H5T_NATIVE_UINT64, &ht) >= 0);
    assert_int_equal(ht, 16);
    H5Aclose(at);
    H5Fclose(f);

    /* h5py */
    if (tu_run(PY " -c 'import h5py, numpy'", NULL) != 0) {
        printf("skipped h5py part: " PY " has no h5py/numpy\n");
    } else {
        char script[512], cmd[1200];
        tu_write_tmp(script, sizeof script, "results_check.py", h5py_check, strlen(h5py_check));
        snprintf(cmd, sizeof cmd, PY " %s %s", script, p1);
        char *out;
        int rc = tu_run(cmd, &out);
        if (rc != 0 || !strstr(out, "ok"))
            fail_msg("h5py check failed (%d):\n%s", rc, out);
        free(out);
        remove(script);
    }

    /* failure leaves nothing behind; no records is an error */
    tu_tmp_path(bad, sizeof bad, "no_such_dir/results.h5");
    cc_results_run run = {.trace = &t, .cfg = &cfg, .res = &r};
    cc_err e = {0};
    assert_int_equal(cc_results_write_h5(bad, &run, &e), CC_EIO);
    char badtmp[600];
    snprintf(badtmp, sizeof badtmp, "%s.tmp", bad);
    assert_int_not_equal(access(bad, F_OK), 0);
    assert_int_not_equal(access(badtmp, F_OK), 0);
    cc_replay_result nor = r;
    nor.records = NULL;
    assert_int_equal(cc_results_write_h5(p2, &run, &e) == CC_OK, 1);
    run.res = &nor;
    assert_int_equal(cc_results_write_h5(p2, &run, &e), CC_EARG);
    assert_string_equal(e.field, "records");

    remove(p1);
    remove(p2);
    cc_replay_result_free(&r);
    cc_trace_free(&t);
}

/* The command: options, -o, and the summary in the file. */
static void test_cli(void **state)
{
    (void)state;
    char trace[512], res[512], cmd[2048];
    const char jsonl[] =
        "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 10, \"hash_ids\": [1, 2]}\n"
        "{\"timestamp\": 10, \"input_length\": 1024, \"output_length\": 10, \"hash_ids\": [1, 3]}\n"
        "{\"timestamp\": 20, \"input_length\": 1536, \"output_length\": 10, \"hash_ids\": [1, 2, 4]}\n";
    tu_write_tmp(trace, sizeof trace, "conc.jsonl", jsonl, strlen(jsonl));
    tu_tmp_path(res, sizeof res, "conc.h5");
    /* 512 tokens per block at 1000 tokens/s: r0's blocks 1 and 2 are done
     * at 512 and 1024 ms; r1 (10 ms) waits for 1 (502 ms); r2 (20 ms) waits
     * for 1 (492 ms), then for 2 (512 ms more) */
    snprintf(cmd, sizeof cmd,
             "%s replay %s --capacity-blocks inf --concurrency dedup --prefill-tps 1000 "
             "--decode-tps inf -o %s --json", tu_bin(), trace, res);
    char *out;
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("%s\n%s", cmd, out);
    assert_non_null(strstr(out, "\"concurrency\": \"dedup\""));
    assert_non_null(strstr(out, "\"dedup_blocks\": 3"));
    free(out);
    assert_int_equal(access(res, R_OK), 0);
    hid_t f = H5Fopen(res, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(f >= 0);
    int64_t wait[3];
    read_i64(f, "/requests/dedup_wait_ns", wait);
    assert_int_equal(wait[0], 0);
    assert_int_equal(wait[1], 502 * MS);
    assert_int_equal(wait[2], 1004 * MS);
    H5Fclose(f);

    const char *bad[] = {"--concurrency eager", "--prefill-tps 0", "--decode-tps -1",
                         "--concurrency dedup --mode independent", "--servers x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 10 %s", tu_bin(), trace, bad[i]);
        assert_int_equal(tu_run(cmd, NULL), 2);
    }
    remove(res);
    remove(trace);
}

/* cc_ns_sum by hand: carries into the high word, a negative term borrows,
 * and int64 is reported only while the sum fits it. */
static void test_ns_sum(void **state)
{
    (void)state;
    cc_ns_sum s = {0, 0};
    int64_t v = -1;
    cc_ns_sum_add(&s, INT64_MAX);
    assert_true(cc_ns_sum_i64(s, &v));
    assert_int_equal(v, INT64_MAX);
    cc_ns_sum_add(&s, 1); /* 2^63: one past int64 */
    assert_int_equal(s.hi, 0);
    assert_int_equal(s.lo, UINT64_C(1) << 63);
    assert_false(cc_ns_sum_i64(s, &v));
    cc_ns_sum_add(&s, INT64_MAX); /* 2^64 - 1 */
    cc_ns_sum_add(&s, 1);         /* 2^64: the carry */
    assert_int_equal(s.hi, 1);
    assert_int_equal(s.lo, 0);
    assert_true(cc_ns_sum_double(s) == 0x1p64);
    cc_ns_sum_add(&s, -1); /* 2^64 - 1: the borrow */
    assert_int_equal(s.hi, 0);
    assert_int_equal(s.lo, UINT64_MAX);
    cc_ns_sum s2 = {0, 0};
    cc_ns_sum_add(&s2, -5);
    assert_true(cc_ns_sum_i64(s2, &v));
    assert_int_equal(v, -5);
    assert_true(cc_ns_sum_double(s2) == -5.0);
}

/* The worst case the service-time model accepts: every time is int64 ns
 * and the replay refuses rates whose work could pass 0.999 * 2^63 ns
 * (core/replay.c).  Request 0 decodes 3 * 2^30 tokens at 1e9 / 2^31
 * tokens/s (= 5^9 / 2^22, exact in binary): 3 * 2^61 ns (80 years); 1001
 * more requests arrive with it at 0, hit its block and take no time
 * (infinite prefill rate, no output), so each waits exactly 3 * 2^61 ns.
 * Their sum, 3003 * 2^61 = 375 * 2^64 + 3 * 2^61, is 750 times INT64_MAX:
 * an int64 sum wrapped around to a wrong figure.  The same through the
 * command: its JSON and results file give the sum in seconds, and leave
 * out the int64 nanoseconds that no longer hold it. */
#define WORST_WAITERS 1001
static void worst_trace(cc_trace *t)
{
    cc_trace_init(t);
    t->block_size = 4;
    t->timed = true;
    static const uint64_t b[] = {1};
    add(t, 0, 4, 3u << 30, b, 1);
    for (int i = 0; i < WORST_WAITERS; i++)
        add(t, 0, 4, 0, b, 1);
}

static void check_worst(const cc_replay_result *r)
{
    assert_int_equal(r->last_finish_ns, 3 * (INT64_C(1) << 61));
    assert_int_equal(r->queue_wait_ns.hi, 375);
    assert_int_equal(r->queue_wait_ns.lo, 3 * (UINT64_C(1) << 61));
    int64_t v;
    assert_false(cc_ns_sum_i64(r->queue_wait_ns, &v));
    assert_true(cc_ns_sum_double(r->queue_wait_ns) == 3003 * 0x1p61); /* exact in a double */
}

static void test_wait_sum_worst_case(void **state)
{
    (void)state;
    cc_trace t;
    worst_trace(&t);
    cc_pc_config cfg = one_tier(10);
    cc_replay_opts o = {.keep_records = true, .prefill_tokens_per_s = INFINITY,
                        .decode_tokens_per_s = 1e9 / 0x1p31};
    cc_replay_result r;
    cc_err e = {0};
    /* core's one-at-a-time loop, and the driver's lanes (one server, FIFO) */
    if (cc_replay(&t, &cfg, &o, &r, &e) != CC_OK)
        fail_msg("replay: %s", e.msg);
    check_worst(&r);
    assert_int_equal(r.records[WORST_WAITERS].start_ns - r.records[WORST_WAITERS].arrival_ns,
                     3 * (INT64_C(1) << 61));
    cc_replay_result_free(&r);
    for (int m = CC_CONCURRENCY_NONE; m <= CC_CONCURRENCY_AFTER_COMPLETE; m++) {
        o.concurrency = (cc_concurrency)m;
        o.servers = 1;
        run(&t, &cfg, o, &r);
        check_worst(&r);
        cc_replay_result_free(&r);
    }
    cc_trace_free(&t);

    /* the command: the same trace in Mooncake's format (512-token blocks),
     * whose reader takes at most 2^24 - 1 output tokens and finite rates:
     * 3 * 2^22 tokens at 1e9 / 2^39 tokens/s (5^9 / 2^30, exact) decode in
     * 3 * 2^61 ns, request 0's 512 tokens take 1 ns at 512e9 tokens/s, so
     * each waits 3 * 2^61 + 1 ns and the sum is 3003 * 2^61 + 1001 ns
     * (within a double's rounding of 3003 * 2^61) */
    char trace[512], res[512], cmd[2048];
    tu_tmp_path(trace, sizeof trace, "worst_wait.jsonl");
    tu_tmp_path(res, sizeof res, "worst_wait.h5");
    FILE *f = fopen(trace, "w");
    assert_non_null(f);
    fprintf(f, "{\"timestamp\": 0, \"input_length\": 512, \"output_length\": %u, "
               "\"hash_ids\": [1]}\n", 3u << 22);
    for (int i = 0; i < WORST_WAITERS; i++)
        fputs("{\"timestamp\": 0, \"input_length\": 512, \"output_length\": 0, "
              "\"hash_ids\": [1]}\n", f);
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof cmd,
             "%s replay %s --capacity-blocks 10 --backend rates --prefill-tps 512e9 "
             "--decode-tps 0.001818989403545856475830078125 -o %s --json 2>/dev/null", tu_bin(), trace,
             res);
    char *out;
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s\n%s", cmd, out);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fail_msg("not JSON: %s", out);
    free(out);
    assert_null(json_object_get(j, "queue_wait_ns")); /* not an int64 any more */
    double want_s = 3003 * 0x1p61 * 1e-9;            /* 6.92e12 s */
    double got_s = json_number_value(json_object_get(j, "queue_wait_s"));
    if (!(fabs(got_s - want_s) <= 5e-10 * want_s)) /* the JSON's 10 digits */
        fail_msg("queue_wait_s %.17g, expected %.17g", got_s, want_s);
    assert_true(json_number_value(json_object_get(j, "dedup_wait_s")) == 0);
    json_t *dw = json_object_get(j, "dedup_wait_ns"); /* still exact: 0 */
    assert_true(json_is_integer(dw) && json_integer_value(dw) == 0);
    json_decref(j);
    hid_t h = H5Fopen(res, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(h >= 0);
    assert_true(H5Aexists(h, "queue_wait_ns") == 0);
    assert_true(H5Aexists(h, "dedup_wait_ns") > 0);
    hid_t a = H5Aopen(h, "queue_wait_s", H5P_DEFAULT);
    assert_true(a >= 0);
    double attr_s = 0;
    assert_true(H5Aread(a, H5T_NATIVE_DOUBLE, &attr_s) >= 0);
    H5Aclose(a);
    H5Fclose(h);
    if (!(fabs(attr_s - want_s) <= 1e-15 * want_s))
        fail_msg("results file queue_wait_s %.17g, expected %.17g", attr_s, want_s);
    remove(trace);
    remove(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ns_sum),
        cmocka_unit_test(test_wait_sum_worst_case),
        cmocka_unit_test(test_event_queue_order),
        cmocka_unit_test(test_none_by_hand),
        cmocka_unit_test(test_immediate_by_hand),
        cmocka_unit_test(test_after_complete_by_hand),
        cmocka_unit_test(test_dedup_by_hand),
        cmocka_unit_test(test_one_server_equals_none),
        cmocka_unit_test(test_dedup_computes_each_block_once),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_results_file),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
