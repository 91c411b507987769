/*
 * bench_plan.c -- the SLO planner's search (analysis/plan.h) on the Azure
 * conversation trace (19,366 requests, lengths only: every token new):
 * Llama-3-8B on the H100 and A100 profiles, rates x1, x4, x8, TTFT p99 <=
 * 1 s, the default tiers (hbm=8GiB), policy and router, threads one per
 * CPU.  Figures: plan_azure_conv_s (wall seconds of the whole search,
 * trace read excluded; target < 60 on the project's 2-core machine), the
 * answer (plan_azure_conv_instances_x1/_x4/_x8, and _usd_per_hour_ and
 * _gpus_ of each; the hardware in the summary on stderr) and the number of
 * simulations the pruning left (plan_azure_conv_runs) out of the
 * exhaustive grid (plan_azure_conv_grid_points).  Skipped (an empty JSON
 * object) when the shared data is absent.
 */
#include "benchutil.h"

#include "../analysis/plan.h"

#include <string.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char path[1024];
    if (!bu_data(path, sizeof path, "azure/AzureLLMInferenceTrace_conv.csv")) {
        fprintf(stderr, "plan: Azure conversation trace absent (shared data): skipped\n");
        printf("{}\n");
        return 0;
    }
    cc_err e = {0};
    cc_trace t;
    if (cc_trace_read(path, "azure", NULL, &t, &e) != CC_OK) {
        fprintf(stderr, "plan: %s\n", e.msg);
        return 1;
    }
    static cc_plan_spec s;
    cc_plan_spec_default(&s);
    const char *hws[2] = {"h100-sxm", "a100-80g"};
    for (size_t i = 0; i < 2; i++)
        if (cc_sim_hw_load(hws[i], &s.hw[i], &e) != CC_OK) {
            fprintf(stderr, "plan: %s\n", e.msg);
            return 1;
        }
    s.n_hw = 2;
    if (cc_sim_model_load("llama-3-8b", &s.model, &e) != CC_OK) {
        fprintf(stderr, "plan: %s\n", e.msg);
        return 1;
    }
    s.slos[0] = (cc_plan_slo){CC_SLO_TTFT, 99, 1.0};
    s.n_slos = 1;
    s.rates[0] = 1, s.rates[1] = 4, s.rates[2] = 8;
    s.n_rates = 3;
    cc_plan_tiers tiers = {8.0 * 1073741824.0, 0, 0};
    s.tiers = &tiers;
    s.n_tiers = 1;
    cc_plan_result r;
    double t0 = bu_now_s();
    int rc = cc_plan_run(&t, &s, &r, &e);
    double dt = bu_now_s() - t0;
    if (rc != CC_OK) {
        fprintf(stderr, "plan: %s\n", e.msg);
        cc_trace_free(&t);
        return 1;
    }
    printf("{\"plan_azure_conv_s\": %.3f, \"plan_azure_conv_runs\": %zu, "
           "\"plan_azure_conv_grid_points\": %llu",
           dt, r.n_points, (unsigned long long)r.grid_points);
    fprintf(stderr, "plan: Azure conv (%zu requests), llama-3-8b on h100-sxm/a100-80g, TTFT p99 "
                    "<= 1 s: %.2f s wall, %zu simulations of %llu grid points\n",
            t.n, dt, r.n_points, (unsigned long long)r.grid_points);
    static const char *const tag[3] = {"x1", "x4", "x8"};
    for (size_t k = 0; k < 3; k++) {
        const cc_plan_answer *A = &r.answers[k];
        const cc_plan_point *p = &r.points[A->point];
        const cc_plan_config *c = &r.configs[p->config];
        printf(", \"plan_azure_conv_instances_%s\": %u, \"plan_azure_conv_gpus_%s\": %u, "
               "\"plan_azure_conv_usd_per_hour_%s\": %.4f",
               tag[k], A->met ? p->instances : 0, tag[k], A->met ? p->instances * c->tp : 0,
               tag[k], p->usd_per_hour);
        fprintf(stderr, "  rate %s: %s %u x %s (tp %d): $%.2f/h, $%.4f per Mtok, TTFT p99 %.3f s\n",
                tag[k], A->met ? "cheapest" : "NOT MET, closest", p->instances,
                s.hw[c->hw].name, c->tp, p->usd_per_hour, p->usd_per_mtok, p->ttft_p99_s);
    }
    printf("}\n");
    cc_plan_result_free(&r);
    cc_trace_free(&t);
    return 0;
}
