/*
 * slru.c -- segmented LRU (Karedla, Love and Wherry, "Caching strategies to
 * improve disk system performance", IEEE Computer 27(3), 1994): a
 * probationary and a protected LRU segment; slru(protected=0.8) gives the
 * protected segment floor(capacity * protected) slots (default 0.8).
 *   insert      -> MRU of probationary;
 *   hit in prob -> MRU of protected; if protected is over its size, its LRU
 *                  slot moves to the MRU of probationary (demotion, no
 *                  eviction);
 *   hit in prot -> MRU of protected;
 *   evict       -> LRU of probationary, or of protected when probationary is
 *                  empty.
 *
 * Not evictable (pinned, or in prefix mode a block with cached children):
 * the victim is the LRU-most evictable slot of probationary, else of
 * protected (scan from the LRU end, as lru.c).  Demotions move slots
 * whatever their eligibility (they free nothing).  Prefix mode: a block
 * whose parent is in probationary is linked just older than its parent, and
 * hits come last to first, so ancestors stay more recent within a segment.
 *
 * Costs: all operations O(1) (victim: plus the non-evictable slots skipped).
 * Memory: 9 bytes per slot (links 8, segment 1).  Eligibility: scan.
 */
#include "slot_list.h"

enum { PROB = 0, PROT = 1 };

typedef struct slru {
    cc_slink *l; /* sentinels: cap + PROB, cap + PROT */
    uint8_t *seg;
    uint32_t cap, prot_cap, n[2];
} slru;

static void slru_destroy(void *state)
{
    slru *c = state;
    free(c->l);
    free(c->seg);
    free(c);
}

static int slru_create(const cc_policy_params *p, uint32_t cap, void **state, cc_err *err)
{
    static const char *const known[] = {"protected", NULL};
    double prot;
    int rc = cc_policy_param_check(p, known, err);
    if (!rc)
        rc = cc_policy_param_double(p, "protected", 0.8, 0.0, 1.0, &prot, err);
    if (rc)
        return rc;
    slru *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->cap = cap;
    c->prot_cap = (uint32_t)((double)cap * prot);
    c->l = malloc(((size_t)cap + 2) * sizeof *c->l);
    c->seg = calloc(cap, 1);
    if (!c->l || !c->seg) {
        slru_destroy(c);
        return CC_ENOMEM;
    }
    cc_sl_init(c->l, cap + PROB);
    cc_sl_init(c->l, cap + PROT);
    *state = c;
    return CC_OK;
}

static void slru_insert(void *state, uint32_t s, const cc_access *a)
{
    slru *c = state;
    c->seg[s] = PROB;
    c->n[PROB]++;
    if (a->parent_slot != CC_SLOT_NONE && c->seg[a->parent_slot] == PROB)
        cc_sl_behind(c->l, s, a->parent_slot);
    else
        cc_sl_behind(c->l, s, c->cap + PROB);
}

static void slru_hit(void *state, uint32_t s, const cc_access *a)
{
    (void)a;
    slru *c = state;
    cc_sl_unlink(c->l, s);
    c->n[c->seg[s]]--;
    c->seg[s] = PROT;
    c->n[PROT]++;
    cc_sl_behind(c->l, s, c->cap + PROT);
    if (c->n[PROT] > c->prot_cap) {
        uint32_t d = cc_sl_tail(c->l, c->cap + PROT);
        cc_sl_unlink(c->l, d);
        c->n[PROT]--;
        c->seg[d] = PROB;
        c->n[PROB]++;
        cc_sl_behind(c->l, d, c->cap + PROB);
    }
}

static void slru_remove(void *state, uint32_t s, uint64_t key, cc_remove_reason why)
{
    (void)why;
    slru *c = state;
    cc_sl_unlink(c->l, s);
    c->n[c->seg[s]]--;
}

static uint32_t slru_victim(void *state, const cc_victim_ctx *ctx)
{
    slru *c = state;
    for (uint32_t g = PROB; g <= PROT; g++) {
        uint32_t sent = c->cap + g, s = cc_sl_tail(c->l, sent);
        while (s != sent && !ctx->evictable[s])
            s = c->l[s].newer;
        if (s != sent)
            return s;
    }
    return CC_SLOT_NONE;
}

const cc_policy_ops cc_policy_slru = {
    .name = "slru",
    .summary = "segmented LRU, probationary + protected segments; slru(protected=0.8)",
    .bytes_per_slot = 9,
    .create = slru_create,
    .destroy = slru_destroy,
    .on_insert = slru_insert,
    .on_hit = slru_hit,
    .on_remove = slru_remove,
    .choose_victim = slru_victim,
};
