/*
 * slru.c -- segmented LRU (Karedla, Love and Wherry, "Caching strategies to
 * improve disk system performance", IEEE Computer 27(3), 1994): LRU
 * segments 0 (lowest, probationary) .. n-1 (highest, protected), two
 * layouts:
 *
 *   slru(protected=0.8)                 the paper's two segments (default):
 *       segment 1 (protected) holds at most floor(capacity * protected)
 *       slots, segment 0 (probationary) the rest; every new block enters
 *       segment 0.
 *   slru(layout=lcs,segments=4)         libCacheSim's SLRU (SLRU.c, its
 *       default n-seg=4): n segments of floor(capacity / n) slots each
 *       (segment 0 also takes the remainder, so the segments add up to the
 *       capacity); a new block enters the LOWEST segment with room (while the
 *       cache fills, blocks land in higher segments), segment 0 when none
 *       has.  With a capacity that is a multiple of n this is libCacheSim's
 *       algorithm exactly (independent mode reproduces its miss ratios; see
 *       tests/test_policies_more.c).  libCacheSim gives the remainder to no
 *       segment and then lets segment 0 run over, evicting on a hit when a
 *       demotion lands there; here no hit ever evicts.
 *
 * Both layouts then run the same rules:
 *   hit in segment i < n-1 -> MRU of segment i+1; while a segment j >= 1 is
 *                  over its size, its LRU slot moves to the MRU of segment
 *                  j-1 (demotion, no eviction; it stops after one step,
 *                  since the promotion left room in j-1);
 *   hit in the top segment -> MRU of the top segment;
 *   evict       -> the LRU slot of the lowest non-empty segment.
 *
 * Not evictable (pinned, or in prefix mode a block with cached children):
 * the victim is the LRU-most evictable slot of the lowest segment that has
 * one (scan from the LRU end, as lru.c).  Demotions move slots whatever
 * their eligibility (they free nothing).  Prefix mode: a block whose parent
 * is in the segment it enters is linked just older than its parent, and
 * hits come last to first, so ancestors stay more recent within a segment.
 *
 * Costs: insert O(n) to find the segment with room (n <= 16), hit and
 * remove O(1), victim O(n + non-evictable slots skipped).  Memory: 9 bytes
 * per slot (links 8, segment 1).  Eligibility: scan.
 */
#include "slot_list.h"

#define SLRU_MAX_SEGMENTS 16

enum { LAYOUT_CLASSIC = 0, LAYOUT_LCS = 1 };

typedef struct slru {
    cc_slink *l;   /* sentinels: cap + 0 .. cap + n - 1, one per segment */
    uint8_t *seg;
    uint32_t cap, n_seg, layout;
    uint32_t max[SLRU_MAX_SEGMENTS], n[SLRU_MAX_SEGMENTS];
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
    static const char *const known[] = {"protected", "layout", "segments", NULL};
    static const char *const layouts[] = {"classic", "lcs", NULL};
    double prot, segs;
    int layout;
    int rc = cc_policy_param_check(p, known, err);
    if (!rc)
        rc = cc_policy_param_choice(p, "layout", layouts, LAYOUT_CLASSIC, &layout, err);
    if (!rc)
        rc = cc_policy_param_double(p, "protected", 0.8, 0.0, 1.0, &prot, err);
    if (!rc)
        rc = cc_policy_param_double(p, "segments", 4, 1, SLRU_MAX_SEGMENTS, &segs, err);
    if (rc)
        return rc;
    if (segs != (uint32_t)segs)
        return cc_err_set(err, CC_EARG, NULL, 0, "segments",
                          "policy '%s': segments must be a whole number in 1..%d", p->spec,
                          SLRU_MAX_SEGMENTS);
    if (layout == LAYOUT_CLASSIC && cc_policy_param_has(p, "segments"))
        return cc_err_set(err, CC_EARG, NULL, 0, "segments",
                          "policy '%s': segments goes with layout=lcs (the classic layout has "
                          "two: probationary and protected)", p->spec);
    if (layout == LAYOUT_LCS && cc_policy_param_has(p, "protected"))
        return cc_err_set(err, CC_EARG, NULL, 0, "protected",
                          "policy '%s': protected goes with the classic layout (layout=lcs "
                          "has equal segments)", p->spec);
    slru *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->cap = cap;
    c->layout = (uint32_t)layout;
    if (layout == LAYOUT_CLASSIC) {
        c->n_seg = 2;
        c->max[1] = (uint32_t)((double)cap * prot);
        c->max[0] = cap; /* probationary: whatever protected does not hold */
    } else {
        c->n_seg = (uint32_t)segs;
        for (uint32_t i = 0; i < c->n_seg; i++)
            c->max[i] = cap / c->n_seg;
        c->max[0] += cap % c->n_seg;
    }
    c->l = malloc(((size_t)cap + c->n_seg) * sizeof *c->l);
    c->seg = calloc(cap, 1);
    if (!c->l || !c->seg) {
        slru_destroy(c);
        return CC_ENOMEM;
    }
    for (uint32_t i = 0; i < c->n_seg; i++)
        cc_sl_init(c->l, cap + i);
    *state = c;
    return CC_OK;
}

static void slru_insert(void *state, uint32_t s, const cc_access *a)
{
    slru *c = state;
    uint32_t g = 0;
    if (c->layout == LAYOUT_LCS)
        while (g < c->n_seg && c->n[g] >= c->max[g])
            g++;
    if (g == c->n_seg)
        g = 0;
    c->seg[s] = (uint8_t)g;
    c->n[g]++;
    if (a->parent_slot != CC_SLOT_NONE && c->seg[a->parent_slot] == g)
        cc_sl_behind(c->l, s, a->parent_slot);
    else
        cc_sl_behind(c->l, s, c->cap + g);
}

static void slru_hit(void *state, uint32_t s, const cc_access *a)
{
    (void)a;
    slru *c = state;
    uint32_t g = c->seg[s], up = g + 1 < c->n_seg ? g + 1 : g;
    cc_sl_unlink(c->l, s);
    c->n[g]--;
    c->seg[s] = (uint8_t)up;
    c->n[up]++;
    cc_sl_behind(c->l, s, c->cap + up);
    for (uint32_t j = up; j >= 1 && c->n[j] > c->max[j]; j--) {
        uint32_t d = cc_sl_tail(c->l, c->cap + j);
        cc_sl_unlink(c->l, d);
        c->n[j]--;
        c->seg[d] = (uint8_t)(j - 1);
        c->n[j - 1]++;
        cc_sl_behind(c->l, d, c->cap + j - 1);
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
    for (uint32_t g = 0; g < c->n_seg; g++) {
        uint32_t sent = c->cap + g, s = cc_sl_tail(c->l, sent);
        while (s != sent && !ctx->evictable[s])
            s = c->l[s].newer;
        if (s != sent)
            return s;
    }
    return CC_SLOT_NONE;
}

static const cc_policy_param_doc slru_params[] = {
    {"layout", "classic", "classic: the paper's probationary + protected segments; lcs: "
                          "libCacheSim's equal segments, new blocks in the lowest with room"},
    {"protected", "0.8", "classic layout: share of the slots the protected segment holds"},
    {"segments", "4 (lcs)", "lcs layout: number of equal segments (1..16)"},
    {NULL, NULL, NULL},
};

const cc_policy_ops cc_policy_slru = {
    .name = "slru",
    .summary = "segmented LRU: probationary + protected, or libCacheSim's (layout=lcs)",
    .params = slru_params,
    .bytes_per_slot = 9,
    .create = slru_create,
    .destroy = slru_destroy,
    .on_insert = slru_insert,
    .on_hit = slru_hit,
    .on_remove = slru_remove,
    .choose_victim = slru_victim,
};
