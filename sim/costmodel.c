/*
 * costmodel.c -- the cost-model executor: how long a step takes, predicted
 * from the FLOPs and bytes it moves and the numbers of a hardware profile.
 * The real engine (gpu/) fills the same cc_executor with measured times.
 *
 * Notation (model profile): L layers, h hidden, n_h query heads, n_kv K/V
 * heads, d head_dim, f ffn, V vocab; q = n_h d, g = n_kv d; b bytes per
 * weight element (the model's dtype, or the override), b_kv per KV element.
 * Hardware profile: P peak FLOP/s for the dtype, B memory bytes/s; the
 * coefficients e_lin, e_attn, e_mem (fractions of peak reached), o_step,
 * o_item (seconds) that the calibration fits.
 *
 * Work of a forward step over sequences i = 1..n, each with N_i new tokens
 * after C_i cached ones, T = sum N_i (cc_sim_work_forward):
 *
 *   P_layer      = h q + 2 h g + q h + 3 h f         linear weights per layer
 *                                                    (q, k, v, o; gate, up, down)
 *   flops_linear = 2 L P_layer T + 2 h V n           a multiply-add is 2 FLOPs;
 *                                                    one row of logits per sequence
 *   flops_attn   = 4 L q sum_i (N_i C_i + N_i (N_i + 1) / 2)
 *                  QK^T and PV, 2 FLOPs x d per head per (query, key) pair each;
 *                  new token j (1-based) of sequence i sees C_i + j keys (causal)
 *   bytes_weights = b (L (P_layer + 2 h + bias) + h + V h)
 *                  every layer's weights and norms, the final norm and the
 *                  lm_head read once per step (the embedding gather of T rows
 *                  and the activations are left out: O(T h), not O(params))
 *   bytes_kv     = 2 L g b_kv sum_i (C_i + N_i)
 *                  the cached K/V read once, the new K/V written once
 *
 * This is the same count as the engine's cc_model_forward_flops (gpu/) with
 * one logits row per sequence.  A decode step is the same with N_i = 1 and
 * C_i = the sequence's length before the step.
 *
 * Time of a step on tp devices (cc_sim_work_seconds), a roofline with
 * efficiency factors:
 *
 *   t_compute = (flops_linear / (P e_lin) + flops_attn / (P e_attn)) / tp
 *   t_memory  = (bytes_weights + bytes_kv) / (B e_mem) / tp
 *   t_comm    = 0 if tp = 1, else 2 L (lat + 2 (tp-1)/tp T h a / (R e_link))
 *               two ring all-reduces of the T x h activations per layer
 *               (after attention and after the MLP); R, lat: NVLink when the
 *               profile has it, else PCIe; a = max(b, 2) bytes
 *   t = max(t_compute, t_memory) + t_comm + o_step + o_item n
 *
 * Blend step (CacheBlend-style selective recompute; cc_sim_work_blend): per
 * sequence, P prefix tokens of exact hit, K tokens of reused chunks at new
 * positions of which R are recomputed, then N new tokens.  Layer 1
 * recomputes all K chunk tokens (to find the tokens whose K/V deviate most),
 * layers 2..L only the R selected ones, spread over the chunk positions (a
 * selected token sees on average P + (K+1)/2 keys):
 *
 *   flops_linear = 2 P_layer ((K + N) + (L - 1)(R + N)) + 2 h V
 *   flops_attn   = 4 q (A_1 + (L - 1) A_r)
 *     A_1 = K P + K (K+1)/2 + N (P + K) + N (N+1)/2
 *     A_r = R (P + (K+1)/2) + N (P + K) + N (N+1)/2
 *   bytes_kv     = 2 L g b_kv (P + K + N)   (each token's K/V touched once)
 *   T            = ((K + N) + (L - 1)(R + N)) / L   (for t_comm)
 *
 * With R = K this is exactly a prefill of K + N new tokens after P cached.
 *
 * Blend in the driver (`replay --blend`, sim/driver.c; docs/blend.md): a
 * request with P prefix-hit tokens and B tokens served by reused chunks, a
 * share R of them recomputed (r = round(R B)), is priced as the ordinary
 * forward above with
 *   N' = input - P - B + r   new tokens (fresh + recomputed)
 *   C' = P + B - r           present tokens (attention over the whole context)
 * plus, per lower tier k, one kv_transfer of kv_bytes_per_token x (prefix
 * and chunk tokens found in tier k), SERIAL or LAYERWISE with that compute,
 * as prefix hits from lower tiers.  R = 1 gives the prefix-only cost.
 *
 * KV transfer of `bytes` between tiers (kv_transfer): a tier reaches the
 * host by one link: device memory (HBM, PEER) by PCIe, DRAM directly, SSD
 * by NVMe, REMOTE by the network.  Between two different tiers the rate R is
 * the slowest of the two links and DRAM (bounce buffers), the latency the
 * sum of the two links' latencies; HBM <-> PEER uses NVLink when present.
 * Within one tier, R = that tier's rate / 2 (read and write), no latency.
 * Each of the tp devices moves bytes / tp over its own links (the profile's
 * host numbers are per-device shares):
 *
 *   tau = bytes / tp / (R e_link)
 *   SERIAL:    t = lat + tau + compute_s
 *   LAYERWISE: t = lat + tau/L + c + (L - 1) max(tau/L, c),  c = compute_s / L
 *              a two-stage pipeline over L layers: layer l computes while
 *              layer l+1 moves (LMCache's layer-wise loading; the same total
 *              for storing new K/V layer by layer behind the compute)
 *   bytes = 0: t = compute_s.
 *
 * Costs: O(n) per call over the items, no allocation per call; create
 * makes one allocation (the executor's copy of hw and model).
 */
#include "sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ABSURD_TOKENS INT64_C(1000000000)

typedef struct costmodel {
    cc_sim_hw hw;
    cc_sim_model m; /* with the dtype overrides applied */
    int tp;
} costmodel;

/* ---- work ------------------------------------------------------------------ */
static double layer_linear(const cc_sim_model *m)
{
    double h = m->hidden, q = (double)m->n_heads * m->head_dim,
           g = (double)m->n_kv_heads * m->head_dim;
    return h * q + 2 * h * g + q * h + 3 * h * m->ffn;
}

static double weight_bytes_read(const cc_sim_model *m)
{
    double h = m->hidden, q = (double)m->n_heads * m->head_dim,
           g = (double)m->n_kv_heads * m->head_dim;
    double bias = m->qkv_bias ? q + 2 * g : 0;
    double per_layer = layer_linear(m) + 2 * h + bias;
    return cc_sim_dtype_bytes(m->dtype) * (m->n_layers * per_layer + h + (double)m->vocab * h);
}

static void work_begin(const cc_sim_model *m, cc_sim_work *w)
{
    memset(w, 0, sizeof *w);
    w->bytes_weights = weight_bytes_read(m);
}

static void work_add(const cc_sim_model *m, double n_new, double n_cached, cc_sim_work *w)
{
    double q = (double)m->n_heads * m->head_dim;
    w->flops_linear += 2.0 * m->n_layers * layer_linear(m) * n_new + 2.0 * m->hidden * m->vocab;
    w->flops_attn += 4.0 * m->n_layers * q * (n_new * n_cached + n_new * (n_new + 1) / 2);
    w->bytes_kv += cc_sim_model_kv_bytes_per_token(m) * (n_cached + n_new);
    w->n_items += 1;
    w->n_tokens += n_new;
}

void cc_sim_work_forward(const cc_sim_model *m, const cc_sim_item *items, size_t n,
                         cc_sim_work *w)
{
    work_begin(m, w);
    for (size_t i = 0; i < n; i++)
        work_add(m, (double)items[i].n_new, (double)items[i].n_cached, w);
}

void cc_sim_work_blend(const cc_sim_model *m, const cc_sim_blend_item *items, size_t n,
                       cc_sim_work *w)
{
    work_begin(m, w);
    double L = m->n_layers, q = (double)m->n_heads * m->head_dim;
    for (size_t i = 0; i < n; i++) {
        double P = (double)items[i].n_prefix, K = (double)items[i].n_chunk,
               R = (double)items[i].n_recompute, N = (double)items[i].n_new;
        double tok_layers = (K + N) + (L - 1) * (R + N);
        double newpart = N * (P + K) + N * (N + 1) / 2;
        double a1 = K * P + K * (K + 1) / 2 + newpart;
        double ar = R * (P + (K + 1) / 2) + newpart;
        w->flops_linear += 2.0 * layer_linear(m) * tok_layers + 2.0 * m->hidden * m->vocab;
        w->flops_attn += 4.0 * q * (a1 + (L - 1) * ar);
        w->bytes_kv += cc_sim_model_kv_bytes_per_token(m) * (P + K + N);
        w->n_items += 1;
        w->n_tokens += tok_layers / L;
    }
}

/* The device link used by tensor-parallel all-reduces and peer copies. */
static void peer_link(const cc_sim_hw *hw, double *rate, double *lat)
{
    if (hw->nvlink_bytes_per_s > 0) {
        *rate = hw->nvlink_bytes_per_s;
        *lat = hw->nvlink_latency_s;
    } else {
        *rate = hw->pcie_bytes_per_s;
        *lat = hw->pcie_latency_s;
    }
}

double cc_sim_work_seconds(const cc_sim_hw *hw, const cc_sim_coeffs *c, const cc_sim_model *m,
                           int tp, const cc_sim_work *w)
{
    double peak = hw->peak_flop_per_s[m->dtype];
    double t_compute = (w->flops_linear / (peak * c->eff_linear) +
                        w->flops_attn / (peak * c->eff_attn)) / tp;
    double t_memory = (w->bytes_weights + w->bytes_kv) / (hw->hbm_bytes_per_s * c->eff_mem) / tp;
    double t_comm = 0;
    if (tp > 1) {
        double rate, lat;
        peer_link(hw, &rate, &lat);
        double a = cc_sim_dtype_bytes(m->dtype) > 2 ? cc_sim_dtype_bytes(m->dtype) : 2;
        double bytes = w->n_tokens * m->hidden * a;
        t_comm = 2.0 * m->n_layers *
                 (lat + 2.0 * (tp - 1) / tp * bytes / (rate * hw->eff_link));
    }
    return fmax(t_compute, t_memory) + t_comm + c->step_overhead_s +
           c->item_overhead_s * w->n_items;
}

/* ---- the executor ----------------------------------------------------------- */
static int check_count(int64_t v, int64_t min, const char *field, size_t i, cc_err *err)
{
    if (v < min || v > ABSURD_TOKENS)
        return cc_err_set(err, CC_EARG, NULL, 0, field,
                          "item %zu: expected %lld to %lld tokens, found %lld", i,
                          (long long)min, (long long)ABSURD_TOKENS, (long long)v);
    return CC_OK;
}

static int cm_prefill(void *self, const cc_sim_item *items, size_t n, double *seconds,
                      cc_err *err)
{
    costmodel *cm = self;
    *seconds = 0;
    if (n == 0)
        return CC_OK;
    if (!items)
        return cc_err_set(err, CC_EARG, NULL, 0, "items", "NULL items for %zu sequences", n);
    for (size_t i = 0; i < n; i++) {
        int rc = check_count(items[i].n_new, 1, "n_new", i, err);
        if (!rc)
            rc = check_count(items[i].n_cached, 0, "n_cached", i, err);
        if (rc)
            return rc;
    }
    cc_sim_work w;
    cc_sim_work_forward(&cm->m, items, n, &w);
    *seconds = cc_sim_work_seconds(&cm->hw, &cm->hw.coeffs, &cm->m, cm->tp, &w);
    return CC_OK;
}

static int cm_decode(void *self, const cc_sim_item *items, size_t n, double *seconds,
                     cc_err *err)
{
    costmodel *cm = self;
    *seconds = 0;
    if (n == 0)
        return CC_OK;
    if (!items)
        return cc_err_set(err, CC_EARG, NULL, 0, "items", "NULL items for %zu sequences", n);
    cc_sim_work w;
    work_begin(&cm->m, &w);
    for (size_t i = 0; i < n; i++) {
        int rc = check_count(items[i].n_new, 1, "n_new", i, err);
        if (!rc && items[i].n_new != 1)
            rc = cc_err_set(err, CC_EARG, NULL, 0, "n_new",
                            "item %zu: a decode step adds 1 token, got %lld", i,
                            (long long)items[i].n_new);
        if (!rc)
            rc = check_count(items[i].n_cached, 0, "n_cached", i, err);
        if (rc)
            return rc;
        work_add(&cm->m, 1.0, (double)items[i].n_cached, &w);
    }
    *seconds = cc_sim_work_seconds(&cm->hw, &cm->hw.coeffs, &cm->m, cm->tp, &w);
    return CC_OK;
}

static int cm_blend(void *self, const cc_sim_blend_item *items, size_t n, double *seconds,
                    cc_err *err)
{
    costmodel *cm = self;
    *seconds = 0;
    if (n == 0)
        return CC_OK;
    if (!items)
        return cc_err_set(err, CC_EARG, NULL, 0, "items", "NULL items for %zu sequences", n);
    for (size_t i = 0; i < n; i++) {
        const cc_sim_blend_item *b = &items[i];
        int rc = check_count(b->n_prefix, 0, "n_prefix", i, err);
        if (!rc)
            rc = check_count(b->n_chunk, 0, "n_chunk", i, err);
        if (!rc)
            rc = check_count(b->n_recompute, 0, "n_recompute", i, err);
        if (!rc)
            rc = check_count(b->n_new, 0, "n_new", i, err);
        if (rc)
            return rc;
        if (b->n_recompute > b->n_chunk)
            return cc_err_set(err, CC_EARG, NULL, 0, "n_recompute",
                              "item %zu: %lld tokens to recompute out of a chunk of %lld", i,
                              (long long)b->n_recompute, (long long)b->n_chunk);
        if (b->n_chunk + b->n_new == 0)
            return cc_err_set(err, CC_EARG, NULL, 0, "n_new",
                              "item %zu: no chunk and no new tokens: nothing to compute", i);
    }
    cc_sim_work w;
    cc_sim_work_blend(&cm->m, items, n, &w);
    *seconds = cc_sim_work_seconds(&cm->hw, &cm->hw.coeffs, &cm->m, cm->tp, &w);
    return CC_OK;
}

/* The link from a tier to the host: rate, latency and the profile key that
 * gives the rate (for the error when it is absent). */
static void tier_link(const cc_sim_hw *hw, int tier, double *rate, double *lat,
                      const char **key)
{
    switch (tier) {
    case CC_SIM_TIER_HBM:
    case CC_SIM_TIER_PEER:
        *rate = hw->pcie_bytes_per_s, *lat = hw->pcie_latency_s, *key = "pcie_bytes_per_s";
        return;
    case CC_SIM_TIER_DRAM:
        *rate = hw->dram_bytes_per_s, *lat = 0, *key = "dram_bytes_per_s";
        return;
    case CC_SIM_TIER_SSD:
        *rate = hw->nvme_bytes_per_s, *lat = hw->nvme_latency_s, *key = "nvme_bytes_per_s";
        return;
    default:
        *rate = hw->net_bytes_per_s, *lat = hw->net_latency_s, *key = "net_bytes_per_s";
        return;
    }
}

static int cm_kv_transfer(void *self, double bytes, int from, int to, int mode,
                          double compute_s, double *seconds, cc_err *err)
{
    costmodel *cm = self;
    const cc_sim_hw *hw = &cm->hw;
    *seconds = 0;
    if (from < 0 || from >= CC_SIM_TIER_COUNT || to < 0 || to >= CC_SIM_TIER_COUNT)
        return cc_err_set(err, CC_EARG, NULL, 0,
                          from < 0 || from >= CC_SIM_TIER_COUNT ? "from_tier" : "to_tier",
                          "expected a tier 0..%d, found %d -> %d", CC_SIM_TIER_COUNT - 1, from,
                          to);
    if (!(bytes >= 0) || !isfinite(bytes))
        return cc_err_set(err, CC_EARG, NULL, 0, "bytes", "expected >= 0, found %g", bytes);
    if (!(compute_s >= 0) || !isfinite(compute_s))
        return cc_err_set(err, CC_EARG, NULL, 0, "compute_s", "expected >= 0, found %g",
                          compute_s);
    if (mode != CC_SIM_XFER_SERIAL && mode != CC_SIM_XFER_LAYERWISE)
        return cc_err_set(err, CC_EARG, NULL, 0, "mode",
                          "expected SERIAL (0) or LAYERWISE (1), found %d", mode);
    double rate, lat;
    const char *key;
    if (from == to) {
        if (from == CC_SIM_TIER_HBM || from == CC_SIM_TIER_PEER)
            rate = hw->hbm_bytes_per_s, key = "hbm_bytes_per_s";
        else
            tier_link(hw, from, &rate, &lat, &key);
        rate /= 2, lat = 0;
        if (!(rate > 0))
            return cc_err_set(err, CC_EUNSUP, NULL, 0, key, "hardware '%s' has no %s tier",
                              hw->name, cc_sim_tier_name(from));
    } else if ((from == CC_SIM_TIER_HBM && to == CC_SIM_TIER_PEER) ||
               (from == CC_SIM_TIER_PEER && to == CC_SIM_TIER_HBM)) {
        peer_link(hw, &rate, &lat);
    } else {
        double ra, la, rb, lb;
        const char *ka, *kb;
        tier_link(hw, from, &ra, &la, &ka);
        tier_link(hw, to, &rb, &lb, &kb);
        if (!(ra > 0) || !(rb > 0))
            return cc_err_set(err, CC_EUNSUP, NULL, 0, !(ra > 0) ? ka : kb,
                              "hardware '%s' has no %s tier", hw->name,
                              cc_sim_tier_name(!(ra > 0) ? from : to));
        rate = fmin(fmin(ra, rb), hw->dram_bytes_per_s);
        lat = la + lb;
    }
    if (bytes == 0) {
        *seconds = compute_s;
        return CC_OK;
    }
    double tau = bytes / cm->tp / (rate * hw->eff_link);
    if (mode == CC_SIM_XFER_SERIAL) {
        *seconds = lat + tau + compute_s;
    } else {
        double L = cm->m.n_layers, tl = tau / L, cl = compute_s / L;
        *seconds = lat + tl + cl + (L - 1) * fmax(tl, cl);
    }
    return CC_OK;
}

static void cm_destroy(void *self) { free(self); }

static const cc_executor_ops costmodel_ops = {
    "costmodel", cm_prefill, cm_decode, cm_kv_transfer, cm_blend, NULL, cm_destroy, NULL,
};

void cc_costmodel_opts_default(cc_costmodel_opts *o)
{
    o->dtype = -1;
    o->kv_dtype = -1;
    o->tp = 1;
}

int cc_costmodel_create(const cc_sim_hw *hw, const cc_sim_model *m, const cc_costmodel_opts *o,
                        cc_executor *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    cc_costmodel_opts def;
    if (!o) {
        cc_costmodel_opts_default(&def);
        o = &def;
    }
    int rc = cc_sim_hw_validate(hw, err);
    if (!rc)
        rc = cc_sim_model_validate(m, err);
    if (rc)
        return rc;
    if (o->tp < 1 || o->tp > 1024)
        return cc_err_set(err, CC_EARG, NULL, 0, "tp", "expected 1..1024 devices, found %d",
                          o->tp);
    if (o->dtype < -1 || o->dtype >= CC_SIM_DTYPE_COUNT)
        return cc_err_set(err, CC_EARG, NULL, 0, "dtype", "unknown dtype code %d", o->dtype);
    if (o->kv_dtype < -1 || o->kv_dtype >= CC_SIM_DTYPE_COUNT)
        return cc_err_set(err, CC_EARG, NULL, 0, "kv_dtype", "unknown dtype code %d",
                          o->kv_dtype);
    costmodel *cm = calloc(1, sizeof *cm);
    if (!cm)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "", "cannot allocate the cost model");
    cm->hw = *hw;
    cm->m = *m;
    if (cm->m.kv_dtype < 0)
        cm->m.kv_dtype = cm->m.dtype;
    if (o->dtype >= 0)
        cm->m.dtype = o->dtype;
    if (o->kv_dtype >= 0)
        cm->m.kv_dtype = o->kv_dtype;
    cm->tp = o->tp;
    if (!(hw->peak_flop_per_s[cm->m.dtype] > 0)) {
        char key[48];
        const char *dt = cc_sim_dtype_name(cm->m.dtype);
        snprintf(key, sizeof key, "peak_%s_flop_per_s", dt);
        free(cm);
        return cc_err_set(err, CC_EUNSUP, NULL, 0, key,
                          "hardware '%s' has no %s peak (model '%s'); pick another dtype", hw->name,
                          dt, m->name);
    }
    out->ops = &costmodel_ops;
    out->self = cm;
    return CC_OK;
}

void cc_executor_free(cc_executor *x)
{
    if (x && x->ops && x->ops->destroy)
        x->ops->destroy(x->self);
    if (x)
        memset(x, 0, sizeof *x);
}

const char *cc_sim_tier_name(int tier)
{
    static const char *const names[CC_SIM_TIER_COUNT] = {"hbm", "dram", "ssd", "remote",
                                                         "peer"};
    return tier >= 0 && tier < CC_SIM_TIER_COUNT ? names[tier] : "?";
}
