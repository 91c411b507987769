#!/usr/bin/env python3
"""torch_prefill.py -- PyTorch's prefill of the `small` preset, the reference
bench_engine.c compares the CPU engine with (prefill_speed_vs_pytorch).

The same shapes as gpu/model.c's `small` (12 layers, hidden 768, 12 query
and 4 key/value heads of 64, SwiGLU 2048, vocab 32000, RoPE theta 5e5,
RMSNorm eps 1e-5), fp32, random weights, the same work per step: embed, per
layer RMSNorm, q/k/v projections, RoPE, causal grouped-query attention, the
output projection, RMSNorm, SwiGLU, then the final norm and the last token's
logits.  torch.set_num_threads(threads).  For each prompt length: one
warm-up, then `reps` timed prefills; prints one JSON object with the median
wall seconds and the median process CPU seconds of each.

usage: torch_prefill.py THREADS REPS LEN [LEN...]
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F

L, H, NH, NKV, HD, FFN, VOCAB, THETA, EPS = 12, 768, 12, 4, 64, 2048, 32000, 500000.0, 1e-5


def main():
    threads, reps, lens = int(sys.argv[1]), int(sys.argv[2]), [int(a) for a in sys.argv[3:]]
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(1)

    def rnd(*shape):
        return torch.randn(*shape, generator=g) * 0.02

    emb = rnd(VOCAB, H)
    layers = [dict(an=torch.ones(H), wq=rnd(NH * HD, H), wk=rnd(NKV * HD, H),
                   wv=rnd(NKV * HD, H), wo=rnd(H, NH * HD), fn=torch.ones(H),
                   wg=rnd(FFN, H), wu=rnd(FFN, H), wd=rnd(H, FFN)) for _ in range(L)]
    final_norm, lm_head = torch.ones(H), rnd(VOCAB, H)
    inv_freq = 1.0 / (THETA ** (torch.arange(0, HD, 2, dtype=torch.float64) / HD))

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w

    def rope(x, cos, sin):  # x: [heads, n, hd], pairs (2i, 2i+1)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)

    def prefill(tokens):
        n = tokens.numel()
        ang = torch.outer(torch.arange(n, dtype=torch.float64), inv_freq)
        cos, sin = ang.cos().float(), ang.sin().float()
        x = emb[tokens]
        for p in layers:
            xn = rms(x, p["an"])
            q = (xn @ p["wq"].T).view(n, NH, HD).transpose(0, 1)
            k = (xn @ p["wk"].T).view(n, NKV, HD).transpose(0, 1)
            v = (xn @ p["wv"].T).view(n, NKV, HD).transpose(0, 1)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            k = k.repeat_interleave(NH // NKV, dim=0)
            v = v.repeat_interleave(NH // NKV, dim=0)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + a.transpose(0, 1).reshape(n, NH * HD) @ p["wo"].T
            xn = rms(x, p["fn"])
            x = x + (F.silu(xn @ p["wg"].T) * (xn @ p["wu"].T)) @ p["wd"].T
        return rms(x[-1:], final_norm) @ lm_head.T

    out = {"torch_version": torch.__version__, "torch_threads": torch.get_num_threads()}
    with torch.inference_mode():
        for n in lens:
            tokens = torch.randint(0, VOCAB, (n,), generator=g)
            prefill(tokens)
            wall, cpu = [], []
            for _ in range(reps):
                w0, c0 = time.perf_counter(), time.process_time()
                prefill(tokens)
                wall.append(time.perf_counter() - w0)
                cpu.append(time.process_time() - c0)
            out[f"torch_prefill_{n}_s"] = statistics.median(wall)
            out[f"torch_prefill_{n}_cpu_s"] = statistics.median(cpu)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
