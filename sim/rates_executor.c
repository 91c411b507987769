/*
 * rates_executor.c -- the fixed-rate executor (sim.h, cc_rates_executor_create):
 * the service-time model of `ctxcache replay --backend rates`, as one more
 * executor of the driver beside the cost model and the real engine.
 *
 * A step is priced from its token counts alone: prefill tokens at
 * prefill_tokens_per_s, decoded tokens at decode_tokens_per_s, each figure
 * rounded to whole nanoseconds (cc_replay_duration_ns) before it is
 * returned as seconds.  ns / 1e9 and back through the driver's
 * llround(s * 1e9) is exact below 2^51 ns (26 days of one step): two
 * correctly rounded operations stay within 2^-52 relative.  Context length
 * (n_cached), tier loads and blending cost nothing: that is the model, not
 * an omission.  The driver's lanes scheduler (driver.h) gives it one
 * request's stretch of computation or whole decode at a time, which is the
 * replay's per-request service-time model.  O(items) per call; 16 bytes of
 * state.
 */
#include "../core/replay.h"
#include "sim.h"

#include <math.h>
#include <stdlib.h>

typedef struct rates {
    double prefill_tps, decode_tps;
} rates;

static double seconds_of(uint64_t tokens, double tps)
{
    return (double)cc_replay_duration_ns(tokens, tps) / 1e9;
}

static int r_prefill(void *self, const cc_sim_item *items, size_t n, double *s, cc_err *err)
{
    const rates *R = self;
    uint64_t tok = 0;
    for (size_t i = 0; i < n; i++) {
        if (items[i].n_new < 0)
            return cc_err_set(err, CC_EARG, NULL, 0, "n_new", "expected >= 0, got %lld",
                              (long long)items[i].n_new);
        tok += (uint64_t)items[i].n_new;
    }
    *s = seconds_of(tok, R->prefill_tps);
    return CC_OK;
}

static int r_decode(void *self, const cc_sim_item *items, size_t n, double *s, cc_err *err)
{
    (void)items;
    (void)err;
    *s = seconds_of(n, ((const rates *)self)->decode_tps);
    return CC_OK;
}

static int r_decode_run(void *self, uint64_t req, int64_t n_cached, int64_t n_tokens, double *s,
                        cc_err *err)
{
    (void)req;
    (void)n_cached;
    if (n_tokens < 0)
        return cc_err_set(err, CC_EARG, NULL, 0, "n_tokens", "expected >= 0, got %lld",
                          (long long)n_tokens);
    *s = seconds_of((uint64_t)n_tokens, ((const rates *)self)->decode_tps);
    return CC_OK;
}

static int r_kv_transfer(void *self, double bytes, int from, int to, int mode, double compute_s,
                         double *s, cc_err *err)
{
    (void)self, (void)bytes, (void)from, (void)to, (void)mode, (void)err;
    *s = compute_s;
    return CC_OK;
}

static int r_blend(void *self, const cc_sim_blend_item *items, size_t n, double *s, cc_err *err)
{
    (void)err;
    uint64_t tok = 0;
    for (size_t i = 0; i < n; i++)
        tok += (uint64_t)(items[i].n_recompute + items[i].n_new);
    *s = seconds_of(tok, ((const rates *)self)->prefill_tps);
    return CC_OK;
}

static void r_destroy(void *self) { free(self); }

static const cc_executor_ops rates_ops = {
    "rates", r_prefill, r_decode, r_kv_transfer, r_blend, NULL, r_destroy, r_decode_run,
};

int cc_rates_executor_create(double prefill_tokens_per_s, double decode_tokens_per_s,
                             cc_executor *out, cc_err *err)
{
    out->ops = NULL;
    out->self = NULL;
    if (!(prefill_tokens_per_s > 0) || !(decode_tokens_per_s > 0))
        return cc_err_set(err, CC_EARG, NULL, 0,
                          prefill_tokens_per_s > 0 ? "decode_tokens_per_s" : "prefill_tokens_per_s",
                          "expected a positive rate (tokens/s), got %g",
                          prefill_tokens_per_s > 0 ? decode_tokens_per_s : prefill_tokens_per_s);
    rates *R = malloc(sizeof *R);
    if (!R)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the executor");
    R->prefill_tps = prefill_tokens_per_s;
    R->decode_tps = decode_tokens_per_s;
    out->ops = &rates_ops;
    out->self = R;
    return CC_OK;
}
