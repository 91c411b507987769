/*
 * tokenizer.c -- the tokenizer interface and the built-in tokenizer.
 *
 * The built-in tokenizer needs no vocabulary file and is deterministic.  It
 * imitates how byte-level BPE vocabularies of the GPT-4 / Llama-3 kind cut
 * text: a pre-tokenizer splits text into pieces (an optional leading space
 * plus a run of letters; runs of 1-3 digits; runs of punctuation; runs of
 * whitespace), as their split regex does; then a piece becomes one token when
 * it is short (common words are single tokens in a 100k+ vocabulary) and
 * several when long, at about CC_BUILTIN_CHARS_PER_SUBWORD characters each.
 * Non-ASCII letters (CJK, ...) cost about one token per character.  A piece's
 * id is a hash of its bytes modulo the vocabulary size, so equal text gives
 * equal ids at any position (what prefix and chunk reuse need).
 * Cost: O(bytes), no allocation beyond the output array.
 */
#include "traces.h"

#include <stdlib.h>
#include <string.h>

#define CC_BUILTIN_VOCAB 128256u           /* Llama-3's vocabulary size */
#define CC_BUILTIN_WHOLE_WORD_MAX 7       /* letters up to this length: one token */
#define CC_BUILTIN_CHARS_PER_SUBWORD 4    /* longer words: a token per ~4 letters */

struct cc_tokenizer {
    char name[64];
    uint32_t vocab_size;
    /* Hugging Face models (tokenizer_hf.c) hang their state here. */
    void *hf;
    void (*hf_free)(void *);
    int (*hf_encode)(const void *hf, const char *text, size_t len, uint32_t **ids,
                     size_t *n, size_t *cap);
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

void cc_tokenizer_free(cc_tokenizer *tk)
{
    if (!tk)
        return;
    if (tk->hf_free)
        tk->hf_free(tk->hf);
    free(tk);
}

const char *cc_tokenizer_name(const cc_tokenizer *tk) { return tk->name; }
uint32_t cc_tokenizer_vocab_size(const cc_tokenizer *tk) { return tk->vocab_size; }

/* Length of the UTF-8 sequence at s (1..4), 0 when invalid (overlong forms,
 * surrogates and code points above U+10FFFF are invalid). *cp gets the code point. */
static size_t utf8_next(const unsigned char *s, size_t avail, uint32_t *cp)
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

enum { CL_SPACE, CL_NEWLINE, CL_LETTER, CL_DIGIT, CL_PUNCT, CL_WIDE };

static int classify(uint32_t cp)
{
    if (cp == '\n' || cp == '\r')
        return CL_NEWLINE;
    if (cp == ' ' || cp == '\t' || cp == '\v' || cp == '\f' || cp == 0xa0)
        return CL_SPACE;
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
        return CL_LETTER;
    if (cp >= '0' && cp <= '9')
        return CL_DIGIT;
    if (cp < 0x80)
        return CL_PUNCT;
    /* Latin-1 supplement .. Cyrillic etc. behave like letters (words);
     * CJK, kana, hangul and emoji are roughly a token per character. */
    if (cp < 0x2e80)
        return (cp >= 0x2000 && cp < 0x2c00) ? CL_PUNCT : CL_LETTER;
    return CL_WIDE;
}

static int emit(const unsigned char *p, size_t len, uint32_t salt, uint32_t vocab,
                uint32_t **ids, size_t *n, size_t *cap)
{
    if (cc_grow((void **)ids, cap, *n + 1, sizeof **ids))
        return CC_ENOMEM;
    (*ids)[(*n)++] = (uint32_t)(cc_hash_bytes(p, len, salt) % vocab);
    return CC_OK;
}

static int builtin_encode(const cc_tokenizer *tk, const char *text, size_t len, uint32_t **ids,
                          size_t *n, size_t *cap)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t l = utf8_next(s + i, len - i, &cp);
        if (!l)
            return CC_EFORMAT;
        int cl = classify(cp);
        size_t start = i, j = i + l;
        /* a single space joins the following word or punctuation, as in BPE */
        if (cl == CL_SPACE && cp == ' ' && j < len) {
            uint32_t cp2;
            size_t l2 = utf8_next(s + j, len - j, &cp2);
            if (!l2)
                return CC_EFORMAT;
            int cl2 = classify(cp2);
            if (cl2 == CL_LETTER || cl2 == CL_PUNCT || cl2 == CL_WIDE) {
                cl = cl2;
                j += l2;
            }
        }
        size_t chars = 1, maxchars = cl == CL_DIGIT ? 3 : cl == CL_WIDE ? 1 : SIZE_MAX;
        while (j < len && chars < maxchars) {
            uint32_t cp2;
            size_t l2 = utf8_next(s + j, len - j, &cp2);
            if (!l2)
                return CC_EFORMAT;
            int cl2 = classify(cp2);
            if (cl2 != cl && !(cl == CL_NEWLINE && cl2 == CL_SPACE))
                break;
            j += l2;
            chars++;
        }
        size_t plen = j - start;
        int rc;
        if (cl == CL_LETTER && chars > CC_BUILTIN_WHOLE_WORD_MAX) {
            /* a long word: subword tokens of ~CHARS_PER_SUBWORD bytes */
            size_t pieces = (chars + CC_BUILTIN_CHARS_PER_SUBWORD - 1) / CC_BUILTIN_CHARS_PER_SUBWORD;
            size_t step = (plen + pieces - 1) / pieces;
            for (size_t k = 0; k < pieces; k++) {
                size_t a = k * step, b = a + step < plen ? a + step : plen;
                if (a >= plen)
                    break;
                if ((rc = emit(s + start + a, b - a, (uint32_t)k + 1, tk->vocab_size, ids, n, cap)))
                    return rc;
            }
        } else if (cl == CL_PUNCT && chars > 2) {
            /* punctuation runs: about two characters per token */
            for (size_t a = 0; a < plen; a += 2)
                if ((rc = emit(s + start + a, plen - a < 2 ? plen - a : 2, 0, tk->vocab_size, ids, n, cap)))
                    return rc;
        } else if ((rc = emit(s + start, plen, 0, tk->vocab_size, ids, n, cap))) {
            return rc;
        }
        i = j;
    }
    return CC_OK;
}

int cc_tokenize(const cc_tokenizer *tk, const char *text, size_t len, uint32_t **ids,
                size_t *n, size_t *cap)
{
    if (tk->hf_encode)
        return tk->hf_encode(tk->hf, text, len, ids, n, cap);
    return builtin_encode(tk, text, len, ids, n, cap);
}
