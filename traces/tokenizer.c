/*
 * tokenizer.c -- the tokenizer interface and the built-in tokenizer.
 *
 * The built-in tokenizer needs no vocabulary file and is deterministic.  It
 * imitates a byte-level BPE vocabulary of the GPT-4 / Llama-3 kind in two
 * steps:
 *
 *  1. Pieces.  Text is cut as the cl100k / Llama-3 split regex cuts it:
 *     contractions ('s 't 'll 've 're 'm 'd); letter runs with one optional
 *     leading non-letter, non-digit, non-newline character (" word", "(word",
 *     ".com"); runs of 1-3 digits; punctuation runs with an optional leading
 *     space and the newlines after them; whitespace (through the last newline
 *     of a run, a run but its last space when a word follows, or one
 *     character).  Letters, digits and whitespace are the ASCII ones plus an
 *     approximation of Unicode's classes by code-point block (see classify).
 *
 *  2. Tokens per piece.  A real vocabulary keeps common words whole and cuts
 *     rare ones; without the vocabulary we know only a piece's shape, so each
 *     piece gets an EXPECTED token count E (in hundredths) from its shape,
 *     measured on real text: a lowercase word with a leading space costs 1.00
 *     up to 3 letters, 1.10 at 9, 1.37 at 14, then 0.30 per letter; a
 *     Capitalized word up to 0.50 more; an UPPERCASE run 1 + 0.22 per letter
 *     after two; camelCase is costed segment by segment; a word without a
 *     leading space, or after punctuation, costs more; a punctuation run of n
 *     characters costs 1 + 0.35 (n - 2); whitespace, digit runs and
 *     contractions cost 1; a piece with non-ASCII characters costs a rate per
 *     UTF-8 byte by script (0.36 Latin, 0.47 Greek/Cyrillic, 0.69
 *     Hebrew/Arabic, 0.40 CJK, 0.37 Hangul, 0.30 general punctuation, 0.70
 *     emoji and other supplementary planes, 0.60 else) plus 0.25 per ASCII
 *     character.  The piece then yields floor(E) tokens, plus one more when a
 *     hash of its bytes, taken modulo 100, falls below E's fractional part:
 *     so a word is always cut the same way, and over many words the counts
 *     add up to the expectation.
 *
 * Token ids are hashes of the piece's bytes (salted by the token's index in
 * the piece; for pieces over 256 bytes, one hash of the bytes mixed with the
 * index) modulo the vocabulary size (Llama-3's 128,256), so equal text
 * gives equal ids at any position (what prefix and chunk reuse need).
 *
 * How the counts compare with real vocabularies (tools/tokenizer_compare.py,
 * docs/tokenizer.md), on the 4,637 real prompts of shared/data/prompts
 * (2.5 MB: ShareGPT first turns, arena-hard, MT-bench), builtin / real:
 *
 *   vocabulary             total   per-prompt ratio         Pearson r
 *                          ratio   median   p10    p90      of counts
 *   cl100k_base (GPT-4)    0.995   1.000   0.889  1.071     0.9973
 *   o200k_base (GPT-4o)    1.002   1.000   0.900  1.079     0.9953
 *   DeepSeek-V3            0.990   1.000   0.887  1.062     0.9959
 *   Claude (2023, 65k)     0.942   0.972   0.846  1.065     0.9961
 *
 * (prompts of >= 100 tokens, cl100k: median 1.003, p10 0.941, p90 1.056;
 * the spread of short prompts is mostly the rounding of a few pieces).  The
 * constants were fitted to cl100k_base on these prompts; on text they were
 * not fitted to, cl100k total ratios are 0.986 (3,000 QQP questions), 1.029
 * (GPTCache paraphrases) and 0.894 (MuSiQue passages: lowercased
 * encyclopedic text, whose lowercased names a real vocabulary splits more).
 * For exact counts load the model's tokenizer.json (tokenizer_hf.c).
 *
 * Cost: O(bytes + tokens) for any text (16 MB of one letter: well under a
 * second), no allocation beyond the output array.
 */
#include "tokenizer_int.h"

#include <stdlib.h>
#include <string.h>

#define CC_BUILTIN_VOCAB 128256u /* Llama-3's vocabulary size */

struct cc_tokenizer {
    char name[64];
    uint32_t vocab_size;
    /* a loaded model (tokenizer_hf.c); NULL for the built-in tokenizer */
    void *model;
    void (*model_free)(void *);
    cc_tokenizer_encode_fn model_encode;
};

int cc_tokenizer_builtin(cc_tokenizer **out)
{
    cc_tokenizer *tk = calloc(1, sizeof *tk);
    if (!tk)
        return CC_ENOMEM;
    snprintf(tk->name, sizeof tk->name, "builtin");
    tk->vocab_size = CC_BUILTIN_VOCAB;
    *out = tk;
    return CC_OK;
}

int cc_tokenizer_wrap(const char *name, uint32_t vocab_size, void *model,
                      void (*free_fn)(void *), cc_tokenizer_encode_fn encode,
                      cc_tokenizer **out)
{
    cc_tokenizer *tk = calloc(1, sizeof *tk);
    if (!tk) {
        free_fn(model);
        return CC_ENOMEM;
    }
    snprintf(tk->name, sizeof tk->name, "%s", name);
    tk->vocab_size = vocab_size;
    tk->model = model;
    tk->model_free = free_fn;
    tk->model_encode = encode;
    *out = tk;
    return CC_OK;
}

void cc_tokenizer_free(cc_tokenizer *tk)
{
    if (!tk)
        return;
    if (tk->model_free)
        tk->model_free(tk->model);
    free(tk);
}

const char *cc_tokenizer_name(const cc_tokenizer *tk) { return tk->name; }
uint32_t cc_tokenizer_vocab_size(const cc_tokenizer *tk) { return tk->vocab_size; }

size_t cc_utf8_next(const unsigned char *s, size_t avail, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if ((c & 0xe0) == 0xc0) { len = 2; v = c & 0x1f; min = 0x80; }
    else if ((c & 0xf0) == 0xe0) { len = 3; v = c & 0x0f; min = 0x800; }
    else if ((c & 0xf8) == 0xf0) { len = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if (len > avail)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* ---- the built-in tokenizer ------------------------------------------------ */

enum { CL_LETTER, CL_DIGIT, CL_SPACE, CL_NEWLINE, CL_OTHER };

/* Unicode's L / N / White_Space classes, approximated by block: ASCII and
 * Latin-1 exactly; combining marks and the Hebrew/Arabic vowel marks are
 * "other" (as \p{M} is in the regex); general punctuation, symbols, CJK
 * punctuation, private use and emoji are "other"; the remaining blocks
 * (scripts) count as letters.  Non-ASCII digits count as letters. */
static int classify(uint32_t cp)
{
    if (cp < 0x80) {
        if (cp == '\n' || cp == '\r')
            return CL_NEWLINE;
        if (cp == ' ' || (cp >= '\t' && cp <= '\f'))
            return CL_SPACE;
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
            return CL_LETTER;
        if (cp >= '0' && cp <= '9')
            return CL_DIGIT;
        return CL_OTHER;
    }
    if (cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
        cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000)
        return CL_SPACE;
    if (cp < 0xc0)
        return (cp == 0xaa || cp == 0xb5 || cp == 0xba) ? CL_LETTER : CL_OTHER;
    if (cp == 0xd7 || cp == 0xf7)
        return CL_OTHER;
    if ((cp >= 0x300 && cp <= 0x36f) || (cp >= 0x591 && cp <= 0x5c7) ||
        (cp >= 0x64b && cp <= 0x65f) || cp == 0x670)
        return CL_OTHER;
    if (cp < 0x2000)
        return CL_LETTER;
    if (cp < 0x2c00 || (cp >= 0x2e00 && cp < 0x3040) || (cp >= 0xe000 && cp < 0xf900) ||
        (cp >= 0xfe00 && cp < 0xfe70) || (cp >= 0x1f000 && cp < 0x1fb00))
        return CL_OTHER;
    if (cp >= 0xff00 && cp < 0xfff0)
        return ((cp >= 0xff21 && cp <= 0xff3a) || (cp >= 0xff41 && cp <= 0xff5a) ||
                (cp >= 0xff66 && cp <= 0xffdc)) ? CL_LETTER : CL_OTHER;
    return CL_LETTER;
}

/* Cost, in hundredths of a token per UTF-8 byte, of a non-ASCII character. */
static unsigned nonascii_rate(uint32_t cp)
{
    if (cp < 0x250) return 36;
    if (cp < 0x530) return 47;
    if (cp < 0x900) return 69;
    if (cp >= 0x2000 && cp < 0x2c00) return 30;
    if (cp >= 0x2e80 && cp < 0xa000) return 40;
    if (cp >= 0xac00 && cp < 0xd7b0) return 37;
    if (cp >= 0x10000) return 70;
    return 60;
}

/* Expected tokens (hundredths) of a lowercase word of n letters after a space. */
static size_t lower_word_cost(size_t n)
{
    static const unsigned short by_len[15] = {0, 100, 100, 100, 101, 102, 104, 105,
                                              107, 110, 114, 118, 122, 125, 137};
    return n < 15 ? by_len[n] : 137 + 30 * (size_t)(n - 14);
}

static int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }

/* Expected tokens of an ASCII letter run w[0..n) with the given prefix
 * (0: none, ' ', or another character). */
static size_t word_cost(const unsigned char *w, size_t n, unsigned char prefix)
{
    size_t cost = 0, segments = 0;
    int single_upper = 0, single_cap = 0;
    /* case segments: [A-Z]+(?![a-z]) | [A-Z]?[a-z]+ */
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && is_upper(w[j]))
            j++;
        int upper_seg = 0;
        if (j > i && j < n && is_lower(w[j])) {
            if (j - i > 1) {
                j--; /* HTTPServer: "HTTP", then "Server" */
                upper_seg = 1;
            } else {
                while (j < n && is_lower(w[j]))
                    j++;
            }
        } else if (j > i) {
            upper_seg = 1;
        } else {
            while (j < n && is_lower(w[j]))
                j++;
        }
        if (j == i)
            j++; /* a non-letter (a NUL taken for "no prefix"): one segment, so the loop ends */
        size_t len = j - i;
        if (upper_seg && len > 1) {
            cost += 100 + 22 * (size_t)(len - 2);
            single_upper = 1;
        } else {
            cost += lower_word_cost(len);
            single_upper = 0;
            single_cap = is_upper(w[i]);
            if (single_cap && len > 3)
                cost += 45 * (size_t)(len - 3) / 10 < 50 ? 45 * (size_t)(len - 3) / 10 : 50;
        }
        segments++;
        i = j;
    }
    if (segments == 1) {
        size_t over3 = n > 3 ? (size_t)(n - 3) : 0;
        if (prefix == 0) {
            if (!single_upper)
                cost += (single_cap ? 2 : 5) * over3;
        } else if (prefix != ' ') {
            cost += (single_cap || single_upper) ? 50 : 15 + 3 * (size_t)n;
        }
    } else if (prefix != 0 && prefix != ' ') {
        cost += 30;
    }
    return cost;
}

/* Expected tokens of a piece; kind is the class that made it. */
static size_t piece_cost(const unsigned char *p, size_t len, int kind)
{
    size_t ascii = 0, nonascii = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = cc_utf8_next(p + i, len - i, &cp); /* validated by the caller */
        if (cp < 0x80)
            ascii++;
        else
            nonascii += nonascii_rate(cp) * (size_t)l;
        i += l;
    }
    if (nonascii) {
        size_t e = nonascii + 25 * ascii;
        return e < 100 ? 100 : e;
    }
    if (kind == CL_LETTER) {
        unsigned char prefix = is_upper(p[0]) || is_lower(p[0]) ? 0 : p[0];
        return prefix ? word_cost(p + 1, len - 1, prefix) : word_cost(p, len, 0);
    }
    if (kind == CL_OTHER) {
        size_t a = 0, b = len;
        while (a < b && p[a] == ' ')
            a++;
        while (b > a && (p[b - 1] == '\r' || p[b - 1] == '\n' || p[b - 1] == ' '))
            b--;
        return b - a > 2 ? 100 + 35 * (size_t)(b - a - 2) : 100;
    }
    return 100; /* whitespace, digits, contractions */
}

/* Pieces up to this many bytes hash their bytes once per token (ids as
 * they always were: no piece of the shared prompt, QQP or RAG data is longer,
 * so their ids and every figure, SHARDS samples included, are unchanged);
 * longer ones hash once and derive the other tokens' ids from that hash, so
 * a piece costs O(len + tokens) instead of O(len * tokens), which was
 * quadratic in the length of a long word.  At most ~0.7 tokens a byte, the
 * short path hashes each byte at most ~180 times: linear, bounded. */
#define LONG_PIECE_BYTES 256

static int emit_piece(const unsigned char *p, size_t len, int kind, uint32_t vocab,
                      uint32_t **ids, size_t *n, size_t *cap)
{
    size_t e = piece_cost(p, len, kind);
    size_t k = e / 100 + (cc_hash_bytes(p, len, 0x7ac0) % 100 < e % 100);
    if (cc_grow((void **)ids, cap, *n + k, sizeof **ids))
        return CC_ENOMEM;
    if (len <= LONG_PIECE_BYTES) {
        for (size_t j = 0; j < k; j++)
            (*ids)[(*n)++] = (uint32_t)(cc_hash_bytes(p, len, j) % vocab);
        return CC_OK;
    }
    uint64_t h = cc_hash_bytes(p, len, 0);
    for (size_t j = 0; j < k; j++)
        (*ids)[(*n)++] = (uint32_t)((j ? cc_mix64(h + j * 0x9e3779b97f4a7c15ull) : h) % vocab);
    return CC_OK;
}

/* Class of the character at s[i] (CL_OTHER past the end); *l gets its length. */
static int class_at(const unsigned char *s, size_t len, size_t i, size_t *l)
{
    uint32_t cp;
    if (i >= len) {
        *l = 0;
        return -1;
    }
    *l = cc_utf8_next(s + i, len - i, &cp);
    return classify(cp);
}

/* Length of a contraction ('s 't 'm 'd 'll 've 're, any case) at s[i], or 0. */
static size_t contraction(const unsigned char *s, size_t len, size_t i)
{
    if (s[i] != '\'' || i + 1 >= len)
        return 0;
    unsigned char a = s[i + 1] | 0x20, b = i + 2 < len ? s[i + 2] | 0x20 : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e'))
        return 3;
    return 0;
}

static int builtin_encode(const cc_tokenizer *tk, const char *text, size_t len, uint32_t **ids,
                          size_t *n, size_t *cap)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) /* reject invalid UTF-8 before emitting anything */
    {
        uint32_t cp;
        size_t l = cc_utf8_next(s + i, len - i, &cp);
        if (!l)
            return CC_EFORMAT;
        i += l;
    }
    size_t i = 0;
    while (i < len) {
        size_t l, l2, j;
        int cl = class_at(s, len, i, &l);
        int next = class_at(s, len, i + l, &l2);
        int kind = cl;
        if ((j = contraction(s, len, i))) {
            j += i;
            kind = CL_DIGIT; /* costs one token */
        } else if (cl == CL_LETTER || ((cl == CL_OTHER || cl == CL_SPACE) && next == CL_LETTER)) {
            /* [^\r\n\p{L}\p{N}]?\p{L}+ */
            j = cl == CL_LETTER ? i + l : i + l + l2;
            while (class_at(s, len, j, &l) == CL_LETTER)
                j += l;
            kind = CL_LETTER;
        } else if (cl == CL_DIGIT) {
            j = i + l;
            for (int d = 1; d < 3 && class_at(s, len, j, &l) == CL_DIGIT; d++)
                j += l;
        } else if (cl == CL_OTHER || (s[i] == ' ' && next == CL_OTHER)) {
            /*  ?[^\s\p{L}\p{N}]+[\r\n]* */
            j = s[i] == ' ' ? i + 1 : i;
            while (class_at(s, len, j, &l) == CL_OTHER)
                j += l;
            while (j < len && (s[j] == '\r' || s[j] == '\n'))
                j++;
            kind = CL_OTHER;
        } else {
            /* whitespace: \s+\z | \s*[\r\n] | \s+(?!\S) | \s */
            size_t end = i, last_nl = SIZE_MAX;
            int c;
            while ((c = class_at(s, len, end, &l)) == CL_SPACE || c == CL_NEWLINE) {
                if (c == CL_NEWLINE)
                    last_nl = end;
                end += l;
            }
            if (end == len)
                j = len;
            else if (last_nl != SIZE_MAX)
                j = last_nl + 1;
            else {
                size_t last = i; /* start of the run's last character */
                for (size_t k = i; k < end; k += l)
                    class_at(s, len, k, &l), last = k;
                j = last > i ? last : i + (class_at(s, len, i, &l), l);
            }
            kind = CL_SPACE;
        }
        int rc = emit_piece(s + i, j - i, kind, tk->vocab_size, ids, n, cap);
        if (rc)
            return rc;
        i = j;
    }
    return CC_OK;
}

int cc_tokenize(const cc_tokenizer *tk, const char *text, size_t len, uint32_t **ids,
                size_t *n, size_t *cap)
{
    if (tk->model_encode)
        return tk->model_encode(tk->model, text, len, ids, n, cap);
    return builtin_encode(tk, text, len, ids, n, cap);
}
