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
 * top-level keys "gate", "machine", "targets" and "wall_clock" are skipped
 * (settings, the host, bench.json's copy of its figures, the list of
 * wall-clock names).  Direction by name (first
 * rule that matches, see dir_rules and README/docs), overridable per metric
 * in the baseline's "gate" object.  Costs: linear in the metrics, one
 * sorted pass (jansson keeps object keys in insertion order; metrics are
 * reported in the baseline's order).
 */
#include "cli.h"

#include <fnmatch.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const bench_help =
    "usage: ctxcache bench --baseline FILE [--tolerance PCT] [--current FILE]\n"
    "                      [--only-failures] [--gate-wall-clock]\n"
    "                      [--junit OUT.xml] [--json OUT.json]\n"
    "       ctxcache bench --make-baseline RUN.json -o BASE.json [--tolerance PCT]\n"
    "\n"
    "Regression gate: compares the metrics of a run (default: build/bench/bench.json,\n"
    "written by `make bench`; or a `ctxcache replay --json` / `sweep --json` output\n"
    "given with --current) with a baseline JSON of the same shape.  A metric regresses\n"
    "when it moved in its bad direction by more than PCT percent of the baseline.\n"
    "Direction by name (first rule that matches the metric's path, with a trailing\n"
    "_ci_lo / _ci_hi removed, so confidence bounds follow their metric):\n"
    "  lower is better:  *miss_ratio*\n"
    "  higher is better: *hit_ratio*, *speedup*, *speed_ratio*, *_vs_*, *agreement*,\n"
    "                    *recall*, *precision*, *f1, *saved*, *hit_blocks*, *hit_tokens*,\n"
    "                    *cached_tokens*, *served*, *per_s*, *per_cpu_s*, *throughput*,\n"
    "                    *mlps*, *mrps*, *gflops*\n"
    "  lower is better:  *rss*, *_mb, *mae*, *ttft*, *tpot*, *e2e*, *queue*, *latency*,\n"
    "                    *cost*, *usd*, *wait*, *evict*, *expirations*, *dropped*,\n"
    "                    *rejected*, *no_room*, *moved*, *bytes_up*, *bytes_down*,\n"
    "                    *promoted*, *demoted*, *inserted*, *computed_tokens*,\n"
    "                    *preemptions*, *makespan*, *error*, *bytes_per*, *_ns, *_ms,\n"
    "                    *_us, *_s, *seconds*\n"
    "  informational:    *steps, *max_in_flight* (not gated)\n"
    "  otherwise:        either way (a change beyond PCT either way fails)\n"
    "Wall-clock figures (the tool's own speed on this machine) are reported but not\n"
    "gated unless --gate-wall-clock: *elapsed_s, *lookups_per_s, *accesses_per_s,\n"
    "*_mlps, *_mrps, *gflops*, *_wall_s, *_cpu_s, and every name listed in a file's\n"
    "top-level \"wall_clock\" array (names or shell patterns; `make bench` marks its\n"
    "timings so).  The baseline may hold\n"
    "  \"gate\": {\"tolerance_pct\": 5, \"metrics\": {\"NAME\": {\"direction\":\n"
    "            \"higher|lower|both|ignore\", \"tolerance_pct\": 10,\n"
    "            \"bound\": \">= 10\", \"optional\": true, \"wall_clock\": true}}}\n"
    "to override: \"bound\" checks the current value against a fixed bound instead of\n"
    "the baseline (for noisy figures with a target); an \"optional\" metric may be\n"
    "absent from the current run (e.g. needs LIBCACHESIM or a GPU).  Any other metric\n"
    "in the baseline but not in the current run fails (\"missing\"); one only in the\n"
    "current run is listed as new and passes.\n"
    "\n"
    "  --baseline FILE   stored baseline JSON (required)\n"
    "  --tolerance PCT   allowed change in percent of the baseline (default 5;\n"
    "                    the baseline's gate.tolerance_pct when not given)\n"
    "  --current FILE    the run to check (default $BUILD/bench/bench.json)\n"
    "  --only-failures   print only the metrics that regressed or are missing\n"
    "  --gate-wall-clock gate wall-clock figures too (same machine, quiet runs)\n"
    "  --junit FILE      write JUnit XML: one testcase per metric\n"
    "  --json FILE       write the comparison as JSON\n"
    "  --make-baseline RUN.json -o BASE.json\n"
    "                    write a baseline from a run: its figures plus a \"gate\" object\n"
    "                    with a rule per metric: wall-clock figures marked as such,\n"
    "                    figures with a target in RUN's \"targets\" (bench.json) checked\n"
    "                    against that target, other measured bench figures at 25 %,\n"
    "                    figures of a deterministic run (replay, sweep) at 0 % (or\n"
    "                    --tolerance), figures needing optional tools marked optional\n"
    "\n"
    "exit status: 0 all within tolerance, 1 a regression (or a missing metric),\n"
    "2 usage error or an unreadable / malformed JSON file, or a baseline that shares\n"
    "no metric with the current run (the gate did not run)\n"
    "\n"
    "examples:\n"
    "  make bench && ctxcache bench --baseline bench/baseline.json \\\n"
    "      --junit build/bench/junit.xml --json build/bench/gate.json\n"
    "  ctxcache replay t.h5 --capacity-blocks 5000 --json > then.json\n"
    "  ctxcache bench --make-baseline then.json -o base.json\n"
    "  ctxcache replay t.h5 --capacity-blocks 5000 --json > now.json\n"
    "  ctxcache bench --baseline base.json --current now.json --only-failures\n";

enum { OPT_BASE = 1000, OPT_TOL, OPT_CUR, OPT_JUNIT, OPT_JSON, OPT_ONLY, OPT_WALL, OPT_MAKE };
static const struct option long_opts[] = {
    {"baseline", required_argument, 0, OPT_BASE},
    {"tolerance", required_argument, 0, OPT_TOL},
    {"current", required_argument, 0, OPT_CUR},
    {"junit", required_argument, 0, OPT_JUNIT},
    {"json", required_argument, 0, OPT_JSON},
    {"only-failures", no_argument, 0, OPT_ONLY},
    {"gate-wall-clock", no_argument, 0, OPT_WALL},
    {"make-baseline", required_argument, 0, OPT_MAKE},
    {"output", required_argument, 0, 'o'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

typedef enum { DIR_BOTH, DIR_HIGHER, DIR_LOWER, DIR_IGNORE } direction;
static const char *const dir_name[] = {"both", "higher", "lower", "ignore"};
static const char *const dir_text[] = {"a change either way fails", "higher is better",
                                       "lower is better", "ignored"};

/* Name rules: a substring (or, with a leading '$', a suffix) of the
 * metric's path with a trailing _ci_lo/_ci_hi removed.  Order matters: the
 * first match wins ("prefill_gpu_s_saved" is higher-better by "saved"
 * before "_s"; "block_miss_ratio" lower before "hit_ratio" could match a
 * longer name).  Counts that rise with the hit ratio are higher-better, so
 * a change that improves caching does not light up as regressions. */
static const struct {
    const char *pat;
    direction dir;
} dir_rules[] = {
    {"miss_ratio", DIR_LOWER},   {"hit_ratio", DIR_HIGHER},     {"speedup", DIR_HIGHER},
    {"speed_ratio", DIR_HIGHER}, {"_vs_", DIR_HIGHER},          {"agreement", DIR_HIGHER},
    {"recall", DIR_HIGHER},      {"precision", DIR_HIGHER},     {"$f1", DIR_HIGHER},
    {"saved", DIR_HIGHER},       {"hit_blocks", DIR_HIGHER},    {"hit_tokens", DIR_HIGHER},
    {"cached_tokens", DIR_HIGHER}, {"served", DIR_HIGHER},      {"per_s", DIR_HIGHER},
    {"per_cpu_s", DIR_HIGHER},   {"throughput", DIR_HIGHER},    {"mlps", DIR_HIGHER},
    {"mrps", DIR_HIGHER},        {"gflops", DIR_HIGHER},
    {"$steps", DIR_IGNORE},      {"max_in_flight", DIR_IGNORE},
    {"rss", DIR_LOWER},          {"$_mb", DIR_LOWER},           {"mae", DIR_LOWER},
    {"ttft", DIR_LOWER},         {"tpot", DIR_LOWER},           {"e2e", DIR_LOWER},
    {"queue", DIR_LOWER},        {"latency", DIR_LOWER},        {"cost", DIR_LOWER},
    {"usd", DIR_LOWER},          {"wait", DIR_LOWER},           {"evict", DIR_LOWER},
    {"expirations", DIR_LOWER},  {"dropped", DIR_LOWER},        {"rejected", DIR_LOWER},
    {"no_room", DIR_LOWER},      {"moved", DIR_LOWER},          {"bytes_up", DIR_LOWER},
    {"bytes_down", DIR_LOWER},   {"promoted", DIR_LOWER},       {"demoted", DIR_LOWER},
    {"inserted", DIR_LOWER},     {"computed_tokens", DIR_LOWER}, {"preemptions", DIR_LOWER},
    {"makespan", DIR_LOWER},     {"error", DIR_LOWER},          {"bytes_per", DIR_LOWER},
    {"$_ns", DIR_LOWER},         {"$_ms", DIR_LOWER},           {"$_us", DIR_LOWER},
    {"$_s", DIR_LOWER},          {"seconds", DIR_LOWER},
};

/* Wall-clock figures by name (the tool's own speed: they move with the
 * machine and its load, so a gate on them cries wolf). */
static const char *const wall_rules[] = {
    "$elapsed_s", "$lookups_per_s", "$accesses_per_s", "$_mlps", "$_mrps",
    "gflops",     "$_wall_s",       "$_cpu_s",
};

static int name_matches(const char *name, size_t n, const char *p)
{
    if (*p == '$') {
        size_t m = strlen(p + 1);
        return n >= m && !strncmp(name + n - m, p + 1, m);
    }
    /* a substring of the first n characters */
    size_t m = strlen(p);
    for (size_t i = 0; i + m <= n; i++)
        if (!strncmp(name + i, p, m))
            return 1;
    return 0;
}

/* Length of the name without a trailing confidence-bound suffix. */
static size_t base_len(const char *name)
{
    size_t n = strlen(name);
    if (n > 6 && (!strcmp(name + n - 6, "_ci_lo") || !strcmp(name + n - 6, "_ci_hi")))
        return n - 6;
    return n;
}

static direction dir_by_name(const char *name)
{
    size_t n = base_len(name);
    for (size_t i = 0; i < sizeof dir_rules / sizeof dir_rules[0]; i++)
        if (name_matches(name, n, dir_rules[i].pat))
            return dir_rules[i].dir;
    return DIR_BOTH;
}

/* Wall clock by the built-in names or by the file's "wall_clock" list
 * (names or fnmatch patterns). */
static int is_wall_clock(const char *name, const json_t *marked_a, const json_t *marked_b)
{
    size_t n = base_len(name);
    for (size_t i = 0; i < sizeof wall_rules / sizeof wall_rules[0]; i++)
        if (name_matches(name, n, wall_rules[i]))
            return 1;
    const json_t *lists[2] = {marked_a, marked_b};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *v;
        if (!json_is_array(lists[k]))
            continue;
        json_array_foreach((json_t *)lists[k], i, v)
            if (json_is_string(v) && fnmatch(json_string_value(v), name, 0) == 0)
                return 1;
    }
    return 0;
}

typedef struct metric {
    char *name;
    double value;
} metric;

typedef struct mlist {
    metric *m;
    size_t n, cap;
    char dup[256]; /* a name two fields flatten to (mlist_add returned -2) */
} mlist;

static const metric *mlist_find(const mlist *L, const char *name);

/* -1: out of memory; -2: the name is there already (a key holding a '.'
 * beside an object of that name, {"a": {"b": 1}, "a.b": 2}: two figures
 * under one name would be compared with each other's values) */
static int mlist_add(mlist *L, const char *name, double v)
{
    if (mlist_find(L, name)) {
        snprintf(L->dup, sizeof L->dup, "%s", name);
        return -2;
    }
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
            if (top && (!strcmp(k, "gate") || !strcmp(k, "machine") || !strcmp(k, "targets") ||
                        !strcmp(k, "wall_clock")))
                continue;
            int n = snprintf(path + at, len - at, "%s%s", at ? "." : "", k);
            if (n < 0 || (size_t)n >= len - at)
                continue; /* absurdly deep: not a metric */
            int rc = flatten(v, path, len, at + n, 0, L);
            if (rc)
                return rc;
        }
        path[at] = '\0';
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) {
            int n = snprintf(path + at, len - at, "[%zu]", i);
            if (n < 0 || (size_t)n >= len - at)
                continue;
            int rc = flatten(v, path, len, at + n, 0, L);
            if (rc)
                return rc;
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
    const char *bound; /* "OP VALUE" from the baseline, or NULL */
    const char *status; /* ok, improved, regressed, missing, ignored, not-gated (wall clock), absent */
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

/* "OP VALUE" with OP one of >= > <= < (spaces optional).  Returns 0 and
 * fills op (0 >=, 1 >, 2 <=, 3 <) and value, or -1. */
static int parse_bound(const char *s, int *op, double *value)
{
    static const char *const ops[] = {">=", ">", "<=", "<"};
    while (*s == ' ')
        s++;
    int o = -1;
    for (int i = 0; i < 4 && o < 0; i++)
        if (!strncmp(s, ops[i], strlen(ops[i]))) {
            o = i;
            s += strlen(ops[i]);
        }
    if (o < 0)
        return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v))
        return -1;
    while (*end == ' ')
        end++;
    if (*end)
        return -1;
    *op = o;
    *value = v;
    return 0;
}

static int bound_holds(int op, double bound, double v)
{
    return op == 0 ? v >= bound : op == 1 ? v > bound : op == 2 ? v <= bound : v < bound;
}

/* Figures that need something a plain CI machine may not have. */
static int needs_optional_tool(const char *name)
{
    static const char *const pats[] = {"libcachesim", "cachesim", "cuda", "pytorch",
                                       "gptcache", "gpu_"};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++)
        if (strstr(name, pats[i]))
            return 1;
    return 0;
}

/* --make-baseline: RUN's figures plus a gate object with one rule per
 * metric (see the help text). */
static int make_baseline(const char *cmd, const char *run_path, const char *out_path,
                         double tol)
{
    int status = 0;
    json_t *run = load(cmd, run_path, &status);
    if (!run)
        return status;
    mlist M = {0};
    char path[1024] = "";
    int frc = flatten(run, path, sizeof path, 0, 1, &M);
    if (frc) {
        if (frc == -2)
            fprintf(stderr, "ctxcache %s: %s: two fields give the metric name '%s' (a key "
                            "with a '.' beside a nested object of that name)\n",
                    cmd, run_path, M.dup);
        else
            fprintf(stderr, "ctxcache %s: out of memory\n", cmd);
        mlist_free(&M);
        json_decref(run);
        return frc == -2 ? 2 : 3;
    }
    if (M.n == 0) {
        fprintf(stderr, "ctxcache %s: %s: no numeric figure to make a baseline of\n", cmd,
                run_path);
        mlist_free(&M);
        json_decref(run);
        return 2;
    }
    json_t *targets = json_object_get(run, "targets");
    json_t *marked = json_object_get(run, "wall_clock");
    /* bench.json (it has "targets") holds measurements: noisy; anything else
     * (replay, sweep) is deterministic for a given build and input */
    int measured = targets != NULL;
    double def_tol = isnan(tol) ? (measured ? 25.0 : 0.0) : tol;
    json_t *rules = json_object();
    size_t n_wall = 0, n_bound = 0, n_opt = 0;
    for (size_t i = 0; i < M.n; i++) {
        const char *name = M.m[i].name;
        json_t *r = json_object();
        json_t *t = targets ? json_object_get(targets, name) : NULL;
        json_t *tt = t ? json_object_get(t, "target") : NULL;
        int op;
        double bv;
        if (is_wall_clock(name, marked, NULL)) {
            json_object_set_new(r, "wall_clock", json_true());
            n_wall++;
        } else if (tt && json_is_string(tt) && parse_bound(json_string_value(tt), &op, &bv) == 0) {
            json_object_set_new(r, "bound", json_string(json_string_value(tt)));
            n_bound++;
        } else {
            json_object_set_new(r, "tolerance_pct", json_real(def_tol));
        }
        if (measured && needs_optional_tool(name)) {
            json_object_set_new(r, "optional", json_true());
            n_opt++;
        }
        json_object_set_new(rules, name, r);
    }
    json_t *gate = json_object();
    json_object_set_new(gate, "tolerance_pct", json_real(def_tol));
    json_object_set_new(gate, "made_from", json_string(run_path));
    json_object_set_new(gate, "metrics", rules);
    json_object_set(run, "gate", gate);
    json_decref(gate);
    cc_outfile of;
    cc_err err = {0};
    if (cc_outfile_open(&of, out_path, &err) != CC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    int wr = json_dumpf(run, of.f, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    fputc('\n', of.f);
    if (cc_outfile_close(&of, out_path, wr || ferror(of.f) ? CC_EIO : CC_OK, &err) != CC_OK) {
        status = cli_fail(cmd, &err);
        goto out;
    }
    printf("bench baseline: %s from %s: %zu metrics (%zu wall clock, not gated; %zu checked "
           "against their target; %zu optional; the rest at %g %%)\n", out_path, run_path, M.n,
           n_wall, n_bound, n_opt, def_tol);
out:
    mlist_free(&M);
    json_decref(run);
    return status;
}

int cmd_bench(int argc, char **argv)
{
    const char *cmd = "bench";
    if (argc < 2) {
        fputs(bench_help, stderr);
        return 2;
    }
    const char *base_path = NULL, *cur_path = NULL, *junit = NULL, *json_out = NULL;
    const char *make_from = NULL, *out_path = NULL;
    int only_failures = 0, gate_wall = 0;
    double tol = NAN;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_BASE: base_path = optarg; break;
        case OPT_CUR: cur_path = optarg; break;
        case OPT_JUNIT: junit = optarg; break;
        case OPT_JSON: json_out = optarg; break;
        case OPT_ONLY: only_failures = 1; break;
        case OPT_WALL: gate_wall = 1; break;
        case OPT_MAKE: make_from = optarg; break;
        case 'o': out_path = optarg; break;
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
    if (make_from) {
        if (base_path || cur_path || junit || json_out || only_failures || gate_wall)
            return cli_usage_error(cmd, "--make-baseline takes only -o BASE.json and "
                                        "--tolerance");
        if (!out_path)
            return cli_usage_error(cmd, "--make-baseline RUN.json needs -o BASE.json");
        return make_baseline(cmd, make_from, out_path, tol);
    }
    if (out_path)
        return cli_usage_error(cmd, "-o goes with --make-baseline; the comparison is written "
                                    "with --json FILE");
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
    json_t *marked_b = json_object_get(base, "wall_clock"), *marked_c = json_object_get(cur, "wall_clock");
    if (isnan(tol)) {
        json_t *t = gate ? json_object_get(gate, "tolerance_pct") : NULL;
        tol = t && json_is_number(t) ? json_number_value(t) : 5.0;
    }
    mlist B = {0}, C = {0};
    char path[1024] = "";
    verdict *V = NULL;
    size_t nv = 0;
    int frb = flatten(base, path, sizeof path, 0, 1, &B), frc = 0;
    if (!frb)
        frc = flatten(cur, path, sizeof path, 0, 1, &C);
    if (frb == -2 || frc == -2) {
        fprintf(stderr, "ctxcache %s: %s: two fields give the metric name '%s' (a key with a "
                        "'.' beside a nested object of that name)\n",
                cmd, frb == -2 ? base_path : cur_path, frb == -2 ? B.dup : C.dup);
        status = 2;
        goto out;
    }
    if (frb || frc || !(V = calloc(B.n ? B.n : 1, sizeof *V))) {
        fprintf(stderr, "ctxcache %s: out of memory\n", cmd);
        status = 3;
        goto out;
    }
    size_t n_bad = 0, n_missing = 0, n_shared = 0, n_wall = 0;
    for (size_t i = 0; i < B.n; i++) {
        verdict *v = &V[nv++];
        v->name = B.m[i].name;
        v->base = B.m[i].value;
        v->dir = dir_by_name(v->name);
        v->tol = tol;
        int wall = is_wall_clock(v->name, marked_b, marked_c), optional = 0, bop = 0;
        double bval = 0;
        json_t *ov = overrides ? json_object_get(overrides, v->name) : NULL;
        if (ov) {
            json_t *d = json_object_get(ov, "direction"), *t = json_object_get(ov, "tolerance_pct");
            json_t *bd = json_object_get(ov, "bound"), *op = json_object_get(ov, "optional");
            json_t *wc = json_object_get(ov, "wall_clock");
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
            if (bd && (!json_is_string(bd) || parse_bound(json_string_value(bd), &bop, &bval))) {
                fprintf(stderr, "ctxcache %s: %s: gate.metrics.%s.bound: expected \"OP VALUE\" "
                                "with OP one of >=, >, <=, <\n", cmd, base_path, v->name);
                status = 2;
                goto out;
            }
            if ((op && !json_is_boolean(op)) || (wc && !json_is_boolean(wc))) {
                fprintf(stderr, "ctxcache %s: %s: gate.metrics.%s: optional and wall_clock "
                                "take true or false\n", cmd, base_path, v->name);
                status = 2;
                goto out;
            }
            if (t)
                v->tol = json_number_value(t);
            if (bd)
                v->bound = json_string_value(bd);
            optional = op && json_is_true(op);
            if (wc)
                wall = json_is_true(wc);
        }
        const metric *m = mlist_find(&C, v->name);
        n_shared += m != NULL;
        v->cur = m ? m->value : NAN;
        v->delta_pct = NAN;
        if (v->dir == DIR_IGNORE) {
            v->status = "ignored";
            continue;
        }
        if (wall && !gate_wall) {
            v->status = "not-gated";
            n_wall++;
            if (m)
                v->delta_pct = v->cur == v->base ? 0 : v->base != 0 ? 100.0 * (v->cur - v->base) / fabs(v->base) : NAN;
            continue;
        }
        if (!m) {
            v->status = optional ? "absent" : "missing";
            if (!optional) {
                n_missing++;
                n_bad++;
            }
            continue;
        }
        double d = v->cur - v->base;
        v->delta_pct = d == 0 ? 0 : v->base != 0 ? 100.0 * d / fabs(v->base) : (d > 0 ? INFINITY : -INFINITY);
        if (v->bound) {
            int ok = bound_holds(bop, bval, v->cur);
            v->status = ok ? "ok" : "regressed";
            n_bad += !ok;
            continue;
        }
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
    if (B.n > 0 && n_shared == 0) {
        fprintf(stderr, "ctxcache %s: %s and %s share no metric: the baseline is of another "
                        "kind of run (first baseline metric: %s)\n", cmd, base_path, cur_path,
                B.m[0].name);
        status = 2;
        goto out;
    }

    /* text */
    for (size_t i = 0; i < nv; i++) {
        const verdict *v = &V[i];
        if (only_failures && !regressed(v))
            continue;
        char rule[96];
        if (!strcmp(v->status, "not-gated"))
            snprintf(rule, sizeof rule, "wall clock, not gated");
        else if (v->bound)
            snprintf(rule, sizeof rule, "bound %s", v->bound);
        else
            snprintf(rule, sizeof rule, "%s, tolerance %g%%", dir_text[v->dir], v->tol);
        printf("%-9s %-48s baseline %-12.6g current %-12.6g delta %+8.2f%% (%s)\n", v->status,
               v->name, v->base, v->cur, v->delta_pct, rule);
    }
    if (n_missing * 2 > nv)
        printf("note: %zu of the baseline's %zu metrics are missing from %s: is it the same "
               "kind of run?\n", n_missing, nv, cur_path);
    printf("bench gate: %zu metrics, %zu failed (%zu missing), %zu wall clock not gated, %zu new "
           "in the current run -> %s\n", nv, n_bad, n_missing, n_wall, n_new,
           n_bad ? "FAIL" : "PASS");

    if (junit) {
        cc_outfile of;
        cc_err err = {0};
        if (cc_outfile_open(&of, junit, &err) != CC_OK) {
            status = cli_fail(cmd, &err);
            goto out;
        }
        FILE *f = of.f;
        size_t n_skip = 0;
        for (size_t i = 0; i < nv; i++)
            n_skip += !strcmp(V[i].status, "ignored") || !strcmp(V[i].status, "not-gated") ||
                      !strcmp(V[i].status, "absent");
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        fprintf(f, "<testsuites name=\"ctxcache bench\" tests=\"%zu\" failures=\"%zu\">\n", nv,
                n_bad);
        fprintf(f, "  <testsuite name=\"ctxcache.bench\" tests=\"%zu\" failures=\"%zu\" "
                   "errors=\"0\" skipped=\"%zu\">\n", nv, n_bad, n_skip);
        for (size_t i = 0; i < nv; i++) {
            const verdict *v = &V[i];
            fprintf(f, "    <testcase classname=\"ctxcache.bench\" name=\"");
            xml_escaped(f, v->name);
            fprintf(f, "\"");
            if (!regressed(v)) {
                if (!strcmp(v->status, "ignored") || !strcmp(v->status, "not-gated") ||
                    !strcmp(v->status, "absent"))
                    fprintf(f, ">\n      <skipped message=\"%s\"/>\n    </testcase>\n", v->status);
                else
                    fprintf(f, "/>\n");
                continue;
            }
            char msg[512];
            if (!strcmp(v->status, "missing"))
                snprintf(msg, sizeof msg, "missing from the current run (baseline %.10g)", v->base);
            else if (v->bound)
                snprintf(msg, sizeof msg, "current %.10g outside the bound %s (baseline %.10g)",
                         v->cur, v->bound, v->base);
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
        json_object_set_new(o, "wall_clock_not_gated", json_integer((json_int_t)n_wall));
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
            if (v->bound)
                json_object_set_new(e, "bound", json_string(v->bound));
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
