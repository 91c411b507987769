/*
 * gpu.h -- public surface of gpu/: the real-kernel engine (CPU reference and
 * CUDA).  For now: which CUDA devices this build can see.  Builds without
 * CUDA (CUDA=0, or no nvcc) report none, so callers print "skipped: no CUDA
 * device" and carry on.
 */
#ifndef CC_GPU_H
#define CC_GPU_H

#include <stddef.h>

/* Number of usable CUDA devices (0 without CUDA, without a driver, or
 * without a device). */
int cc_gpu_device_count(void);
/* Name and compute capability of device i into buf; returns 0 or -1. */
int cc_gpu_device_describe(int i, char *buf, size_t len);
/* 1 when this build has the CUDA parts. */
int cc_gpu_built_with_cuda(void);

#endif
