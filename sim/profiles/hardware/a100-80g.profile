# NVIDIA A100 80 GB SXM: one GPU of an NVIDIA DGX A100 (640 GB) and its share of that host.
#
# GPU: "NVIDIA A100 Tensor Core GPU" datasheet (NVIDIA, 2021), A100 80GB SXM
# column.  Tensor-core figures are given dense | with sparsity; dense used.
# The A100 has no FP8 tensor cores (no peak_fp8 key).
# Host: "NVIDIA DGX A100" datasheet (NVIDIA, 2020; the 640 GB system): 8 GPUs;
# 2x AMD EPYC 7742; 2 TB system memory; 8x single-port ConnectX-6 VPI 200 Gb/s
# HDR InfiniBand; 30 TB (8x 3.84 TB) U.2 NVMe.  Host numbers are per GPU (node / 8).
kind = hardware
name = a100-80g
peak_fp32_flop_per_s = 19.5e12    # datasheet: FP32 19.5 TFLOPS
peak_tf32_flop_per_s = 156e12     # datasheet: Tensor Float 32 (TF32) 156 TFLOPS
peak_fp16_flop_per_s = 312e12     # datasheet: FP16 Tensor Core 312 TFLOPS
peak_bf16_flop_per_s = 312e12     # datasheet: BFLOAT16 Tensor Core 312 TFLOPS
hbm_bytes = 80e9                  # datasheet: GPU memory 80 GB HBM2e
hbm_bytes_per_s = 2.039e12        # datasheet: GPU memory bandwidth 2,039 GB/s
pcie_bytes_per_s = 32e9           # datasheet: PCIe Gen4 64 GB/s, both directions together
pcie_latency_s = 10e-6            # assumption (no datasheet figure): setup of one DMA copy
nvlink_bytes_per_s = 300e9        # datasheet: NVLink 600 GB/s, both directions together
nvlink_latency_s = 5e-6           # assumption (no datasheet figure)
dram_bytes = 256e9                # DGX A100: 2 TB / 8 GPUs
dram_bytes_per_s = 51.2e9         # 2 sockets x 8 channels DDR4-3200 x 8 bytes = 409.6 GB/s
                                  # (AMD EPYC 7742 product page: 8 channels DDR4-3200) / 8 GPUs
nvme_bytes = 3.84e12              # DGX A100: 8x 3.84 TB / 8 GPUs
nvme_bytes_per_s = 7e9            # one PCIe Gen4 x4 drive per GPU (7.9 GB/s link, PCIe 4.0 base
                                  # spec, PCI-SIG 2017); assumption: ~7 GB/s sequential read
nvme_latency_s = 100e-6           # assumption: one NAND flash read plus the NVMe stack
net_bytes_per_s = 25e9            # DGX A100: one ConnectX-6 200 Gb/s per GPU
net_latency_s = 10e-6             # assumption: RDMA round trip plus software
# Coefficients of the cost model: priors until a calibration replaces them.
eff_link = 0.8                    # assumption: protocol overhead
eff_linear = 0.7                  # assumption: large fp16/bf16 GEMMs reach 60-80% of peak
eff_attn = 0.5                    # FlashAttention-2 paper (Dao, 2023): 50-73% of A100 peak; low end
eff_mem = 0.8                     # assumption: streaming reads reach ~80% of peak bandwidth
step_overhead_s = 1e-3            # assumption: launches and scheduling of one step
item_overhead_s = 1e-5            # assumption: per-sequence bookkeeping in a step
# Rent (ctxcache plan): on-demand price of one A100 SXM 80 GB in an 8-GPU
# instance, USD per GPU-hour.  Lambda's on-demand list price for 8x A100 SXM
# 80 GB, $1.79/GPU-hour (lambda.ai/pricing, 2025; from memory, not re-read
# here); inside the $1.49-2.49 on-demand range that "H100 vs A100 Cloud
# Pricing" (pricegpu.pages.dev, early 2026) gives for Lambda, CoreWeave,
# vast.ai, RunPod.
usd_per_hour = 1.79
