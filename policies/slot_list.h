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
 * Ghosts.  A pool of `cap` ghost entries {key, older, newer} (16 bytes, key
 * and links on one cache line), threaded into up to CC_GHOST_LISTS lists in
 * the same way (sentinels at cap + list), plus a key -> entry index
 * (cc_block_index: 8-byte entries holding a 32-bit tag of the key and the
 * entry number, load <= 1/2, confirmed against the entry's key) sized once,
 * and a free list.  find, add (evicts nothing: the caller keeps n < cap),
 * remove: O(1) expected, no allocation after init.  A probe reads one
 * 8-byte index entry (usually) and the entry it names, which the caller
 * then touches anyway; the former cc_u64map (16-byte slots, 32..64 bytes a
 * key) cost about twice the cache misses.  Memory per ghost entry: entry
 * 16 + list 1 + index 16 = 33 bytes.
 */
#ifndef CC_SLOT_LIST_H
#define CC_SLOT_LIST_H

#include "../core/prefix_cache.h"
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
typedef struct cc_gent {
    uint64_t key; /* offset 0: the index confirms a tag match here */
    uint32_t older, newer;
} cc_gent;

typedef struct cc_ghost {
    cc_gent *e;    /* cap entries + CC_GHOST_LISTS sentinels */
    uint8_t *list; /* list of an entry */
    uint32_t cap, n, free_head;
    uint32_t count[CC_GHOST_LISTS];
    cc_block_index idx; /* key -> entry, 8-byte tagged ids */
} cc_ghost;

static inline void cc_ghost_free(cc_ghost *g)
{
    free(g->e);
    free(g->list);
    cc_block_index_free(&g->idx);
    memset(g, 0, sizeof *g);
}

static inline int cc_ghost_init(cc_ghost *g, uint32_t cap)
{
    memset(g, 0, sizeof *g);
    if (cap == 0)
        cap = 1;
    g->cap = cap;
    g->e = malloc(((size_t)cap + CC_GHOST_LISTS) * sizeof *g->e);
    g->list = malloc(cap);
    /* one id more than cap: the index keeps a free entry for probes */
    if (!g->e || !g->list || cc_block_index_init(&g->idx, cap + 1) != CC_OK) {
        cc_ghost_free(g);
        return CC_ENOMEM;
    }
    for (uint32_t i = 0; i < CC_GHOST_LISTS; i++)
        g->e[cap + i].older = g->e[cap + i].newer = cap + i;
    for (uint32_t i = 0; i < cap; i++) /* free list through older */
        g->e[i].older = i + 1 < cap ? i + 1 : CC_SLOT_NONE;
    g->free_head = 0;
    return CC_OK;
}

/* Entry of key, or CC_SLOT_NONE. */
static inline uint32_t cc_ghost_find(const cc_ghost *g, uint64_t key)
{
    uint32_t e = cc_block_index_find(&g->idx, key, g->e, sizeof *g->e);
    return e == CC_NODE_NONE ? CC_SLOT_NONE : e;
}

static inline void cc_ghost_remove(cc_ghost *g, uint32_t e)
{
    cc_gent *x = &g->e[e];
    g->e[x->newer].older = x->older;
    g->e[x->older].newer = x->newer;
    g->count[g->list[e]]--;
    g->n--;
    cc_block_index_remove(&g->idx, x->key, e);
    x->older = g->free_head;
    g->free_head = e;
}

/* Oldest entry of list, or CC_SLOT_NONE. */
static inline uint32_t cc_ghost_oldest(const cc_ghost *g, uint32_t list)
{
    uint32_t e = g->e[g->cap + list].newer;
    return e == g->cap + list ? CC_SLOT_NONE : e;
}

/* Adds key as the newest entry of list (an older entry of the same key is
 * dropped first); needs n < cap. */
static inline void cc_ghost_add(cc_ghost *g, uint32_t list, uint64_t key)
{
    uint32_t old = cc_ghost_find(g, key);
    if (old != CC_SLOT_NONE)
        cc_ghost_remove(g, old);
    uint32_t e = g->free_head, sent = g->cap + list;
    cc_gent *x = &g->e[e];
    g->free_head = x->older;
    x->key = key;
    g->list[e] = (uint8_t)list;
    uint32_t b = g->e[sent].older; /* link just older than the sentinel: newest */
    x->older = b;
    x->newer = sent;
    g->e[sent].older = e;
    g->e[b].newer = e;
    g->count[list]++;
    g->n++;
    cc_block_index_insert(&g->idx, key, e); /* sized for cap + 1: cannot fail */
}

#endif
