/*
 * device_nocuda.c -- the twin of device.cu for builds without CUDA: there
 * are no devices.
 */
#include "gpu.h"

#if !CC_HAVE_CUDA
int cc_gpu_device_count(void) { return 0; }
int cc_gpu_device_describe(int i, char *buf, size_t len)
{
    (void)i;
    (void)buf;
    (void)len;
    return -1;
}
int cc_gpu_built_with_cuda(void) { return 0; }
#else
typedef int cc_device_nocuda_unused; /* ISO C forbids an empty unit */
#endif
