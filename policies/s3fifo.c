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
 *             When G is asked is a parameter: ghost_check=after (default,
 *             the paper's pseudocode: on insertion, after room was made, so
 *             an eviction from S that pushes G's oldest key out can push x's
 *             out first) or ghost_check=before (libCacheSim's S3FIFO.c: at
 *             the miss, before room is made; this file answers it from the
 *             admit hook, which the cache calls before making room, and
 *             on_insert uses the answer for that key).
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
 * numbers, and "the tail" of a queue is its oldest slot that the walk may
 * take: an evictable one, or one that the algorithm would move rather than
 * evict (frequency >= 2 in S: moved to M; >= 1 in M: reinserted), since a
 * move is no eviction and is allowed for any slot.  A slot that is not
 * evictable (pinned, or in prefix mode a block with cached children) and
 * would be the victim is skipped in place ("parked"): it keeps its number,
 * its frequency and its queue until it is evictable again.  The size test
 * ("S over its size") counts S's slots less its parked ones, and "M is
 * empty" means every slot of M is parked: parked slots are a part of the
 * queue that no eviction can free.  So with every slot evictable (one tier,
 * no pins, independent mode) this is exactly the algorithm above.  Why the
 * last two rules (issue 17; policies/README.md, "S3-FIFO under the prefix
 * rule"): in prefix mode S fills with the parents of cached chains (earlier
 * turns, shared documents); when they were parked even at frequency >= 2
 * and counted in S's size, S stayed "over its size", every eviction took
 * the newest leaves of S and M's stale blocks were never evicted: 0.686
 * block hit ratio against 0.800 in independent mode on the generated
 * 100k-request workload at 100k blocks; now 0.799.
 *   Implementation: each queue is a linked list in queue order (entries go
 * to the head) plus a min-heap of "returned" slots by number.  The walk
 * from the list's tail unlinks ("parks") each non-evictable slot it meets
 * and gives it the next number of one parking counter; when a parked slot
 * becomes evictable again (on_evictable) it goes into its queue's heap with
 * that number.  A slot is parked only as its list's oldest and lists gain
 * slots only at the new end, so every parked or returned slot is older than
 * every slot still in its list, and numbers follow queue order: the tail is
 * the heap's top when the heap has one, else the list's.  A heap slot that
 * stops being evictable is parked again, keeping its number, when it
 * reaches the top (lazy, as fifo.c).  Numbers are 32-bit; when the counter
 * runs out the parked and returned slots are renumbered 0, 1, ... in order
 * (heaps stay valid; once per 2^32 parkings; the test-only parameter
 * park_base starts the counter near the end to exercise it).  A parked or
 * returned slot is in no list, so its two link words hold its number and
 * its heap position.  Each slot is parked and returned at most once per change
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
 * a hit gave).  Memory: 13 bytes per slot (links 8 -- or number and heap
 * position while parked --, heap entry 4, and one byte packing frequency,
 * queue and where the slot is; a block's key comes with on_remove) plus the
 * ghost (slot_list.h: a ring of exact keys and a table of 16-entry buckets,
 * 16.22 bytes a key, 0.9 keys a slot by default), i.e. about 27.6 bytes per
 * slot.
 */
#include "slot_list.h"

#include <stdio.h>

enum { QS = 0, QM = 1 };
/* FREE is 0: the flags come zeroed from calloc (see create) */
enum { FREE = 0, IN_LIST = 1, PARKED = 2, IN_HEAP = 3 };

/* flags byte of a slot: frequency (bits 0-1), queue (bit 2), where (3-4) */
#define F_FREQ 3u
#define F_Q 4u
#define F_WHERE_SHIFT 3

typedef struct s3 {
    cc_slink *l;    /* sentinels: cap + QS, cap + QM.  A parked or in-heap
                       slot is in no list: its older word holds its number,
                       its newer word its position in its queue's heap */
    uint32_t *heap; /* QS's heap from index 0 up, QM's from cap - 1 down */
    uint8_t *f;     /* flags */
    uint32_t cap, small_cap, n[2], hn[2], np[2]; /* np: parked slots of each queue */
    uint32_t pnext; /* number of the next slot parked from a list */
    cc_ghost g;
    uint32_t ghost_cap;
    int ghost_before;      /* ghost_check=before */
    int pending_in_ghost;  /* admit's answer for pending_key */
    uint64_t pending_key;
    int pending;
} s3;

static inline uint32_t freq_of(const s3 *c, uint32_t s) { return c->f[s] & F_FREQ; }
static inline void set_freq(s3 *c, uint32_t s, uint32_t v)
{
    c->f[s] = (uint8_t)((c->f[s] & ~F_FREQ) | v);
}
static inline uint32_t q_of(const s3 *c, uint32_t s) { return (c->f[s] & F_Q) != 0; }
static inline uint32_t where_of(const s3 *c, uint32_t s) { return c->f[s] >> F_WHERE_SHIFT; }
static inline void set_where(s3 *c, uint32_t s, uint32_t w)
{
    c->f[s] = (uint8_t)((c->f[s] & (F_FREQ | F_Q)) | w << F_WHERE_SHIFT);
}
static inline uint32_t num_of(const s3 *c, uint32_t s) { return c->l[s].older; }

static void s3_destroy(void *state)
{
    s3 *c = state;
    free(c->l);
    free(c->heap);
    free(c->f);
    cc_ghost_free(&c->g);
    free(c);
}

static int s3_create(const cc_policy_params *p, uint32_t cap, void **state, cc_err *err)
{
    static const char *const known[] = {"small", "ghost", "park_base", "ghost_check", NULL};
    static const char *const moments[] = {"after", "before", NULL};
    double small, ghost, base;
    int before;
    int rc = cc_policy_param_check(p, known, err);
    if (!rc)
        rc = cc_policy_param_choice(p, "ghost_check", moments, 0, &before, err);
    if (!rc)
        rc = cc_policy_param_double(p, "small", 0.1, 0.0, 1.0, &small, err);
    if (!rc)
        rc = cc_policy_param_double(p, "ghost", 1.0 - small, 0.0, 16.0, &ghost, err);
    if (!rc)
        rc = cc_policy_param_double(p, "park_base", 0, 0, UINT32_MAX, &base, err);
    if (rc)
        return rc;
    if (base != (uint32_t)base)
        return cc_err_set(err, CC_EARG, NULL, 0, "park_base",
                          "policy '%s': park_base must be a whole number", p->spec);
    s3 *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->cap = cap;
    c->small_cap = (uint32_t)((double)cap * small);
    if (c->small_cap == 0)
        c->small_cap = 1;
    c->ghost_cap = (uint32_t)((double)cap * ghost);
    c->pnext = (uint32_t)base;
    c->ghost_before = before;
    c->l = malloc(((size_t)cap + 2) * sizeof *c->l);
    c->heap = malloc((size_t)cap * sizeof *c->heap);
    /* Only the flags are read before they are written, and FREE is 0: from
     * calloc, the pages of slots (and heap entries, ghost ring entries)
     * never used are never touched, so a capacity far above what the trace
     * fills costs address space, not memory. */
    c->f = calloc(cap ? cap : 1, 1);
    if (!c->l || !c->heap || !c->f ||
        cc_ghost_init(&c->g, c->ghost_cap ? c->ghost_cap : 1, 0) != CC_OK) {
        s3_destroy(c);
        return CC_ENOMEM;
    }
    cc_sl_init(c->l, cap + QS);
    cc_sl_init(c->l, cap + QM);
    *state = c;
    return CC_OK;
}

/* ---- the heaps of returned slots (min by number; numbers are distinct) ---- */
static inline uint32_t *hat(s3 *c, uint32_t q, uint32_t i)
{
    return q == QS ? &c->heap[i] : &c->heap[c->cap - 1 - i];
}

static inline void hset(s3 *c, uint32_t q, uint32_t i, uint32_t s)
{
    *hat(c, q, i) = s;
    c->l[s].newer = i;
}

static void hsift_up(s3 *c, uint32_t q, uint32_t i)
{
    uint32_t s = *hat(c, q, i), ns = num_of(c, s);
    while (i > 0) {
        uint32_t p = (i - 1) / 2, ps = *hat(c, q, p);
        if (num_of(c, ps) <= ns)
            break;
        hset(c, q, i, ps);
        i = p;
    }
    hset(c, q, i, s);
}

static void hsift_down(s3 *c, uint32_t q, uint32_t i)
{
    uint32_t n = c->hn[q], s = *hat(c, q, i), ns = num_of(c, s);
    for (;;) {
        uint32_t l = 2 * i + 1, m;
        if (l >= n)
            break;
        m = l;
        if (l + 1 < n && num_of(c, *hat(c, q, l + 1)) < num_of(c, *hat(c, q, l)))
            m = l + 1;
        uint32_t ms = *hat(c, q, m);
        if (ns <= num_of(c, ms))
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
    uint32_t i = c->l[s].newer, last = --c->hn[q];
    if (i == last)
        return;
    uint32_t moved = *hat(c, q, last);
    hset(c, q, i, moved);
    hsift_down(c, q, i);
    hsift_up(c, q, c->l[moved].newer);
}

/* ---- numbers of parked slots ----------------------------------------------- */
static int has_number(const void *st, uint32_t s)
{
    return where_of(st, s) == PARKED || where_of(st, s) == IN_HEAP;
}
static uint32_t get_number(const void *st, uint32_t s) { return num_of(st, s); }
static void set_number(void *st, uint32_t s, uint32_t v) { ((s3 *)st)->l[s].older = v; }

/* The counter ran out (2^32 parkings): number the parked and in-heap slots
 * 0, 1, ... in their present order, which keeps every heap valid. */
static void renumber(s3 *c)
{
    static const cc_renumber_ops ops = {has_number, get_number, set_number};
    c->pnext = cc_renumber(c, c->cap, &ops, "s3fifo");
}

/* ---- queues --------------------------------------------------------------- */
static inline void link_into(s3 *c, uint32_t s, uint32_t q)
{
    c->f[s] = (uint8_t)((c->f[s] & F_FREQ) | (q ? F_Q : 0) | IN_LIST << F_WHERE_SHIFT);
    c->n[q]++;
    cc_sl_behind(c->l, s, c->cap + q);
}

static inline void detach(s3 *c, uint32_t s)
{
    if (where_of(c, s) == IN_LIST)
        cc_sl_unlink(c->l, s);
    else if (where_of(c, s) == IN_HEAP)
        hremove(c, q_of(c, s), s);
    else if (where_of(c, s) == PARKED)
        c->np[q_of(c, s)]--;
    c->n[q_of(c, s)]--;
}

/* Takes key out of G; 1 when it was there. */
static int ghost_take(s3 *c, uint64_t key)
{
    uint32_t e = cc_ghost_find(&c->g, key);
    if (e == CC_SLOT_NONE)
        return 0;
    cc_ghost_remove(&c->g, e);
    return 1;
}

/* ghost_check=before: the cache asks admit at a miss before it makes room. */
static int s3_admit(void *state, const cc_access *a)
{
    s3 *c = state;
    if (c->ghost_before) {
        c->pending = 1;
        c->pending_key = a->key;
        c->pending_in_ghost = ghost_take(c, a->key);
    }
    return 1;
}

static void s3_insert(void *state, uint32_t s, const cc_access *a)
{
    s3 *c = state;
    int in_ghost;
    if (c->pending && c->pending_key == a->key)
        in_ghost = c->pending_in_ghost;
    else
        in_ghost = ghost_take(c, a->key);
    c->pending = 0;
    set_freq(c, s, 0);
    link_into(c, s, in_ghost ? QM : QS);
}

static void s3_hit(void *state, uint32_t s, const cc_access *a)
{
    (void)a;
    s3 *c = state;
    if (freq_of(c, s) < 3)
        set_freq(c, s, freq_of(c, s) + 1);
}

static void s3_remove(void *state, uint32_t s, uint64_t key, cc_remove_reason why)
{
    s3 *c = state;
    detach(c, s);
    if (why == CC_REMOVE_EVICT && q_of(c, s) == QS && c->ghost_cap) {
        if (c->g.n >= c->ghost_cap)
            cc_ghost_remove(&c->g, cc_ghost_oldest(&c->g, 0));
        cc_ghost_push(&c->g, 0, key); /* absent: s3_insert took it out */
    }
    set_where(c, s, FREE);
}

static void s3_evictable(void *state, uint32_t s, int e)
{
    s3 *c = state;
    if (e && where_of(c, s) == PARKED) {
        c->np[q_of(c, s)]--;
        set_where(c, s, IN_HEAP);
        hpush(c, q_of(c, s), s);
    }
    /* e == 0: lazy; the slot is parked when a walk meets it */
}

/* The slot of queue q with the smallest number that is evictable or has a
 * frequency of at least moves_at (the walk moves it, not evicts it), or
 * CC_SLOT_NONE; parks the other slots it meets.  Every parked or in-heap slot of
 * a queue is older than every slot in its list (a slot is parked only as
 * the list's oldest, and the list only gains slots at its new end), so the
 * heap's evictable top, if any, is the answer; else the list's oldest
 * evictable slot, parking the ones before it with the next numbers, which
 * keeps the numbers in queue order. */
static uint32_t tail_of(s3 *c, uint32_t q, const uint8_t *ev, uint32_t moves_at)
{
    while (c->hn[q]) {
        uint32_t h = *hat(c, q, 0);
        if (ev[h] || freq_of(c, h) >= moves_at)
            return h;
        hremove(c, q, h); /* keeps its number */
        set_where(c, h, PARKED);
        c->np[q]++;
    }
    uint32_t sent = c->cap + q, t;
    while ((t = cc_sl_tail(c->l, sent)) != sent && !ev[t] && freq_of(c, t) < moves_at) {
        cc_sl_unlink(c->l, t);
        if (c->pnext == UINT32_MAX)
            renumber(c);
        c->l[t].older = c->pnext++;
        set_where(c, t, PARKED);
        c->np[q]++;
    }
    return t == sent ? CC_SLOT_NONE : t;
}

static uint32_t evict_small(s3 *c, const uint8_t *ev)
{
    uint32_t t;
    while ((t = tail_of(c, QS, ev, 2)) != CC_SLOT_NONE) {
        if (freq_of(c, t) < 2)
            return t;
        detach(c, t);
        set_freq(c, t, 0);
        link_into(c, t, QM);
    }
    return CC_SLOT_NONE;
}

static uint32_t evict_main(s3 *c, const uint8_t *ev)
{
    uint32_t t;
    /* each reinsertion spends one unit of frequency: ends */
    while ((t = tail_of(c, QM, ev, 1)) != CC_SLOT_NONE) {
        if (freq_of(c, t) == 0)
            return t;
        set_freq(c, t, freq_of(c, t) - 1);
        detach(c, t);
        link_into(c, t, QM);
    }
    return CC_SLOT_NONE;
}

static uint32_t s3_victim(void *state, const cc_victim_ctx *ctx)
{
    s3 *c = state;
    uint32_t v;
    if (c->n[QS] - c->np[QS] >= c->small_cap || c->n[QM] == c->np[QM]) {
        v = evict_small(c, ctx->evictable);
        if (v == CC_SLOT_NONE)
            v = evict_main(c, ctx->evictable);
    } else {
        v = evict_main(c, ctx->evictable);
        if (v == CC_SLOT_NONE)
            v = evict_small(c, ctx->evictable);
        if (v == CC_SLOT_NONE) /* S's walk moved its evictable slots to M */
            v = evict_main(c, ctx->evictable);
    }
    return v;
}

/* A hint (policy.h): the oldest slots of the queue the next eviction will
 * most likely come from, walking its list only (no moves, heaps ignored).
 * The last one's state is prefetched. */
static uint32_t s3_peek(const void *state, const cc_victim_ctx *ctx, uint32_t *out, uint32_t max)
{
    const s3 *c = state;
    uint32_t q = c->n[QS] - c->np[QS] >= c->small_cap || c->n[QM] == c->np[QM] ? QS : QM;
    uint32_t sent = c->cap + q, n = 0, s = cc_sl_tail(c->l, sent);
    while (n < max && s != sent) {
        out[n++] = s;
        if (n < max)
            s = c->l[s].newer;
    }
    if (n) {
        uint32_t t = out[n - 1];
        __builtin_prefetch(&c->l[t]);
        __builtin_prefetch(&c->f[t]);
        __builtin_prefetch(&ctx->evictable[t]);
    }
    return n;
}

/* Per-slot arrays (35 bytes a slot, the links' two sentinels) and the
 * ghost's ring and table. */
static uint64_t s3_memory(const void *state)
{
    const s3 *c = state;
    return (uint64_t)c->cap * 13 + 2 * sizeof *c->l +
           cc_ghost_memory_bytes(&c->g);
}

static const cc_policy_param_doc s3_params[] = {
    {"small", "0.1", "share of the slots the small FIFO S holds (at least 1)"},
    {"ghost", "1 - small", "ghost keys kept, as a multiple of the slots"},
    {"ghost_check", "after", "when the ghost is asked for a missed block: after room was made "
                             "(the paper) or before (libCacheSim)"},
    {"park_base", "0", "testing only: first number given to parked slots"},
    {NULL, NULL, NULL},
};

const cc_policy_ops cc_policy_s3fifo = {
    .name = "s3fifo",
    .summary = "S3-FIFO (SOSP'23): small, main and ghost FIFO queues",
    .params = s3_params,
    .notes = "the ghost queue is asked on insertion, after room was made (the paper's "
             "pseudocode); ghost_check=before asks at the miss, before eviction "
             "(libCacheSim's S3FIFO.c)",
    .bytes_per_slot = 13 + 15, /* slot state + default ghost (0.9 keys of 16.22
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
    .admit = s3_admit,
};
