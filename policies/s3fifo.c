/*
 * s3fifo.c -- S3-FIFO (Yang, Zhang, Qiu, Yue, Rashmi: "FIFO queues are all
 * you need for cache eviction", SOSP'23), with the details of the authors'
 * implementation in libCacheSim (S3FIFO.c) where the paper leaves them open.
 *
 * Three FIFO queues: small S (a fraction `small` of the slots, default 0.1,
 * floor(capacity * small), at least 1), main M (the rest) and a ghost G of
 * keys recently evicted from S (floor(capacity * ghost) keys, default
 * ghost = 1 - small: sized like M).  Each slot has a 2-bit frequency (hits
 * increment it, capped at 3).
 *   insert x: x in G -> remove it from G, x enters M's head; else S's head.
 *   evict   : from S when |S| >= its size, else from M (when the cache is
 *             full this is the paper's "S.size >= 10 % of the cache").
 *   evict S : tail t; freq(t) >= 2 -> move t to M's head with freq 0 and
 *             look at the next tail; else t is the victim, its key enters G
 *             (the oldest key of G is dropped when G is full).  Moving to M
 *             never evicts from M at once; M runs over its size and the
 *             following evictions come from M (as libCacheSim does).
 *   evict M : tail t; freq(t) >= 1 -> reinsert t at M's head with
 *             freq - 1; else t is the victim.
 * If the queue that should give a victim has none (see below), the other
 * one is asked.
 *
 * Not evictable (pinned, or in prefix mode a block with cached children):
 * skipped in place: it keeps its position and its frequency and is not
 * moved to M, as if it were not in the queue at this moment; the walk goes
 * on to the next slot towards the head of the same queue.  choose_victim
 * performs the moves the algorithm makes while looking (S -> M, M
 * reinsertions) and leaves the victim where it is (on_remove(EVICT) takes it
 * out and records its key in G if it was in S), so a repeated call returns
 * the same slot.  With every slot evictable (one tier, no pins,
 * independent mode) this is exactly the algorithm above.
 *
 * Prefix mode: a block whose parent is in the same queue is linked just
 * older than its parent, so a chain's leaf leaves before its ancestors.
 *
 * Admission: the ghost decides where a block goes, not whether; every block
 * is admitted (no admit hook: S is the filter).
 *
 * Costs: insert O(1) expected (one ghost lookup), hit O(1), remove O(1)
 * (one ghost insert for an S eviction), choose_victim O(slots moved or
 * skipped), amortised O(1) with no pins (each move spends frequency a hit
 * gave).  Memory: 18 bytes per slot (links 8, key 8, freq 1, queue 1) plus
 * the ghost, about 50-80 bytes per ghost key (slot_list.h), i.e. about
 * 45-72 bytes per slot with the default ghost size.  Eligibility: scan.
 */
#include "slot_list.h"

enum { QS = 0, QM = 1 };

typedef struct s3 {
    cc_slink *l; /* sentinels: cap + QS, cap + QM */
    uint64_t *key;
    uint8_t *freq;
    uint8_t *q;
    uint32_t cap, small_cap, n[2];
    cc_ghost g;
    uint32_t ghost_cap;
} s3;

static void s3_destroy(void *state)
{
    s3 *c = state;
    free(c->l);
    free(c->key);
    free(c->freq);
    free(c->q);
    cc_ghost_free(&c->g);
    free(c);
}

static int s3_create(const cc_policy_params *p, uint32_t cap, void **state, cc_err *err)
{
    static const char *const known[] = {"small", "ghost", NULL};
    double small, ghost;
    int rc = cc_policy_param_check(p, known, err);
    if (!rc)
        rc = cc_policy_param_double(p, "small", 0.1, 0.0, 1.0, &small, err);
    if (!rc)
        rc = cc_policy_param_double(p, "ghost", 1.0 - small, 0.0, 16.0, &ghost, err);
    if (rc)
        return rc;
    s3 *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->cap = cap;
    c->small_cap = (uint32_t)((double)cap * small);
    if (c->small_cap == 0)
        c->small_cap = 1;
    c->ghost_cap = (uint32_t)((double)cap * ghost);
    c->l = malloc(((size_t)cap + 2) * sizeof *c->l);
    c->key = malloc((size_t)cap * sizeof *c->key);
    c->freq = calloc(cap, 1);
    c->q = calloc(cap, 1);
    if (!c->l || !c->key || !c->freq || !c->q ||
        cc_ghost_init(&c->g, c->ghost_cap ? c->ghost_cap : 1) != CC_OK) {
        s3_destroy(c);
        return CC_ENOMEM;
    }
    cc_sl_init(c->l, cap + QS);
    cc_sl_init(c->l, cap + QM);
    *state = c;
    return CC_OK;
}

static inline void link_into(s3 *c, uint32_t s, uint32_t q, uint32_t parent)
{
    c->q[s] = (uint8_t)q;
    c->n[q]++;
    if (parent != CC_SLOT_NONE && c->q[parent] == q)
        cc_sl_behind(c->l, s, parent);
    else
        cc_sl_behind(c->l, s, c->cap + q);
}

static void s3_insert(void *state, uint32_t s, const cc_access *a)
{
    s3 *c = state;
    uint32_t q = QS;
    uint32_t e = cc_ghost_find(&c->g, a->key);
    if (e != CC_SLOT_NONE) {
        cc_ghost_remove(&c->g, e);
        q = QM;
    }
    c->key[s] = a->key;
    c->freq[s] = 0;
    link_into(c, s, q, a->parent_slot);
}

static void s3_hit(void *state, uint32_t s, const cc_access *a)
{
    (void)a;
    s3 *c = state;
    if (c->freq[s] < 3)
        c->freq[s]++;
}

static void s3_remove(void *state, uint32_t s, cc_remove_reason why)
{
    s3 *c = state;
    cc_sl_unlink(c->l, s);
    c->n[c->q[s]]--;
    if (why == CC_REMOVE_EVICT && c->q[s] == QS && c->ghost_cap) {
        if (c->g.n >= c->ghost_cap)
            cc_ghost_remove(&c->g, cc_ghost_oldest(&c->g, 0));
        cc_ghost_add(&c->g, 0, c->key[s]);
    }
}

static uint32_t evict_small(s3 *c, const uint8_t *ev)
{
    uint32_t sent = c->cap + QS, t = cc_sl_tail(c->l, sent);
    while (t != sent) {
        uint32_t nx = c->l[t].newer;
        if (ev[t]) {
            if (c->freq[t] < 2)
                return t;
            cc_sl_unlink(c->l, t);
            c->n[QS]--;
            c->freq[t] = 0;
            c->q[t] = QM;
            c->n[QM]++;
            cc_sl_behind(c->l, t, c->cap + QM);
        }
        t = nx;
    }
    return CC_SLOT_NONE;
}

static uint32_t evict_main(s3 *c, const uint8_t *ev)
{
    uint32_t sent = c->cap + QM, t = cc_sl_tail(c->l, sent);
    /* reinserted slots come round again with a lower count: at most
     * 3 * |M| + |M| steps */
    uint64_t limit = 4ull * c->n[QM] + 1;
    for (uint64_t steps = 0; t != sent && steps < limit; steps++) {
        uint32_t nx = c->l[t].newer;
        if (ev[t]) {
            if (c->freq[t] == 0)
                return t;
            c->freq[t]--;
            cc_sl_unlink(c->l, t);
            cc_sl_behind(c->l, t, sent);
            if (nx == sent) /* t was the only one left before the head */
                nx = t;
        }
        t = nx;
    }
    return CC_SLOT_NONE;
}

static uint32_t s3_victim(void *state, const cc_victim_ctx *ctx)
{
    s3 *c = state;
    uint32_t v;
    if (c->n[QS] >= c->small_cap || c->n[QM] == 0) {
        v = evict_small(c, ctx->evictable);
        if (v == CC_SLOT_NONE)
            v = evict_main(c, ctx->evictable);
    } else {
        v = evict_main(c, ctx->evictable);
        if (v == CC_SLOT_NONE)
            v = evict_small(c, ctx->evictable);
    }
    return v;
}

const cc_policy_ops cc_policy_s3fifo = {
    .name = "s3fifo",
    .summary = "S3-FIFO (SOSP'23): small, main and ghost FIFO queues; s3fifo(small=0.1,ghost=0.9)",
    .bytes_per_slot = 18 + 44, /* slot state + default ghost (0.9 keys of ~49 bytes) */
    .create = s3_create,
    .destroy = s3_destroy,
    .on_insert = s3_insert,
    .on_hit = s3_hit,
    .on_remove = s3_remove,
    .choose_victim = s3_victim,
};
