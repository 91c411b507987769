# Hardware profile 'cpu', written by the calibration (sim/calibrate.c).
# Device numbers are those of profile 'cpu-prior'; the coefficients eff_linear,
# eff_attn, eff_mem, step_overhead_s and item_overhead_s are a least-squares
# fit of 27 measured steps of model 'small' (fp32 weights, fp32 KV).
# Fit error: median |rel err| 0.1495, p95 0.2253, max 0.2358; R^2 0.961628.
# Held at the prior (not determined by the points): none.
# Measurements: the CPU reference engine of branch kernels (gpu/, commit 3e22db8, not yet
# merged) running model 'small' (random weights, seed 1; fp32) with one thread
# (OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1) on a 2-vCPU AMD EPYC (Zen 4,
# 2.596 GHz TSC) KVM guest with 24 GiB of memory, 2026-11-24.  The machine was
# SHARED with other jobs (load average 4 to 6 on 2 vCPUs during the run): each
# time below is the fastest of 2 runs after a warm-up, and most of the fit error
# is that contention.  Re-measure on an idle machine once the measuring side
# (timing the engine over this grid) is merged.
# Device numbers (not fitted):
#   peak_fp32_flop_per_s = 1 core x 2.596 GHz x 32 FLOP/cycle (Zen 4: two 256-bit
#     FMA pipes; AMD, Software Optimization Guide for the AMD Zen4
#     Microarchitecture, pub. 57647, 2023): a nominal peak, so the efficiencies
#     below are fractions of it;
#   hbm_bytes_per_s = dram_bytes_per_s = 9.48e9: measured, triad
#     a[i] = b[i] + 3 c[i] over 3 x 256 MiB arrays, one thread, best of 6;
#   pcie_bytes_per_s = 4.74e9: measured, memcpy of 512 MiB, best of 5, bytes
#     copied per second (the CPU engine's offload is a copy within DRAM);
#   hbm_bytes = dram_bytes = MemTotal (24684084 kB); no SSD, NVLink or network tier.
# The 27 points (decode: new 1; prefill: new 16/64/256 x cached 0/1024/4096 x batch 1/2):
#   point: new 1 cached 128 batch 1 -> 0.16415 s
#   point: new 1 cached 128 batch 4 -> 0.648396 s
#   point: new 1 cached 128 batch 16 -> 1.84185 s
#   point: new 1 cached 1024 batch 1 -> 0.11685 s
#   point: new 1 cached 1024 batch 4 -> 0.526828 s
#   point: new 1 cached 1024 batch 16 -> 2.19404 s
#   point: new 1 cached 4096 batch 1 -> 0.172475 s
#   point: new 1 cached 4096 batch 4 -> 0.698406 s
#   point: new 1 cached 4096 batch 16 -> 2.55828 s
#   point: new 16 cached 0 batch 1 -> 1.17921 s
#   point: new 16 cached 0 batch 2 -> 2.29792 s
#   point: new 16 cached 1024 batch 1 -> 1.74069 s
#   point: new 16 cached 1024 batch 2 -> 2.49567 s
#   point: new 16 cached 4096 batch 1 -> 2.3193 s
#   point: new 16 cached 4096 batch 2 -> 3.50306 s
#   point: new 64 cached 0 batch 1 -> 3.94835 s
#   point: new 64 cached 0 batch 2 -> 10.9664 s
#   point: new 64 cached 1024 batch 1 -> 6.57073 s
#   point: new 64 cached 1024 batch 2 -> 12.9094 s
#   point: new 64 cached 4096 batch 1 -> 6.8901 s
#   point: new 64 cached 4096 batch 2 -> 13.1481 s
#   point: new 256 cached 0 batch 1 -> 16.636 s
#   point: new 256 cached 0 batch 2 -> 32.1368 s
#   point: new 256 cached 1024 batch 1 -> 28.5528 s
#   point: new 256 cached 1024 batch 2 -> 55.7105 s
#   point: new 256 cached 4096 batch 1 -> 38.7299 s
#   point: new 256 cached 4096 batch 2 -> 63.5803 s
kind = hardware
name = cpu
peak_fp32_flop_per_s = 8.307e+10
peak_tf32_flop_per_s = 0
peak_fp16_flop_per_s = 0
peak_bf16_flop_per_s = 0
peak_fp8_flop_per_s = 0
hbm_bytes = 2.52e+10
hbm_bytes_per_s = 9.48e+09
pcie_bytes_per_s = 4.74e+09
pcie_latency_s = 0
nvlink_bytes_per_s = 0
nvlink_latency_s = 0
dram_bytes = 2.52e+10
dram_bytes_per_s = 9.48e+09
nvme_bytes = 0
nvme_bytes_per_s = 0
nvme_latency_s = 0
net_bytes_per_s = 0
net_latency_s = 0
eff_link = 1
eff_linear = 0.0254699109
eff_attn = 0.0374340499
eff_mem = 0.420526613
step_overhead_s = 7.89729799e-05
item_overhead_s = 0.0288387216
