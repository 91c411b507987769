/* test_replay.c -- replays: hand-computed traces in both modes, infinite
 * capacity against the trace statistics' ideal ratios (an independent
 * implementation, traces/stats.c) on random traces, the Mooncake
 * conversation trace against libCacheSim's miss ratios and the reference
 * ideal ratios (../shared/reference), multi-tier totals, errors, and the
 * `ctxcache replay` command. */
#include "testutil.h"
#include "core/replay.h"

#include <gsl/gsl_rng.h>
#include <jansson.h>

static void add(cc_trace *t, int64_t at_ms, uint32_t in, const uint64_t *b, uint32_t nb)
{
    cc_request r = {0};
    r.arrival_ns = at_ms * 1000000;
    r.input_tokens = in;
    r.output_tokens = 1;
    r.group_id = CC_NO_GROUP;
    r.blocks = b;
    r.n_blocks = nb;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

/* test_trace.c's trace: block size 4,
 *   r0 [1 2 3] in 10, r1 [1 2 4] in 12, r2 [5 2 3] in 9, r3 [1 2 3] in 10 */
static void hand_trace(cc_trace *t)
{
    cc_trace_init(t);
    t->block_size = 4;
    t->timed = true;
    uint64_t b0[] = {1, 2, 3}, b1[] = {1, 2, 4}, b2[] = {5, 2, 3};
    add(t, 0, 10, b0, 3);
    add(t, 1000, 12, b1, 3);
    add(t, 2000, 9, b2, 3);
    add(t, 4000, 10, b0, 3);
}

static cc_pc_config one_tier(cc_pc_mode mode, const char *policy, uint64_t cap)
{
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.mode = mode;
    c.kv_bytes_per_block = 100;
    c.n_tiers = 1;
    strcpy(c.tiers[0].name, "hbm");
    c.tiers[0].capacity_blocks = cap;
    c.tiers[0].policy = cc_policy_find(policy);
    return c;
}

/* Prefix mode, LRU, capacity 3:
 *  r0: all miss; cache {1 2 3}
 *  r1: 1 2 hit (8 tok); 4 needs room: 3 is the only unpinned leaf -> {1 2 4}
 *  r2: 5 misses; room: 4 is the only unpinned leaf -> {1 2 5}; 2 is cached
 *      (reused, pinned, not a hit); 3 needs room: 1 has a child, 2 and 5
 *      are pinned -> no room, not stored
 *  r3: 1 2 hit (8 tok); 3: evict 5 -> {1 2 3}
 * hits 0,2,0,2 = 4/12 blocks; 0,8,0,8 = 16/41 tokens; per request mean
 * (8/12 + 8/10) / 4; evictions 3 (3, 4, 5).
 * Independent mode, LRU, capacity 3, one access at a time (MRU first):
 *  1 2 3 -> [3 2 1] | 1h 2h 4 (evict 3) -> [4 2 1] | 5 (evict 1) 2h
 *  3 (evict 4) -> [3 2 5] | 1 (evict 5) 2h 3h
 * hits 0,2,1,2 blocks = 5/12; tokens 0, 8, 4 (block 2 of r2), 4+2 = 18/41;
 * mean (8/12 + 4/9 + 6/10) / 4; evictions 4. */
static void test_replay_by_hand(void **state)
{
    (void)state;
    cc_trace t;
    hand_trace(&t);
    cc_err e = {0};
    cc_replay_result r;
    cc_replay_opts o = {.keep_records = true};
    cc_pc_config c = one_tier(CC_PC_PREFIX, "lru", 3);
    assert_int_equal(cc_replay(&t, &c, &o, &r, &e), CC_OK);
    assert_int_equal(r.requests, 4);
    assert_int_equal(r.block_accesses, 12);
    assert_int_equal(r.input_tokens, 41);
    assert_int_equal(r.hit_blocks, 4);
    assert_int_equal(r.hit_tokens, 16);
    assert_float_equal(r.block_hit_ratio, 4.0 / 12, 1e-12);
    assert_float_equal(r.token_hit_ratio, 16.0 / 41, 1e-12);
    assert_float_equal(r.request_hit_ratio_mean, (8.0 / 12 + 8.0 / 10) / 4, 1e-12);
    assert_int_equal(r.evictions, 3);
    assert_int_equal(r.no_room_blocks, 1);
    assert_int_equal(r.bytes_moved, 0);
    assert_int_equal(r.n_tiers, 1);
    assert_int_equal(r.tiers[0].hit_blocks, 4);
    assert_int_equal(r.tiers[0].inserted_blocks, 3 + 1 + 1 + 1);
    uint32_t want_hit[] = {0, 2, 0, 2}, want_ins[] = {3, 1, 1, 1}, want_tok[] = {0, 8, 0, 8};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r.records[i].request, i);
        assert_int_equal(r.records[i].hit_blocks, want_hit[i]);
        assert_int_equal(r.records[i].hit_tokens, want_tok[i]);
        assert_int_equal(r.records[i].computed_tokens, t.input_tokens[i] - want_tok[i]);
        assert_int_equal(r.records[i].inserted_blocks, want_ins[i]);
        assert_int_equal(r.records[i].n_blocks, 3);
        assert_int_equal(r.record_tier_blocks[i], want_hit[i]);
    }
    cc_replay_result_free(&r);

    c = one_tier(CC_PC_INDEPENDENT, "lru", 3);
    assert_int_equal(cc_replay(&t, &c, &o, &r, &e), CC_OK);
    assert_int_equal(r.hit_blocks, 5);
    assert_int_equal(r.hit_tokens, 18);
    assert_float_equal(r.request_hit_ratio_mean, (8.0 / 12 + 4.0 / 9 + 6.0 / 10) / 4, 1e-12);
    assert_int_equal(r.evictions, 4);
    assert_int_equal(r.records[2].hit_blocks, 1);
    assert_int_equal(r.records[2].hit_tokens, 4);
    assert_int_equal(r.records[3].hit_tokens, 6);
    assert_int_equal(r.records[2].inserted_blocks, 2);
    cc_replay_result_free(&r);

    /* unbounded: the ideal of test_trace.c (5/12 blocks, 18/41 tokens) */
    c = one_tier(CC_PC_PREFIX, "fifo", 0);
    assert_int_equal(cc_replay(&t, &c, NULL, &r, &e), CC_OK);
    assert_float_equal(r.block_hit_ratio, 5.0 / 12, 1e-12);
    assert_float_equal(r.token_hit_ratio, 18.0 / 41, 1e-12);
    assert_int_equal(r.capacity_blocks[0], 5); /* the distinct blocks */
    assert_int_equal(r.evictions, 0);
    assert_null(r.records);
    cc_trace_free(&t);
}

/* Random conversation traces: with unbounded capacity the prefix replay
 * must reproduce the statistics' ideal ratios exactly, for any policy and
 * any tier split. */
static void test_infinite_equals_ideal(void **state)
{
    (void)state;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    for (int trial = 0; trial < 4; trial++) {
        gsl_rng_set(g, 100 + trial);
        cc_trace t;
        cc_trace_init(&t);
        t.block_size = 16;
        t.timed = true;
        enum { CONVS = 40, MAXB = 60 };
        static uint64_t conv[CONVS][MAXB];
        uint32_t len[CONVS] = {0};
        for (int i = 0; i < 3000; i++) {
            uint32_t c = (uint32_t)gsl_rng_uniform_int(g, CONVS);
            if (len[c] == 0 || len[c] > MAXB - 5) {
                conv[c][0] = gsl_rng_uniform_int(g, 5) + 1; /* a few shared first blocks */
                len[c] = 1;
            }
            uint32_t add_n = 1 + (uint32_t)gsl_rng_uniform_int(g, 4);
            for (uint32_t j = 0; j < add_n; j++, len[c]++)
                conv[c][len[c]] = gsl_rng_get(g) | (1ull << 40);
            uint32_t in = len[c] * 16 - (uint32_t)gsl_rng_uniform_int(g, 16);
            add(&t, i, in, conv[c], len[c]);
        }
        cc_err e = {0};
        assert_int_equal(cc_trace_validate(&t, "random", &e), CC_OK);
        cc_trace_stats s;
        assert_int_equal(cc_trace_compute_stats(&t, &s, &e), CC_OK);
        cc_pc_config c = one_tier(CC_PC_PREFIX, trial % 2 ? "fifo" : "lru", 0);
        if (trial >= 2) { /* two tiers, both unbounded: everything stays on top */
            c.n_tiers = 2;
            c.tiers[1] = c.tiers[0];
            strcpy(c.tiers[1].name, "dram");
        }
        cc_replay_result r;
        assert_int_equal(cc_replay(&t, &c, NULL, &r, &e), CC_OK);
        assert_float_equal(r.block_hit_ratio, s.ideal_block_hit_ratio, 1e-12);
        assert_float_equal(r.token_hit_ratio, s.ideal_token_hit_ratio, 1e-12);
        assert_int_equal(r.evictions, 0);
        /* a small cache does worse; independent mode serves at least as
         * many blocks as prefix mode at the same capacity */
        cc_pc_config small = one_tier(CC_PC_PREFIX, "lru", 200);
        cc_replay_result rs, ri;
        assert_int_equal(cc_replay(&t, &small, NULL, &rs, &e), CC_OK);
        small.mode = CC_PC_INDEPENDENT;
        assert_int_equal(cc_replay(&t, &small, NULL, &ri, &e), CC_OK);
        assert_true(rs.block_hit_ratio < r.block_hit_ratio);
        assert_true(rs.evictions > 0);
        assert_true(ri.hit_blocks > 0);
        cc_trace_free(&t);
    }
    gsl_rng_free(g);
}

/* Totals over tiers add up, unbounded tiers resolve, bytes are blocks moved
 * times the block size. */
static void test_tier_totals(void **state)
{
    (void)state;
    cc_trace t;
    hand_trace(&t);
    for (int i = 0; i < 200; i++) { /* more traffic: 40 chains, 4 of them hot */
        uint64_t c = i % 3 == 0 ? (uint64_t)(i % 4) : (uint64_t)(i * 7 % 40);
        uint64_t b[3] = {1000 + c, 5000 + c, 9};
        add(&t, 5000 + i, 12, b, 3);
    }
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    cc_err e = {0};
    assert_int_equal(cc_pc_parse_tiers("hbm:8,dram:20,ssd:inf", NULL, NULL, 0, &c, &e), CC_OK);
    c.kv_bytes_per_block = 100;
    cc_replay_result r;
    cc_replay_opts o = {.keep_records = true};
    assert_int_equal(cc_replay(&t, &c, &o, &r, &e), CC_OK);
    assert_int_equal(r.capacity_blocks[2], 86); /* 5 + 40*2 + block 9... distinct */
    uint64_t hb = 0, ht = 0, moved = 0, bytes = 0;
    for (uint32_t k = 0; k < r.n_tiers; k++) {
        hb += r.tiers[k].hit_blocks;
        ht += r.tiers[k].hit_tokens;
        moved += r.tiers[k].promoted_blocks + r.tiers[k].demoted_in_blocks;
        bytes += r.tiers[k].bytes_up + r.tiers[k].bytes_down;
    }
    assert_int_equal(hb, r.hit_blocks);
    assert_int_equal(ht, r.hit_tokens);
    assert_int_equal(moved, r.blocks_moved);
    assert_int_equal(bytes, r.bytes_moved);
    assert_int_equal(bytes, moved * 100);
    assert_true(r.tiers[1].hit_blocks > 0 && r.tiers[2].hit_blocks > 0);
    assert_int_equal(r.evictions, 0); /* the last tier holds everything */
    uint64_t per_req = 0;
    for (size_t i = 0; i < r.requests * r.n_tiers; i++)
        per_req += r.record_tier_blocks[i];
    assert_int_equal(per_req, r.hit_blocks);
    cc_replay_result_free(&r);
    cc_trace_free(&t);
}

static void test_errors(void **state)
{
    (void)state;
    cc_trace t;
    hand_trace(&t);
    cc_err e = {0};
    cc_replay_result r;
    cc_pc_config c = one_tier(CC_PC_PREFIX, "lru", 3);
    c.block_tokens = 8;
    assert_int_equal(cc_replay(&t, &c, NULL, &r, &e), CC_EARG);
    assert_string_equal(e.field, "block_size");
    c.block_tokens = 0;
    cc_replay_opts o = {.concurrency = (cc_concurrency)9}; /* no such mode */
    assert_int_equal(cc_replay(&t, &c, &o, &r, &e), CC_EARG);
    assert_string_equal(e.field, "concurrency");
    c.tiers[0].capacity_blocks = UINT64_C(1) << 40;
    assert_int_equal(cc_replay(&t, &c, NULL, &r, &e), CC_EARG);
    assert_string_equal(e.field, "capacity");
    t.block_size = 0;
    c.tiers[0].capacity_blocks = 3;
    assert_int_equal(cc_replay(&t, &c, NULL, &r, &e), CC_EUNSUP);
    assert_string_equal(e.field, "blocks");
    cc_trace_free(&t);
}

/* ---- next-use plumbing: a Belady policy defined here ---------------------------------------
 * A policy with CC_POLICY_NEEDS_NEXT_USE gets, at each insert and hit, the
 * position of the block's next access; evicting the farthest gives
 * Belady's MIN.  Checked against a brute-force MIN that scans the future. */
typedef struct belady {
    cc_slot_heap h; /* evictable slots keyed by UINT64_MAX - next use */
} belady;

static int bel_create(const cc_policy_params *p, uint32_t cap, void **st, cc_err *e)
{
    (void)p;
    (void)e;
    belady *b = calloc(1, sizeof *b);
    cc_slot_heap_init(&b->h, cap);
    *st = b;
    return CC_OK;
}
static void bel_destroy(void *st)
{
    belady *b = st;
    cc_slot_heap_free(&b->h);
    free(b);
}
static void bel_insert(void *st, uint32_t s, const cc_access *a)
{
    cc_slot_heap_set_key(&((belady *)st)->h, s, UINT64_MAX - a->next_use);
}
static void bel_remove(void *st, uint32_t s, uint64_t key, cc_remove_reason why)
{
    (void)why;
    cc_slot_heap_remove(&((belady *)st)->h, s);
}
static void bel_evictable(void *st, uint32_t s, int e)
{
    belady *b = st;
    if (e)
        cc_slot_heap_push(&b->h, s);
    else
        cc_slot_heap_remove(&b->h, s);
}
static uint32_t bel_victim(void *st, const cc_victim_ctx *ctx)
{
    (void)ctx;
    return cc_slot_heap_min(&((belady *)st)->h);
}
static const cc_policy_ops belady_ops = {
    .name = "belady_test",
    .summary = "Belady's MIN (test only)",
    .flags = CC_POLICY_NEEDS_NEXT_USE,
    .bytes_per_slot = 16,
    .create = bel_create,
    .destroy = bel_destroy,
    .on_insert = bel_insert,
    .on_hit = bel_insert, /* re-key with the new next use */
    .on_remove = bel_remove,
    .choose_victim = bel_victim,
    .on_evictable = bel_evictable,
};

static void test_next_use_belady(void **state)
{
    (void)state;
    enum { N = 4000, OBJ = 120, CAP = 20 };
    static uint64_t s[N];
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 9);
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    for (int i = 0; i < N; i++) {
        s[i] = 1 + (uint64_t)(gsl_rng_uniform_int(g, OBJ) * gsl_rng_uniform(g));
        add(&t, i, 4, &s[i], 1);
    }
    gsl_rng_free(g);
    /* brute force: the cached object whose next access is farthest goes */
    uint64_t cache[CAP];
    int n = 0, hits = 0;
    for (int i = 0; i < N; i++) {
        int found = 0;
        for (int c = 0; c < n; c++)
            found |= cache[c] == s[i];
        if (found) {
            hits++;
            continue;
        }
        if (n == CAP) {
            int worst = 0;
            long worst_next = -1;
            for (int c = 0; c < n; c++) {
                long next = N; /* never again: farthest */
                for (int j = i + 1; j < N; j++)
                    if (s[j] == cache[c]) {
                        next = j;
                        break;
                    }
                if (next > worst_next || (next == worst_next && cache[c] < cache[worst])) {
                    worst_next = next;
                    worst = c;
                }
            }
            cache[worst] = s[i];
        } else {
            cache[n++] = s[i];
        }
    }
    cc_pc_config c = one_tier(CC_PC_INDEPENDENT, "lru", CAP);
    c.tiers[0].policy = &belady_ops;
    cc_replay_result r;
    cc_err e = {0};
    assert_int_equal(cc_replay(&t, &c, NULL, &r, &e), CC_OK);
    /* ties among never-again blocks may pick different victims, but every
     * such choice gives the same hit count (none of them is used again) */
    assert_int_equal(r.hit_blocks, hits);
    /* and MIN beats LRU */
    c.tiers[0].policy = cc_policy_find("lru");
    cc_replay_result rl;
    assert_int_equal(cc_replay(&t, &c, NULL, &rl, &e), CC_OK);
    assert_true(r.hit_blocks > rl.hit_blocks);
    cc_trace_free(&t);
}

/* ---- the Mooncake conversation trace against the reference ----------------------------
 * ../shared/reference/mooncake_conversation_libcachesim.csv: libCacheSim's
 * cachesim, each request's hash_ids fed in order as objects of size 1,
 * capacity in blocks, no warm-up.  Miss ratio = misses / block accesses. */
static const struct {
    const char *policy;
    uint64_t capacity;
    double miss_ratio;
} lcs[] = {
    {"lru", 1000, 0.9555},  {"lru", 5000, 0.8896},  {"lru", 10000, 0.7888},
    {"lru", 30000, 0.6743}, {"lru", 50000, 0.6454}, {"fifo", 1000, 0.9565},
    {"fifo", 5000, 0.8933}, {"fifo", 10000, 0.8135}, {"fifo", 30000, 0.6979},
    {"fifo", 50000, 0.6600},
};

static void test_mooncake_vs_libcachesim(void **state)
{
    (void)state;
    const char *path = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read(path, "mooncake", NULL, &t, &e), CC_OK);
    for (size_t i = 0; i < sizeof lcs / sizeof lcs[0]; i++) {
        cc_pc_config c = one_tier(CC_PC_INDEPENDENT, lcs[i].policy, lcs[i].capacity);
        cc_replay_result r;
        assert_int_equal(cc_replay(&t, &c, NULL, &r, &e), CC_OK);
        assert_int_equal(r.block_accesses, 288500);
        double miss = 1.0 - r.block_hit_ratio;
        printf("  %s %6llu: miss ratio %.6f (libCacheSim %.4f)\n", lcs[i].policy,
               (unsigned long long)lcs[i].capacity, miss, lcs[i].miss_ratio);
        /* equal to the 4th decimal */
        if (fabs(miss - lcs[i].miss_ratio) > 0.00005 + 1e-12)
            fail_msg("%s at %llu blocks: miss ratio %.6f, libCacheSim %.4f", lcs[i].policy,
                     (unsigned long long)lcs[i].capacity, miss, lcs[i].miss_ratio);
    }
    /* prefix mode, unbounded: reference 36.64 % of blocks, 37.36 % of tokens */
    cc_pc_config c = one_tier(CC_PC_PREFIX, "lru", 0);
    cc_replay_result r;
    assert_int_equal(cc_replay(&t, &c, NULL, &r, &e), CC_OK);
    printf("  prefix, unbounded: %.6f of blocks, %.6f of tokens\n", r.block_hit_ratio,
           r.token_hit_ratio);
    assert_int_equal(r.capacity_blocks[0], 182790);
    assert_true(fabs(r.block_hit_ratio - 0.3664) <= 0.00005);
    assert_true(fabs(r.token_hit_ratio - 0.3736) <= 0.00005);
    assert_int_equal(r.input_tokens, 144793823);
    /* a finite prefix cache serves less than libCacheSim's block-independent
     * figure would suggest only through the prefix rule; at 50000 blocks
     * prefix LRU cannot beat the unbounded ideal */
    c = one_tier(CC_PC_PREFIX, "lru", 50000);
    cc_replay_result r50;
    assert_int_equal(cc_replay(&t, &c, NULL, &r50, &e), CC_OK);
    assert_true(r50.block_hit_ratio <= r.block_hit_ratio);
    assert_true(r50.block_hit_ratio > 0.30);
    cc_trace_free(&t);
}

/* ---- the command ----------------------------------------------------------------------- */
static const char mini_jsonl[] =
    "{\"timestamp\": 0, \"input_length\": 1100, \"output_length\": 5, \"hash_ids\": [1, 2, 3]}\n"
    "{\"timestamp\": 10, \"input_length\": 1200, \"output_length\": 5, \"hash_ids\": [1, 2, 4]}\n"
    "{\"timestamp\": 20, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [7, 8]}\n"
    "{\"timestamp\": 30, \"input_length\": 1100, \"output_length\": 5, \"hash_ids\": [1, 2, 3]}\n";

static void test_cli(void **state)
{
    (void)state;
    char path[600], cmd[2048];
    tu_write_tmp(path, sizeof path, "replay_mini.jsonl", mini_jsonl, sizeof mini_jsonl - 1);
    char *out;
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks inf --json", tu_bin(), path);
    assert_int_equal(tu_run(cmd, &out), 0);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    if (!o)
        fail_msg("not JSON: %s\n%s", je.text, out);
    /* hits: r1 1,2 (1024 tok), r3 1,2,3 (1100 tok) -> 5/11 blocks, 2124/4000 tokens */
    assert_float_equal(json_real_value(json_object_get(o, "block_hit_ratio")), 5.0 / 11, 1e-9);
    assert_float_equal(json_real_value(json_object_get(o, "token_hit_ratio")), 2124.0 / 4000,
                       1e-9);
    assert_float_equal(json_real_value(json_object_get(o, "request_hit_ratio_mean")),
                       (1024.0 / 1200 + 1.0) / 4, 1e-9);
    assert_float_equal(json_real_value(json_object_get(o, "ideal_block_hit_ratio")), 5.0 / 11,
                       1e-9);
    const char *keys[] = {"evictions", "bytes_moved", "elapsed_s", "block_lookups_per_s",
                          "ideal_token_hit_ratio", "metadata_bytes_per_block"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!json_object_get(o, keys[i]))
            fail_msg("JSON lacks %s", keys[i]);
    json_t *tiers = json_object_get(o, "tiers");
    assert_int_equal(json_array_size(tiers), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(tiers, 0), "hit_blocks")), 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tiers, 0), "policy")), "lru");
    json_decref(o);
    free(out);

    /* two tiers with bytes: 512 tokens * 1000 bytes = 512000 per block; hbm
     * 1 MB = 1 block, dram 2 blocks; fifo on dram */
    snprintf(cmd, sizeof cmd,
             "%s replay %s --tiers hbm:1MB,dram:2:policy=fifo --model-kv-bytes-per-token 1000 "
             "--concurrency none --json", tu_bin(), path);
    assert_int_equal(tu_run(cmd, &out), 0);
    o = json_loads(out, 0, &je);
    assert_non_null(o);
    tiers = json_object_get(o, "tiers");
    assert_int_equal(json_array_size(tiers), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(tiers, 0), "capacity_blocks")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(tiers, 1), "policy")), "fifo");
    json_int_t moved = json_integer_value(json_object_get(o, "blocks_moved"));
    assert_true(moved > 0);
    assert_int_equal(json_integer_value(json_object_get(o, "bytes_moved")), moved * 512000);
    json_decref(o);
    free(out);

    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 2 --mode independent --policy fifo",
             tu_bin(), path);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "hit ratio"));
    assert_non_null(strstr(out, "independent mode"));
    free(out);

    static const struct {
        const char *args;
        int status;
        const char *needle;
    } bad[] = {
        {"", 2, "give the cache size"},
        {"--capacity-blocks 5 --tiers hbm:5", 2, "give the cache size"},
        {"--capacity-blocks 0", 2, "at least 1"},
        {"--capacity-blocks lots", 2, "--capacity-blocks"},
        {"--capacity-blocks 5 --mode sideways", 2, "--mode"},
        {"--capacity-blocks 5 --policy nope", 2, "unknown policy"},
        {"--tiers hbm:1GiB", 2, "--model-kv-bytes-per-token"},
        {"--tiers hbm:5:speed=1", 2, "unknown key"},
        {"--capacity-blocks 5 --concurrency full", 2, "expected none, immediate"},
        {"--capacity-blocks 5 --block-size 16", 2, "block_size"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s replay %s %s", tu_bin(), path, bad[i].args);
        int st = tu_run(cmd, &out);
        if (st != bad[i].status || !strstr(out, bad[i].needle))
            fail_msg("'%s': status %d (want %d), output:\n%s", bad[i].args, st, bad[i].status,
                     out);
        free(out);
    }
    snprintf(cmd, sizeof cmd, "%s replay /nonexistent/x.jsonl --capacity-blocks 5", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 1);
    snprintf(cmd, sizeof cmd, "%s replay --help", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "fifo"));
    assert_non_null(strstr(out, "examples:"));
    free(out);
    remove(path);
}

/* The memory bound (core/replay.h): the trace and the replay's per-request
 * state together.  The hand trace takes 4 x 65 bytes of columns + 12 block
 * hashes x 8 = 356 bytes; records take a cc_replay_record (hand count of
 * its layout: u64 request, nine u32, four bytes of padding, five int64,
 * five u32, four bytes of padding: 112) and a u32 per tier, 116 bytes a
 * request with one tier.  Exactly that fits; a byte less is CC_ENOMEM
 * before anything is allocated. */
static void test_memory_bound(void **state)
{
    (void)state;
    assert_int_equal(sizeof(cc_replay_record), 112);
    cc_trace t;
    hand_trace(&t);
    cc_pc_config cfg = one_tier(CC_PC_PREFIX, "lru", 3);
    cc_replay_opts o = {0};
    cc_replay_result res;
    cc_err e = {0};
    o.max_bytes = 356;
    assert_int_equal(cc_replay(&t, &cfg, &o, &res, &e), CC_OK);
    cc_replay_result_free(&res);
    o.max_bytes = 355;
    assert_int_equal(cc_replay(&t, &cfg, &o, &res, &e), CC_ENOMEM);
    o.keep_records = true;
    o.max_bytes = 356 + 4 * 116;
    assert_int_equal(cc_replay(&t, &cfg, &o, &res, &e), CC_OK);
    assert_non_null(res.records);
    cc_replay_result_free(&res);
    o.max_bytes = 356 + 4 * 116 - 1;
    assert_int_equal(cc_replay(&t, &cfg, &o, &res, &e), CC_ENOMEM);
    assert_string_equal(e.field, "requests");
    assert_non_null(strstr(e.msg, "116 bytes a request"));
    assert_non_null(strstr(e.msg, "CTXCACHE_MAX_MEMORY"));
    cc_trace_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_by_hand),
        cmocka_unit_test(test_infinite_equals_ideal),
        cmocka_unit_test(test_tier_totals),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_next_use_belady),
        cmocka_unit_test(test_mooncake_vs_libcachesim),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_memory_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
