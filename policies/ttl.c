/*
 * ttl.c -- time to live: a block expires a fixed time after it enters the
 * tier ("ttl(ttl_s=300,refresh=1)"), or, with refresh=1 (the default), a
 * fixed time after its last hit -- the rule of provider prompt caches
 * (e.g. a 5-minute cache lifetime renewed on each use).  Parameters:
 *     ttl_s    time to live in seconds (default 300; 0 .. 1e9)
 *     refresh  1 = a hit restarts the clock (default), 0 = it does not
 * Expiry: the cache asks expire() at each request's time before the lookup
 * and removes the blocks it names (policy.h "Expiry": only evictable blocks
 * expire, so in a tree a block stays while a descendant lives, and a pinned
 * block goes once released).  Under pressure the victim is the evictable
 * block that expires soonest (ties: the smallest slot), so with refresh=1
 * eviction is LRU and with refresh=0 it is FIFO, both measured in time.
 * Each tier keeps its own clock: a block that enters a tier (a new block, a
 * promotion, a demotion) gets expiry = that access's time + ttl; the cache
 * does not carry the time of the first insertion across tiers, so with
 * refresh=0 and several tiers a moved block gets a fresh lifetime.
 *
 * Victim and expiry (index, see policy.h): evictable slots in a
 * cc_slot_heap keyed by expiry time (the int64 ns with its sign bit flipped,
 * so that the u64 order is the time order); expiry times of slots that are
 * not evictable stay in the key array.  Costs: on_insert O(1), on_hit /
 * on_evictable / on_remove O(log n), choose_victim, expire and next_expiry
 * O(1).  Memory: 16 bytes per slot.
 */
#include "policy.h"

#include <stdlib.h>

#define SIGN UINT64_C(0x8000000000000000)

typedef struct ttl {
    cc_slot_heap h;  /* evictable slots by expiry; key[] of every occupied slot */
    int64_t ttl_ns;
    int refresh;
} ttl;

static inline uint64_t expiry_key(const ttl *t, int64_t now)
{
    int64_t e = now > INT64_MAX - t->ttl_ns ? INT64_MAX : now + t->ttl_ns;
    return (uint64_t)e ^ SIGN;
}

static inline int64_t key_time(uint64_t k) { return (int64_t)(k ^ SIGN); }

static int ttl_create(const cc_policy_params *p, uint32_t capacity, void **state, cc_err *err)
{
    static const char *const known[] = {"ttl_s", "refresh", NULL};
    int rc = cc_policy_param_check(p, known, err);
    double ttl_s, refresh;
    if (rc || (rc = cc_policy_param_double(p, "ttl_s", 300, 0, 1e9, &ttl_s, err)) ||
        (rc = cc_policy_param_double(p, "refresh", 1, 0, 1, &refresh, err)))
        return rc;
    if (refresh != 0 && refresh != 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "refresh",
                          "policy '%s': refresh must be 0 or 1", p->spec);
    ttl *t = calloc(1, sizeof *t);
    if (!t || cc_slot_heap_init(&t->h, capacity) != CC_OK) {
        free(t);
        return CC_ENOMEM;
    }
    t->ttl_ns = (int64_t)(ttl_s * 1e9 + 0.5);
    t->refresh = refresh == 1;
    *state = t;
    return CC_OK;
}

static void ttl_destroy(void *state)
{
    ttl *t = state;
    cc_slot_heap_free(&t->h);
    free(t);
}

static void ttl_insert(void *state, uint32_t slot, const cc_access *a)
{
    ttl *t = state;
    t->h.key[slot] = expiry_key(t, a->time_ns);
}

static void ttl_hit(void *state, uint32_t slot, const cc_access *a)
{
    ttl *t = state;
    if (t->refresh)
        cc_slot_heap_set_key(&t->h, slot, expiry_key(t, a->time_ns));
}

static void ttl_remove(void *state, uint32_t slot, uint64_t key, cc_remove_reason why)
{
    (void)why;
    cc_slot_heap_remove(&((ttl *)state)->h, slot);
}

static void ttl_evictable(void *state, uint32_t slot, int e)
{
    ttl *t = state;
    if (e)
        cc_slot_heap_push(&t->h, slot);
    else
        cc_slot_heap_remove(&t->h, slot);
}

static uint32_t ttl_victim(void *state, const cc_victim_ctx *ctx)
{
    (void)ctx;
    return cc_slot_heap_min(&((const ttl *)state)->h);
}

static uint32_t ttl_expire(void *state, const cc_victim_ctx *ctx)
{
    const ttl *t = state;
    uint32_t s = cc_slot_heap_min(&t->h);
    return s != CC_SLOT_NONE && key_time(t->h.key[s]) <= ctx->time_ns ? s : CC_SLOT_NONE;
}

static int64_t ttl_next_expiry(const void *state)
{
    const ttl *t = state;
    uint32_t s = cc_slot_heap_min(&t->h);
    return s == CC_SLOT_NONE ? INT64_MAX : key_time(t->h.key[s]);
}

static const cc_policy_param_doc ttl_params[] = {
    {"ttl_s", "300", "time to live in seconds (0 .. 1e9)"},
    {"refresh", "1", "1: a hit restarts the clock (provider prompt caches); 0: it does not"},
    {NULL, NULL, NULL},
};

const cc_policy_ops cc_policy_ttl = {
    .name = "ttl",
    .summary = "time to live: expire; under pressure the soonest expiry",
    .params = ttl_params,
    .notes = "each tier keeps its own clock: a block moved between tiers gets a fresh lifetime",
    .bytes_per_slot = 16,
    .create = ttl_create,
    .destroy = ttl_destroy,
    .on_insert = ttl_insert,
    .on_hit = ttl_hit,
    .on_remove = ttl_remove,
    .choose_victim = ttl_victim,
    .on_evictable = ttl_evictable,
    .expire = ttl_expire,
    .next_expiry = ttl_next_expiry,
};
