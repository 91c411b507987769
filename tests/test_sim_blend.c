/* test_sim_blend.c -- blend in the simulator's driver (cc_sim_config.blend,
 * docs/blend.md "In the simulator") on a hand-made RAG trace whose answers
 * are worked out by hand below, plus the command's blend options.
 *
 * The trace (blocks of 4 tokens, 1 output token each, 100 s apart so that
 * nothing overlaps):
 *   r0: S(4: 1..4)  P1(8: 10..17)  P2(8: 20..27)  Q0(4: 90..93)   24 tokens
 *   r1: S(4: 1..4)  P2(8: 20..27)  P1(8: 10..17)  Q1(4: 95..98)   24 tokens
 * r0 hits nothing; its chunks are stored when its prefill ends.  r1's
 * prefix hit is S (4 tokens: its first block equals r0's); its chunks
 * after the prefix are P2 and P1 (both stored by r0: 16 tokens blended) and
 * Q1 (new).  With R = 0.25, 4 of the 16 are recomputed, so r1's prefill
 * computes 24 - 4 - 16 + 4 = 8 tokens after 16 present ones.
 * blend_token_hit_ratio = 16 / 48 = 1/3.
 */
#include "testutil.h"
#include "analysis/results.h"
#include "core/replay.h"
#include "sim/driver.h"

#include <hdf5.h>
#include <jansson.h>
#include <math.h>

/* |a - b| <= eps in double precision (cmocka's float assertion rounds) */
#define assert_double_equal(a, b, eps)                                                    \
    do {                                                                                  \
        double a_ = (a), b_ = (b);                                                        \
        if (!(fabs(a_ - b_) <= (eps)))                                                    \
            fail_msg("%s = %.12g, expected %.12g", #a, a_, b_);                           \
    } while (0)

#define MS 1000000LL

static void add(cc_trace *t, int64_t at_s, const uint32_t *tok, const cc_chunk *ch)
{
    uint64_t blocks[16];
    cc_request r = {0};
    r.arrival_ns = at_s * 1000 * MS;
    r.input_tokens = 24;
    r.output_tokens = 1;
    r.group_id = CC_NO_GROUP;
    r.n_blocks = (uint32_t)cc_block_chain(0, tok, 24, t->block_size, blocks);
    r.blocks = blocks;
    r.n_token_ids = 24;
    r.token_ids = tok;
    r.n_chunks = 4;
    r.chunks = ch;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void rag_trace(cc_trace *t)
{
    static const uint32_t t0[] = {1,  2,  3,  4,  10, 11, 12, 13, 14, 15, 16, 17,
                                  20, 21, 22, 23, 24, 25, 26, 27, 90, 91, 92, 93};
    static const uint32_t t1[] = {1,  2,  3,  4,  20, 21, 22, 23, 24, 25, 26, 27,
                                  10, 11, 12, 13, 14, 15, 16, 17, 95, 96, 97, 98};
    /* {text_off, text_len, kind, token_start, token_len, chunk_hash} */
    static const cc_chunk c0[] = {{0, 0, 0, 0, 4, 0x51}, {0, 0, 0, 4, 8, 0x71},
                                  {0, 0, 0, 12, 8, 0x72}, {0, 0, 0, 20, 4, 0x90}};
    static const cc_chunk c1[] = {{0, 0, 0, 0, 4, 0x51}, {0, 0, 0, 4, 8, 0x72},
                                  {0, 0, 0, 12, 8, 0x71}, {0, 0, 0, 20, 4, 0x95}};
    cc_trace_init(t);
    t->block_size = 4;
    t->timed = true;
    add(t, 0, t0, c0);
    add(t, 100, t1, c1);
}

static cc_pc_config tiers(uint64_t cap0, uint64_t cap1)
{
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.mode = CC_PC_PREFIX;
    c.kv_bytes_per_block = 100;
    c.n_tiers = cap1 ? 2 : 1;
    strcpy(c.tiers[0].name, "hbm");
    c.tiers[0].capacity_blocks = cap0;
    c.tiers[0].policy = cc_policy_find("lru");
    if (cap1) {
        strcpy(c.tiers[1].name, "dram");
        c.tiers[1].capacity_blocks = cap1;
        c.tiers[1].policy = cc_policy_find("lru");
    }
    return c;
}

/* A tiny model and device with round numbers, so that the cost model's
 * formula (sim/costmodel.c) is evaluated by hand in test_costmodel_time. */
static void tiny(cc_sim_hw *hw, cc_sim_model *m)
{
    memset(hw, 0, sizeof *hw);
    strcpy(hw->name, "tiny");
    hw->peak_flop_per_s[CC_SIM_FP32] = 1e6; /* (the profile check wants one) */
    hw->peak_flop_per_s[CC_SIM_FP16] = 1e6;
    hw->hbm_bytes = 1e12;
    hw->hbm_bytes_per_s = 1e6;
    hw->pcie_bytes_per_s = 1e6;
    hw->dram_bytes = 1e12;
    hw->dram_bytes_per_s = 1e6;
    hw->eff_link = 1;
    hw->coeffs = (cc_sim_coeffs){1, 1, 1, 1e-3, 0};
    memset(m, 0, sizeof *m);
    strcpy(m->name, "tiny");
    m->n_layers = 2, m->hidden = 8, m->n_heads = 2, m->n_kv_heads = 2, m->head_dim = 4;
    m->ffn = 16, m->vocab = 32, m->dtype = CC_SIM_FP16, m->kv_dtype = CC_SIM_FP16;
    m->rope_theta = 10000, m->norm_eps = 1e-5; /* (checked, unused by the cost) */
}

static void run(const cc_trace *t, const cc_pc_config *cfg, cc_sim_config *sc, cc_executor *ex,
                cc_sim_result *r)
{
    cc_replay_opts ro = {.keep_records = true};
    cc_err e = {0};
    int rc = cc_sim_run(t, cfg, &ro, sc, ex, 1, r, &e);
    if (rc != CC_OK)
        fail_msg("cc_sim_run: %s (%s)", e.msg, e.field);
}

/* r1's prefill: N = 8 new tokens after C = 16 present, one sequence, with
 * L = 2, h = 8, q = g = 8, f = 16, V = 32, b = b_kv = 2:
 *   P_layer = 8*8 + 2*8*8 + 8*8 + 3*8*16 = 640
 *   flops_linear = 2*2*640*8 + 2*8*32 = 20992
 *   flops_attn = 4*2*8*(8*16 + 8*9/2) = 10496
 *   bytes_weights = 2*(2*(640 + 16) + 8 + 32*8) = 3152
 *   bytes_kv = 2*2*8*2*(16 + 8) = 1536
 *   t_compute = 31488 / 1e6, t_memory = 4688 / 1e6 -> t = 0.031488 + 0.001
 * Without blend (prefix only) r1 computes 20 tokens after 4:
 *   flops_linear = 2*2*640*20 + 512 = 51712, flops_attn = 64*(80 + 210) = 18560
 *   t = 0.070272 + 0.001. */
static void test_costmodel_time(void **state)
{
    (void)state;
    cc_trace t;
    rag_trace(&t);
    cc_sim_hw hw;
    cc_sim_model m;
    tiny(&hw, &m);
    cc_executor ex;
    cc_err e = {0};
    if (cc_costmodel_create(&hw, &m, NULL, &ex, &e) != CC_OK)
        fail_msg("cc_costmodel_create: %s: %s", e.field, e.msg);
    cc_pc_config cfg = tiers(100, 0);
    for (int conc = 0; conc < 2; conc++) {
        cc_sim_config sc;
        cc_sim_config_default(&sc);
        sc.bootstrap = 20;
        sc.concurrency = conc ? CC_CONCURRENCY_IMMEDIATE : CC_CONCURRENCY_NONE;
        sc.blend = 1;
        sc.blend_recompute_ratio = 0.25;
        cc_sim_result r;
        run(&t, &cfg, &sc, &ex, &r);
        assert_int_equal(r.records[0].blend_tokens, 0);
        assert_int_equal(r.records[1].cached_tokens, 4);
        assert_int_equal(r.records[1].blend_tokens, 16);
        assert_int_equal(r.records[1].blend_recompute_tokens, 4);
        assert_int_equal(r.summary.blend_tokens, 16);
        assert_double_equal(r.summary.blend_token_hit_ratio, 16.0 / 48.0, 1e-12);
        assert_double_equal(r.records[1].prefill_s, 0.032488, 1e-9);
        int64_t ttft = r.records[1].first_token_ns - r.records[1].arrival_ns;
        assert_true(llabs(ttft - 32488000) <= 1);
        cc_sim_result_free(&r);
        /* blend off: the prefix-only figure */
        sc.blend = 0;
        run(&t, &cfg, &sc, &ex, &r);
        assert_int_equal(r.summary.blend_tokens, 0);
        assert_double_equal(r.records[1].prefill_s, 0.071272, 1e-9);
        cc_sim_result_free(&r);
        /* R = 1: every blended token recomputed, the prefix-only cost */
        sc.blend = 1;
        sc.blend_recompute_ratio = 1;
        run(&t, &cfg, &sc, &ex, &r);
        assert_int_equal(r.records[1].blend_tokens, 16);
        assert_int_equal(r.records[1].blend_recompute_tokens, 16);
        assert_double_equal(r.records[1].prefill_s, 0.071272, 1e-9);
        cc_sim_result_free(&r);
    }
    cc_executor_free(&ex);
    cc_trace_free(&t);
}

/* The results file (schema 1.3) records blend's outcome and the run
 * without blend beside it (read back by h5py): r1's 16 blended tokens, 4
 * recomputed, 1/3 of the input; without blend the prefix tier's token hit
 * ratio is r1's 4 cached tokens of 48. */
static void test_results_file(void **state)
{
    (void)state;
    cc_trace t;
    rag_trace(&t);
    strcpy(t.source, "hand");
    strcpy(t.source_format, "h5");
    cc_sim_hw hw;
    cc_sim_model m;
    tiny(&hw, &m);
    cc_executor ex;
    cc_err e = {0};
    if (cc_costmodel_create(&hw, &m, NULL, &ex, &e) != CC_OK)
        fail_msg("cc_costmodel_create: %s: %s", e.field, e.msg);
    cc_pc_config cfg = tiers(100, 0);
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.bootstrap = 20;
    sc.concurrency = CC_CONCURRENCY_IMMEDIATE;
    sc.blend_recompute_ratio = 0.25;
    cc_sim_result r, po;
    run(&t, &cfg, &sc, &ex, &po); /* blend off */
    sc.blend = 1;
    run(&t, &cfg, &sc, &ex, &r);
    cc_results_run rr = {.trace = &t, .cfg = &cfg, .res = &r.cache, .kv_bytes_per_token = 1,
                         .ideal_block_hit_ratio = NAN, .ideal_token_hit_ratio = NAN,
                         .sim = &r, .sim_config = &sc, .hardware = "tiny", .model = "tiny",
                         .prefix_only = &po};
    char path[512], cmd[2048], *out = NULL;
    tu_tmp_path(path, sizeof path, "blend_results.h5");
    if (cc_results_write_h5(path, &rr, &e) != CC_OK)
        fail_msg("write: %s (%s)", e.msg, e.field);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py\n"
             "f = h5py.File('%s', 'r')\n"
             "g = f['blend']; a = g.attrs\n"
             "assert list(g['blend_tokens'][:]) == [0, 16]\n"
             "assert list(g['recompute_tokens'][:]) == [0, 4]\n"
             "assert (a['blend_tokens'], a['recompute_tokens'], a['chunk_tokens']) == (16, 4, 0)\n"
             "assert a['recompute_ratio'] == 0.25\n"
             "assert abs(a['blend_token_hit_ratio'] - 1/3) < 1e-12\n"
             "assert abs(a['prefix_only_token_hit_ratio'] - 4/48) < 1e-12\n"
             "assert a['prefix_only_ttft_p50_s'] > 0 and a['prefix_only_gpu_busy_s'] > 0\n"
             "assert 'semantic' not in f and 'cost' not in f\n"
             "\"", path);
    int rc = tu_run(cmd, &out);
    if (rc != 0 && !strstr(out, "No module named"))
        fail_msg("h5py check failed:\n%s", out);
    free(out);
    remove(path);
    cc_sim_result_free(&r);
    cc_sim_result_free(&po);
    cc_executor_free(&ex);
    cc_trace_free(&t);
}

/* Loads from DRAM: HBM holds 3 blocks, DRAM 100 (LRU); 25 KV bytes per
 * token.  r0 stores its chunks' blocks in the order S, P1a, P1b, P2a, P2b,
 * Q0 (one block each per 4 tokens), so HBM keeps the last three (P2a, P2b,
 * Q0) and P1's two blocks are demoted to DRAM; the prefix cache keeps S
 * in HBM (a chain's leaves are demoted first).  r1 blends P2 (HBM) and P1
 * (DRAM): one load of 8 * 25 = 200 bytes from DRAM to HBM, serial with the
 * compute.  The cost model: DRAM <-> HBM goes at min(pcie 1e6, dram 1e6)
 * = 1e6 B/s, latency 0: 0.0002 s, plus the 0.032488 s of compute. */
static void test_dram_load(void **state)
{
    (void)state;
    cc_trace t;
    rag_trace(&t);
    cc_sim_hw hw;
    cc_sim_model m;
    tiny(&hw, &m);
    cc_executor ex;
    cc_err e = {0};
    if (cc_costmodel_create(&hw, &m, NULL, &ex, &e) != CC_OK)
        fail_msg("cc_costmodel_create: %s: %s", e.field, e.msg);
    cc_pc_config cfg = tiers(3, 100);
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.bootstrap = 20;
    sc.kv_bytes_per_token = 25;
    sc.blend = 1;
    sc.blend_recompute_ratio = 0.25;
    cc_sim_result r;
    run(&t, &cfg, &sc, &ex, &r);
    assert_int_equal(r.records[1].cached_tokens, 4);
    assert_int_equal(r.record_tier_tokens[1 * 2 + 0], 4); /* S from HBM */
    assert_int_equal(r.records[1].blend_tokens, 16);
    assert_double_equal(r.records[1].prefill_s, 0.032488 + 0.0002, 1e-9);
    cc_sim_result_free(&r);
    cc_executor_free(&ex);
    cc_trace_free(&t);
}

/* The blend cost model on real profiles (llama-3-8b on h100-sxm, the
 * profiles' numbers in sim/profiles/), worked out by hand.  Blocks of 16
 * tokens, one request at a time (concurrency none: chunk blocks in their
 * own cache with the same tiers, HBM 132 blocks, DRAM 10000, LRU):
 *   r0 (t = 0):     passage A (2048 tokens, 128 blocks), Q0 (64, 4 blocks)
 *   r1 (t = 50 s):  passage C (2048), Q1 (64): its 132 chunk blocks fill
 *                   HBM and push A's and Q0's down to DRAM
 *   r2 (t = 100 s): X (16 new tokens), A, Q2 (64 new): 2128 tokens, no
 *                   prefix hit (X differs), A blended from DRAM.
 * KV 131072 bytes a token (2 L g b_kv = 2*32*1024*2).  For r2:
 *   load:  2048 * 131072 = 268435456 bytes DRAM -> HBM at min(pcie 64e9,
 *          dram 76.8e9) * eff_link 0.8 = 51.2e9 B/s, latency pcie 10 us:
 *          10e-6 + 5.24288e-3 = 5.25288e-3 s (2.56 us a token), serial
 *   recompute: round(0.15 * 2048) = 307; N' = 2128 - 2048 + 307 = 387 new
 *          after C' = 1741 present.  P_layer = 4096*4096 + 2*4096*1024 +
 *          4096*4096 + 3*4096*14336 = 218103808;
 *          flops_linear = 2*32*218103808*387 + 2*4096*128256 = 5403045789696
 *          flops_attn = 4*32*4096*(387*1741 + 387*388/2) = 392610447360
 *          t_compute = 5403045789696/(989.5e12*0.7) + 392610447360/(989.5e12*0.5)
 *                    = 8.594096e-3 s
 *          t_memory = (15009849344 weights + 131072*2128 KV)/(3.35e12*0.8)
 *                   = 5.704765e-3 s  (compute-bound)
 *          + step 1e-3 + item 1e-5: 9.604096e-3 s
 *   TTFT with blend = 9.604096e-3 + 5.25288e-3 = 14.856976e-3 s.
 * Prefix only: 2128 new tokens, t_compute = 45.286580e-3 s, + 1.01e-3:
 * 46.296580e-3 s (21.3 us a token: recomputing A costs 8x loading it). */
static void real_req(cc_trace *t, int64_t at_s, const uint32_t *tok, uint32_t n,
                     const cc_chunk *ch, uint32_t nch)
{
    static uint64_t blocks[136];
    cc_request r = {0};
    r.arrival_ns = at_s * 1000 * MS;
    r.input_tokens = n;
    r.output_tokens = 1;
    r.group_id = CC_NO_GROUP;
    r.n_blocks = (uint32_t)cc_block_chain(0, tok, n, 16, blocks);
    r.blocks = blocks;
    r.n_token_ids = n;
    r.token_ids = tok;
    r.n_chunks = nch;
    r.chunks = ch;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void test_costmodel_real_profiles(void **state)
{
    (void)state;
    static uint32_t t0[2112], t1[2112], t2[2128];
    for (uint32_t i = 0; i < 2048; i++)
        t0[i] = t2[16 + i] = 1000 + i, t1[i] = 20000 + i;
    for (uint32_t i = 0; i < 64; i++)
        t0[2048 + i] = 5000 + i, t1[2048 + i] = 6000 + i, t2[2064 + i] = 7000 + i;
    for (uint32_t i = 0; i < 16; i++)
        t2[i] = 9000 + i;
    enum { PA = CC_CHUNK_PASSAGE, QU = CC_CHUNK_QUESTION };
    /* {text_off, text_len, kind, token_start, token_len, chunk_hash} */
    const cc_chunk c0[] = {{0, 0, PA, 0, 2048, 0xA}, {0, 0, QU, 2048, 64, 0xB}};
    const cc_chunk c1[] = {{0, 0, PA, 0, 2048, 0xC}, {0, 0, QU, 2048, 64, 0xD}};
    const cc_chunk c2[] = {{0, 0, CC_CHUNK_USER, 0, 16, 0xE}, {0, 0, PA, 16, 2048, 0xA},
                           {0, 0, QU, 2064, 64, 0xF}};
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 16;
    t.timed = true;
    real_req(&t, 0, t0, 2112, c0, 2);
    real_req(&t, 50, t1, 2112, c1, 2);
    real_req(&t, 100, t2, 2128, c2, 3);
    cc_sim_hw hw;
    cc_sim_model m;
    cc_err e = {0};
    if (cc_sim_hw_load("h100-sxm", &hw, &e) != CC_OK ||
        cc_sim_model_load("llama-3-8b", &m, &e) != CC_OK)
        fail_msg("profiles: %s: %s", e.field, e.msg);
    cc_executor ex;
    if (cc_costmodel_create(&hw, &m, NULL, &ex, &e) != CC_OK)
        fail_msg("cc_costmodel_create: %s: %s", e.field, e.msg);
    cc_pc_config cfg = tiers(132, 10000);
    cfg.kv_bytes_per_block = 16 * 131072;
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.bootstrap = 20;
    sc.concurrency = CC_CONCURRENCY_NONE;
    sc.kv_bytes_per_token = 131072;
    sc.blend = 1;
    cc_sim_result r;
    run(&t, &cfg, &sc, &ex, &r);
    assert_int_equal(r.records[2].cached_tokens, 0);
    assert_int_equal(r.records[2].blend_tokens, 2048);
    assert_int_equal(r.records[2].blend_recompute_tokens, 307);
    assert_double_equal(r.records[2].prefill_s, 9.604096e-3 + 5.25288e-3, 1e-8);
    int64_t ttft = r.records[2].first_token_ns - r.records[2].arrival_ns;
    assert_true(llabs(ttft - 14856976) <= 10);
    cc_sim_result_free(&r);
    sc.blend = 0;
    run(&t, &cfg, &sc, &ex, &r);
    assert_double_equal(r.records[2].prefill_s, 46.296580e-3, 1e-8);
    cc_sim_result_free(&r);
    cc_executor_free(&ex);
    cc_trace_free(&t);
}

/* Why blend can raise TTFT over a trace (the default workload with --tiers
 * hbm:2000,dram:10000 does): chunk blocks live in the prefix cache's tiers
 * (concurrency immediate) and hold a second copy of each prompt's chunks,
 * keyed by content, so under pressure they push prefix blocks out, and a
 * request that prefix caching served for free is blended at a cost.
 * Blocks of 4 tokens, one tier of 18 blocks (LRU), 1 output token each:
 *   r0 t=0    S P1 P2 Q0 (the hand trace's r0: 6 blocks; chunks 1+2+2+1)
 *   r1 t=50   U V: 24 other tokens, chunks of 12 and 12 (6 blocks; 3+3)
 *   r2 t=100  r0 again
 * Prefix only: 12 blocks in 18 slots, no eviction: r2 hits all 24 tokens.
 * Blend: r0 leaves 6 prefix + 6 chunk blocks (12 of 18); r1's 6 prefix
 * blocks need 6 slots: the 6 least recently used are r0's prefix blocks
 * (touched at its admission; its chunk blocks came at its prefill's end), so
 * 6 evictions; r1's chunk blocks then fill the 6 free slots.  r2 hits no
 * prefix and blends all four chunks of r0 (24 tokens, round(0.15 * 24) = 4
 * recomputed), so it computes 4 tokens where prefix caching computed 0
 * (its last token is recomputed either way for the logits); its own 6
 * prefix blocks then evict the 6 least recently used, r1's prefix blocks
 * (r0's chunk blocks were just read): 12 evictions in all. */
static void test_chunks_displace_prefix(void **state)
{
    (void)state;
    static const uint32_t t0[] = {1,  2,  3,  4,  10, 11, 12, 13, 14, 15, 16, 17,
                                  20, 21, 22, 23, 24, 25, 26, 27, 90, 91, 92, 93};
    static const cc_chunk c0[] = {{0, 0, 0, 0, 4, 0x51}, {0, 0, 0, 4, 8, 0x71},
                                  {0, 0, 0, 12, 8, 0x72}, {0, 0, 0, 20, 4, 0x90}};
    static const uint32_t t1[] = {30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41,
                                  50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61};
    static const cc_chunk c1[] = {{0, 0, 0, 0, 12, 0x30}, {0, 0, 0, 12, 12, 0x50}};
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    t.timed = true;
    add(&t, 0, t0, c0);
    uint64_t blocks[6];
    cc_request q = {0};
    q.arrival_ns = 50 * 1000 * MS;
    q.input_tokens = 24;
    q.output_tokens = 1;
    q.group_id = CC_NO_GROUP;
    q.n_blocks = (uint32_t)cc_block_chain(0, t1, 24, 4, blocks);
    q.blocks = blocks;
    q.n_token_ids = 24;
    q.token_ids = t1;
    q.n_chunks = 2;
    q.chunks = c1;
    assert_int_equal(cc_trace_append(&t, &q), CC_OK);
    add(&t, 100, t0, c0);
    cc_sim_hw hw;
    cc_sim_model m;
    tiny(&hw, &m);
    cc_executor ex;
    cc_err e = {0};
    if (cc_costmodel_create(&hw, &m, NULL, &ex, &e) != CC_OK)
        fail_msg("cc_costmodel_create: %s: %s", e.field, e.msg);
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.bootstrap = 20;
    sc.concurrency = CC_CONCURRENCY_IMMEDIATE;
    cc_pc_config cfg = tiers(18, 0);
    cc_sim_result r;
    run(&t, &cfg, &sc, &ex, &r);
    assert_int_equal(r.cache.evictions, 0);
    assert_int_equal(r.records[2].cached_tokens, 24);
    double prefix_only_s = r.records[2].prefill_s;
    cc_sim_result_free(&r);
    sc.blend = 1;
    run(&t, &cfg, &sc, &ex, &r);
    assert_int_equal(r.cache.evictions, 12);
    assert_int_equal(r.records[2].cached_tokens, 0);
    assert_int_equal(r.records[2].blend_tokens, 24);
    assert_int_equal(r.records[2].blend_recompute_tokens, 4);
    if (!(r.records[2].prefill_s > prefix_only_s))
        fail_msg("r2's prefill with blend %g s, expected more than prefix only %g s",
                 r.records[2].prefill_s, prefix_only_s);
    cc_sim_result_free(&r);
    /* unbounded (capacity 0 = inf): 12 distinct prefix blocks plus the blend
     * units' 18 blocks (6 + 6 + r2's 6) = 30 slots: nothing is evicted, and
     * r2 hits its whole prompt by prefix as without blend */
    cfg = tiers(0, 0);
    run(&t, &cfg, &sc, &ex, &r);
    assert_int_equal(r.cache.evictions, 0);
    assert_int_equal(r.cache.capacity_blocks[0], 30);
    assert_int_equal(r.records[2].cached_tokens, 24);
    assert_int_equal(r.records[2].blend_tokens, 0);
    cc_sim_result_free(&r);
    cc_executor_free(&ex);
    cc_trace_free(&t);
}

static void test_bad_config(void **state)
{
    (void)state;
    cc_sim_config sc;
    cc_err e = {0};
    cc_sim_config_default(&sc);
    assert_double_equal(sc.blend_recompute_ratio, 0.15, 0);
    sc.blend = 1;
    sc.blend_recompute_ratio = 1.5;
    assert_int_equal(cc_sim_config_validate(&sc, &e), CC_EARG);
    assert_string_equal(e.field, "recompute_ratio");
    sc.blend_recompute_ratio = -0.1;
    assert_int_equal(cc_sim_config_validate(&sc, &e), CC_EARG);
    sc.blend_recompute_ratio = 0.5;
    sc.scheduler = CC_SIM_SCHED_LANES;
    assert_int_equal(cc_sim_config_validate(&sc, &e), CC_EUNSUP);
    assert_string_equal(e.field, "blend");
}

static json_t *run_json(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    json_error_t je;
    json_t *j = json_loadf(f, 0, &je);
    int st = pclose(f);
    if (!j || st != 0)
        fail_msg("'%s': status %d, %s", cmd, st, j ? "" : je.text);
    return j;
}

/* Usage errors exit 2; the hand trace through the command. */
static void test_cli_usage(void **state)
{
    (void)state;
    const char *bad[] = {
        "--blend --recompute-ratio 1.5", "--blend --recompute-ratio -0.1",
        "--blend --recompute-ratio x", "--blend --blend-chunk-tokens 0",
        "--recompute-ratio 0.2", "--blend-chunk-tokens 16", "--blend --backend rates",
        "--blend --no-cache",
    };
    char path[512];
    tu_tmp_path(path, sizeof path, "blend.h5");
    cc_trace t;
    rag_trace(&t);
    cc_err e = {0};
    assert_int_equal(cc_trace_write(&t, path, "h5", &e), CC_OK);
    cc_trace_free(&t);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char fmt[700];
        snprintf(fmt, sizeof fmt, "%%s replay '%s' --capacity-blocks 100 %s >/dev/null 2>&1",
                 path, bad[i]);
        char cmd[1600];
        snprintf(cmd, sizeof cmd, fmt, tu_bin());
        int st = system(cmd);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 2)
            fail_msg("'%s': expected exit 2, got %d", bad[i], WEXITSTATUS(st));
    }
    char ok[1600];
    snprintf(ok, sizeof ok, "%s replay '%s' --capacity-blocks 100 --blend --json", tu_bin(),
             path);
    json_t *j = run_json(ok);
    assert_double_equal(json_real_value(json_object_get(j, "blend_token_hit_ratio")), 16.0 / 48,
                        1e-9);
    assert_non_null(json_object_get(j, "prefix_only"));
    json_decref(j);
}

/* MuSiQue (../shared/data): replays with --blend; the blended share is
 * positive and no larger than the share `trace stats --chunk-tokens 16`
 * finds reusable beyond the prefix (an independent upper bound: every
 * blended token lies in a passage seen before, beyond the prefix hit,
 * which with an unbounded cache and one request at a time is the ideal
 * prefix of whole 16-token blocks). */
static void test_musique(void **state)
{
    (void)state;
    const char *p = TU_DATA_OR_SKIP("rag/musique_s.json");
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --format rag --chunk-tokens 16 --json",
             tu_bin(), p);
    json_t *st = run_json(cmd);
    double bound = json_real_value(json_object_get(st, "nonprefix_reusable_token_ratio"));
    json_decref(st);
    snprintf(cmd, sizeof cmd,
             "%s replay '%s' --format rag --capacity-blocks inf --concurrency none --blend "
             "--json", tu_bin(), p);
    json_t *j = run_json(cmd);
    double b = json_real_value(json_object_get(j, "blend_token_hit_ratio"));
    json_t *po = json_object_get(j, "prefix_only");
    assert_non_null(po);
    double ttft_blend = json_real_value(json_object_get(j, "ttft_p50_s"));
    double ttft_prefix = json_real_value(json_object_get(po, "ttft_p50_s"));
    json_decref(j);
    if (!(b > 0 && b <= bound))
        fail_msg("blend_token_hit_ratio %g: expected in (0, %g]", b, bound);
    if (!(ttft_blend <= ttft_prefix))
        fail_msg("TTFT p50 with blend %g s > prefix only %g s", ttft_blend, ttft_prefix);
}

/* A request log (chatlog): r2 repeats r1's user message (a passage) after
 * another system prompt, so no prefix is shared and the passage is reused
 * at a new offset: blended, and no more than what `trace stats
 * --chunk-tokens 4` finds reusable beyond the prefix (the message is longer
 * than 4 tokens, so each of its tokens lies in a 4-token window seen in r1). */
static void test_chatlog(void **state)
{
    (void)state;
    static const char log[] =
        "{\"type\": \"request\", \"timestamp\": 0, \"body\": {\"model\": \"m\", \"messages\": [{\"role\": \"system\", \"content\": "
        "\"You are terse.\"}, {\"role\": \"user\", \"content\": \"Passage one is about caches, "
        "what they keep and for how long they keep it in memory.\"}]}}\n"
        "{\"type\": \"request\", \"timestamp\": 100, \"body\": {\"model\": \"m\", \"messages\": [{\"role\": \"system\", "
        "\"content\": \"Quite a different preamble for this one.\"}, {\"role\": \"user\", "
        "\"content\": \"Passage one is about caches, what they keep and for how long they keep it "
        "in memory.\"}]}}\n";
    char path[512], cmd[1400];
    tu_write_tmp(path, sizeof path, "blend_log.jsonl", log, sizeof log - 1);
    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --format chatlog --chunk-tokens 4 --json",
             tu_bin(), path);
    json_t *st = run_json(cmd);
    double bound = json_real_value(json_object_get(st, "nonprefix_reusable_token_ratio"));
    json_decref(st);
    snprintf(cmd, sizeof cmd,
             "%s replay '%s' --format chatlog --capacity-blocks inf --concurrency none --blend "
             "--recompute-ratio 0 --json", tu_bin(), path);
    json_t *j = run_json(cmd);
    double b = json_real_value(json_object_get(j, "blend_token_hit_ratio"));
    json_decref(j);
    unlink(path);
    if (!(b > 0 && b <= bound + 1e-12))
        fail_msg("blend_token_hit_ratio %g: expected in (0, %g]", b, bound);
}

/* Bills with blend through the command (docs/pricing.md "Bills with
 * blend"): the hand trace under a pricing file at $1 an input token, read
 * 0.5x, $1 an output token, TTL 300 s (so r0's chunks are live at 100 s).
 * Prefix only: r1 reads S (4 tokens); uncached 20 + 24 = 44; output 2:
 * 44 + 2 + 2 = 48.  With blend at the default R = 0.15: r1's P2 and P1 (16
 * tokens) are blended, round(2.4) = 2 recomputed (uncached), 14 read:
 * uncached 30, read 18: 30 + 9 + 2 = 41. */
static void test_cli_bills(void **state)
{
    (void)state;
    static const char model[] = "name = unit\nexplicit = 0\ninput_usd_per_mtok = 1000000\n"
                                "output_usd_per_mtok = 1000000\nread_mult = 0.5\nttl_s = 300\n";
    char path[512], pp[512], cmd[2400];
    tu_tmp_path(path, sizeof path, "blend_bills.h5");
    tu_write_tmp(pp, sizeof pp, "unit.pricing", model, sizeof model - 1);
    cc_trace t;
    rag_trace(&t);
    cc_err e = {0};
    assert_int_equal(cc_trace_write(&t, path, "h5", &e), CC_OK);
    cc_trace_free(&t);
    snprintf(cmd, sizeof cmd, "%s replay '%s' --capacity-blocks 100 --blend --pricing '%s' --json",
             tu_bin(), path, pp);
    json_t *j = run_json(cmd);
    assert_double_equal(json_real_value(json_object_get(json_object_get(j, "cost"), "unit")), 48,
                        1e-9);
    json_t *bc = json_object_get(j, "cost_prefix_blend");
    assert_double_equal(json_real_value(json_object_get(bc, "unit")), 41, 1e-9);
    json_t *bb = json_object_get(json_object_get(j, "cost_breakdown_prefix_blend"), "unit");
    assert_int_equal(json_integer_value(json_object_get(bb, "blend_read_tokens")), 14);
    assert_int_equal(json_integer_value(json_object_get(bb, "blend_recompute_tokens")), 2);
    assert_int_equal(json_integer_value(json_object_get(bb, "uncached_tokens")), 30);
    json_decref(j);
    /* the results file keeps both bills (/cost/total_usd prefix only,
     * /cost/blend_total_usd with blend), and the report shows them */
    char res[512], html[512];
    tu_tmp_path(res, sizeof res, "blend_bills_results.h5");
    tu_tmp_path(html, sizeof html, "blend_bills_report.html");
    snprintf(cmd, sizeof cmd, "%s replay '%s' --capacity-blocks 100 --blend --pricing '%s' -o '%s'"
             " > /dev/null", tu_bin(), path, pp, res);
    assert_int_equal(system(cmd), 0);
    hid_t h = H5Fopen(res, H5F_ACC_RDONLY, H5P_DEFAULT);
    assert_true(h >= 0);
    double usd[2];
    uint64_t tok[2];
    hid_t d = H5Dopen2(h, "/cost/total_usd", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &usd[0]) >= 0);
    H5Dclose(d);
    d = H5Dopen2(h, "/cost/blend_total_usd", H5P_DEFAULT);
    assert_true(d >= 0);
    assert_true(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &usd[1]) >= 0);
    H5Dclose(d);
    d = H5Dopen2(h, "/cost/blend_read_tokens", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &tok[0]) >= 0);
    H5Dclose(d);
    d = H5Dopen2(h, "/cost/blend_recompute_tokens", H5P_DEFAULT);
    assert_true(H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &tok[1]) >= 0);
    H5Dclose(d);
    H5Fclose(h);
    assert_double_equal(usd[0], 48, 1e-9);
    assert_double_equal(usd[1], 41, 1e-9);
    assert_int_equal(tok[0], 14);
    assert_int_equal(tok[1], 2);
    snprintf(cmd, sizeof cmd, "%s report '%s' -o '%s' > /dev/null", tu_bin(), res, html);
    assert_int_equal(system(cmd), 0);
    FILE *hf = fopen(html, "r");
    assert_non_null(hf);
    static char page[1 << 20];
    size_t np = fread(page, 1, sizeof page - 1, hf);
    page[np] = 0;
    fclose(hf);
    assert_non_null(strstr(page, "unit $41 (without blend $48"));
    unlink(res);
    unlink(html);
    /* the text: both totals on the model's row of the blend table */
    snprintf(cmd, sizeof cmd, "%s replay '%s' --capacity-blocks 100 --blend --pricing '%s'",
             tu_bin(), path, pp);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[512];
    int seen = 0;
    while (fgets(line, sizeof line, f)) {
        double x, y, z;
        if (sscanf(line, " unit %lf %lf %lf", &x, &y, &z) == 3 &&
            fabs(x - 48) < 1e-9 && fabs(y - 41) < 1e-9 && fabs(z - 7) < 1e-9)
            seen = 1;
    }
    assert_int_equal(pclose(f), 0);
    unlink(pp);
    if (!seen)
        fail_msg("no 'unit 48 41 7' row (prefix only, prefix + blend, saved) in the text");
}

/* A request log's counted warnings reach the replay's summary: r1 has a
 * message of an unknown role ('critic', skipped) and a response names a
 * request id that no request has (skipped): 2 warnings, the replay runs on
 * the two requests, JSON read_warnings 2, and the text says so.  A line
 * that is not JSON is an error naming the file, its line and the field
 * (exit 1), and no summary is printed. */
static void test_chatlog_warnings_and_errors(void **state)
{
    (void)state;
    static const char log[] =
        "{\"type\": \"request\", \"request_id\": \"a\", \"timestamp\": 0, \"body\": {\"model\": \"m\", "
        "\"messages\": [{\"role\": \"system\", \"content\": \"You are terse.\"}, {\"role\": \"user\", "
        "\"content\": \"Passage one is about caches and what they keep.\"}]}}\n"
        "{\"type\": \"request\", \"request_id\": \"b\", \"timestamp\": 10, \"body\": {\"model\": \"m\", "
        "\"messages\": [{\"role\": \"critic\", \"content\": \"meh\"}, {\"role\": \"user\", "
        "\"content\": \"Passage one is about caches and what they keep.\"}]}}\n"
        "{\"type\": \"response\", \"request_id\": \"zz\", \"body\": {\"usage\": {\"prompt_tokens\": 5, "
        "\"completion_tokens\": 3}}}\n";
    char path[512], cmd[1600], err[512];
    tu_write_tmp(path, sizeof path, "blend_warn.jsonl", log, sizeof log - 1);
    snprintf(cmd, sizeof cmd, "%s replay '%s' --format chatlog --capacity-blocks inf --blend --json "
             "2>/dev/null", tu_bin(), path);
    json_t *j = run_json(cmd);
    assert_int_equal(json_integer_value(json_object_get(j, "read_warnings")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "requests")), 2);
    assert_non_null(strstr(json_string_value(json_object_get(j, "first_read_warning")), "critic"));
    json_decref(j);
    snprintf(cmd, sizeof cmd, "%s replay '%s' --format chatlog --capacity-blocks inf --blend 2>/dev/null",
             tu_bin(), path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    char line[1024];
    int seen = 0;
    while (fgets(line, sizeof line, f))
        seen |= !strncmp(line, "warnings         2 records skipped while reading", 48);
    assert_int_equal(pclose(f), 0);
    assert_true(seen);
    unlink(path);

    static const char bad[] =
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"hello\"}]}\n"
        "this is not json\n";
    tu_write_tmp(path, sizeof path, "blend_bad.jsonl", bad, sizeof bad - 1);
    tu_tmp_path(err, sizeof err, "blend_bad.err");
    snprintf(cmd, sizeof cmd, "%s replay '%s' --format chatlog --capacity-blocks inf --blend --json "
             ">/dev/null 2>'%s'", tu_bin(), path, err);
    int st = system(cmd);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    FILE *e = fopen(err, "r");
    assert_non_null(e);
    size_t n = fread(line, 1, sizeof line - 1, e);
    line[n] = 0;
    fclose(e);
    if (!strstr(line, "blend_bad.jsonl:2") || !strstr(line, "record"))
        fail_msg("expected the file, line 2 and the field 'record' in: %s", line);
    unlink(path);
    unlink(err);
}

/* A RAG file (--format rag) replayed with --blend, without ../shared/data:
 *   q0: ctxs [],     question Q        (q tokens)
 *   q1: ctxs [A, B], question Q        (a + b + q)
 *   q2: ctxs [B, A], question Q        (a + b + q)
 * one at a time (concurrency none), unbounded cache, R = 0.  Nothing is a
 * prefix of anything (every prompt starts with other text), so blend
 * serves every chunk stored before: q1's Q (stored by q0), q2's B, A and Q:
 * blend_tokens = q + a + b + q.  The token counts come from the reader
 * alone: q from a file holding q0 only, a + b = (input - 3q) / 2. */
static void test_rag_file(void **state)
{
    (void)state;
    static const char q0[] =
        "[{\"question\": \"Which river flows through the old town of Tillberg?\", \"answers\": [\"Ems\"], \"ctxs\": []}]";
    static const char all[] =
        "[{\"question\": \"Which river flows through the old town of Tillberg?\", \"answers\": [\"Ems\"], \"ctxs\": []},\n"
        " {\"question\": \"Which river flows through the old town of Tillberg?\", \"answers\": [\"Ems\"], \"ctxs\": ["
        "{\"title\": \"Tillberg\", \"text\": \"Tillberg is a small town on the northern bank of a slow river, known for its bridges.\"},"
        "{\"title\": \"Ems\", \"text\": \"The Ems rises in the hills to the south and runs past several market towns to the sea.\"}]},\n"
        " {\"question\": \"Which river flows through the old town of Tillberg?\", \"answers\": [\"Ems\"], \"ctxs\": ["
        "{\"title\": \"Ems\", \"text\": \"The Ems rises in the hills to the south and runs past several market towns to the sea.\"},"
        "{\"title\": \"Tillberg\", \"text\": \"Tillberg is a small town on the northern bank of a slow river, known for its bridges.\"}]}]\n";
    char p0[512], pa[512], cmd[1600];
    tu_write_tmp(p0, sizeof p0, "blend_q0.json", q0, sizeof q0 - 1);
    tu_write_tmp(pa, sizeof pa, "blend_rag.json", all, sizeof all - 1);
    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --format rag --json", tu_bin(), p0);
    json_t *j = run_json(cmd);
    json_int_t q = json_integer_value(json_object_get(j, "input_tokens"));
    json_decref(j);
    snprintf(cmd, sizeof cmd,
             "%s replay '%s' --format rag --capacity-blocks inf --concurrency none --blend "
             "--recompute-ratio 0 --json", tu_bin(), pa);
    j = run_json(cmd);
    json_int_t in = json_integer_value(json_object_get(j, "input_tokens"));
    json_int_t blend = json_integer_value(json_object_get(j, "blend_tokens"));
    json_decref(j);
    unlink(p0);
    unlink(pa);
    assert_true(q > 0 && in > 3 * q && (in - 3 * q) % 2 == 0);
    json_int_t ab = (in - 3 * q) / 2;
    if (blend != 2 * q + ab)
        fail_msg("blend_tokens %lld, expected 2q + a + b = %lld (q %lld, a + b %lld)", (long long)blend,
                 (long long)(2 * q + ab), (long long)q, (long long)ab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_costmodel_time),
        cmocka_unit_test(test_dram_load),
        cmocka_unit_test(test_results_file),
        cmocka_unit_test(test_costmodel_real_profiles),
        cmocka_unit_test(test_chunks_displace_prefix),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_cli_usage),
        cmocka_unit_test(test_cli_bills),
        cmocka_unit_test(test_chatlog),
        cmocka_unit_test(test_chatlog_warnings_and_errors),
        cmocka_unit_test(test_rag_file),
        cmocka_unit_test(test_musique),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
