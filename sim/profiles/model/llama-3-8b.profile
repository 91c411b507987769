# Meta Llama 3 8B.  Source: config.json of meta-llama/Meta-Llama-3-8B on the
# Hugging Face Hub (2024); the config key of each value is in its comment.
# head_dim is not in that config: hidden_size / num_attention_heads.
# Llama 3.1's rope_scaling is not modelled (it does not change the costs).
kind = model
name = llama-3-8b
n_layers = 32         # num_hidden_layers
hidden = 4096         # hidden_size
n_heads = 32          # num_attention_heads
n_kv_heads = 8        # num_key_value_heads
head_dim = 128        # hidden_size / num_attention_heads
ffn = 14336           # intermediate_size
vocab = 128256        # vocab_size
dtype = bf16          # torch_dtype: bfloat16
tie_embeddings = 0    # tie_word_embeddings: false
qkv_bias = 0          # attention_bias: false
rope_theta = 500000   # rope_theta
norm_eps = 1e-5       # rms_norm_eps
