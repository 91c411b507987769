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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_matches_flag),
        cmocka_unit_test(test_devices),
    };
    return cmocka_run_group_tests_name("gpu", tests, NULL, NULL);
}
