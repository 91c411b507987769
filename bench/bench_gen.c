/*
 * bench_gen.c -- speed of the workload generator: the built-in default
 * workload (4,000 requests, token ids kept; median of 7 runs), and one
 * million requests of the same mix without token ids at block sizes 16 and
 * 512 (one run each; chat contexts make a million prompts' token ids too
 * big to keep in memory).  Figures: requests/s and peak RSS.
 */
#include "benchutil.h"
#include "traces/traces.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <string.h>

/* The default spec with its [workload] section replaced by `workload`. */
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

static double time_gen(const char *spec, int reps, size_t *n_req)
{
    double t[16];
    for (int r = 0; r < reps; r++) {
        cc_trace tr;
        cc_err err = {0};
        double t0 = bu_now_s();
        if (cc_gen_from_spec_string(spec, "bench", 1, &tr, &err) != CC_OK) {
            cc_err_print(&err, stderr);
            exit(1);
        }
        t[r] = bu_now_s() - t0;
        *n_req = tr.n;
        cc_trace_free(&tr);
    }
    gsl_sort(t, 1, reps);
    return gsl_stats_median_from_sorted_data(t, 1, reps);
}

int main(void)
{
    size_t n_def, n16, n512;
    double td = time_gen(cc_gen_default_spec, 7, &n_def);
    char *s512 = variant("[workload]\nrequests = 1000000\ntoken_ids = false\nblock_size = 512\n");
    char *s16 = variant("[workload]\nrequests = 1000000\ntoken_ids = false\nblock_size = 16\n");
    double t512 = time_gen(s512, 1, &n512);
    double t16 = time_gen(s16, 1, &n16);
    double rss = bu_peak_rss_mb();
    free(s512);
    free(s16);
    fprintf(stderr,
            "gen: default workload, %zu requests: %.1f ms (%.0f requests/s)\n"
            "  1M requests, no token ids, block 512: %.2f s (%.0f requests/s)\n"
            "  1M requests, no token ids, block 16:  %.2f s (%.0f requests/s); peak RSS %.0f MB\n",
            n_def, td * 1e3, n_def / td, t512, n512 / t512, t16, n16 / t16, rss);
    printf("{\"gen_default_s\": %.6f, \"gen_default_requests_per_s\": %.1f, "
           "\"gen_1m_bs512_s\": %.3f, \"gen_1m_bs512_requests_per_s\": %.1f, "
           "\"gen_1m_bs16_s\": %.3f, \"gen_1m_bs16_requests_per_s\": %.1f, "
           "\"gen_peak_rss_mb\": %.1f}\n",
           td, n_def / td, t512, n512 / t512, t16, n16 / t16, rss);
    return 0;
}
