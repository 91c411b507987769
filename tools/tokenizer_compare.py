#!/usr/bin/env python3
"""tokenizer_compare.py -- how the built-in tokenizer's counts compare with a
real BPE vocabulary on real prompts (developer tool; tests and builds never
need it).

Reads the real prompts in the shared data (prompts/*.json*: ShareGPT first
turns, arena-hard, MT-bench), counts tokens with a real vocabulary through the
Python `tokenizers` package, counts them with ctxcache's built-in tokenizer
(through build/tools/tokcount, built here with make), and prints the total
ratio builtin/real, the median and p10/p90 of the per-prompt ratio and the
Pearson r of the counts, per source and overall.

A vocabulary is either a Hugging Face tokenizer.json or a tiktoken ranks file
("<base64 token> <rank>" lines); the latter is converted to an equivalent
byte-level BPE tokenizer.json (merges recovered from the ranks, the
encoding's own split regex, ignore_merges as tiktoken does) under
build/tools/.  docs/tokenizer.md says where to get real vocabularies offline
(the litellm wheel on PyPI ships cl100k_base and o200k_base ranks and a
DeepSeek-V3 tokenizer.json).

  python3 tools/tokenizer_compare.py --vocab PATH [--vocab PATH ...]
        [--data DIR] [--check-ids]

--check-ids also loads each tokenizer.json with ctxcache's own loader
(cc_tokenizer_load_hf) and counts the prompts whose ids equal the Python
package's exactly.
"""
import argparse
import base64
import json
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))

# Split patterns of the tiktoken encodings (format facts, as published with
# tiktoken); the ranks files are recognised by the hash tiktoken names them by.
# (Oniguruma, which tokenizers uses, reads "{1,3}+" as a repetition, not a
# possessive quantifier, and "$" as end of line: hence the spelling below,
# equivalent to tiktoken's.)
CL100K_PAT = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"""
              r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s+\z|\s*[\r\n]|\s+(?!\S)|\s""")
O200K_PAT = "|".join([
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
    r"""\p{N}{1,3}""",
    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
    r"""\s*[\r\n]+""",
    r"""\s+(?!\S)""",
    r"""\s+""",
])
TIKTOKEN_FILES = {
    "9b5ad71b2ce5302211f9c61530b329a4922fc6a4": ("cl100k_base", CL100K_PAT),
    "fb374d419588a4632f3f557e76b4b70aebbca790": ("o200k_base", O200K_PAT),
}


def byte_alphabet():
    """GPT-2's byte -> printable character table (byte-level BPE)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def load_texts(data):
    """(source, text) for every prompt: each conversation turn of the ShareGPT
    files, each arena-hard prompt, each MT-bench turn."""
    out = []
    pdir = os.path.join(data, "prompts")
    for name in sorted(os.listdir(pdir)):
        path = os.path.join(pdir, name)
        if name.endswith(".json"):
            for rec in json.load(open(path, encoding="utf-8")):
                for turn in rec.get("conversations", []):
                    if turn.get("value"):
                        out.append((name, turn["value"]))
        elif name.endswith(".jsonl"):
            for line in open(path, encoding="utf-8"):
                if not line.strip():
                    continue
                rec = json.loads(line)
                if isinstance(rec.get("prompt"), str) and rec["prompt"]:
                    out.append((name, rec["prompt"]))
                for t in rec.get("turns", []) or []:
                    if isinstance(t, str) and t:
                        out.append((name, t))
    return out


def load_held_out(data):
    """(source, text) for real text the constants were NOT tuned on: the
    distinct MuSiQue passages and questions (rag/), the first 3,000 QQP
    questions and the GPTCache paraphrase pairs (qqp/)."""
    out, seen = [], set()
    for rec in json.load(open(os.path.join(data, "rag", "musique_s.json"), encoding="utf-8")):
        for t in [c.get("text", "") for c in rec.get("ctxs", [])] + [rec.get("question", "")]:
            if t and t not in seen:
                seen.add(t)
                out.append(("rag/musique_s.json", t))
    for rec in json.load(open(os.path.join(data, "qqp", "similiar_qqp_full.json"), encoding="utf-8"))[:3000]:
        out.append(("qqp/similiar_qqp_full.json", rec["text_a"]))
    for rec in json.load(open(os.path.join(data, "qqp", "mock_data.json"), encoding="utf-8")):
        out += [("qqp/mock_data.json", rec["origin"]), ("qqp/mock_data.json", rec["similar"])]
    return out


def tiktoken_to_json(path, name, pat):
    """Writes a tokenizer.json equivalent to a tiktoken ranks file."""
    dst = os.path.join(BUILD, "tools", name + ".tokenizer.json")
    if os.path.exists(dst) and os.path.getmtime(dst) > os.path.getmtime(path):
        return dst
    ranks = {}
    for line in open(path, "rb"):
        if line.strip():
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    merges = []
    for tok, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(tok) < 2:
            continue
        # BPE on the token's own bytes with the merges ranked before it ends
        # in the two parts whose merge makes it
        parts = [bytes([b]) for b in tok]
        while len(parts) > 2:
            best = None
            for i in range(len(parts) - 1):
                r = ranks.get(parts[i] + parts[i + 1])
                if r is not None and r < rank and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        if len(parts) == 2:
            merges.append((parts[0], parts[1]))
    alpha = byte_alphabet()
    enc = lambda b: "".join(alpha[x] for x in b)
    doc = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": pat}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": True,
                  "vocab": {enc(t): r for t, r in ranks.items()},
                  "merges": [[enc(a), enc(b)] for a, b in merges]},
    }
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    return dst


def tiktoken_counts(path, name, pat, texts):
    """Counts with the tiktoken package itself when it is installed (a cross-check)."""
    try:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
    except ImportError:
        return None
    enc = tiktoken.Encoding(name=name, pat_str=pat, mergeable_ranks=load_tiktoken_bpe(path),
                            special_tokens={})
    return [len(enc.encode_ordinary(t)) for t in texts]


def tokcount(args, texts, ids=False):
    """Runs build/tools/tokcount (built here) over texts."""
    exe = os.path.join(BUILD, "tools", "tokcount")
    subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + BUILD, exe], check=True,
                   stdout=subprocess.DEVNULL)
    payload = b"".join(b"%d\n%s" % (len(b), b) for b in (t.encode("utf-8") for t in texts))
    out = subprocess.run([exe] + (["--ids"] if ids else []) + args, input=payload,
                         stdout=subprocess.PIPE, check=True).stdout.decode().split("\n")
    out = out[:len(texts)]
    if ids:
        return [None if l.startswith("ERR") else [int(x) for x in l.split()] for l in out]
    return [int(l) for l in out]


def quantile(xs, q):
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def pearson(a, b):
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb)


def figures(real, mine):
    ratios = [m / r for r, m in zip(real, mine) if r > 0]
    return {"n": len(real), "real": sum(real), "builtin": sum(mine),
            "total_ratio": sum(mine) / sum(real), "median": quantile(ratios, 0.5),
            "p10": quantile(ratios, 0.1), "p90": quantile(ratios, 0.9),
            "pearson_r": pearson(real, mine)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vocab", action="append", required=True,
                    help="tokenizer.json or tiktoken ranks file (repeatable)")
    ap.add_argument("--data", default=os.environ.get("CC_SHARED_DATA",
                                                     os.path.join(ROOT, "..", "shared", "data")))
    ap.add_argument("--held-out", action="store_true",
                    help="measure on rag/ and qqp/ texts instead of the prompts the constants were tuned on")
    ap.add_argument("--check-ids", action="store_true",
                    help="also compare ctxcache's tokenizer.json loader with the Python package, id for id")
    a = ap.parse_args()
    import tokenizers
    from tokenizers import Tokenizer

    items = load_held_out(a.data) if a.held_out else load_texts(a.data)
    texts = [t for _, t in items]
    sources = sorted(set(s for s, _ in items))
    mine = tokcount([], texts)
    print(f"{len(texts)} texts, {sum(len(t.encode()) for t in texts)} bytes from {a.data}/"
          f"{'rag, qqp (held out)' if a.held_out else 'prompts'}")
    for vocab in a.vocab:
        base = os.path.basename(vocab)
        if base in TIKTOKEN_FILES:
            name, pat = TIKTOKEN_FILES[base]
            json_path = tiktoken_to_json(vocab, name, pat)
        else:
            name, pat, json_path = base, None, vocab
        tk = Tokenizer.from_file(json_path)
        encs = tk.encode_batch(texts, add_special_tokens=False)
        real = [len(e.ids) for e in encs]
        print(f"\nvocabulary {name} ({tk.get_vocab_size()} tokens): builtin / real")
        if pat:
            tt = tiktoken_counts(vocab, name, pat, texts)
            if tt is not None:
                same = sum(1 for x, y in zip(tt, real) if x == y)
                print(f"  tiktoken agrees with the converted tokenizer.json on {same}/{len(texts)} "
                      f"prompts (totals {sum(tt)} vs {sum(real)})")
        print(f"  {'source':48s} {'n':>5s} {'real':>9s} {'builtin':>9s} {'total':>6s} "
              f"{'median':>6s} {'p10':>6s} {'p90':>6s} {'r':>7s}")
        for src in sources + ["all", "all, prompts of >= 100 tokens"]:
            sel = [i for i, (s, _) in enumerate(items)
                   if src in ("all", s) or (src.startswith("all,") and real[i] >= 100)]
            f = figures([real[i] for i in sel], [mine[i] for i in sel])
            print(f"  {src:48s} {f['n']:5d} {f['real']:9d} {f['builtin']:9d} {f['total_ratio']:6.3f} "
                  f"{f['median']:6.3f} {f['p10']:6.3f} {f['p90']:6.3f} {f['pearson_r']:7.4f}")
        if a.check_ids:
            ours = tokcount([json_path], texts, ids=True)
            same = sum(1 for e, o in zip(encs, ours) if o == e.ids)
            print(f"  ctxcache's loader gives the same ids as tokenizers {tokenizers.__version__} "
                  f"on {same}/{len(texts)} prompts")
            for e, o, t in zip(encs, ours, texts):
                if o != e.ids:
                    print(f"  first difference: {t[:80]!r}\n    python {e.ids[:20]}\n    ours   "
                          f"{(o or [])[:20]}")
                    break


if __name__ == "__main__":
    sys.exit(main())
