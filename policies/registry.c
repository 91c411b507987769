/*
 * registry.c -- the one table of eviction/admission policies, policy specs
 * ("name" or "name(key=value,...)") and parameter helpers.
 *
 * Adding a policy: write policies/<name>.c defining cc_policy_<name> and add
 * one X(<name>) line to CC_POLICY_TABLE below (see policy.h).  Lookups are a
 * linear scan of a handful of names, done once per tier at set-up.
 */
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One line per policy; policies/<name>.c defines cc_policy_<name>. */
#define CC_POLICY_TABLE(X) \
    X(lru)                 \
    X(fifo)                \
    X(clock)               \
    X(lfu)                 \
    X(sieve)               \
    X(s3fifo)              \
    X(arc)                 \
    X(slru)                \
    X(gdsf)                \
    X(ttl)                 \
    X(trt)                 \
    X(belady)

#define CC_POLICY_DECLARE(name) extern const cc_policy_ops cc_policy_##name;
#define CC_POLICY_ENTRY(name) &cc_policy_##name,
CC_POLICY_TABLE(CC_POLICY_DECLARE)
static const cc_policy_ops *const policies[] = {CC_POLICY_TABLE(CC_POLICY_ENTRY)};
static const size_t n_policies = sizeof policies / sizeof policies[0];

size_t cc_policy_count(void) { return n_policies; }

const cc_policy_ops *cc_policy_at(size_t i) { return i < n_policies ? policies[i] : NULL; }

const cc_policy_ops *cc_policy_find(const char *name)
{
    for (size_t i = 0; i < n_policies; i++)
        if (strcmp(policies[i]->name, name) == 0)
            return policies[i];
    return NULL;
}

static void names(char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < n_policies; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? ", " : "", policies[i]->name);
    }
}

static const char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int cc_policy_parse(const char *spec, const cc_policy_ops **ops, cc_policy_params *params,
                    cc_err *err)
{
    memset(params, 0, sizeof *params);
    *ops = NULL;
    if (!spec || !*spec)
        return cc_err_set(err, CC_EARG, NULL, 0, "policy", "empty policy name");
    if (strlen(spec) >= sizeof params->spec)
        return cc_err_set(err, CC_EARG, NULL, 0, "policy", "policy spec '%.40s...' is too long",
                          spec);
    strcpy(params->spec, spec);
    char buf[sizeof params->spec];
    strcpy(buf, spec);
    char *open = strchr(buf, '(');
    if (open) {
        size_t len = strlen(buf);
        if (buf[len - 1] != ')')
            return cc_err_set(err, CC_EARG, NULL, 0, "policy",
                              "'%s': expected name(key=value,...) with a closing ')'", spec);
        buf[len - 1] = '\0';
        *open = '\0';
        char *save = NULL;
        for (char *kv = strtok_r(open + 1, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            if (!eq)
                return cc_err_set(err, CC_EARG, NULL, 0, "policy",
                                  "'%s': parameter '%s' is not key=value", spec, kv);
            *eq = '\0';
            const char *k = trim(kv), *v = trim(eq + 1);
            if (params->n == CC_POLICY_MAX_PARAMS)
                return cc_err_set(err, CC_EARG, NULL, 0, "policy",
                                  "'%s': more than %d parameters", spec, CC_POLICY_MAX_PARAMS);
            if (!*k || strlen(k) >= sizeof params->kv[0].key || !*v ||
                strlen(v) >= sizeof params->kv[0].value)
                return cc_err_set(err, CC_EARG, NULL, 0, "policy",
                                  "'%s': empty or over-long key or value", spec);
            strcpy(params->kv[params->n].key, k);
            strcpy(params->kv[params->n].value, v);
            params->n++;
        }
    }
    const char *name = trim(buf);
    *ops = cc_policy_find(name);
    if (!*ops) {
        char known[512];
        names(known, sizeof known);
        return cc_err_set(err, CC_EARG, NULL, 0, "policy",
                          "unknown policy '%s' (known: %s)", name, known);
    }
    return CC_OK;
}

int cc_policy_create(const cc_policy_ops *ops, const cc_policy_params *params,
                     uint32_t capacity, cc_policy *out, cc_err *err)
{
    out->ops = ops;
    out->state = NULL;
    if (capacity == 0)
        return cc_err_set(err, CC_EARG, NULL, 0, "capacity",
                          "policy %s: capacity must be at least 1 block", ops->name);
    cc_policy_params none;
    if (!params) {
        memset(&none, 0, sizeof none);
        snprintf(none.spec, sizeof none.spec, "%s", ops->name);
        params = &none;
    }
    return ops->create(params, capacity, &out->state, err);
}

void cc_policy_destroy(cc_policy *p)
{
    if (p->ops && p->state)
        p->ops->destroy(p->state);
    p->state = NULL;
}

int cc_policy_param_check(const cc_policy_params *p, const char *const *known, cc_err *err)
{
    for (uint32_t i = 0; i < p->n; i++) {
        int ok = 0;
        for (size_t j = 0; known && known[j]; j++)
            if (!strcmp(known[j], p->kv[i].key))
                ok = 1;
        if (!ok)
            return cc_err_set(err, CC_EARG, NULL, 0, p->kv[i].key,
                              "policy '%s' has no parameter '%s'", p->spec, p->kv[i].key);
    }
    return CC_OK;
}

int cc_policy_param_double(const cc_policy_params *p, const char *key, double def, double lo,
                           double hi, double *out, cc_err *err)
{
    *out = def;
    for (uint32_t i = 0; i < p->n; i++) {
        if (strcmp(p->kv[i].key, key))
            continue;
        char *end;
        errno = 0;
        double v = strtod(p->kv[i].value, &end);
        if (errno || *end || !isfinite(v) || v < lo || v > hi)
            return cc_err_set(err, CC_EARG, NULL, 0, key,
                              "policy '%s': expected a number in [%g, %g] for %s, got '%s'",
                              p->spec, lo, hi, key, p->kv[i].value);
        *out = v;
    }
    return CC_OK;
}

const char *cc_policy_warning(const cc_policy_ops *ops, const cc_policy_params *params)
{
    if (ops == cc_policy_find("trt")) {
        for (uint32_t i = 0; params && i < params->n; i++)
            if (!strcmp(params->kv[i].key, "prefix_blocks") && strtod(params->kv[i].value, NULL) > 0)
                return NULL;
        return "trt without prefix_blocks: the trace carries no retention priorities, so every "
               "block has priority 35 and this run is plain LRU (give trt(prefix_blocks=N) to "
               "keep a shared prefix of N blocks at system_priority)";
    }
    return NULL;
}

int cc_policy_param_choice(const cc_policy_params *p, const char *key,
                           const char *const *choices, int def, int *out, cc_err *err)
{
    *out = def;
    for (uint32_t i = 0; i < p->n; i++) {
        if (strcmp(p->kv[i].key, key))
            continue;
        int found = -1;
        char list[256] = "";
        for (int j = 0; choices[j]; j++) {
            if (!strcmp(choices[j], p->kv[i].value))
                found = j;
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "",
                     choices[j]);
        }
        if (found < 0)
            return cc_err_set(err, CC_EARG, NULL, 0, key,
                              "policy '%s': expected one of %s for %s, got '%s'", p->spec, list,
                              key, p->kv[i].value);
        *out = found;
    }
    return CC_OK;
}

int cc_policy_param_has(const cc_policy_params *p, const char *key)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (!strcmp(p->kv[i].key, key))
            return 1;
    return 0;
}
