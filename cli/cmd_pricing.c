/*
 * cmd_pricing.c -- what caching costs, from the command line: the
 * `--pricing P1,P2` bills that `ctxcache replay` prints beside its figures
 * (cli_pricing_*), and `ctxcache cost TRACE`: the bill of each pricing
 * model at each TTL of a sweep, the operator's cost of the same, the
 * break-even TTL and hit rate, and the cost-optimal TTL (policies/pricing.h,
 * docs/pricing.md).  Every model replays the trace with its own cache
 * behaviour (one replay per model and TTL).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TTLS 64

static const char *cacheable_name(const cc_pricing_run *r, char *buf, size_t len)
{
    switch (r->cacheable) {
    case CC_CACHEABLE_SYSTEM: return "system";
    case CC_CACHEABLE_ALL: return "all";
    case CC_CACHEABLE_BLOCKS: snprintf(buf, len, "blocks:%u", r->cacheable_blocks); return buf;
    default: return "auto";
    }
}

int cli_pricing_parse(const char *cmd, const char *list, cli_pricing *pr)
{
    cc_err err = {0};
    pr->blend = 0;
    int rc = cc_pricing_parse_list(list, pr->models, CC_PRICING_MAX, &pr->n, &err);
    if (rc == CC_EARG)
        return cli_usage_error(cmd, "--pricing: %s", err.msg);
    if (rc)
        return cli_fail(cmd, &err);
    return 0;
}

int cli_parse_price(const char *cmd, const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v > 0) || v > 1e6)
        return cli_usage_error(cmd, "%s: expected a price in USD per million tokens in (0, 1e6], "
                                    "got '%s'", opt, s);
    *out = v;
    return 0;
}

int cli_pricing_bill(const char *cmd, const cc_trace *t, cli_pricing *pr)
{
    for (size_t i = 0; i < pr->n; i++) {
        cc_err err = {0};
        cc_replay_result res;
        if (cc_pricing_replay(t, &pr->models[i], &pr->run, &pr->bills[i],
                              pr->blend ? &res : NULL, &err) != CC_OK)
            return cli_fail(cmd, &err);
        if (!pr->blend)
            continue;
        cc_pricing m = cc_pricing_apply(&pr->models[i], &pr->run);
        int rc = cc_pricing_bill_blend(&m, t, &res, &pr->bills[i], pr->blend_recompute_ratio,
                                       pr->blend_chunk_tokens, &pr->blend_bills[i], &err);
        cc_replay_result_free(&res);
        if (rc != CC_OK)
            return cli_fail(cmd, &err);
    }
    return 0;
}

static json_t *bill_json(const cc_bill *b, int blend)
{
    json_t *x = json_object();
    json_object_set_new(x, "total_usd", json_real(b->total_usd));
    json_object_set_new(x, "input_uncached_usd", json_real(b->input_uncached_usd));
    json_object_set_new(x, "cache_write_usd", json_real(b->cache_write_usd));
    json_object_set_new(x, "cache_read_usd", json_real(b->cache_read_usd));
    json_object_set_new(x, "storage_usd", json_real(b->storage_usd));
    json_object_set_new(x, "creation_fee_usd", json_real(b->creation_fee_usd));
    json_object_set_new(x, "hit_fee_usd", json_real(b->hit_fee_usd));
    json_object_set_new(x, "output_usd", json_real(b->output_usd));
    json_object_set_new(x, "uncached_tokens", json_integer((json_int_t)b->uncached_tokens));
    json_object_set_new(x, "written_tokens", json_integer((json_int_t)b->written_tokens));
    json_object_set_new(x, "read_tokens", json_integer((json_int_t)b->read_tokens));
    json_object_set_new(x, "output_tokens", json_integer((json_int_t)b->output_tokens));
    json_object_set_new(x, "objects", json_integer((json_int_t)b->objects));
    json_object_set_new(x, "object_tokens", json_integer((json_int_t)b->object_tokens));
    json_object_set_new(x, "hits", json_integer((json_int_t)b->hits));
    json_object_set_new(x, "token_hours_stored", json_real(b->token_hours_stored));
    if (blend) {
        json_object_set_new(x, "blend_read_tokens", json_integer((json_int_t)b->blend_read_tokens));
        json_object_set_new(x, "blend_recompute_tokens",
                            json_integer((json_int_t)b->blend_recompute_tokens));
    }
    return x;
}

static json_t *model_json(const cc_pricing *p)
{
    json_t *x = json_object();
    json_object_set_new(x, "explicit", json_boolean(p->explicit_cache));
    json_object_set_new(x, "input_usd_per_mtok", json_real(p->input_usd_per_mtok));
    json_object_set_new(x, "output_usd_per_mtok", json_real(p->output_usd_per_mtok));
    json_object_set_new(x, "write_mult", json_real(p->write_mult));
    json_object_set_new(x, "read_mult", json_real(p->read_mult));
    json_object_set_new(x, "creation_usd_per_mtok", json_real(p->creation_usd_per_mtok));
    json_object_set_new(x, "creation_fee_usd", json_real(p->creation_fee_usd));
    json_object_set_new(x, "hit_fee_usd", json_real(p->hit_fee_usd));
    json_object_set_new(x, "storage_usd_per_mtok_hour", json_real(p->storage_usd_per_mtok_hour));
    json_object_set_new(x, "storage_unit_s", json_real(p->storage_unit_s));
    json_object_set_new(x, "ttl_s", json_real(p->ttl_s));
    json_object_set_new(x, "refresh", json_boolean(p->refresh));
    json_object_set_new(x, "min_tokens", json_integer(p->min_tokens));
    json_object_set_new(x, "granularity_tokens", json_integer(p->granularity_tokens));
    json_object_set_new(x, "source", json_string(p->source));
    return x;
}

void cli_pricing_json(const cli_pricing *pr, json_t *into)
{
    json_t *cost = json_object(), *bd = json_object(), *models = json_object();
    for (size_t i = 0; i < pr->n; i++) {
        cc_pricing m = cc_pricing_apply(&pr->models[i], &pr->run);
        json_object_set_new(cost, m.name, json_real(pr->bills[i].total_usd));
        json_object_set_new(bd, m.name, bill_json(&pr->bills[i], 0));
        json_object_set_new(models, m.name, model_json(&m));
    }
    if (pr->blend) { /* replay --blend: the bills with blend counted, beside */
        json_t *bc = json_object(), *bb = json_object();
        for (size_t i = 0; i < pr->n; i++) {
            json_object_set_new(bc, pr->blend_bills[i].name, json_real(pr->blend_bills[i].total_usd));
            json_object_set_new(bb, pr->blend_bills[i].name, bill_json(&pr->blend_bills[i], 1));
        }
        json_object_set_new(into, "cost_prefix_blend", bc);
        json_object_set_new(into, "cost_breakdown_prefix_blend", bb);
    }
    char buf[32];
    json_object_set_new(into, "cost", cost);
    json_object_set_new(into, "cost_breakdown", bd);
    json_object_set_new(into, "pricing", models);
    json_object_set_new(into, "pricing_cacheable", json_string(cacheable_name(&pr->run, buf, sizeof buf)));
}

void cli_pricing_text(const cli_pricing *pr, FILE *out)
{
    char buf[32];
    fprintf(out, "cost (USD)       each model replays the trace with its own cache; explicit "
                 "models cache each request's '%s' prefix\n",
            cacheable_name(&pr->run, buf, sizeof buf));
    fprintf(out, "  %-16s %12s %12s %12s %12s %12s %10s %10s %12s %12s %8s\n", "model", "total",
            "uncached", "write", "read", "storage", "creation", "hit fees", "output",
            "read tok", "objects");
    for (size_t i = 0; i < pr->n; i++) {
        const cc_bill *b = &pr->bills[i];
        fprintf(out, "  %-16s %12.6g %12.6g %12.6g %12.6g %12.6g %10.4g %10.4g %12.6g %12llu %8llu\n",
                b->name, b->total_usd, b->input_uncached_usd, b->cache_write_usd,
                b->cache_read_usd, b->storage_usd, b->creation_fee_usd, b->hit_fee_usd,
                b->output_usd, (unsigned long long)b->read_tokens,
                (unsigned long long)b->objects);
    }
    if (!pr->blend)
        return;
    fprintf(out, "cost with blend  the same models with reused chunks beyond the prefix billed "
                 "as cache reads, the recomputed share (ratio %g) as uncached input\n",
            pr->blend_recompute_ratio);
    fprintf(out, "  %-16s %12s %12s %12s %12s %12s %12s %12s\n", "model", "prefix only",
            "prefix+blend", "saved", "uncached", "read", "blend read", "recomputed");
    for (size_t i = 0; i < pr->n; i++) {
        const cc_bill *a = &pr->bills[i], *b = &pr->blend_bills[i];
        fprintf(out, "  %-16s %12.6g %12.6g %12.6g %12.6g %12.6g %12llu %12llu\n", b->name,
                a->total_usd, b->total_usd, a->total_usd - b->total_usd, b->input_uncached_usd,
                b->cache_read_usd, (unsigned long long)b->blend_read_tokens,
                (unsigned long long)b->blend_recompute_tokens);
    }
}

/* ---- ctxcache cost ------------------------------------------------------------ */
static const char *const cost_help =
    "usage: ctxcache cost TRACE --pricing P1,P2,... [options]\n"
    "\n"
    "What caching TRACE costs under each pricing model, as the customer's bill and\n"
    "as the operator's cost, at each TTL of a sweep: each model replays the trace\n"
    "with its own cache behaviour (explicit objects or automatic caching, its\n"
    "minimum, granularity, fixed or refreshed TTL) with the TTL set to each value.\n"
    "Prints cost against TTL per model, the break-even TTL and hit rate (operator\n"
    "and customer), and the cost-optimal TTL among those swept (docs/pricing.md).\n"
    "\n"
    "  --pricing LIST        models: presets (below) or pricing files, comma-separated\n"
    "  --ttl-sweep LIST      TTLs in seconds, comma-separated (default 60,300,900,3600)\n"
    "  --input-price X       override every model's input price, USD per million tokens\n"
    "  --output-price Y      override the output price\n"
    "  --cacheable WHAT      prefix an explicit model caches: auto (default: leading\n"
    "                        system/passage chunks, else the whole prompt), system, all,\n"
    "                        blocks:N\n"
    "operator:\n"
    "  --tier NAME           where held contexts live: hbm, dram (default), ssd, remote\n"
    "  --tier-usd-per-gb-hour X  override the tier's holding price\n"
    "  --transfer-usd-per-gb X   override the tier's price of moving KV to the GPU\n"
    "  --gpu-usd-per-hour X  price of a GPU (default 2.50)\n"
    "  --prefill-tps R       prefill tokens/s of that GPU (default 10000)\n"
    "  --model-kv-bytes-per-token N  KV bytes per token (default 131072: Llama-3-8B fp16)\n"
    "output:\n"
    "  --json                print JSON instead of text\n"
    "  --csv FILE            write the cost-vs-TTL table as CSV (docs/pricing.md)\n"
    "\n"
    "trace options:\n"
    "  --format NAME  --block-size N  --tokenizer FILE  --tenant NAME  (as replay)\n"
    "\n"
    "pricing presets:\n";

static void cost_print_help(FILE *out)
{
    fputs(cost_help, out);
    for (size_t i = 0; i < cc_pricing_preset_count(); i++) {
        const cc_pricing *p = cc_pricing_preset_at(i);
        fprintf(out, "  %-16s %s in $%g/M, write %gx, read %gx, storage $%g/M-h, ttl %g s %s, "
                     "min %u\n",
                p->name, p->explicit_cache ? "explicit" : "implicit", p->input_usd_per_mtok,
                p->write_mult, p->read_mult, p->storage_usd_per_mtok_hour, p->ttl_s,
                p->refresh ? "refreshed" : "fixed", p->min_tokens);
    }
    fputs("\nexamples:\n"
          "  ctxcache cost trace.jsonl --pricing gemini-explicit,moonshot-2024 --ttl-sweep "
          "60,300,900,3600\n"
          "  ctxcache cost trace.h5 --pricing anthropic-5m,openai,my.pricing --json --csv cost.csv\n",
          out);
}

enum {
    C_JSON = 1000, C_PRICING, C_SWEEP, C_IN, C_OUT, C_CACHEABLE,
    C_TIER, C_TIER_USD, C_XFER_USD, C_GPU, C_PREFILL, C_KVB, C_CSV,
};

static const struct option cost_opts[] = {
    CLI_TRACE_LONG_OPTS,
    {"json", no_argument, 0, C_JSON},
    {"pricing", required_argument, 0, C_PRICING},
    {"ttl-sweep", required_argument, 0, C_SWEEP},
    {"input-price", required_argument, 0, C_IN},
    {"output-price", required_argument, 0, C_OUT},
    {"cacheable", required_argument, 0, C_CACHEABLE},
    {"tier", required_argument, 0, C_TIER},
    {"tier-usd-per-gb-hour", required_argument, 0, C_TIER_USD},
    {"transfer-usd-per-gb", required_argument, 0, C_XFER_USD},
    {"gpu-usd-per-hour", required_argument, 0, C_GPU},
    {"prefill-tps", required_argument, 0, C_PREFILL},
    {"model-kv-bytes-per-token", required_argument, 0, C_KVB},
    {"csv", required_argument, 0, C_CSV},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static int parse_nonneg(const char *cmd, const char *opt, const char *s, double lo_excl,
                        double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < 0 || (lo_excl >= 0 && !(v > lo_excl)) ||
        v > 1e12)
        return cli_usage_error(cmd, "%s: expected a %s number, got '%s'", opt,
                               lo_excl >= 0 ? "positive" : "non-negative", s);
    *out = v;
    return 0;
}

static int parse_ttls(const char *cmd, const char *s, double *ttls, size_t *n)
{
    char buf[1024];
    if (strlen(s) >= sizeof buf)
        return cli_usage_error(cmd, "--ttl-sweep: list too long");
    strcpy(buf, s);
    *n = 0;
    char *save = NULL;
    for (char *it = strtok_r(buf, ",", &save); it; it = strtok_r(NULL, ",", &save)) {
        if (*n >= MAX_TTLS)
            return cli_usage_error(cmd, "--ttl-sweep: at most %d values", MAX_TTLS);
        char *end;
        errno = 0;
        double v = strtod(it, &end);
        if (end == it || *end || errno || !(v > 0) || v > 1e9)
            return cli_usage_error(cmd, "--ttl-sweep: expected TTLs in seconds in (0, 1e9], got "
                                        "'%s'", it);
        ttls[(*n)++] = v;
    }
    if (!*n)
        return cli_usage_error(cmd, "--ttl-sweep: expected at least one TTL");
    return 0;
}

/* S for the customer's break-even: the mean object (explicit), else the
 * mean prompt. */
static double mean_size(const cc_bill *b)
{
    if (b->objects)
        return (double)b->object_tokens / (double)b->objects;
    return b->requests ? (double)b->input_tokens / (double)b->requests : 0;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

int cmd_cost(int argc, char **argv)
{
    const char *cmd = "cost";
    if (argc < 2) {
        cost_print_help(stderr);
        return 2;
    }
    cli_trace_opts o = {0};
    int json = 0, rc;
    const char *list = NULL, *sweep = "60,300,900,3600", *cacheable = "auto", *tier = "dram",
               *csv = NULL;
    double in_price = 0, out_price = 0, tier_usd = -1, xfer_usd = -1, gpu = -1, prefill = -1,
           kvb = -1;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", cost_opts, NULL)) != -1) {
        switch (c) {
        CLI_TRACE_OPT_CASES:
            if (cli_trace_opt(cmd, c, optarg, &o))
                return 2;
            break;
        case C_JSON: json = 1; break;
        case C_PRICING: list = optarg; break;
        case C_SWEEP: sweep = optarg; break;
        case C_IN:
            if (cli_parse_price(cmd, "--input-price", optarg, &in_price))
                return 2;
            break;
        case C_OUT:
            if (cli_parse_price(cmd, "--output-price", optarg, &out_price))
                return 2;
            break;
        case C_CACHEABLE: cacheable = optarg; break;
        case C_TIER: tier = optarg; break;
        case C_TIER_USD:
            if (parse_nonneg(cmd, "--tier-usd-per-gb-hour", optarg, -1, &tier_usd))
                return 2;
            break;
        case C_XFER_USD:
            if (parse_nonneg(cmd, "--transfer-usd-per-gb", optarg, -1, &xfer_usd))
                return 2;
            break;
        case C_GPU:
            if (parse_nonneg(cmd, "--gpu-usd-per-hour", optarg, -1, &gpu))
                return 2;
            break;
        case C_PREFILL:
            if (parse_nonneg(cmd, "--prefill-tps", optarg, 0, &prefill))
                return 2;
            break;
        case C_KVB:
            if (parse_nonneg(cmd, "--model-kv-bytes-per-token", optarg, 0, &kvb))
                return 2;
            break;
        case C_CSV: csv = optarg; break;
        case 'h': cost_print_help(stdout); return 0;
        default: return cli_usage_error(cmd, "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(cmd, "expected one trace file");
    if (!list)
        return cli_usage_error(cmd, "give the models: --pricing P1,P2,... (presets or files)");
    cli_pricing *pr = calloc(1, sizeof *pr);
    double ttls[MAX_TTLS];
    size_t n_ttls = 0;
    if (!pr)
        return 3;
    cc_err err = {0};
    cc_econ econ;
    cc_ctx_config cx;
    memset(&cx, 0, sizeof cx);
    if ((rc = cli_pricing_parse(cmd, list, pr)) || (rc = parse_ttls(cmd, sweep, ttls, &n_ttls))) {
        free(pr);
        return rc;
    }
    if (cc_ctx_parse_cacheable(cacheable, &cx, &err) != CC_OK) {
        free(pr);
        return cli_usage_error(cmd, "--cacheable: %s", err.msg);
    }
    if (cc_econ_init(&econ, tier, &err) != CC_OK) {
        free(pr);
        return cli_usage_error(cmd, "--tier: %s", err.msg);
    }
    if (tier_usd >= 0)
        econ.tier.usd_per_gb_hour = tier_usd;
    if (xfer_usd >= 0)
        econ.tier.transfer_usd_per_gb = xfer_usd;
    if (gpu >= 0)
        econ.gpu_usd_per_hour = gpu;
    if (prefill > 0)
        econ.prefill_tokens_per_s = prefill;
    if (kvb > 0)
        econ.kv_bytes_per_token = kvb;
    pr->run.cacheable = cx.cacheable;
    pr->run.cacheable_blocks = cx.cacheable_blocks;
    pr->run.input_usd_per_mtok = in_price;
    pr->run.output_usd_per_mtok = out_price;

    cc_trace t;
    if ((rc = cli_load_trace(cmd, argv[optind], &o, &t))) {
        free(pr);
        return rc;
    }
    if (o.block_size && t.block_size != o.block_size &&
        cc_trace_reblock(&t, o.block_size, &err) != CC_OK) {
        cc_trace_free(&t);
        free(pr);
        return cli_fail(cmd, &err);
    }
    cc_sweep_row *rows = NULL;
    if ((rc = cli_pricing_bill(cmd, &t, pr)) ||
        cc_econ_sweep(&t, pr->models, pr->n, ttls, n_ttls, &pr->run, &econ, &rows, &err) != CC_OK) {
        if (!rc)
            rc = cli_fail(cmd, &err);
        cc_trace_free(&t);
        free(pr);
        return rc;
    }
    if (csv && cc_econ_sweep_write_csv(csv, rows, pr->n * n_ttls, &err) != CC_OK) {
        rc = cli_fail(cmd, &err);
        goto done;
    }
    cc_econ_figures f;
    cc_econ_figures_of(&econ, &f);
    if (json) {
        json_t *root = json_object();
        json_object_set_new(root, "trace", json_string(t.source));
        json_object_set_new(root, "requests", json_integer((json_int_t)t.n));
        json_t *e = json_object();
        json_object_set_new(e, "tier", json_string(econ.tier.name));
        json_object_set_new(e, "tier_usd_per_gb_hour", json_real(econ.tier.usd_per_gb_hour));
        json_object_set_new(e, "transfer_usd_per_gb", json_real(econ.tier.transfer_usd_per_gb));
        json_object_set_new(e, "gpu_usd_per_hour", json_real(econ.gpu_usd_per_hour));
        json_object_set_new(e, "prefill_tokens_per_s", json_real(econ.prefill_tokens_per_s));
        json_object_set_new(e, "kv_bytes_per_token", json_real(econ.kv_bytes_per_token));
        json_object_set_new(e, "hold_usd_per_token_s", json_real(f.hold_usd_per_token_s));
        json_object_set_new(e, "recompute_usd_per_token", json_real(f.recompute_usd_per_token));
        json_object_set_new(e, "load_usd_per_token", json_real(f.load_usd_per_token));
        json_object_set_new(e, "break_even_ttl_s", num_or_null(f.break_even_ttl_s));
        json_object_set_new(root, "operator", e);
        cli_pricing_json(pr, root);
        json_t *models = json_object();
        for (size_t m = 0; m < pr->n; m++) {
            cc_pricing p = cc_pricing_apply(&pr->models[m], &pr->run);
            double S = mean_size(&pr->bills[m]);
            double nstar = cc_pricing_break_even_reads(&p, S, p.ttl_s);
            json_t *x = json_object();
            json_object_set_new(x, "size_tokens", json_real(S));
            json_object_set_new(x, "break_even_reads", num_or_null(nstar));
            json_object_set_new(x, "break_even_hit_rate",
                                num_or_null(isfinite(nstar) ? nstar / (1 + nstar) : NAN));
            json_object_set_new(x, "break_even_ttl_s", num_or_null(cc_pricing_break_even_ttl_s(&p, S)));
            size_t bc = cc_econ_sweep_best(rows, n_ttls, m, 0);
            size_t bo = cc_econ_sweep_best(rows, n_ttls, m, 1);
            json_object_set_new(x, "optimal_ttl_s", json_real(ttls[bc]));
            json_object_set_new(x, "operator_optimal_ttl_s", json_real(ttls[bo]));
            json_t *arr = json_array();
            for (size_t k = 0; k < n_ttls; k++) {
                const cc_sweep_row *r = &rows[m * n_ttls + k];
                json_t *row = bill_json(&r->bill, 0);
                json_object_set_new(row, "ttl_s", json_real(r->ttl_s));
                json_object_set_new(row, "operator_usd", json_real(r->operator_usd));
                json_object_set_new(row, "operator_break_even_hit_rate",
                                    num_or_null(cc_econ_break_even_hit_rate(&f, r->ttl_s)));
                json_array_append_new(arr, row);
            }
            json_object_set_new(x, "sweep", arr);
            json_object_set_new(models, p.name, x);
        }
        json_object_set_new(root, "models", models);
        rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) ? 3 : 0;
        putchar('\n');
        json_decref(root);
    } else {
        printf("trace            %s (%s): %zu requests, %u tokens per block\n", t.source,
               t.source_format, t.n, t.block_size);
        cli_pricing_text(pr, stdout);
        printf("operator         tier %s $%g/GB-h, transfer $%g/GB; GPU $%g/h at %g prefill "
               "tok/s; KV %g bytes/token\n",
               econ.tier.name, econ.tier.usd_per_gb_hour, econ.tier.transfer_usd_per_gb,
               econ.gpu_usd_per_hour, econ.prefill_tokens_per_s, econ.kv_bytes_per_token);
        printf("                 hold $%.4g/token-s, recompute $%.4g/token, load $%.4g/token: "
               "break-even TTL %.6g s\n",
               f.hold_usd_per_token_s, f.recompute_usd_per_token, f.load_usd_per_token,
               f.break_even_ttl_s);
        for (size_t m = 0; m < pr->n; m++) {
            cc_pricing p = cc_pricing_apply(&pr->models[m], &pr->run);
            double S = mean_size(&pr->bills[m]);
            double nstar = cc_pricing_break_even_reads(&p, S, p.ttl_s);
            printf("\n%s (%s, ttl %g s %s): customer break-even %.4g reads per write (hit rate "
                   "%.4g) for %.0f-token contexts held %g s; break-even TTL %.6g s\n",
                   p.name, p.explicit_cache ? "explicit" : "implicit", p.ttl_s,
                   p.refresh ? "refreshed" : "fixed", nstar,
                   isfinite(nstar) ? nstar / (1 + nstar) : NAN, S, p.ttl_s,
                   cc_pricing_break_even_ttl_s(&p, S));
            printf("  %10s %12s %12s %12s %12s %10s %14s %12s %10s\n", "ttl_s", "bill_usd",
                   "storage", "read", "uncached", "hits", "token_hours", "operator", "op_hit_be");
            size_t bc = cc_econ_sweep_best(rows, n_ttls, m, 0);
            size_t bo = cc_econ_sweep_best(rows, n_ttls, m, 1);
            for (size_t k = 0; k < n_ttls; k++) {
                const cc_sweep_row *r = &rows[m * n_ttls + k];
                printf("  %10g %12.6g %12.6g %12.6g %12.6g %10llu %14.6g %12.6g %10.4g%s%s\n",
                       r->ttl_s, r->bill.total_usd, r->bill.storage_usd, r->bill.cache_read_usd,
                       r->bill.input_uncached_usd, (unsigned long long)r->bill.hits,
                       r->bill.token_hours_stored, r->operator_usd,
                       cc_econ_break_even_hit_rate(&f, r->ttl_s), k == bc ? "  <- bill" : "",
                       k == bo ? "  <- operator" : "");
            }
            printf("  optimal TTL    %g s for the bill, %g s for the operator (of those swept)\n",
                   ttls[bc], ttls[bo]);
        }
        if (csv)
            printf("\ncost vs TTL written to %s\n", csv);
    }
done:
    free(rows);
    cc_trace_free(&t);
    free(pr);
    return rc;
}
