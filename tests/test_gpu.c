/* test_gpu.c -- the CUDA build and device discovery.  Without a device the
 * device checks print "skipped: no CUDA device"; the build-level check runs
 * everywhere. */
#include "testutil.h"
#include "gpu/gpu.h"

static void test_build_matches_flag(void **state)
{
    (void)state;
    assert_int_equal(cc_gpu_built_with_cuda(), CC_HAVE_CUDA);
}

static void test_devices(void **state)
{
    (void)state;
    int n = cc_gpu_device_count();
    assert_true(n >= 0);
    if (n == 0) {
        printf("skipped: no CUDA device\n");
        skip();
    }
    char buf[256];
    for (int i = 0; i < n; i++) {
        assert_int_equal(cc_gpu_device_describe(i, buf, sizeof buf), 0);
        assert_true(strlen(buf) > 0);
        printf("device %d: %s\n", i, buf);
    }
}

/* 1 when a mapping of this process names `lib` (from /proc/self/maps). */
static int process_maps(const char *lib)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, lib) != NULL;
    fclose(f);
    return found;
}

/* cuBLAS is loaded at its first use (gpu/cublas_dl.cu), not at start: asking
 * for the devices, as `ctxcache version` does, must not map it; and the CUDA
 * runtime is linked statically (Makefile), so no libcudart is mapped
 * either (this binary is linked as ctxcache is). */
static void test_cublas_not_loaded_at_start(void **state)
{
    (void)state;
    if (access("/proc/self/maps", R_OK) != 0) {
        printf("skipped: no /proc/self/maps\n");
        skip();
    }
    assert_int_equal(process_maps("libcudart"), 0);
    (void)cc_gpu_device_count();
    assert_int_equal(process_maps("libcublas"), 0);
    assert_int_equal(process_maps("libcublasLt"), 0);
    assert_int_equal(process_maps("libcudart"), 0);
}

/* The BLAS the engine runs on is the one the build chose (the Makefile passes
 * CC_BLAS_SCIPY with the scipy-openblas32 wheel) and the library loaded in
 * this process is that one. */
static void test_blas_describe(void **state)
{
    (void)state;
    char buf[256];
    const char *d = cc_cpu_blas_describe(buf, sizeof buf);
    assert_ptr_equal(d, buf);
    printf("blas: %s\n", d);
    assert_non_null(strstr(d, "OpenBLAS"));
    assert_non_null(strstr(d, "core "));
#if defined(CC_BLAS_SCIPY) && CC_BLAS_SCIPY
    assert_int_equal(strncmp(d, "scipy-openblas32 ", 17), 0);
    assert_int_equal(process_maps("libscipy_openblas"), 1);
#else
    assert_int_equal(strncmp(d, "system OpenBLAS ", 16), 0);
    assert_int_equal(process_maps("libscipy_openblas"), 0);
#endif
    char small[8];
    cc_cpu_blas_describe(small, sizeof small); /* truncates, stays terminated */
    assert_int_equal(strlen(small), 7);
}

/* 1 when the kernel's flags line of /proc/cpuinfo names `flag` (the
 * independent view of what the CPU and the OS run), -1 without one. */
static int cpuinfo_flag(const char *flag)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return -1;
    char line[8192];
    int found = -1;
    while (found < 0 && fgets(line, sizeof line, f))
        if (!strncmp(line, "flags", 5)) {
            found = 0;
            for (char *t = strtok(strchr(line, ':') + 1, " \n"); t && !found;
                 t = strtok(NULL, " \n"))
                found = !strcmp(t, flag);
        }
    fclose(f);
    return found;
}

/* The core type read from CPUID agrees with the kernel's flags. */
static void test_blas_core_for_cpu(void **state)
{
    (void)state;
    if (cpuinfo_flag("fpu") != 1) {
        printf("skipped: no flags line in /proc/cpuinfo\n");
        skip();
    }
    const char *want = NULL;
    if (cpuinfo_flag("avx512f") == 1 && cpuinfo_flag("avx512cd") == 1 &&
        cpuinfo_flag("avx512bw") == 1 && cpuinfo_flag("avx512dq") == 1 &&
        cpuinfo_flag("avx512vl") == 1)
        want = cpuinfo_flag("avx512_bf16") == 1 ? "Cooperlake" : "SkylakeX";
    else if (cpuinfo_flag("avx2") == 1 && cpuinfo_flag("fma") == 1)
        want = "Haswell";
    const char *got = cc_blas_core_for_cpu();
    printf("blas core for this CPU: %s (from /proc/cpuinfo: %s)\n", got ? got : "none",
           want ? want : "none");
    if (!want)
        assert_null(got);
    else
        assert_string_equal(got, want);
}

/* `ctxcache` runs the system OpenBLAS on that core type unless the
 * environment names one. */
static void test_cli_sets_blas_core(void **state)
{
    (void)state;
    const char *want = cc_blas_core_for_cpu();
#if defined(CC_BLAS_SCIPY) && CC_BLAS_SCIPY
    want = NULL; /* the wheel detects current CPUs itself */
#endif
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof cmd, "env -u OPENBLAS_CORETYPE %s version", tu_bin());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    assert_int_equal(pclose(p), 0);
    printf("%s", out);
    if (want) {
        char core[64];
        snprintf(core, sizeof core, "core %s)", want);
        assert_non_null(strstr(out, core));
    }
    snprintf(cmd, sizeof cmd, "OPENBLAS_CORETYPE=Prescott %s version", tu_bin());
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    assert_int_equal(pclose(p), 0);
#if !(defined(CC_BLAS_SCIPY) && CC_BLAS_SCIPY)
    assert_non_null(strstr(out, "core Prescott"));
    if (want) /* and it says that a weaker core than the CPU's runs */
        assert_non_null(strstr(out, "this CPU runs"));
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_matches_flag),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_cublas_not_loaded_at_start),
        cmocka_unit_test(test_blas_describe),
        cmocka_unit_test(test_blas_core_for_cpu),
        cmocka_unit_test(test_cli_sets_blas_core),
    };
    return cmocka_run_group_tests_name("gpu", tests, NULL, NULL);
}
