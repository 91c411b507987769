/*
 * cmd_bench.c -- `ctxcache bench --baseline FILE`: the regression gate for
 * CI.  Compares the numbers of a current run (build/bench/bench.json from
 * `make bench`, or any JSON: a `replay --json` or `sweep --json` output)
 * with a stored baseline JSON, metric by metric, and fails when one moved
 * the wrong way by more than the tolerance.  Writes the verdict as text,
 * and on request as JUnit XML (one testcase per metric) and JSON.
 *
 * Metrics: every number in the file, named by its path ("a.b", "points[3].
 * block_hit_ratio"); strings, booleans and null are not metrics; the
 * top-level keys "gate", "machine" and "targets" are skipped (settings, the
 * host, and bench.json's copy of its figures).  Direction by name (first
 * rule that matches, see dir_rules and README/docs), overridable per metric
 * in the baseline's "gate" object.  Costs: linear in the metrics, one
 * sorted pass (jansson keeps object keys in insertion order; metrics are
 * reported in the baseline's order).
 */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const bench_help =
    "usage: ctxcache bench --baseline FILE [--tolerance PCT] [--current FILE]\n"
    "                      [--junit OUT.xml] [--json OUT.json]\n"
    "\n"
    "Regression gate: compares the metrics of a run (default: build/bench/bench.json,\n"
    "written by `make bench`; or a `ctxcache replay --json` / `sweep --json` output\n"
    "given with --current) with a baseline JSON of the same shape.  A metric regresses\n"
    "when it moved in its bad direction by more than PCT percent of the baseline:\n"
    "  higher is better: *hit_ratio*, *speedup*, *speed_ratio*, *_vs_*, *per_s*,\n"
    "                    *per_cpu_s*, *throughput*, *mlps*, *mrps*, *gflops*\n"
    "  lower is better:  *miss_ratio*, *rss*, *_mb, *mae*, *ttft*, *latency*, *cost*,\n"
    "                    *usd*, *wait*, *_ns, *_ms, *_us, *_s, *seconds*, *bytes_per*,\n"
    "                    *evictions*, *error*\n"
    "  otherwise:        either way (a change beyond PCT either way fails)\n"
    "(first rule that matches the metric's path wins).  The baseline may hold\n"
    "  \"gate\": {\"tolerance_pct\": 5, \"metrics\": {\"NAME\": {\"direction\":\n"
    "            \"higher|lower|both|ignore\", \"tolerance_pct\": 10}}}\n"
    "to override.  A metric in the baseline but not in the current run fails\n"
    "(\"missing\"); one only in the current run is listed as new and passes.\n"
    "\n"
    "  --baseline FILE   stored baseline JSON (required)\n"
    "  --tolerance PCT   allowed change in percent of the baseline (default 5;\n"
    "                    the baseline's gate.tolerance_pct when not given)\n"
    "  --current FILE    the run to check (default $BUILD/bench/bench.json)\n"
    "  --junit FILE      write JUnit XML: one testcase per metric\n"
    "  --json FILE       write the comparison as JSON\n"
    "\n"
    "exit status: 0 all within tolerance, 1 a regression (or a missing metric),\n"
    "2 usage error or an unreadable / malformed JSON file (the gate did not run)\n"
    "\n"
    "examples:\n"
    "  make bench && ctxcache bench --baseline bench/baseline.json --tolerance 10 \\\n"
    "      --junit build/bench/junit.xml --json build/bench/gate.json\n"
    "  ctxcache replay t.h5 --capacity-blocks 5000 --json > now.json\n"
    "  ctxcache bench --baseline then.json --current now.json --tolerance 0.5\n";

enum { OPT_BASE = 1000, OPT_TOL, OPT_CUR, OPT_JUNIT, OPT_JSON };
static const struct option long_opts[] = {
    {"baseline", required_argument, 0, OPT_BASE},
    {"tolerance", required_argument, 0, OPT_TOL},
    {"current", required_argument, 0, OPT_CUR},
    {"junit", required_argument, 0, OPT_JUNIT},
    {"json", required_argument, 0, OPT_JSON},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

typedef enum { DIR_BOTH, DIR_HIGHER, DIR_LOWER, DIR_IGNORE } direction;
static const char *const dir_name[] = {"both", "higher", "lower", "ignore"};
static const char *const dir_text[] = {"a change either way fails", "higher is better",
                                       "lower is better", "ignored"};

/* Name rules: a substring (or, with a leading '$', a suffix) of the
 * metric's path, lower-case. */
static const struct {
    const char *pat;
    direction dir;
} dir_rules[] = {
    {"miss_ratio", DIR_LOWER},  {"hit_ratio", DIR_HIGHER},   {"speedup", DIR_HIGHER},
    {"speed_ratio", DIR_HIGHER}, {"_vs_", DIR_HIGHER},       {"per_s", DIR_HIGHER},
    {"per_cpu_s", DIR_HIGHER},  {"throughput", DIR_HIGHER},  {"mlps", DIR_HIGHER},
    {"mrps", DIR_HIGHER},       {"gflops", DIR_HIGHER},      {"rss", DIR_LOWER},
    {"$_mb", DIR_LOWER},        {"mae", DIR_LOWER},
    {"ttft", DIR_LOWER},        {"latency", DIR_LOWER},
    {"cost", DIR_LOWER},        {"usd", DIR_LOWER},          {"wait", DIR_LOWER},
    {"$_ns", DIR_LOWER},        {"$_ms", DIR_LOWER},         {"$_us", DIR_LOWER},
    {"$_s", DIR_LOWER},         {"seconds", DIR_LOWER},      {"bytes_per", DIR_LOWER},
    {"evictions", DIR_LOWER},   {"error", DIR_LOWER},
};

static direction dir_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof dir_rules / sizeof dir_rules[0]; i++) {
        const char *p = dir_rules[i].pat;
        if (*p == '$') {
            size_t n = strlen(name), m = strlen(p + 1);
            if (n >= m && !strcmp(name + n - m, p + 1))
                return dir_rules[i].dir;
        } else if (strstr(name, p)) {
            return dir_rules[i].dir;
        }
    }
    return DIR_BOTH;
}

typedef struct metric {
    char *name;
    double value;
} metric;

typedef struct mlist {
    metric *m;
    size_t n, cap;
} mlist;

static int mlist_add(mlist *L, const char *name, double v)
{
    if (cc_grow((void **)&L->m, &L->cap, L->n + 1, sizeof *L->m) != CC_OK)
        return -1;
    L->m[L->n].name = strdup(name);
    if (!L->m[L->n].name)
        return -1;
    L->m[L->n++].value = v;
    return 0;
}

static void mlist_free(mlist *L)
{
    for (size_t i = 0; i < L->n; i++)
        free(L->m[i].name);
    free(L->m);
}

static const metric *mlist_find(const mlist *L, const char *name)
{
    for (size_t i = 0; i < L->n; i++)
        if (!strcmp(L->m[i].name, name))
            return &L->m[i];
    return NULL;
}

static int flatten(const json_t *j, char *path, size_t len, size_t at, int top, mlist *L)
{
    if (json_is_number(j))
        return mlist_add(L, path, json_number_value(j));
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v) {
            if (top && (!strcmp(k, "gate") || !strcmp(k, "machine") || !strcmp(k, "targets")))
                continue;
            int n = snprintf(path + at, len - at, "%s%s", at ? "." : "", k);
            if (n < 0 || (size_t)n >= len - at)
                continue; /* absurdly deep: not a metric */
            if (flatten(v, path, len, at + n, 0, L))
                return -1;
        }
        path[at] = '\0';
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            int n = snprintf(path + at, len - at, "[%zu]", i);
            if (n < 0 || (size_t)n >= len - at)
                continue;
            if (flatten(v, path, len, at + n, 0, L))
                return -1;
        }
        path[at] = '\0';
    }
    return 0;
}

static json_t *load(const char *cmd, const char *path, int *status)
{
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        if (je.line >= 1)
            fprintf(stderr, "ctxcache %s: %s:%d:%d: malformed JSON: %s\n", cmd, path, je.line,
                    je.column, je.text);
        else
            fprintf(stderr, "ctxcache %s: %s: %s\n", cmd, path, je.text);
        *status = 2;
        return NULL;
    }
    if (!json_is_object(j)) {
        fprintf(stderr, "ctxcache %s: %s:1:1: expected a JSON object at the top\n", cmd, path);
        json_decref(j);
        *status = 2;
        return NULL;
    }
    return j;
}

static void xml_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
    }
}

typedef struct verdict {
    const char *name;
    direction dir;
    double base, cur, delta_pct, tol;
    const char *status; /* ok, improved, regressed, missing, ignored */
} verdict;

static int regressed(const verdict *v)
{
    return !strcmp(v->status, "regressed") || !strcmp(v->status, "missing");
}

static int parse_direction(const char *s, direction *d)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, dir_name[i])) {
            *d = (direction)i;
            return 0;
        }
    return -1;
}

int cmd_bench(int argc, char **argv)
{
    const char *cmd = "bench";
    if (argc < 2) {
        fputs(bench_help, stderr);
        return 2;
    }
    const char *base_path = NULL, *cur_path = NULL, *junit = NULL, *json_out = NULL;
    double tol = NAN;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_BASE: base_path = optarg; break;
        case OPT_CUR: cur_path = optarg; break;
        case OPT_JUNIT: junit = optarg; break;
        case OPT_JSON: json_out = optarg; break;
        case OPT_TOL: {
            char *end;
            tol = strtod(optarg, &end);
            if (end == optarg || *end || !(tol >= 0) || isinf(tol))
                return cli_usage_error(cmd, "--tolerance: expected a percentage >= 0, got '%s'",
                                       optarg);
            break;
        }
        case 'h': fputs(bench_help, stdout); return 0;
        default: return cli_usage_error(cmd, "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!base_path)
        return cli_usage_error(cmd, "--baseline FILE is required");
    char defcur[600];
    if (!cur_path) {
        const char *b = getenv("BUILD");
        snprintf(defcur, sizeof defcur, "%s/bench/bench.json", b && *b ? b : "build");
        cur_path = defcur;
    }
    int status = 0;
    json_t *base = load(cmd, base_path, &status);
    if (!base)
        return status;
    json_t *cur = load(cmd, cur_path, &status);
    if (!cur) {
        json_decref(base);
        return status;
    }
    /* the baseline's gate settings */
    json_t *gate = json_object_get(base, "gate");
    json_t *overrides = gate ? json_object_get(gate, "metrics") : NULL;
    if (isnan(tol)) {
        json_t *t = gate ? json_object_get(gate, "tolerance_pct") : NULL;
        tol = t && json_is_number(t) ? json_number_value(t) : 5.0;
    }
    mlist B = {0}, C = {0};
    char path[1024] = "";
    verdict *V = NULL;
    size_t nv = 0;
    if (flatten(base, path, sizeof path, 0, 1, &B) || flatten(cur, path, sizeof path, 0, 1, &C) ||
        !(V = calloc(B.n ? B.n : 1, sizeof *V))) {
        fprintf(stderr, "ctxcache %s: out of memory\n", cmd);
        status = 3;
        goto out;
    }
    size_t n_bad = 0, n_missing = 0;
    for (size_t i = 0; i < B.n; i++) {
        verdict *v = &V[nv++];
        v->name = B.m[i].name;
        v->base = B.m[i].value;
        v->dir = dir_by_name(v->name);
        v->tol = tol;
        json_t *ov = overrides ? json_object_get(overrides, v->name) : NULL;
        if (ov) {
            json_t *d = json_object_get(ov, "direction"), *t = json_object_get(ov, "tolerance_pct");
            if (d && (!json_is_string(d) || parse_direction(json_string_value(d), &v->dir))) {
                fprintf(stderr, "ctxcache %s: %s: gate.metrics.%s.direction: expected higher, "
                                "lower, both or ignore\n", cmd, base_path, v->name);
                status = 2;
                goto out;
            }
            if (t && (!json_is_number(t) || !(json_number_value(t) >= 0))) {
                fprintf(stderr, "ctxcache %s: %s: gate.metrics.%s.tolerance_pct: expected a "
                                "number >= 0\n", cmd, base_path, v->name);
                status = 2;
                goto out;
            }
            if (t)
                v->tol = json_number_value(t);
        }
        const metric *m = mlist_find(&C, v->name);
        if (v->dir == DIR_IGNORE) {
            v->status = "ignored";
            v->cur = m ? m->value : NAN;
            v->delta_pct = NAN;
            continue;
        }
        if (!m) {
            v->status = "missing";
            v->cur = NAN;
            v->delta_pct = NAN;
            n_missing++;
            n_bad++;
            continue;
        }
        v->cur = m->value;
        double d = v->cur - v->base;
        v->delta_pct = d == 0 ? 0 : v->base != 0 ? 100.0 * d / fabs(v->base) : (d > 0 ? INFINITY : -INFINITY);
        int worse = v->dir == DIR_HIGHER ? v->delta_pct < -v->tol
                  : v->dir == DIR_LOWER  ? v->delta_pct > v->tol
                                         : fabs(v->delta_pct) > v->tol;
        int better = v->dir == DIR_HIGHER ? v->delta_pct > v->tol
                   : v->dir == DIR_LOWER  ? v->delta_pct < -v->tol : 0;
        v->status = worse ? "regressed" : better ? "improved" : "ok";
        n_bad += worse;
    }
    size_t n_new = 0;
    for (size_t i = 0; i < C.n; i++)
        n_new += mlist_find(&B, C.m[i].name) == NULL;

    /* text */
    for (size_t i = 0; i < nv; i++) {
        const verdict *v = &V[i];
        printf("%-9s %-48s baseline %-12.6g current %-12.6g delta %+8.2f%% (%s, "
               "tolerance %g%%)\n", v->status, v->name, v->base, v->cur, v->delta_pct,
               dir_text[v->dir], v->tol);
    }
    printf("bench gate: %zu metrics, %zu failed (%zu missing), %zu new in the current run "
           "-> %s\n", nv, n_bad, n_missing, n_new, n_bad ? "FAIL" : "PASS");

    if (junit) {
        cc_outfile of;
        cc_err err = {0};
        if (cc_outfile_open(&of, junit, &err) != CC_OK) {
            status = cli_fail(cmd, &err);
            goto out;
        }
        FILE *f = of.f;
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        fprintf(f, "<testsuites name=\"ctxcache bench\" tests=\"%zu\" failures=\"%zu\">\n", nv,
                n_bad);
        fprintf(f, "  <testsuite name=\"ctxcache.bench\" tests=\"%zu\" failures=\"%zu\" "
                   "errors=\"0\" skipped=\"%zu\">\n", nv, n_bad, (size_t)0);
        for (size_t i = 0; i < nv; i++) {
            const verdict *v = &V[i];
            fprintf(f, "    <testcase classname=\"ctxcache.bench\" name=\"");
            xml_escaped(f, v->name);
            fprintf(f, "\"");
            if (!regressed(v)) {
                fprintf(f, "/>\n");
                continue;
            }
            char msg[512];
            if (!strcmp(v->status, "missing"))
                snprintf(msg, sizeof msg, "missing from the current run (baseline %.10g)", v->base);
            else
                snprintf(msg, sizeof msg, "baseline %.10g, current %.10g, delta %+.3f%% "
                         "(%s, tolerance %g%%)", v->base, v->cur, v->delta_pct,
                         dir_text[v->dir], v->tol);
            fprintf(f, ">\n      <failure type=\"%s\" message=\"", v->status);
            xml_escaped(f, msg);
            fprintf(f, "\">");
            xml_escaped(f, msg);
            fprintf(f, "</failure>\n    </testcase>\n");
        }
        fprintf(f, "  </testsuite>\n</testsuites>\n");
        if (cc_outfile_close(&of, junit, ferror(f) ? CC_EIO : CC_OK, &err) != CC_OK) {
            status = cli_fail(cmd, &err);
            goto out;
        }
    }
    if (json_out) {
        json_t *o = json_object();
        json_object_set_new(o, "baseline", json_string(base_path));
        json_object_set_new(o, "current", json_string(cur_path));
        json_object_set_new(o, "tolerance_pct", json_real(tol));
        json_object_set_new(o, "passed", json_boolean(n_bad == 0));
        json_object_set_new(o, "regressions", json_integer((json_int_t)n_bad));
        json_object_set_new(o, "missing", json_integer((json_int_t)n_missing));
        json_t *arr = json_array();
        for (size_t i = 0; i < nv; i++) {
            const verdict *v = &V[i];
            json_t *e = json_object();
            json_object_set_new(e, "name", json_string(v->name));
            json_object_set_new(e, "direction", json_string(dir_name[v->dir]));
            json_object_set_new(e, "baseline", json_real(v->base));
            json_object_set_new(e, "current", isnan(v->cur) ? json_null() : json_real(v->cur));
            json_object_set_new(e, "delta_pct", isfinite(v->delta_pct) ? json_real(v->delta_pct)
                                                                         : json_null());
            json_object_set_new(e, "tolerance_pct", json_real(v->tol));
            json_object_set_new(e, "status", json_string(v->status));
            json_array_append_new(arr, e);
        }
        json_object_set_new(o, "metrics", arr);
        json_t *nw = json_array();
        for (size_t i = 0; i < C.n; i++)
            if (!mlist_find(&B, C.m[i].name))
                json_array_append_new(nw, json_string(C.m[i].name));
        json_object_set_new(o, "new_metrics", nw);
        cc_outfile of;
        cc_err err = {0};
        if (cc_outfile_open(&of, json_out, &err) != CC_OK) {
            json_decref(o);
            status = cli_fail(cmd, &err);
            goto out;
        }
        int wr = json_dumpf(o, of.f, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
        fputc('\n', of.f);
        json_decref(o);
        if (cc_outfile_close(&of, json_out, wr || ferror(of.f) ? CC_EIO : CC_OK, &err) != CC_OK) {
            status = cli_fail(cmd, &err);
            goto out;
        }
    }
    status = n_bad ? 1 : 0;
out:
    free(V);
    mlist_free(&B);
    mlist_free(&C);
    json_decref(base);
    json_decref(cur);
    return status;
}
