/*
 * report_label.c -- what a report calls each run, and numbers in human
 * units (report.h).
 *
 * A run is labelled by the configuration fields whose values differ
 * between the runs of the report, read from its /config (every option as
 * resolved), in a fixed order of importance: policy, tier layout, then the
 * serving setup (concurrency, backend, hardware, model, tp, instances,
 * router, scheduler), pricing, context cache, mode, block size, trace, seed,
 * then any other option that differs.  Policy and tiers are shown bare
 * ("s3fifo · hbm:2000,dram:10000"), the rest as key=value.  A run whose
 * service is serial (timed, one request at a time) carries "[serial]" in
 * every label, so its TTFTs (a queue) are never read as serving figures.
 * The group of a run is its label without the top tier's capacity: runs of
 * one group differ only in that capacity and form one curve against it.
 * Labels that come out equal (two runs of the same configuration) get
 * " (#N)" with the run's number.
 */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void cc_fmt_seconds(double s, char *buf, size_t len)
{
    if (!isfinite(s))
        snprintf(buf, len, "-");
    else if (fabs(s) < 1e-3)
        snprintf(buf, len, "%.3g µs", s * 1e6);
    else if (fabs(s) < 1)
        snprintf(buf, len, "%.3g ms", s * 1e3);
    else if (fabs(s) < 120)
        snprintf(buf, len, "%.3g s", s);
    else if (fabs(s) < 7200)
        snprintf(buf, len, "%.3g min", s / 60);
    else
        snprintf(buf, len, "%.3g h", s / 3600);
}

void cc_fmt_bytes(double b, char *buf, size_t len)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (!isfinite(b)) {
        snprintf(buf, len, "-");
        return;
    }
    int k = 0;
    while (fabs(b) >= 1024 && k < 5) {
        b /= 1024;
        k++;
    }
    snprintf(buf, len, k ? "%.3g %s" : "%.0f %s", b, u[k]);
}

void cc_fmt_count(double n, char *buf, size_t len)
{
    if (!isfinite(n))
        snprintf(buf, len, "-");
    else if (fabs(n) < 1e4)
        snprintf(buf, len, "%.0f", n);
    else if (fabs(n) < 1e6)
        snprintf(buf, len, "%.3g k", n / 1e3);
    else if (fabs(n) < 1e9)
        snprintf(buf, len, "%.3g M", n / 1e6);
    else
        snprintf(buf, len, "%.3g G", n / 1e9);
}

static const char *cfg_get(const cc_rep_run *r, const char *name)
{
    for (size_t j = 0; j < r->n_cfg; j++)
        if (!strcmp(r->cfg_name[j], name))
            return r->cfg_value[j];
    return NULL;
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The tier layout as written: --tiers, or the one tier of --capacity-blocks. */
static void tiers_of(const cc_rep_run *r, char *buf, size_t len)
{
    if (r->tiers_spec[0]) {
        snprintf(buf, len, "%s", r->tiers_spec);
        return;
    }
    const char *cap = cfg_get(r, "capacity-blocks");
    if (cap && *cap)
        snprintf(buf, len, "%s:%s", r->n_tiers ? r->tier_name[0] : "hbm", cap);
    else if (r->n_tiers)
        snprintf(buf, len, "%s:%llu", r->tier_name[0], (unsigned long long)r->tier_capacity[0]);
    else
        snprintf(buf, len, "?");
}

/* The layout without the top tier's capacity: "hbm:*,dram:10000". */
static void layout_of(const cc_rep_run *r, char *buf, size_t len)
{
    char t[256];
    tiers_of(r, t, sizeof t);
    const char *colon = strchr(t, ':');
    if (!colon) {
        snprintf(buf, len, "%s", t);
        return;
    }
    const char *rest = colon + 1;
    while (*rest && *rest != ',' && *rest != ':')
        rest++;
    snprintf(buf, len, "%.*s:*%s", (int)(colon - t), t, rest);
}

/* The cache tiers a run went through, in request order: "semantic+prefix+blend",
 * "prefix", "no cache" (/config's semantic, blend and no-cache). */
static void stack_of(const cc_rep_run *r, char *buf, size_t len)
{
    const char *nc = cfg_get(r, "no-cache"), *sem = cfg_get(r, "semantic"),
               *bl = cfg_get(r, "blend");
    if (nc && !strcmp(nc, "1")) {
        snprintf(buf, len, "no cache");
        return;
    }
    snprintf(buf, len, "%sprefix%s", sem && !strcmp(sem, "1") ? "semantic+" : "",
             bl && !strcmp(bl, "1") ? "+blend" : "");
}

/* Field k's value for run r; returns the display key ("" = bare value). */
static const char *const fields[] = {"stack", "policy", "tiers", "concurrency", "backend", "hardware",
                                     "model", "tp", "instances", "router", "scheduler",
                                     "pricing", "context-cache", "mode", "block-size", "trace",
                                     "seed"};
enum { N_FIELDS = sizeof fields / sizeof fields[0] };

static void value_of(const cc_rep_run *r, const char *field, char *v, size_t len)
{
    if (!strcmp(field, "stack"))
        stack_of(r, v, len);
    else if (!strcmp(field, "policy"))
        snprintf(v, len, "%s", r->policy);
    else if (!strcmp(field, "tiers"))
        tiers_of(r, v, len);
    else if (!strcmp(field, "concurrency"))
        snprintf(v, len, "%s", r->concurrency);
    else if (!strcmp(field, "backend"))
        snprintf(v, len, "%s", r->backend);
    else if (!strcmp(field, "mode"))
        snprintf(v, len, "%s", r->mode);
    else if (!strcmp(field, "block-size"))
        snprintf(v, len, "%llu", (unsigned long long)r->block_size);
    else if (!strcmp(field, "trace"))
        snprintf(v, len, "%s", base(r->trace));
    else if (!strcmp(field, "seed"))
        snprintf(v, len, "%llu", (unsigned long long)r->seed);
    else {
        const char *c = cfg_get(r, field);
        snprintf(v, len, "%s", c ? c : "-");
    }
}

/* A run without bills (no --pricing, --no-cache) does not differ by its
 * pricing from runs with bills: only two different price lists do. */
static int absent(const char *field, const char *v)
{
    return !strcmp(field, "pricing") && (!v[0] || !strcmp(v, "-"));
}

static int differs(const cc_report_inputs *in, const char *field)
{
    char v0[300], v[300];
    int have = 0;
    for (size_t u = 0; u < in->n_runs; u++) {
        value_of(&in->runs[u], field, v, sizeof v);
        if (absent(field, v))
            continue;
        if (!have)
            memcpy(v0, v, sizeof v0);
        else if (strcmp(v, v0))
            return 1;
        have = 1;
    }
    return 0;
}

/* Options of one tier (absent from runs without it): they differ only when
 * two runs that have them disagree; the stack field tells the tiers apart. */
static int tier_option(const char *name)
{
    static const char *const opt[] = {"embedder", "threshold", "semantic-lookup-ms",
                                      "recompute-ratio", "blend-chunk-tokens"};
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++)
        if (!strcmp(opt[i], name))
            return 1;
    return 0;
}

static int differs_where_present(const cc_report_inputs *in, const char *name)
{
    const char *v0 = NULL;
    for (size_t u = 0; u < in->n_runs; u++) {
        const char *v = cfg_get(&in->runs[u], name);
        if (v && v0 && strcmp(v, v0))
            return 1;
        if (v)
            v0 = v;
    }
    return 0;
}

static int is_known_field(const char *name)
{
    static const char *const skip[] = {"capacity-blocks", "format", "tokenizer", "tenant",
                                       "threads", "max-requests", "semantic", "blend",
                                       "no-cache"};
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!strcmp(fields[i], name))
            return 1;
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (!strcmp(skip[i], name))
            return 1;
    return 0;
}

static void append(char *buf, size_t len, const char *key, const char *v)
{
    size_t n = strlen(buf);
    if (n >= len - 1)
        return;
    snprintf(buf + n, len - n, "%s%s%s%s", n ? " · " : "", key, *key ? "=" : "", v);
}

size_t cc_report_label_runs(cc_report_inputs *in)
{
    for (size_t u = 0; u < in->n_runs; u++) {
        cc_rep_run *r = &in->runs[u];
        char v[300];
        r->label[0] = r->group[0] = '\0';
        for (size_t k = 0; k < N_FIELDS; k++) {
            if (in->n_runs > 1 && !differs(in, fields[k]))
                continue;
            if (in->n_runs == 1 && strcmp(fields[k], "policy") && strcmp(fields[k], "tiers"))
                continue; /* one run: name it by its cache */
            value_of(r, fields[k], v, sizeof v);
            if (absent(fields[k], v))
                continue;
            int bare = !strcmp(fields[k], "policy") || !strcmp(fields[k], "tiers") ||
                       !strcmp(fields[k], "stack");
            append(r->label, sizeof r->label, bare ? "" : fields[k], v);
            if (!strcmp(fields[k], "tiers"))
                layout_of(r, v, sizeof v);
            append(r->group, sizeof r->group, bare ? "" : fields[k], v);
        }
        /* any other option of /config that differs */
        for (size_t j = 0; in->n_runs > 1 && j < r->n_cfg; j++) {
            const char *name = r->cfg_name[j];
            if (is_known_field(name) ||
                !(tier_option(name) ? differs_where_present(in, name) : differs(in, name)))
                continue;
            append(r->label, sizeof r->label, name, r->cfg_value[j]);
            append(r->group, sizeof r->group, name, r->cfg_value[j]);
        }
        if (!r->label[0]) { /* nothing differs: name the cache */
            value_of(r, "policy", v, sizeof v);
            append(r->label, sizeof r->label, "", v);
            append(r->group, sizeof r->group, "", v);
            tiers_of(r, v, sizeof v);
            append(r->label, sizeof r->label, "", v);
            layout_of(r, v, sizeof v);
            append(r->group, sizeof r->group, "", v);
        }
        if (r->serial) {
            append(r->label, sizeof r->label, "", "[serial]");
            append(r->group, sizeof r->group, "", "[serial]");
        }
    }
    /* equal labels: mark all first, then number them */
    size_t dup = 0;
    for (size_t u = 0; u < in->n_runs; u++) {
        in->runs[u].group[sizeof in->runs[u].group - 1] = '\0';
        int same = 0;
        for (size_t w = 0; w < in->n_runs && !same; w++)
            same = w != u && !strcmp(in->runs[u].label, in->runs[w].label);
        in->runs[u].dup = same;
        dup += (size_t)same;
    }
    for (size_t u = 0; u < in->n_runs; u++)
        if (in->runs[u].dup) {
            size_t n = strlen(in->runs[u].label);
            snprintf(in->runs[u].label + n, sizeof in->runs[u].label - n, " (#%zu)", u + 1);
        }
    return dup;
}
