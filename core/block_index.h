/*
 * block_index.h -- key -> id index over records that hold their keys (the
 * prefix cache's hash -> node map, the ghost directories' key -> ring entry
 * map; block_index.c).
 *
 * Layout.  A table of nb buckets of CC_BI_BUCKET (16) 4-byte entries, one
 * 64-byte cache line per bucket, 64-byte aligned.  An entry is
 * tag | (id + 1), 0 = empty: the low bits (imask) hold id + 1, the bits above
 * (tagmask) a tag from the low half of the key's mixed hash; the high half
 * picks the key's home bucket (multiply-shift onto any nb).  The key itself
 * is not stored here: it lives once, in the caller's record of that id (at
 * offset 0 of a record of `stride` bytes, read with unaligned-safe loads), and
 * a tag match is confirmed there, so a lookup is always exact; fewer tag bits
 * (large id ranges) only mean more records read.
 *
 * A key goes into the first bucket at or after its home (cyclically) with a
 * free entry; each bucket keeps a one-byte count of keys stored past it
 * (ovf, saturating at ovfmax and then staying there), so a lookup reads
 * buckets from the home and stops at the first one that nothing went past.
 * The 16 tags of a bucket are compared at once (SSE2; a plain-C loop where
 * SSE2 is absent).  Removal clears one entry and decrements the counts of the
 * buckets passed: nothing moves.
 *
 * Sizing: once, for at most max_keys keys at load <= 2/3 (or 1/2, sparse):
 * 1.5 / 16 x 65 = 6.09 bytes per key (8.13 sparse); small tables round up
 * to one bucket.  No growth, no tombstones.  Costs O(1) expected: at load
 * 2/3 about 5 % of buckets overflow (16 entries, Poisson 10.7).
 */
#ifndef CC_BLOCK_INDEX_H
#define CC_BLOCK_INDEX_H

#include "core.h"

#include <stdint.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define CC_BI_BUCKET 16
#define CC_BI_NONE UINT32_MAX

typedef struct cc_block_index {
    uint32_t *tab;           /* nb buckets of CC_BI_BUCKET entries */
    uint8_t *ovf;            /* per bucket: keys stored past it (saturating) */
    uint32_t nb;             /* buckets */
    uint32_t count, max_keys;
    uint32_t imask, tagmask; /* entry = (tag & tagmask) | (id + 1) */
    uint32_t hmul, hbase;    /* home = (hbase + (hash_hi * hmul >> 32)) mod nb:
                                hmul = nb, hbase = 0 except in tests that
                                crowd the keys into a few buckets */
    uint8_t ovfmax;          /* saturation of ovf: 255 (tests lower it) */
} cc_block_index;

/* Room for max_keys keys (at least 1) with ids 0 .. id_limit - 1; sparse:
 * load <= 1/2 instead of 2/3.  CC_ENOMEM, CC_ERANGE (id_limit >= 2^31). */
int cc_block_index_init(cc_block_index *x, uint32_t max_keys, uint32_t id_limit, int sparse);
void cc_block_index_free(cc_block_index *x);
/* Bytes per key of capacity an index of max_keys keys allocates, and the
 * bytes an initialised index holds. */
double cc_block_index_bytes_per_key(uint32_t max_keys, int sparse);
uint64_t cc_block_index_memory_bytes(const cc_block_index *x);
/* Adds key -> id (key absent).  CC_ERANGE when max_keys are stored.  _m:
 * with m = cc_mix64(key). */
int cc_block_index_insert(cc_block_index *x, uint64_t key, uint32_t id);
int cc_block_index_insert_m(cc_block_index *x, uint64_t m, uint32_t id);
/* Removes key stored with id.  1 if removed, 0 if absent.  The entry is
 * found by tag and id (the key is not read), so id must hold key or hold
 * nothing: a different key of id with the same tag would be taken. */
int cc_block_index_remove(cc_block_index *x, uint64_t key, uint32_t id);
/* The key stored with id old now has id new_id (its record moved).  1 if
 * found, 0 if absent; old as for remove. */
int cc_block_index_reid(cc_block_index *x, uint64_t key, uint32_t old, uint32_t new_id);

/* Of the key's mixed hash m (cc_mix64): the high half picks the home bucket, the low
 * half gives the tag. */
static inline uint32_t cc_bi_home(const cc_block_index *x, uint64_t m)
{
    uint32_t b = x->hbase + (uint32_t)(((m >> 32) * x->hmul) >> 32);
    return b >= x->nb ? b - x->nb : b;
}

static inline uint32_t cc_bi_tag(const cc_block_index *x, uint64_t m)
{
    return (uint32_t)m & x->tagmask;
}

static inline uint32_t cc_bi_next(const cc_block_index *x, uint32_t b)
{
    return ++b == x->nb ? 0 : b;
}

static inline uint32_t *cc_bi_bucket(const cc_block_index *x, uint32_t b)
{
    return x->tab + (size_t)b * CC_BI_BUCKET;
}

/* Bit i set when (bucket[i] & mask) == want, for the 16 entries. */
static inline uint32_t cc_bi_match16(const uint32_t *bk, uint32_t mask, uint32_t want)
{
#ifdef __SSE2__
    const __m128i *v = (const __m128i *)(const void *)bk;
    __m128i m = _mm_set1_epi32((int)mask), w = _mm_set1_epi32((int)want);
    __m128i a0 = _mm_cmpeq_epi32(_mm_and_si128(_mm_load_si128(v + 0), m), w);
    __m128i a1 = _mm_cmpeq_epi32(_mm_and_si128(_mm_load_si128(v + 1), m), w);
    __m128i a2 = _mm_cmpeq_epi32(_mm_and_si128(_mm_load_si128(v + 2), m), w);
    __m128i a3 = _mm_cmpeq_epi32(_mm_and_si128(_mm_load_si128(v + 3), m), w);
    __m128i p = _mm_packs_epi16(_mm_packs_epi32(a0, a1), _mm_packs_epi32(a2, a3));
    return (uint32_t)_mm_movemask_epi8(p);
#else
    uint32_t r = 0;
    for (uint32_t i = 0; i < CC_BI_BUCKET; i++)
        r |= (uint32_t)((bk[i] & mask) == want) << i;
    return r;
#endif
}

/* The id stored for key, or CC_BI_NONE; records are only read where a tag
 * matches.  The _m forms take m = cc_mix64(key) from a caller that has it
 * (a loop that looks a key up in stages hashes it once). */
static inline uint32_t cc_block_index_find_m(const cc_block_index *x, uint64_t key, uint64_t m,
                                             const void *records, size_t stride)
{
    uint32_t b = cc_bi_home(x, m), want = cc_bi_tag(x, m);
    for (uint32_t k = 0; k < x->nb; k++, b = cc_bi_next(x, b)) {
        const uint32_t *bk = cc_bi_bucket(x, b);
        for (uint32_t hit = cc_bi_match16(bk, x->tagmask, want); hit; hit &= hit - 1) {
            uint32_t t = bk[__builtin_ctz(hit)];
            if (!t)
                continue; /* an empty entry matches a zero tag */
            uint32_t id = (t & x->imask) - 1;
            uint64_t k2;
            memcpy(&k2, (const char *)records + (size_t)id * stride, sizeof k2);
            if (k2 == key)
                return id;
        }
        if (!x->ovf[b]) /* no key from an earlier bucket went past this one */
            break;
    }
    return CC_BI_NONE;
}

static inline uint32_t cc_block_index_find(const cc_block_index *x, uint64_t key,
                                           const void *records, size_t stride)
{
    return cc_block_index_find_m(x, key, cc_mix64(key), records, stride);
}

/* The id in the first entry of the home bucket of the key of mixed hash m
 * with its tag, or CC_BI_NONE; the key is not confirmed (a hint for
 * prefetching, or a guess the caller confirms). */
static inline uint32_t cc_block_index_guess_m(const cc_block_index *x, uint64_t m)
{
    const uint32_t *bk = cc_bi_bucket(x, cc_bi_home(x, m));
    uint32_t hit = cc_bi_match16(bk, x->tagmask, cc_bi_tag(x, m));
    for (; hit; hit &= hit - 1) {
        uint32_t t = bk[__builtin_ctz(hit)];
        if (t)
            return (t & x->imask) - 1;
    }
    return CC_BI_NONE;
}

static inline uint32_t cc_block_index_guess(const cc_block_index *x, uint64_t key)
{
    return cc_block_index_guess_m(x, cc_mix64(key));
}

/* Starts loading key's home bucket (a hint; no effect on results).
 * always_inline: as an ordinary inline function GCC 12 finds it has no side
 * effect (a prefetch is none to it), marks it const and deletes its calls
 * before inlining them -- the flat loops' first prefetch stage was compiled
 * to nothing. */
static inline __attribute__((always_inline)) void cc_block_index_prefetch_m(
    const cc_block_index *x, uint64_t m)
{
    __builtin_prefetch(cc_bi_bucket(x, cc_bi_home(x, m)));
}

static inline __attribute__((always_inline)) void cc_block_index_prefetch(
    const cc_block_index *x, uint64_t key)
{
    cc_block_index_prefetch_m(x, cc_mix64(key));
}

#endif
