/*
 * bench_trace_read.c -- reading the Mooncake conversation trace from its
 * JSONL and from the native HDF5 file, in one run: requests/s, MB/s and the
 * speedup (figure `hdf5_vs_jsonl_read_speedup`, target >= 10).
 * Each path is timed as the median of several full reads (open, parse,
 * validate, free) after one warm-up read, so page cache effects are equal.
 */
#include "benchutil.h"
#include "traces/traces.h"

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <string.h>

static double time_reads(const char *path, const char *fmt, int reps, size_t *n_req)
{
    double t[64];
    for (int r = -1; r < reps; r++) {
        cc_trace tr;
        cc_err err = {0};
        double t0 = bu_now_s();
        if (cc_trace_read(path, fmt, NULL, &tr, &err) != CC_OK) {
            cc_err_print(&err, stderr);
            exit(1);
        }
        double dt = bu_now_s() - t0;
        *n_req = tr.n;
        cc_trace_free(&tr);
        if (r >= 0)
            t[r] = dt;
    }
    gsl_sort(t, 1, reps);
    return gsl_stats_median_from_sorted_data(t, 1, reps);
}

int main(int argc, char **argv)
{
    char buf[1024];
    const char *jsonl = bu_data(buf, sizeof buf, "mooncake/conversation_trace.jsonl");
    if (!jsonl) {
        fprintf(stderr, "trace_read: skipped: Mooncake trace absent\n");
        printf("{\"trace_read_skipped\": true}\n");
        return 0;
    }
    const char *outdir = argc > 1 ? argv[1] : "build/bench";
    char h5[1024];
    snprintf(h5, sizeof h5, "%s/mooncake_conversation.h5", outdir);
    cc_trace tr;
    cc_err err = {0};
    if (cc_trace_read(jsonl, "mooncake", NULL, &tr, &err) != CC_OK ||
        cc_trace_write(&tr, h5, "h5", &err) != CC_OK) {
        cc_err_print(&err, stderr);
        return 1;
    }
    cc_trace_free(&tr);
    size_t n = 0;
    /* the HDF5 read takes a few ms: more reads, so that a burst of other
     * work on the machine moves its median less */
    int reps = 9, reps_h5 = 41;
    double tj = time_reads(jsonl, "mooncake", reps, &n);
    double th = time_reads(h5, "h5", reps_h5, &n);
    double mb_j = bu_file_size(jsonl) / 1e6, mb_h = bu_file_size(h5) / 1e6;
    fprintf(stderr,
            "trace_read: Mooncake conversation, %zu requests (median of %d JSONL, %d HDF5 reads)\n"
            "  JSONL %.2f MB: %.1f ms = %.0f requests/s, %.1f MB/s\n"
            "  HDF5  %.2f MB: %.1f ms = %.0f requests/s, %.1f MB/s\n"
            "  speedup HDF5 / JSONL: %.1fx (target >= 10x)\n",
            n, reps, reps_h5, mb_j, tj * 1e3, n / tj, mb_j / tj, mb_h, th * 1e3, n / th, mb_h / th, tj / th);
    printf("{\"trace_read_requests\": %zu, \"jsonl_read_s\": %.6f, \"jsonl_requests_per_s\": %.1f, "
           "\"jsonl_mb_per_s\": %.2f, \"jsonl_file_mb\": %.3f, \"hdf5_read_s\": %.6f, "
           "\"hdf5_requests_per_s\": %.1f, \"hdf5_mb_per_s\": %.2f, \"hdf5_file_mb\": %.3f, "
           "\"hdf5_vs_jsonl_read_speedup\": %.3f}\n",
           n, tj, n / tj, mb_j / tj, mb_j, th, n / th, mb_h / th, mb_h, tj / th);
    return 0;
}
