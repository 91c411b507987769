/*
 * cmd_results.c -- `ctxcache results FILE.h5 --csv [-o OUT.csv]`: a results
 * file's per-request table as CSV (analysis/results_csv.c), for pandas and
 * spreadsheets.  To a file it is written atomically (OUT.tmp renamed when
 * complete); to standard output every write is checked.
 */
#include "cli.h"
#include "analysis/results.h"

#include <getopt.h>
#include <string.h>

static const char *const results_help =
    "usage: ctxcache results FILE.h5 --csv [-o OUT.csv]\n"
    "\n"
    "Exports the per-request table of a results file (`ctxcache replay ... -o FILE.h5`)\n"
    "as CSV: one row per request in trace order, the columns of /requests (arrival_ns,\n"
    "first_token_ns, hit_tokens, ...), then the simulator's (ttft_s, tpot_s, e2e_s,\n"
    "queue_s, instance, ...), per-tier columns as NAME.TIER (hit_blocks_by_tier.hbm).\n"
    "The columns are described in docs/results-format.md.\n"
    "\n"
    "  --csv        write CSV (the only format for now)\n"
    "  -o FILE      write to FILE instead of standard output\n"
    "\n"
    "examples:\n"
    "  ctxcache replay trace.h5 --capacity-blocks 20000 -o run.h5\n"
    "  ctxcache results run.h5 --csv -o run.csv\n"
    "  python3 -c \"import pandas as pd; print(pd.read_csv('run.csv').ttft_s.quantile(.99))\"\n";

int cmd_results(int argc, char **argv)
{
    const char *cmd = "results";
    static const struct option opts[] = {{"csv", no_argument, 0, 'c'},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int csv = 0, c;
    const char *out_path = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': csv = 1; break;
        case 'o': out_path = optarg; break;
        case 'h': fputs(results_help, stdout); return 0;
        default: return cli_usage_error(cmd, "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error(cmd, "expected a results file");
    if (argc - optind > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    if (!csv)
        return cli_usage_error(cmd, "say what to write: --csv");
    const char *in = argv[optind];
    if (out_path && !strcmp(out_path, in))
        return cli_usage_error(cmd, "-o %s would overwrite the results file it reads", out_path);
    cc_err err = {0};
    uint64_t rows = 0;
    if (!out_path) {
        int rc = cc_results_export_csv(in, stdout, &rows, &err);
        if (rc != CC_OK)
            return cli_fail(cmd, &err);
        if (fflush(stdout) || ferror(stdout)) {
            fprintf(stderr, "ctxcache %s: cannot write to standard output\n", cmd);
            return 3;
        }
        return 0;
    }
    cc_outfile of;
    if (cc_outfile_open(&of, out_path, &err) != CC_OK)
        return cli_fail(cmd, &err);
    int rc = cc_results_export_csv(in, of.f, &rows, &err);
    if (rc != CC_OK) {
        cc_err e2 = {0};
        cc_outfile_close(&of, out_path, rc, &e2);
        return cli_fail(cmd, &err);
    }
    if (cc_outfile_close(&of, out_path, ferror(of.f) ? CC_EIO : CC_OK, &err) != CC_OK)
        return cli_fail(cmd, &err);
    fprintf(stderr, "results: wrote %llu requests to %s\n", (unsigned long long)rows, out_path);
    return 0;
}
