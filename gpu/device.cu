/*
 * device.cu -- CUDA device discovery (compiled by nvcc when CUDA=1).
 * Its twin for builds without CUDA is device_nocuda.c.
 */
#include <cuda_runtime.h>
#include <stdio.h>

extern "C" {
#include "gpu/gpu.h"

int cc_gpu_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError(); /* no driver or no device: clear the sticky error */
        return 0;
    }
    return n;
}

int cc_gpu_device_describe(int i, char *buf, size_t len)
{
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess)
        return -1;
    snprintf(buf, len, "%s (sm_%d%d, %.1f GiB)", p.name, p.major, p.minor,
             p.totalGlobalMem / 1073741824.0);
    return 0;
}

int cc_gpu_built_with_cuda(void) { return 1; }
}
