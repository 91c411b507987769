/*
 * slot_list.h -- intrusive doubly linked lists of slots (header-only, static
 * inline) and a bounded ghost directory of evicted keys (ghost.c), shared
 * by the queue-based policies (clock, sieve, s3fifo, arc, slru).
 *
 * Lists.  One array of {older, newer} u32 links indexed by slot, with one
 * sentinel per list at index capacity + list, so linking never branches on
 * an empty list.  The sentinel's `older` is the list's newest (head) slot,
 * its `newer` the oldest (tail).  A slot is in at most one list.  Insert,
 * unlink: O(1), 8 bytes per slot.
 *
 * Ghosts.  A directory of evicted keys in FIFO lists (cc_ghost, ghost.c):
 * a ring of exact keys plus a table of 16-entry buckets, 16.22 bytes per key
 * of capacity (19.38 with the sparser table and ring); see below.
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

/* ---- ghost directory (ghost.c) -------------------------------------------
 * Keys of recently evicted blocks in up to CC_GHOST_LISTS FIFO lists (oldest
 * first), with lookup by key and removal from anywhere.  Sized once for
 * `cap` live keys, no allocation afterwards.
 *
 * Layout: ONE ring of exact 64-bit keys in insertion order, shared by the
 * lists, with one byte per ring entry naming its list (or a hole: removed),
 * and a key -> ring entry index over the ring (cc_block_index,
 * core/block_index.h: 16 4-byte entries of tag | ring entry + 1 per 64-byte
 * bucket, per-bucket overflow counts, SSE2 tag compare) at load <= 2/3 (or
 * <= 1/2 when created sparse).  A key is always confirmed against the ring
 * (at most one false tag match per 2^(32 - ring bits) / 16 buckets read: 1
 * in 2,048 at 100,000 keys); removal clears one entry and moves nothing, so
 * no probe sequence depends on where an empty entry falls (the
 * unpredictable exits of linear probing, which made the ghost the main
 * cost of ARC's misses).
 * Each list keeps a tail: a ring position at or before its oldest live key,
 * moved forward lazily over holes and the other list's keys (each position
 * is crossed once per list: amortised O(1)).  The ring has cap + cap/8 (at
 * least 16) entries, cap + cap/4 when created sparse for 4,096 keys or
 * more; when a new key finds it full of holes, the live keys are moved
 * together (compaction, O(ring) once per cap/8 (cap/4) removals or more)
 * and their table entries rewritten in place.
 *
 * Memory per key of capacity: ring 1.125 x (8 + 1) + table 1.5 / 16 x (64 +
 * 1) = 16.22 bytes, or sparse (ring 1.25 x 9, table 2 / 16 buckets) 19.38
 * bytes (cc_ghost_memory_bytes; small directories round up to one bucket;
 * sparse was 18.25 with the cap/8 ring; was
 * 16.125 / 18.125 with linear probing, 19.25 with a cap/4 ring slack, 33 as
 * linked entries with a cc_block_index).  ARC, which makes three ghost
 * calls per miss, takes the sparse table; S3-FIFO, which is at its byte
 * budget, the dense one.
 * Costs: find O(1) expected, add and remove O(1) amortised. */
#define CC_GHOST_LISTS 2
#define CC_GHOST_HOLE 0xff

typedef struct cc_ghost {
    uint64_t *key;   /* ring of rcap keys */
    uint8_t *list;   /* list of a ring entry, CC_GHOST_HOLE when removed */
    cc_block_index ix; /* key -> ring entry (core/block_index.h) */
    uint32_t rcap, cap, n;
    uint32_t count[CC_GHOST_LISTS];
    uint64_t head;                  /* logical position of the next key */
    uint32_t hphys;                 /* head % rcap */
    uint64_t tail[CC_GHOST_LISTS];  /* <= logical position of the list's oldest key */
    uint32_t tphys[CC_GHOST_LISTS]; /* tail % rcap */
    uint64_t compactions;           /* times live keys moved: an entry number
                                       found before is still good if this and
                                       head show that nothing moved */
} cc_ghost;

/* Room for cap live keys (at least 1); sparse: a table at load <= 1/2
 * instead of 2/3 (2 more bytes a key, shorter probes).  CC_ENOMEM;
 * CC_ERANGE when the ring would need 2^30 entries or more. */
int cc_ghost_init(cc_ghost *g, uint32_t cap, int sparse);
void cc_ghost_free(cc_ghost *g);
/* Ring entry holding key, or CC_SLOT_NONE.  g->list[entry] is its list. */
uint32_t cc_ghost_find(const cc_ghost *g, uint64_t key);
/* Removes the key in ring entry e (a live entry). */
void cc_ghost_remove(cc_ghost *g, uint32_t e);
/* Ring entry of the oldest key of list, or CC_SLOT_NONE. */
uint32_t cc_ghost_oldest(cc_ghost *g, uint32_t list);
/* Adds key as the newest key of list (an older entry of the same key is
 * removed first); needs n < cap. */
void cc_ghost_add(cc_ghost *g, uint32_t list, uint64_t key);
/* cc_ghost_add for a key known to be absent (saves a lookup): the key of a
 * block leaving the cache, when every block entering it was taken out of
 * the directory (arc, s3fifo).  A present key would be kept twice. */
void cc_ghost_push(cc_ghost *g, uint32_t list, uint64_t key);
/* For speed only (nothing changes): brings the table bucket where key
 * would be found, which cc_ghost_find and cc_ghost_push read first.
 * always_inline: see cc_block_index_prefetch. */
static inline __attribute__((always_inline)) void cc_ghost_prefetch(const cc_ghost *g,
                                                                    uint64_t key)
{
    cc_block_index_prefetch(&g->ix, key);
}
/* The same given mixed = cc_mix64(key). */
static inline __attribute__((always_inline)) void cc_ghost_prefetch_m(const cc_ghost *g,
                                                                      uint64_t mixed)
{
    cc_block_index_prefetch_m(&g->ix, mixed);
}
/* For speed only: brings the table bucket of list l's oldest key, which
 * cc_ghost_remove(cc_ghost_oldest(l)) would touch (moves the list's tail
 * up to that key, as cc_ghost_oldest does: no result depends on where a
 * tail rests between its old place and the oldest key). */
void cc_ghost_prefetch_oldest(cc_ghost *g, uint32_t list);
/* Bytes allocated per key of capacity (for bytes_per_slot figures), and
 * the bytes an initialised directory holds (for memory_bytes). */
double cc_ghost_bytes_per_key(uint32_t cap, int sparse);
uint64_t cc_ghost_memory_bytes(const cc_ghost *g);

#endif
