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
 * Order and eligibility (index, see policy.h).  Every time a slot enters a
 * queue (insert into S or M, move S -> M, reinsertion in M) it gets a fresh
 * sequence number from one counter; a queue's order is the order of those
 * numbers, and "the tail" of a queue is its evictable slot with the smallest
 * number.  A slot that is not evictable (pinned, or in prefix mode a block
 * with cached children) is skipped in place: it keeps its number, its
 * frequency and its queue, and is not moved to M while it is skipped.  So
 * with every slot evictable (one tier, no pins, independent mode) this is
 * exactly the algorithm above, and with pins the victim is the one a walk
 * from the tail skipping non-evictable slots finds.
 *   Implementation: each queue is a linked list in number order (entries go
 * to the head with the largest number) plus a min-heap by number of
 * "returned" slots.  The walk from the list's tail unlinks ("parks") each
 * non-evictable slot it meets; when a parked slot becomes evictable again
 * (on_evictable) it goes into its queue's heap with its old number, which is
 * smaller than every number in the list behind which it was parked.  A heap
 * slot that stops being evictable is parked again when it reaches the top
 * (lazy, as fifo.c).  The tail is then the smaller of the list's tail and
 * the heap's top.  Each slot is parked and returned at most once per change
 * of its evictable state, so the walk never crosses the same internal block
 * twice: in prefix mode, where the old ends of both queues fill with
 * internal blocks (a shared system prompt, earlier turns of live
 * conversations), the former scan crossed them on every eviction (Mooncake
 * conversation trace, 50,000 blocks: 0.13 M lookups/s against 7 M/s now).
 * choose_victim performs the moves the algorithm makes while looking (S ->
 * M, M reinsertions; parking changes no order) and leaves the victim where
 * it is (on_remove(EVICT) takes it out and records its key in G if it was
 * in S), so a repeated call returns the same slot.
 *
 * Prefix mode: the order is the one above (a new block goes to the head of
 * S even when its parent is in S; the parent is not evictable while the
 * child is cached, so chains leave leaf first anyway).
 *
 * Admission: the ghost decides where a block goes, not whether; every block
 * is admitted (no admit hook: S is the filter).
 *
 * Costs: insert O(1) expected (one ghost lookup), hit O(1), remove O(1)
 * (O(log n) for a slot in a heap; one ghost insert for an S eviction),
 * on_evictable O(1), or O(log n) for a parked slot, choose_victim O(slots
 * moved or parked), amortised O(1) with no pins (each move spends frequency
 * a hit gave).  Memory: 27 bytes per slot (links 8, number 8, heap
 * position 4, heap entry 4, freq 1, queue 1, place 1; a block's key comes
 * with on_remove) plus the ghost (slot_list.h: a ring of exact keys and a
 * 4-byte table, 16.125 bytes a key, 0.9 keys a slot by default), i.e. about
 * 41.5 bytes per slot.
 */
#include "slot_list.h"

enum { QS = 0, QM = 1 };
enum { IN_LIST = 0, PARKED = 1, IN_HEAP = 2 };

typedef struct s3 {
    cc_slink *l; /* sentinels: cap + QS, cap + QM */
    uint64_t *seq;  /* number given when the slot entered its queue */
    uint32_t *pos;  /* index in its queue's heap */
    uint32_t *heap; /* QS's heap from index 0 up, QM's from cap - 1 down */
    uint8_t *freq;
    uint8_t *q;
    uint8_t *where; /* IN_LIST, PARKED, IN_HEAP */
    uint32_t cap, small_cap, n[2], hn[2];
    uint64_t clock;
    cc_ghost g;
    uint32_t ghost_cap;
} s3;

static void s3_destroy(void *state)
{
    s3 *c = state;
    free(c->l);
    free(c->seq);
    free(c->pos);
    free(c->heap);
    free(c->freq);
    free(c->q);
    free(c->where);
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
    c->seq = malloc((size_t)cap * sizeof *c->seq);
    c->pos = malloc((size_t)cap * sizeof *c->pos);
    c->heap = malloc((size_t)cap * sizeof *c->heap);
    c->freq = calloc(cap, 1);
    c->q = calloc(cap, 1);
    c->where = calloc(cap, 1);
    if (!c->l || !c->seq || !c->pos || !c->heap || !c->freq || !c->q ||
        !c->where || cc_ghost_init(&c->g, c->ghost_cap ? c->ghost_cap : 1) != CC_OK) {
        s3_destroy(c);
        return CC_ENOMEM;
    }
    cc_sl_init(c->l, cap + QS);
    cc_sl_init(c->l, cap + QM);
    *state = c;
    return CC_OK;
}

/* ---- the heaps of returned slots (min by seq; ties cannot happen) ---------- */
static inline uint32_t *hat(s3 *c, uint32_t q, uint32_t i)
{
    return q == QS ? &c->heap[i] : &c->heap[c->cap - 1 - i];
}

static inline void hset(s3 *c, uint32_t q, uint32_t i, uint32_t s)
{
    *hat(c, q, i) = s;
    c->pos[s] = i;
}

static void hsift_up(s3 *c, uint32_t q, uint32_t i)
{
    uint32_t s = *hat(c, q, i);
    while (i > 0) {
        uint32_t p = (i - 1) / 2, ps = *hat(c, q, p);
        if (c->seq[ps] <= c->seq[s])
            break;
        hset(c, q, i, ps);
        i = p;
    }
    hset(c, q, i, s);
}

static void hsift_down(s3 *c, uint32_t q, uint32_t i)
{
    uint32_t n = c->hn[q], s = *hat(c, q, i);
    for (;;) {
        uint32_t l = 2 * i + 1, m;
        if (l >= n)
            break;
        m = l;
        if (l + 1 < n && c->seq[*hat(c, q, l + 1)] < c->seq[*hat(c, q, l)])
            m = l + 1;
        uint32_t ms = *hat(c, q, m);
        if (c->seq[s] <= c->seq[ms])
            break;
        hset(c, q, i, ms);
        i = m;
    }
    hset(c, q, i, s);
}

static void hpush(s3 *c, uint32_t q, uint32_t s)
{
    uint32_t i = c->hn[q]++;
    hset(c, q, i, s);
    hsift_up(c, q, i);
}

static void hremove(s3 *c, uint32_t q, uint32_t s)
{
    uint32_t i = c->pos[s], last = --c->hn[q];
    if (i == last)
        return;
    uint32_t moved = *hat(c, q, last);
    hset(c, q, i, moved);
    hsift_down(c, q, i);
    hsift_up(c, q, c->pos[moved]);
}

/* ---- queues --------------------------------------------------------------- */
static inline void link_into(s3 *c, uint32_t s, uint32_t q)
{
    c->q[s] = (uint8_t)q;
    c->n[q]++;
    c->seq[s] = c->clock++;
    c->where[s] = IN_LIST;
    cc_sl_behind(c->l, s, c->cap + q);
}

static inline void detach(s3 *c, uint32_t s)
{
    if (c->where[s] == IN_LIST)
        cc_sl_unlink(c->l, s);
    else if (c->where[s] == IN_HEAP)
        hremove(c, c->q[s], s);
    c->n[c->q[s]]--;
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
    c->freq[s] = 0;
    link_into(c, s, q);
}

static void s3_hit(void *state, uint32_t s, const cc_access *a)
{
    (void)a;
    s3 *c = state;
    if (c->freq[s] < 3)
        c->freq[s]++;
}

static void s3_remove(void *state, uint32_t s, uint64_t key, cc_remove_reason why)
{
    s3 *c = state;
    detach(c, s);
    if (why == CC_REMOVE_EVICT && c->q[s] == QS && c->ghost_cap) {
        if (c->g.n >= c->ghost_cap)
            cc_ghost_remove(&c->g, cc_ghost_oldest(&c->g, 0));
        cc_ghost_add(&c->g, 0, key);
    }
}

static void s3_evictable(void *state, uint32_t s, int e)
{
    s3 *c = state;
    if (e && c->where[s] == PARKED) {
        c->where[s] = IN_HEAP;
        hpush(c, c->q[s], s);
    }
    /* e == 0: lazy; the slot is parked when a walk meets it */
}

/* The evictable slot of queue q with the smallest number, or CC_SLOT_NONE;
 * parks the non-evictable slots it meets. */
static uint32_t tail_of(s3 *c, uint32_t q, const uint8_t *ev)
{
    uint32_t sent = c->cap + q, t;
    while ((t = cc_sl_tail(c->l, sent)) != sent && !ev[t]) {
        cc_sl_unlink(c->l, t);
        c->where[t] = PARKED;
    }
    uint32_t h = CC_SLOT_NONE;
    while (c->hn[q] && !ev[h = *hat(c, q, 0)]) {
        hremove(c, q, h);
        c->where[h] = PARKED;
        h = CC_SLOT_NONE;
    }
    if (!c->hn[q])
        h = CC_SLOT_NONE;
    if (t == sent)
        return h;
    return h != CC_SLOT_NONE && c->seq[h] < c->seq[t] ? h : t;
}

static uint32_t evict_small(s3 *c, const uint8_t *ev)
{
    uint32_t t;
    while ((t = tail_of(c, QS, ev)) != CC_SLOT_NONE) {
        if (c->freq[t] < 2)
            return t;
        detach(c, t);
        c->freq[t] = 0;
        link_into(c, t, QM);
    }
    return CC_SLOT_NONE;
}

static uint32_t evict_main(s3 *c, const uint8_t *ev)
{
    uint32_t t;
    /* each reinsertion spends one unit of frequency: ends */
    while ((t = tail_of(c, QM, ev)) != CC_SLOT_NONE) {
        if (c->freq[t] == 0)
            return t;
        c->freq[t]--;
        detach(c, t);
        link_into(c, t, QM);
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

/* A hint (policy.h): the oldest slots of the queue the next eviction will
 * most likely come from, walking its list only (no moves, heaps ignored).
 * The last one's state is prefetched. */
static uint32_t s3_peek(const void *state, const cc_victim_ctx *ctx, uint32_t *out, uint32_t max)
{
    const s3 *c = state;
    uint32_t q = c->n[QS] >= c->small_cap || c->n[QM] == 0 ? QS : QM;
    uint32_t sent = c->cap + q, n = 0, s = cc_sl_tail(c->l, sent);
    while (n < max && s != sent) {
        out[n++] = s;
        if (n < max)
            s = c->l[s].newer;
    }
    if (n) {
        uint32_t t = out[n - 1];
        __builtin_prefetch(&c->l[t]);
        __builtin_prefetch(&c->freq[t]);
        __builtin_prefetch(&ctx->evictable[t]);
    }
    return n;
}

/* Per-slot arrays (35 bytes a slot, the links' two sentinels) and the
 * ghost's ring and table. */
static uint64_t s3_memory(const void *state)
{
    const s3 *c = state;
    return (uint64_t)c->cap * 27 + 2 * sizeof *c->l +
           cc_ghost_memory_bytes(&c->g);
}

const cc_policy_ops cc_policy_s3fifo = {
    .name = "s3fifo",
    .summary = "S3-FIFO (SOSP'23): small, main and ghost FIFO queues; s3fifo(small=0.1,ghost=0.9)",
    .bytes_per_slot = 27 + 15, /* slot state + default ghost (0.9 keys of 16.125
                                  bytes); exact figure: memory_bytes */
    .memory_bytes = s3_memory,
    .create = s3_create,
    .destroy = s3_destroy,
    .on_insert = s3_insert,
    .on_hit = s3_hit,
    .on_remove = s3_remove,
    .choose_victim = s3_victim,
    .on_evictable = s3_evictable,
    .peek_victims = s3_peek,
};
