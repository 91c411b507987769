/* test_ghost.c -- the ghost directory of policies/ghost.c (slot_list.h)
 * against a brute-force twin: a plain array of (key, list) in insertion
 * order, searched and shifted in O(n).  Random streams of add / find /
 * remove / pop-oldest over small key spaces (many repeats, so many removals
 * from the middle and many ring compactions), two lists, several
 * capacities; every answer and count must agree after every step.  Also:
 * the memory figure, and a long run that wraps the ring many times. */
#include "testutil.h"
#include "policies/slot_list.h"

#include <gsl/gsl_rng.h>

typedef struct twin {
    uint64_t key[4096];
    uint8_t list[4096];
    uint32_t n;
} twin;

static int twin_find(const twin *t, uint64_t k)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (t->key[i] == k)
            return (int)i;
    return -1;
}

static void twin_del(twin *t, uint32_t i)
{
    memmove(t->key + i, t->key + i + 1, (t->n - i - 1) * sizeof *t->key);
    memmove(t->list + i, t->list + i + 1, t->n - i - 1);
    t->n--;
}

static int twin_oldest(const twin *t, uint32_t l)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (t->list[i] == l)
            return (int)i;
    return -1;
}

static void check_same(cc_ghost *g, const twin *t, uint64_t keys)
{
    uint32_t c[2] = {0, 0};
    for (uint32_t i = 0; i < t->n; i++)
        c[t->list[i]]++;
    assert_int_equal(g->n, t->n);
    assert_int_equal(g->count[0], c[0]);
    assert_int_equal(g->count[1], c[1]);
    /* every key of a small key space; else a stride of it and the twin's keys */
    uint64_t step = keys <= 2000 ? 1 : keys / 500;
    for (uint64_t i = 0; i < keys / step + t->n; i++) {
        uint64_t k = i < keys / step ? 1 + i * step : t->key[i - keys / step];
        int ti = twin_find(t, k);
        uint32_t e = cc_ghost_find(g, k);
        if (ti < 0) {
            assert_int_equal(e, CC_SLOT_NONE);
        } else {
            assert_int_not_equal(e, CC_SLOT_NONE);
            assert_int_equal(g->key[e], k);
            assert_int_equal(g->list[e], t->list[ti]);
        }
    }
    for (uint32_t l = 0; l < 2; l++) {
        int ti = twin_oldest(t, l);
        uint32_t e = cc_ghost_oldest(g, l);
        if (ti < 0)
            assert_int_equal(e, CC_SLOT_NONE);
        else
            assert_int_equal(g->key[e], t->key[ti]);
    }
}

/* The table's layout as slot_list.h states it, recomputed from the ring:
 * each live key is in exactly one entry, tag | ring entry + 1, in the first
 * bucket at or after its home (as crowded by hmul / hbase); each bucket's
 * ovf is the number of keys stored past it, or stuck at ovfmax. */
static void check_table(const cc_ghost *g)
{
    uint32_t live = 0;
    uint32_t *past = calloc(g->ix.nb, sizeof *past);
    assert_non_null(past);
    for (uint32_t j = 0; j < g->ix.nb * CC_BI_BUCKET; j++) {
        uint32_t t = g->ix.tab[j];
        if (!t)
            continue;
        live++;
        uint32_t e = (t & g->ix.imask) - 1;
        assert_true(e < g->rcap);
        assert_int_not_equal(g->list[e], CC_GHOST_HOLE);
        uint64_t m = cc_mix64(g->key[e]);
        assert_int_equal(t & ~g->ix.imask, (uint32_t)m & g->ix.tagmask);
        uint32_t home = (g->ix.hbase + (uint32_t)(((m >> 32) * g->ix.hmul) >> 32)) % g->ix.nb;
        for (uint32_t b = home; b != j / CC_BI_BUCKET; b = (b + 1) % g->ix.nb)
            past[b]++;
    }
    assert_int_equal(live, g->n);
    for (uint32_t b = 0; b < g->ix.nb; b++)
        if (g->ix.ovf[b] != g->ix.ovfmax)
            assert_int_equal(g->ix.ovf[b], past[b]);
    free(past);
}

/* Knobs set on the empty directory, so that the rare paths run at small
 * sizes: hb_n > 0 puts every key's home in hb_n buckets from hb_base
 * buckets before the last one (full buckets, keys stored far from home,
 * homes and overflow wrapping past the last bucket);
 * tagbits < 32 keeps only that many top bits of the tags (tags that match
 * for different keys, so that lookups confirm against the ring); ovfmax
 * lowers the saturation of the overflow counts. */
typedef struct knobs {
    uint32_t hb_n, hb_base, tagbits;
    uint8_t ovfmax;
} knobs;

static void run_ds(uint32_t cap, uint64_t keys, int lists, uint64_t seed, int steps,
                   knobs kn, int sparse)
{
    cc_ghost g;
    assert_int_equal(cc_ghost_init(&g, cap, sparse), CC_OK);
    if (kn.hb_n) {
        g.ix.hmul = kn.hb_n < g.ix.nb ? kn.hb_n : g.ix.nb;
        g.ix.hbase = g.ix.nb - 1 - kn.hb_base % g.ix.nb;
    }
    if (kn.tagbits < 32)
        g.ix.tagmask &= kn.tagbits ? ~((UINT32_C(1) << (32 - kn.tagbits)) - 1) : 0;
    if (kn.ovfmax)
        g.ix.ovfmax = kn.ovfmax;
    twin *t = calloc(1, sizeof *t);
    assert_non_null(t);
    assert_true(cap < 4096);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    for (int s = 0; s < steps; s++) {
        uint64_t k = 1 + gsl_rng_uniform_int(r, keys);
        uint32_t l = lists > 1 ? (uint32_t)gsl_rng_uniform_int(r, 2) : 0;
        unsigned op = (unsigned)gsl_rng_uniform_int(r, 10);
        if (op < 5) { /* add, dropping the oldest of a list when full (as the policies do) */
            int ti = twin_find(t, k);
            if (ti >= 0)
                twin_del(t, (uint32_t)ti);
            if (t->n >= cap) {
                uint32_t from = t->list[0]; /* some list with keys */
                int o = twin_oldest(t, l);
                if (o >= 0)
                    from = l;
                int oi = twin_oldest(t, from);
                cc_ghost_remove(&g, cc_ghost_oldest(&g, from));
                twin_del(t, (uint32_t)oi);
            }
            cc_ghost_add(&g, l, k);
            t->key[t->n] = k;
            t->list[t->n] = (uint8_t)l;
            t->n++;
        } else if (op < 8) { /* a ghost hit: remove from the middle */
            int ti = twin_find(t, k);
            uint32_t e = cc_ghost_find(&g, k);
            assert_int_equal(ti < 0, e == CC_SLOT_NONE);
            if (ti >= 0) {
                cc_ghost_remove(&g, e);
                twin_del(t, (uint32_t)ti);
            }
        } else { /* trim a list from its old end */
            int ti = twin_oldest(t, l);
            uint32_t e = cc_ghost_oldest(&g, l);
            assert_int_equal(ti < 0, e == CC_SLOT_NONE);
            if (ti >= 0) {
                assert_int_equal(g.key[e], t->key[ti]);
                cc_ghost_remove(&g, e);
                twin_del(t, (uint32_t)ti);
            }
        }
        if (s % 7 == 0 || s + 1 == steps)
            check_same(&g, t, keys);
        if (s % 97 == 0 || s + 1 == steps)
            check_table(&g);
    }
    gsl_rng_free(r);
    free(t);
    cc_ghost_free(&g);
}

/* Each case with the dense table (load <= 2/3) and the sparse one (1/2). */
static void run_d(uint32_t cap, uint64_t keys, int lists, uint64_t seed, int steps, knobs kn)
{
    run_ds(cap, keys, lists, seed, steps, kn, 0);
    run_ds(cap, keys, lists, seed, steps, kn, 1);
}

static void run(uint32_t cap, uint64_t keys, int lists, uint64_t seed, int steps)
{
    run_d(cap, keys, lists, seed, steps, (knobs){0, 0, 32, 0});
}

static void test_twin_one_list(void **state)
{
    (void)state;
    run(1, 3, 1, 1, 2000);
    run(5, 12, 1, 2, 20000);
    run(37, 60, 1, 3, 20000);
    run(200, 260, 1, 4, 20000);
}

static void test_twin_two_lists(void **state)
{
    (void)state;
    run(2, 5, 2, 5, 5000);
    run(16, 40, 2, 6, 20000);
    run(101, 150, 2, 7, 20000);
    run(600, 2000, 2, 8, 20000);
}

/* Crowded homes: all keys homed in 1 or 3 buckets (the last one, so that
 * overflow wraps to bucket 0; the last two and bucket 0; the eighth from the
 * end), so that buckets fill and keys are stored several buckets away, found
 * past full buckets and removed with their overflow counts. */
static void test_twin_crowded(void **state)
{
    (void)state;
    run_d(37, 60, 2, 21, 20000, (knobs){1, 0, 32, 0});
    run_d(600, 2000, 2, 22, 6000, (knobs){3, 1, 32, 0});
    run_d(600, 900, 1, 23, 6000, (knobs){1, 7, 32, 0});
}

/* Tags of 0 and 1 bits (every entry or half of them match: the ring
 * decides, and empty entries match a zero tag), and overflow counts that
 * saturate at 1 or 3 (lookups go on past saturated buckets). */
static void test_twin_tags_saturation(void **state)
{
    (void)state;
    run_d(101, 150, 2, 31, 10000, (knobs){0, 0, 0, 0});
    run_d(600, 2000, 2, 32, 6000, (knobs){2, 5, 1, 0});
    run_d(600, 2000, 2, 33, 6000, (knobs){2, 0, 32, 1});
    run_d(200, 260, 1, 34, 20000, (knobs){1, 3, 0, 3});
}

/* Many more keys than capacity: the ring wraps and compacts many times. */
static void test_long_wrap(void **state)
{
    (void)state;
    run(64, 100000, 2, 9, 200000);
}

static void test_memory(void **state)
{
    (void)state;
    cc_ghost g;
    assert_int_equal(cc_ghost_init(&g, 100000, 0), CC_OK);
    /* ring 112,500 x (8 + 1) + 150,000 / 16 = 9,375 buckets x (64 + 1)
     * = 1,012,500 + 609,375 = 1,621,875 bytes */
    assert_int_equal(g.rcap, 112500);
    assert_int_equal(g.ix.nb, 9375);
    assert_int_equal(cc_ghost_memory_bytes(&g), 1621875);
    assert_true(cc_ghost_bytes_per_key(100000, 0) > 16.218 && cc_ghost_bytes_per_key(100000, 0) < 16.219);
    /* ring entry + 1 <= 112,500 needs 17 bits: 15 tag bits */
    assert_int_equal(g.ix.imask, 0x1ffff);
    assert_int_equal(g.ix.tagmask, 0xfffe0000);
    assert_int_equal((uintptr_t)g.ix.tab % 64, 0);
    cc_ghost_free(&g);
    /* sparse: a ring of 125,000, 12,500 buckets; 1,125,000 + 812,500 =
     * 1,937,500 (19.375 a key) */
    assert_int_equal(cc_ghost_init(&g, 100000, 1), CC_OK);
    assert_int_equal(g.rcap, 125000);
    assert_int_equal(g.ix.nb, 12500);
    assert_int_equal(cc_ghost_memory_bytes(&g), 1937500);
    assert_true(cc_ghost_bytes_per_key(100000, 1) > 19.374 && cc_ghost_bytes_per_key(100000, 1) < 19.376);
    cc_ghost_free(&g);
    /* one key: a 16-entry ring and one bucket */
    assert_int_equal(cc_ghost_init(&g, 1, 0), CC_OK);
    assert_int_equal(g.rcap, 17);
    assert_int_equal(g.ix.nb, 1);
    assert_int_equal(cc_ghost_memory_bytes(&g), 17 * 9 + 65);
    cc_ghost_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twin_one_list),
        cmocka_unit_test(test_twin_two_lists),
        cmocka_unit_test(test_twin_crowded),
        cmocka_unit_test(test_twin_tags_saturation),
        cmocka_unit_test(test_long_wrap),
        cmocka_unit_test(test_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
