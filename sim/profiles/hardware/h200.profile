# NVIDIA H200 SXM 141 GB: one GPU of an NVIDIA DGX H200 and its share of that host.
#
# GPU: "NVIDIA H200 Tensor Core GPU" datasheet (NVIDIA, 2024), H200 SXM column.
# Tensor-core figures there are "with sparsity"; dense peaks are half of them.
# Host: "NVIDIA DGX H200" datasheet (NVIDIA, 2024): 8 GPUs; 2x Intel Xeon
# Platinum 8480C; 2 TB system memory; 8x 3.84 TB NVMe U.2; 8x single-port
# ConnectX-7, up to 400 Gb/s each.  Host numbers are per GPU (node / 8).
kind = hardware
name = h200
peak_fp32_flop_per_s = 67e12      # datasheet: FP32 67 teraFLOPS
peak_tf32_flop_per_s = 494.5e12   # datasheet: TF32 Tensor Core 989 TFLOPS (sparse) / 2
peak_fp16_flop_per_s = 989.5e12   # datasheet: FP16 Tensor Core 1,979 TFLOPS (sparse) / 2
peak_bf16_flop_per_s = 989.5e12   # datasheet: BFLOAT16 Tensor Core 1,979 TFLOPS (sparse) / 2
peak_fp8_flop_per_s = 1979e12     # datasheet: FP8 Tensor Core 3,958 TFLOPS (sparse) / 2
hbm_bytes = 141e9                 # datasheet: GPU memory 141 GB
hbm_bytes_per_s = 4.8e12          # datasheet: GPU memory bandwidth 4.8 TB/s
pcie_bytes_per_s = 64e9           # datasheet: PCIe Gen5 128 GB/s, both directions together
pcie_latency_s = 10e-6            # assumption (no datasheet figure): setup of one DMA copy
nvlink_bytes_per_s = 450e9        # datasheet: NVLink 900 GB/s, both directions together
nvlink_latency_s = 5e-6           # assumption (no datasheet figure)
dram_bytes = 256e9                # DGX H200: 2 TB / 8 GPUs
dram_bytes_per_s = 76.8e9         # 2 sockets x 8 channels DDR5-4800 x 8 bytes = 614.4 GB/s
                                  # (Intel ARK, Xeon Platinum 8480+) / 8 GPUs
nvme_bytes = 3.84e12              # DGX H200: 8x 3.84 TB / 8 GPUs
nvme_bytes_per_s = 7e9            # one PCIe Gen4 x4 drive per GPU (7.9 GB/s link, PCIe 4.0 base
                                  # spec, PCI-SIG 2017); assumption: ~7 GB/s sequential read
nvme_latency_s = 100e-6           # assumption: one NAND flash read plus the NVMe stack
net_bytes_per_s = 50e9            # DGX H200: one ConnectX-7 400 Gb/s per GPU
net_latency_s = 10e-6             # assumption: RDMA round trip plus software
# Coefficients of the cost model: priors until a calibration replaces them.
eff_link = 0.8                    # assumption: protocol overhead
eff_linear = 0.7                  # assumption: large bf16 GEMMs reach 60-80% of dense peak
eff_attn = 0.5                    # FlashAttention-2 paper (Dao, 2023): 50-73% of peak; low end
eff_mem = 0.8                     # assumption: streaming reads reach ~80% of peak bandwidth
step_overhead_s = 1e-3            # assumption: launches and scheduling of one step
item_overhead_s = 1e-5            # assumption: per-sequence bookkeeping in a step
