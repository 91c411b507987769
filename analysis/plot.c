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

/* Runs gnuplot on the script written so far (g, closed here); *svg gets
 * the SVG text. */
static int fig_run(fig *f, FILE *g, char **svg)
{
    fclose(g);
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' >'%s' 2>&1", f->gp, f->errf);
    int st = system(cmd);
    int rc;
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

/* Small multiples: series i goes to panel panel_of[i] (0..n_panels-1, in
 * a grid of up to 3 columns, each with its title); one panel is the plain
 * figure.  style: "linespoints", "lines" or "steps"; setup: axes (printf). */
static int fig_draw_panels(fig *f, const char *style, char **svg, size_t n_panels,
                           char (*panel_title)[200], const size_t *panel_of,
                           const char *setup, ...) __attribute__((format(printf, 7, 8)));
static int fig_draw_panels(fig *f, const char *style, char **svg, size_t n_panels,
                           char (*panel_title)[200], const size_t *panel_of,
                           const char *setup, ...)
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
    size_t cols = n_panels < 3 ? n_panels : 3, rows = (n_panels + cols - 1) / cols;
    int w = n_panels == 1 ? 720 : (int)cols * 440, h = n_panels == 1 ? 480 : (int)rows * 320;
    fprintf(g, "# %s: drawn by ctxcache report (analysis/plot.c)\n", f->name);
    for (int term = 0; term < 2; term++) {
        if (term == 0)
            fprintf(g, "set terminal svg size %d,%d font 'Helvetica,%d' noenhanced background "
                       "rgb 'white'\nset output '%s'\n", w, h, n_panels == 1 ? 11 : 10, f->svg);
        else
            fprintf(g, "set terminal pngcairo size %d,%d font 'Helvetica,10' noenhanced\n"
                       "set output '%s'\n", w * 5 / 4, h * 5 / 4, f->png);
        fprintf(g, "set grid\n");
        if (n_panels == 1)
            fprintf(g, "set key below noenhanced\n");
        else
            fprintf(g, "set key bottom right noenhanced font ',8' samplen 2 spacing 0.9\n");
        va_list ap;
        va_start(ap, setup);
        vfprintf(g, setup, ap);
        va_end(ap);
        if (n_panels > 1)
            fprintf(g, "\nset multiplot layout %zu,%zu\n", rows, cols);
        for (size_t p = 0; p < n_panels; p++) {
            if (n_panels > 1) {
                fputs("set title '", g);
                for (const char *c = panel_title[p]; *c; c++)
                    if (*c != '\'' && *c != '\\' && *c != '\n')
                        fputc(*c, g);
                fputs("' font ',9'\n", g);
            }
            fputs("plot ", g);
            int first = 1;
            for (size_t i = 0; i < f->n_series; i++) {
                if ((panel_of ? panel_of[i] : 0) != p)
                    continue;
                fprintf(g, "%s'%s' index %zu using 1:2 with %s title columnheader(1)",
                        first ? "" : ", ", f->dat, i, style);
                first = 0;
            }
            if (first)
                fputs("NaN notitle", g);
            fputc('\n', g);
        }
        if (n_panels > 1)
            fputs("unset multiplot\n", g);
        fputs("set output\n", g);
    }
    return fig_run(f, g, svg);
}

/* One panel. */
#define fig_draw(f, style, svg, ...) fig_draw_panels(f, style, svg, 1, NULL, NULL, __VA_ARGS__)

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
    /* the runs: one series per group (runs that differ only in the top
     * tier's capacity), token hit ratio against that capacity, in order of
     * capacity; a group of one run is one point, never a line to another run */
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        int first = 1;
        for (size_t w = 0; w < u && first; w++)
            first = strcmp(in->runs[w].group, r->group) != 0;
        if (!first || !r->input_tokens || !r->n_tiers)
            continue;
        char t[260];
        snprintf(t, sizeof t, "runs: %s", r->group);
        series(&f, t);
        size_t idx[256], n = 0;
        for (size_t w = u; w < in->n_runs && n < 256; w++)
            if (!strcmp(in->runs[w].group, r->group) && in->runs[w].n_tiers)
                idx[n++] = w;
        for (size_t i = 1; i < n; i++) /* insertion sort by capacity */
            for (size_t j = i; j > 0 && in->runs[idx[j]].tier_capacity[0] * in->runs[idx[j]].instances <
                                          in->runs[idx[j - 1]].tier_capacity[0] * in->runs[idx[j - 1]].instances; j--) {
                size_t x = idx[j];
                idx[j] = idx[j - 1];
                idx[j - 1] = x;
            }
        for (size_t i = 0; i < n; i++) {
            const cc_rep_run *q = &in->runs[idx[i]];
            double cap = (double)q->tier_capacity[0] * (double)q->instances;
            point(&f, cap, q->token_hit_ratio);
            lo = fmin(lo, cap);
            hi = fmax(hi, cap);
        }
    }
    if (!f.n_series)
        return no_data(&f, svg, "hit_capacity");
    return fig_draw(&f, "linespoints", svg,
                    "set title 'Hit ratio against capacity'\nset xlabel 'capacity of the top tier "
                    "(blocks, all instances)'\nset ylabel 'hit ratio (sweeps: blocks; runs: "
                    "tokens, all tiers)'\nset yrange [0:*]\n%s",
                    hi > 20 * lo && lo > 0 ? "set logscale x\n" : "");
}

/* Panels for per-run curves: one panel when there are few runs; else one
 * per group (runs that differ only in the top tier's capacity) when that
 * makes 2..12 panels; else runs in order, 6 to a panel.  Returns the panel
 * count; panel[u] and titles filled. */
static size_t run_panels(const cc_report_inputs *in, size_t *panel, char (*titles)[200],
                         size_t max_panels)
{
    size_t n = in->n_runs;
    if (n <= 6) {
        for (size_t u = 0; u < n; u++)
            panel[u] = 0;
        snprintf(titles[0], 200, "all runs");
        return 1;
    }
    size_t np = 0;
    for (size_t u = 0; u < n; u++) {
        size_t p = 0;
        while (p < np && strcmp(titles[p], in->runs[u].group))
            p++;
        if (p == np && np < max_panels)
            snprintf(titles[np++], 200, "%s", in->runs[u].group);
        panel[u] = p < max_panels ? p : max_panels - 1;
    }
    if (np >= 2 && np <= 12 && np < n)
        return np;
    np = (n + 5) / 6;
    if (np > max_panels)
        np = max_panels;
    for (size_t u = 0; u < n; u++) {
        panel[u] = u / 6 < np ? u / 6 : np - 1;
        if (u % 6 == 0 || u / 6 >= np)
            snprintf(titles[panel[u]], 200, "runs #%zu-#%zu", panel[u] * 6 + 1,
                     panel[u] + 1 == np ? n : panel[u] * 6 + 6);
    }
    return np;
}

int cc_plot_ttft_cdf(const cc_report_inputs *in, const char *dir, char **svg, cc_err *err)
{
    fig f;
    int rc = fig_open(&f, dir, "ttft_cdf", err);
    if (rc)
        return rc;
    enum { MAXP = 16 };
    char titles[MAXP][200];
    size_t *panel_of_run = calloc(in->n_runs ? in->n_runs : 1, sizeof *panel_of_run);
    size_t *panel_of_series = calloc(in->n_runs ? in->n_runs : 1, sizeof *panel_of_series);
    if (!panel_of_run || !panel_of_series) {
        free(panel_of_run);
        free(panel_of_series);
        fclose(f.d);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    }
    size_t np = in->n_runs ? run_panels(in, panel_of_run, titles, MAXP) : 1;
    double lo = INFINITY, hi = 0;
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        if (!r->requests)
            continue;
        char t[260];
        snprintf(t, sizeof t, "#%zu %s", u + 1, r->label);
        panel_of_series[f.n_series] = panel_of_run[u];
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
    if (!f.n_series) {
        free(panel_of_run);
        free(panel_of_series);
        return no_data(&f, svg, "ttft_cdf");
    }
    rc = fig_draw_panels(&f, "lines", svg, np, titles, panel_of_series,
                         "set title 'Time to first token (CDF)'\nset xlabel 'TTFT (s)'\n"
                         "set ylabel 'fraction of requests'\nset yrange [0:1]\n%s",
                         hi > 100 * lo && lo > 0 ? "set logscale x\n" : "");
    free(panel_of_run);
    free(panel_of_series);
    return rc;
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
    /* one panel per run (up to 12; a line per tier), or one panel */
    enum { MAXP = 12 };
    char titles[MAXP][200];
    size_t panel_of[64 * MAXP], np = 0;
    int multi = in->n_runs > 1;
    for (size_t u = 0; u < in->n_runs && np < MAXP; u++) {
        const cc_rep_run *r = &in->runs[u];
        if (!r->n_occ)
            continue;
        snprintf(titles[np], 200, "#%zu %s", u + 1, r->label);
        for (uint64_t k = 0; k < r->n_tiers && f.n_series < 64 * MAXP; k++) {
            char t[300];
            if (multi)
                snprintf(t, sizeof t, "%s", r->tier_name[k]);
            else
                snprintf(t, sizeof t, "#%zu %s: %s", u + 1, r->label, r->tier_name[k]);
            panel_of[f.n_series] = multi ? np : 0;
            series(&f, t);
            double cap = (double)r->tier_capacity[k] * (double)r->instances; /* per instance */
            for (size_t s = 0; s < r->n_occ; s++)
                point(&f, (double)(r->occ_time_ns[s] - r->occ_time_ns[0]) / 1e9,
                      cap > 0 ? (double)r->occ_used[s * r->n_tiers + k] / cap : 0);
        }
        np++;
    }
    if (!f.n_series)
        return no_data(&f, svg, "occupancy");
    return fig_draw_panels(&f, "steps", svg, multi ? np : 1, titles, panel_of,
                           "set title 'Tier occupancy over time'\nset xlabel 'trace time (s)'\n"
                           "set ylabel 'used / capacity'\nset yrange [0:1.05]\n");
}
