/*
 * tier_spec.c -- the text form of a tier chain ("hbm:10000,dram:512GiB:bw=
 * 25GB/s"), parsed into cc_pc_config (grammar in prefix_cache.h).
 *
 * The spec is split at top-level commas into tiers and each tier at
 * top-level colons into fields; parentheses (policy parameters) protect
 * what they enclose.  Numbers go through strtod and are checked for range;
 * every error names the tier and the part that is wrong.  Cost: linear in
 * the spec's length.
 */
#include "prefix_cache.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Splits s in place at top-level occurrences of sep; returns the count. */
static int split_top(char *s, char sep, char **parts, int max)
{
    int n = 0, depth = 0;
    parts[n++] = s;
    for (char *p = s; *p; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')')
            depth--;
        else if (*p == sep && depth == 0) {
            if (n == max)
                return -1;
            *p = '\0';
            parts[n++] = p + 1;
        }
    }
    return n;
}

typedef struct unit {
    const char *name;
    double mult;
} unit;

static const unit byte_units[] = {
    {"B", 1},       {"KB", 1e3},          {"MB", 1e6},          {"GB", 1e9},
    {"TB", 1e12},   {"KiB", 1024.0},      {"MiB", 1048576.0},   {"GiB", 1073741824.0},
    {"TiB", 1099511627776.0}, {NULL, 0},
};
static const unit time_units[] = {
    {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9}, {NULL, 0},
};

/* number[unit]; *had_unit says whether a unit was given. */
static int parse_quantity(const char *s, const unit *units, double *out, int *had_unit)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v) || v < 0)
        return -1;
    *had_unit = 0;
    if (*end) {
        const unit *u = units;
        while (u->name && strcmp(u->name, end))
            u++;
        if (!u->name)
            return -1;
        v *= u->mult;
        *had_unit = 1;
    }
    *out = v;
    return 0;
}

int cc_pc_parse_tiers(const char *spec, const cc_policy_ops *default_policy,
                      const cc_policy_params *default_params, uint64_t kv_bytes_per_block,
                      cc_pc_config *cfg, cc_err *err)
{
    if (!spec || !*spec)
        return cc_err_set(err, CC_EARG, NULL, 0, "tiers", "empty tier list");
    size_t len = strlen(spec);
    char *buf = malloc(len + 1);
    if (!buf)
        return CC_ENOMEM;
    memcpy(buf, spec, len + 1);
    char *tiers[CC_PC_MAX_TIERS];
    int nt = split_top(buf, ',', tiers, CC_PC_MAX_TIERS);
    int rc = CC_OK;
    if (nt < 0) {
        rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers", "more than %d tiers in '%s'",
                        CC_PC_MAX_TIERS, spec);
        goto out;
    }
    for (int k = 0; k < nt; k++) {
        cc_tier_config *tc = &cfg->tiers[k];
        memset(tc, 0, sizeof *tc);
        tc->policy = default_policy;
        if (default_params)
            tc->policy_params = *default_params;
        char *f[16];
        int nf = split_top(tiers[k], ':', f, 16);
        if (nf < 2 || !*f[0]) {
            rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers",
                            "tier %d '%s': expected NAME:CAPACITY[:key=value...]", k + 1,
                            tiers[k]);
            goto out;
        }
        if (strlen(f[0]) >= sizeof tc->name) {
            rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers", "tier name '%s' is too long", f[0]);
            goto out;
        }
        strcpy(tc->name, f[0]);
        if (!strcasecmp(f[1], "inf")) {
            tc->capacity_blocks = 0;
        } else {
            double v;
            int had_unit;
            if (parse_quantity(f[1], byte_units, &v, &had_unit) != 0) {
                rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers",
                                "tier %s: capacity '%s': expected blocks (an integer), bytes "
                                "with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB) or inf",
                                tc->name, f[1]);
                goto out;
            }
            if (had_unit) {
                if (!kv_bytes_per_block) {
                    rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers",
                                    "tier %s: capacity '%s' is in bytes; give the KV bytes per "
                                    "token of the model (--model-kv-bytes-per-token)",
                                    tc->name, f[1]);
                    goto out;
                }
                v = floor(v / (double)kv_bytes_per_block);
            } else if (v != floor(v)) {
                rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers",
                                "tier %s: capacity '%s' blocks is not an integer", tc->name, f[1]);
                goto out;
            }
            if (v < 1 || v > CC_PC_MAX_TIER_BLOCKS) {
                rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers",
                                "tier %s: capacity '%s' is %.0f blocks; expected 1..%u", tc->name,
                                f[1], v, CC_PC_MAX_TIER_BLOCKS);
                goto out;
            }
            tc->capacity_blocks = (uint64_t)v;
        }
        for (int i = 2; i < nf; i++) {
            char *eq = strchr(f[i], '=');
            if (!eq) {
                rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers",
                                "tier %s: '%s' is not key=value", tc->name, f[i]);
                goto out;
            }
            *eq = '\0';
            const char *key = f[i], *val = eq + 1;
            double v;
            int had_unit;
            if (!strcmp(key, "policy")) {
                rc = cc_policy_parse(val, &tc->policy, &tc->policy_params, err);
                if (rc != CC_OK)
                    goto out;
            } else if (!strcmp(key, "bw")) {
                char num[64];
                size_t vl = strlen(val);
                if (vl >= sizeof num) {
                    rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers", "tier %s: bw too long",
                                    tc->name);
                    goto out;
                }
                strcpy(num, val);
                if (vl > 2 && !strcmp(num + vl - 2, "/s"))
                    num[vl - 2] = '\0';
                if (parse_quantity(num, byte_units, &v, &had_unit) != 0 || v <= 0) {
                    rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers",
                                    "tier %s: bw '%s': expected bytes per second, e.g. 25GB/s",
                                    tc->name, val);
                    goto out;
                }
                tc->bandwidth_bytes_per_s = v;
            } else if (!strcmp(key, "lat")) {
                if (parse_quantity(val, time_units, &v, &had_unit) != 0) {
                    rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers",
                                    "tier %s: lat '%s': expected a time, e.g. 5us", tc->name,
                                    val);
                    goto out;
                }
                tc->latency_s = v;
            } else {
                rc = cc_err_set(err, CC_EARG, NULL, 0, "tiers",
                                "tier %s: unknown key '%s' (known: policy, bw, lat)", tc->name,
                                key);
                goto out;
            }
        }
    }
    cfg->n_tiers = (uint32_t)nt;
out:
    free(buf);
    return rc;
}
