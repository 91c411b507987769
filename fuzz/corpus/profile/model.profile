# a hand-written model
kind = model
name = m
n_layers = 2
hidden = 64
n_heads = 4
n_kv_heads = 2
head_dim = 16
ffn = 128
vocab = 256
dtype = bf16
kv_dtype = fp8
qkv_bias = true
tie_embeddings = 0
rope_theta = 1e4
norm_eps = 1e-6
