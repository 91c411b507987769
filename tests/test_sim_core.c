/* test_sim_core.c -- the simulator's foundations: the event queue against a
 * brute-force twin, the cost model's formulas against hand computations for
 * the tiny model, the profile loader on good and bad inputs, and the
 * calibration's recovery of known coefficients.  No timing assertions. */
#include "testutil.h"
#include "sim/sim.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* ==== event queue ========================================================== */

static void test_evq_ties_in_push_order(void **state)
{
    (void)state;
    cc_evq q;
    assert_int_equal(cc_evq_init(&q, 0), CC_OK);
    assert_null(cc_evq_peek(&q));
    /* times 5 5 1 5 1 3: pop order by time, ties by push order */
    int64_t t[] = {5, 5, 1, 5, 1, 3};
    for (int i = 0; i < 6; i++)
        assert_int_equal(cc_evq_push(&q, t[i], CC_EV_ARRIVAL, (uint32_t)i, (uint64_t)(100 + i)),
                         CC_OK);
    assert_int_equal(cc_evq_size(&q), 6);
    assert_int_equal(cc_evq_peek(&q)->id, 102);
    uint64_t want[] = {102, 104, 105, 100, 101, 103};
    for (int i = 0; i < 6; i++) {
        cc_event e;
        assert_int_equal(cc_evq_pop(&q, &e), 1);
        assert_int_equal(e.id, want[i]);
        assert_int_equal(e.target, want[i] - 100);
        assert_int_equal(e.seq, want[i] - 100);
    }
    assert_int_equal(cc_evq_pop(&q, NULL), 0);
    assert_int_equal(q.now_ns, 5);
    /* the past is refused; the present is fine */
    assert_int_equal(cc_evq_push(&q, 4, 1, 0, 0), CC_EARG);
    assert_int_equal(cc_evq_push(&q, 5, 1, 0, 7), CC_OK);
    cc_evq_clear(&q);
    assert_int_equal(cc_evq_size(&q), 0);
    assert_int_equal(cc_evq_push(&q, -3, 1, 0, 0), CC_OK); /* clear resets now */
    cc_evq_free(&q);
}

typedef struct twin_ev {
    int64_t t;
    uint64_t seq, id;
} twin_ev;

static int twin_cmp(const void *a, const void *b)
{
    const twin_ev *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Push everything, pop everything: the pop order must be the stable sort of
 * the pushes by time (qsort on (time, push index)).  Times from a range of
 * 50 values, so most events tie with others. */
static void test_evq_vs_sort(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 42);
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + gsl_rng_uniform_int(r, round < 10 ? 40 : 5000);
        twin_ev *tw = malloc(n * sizeof *tw);
        cc_evq q;
        assert_int_equal(cc_evq_init(&q, round % 2 ? n : 0), CC_OK);
        for (size_t i = 0; i < n; i++) {
            tw[i].t = (int64_t)gsl_rng_uniform_int(r, 50) - 10;
            tw[i].seq = i;
            tw[i].id = gsl_rng_get(r);
            assert_int_equal(cc_evq_push(&q, tw[i].t, 2, 0, tw[i].id), CC_OK);
        }
        qsort(tw, n, sizeof *tw, twin_cmp);
        for (size_t i = 0; i < n; i++) {
            cc_event e;
            assert_int_equal(cc_evq_pop(&q, &e), 1);
            if (e.time_ns != tw[i].t || e.id != tw[i].id)
                fail_msg("round %d pop %zu: got (%lld, %llu) want (%lld, %llu)", round, i,
                         (long long)e.time_ns, (unsigned long long)e.id, (long long)tw[i].t,
                         (unsigned long long)tw[i].id);
        }
        assert_int_equal(cc_evq_size(&q), 0);
        /* doubling: capacity is less than twice the peak size (or the hint) */
        assert_true(q.cap >= n && q.cap < 2 * n + 16);
        cc_evq_free(&q);
        free(tw);
    }
    gsl_rng_free(r);
}

/* Interleaved pushes and pops as a simulation does them (new events at or
 * after now): the twin is an unsorted array searched linearly for the
 * minimum (time, push index). */
static void test_evq_vs_linear_scan(void **state)
{
    (void)state;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    cc_evq q;
    assert_int_equal(cc_evq_init(&q, 0), CC_OK);
    size_t cap = 20000, n = 0;
    twin_ev *tw = malloc(cap * sizeof *tw);
    uint64_t pushes = 0;
    int64_t now = 0;
    for (int step = 0; step < 20000; step++) {
        int do_push = n == 0 || gsl_rng_uniform(r) < 0.55;
        if (do_push && n < cap) {
            int64_t t = now + (int64_t)gsl_rng_uniform_int(r, 8); /* many ties, some at now */
            uint64_t id = gsl_rng_get(r);
            assert_int_equal(cc_evq_push(&q, t, 3, 1, id), CC_OK);
            tw[n++] = (twin_ev){t, pushes++, id};
        } else {
            size_t best = 0;
            for (size_t i = 1; i < n; i++)
                if (twin_cmp(&tw[i], &tw[best]) < 0)
                    best = i;
            cc_event e;
            assert_int_equal(cc_evq_peek(&q)->id, tw[best].id);
            assert_int_equal(cc_evq_pop(&q, &e), 1);
            assert_int_equal(e.id, tw[best].id);
            assert_int_equal(e.time_ns, tw[best].t);
            assert_int_equal(e.seq, tw[best].seq);
            now = e.time_ns;
            tw[best] = tw[--n];
        }
        assert_int_equal(cc_evq_size(&q), n);
    }
    free(tw);
    cc_evq_free(&q);
    gsl_rng_free(r);
}

/* ==== the cost model, by hand on the tiny model ============================== */

/* tiny (sim/profiles/model/tiny.profile): L = 2, h = 64, n_h = 4, n_kv = 2,
 * d = 16, f = 128, V = 256, fp32 (4 bytes).  q = n_h d = 64, g = n_kv d = 32.
 *   P_layer = h q + 2 h g + q h + 3 h f
 *           = 4096 + 4096 + 4096 + 24576 = 36864
 *   logits row: 2 h V = 32768 FLOPs
 *   attention: 4 L q = 512 FLOPs per (query, key) pair over both layers
 *   weights read: 4 x (L (P_layer + 2h) + h + V h)
 *               = 4 x (2 x 36992 + 64 + 16384) = 4 x 90432 = 361728 bytes
 *   K/V per token: 2 L g x 4 = 512 bytes
 * Item A: N = 8, C = 0:  linear 2 L P_layer 8 + 32768 = 1179648 + 32768 = 1212416
 *                        attention 512 x (0 + 8 x 9 / 2) = 512 x 36 = 18432
 *                        K/V 512 x 8 = 4096
 * Item B: N = 4, C = 10: linear 4 x 36864 x 4 + 32768 = 589824 + 32768 = 622592
 *                        attention 512 x (40 + 10) = 25600
 *                        K/V 512 x 14 = 7168 */
static cc_sim_model tiny_model(void)
{
    cc_sim_model m = {0};
    snprintf(m.name, sizeof m.name, "tiny");
    m.n_layers = 2, m.hidden = 64, m.n_heads = 4, m.n_kv_heads = 2, m.head_dim = 16;
    m.ffn = 128, m.vocab = 256, m.dtype = CC_SIM_FP32, m.kv_dtype = CC_SIM_FP32;
    m.rope_theta = 10000, m.norm_eps = 1e-5;
    return m;
}

/* Round numbers so that times can be checked by hand. */
static cc_sim_hw test_hw(void)
{
    cc_sim_hw hw = {0};
    snprintf(hw.name, sizeof hw.name, "hand");
    hw.peak_flop_per_s[CC_SIM_FP32] = 1e9;
    hw.hbm_bytes = 1e9, hw.hbm_bytes_per_s = 1e9;
    hw.pcie_bytes_per_s = 1e9, hw.pcie_latency_s = 1e-5;
    hw.dram_bytes = 1e10, hw.dram_bytes_per_s = 4e9;
    hw.eff_link = 0.5;
    hw.coeffs = (cc_sim_coeffs){0.5, 0.25, 1.0, 1e-4, 1e-5};
    return hw;
}

static void test_work_by_hand(void **state)
{
    (void)state;
    cc_sim_model m = tiny_model();
    cc_sim_item a = {8, 0, 0}, b = {4, 10, 1}, ab[] = {{8, 0, 0}, {4, 10, 1}};
    cc_sim_work w;
    cc_sim_work_forward(&m, &a, 1, &w);
    assert_float_equal(w.flops_linear, 1212416, 0);
    assert_float_equal(w.flops_attn, 18432, 0);
    assert_float_equal(w.bytes_weights, 361728, 0);
    assert_float_equal(w.bytes_kv, 4096, 0);
    assert_float_equal(w.n_tokens, 8, 0);
    cc_sim_work_forward(&m, &b, 1, &w);
    assert_float_equal(w.flops_linear, 622592, 0);
    assert_float_equal(w.flops_attn, 25600, 0);
    assert_float_equal(w.bytes_kv, 7168, 0);
    cc_sim_work_forward(&m, ab, 2, &w);
    assert_float_equal(w.flops_linear, 1212416 + 622592, 0);
    assert_float_equal(w.flops_attn, 18432 + 25600, 0);
    assert_float_equal(w.bytes_weights, 361728, 0); /* read once per step */
    assert_float_equal(w.bytes_kv, 4096 + 7168, 0);
    assert_float_equal(w.n_items, 2, 0);
    assert_float_equal(cc_sim_model_kv_bytes_per_token(&m), 512, 0);
    /* all parameters: 2 V h + h + L (P_layer + 2h) = 32768 + 64 + 73984 */
    assert_float_equal(cc_sim_model_params(&m), 106816, 0);
}

/* Published parameter counts (model cards: Llama 3 8B 8,030,261,248; 70B
 * 70,553,706,496; Qwen2.5-7B 7.61 B = 7,615,616,512) from the shipped files. */
static void test_model_profiles_param_counts(void **state)
{
    (void)state;
    cc_sim_model m;
    cc_err e = {0};
    assert_int_equal(cc_sim_model_load("llama-3-8b", &m, &e), CC_OK);
    assert_float_equal(cc_sim_model_params(&m), 8030261248.0, 0);
    /* bf16 KV: 2 x 32 layers x 8 heads x 128 x 2 bytes = 131072 per token */
    assert_float_equal(cc_sim_model_kv_bytes_per_token(&m), 131072, 0);
    assert_int_equal(cc_sim_model_load("llama-3-70b", &m, &e), CC_OK);
    assert_float_equal(cc_sim_model_params(&m), 70553706496.0, 0);
    assert_int_equal(cc_sim_model_load("qwen2.5-7b", &m, &e), CC_OK);
    assert_float_equal(cc_sim_model_params(&m), 7615616512.0, 0);
    assert_int_equal(m.qkv_bias, 1);
    assert_int_equal(cc_sim_model_load("small", &m, &e), CC_OK);
    /* 2 x 32000 x 768 + 768 + 12 x (589824 + 393216 + 589824 + 4718592 + 1536)
     * = 49152000 + 768 + 12 x 6292992 = 49152000 + 768 + 75515904 */
    assert_float_equal(cc_sim_model_params(&m), 124668672.0, 0);
    assert_int_equal(cc_sim_model_load("tiny", &m, &e), CC_OK);
    assert_float_equal(cc_sim_model_params(&m), 106816, 0);
}

static void test_executor_times_by_hand(void **state)
{
    (void)state;
    cc_sim_model m = tiny_model();
    cc_sim_hw hw = test_hw();
    cc_executor x = {0};
    cc_err e = {0};
    assert_int_equal(cc_costmodel_create(&hw, &m, NULL, &x, &e), CC_OK);
    double s;
    /* Items A and B: compute = 1835008 / (1e9 x 0.5) + 44032 / (1e9 x 0.25)
     *   = 3.670016e-3 + 0.176128e-3 = 3.846144e-3 s;
     * memory = (361728 + 11264) / 1e9 = 0.372992e-3 s -> compute bound;
     * + 1e-4 + 2 x 1e-5 = 3.966144e-3 s */
    cc_sim_item ab[] = {{8, 0, 0}, {4, 10, 1}};
    assert_int_equal(cc_executor_prefill(&x, ab, 2, &s, &e), CC_OK);
    assert_float_equal(s, 3.966144e-3, 1e-15);
    /* Decode of contexts 10 and 20 = items (1,10), (1,20):
     * linear 2 x (4 x 36864 + 32768) = 360448, attention 512 x (11 + 21) = 16384
     * compute = 360448 / 5e8 + 16384 / 2.5e8 = 0.720896e-3 + 0.065536e-3 = 0.786432e-3
     * memory = (361728 + 512 x 32) / 1e9 = 0.378112e-3 -> compute bound; + 1.2e-4 */
    cc_sim_item ctx[] = {{1, 10, 0}, {1, 20, 1}};
    assert_int_equal(cc_executor_decode(&x, ctx, 2, &s, &e), CC_OK);
    assert_float_equal(s, 0.906432e-3, 1e-15);
    /* a memory-bound hardware: bandwidth 1e7 -> (361728 + 16384) / 1e7 = 37.8112e-3 */
    cc_executor_free(&x);
    hw.hbm_bytes_per_s = 1e7;
    assert_int_equal(cc_costmodel_create(&hw, &m, NULL, &x, &e), CC_OK);
    assert_int_equal(cc_executor_decode(&x, ctx, 2, &s, &e), CC_OK);
    assert_float_equal(s, 37.8112e-3 + 1.2e-4, 1e-15);
    /* the empty step costs nothing */
    assert_int_equal(cc_executor_decode(&x, ctx, 0, &s, &e), CC_OK);
    assert_float_equal(s, 0, 0);
    /* bad items */
    cc_sim_item bad = {0, 5, 0};
    assert_int_equal(cc_executor_prefill(&x, &bad, 1, &s, &e), CC_EARG);
    assert_string_equal(e.field, "n_new");
    cc_sim_item badctx[] = {{1, 3, 0}, {1, -1, 1}};
    assert_int_equal(cc_executor_decode(&x, badctx, 2, &s, &e), CC_EARG);
    assert_string_equal(e.field, "n_cached");
    assert_non_null(strstr(e.msg, "item 1"));
    cc_sim_item badnew[] = {{2, 3, 0}};
    assert_int_equal(cc_executor_decode(&x, badnew, 1, &s, &e), CC_EARG);
    assert_string_equal(e.field, "n_new");
    cc_executor_free(&x);
    cc_executor_free(&x); /* safe twice */
}

/* Blend, tiny model, P = 4 prefix, K = 8 chunk, R = 2 recomputed, N = 2 new:
 *   token-layers = (K + N) + (L - 1)(R + N) = 10 + 4 = 14
 *   linear = 2 x 36864 x 14 + 32768 = 1032192 + 32768 = 1064960
 *   new tokens' keys: N (P + K) + N (N + 1) / 2 = 24 + 3 = 27
 *   layer 1: K P + K (K + 1) / 2 + 27 = 32 + 36 + 27 = 95
 *   layer 2: R (P + (K + 1) / 2) + 27 = 2 x 8.5 + 27 = 44
 *   attention = 4 q (95 + 44) = 256 x 139 = 35584
 *   K/V = 512 x (P + K + N) = 512 x 14 = 7168 */
static void test_blend_by_hand(void **state)
{
    (void)state;
    cc_sim_model m = tiny_model();
    cc_sim_blend_item b = {4, 8, 2, 2, 0};
    cc_sim_work w;
    cc_sim_work_blend(&m, &b, 1, &w);
    assert_float_equal(w.flops_linear, 1064960, 0);
    assert_float_equal(w.flops_attn, 35584, 0);
    assert_float_equal(w.bytes_kv, 7168, 0);
    assert_float_equal(w.n_tokens, 7, 0);
    /* recomputing the whole chunk is a prefill of K + N after P */
    cc_sim_blend_item full = {4, 8, 8, 2, 0};
    cc_sim_item pre = {10, 4, 0};
    cc_sim_work wb, wp;
    cc_sim_work_blend(&m, &full, 1, &wb);
    cc_sim_work_forward(&m, &pre, 1, &wp);
    assert_float_equal(wb.flops_linear, wp.flops_linear, 0);
    assert_float_equal(wb.flops_attn, wp.flops_attn, 0);
    assert_float_equal(wb.bytes_kv, wp.bytes_kv, 0);
    assert_float_equal(wb.n_tokens, wp.n_tokens, 0);

    cc_sim_hw hw = test_hw();
    cc_executor x;
    cc_err e = {0};
    double s;
    assert_int_equal(cc_costmodel_create(&hw, &m, NULL, &x, &e), CC_OK);
    cc_sim_blend_item over = {0, 4, 5, 1, 0};
    assert_int_equal(cc_executor_blend(&x, &over, 1, &s, &e), CC_EARG);
    assert_string_equal(e.field, "n_recompute");
    /* time: compute 1064960 / 5e8 + 35584 / 2.5e8 = 2.12992e-3 + 0.142336e-3;
     * memory (361728 + 7168) / 1e9 = 0.368896e-3; + 1e-4 + 1e-5 */
    assert_int_equal(cc_executor_blend(&x, &b, 1, &s, &e), CC_OK);
    assert_float_equal(s, 2.12992e-3 + 0.142336e-3 + 1.1e-4, 1e-15);
    cc_executor_free(&x);
}

static void test_kv_transfer_by_hand(void **state)
{
    (void)state;
    cc_sim_model m = tiny_model(); /* L = 2 */
    cc_sim_hw hw = test_hw();
    cc_executor x;
    cc_err e = {0};
    double s;
    assert_int_equal(cc_costmodel_create(&hw, &m, NULL, &x, &e), CC_OK);
    /* HBM -> DRAM, 1e6 bytes: rate min(PCIe 1e9, DRAM 4e9) x eff 0.5 = 5e8:
     * tau = 2e-3; latency 1e-5 (PCIe) + 0 (DRAM) */
    assert_int_equal(
        cc_executor_kv_transfer(&x, 1e6, CC_SIM_TIER_DRAM, CC_SIM_TIER_HBM, 0, 0, &s, &e), CC_OK);
    assert_float_equal(s, 2.01e-3, 1e-15);
    /* serial with 6 ms of compute: 1e-5 + 2e-3 + 6e-3 */
    assert_int_equal(cc_executor_kv_transfer(&x, 1e6, CC_SIM_TIER_DRAM, CC_SIM_TIER_HBM,
                                             CC_SIM_XFER_SERIAL, 6e-3, &s, &e),
                     CC_OK);
    assert_float_equal(s, 8.01e-3, 1e-15);
    /* layer-wise over 2 layers: per layer 1 ms moving, 3 ms computing:
     * 1e-5 + 1e-3 + 3e-3 + 1 x max(1e-3, 3e-3) = 7.01e-3 */
    assert_int_equal(cc_executor_kv_transfer(&x, 1e6, CC_SIM_TIER_DRAM, CC_SIM_TIER_HBM,
                                             CC_SIM_XFER_LAYERWISE, 6e-3, &s, &e),
                     CC_OK);
    assert_float_equal(s, 7.01e-3, 1e-15);
    /* transfer-bound layer-wise: 8e6 bytes (8 ms per layer), 2 ms compute:
     * 1e-5 + 8e-3 + 1e-3 + 8e-3 */
    assert_int_equal(cc_executor_kv_transfer(&x, 8e6, CC_SIM_TIER_HBM, CC_SIM_TIER_DRAM,
                                             CC_SIM_XFER_LAYERWISE, 2e-3, &s, &e),
                     CC_OK);
    assert_float_equal(s, 17.01e-3, 1e-15);
    /* HBM -> HBM copy: 1e9 / 2 x 0.5 = 2.5e8 -> 4e-3 */
    assert_int_equal(
        cc_executor_kv_transfer(&x, 1e6, CC_SIM_TIER_HBM, CC_SIM_TIER_HBM, 0, 0, &s, &e), CC_OK);
    assert_float_equal(s, 4e-3, 1e-15);
    /* nothing to move: only the compute */
    assert_int_equal(cc_executor_kv_transfer(&x, 0, CC_SIM_TIER_DRAM, CC_SIM_TIER_HBM,
                                             CC_SIM_XFER_LAYERWISE, 5e-3, &s, &e),
                     CC_OK);
    assert_float_equal(s, 5e-3, 0);
    /* no SSD in this profile */
    assert_int_equal(
        cc_executor_kv_transfer(&x, 1e6, CC_SIM_TIER_SSD, CC_SIM_TIER_HBM, 0, 0, &s, &e),
        CC_EUNSUP);
    assert_string_equal(e.field, "nvme_bytes_per_s");
    assert_int_equal(cc_executor_kv_transfer(&x, 1e6, 9, CC_SIM_TIER_HBM, 0, 0, &s, &e), CC_EARG);
    assert_string_equal(e.field, "from_tier");
    assert_int_equal(cc_executor_kv_transfer(&x, -1, 1, 0, 0, 0, &s, &e), CC_EARG);
    assert_string_equal(e.field, "bytes");
    cc_executor_free(&x);

    /* SSD -> HBM with an SSD: min(PCIe 1e9, NVMe 2e9, DRAM 4e9) x 0.5; latency
     * 1e-5 + 1e-4.  Peer copies take NVLink: 1e6 / (1e10 x 0.5) + 2e-6. */
    hw.nvme_bytes = 1e12, hw.nvme_bytes_per_s = 2e9, hw.nvme_latency_s = 1e-4;
    hw.nvlink_bytes_per_s = 1e10, hw.nvlink_latency_s = 2e-6;
    assert_int_equal(cc_costmodel_create(&hw, &m, NULL, &x, &e), CC_OK);
    assert_int_equal(
        cc_executor_kv_transfer(&x, 1e6, CC_SIM_TIER_SSD, CC_SIM_TIER_HBM, 0, 0, &s, &e), CC_OK);
    assert_float_equal(s, 2e-3 + 1.1e-4, 1e-15);
    assert_int_equal(
        cc_executor_kv_transfer(&x, 1e6, CC_SIM_TIER_PEER, CC_SIM_TIER_HBM, 0, 0, &s, &e), CC_OK);
    assert_float_equal(s, 2e-4 + 2e-6, 1e-15);
    cc_executor_free(&x);
}

/* Tensor parallelism, tiny model on 2 devices with NVLink 1e10 B/s, latency
 * 2e-6, eff_link 0.5; item A (8 tokens after 0):
 *   compute = (1212416 / 5e8 + 18432 / 2.5e8) / 2 = (2.424832e-3 + 0.073728e-3) / 2
 *           = 1.24928e-3;  memory = (361728 + 4096) / 1e9 / 2 = 0.182912e-3
 *   comm = 2 L (2e-6 + 2 (1/2) 8 x 64 x 4 / (1e10 x 0.5)) = 4 (2e-6 + 2048 / 5e9)
 *        = 4 x 2.4096e-6 = 9.6384e-6;  + 1e-4 + 1e-5 */
static void test_tensor_parallel_by_hand(void **state)
{
    (void)state;
    cc_sim_model m = tiny_model();
    cc_sim_hw hw = test_hw();
    hw.nvlink_bytes_per_s = 1e10, hw.nvlink_latency_s = 2e-6;
    cc_costmodel_opts o;
    cc_costmodel_opts_default(&o);
    o.tp = 2;
    cc_executor x;
    cc_err e = {0};
    double s;
    assert_int_equal(cc_costmodel_create(&hw, &m, &o, &x, &e), CC_OK);
    cc_sim_item a = {8, 0, 0};
    assert_int_equal(cc_executor_prefill(&x, &a, 1, &s, &e), CC_OK);
    assert_float_equal(s, 1.24928e-3 + 9.6384e-6 + 1.1e-4, 1e-15);
    cc_executor_free(&x);
    o.tp = 0;
    assert_int_equal(cc_costmodel_create(&hw, &m, &o, &x, &e), CC_EARG);
    assert_string_equal(e.field, "tp");
}

/* The shipped profiles load and combine; a dtype the hardware lacks fails. */
static void test_shipped_profiles(void **state)
{
    (void)state;
    const char *hws[] = {"h100-sxm", "h200", "a100-80g", "a10", "l40s", "cpu"};
    const char *models[] = {"llama-3-8b", "llama-3-70b", "qwen2.5-7b", "tiny", "small"};
    cc_err e = {0};
    for (size_t i = 0; i < sizeof hws / sizeof hws[0]; i++) {
        cc_sim_hw hw;
        if (cc_sim_hw_load(hws[i], &hw, &e) != CC_OK) {
            cc_err_print(&e, stdout);
            fail_msg("hardware %s", hws[i]);
        }
        assert_string_equal(hw.name, hws[i]);
        for (size_t j = 0; j < sizeof models / sizeof models[0]; j++) {
            cc_sim_model m;
            assert_int_equal(cc_sim_model_load(models[j], &m, &e), CC_OK);
            assert_string_equal(m.name, models[j]);
            cc_costmodel_opts o;
            cc_costmodel_opts_default(&o);
            if (!(hw.peak_flop_per_s[m.dtype] > 0))
                o.dtype = CC_SIM_FP32; /* e.g. the cpu profile runs bf16 models in fp32 */
            cc_executor x;
            assert_int_equal(cc_costmodel_create(&hw, &m, &o, &x, &e), CC_OK);
            cc_sim_item it = {512, 1024, 0};
            double s1, s2;
            assert_int_equal(cc_executor_prefill(&x, &it, 1, &s1, &e), CC_OK);
            it.n_new = 2048;
            assert_int_equal(cc_executor_prefill(&x, &it, 1, &s2, &e), CC_OK);
            assert_true(s1 > 0 && s2 > s1 && isfinite(s2));
            cc_executor_free(&x);
        }
    }
    cc_sim_hw h100;
    assert_int_equal(cc_sim_hw_load("h100-sxm", &h100, &e), CC_OK);
    assert_float_equal(h100.hbm_bytes_per_s, 3.35e12, 0);
    assert_float_equal(h100.peak_flop_per_s[CC_SIM_BF16], 989.5e12, 0);
    cc_sim_hw a10;
    cc_sim_model l8;
    assert_int_equal(cc_sim_hw_load("a10", &a10, &e), CC_OK);
    assert_int_equal(cc_sim_model_load("llama-3-8b", &l8, &e), CC_OK);
    cc_costmodel_opts o;
    cc_costmodel_opts_default(&o);
    o.dtype = CC_SIM_FP8;
    cc_executor x;
    assert_int_equal(cc_costmodel_create(&a10, &l8, &o, &x, &e), CC_EUNSUP);
    assert_string_equal(e.field, "peak_fp8_flop_per_s");
    /* Llama 3 8B decode on an H100 is memory bound: weights 2 x (8030261248
     * - 525336576 embedding rows) = 15009849344 bytes; one sequence of 1023
     * tokens adds 131072 x 1024 bytes of K/V; / (3.35e12 x 0.8) + 1e-3 + 1e-5 */
    assert_int_equal(cc_costmodel_create(&h100, &l8, NULL, &x, &e), CC_OK);
    cc_sim_item ctx = {1, 1023, 0};
    double s;
    assert_int_equal(cc_executor_decode(&x, &ctx, 1, &s, &e), CC_OK);
    assert_float_equal(s, (15009849344.0 + 131072.0 * 1024) / (3.35e12 * 0.8) + 1.01e-3, 1e-12);
    cc_executor_free(&x);
}

/* ==== the profile reader ===================================================== */

static const char *write_tmp(const char *name, const char *text, size_t len)
{
    static char path[8][512];
    static int k;
    k = (k + 1) % 8;
    return tu_write_tmp(path[k], sizeof path[k], name, text, len);
}

#define MODEL_OK                                                                           \
    "kind = model\nname = m\nn_layers = 2\nhidden = 64\nn_heads = 4\nn_kv_heads = 2\n"     \
    "head_dim = 16\nffn = 128\nvocab = 256\ndtype = bf16\n"

static void test_profile_good_inputs(void **state)
{
    (void)state;
    cc_sim_profile p;
    cc_err e = {0};
    /* CRLF, comments, blanks, tabs, no last newline, UTF-8 in comments, HF dtype */
    const char *t = "# profil \xc3\xa9t\xc3\xa9 \xe2\x9c\x93\r\n\r\n  kind\t=  model  # first\r\n"
                    "name = m-1.x\r\nn_layers = 2\r\nhidden = 64\r\nn_heads = 4\r\n"
                    "n_kv_heads = 2\r\nhead_dim = 16\r\nffn = 128\r\nvocab = 256\r\n"
                    "dtype = bfloat16\r\nkv_dtype = fp8\r\nqkv_bias = true";
    assert_int_equal(cc_sim_profile_read(write_tmp("good1.profile", t, strlen(t)), &p, &e), CC_OK);
    assert_int_equal(p.kind, CC_SIM_PROFILE_MODEL);
    assert_string_equal(p.model.name, "m-1.x");
    assert_int_equal(p.model.dtype, CC_SIM_BF16);
    assert_int_equal(p.model.kv_dtype, CC_SIM_FP8);
    assert_int_equal(p.model.qkv_bias, 1);
    assert_float_equal(p.model.rope_theta, 10000, 0); /* default */
    /* kv_dtype defaults to dtype */
    assert_int_equal(cc_sim_profile_read(write_tmp("good2.profile", MODEL_OK, strlen(MODEL_OK)),
                                         &p, &e),
                     CC_OK);
    assert_int_equal(p.model.kv_dtype, CC_SIM_BF16);
    /* a minimal hardware profile gets the documented defaults */
    const char *h = "kind = hardware\nname = x\npeak_fp32_flop_per_s = 1e12\nhbm_bytes = 1e9\n"
                    "hbm_bytes_per_s = 1e11\npcie_bytes_per_s = 1e10\ndram_bytes = 1e10\n"
                    "dram_bytes_per_s = 1e10\n";
    assert_int_equal(cc_sim_profile_read(write_tmp("good3.profile", h, strlen(h)), &p, &e), CC_OK);
    assert_int_equal(p.kind, CC_SIM_PROFILE_HARDWARE);
    assert_float_equal(p.hw.coeffs.eff_linear, 0.6, 0);
    assert_float_equal(p.hw.coeffs.eff_attn, 0.4, 0);
    assert_float_equal(p.hw.coeffs.eff_mem, 0.8, 0);
    assert_float_equal(p.hw.eff_link, 0.8, 0);
    assert_float_equal(p.hw.peak_flop_per_s[CC_SIM_BF16], 0, 0);
    assert_float_equal(p.hw.nvme_bytes_per_s, 0, 0);
}

static void test_profile_bad_inputs(void **state)
{
    (void)state;
    static const unsigned char elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        3, 0, 0x3e, 0, 1, 0, 0, 0, 0x10, 0x10, 0, 0, '\n', 0xff};
    static const struct {
        const char *name;
        const char *text;
        size_t len; /* 0 = strlen */
        int code;
        long line;
        const char *field;
        const char *msg; /* a piece of the message, or NULL */
    } bad[] = {
        {"empty file", "", 0, CC_EFORMAT, 1, "kind", "empty"},
        {"only comments", "# nothing\n\n", 0, CC_EFORMAT, 2, "kind", "no key"},
        {"kind not first", "name = m\nkind = model\n", 0, CC_EFORMAT, 1, "kind", "first"},
        {"unknown kind", "kind = gpu\n", 0, CC_EFORMAT, 1, "kind", "gpu"},
        {"truncated last line (no value)", MODEL_OK "rope_theta =", 0, CC_EFORMAT, 11,
         "rope_theta", "missing value"},
        {"truncated last line (in a number)", "kind = model\nname = m\nn_layers = 2\nhidden = 6e",
         0, CC_EFORMAT, 4, "hidden", "integer"},
        {"truncated last line (in a key)", MODEL_OK "rope_th", 0, CC_EFORMAT, 11, "rope_th",
         "'='"},
        {"missing field", "kind = model\nname = m\nn_layers = 2\nhidden = 64\nn_heads = 4\n"
                          "n_kv_heads = 2\nhead_dim = 16\nvocab = 256\ndtype = bf16\n",
         0, CC_EFORMAT, 9, "ffn", "required key missing"},
        {"missing hardware field", "kind = hardware\nname = x\npeak_fp32_flop_per_s = 1e12\n", 0,
         CC_EFORMAT, 3, "hbm_bytes", "required"},
        {"wrong type: word for a number", MODEL_OK "rope_theta = fast\n", 0, CC_EFORMAT, 11,
         "rope_theta", "fast"},
        {"wrong type: real for an integer", "kind = model\nn_layers = 2.5\n", 0, CC_EFORMAT, 2,
         "n_layers", "integer"},
        {"wrong type: number with a unit", "kind = model\nhidden = 64 units\n", 0, CC_EFORMAT, 2,
         "hidden", "64 units"},
        {"wrong type: hex float", "kind = hardware\nhbm_bytes = 0x1p30\n", 0, CC_EFORMAT, 2,
         "hbm_bytes", "decimal"},
        {"wrong type: nan", "kind = hardware\nhbm_bytes = nan\n", 0, CC_EFORMAT, 2, "hbm_bytes",
         NULL},
        {"wrong type: bool", MODEL_OK "qkv_bias = yes\n", 0, CC_EFORMAT, 11, "qkv_bias", "yes"},
        {"unknown dtype", "kind = model\ndtype = fp4\n", 0, CC_EFORMAT, 2, "dtype", "fp4"},
        {"bad name", "kind = model\nname = a b\n", 0, CC_EFORMAT, 2, "name", "a b"},
        {"negative bandwidth", "kind = hardware\nhbm_bytes_per_s = -3e12\n", 0, CC_ERANGE, 2,
         "hbm_bytes_per_s", "negative"},
        {"zero peak", "kind = hardware\npeak_fp32_flop_per_s = 0\n", 0, CC_ERANGE, 2,
         "peak_fp32_flop_per_s", "1e+06 to 1e+18"},
        {"negative layers", "kind = model\nn_layers = -2\n", 0, CC_ERANGE, 2, "n_layers",
         "negative"},
        {"absurd layers", "kind = model\nn_layers = 99999999999999999999\n", 0, CC_ERANGE, 2,
         "n_layers", "absurd"},
        {"absurd bandwidth", "kind = hardware\nhbm_bytes_per_s = 1e300\n", 0, CC_ERANGE, 2,
         "hbm_bytes_per_s", "absurd"},
        {"absurd efficiency", "kind = hardware\neff_mem = 50\n", 0, CC_ERANGE, 2, "eff_mem", NULL},
        {"heads not a multiple", "kind = model\nname = m\nn_layers = 2\nhidden = 64\n"
                                 "n_heads = 4\nn_kv_heads = 3\nhead_dim = 16\nffn = 128\n"
                                 "vocab = 256\ndtype = bf16\n",
         0, CC_ERANGE, 6, "n_kv_heads", "multiple"},
        {"unknown key", MODEL_OK "colour = blue\n", 0, CC_EFORMAT, 11, "colour", "unknown key"},
        {"hardware key in a model", MODEL_OK "hbm_bytes = 1e9\n", 0, CC_EFORMAT, 11, "hbm_bytes",
         "model profile"},
        {"repeated key", "kind = model\nhidden = 64\nhidden = 65\n", 0, CC_EFORMAT, 3, "hidden",
         "line 2"},
        {"repeated kind", "kind = model\nkind = model\n", 0, CC_EFORMAT, 2, "kind", "twice"},
        {"no equals sign", "kind = model\nhidden 64\n", 0, CC_EFORMAT, 2, "hidden", "'='"},
        {"upper-case key", "kind = model\nHidden = 64\n", 0, CC_EFORMAT, 2, "", "[a-z0-9_]"},
        {"invalid UTF-8 in a value", "kind = model\nname = caf\xc3\x28\n", 0, CC_EFORMAT, 2,
         "name", "\\xC3"},
        {"invalid UTF-8 in a comment", "kind = model\n# \xff\xfe\n", 0, CC_EFORMAT, 2, "",
         "UTF-8"},
        {"overlong UTF-8", "kind = model\n# \xc0\xaf\n", 0, CC_EFORMAT, 2, "", "UTF-8"},
        {"binary file", (const char *)elf, sizeof elf, CC_EFORMAT, 1, "kind", "binary"},
        {"NUL in a value", "kind = model\nhidden = 6\0004\n", 26, CC_EFORMAT, 2, "hidden",
         "binary"},
        {"stray carriage return", "kind = model\nhidden = 6\r4\n", 0, CC_EFORMAT, 2, "hidden",
         "carriage return"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cc_sim_profile p;
        cc_err e = {0};
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        const char *path = write_tmp("bad.profile", bad[i].text, len);
        int rc = cc_sim_profile_read(path, &p, &e);
        if (rc != bad[i].code || e.line != bad[i].line || strcmp(e.field, bad[i].field) ||
            strcmp(e.file, path) || (bad[i].msg && !strstr(e.msg, bad[i].msg)))
            fail_msg("case '%s': got %s at line %ld, field '%s', file '%s': %s; expected %s at "
                     "line %ld, field '%s', message with '%s'",
                     bad[i].name, cc_status_name(rc), e.line, e.field, e.file, e.msg,
                     cc_status_name(bad[i].code), bad[i].line, bad[i].field,
                     bad[i].msg ? bad[i].msg : "");
    }
    /* a long line */
    char *longl = malloc(3000);
    memset(longl, ' ', 3000);
    memcpy(longl, "kind = model\nname = ", 20);
    longl[2999] = '\n';
    cc_sim_profile p;
    cc_err e = {0};
    assert_int_equal(cc_sim_profile_read(write_tmp("long.profile", longl, 3000), &p, &e),
                     CC_EFORMAT);
    assert_int_equal(e.line, 2);
    assert_string_equal(e.field, "name");
    free(longl);
    /* missing file */
    assert_int_equal(cc_sim_profile_read("build/tmp/no/such.profile", &p, &e), CC_EIO);
    assert_string_equal(e.file, "build/tmp/no/such.profile");
}

static void test_profile_lookup(void **state)
{
    (void)state;
    cc_err e = {0};
    char path[1024];
    /* a name is looked up under sim/profiles/<kind>/ */
    assert_int_equal(cc_sim_profile_find("hardware", "h100-sxm", path, sizeof path, &e), CC_OK);
    assert_string_equal(path, "sim/profiles/hardware/h100-sxm.profile");
    /* a path is used as is */
    assert_int_equal(cc_sim_profile_find("model", "./x/y", path, sizeof path, &e), CC_OK);
    assert_string_equal(path, "./x/y");
    assert_int_equal(cc_sim_profile_find("model", "mine.profile", path, sizeof path, &e), CC_OK);
    assert_string_equal(path, "mine.profile");
    /* unknown name: CC_EARG naming where it looked */
    assert_int_equal(cc_sim_profile_find("hardware", "tpu-v9", path, sizeof path, &e), CC_EARG);
    assert_string_equal(e.field, "profile");
    assert_non_null(strstr(e.msg, "sim/profiles"));
    assert_int_equal(cc_sim_profile_find("hardware", "a b", path, sizeof path, &e), CC_EARG);
    /* CC_PROFILE_PATH comes first, DIR/NAME.profile and DIR/<kind>/NAME.profile */
    char dir[512], f1[600];
    tu_tmp_path(dir, sizeof dir, "profiles");
    snprintf(f1, sizeof f1, "mkdir -p '%s/hardware'", dir);
    assert_int_equal(system(f1), 0);
    const char *h = "kind = hardware\nname = mine\npeak_fp32_flop_per_s = 1e12\nhbm_bytes = 1e9\n"
                    "hbm_bytes_per_s = 1e11\npcie_bytes_per_s = 1e10\ndram_bytes = 1e10\n"
                    "dram_bytes_per_s = 1e10\n";
    snprintf(f1, sizeof f1, "%s/hardware/h100-sxm.profile", dir);
    FILE *f = fopen(f1, "w");
    fputs(h, f);
    fclose(f);
    snprintf(f1, sizeof f1, "%s/flat.profile", dir);
    f = fopen(f1, "w");
    fputs(h, f);
    fclose(f);
    char envv[700];
    snprintf(envv, sizeof envv, "/nonexistent:%s", dir);
    setenv("CC_PROFILE_PATH", envv, 1);
    cc_sim_hw hw;
    assert_int_equal(cc_sim_hw_load("h100-sxm", &hw, &e), CC_OK);
    assert_string_equal(hw.name, "mine"); /* the user's file shadows the shipped one */
    assert_int_equal(cc_sim_hw_load("flat", &hw, &e), CC_OK);
    assert_int_equal(cc_sim_hw_load("a10", &hw, &e), CC_OK); /* falls back to sim/profiles */
    assert_string_equal(hw.name, "a10");
    assert_int_equal(cc_sim_hw_load("nope", &hw, &e), CC_EARG);
    assert_non_null(strstr(e.msg, dir));
    unsetenv("CC_PROFILE_PATH");
    /* the wrong kind */
    cc_sim_model m;
    assert_int_equal(cc_sim_model_load("sim/profiles/hardware/a10.profile", &m, &e), CC_EFORMAT);
    assert_string_equal(e.field, "kind");
    assert_int_equal(cc_sim_hw_load("sim/profiles/model/tiny.profile", &hw, &e), CC_EFORMAT);
}

static void test_profile_write_roundtrip(void **state)
{
    (void)state;
    cc_err e = {0};
    cc_sim_hw hw, back;
    assert_int_equal(cc_sim_hw_load("h100-sxm", &hw, &e), CC_OK);
    hw.coeffs.eff_attn = 0.123456789;
    char path[512];
    tu_tmp_path(path, sizeof path, "rt.profile");
    assert_int_equal(cc_sim_hw_write(path, &hw, "line one\n\nline three", &e), CC_OK);
    assert_int_equal(cc_sim_hw_load(path, &back, &e), CC_OK);
    assert_string_equal(back.name, hw.name);
    for (int d = 0; d < CC_SIM_DTYPE_COUNT; d++)
        assert_float_equal(back.peak_flop_per_s[d], hw.peak_flop_per_s[d], 0);
    assert_float_equal(back.hbm_bytes_per_s, hw.hbm_bytes_per_s, 0);
    assert_float_equal(back.nvme_latency_s, hw.nvme_latency_s, 0);
    assert_float_equal(back.coeffs.eff_attn, 0.123456789, 1e-12);
    /* an invalid struct is not written, and leaves no file */
    hw.hbm_bytes_per_s = -1;
    assert_int_equal(cc_sim_hw_write(path, &hw, NULL, &e), CC_ERANGE);
    assert_string_equal(e.field, "hbm_bytes_per_s");
    /* an unwritable place: CC_EIO, no file left */
    assert_int_equal(cc_sim_hw_write("build/tmp/no/such/dir/x.profile", &back, NULL, &e), CC_EIO);
    assert_int_equal(access("build/tmp/no/such/dir/x.profile", F_OK), -1);
    unlink(path);
}

/* ==== calibration ============================================================ */

/* An independent twin of the cost formula for Llama 3 8B (bf16) on the
 * H100 profile, written from the formula in costmodel.c's header:
 *   per token per layer linear weights 218103808 (4096 x 4096 x 2 +
 *   2 x 4096 x 1024 + 3 x 4096 x 14336), lm_head 4096 x 128256,
 *   attention 4 x 32 layers x 4096 FLOPs per (query, key) pair,
 *   weights read 2 x 7504924672 bytes, K/V 131072 bytes per token. */
static double synth_seconds(const cc_sim_coeffs *c, double N, double C, double B)
{
    const double peak = 989.5e12, bw = 3.35e12;
    double fl = B * (2.0 * 32 * 218103808.0 * N + 2.0 * 4096 * 128256);
    double fa = B * 4.0 * 32 * 4096 * (N * C + N * (N + 1) / 2);
    double bytes = 2.0 * 7504924672.0 + B * 131072.0 * (C + N);
    double tc = fl / (peak * c->eff_linear) + fa / (peak * c->eff_attn);
    double tm = bytes / (bw * c->eff_mem);
    return (tc > tm ? tc : tm) + c->step_overhead_s + c->item_overhead_s * B;
}

static size_t make_grid(cc_calib_point *pts, const cc_sim_coeffs *truth, double noise,
                        gsl_rng *r, int with_decode)
{
    size_t n = 0;
    /* decode steps (memory bound) and prefills (compute bound, attention
     * heavy at long contexts) */
    static const int64_t dC[] = {128, 1024, 4096}, dB[] = {1, 8, 32, 64};
    static const int64_t pN[] = {256, 512, 1024, 2048}, pC[] = {0, 2048, 8192},
                         pB[] = {1, 2, 4};
    if (with_decode)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                pts[n++] = (cc_calib_point){1, dC[i], dB[j], 0};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                pts[n++] = (cc_calib_point){pN[i], pC[j], pB[k], 0};
    for (size_t i = 0; i < n; i++) {
        double t = synth_seconds(truth, (double)pts[i].n_new, (double)pts[i].n_cached,
                                 (double)pts[i].batch);
        pts[i].seconds = t * (1 + (r ? gsl_ran_gaussian(r, noise) : 0));
    }
    return n;
}

static void load_h100_l8(cc_sim_hw *hw, cc_sim_model *m)
{
    cc_err e = {0};
    assert_int_equal(cc_sim_hw_load("h100-sxm", hw, &e), CC_OK);
    assert_int_equal(cc_sim_model_load("llama-3-8b", m, &e), CC_OK);
}

static const cc_sim_coeffs TRUTH = {0.62, 0.41, 0.83, 1.5e-3, 4e-5};

static void test_calib_recovers_exact(void **state)
{
    (void)state;
    cc_sim_hw hw;
    cc_sim_model m;
    load_h100_l8(&hw, &m);
    cc_calib_point pts[64];
    size_t n = make_grid(pts, &TRUTH, 0, NULL, 1);
    cc_calib_result res;
    cc_err e = {0};
    assert_int_equal(cc_calib_fit(&hw, &m, pts, n, &res, &e), CC_OK);
    cc_sim_coeffs t = TRUTH;
    for (int k = 0; k < CC_SIM_N_COEFFS; k++) {
        double got = *cc_sim_coeff_ptr(&res.coeffs, k), want = *cc_sim_coeff_ptr(&t, k);
        if (fabs(got - want) > 1e-6 * want)
            fail_msg("%s: fit %.9g, truth %.9g", cc_sim_coeff_names[k], got, want);
    }
    assert_int_equal(res.held_mask, 0);
    assert_true(res.median_abs_rel_err < 1e-8);
    assert_true(res.max_abs_rel_err < 1e-6);
    assert_true(res.r2 > 1 - 1e-10);
    assert_int_equal(res.n_points, n);
}

static void test_calib_recovers_noisy(void **state)
{
    (void)state;
    cc_sim_hw hw;
    cc_sim_model m;
    load_h100_l8(&hw, &m);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 2024);
    cc_calib_point pts[64];
    size_t n = make_grid(pts, &TRUTH, 0.01, r, 1); /* 1% Gaussian noise */
    gsl_rng_free(r);
    cc_calib_result res;
    cc_err e = {0};
    assert_int_equal(cc_calib_fit(&hw, &m, pts, n, &res, &e), CC_OK);
    /* tolerances: efficiencies 3%, the step overhead 15%, the per-sequence
     * overhead (a small part of every point) 50% */
    static const double tol[CC_SIM_N_COEFFS] = {0.03, 0.03, 0.03, 0.15, 0.5};
    cc_sim_coeffs t = TRUTH;
    for (int k = 0; k < CC_SIM_N_COEFFS; k++) {
        double got = *cc_sim_coeff_ptr(&res.coeffs, k), want = *cc_sim_coeff_ptr(&t, k);
        printf("  %-16s fit %.6g truth %.6g (%+.2f%%)\n", cc_sim_coeff_names[k], got, want,
               100 * (got - want) / want);
        if (fabs(got - want) > tol[k] * want)
            fail_msg("%s: fit %.6g, truth %.6g", cc_sim_coeff_names[k], got, want);
    }
    printf("  median |rel err| %.4f, p95 %.4f, R^2 %.6f over %zu points\n",
           res.median_abs_rel_err, res.p95_abs_rel_err, res.r2, res.n_points);
    /* 1% noise: the median |error| of a good fit is near 0.67% */
    assert_true(res.median_abs_rel_err > 0.002 && res.median_abs_rel_err < 0.015);
    assert_true(res.p95_abs_rel_err < 0.04);
    assert_true(res.r2 > 0.999);

    /* the fit writes a profile that loads back with the fitted coefficients */
    char path[512];
    tu_tmp_path(path, sizeof path, "calibrated.profile");
    assert_int_equal(
        cc_calib_write_profile(path, &hw, "h100-fit", &m, &res, "synthetic test points", &e),
        CC_OK);
    cc_sim_hw back;
    assert_int_equal(cc_sim_hw_load(path, &back, &e), CC_OK);
    assert_string_equal(back.name, "h100-fit");
    for (int k = 0; k < CC_SIM_N_COEFFS; k++)
        assert_float_equal(*cc_sim_coeff_ptr(&back.coeffs, k),
                           *cc_sim_coeff_ptr(&res.coeffs, k),
                           1e-8 * *cc_sim_coeff_ptr(&res.coeffs, k));
    assert_float_equal(back.hbm_bytes_per_s, hw.hbm_bytes_per_s, 0);
    char *out = NULL;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -c 'Fit error: median' '%s'", path);
    assert_int_equal(tu_run(cmd, &out), 0);
    free(out);
    unlink(path);
}

/* Without decode steps no point is memory bound: eff_mem cannot be known
 * and keeps the prior; the others are still recovered. */
static void test_calib_holds_undetermined(void **state)
{
    (void)state;
    cc_sim_hw hw;
    cc_sim_model m;
    load_h100_l8(&hw, &m);
    cc_calib_point pts[64];
    size_t n = make_grid(pts, &TRUTH, 0, NULL, 0);
    /* keep only prefills of >= 512 tokens: all compute bound */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (pts[i].n_new >= 512)
            pts[k++] = pts[i];
    cc_calib_result res;
    cc_err e = {0};
    assert_int_equal(cc_calib_fit(&hw, &m, pts, k, &res, &e), CC_OK);
    assert_int_equal(res.held_mask, 1u << 2);
    assert_float_equal(res.coeffs.eff_mem, hw.coeffs.eff_mem, 0);
    assert_float_equal(res.coeffs.eff_linear, TRUTH.eff_linear, 1e-6);
    assert_float_equal(res.coeffs.eff_attn, TRUTH.eff_attn, 1e-6);
}

/* Steps faster than the profile's peaks allow (a linear efficiency of 9):
 * the fitted efficiencies stay within 1e-3..4, the range a profile file
 * accepts (profile.c's table), so the written profile loads. */
static void test_calib_bounds_efficiencies(void **state)
{
    (void)state;
    cc_sim_hw hw;
    cc_sim_model m;
    load_h100_l8(&hw, &m);
    const cc_sim_coeffs fast = {9.0, 0.41, 9.0, 1.5e-3, 4e-5};
    cc_calib_point pts[64];
    size_t n = make_grid(pts, &fast, 0, NULL, 1);
    cc_calib_result res;
    cc_err e = {0};
    assert_int_equal(cc_calib_fit(&hw, &m, pts, n, &res, &e), CC_OK);
    for (int k = 0; k < 3; k++) {
        double v = *cc_sim_coeff_ptr(&res.coeffs, k);
        if (!(v >= 1e-3 && v <= 4))
            fail_msg("%s = %g outside 1e-3..4", cc_sim_coeff_names[k], v);
    }
}

static void test_calib_bad_points(void **state)
{
    (void)state;
    cc_sim_hw hw;
    cc_sim_model m;
    load_h100_l8(&hw, &m);
    cc_calib_point pts[64];
    size_t n = make_grid(pts, &TRUTH, 0, NULL, 1);
    cc_calib_result res;
    cc_err e = {0};
    assert_int_equal(cc_calib_fit(&hw, &m, pts, 3, &res, &e), CC_EARG);
    assert_string_equal(e.field, "points");
    pts[5].seconds = -1;
    assert_int_equal(cc_calib_fit(&hw, &m, pts, n, &res, &e), CC_EARG);
    assert_string_equal(e.field, "seconds");
    assert_non_null(strstr(e.msg, "point 5"));
    pts[5].seconds = 1;
    pts[7].batch = 0;
    assert_int_equal(cc_calib_fit(&hw, &m, pts, n, &res, &e), CC_EARG);
    assert_string_equal(e.field, "batch");
    pts[7].batch = 1;
    pts[2].n_new = 0;
    assert_int_equal(cc_calib_fit(&hw, &m, pts, n, &res, &e), CC_EARG);
    assert_string_equal(e.field, "n_new");
    pts[2].n_new = 1;
    m.dtype = CC_SIM_FP8;
    cc_sim_hw a100;
    assert_int_equal(cc_sim_hw_load("a100-80g", &a100, &e), CC_OK);
    assert_int_equal(cc_calib_fit(&a100, &m, pts, n, &res, &e), CC_EUNSUP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evq_ties_in_push_order),
        cmocka_unit_test(test_evq_vs_sort),
        cmocka_unit_test(test_evq_vs_linear_scan),
        cmocka_unit_test(test_work_by_hand),
        cmocka_unit_test(test_model_profiles_param_counts),
        cmocka_unit_test(test_executor_times_by_hand),
        cmocka_unit_test(test_blend_by_hand),
        cmocka_unit_test(test_kv_transfer_by_hand),
        cmocka_unit_test(test_tensor_parallel_by_hand),
        cmocka_unit_test(test_shipped_profiles),
        cmocka_unit_test(test_profile_good_inputs),
        cmocka_unit_test(test_profile_bad_inputs),
        cmocka_unit_test(test_profile_lookup),
        cmocka_unit_test(test_profile_write_roundtrip),
        cmocka_unit_test(test_calib_recovers_exact),
        cmocka_unit_test(test_calib_recovers_noisy),
        cmocka_unit_test(test_calib_holds_undetermined),
        cmocka_unit_test(test_calib_bounds_efficiencies),
        cmocka_unit_test(test_calib_bad_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
