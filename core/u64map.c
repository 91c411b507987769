/*
 * u64map.c -- open-addressing hash map from u64 keys to u64 values.
 *
 * Why not a library: GLib's GHashTable boxes keys and chases pointers; the
 * cache replays do one lookup per block access and must beat libCacheSim, so
 * the table is two flat arrays probed linearly.  Keys are mixed with a
 * 64-bit finaliser (splitmix64) because real keys are often sequential ids.
 * Deletion shifts later entries of the probe run back instead of leaving
 * tombstones.  Memory: 16 bytes per slot, load <= 1/2.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#define mix64 cc_mix64

static int alloc_table(cc_u64map *m, size_t cap)
{
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        free(m->keys);
        free(m->vals);
        m->keys = m->vals = NULL;
        return CC_ENOMEM;
    }
    memset(m->keys, 0xff, cap * sizeof *m->keys); /* all CC_U64MAP_EMPTY */
    m->cap = cap;
    return CC_OK;
}

int cc_u64map_init(cc_u64map *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    return alloc_table(m, cap);
}

void cc_u64map_free(cc_u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

void cc_u64map_clear(cc_u64map *m)
{
    memset(m->keys, 0xff, m->cap * sizeof *m->keys);
    m->count = 0;
    m->has_empty_key = 0;
}

void cc_u64map_prefetch(const cc_u64map *m, uint64_t key)
{
    size_t i = mix64(key) & (m->cap - 1);
    __builtin_prefetch(&m->keys[i]);
    __builtin_prefetch(&m->vals[i]);
}

uint64_t *cc_u64map_get(const cc_u64map *m, uint64_t key)
{
    if (key == CC_U64MAP_EMPTY)
        return m->has_empty_key ? (uint64_t *)&m->empty_key_val : NULL;
    size_t mask = m->cap - 1, i = mix64(key) & mask;
    for (;;) {
        uint64_t k = m->keys[i];
        if (k == key)
            return &m->vals[i];
        if (k == CC_U64MAP_EMPTY)
            return NULL;
        i = (i + 1) & mask;
    }
}

static int grow(cc_u64map *m)
{
    uint64_t *ok = m->keys, *ov = m->vals;
    size_t ocap = m->cap;
    if (alloc_table(m, ocap * 2) != CC_OK) {
        m->keys = ok;
        m->vals = ov;
        m->cap = ocap;
        return CC_ENOMEM;
    }
    size_t mask = m->cap - 1;
    for (size_t j = 0; j < ocap; j++) {
        if (ok[j] == CC_U64MAP_EMPTY)
            continue;
        size_t i = mix64(ok[j]) & mask;
        while (m->keys[i] != CC_U64MAP_EMPTY)
            i = (i + 1) & mask;
        m->keys[i] = ok[j];
        m->vals[i] = ov[j];
    }
    free(ok);
    free(ov);
    return CC_OK;
}

int cc_u64map_put(cc_u64map *m, uint64_t key, uint64_t val, uint64_t **slot)
{
    if (key == CC_U64MAP_EMPTY) {
        int inserted = !m->has_empty_key;
        if (inserted) {
            m->has_empty_key = 1;
            m->empty_key_val = val;
            m->count++;
        }
        if (slot)
            *slot = &m->empty_key_val;
        return inserted;
    }
    if ((m->count + 1) * 2 > m->cap && grow(m) != CC_OK)
        return CC_ENOMEM;
    size_t mask = m->cap - 1, i = mix64(key) & mask;
    for (;;) {
        uint64_t k = m->keys[i];
        if (k == key) {
            if (slot)
                *slot = &m->vals[i];
            return 0;
        }
        if (k == CC_U64MAP_EMPTY)
            break;
        i = (i + 1) & mask;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->count++;
    if (slot)
        *slot = &m->vals[i];
    return 1;
}

int cc_u64map_del(cc_u64map *m, uint64_t key)
{
    if (key == CC_U64MAP_EMPTY) {
        if (!m->has_empty_key)
            return 0;
        m->has_empty_key = 0;
        m->count--;
        return 1;
    }
    size_t mask = m->cap - 1, i = mix64(key) & mask;
    for (;;) {
        uint64_t k = m->keys[i];
        if (k == CC_U64MAP_EMPTY)
            return 0;
        if (k == key)
            break;
        i = (i + 1) & mask;
    }
    /* Backward-shift: move later members of the run into the hole when their
     * home slot does not lie cyclically in (hole, j]. */
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & mask;
        uint64_t kj = m->keys[j];
        if (kj == CC_U64MAP_EMPTY)
            break;
        size_t home = mix64(kj) & mask;
        int stays = (hole <= j) ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        m->keys[hole] = kj;
        m->vals[hole] = m->vals[j];
        hole = j;
    }
    m->keys[hole] = CC_U64MAP_EMPTY;
    m->count--;
    return 1;
}
