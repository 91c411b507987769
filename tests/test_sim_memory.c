/* test_sim_memory.c -- the serving simulator's memory per request
 * (sim/driver.h): the bytes cc_sim_run allocates, counted by this binary's
 * own malloc (every malloc, calloc, realloc, aligned allocation and free of
 * the process goes through the functions below, which hand the work to
 * glibc and add up malloc_usable_size), stay within a bound computed here
 * from the public struct sizes: per request of the trace, a cc_sim_record,
 * a u32 of cached tokens per tier and 16 bytes (in the loop a u32 slot
 * number and a waiting request's heap key of 8; in the summary a sorted
 * copy of one distribution, 8, and glibc's qsort scratch, 8): 116 bytes
 * with one tier (the loop took 397 here before, 453 in lanes); per request in flight
 * (at most max_seqs admitted, one more waiting at the head of the line), a
 * slot of at most 128 bytes and a u32 node id per block; per instance the
 * step buffers of max_seqs items; the cache its budget of 64 bytes a block
 * (core/prefix_cache.h); 64 KB for the rest (event queue, bootstrap).  The
 * requests have 64 blocks each, so a node id per block access of the trace
 * (what the loop held before) would take 256 bytes a request more and fail
 * the bound by 3x.  The counts are deterministic (same trace, same
 * allocations): nothing here is timed.  cc_sim_result.state_bytes, the
 * driver's own figure, must lie between what the records alone take and
 * what was counted.  Batch scheduler (immediate, dedup, after-complete) and
 * lanes.  Not under sanitizers, which bring their own malloc. */
#include "testutil.h"
#include "sim/driver.h"

#include <malloc.h>
#include <stdatomic.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNTING 0
#else
#define COUNTING 1

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_llong live, peak;

static void counted(void *p)
{
    if (!p)
        return;
    long long v = atomic_fetch_add(&live, (long long)malloc_usable_size(p)) +
                  (long long)malloc_usable_size(p);
    long long m = atomic_load(&peak);
    while (v > m && !atomic_compare_exchange_weak(&peak, &m, v))
        ;
}
static void uncounted(void *p)
{
    if (p)
        atomic_fetch_sub(&live, (long long)malloc_usable_size(p));
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    counted(p);
    return p;
}
void *calloc(size_t a, size_t b)
{
    void *p = __libc_calloc(a, b);
    counted(p);
    return p;
}
void *realloc(void *q, size_t n)
{
    size_t old = q ? malloc_usable_size(q) : 0;
    void *p = __libc_realloc(q, n);
    if (p || !n) {
        atomic_fetch_sub(&live, (long long)old);
        counted(p);
    }
    return p;
}
void free(void *p)
{
    uncounted(p);
    __libc_free(p);
}
void *memalign(size_t a, size_t n)
{
    void *p = __libc_memalign(a, n);
    counted(p);
    return p;
}
void *aligned_alloc(size_t a, size_t n)
{
    return memalign(a, n);
}
int posix_memalign(void **out, size_t a, size_t n)
{
    void *p = memalign(a, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}
#endif

enum { N = 50000, BLOCKS = 64, BS = 16, GROUPS = 4, BURST = 64, CAP = 1000, OUT = 4 };

/* N requests of BLOCKS blocks (1024 tokens): the first half of the chain
 * shared by the requests of one of GROUPS groups, the rest their own; bursts
 * of BURST requests at one instant, 100 ms apart. */
static void make_trace(cc_trace *t)
{
    cc_trace_init(t);
    t->block_size = BS;
    t->timed = true;
    uint64_t b[BLOCKS];
    for (uint32_t i = 0; i < N; i++) {
        for (uint32_t j = 0; j < BLOCKS; j++)
            b[j] = j < BLOCKS / 2 ? (uint64_t)(i % GROUPS) * 1000 + j + 1
                                  : UINT64_C(1) << 40 | ((uint64_t)i * BLOCKS + j);
        cc_request r = {0};
        r.arrival_ns = (int64_t)(i / BURST) * 100000000;
        r.input_tokens = BLOCKS * BS;
        r.output_tokens = OUT;
        r.group_id = CC_NO_GROUP;
        r.blocks = b;
        r.n_blocks = BLOCKS;
        assert_int_equal(cc_trace_append(t, &r), CC_OK);
    }
}

static void check(cc_sim_sched sched, cc_concurrency conc)
{
    if (!COUNTING) {
        printf("skipped: built with a sanitizer (its own malloc)\n");
        skip();
    }
    cc_trace t;
    make_trace(&t);
    cc_pc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = CC_PC_PREFIX;
    cfg.kv_bytes_per_block = 100;
    cfg.n_tiers = 1;
    strcpy(cfg.tiers[0].name, "hbm");
    cfg.tiers[0].capacity_blocks = CAP;
    cfg.tiers[0].policy = cc_policy_find("lru");
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.scheduler = sched;
    sc.concurrency = conc;
    sc.bootstrap = 100;
    cc_executor ex;
    cc_err e = {0};
    assert_int_equal(cc_rates_executor_create(2e6, 1e5, &ex, &e), CC_OK);
    cc_sim_result r;
#if COUNTING
    long long before = atomic_load(&live);
    atomic_store(&peak, before);
#endif
    int rc = cc_sim_run(&t, &cfg, NULL, &sc, &ex, 1, &r, &e);
    if (rc != CC_OK)
        fail_msg("cc_sim_run: %s", e.msg);
#if COUNTING
    long long used = atomic_load(&peak) - before;
#else
    long long used = 0;
#endif
    const uint64_t T = 1, seqs = sc.max_seqs;
    /* the larger of the loop's slot number and heap key (12 bytes) and the
     * summary's sorted copy with qsort's scratch (16) */
    uint64_t per_request = sizeof(cc_sim_record) + T * sizeof(uint32_t) + 2 * sizeof(double);
    uint64_t in_flight = (seqs + 1) * (128 + BLOCKS * sizeof(uint32_t));
    uint64_t steps = seqs * (sizeof(cc_sim_item) + sizeof(uint32_t) + 1);
    uint64_t rest = (uint64_t)CAP * 64 + 65536;
    uint64_t bound = (uint64_t)N * per_request + in_flight + steps + rest;
    printf("%s, %s: %lld bytes at the peak, %.1f a request (bound %.1f: %llu a request, "
           "%llu in flight, %llu the rest); state_bytes %llu (%.1f a request), cache %llu\n",
           cc_sim_sched_name(sched), cc_concurrency_name(conc), used, (double)used / N,
           (double)bound / N, (unsigned long long)per_request,
           (unsigned long long)in_flight + steps, (unsigned long long)rest,
           (unsigned long long)r.state_bytes, (double)r.state_bytes / N,
           (unsigned long long)r.cache_bytes);
    /* the run did what the figures assume: every request served, hits and
     * evictions (a real workload, not an idle loop) */
    assert_int_equal(r.n, N);
    assert_true(r.cache.hit_blocks > 0 && r.cache.evictions > 0);
    for (size_t i = 0; i < N; i++)
        assert_true(r.records[i].finish_ns >= r.records[i].first_token_ns &&
                    r.records[i].first_token_ns > r.records[i].arrival_ns);
    if ((uint64_t)used > bound)
        fail_msg("%lld bytes allocated at the peak, past the bound of %llu (%.1f a request)",
                 used, (unsigned long long)bound, (double)used / N);
    /* the driver's own count: at least the records, at most what was seen */
    assert_true(r.state_bytes >= (uint64_t)N * (sizeof(cc_sim_record) + T * sizeof(uint32_t)));
    if (r.state_bytes > (uint64_t)used)
        fail_msg("state_bytes %llu above the %lld bytes counted",
                 (unsigned long long)r.state_bytes, used);
    if ((uint64_t)used > r.state_bytes + r.cache_bytes + 65536)
        fail_msg("%lld bytes counted, past state_bytes %llu + cache_bytes %llu + 64 KB: "
                 "the driver leaves something out", used, (unsigned long long)r.state_bytes,
                 (unsigned long long)r.cache_bytes);
    cc_sim_result_free(&r);
    cc_executor_free(&ex);
    cc_trace_free(&t);
}

static void test_batch_immediate(void **state)
{
    (void)state;
    check(CC_SIM_SCHED_BATCH, CC_CONCURRENCY_IMMEDIATE);
}
static void test_batch_dedup(void **state)
{
    (void)state;
    check(CC_SIM_SCHED_BATCH, CC_CONCURRENCY_DEDUP);
}
static void test_batch_after_complete(void **state)
{
    (void)state;
    check(CC_SIM_SCHED_BATCH, CC_CONCURRENCY_AFTER_COMPLETE);
}
static void test_lanes_immediate(void **state)
{
    (void)state;
    check(CC_SIM_SCHED_LANES, CC_CONCURRENCY_IMMEDIATE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_immediate),
        cmocka_unit_test(test_batch_dedup),
        cmocka_unit_test(test_batch_after_complete),
        cmocka_unit_test(test_lanes_immediate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
