/*
 * deploy.c -- what one serving instance is made of: tp devices of one
 * hardware profile running one model with tensor parallelism, and whether
 * the model's weights, the HBM cache tier and the running requests' KV fit
 * in their memory (sim.h has the formulas).
 *
 * Tensor parallelism splits every layer's heads over the devices (Megatron
 * style), so tp must divide the query heads and the K/V heads; the cost
 * model (costmodel.c) divides compute and memory traffic by tp and adds the
 * all-reduce term.  Memory: each device holds 1/tp of the weights and of
 * every token's KV, so the instance's memory is tp times one device's.
 *
 * Costs: O(1), no allocation.
 */
#include "sim.h"

#include <math.h>
#include <stdio.h>

int cc_sim_tp_check(const cc_sim_model *m, int tp, cc_err *err)
{
    if (tp < 1 || tp > 64)
        return cc_err_set(err, CC_EARG, NULL, 0, "tp", "expected 1 to 64 devices, got %d", tp);
    if (m->n_heads % tp || m->n_kv_heads % tp)
        return cc_err_set(err, CC_EARG, NULL, 0, "tp",
                          "tensor parallelism over %d devices must divide %s's %d attention "
                          "heads and %d K/V heads (valid: the common divisors, e.g. 1, 2, 4, 8 "
                          "for 32 and 8)", tp, m->name, m->n_heads, m->n_kv_heads);
    return CC_OK;
}

int cc_sim_fit_compute(const cc_sim_hw *hw, const cc_sim_model *m, int tp, double hbm_fraction,
                       double cache_bytes, double min_kv_bytes, cc_sim_fit *out, cc_err *err)
{
    out->usable_bytes = out->weight_bytes = out->cache_bytes = out->kv_bytes = 0;
    out->kv_tokens = 0;
    int rc = cc_sim_tp_check(m, tp, err);
    if (rc)
        return rc;
    if (!(hbm_fraction > 0 && hbm_fraction <= 1))
        return cc_err_set(err, CC_EARG, NULL, 0, "hbm_fraction",
                          "expected a fraction in (0, 1], got %g", hbm_fraction);
    if (!(cache_bytes >= 0) || !(min_kv_bytes >= 0))
        return cc_err_set(err, CC_EARG, NULL, 0, "hbm", "negative size");
    out->usable_bytes = tp * hw->hbm_bytes * hbm_fraction;
    out->weight_bytes = cc_sim_model_weight_bytes(m, m->dtype);
    out->cache_bytes = cache_bytes;
    out->kv_bytes = out->usable_bytes - out->weight_bytes - cache_bytes;
    double per_token = cc_sim_model_kv_bytes_per_token(m);
    if (out->kv_bytes > 0 && per_token > 0)
        out->kv_tokens = (uint64_t)(out->kv_bytes / per_token);
    double need = fmax(min_kv_bytes, per_token); /* room for one running token at least */
    if (!(out->kv_bytes >= need) || out->kv_tokens == 0) {
        char what[64];
        if (min_kv_bytes > 0)
            snprintf(what, sizeof what, "%.3g GB", need / 1e9);
        else
            snprintf(what, sizeof what, "one token");
        return cc_err_set(err, CC_ERANGE, NULL, 0, "hbm",
                          "%s on %d x %s does not fit: %.3g GB usable (%d x %.3g GB x %g) for "
                          "%.3g GB of weights + %.3g GB of HBM cache tier + running requests' "
                          "KV (%s at least): %.3g GB short",
                          m->name, tp, hw->name, out->usable_bytes / 1e9, tp,
                          hw->hbm_bytes / 1e9, hbm_fraction, out->weight_bytes / 1e9,
                          cache_bytes / 1e9, what,
                          (out->weight_bytes + cache_bytes + need - out->usable_bytes) / 1e9);
    }
    return CC_OK;
}
