# tiny: a 2-layer model with grouped-query attention (~0.1 M parameters) for
# tests.  Not a published model: the shape is the engine's "tiny" preset
# (gpu/model.c, branch kernels), kept identical so that simulated and real
# runs of the tests agree.  fp32: the type of the engine's CPU reference.
kind = model
name = tiny
n_layers = 2
hidden = 64
n_heads = 4
n_kv_heads = 2
head_dim = 16
ffn = 128
vocab = 256
dtype = fp32
rope_theta = 10000
norm_eps = 1e-5
