/* test_replay_stream.c -- streamed replays (traces/stream.c, core/replay.c
 * cc_replay_stream_*, sim/driver.c cc_sim_run_stream) against the whole-trace
 * runs (cc_sim_run, cc_sim_replay: the driver's event loop over every
 * request, a separate implementation) on the same requests: every cache
 * figure, every summary figure and every percentile with its bootstrap
 * interval bit for bit.  Random traces with several blocks, lengths and
 * outputs per request (prefill chunks, decode steps, preemptions under a
 * small HBM budget, two tiers) in both modes, through windows of several
 * sizes; libCacheSim oracleGeneral files and HDF5 traces read in windows
 * against the whole-file readers; the streamed reader's errors (one test per bad-input
 * case); the counts-based distribution against the array one; and
 * `ctxcache replay` on an oracleGeneral file: its JSON equals the
 * whole-trace run's (--trace-stats) but for the ideal ratios and timings. */
#include "testutil.h"
#include "sim/driver.h"
#include "core/mrc.h"
#include "analysis/sweep.h"

#include "traces/stream_int.h"

#include <gsl/gsl_randist.h>
#include <hdf5.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>

/* n requests: chains of 1..6 blocks drawn from a small tree of prefixes (so
 * prefix mode hits), inputs of 1..block_size tokens in the last block,
 * outputs 0..40 tokens, arrivals 0..3 ms apart (queues form). */
static void random_trace(cc_trace *t, size_t n, uint32_t bs, uint64_t seed)
{
    cc_trace_init(t);
    t->block_size = bs;
    t->timed = true;
    snprintf(t->source, sizeof t->source, "random");
    snprintf(t->source_format, sizeof t->source_format, "generator");
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    int64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t b[6];
        uint32_t nb = 1 + (uint32_t)gsl_rng_uniform_int(r, 6);
        uint64_t h = 1;
        for (uint32_t j = 0; j < nb; j++) {
            h = h * 31 + 1 + gsl_rng_uniform_int(r, j < 2 ? 3 : 40);
            b[j] = h;
        }
        cc_request q = {0};
        at += (int64_t)gsl_rng_uniform_int(r, 3000000);
        q.arrival_ns = at;
        q.input_tokens = (nb - 1) * bs + 1 + (uint32_t)gsl_rng_uniform_int(r, bs);
        q.output_tokens = (uint32_t)gsl_rng_uniform_int(r, 41);
        q.group_id = CC_NO_GROUP;
        q.blocks = b;
        q.n_blocks = nb;
        assert_int_equal(cc_trace_append(t, &q), CC_OK);
    }
    gsl_rng_free(r);
}

static void dist_equal(const cc_sim_dist *a, const cc_sim_dist *b)
{
    const cc_sim_pct *pa[3] = {&a->p50, &a->p90, &a->p99}, *pb[3] = {&b->p50, &b->p90, &b->p99};
    for (int k = 0; k < 3; k++) {
        assert_true(pa[k]->value == pb[k]->value);
        assert_true(pa[k]->ci_lo == pb[k]->ci_lo);
        assert_true(pa[k]->ci_hi == pb[k]->ci_hi);
    }
    assert_true(a->mean == b->mean);
}

static void cache_equal(const cc_replay_result *a, const cc_replay_result *b)
{
    assert_int_equal(a->requests, b->requests);
    assert_int_equal(a->block_accesses, b->block_accesses);
    assert_int_equal(a->input_tokens, b->input_tokens);
    assert_int_equal(a->hit_blocks, b->hit_blocks);
    assert_int_equal(a->hit_tokens, b->hit_tokens);
    assert_true(a->block_hit_ratio == b->block_hit_ratio);
    assert_true(a->token_hit_ratio == b->token_hit_ratio);
    assert_true(a->request_hit_ratio_mean == b->request_hit_ratio_mean);
    assert_int_equal(a->evictions, b->evictions);
    assert_int_equal(a->blocks_moved, b->blocks_moved);
    assert_int_equal(a->bytes_moved, b->bytes_moved);
    assert_int_equal(a->no_room_blocks, b->no_room_blocks);
    assert_int_equal(a->n_tiers, b->n_tiers);
    for (uint32_t k = 0; k < a->n_tiers; k++)
        assert_memory_equal(&a->tiers[k], &b->tiers[k], sizeof a->tiers[k]);
    assert_int_equal(a->computed_tokens, b->computed_tokens);
    assert_int_equal(a->queue_wait_ns.hi, b->queue_wait_ns.hi);
    assert_int_equal(a->queue_wait_ns.lo, b->queue_wait_ns.lo);
    assert_int_equal(a->last_finish_ns, b->last_finish_ns);
    assert_int_equal(a->max_in_flight, b->max_in_flight);
    assert_int_equal(a->servers, b->servers);
    assert_true(a->metadata_bytes_per_block == b->metadata_bytes_per_block);
}

static void summary_equal(const cc_sim_summary *a, const cc_sim_summary *b)
{
    dist_equal(&a->ttft_s, &b->ttft_s);
    dist_equal(&a->tpot_s, &b->tpot_s);
    dist_equal(&a->e2e_s, &b->e2e_s);
    dist_equal(&a->queue_s, &b->queue_s);
    assert_true(a->makespan_s == b->makespan_s);
    assert_true(a->throughput_tokens_per_s == b->throughput_tokens_per_s);
    assert_true(a->output_tokens_per_s == b->output_tokens_per_s);
    assert_true(a->requests_per_s == b->requests_per_s);
    assert_true(a->prefill_gpu_s_saved == b->prefill_gpu_s_saved);
    assert_true(a->busy_s == b->busy_s);
    assert_int_equal(a->preemptions, b->preemptions);
    assert_int_equal(a->steps, b->steps);
    for (int k = 0; k < CC_PC_MAX_TIERS; k++)
        assert_int_equal(a->cached_tokens_tier[k], b->cached_tokens_tier[k]);
}

static cc_pc_config config(cc_pc_mode mode, const char *policy, uint64_t cap, int two_tiers)
{
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.mode = mode;
    c.seed = 1;
    c.kv_bytes_per_block = 1000;
    c.n_tiers = two_tiers ? 2 : 1;
    for (uint32_t k = 0; k < c.n_tiers; k++) {
        snprintf(c.tiers[k].name, sizeof c.tiers[k].name, k ? "dram" : "hbm");
        c.tiers[k].policy = cc_policy_find(policy);
        assert_non_null(c.tiers[k].policy);
        c.tiers[k].capacity_blocks = k ? cap * 2 : cap;
    }
    return c;
}

static void cost_model(cc_executor *ex)
{
    cc_sim_hw hw;
    cc_sim_model m;
    cc_err e = {0};
    assert_int_equal(cc_sim_hw_load("h100-sxm", &hw, &e), CC_OK);
    assert_int_equal(cc_sim_model_load("llama-3-8b", &m, &e), CC_OK);
    cc_costmodel_opts o;
    cc_costmodel_opts_default(&o);
    assert_int_equal(cc_costmodel_create(&hw, &m, &o, ex, &e), CC_OK);
}

/* The simulator (cost model), whole against streamed in windows of w. */
static void check_sim(const cc_trace *t, const cc_pc_config *cfg, const cc_sim_config *sc,
                      size_t w)
{
    cc_executor ex;
    cost_model(&ex);
    cc_err e = {0};
    cc_sim_result whole, part;
    cc_replay_opts ro = {0};
    assert_int_equal(cc_sim_run(t, cfg, &ro, sc, &ex, 1, &whole, &e), CC_OK);
    cc_trace_stream *ts;
    assert_int_equal(cc_trace_stream_of(t, w, &ts, &e), CC_OK);
    int rc = cc_sim_run_stream(ts, cfg, &ro, sc, &ex, &part, &e);
    if (rc != CC_OK)
        fail_msg("streamed run: %s", e.msg);
    cache_equal(&whole.cache, &part.cache);
    summary_equal(&whole.summary, &part.summary);
    assert_null(part.records);
    cc_trace_stream_close(ts);
    cc_sim_result_free(&whole);
    cc_sim_result_free(&part);
    cc_executor_free(&ex);
}

static void test_sim_equal_random(void **state)
{
    (void)state;
    cc_trace t;
    random_trace(&t, 3000, 16, 7);
    static const char *const pol[] = {"lru", "fifo", "clock", "sieve", "arc", "s3fifo", "lfu"};
    for (size_t p = 0; p < sizeof pol / sizeof pol[0]; p++) {
        cc_sim_config sc;
        cc_sim_config_default(&sc);
        sc.concurrency = CC_CONCURRENCY_NONE;
        cc_pc_config ind = config(CC_PC_INDEPENDENT, pol[p], 200, 0);
        check_sim(&t, &ind, &sc, 1000);
        cc_pc_config pre = config(CC_PC_PREFIX, pol[p], 200, 0);
        check_sim(&t, &pre, &sc, 777);
    }
    cc_trace_free(&t);
}

/* Prefill chunks, preemptions (a small HBM budget), two tiers with loads,
 * one-request windows. */
static void test_sim_equal_steps(void **state)
{
    (void)state;
    cc_trace t;
    random_trace(&t, 1500, 64, 11);
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.concurrency = CC_CONCURRENCY_NONE;
    sc.max_batch_tokens = 100;
    sc.chunk_tokens = 48;
    sc.hbm_kv_tokens = 300;
    sc.kv_bytes_per_token = 131072;
    sc.tier_kind[1] = CC_SIM_TIER_DRAM;
    cc_pc_config two = config(CC_PC_PREFIX, "lru", 40, 1);
    check_sim(&t, &two, &sc, 1);
    check_sim(&t, &two, &sc, 4096);
    cc_pc_config ind = config(CC_PC_INDEPENDENT, "arc", 40, 1);
    check_sim(&t, &ind, &sc, 333);
    sc.preempt = CC_SIM_PREEMPT_QUEUE;
    sc.hbm_kv_tokens = 0;
    check_sim(&t, &two, &sc, 500);
    cc_trace_free(&t);
}

/* The fixed-rate backend (lanes). */
static void test_rates_equal(void **state)
{
    (void)state;
    cc_trace t;
    random_trace(&t, 2000, 16, 3);
    cc_err e = {0};
    cc_replay_opts ro = {.prefill_tokens_per_s = 5000, .decode_tokens_per_s = 40};
    for (int mode = 0; mode < 2; mode++) {
        cc_pc_config cfg = config(mode ? CC_PC_PREFIX : CC_PC_INDEPENDENT, "s3fifo", 150, 0);
        cc_replay_result whole, part;
        assert_int_equal(cc_sim_replay(&t, &cfg, &ro, &whole, &e), CC_OK);
        cc_trace_stream *ts;
        assert_int_equal(cc_trace_stream_of(&t, 512, &ts, &e), CC_OK);
        assert_int_equal(cc_sim_replay_stream(ts, &cfg, &ro, &part, &e), CC_OK);
        cache_equal(&whole, &part);
        assert_true(whole.prefill_tokens_per_s == part.prefill_tokens_per_s);
        cc_trace_stream_close(ts);
        cc_replay_result_free(&whole);
        cc_replay_result_free(&part);
    }
    cc_trace_free(&t);
}

/* One 24-byte oracleGeneral record. */
static void rec(unsigned char *p, uint32_t ts, uint64_t id, uint32_t size, int64_t next)
{
    memcpy(p, &ts, 4);
    memcpy(p + 4, &id, 8);
    memcpy(p + 12, &size, 4);
    memcpy(p + 16, &next, 8);
}

/* A Zipf-like oracleGeneral file of n records, sizes 1..3, next -1. */
static const char *oracle_file(char *path, size_t len, size_t n)
{
    unsigned char *buf = malloc(n * 24);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    for (size_t i = 0; i < n; i++) {
        uint64_t id = 1 + (uint64_t)(gsl_rng_uniform(r) * gsl_rng_uniform(r) * 2000);
        rec(buf + i * 24, (uint32_t)(i / 7), id, 1 + (uint32_t)gsl_rng_uniform_int(r, 3), -1);
    }
    gsl_rng_free(r);
    tu_write_tmp(path, len, "stream.oracleGeneral", buf, n * 24);
    free(buf);
    return path;
}

/* A libCacheSim file in windows (the reader's own, traces/stream.c) against
 * the whole-file reader and the whole run. */
static void test_oracle_file_equal(void **state)
{
    (void)state;
    char path[512];
    oracle_file(path, sizeof path, 20000);
    cc_err e = {0};
    cc_trace t;
    assert_int_equal(cc_trace_read(path, NULL, NULL, &t, &e), CC_OK);
    assert_int_equal(t.block_size, 3);
    static const char *const pol[] = {"lru", "fifo", "clock", "sieve", "arc", "s3fifo", "lfu"};
    for (size_t p = 0; p < sizeof pol / sizeof pol[0]; p++) {
        cc_sim_config sc;
        cc_sim_config_default(&sc);
        sc.concurrency = CC_CONCURRENCY_NONE;
        cc_pc_config cfg = config(CC_PC_INDEPENDENT, pol[p], 300, 0);
        cfg.kv_bytes_per_block = 0;
        cc_executor ex;
        cost_model(&ex);
        cc_sim_result whole, part;
        assert_int_equal(cc_sim_run(&t, &cfg, NULL, &sc, &ex, 1, &whole, &e), CC_OK);
        cc_trace_stream *ts;
        assert_int_equal(cc_trace_stream_open(path, NULL, NULL, 3000, &ts, &e), CC_OK);
        assert_int_equal(cc_trace_stream_block_size(ts), CC_STREAM_BLOCK_TOKENS_ANY);
        assert_int_equal(cc_trace_stream_requests(ts), 20000);
        assert_int_equal(cc_sim_run_stream(ts, &cfg, NULL, &sc, &ex, &part, &e), CC_OK);
        assert_int_equal(cc_trace_stream_block_size(ts), 3); /* known at the end */
        cache_equal(&whole.cache, &part.cache);
        summary_equal(&whole.summary, &part.summary);
        cc_trace_stream_close(ts);
        cc_sim_result_free(&whole);
        cc_sim_result_free(&part);
        cc_executor_free(&ex);
    }
    cc_trace_free(&t);
    remove(path);
}

/* A trace written as HDF5 and read back in windows (traces/trace_h5.c's
 * window reader) against the whole trace. */
static void test_h5_file_equal(void **state)
{
    (void)state;
    cc_trace t;
    random_trace(&t, 2500, 16, 21);
    char path[512];
    tu_tmp_path(path, sizeof path, "stream.h5");
    cc_err e = {0};
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    for (int mode = 0; mode < 2; mode++) {
        cc_sim_config sc;
        cc_sim_config_default(&sc);
        sc.concurrency = CC_CONCURRENCY_NONE;
        cc_pc_config cfg = config(mode ? CC_PC_PREFIX : CC_PC_INDEPENDENT, "s3fifo", 150, 0);
        cc_executor ex;
        cost_model(&ex);
        cc_sim_result whole, part;
        assert_int_equal(cc_sim_run(&t, &cfg, NULL, &sc, &ex, 1, &whole, &e), CC_OK);
        cc_trace_stream *ts;
        assert_int_equal(cc_trace_stream_open(path, NULL, NULL, 700, &ts, &e), CC_OK);
        assert_int_equal(cc_trace_stream_block_size(ts), 16);
        assert_string_equal(cc_trace_stream_format(ts), "h5");
        int rc = cc_sim_run_stream(ts, &cfg, NULL, &sc, &ex, &part, &e);
        if (rc != CC_OK)
            fail_msg("streamed h5: %s %s", e.field, e.msg);
        cache_equal(&whole.cache, &part.cache);
        summary_equal(&whole.summary, &part.summary);
        cc_trace_stream_close(ts);
        cc_sim_result_free(&whole);
        cc_sim_result_free(&part);
        cc_executor_free(&ex);
    }
    cc_trace_free(&t);
    remove(path);
}

/* Replaces the dataset at path with a copy of its values stored with the
 * given chunk length and filters (as other writers lay columns out). */
static void relayout(hid_t f, const char *path, hid_t mtype, size_t es, hsize_t chunk,
                     int shuffle, int deflate, int fletcher, int partial_raw)
{
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    assert_true(ds >= 0);
    hid_t sp = H5Dget_space(ds), ft = H5Dget_type(ds);
    hsize_t n;
    H5Sget_simple_extent_dims(sp, &n, NULL);
    void *buf = malloc(n * es);
    assert_non_null(buf);
    assert_true(H5Dread(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(ds);
    assert_true(H5Ldelete(f, path, H5P_DEFAULT) >= 0);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    assert_true(H5Pset_chunk(dcpl, 1, &chunk) >= 0);
    if (fletcher)
        H5Pset_fletcher32(dcpl);
    if (shuffle)
        H5Pset_shuffle(dcpl);
    if (deflate)
        H5Pset_deflate(dcpl, 6);
    if (partial_raw)
        H5Pset_chunk_opts(dcpl, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS);
    ds = H5Dcreate2(f, path, ft, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(ds >= 0);
    assert_true(H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Tclose(ft);
    H5Sclose(sp);
    free(buf);
}

/* The window reader decodes shuffle/deflate chunks itself and hands other
 * layouts to HDF5 (trace_h5.c): a trace of several chunks per column, read
 * through windows that straddle chunk boundaries, in the writer's layout and
 * in others (chunk lengths, deflate alone, shuffle alone, no filter,
 * Fletcher-32 and unfiltered partial chunks that HDF5 decodes, the block
 * hashes compressed as older files had them), against the whole trace. */
static void test_h5_layouts_equal(void **state)
{
    (void)state;
    cc_trace t;
    random_trace(&t, 40000, 16, 33); /* 40,001 offsets: two 32,768-row chunks */
    char path[512];
    tu_tmp_path(path, sizeof path, "layouts.h5");
    cc_err e = {0};
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.concurrency = CC_CONCURRENCY_NONE;
    cc_pc_config cfg = config(CC_PC_INDEPENDENT, "lru", 300, 0);
    cc_executor ex;
    cost_model(&ex);
    cc_sim_result whole;
    assert_int_equal(cc_sim_run(&t, &cfg, NULL, &sc, &ex, 1, &whole, &e), CC_OK);
    static const struct {
        hsize_t chunk;
        int shuffle, deflate, fletcher, partial_raw;
    } lay[] = {{0, 0, 0, 0, 0},      {1000, 0, 1, 0, 0}, {777, 1, 0, 0, 0},
               {5000, 0, 0, 0, 0},   {3001, 1, 1, 0, 0}, {3000, 1, 1, 1, 0},
               {4096, 1, 1, 0, 1}};
    const char *cols[] = {"/requests/arrival_ns", "/requests/input_tokens",
                          "/requests/output_tokens", "/index/block_offset", "/blocks/hash"};
    for (size_t L = 0; L < sizeof lay / sizeof lay[0]; L++) {
        assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
        if (lay[L].chunk) {
            hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
            assert_true(f >= 0);
            for (int k = 0; k < 5; k++) {
                hid_t mt = k == 0 ? H5T_NATIVE_INT64
                                  : k < 3 ? H5T_NATIVE_UINT32 : H5T_NATIVE_UINT64;
                relayout(f, cols[k], mt, H5Tget_size(mt), lay[L].chunk, lay[L].shuffle,
                         lay[L].deflate, lay[L].fletcher, lay[L].partial_raw);
            }
            H5Fclose(f);
        }
        cc_trace_stream *ts;
        assert_int_equal(cc_trace_stream_open(path, NULL, NULL, 999, &ts, &e), CC_OK);
        cc_sim_result part;
        int rc = cc_sim_run_stream(ts, &cfg, NULL, &sc, &ex, &part, &e);
        if (rc != CC_OK)
            fail_msg("layout %zu: %s %s", L, e.field, e.msg);
        cache_equal(&whole.cache, &part.cache);
        summary_equal(&whole.summary, &part.summary);
        cc_trace_stream_close(ts);
        cc_sim_result_free(&part);
    }
    cc_sim_result_free(&whole);
    cc_executor_free(&ex);
    cc_trace_free(&t);
    remove(path);
}

/* A damaged compressed chunk is an error naming the column (the window
 * reader's inflate and Adler-32 check, libdeflate), not wrong values. */
static void test_h5_corrupt_chunk(void **state)
{
    (void)state;
    cc_trace t;
    random_trace(&t, 3000, 16, 5);
    char path[512];
    tu_tmp_path(path, sizeof path, "corrupt.h5");
    cc_err e = {0};
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "/requests/arrival_ns", H5P_DEFAULT);
    hsize_t off[1];
    unsigned mask;
    haddr_t addr;
    hsize_t size;
    hid_t sp = H5Dget_space(ds);
    assert_true(H5Dget_chunk_info(ds, sp, 0, off, &mask, &addr, &size) >= 0);
    H5Sclose(sp);
    H5Dclose(ds);
    H5Fclose(f);
    assert_true(size > 20);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    for (hsize_t k = size / 2; k < size / 2 + 4; k++) { /* four bytes inside the stream */
        assert_int_equal(fseek(fp, (long)(addr + k), SEEK_SET), 0);
        int c = fgetc(fp);
        assert_int_equal(fseek(fp, (long)(addr + k), SEEK_SET), 0);
        fputc(c ^ 0x5a, fp);
    }
    fclose(fp);
    cc_trace_stream *ts;
    assert_int_equal(cc_trace_stream_open(path, NULL, NULL, 500, &ts, &e), CC_OK);
    const cc_trace *w;
    int rc;
    while ((rc = cc_trace_stream_next(ts, &w, &e)) == CC_OK && w->n)
        ;
    assert_int_equal(rc, CC_EFORMAT);
    assert_string_equal(e.field, "/requests/arrival_ns");
    cc_trace_stream_close(ts);
    cc_trace_free(&t);
    remove(path);
}

/* Runs the streamed reader over the records; returns the status, err filled. */
static int stream_all(const unsigned char *buf, size_t bytes, cc_err *e)
{
    char path[512];
    tu_write_tmp(path, sizeof path, "bad.oracleGeneral", buf, bytes);
    cc_trace_stream *ts;
    int rc = cc_trace_stream_open(path, "lcs-oracle", NULL, 2, &ts, e);
    const cc_trace *w;
    while (rc == CC_OK && (rc = cc_trace_stream_next(ts, &w, e)) == CC_OK && w->n)
        ;
    cc_trace_stream_close(ts);
    remove(path);
    return rc;
}

static void test_oracle_truncated(void **state)
{
    (void)state;
    unsigned char b[24 * 3];
    rec(b, 0, 1, 1, -1);
    rec(b + 24, 0, 2, 1, -1);
    rec(b + 48, 1, 3, 1, -1);
    cc_err e = {0};
    assert_int_equal(stream_all(b, 24 * 2 + 10, &e), CC_EFORMAT);
    assert_int_equal(e.line, 3);
    assert_string_equal(e.field, "record");
    assert_int_equal(stream_all(b, 0, &e), CC_EFORMAT);
}

static void test_oracle_time_back(void **state)
{
    (void)state;
    unsigned char b[24 * 3];
    rec(b, 5, 1, 1, -1);
    rec(b + 24, 6, 2, 1, -1);
    rec(b + 48, 4, 3, 1, -1); /* in the second window */
    cc_err e = {0};
    assert_int_equal(stream_all(b, sizeof b, &e), CC_ERANGE);
    assert_int_equal(e.line, 3);
    assert_string_equal(e.field, "timestamp");
}

static void test_oracle_size_zero(void **state)
{
    (void)state;
    unsigned char b[24 * 2];
    rec(b, 0, 1, 1, -1);
    rec(b + 24, 0, 2, 0, -1);
    cc_err e = {0};
    assert_int_equal(stream_all(b, sizeof b, &e), CC_ERANGE);
    assert_int_equal(e.line, 2);
    assert_string_equal(e.field, "obj_size");
}

static void test_oracle_next_access(void **state)
{
    (void)state;
    unsigned char b[24 * 2];
    rec(b, 0, 1, 1, 1); /* names itself: not a later record */
    rec(b + 24, 0, 1, 1, -1);
    cc_err e = {0};
    assert_int_equal(stream_all(b, sizeof b, &e), CC_ERANGE);
    assert_int_equal(e.line, 1);
    assert_string_equal(e.field, "next_access_vtime");
    rec(b, 0, 1, 1, 2); /* record 2 holds another object (same window) */
    rec(b + 24, 0, 9, 1, -1);
    assert_int_equal(stream_all(b, sizeof b, &e), CC_EFORMAT);
    assert_int_equal(e.line, 1);
    assert_string_equal(e.field, "next_access_vtime");
}

static void test_not_streamed(void **state)
{
    (void)state;
    cc_err e = {0};
    cc_trace_stream *ts = NULL;
    const char *p = TU_DATA_OR_SKIP("azure/AzureLLMInferenceTrace_conv.csv");
    assert_int_equal(cc_trace_stream_open(p, NULL, NULL, 0, &ts, &e), CC_EUNSUP);
    assert_null(ts);
}

/* The counts form of a distribution against the array form. */
static void test_dist_counts(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 9);
    size_t n = 5000;
    double *x = malloc(n * sizeof *x);
    cc_u64map m;
    assert_int_equal(cc_u64map_init(&m, 16), CC_OK);
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)gsl_rng_uniform_int(r, 37) * 0.125 + (i % 3 == 0 ? 0 : 1e-3);
        uint64_t k, *c;
        memcpy(&k, &x[i], sizeof k);
        assert_true(cc_u64map_put(&m, k, 0, &c) >= 0);
        ++*c;
    }
    cc_sim_dist a, b;
    cc_err e = {0};
    assert_int_equal(cc_sim_dist_compute(x, n, 4, 500, &a, &e), CC_OK);
    assert_int_equal(cc_sim_dist_compute_counts(&m, 4, 500, &b, &e), CC_OK);
    dist_equal(&a, &b);
    cc_u64map_free(&m);
    free(x);
    gsl_rng_free(r);
}

/* cc_replay_stream_feed on one-block windows, with hits wanted (hits[i]) and
 * without (cc_replay_stream_tiers): request i's hits are what cc_pc_access
 * on a twin cache says of the same block, one request at a time (one tier
 * and two, whose second serves some hits). */
static void test_feed_singles_hits(void **state)
{
    (void)state;
    enum { N = 3000, W = 700 };
    uint64_t keys[N];
    uint32_t in[N], out[N];
    int64_t at[N];
    uint64_t off[W + 1];
    for (size_t i = 0; i <= W; i++)
        off[i] = i;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    for (int i = 0; i < N; i++) {
        keys[i] = 1 + gsl_rng_uniform_int(r, 400);
        in[i] = 1 + (uint32_t)gsl_rng_uniform_int(r, 8);
        out[i] = (uint32_t)gsl_rng_uniform_int(r, 5);
        at[i] = (int64_t)i * 1000;
    }
    for (int two = 0; two < 2; two++)
        for (int want_hits = 0; want_hits < 2; want_hits++) {
            cc_pc_config cfg = config(CC_PC_INDEPENDENT, "lru", 150, two);
            cfg.block_tokens = 8;
            cc_replay_stream *rs;
            cc_err e = {0};
            cc_replay_opts ro = {0};
            assert_int_equal(cc_replay_stream_begin(&cfg, &ro, 8, &rs, &e), CC_OK);
            cc_prefix_cache *twin;
            assert_int_equal(cc_pc_create(&cfg, &twin, &e), CC_OK);
            cc_pc_hits hits[W];
            for (size_t a = 0; a < N; a += W) {
                size_t n = N - a < W ? N - a : W;
                cc_trace w;
                cc_trace_init(&w);
                w.n = n;
                w.block_size = 8;
                w.arrival_ns = at + a;
                w.input_tokens = in + a;
                w.output_tokens = out + a;
                w.blocks = keys + a;
                w.block_off = off;
                assert_true(cc_replay_stream_singles(rs, &w));
                assert_int_equal(cc_replay_stream_feed(rs, &w, want_hits ? hits : NULL, &e),
                                 CC_OK);
                const int8_t *tiers = cc_replay_stream_tiers(rs);
                for (size_t i = 0; i < n; i++) {
                    cc_pc_request q = {.blocks = keys + a + i, .n_blocks = 1,
                                       .input_tokens = in[a + i], .index = a + i,
                                       .time_ns = at[a + i], .first_seq = a + i};
                    int k;
                    assert_int_equal(cc_pc_access(twin, &q, 0, &k), CC_OK);
                    assert_int_equal(tiers[i], k);
                    if (!want_hits)
                        continue;
                    uint32_t tok = k >= 0 ? in[a + i] : 0;
                    assert_int_equal(hits[i].blocks, k >= 0);
                    assert_int_equal(hits[i].tokens, tok);
                    for (int t = 0; t < CC_PC_MAX_TIERS; t++) {
                        assert_int_equal(hits[i].tier_blocks[t], t == k);
                        assert_int_equal(hits[i].tier_tokens[t], t == k ? tok : 0);
                    }
                }
            }
            cc_replay_result res;
            assert_int_equal(cc_replay_stream_end(rs, "keys", &res, &e), CC_OK);
            const cc_pc_stats *st = cc_pc_get_stats(twin);
            assert_int_equal(res.hit_blocks, st->tier[0].hit_blocks + st->tier[1].hit_blocks);
            assert_int_equal(res.requests, N);
            cc_replay_result_free(&res);
            cc_pc_destroy(twin);
        }
    gsl_rng_free(r);
}

/* cc_fp_add_repeated against the additions one by one, bit for bit:
 * random sums and values over many binades, values that tie on the sum's
 * grid (v = k u + u/2), values below half an ulp, values above the sum,
 * zeros, and counts long enough to cross many binades. */
static double loop_add(double s, double v, uint64_t c)
{
    volatile double x = s; /* (no reassociation) */
    for (uint64_t j = 0; j < c; j++)
        x = x + v;
    return x;
}

static void test_add_repeated(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 17);
    for (int t = 0; t < 20000; t++) {
        double s = 0, v;
        int kind = t % 6;
        if (t % 7)
            s = ldexp(gsl_rng_uniform(r) + 0.5, (int)gsl_rng_uniform_int(r, 80) - 40);
        if (kind == 0) { /* a tie on s's grid */
            int x;
            frexp(s ? s : 1.0, &x);
            double u = ldexp(1.0, x - 53);
            v = u * (double)gsl_rng_uniform_int(r, 1000) + u / 2;
        } else if (kind == 1) { /* below half an ulp, or exactly half */
            v = s * ldexp(1.0, -54 - (int)gsl_rng_uniform_int(r, 3));
        } else if (kind == 2) {
            v = 0;
        } else if (kind == 3) { /* seconds from nanoseconds, as the simulator counts them */
            v = (double)gsl_rng_uniform_int(r, 2000000000) * 1e-9;
        } else {
            v = ldexp(gsl_rng_uniform(r) + 0.5, (int)gsl_rng_uniform_int(r, 80) - 40);
        }
        uint64_t c = t % 50 == 0 ? 200000 + gsl_rng_uniform_int(r, 300000)
                                 : gsl_rng_uniform_int(r, 3000);
        double a = cc_fp_add_repeated(s, v, c), b = loop_add(s, v, c);
        if (memcmp(&a, &b, sizeof a) != 0)
            fail_msg("s %a v %a c %llu: %a, one by one %a", s, v, (unsigned long long)c, a, b);
    }
    /* NaN, infinity and negative values take the loop */
    double nan = cc_fp_add_repeated(1.0, NAN, 3);
    assert_true(isnan(nan));
    assert_true(cc_fp_add_repeated(-1.5, 0.25, 4) == -0.5);
    assert_true(isinf(cc_fp_add_repeated(0x1p1023, 0x1p1023, 2)));
    gsl_rng_free(r);
}

/* The command: streamed by default, whole with --trace-stats; the JSON is
 * the same but for the ideal ratios (null when streamed) and timings. */
static void test_cli_streamed(void **state)
{
    (void)state;
    char path[512], cmd[1200];
    oracle_file(path, sizeof path, 5000);
    const char *modes[] = {"--mode independent --policy sieve",
                           "--mode prefix --concurrency none --policy arc --backend rates",
                           "--mode independent --backend rates --policy s3fifo"};
    for (size_t m = 0; m < 3; m++) {
        char *out[2];
        json_t *o[2];
        for (int whole = 0; whole < 2; whole++) {
            snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 100 %s --json%s", tu_bin(),
                     path, modes[m], whole ? " --trace-stats" : "");
            assert_int_equal(tu_run(cmd, &out[whole]), 0);
            json_error_t je;
            o[whole] = json_loads(out[whole], 0, &je);
            if (!o[whole])
                fail_msg("not JSON: %s\n%s", je.text, out[whole]);
        }
        assert_true(json_is_null(json_object_get(o[0], "ideal_block_hit_ratio")));
        assert_true(json_is_real(json_object_get(o[1], "ideal_block_hit_ratio")));
        const char *skip[] = {"ideal_block_hit_ratio", "ideal_token_hit_ratio", "elapsed_s",
                              "block_lookups_per_s"};
        for (size_t k = 0; k < sizeof skip / sizeof skip[0]; k++) {
            json_object_del(o[0], skip[k]);
            json_object_del(o[1], skip[k]);
        }
        assert_int_equal(json_integer_value(json_object_get(o[0], "block_size")), 3);
        if (!json_equal(o[0], o[1]))
            fail_msg("streamed and whole runs differ (%s):\n%s\n%s", modes[m], out[0], out[1]);
        for (int k = 0; k < 2; k++) {
            json_decref(o[k]);
            free(out[k]);
        }
    }
    /* the same file as ctxcache HDF5 (trace convert): streamed and whole
     * runs name the trace alike (the file it was converted from and its
     * format, as the whole read does), every figure the same */
    {
        char h5[600];
        snprintf(h5, sizeof h5, "%s.h5", path);
        snprintf(cmd, sizeof cmd, "%s trace convert %s %s", tu_bin(), path, h5);
        char *cv;
        assert_int_equal(tu_run(cmd, &cv), 0);
        free(cv);
        char *out[2];
        json_t *o[2];
        for (int whole = 0; whole < 2; whole++) {
            snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 100 --mode independent "
                     "--policy lru --json%s", tu_bin(), h5, whole ? " --trace-stats" : "");
            assert_int_equal(tu_run(cmd, &out[whole]), 0);
            json_error_t je;
            o[whole] = json_loads(out[whole], 0, &je);
            if (!o[whole])
                fail_msg("not JSON: %s\n%s", je.text, out[whole]);
        }
        assert_string_equal(json_string_value(json_object_get(o[0], "format")), "lcs-oracle");
        const char *skip[] = {"ideal_block_hit_ratio", "ideal_token_hit_ratio", "elapsed_s",
                              "block_lookups_per_s"};
        for (size_t k = 0; k < sizeof skip / sizeof skip[0]; k++) {
            json_object_del(o[0], skip[k]);
            json_object_del(o[1], skip[k]);
        }
        if (!json_equal(o[0], o[1]))
            fail_msg("streamed and whole runs of the HDF5 file differ:\n%s\n%s", out[0], out[1]);
        for (int k = 0; k < 2; k++) {
            json_decref(o[k]);
            free(out[k]);
        }
        remove(h5);
    }
    /* a timed prefix-mode run of a libCacheSim file is read whole: its HBM
     * tier is fitted in the GPU by the block size, known only then */
    {
        char *pj;
        snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 100 --mode prefix "
                 "--concurrency none --policy arc --json", tu_bin(), path);
        assert_int_equal(tu_run(cmd, &pj), 0);
        json_error_t je;
        json_t *po = json_loads(pj, 0, &je);
        assert_non_null(po);
        assert_true(json_is_real(json_object_get(po, "ideal_block_hit_ratio")));
        json_decref(po);
        free(pj);
    }
    /* text: says the ideal ratios were not computed */
    char *txt;
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 100 --mode independent", tu_bin(),
             path);
    assert_int_equal(tu_run(cmd, &txt), 0);
    assert_non_null(strstr(txt, "not computed: the trace was streamed"));
    free(txt);
    /* a bad record ends the run with exit 1, nothing on stdout but the error */
    unsigned char b[48];
    rec(b, 3, 1, 1, -1);
    rec(b + 24, 2, 2, 1, -1);
    char bad[512];
    tu_write_tmp(bad, sizeof bad, "back.oracleGeneral", b, sizeof b);
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 10 --mode independent --json",
             tu_bin(), bad);
    assert_int_equal(tu_run(cmd, &txt), 1);
    assert_non_null(strstr(txt, "timestamp"));
    free(txt);
    remove(bad);
    remove(path);
}

/* ---- issue 17: mrc, Mooncake JSONL and sweep streamed ---------------------- */

static void mrc_equal(const cc_mrc *a, const cc_mrc *b)
{
    assert_int_equal(a->accesses, b->accesses);
    assert_int_equal(a->tokens, b->tokens);
    assert_int_equal(a->sampled_accesses, b->sampled_accesses);
    assert_int_equal(a->sampled_blocks, b->sampled_blocks);
    assert_true(a->final_rate == b->final_rate);
    assert_true(a->distinct_estimate == b->distinct_estimate);
    assert_int_equal(a->inconsistent_accesses, b->inconsistent_accesses);
    assert_int_equal(a->n_bins, b->n_bins);
    assert_memory_equal(a->hits, b->hits, a->n_bins * sizeof *a->hits);
    assert_memory_equal(a->hit_tokens, b->hit_tokens, a->n_bins * sizeof *a->hit_tokens);
    assert_true(a->total == b->total);
    assert_true(a->total_tokens == b->total_tokens);
}

static void mrc_streamed(const cc_trace *t, size_t window, const cc_mrc_opts *o, cc_mrc *out)
{
    cc_trace_stream *ts;
    cc_err e = {0};
    assert_int_equal(cc_trace_stream_of(t, window, &ts, &e), CC_OK);
    cc_mrc_stream *ms;
    assert_int_equal(cc_mrc_stream_begin(o, cc_trace_stream_accesses(ts), &ms, &e), CC_OK);
    for (;;) {
        const cc_trace *w;
        assert_int_equal(cc_trace_stream_next(ts, &w, &e), CC_OK);
        if (w->n == 0)
            break;
        assert_int_equal(cc_mrc_stream_feed(ms, w, &e), CC_OK);
    }
    assert_int_equal(cc_mrc_stream_end(ms, t->source, out, &e), CC_OK);
    cc_trace_stream_close(ts);
}

/* The curve fed in windows equals the whole-trace curve (cc_mrc_trace, checked
 * against a brute-force LRU and cc_replay in test_mrc) bit for bit: exact and
 * SHARDS (fixed rate, fixed size), both modes, windows of 1, 7 and 8192
 * requests; a trace whose blocks change predecessors (inconsistent accesses
 * counted across windows). */
static void test_mrc_stream_equal(void **state)
{
    (void)state;
    cc_trace t[2];
    random_trace(&t[0], 3000, 16, 11);
    random_trace(&t[1], 2000, 8, 12);
    /* t[1]: swap the first two blocks of every third request (a block
     * follows another than where it was first seen) */
    for (size_t i = 0; i < t[1].n; i += 3) {
        uint64_t a = t[1].block_off[i];
        if (t[1].block_off[i + 1] - a >= 2) {
            uint64_t x = t[1].blocks[a];
            t[1].blocks[a] = t[1].blocks[a + 1];
            t[1].blocks[a + 1] = x;
        }
    }
    cc_mrc_opts opts[] = {
        {.mode = CC_PC_PREFIX, .method = CC_MRC_EXACT},
        {.mode = CC_PC_INDEPENDENT, .method = CC_MRC_EXACT},
        {.mode = CC_PC_PREFIX, .method = CC_MRC_SHARDS, .sample_rate = 0.3, .seed = 5},
        {.mode = CC_PC_INDEPENDENT, .method = CC_MRC_SHARDS, .sample_rate = 0.2, .seed = 3},
        {.mode = CC_PC_INDEPENDENT, .method = CC_MRC_SHARDS, .max_samples = 40, .seed = 2},
        {.mode = CC_PC_PREFIX, .method = CC_MRC_SHARDS, .max_samples = 25, .seed = 7,
         .no_adjust = true},
    };
    size_t windows[] = {1, 7, 8192};
    uint64_t inconsistent = 0;
    for (int k = 0; k < 2; k++)
        for (size_t a = 0; a < sizeof opts / sizeof opts[0]; a++) {
            cc_mrc whole;
            cc_err e = {0};
            assert_int_equal(cc_mrc_trace(&t[k], &opts[a], &whole, &e), CC_OK);
            if (k == 1 && a == 0)
                inconsistent = whole.inconsistent_accesses;
            for (size_t w = 0; w < 3; w++) {
                cc_mrc m;
                mrc_streamed(&t[k], windows[w], &opts[a], &m);
                mrc_equal(&whole, &m);
                cc_mrc_free(&m);
            }
            cc_mrc_free(&whole);
        }
    assert_true(inconsistent > 0);
    /* SHARDS without the accesses ahead is refused; fewer than announced is
     * an error at the end */
    cc_mrc_stream *ms;
    cc_err e = {0};
    assert_int_equal(cc_mrc_stream_begin(&opts[2], UINT64_MAX, &ms, &e), CC_EARG);
    assert_int_equal(cc_mrc_stream_begin(&opts[0], 5, &ms, &e), CC_OK);
    cc_mrc m;
    assert_int_equal(cc_mrc_stream_end(ms, "x", &m, &e), CC_EFORMAT);
    cc_trace_free(&t[0]);
    cc_trace_free(&t[1]);
}

/* random_trace made prefix-consistent (each block hash names its whole
 * chain), as a Mooncake file must be. */
static void chained_trace(cc_trace *t, size_t n, uint32_t bs, uint64_t seed)
{
    random_trace(t, n, bs, seed);
    for (size_t i = 0; i < t->n; i++) {
        uint64_t prev = 0;
        for (uint64_t k = t->block_off[i]; k < t->block_off[i + 1]; k++) {
            uint64_t two[2] = {prev, t->blocks[k]};
            t->blocks[k] = prev = cc_hash_bytes(two, sizeof two, 0);
        }
    }
}

/* A JSONL file read in windows: the same requests as the whole reader
 * (cc_trace_read), and the same streamed replay as the whole one. */
static void jsonl_check(const char *path, size_t window)
{
    cc_trace t;
    cc_err e = {0};
    if (cc_trace_read(path, NULL, NULL, &t, &e) != CC_OK)
        fail_msg("%s:%ld %s: %s", e.file, e.line, e.field, e.msg);
    cc_trace_stream *ts;
    assert_int_equal(cc_trace_stream_open(path, NULL, NULL, window, &ts, &e), CC_OK);
    assert_string_equal(cc_trace_stream_format(ts), "mooncake");
    assert_int_equal(cc_trace_stream_block_size(ts), t.block_size);
    assert_int_equal(cc_trace_stream_accesses(ts), UINT64_MAX);
    size_t at = 0;
    for (;;) {
        const cc_trace *w;
        assert_int_equal(cc_trace_stream_next(ts, &w, &e), CC_OK);
        if (w->n == 0)
            break;
        assert_true(w->n <= window);
        for (size_t i = 0; i < w->n; i++, at++) {
            assert_true(at < t.n);
            assert_int_equal(w->arrival_ns[i], t.arrival_ns[at]);
            assert_int_equal(w->input_tokens[i], t.input_tokens[at]);
            assert_int_equal(w->output_tokens[i], t.output_tokens[at]);
            uint64_t nb = w->block_off[i + 1] - w->block_off[i];
            assert_int_equal(nb, t.block_off[at + 1] - t.block_off[at]);
            assert_memory_equal(w->blocks + w->block_off[i], t.blocks + t.block_off[at],
                                nb * sizeof *t.blocks);
        }
    }
    assert_int_equal(at, t.n);
    assert_int_equal(cc_trace_stream_requests(ts), t.n);
    cc_trace_stream_close(ts);
    cc_pc_config cfg = config(CC_PC_PREFIX, "lru", 300, 0);
    cc_replay_opts ro = {.concurrency = CC_CONCURRENCY_NONE};
    cc_replay_result a, b;
    assert_int_equal(cc_sim_replay(&t, &cfg, &ro, &a, &e), CC_OK);
    assert_int_equal(cc_trace_stream_open(path, NULL, NULL, window, &ts, &e), CC_OK);
    assert_int_equal(cc_sim_replay_stream(ts, &cfg, &ro, &b, &e), CC_OK);
    cache_equal(&a, &b);
    cc_trace_stream_close(ts);
    cc_replay_result_free(&a);
    cc_replay_result_free(&b);
    cc_trace_free(&t);
}

static void test_jsonl_stream_equal(void **state)
{
    (void)state;
    /* written by hand: spaces, an extra member, an empty list, members in
     * another order (the fast path's shapes) and a line only jansson reads
     * (a string member) */
    const char *text =
        "{\"timestamp\": 0, \"input_length\": 1000, \"output_length\": 5, \"hash_ids\": [1, 2]}\n"
        "{\"hash_ids\":[1,2,3],\"timestamp\":10,\"input_length\":1025,\"output_length\":0}\n"
        "{ \"timestamp\" : 10 , \"input_length\" : 0 , \"output_length\" : 7 , \"hash_ids\" : [ ] }\n"
        "{\"timestamp\": 20, \"input_length\": 512, \"output_length\": 1, \"hash_ids\": [1], "
        "\"x\": [4, 5]}\n"
        "{\"timestamp\": 30, \"input_length\": 600, \"output_length\": 1, \"hash_ids\": [7, 8], "
        "\"note\": \"jansson\"}\n"
        "{\"timestamp\": 31, \"input_length\": 1536, \"output_length\": 2, \"hash_ids\": [1, 2, 3]}\r\n"
        "\n";
    char path[512];
    tu_write_tmp(path, sizeof path, "hand.jsonl", text, strlen(text));
    jsonl_check(path, 1);
    jsonl_check(path, 4);
    remove(path);
    /* a random trace written as Mooncake JSONL */
    cc_trace r;
    chained_trace(&r, 5000, 512, 21);
    cc_err e = {0};
    tu_tmp_path(path, sizeof path, "random.jsonl");
    assert_int_equal(cc_write_mooncake(&r, path, &e), CC_OK);
    jsonl_check(path, 3);
    jsonl_check(path, 8192);
    remove(path);
    cc_trace_free(&r);
    char real[1024];
    if (access(tu_data_path(real, sizeof real, "mooncake/conversation_trace.jsonl"), R_OK) == 0)
        jsonl_check(real, 1000);
}

/* Bad JSONL read in windows: the whole reader's error (code, line, field,
 * message), whichever window it lands in. */
static void test_jsonl_stream_errors(void **state)
{
    (void)state;
    const char *good = "{\"timestamp\": 5, \"input_length\": 10, \"output_length\": 1, "
                       "\"hash_ids\": [1]}\n";
    const char *bad[] = {
        "{\"timestamp\": 4, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [1]}\n",
        "{\"timestamp\": 6, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [1, 2]}\n",
        "{\"timestamp\": 6, \"input_length\": 600, \"output_length\": 1, \"hash_ids\": [2, 1]}\n",
        "{\"timestamp\": 6, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [1]\n",
        "{\"timestamp\": 6, \"timestamp\": 7, \"input_length\": 10, \"output_length\": 1, "
        "\"hash_ids\": [1]}\n",
        "{\"timestamp\": 6, \"input_length\": -1, \"output_length\": 1, \"hash_ids\": []}\n",
        "{\"timestamp\": 6, \"input_length\": 10, \"output_length\": 1.0, \"hash_ids\": [1]}\n",
        "{\"timestamp\": 6, \"input_length\": 10, \"hash_ids\": [1]}\n",
        "{\"timestamp\": 06, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [1]}\n",
        "{\"timestamp\": 6, \"input_length\": 10, \"output_length\": 99999999999, "
        "\"hash_ids\": [1]}\n",
        "\n{\"timestamp\": 6, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [1]}\n",
        "[1, 2]\n",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char text[2048] = "";
        for (int i = 0; i < 5; i++)
            strcat(text, good);
        strcat(text, bad[k]);
        strcat(text, good);
        char path[512];
        tu_write_tmp(path, sizeof path, "bad.jsonl", text, strlen(text));
        cc_trace t;
        cc_err we = {0}, se = {0};
        int wrc = cc_trace_read(path, NULL, NULL, &t, &we);
        assert_int_not_equal(wrc, CC_OK);
        cc_trace_stream *ts;
        assert_int_equal(cc_trace_stream_open(path, NULL, NULL, 2, &ts, &se), CC_OK);
        int src;
        for (;;) {
            const cc_trace *w;
            if ((src = cc_trace_stream_next(ts, &w, &se)) != CC_OK || w->n == 0)
                break;
        }
        cc_trace_stream_close(ts);
        if (src != wrc || se.line != we.line || strcmp(se.field, we.field) ||
            strcmp(se.msg, we.msg) || strcmp(se.file, we.file))
            fail_msg("case %zu: whole %d %s:%ld %s: %s; streamed %d %s:%ld %s: %s", k, wrc,
                     we.file, we.line, we.field, we.msg, src, se.file, se.line, se.field, se.msg);
        assert_true(we.line >= 6);
        remove(path);
    }
}

/* ctxcache mrc and sweep on streamed files: the same output as the whole
 * read (forced by --block-size 512 for mrc; for sweep, the API's rows
 * against rows from traces held whole); a bad record: exit 1, the error
 * naming the file and line, no curve, no sweep file. */
static void test_cli_mrc_sweep_streamed(void **state)
{
    (void)state;
    cc_trace r;
    chained_trace(&r, 4000, 512, 31);
    cc_err e = {0};
    char path[512], cmd[2400];
    tu_tmp_path(path, sizeof path, "cli.jsonl");
    assert_int_equal(cc_write_mooncake(&r, path, &e), CC_OK);
    cc_trace_free(&r);
    const char *methods[] = {"", "--mode independent", "--sizes 5,50,500 --method exact"};
    for (size_t m = 0; m < 3; m++) {
        char *out[2];
        json_t *o[2];
        for (int whole = 0; whole < 2; whole++) {
            snprintf(cmd, sizeof cmd, "%s mrc %s %s --json%s", tu_bin(), path, methods[m],
                     whole ? " --block-size 512" : "");
            if (tu_run(cmd, &out[whole]) != 0)
                fail_msg("%s: %s", cmd, out[whole]);
            json_error_t je;
            o[whole] = json_loads(out[whole], 0, &je);
            if (!o[whole])
                fail_msg("not JSON: %s\n%s", je.text, out[whole]);
            json_object_del(o[whole], "elapsed_s");
        }
        if (!json_equal(o[0], o[1]))
            fail_msg("streamed and whole curves differ (%s):\n%s\n%s", methods[m], out[0], out[1]);
        for (int k = 0; k < 2; k++) {
            json_decref(o[k]);
            free(out[k]);
        }
    }
    /* sweep: rows of the streamed load against rows of the traces held whole */
    char oracle[512];
    oracle_file(oracle, sizeof oracle, 3000);
    char spec_text[2048];
    snprintf(spec_text, sizeof spec_text,
             "trace = %s, %s\npolicy = lru, s3fifo, fifo, ttl\ncapacity_blocks = 10, 200\n"
             "ttl_s = none, 5\nmode = %%s\nthreads = 2\n", path, oracle);
    for (int mode = 0; mode < 2; mode++) {
        char text[2100];
        snprintf(text, sizeof text, spec_text, mode ? "independent" : "prefix");
        cc_sweep_spec spec;
        assert_int_equal(cc_sweep_spec_parse_string(text, "t.spec", &spec, &e), CC_OK);
        cc_sweep_data d, w;
        assert_int_equal(cc_sweep_load(&spec, &d, &e), CC_OK);
        assert_true(d.streamed[0] && d.streamed[1]);
        assert_int_equal(d.traces[0].block_size, 512);
        assert_int_equal(d.traces[1].block_size, 3); /* the largest object size */
        assert_int_equal(cc_sweep_load(&spec, &w, &e), CC_OK);
        for (size_t k = 0; k < 2; k++) { /* the same traces held whole */
            cc_trace_free(&w.traces[k]);
            assert_int_equal(cc_trace_read(k ? oracle : path, NULL, NULL, &w.traces[k], &e), CC_OK);
            w.streamed[k] = 0;
        }
        uint64_t np = cc_sweep_n_points(&spec);
        size_t nm = cc_sweep_n_metrics();
        double *a = calloc(np * nm, sizeof *a), *b = calloc(np * nm, sizeof *b);
        assert_int_equal(cc_sweep_run(&spec, &d, 0, 1, 2, false, a, &e), CC_OK);
        assert_int_equal(cc_sweep_run(&spec, &w, 0, 1, 1, false, b, &e), CC_OK);
        assert_memory_equal(a, b, np * nm * sizeof *a);
        free(a);
        free(b);
        cc_sweep_data_free(&d);
        cc_sweep_data_free(&w);
        cc_sweep_spec_free(&spec);
    }
    /* a point that needs the trace whole (pricing) keeps it whole */
    {
        char text[2100];
        snprintf(text, sizeof text, "trace = %s\npolicy = lru\ncapacity_blocks = 10\n"
                 "pricing = none, moonshot-2024\n", path);
        cc_sweep_spec spec;
        cc_sweep_data d;
        assert_int_equal(cc_sweep_spec_parse_string(text, "t.spec", &spec, &e), CC_OK);
        assert_int_equal(cc_sweep_load(&spec, &d, &e), CC_OK);
        assert_false(d.streamed[0]);
        assert_true(d.traces[0].n > 0);
        cc_sweep_data_free(&d);
        cc_sweep_spec_free(&spec);
    }
    /* bad input: the error names the file and the line; nothing else */
    const char *badtext =
        "{\"timestamp\": 5, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [1]}\n"
        "{\"timestamp\": 5, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [1]}\n"
        "{\"timestamp\": 4, \"input_length\": 10, \"output_length\": 1, \"hash_ids\": [1]}\n";
    char bad[512], spec_path[512], out_h5[512], *txt;
    tu_write_tmp(bad, sizeof bad, "bad3.jsonl", badtext, strlen(badtext));
    snprintf(cmd, sizeof cmd, "%s mrc %s --json", tu_bin(), bad);
    assert_int_equal(tu_run(cmd, &txt), 1);
    assert_non_null(strstr(txt, bad));
    assert_non_null(strstr(txt, ":3"));
    assert_non_null(strstr(txt, "timestamp"));
    assert_null(strstr(txt, "\"points\""));
    free(txt);
    snprintf(spec_text, sizeof spec_text, "trace = %s\npolicy = lru\ncapacity_blocks = 10\n", bad);
    tu_write_tmp(spec_path, sizeof spec_path, "bad.spec", spec_text, strlen(spec_text));
    tu_tmp_path(out_h5, sizeof out_h5, "bad_sweep.h5");
    remove(out_h5);
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s --quiet --json", tu_bin(), spec_path, out_h5);
    assert_int_equal(tu_run(cmd, &txt), 1);
    assert_non_null(strstr(txt, ":3"));
    assert_non_null(strstr(txt, "timestamp"));
    assert_null(strstr(txt, "\"points\""));
    free(txt);
    assert_int_not_equal(access(out_h5, F_OK), 0);
    remove(bad);
    remove(spec_path);
    remove(path);
    remove(oracle);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_equal_random),
        cmocka_unit_test(test_sim_equal_steps),
        cmocka_unit_test(test_rates_equal),
        cmocka_unit_test(test_oracle_file_equal),
        cmocka_unit_test(test_h5_file_equal),
        cmocka_unit_test(test_h5_layouts_equal),
        cmocka_unit_test(test_h5_corrupt_chunk),
        cmocka_unit_test(test_oracle_truncated),
        cmocka_unit_test(test_oracle_time_back),
        cmocka_unit_test(test_oracle_size_zero),
        cmocka_unit_test(test_oracle_next_access),
        cmocka_unit_test(test_not_streamed),
        cmocka_unit_test(test_dist_counts),
        cmocka_unit_test(test_feed_singles_hits),
        cmocka_unit_test(test_add_repeated),
        cmocka_unit_test(test_cli_streamed),
        cmocka_unit_test(test_mrc_stream_equal),
        cmocka_unit_test(test_jsonl_stream_equal),
        cmocka_unit_test(test_jsonl_stream_errors),
        cmocka_unit_test(test_cli_mrc_sweep_streamed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
