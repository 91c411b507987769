# NVIDIA H100 SXM5 80 GB: one GPU of an NVIDIA DGX H100 and its share of that host.
#
# GPU: "NVIDIA H100 Tensor Core GPU" datasheet (NVIDIA, 2023), H100 SXM column.
# The datasheet's tensor-core figures are "with sparsity"; the dense peaks used
# here are half of them (the datasheet's own footnote).
# Host: "NVIDIA DGX H100" datasheet (NVIDIA, 2023): 8 GPUs; 2x Intel Xeon
# Platinum 8480C; 2 TB system memory; 8x 3.84 TB NVMe U.2 internal storage;
# 8x single-port ConnectX-7, up to 400 Gb/s each.  A profile describes one GPU,
# so host capacities and rates are the node's divided by its 8 GPUs.
kind = hardware
name = h100-sxm
peak_fp32_flop_per_s = 67e12      # datasheet: FP32 67 teraFLOPS
peak_tf32_flop_per_s = 494.5e12   # datasheet: TF32 Tensor Core 989 TFLOPS (sparse) / 2
peak_fp16_flop_per_s = 989.5e12   # datasheet: FP16 Tensor Core 1,979 TFLOPS (sparse) / 2
peak_bf16_flop_per_s = 989.5e12   # datasheet: BFLOAT16 Tensor Core 1,979 TFLOPS (sparse) / 2
peak_fp8_flop_per_s = 1979e12     # datasheet: FP8 Tensor Core 3,958 TFLOPS (sparse) / 2
hbm_bytes = 80e9                  # datasheet: GPU memory 80 GB
hbm_bytes_per_s = 3.35e12         # datasheet: GPU memory bandwidth 3.35 TB/s
pcie_bytes_per_s = 64e9           # datasheet: PCIe Gen5 128 GB/s, both directions together
pcie_latency_s = 10e-6            # assumption (no datasheet figure): setup of one DMA copy
nvlink_bytes_per_s = 450e9        # datasheet: NVLink 900 GB/s, both directions together
nvlink_latency_s = 5e-6           # assumption (no datasheet figure)
dram_bytes = 256e9                # DGX H100: 2 TB / 8 GPUs
dram_bytes_per_s = 76.8e9         # 2 sockets x 8 channels DDR5-4800 x 8 bytes = 614.4 GB/s
                                  # (Intel ARK, Xeon Platinum 8480+: 8 channels DDR5-4800) / 8 GPUs
nvme_bytes = 3.84e12              # DGX H100: 8x 3.84 TB / 8 GPUs
nvme_bytes_per_s = 7e9            # one PCIe Gen4 x4 drive per GPU: the link carries 7.9 GB/s
                                  # (PCI Express Base Specification 4.0, PCI-SIG 2017: 16 GT/s,
                                  # 128b/130b); assumption: drives rated ~7 GB/s sequential read
nvme_latency_s = 100e-6           # assumption: one NAND flash read plus the NVMe stack
net_bytes_per_s = 50e9            # DGX H100: one ConnectX-7 400 Gb/s per GPU
net_latency_s = 10e-6             # assumption: RDMA round trip plus software
# Coefficients of the cost model: priors until a calibration replaces them.
eff_link = 0.8                    # assumption: protocol overhead on PCIe/NVLink/NVMe/network
eff_linear = 0.7                  # assumption: large bf16 GEMMs reach 60-80% of dense peak
eff_attn = 0.5                    # FlashAttention-2 paper (Dao, 2023): forward pass at 50-73%
                                  # of the A100's theoretical peak; the low end
eff_mem = 0.8                     # assumption: streaming reads reach ~80% of peak bandwidth
step_overhead_s = 1e-3            # assumption: launches and scheduling of one step
item_overhead_s = 1e-5            # assumption: per-sequence bookkeeping in a step
# Rent (ctxcache plan): on-demand price of one H100 SXM 80 GB in an 8-GPU
# instance, USD per GPU-hour.  Lambda's on-demand list price for 8x H100 SXM,
# $2.99/GPU-hour (lambda.ai/pricing, 2025; from memory, not re-read here);
# inside the $2.49-3.99 on-demand range that "H100 vs A100 Cloud Pricing"
# (pricegpu.pages.dev, early 2026) gives for CoreWeave, Lambda, Crusoe, RunPod.
usd_per_hour = 2.99
