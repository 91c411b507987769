# Qwen2.5 7B.  Source: config.json of Qwen/Qwen2.5-7B on the Hugging Face Hub
# (2024); the config key of each value is in its comment.  head_dim is
# hidden_size / num_attention_heads.  The q/k/v projections carry a bias in
# the Qwen2 architecture (Qwen2Attention in transformers' modeling_qwen2.py).
kind = model
name = qwen2.5-7b
n_layers = 28         # num_hidden_layers
hidden = 3584         # hidden_size
n_heads = 28          # num_attention_heads
n_kv_heads = 4        # num_key_value_heads
head_dim = 128        # hidden_size / num_attention_heads
ffn = 18944           # intermediate_size
vocab = 152064        # vocab_size
dtype = bf16          # torch_dtype: bfloat16
tie_embeddings = 0    # tie_word_embeddings: false
qkv_bias = 1          # Qwen2 attention: q_proj, k_proj, v_proj with bias
rope_theta = 1000000  # rope_theta
norm_eps = 1e-6       # rms_norm_eps
