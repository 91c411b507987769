/* test_chunk_store.c -- the chunk KV store (core/chunk_store.h): keys name the
 * content and not the position; chunk blocks share the tiers, capacity and
 * policy of prefix blocks (hand-worked scenarios with one and two tiers);
 * and, on random mixes of chunk and prefix requests with overlapping pins,
 * every hit, insert and eviction against a brute-force twin of one LRU tier
 * and of one FIFO tier under the prefix rule (a list of blocks with stamps
 * and linear scans). */
#include "testutil.h"
#include "core/chunk_store.h"
#include "traces/traces.h"

static cc_prefix_cache *make(const char *policy, uint32_t n_tiers, const uint64_t *caps)
{
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.mode = CC_PC_PREFIX;
    c.block_tokens = 4;
    c.kv_bytes_per_block = 1000;
    c.n_tiers = n_tiers;
    for (uint32_t k = 0; k < n_tiers; k++) {
        snprintf(c.tiers[k].name, sizeof c.tiers[k].name, "t%u", k);
        c.tiers[k].capacity_blocks = caps[k];
        c.tiers[k].policy = cc_policy_find(policy);
    }
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

/* lookup + insert + release of one chunk; returns the blocks served */
static uint32_t use_chunk(cc_chunk_store *cs, const cc_chunk_ref *c, uint64_t req, cc_pc_hits *h)
{
    uint32_t nodes[64], added;
    cc_err e = {0};
    assert_true(cc_cs_n_blocks(cs, c) <= 64);
    assert_int_equal(cc_cs_lookup(cs, c, req, (int64_t)req, nodes, h, &e), CC_OK);
    assert_int_equal(cc_cs_insert(cs, c, req, (int64_t)req, nodes, &added, &e), CC_OK);
    cc_cs_release(cs, nodes, cc_cs_n_blocks(cs, c));
    return h->blocks;
}

static void use_prefix(cc_prefix_cache *pc, const uint64_t *blocks, uint32_t n, uint32_t tokens,
                       uint64_t req, cc_pc_hits *h)
{
    uint32_t nodes[64], added;
    cc_pc_request r;
    memset(&r, 0, sizeof r);
    r.blocks = blocks;
    r.n_blocks = n;
    r.input_tokens = tokens;
    r.index = req;
    r.time_ns = (int64_t)req;
    assert_int_equal(cc_pc_lookup(pc, &r, nodes, h), CC_OK);
    assert_int_equal(cc_pc_insert(pc, &r, nodes, &added), CC_OK);
    cc_pc_release(pc, nodes, n);
}

/* A passage at two positions of two prompts (a rag trace's chunks) has one
 * set of keys; a different passage, tenant or length another. */
static void test_keys_by_content(void **state)
{
    (void)state;
    cc_chunk a = {.text_off = 0, .text_len = 40, .kind = CC_CHUNK_PASSAGE, .token_start = 0,
                  .token_len = 10, .chunk_hash = 0x1234};
    cc_chunk b = a;
    b.token_start = 3000; /* the same passage later in another prompt */
    cc_chunk_ref ra = {a.chunk_hash, a.token_len, 0}, rb = {b.chunk_hash, b.token_len, 0};
    uint64_t ka[3], kb[3];
    cc_cs_block_keys(&ra, 4, ka);
    cc_cs_block_keys(&rb, 4, kb);
    assert_memory_equal(ka, kb, sizeof ka);
    assert_true(ka[0] != ka[1] && ka[1] != ka[2] && ka[0] != ka[2]);
    cc_chunk_ref other[3] = {{0x1235, 10, 0}, {0x1234, 10, 1}, {0x1234, 11, 0}};
    for (int k = 0; k < 3; k++) {
        uint64_t ko[3];
        cc_cs_block_keys(&other[k], 4, ko);
        for (int j = 0; j < 3; j++)
            assert_true(ko[j] != ka[0] && ko[j] != ka[1] && ko[j] != ka[2]);
    }
    /* and a chunk's keys are not the prefix chain of its tokens */
    uint32_t tok[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    uint64_t chain[3];
    cc_block_chain(0, tok, 10, 4, chain);
    cc_chunk_ref rt = {cc_hash_bytes(tok, sizeof tok, 0), 10, 0};
    cc_cs_block_keys(&rt, 4, ka);
    for (int j = 0; j < 3; j++)
        assert_true(ka[j] != chain[0] && ka[j] != chain[1] && ka[j] != chain[2]);
}

/* One LRU tier of 8 blocks shared by a 5-block prefix and chunks.
 *  1. prefix P (5 blocks, 20 tokens) stored                  used 5
 *  2. chunk X (10 tokens = 3 blocks, last partial) misses, stored   used 8
 *  3. chunk X again: whole hit, 3 blocks, 10 tokens
 *  4. chunk Y (2 blocks) misses: the tier is full; LRU's oldest leaf is
 *     P's last block (P used at 1, X at 3): P loses its blocks 4 and 3
 *                                                             used 8, evicted 2
 *  5. prefix P: serves its first 3 blocks only (12 tokens)
 *  6. stats: lookups 3, whole hits 1, partial 0, tokens 28 asked, 10 hit */
static void test_shared_tier(void **state)
{
    (void)state;
    uint64_t caps[1] = {8};
    cc_prefix_cache *pc = make("lru", 1, caps);
    cc_chunk_store cs;
    cc_err e = {0};
    assert_int_equal(cc_cs_init(&cs, pc, &e), CC_OK);
    uint64_t P[5] = {101, 102, 103, 104, 105};
    cc_pc_hits h;
    use_prefix(pc, P, 5, 20, 1, &h);
    assert_int_equal(h.blocks, 0);
    cc_chunk_ref X = {0xaaaa, 10, 0}, Y = {0xbbbb, 8, 0};
    assert_int_equal(use_chunk(&cs, &X, 2, &h), 0);
    assert_int_equal(cc_pc_tier_used(pc, 0), 8);
    assert_int_equal(use_chunk(&cs, &X, 3, &h), 3);
    assert_int_equal(h.tokens, 10);
    assert_int_equal(h.tier_blocks[0], 3);
    assert_int_equal(use_chunk(&cs, &Y, 4, &h), 0);
    assert_int_equal(cc_pc_tier_used(pc, 0), 8);
    assert_int_equal(cc_pc_get_stats(pc)->tier[0].evicted_blocks, 2);
    assert_true(cc_pc_find(pc, 105) == CC_NODE_NONE);
    assert_true(cc_pc_find(pc, 104) == CC_NODE_NONE);
    assert_true(cc_pc_find(pc, 103) != CC_NODE_NONE);
    use_prefix(pc, P, 5, 20, 5, &h);
    assert_int_equal(h.blocks, 3);
    assert_int_equal(h.tokens, 12);
    assert_int_equal(cs.stats.lookups, 3);
    assert_int_equal(cs.stats.whole_hits, 1);
    assert_int_equal(cs.stats.partial_hits, 0);
    assert_int_equal(cs.stats.lookup_tokens, 28);
    assert_int_equal(cs.stats.hit_tokens, 10);
    assert_int_equal(cs.stats.inserted_blocks, 5);
    check(pc);
    cc_cs_free(&cs);
    cc_pc_destroy(pc);
}

/* Two tiers (2 + 4 blocks): a chunk pushed out of the top tier is demoted,
 * found in the second tier on its next lookup (counted there, bytes up),
 * promoted back; a partial hit when its last block fell out of the cache.
 *  1. X (3 blocks) stored in t0 (2 blocks): t0 holds X0.. no: a chain of 3
 *     pinned new blocks does not fit 2 slots -> X0, X1 stored, X2 not
 *     (no room: both are pinned)                              t0 {X0 X1}
 *  2. Y (2 blocks): t0 full, X1 then X0 demoted to t1           t0 {Y0 Y1} t1 {X0 X1}
 *  3. X: X0, X1 served from t1 (2 blocks, 8 tokens), promoted (Y demoted);
 *     X2 still cannot be placed (t0 holds X0 X1 pinned): partial hit */
static void test_two_tiers(void **state)
{
    (void)state;
    uint64_t caps[2] = {2, 4};
    cc_prefix_cache *pc = make("lru", 2, caps);
    cc_chunk_store cs;
    cc_err e = {0};
    assert_int_equal(cc_cs_init(&cs, pc, &e), CC_OK);
    cc_chunk_ref X = {0x1111, 12, 0}, Y = {0x2222, 8, 0};
    cc_pc_hits h;
    assert_int_equal(use_chunk(&cs, &X, 1, &h), 0);
    assert_int_equal(cc_pc_tier_used(pc, 0), 2);
    assert_int_equal(cs.stats.inserted_blocks, 2);
    assert_int_equal(use_chunk(&cs, &Y, 2, &h), 0);
    assert_int_equal(cc_pc_tier_used(pc, 0), 2);
    assert_int_equal(cc_pc_tier_used(pc, 1), 2);
    assert_int_equal(use_chunk(&cs, &X, 3, &h), 2);
    assert_int_equal(h.tier_blocks[1], 2);
    assert_int_equal(h.tier_tokens[1], 8);
    assert_int_equal(cs.stats.partial_hits, 1);
    const cc_pc_stats *st = cc_pc_get_stats(pc);
    assert_int_equal(st->tier[1].promoted_blocks, 2);
    assert_int_equal(st->tier[1].bytes_up, 2000);
    uint32_t tier;
    uint64_t keys[3];
    cc_cs_block_keys(&X, 4, keys);
    cc_pc_node_place(pc, cc_pc_find(pc, keys[0]), &tier);
    assert_int_equal(tier, 0);
    check(pc);
    cc_cs_free(&cs);
    cc_pc_destroy(pc);
}

static void test_bad_args(void **state)
{
    (void)state;
    uint64_t caps[1] = {8};
    cc_prefix_cache *pc = make("lru", 1, caps);
    cc_chunk_store cs;
    cc_err e = {0};
    assert_int_equal(cc_cs_init(&cs, NULL, &e), CC_EARG);
    assert_int_equal(cc_cs_init(&cs, pc, &e), CC_OK);
    cc_chunk_ref z = {1, 0, 0};
    uint32_t nodes[1];
    cc_pc_hits h;
    assert_int_equal(cc_cs_lookup(&cs, &z, 0, 0, nodes, &h, &e), CC_EARG);
    assert_string_equal(e.field, "tokens");
    assert_int_equal(cc_cs_match(&cs, &z, &h, &e), CC_EARG);
    cc_cs_free(&cs);
    cc_pc_destroy(pc);
}

/* ---- brute-force twin: one LRU or FIFO tier, prefix rule --------------------
 * Blocks are (key, parent key) with a stamp.  LRU: a lookup serves the
 * leading run of cached blocks and stamps them (block j of operation o gets
 * o * 4096 - j: ancestors newer than descendants, as the cache's call order
 * makes them), a new block gets the same; FIFO: hits change nothing, a new
 * block gets the next insertion number.  An insert places the missing blocks first to last, each one
 * evicting, when the tier is full, the cached block with the smallest stamp
 * among those that are unpinned and have no cached child; with none, it and
 * the rest of the chain are not stored. */
#define TW_MAX 4096
typedef struct twin {
    uint64_t key[TW_MAX], parent[TW_MAX];
    int64_t stamp[TW_MAX];
    int cached[TW_MAX], pins[TW_MAX];
    size_t n;
    uint64_t cap, used, evicted;
    int fifo;
    int64_t inserts;
} twin;

static size_t tw_find(twin *t, uint64_t key, uint64_t parent, int add)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->key[i] == key)
            return i;
    if (!add)
        return SIZE_MAX;
    assert_true(t->n < TW_MAX);
    t->key[t->n] = key;
    t->parent[t->n] = parent;
    t->cached[t->n] = t->pins[t->n] = 0;
    return t->n++;
}

static int tw_has_cached_child(const twin *t, size_t i)
{
    for (size_t k = 0; k < t->n; k++)
        if (t->cached[k] && t->parent[k] == t->key[i] && k != i)
            return 1;
    return 0;
}

/* One operation on chain keys[0..n); pins what it serves and stores into
 * held[] (SIZE_MAX for blocks not cached); returns served, *added stored. */
static uint32_t tw_op(twin *t, const uint64_t *keys, uint32_t n, int64_t op, size_t *held,
                      uint32_t *added)
{
    uint32_t served = 0;
    while (served < n) {
        size_t i = tw_find(t, keys[served], 0, 0);
        if (i == SIZE_MAX || !t->cached[i])
            break;
        if (!t->fifo)
            t->stamp[i] = op * 4096 - served;
        t->pins[i]++;
        held[served++] = i;
    }
    *added = 0;
    uint32_t j = served;
    for (; j < n; j++) {
        size_t i = tw_find(t, keys[j], j ? keys[j - 1] : 0, 1);
        if (t->used == t->cap) {
            size_t v = SIZE_MAX;
            for (size_t k = 0; k < t->n; k++)
                if (t->cached[k] && !t->pins[k] && !tw_has_cached_child(t, k) &&
                    (v == SIZE_MAX || t->stamp[k] < t->stamp[v]))
                    v = k;
            if (v == SIZE_MAX)
                break;
            t->cached[v] = 0;
            t->used--;
            t->evicted++;
        }
        t->cached[i] = 1;
        t->used++;
        t->stamp[i] = t->fifo ? ++t->inserts : op * 4096 - j;
        t->pins[i]++;
        held[j] = i;
        (*added)++;
    }
    for (; j < n; j++)
        held[j] = SIZE_MAX;
    return served;
}

static void tw_release(twin *t, const size_t *held, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++)
        if (held[j] != SIZE_MAX)
            t->pins[held[j]]--;
}

typedef struct pending {
    int is_chunk;
    uint32_t n;
    uint32_t nodes[16];
    size_t held[16];
} pending;

static void test_against_twin(void **state)
{
    (void)state;
    uint64_t x = 99;
    for (int round = 0; round < 12; round++) {
        uint64_t cap = 12 + 10 * (uint64_t)(round % 6);
        uint64_t caps[1] = {cap};
        int fifo = round >= 6;
        cc_prefix_cache *pc = make(fifo ? "fifo" : "lru", 1, caps);
        cc_chunk_store cs;
        cc_err e = {0};
        assert_int_equal(cc_cs_init(&cs, pc, &e), CC_OK);
        static twin tw;
        memset(&tw, 0, sizeof tw);
        tw.cap = cap;
        tw.fifo = fifo;
        /* a pool of chunks and of prompts made of shared heads */
        cc_chunk_ref chunks[12];
        for (int k = 0; k < 12; k++)
            chunks[k] = (cc_chunk_ref){cc_mix64(1000 + k), 1 + (uint32_t)(cc_mix64(k + 7) % 40),
                                       (uint32_t)(k % 5 == 0)};
        uint32_t heads[4][40];
        for (int h = 0; h < 4; h++)
            for (int k = 0; k < 40; k++)
                heads[h][k] = (uint32_t)(h * 1000 + k);
        pending pend[2];
        int n_pend = 0;
        uint64_t served_total = 0, evicted_seen = 0;
        for (int64_t op = 1; op <= 600; op++) {
            x = cc_mix64(x);
            pending p;
            memset(&p, 0, sizeof p);
            uint64_t keys[16];
            cc_pc_hits h;
            uint32_t added_pc = 0, added_tw = 0, served_tw;
            if (x % 3) { /* a chunk, Zipf-ish over the pool */
                int k = (int)((x >> 8) % 12);
                if ((x >> 20) % 2)
                    k = k % 3;
                cc_chunk_ref *c = &chunks[k];
                p.is_chunk = 1;
                p.n = cc_cs_n_blocks(&cs, c);
                cc_cs_block_keys(c, 4, keys);
                assert_int_equal(cc_cs_lookup(&cs, c, (uint64_t)op, op, p.nodes, &h, &e), CC_OK);
                assert_int_equal(cc_cs_insert(&cs, c, (uint64_t)op, op, p.nodes, &added_pc, &e),
                                 CC_OK);
            } else { /* a prompt: a head of 8..40 tokens, then a tail of its own */
                int hd = (int)((x >> 8) % 4);
                uint32_t len = 8 + (uint32_t)((x >> 16) % 33), tok[64];
                memcpy(tok, heads[hd], len * sizeof *tok);
                uint32_t tail = (uint32_t)((x >> 32) % 3);
                for (uint32_t k = 0; k < tail * 4; k++)
                    tok[len + k] = (uint32_t)(op * 100 + k);
                len += tail * 4;
                p.n = (uint32_t)cc_block_chain(0, tok, len, 4, keys);
                cc_pc_request r;
                memset(&r, 0, sizeof r);
                r.blocks = keys;
                r.n_blocks = p.n;
                r.input_tokens = len;
                r.index = (uint64_t)op;
                r.time_ns = op;
                assert_int_equal(cc_pc_lookup(pc, &r, p.nodes, &h), CC_OK);
                assert_int_equal(cc_pc_insert(pc, &r, p.nodes, &added_pc), CC_OK);
            }
            served_tw = tw_op(&tw, keys, p.n, op, p.held, &added_tw);
            if (h.blocks != served_tw || added_pc != added_tw)
                fail_msg("round %d op %lld: served %u / twin %u, added %u / twin %u", round,
                         (long long)op, h.blocks, served_tw, added_pc, added_tw);
            served_total += h.blocks;
            /* release now, or hold the pins across the next operation */
            if ((x >> 40) % 2 && n_pend < 2) {
                pend[n_pend++] = p;
            } else {
                cc_pc_release(pc, p.nodes, p.n);
                tw_release(&tw, p.held, p.n);
            }
            if (n_pend && (x >> 44) % 3 == 0) {
                pending *q = &pend[--n_pend];
                cc_pc_release(pc, q->nodes, q->n);
                tw_release(&tw, q->held, q->n);
            }
            evicted_seen = cc_pc_get_stats(pc)->tier[0].evicted_blocks;
            assert_int_equal(evicted_seen, tw.evicted);
            assert_int_equal(cc_pc_tier_used(pc, 0), tw.used);
        }
        while (n_pend) {
            pending *q = &pend[--n_pend];
            cc_pc_release(pc, q->nodes, q->n);
        }
        for (size_t i = 0; i < tw.n; i++)
            assert_int_equal(cc_pc_find(pc, tw.key[i]) != CC_NODE_NONE, tw.cached[i]);
        assert_true(served_total > 0);
        assert_true(evicted_seen > 0);
        check(pc);
        cc_cs_free(&cs);
        cc_pc_destroy(pc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_by_content),
        cmocka_unit_test(test_shared_tier),
        cmocka_unit_test(test_two_tiers),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_against_twin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
