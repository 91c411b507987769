/* test_engine_executor.c -- the real-engine executor (sim/engine_executor.c)
 * on the tiny model (CPU engine):
 *  - a prefill that reuses cached blocks of an earlier request gives the
 *    same logits and K/V as a full prefill from scratch on a second engine
 *    (cc_engine_prefill; max abs diff <= 1e-4), also through a cached
 *    partial block (copy before write) and a decode step after it;
 *  - the store's bookkeeping on a hand-made 3-request trace: which blocks
 *    each request reused (counted by hand), blocks stored, copied;
 *  - a pool too small for the driver's cache: evicted blocks are counted
 *    as missing and recomputed, the logits still match;
 *  - finish frees the request's state; bad steps are errors;
 *  - the driver (cc_sim_run) with this executor finds the same hits as
 *    with the cost model, and every hit is read from the store.
 * No timing assertions. */
#include "testutil.h"
#include "core/replay.h"
#include "gpu/gpu.h"
#include "sim/driver.h"
#include "sim/engine_executor.h"
#include "traces/traces.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <time.h>

typedef struct fx {
    cc_weights w;
    cc_engine *e, *ref;
    cc_trace t;
    cc_executor x;
} fx;

static void add(cc_trace *t, uint32_t in, const uint64_t *b, uint32_t nb)
{
    cc_request r = {0};
    r.input_tokens = in;
    r.output_tokens = 3;
    r.group_id = CC_NO_GROUP;
    r.blocks = b;
    r.n_blocks = nb;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

/* Block size 4 (tiny).  R0: 10 tokens h1 h2 h3(2 tokens); R1: 12 tokens
 * h1 h2 h4; R2: the same 10 tokens as R0. */
static void setup_fx(fx *f, int n_slots)
{
    memset(f, 0, sizeof *f);
    cc_model_config cfg;
    cc_err e = {0};
    assert_int_equal(cc_model_preset("tiny", &cfg, &e), CC_OK);
    assert_int_equal(cfg.block_size, 4);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    assert_int_equal(cc_weights_random(&f->w, &cfg, rng, &e), CC_OK);
    gsl_rng_free(rng);
    cc_engine_opts o;
    cc_engine_opts_default(&o);
    o.n_slots = n_slots;
    o.max_context = 64;
    o.max_seqs = 4;
    assert_int_equal(cc_engine_create(&f->w, &o, &f->e, &e), CC_OK);
    o.n_slots = 64;
    assert_int_equal(cc_engine_create(&f->w, &o, &f->ref, &e), CC_OK);
    cc_trace_init(&f->t);
    f->t.block_size = 4;
    static const uint64_t r0[3] = {101, 102, 103}, r1[3] = {101, 102, 104};
    add(&f->t, 10, r0, 3);
    add(&f->t, 12, r1, 3);
    add(&f->t, 10, r0, 3);
    cc_engine_exec_opts xo = {.keep_logits = 1};
    assert_int_equal(cc_engine_executor_create(f->e, &f->t, &xo, &f->x, &e), CC_OK);
}

static void teardown_fx(fx *f)
{
    cc_executor_free(&f->x);
    cc_engine_free(f->e);
    cc_engine_free(f->ref);
    cc_weights_free(&f->w);
    cc_trace_free(&f->t);
}

static double maxdiff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

/* Full prefill of request i on the reference engine (slots 0..) from scratch;
 * compares logits (last row) and the K/V of every block with the executor's. */
static void check_against_scratch(fx *f, size_t i)
{
    cc_err e = {0};
    int32_t tok[16], table[8];
    uint32_t in = f->t.input_tokens[i];
    assert_int_equal(cc_trace_request_tokens(&f->t, i, 256, tok, &e), CC_OK);
    int nb = (int)((in + 3) / 4);
    for (int b = 0; b < nb; b++)
        table[b] = b;
    float want[256];
    assert_int_equal(cc_engine_prefill(f->ref, tok, (int)in, 0, table, nb, CC_LOGITS_LAST, want,
                                       &e),
                     CC_OK);
    int rows = 0;
    const float *got = cc_engine_exec_last_logits(&f->x, &rows);
    assert_non_null(got);
    assert_int_equal(rows, 1);
    assert_true(maxdiff(got, want, 256) <= 1e-4);
    int n_blocks = 0, n_tokens = 0;
    const int32_t *xt = cc_engine_exec_table(&f->x, i, &n_blocks, &n_tokens);
    assert_non_null(xt);
    assert_int_equal(n_tokens, (int)in);
    size_t bb = cc_engine_block_bytes(f->e);
    float *a = malloc(bb), *r = malloc(bb);
    for (int b = 0; b < nb; b++) {
        assert_int_equal(cc_engine_kv_to_host(f->e, xt[b], a, &e), CC_OK);
        assert_int_equal(cc_engine_kv_to_host(f->ref, table[b], r, &e), CC_OK);
        /* rows past the input in the last block are not compared: layout
         * [layer][K,V][row][head][dim], compare the rows < valid */
        int valid = (int)in - 4 * b < 4 ? (int)in - 4 * b : 4;
        size_t row = 2 * 16; /* kv heads x head_dim floats */
        for (int lkv = 0; lkv < 2 * 2; lkv++)
            assert_true(maxdiff(a + lkv * 4 * row, r + lkv * 4 * row, (size_t)valid * row) <=
                        1e-4);
    }
    free(a);
    free(r);
}

static void test_reuse_matches_scratch(void **state)
{
    (void)state;
    fx f;
    setup_fx(&f, 32);
    cc_err e = {0};
    double s;
    cc_sim_item it0 = {10, 0, 0};
    assert_int_equal(cc_executor_prefill(&f.x, &it0, 1, &s, &e), CC_OK);
    assert_true(s > 0);
    check_against_scratch(&f, 0);
    cc_executor_finish(&f.x, 0);
    int nb, nt;
    assert_null(cc_engine_exec_table(&f.x, 0, &nb, &nt)); /* freed */
    /* R1: 8 cached tokens (h1 h2), 4 new */
    cc_sim_item it1 = {4, 8, 1};
    assert_int_equal(cc_executor_prefill(&f.x, &it1, 1, &s, &e), CC_OK);
    check_against_scratch(&f, 1);
    /* R2: all 10 cached; the driver computes the last token again (9 cached),
     * which writes into the shared partial block h3: copied first */
    cc_sim_item it2 = {1, 9, 2};
    assert_int_equal(cc_executor_prefill(&f.x, &it2, 1, &s, &e), CC_OK);
    check_against_scratch(&f, 2);
    assert_int_equal(cc_engine_exec_reused(&f.x, 0), 0);
    assert_int_equal(cc_engine_exec_reused(&f.x, 1), 2);
    assert_int_equal(cc_engine_exec_reused(&f.x, 2), 3);
    cc_engine_exec_stats st;
    assert_int_equal(cc_engine_exec_get_stats(&f.x, &st), CC_OK);
    assert_int_equal(st.reused_blocks, 5);
    assert_int_equal(st.stored_blocks, 4); /* h1 h2 h3 by R0, h4 by R1 */
    assert_int_equal(st.copied_blocks, 1); /* h3 for R2 */
    assert_int_equal(st.missing_blocks, 0);
    assert_int_equal(st.prefill_items, 3);
    /* decode steps of R1 and R2 together; R1 then goes on into a new block */
    cc_sim_item d[2] = {{1, 12, 1}, {1, 10, 2}};
    assert_int_equal(cc_executor_decode(&f.x, d, 2, &s, &e), CC_OK);
    int32_t first1 = cc_engine_exec_table(&f.x, 1, &nb, &nt)[0];
    assert_int_equal(nt, 13);
    assert_int_equal(nb, 4); /* R1 went on into a fresh fourth block */
    int32_t first2 = cc_engine_exec_table(&f.x, 2, &nb, &nt)[0];
    assert_int_equal(nt, 11);
    assert_int_equal(first1, first2); /* h1 shared */
    /* inconsistent steps */
    cc_sim_item bad = {1, 5, 1};
    assert_int_equal(cc_executor_decode(&f.x, &bad, 1, &s, &e), CC_EARG);
    cc_sim_item two = {2, 13, 1};
    assert_int_equal(cc_executor_decode(&f.x, &two, 1, &s, &e), CC_EARG);
    cc_sim_item none = {1, 3, 0};
    assert_int_equal(cc_executor_decode(&f.x, &none, 1, &s, &e), CC_EARG);
    cc_sim_blend_item bl = {0, 4, 1, 1, 0};
    assert_int_equal(cc_executor_blend(&f.x, &bl, 1, &s, &e), CC_EUNSUP);
    cc_executor_finish(&f.x, 1);
    cc_executor_finish(&f.x, 2);
    cc_executor_finish(&f.x, 2); /* twice: nothing */
    assert_null(cc_engine_exec_table(&f.x, 1, &nb, &nt));
    assert_int_equal(cc_engine_exec_get_stats(&f.x, &st), CC_OK);
    assert_int_equal(st.decode_items, 2);
    teardown_fx(&f);
}

/* Pool of 3 blocks: R0 fills it (h1 h2 h3 stored), R1 needs a fresh block
 * for h4 and evicts h3 (least recently used, no request lists it); R2 then
 * finds h1 h2 but not h3: one missing block, one token recomputed (the
 * driver said 9 cached). */
static void test_small_pool_recomputes(void **state)
{
    (void)state;
    fx f;
    setup_fx(&f, 3);
    cc_err e = {0};
    double s;
    cc_sim_item it0 = {10, 0, 0}, it1 = {4, 8, 1}, it2 = {1, 9, 2};
    assert_int_equal(cc_executor_prefill(&f.x, &it0, 1, &s, &e), CC_OK);
    cc_executor_finish(&f.x, 0);
    assert_int_equal(cc_executor_prefill(&f.x, &it1, 1, &s, &e), CC_OK);
    cc_executor_finish(&f.x, 1);
    assert_int_equal(cc_executor_prefill(&f.x, &it2, 1, &s, &e), CC_OK);
    check_against_scratch(&f, 2);
    cc_engine_exec_stats st;
    assert_int_equal(cc_engine_exec_get_stats(&f.x, &st), CC_OK);
    assert_int_equal(st.evicted_blocks, 2); /* h3 for R1's h4, then h4 for R2's block 2 */
    assert_int_equal(st.missing_blocks, 1);
    assert_int_equal(st.recomputed_tokens, 1);
    assert_int_equal(cc_engine_exec_reused(&f.x, 2), 2);
    /* R2 holds 3 blocks: another request cannot get one */
    cc_sim_item it3 = {10, 0, 0};
    assert_int_equal(cc_executor_prefill(&f.x, &it3, 1, &s, &e), CC_ENOMEM);
    assert_string_equal(e.field, "n_slots");
    teardown_fx(&f);
}

/* The driver with this executor finds the hits the cost model's run finds,
 * and the engine reads every one from its store. */
static void test_driver_same_hits(void **state)
{
    (void)state;
    fx f;
    setup_fx(&f, 64);
    cc_err e = {0};
    cc_pc_config pc;
    memset(&pc, 0, sizeof pc);
    pc.mode = CC_PC_PREFIX;
    pc.kv_bytes_per_block = 100;
    pc.n_tiers = 1;
    strcpy(pc.tiers[0].name, "hbm");
    pc.tiers[0].policy = cc_policy_find("lru");
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.max_batch_tokens = 512;
    sc.max_seqs = 4;
    sc.bootstrap = 10;
    cc_sim_model m;
    cc_sim_hw hw;
    assert_int_equal(cc_sim_model_load("tiny", &m, &e), CC_OK);
    assert_int_equal(cc_sim_hw_load("cpu", &hw, &e), CC_OK);
    cc_executor cm;
    assert_int_equal(cc_costmodel_create(&hw, &m, NULL, &cm, &e), CC_OK);
    for (int mode = 0; mode < 2; mode++) {
        sc.concurrency = mode ? CC_CONCURRENCY_IMMEDIATE : CC_CONCURRENCY_NONE;
        cc_sim_result a, b;
        sc.reference = &cm;
        int rc = cc_sim_run(&f.t, &pc, NULL, &sc, &f.x, 1, &a, &e);
        if (rc != CC_OK)
            fail_msg("%s (%s)", e.msg, e.field);
        sc.reference = NULL;
        assert_int_equal(cc_sim_run(&f.t, &pc, NULL, &sc, &cm, 1, &b, &e), CC_OK);
        assert_int_equal(a.cache.hit_tokens, b.cache.hit_tokens);
        assert_int_equal(a.cache.hit_blocks, b.cache.hit_blocks);
        for (size_t i = 0; i < 3; i++)
            assert_int_equal(a.records[i].cached_tokens, b.records[i].cached_tokens);
        cc_sim_result_free(&a);
        cc_sim_result_free(&b);
    }
    cc_engine_exec_stats st;
    assert_int_equal(cc_engine_exec_get_stats(&f.x, &st), CC_OK);
    assert_int_equal(st.missing_blocks, 0);
    assert_true(st.reused_blocks > 0);
    cc_executor_free(&cm);
    teardown_fx(&f);
}

/* The step clocks (sim/engine_calib.h): wall time runs while the process
 * sleeps, CPU time does not (the property that makes a busy machine's waits
 * disappear from CPU-clock step times); both run while it computes.  No
 * speed is asserted: 50 ms asleep cost no CPU on any machine. */
static void test_step_clocks(void **state)
{
    (void)state;
    double w0 = cc_engine_clock_s(CC_ENGINE_CLOCK_WALL), c0 = cc_engine_clock_s(CC_ENGINE_CLOCK_CPU);
    struct timespec nap = {0, 50 * 1000 * 1000};
    while (nanosleep(&nap, &nap) != 0)
        ;
    double w1 = cc_engine_clock_s(CC_ENGINE_CLOCK_WALL), c1 = cc_engine_clock_s(CC_ENGINE_CLOCK_CPU);
    assert_true(w1 - w0 >= 0.05);
    assert_true(c1 - c0 < 0.025);
    volatile double x = 0;
    while (cc_engine_clock_s(CC_ENGINE_CLOCK_CPU) - c1 < 0.01)
        x += 1.0; /* ends: CPU time advances while this runs */
    assert_true(cc_engine_clock_s(CC_ENGINE_CLOCK_WALL) > w1);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* Worker threads that spin while idle are CPU time of the process even
     * while it sleeps: OpenBLAS's pool (created when the library loads, it
     * spins a while before it sleeps) and OpenMP's.  The process runs again
     * with one BLAS thread and passive OpenMP waits, so test_step_clocks
     * sees only this process's own work. */
    if (!getenv("CC_TEST_QUIET_THREADS")) {
        setenv("CC_TEST_QUIET_THREADS", "1", 1);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        setenv("OMP_WAIT_POLICY", "passive", 1);
        execv("/proc/self/exe", argv);
        perror("execv /proc/self/exe"); /* fall through: run as is */
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_clocks),
        cmocka_unit_test(test_reuse_matches_scratch),
        cmocka_unit_test(test_small_pool_recomputes),
        cmocka_unit_test(test_driver_same_hits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
