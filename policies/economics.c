/*
 * economics.c -- operator economics of holding contexts (pricing.h): what
 * holding KV costs per tier, what moving it and recomputing it cost, the
 * break-even TTL and hit rate (the operator's and the customer's), and a
 * TTL sweep that replays a trace under each pricing model at each TTL.
 *
 * The formulas are derived in docs/pricing.md.  The tier prices below are
 * defaults for planning, not quotes: each says where it comes from.
 *
 * Costs: the closed forms are O(1); a sweep is n_models * n_ttls pricing
 * replays (cc_pricing_replay), rows allocated once.
 */
#include "pricing.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const cc_econ_tier tiers[] = {
    /* An H100 80 GB rented at $2.50/GPU-hour (the middle of on-demand
     * offers from GPU clouds in 2025-2026; an assumption, not a quote),
     * all of it charged to its memory: 2.50 / 80 = $0.03125 per GB-hour.
     * An upper bound: the GPU also computes while it holds the KV. */
    {"hbm", 2.50 / 80, 0, "H100 80 GB at $2.50/GPU-h, all charged to HBM (assumed)"},
    /* Host DRAM: a memory-optimised cloud VM, about $0.0083 per GiB-hour
     * with its CPUs (AWS r7i.large, 16 GiB at $0.1323/h on demand,
     * us-east-1, 2025 list price from memory, not re-read here); about
     * $0.005/GB-hour for the memory's share -- the value used. */
    {"dram", 0.005, 0, "memory-optimised VM DRAM share (AWS r7i, 2025 list, from memory)"},
    /* Block storage: AWS EBS gp3 $0.08 per GB-month (2025 list price, from
     * memory) = 0.08 / 730 = $0.00011 per GB-hour.  Moving it over PCIe /
     * NVMe costs time, not money: transfer 0. */
    {"ssd", 0.08 / 730, 0, "EBS gp3 $0.08/GB-month (2025 list, from memory)"},
    /* Remote object store: S3 Standard $0.023 per GB-month = $0.0000315 per
     * GB-hour; moving it across availability zones $0.01/GB each way (AWS
     * 2025 list prices, from memory). */
    {"remote", 0.023 / 730, 0.01, "S3 Standard $0.023/GB-month, $0.01/GB inter-AZ (2025, from memory)"},
};

size_t cc_econ_tier_count(void) { return sizeof tiers / sizeof tiers[0]; }
const cc_econ_tier *cc_econ_tier_at(size_t i) { return i < cc_econ_tier_count() ? &tiers[i] : NULL; }
const cc_econ_tier *cc_econ_tier_find(const char *name)
{
    for (size_t i = 0; i < cc_econ_tier_count(); i++)
        if (!strcmp(tiers[i].name, name))
            return &tiers[i];
    return NULL;
}

int cc_econ_init(cc_econ *e, const char *tier, cc_err *err)
{
    memset(e, 0, sizeof *e);
    e->gpu_usd_per_hour = CC_ECON_DEFAULT_GPU_USD_PER_HOUR;
    e->prefill_tokens_per_s = CC_ECON_DEFAULT_PREFILL_TPS;
    e->kv_bytes_per_token = CC_ECON_DEFAULT_KV_BYTES_PER_TOKEN;
    const cc_econ_tier *t = cc_econ_tier_find(tier ? tier : "dram");
    if (!t)
        return cc_err_set(err, CC_EARG, NULL, 0, "tier",
                          "unknown tier '%s' (hbm, dram, ssd, remote)", tier);
    e->tier = *t;
    return CC_OK;
}

void cc_econ_figures_of(const cc_econ *e, cc_econ_figures *f)
{
    const double gb = e->kv_bytes_per_token / 1e9;
    f->hold_usd_per_token_s = gb * e->tier.usd_per_gb_hour / 3600;
    f->recompute_usd_per_token =
        e->prefill_tokens_per_s > 0 ? e->gpu_usd_per_hour / 3600 / e->prefill_tokens_per_s : 0;
    f->load_usd_per_token = gb * e->tier.transfer_usd_per_gb;
    const double save = f->recompute_usd_per_token - f->load_usd_per_token;
    if (save <= 0)
        f->break_even_ttl_s = 0;
    else if (f->hold_usd_per_token_s <= 0)
        f->break_even_ttl_s = INFINITY;
    else
        f->break_even_ttl_s = save / f->hold_usd_per_token_s;
}

double cc_econ_break_even_hit_rate(const cc_econ_figures *f, double ttl_s)
{
    if (isinf(f->break_even_ttl_s))
        return 0;
    if (f->break_even_ttl_s <= 0)
        return INFINITY;
    return ttl_s / f->break_even_ttl_s;
}

double cc_pricing_break_even_reads(const cc_pricing *p, double S, double hold_s)
{
    const double P = p->input_usd_per_mtok / 1e6;
    const double cost = P * (p->write_mult - 1) + p->creation_usd_per_mtok / 1e6 +
                        p->storage_usd_per_mtok_hour / 1e6 * hold_s / 3600 +
                        (S > 0 ? p->creation_fee_usd / S : 0);
    const double save = P * (1 - p->read_mult) - (S > 0 ? p->hit_fee_usd / S : 0);
    if (save <= 0)
        return INFINITY;
    return cost > 0 ? cost / save : 0;
}

double cc_pricing_break_even_ttl_s(const cc_pricing *p, double S)
{
    const double st = p->storage_usd_per_mtok_hour / 1e6 / 3600; /* per token-second */
    const double save =
        p->input_usd_per_mtok / 1e6 * (1 - p->read_mult) - (S > 0 ? p->hit_fee_usd / S : 0);
    if (save <= 0)
        return 0;
    return st > 0 ? save / st : INFINITY;
}

double cc_econ_operator_usd(const cc_econ *e, const cc_bill *b)
{
    cc_econ_figures f;
    cc_econ_figures_of(e, &f);
    const double computed = (double)(b->input_tokens - b->read_tokens);
    return computed * f.recompute_usd_per_token +
           b->token_hours_stored * 3600 * f.hold_usd_per_token_s +
           (double)b->read_tokens * f.load_usd_per_token;
}

int cc_econ_sweep(const cc_trace *t, const cc_pricing *models, size_t n_models, const double *ttls,
                  size_t n_ttls, const cc_pricing_run *run, const cc_econ *e, cc_sweep_row **rows,
                  cc_err *err)
{
    *rows = NULL;
    if (!n_models || !n_ttls)
        return cc_err_set(err, CC_EARG, NULL, 0, "ttl_sweep", "nothing to sweep");
    cc_sweep_row *out = calloc(n_models * n_ttls, sizeof *out);
    if (!out)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the sweep");
    for (size_t m = 0; m < n_models; m++)
        for (size_t k = 0; k < n_ttls; k++) {
            cc_pricing_run r = run ? *run : (cc_pricing_run){0};
            r.ttl_s = ttls[k];
            cc_sweep_row *row = &out[m * n_ttls + k];
            snprintf(row->pricing, sizeof row->pricing, "%s", models[m].name);
            row->ttl_s = ttls[k];
            int rc = cc_pricing_replay(t, &models[m], &r, &row->bill, NULL, err);
            if (rc) {
                free(out);
                return rc;
            }
            row->operator_usd = cc_econ_operator_usd(e, &row->bill);
        }
    *rows = out;
    return CC_OK;
}

size_t cc_econ_sweep_best(const cc_sweep_row *rows, size_t n_ttls, size_t m, int use_operator)
{
    size_t best = 0;
    for (size_t k = 1; k < n_ttls; k++) {
        const cc_sweep_row *a = &rows[m * n_ttls + k], *b = &rows[m * n_ttls + best];
        double va = use_operator ? a->operator_usd : a->bill.total_usd;
        double vb = use_operator ? b->operator_usd : b->bill.total_usd;
        if (va < vb || (va == vb && a->ttl_s < b->ttl_s))
            best = k;
    }
    return best;
}

int cc_econ_sweep_write_csv(const char *path, const cc_sweep_row *rows, size_t n, cc_err *err)
{
    cc_outfile o;
    int rc = cc_outfile_open(&o, path, err);
    if (rc)
        return rc;
    fprintf(o.f, "pricing,ttl_s,total_usd,input_uncached_usd,cache_write_usd,cache_read_usd,"
                 "storage_usd,creation_fee_usd,hit_fee_usd,output_usd,read_tokens,written_tokens,"
                 "uncached_tokens,objects,hits,token_hours_stored,operator_usd\n");
    for (size_t i = 0; i < n; i++) {
        const cc_bill *b = &rows[i].bill;
        fprintf(o.f, "%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%llu,%llu,%llu,"
                     "%llu,%llu,%.17g,%.17g\n",
                rows[i].pricing, rows[i].ttl_s, b->total_usd, b->input_uncached_usd,
                b->cache_write_usd, b->cache_read_usd, b->storage_usd, b->creation_fee_usd,
                b->hit_fee_usd, b->output_usd, (unsigned long long)b->read_tokens,
                (unsigned long long)b->written_tokens, (unsigned long long)b->uncached_tokens,
                (unsigned long long)b->objects, (unsigned long long)b->hits, b->token_hours_stored,
                rows[i].operator_usd);
    }
    rc = ferror(o.f) ? cc_err_set(err, CC_EIO, path, 0, NULL, "write failed") : CC_OK;
    return cc_outfile_close(&o, path, rc, err);
}
