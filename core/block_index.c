/*
 * block_index.c -- key -> id index over records that hold their keys (see
 * block_index.h for the layout).
 *
 * Why not cc_u64map: that map keeps the 8-byte key and 8-byte value per slot
 * at load <= 1/2 with power-of-two tables, 32 to 64 bytes per entry; the
 * cache's budget is 64 bytes per block for everything.  Here an entry is 4
 * bytes and the key lives once, in the caller's record.
 *
 * History.  The prefix cache's index was linear probing over 8-byte entries
 * (32-bit tag, id + 1) at load <= 0.55, 14.55 bytes per id; the ghost
 * directories had their own copy of this bucket table.  One table now
 * serves both, at 6.09 bytes per key, which is what lets a cache with
 * several tiers keep every policy within 64 bytes per block.
 *
 * Invariant: the table holds exactly the stored keys, each once; a key whose
 * home bucket is h sits in bucket h + j (cyclically), and each of the
 * buckets h .. h + j - 1 counts it in ovf (unless that count is saturated at
 * ovfmax, where it stays).
 */
#include "block_index.h"
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static uint64_t buckets_for(uint32_t max_keys, int sparse)
{
    if (max_keys == 0)
        max_keys = 1;
    uint64_t entries = sparse ? 2 * (uint64_t)max_keys            /* load <= 1/2 */
                              : (3 * (uint64_t)max_keys + 1) / 2; /* load <= 2/3 */
    return (entries + CC_BI_BUCKET - 1) / CC_BI_BUCKET;
}

double cc_block_index_bytes_per_key(uint32_t max_keys, int sparse)
{
    uint64_t nb = buckets_for(max_keys, sparse);
    return (double)nb * (CC_BI_BUCKET * sizeof(uint32_t) + 1) / (max_keys ? max_keys : 1);
}

uint64_t cc_block_index_memory_bytes(const cc_block_index *x)
{
    return (uint64_t)x->nb * (CC_BI_BUCKET * sizeof *x->tab + sizeof *x->ovf);
}

/* Tables of at least this many bytes are mmap'ed (page-aligned, zero, backed
 * only where touched); smaller ones come from aligned_alloc. */
#define TAB_MMAP_BYTES ((size_t)1 << 20)

static size_t tab_bytes(const cc_block_index *x)
{
    return (size_t)x->nb * CC_BI_BUCKET * sizeof *x->tab;
}

int cc_block_index_init(cc_block_index *x, uint32_t max_keys, uint32_t id_limit, int sparse)
{
    memset(x, 0, sizeof *x);
    if (id_limit >= (UINT32_C(1) << 31))
        return CC_ERANGE;
    uint64_t nb = buckets_for(max_keys, sparse);
    if (nb > UINT32_MAX / CC_BI_BUCKET)
        return CC_ERANGE;
    x->nb = (uint32_t)nb;
    x->max_keys = max_keys ? max_keys : 1;
    x->hmul = x->nb;
    x->ovfmax = UINT8_MAX;
    uint32_t ibits = 1;
    while ((UINT64_C(1) << ibits) <= id_limit) /* id + 1 <= id_limit */
        ibits++;
    x->imask = (UINT32_C(1) << ibits) - 1; /* ibits <= 31 */
    x->tagmask = ~x->imask;
    size_t tbytes = tab_bytes(x); /* a multiple of 64 */
    if (tbytes >= TAB_MMAP_BYTES) {
        /* zero pages mapped on first touch: a large capacity that the trace
         * never fills costs address space, not memory (the maximum capacity
         * used to take 1.6 GB at creation, whatever the trace) */
        void *m = mmap(NULL, tbytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        x->tab = m == MAP_FAILED ? NULL : m;
    } else {
        x->tab = aligned_alloc(64, tbytes);
        if (x->tab)
            memset(x->tab, 0, tbytes);
    }
    x->ovf = calloc(x->nb, 1); /* calloc: large blocks are lazily zeroed pages too */
    if (!x->tab || !x->ovf) {
        cc_block_index_free(x);
        return CC_ENOMEM;
    }
    return CC_OK;
}

void cc_block_index_free(cc_block_index *x)
{
    if (x->tab && tab_bytes(x) >= TAB_MMAP_BYTES)
        munmap(x->tab, tab_bytes(x));
    else
        free(x->tab);
    free(x->ovf);
    memset(x, 0, sizeof *x);
}

int cc_block_index_insert(cc_block_index *x, uint64_t key, uint32_t id)
{
    return cc_block_index_insert_m(x, cc_mix64(key), id);
}

int cc_block_index_insert_m(cc_block_index *x, uint64_t m, uint32_t id)
{
    if (x->count >= x->max_keys)
        return CC_ERANGE;
    uint32_t b = cc_bi_home(x, m);
    for (;;) { /* count < max_keys <= 2/3 of the entries: some bucket has room */
        uint32_t *bk = cc_bi_bucket(x, b);
        uint32_t room = cc_bi_match16(bk, UINT32_MAX, 0);
        if (room) {
            bk[__builtin_ctz(room)] = cc_bi_tag(x, m) | (id + 1);
            break;
        }
        if (x->ovf[b] < x->ovfmax)
            x->ovf[b]++;
        b = cc_bi_next(x, b);
    }
    x->count++;
    return CC_OK;
}

/* The entry holding key with id, or NULL; *home gets key's home bucket and
 * *passed the number of buckets before the entry's. */
static uint32_t *entry_of(const cc_block_index *x, uint64_t key, uint32_t id,
                          uint32_t *home, uint32_t *passed)
{
    uint64_t m = cc_mix64(key);
    uint32_t b = *home = cc_bi_home(x, m), want = cc_bi_tag(x, m) | (id + 1);
    for (uint32_t k = 0; k < x->nb; k++, b = cc_bi_next(x, b)) {
        uint32_t *bk = cc_bi_bucket(x, b);
        uint32_t hit = cc_bi_match16(bk, UINT32_MAX, want);
        if (hit) {
            *passed = k;
            return bk + __builtin_ctz(hit);
        }
        if (!x->ovf[b])
            break;
    }
    return NULL;
}

int cc_block_index_remove(cc_block_index *x, uint64_t key, uint32_t id)
{
    uint32_t b, passed;
    uint32_t *e = entry_of(x, key, id, &b, &passed);
    if (!e)
        return 0;
    *e = 0;
    for (uint32_t k = 0; k < passed; k++, b = cc_bi_next(x, b))
        if (x->ovf[b] < x->ovfmax)
            x->ovf[b]--;
    x->count--;
    return 1;
}

int cc_block_index_reid(cc_block_index *x, uint64_t key, uint32_t old, uint32_t new_id)
{
    uint32_t home, passed;
    uint32_t *e = entry_of(x, key, old, &home, &passed);
    if (!e)
        return 0;
    *e = (*e & ~x->imask) | (new_id + 1);
    return 1;
}
