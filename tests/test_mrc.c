/* test_mrc.c -- miss-ratio curves (core/mrc.h) against independent sources:
 * brute-force LRU twins written here (O(capacity) lists; the prefix one with
 * explicit pins, leaf-only eviction and the leading-run rule), libCacheSim's
 * figures in shared/reference, cc_replay (the prefix cache of core/), the
 * trace statistics' ideal ratios, and hand-worked cases -- including the two
 * places where a simpler construction of the prefix-mode curve fails.
 * SHARDS: error against the exact curve on a GSL Zipf stream, determinism,
 * R = 1 equal to exact.  The per-capacity sweep for any policy: equal to
 * cc_replay run alone, whatever the number of threads. */
#include "testutil.h"
#include "core/mrc.h"
#include "core/replay.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* ---- building traces ------------------------------------------------------ */
static void add(cc_trace *t, const uint64_t *b, uint32_t n, uint32_t input)
{
    cc_request r;
    memset(&r, 0, sizeof r);
    r.arrival_ns = (int64_t)t->n * 1000;
    r.session_id = t->n;
    r.input_tokens = input;
    r.output_tokens = 1;
    r.group_id = CC_NO_GROUP;
    r.n_blocks = n;
    r.blocks = b;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void new_trace(cc_trace *t, uint32_t bs)
{
    cc_trace_init(t);
    t->block_size = bs;
    t->timed = true;
}

/* Requests given as 0-terminated lists of small ids, every block full. */
static void trace_of(cc_trace *t, const uint64_t *const *reqs, size_t n, uint32_t bs)
{
    new_trace(t, bs);
    for (size_t i = 0; i < n; i++) {
        uint32_t k = 0;
        while (reqs[i][k])
            k++;
        add(t, reqs[i], k, k * bs);
    }
}

/* A random prefix-consistent (tree-shaped) trace: a request repeats a prefix
 * of an earlier one (often a recent one) and adds new blocks; the last block
 * is partial.  Block ids are unique per tree node, so every block always
 * follows the same block. */
static void gen_tree_trace(cc_trace *t, gsl_rng *g, size_t n_req, uint32_t max_new, uint32_t bs)
{
    new_trace(t, bs);
    uint64_t next_id = 1;
    uint64_t *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < n_req; i++) {
        uint32_t n = 0;
        if (i > 0 && gsl_rng_uniform(g) < 0.8) {
            size_t k = gsl_rng_uniform(g) < 0.5 ? i - 1 - gsl_rng_uniform_int(g, i < 20 ? i : 20)
                                                : gsl_rng_uniform_int(g, i);
            cc_request r = cc_trace_get(t, k);
            n = (uint32_t)gsl_rng_uniform_int(g, r.n_blocks + 1);
            assert_int_equal(cc_grow((void **)&buf, &cap, n + max_new + 1, sizeof *buf), CC_OK);
            memcpy(buf, r.blocks, n * sizeof *buf);
        }
        uint32_t m = (uint32_t)gsl_rng_uniform_int(g, max_new + 1);
        if (n + m == 0)
            m = 1;
        assert_int_equal(cc_grow((void **)&buf, &cap, n + m, sizeof *buf), CC_OK);
        for (uint32_t j = 0; j < m; j++)
            buf[n + j] = (next_id++) * UINT64_C(0x9e3779b97f4a7c15);
        n += m;
        add(t, buf, n, n * bs - (uint32_t)gsl_rng_uniform_int(g, bs));
    }
    free(buf);
}

/* ---- brute-force twins --------------------------------------------------------- */
typedef struct bf_result {
    uint64_t hits, hit_tokens, accesses, tokens;
} bf_result;

/* Plain LRU, every block access independent, in chain order (libCacheSim's
 * model): a recency-ordered array, most recent first. */
static bf_result bf_lru_independent(const cc_trace *t, uint64_t cap, bool reverse_chains)
{
    bf_result res = {0};
    uint64_t *list = malloc((cap + 1) * sizeof *list);
    size_t used = 0;
    for (size_t i = 0; i < t->n; i++) {
        cc_request r = cc_trace_get(t, i);
        for (uint32_t jj = 0; jj < r.n_blocks; jj++) {
            uint32_t j = reverse_chains ? r.n_blocks - 1 - jj : jj;
            uint32_t tok = cc_pc_block_tokens(r.input_tokens, t->block_size, j);
            res.accesses++;
            res.tokens += tok;
            size_t k = 0;
            while (k < used && list[k] != r.blocks[j])
                k++;
            if (k < used) {
                res.hits++;
                res.hit_tokens += tok;
            } else if (used < cap) {
                k = used++;
            } else {
                k = used - 1; /* the least recent leaves */
            }
            memmove(list + 1, list, k * sizeof *list);
            list[0] = r.blocks[j];
        }
    }
    free(list);
    return res;
}

/* Prefix-mode LRU exactly as defined: requests one at a time; the hit is the
 * leading run of cached blocks; those are pinned, then the missing blocks
 * are inserted in chain order (pinned, parent = the block before), each
 * evicting the least recently used unpinned block that no cached block has
 * as parent; a block that finds no such victim is not cached, nor the rest
 * of its chain.  Recency = index of the last request that used a block (all
 * blocks of a request are used at once; ties cannot matter among leaves of a
 * tree-shaped trace -- a chain has one leaf -- and go to the oldest entry). */
typedef struct bf_entry {
    uint64_t key, parent;
    bool has_parent, pinned;
    uint32_t kids; /* cached entries whose parent this is */
    uint64_t last;
} bf_entry;

static long bf_find(const bf_entry *c, size_t used, uint64_t key)
{
    for (size_t k = 0; k < used; k++)
        if (c[k].key == key)
            return (long)k;
    return -1;
}

static bf_result bf_lru_prefix(const cc_trace *t, uint64_t cap)
{
    bf_result res = {0};
    bf_entry *c = calloc(cap, sizeof *c);
    size_t used = 0;
    for (size_t i = 0; i < t->n; i++) {
        cc_request r = cc_trace_get(t, i);
        uint32_t h = 0;
        while (h < r.n_blocks && bf_find(c, used, r.blocks[h]) >= 0)
            h++;
        for (uint32_t j = 0; j < r.n_blocks; j++) {
            uint32_t tok = cc_pc_block_tokens(r.input_tokens, t->block_size, j);
            res.accesses++;
            res.tokens += tok;
            if (j < h) {
                res.hits++;
                res.hit_tokens += tok;
            }
        }
        for (uint32_t j = 0; j < h; j++) {
            long k = bf_find(c, used, r.blocks[j]);
            c[k].pinned = true;
            c[k].last = i;
        }
        for (uint32_t j = h; j < r.n_blocks; j++) {
            long k = bf_find(c, used, r.blocks[j]);
            if (k >= 0) { /* stored earlier in this very request */
                c[k].pinned = true;
                c[k].last = i;
                continue;
            }
            if (used == cap) {
                long victim = -1;
                for (size_t v = 0; v < used; v++)
                    if (!c[v].pinned && c[v].kids == 0 &&
                        (victim < 0 || c[v].last < c[victim].last))
                        victim = (long)v;
                if (victim < 0)
                    break; /* everything is pinned or has children: no room */
                if (c[victim].has_parent)
                    c[bf_find(c, used, c[victim].parent)].kids--;
                memmove(c + victim, c + victim + 1, (used - victim - 1) * sizeof *c);
                used--;
            }
            c[used] = (bf_entry){.key = r.blocks[j], .parent = j ? r.blocks[j - 1] : 0,
                                 .has_parent = j > 0, .pinned = true, .last = i};
            if (j) /* the parent is cached: it was served or stored just before */
                c[bf_find(c, used, r.blocks[j - 1])].kids++;
            used++;
        }
        for (size_t k = 0; k < used; k++)
            c[k].pinned = false;
    }
    free(c);
    return res;
}

static void mrc_of(const cc_trace *t, cc_pc_mode mode, cc_mrc *m)
{
    cc_mrc_opts o = {.mode = mode, .method = CC_MRC_EXACT};
    cc_err e = {0};
    int rc = cc_mrc_trace(t, &o, m, &e);
    if (rc)
        cc_err_print(&e, stderr);
    assert_int_equal(rc, CC_OK);
}

static uint64_t hits_at(const cc_mrc *m, uint64_t c)
{
    return (uint64_t)m->hits[c < m->n_bins ? c : m->n_bins - 1];
}

static uint64_t hit_tokens_at(const cc_mrc *m, uint64_t c)
{
    return (uint64_t)m->hit_tokens[c < m->n_bins ? c : m->n_bins - 1];
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

static cc_replay_result replay(const cc_trace *t, cc_pc_mode mode, const char *policy,
                               uint64_t cap)
{
    cc_pc_config c = one_tier(mode, policy, cap);
    cc_replay_result r;
    cc_err e = {0};
    assert_int_equal(cc_replay(t, &c, NULL, &r, &e), CC_OK);
    return r;
}

/* 1..32, then steps of 25 % up to beyond the distinct blocks */
static size_t test_caps(uint64_t distinct, uint64_t *caps, size_t max)
{
    size_t n = 0;
    for (uint64_t c = 1; c <= 32 && n < max; c++)
        caps[n++] = c;
    for (uint64_t c = 40; n < max; c = c + c / 4) {
        caps[n++] = c;
        if (c > distinct)
            break;
    }
    return n;
}

/* ---- hand-worked cases ------------------------------------------------------------ */

/* Stream a b c a b d a (one block per request, independent = prefix):
 * distances inf inf inf 3 3 inf 3 -> hits at c=1,2: 0; c>=3: 3 of 7. */
static void test_hand_stream(void **state)
{
    (void)state;
    const uint64_t s[] = {1, 2, 3, 1, 2, 4, 1};
    cc_mrc m;
    cc_mrc_opts o = {.mode = CC_PC_INDEPENDENT};
    assert_int_equal(cc_mrc_keys(s, 7, &o, &m, NULL), CC_OK);
    assert_int_equal(m.accesses, 7);
    assert_float_equal(cc_mrc_miss_ratio(&m, 0), 1.0, 0);
    assert_float_equal(cc_mrc_miss_ratio(&m, 2), 1.0, 0);
    assert_float_equal(cc_mrc_miss_ratio(&m, 3), 4.0 / 7, 1e-15);
    assert_float_equal(cc_mrc_miss_ratio(&m, 1000), 4.0 / 7, 1e-15);
    assert_float_equal(cc_mrc_token_hit_ratio(&m, 3), 3.0 / 7, 1e-15);
    assert_float_equal(m.distinct_estimate, 4, 0);
    cc_mrc_free(&m);
    /* an empty stream: nothing hits */
    assert_int_equal(cc_mrc_keys(s, 0, &o, &m, NULL), CC_OK);
    assert_float_equal(cc_mrc_miss_ratio(&m, 10), 1.0, 0);
    cc_mrc_free(&m);
}

/* The simple construction (plain LRU over each request's blocks reversed)
 * is not the prefix cache: requests [a] [e f] [a c d] at 3 blocks.  The
 * prefix cache looks a up before storing c and d: a is 3rd most recent, a
 * hit; c and d then evict f and e (the only unpinned leaves).  Plain LRU
 * over a | f e | d c a stores d first, which evicts a: a miss. */
static void test_reversed_sequence_is_not_prefix_lru(void **state)
{
    (void)state;
    const uint64_t r0[] = {1, 0}, r1[] = {5, 6, 0}, r2[] = {1, 3, 4, 0};
    const uint64_t *reqs[] = {r0, r1, r2};
    cc_trace t;
    trace_of(&t, reqs, 3, 10);
    bf_result bp = bf_lru_prefix(&t, 3), bn = bf_lru_independent(&t, 3, true);
    assert_int_equal(bp.hits, 1);
    assert_int_equal(bn.hits, 0);
    cc_mrc m;
    mrc_of(&t, CC_PC_PREFIX, &m);
    assert_int_equal(m.inconsistent_accesses, 0);
    assert_int_equal(hits_at(&m, 3), 1);
    assert_int_equal(hits_at(&m, 2), 0); /* a is 3rd: no room for it at 2 */
    cc_replay_result r = replay(&t, CC_PC_PREFIX, "lru", 3);
    assert_int_equal(r.hit_blocks, 1);
    cc_mrc_free(&m);
    cc_trace_free(&t);
}

/* Where the stack construction stops being exact: a block seen after two
 * different blocks.  [p z] [q z] [r] [p] at 3 blocks: the cache keeps z as
 * p's child, so p (older than z) is not a leaf and r evicts z instead; p
 * then hits.  The stack puts p at the bottom (depth 4): a miss.  The pass
 * flags the one inconsistent access (z after q). */
static void test_inconsistent_trace_is_flagged(void **state)
{
    (void)state;
    const uint64_t r0[] = {1, 9, 0}, r1[] = {2, 9, 0}, r2[] = {3, 0}, r3[] = {1, 0};
    const uint64_t *reqs[] = {r0, r1, r2, r3};
    cc_trace t;
    trace_of(&t, reqs, 4, 10);
    cc_mrc m;
    mrc_of(&t, CC_PC_PREFIX, &m);
    assert_int_equal(m.inconsistent_accesses, 1);
    assert_int_equal(bf_lru_prefix(&t, 3).hits, 1);
    assert_int_equal(hits_at(&m, 3), 0);
    assert_int_equal(hits_at(&m, 4), 1);
    cc_replay_result r = replay(&t, CC_PC_PREFIX, "lru", 3);
    printf("  inconsistent trace at 3 blocks: brute force 1 hit, stack 0, cc_replay %llu\n",
           (unsigned long long)r.hit_blocks);
    cc_mrc_free(&m);
    /* a block first seen as a first block, later after another: flagged too */
    const uint64_t s0[] = {7, 0}, s1[] = {8, 7, 0};
    const uint64_t *reqs2[] = {s0, s1};
    cc_trace t2;
    trace_of(&t2, reqs2, 2, 10);
    mrc_of(&t2, CC_PC_PREFIX, &m);
    assert_int_equal(m.inconsistent_accesses, 1);
    cc_mrc_free(&m);
    cc_trace_free(&t2);
    cc_trace_free(&t);
}

/* A request longer than the cache: the cache keeps its first c blocks. */
static void test_request_longer_than_cache(void **state)
{
    (void)state;
    const uint64_t r0[] = {1, 2, 3, 4, 5, 0}, r1[] = {1, 2, 3, 4, 5, 0};
    const uint64_t *reqs[] = {r0, r1};
    cc_trace t;
    trace_of(&t, reqs, 2, 4);
    cc_mrc m;
    mrc_of(&t, CC_PC_PREFIX, &m);
    for (uint64_t c = 1; c <= 6; c++) {
        uint64_t want = c < 5 ? c : 5;
        assert_int_equal(hits_at(&m, c), want);
        assert_int_equal(bf_lru_prefix(&t, c).hits, want);
        assert_int_equal(replay(&t, CC_PC_PREFIX, "lru", c).hit_blocks, want);
    }
    cc_mrc_free(&m);
    cc_trace_free(&t);
}

/* ---- brute force on random traces ------------------------------------------------------ */

static void test_independent_vs_brute_force(void **state)
{
    (void)state;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    for (int trial = 0; trial < 6; trial++) {
        gsl_rng_set(g, 11 + trial);
        cc_trace t;
        new_trace(&t, 8);
        uint64_t universe = trial < 3 ? 50 : 3000;
        uint64_t b[16];
        for (int i = 0; i < 2500; i++) {
            uint32_t n = 1 + (uint32_t)gsl_rng_uniform_int(g, 16);
            for (uint32_t j = 0; j < n; j++) { /* skewed: a hot tenth */
                uint64_t u = gsl_rng_uniform(g) < 0.5 ? universe / 10 + 1 : universe;
                b[j] = gsl_rng_uniform_int(g, u) + (uint64_t)trial * 100000; /* repeats happen */
            }
            add(&t, b, n, n * 8 - (uint32_t)gsl_rng_uniform_int(g, 8));
        }
        cc_mrc m;
        mrc_of(&t, CC_PC_INDEPENDENT, &m);
        uint64_t caps[80];
        size_t nc = test_caps(universe, caps, 80);
        for (size_t k = 0; k < nc; k++) {
            bf_result bf = bf_lru_independent(&t, caps[k], false);
            assert_int_equal(m.accesses, bf.accesses);
            assert_int_equal(m.tokens, bf.tokens);
            if (hits_at(&m, caps[k]) != bf.hits || hit_tokens_at(&m, caps[k]) != bf.hit_tokens)
                fail_msg("trial %d, capacity %llu: stack %llu hits (%llu tokens), brute force "
                         "%llu (%llu)", trial, (unsigned long long)caps[k],
                         (unsigned long long)hits_at(&m, caps[k]),
                         (unsigned long long)hit_tokens_at(&m, caps[k]),
                         (unsigned long long)bf.hits, (unsigned long long)bf.hit_tokens);
            assert_float_equal(cc_mrc_miss_ratio(&m, caps[k]),
                               1.0 - (double)bf.hits / bf.accesses, 1e-12);
            assert_float_equal(cc_mrc_token_hit_ratio(&m, caps[k]),
                               (double)bf.hit_tokens / bf.tokens, 1e-12);
        }
        cc_mrc_free(&m);
        cc_trace_free(&t);
    }
    gsl_rng_free(g);
}

/* The claim of mrc.h: on prefix-consistent traces the stack curve is the
 * prefix LRU cache's at every capacity -- brute force and cc_replay agree
 * on hit blocks and hit tokens, small caches (shorter than requests)
 * included.  The reversed-sequence construction is counted alongside. */
static void test_prefix_vs_brute_force(void **state)
{
    (void)state;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    size_t naive_wrong = 0, checked = 0;
    for (int trial = 0; trial < 6; trial++) {
        gsl_rng_set(g, 500 + trial);
        cc_trace t;
        gen_tree_trace(&t, g, 300 + 100 * trial, trial % 2 ? 6 : 14, 16);
        cc_err e = {0};
        assert_int_equal(cc_trace_validate(&t, "tree", &e), CC_OK);
        cc_mrc m;
        mrc_of(&t, CC_PC_PREFIX, &m);
        assert_int_equal(m.inconsistent_accesses, 0);
        cc_trace_stats s;
        assert_int_equal(cc_trace_compute_stats(&t, &s, &e), CC_OK);
        assert_float_equal(m.distinct_estimate, (double)s.distinct_blocks, 0);
        uint64_t caps[80];
        size_t nc = test_caps(s.distinct_blocks, caps, 80);
        for (size_t k = 0; k < nc; k++) {
            uint64_t c = caps[k];
            bf_result bf = bf_lru_prefix(&t, c);
            cc_replay_result r = replay(&t, CC_PC_PREFIX, "lru", c);
            if (hits_at(&m, c) != bf.hits || hit_tokens_at(&m, c) != bf.hit_tokens ||
                r.hit_blocks != bf.hits || r.hit_tokens != bf.hit_tokens)
                fail_msg("trial %d, capacity %llu: stack %llu hits (%llu tokens), brute force "
                         "%llu (%llu), cc_replay %llu (%llu)", trial, (unsigned long long)c,
                         (unsigned long long)hits_at(&m, c),
                         (unsigned long long)hit_tokens_at(&m, c), (unsigned long long)bf.hits,
                         (unsigned long long)bf.hit_tokens, (unsigned long long)r.hit_blocks,
                         (unsigned long long)r.hit_tokens);
            assert_float_equal(cc_mrc_miss_ratio(&m, c), 1.0 - r.block_hit_ratio, 1e-12);
            assert_float_equal(cc_mrc_token_hit_ratio(&m, c), r.token_hit_ratio, 1e-12);
            naive_wrong += bf_lru_independent(&t, c, true).hits != bf.hits;
            checked++;
        }
        /* unbounded: the trace's ideal ratios */
        assert_float_equal(cc_mrc_miss_ratio(&m, UINT64_MAX), 1 - s.ideal_block_hit_ratio, 1e-12);
        assert_float_equal(cc_mrc_token_hit_ratio(&m, UINT64_MAX), s.ideal_token_hit_ratio,
                           1e-12);
        cc_mrc_free(&m);
        cc_trace_free(&t);
    }
    printf("  %zu capacities agree; plain LRU on reversed chains differs at %zu of them\n",
           checked, naive_wrong);
    assert_true(naive_wrong > 0);
    gsl_rng_free(g);
}

/* ---- the real trace ---------------------------------------------------------------- */

static const char *reference_csv(char *buf, size_t len)
{
    snprintf(buf, len, "%s/../reference/mooncake_conversation_libcachesim.csv", tu_data_dir());
    return buf;
}

/* libCacheSim's LRU in independent-block mode, every LRU row of the file,
 * to the 4th decimal; and prefix mode against cc_replay at the same sizes
 * and the brute force at a small one. */
static void test_mooncake(void **state)
{
    (void)state;
    const char *path = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    char ref[1200];
    reference_csv(ref, sizeof ref);
    FILE *f = fopen(ref, "r");
    if (!f) {
        printf("skipped: %s absent\n", ref);
        skip();
    }
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read(path, "mooncake", NULL, &t, &e), CC_OK);
    cc_mrc ind, pre;
    mrc_of(&t, CC_PC_INDEPENDENT, &ind);
    mrc_of(&t, CC_PC_PREFIX, &pre);
    assert_int_equal(ind.accesses, 288500);
    assert_float_equal(ind.distinct_estimate, 182790, 0);
    assert_int_equal(pre.inconsistent_accesses, 0);

    char line[256];
    int rows = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char policy[32];
        unsigned long long cap;
        double want;
        assert_int_equal(sscanf(line, "%31[^,],%llu,%lf", policy, &cap, &want), 3);
        if (strcmp(policy, "lru"))
            continue;
        double got = cc_mrc_miss_ratio(&ind, cap);
        printf("  lru %6llu: independent %.6f (libCacheSim %.4f), prefix %.6f\n", cap, got, want,
               cc_mrc_miss_ratio(&pre, cap));
        if (fabs(got - want) > 0.00005 + 1e-12)
            fail_msg("lru at %llu blocks: miss ratio %.6f, libCacheSim %.4f", cap, got, want);
        cc_replay_result r = replay(&t, CC_PC_PREFIX, "lru", cap);
        assert_int_equal(hits_at(&pre, cap), r.hit_blocks);
        assert_int_equal(hit_tokens_at(&pre, cap), r.hit_tokens);
        r = replay(&t, CC_PC_INDEPENDENT, "lru", cap);
        assert_int_equal(hits_at(&ind, cap), r.hit_blocks);
        rows++;
    }
    fclose(f);
    assert_int_equal(rows, 5);
    /* brute force (O(capacity) per access) at two small sizes */
    for (uint64_t c = 300; c <= 1200; c *= 4) {
        bf_result bf = bf_lru_prefix(&t, c);
        printf("  prefix lru %llu: stack %llu hits, brute force %llu\n", (unsigned long long)c,
               (unsigned long long)hits_at(&pre, c), (unsigned long long)bf.hits);
        assert_int_equal(hits_at(&pre, c), bf.hits);
        assert_int_equal(hit_tokens_at(&pre, c), bf.hit_tokens);
    }
    /* unbounded prefix cache: 36.64 % of blocks, 37.36 % of tokens */
    assert_float_equal(1 - cc_mrc_miss_ratio(&pre, UINT64_MAX), 0.3664, 0.00005);
    assert_float_equal(cc_mrc_token_hit_ratio(&pre, UINT64_MAX), 0.3736, 0.00005);
    cc_mrc_free(&ind);
    cc_mrc_free(&pre);
    cc_trace_free(&t);
}

/* ---- SHARDS -------------------------------------------------------------------------- */

/* n accesses, Zipf(alpha) over m keys (rank k with weight k^-alpha, GSL's
 * Walker tables), keys spread over 64 bits. */
static uint64_t *zipf_stream(size_t n, size_t m, double alpha, unsigned long seed)
{
    double *p = malloc(m * sizeof *p);
    for (size_t k = 0; k < m; k++)
        p[k] = pow((double)(k + 1), -alpha);
    gsl_ran_discrete_t *d = gsl_ran_discrete_preproc(m, p);
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, seed);
    uint64_t *s = malloc(n * sizeof *s);
    for (size_t i = 0; i < n; i++)
        s[i] = ((uint64_t)gsl_ran_discrete(g, d) + 1) * UINT64_C(0xd6e8feb86659fd93);
    gsl_rng_free(g);
    gsl_ran_discrete_free(d);
    free(p);
    return s;
}

/* Mean and max absolute miss-ratio difference over sizes log-spaced (8 per
 * octave) from lo to hi. */
static void curve_error(const cc_mrc *a, const cc_mrc *b, uint64_t lo, uint64_t hi, double *mae,
                        double *max)
{
    double sum = 0;
    int n = 0;
    *max = 0;
    for (double c = lo; c <= hi; c *= pow(2, 0.125), n++) {
        double d = fabs(cc_mrc_miss_ratio(a, (uint64_t)c) - cc_mrc_miss_ratio(b, (uint64_t)c));
        sum += d;
        if (d > *max)
            *max = d;
    }
    *mae = sum / n;
}

/* SHARDS against the exact curve on Zipf(0.9): 4M accesses over 1M keys
 * (~10,000 sampled keys at R = 0.01).  Its error comes from which hot keys
 * land in the sample, so it is judged over 8 seeds: mean absolute error of
 * the miss ratio over sizes 1000 (10 sampled blocks) .. 1M, 8 per octave. */
static void test_shards_zipf(void **state)
{
    (void)state;
    enum { N = 4000000, M = 1000000, SEEDS = 8 };
    uint64_t *s = zipf_stream(N, M, 0.9, 7);
    cc_mrc ex;
    cc_mrc_opts o = {.method = CC_MRC_EXACT};
    assert_int_equal(cc_mrc_keys(s, N, &o, &ex, NULL), CC_OK);
    const struct {
        const char *name;
        double rate;
        uint64_t max_samples;
        bool no_adjust;
        double mean_bound, each_bound; /* NAN: printed only */
    } v[] = {
        {"R=0.01", 0.01, 0, false, 0.015, 0.03},
        {"fixed size 16384", 0, 16384, false, 0.015, 0.03},
        {"R=0.01 without adj", 0.01, 0, true, NAN, NAN},
    };
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++) {
        double sum = 0, worst = 0, worst_max = 0, rate = 0;
        for (int seed = 1; seed <= SEEDS; seed++) {
            cc_mrc sh, again;
            o = (cc_mrc_opts){.method = CC_MRC_SHARDS, .sample_rate = v[k].rate,
                              .max_samples = v[k].max_samples, .seed = (uint64_t)seed,
                              .no_adjust = v[k].no_adjust};
            assert_int_equal(cc_mrc_keys(s, N, &o, &sh, NULL), CC_OK);
            assert_int_equal(sh.opts.seed, (uint64_t)seed);
            if (seed == 1) { /* deterministic */
                assert_int_equal(cc_mrc_keys(s, N, &o, &again, NULL), CC_OK);
                assert_int_equal(sh.n_bins, again.n_bins);
                assert_memory_equal(sh.hits, again.hits, sh.n_bins * sizeof *sh.hits);
                cc_mrc_free(&again);
            }
            if (v[k].max_samples)
                assert_true(sh.sampled_blocks <= v[k].max_samples);
            else
                assert_true(sh.sampled_accesses > N * v[k].rate / 2 &&
                            sh.sampled_accesses < N * v[k].rate * 2);
            if (!v[k].no_adjust) /* SHARDS_adj: the expected totals */
                assert_float_equal(sh.total, N, 1e-6 * N);
            assert_float_equal(sh.distinct_estimate / ex.distinct_estimate, 1, 0.15);
            double mae, mx;
            curve_error(&ex, &sh, 1000, M, &mae, &mx);
            sum += mae;
            worst = mae > worst ? mae : worst;
            worst_max = mx > worst_max ? mx : worst_max;
            rate += sh.final_rate / SEEDS;
            if (!isnan(v[k].each_bound) && mae >= v[k].each_bound)
                fail_msg("%s, seed %d: MAE %.5f", v[k].name, seed, mae);
            cc_mrc_free(&sh);
        }
        printf("  Zipf(0.9) %d accesses over %d keys, SHARDS %s (mean final R %.4f): MAE mean "
               "%.5f, worst %.5f over %d seeds; worst max abs error %.5f\n",
               N, M, v[k].name, rate, sum / SEEDS, worst, SEEDS, worst_max);
        if (!isnan(v[k].mean_bound) && sum / SEEDS >= v[k].mean_bound)
            fail_msg("%s: mean MAE %.5f", v[k].name, sum / SEEDS);
    }
    /* R = 1 is the exact curve */
    cc_mrc one;
    o = (cc_mrc_opts){.method = CC_MRC_SHARDS, .sample_rate = 1, .seed = 1};
    assert_int_equal(cc_mrc_keys(s, N, &o, &one, NULL), CC_OK);
    assert_int_equal(one.n_bins, ex.n_bins);
    assert_memory_equal(one.hits, ex.hits, ex.n_bins * sizeof *ex.hits);
    cc_mrc_free(&one);
    cc_mrc_free(&ex);
    free(s);
}

/* SHARDS in prefix mode on a tree trace: R = 1 is the exact curve. */
static void test_shards_prefix_rate_one(void **state)
{
    (void)state;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 3);
    cc_trace t;
    gen_tree_trace(&t, g, 2000, 10, 16);
    cc_mrc ex, sh;
    mrc_of(&t, CC_PC_PREFIX, &ex);
    cc_mrc_opts o = {.mode = CC_PC_PREFIX, .method = CC_MRC_SHARDS, .sample_rate = 1, .seed = 5};
    cc_err e = {0};
    assert_int_equal(cc_mrc_trace(&t, &o, &sh, &e), CC_OK);
    assert_int_equal(sh.n_bins, ex.n_bins);
    assert_memory_equal(sh.hits, ex.hits, ex.n_bins * sizeof *ex.hits);
    assert_memory_equal(sh.hit_tokens, ex.hit_tokens, ex.n_bins * sizeof *ex.hit_tokens);
    cc_mrc_free(&sh);
    o.sample_rate = 0.1;
    assert_int_equal(cc_mrc_trace(&t, &o, &sh, &e), CC_OK);
    assert_true(sh.sampled_accesses > 0 && sh.sampled_accesses < sh.accesses);
    assert_float_equal(sh.total, (double)ex.accesses, 1e-6);
    assert_float_equal(sh.total_tokens, (double)ex.tokens, 1e-6);
    cc_mrc_free(&sh);
    cc_mrc_free(&ex);
    cc_trace_free(&t);
    gsl_rng_free(g);
}

static void test_bad_options(void **state)
{
    (void)state;
    const uint64_t s[] = {1, 2};
    const double bad[] = {0, -0.5, 1.5, NAN};
    cc_mrc m;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cc_mrc_opts o = {.method = CC_MRC_SHARDS, .sample_rate = bad[i]};
        cc_err e = {0};
        assert_int_equal(cc_mrc_keys(s, 2, &o, &m, &e), CC_EARG);
        assert_string_equal(e.field, "sample_rate");
        assert_null(m.hits);
    }
    cc_mrc_opts o = {.mode = 7};
    cc_err e = {0};
    assert_int_equal(cc_mrc_keys(s, 2, &o, &m, &e), CC_EARG);
    assert_string_equal(e.field, "mode");
    cc_trace t;
    new_trace(&t, 0); /* no hash chains */
    add(&t, NULL, 0, 10);
    o = (cc_mrc_opts){0};
    assert_int_equal(cc_mrc_trace(&t, &o, &m, &e), CC_EUNSUP);
    assert_string_equal(e.field, "blocks");
    cc_trace_free(&t);
}

static void test_auto_sizes(void **state)
{
    (void)state;
    uint64_t out[64];
    /* 100 * 2^(-k/2), k = 4..0: 25, 35.36, 50, 70.71, 100 */
    assert_int_equal(cc_mrc_auto_sizes(100, 2, out, 64), 5);
    const uint64_t want[] = {25, 35, 50, 71, 100};
    assert_memory_equal(out, want, sizeof want);
    /* small: repeats and zeros folded */
    assert_int_equal(cc_mrc_auto_sizes(2, 3, out, 64), 2);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 2);
    assert_int_equal(cc_mrc_auto_sizes(1u << 20, 12, out, 64), 25);
    assert_int_equal(out[0], 256);
    assert_int_equal(out[24], 1u << 20);
}

/* ---- any policy: the sweep ----------------------------------------------------------------- */
static void test_sweep_equals_replays(void **state)
{
    (void)state;
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 21);
    cc_trace t;
    gen_tree_trace(&t, g, 1500, 10, 16);
    const uint64_t caps[] = {7, 50, 200, 1000, 100000, 0};
    enum { NC = sizeof caps / sizeof caps[0] };
    const char *pol[] = {"fifo", "lru"};
    for (int p = 0; p < 2; p++)
        for (int mode = 0; mode < 2; mode++) {
            cc_pc_config c = one_tier(mode ? CC_PC_INDEPENDENT : CC_PC_PREFIX, pol[p], 1);
            double m1[NC], t1[NC], m2[NC], t2[NC];
            cc_err e = {0};
            assert_int_equal(cc_mrc_sweep(&t, &c, caps, NC, 1, NULL, NULL, m1, t1, &e), CC_OK);
            assert_int_equal(cc_mrc_sweep(&t, &c, caps, NC, 2, NULL, NULL, m2, t2, &e), CC_OK);
            assert_memory_equal(m1, m2, sizeof m1);
            assert_memory_equal(t1, t2, sizeof t1);
            for (int k = 0; k < NC; k++) {
                if (caps[k] == 0) {
                    assert_float_equal(m1[k], 1, 0);
                    assert_float_equal(t1[k], 0, 0);
                    continue;
                }
                cc_replay_result r = replay(&t, c.mode, pol[p], caps[k] > 5000 ? 0 : caps[k]);
                assert_float_equal(m1[k], 1 - r.block_hit_ratio, 0);
                assert_float_equal(t1[k], r.token_hit_ratio, 0);
            }
            if (p == 1) { /* LRU: the stack curve */
                cc_mrc m;
                mrc_of(&t, c.mode, &m);
                for (int k = 0; k < NC; k++)
                    assert_float_equal(m1[k], cc_mrc_miss_ratio(&m, caps[k]), 1e-12);
                cc_mrc_free(&m);
            }
        }
    /* a chain of tiers is allowed (its top tier varies; tests/test_cli_mrc.c
     * checks it against replays); a cache without tiers is not */
    cc_pc_config none = one_tier(CC_PC_PREFIX, "lru", 1);
    none.n_tiers = 0;
    cc_err e = {0};
    double x[NC], y[NC];
    assert_int_equal(cc_mrc_sweep(&t, &none, caps, NC, 1, NULL, NULL, x, y, &e), CC_EARG);
    assert_string_equal(e.field, "tiers");
    cc_trace_free(&t);
    gsl_rng_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_stream),
        cmocka_unit_test(test_reversed_sequence_is_not_prefix_lru),
        cmocka_unit_test(test_inconsistent_trace_is_flagged),
        cmocka_unit_test(test_request_longer_than_cache),
        cmocka_unit_test(test_independent_vs_brute_force),
        cmocka_unit_test(test_prefix_vs_brute_force),
        cmocka_unit_test(test_mooncake),
        cmocka_unit_test(test_shards_zipf),
        cmocka_unit_test(test_shards_prefix_rate_one),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_auto_sizes),
        cmocka_unit_test(test_sweep_equals_replays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
