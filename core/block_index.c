/*
 * block_index.c -- hash -> id map of the prefix cache (see prefix_cache.h).
 *
 * Why not cc_u64map: that map keeps the 8-byte key and 8-byte value per slot
 * at load <= 1/2 with power-of-two tables, 32 to 64 bytes per entry; the
 * cache's budget is 64 bytes per block for everything.  Here an entry is 8
 * bytes: a 32-bit tag (high half of the mixed key) and the id + 1; the full
 * key lives once, in the caller's record.  The tag picks the home position
 * (multiply-shift onto any table size, so the table is exactly ceil(20/11)
 * x the maximum number of ids: load <= 0.55, 14.55 bytes per id), and since
 * the home is a function of the tag, deletion shifts later entries of the
 * run back without reading keys.  Linear probing keeps a probe within one
 * or two cache lines: expected 1.6 entries read on a hit and 3 on a miss
 * at full load.  The load is what the 64-byte budget leaves: on the
 * eviction-heavy Zipf benchmark (LRU, 10M accesses) load 1/2 was about 5 %
 * faster, 0.6 about 8 % and 2/3 about 10 % slower than 1/2, 3/4 20 %
 * (branchy probe loops, not memory: the same at 10,000 blocks, all in
 * cache); Robin Hood ordering did not change that.
 */
#include "prefix_cache.h"

#include <stdlib.h>
#include <string.h>

static inline uint32_t home_of(const cc_block_index *x, uint32_t tag)
{
    return (uint32_t)(((uint64_t)tag * x->cap) >> 32);
}

int cc_block_index_init(cc_block_index *x, uint32_t max_ids)
{
    memset(x, 0, sizeof *x);
    uint64_t cap = ((uint64_t)max_ids * 20 + 10) / 11; /* load <= 0.55 */
    if (cap < 16)
        cap = 16;
    if (cap > UINT32_MAX)
        return CC_ERANGE;
    x->e = calloc(cap, sizeof *x->e);
    if (!x->e)
        return CC_ENOMEM;
    x->cap = (uint32_t)cap;
    return CC_OK;
}

void cc_block_index_free(cc_block_index *x)
{
    free(x->e);
    memset(x, 0, sizeof *x);
}

void cc_block_index_clear(cc_block_index *x)
{
    memset(x->e, 0, (size_t)x->cap * sizeof *x->e);
    x->count = 0;
}

int cc_block_index_insert(cc_block_index *x, uint64_t key, uint32_t id)
{
    /* keep one empty entry at least, so that probes end */
    if ((uint64_t)x->count + 1 >= x->cap)
        return CC_ERANGE;
    uint32_t tag = (uint32_t)(cc_block_index_mix(key) >> 32);
    uint32_t i = home_of(x, tag);
    while (x->e[i])
        if (++i == x->cap)
            i = 0;
    x->e[i] = (uint64_t)tag << 32 | ((uint64_t)id + 1);
    x->count++;
    return CC_OK;
}

int cc_block_index_remove(cc_block_index *x, uint64_t key, uint32_t id)
{
    uint32_t tag = (uint32_t)(cc_block_index_mix(key) >> 32);
    uint64_t want = (uint64_t)tag << 32 | ((uint64_t)id + 1);
    uint32_t i = home_of(x, tag);
    for (;;) {
        uint64_t e = x->e[i];
        if (!e)
            return 0;
        if (e == want)
            break;
        if (++i == x->cap)
            i = 0;
    }
    /* Backward shift: an entry after the hole moves into it unless its home
     * lies cyclically in (hole, j]. */
    uint32_t hole = i, j = i;
    for (;;) {
        if (++j == x->cap)
            j = 0;
        uint64_t e = x->e[j];
        if (!e)
            break;
        uint32_t home = home_of(x, (uint32_t)(e >> 32));
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        x->e[hole] = e;
        hole = j;
    }
    x->e[hole] = 0;
    x->count--;
    return 1;
}
