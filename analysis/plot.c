/*
 * plot.c -- the report's figures, drawn by gnuplot (report.h).  Each figure
 * writes DIR/NAME.dat (one block per series, the series' title on its first
 * line, blocks separated by two blank lines: gnuplot's `index`), DIR/NAME.gp
 * (the script) and runs `gnuplot DIR/NAME.gp`, which writes DIR/NAME.svg and
 * DIR/NAME.png (pngcairo).  Nothing in the inputs of gnuplot depends on the
 * clock, and its SVG carries no date, so the same inputs give the same files.
 * The SVG text is returned for inlining in the HTML report.
 * Cost: linear in the points drawn; TTFT CDFs are thinned to 400 quantiles.
 */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CDF_POINTS 400

int cc_plot_available(void)
{
    return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

typedef struct fig {
    const char *dir, *name;
    char dat[1200], gp[1200], svg[1200], png[1200], errf[1200];
    FILE *d;
    size_t n_series;
    cc_err *err;
} fig;

static int fig_open(fig *f, const char *dir, const char *name, cc_err *err)
{
    memset(f, 0, sizeof *f);
    f->dir = dir;
    f->name = name;
    f->err = err;
    if (strchr(dir, '\'') || strchr(dir, '"'))
        return cc_err_set(err, CC_EARG, dir, 0, "plot_dir", "quotes in the plot directory");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return cc_err_set(err, CC_EIO, dir, 0, NULL, "cannot create: %s", strerror(errno));
    snprintf(f->dat, sizeof f->dat, "%s/%s.dat", dir, name);
    snprintf(f->gp, sizeof f->gp, "%s/%s.gp", dir, name);
    snprintf(f->svg, sizeof f->svg, "%s/%s.svg", dir, name);
    snprintf(f->png, sizeof f->png, "%s/%s.png", dir, name);
    snprintf(f->errf, sizeof f->errf, "%s/%s.log", dir, name);
    f->d = fopen(f->dat, "w");
    if (!f->d)
        return cc_err_set(err, CC_EIO, f->dat, 0, NULL, "cannot create: %s", strerror(errno));
    return CC_OK;
}

/* A series title: quotes and backslashes dropped (gnuplot string syntax). */
static void series(fig *f, const char *title)
{
    if (f->n_series++)
        fputs("\n\n", f->d);
    fputc('"', f->d);
    for (const char *p = title; *p; p++)
        if (*p != '"' && *p != '\\' && *p != '\n')
            fputc(*p, f->d);
    fputs("\"\n", f->d);
}

static void point(fig *f, double x, double y)
{
    fprintf(f->d, "%.10g %.10g\n", x, y);
}

static char *slurp(const char *path, cc_err *err)
{
    FILE *in = fopen(path, "rb");
    if (!in) {
        cc_err_set(err, CC_EIO, path, 0, NULL, "gnuplot wrote no figure: %s", strerror(errno));
        return NULL;
    }
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!buf || fread(buf, 1, (size_t)n, in) != (size_t)n) {
        free(buf);
        fclose(in);
        cc_err_set(err, CC_EIO, path, 0, NULL, "cannot read the figure");
        return NULL;
    }
    buf[n] = '\0';
    fclose(in);
    return buf;
}

/* Writes the script (axes setup in `setup`, printf-style) and runs gnuplot;
 * *svg gets the SVG text.  style: "linespoints", "lines" or "steps". */
static int fig_draw(fig *f, const char *style, char **svg, const char *setup, ...)
    __attribute__((format(printf, 4, 5)));
static int fig_draw(fig *f, const char *style, char **svg, const char *setup, ...)
{
    *svg = NULL;
    int rc = CC_OK;
    if (fclose(f->d) != 0)
        rc = cc_err_set(f->err, CC_EIO, f->dat, 0, NULL, "cannot write");
    f->d = NULL;
    if (rc)
        return rc;
    FILE *g = fopen(f->gp, "w");
    if (!g)
        return cc_err_set(f->err, CC_EIO, f->gp, 0, NULL, "cannot create: %s", strerror(errno));
    fprintf(g, "# %s: drawn by ctxcache report (analysis/plot.c)\n", f->name);
    fprintf(g, "set terminal svg size 720,480 font 'Helvetica,11' noenhanced background rgb 'white'\n");
    fprintf(g, "set output '%s'\n", f->svg);
    fprintf(g, "set key below noenhanced\nset grid\n");
    va_list ap;
    va_start(ap, setup);
    vfprintf(g, setup, ap);
    va_end(ap);
    fprintf(g, "\nplot for [i=0:%zu] '%s' index i using 1:2 with %s title columnheader(1)\n",
            f->n_series ? f->n_series - 1 : 0, f->dat, style);
    fprintf(g, "set terminal pngcairo size 900,600 font 'Helvetica,10' noenhanced\n");
    fprintf(g, "set output '%s'\nreplot\nset output\n", f->png);
    fclose(g);
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' >'%s' 2>&1", f->gp, f->errf);
    int st = system(cmd);
    if (st != 0) {
        char *log = slurp(f->errf, f->err);
        rc = cc_err_set(f->err, CC_EIO, f->gp, 0, NULL, "gnuplot failed (status %d): %.300s", st,
                        log ? log : "");
        free(log);
        return rc;
    }
    remove(f->errf);
    char *text = slurp(f->svg, f->err);
    if (!text)
        return CC_EIO;
    *svg = text;
    return CC_OK;
}

static int no_data(fig *f, char **svg, const char *what)
{
    fclose(f->d);
    f->d = NULL;
    remove(f->dat);
    *svg = NULL;
    (void)what;
    return CC_OK;
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int cc_plot_mrc(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err)
{
    fig f;
    int rc = fig_open(&f, dir, "mrc", err);
    if (rc)
        return rc;
    double lo = INFINITY, hi = 0;
    for (size_t m = 0; m < in->n_mrcs; m++) {
        const cc_rep_mrc *c = &in->mrcs[m];
        for (size_t i = 0; i < c->n; i++) {
            if (i == 0 || strcmp(c->series[i], c->series[i - 1])) {
                char t[700];
                snprintf(t, sizeof t, "%s%s%s", c->series[i], in->n_mrcs > 1 ? " - " : "",
                         in->n_mrcs > 1 ? base(c->path) : "");
                series(&f, t);
            }
            point(&f, c->capacity[i], c->miss_ratio[i]);
            if (c->capacity[i] > 0 && c->capacity[i] < lo)
                lo = c->capacity[i];
            if (c->capacity[i] > hi)
                hi = c->capacity[i];
        }
    }
    if (!f.n_series)
        return no_data(&f, svg, "mrc");
    return fig_draw(&f, "linespoints", svg,
                    "set title 'Miss-ratio curves'\nset xlabel 'capacity (blocks)'\n"
                    "set ylabel 'block miss ratio'\nset yrange [0:1]\n%s",
                    hi > 20 * lo ? "set logscale x\n" : "");
}

int cc_plot_sweep_capacity(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err)
{
    fig f;
    int rc = fig_open(&f, dir, "hit_capacity", err);
    if (rc)
        return rc;
    double lo = INFINITY, hi = 0;
    for (size_t w = 0; w < in->n_sweeps; w++) {
        const cc_rep_sweep *s = &in->sweeps[w];
        if (!s->n)
            continue;
        /* one series per (policy, block size) at the first pricing and TTL
         * values, in grid order (capacity is inside policy) */
        for (size_t i = 0; i < s->n; i++) {
            bool same_ttl = (isnan(s->ttl_s[i]) && isnan(s->ttl_s[0])) || s->ttl_s[i] == s->ttl_s[0];
            if (strcmp(s->pricing[i], s->pricing[0]) || !same_ttl)
                continue;
            bool first = true;
            for (size_t j = 0; j < i; j++) {
                bool st = (isnan(s->ttl_s[j]) && isnan(s->ttl_s[0])) || s->ttl_s[j] == s->ttl_s[0];
                if (!strcmp(s->pricing[j], s->pricing[0]) && st &&
                    !strcmp(s->policy[j], s->policy[i]) && s->block_size[j] == s->block_size[i]) {
                    first = false;
                    break;
                }
            }
            if (!first)
                continue;
            char t[400];
            snprintf(t, sizeof t, "%s, %g-token blocks%s%s", s->policy[i], s->block_size[i],
                     in->n_sweeps > 1 ? " - " : "", in->n_sweeps > 1 ? base(s->path) : "");
            series(&f, t);
            for (size_t j = i; j < s->n; j++) {
                bool st = (isnan(s->ttl_s[j]) && isnan(s->ttl_s[0])) || s->ttl_s[j] == s->ttl_s[0];
                if (!strcmp(s->pricing[j], s->pricing[0]) && st &&
                    !strcmp(s->policy[j], s->policy[i]) && s->block_size[j] == s->block_size[i]) {
                    point(&f, s->capacity[j], s->block_hit_ratio[j]);
                    lo = fmin(lo, s->capacity[j]);
                    hi = fmax(hi, s->capacity[j]);
                }
            }
        }
    }
    /* the runs: each tier's share of the input tokens against its capacity */
    if (in->n_runs) {
        uint64_t maxT = 0;
        for (size_t u = 0; u < in->n_runs; u++)
            if (in->runs[u].n_tiers > maxT)
                maxT = in->runs[u].n_tiers;
        for (uint64_t k = 0; k < maxT; k++) {
            bool any = false;
            for (size_t u = 0; u < in->n_runs; u++) {
                const cc_rep_run *r = &in->runs[u];
                if (k >= r->n_tiers || !r->input_tokens)
                    continue;
                if (!any) {
                    char t[200];
                    snprintf(t, sizeof t, "runs: tier %llu (%s), token hit ratio",
                             (unsigned long long)k + 1, r->tier_name[k]);
                    series(&f, t);
                    any = true;
                }
                double cap = (double)r->tier_capacity[k] * (double)r->instances; /* per instance */
                point(&f, cap, (double)r->tier_hit_tokens[k] / (double)r->input_tokens);
                lo = fmin(lo, cap);
                hi = fmax(hi, cap);
            }
        }
    }
    if (!f.n_series)
        return no_data(&f, svg, "hit_capacity");
    return fig_draw(&f, "linespoints", svg,
                    "set title 'Hit ratio against capacity'\nset xlabel 'capacity (blocks)'\n"
                    "set ylabel 'hit ratio'\nset yrange [0:1]\n%s",
                    hi > 20 * lo && lo > 0 ? "set logscale x\n" : "");
}

int cc_plot_ttft_cdf(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err)
{
    fig f;
    int rc = fig_open(&f, dir, "ttft_cdf", err);
    if (rc)
        return rc;
    double lo = INFINITY, hi = 0;
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        if (!r->requests)
            continue;
        char t[700];
        snprintf(t, sizeof t, "#%zu %s", u + 1, base(r->path));
        series(&f, t);
        size_t n = (size_t)r->requests;
        for (int q = 0; q < CDF_POINTS; q++) {
            double p = (double)q / (CDF_POINTS - 1);
            double x = cc_quantile_sorted(r->ttft_s, n, p);
            point(&f, x, p);
            if (x > 0)
                lo = fmin(lo, x);
            hi = fmax(hi, x);
        }
    }
    if (!f.n_series)
        return no_data(&f, svg, "ttft_cdf");
    return fig_draw(&f, "lines", svg,
                    "set title 'Time to first token (CDF)'\nset xlabel 'TTFT (s)'\n"
                    "set ylabel 'fraction of requests'\nset yrange [0:1]\n%s",
                    hi > 100 * lo && lo > 0 ? "set logscale x\n" : "");
}

int cc_plot_cost_ttl(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err)
{
    fig f;
    int rc = fig_open(&f, dir, "cost_ttl", err);
    if (rc)
        return rc;
    double lo = INFINITY, hi = 0;
    for (size_t c = 0; c < in->n_costs; c++) {
        const cc_rep_cost *k = &in->costs[c];
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < k->n; i++) {
                if (i == 0 || strcmp(k->pricing[i], k->pricing[i - 1])) {
                    char t[400];
                    snprintf(t, sizeof t, "%s, %s%s%s", k->pricing[i],
                             pass ? "operator cost" : "bill", in->n_costs > 1 ? " - " : "",
                             in->n_costs > 1 ? base(k->path) : "");
                    series(&f, t);
                }
                point(&f, k->ttl_s[i], pass ? k->operator_usd[i] : k->total_usd[i]);
                if (k->ttl_s[i] > 0)
                    lo = fmin(lo, k->ttl_s[i]);
                hi = fmax(hi, k->ttl_s[i]);
            }
    }
    if (!f.n_series)
        return no_data(&f, svg, "cost_ttl");
    return fig_draw(&f, "linespoints", svg,
                    "set title 'Cost against TTL'\nset xlabel 'TTL (s)'\n"
                    "set ylabel 'USD'\nset logscale y\n%s",
                    hi > 20 * lo && lo > 0 ? "set logscale x\n" : "");
}

int cc_plot_plan_pareto(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err)
{
    fig f;
    int rc = fig_open(&f, dir, "plan_pareto", err);
    if (rc)
        return rc;
    for (size_t p = 0; p < in->n_plans; p++) {
        const cc_rep_plan_rows *r = &in->plans[p].pareto;
        for (size_t i = 0; i < r->n; i++) {
            if (i == 0 || r->rate_scale[i] != r->rate_scale[i - 1]) {
                char t[600];
                snprintf(t, sizeof t, "rate x%g%s%s", r->rate_scale[i], in->n_plans > 1 ? " - " : "",
                         in->n_plans > 1 ? base(in->plans[p].path) : "");
                series(&f, t);
            }
            point(&f, r->usd_per_hour[i], r->ttft_p99_s[i]);
        }
    }
    if (!f.n_series)
        return no_data(&f, svg, "plan_pareto");
    return fig_draw(&f, "linespoints", svg,
                    "set title 'Plan: Pareto front of price against TTFT p99'\n"
                    "set xlabel 'USD per hour'\nset ylabel 'TTFT p99 (s)'\nset logscale y\n");
}

int cc_plot_occupancy(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err)
{
    fig f;
    int rc = fig_open(&f, dir, "occupancy", err);
    if (rc)
        return rc;
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        if (!r->n_occ)
            continue;
        for (uint64_t k = 0; k < r->n_tiers; k++) {
            char t[800];
            snprintf(t, sizeof t, "#%zu %s: %s", u + 1, base(r->path), r->tier_name[k]);
            series(&f, t);
            double cap = (double)r->tier_capacity[k] * (double)r->instances; /* per instance */
            for (size_t s = 0; s < r->n_occ; s++)
                point(&f, (double)(r->occ_time_ns[s] - r->occ_time_ns[0]) / 1e9,
                      cap > 0 ? (double)r->occ_used[s * r->n_tiers + k] / cap : 0);
        }
    }
    if (!f.n_series)
        return no_data(&f, svg, "occupancy");
    return fig_draw(&f, "steps", svg,
                    "set title 'Tier occupancy over time'\nset xlabel 'trace time (s)'\n"
                    "set ylabel 'used / capacity'\nset yrange [0:1.05]\n");
}
