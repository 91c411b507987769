/*
 * ghost.c -- the ghost directory of queue-based policies (s3fifo, arc):
 * keys of evicted blocks in FIFO lists, found by key, removable from
 * anywhere.  The layout, memory and costs are in slot_list.h.
 *
 * Invariants.  Ring positions are logical (monotone u64); the entry of
 * position p is p % rcap.  Positions [low, head) hold keys or holes, where
 * low is the smallest tail of a list that has keys; every live key of list
 * l lies at or after tail[l], and between tail[l] and its oldest key there
 * are only holes and other lists' keys.  A list without keys has no say in
 * low (its tail is reset to head when it gets one).  The index (ix) holds
 * exactly the live keys, each once, with their ring entries.
 */
#include "slot_list.h"

static inline uint32_t inc(const cc_ghost *g, uint32_t phys)
{
    return ++phys == g->rcap ? 0 : phys;
}

void cc_ghost_free(cc_ghost *g)
{
    free(g->key);
    free(g->list);
    cc_block_index_free(&g->ix);
    memset(g, 0, sizeof *g);
}

/* Ring size for cap keys: cap/8 more (at least 16); cap/4 for a sparse
 * directory of 4,096 keys or more (ARC: compaction rewrites every live
 * key's table entry, and a ring with a quarter of holes to spare compacts
 * half as often: ARC's replay of the 10M-access Zipf trace 5 % faster for
 * 1.1 bytes a key; small directories keep the smaller ring, where the
 * 16-entry minimum weighs on the 64-byte budget and speed does not matter). */
static uint64_t ring_size(uint32_t cap, int sparse)
{
    uint32_t extra = sparse && cap >= 4096 ? cap / 4 : cap / 8;
    return (uint64_t)cap + (extra < 16 ? 16 : extra);
}

double cc_ghost_bytes_per_key(uint32_t cap, int sparse)
{
    if (cap == 0)
        cap = 1;
    return (double)ring_size(cap, sparse) * (sizeof(uint64_t) + 1) / cap +
           cc_block_index_bytes_per_key(cap, sparse);
}

uint64_t cc_ghost_memory_bytes(const cc_ghost *g)
{
    return (uint64_t)g->rcap * (sizeof *g->key + sizeof *g->list) +
           cc_block_index_memory_bytes(&g->ix);
}

int cc_ghost_init(cc_ghost *g, uint32_t cap, int sparse)
{
    memset(g, 0, sizeof *g);
    if (cap == 0)
        cap = 1;
    uint64_t rcap = ring_size(cap, sparse);
    if (rcap >= (UINT32_C(1) << 30))
        return CC_ERANGE;
    g->cap = cap;
    g->rcap = (uint32_t)rcap;
    g->key = malloc((size_t)g->rcap * sizeof *g->key);
    g->list = malloc(g->rcap);
    int rc = cc_block_index_init(&g->ix, cap, g->rcap, sparse);
    if (rc == CC_OK && (!g->key || !g->list))
        rc = CC_ENOMEM;
    if (rc != CC_OK) {
        cc_ghost_free(g);
        return rc;
    }
    return CC_OK;
}

uint32_t cc_ghost_find(const cc_ghost *g, uint64_t key)
{
    uint32_t e = cc_block_index_find(&g->ix, key, g->key, sizeof *g->key);
    return e == CC_BI_NONE ? CC_SLOT_NONE : e;
}

/* Moves list l's tail forward to its oldest key (the list has keys). */
static void settle_tail(cc_ghost *g, uint32_t l)
{
    while (g->list[g->tphys[l]] != l) {
        g->tail[l]++;
        g->tphys[l] = inc(g, g->tphys[l]);
    }
}

void cc_ghost_remove(cc_ghost *g, uint32_t e)
{
    uint32_t l = g->list[e];
    cc_block_index_remove(&g->ix, g->key[e], e);
    g->list[e] = CC_GHOST_HOLE;
    g->count[l]--;
    g->n--;
}

uint32_t cc_ghost_oldest(cc_ghost *g, uint32_t l)
{
    if (!g->count[l])
        return CC_SLOT_NONE;
    settle_tail(g, l);
    return g->tphys[l];
}

void cc_ghost_prefetch_oldest(cc_ghost *g, uint32_t l)
{
    if (!g->count[l])
        return;
    settle_tail(g, l);
    cc_block_index_prefetch(&g->ix, g->key[g->tphys[l]]);
}

/* Smallest tail of a list with keys, and its entry; head if none. */
static uint64_t low_of(const cc_ghost *g, uint32_t *phys)
{
    uint64_t low = g->head;
    *phys = g->hphys;
    for (uint32_t l = 0; l < CC_GHOST_LISTS; l++)
        if (g->count[l] && g->tail[l] < low) {
            low = g->tail[l];
            *phys = g->tphys[l];
        }
    return low;
}

/* Moves the live keys of [low, head) together at low, in order. */
static void compact(cc_ghost *g)
{
    uint32_t rp, wp;
    uint64_t low = low_of(g, &rp), w = low;
    wp = rp;
    int seen[CC_GHOST_LISTS] = {0};
    /* the table buckets of the keys 8 positions ahead are prefetched: the
     * re-ids' lookups are spread over the whole table */
    enum { AHEAD = 8 };
    uint32_t ap = rp;
    for (int j = 0; j < AHEAD; j++)
        ap = inc(g, ap);
    for (uint64_t p = low; p < g->head; p++, rp = inc(g, rp), ap = inc(g, ap)) {
        if (p + AHEAD < g->head && g->list[ap] != CC_GHOST_HOLE)
            cc_block_index_prefetch(&g->ix, g->key[ap]);
        uint32_t l = g->list[rp];
        if (l == CC_GHOST_HOLE)
            continue;
        if (rp != wp) {
            uint64_t k = g->key[rp];
            cc_block_index_reid(&g->ix, k, rp, wp);
            g->key[wp] = k;
            g->list[wp] = (uint8_t)l;
        }
        if (!seen[l]) {
            seen[l] = 1;
            g->tail[l] = w;
            g->tphys[l] = wp;
        }
        w++;
        wp = inc(g, wp);
    }
    g->head = w;
    g->hphys = wp;
    g->compactions++;
}

void cc_ghost_add(cc_ghost *g, uint32_t l, uint64_t key)
{
    uint32_t old = cc_ghost_find(g, key);
    if (old != CC_SLOT_NONE)
        cc_ghost_remove(g, old);
    cc_ghost_push(g, l, key);
}

void cc_ghost_push(cc_ghost *g, uint32_t l, uint64_t key)
{
    uint32_t lp;
    if (g->head - low_of(g, &lp) == g->rcap) {
        for (uint32_t i = 0; i < CC_GHOST_LISTS; i++)
            if (g->count[i])
                settle_tail(g, i);
        if (g->head - low_of(g, &lp) == g->rcap)
            compact(g); /* n < cap: frees rcap - cap >= 16 entries at least */
    }
    if (!g->count[l]) {
        g->tail[l] = g->head;
        g->tphys[l] = g->hphys;
    }
    uint32_t e = g->hphys;
    g->key[e] = key;
    g->list[e] = (uint8_t)l;
    cc_block_index_insert(&g->ix, key, e); /* n < cap: room */
    g->head++;
    g->hphys = inc(g, e);
    g->count[l]++;
    g->n++;
}
