kind = model
name = bad
n_layers = -1
hidden = 6e
# café
n_kv_heads = 3
