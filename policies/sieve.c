/*
 * sieve.c -- SIEVE (Zhang, Yang, Yue, Vigfusson, Rashmi: "SIEVE is Simpler
 * than LRU: an Efficient Turn-Key Eviction Algorithm for Web Caches",
 * NSDI'24).
 *
 * One FIFO queue (doubly linked through one {older, newer} u32 pair per
 * slot, sentinel at index capacity, see slot_list.h), a visited bit per
 * slot and a hand.  New slots enter at the head; a hit sets the bit and
 * moves nothing.  To evict, the hand (at the tail when unset) walks towards
 * the head: a visited slot has its bit cleared and is passed; the first
 * unvisited slot is the victim; after the eviction the hand rests on the
 * victim's newer neighbour (unset at the head, so the next search restarts
 * at the tail).  Objects never move: that is what distinguishes SIEVE from
 * CLOCK (where passed objects become the newest).
 *
 * Not evictable (pinned, or in prefix mode a block with cached children):
 * the hand passes over it and leaves its bit as it is.  The walk ends
 * within two sweeps of the queue since some slot is evictable.
 * choose_victim clears the bits it passes and parks the hand on the victim
 * (the algorithm's own steps; a repeated call returns the same slot).
 *
 * Prefix mode: a block whose parent is in this tier is linked just older
 * than its parent (and the hand moves onto it if it rested on the parent),
 * so the hand reaches a chain's leaf before its ancestors.  In independent
 * mode there are no parents and this is the paper's algorithm.
 *
 * Costs: insert, hit, remove O(1); choose_victim O(slots passed), amortised
 * O(1) with no pins.  Memory: 9 bytes per slot (links 8, bit 1).
 * Eligibility: scan.
 */
#include "slot_list.h"

typedef struct sieve {
    cc_slink *l;
    uint8_t *bit;
    uint32_t sent;
    uint32_t hand; /* CC_SLOT_NONE: start at the tail */
} sieve;

static int sieve_create(const cc_policy_params *p, uint32_t cap, void **state, cc_err *err)
{
    int rc = cc_policy_param_check(p, NULL, err);
    if (rc)
        return rc;
    sieve *v = calloc(1, sizeof *v);
    if (!v)
        return CC_ENOMEM;
    v->l = malloc(((size_t)cap + 1) * sizeof *v->l);
    v->bit = calloc(cap, 1);
    if (!v->l || !v->bit) {
        free(v->l);
        free(v->bit);
        free(v);
        return CC_ENOMEM;
    }
    v->sent = cap;
    cc_sl_init(v->l, cap);
    v->hand = CC_SLOT_NONE;
    *state = v;
    return CC_OK;
}

static void sieve_destroy(void *state)
{
    sieve *v = state;
    free(v->l);
    free(v->bit);
    free(v);
}

static void sieve_insert(void *state, uint32_t s, const cc_access *a)
{
    sieve *v = state;
    v->bit[s] = 0;
    if (a->parent_slot != CC_SLOT_NONE) {
        cc_sl_behind(v->l, s, a->parent_slot);
        if (v->hand == a->parent_slot)
            v->hand = s;
    } else {
        cc_sl_behind(v->l, s, v->sent);
    }
}

static void sieve_hit(void *state, uint32_t s, const cc_access *a)
{
    (void)a;
    ((sieve *)state)->bit[s] = 1;
}

static void sieve_remove(void *state, uint32_t s, uint64_t key, cc_remove_reason why)
{
    (void)why;
    sieve *v = state;
    if (v->hand == s) {
        uint32_t nx = v->l[s].newer;
        v->hand = nx == v->sent ? CC_SLOT_NONE : nx;
    }
    cc_sl_unlink(v->l, s);
}

static uint32_t sieve_victim(void *state, const cc_victim_ctx *ctx)
{
    sieve *v = state;
    uint32_t h = v->hand == CC_SLOT_NONE ? cc_sl_tail(v->l, v->sent) : v->hand;
    if (h == v->sent)
        return CC_SLOT_NONE;
    /* two sweeps plus the first partial one */
    for (int sweeps = 0; sweeps < 3;) {
        if (h == v->sent) {
            h = cc_sl_tail(v->l, v->sent);
            sweeps++;
            continue;
        }
        if (ctx->evictable[h]) {
            if (!v->bit[h]) {
                v->hand = h;
                return h;
            }
            v->bit[h] = 0;
        }
        h = v->l[h].newer;
    }
    return CC_SLOT_NONE;
}

const cc_policy_ops cc_policy_sieve = {
    .name = "sieve",
    .summary = "SIEVE (NSDI'24): FIFO queue, visited bit, a hand that moves no object",
    .bytes_per_slot = 9,
    .create = sieve_create,
    .destroy = sieve_destroy,
    .on_insert = sieve_insert,
    .on_hit = sieve_hit,
    .on_remove = sieve_remove,
    .choose_victim = sieve_victim,
};
