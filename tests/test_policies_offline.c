/* test_policies_offline.c -- the gdsf, ttl, trt and belady policies.
 *
 * Each runs through the real cache (independent mode, one tier) on random
 * streams next to a brute-force twin written plainly here (arrays of
 * objects searched in O(n)); the hit/miss sequences must be identical.
 * Belady's misses are <= every registered policy's on random streams and
 * equal an exhaustive search over all eviction choices on small streams.
 * Hand-computed timelines: TTL expiry and refresh (exact times, a parent
 * waiting for its child, expiry in a lower tier), a GDSF example with mixed
 * sizes and costs, TRT priority order and the duration fallback.  Prefix
 * mode: every registered policy on random tree-shaped traces with one and
 * two tiers keeps the cache's invariants (cc_pc_check) and never drops a
 * pinned block. */
#include "testutil.h"
#include "core/prefix_cache.h"

#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>

#define SEC INT64_C(1000000000)

/* ---- a random stream of requests over a small universe ------------------------- */
typedef struct stream {
    uint32_t n_req, n_acc;
    uint32_t *off;        /* off[i] .. off[i+1]: request i's accesses */
    uint64_t *key;        /* per access */
    double *cost;         /* per access */
    uint64_t *next;       /* per access: position of the next access to the key */
    int64_t *time;        /* per request */
    int32_t *prio;        /* per request */
    int64_t *dur;         /* per request */
} stream;

static void stream_make(stream *s, uint32_t n_req, uint32_t max_blocks, uint32_t universe,
                        uint64_t seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    s->n_req = n_req;
    s->off = malloc((n_req + 1) * sizeof *s->off);
    s->time = malloc(n_req * sizeof *s->time);
    s->prio = malloc(n_req * sizeof *s->prio);
    s->dur = malloc(n_req * sizeof *s->dur);
    size_t cap = (size_t)n_req * max_blocks;
    s->key = malloc(cap * sizeof *s->key);
    s->cost = malloc(cap * sizeof *s->cost);
    s->next = malloc(cap * sizeof *s->next);
    static const int32_t prios[] = {10, 35, 60, 90};
    static const int64_t durs[] = {0, 2 * SEC, 5 * SEC};
    uint32_t n = 0;
    int64_t t = 0;
    for (uint32_t i = 0; i < n_req; i++) {
        s->off[i] = n;
        t += 1 + (int64_t)(gsl_ran_exponential(r, 1.0) * SEC); /* distinct times */
        s->time[i] = t;
        s->prio[i] = prios[gsl_rng_uniform_int(r, 4)];
        s->dur[i] = durs[gsl_rng_uniform_int(r, 3)];
        uint32_t nb = 1 + (uint32_t)gsl_rng_uniform_int(r, max_blocks);
        for (uint32_t j = 0; j < nb; j++) {
            /* skewed popularity so that hits happen */
            s->key[n] = 1 + (uint64_t)(gsl_rng_uniform_int(r, universe) * gsl_rng_uniform(r));
            s->cost[n] = 1 + 100 * gsl_rng_uniform(r); /* continuous: no ties in H */
            n++;
        }
    }
    s->off[n_req] = n;
    s->n_acc = n;
    for (uint32_t p = 0; p < n; p++) { /* next use, plainly: scan forward */
        s->next[p] = CC_NEXT_USE_NEVER;
        for (uint32_t q = p + 1; q < n; q++)
            if (s->key[q] == s->key[p]) {
                s->next[p] = q;
                break;
            }
    }
    gsl_rng_free(r);
}

static void stream_free(stream *s)
{
    free(s->off);
    free(s->key);
    free(s->cost);
    free(s->next);
    free(s->time);
    free(s->prio);
    free(s->dur);
}

static cc_pc_config config1(cc_pc_mode mode, const char *spec, uint64_t cap)
{
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.mode = mode;
    c.block_tokens = 4;
    c.kv_bytes_per_block = 3;
    c.n_tiers = 1;
    snprintf(c.tiers[0].name, sizeof c.tiers[0].name, "hbm");
    c.tiers[0].capacity_blocks = cap;
    cc_err e = {0};
    if (cc_policy_parse(spec, &c.tiers[0].policy, &c.tiers[0].policy_params, &e) != CC_OK)
        fail_msg("%s: %s", spec, e.msg);
    return c;
}

static cc_pc_request request_of(const stream *s, uint32_t i, uint32_t block_tokens)
{
    cc_pc_request rq = {
        .blocks = s->key + s->off[i],
        .n_blocks = s->off[i + 1] - s->off[i],
        .input_tokens = (s->off[i + 1] - s->off[i]) * block_tokens,
        .index = i,
        .time_ns = s->time[i],
        .first_seq = s->off[i],
        .next_use = s->next + s->off[i],
        .cost = s->cost + s->off[i],
        .has_priority = true,
        .priority = s->prio[i],
        .priority_duration_ns = s->dur[i],
    };
    return rq;
}

/* Runs s through a one-tier independent cache; hit[p] = 1 when access p hit.
 * Returns the misses. */
static uint64_t run_cache(const stream *s, const char *spec, uint64_t cap, uint8_t *hit)
{
    cc_pc_config c = config1(CC_PC_INDEPENDENT, spec, cap);
    cc_prefix_cache *pc;
    cc_err e = {0};
    if (cc_pc_create(&c, &pc, &e) != CC_OK)
        fail_msg("%s: %s", spec, e.msg);
    uint64_t misses = 0;
    for (uint32_t i = 0; i < s->n_req; i++) {
        cc_pc_request rq = request_of(s, i, c.block_tokens);
        for (uint32_t j = 0; j < rq.n_blocks; j++) {
            int k;
            assert_int_equal(cc_pc_access(pc, &rq, j, &k), CC_OK);
            if (hit)
                hit[s->off[i] + j] = k == 0;
            misses += k < 0;
        }
    }
    assert_int_equal(cc_pc_check(pc, &e), CC_OK);
    cc_pc_destroy(pc);
    return misses;
}

/* ---- the brute-force twin --------------------------------------------------------
 * One record per cached object; victims by a linear search. */
enum { P_GDSF, P_TTL, P_TRT, P_BELADY };
typedef struct tobj {
    uint64_t key;
    uint32_t freq;
    double h;       /* GDSF */
    int64_t exp;    /* TTL */
    int32_t prio;   /* TRT */
    int64_t until;  /* TRT: INT64_MAX = for ever */
    uint64_t stamp; /* TRT */
    uint64_t next;  /* Belady */
} tobj;

typedef struct twin_params {
    int64_t ttl_ns;
    int refresh;
    uint32_t prefix_blocks;
    int32_t system_priority;
    int64_t duration_ns;
} twin_params;

static void twin_touch(int pol, const twin_params *tp, tobj *o, const stream *s, uint32_t i,
                       uint32_t p, double L, uint64_t stamp, int fresh)
{
    uint32_t depth = p - s->off[i];
    int64_t t = s->time[i];
    o->freq = fresh ? 1 : o->freq + 1;
    o->h = L + (double)o->freq * s->cost[p] / 3.0; /* size = kv_bytes_per_block = 3 */
    if (fresh || tp->refresh)
        o->exp = t + tp->ttl_ns;
    int32_t pr = s->prio[i];
    int64_t d = s->dur[i];
    if (depth < tp->prefix_blocks) {
        pr = tp->system_priority;
        d = tp->duration_ns;
    }
    o->prio = pr;
    o->until = pr != 35 && d > 0 ? t + d : INT64_MAX;
    o->stamp = stamp;
    o->next = s->next[p];
}

static uint64_t run_twin(const stream *s, int pol, const twin_params *tp, uint32_t cap,
                         uint8_t *hit)
{
    tobj *c = calloc(cap, sizeof *c);
    uint32_t n = 0;
    double L = 0;
    uint64_t stamp = 0, misses = 0;
    for (uint32_t i = 0; i < s->n_req; i++) {
        int64_t t = s->time[i];
        if (pol == P_TTL) /* expiry first: everything with exp <= t goes */
            for (uint32_t x = 0; x < n;) {
                if (c[x].exp <= t)
                    c[x] = c[--n];
                else
                    x++;
            }
        for (uint32_t p = s->off[i]; p < s->off[i + 1]; p++) {
            uint32_t x;
            for (x = 0; x < n && c[x].key != s->key[p]; x++)
                ;
            if (x < n) {
                hit[p] = 1;
                twin_touch(pol, tp, &c[x], s, i, p, L, ++stamp, 0);
                continue;
            }
            hit[p] = 0;
            misses++;
            if (n == cap) {
                uint32_t v = 0;
                for (uint32_t y = 1; y < n; y++) {
                    int better = 0;
                    switch (pol) {
                    case P_GDSF: better = c[y].h < c[v].h; break;
                    case P_TTL: better = c[y].exp < c[v].exp; break;
                    case P_BELADY: better = c[y].next > c[v].next; break;
                    case P_TRT: {
                        int32_t py = c[y].until <= t ? 35 : c[y].prio;
                        int32_t pv = c[v].until <= t ? 35 : c[v].prio;
                        better = py < pv || (py == pv && c[y].stamp < c[v].stamp);
                        break;
                    }
                    }
                    if (better)
                        v = y;
                }
                if (pol == P_GDSF && c[v].h > L)
                    L = c[v].h;
                c[v] = c[--n];
            }
            c[n].key = s->key[p];
            twin_touch(pol, tp, &c[n], s, i, p, L, ++stamp, 1);
            n++;
        }
    }
    free(c);
    return misses;
}

static void compare(const char *spec, int pol, const twin_params *tp, uint32_t max_blocks,
                    uint64_t seed)
{
    enum { REQ = 6000, UNIVERSE = 300, CAP = 40 };
    stream s;
    stream_make(&s, REQ, max_blocks, UNIVERSE, seed);
    uint8_t *a = malloc(s.n_acc), *b = malloc(s.n_acc);
    uint64_t ma = run_cache(&s, spec, CAP, a);
    uint64_t mb = run_twin(&s, pol, tp, CAP, b);
    for (uint32_t p = 0; p < s.n_acc; p++)
        if (a[p] != b[p])
            fail_msg("%s: access %u (key %llu): cache %s, twin %s", spec, p,
                     (unsigned long long)s.key[p], a[p] ? "hit" : "miss", b[p] ? "hit" : "miss");
    assert_int_equal(ma, mb);
    /* the stream must exercise both outcomes */
    if (ma < s.n_acc / 10 || ma > s.n_acc - s.n_acc / 20)
        fail_msg("%s: %llu misses of %u accesses", spec, (unsigned long long)ma, s.n_acc);
    free(a);
    free(b);
    stream_free(&s);
}

static void test_gdsf_vs_twin(void **state)
{
    (void)state;
    twin_params tp = {0};
    compare("gdsf", P_GDSF, &tp, 3, 101);
    compare("gdsf", P_GDSF, &tp, 1, 102);
}

static void test_ttl_vs_twin(void **state)
{
    (void)state;
    /* one block per request: ties in expiry would go to the smaller slot,
     * which the twin does not model */
    twin_params tp = {.ttl_ns = 20 * SEC, .refresh = 1};
    compare("ttl(ttl_s=20)", P_TTL, &tp, 1, 201);
    tp.refresh = 0;
    compare("ttl(ttl_s=20,refresh=0)", P_TTL, &tp, 1, 202);
    tp.ttl_ns = 40 * SEC;
    tp.refresh = 1;
    compare("ttl(ttl_s=40,refresh=1)", P_TTL, &tp, 1, 203);
}

static void test_trt_vs_twin(void **state)
{
    (void)state;
    twin_params tp = {.prefix_blocks = 0};
    compare("trt", P_TRT, &tp, 3, 301);
    twin_params tp2 = {.prefix_blocks = 1, .system_priority = 80, .duration_ns = 3 * SEC};
    compare("trt(prefix_blocks=1,system_priority=80,duration_s=3)", P_TRT, &tp2, 3, 302);
    twin_params tp3 = {.prefix_blocks = 2, .system_priority = 95, .duration_ns = 0};
    compare("trt(prefix_blocks=2,system_priority=95)", P_TRT, &tp3, 4, 303);
    /* the 32-bit access stamps run out (and are renumbered) on the way */
    compare("trt(stamp_base=4294960000)", P_TRT, &tp, 3, 304);
    compare("trt(prefix_blocks=1,system_priority=80,duration_s=3,stamp_base=4294962000)", P_TRT,
            &tp2, 3, 305);
}

static void test_belady_vs_twin(void **state)
{
    (void)state;
    twin_params tp = {0};
    compare("belady", P_BELADY, &tp, 3, 401);
    compare("belady", P_BELADY, &tp, 1, 402);
}

/* ---- Belady: <= every policy; = exhaustive OPT on small streams ---------------------- */
static void test_belady_beats_all(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        stream s;
        stream_make(&s, 3000, 3, 400, 500 + seed);
        uint64_t b = run_cache(&s, "belady", 50, NULL);
        for (size_t i = 0; i < cc_policy_count(); i++) {
            const char *name = cc_policy_at(i)->name;
            uint64_t m = run_cache(&s, name, 50, NULL);
            if (b > m)
                fail_msg("seed %llu: belady %llu misses > %s %llu", (unsigned long long)seed,
                         (unsigned long long)b, name, (unsigned long long)m);
        }
        stream_free(&s);
    }
}

/* Fewest misses over every choice of victim at every full miss (no bypass:
 * a missed object is always cached, as in the cache). */
static uint32_t opt_search(const uint64_t *k, uint32_t n, uint32_t p, uint64_t *cache,
                           uint32_t used, uint32_t cap)
{
    for (; p < n; p++) {
        uint32_t x;
        for (x = 0; x < used && cache[x] != k[p]; x++)
            ;
        if (x < used)
            continue;
        if (used < cap) {
            cache[used++] = k[p];
            continue;
        }
        uint32_t best = UINT32_MAX;
        for (uint32_t v = 0; v < cap; v++) {
            uint64_t saved = cache[v];
            cache[v] = k[p];
            uint32_t m = opt_search(k, n, p + 1, cache, used, cap);
            cache[v] = saved;
            if (m < best)
                best = m;
        }
        return best + 1 + 0 * used;
    }
    return 0;
}

static uint32_t cold_plus_opt(const uint64_t *k, uint32_t n, uint32_t cap)
{
    uint64_t cache[8];
    /* opt_search counts the misses from the first full miss on; count the
     * cold misses before it separately by replaying until then */
    uint32_t used = 0, p, cold = 0;
    for (p = 0; p < n; p++) {
        uint32_t x;
        for (x = 0; x < used && cache[x] != k[p]; x++)
            ;
        if (x < used)
            continue;
        if (used == cap)
            break;
        cache[used++] = k[p];
        cold++;
    }
    return cold + opt_search(k, n, p, cache, used, cap);
}

static void test_belady_equals_opt(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 77);
    for (int trial = 0; trial < 40; trial++) {
        enum { N = 14 };
        uint32_t cap = 2 + (uint32_t)gsl_rng_uniform_int(r, 2);
        stream s;
        memset(&s, 0, sizeof s);
        uint32_t off[N + 1];
        uint64_t key[N], next[N];
        double cost[N];
        int64_t time[N];
        int32_t prio[N];
        int64_t dur[N];
        for (uint32_t i = 0; i < N; i++) {
            off[i] = i;
            key[i] = 1 + gsl_rng_uniform_int(r, 6);
            cost[i] = 4;
            time[i] = i;
            prio[i] = 35;
            dur[i] = 0;
        }
        off[N] = N;
        for (uint32_t p = 0; p < N; p++) {
            next[p] = CC_NEXT_USE_NEVER;
            for (uint32_t q = p + 1; q < N; q++)
                if (key[q] == key[p]) {
                    next[p] = q;
                    break;
                }
        }
        s = (stream){N, N, off, key, cost, next, time, prio, dur};
        uint64_t b = run_cache(&s, "belady", cap, NULL);
        uint32_t opt = cold_plus_opt(key, N, cap);
        if (b != opt)
            fail_msg("trial %d (cap %u): belady %llu misses, exhaustive optimum %u", trial, cap,
                     (unsigned long long)b, opt);
    }
    gsl_rng_free(r);
}

/* ---- TTL timelines by hand ---------------------------------------------------------- */
typedef struct ppc {
    cc_prefix_cache *pc;
    uint32_t nodes[16];
} ppc;

/* One prefix-mode request: lookup, insert, release; returns the hit blocks. */
static uint32_t preq(cc_prefix_cache *pc, const uint64_t *chain, uint32_t n, int64_t t)
{
    uint32_t nodes[16];
    cc_pc_request rq = {.blocks = chain, .n_blocks = n, .input_tokens = 4 * n, .time_ns = t};
    cc_pc_hits h;
    cc_pc_lookup(pc, &rq, nodes, &h);
    cc_pc_insert(pc, &rq, nodes, NULL);
    cc_pc_release(pc, nodes, n);
    return h.blocks;
}

static int cached(const cc_prefix_cache *pc, uint64_t key)
{
    return cc_pc_find(pc, key) != CC_NODE_NONE;
}

static void test_ttl_timeline(void **state)
{
    (void)state;
    cc_err e = {0};
    for (int refresh = 0; refresh <= 1; refresh++) {
        cc_pc_config c = config1(CC_PC_PREFIX, refresh ? "ttl(ttl_s=10,refresh=1)"
                                                       : "ttl(ttl_s=10,refresh=0)", 8);
        cc_prefix_cache *pc;
        assert_int_equal(cc_pc_create(&c, &pc, &e), CC_OK);
        uint64_t A[] = {1}, B[] = {2}, C[] = {3};
        assert_int_equal(cc_pc_next_expiry(pc), INT64_MAX);
        preq(pc, A, 1, 0);          /* A expires at 10 */
        preq(pc, B, 1, 5 * SEC);    /* B at 15 */
        assert_int_equal(preq(pc, A, 1, 8 * SEC), 1); /* refresh: A at 18 */
        assert_int_equal(cc_pc_next_expiry(pc), refresh ? 15 * SEC : 10 * SEC);
        preq(pc, C, 1, 10 * SEC - 1); /* C at 20 - 1ns; nothing expired yet */
        assert_true(cached(pc, 1) && cached(pc, 2));
        preq(pc, C, 1, 10 * SEC);     /* exactly at A's expiry without refresh */
        assert_int_equal(cached(pc, 1), refresh);
        assert_true(cached(pc, 2));
        preq(pc, C, 1, 15 * SEC - 1);
        assert_true(cached(pc, 2));
        preq(pc, C, 1, 15 * SEC);     /* B's expiry; C refreshed to 25 (refresh) */
        assert_false(cached(pc, 2));
        assert_int_equal(cached(pc, 1), refresh);
        assert_int_equal(cc_pc_next_expiry(pc), refresh ? 18 * SEC : 20 * SEC - 1);
        assert_int_equal(cc_pc_expire(pc, 18 * SEC), refresh ? 1 : 0);
        assert_false(cached(pc, 1));
        assert_int_equal(cc_pc_get_stats(pc)->tier[0].expired_blocks, 2);
        assert_int_equal(cc_pc_get_stats(pc)->tier[0].evicted_blocks, 0);
        assert_int_equal(cc_pc_check(pc, &e), CC_OK);
        cc_pc_destroy(pc);
    }

    /* A parent outlives its child's expiry only while the child is cached:
     * refresh=0, [P] at 0 (P at 10), [P,Q] at 5 (P hit, not refreshed; Q at
     * 15).  At 10 P has expired but Q depends on it; at 15 both go. */
    cc_pc_config c = config1(CC_PC_PREFIX, "ttl(ttl_s=10,refresh=0)", 8);
    cc_prefix_cache *pc;
    assert_int_equal(cc_pc_create(&c, &pc, &e), CC_OK);
    uint64_t P[] = {11}, PQ[] = {11, 12}, Z[] = {99};
    preq(pc, P, 1, 0);
    assert_int_equal(preq(pc, PQ, 2, 5 * SEC), 1);
    preq(pc, Z, 1, 10 * SEC);
    assert_true(cached(pc, 11) && cached(pc, 12));
    preq(pc, Z, 1, 15 * SEC - 1);
    assert_true(cached(pc, 11) && cached(pc, 12));
    assert_int_equal(cc_pc_expire(pc, 15 * SEC), 2);
    assert_false(cached(pc, 11) || cached(pc, 12));
    assert_int_equal(cc_pc_check(pc, &e), CC_OK);
    cc_pc_destroy(pc);

    /* Under pressure: the soonest expiry goes (refresh=1 makes it LRU in
     * time).  Capacity 2: X at 0, Y at 1, hit X at 2, Z at 3 evicts Y. */
    c = config1(CC_PC_PREFIX, "ttl(ttl_s=100)", 2);
    assert_int_equal(cc_pc_create(&c, &pc, &e), CC_OK);
    uint64_t X[] = {21}, Y[] = {22}, W[] = {23};
    preq(pc, X, 1, 0);
    preq(pc, Y, 1, 1 * SEC);
    preq(pc, X, 1, 2 * SEC);
    preq(pc, W, 1, 3 * SEC);
    assert_true(cached(pc, 21) && !cached(pc, 22) && cached(pc, 23));
    assert_int_equal(cc_pc_get_stats(pc)->tier[0].expired_blocks, 0);
    assert_int_equal(cc_pc_get_stats(pc)->tier[0].evicted_blocks, 1);
    cc_pc_destroy(pc);
}

/* Expiry in a lower tier: hbm (1 block, LRU) over dram (2 blocks, ttl 10 s
 * from the demotion).  Independent mode. */
static void test_ttl_lower_tier(void **state)
{
    (void)state;
    cc_pc_config c = config1(CC_PC_INDEPENDENT, "lru", 1);
    c.n_tiers = 2;
    snprintf(c.tiers[1].name, sizeof c.tiers[1].name, "dram");
    c.tiers[1].capacity_blocks = 2;
    cc_err e = {0};
    assert_int_equal(cc_policy_parse("ttl(ttl_s=10)", &c.tiers[1].policy,
                                      &c.tiers[1].policy_params, &e), CC_OK);
    cc_prefix_cache *pc;
    assert_int_equal(cc_pc_create(&c, &pc, &e), CC_OK);
    uint64_t keys[] = {1, 2, 3};
    int k;
    cc_pc_request r = {.blocks = keys, .n_blocks = 1, .input_tokens = 4};
    r.time_ns = 0;
    cc_pc_access(pc, &r, 0, &k);              /* A -> hbm */
    r.blocks = keys + 1;
    r.time_ns = 3 * SEC;
    cc_pc_access(pc, &r, 0, &k);              /* B -> hbm, A -> dram, expires at 13 */
    r.blocks = keys + 2;
    r.time_ns = 5 * SEC;
    cc_pc_access(pc, &r, 0, &k);              /* C -> hbm, B -> dram, expires at 15 */
    uint32_t tier;
    assert_int_not_equal(cc_pc_node_place(pc, cc_pc_find(pc, 1), &tier), CC_SLOT_NONE);
    assert_int_equal(tier, 1);
    assert_int_equal(cc_pc_next_expiry(pc), 13 * SEC);
    r.time_ns = 13 * SEC - 1;
    cc_pc_access(pc, &r, 0, &k);              /* C hits in hbm */
    assert_int_equal(k, 0);
    assert_true(cached(pc, 1));
    r.time_ns = 13 * SEC;
    cc_pc_access(pc, &r, 0, &k);
    assert_false(cached(pc, 1));
    assert_true(cached(pc, 2));
    r.blocks = keys + 1;
    r.time_ns = 14 * SEC;                     /* B hits in dram: promoted, C demoted (24) */
    cc_pc_access(pc, &r, 0, &k);
    assert_int_equal(k, 1);
    assert_int_equal(cc_pc_next_expiry(pc), 24 * SEC);
    assert_int_equal(cc_pc_expire(pc, 24 * SEC), 1);
    assert_false(cached(pc, 3));
    assert_int_equal(cc_pc_get_stats(pc)->tier[1].expired_blocks, 2);
    assert_int_equal(cc_pc_check(pc, &e), CC_OK);
    cc_pc_destroy(pc);
}

/* ---- GDSF by hand (policy level, mixed sizes and costs) -------------------------- */
static cc_access acc(uint64_t size, double cost, uint32_t depth, int32_t prio, int64_t dur,
                     int64_t t)
{
    cc_access a;
    memset(&a, 0, sizeof a);
    a.size_bytes = size;
    a.cost = cost;
    a.depth = depth;
    a.priority = prio;
    a.priority_duration_ns = dur;
    a.time_ns = t;
    a.parent_slot = CC_SLOT_NONE;
    return a;
}

static void test_gdsf_by_hand(void **state)
{
    (void)state;
    const cc_policy_ops *ops = cc_policy_find("gdsf");
    cc_policy pol;
    cc_err e = {0};
    assert_int_equal(cc_policy_create(ops, NULL, 3, &pol, &e), CC_OK);
    uint8_t ev[3] = {1, 1, 1};
    cc_victim_ctx ctx = {ev, 3, 0, 0};
    cc_access a;
#define PUT(slot, size, cost)                             \
    do {                                                  \
        a = acc(size, cost, 0, 35, 0, 0);                 \
        ops->on_insert(pol.state, slot, &a);              \
        ops->on_evictable(pol.state, slot, 1);            \
    } while (0)
#define EVICT(expect)                                                 \
    do {                                                              \
        assert_int_equal(ops->choose_victim(pol.state, &ctx), expect); \
        ops->on_remove(pol.state, expect, 0, CC_REMOVE_EVICT);           \
    } while (0)
    PUT(0, 2, 4); /* A: H = 0 + 1*4/2 = 2 */
    PUT(1, 1, 3); /* B: H = 3 */
    PUT(2, 4, 2); /* C: H = 0.5 */
    a = acc(2, 4, 0, 35, 0, 0);
    ops->on_hit(pol.state, 0, &a); /* A: H = 0 + 2*4/2 = 4 */
    EVICT(2);                      /* C (0.5); L = 0.5 */
    PUT(2, 1, 1);                  /* D: H = 0.5 + 1 = 1.5 */
    a = acc(1, 3, 0, 35, 0, 0);
    ops->on_hit(pol.state, 1, &a); /* B: H = 0.5 + 2*3/1 = 6.5 */
    EVICT(2);                      /* D (1.5); L = 1.5 */
    PUT(2, 2, 8);                  /* E: H = 1.5 + 8/2 = 5.5 */
    EVICT(0);                      /* A (4) < E 5.5 < B 6.5; L = 4 */
    PUT(0, 1, 1);                  /* F: H = 4 + 1 = 5 */
    EVICT(0);                      /* F (5) < E (5.5) < B (6.5) */
    PUT(0, 1, 0.75);               /* G: H = 5 + 0.75 = 5.75 */
    EVICT(2);                      /* E (5.5); L = 5.5 */
    PUT(2, 1, 0.5);                /* H: 5.5 + 0.5 = 6.0 */
    EVICT(0);                      /* G (5.75) < H (6.0) < B (6.5) */
    /* a promotion out (not an eviction) leaves L alone: L stays 5.75 */
    ops->on_remove(pol.state, 1, 0, CC_REMOVE_PROMOTE); /* B leaves */
    PUT(1, 1, 0.1);                                  /* I: 5.75 + 0.1 = 5.85 */
    PUT(0, 1, 0.2);                                  /* J: 5.95 */
    EVICT(1);                                        /* I 5.85 < J 5.95 < H 6.0 */
    EVICT(0);
    EVICT(2);
#undef PUT
#undef EVICT
    cc_policy_destroy(&pol);
}

/* ---- TRT by hand -------------------------------------------------------------------- */
static void test_trt_by_hand(void **state)
{
    (void)state;
    const cc_policy_ops *ops;
    cc_policy_params pp;
    cc_err e = {0};
    assert_int_equal(cc_policy_parse("trt(prefix_blocks=1,system_priority=90,duration_s=10)",
                                     &ops, &pp, &e), CC_OK);
    cc_policy pol;
    assert_int_equal(cc_policy_create(ops, &pp, 4, &pol, &e), CC_OK);
    uint8_t ev[4] = {1, 1, 1, 1};
    cc_access a;
    /* slot 0: depth 0 -> 90 until t=10 s; slot 1: depth 1, default 35;
     * slot 2: priority 20 for ever; slot 3: priority 50 until t=3+5 = 8 s */
    a = acc(1, 1, 0, 35, 0, 0 * SEC);
    ops->on_insert(pol.state, 0, &a);
    a = acc(1, 1, 1, 35, 0, 1 * SEC);
    ops->on_insert(pol.state, 1, &a);
    a = acc(1, 1, 2, 20, 0, 2 * SEC);
    ops->on_insert(pol.state, 2, &a);
    a = acc(1, 1, 1, 50, 5 * SEC, 3 * SEC);
    ops->on_insert(pol.state, 3, &a);
    for (uint32_t s = 0; s < 4; s++)
        ops->on_evictable(pol.state, s, 1);
    cc_victim_ctx ctx = {ev, 4, 0, 4 * SEC};
#define VICTIM(t, expect)                                             \
    do {                                                              \
        ctx.time_ns = (t);                                            \
        assert_int_equal(ops->choose_victim(pol.state, &ctx), expect); \
        ops->on_remove(pol.state, expect, 0, CC_REMOVE_EVICT);           \
    } while (0)
    VICTIM(4 * SEC, 2);      /* 20 is the lowest */
    VICTIM(4 * SEC, 1);      /* then 35 */
    /* at 8 s slot 3's 50 has lapsed to 35 (< 90) */
    a = acc(1, 1, 5, 35, 0, 7 * SEC);
    ops->on_insert(pol.state, 1, &a); /* slot 1: 35, newer than slot 3 */
    ops->on_evictable(pol.state, 1, 1);
    ctx.time_ns = 8 * SEC - 1;        /* just before: slot 3 is still 50 */
    assert_int_equal(ops->choose_victim(pol.state, &ctx), 1);
    VICTIM(8 * SEC, 3);              /* lapsed: 35, older than slot 1 */
    /* at 10 s slot 0's 90 lapses; it is the least recent 35 */
    VICTIM(10 * SEC - 1, 1);
    a = acc(1, 1, 3, 35, 0, 9 * SEC);
    ops->on_insert(pol.state, 1, &a);
    ops->on_evictable(pol.state, 1, 1);
    VICTIM(10 * SEC, 0);
    /* a hit with depth 0 sets the system priority again, from the hit's time */
    a = acc(1, 1, 7, 35, 0, 11 * SEC);
    ops->on_insert(pol.state, 0, &a);
    ops->on_evictable(pol.state, 0, 1);
    a = acc(1, 1, 0, 35, 0, 12 * SEC);
    ops->on_hit(pol.state, 0, &a); /* 90 until 22 s */
    ctx.time_ns = 21 * SEC;
    assert_int_equal(ops->choose_victim(pol.state, &ctx), 1);
    ops->on_evictable(pol.state, 1, 0); /* pinned: not a candidate */
    assert_int_equal(ops->choose_victim(pol.state, &ctx), 0);
#undef VICTIM
    cc_policy_destroy(&pol);

    /* bad parameters name the key */
    static const char *bad[][2] = {{"trt(system_priority=101)", "system_priority"},
                                   {"trt(prefix_blocks=1.5)", "prefix_blocks"},
                                   {"trt(duration_s=-1)", "duration_s"},
                                   {"trt(speed=1)", "speed"},
                                   {"ttl(refresh=0.5)", "refresh"},
                                   {"ttl(ttl_s=x)", "ttl_s"},
                                   {"gdsf(x=1)", "x"},
                                   {"belady(x=1)", "x"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(cc_policy_parse(bad[i][0], &ops, &pp, &e), CC_OK);
        assert_int_equal(cc_policy_create(ops, &pp, 4, &pol, &e), CC_EARG);
        if (strcmp(e.field, bad[i][1]))
            fail_msg("%s: field '%s', expected '%s'", bad[i][0], e.field, bad[i][1]);
    }
}

/* ---- prefix mode: random tree-shaped traces ----------------------------------------
 * Chains are paths from the root of a random tree of branching 3 (keys name
 * the path), so requests share prefixes at every depth.  After every
 * request the cache checks its invariants; between insert and release every
 * block the request pinned is still cached. */
static void run_tree(const char *spec, uint32_t n_tiers, uint64_t seed)
{
    enum { REQ = 3000, MAXD = 10 };
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    /* the whole stream first, so that next uses can be computed */
    uint64_t *keys = malloc((size_t)REQ * MAXD * sizeof *keys);
    uint64_t *next = malloc((size_t)REQ * MAXD * sizeof *next);
    uint32_t off[REQ + 1], n = 0;
    for (uint32_t i = 0; i < REQ; i++) {
        off[i] = n;
        uint32_t d = 1 + (uint32_t)gsl_rng_uniform_int(r, MAXD);
        uint64_t h = 0x1234;
        for (uint32_t j = 0; j < d; j++) {
            uint32_t branch = (uint32_t)(gsl_rng_uniform_int(r, 3) * gsl_rng_uniform(r) * 2);
            h = cc_mix64(h * 31 + branch + 1);
            keys[n++] = h;
        }
    }
    off[REQ] = n;
    for (uint32_t p = 0; p < n; p++) {
        next[p] = CC_NEXT_USE_NEVER;
        for (uint32_t q = p + 1; q < n; q++)
            if (keys[q] == keys[p]) {
                next[p] = q;
                break;
            }
    }
    cc_pc_config c = config1(CC_PC_PREFIX, spec, 24);
    c.n_tiers = n_tiers;
    for (uint32_t k = 1; k < n_tiers; k++) {
        c.tiers[k] = c.tiers[0];
        snprintf(c.tiers[k].name, sizeof c.tiers[k].name, "t%u", k);
        c.tiers[k].capacity_blocks = 16;
    }
    cc_prefix_cache *pc;
    cc_err e = {0};
    if (cc_pc_create(&c, &pc, &e) != CC_OK)
        fail_msg("%s: %s", spec, e.msg);
    uint32_t nodes[MAXD];
    uint64_t hits = 0;
    for (uint32_t i = 0; i < REQ; i++) {
        cc_pc_request rq = {.blocks = keys + off[i], .n_blocks = off[i + 1] - off[i],
                            .input_tokens = 4 * (off[i + 1] - off[i]), .index = i,
                            .time_ns = (int64_t)i * SEC / 2, .first_seq = off[i],
                            .next_use = next + off[i]};
        cc_pc_hits h;
        cc_pc_lookup(pc, &rq, nodes, &h);
        hits += h.blocks;
        cc_pc_insert(pc, &rq, nodes, NULL);
        for (uint32_t j = 0; j < rq.n_blocks; j++)
            if (nodes[j] != CC_NODE_NONE &&
                cc_pc_node_place(pc, nodes[j], NULL) == CC_SLOT_NONE)
                fail_msg("%s: request %u: pinned block %u was dropped", spec, i, j);
        if (cc_pc_check(pc, &e) != CC_OK)
            fail_msg("%s (%u tiers): request %u: %s", spec, n_tiers, i, e.msg);
        cc_pc_release(pc, nodes, rq.n_blocks);
        if (cc_pc_check(pc, &e) != CC_OK)
            fail_msg("%s (%u tiers): after release %u: %s", spec, n_tiers, i, e.msg);
    }
    assert_true(hits > 0);
    const cc_pc_stats *st = cc_pc_get_stats(pc);
    assert_true(st->tier[0].evicted_blocks + st->tier[0].expired_blocks > 0);
    cc_pc_destroy(pc);
    free(keys);
    free(next);
    gsl_rng_free(r);
}

static void test_prefix_trees(void **state)
{
    (void)state;
    for (size_t i = 0; i < cc_policy_count(); i++)
        for (uint32_t T = 1; T <= 2; T++)
            run_tree(cc_policy_at(i)->name, T, 900 + i * 2 + T);
    /* short lifetimes: expiry with parents waiting and moving down */
    run_tree("ttl(ttl_s=3,refresh=0)", 1, 950);
    run_tree("ttl(ttl_s=3,refresh=0)", 2, 951);
    run_tree("ttl(ttl_s=2)", 2, 952);
    run_tree("trt(prefix_blocks=2,system_priority=90,duration_s=5)", 2, 953);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gdsf_vs_twin),
        cmocka_unit_test(test_ttl_vs_twin),
        cmocka_unit_test(test_trt_vs_twin),
        cmocka_unit_test(test_belady_vs_twin),
        cmocka_unit_test(test_belady_beats_all),
        cmocka_unit_test(test_belady_equals_opt),
        cmocka_unit_test(test_ttl_timeline),
        cmocka_unit_test(test_ttl_lower_tier),
        cmocka_unit_test(test_gdsf_by_hand),
        cmocka_unit_test(test_trt_by_hand),
        cmocka_unit_test(test_prefix_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
