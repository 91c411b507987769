/*
 * test_semantic_threads.c -- the semantic cache called from several threads
 * at once, built with ThreadSanitizer (its own rule in the Makefile compiles
 * the cache's sources with -fsanitize=thread, so a data race inside them
 * fails the run).  Four threads query, insert, remove and clear over two
 * tenants for a fixed number of operations (bounded: no time limit, no
 * sleeps); afterwards every hit must have returned its own tenant's answer
 * and the counters must add up.
 */
#include "testutil.h"

#include "../core/semantic_cache.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>

#define DIM 32
#define OPS 1500
#define THREADS 4

typedef struct worker {
    cc_sem_cache *c;
    int id;
    uint64_t queries, hits, cross_tenant_hits, errors;
} worker;

static void vec_of(unsigned x, float *v)
{
    float s = 0;
    for (int d = 0; d < DIM; d++) {
        v[d] = (float)(cc_mix64((uint64_t)x * 64 + (uint64_t)d) % 1000) / 1000.0f - 0.5f;
        s += v[d] * v[d];
    }
    for (int d = 0; d < DIM; d++)
        v[d] /= sqrtf(s);
}

static void *run(void *arg)
{
    worker *w = arg;
    cc_err err = {0};
    float v[DIM];
    char ans[64], want[64];
    for (unsigned i = 0; i < OPS; i++) {
        unsigned x = (i * 7u + (unsigned)w->id) % 200u;
        const char *tenant = (x & 1) ? "m@2" : "m@1";
        vec_of(x, v);
        int op = (int)((i + (unsigned)w->id) % 10);
        if (op < 6) {
            cc_sem_result r;
            if (cc_sem_query(w->c, tenant, v, "a question", 10, i, ans, sizeof ans, &r, &err)) {
                if (!w->errors)
                    cc_err_print(&err, stderr);
                w->errors++;
            }
            w->queries++;
            if (r.hit) {
                w->hits++;
                snprintf(want, sizeof want, "%s answer %u", tenant, x);
                if (strcmp(ans, want)) {
                    if (!w->cross_tenant_hits)
                        fprintf(stderr, "got '%s', expected '%s'\n", ans, want);
                    w->cross_tenant_hits++;
                }
            }
        } else if (op < 9) {
            char a[64];
            snprintf(a, sizeof a, "%s answer %u", tenant, x);
            uint64_t id;
            if (cc_sem_insert(w->c, tenant, v, "a question", 10, a, strlen(a), i, 0, &id, &err)) {
                if (!w->errors)
                    cc_err_print(&err, stderr);
                w->errors++;
            }
        } else if (i % 97 == 0) {
            uint64_t n;
            if (cc_sem_clear(w->c, tenant, &n, &err))
                w->errors++;
        } else {
            if (cc_sem_remove(w->c, (uint64_t)(i % 50) + 1, &err) < 0)
                w->errors++;
        }
    }
    return NULL;
}

/* Read-only phase: every query hits (no writer in between, so nothing but
 * the cache's own locking orders the hits' bookkeeping). */
static void *run_hits(void *arg)
{
    worker *w = arg;
    cc_err err = {0};
    float v[DIM];
    char ans[64], want[64];
    for (unsigned i = 0; i < OPS; i++) {
        unsigned x = 1000u + (i * 3u + (unsigned)w->id) % 40u;
        vec_of(x, v);
        cc_sem_result r;
        if (cc_sem_query(w->c, "m@3", v, "a question", 10, 1000000 + i, ans, sizeof ans, &r, &err))
            w->errors++;
        w->queries++;
        snprintf(want, sizeof want, "m@3 answer %u", x);
        if (r.hit && !strcmp(ans, want))
            w->hits++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    openblas_set_num_threads(1);
    cc_sem_opts o;
    cc_sem_opts_default(&o);
    o.dim = DIM;
    o.max_entries = 64; /* small: evictions all the time */
    o.threshold_short = o.threshold_long = 0.999;
    o.ttl_ns = 400;
    o.ttl_sliding = 1;
    cc_sem_cache *c;
    cc_err err = {0};
    assert_int_equal(cc_sem_open(&o, &c, &err), CC_OK);
    pthread_t th[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].c = c;
        w[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, run, &w[i]), 0);
    }
    uint64_t q = 0, h = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].errors, 0);
        assert_int_equal(w[i].cross_tenant_hits, 0);
        q += w[i].queries;
        h += w[i].hits;
    }
    cc_sem_stats s;
    cc_sem_get_stats(c, &s);
    assert_int_equal(s.queries, q);
    assert_int_equal(s.hits, h);
    assert_int_equal(s.hits + s.misses, s.queries);
    assert_true(s.entries <= 64);
    assert_true(h > 0);
    printf("threads: %llu queries, %llu hits, %llu inserts, %llu evictions\n",
           (unsigned long long)s.queries, (unsigned long long)s.hits,
           (unsigned long long)s.inserts, (unsigned long long)s.evictions);
    /* read-only phase: 40 entries that never expire, 4 threads hitting them */
    assert_int_equal(cc_sem_clear(c, "m@1", NULL, &err), CC_OK);
    assert_int_equal(cc_sem_clear(c, "m@2", NULL, &err), CC_OK);
    float v[DIM];
    for (unsigned x = 1000; x < 1040; x++) {
        char a[64];
        snprintf(a, sizeof a, "m@3 answer %u", x);
        vec_of(x, v);
        uint64_t id;
        assert_int_equal(cc_sem_insert(c, "m@3", v, "q", 1, a, strlen(a), 1000000, CC_SEM_NO_TTL,
                                       &id, &err),
                         CC_OK);
    }
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].c = c;
        w[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, run_hits, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].errors, 0);
        assert_int_equal(w[i].hits, OPS); /* every query hit its own answer */
    }
    cc_sem_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
