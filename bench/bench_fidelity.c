/*
 * bench_fidelity.c -- issue 5 item 6: the simulator's fidelity against the
 * real CPU engine.  Generates examples/fidelity.spec (seed 1), runs
 * `ctxcache fidelity --model small --max-requests 15 --json` (calibrate on
 * the engine, replay
 * the trace on the real engine and in the calibrated simulator through the
 * same driver) three times and reports the run with the median
 * ttft_error_median (the machine is shared and noisy: each calibration
 * point is already a median of 5 forwards).  The `small` model, not `tiny`:
 * tiny's steps last 20 us to 6 ms, the size of the scheduling jitter of a
 * shared 2-core machine, so its per-request errors measure the machine, not
 * the model (docs/real-engine.md has both; about 80 s a run with the full
 * calibration grid, fidelity's default).  Figures: ttft_error_median,
 * ttft_error_p95 (targets 0.05 and 0.10 in bench/run.sh), the calibration's
 * fit error and the real TTFT percentiles of that run.
 *
 * Issue 17 item 6: fidelity times calibration and replay on CPU time per
 * engine thread (--clock cpu, its default on the CPU backend), so a load
 * that differs between the two cancels; one more run with a competing
 * process spinning on one core the whole time gives
 * ttft_error_median_loaded (target <= 0.10) and ttft_error_p95_loaded.
 */
#include "benchutil.h"

#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 3

static json_t *run_json(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    json_error_t je;
    json_t *o = json_loadf(p, JSON_DISABLE_EOF_CHECK, &je);
    pclose(p);
    return o;
}

/* A child that spins on one core until killed (or its parent dies). */
static pid_t spin_start(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        volatile unsigned long x = 0;
        for (;;)
            x++;
    }
    return pid;
}

static double get(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return v && json_is_number(v) ? json_number_value(v) : -1;
}

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "build/bench";
    const char *b = getenv("BUILD");
    char bin[512], trace[1024], cmd[4096];
    snprintf(bin, sizeof bin, "%s/ctxcache", b ? b : "build");
    snprintf(trace, sizeof trace, "%s/fidelity_trace.h5", out);
    snprintf(cmd, sizeof cmd, "%s gen examples/fidelity.spec -o %s --seed 1 >/dev/null", bin,
             trace);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_fidelity: cannot generate the trace\n");
        return 1;
    }
    json_t *runs[RUNS] = {0};
    double t0 = bu_now_s();
    for (int r = 0; r < RUNS; r++) {
        snprintf(cmd, sizeof cmd, "%s fidelity %s --model small --max-requests 15 --json", bin, trace);
        runs[r] = run_json(cmd);
        if (!runs[r]) {
            fprintf(stderr, "bench_fidelity: run %d failed\n", r);
            for (int k = 0; k < r; k++)
                json_decref(runs[k]);
            return 1;
        }
    }
    double wall = bu_now_s() - t0;
    pid_t spinner = spin_start();
    json_t *loaded = spinner > 0 ? run_json(cmd) : NULL;
    if (spinner > 0) {
        kill(spinner, SIGKILL);
        waitpid(spinner, NULL, 0);
    }
    if (!loaded)
        fprintf(stderr, "bench_fidelity: the loaded run failed\n");
    /* the run with the median ttft_error_median */
    int idx[RUNS] = {0, 1, 2};
    for (int i = 0; i < RUNS; i++)
        for (int j = i + 1; j < RUNS; j++)
            if (get(runs[idx[j]], "ttft_error_median") < get(runs[idx[i]], "ttft_error_median")) {
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
    const json_t *m = runs[idx[RUNS / 2]];
    printf("{\"ttft_error_median\": %.6g, \"ttft_error_p95\": %.6g, "
           "\"fidelity_ttft_error_max\": %.6g, \"fidelity_calib_median_abs_rel_err\": %.6g, "
           "\"fidelity_calib_p95_abs_rel_err\": %.6g, \"fidelity_calib_r2\": %.6g, "
           "\"fidelity_real_ttft_p50_s\": %.6g, \"fidelity_real_ttft_p90_s\": %.6g, "
           "\"fidelity_real_ttft_p99_s\": %.6g, \"fidelity_requests\": %.0f",
           get(m, "ttft_error_median"), get(m, "ttft_error_p95"), get(m, "ttft_error_max"),
           get(m, "calib_median_abs_rel_err"), get(m, "calib_p95_abs_rel_err"),
           get(m, "calib_r2"), get(m, "real_ttft_p50_s"), get(m, "real_ttft_p90_s"),
           get(m, "real_ttft_p99_s"), get(m, "requests"));
    if (loaded)
        printf(", \"ttft_error_median_loaded\": %.6g, \"ttft_error_p95_loaded\": %.6g",
               get(loaded, "ttft_error_median"), get(loaded, "ttft_error_p95"));
    printf("}\n");
    fprintf(stderr, "fidelity (small, 15 requests, CPU, %d runs, %.1f s wall): TTFT error median", RUNS, wall);
    for (int r = 0; r < RUNS; r++)
        fprintf(stderr, " %.4f", get(runs[r], "ttft_error_median"));
    fprintf(stderr, "; p95");
    for (int r = 0; r < RUNS; r++)
        fprintf(stderr, " %.4f", get(runs[r], "ttft_error_p95"));
    fprintf(stderr, "\n");
    if (loaded)
        fprintf(stderr, "fidelity with one core spun by another process: TTFT error median "
                "%.4f, p95 %.4f (target median <= 0.10)\n", get(loaded, "ttft_error_median"),
                get(loaded, "ttft_error_p95"));
    json_decref(loaded);
    for (int r = 0; r < RUNS; r++)
        json_decref(runs[r]);
    return 0;
}
