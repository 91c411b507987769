#!/usr/bin/env python3
"""Writes a Hugging Face tokenizer.json (byte-level BPE) from the tokenizer
stored in a GGUF file's metadata (tokenizer.ggml.model = "gpt2": tokens,
merges, token types), so that traces/tokenizer_hf.c can tokenize text for
the model that `make model` installs.  Standard library only.

usage: gguf_tokenizer.py MODEL.gguf OUT/tokenizer.json

The pre-tokenizer is the one of tokenizer.ggml.pre: "smollm" (SmolLM and
StarCoder: single digits, then the GPT-2 byte-level split) or a plain
GPT-2 byte-level split for "gpt2"/"default"; other pre-tokenizers are
refused rather than guessed."""
import json
import struct
import sys


def main(src, dst):
    f = open(src, "rb")

    def rd(fmt):
        n = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, f.read(n))

    def rs():
        (n,) = rd("Q")
        return f.read(n).decode("utf-8", "surrogatepass")

    scal = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def rv(t):
        if t in scal:
            return rd(scal[t])[0]
        if t == 8:
            return rs()
        if t == 9:
            at, n = rd("IQ")
            return [rv(at) for _ in range(n)]
        raise SystemExit("%s: unknown GGUF value type %d" % (src, t))

    if f.read(4) != b"GGUF":
        raise SystemExit("%s: not a GGUF file" % src)
    rd("I")
    _, n_kv = rd("QQ")
    meta = {}
    for _ in range(n_kv):
        k = rs()
        (t,) = rd("I")
        meta[k] = rv(t)
    if meta.get("tokenizer.ggml.model") != "gpt2":
        raise SystemExit("%s: tokenizer.ggml.model is %r, expected 'gpt2' (byte-level BPE)"
                         % (src, meta.get("tokenizer.ggml.model")))
    pre = meta.get("tokenizer.ggml.pre", "default")
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                  "use_regex": True}
    if pre == "smollm":
        pretok = {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True}, byte_level]}
    elif pre in ("gpt2", "default"):
        pretok = byte_level
    else:
        raise SystemExit("%s: pre-tokenizer %r not known to this converter" % (src, pre))
    tokens = meta["tokenizer.ggml.tokens"]
    types = meta.get("tokenizer.ggml.token_type", [1] * len(tokens))
    vocab = {tok: i for i, tok in enumerate(tokens)}
    added = [{"id": i, "content": tok, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True}
             for i, (tok, ty) in enumerate(zip(tokens, types)) if ty == 3]
    out = {
        "version": "1.0",
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": pretok,
        "post_processor": None,
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": meta["tokenizer.ggml.merges"]},
    }
    with open(dst + ".tmp", "w", encoding="utf-8") as o:
        json.dump(out, o, ensure_ascii=False)
    import os
    os.replace(dst + ".tmp", dst)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
