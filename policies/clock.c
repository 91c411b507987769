/*
 * clock.c -- CLOCK (second chance, one reference bit): Corbato's 1968
 * Multics algorithm, as in libCacheSim's default "clock" (n-bit-counter=1).
 *
 * The occupied slots sit on a ring (a circular list threaded through one
 * {older, newer} u32 pair per slot, see slot_list.h) with a hand pointing at
 * the next candidate.  A hit sets the slot's bit.  A new slot goes just
 * before the hand (it is examined last: the ring's newest).  To evict, the
 * hand looks at its slot: bit set -> clear it and move on; bit clear ->
 * that slot is the victim (the hand stays on it; on_remove advances it).
 * This is FIFO with reinsertion (libCacheSim's formulation): moving the tail
 * to the head is the same as advancing the hand.
 *
 * Not evictable (pinned, or in prefix mode a block with cached children):
 * the hand passes over it and leaves its bit as it is; it is examined again
 * on the next turn.  The search ends within two turns because some slot is
 * evictable (ctx->n_evictable > 0).  choose_victim may clear bits it passed
 * (the algorithm's own step; a repeated call returns the same victim).
 *
 * Prefix mode: a block whose parent is in this tier goes just before its
 * parent in the hand's order (the hand moves onto it if it was on the
 * parent), so the hand reaches a chain's leaf before its ancestors, the
 * CLOCK analogue of LRU's "child just older than its parent".  In
 * independent mode there are no parents and this is textbook CLOCK.
 *
 * Costs: insert, hit, remove O(1); choose_victim O(slots passed), amortised
 * O(1) per eviction with no pins (each pass clears a bit that a hit set).
 * Memory: 9 bytes per slot (links 8, bit 1).  Eligibility: scan.
 */
#include "slot_list.h"

typedef struct clock_pol {
    cc_slink *l;    /* ring links; sentinel at cap marks "empty ring" only */
    uint8_t *bit;
    uint32_t hand;  /* CC_SLOT_NONE when the ring is empty */
    uint32_t n;
} clock_pol;

static int clock_create(const cc_policy_params *p, uint32_t cap, void **state, cc_err *err)
{
    int rc = cc_policy_param_check(p, NULL, err);
    if (rc)
        return rc;
    clock_pol *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->l = malloc((size_t)cap * sizeof *c->l);
    c->bit = calloc(cap, 1);
    if (!c->l || !c->bit) {
        free(c->l);
        free(c->bit);
        free(c);
        return CC_ENOMEM;
    }
    c->hand = CC_SLOT_NONE;
    *state = c;
    return CC_OK;
}

static void clock_destroy(void *state)
{
    clock_pol *c = state;
    free(c->l);
    free(c->bit);
    free(c);
}

/* The ring: `newer` is the hand's direction (the hand at the oldest slot;
 * its `older` neighbour is the newest). */
static void clock_insert(void *state, uint32_t s, const cc_access *a)
{
    clock_pol *c = state;
    c->bit[s] = 0;
    if (c->n++ == 0) {
        c->l[s].older = c->l[s].newer = s;
        c->hand = s;
        return;
    }
    uint32_t at = a->parent_slot != CC_SLOT_NONE ? a->parent_slot : c->hand;
    /* link s just before `at` in the hand's order */
    uint32_t b = c->l[at].older;
    c->l[s].older = b;
    c->l[s].newer = at;
    c->l[b].newer = s;
    c->l[at].older = s;
    if (a->parent_slot != CC_SLOT_NONE && c->hand == at)
        c->hand = s;
}

static void clock_hit(void *state, uint32_t s, const cc_access *a)
{
    (void)a;
    ((clock_pol *)state)->bit[s] = 1;
}

static void clock_remove(void *state, uint32_t s, uint64_t key, cc_remove_reason why)
{
    (void)why;
    clock_pol *c = state;
    if (--c->n == 0) {
        c->hand = CC_SLOT_NONE;
        return;
    }
    uint32_t a = c->l[s].newer, b = c->l[s].older;
    c->l[a].older = b;
    c->l[b].newer = a;
    if (c->hand == s)
        c->hand = a;
}

static uint32_t clock_victim(void *state, const cc_victim_ctx *ctx)
{
    clock_pol *c = state;
    if (c->hand == CC_SLOT_NONE)
        return CC_SLOT_NONE;
    uint32_t h = c->hand;
    for (uint64_t steps = 0; steps <= 2ull * c->n; steps++) {
        if (ctx->evictable[h]) {
            if (!c->bit[h]) {
                c->hand = h;
                return h;
            }
            c->bit[h] = 0;
        }
        h = c->l[h].newer;
    }
    c->hand = h;
    return CC_SLOT_NONE; /* nothing evictable (cannot happen when n_evictable > 0) */
}

const cc_policy_ops cc_policy_clock = {
    .name = "clock",
    .summary = "CLOCK / second chance, one reference bit (libCacheSim's default clock)",
    .bytes_per_slot = 9,
    .create = clock_create,
    .destroy = clock_destroy,
    .on_insert = clock_insert,
    .on_hit = clock_hit,
    .on_remove = clock_remove,
    .choose_victim = clock_victim,
};
