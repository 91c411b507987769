/*
 * slot_list.h -- intrusive doubly linked lists of slots and a bounded ghost
 * directory of evicted keys, shared by the queue-based policies (clock,
 * sieve, s3fifo, arc, slru).  Header-only (static inline), no state of its
 * own.
 *
 * Lists.  One array of {older, newer} u32 links indexed by slot, with one
 * sentinel per list at index capacity + list, so linking never branches on
 * an empty list.  The sentinel's `older` is the list's newest (head) slot,
 * its `newer` the oldest (tail).  A slot is in at most one list.  Insert,
 * unlink: O(1), 8 bytes per slot.
 *
 * Ghosts.  A pool of `cap` ghost entries {key, links}, threaded into up to
 * CC_GHOST_LISTS lists in the same way (sentinels at cap + list), plus a
 * cc_u64map key -> entry sized once for cap keys (it never grows), and a
 * free list.  find, add (evicts nothing: the caller keeps n < cap), remove:
 * O(1) expected, no allocation after init.  Memory per ghost entry: key 8 +
 * links 8 + list 1 + map 32..64 (16-byte slots, load <= 1/2).
 */
#ifndef CC_SLOT_LIST_H
#define CC_SLOT_LIST_H

#include "policy.h"

#include <stdlib.h>
#include <string.h>

typedef struct cc_slink {
    uint32_t older; /* towards the tail (oldest); sentinel's: the head */
    uint32_t newer; /* towards the head (newest); sentinel's: the tail */
} cc_slink;

static inline void cc_sl_init(cc_slink *L, uint32_t sentinel)
{
    L[sentinel].older = L[sentinel].newer = sentinel;
}

/* Link s just older than a (a = a sentinel: s becomes that list's head). */
static inline void cc_sl_behind(cc_slink *L, uint32_t s, uint32_t a)
{
    uint32_t b = L[a].older;
    L[s].older = b;
    L[s].newer = a;
    L[a].older = s;
    L[b].newer = s;
}

/* Link s just newer than a (a = a sentinel: s becomes that list's tail). */
static inline void cc_sl_before(cc_slink *L, uint32_t s, uint32_t a)
{
    uint32_t b = L[a].newer;
    L[s].newer = b;
    L[s].older = a;
    L[a].newer = s;
    L[b].older = s;
}

static inline void cc_sl_unlink(cc_slink *L, uint32_t s)
{
    uint32_t a = L[s].newer, b = L[s].older;
    L[a].older = b;
    L[b].newer = a;
}

static inline uint32_t cc_sl_tail(const cc_slink *L, uint32_t sentinel)
{
    return L[sentinel].newer;
}

/* ---- ghost directory --------------------------------------------------------- */
#define CC_GHOST_LISTS 2
typedef struct cc_ghost {
    uint64_t *key;
    cc_slink *l;   /* cap entries + CC_GHOST_LISTS sentinels */
    uint8_t *list; /* list of an entry */
    uint32_t cap, n, free_head;
    uint32_t count[CC_GHOST_LISTS];
    cc_u64map map; /* key -> entry */
} cc_ghost;

static inline void cc_ghost_free(cc_ghost *g)
{
    free(g->key);
    free(g->l);
    free(g->list);
    cc_u64map_free(&g->map);
    memset(g, 0, sizeof *g);
}

static inline int cc_ghost_init(cc_ghost *g, uint32_t cap)
{
    memset(g, 0, sizeof *g);
    if (cap == 0)
        cap = 1;
    g->cap = cap;
    g->key = malloc((size_t)cap * sizeof *g->key);
    g->l = malloc(((size_t)cap + CC_GHOST_LISTS) * sizeof *g->l);
    g->list = malloc(cap);
    if (!g->key || !g->l || !g->list || cc_u64map_init(&g->map, cap) != CC_OK) {
        cc_ghost_free(g);
        return CC_ENOMEM;
    }
    for (uint32_t i = 0; i < CC_GHOST_LISTS; i++)
        cc_sl_init(g->l, cap + i);
    for (uint32_t i = 0; i < cap; i++) /* free list through older */
        g->l[i].older = i + 1 < cap ? i + 1 : CC_SLOT_NONE;
    g->free_head = 0;
    return CC_OK;
}

/* Entry of key, or CC_SLOT_NONE. */
static inline uint32_t cc_ghost_find(const cc_ghost *g, uint64_t key)
{
    const uint64_t *v = cc_u64map_get(&g->map, key);
    return v ? (uint32_t)*v : CC_SLOT_NONE;
}

static inline void cc_ghost_remove(cc_ghost *g, uint32_t e)
{
    cc_sl_unlink(g->l, e);
    g->count[g->list[e]]--;
    g->n--;
    cc_u64map_del(&g->map, g->key[e]);
    g->l[e].older = g->free_head;
    g->free_head = e;
}

/* Oldest entry of list, or CC_SLOT_NONE. */
static inline uint32_t cc_ghost_oldest(const cc_ghost *g, uint32_t list)
{
    uint32_t e = g->l[g->cap + list].newer;
    return e == g->cap + list ? CC_SLOT_NONE : e;
}

/* Adds key as the newest entry of list (an older entry of the same key is
 * dropped first); needs n < cap. */
static inline void cc_ghost_add(cc_ghost *g, uint32_t list, uint64_t key)
{
    uint32_t old = cc_ghost_find(g, key);
    if (old != CC_SLOT_NONE)
        cc_ghost_remove(g, old);
    uint32_t e = g->free_head;
    g->free_head = g->l[e].older;
    g->key[e] = key;
    g->list[e] = (uint8_t)list;
    cc_sl_behind(g->l, e, g->cap + list);
    g->count[list]++;
    g->n++;
    uint64_t *slot;
    cc_u64map_put(&g->map, key, e, &slot); /* pre-sized: cannot fail */
}

#endif
