/* test_prefix_cache.c -- the prefix cache: the hash index against a
 * brute-force twin, the node size and bytes per block, hand-computed
 * scenarios (prefix rule, leaf-only eviction, pins, promotion and demotion
 * between two tiers with exact byte counts, drops from the last tier,
 * independent mode), a brute-force twin of the whole single-tier cache on
 * random conversation chains (LRU and FIFO, both modes), structural
 * invariants under random multi-tier use with overlapping requests, and the
 * tier spec parser's bad inputs. */
#include "testutil.h"
#include "core/prefix_cache.h"

#include <gsl/gsl_rng.h>

/* ---- helpers ---------------------------------------------------------------------- */
static cc_pc_config config(cc_pc_mode mode, const char *policy, uint32_t n_tiers,
                           const uint64_t *caps)
{
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.mode = mode;
    c.block_tokens = 4;
    c.kv_bytes_per_block = 1000;
    c.n_tiers = n_tiers;
    static const char *names[] = {"hbm", "dram", "ssd", "remote"};
    for (uint32_t k = 0; k < n_tiers; k++) {
        snprintf(c.tiers[k].name, sizeof c.tiers[k].name, "%s", names[k % 4]);
        c.tiers[k].capacity_blocks = caps[k];
        c.tiers[k].policy = cc_policy_find(policy);
    }
    return c;
}

static cc_prefix_cache *make(cc_pc_mode mode, const char *policy, uint32_t n_tiers,
                             const uint64_t *caps)
{
    cc_pc_config c = config(mode, policy, n_tiers, caps);
    cc_prefix_cache *pc;
    cc_err e = {0};
    if (cc_pc_create(&c, &pc, &e) != CC_OK)
        fail_msg("cc_pc_create: %s", e.msg);
    return pc;
}

static void check(const cc_prefix_cache *pc)
{
    cc_err e = {0};
    if (cc_pc_check(pc, &e) != CC_OK)
        fail_msg("invariant: %s", e.msg);
}

static cc_pc_request req(const uint64_t *b, uint32_t n, uint32_t input, uint64_t idx)
{
    cc_pc_request r;
    memset(&r, 0, sizeof r);
    r.blocks = b;
    r.n_blocks = n;
    r.input_tokens = input;
    r.index = idx;
    r.time_ns = (int64_t)idx * 1000;
    return r;
}

/* One whole request (lookup, insert, release); returns the hits. */
static cc_pc_hits run(cc_prefix_cache *pc, const uint64_t *b, uint32_t n, uint32_t input,
                      uint64_t idx, uint32_t *inserted)
{
    uint32_t nodes[64];
    cc_pc_request r = req(b, n, input, idx);
    cc_pc_hits h;
    assert_int_equal(cc_pc_lookup(pc, &r, nodes, &h), CC_OK);
    uint32_t ins = 0;
    assert_int_equal(cc_pc_insert(pc, &r, nodes, &ins), CC_OK);
    cc_pc_release(pc, nodes, n);
    if (inserted)
        *inserted = ins;
    check(pc);
    return h;
}

static int tier_of(const cc_prefix_cache *pc, uint64_t hash)
{
    uint32_t x = cc_pc_find(pc, hash), t;
    if (x == CC_NODE_NONE)
        return -1;
    if (cc_pc_node_place(pc, x, &t) == CC_SLOT_NONE)
        return -2;
    return (int)t;
}

/* ---- the index ------------------------------------------------------------------------ */
static void test_block_index_vs_bruteforce(void **state)
{
    (void)state;
    enum { IDS = 500, OPS = 300000 };
    cc_block_index x;
    assert_int_equal(cc_block_index_init(&x, IDS, IDS, 0), CC_OK);
    static uint64_t keys[IDS]; /* record id -> key (offset 0, stride 8) */
    static int present[IDS];
    memset(present, 0, sizeof present);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    uint32_t count = 0;
    for (int op = 0; op < OPS; op++) {
        uint32_t id = (uint32_t)gsl_rng_uniform_int(r, IDS);
        if (!present[id]) {
            /* keys from a small range: sequential ids, as Mooncake's are */
            keys[id] = (uint64_t)op * 7 % 100000;
            int dup = 0;
            for (uint32_t j = 0; j < IDS; j++)
                dup |= present[j] && keys[j] == keys[id];
            if (dup)
                continue;
            assert_int_equal(cc_block_index_insert(&x, keys[id], id), CC_OK);
            present[id] = 1;
            count++;
        } else if (gsl_rng_uniform(r) < 0.5) {
            assert_int_equal(cc_block_index_remove(&x, keys[id], id), 1);
            assert_int_equal(cc_block_index_remove(&x, keys[id], id), 0);
            present[id] = 0;
            count--;
        }
        assert_int_equal(x.count, count);
        if (op % 97 == 0)
            for (uint32_t j = 0; j < IDS; j++) {
                /* an absent id's old key may now belong to another id */
                uint32_t want = CC_NODE_NONE;
                for (uint32_t q = 0; q < IDS; q++)
                    if (present[q] && keys[q] == keys[j])
                        want = q;
                assert_int_equal(cc_block_index_find(&x, keys[j], keys, sizeof keys[0]), want);
            }
    }
    /* a record moves from a present id to an absent one: reid, then the key
     * is found under its new id */
    uint32_t from = 0, to = 0;
    while (!present[from])
        from++;
    while (present[to])
        to++;
    keys[to] = keys[from];
    assert_int_equal(cc_block_index_reid(&x, keys[to], from, to), 1);
    present[to] = 1;
    present[from] = 0;
    keys[from] = UINT64_MAX; /* no longer a key */
    assert_int_equal(cc_block_index_find(&x, keys[to], keys, sizeof keys[0]), to);
    assert_int_equal(cc_block_index_reid(&x, keys[to], from, to), 0);
    /* fill every id: one key more is refused (sized for IDS keys: 1.5 x
     * 500 / 16 -> 47 buckets) */
    for (uint32_t id = 0; id < IDS; id++)
        if (!present[id]) {
            keys[id] = 1000000 + id;
            assert_int_equal(cc_block_index_insert(&x, keys[id], id), CC_OK);
            present[id] = 1;
        }
    assert_int_equal(x.count, IDS);
    assert_int_equal(x.nb, 47);
    assert_int_equal(cc_block_index_insert(&x, 5000000, 0), CC_ERANGE);
    for (uint32_t j = 0; j < IDS; j++)
        assert_int_equal(cc_block_index_find(&x, keys[j], keys, sizeof keys[0]), j);
    gsl_rng_free(r);
    cc_block_index_free(&x);
}

/* ---- bytes per block ------------------------------------------------------------------- */
static void test_bytes_per_block(void **state)
{
    (void)state;
    assert_int_equal(sizeof(cc_pc_node), 16);
    /* Worked out from the layout in prefix_cache.h and block_index.h.
     * The hash index has ceil(floor((3 n + 1) / 2) / 16) buckets of 65
     * bytes for n nodes (load <= 2/3): 94 for 1000 nodes, 469 for 5000,
     * 1969 for 21000.  The map of large child counts is sized for
     * n / 255 + 1 entries at load <= 1/2 in a power-of-two table of 16-byte
     * slots (at least 16): 16 slots for 1000 nodes, 64 for 5000, 256 for
     * 21000. */
    /* one tier, LRU: node 16 + child count 1 + evictable 1 + LRU links 8 =
     * 26 per block (no slot -> node or node -> place arrays: with one tier
     * slot s holds node s) */
    uint64_t caps[] = {1000, 4000, 16000};
    cc_prefix_cache *pc = make(CC_PC_PREFIX, "lru", 1, caps);
    assert_int_equal(cc_pc_memory_bytes(pc), 1000 * 26 + 16 * 16 + 94 * 65);
    assert_true(cc_pc_bytes_per_block(pc) <= 64);
    cc_pc_destroy(pc);
    /* two tiers: + node -> place (4), slot -> node (4) and a second child
     * count (1) per block */
    pc = make(CC_PC_PREFIX, "lru", 2, caps);
    assert_int_equal(cc_pc_memory_bytes(pc), 5000 * 35 + 64 * 16 + 469 * 65);
    cc_pc_destroy(pc);
    /* three tiers: three child counts */
    pc = make(CC_PC_PREFIX, "lru", 3, caps);
    assert_int_equal(cc_pc_memory_bytes(pc), 21000 * 36 + 256 * 16 + 1969 * 65);
    assert_true(cc_pc_bytes_per_block(pc) <= 64);
    cc_pc_destroy(pc);
    /* FIFO keeps 16 bytes per slot (its heap) */
    pc = make(CC_PC_PREFIX, "fifo", 1, caps);
    assert_int_equal(cc_pc_memory_bytes(pc), 1000 * 34 + 16 * 16 + 94 * 65);
    cc_pc_destroy(pc);
    /* ARC, 1000 slots: 18 per block in the cache, 9 per slot, 2 link
     * sentinels of 8, a ghost of 1001 keys: ring 1001 + 125 entries of 9
     * bytes, sparse table for 2002 entries: 126 buckets */
    pc = make(CC_PC_PREFIX, "arc", 1, caps);
    assert_int_equal(cc_pc_memory_bytes(pc),
                     1000 * 18 + 16 * 16 + 94 * 65 + 1000 * 9 + 16 + 1126 * 9 + 126 * 65);
    cc_pc_destroy(pc);
    /* S3-FIFO, 1000 slots: 13 per slot + sentinels + a ghost of 900 keys:
     * ring 900 + 112 entries, table for 1350 entries: 85 buckets */
    pc = make(CC_PC_PREFIX, "s3fifo", 1, caps);
    assert_int_equal(cc_pc_memory_bytes(pc),
                     1000 * 18 + 16 * 16 + 94 * 65 + 1000 * 13 + 16 + 1012 * 9 + 85 * 65);
    cc_pc_destroy(pc);
    /* TRT: 28 per slot (stamp 4, priority and end 8, two heaps of 4 + 4) */
    pc = make(CC_PC_PREFIX, "trt", 1, caps);
    assert_int_equal(cc_pc_memory_bytes(pc), 1000 * 18 + 16 * 16 + 94 * 65 + 1000 * 28);
    cc_pc_destroy(pc);
}

/* The budget of issue 3: every registered policy within 64 bytes of
 * metadata per cached block (prefix mode, where the cache keeps the most)
 * with every number of tiers the cache takes, from the smallest tiers the
 * header promises it for (128 blocks) to a bench-sized capacity, with tiers
 * of equal size and (1000 and more) with a top tier a tenth of that. */
static void test_every_policy_within_budget(void **state)
{
    (void)state;
    uint32_t caps[] = {128, 1000, 100000};
    for (size_t i = 0; i < cc_policy_count(); i++)
        for (uint32_t T = 1; T <= CC_PC_MAX_TIERS; T++)
            for (size_t c = 0; c < 3; c++)
                for (int skew = 0; skew < (T > 1 && caps[c] >= 1000 ? 2 : 1); skew++) {
                    const cc_policy_ops *ops = cc_policy_at(i);
                    uint64_t cap[CC_PC_MAX_TIERS];
                    for (uint32_t k = 0; k < T; k++)
                        cap[k] = skew && k == 0 ? caps[c] / 10 : caps[c];
                    cc_prefix_cache *pc = make(CC_PC_PREFIX, ops->name, T, cap);
                    double b = cc_pc_bytes_per_block(pc);
                    if (b > 64.0)
                        fail_msg("policy %s, %u tiers of %u blocks%s: %.2f bytes per block "
                                 "(budget 64)",
                                 ops->name, T, caps[c], skew ? " (top tier a tenth)" : "", b);
                    cc_pc_destroy(pc);
                }
}

/* keys[0..n) as one-block requests of a whole block at time 0 through
 * cc_pc_access one at a time (what cc_pc_access_stream does at once); the
 * hits. */
static uint64_t whole_blocks_one_by_one(cc_prefix_cache *pc, const uint64_t *keys, size_t n,
                                        uint32_t block_tokens)
{
    uint64_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        cc_pc_request q = req(keys + i, 1, block_tokens, (uint64_t)i);
        q.time_ns = 0;
        q.first_seq = (uint64_t)i;
        int k;
        assert_int_equal(cc_pc_access(pc, &q, 0, &k), CC_OK);
        hits += k >= 0;
    }
    return hits;
}

/* The flat loop's staged path (a cache past CC_PC_PREFETCH_MIN_BYTES: keys
 * hashed 16 ahead, node guesses 8 ahead, a hit confirmed on the guessed node)
 * answers exactly as cc_pc_access one access at a time: hit for hit, the
 * same stats, on a skewed stream over three times the capacity's keys, so
 * that victims' nodes are reused for other keys between a guess and its
 * turn; one-block requests with their own input lengths and times
 * (cc_pc_access_singles) and whole-block ones (cc_pc_access_stream). */
static void test_flat_staged_path(void **state)
{
    (void)state;
    static const char *const policies[] = {"lru", "sieve", "fifo", "clock", "arc", "s3fifo",
                                           "lfu"};
    enum { CAP = 80000, N = 400000 };
    uint64_t *keys = malloc(N * sizeof *keys);
    uint32_t *in = malloc(N * sizeof *in);
    int64_t *at = malloc(N * sizeof *at);
    int8_t *tiers = malloc(N);
    assert_true(keys && in && at && tiers);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 43);
    for (int i = 0; i < N; i++) {
        keys[i] = 1 + (gsl_rng_uniform(r) < 0.5 ? gsl_rng_uniform_int(r, 20000)
                                                : gsl_rng_uniform_int(r, 3 * CAP));
        in[i] = 1 + (uint32_t)gsl_rng_uniform_int(r, 4);
        at[i] = (int64_t)i * 1000;
    }
    for (size_t p = 0; p < sizeof policies / sizeof *policies; p++) {
        uint64_t caps[] = {CAP};
        cc_pc_config cfg = config(CC_PC_INDEPENDENT, policies[p], 1, caps);
        cc_prefix_cache *a, *b, *c;
        cc_err e = {0};
        assert_int_equal(cc_pc_create(&cfg, &a, &e), CC_OK);
        assert_int_equal(cc_pc_create(&cfg, &b, &e), CC_OK);
        assert_int_equal(cc_pc_create(&cfg, &c, &e), CC_OK);
        assert_true(cc_pc_memory_bytes(a) >= CC_PC_PREFETCH_MIN_BYTES);
        /* in windows, as a streamed replay feeds them */
        for (size_t off = 0; off < N; off += 8192) {
            size_t m = N - off < 8192 ? N - off : 8192;
            assert_int_equal(cc_pc_access_singles(a, keys + off, in + off, at + off, m, off, off,
                                                  tiers + off),
                             CC_OK);
        }
        uint64_t hits = 0;
        assert_int_equal(cc_pc_access_stream(c, keys, N, 0, 0, &hits), CC_OK);
        for (int i = 0; i < N; i++) {
            cc_pc_request q = req(keys + i, 1, in[i], (uint64_t)i);
            q.time_ns = at[i];
            q.first_seq = (uint64_t)i;
            int k;
            assert_int_equal(cc_pc_access(b, &q, 0, &k), CC_OK);
            if (tiers[i] != k)
                fail_msg("%s: access %d: staged loop %d, one at a time %d", policies[p], i,
                         tiers[i], k);
        }
        assert_memory_equal(cc_pc_get_stats(a), cc_pc_get_stats(b), sizeof(cc_pc_stats));
        check(a);
        /* whole blocks at time 0 against single calls of the same */
        cc_pc_destroy(b);
        assert_int_equal(cc_pc_create(&cfg, &b, &e), CC_OK);
        assert_int_equal(hits, whole_blocks_one_by_one(b, keys, N, cfg.block_tokens));
        assert_memory_equal(cc_pc_get_stats(c), cc_pc_get_stats(b), sizeof(cc_pc_stats));
        cc_pc_destroy(a);
        cc_pc_destroy(b);
        cc_pc_destroy(c);
    }
    gsl_rng_free(r);
    free(keys);
    free(in);
    free(at);
    free(tiers);
}

/* cc_pc_access_stream and cc_pc_access_request answer exactly as the same
 * accesses through cc_pc_access one by one (on a twin cache), on the flat
 * path (one tier) and the general one (two tiers, a TTL tier), with the
 * look-ahead running past the end of a request into the next ones. */
static void test_access_loops(void **state)
{
    (void)state;
    static const struct {
        const char *policy;
        uint32_t tiers;
    } cases[] = {{"lru", 1}, {"s3fifo", 1}, {"arc", 1}, {"fifo", 1}, {"clock", 1},
                 {"lru", 2}, {"ttl(ttl_s=0.00005)", 1}};
    enum { N = 6000 };
    uint64_t *keys = malloc(N * sizeof *keys);
    int8_t *tiers = malloc(N);
    assert_non_null(keys);
    assert_non_null(tiers);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 41);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint64_t caps[] = {300, 500};
        for (int i = 0; i < N; i++) /* skewed: a hot set and a long tail */
            keys[i] = 1 + (gsl_rng_uniform(r) < 0.6 ? gsl_rng_uniform_int(r, 200)
                                                    : gsl_rng_uniform_int(r, 5000));
        cc_pc_config cfg = config(CC_PC_INDEPENDENT, "lru", cases[c].tiers, caps);
        cc_policy_params pp;
        const cc_policy_ops *ops;
        cc_err e = {0};
        assert_int_equal(cc_policy_parse(cases[c].policy, &ops, &pp, &e), CC_OK);
        for (uint32_t k = 0; k < cfg.n_tiers; k++) {
            cfg.tiers[k].policy = ops;
            cfg.tiers[k].policy_params = pp;
        }
        cc_prefix_cache *a, *b, *d;
        assert_int_equal(cc_pc_create(&cfg, &a, &e), CC_OK);
        assert_int_equal(cc_pc_create(&cfg, &b, &e), CC_OK);
        assert_int_equal(cc_pc_create(&cfg, &d, &e), CC_OK);
        /* one-block requests at time 0: the stream against single calls */
        uint64_t hits = 0;
        assert_int_equal(cc_pc_access_stream(a, keys, N, 0, 0, &hits), CC_OK);
        assert_int_equal(hits, whole_blocks_one_by_one(b, keys, N, cfg.block_tokens));
        assert_memory_equal(cc_pc_get_stats(a), cc_pc_get_stats(b), sizeof(cc_pc_stats));
        check(a);
        /* requests of 1..40 blocks (the last one partial) against single calls */
        cc_pc_destroy(b);
        assert_int_equal(cc_pc_create(&cfg, &b, &e), CC_OK);
        for (uint32_t off = 0, ri = 0; off < N; ri++) {
            uint32_t n = 1 + (uint32_t)gsl_rng_uniform_int(r, 40);
            if (n > N - off)
                n = N - off;
            cc_pc_request q = req(keys + off, n, n * cfg.block_tokens - 1, ri);
            q.first_seq = off;
            cc_pc_hits h;
            assert_int_equal(
                cc_pc_access_request(d, &q, keys + off + n, N - off - n, tiers, &h), CC_OK);
            uint32_t hb = 0, ht = 0;
            for (uint32_t j = 0; j < n; j++) {
                int k;
                assert_int_equal(cc_pc_access(b, &q, j, &k), CC_OK);
                assert_int_equal(tiers[j], k);
                if (k >= 0) {
                    hb++;
                    ht += cc_pc_block_tokens(q.input_tokens, cfg.block_tokens, j);
                }
            }
            assert_int_equal(h.blocks, hb);
            assert_int_equal(h.tokens, ht);
            off += n;
        }
        assert_memory_equal(cc_pc_get_stats(d), cc_pc_get_stats(b), sizeof(cc_pc_stats));
        check(d);
        /* prefix mode refuses both */
        cc_pc_config pcfg = cfg;
        pcfg.mode = CC_PC_PREFIX;
        cc_prefix_cache *p;
        assert_int_equal(cc_pc_create(&pcfg, &p, &e), CC_OK);
        assert_int_equal(cc_pc_access_stream(p, keys, 10, 0, 0, NULL), CC_EARG);
        cc_pc_request q = req(keys, 3, 12, 0);
        assert_int_equal(cc_pc_access_request(p, &q, NULL, 0, NULL, NULL), CC_EARG);
        cc_pc_destroy(p);
        cc_pc_destroy(a);
        cc_pc_destroy(b);
        cc_pc_destroy(d);
    }
    gsl_rng_free(r);
    free(keys);
    free(tiers);
}

/* ---- hand-computed scenarios --------------------------------------------------------------- */

/* Block size 4.  r0 [1 2 3] (12 tokens) stores all three.  r1 [1 9 3]
 * (10 tokens): 1 hits; 9 misses, so 3 is NOT served although cached (prefix
 * rule).  In independent mode 1 and 3 both hit (3 holds 2 tokens). */
static void test_prefix_rule(void **state)
{
    (void)state;
    uint64_t caps[] = {100};
    uint64_t r0[] = {1, 2, 3}, r1[] = {1, 9, 3};
    cc_prefix_cache *pc = make(CC_PC_PREFIX, "lru", 1, caps);
    uint32_t ins;
    cc_pc_hits h = run(pc, r0, 3, 12, 0, &ins);
    assert_int_equal(h.blocks, 0);
    assert_int_equal(ins, 3);
    h = run(pc, r1, 3, 10, 1, &ins);
    assert_int_equal(h.blocks, 1);
    assert_int_equal(h.tokens, 4);
    assert_int_equal(h.tier_blocks[0], 1);
    /* 9 is stored under 1; 3 is already cached (under 2) and is reused */
    assert_int_equal(ins, 1);
    assert_int_equal(cc_pc_tier_used(pc, 0), 4);
    cc_pc_hits m;
    cc_pc_request q = req(r1, 3, 10, 2);
    cc_pc_match(pc, &q, &m); /* read-only: now all three are served */
    assert_int_equal(m.blocks, 3);
    assert_int_equal(m.tokens, 10);
    cc_pc_destroy(pc);

    pc = make(CC_PC_INDEPENDENT, "lru", 1, caps);
    run(pc, r0, 3, 12, 0, NULL);
    h = run(pc, r1, 3, 10, 1, &ins);
    assert_int_equal(h.blocks, 2);
    assert_int_equal(h.tokens, 4 + 2);
    assert_int_equal(ins, 1);
    cc_pc_destroy(pc);
}

/* Capacity 3.  r0 [1 2 3] fills it: 1 and 2 have children, so only 3 is a
 * leaf.  r1 [4]: the victim must be 3 under LRU (it is also the least
 * recent) and under FIFO (although 1 entered first).  Then 2 is a leaf.
 * r2 [5]: victim 2 (LRU: 4 is newer; FIFO: 1 is not a leaf, 2 is oldest
 * leaf).  r3 [6]: LRU victim 1 (4 and 5 are newer); FIFO: 1 is now a leaf and
 * the oldest. */
static void test_leaf_only_eviction(void **state)
{
    (void)state;
    const char *pols[] = {"lru", "fifo"};
    for (int p = 0; p < 2; p++) {
        uint64_t caps[] = {3};
        cc_prefix_cache *pc = make(CC_PC_PREFIX, pols[p], 1, caps);
        uint64_t r0[] = {1, 2, 3}, r1[] = {4}, r2[] = {5}, r3[] = {6};
        run(pc, r0, 3, 12, 0, NULL);
        run(pc, r1, 1, 4, 1, NULL);
        assert_int_equal(tier_of(pc, 3), -1);
        assert_int_equal(tier_of(pc, 1), 0);
        assert_int_equal(tier_of(pc, 2), 0);
        run(pc, r2, 1, 4, 2, NULL);
        assert_int_equal(tier_of(pc, 2), -1);
        assert_int_equal(tier_of(pc, 1), 0);
        run(pc, r3, 1, 4, 3, NULL);
        assert_int_equal(tier_of(pc, 1), -1);
        assert_int_equal(tier_of(pc, 4), 0);
        assert_int_equal(tier_of(pc, 5), 0);
        assert_int_equal(tier_of(pc, 6), 0);
        assert_int_equal(cc_pc_get_stats(pc)->tier[0].dropped_blocks, 3);
        cc_pc_destroy(pc);
    }
    /* independent mode takes any unpinned block: FIFO evicts 1 first */
    uint64_t caps[] = {3};
    cc_prefix_cache *pc = make(CC_PC_INDEPENDENT, "fifo", 1, caps);
    uint64_t r0[] = {1, 2, 3}, r1[] = {4};
    run(pc, r0, 3, 12, 0, NULL);
    run(pc, r1, 1, 4, 1, NULL);
    assert_int_equal(tier_of(pc, 1), -1);
    assert_int_equal(tier_of(pc, 3), 0);
    cc_pc_destroy(pc);
}

/* Capacity 2.  Request A [1 2] is looked up and stored but not released;
 * request B [7] finds no evictable block: not stored, counted as no room.
 * After A is released, B stores 7 by evicting 2 (the leaf). */
static void test_pins(void **state)
{
    (void)state;
    uint64_t caps[] = {2};
    cc_prefix_cache *pc = make(CC_PC_PREFIX, "lru", 1, caps);
    uint64_t a[] = {1, 2}, b[] = {7};
    uint32_t na[2], nb[1], ins;
    cc_pc_hits h;
    cc_pc_request ra = req(a, 2, 8, 0), rb = req(b, 1, 4, 1);
    cc_pc_lookup(pc, &ra, na, &h);
    cc_pc_insert(pc, &ra, na, &ins);
    assert_int_equal(ins, 2);
    assert_int_equal(cc_pc_node_get(pc, na[0])->refs, 1);
    check(pc);
    cc_pc_lookup(pc, &rb, nb, &h);
    cc_pc_insert(pc, &rb, nb, &ins);
    assert_int_equal(ins, 0);
    assert_int_equal(nb[0], CC_NODE_NONE);
    assert_int_equal(cc_pc_get_stats(pc)->no_room_blocks, 1);
    cc_pc_release(pc, nb, 1);
    /* a second request on A's prefix pins the same nodes twice */
    uint32_t na2[2];
    cc_pc_lookup(pc, &ra, na2, &h);
    assert_int_equal(h.blocks, 2);
    assert_int_equal(cc_pc_node_get(pc, na[1])->refs, 2);
    cc_pc_release(pc, na2, 2);
    cc_pc_release(pc, na, 2);
    assert_int_equal(cc_pc_node_get(pc, na[1])->refs, 0);
    check(pc);
    cc_pc_lookup(pc, &rb, nb, &h);
    cc_pc_insert(pc, &rb, nb, &ins);
    assert_int_equal(ins, 1);
    cc_pc_release(pc, nb, 1);
    assert_int_equal(tier_of(pc, 2), -1);
    assert_int_equal(tier_of(pc, 1), 0);
    check(pc);
    cc_pc_destroy(pc);
}

/* Two tiers, LRU both: hbm 4 blocks, dram 4 blocks, 1000 bytes per block,
 * block size 4.  Letters are hashes; MRU first.
 *  r0 [A B C] 12 tok : hbm [A B C]
 *  r1 [D E] 8 tok    : D takes the free slot: hbm [D A B C]; E: victim C
 *                      (leaf) -> dram [C]; E behind D: hbm [D E A B]
 *  r2 [A B C F] 14   : served A B (hbm, 8 tok) and C (dram, 4 tok).  Touch
 *                      B, A: hbm [A B D E].  Promote C: victim E -> dram
 *                      [E]; hbm [A B C D] (1000 up).  F: victim D (its child
 *                      E is in dram) -> dram [D E]; hbm [A B C F]
 *  r3 [D E G] 9 tok  : served D E (dram, 8 tok).  Promote D: victim F ->
 *                      dram [F E]; hbm [D A B C].  Promote E: victim C ->
 *                      dram [C F]; hbm [D E A B].  G: victim B -> dram
 *                      [B C F]; hbm [D E G A]
 *  r4 [H I] 8 tok    : H: victim A -> dram [A B C F] (full); hbm [H D E G].
 *                      I: victim G must go down; dram's victim is F (its
 *                      LRU end, a leaf): F is dropped; dram [G A B C];
 *                      hbm [H I D E]
 * Totals: dram received 8 demotions (8000 bytes down) and sent 3 promotions
 * (3000 bytes up); one block (F) left the cache. */
static void test_two_tiers_exact(void **state)
{
    (void)state;
    enum { A = 101, B, C, D, E, F, G, H, I };
    uint64_t caps[] = {4, 4};
    cc_prefix_cache *pc = make(CC_PC_PREFIX, "lru", 2, caps);
    uint64_t r0[] = {A, B, C}, r1[] = {D, E}, r2[] = {A, B, C, F}, r3[] = {D, E, G},
             r4[] = {H, I};
    run(pc, r0, 3, 12, 0, NULL);
    run(pc, r1, 2, 8, 1, NULL);
    assert_int_equal(tier_of(pc, C), 1);
    const cc_pc_stats *st = cc_pc_get_stats(pc);
    assert_int_equal(st->tier[1].bytes_down, 1000);

    cc_pc_hits h = run(pc, r2, 4, 14, 2, NULL);
    assert_int_equal(h.blocks, 3);
    assert_int_equal(h.tokens, 12);
    assert_int_equal(h.tier_blocks[0], 2);
    assert_int_equal(h.tier_tokens[0], 8);
    assert_int_equal(h.tier_blocks[1], 1);
    assert_int_equal(h.tier_tokens[1], 4);
    int want2[] = {0, 0, 0, 1, 1, 0}; /* A B C D E F */
    for (int i = 0; i < 6; i++)
        assert_int_equal(tier_of(pc, A + i), want2[i]);
    assert_int_equal(st->tier[1].bytes_up, 1000);
    assert_int_equal(st->tier[1].bytes_down, 3000);

    h = run(pc, r3, 3, 9, 3, NULL);
    assert_int_equal(h.blocks, 2);
    assert_int_equal(h.tier_blocks[0], 0);
    assert_int_equal(h.tier_blocks[1], 2);
    assert_int_equal(h.tier_tokens[1], 8);
    int want3[] = {0, 1, 1, 0, 0, 1, 0}; /* A..G */
    for (int i = 0; i < 7; i++)
        assert_int_equal(tier_of(pc, A + i), want3[i]);
    assert_int_equal(st->tier[1].bytes_up, 3000);
    assert_int_equal(st->tier[1].bytes_down, 6000);

    run(pc, r4, 2, 8, 4, NULL);
    int want4[] = {1, 1, 1, 0, 0, -1, 1, 0, 0}; /* A..I */
    for (int i = 0; i < 9; i++)
        assert_int_equal(tier_of(pc, A + i), want4[i]);
    assert_int_equal(st->tier[1].bytes_up, 3000);
    assert_int_equal(st->tier[1].bytes_down, 8000);
    assert_int_equal(st->tier[1].promoted_blocks, 3);
    assert_int_equal(st->tier[1].demoted_in_blocks, 8);
    assert_int_equal(st->tier[1].dropped_blocks, 1);
    assert_int_equal(st->tier[1].evicted_blocks, 1);
    assert_int_equal(st->tier[0].evicted_blocks, 8);
    assert_int_equal(st->tier[0].dropped_blocks, 0);
    assert_int_equal(st->tier[0].inserted_blocks, 9);
    assert_int_equal(st->tier[0].hit_blocks, 2);
    assert_int_equal(st->tier[0].hit_tokens, 8);
    assert_int_equal(st->tier[1].hit_blocks, 3);
    assert_int_equal(st->tier[1].hit_tokens, 12);
    assert_int_equal(st->tier[0].bytes_up + st->tier[0].bytes_down, 0);
    cc_pc_destroy(pc);
}

/* Child counts are one byte per tier up to 254; larger ones are kept aside
 * (prefix_cache.c).  A root R with 600 children in two tiers (LRU, hbm 300,
 * dram 1000): R and the 299 newest children fill tier 0, the 301 older
 * children are in tier 1, so both of R's counts are past a byte; then
 * children move both ways between the tiers, and a flood of unrelated
 * blocks pushes everything out, so the counts come back down through 255
 * to 0.  run() checks after every request that each recorded count equals
 * a recount of the cached children (cc_pc_check). */
static void test_child_counts_past_a_byte(void **state)
{
    (void)state;
    enum { R = 7, KIDS = 600, C0 = 1000, S0 = 100000 };
    uint64_t caps[] = {300, 1000};
    cc_prefix_cache *pc = make(CC_PC_PREFIX, "lru", 2, caps);
    uint64_t b[2] = {R, 0};
    for (uint32_t i = 0; i < KIDS; i++) {
        b[1] = C0 + i;
        run(pc, b, 2, 8, i, NULL);
    }
    uint32_t in[2] = {0, 0};
    for (uint32_t i = 0; i < KIDS; i++) {
        int t = tier_of(pc, C0 + i);
        assert_true(t == 0 || t == 1);
        in[t]++;
        assert_int_equal(t, i < 301 ? 1 : 0); /* the oldest went down */
    }
    assert_int_equal(tier_of(pc, R), 0);
    assert_int_equal(in[0], 299);
    assert_int_equal(in[1], 301);
    /* the 100 oldest children come back up (each demotes the oldest child
     * of tier 0): the counts stay at 299 and 301 */
    for (uint32_t i = 0; i < 100; i++) {
        b[1] = C0 + i;
        cc_pc_hits h = run(pc, b, 2, 8, KIDS + i, NULL);
        assert_int_equal(h.tier_blocks[0], 1);
        assert_int_equal(h.tier_blocks[1], 1);
    }
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal(tier_of(pc, C0 + i), 0);
    /* 1300 unrelated blocks: everything of R's leaves both tiers */
    for (uint32_t j = 0; j < 1300; j++) {
        uint64_t s1 = S0 + j;
        run(pc, &s1, 1, 4, 2 * KIDS + j, NULL);
    }
    assert_int_equal(tier_of(pc, R), -1);
    for (uint32_t i = 0; i < KIDS; i++)
        assert_int_equal(tier_of(pc, C0 + i), -1);
    cc_pc_destroy(pc);
}

/* A promotion that finds tier 0 full of pinned blocks leaves the block
 * where it is (still served, from its tier), and nothing after it in the
 * chain is stored (its parent would sit below tier 0).  hbm 1, dram 4. */
static void test_promotion_without_room(void **state)
{
    (void)state;
    uint64_t caps[] = {1, 4};
    cc_prefix_cache *pc = make(CC_PC_PREFIX, "lru", 2, caps);
    uint64_t r0[] = {1}, r1[] = {2}, y[] = {1, 6};
    run(pc, r0, 1, 4, 0, NULL);
    run(pc, r1, 1, 4, 1, NULL); /* 1 demoted: dram {1}, hbm {2} */
    assert_int_equal(tier_of(pc, 1), 1);
    uint32_t nx[1], ny[2], ins;
    cc_pc_hits h;
    cc_pc_request rx = req(r1, 1, 4, 2), ry = req(y, 2, 8, 3);
    cc_pc_lookup(pc, &rx, nx, &h); /* X pins 2, the only hbm block */
    cc_pc_lookup(pc, &ry, ny, &h);
    assert_int_equal(h.blocks, 1);
    assert_int_equal(h.tier_blocks[1], 1);
    assert_int_equal(tier_of(pc, 1), 1); /* not promoted */
    assert_int_equal(cc_pc_get_stats(pc)->no_room_blocks, 1);
    cc_pc_insert(pc, &ry, ny, &ins);
    assert_int_equal(ins, 0);
    assert_int_equal(tier_of(pc, 6), -1);
    check(pc);
    cc_pc_release(pc, ny, 2);
    cc_pc_release(pc, nx, 1);
    /* without X the promotion works: 2 goes down; 6 then finds hbm full of
     * the pinned 1 */
    h = run(pc, y, 2, 8, 4, &ins);
    assert_int_equal(h.tier_blocks[1], 1);
    assert_int_equal(tier_of(pc, 1), 0);
    assert_int_equal(tier_of(pc, 2), 1);
    assert_int_equal(tier_of(pc, 6), -1);
    assert_int_equal(ins, 0);
    cc_pc_destroy(pc);
}

/* Independent mode, two tiers: any unpinned block may be demoted, hits
 * below are promoted, with cc_pc_access (no pins). */
static void test_independent_two_tiers(void **state)
{
    (void)state;
    uint64_t caps[] = {2, 2};
    cc_prefix_cache *pc = make(CC_PC_INDEPENDENT, "lru", 2, caps);
    uint64_t s[] = {1, 2, 3, 1, 4, 5, 2};
    int want[] = {-1, -1, -1, 1, -1, -1, -1};
    /* 1,2 in hbm; 3 demotes 1 -> dram [1]; 1 hits in dram, promoted:
     * hbm [1 3], 2 demoted -> dram [2]; 4: demote 3 -> dram [3 2]; hbm [4 1];
     * 5: demote 1 -> dram full: drop 2 (LRU) -> dram [1 3]; hbm [5 4];
     * 2: miss (dropped): demote 4 -> dram full: drop 3 -> dram [4 1];
     * hbm [2 5].  Demotions 1 2 3 1 4, drops 2 3. */
    for (int i = 0; i < 7; i++) {
        cc_pc_request r = req(&s[i], 1, 4, (uint64_t)i);
        int k;
        assert_int_equal(cc_pc_access(pc, &r, 0, &k), CC_OK);
        assert_int_equal(k, want[i]);
        check(pc);
    }
    const cc_pc_stats *st = cc_pc_get_stats(pc);
    assert_int_equal(st->tier[1].promoted_blocks, 1);
    assert_int_equal(st->tier[1].demoted_in_blocks, 5);
    assert_int_equal(st->tier[1].dropped_blocks, 2);
    assert_int_equal(tier_of(pc, 2), 0);
    assert_int_equal(tier_of(pc, 5), 0);
    assert_int_equal(tier_of(pc, 4), 1);
    assert_int_equal(tier_of(pc, 1), 1);
    assert_int_equal(tier_of(pc, 3), -1);
    cc_pc_request r = req(s, 1, 4, 0);
    int k;
    cc_prefix_cache *pp = make(CC_PC_PREFIX, "lru", 1, caps);
    assert_int_equal(cc_pc_access(pp, &r, 0, &k), CC_EARG);
    cc_pc_destroy(pp);
    cc_pc_destroy(pc);
}

/* ---- brute-force twin of a single-tier cache ---------------------------------------------
 * Requests come from conversations: a new one starts from one of a few
 * system prompts (shared prefixes) and adds blocks; a later turn repeats its
 * conversation's whole chain and adds blocks.  The twin keeps every block in
 * an array and searches it: LRU key = (request, -position) of the last use
 * (a request touches its blocks at one instant, ancestors counting as more
 * recent), FIFO key = insertion count; the victim is the cached block with
 * the smallest key among those that are unpinned and -- in prefix mode --
 * have no cached child. */
typedef struct tblock {
    uint64_t hash, parent;
    int cached, kids;
    uint64_t key;
} tblock;

typedef struct twin {
    tblock *b;
    size_t n, cap;
    uint64_t seq;
} twin;

static tblock *twin_get(twin *t, uint64_t hash)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->b[i].hash == hash)
            return &t->b[i];
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->b = realloc(t->b, t->cap * sizeof *t->b);
    }
    t->b[t->n] = (tblock){hash, 0, 0, 0, 0};
    return &t->b[t->n++];
}

/* The victim: smallest key among cached blocks that are unpinned (not in
 * chain, prefix mode) and, in prefix mode, have no cached child. */
static tblock *twin_victim(twin *t, const uint64_t *chain, uint32_t n, int prefix)
{
    tblock *v = NULL;
    for (size_t i = 0; i < t->n; i++) {
        tblock *c = &t->b[i];
        if (!c->cached || (prefix && c->kids))
            continue;
        int pinned = 0;
        for (uint32_t q = 0; prefix && q < n; q++)
            pinned |= chain[q] == c->hash;
        if (!pinned && (!v || c->key < v->key))
            v = c;
    }
    return v;
}

static uint32_t twin_request(twin *t, const uint64_t *chain, uint32_t n, uint64_t ri,
                             uint64_t capacity, size_t *used, int prefix, int fifo)
{
    uint32_t hits = 0;
    if (!prefix) { /* block by block, each its own instant */
        for (uint32_t j = 0; j < n; j++) {
            tblock *x = twin_get(t, chain[j]);
            if (x->cached) {
                hits++;
                if (!fifo)
                    x->key = ++t->seq;
                continue;
            }
            if (*used == capacity) {
                tblock *v = twin_victim(t, chain, n, 0);
                v->cached = 0;
                (*used)--;
            }
            x->cached = 1;
            x->key = ++t->seq;
            (*used)++;
        }
        return hits;
    }
    /* prefix: the served run is touched at one instant, ancestors more recent */
    for (uint32_t j = 0; j < n; j++) {
        tblock *x = twin_get(t, chain[j]);
        if (!x->cached)
            break;
        hits++;
        if (!fifo)
            x->key = ri * 1024 + (1023 - j);
    }
    for (uint32_t j = hits; j < n; j++) {
        if (twin_get(t, chain[j])->cached)
            continue;
        if (*used == capacity) {
            tblock *v = twin_victim(t, chain, n, 1);
            if (!v)
                break;
            v->cached = 0;
            if (v->parent)
                twin_get(t, v->parent)->kids--;
            (*used)--;
        }
        tblock *x = twin_get(t, chain[j]);
        x->cached = 1;
        (*used)++;
        x->parent = j ? chain[j - 1] : 0;
        if (x->parent)
            twin_get(t, x->parent)->kids++;
        x = twin_get(t, chain[j]); /* the array may have moved */
        x->key = fifo ? ++t->seq : ri * 1024 + (1023 - j);
    }
    return hits;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t z = a * UINT64_C(0x9e3779b97f4a7c15) + b + 1;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return (z ^ (z >> 31)) | 1; /* never 0: the twin uses 0 as "no parent" */
}

static void run_vs_twin(const char *policy, cc_pc_mode mode, uint64_t capacity, uint64_t seed)
{
    enum { REQS = 1500, CONVS = 120, MAXB = 40 };
    static uint64_t conv[CONVS][MAXB];
    static uint32_t conv_len[CONVS];
    memset(conv_len, 0, sizeof conv_len);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    uint64_t caps[] = {capacity};
    cc_prefix_cache *pc = make(mode, policy, 1, caps);
    twin tw = {0};
    size_t used = 0;
    int prefix = mode == CC_PC_PREFIX, fifo = !strcmp(policy, "fifo");
    uint64_t total_hits = 0;
    for (uint64_t ri = 0; ri < REQS; ri++) {
        uint32_t c = (uint32_t)gsl_rng_uniform_int(r, CONVS);
        if (conv_len[c] == 0 || conv_len[c] > MAXB - 6 || gsl_rng_uniform(r) < 0.1) {
            /* (re)start: one of 4 system prompts of 1..3 blocks */
            uint32_t sp = (uint32_t)gsl_rng_uniform_int(r, 4), len = 1 + sp % 3;
            uint64_t h = 0;
            for (uint32_t j = 0; j < len; j++)
                conv[c][j] = h = mix(h, 1000 + sp * 10 + j);
            conv_len[c] = len;
        }
        uint32_t add = 1 + (uint32_t)gsl_rng_uniform_int(r, 5);
        for (uint32_t j = 0; j < add; j++) {
            conv[c][conv_len[c]] = mix(conv[c][conv_len[c] - 1], gsl_rng_get(r));
            conv_len[c]++;
        }
        uint32_t n = conv_len[c], input = n * 4 - (uint32_t)gsl_rng_uniform_int(r, 4);
        uint32_t want = twin_request(&tw, conv[c], n, ri, capacity, &used, prefix, fifo);
        uint32_t got;
        if (prefix) {
            got = run(pc, conv[c], n, input, ri, NULL).blocks;
        } else {
            got = 0;
            cc_pc_request q = req(conv[c], n, input, ri);
            for (uint32_t j = 0; j < n; j++) {
                int k;
                cc_pc_access(pc, &q, j, &k);
                got += k >= 0;
            }
            if (ri % 50 == 0)
                check(pc);
        }
        if (got != want)
            fail_msg("%s %s cap %llu request %llu: %u hits, brute force %u", policy,
                     prefix ? "prefix" : "independent", (unsigned long long)capacity,
                     (unsigned long long)ri, got, want);
        total_hits += got;
    }
    size_t cached = 0;
    for (size_t i = 0; i < tw.n; i++)
        if (tw.b[i].cached) {
            cached++;
            assert_int_equal(tier_of(pc, tw.b[i].hash), 0);
        }
    assert_int_equal(cached, cc_pc_tier_used(pc, 0));
    assert_true(total_hits > 0);
    assert_true(cc_pc_get_stats(pc)->tier[0].dropped_blocks > 100);
    free(tw.b);
    gsl_rng_free(r);
    cc_pc_destroy(pc);
}

static void test_vs_bruteforce(void **state)
{
    (void)state;
    const char *pols[] = {"lru", "fifo"};
    for (int p = 0; p < 2; p++)
        for (int m = 0; m < 2; m++) {
            run_vs_twin(pols[p], m ? CC_PC_INDEPENDENT : CC_PC_PREFIX, 60, 10 + p * 2 + m);
            run_vs_twin(pols[p], m ? CC_PC_INDEPENDENT : CC_PC_PREFIX, 250, 20 + p * 2 + m);
        }
}

/* ---- invariants under random multi-tier use with overlapping requests --------------------- */
static void test_invariants_random(void **state)
{
    (void)state;
    enum { SLOTS = 6, CONVS = 30, MAXB = 24, STEPS = 6000 };
    const char *pols[] = {"lru", "fifo"};
    for (int pi = 0; pi < 2; pi++)
        for (int m = 0; m < 2; m++) {
            uint64_t caps[] = {12, 20, 30};
            cc_pc_config cfg = config(m ? CC_PC_INDEPENDENT : CC_PC_PREFIX, pols[pi], 3, caps);
            cfg.tiers[1].policy = cc_policy_find(pols[1 - pi]); /* mixed policies */
            cc_prefix_cache *pc;
            cc_err e = {0};
            assert_int_equal(cc_pc_create(&cfg, &pc, &e), CC_OK);
            gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
            gsl_rng_set(r, 77 + pi * 2 + m);
            static uint64_t conv[CONVS][MAXB];
            static uint32_t conv_len[CONVS];
            memset(conv_len, 0, sizeof conv_len);
            /* up to SLOTS requests in flight: looked up, inserted, released
             * at random moments */
            struct {
                int phase; /* 0 free, 1 looked up, 2 inserted */
                uint64_t blocks[MAXB];
                uint32_t nodes[MAXB], n;
            } fl[SLOTS];
            memset(fl, 0, sizeof fl);
            uint64_t served_lower = 0;
            for (int step = 0; step < STEPS; step++) {
                int i = (int)gsl_rng_uniform_int(r, SLOTS);
                cc_pc_request q = req(fl[i].blocks, fl[i].n, fl[i].n * 4, (uint64_t)step);
                if (fl[i].phase == 0) {
                    uint32_t c = (uint32_t)gsl_rng_uniform_int(r, CONVS);
                    if (conv_len[c] == 0 || conv_len[c] > MAXB - 4) {
                        conv[c][0] = mix(0, gsl_rng_uniform_int(r, 3));
                        conv_len[c] = 1;
                    }
                    uint32_t add = 1 + (uint32_t)gsl_rng_uniform_int(r, 3);
                    for (uint32_t j = 0; j < add; j++, conv_len[c]++)
                        conv[c][conv_len[c]] = mix(conv[c][conv_len[c] - 1], gsl_rng_get(r));
                    fl[i].n = conv_len[c];
                    memcpy(fl[i].blocks, conv[c], fl[i].n * sizeof(uint64_t));
                    q = req(fl[i].blocks, fl[i].n, fl[i].n * 4, (uint64_t)step);
                    cc_pc_hits h;
                    cc_pc_lookup(pc, &q, fl[i].nodes, &h);
                    served_lower += h.tier_blocks[1] + h.tier_blocks[2];
                    fl[i].phase = 1;
                } else if (fl[i].phase == 1) {
                    cc_pc_insert(pc, &q, fl[i].nodes, NULL);
                    fl[i].phase = 2;
                } else {
                    cc_pc_release(pc, fl[i].nodes, fl[i].n);
                    fl[i].phase = 0;
                }
                if (step % 7 == 0)
                    check(pc);
            }
            for (int i = 0; i < SLOTS; i++)
                if (fl[i].phase)
                    cc_pc_release(pc, fl[i].nodes, fl[i].n);
            check(pc);
            for (uint32_t x = 0; x < 62; x++) {
                const cc_pc_node *nd = cc_pc_node_get(pc, x);
                if (nd)
                    assert_int_equal(nd->refs, 0);
            }
            assert_true(served_lower > 0);
            assert_true(cc_pc_get_stats(pc)->tier[2].dropped_blocks > 0);
            gsl_rng_free(r);
            cc_pc_destroy(pc);
        }
}

/* ---- configuration errors ------------------------------------------------------------------- */
static void test_tier_spec(void **state)
{
    (void)state;
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    cc_err e = {0};
    const cc_policy_ops *fifo = cc_policy_find("fifo");
    assert_int_equal(cc_pc_parse_tiers("hbm:10000,dram:2GiB:bw=25GB/s:lat=5us:policy=lru,"
                                       "ssd:inf:policy=fifo",
                                       NULL, NULL, 1 << 20, &c, &e),
                     CC_OK);
    assert_int_equal(c.n_tiers, 3);
    assert_string_equal(c.tiers[0].name, "hbm");
    assert_int_equal(c.tiers[0].capacity_blocks, 10000);
    assert_null(c.tiers[0].policy);
    assert_int_equal(c.tiers[1].capacity_blocks, 2048); /* 2 GiB / 1 MiB */
    assert_float_equal(c.tiers[1].bandwidth_bytes_per_s, 25e9, 1);
    assert_float_equal(c.tiers[1].latency_s, 5e-6, 1e-15);
    assert_string_equal(c.tiers[1].policy->name, "lru");
    assert_int_equal(c.tiers[2].capacity_blocks, 0);
    assert_ptr_equal(c.tiers[2].policy, fifo);
    /* the default policy and parameters in parentheses */
    assert_int_equal(cc_pc_parse_tiers("a:5:policy=lru(x=1,y=2),b:1e3", fifo, NULL, 0, &c, &e),
                     CC_OK);
    assert_int_equal(c.tiers[0].policy_params.n, 2);
    assert_ptr_equal(c.tiers[1].policy, fifo);
    assert_int_equal(c.tiers[1].capacity_blocks, 1000);

    static const struct {
        const char *spec;
        const char *needle;
    } bad[] = {
        {"", "empty"},
        {"hbm", "NAME:CAPACITY"},
        {":10", "NAME:CAPACITY"},
        {"hbm:ten", "capacity 'ten'"},
        {"hbm:-5", "capacity '-5'"},
        {"hbm:0", "expected 1.."},
        {"hbm:1.5", "not an integer"},
        {"hbm:10GB", "KV bytes per token"},
        {"hbm:10:bw", "not key=value"},
        {"hbm:10:bw=fast", "bw 'fast'"},
        {"hbm:10:lat=5 parsecs", "lat '5 parsecs'"},
        {"hbm:10:color=red", "unknown key 'color'"},
        {"hbm:10:policy=nope", "unknown policy 'nope'"},
        {"hbm:999999999999", "expected 1.."},
        {"a:1,b:1,c:1,d:1,e:1", "more than 4 tiers"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        int rc = cc_pc_parse_tiers(bad[i].spec, NULL, NULL, 0, &c, &e);
        assert_int_equal(rc, CC_EARG);
        assert_true(!strcmp(e.field, "tiers") || !strcmp(e.field, "policy"));
        if (!strstr(e.msg, bad[i].needle))
            fail_msg("spec '%s': message '%s' lacks '%s'", bad[i].spec, e.msg, bad[i].needle);
    }

    /* cc_pc_create's own checks */
    uint64_t caps[] = {10};
    cc_pc_config cfg = config(CC_PC_PREFIX, "lru", 1, caps);
    cc_prefix_cache *pc;
    cfg.n_tiers = 0;
    assert_int_equal(cc_pc_create(&cfg, &pc, &e), CC_EARG);
    assert_string_equal(e.field, "tiers");
    cfg.n_tiers = 1;
    cfg.tiers[0].capacity_blocks = 0;
    assert_int_equal(cc_pc_create(&cfg, &pc, &e), CC_EARG);
    assert_string_equal(e.field, "capacity");
    cfg.tiers[0].capacity_blocks = 10;
    cfg.block_tokens = 0;
    assert_int_equal(cc_pc_create(&cfg, &pc, &e), CC_EARG);
    assert_string_equal(e.field, "block_size");
    cfg.block_tokens = 4;
    cfg.mode = (cc_pc_mode)7;
    assert_int_equal(cc_pc_create(&cfg, &pc, &e), CC_EARG);
    assert_string_equal(e.field, "mode");
    cfg.mode = CC_PC_PREFIX;
    assert_int_equal(cc_policy_parse("lru(k=1)", &cfg.tiers[0].policy, &cfg.tiers[0].policy_params,
                                     &e), CC_OK);
    assert_int_equal(cc_pc_create(&cfg, &pc, &e), CC_EARG);
    assert_string_equal(e.field, "k");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_index_vs_bruteforce),
        cmocka_unit_test(test_bytes_per_block),
        cmocka_unit_test(test_every_policy_within_budget),
        cmocka_unit_test(test_access_loops),
        cmocka_unit_test(test_flat_staged_path),
        cmocka_unit_test(test_prefix_rule),
        cmocka_unit_test(test_leaf_only_eviction),
        cmocka_unit_test(test_pins),
        cmocka_unit_test(test_two_tiers_exact),
        cmocka_unit_test(test_child_counts_past_a_byte),
        cmocka_unit_test(test_promotion_without_room),
        cmocka_unit_test(test_independent_two_tiers),
        cmocka_unit_test(test_vs_bruteforce),
        cmocka_unit_test(test_invariants_random),
        cmocka_unit_test(test_tier_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
