/*
 * arc.c -- ARC, adaptive replacement cache (Megiddo and Modha, "ARC: A
 * Self-Tuning, Low Overhead Replacement Cache", FAST'03, Fig. 4).
 *
 * Cached slots are in T1 (seen once since they entered) or T2 (hit since),
 * both LRU lists; ghost lists B1, B2 hold the keys of blocks evicted from
 * T1, T2 (keys only).  c = capacity; p in [0, c] is the target size of T1.
 *   hit in T1 or T2        -> MRU of T2.
 *   miss, key in B1        -> p = min(p + max(1, |B2|/|B1|), c); REPLACE;
 *                             the block enters T2's MRU, its key leaves B1.
 *   miss, key in B2        -> p = max(p - max(1, |B1|/|B2|), 0); REPLACE;
 *                             MRU of T2, the key leaves B2.
 *   miss elsewhere         -> REPLACE if the cache is full; MRU of T1; then
 *                             the directory is trimmed: |T1|+|B1| <= c
 *                             (LRU of B1 goes), |T1|+|T2|+|B1|+|B2| <= 2c
 *                             (LRU of B2 goes).  Trimming after the insert
 *                             deletes the same ghost the paper deletes
 *                             before REPLACE (REPLACE adds a ghost at the MRU
 *                             end, the paper's deletion takes the LRU end), and
 *                             the paper's case "|T1| = c, B1 empty: evict
 *                             T1's LRU without a ghost" is REPLACE followed
 *                             by trimming that one ghost.
 *   REPLACE: evict T1's LRU into B1 if |T1| >= 1 and (|T1| > p, or the
 *            incoming key is in B2 and |T1| = p); else T2's LRU into B2.
 * REPLACE is choose_victim: the cache asks for a victim only when the tier
 * is full.  It needs the incoming key's ghost list and the adapted p, which
 * the cache's calls do not pass to choose_victim; the admit hook (asked with
 * the block's access right before the cache makes room for it; it admits
 * everything) notes the key's ghost list, and choose_victim applies the
 * adaptation that on_insert will commit.  Without such a note (a promotion
 * or a demotion of a block that cannot be dropped, in multi-tier set-ups)
 * REPLACE uses the current p as for a key in no ghost list.
 *
 * Not evictable (pinned, or in prefix mode a block with cached children):
 * REPLACE takes the LRU-most evictable slot of the list it picked, or, if
 * that list has none, of the other list.  With every slot evictable this is
 * the paper's algorithm.  Prefix mode: a block entering T1 behind a parent
 * in T1 is linked just older than its parent (as lru.c does).
 *
 * Costs: hit O(1); insert and remove O(1) expected (ghost map); choose_victim
 * O(1) plus the non-evictable slots skipped at the LRU end (scan).  Memory:
 * 9 bytes per slot (links 8, list 1; a block's key comes with on_remove, so
 * none is kept per slot) plus a ghost directory of c + 1 exact keys at
 * 19.38 bytes each (slot_list.h: one ring shared by B1 and B2 with a
 * quarter of slack, a table of 16-entry buckets at load <= 1/2: a miss
 * makes three ghost calls, and the sparser table sends fewer of them past
 * the home bucket), about 28.4 bytes per slot.
 */
#include "slot_list.h"

enum { T1 = 0, T2 = 1 };
enum { B1 = 0, B2 = 1 };

typedef struct arc {
    cc_slink *l; /* sentinels: cap + T1, cap + T2 */
    uint8_t *list;
    uint32_t cap, n[2];
    double p;
    cc_ghost g;         /* B1, B2; pool of cap + 1 */
    int pend_valid;     /* admit saw the next block: */
    uint64_t pend_key;
    uint32_t pend_list; /* B1, B2, or CC_SLOT_NONE */
    uint32_t pend_e;    /* its ghost entry then (CC_SLOT_NONE: none), */
    uint64_t pend_head, pend_comp; /* and the ghost's head and compactions */
    double pend_p;      /* p adapted for that key, with the ghost sizes before
                           REPLACE adds the victim's key (as in the paper) */
} arc;

static void arc_destroy(void *state)
{
    arc *c = state;
    free(c->l);
    free(c->list);
    cc_ghost_free(&c->g);
    free(c);
}

static int arc_create(const cc_policy_params *p, uint32_t cap, void **state, cc_err *err)
{
    int rc = cc_policy_param_check(p, NULL, err);
    if (rc)
        return rc;
    arc *c = calloc(1, sizeof *c);
    if (!c)
        return CC_ENOMEM;
    c->cap = cap;
    c->l = malloc(((size_t)cap + 2) * sizeof *c->l);
    c->list = calloc(cap, 1);
    if (!c->l || !c->list || cc_ghost_init(&c->g, cap + 1, 1) != CC_OK) {
        arc_destroy(c);
        return CC_ENOMEM;
    }
    cc_sl_init(c->l, cap + T1);
    cc_sl_init(c->l, cap + T2);
    *state = c;
    return CC_OK;
}

static inline double adapted_p(const arc *c, uint32_t ghost_list)
{
    double b1 = c->g.count[B1], b2 = c->g.count[B2], p = c->p;
    if (ghost_list == B1) {
        double d = b1 >= b2 ? 1.0 : b2 / b1;
        p = p + d < c->cap ? p + d : c->cap;
    } else if (ghost_list == B2) {
        double d = b2 >= b1 ? 1.0 : b1 / b2;
        p = p - d > 0 ? p - d : 0;
    }
    return p;
}

static int arc_admit(void *state, const cc_access *a)
{
    arc *c = state;
    uint32_t e = cc_ghost_find(&c->g, a->key);
    c->pend_valid = 1;
    c->pend_key = a->key;
    c->pend_e = e;
    c->pend_head = c->g.head;
    c->pend_comp = c->g.compactions;
    c->pend_list = e == CC_SLOT_NONE ? CC_SLOT_NONE : c->g.list[e];
    c->pend_p = adapted_p(c, c->pend_list);
    return 1;
}

/* For speed only: the ghost buckets of the keys a later insert's trimming
 * removes (the oldest of B1, else of B2), a few accesses ahead. */
static inline void prefetch_trim(arc *c)
{
    cc_ghost_prefetch_oldest(&c->g, B1);
    cc_ghost_prefetch_oldest(&c->g, B2);
}

static void arc_insert(void *state, uint32_t s, const cc_access *a)
{
    arc *c = state;
    int noted = c->pend_valid && c->pend_key == a->key;
    c->pend_valid = 0;
    /* admit's lookup still holds if since then the ghost took at most one
     * key (REPLACE's victim: it was cached, this block was not, so it is not
     * this key), moved nothing, and did not remove that entry */
    int fresh = noted && c->g.compactions == c->pend_comp && c->g.head >= c->pend_head &&
                c->g.head - c->pend_head <= 1 &&
                (c->pend_e == CC_SLOT_NONE || c->g.list[c->pend_e] != CC_GHOST_HOLE);
    uint32_t e = fresh ? c->pend_e : cc_ghost_find(&c->g, a->key);
    if (e != CC_SLOT_NONE) {
        c->p = noted ? c->pend_p : adapted_p(c, c->g.list[e]);
        cc_ghost_remove(&c->g, e);
        c->list[s] = T2;
        c->n[T2]++;
        cc_sl_behind(c->l, s, c->cap + T2);
        prefetch_trim(c);
        return;
    }
    c->list[s] = T1;
    c->n[T1]++;
    if (a->parent_slot != CC_SLOT_NONE && c->list[a->parent_slot] == T1)
        cc_sl_behind(c->l, s, a->parent_slot);
    else
        cc_sl_behind(c->l, s, c->cap + T1);
    /* directory bounds */
    while (c->n[T1] + c->g.count[B1] > c->cap && c->g.count[B1])
        cc_ghost_remove(&c->g, cc_ghost_oldest(&c->g, B1));
    while (c->n[T1] + c->n[T2] + c->g.n > 2ull * c->cap && c->g.n)
        cc_ghost_remove(&c->g, cc_ghost_oldest(&c->g, c->g.count[B2] ? B2 : B1));
    prefetch_trim(c);
}

static void arc_hit(void *state, uint32_t s, const cc_access *a)
{
    (void)a;
    arc *c = state;
    cc_sl_unlink(c->l, s);
    c->n[c->list[s]]--;
    c->list[s] = T2;
    c->n[T2]++;
    cc_sl_behind(c->l, s, c->cap + T2);
}

static void arc_remove(void *state, uint32_t s, uint64_t key, cc_remove_reason why)
{
    arc *c = state;
    uint32_t t = c->list[s];
    cc_sl_unlink(c->l, s);
    c->n[t]--;
    if (why != CC_REMOVE_EVICT)
        return;
    if (c->g.n >= c->g.cap) /* only off the paper's path (multi-tier moves) */
        cc_ghost_remove(&c->g, cc_ghost_oldest(&c->g, c->g.count[B2] ? B2 : B1));
    /* key was taken out of the ghost when its block entered (arc_insert) */
    cc_ghost_push(&c->g, t == T1 ? B1 : B2, key);
}

static inline uint32_t lru_evictable(const arc *c, uint32_t t, const uint8_t *ev)
{
    uint32_t sent = c->cap + t, s = cc_sl_tail(c->l, sent);
    while (s != sent && !ev[s])
        s = c->l[s].newer;
    return s == sent ? CC_SLOT_NONE : s;
}

static uint32_t arc_victim(void *state, const cc_victim_ctx *ctx)
{
    arc *c = state;
    uint32_t gl = c->pend_valid ? c->pend_list : CC_SLOT_NONE;
    double p = c->pend_valid ? c->pend_p : c->p;
    double t1 = c->n[T1];
    uint32_t first =
        c->n[T1] >= 1 && (t1 > p || (gl == B2 && t1 == p)) ? T1 : T2;
    uint32_t v = lru_evictable(c, first, ctx->evictable);
    if (v == CC_SLOT_NONE)
        v = lru_evictable(c, first ^ 1, ctx->evictable);
    return v;
}

/* A hint (policy.h): the LRU-most slots of the list REPLACE would pick with
 * the current p.  The last one's state is prefetched. */
static uint32_t arc_peek(const void *state, const cc_victim_ctx *ctx, uint32_t *out,
                         uint32_t max)
{
    const arc *c = state;
    uint32_t t = c->n[T1] >= 1 && (double)c->n[T1] > c->p ? T1 : T2;
    uint32_t sent = c->cap + t, n = 0, s = cc_sl_tail(c->l, sent);
    while (n < max && s != sent) {
        out[n++] = s;
        if (n < max)
            s = c->l[s].newer;
    }
    if (n) {
        uint32_t v = out[n - 1];
        __builtin_prefetch(&c->l[v]);
        __builtin_prefetch(&c->list[v]);
        __builtin_prefetch(&ctx->evictable[v]);
    }
    return n;
}

/* For speed only (policy.h): a slot's links and list before its hit. */
static void arc_prefetch_slot(const void *state, uint32_t slot, int depth)
{
    const arc *c = state;
    if (depth == 0) {
        __builtin_prefetch(&c->l[slot], 1);
        __builtin_prefetch(&c->list[slot], 1);
        return;
    }
    __builtin_prefetch(&c->l[c->l[slot].older], 1);
    __builtin_prefetch(&c->l[c->l[slot].newer], 1);
}

/* For speed only (policy.h): the ghost bucket that admit's lookup of key,
 * or on_remove's push of it, reads. */
static void arc_prefetch_key(const void *state, uint64_t key, uint64_t mixed)
{
    (void)key;
    const arc *c = state;
    cc_ghost_prefetch_m(&c->g, mixed);
}

/* Per-slot arrays (17 bytes a slot, the links' two sentinels) and the
 * ghost's ring and table. */
static uint64_t arc_memory(const void *state)
{
    const arc *c = state;
    return (uint64_t)c->cap * 9 + 2 * sizeof *c->l +
           cc_ghost_memory_bytes(&c->g);
}

const cc_policy_ops cc_policy_arc = {
    .name = "arc",
    .summary = "ARC (FAST'03): recency and frequency lists with ghosts, adaptive target p",
    .bytes_per_slot = 9 + 19, /* slot state + ghost directory of c + 1 keys
                                  (19.38 bytes a key); exact: memory_bytes */
    .memory_bytes = arc_memory,
    .create = arc_create,
    .destroy = arc_destroy,
    .on_insert = arc_insert,
    .on_hit = arc_hit,
    .on_remove = arc_remove,
    .choose_victim = arc_victim,
    .admit = arc_admit,
    .peek_victims = arc_peek,
    .prefetch_slot = arc_prefetch_slot,
    .prefetch_key = arc_prefetch_key,
};
