/* test_cli_install.c -- `make install PREFIX=DIR` and finding the profiles:
 * the installed binary runs a simulated replay from another working
 * directory (profiles in PREFIX/share/ctxcache), the man page carries every
 * command's help; a binary copied with a profiles/ folder beside it works,
 * one copied alone fails naming where it looked and works again with
 * CTXCACHE_DATA. */
#include "testutil.h"

#include <limits.h>
#include <stdlib.h>

static char root[PATH_MAX], trace[PATH_MAX], prefix[PATH_MAX];

static int setup(void **state)
{
    (void)state;
    char cmd[4096], rel[512];
    if (!getcwd(root, sizeof root))
        return -1;
    snprintf(trace, sizeof trace, "%s/%s", root, tu_tmp_path(rel, sizeof rel, "install_trace.h5"));
    snprintf(prefix, sizeof prefix, "%s/%s", root, tu_tmp_path(rel, sizeof rel, "install_prefix"));
    snprintf(cmd, sizeof cmd, "rm -rf %s %s_copy && %s gen default -o %s --seed 2 >/dev/null 2>&1", prefix,
             prefix, tu_bin(), trace);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[2 * PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s_copy", prefix, prefix);
    if (system(cmd)) {
    }
    unlink(trace);
    return 0;
}

/* A simulated replay (needs the h100-sxm and llama-3-8b profiles) run from /. */
static int replay_from_root(const char *bin, const char *env, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "(cd / && env -u CC_PROFILE_PATH %s %s replay %s --capacity-blocks 500 "
             "--concurrency immediate --max-requests 50)", env ? env : "", bin, trace);
    return tu_run(cmd, out);
}

static void test_make_install(void **state)
{
    (void)state;
    char cmd[4096], bin[PATH_MAX + 32], *out = NULL;
    const char *b = getenv("BUILD");
    snprintf(cmd, sizeof cmd, "make -s install PREFIX=%s BUILD=%s", prefix, b ? b : "build");
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s", out);
    free(out);
    snprintf(bin, sizeof bin, "%s/bin/ctxcache", prefix);
    if (replay_from_root(bin, NULL, &out) != 0)
        fail_msg("%s", out);
    assert_non_null(strstr(out, "ttft"));
    free(out);
    /* the man page has each command's help */
    snprintf(cmd, sizeof cmd, "%s/share/man/man1/ctxcache.1", prefix);
    size_t n;
    char *man = tu_slurp(cmd, &n);
    assert_non_null(strstr(man, ".TH CTXCACHE 1"));
    assert_non_null(strstr(man, ".SH \"ctxcache replay\""));
    assert_non_null(strstr(man, ".SH \"ctxcache policies\""));
    assert_non_null(strstr(man, "--capacity-blocks"));
    free(man);
    snprintf(cmd, sizeof cmd, "%s/share/ctxcache/profiles/hardware/h100-sxm.profile", prefix);
    assert_int_equal(access(cmd, R_OK), 0);
}

static void test_copied_binary(void **state)
{
    (void)state;
    char cmd[4096], dir[PATH_MAX + 16], bin[PATH_MAX + 32], env[PATH_MAX + 64], *out = NULL;
    snprintf(dir, sizeof dir, "%s_copy", prefix); /* not under PREFIX: its ../share is not there */
    snprintf(bin, sizeof bin, "%s/ctxcache", dir);
    /* alone: no profile anywhere it looks */
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/%s %s", dir, root, tu_bin(), bin);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(replay_from_root(bin, NULL, &out), 2);
    assert_non_null(strstr(out, "no hardware profile 'h100-sxm'"));
    assert_non_null(strstr(out, "CTXCACHE_DATA"));
    assert_non_null(strstr(out, dir));
    free(out);
    /* CTXCACHE_DATA names a data folder holding profiles/ */
    snprintf(env, sizeof env, "CTXCACHE_DATA=%s/share/ctxcache", prefix);
    if (replay_from_root(bin, env, &out) != 0)
        fail_msg("%s", out);
    free(out);
    /* a profiles/ folder next to the binary */
    snprintf(cmd, sizeof cmd, "cp -r %s/sim/profiles %s/profiles", root, dir);
    assert_int_equal(system(cmd), 0);
    if (replay_from_root(bin, NULL, &out) != 0)
        fail_msg("%s", out);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_make_install),
        cmocka_unit_test(test_copied_binary),
    };
    return cmocka_run_group_tests_name("cli_install", tests, setup, teardown);
}
