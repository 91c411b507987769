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
 * low (its tail is reset to head when it gets one).  The table holds
 * exactly the live keys, each once: a key whose home bucket is h sits in
 * bucket h + j (cyclically), and each of the buckets h .. h + j - 1 counts
 * it in ovf (unless that count is saturated at ovfmax, where it stays).
 */
#include "slot_list.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Of the key's mixed hash m: the high half picks the home bucket, the low
 * half gives the tag (the bits above the ring entry's). */
static inline uint32_t home_of(const cc_ghost *g, uint64_t m)
{
    uint32_t b = g->hbase + (uint32_t)(((m >> 32) * g->hmul) >> 32);
    return b >= g->nb ? b - g->nb : b;
}

static inline uint32_t tag_of(const cc_ghost *g, uint64_t m)
{
    return (uint32_t)m & g->tagmask;
}

static inline uint32_t next_bucket(const cc_ghost *g, uint32_t b)
{
    return ++b == g->nb ? 0 : b;
}

/* Bit i set when (bucket[i] & mask) == want, for the 16 entries. */
static inline uint32_t match16(const uint32_t *bk, uint32_t mask, uint32_t want)
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
    for (uint32_t i = 0; i < CC_GHOST_BUCKET; i++)
        r |= (uint32_t)((bk[i] & mask) == want) << i;
    return r;
#endif
}

static inline uint32_t *bucket(const cc_ghost *g, uint32_t b)
{
    return g->tab + (size_t)b * CC_GHOST_BUCKET;
}

static inline uint32_t inc(const cc_ghost *g, uint32_t phys)
{
    return ++phys == g->rcap ? 0 : phys;
}

void cc_ghost_free(cc_ghost *g)
{
    free(g->key);
    free(g->list);
    free(g->tab);
    free(g->ovf);
    memset(g, 0, sizeof *g);
}

/* Ring size and number of buckets for cap keys. */
static void sizes(uint32_t cap, int sparse, uint64_t *rcap, uint64_t *nb)
{
    uint64_t slack = cap / 8 < 16 ? 16 : cap / 8;
    *rcap = cap + slack;
    uint64_t tcap = sparse ? 2 * (uint64_t)cap              /* load <= 1/2 */
                           : (3 * (uint64_t)cap + 1) / 2;   /* load <= 2/3 */
    *nb = (tcap + CC_GHOST_BUCKET - 1) / CC_GHOST_BUCKET;
}

double cc_ghost_bytes_per_key(uint32_t cap, int sparse)
{
    if (cap == 0)
        cap = 1;
    uint64_t rcap, nb;
    sizes(cap, sparse, &rcap, &nb);
    return ((double)rcap * (sizeof(uint64_t) + 1) +
            (double)nb * (CC_GHOST_BUCKET * sizeof(uint32_t) + 1)) / cap;
}

uint64_t cc_ghost_memory_bytes(const cc_ghost *g)
{
    return (uint64_t)g->rcap * (sizeof *g->key + sizeof *g->list) +
           (uint64_t)g->nb * (CC_GHOST_BUCKET * sizeof *g->tab + sizeof *g->ovf);
}

int cc_ghost_init(cc_ghost *g, uint32_t cap, int sparse)
{
    memset(g, 0, sizeof *g);
    if (cap == 0)
        cap = 1;
    uint64_t rcap, nb;
    sizes(cap, sparse, &rcap, &nb);
    if (rcap >= (UINT32_C(1) << 30))
        return CC_ERANGE;
    g->cap = cap;
    g->rcap = (uint32_t)rcap;
    g->nb = (uint32_t)nb;
    g->hmul = g->nb;
    g->ovfmax = UINT8_MAX;
    uint32_t ibits = 1;
    while ((UINT64_C(1) << ibits) <= rcap) /* ring entry + 1 <= rcap */
        ibits++;
    g->imask = (UINT32_C(1) << ibits) - 1;
    g->tagmask = ~g->imask;
    g->key = malloc((size_t)g->rcap * sizeof *g->key);
    g->list = malloc(g->rcap);
    size_t tbytes = (size_t)g->nb * CC_GHOST_BUCKET * sizeof *g->tab; /* a multiple of 64 */
    g->tab = aligned_alloc(64, tbytes);
    g->ovf = calloc(g->nb, 1);
    if (!g->key || !g->list || !g->tab || !g->ovf) {
        cc_ghost_free(g);
        return CC_ENOMEM;
    }
    memset(g->tab, 0, tbytes);
    return CC_OK;
}

uint32_t cc_ghost_find(const cc_ghost *g, uint64_t key)
{
    uint64_t m = cc_block_index_mix(key);
    uint32_t b = home_of(g, m), want = tag_of(g, m);
    for (uint32_t k = 0; k < g->nb; k++, b = next_bucket(g, b)) {
        const uint32_t *bk = bucket(g, b);
        /* the ring is read only for entries whose tag matches */
        for (uint32_t hit = match16(bk, g->tagmask, want); hit; hit &= hit - 1) {
            uint32_t t = bk[__builtin_ctz(hit)];
            if (t && g->key[(t & g->imask) - 1] == key)
                return (t & g->imask) - 1;
        }
        if (!g->ovf[b]) /* no key from an earlier bucket went past this one */
            break;
    }
    return CC_SLOT_NONE;
}

/* The table entry holding ring entry e (whose key is key); with dec, the
 * buckets passed before it stop counting it. */
static uint32_t *entry_of(cc_ghost *g, uint64_t key, uint32_t e, int dec)
{
    uint64_t m = cc_block_index_mix(key);
    uint32_t b = home_of(g, m), want = tag_of(g, m) | (e + 1);
    for (;;) {
        uint32_t *bk = bucket(g, b);
        uint32_t hit = match16(bk, UINT32_MAX, want);
        if (hit)
            return bk + __builtin_ctz(hit);
        if (dec && g->ovf[b] < g->ovfmax)
            g->ovf[b]--;
        b = next_bucket(g, b);
    }
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
    *entry_of(g, g->key[e], e, 1) = 0;
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
    for (uint64_t p = low; p < g->head; p++, rp = inc(g, rp)) {
        uint32_t l = g->list[rp];
        if (l == CC_GHOST_HOLE)
            continue;
        if (rp != wp) {
            uint64_t k = g->key[rp];
            uint32_t *t = entry_of(g, k, rp, 0);
            *t = (*t & ~g->imask) | (wp + 1);
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
    uint64_t m = cc_block_index_mix(key);
    uint32_t b = home_of(g, m);
    for (;;) { /* n < cap < 16 nb: some bucket has room */
        uint32_t *bk = bucket(g, b);
        uint32_t room = match16(bk, UINT32_MAX, 0);
        if (room) {
            bk[__builtin_ctz(room)] = tag_of(g, m) | (e + 1);
            break;
        }
        if (g->ovf[b] < g->ovfmax)
            g->ovf[b]++;
        b = next_bucket(g, b);
    }
    g->head++;
    g->hphys = inc(g, e);
    g->count[l]++;
    g->n++;
}
