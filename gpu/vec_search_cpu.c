/*
 * vec_search_cpu.c -- CPU twin of vec_search.cu's row-argmax kernel (same
 * name, same rule: the largest value of each row, its smallest column on
 * ties, merged into the running best only when strictly greater).
 * O(nq x m).
 */
#include "gpu.h"

#include <math.h>

void cc_vec_argmax_rows(const float *S, size_t nq, size_t m, int64_t base, float *best,
                        int64_t *row)
{
    for (size_t i = 0; i < nq; i++) {
        const float *r = S + i * m;
        float v = -INFINITY;
        int64_t at = -1;
        for (size_t j = 0; j < m; j++)
            if (r[j] > v || at < 0) {
                v = r[j];
                at = (int64_t)j;
            }
        if (at >= 0 && (v > best[i] || row[i] < 0)) {
            best[i] = v;
            row[i] = base + at;
        }
    }
}
