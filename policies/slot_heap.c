/*
 * slot_heap.c -- binary min-heap of slots keyed by key[slot], with a
 * position index (see policy.h).
 *
 * Order: (key, slot) lexicographic, so equal keys come out smallest slot
 * first whatever the order of pushes.  push, remove and set_key sift one
 * path: O(log n) comparisons; min is O(1).  Memory: key 8 + pos 4 + heap 4 =
 * 16 bytes per slot, allocated once for the capacity (zeroed lazily: pos
 * holds index + 1, 0 when absent, so untouched slots cost no memory).
 */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

int cc_slot_heap_init(cc_slot_heap *h, uint32_t capacity)
{
    memset(h, 0, sizeof *h);
    size_t n = capacity ? capacity : 1;
    h->key = calloc(n, sizeof *h->key);
    h->pos = calloc(n, sizeof *h->pos); /* zero = absent: lazily zeroed pages */
    h->heap = malloc(n * sizeof *h->heap);
    if (!h->key || !h->pos || !h->heap) {
        cc_slot_heap_free(h);
        return CC_ENOMEM;
    }
    h->cap = capacity;
    return CC_OK;
}

void cc_slot_heap_free(cc_slot_heap *h)
{
    free(h->key);
    free(h->pos);
    free(h->heap);
    memset(h, 0, sizeof *h);
}

static inline int less(const cc_slot_heap *h, uint32_t a, uint32_t b)
{
    uint64_t ka = h->key[a], kb = h->key[b];
    return ka < kb || (ka == kb && a < b);
}

static void sift_up(cc_slot_heap *h, uint32_t i)
{
    uint32_t s = h->heap[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        uint32_t ps = h->heap[p];
        if (!less(h, s, ps))
            break;
        h->heap[i] = ps;
        h->pos[ps] = i + 1;
        i = p;
    }
    h->heap[i] = s;
    h->pos[s] = i + 1;
}

static void sift_down(cc_slot_heap *h, uint32_t i)
{
    uint32_t s = h->heap[i], n = h->n;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && less(h, h->heap[c + 1], h->heap[c]))
            c++;
        uint32_t cs = h->heap[c];
        if (!less(h, cs, s))
            break;
        h->heap[i] = cs;
        h->pos[cs] = i + 1;
        i = c;
    }
    h->heap[i] = s;
    h->pos[s] = i + 1;
}

void cc_slot_heap_push(cc_slot_heap *h, uint32_t slot)
{
    uint32_t i = h->n++;
    h->heap[i] = slot;
    sift_up(h, i);
}

void cc_slot_heap_remove(cc_slot_heap *h, uint32_t slot)
{
    uint32_t i = h->pos[slot];
    if (!i)
        return;
    i--;
    h->pos[slot] = 0;
    uint32_t last = h->heap[--h->n];
    if (i == h->n)
        return;
    h->heap[i] = last;
    h->pos[last] = i + 1;
    if (i > 0 && less(h, last, h->heap[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

void cc_slot_heap_set_key(cc_slot_heap *h, uint32_t slot, uint64_t key)
{
    uint64_t old = h->key[slot];
    h->key[slot] = key;
    uint32_t i = h->pos[slot];
    if (!i || key == old)
        return;
    i--;
    if (key < old)
        sift_up(h, i);
    else
        sift_down(h, i);
}
