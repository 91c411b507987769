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
 * for the devices, as `ctxcache version` does, must not map it. */
static void test_cublas_not_loaded_at_start(void **state)
{
    (void)state;
    if (access("/proc/self/maps", R_OK) != 0) {
        printf("skipped: no /proc/self/maps\n");
        skip();
    }
    (void)cc_gpu_device_count();
    assert_int_equal(process_maps("libcublas"), 0);
    assert_int_equal(process_maps("libcublasLt"), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_matches_flag),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_cublas_not_loaded_at_start),
        cmocka_unit_test(test_blas_describe),
    };
    return cmocka_run_group_tests_name("gpu", tests, NULL, NULL);
}
