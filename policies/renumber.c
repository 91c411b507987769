/*
 * renumber.c -- dense renumbering of 32-bit counters (policy.h).
 */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct by_number_arg {
    const void *state;
    const cc_renumber_ops *ops;
} by_number_arg;

static int by_number(const void *a, const void *b, void *arg)
{
    const by_number_arg *x = arg;
    uint32_t p = x->ops->get(x->state, *(const uint32_t *)a);
    uint32_t q = x->ops->get(x->state, *(const uint32_t *)b);
    return p < q ? -1 : p > q;
}

uint32_t cc_renumber(void *state, uint32_t cap, const cc_renumber_ops *ops, const char *who)
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < cap; s++)
        n += ops->has(state, s) != 0;
    uint32_t *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) {
        fprintf(stderr, "ctxcache: %s: out of memory renumbering %u slots\n", who, n);
        abort();
    }
    n = 0;
    for (uint32_t s = 0; s < cap; s++)
        if (ops->has(state, s))
            v[n++] = s;
    by_number_arg arg = {state, ops};
    qsort_r(v, n, sizeof *v, by_number, &arg);
    for (uint32_t i = 0; i < n; i++)
        ops->set(state, v[i], i);
    free(v);
    return n;
}
