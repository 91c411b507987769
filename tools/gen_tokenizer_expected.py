#!/usr/bin/env python3
"""gen_tokenizer_expected.py -- writes tests/tokenizer_expected.h: small
tokenizer.json documents made here, sample strings, and the ids the Python
`tokenizers` package (the reference implementation) gives for each pair.

tests/test_tokenizer.c loads the same documents with cc_tokenizer_load_hf and
checks the ids; the test needs neither Python nor pip at run time.  Rerun
after changing a document or a string:

    pip install tokenizers && python3 tools/gen_tokenizer_expected.py
"""
import json
import os

import tokenizers
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def byte_alphabet():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def bpe_vocab(base, merges):
    """base tokens get ids 0.., then each merge's result in merge order."""
    vocab = {t: i for i, t in enumerate(base)}
    for a, b in merges:
        assert a in vocab and b in vocab, (a, b)
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    return vocab


ALPHA = byte_alphabet()
BYTES = [ALPHA[b] for b in range(256)]  # id b = byte b
G = "\u0120"  # the byte-level space, 'Ġ'
C = "\u010a"  # the byte-level newline, 'Ċ'
BL_MERGES = [(G, "t"), ("h", "e"), (G + "t", "he"), (G, "c"), ("a", "t"), (G + "c", "at"),
             ("i", "n"), (G, "in"), (G, "s"), (G + "s", "at"), ("h", "at"), (G, "hat"),
             (C, C), (G, G), ("1", "2"), ("12", "3"), ("\u00c3", "\u00a9"), ("c", "a"),
             ("ca", "f"), ("caf", "\u00c3\u00a9"), ("'", "s"), ("T", "he"), ("I", "t")]

# 1. GPT-2 / RoBERTa style: ByteLevel with its own regex and a prefix space,
#    merges as "a b" strings
GPT2 = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": 300, "content": "<|end|>", "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True}],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                      "use_regex": True},
    "post_processor": None, "decoder": None,
    "model": {"type": "BPE", "dropout": None, "unk_token": None,
              "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": False,
              "byte_fallback": False,
              "vocab": bpe_vocab(BYTES, BL_MERGES),
              "merges": [a + " " + b for a, b in BL_MERGES]},
}

# 2. Llama-3 style: Split with the newer regex, then ByteLevel without one;
#    merges as pairs; ignore_merges, and a whole-word token no merge reaches
LLAMA3_RE = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
             r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
llama_vocab = bpe_vocab(BYTES, BL_MERGES)
llama_vocab[G + "items"] = len(llama_vocab)  # only via ignore_merges
LLAMA3 = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": 400, "content": "<tool>", "single_word": False, "lstrip": True,
                      "rstrip": True, "normalized": False, "special": True}],
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_RE}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
    "post_processor": None, "decoder": None,
    "model": {"type": "BPE", "dropout": None, "unk_token": None, "fuse_unk": False,
              "byte_fallback": False, "ignore_merges": True, "vocab": llama_vocab,
              "merges": [[a, b] for a, b in BL_MERGES]},
}

# 3. Llama-2 style: characters (not bytes), Metaspace, byte fallback, <unk>
S = "\u2581"  # '▁'
META_BASE = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + \
    [S] + list("abcdefghijklmnopqrstuvwxyzT.,!'") + ["\u00e9"]
META_MERGES = [(S, "t"), ("h", "e"), (S + "t", "he"), (S, "c"), ("a", "t"), (S + "c", "at"),
               ("i", "n"), (S, "in"), (S, "h"), (S + "h", "at"), ("T", "he"), (S, "The")]
METASPACE = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": 0, "content": "<unk>", "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True}],
    "normalizer": None,
    "pre_tokenizer": {"type": "Metaspace", "replacement": S, "prepend_scheme": "first",
                      "split": True},
    "post_processor": None, "decoder": None,
    "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "fuse_unk": True,
              "byte_fallback": True,
              "vocab": bpe_vocab(META_BASE, META_MERGES),
              "merges": [a + " " + b for a, b in META_MERGES]},
}

# 4. BERT: BertNormalizer (lowercase, accents, CJK), BertPreTokenizer, WordPiece
BERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "!", "the", "cafe",
              "cat", "##s", "'", "s", "hat", "in", "it", ",", ".", "-", "1", "##2", "##3",
              "##4", "##5", "2", "0", "items", "naive", "text", "\u4e2d", "\u6587", "x", "=",
              ";", "y", "z", "##0", "##1", "and", "tab", "new", "##line", "ok", "hello",
              "leading", "trailing", "a", "##a", "[MASK]"]
BERT = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True}
                     for i, t in enumerate(BERT_VOCAB) if t.startswith("[")],
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                   "strip_accents": None, "lowercase": True},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": None, "decoder": None,
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 12,
              "vocab": {t: i for i, t in enumerate(BERT_VOCAB)}},
}

# 5. CLIP-like: NFD + StripAccents + Lowercase, Whitespace pre-tokenizer,
#    BPE with end_of_word_suffix, a normalized added token, unk not fused
W = "</w>"
SUF_BASE = ["<unk>"] + list("abcdefghijklmnopqrstuvwxyz!',.-0123456789") + \
    [c + W for c in "abcdefghijklmnopqrstuvwxyz!',.-0123456789"]
SUF_MERGES = [("t", "h"), ("th", "e" + W), ("c", "a"), ("ca", "t" + W), ("h", "a"),
              ("ha", "t" + W), ("i", "n" + W), ("s", "a"), ("sa", "t" + W), ("i", "t" + W)]
SUFFIX = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": 500, "content": "Hat!", "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": True, "special": False}],
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "NFD"}, {"type": "StripAccents"}, {"type": "Lowercase"},
        {"type": "Replace", "pattern": {"String": "2024"}, "content": "year"}]},
    "pre_tokenizer": {"type": "Whitespace"},
    "post_processor": None, "decoder": None,
    "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "fuse_unk": False,
              "byte_fallback": False, "continuing_subword_prefix": None,
              "end_of_word_suffix": W,
              "vocab": bpe_vocab(SUF_BASE, SUF_MERGES),
              "merges": [a + " " + b for a, b in SUF_MERGES]},
}

# 6. WordLevel with WhitespaceSplit, Punctuation (contiguous), Digits, a
#    single_word added token, and NFKC + Strip + Prepend normalizers
WL_VOCAB = ["[UNK]", "the", "cat", "hat", "!", "!!", ",", ".", "1", "2", "3", "4", "5", "0",
            "sat", "in", "items", "x", "=", ";", "y", "z", "-", "'", "s", ">the"]
WORDLEVEL = {
    "version": "1.0", "truncation": None, "padding": None,
    "added_tokens": [{"id": 99, "content": "in", "single_word": True, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": False}],
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "NFKC"}, {"type": "Strip", "strip_left": True, "strip_right": True},
        {"type": "Prepend", "prepend": ">"}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Contiguous"},
        {"type": "Digits", "individual_digits": True}]},
    "post_processor": None, "decoder": None,
    "model": {"type": "WordLevel", "unk_token": "[UNK]",
              "vocab": {t: i for i, t in enumerate(WL_VOCAB)}},
}

DOCS = [("gpt2_bpe", GPT2), ("llama3_bpe", LLAMA3), ("metaspace_bpe", METASPACE),
        ("bert_wordpiece", BERT), ("suffix_bpe", SUFFIX), ("wordlevel", WORDLEVEL)]

STRINGS = [
    "the cat sat in the hat",
    "The Cat's  hat!\n\nIt's 2024-01-31, 12345 items.",
    "caf\u00e9 na\u00efve \u00dcn\u00efc\u00f6d\u00e9",
    "\u4e2d\u6587 text \u65e5\u672c\u8a9e",
    "emoji \U0001f389 ok",
    "<|end|>the cat<|end|> <tool> hat",
    "  leading and trailing  ",
    "",
    "Unaffable! [CLS] hello [MASK]",
    "tabs\tand\r\nnewlines\n",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "x=1;y=22;z=333 in tin Hat!!",
    "\uff34\uff48\uff45 \ufb01ne \u2163",
]


def c_string(s):
    """s as C string literal(s), one per line of about 96 characters; octal
    escapes (at most three digits) never run into a following character."""
    units = []
    for b in s.encode("utf-8"):
        if b in (0x22, 0x5C, 0x3F):  # " \ and ? (no trigraphs)
            units.append("\\" + chr(b))
        elif 0x20 <= b < 0x7F:
            units.append(chr(b))
        else:
            units.append("\\%03o" % b)
    lines, cur = [], ""
    for u in units:
        if len(cur) + len(u) > 96:
            lines.append(cur)
            cur = ""
        cur += u
    lines.append(cur)
    return "\n".join('    "%s"' % line for line in lines)


def main():
    lines = ["/* tokenizer_expected.h -- GENERATED by tools/gen_tokenizer_expected.py with the",
             " * Python tokenizers package %s (the reference implementation); do not edit." %
             tokenizers.__version__,
             " * Small tokenizer.json documents, sample strings, and the ids",
             " * Tokenizer.encode(s, add_special_tokens=False) gives for each pair. */",
             "#ifndef CC_TOKENIZER_EXPECTED_H", "#define CC_TOKENIZER_EXPECTED_H", ""]
    lines.append("static const char *const tx_strings[] = {")
    for s in STRINGS:
        lines.append(c_string(s) + ",")
    lines.append("};")
    lines.append("#define TX_N_STRINGS %d" % len(STRINGS))
    lines.append("")
    lines.append("typedef struct tx_case { const char *name; const char *json; "
                 "const int ids[TX_N_STRINGS][64]; const int n_ids[TX_N_STRINGS]; } tx_case;")
    lines.append("static const tx_case tx_cases[] = {")
    for name, doc in DOCS:
        js = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        tk = Tokenizer.from_str(js)
        ids = [tk.encode(s, add_special_tokens=False).ids for s in STRINGS]
        assert all(len(x) <= 64 for x in ids), name
        lines.append("  {\"%s\"," % name)
        # split long JSON literals across lines (C concatenates them)
        esc = c_string(js)
        lines.append(esc + ",")
        lines.append("   {" + ", ".join("{" + ", ".join(map(str, x)) + "}" if x else "{0}"
                                       for x in ids) + "},")
        lines.append("   {" + ", ".join(str(len(x)) for x in ids) + "}},")
    lines.append("};")
    lines.append("#define TX_N_CASES %d" % len(DOCS))
    lines.append("")
    lines.append("#endif")
    dst = os.path.join(ROOT, "tests", "tokenizer_expected.h")
    with open(dst, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", dst)


if __name__ == "__main__":
    main()
