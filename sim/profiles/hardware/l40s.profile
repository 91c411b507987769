# NVIDIA L40S 48 GB (PCIe card) and its share of an assumed host.
#
# GPU: "NVIDIA L40S GPU" datasheet (NVIDIA, 2023).  Tensor-core figures are
# given dense | with sparsity; dense used.  No NVLink.
# Host: no reference system exists for this card; ASSUMED a 2-socket PCIe Gen4
# server with 8 cards, 2 TB of DDR4-3200 on 2 x 8 channels, 4 PCIe Gen4 NVMe
# drives of 3.84 TB and 400 Gb/s of networking.  Host numbers are per GPU
# (node / 8).  Replace them with your server's.
kind = hardware
name = l40s
peak_fp32_flop_per_s = 91.6e12    # datasheet: FP32 91.6 TFLOPS
peak_tf32_flop_per_s = 183e12     # datasheet: TF32 Tensor Core 183 TFLOPS
peak_fp16_flop_per_s = 362.05e12  # datasheet: FP16 Tensor Core 362.05 TFLOPS
peak_bf16_flop_per_s = 362.05e12  # datasheet: BFLOAT16 Tensor Core 362.05 TFLOPS
peak_fp8_flop_per_s = 733e12      # datasheet: FP8 Tensor Core 733 TFLOPS
hbm_bytes = 48e9                  # datasheet: GPU memory 48 GB GDDR6
hbm_bytes_per_s = 864e9           # datasheet: memory bandwidth 864 GB/s
pcie_bytes_per_s = 32e9           # datasheet: PCIe Gen4 x16 64 GB/s bidirectional
pcie_latency_s = 10e-6            # assumption (no datasheet figure): setup of one DMA copy
dram_bytes = 256e9                # assumed host: 2 TB / 8 GPUs
dram_bytes_per_s = 51.2e9         # assumed host: 2 x 8 channels DDR4-3200 x 8 bytes = 409.6 GB/s / 8
nvme_bytes = 1.92e12              # assumed host: 4x 3.84 TB / 8 GPUs
nvme_bytes_per_s = 3.5e9          # assumed host: 4 drives x ~7 GB/s (Gen4 x4) / 8 GPUs
nvme_latency_s = 100e-6           # assumption: one NAND flash read plus the NVMe stack
net_bytes_per_s = 6.25e9          # assumed host: 400 Gb/s = 50 GB/s / 8 GPUs
net_latency_s = 20e-6             # assumption: RoCE round trip plus software
# Coefficients of the cost model: priors until a calibration replaces them.
eff_link = 0.8                    # assumption: protocol overhead
eff_linear = 0.7                  # assumption: large fp16/bf16 GEMMs reach 60-80% of peak
eff_attn = 0.5                    # FlashAttention-2 paper (Dao, 2023): 50-73% of peak; low end
eff_mem = 0.8                     # assumption: streaming reads reach ~80% of peak bandwidth
step_overhead_s = 1e-3            # assumption: launches and scheduling of one step
item_overhead_s = 1e-5            # assumption: per-sequence bookkeeping in a step
