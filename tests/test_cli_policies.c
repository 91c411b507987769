/* test_cli_policies.c -- `ctxcache policies`: every policy the README names
 * is listed; every documented parameter is one the policy accepts, and its
 * documented default gives the same replay as leaving it out (so the docs
 * cannot drift from the code); an undocumented key is refused; the trt
 * warning appears exactly when trt degenerates to LRU, and then trt's
 * figures are LRU's; `version` with an argument is a usage error. */
#include "testutil.h"

#include <jansson.h>

/* The policies the README lists (its "The prefix / context KV tier"). */
static const char *const readme_policies[] = {"lru",  "fifo", "clock", "lfu",  "sieve", "s3fifo",
                                              "arc",  "slru", "gdsf",  "ttl",  "trt",   "belady"};

static char trace[512];

static int setup(void **state)
{
    (void)state;
    char cmd[1024];
    tu_tmp_path(trace, sizeof trace, "policies_trace.h5");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 3 >/dev/null 2>&1", tu_bin(), trace);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unlink(trace);
    return 0;
}

static json_t *policies_json(void)
{
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s policies --json", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fail_msg("policies --json: %s: %s", je.text, out);
    free(out);
    return j;
}

static double hit_ratio(const char *policy, char **warn)
{
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "(%s replay %s --max-requests 800 --capacity-blocks 1500 --policy '%s' --concurrency none --json "
             "2>%s.err)", tu_bin(), trace, policy, trace);
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s: %s", policy, out);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    double h = json_number_value(json_object_get(j, "block_hit_ratio"));
    json_decref(j);
    free(out);
    char ep[600];
    snprintf(ep, sizeof ep, "%s.err", trace);
    if (warn)
        *warn = tu_slurp(ep, &(size_t){0});
    unlink(ep);
    return h;
}

static void test_every_policy_listed(void **state)
{
    (void)state;
    json_t *j = policies_json();
    json_t *ps = json_object_get(j, "policies");
    assert_int_equal(json_array_size(ps), sizeof readme_policies / sizeof readme_policies[0]);
    for (size_t i = 0; i < sizeof readme_policies / sizeof readme_policies[0]; i++) {
        int found = 0;
        size_t k;
        json_t *p;
        json_array_foreach(ps, k, p)
            found += !strcmp(json_string_value(json_object_get(p, "name")), readme_policies[i]);
        if (found != 1)
            fail_msg("%s listed %d times", readme_policies[i], found);
    }
    json_decref(j);
    /* text: one policy, and an unknown one */
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s policies slru", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "layout=classic"));
    assert_null(strstr(out, "s3fifo"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s policies nope", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "unknown policy 'nope'"));
    assert_non_null(strstr(out, "s3fifo"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s version --bogus", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "--bogus"));
    free(out);
}

/* Each documented key with its documented default: accepted, and the same
 * figures as no parameter at all.  An undocumented key: refused. */
static void test_documented_defaults(void **state)
{
    (void)state;
    json_t *j = policies_json();
    size_t i, k;
    json_t *p, *d;
    int checked = 0;
    json_array_foreach(json_object_get(j, "policies"), i, p) {
        const char *name = json_string_value(json_object_get(p, "name"));
        if (!strcmp(name, "belady"))
            continue; /* offline: needs next uses, same figures anyway */
        double plain = hit_ratio(name, NULL);
        json_array_foreach(json_object_get(p, "params"), k, d) {
            const char *key = json_string_value(json_object_get(d, "key"));
            const char *def = json_string_value(json_object_get(d, "default"));
            if (strchr(def, ' '))
                continue; /* a formula ("1 - small") */
            char spec[256];
            snprintf(spec, sizeof spec, "%s(%s=%s)", name, key, def);
            double h = hit_ratio(spec, NULL);
            if (h != plain)
                fail_msg("%s: hit ratio %.10f, without it %.10f: the documented default is "
                         "not the default", spec, h, plain);
            checked++;
        }
        char spec[256], cmd[2048], *out = NULL;
        snprintf(spec, sizeof spec, "%s(undocumented_key=1)", name);
        snprintf(cmd, sizeof cmd, "%s replay %s --max-requests 800 --capacity-blocks 1500 --policy '%s'", tu_bin(),
                 trace, spec);
        assert_int_equal(tu_run(cmd, &out), 2);
        assert_non_null(strstr(out, "undocumented_key"));
        free(out);
    }
    assert_true(checked >= 11);
    json_decref(j);
}

/* trt with no priorities is LRU, and says so; with prefix_blocks it is not
 * and says nothing. */
static void test_trt_warning(void **state)
{
    (void)state;
    char *w = NULL;
    double lru = hit_ratio("lru", NULL);
    double trt = hit_ratio("trt", &w);
    assert_true(trt == lru);
    assert_non_null(w);
    assert_non_null(strstr(w, "plain LRU"));
    free(w);
    double trt4 = hit_ratio("trt(prefix_blocks=8)", &w);
    assert_non_null(w);
    assert_null(strstr(w, "warning"));
    free(w);
    assert_true(trt4 != lru); /* the system prompt kept: other figures */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_policy_listed),
        cmocka_unit_test(test_documented_defaults),
        cmocka_unit_test(test_trt_warning),
    };
    return cmocka_run_group_tests_name("cli_policies", tests, setup, teardown);
}
