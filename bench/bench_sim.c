/*
 * bench_sim.c -- speed of the serving simulator (sim/driver.c) with the full
 * cost model (h100-sxm, llama-3-8b): simulated requests per second on the
 * Mooncake conversation trace (when the shared data is there) and on a
 * one-million-request synthetic trace (the built-in default workload, block
 * size 16, generated in memory; generation not timed), both with
 * concurrency immediate and continuous batching (HBM KV budget as the
 * command sizes it: 0.9 of HBM less the weights), and the 1M trace with
 * concurrency none (one request at a time: one decode step per token).
 * Figures: sim_mooncake_requests_per_s, sim_1m_requests_per_s,
 * sim_1m_requests_s (wall seconds of the 1M replay; target < 60 on 2
 * cores), sim_1m_cpu_s, sim_1m_none_s, sim_1m_steps.  Wall and CPU time are
 * timings, not results.
 */
#include "benchutil.h"
#include "sim/driver.h"
#include "traces/traces.h"

#include <string.h>

static char *variant(const char *workload)
{
    const char *d = cc_gen_default_spec;
    const char *a = strstr(d, "[workload]"), *b = strstr(d, "[arrival]");
    size_t n = (size_t)(a - d);
    char *s = malloc(strlen(d) + strlen(workload) + 2);
    memcpy(s, d, n);
    strcpy(s + n, workload);
    strcat(s, "\n");
    strcat(s, b);
    return s;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct timing {
    double wall_s, cpu_s;
    uint64_t steps;
    double ttft_p50_s;
} timing;

/* 0.9 HBM - weights, the cache tier not taken out: the loop's speed over
 * abstract block counts (a timed replay would refuse these tiers -- 10,000
 * Mooncake blocks are 671 GB -- but the figures here are rates, kept
 * comparable with earlier runs) */
static uint64_t hbm_kv_tokens;

static timing run(const cc_trace *t, uint64_t capacity_blocks, cc_concurrency conc,
                  cc_executor *ex)
{
    cc_pc_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mode = CC_PC_PREFIX;
    cfg.kv_bytes_per_block = 131072ull * t->block_size;
    cfg.n_tiers = 1;
    strcpy(cfg.tiers[0].name, "hbm");
    cfg.tiers[0].capacity_blocks = capacity_blocks;
    cc_sim_config sc;
    cc_sim_config_default(&sc);
    sc.concurrency = conc;
    sc.hbm_kv_tokens = hbm_kv_tokens;
    cc_sim_result r;
    cc_err err = {0};
    double w0 = bu_now_s(), c0 = cpu_s();
    if (cc_sim_run(t, &cfg, NULL, &sc, ex, 1, &r, &err) != CC_OK) {
        cc_err_print(&err, stderr);
        exit(1);
    }
    timing tm = {bu_now_s() - w0, cpu_s() - c0, r.summary.steps, r.summary.ttft_s.p50.value};
    cc_sim_result_free(&r);
    return tm;
}

int main(void)
{
    cc_err err = {0};
    cc_sim_hw hw;
    cc_sim_model m;
    if (cc_sim_hw_load("h100-sxm", &hw, &err) != CC_OK ||
        cc_sim_model_load("llama-3-8b", &m, &err) != CC_OK) {
        cc_err_print(&err, stderr);
        return 1;
    }
    hbm_kv_tokens = (uint64_t)((hw.hbm_bytes * 0.9 - cc_sim_model_weight_bytes(&m, m.dtype)) /
                               cc_sim_model_kv_bytes_per_token(&m));
    cc_costmodel_opts co;
    cc_costmodel_opts_default(&co);
    cc_executor ex = {0};
    if (cc_costmodel_create(&hw, &m, &co, &ex, &err) != CC_OK) {
        cc_err_print(&err, stderr);
        return 1;
    }
    printf("{");
    char buf[1024];
    const char *mc = bu_data(buf, sizeof buf, "mooncake/conversation_trace.jsonl");
    if (mc) {
        cc_trace t;
        if (cc_trace_read(mc, "mooncake", NULL, &t, &err) != CC_OK) {
            cc_err_print(&err, stderr);
            return 1;
        }
        timing a = run(&t, 10000, CC_CONCURRENCY_IMMEDIATE, &ex);
        fprintf(stderr, "sim: Mooncake conversation, %zu requests, immediate, batch: %.3f s "
                "wall, %.3f s CPU (%.0f requests/s), %llu steps\n", t.n, a.wall_s, a.cpu_s,
                t.n / a.wall_s, (unsigned long long)a.steps);
        printf("\"sim_mooncake_requests_per_s\": %.1f, \"sim_mooncake_cpu_s\": %.4f, ",
               t.n / a.wall_s, a.cpu_s);
        cc_trace_free(&t);
    } else {
        fprintf(stderr, "sim: Mooncake trace absent (shared data): skipped\n");
    }
    char *spec = variant("[workload]\nrequests = 1000000\ntoken_ids = false\nblock_size = 16\n");
    cc_trace t;
    if (cc_gen_from_spec_string(spec, "bench", 1, &t, &err) != CC_OK) {
        cc_err_print(&err, stderr);
        return 1;
    }
    free(spec);
    timing b = run(&t, 1000000, CC_CONCURRENCY_IMMEDIATE, &ex);
    timing c = run(&t, 1000000, CC_CONCURRENCY_NONE, &ex);
    fprintf(stderr, "sim: 1M synthetic requests (block 16), immediate, batch: %.2f s wall, "
            "%.2f s CPU (%.0f requests/s), %llu steps; concurrency none: %.2f s wall, "
            "%llu steps; peak RSS %.0f MB\n", b.wall_s, b.cpu_s, t.n / b.wall_s,
            (unsigned long long)b.steps, c.wall_s, (unsigned long long)c.steps,
            bu_peak_rss_mb());
    printf("\"sim_1m_requests_per_s\": %.1f, \"sim_1m_requests_s\": %.3f, \"sim_1m_cpu_s\": "
           "%.3f, \"sim_1m_steps\": %llu, \"sim_1m_none_s\": %.3f, \"sim_1m_none_steps\": "
           "%llu}\n", t.n / b.wall_s, b.wall_s, b.cpu_s, (unsigned long long)b.steps, c.wall_s,
           (unsigned long long)c.steps);
    cc_trace_free(&t);
    cc_executor_free(&ex);
    return 0;
}
