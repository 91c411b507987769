/*
 * report.c -- the self-contained HTML report of `ctxcache report` (report.h):
 * one page with a table per kind of input (runs, their configuration
 * differences, tiers, sweeps, miss-ratio curves, costs) and the figures of
 * plot.c inlined as SVG, so the page needs no other file.  Numbers are
 * printed with fixed formats and nothing depends on the clock, so the same
 * inputs give the same bytes.  Written to OUT.tmp and renamed (cc_outfile).
 */
#include "report.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void td_s(FILE *f, const char *s)
{
    fputs("<td>", f);
    esc(f, s);
    fputs("</td>", f);
}

static void td_f(FILE *f, const char *fmt, double v)
{
    if (isnan(v)) {
        fputs("<td class=n>&ndash;</td>", f);
        return;
    }
    fputs("<td class=n>", f);
    fprintf(f, fmt, v);
    fputs("</td>", f);
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The SVG element of a figure (from "<svg" on: the XML prolog is dropped). */
static void figure(FILE *f, const char *title, const char *svg)
{
    if (!svg)
        return;
    const char *s = strstr(svg, "<svg");
    if (!s)
        return;
    fputs("<figure>", f);
    fputs(s, f);
    fputs("<figcaption>", f);
    esc(f, title);
    fputs("</figcaption></figure>\n", f);
}

/* Field k of the runs' configuration, as text. */
static const char *const config_names[] = {"trace", "policy", "tiers", "mode", "concurrency",
                                            "block size", "seed", "version"};
static void config_value(const cc_rep_run *r, size_t k, char *v, size_t len)
{
    switch (k) {
    case 0: snprintf(v, len, "%s", r->trace); break;
    case 1: snprintf(v, len, "%s", r->policy); break;
    case 2: snprintf(v, len, "%s", r->tiers_spec); break;
    case 3: snprintf(v, len, "%s", r->mode); break;
    case 4: snprintf(v, len, "%s", r->concurrency); break;
    case 5: snprintf(v, len, "%llu", (unsigned long long)r->block_size); break;
    case 6: snprintf(v, len, "%llu", (unsigned long long)r->seed); break;
    default: snprintf(v, len, "%s", r->version); break;
    }
}

/* A run's /config value of option name, or NULL. */
static const char *cfg_get(const cc_rep_run *r, const char *name)
{
    for (size_t j = 0; j < r->n_cfg; j++)
        if (!strcmp(r->cfg_name[j], name))
            return r->cfg_value[j];
    return NULL;
}

static int is_no_cache(const cc_rep_run *r)
{
    const char *v = cfg_get(r, "no-cache");
    return v && !strcmp(v, "1");
}

/* Configuration fields that differ between runs: the fixed ones, then
 * every option of /config (as resolved) that differs. */
static void config_diff(FILE *f, const cc_report_inputs *in)
{
    fputs("<h2>Configuration differences</h2>\n", f);
    bool any = false;
    for (size_t k = 0; k < sizeof config_names / sizeof config_names[0]; k++) {
        char v0[300], v[300];
        bool differs = false;
        for (size_t u = 0; u < in->n_runs; u++) {
            config_value(&in->runs[u], k, v, sizeof v);
            if (u == 0)
                memcpy(v0, v, sizeof v0);
            else if (strcmp(v, v0))
                differs = true;
        }
        if (!differs)
            continue;
        if (!any)
            fputs("<table><tr><th>field</th><th>values, run by run</th></tr>\n", f);
        any = true;
        fputs("<tr>", f);
        td_s(f, config_names[k]);
        fputs("<td>", f);
        for (size_t u = 0; u < in->n_runs; u++) {
            config_value(&in->runs[u], k, v, sizeof v);
            fprintf(f, "%s#%zu: ", u ? "; " : "", u + 1);
            esc(f, v);
        }
        fputs("</td></tr>\n", f);
    }
    /* every other option as resolved (/config), by name; "-": a run without it */
    static const char *const shown[] = {"policy", "tiers", "mode", "concurrency", "block-size",
                                        "seed"};
    for (size_t u0 = 0; u0 < in->n_runs; u0++) {
        const cc_rep_run *r0 = &in->runs[u0];
        for (size_t j = 0; j < r0->n_cfg; j++) {
            const char *name = r0->cfg_name[j];
            bool seen = false, differs = false;
            for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++)
                seen = seen || !strcmp(name, shown[k]);
            for (size_t u = 0; u < u0 && !seen; u++) /* listed already for an earlier run */
                seen = cfg_get(&in->runs[u], name) != NULL;
            if (seen)
                continue;
            const char *v0 = cfg_get(&in->runs[0], name);
            for (size_t u = 1; u < in->n_runs; u++) {
                const char *v = cfg_get(&in->runs[u], name);
                differs = differs || !v0 != !v || (v && strcmp(v, v0));
            }
            if (!differs)
                continue;
            if (!any)
                fputs("<table><tr><th>field</th><th>values, run by run</th></tr>\n", f);
            any = true;
            fputs("<tr>", f);
            td_s(f, name);
            fputs("<td>", f);
            for (size_t u = 0; u < in->n_runs; u++) {
                const char *v = cfg_get(&in->runs[u], name);
                fprintf(f, "%s#%zu: ", u ? "; " : "", u + 1);
                esc(f, v ? v : "-");
            }
            fputs("</td></tr>\n", f);
        }
    }
    fputs(any ? "</table>\n" : "<p>All runs share trace, version and every option as "
                               "resolved.</p>\n", f);
}

/* A table cell with a number in human units (the exact value in its title). */
static void td_h(FILE *f, void (*fmt)(double, char *, size_t), double v)
{
    char b[64];
    fmt(v, b, sizeof b);
    if (isfinite(v))
        fprintf(f, "<td class=n title=\"%.17g\">%s</td>", v, b);
    else
        fputs("<td class=n>&ndash;</td>", f);
}

/* The first section: one card per run with what a reader compares first. */
static void run_cards(FILE *f, const cc_report_inputs *in)
{
    fputs("<h2>Runs at a glance</h2>\n<div class=cards>\n", f);
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        char a[64], b[64];
        fprintf(f, "<div class=card><h3>#%zu ", u + 1);
        esc(f, r->label);
        fputs("</h3>\n<dl>", f);
        fprintf(f, "<dt>hit ratio</dt><dd>%.3f of tokens, %.3f of blocks", r->token_hit_ratio,
                r->block_hit_ratio);
        if (r->n_tiers > 1 && r->input_tokens) {
            fputs(" (", f);
            for (uint64_t k = 0; k < r->n_tiers; k++) {
                fprintf(f, "%s", k ? ", " : "");
                esc(f, r->tier_name[k]);
                fprintf(f, " %.3f", (double)r->tier_hit_tokens[k] / (double)r->input_tokens);
            }
            fputs(")", f);
        }
        fputs("</dd>", f);
        cc_fmt_seconds(r->ttft_p50_s, a, sizeof a);
        cc_fmt_seconds(r->ttft_p99_s, b, sizeof b);
        fprintf(f, "<dt>TTFT</dt><dd>p50 %s, p99 %s%s</dd>", a, b,
                r->serial ? " <b class=warn>serial service: a queue, not serving "
                            "latency</b>" : "");
        if (r->has_sim && isfinite(r->throughput_tokens_per_s)) {
            cc_fmt_count(r->throughput_tokens_per_s, a, sizeof a);
            fprintf(f, "<dt>throughput</dt><dd>%s tokens/s", a);
            if (isfinite(r->requests_per_s))
                fprintf(f, ", %.3g requests/s", r->requests_per_s);
            fputs("</dd>", f);
        }
        if (r->has_semantic) {
            cc_fmt_seconds(r->sem_ttft_hit_p50_s, a, sizeof a);
            cc_fmt_seconds(r->sem_ttft_miss_p50_s, b, sizeof b);
            fprintf(f, "<dt>semantic</dt><dd>%.3f of queries answered from the cache",
                    r->sem_hit_ratio);
            if (isfinite(r->sem_false_hit_ratio))
                fprintf(f, " (%.4f false)", r->sem_false_hit_ratio);
            fprintf(f, "; TTFT p50 %s on hits, %s on misses</dd>", a, b);
        }
        if (r->has_blend) {
            cc_fmt_count((double)r->blend_tokens, a, sizeof a);
            fprintf(f, "<dt>blend</dt><dd>%.3f of tokens (%s) from cached chunks beyond the "
                       "prefix", r->blend_token_hit_ratio, a);
            if (isfinite(r->prefix_only_ttft_p50_s)) {
                cc_fmt_seconds(r->prefix_only_ttft_p50_s, b, sizeof b);
                fprintf(f, "; TTFT p50 %s without blend", b);
            }
            fputs("</dd>", f);
        }
        if (r->has_sim && isfinite(r->prefill_gpu_s_saved)) {
            if (is_no_cache(r) || r->prefill_gpu_s_saved == 0)
                snprintf(a, sizeof a, "0 s");
            else
                cc_fmt_seconds(r->prefill_gpu_s_saved, a, sizeof a);
            fprintf(f, "<dt>prefill saved</dt><dd>%s of GPU time by caching (each request "
                       "priced alone)", a);
            if (isfinite(r->gpu_busy_s)) {
                cc_fmt_seconds(r->gpu_busy_s, b, sizeof b);
                fprintf(f, "; GPUs busy %s", b);
            }
            fputs("</dd>", f);
        }
        if (r->n_bills) {
            fputs("<dt>bills</dt><dd>", f);
            for (size_t k = 0; k < r->n_bills; k++) {
                fprintf(f, "%s", k ? ", " : "");
                esc(f, r->bill_name[k]);
                int nc = isfinite(r->bill_no_cache_usd[k]);
                if (r->bill_blend_usd) /* blend counted; the prefix-only bill beside */
                    fprintf(f, " $%.4g (without blend $%.4g%s", r->bill_blend_usd[k],
                            r->bill_usd[k], nc ? ", " : ")");
                else
                    fprintf(f, " $%.4g%s", r->bill_usd[k], nc ? " (" : "");
                if (nc)
                    fprintf(f, "no cache $%.4g)", r->bill_no_cache_usd[k]);
            }
            fputs("</dd>", f);
        }
        cc_fmt_count((double)r->requests, a, sizeof a);
        fprintf(f, "<dt>requests</dt><dd>%s (", a);
        esc(f, base(r->trace));
        fputs(")</dd></dl></div>\n", f);
    }
    fputs("</div>\n", f);
}

/* "N (P %)" of a count and its share of a whole ("-" without a whole). */
static void td_share(FILE *f, double n, double whole)
{
    char a[64];
    cc_fmt_count(n, a, sizeof a);
    if (!isfinite(n)) {
        fputs("<td class=n>&ndash;</td>", f);
        return;
    }
    if (whole > 0)
        fprintf(f, "<td class=n title=\"%.17g\">%s (%.1f %%)</td>", n, a, 100 * n / whole);
    else
        fprintf(f, "<td class=n>%s</td>", a);
}

/* The pricing models of the runs, in order of first appearance (at most max). */
static size_t pricing_models(const cc_report_inputs *in, const char **names, size_t max)
{
    size_t n = 0;
    for (size_t u = 0; u < in->n_runs; u++)
        for (size_t k = 0; k < in->runs[u].n_bills; k++) {
            size_t j = 0;
            while (j < n && strcmp(names[j], in->runs[u].bill_name[k]))
                j++;
            if (j == n && n < max)
                names[n++] = in->runs[u].bill_name[k];
        }
    return n;
}

/* A run's bill under pricing model name: what = 0 the run's own (blend
 * counted in a blend run), 1 the same requests without any cache, 2 a
 * blend run's bill without blend (NaN in other runs). */
static double bill_of(const cc_rep_run *r, const char *name, int what)
{
    for (size_t k = 0; k < r->n_bills; k++)
        if (!strcmp(r->bill_name[k], name)) {
            if (what == 1)
                return r->bill_no_cache_usd[k];
            if (what == 2)
                return r->bill_blend_usd ? r->bill_usd[k] : NAN;
            return r->bill_blend_usd ? r->bill_blend_usd[k] : r->bill_usd[k];
        }
    return NAN;
}

/* What each tier contributed: the simulated runs side by side, tier by
 * tier (shown when a run has the semantic or the blend tier).  Every
 * request of the trace goes to the semantic tier first (a hit is answered
 * from the stored answer), a miss to the prefix tier, and what the prefix
 * leaves to blend; so tokens are shares of the trace's input tokens. */
static void tiers_contribution(FILE *f, const cc_report_inputs *in)
{
    int any = 0;
    for (size_t u = 0; u < in->n_runs; u++)
        any |= in->runs[u].has_semantic || in->runs[u].has_blend;
    if (!any)
        return;
    const char *pm[8];
    size_t npm = pricing_models(in, pm, 8);
    fputs("<h2>What each tier contributed</h2>\n<p>Requests go to the semantic tier first "
          "(a hit is answered with the stored answer: no prefill, no decode, not billed), a "
          "miss to the prefix tier (KV of the longest cached prefix), and what the prefix "
          "leaves to blend (KV of cached chunks at new positions, a share recomputed).  "
          "Token shares are of the trace's input tokens; bills are the providers' "
          "(<code>--pricing</code>), with the bill of the same requests without any cache "
          "below each; a blend run's bill counts its blended tokens as cache reads (the "
          "recomputed share as input), with its bill without blend below it.</p>\n<table><tr><th>#</th><th>run</th><th>semantic hits "
          "(of queries)</th><th>prefix hit tokens</th><th>blend tokens (recomputed)</th>"
          "<th>tokens prefilled</th><th>TTFT p50 / p99</th><th>TTFT p50 semantic hit / "
          "miss</th><th>GPU busy</th>", f);
    for (size_t k = 0; k < npm; k++) {
        fputs("<th>bill ", f);
        esc(f, pm[k]);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        if (!r->has_sim)
            continue;
        /* the trace's input tokens: the prefix tier's plus the semantic hits' */
        double whole = (double)r->input_tokens + (double)r->sem_hit_input_tokens;
        double prefix_hit = r->token_hit_ratio * (double)r->input_tokens;
        fprintf(f, "<tr><td>%zu</td>", u + 1);
        td_s(f, r->label);
        if (r->has_semantic)
            td_share(f, (double)r->sem_hits, (double)r->sem_queries);
        else
            td_s(f, "-");
        td_share(f, is_no_cache(r) ? 0 : prefix_hit, whole);
        if (r->has_blend) {
            char a[64], b[64];
            cc_fmt_count((double)r->blend_tokens, a, sizeof a);
            cc_fmt_count((double)r->blend_recompute_tokens, b, sizeof b);
            fprintf(f, "<td class=n title=\"%llu\">%s (%.1f %%), %s</td>",
                    (unsigned long long)r->blend_tokens, a,
                    whole > 0 ? 100 * (double)r->blend_tokens / whole : 0, b);
        } else {
            td_s(f, "-");
        }
        /* prefilled: what the prefix tier left, less what blend served, plus
         * what blend recomputed */
        double pre = (double)r->computed_tokens - (double)r->blend_tokens +
                     (double)r->blend_recompute_tokens;
        td_share(f, pre, whole);
        char a[64], b[64];
        cc_fmt_seconds(r->ttft_p50_s, a, sizeof a);
        cc_fmt_seconds(r->ttft_p99_s, b, sizeof b);
        fprintf(f, "<td class=n>%s / %s</td>", a, b);
        if (r->has_semantic) {
            cc_fmt_seconds(r->sem_ttft_hit_p50_s, a, sizeof a);
            cc_fmt_seconds(r->sem_ttft_miss_p50_s, b, sizeof b);
            fprintf(f, "<td class=n>%s / %s</td>", a, b);
        } else {
            td_s(f, "-");
        }
        td_h(f, cc_fmt_seconds, r->gpu_busy_s);
        for (size_t k = 0; k < npm; k++) {
            double usd = bill_of(r, pm[k], 0), nc = bill_of(r, pm[k], 1);
            double nb = bill_of(r, pm[k], 2);
            if (!isfinite(usd)) {
                td_s(f, "-");
                continue;
            }
            fprintf(f, "<td class=n title=\"%.17g\">$%.4g", usd, usd);
            if (isfinite(nb))
                fprintf(f, "<br><small>without blend $%.4g</small>", nb);
            if (isfinite(nc) && nc > 0)
                fprintf(f, "<br><small>no cache $%.4g</small>", nc);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        if (!r->has_blend || !isfinite(r->prefix_only_ttft_p50_s))
            continue;
        char a[64], b[64], c[64], d[64];
        cc_fmt_seconds(r->ttft_p50_s, a, sizeof a);
        cc_fmt_seconds(r->ttft_p99_s, b, sizeof b);
        cc_fmt_seconds(r->prefix_only_ttft_p50_s, c, sizeof c);
        cc_fmt_seconds(r->prefix_only_ttft_p99_s, d, sizeof d);
        fprintf(f, "<p>#%zu: with blend TTFT p50 %s, p99 %s; the same run without blend "
                   "(every other tier as configured) p50 %s, p99 %s.", u + 1, a, b, c, d);
        if (isfinite(r->prefix_only_token_hit_ratio))
            fprintf(f, "  The prefix tier's token hit ratio: %.4f with blend, %.4f without "
                       "(blend's chunk blocks share the tiers' capacity with prefix blocks).",
                    r->token_hit_ratio, r->prefix_only_token_hit_ratio);
        if (r->ttft_p50_s > r->prefix_only_ttft_p50_s)
            fputs("  <b>Blend made TTFT p50 worse here.</b>", f);
        fputs("</p>\n", f);
    }
    double busy_lo = INFINITY, busy_hi = 0;
    int whole_run = 1; /* every run's GPUs busy for 95 % of it or more */
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        if (!r->has_sim || !isfinite(r->gpu_busy_s))
            continue;
        busy_lo = fmin(busy_lo, r->gpu_busy_s);
        busy_hi = fmax(busy_hi, r->gpu_busy_s);
        whole_run &= isfinite(r->makespan_s) && r->gpu_busy_s >= 0.95 * r->makespan_s *
                                                                 (double)r->instances;
    }
    if (busy_hi > 0 && busy_hi <= 1.01 * busy_lo && whole_run)
        fputs("<p>GPU busy time differs by less than 1 % between these runs: the GPUs compute "
              "for nearly the whole run either way (requests keep arriving and decoding, steps "
              "run back to back), so the tiers show in TTFT and the bills here, and in how much "
              "more load the same GPUs take (<code>ctxcache plan</code>).</p>\n", f);
    if (in->n_runs && npm) {
        int semantic_billed = 0;
        for (size_t u = 0; u < in->n_runs; u++)
            semantic_billed |= in->runs[u].has_semantic && in->runs[u].n_bills;
        if (semantic_billed)
            fputs("<p class=note>A semantic run's bills cover the requests the model served "
                  "(its misses); its \"no cache\" figure is those requests' bill without "
                  "caching.  The prefix-only run's \"no cache\" figure covers every "
                  "request.</p>\n", f);
    }
}

static void runs_tables(FILE *f, const cc_report_inputs *in)
{
    fputs("<h2>Runs</h2>\n<table><tr><th>#</th><th>run</th><th>requests</th>"
          "<th>block hit ratio</th><th>token hit ratio</th><th>ideal (token)</th>"
          "<th>evictions</th><th>moved between tiers</th><th>TTFT p50</th><th>TTFT p90</th>"
          "<th>TTFT p99</th><th>results file</th></tr>\n", f);
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        fprintf(f, "<tr><td>%zu</td>", u + 1);
        td_s(f, r->label);
        td_h(f, cc_fmt_count, (double)r->requests);
        td_f(f, "%.4f", r->block_hit_ratio);
        td_f(f, "%.4f", r->token_hit_ratio);
        td_f(f, "%.4f", r->ideal_block_hit_ratio);
        td_h(f, cc_fmt_count, (double)r->evictions);
        td_h(f, cc_fmt_bytes, (double)r->bytes_moved);
        td_h(f, cc_fmt_seconds, r->ttft_p50_s);
        td_h(f, cc_fmt_seconds, r->ttft_p90_s);
        td_h(f, cc_fmt_seconds, r->ttft_p99_s);
        td_s(f, base(r->path));
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    config_diff(f, in);
    fputs("<h2>Tiers</h2>\n<table><tr><th>#</th><th>run</th><th>tier</th>"
          "<th>capacity (blocks)</th><th>hit tokens</th><th>share of input tokens</th></tr>\n",
          f);
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        for (uint64_t k = 0; k < r->n_tiers; k++) {
            fprintf(f, "<tr><td>%zu</td>", u + 1);
            td_s(f, k ? "" : r->label);
            td_s(f, r->tier_name[k]);
            td_h(f, cc_fmt_count, (double)r->tier_capacity[k]);
            td_h(f, cc_fmt_count, (double)r->tier_hit_tokens[k]);
            td_f(f, "%.4f", r->input_tokens ? (double)r->tier_hit_tokens[k] / r->input_tokens
                                            : NAN);
            fputs("</tr>\n", f);
        }
    }
    fputs("</table>\n", f);
}

/* "<h2>TITLE FILE</h2>" and a table's header row. */
static void table_head(FILE *f, const char *title, const char *path, const char *const *cols,
                       size_t n)
{
    fputs("<h2>", f);
    esc(f, title);
    fputc(' ', f);
    esc(f, base(path));
    fputs("</h2>\n<table><tr>", f);
    for (size_t k = 0; k < n; k++) {
        fputs("<th>", f);
        esc(f, cols[k]);
        fputs("</th>", f);
    }
    fputs("</tr>\n", f);
}

static int same_ttl(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Points i and j are the same but for their pricing model. */
static int same_point(const cc_rep_sweep *s, size_t i, size_t j)
{
    if (strcmp(s->policy[j], s->policy[i]) || s->block_size[j] != s->block_size[i] ||
        s->capacity[j] != s->capacity[i] || !same_ttl(s->ttl_s[j], s->ttl_s[i]))
        return 0;
    for (size_t a = 0; a < s->n_vary; a++)
        if (strcmp(s->vary_val[i][a], s->vary_val[j][a]))
            return 0;
    return 1;
}

/* One row per grid point (policy, block size, capacity, TTL and every other
 * axis whose values differ: tiers, concurrency, instances, hardware, model,
 * router, scheduler, tp, trace); the pricing axis becomes one bill column
 * per pricing model; TTFT p99 where points ran in the simulator. */
static void sweeps_table(FILE *f, const cc_report_inputs *in)
{
    for (size_t w = 0; w < in->n_sweeps; w++) {
        const cc_rep_sweep *s = &in->sweeps[w];
        /* the pricing models, in order of first appearance */
        const char *pr[16];
        size_t npr = 0;
        for (size_t i = 0; i < s->n && npr < 16; i++) {
            size_t k = 0;
            while (k < npr && strcmp(pr[k], s->pricing[i]))
                k++;
            if (k == npr)
                pr[npr++] = s->pricing[i];
        }
        int costs = s->cost_usd != NULL;
        for (size_t k = 0; costs && k < npr; k++)
            costs = !(npr == 1 && !strcmp(pr[0], "none"));
        fputs("<h2>", f);
        fprintf(f, "Sweep (%zu points) ", s->n);
        esc(f, base(s->path));
        fputs("</h2>\n<table><tr><th>policy</th><th>block size</th><th>capacity (blocks)</th>"
              "<th>TTL</th>", f);
        for (size_t a = 0; a < s->n_vary; a++) {
            fputs("<th>", f);
            esc(f, s->vary_name[a]);
            fputs("</th>", f);
        }
        int ttft = 0;
        for (size_t i = 0; s->ttft_p99_s && i < s->n && !ttft; i++)
            ttft = isfinite(s->ttft_p99_s[i]);
        fputs("<th>block hit ratio</th><th>token hit ratio</th>", f);
        if (ttft)
            fputs("<th>TTFT p99</th>", f);
        for (size_t k = 0; costs && k < npr; k++) {
            if (!strcmp(pr[k], "none"))
                continue;
            fputs("<th>bill, ", f);
            esc(f, pr[k]);
            fputs("</th>", f);
        }
        fputs("</tr>\n", f);
        for (size_t i = 0; i < s->n; i++) {
            /* a point's first row carries it; later rows of the point are its bills */
            int first = 1;
            for (size_t j = 0; j < i && first; j++)
                first = !same_point(s, i, j);
            if (!first)
                continue;
            fputs("<tr>", f);
            td_s(f, s->policy[i]);
            td_f(f, "%.0f", s->block_size[i]);
            td_h(f, cc_fmt_count, s->capacity[i]);
            if (isnan(s->ttl_s[i]))
                td_s(f, "-");
            else
                td_h(f, cc_fmt_seconds, s->ttl_s[i]);
            for (size_t a = 0; a < s->n_vary; a++)
                td_s(f, strcmp(s->vary_name[a], "trace") ? s->vary_val[i][a]
                                                         : base(s->vary_val[i][a]));
            td_f(f, "%.4f", s->block_hit_ratio[i]);
            td_f(f, "%.4f", s->token_hit_ratio[i]);
            if (ttft) {
                if (isfinite(s->ttft_p99_s[i]))
                    td_h(f, cc_fmt_seconds, s->ttft_p99_s[i]);
                else
                    td_s(f, "-");
            }
            for (size_t k = 0; costs && k < npr; k++) {
                if (!strcmp(pr[k], "none"))
                    continue;
                double usd = NAN;
                for (size_t j = i; j < s->n; j++)
                    if (!strcmp(s->pricing[j], pr[k]) && same_point(s, i, j)) {
                        usd = s->cost_usd[j];
                        break;
                    }
                td_f(f, "$%.4g", usd);
            }
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
}

static void mrc_table(FILE *f, const cc_report_inputs *in)
{
    for (size_t m = 0; m < in->n_mrcs; m++) {
        const cc_rep_mrc *c = &in->mrcs[m];
        static const char *const cols[] = {"series", "capacity (blocks)", "miss ratio"};
        table_head(f, "Miss-ratio curve", c->path, cols, 3);
        for (size_t i = 0; i < c->n; i++) {
            fputs("<tr>", f);
            td_s(f, c->series[i]);
            td_f(f, "%.0f", c->capacity[i]);
            td_f(f, "%.6f", c->miss_ratio[i]);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
}

static void cost_table(FILE *f, const cc_report_inputs *in)
{
    for (size_t k = 0; k < in->n_costs; k++) {
        const cc_rep_cost *c = &in->costs[k];
        static const char *const cols[] = {"pricing", "TTL (s)", "bill (USD)",
                                           "operator cost (USD)", ""};
        table_head(f, "Cost against TTL", c->path, cols, 5);
        for (size_t i = 0; i < c->n; i++) {
            /* the cheapest TTL of each pricing model's rows */
            size_t a = i, b = i;
            while (a > 0 && !strcmp(c->pricing[a - 1], c->pricing[i]))
                a--;
            while (b + 1 < c->n && !strcmp(c->pricing[b + 1], c->pricing[i]))
                b++;
            size_t best = a;
            for (size_t j = a; j <= b; j++)
                if (c->total_usd[j] < c->total_usd[best])
                    best = j;
            fputs("<tr>", f);
            td_s(f, c->pricing[i]);
            td_f(f, "%g", c->ttl_s[i]);
            td_f(f, "%.4f", c->total_usd[i]);
            td_f(f, "%.4f", c->operator_usd[i]);
            td_s(f, best == i ? "cheapest bill" : "");
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
}

/* What a reader must know before comparing: runs of the same configuration,
 * serial service beside overlapping runs. */
static void notes(FILE *f, const cc_report_inputs *in)
{
    size_t dup = 0, serial = 0;
    for (size_t u = 0; u < in->n_runs; u++) {
        dup += in->runs[u].dup;
        serial += in->runs[u].serial;
    }
    if (dup) {
        fputs("<p class=note>Runs", f);
        for (size_t u = 0, k = 0; u < in->n_runs; u++)
            if (in->runs[u].dup)
                fprintf(f, "%s #%zu", k++ ? "," : "", u + 1);
        fputs(" have the same configuration (every option as resolved, trace and version): "
              "their labels carry their numbers.  Is one of them given twice?</p>\n", f);
    }
    if (serial)
        fprintf(f, "<p class=note>%zu run(s) marked [serial] served one request at a time "
                   "(--concurrency none, the fcfs scheduler or --max-seqs 1): their TTFTs are a queue, not "
                   "serving latency.</p>\n", serial);
}

/* Plan files: the answer at each rate, then the Pareto fronts. */
static void plan_tables(FILE *f, const cc_report_inputs *in)
{
    static const char *const cols[] = {"rate scale", "meets SLO", "deployment", "tiers",
                                       "USD per hour", "USD per Mtok", "TTFT p99 (s)"};
    for (size_t p = 0; p < in->n_plans; p++) {
        const cc_rep_plan *pl = &in->plans[p];
        for (int t = 0; t < 2; t++) {
            const cc_rep_plan_rows *r = t ? &pl->pareto : &pl->answers;
            char title[400];
            snprintf(title, sizeof title, "%s (SLO %s)",
                     t ? "Plan: Pareto front, price against TTFT p99"
                       : "Plan: cheapest deployment meeting the SLO (or the closest)",
                     pl->slo);
            table_head(f, title, pl->path, cols, 7);
            for (size_t i = 0; i < r->n; i++) {
                char dep[128];
                snprintf(dep, sizeof dep, "%.0f x %s (tp %.0f)", r->instances[i], r->hardware[i],
                         r->tp[i]);
                fputs("<tr>", f);
                td_f(f, "%g", r->rate_scale[i]);
                td_s(f, r->meets[i] > 0 ? "yes" : "NO");
                td_s(f, dep);
                td_s(f, r->tiers[i]);
                td_f(f, "%.2f", r->usd_per_hour[i]);
                td_f(f, "%.4f", r->usd_per_mtok[i]);
                td_f(f, "%.4g", r->ttft_p99_s[i]);
                fputs("</tr>\n", f);
            }
            fputs("</table>\n", f);
        }
    }
}

int cc_report_write(const cc_report_inputs *in, const cc_report_opts *o, const char *out,
                    cc_err *err)
{
    char *svg[6] = {0};
    static const char *const titles[6] = {
        "Miss-ratio curves per policy (mrc CSVs)",
        "Hit ratio against the top tier's capacity (sweeps: per policy and block size; runs: "
        "per policy and tier layout)",
        "TTFT CDF per run (grouped by policy and tier layout when there are many)", "Cost against TTL per pricing model (bill and operator cost)",
        "Tier occupancy over time (used / capacity), one panel per run",
        "Plan: Pareto front of price against TTFT p99, per rate"};
    int rc = CC_OK;
    if (o->plots) {
        int (*const fn[6])(const cc_report_inputs *, const char *, char **, cc_err *) = {
            cc_plot_mrc, cc_plot_sweep_capacity, cc_plot_ttft_cdf, cc_plot_cost_ttl,
            cc_plot_occupancy, cc_plot_plan_pareto};
        for (int i = 0; i < 6 && rc == CC_OK; i++)
            rc = fn[i](in, o->plot_dir, &svg[i], err);
    }
    cc_outfile of;
    if (rc == CC_OK)
        rc = cc_outfile_open(&of, out, err);
    if (rc == CC_OK) {
        FILE *f = of.f;
        fputs("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>", f);
        esc(f, o->title ? o->title : "ctxcache report");
        fputs("</title>\n<style>body{font-family:sans-serif;margin:1.5em;max-width:1360px}"
              "table{border-collapse:collapse;margin:1em 0;font-size:90%;max-width:100%}"
              "td,th{border:1px solid #bbb;padding:2px 6px;overflow-wrap:anywhere}"
              "td.n{text-align:right;white-space:nowrap}th{background:#eee}"
              "figure{display:inline-block;margin:1em 0;max-width:100%}"
              "figure svg{max-width:100%;height:auto}"
              "figcaption{text-align:center;font-size:90%}"
              ".cards{display:flex;flex-wrap:wrap;gap:12px}"
              ".card{border:1px solid #bbb;border-radius:6px;padding:8px 12px;width:400px}"
              ".card h3{font-size:100%;margin:0 0 6px 0;overflow-wrap:anywhere}"
              ".card dl{display:grid;grid-template-columns:7.5em 1fr;margin:0;font-size:90%}"
              ".card dt{color:#555}.card dd{margin:0}.warn{color:#b00}"
              ".note{background:#fff6d5;border:1px solid #e0c060;padding:6px 10px}"
              "</style></head><body>\n<h1>", f);
        esc(f, o->title ? o->title : "ctxcache report");
        fprintf(f, "</h1>\n<p>ctxcache %s; inputs: %zu run(s), %zu sweep(s), %zu miss-ratio "
                   "curve file(s), %zu cost file(s).</p>\n",
                CC_VERSION, in->n_runs, in->n_sweeps, in->n_mrcs, in->n_costs);
        notes(f, in);
        if (in->n_runs)
            run_cards(f, in);
        tiers_contribution(f, in);
        if (in->n_plans)
            fprintf(f, "<p>%zu plan file(s).</p>\n", in->n_plans);
        for (int i = 0; i < 6; i++)
            figure(f, titles[i], svg[i]);
        if (in->n_runs)
            runs_tables(f, in);
        sweeps_table(f, in);
        mrc_table(f, in);
        cost_table(f, in);
        plan_tables(f, in);
        fputs("</body></html>\n", f);
        rc = cc_outfile_close(&of, out, ferror(f) ? CC_EIO : CC_OK, err);
    }
    for (int i = 0; i < 6; i++)
        free(svg[i]);
    return rc;
}

/* ---- summaries ---------------------------------------------------------------- */

static void csv_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int cc_report_summary_csv(const cc_report_inputs *in, const char *out, cc_err *err)
{
    cc_outfile of;
    int rc = cc_outfile_open(&of, out, err);
    if (rc)
        return rc;
    FILE *f = of.f;
    fputs("label,results,trace,policy,tiers,mode,concurrency,block_size,seed,requests,"
          "block_hit_ratio,token_hit_ratio,request_hit_ratio_mean,ideal_block_hit_ratio,"
          "evictions,bytes_moved,ttft_p50_s,ttft_p90_s,ttft_p99_s,ctxcache_version,"
          "serial_service\n", f);
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        const char *strs[] = {r->label, r->path, r->trace, r->policy, r->tiers_spec, r->mode,
                              r->concurrency};
        for (size_t k = 0; k < 7; k++) {
            csv_str(f, strs[k]);
            fputc(',', f);
        }
        fprintf(f, "%llu,%llu,%llu,%.17g,%.17g,%.17g,%.17g,%llu,%llu,%.17g,%.17g,%.17g,",
                (unsigned long long)r->block_size, (unsigned long long)r->seed,
                (unsigned long long)r->requests, r->block_hit_ratio, r->token_hit_ratio,
                r->request_hit_ratio_mean, r->ideal_block_hit_ratio,
                (unsigned long long)r->evictions, (unsigned long long)r->bytes_moved,
                r->ttft_p50_s, r->ttft_p90_s, r->ttft_p99_s);
        csv_str(f, r->version);
        fprintf(f, ",%d\n", r->serial_service);
    }
    return cc_outfile_close(&of, out, ferror(f) ? CC_EIO : CC_OK, err);
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

int cc_report_summary_json(const cc_report_inputs *in, const char *out, cc_err *err)
{
    json_t *arr = json_array();
    for (size_t u = 0; u < in->n_runs; u++) {
        const cc_rep_run *r = &in->runs[u];
        json_t *o = json_object();
        json_object_set_new(o, "label", json_string(r->label));
        json_object_set_new(o, "results", json_string(r->path));
        json_object_set_new(o, "trace", json_string(r->trace));
        json_object_set_new(o, "policy", json_string(r->policy));
        json_object_set_new(o, "tiers", json_string(r->tiers_spec));
        json_object_set_new(o, "mode", json_string(r->mode));
        json_object_set_new(o, "concurrency", json_string(r->concurrency));
        json_object_set_new(o, "block_size", json_integer((json_int_t)r->block_size));
        json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
        json_object_set_new(o, "requests", json_integer((json_int_t)r->requests));
        json_object_set_new(o, "block_hit_ratio", num_or_null(r->block_hit_ratio));
        json_object_set_new(o, "token_hit_ratio", num_or_null(r->token_hit_ratio));
        json_object_set_new(o, "request_hit_ratio_mean", num_or_null(r->request_hit_ratio_mean));
        json_object_set_new(o, "ideal_block_hit_ratio", num_or_null(r->ideal_block_hit_ratio));
        json_object_set_new(o, "evictions", json_integer((json_int_t)r->evictions));
        json_object_set_new(o, "bytes_moved", json_integer((json_int_t)r->bytes_moved));
        json_object_set_new(o, "ttft_p50_s", num_or_null(r->ttft_p50_s));
        json_object_set_new(o, "ttft_p90_s", num_or_null(r->ttft_p90_s));
        json_object_set_new(o, "ttft_p99_s", num_or_null(r->ttft_p99_s));
        json_object_set_new(o, "ctxcache_version", json_string(r->version));
        json_object_set_new(o, "serial_service", json_boolean(r->serial_service));
        if (r->n_cfg) { /* /config: every option as resolved (schema 1.1) */
            json_t *c = json_object();
            for (size_t j = 0; j < r->n_cfg; j++)
                json_object_set_new(c, r->cfg_name[j], json_string(r->cfg_value[j]));
            json_object_set_new(o, "config", c);
        }
        json_array_append_new(arr, o);
    }
    json_t *root = json_object();
    json_object_set_new(root, "runs", arr);
    cc_outfile of;
    int rc = cc_outfile_open(&of, out, err);
    if (rc == CC_OK) {
        int w = json_dumpf(root, of.f, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        fputc('\n', of.f);
        rc = cc_outfile_close(&of, out, w || ferror(of.f) ? CC_EIO : CC_OK, err);
    }
    json_decref(root);
    return rc;
}
