/*
 * gdsf.c -- Greedy-Dual-Size-Frequency (L. Cherkasova, "Improving WWW proxies
 * performance with Greedy-Dual-Size-Frequency caching policy", HP Labs
 * HPL-98-69, 1998).
 *
 * Every cached block has a priority
 *     H = L + frequency * cost / size
 * where frequency counts its accesses in this tier (1 when it enters, +1 on
 * each hit), cost is cc_access.cost (the recompute cost: its tokens unless
 * the driver gives a cost model, e.g. seconds), size is cc_access.size_bytes
 * (1 when the driver gives 0 bytes), and L is the inflation value: the H of
 * the last evicted block.  The victim is the evictable block with the
 * smallest H (ties: the smallest slot).  H is recomputed, with the current L
 * and the access's cost and size, at insertion and at every hit; L therefore
 * ages blocks that are not touched.  L is kept monotone (L = max(L, H of the
 * victim)): in prefix mode or with pins the victim is the minimum among
 * evictable blocks only, which may lie below a block that could not be
 * taken; with everything evictable the max changes nothing and this is the
 * textbook algorithm.  Only evictions (CC_REMOVE_EVICT) move L; promotions,
 * expiry and invalidation do not.  A block entering a lower tier (DEMOTE)
 * starts there with frequency 1.
 *
 * Victim (index, see policy.h): evictable slots sit in a cc_slot_heap keyed
 * by the bits of H (a non-negative double's IEEE-754 bit pattern orders like
 * the number), so the victim is the heap minimum.  In prefix mode this
 * matters: ancestors are hit with every descendant, so they carry the larger
 * frequencies and crowd no scan.
 * Costs: on_insert O(1), on_hit / on_evictable / on_remove O(log n),
 * choose_victim O(1).  Memory: 20 bytes per slot (heap 16, frequency 4).
 */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

typedef struct gdsf {
    cc_slot_heap h;  /* evictable slots by H; key[] holds H of every occupied slot */
    uint32_t *freq;  /* accesses in this tier */
    double L;        /* inflation value */
} gdsf;

static inline uint64_t h_key(double h)
{
    uint64_t k;
    memcpy(&k, &h, sizeof k);
    return k;
}

static inline double key_h(uint64_t k)
{
    double h;
    memcpy(&h, &k, sizeof h);
    return h;
}

static double priority(const gdsf *g, uint32_t f, const cc_access *a)
{
    double cost = a->cost > 0 ? a->cost : 0; /* also maps NaN to 0 */
    double size = a->size_bytes ? (double)a->size_bytes : 1.0;
    return g->L + (double)f * cost / size;
}

static int gdsf_create(const cc_policy_params *p, uint32_t capacity, void **state, cc_err *err)
{
    int rc = cc_policy_param_check(p, NULL, err);
    if (rc)
        return rc;
    gdsf *g = calloc(1, sizeof *g);
    if (!g)
        return CC_ENOMEM;
    g->freq = calloc(capacity, sizeof *g->freq);
    if (!g->freq || cc_slot_heap_init(&g->h, capacity) != CC_OK) {
        free(g->freq);
        free(g);
        return CC_ENOMEM;
    }
    *state = g;
    return CC_OK;
}

static void gdsf_destroy(void *state)
{
    gdsf *g = state;
    cc_slot_heap_free(&g->h);
    free(g->freq);
    free(g);
}

static void gdsf_insert(void *state, uint32_t slot, const cc_access *a)
{
    gdsf *g = state;
    g->freq[slot] = 1;
    g->h.key[slot] = h_key(priority(g, 1, a));
}

static void gdsf_hit(void *state, uint32_t slot, const cc_access *a)
{
    gdsf *g = state;
    if (g->freq[slot] < UINT32_MAX)
        g->freq[slot]++;
    cc_slot_heap_set_key(&g->h, slot, h_key(priority(g, g->freq[slot], a)));
}

static void gdsf_remove(void *state, uint32_t slot, uint64_t key, cc_remove_reason why)
{
    gdsf *g = state;
    if (why == CC_REMOVE_EVICT) {
        double h = key_h(g->h.key[slot]);
        if (h > g->L)
            g->L = h;
    }
    cc_slot_heap_remove(&g->h, slot);
}

static void gdsf_evictable(void *state, uint32_t slot, int e)
{
    gdsf *g = state;
    if (e)
        cc_slot_heap_push(&g->h, slot);
    else
        cc_slot_heap_remove(&g->h, slot);
}

static uint32_t gdsf_victim(void *state, const cc_victim_ctx *ctx)
{
    (void)ctx;
    return cc_slot_heap_min(&((const gdsf *)state)->h);
}

const cc_policy_ops cc_policy_gdsf = {
    .name = "gdsf",
    .summary = "Greedy-Dual-Size-Frequency: evict the smallest L + freq * cost / size",
    .notes = "cost: the block's tokens (recompute cost) unless the driver gives one; size: "
             "its KV bytes",
    .bytes_per_slot = 20,
    .create = gdsf_create,
    .destroy = gdsf_destroy,
    .on_insert = gdsf_insert,
    .on_hit = gdsf_hit,
    .on_remove = gdsf_remove,
    .choose_victim = gdsf_victim,
    .on_evictable = gdsf_evictable,
};
