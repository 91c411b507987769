# NVIDIA A10 24 GB (PCIe card) and its share of an assumed host.
#
# GPU: "NVIDIA A10 Tensor Core GPU" datasheet (NVIDIA, 2021).  Tensor-core
# figures are given dense | with sparsity; dense used.  No FP8, no NVLink.
# Host: no reference system exists for this card; ASSUMED a 2-socket PCIe Gen4
# server with 8 cards, 1 TB of DDR4-3200 on 2 x 8 channels, 2 PCIe Gen4 NVMe
# drives of 3.84 TB and one 100 Gb/s Ethernet port.  Host numbers are per GPU
# (node / 8).  Replace them with your server's.
kind = hardware
name = a10
peak_fp32_flop_per_s = 31.2e12    # datasheet: FP32 31.2 teraFLOPS
peak_tf32_flop_per_s = 62.5e12    # datasheet: TF32 Tensor Core 62.5 teraFLOPS
peak_fp16_flop_per_s = 125e12     # datasheet: FP16 Tensor Core 125 teraFLOPS
peak_bf16_flop_per_s = 125e12     # datasheet: BFLOAT16 Tensor Core 125 teraFLOPS
hbm_bytes = 24e9                  # datasheet: GPU memory 24 GB GDDR6
hbm_bytes_per_s = 600e9           # datasheet: GPU memory bandwidth 600 GB/s
pcie_bytes_per_s = 32e9           # datasheet: PCIe Gen4 64 GB/s, both directions together
pcie_latency_s = 10e-6            # assumption (no datasheet figure): setup of one DMA copy
dram_bytes = 128e9                # assumed host: 1 TB / 8 GPUs
dram_bytes_per_s = 51.2e9         # assumed host: 2 x 8 channels DDR4-3200 x 8 bytes = 409.6 GB/s / 8
nvme_bytes = 0.96e12              # assumed host: 2x 3.84 TB / 8 GPUs
nvme_bytes_per_s = 1.75e9         # assumed host: 2 drives x ~7 GB/s (Gen4 x4) / 8 GPUs
nvme_latency_s = 100e-6           # assumption: one NAND flash read plus the NVMe stack
net_bytes_per_s = 1.5625e9        # assumed host: 100 Gb/s = 12.5 GB/s / 8 GPUs
net_latency_s = 20e-6             # assumption: TCP/RoCE round trip plus software
# Coefficients of the cost model: priors until a calibration replaces them.
eff_link = 0.8                    # assumption: protocol overhead
eff_linear = 0.7                  # assumption: large fp16/bf16 GEMMs reach 60-80% of peak
eff_attn = 0.5                    # FlashAttention-2 paper (Dao, 2023): 50-73% of peak; low end
eff_mem = 0.8                     # assumption: streaming reads reach ~80% of peak bandwidth
step_overhead_s = 1e-3            # assumption: launches and scheduling of one step
item_overhead_s = 1e-5            # assumption: per-sequence bookkeeping in a step
