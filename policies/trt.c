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
 * Victim (index, see policy.h): evictable slots in a heap ordered by
 * (current priority, last-access stamp).  A second heap holds the occupied
 * slots whose priority is not the default and has a finite end, ordered by
 * that end (then slot); choose_victim first lets the priorities that ended
 * by ctx->time_ns fall back (a change in time, not in the choice, so
 * nothing to undo), then takes the minimum.  Costs: on_insert / on_hit /
 * on_evictable / on_remove O(log n), choose_victim O(1) plus O(log n) per
 * lapsed priority.
 *
 * Memory: 28 bytes per slot.  Stamp 4: a 32-bit access counter; when it
 * runs out the occupied slots are renumbered 0, 1, ... in stamp order,
 * which keeps both heaps valid (once per 2^32 accesses; the test-only
 * parameter stamp_base starts the counter near the end to exercise it).
 * Priority and end 8: the priority + 1 in the top 7 bits (0: a free slot),
 * the end in the low 57 bits as nanoseconds offset by 2^56, so ends within
 * about 833 days either side of time 0 are exact; a later end, or none,
 * means "while cached" (and an earlier one: lapsed).  Two heaps of a
 * position + 1 (0: absent) 4 and an entry 4 each.  The arrays are allocated
 * for the capacity but only the slots in use are ever written: zero means
 * free and absent, so they come zeroed from calloc and a capacity far above
 * what the trace fills costs address space, not memory.
 */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PRIORITY 35
#define END_BITS 57
#define END_MASK ((UINT64_C(1) << END_BITS) - 1)
#define END_NONE END_MASK                /* while cached */
#define END_BIAS (UINT64_C(1) << 56)
#define FREE_WORD 0                      /* priority field 0: slot not occupied */

enum { VH = 0, TH = 1 }; /* victim heap, timed heap */

typedef struct heap {
    uint32_t *pos;  /* pos[slot]: index in the heap + 1, 0 when absent */
    uint32_t *e;    /* slots in heap order */
    uint32_t n;
} heap;

typedef struct trt {
    heap h[2];
    uint32_t *stamp;     /* last access, from clock */
    uint64_t *word;      /* (priority + 1) << 57 | biased end, FREE_WORD when free */
    uint32_t cap;
    uint32_t clock;      /* next stamp */
    uint32_t prefix_blocks;
    uint8_t system_priority;
    int64_t duration_ns;
} trt;

static inline uint32_t prio_of(const trt *t, uint32_t s)
{
    return (uint32_t)(t->word[s] >> END_BITS) - 1;
}
static inline uint64_t word_of(uint32_t prio, uint64_t end)
{
    return (uint64_t)(prio + 1) << END_BITS | end;
}
static inline uint64_t end_of(const trt *t, uint32_t s) { return t->word[s] & END_MASK; }

/* The biased end of a priority that holds from time by dur (> 0). */
static uint64_t end_code(int64_t time, int64_t dur)
{
    int64_t end = time > INT64_MAX - dur ? INT64_MAX : time + dur;
    if (end >= (int64_t)(END_NONE - END_BIAS))
        return END_NONE;
    if (end < -(int64_t)END_BIAS)
        return 0;
    return (uint64_t)(end + (int64_t)END_BIAS);
}

/* Has the end coded as e passed at now? */
static inline int ended(uint64_t e, int64_t now)
{
    if (e == END_NONE)
        return 0;
    if (now >= (int64_t)(END_NONE - END_BIAS))
        return 1;
    if (now < -(int64_t)END_BIAS)
        return 0;
    return e <= (uint64_t)(now + (int64_t)END_BIAS);
}

/* Heap order: victims by (priority, stamp) -- stamps are distinct --; timed
 * slots by (end, slot). */
static inline int before(const trt *t, int w, uint32_t a, uint32_t b)
{
    if (w == VH) {
        uint64_t ka = (uint64_t)prio_of(t, a) << 32 | t->stamp[a];
        uint64_t kb = (uint64_t)prio_of(t, b) << 32 | t->stamp[b];
        return ka < kb;
    }
    uint64_t ea = end_of(t, a), eb = end_of(t, b);
    return ea < eb || (ea == eb && a < b);
}

static inline void hput(trt *t, int w, uint32_t i, uint32_t s)
{
    t->h[w].e[i] = s;
    t->h[w].pos[s] = i + 1;
}

static void sift_up(trt *t, int w, uint32_t i)
{
    uint32_t s = t->h[w].e[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2, ps = t->h[w].e[p];
        if (!before(t, w, s, ps))
            break;
        hput(t, w, i, ps);
        i = p;
    }
    hput(t, w, i, s);
}

static void sift_down(trt *t, int w, uint32_t i)
{
    heap *h = &t->h[w];
    uint32_t s = h->e[i];
    for (;;) {
        uint32_t l = 2 * i + 1, m;
        if (l >= h->n)
            break;
        m = l;
        if (l + 1 < h->n && before(t, w, h->e[l + 1], h->e[l]))
            m = l + 1;
        if (!before(t, w, h->e[m], s))
            break;
        hput(t, w, i, h->e[m]);
        i = m;
    }
    hput(t, w, i, s);
}

static inline int hcontains(const trt *t, int w, uint32_t s)
{
    return t->h[w].pos[s] != 0;
}

static void hpush(trt *t, int w, uint32_t s)
{
    uint32_t i = t->h[w].n++;
    hput(t, w, i, s);
    sift_up(t, w, i);
}

static void hremove(trt *t, int w, uint32_t s)
{
    heap *h = &t->h[w];
    uint32_t i = h->pos[s];
    if (!i)
        return;
    i--;
    h->pos[s] = 0;
    uint32_t last = --h->n;
    if (i == last)
        return;
    uint32_t moved = h->e[last];
    hput(t, w, i, moved);
    sift_down(t, w, i);
    sift_up(t, w, h->pos[moved] - 1);
}

/* The order of s in heap w changed: restore the heap (if s is in it). */
static void hfix(trt *t, int w, uint32_t s)
{
    uint32_t i = t->h[w].pos[s];
    if (!i)
        return;
    sift_up(t, w, i - 1);
    sift_down(t, w, t->h[w].pos[s] - 1);
}

static void trt_destroy(void *state)
{
    trt *t = state;
    for (int w = 0; w < 2; w++) {
        free(t->h[w].pos);
        free(t->h[w].e);
    }
    free(t->stamp);
    free(t->word);
    free(t);
}

static int trt_create(const cc_policy_params *p, uint32_t capacity, void **state, cc_err *err)
{
    static const char *const known[] = {"prefix_blocks", "system_priority", "duration_s",
                                        "stamp_base", NULL};
    double pb, sp, dur, base;
    int rc = cc_policy_param_check(p, known, err);
    if (rc || (rc = cc_policy_param_double(p, "prefix_blocks", 0, 0, 1e9, &pb, err)) ||
        (rc = cc_policy_param_double(p, "system_priority", 90, 0, 100, &sp, err)) ||
        (rc = cc_policy_param_double(p, "duration_s", 0, 0, 1e9, &dur, err)) ||
        (rc = cc_policy_param_double(p, "stamp_base", 0, 0, UINT32_MAX, &base, err)))
        return rc;
    if (pb != (uint32_t)pb)
        return cc_err_set(err, CC_EARG, NULL, 0, "prefix_blocks",
                          "policy '%s': prefix_blocks must be a whole number", p->spec);
    if (sp != (uint8_t)sp)
        return cc_err_set(err, CC_EARG, NULL, 0, "system_priority",
                          "policy '%s': system_priority must be a whole number", p->spec);
    if (base != (uint32_t)base)
        return cc_err_set(err, CC_EARG, NULL, 0, "stamp_base",
                          "policy '%s': stamp_base must be a whole number", p->spec);
    trt *t = calloc(1, sizeof *t);
    if (!t)
        return CC_ENOMEM;
    size_t n = capacity ? capacity : 1;
    t->cap = capacity;
    /* zero is "free" and "absent" in word and pos: calloc'd, the pages of
     * slots never used are never touched (a capacity is a bound, not an
     * allocation); stamp and e are written before they are read */
    t->stamp = malloc(n * sizeof *t->stamp);
    t->word = calloc(n, sizeof *t->word);
    int ok = t->stamp && t->word;
    for (int w = 0; w < 2 && ok; w++) {
        t->h[w].pos = calloc(n, sizeof *t->h[w].pos);
        t->h[w].e = malloc(n * sizeof *t->h[w].e);
        ok = t->h[w].pos && t->h[w].e;
    }
    if (!ok) {
        trt_destroy(t);
        return CC_ENOMEM;
    }
    t->prefix_blocks = (uint32_t)pb;
    t->system_priority = (uint8_t)sp;
    t->duration_ns = (int64_t)(dur * 1e9 + 0.5);
    t->clock = (uint32_t)base;
    *state = t;
    return CC_OK;
}

static int has_stamp(const void *st, uint32_t s) { return ((const trt *)st)->word[s] != FREE_WORD; }
static uint32_t get_stamp(const void *st, uint32_t s) { return ((const trt *)st)->stamp[s]; }
static void set_stamp(void *st, uint32_t s, uint32_t v) { ((trt *)st)->stamp[s] = v; }

/* The stamp counter ran out: number the occupied slots 0, 1, ... in stamp
 * order (the heaps' orders do not change), once per 2^32 accesses. */
static void renumber(trt *t)
{
    static const cc_renumber_ops ops = {has_stamp, get_stamp, set_stamp};
    t->clock = cc_renumber(t, t->cap, &ops, "trt");
}

/* An access: the block's new priority, its end, and a fresh stamp. */
static void touch(trt *t, uint32_t slot, const cc_access *a)
{
    int32_t p = a->priority;
    int64_t dur = a->priority_duration_ns;
    if (a->depth < t->prefix_blocks) {
        p = t->system_priority;
        dur = t->duration_ns;
    }
    p = p < 0 ? 0 : p > 100 ? 100 : p;
    int timed = p != DEFAULT_PRIORITY && dur > 0;
    uint64_t end = timed ? end_code(a->time_ns, dur) : END_NONE;
    timed = timed && end != END_NONE;
    if (t->clock == UINT32_MAX)
        renumber(t);
    t->stamp[slot] = t->clock++;
    t->word[slot] = word_of((uint32_t)p, end);
    hfix(t, VH, slot);
    if (timed) {
        if (hcontains(t, TH, slot))
            hfix(t, TH, slot);
        else
            hpush(t, TH, slot);
    } else {
        hremove(t, TH, slot);
    }
}

static void trt_insert(void *state, uint32_t slot, const cc_access *a)
{
    touch(state, slot, a);
}

static void trt_hit(void *state, uint32_t slot, const cc_access *a)
{
    touch(state, slot, a);
}

static void trt_remove(void *state, uint32_t slot, uint64_t key, cc_remove_reason why)
{
    (void)why;
    trt *t = state;
    hremove(t, VH, slot);
    hremove(t, TH, slot);
    t->word[slot] = FREE_WORD;
}

static void trt_evictable(void *state, uint32_t slot, int e)
{
    trt *t = state;
    if (e) {
        if (!hcontains(t, VH, slot))
            hpush(t, VH, slot);
    } else {
        hremove(t, VH, slot);
    }
}

static uint32_t trt_victim(void *state, const cc_victim_ctx *ctx)
{
    trt *t = state;
    while (t->h[TH].n) { /* priorities whose duration ended fall back to the default */
        uint32_t s = t->h[TH].e[0];
        if (!ended(end_of(t, s), ctx->time_ns))
            break;
        hremove(t, TH, s);
        t->word[s] = word_of(DEFAULT_PRIORITY, END_NONE);
        hfix(t, VH, s);
    }
    return t->h[VH].n ? t->h[VH].e[0] : CC_SLOT_NONE;
}

static const cc_policy_param_doc trt_params[] = {
    {"prefix_blocks", "0", "the first N blocks of every request get system_priority "
                           "(TokenRangeRetentionConfig from token 0); 0: no override"},
    {"system_priority", "90", "their retention priority, 0..100 (others: 35)"},
    {"duration_s", "0", "how long that priority holds before it falls back to 35; 0: while cached"},
    {"stamp_base", "0", "testing only: first value of the 32-bit access stamp"},
    {NULL, NULL, NULL},
};

const cc_policy_ops cc_policy_trt = {
    .name = "trt",
    .summary = "TensorRT-LLM retention priority 0..100 with duration, LRU among equals",
    .params = trt_params,
    .notes = "needs priorities: prefix_blocks=N gives the first N blocks of every request "
             "system_priority (a shared system prompt); traces carry no per-request "
             "priorities, so with prefix_blocks=0 (the default) every block has priority 35 "
             "and the policy is exactly LRU (replay warns); lower tiers are LRU",
    .bytes_per_slot = 28,
    .create = trt_create,
    .destroy = trt_destroy,
    .on_insert = trt_insert,
    .on_hit = trt_hit,
    .on_remove = trt_remove,
    .choose_victim = trt_victim,
    .on_evictable = trt_evictable,
};
