/*
 * cmd_report.c -- `ctxcache report FILE... [-o report.html]`: one HTML page
 * comparing runs, from results files (replay -o), sweep files (sweep -o),
 * miss-ratio-curve CSVs (mrc -o) and cost CSVs (cost --csv); the figures are
 * drawn by gnuplot into a folder beside the page (PNG and SVG) and inlined
 * as SVG (analysis/report.c, analysis/plot.c).
 */
#include "cli.h"
#include "../analysis/report.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char report_help[] =
    "usage: ctxcache report FILE... [-o report.html] [--plots DIR] [--no-plots] [--title T]\n"
    "\n"
    "Writes one self-contained HTML page (tables and figures inlined as SVG) comparing\n"
    "the runs and curves in FILE..., each detected by its content:\n"
    "  results file (ctxcache replay -o): a row per run, configuration differences, tiers,\n"
    "      TTFT percentiles and CDF, tier occupancy over time;\n"
    "  sweep file (ctxcache sweep -o): hit ratio against capacity per policy;\n"
    "  mrc CSV (ctxcache mrc -o): miss-ratio curves per policy;\n"
    "  cost CSV (ctxcache cost --csv): bill and operator cost against TTL per pricing model.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   the page (default report.html); written whole or not at all\n"
    "  --plots DIR         where the PNG and SVG figures go (default: OUTPUT without .html,\n"
    "                      plus _plots)\n"
    "  --no-plots          tables only (no gnuplot needed)\n"
    "  --title T           the page's title\n"
    "  --summary-csv FILE  also the runs table as CSV (one row per results file)\n"
    "  --summary-json FILE also the runs table as JSON ({\"runs\": [...]}, each with its /config)\n"
    "\n"
    "Needs gnuplot (make deps installs gnuplot-nox) unless --no-plots.  The same inputs\n"
    "give the same page and figures, byte for byte.\n"
    "\n"
    "examples:\n"
    "  ctxcache report build/run/results.h5 -o build/run/report.html\n"
    "  ctxcache report lru.h5 s3fifo.h5 arc.h5 mrc.csv cost.csv sweep.h5 -o compare.html\n"
    "  ctxcache report a.h5 b.h5 --no-plots --summary-csv runs.csv --summary-json runs.json\n";

int cmd_report(int argc, char **argv)
{
    const char *cmd = "report";
    enum { OPT_PLOTS = 1000, OPT_NOPLOTS, OPT_TITLE, OPT_SCSV, OPT_SJSON };
    static const struct option long_opts[] = {
        {"output", required_argument, NULL, 'o'}, {"plots", required_argument, NULL, OPT_PLOTS},
        {"no-plots", no_argument, NULL, OPT_NOPLOTS}, {"title", required_argument, NULL, OPT_TITLE},
        {"summary-csv", required_argument, NULL, OPT_SCSV},
        {"summary-json", required_argument, NULL, OPT_SJSON},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *out = "report.html", *plot_dir = NULL, *title = NULL, *scsv = NULL,
               *sjson = NULL;
    int plots = 1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", long_opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case OPT_PLOTS: plot_dir = optarg; break;
        case OPT_NOPLOTS: plots = 0; break;
        case OPT_TITLE: title = optarg; break;
        case OPT_SCSV: scsv = optarg; break;
        case OPT_SJSON: sjson = optarg; break;
        case 'h': fputs(report_help, stdout); return 0;
        default: return cli_usage_error(cmd, "bad option (see ctxcache report --help)");
        }
    }
    if (optind >= argc)
        return cli_usage_error(cmd, "give at least one results, sweep, mrc or cost file");
    char dir[1024];
    if (!plot_dir) {
        size_t n = strlen(out);
        if (n > 5 && !strcmp(out + n - 5, ".html"))
            n -= 5;
        if (snprintf(dir, sizeof dir, "%.*s_plots", (int)n, out) >= (int)sizeof dir)
            return cli_usage_error(cmd, "-o: path too long");
        plot_dir = dir;
    }
    if (plots && !cc_plot_available()) {
        fprintf(stderr, "ctxcache report: gnuplot is not installed (make deps installs "
                        "gnuplot-nox); use --no-plots for tables only\n");
        return 2;
    }
    cc_report_inputs in = {0};
    cc_err err = {0};
    for (int i = optind; i < argc; i++) {
        if (cc_report_add(&in, argv[i], &err) != CC_OK) {
            cc_report_inputs_free(&in);
            return cli_fail(cmd, &err);
        }
    }
    cc_report_opts o = {.plots = plots, .plot_dir = plot_dir, .title = title};
    int rc = cc_report_write(&in, &o, out, &err);
    if (rc == CC_OK && scsv)
        rc = cc_report_summary_csv(&in, scsv, &err);
    if (rc == CC_OK && sjson)
        rc = cc_report_summary_json(&in, sjson, &err);
    cc_report_inputs_free(&in);
    if (rc != CC_OK)
        return cli_fail(cmd, &err);
    if (plots)
        printf("report: wrote %s (figures in %s)\n", out, plot_dir);
    else
        printf("report: wrote %s\n", out);
    return 0;
}
