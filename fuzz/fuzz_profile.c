/* fuzz_profile.c -- libFuzzer harness for the profile reader (sim/profile.c):
 * any input must be read or refused with a reason naming the file and a
 * line, never crash or leak.  An accepted profile must pass validation
 * again and give finite, positive step times in the cost model (paired with
 * the tiny model or a fixed hardware), so that no accepted number can make
 * the simulator divide by zero or overflow.  Seeds: the profile ones of fuzz/make_corpus.py. */
#include "sim/sim.h"
#include "fuzz_input.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void check_times(const cc_sim_hw *hw, const cc_sim_model *m)
{
    cc_costmodel_opts o;
    cc_costmodel_opts_default(&o);
    if (!(hw->peak_flop_per_s[m->dtype] > 0))
        o.dtype = CC_SIM_FP32; /* always present */
    cc_executor x;
    cc_err err = {0};
    if (cc_costmodel_create(hw, m, &o, &x, &err) != CC_OK)
        abort();
    cc_sim_item it[2] = {{1, 0, 0}, {4096, 100000, 1}};
    double s;
    if (cc_executor_prefill(&x, it, 2, &s, &err) != CC_OK || !isfinite(s) || !(s > 0))
        abort();
    cc_sim_blend_item b = {10, 1000, 100, 10, 0};
    if (cc_executor_blend(&x, &b, 1, &s, &err) != CC_OK || !isfinite(s) || !(s > 0))
        abort();
    for (int t = 0; t < CC_SIM_TIER_COUNT; t++) {
        int rc = cc_executor_kv_transfer(&x, 1e9, t, CC_SIM_TIER_HBM, CC_SIM_XFER_LAYERWISE,
                                         1e-3, &s, &err);
        if (rc != CC_OK && rc != CC_EUNSUP)
            abort();
        if (rc == CC_OK && (!isfinite(s) || !(s > 0)))
            abort();
    }
    cc_executor_free(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(data, size);
    cc_sim_profile p;
    cc_err err = {0};
    int rc = cc_sim_profile_read(path, &p, &err);
    if (rc != CC_OK) {
        if (err.msg[0] == '\0' || err.line < 1 || strcmp(err.file, path) != 0)
            abort(); /* every rejection says why and where */
        return 0;
    }
    if (p.kind == CC_SIM_PROFILE_HARDWARE) {
        if (cc_sim_hw_validate(&p.hw, &err) != CC_OK)
            abort();
        cc_sim_model m = {0};
        snprintf(m.name, sizeof m.name, "tiny");
        m.n_layers = 2, m.hidden = 64, m.n_heads = 4, m.n_kv_heads = 2, m.head_dim = 16;
        m.ffn = 128, m.vocab = 256, m.dtype = CC_SIM_FP32, m.kv_dtype = CC_SIM_FP32;
        m.rope_theta = 1e4, m.norm_eps = 1e-5;
        check_times(&p.hw, &m);
    } else if (p.kind == CC_SIM_PROFILE_MODEL) {
        if (cc_sim_model_validate(&p.model, &err) != CC_OK)
            abort();
        cc_sim_hw hw = {0};
        snprintf(hw.name, sizeof hw.name, "fixed");
        for (int d = 0; d < CC_SIM_DTYPE_COUNT; d++)
            hw.peak_flop_per_s[d] = 1e14;
        hw.hbm_bytes = 8e10, hw.hbm_bytes_per_s = 2e12, hw.pcie_bytes_per_s = 3e10;
        hw.dram_bytes = 1e12, hw.dram_bytes_per_s = 1e11, hw.eff_link = 0.8;
        hw.coeffs = (cc_sim_coeffs){0.6, 0.4, 0.8, 1e-3, 1e-5};
        check_times(&hw, &p.model);
    } else {
        abort();
    }
    return 0;
}
