# small: a 12-layer model (~125 M parameters, 75 M outside the embedding and
# lm_head) for CPU benchmarks and the calibration of the `cpu` profile.  Not a
# published model: the shape is the engine's "small" preset (gpu/model.c,
# branch kernels), kept identical.  fp32: the type of the engine's CPU reference.
kind = model
name = small
n_layers = 12
hidden = 768
n_heads = 12
n_kv_heads = 4
head_dim = 64
ffn = 2048
vocab = 32000
dtype = fp32
rope_theta = 500000
norm_eps = 1e-5
