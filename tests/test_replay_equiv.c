/* test_replay_equiv.c -- one event loop, the same figures (issue 14, item
 * 5): the replay's overlapping modes used to run in their own loop in
 * core/replay_events.c and now run in the simulator's driver (scheduler
 * lanes with the fixed-rate executor).  tests/equiv/replay_equiv.sh runs
 * every concurrency mode x backend (rates, with default and odd rates and a
 * server limit; sim, one and two instances) x policies and tier layouts on
 * the generated default workload and on the Mooncake trace, and compares
 * each run's headline figures and the digests of its JSON (wall-clock
 * fields left out) and of its results file's tables with
 * tests/equiv/{gen,mooncake}.{rates,sim}.expected, which the implementation
 * before the change wrote (commit 576c3fd): the independent source here is
 * the old code, not this build.  The rates part is the service-time model's
 * definition and must never move; the sim part moves when the cost model or
 * the simulator's memory accounting is meant to change (then recapture it,
 * and say so). */
#include "testutil.h"

static void check(const char *name, const char *part)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "bash tests/equiv/replay_equiv.sh check %s %s", name, part);
    char *out = NULL;
    int rc = tu_run(cmd, &out);
    printf("%s", out);
    free(out);
    if (rc == 77)
        skip();
    assert_int_equal(rc, 0);
}

static void test_generated_rates(void **state)
{
    (void)state;
    check("gen", "rates");
}

static void test_generated_sim(void **state)
{
    (void)state;
    check("gen", "sim");
}

/* these print "skipped: ..." when ../shared/data is absent */
static void test_mooncake_rates(void **state)
{
    (void)state;
    check("mooncake", "rates");
}

static void test_mooncake_sim(void **state)
{
    (void)state;
    check("mooncake", "sim");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_rates),
        cmocka_unit_test(test_generated_sim),
        cmocka_unit_test(test_mooncake_rates),
        cmocka_unit_test(test_mooncake_sim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
