/*
 * trt.c -- priority-based retention with durations, as in TensorRT-LLM's KV
 * cache (KvCacheRetentionConfig; NVIDIA, "Introducing New KV Cache Reuse
 * Optimizations in NVIDIA TensorRT-LLM", 2025, and the TensorRT-LLM docs
 * "How to Change Block Priorities").
 *
 * What is modelled.  Every block carries a retention priority 0..100
 * (default 35) that holds for a duration and then falls back to the default
 * 35 (duration 0: while cached).  The victim is the evictable block with
 * the lowest current priority, the least recently used among equals.  The
 * request that last touched a block (inserted or hit it) sets its priority
 * and restarts its duration, as a request's retention config applies to the
 * blocks it uses.  Where the priority comes from:
 *   - cc_access.priority / priority_duration_ns (per request; the trace or
 *     the driver may give them; default 35, forever), except
 *   - the first prefix_blocks blocks of every request (chain depth <
 *     prefix_blocks) get system_priority for duration_s: a
 *     TokenRangeRetentionConfig(0, prefix_blocks * block_size,
 *     system_priority, duration) given to every request, e.g. a shared
 *     system prompt kept at high priority.
 * Parameters: "trt(prefix_blocks=4,system_priority=90,duration_s=60)";
 * defaults prefix_blocks=0 (no override), system_priority=90, duration_s=0
 * (while cached).
 * Left out: decode retention (decode_retention_priority /
 * decode_duration_ms: replays store input blocks only), token ranges that
 * do not start at token 0 (only a leading range of whole blocks), partial
 * blocks, the event stream, and secondary-memory offload by priority
 * (secondary_offload_min_priority): a block demoted to a lower tier arrives
 * there with the default priority, because the cache does not carry
 * priorities across tiers; lower tiers are therefore LRU.
 *
 * Victim (index, see policy.h): evictable slots in a cc_slot_heap keyed by
 * priority << 56 | last-access stamp.  A second heap holds the occupied
 * slots whose priority is not the default and has a finite end, keyed by
 * that end; choose_victim first lets the priorities that ended by
 * ctx->time_ns fall back (a change in time, not in the choice, so nothing
 * to undo), then takes the minimum.  Costs: on_insert / on_hit /
 * on_evictable / on_remove O(log n), choose_victim O(1) plus O(log n) per
 * lapsed priority.  Memory: 33 bytes per slot (two heaps, priority byte).
 */
#include "policy.h"

#include <stdlib.h>

#define DEFAULT_PRIORITY 35
#define SIGN UINT64_C(0x8000000000000000)
#define STAMP_MASK ((UINT64_C(1) << 56) - 1)

typedef struct trt {
    cc_slot_heap h;      /* evictable slots by priority, then last access */
    cc_slot_heap timed;  /* occupied slots with a priority that ends, by its end */
    uint8_t *prio;
    uint64_t clock;      /* access stamp */
    uint32_t prefix_blocks;
    uint8_t system_priority;
    int64_t duration_ns;
} trt;

static int trt_create(const cc_policy_params *p, uint32_t capacity, void **state, cc_err *err)
{
    static const char *const known[] = {"prefix_blocks", "system_priority", "duration_s",
                                        NULL};
    double pb, sp, dur;
    int rc = cc_policy_param_check(p, known, err);
    if (rc || (rc = cc_policy_param_double(p, "prefix_blocks", 0, 0, 1e9, &pb, err)) ||
        (rc = cc_policy_param_double(p, "system_priority", 90, 0, 100, &sp, err)) ||
        (rc = cc_policy_param_double(p, "duration_s", 0, 0, 1e9, &dur, err)))
        return rc;
    if (pb != (uint32_t)pb)
        return cc_err_set(err, CC_EARG, NULL, 0, "prefix_blocks",
                          "policy '%s': prefix_blocks must be a whole number", p->spec);
    if (sp != (uint8_t)sp)
        return cc_err_set(err, CC_EARG, NULL, 0, "system_priority",
                          "policy '%s': system_priority must be a whole number", p->spec);
    trt *t = calloc(1, sizeof *t);
    if (!t)
        return CC_ENOMEM;
    t->prio = calloc(capacity, 1);
    if (!t->prio || cc_slot_heap_init(&t->h, capacity) != CC_OK ||
        cc_slot_heap_init(&t->timed, capacity) != CC_OK) {
        cc_slot_heap_free(&t->h);
        free(t->prio);
        free(t);
        return CC_ENOMEM;
    }
    t->prefix_blocks = (uint32_t)pb;
    t->system_priority = (uint8_t)sp;
    t->duration_ns = (int64_t)(dur * 1e9 + 0.5);
    *state = t;
    return CC_OK;
}

static void trt_destroy(void *state)
{
    trt *t = state;
    cc_slot_heap_free(&t->h);
    cc_slot_heap_free(&t->timed);
    free(t->prio);
    free(t);
}

static inline uint64_t main_key(uint8_t prio, uint64_t stamp)
{
    return (uint64_t)prio << 56 | (stamp & STAMP_MASK);
}

/* An access: the block's new priority, its end, and a fresh stamp. */
static void touch(trt *t, uint32_t slot, const cc_access *a, int present)
{
    int32_t p = a->priority;
    int64_t dur = a->priority_duration_ns;
    if (a->depth < t->prefix_blocks) {
        p = t->system_priority;
        dur = t->duration_ns;
    }
    p = p < 0 ? 0 : p > 100 ? 100 : p;
    t->prio[slot] = (uint8_t)p;
    uint64_t k = main_key((uint8_t)p, ++t->clock);
    if (present)
        cc_slot_heap_set_key(&t->h, slot, k);
    else
        t->h.key[slot] = k;
    if (p != DEFAULT_PRIORITY && dur > 0) {
        int64_t end = a->time_ns > INT64_MAX - dur ? INT64_MAX : a->time_ns + dur;
        cc_slot_heap_set_key(&t->timed, slot, (uint64_t)end ^ SIGN);
        if (!cc_slot_heap_contains(&t->timed, slot))
            cc_slot_heap_push(&t->timed, slot);
    } else {
        cc_slot_heap_remove(&t->timed, slot);
    }
}

static void trt_insert(void *state, uint32_t slot, const cc_access *a)
{
    touch(state, slot, a, 0);
}

static void trt_hit(void *state, uint32_t slot, const cc_access *a)
{
    touch(state, slot, a, 1);
}

static void trt_remove(void *state, uint32_t slot, uint64_t key, cc_remove_reason why)
{
    (void)why;
    trt *t = state;
    cc_slot_heap_remove(&t->h, slot);
    cc_slot_heap_remove(&t->timed, slot);
}

static void trt_evictable(void *state, uint32_t slot, int e)
{
    trt *t = state;
    if (e)
        cc_slot_heap_push(&t->h, slot);
    else
        cc_slot_heap_remove(&t->h, slot);
}

static uint32_t trt_victim(void *state, const cc_victim_ctx *ctx)
{
    trt *t = state;
    for (;;) { /* priorities whose duration ended fall back to the default */
        uint32_t s = cc_slot_heap_min(&t->timed);
        if (s == CC_SLOT_NONE || (int64_t)(t->timed.key[s] ^ SIGN) > ctx->time_ns)
            break;
        cc_slot_heap_remove(&t->timed, s);
        t->prio[s] = DEFAULT_PRIORITY;
        cc_slot_heap_set_key(&t->h, s, main_key(DEFAULT_PRIORITY, t->h.key[s]));
    }
    return cc_slot_heap_min(&t->h);
}

const cc_policy_ops cc_policy_trt = {
    .name = "trt",
    .summary = "TensorRT-LLM retention priority 0..100 with duration, LRU among equals",
    .bytes_per_slot = 33,
    .create = trt_create,
    .destroy = trt_destroy,
    .on_insert = trt_insert,
    .on_hit = trt_hit,
    .on_remove = trt_remove,
    .choose_victim = trt_victim,
    .on_evictable = trt_evictable,
};
